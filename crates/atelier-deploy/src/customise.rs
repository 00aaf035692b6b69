//! Customisation of a target after the image was written to it.
//!
//! The target is a path: a whole block device (`/dev/sdX`, `/dev/mmcblkN`, a loop device) or a
//! plain disk-image file. Nothing here mounts a FAT file system (the bench's kernel may have
//! no `vfat`): FAT is read and written in user space with the `fatfs` crate over the byte
//! range of its partition. ext4 is edited through a short-lived mount in a private directory.
//!
//! - [`partition`] reads the partition table (MBR — including the extended/logical chain —
//!   and GPT), so the other modules find the partitions of the written image.
//! - [`rpi`] writes Raspberry Pi OS first-boot settings in the format the image expects:
//!   cloud-init `user-data` / `network-config` / `meta-data` with `ds=nocloud` (Trixie),
//!   `firstrun.sh` started through `systemd.run=` (Bookworm), or `rpi-preseed.toml` (the
//!   newest images shipping the `rpi-preseed` package). The files match what Raspberry Pi
//!   Imager 2.x writes for the same settings; `docs/deploy-customisation.md` says where each
//!   format comes from and where we deliberately differ.
//! - [`golden`] adapts a copy of a golden Linux image to its disk and to its new machine: the
//!   last partition and its ext4 file system grow to the end of the disk, the host name is
//!   set, and the per-machine identities (machine-id, SSH host keys, random seed, saved
//!   network connections, persistent udev rules) are reset so that two machines deployed from
//!   one image never share them.
//! - [`secrets`] turns clear secrets into what the targets store: crypt(3) password hashes
//!   (yescrypt, sha512crypt) and WPA pre-shared keys (PBKDF2-HMAC-SHA1, IEEE 802.11i-2004
//!   H.4). Clear secrets are never kept: settings hold only the derived forms, and the
//!   [`atelier_record::Customisation`] returned holds neither.
//!
//! External tools (`sfdisk`, `e2fsck`, `resize2fs`, `losetup`, `mount`) are wrapped in typed
//! functions; a missing tool is an error that names the Debian package to install.

pub mod golden;
pub mod partition;
pub mod rpi;
pub mod secrets;

mod fat;
mod tools;

use std::io;
use std::path::PathBuf;

pub use golden::{GoldenSettings, GrowOutcome, customise_golden_image, grow_last_partition};
pub use partition::{Partition, PartitionKind, PartitionTable, TableKind, read_partition_table};
pub use rpi::{
    HostnamePattern, RpiFiles, RpiFormat, RpiJob, RpiSettings, SshSettings, UserAccount,
    WifiNetwork, customise_raspberry_pi, detect_rpi_format, render_rpi_files,
};
pub use secrets::{PasswordHash, PasswordScheme, WifiPmk, hash_password, wifi_pmk};

/// Why a customisation could not be done. Each message names the thing, the cause and what
/// to do next.
#[derive(Debug, thiserror::Error)]
pub enum CustomiseError {
    /// Reading or writing the target failed.
    #[error("{what}: {source}; check that the target is still connected and writable")]
    Io {
        /// What was being done, on which path.
        what: String,
        /// The system error.
        source: io::Error,
    },
    /// The partition table is missing, damaged or not understood.
    #[error(
        "cannot read the partition table of {target}: {reason}; was the image written \
         completely? Write it again, then customise"
    )]
    PartitionTable {
        /// The target.
        target: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The target does not look like what this customisation expects.
    #[error("{target}: {reason}")]
    Unsupported {
        /// The target.
        target: PathBuf,
        /// What is missing, and what to do.
        reason: String,
    },
    /// A FAT file system could not be read or written.
    #[error(
        "FAT file system of partition {partition} on {target}: {reason}; check it with \
         `fsck.fat -n`, or write the image again"
    )]
    Fat {
        /// The target.
        target: PathBuf,
        /// Partition number.
        partition: u32,
        /// What failed.
        reason: String,
    },
    /// A setting is not acceptable.
    #[error("setting {setting} = {value:?} is not valid: {rule}")]
    InvalidSetting {
        /// Setting name.
        setting: &'static str,
        /// The value given (never a secret).
        value: String,
        /// What a valid value looks like.
        rule: String,
    },
    /// A password or key could not be derived.
    #[error("cannot derive the {what}: {reason}")]
    Secret {
        /// What was being derived.
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
    /// An external tool is not installed.
    #[error(
        "the `{tool}` command is needed but missing: install the Debian package `{package}` \
         (scripts/setup.sh installs it)"
    )]
    ToolMissing {
        /// Command name.
        tool: &'static str,
        /// Debian package that provides it.
        package: &'static str,
    },
    /// An external tool ran and failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    ToolFailed {
        /// The command line.
        command: String,
        /// Exit status.
        status: String,
        /// Its error output (last lines).
        stderr: String,
    },
    /// What was written does not read back as expected.
    #[error(
        "{target}: {what} does not read back as written ({reason}); the card or disk may be \
         failing: try another one"
    )]
    Verification {
        /// The target.
        target: PathBuf,
        /// The file or structure checked.
        what: String,
        /// What differs.
        reason: String,
    },
}

impl CustomiseError {
    pub(crate) fn io(what: impl Into<String>, source: io::Error) -> Self {
        Self::Io {
            what: what.into(),
            source,
        }
    }
}
