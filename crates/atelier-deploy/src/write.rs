//! Writing one decoded image to one or more targets at once, then reading each back.
//!
//! # The pipeline
//!
//! One reader thread pulls the decoded image from any [`Read`] into aligned buffers of
//! [`WriteConfig::request_size`] bytes (a fixed pool, so memory stays bounded whatever the
//! speed of the targets). For each chunk it computes, once, a 128-bit XXH3 hash of every
//! verification block ([`WriteConfig::verify_block`]) and which blocks are all zeros, then
//! shares the chunk (reference-counted) with:
//!
//! - every target's writer threads ([`WriteConfig::io_depth`] per target, so that many
//!   requests are in the device's queue at once) through a bounded queue: a slow target slows
//!   the reader down instead of filling memory, and a target that fails is dropped from the
//!   fan-out while the others go on;
//! - a SHA-256 thread for the whole image (compared with [`Source::expected_sha256`]);
//! - a SHA-256 thread for the block map's ranges ([`MappedRange::sha256`], as in bmaptool's
//!   bmap format 2.0, where each mapped range carries the SHA-256 of its bytes); a range that
//!   does not match stops the deployment at once.
//!
//! All-zero runs are not sent: the device zeroes them (`BLKZEROOUT`, falling back to writing
//! zeros when it cannot), or they are skipped when the caller knows the target is all zeros
//! already ([`Target::known_zero`]). With a block map only the mapped ranges are written and
//! verified.
//!
//! # The partition table comes last
//!
//! Before anything else, the first chunk of every target (LBA 0 up to 4 MiB: the MBR, the GPT
//! header and its entries) is overwritten with zeros and synced. The image's first chunk is
//! held back, and written only once every other chunk has been written and `fdatasync`ed and
//! the source has passed every check; then the target is synced again. Linux reads a GPT only
//! behind a protective MBR whose 0x55AA signature sits at the end of LBA 0 (UEFI 2.10
//! §5.2.3), so an interrupted or refused deployment leaves a target with no partition table:
//! it does not boot rather than half-boots.
//!
//! # Verification
//!
//! Each target is read back with `O_DIRECT` (caches bypassed) and every verification block
//! hashed and compared with the hash taken while streaming; the blocks that differ are
//! reported as byte ranges. With [`WriteConfig::overlap_read_back`] (the default) this
//! happens while the image is still streaming: a thread per target gathers the chunks its
//! writers have finished, syncs the target (`fdatasync`) once enough are waiting, and reads
//! them back while the writers go on with the next ones. The held-back first chunk (and
//! anything not yet read back) is read back after the commit. XXH3-128 is used there rather than SHA-256
//! because it runs at memory speed (≈30 GB/s against ≈1.8 GB/s for SHA-256 with SHA-NI on the
//! bench's CPUs): the cryptographic check is the image's SHA-256, done once; the read-back only
//! has to notice that the medium returned something else.
//!
//! An image whose size is not a multiple of a target's logical sector size gets its last
//! write padded with zeros; only the image's own bytes are verified.

mod layout;
mod stream;
mod target;
mod verify;

use std::io::Read;
use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use atelier_device::AlignedBuffer;
use atelier_record::{ByteRange, DeployVerification};

pub use target::BlockTarget;

use layout::Layout;

/// A byte range of the image that a block map says holds data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MappedRange {
    /// First byte, in the image.
    pub offset: u64,
    /// Length in bytes.
    pub len: u64,
    /// SHA-256 of the range's bytes, when the block map gives one.
    pub sha256: Option<[u8; 32]>,
}

/// What the reader saw of the source, handed to [`Source::final_check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceSummary {
    /// Bytes of decoded image read.
    pub bytes: u64,
    /// SHA-256 of those bytes, when [`WriteConfig::hash_image`] is set.
    pub sha256: Option<[u8; 32]>,
}

/// A last check of the source before any partition table is written, e.g. the SHA-256 of
/// the compressed file that the decoder computed, compared with the catalogue's.
pub type FinalCheck<'a> = Box<dyn FnOnce(&SourceSummary) -> Result<(), String> + 'a>;

/// The decoded image to write.
pub struct Source<'a> {
    /// The decoded bytes, from the first to the last.
    pub reader: Box<dyn Read + Send + 'a>,
    /// Size in bytes when known (raw file, block map, zip entry): targets smaller than this
    /// are refused before anything is written, and a stream of another length fails.
    pub size: Option<u64>,
    /// The block map's ranges: only these are written and verified. Needs [`Self::size`].
    pub ranges: Option<Vec<MappedRange>>,
    /// The SHA-256 the decoded image must have.
    pub expected_sha256: Option<[u8; 32]>,
    /// Called once the whole stream has been read; an `Err` fails the deployment before any
    /// partition table is written.
    pub final_check: Option<FinalCheck<'a>>,
}

impl<'a> Source<'a> {
    /// A source with nothing but its bytes and, when known, its size.
    pub fn new(reader: impl Read + Send + 'a, size: Option<u64>) -> Self {
        Self {
            reader: Box::new(reader),
            size,
            ranges: None,
            expected_sha256: None,
            final_check: None,
        }
    }
}

impl std::fmt::Debug for Source<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("size", &self.size)
            .field("ranges", &self.ranges.as_ref().map(Vec::len))
            .field("expected_sha256", &self.expected_sha256.map(|h| hex(&h)))
            .field("final_check", &self.final_check.is_some())
            .finish_non_exhaustive()
    }
}

/// One disk or card to write.
#[derive(Clone, Copy)]
pub struct Target<'a> {
    /// The device.
    pub io: &'a dyn BlockTarget,
    /// The target holds only zeros (it was just wiped with zeros and the wipe verified): zero
    /// runs of the image are skipped instead of zeroed. The read-back still checks them.
    pub known_zero: bool,
}

impl<'a> Target<'a> {
    /// A target of unknown content.
    pub fn new(io: &'a dyn BlockTarget) -> Self {
        Self {
            io,
            known_zero: false,
        }
    }
}

impl std::fmt::Debug for Target<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("io", &self.io.label())
            .field("known_zero", &self.known_zero)
            .finish()
    }
}

/// What to do with all-zero runs of the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZeroHandling {
    /// Let the device zero them (`BLKZEROOUT`); write zeros where it cannot.
    ZeroOut,
    /// Write them like any other data.
    Write,
}

/// Tunables of the pipeline.
#[derive(Debug, Clone)]
pub struct WriteConfig {
    /// Bytes per read and write request: a multiple of [`Self::verify_block`].
    pub request_size: usize,
    /// Requests in each target's queue at once (writer and reader threads per target).
    pub io_depth: usize,
    /// Buffers of [`Self::request_size`] shared by the reader and the targets (memory bound);
    /// at least `io_depth + 2`.
    pub buffers: usize,
    /// Bytes per verification block (one hash each; the granularity of reported mismatches):
    /// a multiple of 4096.
    pub verify_block: usize,
    /// All-zero runs shorter than this between data are written with the data.
    pub min_zero_run: u64,
    /// What to do with all-zero runs.
    pub zero_handling: ZeroHandling,
    /// Compute the SHA-256 of the whole decoded image.
    pub hash_image: bool,
    /// Read every target back and compare.
    pub verify: bool,
    /// Read written chunks back while the image still streams, syncing the target each time
    /// this many bytes are waiting; `None`: read back only after the commit.
    pub overlap_read_back: Option<u64>,
    /// Attempts per request after a failure, before the target is given up.
    pub retries: u32,
}

impl Default for WriteConfig {
    fn default() -> Self {
        Self {
            request_size: 4 << 20,
            io_depth: 2,
            buffers: 8,
            verify_block: 64 << 10,
            min_zero_run: 1 << 20,
            zero_handling: ZeroHandling::ZeroOut,
            hash_image: true,
            verify: true,
            overlap_read_back: Some(64 << 20),
            retries: 2,
        }
    }
}

/// A step of the deployment of one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Zeroing the partition-table area.
    Prepare,
    /// Writing the image (all but its first chunk).
    Write,
    /// Syncing, then writing the first chunk (partition table) and syncing again.
    Commit,
    /// Reading back and comparing.
    Verify,
}

/// Callbacks from a running deployment, from several threads. Targets are numbered in the
/// order they were given.
pub trait DeployObserver: Sync {
    /// `target` starts `phase`, which covers `bytes_total` bytes when known.
    fn phase(&self, target: usize, phase: Phase, bytes_total: Option<u64>) {
        let _ = (target, phase, bytes_total);
    }
    /// `bytes_done` bytes of `phase` are done on `target`.
    fn progress(&self, target: usize, phase: Phase, bytes_done: u64, bytes_total: Option<u64>) {
        let _ = (target, phase, bytes_done, bytes_total);
    }
    /// `target` failed; the others go on.
    fn target_failed(&self, target: usize, error: &TargetError) {
        let _ = (target, error);
    }
}

/// An observer that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl DeployObserver for NoObserver {}

/// Why a deployment was refused before anything was written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// No target was given.
    #[error("no target to write to: choose at least one disk or card")]
    NoTargets,
    /// The same device was given twice.
    #[error("{target} is listed twice: give each disk or card once")]
    DuplicateTarget {
        /// The device.
        target: String,
    },
    /// A target is smaller than the image.
    #[error(
        "{target} is too small for this image: it holds {} but the image needs {}; \
         choose a larger card or disk",
        bytes_and_gib(*target_size),
        bytes_and_gib(*image_size)
    )]
    TargetTooSmall {
        /// The device.
        target: String,
        /// Its capacity in bytes.
        target_size: u64,
        /// The image size in bytes.
        image_size: u64,
    },
    /// A target's sector size cannot be handled.
    #[error(
        "{target} has {sector}-byte logical sectors, which this writer does not handle \
         (a power of two from 512 to 4096 is needed)"
    )]
    UnsupportedSector {
        /// The device.
        target: String,
        /// Its logical sector size.
        sector: u32,
    },
    /// The block map cannot be used with this image.
    #[error(
        "the block map cannot be used: {reason}; check that the .bmap file belongs to this image"
    )]
    BadBlockMap {
        /// What is wrong.
        reason: String,
    },
    /// The tunables are inconsistent (a programming error of the caller).
    #[error("invalid write settings: {0}")]
    BadConfig(String),
}

/// Why the source could not be used: nothing is declared good and no partition table is
/// written.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Reading or decoding failed.
    #[error(
        "reading the image failed at byte {offset}: {source}; check the image file (copy or download it again)"
    )]
    Read {
        /// Bytes read successfully before the failure.
        offset: u64,
        /// The decoder's or the OS's error.
        source: std::io::Error,
    },
    /// The image is empty.
    #[error("the image is empty: check the image file")]
    Empty,
    /// The stream ended before the size announced.
    #[error(
        "the image ended after {got} bytes but {expected} bytes were expected: the file is \
         truncated or damaged; copy or download it again"
    )]
    Truncated {
        /// Bytes read.
        got: u64,
        /// Bytes announced.
        expected: u64,
    },
    /// The stream went on past the size announced.
    #[error(
        "the image holds more than the {expected} bytes announced: the image and its size \
         (or its .bmap) do not belong together"
    )]
    Longer {
        /// Bytes announced.
        expected: u64,
    },
    /// A block-map range does not have the SHA-256 the block map gives.
    #[error(
        "bytes {offset}..{end} of the image do not match the block map (SHA-256 {found}, \
         expected {expected}): the image or its .bmap is damaged, or they do not belong together"
    )]
    RangeMismatch {
        /// First byte of the range.
        offset: u64,
        /// End of the range.
        end: u64,
        /// Expected SHA-256, hexadecimal.
        expected: String,
        /// Computed SHA-256, hexadecimal.
        found: String,
    },
    /// The whole image does not have the expected SHA-256.
    #[error(
        "the image's SHA-256 is {found} but {expected} was expected: the image is damaged or \
         is not the one the catalogue names; copy or download it again"
    )]
    ImageHash {
        /// Expected SHA-256, hexadecimal.
        expected: String,
        /// Computed SHA-256, hexadecimal.
        found: String,
    },
    /// The caller's final check refused the source.
    #[error("the image failed its final check: {0}")]
    Check(String),
}

/// Why one target failed.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// A request failed after its retries.
    #[error(
        "{op} at byte {offset} failed: {source}; the disk or card may be failing or was \
         removed: check it (or its reader) and deploy again"
    )]
    Io {
        /// `write`, `zero-out`, `read`.
        op: &'static str,
        /// Where.
        offset: u64,
        /// The OS error.
        source: std::io::Error,
    },
    /// Syncing written data failed.
    #[error(
        "syncing written data failed: {source}; the disk or card may be failing or was removed"
    )]
    Sync {
        /// The OS error.
        source: std::io::Error,
    },
    /// The image (of unknown size) turned out larger than the target.
    #[error(
        "the image does not fit: the target holds {} and the image goes on past byte {needed}; \
         choose a larger card or disk",
        bytes_and_gib(*target_size)
    )]
    TooSmall {
        /// Capacity in bytes.
        target_size: u64,
        /// Bytes the image needs at least.
        needed: u64,
    },
    /// The source failed; this target's partition table was not written.
    #[error("the image was not written completely, its partition table is left blank: {reason}")]
    SourceFailed {
        /// The source's error.
        reason: String,
    },
}

/// How verification was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyMode {
    /// Every byte of the image.
    Full,
    /// Every range of the block map.
    Mapped,
}

impl VerifyMode {
    /// The record's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Mapped => "mapped",
        }
    }
}

/// The read-back of one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Full or mapped.
    pub mode: VerifyMode,
    /// Image bytes read back and compared.
    pub bytes_checked: u64,
    /// Image bytes in blocks that differ.
    pub mismatched_bytes: u64,
    /// The differing ranges, merged, in order; the first [`MAX_MISMATCH_RANGES`].
    pub mismatches: Vec<ByteRange>,
}

impl Verification {
    /// True when every byte read back matched.
    pub fn passed(&self) -> bool {
        self.mismatched_bytes == 0
    }
}

/// How many mismatching ranges a [`Verification`] lists at most.
pub const MAX_MISMATCH_RANGES: usize = 64;

/// How one target ended.
#[derive(Debug)]
pub enum TargetOutcome {
    /// Written and read back identical.
    Passed,
    /// Written; verification was not asked for.
    Written,
    /// Written, but the read-back differs (see [`TargetReport::verification`]).
    Mismatch,
    /// Failed (the others went on).
    Failed(TargetError),
    /// Stopped by the cancel flag.
    Cancelled,
}

/// Time spent in each phase on one target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timings {
    /// Zeroing the partition-table area.
    pub prepare: Duration,
    /// Streaming the image (the same for every target: they go together).
    pub write: Duration,
    /// Syncs and the partition table.
    pub commit: Duration,
    /// Reading back.
    pub verify: Duration,
}

/// What happened on one target.
#[derive(Debug)]
pub struct TargetReport {
    /// The target's label.
    pub label: String,
    /// The verdict.
    pub outcome: TargetOutcome,
    /// Image bytes written as data (including zeros written because the device cannot zero
    /// them itself, and the zeroed partition-table area).
    pub bytes_written: u64,
    /// Image bytes of zeros the device zeroed itself (`BLKZEROOUT`).
    pub bytes_zeroed: u64,
    /// Image bytes of zeros skipped because the target was known to be zero.
    pub bytes_known_zero: u64,
    /// Image bytes outside the block map's ranges, not written.
    pub bytes_unmapped: u64,
    /// The device could not zero by itself: zeros were written.
    pub zero_out_fallback: bool,
    /// The read-back, when it ran to its end.
    pub verification: Option<Verification>,
    /// Time per phase.
    pub timings: Timings,
}

impl TargetReport {
    /// Image bytes not written as data.
    pub fn bytes_skipped(&self) -> u64 {
        self.bytes_zeroed + self.bytes_known_zero + self.bytes_unmapped
    }

    /// How the skipped bytes were handled, as the record names it (`zeroout`,
    /// `already_zero`, `unmapped`, joined with `+` when several apply).
    pub fn skipped_as(&self) -> Option<String> {
        let ways: Vec<&str> = [
            (self.bytes_zeroed, "zeroout"),
            (self.bytes_known_zero, "already_zero"),
            (self.bytes_unmapped, "unmapped"),
        ]
        .iter()
        .filter(|(bytes, _)| *bytes > 0)
        .map(|(_, name)| *name)
        .collect();
        (!ways.is_empty()).then(|| ways.join("+"))
    }

    /// True when the target was written and read back identical.
    pub fn passed(&self) -> bool {
        matches!(self.outcome, TargetOutcome::Passed)
    }

    /// The verification as the record stores it.
    pub fn verification_record(&self) -> Option<DeployVerification> {
        self.verification.as_ref().map(|v| DeployVerification {
            mode: v.mode.as_str().to_string(),
            bytes_checked: v.bytes_checked,
            passed: v.passed(),
            mismatches: v.mismatches.clone(),
        })
    }
}

/// What happened to the whole deployment.
#[derive(Debug)]
pub struct DeployReport {
    /// Bytes of decoded image read.
    pub image_size: u64,
    /// SHA-256 of the decoded image (when asked for and read to its end).
    pub image_sha256: Option<[u8; 32]>,
    /// Why the source could not be used; every target then failed.
    pub source_error: Option<SourceError>,
    /// The cancel flag stopped the deployment.
    pub cancelled: bool,
    /// Time spent streaming.
    pub write_time: Duration,
    /// One report per target, in the order given.
    pub targets: Vec<TargetReport>,
}

impl DeployReport {
    /// True when every target passed.
    pub fn all_passed(&self) -> bool {
        self.targets.iter().all(TargetReport::passed)
    }
}

/// The SHA-256 in lowercase hexadecimal.
pub fn hex(hash: &[u8]) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

fn bytes_and_gib(bytes: u64) -> String {
    format!(
        "{bytes} bytes ({:.2} GiB)",
        bytes as f64 / (1u64 << 30) as f64
    )
}

/// Per-target state shared by its threads while the deployment runs.
#[derive(Default)]
pub(crate) struct TargetState {
    failed: AtomicBool,
    error: Mutex<Option<TargetError>>,
    written: AtomicU64,
    zeroed: AtomicU64,
    known_zero: AtomicU64,
    zero_fallback: AtomicBool,
    /// Image bytes handled in the write phase (progress).
    done: AtomicU64,
}

impl TargetState {
    pub(crate) fn is_failed(&self) -> bool {
        self.failed.load(Ordering::SeqCst)
    }

    /// Records the first error; later ones are consequences.
    pub(crate) fn fail(&self, index: usize, error: TargetError, observer: &dyn DeployObserver) {
        if self.failed.swap(true, Ordering::SeqCst) {
            return;
        }
        observer.target_failed(index, &error);
        if let Ok(mut slot) = self.error.lock() {
            *slot = Some(error);
        }
    }

    fn take_error(&self) -> Option<TargetError> {
        self.error.lock().ok().and_then(|mut e| e.take())
    }
}

/// Everything the threads share.
pub(crate) struct Ctx<'a> {
    pub cfg: &'a WriteConfig,
    pub layout: Layout,
    pub targets: &'a [Target<'a>],
    pub states: Vec<TargetState>,
    pub observer: &'a dyn DeployObserver,
    pub cancel: &'a AtomicBool,
    /// Image size when known in advance.
    pub size: Option<u64>,
    /// Zeros for the partition-table area and for devices that cannot zero by themselves.
    pub zeros: AlignedBuffer,
}

/// Writes `source` to every target, then reads each back (see the module documentation).
///
/// `Err` means the deployment was refused before anything was written. Otherwise every
/// target has its own [`TargetReport`]: one failing target does not stop the others. The
/// cancel flag stops at the next request; cancelled targets are left without a partition
/// table.
pub fn write_image(
    source: Source<'_>,
    targets: &[Target<'_>],
    cfg: &WriteConfig,
    observer: &dyn DeployObserver,
    cancel: &AtomicBool,
) -> Result<DeployReport, WriteError> {
    let layout = preflight(&source, targets, cfg)?;
    let ctx = Ctx {
        cfg,
        layout,
        targets,
        states: targets.iter().map(|_| TargetState::default()).collect(),
        observer,
        cancel,
        size: source.size,
        zeros: AlignedBuffer::zeroed(cfg.request_size),
    };
    let mut timings = vec![Timings::default(); targets.len()];

    // 1. Blank the partition-table area of every target.
    std::thread::scope(|s| {
        for ((i, t), timing) in targets.iter().enumerate().zip(timings.iter_mut()) {
            let ctx = &ctx;
            s.spawn(move || {
                let started = Instant::now();
                ctx.observer
                    .phase(i, Phase::Prepare, Some(first_chunk_len(ctx, t)));
                if let Err(e) = prepare(ctx, t) {
                    ctx.states[i].fail(i, e, ctx.observer);
                }
                timing.prepare = started.elapsed();
            });
        }
    });

    // 2. Stream the image (all but its first chunk) to every target still standing.
    let Source {
        reader,
        ranges,
        expected_sha256,
        final_check,
        ..
    } = source;
    let range_hashes: Vec<(u64, u64, [u8; 32])> = {
        let mut v: Vec<_> = ranges
            .iter()
            .flatten()
            .filter(|r| r.len > 0)
            .filter_map(|r| r.sha256.map(|h| (r.offset, r.len, h)))
            .collect();
        v.sort_unstable_by_key(|r| r.0);
        v
    };
    let started = Instant::now();
    let mut streamed = stream::run(&ctx, reader, &range_hashes);
    let write_time = started.elapsed();
    for timing in &mut timings {
        timing.write = write_time;
    }

    // 3. Judge the source before any partition table is written.
    let mut source_error = streamed.error.take();
    if source_error.is_none() && streamed.complete {
        if let (Some(expected), Some(found)) = (expected_sha256, streamed.image_sha256)
            && expected != found
        {
            source_error = Some(SourceError::ImageHash {
                expected: hex(&expected),
                found: hex(&found),
            });
        }
        if source_error.is_none()
            && let Some(check) = final_check
        {
            let summary = SourceSummary {
                bytes: streamed.bytes,
                sha256: streamed.image_sha256,
            };
            if let Err(reason) = check(&summary) {
                source_error = Some(SourceError::Check(reason));
            }
        }
    }
    let cancelled = streamed.cancelled || cancel.load(Ordering::SeqCst);
    let commit_allowed = streamed.complete && source_error.is_none() && !cancelled;
    let image_size = streamed.bytes;

    // 4. Per target, independently: sync, write the first chunk, sync, read back.
    let source_reason = source_error.as_ref().map(ToString::to_string);
    let verifications: Vec<Mutex<Option<VerifyResult>>> =
        targets.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for ((i, t), timing) in targets.iter().enumerate().zip(timings.iter_mut()) {
            let (ctx, streamed, verifications, source_reason) =
                (&ctx, &streamed, &verifications, &source_reason);
            s.spawn(move || {
                let state = &ctx.states[i];
                if state.is_failed() {
                    return;
                }
                let started = Instant::now();
                ctx.observer.phase(i, Phase::Commit, None);
                let committed = commit(ctx, i, t, streamed.first.as_deref(), commit_allowed);
                timing.commit = started.elapsed();
                if let Err(e) = committed {
                    state.fail(i, e, ctx.observer);
                    return;
                }
                if let Some(reason) = source_reason {
                    let error = TargetError::SourceFailed {
                        reason: reason.clone(),
                    };
                    state.fail(i, error, ctx.observer);
                    return;
                }
                if !commit_allowed || !ctx.cfg.verify {
                    return;
                }
                let started = Instant::now();
                let prior = streamed.read_backs.get(i).cloned().unwrap_or_default();
                let result = verify::run(ctx, i, t.io, &streamed.hashes, image_size, &prior);
                timing.verify = started.elapsed();
                if let Ok(mut slot) = verifications[i].lock() {
                    *slot = Some(result);
                }
            });
        }
    });

    // 5. Reports.
    let unmapped = image_size - ctx.layout.covered_bytes(image_size).min(image_size);
    let reports = targets
        .iter()
        .enumerate()
        .zip(verifications)
        .zip(timings)
        .map(|(((i, t), verification), timings)| {
            let state = &ctx.states[i];
            let verification = verification.into_inner().ok().flatten();
            let (outcome, verification) = if let Some(error) = state.take_error() {
                (TargetOutcome::Failed(error), None)
            } else if cancelled {
                (TargetOutcome::Cancelled, None)
            } else {
                match verification {
                    None => (TargetOutcome::Written, None),
                    Some(Ok(v)) if v.passed() => (TargetOutcome::Passed, Some(v)),
                    Some(Ok(v)) => (TargetOutcome::Mismatch, Some(v)),
                    Some(Err(Some(error))) => (TargetOutcome::Failed(error), None),
                    Some(Err(None)) => (TargetOutcome::Cancelled, None),
                }
            };
            TargetReport {
                label: t.io.label(),
                outcome,
                bytes_written: state.written.load(Ordering::SeqCst),
                bytes_zeroed: state.zeroed.load(Ordering::SeqCst),
                bytes_known_zero: state.known_zero.load(Ordering::SeqCst),
                bytes_unmapped: unmapped,
                zero_out_fallback: state.zero_fallback.load(Ordering::SeqCst),
                verification,
                timings,
            }
        })
        .collect();
    Ok(DeployReport {
        image_size,
        image_sha256: streamed.image_sha256,
        source_error,
        cancelled,
        write_time,
        targets: reports,
    })
}

/// A finished read-back, or why it stopped (`None`: cancelled).
type VerifyResult = Result<Verification, Option<TargetError>>;

/// Checks everything that can be checked before writing and builds the layout.
fn preflight(
    source: &Source<'_>,
    targets: &[Target<'_>],
    cfg: &WriteConfig,
) -> Result<Layout, WriteError> {
    if targets.is_empty() {
        return Err(WriteError::NoTargets);
    }
    let block = cfg.verify_block;
    if block == 0 || !block.is_multiple_of(4096) {
        return Err(WriteError::BadConfig(format!(
            "verify_block ({block}) must be a positive multiple of 4096"
        )));
    }
    if cfg.request_size == 0 || !cfg.request_size.is_multiple_of(block) {
        return Err(WriteError::BadConfig(format!(
            "request_size ({}) must be a positive multiple of verify_block ({block})",
            cfg.request_size
        )));
    }
    if cfg.io_depth == 0 || cfg.buffers < cfg.io_depth + 2 {
        return Err(WriteError::BadConfig(format!(
            "io_depth ({}) must be at least 1 and buffers ({}) at least io_depth + 2",
            cfg.io_depth, cfg.buffers
        )));
    }
    let mut labels = std::collections::BTreeSet::new();
    let mut align = 512u64;
    for t in targets {
        let label = t.io.label();
        let sector = t.io.logical_sector_size();
        if !sector.is_power_of_two() || !(512..=4096).contains(&sector) {
            return Err(WriteError::UnsupportedSector {
                target: label,
                sector,
            });
        }
        align = align.max(u64::from(sector));
        if let Some(size) = source.size
            && t.io.size_bytes() < size
        {
            return Err(WriteError::TargetTooSmall {
                target: label,
                target_size: t.io.size_bytes(),
                image_size: size,
            });
        }
        if !labels.insert(label.clone()) {
            return Err(WriteError::DuplicateTarget { target: label });
        }
    }
    let regions = match &source.ranges {
        None => None,
        Some(ranges) => {
            let Some(size) = source.size else {
                return Err(WriteError::BadBlockMap {
                    reason: "a block map needs the image size".into(),
                });
            };
            let pairs: Vec<(u64, u64)> = ranges.iter().map(|r| (r.offset, r.len)).collect();
            Some(
                layout::regions_from_ranges(&pairs, align, size)
                    .map_err(|reason| WriteError::BadBlockMap { reason })?,
            )
        }
    };
    Ok(Layout {
        align,
        chunk: cfg.request_size as u64,
        block: block as u64,
        regions,
    })
}

/// Bytes of the partition-table area blanked on `t`: the first chunk, within the device.
fn first_chunk_len(ctx: &Ctx<'_>, t: &Target<'_>) -> u64 {
    let sector = u64::from(t.io.logical_sector_size());
    ctx.layout.chunk.min(t.io.size_bytes() / sector * sector)
}

/// Overwrites the partition-table area with zeros and syncs.
fn prepare(ctx: &Ctx<'_>, t: &Target<'_>) -> Result<(), TargetError> {
    let len = first_chunk_len(ctx, t) as usize;
    target::retried(ctx.cfg.retries, || {
        t.io.write_all_at(&ctx.zeros.as_slice()[..len], 0)
    })
    .map_err(|source| TargetError::Io {
        op: "write",
        offset: 0,
        source,
    })?;
    t.io.sync_data()
        .map_err(|source| TargetError::Sync { source })
}

/// Syncs the streamed data; when allowed, writes the held-back first chunk and syncs again.
fn commit(
    ctx: &Ctx<'_>,
    index: usize,
    t: &Target<'_>,
    first: Option<&stream::Chunk>,
    allowed: bool,
) -> Result<(), TargetError> {
    t.io.sync_data()
        .map_err(|source| TargetError::Sync { source })?;
    if !allowed {
        return Ok(());
    }
    if let Some(first) = first {
        stream::write_chunk(ctx, index, t, first, true)?;
        t.io.sync_data()
            .map_err(|source| TargetError::Sync { source })?;
    }
    Ok(())
}

/// Merges sorted ranges that touch.
fn merge_ranges(mut ranges: Vec<Range<u64>>) -> Vec<Range<u64>> {
    ranges.sort_unstable_by_key(|r| r.start);
    let mut out: Vec<Range<u64>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}
