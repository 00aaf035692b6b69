//! ATA SANITIZE DEVICE as a verified wipe: CRYPTO SCRAMBLE EXT, BLOCK ERASE EXT or OVERWRITE
//! EXT, polled with SANITIZE STATUS EXT until the drive says it is done.
//!
//! Follows ACS-3 §7.36 / ACS-4 §7.32 (the commands) and ACS-3 §4.17 (the Sanitize Device
//! feature set: an operation runs in the background after the command completes, goes on
//! after a power cycle, and ends either "completed without error" or in the Sanitize
//! Operation Failed state), and NIST SP 800-88 Rev. 1 §4.7 for the verification.
//!
//! The sequence:
//!
//! 1. IDENTIFY DEVICE: word 59 must advertise the feature set (bit 12) and the operation (bit
//!    13 crypto scramble, 15 block erase, 14 overwrite); otherwise nothing is sent. The page's
//!    SHA-256 goes in the record.
//! 2. SANITIZE STATUS EXT: a drive frozen by SANITIZE FREEZE LOCK EXT is refused; an operation
//!    still running from an interrupted wipe is waited for; a failed one is cleared (CLEAR
//!    SANITIZE OPERATION FAILED) or the wipe is refused.
//! 3. A few hundred sectors are hashed ([`crate::firmware`]), and the content of those that
//!    are not uniform is kept for step 6.
//! 4. The operation, with FAILURE MODE set (so a failure can be cleared and the drive wiped
//!    another way), OVERWRITE with the pattern 0000_0000h, one pass, no inversion.
//! 5. SANITIZE STATUS EXT every [`SanitizePolling::interval`]: the progress (LBA 15:0, n/65536)
//!    goes to the observer, whose bar shows the rate and the time left. A failed operation is
//!    cleared and the wipe ends FAILED; a drive that stops answering ends it FAILED with what to
//!    do (the operation resumes by itself after power-on). Then IDENTIFY again.
//! 6. The read-back: after OVERWRITE the NIST sampled read-back (≥ 10 %) must find the pattern
//!    (zeros) and no hashed sector its old content; after CRYPTO SCRAMBLE or BLOCK ERASE the
//!    content is vendor specific, so the sampled read-back (≥ 10 %) checks that every sector
//!    reads and that none holds the old content of any hashed sector.
//!
//! Every command is recorded (code, FEATURES, COUNT, ATA status, duration); of the status
//! polls, the first and the last of an operation are kept.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use atelier_device::AlignedBuffer;
use atelier_device::ata::{
    self, AtaData, AtaError, AtaIdentify, AtaPassThrough, SanitizeError, SanitizeErrorReason,
    SanitizeOp, SanitizeStatus,
};
use atelier_record::{FirmwareCommand, FirmwareErase, Outcome, PassPattern, VerificationResult};
use sha2::{Digest, Sha256};

use crate::BlockIo;
use crate::ata_security::{command_entry, identify};
use crate::engine::EngineConfig;
use crate::job::{JobProgress, Phase, SessionEnd, WipeObserver, WipeParams};
use crate::policy::PolicyMethod;
use crate::sampling;
use crate::session::{self, Sample, Session, Steps, erase_progress, fail, failed, hex};

/// The pattern OVERWRITE EXT writes: zeros, so the read-back can check every sampled sector.
pub const OVERWRITE_PATTERN: u32 = 0x0000_0000;

/// How often and how long the session polls SANITIZE STATUS EXT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SanitizePolling {
    /// Pause between two polls.
    pub interval: Duration,
    /// Longest wait for one operation (an overwrite of a large hard disk takes many hours).
    pub limit: Duration,
}

impl Default for SanitizePolling {
    /// Every 2 seconds, for at most 48 hours.
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(2),
            limit: Duration::from_secs(48 * 3600),
        }
    }
}

/// Why ATA SANITIZE cannot run on a drive (checked before anything is written).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SanitizeRefusal {
    /// Word 59 bit 12 clear.
    #[error(
        "the drive does not support the SANITIZE feature set (IDENTIFY DEVICE word 59 bit 12 is 0)"
    )]
    NotSupported,
    /// The operation's bit clear.
    #[error("the drive does not advertise {command} (IDENTIFY DEVICE {bit} is 0)")]
    OperationNotAdvertised {
        /// The command.
        command: &'static str,
        /// Its word-59 bit.
        bit: &'static str,
    },
    /// SANITIZE STATUS EXT says frozen.
    #[error(
        "the drive is sanitize-frozen (SANITIZE FREEZE LOCK EXT, sent by the BIOS): SANITIZE commands are refused until the drive loses power; switch the machine off and on (or unplug and replug the drive), then run the wipe again"
    )]
    Frozen,
    /// A failed operation the drive does not let go of.
    #[error(
        "the drive is in the Sanitize Operation Failed state from an earlier operation and refused to clear it; only a successful SANITIZE ends that state, and it blocks reads"
    )]
    FailedState,
}

/// The SANITIZE DEVICE operation of a policy method (`None` for the others).
pub fn operation(method: PolicyMethod) -> Option<SanitizeOp> {
    match method {
        PolicyMethod::AtaSanitizeCrypto => Some(SanitizeOp::CryptoScramble { failure_mode: true }),
        PolicyMethod::AtaSanitizeBlock => Some(SanitizeOp::BlockErase { failure_mode: true }),
        PolicyMethod::AtaSanitizeOverwrite => Some(SanitizeOp::Overwrite {
            pattern: OVERWRITE_PATTERN,
            passes: 1,
            invert: false,
            failure_mode: true,
        }),
        _ => None,
    }
}

/// Checks word 59 for `method`.
pub fn check_advertised(id: &AtaIdentify, method: PolicyMethod) -> Result<(), SanitizeRefusal> {
    let s = id.sanitize;
    if !s.supported {
        return Err(SanitizeRefusal::NotSupported);
    }
    let (ok, command, bit) = match method {
        PolicyMethod::AtaSanitizeCrypto => {
            (s.crypto_scramble, "CRYPTO SCRAMBLE EXT", "word 59 bit 13")
        }
        PolicyMethod::AtaSanitizeBlock => (s.block_erase, "BLOCK ERASE EXT", "word 59 bit 15"),
        _ => (s.overwrite, "OVERWRITE EXT", "word 59 bit 14"),
    };
    if ok {
        Ok(())
    } else {
        Err(SanitizeRefusal::OperationNotAdvertised { command, bit })
    }
}

fn op_name(op: SanitizeOp) -> &'static str {
    match op {
        SanitizeOp::Status { clear_failed: true } => "sanitize-status-ext-clear-failed",
        SanitizeOp::Status { .. } => "sanitize-status-ext",
        SanitizeOp::CryptoScramble { .. } => "sanitize-crypto-scramble-ext",
        SanitizeOp::BlockErase { .. } => "sanitize-block-erase-ext",
        SanitizeOp::Overwrite { .. } => "sanitize-overwrite-ext",
        SanitizeOp::FreezeLock => "sanitize-freeze-lock-ext",
        SanitizeOp::AntifreezeLock => "sanitize-antifreeze-lock-ext",
    }
}

/// Sends one SANITIZE DEVICE command and records it.
fn sanitize(
    dev: &mut dyn AtaPassThrough,
    op: SanitizeOp,
    log: &mut Vec<FirmwareCommand>,
) -> Result<SanitizeStatus, SanitizeError> {
    let cdb = ata::sanitize_cdb(op);
    let started = Instant::now();
    let reply = dev.pass_through(&cdb, AtaData::None, Duration::from_secs(30));
    let mut e = command_entry(op_name(op), &cdb, started);
    let result = match reply {
        Err(err) => {
            e.os_error = Some(err.to_string());
            Err(SanitizeError::Ata(AtaError::Os(err.to_string())))
        }
        Ok(reply) => {
            let decoded = ata::decode_sanitize_reply(&reply);
            e.status = Some(match &decoded {
                Ok(_) => ata::ata_registers(&reply.sense).map_or(0x50, |r| u16::from(r.status)),
                Err(SanitizeError::Refused { status, .. }) => u16::from(*status),
                Err(_) => u16::from(reply.status),
            });
            decoded
        }
    };
    log.push(e);
    result
}

/// How a wait on a running operation ended.
enum Waited {
    /// Completed without error.
    Done,
    /// The drive reported a failure (and whether it could be cleared).
    Failed { cleared: bool },
    /// The drive stopped answering, or answered nonsense.
    Lost(String),
    /// The operator stopped the wait.
    Cancelled,
    /// Longer than the limit.
    TimedOut,
}

/// Polls SANITIZE STATUS EXT until the running operation ends, reporting its progress.
fn wait(
    dev: &mut dyn AtaPassThrough,
    session: &Session<'_>,
    polling: &SanitizePolling,
    log: &mut Vec<FirmwareCommand>,
) -> Waited {
    let (observer, size) = (session.observer, session.dev.size_bytes());
    let started = Instant::now();
    let mut polls = 0u32;
    loop {
        if session.cancelled() {
            return Waited::Cancelled;
        }
        if started.elapsed() > polling.limit {
            return Waited::TimedOut;
        }
        std::thread::sleep(polling.interval);
        // Keep the first and the latest poll of the operation, not every one.
        if polls >= 2 {
            log.pop();
        }
        polls += 1;
        match sanitize(
            dev,
            SanitizeOp::Status {
                clear_failed: false,
            },
            log,
        ) {
            Ok(s) if s.in_progress => {
                observer.progress((s.fraction() * size as f64) as u64, size);
            }
            Ok(s) if s.completed_without_error => {
                observer.progress(size, size);
                return Waited::Done;
            }
            Ok(_) => {
                return Waited::Lost(
                    "SANITIZE STATUS EXT reports no operation in progress and no success".into(),
                );
            }
            Err(SanitizeError::Refused {
                reason: SanitizeErrorReason::OperationFailed,
                ..
            }) => {
                let cleared = sanitize(dev, SanitizeOp::Status { clear_failed: true }, log).is_ok();
                return Waited::Failed { cleared };
            }
            Err(e) => return Waited::Lost(e.to_string()),
        }
    }
}

/// Runs an ATA SANITIZE job (`params.firmware` names crypto scramble, block erase or
/// overwrite) on `dev` through `ata_dev`, then verifies it.
#[allow(clippy::too_many_arguments)]
pub fn run_ata_sanitize_session(
    dev: &dyn BlockIo,
    ata_dev: &mut dyn AtaPassThrough,
    params: &WipeParams,
    cfg: &EngineConfig,
    observer: &dyn WipeObserver,
    cancel: &AtomicBool,
    polling: &SanitizePolling,
) -> (SessionEnd, FirmwareErase) {
    let method = params
        .firmware
        .as_ref()
        .map_or(PolicyMethod::AtaSanitizeOverwrite, |f| f.method);
    let expected = (method == PolicyMethod::AtaSanitizeOverwrite).then_some(PassPattern::Zero);
    Session::new(dev, params, cfg, observer, cancel).run("ata", expected, |session, section| {
        ata_sanitize(session, ata_dev, polling, method, expected, section)
    })
}

/// The steps of [`run_ata_sanitize_session`]; `Err` is an end before the verification.
fn ata_sanitize(
    session: &Session<'_>,
    ata_dev: &mut dyn AtaPassThrough,
    polling: &SanitizePolling,
    method: PolicyMethod,
    expected: Option<PassPattern>,
    section: &mut FirmwareErase,
) -> Steps {
    let Session {
        dev,
        params,
        observer,
        cancel,
        ..
    } = *session;
    let nothing = |detail: String| Box::new(failed(detail, JobProgress::default()));
    let Some(op) = operation(method) else {
        return Err(nothing(format!(
            "nothing erased: {} is not run by this session",
            method.name()
        )));
    };
    let size = dev.size_bytes();

    // 1. IDENTIFY: the drive must advertise the operation.
    let (page, id) = identify(ata_dev, &mut section.commands)
        .map_err(|e| nothing(format!("nothing erased: {e}")))?;
    section.identify_sha256 = hex(&Sha256::digest(&page));
    check_advertised(&id, method).map_err(|r| nothing(format!("nothing erased: {r}")))?;

    // 2. The sanitize state: frozen, an operation still running, an old failure.
    match sanitize(
        ata_dev,
        SanitizeOp::Status {
            clear_failed: false,
        },
        &mut section.commands,
    ) {
        Ok(s) if s.frozen => {
            return Err(nothing(format!(
                "nothing erased: {}",
                SanitizeRefusal::Frozen
            )));
        }
        Ok(s) if s.in_progress => {
            // An interrupted wipe's operation goes on inside the drive: let it end first.
            observer.phase(Phase::Firmware { method }, size);
            match wait(ata_dev, session, polling, &mut section.commands) {
                Waited::Done | Waited::Failed { cleared: true } => {}
                Waited::Failed { cleared: false } => {
                    return Err(nothing(format!(
                        "nothing erased: {}",
                        SanitizeRefusal::FailedState
                    )));
                }
                Waited::Cancelled => {
                    return Err(Box::new(session::end(
                        Outcome::Interrupted,
                        "stopped by the operator while an earlier SANITIZE operation was still running in the drive",
                        JobProgress::default(),
                    )));
                }
                Waited::Lost(e) => {
                    return Err(nothing(format!(
                        "nothing erased by this job: the drive stopped answering while an earlier SANITIZE operation ran ({e})"
                    )));
                }
                Waited::TimedOut => {
                    return Err(nothing(
                        "nothing erased by this job: an earlier SANITIZE operation did not end in time".into(),
                    ));
                }
            }
        }
        Ok(_) => {}
        Err(SanitizeError::Refused {
            reason: SanitizeErrorReason::OperationFailed,
            ..
        }) => {
            if sanitize(
                ata_dev,
                SanitizeOp::Status { clear_failed: true },
                &mut section.commands,
            )
            .is_err()
            {
                return Err(nothing(format!(
                    "nothing erased: {}",
                    SanitizeRefusal::FailedState
                )));
            }
        }
        Err(e) => {
            return Err(nothing(format!(
                "nothing erased: SANITIZE STATUS EXT failed: {e}"
            )));
        }
    }

    // 3. Hash the sample sectors; keep the old content of the non-uniform ones.
    let samples = session
        .presample(expected, false, section)
        .map_err(nothing)?;
    let old = old_contents(&samples);
    session.stop_if_cancelled()?;

    // 4. The operation.
    session.start_erase(method);
    let started = Instant::now();
    let command = method.command();
    if let Err(e) = sanitize(ata_dev, op, &mut section.commands) {
        return Err(nothing(format!(
            "nothing erased: the drive refused {command}: {e}"
        )));
    }

    // 5. Poll until it ends.
    let waited = wait(ata_dev, session, polling, &mut section.commands);
    let progress = erase_progress(params, started.elapsed().as_secs_f64());
    let detail = match waited {
        Waited::Done => None,
        Waited::Failed { cleared } => {
            let state = if cleared {
                "the drive's failure state was cleared"
            } else {
                "the drive stays in the Sanitize Operation Failed state (reads are refused) until a SANITIZE succeeds"
            };
            Some(format!(
                "{command} failed inside the drive (SANITIZE DEVICE ERROR REASON 01h); the data may be partly erased; {state}; wipe the drive again, with another method if this one fails again"
            ))
        }
        Waited::Lost(e) => Some(format!(
            "the drive stopped answering during {command} ({e}); the operation goes on by itself once the drive is powered again: reconnect or power-cycle it, then run the wipe again (it waits for the operation, then sanitizes and verifies)"
        )),
        Waited::Cancelled => {
            return Err(Box::new(session::end(
                Outcome::Interrupted,
                format!(
                    "stopped by the operator while the drive ran {command}; SANITIZE cannot be stopped: the drive finishes it by itself, even after a power cycle; run the wipe again to verify"
                ),
                progress,
            )));
        }
        Waited::TimedOut => Some(format!(
            "{command} did not end within {} hours; the drive goes on with it: run the wipe again later",
            polling.limit.as_secs() / 3600
        )),
    };
    if let Some(detail) = detail {
        return fail(detail, progress);
    }
    if let Err(e) = identify(ata_dev, &mut section.commands) {
        return fail(
            format!("IDENTIFY DEVICE failed after {command}: {e}"),
            progress,
        );
    }

    // 6. Verify.
    let mut end = session.checkpoint_and_verify(&samples, expected, section, progress);
    if expected.is_none() && end.outcome == Outcome::Passed {
        read_back_unspecified(dev, &old, params, observer, cancel, &mut end);
    }
    Ok(end)
}

/// The old content of the hashed sectors that are not uniform (a uniform sector carries
/// nothing to recover, and an erase may leave the same uniform value): the SHA-256 of each,
/// and their first 16 bytes so the read-back hashes only the sectors that could match.
struct OldContent {
    prefixes: HashSet<[u8; 16]>,
    hashes: HashSet<[u8; 32]>,
}

impl OldContent {
    fn holds(&self, sector: &[u8]) -> bool {
        let mut prefix = [0u8; 16];
        prefix.copy_from_slice(&sector[..16]);
        self.prefixes.contains(&prefix)
            && self
                .hashes
                .contains(&<[u8; 32]>::from(Sha256::digest(sector)))
    }
}

fn old_contents(samples: &[Sample]) -> OldContent {
    let non_uniform = || samples.iter().filter(|s| !s.uniform);
    OldContent {
        prefixes: non_uniform().map(|s| s.prefix).collect(),
        hashes: non_uniform().map(|s| s.hash).collect(),
    }
}

/// After CRYPTO SCRAMBLE or BLOCK ERASE: reads the NIST sampled ranges (≥ 10 %), and fails
/// when a sector cannot be read or holds the old content of a hashed sector. Updates `end`'s
/// verification with what it read.
fn read_back_unspecified(
    dev: &dyn BlockIo,
    old: &OldContent,
    params: &WipeParams,
    observer: &dyn WipeObserver,
    cancel: &AtomicBool,
    end: &mut SessionEnd,
) {
    let started = Instant::now();
    let sector = u64::from(dev.logical_sector_size());
    let total = dev.size_bytes() / sector;
    let ranges = sampling::sampled_ranges(total, params.sample_seed);
    let covered = sampling::covered(&ranges) * sector;
    observer.phase(
        Phase::Verify {
            mode: atelier_record::VerificationMode::Sampled,
        },
        covered,
    );
    let chunk_sectors = (1u64 << 20) / sector;
    let mut buf = AlignedBuffer::zeroed((chunk_sectors * sector) as usize);
    let (mut done, mut unreadable, mut old_found) = (0u64, 0u64, 0u64);
    let mut first_bad = None;
    for r in &ranges {
        let mut at = r.first;
        while at < r.end() {
            if cancel.load(Ordering::Relaxed) {
                end.outcome = Outcome::Interrupted;
                end.detail = Some("stopped by the operator during the verification".into());
                return;
            }
            let n = chunk_sectors.min(r.end() - at);
            let bytes = (n * sector) as usize;
            match dev.read_exact_at(&mut buf.as_mut_slice()[..bytes], at * sector) {
                Ok(()) => {
                    for (i, s) in buf.as_slice()[..bytes].chunks(sector as usize).enumerate() {
                        if old.holds(s) {
                            old_found += 1;
                            first_bad.get_or_insert(at + i as u64);
                        }
                    }
                }
                Err(_) => {
                    unreadable += n;
                    first_bad.get_or_insert(at);
                }
            }
            at += n;
            done += n * sector;
            observer.progress(done, covered);
        }
    }
    end.verify_seconds += started.elapsed().as_secs_f64();
    let Some(v) = end.verification.as_mut() else {
        return;
    };
    v.bytes_checked = done;
    v.coverage_percent = done as f64 * 100.0 / dev.size_bytes().max(1) as f64;
    v.mismatched_sectors += old_found;
    v.unreadable_sectors += unreadable;
    if v.first_mismatch_lba.is_none() {
        v.first_mismatch_lba = first_bad;
    }
    if old_found > 0 || unreadable > 0 {
        v.result = VerificationResult::Failed;
        end.outcome = Outcome::Failed;
        end.detail = Some(format!(
            "the sampled read-back found {old_found} sectors still holding the content of a sector hashed before the erase and {unreadable} unreadable"
        ));
    }
}
