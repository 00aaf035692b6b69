//! SCSI SANITIZE sessions against the scripted SCSI drive (atelier_device::scsi_scripted):
//! the service actions the drive reports through REPORT SUPPORTED OPERATION CODES, the
//! policy's choice from them, the progress poll, a backing buffer the sanitize really
//! rewrites, and the failure modes — SANITIZE COMMAND FAILED (failure mode exited), power
//! loss while sanitizing, a lying drive, a sanitize already running, an action the drive
//! does not support. No real SAS drive was used: none is available here, and QEMU's scsi-hd
//! does not implement SANITIZE.

mod common;

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atelier_device::ata::AtaData;
use atelier_device::scsi::{
    self, SanitizeAction, SanitizeState, ScsiCommand, ScsiError, ScsiSanitizeSupport,
};
use atelier_device::scsi_scripted::{ScriptedScsiDrive, ScriptedState};
use atelier_record::{FirmwareErase, NistCategory, Outcome, VerificationResult};
use atelier_wipe::policy::{self, Capabilities, MediaClass, PolicyMethod, PolicyReason, Requested};
use atelier_wipe::scsi_sanitize::{PollTiming, run_scsi_sanitize_session};
use atelier_wipe::{EngineConfig, JobProgress, Phase, WipeObserver, WipeParams};
use common::{MemoryDisk, command_names as names};

const SECTOR: u64 = 512;
const SECTORS: u64 = 65_536; // 32 MiB of backing buffer
const CANARY: &[u8] = b"ATELIER-SAS-CANARY-0123456789 ";

/// Keeps the progress the session reports during the firmware phase.
#[derive(Default)]
struct Recorder {
    firmware: Mutex<bool>,
    progress: Mutex<Vec<(u64, u64)>>,
}

impl WipeObserver for Recorder {
    fn phase(&self, phase: Phase, _bytes_total: u64) {
        *self.firmware.lock().unwrap() = matches!(phase, Phase::Firmware { .. });
    }
    fn progress(&self, bytes_done: u64, bytes_total: u64) {
        if *self.firmware.lock().unwrap() {
            self.progress
                .lock()
                .unwrap()
                .push((bytes_done, bytes_total));
        }
    }
    fn checkpoint(&self, _progress: &JobProgress) -> Result<(), String> {
        Ok(())
    }
}

fn all() -> ScsiSanitizeSupport {
    ScsiSanitizeSupport {
        overwrite: true,
        block_erase: true,
        crypto_erase: true,
    }
}

fn drive(support: ScsiSanitizeSupport) -> (ScriptedScsiDrive, MemoryDisk) {
    let media = Arc::new(Mutex::new(
        CANARY
            .iter()
            .copied()
            .cycle()
            .take((SECTORS * SECTOR) as usize)
            .collect::<Vec<u8>>(),
    ));
    (
        ScriptedScsiDrive::new(media.clone(), support),
        MemoryDisk(media),
    )
}

fn params(method: PolicyMethod) -> WipeParams {
    let device = common::disk(
        "sdb",
        (8, 16),
        atelier_record::Transport::Scsi,
        "SEAGATE ST600MM0006",
        "ATL-SAS-01",
        SECTORS * SECTOR,
    );
    common::firmware_params(&device, method)
}

fn fast() -> PollTiming {
    PollTiming {
        interval: Duration::from_millis(1),
        max_wait: Duration::from_secs(60),
        lost_polls: 3,
    }
}

fn run(
    d: &mut ScriptedScsiDrive,
    media: &MemoryDisk,
    method: PolicyMethod,
    observer: &dyn WipeObserver,
) -> (atelier_wipe::SessionEnd, FirmwareErase) {
    run_scsi_sanitize_session(
        media,
        d,
        &params(method),
        &EngineConfig::default(),
        observer,
        &AtomicBool::new(false),
        &fast(),
    )
}

/// [`run`] with an observer nobody reads.
fn run_quiet(
    d: &mut ScriptedScsiDrive,
    media: &MemoryDisk,
    method: PolicyMethod,
) -> (atelier_wipe::SessionEnd, FirmwareErase) {
    run(d, media, method, &Recorder::default())
}

/// SANITIZE `action` sent straight to the drive, outside a session.
fn sanitize_now(
    d: &mut ScriptedScsiDrive,
    action: SanitizeAction,
    immed: bool,
    ause: bool,
) -> atelier_device::ata::ScsiReply {
    d.send(
        &scsi::sanitize_cdb(action, immed, ause, 0),
        AtaData::None,
        Duration::from_secs(5),
    )
    .unwrap()
}

fn canary_intact(media: &MemoryDisk) -> bool {
    media.0.lock().unwrap().starts_with(CANARY)
}

fn caps_of(d: &mut ScriptedScsiDrive) -> Capabilities {
    let (scsi, probe_error) = match scsi::read_sanitize_support(d) {
        Ok(s) => (Some(s), None),
        Err(e) => (None, Some(e.to_string())),
    };
    Capabilities {
        media: MediaClass::Scsi,
        nvme: None,
        ata: None,
        probe_error,
        scsi,
        emmc: None,
    }
}

#[test]
fn policy_chooses_from_report_supported_operation_codes() {
    // Every service action: crypto > block > overwrite > host overwrite, all Purge but the last.
    let (mut d, _) = drive(all());
    let caps = caps_of(&mut d);
    assert_eq!(caps.scsi, Some(all()));
    // Three one-command queries (A3h/0Ch), service actions 01h, 02h, 03h.
    assert_eq!(
        d.log,
        [(0xA3, Some(0x0C)), (0xA3, Some(0x0C)), (0xA3, Some(0x0C))]
    );
    let order: Vec<_> = policy::candidates(&caps)
        .iter()
        .map(|c| (c.method, c.category))
        .collect();
    assert_eq!(
        order,
        [
            (PolicyMethod::ScsiSanitizeCrypto, NistCategory::Purge),
            (PolicyMethod::ScsiSanitizeBlock, NistCategory::Purge),
            (PolicyMethod::ScsiSanitizeOverwrite, NistCategory::Purge),
            (PolicyMethod::Overwrite, NistCategory::Clear),
        ]
    );
    let auto = policy::decide(&caps, Requested::Auto).unwrap();
    assert_eq!(auto.method, PolicyMethod::ScsiSanitizeCrypto);
    assert_eq!(
        auto.reason.to_string(),
        "the drive advertises SANITIZE CRYPTOGRAPHIC ERASE (REPORT SUPPORTED OPERATION CODES 48h/03h)"
    );
    // The operator may choose a weaker one, and the record says what was passed over.
    let weaker =
        policy::decide(&caps, Requested::Exact(PolicyMethod::ScsiSanitizeOverwrite)).unwrap();
    assert_eq!(weaker.chosen_by, "operator");
    assert_eq!(
        weaker.reason,
        PolicyReason::OperatorChoice {
            method: PolicyMethod::ScsiSanitizeOverwrite,
            stronger: Some(PolicyMethod::ScsiSanitizeCrypto),
            stronger_category: Some(NistCategory::Purge),
        }
    );

    // A hard disk with OVERWRITE only.
    let (mut hdd, _) = drive(ScsiSanitizeSupport {
        overwrite: true,
        ..ScsiSanitizeSupport::default()
    });
    let caps = caps_of(&mut hdd);
    assert_eq!(
        policy::decide(&caps, Requested::Auto).unwrap().method,
        PolicyMethod::ScsiSanitizeOverwrite
    );
    let err =
        policy::decide(&caps, Requested::Exact(PolicyMethod::ScsiSanitizeCrypto)).unwrap_err();
    assert!(
        err.to_string().contains("CRYPTOGRAPHIC ERASE=false"),
        "{err}"
    );

    // No SANITIZE at all: host overwrite, Clear, "nothing advertised".
    let (mut none, _) = drive(ScsiSanitizeSupport::default());
    let d = policy::decide(&caps_of(&mut none), Requested::Auto).unwrap();
    assert_eq!(
        (d.method, d.category, d.reason),
        (
            PolicyMethod::Overwrite,
            NistCategory::Clear,
            PolicyReason::NothingAdvertised
        )
    );

    // A drive without REPORT SUPPORTED OPERATION CODES: the bench does not guess.
    let (mut old, _) = drive(all());
    old.faults.no_report_opcodes = true;
    let caps = caps_of(&mut old);
    assert!(
        caps.probe_error
            .as_deref()
            .unwrap()
            .contains("ILLEGAL REQUEST"),
        "{caps:?}"
    );
    let d = policy::decide(&caps, Requested::Auto).unwrap();
    assert_eq!(d.method, PolicyMethod::Overwrite);
    assert_eq!(d.reason.code(), "probe-failed");
}

#[test]
fn crypto_erase_runs_polls_progress_and_verifies() {
    let (mut d, media) = drive(all());
    d.steps = 8;
    let rec = Recorder::default();
    let (end, section) = run(&mut d, &media, PolicyMethod::ScsiSanitizeCrypto, &rec);
    assert_eq!(end.outcome, Outcome::Passed, "{:?}", end.detail);
    assert!(!canary_intact(&media));
    assert_eq!(section.command_set, "scsi");
    assert_eq!(section.expected_content, "unspecified");
    assert_eq!(section.identify_sha256.len(), 64);
    // RSOC, REQUEST SENSE (nothing running), SANITIZE 03h with IMMED, the polls.
    assert_eq!(d.sanitize_actions(), [0x03]);
    assert_eq!(
        names(&section),
        [
            "report-supported-operation-codes",
            "request-sense",
            "sanitize",
            "request-sense (8 polls)"
        ]
    );
    let s = &section.commands[2];
    assert_eq!(
        (s.opcode, s.cdw10, s.cdw11, s.status),
        (0x48, 0x03, 0, Some(0))
    );
    // The drive's PROGRESS INDICATION moved the bar, upwards, to the end.
    let p = rec.progress.lock().unwrap().clone();
    let size = SECTORS * SECTOR;
    assert_eq!(p.first(), Some(&(0, size)));
    assert_eq!(p.last(), Some(&(size, size)));
    assert!(p.len() >= 8, "{p:?}");
    assert!(p.windows(2).all(|w| w[0].0 <= w[1].0), "{p:?}");
    assert_eq!(p[1].0, size / 65_536 * (65_536 / 8));
    // None of the hashed sectors kept its old content.
    assert!(section.presampled_distinct > 200);
    assert_eq!(section.presampled_unchanged, 0);
    assert_eq!(end.verification.unwrap().result, VerificationResult::Passed);
}

#[test]
fn overwrite_writes_zeros_and_the_sampled_read_back_checks_them() {
    let (mut d, media) = drive(ScsiSanitizeSupport {
        overwrite: true,
        ..ScsiSanitizeSupport::default()
    });
    let (end, section) = run_quiet(&mut d, &media, PolicyMethod::ScsiSanitizeOverwrite);
    assert_eq!(end.outcome, Outcome::Passed, "{:?}", end.detail);
    assert_eq!(section.expected_content, "zeros");
    // Parameter list: 4 header bytes + a 4-byte pattern.
    let s = &section.commands[2];
    assert_eq!((s.cdw10, s.cdw11), (0x01, 8));
    assert!(media.0.lock().unwrap().iter().all(|&b| b == 0));
    let v = end.verification.unwrap();
    assert!(v.coverage_percent >= 10.0, "{}", v.coverage_percent);
    assert_eq!(v.mismatched_sectors, 0);
}

#[test]
fn block_erase_runs_when_supported_and_is_refused_when_not() {
    let (mut d, media) = drive(all());
    let (end, _) = run_quiet(&mut d, &media, PolicyMethod::ScsiSanitizeBlock);
    assert_eq!(end.outcome, Outcome::Passed, "{:?}", end.detail);
    assert_eq!(d.sanitize_actions(), [0x02]);

    // The plan said crypto erase, the drive says no now: nothing is sent, nothing erased.
    let (mut d, media) = drive(ScsiSanitizeSupport {
        block_erase: true,
        ..ScsiSanitizeSupport::default()
    });
    let (end, section) = run_quiet(&mut d, &media, PolicyMethod::ScsiSanitizeCrypto);
    assert_eq!(end.outcome, Outcome::Failed);
    let detail = end.detail.unwrap();
    assert!(detail.starts_with("nothing erased"), "{detail}");
    assert!(detail.contains("CRYPTOGRAPHIC ERASE"), "{detail}");
    assert!(d.sanitize_actions().is_empty());
    assert_eq!(names(&section), ["report-supported-operation-codes"]);
    assert!(canary_intact(&media));
}

#[test]
fn a_failed_sanitize_exits_failure_mode_and_fails_the_job() {
    let (mut d, media) = drive(all());
    d.faults.fail_sanitize = true;
    let (end, section) = run_quiet(&mut d, &media, PolicyMethod::ScsiSanitizeCrypto);
    assert_eq!(end.outcome, Outcome::Failed);
    let detail = end.detail.unwrap();
    assert!(detail.contains("SANITIZE COMMAND FAILED"), "{detail}");
    assert!(detail.contains("failure mode exited"), "{detail}");
    // SANITIZE with AUSE, then EXIT FAILURE MODE (1Fh): the drive is usable again.
    assert_eq!(d.sanitize_actions(), [0x03, 0x1F]);
    assert_eq!(d.state, ScriptedState::Idle);
    assert_eq!(
        names(&section).last().copied(),
        Some("sanitize-exit-failure-mode")
    );
    assert!(end.verification.is_none());
    assert!(canary_intact(&media));
}

#[test]
fn restricted_completion_mode_refuses_exit_failure_mode() {
    // SBC-4 §4.11: a sanitize that failed with AUSE 0 can only be left by a sanitize that
    // succeeds; EXIT FAILURE MODE is ILLEGAL REQUEST, INVALID FIELD IN CDB.
    let (mut d, _) = drive(all());
    d.faults.fail_sanitize = true;
    let t = Duration::from_secs(5);
    let r = sanitize_now(&mut d, SanitizeAction::BlockErase, false, false);
    assert_eq!(scsi::check_reply(&r), Err(ScsiError::SanitizeFailed));
    let exit = sanitize_now(&mut d, SanitizeAction::ExitFailureMode, false, false);
    assert_eq!(
        scsi::check_reply(&exit),
        Err(ScsiError::IllegalRequest { asc: 0x24, ascq: 0 })
    );
    // Nor may a new sanitize ask for AUSE.
    let ause = sanitize_now(&mut d, SanitizeAction::BlockErase, true, true);
    assert!(matches!(
        scsi::check_reply(&ause),
        Err(ScsiError::IllegalRequest { asc: 0x24, .. })
    ));
    // Media access reports the failure: TEST UNIT READY gives MEDIUM ERROR 31h/03h.
    let tur = d
        .send(&scsi::test_unit_ready_cdb(), AtaData::None, t)
        .unwrap();
    assert_eq!(scsi::check_reply(&tur), Err(ScsiError::SanitizeFailed));
    // A sanitize that succeeds leaves failure mode.
    d.faults.fail_sanitize = false;
    let ok = sanitize_now(&mut d, SanitizeAction::BlockErase, false, false);
    assert_eq!(scsi::check_reply(&ok), Ok(()));
    assert_eq!(d.state, ScriptedState::Idle);
}

#[test]
fn power_loss_while_sanitizing_fails_the_job_and_the_sanitize_resumes() {
    let (mut d, media) = drive(all());
    d.steps = 6;
    d.faults.power_loss_at_tick = Some(3);
    let (end, section) = run_quiet(&mut d, &media, PolicyMethod::ScsiSanitizeCrypto);
    assert_eq!(end.outcome, Outcome::Failed);
    let detail = end.detail.unwrap();
    assert!(detail.contains("stopped answering"), "{detail}");
    assert!(detail.contains("run the wipe again"), "{detail}");
    let polls = section.commands.last().unwrap();
    assert!(polls.os_error.is_some());
    // Power back: the sanitize is still running (SBC-4: it resumes at power-on), and ends.
    d.power_cycle();
    assert!(matches!(d.state, ScriptedState::InProgress { .. }));
    let mut states = Vec::new();
    loop {
        let (s, _) = scsi::poll_sanitize(&mut d).unwrap();
        states.push(s);
        if s == SanitizeState::Idle {
            break;
        }
        assert!(states.len() < 10, "{states:?}");
    }
    assert!(!canary_intact(&media));
    // Run again once it is over: passes.
    let (end, _) = run_quiet(&mut d, &media, PolicyMethod::ScsiSanitizeCrypto);
    assert_eq!(end.outcome, Outcome::Passed, "{:?}", end.detail);
}

#[test]
fn a_sanitize_already_running_stops_the_job_before_anything() {
    let (mut d, media) = drive(all());
    let r = sanitize_now(&mut d, SanitizeAction::BlockErase, true, true);
    assert_eq!(scsi::check_reply(&r), Ok(()));
    let (end, section) = run_quiet(&mut d, &media, PolicyMethod::ScsiSanitizeCrypto);
    assert_eq!(end.outcome, Outcome::Failed);
    assert!(
        end.detail.as_deref().unwrap().contains("already running"),
        "{:?}",
        end.detail
    );
    assert_eq!(
        names(&section),
        ["report-supported-operation-codes", "request-sense"]
    );
    // Only the test's own SANITIZE was sent.
    assert_eq!(d.sanitize_actions(), [0x02]);
}

#[test]
fn a_lying_drive_is_caught_by_the_verification() {
    let (mut d, media) = drive(all());
    d.faults.erase_lies = true;
    for method in [
        PolicyMethod::ScsiSanitizeCrypto,
        PolicyMethod::ScsiSanitizeOverwrite,
    ] {
        let (end, section) = run(&mut d, &media, method, &Recorder::default());
        assert_eq!(end.outcome, Outcome::Failed, "{method:?}");
        assert!(section.presampled_unchanged > 0, "{method:?}");
        assert_eq!(end.verification.unwrap().result, VerificationResult::Failed);
        assert!(canary_intact(&media));
    }
}

#[test]
fn overwrite_after_adds_a_verified_random_pass_only_after_a_passed_erase() {
    use atelier_wipe::overwrite_after::{PASS, run_overwrite_after};
    let (mut d, media) = drive(all());
    let p = params(PolicyMethod::ScsiSanitizeCrypto);
    let cfg = EngineConfig::default();
    let stop = AtomicBool::new(false);
    // The firmware erase, then the overwrite after it, of the same job.
    let firmware = |d: &mut ScriptedScsiDrive, media: &MemoryDisk| {
        run_scsi_sanitize_session(media, d, &p, &cfg, &Recorder::default(), &stop, &fast())
    };
    let after = |media: &MemoryDisk, full_verify: bool, fw_end: atelier_wipe::SessionEnd| {
        run_overwrite_after(
            media,
            &p,
            full_verify,
            &cfg,
            &Recorder::default(),
            &stop,
            fw_end,
        )
    };
    let (fw_end, _) = firmware(&mut d, &media);
    assert_eq!(fw_end.outcome, Outcome::Passed, "{:?}", fw_end.detail);
    let after_crypto = media.0.lock().unwrap().clone();
    let (end, pass) = after(&media, true, fw_end);
    assert_eq!(end.outcome, Outcome::Passed, "{:?}", end.detail);
    assert_eq!(pass, Some(PASS));
    // The whole disk was written and read back in full.
    assert_eq!(end.progress.bytes_written, SECTORS * SECTOR);
    let v = end.verification.unwrap();
    assert_eq!(v.bytes_checked, SECTORS * SECTOR);
    assert_eq!(v.result, VerificationResult::Passed);
    let now = media.0.lock().unwrap().clone();
    let same = now
        .chunks(512)
        .zip(after_crypto.chunks(512))
        .filter(|(a, b)| a == b)
        .count();
    assert_eq!(same, 0, "every sector rewritten");

    // After a failed firmware erase nothing is written.
    let (mut d, media) = drive(all());
    d.faults.fail_sanitize = true;
    let (fw_end, _) = firmware(&mut d, &media);
    assert_eq!(fw_end.outcome, Outcome::Failed);
    let (end, pass) = after(&media, false, fw_end);
    assert_eq!((end.outcome, pass), (Outcome::Failed, None));
    assert!(canary_intact(&media));
}

#[test]
fn polling_copes_with_check_condition_answers_and_a_unit_attention() {
    // A drive that ends REQUEST SENSE in CHECK CONDITION while sanitizing, and reports a
    // UNIT ATTENTION (power on / reset) once on the way: the poll reads both and goes on.
    let (mut d, media) = drive(all());
    d.steps = 6;
    d.faults.request_sense_check_condition = true;
    d.faults.unit_attention_at_tick = Some(3);
    let rec = Recorder::default();
    let (end, section) = run(&mut d, &media, PolicyMethod::ScsiSanitizeCrypto, &rec);
    assert_eq!(end.outcome, Outcome::Passed, "{:?}", end.detail);
    assert_eq!(
        names(&section).last().copied(),
        Some("request-sense (7 polls)")
    );
    assert!(rec.progress.lock().unwrap().len() >= 6);

    // A condition that lasts ends the wait, with what the drive said.
    let (mut d, media) = drive(all());
    d.steps = 50;
    let (end, _) = run_with_attention_each_poll(&mut d, &media);
    assert_eq!(end.outcome, Outcome::Failed);
    assert!(
        end.detail.as_deref().unwrap().contains("sense key 0x6"),
        "{:?}",
        end.detail
    );
}

/// A transport that answers every REQUEST SENSE with UNIT ATTENTION once the sanitize runs.
fn run_with_attention_each_poll(
    d: &mut ScriptedScsiDrive,
    media: &MemoryDisk,
) -> (atelier_wipe::SessionEnd, FirmwareErase) {
    struct Attentive<'a>(&'a mut ScriptedScsiDrive);
    impl ScsiCommand for Attentive<'_> {
        fn send(
            &mut self,
            cdb: &[u8],
            data: AtaData<'_>,
            timeout: Duration,
        ) -> std::io::Result<atelier_device::ata::ScsiReply> {
            if matches!(self.0.state, ScriptedState::InProgress { .. }) {
                self.0.faults.unit_attention_at_tick = Some(1);
            }
            self.0.send(cdb, data, timeout)
        }
    }
    run_scsi_sanitize_session(
        media,
        &mut Attentive(d),
        &params(PolicyMethod::ScsiSanitizeCrypto),
        &EngineConfig::default(),
        &Recorder::default(),
        &AtomicBool::new(false),
        &fast(),
    )
}
