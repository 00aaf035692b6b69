//! One wipe job: the parameters journaled before the first write, a session that runs the
//! passes and the verification from a checkpoint, and the record entry that results.

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use atelier_device::{BlockDevice, DirectDevice, SystemRoot};
use atelier_record::{
    Checkpoint, DeviceIdentity, IoErrorRange, IoOperation, NistCategory, Outcome, PassPattern,
    SanitizationEntry, SanitizationMethod, Technique, ToolInfo, Verification, VerificationMode,
    VerificationResult,
};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::engine::{self, BlockIo, EngineConfig, ErrorMap, PassObserver, Pipeline, Stop};
use crate::method::Method;
use crate::pattern::{PassContent, StreamCipherKind, StreamKey};
use crate::sampling;

/// Everything needed to run — or resume — a wipe of one device. Journaled before the first
/// write; it holds the pass keys, so a resumed job writes the same stream and the
/// verification can regenerate it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WipeParams {
    /// The job (and its sanitization entry) id.
    pub job_id: Uuid,
    /// The device as planned.
    pub device: DeviceIdentity,
    /// The method.
    pub method: Method,
    /// The patterns of the passes.
    pub passes: Vec<PassPattern>,
    /// Generator of random passes.
    pub cipher: StreamCipherKind,
    /// One key per pass (used by random passes).
    pub keys: Vec<StreamKey>,
    /// Requested verification.
    pub verification: VerificationMode,
    /// Bytes per request.
    pub request_size: u32,
    /// Seed of the sample positions of a sampled verification.
    pub sample_seed: u64,
    /// For a firmware erase: which one (the passes then hold the content it promises).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware: Option<crate::firmware::FirmwareParams>,
    /// Why this method (the policy's decision), copied into the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choice: Option<atelier_record::MethodChoice>,
    /// The hidden-area check made right before the wipe
    /// ([`crate::firmware::hidden_area_check`]), copied into the record; a hidden area that
    /// remains becomes an exception of the entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden_area: Option<atelier_record::HiddenAreaCheck>,
}

impl WipeParams {
    /// New parameters for wiping `device` with `method`: fresh keys from the OS.
    pub fn new(
        device: &BlockDevice,
        method: Method,
        verification: VerificationMode,
        request_size: u32,
    ) -> Result<Self, getrandom::Error> {
        let passes = method.passes();
        let keys = passes
            .iter()
            .map(|_| StreamKey::from_os())
            .collect::<Result<Vec<_>, _>>()?;
        let mut seed = [0u8; 8];
        getrandom::fill(&mut seed)?;
        Ok(Self {
            job_id: Uuid::now_v7(),
            device: device.identity(),
            method,
            passes,
            cipher: StreamCipherKind::best_for_this_cpu(),
            keys,
            verification,
            request_size,
            sample_seed: u64::from_le_bytes(seed),
            firmware: None,
            choice: None,
            hidden_area: None,
        })
    }

    fn content(&self, pass: usize) -> PassContent {
        PassContent::new(self.passes[pass], self.cipher, &self.keys[pass])
    }

    /// The record entry of this job before anything is written: outcome `INTERRUPTED` until
    /// it finishes, so a job killed at any point never reads as passed.
    pub fn initial_entry(&self, tool: ToolInfo) -> SanitizationEntry {
        let (category, method) = match &self.firmware {
            Some(fw) => (
                crate::policy::category(
                    fw.method,
                    crate::policy::MediaClass::from_identity(&self.device),
                ),
                SanitizationMethod {
                    name: fw.method.name().to_string(),
                    technique: fw.method.technique(),
                    passes: Vec::new(),
                    random_generator: None,
                    request_size_bytes: self.request_size,
                },
            ),
            None => (
                NistCategory::Clear,
                SanitizationMethod {
                    name: self.method.name().to_string(),
                    technique: Technique::Overwrite,
                    passes: self.passes.clone(),
                    random_generator: self
                        .passes
                        .contains(&PassPattern::Random)
                        .then(|| self.cipher.name().to_string()),
                    request_size_bytes: self.request_size,
                },
            ),
        };
        SanitizationEntry {
            id: self.job_id,
            device: self.device.clone(),
            category,
            method,
            verification: Verification::not_run(self.verification),
            started_at: Utc::now(),
            ended_at: None,
            duration_seconds: 0.0,
            bytes_written: 0,
            write_throughput_bytes_per_second: None,
            verify_throughput_bytes_per_second: None,
            errors: Vec::new(),
            tool,
            outcome: Outcome::Interrupted,
            outcome_detail: Some("started; not finished".into()),
            checkpoint: Some(Checkpoint {
                pass_index: 0,
                bytes_done: 0,
                at: Utc::now(),
            }),
            interruptions: Vec::new(),
            exceptions: self
                .hidden_area
                .iter()
                .filter_map(|h| hidden_area_exception(h, self.device.logical_sector_size))
                .collect(),
            choice: self.choice.clone(),
            hidden_area: self.hidden_area.clone(),
            firmware: None,
        }
    }
}

/// The exception a hidden area that remains puts on the entry, e.g. `hidden area of 2048
/// sectors (1.0 MiB) not erased`, with why when a restore was refused or failed
/// ([`crate::hidden_area::restore_note`]).
/// `None` when nothing is hidden or it was not examined (the entry's `hidden_area` says why).
pub fn hidden_area_exception(
    check: &atelier_record::HiddenAreaCheck,
    sector_size: u32,
) -> Option<String> {
    let hidden = check.hidden_sectors();
    if hidden == 0 {
        // Nothing known to be hidden, but a failed restore or an unreadable DCO leaves the
        // drive's true size unknown.
        return crate::hidden_area::unknown_size_exception(check);
    }
    let bytes = hidden.saturating_mul(u64::from(sector_size.max(1)));
    let size = if bytes >= 1 << 30 {
        format!("{:.1} GiB", bytes as f64 / f64::from(1u32 << 30))
    } else {
        format!("{:.1} MiB", bytes as f64 / f64::from(1u32 << 20))
    };
    let note = match check {
        atelier_record::HiddenAreaCheck::Measured {
            restore: Some(r), ..
        } => crate::hidden_area::restore_note(r),
        _ => None,
    };
    Some(match note {
        Some(note) => format!("hidden area of {hidden} sectors ({size}) not erased ({note})"),
        None => format!("hidden area of {hidden} sectors ({size}) not erased"),
    })
}

/// Progress of a job, journaled at every checkpoint. `pass_index == passes.len()` means every
/// pass is written and the verification is next.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobProgress {
    /// Pass in progress.
    pub pass_index: u32,
    /// Bytes of that pass written and synced.
    pub bytes_done: u64,
    /// Bytes written over all passes and sessions.
    pub bytes_written: u64,
    /// Seconds spent writing, over all sessions.
    pub write_seconds: f64,
    /// Errors found so far.
    pub errors: Vec<IoErrorRange>,
}

/// What the session tells the outside world while it runs.
pub trait WipeObserver: Sync {
    /// A new phase starts.
    fn phase(&self, phase: Phase, bytes_total: u64);
    /// Progress within the phase.
    fn progress(&self, bytes_done: u64, bytes_total: u64);
    /// Durable progress: record `progress` in the journal before returning.
    fn checkpoint(&self, progress: &JobProgress) -> Result<(), String>;
    /// Called after the last write is synced, right before the read-back (test hook).
    fn before_verify(&self) {}
}

/// A phase of a wipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Writing pass `index` (0-based) of `count`.
    Write {
        /// Pass index.
        index: u32,
        /// Number of passes.
        count: u32,
        /// What the pass writes.
        pattern: PassPattern,
    },
    /// The drive erases itself (a firmware command is running).
    Firmware {
        /// The method.
        method: crate::policy::PolicyMethod,
    },
    /// Reading back.
    Verify {
        /// How much is read.
        mode: VerificationMode,
    },
}

/// The end of a session.
#[derive(Debug, Clone)]
pub struct SessionEnd {
    /// Final verdict (or `Interrupted`).
    pub outcome: Outcome,
    /// Why it did not pass.
    pub detail: Option<String>,
    /// Progress at the end (the checkpoint to resume from when interrupted).
    pub progress: JobProgress,
    /// The verification, when it ran.
    pub verification: Option<Verification>,
    /// Seconds spent reading back in this session.
    pub verify_seconds: f64,
}

/// Runs `params` on `dev` from `from`. With `full_verify` the read-back covers the whole device
/// whatever was requested (a resumed job).
pub fn run_session(
    dev: &dyn BlockIo,
    params: &WipeParams,
    from: JobProgress,
    full_verify: bool,
    cfg: &EngineConfig,
    observer: &dyn WipeObserver,
    cancel: &AtomicBool,
) -> SessionEnd {
    let mut progress = from;
    let mut errors = ErrorMap::from_ranges(std::mem::take(&mut progress.errors));
    let pass_count = params.passes.len() as u32;

    while progress.pass_index < pass_count {
        let index = progress.pass_index;
        observer.phase(
            Phase::Write {
                index,
                count: pass_count,
                pattern: params.passes[index as usize],
            },
            dev.size_bytes(),
        );
        let content = params.content(index as usize);
        let started = Instant::now();
        let base = progress.clone();
        let pass_observer = PassCheckpoints {
            observer,
            base: &base,
            pass_index: index,
            started,
        };
        let pipe = Pipeline {
            dev,
            cfg,
            observer: &pass_observer,
            cancel,
        };
        let result = engine::write_pass(&pipe, &content, index, progress.bytes_done, &mut errors);
        progress.write_seconds += started.elapsed().as_secs_f64();
        match result {
            Ok(written) => {
                progress.bytes_written += written;
                progress.pass_index += 1;
                progress.bytes_done = 0;
                progress.errors = errors.ranges().to_vec();
                if let Err(reason) = observer.checkpoint(&progress) {
                    return stopped(progress, Stop::Aborted(reason), 0.0);
                }
            }
            Err((stop, synced)) => {
                progress.bytes_written += synced - progress.bytes_done;
                progress.bytes_done = synced;
                progress.errors = errors.ranges().to_vec();
                return stopped(progress, stop, 0.0);
            }
        }
    }

    observer.before_verify();
    let mode = if full_verify {
        VerificationMode::Full
    } else {
        params.verification
    };
    let sector = u64::from(dev.logical_sector_size());
    let total_sectors = dev.size_bytes() / sector;
    let ranges = sampling::ranges(mode, total_sectors, params.sample_seed);
    observer.phase(Phase::Verify { mode }, sampling::covered(&ranges) * sector);
    let content = params.content(params.passes.len() - 1);
    let started = Instant::now();
    let verify_observer = VerifyProgress { observer };
    let pipe = Pipeline {
        dev,
        cfg,
        observer: &verify_observer,
        cancel,
    };
    let read_back = engine::read_back(&pipe, &content, &ranges, &mut errors);
    let verify_seconds = started.elapsed().as_secs_f64();
    progress.errors = errors.ranges().to_vec();
    let read_back = match read_back {
        Ok(r) => r,
        Err(stop) => return stopped(progress, stop, verify_seconds),
    };

    let passed = read_back.mismatched_sectors == 0 && read_back.unreadable_sectors == 0;
    let verification = Verification {
        mode,
        result: if passed {
            VerificationResult::Passed
        } else {
            VerificationResult::Failed
        },
        bytes_checked: read_back.bytes_checked,
        coverage_percent: read_back.bytes_checked as f64 * 100.0 / dev.size_bytes().max(1) as f64,
        mismatched_sectors: read_back.mismatched_sectors,
        first_mismatch_lba: read_back.first_mismatch_lba,
        unreadable_sectors: read_back.unreadable_sectors,
    };
    let write_failures =
        errors.sectors_of(IoOperation::Write) + errors.sectors_of(IoOperation::Sync);
    let (outcome, detail) = if write_failures > 0 {
        (
            Outcome::Failed,
            Some(format!(
                "{write_failures} sectors could not be written or synced"
            )),
        )
    } else if !passed {
        (
            Outcome::Failed,
            Some(format!(
                "verification found {} sectors that differ (first at LBA {}) and {} unreadable",
                read_back.mismatched_sectors,
                read_back
                    .first_mismatch_lba
                    .map_or_else(|| "-".to_string(), |l| l.to_string()),
                read_back.unreadable_sectors
            )),
        )
    } else {
        (Outcome::Passed, None)
    };
    SessionEnd {
        outcome,
        detail,
        progress,
        verification: Some(verification),
        verify_seconds,
    }
}

fn stopped(progress: JobProgress, stop: Stop, verify_seconds: f64) -> SessionEnd {
    let (outcome, detail) = match stop {
        Stop::Cancelled => (
            Outcome::Interrupted,
            Some("stopped by the operator".to_string()),
        ),
        Stop::Aborted(reason) => (Outcome::Failed, Some(reason)),
    };
    SessionEnd {
        outcome,
        detail,
        progress,
        verification: None,
        verify_seconds,
    }
}

/// Turns a pass's checkpoints into job progress for the observer.
struct PassCheckpoints<'a> {
    observer: &'a dyn WipeObserver,
    base: &'a JobProgress,
    pass_index: u32,
    started: Instant,
}

impl PassObserver for PassCheckpoints<'_> {
    fn progress(&self, bytes_done: u64, bytes_total: u64) {
        self.observer.progress(bytes_done, bytes_total);
    }

    fn checkpoint(&self, bytes_done: u64, errors: &ErrorMap) -> Result<(), String> {
        self.observer.checkpoint(&JobProgress {
            pass_index: self.pass_index,
            bytes_done,
            bytes_written: self.base.bytes_written + (bytes_done - self.base.bytes_done),
            write_seconds: self.base.write_seconds + self.started.elapsed().as_secs_f64(),
            errors: errors.ranges().to_vec(),
        })
    }
}

/// The read-back's progress passed to the observer (a read-back has no checkpoints).
pub(crate) struct VerifyProgress<'a> {
    /// Who is told.
    pub(crate) observer: &'a dyn WipeObserver,
}

impl PassObserver for VerifyProgress<'_> {
    fn progress(&self, bytes_done: u64, bytes_total: u64) {
        self.observer.progress(bytes_done, bytes_total);
    }

    fn checkpoint(&self, _bytes_done: u64, _errors: &ErrorMap) -> Result<(), String> {
        Ok(())
    }
}

/// Brings `entry` up to date with durable `progress` (a checkpoint while running).
pub fn apply_checkpoint(entry: &mut SanitizationEntry, progress: &JobProgress) {
    entry.checkpoint = Some(Checkpoint {
        pass_index: progress.pass_index,
        bytes_done: progress.bytes_done,
        at: Utc::now(),
    });
    entry.bytes_written = progress.bytes_written;
    entry.errors = progress.errors.clone();
}

/// Writes the end of a session into `entry`. `session_seconds` is the wall time of the
/// session; `resumed_from` is set when this session resumed an interrupted job.
pub fn apply_session_end(entry: &mut SanitizationEntry, end: &SessionEnd, session_seconds: f64) {
    apply_checkpoint(entry, &end.progress);
    entry.duration_seconds += session_seconds;
    entry.outcome = end.outcome;
    entry.outcome_detail = end.detail.clone();
    entry.ended_at = Some(Utc::now());
    if end.progress.write_seconds > 0.0 && end.progress.bytes_written > 0 {
        entry.write_throughput_bytes_per_second =
            Some(end.progress.bytes_written as f64 / end.progress.write_seconds);
    }
    if let Some(v) = &end.verification {
        if end.verify_seconds > 0.0 && v.bytes_checked > 0 {
            entry.verify_throughput_bytes_per_second =
                Some(v.bytes_checked as f64 / end.verify_seconds);
        }
        entry.verification = v.clone();
    }
    if end.outcome != Outcome::Interrupted {
        entry.checkpoint = None;
    }
    // Belt and braces: PASSED needs a passed verification of the whole job.
    if entry.outcome == Outcome::Passed && entry.verification.result != VerificationResult::Passed {
        entry.outcome = Outcome::Failed;
        entry.outcome_detail = Some("verification did not pass".into());
    }
}

/// Why a device cannot be opened for its planned wipe.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// The device is no longer there.
    #[error("{name}: the device is gone")]
    Gone {
        /// Kernel name.
        name: String,
    },
    /// Its identity differs from the plan (a disk swapped in the same slot…).
    #[error("{name}: {field} changed since the plan (planned {planned}, now {now})")]
    IdentityChanged {
        /// Kernel name.
        name: String,
        /// The field that differs.
        field: &'static str,
        /// Planned value.
        planned: String,
        /// Value now.
        now: String,
    },
    /// Reading sysfs failed.
    #[error("{0}")]
    Discovery(#[from] atelier_device::DiscoveryError),
    /// The kernel refused the exclusive direct open (busy, read-only, gone…).
    #[error("{0}")]
    Open(#[from] atelier_device::OpenError),
}

/// The first field in which two identities differ, with both values as text (`-` for none).
pub fn identity_difference(
    planned: &DeviceIdentity,
    now: &DeviceIdentity,
) -> Option<(&'static str, String, String)> {
    fn text(value: &Option<String>) -> String {
        value.clone().unwrap_or_else(|| "-".into())
    }
    let (p, n) = (planned, now);
    let fields: [(&'static str, String, String); 8] = [
        ("serial", text(&p.serial), text(&n.serial)),
        ("model", text(&p.model), text(&n.model)),
        ("wwn", text(&p.wwn), text(&n.wwn)),
        (
            "capacity",
            p.size_bytes.to_string(),
            n.size_bytes.to_string(),
        ),
        (
            "logical sector size",
            p.logical_sector_size.to_string(),
            n.logical_sector_size.to_string(),
        ),
        (
            "loop backing file",
            text(&p.loop_backing_file),
            text(&n.loop_backing_file),
        ),
        (
            "transport",
            format!("{:?}", p.transport),
            format!("{:?}", n.transport),
        ),
        ("firmware", text(&p.firmware), text(&n.firmware)),
    ];
    fields.into_iter().find(|(_, a, b)| a != b)
}

/// Finds the planned device again among `devices`: by serial (names like `sdb` change between
/// boots), else by loop backing file, else by name.
pub fn find_planned<'a>(
    devices: &'a [BlockDevice],
    planned: &DeviceIdentity,
) -> Option<&'a BlockDevice> {
    if let Some(serial) = &planned.serial {
        return devices
            .iter()
            .find(|d| d.serial.as_ref() == Some(serial) && d.model == planned.model);
    }
    if let Some(file) = &planned.loop_backing_file {
        return devices.iter().find(|d| {
            d.loop_backing_file
                .as_ref()
                .map(|p| p.display().to_string())
                .as_ref()
                == Some(file)
        });
    }
    devices.iter().find(|d| d.name == planned.name)
}

/// Re-reads the device right before the first write, checks it is the planned one, and opens
/// it exclusively for direct I/O.
pub fn open_planned(
    root: &SystemRoot,
    planned: &DeviceIdentity,
) -> Result<(BlockDevice, DirectDevice), PrepareError> {
    let devices = atelier_device::discover(root)?;
    let device = find_planned(&devices, planned)
        .cloned()
        .ok_or_else(|| PrepareError::Gone {
            name: planned.name.clone(),
        })?;
    if let Some((field, planned_value, now)) = identity_difference(planned, &device.identity()) {
        return Err(PrepareError::IdentityChanged {
            name: planned.name.clone(),
            field,
            planned: planned_value,
            now,
        });
    }
    let direct = DirectDevice::open(&device.dev_path(), &device, true)?;
    Ok((device, direct))
}
