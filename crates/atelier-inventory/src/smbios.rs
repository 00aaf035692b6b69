//! SMBIOS / DMI: who the machine is, and what memory and processors it has.
//!
//! Three layers, each usable alone:
//!
//! 1. **Tables** ([`SmbiosTables`], [`EntryPoint`]) — a pure parser over the bytes of
//!    `/sys/firmware/dmi/tables/DMI` and `smbios_entry_point` (DMTF DSP0134 §5.2, §6.1):
//!    structures with their header, formatted area and string set. It is total: it never
//!    panics (bounds-checked reads, no `unwrap`, no unchecked arithmetic), and garbage yields
//!    the structures before the damage plus a [`TableProblem`] saying where and why it stopped.
//! 2. **Decoded structures** — [`BiosInfo`] (type 0), [`SystemInfo`] (1), [`BaseboardInfo`]
//!    (2), [`ChassisInfo`] with [`ChassisKind`] (3), [`ProcessorInfo`] (4), [`MemoryArray`]
//!    (16) and [`MemorySlot`] (17, empty slots included, with [`MemorySize`],
//!    [`FormFactor`] and [`MemoryType`]). Each field's doc cites its DSP0134 section and
//!    offset. Text fields are [`Field`]s.
//! 3. **The machine** — [`read_smbios`] / [`read_identity`] read a root path (`/`, or a
//!    captured tree), merge `/sys/class/dmi/id` with the tables ([`merge_identity`]: the
//!    tables win where they have the structure, sysfs fills the rest), cross-check memory
//!    against `MemTotal` ([`cross_check_memory`]), and [`machine_key`] picks a stable key.
//!
//! # Field states and placeholders
//!
//! A [`Field`] is a real [`Value`](Field::Value), a [`Placeholder`](Field::Placeholder)
//! (counts as absent, raw text kept), [`NeedsRoot`](Field::NeedsRoot) ("unavailable (needs
//! root)": the sysfs file exists but is mode 0400 — `product_serial`, `product_uuid`,
//! `board_serial`, `chassis_serial` — and we are not root), [`Absent`](Field::Absent) or
//! [`Unknown`](Field::Unknown) with a reason (a string number pointing outside the string
//! set, an I/O error). Never an empty string. [`is_placeholder`] documents the filter;
//! [`PLACEHOLDERS`] lists the template strings.
//!
//! # Machine key
//!
//! [`machine_key`] walks the chain **system serial + UUID → board serial → serial or UUID
//! alone (weak) → permanent MAC (weak) → devicetree serial**, taking the first link whose
//! value is real (not a placeholder, readable). The MAC and devicetree serial are read by the
//! caller. The result says which link served ([`KeySource`]), whether it is `weak`, and why
//! the earlier links were skipped.
//!
//! # Why not `smbios-lib`
//!
//! The issue suggested the `smbios-lib` crate (0.9.4, MIT, last release 2026-07). It was
//! evaluated: it does parse from a byte buffer (`SMBiosData::from_vec_and_version`) without
//! touching `/sys`, builds cleanly, and 200 000 mutated tables through its decoders of types
//! 0–4, 16 and 17 raised no panic. It was still not taken, because:
//!
//! - on a damaged table it silently stops (`break`) and returns what it has, with no reason —
//!   the bench must say *what* is unknown and *why*;
//! - a string that is not valid UTF-8 becomes an error, where old firmware writes Latin-1
//!   (here: UTF-8 when valid, else each byte as ISO-8859-1, nothing lost);
//! - its UUID formatting ignores the version (pre-2.6 tables use network byte order);
//! - other decoders panic on crafted input (the same fuzzing hit an `expect` in its type 40
//!   decoder through `Debug`), so using it safely means auditing 25 000 lines of which we need
//!   seven structure types;
//! - it pulls `getopts`, `serde_json` and a binary target into the build, edition 2018.
//!
//! The part we need — a bounds-checked walker and seven decoders — is a few hundred lines
//! written against the specification and tested against real dumps and `dmidecode`.
//!
//! # Sources
//!
//! DMTF DSP0134 "System Management BIOS (SMBIOS) Reference Specification", section numbers of
//! version 3.7.0 (fields unchanged since the version each one appeared in).

mod decode;
mod identity;
mod key;
mod placeholder;
mod table;

pub use decode::{
    BaseboardInfo, BiosInfo, ChassisInfo, ChassisKind, FormFactor, MemoryArray, MemorySize,
    MemorySlot, MemoryType, ProcessorInfo, SystemInfo, decode_text, format_uuid,
};
pub use identity::{
    MemoryCheck, MemoryInventory, SmbiosReport, SourceState, SystemIdentity, TableIdentity,
    cross_check_memory, field_from_io_error, identity_from_sysfs, memory_inventory, merge_identity,
    parse_mem_total, read_identity, read_smbios, read_sysfs_field,
};
pub use key::{KeyCandidates, KeySource, MachineKey, machine_key};
pub use placeholder::{Field, PLACEHOLDERS, is_placeholder};
pub use table::{
    EntryPoint, EntryPointError, EntryPointKind, SmbiosTables, SmbiosVersion, StringRef, Structure,
    TableProblem,
};
