//! Restoring hidden areas before a wipe, on the scripted ATA drive (atelier_device::ata_scripted
//! with its HPA / DCO / AMAC state, answering as ACS-3 §4.9, §4.11 and ACS-4 §4.4 describe):
//! an HPA restored with a non-volatile SET MAX ADDRESS EXT and measured again; a DCO restored
//! after the HPA; the AMAC path on a drive that has it; frozen DCO / AMAC and a refused SET MAX
//! (as QEMU's SATA disk does) recorded as exceptions with a clear cause; no consent: nothing
//! sent, the exception stays. After a restore the overwrite covers the sectors that were
//! hidden (the "kernel" view below is sized from the drive, as a rescan would).

mod common;

use std::io;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use atelier_device::ata_hidden::{self, HiddenAreaError, HiddenAreaFeatures, names};
use atelier_device::ata_scripted::{HiddenAreaState, ScriptedAtaDrive};
use atelier_record::{
    HiddenAreaCheck, HiddenAreaRestoreOutcome, Outcome, TitleVerdict, ToolInfo, Transport,
    VerificationMode,
};
use atelier_wipe::firmware::{self, Probe};
use atelier_wipe::hidden_area::{self, RestoreAttempt};
use atelier_wipe::policy::MediaClass;
use atelier_wipe::{BlockIo, EngineConfig, JobProgress, Method, WipeParams, run_session};
use common::Quiet;

const SECTOR: u64 = 512;
/// Every sector the scripted drive has (its media buffer).
const FACTORY: u64 = 65_536;
const CANARY: &[u8] = b"ATELIER-CANARY ";

/// What the kernel shows of the drive: the first `sectors` of the media (the size a rescan
/// reads from the drive's IDENTIFY capacity).
struct KernelView {
    media: Arc<Mutex<Vec<u8>>>,
    sectors: u64,
}

impl BlockIo for KernelView {
    fn size_bytes(&self) -> u64 {
        self.sectors * SECTOR
    }
    fn logical_sector_size(&self) -> u32 {
        512
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        assert!(offset + buf.len() as u64 <= self.size_bytes());
        let mut m = self.media.lock().unwrap();
        m[offset as usize..offset as usize + buf.len()].copy_from_slice(buf);
        Ok(())
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let m = self.media.lock().unwrap();
        buf.copy_from_slice(&m[offset as usize..offset as usize + buf.len()]);
        Ok(())
    }
    fn sync_data(&self) -> io::Result<()> {
        Ok(())
    }
}

fn drive(hidden: Option<HiddenAreaState>) -> (ScriptedAtaDrive, Arc<Mutex<Vec<u8>>>) {
    let page = common::sata_identify_page();
    let media = common::canary_media(CANARY, FACTORY * SECTOR);
    let mut d = ScriptedAtaDrive::new(page, media.clone());
    d.hidden = hidden;
    (d, media)
}

/// A drive with an HPA of `hpa` sectors and a DCO that hides nothing more.
fn hpa_drive(hpa: u64) -> (ScriptedAtaDrive, Arc<Mutex<Vec<u8>>>) {
    drive(Some(HiddenAreaState::hpa_dco(
        FACTORY - hpa,
        FACTORY,
        FACTORY,
    )))
}

/// The restore of a consented attempt, which must have succeeded.
fn restored(attempt: Option<RestoreAttempt>) -> atelier_record::HiddenAreaRestore {
    let r = attempt.unwrap().restore;
    assert_eq!(
        r.outcome,
        HiddenAreaRestoreOutcome::Restored,
        "{:?}",
        r.error
    );
    r
}

/// The kernel's rescan: the capacity the drive now shows.
fn rescan(d: &ScriptedAtaDrive) -> u64 {
    d.hidden.as_ref().map_or(FACTORY, |h| h.accessible_sectors)
}

/// Probe, restore (or not), rescan, record the check, overwrite with zeros what the kernel
/// shows, close the entry.
fn wipe(
    d: &mut ScriptedAtaDrive,
    media: &Arc<Mutex<Vec<u8>>>,
    consent: bool,
) -> (
    Probe,
    Option<RestoreAttempt>,
    atelier_record::SanitizationEntry,
) {
    let probe = firmware::probe_ata(d, MediaClass::SataHdd);
    let attempt = hidden_area::restore_before_wipe(d, &probe, consent);
    let kernel = rescan(d);
    let (check, after) = match &attempt {
        Some(a) => {
            let mut r = a.restore.clone();
            if a.probe_after.is_some() {
                hidden_area::with_kernel_view(&mut r, Ok(kernel));
            }
            let after = a.probe_after.clone().unwrap_or_else(|| probe.clone());
            (hidden_area::record_check(&after, Some(r)), after)
        }
        None => (hidden_area::record_check(&probe, None), probe.clone()),
    };
    let _ = after;
    let device = common::disk(
        "sda",
        (8, 0),
        Transport::Sata,
        "QEMU HARDDISK",
        "ATL-SATA-01",
        kernel * SECTOR,
    );
    let mut params = WipeParams::new(
        &device,
        Method::OverwriteZero,
        VerificationMode::Sampled,
        1 << 20,
    )
    .unwrap();
    params.hidden_area = Some(check);
    let mut entry = params.initial_entry(ToolInfo {
        name: "atelier".into(),
        version: "test".into(),
    });
    let view = KernelView {
        media: media.clone(),
        sectors: kernel,
    };
    let end = run_session(
        &view,
        &params,
        JobProgress::default(),
        false,
        &EngineConfig::default(),
        &Quiet,
        &AtomicBool::new(false),
    );
    atelier_wipe::apply_session_end(&mut entry, &end, 1.0);
    (probe, attempt, entry)
}

/// Bytes of sectors `first..FACTORY` that still hold their content from before the wipe.
fn canaries_from(media: &Arc<Mutex<Vec<u8>>>, first: u64) -> usize {
    canaries_in(media, first, FACTORY)
}

/// Bytes of sectors `first..end` that still hold their content from before the wipe.
fn canaries_in(media: &Arc<Mutex<Vec<u8>>>, first: u64, end: u64) -> usize {
    let m = media.lock().unwrap();
    let (a, b) = ((first * SECTOR) as usize, (end * SECTOR) as usize);
    (a..b).filter(|&i| m[i] == CANARY[i % CANARY.len()]).count()
}

#[test]
fn an_hpa_is_restored_non_volatile_measured_again_and_wiped() {
    let hpa = 2048;
    let (mut d, media) = hpa_drive(hpa);
    let (probe, attempt, entry) = wipe(&mut d, &media, true);
    assert_eq!(probe.hidden_sectors(), hpa);
    let r = restored(attempt);
    assert_eq!(r.mechanism, "hpa-dco");
    assert_eq!(r.commands, [names::SET_MAX_NON_VOLATILE]);
    assert_eq!(r.user_sectors_before, FACTORY - hpa);
    assert_eq!(r.native_max_sectors_before, FACTORY);
    assert_eq!(r.dco_max_sectors, Some(FACTORY));
    assert_eq!(r.user_sectors_after, Some(FACTORY));
    // READ NATIVE MAX right before SET MAX (27h then 37h), whose COUNT bit 0 asked for a
    // non-volatile change: the drive keeps it across a power cycle.
    let at = d.log.iter().position(|&c| c == 0x37).unwrap();
    assert_eq!(d.log[at - 1], 0x27);
    d.power_cycle();
    assert_eq!(d.hidden.as_ref().unwrap().accessible_sectors, FACTORY);
    // The record: nothing hidden any more, the restore said, no exception, "erased".
    let Some(HiddenAreaCheck::Measured {
        hidden_sectors,
        native_max_sectors,
        user_sectors,
        restore,
        ..
    }) = &entry.hidden_area
    else {
        panic!("{:?}", entry.hidden_area)
    };
    assert_eq!(
        (*hidden_sectors, *native_max_sectors, *user_sectors),
        (0, FACTORY, FACTORY)
    );
    let restore = restore.as_ref().unwrap();
    assert_eq!(restore.outcome, HiddenAreaRestoreOutcome::Restored);
    assert_eq!(restore.kernel_sectors_after, Some(FACTORY));
    assert!(entry.exceptions.is_empty(), "{:?}", entry.exceptions);
    assert_eq!(entry.outcome, Outcome::Passed, "{:?}", entry.outcome_detail);
    assert_eq!(
        TitleVerdict::decide(std::slice::from_ref(&entry), None),
        TitleVerdict::Erased
    );
    // The overwrite reached the sectors that were hidden.
    assert_eq!(canaries_from(&media, FACTORY - hpa), 0);
    assert_eq!(canaries_from(&media, 0), 0);
    let json = serde_json::to_value(&entry).unwrap();
    assert_eq!(json["hidden_area"]["restore"]["outcome"], "restored");
    assert_eq!(
        json["hidden_area"]["restore"]["commands"][0],
        "ATA SET MAX ADDRESS EXT (non-volatile)"
    );
}

#[test]
fn a_dco_is_restored_after_the_hpa() {
    // HPA of 1024 sectors below a native max the DCO cut 4096 sectors short.
    let (native, accessible) = (FACTORY - 4096, FACTORY - 4096 - 1024);
    let (mut d, media) = drive(Some(HiddenAreaState::hpa_dco(accessible, native, FACTORY)));
    let (probe, attempt, entry) = wipe(&mut d, &media, true);
    assert_eq!(probe.dco, Some(Ok(FACTORY)));
    assert_eq!(probe.hidden_sectors(), 4096 + 1024);
    assert_eq!(probe.dco_hidden_sectors(), 4096);
    let r = restored(attempt);
    assert_eq!(
        r.commands,
        [names::SET_MAX_NON_VOLATILE, names::DCO_RESTORE],
        "the HPA first: DEVICE CONFIGURATION RESTORE is aborted while an HPA is set"
    );
    assert_eq!(r.native_max_sectors_before, native);
    assert_eq!(r.dco_max_sectors, Some(FACTORY));
    assert_eq!(r.user_sectors_after, Some(FACTORY));
    assert_eq!(entry.hidden_area.as_ref().unwrap().hidden_sectors(), 0);
    assert!(entry.exceptions.is_empty(), "{:?}", entry.exceptions);
    assert_eq!(canaries_from(&media, accessible), 0);
    // The check names both commands that measured it.
    let Some(HiddenAreaCheck::Measured { method, .. }) = &entry.hidden_area else {
        panic!()
    };
    assert_eq!(
        method,
        "ATA READ NATIVE MAX ADDRESS EXT + ATA DEVICE CONFIGURATION IDENTIFY"
    );
}

#[test]
fn the_amac_path_is_used_when_the_drive_has_it() {
    let accessible = FACTORY - 3000;
    let (mut d, media) = drive(Some(HiddenAreaState::amac(accessible, FACTORY)));
    let (probe, attempt, entry) = wipe(&mut d, &media, true);
    assert!(probe.hidden_features.unwrap().amac);
    assert_eq!(probe.hidden_sectors(), 3000);
    let r = restored(attempt);
    assert_eq!(r.mechanism, "amac");
    assert_eq!(r.commands, [names::AMAC_SET]);
    assert_eq!(r.dco_max_sectors, None);
    // Only ACCESSIBLE MAX ADDRESS CONFIGURATION: no HPA or DCO command went to the drive.
    assert!(d.log.contains(&0x78));
    assert!(
        !d.log.iter().any(|c| [0x27, 0x37, 0xB1].contains(c)),
        "{:x?}",
        d.log
    );
    let Some(HiddenAreaCheck::Measured { method, .. }) = &entry.hidden_area else {
        panic!()
    };
    assert_eq!(method, "ATA GET NATIVE MAX ADDRESS EXT");
    assert!(entry.exceptions.is_empty(), "{:?}", entry.exceptions);
    assert_eq!(canaries_from(&media, accessible), 0);
}

#[test]
fn a_frozen_amac_is_an_exception_with_its_cause() {
    let accessible = FACTORY - 3000;
    let mut state = HiddenAreaState::amac(accessible, FACTORY);
    state.amac_frozen = true;
    let (mut d, media) = drive(Some(state));
    let (_, attempt, entry) = wipe(&mut d, &media, true);
    let r = attempt.unwrap().restore;
    assert_eq!(r.outcome, HiddenAreaRestoreOutcome::Failed);
    assert_eq!(
        r.error.as_deref(),
        Some(HiddenAreaError::AmacFrozen.to_string().as_str())
    );
    assert!(r.commands.is_empty());
    assert_eq!(entry.hidden_area.as_ref().unwrap().hidden_sectors(), 3000);
    assert_eq!(entry.exceptions.len(), 1);
    let e = &entry.exceptions[0];
    assert!(
        e.starts_with("hidden area of 3000 sectors (1.5 MiB) not erased (restore failed:")
            && e.contains("accessible max address is frozen"),
        "{e}"
    );
    assert_eq!(
        TitleVerdict::decide(std::slice::from_ref(&entry), None),
        TitleVerdict::ErasedWithExceptions
    );
    // The hidden sectors really kept their content.
    assert_eq!(canaries_from(&media, accessible), 3000 * SECTOR as usize);
    assert_eq!(canaries_in(&media, 0, accessible), 0);
}

#[test]
fn a_frozen_dco_after_the_hpa_is_restored_is_still_an_exception() {
    let hpa = 2048;
    let mut state = HiddenAreaState::hpa_dco(FACTORY - 4096 - hpa, FACTORY - 4096, FACTORY);
    state.dco_frozen = true;
    let (mut d, media) = drive(Some(state));
    let (probe, attempt, entry) = wipe(&mut d, &media, true);
    // The probe could not read the DCO: only the HPA is known.
    assert!(
        matches!(&probe.dco, Some(Err(e)) if e.contains("Device Configuration Overlay is frozen")),
        "{:?}",
        probe.dco
    );
    assert_eq!(probe.hidden_sectors(), hpa);
    let r = attempt.unwrap().restore;
    assert_eq!(r.outcome, HiddenAreaRestoreOutcome::Failed);
    assert_eq!(r.commands, [names::SET_MAX_NON_VOLATILE]);
    assert_eq!(r.user_sectors_after, Some(FACTORY - 4096));
    assert_eq!(
        r.error.as_deref(),
        Some(
            HiddenAreaError::DcoFrozen {
                command: "DEVICE CONFIGURATION IDENTIFY"
            }
            .to_string()
            .as_str()
        )
    );
    // Nothing known hidden any more, but the drive's true size is unknown: an exception.
    assert_eq!(entry.hidden_area.as_ref().unwrap().hidden_sectors(), 0);
    assert_eq!(entry.exceptions.len(), 1, "{:?}", entry.exceptions);
    assert!(
        entry.exceptions[0].starts_with("hidden areas not fully examined (restore failed:"),
        "{}",
        entry.exceptions[0]
    );
    assert_eq!(
        TitleVerdict::decide(std::slice::from_ref(&entry), None),
        TitleVerdict::ErasedWithExceptions
    );
    // What the DCO hides was not reached.
    assert_eq!(
        canaries_from(&media, FACTORY - 4096),
        4096 * SECTOR as usize
    );
    assert_eq!(canaries_in(&media, 0, FACTORY - 4096), 0);
}

#[test]
fn without_consent_nothing_is_sent_and_the_exception_stays() {
    let hpa = 2048;
    let (mut d, media) = hpa_drive(hpa);
    let (_, attempt, entry) = wipe(&mut d, &media, false);
    let r = attempt.unwrap().restore;
    assert_eq!(r.outcome, HiddenAreaRestoreOutcome::NotConsented);
    assert!(r.commands.is_empty());
    assert_eq!(r.user_sectors_after, None);
    // Only reads went to the drive: IDENTIFY, READ NATIVE MAX, DCO IDENTIFY.
    assert!(!d.log.contains(&0x37), "{:x?}", d.log);
    assert_eq!(d.hidden.as_ref().unwrap().accessible_sectors, FACTORY - hpa);
    assert_eq!(
        entry.exceptions,
        [
            "hidden area of 2048 sectors (1.0 MiB) not erased (not restored: no consent (--restore-hidden-areas))"
        ]
    );
    assert_eq!(
        TitleVerdict::decide(std::slice::from_ref(&entry), None),
        TitleVerdict::ErasedWithExceptions
    );
    assert_eq!(
        canaries_from(&media, FACTORY - hpa),
        (hpa * SECTOR) as usize
    );
    let json = serde_json::to_value(&entry).unwrap();
    assert_eq!(json["hidden_area"]["restore"]["outcome"], "not_consented");
}

#[test]
fn a_refused_set_max_is_reported_clearly() {
    // A drive with an HPA whose SET MAX ADDRESS EXT is aborted (locked, or not implemented).
    let hpa = 2048;
    let mut state = HiddenAreaState::hpa_dco(FACTORY - hpa, FACTORY, FACTORY);
    state.set_max_aborts = true;
    state.dco = false;
    let (mut d, media) = drive(Some(state));
    let (_, attempt, entry) = wipe(&mut d, &media, true);
    let r = attempt.unwrap().restore;
    assert_eq!(r.outcome, HiddenAreaRestoreOutcome::Failed);
    let err = r.error.unwrap();
    assert!(
        err.starts_with("the drive refused SET MAX ADDRESS EXT (the drive aborted the command"),
        "{err}"
    );
    assert!(
        entry.exceptions[0].contains("restore failed: the drive refused SET MAX ADDRESS EXT"),
        "{:?}",
        entry.exceptions
    );

    // QEMU's SATA disk as captured: READ NATIVE MAX answers the IDENTIFY capacity (no HPA),
    // so nothing is restored; a SET MAX sent anyway is aborted, and said so.
    let (mut qemu, _) = drive(None);
    let probe = firmware::probe_ata(&mut qemu, MediaClass::SataHdd);
    assert_eq!(probe.hidden_sectors(), 0);
    assert!(hidden_area::restore_before_wipe(&mut qemu, &probe, true).is_none());
    let features = probe.hidden_features.unwrap();
    assert_eq!(features, HiddenAreaFeatures::default());
    let e = ata_hidden::set_max_to_native(&mut qemu, &features).unwrap_err();
    assert!(matches!(e, HiddenAreaError::SetMaxRefused { .. }), "{e:?}");
    assert!(e.to_string().contains("aborted"), "{e}");
}

#[test]
fn the_kernel_not_seeing_the_new_size_is_a_failure() {
    let (mut d, _) = hpa_drive(2048);
    let probe = firmware::probe_ata(&mut d, MediaClass::SataHdd);
    let mut r = hidden_area::restore_before_wipe(&mut d, &probe, true)
        .unwrap()
        .restore;
    assert_eq!(r.outcome, HiddenAreaRestoreOutcome::Restored);
    hidden_area::with_kernel_view(&mut r, Ok(FACTORY - 2048));
    assert_eq!(r.outcome, HiddenAreaRestoreOutcome::Failed);
    assert!(r.error.as_deref().unwrap().contains("kernel still sees"));
    let after = firmware::probe_ata(&mut d, MediaClass::SataHdd);
    let check = hidden_area::record_check(&after, Some(r));
    assert_eq!(check.hidden_sectors(), 2048);
    let exception = atelier_wipe::job::hidden_area_exception(&check, 512).unwrap();
    assert!(
        exception.contains(
            "restore failed: the drive shows 65536 sectors but the kernel still sees 63488"
        ),
        "{exception}"
    );
}
