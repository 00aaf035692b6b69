//! `capture`: a capture of this machine holds the files the readers read, identical, with its
//! symbolic links resolving inside the capture; the inventory of the capture equals the
//! inventory of the machine; a hand-made tree with a link cycle, a link loop, a FIFO, a
//! directory where a file is expected, a dangling link and an oversized file is captured to the
//! end with each problem listed; a destination that is not empty is refused.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use atelier_inventory::capture::{
    self, CaptureError, CaptureOptions, CaptureReport, MANIFEST_FILE, MAX_FILE_BYTES, SkipReason,
};
use atelier_inventory::machine::{
    CAPTURED_SMART_DIR, InventoryOptions, SmartSource, take_inventory,
};
use atelier_inventory::smart::Smartctl;

/// Runs `f` on a thread and fails the test if it takes longer than `limit` (a capture that
/// loops must fail, not hang the suite).
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("did not finish within {limit:?}"))
}

fn capture_live(dest: &Path, opts: &CaptureOptions) -> CaptureReport {
    let (dest, opts) = (dest.to_owned(), opts.clone());
    within(Duration::from_secs(120), move || {
        capture::capture(Path::new("/"), &dest, &opts).expect("capture of /")
    })
}

/// Every symbolic link under `dir`.
fn links_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            if kind.is_symlink() {
                out.push(entry.path());
            } else if kind.is_dir() {
                stack.push(entry.path());
            }
        }
    }
    out
}

/// The entries of a directory, sorted (empty when absent).
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|e| {
            e.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn captures_this_machine_with_identical_files_and_links_inside() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("capture");
    let started = Instant::now();
    let report = capture_live(&dest, &CaptureOptions::without_smart());
    eprintln!(
        "capture of /: {} files, {} bytes, {} links, {} directories, {} skipped, {:?}",
        report.counts.files,
        report.counts.bytes,
        report.counts.symlinks,
        report.counts.directories,
        report.skipped.len(),
        started.elapsed()
    );
    for s in &report.skipped {
        eprintln!("  skipped {}: {}", s.path.display(), s.reason);
    }

    // Stable files are byte-for-byte identical.
    for rel in [
        "proc/cmdline",
        "proc/swaps",
        "proc/bus/input/devices",
        "proc/asound/cards",
    ] {
        let live = Path::new("/").join(rel);
        if live.exists() {
            assert_eq!(
                fs::read(dest.join(rel)).unwrap(),
                fs::read(&live).unwrap(),
                "{rel}"
            );
        }
    }
    // cpuinfo, except the frequency lines that move.
    let steady = |text: String| -> Vec<String> {
        text.lines()
            .filter(|l| !l.starts_with("cpu MHz") && !l.starts_with("bogomips"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(
        steady(fs::read_to_string(dest.join("proc/cpuinfo")).unwrap()),
        steady(fs::read_to_string("/proc/cpuinfo").unwrap())
    );
    let mem_total = |text: String| text.lines().next().map(str::to_owned);
    assert_eq!(
        mem_total(fs::read_to_string(dest.join("proc/meminfo")).unwrap()),
        mem_total(fs::read_to_string("/proc/meminfo").unwrap())
    );
    assert!(dest.join("proc/self/mountinfo").is_file());

    // Class and bus directories list the same entries, and their files read the same
    // through the links.
    for class in [
        "sys/class/net",
        "sys/class/block",
        "sys/class/power_supply",
        "sys/class/drm",
        "sys/bus/pci/devices",
        "sys/block",
        "sys/dev/block",
    ] {
        let live = Path::new("/").join(class);
        assert_eq!(names(&dest.join(class)), names(&live), "{class}");
        for entry in names(&live) {
            let link = Path::new(class).join(&entry);
            assert_eq!(
                fs::read_link(dest.join(&link)).unwrap(),
                fs::read_link(Path::new("/").join(&link)).unwrap(),
                "{}",
                link.display()
            );
        }
    }
    for iface in names(Path::new("/sys/class/net")) {
        for file in ["address", "addr_assign_type", "type"] {
            let rel = format!("sys/class/net/{iface}/{file}");
            assert_eq!(
                fs::read(dest.join(&rel)).unwrap(),
                fs::read(Path::new("/").join(&rel)).unwrap(),
                "{rel}"
            );
        }
    }
    for device in names(Path::new("/sys/bus/pci/devices")) {
        for file in [
            "vendor",
            "device",
            "class",
            "subsystem_vendor",
            "subsystem_device",
        ] {
            let rel = format!("sys/bus/pci/devices/{device}/{file}");
            assert_eq!(
                fs::read(dest.join(&rel)).unwrap(),
                fs::read(Path::new("/").join(&rel)).unwrap(),
                "{rel}"
            );
        }
        // Hardware-touching attributes are left out, write-only ones too.
        let dir = dest.join(format!("sys/bus/pci/devices/{device}"));
        assert!(!dir.join("config").exists() && !dir.join("resource").exists());
        assert!(!dir.join("remove").exists());
        let driver = format!("sys/bus/pci/devices/{device}/driver");
        if let Ok(target) = fs::read_link(Path::new("/").join(&driver)) {
            assert_eq!(fs::read_link(dest.join(&driver)).unwrap(), target);
        }
    }
    // Loop devices come and go while other tests run (device-tier tests attach them): only
    // the machine's disks are stable enough to compare byte for byte.
    for disk in names(Path::new("/sys/block"))
        .into_iter()
        .filter(|d| !d.starts_with("loop"))
    {
        for file in ["dev", "size", "ro", "removable", "queue/logical_block_size"] {
            let rel = format!("sys/block/{disk}/{file}");
            assert_eq!(
                fs::read(dest.join(&rel)).unwrap(),
                fs::read(Path::new("/").join(&rel)).unwrap(),
                "{rel}"
            );
        }
    }
    for file in names(Path::new("/sys/class/dmi/id")) {
        let live = Path::new("/sys/class/dmi/id").join(&file);
        if live.is_file()
            && let Ok(bytes) = fs::read(&live)
        {
            let rel = format!("sys/class/dmi/id/{file}");
            assert_eq!(fs::read(dest.join(&rel)).unwrap(), bytes, "{rel}");
        }
    }
    if let Ok(table) = fs::read("/sys/firmware/dmi/tables/DMI") {
        assert_eq!(
            fs::read(dest.join("sys/firmware/dmi/tables/DMI")).unwrap(),
            table
        );
    }
    assert_eq!(
        dest.join("sys/firmware/efi").is_dir(),
        Path::new("/sys/firmware/efi").is_dir()
    );
    for cpu in names(Path::new("/sys/devices/system/cpu")) {
        let rel = format!("sys/devices/system/cpu/{cpu}/topology/core_id");
        if let Ok(live) = fs::read(Path::new("/").join(&rel)) {
            assert_eq!(fs::read(dest.join(&rel)).unwrap(), live, "{rel}");
        }
    }

    // Every link resolves inside the capture (or dangles, as on the machine).
    let inside = dest.canonicalize().unwrap();
    let links = links_under(&dest);
    assert!(links.len() as u64 == report.counts.symlinks);
    for link in &links {
        if let Ok(real) = link.canonicalize() {
            assert!(
                real.starts_with(&inside),
                "{} -> {}",
                link.display(),
                real.display()
            );
        }
    }
    // The links the readers follow lead somewhere.
    for iface in names(Path::new("/sys/class/net")) {
        let device = Path::new("/sys/class/net").join(&iface).join("device");
        if device.exists() {
            let captured = dest.join("sys/class/net").join(&iface).join("device");
            assert!(captured.join("uevent").is_file(), "{}", captured.display());
        }
    }

    // The manifest is the report.
    assert_eq!(capture::read_manifest(&dest).unwrap(), report);
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(dest.join(MANIFEST_FILE)).unwrap()).unwrap();
    assert_eq!(json["atelier_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(json["source_root"], "/");
    let uname = nix::sys::utsname::uname().unwrap();
    assert_eq!(report.architecture.as_deref(), uname.machine().to_str());
    assert!(
        report
            .kernel
            .as_deref()
            .is_some_and(|k| k.contains(uname.release().to_str().unwrap()))
    );
    assert_eq!(report.as_root, nix::unistd::geteuid().is_root());
    assert!(report.counts.files > 20, "{:?}", report.counts);
    assert!(
        report.counts.write_only_attributes > 0,
        "{:?}",
        report.counts
    );
    assert!(report.smartctl.is_empty());

    // Small: well under a few MB.
    assert!(
        report.counts.bytes < 3 << 20,
        "{} bytes",
        report.counts.bytes
    );
    if let Some(note) = report.notes.iter().find(|n| n.contains("pci.ids")) {
        eprintln!("  {note}");
    }
}

#[test]
fn runs_smartctl_on_each_disk_and_keeps_its_raw_output() {
    let tmp = tempfile::tempdir().unwrap();
    // A stand-in for smartctl that answers with its arguments, as JSON.
    let fake = tmp.path().join("fake-smartctl");
    fs::write(
        &fake,
        "#!/bin/sh\nprintf '{\"args\": \"%s\", \"raw\": true}\\n' \"$*\"\n",
    )
    .unwrap();
    fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).unwrap();
    let dest = tmp.path().join("capture");
    let opts = CaptureOptions {
        smartctl: Some(Smartctl::new().program(&fake)),
        smart_timeout: Duration::from_secs(10),
    };
    let report = capture_live(&dest, &opts);

    let disks: BTreeSet<String> = atelier_device::discover(&atelier_device::SystemRoot::live())
        .unwrap()
        .into_iter()
        .filter(|d| d.kind == atelier_device::DeviceKind::Disk)
        .map(|d| d.name)
        .collect();
    let captured: BTreeSet<String> = report.smartctl.iter().map(|s| s.device.clone()).collect();
    assert_eq!(captured, disks);
    for entry in &report.smartctl {
        let file = entry.file.as_ref().expect("an output file");
        assert_eq!(
            file,
            &Path::new(CAPTURED_SMART_DIR).join(format!("{}.json", entry.device))
        );
        let text = fs::read_to_string(dest.join(file)).unwrap();
        // ATA/SCSI disks also get the device statistics (SSD wear); NVMe does not.
        let devstat = if entry.device.starts_with("nvme") {
            ""
        } else {
            "-l devstat "
        };
        assert_eq!(
            text,
            format!(
                "{{\"args\": \"-j -a {devstat}/dev/{}\", \"raw\": true}}\n",
                entry.device
            )
        );
    }

    // A smartctl that is not there: each disk says why, the capture still completes.
    let dest = tmp.path().join("capture-without-smartctl");
    let opts = CaptureOptions {
        smartctl: Some(Smartctl::new().program(tmp.path().join("no-such-smartctl"))),
        smart_timeout: Duration::from_secs(10),
    };
    let report = capture_live(&dest, &opts);
    assert_eq!(report.smartctl.len(), disks.len());
    for entry in &report.smartctl {
        assert!(entry.file.is_none());
        assert!(entry.error.as_deref().is_some_and(|e| !e.is_empty()));
    }
    assert!(!dest.join(CAPTURED_SMART_DIR).exists());
}

#[test]
fn real_smartctl_output_is_saved_when_smartctl_is_installed() {
    if !atelier_testkit::tool_available("smartctl") {
        eprintln!("SKIPPED: smartctl is not installed");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("capture");
    let report = capture_live(&dest, &CaptureOptions::default());
    for entry in &report.smartctl {
        eprintln!(
            "smartctl {}: {:?} {:?}",
            entry.device, entry.file, entry.error
        );
        if let Some(file) = &entry.file {
            let json: serde_json::Value =
                serde_json::from_slice(&fs::read(dest.join(file)).unwrap()).unwrap();
            assert!(json.get("smartctl").is_some(), "{json}");
        }
    }
}

/// A hand-made root with every kind of trouble sysfs can hold.
fn troubled_tree(root: &Path) {
    let mk = |rel: &str| fs::create_dir_all(root.join(rel)).unwrap();
    let write = |rel: &str, text: &[u8]| {
        fs::create_dir_all(root.join(rel).parent().unwrap()).unwrap();
        fs::write(root.join(rel), text).unwrap();
    };
    let link = |target: &str, rel: &str| {
        fs::create_dir_all(root.join(rel).parent().unwrap()).unwrap();
        symlink(target, root.join(rel)).unwrap();
    };

    // procfs: a FIFO where a file is expected (opening it would block forever), a directory.
    mk("proc");
    nix::unistd::mkfifo(&root.join("proc/cpuinfo"), nix::sys::stat::Mode::S_IRUSR).unwrap();
    mk("proc/meminfo");
    write("proc/cmdline", b"root=LABEL=ATELIER quiet\n");

    // A network interface whose device links back to itself and to its parent (cycles).
    let dev = "sys/devices/pci0000:00/0000:00:03.0";
    write(&format!("{dev}/vendor"), b"0x1af4\n");
    write(&format!("{dev}/device"), b"0x1000\n");
    write(&format!("{dev}/class"), b"0x020000\n");
    write(&format!("{dev}/config"), &[0u8; 64]);
    write(&format!("{dev}/net/eth0/address"), b"52:54:00:12:34:56\n");
    write(&format!("{dev}/net/eth0/addr_assign_type"), b"0\n");
    link("../../../0000:00:03.0", &format!("{dev}/net/eth0/device"));
    link("..", &format!("{dev}/up"));
    link(".", &format!("{dev}/itself"));
    link(
        "../../../../devices",
        &format!("{dev}/net/eth0/devices-again"),
    );
    link(
        "../../devices/pci0000:00/0000:00:03.0/net/eth0",
        "sys/class/net/eth0",
    );
    link(
        "../../../devices/pci0000:00/0000:00:03.0",
        "sys/bus/pci/devices/0000:00:03.0",
    );
    // A write-only attribute.
    write(&format!("{dev}/remove"), b"");
    fs::set_permissions(
        root.join(dev).join("remove"),
        fs::Permissions::from_mode(0o200),
    )
    .unwrap();

    // Two class entries that point to each other, and one that points to nothing.
    link("b", "sys/class/net/a");
    link("a", "sys/class/net/b");
    link(
        "../../devices/gone/card0-eDP-1",
        "sys/class/drm/card0-eDP-1",
    );

    // A battery whose directory holds a file too big to be an attribute.
    write("sys/devices/platform/BAT0/type", b"Battery\n");
    write(
        "sys/devices/platform/BAT0/huge",
        &vec![b'x'; MAX_FILE_BYTES as usize + 1],
    );
    link("../../devices/platform/BAT0", "sys/class/power_supply/BAT0");

    // An absolute link in /dev (the capture must not point to this host's /dev).
    write("dev/sdb1", b"");
    link("/dev/sdb1", "dev/disk/by-label/ATELIER");
}

#[test]
fn a_troubled_tree_is_captured_to_the_end_with_every_problem_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let dest = tmp.path().join("capture");
    troubled_tree(&root);
    let (r, d) = (root.clone(), dest.clone());
    let report = within(Duration::from_secs(60), move || {
        capture::capture(&r, &d, &CaptureOptions::default()).expect("capture")
    });

    let reason_of = |path: &str| {
        report
            .skipped
            .iter()
            .find(|s| s.path == Path::new(path))
            .map(|s| s.reason.clone())
    };
    assert!(
        matches!(reason_of("/proc/cpuinfo"), Some(SkipReason::NotAFile { found }) if found == "FIFO"),
        "{:?}",
        report.skipped
    );
    assert!(matches!(
        reason_of("/proc/meminfo"),
        Some(SkipReason::NotAFile { found }) if found == "directory"
    ));
    assert_eq!(reason_of("/sys/class/net/a"), Some(SkipReason::LinkLoop));
    assert_eq!(reason_of("/sys/class/net/b"), Some(SkipReason::LinkLoop));
    assert_eq!(
        reason_of("/sys/class/drm/card0-eDP-1"),
        Some(SkipReason::DanglingLink {
            missing: PathBuf::from("/sys/devices/gone")
        })
    );
    assert_eq!(
        reason_of("/sys/devices/platform/BAT0/huge"),
        Some(SkipReason::TooLarge {
            limit: MAX_FILE_BYTES
        })
    );
    assert_eq!(report.counts.write_only_attributes, 1);
    assert!(report.smartctl.is_empty(), "smartctl runs only on /");
    assert!(report.kernel.is_none() && report.architecture.is_none());

    // What could be read is there, links as they were.
    assert_eq!(
        fs::read_to_string(dest.join("proc/cmdline")).unwrap(),
        "root=LABEL=ATELIER quiet\n"
    );
    assert_eq!(
        fs::read_to_string(dest.join("sys/class/net/eth0/address")).unwrap(),
        "52:54:00:12:34:56\n"
    );
    assert_eq!(
        fs::read_to_string(dest.join("sys/class/net/eth0/device/vendor")).unwrap(),
        "0x1af4\n"
    );
    assert_eq!(
        fs::read_link(dest.join("sys/class/net/a")).unwrap(),
        Path::new("b")
    );
    assert_eq!(
        fs::read_link(dest.join("sys/devices/pci0000:00/0000:00:03.0/up")).unwrap(),
        Path::new("..")
    );
    assert!(
        !dest
            .join("sys/devices/pci0000:00/0000:00:03.0/config")
            .exists()
    );
    assert!(
        !dest
            .join("sys/devices/pci0000:00/0000:00:03.0/remove")
            .exists()
    );
    assert_eq!(
        fs::read_to_string(dest.join("sys/class/power_supply/BAT0/type")).unwrap(),
        "Battery\n"
    );
    // The absolute link is made relative, and the device node it names exists.
    let label = dest.join("dev/disk/by-label/ATELIER");
    assert_eq!(
        fs::read_link(&label).unwrap(),
        Path::new("../../../dev/sdb1")
    );
    assert!(
        label
            .canonicalize()
            .unwrap()
            .starts_with(dest.canonicalize().unwrap())
    );
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("/dev/disk/by-label/ATELIER"))
    );

    // Nothing was written outside the destination, and the root is untouched.
    assert_eq!(names(tmp.path()), ["capture", "root"]);
    assert!(!root.join("atelier-capture").exists());
    let inside = dest.canonicalize().unwrap();
    for link in links_under(&dest) {
        if let Ok(real) = link.canonicalize() {
            assert!(real.starts_with(&inside), "{}", link.display());
        }
    }
    assert_eq!(capture::read_manifest(&dest).unwrap(), report);
}

#[test]
fn refuses_a_destination_that_is_not_empty() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    fs::create_dir_all(root.join("proc")).unwrap();
    fs::write(root.join("proc/cmdline"), "quiet\n").unwrap();

    let dest = tmp.path().join("full");
    fs::create_dir(&dest).unwrap();
    fs::write(dest.join("keep-me"), "precious").unwrap();
    let err = capture::capture(&root, &dest, &CaptureOptions::without_smart()).unwrap_err();
    assert!(matches!(&err, CaptureError::DestinationNotEmpty { path } if path == &dest));
    assert!(
        err.to_string().contains(&dest.display().to_string()),
        "{err}"
    );
    assert_eq!(names(&dest), ["keep-me"]);

    let file = tmp.path().join("a-file");
    fs::write(&file, "x").unwrap();
    let err = capture::capture(&root, &file, &CaptureOptions::without_smart()).unwrap_err();
    assert!(
        matches!(err, CaptureError::DestinationNotADirectory { .. }),
        "{err}"
    );

    // Empty or absent: accepted.
    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    capture::capture(&root, &empty, &CaptureOptions::without_smart()).unwrap();
    assert_eq!(
        fs::read_to_string(empty.join("proc/cmdline")).unwrap(),
        "quiet\n"
    );
    let absent = tmp.path().join("new/deeper");
    capture::capture(&root, &absent, &CaptureOptions::without_smart()).unwrap();
    assert!(absent.join(MANIFEST_FILE).is_file());

    let err = capture::capture(
        &tmp.path().join("no-root"),
        &tmp.path().join("x"),
        &CaptureOptions::without_smart(),
    )
    .unwrap_err();
    assert!(matches!(err, CaptureError::Root { .. }), "{err}");
}

/// The inventory as JSON, without what differs by nature between two runs (the time, and
/// the root's path in messages).
fn comparable(opts: &InventoryOptions) -> serde_json::Value {
    let hw = take_inventory(opts);
    let mut json = serde_json::to_value(&hw).unwrap();
    let map = json.as_object_mut().unwrap();
    map.remove("collected_at");
    map.remove("as_root");
    let text = serde_json::to_string(&json).unwrap();
    let root = opts.root.display().to_string();
    let text = if root == "/" {
        text
    } else {
        text.replace(&root, "")
    };
    serde_json::from_str(&text).unwrap()
}

#[test]
fn the_inventory_of_a_capture_is_the_inventory_of_the_machine() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("capture");
    let report = capture_live(&dest, &CaptureOptions::without_smart());
    let skip = SmartSource::Skip("not asked in this test".into());

    let mut live = InventoryOptions::live();
    live.smart = skip.clone();
    let mut captured = InventoryOptions::captured(&dest, report.architecture.clone().unwrap());
    captured.smart = skip.clone();
    let expected = comparable(&live);
    let got = comparable(&captured);
    assert_eq!(
        got,
        expected,
        "capture:\n{}\nlive:\n{}",
        serde_json::to_string_pretty(&got).unwrap(),
        serde_json::to_string_pretty(&expected).unwrap()
    );

    // A capture of the capture is the same fixture.
    let again = tmp.path().join("again");
    let report2 = capture::capture(&dest, &again, &CaptureOptions::without_smart()).unwrap();
    assert_eq!(report2.architecture, report.architecture);
    assert_eq!(report2.kernel, report.kernel);
    let mut twice = InventoryOptions::captured(&again, report.architecture.unwrap());
    twice.smart = skip;
    assert_eq!(comparable(&twice), expected);
}

/// Writes `text` at `rel` under `root`, creating directories.
fn put(root: &Path, rel: &str, text: impl AsRef<[u8]>) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// Creates the link `rel` under `root` pointing to `target`.
fn ln(root: &Path, target: &str, rel: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    symlink(target, path).unwrap();
}

/// A laptop as sysfs lays it out (relative links everywhere, as the kernel makes them): a
/// GPU with its panel's EDID, Wi-Fi with its phy, wired Ethernet, a USB webcam and Bluetooth
/// adapter, a sound card, a battery and a charger, UEFI with Secure Boot on and other EFI
/// variables, a TPM 2.0, a SATA disk with its udev entry and saved smartctl output, a USB
/// stick labelled ATELIER, CPU topology and cpufreq, and a small pci.ids.
fn laptop_tree(root: &Path) {
    let pci = "sys/devices/pci0000:00";
    let pci_device = |addr: &str, parent: &str, ids: [&str; 5], driver: &str| {
        let dir = format!("{parent}/{addr}");
        for (file, value) in [
            "vendor",
            "device",
            "class",
            "subsystem_vendor",
            "subsystem_device",
        ]
        .iter()
        .zip(ids)
        {
            put(root, &format!("{dir}/{file}"), format!("{value}\n"));
        }
        put(root, &format!("{dir}/config"), [0u8; 256]);
        put(root, &format!("{dir}/resource0"), [0u8; 16]);
        let depth = dir.matches('/').count();
        let up = "../".repeat(depth - 1);
        ln(
            root,
            &format!("{up}bus/pci/drivers/{driver}"),
            &format!("{dir}/driver"),
        );
        ln(root, &format!("{up}bus/pci"), &format!("{dir}/subsystem"));
        ln(
            root,
            &format!("../../../{}", dir.strip_prefix("sys/").unwrap()),
            &format!("sys/bus/pci/devices/{addr}"),
        );
        fs::create_dir_all(root.join(format!("sys/bus/pci/drivers/{driver}"))).unwrap();
    };
    pci_device(
        "0000:00:00.0",
        pci,
        ["0x8086", "0x0c04", "0x060000", "0x17aa", "0x221e"],
        "hsw_uncore",
    );
    pci_device(
        "0000:00:02.0",
        pci,
        ["0x8086", "0x0416", "0x030000", "0x17aa", "0x221e"],
        "i915",
    );
    pci_device(
        "0000:00:19.0",
        pci,
        ["0x8086", "0x153a", "0x020000", "0x17aa", "0x221e"],
        "e1000e",
    );
    pci_device(
        "0000:00:14.0",
        pci,
        ["0x8086", "0x8c31", "0x0c0330", "0x17aa", "0x221e"],
        "xhci_hcd",
    );
    pci_device(
        "0000:00:1b.0",
        pci,
        ["0x8086", "0x8c20", "0x040300", "0x17aa", "0x221e"],
        "snd_hda_intel",
    );
    pci_device(
        "0000:00:1f.2",
        pci,
        ["0x8086", "0x8c03", "0x010601", "0x17aa", "0x221e"],
        "ahci",
    );
    pci_device(
        "0000:00:1c.1",
        pci,
        ["0x8086", "0x8c12", "0x060400", "0x0000", "0x0000"],
        "pcieport",
    );
    let bridge = format!("{pci}/0000:00:1c.1");
    pci_device(
        "0000:03:00.0",
        &bridge,
        ["0x8086", "0x08b1", "0x028000", "0x8086", "0xc070"],
        "iwlwifi",
    );
    put(root, "usr/share/misc/pci.ids", PCI_IDS);

    // GPU and panel.
    let card = format!("{pci}/0000:00:02.0/drm/card0");
    put(root, &format!("{card}/dev"), "226:0\n");
    ln(root, "../../../0000:00:02.0", &format!("{card}/device"));
    let edid = fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/edid/000.bin"),
    )
    .unwrap_or_else(|_| vec![0u8; 128]);
    put(root, &format!("{card}/card0-eDP-1/edid"), &edid);
    put(root, &format!("{card}/card0-eDP-1/status"), "connected\n");
    put(root, &format!("{card}/card0-HDMI-A-1/edid"), b"");
    put(
        root,
        &format!("{card}/card0-HDMI-A-1/status"),
        "disconnected\n",
    );
    ln(
        root,
        "../../devices/pci0000:00/0000:00:02.0/drm/card0",
        "sys/class/drm/card0",
    );
    for conn in ["card0-eDP-1", "card0-HDMI-A-1"] {
        ln(root, "../../card0", &format!("{card}/{conn}/device"));
        ln(
            root,
            &format!("../../devices/pci0000:00/0000:00:02.0/drm/card0/{conn}"),
            &format!("sys/class/drm/{conn}"),
        );
    }

    // Network: Wi-Fi behind the bridge, wired Ethernet.
    let wifi = format!("{bridge}/0000:03:00.0");
    let wlan = format!("{wifi}/net/wlp3s0");
    put(root, &format!("{wlan}/address"), "60:57:18:aa:bb:cc\n");
    put(root, &format!("{wlan}/addr_assign_type"), "0\n");
    put(root, &format!("{wlan}/type"), "1\n");
    put(
        root,
        &format!("{wlan}/uevent"),
        "DEVTYPE=wlan\nINTERFACE=wlp3s0\nIFINDEX=3\n",
    );
    fs::create_dir_all(root.join(&wlan).join("wireless")).unwrap();
    ln(root, "../../../0000:03:00.0", &format!("{wlan}/device"));
    ln(root, "../../ieee80211/phy0", &format!("{wlan}/phy80211"));
    put(root, &format!("{wifi}/ieee80211/phy0/name"), "phy0\n");
    put(root, &format!("{wifi}/ieee80211/phy0/index"), "0\n");
    ln(
        root,
        "../../../0000:03:00.0",
        &format!("{wifi}/ieee80211/phy0/device"),
    );
    ln(
        root,
        "../../devices/pci0000:00/0000:00:1c.1/0000:03:00.0/net/wlp3s0",
        "sys/class/net/wlp3s0",
    );
    ln(
        root,
        "../../devices/pci0000:00/0000:00:1c.1/0000:03:00.0/ieee80211/phy0",
        "sys/class/ieee80211/phy0",
    );
    let eth = format!("{pci}/0000:00:19.0/net/enp0s25");
    put(root, &format!("{eth}/address"), "54:ee:75:01:02:03\n");
    put(root, &format!("{eth}/addr_assign_type"), "0\n");
    put(root, &format!("{eth}/type"), "1\n");
    put(
        root,
        &format!("{eth}/uevent"),
        "INTERFACE=enp0s25\nIFINDEX=2\n",
    );
    ln(root, "../../../0000:00:19.0", &format!("{eth}/device"));
    ln(
        root,
        "../../devices/pci0000:00/0000:00:19.0/net/enp0s25",
        "sys/class/net/enp0s25",
    );
    put(
        root,
        "sys/devices/virtual/net/lo/address",
        "00:00:00:00:00:00\n",
    );
    ln(root, "../../devices/virtual/net/lo", "sys/class/net/lo");

    // USB: webcam and Bluetooth adapter (the product is on the USB device, the parent of the
    // interface the class device hangs from).
    let usb = format!("{pci}/0000:00:14.0/usb2");
    for (port, product) in [
        ("2-1.4", "Integrated Camera"),
        ("2-1.5", "Bluetooth Adapter"),
    ] {
        put(root, &format!("{usb}/{port}/idVendor"), "04f2\n");
        put(
            root,
            &format!("{usb}/{port}/product"),
            format!("{product}\n"),
        );
        put(
            root,
            &format!("{usb}/{port}/descriptors"),
            [0x12u8, 0x01, 0x00, 0x02],
        );
    }
    let cam = format!("{usb}/2-1.4/2-1.4:1.0/video4linux");
    for (node, index, name) in [
        ("video0", "0", "Integrated Camera: Integrated C"),
        ("video1", "1", "Integrated Camera: Integrated C"),
    ] {
        put(root, &format!("{cam}/{node}/name"), format!("{name}\n"));
        put(root, &format!("{cam}/{node}/index"), format!("{index}\n"));
        ln(root, "../../../2-1.4:1.0", &format!("{cam}/{node}/device"));
        ln(
            root,
            &format!(
                "../../devices/pci0000:00/0000:00:14.0/usb2/2-1.4/2-1.4:1.0/video4linux/{node}"
            ),
            &format!("sys/class/video4linux/{node}"),
        );
    }
    let hci = format!("{usb}/2-1.5/2-1.5:1.0/bluetooth/hci0");
    put(root, &format!("{hci}/type"), "Primary\n");
    ln(root, "../../../2-1.5:1.0", &format!("{hci}/device"));
    ln(
        root,
        "../../devices/pci0000:00/0000:00:14.0/usb2/2-1.5/2-1.5:1.0/bluetooth/hci0",
        "sys/class/bluetooth/hci0",
    );

    // Sound.
    let sound = format!("{pci}/0000:00:1b.0/sound/card0");
    put(root, &format!("{sound}/id"), "PCH\n");
    put(root, &format!("{sound}/controlC0/dev"), "116:2\n");
    ln(root, "../../../0000:00:1b.0", &format!("{sound}/device"));
    ln(
        root,
        "../../devices/pci0000:00/0000:00:1b.0/sound/card0",
        "sys/class/sound/card0",
    );
    put(
        root,
        "proc/asound/cards",
        " 0 [PCH            ]: HDA-Intel - HDA Intel PCH\n                      HDA Intel PCH at 0xf0630000 irq 33\n",
    );

    // Battery and charger.
    let acpi = "sys/devices/LNXSYSTM:00/LNXSYBUS:00/PNP0C0A:00";
    let bat = format!("{acpi}/power_supply/BAT0");
    for (file, value) in [
        ("type", "Battery"),
        ("present", "1"),
        ("status", "Discharging"),
        ("technology", "Li-ion"),
        ("manufacturer", "SANYO"),
        ("model_name", "45N1111"),
        ("serial_number", "  123"),
        ("cycle_count", "412"),
        ("energy_full_design", "56160000"),
        ("energy_full", "39240000"),
        ("energy_now", "20000000"),
        ("voltage_min_design", "10800000"),
    ] {
        put(root, &format!("{bat}/{file}"), format!("{value}\n"));
    }
    ln(root, "../../../PNP0C0A:00", &format!("{bat}/device"));
    ln(
        root,
        "../../devices/LNXSYSTM:00/LNXSYBUS:00/PNP0C0A:00/power_supply/BAT0",
        "sys/class/power_supply/BAT0",
    );
    put(
        root,
        "sys/devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0003:00/power_supply/AC/type",
        "Mains\n",
    );
    put(
        root,
        "sys/devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0003:00/power_supply/AC/online",
        "1\n",
    );
    ln(
        root,
        "../../devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0003:00/power_supply/AC",
        "sys/class/power_supply/AC",
    );

    // UEFI, Secure Boot on, and a boot entry that must not travel.
    put(root, "sys/firmware/efi/fw_platform_size", "64\n");
    put(
        root,
        "sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c",
        [6u8, 0, 0, 0, 1],
    );
    put(
        root,
        "sys/firmware/efi/efivars/Boot0000-8be4df61-93ca-11d2-aa0d-00e098032b8c",
        [7u8, 0, 0, 0, 1, 0, 0, 0],
    );

    // TPM 2.0, with PCR banks the capture must not read.
    let tpm = "sys/devices/pnp0/00:05/tpm/tpm0";
    put(root, &format!("{tpm}/tpm_version_major"), "2\n");
    put(root, &format!("{tpm}/pcr-sha256/0"), "00\n");
    ln(root, "../../../00:05", &format!("{tpm}/device"));
    put(root, "sys/devices/pnp0/00:05/id", "MSFT0101\n");
    ln(
        root,
        "../../devices/pnp0/00:05/tpm/tpm0",
        "sys/class/tpm/tpm0",
    );

    // Identity.
    for (file, value) in [
        ("sys_vendor", "LENOVO"),
        ("product_name", "20AN00A1FR"),
        ("product_version", "ThinkPad T440p"),
        ("product_serial", "PF0ABCDE"),
        ("product_uuid", "11111111-2222-3333-4444-555555555555"),
        ("chassis_type", "10"),
        ("board_vendor", "LENOVO"),
        ("bios_vendor", "LENOVO"),
        ("bios_version", "GLET90WW (2.44 )"),
    ] {
        put(
            root,
            &format!("sys/devices/virtual/dmi/id/{file}"),
            format!("{value}\n"),
        );
    }
    ln(root, "../../devices/virtual/dmi/id", "sys/class/dmi/id");

    // CPU: 2 cores, 4 threads, cpufreq through the policy links.
    for n in 0..4 {
        let cpu = format!("sys/devices/system/cpu/cpu{n}");
        put(root, &format!("{cpu}/topology/physical_package_id"), "0\n");
        put(
            root,
            &format!("{cpu}/topology/core_id"),
            format!("{}\n", n % 2),
        );
        put(
            root,
            &format!("sys/devices/system/cpu/cpufreq/policy{n}/cpuinfo_max_freq"),
            "3400000\n",
        );
        ln(
            root,
            &format!("../cpufreq/policy{n}"),
            &format!("{cpu}/cpufreq"),
        );
    }
    put(root, "sys/devices/system/cpu/online", "0-3\n");
    let mut cpuinfo = String::new();
    for n in 0..4 {
        cpuinfo += &format!(
            "processor\t: {n}\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Core(TM) i5-4300M CPU @ 2.60GHz\nphysical id\t: 0\ncore id\t\t: {}\nflags\t\t: fpu vmx sse2\n\n",
            n % 2
        );
    }
    put(root, "proc/cpuinfo", cpuinfo);
    put(
        root,
        "proc/meminfo",
        "MemTotal:        8052348 kB\nMemFree:         1000000 kB\n",
    );
    put(
        root,
        "proc/cmdline",
        "BOOT_IMAGE=/live/vmlinuz boot=live quiet\n",
    );
    put(
        root,
        "proc/swaps",
        "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n",
    );
    put(
        root,
        "proc/self/mountinfo",
        "27 1 0:30 / / rw - overlay overlay rw\n\
         31 27 8:17 / /run/live/medium ro - ext4 /dev/sdb1 ro\n",
    );
    put(
        root,
        "proc/bus/input/devices",
        "I: Bus=0011 Vendor=0001 Product=0001 Version=ab41\nN: Name=\"AT Translated Set 2 keyboard\"\nB: PROP=0\n\n",
    );

    // Disks: SATA SSD, and the USB stick the bench booted from.
    let sata = format!("{pci}/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0");
    put(root, &format!("{sata}/model"), "Samsung SSD 860 \n");
    put(root, &format!("{sata}/vendor"), "ATA     \n");
    put(root, &format!("{sata}/rev"), "RVT0\n");
    let mut pg80 = vec![0u8, 0x80, 0, 12];
    pg80.extend_from_slice(b"S3Z9NB0K1234");
    put(root, &format!("{sata}/vpd_pg80"), pg80);
    let sda = format!("{sata}/block/sda");
    for (file, value) in [
        ("dev", "8:0"),
        ("size", "488397168"),
        ("removable", "0"),
        ("ro", "0"),
        ("queue/rotational", "0"),
        ("queue/logical_block_size", "512"),
        ("queue/physical_block_size", "512"),
    ] {
        put(root, &format!("{sda}/{file}"), format!("{value}\n"));
    }
    fs::create_dir_all(root.join(&sda).join("holders")).unwrap();
    ln(root, "../../../0:0:0:0", &format!("{sda}/device"));
    put(root, &format!("{sda}/sda1/partition"), "1\n");
    put(root, &format!("{sda}/sda1/dev"), "8:1\n");
    put(root, &format!("{sda}/sda1/size"), "1000000\n");
    ln(
        root,
        "../../devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sda",
        "sys/class/block/sda",
    );
    ln(
        root,
        "../../devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sda/sda1",
        "sys/class/block/sda1",
    );
    ln(
        root,
        "../devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sda",
        "sys/block/sda",
    );
    ln(
        root,
        "../../devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sda",
        "sys/dev/block/8:0",
    );
    put(
        root,
        "run/udev/data/b8:0",
        "E:ID_SERIAL_SHORT=S3Z9NB0K1234\nE:ID_WWN=0x5002538e40000000\n",
    );
    put(root, "run/udev/data/c13:64", "E:ID_INPUT=1\n");

    let stick_usb = format!("{usb}/2-1.2");
    put(root, &format!("{stick_usb}/idVendor"), "0781\n");
    put(root, &format!("{stick_usb}/product"), "Cruzer Blade\n");
    put(root, &format!("{stick_usb}/manufacturer"), "SanDisk\n");
    put(
        root,
        &format!("{stick_usb}/serial"),
        "4C530001230101117455\n",
    );
    let scsi = format!("{stick_usb}/2-1.2:1.0/host6/target6:0:0/6:0:0:0");
    put(root, &format!("{scsi}/model"), "Cruzer Blade    \n");
    put(root, &format!("{scsi}/vendor"), "SanDisk \n");
    let sdb = format!("{scsi}/block/sdb");
    for (file, value) in [
        ("dev", "8:16"),
        ("size", "30031872"),
        ("removable", "1"),
        ("ro", "0"),
        ("queue/rotational", "1"),
    ] {
        put(root, &format!("{sdb}/{file}"), format!("{value}\n"));
    }
    ln(root, "../../../6:0:0:0", &format!("{sdb}/device"));
    put(root, &format!("{sdb}/sdb1/partition"), "1\n");
    put(root, &format!("{sdb}/sdb1/dev"), "8:17\n");
    put(root, &format!("{sdb}/sdb1/size"), "30029824\n");
    let stick = "../../devices/pci0000:00/0000:00:14.0/usb2/2-1.2/2-1.2:1.0/host6/target6:0:0/6:0:0:0/block/sdb";
    ln(root, stick, "sys/class/block/sdb");
    ln(root, &format!("{stick}/sdb1"), "sys/class/block/sdb1");
    ln(root, &stick[3..], "sys/block/sdb");
    ln(root, stick, "sys/dev/block/8:16");
    put(root, "dev/sdb1", b"");
    ln(root, "../../sdb1", "dev/disk/by-label/ATELIER");

    // smartctl's answer for the SSD, saved by an earlier capture.
    let smart = fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/smart/qemu-sata-ssd-a.json"),
    )
    .unwrap();
    put(root, &format!("{CAPTURED_SMART_DIR}/sda.json"), smart);
}

/// A pci.ids written for this test (syntax of the real file), with entries for the laptop's
/// devices and others around them.
const PCI_IDS: &str = "\
# pci.ids written for the capture tests
#\tVersion: 2026.11.25
0001  Some Vendor
\t0001  Its device
8086  Intel Corporation
\t0416  4th Gen Core Processor Integrated Graphics Controller
\t\t17aa 221e  ThinkPad T440p
\t\t17aa 2210  Another ThinkPad
\t08b1  Wireless 7260
\t\t8086 c070  Dual Band Wireless-N 7260
\t0c04  Xeon E3-1200 v3/4th Gen Core Processor DRAM Controller
\t153a  Ethernet Connection I217-LM
\t8c03  8 Series/C220 Series Chipset Family 6-port SATA Controller 1 [AHCI mode]
\t8c12  8 Series/C220 Series Chipset Family PCI Express Root Port #2
\t8c20  8 Series/C220 Series Chipset High Definition Audio Controller
\t8c31  8 Series/C220 Series Chipset Family USB xHCI
\t9999  Not in this machine
17aa  Lenovo
\t1234  Not in this machine either
C 01  Mass storage controller
\t06  SATA controller
\t\t01  AHCI 1.0
C 02  Network controller
\t00  Ethernet controller
\t80  Network controller
C 03  Display controller
\t00  VGA compatible controller
C 04  Multimedia controller
\t03  Audio device
C 06  Bridge
\t00  Host bridge
\t04  PCI bridge
C 0c  Serial bus controller
\t03  USB controller
\t\t30  XHCI
C ff  Unassigned class
";

/// Captures `root` (not `/`) into a new directory and checks that the inventory of the
/// capture equals the inventory of `root`, SMART read from the saved outputs. Returns the
/// inventory of `root` and the capture's directory.
fn assert_capture_round_trips(
    root: &Path,
    tmp: &Path,
) -> (atelier_record::HardwareSection, PathBuf, CaptureReport) {
    let dest = tmp.join("capture");
    let (r, d) = (root.to_owned(), dest.clone());
    let report = within(Duration::from_secs(60), move || {
        capture::capture(&r, &d, &CaptureOptions::default()).expect("capture")
    });
    let source = InventoryOptions::captured(root, "x86_64");
    let copy = InventoryOptions::captured(&dest, "x86_64");
    let expected = comparable(&source);
    let got = comparable(&copy);
    assert_eq!(
        got,
        expected,
        "capture:\n{}\nsource:\n{}",
        serde_json::to_string_pretty(&got).unwrap(),
        serde_json::to_string_pretty(&expected).unwrap()
    );
    (take_inventory(&source), dest, report)
}

#[test]
fn a_captured_laptop_gives_the_same_inventory() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("laptop");
    laptop_tree(&root);
    let (hw, dest, report) = assert_capture_round_trips(&root, tmp.path());

    // The comparison is not vacuous: the tree has all of it.
    assert_eq!(hw.batteries.len(), 1, "{:?}", hw.warnings);
    assert_eq!(hw.screens.len(), 1, "{:?}", hw.warnings);
    assert_eq!(hw.peripherals.wifi, ["wlp3s0"]);
    assert_eq!(hw.peripherals.bluetooth, ["hci0 (Bluetooth Adapter)"]);
    assert_eq!(hw.peripherals.webcams, ["Integrated Camera: Integrated C"]);
    assert_eq!(hw.peripherals.audio, ["HDA Intel PCH"]);
    assert_eq!(
        hw.firmware.secure_boot,
        atelier_record::SecureBootState::Enabled
    );
    assert_eq!(
        hw.firmware.tpm.as_ref().and_then(|t| t.version.as_deref()),
        Some("2.0")
    );
    assert_eq!(hw.pci_devices.len(), 8);
    assert!(hw.pci_devices.iter().all(|d| d.device_name.is_some()));
    assert_eq!(hw.network.len(), 2);
    let disks: Vec<&str> = hw.disks.iter().map(|d| d.device.name.as_str()).collect();
    assert_eq!(disks, ["sda", "sdb"]);
    assert!(!hw.disks[0].boot_medium && hw.disks[1].boot_medium);
    assert_eq!(
        hw.disks[0].health.verdict,
        atelier_record::HealthVerdict::Good,
        "{:?}",
        hw.disks[0].health
    );
    assert_eq!(
        hw.cpu.as_ref().and_then(|c| c.max_frequency_mhz),
        Some(3400)
    );

    // What was left out on purpose.
    let efivars = dest.join("sys/firmware/efi/efivars");
    assert_eq!(
        names(&efivars),
        ["SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"]
    );
    assert!(names(&dest.join("sys/devices/pnp0/00:05/tpm/tpm0/pcr-sha256")).is_empty());
    let gpu = dest.join("sys/devices/pci0000:00/0000:00:02.0");
    assert!(gpu.join("vendor").is_file());
    assert!(!gpu.join("config").exists() && !gpu.join("resource0").exists());
    assert!(!dest.join("run/udev/data/c13:64").exists());
    let ids = fs::read_to_string(dest.join("usr/share/misc/pci.ids")).unwrap();
    assert!(!ids.contains("Not in this machine") && !ids.contains("Another ThinkPad"));
    assert!(ids.len() < PCI_IDS.len());
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(
        names(&dest.join(CAPTURED_SMART_DIR)),
        ["sda.json"],
        "saved smartctl outputs travel with a capture of a capture"
    );
}

#[test]
fn captured_fixture_trees_give_the_same_inventory() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    // (fixture, disks it holds, whether it has SMBIOS tables)
    for (fixture, disks, tables) in [
        ("../atelier-device/tests/fixtures/qemu-q35", 4, false),
        ("tests/fixtures/smbios/qemu-thinkpad", 0, true),
        ("tests/fixtures/smbios/qemu-i440fx-whitebox", 0, true),
    ] {
        let fixture = manifest.join(fixture);
        let tmp = tempfile::tempdir().unwrap();
        let (hw, _, _) = assert_capture_round_trips(&fixture, tmp.path());
        let what = fixture.display();
        assert_eq!(hw.disks.len(), disks, "{what}");
        assert_eq!(hw.identity.smbios_version.is_some(), tables, "{what}");
        assert_eq!(!hw.memory.slots.is_empty(), tables, "{what}");
    }
}
