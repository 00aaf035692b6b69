//! The end-of-card probe: does the card really hold what its size says?
//!
//! Fake-capacity SD cards and USB sticks report a size larger than their flash: writes past
//! the real capacity are dropped, or the controller ignores the high address bits so that they
//! wrap around onto lower addresses; an image written to them reads back fine until the file
//! system grows into the missing part. Before an image is written, [`probe_capacity`] writes a
//! distinct random 4 KiB block at the start, at every power of two (a card that ignores the
//! address bits above its real size puts the block for offset 2^k over the one at 0), at
//! sixteen places spread over the declared capacity and at the last block; syncs; then reads
//! every one back with `O_DIRECT`: a card that dropped or wrapped any of them is refused. The
//! blocks' previous content is read first and written back afterwards, so the probe leaves
//! the target as it found it (the holes of a block map and the space past the image keep,
//! e.g., a wipe's zeros); nothing is written when the target is smaller than one probe block.

use std::io;

use atelier_device::AlignedBuffer;

use crate::write::BlockTarget;

/// Bytes per probe block.
pub const PROBE_BLOCK: usize = 4096;
/// Places probed over the declared capacity.
pub const PROBES: u64 = 16;

/// Why a target failed the probe.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// A probe block read back different: the card does not hold its declared capacity.
    #[error(
        "{target} does not keep what is written at byte {offset} of its declared {declared} \
         bytes: it is probably a fake-capacity card; do not use it (nothing of the image was \
         written)"
    )]
    FakeCapacity {
        /// The target.
        target: String,
        /// Where the probe block was written.
        offset: u64,
        /// The size the target declares.
        declared: u64,
    },
    /// The probe could not write or read.
    #[error("{target}: the capacity probe failed at byte {offset}: {source}")]
    Io {
        /// The target.
        target: String,
        /// Where.
        offset: u64,
        /// The error.
        source: io::Error,
    },
}

/// Offsets of the probe blocks on a target of `size` bytes with `sector`-byte sectors:
/// [`PROBES`] places from the start to the last aligned block, evenly spread.
pub fn probe_offsets(size: u64, sector: u32) -> Vec<u64> {
    let align = (PROBE_BLOCK as u64).max(u64::from(sector.max(1)));
    if size < align {
        return Vec::new();
    }
    let last = (size - align) / align * align;
    let spread = (0..PROBES).map(|i| (last / (PROBES - 1)) * i / align * align);
    let powers = (12..64)
        .map(|k| 1u64 << k)
        .take_while(|&o| o <= last)
        .filter(|o| o % align == 0);
    let mut offsets: Vec<u64> = spread.chain(powers).chain(std::iter::once(last)).collect();
    offsets.sort_unstable();
    offsets.dedup();
    // The block at 0 is written first: a wrapped write lands on it afterwards.
    offsets
}

/// Writes a distinct random block at every [`probe_offsets`], syncs, reads them back and
/// compares. `seed` makes the blocks distinct from one run to the next (pass random bytes).
pub fn probe_capacity(target: &dyn BlockTarget, seed: u64) -> Result<(), ProbeError> {
    let size = target.size_bytes();
    let sector = target.logical_sector_size();
    let len = PROBE_BLOCK.max(sector as usize);
    let offsets = probe_offsets(size, sector);
    let pattern = |index: usize, buf: &mut [u8]| {
        // xorshift64*: different for every block and every run.
        let mut x = seed ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        for chunk in buf.chunks_mut(8) {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            let v = x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    };
    let io_err = |offset: u64, source: io::Error| ProbeError::Io {
        target: target.label(),
        offset,
        source,
    };
    let mut buf = AlignedBuffer::zeroed(len);
    // What was there, put back afterwards: a target the image does not fully cover (a block
    // map's holes, the space past the image) keeps its content — e.g. the zeros of a wipe.
    let mut saved = Vec::with_capacity(offsets.len());
    for &offset in &offsets {
        target
            .read_exact_at(buf.as_mut_slice(), offset)
            .map_err(|e| io_err(offset, e))?;
        saved.push(buf.as_slice().to_vec());
    }
    for (i, &offset) in offsets.iter().enumerate() {
        pattern(i, buf.as_mut_slice());
        target
            .write_all_at(buf.as_slice(), offset)
            .map_err(|e| io_err(offset, e))?;
    }
    target.sync_data().map_err(|e| io_err(0, e))?;
    let mut want = vec![0u8; len];
    let mut verdict = Ok(());
    for (i, &offset) in offsets.iter().enumerate() {
        target
            .read_exact_at(buf.as_mut_slice(), offset)
            .map_err(|e| io_err(offset, e))?;
        pattern(i, &mut want);
        if buf.as_slice() != want.as_slice() {
            verdict = Err(ProbeError::FakeCapacity {
                target: target.label(),
                offset,
                declared: size,
            });
            break;
        }
    }
    // Restore in reverse order, so that on a card that wraps the block at 0 ends up right.
    for (&offset, old) in offsets.iter().zip(&saved).rev() {
        buf.as_mut_slice().copy_from_slice(old);
        target
            .write_all_at(buf.as_slice(), offset)
            .map_err(|e| io_err(offset, e))?;
    }
    target.sync_data().map_err(|e| io_err(0, e))?;
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A card declaring `declared` bytes but holding `real`: its controller either ignores
    /// the address bits above `real` (a power of two: writes wrap around) or drops writes past
    /// `real` (reads there return zeros).
    struct FakeCard {
        declared: u64,
        real: u64,
        wraps: bool,
        data: Mutex<Vec<u8>>,
    }

    impl BlockTarget for FakeCard {
        fn label(&self) -> String {
            "fake".into()
        }
        fn size_bytes(&self) -> u64 {
            self.declared
        }
        fn logical_sector_size(&self) -> u32 {
            512
        }
        fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
            let mut d = self.data.lock().unwrap();
            for (i, b) in buf.iter().enumerate() {
                let at = offset + i as u64;
                if self.wraps {
                    d[(at % self.real) as usize] = *b;
                } else if at < self.real {
                    d[at as usize] = *b;
                }
            }
            Ok(())
        }
        fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
            let d = self.data.lock().unwrap();
            for (i, b) in buf.iter_mut().enumerate() {
                let at = offset + i as u64;
                *b = if self.wraps {
                    d[(at % self.real) as usize]
                } else if at < self.real {
                    d[at as usize]
                } else {
                    0
                };
            }
            Ok(())
        }
        fn sync_data(&self) -> io::Result<()> {
            Ok(())
        }
    }

    fn card(declared: u64, real: u64, wraps: bool) -> FakeCard {
        FakeCard {
            declared,
            real,
            wraps,
            data: Mutex::new(vec![0; real as usize]),
        }
    }

    #[test]
    fn the_probe_leaves_a_real_card_as_it_found_it() {
        let c = card(8 << 20, 8 << 20, true);
        for (i, b) in c.data.lock().unwrap().iter_mut().enumerate() {
            *b = (i % 251) as u8;
        }
        let before = c.data.lock().unwrap().clone();
        probe_capacity(&c, 99).unwrap();
        assert!(*c.data.lock().unwrap() == before);
    }

    #[test]
    fn offsets_cover_the_whole_capacity_aligned() {
        let o = probe_offsets(64 << 20, 512);
        assert_eq!(o.first(), Some(&0));
        assert_eq!(o.last(), Some(&((64 << 20) - 4096)));
        assert!(o.len() >= 16);
        assert!(
            o.contains(&(1 << 20)) && o.contains(&(16 << 20)),
            "powers of two: {o:?}"
        );
        assert!(o.iter().all(|x| x % 4096 == 0));
        assert!(probe_offsets(1000, 512).is_empty());
        assert_eq!(probe_offsets(4096, 512), vec![0]);
    }

    #[test]
    fn a_real_card_passes_and_fake_ones_are_caught() {
        assert!(probe_capacity(&card(8 << 20, 8 << 20, true), 42).is_ok());
        // 32 MiB declared, 2 / 8 / 16 MiB real, address bits ignored: caught.
        for real in [2u64 << 20, 8 << 20, 16 << 20] {
            match probe_capacity(&card(32 << 20, real, true), 42) {
                Err(ProbeError::FakeCapacity { .. }) => {}
                other => panic!("{real}: {other:?}"),
            }
        }
        // Writes past the real capacity dropped, whatever the real size: caught.
        for real in [3u64 << 20, 31 << 20] {
            assert!(
                matches!(
                    probe_capacity(&card(32 << 20, real, false), 7),
                    Err(ProbeError::FakeCapacity { .. })
                ),
                "{real}"
            );
        }
    }
}
