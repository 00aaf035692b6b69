//! smartctl is started only for disks that can carry SMART: on a captured tree of a virtual
//! machine (one virtio disk) it is never started and the disk's health says why; on a tree
//! with NVMe, SATA and USB disks it is started once per disk.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use atelier_inventory::machine::{InventoryOptions, SmartSource, take_inventory};
use atelier_inventory::smart::Smartctl;

/// A stand-in smartctl that appends the device it was asked about to `log` and answers
/// with an empty JSON document.
fn logging_smartctl(dir: &Path, log: &Path) -> PathBuf {
    let program = dir.join("smartctl");
    fs::write(
        &program,
        format!(
            "#!/bin/sh\nfor a; do last=\"$a\"; done\necho \"$last\" >> '{}'\necho '{{}}'\n",
            log.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&program, fs::Permissions::from_mode(0o755)).unwrap();
    program
}

fn inventory_with_logging_smartctl(
    fixture: &str,
) -> (atelier_record::HardwareSection, Vec<String>) {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("calls");
    let program = logging_smartctl(tmp.path(), &log);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(fixture);
    let mut opts = InventoryOptions::captured(root, "x86_64");
    opts.smart = SmartSource::Query(Smartctl::new().program(program));
    let hw = take_inventory(&opts);
    let calls = fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    (hw, calls)
}

#[test]
fn smartctl_is_not_started_for_a_virtio_disk_and_the_reason_is_recorded() {
    let (hw, calls) =
        inventory_with_logging_smartctl("../atelier-device/tests/fixtures/host-virtio");
    let vda = hw
        .disks
        .iter()
        .find(|d| d.device.name == "vda")
        .expect("the fixture's virtio disk is listed");
    assert!(calls.is_empty(), "smartctl was started: {calls:?}");
    let why = vda.health.unknown_reason.as_deref().unwrap_or_default();
    assert!(why.contains("virtio") && why.contains("no SMART"), "{why}");
    assert!(
        !hw.warnings.iter().any(|w| w.probe.starts_with("smart")),
        "no SMART warning for a disk that cannot have SMART: {:?}",
        hw.warnings
    );
}

#[test]
fn smartctl_is_started_once_for_each_physical_disk() {
    let (hw, calls) = inventory_with_logging_smartctl("../atelier-device/tests/fixtures/qemu-q35");
    assert_eq!(hw.disks.len(), 4);
    let mut asked = calls.clone();
    asked.sort();
    let mut expected: Vec<String> = hw
        .disks
        .iter()
        .map(|d| format!("/dev/{}", d.device.name))
        .collect();
    expected.sort();
    assert_eq!(asked, expected);
}
