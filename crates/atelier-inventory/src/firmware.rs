//! Boot firmware: UEFI or legacy boot, Secure Boot, the TPM, and the identity of devicetree
//! boards, from sysfs under a root path.
//!
//! Files read under the root:
//!
//! - `sys/firmware/efi` exists when the kernel was booted by UEFI
//!   (Documentation/ABI/testing/sysfs-firmware-efi); `sys/firmware/devicetree/base` exists on
//!   boards described by a devicetree (Documentation/ABI/testing/sysfs-firmware-ofw), which
//!   boot neither way (Raspberry Pi). Without either, the machine booted a legacy BIOS (or CSM).
//! - `sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c`: the UEFI
//!   `SecureBoot` global variable (UEFI specification §3.3, "Globally Defined Variables"; the
//!   GUID is `EFI_GLOBAL_VARIABLE`) in efivarfs, whose files hold 4 bytes of attributes then the
//!   value (Documentation/filesystems/efivarfs.rst); the value is 1 byte, 1 = enabled. Kernels
//!   before 6.0 may instead have the old `sys/firmware/efi/vars/SecureBoot-…/data`, value only
//!   (Documentation/ABI/stable/sysfs-firmware-efi-vars in those kernels).
//! - `sys/class/tpm/tpmN/tpm_version_major` (Documentation/ABI/stable/sysfs-class-tpm, kernel
//!   5.6 and later): 2 for TPM 2.0, 1 for TPM 1.2. Older kernels have only the TPM 1.2 `caps`
//!   text (`TCG version: 1.2`), in `tpmN/caps` or `tpmN/device/caps`.
//! - `sys/firmware/devicetree/base/model` and `…/serial-number`: NUL-terminated strings
//!   ([`read_devicetree`]).
//!
//! # Secure Boot
//!
//! | boot | `SecureBoot` variable | state |
//! |---|---|---|
//! | legacy or devicetree | — | not applicable |
//! | UEFI | 1 | enabled |
//! | UEFI | 0 | disabled |
//! | UEFI | absent, other variables readable | disabled: the firmware predates Secure Boot (UEFI 2.3.1) and does not define the variable |
//! | UEFI | efivarfs not mounted or empty, file unreadable, too short, other value | unknown, with a warning |

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use atelier_record::{BootMode, Firmware, ProbeWarning, SecureBootState, Tpm};

/// File name of the `SecureBoot` variable: name, then the `EFI_GLOBAL_VARIABLE` GUID.
pub const SECURE_BOOT_VARIABLE: &str = "SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c";

/// Name of the probe in warnings about boot mode and Secure Boot.
const PROBE: &str = "firmware";

/// Name of the probe in warnings about the TPM.
const TPM_PROBE: &str = "tpm";

/// Where the devicetree is exposed, under the root.
const DEVICETREE_BASE: &str = "sys/firmware/devicetree/base";

/// Reads the boot mode, the Secure Boot state and the TPM of the machine whose filesystem is
/// at `root` (`/` on a live machine). Never panics.
pub fn read_firmware(root: &Path) -> (Firmware, Vec<ProbeWarning>) {
    let mut warnings = Vec::new();
    let boot_mode = if root.join("sys/firmware/efi").is_dir() {
        BootMode::Uefi
    } else if root.join(DEVICETREE_BASE).is_dir() {
        BootMode::Other
    } else {
        BootMode::Legacy
    };
    let secure_boot = match boot_mode {
        BootMode::Uefi => match read_secure_boot(root) {
            Ok(state) => state,
            Err(message) => {
                warnings.push(ProbeWarning {
                    probe: PROBE.into(),
                    message: format!("Secure Boot state unknown: {message}"),
                });
                SecureBootState::Unknown
            }
        },
        BootMode::Legacy | BootMode::Other => SecureBootState::NotApplicable,
    };
    let tpm = read_tpm(root, &mut warnings);
    let firmware = Firmware {
        boot_mode,
        secure_boot,
        tpm,
        // From the SMBIOS tables, filled in by the machine probe.
        uefi_capable: None,
        virtual_machine: None,
    };
    (firmware, warnings)
}

/// The Secure Boot state of a UEFI machine; the error says why it is unknown.
fn read_secure_boot(root: &Path) -> Result<SecureBootState, String> {
    let efivars = root.join("sys/firmware/efi/efivars");
    match fs::read(efivars.join(SECURE_BOOT_VARIABLE)) {
        Ok(bytes) => {
            // 4 bytes of attributes, then the value.
            return match bytes.get(4) {
                Some(&value) => secure_boot_value(value),
                None => Err(format!(
                    "efivarfs {SECURE_BOOT_VARIABLE} holds {} byte(s), expected 4 of \
                     attributes and 1 of value",
                    bytes.len()
                )),
            };
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("efivarfs {SECURE_BOOT_VARIABLE} unreadable: {e}")),
    }
    // The sysfs interface of kernels before 6.0: the value alone.
    let legacy = root
        .join("sys/firmware/efi/vars")
        .join(SECURE_BOOT_VARIABLE)
        .join("data");
    match fs::read(&legacy) {
        Ok(bytes) => {
            return match bytes.first() {
                Some(&value) => secure_boot_value(value),
                None => Err(format!("efi/vars/{SECURE_BOOT_VARIABLE}/data is empty")),
            };
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(format!(
                "efi/vars/{SECURE_BOOT_VARIABLE}/data unreadable: {e}"
            ));
        }
    }
    let variables_visible = fs::read_dir(&efivars)
        .map(|mut entries| entries.next().is_some())
        .unwrap_or(false);
    if variables_visible {
        // efivarfs is mounted and shows variables, but not SecureBoot: the firmware does not
        // implement it.
        Ok(SecureBootState::Disabled)
    } else {
        Err("no EFI variables visible (efivarfs not mounted at /sys/firmware/efi/efivars?)".into())
    }
}

/// 1 → enabled, 0 → disabled.
fn secure_boot_value(value: u8) -> Result<SecureBootState, String> {
    match value {
        1 => Ok(SecureBootState::Enabled),
        0 => Ok(SecureBootState::Disabled),
        other => Err(format!(
            "SecureBoot variable holds {other}, expected 0 or 1"
        )),
    }
}

/// The first TPM (`tpmN` with the lowest N), when there is one.
fn read_tpm(root: &Path, warnings: &mut Vec<ProbeWarning>) -> Option<Tpm> {
    let dir = root.join("sys/class/tpm");
    let entries = fs::read_dir(&dir).ok()?;
    let (_, name, path) = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_owned();
            let n = name.strip_prefix("tpm")?.parse::<u32>().ok()?;
            Some((n, name, e.path()))
        })
        .min_by_key(|(n, _, _)| *n)?;
    let version = tpm_version(&path);
    if version.is_none() {
        warnings.push(ProbeWarning {
            probe: TPM_PROBE.into(),
            message: format!(
                "/sys/class/tpm/{name}: TPM present, version unknown (no readable \
                 tpm_version_major or caps)"
            ),
        });
    }
    Some(Tpm {
        version,
        source: format!("/sys/class/tpm/{name}"),
    })
}

/// "2.0" or "1.2" from `tpm_version_major`, else the `TCG version` line of `caps`.
fn tpm_version(tpm: &Path) -> Option<String> {
    if let Some(major) = read_trimmed(&tpm.join("tpm_version_major")) {
        return match major.as_str() {
            "2" => Some("2.0".into()),
            "1" => Some("1.2".into()),
            _ => None,
        };
    }
    let caps_files: [PathBuf; 2] = [tpm.join("caps"), tpm.join("device/caps")];
    caps_files.iter().find_map(|path| {
        let caps = fs::read_to_string(path).ok()?;
        caps.lines().find_map(|line| {
            let version = line.trim().strip_prefix("TCG version:")?.trim();
            (!version.is_empty()).then(|| version.to_owned())
        })
    })
}

/// Reads a small sysfs file, trimmed; `None` when absent, unreadable or empty.
fn read_trimmed(path: &Path) -> Option<String> {
    let text = fs::read_to_string(path).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// The devicetree identity of the board: `(model, serial)` from
/// `sys/firmware/devicetree/base/model` (e.g. "Raspberry Pi 4 Model B Rev 1.4") and
/// `…/serial-number` (e.g. "10000000abcdef01"), both NUL-terminated in the devicetree.
/// Each is `None` when absent, unreadable or empty; machines without a devicetree give
/// `(None, None)`.
pub fn read_devicetree(root: &Path) -> (Option<String>, Option<String>) {
    let base = root.join(DEVICETREE_BASE);
    (
        devicetree_string(&base.join("model")),
        devicetree_string(&base.join("serial-number")),
    )
}

/// A devicetree string property: the text before the first NUL, trimmed.
fn devicetree_string(path: &Path) -> Option<String> {
    let bytes = fs::read(path).ok()?;
    let text = bytes.split(|&b| b == 0).next().unwrap_or_default();
    let text = String::from_utf8_lossy(text);
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}
