//! Device tier: `atelier deploy` on loop devices and image files made by each test (root
//! needed; with CI=true a missing privilege or tool fails instead of skipping).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use atelier_testkit::{LoopDevice, Rng, device_tier, run};
use serde_json::Value;
use sha2::{Digest, Sha256};

mod common;

use common::{MIB, atelier, event, export, json_lines};

/// A 48 MiB disk image: a GPT with two partitions, random data (a previous OS's files) in
/// the first 20 MiB, zeros after, and a random block near the end.
fn make_image(dir: &Path) -> PathBuf {
    let img = dir.join("os.img");
    let mut data = vec![0u8; (48 * MIB) as usize];
    let mut rng = Rng::new(7);
    for b in &mut data[(MIB as usize)..(20 * MIB as usize)] {
        *b = rng.byte();
    }
    for b in &mut data[(44 * MIB as usize)..(45 * MIB as usize)] {
        *b = rng.byte();
    }
    fs::write(&img, &data).unwrap();
    run(
        "sgdisk",
        &[
            "-n",
            "1:2048:+16M",
            "-t",
            "1:0700",
            "-n",
            "2:0:0",
            "-t",
            "2:8300",
            img.to_str().unwrap(),
        ],
    );
    img
}

fn sha256_file_prefix(path: &Path, len: u64) -> String {
    let data = fs::read(path).unwrap();
    hex(&Sha256::digest(&data[..len as usize]))
}

fn sha256_prefix(dev: &LoopDevice, len: u64) -> String {
    let data = dev.read_all();
    hex(&Sha256::digest(&data[..len as usize]))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// True when the device holds a partition table `sfdisk` recognises.
fn has_partition_table(dev: &LoopDevice) -> bool {
    Command::new("sfdisk")
        .arg("-d")
        .arg(dev.path())
        .output()
        .map(|o| o.status.success() && !o.stdout.is_empty())
        .unwrap_or(false)
}

fn deploy(
    data: &Path,
    image: &Path,
    targets: &[&LoopDevice],
    extra: &[&str],
) -> (i32, Vec<Value>, String) {
    let mut cmd = atelier(data);
    cmd.args(["deploy", "--json", "--yes-i-understand-this-destroys-data"])
        .args(extra)
        .arg(image);
    for t in targets {
        cmd.arg("--to").arg(t.path());
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        json_lines(&out),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_xz_image_goes_to_two_targets_at_once_and_both_verify() {
    if !device_tier(&["sgdisk", "sfdisk", "xz"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let img = make_image(dir.path());
    let size = fs::metadata(&img).unwrap().len();
    let want = sha256_file_prefix(&img, size);
    // Several xz blocks, so the multi-threaded decoder is used.
    run(
        "xz",
        &["-k", "-T2", "--block-size=4MiB", img.to_str().unwrap()],
    );
    let xz = dir.path().join("os.img.xz");
    let file_sha = hex(&Sha256::digest(fs::read(&xz).unwrap()));

    let a = LoopDevice::new(64 * MIB);
    let b = LoopDevice::new(80 * MIB);
    a.fill(1 << 20, |_| vec![0xA5; 1 << 20]);
    b.fill(1 << 20, |_| vec![0x5A; 1 << 20]);
    let (code, events, err) = deploy(data.path(), &xz, &[&a, &b], &["--sha256", &file_sha]);
    assert_eq!(code, 0, "{err}\n{events:?}");
    assert_eq!(sha256_prefix(&a, size), want);
    assert_eq!(sha256_prefix(&b, size), want);
    assert!(has_partition_table(&a) && has_partition_table(&b));

    let results = event(&events, "result");
    assert_eq!(results.len(), 2);
    for r in results {
        assert_eq!(r["outcome"], "PASSED", "{r}");
        let d = &r["deployment"];
        assert_eq!(d["image"]["image_sha256"], want.as_str());
        assert_eq!(d["image"]["file_sha256"], file_sha.as_str());
        assert_eq!(d["image"]["hash_matches"], true);
        assert_eq!(d["image"]["format"], "xz");
        assert_eq!(d["verification"]["passed"], true);
        assert!(
            d["bytes_skipped"].as_u64().unwrap() > 0,
            "zeros are not sent: {d}"
        );
        let record = export(data.path(), r["record"].as_str().unwrap());
        assert_eq!(record["deployment"]["outcome"], "PASSED");
    }
}

#[test]
fn a_wrong_hash_fails_before_the_partition_table_is_written() {
    if !device_tier(&["sgdisk", "sfdisk", "zstd"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let img = make_image(dir.path());
    run("zstd", &["-q", "-k", img.to_str().unwrap()]);
    let zst = dir.path().join("os.img.zst");
    let target = LoopDevice::new(64 * MIB);
    // The target had a partition table before (a previous deployment).
    target.write_direct(0, &fs::read(&img).unwrap()[..(MIB as usize)]);
    assert!(has_partition_table(&target));

    let wrong = "0".repeat(64);
    let (code, events, err) = deploy(data.path(), &zst, &[&target], &["--sha256", &wrong]);
    assert_eq!(code, 1, "{err}\n{events:?}");
    let r = &event(&events, "result")[0];
    assert_eq!(r["outcome"], "FAILED");
    assert_eq!(r["deployment"]["image"]["hash_matches"], false);
    assert!(
        r["deployment"]["outcome_detail"]
            .as_str()
            .unwrap()
            .contains("SHA-256"),
        "{r}"
    );
    assert!(
        !has_partition_table(&target),
        "a failed deployment must leave no partition table"
    );
}

#[test]
fn a_truncated_image_fails_clearly_and_leaves_no_partition_table() {
    if !device_tier(&["sgdisk", "sfdisk", "xz"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let img = make_image(dir.path());
    run(
        "xz",
        &["-k", "-T2", "--block-size=4MiB", img.to_str().unwrap()],
    );
    let xz = dir.path().join("os.img.xz");
    let bytes = fs::read(&xz).unwrap();
    let cut = dir.path().join("cut.img.xz");
    fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let target = LoopDevice::new(64 * MIB);
    let (code, events, err) = deploy(data.path(), &cut, &[&target], &[]);
    assert_ne!(code, 0, "{err}");
    let text = format!("{err}{events:?}").to_lowercase();
    assert!(
        text.contains("truncated") || text.contains("ends"),
        "{text}"
    );
    assert!(!has_partition_table(&target));
}

#[test]
fn a_target_smaller_than_the_image_is_refused_before_any_write() {
    if !device_tier(&["sgdisk"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let img = make_image(dir.path());
    let small = LoopDevice::new(32 * MIB);
    small.fill(1 << 20, |_| vec![0xC3; 1 << 20]);
    let before = small.sha256();
    let (code, _, err) = deploy(data.path(), &img, &[&small], &[]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("too small"), "{err}");
    assert_eq!(small.sha256(), before, "nothing may be written");
}

#[test]
fn a_mounted_target_is_refused() {
    if !device_tier(&["sgdisk", "mkfs.ext4", "mount"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let img = make_image(dir.path());
    let target = LoopDevice::new(64 * MIB);
    run("mkfs.ext4", &["-q", target.path_str().as_str()]);
    let mnt = tempfile::tempdir().unwrap();
    run(
        "mount",
        &[target.path_str().as_str(), mnt.path().to_str().unwrap()],
    );
    let (code, _, err) = deploy(data.path(), &img, &[&target], &[]);
    let _ = Command::new("umount").arg(mnt.path()).status();
    assert_eq!(code, 3, "{err}");
}

/// Wipe with zeros, then deploy: one record holds both, the zero runs of the image are
/// skipped (the target is known to be zeros), the target still verifies, and the record can
/// be certified.
#[test]
fn a_deployment_after_a_zero_wipe_joins_its_record_and_skips_the_zeros() {
    if !device_tier(&["sgdisk", "sfdisk"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let img = make_image(dir.path());
    let size = fs::metadata(&img).unwrap().len();
    let target = LoopDevice::new(64 * MIB);
    target.fill(1 << 20, |_| vec![0x77; 1 << 20]);
    let out = atelier(data.path())
        .args([
            "wipe",
            "--pattern",
            "zero",
            "--yes-i-understand-this-destroys-data",
        ])
        .arg(target.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (code, events, err) = deploy(data.path(), &img, &[&target], &[]);
    assert_eq!(code, 0, "{err}");
    let r = &event(&events, "result")[0];
    assert_eq!(r["deployment"]["skipped_as"], "already_zero", "{r}");
    assert_eq!(sha256_prefix(&target, size), sha256_file_prefix(&img, size));

    let list = common::records(data.path());
    assert_eq!(list["records"].as_array().unwrap().len(), 1, "{list}");
    let record = export(data.path(), list["records"][0]["id"].as_str().unwrap());
    assert_eq!(record["sanitization"][0]["outcome"], "PASSED");
    assert_eq!(record["deployment"]["outcome"], "PASSED");

    let out = atelier(data.path())
        .args(["certify", "last"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A golden image (MBR, ext4 root with a machine-id and SSH host keys) to two larger
/// targets with a numbered host name: each grows to its disk, gets its own host name, and
/// loses the image's machine identity; the record says what was customised.
#[test]
fn a_golden_image_is_grown_and_gets_a_new_identity_per_target() {
    if !device_tier(&["sfdisk", "mkfs.ext4", "e2fsck", "resize2fs", "debugfs"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    fs::create_dir_all(tree.join("etc/ssh")).unwrap();
    fs::write(tree.join("etc/hostname"), "golden\n").unwrap();
    fs::write(tree.join("etc/os-release"), "ID=debian\n").unwrap();
    fs::write(
        tree.join("etc/machine-id"),
        "0123456789abcdef0123456789abcdef\n",
    )
    .unwrap();
    fs::write(tree.join("etc/ssh/ssh_host_ed25519_key"), "SECRET\n").unwrap();
    let img = dir.path().join("golden.img");
    fs::File::create(&img).unwrap().set_len(48 * MIB).unwrap();
    let s = img.to_str().unwrap();
    let mut sfdisk = Command::new("sfdisk")
        .args(["-q", s])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    sfdisk
        .stdin
        .take()
        .unwrap()
        .write_all(b"label: dos\n2048,,83\n")
        .unwrap();
    assert!(sfdisk.wait().unwrap().success());
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
            &format!("{}k", (47 * MIB) / 1024),
        ],
    );

    let a = LoopDevice::new(96 * MIB);
    let b = LoopDevice::new(128 * MIB);
    let (code, events, err) = deploy(
        data.path(),
        &img,
        &[&a, &b],
        &["--hostname", "atelier-{n:02}", "--first-number", "7"],
    );
    assert_eq!(code, 0, "{err}\n{events:?}");
    let results = event(&events, "result");
    let hostnames: Vec<&str> = results
        .iter()
        .map(|r| {
            r["deployment"]["customisation"]["hostname"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(hostnames, ["atelier-07", "atelier-08"]);
    for (r, dev) in results.iter().zip([&a, &b]) {
        assert_eq!(r["outcome"], "PASSED", "{r}");
        // The last partition ends at the end of the disk now.
        let table = run("sfdisk", &["-J", dev.path_str().as_str()]);
        let json: Value = serde_json::from_str(&table).unwrap();
        let p = &json["partitiontable"]["partitions"][0];
        let end = p["start"].as_u64().unwrap() + p["size"].as_u64().unwrap();
        assert_eq!(end * 512, dev.size(), "{table}");
    }
    // A typo in an option: refused before anything is written.
    let c = LoopDevice::new(64 * MIB);
    c.fill(1 << 20, |_| vec![0x42; 1 << 20]);
    let before = c.sha256();
    let (code, _, err) = deploy(data.path(), &img, &[&c], &["--customise", "goldn"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("goldn"), "{err}");
    assert_eq!(c.sha256(), before);
}

// Issue 7: with a .bmap, the image is verified by the bmap's range hashes (as bmaptool
// does), not by a hash of the whole image, unless the catalogue asks for one.

/// The byte ranges of `make_image` that hold data: the primary GPT and the random data
/// (0..20 MiB), the random block (44..45 MiB) and the backup GPT (the last MiB).
fn mapped_ranges() -> Vec<(u64, u64)> {
    vec![(0, 20 * MIB), (44 * MIB, 45 * MIB), (47 * MIB, 48 * MIB)]
}

/// A bmap 2.0 of `image` (4 KiB blocks) listing `ranges`, each with its SHA-256, sealed with
/// its `BmapFileChecksum` (SHA-256 of the file with the checksum's digits read as zeros).
fn write_bmap(image: &Path, ranges: &[(u64, u64)]) -> PathBuf {
    let data = fs::read(image).unwrap();
    let size = data.len() as u64;
    let mut lines = String::new();
    let mut mapped = 0;
    for &(start, end) in ranges {
        let sum = hex(&Sha256::digest(&data[start as usize..end as usize]));
        let (first, last) = (start / 4096, end.div_ceil(4096) - 1);
        mapped += last - first + 1;
        lines.push_str(&format!(
            "        <Range chksum=\"{sum}\"> {first}-{last} </Range>\n"
        ));
    }
    let zeros = "0".repeat(64);
    let text = format!(
        "<?xml version=\"1.0\" ?>\n<bmap version=\"2.0\">\n    <ImageSize> {size} </ImageSize>\n    \
         <BlockSize> 4096 </BlockSize>\n    <BlocksCount> {} </BlocksCount>\n    \
         <MappedBlocksCount> {mapped} </MappedBlocksCount>\n    <ChecksumType> sha256 </ChecksumType>\n    \
         <BmapFileChecksum> {zeros} </BmapFileChecksum>\n    <BlockMap>\n{lines}    </BlockMap>\n</bmap>\n",
        size.div_ceil(4096)
    );
    let seal = hex(&Sha256::digest(text.as_bytes()));
    let path = image.with_extension("img.bmap");
    fs::write(&path, text.replacen(&zeros, &seal, 1)).unwrap();
    path
}

/// True when every mapped range of the target holds the image's bytes.
fn holds_mapped_ranges(dev: &LoopDevice, image: &Path) -> bool {
    let want = fs::read(image).unwrap();
    let got = dev.read_all();
    mapped_ranges()
        .iter()
        .all(|&(s, e)| got[s as usize..e as usize] == want[s as usize..e as usize])
}

/// `make_image` and its sealed `.bmap` (of `mapped_ranges`) in a temporary directory, and
/// an empty data directory.
struct BmapCase {
    dir: tempfile::TempDir,
    data: tempfile::TempDir,
    img: PathBuf,
    bmap: PathBuf,
}

impl BmapCase {
    /// The case, or `None` when this machine may not run device-tier tests with `tools`.
    fn new(tools: &[&str]) -> Option<Self> {
        if !device_tier(tools) {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let data = tempfile::tempdir().unwrap();
        let img = make_image(dir.path());
        let bmap = write_bmap(&img, &mapped_ranges());
        Some(Self {
            dir,
            data,
            img,
            bmap,
        })
    }

    /// `atelier deploy --json --bmap` of the image to `targets`.
    fn deploy(&self, targets: &[&LoopDevice]) -> (i32, Vec<Value>, String) {
        deploy(
            self.data.path(),
            &self.img,
            targets,
            &["--bmap", self.bmap.to_str().unwrap()],
        )
    }
}

#[test]
fn with_a_bmap_the_record_says_verified_by_bmap_range_hashes() {
    let Some(case) = BmapCase::new(&["sgdisk", "sfdisk"]) else {
        return;
    };
    let BmapCase {
        data, img, bmap, ..
    } = &case;
    let target = LoopDevice::new(64 * MIB);
    target.fill(1 << 20, |_| vec![0x5A; 1 << 20]);
    let (code, events, err) = case.deploy(&[&target]);
    assert_eq!(code, 0, "{err}\n{events:?}");
    assert!(holds_mapped_ranges(&target, img));
    assert!(has_partition_table(&target));
    let r = &event(&events, "result")[0];
    let image = &r["deployment"]["image"];
    assert_eq!(
        image["verified_by"], "bmap_range_sha256+bmap_file_checksum",
        "{r}"
    );
    // Nothing asked for the whole image's hash: it was not computed.
    assert!(image.get("image_sha256").is_none(), "{image}");
    assert_eq!(r["deployment"]["verification"]["mode"], "mapped");
    assert_eq!(r["deployment"]["verification"]["passed"], true);
    assert_eq!(
        r["deployment"]["verification"]["bytes_checked"],
        22 * MIB,
        "every mapped byte read back"
    );
    let record = export(data.path(), r["record"].as_str().unwrap());
    assert_eq!(
        record["deployment"]["image"]["verified_by"],
        "bmap_range_sha256+bmap_file_checksum"
    );

    // In French, the operator is told the same.
    let target2 = LoopDevice::new(64 * MIB);
    let out = Command::new(env!("CARGO_BIN_EXE_atelier"))
        .args(["--lang", "fr", "--data-dir"])
        .arg(data.path())
        .args(["deploy", "--yes-i-understand-this-destroys-data"])
        .arg("--bmap")
        .arg(bmap)
        .arg(img)
        .arg("--to")
        .arg(target2.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("Image vérifiée par : l'empreinte SHA-256 de chaque plage du .bmap"),
        "{text}"
    );
}

#[test]
fn a_bmap_range_flipped_in_the_source_fails_before_the_target_is_declared_good() {
    let Some(case) = BmapCase::new(&["sgdisk", "sfdisk"]) else {
        return;
    };
    let img = &case.img;
    // One byte of the image changed after its bmap was made, inside the first mapped range
    // but past the held-back first chunk.
    let mut bytes = fs::read(img).unwrap();
    bytes[(10 * MIB + 12_345) as usize] ^= 0x01;
    fs::write(img, &bytes).unwrap();
    let target = LoopDevice::new(64 * MIB);
    target.write_direct(0, &bytes[..(MIB as usize)]);
    assert!(has_partition_table(&target));

    let (code, events, err) = case.deploy(&[&target]);
    assert_eq!(code, 1, "{err}\n{events:?}");
    let r = &event(&events, "result")[0];
    assert_eq!(r["outcome"], "FAILED", "{r}");
    let detail = r["deployment"]["outcome_detail"].as_str().unwrap();
    assert!(detail.contains("do not match the block map"), "{detail}");
    assert!(
        detail.contains(&format!("bytes 0..{}", 20 * MIB)),
        "{detail}"
    );
    assert!(
        !has_partition_table(&target),
        "a source that fails its range hash leaves no partition table"
    );
}

#[test]
fn a_tampered_bmap_is_refused_before_anything_is_written() {
    let Some(case) = BmapCase::new(&["sgdisk"]) else {
        return;
    };
    let bmap = &case.bmap;
    // A range widened by hand (44 MiB → 43 MiB): the file no longer matches its checksum.
    let text = fs::read_to_string(bmap).unwrap();
    let first = 44 * MIB / 4096;
    let tampered = text.replacen(&format!("> {first}-"), &format!("> {}-", first - 256), 1);
    assert_ne!(tampered, text);
    fs::write(bmap, tampered).unwrap();
    let target = LoopDevice::new(64 * MIB);
    target.fill(1 << 20, |_| vec![0xC3; 1 << 20]);
    let before = target.sha256();
    let (code, _, err) = case.deploy(&[&target]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("checksum does not match"), "{err}");
    assert_eq!(target.sha256(), before, "nothing may be written");
}

#[test]
fn a_catalogue_bmap_hash_is_checked_and_an_expected_hash_is_computed() {
    let Some(case) = BmapCase::new(&["sgdisk", "sfdisk"]) else {
        return;
    };
    let BmapCase {
        dir,
        data,
        img,
        bmap,
    } = &case;
    let file_sha = hex(&Sha256::digest(fs::read(img).unwrap()));
    let bmap_sha = hex(&Sha256::digest(fs::read(bmap).unwrap()));
    let catalogue = dir.path().join("images.toml");
    let entry = |bmap_hash: &str| {
        format!(
            "[[image]]\nname = \"os\"\nfile = \"os.img\"\nsha256 = \"{file_sha}\"\n\
             bmap = \"os.img.bmap\"\nbmap_sha256 = \"{bmap_hash}\"\ncustomisation = \"none\"\n"
        )
    };
    let target = LoopDevice::new(64 * MIB);
    let cat = ["--catalogue", catalogue.to_str().unwrap()];

    // A wrong bmap hash: refused before anything is written.
    fs::write(&catalogue, entry(&"0".repeat(64))).unwrap();
    target.fill(1 << 20, |_| vec![0xC3; 1 << 20]);
    let before = target.sha256();
    let (code, _, err) = deploy(data.path(), Path::new("os"), &[&target], &cat);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("the catalogue expects"), "{err}");
    assert_eq!(target.sha256(), before);

    // The right one: the catalogue's file hash of a raw image is the whole image's, so it
    // is computed (and compared) as well as the range hashes.
    fs::write(&catalogue, entry(&bmap_sha)).unwrap();
    let (code, events, err) = deploy(data.path(), Path::new("os"), &[&target], &cat);
    assert_eq!(code, 0, "{err}\n{events:?}");
    let image = &event(&events, "result")[0]["deployment"]["image"];
    assert_eq!(
        image["verified_by"],
        "bmap_range_sha256+bmap_file_checksum+catalogue_bmap_sha256+file_sha256"
    );
    assert_eq!(image["image_sha256"], file_sha.as_str());
    assert_eq!(image["file_sha256"], file_sha.as_str());
    assert_eq!(image["hash_matches"], true);
    assert!(holds_mapped_ranges(&target, img));
}
