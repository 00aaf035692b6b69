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

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use atelier_device::nvme::{
    self, IdentifyController, NvmeAdmin, NvmeError, SanitizeAction, SanitizeOptions, SanitizeState,
    SanitizeStatus, SentCommand,
};
use atelier_record::{FirmwareErase, Outcome, PassPattern};

use crate::engine::{BlockIo, EngineConfig};
use crate::firmware::{
    FirmwareParams, check_namespace, deallocated, identify_nvme, record_command,
};
use crate::job::{JobProgress, SessionEnd, WipeObserver, WipeParams};
use crate::policy::PolicyMethod;
use crate::session::{self, Session, Steps, erase_progress};

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
    Session::new(dev, params, cfg, observer, cancel).run("nvme", None, |session, section| {
        sanitize(session, ctrl, nsid, polling, on_tick, section)
    })
}

/// The steps of [`run_sanitize_session`]; `Err` is an end before the verification.
fn sanitize(
    session: &Session<'_>,
    ctrl: &mut dyn NvmeAdmin,
    nsid: u32,
    polling: &SanitizePolling,
    on_tick: &mut dyn FnMut(&SanitizeTick),
    section: &mut FirmwareErase,
) -> Steps {
    let Session {
        dev,
        params,
        observer,
        ..
    } = *session;
    let fw = params.firmware.clone().unwrap_or(FirmwareParams {
        method: PolicyMethod::NvmeSanitizeCrypto,
    });
    let failed = |detail: String| Box::new(session::failed(detail, JobProgress::default()));
    let Some(action) = sanitize_action(fw.method) else {
        return Err(failed(format!(
            "nothing erased: {} is not run by the NVMe Sanitize session",
            fw.method.name()
        )));
    };

    // 1. Identify, right before: the hashes go in the record; the action must be advertised.
    let (id, ns) = identify_nvme(ctrl, nsid, section).map_err(failed)?;
    advertised(&id, action).map_err(failed)?;
    check_namespace(dev, &ns).map_err(failed)?;
    let cmd = sanitize_command(action, id.sanitize.no_deallocate_inhibited);
    let no_deallocate = cmd.cdw10() & (1 << 9) != 0;
    // Overwrite without deallocation: the pattern (zeros) is read back. Otherwise the blocks
    // are deallocated and read as DLFEAT says.
    let mut expected = if no_deallocate {
        Some(PassPattern::Zero)
    } else {
        deallocated(&ns)
    };
    section.expected_content = session::content_name(expected).into();

    // 2. What the drive is doing now.
    let (r, sent) = poll(ctrl);
    section.commands.push(record_command(&sent));
    let before = match r {
        Ok(s) => s,
        Err(e) => return Err(failed(format!("nothing erased: {e}"))),
    };
    let adopt = before.state == SanitizeState::InProgress;
    if adopt && before.last_action() != Some(action) {
        return Err(failed(format!(
            "nothing erased by this session: another sanitize operation is in progress on the drive (SCDW10 {:#x}, {:.0} %); wait for it to finish, then run the wipe again",
            before.last_cdw10,
            before.percent()
        )));
    }

    // 3. Hash the sample sectors (impossible while an operation runs: I/O is refused).
    let samples = if adopt {
        Vec::new()
    } else {
        session
            .presample(expected, false, section)
            .map_err(failed)?
    };
    if !adopt {
        session.stop_if_cancelled()?;
    }

    // 4. Sanitize (or the operation already running).
    session.start_erase(fw.method);
    let started = Instant::now();
    if !adopt {
        let (r, sent) = nvme::run(ctrl, &cmd, None, Duration::from_secs(60));
        section.commands.push(record_command(&sent));
        if let Err(e) = r {
            // A Sanitize that does not complete successfully starts nothing and alters no
            // user data (Base 2.1 §5.1.22).
            return Err(failed(format!(
                "nothing erased: the drive refused the Sanitize command: {e}"
            )));
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
    let progress_at = |seconds: f64| erase_progress(params, seconds);
    let done = loop {
        let (r, sent) = poll(ctrl);
        match r {
            Ok(s) => {
                last_contact = Instant::now();
                silence_recorded = false;
                if !first_poll_recorded {
                    section.commands.push(record_command(&sent));
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
                    section.commands.push(record_command(&sent));
                    silence_recorded = true;
                }
                if last_contact.elapsed() >= polling.silence {
                    return Err(Box::new(session::end(
                        Outcome::Interrupted,
                        format!(
                            "the controller stopped answering during the sanitize ({e}); a drive that loses power resumes its sanitize when powered again — run `atelier wipe --resume` to wait for it and verify"
                        ),
                        progress_at(started.elapsed().as_secs_f64()),
                    )));
                }
            }
        }
        if session.cancelled() {
            if let Some(s) = last_ok.take() {
                section.commands.push(record_command(&s));
            }
            return Err(Box::new(session::end(
                Outcome::Interrupted,
                "stopped watching at the operator's request; the drive goes on with its sanitize by itself (it cannot be stopped) — run `atelier wipe --resume` to wait for it and verify",
                progress_at(started.elapsed().as_secs_f64()),
            )));
        }
        if started.elapsed() >= polling.timeout {
            if let Some(s) = last_ok.take() {
                section.commands.push(record_command(&s));
            }
            return Err(failed(format!(
                "the sanitize did not finish within {} s; the drive may still be working: run the wipe again later",
                polling.timeout.as_secs()
            )));
        }
        std::thread::sleep(polling.interval);
    };
    if let Some(s) = last_ok.take() {
        section.commands.push(record_command(&s));
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
            section.commands.push(record_command(&sent));
            let exit_said = match r {
                Ok(_) => "the bench sent Exit Failure Mode and the drive left failure mode".into(),
                Err(e) => format!(
                    "Exit Failure Mode was refused ({e}); the drive stays in sanitize failure mode until a sanitize succeeds"
                ),
            };
            return session::fail(
                format!(
                    "the drive reported that the sanitize failed (Sanitize Status SSTAT = 011b); {exit_said}. The data may be only partly erased: the drive is NOT sanitized — run the wipe again, or retire the drive"
                ),
                progress,
            );
        }
        other => {
            return Err(failed(format!(
                "the Sanitize Status log does not show the operation ({other:?}); nothing is proven erased"
            )));
        }
    }
    if done.last_cdw10 != watched_cdw10 {
        return Err(failed(format!(
            "the Sanitize Status log reports another operation (SCDW10 {:#x}, sent {watched_cdw10:#x}); nothing is proven erased",
            done.last_cdw10
        )));
    }
    if done.state == SanitizeState::CompletedNoDeallocate {
        // No-Deallocate was asked but the drive deallocated anyway: DLFEAT applies.
        expected = deallocated(&ns);
        section.expected_content = session::content_name(expected).into();
    }
    if adopt && expected.is_none() {
        return session::fail(
            "the sanitize started before this session completed, but nothing can prove it: no sector was hashed before it and the drive does not say what erased blocks read as (DLFEAT)",
            progress,
        );
    }
    session.erase_done();
    // The journal's refusal ends the session with no progress (unlike the other methods).
    if let Err(reason) = observer.checkpoint(&progress) {
        return Err(failed(reason));
    }

    // 6. Verify.
    Ok(session.verify(&samples, expected, section, progress))
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
