//! Hardware inventory for the Atelier bench.
//!
//! Readers of `/sys`, `/proc` and the firmware tables take a root path, so a machine captured
//! by `atelier inventory capture` is a test fixture. Parsers of binary formats (EDID, SMBIOS)
//! are pure functions over bytes and never panic on malformed input.
//!
//! This crate is being built slice by slice (issue "Hardware inventory…"): the parsers come
//! first; the `hardware` section of the record and the `atelier inventory` command follow.

pub mod battery;
pub mod capture;
pub mod cpu;
pub mod edid;
pub mod firmware;
pub mod glpi;
pub mod grade;
pub mod machine;
pub mod memory;
pub mod network;
pub mod pci;
pub mod peripherals;
pub mod screen;
pub mod smart;
pub mod smbios;
