//! One module per command.

pub mod certify;
pub mod deploy;
pub mod devices;
pub mod export;
pub mod image;
pub mod inventory;
pub mod print;
pub mod push;
pub mod records;
pub mod report;
pub mod targets;
pub mod wipe;
