//! EDID parser: agreement with `edid-decode` on 60 real EDIDs, edge cases, and a deterministic
//! fuzz smoke test (the coverage-guided fuzzer lives in `fuzz/`).

use atelier_testkit::Rng;
use std::fs;
use std::panic;
use std::path::{Path, PathBuf};

use atelier_inventory::edid::{
    self, BLOCK_LEN, DetailedTiming, Edid, EdidError, EdidWarning, HEADER, ImageSize,
    ManufactureDate,
};
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// Reference EDIDs

/// `shared/reference/edid`, beside the repository. Its absence is a failure, not a skip: the
/// agreement with edid-decode is the parser's main guarantee.
fn reference_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/edid");
    assert!(
        dir.is_dir(),
        "reference EDIDs not found at {}: this test needs the shared/ folder beside the \
         repository (shared/reference/edid with NNN.bin and NNN.json from edid-decode)",
        dir.display()
    );
    dir
}

/// Every `NNN.bin` of the reference folder with its bytes and its `NNN.json`.
fn reference_edids() -> Vec<(String, Vec<u8>, Value)> {
    let dir = reference_dir();
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").file_name())
        .filter_map(|name| name.to_str().map(str::to_owned))
        .filter_map(|name| name.strip_suffix(".bin").map(str::to_owned))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let bin = dir.join(format!("{name}.bin"));
            let json = dir.join(format!("{name}.json"));
            let bytes = fs::read(&bin).unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
            let text =
                fs::read_to_string(&json).unwrap_or_else(|e| panic!("{}: {e}", json.display()));
            let value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: not JSON: {e}", json.display()));
            (name, bytes, value)
        })
        .collect()
}

fn reference(name: &str) -> Vec<u8> {
    let path = reference_dir().join(format!("{name}.bin"));
    fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The reference decoder prints descriptor strings verbatim up to the 0Ah terminator, trailing
/// spaces included ("B140UAN02.1 " in 018, "M156NWR2 R0 " in 026 and "M140NWHE R0 " in 043;
/// it flags them as "One or more trailing spaces before newline"). The parser trims them by
/// design, so the reference strings are compared trimmed the same way. Nothing else is
/// normalised.
fn reference_text(v: &Value) -> Option<String> {
    v.as_str().map(|s| s.trim_end_matches(' ').to_owned())
}

fn pair(v: &Value) -> Option<(u64, u64)> {
    let a = v.as_array()?;
    match a.as_slice() {
        [w, h] => Some((w.as_u64()?, h.as_u64()?)),
        _ => None,
    }
}

/// Compares one decoded EDID with its reference JSON; returns the disagreements.
fn disagreements(bytes: &[u8], edid: &Edid, json: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |field: &str, ours: String, theirs: String| {
        if ours != theirs {
            out.push(format!("{field}: parser {ours}, edid-decode {theirs}"));
        }
    };

    check(
        "manufacturer",
        edid.manufacturer.clone(),
        json["manufacturer"].as_str().unwrap_or("?").to_owned(),
    );
    check(
        "model",
        edid.product_code.to_string(),
        json["model"].to_string(),
    );
    check(
        "max_image_size_cm",
        format!(
            "{:?}",
            edid.max_image_size_cm()
                .map(|(w, h)| (u64::from(w), u64::from(h)))
        ),
        format!("{:?}", pair(&json["max_image_size_cm"])),
    );
    check(
        "product_name",
        format!("{:?}", edid.product_name),
        format!("{:?}", reference_text(&json["product_name"])),
    );
    let their_alnum: Vec<Option<String>> = json["alphanumeric"]
        .as_array()
        .map(|a| a.iter().map(reference_text).collect())
        .unwrap_or_default();
    let our_alnum: Vec<Option<String>> = edid.alphanumeric.iter().cloned().map(Some).collect();
    check(
        "alphanumeric",
        format!("{our_alnum:?}"),
        format!("{their_alnum:?}"),
    );
    check(
        "made_year",
        format!("{:?}", edid.made_year().map(u64::from)),
        format!("{:?}", json["made_year"].as_u64()),
    );
    check(
        "digital",
        edid.digital.to_string(),
        json["digital"].to_string(),
    );
    // edid_len is the length of the file edid-decode read: the announced blocks, plus whatever
    // a driver appended (two of the 60 are the same 256-byte EDID read twice).
    let trailing = edid
        .warnings
        .iter()
        .map(|w| match w {
            EdidWarning::TrailingData { bytes } => *bytes,
            _ => 0,
        })
        .sum::<usize>();
    check(
        "edid_len",
        (edid.block_count * BLOCK_LEN + trailing).to_string(),
        json["edid_len"].to_string(),
    );
    check(
        "edid_len (input)",
        bytes.len().to_string(),
        json["edid_len"].to_string(),
    );

    let preferred = &json["preferred"];
    match (edid.preferred, preferred.is_null()) {
        (None, true) => {}
        (None, false) => out.push("preferred: parser none, edid-decode has one".into()),
        (Some(_), true) => out.push("preferred: parser has one, edid-decode none".into()),
        (Some(t), false) => {
            let mut check = |field: &str, ours: String, theirs: String| {
                if ours != theirs {
                    out.push(format!(
                        "preferred.{field}: parser {ours}, edid-decode {theirs}"
                    ));
                }
            };
            check(
                "width",
                t.width().to_string(),
                preferred["width"].to_string(),
            );
            check(
                "height",
                t.height().to_string(),
                preferred["height"].to_string(),
            );
            check(
                "interlaced",
                t.interlaced.to_string(),
                preferred["interlaced"].to_string(),
            );
            check(
                "size_mm",
                format!(
                    "{:?}",
                    t.size_mm().map(|(w, h)| (u64::from(w), u64::from(h)))
                ),
                format!("{:?}", pair(&preferred["size_mm"])),
            );
            // The JSON holds the refresh rounded to 6 decimals (60.01974 is 60.019740 Hz):
            // agreement is within half a unit of the 6th decimal.
            let theirs = preferred["refresh_hz"].as_f64();
            let ours = t.refresh_hz();
            let agree = match (ours, theirs) {
                (Some(a), Some(b)) => (a - b).abs() <= 0.5e-6 + 1e-9,
                _ => false,
            };
            if !agree {
                out.push(format!(
                    "preferred.refresh_hz: parser {ours:?}, edid-decode {theirs:?}"
                ));
            }
        }
    }
    out
}

#[test]
fn agrees_with_edid_decode_on_all_60_reference_edids() {
    let edids = reference_edids();
    assert_eq!(edids.len(), 60, "expected 60 reference EDIDs");
    let mut failures = Vec::new();
    for (name, bytes, json) in &edids {
        match edid::parse(bytes) {
            Err(e) => failures.push(format!("{name}: {e}")),
            Ok(edid) => {
                for d in disagreements(bytes, &edid, json) {
                    failures.push(format!("{name}: {d}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} disagreement(s) with edid-decode:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn reference_edids_have_plausible_diagonals_and_clean_structure() {
    for (name, bytes, _) in reference_edids() {
        let edid = edid::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        if edid.size_mm().is_some() {
            let d = edid.diagonal_inches().expect("a size gives a diagonal");
            assert!((5.0..=100.0).contains(&d), "{name}: diagonal {d} in");
        }
        assert!(edid.checksums_ok(), "{name}: {:?}", edid.warnings);
        assert!(
            edid.native_resolution().is_some(),
            "{name}: no native resolution"
        );
        assert!(
            edid.manufacturer.chars().all(|c| c.is_ascii_uppercase()),
            "{name}: {:?}",
            edid.warnings
        );
    }
}

#[test]
fn edid_read_twice_by_the_driver_is_decoded_once() {
    // 046 is a 256-byte EDID (one CTA extension) that the driver returned twice.
    let bytes = reference("046");
    assert_eq!(bytes.len(), 512);
    let edid = edid::parse(&bytes).expect("parses");
    assert_eq!(edid.block_count, 2);
    assert_eq!(edid.extension_tags, vec![edid::CTA_EXTENSION_TAG]);
    assert_eq!(
        edid.warnings,
        vec![EdidWarning::TrailingData { bytes: 256 }]
    );
}

#[test]
fn known_displays() {
    // DELL U2414H, 23.8": 527 x 296 mm.
    let dell = edid::parse(&reference("031")).expect("parses");
    assert_eq!(dell.manufacturer, "DEL");
    assert_eq!(dell.manufacturer_name(), Some("Dell"));
    assert_eq!(dell.product_name.as_deref(), Some("DELL U2414H"));
    assert_eq!(dell.serial_string.as_deref(), Some("292K468F0EWL"));
    assert_eq!(dell.native_resolution(), Some((1920, 1080)));
    assert_eq!(dell.size_mm(), Some((527, 296)));
    assert_eq!(dell.diagonal_inches(), Some(23.8));
    assert_eq!((dell.version, dell.revision), (1, 3));
    let t = dell.preferred.expect("preferred mode");
    assert_eq!(t.pixel_clock_khz, 148_500);
    assert_eq!((t.h_blanking, t.v_blanking), (280, 45));
    assert_eq!(t.refresh_hz(), Some(60.0));

    // A 15.6" laptop panel (InfoVision M156NWR2) of 344 x 193 mm: its diagonal is 15.54",
    // shown as 15.5. The marketed 15.6" is the nominal size; the EDID gives the active area
    // in whole mm, a little smaller.
    let panel = edid::parse(&reference("026")).expect("parses");
    assert_eq!(panel.manufacturer_name(), Some("InfoVision"));
    assert_eq!(panel.product_name, None);
    assert_eq!(panel.alphanumeric, vec!["InfoVision", "M156NWR2 R0"]);
    assert_eq!(panel.diagonal_inches(), Some(15.5));
    assert_eq!(
        panel.manufacture_date,
        ManufactureDate::Manufactured {
            week: Some(6),
            year: 2010
        }
    );

    // Samsung LC49G95T: week FFh, year FFh is a model year (2245), not a year of manufacture.
    let samsung = edid::parse(&reference("025")).expect("parses");
    assert_eq!(samsung.manufacture_date, ManufactureDate::ModelYear(2245));
    assert_eq!(samsung.made_year(), None);
    assert_eq!(samsung.extension_tags, vec![0x02, 0x70]);

    // Panasonic TV: no maximum image size, the DTD still gives 698 x 392 mm (31.5").
    let tv = edid::parse(&reference("047")).expect("parses");
    assert_eq!(tv.max_image_size, ImageSize::Undefined);
    assert_eq!(tv.diagonal_inches(), Some(31.5));
    assert_eq!(tv.manufacturer_name(), Some("Panasonic"));
}

#[test]
fn descriptor_strings_stop_at_nul_and_non_printable_bytes() {
    // 003 (AU Optronics panel): "D8381\0B150XG2" and a string of binary bytes.
    let edid = edid::parse(&reference("003")).expect("parses");
    assert_eq!(edid.alphanumeric, vec!["D8381", ""]);
    // 041 has a second, empty product name: the first non-empty one is kept.
    let edid = edid::parse(&reference("041")).expect("parses");
    assert_eq!(edid.product_name.as_deref(), Some("W1752"));
}

#[test]
fn interlaced_detailed_timing_from_a_cta_extension() {
    // 055's second DTD is 1920x1080i: 540 lines per field, 74.25 MHz, 60 fields per second.
    let edid = edid::parse(&reference("055")).expect("parses");
    let t: DetailedTiming = edid.detailed_timings[1];
    assert!(t.interlaced);
    assert_eq!((t.width(), t.height(), t.v_active), (1920, 1080, 540));
    assert!((t.refresh_hz().expect("refresh") - 60.0).abs() < 1e-9);
    // Its CTA-861 extension contributes DTDs after the base block's.
    let base_dtds = 2;
    assert!(edid.detailed_timings.len() > base_dtds);
}

// ---------------------------------------------------------------------------------------------
// Synthetic EDIDs and edge cases

/// Sets the checksum byte of every complete block.
fn fix_checksums(bytes: &mut [u8]) {
    for block in bytes.chunks_exact_mut(BLOCK_LEN) {
        let sum = block[..BLOCK_LEN - 1]
            .iter()
            .fold(0u8, |s, &b| s.wrapping_add(b));
        block[BLOCK_LEN - 1] = 0u8.wrapping_sub(sum);
    }
}

/// An 18-byte DTD: `clock_khz`, active/blanking, size in mm.
fn dtd(clock_khz: u32, h: (u16, u16), v: (u16, u16), size_mm: (u16, u16)) -> [u8; 18] {
    let clock = u16::try_from(clock_khz / 10).expect("clock fits");
    let [c0, c1] = clock.to_le_bytes();
    let lo = |x: u16| (x & 0xFF) as u8;
    let hi = |x: u16| ((x >> 8) & 0x0F) as u8;
    [
        c0,
        c1,
        lo(h.0),
        lo(h.1),
        (hi(h.0) << 4) | hi(h.1),
        lo(v.0),
        lo(v.1),
        (hi(v.0) << 4) | hi(v.1),
        48,
        32,
        0x35,
        0,
        lo(size_mm.0),
        lo(size_mm.1),
        (hi(size_mm.0) << 4) | hi(size_mm.1),
        0,
        0,
        0x1E,
    ]
}

/// A display descriptor with a text (tag FCh, FEh or FFh).
fn text_descriptor(tag: u8, text: &str) -> [u8; 18] {
    let mut d = [0u8; 18];
    d[3] = tag;
    d[5..].fill(b' ');
    let bytes = text.as_bytes();
    d[5..5 + bytes.len()].copy_from_slice(bytes);
    if bytes.len() < 13 {
        d[5 + bytes.len()] = 0x0A;
    }
    d
}

/// A valid EDID 1.4 base block for "ABC" product 0x1234 with the given four descriptors.
fn base_block(descriptors: [[u8; 18]; 4], size_cm: (u8, u8)) -> Vec<u8> {
    let mut b = vec![0u8; BLOCK_LEN];
    b[..8].copy_from_slice(&HEADER);
    // "ABC" = 00001 00010 00011
    b[8..10].copy_from_slice(&((1u16 << 10) | (2 << 5) | 3).to_be_bytes());
    b[10..12].copy_from_slice(&0x1234u16.to_le_bytes());
    b[12..16].copy_from_slice(&987_654u32.to_le_bytes());
    b[0x10] = 12;
    b[0x11] = 33; // 2023
    b[0x12] = 1;
    b[0x13] = 4;
    b[0x14] = 0xA5; // digital, 8 bits, DisplayPort
    b[0x15] = size_cm.0;
    b[0x16] = size_cm.1;
    for (i, d) in descriptors.iter().enumerate() {
        let at = 0x36 + 18 * i;
        b[at..at + 18].copy_from_slice(d);
    }
    fix_checksums(&mut b);
    b
}

fn laptop_panel(size_mm: (u16, u16), size_cm: (u8, u8)) -> Vec<u8> {
    base_block(
        [
            dtd(138_500, (1920, 160), (1080, 31), size_mm),
            text_descriptor(0xFF, "SN0001"),
            text_descriptor(0xFE, "ACME"),
            text_descriptor(0xFE, "P156HD-1 "),
        ],
        size_cm,
    )
}

#[test]
fn synthetic_panel_decodes_every_field() {
    let edid = edid::parse(&laptop_panel((344, 194), (34, 19))).expect("parses");
    assert_eq!(edid.manufacturer, "ABC");
    assert_eq!(edid.manufacturer_name(), None);
    assert_eq!(edid.product_code, 0x1234);
    assert_eq!(edid.serial_number, Some(987_654));
    assert_eq!(edid.serial_string.as_deref(), Some("SN0001"));
    assert_eq!(edid.alphanumeric, vec!["ACME", "P156HD-1"]);
    assert_eq!(
        edid.manufacture_date,
        ManufactureDate::Manufactured {
            week: Some(12),
            year: 2023
        }
    );
    assert!(edid.digital);
    assert_eq!(edid.max_image_size_cm(), Some((34, 19)));
    assert_eq!(edid.native_resolution(), Some((1920, 1080)));
    assert!(edid.warnings.is_empty(), "{:?}", edid.warnings);
    let refresh = edid
        .preferred
        .and_then(|t| t.refresh_hz())
        .expect("refresh");
    assert!((refresh - 138_500_000.0 / (2080.0 * 1111.0)).abs() < 1e-9);
}

#[test]
fn diagonal_of_known_panel_sizes() {
    let diagonal = |size_mm, size_cm| {
        edid::parse(&laptop_panel(size_mm, size_cm))
            .expect("parses")
            .diagonal_inches()
    };
    // 344 x 194 mm is 394.9 mm = 15.55": 15.5 at 0.1". (Sold as 15.6"; the nominal 15.6"
    // 16:9 panel measures 345.6 x 194.4 mm.)
    assert_eq!(diagonal((344, 194), (34, 19)), Some(15.5));
    assert_eq!(diagonal((345, 194), (35, 19)), Some(15.6));
    // 13.3" 16:9: 294 x 165 mm.
    assert_eq!(diagonal((294, 165), (29, 17)), Some(13.3));
    // No size in the DTD: the maximum image size in cm is used (60 x 34 cm = 27.15").
    assert_eq!(diagonal((0, 0), (60, 34)), Some(27.2));
    // No size anywhere.
    assert_eq!(diagonal((0, 0), (0, 0)), None);
}

#[test]
fn aspect_ratio_encoding_of_edid_1_4() {
    let mut b = laptop_panel((0, 0), (79, 0));
    fix_checksums(&mut b);
    let edid = edid::parse(&b).expect("parses");
    assert_eq!(edid.max_image_size, ImageSize::LandscapeAspect(79));
    assert_eq!(edid.max_image_size.aspect_ratio(), Some(1.78));
    assert_eq!(edid.max_image_size_cm(), None);
    assert_eq!(edid.diagonal_inches(), None);

    let mut b = laptop_panel((0, 0), (0, 79));
    fix_checksums(&mut b);
    let edid = edid::parse(&b).expect("parses");
    assert_eq!(edid.max_image_size, ImageSize::PortraitAspect(79));

    // Before 1.4, one zero means "undefined".
    let mut b = laptop_panel((0, 0), (79, 0));
    b[0x13] = 3;
    fix_checksums(&mut b);
    assert_eq!(
        edid::parse(&b).expect("parses").max_image_size,
        ImageSize::Undefined
    );
}

#[test]
fn truncated_input() {
    let full = reference("000"); // 256 bytes: base + CTA extension
    assert_eq!(edid::parse(&[]), Err(EdidError::TooShort { len: 0 }));
    assert_eq!(
        edid::parse(&full[..127]),
        Err(EdidError::TooShort { len: 127 })
    );
    // The base block alone still names the screen; the missing extension is a warning.
    let edid = edid::parse(&full[..200]).expect("base block is enough");
    assert_eq!(edid.manufacturer, "AOC");
    assert_eq!(edid.block_count, 1);
    assert_eq!(
        edid.warnings,
        vec![EdidWarning::MissingExtensions {
            declared: 1,
            present: 0
        }]
    );
    let message = EdidError::TooShort { len: 5 }.to_string();
    assert!(
        message.contains("too short") && message.contains('5'),
        "{message}"
    );
}

#[test]
fn bad_header() {
    let mut b = reference("001");
    b[0] = 0x01;
    assert_eq!(edid::parse(&b), Err(EdidError::BadHeader));
    assert!(EdidError::BadHeader.to_string().contains("header"));
}

#[test]
fn all_zero_input() {
    assert_eq!(edid::parse(&[0u8; 128]), Err(EdidError::BadHeader));
    assert_eq!(edid::parse(&[0u8; 256]), Err(EdidError::BadHeader));
    assert_eq!(edid::parse(&[0xFFu8; 128]), Err(EdidError::BadHeader));
}

#[test]
fn unsupported_version() {
    let mut b = reference("001");
    b[0x12] = 2;
    assert_eq!(
        edid::parse(&b),
        Err(EdidError::UnsupportedVersion {
            version: 2,
            revision: 3
        })
    );
}

#[test]
fn bad_checksum_is_a_warning() {
    let mut b = reference("031");
    b[0x0C] ^= 0x01; // serial number, base block
    b[BLOCK_LEN + 10] ^= 0x40; // inside the CTA extension
    let edid = edid::parse(&b).expect("still readable");
    assert!(!edid.checksums_ok());
    let bad: Vec<usize> = edid
        .warnings
        .iter()
        .filter_map(|w| match w {
            EdidWarning::BadChecksum { block, .. } => Some(*block),
            _ => None,
        })
        .collect();
    assert_eq!(bad, vec![0, 1]);
    let first = edid.warnings.first().expect("warning").to_string();
    assert!(
        first.contains("block 0") && first.contains("checksum"),
        "{first}"
    );
    // Everything is still decoded.
    assert_eq!(edid.product_name.as_deref(), Some("DELL U2414H"));
    assert_eq!(edid.native_resolution(), Some((1920, 1080)));
}

#[test]
fn invalid_manufacturer_id_is_a_warning() {
    let mut b = reference("001");
    b[8] = 0;
    b[9] = 0;
    fix_checksums(&mut b);
    let edid = edid::parse(&b).expect("parses");
    assert_eq!(edid.manufacturer, "@@@");
    assert_eq!(
        edid.warnings,
        vec![EdidWarning::InvalidManufacturerId { raw: 0 }]
    );
}

#[test]
fn edid_with_a_cta_extension() {
    // A TV-like EDID whose base block has no DTD: the first DTD of the CTA-861 extension
    // (3840x2160 at 60 Hz, 594 MHz) is the preferred mode.
    let mut bytes = base_block(
        [
            text_descriptor(0xFC, "ACME TV"),
            text_descriptor(0xFF, "0000000001"),
            [0u8; 18],
            [0u8; 18],
        ],
        (0, 0),
    );
    bytes[0x7E] = 1;
    let mut cta = vec![0u8; BLOCK_LEN];
    cta[0] = edid::CTA_EXTENSION_TAG;
    cta[1] = 3;
    cta[2] = 4 + 5; // one 5-byte data block, then the DTDs
    cta[4] = 0x44; // a video data block of 4 bytes
    cta[5..9].copy_from_slice(&[0x90, 0x10, 0x05, 0x04]);
    cta[9..27].copy_from_slice(&dtd(594_000, (3840, 560), (2160, 90), (1210, 680)));
    cta[27..45].copy_from_slice(&dtd(148_500, (1920, 280), (1080, 45), (1210, 680)));
    bytes.extend_from_slice(&cta);
    fix_checksums(&mut bytes);
    assert_eq!(bytes.len(), 256);

    let edid = edid::parse(&bytes).expect("parses");
    assert!(edid.warnings.is_empty(), "{:?}", edid.warnings);
    assert_eq!(edid.block_count, 2);
    assert_eq!(edid.extension_tags, vec![0x02]);
    assert_eq!(edid.product_name.as_deref(), Some("ACME TV"));
    assert_eq!(edid.serial_string.as_deref(), Some("0000000001"));
    assert_eq!(edid.detailed_timings.len(), 2);
    assert_eq!(edid.native_resolution(), Some((3840, 2160)));
    let refresh = edid
        .preferred
        .and_then(|t| t.refresh_hz())
        .expect("refresh");
    assert!((refresh - 60.0).abs() < 1e-9);
    assert_eq!(edid.diagonal_inches(), Some(54.6));

    // A CTA block whose DTD offset points past the end holds no DTD, and does not panic.
    bytes[BLOCK_LEN + 2] = 120;
    fix_checksums(&mut bytes);
    let edid = edid::parse(&bytes).expect("parses");
    assert_eq!(edid.preferred, None);
}

// ---------------------------------------------------------------------------------------------
// Fuzz smoke test

/// One mutation of a real EDID.
fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut b = seeds[rng.below(seeds.len())].clone();
    const INTERESTING: [u8; 8] = [0x00, 0xFF, 0x7F, 0x80, 0x0A, 0x20, 0x01, 0xFE];
    match rng.below(9) {
        // Bit flips.
        0 => {
            for _ in 0..=rng.below(8) {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
        }
        // Byte replacements, random or "interesting".
        1 => {
            for _ in 0..=rng.below(16) {
                let i = rng.below(b.len());
                b[i] = if rng.below(2) == 0 {
                    rng.byte()
                } else {
                    INTERESTING[rng.below(INTERESTING.len())]
                };
            }
        }
        // Truncation anywhere.
        2 => b.truncate(rng.below(b.len() + 1)),
        // A new extension count and random extension blocks (any tag, CTA often).
        3 => {
            let count = rng.byte();
            b[0x7E] = count;
            b.truncate(BLOCK_LEN);
            let blocks = rng.below(usize::from(count) + 2);
            for _ in 0..blocks {
                let mut block: Vec<u8> = (0..BLOCK_LEN).map(|_| rng.byte()).collect();
                if rng.below(2) == 0 {
                    block[0] = edid::CTA_EXTENSION_TAG;
                }
                b.extend_from_slice(&block);
            }
            b.extend((0..rng.below(200)).map(|_| rng.byte()));
        }
        // The descriptors replaced by random bytes.
        4 => {
            for byte in &mut b[0x36..0x7E] {
                *byte = rng.byte();
            }
        }
        // A random CTA block with a random DTD offset.
        5 => {
            b[0x7E] = 1;
            b.truncate(BLOCK_LEN);
            let mut cta: Vec<u8> = (0..BLOCK_LEN).map(|_| rng.byte()).collect();
            cta[0] = edid::CTA_EXTENSION_TAG;
            cta[2] = INTERESTING[rng.below(INTERESTING.len())].wrapping_add(rng.byte() % 8);
            b.extend_from_slice(&cta);
        }
        // Header kept, everything else random, any length.
        6 => {
            let len = rng.below(4 * BLOCK_LEN);
            b = HEADER.to_vec();
            b.extend((0..len).map(|_| rng.byte()));
        }
        // Splice two EDIDs.
        7 => {
            let other = &seeds[rng.below(seeds.len())];
            let cut = rng.below(b.len().min(other.len()) + 1);
            b.truncate(cut);
            b.extend_from_slice(&other[cut..]);
        }
        // Extreme field values in the base block.
        _ => {
            for &i in &[0x08, 0x09, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x7E] {
                if rng.below(3) == 0 {
                    b[i] = INTERESTING[rng.below(INTERESTING.len())];
                }
            }
        }
    }
    // Half the time, make the checksums right, as a careful corrupter would.
    if rng.below(2) == 0 {
        fix_checksums(&mut b);
    }
    b
}

/// Calls the parser and every accessor; checks the invariants that hold for any input.
/// Returns whether the input parsed.
fn exercise(bytes: &[u8]) -> bool {
    let Ok(edid) = edid::parse(bytes) else {
        return false;
    };
    assert!(edid.block_count >= 1 && edid.block_count <= 256);
    assert_eq!(edid.manufacturer.len(), 3);
    let _ = edid.manufacturer_name();
    let _ = edid.made_year();
    let _ = edid.max_image_size_cm();
    let _ = edid.max_image_size.aspect_ratio();
    let _ = edid.native_resolution();
    let _ = edid.size_mm();
    let _ = edid.checksums_ok();
    if let Some(d) = edid.diagonal_inches() {
        assert!(d.is_finite() && d >= 0.0);
    }
    for t in edid.preferred.iter().chain(&edid.detailed_timings) {
        if let Some(r) = t.refresh_hz() {
            assert!(r.is_finite() && r > 0.0);
        }
        let _ = (t.width(), t.height(), t.size_mm());
    }
    for w in &edid.warnings {
        let _ = w.to_string();
    }
    for s in edid
        .alphanumeric
        .iter()
        .chain(&edid.product_name)
        .chain(&edid.serial_string)
    {
        assert!(s.bytes().all(|b| (0x20..0x7F).contains(&b)) && !s.ends_with(' '));
    }
    true
}

#[test]
fn fuzz_smoke_no_panic_on_mutated_real_edids() {
    const INPUTS: usize = 200_000;
    let seeds: Vec<Vec<u8>> = reference_edids().into_iter().map(|(_, b, _)| b).collect();
    let mut rng = Rng::new(0xED1D_5EED_F0A7_E111);
    let mut parsed = 0;
    for n in 0..INPUTS {
        let input = mutate(&mut rng, &seeds);
        match panic::catch_unwind(|| exercise(&input)) {
            Ok(true) => parsed += 1,
            Ok(false) => {}
            Err(panic) => {
                let panic = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("(no message)");
                let hex: String = input.iter().map(|b| format!("{b:02x}")).collect();
                panic!(
                    "input #{n} ({} bytes) panicked: {panic}\n{hex}",
                    input.len()
                );
            }
        }
    }
    // Most mutants must get past the header and length checks, or the decoding code would
    // hardly be exercised.
    assert!(
        parsed > INPUTS / 2,
        "only {parsed} of {INPUTS} mutated inputs parsed"
    );
    eprintln!("fuzz smoke: {INPUTS} mutated inputs, {parsed} parsed, none panicked");
    // Fixed extremes.
    for input in [
        vec![],
        HEADER.to_vec(),
        [HEADER.to_vec(), vec![0xFF; 120]].concat(),
        [HEADER.to_vec(), vec![0x00; 120]].concat(),
        [HEADER.to_vec(), vec![0xFF; 256 * BLOCK_LEN]].concat(),
    ] {
        let _ = exercise(&input);
    }
}
