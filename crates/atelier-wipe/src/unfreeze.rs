//! Frozen SATA drives: lifting the freeze lock with a short suspend to RAM.
//!
//! Most BIOSes send SECURITY FREEZE LOCK (ACS-3, F5h) at boot; a frozen drive (IDENTIFY word
//! 128 bit 3) refuses SET PASSWORD, ERASE PREPARE / UNIT and DISABLE PASSWORD until its next
//! power-on. Suspending the machine to RAM powers the SATA ports off and on again, and on
//! resume the OS does not freeze the drive (the BIOS is not involved): the drive comes back
//! unfrozen. This is what Blancco does automatically; here the operator asks for it
//! (`atelier wipe --unfreeze`, or yes to the question), because the screen goes dark for a few
//! seconds. The cycle is `rtcwake -m mem -s <seconds>` (util-linux): suspend to RAM and wake
//! on the RTC alarm; then the drive is identified again.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::policy::{Capabilities, MediaClass};

/// Seconds the machine stays suspended.
pub const SUSPEND_SECONDS: u32 = 5;

/// True when the drive supports the Security feature set and is frozen: a suspend cycle may
/// let it run ATA Security Erase.
pub fn needs_unfreeze(caps: &Capabilities) -> bool {
    matches!(caps.media, MediaClass::SataSsd | MediaClass::SataHdd)
        && caps
            .ata
            .is_some_and(|a| a.security.supported && a.security.frozen)
}

/// Why the suspend cycle could not be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UnfreezeError {
    /// rtcwake is not installed.
    #[error("rtcwake was not found in {searched}; install util-linux (Debian: util-linux)")]
    Missing {
        /// The directories searched.
        searched: String,
    },
    /// rtcwake ran and failed (no RTC wake alarm, suspend refused…).
    #[error("{command} failed: {cause}")]
    Failed {
        /// The command line.
        command: String,
        /// Its exit status and error output.
        cause: String,
    },
}

/// The suspend cycle, as a typed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtcWake {
    /// The rtcwake program.
    pub program: PathBuf,
    /// Seconds suspended.
    pub seconds: u32,
}

impl RtcWake {
    /// Finds `rtcwake` in the directories of `path_var` (a `PATH` value).
    pub fn find(path_var: &str, seconds: u32) -> Result<Self, UnfreezeError> {
        std::env::split_paths(path_var)
            .map(|d| d.join("rtcwake"))
            .find(|p| is_executable(p))
            .map(|program| Self { program, seconds })
            .ok_or_else(|| UnfreezeError::Missing {
                searched: path_var.to_string(),
            })
    }

    /// The arguments: `-m mem -s <seconds>`.
    pub fn args(&self) -> Vec<String> {
        vec![
            "-m".into(),
            "mem".into(),
            "-s".into(),
            self.seconds.to_string(),
        ]
    }

    /// The command line, for the plan and the log.
    pub fn command_line(&self) -> String {
        format!("{} {}", self.program.display(), self.args().join(" "))
    }

    /// Suspends the machine and returns once it has woken up.
    pub fn run(&self) -> Result<(), UnfreezeError> {
        let out = Command::new(&self.program)
            .args(self.args())
            .output()
            .map_err(|e| UnfreezeError::Failed {
                command: self.command_line(),
                cause: e.to_string(),
            })?;
        if out.status.success() {
            Ok(())
        } else {
            Err(UnfreezeError::Failed {
                command: self.command_line(),
                cause: format!(
                    "{}: {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            })
        }
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::AtaCapabilities;
    use atelier_device::ata::SecurityStatus;

    fn caps(media: MediaClass, supported: bool, frozen: bool) -> Capabilities {
        Capabilities {
            media,
            nvme: None,
            ata: Some(AtaCapabilities {
                security: SecurityStatus {
                    supported,
                    frozen,
                    ..SecurityStatus::default()
                },
                ..AtaCapabilities::default()
            }),
            probe_error: None,
            scsi: None,
            emmc: None,
        }
    }

    #[test]
    fn decision() {
        assert!(needs_unfreeze(&caps(MediaClass::SataSsd, true, true)));
        assert!(needs_unfreeze(&caps(MediaClass::SataHdd, true, true)));
        assert!(!needs_unfreeze(&caps(MediaClass::SataSsd, true, false)));
        assert!(!needs_unfreeze(&caps(MediaClass::SataSsd, false, true)));
        assert!(!needs_unfreeze(&caps(MediaClass::Usb, true, true)));
    }

    #[test]
    fn command_line_and_missing_program() {
        let dir = tempfile::tempdir().unwrap();
        let err = RtcWake::find(&dir.path().display().to_string(), 5).unwrap_err();
        assert!(err.to_string().contains("util-linux"), "{err}");
        // A fake rtcwake, never run: only found and formatted.
        let fake = dir.path().join("rtcwake");
        std::fs::write(&fake, "#!/bin/sh\nexit 1\n").unwrap();
        std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let path = format!("/nonexistent:{}", dir.path().display());
        let r = RtcWake::find(&path, SUSPEND_SECONDS).unwrap();
        assert_eq!(r.args(), ["-m", "mem", "-s", "5"]);
        assert_eq!(r.command_line(), format!("{} -m mem -s 5", fake.display()));
    }
}
