//! Raspberry Pi OS customisation on real images built here with real tools: an MBR image
//! (`sfdisk`) with a FAT32 boot partition (`mkfs.fat`, files put in with `mcopy`) and an ext4
//! root partition (`mkfs.ext4 -d`). The files written are read back with mtools (an
//! independent FAT reader) and compared with the hand-written golden files in
//! `tests/golden/rpi-*`; `fsck.fat -n` must find the boot partition clean afterwards.
//!
//! Image-file tests need the tools but not root; the loop-device test is device tier.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use atelier_deploy::customise::{
    CustomiseError, HostnamePattern, PasswordScheme, RpiFormat, RpiJob, RpiSettings, SshSettings,
    UserAccount, WifiNetwork, customise_raspberry_pi, detect_rpi_format, read_partition_table,
    secrets::hash_password_with_salt,
};
use atelier_testkit::{LoopDevice, device_tier, in_ci, tool_available};

const MIB: u64 = 1 << 20;
const BOOT_START: u64 = 2048 * 512;
const BOOT_SIZE: u64 = 64 * MIB;
const ROOT_START: u64 = BOOT_START + BOOT_SIZE;
const IMAGE_SIZE: u64 = ROOT_START + 40 * MIB;

const PASSWORD: &str = "Atelier-2025!";
const PASSPHRASE: &str = "correct horse battery";
const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGF0ZWxpZXItdGVzdC1rZXktbm90LWEtcmVhbC1rZXkx tech@atelier";
const BOOKWORM_CMDLINE: &str = "console=serial0,115200 console=tty1 root=PARTUUID=1234abcd-02 \
    rootfstype=ext4 fsck.repair=yes rootwait quiet init=/usr/lib/raspberrypi-sys-mods/firstboot\n";
const TRIXIE_CMDLINE: &str = "console=serial0,115200 console=tty1 root=PARTUUID=1234abcd-02 \
    rootfstype=ext4 fsck.repair=yes rootwait resize\n";
const CONFIG_TXT: &str = "# hand-written test config\ndtparam=audio=on\ncamera_auto_detect=1\n\
    display_auto_detect=1\nauto_initramfs=1\narm_64bit=1\n\n[all]\n";

/// Tools the image-file tests need. Skips (returns false) outside CI when one is missing.
fn tools_present() -> bool {
    let missing: Vec<&str> = [
        "sfdisk",
        "mkfs.fat",
        "fsck.fat",
        "mcopy",
        "mtype",
        "mkfs.ext4",
        "perl",
    ]
    .into_iter()
    .filter(|t| !tool_available(t))
    .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        !in_ci(),
        "missing tools {missing:?} (CI=true: not skipping)"
    );
    eprintln!("SKIPPED: missing tools {missing:?}");
    false
}

fn run(program: &str, args: &[&str]) -> String {
    run_env(program, args, &[])
}

fn run_env(program: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
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

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Release {
    /// Bookworm: `init=…/firstboot` on the command line, no cloud-init seed.
    Bookworm,
    /// Trixie: `resize` on the command line, cloud-init seed files on the boot partition.
    Trixie,
    /// Trixie with the `rpi-preseed` package installed in the root file system.
    Preseed,
}

/// Builds a Raspberry Pi OS–style image file in `dir` and returns its path.
fn build_image(dir: &Path, release: Release) -> PathBuf {
    let img = dir.join(format!("{release:?}.img"));
    let f = fs::File::create(&img).unwrap();
    f.set_len(IMAGE_SIZE).unwrap();
    drop(f);
    let script = format!(
        "label: dos\nlabel-id: 0x1234abcd\n{},{},c\n{},,83\n",
        BOOT_START / 512,
        BOOT_SIZE / 512,
        ROOT_START / 512
    );
    let out = Command::new("sfdisk")
        .args(["-q", img.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(script.as_bytes())?;
            c.wait()
        })
        .unwrap();
    assert!(out.success(), "sfdisk failed");
    let img_s = img.to_str().unwrap();
    run(
        "mkfs.fat",
        &[
            "-F",
            "32",
            "-s",
            "1",
            "-n",
            "BOOTFS",
            "-i",
            "12345678",
            "--offset",
            &(BOOT_START / 512).to_string(),
            img_s,
            &(BOOT_SIZE / 1024).to_string(),
        ],
    );
    let cmdline = match release {
        Release::Bookworm => BOOKWORM_CMDLINE,
        Release::Trixie | Release::Preseed => TRIXIE_CMDLINE,
    };
    let src = dir.join(format!("{release:?}-files"));
    fs::create_dir_all(&src).unwrap();
    let mut files = vec![("config.txt", CONFIG_TXT), ("cmdline.txt", cmdline)];
    if release != Release::Bookworm {
        files.push((
            "meta-data",
            "# stock seed of the test image\ninstance_id: test-image\n",
        ));
        files.push((
            "user-data",
            "#cloud-config\n# nothing set in the stock image\n",
        ));
        files.push((
            "network-config",
            "# stock network-config of the test image\n",
        ));
    }
    for (name, content) in files {
        let p = src.join(name);
        fs::write(&p, content).unwrap();
        mtools("mcopy", &img, &[p.to_str().unwrap(), &format!("::{name}")]);
    }
    let rootfs = dir.join(format!("{release:?}-root"));
    fs::create_dir_all(rootfs.join("etc")).unwrap();
    fs::write(rootfs.join("etc/hostname"), "raspberrypi\n").unwrap();
    if release == Release::Preseed {
        fs::create_dir_all(rootfs.join("usr/lib/rpi-preseed")).unwrap();
        fs::write(
            rootfs.join("usr/lib/rpi-preseed/rpi-preseed"),
            "#!/bin/sh\n",
        )
        .unwrap();
    }
    run(
        "mkfs.ext4",
        &[
            "-q",
            "-F",
            "-E",
            &format!("offset={ROOT_START}"),
            "-d",
            rootfs.to_str().unwrap(),
            img_s,
            &format!("{}k", (IMAGE_SIZE - ROOT_START) / 1024),
        ],
    );
    img
}

/// Runs an mtools command on the boot partition of `img` (a file or a device).
fn mtools(cmd: &str, img: &Path, args: &[&str]) -> String {
    let drive = format!("{}@@{}", img.display(), BOOT_START);
    let mut all = vec!["-i", drive.as_str()];
    all.extend_from_slice(args);
    run_env(cmd, &all, &[("MTOOLS_SKIP_CHECK", "1")])
}

/// Start and size in bytes of partition 1, from `sfdisk --json` (not from the code under
/// test).
fn boot_range(img: &Path) -> (u64, u64) {
    let json: serde_json::Value =
        serde_json::from_str(&run("sfdisk", &["--json", img.to_str().unwrap()])).unwrap();
    let p = &json["partitiontable"]["partitions"][0];
    (
        p["start"].as_u64().unwrap() * 512,
        p["size"].as_u64().unwrap() * 512,
    )
}

/// A file of the boot partition, read with mtools (not with the code under test).
fn read_boot_file(img: &Path, name: &str) -> Vec<u8> {
    let drive = format!("{}@@{}", img.display(), boot_range(img).0);
    let out = Command::new("mtype")
        .args(["-i", &drive, &format!("::{name}")])
        .env("MTOOLS_SKIP_CHECK", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mtype {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `fsck.fat -n` on a copy of the boot partition; returns its output, fails when unclean.
fn fsck_boot(img: &Path, dir: &Path) -> String {
    let (start, size) = boot_range(img);
    let mut data = vec![0u8; size as usize];
    {
        use std::os::unix::fs::FileExt;
        fs::File::open(img)
            .unwrap()
            .read_exact_at(&mut data, start)
            .unwrap();
    }
    let part = dir.join("boot-part.img");
    fs::write(&part, &data).unwrap();
    let out = Command::new("fsck.fat")
        .args(["-n", part.to_str().unwrap()])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "fsck.fat -n found problems:\n{text}");
    for word in [
        "differences",
        "Free cluster summary",
        "Dirty bit",
        "Orphaned",
        "Reclaimed",
    ] {
        assert!(!text.contains(word), "fsck.fat -n: {text}");
    }
    text
}

fn golden(dir: &str, name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(dir)
        .join(name);
    fs::read(&path).unwrap_or_else(|e| panic!("golden file {}: {e}", path.display()))
}

fn assert_same(what: &str, got: &[u8], want: &[u8]) {
    if got != want {
        let got = String::from_utf8_lossy(got);
        let want = String::from_utf8_lossy(want);
        for (i, (g, w)) in got.lines().zip(want.lines()).enumerate() {
            assert_eq!(g, w, "{what}: first difference on line {}", i + 1);
        }
        panic!("{what} differs from its golden file:\n--- got\n{got}\n--- want\n{want}");
    }
}

/// The settings of the golden files (fixed salt: the hash is reproducible).
fn test_settings() -> RpiSettings {
    let hash =
        hash_password_with_salt(PASSWORD, PasswordScheme::Yescrypt, b"atelier-golden!!").unwrap();
    RpiSettings {
        hostname: Some(HostnamePattern::new("atelier-{n:03}").unwrap()),
        user: Some(UserAccount::with_hash("atelier", hash).unwrap()),
        ssh: SshSettings {
            enabled: true,
            password_authentication: false,
            authorized_keys: vec![KEY.to_string()],
        },
        wifi: Some(WifiNetwork::new("Atelier Wifi", PASSPHRASE).unwrap()),
        ..RpiSettings::default()
    }
}

fn test_job() -> RpiJob {
    RpiJob {
        counter: 7,
        format: None,
        instance_id: Some("atelier-golden-0007".into()),
    }
}

/// The expected files of each release: (golden directory, files written).
fn expected(release: Release) -> (&'static str, RpiFormat, &'static [&'static str]) {
    match release {
        Release::Bookworm => (
            "rpi-firstrun",
            RpiFormat::Firstrun,
            &["firstrun.sh", "cmdline.txt"],
        ),
        Release::Trixie => (
            "rpi-cloud-init",
            RpiFormat::CloudInit,
            &["user-data", "network-config", "meta-data", "cmdline.txt"],
        ),
        Release::Preseed => (
            "rpi-preseed",
            RpiFormat::RpiPreseed,
            &["rpi-preseed.toml", "cmdline.txt"],
        ),
    }
}

/// Checks a customised image against the golden files and the record against leaks.
fn check_customised(img: &Path, release: Release, record: &atelier_record::Customisation) {
    let (dir, format, files) = expected(release);
    for name in files {
        assert_same(
            &format!("{dir}/{name}"),
            &read_boot_file(img, name),
            &golden(dir, name),
        );
    }
    assert_eq!(
        read_boot_file(img, "config.txt"),
        CONFIG_TXT.as_bytes(),
        "config.txt changed"
    );
    assert_eq!(record.format, format.as_str());
    assert_eq!(record.hostname.as_deref(), Some("atelier-007"));
    assert_eq!(record.user.as_deref(), Some("atelier"));
    assert_eq!(record.wifi_ssid.as_deref(), Some("Atelier Wifi"));
    assert_eq!(record.keymap.as_deref(), Some("fr"));
    assert_eq!(record.timezone.as_deref(), Some("Europe/Paris"));
    let json = serde_json::to_string(record).unwrap();
    let hash =
        hash_password_with_salt(PASSWORD, PasswordScheme::Yescrypt, b"atelier-golden!!").unwrap();
    for secret in [PASSWORD, PASSPHRASE, hash.as_str(), "5f62bf0bf2d2", "$y$"] {
        assert!(!json.contains(secret), "the record holds a secret: {json}");
    }
}

#[test]
fn each_format_matches_its_golden_files_and_keeps_fat_clean() {
    if !tools_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for release in [Release::Bookworm, Release::Trixie, Release::Preseed] {
        let img = build_image(dir.path(), release);
        let (_, format, _) = expected(release);
        assert_eq!(detect_rpi_format(&img).unwrap(), format, "{release:?}");
        let record = customise_raspberry_pi(&img, &test_settings(), &test_job()).unwrap();
        check_customised(&img, release, &record);
        fsck_boot(&img, dir.path());
        // The root partition is untouched and the table still reads.
        let table = read_partition_table(&img).unwrap();
        assert_eq!(table.partitions[1].partuuid, "1234abcd-02");
    }
}

#[test]
fn customising_again_replaces_rather_than_doubles() {
    if !tools_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let img = build_image(dir.path(), Release::Trixie);
    customise_raspberry_pi(&img, &test_settings(), &test_job()).unwrap();
    let record = customise_raspberry_pi(&img, &test_settings(), &test_job()).unwrap();
    check_customised(&img, Release::Trixie, &record);
    // A second card of the batch: next host name, another instance id.
    let job = RpiJob {
        counter: 8,
        instance_id: Some("atelier-golden-0008".into()),
        ..test_job()
    };
    let record = customise_raspberry_pi(&img, &test_settings(), &job).unwrap();
    assert_eq!(record.hostname.as_deref(), Some("atelier-008"));
    let cmdline = String::from_utf8(read_boot_file(&img, "cmdline.txt")).unwrap();
    assert_eq!(cmdline.matches("ds=nocloud").count(), 1, "{cmdline}");
    assert!(
        cmdline.ends_with("resize cfg80211.ieee80211_regdom=FR ds=nocloud;i=atelier-golden-0008")
    );
    fsck_boot(&img, dir.path());
}

#[test]
fn explicit_format_wins_over_detection() {
    if !tools_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let img = build_image(dir.path(), Release::Trixie);
    let job = RpiJob {
        format: Some(RpiFormat::Firstrun),
        ..test_job()
    };
    let record = customise_raspberry_pi(&img, &test_settings(), &job).unwrap();
    assert_eq!(record.format, "firstrun.sh");
    assert_same(
        "firstrun.sh",
        &read_boot_file(&img, "firstrun.sh"),
        &golden("rpi-firstrun", "firstrun.sh"),
    );
    // The stock cloud-init seed is left as the image had it.
    assert!(
        String::from_utf8(read_boot_file(&img, "user-data"))
            .unwrap()
            .contains("nothing set")
    );
}

#[test]
fn password_hash_is_understood_by_the_system_crypt() {
    if !tools_present() {
        return;
    }
    // perl's crypt() is the C library's (libxcrypt on Debian): an implementation
    // independent of the one under test.
    for scheme in [PasswordScheme::Yescrypt, PasswordScheme::Sha512Crypt] {
        let user = UserAccount::new("atelier", PASSWORD, scheme).unwrap();
        let hash = user.password_hash().as_str();
        let out = run(
            "perl",
            &[
                "-e",
                "print crypt($ARGV[0], $ARGV[1]) eq $ARGV[1] ? 'same' : 'different'",
                PASSWORD,
                hash,
            ],
        );
        assert_eq!(out, "same", "{scheme:?}: {hash}");
        let out = run(
            "perl",
            &[
                "-e",
                "print crypt($ARGV[0], $ARGV[1]) eq $ARGV[1] ? 'same' : 'different'",
                "wrong",
                hash,
            ],
        );
        assert_eq!(out, "different");
    }
}

#[test]
fn wrong_targets_are_refused_with_a_reason() {
    if !tools_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let settings = test_settings();
    // Garbage: no partition table.
    let garbage = dir.path().join("garbage.img");
    fs::write(
        &garbage,
        (0..(4 * MIB))
            .map(|i| (i * 7 % 251) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let e = customise_raspberry_pi(&garbage, &settings, &test_job()).unwrap_err();
    assert!(matches!(e, CustomiseError::PartitionTable { .. }), "{e}");
    // Truncated image: the table points past the end.
    let img = build_image(dir.path(), Release::Trixie);
    let short = dir.path().join("short.img");
    fs::write(
        &short,
        &fs::read(&img).unwrap()[..(ROOT_START + MIB) as usize],
    )
    .unwrap();
    let e = customise_raspberry_pi(&short, &settings, &test_job()).unwrap_err();
    assert!(e.to_string().contains("beyond the end"), "{e}");
    // A FAT partition without cmdline.txt is not Raspberry Pi OS.
    let img = build_image(dir.path(), Release::Bookworm);
    mtools("mdel", &img, &["::cmdline.txt"]);
    let before = fs::read(&img).unwrap();
    let e = customise_raspberry_pi(&img, &settings, &test_job()).unwrap_err();
    assert!(e.to_string().contains("cmdline.txt"), "{e}");
    assert!(
        fs::read(&img).unwrap() == before,
        "a refused target must stay untouched"
    );
    // The boot partition is not FAT.
    let img = build_image(dir.path(), Release::Bookworm);
    let mut data = fs::read(&img).unwrap();
    data[BOOT_START as usize..(BOOT_START + MIB) as usize].fill(0);
    fs::write(&img, &data).unwrap();
    let e = customise_raspberry_pi(&img, &settings, &test_job()).unwrap_err();
    assert!(matches!(e, CustomiseError::Fat { .. }), "{e}");
    // A missing file.
    let e =
        customise_raspberry_pi(&dir.path().join("nope.img"), &settings, &test_job()).unwrap_err();
    assert!(matches!(e, CustomiseError::Io { .. }), "{e}");
}

#[test]
fn loop_device_target() {
    if !tools_present() || !device_tier(&["losetup"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let img = build_image(dir.path(), Release::Bookworm);
    let dev = LoopDevice::new(IMAGE_SIZE + 8 * MIB);
    let data = fs::read(&img).unwrap();
    dev.write_direct(0, &data);
    let record = customise_raspberry_pi(dev.path(), &test_settings(), &test_job()).unwrap();
    check_customised(dev.path(), Release::Bookworm, &record);
    // fsck.fat on the device's partition, through the backing file after a flush.
    let f = fs::File::open(dev.path()).unwrap();
    f.sync_all().unwrap();
    drop(f);
    let copy = dir.path().join("from-device.img");
    fs::write(&copy, dev.read_all()).unwrap();
    fsck_boot(&copy, dir.path());
    assert_same(
        "firstrun.sh on the device",
        &read_boot_file(&copy, "firstrun.sh"),
        &golden("rpi-firstrun", "firstrun.sh"),
    );
}

/// Runs against a real Raspberry Pi OS image when `ATELIER_RPI_IMAGE` names one (the
/// decompressed `.img`); a copy is customised, the original is never written.
#[test]
fn real_raspberry_pi_os_image_when_given() {
    let Some(source) = std::env::var_os("ATELIER_RPI_IMAGE") else {
        eprintln!("SKIPPED: set ATELIER_RPI_IMAGE=/path/to/raspios.img to run this test");
        return;
    };
    if !tools_present() {
        return;
    }
    let dir = tempfile::tempdir_in("/var/tmp").unwrap();
    let img = dir.path().join("real.img");
    run(
        "cp",
        &[
            "--sparse=always",
            &source.to_string_lossy(),
            img.to_str().unwrap(),
        ],
    );
    let original = String::from_utf8(read_boot_file(&img, "cmdline.txt")).unwrap();
    let format = detect_rpi_format(&img).unwrap();
    eprintln!("{}: detected {format}", source.to_string_lossy());
    let record = customise_raspberry_pi(&img, &test_settings(), &test_job()).unwrap();
    assert_eq!(record.format, format.as_str());
    let (dir_name, files) = match format {
        RpiFormat::Firstrun => ("rpi-firstrun", &["firstrun.sh"][..]),
        RpiFormat::CloudInit => (
            "rpi-cloud-init",
            &["user-data", "network-config", "meta-data"][..],
        ),
        RpiFormat::RpiPreseed => ("rpi-preseed", &["rpi-preseed.toml"][..]),
    };
    for name in files {
        assert_same(name, &read_boot_file(&img, name), &golden(dir_name, name));
    }
    // Every word of the real command line is kept; the golden file's additions follow.
    let cmdline = String::from_utf8(read_boot_file(&img, "cmdline.txt")).unwrap();
    let golden_cmdline = String::from_utf8(golden(dir_name, "cmdline.txt")).unwrap();
    let stock = match format {
        RpiFormat::Firstrun => BOOKWORM_CMDLINE,
        _ => TRIXIE_CMDLINE,
    };
    let added = golden_cmdline.strip_prefix(stock.trim_end()).unwrap();
    assert_eq!(cmdline, format!("{}{added}", original.trim()));
    fsck_boot(&img, dir.path());
}
