//! A scripted ATA drive: a test transport for [`AtaPassThrough`] that answers the commands the
//! bench sends as ACS-3 says a drive does, from a captured IDENTIFY DEVICE page.
//!
//! QEMU's emulated SATA disk has no Security feature set, so the ATA Security Erase path cannot
//! run in the VM. This drive keeps the Security state machine of ACS-3 (the Security feature
//! set states SEC1–SEC6: disabled / enabled, locked / unlocked, frozen) and the commands
//! SECURITY SET PASSWORD (F1h), UNLOCK (F2h), ERASE PREPARE (F3h), ERASE UNIT (F4h), DISABLE
//! PASSWORD (F6h), IDENTIFY DEVICE (ECh, word 128 and word 85 bit 1 rewritten from the state,
//! word 255 checksum recomputed) and READ NATIVE MAX ADDRESS EXT (27h). Its erase really
//! overwrites the shared backing buffer the test reads back. Faults are injected with
//! [`Faults`]; a failed password decrements the attempt counter (5 at power-on) and at 0 the
//! drive sets word 128 bit 4 and refuses UNLOCK / ERASE UNIT until [`ScriptedAtaDrive::power_cycle`].
//!
//! It is compiled into the crate (not only under `cfg(test)`) so other crates' tests use it; the
//! bench itself never constructs one.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::ata::{self, AtaData, AtaPassThrough, PASSWORD_LEN, ScsiReply};

/// Password attempts allowed after a power-on (ACS-3: the password attempt counter).
pub const PASSWORD_ATTEMPTS: u8 = 5;

/// Faults a test asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    /// ERASE UNIT is aborted after the password check (a drive that fails its erase); nothing
    /// is erased and the password stays set.
    pub abort_erase: bool,
    /// The drive loses power when this command code arrives (before executing it): the
    /// command fails with an OS error and every later one too, until `power_cycle`.
    pub power_loss_at: Option<u8>,
    /// ERASE UNIT answers success without erasing anything (a lying firmware).
    pub erase_lies: bool,
    /// The byte an enhanced erase writes (vendor specific in ACS-3).
    pub enhanced_fill: u8,
}

/// The Security state of the drive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityState {
    /// A user password is set (word 128 bit 1).
    pub enabled: bool,
    /// Locked (bit 2): media access refused until UNLOCK.
    pub locked: bool,
    /// Frozen (bit 3): security commands refused until power-on.
    pub frozen: bool,
    /// Password attempts left.
    pub attempts_left: u8,
    /// The last command was ERASE PREPARE.
    pub prepared: bool,
    user_password: Option<[u8; PASSWORD_LEN]>,
    master_password: [u8; PASSWORD_LEN],
}

/// The scripted drive.
#[derive(Debug)]
pub struct ScriptedAtaDrive {
    page: Vec<u8>,
    media: Arc<Mutex<Vec<u8>>>,
    /// The Security state, readable by tests.
    pub state: SecurityState,
    /// Faults to inject.
    pub faults: Faults,
    /// Whether the drive is powered (false after a simulated power loss).
    pub powered: bool,
    /// Command codes received, in order (no data: passwords are never kept here).
    pub log: Vec<u8>,
    /// Timeouts the host gave, per command, in order.
    pub timeouts: Vec<(u8, Duration)>,
    /// Enhanced erase advertised (word 128 bit 5).
    pub enhanced_supported: bool,
    /// Normal and enhanced erase times, IDENTIFY words 89 and 90.
    pub erase_time_words: (u16, u16),
    /// HPA / DCO / AMAC state; `None`: READ NATIVE MAX answers the IDENTIFY capacity.
    pub hidden: Option<HiddenAreaState>,
    /// SANITIZE DEVICE state (supported operations come from word 59 of the page).
    pub sanitize: SanitizeState,
}

/// Patches a captured IDENTIFY page so the Security feature set is "supported, not enabled,
/// not frozen": word 82 bit 1 and word 128 bit 0 set, word 85 bit 1 and word 128 bits 1–4
/// clear; word 83 / 87 validity bits (15:14 = 01b) set; checksum recomputed.
pub fn patch_security_supported(page: &mut [u8]) {
    set_word(page, 83, (word(page, 83) & 0x3FFF) | 0x4000);
    set_word(page, 87, (word(page, 87) & 0x3FFF) | 0x4000);
    set_word(page, 82, word(page, 82) | 0x0002);
    set_word(page, 85, word(page, 85) & !0x0002);
    set_word(page, 128, (word(page, 128) & !0x003F) | 0x0001);
    fix_checksum(page);
}

/// Writes the integrity word 255 of IDENTIFY DEVICE data (ACS-3 §7.12.7): signature A5h in
/// bits 7:0 and a checksum in bits 15:8 that makes the sum of all 512 bytes 0 modulo 256.
pub fn fix_checksum(page: &mut [u8]) {
    page[510] = 0xA5;
    let sum = page[..511].iter().fold(0u8, |a, &b| a.wrapping_add(b));
    page[511] = 0u8.wrapping_sub(sum);
}

fn word(page: &[u8], w: usize) -> u16 {
    u16::from_le_bytes([page[2 * w], page[2 * w + 1]])
}

fn set_word(page: &mut [u8], w: usize, v: u16) {
    page[2 * w..2 * w + 2].copy_from_slice(&v.to_le_bytes());
}

/// The answer of an aborted command: CHECK CONDITION, descriptor sense ABORTED COMMAND with an
/// ATA Status Return descriptor (SAT-4 §12.2.7): ERROR 04h (ABRT), STATUS 51h (DRDY|DSC|ERR).
pub fn aborted_reply() -> ScsiReply {
    ScsiReply {
        status: 2,
        driver_status: 0x08,
        sense: vec![
            0x72, 0x0B, 0x00, 0x00, 0, 0, 0, 14, //
            0x09, 0x0C, 0x00, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x51,
        ],
        ..ScsiReply::default()
    }
}

fn registers_reply(lba: u64) -> ScsiReply {
    let b = lba.to_le_bytes();
    ScsiReply {
        status: 2,
        driver_status: 0x08,
        sense: vec![
            0x72, 0x01, 0x00, 0x1D, 0, 0, 0, 14, //
            0x09, 0x0C, 0x01, 0x00, 0, 0, b[3], b[0], b[4], b[1], b[5], b[2], 0x40, 0x50,
        ],
        ..ScsiReply::default()
    }
}

impl ScriptedAtaDrive {
    /// A drive answering from `page` (512 bytes, its security words taken as they are) whose
    /// user data is `media`.
    pub fn new(page: Vec<u8>, media: Arc<Mutex<Vec<u8>>>) -> Self {
        let w128 = word(&page, 128);
        let times = (word(&page, 89), word(&page, 90));
        Self {
            state: SecurityState {
                enabled: w128 & 2 != 0,
                locked: w128 & 4 != 0,
                frozen: w128 & 8 != 0,
                attempts_left: PASSWORD_ATTEMPTS,
                prepared: false,
                user_password: None,
                master_password: [0u8; PASSWORD_LEN],
            },
            enhanced_supported: w128 & 0x20 != 0,
            erase_time_words: times,
            page,
            media,
            faults: Faults::default(),
            powered: true,
            log: Vec::new(),
            timeouts: Vec::new(),
            hidden: None,
            sanitize: SanitizeState::default(),
        }
    }

    /// Power off and on: the drive comes back locked if a user password is set, not frozen,
    /// with its attempt counter reset and ERASE PREPARE forgotten.
    pub fn power_cycle(&mut self) {
        self.powered = true;
        self.faults.power_loss_at = None;
        self.state.locked = self.state.enabled;
        self.state.frozen = false;
        self.state.prepared = false;
        self.state.attempts_left = PASSWORD_ATTEMPTS;
        self.hidden_area_power_cycle();
        self.sanitize_power_cycle();
    }

    /// Sets a user password as another machine would have (for tests of foreign passwords).
    pub fn set_foreign_password(&mut self, password: &ata::AtaPassword) {
        self.state.user_password = Some(*password.bytes());
        self.state.enabled = true;
    }

    /// The IDENTIFY page as the drive would answer it now.
    pub fn identify_page(&self) -> Vec<u8> {
        let mut page = self.page.clone();
        let s = &self.state;
        let mut w128 = word(&page, 128) & !0x003F;
        w128 |= 0x0001
            | (u16::from(s.enabled) << 1)
            | (u16::from(s.locked) << 2)
            | (u16::from(s.frozen) << 3)
            | (u16::from(s.attempts_left == 0) << 4)
            | (u16::from(self.enhanced_supported) << 5);
        set_word(&mut page, 128, w128);
        let w85 = (word(&page, 85) & !0x0002) | (u16::from(s.enabled) << 1);
        set_word(&mut page, 85, w85);
        set_word(&mut page, 89, self.erase_time_words.0);
        set_word(&mut page, 90, self.erase_time_words.1);
        self.apply_hidden_area(&mut page);
        fix_checksum(&mut page);
        page
    }

    fn user_sectors(&self) -> u64 {
        (0..4).fold(0u64, |acc, i| {
            acc | (u64::from(word(&self.page, 100 + i)) << (16 * i))
        })
    }

    fn check_password(&mut self, block: &[u8]) -> bool {
        let master = block[0] & 1 != 0;
        let given = &block[2..2 + PASSWORD_LEN];
        let ok = if master {
            given == self.state.master_password
        } else {
            self.state
                .user_password
                .as_ref()
                .is_some_and(|p| given == p)
        };
        if !ok {
            self.state.attempts_left = self.state.attempts_left.saturating_sub(1);
        }
        ok
    }

    fn execute(&mut self, command: u8, block: Option<&[u8]>) -> ScsiReply {
        let ok = ScsiReply::default();
        let prepared = std::mem::replace(&mut self.state.prepared, false);
        let s = &self.state;
        match command {
            ata::ATA_SECURITY_SET_PASSWORD => {
                let Some(b) = block else {
                    return aborted_reply();
                };
                if s.frozen || s.locked {
                    return aborted_reply();
                }
                let mut pw = [0u8; PASSWORD_LEN];
                pw.copy_from_slice(&b[2..2 + PASSWORD_LEN]);
                if b[0] & 1 != 0 {
                    self.state.master_password = pw;
                } else {
                    self.state.user_password = Some(pw);
                    self.state.enabled = true;
                }
                ok
            }
            ata::ATA_SECURITY_UNLOCK => {
                let Some(b) = block else {
                    return aborted_reply();
                };
                if s.attempts_left == 0 {
                    return aborted_reply();
                }
                if !self.check_password(b) {
                    return aborted_reply();
                }
                self.state.locked = false;
                ok
            }
            ata::ATA_SECURITY_ERASE_PREPARE => {
                if s.frozen {
                    return aborted_reply();
                }
                self.state.prepared = true;
                ok
            }
            ata::ATA_SECURITY_ERASE_UNIT => {
                let Some(b) = block else {
                    return aborted_reply();
                };
                let user = b[0] & 1 == 0;
                if s.frozen || !prepared || s.attempts_left == 0 || (user && !s.enabled) {
                    return aborted_reply();
                }
                if !self.check_password(b) {
                    return aborted_reply();
                }
                if self.faults.abort_erase {
                    return aborted_reply();
                }
                let enhanced = b[0] & 2 != 0;
                if enhanced && !self.enhanced_supported {
                    return aborted_reply();
                }
                if !self.faults.erase_lies {
                    let fill = if enhanced {
                        self.faults.enhanced_fill
                    } else {
                        0
                    };
                    self.media
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .fill(fill);
                }
                // ERASE UNIT clears the user password and disables security.
                self.state.enabled = false;
                self.state.locked = false;
                self.state.user_password = None;
                ok
            }
            ata::ATA_SECURITY_DISABLE_PASSWORD => {
                let Some(b) = block else {
                    return aborted_reply();
                };
                if s.frozen || s.locked {
                    return aborted_reply();
                }
                if !self.check_password(b) {
                    return aborted_reply();
                }
                self.state.enabled = false;
                self.state.user_password = None;
                ok
            }
            ata::ATA_READ_NATIVE_MAX_EXT => registers_reply(self.user_sectors().saturating_sub(1)),
            _ => aborted_reply(),
        }
    }
}

impl AtaPassThrough for ScriptedAtaDrive {
    fn pass_through(
        &mut self,
        cdb: &[u8; 16],
        data: AtaData<'_>,
        timeout: Duration,
    ) -> io::Result<ScsiReply> {
        let command = cdb[14];
        if cdb[0] != ata::ATA_PASS_THROUGH_16 {
            return Ok(aborted_reply());
        }
        if self.faults.power_loss_at == Some(command) {
            self.powered = false;
        }
        if !self.powered {
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        self.log.push(command);
        self.timeouts.push((command, timeout));
        if let Some(reply) = self.sanitize_hook(cdb) {
            return reply;
        }
        let mut data = data;
        if let Some(reply) = self.hidden_area_reply(cdb, &mut data) {
            return Ok(reply);
        }
        match data {
            AtaData::In(buf) if command == ata::ATA_IDENTIFY_DEVICE => {
                self.state.prepared = false;
                let page = self.identify_page();
                buf[..512].copy_from_slice(&page);
                Ok(ScsiReply::default())
            }
            AtaData::Out(buf) if buf.len() == 512 => Ok(self.execute(command, Some(buf))),
            AtaData::None => Ok(self.execute(command, None)),
            _ => Ok(aborted_reply()),
        }
    }
}

// ---- Hidden areas: HPA, DCO and AMAC (ACS-3 §4.9, §4.11; ACS-4 §4.4) -------------------
//
// A drive can be given a Host Protected Area of N sectors and a Device Configuration Overlay
// hiding M more, or the ACS-4 Accessible Max Address Configuration instead. The state below
// rewrites IDENTIFY DEVICE (words 60–61 and 100–103 the accessible capacity, word 82 bit 10
// HPA, word 83 bit 11 DCO, word 85 bit 10 HPA enabled, word 119 bit 8 AMAC) and answers
// READ NATIVE MAX ADDRESS EXT (27h), SET MAX ADDRESS EXT (37h: only right after 27h, one
// non-volatile change per power-on, ID NOT FOUND beyond the native maximum), DEVICE
// CONFIGURATION IDENTIFY / RESTORE / FREEZE LOCK (B1h C2h / C0h / C1h: RESTORE aborted while
// an HPA is set; everything aborted once frozen) and ACCESSIBLE MAX ADDRESS CONFIGURATION
// (78h: GET NATIVE MAX 0000h, SET ACCESSIBLE MAX 0001h, FREEZE 0002h). A drive with AMAC
// aborts the HPA and DCO commands.

/// Hidden-area state of a [`ScriptedAtaDrive`] (set `drive.hidden = Some(…)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HiddenAreaState {
    /// Sectors the drive has (DCO IDENTIFY's maximum LBA + 1).
    pub factory_sectors: u64,
    /// Native maximum + 1 as the DCO configures it (`factory_sectors` without a DCO).
    pub native_sectors: u64,
    /// Sectors the host can address (below `native_sectors` when an HPA is set).
    pub accessible_sectors: u64,
    /// The accessible capacity a power cycle comes back to (the last non-volatile value).
    pub nonvolatile_accessible: u64,
    /// The drive has AMAC (word 119 bit 8) and no HPA / DCO.
    pub amac: bool,
    /// The drive has a DCO (word 83 bit 11).
    pub dco: bool,
    /// DEVICE CONFIGURATION FREEZE LOCK received since power-on.
    pub dco_frozen: bool,
    /// FREEZE ACCESSIBLE MAX ADDRESS EXT received since power-on.
    pub amac_frozen: bool,
    /// SET MAX ADDRESS EXT is always aborted (an HPA locked by SET MAX LOCK / FREEZE LOCK,
    /// or a drive that does not implement it, like QEMU's emulated disk).
    pub set_max_aborts: bool,
    /// A non-volatile SET MAX ADDRESS EXT was accepted since power-on.
    pub set_max_nv_done: bool,
}

impl HiddenAreaState {
    /// HPA / DCO drive: `accessible` ≤ `native` ≤ `factory` sectors.
    pub fn hpa_dco(accessible: u64, native: u64, factory: u64) -> Self {
        Self {
            factory_sectors: factory,
            native_sectors: native,
            accessible_sectors: accessible,
            nonvolatile_accessible: accessible,
            amac: false,
            dco: true,
            dco_frozen: false,
            amac_frozen: false,
            set_max_aborts: false,
            set_max_nv_done: false,
        }
    }

    /// AMAC drive: `accessible` ≤ `native` sectors.
    pub fn amac(accessible: u64, native: u64) -> Self {
        Self {
            amac: true,
            dco: false,
            ..Self::hpa_dco(accessible, native, native)
        }
    }
}

/// An answer with ERR set and `error` in the ERROR field (04h ABRT, 10h IDNF).
fn error_reply(error: u8) -> ScsiReply {
    let mut r = aborted_reply();
    r.sense[11] = error;
    r
}

/// The LBA of a pass-through CDB (SAT-4 Table 167 order).
fn cdb_lba(cdb: &[u8; 16]) -> u64 {
    u64::from_le_bytes([cdb[8], cdb[10], cdb[12], cdb[7], cdb[9], cdb[11], 0, 0])
}

impl ScriptedAtaDrive {
    /// Rewrites the hidden-area words of an IDENTIFY page from [`HiddenAreaState`].
    fn apply_hidden_area(&self, page: &mut [u8]) {
        let Some(h) = &self.hidden else { return };
        let acc = h.accessible_sectors;
        set_word(page, 60, (acc.min(0x0FFF_FFFF) & 0xFFFF) as u16);
        set_word(page, 61, (acc.min(0x0FFF_FFFF) >> 16) as u16);
        for i in 0..4 {
            set_word(page, 100 + i, ((acc >> (16 * i)) & 0xFFFF) as u16);
        }
        set_word(page, 69, word(page, 69) & !(1 << 3));
        let hpa = !h.amac;
        let w82 = (word(page, 82) & !(1 << 10)) | (u16::from(hpa) << 10);
        set_word(page, 82, w82);
        let w83 = (word(page, 83) & 0x37FF) | 0x4000 | (u16::from(h.dco && !h.amac) << 11);
        set_word(page, 83, w83);
        set_word(page, 87, (word(page, 87) & 0x3FFF) | 0x4000);
        let w85 = (word(page, 85) & !(1 << 10)) | (u16::from(hpa) << 10);
        set_word(page, 85, w85);
        let w119 = (word(page, 119) & 0x3EFF) | 0x4000 | (u16::from(h.amac) << 8);
        set_word(page, 119, w119);
    }

    /// Answers the hidden-area commands when the drive has a [`HiddenAreaState`]; `None`
    /// for every other command.
    fn hidden_area_reply(&mut self, cdb: &[u8; 16], data: &mut AtaData<'_>) -> Option<ScsiReply> {
        use crate::ata_hidden as h;
        let previous = self.log.iter().rev().nth(1).copied();
        let state = self.hidden.as_mut()?;
        let features = u16::from_be_bytes([cdb[3], cdb[4]]);
        let reply = match (cdb[14], data) {
            (ata::ATA_READ_NATIVE_MAX_EXT, AtaData::None) if state.amac => aborted_reply(),
            (ata::ATA_READ_NATIVE_MAX_EXT, AtaData::None) => {
                registers_reply(state.native_sectors - 1)
            }
            (h::ATA_SET_MAX_ADDRESS_EXT, AtaData::None) => {
                let lba = cdb_lba(cdb);
                let nv = cdb[6] & 1 != 0;
                if state.amac || state.set_max_aborts || previous != Some(0x27) {
                    aborted_reply()
                } else if lba >= state.native_sectors || (nv && state.set_max_nv_done) {
                    error_reply(0x10)
                } else {
                    state.accessible_sectors = lba + 1;
                    if nv {
                        state.nonvolatile_accessible = lba + 1;
                        state.set_max_nv_done = true;
                    }
                    ScsiReply::default()
                }
            }
            (h::ATA_DEVICE_CONFIGURATION, _) if state.amac || !state.dco || state.dco_frozen => {
                aborted_reply()
            }
            (h::ATA_DEVICE_CONFIGURATION, AtaData::In(buf)) if features == h::DCO_IDENTIFY => {
                let mut page = vec![0u8; 512];
                set_word(&mut page, 0, 0x0002);
                let max = state.factory_sectors - 1;
                for i in 0..4 {
                    set_word(&mut page, 3 + i, ((max >> (16 * i)) & 0xFFFF) as u16);
                }
                fix_checksum(&mut page);
                buf[..512].copy_from_slice(&page);
                ScsiReply::default()
            }
            (h::ATA_DEVICE_CONFIGURATION, AtaData::None) if features == h::DCO_RESTORE => {
                if state.accessible_sectors < state.native_sectors {
                    aborted_reply()
                } else {
                    state.native_sectors = state.factory_sectors;
                    state.accessible_sectors = state.factory_sectors;
                    state.nonvolatile_accessible = state.factory_sectors;
                    ScsiReply::default()
                }
            }
            (h::ATA_DEVICE_CONFIGURATION, AtaData::None) if features == h::DCO_FREEZE_LOCK => {
                state.dco_frozen = true;
                ScsiReply::default()
            }
            (h::ATA_ACCESSIBLE_MAX_ADDRESS, _) if !state.amac => aborted_reply(),
            (h::ATA_ACCESSIBLE_MAX_ADDRESS, AtaData::None) => match features {
                h::AMAC_GET_NATIVE_MAX => registers_reply(state.native_sectors - 1),
                h::AMAC_SET_ACCESSIBLE_MAX if state.amac_frozen => aborted_reply(),
                h::AMAC_SET_ACCESSIBLE_MAX if cdb_lba(cdb) >= state.native_sectors => {
                    error_reply(0x10)
                }
                h::AMAC_SET_ACCESSIBLE_MAX => {
                    state.accessible_sectors = cdb_lba(cdb) + 1;
                    state.nonvolatile_accessible = state.accessible_sectors;
                    ScsiReply::default()
                }
                h::AMAC_FREEZE => {
                    state.amac_frozen = true;
                    ScsiReply::default()
                }
                _ => aborted_reply(),
            },
            (ata::ATA_READ_NATIVE_MAX_EXT, _)
            | (h::ATA_SET_MAX_ADDRESS_EXT, _)
            | (h::ATA_DEVICE_CONFIGURATION, _)
            | (h::ATA_ACCESSIBLE_MAX_ADDRESS, _) => aborted_reply(),
            _ => return None,
        };
        Some(reply)
    }

    /// Power-on for the hidden-area state: volatile SET MAX values are lost, the freezes and
    /// the one-non-volatile-SET-MAX rule are reset.
    fn hidden_area_power_cycle(&mut self) {
        if let Some(h) = &mut self.hidden {
            h.accessible_sectors = h.nonvolatile_accessible;
            h.dco_frozen = false;
            h.amac_frozen = false;
            h.set_max_nv_done = false;
        }
    }
}

// ---- SANITIZE DEVICE (ACS-3 §7.36 and §4.17 Sanitize Device feature set; ACS-4 §7.32) ----
//
// The drive supports the operations word 59 of its page advertises ([`patch_sanitize_supported`]).
// CRYPTO SCRAMBLE / BLOCK ERASE / OVERWRITE EXT start an operation and complete at once (the
// operation runs in the background, ACS-3 §4.17.2); each SANITIZE STATUS EXT while it runs
// advances it by 1/`polls_to_complete`, so a test sees the progress move, and the last one
// changes the medium: crypto scramble → bytes from a generator keyed per operation (the old
// key is gone, the data reads as noise), block erase → `block_erase_fill`, overwrite → the
// 32-bit pattern (little-endian, inverted when INVERT is set and the pass count is even).
// While an operation runs or after one failed, every command but SANITIZE DEVICE and IDENTIFY
// DEVICE is aborted (§4.17.4). An operation in progress survives a power cycle and goes on
// after power-on (§4.17.2); the frozen and antifreeze states end at power-on. A failure
// injected with `fail_next` puts the drive in the Sanitize Operation Failed state (SD3), left
// by STATUS EXT with CLEAR SANITIZE OPERATION FAILED only when the failed command had
// FAILURE MODE set, or by a later successful operation. A refused command carries its
// SANITIZE DEVICE ERROR REASON in LBA 7:0.

/// Sets IDENTIFY DEVICE word 59 (ACS-3 §7.12.7.25): bit 12 the feature set, 13 CRYPTO
/// SCRAMBLE, 14 OVERWRITE, 15 BLOCK ERASE, 10 ANTIFREEZE LOCK, 11 ACS-3 command list; the
/// multiple-sector bits 8:0 are kept. Checksum recomputed.
pub fn patch_sanitize_supported(page: &mut [u8], crypto: bool, block: bool, overwrite: bool) {
    let w = (word(page, 59) & 0x01FF)
        | (1 << 12)
        | (1 << 11)
        | (1 << 10)
        | (u16::from(crypto) << 13)
        | (u16::from(overwrite) << 14)
        | (u16::from(block) << 15);
    set_word(page, 59, w);
    fix_checksum(page);
}

/// The sanitize operation a drive runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SanitizeRun {
    /// CRYPTO SCRAMBLE EXT.
    Crypto,
    /// BLOCK ERASE EXT.
    Block,
    /// OVERWRITE EXT with its pattern, pass count (1–16) and INVERT bit.
    Overwrite {
        /// LBA 31:0.
        pattern: u32,
        /// Passes.
        passes: u8,
        /// INVERT PATTERN BETWEEN OVERWRITE PASSES.
        invert: bool,
    },
}

/// The Sanitize Device state of the scripted drive (ACS-3 §4.17.10 states SD0–SD4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SanitizeState {
    /// The operation running, with the STATUS polls it has had.
    pub running: Option<(SanitizeRun, u32)>,
    /// FAILURE MODE of the running (or failed) operation.
    pub failure_mode: bool,
    /// Sanitize Operation Failed state (SD3).
    pub failed: bool,
    /// The last operation completed without error (COUNT bit 15 of STATUS EXT).
    pub completed_without_error: bool,
    /// Sanitize Frozen state (SD1), until power-on.
    pub frozen: bool,
    /// ANTIFREEZE LOCK accepted, until power-on.
    pub antifreeze: bool,
    /// STATUS polls an operation takes (0 is taken as 1). Default 4.
    pub polls_to_complete: Option<u32>,
    /// Fault: the next operation fails (at its end, the medium untouched).
    pub fail_next: bool,
    /// Fault: the drive loses power at this STATUS poll of a running operation (1-based);
    /// the operation stays in progress, to go on after [`ScriptedAtaDrive::power_cycle`].
    pub power_loss_at_poll: Option<u32>,
    /// The byte a block erase leaves (vendor specific in ACS-3). Default 0.
    pub block_erase_fill: u8,
    /// Fault: operations report success without touching the medium (a lying firmware).
    pub lies: bool,
    /// Operations completed, a key for the crypto scramble's noise.
    pub generation: u32,
}

impl SanitizeState {
    fn polls(&self) -> u32 {
        self.polls_to_complete.unwrap_or(4).max(1)
    }
}

fn sanitize_reply(count_bits: u16, lba: u64, error: Option<u8>) -> ScsiReply {
    let [c_hi, c_lo] = count_bits.to_be_bytes();
    let b = lba.to_le_bytes();
    let (key, ascq, err, status) = match error {
        None => (0x01, 0x1D, 0x00, 0x50),
        Some(_) => (0x0B, 0x00, 0x04, 0x51),
    };
    let mut lba_bytes = [b[3], b[0], b[4], b[1], b[5], b[2]];
    if let Some(reason) = error {
        lba_bytes = [0, reason, 0, 0, 0, 0];
    }
    ScsiReply {
        status: 2,
        driver_status: 0x08,
        sense: vec![
            0x72,
            key,
            0x00,
            ascq,
            0,
            0,
            0,
            14,
            0x09,
            0x0C,
            0x01,
            err,
            c_hi,
            c_lo,
            lba_bytes[0],
            lba_bytes[1],
            lba_bytes[2],
            lba_bytes[3],
            lba_bytes[4],
            lba_bytes[5],
            0x40,
            status,
        ],
        ..ScsiReply::default()
    }
}

impl ScriptedAtaDrive {
    fn sanitize_power_cycle(&mut self) {
        let s = &mut self.sanitize;
        s.frozen = false;
        s.antifreeze = false;
        s.power_loss_at_poll = None;
    }

    fn sanitize_status_bits(&self) -> u16 {
        let s = &self.sanitize;
        (u16::from(s.completed_without_error) << 15)
            | (u16::from(s.running.is_some()) << 14)
            | (u16::from(s.frozen) << 13)
            | (u16::from(s.antifreeze) << 12)
    }

    fn sanitize_progress(&self) -> u64 {
        match self.sanitize.running {
            Some((_, polls)) => {
                (u64::from(polls) * 65_536 / u64::from(self.sanitize.polls())).min(0xFFFE)
            }
            None => 0xFFFF,
        }
    }

    fn sanitize_refused(&self, reason: u8) -> ScsiReply {
        sanitize_reply(self.sanitize_status_bits(), 0, Some(reason))
    }

    fn sanitize_finish(&mut self, run: SanitizeRun) {
        let s = &mut self.sanitize;
        s.running = None;
        if std::mem::take(&mut s.fail_next) {
            s.failed = true;
            s.completed_without_error = false;
            return;
        }
        s.failed = false;
        s.completed_without_error = true;
        s.generation = s.generation.wrapping_add(1);
        if s.lies {
            return;
        }
        let mut media = self.media.lock().unwrap_or_else(|p| p.into_inner());
        match run {
            SanitizeRun::Crypto => {
                let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ u64::from(s.generation);
                for chunk in media.chunks_mut(8) {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let n = chunk.len();
                    chunk.copy_from_slice(&x.to_le_bytes()[..n]);
                }
            }
            SanitizeRun::Block => media.fill(s.block_erase_fill),
            SanitizeRun::Overwrite {
                pattern,
                passes,
                invert,
            } => {
                let last = if invert && passes % 2 == 0 {
                    !pattern
                } else {
                    pattern
                };
                let bytes = last.to_le_bytes();
                for (i, b) in media.iter_mut().enumerate() {
                    *b = bytes[i % 4];
                }
            }
        }
    }

    /// SANITIZE DEVICE, and the abort of other commands while sanitizing. `None`: not ours.
    fn sanitize_hook(&mut self, cdb: &[u8; 16]) -> Option<io::Result<ScsiReply>> {
        let command = cdb[14];
        let blocked = self.sanitize.running.is_some() || self.sanitize.failed;
        if command != ata::ATA_SANITIZE {
            return (blocked && command != ata::ATA_IDENTIFY_DEVICE).then(|| Ok(aborted_reply()));
        }
        let support = ata::SanitizeSupport::from_word59(word(&self.page, 59));
        if !support.supported {
            return Some(Ok(aborted_reply()));
        }
        let features = u16::from_be_bytes([cdb[3], cdb[4]]);
        let count = u16::from_be_bytes([cdb[5], cdb[6]]);
        let lba = u64::from(cdb[8])
            | (u64::from(cdb[10]) << 8)
            | (u64::from(cdb[12]) << 16)
            | (u64::from(cdb[7]) << 24)
            | (u64::from(cdb[9]) << 32)
            | (u64::from(cdb[11]) << 40);
        use ata::{sanitize_feature as f, sanitize_key as k};
        let start = |run: SanitizeRun, advertised: bool, key_ok: bool| (run, advertised, key_ok);
        let op = match features {
            f::STATUS_EXT => {
                if let Some((run, polls)) = self.sanitize.running {
                    let polls = polls + 1;
                    if self.sanitize.power_loss_at_poll == Some(polls) {
                        self.powered = false;
                        return Some(Err(io::Error::from_raw_os_error(libc::EIO)));
                    }
                    self.sanitize.running = Some((run, polls));
                    if polls >= self.sanitize.polls() {
                        self.sanitize_finish(run);
                    }
                }
                if self.sanitize.failed {
                    let clear = count & ata::SANITIZE_CLEAR_FAILED != 0;
                    if clear && self.sanitize.failure_mode {
                        self.sanitize.failed = false;
                    } else {
                        return Some(Ok(self.sanitize_refused(1)));
                    }
                }
                return Some(Ok(sanitize_reply(
                    self.sanitize_status_bits(),
                    self.sanitize_progress(),
                    None,
                )));
            }
            f::FREEZE_LOCK_EXT => {
                if self.sanitize.antifreeze {
                    return Some(Ok(self.sanitize_refused(4)));
                }
                if lba != k::FREEZE_LOCK || blocked {
                    return Some(Ok(self.sanitize_refused(2)));
                }
                self.sanitize.frozen = true;
                return Some(Ok(sanitize_reply(
                    self.sanitize_status_bits(),
                    0xFFFF,
                    None,
                )));
            }
            f::ANTIFREEZE_LOCK_EXT => {
                if !support.antifreeze_lock || lba != k::ANTIFREEZE_LOCK {
                    return Some(Ok(self.sanitize_refused(2)));
                }
                self.sanitize.antifreeze = true;
                return Some(Ok(sanitize_reply(
                    self.sanitize_status_bits(),
                    0xFFFF,
                    None,
                )));
            }
            f::CRYPTO_SCRAMBLE_EXT => start(
                SanitizeRun::Crypto,
                support.crypto_scramble,
                lba == k::CRYPTO_SCRAMBLE,
            ),
            f::BLOCK_ERASE_EXT => start(
                SanitizeRun::Block,
                support.block_erase,
                lba == k::BLOCK_ERASE,
            ),
            f::OVERWRITE_EXT => {
                let passes = match count & 0xF {
                    0 => 16,
                    n => n as u8,
                };
                start(
                    SanitizeRun::Overwrite {
                        pattern: (lba & 0xFFFF_FFFF) as u32,
                        passes,
                        invert: count & ata::SANITIZE_OVERWRITE_INVERT != 0,
                    },
                    support.overwrite,
                    lba >> 32 == k::OVERWRITE,
                )
            }
            _ => return Some(Ok(self.sanitize_refused(2))),
        };
        let (run, advertised, key_ok) = op;
        if !advertised || !key_ok {
            return Some(Ok(self.sanitize_refused(2)));
        }
        if self.sanitize.frozen {
            return Some(Ok(self.sanitize_refused(3)));
        }
        if self.sanitize.running.is_some() {
            return Some(Ok(self.sanitize_refused(0)));
        }
        // Accepted: the operation starts (a failed state is left for the new operation).
        self.sanitize.failed = false;
        self.sanitize.completed_without_error = false;
        self.sanitize.failure_mode = count & ata::SANITIZE_FAILURE_MODE != 0;
        self.sanitize.running = Some((run, 0));
        Some(Ok(sanitize_reply(self.sanitize_status_bits(), 0, None)))
    }
}
