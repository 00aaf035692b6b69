//! SCSI SANITIZE as a verified wipe, for SAS (and other SCSI block) drives.
//!
//! The sequence (SBC-4 §4.11 and §5.24, SPC-4 §6.35 and §6.39; see
//! [`atelier_device::scsi`]):
//!
//! 1. REPORT SUPPORTED OPERATION CODES for SANITIZE with the planned service action: the
//!    drive must say "supported" now, whatever the plan said. The SHA-256 of its answer goes
//!    in the record (SCSI has no IDENTIFY page; this is the page the decision rests on).
//! 2. REQUEST SENSE: a sanitize already running, or a failed one, stops the job before
//!    anything is written.
//! 3. A few hundred sectors are hashed ([`crate::firmware`]).
//! 4. SANITIZE with IMMED (return once the CDB is checked) and AUSE (a failure may be left
//!    with EXIT FAILURE MODE, so a drive is never left unusable): CRYPTOGRAPHIC ERASE, BLOCK
//!    ERASE, or OVERWRITE with one pass of a 4-byte zero pattern.
//! 5. REQUEST SENSE every [`PollTiming::interval`]: NOT READY 04h/1Bh with the PROGRESS
//!    INDICATION (n / 65 536) moves the progress bar, whose rate gives the ETA; no sense
//!    means done; 31h/03h SANITIZE COMMAND FAILED sends EXIT FAILURE MODE and ends FAILED. A
//!    sanitize cannot be stopped once started: an operator's stop is honoured only before
//!    step 4. A drive that stops answering (power loss, link reset) ends FAILED with the
//!    reason: per SBC-4 the sanitize resumes at power-on, and the job can be run again once it
//!    is over.
//! 6. The sampled read-back of [`crate::firmware`] (≥ 10 % of the disk, NIST SP 800-88
//!    Rev. 1 §4.7): zeros after OVERWRITE; after BLOCK ERASE and CRYPTOGRAPHIC ERASE the
//!    content is not specified by SBC-4, so the hashed sectors are checked (none may still
//!    hold its old content).
//!
//! Every command is recorded (operation code, service action, parameter list length, SCSI
//! status, duration); the REQUEST SENSE polls as one entry with their count.

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use atelier_device::ata::AtaData;
use atelier_device::scsi::{
    self, CommandSupport, OverwriteParams, SanitizeAction, SanitizeState, ScsiCommand, ScsiError,
};
use atelier_record::{FirmwareCommand, FirmwareErase, PassPattern};
use sha2::{Digest, Sha256};

use crate::BlockIo;
use crate::engine::EngineConfig;
use crate::job::{JobProgress, SessionEnd, WipeObserver, WipeParams};
use crate::policy::PolicyMethod;
use crate::session::{self, Session, Steps, erase_progress, fail, failed, hex};

/// How the sanitize is polled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollTiming {
    /// Time between two REQUEST SENSE.
    pub interval: Duration,
    /// Longest wait for the operation (an OVERWRITE of a large hard disk takes many hours).
    pub max_wait: Duration,
    /// Polls in a row that may fail (OS error) before the drive is taken as gone.
    pub lost_polls: u32,
}

impl Default for PollTiming {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(10),
            max_wait: Duration::from_secs(48 * 3600),
            lost_polls: 6,
        }
    }
}

/// The service action of a SCSI policy method.
pub fn action_of(method: PolicyMethod) -> Option<SanitizeAction> {
    match method {
        PolicyMethod::ScsiSanitizeCrypto => Some(SanitizeAction::CryptographicErase),
        PolicyMethod::ScsiSanitizeBlock => Some(SanitizeAction::BlockErase),
        PolicyMethod::ScsiSanitizeOverwrite => Some(SanitizeAction::Overwrite),
        _ => None,
    }
}

/// Sends one command and records it: name, operation code, service action (in `cdw10`),
/// parameter list length (in `cdw11`), SCSI status, duration; the decoded error when it
/// did not end GOOD.
fn send(
    dev: &mut dyn ScsiCommand,
    name: &str,
    cdb: &[u8],
    data: AtaData<'_>,
    timeout: Duration,
    log: &mut Vec<FirmwareCommand>,
) -> Result<(), ScsiError> {
    let started = Instant::now();
    let reply = dev.send(cdb, data, timeout);
    let (service_action, length) = match cdb[0] {
        scsi::SANITIZE => (
            cdb[1] & 0x1F,
            u32::from(u16::from_be_bytes([cdb[7], cdb[8]])),
        ),
        _ => (0, 0),
    };
    let mut entry = FirmwareCommand {
        name: name.into(),
        opcode: cdb[0],
        nsid: None,
        cdw10: u32::from(service_action),
        cdw11: length,
        status: None,
        os_error: None,
        duration_seconds: started.elapsed().as_secs_f64(),
    };
    let result = match reply {
        Ok(r) => {
            entry.status = Some(u16::from(r.status));
            scsi::check_reply(&r)
        }
        Err(e) => Err(ScsiError::Os(e.to_string())),
    };
    if let Err(e) = &result {
        entry.os_error = Some(e.to_string());
    }
    log.push(entry);
    result
}

/// Why the poll loop stopped without the drive saying "done".
enum PollEnd {
    /// SANITIZE COMMAND FAILED.
    DriveFailed,
    /// The bench gave up (timeout, lost drive, unexpected sense), with the reason.
    Gave(String),
}

/// Runs a SCSI SANITIZE job on `dev` (the disk, held open exclusively) through `scsi` (its
/// SG_IO node, or a scripted drive), then verifies it. Returns the session's end and the
/// firmware section of the record.
#[allow(clippy::too_many_arguments)]
pub fn run_scsi_sanitize_session(
    dev: &dyn BlockIo,
    scsi_dev: &mut dyn ScsiCommand,
    params: &WipeParams,
    cfg: &EngineConfig,
    observer: &dyn WipeObserver,
    cancel: &AtomicBool,
    timing: &PollTiming,
) -> (SessionEnd, FirmwareErase) {
    Session::new(dev, params, cfg, observer, cancel).run("scsi", None, |session, section| {
        scsi_sanitize(session, scsi_dev, timing, section)
    })
}

/// The steps of [`run_scsi_sanitize_session`]; `Err` is an end before the verification.
fn scsi_sanitize(
    session: &Session<'_>,
    scsi_dev: &mut dyn ScsiCommand,
    timing: &PollTiming,
    section: &mut FirmwareErase,
) -> Steps {
    let Session {
        dev,
        params,
        observer,
        ..
    } = *session;
    let nothing = |detail: String| Box::new(failed(detail, JobProgress::default()));
    let Some(method) = params.firmware.as_ref().map(|f| f.method) else {
        return Err(nothing(
            "nothing erased: no firmware method in the job".into(),
        ));
    };
    let Some(action) = action_of(method) else {
        return Err(nothing(format!(
            "nothing erased: {} is not a SCSI SANITIZE method",
            method.name()
        )));
    };

    // 1. The drive must support the service action now.
    let mut page = vec![0u8; scsi::ONE_COMMAND_ALLOC as usize];
    let cdb = scsi::report_supported_opcode_cdb(
        scsi::SANITIZE,
        u16::from(action.code()),
        scsi::ONE_COMMAND_ALLOC,
    );
    send(
        scsi_dev,
        "report-supported-operation-codes",
        &cdb,
        AtaData::In(&mut page),
        Duration::from_secs(10),
        &mut section.commands,
    )
    .map_err(|e| {
        nothing(format!(
            "nothing erased: the drive did not say whether it supports SANITIZE {}: {e}",
            action.name()
        ))
    })?;
    section.identify_sha256 = hex(&Sha256::digest(&page));
    match scsi::parse_one_command(&page, scsi::SANITIZE) {
        Ok(s) if s.supported() => {}
        Ok(s) => {
            let what = match s {
                CommandSupport::NotAvailable => "cannot say now",
                _ => "does not support it",
            };
            return Err(nothing(format!(
                "nothing erased: asked about SANITIZE {}, the drive {what} (REPORT SUPPORTED OPERATION CODES)",
                action.name()
            )));
        }
        Err(e) => return Err(nothing(format!("nothing erased: {e}"))),
    }

    // 2. Nothing running, nothing failed.
    let mut sense = vec![0u8; usize::from(scsi::SENSE_ALLOC)];
    send(
        scsi_dev,
        "request-sense",
        &scsi::request_sense_cdb(scsi::SENSE_ALLOC, false),
        AtaData::In(&mut sense),
        Duration::from_secs(10),
        &mut section.commands,
    )
    .map_err(|e| nothing(format!("nothing erased: {e}")))?;
    match scsi::sanitize_state(&sense) {
        SanitizeState::InProgress(_) => {
            return Err(nothing(
                "nothing erased by this job: a sanitize is already running on the drive; wait for it to finish, then run the wipe again".into(),
            ));
        }
        SanitizeState::Failed => {
            return Err(nothing(
                "nothing erased by this job: the drive is in sanitize failure mode from an earlier SANITIZE".into(),
            ));
        }
        SanitizeState::Idle | SanitizeState::Other(_) => {}
    }

    // 3. Hash the sample sectors before the erase.
    let overwrite = OverwriteParams::zeros();
    let expected = match action {
        SanitizeAction::Overwrite => Some(PassPattern::Zero),
        _ => None,
    };
    section.expected_content = session::content_name(expected).into();
    let samples = session
        .presample(expected, expected.is_none(), section)
        .map_err(nothing)?;
    session.stop_if_cancelled()?;

    // 4. SANITIZE, IMMED and AUSE.
    let size = dev.size_bytes();
    session.start_erase(method);
    let list = match action {
        SanitizeAction::Overwrite => {
            scsi::overwrite_parameter_list(&overwrite, dev.logical_sector_size())
                .map_err(|e| nothing(format!("nothing erased: {e}")))?
        }
        _ => Vec::new(),
    };
    let param_len = u16::try_from(list.len()).unwrap_or(u16::MAX);
    let cdb = scsi::sanitize_cdb(action, true, true, param_len);
    let started = Instant::now();
    let data = if list.is_empty() {
        AtaData::None
    } else {
        AtaData::Out(&list)
    };
    send(
        scsi_dev,
        "sanitize",
        &cdb,
        data,
        Duration::from_secs(60),
        &mut section.commands,
    )
    .map_err(|e| {
        nothing(format!(
            "nothing erased: the drive refused SANITIZE {}: {e}",
            action.name()
        ))
    })?;

    // 5. Poll until the drive says it is done.
    let mut polls = 0u32;
    let mut lost = 0u32;
    let mut last_error: Option<String> = None;
    let poll_started = Instant::now();
    let outcome: Result<(), PollEnd> = loop {
        std::thread::sleep(timing.interval);
        if started.elapsed() > timing.max_wait {
            break Err(PollEnd::Gave(format!(
                "the drive was still sanitizing after {} hours; the data is not accessible until it finishes — leave it powered, then run the wipe again",
                timing.max_wait.as_secs() / 3600
            )));
        }
        polls += 1;
        match scsi::poll_sanitize(scsi_dev) {
            Ok((SanitizeState::InProgress(p), _)) => {
                lost = 0;
                if let Some(p) = p {
                    observer.progress(size / 65_536 * u64::from(p), size);
                }
            }
            Ok((SanitizeState::Idle, _)) => break Ok(()),
            Ok((SanitizeState::Failed, _)) => break Err(PollEnd::DriveFailed),
            Ok((SanitizeState::Other(s), _)) => {
                // A unit attention (reset, power on) or another condition: poll again; only
                // a condition that lasts ends the wait.
                lost += 1;
                let what = format!(
                    "REQUEST SENSE reported sense key {:#x}, ASC/ASCQ {:#04x}/{:#04x} during the sanitize",
                    s.key, s.asc, s.ascq
                );
                last_error = Some(what.clone());
                if lost >= timing.lost_polls {
                    break Err(PollEnd::Gave(format!(
                        "{what}, {lost} times in a row; leave the drive powered until its sanitize ends, then run the wipe again"
                    )));
                }
            }
            Err(e) => {
                lost += 1;
                last_error = Some(e.to_string());
                if lost >= timing.lost_polls {
                    break Err(PollEnd::Gave(format!(
                        "the drive stopped answering during the sanitize ({e}); a SCSI sanitize resumes by itself at power-on: leave the drive powered until it finishes, then run the wipe again"
                    )));
                }
            }
        }
    };
    section.commands.push(FirmwareCommand {
        name: format!("request-sense ({polls} polls)"),
        opcode: scsi::REQUEST_SENSE,
        nsid: None,
        cdw10: 0,
        cdw11: 0,
        status: outcome.is_ok().then_some(0),
        os_error: last_error,
        duration_seconds: poll_started.elapsed().as_secs_f64(),
    });
    let progress = erase_progress(params, started.elapsed().as_secs_f64());
    match outcome {
        Ok(()) => {}
        Err(PollEnd::DriveFailed) => {
            // Failure mode: leave it (AUSE was set), so the drive is usable again, and say so.
            let exit = send(
                scsi_dev,
                "sanitize-exit-failure-mode",
                &scsi::sanitize_cdb(SanitizeAction::ExitFailureMode, false, false, 0),
                AtaData::None,
                Duration::from_secs(60),
                &mut section.commands,
            );
            let after = match exit {
                Ok(()) => "failure mode exited (EXIT FAILURE MODE); the drive is usable again but its data may remain".to_string(),
                Err(e) => format!("EXIT FAILURE MODE failed too ({e}); the drive may refuse reads and writes until a sanitize succeeds"),
            };
            return fail(
                format!(
                    "the drive reported SANITIZE COMMAND FAILED (31h/03h) for {}: {after}",
                    action.name()
                ),
                progress,
            );
        }
        Err(PollEnd::Gave(why)) => return fail(why, progress),
    }
    session.erase_done();

    // 6. Verify.
    Ok(session.checkpoint_and_verify(&samples, expected, section, progress))
}
