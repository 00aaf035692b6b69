//! eMMC secure erase sessions: on a loop device the test creates (the kernel's real
//! `BLKSECDISCARD` path answers EOPNOTSUPP: nothing erased, the typed error), and with a
//! stand-in eraser over an in-memory card for the paths no device here can take (a card that
//! erases, one that lies, mmc-utils missing). No real eMMC was used.

mod common;

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use atelier_device::emmc::EmmcError;
use atelier_device::{DirectDevice, SystemRoot, find};
use atelier_record::{FirmwareErase, NistCategory, Outcome, VerificationResult};
use atelier_testkit::{LoopDevice, LoopOptions, canary_block, device_tier, sectors_with_canary};
use atelier_wipe::emmc_erase::{EmmcEraser, KernelEmmc, run_emmc_secure_erase_session};
use atelier_wipe::policy::{
    self, Capabilities, EmmcCapabilities, MediaClass, PolicyMethod, PolicyReason, Requested,
};
use atelier_wipe::{BlockIo, EngineConfig, SessionEnd};
use common::{MemoryDisk, Quiet};

const SECTOR: u64 = 512;
const SECTORS: u64 = 65_536;

/// An in-memory eMMC: its secure erase leaves every byte at `erased` (ERASED_MEM_CONT), or
/// nothing when it lies; mmc-utils is missing.
struct MemoryCard {
    media: Arc<Mutex<Vec<u8>>>,
    erased: u8,
    lies: bool,
}

impl EmmcEraser for MemoryCard {
    fn secure_erase_all(&mut self) -> Result<u64, EmmcError> {
        let mut m = self.media.lock().unwrap();
        if !self.lies {
            m.fill(self.erased);
        }
        Ok(m.len() as u64)
    }
    fn sanitize(&mut self) -> Result<(), EmmcError> {
        Err(EmmcError::MmcUtilsMissing {
            program: "mmc".into(),
        })
    }
}

fn params(size: u64) -> atelier_wipe::WipeParams {
    let device = common::disk(
        "mmcblk0",
        (179, 0),
        atelier_record::Transport::Mmc,
        "DG4008",
        "0x1234abcd",
        size,
    );
    common::firmware_params(&device, PolicyMethod::EmmcSecureErase)
}

/// A secure erase session with `eraser` on all of `dev`.
fn run(dev: &dyn BlockIo, eraser: &mut dyn EmmcEraser) -> (SessionEnd, FirmwareErase) {
    run_emmc_secure_erase_session(
        dev,
        eraser,
        &params(dev.size_bytes()),
        &EngineConfig::default(),
        &Quiet,
        &AtomicBool::new(false),
    )
}

fn card(content: impl Fn(usize) -> u8) -> Arc<Mutex<Vec<u8>>> {
    Arc::new(Mutex::new(
        (0..(SECTORS * SECTOR) as usize).map(content).collect(),
    ))
}

#[test]
fn policy_takes_secure_erase_only_on_an_emmc_the_kernel_can_erase() {
    let caps = |emmc| Capabilities {
        media: MediaClass::MemoryCard,
        nvme: None,
        ata: None,
        probe_error: None,
        scsi: None,
        emmc,
    };
    let yes = caps(Some(EmmcCapabilities {
        secure_erase: true,
        mmc_utils: false,
    }));
    let d = policy::decide(&yes, Requested::Auto).unwrap();
    assert_eq!(
        (d.method, d.category),
        (PolicyMethod::EmmcSecureErase, NistCategory::Clear)
    );
    // The probe's EOPNOTSUPP: the host overwrite, "Purge not possible".
    let no = caps(Some(EmmcCapabilities {
        secure_erase: false,
        mmc_utils: true,
    }));
    let d = policy::decide(&no, Requested::Auto).unwrap();
    assert_eq!(d.method, PolicyMethod::Overwrite);
    assert_eq!(
        d.reason,
        PolicyReason::PurgeNotPossible {
            media: MediaClass::MemoryCard
        }
    );
    let refused = policy::decide(&no, Requested::Exact(PolicyMethod::EmmcSecureErase)).unwrap_err();
    assert!(refused.to_string().contains("EOPNOTSUPP"), "{refused}");
    // An SD card (no eMMC capabilities): overwrite.
    assert_eq!(
        policy::decide(&caps(None), Requested::Auto).unwrap().method,
        PolicyMethod::Overwrite
    );
    let sd =
        policy::decide(&caps(None), Requested::Exact(PolicyMethod::EmmcSecureErase)).unwrap_err();
    assert!(sd.to_string().contains("not an eMMC"), "{sd}");
}

#[test]
fn a_card_that_erases_passes_and_mmc_utils_missing_is_recorded() {
    // Half the card blank (never written: reads 00h), half canary text.
    let media = card(|i| {
        if i < (SECTORS * SECTOR / 2) as usize {
            0
        } else {
            b"EMMC-CANARY-"[i % 12]
        }
    });
    let disk = MemoryDisk(media.clone());
    let mut eraser = MemoryCard {
        media: media.clone(),
        erased: 0x00,
        lies: false,
    };
    let (end, section) = run(&disk, &mut eraser);
    assert_eq!(end.outcome, Outcome::Passed, "{:?}", end.detail);
    assert_eq!(section.command_set, "emmc");
    // Blank sectors prove nothing and are not counted; the canary ones all changed.
    assert!(section.presampled_distinct > 50, "{section:?}");
    assert!(section.presampled_distinct < section.presampled_sectors);
    assert_eq!(section.presampled_unchanged, 0);
    assert_eq!(
        common::command_names(&section),
        ["blksecdiscard", "mmc-sanitize"]
    );
    assert_eq!(section.commands[0].status, Some(0));
    assert!(
        section.commands[1]
            .os_error
            .as_deref()
            .unwrap()
            .contains("mmc-utils"),
        "{:?}",
        section.commands[1]
    );
    assert_eq!(end.verification.unwrap().result, VerificationResult::Passed);
}

#[test]
fn a_card_that_lies_is_caught() {
    let media = card(|i| b"EMMC-CANARY-"[i % 12]);
    let disk = MemoryDisk(media.clone());
    let mut eraser = MemoryCard {
        media,
        erased: 0xFF,
        lies: true,
    };
    let (end, section) = run(&disk, &mut eraser);
    assert_eq!(end.outcome, Outcome::Failed);
    assert_eq!(section.presampled_unchanged, section.presampled_sectors);
}

#[test]
fn loop_device_secure_erase_is_refused_by_the_kernel_and_nothing_is_erased() {
    if !device_tier(&[]) {
        return;
    }
    let dev = LoopDevice::with(LoopOptions::new(16 << 20));
    dev.fill(4096, canary_block);
    let before = sectors_with_canary(&dev.read_all());
    let planned = find(&SystemRoot::live(), &dev.name())
        .expect("sysfs")
        .expect("the loop device is listed");
    let direct = DirectDevice::open(dev.path(), &planned, true).expect("open the loop device");
    let mut eraser = KernelEmmc::new(dev.path());
    let (end, section) = run(&direct, &mut eraser);
    drop(direct);
    assert_eq!(end.outcome, Outcome::Failed);
    let detail = end.detail.unwrap();
    assert!(detail.contains("operation not supported"), "{detail}");
    assert!(detail.contains("nothing was erased"), "{detail}");
    assert_eq!(section.commands.len(), 1);
    assert!(section.commands[0].os_error.is_some());
    assert_eq!(sectors_with_canary(&dev.read_all()), before);
}
