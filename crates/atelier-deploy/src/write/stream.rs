//! The streaming phase: the reader thread, the SHA-256 threads, every target's writers and,
//! when [`super::WriteConfig::overlap_read_back`] is set, every target's overlapped read-back.

use std::collections::HashSet;
use std::io::{self, Read};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use atelier_device::AlignedBuffer;
use crossbeam_channel::{Receiver, Sender, bounded, unbounded};
use sha2::{Digest, Sha256};

use super::layout::{Extent, ExtentKind, extents, is_zero};
use super::target::{retried, zero_out_unsupported};
use super::verify::check_chunk;
use super::{Ctx, Phase, SourceError, Target, TargetError, ZeroHandling, hex};

/// One request's worth of the image, shared by every consumer. Its buffer goes back to the
/// pool when the last one lets go of it.
pub(crate) struct Chunk {
    /// First byte, in the image.
    pub start: u64,
    /// Image bytes held (the buffer is zero-padded after them up to the alignment).
    pub len: u64,
    /// What to write and what to zero.
    pub extents: Vec<Extent>,
    /// XXH3-128 of the chunk's verification blocks, in order.
    pub hashes: Arc<[u128]>,
    buf: Option<AlignedBuffer>,
    pool: Sender<AlignedBuffer>,
}

impl Chunk {
    /// The bytes of the image range `range` (within the chunk and its padding).
    pub fn bytes(&self, range: Range<u64>) -> &[u8] {
        let buf = self.buf.as_ref().map_or(&[][..], AlignedBuffer::as_slice);
        let from = (range.start - self.start) as usize;
        let to = (range.end - self.start) as usize;
        buf.get(from..to).unwrap_or(&[])
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        if let Some(buf) = self.buf.take() {
            // The pool may be gone at the end of the run; the buffer is then freed.
            let _ = self.pool.send(buf);
        }
    }
}

/// What the streaming phase leaves for the next ones.
pub(crate) struct Streamed {
    /// Image bytes read.
    pub bytes: u64,
    /// The held-back first chunk.
    pub first: Option<Arc<Chunk>>,
    /// XXH3-128 of every verification block, in image order.
    pub hashes: Vec<u128>,
    /// SHA-256 of the image, when computed to its end.
    pub image_sha256: Option<[u8; 32]>,
    /// Why the source failed.
    pub error: Option<SourceError>,
    /// The cancel flag stopped the reader.
    pub cancelled: bool,
    /// The stream was read to its end (not stopped by an error, the cancel flag, or the
    /// loss of every target).
    pub complete: bool,
    /// Per target, what was read back while streaming (empty when not overlapped).
    pub read_backs: Vec<ReadBack>,
}

/// A chunk written to one target, waiting for its read-back.
struct Written {
    start: u64,
    len: u64,
    hashes: Arc<[u128]>,
}

/// What one target's overlapped read-back checked while the image streamed.
#[derive(Debug, Default, Clone)]
pub(crate) struct ReadBack {
    /// First bytes of the chunks read back and compared.
    pub verified: HashSet<u64>,
    /// Image bytes compared.
    pub checked: u64,
    /// Blocks that differ.
    pub mismatches: Vec<Range<u64>>,
}

/// Reads the whole source and feeds the hashers and every target's writers.
pub(crate) fn run(
    ctx: &Ctx<'_>,
    mut reader: Box<dyn Read + Send + '_>,
    range_hashes: &[(u64, u64, [u8; 32])],
) -> Streamed {
    let cfg = ctx.cfg;
    let (pool_tx, pool_rx) = bounded::<AlignedBuffer>(cfg.buffers);
    for _ in 0..cfg.buffers {
        let _ = pool_tx.send(AlignedBuffer::zeroed(cfg.request_size));
    }
    let source_failed = AtomicBool::new(false);
    let range_error: Mutex<Option<SourceError>> = Mutex::new(None);

    let mut out = Streamed {
        bytes: 0,
        first: None,
        hashes: Vec::new(),
        image_sha256: None,
        error: None,
        cancelled: false,
        complete: false,
        read_backs: Vec::new(),
    };
    std::thread::scope(|s| {
        let (source_failed, range_error) = (&source_failed, &range_error);
        // Consumers: the two SHA-256 threads, then each target's writers.
        let image_hasher = cfg.hash_image.then(|| {
            let (tx, rx) = bounded::<Arc<Chunk>>(2);
            (tx, s.spawn(move || hash_image(&rx)))
        });
        let range_checker = (!range_hashes.is_empty()).then(|| {
            let (tx, rx) = bounded::<Arc<Chunk>>(2);
            s.spawn(move || check_ranges(&rx, range_hashes, source_failed, range_error));
            tx
        });
        let mut writers: Vec<Option<Sender<Arc<Chunk>>>> = Vec::new();
        let mut readers = Vec::new();
        for (i, t) in ctx.targets.iter().enumerate() {
            if ctx.states[i].is_failed() {
                writers.push(None);
                readers.push(None);
                continue;
            }
            ctx.observer.phase(i, Phase::Write, ctx.size);
            let (tx, rx) = bounded::<Arc<Chunk>>(cfg.io_depth);
            let read_back = match cfg.overlap_read_back {
                Some(every) if cfg.verify => {
                    let (done_tx, done_rx) = unbounded::<Written>();
                    let handle =
                        s.spawn(move || read_back_queue(ctx, i, t, &done_rx, every, source_failed));
                    readers.push(Some(handle));
                    Some(done_tx)
                }
                _ => {
                    readers.push(None);
                    None
                }
            };
            for _ in 0..cfg.io_depth {
                let rx = rx.clone();
                let done = read_back.clone();
                s.spawn(move || write_queue(ctx, i, t, &rx, done.as_ref(), source_failed));
            }
            writers.push(Some(tx));
        }

        let pool = (&pool_tx, &pool_rx);
        read_all(ctx, &mut reader, pool, source_failed, &mut out, |chunk| {
            if let Some((tx, _)) = &image_hasher {
                let _ = tx.send(Arc::clone(chunk));
            }
            if let Some(tx) = &range_checker {
                let _ = tx.send(Arc::clone(chunk));
            }
            if chunk.start == 0 {
                // The partition table is written last (commit phase).
                return false;
            }
            for (i, slot) in writers.iter_mut().enumerate() {
                if ctx.states[i].is_failed() {
                    // Dropping the sender lets its writers drain and end.
                    *slot = None;
                }
                if let Some(tx) = slot
                    && tx.send(Arc::clone(chunk)).is_err()
                {
                    *slot = None;
                }
            }
            !writers.iter().any(Option::is_some)
        });
        drop(writers);
        out.read_backs = readers
            .into_iter()
            .map(|h| h.and_then(|h| h.join().ok()).unwrap_or_default())
            .collect();
        drop(range_checker);
        if let Some((tx, handle)) = image_hasher {
            drop(tx);
            let complete = out.complete;
            out.image_sha256 = handle.join().ok().filter(|_| complete);
        }
    });
    if out.error.is_none()
        && let Ok(mut slot) = range_error.lock()
    {
        out.error = slot.take();
    }
    out
}

/// The reader loop: fills chunks and hands each to `dispatch`, which returns true when no
/// target is left to write to.
fn read_all(
    ctx: &Ctx<'_>,
    reader: &mut (dyn Read + Send + '_),
    (pool_tx, pool): (&Sender<AlignedBuffer>, &Receiver<AlignedBuffer>),
    source_failed: &AtomicBool,
    out: &mut Streamed,
    mut dispatch: impl FnMut(&Arc<Chunk>) -> bool,
) {
    let layout = &ctx.layout;
    let chunk_size = layout.chunk;
    let detect_zeros = ctx.cfg.zero_handling == ZeroHandling::ZeroOut;
    let mut offset = 0u64;
    loop {
        if ctx.cancel.load(Ordering::SeqCst) {
            out.cancelled = true;
            break;
        }
        if source_failed.load(Ordering::SeqCst) {
            break;
        }
        let want = match ctx.size {
            Some(0) => {
                out.error = Some(SourceError::Empty);
                break;
            }
            Some(size) if offset >= size => {
                match expect_end(reader, size) {
                    Ok(()) => out.complete = true,
                    Err(e) => out.error = Some(e),
                }
                break;
            }
            Some(size) => (size - offset).min(chunk_size),
            None => chunk_size,
        } as usize;
        let Ok(mut buf) = pool.recv() else { break };
        let n = match fill(reader, &mut buf.as_mut_slice()[..want]) {
            Ok(n) => n,
            Err(source) => {
                out.error = Some(SourceError::Read { offset, source });
                break;
            }
        };
        if n == 0 {
            out.error = match ctx.size {
                Some(expected) => Some(SourceError::Truncated {
                    got: offset,
                    expected,
                }),
                None if offset == 0 => Some(SourceError::Empty),
                None => {
                    out.complete = true;
                    None
                }
            };
            break;
        }
        if n < want
            && let Some(expected) = ctx.size
        {
            out.error = Some(SourceError::Truncated {
                got: offset + n as u64,
                expected,
            });
            break;
        }
        let padded = (layout.align_up(n as u64) as usize).min(buf.len());
        buf.as_mut_slice()[n..padded].fill(0);

        let bytes = &buf.as_slice()[..n];
        let mut hashes = Vec::new();
        let pieces: Vec<(Range<u64>, bool)> = layout
            .pieces(offset, n as u64)
            .into_iter()
            .map(|p| {
                let data = &bytes[(p.start - offset) as usize..(p.end - offset) as usize];
                hashes.push(xxhash_rust::xxh3::xxh3_128(data));
                let zero = detect_zeros && is_zero(data);
                (p, zero)
            })
            .collect();
        out.hashes.extend_from_slice(&hashes);
        let chunk = Arc::new(Chunk {
            start: offset,
            len: n as u64,
            extents: extents(&pieces, ctx.cfg.min_zero_run),
            hashes: hashes.into(),
            buf: Some(buf),
            pool: pool_tx.clone(),
        });
        offset += n as u64;
        out.bytes = offset;
        let nobody_left = dispatch(&chunk);
        if chunk.start == 0 {
            out.first = Some(chunk);
        }
        if n < want && ctx.size.is_none() {
            out.complete = true;
            break;
        }
        if nobody_left {
            break;
        }
    }
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
fn fill(reader: &mut (dyn Read + Send + '_), buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// After `size` bytes the stream must end.
fn expect_end(reader: &mut (dyn Read + Send + '_), size: u64) -> Result<(), SourceError> {
    let mut probe = [0u8; 1];
    match fill(reader, &mut probe) {
        Ok(0) => Ok(()),
        Ok(_) => Err(SourceError::Longer { expected: size }),
        Err(source) => Err(SourceError::Read {
            offset: size,
            source,
        }),
    }
}

fn hash_image(rx: &Receiver<Arc<Chunk>>) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for chunk in rx.iter() {
        hasher.update(chunk.bytes(chunk.start..chunk.start + chunk.len));
    }
    hasher.finalize().into()
}

/// Hashes each block-map range as its bytes stream past and compares it with the map's
/// SHA-256; the first mismatch stops the deployment.
fn check_ranges(
    rx: &Receiver<Arc<Chunk>>,
    ranges: &[(u64, u64, [u8; 32])],
    source_failed: &AtomicBool,
    error: &Mutex<Option<SourceError>>,
) {
    let mut next = 0;
    let mut hasher = Sha256::new();
    for chunk in rx.iter() {
        if source_failed.load(Ordering::SeqCst) {
            // Keep draining so that the reader is never blocked.
            continue;
        }
        let chunk_end = chunk.start + chunk.len;
        while let Some(&(offset, len, expected)) = ranges.get(next) {
            let end = offset + len;
            if offset >= chunk_end {
                break;
            }
            hasher.update(chunk.bytes(offset.max(chunk.start)..end.min(chunk_end)));
            if end > chunk_end {
                break;
            }
            let found: [u8; 32] = hasher.finalize_reset().into();
            next += 1;
            if found != expected {
                if let Ok(mut slot) = error.lock() {
                    *slot = Some(SourceError::RangeMismatch {
                        offset,
                        end,
                        expected: hex(&expected),
                        found: hex(&found),
                    });
                }
                source_failed.store(true, Ordering::SeqCst);
                break;
            }
        }
    }
}

/// One writer thread of one target; each chunk written goes on to `done`, the target's
/// overlapped read-back, when there is one.
fn write_queue(
    ctx: &Ctx<'_>,
    index: usize,
    t: &Target<'_>,
    rx: &Receiver<Arc<Chunk>>,
    done: Option<&Sender<Written>>,
    source_failed: &AtomicBool,
) {
    let state = &ctx.states[index];
    for chunk in rx.iter() {
        if state.is_failed()
            || ctx.cancel.load(Ordering::SeqCst)
            || source_failed.load(Ordering::SeqCst)
        {
            continue;
        }
        match write_chunk(ctx, index, t, &chunk, false) {
            Err(e) => state.fail(index, e, ctx.observer),
            Ok(()) => {
                if let Some(done) = done
                    && !chunk.hashes.is_empty()
                {
                    let _ = done.send(Written {
                        start: chunk.start,
                        len: chunk.len,
                        hashes: Arc::clone(&chunk.hashes),
                    });
                }
            }
        }
    }
}

/// The overlapped read-back of one target: chunks already written are gathered until
/// `every` bytes are waiting (or the writers are done), the target is synced
/// (`fdatasync`: what is read back is what the medium holds, not what a cache still has to
/// write), then each is read back with `O_DIRECT` and compared with its hashes, while the
/// writers go on with the next chunks. The first chunk (partition table) is never here: it
/// is written at the commit and read back after it.
fn read_back_queue(
    ctx: &Ctx<'_>,
    index: usize,
    t: &Target<'_>,
    rx: &Receiver<Written>,
    every: u64,
    source_failed: &AtomicBool,
) -> ReadBack {
    let state = &ctx.states[index];
    let sector = u64::from(t.io.logical_sector_size());
    let mut out = ReadBack::default();
    let mut buf = AlignedBuffer::zeroed(ctx.cfg.request_size);
    let mut pending: Vec<Written> = Vec::new();
    let mut pending_bytes = 0u64;
    let mut open = true;
    while open {
        match rx.recv() {
            Ok(w) => {
                pending_bytes += w.len;
                pending.push(w);
            }
            Err(_) => open = false,
        }
        if (open && pending_bytes < every) || pending.is_empty() {
            continue;
        }
        let batch = std::mem::take(&mut pending);
        pending_bytes = 0;
        if state.is_failed()
            || ctx.cancel.load(Ordering::SeqCst)
            || source_failed.load(Ordering::SeqCst)
        {
            // Keep draining so that the writers are never blocked.
            continue;
        }
        if let Err(source) = t.io.sync_data() {
            state.fail(index, TargetError::Sync { source }, ctx.observer);
            continue;
        }
        for w in batch {
            let pieces = ctx.layout.pieces(w.start, w.len);
            match check_chunk(ctx, t.io, &mut buf, &pieces, &w.hashes, sector) {
                Ok((bytes, bad)) => {
                    out.checked += bytes;
                    out.mismatches.extend(bad);
                    out.verified.insert(w.start);
                }
                Err(e) => {
                    state.fail(index, e, ctx.observer);
                    break;
                }
            }
        }
    }
    out
}

/// Writes one chunk's extents to one target. `committing`: this is the held-back first
/// chunk, over an area already zeroed by the preparation.
pub(crate) fn write_chunk(
    ctx: &Ctx<'_>,
    index: usize,
    t: &Target<'_>,
    chunk: &Chunk,
    committing: bool,
) -> Result<(), TargetError> {
    let state = &ctx.states[index];
    let sector = u64::from(t.io.logical_sector_size());
    let target_size = t.io.size_bytes();
    let retries = ctx.cfg.retries;
    for e in &chunk.extents {
        let end = e.offset + e.len;
        let padded_end = end.div_ceil(sector) * sector;
        if padded_end > target_size {
            return Err(TargetError::TooSmall {
                target_size,
                needed: end,
            });
        }
        let write_len = padded_end - e.offset;
        let io_error = |op, source| TargetError::Io {
            op,
            offset: e.offset,
            source,
        };
        let write = |data: &[u8]| {
            if data.len() as u64 != write_len {
                let bug = io::Error::other("internal error: extent outside its buffer");
                return Err(io_error("write", bug));
            }
            retried(retries, || t.io.write_all_at(data, e.offset))
                .map_err(|source| io_error("write", source))
        };
        let zeros = &ctx.zeros.as_slice()[..write_len as usize];
        let counter = match e.kind {
            ExtentKind::Data => {
                write(chunk.bytes(e.offset..padded_end))?;
                &state.written
            }
            ExtentKind::Zero if committing => &state.written,
            ExtentKind::Zero if t.known_zero => &state.known_zero,
            ExtentKind::Zero if state.zero_fallback.load(Ordering::SeqCst) => {
                write(zeros)?;
                &state.written
            }
            ExtentKind::Zero => match t.io.zero_out(e.offset, write_len) {
                Ok(()) => &state.zeroed,
                Err(error) if zero_out_unsupported(&error) => {
                    state.zero_fallback.store(true, Ordering::SeqCst);
                    write(zeros)?;
                    &state.written
                }
                Err(_) => {
                    retried(retries.saturating_sub(1), || {
                        t.io.zero_out(e.offset, write_len)
                    })
                    .map_err(|source| io_error("zero-out", source))?;
                    &state.zeroed
                }
            },
        };
        counter.fetch_add(e.len, Ordering::SeqCst);
    }
    let done = state.done.fetch_add(chunk.len, Ordering::SeqCst) + chunk.len;
    let phase = if committing {
        Phase::Commit
    } else {
        Phase::Write
    };
    ctx.observer.progress(index, phase, done, ctx.size);
    Ok(())
}
