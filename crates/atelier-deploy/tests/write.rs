//! The write pipeline on real loop devices made by the test, with real disk images built by
//! the test: a GPT made by `sfdisk` and two ext4 file systems made by `mkfs.ext4 -d` from
//! directories of random files (so the image has data, metadata and long zero runs).

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use atelier_deploy::write::{
    DeployObserver, MappedRange, NoObserver, Phase, Source, SourceError, Target, TargetError,
    TargetOutcome, WriteConfig, WriteError, ZeroHandling, write_image,
};
use atelier_device::{DirectDevice, SystemRoot, find};
use atelier_testkit::{LoopDevice, LoopOptions, Rng, device_tier, run};
use sha2::{Digest, Sha256};

mod common;

use common::{Counting, assert_one_mismatch_at};

const MIB: u64 = 1 << 20;
const TOOLS: &[&str] = &["sfdisk", "mkfs.ext4", "blkid"];

/// A disk image built by the test.
struct Image {
    _dir: tempfile::TempDir,
    path: PathBuf,
    size: u64,
}

impl Image {
    /// A 64 MiB GPT disk image: partition 1 (24 MiB) and 2 (37 MiB), each an ext4 holding
    /// random files. `extra` bytes of random data are appended (an image whose size is not a
    /// multiple of the sector size).
    fn build(seed: u64, extra: usize) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("atelier-deploy-img-")
            .tempdir_in("/var/tmp")
            .unwrap();
        let path = dir.path().join("disk.img");
        let size = 64 * MIB;
        File::create(&path).unwrap().set_len(size).unwrap();
        let mut sfdisk = Command::new("sfdisk")
            .arg("-q")
            .arg(&path)
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        io::Write::write_all(
            sfdisk.stdin.as_mut().unwrap(),
            b"label: gpt\nstart=2048, size=49152, type=L\nstart=51200, size=75776, type=L\n",
        )
        .unwrap();
        assert!(sfdisk.wait().unwrap().success(), "sfdisk");
        let mut rng = Rng::new(seed);
        for (part, (start, sectors)) in [(2048u64, 49152u64), (51200, 75776)].iter().enumerate() {
            let files = dir.path().join(format!("files{part}"));
            std::fs::create_dir(&files).unwrap();
            for f in 0..4 {
                let len = 512 * 1024 + rng.below(3 << 20);
                let data: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
                std::fs::write(files.join(format!("file{f}.bin")), data).unwrap();
            }
            run(
                "mkfs.ext4",
                &[
                    "-q",
                    "-F",
                    "-d",
                    &files.display().to_string(),
                    "-E",
                    &format!("offset={}", start * 512),
                    &path.display().to_string(),
                    &format!("{}k", sectors / 2),
                ],
            );
        }
        let mut size = size;
        if extra > 0 {
            let tail: Vec<u8> = (0..extra).map(|_| rng.byte()).collect();
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .unwrap();
            io::Write::write_all(&mut f, &tail).unwrap();
            size += extra as u64;
        }
        Self {
            _dir: dir,
            path,
            size,
        }
    }

    fn bytes(&self) -> Vec<u8> {
        std::fs::read(&self.path).unwrap()
    }

    fn source(&self) -> Source<'static> {
        Source::new(File::open(&self.path).unwrap(), Some(self.size))
    }

    /// The image's non-zero 64 KiB blocks as block-map ranges, each with its SHA-256.
    fn mapped_ranges(&self) -> Vec<MappedRange> {
        let data = self.bytes();
        let block = 64 * 1024;
        let mut ranges: Vec<MappedRange> = Vec::new();
        for (i, b) in data.chunks(block).enumerate() {
            if b.iter().all(|&x| x == 0) {
                continue;
            }
            let offset = (i * block) as u64;
            match ranges.last_mut() {
                Some(last) if last.offset + last.len == offset => last.len += b.len() as u64,
                _ => ranges.push(MappedRange {
                    offset,
                    len: b.len() as u64,
                    sha256: None,
                }),
            }
        }
        for r in &mut ranges {
            r.sha256 =
                Some(Sha256::digest(&data[r.offset as usize..(r.offset + r.len) as usize]).into());
        }
        ranges
    }
}

fn open(dev: &LoopDevice) -> DirectDevice {
    let planned = find(&SystemRoot::live(), &dev.name())
        .expect("sysfs")
        .expect("the loop device is listed");
    DirectDevice::open(dev.path(), &planned, true).expect("open the loop device")
}

fn loop_device(size: u64, sector: u32, fill: u8) -> LoopDevice {
    let dev = LoopDevice::with(LoopOptions {
        sector_size: Some(sector),
        ..LoopOptions::new(size)
    });
    dev.fill(1 << 20, |_| vec![fill; 1 << 20]);
    dev
}

/// Whether any tool finds a partition table on `dev`.
fn has_partition_table(dev: &LoopDevice) -> bool {
    let sfdisk = Command::new("sfdisk")
        .arg("-d")
        .arg(dev.path())
        .output()
        .unwrap()
        .status
        .success();
    let blkid = Command::new("blkid")
        .arg("-p")
        .arg(dev.path())
        .output()
        .unwrap()
        .status
        .code();
    // blkid -p exits 2 when it finds nothing.
    sfdisk || blkid != Some(2)
}

/// A device that held another GPT disk before the deployment (a card that ran an OS).
fn previously_partitioned(size: u64) -> LoopDevice {
    let dev = loop_device(size, 512, 0x5A);
    let mut sfdisk = Command::new("sfdisk")
        .args(["-q", "--no-reread", "--no-tell-kernel"])
        .arg(dev.path())
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    io::Write::write_all(sfdisk.stdin.as_mut().unwrap(), b"label: gpt\n,32M,L\n,,L\n").unwrap();
    assert!(sfdisk.wait().unwrap().success());
    assert!(has_partition_table(&dev));
    dev
}

fn sha256_hex(data: &[u8]) -> String {
    atelier_deploy::write::hex(&Sha256::digest(data))
}

fn assert_equal_prefix(dev: &LoopDevice, image: &[u8]) {
    let data = dev.read_all();
    if data[..image.len()] == *image {
        return;
    }
    if let Some(at) = data[..image.len()]
        .iter()
        .zip(image)
        .position(|(a, b)| a != b)
    {
        panic!("{}: differs from the image at byte {at}", dev.path_str());
    }
}

/// Records every phase change and the last progress of each target and phase.
#[derive(Default)]
struct Recorder {
    phases: Mutex<Vec<(usize, Phase)>>,
    last: Mutex<std::collections::BTreeMap<(usize, u8), u64>>,
}

impl DeployObserver for Recorder {
    fn phase(&self, target: usize, phase: Phase, _total: Option<u64>) {
        self.phases.lock().unwrap().push((target, phase));
    }
    fn progress(&self, target: usize, phase: Phase, done: u64, _total: Option<u64>) {
        let mut last = self.last.lock().unwrap();
        let slot = last.entry((target, phase as u8)).or_default();
        *slot = (*slot).max(done);
    }
}

#[test]
fn one_target_receives_the_image_byte_for_byte() {
    if !device_tier(TOOLS) {
        return;
    }
    let image = Image::build(1, 0);
    let bytes = image.bytes();
    let dev = loop_device(96 * MIB, 512, 0xFF);
    let direct = open(&dev);
    let report = write_image(
        image.source(),
        &[Target::new(&direct)],
        &WriteConfig::default(),
        &NoObserver,
        &AtomicBool::new(false),
    )
    .unwrap();
    drop(direct);
    let t = &report.targets[0];
    assert!(t.passed(), "{:?}", t.outcome);
    assert_eq!(report.image_size, image.size);
    assert_eq!(
        report.image_sha256.map(|h| atelier_deploy::write::hex(&h)),
        Some(sha256_hex(&bytes))
    );
    let v = t.verification.as_ref().unwrap();
    assert_eq!(v.bytes_checked, image.size);
    // ext4 leaves long zero runs: zeroed by the device, not sent.
    assert!(t.bytes_zeroed > 8 * MIB, "zeroed {}", t.bytes_zeroed);
    assert_eq!(t.bytes_written + t.bytes_zeroed, image.size);
    assert_eq!(t.skipped_as().as_deref(), Some("zeroout"));
    let data = dev.read_all();
    assert_eq!(sha256_hex(&data[..bytes.len()]), sha256_hex(&bytes));
    assert!(
        data[bytes.len()..].iter().all(|&b| b == 0xFF),
        "past the image"
    );
    // The partition table is there and is the image's.
    let dump = run("sfdisk", &["-d", &dev.path_str()]);
    assert_eq!(dump.matches("type=0FC63DAF").count(), 2, "{dump}");
}

#[test]
fn three_targets_from_one_stream_all_verify() {
    if !device_tier(TOOLS) {
        return;
    }
    let image = Image::build(2, 0);
    let bytes = image.bytes();
    let devs = [
        loop_device(64 * MIB, 512, 0xFF),
        loop_device(80 * MIB, 4096, 0x00),
        previously_partitioned(128 * MIB),
    ];
    let directs: Vec<DirectDevice> = devs.iter().map(open).collect();
    let targets: Vec<Target<'_>> = directs.iter().map(|d| Target::new(d)).collect();
    let recorder = Recorder::default();
    let report = write_image(
        image.source(),
        &targets,
        &WriteConfig::default(),
        &recorder,
        &AtomicBool::new(false),
    )
    .unwrap();
    drop(directs);
    for (t, dev) in report.targets.iter().zip(&devs) {
        assert!(t.passed(), "{}: {:?}", t.label, t.outcome);
        assert_equal_prefix(dev, &bytes);
    }
    let phases = recorder.phases.lock().unwrap();
    for i in 0..3 {
        let mine: Vec<Phase> = phases
            .iter()
            .filter(|(t, _)| *t == i)
            .map(|(_, p)| *p)
            .collect();
        assert_eq!(
            mine,
            [Phase::Prepare, Phase::Write, Phase::Commit, Phase::Verify]
        );
        let last = recorder.last.lock().unwrap();
        assert_eq!(
            last[&(i, Phase::Commit as u8)],
            image.size,
            "write progress"
        );
        assert_eq!(
            last[&(i, Phase::Verify as u8)],
            image.size,
            "verify progress"
        );
    }
}

#[test]
fn block_map_ranges_only_are_written_and_verified() {
    if !device_tier(TOOLS) {
        return;
    }
    let image = Image::build(3, 0);
    let bytes = image.bytes();
    let ranges = image.mapped_ranges();
    let mapped: u64 = ranges.iter().map(|r| r.len).sum();
    assert!(mapped < image.size / 2, "the test image should be sparse");
    let dev = loop_device(64 * MIB, 512, 0xAB);
    let direct = open(&dev);
    let mut source = image.source();
    source.ranges = Some(ranges.clone());
    let report = write_image(
        source,
        &[Target::new(&direct)],
        &WriteConfig::default(),
        &NoObserver,
        &AtomicBool::new(false),
    )
    .unwrap();
    drop(direct);
    let t = &report.targets[0];
    assert!(t.passed(), "{:?}", t.outcome);
    let v = t.verification_record().unwrap();
    assert_eq!(v.mode, "mapped");
    assert_eq!(v.bytes_checked, mapped);
    assert_eq!(t.bytes_unmapped, image.size - mapped);
    assert_eq!(t.skipped_as().as_deref(), Some("unmapped"));
    // Mapped bytes are the image's; unmapped ones past the blanked first 4 MiB are untouched.
    let data = dev.read_all();
    let mut in_range = vec![false; bytes.len()];
    for r in &ranges {
        in_range[r.offset as usize..(r.offset + r.len) as usize].fill(true);
    }
    for (i, (&got, &want)) in data.iter().zip(&bytes).enumerate() {
        let expected = if in_range[i] {
            want
        } else if i < 4 * MIB as usize {
            0
        } else {
            0xAB
        };
        assert_eq!(got, expected, "byte {i} (mapped: {})", in_range[i]);
    }
    assert!(has_partition_table(&dev));
}

#[test]
fn zero_runs_are_zeroed_by_the_device_not_written() {
    if !device_tier(TOOLS) {
        return;
    }
    let image = Image::build(4, 0);
    let bytes = image.bytes();
    let zero_bytes = {
        // Whole 4 MiB chunks of zeros at least: those must not be sent.
        bytes
            .chunks(4 << 20)
            .filter(|c| c.iter().all(|&b| b == 0))
            .count() as u64
            * 4
            * MIB
    };
    assert!(zero_bytes > 0, "the test image has whole zero chunks");
    let run_with = |fill: u8, known_zero: bool, refuse: bool, handling: ZeroHandling| {
        let dev = loop_device(64 * MIB, 512, fill);
        let direct = open(&dev);
        let counting = Counting {
            refuse_zero_out: refuse,
            ..Counting::new(&direct)
        };
        let report = write_image(
            image.source(),
            &[Target {
                io: &counting,
                known_zero,
            }],
            &WriteConfig {
                zero_handling: handling,
                ..WriteConfig::default()
            },
            &NoObserver,
            &AtomicBool::new(false),
        )
        .unwrap();
        let sent = (
            counting.written.load(Ordering::SeqCst),
            counting.zeroed.load(Ordering::SeqCst),
        );
        drop(direct);
        assert_equal_prefix(&dev, &bytes);
        let t = report.targets.into_iter().next().unwrap();
        assert!(t.passed(), "{:?}", t.outcome);
        (t, sent)
    };
    // Over 0xFF: the zero runs read back zero, though they were never sent.
    let (t, (written, zeroed)) = run_with(0xFF, false, false, ZeroHandling::ZeroOut);
    assert!(t.bytes_zeroed >= zero_bytes);
    assert_eq!(zeroed, t.bytes_zeroed);
    // What was sent: the blanked first chunk, then the data (the first chunk's zeros are
    // counted as written: the blanking wrote them).
    assert!(written <= t.bytes_written + 4 * MIB, "{written}");
    assert!(written + 4 * MIB >= t.bytes_written, "{written}");
    assert!(written <= image.size - zero_bytes + 4 * MIB);
    // A target just wiped with zeros: nothing is zeroed either.
    let (t, (_, zeroed)) = run_with(0x00, true, false, ZeroHandling::ZeroOut);
    assert_eq!(zeroed, 0);
    assert!(t.bytes_known_zero >= zero_bytes);
    assert_eq!(t.skipped_as().as_deref(), Some("already_zero"));
    // A device that cannot zero: zeros are written.
    let (t, (written, _)) = run_with(0xFF, false, true, ZeroHandling::ZeroOut);
    assert!(t.zero_out_fallback);
    assert_eq!(t.bytes_written, image.size);
    assert!(
        (image.size..=image.size + 4 * MIB).contains(&written),
        "{written}"
    );
    // Zero detection off: everything is written, like dd.
    let (t, (_, zeroed)) = run_with(0xFF, false, false, ZeroHandling::Write);
    assert_eq!((t.bytes_written, zeroed), (image.size, 0));
}

#[test]
fn an_image_of_odd_size_is_padded_to_the_sector() {
    if !device_tier(TOOLS) {
        return;
    }
    let image = Image::build(5, 1000);
    let bytes = image.bytes();
    assert_eq!(bytes.len() % 512, 1000 % 512);
    for sector in [512u32, 4096] {
        let dev = loop_device(72 * MIB, sector, 0xFF);
        let direct = open(&dev);
        let report = write_image(
            image.source(),
            &[Target::new(&direct)],
            &WriteConfig::default(),
            &NoObserver,
            &AtomicBool::new(false),
        )
        .unwrap();
        drop(direct);
        let t = &report.targets[0];
        assert!(t.passed(), "{sector}: {:?}", t.outcome);
        assert_eq!(t.verification.as_ref().unwrap().bytes_checked, image.size);
        let data = dev.read_all();
        assert_eq!(sha256_hex(&data[..bytes.len()]), sha256_hex(&bytes));
        let padded = bytes.len().div_ceil(sector as usize) * sector as usize;
        assert!(data[bytes.len()..padded].iter().all(|&b| b == 0), "padding");
        assert!(
            data[padded..].iter().all(|&b| b == 0xFF),
            "past the padding"
        );
    }
}

/// A reader over a file that flips one byte on its way (a damaged download).
struct Flipping {
    file: File,
    at: u64,
    flip: u64,
}

impl Read for Flipping {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        let range = self.at..self.at + n as u64;
        if range.contains(&self.flip) {
            buf[(self.flip - self.at) as usize] ^= 0x10;
        }
        self.at += n as u64;
        Ok(n)
    }
}

#[test]
fn a_source_that_differs_from_its_hashes_is_never_declared_good() {
    if !device_tier(TOOLS) {
        return;
    }
    let image = Image::build(6, 0);
    let ranges = image.mapped_ranges();
    // A byte in the middle of the second partition's data.
    let flip_range = ranges
        .iter()
        .find(|r| r.offset > 30 * MIB && r.len > 4096)
        .copied()
        .unwrap();
    let flip = flip_range.offset + 100;
    let devs = [
        previously_partitioned(64 * MIB),
        previously_partitioned(64 * MIB),
    ];
    let directs: Vec<DirectDevice> = devs.iter().map(open).collect();
    let targets: Vec<Target<'_>> = directs.iter().map(|d| Target::new(d)).collect();

    // With the block map: the damaged range is named, and the write stops there.
    let mut source = Source::new(
        Flipping {
            file: File::open(&image.path).unwrap(),
            at: 0,
            flip,
        },
        Some(image.size),
    );
    source.ranges = Some(ranges);
    let report = write_image(
        source,
        &targets,
        &WriteConfig::default(),
        &NoObserver,
        &AtomicBool::new(false),
    )
    .unwrap();
    let Some(SourceError::RangeMismatch { offset, end, .. }) = &report.source_error else {
        panic!("{:?}", report.source_error);
    };
    assert_eq!(
        (*offset, *end),
        (flip_range.offset, flip_range.offset + flip_range.len)
    );
    for t in &report.targets {
        assert!(matches!(
            t.outcome,
            TargetOutcome::Failed(TargetError::SourceFailed { .. })
        ));
    }
    for dev in &devs {
        assert!(
            !has_partition_table(dev),
            "{} has a partition table",
            dev.path_str()
        );
    }

    // Without a block map, against the catalogue's SHA-256 of the image.
    let mut source = Source::new(
        Flipping {
            file: File::open(&image.path).unwrap(),
            at: 0,
            flip,
        },
        Some(image.size),
    );
    source.expected_sha256 = Some(Sha256::digest(image.bytes()).into());
    let report = write_image(
        source,
        &targets,
        &WriteConfig::default(),
        &NoObserver,
        &AtomicBool::new(false),
    )
    .unwrap();
    assert!(matches!(
        report.source_error,
        Some(SourceError::ImageHash { .. })
    ));
    assert!(report.targets.iter().all(|t| !t.passed()));
    drop(directs);
    for dev in &devs {
        assert!(
            !has_partition_table(dev),
            "{} has a partition table",
            dev.path_str()
        );
    }
}

#[test]
fn a_target_smaller_than_the_image_is_refused_before_any_write() {
    if !device_tier(TOOLS) {
        return;
    }
    let image = Image::build(7, 0);
    let big = loop_device(96 * MIB, 512, 0xC3);
    let small = loop_device(32 * MIB, 512, 0xC3);
    let before = (big.sha256(), small.sha256());
    let (big_io, small_io) = (open(&big), open(&small));
    let error = write_image(
        image.source(),
        &[Target::new(&big_io), Target::new(&small_io)],
        &WriteConfig::default(),
        &NoObserver,
        &AtomicBool::new(false),
    )
    .unwrap_err();
    assert!(matches!(error, WriteError::TargetTooSmall { .. }));
    let message = error.to_string();
    assert!(message.contains(&small.path_str()), "{message}");
    assert!(message.contains(&(32 * MIB).to_string()), "{message}");
    assert!(message.contains(&(64 * MIB).to_string()), "{message}");
    drop((big_io, small_io));
    assert_eq!(
        (big.sha256(), small.sha256()),
        before,
        "nothing was written"
    );

    // Size unknown in advance (a stream): the small target fails when the image passes its
    // end, without a partition table; the big one is written.
    let (big_io, small_io) = (open(&big), open(&small));
    let report = write_image(
        Source::new(File::open(&image.path).unwrap(), None),
        &[Target::new(&big_io), Target::new(&small_io)],
        &WriteConfig::default(),
        &NoObserver,
        &AtomicBool::new(false),
    )
    .unwrap();
    drop((big_io, small_io));
    assert!(
        report.targets[0].passed(),
        "{:?}",
        report.targets[0].outcome
    );
    let TargetOutcome::Failed(error @ TargetError::TooSmall { .. }) = &report.targets[1].outcome
    else {
        panic!("{:?}", report.targets[1].outcome);
    };
    assert!(error.to_string().contains("does not fit"), "{error}");
    assert!(!has_partition_table(&small));
    assert!(has_partition_table(&big));
}

#[test]
fn a_byte_changed_behind_the_engines_back_is_reported_at_its_offset() {
    if !device_tier(TOOLS) {
        return;
    }
    let image = Image::build(8, 0);
    let bytes = image.bytes();
    let dev = loop_device(64 * MIB, 512, 0xFF);
    // A byte inside the first file of partition 2 (data, not zeros).
    let flip = (51200 * 512..bytes.len() as u64)
        .step_by(4096)
        .find(|&o| {
            let page = &bytes[o as usize..o as usize + 4096];
            page.iter().filter(|&&b| b != 0).count() > 4000
        })
        .expect("a page of file data")
        + 1234;
    struct Tamper<'a> {
        dev: &'a LoopDevice,
        flip: u64,
        original: &'a [u8],
    }
    impl DeployObserver for Tamper<'_> {
        fn phase(&self, _target: usize, phase: Phase, _total: Option<u64>) {
            if phase == Phase::Verify {
                let page = self.flip / 4096 * 4096;
                let mut data = self.original[page as usize..page as usize + 4096].to_vec();
                data[(self.flip - page) as usize] ^= 0x01;
                self.dev.write_direct(page, &data);
            }
        }
    }
    let direct = open(&dev);
    // The read-back after the commit only, so that the change made when it starts falls
    // between the write and the read-back (the overlapped read-back, the default, is
    // covered by faults.rs: a medium that returns other bytes).
    let report = write_image(
        image.source(),
        &[Target::new(&direct)],
        &WriteConfig {
            overlap_read_back: None,
            ..WriteConfig::default()
        },
        &Tamper {
            dev: &dev,
            flip,
            original: &bytes,
        },
        &AtomicBool::new(false),
    )
    .unwrap();
    drop(direct);
    let v = assert_one_mismatch_at(&report.targets[0], flip);
    let block = WriteConfig::default().verify_block as u64;
    assert_eq!(v.mismatches[0].length, block);
    assert!((v.mismatches[0].offset..v.mismatches[0].offset + block).contains(&flip));
}

/// A reader that takes its time, so that a test can stop the deployment in the middle.
struct Slow {
    file: File,
    delay: Duration,
}

impl Read for Slow {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        std::thread::sleep(self.delay);
        let len = buf.len().min(1 << 20);
        self.file.read(&mut buf[..len])
    }
}

#[test]
fn cancelling_mid_write_leaves_no_partition_table() {
    if !device_tier(TOOLS) {
        return;
    }
    let image = Image::build(9, 0);
    let dev = previously_partitioned(64 * MIB);
    let cancel = AtomicBool::new(false);
    struct CancelAfter<'a>(&'a AtomicBool);
    impl DeployObserver for CancelAfter<'_> {
        fn progress(&self, _t: usize, phase: Phase, done: u64, _total: Option<u64>) {
            if phase == Phase::Write && done >= 16 * MIB {
                self.0.store(true, Ordering::SeqCst);
            }
        }
    }
    let direct = open(&dev);
    let report = write_image(
        Source::new(
            Slow {
                file: File::open(&image.path).unwrap(),
                delay: Duration::from_millis(10),
            },
            Some(image.size),
        ),
        &[Target::new(&direct)],
        &WriteConfig::default(),
        &CancelAfter(&cancel),
        &cancel,
    )
    .unwrap();
    drop(direct);
    assert!(report.cancelled);
    assert!(matches!(
        report.targets[0].outcome,
        TargetOutcome::Cancelled
    ));
    assert!(report.image_size < image.size, "stopped early");
    assert!(!has_partition_table(&dev));
    assert!(
        Command::new("partx")
            .arg("-s")
            .arg(dev.path())
            .output()
            .unwrap()
            .status
            .code()
            != Some(0),
        "partx finds partitions"
    );
}

const CHILD_ENV: &str = "ATELIER_DEPLOY_KILL_CHILD";

/// In the child process: deploys slowly, printing progress, until killed.
fn kill_child(spec: &str) {
    let (dev_path, image_path) = spec.split_once('|').unwrap();
    let name = Path::new(dev_path).file_name().unwrap().to_string_lossy();
    let planned = find(&SystemRoot::live(), &name).unwrap().unwrap();
    let direct = DirectDevice::open(Path::new(dev_path), &planned, true).unwrap();
    struct Print;
    impl DeployObserver for Print {
        fn progress(&self, _t: usize, phase: Phase, done: u64, _total: Option<u64>) {
            if phase == Phase::Write {
                println!("WRITTEN {done}");
            }
        }
    }
    let size = std::fs::metadata(image_path).unwrap().len();
    let _ = write_image(
        Source::new(
            Slow {
                file: File::open(image_path).unwrap(),
                delay: Duration::from_millis(50),
            },
            Some(size),
        ),
        &[Target::new(&direct)],
        &WriteConfig::default(),
        &Print,
        &AtomicBool::new(false),
    );
    println!("FINISHED");
}

#[test]
fn kill_9_mid_write_leaves_no_partition_table() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        kill_child(&spec);
        return;
    }
    if !device_tier(TOOLS) {
        return;
    }
    let image = Image::build(10, 0);
    let dev = previously_partitioned(64 * MIB);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "kill_9_mid_write_leaves_no_partition_table",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(
            CHILD_ENV,
            format!("{}|{}", dev.path_str(), image.path.display()),
        )
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = atelier_testkit::line_channel(child.stdout.take().unwrap());
    let mut written = 0;
    while written < 16 * MIB {
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .expect("the child reports progress");
        assert_ne!(line, "FINISHED", "the child finished before it was killed");
        if let Some(n) = line.strip_prefix("WRITTEN ") {
            written = n.parse().unwrap();
        }
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success());
    assert!(!has_partition_table(&dev));
    // Some of the image did reach the device (this was a real mid-write kill).
    let data = dev.read_all();
    let img = image.bytes();
    let same_mib = (4..64)
        .filter(|m| {
            let r = m * MIB as usize..(m + 1) * MIB as usize;
            data[r.clone()] == img[r]
        })
        .count();
    assert!(
        same_mib >= 8,
        "{same_mib} MiB of the image were on the device"
    );
}
