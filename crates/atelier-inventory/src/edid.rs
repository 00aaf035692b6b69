//! EDID (VESA E-EDID 1.3 / 1.4) parsing.
//!
//! A display describes itself in its EDID: a 128-byte base block (E-EDID 1.4, VESA "Enhanced
//! Extended Display Identification Data Standard", Release A Revision 2, §3) optionally followed
//! by extension blocks of 128 bytes each (§2.2; the CTA-861 extension, tag `02h`, is the common
//! one). Linux exposes the raw bytes of each connector's EDID in `/sys/class/drm/*/edid`.
//!
//! [`parse`] is a pure function over those bytes. It extracts what an inventory needs — who made
//! the screen, which model, its native resolution and its physical size — and never panics,
//! whatever the input (it is fuzzed: see `fuzz/README.md`).
//!
//! Its results agree with the reference decoder `edid-decode` on the 60 real EDIDs in
//! `shared/reference/edid` (see `tests/edid.rs`), with one deliberate difference: descriptor
//! strings lose their trailing spaces (edid-decode prints them and flags them as a conformance
//! failure).
//!
//! Only hard structural problems are errors ([`EdidError`]): too short, wrong header, not a
//! version 1 structure. Everything a real display gets wrong while still being readable — a bad
//! checksum, a missing or extra extension block, a garbled manufacturer ID — is kept as an
//! [`EdidWarning`] in [`Edid::warnings`], because such EDIDs exist in the wild and the inventory
//! should still name the screen.

use std::fmt;

use thiserror::Error;

/// Size of an EDID block: the base block and every extension block (E-EDID 1.4 §2.2).
pub const BLOCK_LEN: usize = 128;

/// The fixed header pattern of the base block, bytes 00h–07h (E-EDID 1.4 §3.3).
pub const HEADER: [u8; 8] = [0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00];

/// Extension tag of a CTA-861 extension block (E-EDID 1.4 §2.2, CTA-861 §7.5).
pub const CTA_EXTENSION_TAG: u8 = 0x02;

/// Offsets of the four 18-byte descriptors of the base block (E-EDID 1.4 §3.10).
const DESCRIPTOR_OFFSETS: [usize; 4] = [0x36, 0x48, 0x5A, 0x6C];

/// Millimetres per inch, for the diagonal.
const MM_PER_INCH: f64 = 25.4;

/// Why a byte string is not a usable EDID.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EdidError {
    /// Fewer than 128 bytes: not even a base block. A disconnected connector's
    /// `/sys/class/drm/*/edid` reads as 0 bytes.
    #[error("EDID too short: {len} bytes, a base block needs {BLOCK_LEN}")]
    TooShort {
        /// Length of the input in bytes.
        len: usize,
    },
    /// The first 8 bytes are not the EDID header `00 FF FF FF FF FF FF 00` (E-EDID 1.4 §3.3).
    #[error("not an EDID: the first 8 bytes are not the header 00 FF FF FF FF FF FF 00")]
    BadHeader,
    /// The structure version (byte 12h) is not 1: the layout of the other versions is not the
    /// one this parser reads (E-EDID 1.4 §3.5).
    #[error("unsupported EDID structure version {version}.{revision}: only version 1 is read")]
    UnsupportedVersion {
        /// Byte 12h.
        version: u8,
        /// Byte 13h.
        revision: u8,
    },
}

/// Something wrong with an EDID that is still readable. The fields of [`Edid`] are decoded
/// regardless; a warning says how far to trust them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EdidWarning {
    /// The 128 bytes of a block do not sum to 0 modulo 256 (E-EDID 1.4 §3.11). The block is
    /// decoded anyway: displays with a wrong checksum exist and the rest of their data is
    /// usually right.
    BadChecksum {
        /// Block number: 0 for the base block, 1… for extensions.
        block: usize,
        /// The checksum byte stored at offset 7Fh of the block.
        stored: u8,
        /// The checksum byte that would make the block sum to 0.
        expected: u8,
    },
    /// The base block announces more extension blocks (byte 7Eh, E-EDID 1.4 §3.11) than the
    /// input holds; the ones present are decoded.
    MissingExtensions {
        /// Extension count declared at byte 7Eh.
        declared: u8,
        /// Complete extension blocks actually present.
        present: usize,
    },
    /// The structure revision (byte 13h, E-EDID 1.4 §3.5) is newer than 4; the EDID is read as
    /// a 1.4 one (as `edid-decode` does).
    UnknownRevision {
        /// Byte 13h.
        revision: u8,
    },
    /// The input holds bytes after the blocks the base block announces (some drivers return the
    /// EDID twice, or padded); they are ignored.
    TrailingData {
        /// Number of bytes ignored.
        bytes: usize,
    },
    /// A letter of the manufacturer ID is outside `A`–`Z` (E-EDID 1.4 §3.4.1); the ID is kept
    /// as decoded (a 0 becomes `@`, as `edid-decode` shows it).
    InvalidManufacturerId {
        /// Bytes 08h–09h, big-endian.
        raw: u16,
    },
}

impl fmt::Display for EdidWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadChecksum {
                block,
                stored,
                expected,
            } => write!(
                f,
                "block {block}: bad checksum {stored:#04x}, expected {expected:#04x}"
            ),
            Self::MissingExtensions { declared, present } => write!(
                f,
                "{declared} extension block(s) announced, {present} present"
            ),
            Self::UnknownRevision { revision } => {
                write!(f, "unknown EDID revision 1.{revision}, read as 1.4")
            }
            Self::TrailingData { bytes } => {
                write!(f, "{bytes} byte(s) after the announced blocks ignored")
            }
            Self::InvalidManufacturerId { raw } => {
                write!(f, "manufacturer ID {raw:#06x} is not three letters A-Z")
            }
        }
    }
}

/// Week and year of manufacture, or model year (E-EDID 1.4 §3.4.4, bytes 10h–11h).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManufactureDate {
    /// Byte 10h is not FFh: the display was made in `year` (1990 + byte 11h), in `week`
    /// (byte 10h) when that byte is not 0. The week is kept as stored, even outside 1–54.
    Manufactured {
        /// Week of manufacture; `None` when byte 10h is 0 (week not given).
        week: Option<u8>,
        /// Year of manufacture.
        year: u16,
    },
    /// Byte 10h is FFh (EDID 1.4): byte 11h is a model year, not a year of manufacture.
    ModelYear(u16),
}

/// The screen-size field of the base block: bytes 15h–16h (E-EDID 1.4 §3.6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageSize {
    /// Both bytes non-zero: maximum horizontal and vertical image size, in centimetres,
    /// rounded to the nearest centimetre.
    Centimetres {
        /// Byte 15h.
        width: u8,
        /// Byte 16h.
        height: u8,
    },
    /// EDID 1.4, byte 16h zero: byte 15h encodes a landscape aspect ratio
    /// `(byte + 99) / 100` (1.00 to 3.54). See [`ImageSize::aspect_ratio`].
    LandscapeAspect(u8),
    /// EDID 1.4, byte 15h zero: byte 16h encodes a portrait aspect ratio
    /// `100 / (byte + 99)` (0.28 to 1.00). See [`ImageSize::aspect_ratio`].
    PortraitAspect(u8),
    /// Both bytes zero (size unknown or variable, e.g. a projector), or, before EDID 1.4, only
    /// one of them zero.
    Undefined,
}

impl ImageSize {
    /// Width ÷ height: from the centimetres, or from the aspect-ratio encoding of EDID 1.4
    /// (§3.6.2). `None` when undefined.
    pub fn aspect_ratio(&self) -> Option<f64> {
        match *self {
            Self::Centimetres { width, height } => Some(f64::from(width) / f64::from(height)),
            Self::LandscapeAspect(b) => Some((f64::from(b) + 99.0) / 100.0),
            Self::PortraitAspect(b) => Some(100.0 / (f64::from(b) + 99.0)),
            Self::Undefined => None,
        }
    }
}

/// A Detailed Timing Descriptor: one video mode, exactly (E-EDID 1.4 §3.10.2).
///
/// Fields are as stored. For an interlaced mode the vertical fields count lines per field;
/// [`height`](Self::height) gives the frame height.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DetailedTiming {
    /// Pixel clock in kHz (bytes 0–1, stored in units of 10 kHz).
    pub pixel_clock_khz: u32,
    /// Horizontal addressable pixels (bytes 2 and 4).
    pub h_active: u16,
    /// Horizontal blanking in pixels (bytes 3 and 4).
    pub h_blanking: u16,
    /// Vertical addressable lines, per field when interlaced (bytes 5 and 7).
    pub v_active: u16,
    /// Vertical blanking in lines, per field when interlaced (bytes 6 and 7).
    pub v_blanking: u16,
    /// Horizontal addressable image size in mm (bytes 12 and 14); 0 when not given.
    pub width_mm: u16,
    /// Vertical addressable image size in mm (bytes 13 and 14); 0 when not given.
    pub height_mm: u16,
    /// Horizontal border in pixels, each side (byte 15; see §3.12).
    pub h_border: u8,
    /// Vertical border in lines, each side (byte 16; see §3.12).
    pub v_border: u8,
    /// Interlaced mode (byte 17, bit 7).
    pub interlaced: bool,
}

impl DetailedTiming {
    /// Decodes an 18-byte descriptor as a DTD; `None` when its pixel clock is 0, which marks
    /// a display descriptor instead (§3.10.3).
    pub fn from_bytes(d: &[u8; 18]) -> Option<Self> {
        let clock = u16::from_le_bytes([d[0], d[1]]);
        if clock == 0 {
            return None;
        }
        let lo_hi = |lo: u8, hi_nibble: u8| u16::from(lo) | (u16::from(hi_nibble) << 8);
        Some(Self {
            pixel_clock_khz: u32::from(clock) * 10,
            h_active: lo_hi(d[2], d[4] >> 4),
            h_blanking: lo_hi(d[3], d[4] & 0x0F),
            v_active: lo_hi(d[5], d[7] >> 4),
            v_blanking: lo_hi(d[6], d[7] & 0x0F),
            width_mm: lo_hi(d[12], d[14] >> 4),
            height_mm: lo_hi(d[13], d[14] & 0x0F),
            h_border: d[15],
            v_border: d[16],
            interlaced: d[17] & 0x80 != 0,
        })
    }

    /// Width of the mode in pixels.
    pub fn width(&self) -> u32 {
        u32::from(self.h_active)
    }

    /// Height of the mode in lines: the frame height, twice the field height when interlaced
    /// (as `edid-decode` reports it, e.g. `1920x1080i`).
    pub fn height(&self) -> u32 {
        let field = u32::from(self.v_active);
        if self.interlaced { field * 2 } else { field }
    }

    /// Vertical refresh in Hz: pixel clock ÷ (horizontal total × vertical total), with
    /// total = addressable + blanking. For an interlaced mode this is the field rate and the
    /// vertical total of a field counts half a line more, as `edid-decode` computes it (bar its
    /// special case for the CTA-861 format VIC 39). Borders are ignored: they are 0 in
    /// practice, and EDID 1.3 and 1.4 count them differently (§3.12). `None` when a total is 0.
    pub fn refresh_hz(&self) -> Option<f64> {
        let h_total = u32::from(self.h_active) + u32::from(self.h_blanking);
        let mut v_total = f64::from(u32::from(self.v_active) + u32::from(self.v_blanking));
        if self.interlaced {
            v_total += 0.5;
        }
        if h_total == 0 || v_total == 0.0 {
            return None;
        }
        Some(f64::from(self.pixel_clock_khz) * 1000.0 / (f64::from(h_total) * v_total))
    }

    /// Physical size of the image in mm, `(width, height)`; `None` unless both are given.
    pub fn size_mm(&self) -> Option<(u16, u16)> {
        (self.width_mm != 0 && self.height_mm != 0).then_some((self.width_mm, self.height_mm))
    }
}

/// A decoded EDID: base block plus what the extension blocks add to the preferred mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edid {
    /// EDID structure version, byte 12h (always 1 here; E-EDID 1.4 §3.5).
    pub version: u8,
    /// EDID structure revision, byte 13h (3 or 4 on current displays; §3.5).
    pub revision: u8,
    /// Manufacturer's PNP ID: three letters, from the three 5-bit fields of bytes 08h–09h
    /// (E-EDID 1.4 §3.4.1), e.g. `DEL`, `SAM`, `AUO`. See [`Edid::manufacturer_name`].
    pub manufacturer: String,
    /// Manufacturer's product code, bytes 0Ah–0Bh little-endian (§3.4.2). `edid-decode` calls
    /// it "Model".
    pub product_code: u16,
    /// Serial number, bytes 0Ch–0Fh little-endian (§3.4.3); `None` when 0 (not used).
    pub serial_number: Option<u32>,
    /// Display Product Serial Number descriptor (tag FFh, §3.10.3.1): the first non-empty one.
    pub serial_string: Option<String>,
    /// Display Product Name descriptor (tag FCh, §3.10.3.4): the first non-empty one. Laptop
    /// panels usually have none and carry their part number in [`alphanumeric`](Self::alphanumeric).
    pub product_name: Option<String>,
    /// Alphanumeric Data String descriptors (tag FEh, §3.10.3.2), in order, empty ones
    /// included (their position matters: panels put the vendor in the first and the part
    /// number in the second).
    pub alphanumeric: Vec<String>,
    /// Week and year of manufacture, or model year (§3.4.4).
    pub manufacture_date: ManufactureDate,
    /// Digital input: bit 7 of byte 14h, Video Input Definition (§3.6.1).
    pub digital: bool,
    /// Maximum image size or aspect ratio, bytes 15h–16h (§3.6.2).
    pub max_image_size: ImageSize,
    /// Preferred timing mode: the first Detailed Timing Descriptor of the base block (§3.10.1;
    /// normally in the first descriptor slot, but like `edid-decode` the first DTD found in the
    /// four slots is taken). When the base block has none, the first DTD of a CTA-861
    /// extension (CTA-861 §7.5).
    pub preferred: Option<DetailedTiming>,
    /// Every Detailed Timing Descriptor, in order: those of the base block, then those of the
    /// CTA-861 extension blocks.
    pub detailed_timings: Vec<DetailedTiming>,
    /// Extension count declared at byte 7Eh (§3.11).
    pub extension_count: u8,
    /// Tag (byte 0) of each extension block present, in order (E-EDID 1.4 §2.2): `02h`
    /// CTA-861, `70h` DisplayID, `F0h` block map…
    pub extension_tags: Vec<u8>,
    /// Number of 128-byte blocks decoded: 1 + extension blocks present.
    pub block_count: usize,
    /// Problems found in an otherwise readable EDID.
    pub warnings: Vec<EdidWarning>,
}

/// Parses an EDID: the 128-byte base block and the extension blocks it announces.
///
/// Checks the header (E-EDID 1.4 §3.3), the length (at least one block) and the structure
/// version (§3.5); those are the only errors. The checksum of each block (§3.11), the number of
/// blocks present against the extension count, and the manufacturer ID are checked too, but a
/// failure there is recorded in [`Edid::warnings`] and decoding goes on.
///
/// Never panics, on any input.
pub fn parse(bytes: &[u8]) -> Result<Edid, EdidError> {
    let base: &[u8; BLOCK_LEN] = bytes
        .first_chunk()
        .ok_or(EdidError::TooShort { len: bytes.len() })?;
    if base[..8] != HEADER {
        return Err(EdidError::BadHeader);
    }
    let (version, revision) = (base[0x12], base[0x13]);
    if version != 1 {
        return Err(EdidError::UnsupportedVersion { version, revision });
    }

    let mut warnings = Vec::new();
    if revision > 4 {
        warnings.push(EdidWarning::UnknownRevision { revision });
    }

    // Blocks: the base block and the extensions it announces (§3.11).
    let extension_count = base[0x7E];
    let announced = usize::from(extension_count) + 1;
    let blocks: Vec<&[u8; BLOCK_LEN]> = bytes
        .chunks_exact(BLOCK_LEN)
        .take(announced)
        .filter_map(|chunk| chunk.try_into().ok())
        .collect();
    let block_count = blocks.len();
    if block_count < announced {
        warnings.push(EdidWarning::MissingExtensions {
            declared: extension_count,
            present: block_count.saturating_sub(1),
        });
    } else {
        let trailing = bytes.len().saturating_sub(announced * BLOCK_LEN);
        if trailing > 0 {
            warnings.push(EdidWarning::TrailingData { bytes: trailing });
        }
    }
    for (i, block) in blocks.iter().enumerate() {
        let body_sum = block[..BLOCK_LEN - 1]
            .iter()
            .fold(0u8, |sum, &b| sum.wrapping_add(b));
        let expected = 0u8.wrapping_sub(body_sum);
        let stored = block[BLOCK_LEN - 1];
        if stored != expected {
            warnings.push(EdidWarning::BadChecksum {
                block: i,
                stored,
                expected,
            });
        }
    }

    // Vendor & product identification (§3.4).
    let raw_id = u16::from_be_bytes([base[0x08], base[0x09]]);
    let letters = [(raw_id >> 10) & 0x1F, (raw_id >> 5) & 0x1F, raw_id & 0x1F];
    if letters.iter().any(|&l| !(1..=26).contains(&l)) || raw_id & 0x8000 != 0 {
        warnings.push(EdidWarning::InvalidManufacturerId { raw: raw_id });
    }
    // Each letter is 0..=31, so b'@' + letter stays within ASCII '@'..='_'.
    let manufacturer: String = letters
        .iter()
        .map(|&l| char::from(b'@' + (l as u8)))
        .collect();
    let product_code = u16::from_le_bytes([base[0x0A], base[0x0B]]);
    let serial = u32::from_le_bytes([base[0x0C], base[0x0D], base[0x0E], base[0x0F]]);
    let year = 1990 + u16::from(base[0x11]);
    let manufacture_date = match base[0x10] {
        0xFF => ManufactureDate::ModelYear(year),
        0 => ManufactureDate::Manufactured { week: None, year },
        week => ManufactureDate::Manufactured {
            week: Some(week),
            year,
        },
    };

    // Basic display parameters (§3.6).
    let digital = base[0x14] & 0x80 != 0;
    let max_image_size = match (base[0x15], base[0x16]) {
        (0, 0) => ImageSize::Undefined,
        (width, height) if width != 0 && height != 0 => ImageSize::Centimetres { width, height },
        (b, 0) if revision >= 4 => ImageSize::LandscapeAspect(b),
        (0, b) if revision >= 4 => ImageSize::PortraitAspect(b),
        _ => ImageSize::Undefined,
    };

    // The four 18-byte descriptors (§3.10).
    let mut detailed_timings = Vec::new();
    let mut serial_string = None;
    let mut product_name = None;
    let mut alphanumeric = Vec::new();
    for offset in DESCRIPTOR_OFFSETS {
        let Some(d) = descriptor_at(base, offset) else {
            continue;
        };
        if let Some(timing) = DetailedTiming::from_bytes(d) {
            detailed_timings.push(timing);
            continue;
        }
        match d[3] {
            0xFF => set_if_empty(&mut serial_string, descriptor_text(d)),
            0xFC => set_if_empty(&mut product_name, descriptor_text(d)),
            0xFE => alphanumeric.push(descriptor_text(d)),
            _ => {}
        }
    }
    let base_preferred = detailed_timings.first().copied();

    // Extension blocks: tags, and the DTDs of CTA-861 blocks.
    let mut extension_tags = Vec::new();
    for block in blocks.iter().skip(1) {
        extension_tags.push(block[0]);
        if block[0] == CTA_EXTENSION_TAG {
            detailed_timings.extend(cta_detailed_timings(block));
        }
    }
    let preferred = base_preferred.or_else(|| detailed_timings.first().copied());

    Ok(Edid {
        version,
        revision,
        manufacturer,
        product_code,
        serial_number: (serial != 0).then_some(serial),
        serial_string,
        product_name,
        alphanumeric,
        manufacture_date,
        digital,
        max_image_size,
        preferred,
        detailed_timings,
        extension_count,
        extension_tags,
        block_count,
        warnings,
    })
}

impl Edid {
    /// Name of the manufacturer for a few common monitor and panel makers, from a small table
    /// of PNP IDs (assigned by UEFI, formerly Microsoft; E-EDID 1.4 §3.4.1). `None` for any
    /// other ID: show [`manufacturer`](Self::manufacturer) then.
    pub fn manufacturer_name(&self) -> Option<&'static str> {
        pnp_vendor_name(&self.manufacturer)
    }

    /// Year of manufacture (§3.4.4); `None` when the EDID gives a model year instead.
    pub fn made_year(&self) -> Option<u16> {
        match self.manufacture_date {
            ManufactureDate::Manufactured { year, .. } => Some(year),
            ManufactureDate::ModelYear(_) => None,
        }
    }

    /// Maximum image size in cm `(width, height)` (§3.6.2); `None` when the field is an aspect
    /// ratio or undefined.
    pub fn max_image_size_cm(&self) -> Option<(u8, u8)> {
        match self.max_image_size {
            ImageSize::Centimetres { width, height } => Some((width, height)),
            _ => None,
        }
    }

    /// Native resolution `(width, height)` in pixels: that of the preferred timing mode, which
    /// E-EDID 1.4 (§3.10.1) and, in practice, 1.3 displays use for their native pixel format.
    pub fn native_resolution(&self) -> Option<(u32, u32)> {
        self.preferred.map(|t| (t.width(), t.height()))
    }

    /// Physical size of the screen in mm `(width, height)`: the image size of the preferred
    /// mode (§3.10.2), or else the maximum image size in cm × 10 (§3.6.2).
    pub fn size_mm(&self) -> Option<(u32, u32)> {
        if let Some((w, h)) = self.preferred.and_then(|t| t.size_mm()) {
            return Some((u32::from(w), u32::from(h)));
        }
        self.max_image_size_cm()
            .map(|(w, h)| (u32::from(w) * 10, u32::from(h) * 10))
    }

    /// Diagonal of the screen in inches, rounded to 0.1, from [`size_mm`](Self::size_mm).
    ///
    /// This is the diagonal of the addressable image as the EDID gives it, in whole mm: it can
    /// be a little under the marketed size (a "15.6-inch" panel of 344 × 194 mm gives 15.5).
    pub fn diagonal_inches(&self) -> Option<f64> {
        let (w, h) = self.size_mm()?;
        let inches = f64::from(w).hypot(f64::from(h)) / MM_PER_INCH;
        Some((inches * 10.0).round() / 10.0)
    }

    /// True when every block's checksum is right (§3.11).
    pub fn checksums_ok(&self) -> bool {
        !self
            .warnings
            .iter()
            .any(|w| matches!(w, EdidWarning::BadChecksum { .. }))
    }
}

/// The 18-byte descriptor at `offset` of a block, if it fits.
fn descriptor_at(block: &[u8; BLOCK_LEN], offset: usize) -> Option<&[u8; 18]> {
    block
        .get(offset..)
        .and_then(|rest| rest.first_chunk::<18>())
}

/// Detailed Timing Descriptors of a CTA-861 extension block (CTA-861 §7.5): byte 2 gives the
/// offset `d` of the first one; they follow each other up to the checksum byte, and a
/// descriptor with a zero pixel clock ends them (padding). `d` = 0 means none, and `d` < 4
/// would point into the block's own header.
fn cta_detailed_timings(block: &[u8; BLOCK_LEN]) -> Vec<DetailedTiming> {
    let mut timings = Vec::new();
    let mut offset = usize::from(block[2]);
    if offset < 4 {
        return timings;
    }
    // 18-byte descriptors must end before the checksum byte at 7Fh.
    while offset + 18 < BLOCK_LEN {
        match descriptor_at(block, offset).and_then(DetailedTiming::from_bytes) {
            Some(t) => timings.push(t),
            None => break,
        }
        offset += 18;
    }
    timings
}

/// Text of a display descriptor (bytes 5–17, §3.10.3): ends at the first 0Ah (the spec's
/// terminator), or at the first byte that is not printable ASCII (NUL padding, garbage — as
/// `edid-decode` stops there too); trailing spaces are removed.
fn descriptor_text(d: &[u8; 18]) -> String {
    let text: String = d[5..]
        .iter()
        .take_while(|&&b| b != 0x0A && (0x20..0x7F).contains(&b))
        .map(|&b| char::from(b))
        .collect();
    text.trim_end_matches(' ').to_owned()
}

/// Keeps the first non-empty string.
fn set_if_empty(slot: &mut Option<String>, text: String) {
    if slot.is_none() && !text.is_empty() {
        *slot = Some(text);
    }
}

/// A deliberately small table of PNP IDs of common monitor brands and laptop panel makers.
/// Anything else is left to the three-letter ID.
fn pnp_vendor_name(id: &str) -> Option<&'static str> {
    Some(match id {
        // Monitor and laptop brands.
        "ACR" => "Acer",
        "AOC" => "AOC",
        "APP" => "Apple",
        "AUS" => "ASUS",
        "BNQ" => "BenQ",
        "DEL" => "Dell",
        "EIZ" => "EIZO",
        "FUS" => "Fujitsu Siemens",
        "GSM" => "LG Electronics",
        "HWP" | "HPN" => "HP",
        "IVM" => "Iiyama",
        "LEN" => "Lenovo",
        "MEI" => "Panasonic",
        "MSI" => "MSI",
        "NEC" => "NEC",
        "PHL" => "Philips",
        "SAM" => "Samsung",
        "SNY" => "Sony",
        "TSB" => "Toshiba",
        "VSC" => "ViewSonic",
        // Laptop panel makers.
        "AUO" => "AU Optronics",
        "BOE" => "BOE",
        "CMN" => "Chimei Innolux",
        "CMO" => "Chi Mei Optoelectronics",
        "HSP" => "HannStar",
        "IVO" => "InfoVision",
        "LGD" => "LG Display",
        "LPL" => "LG.Philips LCD",
        "SDC" => "Samsung Display",
        "SHP" => "Sharp",
        _ => return None,
    })
}
