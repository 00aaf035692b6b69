//! The overwrite and read-back pipelines.
//!
//! Writing: a generator thread fills aligned buffers with the pass content for their offsets;
//! `io_depth` writer threads write them with `O_DIRECT`, so several requests are in the
//! device's queue at once and generation overlaps the writes instead of alternating with them;
//! the coordinating thread collects completions, keeps the contiguous "done" point, syncs and
//! checkpoints. Reading back: `io_depth` reader threads fill buffers while the checker compares
//! the ones already read with the regenerated content.
//!
//! Errors are retried a bounded number of times, then narrowed down to the failing sectors,
//! which are recorded in an error map; the pass goes on. A device that disappears stops the
//! job at once.

use std::collections::BTreeMap;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use atelier_device::{AlignedBuffer, DirectDevice};
use atelier_record::{IoErrorRange, IoOperation};
use crossbeam_channel::bounded;

use crate::pattern::PassContent;
use crate::sampling::SectorRange;

/// Tunables of the pipelines.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Bytes per write / read request (a multiple of 4096; at least 1 MiB is advised).
    pub request_size: usize,
    /// Requests in the device's queue at once (writer or reader threads).
    pub io_depth: usize,
    /// Buffers shared by the generator (or readers) and the writers (or checker); at least
    /// `io_depth + 1` are used.
    pub buffers: usize,
    /// How often the written data is synced and a checkpoint recorded.
    pub checkpoint_interval: Duration,
    /// Attempts per request after the first failure, before narrowing down to sectors.
    pub retries: u32,
    /// The job stops as failed after this many sectors could not be written or read.
    pub max_error_sectors: u64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            request_size: 4 << 20,
            io_depth: 2,
            buffers: 4,
            checkpoint_interval: Duration::from_secs(2),
            retries: 2,
            max_error_sectors: 65_536,
        }
    }
}

/// Why a pass stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The operator (or a signal) asked to stop; the job can be resumed.
    Cancelled,
    /// The job cannot go on: the device disappeared, too many errors, the journal failed.
    Aborted(String),
}

/// Errors of one job, merged into ranges.
#[derive(Debug, Clone, Default)]
pub struct ErrorMap {
    ranges: Vec<IoErrorRange>,
    sectors: u64,
}

impl ErrorMap {
    /// Starts from errors already recorded (a resumed job).
    pub fn from_ranges(ranges: Vec<IoErrorRange>) -> Self {
        let sectors = ranges.iter().map(|r| r.sector_count).sum();
        Self { ranges, sectors }
    }

    /// Adds `count` sectors from `lba` that failed `operation` with `error`.
    pub fn add(
        &mut self,
        operation: IoOperation,
        pass_index: Option<u32>,
        lba: u64,
        count: u64,
        error: &io::Error,
    ) {
        self.sectors += count;
        let errno = error.raw_os_error();
        if let Some(last) = self.ranges.last_mut()
            && last.operation == operation
            && last.pass_index == pass_index
            && last.errno == errno
            && last.first_lba + last.sector_count == lba
        {
            last.sector_count += count;
            return;
        }
        self.ranges.push(IoErrorRange {
            operation,
            pass_index,
            first_lba: lba,
            sector_count: count,
            errno,
            message: error.to_string(),
        });
    }

    /// Sorts the ranges by first sector (several readers report out of order).
    fn sort_by_lba(&mut self) {
        self.ranges
            .sort_by_key(|r| (r.first_lba, r.operation as u8));
    }

    /// Sectors in the map.
    pub fn sectors(&self) -> u64 {
        self.sectors
    }

    /// Sectors that failed `operation`.
    pub fn sectors_of(&self, operation: IoOperation) -> u64 {
        self.ranges
            .iter()
            .filter(|r| r.operation == operation)
            .map(|r| r.sector_count)
            .sum()
    }

    /// The ranges, in the order they were found.
    pub fn ranges(&self) -> &[IoErrorRange] {
        &self.ranges
    }
}

/// An error that ends the job: the device is gone or the request itself is invalid.
fn is_fatal(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(
            libc_errno::ENODEV
                | libc_errno::ENXIO
                | libc_errno::ENOMEDIUM
                | libc_errno::EBADF
                | libc_errno::EINVAL
        )
    )
}

/// Errno values used here (Linux, all architectures Atelier runs on).
mod libc_errno {
    pub const EBADF: i32 = 9;
    pub const ENXIO: i32 = 6;
    pub const ENODEV: i32 = 19;
    pub const EINVAL: i32 = 22;
    pub const ENOMEDIUM: i32 = 123;
}

fn fatal_message(op: &str, offset: u64, error: &io::Error) -> String {
    format!("{op} at byte {offset} failed and the device cannot continue: {error}")
}

/// Callbacks from a running pass.
pub trait PassObserver {
    /// `bytes_done` of `bytes_total` are complete in the current phase.
    fn progress(&self, bytes_done: u64, bytes_total: u64);
    /// Everything before `bytes_done` of the current write pass is synced to the medium; the
    /// observer records it durably. An error stops the job.
    fn checkpoint(&self, bytes_done: u64, errors: &ErrorMap) -> Result<(), String>;
}

/// What the pipelines need from a device. [`DirectDevice`] is the real thing; tests add
/// transports that inject the failures a loop device cannot produce.
pub trait BlockIo: Sync {
    /// Capacity in bytes.
    fn size_bytes(&self) -> u64;
    /// Logical sector size in bytes.
    fn logical_sector_size(&self) -> u32;
    /// Writes all of `buf` at `offset`.
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;
    /// Fills all of `buf` from `offset`.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// Makes written data durable.
    fn sync_data(&self) -> io::Result<()>;
}

impl BlockIo for DirectDevice {
    fn size_bytes(&self) -> u64 {
        DirectDevice::size_bytes(self)
    }
    fn logical_sector_size(&self) -> u32 {
        DirectDevice::logical_sector_size(self)
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        DirectDevice::write_all_at(self, buf, offset)
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        DirectDevice::read_exact_at(self, buf, offset)
    }
    fn sync_data(&self) -> io::Result<()> {
        DirectDevice::sync_data(self)
    }
}

/// A device with what its passes need: tunables, an observer and the cancel flag.
pub struct Pipeline<'a> {
    /// The device.
    pub dev: &'a dyn BlockIo,
    /// Tunables.
    pub cfg: &'a EngineConfig,
    /// Progress and checkpoints.
    pub observer: &'a dyn PassObserver,
    /// Set to stop at the next request (Ctrl-C).
    pub cancel: &'a AtomicBool,
}

/// A written request, back from a writer thread.
struct Written {
    offset: u64,
    len: usize,
    buf: AlignedBuffer,
    /// Sectors that could not be written (LBA, error), or why the device cannot go on.
    result: Result<Vec<(u64, io::Error)>, String>,
    /// Not written because the pass was stopping.
    skipped: bool,
}

/// Writes `content` over the device from `start` to the end. Returns the bytes written now,
/// or why it stopped together with the offset up to which the pass is synced.
pub fn write_pass(
    pipe: &Pipeline<'_>,
    content: &PassContent,
    pass_index: u32,
    start: u64,
    errors: &mut ErrorMap,
) -> Result<u64, (Stop, u64)> {
    let Pipeline {
        dev,
        cfg,
        observer,
        cancel,
    } = *pipe;
    let size = dev.size_bytes();
    let sector = dev.logical_sector_size() as usize;
    let req = cfg.request_size as u64;
    let depth = cfg.io_depth.max(1);
    let buffers = cfg.buffers.max(depth + 1);
    let (free_tx, free_rx) = bounded::<AlignedBuffer>(buffers);
    let (full_tx, full_rx) = bounded::<(u64, usize, AlignedBuffer)>(buffers);
    let (done_tx, done_rx) = bounded::<Written>(buffers);
    for _ in 0..buffers {
        let mut buf = AlignedBuffer::zeroed(cfg.request_size);
        if content.is_constant() {
            content.fill(buf.as_mut_slice(), 0);
        }
        // The channel has room for every buffer.
        let _ = free_tx.send(buf);
    }
    // Syncs what is written and records the durable point with the observer.
    let checkpoint = |synced: u64, done: u64, errors: &mut ErrorMap| {
        sync_and_checkpoint(
            dev,
            synced,
            done,
            sector,
            Some(pass_index),
            errors,
            observer,
        )
    };
    let halt = AtomicBool::new(false);
    // Sectors failed so far, shared by the writers so they stop as soon as the budget is spent
    // (completions may wait in the queue before the coordinator counts them).
    let failed_sectors = AtomicU64::new(errors.sectors());

    let mut synced = start;
    let mut done = start;
    let mut stop: Option<Stop> = None;
    std::thread::scope(|scope| {
        let (halt, failed_sectors) = (&halt, &failed_sectors);
        scope.spawn(move || {
            let mut offset = start;
            while offset < size && !cancel.load(Ordering::Relaxed) && !halt.load(Ordering::Relaxed)
            {
                let Ok(mut buf) = free_rx.recv() else { break };
                let len = (size - offset).min(req) as usize;
                if !content.is_constant() {
                    content.fill(&mut buf.as_mut_slice()[..len], offset);
                }
                if full_tx.send((offset, len, buf)).is_err() {
                    break;
                }
                offset += len as u64;
            }
        });
        for _ in 0..depth {
            let (full_rx, done_tx) = (full_rx.clone(), done_tx.clone());
            scope.spawn(move || {
                for (offset, len, buf) in full_rx.iter() {
                    let skipped = halt.load(Ordering::Relaxed)
                        || failed_sectors.load(Ordering::Relaxed) > cfg.max_error_sectors;
                    let result = if skipped {
                        Ok(Vec::new())
                    } else {
                        write_request(dev, &buf.as_slice()[..len], offset, sector, cfg)
                    };
                    if let Ok(failed) = &result {
                        failed_sectors.fetch_add(failed.len() as u64, Ordering::Relaxed);
                    }
                    let written = Written {
                        offset,
                        len,
                        buf,
                        result,
                        skipped,
                    };
                    if done_tx.send(written).is_err() {
                        break;
                    }
                }
            });
        }
        drop((full_rx, done_tx));

        // Requests complete out of order; `done` advances over the contiguous prefix only.
        let mut completed: BTreeMap<u64, u64> = BTreeMap::new();
        let mut last_checkpoint = Instant::now();
        for w in done_rx.iter() {
            let _ = free_tx.send(w.buf);
            if stop.is_some() || w.skipped {
                continue;
            }
            match w.result {
                Err(reason) => stop = Some(Stop::Aborted(reason)),
                Ok(failed) => {
                    for (lba, error) in &failed {
                        errors.add(IoOperation::Write, Some(pass_index), *lba, 1, error);
                    }
                    if let Err(reason) = check_error_budget(errors, cfg) {
                        stop = Some(Stop::Aborted(reason));
                    }
                }
            }
            if stop.is_none() {
                completed.insert(w.offset, w.offset + w.len as u64);
                while let Some(end) = completed.remove(&done) {
                    done = end;
                }
                observer.progress(done, size);
                if cancel.load(Ordering::Relaxed) {
                    stop = Some(Stop::Cancelled);
                } else if last_checkpoint.elapsed() >= cfg.checkpoint_interval {
                    match checkpoint(synced, done, errors) {
                        Ok(()) => synced = done,
                        Err(reason) => stop = Some(Stop::Aborted(reason)),
                    }
                    last_checkpoint = Instant::now();
                }
            }
            if stop.is_some() {
                halt.store(true, Ordering::Relaxed);
            }
        }
        // Every writer has ended (the completion channel closed).
        drop(free_tx);
    });
    if stop.is_none() && done < size {
        // The generator stopped early: a cancel between two requests.
        stop = Some(Stop::Cancelled);
    }

    // Whatever happened, make what was written durable and say how far it got.
    match checkpoint(synced, done, errors) {
        Ok(()) => synced = done,
        Err(reason) if stop.is_none() => stop = Some(Stop::Aborted(reason)),
        Err(_) => {}
    }
    match stop {
        None => Ok(done - start),
        Some(s) => Err((s, synced)),
    }
}

fn sync_and_checkpoint(
    dev: &dyn BlockIo,
    synced: u64,
    done: u64,
    sector: usize,
    pass_index: Option<u32>,
    errors: &mut ErrorMap,
    observer: &dyn PassObserver,
) -> Result<(), String> {
    if let Err(e) = dev.sync_data() {
        if is_fatal(&e) {
            return Err(fatal_message("sync", done, &e));
        }
        // The drive could not confirm the data since the last sync reached the medium.
        let sector = sector as u64;
        errors.add(
            IoOperation::Sync,
            pass_index,
            synced / sector,
            (done - synced).div_ceil(sector).max(1),
            &e,
        );
    }
    observer.checkpoint(done, errors)
}

/// Writes one request, retrying, then narrowing a persistent failure down to sectors.
/// Returns the sectors that could not be written (LBA, error); `Err` when the device cannot
/// go on.
fn write_request(
    dev: &dyn BlockIo,
    data: &[u8],
    offset: u64,
    sector: usize,
    cfg: &EngineConfig,
) -> Result<Vec<(u64, io::Error)>, String> {
    if retried("write", offset, cfg, || dev.write_all_at(data, offset))? {
        return Ok(Vec::new());
    }
    let failed = narrow_down(data.len(), offset, sector, |range, at| {
        dev.write_all_at(&data[range], at)
    })
    .map_err(|e| fatal_message("write", offset, &e))?;
    let first_lba = offset / sector as u64;
    Ok(failed
        .into_iter()
        .map(|(index, error)| (first_lba + index as u64, error))
        .collect())
}

/// Runs `op` once and then up to `cfg.retries` more times while it fails. `Ok(true)` when it
/// succeeded, `Ok(false)` when it kept failing (the caller narrows down to sectors), `Err`
/// when the device cannot go on.
fn retried(
    what: &str,
    offset: u64,
    cfg: &EngineConfig,
    mut op: impl FnMut() -> io::Result<()>,
) -> Result<bool, String> {
    for _ in 0..=cfg.retries {
        match op() {
            Ok(()) => return Ok(true),
            Err(e) if is_fatal(&e) => return Err(fatal_message(what, offset, &e)),
            Err(_) => {}
        }
    }
    Ok(false)
}

/// After a request failed for good: tries each sector once and returns those that fail, with
/// their error. After 64 failed sectors in a row the rest of the request is counted as failed
/// without trying, so a dead area does not take hours. `Err` means the device is gone.
fn narrow_down(
    len: usize,
    offset: u64,
    sector: usize,
    mut op: impl FnMut(std::ops::Range<usize>, u64) -> io::Result<()>,
) -> io::Result<Vec<(usize, io::Error)>> {
    const GIVE_UP_AFTER: usize = 64;
    let mut failed: Vec<(usize, io::Error)> = Vec::new();
    let mut in_a_row = 0;
    for i in 0..len / sector {
        if in_a_row >= GIVE_UP_AFTER {
            let error = io::Error::other("not tried: the sectors before it all failed");
            failed.push((i, error));
            continue;
        }
        match op(i * sector..(i + 1) * sector, offset + (i * sector) as u64) {
            Ok(()) => in_a_row = 0,
            Err(e) if is_fatal(&e) => return Err(e),
            Err(e) => {
                in_a_row += 1;
                failed.push((i, e));
            }
        }
    }
    Ok(failed)
}

fn check_error_budget(errors: &ErrorMap, cfg: &EngineConfig) -> Result<(), String> {
    if errors.sectors() > cfg.max_error_sectors {
        return Err(format!(
            "{} sectors failed (limit {}): the device is failing",
            errors.sectors(),
            cfg.max_error_sectors
        ));
    }
    Ok(())
}

/// Result of a read-back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadBack {
    /// Bytes read and compared.
    pub bytes_checked: u64,
    /// Sectors that differed from the pattern.
    pub mismatched_sectors: u64,
    /// The first sector that differed.
    pub first_mismatch_lba: Option<u64>,
    /// Sectors that could not be read.
    pub unreadable_sectors: u64,
}

/// Reads `ranges` (in logical sectors, sorted) back and compares them with `content`.
pub fn read_back(
    pipe: &Pipeline<'_>,
    content: &PassContent,
    ranges: &[SectorRange],
    errors: &mut ErrorMap,
) -> Result<ReadBack, Stop> {
    let Pipeline {
        dev,
        cfg,
        observer,
        cancel,
    } = *pipe;
    let sector = dev.logical_sector_size() as u64;
    let req = cfg.request_size as u64;
    let requests: Vec<(u64, usize)> = ranges
        .iter()
        .flat_map(|r| {
            let (start, end) = (r.first * sector, r.end() * sector);
            (start..end)
                .step_by(req as usize)
                .map(move |o| (o, (end - o).min(req) as usize))
        })
        .collect();
    let total: u64 = requests.iter().map(|(_, len)| *len as u64).sum();
    let depth = cfg.io_depth.max(1);
    let buffers = cfg.buffers.max(depth + 1);

    let (free_tx, free_rx) = bounded::<AlignedBuffer>(buffers);
    let (full_tx, full_rx) =
        bounded::<(u64, usize, AlignedBuffer, Result<Vec<usize>, String>)>(buffers);
    for _ in 0..buffers {
        let _ = free_tx.send(AlignedBuffer::zeroed(cfg.request_size));
    }
    let next = AtomicUsize::new(0);
    let halt = AtomicBool::new(false);
    let mut result = ReadBack::default();
    let mut stop = None;
    let read_errors = std::sync::Mutex::new(ErrorMap::default());
    std::thread::scope(|scope| {
        let (read_errors, requests, next, halt) = (&read_errors, &requests, &next, &halt);
        for _ in 0..depth {
            let (free_rx, full_tx) = (free_rx.clone(), full_tx.clone());
            scope.spawn(move || {
                while !cancel.load(Ordering::Relaxed) && !halt.load(Ordering::Relaxed) {
                    let Ok(mut buf) = free_rx.recv() else { break };
                    let Some(&(offset, len)) = requests.get(next.fetch_add(1, Ordering::Relaxed))
                    else {
                        break;
                    };
                    let outcome = read_request(
                        dev,
                        &mut buf.as_mut_slice()[..len],
                        offset,
                        sector,
                        cfg,
                        read_errors,
                    );
                    if full_tx.send((offset, len, buf, outcome)).is_err() {
                        break;
                    }
                }
            });
        }
        drop((free_rx, full_tx));
        for (offset, len, mut buf, outcome) in full_rx.iter() {
            if stop.is_none() && cancel.load(Ordering::Relaxed) {
                stop = Some(Stop::Cancelled);
            }
            if stop.is_none() {
                match outcome {
                    Err(reason) => stop = Some(Stop::Aborted(reason)),
                    Ok(unreadable) => {
                        let mismatched = content.mismatched_sectors(
                            &mut buf.as_mut_slice()[..len],
                            offset,
                            sector as usize,
                        );
                        for index in mismatched.into_iter().filter(|i| !unreadable.contains(i)) {
                            let lba = offset / sector + index as u64;
                            result.mismatched_sectors += 1;
                            result.first_mismatch_lba =
                                Some(result.first_mismatch_lba.map_or(lba, |f| f.min(lba)));
                        }
                        result.unreadable_sectors += unreadable.len() as u64;
                        result.bytes_checked += len as u64;
                        observer.progress(result.bytes_checked, total);
                        let bad = read_errors.lock().map(|m| m.sectors()).unwrap_or(0)
                            + result.mismatched_sectors;
                        if bad > cfg.max_error_sectors {
                            stop = Some(Stop::Aborted(format!(
                                "{bad} sectors failed verification (limit {}): stopping",
                                cfg.max_error_sectors
                            )));
                        }
                    }
                }
                if stop.is_some() {
                    halt.store(true, Ordering::Relaxed);
                }
            }
            // Always hand the buffer back: a reader may be waiting for one to see the halt.
            let _ = free_tx.send(buf);
        }
        drop(free_tx);
    });
    let mut read_errors = read_errors.into_inner().unwrap_or_default();
    // Readers finish out of order: record the unreadable ranges in device order.
    read_errors.sort_by_lba();
    for r in read_errors.ranges() {
        errors.add(
            r.operation,
            r.pass_index,
            r.first_lba,
            r.sector_count,
            &r.errno
                .map(io::Error::from_raw_os_error)
                .unwrap_or_else(|| io::Error::other(r.message.clone())),
        );
    }
    if let Some(s) = stop {
        return Err(s);
    }
    if cancel.load(Ordering::Relaxed) || result.bytes_checked < total {
        return Err(Stop::Cancelled);
    }
    Ok(result)
}

/// Reads one request with retries; a persistent failure is narrowed down to sectors, which
/// are recorded in `errors` and returned (their content is not compared). `Err` means the
/// device cannot go on.
fn read_request(
    dev: &dyn BlockIo,
    buf: &mut [u8],
    offset: u64,
    sector: u64,
    cfg: &EngineConfig,
    errors: &std::sync::Mutex<ErrorMap>,
) -> Result<Vec<usize>, String> {
    if retried("read", offset, cfg, || dev.read_exact_at(buf, offset))? {
        return Ok(Vec::new());
    }
    let sector = sector as usize;
    let len = buf.len();
    let failed = narrow_down(len, offset, sector, |range, at| {
        dev.read_exact_at(&mut buf[range], at)
    })
    .map_err(|e| fatal_message("read", offset, &e))?;
    let first_lba = offset / sector as u64;
    if let Ok(mut map) = errors.lock() {
        for (index, error) in &failed {
            map.add(IoOperation::Read, None, first_lba + *index as u64, 1, error);
        }
    }
    Ok(failed.into_iter().map(|(index, _)| index).collect())
}
