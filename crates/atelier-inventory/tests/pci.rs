//! PCI: the pci.ids index over a small database written here (names invented, syntax as the
//! real file documents it), mutations of it, the sysfs reader over fixture trees, and both on
//! this machine (the real pci.ids, timed, and a cross-check of `/sys/bus/pci/devices` against
//! each device's `uevent`).

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::Instant;

use atelier_inventory::pci::{self, PciIds, ReadAt};
use atelier_record::PciDevice;
use atelier_testkit::Rng;

const IDS: &str = "\
#
#\tList of PCI IDs written for the tests
#
# Syntax:
# vendor  vendor_name
#\tdevice  device_name\t\t\t\t<-- single tab

0001  First Vendor
\t0002  First device
\t\t0001 0010  First device on a board of vendor 0001
\t\t0003 0001  Subsystem whose IDs look like a device
# A comment inside a vendor's block
\t0003  Second device
\t\t0abc 0def  Second device, board ABC

1234  Vendor Without Devices
8a86  Example Graphics Corp.
\t0166  Example GPU 3000
\t\t17aa 21fa  Example GPU 3000 in a laptop
\t1e31  Example xHCI controller
ffff  Illegal Vendor ID

# List of known device classes, subclasses and programming interfaces

C 02  Network controller
\t00  Ethernet controller
\t80  Network controller
C 03  Display controller
\t00  VGA compatible controller
\t\t00  VGA controller
\t\t01  8514 controller
\t02  3D controller
C 0c  Serial bus controller
\t03  USB controller
\t\t30  XHCI
C ff  Unassigned class
";

#[test]
fn names_vendors_devices_and_subsystems() {
    let ids = PciIds::parse(IDS);
    assert_eq!(ids.vendor_count(), 4);
    assert_eq!(ids.vendor(0x0001), Some("First Vendor"));
    assert_eq!(ids.vendor(0x8a86), Some("Example Graphics Corp."));
    assert_eq!(ids.vendor(0xffff), Some("Illegal Vendor ID"));
    assert_eq!(ids.vendor(0x8087), None);
    assert_eq!(ids.device(0x0001, 0x0002), Some("First device"));
    // Past a comment line inside the block.
    assert_eq!(ids.device(0x0001, 0x0003), Some("Second device"));
    assert_eq!(ids.device(0x8a86, 0x1e31), Some("Example xHCI controller"));
    assert_eq!(
        ids.device(0x1234, 0x0002),
        None,
        "devices belong to their vendor"
    );
    assert_eq!(
        ids.device(0x0001, 0x0166),
        None,
        "devices belong to their vendor"
    );
    assert_eq!(
        ids.subsystem(0x0001, 0x0002, 0x0001, 0x0010),
        Some("First device on a board of vendor 0001")
    );
    assert_eq!(
        ids.subsystem(0x0001, 0x0003, 0x0abc, 0x0def),
        Some("Second device, board ABC")
    );
    assert_eq!(
        ids.subsystem(0x8a86, 0x0166, 0x17aa, 0x21fa),
        Some("Example GPU 3000 in a laptop")
    );
}

#[test]
fn subsystems_belong_to_their_device() {
    let ids = PciIds::parse(IDS);
    assert_eq!(ids.subsystem(0x0001, 0x0003, 0x0001, 0x0010), None);
    assert_eq!(ids.subsystem(0x0001, 0x0002, 0x0abc, 0x0def), None);
    // The last device of a vendor does not reach into the next vendor's block.
    assert_eq!(ids.subsystem(0x8a86, 0x1e31, 0x17aa, 0x21fa), None);
    // A subsystem line is never taken for a device line, nor the reverse.
    assert_eq!(ids.device(0x0001, 0x0001), None);
    assert_eq!(ids.subsystem(0x0001, 0x0002, 0x0003, 0x0002), None);
}

#[test]
fn names_classes_subclasses_and_programming_interfaces() {
    let ids = PciIds::parse(IDS);
    assert_eq!(ids.class_count(), 4);
    assert_eq!(ids.class(0x03), Some("Display controller"));
    assert_eq!(ids.subclass(0x03, 0x02), Some("3D controller"));
    assert_eq!(ids.prog_if(0x03, 0x00, 0x01), Some("8514 controller"));
    assert_eq!(ids.prog_if(0x0c, 0x03, 0x30), Some("XHCI"));
    assert_eq!(ids.prog_if(0x03, 0x02, 0x00), None);
    assert_eq!(
        ids.class_code_name(0x030000),
        Some("VGA compatible controller")
    );
    assert_eq!(ids.class_code_name(0x020000), Some("Ethernet controller"));
    // An unlisted subclass falls back to the class.
    assert_eq!(ids.class_code_name(0x038000), Some("Display controller"));
    assert_eq!(ids.class_code_name(0xffff00), Some("Unassigned class"));
    assert_eq!(ids.class_code_name(0x130000), None);
    // Class lines are not vendors, vendors are not classes.
    assert_eq!(ids.vendor(0x0003), None);
    assert_eq!(ids.class(0x01), None);
}

#[test]
fn malformed_lines_are_skipped_and_end_the_block_before_them() {
    let text = "\
0001  Good Vendor\r
\t0002  Good device\r
zzzz  Not hex
\t0003  Device under a garbled vendor line
12345  Five digits
00ab
\t0001  Device of a vendor without name
\t
\t\t
\tzz  garbled device
C 1  One-digit class
\t00  Subclass of a garbled class line
C 04  Multimedia controller
\t01  Multimedia audio controller
ABCD  Upper Case Vendor
\t00021  Five-digit device
\t0002x  Device with a garbled ID
\t0A0B  Upper case device
\t0002  Device after look-alikes
";
    let ids = PciIds::parse(text);
    assert_eq!(ids.vendor(0x0001), Some("Good Vendor"), "CRLF line ends");
    assert_eq!(ids.device(0x0001, 0x0002), Some("Good device"));
    assert_eq!(ids.device(0x0001, 0x0003), None);
    assert_eq!(ids.vendor(0x1234), None);
    assert_eq!(ids.vendor(0x00ab), None);
    assert_eq!(
        ids.device(0x00ab, 0x0001),
        Some("Device of a vendor without name")
    );
    assert_eq!(ids.class(0x01), None);
    assert_eq!(
        ids.subclass(0x04, 0x01),
        Some("Multimedia audio controller")
    );
    assert_eq!(ids.vendor(0xabcd), Some("Upper Case Vendor"));
    assert_eq!(ids.device(0xabcd, 0x0a0b), Some("Upper case device"));
    assert_eq!(ids.device(0xabcd, 0x0002), Some("Device after look-alikes"));
    assert_eq!(ids.vendor_count(), 3);
}

#[test]
fn truncated_and_mutated_databases_never_panic() {
    let all = |ids: &PciIds<'_>| {
        for vendor in [0x0001, 0x8a86, 0xffff] {
            let _ = ids.vendor(vendor);
            for device in [0x0002, 0x0003, 0x0166] {
                let _ = ids.device(vendor, device);
                let _ = ids.subsystem(vendor, device, 0x0001, 0x0010);
            }
        }
        for code in [0x030000, 0x0c0330, 0xffff00] {
            let _ = ids.class_code_name(code);
            let _ = ids.prog_if((code >> 16) as u8, (code >> 8) as u8, code as u8);
        }
    };
    for end in (0..=IDS.len()).filter(|&end| IDS.is_char_boundary(end)) {
        all(&PciIds::parse(&IDS[..end]));
    }
    let mut rng = Rng::new(0x9c1);
    let alphabet = b"0123456789abcdefC \t\n#xz";
    for _ in 0..2000 {
        let mut bytes = IDS.as_bytes().to_vec();
        for _ in 0..1 + rng.below(8) {
            let at = rng.below(bytes.len());
            bytes[at] = alphabet[rng.below(alphabet.len())];
        }
        let text = String::from_utf8_lossy(&bytes);
        all(&PciIds::parse(&text));
    }
}

/// Writes one device directory as sysfs shows it.
fn pci_device(root: &Path, address: &str, ids: [&str; 3], subsystem: [&str; 2], driver: &str) {
    let dir = root.join("sys/bus/pci/devices").join(address);
    fs::create_dir_all(&dir).unwrap();
    let [vendor, device, class] = ids;
    for (file, value) in [
        ("vendor", vendor),
        ("device", device),
        ("class", class),
        ("subsystem_vendor", subsystem[0]),
        ("subsystem_device", subsystem[1]),
        ("revision", "0x09"),
    ] {
        fs::write(dir.join(file), format!("{value}\n")).unwrap();
    }
    if !driver.is_empty() {
        symlink(
            format!("../../../bus/pci/drivers/{driver}"),
            dir.join("driver"),
        )
        .unwrap();
    }
}

fn write_ids(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// A laptop: GPU, xHCI controller, a device unknown to the database, and a device behind an
/// Intel VMD domain, written out of order.
fn laptop(root: &Path) {
    pci_device(
        root,
        "10000:e0:06.0",
        ["0x0001", "0x0003", "0x010802"],
        ["0x0abc", "0x0def"],
        "nvme",
    );
    pci_device(
        root,
        "0000:00:14.0",
        ["0x8a86", "0x1e31", "0x0c0330"],
        ["0x17aa", "0x21fa"],
        "xhci_hcd",
    );
    pci_device(
        root,
        "0000:00:02.0",
        ["0x8a86", "0x0166", "0x030000"],
        ["0x17aa", "0x21fa"],
        "i915",
    );
    pci_device(
        root,
        "0000:03:00.0",
        ["0x5a5a", "0x0001", "0x028000"],
        ["0x0000", "0x0000"],
        "",
    );
}

#[test]
fn reads_sysfs_sorted_by_address_and_named() {
    let tmp = tempfile::tempdir().unwrap();
    laptop(tmp.path());
    write_ids(tmp.path(), "usr/share/misc/pci.ids", IDS);
    let (devices, warnings) = pci::read_pci_devices(tmp.path());
    assert!(warnings.is_empty(), "{warnings:?}");
    let addresses: Vec<&str> = devices.iter().map(|d| d.address.as_str()).collect();
    assert_eq!(
        addresses,
        [
            "0000:00:02.0",
            "0000:00:14.0",
            "0000:03:00.0",
            "10000:e0:06.0"
        ]
    );
    assert_eq!(
        devices[0],
        PciDevice {
            address: "0000:00:02.0".into(),
            class_code: "030000".into(),
            class_name: Some("VGA compatible controller".into()),
            vendor_id: "8a86".into(),
            device_id: "0166".into(),
            vendor_name: Some("Example Graphics Corp.".into()),
            device_name: Some("Example GPU 3000".into()),
            subsystem_vendor_id: Some("17aa".into()),
            subsystem_device_id: Some("21fa".into()),
            subsystem_name: Some("Example GPU 3000 in a laptop".into()),
            revision: Some("09".into()),
            driver: Some("i915".into()),
            is_gpu: true,
        }
    );
    let xhci = &devices[1];
    assert_eq!(xhci.class_name.as_deref(), Some("USB controller"));
    assert_eq!(xhci.subsystem_name, None, "not listed under this device");
    assert!(!xhci.is_gpu);
    let unknown = &devices[2];
    assert_eq!(
        (
            unknown.vendor_name.as_deref(),
            unknown.device_name.as_deref()
        ),
        (None, None)
    );
    assert_eq!(unknown.class_name.as_deref(), Some("Network controller"));
    assert_eq!(unknown.subsystem_vendor_id, None, "0000 means no subsystem");
    assert_eq!(unknown.driver, None);
    assert_eq!(
        devices[3].subsystem_name.as_deref(),
        Some("Second device, board ABC")
    );
}

#[test]
fn database_is_looked_up_in_misc_then_hwdata() {
    let tmp = tempfile::tempdir().unwrap();
    laptop(tmp.path());
    let renamed = IDS.replace("Example Graphics Corp.", "From hwdata");
    write_ids(tmp.path(), "usr/share/hwdata/pci.ids", &renamed);
    let (devices, warnings) = pci::read_pci_devices(tmp.path());
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(devices[0].vendor_name.as_deref(), Some("From hwdata"));

    write_ids(tmp.path(), "usr/share/misc/pci.ids", IDS);
    let (devices, _) = pci::read_pci_devices(tmp.path());
    assert_eq!(
        devices[0].vendor_name.as_deref(),
        Some("Example Graphics Corp.")
    );
}

#[test]
fn missing_database_leaves_names_absent_with_one_warning() {
    let tmp = tempfile::tempdir().unwrap();
    laptop(tmp.path());
    let (devices, warnings) = pci::read_pci_devices(tmp.path());
    assert_eq!(devices.len(), 4);
    for device in &devices {
        assert_eq!(device.vendor_name, None);
        assert_eq!(device.device_name, None);
        assert_eq!(device.class_name, None);
    }
    assert!(devices[0].is_gpu, "the class code alone tells a GPU");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].probe, "pci");
    assert!(
        warnings[0]
            .message
            .contains("install the `pci.ids` package"),
        "{}",
        warnings[0].message
    );
}

#[test]
fn a_database_without_vendors_is_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    laptop(tmp.path());
    write_ids(tmp.path(), "usr/share/misc/pci.ids", "# truncated\n");
    let (devices, warnings) = pci::read_pci_devices(tmp.path());
    assert_eq!(devices.len(), 4);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].message.contains("lists no vendor"));
}

#[test]
fn garbled_devices_are_left_out_with_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    laptop(tmp.path());
    write_ids(tmp.path(), "usr/share/misc/pci.ids", IDS);
    let devices_dir = tmp.path().join("sys/bus/pci/devices");
    fs::remove_file(devices_dir.join("0000:00:14.0/vendor")).unwrap();
    fs::write(devices_dir.join("0000:00:02.0/class"), "0xzz\n").unwrap();
    fs::write(devices_dir.join("0000:03:00.0/device"), "0x123456\n").unwrap();
    fs::write(devices_dir.join("10000:e0:06.0/revision"), "").unwrap();
    let (devices, warnings) = pci::read_pci_devices(tmp.path());
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].address, "10000:e0:06.0");
    assert_eq!(devices[0].revision, None, "an empty revision file");
    let mut messages: Vec<&str> = warnings.iter().map(|w| w.message.as_str()).collect();
    messages.sort();
    assert_eq!(
        messages,
        [
            "0000:00:02.0: `class` is missing or not a hex number",
            "0000:00:14.0: `vendor` is missing or not a hex number",
            "0000:03:00.0: `device` is missing or not a hex number",
        ]
    );
}

#[test]
fn a_machine_without_pci_has_no_devices_and_no_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let (devices, warnings) = pci::read_pci_devices(tmp.path());
    assert!(devices.is_empty());
    assert!(warnings.is_empty(), "{warnings:?}");
}

/// The machine's pci.ids, or `None` (outside CI) when the `pci.ids` package is not installed.
fn real_database() -> Option<String> {
    match pci::find_pci_ids(Path::new("/")) {
        Some(path) => Some(fs::read_to_string(path).expect("pci.ids readable")),
        None if atelier_testkit::in_ci() => panic!("pci.ids missing: run scripts/setup.sh"),
        None => {
            eprintln!("skipped: no pci.ids on this machine (install the `pci.ids` package)");
            None
        }
    }
}

#[test]
fn indexes_the_real_database_quickly() {
    let Some(text) = real_database() else { return };
    let started = Instant::now();
    let ids = PciIds::parse(&text);
    let indexed = started.elapsed();
    let started = Instant::now();
    let intel = ids.vendor(0x8086);
    let virtio_net = ids.device(0x1af4, 0x1041);
    let looked_up = started.elapsed();
    // The worst case: the last device of the largest vendor block (Intel, ~8,500 lines), looked
    // up as many times as a laptop has devices. Found here by walking the lines.
    let (last_id, last_name) = text
        .split("\n8086  ")
        .nth(1)
        .unwrap()
        .lines()
        .skip(1)
        .take_while(|line| line.starts_with(['\t', '#']))
        .filter_map(|line| line.strip_prefix('\t')?.split_once("  "))
        .filter(|(id, _)| id.len() == 4)
        .last()
        .unwrap();
    let last_id = u16::from_str_radix(last_id, 16).unwrap();
    let started = Instant::now();
    for _ in 0..30 {
        assert_eq!(ids.device(0x8086, last_id), Some(last_name.trim()));
    }
    let worst = started.elapsed();
    eprintln!(
        "pci.ids: {} bytes, {} vendors, {} classes, indexed in {indexed:?}, two lookups in \
         {looked_up:?}, 30 lookups at the end of Intel's block in {worst:?}",
        text.len(),
        ids.vendor_count(),
        ids.class_count()
    );
    assert_eq!(intel, Some("Intel Corporation"));
    assert_eq!(virtio_net, Some("Virtio 1.0 network device"));
    assert_eq!(
        ids.class_code_name(0x030000),
        Some("VGA compatible controller")
    );
    assert_eq!(ids.prog_if(0x0c, 0x03, 0x30), Some("XHCI"));
    assert!(ids.vendor_count() > 2000, "{}", ids.vendor_count());
    assert!(ids.class_count() > 15, "{}", ids.class_count());
}

/// One `KEY=VALUE` line of a uevent file.
fn uevent_value(uevent: &str, key: &str) -> Option<String> {
    uevent
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
        .map(str::to_owned)
}

#[test]
fn reads_this_machine_and_agrees_with_uevent() {
    let root = Path::new("/");
    let started = Instant::now();
    let (devices, warnings) = pci::read_pci_devices(root);
    eprintln!(
        "read_pci_devices(/): {} devices in {:?}, warnings {warnings:?}",
        devices.len(),
        started.elapsed()
    );
    let dir = root.join("sys/bus/pci/devices");
    let Ok(entries) = fs::read_dir(&dir) else {
        assert!(devices.is_empty());
        return;
    };
    assert_eq!(devices.len(), entries.count());
    let database = pci::find_pci_ids(root).is_some();
    assert_eq!(warnings.is_empty(), database, "{warnings:?}");
    for device in &devices {
        let uevent = fs::read_to_string(dir.join(&device.address).join("uevent")).unwrap();
        let id = uevent_value(&uevent, "PCI_ID").unwrap().to_lowercase();
        assert_eq!(id, format!("{}:{}", device.vendor_id, device.device_id));
        // uevent prints the class without leading zeros.
        let class = uevent_value(&uevent, "PCI_CLASS").unwrap().to_lowercase();
        assert_eq!(format!("{class:0>6}"), device.class_code);
        assert_eq!(uevent_value(&uevent, "DRIVER"), device.driver);
        assert_eq!(
            uevent_value(&uevent, "PCI_SLOT_NAME").as_deref(),
            Some(device.address.as_str())
        );
        if let (Some(sv), Some(sd)) = (&device.subsystem_vendor_id, &device.subsystem_device_id) {
            let subsystem = uevent_value(&uevent, "PCI_SUBSYS_ID")
                .unwrap()
                .to_lowercase();
            assert_eq!(subsystem, format!("{sv}:{sd}"));
        }
        if database {
            assert!(device.vendor_name.is_some(), "{device:?}");
            assert!(device.class_name.is_some(), "{device:?}");
        }
    }
    let mut sorted = devices.clone();
    sorted.sort_by(|a, b| a.address.cmp(&b.address));
    assert_eq!(sorted, devices, "one PCI domain here: sorted by text too");
}

/// A reader that hands out at most `step` bytes a call, to put line ends across reads.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Every vendor and class header of a pci.ids text.
fn headers(text: &str) -> (Vec<u16>, Vec<u8>) {
    let mut vendors = Vec::new();
    let mut classes = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("C ") {
            if let Ok(c) = u8::from_str_radix(rest.get(..2).unwrap_or(""), 16) {
                classes.push(c);
            }
        } else if !line.starts_with(['\t', '#'])
            && let Ok(v) = u16::from_str_radix(line.get(..4).unwrap_or(""), 16)
        {
            vendors.push(v);
        }
    }
    (vendors, classes)
}

/// Asserts that `selected` names the given vendors and classes as `full` does.
fn assert_same_names(full: &PciIds<'_>, selected: &PciIds<'_>, vendors: &[u16], classes: &[u8]) {
    for &v in vendors {
        assert_eq!(full.vendor(v), selected.vendor(v), "vendor {v:04x}");
        for d in [0x0000u16, 0x0001, 0x1234, 0x2000, 0xa000, 0xffff] {
            assert_eq!(full.device(v, d), selected.device(v, d), "{v:04x}:{d:04x}");
        }
    }
    for &c in classes {
        assert_eq!(full.class(c), selected.class(c), "class {c:02x}");
        for sc in 0..=0x10u8 {
            assert_eq!(full.subclass(c, sc), selected.subclass(c, sc));
            assert_eq!(full.prog_if(c, sc, 0x00), selected.prog_if(c, sc, 0x00));
        }
    }
}

/// The extract of the machine's vendors and classes (what the inventory indexes) names
/// everything exactly as the whole database does, on the hand-written database and on the real
/// one, for every vendor / class it has, read in one go or a few bytes at a time.
#[test]
fn the_extract_names_everything_as_the_whole_database() {
    let mut texts = vec![IDS.to_owned()];
    texts.extend(real_database());
    for text in &texts {
        let full = PciIds::parse(text);
        let (mut vendors, mut classes) = headers(text);
        // Absent ones too.
        vendors.extend([0x0000, 0xfffe]);
        classes.push(0xfe);
        let extract = pci::extract_selected(text.as_bytes(), &vendors, &classes).unwrap();
        let selected = PciIds::parse(&extract);
        assert_same_names(&full, &selected, &vendors, &classes);
        // Found by bisection (the sorted database), the same names; with the absent IDs, the
        // whole-file read.
        let present = headers(text);
        let bisected = pci::extract_selected_at(text.as_bytes(), &present.0, &present.1).unwrap();
        assert_same_names(&full, &PciIds::parse(&bisected), &present.0, &present.1);
        let with_absent = pci::extract_selected_at(text.as_bytes(), &vendors, &classes).unwrap();
        assert_same_names(&full, &PciIds::parse(&with_absent), &vendors, &classes);
        // Only what was asked: one vendor and one class, found both ways.
        let (v, c) = (vendors[vendors.len() / 2], classes[0]);
        for small in [
            pci::extract_selected(text.as_bytes(), &[v], &[c]).unwrap(),
            pci::extract_selected_at(text.as_bytes(), &[v], &[c]).unwrap(),
        ] {
            let one = PciIds::parse(&small);
            assert_same_names(&full, &one, &[v], &[c]);
            assert_eq!((one.vendor_count(), one.class_count()), (1, 1));
            assert!(small.len() < text.len() / 2, "{} bytes", small.len());
        }
        // Line ends across reads give the same extract.
        for step in [1, 7, 4096] {
            if step == 1 && text.len() > 100_000 {
                continue;
            }
            let trickled = Trickle {
                data: text.as_bytes(),
                step,
            };
            assert_eq!(
                pci::extract_selected(trickled, &vendors, &classes).unwrap(),
                extract,
                "step {step}"
            );
        }
    }
}

/// A [`ReadAt`] that counts the bytes it hands out.
struct Counting<'a> {
    data: &'a [u8],
    read: std::cell::Cell<u64>,
}

impl ReadAt for Counting<'_> {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        let n = self.data.read_at(buf, offset)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
    fn len(&self) -> std::io::Result<u64> {
        Ok(self.data.len() as u64)
    }
}

/// On the real (sorted) database, the machine's vendors and classes are found by bisection:
/// a small part of the file is read, and the whole-file read is used only for an absent ID.
#[test]
fn the_real_database_is_bisected_not_read_whole() {
    let Some(text) = real_database() else { return };
    let full = PciIds::parse(&text);
    let total = text.len() as u64;
    // This VM's vendor and classes; Intel (its 375 KB block is read whole); NVIDIA.
    for (vendors, classes, at_most) in [
        (
            &[0x1af4u16][..],
            &[0x01u8, 0x02, 0x06, 0xff][..],
            total / 10,
        ),
        (
            &[0x1af4, 0x8086][..],
            &[0x01, 0x02, 0x06, 0xff][..],
            total * 7 / 10,
        ),
        (&[0x10de][..], &[0x03][..], total / 5),
    ] {
        let source = Counting {
            data: text.as_bytes(),
            read: std::cell::Cell::new(0),
        };
        let extract = pci::extract_selected_at(&source, vendors, classes).unwrap();
        assert_same_names(&full, &PciIds::parse(&extract), vendors, classes);
        let read = source.read.get();
        eprintln!("{vendors:04x?} {classes:02x?}: {read} of {total} bytes read");
        assert!(read <= at_most, "{read} bytes read for {vendors:04x?}");
    }
    // An absent vendor: the whole file, and the same names.
    let source = Counting {
        data: text.as_bytes(),
        read: std::cell::Cell::new(0),
    };
    let extract = pci::extract_selected_at(&source, &[0x1af4, 0xfff0], &[0x02]).unwrap();
    assert_same_names(&full, &PciIds::parse(&extract), &[0x1af4, 0xfff0], &[0x02]);
    assert!(source.read.get() >= total);
}

/// A database whose vendors are not in order is still read right (the bisection misses, the
/// whole file is then read).
#[test]
fn an_unsorted_database_is_read_whole() {
    let mut text = String::from("# unsorted\n");
    for v in (0..400u16).rev() {
        text.push_str(&format!(
            "{:04x}  Vendor {v}\n\t0001  Device of {v}\n",
            v * 7
        ));
    }
    text.push_str("C 02  Network controller\n\t00  Ethernet controller\nC 01  Mass storage\n");
    let full = PciIds::parse(&text);
    let vendors: Vec<u16> = [3u16, 150, 399].iter().map(|v| v * 7).collect();
    let extract = pci::extract_selected_at(text.as_bytes(), &vendors, &[1, 2]).unwrap();
    let selected = PciIds::parse(&extract);
    assert_same_names(&full, &selected, &vendors, &[1, 2]);
    assert_eq!(selected.device(150 * 7, 1), Some("Device of 150"));
    assert_eq!(selected.class(1), Some("Mass storage"));
}

/// A line longer than the read buffer, a last line without a line feed, a malformed header, a
/// duplicate vendor and bytes that are not UTF-8 are read as the whole-file index reads them.
#[test]
fn the_extract_handles_long_lines_duplicates_and_bad_bytes() {
    let long_name = "x".repeat(200_000);
    let mut text = format!(
        "# comment\n1234  First\n\t0001  Dev one\nzz  not a header\n\t0002  orphan\n\
         1234  Duplicate\n\t0003  Dev three\n5678  {long_name}\n\t0001  After long\n"
    )
    .into_bytes();
    text.extend_from_slice(
        b"9abc  Bad \xff name\n\t0001  Dev\nC 02  Network controller\n\t00  Ethernet controller",
    );
    let lossy = String::from_utf8_lossy(&text).into_owned();
    let full = PciIds::parse(&lossy);
    let vendors = [0x1234, 0x5678, 0x9abc];
    let extract = pci::extract_selected(&text[..], &vendors, &[0x02]).unwrap();
    let selected = PciIds::parse(&extract);
    assert_same_names(&full, &selected, &vendors, &[0x02]);
    // Not in order (and a malformed header): the bisection gives way to the whole-file read.
    let bisected = pci::extract_selected_at(&text[..], &vendors, &[0x02]).unwrap();
    assert_same_names(&full, &PciIds::parse(&bisected), &vendors, &[0x02]);
    assert_eq!(selected.vendor(0x1234), Some("First"));
    assert_eq!(selected.device(0x1234, 0x0002), None);
    assert_eq!(selected.device(0x5678, 0x0001), Some("After long"));
    assert_eq!(selected.vendor(0x5678), Some(long_name.as_str()));
    assert_eq!(selected.vendor(0x9abc), Some("Bad \u{fffd} name"));
    assert_eq!(selected.subclass(0x02, 0x00), Some("Ethernet controller"));
}
