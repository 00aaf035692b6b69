//! Where the image's bytes go: which ranges are written and verified, how they are cut into
//! the blocks whose hashes are kept, and how a chunk is split into data to write and zeros to
//! leave to the device. Pure arithmetic, no I/O.

use std::ops::Range;

/// The geometry of one deployment.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    /// Common write alignment: the largest logical sector size of the targets.
    pub align: u64,
    /// Bytes per read / write request (a chunk of the stream).
    pub chunk: u64,
    /// Bytes per verification block (one hash each).
    pub block: u64,
    /// The byte ranges written and verified, sorted, disjoint, widened to `align`; `None` for
    /// the whole image.
    pub regions: Option<Vec<Range<u64>>>,
}

/// What an extent of a chunk holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExtentKind {
    /// Bytes to write.
    Data,
    /// All zeros: zeroed by the device, or skipped when the target is already zero.
    Zero,
}

/// A contiguous part of a chunk, in image offsets. `len` counts image bytes; the write of the
/// extent that ends the image is padded with zeros up to the alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Extent {
    /// First byte, in the image.
    pub offset: u64,
    /// Image bytes.
    pub len: u64,
    /// Data or zeros.
    pub kind: ExtentKind,
}

impl Layout {
    /// The verification blocks of the chunk that starts at `chunk_start` and holds `data_len`
    /// image bytes, in order, as image byte ranges. Blocks are cut at multiples of
    /// [`Self::block`] and never cross a chunk.
    pub fn pieces(&self, chunk_start: u64, data_len: u64) -> Vec<Range<u64>> {
        let chunk_end = chunk_start + data_len;
        let mut out = Vec::new();
        let mut cut = |range: Range<u64>| {
            let mut at = range.start;
            while at < range.end {
                let next = ((at / self.block) + 1) * self.block;
                let end = next.min(range.end);
                out.push(at..end);
                at = end;
            }
        };
        match &self.regions {
            None => cut(chunk_start..chunk_end),
            Some(regions) => {
                let first = regions.partition_point(|r| r.end <= chunk_start);
                for r in &regions[first..] {
                    if r.start >= chunk_end {
                        break;
                    }
                    cut(r.start.max(chunk_start)..r.end.min(chunk_end));
                }
            }
        }
        out
    }

    /// Image bytes covered by the regions in an image of `image_size` bytes.
    pub fn covered_bytes(&self, image_size: u64) -> u64 {
        match &self.regions {
            None => image_size,
            Some(regions) => regions
                .iter()
                .map(|r| r.end.min(image_size).saturating_sub(r.start))
                .sum(),
        }
    }

    /// `len` rounded up to the alignment.
    pub fn align_up(&self, value: u64) -> u64 {
        value.div_ceil(self.align) * self.align
    }
}

/// Widens `ranges` (offset, length) to `align`, sorts and merges them. Fails on an empty
/// list, overlapping ranges, an overflow or a range past `image_size`.
pub(crate) fn regions_from_ranges(
    ranges: &[(u64, u64)],
    align: u64,
    image_size: u64,
) -> Result<Vec<Range<u64>>, String> {
    let mut sorted: Vec<(u64, u64)> = ranges.iter().copied().filter(|r| r.1 > 0).collect();
    sorted.sort_unstable();
    let mut out: Vec<Range<u64>> = Vec::with_capacity(sorted.len());
    let mut previous_end = 0u64;
    for (i, &(offset, len)) in sorted.iter().enumerate() {
        let end = offset
            .checked_add(len)
            .ok_or_else(|| format!("range at byte {offset} of {len} bytes overflows"))?;
        if end > image_size {
            return Err(format!(
                "range {offset}..{end} lies past the end of the image ({image_size} bytes)"
            ));
        }
        if i > 0 && offset < previous_end {
            return Err(format!(
                "range {offset}..{end} overlaps the range before it (ending at {previous_end})"
            ));
        }
        previous_end = end;
        let start = offset / align * align;
        let end = end.div_ceil(align) * align;
        match out.last_mut() {
            Some(last) if start <= last.end => last.end = last.end.max(end),
            _ => out.push(start..end),
        }
    }
    if out.is_empty() {
        return Err("the block map maps no bytes".into());
    }
    Ok(out)
}

/// Splits the pieces of a chunk (with whether each is all zeros) into extents: contiguous
/// pieces of one kind are merged, and a zero run shorter than `min_zero_run` that touches
/// data is written with it (many small requests would cost more than the zeros).
pub(crate) fn extents(pieces: &[(Range<u64>, bool)], min_zero_run: u64) -> Vec<Extent> {
    let merge = |runs: Vec<Extent>| {
        let mut out: Vec<Extent> = Vec::with_capacity(runs.len());
        for e in runs {
            match out.last_mut() {
                Some(last) if last.kind == e.kind && last.offset + last.len == e.offset => {
                    last.len += e.len;
                }
                _ => out.push(e),
            }
        }
        out
    };
    let runs = merge(
        pieces
            .iter()
            .map(|(r, zero)| Extent {
                offset: r.start,
                len: r.end - r.start,
                kind: if *zero {
                    ExtentKind::Zero
                } else {
                    ExtentKind::Data
                },
            })
            .collect(),
    );
    let touches_data = |i: usize| {
        let e = runs[i];
        let before = i
            .checked_sub(1)
            .map(|p| runs[p])
            .is_some_and(|p| p.kind == ExtentKind::Data && p.offset + p.len == e.offset);
        let after = runs
            .get(i + 1)
            .is_some_and(|n| n.kind == ExtentKind::Data && e.offset + e.len == n.offset);
        before || after
    };
    let absorbed: Vec<Extent> = (0..runs.len())
        .map(|i| {
            let e = runs[i];
            if e.kind == ExtentKind::Zero && e.len < min_zero_run && touches_data(i) {
                Extent {
                    kind: ExtentKind::Data,
                    ..e
                }
            } else {
                e
            }
        })
        .collect();
    merge(absorbed)
}

/// True when every byte of `bytes` is zero. Stops at the first non-zero 4 KiB.
pub(crate) fn is_zero(bytes: &[u8]) -> bool {
    bytes
        .chunks(4096)
        .all(|page| page.iter().fold(0u8, |acc, &b| acc | b) == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KIB: u64 = 1024;

    fn layout(regions: Option<Vec<Range<u64>>>) -> Layout {
        Layout {
            align: 4 * KIB,
            chunk: 256 * KIB,
            block: 64 * KIB,
            regions,
        }
    }

    #[test]
    fn whole_image_pieces_are_blocks_cut_at_the_data_end() {
        let l = layout(None);
        let p = l.pieces(256 * KIB, 256 * KIB);
        assert_eq!(p.len(), 4);
        assert_eq!(p[0], 256 * KIB..320 * KIB);
        assert_eq!(p[3], 448 * KIB..512 * KIB);
        // A short last chunk: the final piece ends at the image end, unaligned.
        let p = l.pieces(512 * KIB, 70 * KIB + 3);
        assert_eq!(p, vec![512 * KIB..576 * KIB, 576 * KIB..582 * KIB + 3]);
    }

    #[test]
    fn mapped_pieces_follow_the_regions_inside_a_chunk() {
        let l = layout(Some(vec![
            4 * KIB..8 * KIB,
            60 * KIB..200 * KIB,
            250 * KIB..300 * KIB,
        ]));
        assert_eq!(
            l.pieces(0, 256 * KIB),
            vec![
                4 * KIB..8 * KIB,
                60 * KIB..64 * KIB,
                64 * KIB..128 * KIB,
                128 * KIB..192 * KIB,
                192 * KIB..200 * KIB,
                250 * KIB..256 * KIB,
            ]
        );
        assert_eq!(l.pieces(256 * KIB, 256 * KIB), vec![256 * KIB..300 * KIB]);
        assert!(l.pieces(512 * KIB, 256 * KIB).is_empty());
        assert_eq!(l.covered_bytes(1 << 20), 4 * KIB + 140 * KIB + 50 * KIB);
        assert_eq!(l.covered_bytes(270 * KIB), 4 * KIB + 140 * KIB + 20 * KIB);
    }

    #[test]
    fn ranges_are_widened_sorted_merged_and_checked() {
        let r = regions_from_ranges(&[(10_000, 100), (0, 512), (4096, 10)], 4096, 1 << 20).unwrap();
        assert_eq!(r, vec![0..12288]);
        let r =
            regions_from_ranges(&[(0, 4096), (8192, 4096), (20_000, 0)], 4096, 1 << 20).unwrap();
        assert_eq!(r, vec![0..4096, 8192..12288]);
        // The image's last range may end off the alignment; it is widened past the end.
        let r = regions_from_ranges(&[(8192, 1000)], 4096, 9192).unwrap();
        assert_eq!(r, vec![8192..12288]);
        assert!(
            regions_from_ranges(&[(0, 8192), (4096, 10)], 4096, 1 << 20)
                .unwrap_err()
                .contains("overlaps")
        );
        assert!(
            regions_from_ranges(&[(0, 8192)], 4096, 4096)
                .unwrap_err()
                .contains("past the end")
        );
        assert!(regions_from_ranges(&[(u64::MAX, 2)], 4096, 1 << 20).is_err());
        assert!(regions_from_ranges(&[], 4096, 1 << 20).is_err());
    }

    fn pieces(kinds: &str) -> Vec<(Range<u64>, bool)> {
        kinds
            .chars()
            .enumerate()
            .map(|(i, c)| {
                let i = i as u64;
                (i * 64 * KIB..(i + 1) * 64 * KIB, c == '0')
            })
            .collect()
    }

    #[test]
    fn short_zero_runs_between_data_are_written() {
        // D 0 D 0000 D, minimum run 128 KiB: the single zero block is written, the four are not.
        let e = extents(&pieces("D0D0000D"), 128 * KIB);
        assert_eq!(
            e,
            vec![
                Extent {
                    offset: 0,
                    len: 192 * KIB,
                    kind: ExtentKind::Data
                },
                Extent {
                    offset: 192 * KIB,
                    len: 256 * KIB,
                    kind: ExtentKind::Zero
                },
                Extent {
                    offset: 448 * KIB,
                    len: 64 * KIB,
                    kind: ExtentKind::Data
                },
            ]
        );
        // All zeros stays one zero extent whatever its length.
        let e = extents(&pieces("00"), 1 << 30);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].kind, ExtentKind::Zero);
        // Pieces that do not touch (a gap between mapped ranges) are not merged.
        let mut p = pieces("D");
        p.push((128 * KIB..192 * KIB, false));
        assert_eq!(extents(&p, 0).len(), 2);
    }

    #[test]
    fn zero_detection_sees_a_single_bit() {
        let mut page = vec![0u8; 3 * 4096 + 100];
        assert!(is_zero(&page));
        let last = page.len() - 1;
        page[last] = 1;
        assert!(!is_zero(&page));
        assert!(is_zero(&[]));
    }
}
