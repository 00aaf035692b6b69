//! One module per command.

pub mod devices;
pub mod inventory;
pub mod records;
pub mod wipe;
