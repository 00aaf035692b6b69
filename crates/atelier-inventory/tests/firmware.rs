//! Firmware reader: boot mode, Secure Boot from efivarfs (and the old efi/vars interface), TPM
//! version, devicetree identity, and the live machine. Fixture trees are written here, file by
//! file, in a tempdir.

use std::fs;
use std::path::Path;

use atelier_inventory::firmware::{SECURE_BOOT_VARIABLE, read_devicetree, read_firmware};
use atelier_record::{BootMode, Firmware, SecureBootState, Tpm};

fn write(root: &Path, rel: &str, content: &[u8]) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(&path, content).expect("write fixture");
}

fn mkdir(root: &Path, rel: &str) {
    fs::create_dir_all(root.join(rel)).expect("mkdir");
}

/// A UEFI machine whose efivarfs holds a boot entry and, when given, the SecureBoot variable.
fn uefi(root: &Path, secure_boot: Option<&[u8]>) {
    let efivars = "sys/firmware/efi/efivars";
    write(
        root,
        &format!("{efivars}/BootCurrent-8be4df61-93ca-11d2-aa0d-00e098032b8c"),
        &[6, 0, 0, 0, 1, 0],
    );
    if let Some(bytes) = secure_boot {
        write(root, &format!("{efivars}/{SECURE_BOOT_VARIABLE}"), bytes);
    }
}

fn firmware(root: &Path) -> (Firmware, Vec<String>) {
    let (firmware, warnings) = read_firmware(root);
    let messages = warnings
        .iter()
        .map(|w| format!("{}: {}", w.probe, w.message))
        .collect();
    (firmware, messages)
}

#[test]
fn legacy_bios() {
    let tmp = tempfile::tempdir().expect("tempdir");
    mkdir(tmp.path(), "sys/firmware/acpi");
    let (fw, warnings) = firmware(tmp.path());
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        fw,
        Firmware {
            boot_mode: BootMode::Legacy,
            secure_boot: SecureBootState::NotApplicable,
            uefi_capable: None,
            virtual_machine: None,
            tpm: None
        }
    );
}

#[test]
fn uefi_secure_boot_enabled_and_disabled() {
    for (value, expected) in [
        (1u8, SecureBootState::Enabled),
        (0, SecureBootState::Disabled),
    ] {
        let tmp = tempfile::tempdir().expect("tempdir");
        // Attributes: non-volatile, boot service and runtime access (0x06).
        uefi(tmp.path(), Some(&[0x06, 0, 0, 0, value]));
        let (fw, warnings) = firmware(tmp.path());
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(fw.boot_mode, BootMode::Uefi);
        assert_eq!(fw.secure_boot, expected, "value {value}");
    }
}

#[test]
fn uefi_firmware_without_the_secure_boot_variable_is_disabled() {
    let tmp = tempfile::tempdir().expect("tempdir");
    uefi(tmp.path(), None);
    let (fw, warnings) = firmware(tmp.path());
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(fw.secure_boot, SecureBootState::Disabled);
}

#[test]
fn uefi_secure_boot_unknown_cases() {
    // efivarfs not mounted: the directory is empty or missing.
    let tmp = tempfile::tempdir().expect("tempdir");
    mkdir(tmp.path(), "sys/firmware/efi/efivars");
    let (fw, warnings) = firmware(tmp.path());
    assert_eq!(
        (fw.boot_mode, fw.secure_boot),
        (BootMode::Uefi, SecureBootState::Unknown)
    );
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with("firmware: Secure Boot state unknown: no EFI variables visible")
    );

    let tmp = tempfile::tempdir().expect("tempdir");
    mkdir(tmp.path(), "sys/firmware/efi");
    assert_eq!(firmware(tmp.path()).0.secure_boot, SecureBootState::Unknown);

    // Too short, or a value that is neither 0 nor 1.
    for (bytes, message) in [
        (&[6u8, 0, 0, 0][..], "holds 4 byte(s)"),
        (&[6, 0, 0, 0, 2][..], "holds 2, expected 0 or 1"),
    ] {
        let tmp = tempfile::tempdir().expect("tempdir");
        uefi(tmp.path(), Some(bytes));
        let (fw, warnings) = firmware(tmp.path());
        assert_eq!(fw.secure_boot, SecureBootState::Unknown);
        assert!(
            warnings.len() == 1 && warnings[0].contains(message),
            "{warnings:?}"
        );
    }

    // Unreadable (a directory in place of the variable).
    let tmp = tempfile::tempdir().expect("tempdir");
    mkdir(
        tmp.path(),
        &format!("sys/firmware/efi/efivars/{SECURE_BOOT_VARIABLE}"),
    );
    let (fw, warnings) = firmware(tmp.path());
    assert_eq!(fw.secure_boot, SecureBootState::Unknown);
    assert!(warnings[0].contains("unreadable"), "{warnings:?}");
}

#[test]
fn old_efi_vars_interface() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write(
        tmp.path(),
        &format!("sys/firmware/efi/vars/{SECURE_BOOT_VARIABLE}/data"),
        &[1],
    );
    let (fw, warnings) = firmware(tmp.path());
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(fw.secure_boot, SecureBootState::Enabled);
}

#[test]
fn raspberry_pi_devicetree() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write(
        tmp.path(),
        "sys/firmware/devicetree/base/model",
        b"Raspberry Pi 4 Model B Rev 1.4\0",
    );
    write(
        tmp.path(),
        "sys/firmware/devicetree/base/serial-number",
        b"10000000abcdef01\0",
    );
    write(
        tmp.path(),
        "sys/firmware/devicetree/base/compatible",
        b"raspberrypi,4-model-b\0brcm,bcm2711\0",
    );
    let (fw, warnings) = firmware(tmp.path());
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        (fw.boot_mode, fw.secure_boot),
        (BootMode::Other, SecureBootState::NotApplicable)
    );
    assert_eq!(
        read_devicetree(tmp.path()),
        (
            Some("Raspberry Pi 4 Model B Rev 1.4".to_owned()),
            Some("10000000abcdef01".to_owned())
        )
    );

    // A devicetree board booted by UEFI (U-Boot's EFI, ARM servers) is UEFI.
    uefi(tmp.path(), Some(&[6, 0, 0, 0, 0]));
    let (fw, _) = firmware(tmp.path());
    assert_eq!(
        (fw.boot_mode, fw.secure_boot),
        (BootMode::Uefi, SecureBootState::Disabled)
    );
}

#[test]
fn devicetree_strings_missing_or_empty() {
    let tmp = tempfile::tempdir().expect("tempdir");
    assert_eq!(read_devicetree(tmp.path()), (None, None));
    write(tmp.path(), "sys/firmware/devicetree/base/model", b"\0");
    write(
        tmp.path(),
        "sys/firmware/devicetree/base/serial-number",
        b"  \0\0",
    );
    assert_eq!(read_devicetree(tmp.path()), (None, None));
    // Without the terminating NUL, and with bytes that are not UTF-8.
    write(
        tmp.path(),
        "sys/firmware/devicetree/base/model",
        b"Pine64 \xffRockPro64",
    );
    assert_eq!(
        read_devicetree(tmp.path()).0.as_deref(),
        Some("Pine64 \u{fffd}RockPro64")
    );
}

fn read_tpm(root: &Path) -> (Option<Tpm>, Vec<String>) {
    let (fw, warnings) = firmware(root);
    (fw.tpm, warnings)
}

#[test]
fn tpm_versions() {
    for (major, version) in [("2\n", "2.0"), ("1\n", "1.2")] {
        let tmp = tempfile::tempdir().expect("tempdir");
        write(
            tmp.path(),
            "sys/class/tpm/tpm0/tpm_version_major",
            major.as_bytes(),
        );
        let (tpm, warnings) = read_tpm(tmp.path());
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            tpm,
            Some(Tpm {
                version: Some(version.to_owned()),
                source: "/sys/class/tpm/tpm0".into()
            })
        );
    }
}

#[test]
fn tpm_1_2_on_old_kernels_from_caps() {
    let caps = b"Manufacturer: 0x49465800\nTCG version: 1.2\nFirmware version: 6.40\n";
    for place in ["device/caps", "caps"] {
        let tmp = tempfile::tempdir().expect("tempdir");
        write(tmp.path(), &format!("sys/class/tpm/tpm0/{place}"), caps);
        let (tpm, warnings) = read_tpm(tmp.path());
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            tpm.and_then(|t| t.version).as_deref(),
            Some("1.2"),
            "{place}"
        );
    }
}

#[test]
fn tpm_without_version_is_a_warning() {
    let tmp = tempfile::tempdir().expect("tempdir");
    mkdir(tmp.path(), "sys/class/tpm/tpm0/device");
    let (tpm, warnings) = read_tpm(tmp.path());
    assert_eq!(
        tpm,
        Some(Tpm {
            version: None,
            source: "/sys/class/tpm/tpm0".into()
        })
    );
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].starts_with("tpm: /sys/class/tpm/tpm0: TPM present, version unknown"));

    let tmp = tempfile::tempdir().expect("tempdir");
    write(tmp.path(), "sys/class/tpm/tpm0/tpm_version_major", b"7\n");
    let (tpm, warnings) = read_tpm(tmp.path());
    assert_eq!(tpm.and_then(|t| t.version), None);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
}

#[test]
fn first_tpm_by_number() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write(tmp.path(), "sys/class/tpm/tpm10/tpm_version_major", b"1\n");
    write(tmp.path(), "sys/class/tpm/tpm2/tpm_version_major", b"2\n");
    mkdir(tmp.path(), "sys/class/tpm/tpmrm2");
    let (tpm, _) = read_tpm(tmp.path());
    assert_eq!(
        tpm.map(|t| t.source).as_deref(),
        Some("/sys/class/tpm/tpm2")
    );
}

#[test]
fn this_machine() {
    let root = Path::new("/");
    let (fw, warnings) = read_firmware(root);
    let devicetree = read_devicetree(root);
    eprintln!("{fw:#?}\n{warnings:#?}\n{devicetree:?}");
    let efi = Path::new("/sys/firmware/efi").is_dir();
    assert_eq!(fw.boot_mode == BootMode::Uefi, efi);
    if !efi {
        assert_eq!(fw.secure_boot, SecureBootState::NotApplicable);
    }
    assert_eq!(fw.tpm.is_some(), Path::new("/sys/class/tpm/tpm0").exists());
    if !Path::new("/sys/firmware/devicetree/base").exists() {
        assert_eq!(devicetree, (None, None));
    }
}
