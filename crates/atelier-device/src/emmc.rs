//! eMMC: secure erase through the kernel (`BLKSECDISCARD`) and eMMC SANITIZE through
//! mmc-utils.
//!
//! - **Which cards**: an MMC-bus block device (`mmcblkN`) is an eMMC when its sysfs
//!   `device/type` reads `MMC`; SD cards read `SD` and have no secure erase (SD Physical Layer
//!   Specification: ERASE, no secure variant), so they stay on the host overwrite.
//! - **Secure erase**: the `BLKSECDISCARD` ioctl (linux/fs.h, `_IO(0x12, 125)`) asks the block
//!   layer for a secure erase of a byte range; the MMC driver turns it into the JEDEC eMMC
//!   (JESD84-B51 §6.6.9) secure erase or secure trim of the range — the addressed blocks and
//!   the copies the card keeps of them. Since Linux 5.19 (`blk_ioctl_secure_erase`) the ioctl
//!   answers `EOPNOTSUPP` before looking at the range when the device has no secure erase, and
//!   `EINVAL` for a range not aligned to 512 bytes: [`secure_erase_supported`] uses that order
//!   to ask without erasing anything (a range starting at byte 1). On older kernels the check
//!   came after the range checks, so the probe may answer "supported" and the erase itself
//!   then fails with [`EmmcError::SecureEraseUnsupported`] before anything is erased.
//! - **eMMC SANITIZE** (JESD84-B51 §6.6.10, EXT_CSD SANITIZE_START): purges the card's
//!   unmapped blocks. The bench runs mmc-utils (`mmc sanitize DEV`) when it is installed
//!   ([`mmc_sanitize`]); without it the error says so.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::Command;

use crate::SystemRoot;
use crate::sys;

/// The mmc-utils program.
pub const MMC_UTILS: &str = "mmc";

/// Why an eMMC command could not run.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum EmmcError {
    /// `BLKSECDISCARD` answered `EOPNOTSUPP`: nothing was erased.
    #[error(
        "{device}: the kernel offers no secure erase for this device (BLKSECDISCARD: operation not supported); nothing was erased — it is not an eMMC, or the card has no secure erase/trim: wipe it with --method overwrite"
    )]
    SecureEraseUnsupported {
        /// The device node.
        device: String,
    },
    /// Any other OS error.
    #[error("{device}: {error}")]
    Os {
        /// The device node.
        device: String,
        /// The error text.
        error: String,
    },
    /// mmc-utils is not installed.
    #[error(
        "eMMC SANITIZE needs mmc-utils, which is not installed (program `{program}` not found): install the mmc-utils package on the bench"
    )]
    MmcUtilsMissing {
        /// The program looked for.
        program: String,
    },
    /// `mmc sanitize` ran and failed.
    #[error("`{program} sanitize {device}` failed (exit status {status:?}): {stderr}")]
    MmcUtilsFailed {
        /// The program.
        program: String,
        /// The device node.
        device: String,
        /// Exit status (None when killed by a signal).
        status: Option<i32>,
        /// What it printed on standard error.
        stderr: String,
    },
}

/// The card type sysfs reports for `name` (`/sys/block/NAME/device/type`: `MMC`, `SD`,
/// `SDIO`…), if any.
pub fn card_type(root: &SystemRoot, name: &str) -> Option<String> {
    std::fs::read_to_string(root.path(format!("/sys/block/{name}/device/type")))
        .ok()
        .map(|s| s.trim().to_string())
}

/// True when `name` is an eMMC (card type `MMC`).
pub fn is_emmc(root: &SystemRoot, name: &str) -> bool {
    card_type(root, name).as_deref() == Some("MMC")
}

fn open_write(path: &Path) -> Result<File, EmmcError> {
    OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| os(path, &e))
}

fn os(path: &Path, e: &io::Error) -> EmmcError {
    EmmcError::Os {
        device: path.display().to_string(),
        error: e.to_string(),
    }
}

fn typed(path: &Path, e: io::Error) -> EmmcError {
    if e.raw_os_error() == Some(libc::EOPNOTSUPP) {
        EmmcError::SecureEraseUnsupported {
            device: path.display().to_string(),
        }
    } else {
        os(path, &e)
    }
}

/// Asks the kernel whether `path` has a secure erase, without erasing anything: a
/// `BLKSECDISCARD` of a range starting at byte 1, which the kernel refuses with `EOPNOTSUPP`
/// (no secure erase) or `EINVAL` (has one, range not aligned). Opens the device for writing
/// (the ioctl requires it) but never writes.
pub fn secure_erase_supported(path: &Path) -> Result<bool, EmmcError> {
    let file = open_write(path)?;
    match sys::secure_discard(&file, 1, 0) {
        Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => Ok(false),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(true),
        Err(e) => Err(os(path, &e)),
        // A kernel that accepted an empty, misaligned range: it has the ioctl and erased
        // nothing.
        Ok(()) => Ok(true),
    }
}

/// Securely erases the whole device at `path` (`BLKSECDISCARD` over its capacity); returns
/// the bytes erased. [`EmmcError::SecureEraseUnsupported`] when the kernel has no secure
/// erase for it (nothing erased then).
pub fn secure_erase_all(path: &Path) -> Result<u64, EmmcError> {
    let file = open_write(path)?;
    let size = sys::size_bytes(&file).map_err(|e| os(path, &e))?;
    sys::secure_discard(&file, 0, size).map_err(|e| typed(path, e))?;
    Ok(size)
}

/// Runs `mmc sanitize DEVICE` (mmc-utils): eMMC SANITIZE of the card's unmapped blocks.
pub fn mmc_sanitize(device: &Path) -> Result<(), EmmcError> {
    mmc_sanitize_with(Path::new(MMC_UTILS), device)
}

/// [`mmc_sanitize`] with the program given (tests, or an mmc-utils outside `PATH`).
pub fn mmc_sanitize_with(program: &Path, device: &Path) -> Result<(), EmmcError> {
    let name = program.display().to_string();
    let out = match Command::new(program).arg("sanitize").arg(device).output() {
        Ok(out) => out,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(EmmcError::MmcUtilsMissing { program: name });
        }
        Err(e) => return Err(os(device, &e)),
    };
    if out.status.success() {
        return Ok(());
    }
    Err(EmmcError::MmcUtilsFailed {
        program: name,
        device: device.display().to_string(),
        status: out.status.code(),
        stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
    })
}

/// True when mmc-utils is found on `PATH`.
pub fn mmc_utils_installed() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(MMC_UTILS).is_file()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_type_from_sysfs() {
        let dir = tempfile::tempdir().unwrap();
        let root = SystemRoot::at(dir.path());
        for (name, kind) in [("mmcblk0", "MMC\n"), ("mmcblk1", "SD\n")] {
            let d = dir.path().join(format!("sys/block/{name}/device"));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("type"), kind).unwrap();
        }
        assert!(is_emmc(&root, "mmcblk0"));
        assert!(!is_emmc(&root, "mmcblk1"));
        assert_eq!(card_type(&root, "mmcblk1").as_deref(), Some("SD"));
        assert!(!is_emmc(&root, "sda"));
    }

    #[test]
    fn missing_or_failing_mmc_utils_is_named() {
        let err = mmc_sanitize_with(
            Path::new("/nonexistent/atelier-test/mmc"),
            Path::new("/dev/mmcblk0"),
        )
        .unwrap_err();
        assert!(matches!(err, EmmcError::MmcUtilsMissing { .. }));
        assert!(err.to_string().contains("mmc-utils"), "{err}");
        // A program that runs and fails (`false`): its status is kept.
        let err = mmc_sanitize_with(Path::new("false"), Path::new("/dev/null")).unwrap_err();
        assert!(
            matches!(
                err,
                EmmcError::MmcUtilsFailed {
                    status: Some(1),
                    ..
                }
            ),
            "{err:?}"
        );
    }
}
