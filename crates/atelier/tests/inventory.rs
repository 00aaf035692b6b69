//! `atelier inventory` on captured machines (fixture trees) and on broken inputs: the output
//! formats, saving into the machine's record, and exit 0 with warnings on bad input.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use atelier_record::{GradeLevel, HardwareSection, HealthVerdict, Transport, ValueState};
use common::{atelier, records, stderr};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../atelier-device/tests/fixtures")
        .join(name)
}

fn inventory_json(root: &Path, data: &Path, extra: &[&str]) -> (HardwareSection, String) {
    let out = atelier(data)
        .arg("--root")
        .arg(root)
        .args(["inventory", "--json"])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        stderr(&out)
    );
    let hw: HardwareSection = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    (hw, stderr(&out))
}

#[test]
fn the_emulated_thinkpad_is_inventoried_from_its_capture() {
    let data = tempfile::tempdir().unwrap();
    let (hw, err) = inventory_json(&fixture("qemu-q35"), data.path(), &["--no-save"]);
    let id = &hw.identity;
    assert_eq!(id.system_vendor.get().map(String::as_str), Some("LENOVO"));
    assert_eq!(
        id.product_name.get().map(String::as_str),
        Some("20AN00A1FR")
    );
    assert_eq!(id.serial.get().map(String::as_str), Some("PF0ABCDE"));
    assert_eq!(id.serial.source, "/sys/class/dmi/id/product_serial");
    assert_eq!(hw.machine_key.source, "serial_uuid");
    assert!(!hw.machine_key.weak);
    assert_eq!(
        hw.machine_key.value.as_deref(),
        Some("smbios:PF0ABCDE:11111111-2222-3333-4444-555555555555")
    );

    // The four disks of the capture, the USB stick marked as the boot medium.
    let names: Vec<&str> = hw.disks.iter().map(|d| d.device.name.as_str()).collect();
    for name in ["nvme0n1", "sda", "sdb", "sdc"] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    assert!(!names.iter().any(|n| n.starts_with("loop")), "{names:?}");
    let usb: Vec<_> = hw
        .disks
        .iter()
        .filter(|d| d.device.transport == Transport::Usb)
        .collect();
    assert_eq!(usb.len(), 1);
    assert!(usb[0].boot_medium, "the live stick is the boot medium");
    // No smartctl output in the capture: health unknown, said why, and warned.
    for d in &hw.disks {
        assert_eq!(d.health.verdict, HealthVerdict::Unknown);
        assert!(
            d.health
                .unknown_reason
                .as_deref()
                .unwrap()
                .contains("captured")
        );
    }
    assert!(err.contains("probe smart:/dev/nvme0n1"), "{err}");
    // The grades are there and deterministic.
    assert!(!hw.grades.verdicts.is_empty());
    assert_ne!(hw.grades.overall, GradeLevel::Good, "{:?}", hw.grades);
}

#[test]
fn human_summary_in_french_and_glpi_format() {
    let data = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_atelier"))
        .arg("--data-dir")
        .arg(data.path())
        .args(["--lang", "fr", "--root"])
        .arg(fixture("qemu-q35"))
        .args(["inventory", "--no-save"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let first: Vec<&str> = text.lines().take(3).collect();
    assert!(
        first[0].starts_with("Machine") && first[0].contains("LENOVO"),
        "{text}"
    );
    assert!(first[2].starts_with("Verdict"), "verdict first: {text}");
    assert!(
        text.contains("PF0ABCDE") && text.contains("Disque"),
        "{text}"
    );

    let out = atelier(data.path())
        .arg("--root")
        .arg(fixture("qemu-q35"))
        .args(["inventory", "--format", "glpi", "--no-save"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let glpi: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(glpi["itemtype"], "Computer");
    assert_eq!(glpi["action"], "inventory");
    assert!(!glpi["deviceid"].as_str().unwrap().is_empty());
    assert!(
        !glpi["content"]["hardware"]["name"]
            .as_str()
            .unwrap()
            .is_empty()
    );
    assert_eq!(glpi["content"]["bios"]["ssn"], "PF0ABCDE");
    assert!(!data.path().join(atelier_store::DATABASE_FILE).exists());
}

#[test]
fn the_inventory_goes_into_the_machines_open_record() {
    let data = tempfile::tempdir().unwrap();
    let root = fixture("qemu-q35");
    let (first, _) = inventory_json(&root, data.path(), &[]);
    let list = records(data.path())["records"].clone();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    // Again: the same record is updated, not a second one made.
    let (second, _) = inventory_json(&root, data.path(), &[]);
    let list = records(data.path())["records"].clone();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    let id = list[0]["id"].as_str().unwrap().to_owned();
    let record = common::export(data.path(), &id);
    let stored: HardwareSection = serde_json::from_value(record["hardware"].clone()).unwrap();
    assert_eq!(stored.collected_at, second.collected_at);
    assert_ne!(first.collected_at, second.collected_at);
}

/// A machine whose every input is damaged: garbage SMBIOS, truncated EDID, battery files
/// with nonsense, a power_supply entry that is a dangling link, no smartctl output.
fn broken_machine(root: &Path) {
    let w = |rel: &str, data: &[u8]| {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, data).unwrap();
    };
    w("sys/firmware/dmi/tables/DMI", &[0x01, 0xFF, 0x00]);
    w(
        "sys/firmware/dmi/tables/smbios_entry_point",
        b"_SM3_garbage",
    );
    w("sys/class/dmi/id/sys_vendor", b"To be filled by O.E.M.\n");
    w("sys/class/dmi/id/product_serial", b"Default string\n");
    w(
        "sys/class/dmi/id/product_uuid",
        b"00000000-0000-0000-0000-000000000000\n",
    );
    w("proc/meminfo", b"MemTotal: lots kB\n");
    w("proc/cpuinfo", b"processor\t: 0\nmodel name\t:\n");
    w("proc/self/mountinfo", b"");
    w("proc/swaps", b"Filename\tType\tSize\tUsed\tPriority\n");
    w("proc/cmdline", b"quiet\n");
    w(
        "sys/class/drm/card0-eDP-1/edid",
        &[0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x30],
    );
    w("sys/class/power_supply/BAT0/type", b"Battery\n");
    w("sys/class/power_supply/BAT0/energy_full_design", b"zero\n");
    w("sys/class/power_supply/BAT0/energy_full", b"-5\n");
    fs::create_dir_all(root.join("sys/class/power_supply")).unwrap();
    std::os::unix::fs::symlink(
        "../../devices/gone/AC",
        root.join("sys/class/power_supply/AC"),
    )
    .unwrap();
    fs::create_dir_all(root.join("sys/block")).unwrap();
}

#[test]
fn damaged_inputs_still_give_an_inventory_and_exit_0_with_warnings() {
    let data = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    broken_machine(root.path());
    let (hw, err) = inventory_json(root.path(), data.path(), &["--no-save"]);
    assert_eq!(hw.identity.system_vendor.state, ValueState::Placeholder);
    assert_eq!(
        hw.identity.system_vendor.raw.as_deref(),
        Some("To be filled by O.E.M.")
    );
    assert!(hw.memory.total_bytes.value.is_none());
    assert!(hw.screens.is_empty(), "a truncated EDID is not a screen");
    assert!(err.contains("edid") || err.contains("EDID"), "{err}");
    assert!(err.contains("smbios"), "{err}");
    assert!(hw.machine_key.value.is_none());
    assert!(!hw.warnings.is_empty());
}

#[test]
fn capture_writes_a_tree_that_inventories_the_same_and_refuses_a_non_empty_folder() {
    let data = tempfile::tempdir().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let dir = dest.path().join("pc1");
    let out = atelier(data.path())
        .arg("--root")
        .arg(fixture("qemu-q35"))
        .args(["inventory", "capture"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(dir.join("atelier-capture/manifest.json").is_file());

    let (original, _) = inventory_json(&fixture("qemu-q35"), data.path(), &["--no-save"]);
    let (captured, _) = inventory_json(&dir, data.path(), &["--no-save"]);
    assert_eq!(original.identity, captured.identity);
    assert_eq!(original.disks, captured.disks);
    assert_eq!(original.machine_key, captured.machine_key);

    // Again into the same folder: refused, nothing overwritten.
    let before = fs::read(dir.join("atelier-capture/manifest.json")).unwrap();
    let out = atelier(data.path())
        .arg("--root")
        .arg(fixture("qemu-q35"))
        .args(["inventory", "capture"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not empty"), "{}", stderr(&out));
    assert_eq!(
        fs::read(dir.join("atelier-capture/manifest.json")).unwrap(),
        before
    );
}
