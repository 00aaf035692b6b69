//! ATA Security Erase as a verified wipe, and the recovery of a password an interrupted erase
//! left on a drive.
//!
//! The sequence (ACS-3, Security feature set; commands SECURITY SET PASSWORD F1h, ERASE
//! PREPARE F3h, ERASE UNIT F4h, DISABLE PASSWORD F6h, UNLOCK F2h):
//!
//! 1. IDENTIFY DEVICE: the Security feature set must be supported (word 82 bit 1 / word 128
//!    bit 0), not enabled, not locked, not frozen (word 128 bits 1–3), the attempt counter not
//!    expired (bit 4); `enhanced` only when word 128 bit 5 says so. The page's SHA-256 goes in
//!    the record.
//! 2. A few hundred sectors are hashed ([`crate::firmware`]).
//! 3. A random temporary user password (32 hexadecimal characters, one per drive) is written
//!    to the [`PasswordJournal`] **before** SECURITY SET PASSWORD, so a crash or a power cut
//!    at any later point leaves a drive [`recover`] can unlock.
//! 4. SET PASSWORD (user, level High; the master password and its identifier untouched), ERASE
//!    PREPARE then ERASE UNIT (normal or enhanced) with the timeout of
//!    [`ata::erase_unit_timeout`].
//! 5. IDENTIFY again; if security is still enabled (ERASE UNIT clears it on a conforming
//!    drive), DISABLE PASSWORD and IDENTIFY again. The journal entry is removed only when the
//!    drive shows security disabled and unlocked.
//! 6. The sampled read-back of [`crate::firmware`]: zeros after a normal erase (ACS-3: normal
//!    mode writes binary zeros); after an enhanced erase the pattern is vendor specific, so
//!    only the hashed sectors are checked.
//!
//! When the erase fails, the password is disabled at once (the drive is unlocked, the password
//! known), so a failed erase never leaves a drive locked either. Every command is recorded
//! (command code, FEATURES, COUNT, ATA status, duration) — never the password.

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use atelier_device::ata::{
    self, AtaData, AtaError, AtaIdentify, AtaPassThrough, AtaPassword, PasswordId,
};
use atelier_record::{FirmwareCommand, FirmwareErase, PassPattern};
use sha2::{Digest, Sha256};

use crate::BlockIo;
use crate::engine::EngineConfig;
use crate::job::{JobProgress, SessionEnd, WipeObserver, WipeParams};
use crate::policy::PolicyMethod;
use crate::session::{Session, Steps, erase_progress, fail, failed, hex};

/// Where temporary ATA passwords are kept until the drive is known to be free of them. The
/// bench's implementation is the local store (synchronous=FULL): `save` returns only once the
/// password is on the medium.
pub trait PasswordJournal {
    /// Keeps `password` for the drive `serial` + `model` (replacing an older one).
    fn save(&self, serial: &str, model: &str, password: &str) -> Result<(), String>;
    /// The password kept for that drive, if any.
    fn find(&self, serial: &str, model: &str) -> Result<Option<String>, String>;
    /// Forgets the drive's password.
    fn remove(&self, serial: &str, model: &str) -> Result<(), String>;
}

/// The bench's journal: the local store's `ata_passwords` table.
impl PasswordJournal for atelier_store::Store {
    fn save(&self, serial: &str, model: &str, password: &str) -> Result<(), String> {
        self.journal_ata_password(serial, model, password)
            .map_err(|e| e.to_string())
    }
    fn find(&self, serial: &str, model: &str) -> Result<Option<String>, String> {
        self.ata_password(serial, model).map_err(|e| e.to_string())
    }
    fn remove(&self, serial: &str, model: &str) -> Result<(), String> {
        self.forget_ata_password(serial, model)
            .map_err(|e| e.to_string())
    }
}

/// Why ATA Security Erase cannot run on a drive now (checked before anything is written).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Word 82 bit 1 / 128 bit 0 clear.
    #[error("the drive does not support the ATA Security feature set")]
    NotSupported,
    /// Word 128 bit 3.
    #[error(
        "the drive is frozen (SECURITY FREEZE LOCK, usually sent by the BIOS): security commands are refused until it is power-cycled or suspended (--unfreeze)"
    )]
    Frozen,
    /// Word 128 bit 2.
    #[error(
        "the drive is locked by a user password; run `atelier wipe --recover` if the bench set it, otherwise it needs its owner's password"
    )]
    Locked,
    /// Word 128 bit 1, password not ours.
    #[error(
        "the drive already has a user password the bench does not know; it needs its owner's password"
    )]
    ForeignPassword,
    /// Word 128 bit 4.
    #[error(
        "the drive refused too many wrong passwords (word 128 bit 4); power it off and on, then try again"
    )]
    AttemptsExpired,
    /// Enhanced asked, word 128 bit 5 clear.
    #[error("the drive does not support enhanced security erase (word 128 bit 5)")]
    EnhancedNotSupported,
}

/// Checks word 128 for an erase (normal or `enhanced`).
pub fn check_erasable(id: &AtaIdentify, enhanced: bool) -> Result<(), Refusal> {
    let s = id.security;
    if !s.supported {
        return Err(Refusal::NotSupported);
    }
    if s.count_expired {
        return Err(Refusal::AttemptsExpired);
    }
    if s.locked {
        return Err(Refusal::Locked);
    }
    if s.frozen {
        return Err(Refusal::Frozen);
    }
    if s.enabled {
        return Err(Refusal::ForeignPassword);
    }
    if enhanced && !s.enhanced_erase {
        return Err(Refusal::EnhancedNotSupported);
    }
    Ok(())
}

/// A new random temporary password: 16 bytes from the OS as 32 hexadecimal characters (the
/// whole 32-byte field, and typable in `hdparm --security-unlock` should the bench be gone).
pub fn new_password() -> Result<String, String> {
    let mut raw = [0u8; 16];
    getrandom::fill(&mut raw).map_err(|e| format!("no random source for the password: {e}"))?;
    Ok(hex(&raw))
}

/// The record of one ATA pass-through command: its name, the command code, FEATURES (in
/// `cdw10`) and COUNT (in `cdw11`) from the 16-byte CDB, and the time since `started`; the
/// caller fills in the status or the OS error.
pub(crate) fn command_entry(name: &str, cdb: &[u8; 16], started: Instant) -> FirmwareCommand {
    FirmwareCommand {
        name: name.into(),
        opcode: cdb[14],
        nsid: None,
        cdw10: u32::from(u16::from_be_bytes([cdb[3], cdb[4]])),
        cdw11: u32::from(u16::from_be_bytes([cdb[5], cdb[6]])),
        status: None,
        os_error: None,
        duration_seconds: started.elapsed().as_secs_f64(),
    }
}

/// Sends one command and records it (name, code, FEATURES, COUNT, status, duration).
fn send(
    dev: &mut dyn AtaPassThrough,
    name: &str,
    cdb: &[u8; 16],
    data: AtaData<'_>,
    timeout: Duration,
    log: &mut Vec<FirmwareCommand>,
) -> Result<(), AtaError> {
    let started = Instant::now();
    let reply = dev.pass_through(cdb, data, timeout);
    let mut entry = command_entry(name, cdb, started);
    let result = match reply {
        Err(e) => {
            entry.os_error = Some(e.to_string());
            Err(AtaError::Os(e.to_string()))
        }
        Ok(reply) => {
            let decoded = ata::decode_reply(&reply);
            entry.status = Some(match &decoded {
                Ok(Some(r)) => u16::from(r.status),
                Ok(None) => 0x50,
                Err(AtaError::Aborted { status, .. }) => u16::from(*status),
                Err(_) => u16::from(reply.status),
            });
            decoded.map(|_| ())
        }
    };
    log.push(entry);
    result
}

/// IDENTIFY DEVICE, recorded in `log`: the raw page (its hash goes in the record) and its
/// decoding.
pub(crate) fn identify(
    dev: &mut dyn AtaPassThrough,
    log: &mut Vec<FirmwareCommand>,
) -> Result<(Vec<u8>, AtaIdentify), AtaError> {
    let mut page = vec![0u8; 512];
    send(
        dev,
        "identify-device",
        &ata::identify_device_cdb(),
        AtaData::In(&mut page),
        Duration::from_secs(10),
        log,
    )?;
    let id = AtaIdentify::parse(&page)?;
    Ok((page, id))
}

fn with_password(
    dev: &mut dyn AtaPassThrough,
    name: &str,
    command: u8,
    control: u16,
    password: &AtaPassword,
    timeout: Duration,
    log: &mut Vec<FirmwareCommand>,
) -> Result<(), AtaError> {
    let block = ata::security_data_block(control, password);
    send(
        dev,
        name,
        &ata::security_data_out_cdb(command),
        AtaData::Out(&block),
        timeout,
        log,
    )
}

/// DISABLE PASSWORD (unlocking first when the drive is locked), then IDENTIFY: `Ok(true)` when
/// the drive shows security disabled and unlocked.
fn release(
    dev: &mut dyn AtaPassThrough,
    password: &AtaPassword,
    locked: bool,
    log: &mut Vec<FirmwareCommand>,
) -> Result<bool, AtaError> {
    let short = Duration::from_secs(30);
    if locked {
        with_password(
            dev,
            "security-unlock",
            ata::ATA_SECURITY_UNLOCK,
            ata::identifier_control(PasswordId::User),
            password,
            short,
            log,
        )?;
    }
    with_password(
        dev,
        "security-disable-password",
        ata::ATA_SECURITY_DISABLE_PASSWORD,
        ata::identifier_control(PasswordId::User),
        password,
        short,
        log,
    )?;
    let (_, id) = identify(dev, log)?;
    Ok(!id.security.enabled && !id.security.locked)
}

/// What [`recover`] did to a drive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovery {
    /// The journal has no password for this drive.
    NotJournaled,
    /// A password was journaled but the drive has security disabled: the entry is removed.
    AlreadyFree,
    /// The drive was locked or had the password set: it was unlocked (when locked) and the
    /// password disabled; the entry is removed.
    Released {
        /// It was locked (a power cut after SET PASSWORD).
        was_locked: bool,
    },
}

/// Why recovery failed on a drive that has a journaled password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecoveryError {
    /// The drive counted too many wrong passwords.
    #[error(
        "the drive refuses passwords until it is power-cycled (word 128 bit 4); switch it off and on, then run `atelier wipe --recover` again"
    )]
    NeedsPowerCycle,
    /// The drive is frozen: UNLOCK works, DISABLE PASSWORD does not.
    #[error(
        "the drive is frozen (SECURITY FREEZE LOCK); suspend the bench (--unfreeze) or power-cycle the drive, then run `atelier wipe --recover` again"
    )]
    Frozen,
    /// A command failed.
    #[error("{0}")]
    Command(String),
    /// The journal could not be read or written.
    #[error("password journal: {0}")]
    Journal(String),
}

/// Unlocks and disables a password the bench left on `dev` (found by serial and model in the
/// journal). Sends nothing but IDENTIFY when the drive is not in the journal.
pub fn recover(
    dev: &mut dyn AtaPassThrough,
    journal: &dyn PasswordJournal,
) -> Result<Recovery, RecoveryError> {
    let mut log = Vec::new();
    let cmd = |e: AtaError| RecoveryError::Command(e.to_string());
    let (_, id) = identify(dev, &mut log).map_err(cmd)?;
    let Some(text) = journal
        .find(&id.serial, &id.model)
        .map_err(RecoveryError::Journal)?
    else {
        return Ok(Recovery::NotJournaled);
    };
    let s = id.security;
    if !s.enabled && !s.locked {
        journal
            .remove(&id.serial, &id.model)
            .map_err(RecoveryError::Journal)?;
        return Ok(Recovery::AlreadyFree);
    }
    if s.count_expired {
        return Err(RecoveryError::NeedsPowerCycle);
    }
    if s.frozen {
        return Err(RecoveryError::Frozen);
    }
    let password = AtaPassword::from_text(&text).map_err(cmd)?;
    if release(dev, &password, s.locked, &mut log).map_err(cmd)? {
        journal
            .remove(&id.serial, &id.model)
            .map_err(RecoveryError::Journal)?;
        Ok(Recovery::Released {
            was_locked: s.locked,
        })
    } else {
        Err(RecoveryError::Command(
            "DISABLE PASSWORD succeeded but IDENTIFY still shows security enabled".into(),
        ))
    }
}

/// Runs an ATA Security Erase job (`params.firmware` says normal or enhanced) on `dev`
/// through `ata`, journaling the password in `journal`, then verifies it.
#[allow(clippy::too_many_arguments)]
pub fn run_security_erase_session(
    dev: &dyn BlockIo,
    ata_dev: &mut dyn AtaPassThrough,
    journal: &dyn PasswordJournal,
    params: &WipeParams,
    cfg: &EngineConfig,
    observer: &dyn WipeObserver,
    cancel: &AtomicBool,
) -> (SessionEnd, FirmwareErase) {
    let method = params
        .firmware
        .as_ref()
        .map_or(PolicyMethod::AtaSecurityErase, |f| f.method);
    let enhanced = method == PolicyMethod::AtaSecurityEraseEnhanced;
    let expected = (!enhanced).then_some(PassPattern::Zero);
    Session::new(dev, params, cfg, observer, cancel).run("ata", expected, |session, section| {
        security_erase(session, ata_dev, journal, method, section)
    })
}

/// The steps of [`run_security_erase_session`]; `Err` is an end before the verification.
fn security_erase(
    session: &Session<'_>,
    ata_dev: &mut dyn AtaPassThrough,
    journal: &dyn PasswordJournal,
    method: PolicyMethod,
    section: &mut FirmwareErase,
) -> Steps {
    let enhanced = method == PolicyMethod::AtaSecurityEraseEnhanced;
    let expected = (!enhanced).then_some(PassPattern::Zero);
    let nothing = |detail: String| Box::new(failed(detail, JobProgress::default()));
    if !matches!(
        method,
        PolicyMethod::AtaSecurityErase | PolicyMethod::AtaSecurityEraseEnhanced
    ) {
        return Err(nothing(format!(
            "nothing erased: {} is not run by this session",
            method.name()
        )));
    }

    // 1. IDENTIFY and the state checks.
    let (page, id) = identify(ata_dev, &mut section.commands)
        .map_err(|e| nothing(format!("nothing erased: {e}")))?;
    section.identify_sha256 = hex(&Sha256::digest(&page));
    check_erasable(&id, enhanced).map_err(|r| nothing(format!("nothing erased: {r}")))?;

    // 2. Hash the sample sectors.
    let samples = session
        .presample(expected, false, section)
        .map_err(nothing)?;
    session.stop_if_cancelled()?;

    // 3. The password, journaled before the drive knows it.
    let text = new_password().map_err(|e| nothing(format!("nothing erased: {e}")))?;
    if let Err(e) = journal.save(&id.serial, &id.model, &text) {
        return Err(nothing(format!(
            "nothing erased: the password journal could not be written: {e}"
        )));
    }
    let password =
        AtaPassword::from_text(&text).map_err(|e| nothing(format!("nothing erased: {e}")))?;

    // 4. SET PASSWORD, ERASE PREPARE, ERASE UNIT.
    session.start_erase(method);
    let short = Duration::from_secs(30);
    if let Err(e) = with_password(
        ata_dev,
        "security-set-password",
        ata::ATA_SECURITY_SET_PASSWORD,
        ata::set_password_control(PasswordId::User, false),
        &password,
        short,
        &mut section.commands,
    ) {
        // Aborted: the drive did not take the password. Anything else: unknown, keep it.
        if matches!(e, AtaError::Aborted { .. }) {
            let _ = journal.remove(&id.serial, &id.model);
        }
        return Err(nothing(format!(
            "nothing erased: SECURITY SET PASSWORD failed: {e}"
        )));
    }
    let started = Instant::now();
    let erased = send(
        ata_dev,
        "security-erase-prepare",
        &ata::security_erase_prepare_cdb(),
        AtaData::None,
        short,
        &mut section.commands,
    )
    .and_then(|()| {
        with_password(
            ata_dev,
            if enhanced {
                "security-erase-unit-enhanced"
            } else {
                "security-erase-unit"
            },
            ata::ATA_SECURITY_ERASE_UNIT,
            ata::erase_unit_control(PasswordId::User, enhanced),
            &password,
            ata::erase_unit_timeout(&id.security, enhanced),
            &mut section.commands,
        )
    });
    let progress = erase_progress(session.params, started.elapsed().as_secs_f64());

    // 5. The password must be gone, whatever happened.
    let released = match identify(ata_dev, &mut section.commands) {
        Ok((_, after)) if !after.security.enabled && !after.security.locked => Ok(()),
        Ok((_, after)) => match release(
            ata_dev,
            &password,
            after.security.locked,
            &mut section.commands,
        ) {
            Ok(true) => Ok(()),
            Ok(false) => {
                Err("IDENTIFY still shows security enabled after DISABLE PASSWORD".to_string())
            }
            Err(e) => Err(e.to_string()),
        },
        Err(e) => Err(e.to_string()),
    };
    let released = match released {
        Ok(()) => journal.remove(&id.serial, &id.model).map_err(|e| {
            format!("the drive is free but its journal entry could not be removed: {e}")
        }),
        Err(e) => Err(format!(
            "the temporary password could not be removed ({e}); it is kept in the journal: run `atelier wipe --recover`"
        )),
    };
    if let Err(e) = erased {
        let mut detail = format!("the erase failed: {e}");
        if let Err(r) = released {
            detail.push_str("; ");
            detail.push_str(&r);
        }
        return fail(detail, progress);
    }
    if let Err(r) = released {
        return fail(r, progress);
    }
    session.erase_done();

    // 6. Verify.
    Ok(session.checkpoint_and_verify(&samples, expected, section, progress))
}
