//! Field values and the placeholder filter.
//!
//! Firmware fills fields it has no data for with template text ("To be filled by O.E.M.",
//! "Default string", "0123456789"…) or with all-zero / all-FF UUIDs. Such a value identifies
//! nothing: [`Field::from_raw`] turns it into [`Field::Placeholder`], which counts as absent
//! but keeps the raw text for the record (a technician may still want to see it).

use std::collections::HashSet;
use std::fmt;
use std::sync::OnceLock;

use serde::Serialize;

/// The state of one identity field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// A real value, trimmed of surrounding whitespace.
    Value(String),
    /// Absent: the firmware wrote a placeholder ([`is_placeholder`]); `raw` is what it wrote.
    Placeholder {
        /// The value as written, untrimmed.
        raw: String,
    },
    /// The field exists but only root can read it (sysfs mode 0400: `product_serial`,
    /// `product_uuid`, `board_serial`, `chassis_serial`; the SMBIOS tables themselves).
    /// Displayed as "unavailable (needs root)".
    NeedsRoot,
    /// Not reported at all (no such structure, field or sysfs file; string number 0).
    Absent,
    /// Reported but unreadable; `reason` says why (bad string number, I/O error…).
    Unknown {
        /// Why the value is unknown.
        reason: String,
    },
}

impl Field {
    /// Classifies a raw value: [`Field::Placeholder`] when [`is_placeholder`] says so, else
    /// [`Field::Value`] with the value trimmed.
    pub fn from_raw(raw: &str) -> Field {
        if is_placeholder(raw) {
            Field::Placeholder {
                raw: raw.to_owned(),
            }
        } else {
            Field::Value(raw.trim().to_owned())
        }
    }

    /// The real value, if there is one.
    pub fn value(&self) -> Option<&str> {
        match self {
            Field::Value(v) => Some(v),
            _ => None,
        }
    }

    /// The text the firmware wrote, real value or placeholder.
    pub fn raw(&self) -> Option<&str> {
        match self {
            Field::Value(v) => Some(v),
            Field::Placeholder { raw } => Some(raw),
            _ => None,
        }
    }

    /// True for [`Field::Value`].
    pub fn is_value(&self) -> bool {
        matches!(self, Field::Value(_))
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::Value(v) => f.write_str(v),
            Field::Placeholder { raw } => write!(f, "absent (placeholder {raw:?})"),
            Field::NeedsRoot => f.write_str("unavailable (needs root)"),
            Field::Absent => f.write_str("absent"),
            Field::Unknown { reason } => write!(f, "unknown ({reason})"),
        }
    }
}

/// Template strings that firmware writes instead of data, compared after trimming, ignoring
/// ASCII case and runs of whitespace. Collected from real machines (AMI/Insyde/Phoenix
/// templates, ASUS / Gigabyte / MSI / ASRock / Supermicro boards, Lenovo and Dell defaults).
pub const PLACEHOLDERS: &[&str] = &[
    "To be filled by O.E.M.",
    "To be filled by OEM",
    "To be filled by O.E.M",
    "Default string",
    "Default",
    "System Product Name",
    "System manufacturer",
    "System Manufacturer Name",
    "System Version",
    "System Serial Number",
    "System Name",
    "Base Board Serial Number",
    "Base Board Manufacturer",
    "Base Board Product Name",
    "Base Board Version",
    "Board Serial Number",
    "Chassis Serial Number",
    "Chassis Manufacture",
    "Chassis Manufacturer",
    "Chassis Version",
    "Type1ProductConfigId",
    "Type2 - Board Serial Number",
    "Not Applicable",
    "N/A",
    "NA",
    "None",
    "Null",
    "Not Specified",
    "Not Available",
    "Not Defined",
    "Not Present",
    "Not Settable",
    "Unknown",
    "Undefined",
    "INVALID",
    "OEM",
    "O.E.M.",
    "SKU",
    "Default SKU",
    "Empty",
    "[Empty]",
    "NO DIMM",
    "No Asset Information",
    "No Asset Tag",
    "Asset-1234567890",
    "0123456789",
    "123456789",
    "1234567890",
    "12345678",
    "1234567",
    "01234567890",
    "Serial",
    "SerialNumber",
    "Serial Number",
    "Part Number",
    "PartNum",
    "SerNum",
    "Manufacturer",
    "AssetTagNum",
    // UUIDs that several boards share (AMI reference templates). The two spellings are the
    // same 16 bytes read in the pre-2.6 and the 2.6+ byte order (§7.2.1).
    "03000200-0400-0500-0006-000700080009",
    "00020003-0004-0005-0006-000700080009",
];

/// Characters whose repetition alone is a placeholder ("00000000", "xxxxx", "FFFFFFFF",
/// "********", "-----"…).
const FILLER_CHARS: &[char] = &['0', 'x', 'X', 'f', 'F', '*', '-', '.', '#', '?', '_', ' '];

/// Lower-case, with runs of whitespace made single spaces and the ends trimmed.
fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().map(|c| c.to_ascii_lowercase()));
    }
    out
}

/// [`PLACEHOLDERS`], normalized once.
fn normalized_placeholders() -> &'static HashSet<String> {
    static SET: OnceLock<HashSet<String>> = OnceLock::new();
    SET.get_or_init(|| PLACEHOLDERS.iter().map(|p| normalize(p)).collect())
}

/// Whether `raw` is a firmware placeholder rather than data.
///
/// True for: empty or whitespace-only text; any entry of [`PLACEHOLDERS`] (case and spacing
/// ignored); AMI template numbering such as `SerNum0`, `PartNum1`, `Manufacturer02`,
/// `AssetTagNum3`, `Array1_AssetTag`; text made of a single repeated filler character
/// (`0 x X f F * - . # ? _`); and UUIDs whose hex digits are all `0` or all `F` (§7.2.1:
/// "ID not present" / "ID not currently present but settable").
pub fn is_placeholder(raw: &str) -> bool {
    let t = raw.trim();
    if t.is_empty() {
        return true;
    }
    let n = normalize(t);
    if normalized_placeholders().contains(&n) {
        return true;
    }
    // AMI templates number their defaults: "SerNum0", "PartNum1", "Manufacturer00"…
    for stem in [
        "sernum",
        "partnum",
        "manufacturer",
        "assettagnum",
        "serial",
        "dimm_serial",
    ] {
        if let Some(rest) = n.strip_prefix(stem)
            && !rest.is_empty()
            && rest.chars().all(|c| c.is_ascii_digit())
        {
            return true;
        }
    }
    if n.starts_with("array") && n.ends_with("_assettag") {
        return true;
    }
    let mut chars = t.chars();
    if let Some(first) = chars.next()
        && FILLER_CHARS.contains(&first)
        && chars.all(|c| c == first)
    {
        return true;
    }
    // A UUID (or any hex run with dashes) that is all zeros or all F.
    let hex: Vec<char> = t.chars().filter(|c| *c != '-').collect();
    if hex.len() == 32 && hex.iter().all(char::is_ascii_hexdigit) {
        let all = |d: char| hex.iter().all(|c| c.eq_ignore_ascii_case(&d));
        if all('0') || all('f') {
            return true;
        }
    }
    false
}
