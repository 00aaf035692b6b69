//! Device tier: `atelier image capture` of a reference disk made by the test, then
//! `atelier deploy` of the captured image (through the catalogue entry it writes) to a second
//! loop device full of other bytes: the filesystem is clean and holds the same files.

use std::fs;
use std::path::Path;
use std::process::Command;

use atelier_testkit::{LoopDevice, Rng, device_tier, run};

mod common;

use common::{MIB, atelier, event, json_lines};

#[test]
fn a_captured_golden_image_deploys_to_another_disk_with_the_same_files() {
    if !device_tier(&["sgdisk", "mkfs.ext4", "e2fsck", "debugfs", "dd"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    fs::create_dir_all(tree.join("etc")).unwrap();
    let mut rng = Rng::new(5);
    let big: Vec<u8> = (0..3 << 20).map(|_| rng.byte()).collect();
    fs::write(tree.join("big.bin"), &big).unwrap();
    fs::write(tree.join("etc/hostname"), "reference\n").unwrap();

    // 128 MiB: stale bytes, a GPT, ext4 in partition 1 (free blocks keep the stale bytes).
    let img = dir.path().join("disk.img");
    fs::write(&img, vec![0x6Bu8; (128 * MIB) as usize]).unwrap();
    run("sgdisk", &["-n", "1:2048:0", img.to_str().unwrap()]);
    let end: u64 = run("sgdisk", &["-i", "1", img.to_str().unwrap()])
        .lines()
        .find_map(|l| l.strip_prefix("Last sector: "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    run(
        "mkfs.ext4",
        &[
            "-q",
            "-F",
            "-E",
            "offset=1048576,nodiscard",
            "-d",
            tree.to_str().unwrap(),
            img.to_str().unwrap(),
            &format!("{}k", (end + 1 - 2048) / 2),
        ],
    );
    let source = LoopDevice::new(128 * MIB);
    run(
        "dd",
        &[
            &format!("if={}", img.display()),
            &format!("of={}", source.path().display()),
            "bs=4M",
            "oflag=direct",
            "conv=fsync",
            "status=none",
        ],
    );

    let out = dir.path().join("golden");
    let captured = atelier(data.path())
        .args(["image", "capture", "--json", "--name", "ref", "--out"])
        .arg(&out)
        .arg(source.path())
        .output()
        .unwrap();
    let events = json_lines(&captured);
    assert!(
        captured.status.success(),
        "{}",
        String::from_utf8_lossy(&captured.stderr)
    );
    let c = event(&events, "captured")[0];
    let mapped = c["mapped_bytes"].as_u64().unwrap();
    assert!(mapped < 20 * MIB, "{c}");
    assert_eq!(c["partitions"][0]["how"], "ext4 used blocks");

    let target = LoopDevice::new(128 * MIB);
    target.fill(1 << 20, |_| vec![0xA5; 1 << 20]);
    let deployed = atelier(data.path())
        .args([
            "deploy",
            "--json",
            "--yes-i-understand-this-destroys-data",
            "--customise",
            "none",
            "--catalogue",
        ])
        .arg(out.join("ref.images.toml"))
        .arg("ref")
        .arg("--to")
        .arg(target.path())
        .output()
        .unwrap();
    let events = json_lines(&deployed);
    assert!(
        deployed.status.success(),
        "{}\n{events:?}",
        String::from_utf8_lossy(&deployed.stderr)
    );
    let d = &event(&events, "result")[0]["deployment"];
    assert_eq!(d["outcome"], "PASSED", "{d}");
    assert_eq!(d["image"]["hash_matches"], true);
    assert!(d["bytes_written"].as_u64().unwrap() <= mapped, "{d}");

    let spec = format!("{}?offset=1048576", target.path().display());
    let fsck = Command::new("e2fsck")
        .args(["-fn", &spec])
        .output()
        .unwrap();
    assert!(
        fsck.status.success(),
        "{}",
        String::from_utf8_lossy(&fsck.stdout)
    );
    for f in ["big.bin", "etc/hostname"] {
        let dumped = dir.path().join("dumped");
        let _ = fs::remove_file(&dumped);
        run(
            "debugfs",
            &["-R", &format!("dump /{f} {}", dumped.display()), &spec],
        );
        assert_eq!(
            fs::read(&dumped).unwrap(),
            fs::read(Path::new(&tree).join(f)).unwrap(),
            "{f}"
        );
    }
}
