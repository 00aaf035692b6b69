//! The SMBIOS entry point and structure table, as raw structures.
//!
//! Everything here works on byte slices and is total: any input gives a value, never a panic.
//! What could not be parsed is described by a [`TableProblem`] next to whatever was parsed
//! before it.

use std::fmt;

use serde::Serialize;

/// An SMBIOS version (`major.minor.docrev`), as the entry point announces it.
///
/// Ordered, so `version >= SmbiosVersion::new(2, 6, 0)` reads as in the specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SmbiosVersion {
    /// Major version (2 or 3 on real machines).
    pub major: u8,
    /// Minor version.
    pub minor: u8,
    /// Document revision (only in the 64-bit entry point; 0 otherwise).
    pub docrev: u8,
}

impl SmbiosVersion {
    /// A version from its three parts.
    pub const fn new(major: u8, minor: u8, docrev: u8) -> Self {
        SmbiosVersion {
            major,
            minor,
            docrev,
        }
    }
}

impl fmt::Display for SmbiosVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.docrev)
    }
}

/// Which kind of entry point structure announced the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryPointKind {
    /// The 32-bit entry point, anchor `_SM_` (DSP0134 §5.2.1).
    Smbios2,
    /// The 64-bit entry point, anchor `_SM3_` (DSP0134 §5.2.2).
    Smbios3,
    /// A bare legacy DMI 2.0 entry point, anchor `_DMI_` (the intermediate anchor of §5.2.1).
    LegacyDmi,
}

/// A decoded entry point (`/sys/firmware/dmi/tables/smbios_entry_point`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryPoint {
    /// Which structure this was.
    pub kind: EntryPointKind,
    /// The SMBIOS version the table follows (after the known firmware fix-ups, see
    /// [`EntryPoint::parse`]).
    pub version: SmbiosVersion,
    /// The version exactly as the entry point wrote it, when a fix-up changed it.
    pub declared_version: Option<SmbiosVersion>,
    /// Table length in bytes: exact for `_SM_` / `_DMI_`, a maximum for `_SM3_` (§5.2.2
    /// "Structure table maximum size").
    pub table_length: u32,
    /// Number of structures, when the entry point says (not in `_SM3_`).
    pub structure_count: Option<u16>,
    /// Whether every checksum in the entry point was right.
    pub checksum_ok: bool,
}

/// Why an entry point could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryPointError {
    /// No known anchor string at offset 0.
    #[error("no SMBIOS anchor (_SM_, _SM3_ or _DMI_) at the start of the entry point")]
    NoAnchor,
    /// The anchor was found but the structure is shorter than its fixed part.
    #[error("the {anchor} entry point is {len} bytes, shorter than the {needed} its format needs")]
    Truncated {
        /// The anchor found.
        anchor: &'static str,
        /// Bytes available.
        len: usize,
        /// Bytes the format needs.
        needed: usize,
    },
}

fn checksum_ok(bytes: &[u8]) -> bool {
    bytes.iter().fold(0u8, |acc, b| acc.wrapping_add(*b)) == 0
}

fn le16(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

fn le32(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn le64(b: &[u8], off: usize) -> Option<u64> {
    let s = b.get(off..off.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_le_bytes(a))
}

/// Known wrong versions written by some firmware, corrected the way the Linux kernel and
/// dmidecode do (not from DSP0134: a firmware quirk). 2.31 and 2.33 mean 2.3; 2.51 means 2.6.
fn fix_up_version(v: SmbiosVersion) -> SmbiosVersion {
    match (v.major, v.minor) {
        (2, 31) | (2, 33) => SmbiosVersion::new(2, 3, v.docrev),
        (2, 51) => SmbiosVersion::new(2, 6, v.docrev),
        _ => v,
    }
}

impl EntryPoint {
    /// Decodes an entry point structure.
    ///
    /// Field offsets: DSP0134 §5.2.1 (32-bit `_SM_`: length at 05h, major 06h, minor
    /// 07h, `_DMI_` at 10h, table length 16h, structure count 1Ch) and §5.2.2 (64-bit
    /// `_SM3_`: length 06h, major 07h, minor 08h, docrev 09h, table maximum size 0Ch). A wrong
    /// checksum is reported in [`EntryPoint::checksum_ok`], not refused: the kernel already
    /// checked it before exposing the file, and a bench would rather see the data.
    pub fn parse(bytes: &[u8]) -> Result<EntryPoint, EntryPointError> {
        if bytes.starts_with(b"_SM3_") {
            const NEEDED: usize = 0x18;
            let (Some(&major), Some(&minor), Some(&docrev), Some(max)) = (
                bytes.get(0x07),
                bytes.get(0x08),
                bytes.get(0x09),
                le32(bytes, 0x0C),
            ) else {
                return Err(EntryPointError::Truncated {
                    anchor: "_SM3_",
                    len: bytes.len(),
                    needed: NEEDED,
                });
            };
            let declared_len = usize::from(bytes.get(0x06).copied().unwrap_or(0));
            let sum_ok =
                bytes.get(..declared_len).is_some_and(checksum_ok) && declared_len >= NEEDED;
            let declared = SmbiosVersion::new(major, minor, docrev);
            let version = fix_up_version(declared);
            return Ok(EntryPoint {
                kind: EntryPointKind::Smbios3,
                version,
                declared_version: (version != declared).then_some(declared),
                table_length: max,
                structure_count: None,
                checksum_ok: sum_ok && le64(bytes, 0x10).is_some(),
            });
        }
        if bytes.starts_with(b"_SM_") {
            const NEEDED: usize = 0x1E;
            let (Some(&major), Some(&minor), Some(len), Some(count)) = (
                bytes.get(0x06),
                bytes.get(0x07),
                le16(bytes, 0x16),
                le16(bytes, 0x1C),
            ) else {
                return Err(EntryPointError::Truncated {
                    anchor: "_SM_",
                    len: bytes.len(),
                    needed: NEEDED,
                });
            };
            let declared_len = usize::from(bytes.get(0x05).copied().unwrap_or(0));
            // §5.2.1: the entry point checksum covers "Entry Point Length" bytes, the
            // intermediate checksum the 0Fh bytes from 10h.
            // Length 1Fh; 1Eh in some 2.1-era firmware (an erratum of the 2.1 text).
            let sum_ok = declared_len >= NEEDED
                && bytes.get(..declared_len).is_some_and(checksum_ok)
                && bytes.get(0x10..0x1F).is_some_and(checksum_ok)
                && bytes.get(0x10..0x15) == Some(b"_DMI_".as_slice());
            let declared = SmbiosVersion::new(major, minor, 0);
            let version = fix_up_version(declared);
            return Ok(EntryPoint {
                kind: EntryPointKind::Smbios2,
                version,
                declared_version: (version != declared).then_some(declared),
                table_length: u32::from(len),
                structure_count: Some(count),
                checksum_ok: sum_ok,
            });
        }
        if bytes.starts_with(b"_DMI_") {
            // The legacy DMI entry point is the intermediate part of §5.2.1 on its own:
            // table length at 06h, structure count 0Ch, BCD revision 0Eh.
            const NEEDED: usize = 0x0F;
            let (Some(len), Some(count), Some(&bcd)) =
                (le16(bytes, 0x06), le16(bytes, 0x0C), bytes.get(0x0E))
            else {
                return Err(EntryPointError::Truncated {
                    anchor: "_DMI_",
                    len: bytes.len(),
                    needed: NEEDED,
                });
            };
            let sum_ok = bytes.get(..NEEDED).is_some_and(checksum_ok);
            return Ok(EntryPoint {
                kind: EntryPointKind::LegacyDmi,
                version: SmbiosVersion::new(bcd >> 4, bcd & 0x0F, 0),
                declared_version: None,
                table_length: u32::from(len),
                structure_count: Some(count),
                checksum_ok: sum_ok,
            });
        }
        Err(EntryPointError::NoAnchor)
    }
}

/// One SMBIOS structure: header, formatted area and string set (DSP0134 §6.1.2, §6.1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Structure {
    /// Structure type (header offset 00h).
    pub kind: u8,
    /// Structure handle (header offset 02h).
    pub handle: u16,
    /// The formatted area, header included, so offsets are the specification's.
    pub formatted: Vec<u8>,
    /// The string set, without the NUL terminators; string number N is `strings[N - 1]`.
    pub strings: Vec<Vec<u8>>,
    /// Offset of the structure in the table.
    pub offset: usize,
}

/// What a string-number field refers to (§6.1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StringRef<'a> {
    /// The field lies beyond this structure's formatted area (an older version's layout).
    Missing,
    /// The field is 0: "no string" (dmidecode prints "Not Specified").
    None,
    /// The field names a string the set does not have.
    BadIndex {
        /// The string number in the field.
        index: u8,
        /// How many strings the structure has.
        count: usize,
    },
    /// The string's bytes.
    Text(&'a [u8]),
}

impl Structure {
    /// The byte at `offset` from the start of the structure, if the formatted area has it.
    pub fn byte(&self, offset: usize) -> Option<u8> {
        self.formatted.get(offset).copied()
    }

    /// The little-endian WORD at `offset` (§6.1.1: fields are little-endian).
    pub fn word(&self, offset: usize) -> Option<u16> {
        le16(&self.formatted, offset)
    }

    /// The little-endian DWORD at `offset`.
    pub fn dword(&self, offset: usize) -> Option<u32> {
        le32(&self.formatted, offset)
    }

    /// The little-endian QWORD at `offset`.
    pub fn qword(&self, offset: usize) -> Option<u64> {
        le64(&self.formatted, offset)
    }

    /// `len` raw bytes at `offset`.
    pub fn bytes(&self, offset: usize, len: usize) -> Option<&[u8]> {
        self.formatted.get(offset..offset.checked_add(len)?)
    }

    /// The string referred to by the string-number field at `offset`.
    pub fn string(&self, offset: usize) -> StringRef<'_> {
        match self.byte(offset) {
            None => StringRef::Missing,
            Some(0) => StringRef::None,
            Some(n) => match self.strings.get(usize::from(n) - 1) {
                Some(s) => StringRef::Text(s),
                None => StringRef::BadIndex {
                    index: n,
                    count: self.strings.len(),
                },
            },
        }
    }
}

/// Something wrong in a table; parsing stopped or skipped there, and what came before stands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableProblem {
    /// The entry point could not be decoded (the table is still parsed, version unknown).
    #[error("entry point: {0}")]
    EntryPoint(#[from] EntryPointError),
    /// The entry point checksums are wrong.
    #[error("entry point checksum is wrong")]
    EntryPointChecksum,
    /// A header declares a formatted length below the 4-byte header itself.
    #[error(
        "structure at offset {offset} declares a length of {length} bytes (minimum 4); the rest of the table is unreadable"
    )]
    BadLength {
        /// Offset of the structure.
        offset: usize,
        /// The length it declares.
        length: u8,
    },
    /// The table ends inside a structure.
    #[error(
        "the table ends inside the structure at offset {offset} (type {kind}): the rest is lost"
    )]
    Truncated {
        /// Offset of the structure.
        offset: usize,
        /// Its type.
        kind: u8,
    },
    /// No double NUL closes a structure's string set before the end of the table.
    #[error("the string set of the structure at offset {offset} (type {kind}) is not terminated")]
    UnterminatedStrings {
        /// Offset of the structure.
        offset: usize,
        /// Its type.
        kind: u8,
    },
    /// The table has no end-of-table (type 127) structure.
    #[error("no end-of-table structure (type 127)")]
    NoEndOfTable,
    /// The data is shorter than the length the entry point announces (only for exact lengths).
    #[error("the table is {actual} bytes, the entry point announces {declared}")]
    LengthMismatch {
        /// Announced length.
        declared: u32,
        /// Bytes available.
        actual: usize,
    },
    /// A structure is shorter than the minimum of its type, so its fields are unknown.
    #[error(
        "the type {kind} structure with handle {handle:#06x} is {length} bytes, shorter than the {minimum} its fields need"
    )]
    TooShort {
        /// Structure type.
        kind: u8,
        /// Its handle.
        handle: u16,
        /// Its formatted length.
        length: usize,
        /// The minimum decoded here.
        minimum: usize,
    },
}

/// A parsed SMBIOS table: the entry point (when given and readable), every structure that
/// could be delimited, and the problems met on the way.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SmbiosTables {
    /// The entry point, when one was given and decoded.
    pub entry_point: Option<EntryPoint>,
    /// Structures in table order, up to the end-of-table structure (not included) or the
    /// first one that could not be delimited.
    pub structures: Vec<Structure>,
    /// What went wrong, in the order met. Empty for a well-formed table.
    pub problems: Vec<TableProblem>,
}

/// The End-of-Table structure type (§7, "End-of-Table (Type 127)").
const END_OF_TABLE: u8 = 127;

impl SmbiosTables {
    /// Parses a structure table (the content of `/sys/firmware/dmi/tables/DMI`) and, when
    /// given, its entry point (`smbios_entry_point`), which says the version.
    ///
    /// Never fails and never panics: garbage gives fewer structures and more
    /// [`problems`](Self::problems).
    pub fn parse(table: &[u8], entry_point: Option<&[u8]>) -> SmbiosTables {
        let mut problems = Vec::new();
        let entry_point = match entry_point.map(EntryPoint::parse) {
            Some(Ok(ep)) => {
                if !ep.checksum_ok {
                    problems.push(TableProblem::EntryPointChecksum);
                }
                Some(ep)
            }
            Some(Err(e)) => {
                problems.push(TableProblem::EntryPoint(e));
                None
            }
            None => None,
        };
        let mut table = table;
        if let Some(ep) = &entry_point {
            let declared = usize::try_from(ep.table_length).unwrap_or(usize::MAX);
            match ep.kind {
                // §5.2.2: a maximum; the kernel exposes exactly what the firmware has.
                EntryPointKind::Smbios3 => table = table.get(..declared).unwrap_or(table),
                EntryPointKind::Smbios2 | EntryPointKind::LegacyDmi => {
                    if table.len() < declared {
                        problems.push(TableProblem::LengthMismatch {
                            declared: ep.table_length,
                            actual: table.len(),
                        });
                    } else {
                        table = table.get(..declared).unwrap_or(table);
                    }
                }
            }
        }
        let (structures, walk_problems) = walk(table);
        problems.extend(walk_problems);
        SmbiosTables {
            entry_point,
            structures,
            problems,
        }
    }

    /// The SMBIOS version, when an entry point said it.
    pub fn version(&self) -> Option<SmbiosVersion> {
        self.entry_point.as_ref().map(|ep| ep.version)
    }

    /// The structures of one type, in table order.
    pub fn of_type(&self, kind: u8) -> impl Iterator<Item = &Structure> {
        self.structures.iter().filter(move |s| s.kind == kind)
    }

    /// The structure with this handle.
    pub fn by_handle(&self, handle: u16) -> Option<&Structure> {
        self.structures.iter().find(|s| s.handle == handle)
    }
}

/// Walks the structure table (§6.1.2: header, formatted area of `length` bytes, then a string
/// set closed by a double NUL — a structure without strings ends with two NULs too).
fn walk(table: &[u8]) -> (Vec<Structure>, Vec<TableProblem>) {
    let mut structures = Vec::new();
    let mut problems = Vec::new();
    let mut offset = 0usize;
    let mut ended = false;
    while offset < table.len() {
        let (Some(&kind), Some(&length), Some(handle)) = (
            table.get(offset),
            table.get(offset + 1),
            le16(table, offset + 2),
        ) else {
            problems.push(TableProblem::Truncated {
                offset,
                kind: table.get(offset).copied().unwrap_or(0),
            });
            break;
        };
        if length < 4 {
            problems.push(TableProblem::BadLength { offset, length });
            break;
        }
        let strings_start = offset + usize::from(length);
        let Some(formatted) = table.get(offset..strings_start) else {
            problems.push(TableProblem::Truncated { offset, kind });
            break;
        };
        let rest = table.get(strings_start..).unwrap_or(&[]);
        let Some(end) = rest.windows(2).position(|w| w == [0, 0]) else {
            problems.push(TableProblem::UnterminatedStrings { offset, kind });
            break;
        };
        // `end` is where the double NUL starts. With no strings it is 0; otherwise the area
        // before it holds NUL-separated strings (the last one's NUL is the first of the two).
        let area = rest.get(..end).unwrap_or(&[]);
        let strings = if area.is_empty() {
            Vec::new()
        } else {
            area.split(|b| *b == 0).map(<[u8]>::to_vec).collect()
        };
        let next = strings_start + end + 2;
        if kind == END_OF_TABLE {
            ended = true;
            break;
        }
        structures.push(Structure {
            kind,
            handle,
            formatted: formatted.to_vec(),
            strings,
            offset,
        });
        offset = next;
    }
    if !ended && problems.is_empty() {
        problems.push(TableProblem::NoEndOfTable);
    }
    (structures, problems)
}
