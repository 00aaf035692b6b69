//! Which sectors a verification reads.
//!
//! Full verification reads every sector. Sampled verification follows NIST SP 800-88's
//! guidance for verification by sampling: the device is cut into at least
//! [`SUBSECTIONS`] equal subsections, at least two non-overlapping samples are read at
//! pseudo-random places in each (one in each half, so they cannot overlap), the first and the
//! last sector are always read, and the samples together cover at least
//! [`MIN_COVERAGE_PERCENT`] of the device.

/// Number of equal subsections of a sampled verification.
pub const SUBSECTIONS: u64 = 1000;
use atelier_record::VerificationMode;

/// Minimum share of the device a sampled verification reads, in percent.
pub const MIN_COVERAGE_PERCENT: u64 = 10;

/// A range of logical sectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SectorRange {
    /// First sector.
    pub first: u64,
    /// Number of sectors.
    pub count: u64,
}

impl SectorRange {
    /// One past the last sector.
    pub fn end(&self) -> u64 {
        self.first + self.count
    }
}

/// The sectors to read for a sampled verification of a device of `total` sectors, placed with
/// pseudo-random numbers from `seed`. Sorted, non-overlapping. Devices too small for 1000
/// subsections of two samples are read whole.
pub fn sampled_ranges(total: u64, seed: u64) -> Vec<SectorRange> {
    if total < SUBSECTIONS * 8 {
        return vec![SectorRange {
            first: 0,
            count: total,
        }];
    }
    let mut rng = SplitMix64(seed);
    let base = total / SUBSECTIONS;
    let mut ranges = Vec::with_capacity(2 * SUBSECTIONS as usize + 2);
    for i in 0..SUBSECTIONS {
        let start = i * base;
        // The last subsection takes the remainder.
        let len = if i == SUBSECTIONS - 1 {
            total - start
        } else {
            base
        };
        // Each of the two samples covers at least MIN_COVERAGE_PERCENT/2 of the subsection.
        let sample = (len * MIN_COVERAGE_PERCENT).div_ceil(200).max(1);
        let half = len / 2;
        for (half_start, half_len) in [(start, half), (start + half, len - half)] {
            let slack = half_len.saturating_sub(sample);
            let offset = if slack == 0 {
                0
            } else {
                rng.next() % (slack + 1)
            };
            ranges.push(SectorRange {
                first: half_start + offset,
                count: sample.min(half_len),
            });
        }
    }
    ranges.push(SectorRange { first: 0, count: 1 });
    ranges.push(SectorRange {
        first: total - 1,
        count: 1,
    });
    normalise(ranges)
}

/// Sorts ranges and merges those that overlap or touch.
fn normalise(mut ranges: Vec<SectorRange>) -> Vec<SectorRange> {
    ranges.sort_by_key(|r| r.first);
    let mut out: Vec<SectorRange> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.first <= last.end() => {
                last.count = last.count.max(r.end() - last.first);
            }
            _ => out.push(r),
        }
    }
    out
}

/// The ranges a read-back in `mode` covers on a device of `total` sectors: all of it, or the
/// sample of [`sampled_ranges`] drawn with `seed`.
pub fn ranges(mode: VerificationMode, total: u64, seed: u64) -> Vec<SectorRange> {
    match mode {
        VerificationMode::Full => vec![SectorRange {
            first: 0,
            count: total,
        }],
        VerificationMode::Sampled => sampled_ranges(total, seed),
    }
}

/// Total sectors covered by `ranges` (assumed normalised).
pub fn covered(ranges: &[SectorRange]) -> u64 {
    ranges.iter().map(|r| r.count).sum()
}

/// SplitMix64: a small, well-distributed generator for sample positions (not for data).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_plan(total: u64, seed: u64) {
        let ranges = sampled_ranges(total, seed);
        // Sorted, disjoint, inside the device.
        for pair in ranges.windows(2) {
            assert!(pair[0].end() < pair[1].first, "{pair:?}");
        }
        assert!(ranges.last().unwrap().end() <= total);
        // First and last sector.
        assert_eq!(ranges[0].first, 0);
        assert_eq!(ranges.last().unwrap().end(), total);
        // Coverage.
        let cov = covered(&ranges);
        assert!(
            cov * 100 >= total * MIN_COVERAGE_PERCENT,
            "{cov} of {total}"
        );
        assert!(
            cov < total / 2,
            "sampling should not read most of the device"
        );
        // At least two samples in every subsection.
        let base = total / SUBSECTIONS;
        for i in 0..SUBSECTIONS {
            let (lo, hi) = (
                i * base,
                if i == SUBSECTIONS - 1 {
                    total
                } else {
                    (i + 1) * base
                },
            );
            let mid = lo + (hi - lo) / 2;
            let in_first_half = ranges.iter().any(|r| r.first < mid && r.end() > lo);
            let in_second_half = ranges.iter().any(|r| r.first < hi && r.end() > mid);
            assert!(in_first_half && in_second_half, "subsection {i}");
        }
    }

    #[test]
    fn sampled_plans_meet_the_nist_rules() {
        // 2 GiB in 512-byte sectors, an odd size, and a 4Kn device of 1 TB.
        check_plan(4 * 1024 * 1024, 1);
        check_plan(4 * 1024 * 1024 + 12_345, 2);
        check_plan(244_190_646, 3);
        check_plan(SUBSECTIONS * 8, 4);
    }

    #[test]
    fn positions_depend_on_the_seed() {
        assert_ne!(sampled_ranges(1 << 22, 1), sampled_ranges(1 << 22, 2));
        assert_eq!(sampled_ranges(1 << 22, 7), sampled_ranges(1 << 22, 7));
    }

    #[test]
    fn tiny_devices_are_read_whole() {
        assert_eq!(
            sampled_ranges(100, 1),
            vec![SectorRange {
                first: 0,
                count: 100
            }]
        );
    }
}
