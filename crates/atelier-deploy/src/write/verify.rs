//! The read-back: every verification block of the image read from the target with
//! `O_DIRECT` and compared with the hash taken while streaming. The chunks the overlapped
//! read-back already checked while streaming ([`ReadBack`]) are not read again.

use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use atelier_device::AlignedBuffer;

use super::stream::ReadBack;
use super::target::retried;
use super::{
    BlockTarget, Ctx, MAX_MISMATCH_RANGES, Phase, TargetError, Verification, VerifyMode,
    merge_ranges,
};
use atelier_record::ByteRange;

/// Reads one chunk's blocks (`pieces`, image byte ranges) back from `target` into `buf` and
/// compares each with its hash; returns the bytes compared and the blocks that differ.
pub(crate) fn check_chunk(
    ctx: &Ctx<'_>,
    target: &dyn BlockTarget,
    buf: &mut AlignedBuffer,
    pieces: &[Range<u64>],
    hashes: &[u128],
    sector: u64,
) -> Result<(u64, Vec<Range<u64>>), TargetError> {
    let (Some(first), Some(last)) = (pieces.first(), pieces.last()) else {
        return Ok((0, Vec::new()));
    };
    let span = first.start..last.end.div_ceil(sector) * sector;
    let data = &mut buf.as_mut_slice()[..(span.end - span.start) as usize];
    retried(ctx.cfg.retries, || target.read_exact_at(data, span.start)).map_err(|source| {
        TargetError::Io {
            op: "read",
            offset: span.start,
            source,
        }
    })?;
    let mut bad = Vec::new();
    let mut bytes = 0;
    for (k, p) in pieces.iter().enumerate() {
        let got = &data[(p.start - span.start) as usize..(p.end - span.start) as usize];
        if hashes.get(k) != Some(&xxhash_rust::xxh3::xxh3_128(got)) {
            bad.push(p.clone());
        }
        bytes += p.end - p.start;
    }
    Ok((bytes, bad))
}

/// Reads `target` back, except the chunks `prior` already checked. `Err(None)` when
/// cancelled.
pub(crate) fn run(
    ctx: &Ctx<'_>,
    index: usize,
    target: &dyn BlockTarget,
    hashes: &[u128],
    image_size: u64,
    prior: &ReadBack,
) -> Result<Verification, Option<TargetError>> {
    let layout = &ctx.layout;
    let chunk = layout.chunk;
    let sector = u64::from(target.logical_sector_size());
    let total = layout.covered_bytes(image_size);
    ctx.observer.phase(index, Phase::Verify, Some(total));

    // Each chunk's blocks, and where its hashes start.
    let mut requests: Vec<(Vec<Range<u64>>, usize)> = Vec::new();
    let mut next_hash = 0usize;
    let mut start = 0u64;
    while start < image_size {
        let pieces = layout.pieces(start, chunk.min(image_size - start));
        let count = pieces.len();
        if count > 0 && !prior.verified.contains(&start) {
            requests.push((pieces, next_hash));
        }
        next_hash += count;
        start += chunk;
    }
    if next_hash != hashes.len() {
        let bug = std::io::Error::other(format!(
            "internal error: {} block hashes for {next_hash} blocks",
            hashes.len()
        ));
        return Err(Some(TargetError::Io {
            op: "read",
            offset: 0,
            source: bug,
        }));
    }

    let next = AtomicUsize::new(0);
    let checked = AtomicU64::new(prior.checked);
    let halt = AtomicBool::new(false);
    let mismatches: Mutex<Vec<Range<u64>>> = Mutex::new(prior.mismatches.clone());
    let failure: Mutex<Option<TargetError>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..ctx.cfg.io_depth {
            let (requests, next, checked, halt, mismatches, failure) =
                (&requests, &next, &checked, &halt, &mismatches, &failure);
            s.spawn(move || {
                let mut buf = AlignedBuffer::zeroed(ctx.cfg.request_size);
                while !halt.load(Ordering::SeqCst) {
                    if ctx.cancel.load(Ordering::SeqCst) {
                        halt.store(true, Ordering::SeqCst);
                        break;
                    }
                    let Some((pieces, first_hash)) =
                        requests.get(next.fetch_add(1, Ordering::SeqCst))
                    else {
                        break;
                    };
                    let own = hashes.get(*first_hash..).unwrap_or(&[]);
                    let (bytes, bad) = match check_chunk(ctx, target, &mut buf, pieces, own, sector)
                    {
                        Ok(found) => found,
                        Err(error) => {
                            if let Ok(mut slot) = failure.lock() {
                                slot.get_or_insert(error);
                            }
                            halt.store(true, Ordering::SeqCst);
                            break;
                        }
                    };
                    if !bad.is_empty()
                        && let Ok(mut m) = mismatches.lock()
                    {
                        m.extend(bad);
                    }
                    let done = checked.fetch_add(bytes, Ordering::SeqCst) + bytes;
                    ctx.observer
                        .progress(index, Phase::Verify, done, Some(total));
                }
            });
        }
    });
    if let Some(error) = failure.into_inner().ok().flatten() {
        return Err(Some(error));
    }
    let bytes_checked = checked.load(Ordering::SeqCst);
    if bytes_checked < total {
        return Err(None);
    }
    let merged = merge_ranges(mismatches.into_inner().unwrap_or_default());
    Ok(Verification {
        mode: if layout.regions.is_some() {
            VerifyMode::Mapped
        } else {
            VerifyMode::Full
        },
        bytes_checked,
        mismatched_bytes: merged.iter().map(|r| r.end - r.start).sum(),
        mismatches: merged
            .iter()
            .take(MAX_MISMATCH_RANGES)
            .map(|r| ByteRange {
                offset: r.start,
                length: r.end - r.start,
            })
            .collect(),
    })
}
