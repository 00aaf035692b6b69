//! Discovery and eligibility on block-layer trees captured from real (and emulated) machines
//! by `tests/vm/fixtures-capture.sh`.

use std::path::PathBuf;

use atelier_device::{
    BootEvidence, DeviceKind, Refusal, SystemRoot, SystemUsage, assess, discover,
    is_whole_bench_candidate,
};
use atelier_record::{MediaKind, Transport};

fn fixture(name: &str) -> SystemRoot {
    SystemRoot::at(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
}

#[test]
fn emulated_thinkpad_disks_have_their_identity() {
    let root = fixture("qemu-q35");
    let devices = discover(&root).unwrap();
    let names: Vec<&str> = devices.iter().map(|d| d.name.as_str()).collect();
    // Unattached loop devices are left out; loop0 backs the live root.
    assert_eq!(names, ["loop0", "nvme0n1", "sda", "sdb", "sdc"]);

    let by_serial = |s: &str| {
        devices
            .iter()
            .find(|d| d.serial.as_deref() == Some(s))
            .unwrap()
    };
    let nvme = by_serial("ATL-NVME-01");
    assert_eq!(nvme.transport, Transport::Nvme);
    assert_eq!(nvme.model.as_deref(), Some("QEMU NVMe Ctrl"));
    assert_eq!(nvme.media(), MediaKind::Flash);
    assert!(nvme.wwn.is_some());
    assert_eq!(nvme.size_bytes, 64 << 20);

    let ssd = by_serial("ATL-SATA-01");
    assert_eq!(ssd.transport, Transport::Sata);
    assert!(!ssd.rotational);
    assert_eq!(ssd.media(), MediaKind::Flash);
    // The kernel cuts SATA models to 16 characters in device/model.
    assert_eq!(ssd.model.as_deref(), Some("Samsung SSD 860 EVO 250GB"));
    assert_eq!(ssd.vendor, None, "libata's \"ATA\" is not a vendor");

    let hdd = by_serial("ATL-HDD-01");
    assert!(hdd.rotational);
    assert_eq!(hdd.media(), MediaKind::Magnetic);
    assert_eq!(hdd.partitions.len(), 1);

    let usb = by_serial("ATL-USB-01");
    assert_eq!(usb.transport, Transport::Usb);
    assert_eq!(usb.partitions.len(), 1);

    let lp = &devices[0];
    assert_eq!(lp.kind, DeviceKind::Loop);
    assert_eq!(lp.transport, Transport::Loop);
    assert!(lp.loop_backing_file.is_some());
}

#[test]
fn the_live_stick_and_its_loop_are_refused_and_internal_disks_are_not() {
    let root = fixture("qemu-q35");
    let devices = discover(&root).unwrap();
    let usage = SystemUsage::read(&root);
    let refusals = |name: &str| {
        let d = devices.iter().find(|d| d.name == name).unwrap();
        assess(&root, d, &usage, &devices)
    };
    for internal in ["nvme0n1", "sda", "sdb"] {
        assert_eq!(refusals(internal), vec![], "{internal}");
    }
    let stick = refusals("sdc");
    assert!(
        stick.iter().any(|r| matches!(r,
            Refusal::BootMedium { evidence: BootEvidence::MountedAt { partition, mount_point } }
            if partition == "sdc1" && mount_point.to_str() == Some("/run/live/medium"))),
        "{stick:?}"
    );
    // The live system's root (squashfs on loop0, mounted under /run/live): the boot medium,
    // not a disk to unmount.
    let lp = refusals("loop0");
    assert!(
        lp.iter().any(|r| matches!(r,
            Refusal::BootMedium { evidence: BootEvidence::MountedAt { mount_point, .. } }
            if mount_point.to_str() == Some("/run/live/rootfs"))),
        "{lp:?}"
    );
    assert!(
        !lp.iter().any(|r| matches!(r, Refusal::Mounted { .. })),
        "{lp:?}"
    );
    assert!(lp.contains(&Refusal::ReadOnly), "{lp:?}");
}

#[test]
fn all_eligible_takes_internal_disks_only() {
    let root = fixture("qemu-q35");
    let devices = discover(&root).unwrap();
    let picked = |removable: bool| -> Vec<&str> {
        devices
            .iter()
            .filter(|d| is_whole_bench_candidate(d, removable))
            .map(|d| d.name.as_str())
            .collect()
    };
    assert_eq!(picked(false), ["nvme0n1", "sda", "sdb"]);
    assert_eq!(picked(true), ["nvme0n1", "sda", "sdb", "sdc"]);
}

#[test]
fn the_development_machine_root_disk_is_refused() {
    let root = fixture("host-virtio");
    let devices = discover(&root).unwrap();
    let usage = SystemUsage::read(&root);
    let vda = devices.iter().find(|d| d.name == "vda").unwrap();
    assert_eq!(vda.transport, Transport::Virtio);
    assert_eq!(vda.media(), MediaKind::Virtual);
    let refusals = assess(&root, vda, &usage, &devices);
    assert!(
        refusals
            .iter()
            .any(|r| matches!(r, Refusal::BootMedium { .. })),
        "{refusals:?}"
    );
    // zram0 is unused here (size 0) and left out; loop0 is the capture's own.
    assert!(devices.iter().all(|d| d.name != "zram0"));
}

#[test]
fn a_missing_tree_is_an_error_not_a_panic() {
    let root = SystemRoot::at("/nonexistent/atelier");
    assert!(discover(&root).is_err());
    let usage = SystemUsage::read(&root);
    assert!(usage.mounts.is_empty());
}

/// A small tree written by the test for the cases no captured machine shows yet: an LVM
/// member, a swap partition, an Atelier-labelled stick found through udev's by-label links,
/// the kernel's `root=`.
#[test]
fn holders_swap_labels_and_kernel_root_are_refusals() {
    use std::fs;
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let root = SystemRoot::at(dir.path());
    let disk = |name: &str, dev: &str, parts: &[(&str, &[&str])]| {
        let sys = format!(
            "/sys/devices/pci0000:00/0000:00:1f.2/ata{dev}/host0/target0:0:0/0:0:0:0/block/{name}"
        );
        fs::create_dir_all(root.path(format!("{sys}/queue"))).unwrap();
        fs::create_dir_all(root.path(format!("{sys}/holders"))).unwrap();
        fs::write(root.path(format!("{sys}/dev")), format!("8:{dev}0\n")).unwrap();
        fs::write(root.path(format!("{sys}/size")), "2048\n").unwrap();
        symlink(
            format!("../../..{sys}"),
            root.path(format!("/sys/class/block/{name}")),
        )
        .unwrap();
        for (i, (part, holders)) in parts.iter().enumerate() {
            let psys = format!("{sys}/{part}");
            fs::create_dir_all(root.path(format!("{psys}/holders"))).unwrap();
            fs::write(root.path(format!("{psys}/partition")), "1\n").unwrap();
            fs::write(
                root.path(format!("{psys}/dev")),
                format!("8:{dev}{}\n", i + 1),
            )
            .unwrap();
            for h in *holders {
                symlink(
                    format!("../../../../{h}"),
                    root.path(format!("{psys}/holders/{h}")),
                )
                .unwrap();
            }
            symlink(
                format!("../../..{psys}"),
                root.path(format!("/sys/class/block/{part}")),
            )
            .unwrap();
        }
    };
    fs::create_dir_all(root.path("/sys/class/block")).unwrap();
    disk("sda", "1", &[("sda1", &["dm-0"])]);
    disk("sdb", "2", &[("sdb1", &[]), ("sdb2", &[])]);
    disk("sdc", "3", &[("sdc1", &[])]);
    disk("sdd", "4", &[("sdd1", &[])]);
    fs::create_dir_all(root.path("/sys/class/block/dm-0/dm")).unwrap();
    fs::write(root.path("/sys/class/block/dm-0/dm/uuid"), "LVM-abcdef\n").unwrap();
    fs::create_dir_all(root.path("/proc/self")).unwrap();
    fs::write(root.path("/proc/self/mountinfo"), "").unwrap();
    fs::write(
        root.path("/proc/swaps"),
        "Filename Type Size Used Priority\n/dev/sdb2 partition 1024 0 -2\n",
    )
    .unwrap();
    fs::create_dir_all(root.path("/dev/disk/by-label")).unwrap();
    fs::create_dir_all(root.path("/dev/disk/by-uuid")).unwrap();
    fs::write(root.path("/dev/sdc1"), "").unwrap();
    fs::write(root.path("/dev/sdd1"), "").unwrap();
    symlink("../../sdc1", root.path("/dev/disk/by-label/ATELIER-DATA")).unwrap();
    symlink("../../sdd1", root.path("/dev/disk/by-uuid/1234-ABCD")).unwrap();
    fs::write(
        root.path("/proc/cmdline"),
        "BOOT_IMAGE=/vmlinuz root=UUID=1234-ABCD ro quiet\n",
    )
    .unwrap();

    let devices = discover(&root).unwrap();
    let usage = SystemUsage::read(&root);
    let refusals = |name: &str| {
        let d = devices.iter().find(|d| d.name == name).unwrap();
        assess(&root, d, &usage, &devices)
    };
    assert!(
        refusals("sda").iter().any(|r| matches!(r,
        Refusal::Held { partition, holder, kind: atelier_device::HolderKind::Lvm }
        if partition == "sda1" && holder == "dm-0")),
        "{:?}",
        refusals("sda")
    );
    assert_eq!(
        refusals("sdb"),
        vec![Refusal::Swap {
            partition: "sdb2".into()
        }]
    );
    assert_eq!(
        refusals("sdc"),
        vec![Refusal::BootMedium {
            evidence: BootEvidence::AtelierLabel {
                partition: "sdc1".into()
            }
        }]
    );
    assert_eq!(
        refusals("sdd"),
        vec![Refusal::BootMedium {
            evidence: BootEvidence::KernelRoot {
                partition: "sdd1".into()
            }
        }]
    );
}
