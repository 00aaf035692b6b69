//! Failures a loop device cannot produce — bad sectors, transient errors, a pulled disk, a
//! failed cache flush — injected through a test transport that implements `BlockIo` over
//! memory. The same session code runs as on a real device; only the I/O underneath is scripted.

use std::collections::HashSet;
use std::io;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use atelier_record::{IoOperation, Outcome, VerificationMode, VerificationResult};
use atelier_wipe::{
    BlockIo, EngineConfig, JobProgress, Method, Phase, StreamCipherKind, StreamKey, WipeObserver,
    WipeParams, run_session,
};

const SECTOR: u64 = 512;

/// A disk in memory with scripted faults.
#[derive(Default)]
struct FaultyDisk {
    data: Mutex<Vec<u8>>,
    /// Sectors whose writes always fail with EIO.
    bad_write: HashSet<u64>,
    /// Sectors whose reads always fail with EIO.
    bad_read: HashSet<u64>,
    /// Writes of the request covering this offset fail this many times, then succeed.
    transient_at: Option<(u64, AtomicUsize)>,
    /// Once a write reaches this offset, every operation fails with ENODEV (disk pulled).
    gone_at: Option<u64>,
    gone: AtomicBool,
    /// Every flush fails with EIO.
    sync_fails: bool,
    /// Write calls seen (to check that retries are bounded).
    write_calls: AtomicU64,
}

impl FaultyDisk {
    fn new(size: u64) -> Self {
        Self {
            data: Mutex::new(vec![0xEE; size as usize]),
            ..Self::default()
        }
    }

    fn eio() -> io::Error {
        io::Error::from_raw_os_error(5)
    }

    fn check(&self, offset: u64, len: usize, bad: &HashSet<u64>) -> io::Result<()> {
        if self.gone.load(Ordering::SeqCst) {
            return Err(io::Error::from_raw_os_error(19));
        }
        let first = offset / SECTOR;
        let last = (offset + len as u64).div_ceil(SECTOR);
        if (first..last).any(|s| bad.contains(&s)) {
            return Err(Self::eio());
        }
        Ok(())
    }
}

impl BlockIo for FaultyDisk {
    fn size_bytes(&self) -> u64 {
        self.data.lock().unwrap().len() as u64
    }

    fn logical_sector_size(&self) -> u32 {
        SECTOR as u32
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.write_calls.fetch_add(1, Ordering::SeqCst);
        if let Some(at) = self.gone_at
            && offset + buf.len() as u64 > at
        {
            self.gone.store(true, Ordering::SeqCst);
        }
        if let Some((at, left)) = &self.transient_at
            && (offset..offset + buf.len() as u64).contains(at)
            && left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        {
            return Err(Self::eio());
        }
        self.check(offset, buf.len(), &self.bad_write)?;
        let mut data = self.data.lock().unwrap();
        data[offset as usize..offset as usize + buf.len()].copy_from_slice(buf);
        Ok(())
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.check(offset, buf.len(), &self.bad_read)?;
        let data = self.data.lock().unwrap();
        buf.copy_from_slice(&data[offset as usize..offset as usize + buf.len()]);
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        if self.gone.load(Ordering::SeqCst) {
            return Err(io::Error::from_raw_os_error(19));
        }
        if self.sync_fails {
            return Err(Self::eio());
        }
        Ok(())
    }
}

/// Records checkpoints; can ask for a stop after a number of them.
#[derive(Default)]
struct Recorder {
    checkpoints: Mutex<Vec<JobProgress>>,
    stop_after: Option<(usize, &'static AtomicBool)>,
}

impl WipeObserver for Recorder {
    fn phase(&self, _phase: Phase, _bytes_total: u64) {}
    fn progress(&self, _bytes_done: u64, _bytes_total: u64) {}
    fn checkpoint(&self, progress: &JobProgress) -> Result<(), String> {
        let mut cps = self.checkpoints.lock().unwrap();
        cps.push(progress.clone());
        if let Some((n, flag)) = self.stop_after
            && cps.len() >= n
        {
            flag.store(true, Ordering::SeqCst);
        }
        Ok(())
    }
}

fn params(size: u64, method: Method, verify: VerificationMode) -> WipeParams {
    let passes = method.passes();
    WipeParams {
        job_id: uuid::Uuid::now_v7(),
        device: atelier_record::DeviceIdentity {
            name: "faulty0".into(),
            path: "/dev/faulty0".into(),
            model: None,
            vendor: None,
            serial: Some("F-1".into()),
            wwn: None,
            firmware: None,
            transport: atelier_record::Transport::Other,
            media: atelier_record::MediaKind::Unknown,
            size_bytes: size,
            logical_sector_size: SECTOR as u32,
            physical_sector_size: SECTOR as u32,
            rotational: false,
            removable: false,
            loop_backing_file: None,
        },
        method,
        keys: passes
            .iter()
            .map(|_| StreamKey::from_os().unwrap())
            .collect(),
        passes,
        cipher: StreamCipherKind::Aes128Ctr,
        verification: verify,
        request_size: 64 * 1024,
        sample_seed: 42,
        firmware: None,
        choice: None,
        hidden_area: None,
    }
}

/// A new job run to its end with the test configuration.
fn fresh_run(disk: &FaultyDisk, p: &WipeParams) -> atelier_wipe::SessionEnd {
    run_session(
        disk,
        p,
        JobProgress::default(),
        false,
        &cfg(),
        &Recorder::default(),
        &AtomicBool::new(false),
    )
}

fn cfg() -> EngineConfig {
    EngineConfig {
        request_size: 64 * 1024,
        io_depth: 2,
        buffers: 4,
        checkpoint_interval: std::time::Duration::ZERO,
        retries: 2,
        max_error_sectors: 4096,
    }
}

const SIZE: u64 = 4 << 20;

#[test]
fn a_clean_disk_passes() {
    let disk = FaultyDisk::new(SIZE);
    let p = params(SIZE, Method::OverwriteRandom, VerificationMode::Full);
    let end = fresh_run(&disk, &p);
    assert_eq!(end.outcome, Outcome::Passed, "{:?}", end.detail);
    // No 512-byte sector kept the old filler.
    let data = disk.data.lock().unwrap();
    assert!(data.chunks(512).all(|s| s != [0xEE; 512].as_slice()));
    assert_eq!(end.progress.bytes_written, SIZE);
}

#[test]
fn transient_write_errors_are_retried_and_leave_no_trace() {
    let mut disk = FaultyDisk::new(SIZE);
    disk.transient_at = Some((1 << 20, AtomicUsize::new(2)));
    let p = params(SIZE, Method::OverwriteZero, VerificationMode::Full);
    let end = fresh_run(&disk, &p);
    assert_eq!(end.outcome, Outcome::Passed, "{:?}", end.detail);
    assert!(end.progress.errors.is_empty());
}

#[test]
fn bad_sectors_are_mapped_and_fail_the_wipe() {
    let mut disk = FaultyDisk::new(SIZE);
    disk.bad_write = [100, 101, 102, 5000].into_iter().collect();
    let p = params(SIZE, Method::OverwriteRandom, VerificationMode::Full);
    let end = fresh_run(&disk, &p);
    assert_eq!(end.outcome, Outcome::Failed);
    let writes: Vec<(u64, u64)> = end
        .progress
        .errors
        .iter()
        .filter(|e| e.operation == IoOperation::Write)
        .map(|e| (e.first_lba, e.sector_count))
        .collect();
    assert_eq!(
        writes,
        [(100, 3), (5000, 1)],
        "adjacent sectors merge into one range"
    );
    assert_eq!(end.progress.errors[0].errno, Some(5));
    // The rest of the device was written and verified: only those sectors kept old data.
    let v = end.verification.expect("verification ran");
    assert_eq!(v.result, VerificationResult::Failed);
    assert_eq!(v.mismatched_sectors, 4);
    assert_eq!(v.first_mismatch_lba, Some(100));
    assert!(end.detail.unwrap().contains("could not be written"));
}

#[test]
fn unreadable_sectors_fail_the_verification() {
    let mut disk = FaultyDisk::new(SIZE);
    disk.bad_read = [7000, 7001].into_iter().collect();
    let p = params(SIZE, Method::OverwriteZero, VerificationMode::Full);
    let end = fresh_run(&disk, &p);
    assert_eq!(end.outcome, Outcome::Failed);
    let v = end.verification.unwrap();
    assert_eq!(v.unreadable_sectors, 2);
    assert_eq!(
        v.mismatched_sectors, 0,
        "unreadable sectors are not also counted as mismatches"
    );
    assert!(
        end.progress
            .errors
            .iter()
            .any(|e| e.operation == IoOperation::Read
                && e.first_lba == 7000
                && e.sector_count == 2)
    );
}

#[test]
fn a_pulled_disk_stops_the_job_at_once() {
    let mut disk = FaultyDisk::new(SIZE);
    disk.gone_at = Some(2 << 20);
    let p = params(SIZE, Method::OverwriteRandom, VerificationMode::Full);
    let end = fresh_run(&disk, &p);
    assert_eq!(end.outcome, Outcome::Failed);
    assert!(end.verification.is_none());
    assert!(
        end.detail.as_deref().unwrap().contains("cannot continue"),
        "{:?}",
        end.detail
    );
    // No sector-by-sector crawl over a device that is gone.
    assert!(
        disk.write_calls.load(Ordering::SeqCst) < 64,
        "{}",
        disk.write_calls.load(Ordering::SeqCst)
    );
}

#[test]
fn a_failed_cache_flush_fails_the_wipe() {
    let mut disk = FaultyDisk::new(SIZE);
    disk.sync_fails = true;
    let p = params(SIZE, Method::OverwriteZero, VerificationMode::Full);
    let end = fresh_run(&disk, &p);
    assert_eq!(end.outcome, Outcome::Failed);
    assert!(
        end.progress
            .errors
            .iter()
            .any(|e| e.operation == IoOperation::Sync)
    );
}

#[test]
fn a_dead_area_gives_up_after_the_error_budget() {
    let mut disk = FaultyDisk::new(SIZE);
    disk.bad_write = (1000..7000).collect();
    let p = params(SIZE, Method::OverwriteZero, VerificationMode::Full);
    // One writer, so the count of write calls below follows the device order.
    let serial = EngineConfig {
        io_depth: 1,
        ..cfg()
    };
    let end = run_session(
        &disk,
        &p,
        JobProgress::default(),
        false,
        &serial,
        &Recorder::default(),
        &AtomicBool::new(false),
    );
    assert_eq!(end.outcome, Outcome::Failed);
    assert!(
        end.detail.as_deref().unwrap().contains("failing"),
        "{:?}",
        end.detail
    );
    // Requests are 128 sectors. Requests 0-6 are clean (1 call each). Request 7 holds the
    // first 24 bad sectors: 3 attempts, then 128 sector writes. Each fully dead request costs
    // 3 attempts and 64 sector writes before the rest of it is given up untried; the budget
    // (4096 sectors) is exceeded after 32 of them (24 + 32 × 128 > 4096).
    let calls = disk.write_calls.load(Ordering::SeqCst);
    // The writer stops at the first request after the budget is spent; the generator's
    // queue is not written.
    let expected = 7 + (3 + 128) + 32 * (3 + 64);
    assert!(
        calls == expected,
        "{calls} write calls, expected {expected}"
    );
}

#[test]
fn a_stopped_job_resumes_from_its_checkpoint_and_verifies_everything() {
    static STOP: AtomicBool = AtomicBool::new(false);
    let disk = FaultyDisk::new(SIZE);
    let p = params(SIZE, Method::OverwriteRandom, VerificationMode::Sampled);
    let recorder = Recorder {
        stop_after: Some((8, &STOP)),
        ..Recorder::default()
    };
    let end = run_session(
        &disk,
        &p,
        JobProgress::default(),
        false,
        &cfg(),
        &recorder,
        &STOP,
    );
    assert_eq!(end.outcome, Outcome::Interrupted);
    let from = end.progress.clone();
    assert!(from.bytes_done > 0 && from.bytes_done < SIZE, "{from:?}");
    let last = recorder
        .checkpoints
        .lock()
        .unwrap()
        .last()
        .cloned()
        .unwrap();
    assert_eq!(
        (last.pass_index, last.bytes_done),
        (from.pass_index, from.bytes_done)
    );

    let calls_before = disk.write_calls.load(Ordering::SeqCst);
    let end = run_session(
        &disk,
        &p,
        from.clone(),
        true,
        &cfg(),
        &Recorder::default(),
        &AtomicBool::new(false),
    );
    assert_eq!(end.outcome, Outcome::Passed, "{:?}", end.detail);
    let v = end.verification.unwrap();
    assert_eq!(v.mode, VerificationMode::Full);
    assert_eq!(v.bytes_checked, SIZE);
    assert_eq!(end.progress.bytes_written, SIZE);
    // Only the rest of the device was written again.
    let requests = disk.write_calls.load(Ordering::SeqCst) - calls_before;
    assert_eq!(requests, (SIZE - from.bytes_done).div_ceil(64 * 1024));
}
