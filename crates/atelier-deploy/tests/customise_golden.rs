//! Golden-image customisation on real images: a small "golden" disk image is built here (GPT
//! or MBR by `sgdisk` / `sfdisk`, an ext4 root made by `mkfs.ext4 -d` from a tree holding the
//! per-machine files a real system has), deployed by plain copy to larger targets — an image
//! file and a loop device — and customised. Everything is then checked with independent
//! tools: `sgdisk -v`, `sfdisk --json`, `e2fsck -f -n`, `dumpe2fs -h` and `debugfs` (which read
//! ext4 without mounting and without the code under test).
//!
//! Device tier: root, loop devices and mounts.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use atelier_deploy::customise::{
    CustomiseError, GoldenSettings, HostnamePattern, customise_golden_image, grow_last_partition,
};
use atelier_testkit::{LoopDevice, device_tier};

const MIB: u64 = 1 << 20;
const GOLDEN_SIZE: u64 = 96 * MIB;
const TARGET_SIZE: u64 = 256 * MIB;
const ROOT_GUID: &str = "5A7E1E2F-0C1D-4E8B-9F3A-1B2C3D4E5F60";

const TOOLS: &[&str] = &[
    "sfdisk",
    "sgdisk",
    "mkfs.ext4",
    "mkfs.fat",
    "e2fsck",
    "resize2fs",
    "debugfs",
    "dumpe2fs",
    "mount",
    "umount",
];

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .env("LC_ALL", "C")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn run_with_input(program: &str, args: &[&str], input: &str) {
    use std::io::Write;
    let mut child = Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "{program} {args:?} failed");
}

/// The tree of a reference machine: the files a deployment must reset.
fn reference_tree(dir: &Path) -> PathBuf {
    let root = dir.join("golden-root");
    let w = |p: &str, content: &str, mode: u32| {
        let path = root.join(p);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, content).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    };
    w(
        "etc/os-release",
        "PRETTY_NAME=\"Test Linux\"\nID=test\n",
        0o644,
    );
    w(
        "etc/fstab",
        "PARTUUID=5a7e1e2f-0c1d-4e8b-9f3a-1b2c3d4e5f60 / ext4 defaults 0 1\n",
        0o644,
    );
    w("etc/hostname", "mint-golden\n", 0o644);
    w(
        "etc/hosts",
        "127.0.0.1\tlocalhost\n127.0.1.1\tmint-golden\n\n::1\tip6-localhost ip6-loopback\n",
        0o644,
    );
    w(
        "etc/machine-id",
        "4f2c8e1d9a7b4c3e8f6a5d4c3b2a1908\n",
        0o444,
    );
    w(
        "var/lib/dbus/machine-id",
        "4f2c8e1d9a7b4c3e8f6a5d4c3b2a1908\n",
        0o444,
    );
    w(
        "var/lib/systemd/random-seed",
        "not really random, but per machine",
        0o600,
    );
    for key in ["rsa", "ecdsa", "ed25519"] {
        w(&format!("etc/ssh/ssh_host_{key}_key"), "PRIVATE\n", 0o600);
        w(
            &format!("etc/ssh/ssh_host_{key}_key.pub"),
            "PUBLIC\n",
            0o644,
        );
    }
    w("etc/ssh/sshd_config", "# test\n", 0o644);
    w("etc/ssh/ssh_config", "# client\n", 0o644);
    w("usr/bin/ssh-keygen", "#!/bin/sh\n", 0o755);
    w(
        "etc/NetworkManager/system-connections/Maison.nmconnection",
        "[connection]\nid=Maison\n[wifi-security]\npsk=secret\n",
        0o600,
    );
    w(
        "etc/NetworkManager/system-connections/Wired.nmconnection",
        "[connection]\n",
        0o600,
    );
    w("etc/NetworkManager/NetworkManager.conf", "[main]\n", 0o644);
    w(
        "etc/udev/rules.d/70-persistent-net.rules",
        "SUBSYSTEM==\"net\", ATTR{address}==\"52:54:00:12:34:56\", NAME=\"eth0\"\n",
        0o644,
    );
    w("etc/udev/rules.d/99-local.rules", "# kept\n", 0o644);
    root
}

/// A GPT golden image: ESP (FAT) + ext4 root filling the rest.
fn golden_gpt(dir: &Path) -> PathBuf {
    let img = dir.join("golden-gpt.img");
    fs::File::create(&img)
        .unwrap()
        .set_len(GOLDEN_SIZE)
        .unwrap();
    let s = img.to_str().unwrap();
    run(
        "sgdisk",
        &[
            "-n1:2048:+16M",
            "-t1:ef00",
            "-c1:EFI",
            "-n2:0:0",
            "-t2:8300",
            "-c2:root",
            &format!("-u2:{ROOT_GUID}"),
            s,
        ],
    );
    run(
        "mkfs.fat",
        &["-F", "32", "-s", "1", "--offset", "2048", s, "16384"],
    );
    let start = 2048 * 512 + 16 * MIB;
    let size = GOLDEN_SIZE - start - 33 * 512;
    let tree = reference_tree(dir);
    run(
        "mkfs.ext4",
        &[
            "-q",
            "-F",
            "-E",
            &format!("offset={start}"),
            "-d",
            tree.to_str().unwrap(),
            s,
            &format!("{}k", size / 1024),
        ],
    );
    img
}

/// An MBR golden image: ext4 root (partition 1) only.
fn golden_mbr(dir: &Path, with_swap_last: bool) -> PathBuf {
    let img = dir.join(format!("golden-mbr-{with_swap_last}.img"));
    fs::File::create(&img)
        .unwrap()
        .set_len(GOLDEN_SIZE)
        .unwrap();
    let s = img.to_str().unwrap();
    let table = if with_swap_last {
        "label: dos\nlabel-id: 0x0badcafe\n2048,163840,83\n165888,,82\n"
    } else {
        "label: dos\nlabel-id: 0x0badcafe\n2048,,83\n"
    };
    run_with_input("sfdisk", &["-q", s], table);
    let size = if with_swap_last {
        163840 * 512
    } else {
        GOLDEN_SIZE - 2048 * 512
    };
    let tree = reference_tree(dir);
    run(
        "mkfs.ext4",
        &[
            "-q",
            "-F",
            "-E",
            "offset=1048576",
            "-d",
            tree.to_str().unwrap(),
            s,
            &format!("{}k", size / 1024),
        ],
    );
    img
}

/// Deploys by plain copy to a larger image file.
fn deploy_to_file(golden: &Path, dir: &Path, name: &str) -> PathBuf {
    let target = dir.join(name);
    fs::copy(golden, &target).unwrap();
    fs::OpenOptions::new()
        .write(true)
        .open(&target)
        .unwrap()
        .set_len(TARGET_SIZE)
        .unwrap();
    target
}

#[derive(Debug)]
struct Part {
    start: u64,
    size: u64,
    uuid: String,
    name: Option<String>,
    kind: String,
}

/// `sfdisk --json` of a target: (label, last LBA or sectors, partitions).
fn sfdisk_json(target: &Path) -> (String, u64, Vec<Part>) {
    let json: serde_json::Value =
        serde_json::from_str(&run("sfdisk", &["--json", target.to_str().unwrap()])).unwrap();
    let t = &json["partitiontable"];
    let parts = t["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| Part {
            start: p["start"].as_u64().unwrap(),
            size: p["size"].as_u64().unwrap(),
            uuid: p["uuid"].as_str().unwrap_or("").to_string(),
            name: p["name"].as_str().map(str::to_string),
            kind: p["type"].as_str().unwrap_or("").to_string(),
        })
        .collect();
    (
        t["label"].as_str().unwrap().to_string(),
        t["lastlba"].as_u64().unwrap_or(0),
        parts,
    )
}

/// Runs a debugfs request on the ext4 file system at `offset` of `target`.
fn debugfs(target: &Path, offset: u64, request: &str) -> String {
    let spec = format!("{}?offset={offset}", target.display());
    let out = Command::new("debugfs")
        .args(["-R", request, &spec])
        .env("LC_ALL", "C")
        .output()
        .unwrap();
    // Requests print to stdout; the banner and "File not found" go to stderr.
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if stdout.is_empty() {
        String::from_utf8_lossy(&out.stderr).into_owned()
    } else {
        stdout
    }
}

fn fs_bytes(target: &Path, offset: u64) -> u64 {
    let text = run(
        "dumpe2fs",
        &["-h", &format!("{}?offset={offset}", target.display())],
    );
    let field = |name: &str| -> u64 {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split(':').nth(1))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} missing in dumpe2fs"))
    };
    field("Block count") * field("Block size")
}

fn e2fsck_clean(target: &Path, offset: u64) {
    let out = Command::new("e2fsck")
        .args(["-f", "-n", &format!("{}?offset={offset}", target.display())])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "e2fsck -f -n is not clean: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Checks a customised GPT target; returns the machine-id it holds.
fn check_gpt_target(target: &Path, hostname: &str, size: u64) -> String {
    let verify = run("sgdisk", &["-v", target.to_str().unwrap()]);
    assert!(verify.contains("No problems found"), "sgdisk -v: {verify}");
    let (label, last_lba, parts) = sfdisk_json(target);
    assert_eq!(label, "gpt");
    assert_eq!(
        last_lba,
        size / 512 - 34,
        "the backup GPT is not at the end of the disk"
    );
    let root = &parts[1];
    assert_eq!(
        root.start + root.size - 1,
        last_lba,
        "the last partition does not reach the end"
    );
    assert_eq!(root.start, 2048 + 16 * 2048, "start moved");
    assert_eq!(root.uuid, ROOT_GUID, "PARTUUID changed");
    assert_eq!(root.name.as_deref(), Some("root"), "name changed");
    assert_eq!(
        root.kind, "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
        "type changed"
    );
    let offset = root.start * 512;
    e2fsck_clean(target, offset);
    let fs_size = fs_bytes(target, offset);
    assert!(
        fs_size > root.size * 512 - 4 * MIB && fs_size <= root.size * 512,
        "file system ({fs_size}) does not fill the partition ({})",
        root.size * 512
    );
    check_identity(target, offset, hostname)
}

/// Checks the per-machine resets with debugfs; returns the machine-id.
fn check_identity(target: &Path, offset: u64, hostname: &str) -> String {
    assert_eq!(
        debugfs(target, offset, "cat /etc/hostname").lines().last(),
        Some(hostname)
    );
    let hosts = debugfs(target, offset, "cat /etc/hosts");
    assert!(
        hosts.contains(&format!("127.0.1.1\t{hostname}\n")),
        "{hosts}"
    );
    assert!(!hosts.contains("mint-golden"), "{hosts}");
    let machine_id = debugfs(target, offset, "cat /etc/machine-id");
    assert!(machine_id.ends_with("uninitialized\n"), "{machine_id}");
    assert!(debugfs(target, offset, "stat /etc/machine-id").contains("Mode:  0444"));
    for gone in [
        "/var/lib/dbus/machine-id",
        "/var/lib/systemd/random-seed",
        "/etc/udev/rules.d/70-persistent-net.rules",
        "/etc/NetworkManager/system-connections/Maison.nmconnection",
        "/etc/ssh/ssh_host_ed25519_key",
    ] {
        let out = debugfs(target, offset, &format!("stat {gone}"));
        assert!(out.contains("File not found"), "{gone} still there: {out}");
    }
    let ssh = debugfs(target, offset, "ls /etc/ssh");
    assert!(!ssh.contains("ssh_host_"), "{ssh}");
    assert!(
        ssh.contains("sshd_config") && ssh.contains("ssh_config"),
        "{ssh}"
    );
    let nm = debugfs(target, offset, "ls /etc/NetworkManager");
    assert!(nm.contains("NetworkManager.conf"), "{nm}");
    let nm = debugfs(target, offset, "ls /etc/NetworkManager/system-connections");
    assert!(!nm.contains("nmconnection"), "{nm}");
    assert!(debugfs(target, offset, "ls /etc/udev/rules.d").contains("99-local.rules"));
    let unit = debugfs(
        target,
        offset,
        "cat /etc/systemd/system/atelier-ssh-keygen.service",
    );
    assert!(unit.contains("ExecStart=/usr/bin/ssh-keygen -A"), "{unit}");
    let link = debugfs(
        target,
        offset,
        "stat /etc/systemd/system/multi-user.target.wants/atelier-ssh-keygen.service",
    );
    assert!(link.contains("Type: symlink"), "{link}");
    machine_id.lines().last().unwrap_or("").to_string()
}

#[test]
fn gpt_golden_image_on_a_file_and_a_loop_device() {
    if !device_tier(TOOLS) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let golden = golden_gpt(dir.path());
    let golden_bytes = fs::read(&golden).unwrap();
    let root_offset = (2048 + 16 * 2048) * 512;
    let fs_before = fs_bytes(&golden, root_offset);
    let settings = GoldenSettings {
        hostname: Some(HostnamePattern::new("atelier-{n:03}").unwrap()),
        grow: true,
    };

    // Target 1: an image file.
    let file = deploy_to_file(&golden, dir.path(), "target.img");
    let record = customise_golden_image(&file, &settings, 1).unwrap();
    assert_eq!(record.format, "golden-image");
    assert_eq!(record.hostname.as_deref(), Some("atelier-001"));
    let id1 = check_gpt_target(&file, "atelier-001", TARGET_SIZE);
    assert!(
        fs_bytes(&file, root_offset) > fs_before + 100 * MIB,
        "the file system did not grow"
    );
    for expected in [
        "grown from",
        "machine-id reset",
        "SSH host keys removed (6 files)",
        "NetworkManager connections removed (2)",
        "persistent udev",
        "random-seed",
    ] {
        assert!(
            record.changes.iter().any(|c| c.contains(expected)),
            "{expected}: {:?}",
            record.changes
        );
    }

    // Target 2: a loop device made by the test, written through the block layer.
    let dev = LoopDevice::new(TARGET_SIZE);
    dev.write_direct(0, &golden_bytes);
    let record = customise_golden_image(dev.path(), &settings, 2).unwrap();
    assert_eq!(record.hostname.as_deref(), Some("atelier-002"));
    let id2 = check_gpt_target(dev.path(), "atelier-002", TARGET_SIZE);

    // Two machines from one image share neither identity nor keys: both IDs are left for
    // first boot to generate, no host key was carried over, host names differ.
    assert_eq!(id1, "uninitialized");
    assert_eq!(id2, "uninitialized");
    assert_eq!(
        fs::read(&golden).unwrap(),
        golden_bytes,
        "the golden image itself changed"
    );
    let golden_id = debugfs(&golden, root_offset, "cat /etc/machine-id");
    assert!(golden_id.contains("4f2c8e1d9a7b4c3e8f6a5d4c3b2a1908"));

    // Customising again: nothing left to grow, still clean.
    let again = customise_golden_image(&file, &settings, 1).unwrap();
    assert!(
        again.changes.iter().any(|c| c.contains("already fills")),
        "{:?}",
        again.changes
    );
    check_gpt_target(&file, "atelier-001", TARGET_SIZE);
}

#[test]
fn mbr_golden_image_grows_to_the_last_sector() {
    if !device_tier(TOOLS) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let golden = golden_mbr(dir.path(), false);
    let target = deploy_to_file(&golden, dir.path(), "mbr-target.img");
    let grown = grow_last_partition(&target).unwrap();
    assert_eq!(grown.partition, 1);
    assert_eq!(grown.partition_after, TARGET_SIZE - MIB);
    assert!(grown.filesystem_after > grown.filesystem_before);
    let (label, _, parts) = sfdisk_json(&target);
    assert_eq!(label, "dos");
    assert_eq!(
        (parts[0].start + parts[0].size) * 512,
        TARGET_SIZE,
        "not up to the last sector"
    );
    let json: serde_json::Value =
        serde_json::from_str(&run("sfdisk", &["--json", target.to_str().unwrap()])).unwrap();
    assert_eq!(
        json["partitiontable"]["id"], "0x0badcafe",
        "disk identifier changed"
    );
    let verify = run("sfdisk", &["--verify", target.to_str().unwrap()]);
    assert!(verify.contains("No errors detected"), "{verify}");
    e2fsck_clean(&target, MIB);
    assert_eq!(fs_bytes(&target, MIB), grown.filesystem_after);
    let record = customise_golden_image(&target, &GoldenSettings::default(), 1).unwrap();
    assert_eq!(record.hostname, None);
    assert_eq!(
        debugfs(&target, MIB, "cat /etc/hostname").lines().last(),
        Some("mint-golden")
    );
    assert!(debugfs(&target, MIB, "cat /etc/machine-id").ends_with("uninitialized\n"));
}

#[test]
fn swap_as_last_partition_is_not_grown_but_the_root_is_reset() {
    if !device_tier(TOOLS) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let golden = golden_mbr(dir.path(), true);
    let target = deploy_to_file(&golden, dir.path(), "swap-target.img");
    let before = sfdisk_json(&target).2;
    let e = grow_last_partition(&target).unwrap_err();
    assert!(matches!(e, CustomiseError::Unsupported { .. }), "{e}");
    let settings = GoldenSettings {
        hostname: Some(HostnamePattern::new("poste-{n:02}").unwrap()),
        grow: true,
    };
    let record = customise_golden_image(&target, &settings, 3).unwrap();
    assert!(
        record.changes.iter().any(|c| c.contains("not grown")),
        "{:?}",
        record.changes
    );
    let after = sfdisk_json(&target).2;
    assert_eq!(
        before[1].size, after[1].size,
        "the swap partition was resized"
    );
    check_identity(&target, MIB, "poste-03");
    e2fsck_clean(&target, MIB);
}

#[test]
fn a_disk_without_linux_root_is_refused_and_nothing_stays_mounted() {
    if !device_tier(TOOLS) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("data.img");
    fs::File::create(&img).unwrap().set_len(64 * MIB).unwrap();
    run_with_input(
        "sfdisk",
        &["-q", img.to_str().unwrap()],
        "label: dos\n2048,,83\n",
    );
    let empty = dir.path().join("empty-tree");
    fs::create_dir_all(&empty).unwrap();
    run(
        "mkfs.ext4",
        &[
            "-q",
            "-F",
            "-E",
            "offset=1048576",
            "-d",
            empty.to_str().unwrap(),
            img.to_str().unwrap(),
            "64512k",
        ],
    );
    let loops_before = run(
        "losetup",
        &["--list", "--noheadings", "--output", "BACK-FILE"],
    );
    let e = customise_golden_image(&img, &GoldenSettings::default(), 1).unwrap_err();
    assert!(
        e.to_string()
            .contains("no ext2/3/4 partition holds a Linux root"),
        "{e}"
    );
    let mounts = fs::read_to_string("/proc/self/mounts").unwrap();
    assert!(
        !mounts.contains("atelier-mount-"),
        "a temporary mount was left: {mounts}"
    );
    let loops_after = run(
        "losetup",
        &["--list", "--noheadings", "--output", "BACK-FILE"],
    );
    assert!(
        !loops_after.contains(img.to_str().unwrap()),
        "a loop device was left over the target: {loops_after} (before: {loops_before})"
    );
}

/// Runs against a real golden disk image when `ATELIER_GOLDEN_IMAGE` names one (raw, e.g. a
/// captured Linux Mint disk); a sparse copy one GiB larger is customised.
#[test]
fn real_golden_image_when_given() {
    let Some(source) = std::env::var_os("ATELIER_GOLDEN_IMAGE") else {
        eprintln!("SKIPPED: set ATELIER_GOLDEN_IMAGE=/path/to/disk.img to run this test");
        return;
    };
    if !device_tier(TOOLS) {
        return;
    }
    let dir = tempfile::tempdir_in("/var/tmp").unwrap();
    let target = dir.path().join("real-golden.img");
    run(
        "cp",
        &[
            "--sparse=always",
            &source.to_string_lossy(),
            target.to_str().unwrap(),
        ],
    );
    let size = fs::metadata(&target).unwrap().len() + 1024 * MIB;
    fs::OpenOptions::new()
        .write(true)
        .open(&target)
        .unwrap()
        .set_len(size)
        .unwrap();
    let settings = GoldenSettings {
        hostname: Some(HostnamePattern::new("atelier-{n:03}").unwrap()),
        grow: true,
    };
    let record = customise_golden_image(&target, &settings, 1).unwrap();
    eprintln!("{:#?}", record.changes);
    let (label, _, parts) = sfdisk_json(&target);
    if label == "gpt" {
        let verify = run("sgdisk", &["-v", target.to_str().unwrap()]);
        assert!(verify.contains("No problems found"), "sgdisk -v: {verify}");
    } else {
        let verify = run("sfdisk", &["--verify", target.to_str().unwrap()]);
        assert!(verify.contains("No errors detected"), "{verify}");
    }
    let root = record
        .changes
        .iter()
        .find_map(|c| c.strip_prefix("root file system: partition "))
        .and_then(|n| n.parse::<usize>().ok())
        .expect("the record names the root partition");
    let offset = parts[root - 1].start * 512;
    e2fsck_clean(&target, offset);
    check_identity_minimal(&target, offset, "atelier-001");
}

/// The checks that hold on any real system (the fixture-specific files aside).
fn check_identity_minimal(target: &Path, offset: u64, hostname: &str) {
    assert_eq!(
        debugfs(target, offset, "cat /etc/hostname").lines().last(),
        Some(hostname)
    );
    assert!(debugfs(target, offset, "cat /etc/machine-id").ends_with("uninitialized\n"));
    assert!(!debugfs(target, offset, "ls /etc/ssh").contains("ssh_host_"));
}

#[test]
fn a_mounted_target_is_refused_untouched() {
    if !device_tier(TOOLS) {
        return;
    }
    let dev = LoopDevice::new(64 * MIB);
    run("mkfs.ext4", &["-q", "-F", &dev.path_str()]);
    let before = dev.sha256();
    let mnt = tempfile::tempdir().unwrap();
    // Read-only and without journal replay: the mount itself writes nothing.
    run(
        "mount",
        &[
            "-o",
            "ro,noload",
            &dev.path_str(),
            mnt.path().to_str().unwrap(),
        ],
    );
    let settings = GoldenSettings::default();
    let golden = customise_golden_image(dev.path(), &settings, 1);
    let grow = grow_last_partition(dev.path());
    let rpi = atelier_deploy::customise::customise_raspberry_pi(
        dev.path(),
        &atelier_deploy::customise::RpiSettings::default(),
        &atelier_deploy::customise::RpiJob::default(),
    );
    run("umount", &[mnt.path().to_str().unwrap()]);
    for result in [golden.map(|_| ()), grow.map(|_| ()), rpi.map(|_| ())] {
        let e = result.unwrap_err();
        assert!(e.to_string().contains("is mounted at"), "{e}");
    }
    assert_eq!(dev.sha256(), before, "a mounted target was modified");
}

#[test]
fn links_out_of_the_image_are_never_followed_and_errors_still_unmount() {
    if !device_tier(TOOLS) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // A bench file that an absolute link in the image points to.
    let canary = dir.path().join("bench-hostname");
    fs::write(&canary, "bench\n").unwrap();
    let tree = reference_tree(dir.path());
    fs::remove_file(tree.join("etc/hostname")).unwrap();
    std::os::unix::fs::symlink(&canary, tree.join("etc/hostname")).unwrap();
    let img = dir.path().join("linked.img");
    fs::File::create(&img).unwrap().set_len(64 * MIB).unwrap();
    run_with_input(
        "sfdisk",
        &["-q", img.to_str().unwrap()],
        "label: dos\n2048,,83\n",
    );
    run(
        "mkfs.ext4",
        &[
            "-q",
            "-F",
            "-E",
            "offset=1048576",
            "-d",
            tree.to_str().unwrap(),
            img.to_str().unwrap(),
            "64512k",
        ],
    );
    let settings = GoldenSettings {
        hostname: Some(HostnamePattern::new("atelier-{n:03}").unwrap()),
        grow: false,
    };
    let e = customise_golden_image(&img, &settings, 1).unwrap_err();
    assert!(e.to_string().contains("/etc/hostname"), "{e}");
    assert_eq!(
        fs::read_to_string(&canary).unwrap(),
        "bench\n",
        "a bench file was written"
    );
    let mounts = fs::read_to_string("/proc/self/mounts").unwrap();
    assert!(
        !mounts.contains("atelier-mount-"),
        "a temporary mount was left: {mounts}"
    );
    let loops = run(
        "losetup",
        &["--list", "--noheadings", "--output", "BACK-FILE"],
    );
    assert!(
        !loops.contains(img.to_str().unwrap()),
        "a loop device was left: {loops}"
    );
    e2fsck_clean(&img, MIB);
}
