//! NVMe Sanitize: the drive purges every block of the NVM subsystem itself — Crypto Erase,
//! Block Erase or Overwrite — and the bench checks the result.
//!
//! Follows the NVM Express Base Specification 2.0 §5.24 (Sanitize command; 2.1 §5.1.22,
//! Figure 372), §5.16.1.25 (Sanitize Status log page, LID 81h; 2.1 Figure 291) and §8.21
//! (sanitize operations; 2.1 §8.1.24: state machine, failure mode, restrictions during an
//! operation), and NIST SP 800-88 Rev. 1 §4.7 for the verification.
//!
//! [`run_sanitize_session`], shaped like [`run_format_session`](crate::firmware::run_format_session):
//!
//! 1. Identify Controller and Namespace right before (SHA-256 of both pages in the record);
//!    the action must be advertised in SANICAP, whatever the plan said.
//! 2. The Sanitize Status log is read first: an operation already in progress with the same
//!    action (a drive that lost power during an earlier session resumes it by itself) is
//!    waited for instead of being started again.
//! 3. A few hundred pseudo-random sectors plus the first and the last are hashed.
//! 4. Sanitize is sent in *unrestricted completion mode* (AUSE = 1), so that a failed
//!    operation can be left with Exit Failure Mode. Crypto and block erase deallocate
//!    afterwards (NDAS = 0): reads return what DLFEAT promises. Overwrite writes one pass of
//!    zeros and asks the drive not to deallocate (NDAS = 1, unless SANICAP.NDI forbids it), so
//!    the zeros themselves are read back.
//! 5. The command only *starts* the operation: the log is polled, its SPROG gives the progress
//!    and the estimated-time fields an ETA. SSTAT "failed" → Exit Failure Mode is sent and the
//!    job ends FAILED; the controller no longer answering (power loss) → the job ends
//!    INTERRUPTED: the drive resumes the operation when powered again, and a resumed job
//!    waits for it and verifies.
//! 6. NIST sampled read-back (≥ 10 %) against the promised content, and the hashed sectors:
//!    none may still hold its old content.
//!
//! Every command sent is recorded (opcode, NSID, CDW10/11, status, duration); of the status
//! polls, the first and the last (and any that failed) are kept.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use atelier_device::nvme::{
    self, DeallocatedRead, IdentifyController, IdentifyNamespace, NvmeAdmin, NvmeError,
    SanitizeAction, SanitizeOptions, SanitizeState, SanitizeStatus, SentCommand,
};
use atelier_record::{FirmwareCommand, FirmwareErase, Outcome, PassPattern};
use sha2::{Digest, Sha256};

use crate::engine::{BlockIo, EngineConfig};
use crate::firmware::{FirmwareParams, presample, verify_erase};
use crate::job::{JobProgress, Phase, SessionEnd, WipeObserver, WipeParams};
use crate::policy::PolicyMethod;

/// How the session waits for the drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SanitizePolling {
    /// Time between two reads of the Sanitize Status log.
    pub interval: Duration,
    /// Longest wait for the operation (an overwrite of a large drive takes hours).
    pub timeout: Duration,
    /// How long the controller may stay silent (reset, power loss) before the session stops
    /// watching and ends INTERRUPTED.
    pub silence: Duration,
}

impl Default for SanitizePolling {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(2),
            timeout: Duration::from_secs(24 * 3600),
            silence: Duration::from_secs(120),
        }
    }
}

/// One status poll as the operator sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SanitizeTick {
    /// SPROG in percent.
    pub percent: f64,
    /// Time since the Sanitize command (or since the session found the operation running).
    pub elapsed: Duration,
    /// The drive's own estimate for the whole operation (Sanitize Status log bytes 8–31).
    pub estimate: Option<Duration>,
    /// Time left: the drive's estimate minus the elapsed time, or, without an estimate (or
    /// past it), extrapolated from the progress so far.
    pub remaining: Option<Duration>,
}

/// The Sanitize action of a policy method (`None` for the other methods).
pub fn sanitize_action(method: PolicyMethod) -> Option<SanitizeAction> {
    match method {
        PolicyMethod::NvmeSanitizeCrypto => Some(SanitizeAction::CryptoErase),
        PolicyMethod::NvmeSanitizeBlock => Some(SanitizeAction::BlockErase),
        PolicyMethod::NvmeSanitizeOverwrite => Some(SanitizeAction::Overwrite),
        _ => None,
    }
}

/// The Sanitize command the bench sends for `action` on a controller whose SANICAP.NDI is
/// `no_deallocate_inhibited` (see the module documentation).
pub fn sanitize_command(
    action: SanitizeAction,
    no_deallocate_inhibited: bool,
) -> nvme::AdminCommand {
    let overwrite = action == SanitizeAction::Overwrite;
    nvme::sanitize(
        action,
        SanitizeOptions {
            allow_unrestricted_exit: true,
            overwrite_passes: if overwrite { 1 } else { 0 },
            invert_between_passes: false,
            no_deallocate: overwrite && !no_deallocate_inhibited,
            pattern: 0,
        },
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn record(sent: &SentCommand) -> FirmwareCommand {
    FirmwareCommand {
        name: sent.command.name().to_string(),
        opcode: sent.command.opcode,
        nsid: Some(sent.command.nsid),
        cdw10: sent.command.cdw10(),
        cdw11: sent.command.cdw11(),
        status: sent.status,
        os_error: sent.os_error.clone(),
        duration_seconds: sent.duration.as_secs_f64(),
    }
}

fn advertised(id: &IdentifyController, action: SanitizeAction) -> Result<(), String> {
    let (ok, bit) = match action {
        SanitizeAction::CryptoErase => (id.sanitize.crypto_erase, "SANICAP.CES, bit 0"),
        SanitizeAction::BlockErase => (id.sanitize.block_erase, "SANICAP.BES, bit 1"),
        SanitizeAction::Overwrite => (id.sanitize.overwrite, "SANICAP.OWS, bit 2"),
        SanitizeAction::ExitFailureMode => (true, ""),
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "nothing erased: the drive does not advertise this Sanitize operation ({bit} is 0)"
        ))
    }
}

fn deallocated(ns: &IdentifyNamespace) -> Option<PassPattern> {
    match ns.deallocated_read {
        DeallocatedRead::Zeros => Some(PassPattern::Zero),
        DeallocatedRead::Ones => Some(PassPattern::One),
        DeallocatedRead::NotReported => None,
    }
}

fn content_name(p: Option<PassPattern>) -> &'static str {
    match p {
        Some(PassPattern::Zero) => "zeros",
        Some(PassPattern::One) => "ones",
        _ => "unspecified",
    }
}

fn end(outcome: Outcome, detail: String, progress: JobProgress) -> SessionEnd {
    SessionEnd {
        outcome,
        detail: Some(detail),
        progress,
        verification: None,
        verify_seconds: 0.0,
    }
}

/// Runs an NVMe Sanitize job on `dev` (the namespace, held open exclusively) through `ctrl`
/// (its controller), then verifies it. `on_tick` is called at every status poll with the
/// progress and the ETA. Returns the session's end and the firmware section of the record.
#[allow(clippy::too_many_arguments)]
pub fn run_sanitize_session(
    dev: &dyn BlockIo,
    ctrl: &mut dyn NvmeAdmin,
    nsid: u32,
    params: &WipeParams,
    cfg: &EngineConfig,
    observer: &dyn WipeObserver,
    cancel: &AtomicBool,
    polling: &SanitizePolling,
    on_tick: &mut dyn FnMut(&SanitizeTick),
) -> (SessionEnd, FirmwareErase) {
    let fw = params.firmware.clone().unwrap_or(FirmwareParams {
        method: PolicyMethod::NvmeSanitizeCrypto,
    });
    let mut section = FirmwareErase {
        command_set: "nvme".into(),
        identify_sha256: String::new(),
        namespace_identify_sha256: None,
        commands: Vec::new(),
        expected_content: "unspecified".into(),
        presampled_sectors: 0,
        presampled_distinct: 0,
        presampled_unchanged: 0,
    };
    let failed = |section: FirmwareErase, detail: String| {
        (
            end(Outcome::Failed, detail, JobProgress::default()),
            section,
        )
    };
    let Some(action) = sanitize_action(fw.method) else {
        return failed(
            section,
            format!(
                "nothing erased: {} is not run by the NVMe Sanitize session",
                fw.method.name()
            ),
        );
    };

    // 1. Identify, right before: the hashes go in the record; the action must be advertised.
    let mut page = vec![0u8; nvme::IDENTIFY_LEN];
    let (r, sent) = nvme::run(
        ctrl,
        &nvme::identify(nvme::CNS_CONTROLLER, 0),
        Some(&mut page),
        Duration::from_secs(10),
    );
    section.commands.push(record(&sent));
    if let Err(e) = r {
        return failed(section, format!("nothing erased: {e}"));
    }
    section.identify_sha256 = hex(&Sha256::digest(&page));
    let id = match IdentifyController::parse(&page) {
        Ok(id) => id,
        Err(e) => return failed(section, format!("nothing erased: {e}")),
    };
    let mut ns_page = vec![0u8; nvme::IDENTIFY_LEN];
    let (r, sent) = nvme::run(
        ctrl,
        &nvme::identify(nvme::CNS_NAMESPACE, nsid),
        Some(&mut ns_page),
        Duration::from_secs(10),
    );
    section.commands.push(record(&sent));
    if let Err(e) = r {
        return failed(section, format!("nothing erased: {e}"));
    }
    section.namespace_identify_sha256 = Some(hex(&Sha256::digest(&ns_page)));
    let ns = match IdentifyNamespace::parse(&ns_page) {
        Ok(ns) => ns,
        Err(e) => return failed(section, format!("nothing erased: {e}")),
    };
    if let Err(why) = advertised(&id, action) {
        return failed(section, why);
    }
    let sector = u64::from(dev.logical_sector_size());
    if ns.block_size() != sector || ns.size_blocks * sector != dev.size_bytes() {
        return failed(
            section,
            format!(
                "nothing erased: Identify Namespace ({} blocks of {} bytes) does not match the block device ({} bytes, {sector}-byte sectors)",
                ns.size_blocks,
                ns.block_size(),
                dev.size_bytes()
            ),
        );
    }
    let cmd = sanitize_command(action, id.sanitize.no_deallocate_inhibited);
    let no_deallocate = cmd.cdw10() & (1 << 9) != 0;
    // Overwrite without deallocation: the pattern (zeros) is read back. Otherwise the blocks
    // are deallocated and read as DLFEAT says.
    let mut expected = if no_deallocate {
        Some(PassPattern::Zero)
    } else {
        deallocated(&ns)
    };
    section.expected_content = content_name(expected).into();

    // 2. What the drive is doing now.
    let (r, sent) = poll(ctrl);
    section.commands.push(record(&sent));
    let before = match r {
        Ok(s) => s,
        Err(e) => return failed(section, format!("nothing erased: {e}")),
    };
    let adopt = before.state == SanitizeState::InProgress;
    if adopt && before.last_action() != Some(action) {
        return failed(
            section,
            format!(
                "nothing erased by this session: another sanitize operation is in progress on the drive (SCDW10 {:#x}, {:.0} %); wait for it to finish, then run the wipe again",
                before.last_cdw10,
                before.percent()
            ),
        );
    }

    // 3. Hash the sample sectors (impossible while an operation runs: I/O is refused).
    let samples = if adopt {
        Vec::new()
    } else {
        match presample(dev, expected, params.sample_seed) {
            Ok(s) => s,
            Err(e) => return failed(section, e),
        }
    };
    section.presampled_sectors = samples.len() as u64;
    section.presampled_distinct = samples.iter().filter(|s| !s.was_expected).count() as u64;
    if cancel.load(Ordering::Relaxed) && !adopt {
        return (
            end(
                Outcome::Interrupted,
                "stopped by the operator before the erase".into(),
                JobProgress::default(),
            ),
            section,
        );
    }

    // 4. Sanitize (or the operation already running).
    observer.phase(Phase::Firmware { method: fw.method }, dev.size_bytes());
    observer.progress(0, dev.size_bytes());
    let started = Instant::now();
    if !adopt {
        let (r, sent) = nvme::run(ctrl, &cmd, None, Duration::from_secs(60));
        section.commands.push(record(&sent));
        if let Err(e) = r {
            // A Sanitize that does not complete successfully starts nothing and alters no
            // user data (Base 2.1 §5.1.22).
            return failed(
                section,
                format!("nothing erased: the drive refused the Sanitize command: {e}"),
            );
        }
    }
    let watched_cdw10 = if adopt {
        before.last_cdw10
    } else {
        cmd.cdw10()
    };

    // 5. Watch the operation.
    let size = dev.size_bytes();
    let ndmm = watched_cdw10 & (1 << 9) != 0;
    let mut estimate = before.estimate_seconds(action, 1, ndmm);
    let mut last_contact = Instant::now();
    let mut first_poll_recorded = false;
    let mut silence_recorded = false;
    let mut last_ok: Option<SentCommand> = None;
    let progress_at = |seconds: f64| JobProgress {
        pass_index: params.passes.len() as u32,
        write_seconds: seconds,
        ..JobProgress::default()
    };
    let done = loop {
        let (r, sent) = poll(ctrl);
        match r {
            Ok(s) => {
                last_contact = Instant::now();
                silence_recorded = false;
                if !first_poll_recorded {
                    section.commands.push(record(&sent));
                    first_poll_recorded = true;
                } else {
                    last_ok = Some(sent);
                }
                if s.state != SanitizeState::InProgress {
                    break s;
                }
                estimate = s.estimate_seconds(action, 1, ndmm).or(estimate);
                let elapsed = started.elapsed();
                let fraction = f64::from(s.progress) / 65536.0;
                let estimate_d = estimate.map(Duration::from_secs);
                let remaining = match estimate_d {
                    Some(e) if e > elapsed => Some(e - elapsed),
                    _ if fraction > 0.0 => Some(elapsed.mul_f64((1.0 - fraction) / fraction)),
                    _ => None,
                };
                on_tick(&SanitizeTick {
                    percent: s.percent(),
                    elapsed,
                    estimate: estimate_d,
                    remaining,
                });
                observer.progress((fraction * size as f64) as u64, size);
            }
            Err(e) => {
                // One record per silence, not one per retry.
                if !silence_recorded {
                    section.commands.push(record(&sent));
                    silence_recorded = true;
                }
                if last_contact.elapsed() >= polling.silence {
                    return (
                        end(
                            Outcome::Interrupted,
                            format!(
                                "the controller stopped answering during the sanitize ({e}); a drive that loses power resumes its sanitize when powered again — run `atelier wipe --resume` to wait for it and verify"
                            ),
                            progress_at(started.elapsed().as_secs_f64()),
                        ),
                        section,
                    );
                }
            }
        }
        if cancel.load(Ordering::Relaxed) {
            if let Some(s) = last_ok.take() {
                section.commands.push(record(&s));
            }
            return (
                end(
                    Outcome::Interrupted,
                    "stopped watching at the operator's request; the drive goes on with its sanitize by itself (it cannot be stopped) — run `atelier wipe --resume` to wait for it and verify".into(),
                    progress_at(started.elapsed().as_secs_f64()),
                ),
                section,
            );
        }
        if started.elapsed() >= polling.timeout {
            if let Some(s) = last_ok.take() {
                section.commands.push(record(&s));
            }
            return failed(
                section,
                format!(
                    "the sanitize did not finish within {} s; the drive may still be working: run the wipe again later",
                    polling.timeout.as_secs()
                ),
            );
        }
        std::thread::sleep(polling.interval);
    };
    if let Some(s) = last_ok.take() {
        section.commands.push(record(&s));
    }
    let erase_seconds = started.elapsed().as_secs_f64();
    let progress = progress_at(erase_seconds);

    match done.state {
        SanitizeState::Completed | SanitizeState::CompletedNoDeallocate => {}
        SanitizeState::Failed => {
            // Failure mode: only Sanitize and admin reads are allowed; leave it so the drive
            // is usable again, and say plainly that nothing is proven erased.
            let exit = nvme::sanitize(SanitizeAction::ExitFailureMode, SanitizeOptions::default());
            let (r, sent) = nvme::run(ctrl, &exit, None, Duration::from_secs(60));
            section.commands.push(record(&sent));
            let exit_said = match r {
                Ok(_) => "the bench sent Exit Failure Mode and the drive left failure mode".into(),
                Err(e) => format!(
                    "Exit Failure Mode was refused ({e}); the drive stays in sanitize failure mode until a sanitize succeeds"
                ),
            };
            return (
                end(
                    Outcome::Failed,
                    format!(
                        "the drive reported that the sanitize failed (Sanitize Status SSTAT = 011b); {exit_said}. The data may be only partly erased: the drive is NOT sanitized — run the wipe again, or retire the drive"
                    ),
                    progress,
                ),
                section,
            );
        }
        other => {
            return failed(
                section,
                format!(
                    "the Sanitize Status log does not show the operation ({other:?}); nothing is proven erased"
                ),
            );
        }
    }
    if done.last_cdw10 != watched_cdw10 {
        return failed(
            section,
            format!(
                "the Sanitize Status log reports another operation (SCDW10 {:#x}, sent {watched_cdw10:#x}); nothing is proven erased",
                done.last_cdw10
            ),
        );
    }
    if done.state == SanitizeState::CompletedNoDeallocate {
        // No-Deallocate was asked but the drive deallocated anyway: DLFEAT applies.
        expected = deallocated(&ns);
        section.expected_content = content_name(expected).into();
    }
    if adopt && expected.is_none() {
        return (
            end(
                Outcome::Failed,
                "the sanitize started before this session completed, but nothing can prove it: no sector was hashed before it and the drive does not say what erased blocks read as (DLFEAT)".into(),
                progress,
            ),
            section,
        );
    }
    observer.progress(size, size);
    if let Err(reason) = observer.checkpoint(&progress) {
        return failed(section, reason);
    }

    // 6. Verify.
    observer.before_verify();
    let end = verify_erase(
        dev,
        &samples,
        expected,
        params,
        cfg,
        observer,
        cancel,
        &mut section,
        progress,
    );
    (end, section)
}

fn poll(ctrl: &mut dyn NvmeAdmin) -> (Result<SanitizeStatus, NvmeError>, SentCommand) {
    let mut page = vec![0u8; nvme::SANITIZE_LOG_LEN];
    let (r, sent) = nvme::run(
        ctrl,
        &nvme::sanitize_status_log(),
        Some(&mut page),
        Duration::from_secs(10),
    );
    (r.and_then(|_| SanitizeStatus::parse(&page)), sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_per_action() {
        // Base 2.1 Figure 372: SANACT | AUSE (bit 3) [| OWPASS 1 (bits 7:4) | NDAS (bit 9)].
        let c = sanitize_command(SanitizeAction::CryptoErase, false);
        assert_eq!((c.opcode, c.nsid, c.cdw10(), c.cdw11()), (0x84, 0, 0x0C, 0));
        assert_eq!(
            sanitize_command(SanitizeAction::BlockErase, false).cdw10(),
            0x0A
        );
        assert_eq!(
            sanitize_command(SanitizeAction::Overwrite, false).cdw10(),
            0x21B
        );
        // NDI set: no NDAS (the drive deallocates anyway).
        assert_eq!(
            sanitize_command(SanitizeAction::Overwrite, true).cdw10(),
            0x01B
        );
        assert_eq!(
            sanitize_action(PolicyMethod::NvmeSanitizeBlock),
            Some(SanitizeAction::BlockErase)
        );
        assert_eq!(sanitize_action(PolicyMethod::NvmeFormat), None);
    }
}
