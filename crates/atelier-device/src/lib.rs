//! Block devices for the Atelier bench.
//!
//! This crate answers three questions about the disks of a machine:
//!
//! 1. **What is there?** [`discover`] lists every block device from sysfs with its identity
//!    (model, serial, WWN, size, sector sizes, transport…). Every reader takes a *root path*
//!    ([`SystemRoot`]): `/` on a live machine, or a captured tree in tests.
//! 2. **May it be wiped?** [`SystemUsage`] reads what the running system uses (mounts, swap,
//!    holders such as LVM / dm-crypt / md, the boot medium) and [`assess`] turns that into a list
//!    of [`Refusal`]s, each with its reason. An empty list means the device may be wiped.
//! 3. **How do we write it safely and fast?** [`DirectDevice`] opens a device exclusively with
//!    `O_DIRECT`, checks that it is still the device that was planned, and offers positioned
//!    reads and writes on [`AlignedBuffer`]s.
//!
//! 4. **What can the drive's firmware do?** [`nvme`] (admin commands through the controller)
//!    and [`ata`] (ATA PASS-THROUGH through SG_IO) read the drive's own description
//!    (Identify / IDENTIFY DEVICE) and send its sanitize commands.
//!
//! It is the only crate of the workspace with `unsafe` code: the block-device ioctls live in the
//! private `sys` module, behind safe functions.

pub mod ata;
pub mod ata_hidden;
pub mod ata_scripted;
mod discovery;
mod eligibility;
pub mod emmc;
mod io;
pub mod nvme;
pub mod nvme_scripted;
mod root;
pub mod scsi;
pub mod scsi_scripted;
#[allow(unsafe_code)]
mod sys;
mod usage;

pub use discovery::{BlockDevice, DevNum, DeviceKind, DiscoveryError, Partition, discover, find};
pub use eligibility::{BootEvidence, HolderKind, Refusal, assess, is_whole_bench_candidate};
pub use io::{AlignedBuffer, DirectDevice, OpenError};
pub use root::SystemRoot;
pub use usage::{MountEntry, SystemUsage};

/// Alignment used for direct-I/O buffers: a page, which covers every logical sector size the
/// kernel supports.
pub const DIRECT_IO_ALIGNMENT: usize = 4096;
