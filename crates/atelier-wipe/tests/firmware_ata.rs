//! ATA Security Erase sessions and password recovery against the scripted ATA drive
//! (atelier_device::ata_scripted): QEMU's captured IDENTIFY page with its security words
//! patched to "supported, not enabled, not frozen", a backing buffer the erase really
//! overwrites, and the failure modes — aborted erase, lying erase, frozen drive, power loss
//! between SET PASSWORD and ERASE UNIT, wrong password count exceeded.

mod common;

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use atelier_device::ata::{self, AtaIdentify, AtaPassword};
use atelier_device::ata_scripted::{self, ScriptedAtaDrive};
use atelier_record::{FirmwareErase, Outcome};
use atelier_wipe::ata_security::{
    PasswordJournal, Recovery, RecoveryError, recover, run_security_erase_session,
};
use atelier_wipe::policy::PolicyMethod;
use atelier_wipe::{EngineConfig, WipeParams};
use common::{MemJournal, MemoryDisk, Quiet};

const SECTOR: u64 = 512;
const SECTORS: u64 = 65_536; // 32 MiB of backing buffer
const CANARY: &[u8] = b"ATELIER-CANARY-0123456789 ";

/// The captured QEMU page, security patched to supported / not enabled / not frozen, and a
/// backing buffer full of canary text.
fn drive(enhanced: bool) -> (ScriptedAtaDrive, MemoryDisk) {
    let mut page = common::sata_identify_page();
    ata_scripted::patch_security_supported(&mut page);
    let media = common::canary_media(CANARY, SECTORS * SECTOR);
    let mut d = ScriptedAtaDrive::new(page, media.clone());
    d.enhanced_supported = enhanced;
    d.erase_time_words = (2, 1); // 4 and 2 minutes
    d.faults.enhanced_fill = 0x6B;
    (d, MemoryDisk(media))
}

fn params(method: PolicyMethod) -> WipeParams {
    common::sata_params("Samsung SSD 860 EVO 250GB", method, SECTORS * SECTOR)
}

fn run(
    d: &mut ScriptedAtaDrive,
    media: &MemoryDisk,
    journal: &dyn PasswordJournal,
    method: PolicyMethod,
) -> (Outcome, String, FirmwareErase) {
    let (end, section) = run_security_erase_session(
        media,
        d,
        journal,
        &params(method),
        &EngineConfig::default(),
        &Quiet,
        &AtomicBool::new(false),
    );
    (end.outcome, end.detail.unwrap_or_default(), section)
}

fn opcodes(section: &FirmwareErase) -> Vec<u8> {
    section.commands.iter().map(|c| c.opcode).collect()
}

fn canary_intact(media: &MemoryDisk) -> bool {
    media.0.lock().unwrap().starts_with(CANARY)
}

#[test]
fn the_patched_page_parses_as_supported_not_enabled_not_frozen() {
    let mut page = common::sata_identify_page();
    let before = AtaIdentify::parse(&page).unwrap();
    assert!(
        !before.security.supported,
        "QEMU has no Security feature set"
    );
    ata_scripted::patch_security_supported(&mut page);
    let id = AtaIdentify::parse(&page).unwrap();
    assert_eq!(id.checksum_valid, Some(true));
    assert!(id.security.supported);
    assert!(!id.security.enabled && !id.security.locked && !id.security.frozen);
    assert_eq!(id.serial, before.serial);
    assert_eq!(id.user_sectors, before.user_sectors);
}

#[test]
fn normal_erase_zeroes_verifies_and_leaves_the_drive_free() {
    let (mut d, media) = drive(false);
    let journal = MemJournal::default();
    let (outcome, detail, fw) = run(&mut d, &media, &journal, PolicyMethod::AtaSecurityErase);
    assert_eq!(outcome, Outcome::Passed, "{detail}");
    assert_eq!(opcodes(&fw), [0xEC, 0xF1, 0xF3, 0xF4, 0xEC]);
    assert!(fw.commands.iter().all(|c| c.status == Some(0x50)));
    assert_eq!(fw.command_set, "ata");
    assert_eq!(fw.expected_content, "zeros");
    assert_eq!(fw.presampled_unchanged, 0);
    assert!(fw.presampled_sectors >= 200);
    assert!(media.0.lock().unwrap().iter().all(|&b| b == 0));
    // Free, and the journal forgot the password.
    assert!(!d.state.enabled && !d.state.locked);
    assert!(journal.entries.borrow().is_empty());
    // The password was journaled, is 32 hex characters and appears nowhere in the record.
    let saved = journal.saved.borrow()[0].clone();
    assert_eq!(saved.len(), 32);
    assert!(saved.chars().all(|c| c.is_ascii_hexdigit()));
    let json = serde_json::to_string(&fw).unwrap();
    assert!(!json.contains(&saved));
    // ERASE UNIT got the word-89 time doubled plus 30 minutes.
    let erase_timeout = d.timeouts.iter().find(|(c, _)| *c == 0xF4).unwrap().1;
    assert_eq!(erase_timeout, Duration::from_secs(38 * 60));
}

#[test]
fn enhanced_erase_writes_the_vendor_pattern() {
    let (mut d, media) = drive(true);
    let journal = MemJournal::default();
    let (outcome, detail, fw) = run(
        &mut d,
        &media,
        &journal,
        PolicyMethod::AtaSecurityEraseEnhanced,
    );
    assert_eq!(outcome, Outcome::Passed, "{detail}");
    assert_eq!(fw.commands[3].name, "security-erase-unit-enhanced");
    assert_eq!(fw.expected_content, "unspecified");
    // The scripted drive writes its enhanced pattern only when word 0 bit 1 was set.
    assert!(media.0.lock().unwrap().iter().all(|&b| b == 0x6B));
    assert!(journal.entries.borrow().is_empty());
}

#[test]
fn enhanced_is_refused_when_word_128_bit_5_is_clear() {
    let (mut d, media) = drive(false);
    let journal = MemJournal::default();
    let (outcome, detail, fw) = run(
        &mut d,
        &media,
        &journal,
        PolicyMethod::AtaSecurityEraseEnhanced,
    );
    assert_eq!(outcome, Outcome::Failed);
    assert!(detail.contains("word 128 bit 5"), "{detail}");
    assert_eq!(opcodes(&fw), [0xEC]);
    assert!(journal.saved.borrow().is_empty());
    assert!(canary_intact(&media));
}

#[test]
fn a_frozen_drive_is_refused_before_any_password() {
    let (mut d, media) = drive(true);
    d.state.frozen = true;
    let journal = MemJournal::default();
    let (outcome, detail, fw) = run(&mut d, &media, &journal, PolicyMethod::AtaSecurityErase);
    assert_eq!(outcome, Outcome::Failed);
    assert!(
        detail.contains("frozen") && detail.contains("--unfreeze"),
        "{detail}"
    );
    assert_eq!(opcodes(&fw), [0xEC]);
    assert!(journal.saved.borrow().is_empty());
    assert!(canary_intact(&media));
}

#[test]
fn an_aborted_erase_fails_and_the_password_is_disabled_at_once() {
    let (mut d, media) = drive(false);
    d.faults.abort_erase = true;
    let journal = MemJournal::default();
    let (outcome, detail, fw) = run(&mut d, &media, &journal, PolicyMethod::AtaSecurityErase);
    assert_eq!(outcome, Outcome::Failed);
    assert!(detail.contains("the erase failed"), "{detail}");
    assert_eq!(opcodes(&fw), [0xEC, 0xF1, 0xF3, 0xF4, 0xEC, 0xF6, 0xEC]);
    assert_eq!(fw.commands[3].status, Some(0x51));
    assert!(!d.state.enabled && !d.state.locked);
    assert!(journal.entries.borrow().is_empty());
    assert!(canary_intact(&media));
}

#[test]
fn an_erase_that_erases_nothing_fails_verification() {
    let (mut d, media) = drive(false);
    d.faults.erase_lies = true;
    let journal = MemJournal::default();
    let (outcome, detail, fw) = run(&mut d, &media, &journal, PolicyMethod::AtaSecurityErase);
    assert_eq!(outcome, Outcome::Failed);
    assert_eq!(fw.presampled_unchanged, fw.presampled_sectors);
    assert!(detail.contains("still hold their old content"), "{detail}");
    assert!(!d.state.enabled);
}

#[test]
fn power_loss_before_erase_unit_leaves_a_locked_drive_that_recover_unlocks() {
    let (mut d, media) = drive(false);
    d.faults.power_loss_at = Some(ata::ATA_SECURITY_ERASE_PREPARE);
    let journal = MemJournal::default();
    let (outcome, detail, _) = run(&mut d, &media, &journal, PolicyMethod::AtaSecurityErase);
    assert_eq!(outcome, Outcome::Failed);
    assert!(detail.contains("--recover"), "{detail}");
    assert_eq!(
        journal.entries.borrow().len(),
        1,
        "the password stays journaled"
    );
    // Power comes back: the drive is locked by the bench's password.
    d.power_cycle();
    let id = AtaIdentify::parse(&d.identify_page()).unwrap();
    assert!(id.security.locked && id.security.enabled);
    d.log.clear();
    assert_eq!(
        recover(&mut d, &journal),
        Ok(Recovery::Released { was_locked: true })
    );
    assert_eq!(d.log, [0xEC, 0xF2, 0xF6, 0xEC]);
    assert!(!d.state.enabled && !d.state.locked);
    assert!(journal.entries.borrow().is_empty());
    assert!(canary_intact(&media));
    // Nothing left to do the second time.
    assert_eq!(recover(&mut d, &journal), Ok(Recovery::NotJournaled));
}

#[test]
fn a_crash_after_set_password_without_power_loss_is_recovered_too() {
    let (mut d, media) = drive(false);
    let journal = MemJournal::default();
    journal
        .save(
            "ATL-SATA-01",
            "Samsung SSD 860 EVO 250GB",
            "0123456789abcdef0123456789abcdef",
        )
        .unwrap();
    d.set_foreign_password(&AtaPassword::from_text("0123456789abcdef0123456789abcdef").unwrap());
    assert_eq!(
        recover(&mut d, &journal),
        Ok(Recovery::Released { was_locked: false })
    );
    assert!(!d.state.enabled);
    // A journal entry for a drive already free is just removed.
    journal
        .save("ATL-SATA-01", "Samsung SSD 860 EVO 250GB", "x")
        .unwrap();
    assert_eq!(recover(&mut d, &journal), Ok(Recovery::AlreadyFree));
    assert!(journal.entries.borrow().is_empty());
    assert!(canary_intact(&media));
}

#[test]
fn wrong_passwords_exhaust_the_counter_and_ask_for_a_power_cycle() {
    let (mut d, _media) = drive(false);
    d.set_foreign_password(&AtaPassword::from_text("the owner's password").unwrap());
    d.power_cycle();
    let journal = MemJournal::default();
    journal
        .save(
            "ATL-SATA-01",
            "Samsung SSD 860 EVO 250GB",
            "not the password",
        )
        .unwrap();
    for _ in 0..ata_scripted::PASSWORD_ATTEMPTS {
        assert!(matches!(
            recover(&mut d, &journal),
            Err(RecoveryError::Command(_))
        ));
    }
    let err = recover(&mut d, &journal).unwrap_err();
    assert_eq!(err, RecoveryError::NeedsPowerCycle);
    assert!(err.to_string().contains("switch it off and on"));
    assert!(d.state.locked, "a wrong password never unlocks");
    assert_eq!(journal.entries.borrow().len(), 1, "kept for the next try");
}

#[test]
fn a_drive_with_a_foreign_password_is_refused() {
    let (mut d, media) = drive(false);
    d.set_foreign_password(&AtaPassword::from_text("someone else").unwrap());
    let journal = MemJournal::default();
    let (outcome, detail, fw) = run(&mut d, &media, &journal, PolicyMethod::AtaSecurityErase);
    assert_eq!(outcome, Outcome::Failed);
    assert!(detail.contains("does not know"), "{detail}");
    assert_eq!(opcodes(&fw), [0xEC]);
    assert!(canary_intact(&media));
}

#[test]
fn the_store_journal_survives_the_crash_and_recovery_uses_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut d, media) = drive(false);
    d.faults.power_loss_at = Some(ata::ATA_SECURITY_ERASE_UNIT);
    {
        let store = atelier_store::Store::open(dir.path()).unwrap();
        let (outcome, _, fw) = run(&mut d, &media, &store, PolicyMethod::AtaSecurityErase);
        assert_eq!(outcome, Outcome::Failed);
        assert_eq!(opcodes(&fw)[..3], [0xEC, 0xF1, 0xF3]);
        assert!(
            fw.commands[3].os_error.is_some(),
            "ERASE UNIT lost with the power"
        );
    }
    // The bench restarts: a new store handle, the drive powered again and locked.
    d.power_cycle();
    let store = atelier_store::Store::open(dir.path()).unwrap();
    let entries = store.ata_password_entries().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].serial, "ATL-SATA-01");
    assert!(d.state.locked);
    assert_eq!(
        recover(&mut d, &store),
        Ok(Recovery::Released { was_locked: true })
    );
    assert!(store.ata_password_entries().unwrap().is_empty());
    assert!(!d.state.locked && !d.state.enabled);
    assert!(canary_intact(&media));
}
