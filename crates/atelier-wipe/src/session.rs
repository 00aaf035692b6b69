//! The steps every firmware-erase session shares, whatever the command set (NVMe Format and
//! Sanitize, ATA Security Erase and SANITIZE, SCSI SANITIZE, eMMC secure erase):
//!
//! 1. an empty [`FirmwareErase`] section ([`section`]) that collects every command sent;
//! 2. the hashed sample sectors, read before the erase ([`Session::presample`], positions from
//!    [`presample_positions`]) — NIST SP 800-88 Rev. 1 §4.7 asks for a check that the old
//!    content is gone;
//! 3. the firmware phase reported to the observer ([`Session::start_erase`]);
//! 4. the durable checkpoint, then the verification ([`Session::checkpoint_and_verify`]): the
//!    NIST sampled read-back (≥ 1000 subsections, ≥ 10 % coverage, [`sampling`]) against the
//!    content the command promises, and the hashed sectors read again.
//!
//! The command-set modules keep what is specific to them: the commands, their checks and how
//! a running operation is watched.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use atelier_device::AlignedBuffer;
use atelier_record::{FirmwareErase, Outcome, PassPattern, Verification, VerificationResult};
use sha2::{Digest, Sha256};

use crate::engine::{self, BlockIo, EngineConfig, ErrorMap, Pipeline, Stop};
use crate::firmware::{PRESAMPLE_SECTORS, presample_positions};
use crate::job::{JobProgress, Phase, SessionEnd, VerifyProgress, WipeObserver, WipeParams};
use crate::pattern::PassContent;
use crate::policy::PolicyMethod;
use crate::sampling;

/// The end of a session stopped by the operator before anything was sent to erase.
const STOPPED_BEFORE_ERASE: &str = "stopped by the operator before the erase";

/// What the steps of a session return: `Ok` is the end after the verification, `Err` an end
/// before it (boxed: the early ends leave through `?`).
pub(crate) type Steps = Result<SessionEnd, Box<SessionEnd>>;

/// Lower-case hexadecimal of `bytes` (the SHA-256 of an identify page in the record).
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The record's name for the content an erase promises.
pub(crate) fn content_name(p: Option<PassPattern>) -> &'static str {
    match p {
        Some(PassPattern::Zero) => "zeros",
        Some(PassPattern::One) => "ones",
        _ => "unspecified",
    }
}

/// An empty firmware section for `command_set`, promising `expected`.
pub(crate) fn section(command_set: &str, expected: Option<PassPattern>) -> FirmwareErase {
    FirmwareErase {
        command_set: command_set.into(),
        identify_sha256: String::new(),
        namespace_identify_sha256: None,
        commands: Vec::new(),
        expected_content: content_name(expected).into(),
        presampled_sectors: 0,
        presampled_distinct: 0,
        presampled_unchanged: 0,
    }
}

/// A session's end without a verification.
pub(crate) fn end(
    outcome: Outcome,
    detail: impl Into<String>,
    progress: JobProgress,
) -> SessionEnd {
    SessionEnd {
        outcome,
        detail: Some(detail.into()),
        progress,
        verification: None,
        verify_seconds: 0.0,
    }
}

/// A FAILED end without a verification.
pub(crate) fn failed(detail: impl Into<String>, progress: JobProgress) -> SessionEnd {
    end(Outcome::Failed, detail, progress)
}

/// Ends the session FAILED, before the verification.
pub(crate) fn fail<T>(
    detail: impl Into<String>,
    progress: JobProgress,
) -> Result<T, Box<SessionEnd>> {
    Err(Box::new(failed(detail, progress)))
}

/// The progress of a firmware erase that took `seconds`: every pass of the job counts as done.
pub(crate) fn erase_progress(params: &WipeParams, seconds: f64) -> JobProgress {
    JobProgress {
        pass_index: params.passes.len() as u32,
        write_seconds: seconds,
        ..JobProgress::default()
    }
}

/// What a firmware-erase session runs on: the device, the job, and who watches.
pub(crate) struct Session<'a> {
    /// The device, held open exclusively.
    pub(crate) dev: &'a dyn BlockIo,
    /// The job's journaled parameters.
    pub(crate) params: &'a WipeParams,
    /// The read-back pipeline's settings.
    pub(crate) cfg: &'a EngineConfig,
    /// Progress, checkpoints and the verification hook.
    pub(crate) observer: &'a dyn WipeObserver,
    /// Set by the operator to stop.
    pub(crate) cancel: &'a AtomicBool,
}

impl<'a> Session<'a> {
    /// A session on `dev` for the job `params`.
    pub(crate) fn new(
        dev: &'a dyn BlockIo,
        params: &'a WipeParams,
        cfg: &'a EngineConfig,
        observer: &'a dyn WipeObserver,
        cancel: &'a AtomicBool,
    ) -> Self {
        Self {
            dev,
            params,
            cfg,
            observer,
            cancel,
        }
    }

    /// Runs `steps` on a new section for `command_set` promising `expected`: the public
    /// session functions' common frame.
    pub(crate) fn run(
        &self,
        command_set: &str,
        expected: Option<PassPattern>,
        steps: impl FnOnce(&Self, &mut FirmwareErase) -> Steps,
    ) -> (SessionEnd, FirmwareErase) {
        let mut section = section(command_set, expected);
        let end = steps(self, &mut section).unwrap_or_else(|early| *early);
        (end, section)
    }

    /// The operator asked to stop.
    pub(crate) fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// Ends the session INTERRUPTED when the operator asked to stop before the erase.
    pub(crate) fn stop_if_cancelled(&self) -> Result<(), Box<SessionEnd>> {
        if self.cancelled() {
            return Err(Box::new(end(
                Outcome::Interrupted,
                STOPPED_BEFORE_ERASE,
                JobProgress::default(),
            )));
        }
        Ok(())
    }

    /// Hashes the sample sectors before the erase and counts them in `section`. With
    /// `blank_proves_nothing` (an erase whose content is not specified: an erased block reads
    /// as 00h or FFh), sectors that were all 00h or all FFh do not count as distinct.
    pub(crate) fn presample(
        &self,
        expected: Option<PassPattern>,
        blank_proves_nothing: bool,
        section: &mut FirmwareErase,
    ) -> Result<Vec<Sample>, String> {
        let samples = presample(
            self.dev,
            expected,
            blank_proves_nothing,
            self.params.sample_seed,
        )?;
        section.presampled_sectors = samples.len() as u64;
        section.presampled_distinct = samples.iter().filter(|s| !s.was_expected).count() as u64;
        Ok(samples)
    }

    /// Tells the observer the firmware phase of `method` starts, at 0 bytes.
    pub(crate) fn start_erase(&self, method: PolicyMethod) {
        let size = self.dev.size_bytes();
        self.observer.phase(Phase::Firmware { method }, size);
        self.observer.progress(0, size);
    }

    /// Tells the observer the whole device is erased.
    pub(crate) fn erase_done(&self) {
        let size = self.dev.size_bytes();
        self.observer.progress(size, size);
    }

    /// Makes `progress` durable (a refusal ends the session FAILED with it), then verifies.
    pub(crate) fn checkpoint_and_verify(
        &self,
        samples: &[Sample],
        expected: Option<PassPattern>,
        section: &mut FirmwareErase,
        progress: JobProgress,
    ) -> SessionEnd {
        if let Err(reason) = self.observer.checkpoint(&progress) {
            return failed(reason, progress);
        }
        self.verify(samples, expected, section, progress)
    }

    /// The verification after a firmware erase (see [`verify_erase`]), after the observer's
    /// `before_verify` hook.
    pub(crate) fn verify(
        &self,
        samples: &[Sample],
        expected: Option<PassPattern>,
        section: &mut FirmwareErase,
        progress: JobProgress,
    ) -> SessionEnd {
        self.observer.before_verify();
        verify_erase(self, samples, expected, section, progress)
    }
}

/// One hashed sector.
pub(crate) struct Sample {
    lba: u64,
    /// SHA-256 of the sector before the erase.
    pub(crate) hash: [u8; 32],
    /// Its first 16 bytes.
    pub(crate) prefix: [u8; 16],
    /// Every byte the same (nothing to recover in it).
    pub(crate) uniform: bool,
    /// It already held what the erase promises (or, for an unspecified content, was blank):
    /// staying the same proves nothing.
    pub(crate) was_expected: bool,
}

fn read_sector(dev: &dyn BlockIo, lba: u64, buf: &mut AlignedBuffer) -> std::io::Result<()> {
    let sector = u64::from(dev.logical_sector_size());
    dev.read_exact_at(buf.as_mut_slice(), lba * sector)
}

fn is_pattern(data: &[u8], expected: Option<PassPattern>) -> bool {
    match expected {
        Some(PassPattern::Zero) => data.iter().all(|&b| b == 0),
        Some(PassPattern::One) => data.iter().all(|&b| b == 0xFF),
        _ => false,
    }
}

/// Hashes the sample sectors (see [`presample_positions`]) before a firmware erase.
fn presample(
    dev: &dyn BlockIo,
    expected: Option<PassPattern>,
    blank_proves_nothing: bool,
    seed: u64,
) -> Result<Vec<Sample>, String> {
    let sector = u64::from(dev.logical_sector_size());
    let total = dev.size_bytes() / sector;
    let mut buf = AlignedBuffer::zeroed(sector as usize);
    let mut samples = Vec::new();
    for lba in presample_positions(total, PRESAMPLE_SECTORS, seed) {
        read_sector(dev, lba, &mut buf).map_err(|e| {
            format!("nothing erased: sector {lba} could not be read before the erase: {e}")
        })?;
        let data = buf.as_slice();
        let blank = data.iter().all(|&b| b == 0) || data.iter().all(|&b| b == 0xFF);
        let mut prefix = [0u8; 16];
        prefix.copy_from_slice(&data[..16]);
        samples.push(Sample {
            lba,
            hash: Sha256::digest(data).into(),
            prefix,
            uniform: data.iter().all(|&b| b == data[0]),
            was_expected: is_pattern(data, expected) || (blank_proves_nothing && blank),
        });
    }
    Ok(samples)
}

/// After a firmware erase: the NIST sampled (or full) read-back against the promised content
/// when there is one, and the hashed sectors read again (none may still hold its old
/// content). Fills the section's `presampled_unchanged`; returns the session's end.
fn verify_erase(
    session: &Session<'_>,
    samples: &[Sample],
    expected: Option<PassPattern>,
    section: &mut FirmwareErase,
    mut progress: JobProgress,
) -> SessionEnd {
    let Session {
        dev,
        params,
        cfg,
        observer,
        cancel,
    } = *session;
    let sector = u64::from(dev.logical_sector_size());
    let total = dev.size_bytes() / sector;
    let mut buf = AlignedBuffer::zeroed(sector as usize);
    let mode = params.verification;
    let ranges = sampling::ranges(mode, total, params.sample_seed);
    let verify_started = Instant::now();
    let mut errors = ErrorMap::from_ranges(Vec::new());
    let read_back = match expected {
        Some(pattern) => {
            observer.phase(Phase::Verify { mode }, sampling::covered(&ranges) * sector);
            let content = PassContent::new(pattern, params.cipher, &params.keys[0]);
            let verify_observer = VerifyProgress { observer };
            let pipe = Pipeline {
                dev,
                cfg,
                observer: &verify_observer,
                cancel,
            };
            match engine::read_back(&pipe, &content, &ranges, &mut errors) {
                Ok(r) => Some(r),
                Err(stop) => {
                    progress.errors = errors.ranges().to_vec();
                    let (outcome, detail) = match stop {
                        Stop::Cancelled => (
                            Outcome::Interrupted,
                            "stopped by the operator during the verification".to_string(),
                        ),
                        Stop::Aborted(r) => (Outcome::Failed, r),
                    };
                    return SessionEnd {
                        outcome,
                        detail: Some(detail),
                        progress,
                        verification: None,
                        verify_seconds: verify_started.elapsed().as_secs_f64(),
                    };
                }
            }
        }
        None => None,
    };
    let mut unchanged = 0u64;
    let mut unreadable = 0u64;
    let mut not_pattern = 0u64;
    for s in samples {
        match read_sector(dev, s.lba, &mut buf) {
            Ok(()) => {
                let now: [u8; 32] = Sha256::digest(buf.as_slice()).into();
                if !s.was_expected && now == s.hash {
                    unchanged += 1;
                }
                if expected.is_some() && !is_pattern(buf.as_slice(), expected) {
                    not_pattern += 1;
                }
            }
            Err(_) => unreadable += 1,
        }
    }
    section.presampled_unchanged = unchanged;
    let verify_seconds = verify_started.elapsed().as_secs_f64();
    progress.errors = errors.ranges().to_vec();
    let rb = read_back.unwrap_or_default();
    let mismatched = rb.mismatched_sectors + not_pattern;
    let unreadable_total = rb.unreadable_sectors + unreadable;
    // The hashed sectors are re-read too, but most lie inside the sampled ranges: coverage
    // counts the read-back alone (or the hashed sectors when there is no pattern to check).
    let checked = if expected.is_some() {
        rb.bytes_checked
    } else {
        samples.len() as u64 * sector
    };
    let passed = mismatched == 0 && unreadable_total == 0 && unchanged == 0;
    let verification = Verification {
        mode,
        result: if passed {
            VerificationResult::Passed
        } else {
            VerificationResult::Failed
        },
        bytes_checked: checked,
        coverage_percent: checked as f64 * 100.0 / dev.size_bytes().max(1) as f64,
        mismatched_sectors: mismatched,
        first_mismatch_lba: rb.first_mismatch_lba,
        unreadable_sectors: unreadable_total,
    };
    let detail = if passed {
        None
    } else if unchanged > 0 {
        Some(format!(
            "{unchanged} of the {} sectors hashed before the erase still hold their old content",
            samples.len()
        ))
    } else {
        Some(format!(
            "verification found {mismatched} sectors that are not {} and {unreadable_total} unreadable",
            section.expected_content
        ))
    };
    SessionEnd {
        outcome: if passed {
            Outcome::Passed
        } else {
            Outcome::Failed
        },
        detail,
        progress,
        verification: Some(verification),
        verify_seconds,
    }
}
