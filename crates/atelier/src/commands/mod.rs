//! One module per command.

pub mod devices;
pub mod records;
pub mod wipe;
