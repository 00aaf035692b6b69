//! Golden-image customisation on a real Debian system: the image built (once, then cached in
//! `/var/cache/atelier-test`) by `tests/images/build-golden-debian.sh` — Debian 12 from
//! `mmdebstrap` with systemd, OpenSSH, NetworkManager and a kernel, carrying a reference
//! machine's machine-id, SSH host keys (made by openssh-server's own postinst), a saved
//! NetworkManager connection and persistent udev rules. It is written to a larger loop device
//! and customised; the result is read back with `debugfs`, `dumpe2fs` and `e2fsck`, which read
//! ext4 without mounting it and without the code under test.
//!
//! Device tier: root, loop devices, mmdebstrap and the Debian archive for the first build
//! (about 2.5–3 minutes; `CI=true` builds it rather than skipping). The booted proof that two
//! such machines share no identity is the VM scenario `boot-golden` (tests/vm/README.md).

use std::path::{Path, PathBuf};
use std::process::Command;

use atelier_deploy::customise::{GoldenSettings, HostnamePattern, customise_golden_image};
use atelier_testkit::{LoopDevice, device_tier, run};

const MIB: u64 = 1 << 20;
/// The image's root partition starts at sector 2048.
const ROOT_OFFSET: u64 = 2048 * 512;

/// Builds or reuses the cached image; returns its cache directory.
fn golden_debian() -> PathBuf {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/images/build-golden-debian.sh");
    let out = Command::new("bash")
        .arg(&script)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "{} failed: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    PathBuf::from(dir)
}

fn info(dir: &Path, key: &str) -> String {
    std::fs::read_to_string(dir.join("info"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")).map(str::to_string))
        .unwrap_or_else(|| panic!("{key} missing in the image's info file"))
}

/// A debugfs request on the root file system of `target`; stdout, or stderr when empty (where
/// "File not found by ext2_lookup" goes).
fn debugfs(target: &Path, request: &str) -> String {
    let out = Command::new("debugfs")
        .args([
            "-R",
            request,
            &format!("{}?offset={ROOT_OFFSET}", target.display()),
        ])
        .env("LC_ALL", "C")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if stdout.trim().is_empty() {
        String::from_utf8_lossy(&out.stderr).into_owned()
    } else {
        stdout
    }
}

/// Names in a directory, from `debugfs -R "ls -p DIR"` (`/inode/mode/uid/gid/name/size/`).
fn names(target: &Path, dir: &str) -> Vec<String> {
    debugfs(target, &format!("ls -p {dir}"))
        .lines()
        .filter_map(|l| l.split('/').nth(5).map(str::to_string))
        .filter(|n| !n.is_empty() && n != "." && n != "..")
        .collect()
}

fn absent(target: &Path, path: &str) -> bool {
    debugfs(target, &format!("stat {path}")).contains("File not found")
}

#[test]
fn a_real_debian_golden_image_loses_its_identity_and_fills_the_disk() {
    if !device_tier(&[
        "mmdebstrap",
        "sgdisk",
        "mkfs.ext4",
        "e2fsck",
        "resize2fs",
        "debugfs",
        "dumpe2fs",
        "bmaptool",
        "mount",
        "dd",
    ]) {
        return;
    }
    let golden = golden_debian();
    let image = golden.join("golden.img");
    let reference_id = info(&golden, "reference_machine_id");
    let target = LoopDevice::new(1536 * MIB);
    let t = target.path().to_path_buf();
    // The image as a deployment writes it (holes stay zeros on the fresh loop device).
    run(
        "dd",
        &[
            &format!("if={}", image.display()),
            &format!("of={}", target.path().display()),
            "bs=4M",
            "conv=sparse,fsync",
            "status=none",
        ],
    );
    // Before: the reference machine's identity is there.
    assert_eq!(debugfs(&t, "cat /etc/machine-id").trim(), reference_id);
    let keys_before: Vec<String> = names(&t, "/etc/ssh")
        .into_iter()
        .filter(|n| n.starts_with("ssh_host_"))
        .collect();
    assert_eq!(keys_before.len(), 6, "{keys_before:?}");

    let settings = GoldenSettings {
        hostname: Some(HostnamePattern::new("atelier-{n:03}").unwrap()),
        grow: true,
    };
    let done = customise_golden_image(target.path(), &settings, 5).unwrap();
    assert_eq!(done.hostname.as_deref(), Some("atelier-005"));
    assert!(
        done.changes
            .iter()
            .any(|c| c.contains("SSH host keys removed (6 files)")),
        "{:?}",
        done.changes
    );

    assert_eq!(debugfs(&t, "cat /etc/hostname"), "atelier-005\n");
    assert!(
        debugfs(&t, "cat /etc/hosts").contains("127.0.1.1\tatelier-005\n"),
        "{}",
        debugfs(&t, "cat /etc/hosts")
    );
    assert_eq!(debugfs(&t, "cat /etc/machine-id"), "uninitialized\n");
    assert!(absent(&t, "/var/lib/dbus/machine-id"));
    assert!(absent(&t, "/var/lib/systemd/random-seed"));
    let ssh = names(&t, "/etc/ssh");
    assert!(!ssh.iter().any(|n| n.starts_with("ssh_host_")), "{ssh:?}");
    assert!(ssh.iter().any(|n| n == "sshd_config"), "{ssh:?}");
    assert!(names(&t, "/etc/NetworkManager/system-connections").is_empty());
    assert!(absent(&t, "/etc/udev/rules.d/70-persistent-net.rules"));
    // The first-boot key unit, enabled next to the image's own ssh.service, and the tool it
    // calls present in the image (Debian's ssh.service does not recreate missing keys).
    let unit = debugfs(&t, "cat /etc/systemd/system/atelier-ssh-keygen.service");
    assert!(unit.contains("ExecStart=/usr/bin/ssh-keygen -A"), "{unit}");
    let wants = names(&t, "/etc/systemd/system/multi-user.target.wants");
    for u in ["atelier-ssh-keygen.service", "ssh.service"] {
        assert!(wants.iter().any(|n| n == u), "{u} not enabled: {wants:?}");
    }
    assert!(!absent(&t, "/usr/bin/ssh-keygen"));
    // Kept: the system itself (/etc/os-release is a link to /usr/lib/os-release).
    assert!(debugfs(&t, "cat /etc/fstab").contains(&info(&golden, "fs_uuid")));
    assert!(debugfs(&t, "cat /usr/lib/os-release").contains("bookworm"));

    // The file system is clean and fills the disk (less the GPT backup).
    let fsck = Command::new("e2fsck")
        .args(["-f", "-n", &format!("{}?offset={ROOT_OFFSET}", t.display())])
        .output()
        .unwrap();
    assert_eq!(
        fsck.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&fsck.stdout)
    );
    let sb = run(
        "dumpe2fs",
        &["-h", &format!("{}?offset={ROOT_OFFSET}", t.display())],
    );
    let field = |name: &str| -> u64 {
        sb.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split(':').nth(1))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} missing in dumpe2fs"))
    };
    let fs_bytes = field("Block count") * field("Block size");
    let room = target.size() - ROOT_OFFSET - 33 * 512;
    assert!(
        fs_bytes <= room && fs_bytes + MIB > room,
        "file system {fs_bytes} bytes for {room} bytes of partition"
    );
}
