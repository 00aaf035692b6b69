//! NVMe Sanitize sessions against the scripted controller of `atelier-device`
//! (`nvme_scripted`): the Identify pages captured from QEMU with SANICAP patched, an in-memory
//! namespace the scripted operation really changes, I/O refused while it runs or after a
//! failure, and power loss in the middle.

mod common;

use std::io;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atelier_device::nvme::{self, SanitizeAction};
use atelier_device::nvme_scripted::{
    NvmeFaults, SanitizeMachine, ScriptedNamespace, ScriptedNvme, patch_dlfeat, patch_sanicap,
};
use atelier_record::{FirmwareErase, Outcome, VerificationResult};
use atelier_wipe::nvme_sanitize::{SanitizePolling, SanitizeTick, run_sanitize_session};
use atelier_wipe::policy::PolicyMethod;
use atelier_wipe::{BlockIo, EngineConfig, SessionEnd};
use common::{Quiet, command_names as names, fixture};

const SECTOR: u64 = 512;
const SECTORS: u64 = 131_072; // the captured namespace: 64 MiB
const CES: u32 = 1;
const BES: u32 = 2;
const OWS: u32 = 4;
const NDI: u32 = 1 << 29;

/// The namespace as the session reads it: through the scripted controller, which refuses
/// I/O during an operation and in failure mode.
struct Namespace(ScriptedNamespace);

impl BlockIo for Namespace {
    fn size_bytes(&self) -> u64 {
        self.0.size_bytes()
    }
    fn logical_sector_size(&self) -> u32 {
        SECTOR as u32
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.0.write_at(buf, offset)
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.0.read_at(buf, offset)
    }
    fn sync_data(&self) -> io::Result<()> {
        Ok(())
    }
}

/// A scripted controller over a 64 MiB namespace full of canary text, advertising `sanicap`.
/// DLFEAT stays as captured from QEMU (001b: deallocated blocks read as zeros) unless
/// `dlfeat` says otherwise.
fn drive(sanicap: u32, dlfeat: Option<u8>) -> (ScriptedNvme, Arc<Mutex<Vec<u8>>>) {
    let media = common::canary_media(b"ATELIER-CANARY ", SECTORS * SECTOR);
    let mut ctrl = fixture("nvme-ATL-NVME-01.id-ctrl.bin");
    let mut ns = fixture("nvme-ATL-NVME-01.id-ns.bin");
    patch_sanicap(&mut ctrl, sanicap);
    if let Some(d) = dlfeat {
        patch_dlfeat(&mut ns, d);
    }
    let c = ScriptedNvme::new(ctrl, ns, Arc::clone(&media));
    // Estimates in the log: overwrite (16 passes) 1600 s, block 60 s, crypto 4 s.
    c.set_estimates([1600, 60, 4, u32::MAX, u32::MAX, u32::MAX]);
    (c, media)
}

fn fast() -> SanitizePolling {
    SanitizePolling {
        interval: Duration::ZERO,
        timeout: Duration::from_secs(60),
        silence: Duration::from_millis(200),
    }
}

struct Run {
    end: SessionEnd,
    section: FirmwareErase,
    ticks: Vec<SanitizeTick>,
}

fn run_with(ctrl: &ScriptedNvme, method: PolicyMethod, polling: SanitizePolling) -> Run {
    let ns = Namespace(ctrl.namespace());
    let params = common::nvme_params(method, SECTORS * SECTOR);
    let mut session_ctrl = ctrl.clone();
    let mut ticks = Vec::new();
    let (end, section) = run_sanitize_session(
        &ns,
        &mut session_ctrl,
        1,
        &params,
        &EngineConfig::default(),
        &Quiet,
        &AtomicBool::new(false),
        &polling,
        &mut |t| ticks.push(*t),
    );
    Run {
        end,
        section,
        ticks,
    }
}

fn run(ctrl: &ScriptedNvme, method: PolicyMethod) -> Run {
    run_with(ctrl, method, fast())
}

fn assert_passed(r: &Run) {
    assert_eq!(r.end.outcome, Outcome::Passed, "{:?}", r.end.detail);
    let v = r.end.verification.as_ref().unwrap();
    assert_eq!(v.result, VerificationResult::Passed);
    assert!(
        v.coverage_percent >= 10.0 || r.section.expected_content == "unspecified",
        "coverage {}",
        v.coverage_percent
    );
    assert!(r.section.presampled_sectors >= 200);
    assert_eq!(r.section.presampled_unchanged, 0);
}

#[test]
fn crypto_erase_runs_is_watched_and_verified() {
    let (ctrl, media) = drive(CES | BES | OWS, None);
    let r = run(&ctrl, PolicyMethod::NvmeSanitizeCrypto);
    assert_passed(&r);
    // Deallocated after the crypto erase; DLFEAT 001b: zeros, checked by sampled read-back.
    assert_eq!(r.section.expected_content, "zeros");
    assert!(media.lock().unwrap().iter().all(|&b| b == 0));
    // Exactly one Sanitize, crypto erase, unrestricted completion mode: CDW10 = 0x0C.
    assert_eq!(
        ctrl.sanitize_commands(),
        [(Some(SanitizeAction::CryptoErase), 0x0C, 0)]
    );
    assert_eq!(
        names(&r.section),
        [
            "identify",
            "identify",
            "get-log-page",
            "sanitize",
            "get-log-page",
            "get-log-page"
        ]
    );
    let san = &r.section.commands[3];
    assert_eq!(
        (san.opcode, san.nsid, san.cdw10, san.status),
        (0x84, Some(0), 0x0C, Some(0))
    );
    assert_eq!(r.section.identify_sha256.len(), 64);
    // Progress went 0 → 25 → 50 → 75 %, with the drive's crypto-erase estimate (4 s).
    let percents: Vec<u32> = r.ticks.iter().map(|t| t.percent.round() as u32).collect();
    assert_eq!(percents, [0, 25, 50, 75]);
    assert!(
        r.ticks
            .iter()
            .all(|t| t.estimate == Some(Duration::from_secs(4)))
    );
    assert!(r.ticks[1].remaining.is_some());
}

#[test]
fn crypto_erase_without_dlfeat_leaves_noise_and_is_checked_against_the_hashes() {
    // DLFEAT 000b: the drive does not say what erased blocks read as; the ciphertext noise
    // stays. Only the "no hashed sector kept its content" check can run.
    let (ctrl, media) = drive(CES, Some(0));
    let r = run(&ctrl, PolicyMethod::NvmeSanitizeCrypto);
    assert_passed(&r);
    assert_eq!(r.section.expected_content, "unspecified");
    assert!(
        !media
            .lock()
            .unwrap()
            .windows(15)
            .take(4096)
            .any(|w| w == b"ATELIER-CANARY ")
    );
}

#[test]
fn block_erase_runs_and_reads_back_zeros() {
    let (ctrl, media) = drive(BES, None);
    let r = run(&ctrl, PolicyMethod::NvmeSanitizeBlock);
    assert_passed(&r);
    assert_eq!(r.section.expected_content, "zeros");
    assert_eq!(
        ctrl.sanitize_commands(),
        [(Some(SanitizeAction::BlockErase), 0x0A, 0)]
    );
    assert!(media.lock().unwrap().iter().all(|&b| b == 0));
    assert!(
        r.ticks
            .iter()
            .all(|t| t.estimate == Some(Duration::from_secs(60)))
    );
}

#[test]
fn overwrite_runs_one_pass_of_zeros_without_deallocation() {
    // DLFEAT says ones here, so a pass of zeros read back proves the overwrite itself.
    let (ctrl, media) = drive(OWS, Some(2));
    let r = run(&ctrl, PolicyMethod::NvmeSanitizeOverwrite);
    assert_passed(&r);
    assert_eq!(r.section.expected_content, "zeros");
    // 011b | AUSE | OWPASS 1 | NDAS.
    assert_eq!(
        ctrl.sanitize_commands(),
        [(Some(SanitizeAction::Overwrite), 0x21B, 0)]
    );
    assert!(media.lock().unwrap().iter().all(|&b| b == 0));
    // One pass of the 16-pass estimate: 100 s.
    assert_eq!(r.ticks[0].estimate, Some(Duration::from_secs(100)));
}

#[test]
fn overwrite_on_a_drive_that_must_deallocate_expects_dlfeat() {
    // SANICAP.NDI: No-Deallocate is inhibited, so the bench does not ask for it and expects
    // what deallocated blocks read as (ones here).
    let (ctrl, media) = drive(OWS | NDI, Some(2));
    let r = run(&ctrl, PolicyMethod::NvmeSanitizeOverwrite);
    assert_passed(&r);
    assert_eq!(r.section.expected_content, "ones");
    assert_eq!(ctrl.sanitize_commands()[0].1, 0x01B);
    assert!(media.lock().unwrap().iter().all(|&b| b == 0xFF));
}

#[test]
fn not_advertised_is_refused_before_anything_is_sent() {
    // QEMU's own pages: SANICAP = 0.
    for (sanicap, method) in [
        (0, PolicyMethod::NvmeSanitizeCrypto),
        (0, PolicyMethod::NvmeSanitizeBlock),
        (BES | OWS, PolicyMethod::NvmeSanitizeCrypto),
        (CES, PolicyMethod::NvmeSanitizeOverwrite),
    ] {
        let (ctrl, media) = drive(sanicap, None);
        let r = run(&ctrl, method);
        assert_eq!(r.end.outcome, Outcome::Failed);
        let detail = r.end.detail.unwrap();
        assert!(
            detail.starts_with("nothing erased: the drive does not advertise"),
            "{detail}"
        );
        assert!(detail.contains("SANICAP"), "{detail}");
        assert!(ctrl.sanitize_commands().is_empty());
        assert!(r.end.verification.is_none());
        assert!(media.lock().unwrap().starts_with(b"ATELIER-CANARY "));
    }
}

#[test]
fn another_operation_in_progress_is_left_alone() {
    // Another host (or an earlier tool) started a block erase: the session does not send a
    // second Sanitize (the drive would refuse it with Sanitize In Progress) and says why.
    let (ctrl, media) = drive(CES | BES, None);
    let mut other = ctrl.clone();
    let started = nvme::run(
        &mut other,
        &nvme::sanitize(SanitizeAction::BlockErase, nvme::SanitizeOptions::default()),
        None,
        Duration::from_secs(1),
    )
    .0;
    assert!(started.is_ok());
    let r = run(&ctrl, PolicyMethod::NvmeSanitizeCrypto);
    assert_eq!(r.end.outcome, Outcome::Failed);
    let detail = r.end.detail.unwrap();
    assert!(
        detail.contains("another sanitize operation is in progress"),
        "{detail}"
    );
    assert!(r.ticks.is_empty());
    assert_eq!(ctrl.sanitize_commands().len(), 1, "nothing more sent");
    assert!(media.lock().unwrap().starts_with(b"ATELIER-CANARY "));
}

#[test]
fn failure_sends_exit_failure_mode_and_ends_failed() {
    let (ctrl, media) = drive(CES | BES, None);
    ctrl.set_faults(NvmeFaults {
        fail_at_progress: Some(40_000),
        ..NvmeFaults::default()
    });
    let r = run(&ctrl, PolicyMethod::NvmeSanitizeBlock);
    assert_eq!(r.end.outcome, Outcome::Failed);
    assert!(
        r.end.verification.is_none(),
        "no verification, nothing to certify"
    );
    let detail = r.end.detail.unwrap();
    assert!(detail.contains("SSTAT = 011b"), "{detail}");
    assert!(detail.contains("left failure mode"), "{detail}");
    assert!(detail.contains("NOT sanitized"), "{detail}");
    // Block erase, then Exit Failure Mode (SANACT 001b).
    let sent: Vec<_> = ctrl.sanitize_commands().iter().map(|c| c.0).collect();
    assert_eq!(
        sent,
        [
            Some(SanitizeAction::BlockErase),
            Some(SanitizeAction::ExitFailureMode)
        ]
    );
    assert_eq!(names(&r.section).last(), Some(&"sanitize"));
    assert_eq!(r.section.commands.last().unwrap().cdw10, 0x1);
    assert_eq!(ctrl.machine(), SanitizeMachine::Idle);
    // Half erased, half not: the drive is usable again but not sanitized.
    let m = media.lock().unwrap();
    assert!(m.starts_with(&[0u8; 512]));
    assert!(m[m.len() - 4096..].windows(7).any(|w| w == b"CANARY "));
}

#[test]
fn power_loss_then_reset_resumes_and_completes() {
    let (ctrl, media) = drive(CES, None);
    ctrl.set_faults(NvmeFaults {
        power_loss_at_poll: Some(2),
        recover_after: Some(3),
        ..NvmeFaults::default()
    });
    let r = run(&ctrl, PolicyMethod::NvmeSanitizeCrypto);
    assert_passed(&r);
    assert!(media.lock().unwrap().iter().all(|&b| b == 0));
    // One Sanitize only: the operation resumed by itself after the reset.
    assert_eq!(ctrl.sanitize_commands().len(), 1);
    // The silence is in the record: one failed poll, with its OS error.
    let failed: Vec<_> = r
        .section
        .commands
        .iter()
        .filter(|c| c.os_error.is_some())
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].name, "get-log-page");
}

#[test]
fn power_loss_for_good_ends_interrupted_and_a_resumed_job_verifies() {
    let (ctrl, media) = drive(CES, None);
    ctrl.set_faults(NvmeFaults {
        power_loss_at_poll: Some(3),
        ..NvmeFaults::default()
    });
    let r = run(&ctrl, PolicyMethod::NvmeSanitizeCrypto);
    assert_eq!(r.end.outcome, Outcome::Interrupted);
    let detail = r.end.detail.unwrap();
    assert!(detail.contains("stopped answering"), "{detail}");
    assert!(detail.contains("--resume"), "{detail}");
    assert!(r.end.verification.is_none());
    // Power comes back: the drive resumes its operation; the resumed job finds it running,
    // sends no second Sanitize, waits, then verifies against DLFEAT (zeros).
    ctrl.power_cycle();
    assert!(matches!(ctrl.machine(), SanitizeMachine::Processing { .. }));
    let again = run(&ctrl, PolicyMethod::NvmeSanitizeCrypto);
    assert_eq!(again.end.outcome, Outcome::Passed, "{:?}", again.end.detail);
    assert_eq!(again.section.presampled_sectors, 0);
    assert!(again.end.verification.as_ref().unwrap().coverage_percent >= 10.0);
    assert_eq!(ctrl.sanitize_commands().len(), 1);
    assert!(media.lock().unwrap().iter().all(|&b| b == 0));
}

#[test]
fn a_lying_drive_fails_verification() {
    let (ctrl, _media) = drive(CES, None);
    ctrl.set_faults(NvmeFaults {
        sanitize_lies: true,
        ..NvmeFaults::default()
    });
    let r = run(&ctrl, PolicyMethod::NvmeSanitizeCrypto);
    assert_eq!(r.end.outcome, Outcome::Failed);
    let v = r.end.verification.as_ref().unwrap();
    assert_eq!(v.result, VerificationResult::Failed);
    assert!(v.mismatched_sectors > 0);
    assert!(r.section.presampled_unchanged > 0);
}

#[test]
fn a_job_that_never_finishes_times_out_failed() {
    let (ctrl, _media) = drive(BES, None);
    ctrl.set_step(1); // 65536 polls to finish
    let r = run_with(
        &ctrl,
        PolicyMethod::NvmeSanitizeBlock,
        SanitizePolling {
            interval: Duration::from_millis(1),
            timeout: Duration::from_millis(50),
            silence: Duration::from_secs(1),
        },
    );
    assert_eq!(r.end.outcome, Outcome::Failed);
    assert!(r.end.detail.unwrap().contains("did not finish"));
    assert!(r.end.verification.is_none());
}
