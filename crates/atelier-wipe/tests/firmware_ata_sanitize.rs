//! ATA SANITIZE sessions against the scripted ATA drive (atelier_device::ata_scripted): QEMU's
//! captured IDENTIFY page with word 59 patched to advertise the SANITIZE feature set, a
//! backing buffer the operations really change, and the failure modes — not advertised,
//! failed operation, power lost while the drive sanitizes, sanitize-frozen drive, a firmware
//! that reports success without erasing.

mod common;

use std::collections::HashSet;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atelier_device::ata::{self, AtaData, AtaPassThrough, SanitizeOp, SanitizeStatus};
use atelier_device::ata_scripted::{self, ScriptedAtaDrive};
use atelier_record::{FirmwareErase, Outcome, VerificationResult};
use atelier_wipe::ata_sanitize::{SanitizePolling, run_ata_sanitize_session};
use atelier_wipe::firmware::{PRESAMPLE_SECTORS, presample_positions};
use atelier_wipe::policy::PolicyMethod;
use atelier_wipe::{EngineConfig, JobProgress, Phase, SessionEnd, WipeObserver, WipeParams};
use common::{MemoryDisk, command_names as names};

const SECTOR: u64 = 512;
const SECTORS: u64 = 65_536; // 32 MiB
const CANARY: &[u8] = b"ATELIER-CANARY-0123456789 ";

#[derive(Default)]
struct Recorder {
    phases: Mutex<Vec<String>>,
    firmware_progress: Mutex<Vec<u64>>,
}

impl WipeObserver for Recorder {
    fn phase(&self, phase: Phase, _bytes_total: u64) {
        self.phases.lock().unwrap().push(match phase {
            Phase::Firmware { method } => format!("firmware {}", method.name()),
            Phase::Verify { .. } => "verify".into(),
            Phase::Write { .. } => "write".into(),
        });
    }
    fn progress(&self, bytes_done: u64, _bytes_total: u64) {
        let in_firmware = self
            .phases
            .lock()
            .unwrap()
            .last()
            .is_some_and(|p| p.starts_with("firmware"));
        if in_firmware {
            self.firmware_progress.lock().unwrap().push(bytes_done);
        }
    }
    fn checkpoint(&self, _progress: &JobProgress) -> Result<(), String> {
        Ok(())
    }
}

/// The captured page with word 59 advertising the given operations (`None`: as QEMU has it,
/// no SANITIZE feature set).
fn drive(ops: Option<(bool, bool, bool)>) -> (ScriptedAtaDrive, MemoryDisk) {
    let mut page = common::sata_identify_page();
    if let Some((crypto, block, overwrite)) = ops {
        ata_scripted::patch_sanitize_supported(&mut page, crypto, block, overwrite);
    }
    let media = common::canary_media(CANARY, SECTORS * SECTOR);
    let mut d = ScriptedAtaDrive::new(page, media.clone());
    d.sanitize.block_erase_fill = 0xFF;
    (d, MemoryDisk(media))
}

fn params(method: PolicyMethod) -> WipeParams {
    common::sata_params("QEMU HARDDISK", method, SECTORS * SECTOR)
}

const FAST: SanitizePolling = SanitizePolling {
    interval: Duration::ZERO,
    limit: Duration::from_secs(60),
};

fn run_with(
    d: &mut ScriptedAtaDrive,
    media: &MemoryDisk,
    method: PolicyMethod,
    observer: &Recorder,
) -> (SessionEnd, FirmwareErase) {
    run_ata_sanitize_session(
        media,
        d,
        &params(method),
        &EngineConfig::default(),
        observer,
        &AtomicBool::new(false),
        &FAST,
    )
}

fn run(
    d: &mut ScriptedAtaDrive,
    media: &MemoryDisk,
    method: PolicyMethod,
) -> (SessionEnd, FirmwareErase) {
    run_with(d, media, method, &Recorder::default())
}

fn canary_intact(media: &MemoryDisk) -> bool {
    media.0.lock().unwrap().starts_with(CANARY)
}

/// Asserts the session's detail contains `text`.
fn assert_says(end: &SessionEnd, text: &str) {
    assert!(detail(end).contains(text), "{}", detail(end));
}

/// Asserts the session's detail starts with `text`.
fn assert_starts(end: &SessionEnd, text: &str) {
    assert!(detail(end).starts_with(text), "{}", detail(end));
}

/// The drive refused a SANITIZE command for `reason`.
fn refused_for(err: &ata::SanitizeError, reason: ata::SanitizeErrorReason) -> bool {
    matches!(err, ata::SanitizeError::Refused { reason: r, .. } if *r == reason)
}

/// READ NATIVE MAX ADDRESS EXT, a command the failed and the running states abort.
fn read_native_max(d: &mut ScriptedAtaDrive) -> atelier_device::ata::ScsiReply {
    d.pass_through(
        &ata::read_native_max_ext_cdb(),
        AtaData::None,
        Duration::from_secs(1),
    )
    .unwrap()
}

fn detail(end: &SessionEnd) -> &str {
    end.detail.as_deref().unwrap_or("")
}

/// Sends one SANITIZE DEVICE command straight to the drive.
fn send(d: &mut ScriptedAtaDrive, op: SanitizeOp) -> Result<SanitizeStatus, ata::SanitizeError> {
    let reply = d
        .pass_through(
            &ata::sanitize_cdb(op),
            AtaData::None,
            Duration::from_secs(1),
        )
        .unwrap();
    ata::decode_sanitize_reply(&reply)
}

const STATUS: SanitizeOp = SanitizeOp::Status {
    clear_failed: false,
};

#[test]
fn crypto_scramble_runs_polls_and_verifies_by_sampling() {
    let (mut d, media) = drive(Some((true, true, true)));
    d.sanitize.polls_to_complete = Some(8);
    let observer = Recorder::default();
    let (end, fw) = run_with(&mut d, &media, PolicyMethod::AtaSanitizeCrypto, &observer);
    assert_eq!(end.outcome, Outcome::Passed, "{}", detail(&end));
    // IDENTIFY, STATUS, CRYPTO SCRAMBLE, first and last STATUS polls, IDENTIFY.
    assert_eq!(
        names(&fw),
        [
            "identify-device",
            "sanitize-status-ext",
            "sanitize-crypto-scramble-ext",
            "sanitize-status-ext",
            "sanitize-status-ext",
            "identify-device"
        ]
    );
    let crypto = &fw.commands[2];
    // FEATURES 0011h, COUNT 0010h (FAILURE MODE), ATA status 50h.
    assert_eq!(
        (crypto.opcode, crypto.cdw10, crypto.cdw11, crypto.status),
        (0xB4, 0x0011, 0x0010, Some(0x50))
    );
    assert_eq!(fw.expected_content, "unspecified");
    assert_eq!(fw.presampled_unchanged, 0);
    assert!(fw.presampled_distinct >= 200, "{}", fw.presampled_distinct);
    let v = end.verification.unwrap();
    assert_eq!(v.result, VerificationResult::Passed);
    assert!(v.coverage_percent >= 10.0, "{}", v.coverage_percent);
    assert!(!canary_intact(&media));
    // The progress moved through the polls (n/65536 of the size) to the end.
    let p = observer.firmware_progress.lock().unwrap().clone();
    assert!(p.len() >= 8, "{p:?}");
    assert!(p.windows(2).all(|w| w[0] <= w[1]), "{p:?}");
    assert!(p.iter().any(|&b| b > 0 && b < SECTORS * SECTOR), "{p:?}");
    assert_eq!(*p.last().unwrap(), SECTORS * SECTOR);
    // The drive is idle, its last operation completed without error.
    let s = send(&mut d, STATUS).unwrap();
    assert!(s.completed_without_error && !s.in_progress);
}

#[test]
fn block_erase_leaves_the_vendor_value_and_verifies() {
    let (mut d, media) = drive(Some((false, true, false)));
    let (end, fw) = run(&mut d, &media, PolicyMethod::AtaSanitizeBlock);
    assert_eq!(end.outcome, Outcome::Passed, "{}", detail(&end));
    assert_eq!(fw.commands[2].name, "sanitize-block-erase-ext");
    assert_eq!(fw.commands[2].cdw10, 0x0012);
    assert!(media.0.lock().unwrap().iter().all(|&b| b == 0xFF));
    assert!(end.verification.unwrap().coverage_percent >= 10.0);
}

#[test]
fn overwrite_writes_zeros_and_the_read_back_checks_them() {
    let (mut d, media) = drive(Some((false, false, true)));
    let (end, fw) = run(&mut d, &media, PolicyMethod::AtaSanitizeOverwrite);
    assert_eq!(end.outcome, Outcome::Passed, "{}", detail(&end));
    let ow = &fw.commands[2];
    // FEATURES 0014h; COUNT 0011h: one pass, FAILURE MODE, no INVERT.
    assert_eq!(
        (ow.name.as_str(), ow.cdw10, ow.cdw11),
        ("sanitize-overwrite-ext", 0x14, 0x11)
    );
    assert_eq!(fw.expected_content, "zeros");
    let v = end.verification.unwrap();
    assert!(v.coverage_percent >= 10.0);
    assert_eq!(v.mismatched_sectors, 0);
    assert!(media.0.lock().unwrap().iter().all(|&b| b == 0));
}

#[test]
fn refused_when_the_drive_does_not_advertise_it() {
    // QEMU's page: no SANITIZE feature set. Only IDENTIFY is sent; nothing is written.
    let (mut d, media) = drive(None);
    for method in [
        PolicyMethod::AtaSanitizeCrypto,
        PolicyMethod::AtaSanitizeBlock,
        PolicyMethod::AtaSanitizeOverwrite,
    ] {
        let (end, fw) = run(&mut d, &media, method);
        assert_eq!(end.outcome, Outcome::Failed);
        assert_starts(
            &end,
            "nothing erased: the drive does not support the SANITIZE feature set (IDENTIFY DEVICE word 59 bit 12 is 0)",
        );
        assert_eq!(names(&fw), ["identify-device"]);
    }
    assert!(d.log.iter().all(|&c| c == 0xEC), "{:?}", d.log);
    assert!(canary_intact(&media));
    // The feature set, but not this operation.
    let (mut d, media) = drive(Some((true, false, false)));
    let (end, _) = run(&mut d, &media, PolicyMethod::AtaSanitizeBlock);
    assert_eq!(end.outcome, Outcome::Failed);
    assert_says(
        &end,
        "does not advertise BLOCK ERASE EXT (IDENTIFY DEVICE word 59 bit 15 is 0)",
    );
    assert!(canary_intact(&media));
    // Forced past the check, the drive itself refuses: reason 02h (unsupported).
    let err = send(&mut d, SanitizeOp::BlockErase { failure_mode: true }).unwrap_err();
    assert!(refused_for(&err, ata::SanitizeErrorReason::Unsupported));
    assert!(canary_intact(&media));
}

#[test]
fn a_failed_operation_is_cleared_and_recorded_as_failed() {
    let (mut d, media) = drive(Some((true, true, true)));
    d.sanitize.fail_next = true;
    let (end, fw) = run(&mut d, &media, PolicyMethod::AtaSanitizeCrypto);
    assert_eq!(end.outcome, Outcome::Failed);
    assert_starts(
        &end,
        "SANITIZE CRYPTO SCRAMBLE failed inside the drive (SANITIZE DEVICE ERROR REASON 01h)",
    );
    assert_says(&end, "failure state was cleared");
    assert_eq!(names(&fw).last(), Some(&"sanitize-status-ext-clear-failed"));
    assert!(end.verification.is_none());
    // The drive left the failed state (FAILURE MODE was set) and the wipe can run again.
    assert!(!d.sanitize.failed);
    let (again, _) = run(&mut d, &media, PolicyMethod::AtaSanitizeCrypto);
    assert_eq!(again.outcome, Outcome::Passed, "{}", detail(&again));
}

#[test]
fn without_failure_mode_only_a_successful_sanitize_leaves_the_failed_state() {
    let (mut d, _media) = drive(Some((true, true, true)));
    d.sanitize.fail_next = true;
    d.sanitize.polls_to_complete = Some(1);
    send(
        &mut d,
        SanitizeOp::CryptoScramble {
            failure_mode: false,
        },
    )
    .unwrap();
    let failed = send(&mut d, STATUS).unwrap_err();
    assert!(refused_for(
        &failed,
        ata::SanitizeErrorReason::OperationFailed
    ));
    // Reads and other commands are aborted in the failed state; IDENTIFY answers.
    assert!(ata::read_identify(&mut d).is_ok());
    let reply = read_native_max(&mut d);
    assert!(matches!(
        ata::decode_reply(&reply),
        Err(ata::AtaError::Aborted { .. })
    ));
    // CLEAR SANITIZE OPERATION FAILED is refused...
    assert!(send(&mut d, SanitizeOp::Status { clear_failed: true }).is_err());
    // ...but a new operation that succeeds ends the state. A session does that for itself:
    // it cannot read the drive to sample it, so it refuses with the reason.
    let media = MemoryDisk(common::canary_media(CANARY, SECTORS * SECTOR));
    let (end, _) = run(&mut d, &media, PolicyMethod::AtaSanitizeCrypto);
    assert_eq!(end.outcome, Outcome::Failed);
    assert_says(&end, "Sanitize Operation Failed state");
    send(
        &mut d,
        SanitizeOp::CryptoScramble {
            failure_mode: false,
        },
    )
    .unwrap();
    let s = send(&mut d, STATUS).unwrap();
    assert!(s.completed_without_error);
}

#[test]
fn power_loss_while_sanitizing_then_the_operation_goes_on_after_power_on() {
    let (mut d, media) = drive(Some((true, true, true)));
    d.sanitize.polls_to_complete = Some(6);
    d.sanitize.power_loss_at_poll = Some(3);
    let (end, _) = run(&mut d, &media, PolicyMethod::AtaSanitizeOverwrite);
    assert_eq!(end.outcome, Outcome::Failed);
    assert_starts(
        &end,
        "the drive stopped answering during SANITIZE OVERWRITE",
    );
    assert_says(&end, "power-cycle it, then run the wipe again");
    assert!(!d.powered);
    assert!(
        canary_intact(&media),
        "not finished: the medium is still the old one"
    );
    // Power-on: the operation is still in progress (two polls before the loss, this third
    // one: 3/6 done); reads are aborted.
    d.power_cycle();
    let s = send(&mut d, STATUS).unwrap();
    assert!(s.in_progress, "{s:?}");
    assert!(s.progress >= 0x8000, "{:#x}", s.progress);
    let reply = read_native_max(&mut d);
    assert!(ata::decode_reply(&reply).is_err());
    // The wipe run again waits for it, then sanitizes and verifies.
    let (end, fw) = run(&mut d, &media, PolicyMethod::AtaSanitizeOverwrite);
    assert_eq!(end.outcome, Outcome::Passed, "{}", detail(&end));
    let n = names(&fw);
    assert_eq!(
        n.iter().filter(|c| **c == "sanitize-overwrite-ext").count(),
        1,
        "{n:?}"
    );
    assert!(media.0.lock().unwrap().iter().all(|&b| b == 0));
}

#[test]
fn a_sanitize_frozen_drive_is_refused_until_power_on() {
    let (mut d, media) = drive(Some((true, true, true)));
    send(&mut d, SanitizeOp::FreezeLock).unwrap();
    let (end, fw) = run(&mut d, &media, PolicyMethod::AtaSanitizeCrypto);
    assert_eq!(end.outcome, Outcome::Failed);
    assert_starts(&end, "nothing erased: the drive is sanitize-frozen");
    assert!(detail(&end).contains("switch the machine off and on"));
    assert_eq!(names(&fw), ["identify-device", "sanitize-status-ext"]);
    assert!(canary_intact(&media));
    // The drive itself refuses the operation with reason 03h.
    let err = send(&mut d, SanitizeOp::CryptoScramble { failure_mode: true }).unwrap_err();
    assert!(refused_for(&err, ata::SanitizeErrorReason::Frozen));
    // Power-on lifts the freeze; ANTIFREEZE LOCK then makes FREEZE LOCK fail (reason 04h).
    d.power_cycle();
    let s = send(&mut d, SanitizeOp::AntifreezeLock).unwrap();
    assert!(s.antifreeze && !s.frozen);
    let err = send(&mut d, SanitizeOp::FreezeLock).unwrap_err();
    assert!(refused_for(&err, ata::SanitizeErrorReason::AntifreezeLock));
    let (end, _) = run(&mut d, &media, PolicyMethod::AtaSanitizeCrypto);
    assert_eq!(end.outcome, Outcome::Passed, "{}", detail(&end));
}

#[test]
fn a_firmware_that_reports_success_without_erasing_fails_the_verification() {
    for (method, ops) in [
        (PolicyMethod::AtaSanitizeCrypto, (true, false, false)),
        (PolicyMethod::AtaSanitizeOverwrite, (false, false, true)),
    ] {
        let (mut d, media) = drive(Some(ops));
        d.sanitize.lies = true;
        let (end, fw) = run(&mut d, &media, method);
        assert_eq!(end.outcome, Outcome::Failed, "{}", method.name());
        assert!(fw.presampled_unchanged > 200, "{}", fw.presampled_unchanged);
        assert_says(&end, "still hold their old content");
        assert_eq!(end.verification.unwrap().result, VerificationResult::Failed);
    }
}

#[test]
fn the_sampled_read_back_finds_old_content_outside_the_hashed_sectors() {
    // A crypto scramble that leaves every other 64 KiB block as it was, except the hashed
    // sectors: those all changed, but the sampled read-back (≥ 10 %) finds sectors that still
    // hold the old content of a hashed sector.
    struct HalfScramble {
        drive: ScriptedAtaDrive,
        media: Arc<Mutex<Vec<u8>>>,
        hashed: HashSet<u64>,
    }
    impl AtaPassThrough for HalfScramble {
        fn pass_through(
            &mut self,
            cdb: &[u8; 16],
            data: AtaData<'_>,
            timeout: Duration,
        ) -> std::io::Result<ata::ScsiReply> {
            let before = self.drive.sanitize.completed_without_error;
            let r = self.drive.pass_through(cdb, data, timeout);
            if !before && self.drive.sanitize.completed_without_error {
                let mut m = self.media.lock().unwrap();
                for (lba, sector) in m.chunks_mut(SECTOR as usize).enumerate() {
                    let lba = lba as u64;
                    if (lba / 128) % 2 == 1 && !self.hashed.contains(&lba) {
                        for (j, b) in sector.iter_mut().enumerate() {
                            *b = CANARY[(lba as usize * SECTOR as usize + j) % CANARY.len()];
                        }
                    }
                }
            }
            r
        }
    }
    let (drive, media) = drive(Some((true, false, false)));
    let p = params(PolicyMethod::AtaSanitizeCrypto);
    let hashed = presample_positions(SECTORS, PRESAMPLE_SECTORS, p.sample_seed)
        .into_iter()
        .collect();
    let mut half = HalfScramble {
        drive,
        media: media.0.clone(),
        hashed,
    };
    let (end, fw) = run_ata_sanitize_session(
        &media,
        &mut half,
        &p,
        &EngineConfig::default(),
        &Recorder::default(),
        &AtomicBool::new(false),
        &FAST,
    );
    assert_eq!(fw.presampled_unchanged, 0);
    assert_eq!(end.outcome, Outcome::Failed);
    assert_starts(&end, "the sampled read-back found");
    let v = end.verification.unwrap();
    assert_eq!(v.result, VerificationResult::Failed);
    assert!(v.mismatched_sectors > 100, "{}", v.mismatched_sectors);
    assert!(v.coverage_percent >= 10.0);
}
