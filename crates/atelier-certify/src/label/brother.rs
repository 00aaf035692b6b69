//! Brother QL raster data, as described in Brother's "Software Developer's Manual — Raster
//! Command Reference QL-800/810W/820NWB" (v1.01, 2016), §2.1 "Print data overview" and §4
//! "Printing command details". One page, uncompressed:
//!
//! | bytes | command | §4 |
//! |---|---|---|
//! | 200 × `00` | Invalidate | NULL |
//! | `1B 40` | Initialize | ESC @ |
//! | `1B 69 61 01` | Switch dynamic command mode to raster | ESC i a |
//! | `1B 69 7A n1…n10` | Print information: valid flags, media type, width, length (mm), raster line count (u32 little-endian), starting page, 0 | ESC i z |
//! | `1B 69 4D 40` | Various mode: auto cut | ESC i M |
//! | `1B 69 41 01` | Cut every 1 label | ESC i A |
//! | `1B 69 4B 08` | Expanded mode: cut at end | ESC i K |
//! | `1B 69 64 nL nH` | Margin (feed) amount in dots: 0 for die-cut labels, 35 for continuous tape | ESC i d |
//! | `67 00 5A` + 90 bytes, or `5A` | Raster graphics transfer (one line of the 720-pin head), or a blank line | g, Z |
//! | `1A` | Print command with feeding (last page) | Control-Z |
//!
//! The head has 720 pins (90 bytes per line, most significant bit first). On 62 mm media the
//! printable area is 696 dots wide with 12 unused pins on each side (§2.3.2); the head's
//! first pin is at the label's right edge, so each line holds the label's row mirrored.
//! Raster lines follow one another along the feed direction: the label's rows.

use super::raster::Bitmap;

/// Pins on the print head of the QL-800 series.
pub const HEAD_PINS: usize = 720;
/// Bytes per raster line.
pub const LINE_BYTES: usize = HEAD_PINS / 8;
/// Length of the invalidate command.
pub const INVALIDATE_BYTES: usize = 200;

/// A QL medium.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QlMedia {
    /// Die-cut labels (true) or continuous tape (false).
    pub die_cut: bool,
    /// Width in mm.
    pub width_mm: u8,
    /// Length in mm (0 for continuous tape).
    pub length_mm: u8,
    /// Printable dots across the tape.
    pub printable_dots: usize,
    /// Unused pins on the side of the head's first pin.
    pub offset_pins: usize,
    /// Printable raster lines along the tape (die-cut), or the length to print.
    pub lines: usize,
}

/// DK-11209 die-cut labels, 62 × 29 mm: 696 × 271 dots at 300 dpi.
pub const DK_11209: QlMedia = QlMedia {
    die_cut: true,
    width_mm: 62,
    length_mm: 29,
    printable_dots: 696,
    offset_pins: 12,
    lines: 271,
};

/// Encodes `bitmap` (`media.printable_dots` wide) as one page of QL raster data.
pub fn encode(bitmap: &Bitmap, media: &QlMedia) -> Vec<u8> {
    let mut out = vec![0u8; INVALIDATE_BYTES];
    out.extend_from_slice(&[0x1B, 0x40]);
    out.extend_from_slice(&[0x1B, 0x69, 0x61, 0x01]);
    let lines = bitmap.height() as u32;
    out.extend_from_slice(&[
        0x1B,
        0x69,
        0x7A,
        // Valid: media type, width, length, quality first, printer recovery.
        0x02 | 0x04 | 0x08 | 0x40 | 0x80,
        if media.die_cut { 0x0B } else { 0x0A },
        media.width_mm,
        media.length_mm,
    ]);
    out.extend_from_slice(&lines.to_le_bytes());
    out.extend_from_slice(&[0x00, 0x00]);
    out.extend_from_slice(&[0x1B, 0x69, 0x4D, 0x40]);
    out.extend_from_slice(&[0x1B, 0x69, 0x41, 0x01]);
    out.extend_from_slice(&[0x1B, 0x69, 0x4B, 0x08]);
    let margin: u16 = if media.die_cut { 0 } else { 35 };
    out.extend_from_slice(&[0x1B, 0x69, 0x64]);
    out.extend_from_slice(&margin.to_le_bytes());
    for y in 0..bitmap.height() {
        let row = bitmap.row(y);
        if !row.iter().any(|d| *d) {
            out.push(0x5A);
            continue;
        }
        let mut line = [0u8; LINE_BYTES];
        for (x, on) in row.iter().enumerate().take(media.printable_dots) {
            if *on {
                // Mirrored: the label's column x sits on pin (offset + printable − 1 − x).
                let pin = media.offset_pins + media.printable_dots - 1 - x;
                line[pin / 8] |= 0x80 >> (pin % 8);
            }
        }
        out.extend_from_slice(&[0x67, 0x00, LINE_BYTES as u8]);
        out.extend_from_slice(&line);
    }
    out.push(0x1A);
    out
}

/// What [`decode`] found in QL raster data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The print information: media type byte (0x0A continuous, 0x0B die-cut).
    pub media_type: u8,
    /// Media width in mm.
    pub width_mm: u8,
    /// Media length in mm.
    pub length_mm: u8,
    /// The raster line count the print information announced.
    pub announced_lines: u32,
    /// Margin amount in dots.
    pub margin: u16,
    /// The picture, un-mirrored, `printable_dots` wide.
    pub bitmap: Bitmap,
}

/// Why raster data does not decode.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not valid QL raster data at byte {at}: {what}")]
pub struct DecodeError {
    /// Offset of the problem.
    pub at: usize,
    /// What was expected.
    pub what: String,
}

/// Reads QL raster data back into a bitmap (the checks a printer would make), for `media`.
pub fn decode(data: &[u8], media: &QlMedia) -> Result<Decoded, DecodeError> {
    let err = |at: usize, what: &str| DecodeError {
        at,
        what: what.to_owned(),
    };
    if data.len() < INVALIDATE_BYTES || data[..INVALIDATE_BYTES].iter().any(|b| *b != 0) {
        return Err(err(0, "200 invalidate bytes (00)"));
    }
    let mut i = INVALIDATE_BYTES;
    let expect = |i: &mut usize, bytes: &[u8], what: &str| {
        if data.get(*i..*i + bytes.len()) == Some(bytes) {
            *i += bytes.len();
            Ok(())
        } else {
            Err(err(*i, what))
        }
    };
    expect(&mut i, &[0x1B, 0x40], "initialize (1B 40)")?;
    expect(
        &mut i,
        &[0x1B, 0x69, 0x61, 0x01],
        "raster mode (1B 69 61 01)",
    )?;
    expect(&mut i, &[0x1B, 0x69, 0x7A], "print information (1B 69 7A)")?;
    let info = data
        .get(i..i + 10)
        .ok_or_else(|| err(i, "10 bytes of print information"))?;
    let (media_type, width_mm, length_mm) = (info[1], info[2], info[3]);
    let announced_lines = u32::from_le_bytes([info[4], info[5], info[6], info[7]]);
    i += 10;
    let mut margin = 0;
    let mut lines: Vec<Vec<bool>> = Vec::new();
    loop {
        match data.get(i..) {
            Some([0x1B, 0x69, 0x4D, _, ..])
            | Some([0x1B, 0x69, 0x41, _, ..])
            | Some([0x1B, 0x69, 0x4B, _, ..]) => i += 4,
            Some([0x1B, 0x69, 0x64, lo, hi, ..]) => {
                margin = u16::from_le_bytes([*lo, *hi]);
                i += 5;
            }
            Some([0x5A, ..]) => {
                lines.push(vec![false; media.printable_dots]);
                i += 1;
            }
            Some([0x67, 0x00, n, ..]) => {
                let n = *n as usize;
                if n != LINE_BYTES {
                    return Err(err(i, "raster lines of 90 bytes"));
                }
                let line = data
                    .get(i + 3..i + 3 + n)
                    .ok_or_else(|| err(i, "a whole raster line"))?;
                let mut row = vec![false; media.printable_dots];
                for (x, dot) in row.iter_mut().enumerate() {
                    let pin = media.offset_pins + media.printable_dots - 1 - x;
                    *dot = line[pin / 8] & (0x80 >> (pin % 8)) != 0;
                }
                lines.push(row);
                i += 3 + n;
            }
            Some([0x1A]) => break,
            Some([0x1A, ..]) => return Err(err(i + 1, "nothing after the print command")),
            Some([]) | None => return Err(err(i, "a print command (1A) at the end")),
            Some(_) => return Err(err(i, "a known command")),
        }
    }
    let mut bitmap = Bitmap::new(media.printable_dots, lines.len());
    for (y, row) in lines.iter().enumerate() {
        for (x, on) in row.iter().enumerate() {
            bitmap.set(x, y, *on);
        }
    }
    Ok(Decoded {
        media_type,
        width_mm,
        length_mm,
        announced_lines,
        margin,
        bitmap,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bitmap_round_trips_and_the_header_is_the_manuals() {
        let mut b = Bitmap::new(696, 271);
        b.set(0, 0, true); // top-left corner of the label
        b.set(695, 270, true);
        for x in 100..200 {
            b.set(x, 50, true);
        }
        let data = encode(&b, &DK_11209);
        assert!(data[..200].iter().all(|x| *x == 0));
        assert_eq!(&data[200..206], &[0x1B, 0x40, 0x1B, 0x69, 0x61, 0x01]);
        assert_eq!(
            &data[206..219],
            &[0x1B, 0x69, 0x7A, 0xCE, 0x0B, 62, 29, 0x0F, 0x01, 0, 0, 0, 0]
        );
        // The first line: only the label's top-left dot, on pin 12 + 695 = 707.
        let first = data
            .windows(3)
            .position(|w| w == [0x67, 0x00, 0x5A])
            .unwrap();
        let line = &data[first + 3..first + 3 + 90];
        assert_eq!(line[707 / 8], 0x80 >> (707 % 8));
        assert_eq!(line.iter().filter(|b| **b != 0).count(), 1);
        assert_eq!(*data.last().unwrap(), 0x1A);
        let back = decode(&data, &DK_11209).unwrap();
        assert_eq!(back.bitmap, b);
        assert_eq!(back.announced_lines, 271);
        assert_eq!(
            (back.media_type, back.width_mm, back.length_mm),
            (0x0B, 62, 29)
        );
    }

    #[test]
    fn truncated_or_foreign_data_is_refused() {
        let b = Bitmap::new(696, 3);
        let data = encode(&b, &DK_11209);
        assert!(decode(&data[..data.len() - 1], &DK_11209).is_err());
        assert!(decode(&data[1..], &DK_11209).is_err());
        let mut odd = data.clone();
        odd.insert(odd.len() - 1, 0x99);
        assert!(decode(&odd, &DK_11209).is_err());
    }
}
