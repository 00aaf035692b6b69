//! Device tier: golden-image capture from a reference disk made by the test (GPT, a raw
//! partition, two ext4 filesystems with 4 KiB and 1 KiB blocks holding files, their free
//! blocks full of stale bytes), checked by writing the capture with `bmaptool copy` onto a
//! second loop device full of other bytes and reading it back with e2fsck and debugfs.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use atelier_deploy::bmap::{Bmap, ChecksumType, FileChecksum};
use atelier_deploy::capture::{CaptureError, CaptureOptions, capture};
use atelier_deploy::catalogue::Catalogue;
use atelier_deploy::image::to_hex;
use atelier_testkit::{LoopDevice, Rng, device_tier, run};
use sha2::{Digest, Sha256};

const MIB: u64 = 1 << 20;

/// The reference disk's partitions: (start sector, size in MiB, mkfs.ext4 block size).
const PARTS: [(u64, u64, Option<u32>); 3] = [
    (2048, 16, None),
    (2048 + 16 * 2048, 120, Some(4096)),
    (2048 + 136 * 2048, 110, Some(1024)),
];

/// The files put in each filesystem.
fn make_tree(dir: &Path) {
    let mut rng = Rng::new(3);
    let mut random = |n: usize| (0..n).map(|_| rng.byte()).collect::<Vec<u8>>();
    fs::create_dir_all(dir.join("etc/sub")).unwrap();
    fs::write(dir.join("big.bin"), random(5 << 20)).unwrap();
    fs::write(dir.join("etc/hostname"), "reference\n").unwrap();
    fs::write(dir.join("etc/sub/data.bin"), random(700_000)).unwrap();
    fs::write(dir.join("empty"), b"").unwrap();
}

/// A 256 MiB disk image: stale bytes everywhere, then a GPT, random bytes in partition 1
/// and ext4 filesystems in partitions 2 (4 KiB blocks) and 3 (1 KiB blocks), made without
/// discarding so that their free blocks keep the stale bytes.
fn make_disk(dir: &Path) -> (PathBuf, PathBuf) {
    let tree = dir.join("tree");
    make_tree(&tree);
    let img = dir.join("disk.img");
    let stale: Vec<u8> = (0..256 * MIB).map(|i| (i % 251) as u8 | 1).collect();
    fs::write(&img, &stale).unwrap();
    let mut args = vec![];
    for (i, (start, mib, _)) in PARTS.iter().enumerate() {
        args.push("-n".to_string());
        args.push(format!("{}:{start}:+{mib}M", i + 1));
    }
    args.push(img.to_str().unwrap().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run("sgdisk", &args);
    let mut rng = Rng::new(9);
    let raw: Vec<u8> = (0..16 * MIB).map(|_| rng.byte()).collect();
    let f = fs::File::options().write(true).open(&img).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, &raw, PARTS[0].0 * 512).unwrap();
    drop(f);
    for (start, mib, block) in &PARTS[1..] {
        run(
            "mkfs.ext4",
            &[
                "-q",
                "-F",
                "-b",
                &block.unwrap().to_string(),
                "-E",
                &format!("offset={},nodiscard", start * 512),
                "-d",
                tree.to_str().unwrap(),
                img.to_str().unwrap(),
                &format!("{mib}M"),
            ],
        );
    }
    (img, tree)
}

/// A loop device holding `img`.
fn load(img: &Path) -> LoopDevice {
    let dev = LoopDevice::new(fs::metadata(img).unwrap().len());
    run(
        "dd",
        &[
            &format!("if={}", img.display()),
            &format!("of={}", dev.path().display()),
            "bs=4M",
            "oflag=direct",
            "conv=fsync",
            "status=none",
        ],
    );
    dev
}

fn sha256_file(path: &Path) -> [u8; 32] {
    Sha256::digest(fs::read(path).unwrap()).into()
}

#[test]
fn a_capture_keeps_used_blocks_only_and_bmaptool_writes_a_working_disk_from_it() {
    if !device_tier(&[
        "sgdisk",
        "mkfs.ext4",
        "e2fsck",
        "debugfs",
        "bmaptool",
        "zstd",
    ]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (img, tree) = make_disk(dir.path());
    let source = load(&img);
    let out = dir.path().join("out");
    let before = source.sha256();
    let c = capture(
        source.path(),
        &out,
        &CaptureOptions {
            name: "reference".into(),
            level: 3,
            description: None,
        },
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(source.sha256(), before, "the source is only read");
    assert_eq!(c.disk_size, 256 * MIB);
    assert_eq!(c.partitions.len(), 3);
    assert_eq!(c.partitions[0].how, "whole");
    assert_eq!(c.partitions[0].kept, 16 * MIB);
    for p in &c.partitions[1..] {
        assert_eq!(p.how, "ext4 used blocks", "{p:?}");
        // 5.7 MB of files plus metadata and journal, in a 110–120 MiB partition.
        assert!(p.kept > 6 * MIB && p.kept < 24 * MIB, "{p:?}");
    }
    assert!(c.mapped_bytes < 70 * MIB, "{c:?}");
    // Stale bytes of free blocks are not kept: the compressed image holds about the random
    // partition and the files.
    assert!(c.compressed_bytes < 40 * MIB, "{c:?}");

    // The outputs agree with one another.
    assert_eq!(sha256_file(&c.image), c.file_sha256);
    let unpacked = Command::new("zstd")
        .arg("-dc")
        .arg(&c.image)
        .output()
        .unwrap();
    assert!(unpacked.status.success());
    assert_eq!(unpacked.stdout.len() as u64, c.disk_size);
    assert_eq!(
        <[u8; 32]>::from(Sha256::digest(&unpacked.stdout)),
        c.image_sha256
    );
    drop(unpacked);
    let bmap = Bmap::load(&c.bmap).unwrap();
    assert_eq!(bmap.version(), (2, 0));
    assert_eq!(bmap.checksum_type(), ChecksumType::Sha256);
    assert_eq!(bmap.file_checksum(), FileChecksum::Verified);
    assert_eq!(bmap.image_size(), c.disk_size);
    assert_eq!(bmap.mapped_bytes(), c.mapped_bytes);
    assert_eq!(
        fs::read_to_string(&c.sha256_file).unwrap(),
        format!("{}  reference.img.zst\n", to_hex(&c.file_sha256))
    );
    let catalogue = Catalogue::load(&c.snippet).unwrap();
    let entry = catalogue.find("reference").unwrap();
    assert_eq!(entry.file.as_deref(), Some(c.image.as_path()));
    assert_eq!(entry.bmap.as_deref(), Some(c.bmap.as_path()));
    assert_eq!(entry.sha256, Some(c.file_sha256));
    assert_eq!(entry.image_sha256, Some(c.image_sha256));

    // bmaptool accepts the map (it checks every range's SHA-256 as it writes) and writes a
    // disk whose filesystems are clean and hold the same files, over other bytes.
    let target = LoopDevice::new(256 * MIB);
    target.fill(1 << 20, |_| vec![0xA5; 1 << 20]);
    let status = Command::new("bmaptool")
        .args(["copy", "--bmap"])
        .arg(&c.bmap)
        .arg(&c.image)
        .arg(target.path())
        .status()
        .unwrap();
    assert!(status.success());
    let written = target.read_all();
    let original = fs::read(&img).unwrap();
    let p1 = (PARTS[0].0 * 512) as usize..((PARTS[0].0 + 16 * 2048) * 512) as usize;
    assert_eq!(written[p1.clone()], original[p1]);
    assert_eq!(written[..MIB as usize], original[..MIB as usize], "GPT");
    assert_eq!(
        written[(255 * MIB) as usize..],
        original[(255 * MIB) as usize..],
        "backup GPT"
    );
    drop(written);
    let files = ["big.bin", "etc/hostname", "etc/sub/data.bin", "empty"];
    for (start, _, _) in &PARTS[1..] {
        let spec = format!("{}?offset={}", target.path().display(), start * 512);
        let fsck = Command::new("e2fsck")
            .args(["-fn", &spec])
            .output()
            .unwrap();
        assert!(
            fsck.status.success(),
            "{}",
            String::from_utf8_lossy(&fsck.stdout)
        );
        for f in files {
            let dumped = dir.path().join("dumped");
            let _ = fs::remove_file(&dumped);
            run(
                "debugfs",
                &["-R", &format!("dump /{f} {}", dumped.display()), &spec],
            );
            assert_eq!(
                fs::read(&dumped).unwrap(),
                fs::read(tree.join(f)).unwrap(),
                "{f}"
            );
        }
    }

    // Outputs are never overwritten.
    let err = capture(
        source.path(),
        &out,
        &CaptureOptions {
            name: "reference".into(),
            level: 3,
            description: None,
        },
        &mut |_, _| {},
    )
    .unwrap_err();
    assert!(matches!(err, CaptureError::Exists(_)), "{err}");
}

#[test]
fn a_source_mounted_read_write_is_refused_read_only_is_read() {
    if !device_tier(&["mkfs.ext4", "mount"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let source = LoopDevice::new(32 * MIB);
    run("mkfs.ext4", &["-q", source.path_str().as_str()]);
    let mnt = tempfile::tempdir().unwrap();
    run(
        "mount",
        &[source.path_str().as_str(), mnt.path().to_str().unwrap()],
    );
    let opts = CaptureOptions {
        name: "x".into(),
        level: 1,
        description: None,
    };
    let rw = capture(source.path(), dir.path(), &opts, &mut |_, _| {});
    let _ = Command::new("mount")
        .args(["-o", "remount,ro"])
        .arg(mnt.path())
        .status();
    let ro = capture(source.path(), dir.path(), &opts, &mut |_, _| {});
    let _ = Command::new("umount").arg(mnt.path()).status();
    match rw.unwrap_err() {
        CaptureError::MountedRw { mount_point, .. } => {
            assert_eq!(Path::new(&mount_point), mnt.path())
        }
        other => panic!("{other}"),
    }
    // Read-only is accepted; this one has no partition table, which is said plainly.
    let err = ro.unwrap_err();
    assert!(matches!(err, CaptureError::NoTable { .. }), "{err}");
    assert!(
        fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing left behind"
    );
}
