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
//! with `#` starting a comment line. [`PciIds::parse`] indexes a pci.ids text in one pass that
//! only looks at the top-level lines (vendors and classes) and keeps, for each, the slice of the
//! text that holds its devices or subclasses; nothing is copied. A lookup then searches that one
//! block for the entry's line.
//!
//! The inventory does not read the whole ~1.4 MB file. The database keeps its vendors sorted
//! ("Please keep sorted", in its header) and its classes last, in order:
//! [`extract_selected_at`] finds each vendor the machine has by bisection with positioned reads
//! of a few kilobytes, the classes in the file's last kilobytes, and reads only those entries
//! (a few kilobytes, or ~375 KB when Intel's 8,500-line block is among them). When an ID is not
//! found that way (absent from the database, or a file out of order) it falls back to
//! [`extract_selected`], which streams the whole file through a 64 KiB buffer; the names are the
//! same either way (`tests/pci.rs` checks both against the whole-file index on every vendor
//! and class of the real database). Reading the whole file into memory, validating it as UTF-8
//! and searching it for each ID was about a third of the inventory's CPU time on the development
//! VM (see docs/inventory.md#performance).
//!
//! Measured on the bench's development VM with the 2023 database (1.36 MB, 2,325 vendors), in an
//! optimised build: the VM's vendors (virtio and one Intel device) and four classes are
//! extracted and indexed in about 1–2 ms, 0.2 ms without the Intel block; reading and indexing
//! the whole file took about 4 ms. A debug build is about ten times slower.
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
        let finder = memchr::memmem::Finder::new(pattern.as_bytes());
        let mut from = 0;
        while let Some(found) = finder.find(&block.as_bytes()[from..]) {
            let line_start = from + found + 1;
            let line_end = memchr::memchr(b'\n', &block.as_bytes()[line_start..])
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

/// The size of the buffer [`extract_selected`] reads through (it grows for a longer line).
const EXTRACT_BUFFER: usize = 64 * 1024;

/// Reads a pci.ids database from `reader` and keeps only the top-level entries (header line
/// and the lines below it) of the given vendors and classes: a small pci.ids text that
/// [`PciIds::parse`] indexes into the same names as the whole database for those IDs.
///
/// This is what the inventory uses: the machine has a handful of vendors and classes among the
/// database's ~2,500, and the file is read once through a 64 KiB buffer, looking only at the
/// first bytes of each line (the header lines), without validating or copying the rest. A
/// top-level line ends the entry before it exactly as in [`PciIds::parse`] (a malformed one
/// too); comment lines inside a kept entry are kept, and [`PciIds::parse`] skips them. When an
/// ID has several entries, all are kept and the index takes the first, as on the whole file.
pub fn extract_selected(
    mut reader: impl io::Read,
    vendors: &[u16],
    classes: &[u8],
) -> io::Result<String> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; EXTRACT_BUFFER];
    let mut filled = 0;
    let mut keeping = false;
    loop {
        let n = match reader.read(&mut buf[filled..]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let eof = n == 0;
        filled += n;
        // Whole lines of the buffer: only the top-level ones are looked at; the lines of a kept
        // entry are copied as one run.
        let mut line_start = 0;
        let mut kept_from = 0;
        let mut top_level = |start: usize, end: usize, keeping: &mut bool, out: &mut Vec<u8>| {
            if !matches!(buf.get(start), None | Some(b'\t' | b'#' | b'\n' | b'\r')) {
                let wanted = wanted_header(&buf[start..end], vendors, classes);
                if *keeping && !wanted {
                    out.extend_from_slice(&buf[kept_from..start]);
                } else if !*keeping && wanted {
                    kept_from = start;
                }
                *keeping = wanted;
            }
        };
        for newline in memchr::memchr_iter(b'\n', &buf[..filled]) {
            top_level(line_start, newline + 1, &mut keeping, &mut out);
            line_start = newline + 1;
        }
        if eof && line_start < filled {
            top_level(line_start, filled, &mut keeping, &mut out);
            line_start = filled;
        }
        if keeping {
            out.extend_from_slice(&buf[kept_from..line_start]);
        }
        if eof {
            break;
        }
        // Keep the unfinished line for the next read; a line longer than the buffer grows it.
        buf.copy_within(line_start..filled, 0);
        filled -= line_start;
        if filled == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
    }
    Ok(match String::from_utf8(out) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// A source that can be read at any offset: the pci.ids file, or its bytes in memory.
pub trait ReadAt {
    /// Reads up to `buf.len()` bytes at `offset`; 0 at the end.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
    /// The length in bytes.
    fn len(&self) -> io::Result<u64>;
    /// Whether it is empty.
    fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }
}

impl ReadAt for fs::File {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(self, buf, offset)
    }
    fn len(&self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }
}

impl ReadAt for [u8] {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(<[u8]>::len(self));
        let n = buf.len().min(<[u8]>::len(self) - start);
        buf[..n].copy_from_slice(&self[start..start + n]);
        Ok(n)
    }
    fn len(&self) -> io::Result<u64> {
        Ok(<[u8]>::len(self) as u64)
    }
}

/// Reads `len` bytes at `offset` (fewer at the end).
fn read_range(src: &(impl ReadAt + ?Sized), offset: u64, len: u64) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; usize::try_from(len).unwrap_or(usize::MAX)];
    let mut got = 0;
    while got < buf.len() {
        match src.read_at(&mut buf[got..], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(got);
    Ok(buf)
}

/// The order of top-level lines in a sorted pci.ids: vendors by ID, then classes by ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Vendor(u16),
    Class(u8),
}

/// The key of a top-level line, read as [`PciIds::parse`] reads it; `None` for a malformed one.
fn header_key(line: &[u8]) -> Option<Key> {
    let line = String::from_utf8_lossy(line);
    let line = line.trim_end();
    match line.strip_prefix("C ") {
        Some(rest) => split_id(rest, 2).map(|(c, _)| Key::Class(c as u8)),
        None => split_id(line, 4).map(|(v, _)| Key::Vendor(v as u16)),
    }
}

/// First window read when looking for a line; doubled until one is found.
const WINDOW: u64 = 4096;
/// Below this many bytes, a search range is read whole and walked.
const LINEAR: u64 = 8 * 1024;

/// The first top-level line (not indented, not a comment, not blank) that starts at or after
/// `from` and before `limit`: its start, the start of the line after it, and its key
/// (`None` when malformed). When `keep` is given, every byte from the one before `from` up to
/// that line's start (or to the end) is appended to it.
fn next_top_level(
    src: &(impl ReadAt + ?Sized),
    from: u64,
    limit: u64,
    mut keep: Option<&mut Vec<u8>>,
) -> io::Result<Option<(u64, u64, Option<Key>)>> {
    // A line starts at 0 or after a line feed: look from the byte before `from`.
    let mut at = from.saturating_sub(1);
    let mut window = WINDOW;
    let mut carried = from == 0;
    while at < limit {
        let chunk = read_range(src, at, window)?;
        if chunk.is_empty() {
            return Ok(None);
        }
        let first_start = carried.then_some(at);
        carried = false;
        let after_newlines = memchr::memchr_iter(b'\n', &chunk).map(|i| at + i as u64 + 1);
        for start in first_start.into_iter().chain(after_newlines) {
            if start < from {
                continue;
            }
            if start >= limit {
                if let Some(keep) = keep.as_deref_mut() {
                    keep.extend_from_slice(&chunk[..(limit - at) as usize]);
                }
                return Ok(None);
            }
            let rel = (start - at) as usize;
            let Some(&first) = chunk.get(rel) else {
                // The line starts right after this chunk.
                carried = true;
                break;
            };
            if matches!(first, b'\t' | b'#' | b'\n' | b'\r') {
                continue;
            }
            if let Some(keep) = keep.as_deref_mut() {
                keep.extend_from_slice(&chunk[..rel]);
            }
            // Its whole line (a header is short; read more when it runs past the chunk).
            let line = match memchr::memchr(b'\n', &chunk[rel..]) {
                Some(end) => chunk[rel..rel + end + 1].to_vec(),
                None => {
                    let rest = read_range(src, start, 64 * 1024)?;
                    let end = memchr::memchr(b'\n', &rest).map_or(rest.len(), |e| e + 1);
                    rest[..end].to_vec()
                }
            };
            let next = start + line.len() as u64;
            return Ok(Some((start, next, header_key(&line))));
        }
        if let Some(keep) = keep.as_deref_mut() {
            keep.extend_from_slice(&chunk[..]);
        }
        at += chunk.len() as u64;
        window = window.saturating_mul(2).min(256 * 1024);
    }
    Ok(None)
}

/// A piece of a source, read once, at its place in the source.
struct Piece {
    base: u64,
    bytes: Vec<u8>,
}

impl ReadAt for Piece {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        match offset.checked_sub(self.base) {
            Some(rel) => self.bytes.read_at(buf, rel),
            None => Err(io::Error::other("read before the piece")),
        }
    }
    fn len(&self) -> io::Result<u64> {
        Ok(self.base + self.bytes.len() as u64)
    }
}

/// What a bisection probe found after an offset: a top-level line (start, next line, key), or
/// nothing before the given limit.
#[derive(Clone, Copy)]
enum Probe {
    Line(u64, u64, Option<Key>),
    NoneBefore(u64),
}

/// The bisection probes already made: the searches for each vendor and class start with the
/// same probes, and one that lands inside a large block (Intel's is 375 KB) reads up to the end
/// of that block, so it is done once.
type Probes = HashMap<u64, Probe>;

/// [`next_top_level`] through the memo of probes.
fn probe(
    src: &(impl ReadAt + ?Sized),
    probes: &mut Probes,
    from: u64,
    limit: u64,
) -> io::Result<Option<(u64, u64, Option<Key>)>> {
    match probes.get(&from) {
        Some(&Probe::Line(start, next, key)) => {
            return Ok((start < limit).then_some((start, next, key)));
        }
        Some(&Probe::NoneBefore(l)) if l >= limit => return Ok(None),
        _ => {}
    }
    let found = next_top_level(src, from, limit, None)?;
    probes.insert(
        from,
        match found {
            Some((start, next, key)) => Probe::Line(start, next, key),
            None => Probe::NoneBefore(limit),
        },
    );
    Ok(found)
}

/// How far a bisection probe looks for a top-level line before setting that half aside.
const BUDGET: u64 = 16 * 1024;

/// Where the first top-level line with `key` starts in a sorted database of `len` bytes,
/// looking from `lo`; `None` when it is not found (absent, or the file is not sorted as
/// expected).
///
/// A probe that lands inside a large block (Intel's is 375 KB) finds no top-level line within
/// [`BUDGET`]: the half after it is set aside and searched, by reading through the block, only
/// when the line is not found before it.
fn find_sorted(
    src: &(impl ReadAt + ?Sized),
    probes: &mut Probes,
    mut lo: u64,
    len: u64,
    key: Key,
) -> io::Result<Option<u64>> {
    // The first top-level line whose key is ≥ `key` lies in [lo, hi), or in a range set aside,
    // or is `best`. Ranges set aside later lie before those set aside earlier.
    let mut hi = len;
    let mut best: Option<(u64, Key)> = None;
    let mut aside: Vec<(u64, u64)> = Vec::new();
    loop {
        while lo < hi {
            if hi - lo <= LINEAR {
                // Read the range once (with the byte before it and room for a last long line).
                let base = lo.saturating_sub(1);
                let piece = Piece {
                    base,
                    bytes: read_range(src, base, (hi + WINDOW).min(len) - base)?,
                };
                let mut at = lo;
                while let Some((start, next, found)) = next_top_level(&piece, at, hi, None)? {
                    match found {
                        Some(k) if k < key => at = next,
                        Some(k) => {
                            best = Some((start, k));
                            break;
                        }
                        None => return Ok(None),
                    }
                }
                break;
            }
            let mid = lo + (hi - lo) / 2;
            let bound = hi.min(mid + BUDGET);
            match probe(src, probes, mid, bound)? {
                None if bound == hi => hi = mid,
                None => {
                    aside.push((mid, hi));
                    hi = mid;
                }
                Some((_, next, Some(k))) if k < key => lo = next,
                Some((start, _, Some(k))) => {
                    best = Some((start, k));
                    hi = mid;
                }
                // A malformed top-level line: not the layout this search relies on.
                Some((_, _, None)) => return Ok(None),
            }
        }
        // The nearest range set aside, when it lies before the best line found so far.
        let Some((from, old_hi)) = aside.pop() else {
            break;
        };
        let limit = best.map_or(old_hi, |(start, _)| old_hi.min(start));
        if from >= limit {
            continue;
        }
        match probe(src, probes, from, limit)? {
            None => (lo, hi) = (limit, limit),
            Some((start, _, Some(k))) if k >= key => {
                best = Some((start, k));
                (lo, hi) = (limit, limit);
            }
            Some((_, next, Some(_))) => (lo, hi) = (next, limit),
            Some((_, _, None)) => return Ok(None),
        }
    }
    Ok(best.and_then(|(start, k)| (k == key).then_some(start)))
}

/// The end of a sorted database that holds every class line (they come after the vendors):
/// read backwards from the end, doubling, until its first top-level line is a vendor's (or the
/// whole file is read). Returns the piece and where to start looking in it.
fn class_section(src: &(impl ReadAt + ?Sized), len: u64) -> io::Result<(Piece, u64)> {
    let mut size = 2 * WINDOW;
    loop {
        let base = len.saturating_sub(size);
        let piece = Piece {
            base,
            bytes: read_range(src, base, len - base)?,
        };
        if base == 0 {
            return Ok((piece, 0));
        }
        let mut at = base + 1;
        // Skip lines that are not top-level; stop at the first top-level line.
        match next_top_level(&piece, at, len, None)? {
            Some((_, next, Some(Key::Vendor(_)))) => {
                at = next;
                return Ok((piece, at));
            }
            None => return Ok((piece, at)),
            Some(_) => size = size.saturating_mul(2),
        }
    }
}

/// [`extract_selected`] for a database that keeps its top-level lines sorted, as pci.ids asks
/// ("Vendors, devices and subsystems. Please keep sorted.", then the classes in order): each
/// wanted vendor and class is found by bisection, reading a few kilobytes at a time, and only
/// its entry is read. When any of them is not found that way (absent from the database, or a
/// file not in order), the whole file is read with [`extract_selected`], so the names are the
/// same either way.
pub fn extract_selected_at(
    src: &(impl ReadAt + ?Sized),
    vendors: &[u16],
    classes: &[u8],
) -> io::Result<String> {
    let len = src.len()?;
    let keys = vendors
        .iter()
        .map(|&v| Key::Vendor(v))
        .chain(classes.iter().map(|&c| Key::Class(c)));
    let mut out = Vec::new();
    let mut probes = Probes::new();
    let mut tail: Option<(Piece, u64, Probes)> = None;
    for key in keys {
        let found = match key {
            Key::Vendor(_) => find_sorted(src, &mut probes, 0, len, key)?,
            Key::Class(_) => {
                if tail.is_none() {
                    let (piece, from) = class_section(src, len)?;
                    tail = Some((piece, from, Probes::new()));
                }
                let (piece, from, probes) = tail.as_mut().expect("just set");
                find_sorted(&*piece, probes, *from, len, key)?
            }
        };
        let Some(start) = found else {
            return extract_selected(Reader { src, at: 0 }, vendors, classes);
        };
        // The entry runs to the next top-level line.
        next_top_level(src, start + 1, len, Some(&mut out))?;
        if out.last().is_some_and(|&b| b != b'\n') {
            out.push(b'\n');
        }
    }
    Ok(match String::from_utf8(out) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// A [`ReadAt`] read from the start, as an [`io::Read`].
struct Reader<'a, S: ReadAt + ?Sized> {
    src: &'a S,
    at: u64,
}

impl<S: ReadAt + ?Sized> io::Read for Reader<'_, S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.src.read_at(buf, self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}

/// Whether a top-level line is the header of one of the wanted vendors or classes, read as
/// [`PciIds::parse`] reads it.
fn wanted_header(line: &[u8], vendors: &[u16], classes: &[u8]) -> bool {
    let line = String::from_utf8_lossy(line);
    let line = line.trim_end();
    if let Some(rest) = line.strip_prefix("C ") {
        split_id(rest, 2).is_some_and(|(class, _)| classes.contains(&(class as u8)))
    } else {
        split_id(line, 4).is_some_and(|(vendor, _)| vendors.contains(&(vendor as u16)))
    }
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
        Some(path) => match fs::File::open(&path).and_then(|file| {
            let mut vendors: Vec<u16> = devices
                .iter()
                .filter_map(|d| parse_hex_digits(&d.vendor_id))
                .filter_map(|v| u16::try_from(v).ok())
                .collect();
            let mut classes: Vec<u8> = devices
                .iter()
                .filter_map(|d| parse_hex_digits(&d.class_code))
                .map(|c| (c >> 16) as u8)
                .collect();
            vendors.sort_unstable();
            vendors.dedup();
            classes.sort_unstable();
            classes.dedup();
            extract_selected_at(&file, &vendors, &classes)
        }) {
            Err(e) => warnings.push(warning(format!(
                "cannot read {}: {e}: PCI devices are not named",
                path.display()
            ))),
            Ok(text) => {
                let ids = PciIds::parse(&text);
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
