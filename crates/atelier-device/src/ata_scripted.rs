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
