//! A scripted SCSI drive: a test transport for [`ScsiCommand`] that answers SANITIZE, REPORT
//! SUPPORTED OPERATION CODES, REQUEST SENSE and TEST UNIT READY as SBC-4 and SPC-4 say a SAS
//! drive does (see [`crate::scsi`] for the sections).
//!
//! Neither this machine nor QEMU offers a SCSI disk with SANITIZE (QEMU's `scsi-hd` does not
//! implement it), so the SCSI path runs against this drive. It keeps the sanitize state of
//! SBC-4 §4.11: idle; in progress (every REQUEST SENSE or TEST UNIT READY is one tick of the
//! drive's clock: NOT READY, 04h/1Bh with the sense-key specific PROGRESS INDICATION; the
//! operation completes after [`ScriptedScsiDrive::steps`] ticks); failed (31h/03h, left only
//! by EXIT FAILURE MODE when the failed SANITIZE had AUSE set, or by a sanitize that
//! succeeds). A sanitize survives a power loss: after [`ScriptedScsiDrive::power_cycle`] it
//! is still in progress and completes. Its erase really rewrites the shared backing buffer
//! the test reads back: OVERWRITE with the initialization pattern repeated over each block,
//! BLOCK ERASE with zeros, CRYPTOGRAPHIC ERASE with bytes that look random (the old key is
//! gone, the media decrypts to noise).
//!
//! It is compiled into the crate (not only under `cfg(test)`) so other crates' tests use it;
//! the bench itself never constructs one.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::ata::{AtaData, ScsiReply};
use crate::scsi::{
    self, KEY_ILLEGAL_REQUEST, KEY_MEDIUM_ERROR, KEY_NOT_READY, SanitizeAction, ScsiCommand,
    ScsiSanitizeSupport,
};

/// Faults a test asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScsiFaults {
    /// The sanitize operation ends with SANITIZE COMMAND FAILED; nothing is erased.
    pub fail_sanitize: bool,
    /// The drive loses power at this tick (1-based) of a running sanitize: that command and
    /// every later one fail with EIO until [`ScriptedScsiDrive::power_cycle`].
    pub power_loss_at_tick: Option<u32>,
    /// The sanitize "succeeds" without touching the media (a lying firmware).
    pub erase_lies: bool,
    /// REPORT SUPPORTED OPERATION CODES is not implemented (ILLEGAL REQUEST, 20h/00h).
    pub no_report_opcodes: bool,
    /// REQUEST SENSE ends in CHECK CONDITION (sense data in the sense buffer) instead of
    /// GOOD with the sense data as its parameter data.
    pub request_sense_check_condition: bool,
    /// REQUEST SENSE reports a UNIT ATTENTION (29h/00h, power on or reset) at this tick of a
    /// running sanitize, once, without advancing it.
    pub unit_attention_at_tick: Option<u32>,
}

/// Where the drive's sanitize stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptedState {
    /// Nothing running, nothing failed.
    Idle,
    /// A sanitize is running.
    InProgress {
        /// The service action.
        action: SanitizeAction,
        /// AUSE of the command that started it.
        ause: bool,
        /// Ticks elapsed.
        ticks: u32,
    },
    /// The last sanitize failed.
    Failed {
        /// AUSE of the command that started it.
        ause: bool,
    },
}

/// The scripted drive.
#[derive(Debug)]
pub struct ScriptedScsiDrive {
    media: Arc<Mutex<Vec<u8>>>,
    /// Logical block length (the largest initialization pattern).
    pub block_len: u32,
    /// The service actions the drive supports (REPORT SUPPORTED OPERATION CODES answers from
    /// it; SANITIZE refuses the others).
    pub support: ScsiSanitizeSupport,
    /// The sanitize state, readable by tests.
    pub state: ScriptedState,
    /// Faults to inject.
    pub faults: ScsiFaults,
    /// Ticks a sanitize takes (at least 1).
    pub steps: u32,
    /// Whether the drive is powered.
    pub powered: bool,
    /// Commands received, in order: operation code and, for SANITIZE and MAINTENANCE IN, the
    /// service action.
    pub log: Vec<(u8, Option<u8>)>,
    /// Timeouts the host gave, per operation code, in order.
    pub timeouts: Vec<(u8, Duration)>,
    pattern: Vec<u8>,
    erases: u64,
}

/// CHECK CONDITION with fixed-format sense data (SPC-4 §4.5.3), with a PROGRESS INDICATION
/// in the sense-key specific bytes when given.
pub fn check_condition(key: u8, asc: u8, ascq: u8, progress: Option<u16>) -> ScsiReply {
    ScsiReply {
        status: scsi::STATUS_CHECK_CONDITION,
        driver_status: 0x08,
        sense: fixed_sense(key, asc, ascq, progress),
        ..ScsiReply::default()
    }
}

/// Fixed-format sense data: 70h, key, additional length 10, ASC/ASCQ, SKSV + progress.
pub fn fixed_sense(key: u8, asc: u8, ascq: u8, progress: Option<u16>) -> Vec<u8> {
    let mut s = vec![0u8; 18];
    s[0] = 0x70;
    s[2] = key;
    s[7] = 10;
    s[12] = asc;
    s[13] = ascq;
    if let Some(p) = progress {
        s[15] = 0x80;
        s[16..18].copy_from_slice(&p.to_be_bytes());
    }
    s
}

fn invalid_field_in_cdb() -> ScsiReply {
    check_condition(KEY_ILLEGAL_REQUEST, 0x24, 0x00, None)
}

fn invalid_field_in_parameter_list() -> ScsiReply {
    check_condition(KEY_ILLEGAL_REQUEST, 0x26, 0x00, None)
}

impl ScriptedScsiDrive {
    /// A drive of 512-byte blocks whose user data is `media`, supporting `support`, whose
    /// sanitize takes 4 ticks.
    pub fn new(media: Arc<Mutex<Vec<u8>>>, support: ScsiSanitizeSupport) -> Self {
        Self {
            media,
            block_len: 512,
            support,
            state: ScriptedState::Idle,
            faults: ScsiFaults::default(),
            steps: 4,
            powered: true,
            log: Vec::new(),
            timeouts: Vec::new(),
            pattern: Vec::new(),
            erases: 0,
        }
    }

    /// Power off and on: a running sanitize carries on (SBC-4 §4.11: it resumes after
    /// power-on until complete); the power-loss fault is cleared.
    pub fn power_cycle(&mut self) {
        self.powered = true;
        self.faults.power_loss_at_tick = None;
    }

    /// Service actions sent with SANITIZE, in order.
    pub fn sanitize_actions(&self) -> Vec<u8> {
        self.log
            .iter()
            .filter(|(op, _)| *op == scsi::SANITIZE)
            .filter_map(|(_, sa)| *sa)
            .collect()
    }

    fn erase(&mut self, action: SanitizeAction) {
        if self.faults.erase_lies {
            return;
        }
        self.erases += 1;
        let mut m = self.media.lock().unwrap_or_else(|p| p.into_inner());
        match action {
            SanitizeAction::Overwrite => {
                let block = self.block_len as usize;
                for (i, b) in m.iter_mut().enumerate() {
                    *b = self.pattern[(i % block) % self.pattern.len()];
                }
            }
            SanitizeAction::BlockErase => m.fill(0),
            SanitizeAction::CryptographicErase => {
                // A new key each time: the noise differs from one erase to the next.
                let mut x: u64 = 0x2545_F491_4F6C_DD1D ^ self.erases.wrapping_mul(0x9E37_79B9);
                for b in m.iter_mut() {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    *b = x as u8;
                }
            }
            SanitizeAction::ExitFailureMode => {}
        }
    }

    /// One tick of a running sanitize; returns the sense data the drive reports now.
    fn tick(&mut self) -> Vec<u8> {
        match self.state.clone() {
            ScriptedState::InProgress {
                action,
                ause,
                ticks,
            } => {
                let ticks = ticks + 1;
                if ticks >= self.steps.max(1) {
                    if self.faults.fail_sanitize {
                        self.state = ScriptedState::Failed { ause };
                        fixed_sense(KEY_MEDIUM_ERROR, 0x31, 0x03, None)
                    } else {
                        self.erase(action);
                        self.state = ScriptedState::Idle;
                        fixed_sense(0, 0, 0, None)
                    }
                } else {
                    self.state = ScriptedState::InProgress {
                        action,
                        ause,
                        ticks,
                    };
                    let progress = (u64::from(ticks) * 65_536 / u64::from(self.steps.max(1)))
                        .min(65_535) as u16;
                    fixed_sense(KEY_NOT_READY, 0x04, 0x1B, Some(progress))
                }
            }
            ScriptedState::Failed { .. } => fixed_sense(KEY_MEDIUM_ERROR, 0x31, 0x03, None),
            ScriptedState::Idle => fixed_sense(0, 0, 0, None),
        }
    }

    fn sanitize(&mut self, cdb: &[u8], data: AtaData<'_>) -> ScsiReply {
        if matches!(self.state, ScriptedState::InProgress { .. }) {
            return check_condition(KEY_NOT_READY, 0x04, 0x1B, None);
        }
        let immed = cdb[1] & 0x80 != 0;
        let ause = cdb[1] & 0x20 != 0;
        let Some(action) = SanitizeAction::from_code(cdb[1] & 0x1F) else {
            return invalid_field_in_cdb();
        };
        if !self.support.supports(action) {
            return invalid_field_in_cdb();
        }
        let param_len = usize::from(u16::from_be_bytes([cdb[7], cdb[8]]));
        if action == SanitizeAction::ExitFailureMode {
            if param_len != 0 {
                return invalid_field_in_cdb();
            }
            return match self.state {
                ScriptedState::Failed { ause: false } => invalid_field_in_cdb(),
                _ => {
                    self.state = ScriptedState::Idle;
                    ScsiReply::default()
                }
            };
        }
        // Restricted completion mode: after a failure with AUSE 0, a new sanitize may not ask
        // for AUSE 1 (SBC-4 §4.11).
        if ause && self.state == (ScriptedState::Failed { ause: false }) {
            return invalid_field_in_cdb();
        }
        if action == SanitizeAction::Overwrite {
            let block = self.block_len as usize;
            if param_len <= 4 || param_len >= block + 5 {
                return invalid_field_in_cdb();
            }
            let AtaData::Out(list) = data else {
                return invalid_field_in_cdb();
            };
            if list.len() != param_len {
                return invalid_field_in_cdb();
            }
            let count = list[0] & 0x1F;
            let ipl = usize::from(u16::from_be_bytes([list[2], list[3]]));
            if count == 0 || ipl == 0 || ipl > block || ipl + 4 != param_len {
                return invalid_field_in_parameter_list();
            }
            // The last pass writes the pattern itself (SBC-4 §5.24.3).
            self.pattern = list[4..4 + ipl].to_vec();
        } else if param_len != 0 {
            return invalid_field_in_cdb();
        }
        self.state = ScriptedState::InProgress {
            action,
            ause,
            ticks: 0,
        };
        if immed {
            return ScsiReply::default();
        }
        // Without IMMED the command returns when the operation is over.
        loop {
            let sense = self.tick();
            match self.state {
                ScriptedState::InProgress { .. } => continue,
                ScriptedState::Failed { .. } => {
                    return ScsiReply {
                        status: scsi::STATUS_CHECK_CONDITION,
                        driver_status: 0x08,
                        sense,
                        ..ScsiReply::default()
                    };
                }
                ScriptedState::Idle => return ScsiReply::default(),
            }
        }
    }

    fn report_opcodes(&self, cdb: &[u8], data: AtaData<'_>) -> ScsiReply {
        if self.faults.no_report_opcodes {
            return check_condition(KEY_ILLEGAL_REQUEST, 0x20, 0x00, None);
        }
        if cdb[1] & 0x1F != scsi::REPORT_SUPPORTED_OPCODES_SA || cdb[2] & 0x07 != 0b010 {
            return invalid_field_in_cdb();
        }
        let AtaData::In(buf) = data else {
            return invalid_field_in_cdb();
        };
        let opcode = cdb[3];
        let sa = u16::from_be_bytes([cdb[4], cdb[5]]);
        let supported = opcode == scsi::SANITIZE
            && u8::try_from(sa)
                .ok()
                .and_then(SanitizeAction::from_code)
                .is_some_and(|a| self.support.supports(a));
        // One-command parameter data: SUPPORT 011b with the CDB usage map of SANITIZE (the
        // bits the drive looks at), or 001b with no usage data.
        let answer: Vec<u8> = if supported {
            vec![
                0,
                0x03,
                0,
                10,
                scsi::SANITIZE,
                0xA0 | (sa as u8),
                0,
                0,
                0,
                0,
                0,
                0xFF,
                0xFF,
                0x00,
            ]
        } else {
            vec![0, 0x01, 0, 0]
        };
        let alloc = u32::from_be_bytes([cdb[6], cdb[7], cdb[8], cdb[9]]) as usize;
        let n = answer.len().min(alloc).min(buf.len());
        buf[..n].copy_from_slice(&answer[..n]);
        ScsiReply {
            resid: i32::try_from(buf.len() - n).unwrap_or(0),
            ..ScsiReply::default()
        }
    }
}

impl ScsiCommand for ScriptedScsiDrive {
    fn send(&mut self, cdb: &[u8], data: AtaData<'_>, timeout: Duration) -> io::Result<ScsiReply> {
        let opcode = *cdb.first().unwrap_or(&0xFF);
        let running = matches!(self.state, ScriptedState::InProgress { .. });
        let polls = opcode == scsi::REQUEST_SENSE || opcode == scsi::TEST_UNIT_READY;
        if let (true, true, Some(at), ScriptedState::InProgress { ticks, .. }) =
            (running, polls, self.faults.power_loss_at_tick, &self.state)
            && ticks + 1 >= at
        {
            self.powered = false;
        }
        if !self.powered {
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        let sa = matches!(opcode, scsi::SANITIZE | scsi::MAINTENANCE_IN).then(|| cdb[1] & 0x1F);
        self.log.push((opcode, sa));
        self.timeouts.push((opcode, timeout));
        let reply = match opcode {
            scsi::SANITIZE if cdb.len() == 10 => self.sanitize(cdb, data),
            scsi::MAINTENANCE_IN if cdb.len() == 12 => self.report_opcodes(cdb, data),
            scsi::REQUEST_SENSE if cdb.len() == 6 => {
                let attention = match (&self.state, self.faults.unit_attention_at_tick) {
                    (ScriptedState::InProgress { ticks, .. }, Some(at)) if ticks + 1 >= at => {
                        self.faults.unit_attention_at_tick = None;
                        true
                    }
                    _ => false,
                };
                let sense = if attention {
                    fixed_sense(0x6, 0x29, 0x00, None)
                } else {
                    self.tick()
                };
                let key = sense[2] & 0x0F;
                if self.faults.request_sense_check_condition && key != 0 {
                    return Ok(ScsiReply {
                        status: scsi::STATUS_CHECK_CONDITION,
                        driver_status: 0x08,
                        sense,
                        ..ScsiReply::default()
                    });
                }
                let AtaData::In(buf) = data else {
                    return Ok(invalid_field_in_cdb());
                };
                let n = sense.len().min(usize::from(cdb[4])).min(buf.len());
                buf[..n].copy_from_slice(&sense[..n]);
                ScsiReply {
                    resid: i32::try_from(buf.len() - n).unwrap_or(0),
                    ..ScsiReply::default()
                }
            }
            scsi::TEST_UNIT_READY if cdb.len() == 6 => {
                let sense = self.tick();
                match scsi::parse_sense(&sense) {
                    Some(s) if s.key != 0 => ScsiReply {
                        status: scsi::STATUS_CHECK_CONDITION,
                        driver_status: 0x08,
                        sense,
                        ..ScsiReply::default()
                    },
                    _ => ScsiReply::default(),
                }
            }
            // INVALID COMMAND OPERATION CODE.
            _ => check_condition(KEY_ILLEGAL_REQUEST, 0x20, 0x00, None),
        };
        Ok(reply)
    }
}
