//! PCI devices, from sysfs, named through the pci.ids database.
//!
//! # Kernel files
//!
//! Every directory of `/sys/bus/pci/devices/` is one PCI function, named by its address
//! (`0000:00:02.0`). Its attribute files (Documentation/ABI/testing/sysfs-bus-pci, and
//! Documentation/PCI/sysfs-pci.rst) hold hexadecimal numbers written `0x8086`:
//!
//! | file | field |
//! |---|---|
//! | `vendor`, `device` | vendor and device IDs (16 bits) |
//! | `class` | class code, 24 bits: class, subclass, programming interface |
//! | `subsystem_vendor`, `subsystem_device` | subsystem IDs (16 bits) |
//! | `revision` | revision (8 bits) |
//! | `driver` | symbolic link to the bound driver, `../../../bus/pci/drivers/NAME` |
//!
//! A subsystem vendor of `0000` or `ffff` means "no subsystem" (devices such as host bridges
//! leave the registers empty); both subsystem IDs are then absent from the record.
//!
//! # The pci.ids database
//!
//! Names come from the PCI ID Project's `pci.ids` (Debian package `pci.ids`), looked up at
//! `<root>/usr/share/misc/pci.ids`, then `<root>/usr/share/hwdata/pci.ids` ([`PCI_IDS_PATHS`]).
//! Its syntax is documented in comments at the top of the file itself:
//!
//! ```text
//! vendor  vendor_name
//! <TAB>device  device_name
//! <TAB><TAB>subvendor subdevice  subsystem_name
//! C class  class_name
//! <TAB>subclass  subclass_name
//! <TAB><TAB>prog-if  prog-if_name
//! ```
//!
//! with `#` starting a comment line. The inventory uses [`PciIds::parse_selected`], which finds
//! only the vendors and classes present on the machine with a substring search (the whole-file
//! walk of the full index cost about half of the inventory's run time). [`PciIds::parse`] reads the ~1.4 MB file in one pass that
//! only looks at the top-level lines (vendors and classes, about 2,500) and keeps, for each, the
//! slice of the text that holds its devices or subclasses; nothing is copied. A lookup then
//! searches that one block for the entry's line.
//!
//! Measured on the bench's development VM with the 2023 database (1.36 MB, 2,325 vendors), in an
//! optimised build: indexing takes about 1.2 ms; a lookup costs at most about 0.3 ms (a device at
//! the end of Intel's 8,500-line block), so a laptop with 30 PCI functions is named in about
//! 10 ms; [`read_pci_devices`] on the VM's 6 devices takes about 4 ms, file read included. A
//! debug build is about ten times slower. `tests/pci.rs` prints these figures.
//!
//! A missing database is not an error: devices keep their IDs, names are absent and the probe
//! leaves one warning that says to install the `pci.ids` package.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use atelier_record::{PciDevice, ProbeWarning};

/// Where the pci.ids database is looked for, under the root, in order: Debian's `pci.ids`
/// package, then the `hwdata` location used by Fedora and Arch.
pub const PCI_IDS_PATHS: [&str; 2] = ["usr/share/misc/pci.ids", "usr/share/hwdata/pci.ids"];

/// The probe name in warnings.
const PROBE: &str = "pci";

/// An index over the text of a pci.ids database: for each vendor and each device class, the
/// block of lines that belongs to it. Lookups borrow names from the text.
#[derive(Debug, Clone, Default)]
pub struct PciIds<'a> {
    vendors: HashMap<u16, Entry<'a>>,
    classes: HashMap<u8, Entry<'a>>,
}

/// A top-level line's name and the indented lines that follow it.
#[derive(Debug, Clone, Copy)]
struct Entry<'a> {
    name: Option<&'a str>,
    block: &'a str,
}

/// Which kind of top-level entry the lines being read belong to.
enum Section {
    Vendor(u16),
    Class(u8),
    Unknown,
}

impl<'a> PciIds<'a> {
    /// Indexes the text of a pci.ids file. Never fails: lines that do not follow the syntax are
    /// skipped (a malformed top-level line also ends the block before it).
    pub fn parse(text: &'a str) -> Self {
        let mut ids = PciIds::default();
        let mut current: Option<(Section, Option<&'a str>, usize)> = None;
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            let start = offset;
            offset += line.len();
            if matches!(
                line.as_bytes().first(),
                None | Some(b'\t' | b'#' | b'\n' | b'\r')
            ) {
                continue;
            }
            // A top-level line: close the block before it.
            if let Some((section, name, body)) = current.take() {
                ids.insert(section, name, &text[body..start]);
            }
            let line_has_newline = line.ends_with('\n');
            let line = line.trim_end();
            let (section, name) = if let Some(rest) = line.strip_prefix("C ") {
                match split_id(rest, 2) {
                    Some((class, name)) => (Section::Class(class as u8), name),
                    None => (Section::Unknown, None),
                }
            } else {
                match split_id(line, 4) {
                    Some((vendor, name)) => (Section::Vendor(vendor as u16), name),
                    None => (Section::Unknown, None),
                }
            };
            // The block starts at the header's line feed, so that every line of it follows one.
            let body = if line_has_newline { offset - 1 } else { offset };
            current = Some((section, name, body));
        }
        if let Some((section, name, body)) = current {
            ids.insert(section, name, &text[body.min(text.len())..]);
        }
        ids
    }

    /// Indexes only the given vendors and classes, finding each header line with a substring
    /// search instead of walking every line: what the inventory needs for the handful of IDs a
    /// machine has (a few hundred microseconds instead of a whole-file pass). Lookups of other
    /// vendors or classes find nothing.
    pub fn parse_selected(text: &'a str, vendors: &[u16], classes: &[u8]) -> Self {
        let mut ids = PciIds::default();
        for &vendor in vendors {
            let header = [format!("{vendor:04x}  "), format!("{vendor:04X}  ")];
            if let Some((name, block)) = find_top_level(text, &header) {
                ids.insert(Section::Vendor(vendor), name, block);
            }
        }
        for &class in classes {
            let header = [format!("C {class:02x}  "), format!("C {class:02X}  ")];
            if let Some((name, block)) = find_top_level(text, &header) {
                ids.insert(Section::Class(class), name, block);
            }
        }
        ids
    }

    fn insert(&mut self, section: Section, name: Option<&'a str>, block: &'a str) {
        let entry = Entry { name, block };
        match section {
            Section::Vendor(id) => {
                self.vendors.entry(id).or_insert(entry);
            }
            Section::Class(id) => {
                self.classes.entry(id).or_insert(entry);
            }
            Section::Unknown => {}
        }
    }

    /// Number of vendors in the database.
    pub fn vendor_count(&self) -> usize {
        self.vendors.len()
    }

    /// Number of device classes in the database.
    pub fn class_count(&self) -> usize {
        self.classes.len()
    }

    /// The vendor's name.
    pub fn vendor(&self, vendor: u16) -> Option<&'a str> {
        self.vendors.get(&vendor)?.name
    }

    /// The device's name.
    pub fn device(&self, vendor: u16, device: u16) -> Option<&'a str> {
        let block = self.vendors.get(&vendor)?.block;
        first_level_entry(block, Shape::Four, u32::from(device))?.0
    }

    /// The name of a subsystem (a board or card built around the device), listed under the
    /// device it is built around.
    pub fn subsystem(
        &self,
        vendor: u16,
        device: u16,
        subsystem_vendor: u16,
        subsystem_device: u16,
    ) -> Option<&'a str> {
        let block = self.vendors.get(&vendor)?.block;
        let wanted = (u32::from(subsystem_vendor) << 16) | u32::from(subsystem_device);
        let (_, after_device) = first_level_entry(block, Shape::Four, u32::from(device))?;
        second_level_entry(after_device, Shape::Pair, wanted)
    }

    /// The class's name, e.g. "Display controller".
    pub fn class(&self, class: u8) -> Option<&'a str> {
        self.classes.get(&class)?.name
    }

    /// The subclass's name, e.g. "VGA compatible controller" for class 03, subclass 00.
    pub fn subclass(&self, class: u8, subclass: u8) -> Option<&'a str> {
        let block = self.classes.get(&class)?.block;
        first_level_entry(block, Shape::Two, u32::from(subclass))?.0
    }

    /// The programming interface's name, e.g. "XHCI" for class 0c, subclass 03, prog-if 30.
    pub fn prog_if(&self, class: u8, subclass: u8, prog_if: u8) -> Option<&'a str> {
        let block = self.classes.get(&class)?.block;
        let (_, after_subclass) = first_level_entry(block, Shape::Two, u32::from(subclass))?;
        second_level_entry(after_subclass, Shape::Two, u32::from(prog_if))
    }

    /// The name a class code goes by: the subclass's name when listed (what `lspci` shows),
    /// else the class's name.
    pub fn class_code_name(&self, class_code: u32) -> Option<&'a str> {
        let class = (class_code >> 16) as u8;
        let subclass = (class_code >> 8) as u8;
        self.subclass(class, subclass).or_else(|| self.class(class))
    }
}

/// How the ID of an indented line is written.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// Four hex digits: a device.
    Four,
    /// Two hex digits: a subclass or a programming interface.
    Two,
    /// Two IDs of four hex digits: a subsystem (`ssss dddd`), returned as one 32-bit number.
    Pair,
}

/// Splits `ID  name` where the ID is `digits` hex digits followed by white space. A missing or
/// empty name is `None`.
fn split_id(line: &str, digits: usize) -> Option<(u32, Option<&str>)> {
    let id = line.get(..digits)?;
    let rest = &line[digits..];
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return None;
    }
    let id = parse_hex_digits(id)?;
    let name = rest.trim();
    Some((id, (!name.is_empty()).then_some(name)))
}

/// Parses the ID and name of an indented line, its tabs already removed.
fn split_entry(text: &str, shape: Shape) -> Option<(u32, Option<&str>)> {
    match shape {
        Shape::Four => split_id(text, 4),
        Shape::Two => split_id(text, 2),
        Shape::Pair => {
            let (high, rest) = split_id(text, 4)?;
            let (low, name) = split_id(rest?, 4)?;
            Some(((high << 16) | low, name))
        }
    }
}

/// Parses hex digits only (no sign, no prefix).
fn parse_hex_digits(digits: &str) -> Option<u32> {
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(digits, 16).ok()
}

/// A comment or blank line, which does not end a block.
fn is_filler(line: &str) -> bool {
    let line = line.trim_start();
    line.is_empty() || line.starts_with('#')
}

/// Finds entry `id` among the lines indented by one tab (devices, subclasses) of a block that
/// begins with a line feed. Returns its name and the text after its line, where its own
/// entries (subsystems, programming interfaces) come first.
///
/// The largest vendor block (Intel's) holds about 8,500 lines: rather than walking them, the
/// block is searched for the line feed, tab and hex ID that start the entry's line (the
/// database writes IDs in lower case; upper case is tried too), and the candidate line is then
/// parsed to confirm it.
fn first_level_entry(block: &str, shape: Shape, id: u32) -> Option<(Option<&str>, &str)> {
    let digits = match shape {
        Shape::Two => format!("{id:02x}"),
        Shape::Four | Shape::Pair => format!("{id:04x}"),
    };
    let upper = digits.to_ascii_uppercase();
    let keys = if upper == digits {
        vec![digits]
    } else {
        vec![digits, upper]
    };
    for key in keys {
        let pattern = format!("\n\t{key}");
        let mut from = 0;
        while let Some(found) = block[from..].find(&pattern) {
            let line_start = from + found + 1;
            let line_end = block[line_start..]
                .find('\n')
                .map_or(block.len(), |end| line_start + end);
            let line = block[line_start + 1..line_end].trim_end();
            if let Some((entry, name)) = split_entry(line, shape)
                && entry == id
            {
                return Some((name, &block[line_end..]));
            }
            from = line_end;
        }
    }
    None
}

/// The name of entry `id` among the lines indented by two tabs at the start of `text`, up to
/// the first less indented line.
fn second_level_entry(text: &str, shape: Shape, id: u32) -> Option<&str> {
    text.lines()
        .filter(|line| !is_filler(line))
        .take_while(|line| indent(line) >= 2)
        .filter(|line| indent(line) == 2)
        .filter_map(|line| split_entry(line[2..].trim_end(), shape))
        .find(|(entry, _)| *entry == id)?
        .1
}

/// Number of leading tabs.
fn indent(line: &str) -> usize {
    line.bytes().take_while(|&b| b == b'\t').count()
}

/// Finds the top-level line starting with one of `headers` (at the start of a line) and
/// returns its name and its block (from the header's line feed to the next top-level line),
/// like [`PciIds::parse`] would.
fn find_top_level<'a>(text: &'a str, headers: &[String]) -> Option<(Option<&'a str>, &'a str)> {
    let start = headers.iter().find_map(|header| {
        if text.starts_with(header.as_str()) {
            return Some(0);
        }
        let needle = format!("\n{header}");
        memchr::memmem::find(text.as_bytes(), needle.as_bytes()).map(|at| at + 1)
    })?;
    let line_end = text[start..].find('\n').map_or(text.len(), |e| start + e);
    let line = text[start..line_end].trim_end();
    let name = match line.strip_prefix("C ") {
        Some(rest) => split_id(rest, 2)?.1,
        None => split_id(line, 4)?.1,
    };
    // The block runs until the next line that is not indented, blank or a comment.
    let mut end = line_end;
    while end < text.len() {
        let next = end + 1;
        match text.as_bytes().get(next) {
            None => {
                end = text.len();
                break;
            }
            Some(b'\t' | b'#' | b'\n' | b'\r') => {
                end = text[next..].find('\n').map_or(text.len(), |e| next + e);
            }
            Some(_) => break,
        }
    }
    Some((name, &text[line_end.min(text.len())..end]))
}

/// The first pci.ids database found under `root` ([`PCI_IDS_PATHS`]).
pub fn find_pci_ids(root: &Path) -> Option<PathBuf> {
    PCI_IDS_PATHS
        .iter()
        .map(|path| root.join(path))
        .find(|path| path.is_file())
}

/// Fills the names of devices read from sysfs (vendor, device, subsystem, class) from a
/// pci.ids index. Devices whose IDs are not listed keep `None`.
pub fn name_devices(devices: &mut [PciDevice], ids: &PciIds<'_>) {
    for device in devices {
        let vendor = parse_hex_digits(&device.vendor_id).and_then(|v| u16::try_from(v).ok());
        let id = parse_hex_digits(&device.device_id).and_then(|v| u16::try_from(v).ok());
        let subsystem = device
            .subsystem_vendor_id
            .as_deref()
            .zip(device.subsystem_device_id.as_deref())
            .and_then(|(sv, sd)| {
                let sv = u16::try_from(parse_hex_digits(sv)?).ok()?;
                let sd = u16::try_from(parse_hex_digits(sd)?).ok()?;
                Some((sv, sd))
            });
        if let Some(vendor) = vendor {
            device.vendor_name = ids.vendor(vendor).map(str::to_owned);
            if let Some(id) = id {
                device.device_name = ids.device(vendor, id).map(str::to_owned);
                if let Some((sv, sd)) = subsystem {
                    device.subsystem_name = ids.subsystem(vendor, id, sv, sd).map(str::to_owned);
                }
            }
        }
        if let Some(class_code) = parse_hex_digits(&device.class_code) {
            device.class_name = ids.class_code_name(class_code).map(str::to_owned);
        }
    }
}

/// Reads every PCI function under `<root>/sys/bus/pci/devices`, sorted by address, and names
/// them through the pci.ids database found under `root`.
///
/// A machine without a PCI bus (many ARM boards) has no `sys/bus/pci` at all: no devices and no
/// warning. A device whose vendor, device or class file cannot be read is left out with a
/// warning; a missing database leaves the names absent with one warning.
pub fn read_pci_devices(root: &Path) -> (Vec<PciDevice>, Vec<ProbeWarning>) {
    let (mut devices, mut warnings) = read_sysfs_devices(root);
    if devices.is_empty() {
        return (devices, warnings);
    }
    match find_pci_ids(root) {
        None => warnings.push(warning(format!(
            "no pci.ids database at /{} or /{}: PCI devices are not named (install the `pci.ids` package)",
            PCI_IDS_PATHS[0], PCI_IDS_PATHS[1]
        ))),
        Some(path) => match fs::read(&path) {
            Err(e) => warnings.push(warning(format!(
                "cannot read {}: {e}: PCI devices are not named",
                path.display()
            ))),
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                let vendors: Vec<u16> = devices
                    .iter()
                    .filter_map(|d| parse_hex_digits(&d.vendor_id))
                    .filter_map(|v| u16::try_from(v).ok())
                    .collect();
                let classes: Vec<u8> = devices
                    .iter()
                    .filter_map(|d| parse_hex_digits(&d.class_code))
                    .map(|c| (c >> 16) as u8)
                    .collect();
                let ids = PciIds::parse_selected(&text, &vendors, &classes);
                if ids.vendor_count() == 0 && ids.class_count() == 0 {
                    warnings.push(warning(format!(
                        "{} lists no vendor: PCI devices are not named (reinstall the `pci.ids` package)",
                        path.display()
                    )));
                } else {
                    name_devices(&mut devices, &ids);
                }
            }
        },
    }
    (devices, warnings)
}

/// Reads the IDs, class, revision and driver of every device, without names.
fn read_sysfs_devices(root: &Path) -> (Vec<PciDevice>, Vec<ProbeWarning>) {
    let dir = root.join("sys/bus/pci/devices");
    let mut warnings = Vec::new();
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return (Vec::new(), warnings),
        Err(e) => {
            warnings.push(warning(format!("cannot list /sys/bus/pci/devices: {e}")));
            return (Vec::new(), warnings);
        }
    };
    let mut devices = Vec::new();
    for entry in entries.flatten() {
        let address = entry.file_name().to_string_lossy().into_owned();
        let path = dir.join(&address);
        match read_device(&path, &address) {
            Ok(device) => devices.push(device),
            Err(message) => warnings.push(warning(format!("{address}: {message}"))),
        }
    }
    devices.sort_by(|a, b| address_key(&a.address).cmp(&address_key(&b.address)));
    (devices, warnings)
}

/// Reads one device directory. The error says which file was missing or garbled.
fn read_device(path: &Path, address: &str) -> Result<PciDevice, String> {
    let vendor = required_hex(path, "vendor", 0xffff)?;
    let device = required_hex(path, "device", 0xffff)?;
    let class = required_hex(path, "class", 0xff_ffff)?;
    let subsystem = match (
        read_hex(&path.join("subsystem_vendor"), 0xffff),
        read_hex(&path.join("subsystem_device"), 0xffff),
    ) {
        (Some(sv), Some(sd)) if sv != 0 && sv != 0xffff => Some((sv, sd)),
        _ => None,
    };
    let revision = read_hex(&path.join("revision"), 0xff);
    Ok(PciDevice {
        address: address.to_owned(),
        class_code: format!("{class:06x}"),
        class_name: None,
        vendor_id: format!("{vendor:04x}"),
        device_id: format!("{device:04x}"),
        vendor_name: None,
        device_name: None,
        subsystem_vendor_id: subsystem.map(|(sv, _)| format!("{sv:04x}")),
        subsystem_device_id: subsystem.map(|(_, sd)| format!("{sd:04x}")),
        subsystem_name: None,
        revision: revision.map(|r| format!("{r:02x}")),
        driver: link_basename(&path.join("driver")),
        is_gpu: class >> 16 == 0x03,
    })
}

/// A hex attribute the device cannot go without.
fn required_hex(dir: &Path, file: &str, max: u32) -> Result<u32, String> {
    read_hex(&dir.join(file), max).ok_or_else(|| format!("`{file}` is missing or not a hex number"))
}

/// Reads a sysfs number written `0x…`, at most `max`.
fn read_hex(path: &Path, max: u32) -> Option<u32> {
    let text = fs::read_to_string(path).ok()?;
    let text = text.trim();
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    parse_hex_digits(digits).filter(|&value| value <= max)
}

/// The last component of a symbolic link's target (a driver's name).
pub(crate) fn link_basename(link: &Path) -> Option<String> {
    let target = fs::read_link(link).ok()?;
    let name = target.file_name()?.to_string_lossy().into_owned();
    (!name.is_empty()).then_some(name)
}

/// Sort key of a PCI address `domain:bus:device.function` (the domain may be longer than four
/// digits, e.g. behind Intel VMD); addresses that do not parse sort last, by text.
fn address_key(address: &str) -> ([u32; 4], &str) {
    let parse = || {
        let (domain, rest) = address.split_once(':')?;
        let (bus, rest) = rest.split_once(':')?;
        let (device, function) = rest.split_once('.')?;
        Some([
            parse_hex_digits(domain)?,
            parse_hex_digits(bus)?,
            parse_hex_digits(device)?,
            parse_hex_digits(function)?,
        ])
    };
    (parse().unwrap_or([u32::MAX; 4]), address)
}

fn warning(message: String) -> ProbeWarning {
    ProbeWarning {
        probe: PROBE.to_owned(),
        message,
    }
}
