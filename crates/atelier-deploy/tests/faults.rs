//! Failures a loop device cannot produce (a card that dies mid-write, a reader pulled out, a
//! flush that fails, a slow card, a medium that returns other bytes than it was given),
//! injected through in-memory targets that implement `BlockTarget`. The pipeline is the
//! production one; only the I/O underneath is scripted.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atelier_deploy::write::{
    BlockTarget, DeployObserver, DeployReport, MappedRange, NoObserver, Phase, Source, SourceError,
    Target, TargetError, TargetOutcome, WriteConfig, write_image,
};
use atelier_testkit::Rng;

mod common;

use common::{Counting, assert_one_mismatch_at};

const KIB: u64 = 1024;
const MIB: u64 = 1 << 20;

/// A disk in memory with scripted faults.
struct MemDisk {
    name: String,
    data: Mutex<Vec<u8>>,
    sector: u32,
    /// Writes fail with EIO once this many bytes have been written.
    fail_after: Option<u64>,
    /// Once this many bytes have been written, everything fails with ENODEV.
    gone_after: Option<u64>,
    /// This many writes fail with EIO, then writes succeed.
    transient_failures: AtomicU64,
    /// Reads covering this offset fail with EIO.
    bad_read_at: Option<u64>,
    /// Reads return this byte flipped (the medium corrupts it).
    flip_on_read: Option<u64>,
    /// Every flush fails.
    sync_fails: bool,
    /// Zero-out is not supported.
    no_zero_out: bool,
    /// Each write takes this long.
    write_delay: Duration,
    written: AtomicU64,
    zeroed: AtomicU64,
    gone: AtomicBool,
    /// Called after each write with the bytes written so far.
    on_write: Option<Box<dyn Fn(u64) + Sync + Send>>,
}

impl MemDisk {
    fn new(name: &str, size: u64) -> Self {
        Self {
            name: name.into(),
            data: Mutex::new(vec![0xEE; size as usize]),
            sector: 512,
            fail_after: None,
            gone_after: None,
            transient_failures: AtomicU64::new(0),
            bad_read_at: None,
            flip_on_read: None,
            sync_fails: false,
            no_zero_out: false,
            write_delay: Duration::ZERO,
            written: AtomicU64::new(0),
            zeroed: AtomicU64::new(0),
            gone: AtomicBool::new(false),
            on_write: None,
        }
    }

    fn contents(&self) -> Vec<u8> {
        self.data.lock().unwrap().clone()
    }

    fn check(&self, offset: u64, len: usize) -> io::Result<()> {
        if self.gone.load(Ordering::SeqCst) {
            return Err(io::Error::from_raw_os_error(libc::ENODEV));
        }
        let sector = u64::from(self.sector);
        if !offset.is_multiple_of(sector) || !(len as u64).is_multiple_of(sector) {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        if offset + len as u64 > self.data.lock().unwrap().len() as u64 {
            return Err(io::Error::from_raw_os_error(libc::ENOSPC));
        }
        Ok(())
    }
}

impl BlockTarget for MemDisk {
    fn label(&self) -> String {
        self.name.clone()
    }
    fn size_bytes(&self) -> u64 {
        self.data.lock().unwrap().len() as u64
    }
    fn logical_sector_size(&self) -> u32 {
        self.sector
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.check(offset, buf.len())?;
        std::thread::sleep(self.write_delay);
        let before = self.written.load(Ordering::SeqCst);
        if let Some(limit) = self.gone_after
            && before >= limit
        {
            self.gone.store(true, Ordering::SeqCst);
            return Err(io::Error::from_raw_os_error(libc::ENODEV));
        }
        if self.fail_after.is_some_and(|limit| before >= limit) {
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        if self
            .transient_failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        self.data.lock().unwrap()[offset as usize..offset as usize + buf.len()]
            .copy_from_slice(buf);
        let total = self.written.fetch_add(buf.len() as u64, Ordering::SeqCst) + buf.len() as u64;
        if let Some(hook) = &self.on_write {
            hook(total);
        }
        Ok(())
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.check(offset, buf.len())?;
        let range = offset..offset + buf.len() as u64;
        if self.bad_read_at.is_some_and(|at| range.contains(&at)) {
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        buf.copy_from_slice(&self.data.lock().unwrap()[offset as usize..range.end as usize]);
        if let Some(at) = self.flip_on_read
            && range.contains(&at)
        {
            buf[(at - offset) as usize] ^= 0x01;
        }
        Ok(())
    }
    fn sync_data(&self) -> io::Result<()> {
        if self.gone.load(Ordering::SeqCst) {
            return Err(io::Error::from_raw_os_error(libc::ENODEV));
        }
        if self.sync_fails {
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        Ok(())
    }
    fn zero_out(&self, offset: u64, len: u64) -> io::Result<()> {
        if self.no_zero_out {
            return Err(io::Error::from_raw_os_error(libc::EOPNOTSUPP));
        }
        self.check(offset, len as usize)?;
        self.data.lock().unwrap()[offset as usize..(offset + len) as usize].fill(0);
        self.zeroed.fetch_add(len, Ordering::SeqCst);
        Ok(())
    }
}

/// A test image: random data with zero runs of several sizes, and a recognisable MBR
/// signature at the end of LBA 0.
fn image(size: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut data: Vec<u8> = (0..size.div_ceil(8))
        .flat_map(|_| rng.next_u64().to_le_bytes())
        .take(size)
        .collect();
    // Zero runs: 6 MiB from 8 MiB, 2 MiB from 20 MiB, a 64 KiB hole at 17 MiB.
    for (start, len) in [
        (8 * MIB, 6 * MIB),
        (20 * MIB, 2 * MIB),
        (17 * MIB, 64 * KIB),
    ] {
        let end = ((start + len) as usize).min(size);
        if (start as usize) < end {
            data[start as usize..end].fill(0);
        }
    }
    data[510] = 0x55;
    data[511] = 0xAA;
    data
}

fn cfg() -> WriteConfig {
    WriteConfig {
        request_size: MIB as usize,
        ..WriteConfig::default()
    }
}

fn targets(disks: &[MemDisk]) -> Vec<Target<'_>> {
    disks.iter().map(|d| Target::new(d)).collect()
}

fn assert_holds_image(disk: &MemDisk, img: &[u8]) {
    let data = disk.contents();
    if data[..img.len()] == *img {
        return;
    }
    if let Some(at) = data[..img.len()].iter().zip(img).position(|(a, b)| a != b) {
        panic!("{}: differs from the image at byte {at}", disk.name);
    }
}

/// No partition table: the first request of the disk is zeros (so no 0x55AA at LBA 0).
fn assert_blank_start(disk: &MemDisk) {
    let data = disk.contents();
    assert!(
        data[..MIB as usize] == vec![0u8; MIB as usize][..],
        "{}: the partition-table area is not blank",
        disk.name
    );
}

/// `write_image` of `img`, its size known, to `targets`; no stop is asked for.
fn write_known(
    img: &[u8],
    targets: &[Target<'_>],
    cfg: &WriteConfig,
    observer: &dyn DeployObserver,
) -> DeployReport {
    write_image(
        Source::new(img, Some(img.len() as u64)),
        targets,
        cfg,
        observer,
        &AtomicBool::new(false),
    )
    .unwrap()
}

#[test]
fn one_failing_target_of_four_does_not_stop_the_others() {
    let img = image(32 * MIB as usize, 1);
    let mut disks: Vec<MemDisk> = (0..4)
        .map(|i| MemDisk::new(&format!("card{i}"), 40 * MIB))
        .collect();
    disks[2].fail_after = Some(10 * MIB);
    let report = write_known(&img, &targets(&disks), &cfg(), &NoObserver);
    assert!(report.source_error.is_none());
    for (i, t) in report.targets.iter().enumerate() {
        if i == 2 {
            let TargetOutcome::Failed(TargetError::Io { op, offset, .. }) = &t.outcome else {
                panic!("card2 should have failed on a write: {:?}", t.outcome);
            };
            assert_eq!(*op, "write");
            assert!(*offset >= 9 * MIB, "failed at {offset}");
            assert!(t.verification.is_none());
            assert_blank_start(&disks[2]);
        } else {
            assert!(t.passed(), "{}: {:?}", t.label, t.outcome);
            assert_eq!(
                t.verification.as_ref().unwrap().bytes_checked,
                img.len() as u64
            );
            assert_holds_image(&disks[i], &img);
        }
    }
    assert!(!report.all_passed());
}

#[test]
fn a_card_pulled_out_mid_write_fails_alone() {
    let img = image(24 * MIB as usize, 2);
    let mut disks: Vec<MemDisk> = (0..3)
        .map(|i| MemDisk::new(&format!("card{i}"), 24 * MIB))
        .collect();
    disks[0].gone_after = Some(6 * MIB);
    let failures = Mutex::new(Vec::new());
    struct Failures<'a>(&'a Mutex<Vec<usize>>);
    impl DeployObserver for Failures<'_> {
        fn target_failed(&self, target: usize, _error: &TargetError) {
            self.0.lock().unwrap().push(target);
        }
    }
    let report = write_known(&img, &targets(&disks), &cfg(), &Failures(&failures));
    let TargetOutcome::Failed(error) = &report.targets[0].outcome else {
        panic!("{:?}", report.targets[0].outcome);
    };
    assert!(error.to_string().contains("removed"), "{error}");
    assert_eq!(*failures.lock().unwrap(), vec![0], "reported once");
    assert!(report.targets[1].passed() && report.targets[2].passed());
    assert_holds_image(&disks[1], &img);
    assert_holds_image(&disks[2], &img);
    // ENODEV is not retried, and nothing is written once the device is gone (two writers
    // may both have passed the limit with one request each).
    let written = disks[0].written.load(Ordering::SeqCst);
    assert!((6 * MIB..=8 * MIB).contains(&written), "{written}");
}

#[test]
fn transient_write_errors_are_retried() {
    let img = image(6 * MIB as usize, 3);
    let disk = MemDisk::new("card", 8 * MIB);
    disk.transient_failures.store(2, Ordering::SeqCst);
    let report = write_known(&img, &[Target::new(&disk)], &cfg(), &NoObserver);
    assert!(
        report.targets[0].passed(),
        "{:?}",
        report.targets[0].outcome
    );
    assert_holds_image(&disk, &img);
}

#[test]
fn a_failing_flush_fails_the_target() {
    let img = image(4 * MIB as usize, 4);
    let bad = MemDisk {
        sync_fails: true,
        ..MemDisk::new("bad", 8 * MIB)
    };
    let good = MemDisk::new("good", 8 * MIB);
    let report = write_known(
        &img,
        &[Target::new(&bad), Target::new(&good)],
        &cfg(),
        &NoObserver,
    );
    assert!(matches!(
        report.targets[0].outcome,
        TargetOutcome::Failed(TargetError::Sync { .. })
    ));
    assert!(report.targets[1].passed());
}

#[test]
fn a_medium_that_returns_other_bytes_is_named_at_the_right_offset() {
    let img = image(16 * MIB as usize, 5);
    let flip = 5 * MIB + 12_345;
    let bad = MemDisk {
        flip_on_read: Some(flip),
        ..MemDisk::new("bad", 16 * MIB)
    };
    let good = MemDisk::new("good", 16 * MIB);
    let report = write_known(
        &img,
        &[Target::new(&bad), Target::new(&good)],
        &cfg(),
        &NoObserver,
    );
    let t = &report.targets[0];
    let v = assert_one_mismatch_at(t, flip);
    let block = WriteConfig::default().verify_block as u64;
    assert_eq!(v.mismatches[0].length, block);
    assert_eq!(v.mismatched_bytes, block);
    let record = t.verification_record().unwrap();
    assert!(!record.passed);
    assert_eq!(record.mode, "full");
    assert!(report.targets[1].passed());
}

#[test]
fn an_unreadable_target_fails_its_verification_alone() {
    let img = image(8 * MIB as usize, 6);
    let bad = MemDisk {
        bad_read_at: Some(3 * MIB + 7),
        ..MemDisk::new("bad", 8 * MIB)
    };
    let good = MemDisk::new("good", 8 * MIB);
    let report = write_known(
        &img,
        &[Target::new(&bad), Target::new(&good)],
        &cfg(),
        &NoObserver,
    );
    let TargetOutcome::Failed(TargetError::Io { op, offset, .. }) = &report.targets[0].outcome
    else {
        panic!("{:?}", report.targets[0].outcome);
    };
    assert_eq!((*op, *offset), ("read", 3 * MIB));
    assert!(report.targets[1].passed());
}

/// A reader that counts what it handed out, and can fail or slow down.
struct Scripted<'a> {
    data: &'a [u8],
    at: usize,
    fail_at: Option<usize>,
    delay: Duration,
    read: &'a AtomicU64,
}

impl Read for Scripted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        std::thread::sleep(self.delay);
        if self.fail_at.is_some_and(|at| self.at >= at) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "compressed data is corrupt",
            ));
        }
        let end = self
            .data
            .len()
            .min(self.at + buf.len().min(256 * KIB as usize));
        let end = self.fail_at.map_or(end, |f| end.min(f));
        let n = end - self.at;
        buf[..n].copy_from_slice(&self.data[self.at..end]);
        self.at = end;
        self.read.fetch_add(n as u64, Ordering::SeqCst);
        Ok(n)
    }
}

#[test]
fn a_slow_target_slows_the_reader_instead_of_filling_memory() {
    let img = image(32 * MIB as usize, 7);
    let read = Arc::new(AtomicU64::new(0));
    let worst_lead = Arc::new(AtomicU64::new(0));
    let config = cfg();
    let fast = MemDisk::new("fast", 32 * MIB);
    let (r, w) = (Arc::clone(&read), Arc::clone(&worst_lead));
    let slow = MemDisk {
        write_delay: Duration::from_millis(15),
        on_write: Some(Box::new(move |written| {
            let lead = r.load(Ordering::SeqCst).saturating_sub(written);
            w.fetch_max(lead, Ordering::SeqCst);
        })),
        ..MemDisk::new("slow", 32 * MIB)
    };
    let source = Scripted {
        data: &img,
        at: 0,
        fail_at: None,
        delay: Duration::ZERO,
        read: &read,
    };
    let report = write_image(
        Source::new(source, Some(img.len() as u64)),
        &[Target::new(&fast), Target::new(&slow)],
        &config,
        &NoObserver,
        &AtomicBool::new(false),
    )
    .unwrap();
    assert!(report.all_passed());
    // The reader never runs further ahead of the slow card than the buffer pool allows
    // (plus the held-back first chunk and the zero runs, which the slow card zeroes fast).
    let bound = (config.buffers as u64 + 1) * config.request_size as u64 + 8 * MIB;
    let lead = worst_lead.load(Ordering::SeqCst);
    assert!(
        lead <= bound,
        "reader ran {lead} bytes ahead (bound {bound})"
    );
    assert!(lead > 0);
}

#[test]
fn a_decoder_error_fails_every_target_and_leaves_no_partition_table() {
    let img = image(16 * MIB as usize, 8);
    let read = AtomicU64::new(0);
    let disks: Vec<MemDisk> = (0..2)
        .map(|i| MemDisk::new(&format!("card{i}"), 16 * MIB))
        .collect();
    let source = Scripted {
        data: &img,
        at: 0,
        fail_at: Some(9 * MIB as usize + 100),
        delay: Duration::ZERO,
        read: &read,
    };
    let report = write_image(
        Source::new(source, None),
        &targets(&disks),
        &cfg(),
        &NoObserver,
        &AtomicBool::new(false),
    )
    .unwrap();
    let Some(SourceError::Read { offset, source }) = &report.source_error else {
        panic!("{:?}", report.source_error);
    };
    assert_eq!(*offset, 9 * MIB);
    assert!(source.to_string().contains("corrupt"));
    assert!(report.image_sha256.is_none(), "no hash of a partial image");
    for (t, disk) in report.targets.iter().zip(&disks) {
        let TargetOutcome::Failed(TargetError::SourceFailed { reason }) = &t.outcome else {
            panic!("{:?}", t.outcome);
        };
        assert!(reason.contains("corrupt"), "{reason}");
        assert_blank_start(disk);
    }
}

#[test]
fn a_truncated_or_overlong_stream_is_refused() {
    let img = image(6 * MIB as usize, 9);
    let disk = MemDisk::new("card", 8 * MIB);
    let report = write_image(
        Source::new(&img[..5 * MIB as usize + 3], Some(img.len() as u64)),
        &[Target::new(&disk)],
        &cfg(),
        &NoObserver,
        &AtomicBool::new(false),
    )
    .unwrap();
    assert!(matches!(
        report.source_error,
        Some(SourceError::Truncated { got, expected }) if got == 5 * MIB + 3 && expected == 6 * MIB
    ));
    assert_blank_start(&disk);
    let report = write_image(
        Source::new(&img[..], Some(img.len() as u64 - 4096)),
        &[Target::new(&disk)],
        &cfg(),
        &NoObserver,
        &AtomicBool::new(false),
    )
    .unwrap();
    assert!(matches!(
        report.source_error,
        Some(SourceError::Longer { .. })
    ));
    assert!(!report.targets[0].passed());
    assert_blank_start(&disk);
    let report = write_image(
        Source::new(&[][..], None),
        &[Target::new(&disk)],
        &cfg(),
        &NoObserver,
        &AtomicBool::new(false),
    )
    .unwrap();
    assert!(matches!(report.source_error, Some(SourceError::Empty)));
    let report = write_image(
        Source::new(&[][..], Some(0)),
        &[Target::new(&disk)],
        &cfg(),
        &NoObserver,
        &AtomicBool::new(false),
    )
    .unwrap();
    assert!(matches!(report.source_error, Some(SourceError::Empty)));
}

#[test]
fn when_every_target_has_failed_the_reader_stops() {
    let img = image(32 * MIB as usize, 16);
    let read = AtomicU64::new(0);
    let disks: Vec<MemDisk> = (0..2)
        .map(|i| MemDisk {
            fail_after: Some(4 * MIB),
            ..MemDisk::new(&format!("card{i}"), 32 * MIB)
        })
        .collect();
    let report = write_image(
        Source::new(
            Scripted {
                data: &img,
                at: 0,
                fail_at: None,
                delay: Duration::ZERO,
                read: &read,
            },
            Some(img.len() as u64),
        ),
        &targets(&disks),
        &cfg(),
        &NoObserver,
        &AtomicBool::new(false),
    )
    .unwrap();
    assert!(
        report
            .targets
            .iter()
            .all(|t| matches!(t.outcome, TargetOutcome::Failed(TargetError::Io { .. })))
    );
    assert!(read.load(Ordering::SeqCst) < 24 * MIB, "read on for nobody");
    // A hash of part of the image is never reported.
    assert_eq!(report.image_sha256, None);
    assert!(report.source_error.is_none(), "the source was not at fault");
}

#[test]
fn a_wrong_image_hash_or_final_check_keeps_the_partition_table_blank() {
    let img = image(6 * MIB as usize, 10);
    let disk = MemDisk::new("card", 8 * MIB);
    let mut source = Source::new(&img[..], Some(img.len() as u64));
    source.expected_sha256 = Some([0x11; 32]);
    let report = write_image(
        source,
        &[Target::new(&disk)],
        &cfg(),
        &NoObserver,
        &AtomicBool::new(false),
    )
    .unwrap();
    let Some(SourceError::ImageHash { expected, found }) = &report.source_error else {
        panic!("{:?}", report.source_error);
    };
    assert_eq!(expected, &"11".repeat(32));
    assert_eq!(
        Some(found.clone()),
        report.image_sha256.map(|h| atelier_deploy::write::hex(&h))
    );
    assert_blank_start(&disk);
    // Everything but the first chunk was written: only the partition table is missing.
    assert_eq!(
        disk.contents()[2 * MIB as usize..6 * MIB as usize],
        img[2 * MIB as usize..]
    );

    let mut source = Source::new(&img[..], Some(img.len() as u64));
    let seen = Mutex::new(None);
    source.final_check = Some(Box::new(|summary| {
        *seen.lock().unwrap() = Some(summary.bytes);
        Err("the compressed file's SHA-256 differs from the catalogue".into())
    }));
    let report = write_image(
        source,
        &[Target::new(&disk)],
        &cfg(),
        &NoObserver,
        &AtomicBool::new(false),
    )
    .unwrap();
    assert!(matches!(&report.source_error, Some(SourceError::Check(m)) if m.contains("catalogue")));
    assert_eq!(*seen.lock().unwrap(), Some(img.len() as u64));
    assert_blank_start(&disk);
}

#[test]
fn a_block_map_hash_mismatch_stops_before_the_end() {
    let img = image(32 * MIB as usize, 11);
    let hash = |r: std::ops::Range<u64>| -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(&img[r.start as usize..r.end as usize]).into()
    };
    let ranges: Vec<MappedRange> = [(0, 8 * MIB), (14 * MIB, 3 * MIB), (18 * MIB, 2 * MIB)]
        .iter()
        .map(|&(offset, len)| MappedRange {
            offset,
            len,
            sha256: Some(hash(offset..offset + len)),
        })
        .collect();
    // The source differs from the map in one byte of the second range.
    let mut damaged = img.clone();
    damaged[15 * MIB as usize + 77] ^= 0x40;
    let read = AtomicU64::new(0);
    let disk = MemDisk::new("card", 32 * MIB);
    let mut source = Source::new(
        Scripted {
            data: &damaged,
            at: 0,
            fail_at: None,
            delay: Duration::ZERO,
            read: &read,
        },
        Some(img.len() as u64),
    );
    source.ranges = Some(ranges.clone());
    let report = write_image(
        source,
        &[Target::new(&disk)],
        &cfg(),
        &NoObserver,
        &AtomicBool::new(false),
    )
    .unwrap();
    let Some(SourceError::RangeMismatch { offset, end, .. }) = &report.source_error else {
        panic!("{:?}", report.source_error);
    };
    assert_eq!((*offset, *end), (14 * MIB, 17 * MIB));
    assert!(matches!(
        report.targets[0].outcome,
        TargetOutcome::Failed(TargetError::SourceFailed { .. })
    ));
    assert_blank_start(&disk);
    // It stopped soon after the bad range instead of reading the whole image.
    assert!(
        read.load(Ordering::SeqCst) < 24 * MIB,
        "{}",
        read.load(Ordering::SeqCst)
    );

    // The undamaged source passes, mapped ranges only; the rest of the card is untouched.
    let disk = MemDisk::new("card", 32 * MIB);
    let mut source = Source::new(&img[..], Some(img.len() as u64));
    source.ranges = Some(ranges);
    let report = write_image(
        source,
        &[Target::new(&disk)],
        &cfg(),
        &NoObserver,
        &AtomicBool::new(false),
    )
    .unwrap();
    let t = &report.targets[0];
    assert!(t.passed(), "{:?}", t.outcome);
    assert_eq!(t.bytes_unmapped, 32 * MIB - 13 * MIB);
    assert_eq!(t.verification.as_ref().unwrap().bytes_checked, 13 * MIB);
    let data = disk.contents();
    assert_eq!(data[..8 * MIB as usize], img[..8 * MIB as usize]);
    assert_eq!(
        data[14 * MIB as usize..17 * MIB as usize],
        img[14 * MIB as usize..17 * MIB as usize]
    );
    assert!(
        data[8 * MIB as usize..14 * MIB as usize]
            .iter()
            .all(|&b| b == 0xEE)
    );
    assert!(data[20 * MIB as usize..].iter().all(|&b| b == 0xEE));
}

#[test]
fn zero_runs_fall_back_to_written_zeros_when_the_device_cannot_zero() {
    let img = image(24 * MIB as usize, 12);
    let disk = MemDisk {
        no_zero_out: true,
        ..MemDisk::new("card", 24 * MIB)
    };
    let able = MemDisk::new("able", 24 * MIB);
    let report = write_known(
        &img,
        &[Target::new(&disk), Target::new(&able)],
        &cfg(),
        &NoObserver,
    );
    let (t, a) = (&report.targets[0], &report.targets[1]);
    assert!(t.passed() && a.passed());
    assert!(t.zero_out_fallback && !a.zero_out_fallback);
    assert_eq!(t.bytes_written, img.len() as u64);
    assert_eq!(t.skipped_as(), None);
    assert_holds_image(&disk, &img);
    // The able card zeroed the 6 MiB and 1.5 MiB runs; the 64 KiB hole was written.
    assert_eq!(a.bytes_zeroed, 8 * MIB);
    assert_eq!(a.bytes_zeroed, able.zeroed.load(Ordering::SeqCst));
    assert_eq!(a.bytes_written + a.bytes_zeroed, img.len() as u64);
    assert_eq!(a.skipped_as().as_deref(), Some("zeroout"));
    assert_holds_image(&able, &img);
}

#[test]
fn cancelling_stops_every_target_without_a_partition_table() {
    let img = image(32 * MIB as usize, 13);
    let cancel = AtomicBool::new(false);
    struct CancelAt<'a>(&'a AtomicBool, Mutex<Vec<(usize, Phase)>>);
    impl DeployObserver for CancelAt<'_> {
        fn phase(&self, target: usize, phase: Phase, _total: Option<u64>) {
            self.1.lock().unwrap().push((target, phase));
        }
        fn progress(&self, _t: usize, phase: Phase, done: u64, _total: Option<u64>) {
            if phase == Phase::Write && done >= 8 * MIB {
                self.0.store(true, Ordering::SeqCst);
            }
        }
    }
    let observer = CancelAt(&cancel, Mutex::new(Vec::new()));
    let disks: Vec<MemDisk> = (0..2)
        .map(|i| MemDisk::new(&format!("card{i}"), 32 * MIB))
        .collect();
    let report = write_image(
        Source::new(&img[..], Some(img.len() as u64)),
        &targets(&disks),
        &cfg(),
        &observer,
        &cancel,
    )
    .unwrap();
    assert!(report.cancelled);
    for (t, disk) in report.targets.iter().zip(&disks) {
        assert!(
            matches!(t.outcome, TargetOutcome::Cancelled),
            "{:?}",
            t.outcome
        );
        assert_blank_start(disk);
        // It stopped early: the end of the card still holds its old content.
        assert!(
            disk.contents()[31 * MIB as usize..]
                .iter()
                .all(|&b| b == 0xEE)
        );
    }
    let phases = observer.1.lock().unwrap();
    assert!(phases.contains(&(0, Phase::Prepare)) && phases.contains(&(1, Phase::Write)));
    assert!(!phases.iter().any(|(_, p)| *p == Phase::Verify));
}

#[test]
fn known_zero_targets_skip_zero_runs_and_still_verify_them() {
    let img = image(24 * MIB as usize, 14);
    let disk = MemDisk::new("wiped", 24 * MIB);
    disk.data.lock().unwrap().fill(0);
    let report = write_image(
        Source::new(&img[..], Some(img.len() as u64)),
        &[Target {
            io: &disk,
            known_zero: true,
        }],
        &cfg(),
        &NoObserver,
        &AtomicBool::new(false),
    )
    .unwrap();
    let t = &report.targets[0];
    assert!(t.passed());
    assert_eq!(t.bytes_known_zero, 8 * MIB);
    assert_eq!(disk.zeroed.load(Ordering::SeqCst), 0);
    assert_eq!(t.skipped_as().as_deref(), Some("already_zero"));

    // A target wrongly said to be zero is caught by the read-back.
    let dirty = MemDisk::new("dirty", 24 * MIB);
    let report = write_image(
        Source::new(&img[..], Some(img.len() as u64)),
        &[Target {
            io: &dirty,
            known_zero: true,
        }],
        &cfg(),
        &NoObserver,
        &AtomicBool::new(false),
    )
    .unwrap();
    let v = report.targets[0].verification.as_ref().unwrap();
    assert_eq!(v.mismatched_bytes, 8 * MIB);
    assert_eq!(v.mismatches[0].offset, 8 * MIB);
    assert_eq!(v.mismatches[0].length, 6 * MIB);
}

#[test]
fn refusals_before_writing() {
    let img = image(4 * MIB as usize, 15);
    let disk = MemDisk::new("card", 8 * MIB);
    let refuse = |targets: &[Target<'_>], cfg: &WriteConfig| {
        write_image(
            Source::new(&img[..], Some(img.len() as u64)),
            targets,
            cfg,
            &NoObserver,
            &AtomicBool::new(false),
        )
        .unwrap_err()
        .to_string()
    };
    assert!(refuse(&[], &cfg()).contains("no target"));
    assert!(refuse(&[Target::new(&disk), Target::new(&disk)], &cfg()).contains("twice"));
    let odd = MemDisk {
        sector: 520,
        ..MemDisk::new("odd", 8 * MIB)
    };
    assert!(refuse(&[Target::new(&odd)], &cfg()).contains("520-byte"));
    let bad_cfg = WriteConfig {
        verify_block: 1000,
        ..cfg()
    };
    assert!(refuse(&[Target::new(&disk)], &bad_cfg).contains("verify_block"));
    // Nothing was written.
    assert_eq!(disk.written.load(Ordering::SeqCst), 0);
    assert!(disk.contents().iter().all(|&b| b == 0xEE));
}

/// Notes how many bytes had been read from the disk when the commit (partition table) started.
struct CommitWatch<'a> {
    disk: &'a Counting<'a, MemDisk>,
    read_at_commit: AtomicU64,
}

impl<'a> CommitWatch<'a> {
    fn new(disk: &'a Counting<'a, MemDisk>) -> Self {
        Self {
            disk,
            read_at_commit: AtomicU64::new(0),
        }
    }
}

impl DeployObserver for CommitWatch<'_> {
    fn phase(&self, _target: usize, phase: Phase, _total: Option<u64>) {
        if phase == Phase::Commit {
            let read = self.disk.read.load(Ordering::SeqCst);
            self.read_at_commit.store(read, Ordering::SeqCst);
        }
    }
}

fn overlapped() -> WriteConfig {
    WriteConfig {
        overlap_read_back: Some(2 * MIB),
        ..cfg()
    }
}

#[test]
fn the_read_back_overlaps_the_writes_and_reads_each_block_once() {
    let img = image(16 * MIB as usize, 21);
    let mem = MemDisk::new("a", 16 * MIB);
    let disk = Counting::new(&mem);
    let watch = CommitWatch::new(&disk);
    let report = write_known(&img, &[Target::new(&disk)], &overlapped(), &watch);
    assert!(report.all_passed(), "{:?}", report.targets[0].outcome);
    assert_holds_image(&mem, &img);
    // Everything but the held-back first chunk was read back before the commit, and the
    // first chunk after it: each byte once.
    assert_eq!(watch.read_at_commit.load(Ordering::SeqCst), 15 * MIB);
    assert_eq!(disk.read.load(Ordering::SeqCst), 16 * MIB);
    let v = report.targets[0].verification.as_ref().unwrap();
    assert_eq!(v.bytes_checked, 16 * MIB);

    // Without overlap, nothing is read before the commit.
    let mem = MemDisk::new("b", 16 * MIB);
    let late = Counting::new(&mem);
    let watch = CommitWatch::new(&late);
    let no_overlap = WriteConfig {
        overlap_read_back: None,
        ..cfg()
    };
    let report = write_known(&img, &[Target::new(&late)], &no_overlap, &watch);
    assert!(report.all_passed());
    assert_eq!(watch.read_at_commit.load(Ordering::SeqCst), 0);
    assert_eq!(late.read.load(Ordering::SeqCst), 16 * MIB);
}

#[test]
fn the_overlapped_read_back_names_a_mismatch_and_fails_an_unreadable_target_alone() {
    let img = image(16 * MIB as usize, 22);
    let flip = 9 * MIB + 777;
    let flipping = MemDisk {
        flip_on_read: Some(flip),
        ..MemDisk::new("flipping", 16 * MIB)
    };
    let unreadable = MemDisk {
        bad_read_at: Some(6 * MIB + 4096),
        ..MemDisk::new("unreadable", 16 * MIB)
    };
    let good = MemDisk::new("good", 16 * MIB);
    let disks = [flipping, unreadable, good];
    let report = write_known(&img, &targets(&disks), &overlapped(), &NoObserver);
    let v = assert_one_mismatch_at(&report.targets[0], flip);
    assert_eq!(v.bytes_checked, 16 * MIB);
    match &report.targets[1].outcome {
        TargetOutcome::Failed(TargetError::Io { op: "read", .. }) => {}
        other => panic!("{other:?}"),
    }
    // The unreadable target failed during the streaming: its partition table was never
    // written.
    assert_blank_start(&disks[1]);
    assert!(report.targets[2].passed());
    assert_holds_image(&disks[2], &img);
}
