//! One module per command.

pub mod certify;
pub mod deploy;
pub mod devices;
pub mod inventory;
pub mod records;
pub mod targets;
pub mod wipe;
