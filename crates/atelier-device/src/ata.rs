//! ATA commands through SCSI: ATA PASS-THROUGH(16) sent with `SG_IO`.
//!
//! Follows:
//! - **SAT-4** (SCSI / ATA Translation – 4, T10 BSR INCITS 491): §12.2.2.3 the ATA
//!   PASS-THROUGH (16) CDB (Table 167: PROTOCOL, EXTEND, CK_COND, T_DIR, BYTE_BLOCK,
//!   T_LENGTH, FEATURES, COUNT, LBA, DEVICE, COMMAND), §12.2.2.2 PROTOCOL values (Table 165),
//!   §12.2.7 the ATA Status Return sense data descriptor (code 09h, Table 180) and §12.2.6 the
//!   fixed-format sense data of a pass-through (INFORMATION / COMMAND-SPECIFIC fields);
//! - **ACS-3** (ATA/ATAPI Command Set – 3, INCITS 522-2014): §7.12 IDENTIFY DEVICE (ECh) and
//!   its data (Table 45, §7.12.7: words 10–19 serial, 23–26 firmware, 27–46 model, 59 sanitize,
//!   60–61 and 100–103 capacity, 69 additional supported, 82–87 command sets, 89/90 erase times,
//!   128 security status, 169 DATA SET MANAGEMENT, 217 rotation rate, 255 integrity word);
//!   §7.26 READ NATIVE MAX ADDRESS EXT (27h, HPA feature set, §4.11); the Security feature set
//!   commands SECURITY SET PASSWORD (F1h), SECURITY UNLOCK (F2h), SECURITY ERASE PREPARE (F3h),
//!   SECURITY ERASE UNIT (F4h) and SECURITY DISABLE PASSWORD (F6h), whose 512-byte data block
//!   is word 0 control (bit 0 identifier: 0 user / 1 master; bit 1 enhanced erase for ERASE
//!   UNIT; bit 8 master password capability for SET PASSWORD), words 1–16 the 32-byte password,
//!   word 17 the master password identifier (SET PASSWORD with identifier = master only);
//! - **ACS-3** §7.36 / **ACS-4** §7.32 SANITIZE DEVICE (B4h): FEATURE 0000h STATUS EXT (COUNT
//!   bit 0 CLEAR SANITIZE OPERATION FAILED; outputs COUNT bits 15:12 and the progress in LBA
//!   15:0), 0011h CRYPTO SCRAMBLE EXT, 0012h BLOCK ERASE EXT, 0014h OVERWRITE EXT (pattern in
//!   LBA 31:0, pass count COUNT 3:0, INVERT bit 7), 0020h FREEZE LOCK EXT, 0040h ANTIFREEZE
//!   LOCK EXT, each with its ASCII key in the LBA field and FAILURE MODE in COUNT bit 4; the
//!   SANITIZE DEVICE ERROR REASON in LBA 7:0 of an aborted one;
//! - **SPC-4** §4.5 sense data (response codes 70h/71h fixed, 72h/73h descriptor; sense keys).
//!
//! Builders are pure functions. The [`AtaPassThrough`] trait is the transport: a real
//! [`SgDevice`] in the bench, a scripted drive in tests.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// ATA command IDENTIFY DEVICE.
pub const ATA_IDENTIFY_DEVICE: u8 = 0xEC;
/// ATA command READ NATIVE MAX ADDRESS EXT.
pub const ATA_READ_NATIVE_MAX_EXT: u8 = 0x27;
/// ATA command SANITIZE DEVICE (feature field selects the operation).
pub const ATA_SANITIZE: u8 = 0xB4;
/// SCSI operation code of ATA PASS-THROUGH (16).
pub const ATA_PASS_THROUGH_16: u8 = 0x85;

/// The PROTOCOL field of an ATA PASS-THROUGH CDB (SAT-4 Table 165), for the ones used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// 3: Non-data.
    NonData,
    /// 4: PIO Data-In.
    PioDataIn,
    /// 5: PIO Data-Out.
    PioDataOut,
}

impl Protocol {
    fn code(self) -> u8 {
        match self {
            Self::NonData => 3,
            Self::PioDataIn => 4,
            Self::PioDataOut => 5,
        }
    }
}

/// The ATA registers of a command (48-bit form).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Taskfile {
    /// FEATURES (15:0).
    pub features: u16,
    /// COUNT (15:0).
    pub count: u16,
    /// LBA (47:0).
    pub lba: u64,
    /// DEVICE.
    pub device: u8,
    /// COMMAND.
    pub command: u8,
}

/// Builds an ATA PASS-THROUGH (16) CDB (SAT-4 §12.2.2.3, Table 167).
///
/// Byte 1: PROTOCOL (bits 4:1), EXTEND (bit 0). Byte 2: CK_COND (bit 5, return the registers
/// in sense data), T_DIR (bit 3, 1 = from the device), BYTE_BLOCK (bit 2, 1 = blocks),
/// T_LENGTH (bits 1:0, 2 = the length is in COUNT). Bytes 3–12: FEATURES, COUNT and LBA, high
/// byte first per pair, LBA in the order (31:24) (7:0) (39:32) (15:8) (47:40) (23:16).
/// Bytes 13–15: DEVICE, COMMAND, CONTROL.
pub fn pass_through_16(tf: &Taskfile, protocol: Protocol, extend: bool, ck_cond: bool) -> [u8; 16] {
    let mut cdb = [0u8; 16];
    cdb[0] = ATA_PASS_THROUGH_16;
    cdb[1] = (protocol.code() << 1) | u8::from(extend);
    let (t_dir, t_length, byte_block) = match protocol {
        Protocol::NonData => (0, 0, 0),
        Protocol::PioDataIn => (1, 2, 1),
        Protocol::PioDataOut => (0, 2, 1),
    };
    cdb[2] = (u8::from(ck_cond) << 5) | (t_dir << 3) | (byte_block << 2) | t_length;
    let [f_hi, f_lo] = tf.features.to_be_bytes();
    let [c_hi, c_lo] = tf.count.to_be_bytes();
    let l = tf.lba.to_le_bytes();
    cdb[3] = f_hi;
    cdb[4] = f_lo;
    cdb[5] = c_hi;
    cdb[6] = c_lo;
    cdb[7] = l[3];
    cdb[8] = l[0];
    cdb[9] = l[4];
    cdb[10] = l[1];
    cdb[11] = l[5];
    cdb[12] = l[2];
    cdb[13] = tf.device;
    cdb[14] = tf.command;
    cdb
}

/// IDENTIFY DEVICE (ACS-3 §7.12): PIO Data-In of one 512-byte block, 28-bit form.
pub fn identify_device_cdb() -> [u8; 16] {
    pass_through_16(
        &Taskfile {
            count: 1,
            command: ATA_IDENTIFY_DEVICE,
            ..Taskfile::default()
        },
        Protocol::PioDataIn,
        false,
        false,
    )
}

/// READ NATIVE MAX ADDRESS EXT (ACS-3 §7.26): non-data, 48-bit, DEVICE bit 6 (LBA) set; the
/// answer is in the LBA registers, so CK_COND asks for them in the sense data.
pub fn read_native_max_ext_cdb() -> [u8; 16] {
    pass_through_16(
        &Taskfile {
            device: 0x40,
            command: ATA_READ_NATIVE_MAX_EXT,
            ..Taskfile::default()
        },
        Protocol::NonData,
        true,
        true,
    )
}

// ---- SANITIZE DEVICE (ACS-3 §7.36, ACS-4 §7.32) ----

/// SANITIZE DEVICE FEATURE values (ACS-3 §7.36.1 Table 81 / ACS-4 §7.32.1).
pub mod sanitize_feature {
    /// SANITIZE STATUS EXT.
    pub const STATUS_EXT: u16 = 0x0000;
    /// CRYPTO SCRAMBLE EXT.
    pub const CRYPTO_SCRAMBLE_EXT: u16 = 0x0011;
    /// BLOCK ERASE EXT.
    pub const BLOCK_ERASE_EXT: u16 = 0x0012;
    /// OVERWRITE EXT.
    pub const OVERWRITE_EXT: u16 = 0x0014;
    /// SANITIZE FREEZE LOCK EXT.
    pub const FREEZE_LOCK_EXT: u16 = 0x0020;
    /// SANITIZE ANTIFREEZE LOCK EXT.
    pub const ANTIFREEZE_LOCK_EXT: u16 = 0x0040;
}

/// The signatures SANITIZE DEVICE requires in the LBA field: ASCII keys a stray command is
/// unlikely to carry (ACS-3 §7.36.3–§7.36.7).
pub mod sanitize_key {
    /// CRYPTO SCRAMBLE EXT: LBA 31:0 = "Cryp".
    pub const CRYPTO_SCRAMBLE: u64 = 0x4372_7970;
    /// BLOCK ERASE EXT: LBA 31:0 = "BkEr".
    pub const BLOCK_ERASE: u64 = 0x426B_4572;
    /// OVERWRITE EXT: LBA 47:32 = "OW" (LBA 31:0 is the pattern).
    pub const OVERWRITE: u64 = 0x4F57;
    /// SANITIZE FREEZE LOCK EXT: LBA 31:0 = "FrLk".
    pub const FREEZE_LOCK: u64 = 0x4672_4C6B;
    /// SANITIZE ANTIFREEZE LOCK EXT: LBA 31:0 = "Anti".
    pub const ANTIFREEZE_LOCK: u64 = 0x416E_7469;
}

/// COUNT bit 4 of CRYPTO SCRAMBLE / BLOCK ERASE / OVERWRITE EXT: FAILURE MODE (ACS-3
/// §7.36.3.3.2). Set, a failed operation may be left with SANITIZE STATUS EXT + CLEAR
/// SANITIZE OPERATION FAILED; clear, only a later successful sanitize leaves the failed state.
pub const SANITIZE_FAILURE_MODE: u16 = 1 << 4;
/// COUNT bit 7 of OVERWRITE EXT: INVERT PATTERN BETWEEN OVERWRITE PASSES (ACS-4 §7.32.4.3.2).
pub const SANITIZE_OVERWRITE_INVERT: u16 = 1 << 7;
/// COUNT bit 0 of SANITIZE STATUS EXT: CLEAR SANITIZE OPERATION FAILED (ACS-3 §7.36.6.3).
pub const SANITIZE_CLEAR_FAILED: u16 = 1;

/// The SANITIZE DEVICE operations (ACS-3 §7.36, ACS-4 §7.32), each with the fields of its
/// COUNT register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SanitizeOp {
    /// 0000h SANITIZE STATUS EXT; `clear_failed` sets CLEAR SANITIZE OPERATION FAILED.
    Status {
        /// COUNT bit 0.
        clear_failed: bool,
    },
    /// 0011h CRYPTO SCRAMBLE EXT, LBA 4372_7970h ("Cryp").
    CryptoScramble {
        /// COUNT bit 4, FAILURE MODE.
        failure_mode: bool,
    },
    /// 0012h BLOCK ERASE EXT, LBA 0000_426B_4572h ("BkEr").
    BlockErase {
        /// COUNT bit 4, FAILURE MODE.
        failure_mode: bool,
    },
    /// 0014h OVERWRITE EXT, LBA 4F57h in 47:32 ("OW") + the 32-bit pattern in 31:0.
    Overwrite {
        /// The pattern written (LBA 31:0).
        pattern: u32,
        /// OVERWRITE PASS COUNT, COUNT 3:0 (1–15; 0 means 16).
        passes: u8,
        /// COUNT bit 7, INVERT PATTERN BETWEEN OVERWRITE PASSES.
        invert: bool,
        /// COUNT bit 4, FAILURE MODE.
        failure_mode: bool,
    },
    /// 0020h SANITIZE FREEZE LOCK EXT, LBA 0000_4672_4C6Bh ("FrLk").
    FreezeLock,
    /// 0040h SANITIZE ANTIFREEZE LOCK EXT, LBA 0000_416E_7469h ("Anti").
    AntifreezeLock,
}

impl SanitizeOp {
    /// The FEATURES, COUNT and LBA registers of the operation.
    pub fn registers(self) -> (u16, u16, u64) {
        use sanitize_feature as f;
        use sanitize_key as k;
        let fm = |on: bool| if on { SANITIZE_FAILURE_MODE } else { 0 };
        match self {
            Self::Status { clear_failed } => (
                f::STATUS_EXT,
                if clear_failed {
                    SANITIZE_CLEAR_FAILED
                } else {
                    0
                },
                0,
            ),
            Self::CryptoScramble { failure_mode } => {
                (f::CRYPTO_SCRAMBLE_EXT, fm(failure_mode), k::CRYPTO_SCRAMBLE)
            }
            Self::BlockErase { failure_mode } => {
                (f::BLOCK_ERASE_EXT, fm(failure_mode), k::BLOCK_ERASE)
            }
            Self::Overwrite {
                pattern,
                passes,
                invert,
                failure_mode,
            } => (
                f::OVERWRITE_EXT,
                u16::from(passes & 0xF)
                    | fm(failure_mode)
                    | if invert { SANITIZE_OVERWRITE_INVERT } else { 0 },
                (k::OVERWRITE << 32) | u64::from(pattern),
            ),
            Self::FreezeLock => (f::FREEZE_LOCK_EXT, 0, k::FREEZE_LOCK),
            Self::AntifreezeLock => (f::ANTIFREEZE_LOCK_EXT, 0, k::ANTIFREEZE_LOCK),
        }
    }
}

/// A SANITIZE DEVICE command: non-data, 48-bit (EXTEND), DEVICE bit 6 set, CK_COND so the
/// drive's COUNT and LBA come back (SANITIZE STATUS EXT answers in them).
pub fn sanitize_cdb(op: SanitizeOp) -> [u8; 16] {
    let (features, count, lba) = op.registers();
    pass_through_16(
        &Taskfile {
            features,
            count,
            lba,
            device: 0x40,
            command: ATA_SANITIZE,
        },
        Protocol::NonData,
        true,
        true,
    )
}

/// What SANITIZE STATUS EXT (and every SANITIZE DEVICE command) returns in its normal
/// outputs (ACS-3 §7.36.6.4 / ACS-4 §7.32.6.4): COUNT 15:12 the state bits, LBA 15:0 the
/// progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct SanitizeStatus {
    /// COUNT bit 15: SANITIZE OPERATION COMPLETED WITHOUT ERROR (the last one).
    pub completed_without_error: bool,
    /// COUNT bit 14: SANITIZE IN PROGRESS.
    pub in_progress: bool,
    /// COUNT bit 13: SANITIZE FROZEN (SANITIZE FREEZE LOCK EXT accepted since power-on).
    pub frozen: bool,
    /// COUNT bit 12: SANITIZE ANTIFREEZE (SANITIZE ANTIFREEZE LOCK EXT accepted).
    pub antifreeze: bool,
    /// LBA 15:0: SANITIZE PROGRESS INDICATION, the fraction done as n/65536 (FFFFh when no
    /// operation is in progress).
    pub progress: u16,
}

impl SanitizeStatus {
    /// Reads the normal outputs from the returned registers.
    pub fn from_registers(regs: &AtaRegisters) -> Self {
        Self {
            completed_without_error: regs.count & (1 << 15) != 0,
            in_progress: regs.count & (1 << 14) != 0,
            frozen: regs.count & (1 << 13) != 0,
            antifreeze: regs.count & (1 << 12) != 0,
            progress: (regs.lba & 0xFFFF) as u16,
        }
    }

    /// The fraction done, 0.0–1.0 (1.0 when nothing is in progress).
    pub fn fraction(&self) -> f64 {
        if self.in_progress {
            f64::from(self.progress) / 65536.0
        } else {
            1.0
        }
    }
}

/// SANITIZE DEVICE ERROR REASON, LBA 7:0 of an aborted SANITIZE DEVICE command (ACS-4
/// §7.32.1 Table 59 / ACS-3 §7.36.6.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SanitizeErrorReason {
    /// 00h: no reason given.
    Unspecified,
    /// 01h: the sanitize operation completed with an error (Sanitize Operation Failed state).
    OperationFailed,
    /// 02h: an unsupported value in the command (operation not supported, wrong key).
    Unsupported,
    /// 03h: the device is in the Sanitize Frozen state.
    Frozen,
    /// 04h: SANITIZE FREEZE LOCK EXT refused after SANITIZE ANTIFREEZE LOCK EXT.
    AntifreezeLock,
    /// Any other value.
    Other(u8),
}

impl SanitizeErrorReason {
    /// From LBA 7:0.
    pub fn from_code(code: u8) -> Self {
        match code {
            0 => Self::Unspecified,
            1 => Self::OperationFailed,
            2 => Self::Unsupported,
            3 => Self::Frozen,
            4 => Self::AntifreezeLock,
            c => Self::Other(c),
        }
    }

    /// LBA 7:0.
    pub fn code(self) -> u8 {
        match self {
            Self::Unspecified => 0,
            Self::OperationFailed => 1,
            Self::Unsupported => 2,
            Self::Frozen => 3,
            Self::AntifreezeLock => 4,
            Self::Other(c) => c,
        }
    }
}

impl std::fmt::Display for SanitizeErrorReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unspecified => f.write_str("no reason given"),
            Self::OperationFailed => f.write_str("the sanitize operation failed"),
            Self::Unsupported => f.write_str("the operation is not supported"),
            Self::Frozen => f.write_str("the drive is sanitize-frozen (SANITIZE FREEZE LOCK)"),
            Self::AntifreezeLock => f.write_str("freeze lock refused (antifreeze lock set)"),
            Self::Other(c) => write!(f, "reason code {c:#04x}"),
        }
    }
}

/// Why a SANITIZE DEVICE command did not succeed.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SanitizeError {
    /// The drive aborted it and said why (LBA 7:0), with the state bits it returned.
    #[error("the drive refused SANITIZE: {reason} (ATA status {status:#04x}, error {error:#04x})")]
    Refused {
        /// SANITIZE DEVICE ERROR REASON.
        reason: SanitizeErrorReason,
        /// The state bits returned with the error.
        state: SanitizeStatus,
        /// ATA STATUS.
        status: u8,
        /// ATA ERROR.
        error: u8,
    },
    /// Anything else (transport, bridge, sense).
    #[error("{0}")]
    Ata(AtaError),
}

/// Decodes the answer to a SANITIZE DEVICE command (sent with [`sanitize_cdb`]): the normal
/// outputs, or the refusal with its reason. A reply without registers (a SCSI layer that
/// ignored CK_COND) is an error: the state cannot be known.
pub fn decode_sanitize_reply(reply: &ScsiReply) -> Result<SanitizeStatus, SanitizeError> {
    match decode_reply(reply) {
        Ok(Some(regs)) => Ok(SanitizeStatus::from_registers(&regs)),
        Ok(None) => Err(SanitizeError::Ata(AtaError::BadData(
            "SANITIZE DEVICE returned no registers (the SCSI layer ignored CK_COND)".into(),
        ))),
        Err(AtaError::Aborted { status, error }) => {
            let regs = ata_registers(&reply.sense).unwrap_or_default();
            Err(SanitizeError::Refused {
                reason: SanitizeErrorReason::from_code((regs.lba & 0xFF) as u8),
                state: SanitizeStatus::from_registers(&regs),
                status,
                error,
            })
        }
        Err(e) => Err(SanitizeError::Ata(e)),
    }
}

// ---- end of SANITIZE DEVICE ----

/// ATA command SECURITY SET PASSWORD.
pub const ATA_SECURITY_SET_PASSWORD: u8 = 0xF1;
/// ATA command SECURITY UNLOCK.
pub const ATA_SECURITY_UNLOCK: u8 = 0xF2;
/// ATA command SECURITY ERASE PREPARE.
pub const ATA_SECURITY_ERASE_PREPARE: u8 = 0xF3;
/// ATA command SECURITY ERASE UNIT.
pub const ATA_SECURITY_ERASE_UNIT: u8 = 0xF4;
/// ATA command SECURITY DISABLE PASSWORD.
pub const ATA_SECURITY_DISABLE_PASSWORD: u8 = 0xF6;

/// Length of an ATA security password (words 1–16 of the data block).
pub const PASSWORD_LEN: usize = 32;

/// An ATA security password: 32 bytes, shorter ones padded with zeros (as `hdparm` does).
/// `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct AtaPassword([u8; PASSWORD_LEN]);

impl AtaPassword {
    /// A password from text (at most 32 bytes; padded with zeros).
    pub fn from_text(text: &str) -> Result<Self, AtaError> {
        let b = text.as_bytes();
        if b.len() > PASSWORD_LEN {
            return Err(AtaError::BadData(format!(
                "an ATA password is at most {PASSWORD_LEN} bytes"
            )));
        }
        let mut p = [0u8; PASSWORD_LEN];
        p[..b.len()].copy_from_slice(b);
        Ok(Self(p))
    }

    /// The 32 bytes.
    pub fn bytes(&self) -> &[u8; PASSWORD_LEN] {
        &self.0
    }
}

impl std::fmt::Debug for AtaPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AtaPassword(…)")
    }
}

/// Which password a security command compares (word 0 bit 0 of the data block).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordId {
    /// 0: the user password.
    User,
    /// 1: the master password.
    Master,
}

/// The 512-byte data block of the security commands: word 0 `control`, words 1–16 the
/// password (bytes in order, as ACS-3 and `hdparm` transfer them), the rest zero. Word 17
/// (master password identifier) stays 0: it is only read when SET PASSWORD sets the master
/// password, which the bench never does.
pub fn security_data_block(control: u16, password: &AtaPassword) -> [u8; 512] {
    let mut block = [0u8; 512];
    block[..2].copy_from_slice(&control.to_le_bytes());
    block[2..2 + PASSWORD_LEN].copy_from_slice(password.bytes());
    block
}

/// Word 0 of SECURITY SET PASSWORD: identifier (bit 0) and master password capability
/// (bit 8: 0 High, 1 Maximum). The bench sets a user password at High, so a lost password can
/// still be cleared by the master password (by its owner) with an erase.
pub fn set_password_control(id: PasswordId, maximum: bool) -> u16 {
    u16::from(id == PasswordId::Master) | (u16::from(maximum) << 8)
}

/// Word 0 of SECURITY ERASE UNIT: identifier (bit 0) and enhanced erase (bit 1).
pub fn erase_unit_control(id: PasswordId, enhanced: bool) -> u16 {
    u16::from(id == PasswordId::Master) | (u16::from(enhanced) << 1)
}

/// Word 0 of SECURITY UNLOCK and SECURITY DISABLE PASSWORD: identifier (bit 0).
pub fn identifier_control(id: PasswordId) -> u16 {
    u16::from(id == PasswordId::Master)
}

/// A security command that sends one 512-byte data block (PIO Data-Out, 28-bit, COUNT 1):
/// SET PASSWORD, UNLOCK, ERASE UNIT, DISABLE PASSWORD.
pub fn security_data_out_cdb(command: u8) -> [u8; 16] {
    pass_through_16(
        &Taskfile {
            count: 1,
            command,
            ..Taskfile::default()
        },
        Protocol::PioDataOut,
        false,
        false,
    )
}

/// SECURITY ERASE PREPARE (F3h): non-data, 28-bit; must come right before ERASE UNIT.
pub fn security_erase_prepare_cdb() -> [u8; 16] {
    pass_through_16(
        &Taskfile {
            command: ATA_SECURITY_ERASE_PREPARE,
            ..Taskfile::default()
        },
        Protocol::NonData,
        false,
        false,
    )
}

/// The time given to SECURITY ERASE UNIT: the drive's own estimate (IDENTIFY word 89 normal,
/// word 90 enhanced) doubled plus 30 minutes; 12 hours when the drive gives none (a large
/// hard disk at 100 MB/s needs hours).
pub fn erase_unit_timeout(security: &SecurityStatus, enhanced: bool) -> Duration {
    let minutes = if enhanced {
        security.enhanced_erase_minutes
    } else {
        security.erase_minutes
    };
    match minutes {
        Some(m) => Duration::from_secs(u64::from(m) * 2 * 60 + 30 * 60),
        None => Duration::from_secs(12 * 3600),
    }
}

/// Data phase of a pass-through command.
pub enum AtaData<'a> {
    /// No data.
    None,
    /// The drive sends data into the buffer.
    In(&'a mut [u8]),
    /// The drive receives the buffer.
    Out(&'a [u8]),
}

/// What the SCSI layer returned for one command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScsiReply {
    /// SCSI status (0 GOOD, 2 CHECK CONDITION…).
    pub status: u8,
    /// Host (adapter) status: non-zero when the command did not reach the device.
    pub host_status: u16,
    /// Driver status (08h = sense data available, which is normal with CK_COND).
    pub driver_status: u16,
    /// Sense data.
    pub sense: Vec<u8>,
    /// Bytes not transferred.
    pub resid: i32,
}

/// Something that executes SCSI CDBs: a real disk through SG_IO, or a scripted drive.
pub trait AtaPassThrough {
    /// Sends `cdb` with its data phase.
    fn pass_through(
        &mut self,
        cdb: &[u8; 16],
        data: AtaData<'_>,
        timeout: Duration,
    ) -> io::Result<ScsiReply>;
}

/// The ATA registers returned by a command (SAT-4 §12.2.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AtaRegisters {
    /// ERROR.
    pub error: u8,
    /// STATUS (bit 0 ERR, bit 3 DRQ, bit 5 DF, bit 6 DRDY, bit 7 BSY).
    pub status: u8,
    /// COUNT.
    pub count: u16,
    /// LBA.
    pub lba: u64,
    /// DEVICE.
    pub device: u8,
    /// True when LBA holds all 48 bits (descriptor sense, EXTEND set); false when only 24
    /// bits came back (fixed-format sense).
    pub lba_complete: bool,
}

/// Why an ATA command failed, decoded from SG_IO's status and the sense data.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AtaError {
    /// The command never reached the drive (adapter or driver error).
    #[error(
        "the command did not reach the drive (host status {host:#x}, driver status {driver:#x})"
    )]
    Transport {
        /// Host status.
        host: u16,
        /// Driver status.
        driver: u16,
    },
    /// The SCSI layer in between does not translate ATA PASS-THROUGH (typical of USB bridges).
    #[error(
        "the disk's controller or USB bridge does not pass ATA commands through (sense key {key:#x}, ASC/ASCQ {asc:#04x}/{ascq:#04x}); firmware erase is not possible through it"
    )]
    PassThroughUnsupported {
        /// Sense key.
        key: u8,
        /// Additional sense code.
        asc: u8,
        /// Qualifier.
        ascq: u8,
    },
    /// The drive aborted the command (ERROR.ABRT): it does not support it, or not now.
    #[error("the drive aborted the command (ATA status {status:#04x}, error {error:#04x})")]
    Aborted {
        /// ATA status.
        status: u8,
        /// ATA error.
        error: u8,
    },
    /// Any other error the sense data reports.
    #[error("the drive reported an error (sense key {key:#x}, ASC/ASCQ {asc:#04x}/{ascq:#04x})")]
    Sense {
        /// Sense key.
        key: u8,
        /// Additional sense code.
        asc: u8,
        /// Qualifier.
        ascq: u8,
    },
    /// A data page is not a valid answer.
    #[error("{0}")]
    BadData(String),
    /// The OS refused the request.
    #[error("{0}")]
    Os(String),
}

/// Sense key, ASC and ASCQ of sense data in either format (SPC-4 §4.5).
pub fn sense_code(sense: &[u8]) -> Option<(u8, u8, u8)> {
    match sense.first().map(|b| b & 0x7F)? {
        0x72 | 0x73 if sense.len() >= 4 => Some((sense[1] & 0xF, sense[2], sense[3])),
        0x70 | 0x71 if sense.len() >= 14 => Some((sense[2] & 0xF, sense[12], sense[13])),
        _ => None,
    }
}

/// The ATA registers carried by sense data: the ATA Status Return descriptor (09h) of
/// descriptor-format sense, or the INFORMATION / COMMAND-SPECIFIC fields of fixed format.
pub fn ata_registers(sense: &[u8]) -> Option<AtaRegisters> {
    match sense.first().map(|b| b & 0x7F)? {
        0x72 | 0x73 if sense.len() >= 8 => {
            let end = (8 + usize::from(sense[7])).min(sense.len());
            let mut at = 8;
            while at + 2 <= end {
                let (code, len) = (sense[at], usize::from(sense[at + 1]));
                if code == 0x09 && len >= 12 && at + 14 <= sense.len() {
                    let d = &sense[at..at + 14];
                    let extend = d[2] & 1 != 0;
                    let lba = u64::from(d[7])
                        | (u64::from(d[9]) << 8)
                        | (u64::from(d[11]) << 16)
                        | if extend {
                            (u64::from(d[6]) << 24)
                                | (u64::from(d[8]) << 32)
                                | (u64::from(d[10]) << 40)
                        } else {
                            0
                        };
                    return Some(AtaRegisters {
                        error: d[3],
                        count: if extend {
                            u16::from_be_bytes([d[4], d[5]])
                        } else {
                            u16::from(d[5])
                        },
                        lba,
                        device: d[12],
                        status: d[13],
                        lba_complete: extend,
                    });
                }
                at += 2 + len;
            }
            None
        }
        0x70 | 0x71 if sense.len() >= 12 => {
            let upper_nonzero = sense[8] & 0x20 != 0;
            Some(AtaRegisters {
                error: sense[3],
                status: sense[4],
                device: sense[5],
                count: u16::from(sense[6]),
                lba: u64::from(sense[9])
                    | (u64::from(sense[10]) << 8)
                    | (u64::from(sense[11]) << 16),
                lba_complete: !upper_nonzero,
            })
        }
        _ => None,
    }
}

/// Turns an SG_IO reply into the ATA registers (when the command asked for them) or an
/// [`AtaError`] naming the cause.
pub fn decode_reply(reply: &ScsiReply) -> Result<Option<AtaRegisters>, AtaError> {
    // Driver status 08h (DRIVER_SENSE) only says sense data is there.
    if reply.host_status != 0 || (reply.driver_status & !0x08) != 0 {
        return Err(AtaError::Transport {
            host: reply.host_status,
            driver: reply.driver_status,
        });
    }
    let regs = ata_registers(&reply.sense);
    if let Some(r) = regs
        && r.status & 0x01 != 0
    {
        // ERR set: ABRT (bit 2) is the usual "not supported / not now".
        return Err(AtaError::Aborted {
            status: r.status,
            error: r.error,
        });
    }
    match sense_code(&reply.sense) {
        None | Some((0, _, _)) => Ok(regs),
        // RECOVERED ERROR / ATA PASS-THROUGH INFORMATION AVAILABLE: the registers CK_COND asked for.
        Some((0x1, 0x00, 0x1D)) => Ok(regs),
        // ILLEGAL REQUEST: INVALID COMMAND OPERATION CODE or INVALID FIELD IN CDB — the SCSI
        // layer (often a USB bridge) does not translate the pass-through.
        Some((0x5, asc @ (0x20 | 0x24), ascq)) => Err(AtaError::PassThroughUnsupported {
            key: 0x5,
            asc,
            ascq,
        }),
        Some((0xB, _, _)) if regs.is_some() => {
            let r = regs.unwrap_or_default();
            Err(AtaError::Aborted {
                status: r.status,
                error: r.error,
            })
        }
        Some((key, asc, ascq)) => Err(AtaError::Sense { key, asc, ascq }),
    }
}

fn word(page: &[u8], w: usize) -> u16 {
    u16::from_le_bytes([page[2 * w], page[2 * w + 1]])
}

/// ATA strings: two characters a word, the first in the high byte.
fn ata_string(page: &[u8], first: usize, last: usize) -> String {
    let mut bytes = Vec::with_capacity(2 * (last - first + 1));
    for w in first..=last {
        let [hi, lo] = word(page, w).to_be_bytes();
        bytes.extend([hi, lo]);
    }
    String::from_utf8_lossy(&bytes)
        .trim_matches(|c: char| c == ' ' || c == '\0')
        .to_string()
}

/// Security erase time from word 89 or 90 (ACS-3 §7.12.7.41/42): bit 15 = extended format
/// (bits 14:0), else bits 7:0; units of 2 minutes; 0 = not reported; the maximum value means
/// "longer than" that many minutes.
fn erase_minutes(w: u16) -> Option<u32> {
    let v = if w & 0x8000 != 0 {
        u32::from(w & 0x7FFF)
    } else {
        u32::from(w & 0xFF)
    };
    (v != 0).then_some(v * 2)
}

/// The Security feature set status (word 128, ACS-3 §7.12.7.71).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct SecurityStatus {
    /// Bit 0: supported.
    pub supported: bool,
    /// Bit 1: enabled (a user password is set).
    pub enabled: bool,
    /// Bit 2: locked.
    pub locked: bool,
    /// Bit 3: frozen (SECURITY FREEZE LOCK issued, usually by the BIOS).
    pub frozen: bool,
    /// Bit 4: the password attempt counter expired.
    pub count_expired: bool,
    /// Bit 5: enhanced security erase supported.
    pub enhanced_erase: bool,
    /// Minutes for a normal SECURITY ERASE UNIT (word 89).
    pub erase_minutes: Option<u32>,
    /// Minutes for an enhanced one (word 90).
    pub enhanced_erase_minutes: Option<u32>,
}

/// The SANITIZE feature set (word 59, ACS-3 §7.12.7.25).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct SanitizeSupport {
    /// Bit 12: the feature set is supported.
    pub supported: bool,
    /// Bit 13: CRYPTO SCRAMBLE EXT.
    pub crypto_scramble: bool,
    /// Bit 14: OVERWRITE EXT.
    pub overwrite: bool,
    /// Bit 15: BLOCK ERASE EXT.
    pub block_erase: bool,
    /// Bit 11: the ACS-3 list of commands allowed while sanitizing applies (ACS-3
    /// §7.12.7.25; without it, the ACS-2 list).
    #[serde(default)]
    pub acs3_commands_allowed: bool,
    /// Bit 10: SANITIZE ANTIFREEZE LOCK EXT supported.
    #[serde(default)]
    pub antifreeze_lock: bool,
}

impl SanitizeSupport {
    /// From IDENTIFY DEVICE word 59 (ACS-3 §7.12.7.25). Bits 15:13 mean nothing without bit 12.
    pub fn from_word59(w59: u16) -> Self {
        let set = w59 & (1 << 12) != 0;
        Self {
            supported: set,
            crypto_scramble: set && w59 & (1 << 13) != 0,
            overwrite: set && w59 & (1 << 14) != 0,
            block_erase: set && w59 & (1 << 15) != 0,
            acs3_commands_allowed: set && w59 & (1 << 11) != 0,
            antifreeze_lock: set && w59 & (1 << 10) != 0,
        }
    }
}

/// Rotation (word 217).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rotation {
    /// 0000h: not reported.
    NotReported,
    /// 0001h: non-rotating (solid state).
    SolidState,
    /// 0401h–FFFEh: nominal rpm.
    Rpm(u16),
}

/// The parts of IDENTIFY DEVICE data that sanitization needs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AtaIdentify {
    /// Serial number (words 10–19).
    pub serial: String,
    /// Firmware revision (words 23–26).
    pub firmware: String,
    /// Model number (words 27–46).
    pub model: String,
    /// User-addressable sectors: words 230–233 when word 69 bit 3 says so, else 100–103 when
    /// 48-bit addressing is supported (word 83 bit 10), else 60–61.
    pub user_sectors: u64,
    /// 48-bit addressing supported (word 83 bit 10).
    pub lba48: bool,
    /// Sanitize feature set (word 59).
    pub sanitize: SanitizeSupport,
    /// Security feature set (words 82 bit 1, 85 bit 1, 89, 90, 128).
    pub security: SecurityStatus,
    /// HPA feature set supported (word 82 bit 10).
    pub hpa_supported: bool,
    /// HPA feature set enabled (word 85 bit 10).
    pub hpa_enabled: bool,
    /// The drive encrypts all user data (word 69 bit 4).
    pub encrypts_all_user_data: bool,
    /// Reads of trimmed LBAs return zeros (word 69 bit 5).
    pub trimmed_reads_zero: bool,
    /// DATA SET MANAGEMENT / TRIM supported (word 169 bit 0).
    pub trim: bool,
    /// Rotation rate (word 217).
    pub rotation: Rotation,
    /// Word 255's checksum is present (signature A5h) and right.
    pub checksum_valid: Option<bool>,
}

/// The 512 bytes of an IDENTIFY-style data page (`what`: IDENTIFY DEVICE, DEVICE
/// CONFIGURATION IDENTIFY) and its word 255 integrity (ACS-3 §7.12.7.88: signature A5h in
/// bits 7:0, bits 15:8 make the 512 bytes sum to 0 modulo 256): `Some(true)` when the
/// signature is there, `None` without it. A short page, an all-zero page (`empty_hint` is
/// appended to say why that happens) and a wrong checksum are refused.
pub(crate) fn checked_page<'p>(
    page: &'p [u8],
    what: &str,
    empty_hint: &str,
) -> Result<(&'p [u8], Option<bool>), AtaError> {
    if page.len() < 512 {
        return Err(AtaError::BadData(format!(
            "{what} data is {} bytes, expected 512",
            page.len()
        )));
    }
    let page = &page[..512];
    if page.iter().all(|&b| b == 0) {
        return Err(AtaError::BadData(format!(
            "the drive answered {what} with an empty page{empty_hint}"
        )));
    }
    let checksum_valid =
        (page[510] == 0xA5).then(|| page.iter().fold(0u8, |a, &b| a.wrapping_add(b)) == 0);
    if checksum_valid == Some(false) {
        return Err(AtaError::BadData(format!(
            "{what} data fails its checksum (word 255)"
        )));
    }
    Ok((page, checksum_valid))
}

impl AtaIdentify {
    /// Parses 512 bytes of IDENTIFY DEVICE data. An all-zero page is refused: USB bridges
    /// that drop pass-through commands often "succeed" with one.
    pub fn parse(page: &[u8]) -> Result<Self, AtaError> {
        let (page, checksum_valid) = checked_page(
            page,
            "IDENTIFY DEVICE",
            ": the controller or USB bridge does not pass ATA commands through",
        )?;
        let w = |n| word(page, n);
        let lba48 = w(83) & (1 << 10) != 0;
        let w69 = w(69);
        let sectors_28 = u64::from(w(60)) | (u64::from(w(61)) << 16);
        let sectors_48 = (0..4).fold(0u64, |acc, i| acc | (u64::from(w(100 + i)) << (16 * i)));
        let sectors_ext = (0..4).fold(0u64, |acc, i| acc | (u64::from(w(230 + i)) << (16 * i)));
        let user_sectors = if w69 & (1 << 3) != 0 && sectors_ext != 0 {
            sectors_ext
        } else if lba48 && sectors_48 != 0 {
            sectors_48
        } else {
            sectors_28
        };
        let w59 = w(59);
        let w128 = w(128);
        // Words 82–84 are valid when word 83 bits 15:14 are 01b, words 85–87 when word 87's are.
        let valid = |v: u16| v & 0xC000 == 0x4000;
        let w82 = if valid(w(83)) { w(82) } else { 0 };
        let w85 = if valid(w(87)) { w(85) } else { 0 };
        Ok(Self {
            serial: ata_string(page, 10, 19),
            firmware: ata_string(page, 23, 26),
            model: ata_string(page, 27, 46),
            user_sectors,
            lba48,
            sanitize: SanitizeSupport::from_word59(w59),
            security: SecurityStatus {
                supported: w82 & (1 << 1) != 0 || w128 & 1 != 0,
                enabled: w128 & (1 << 1) != 0,
                locked: w128 & (1 << 2) != 0,
                frozen: w128 & (1 << 3) != 0,
                count_expired: w128 & (1 << 4) != 0,
                enhanced_erase: w128 & (1 << 5) != 0,
                erase_minutes: erase_minutes(w(89)),
                enhanced_erase_minutes: erase_minutes(w(90)),
            },
            hpa_supported: w82 & (1 << 10) != 0,
            hpa_enabled: w85 & (1 << 10) != 0,
            encrypts_all_user_data: w69 & (1 << 4) != 0,
            trimmed_reads_zero: w69 & (1 << 5) != 0,
            trim: w(169) & 1 != 0,
            rotation: match w(217) {
                0 => Rotation::NotReported,
                1 => Rotation::SolidState,
                r => Rotation::Rpm(r),
            },
            checksum_valid,
        })
    }
}

/// Sends IDENTIFY DEVICE and returns the raw 512 bytes (checked by [`AtaIdentify::parse`]).
pub fn read_identify(dev: &mut dyn AtaPassThrough) -> Result<Vec<u8>, AtaError> {
    let mut page = vec![0u8; 512];
    let reply = dev
        .pass_through(
            &identify_device_cdb(),
            AtaData::In(&mut page),
            Duration::from_secs(10),
        )
        .map_err(|e| AtaError::Os(e.to_string()))?;
    decode_reply(&reply)?;
    AtaIdentify::parse(&page)?;
    Ok(page)
}

/// The hidden-area picture of a drive (ACS-3 §4.11): the native maximum against what the host
/// can address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct HiddenArea {
    /// Native max address + 1: every sector the drive has.
    pub native_sectors: u64,
    /// Sectors the host can address (IDENTIFY).
    pub user_sectors: u64,
}

impl HiddenArea {
    /// Sectors hidden by a Host Protected Area (0 when none).
    pub fn hidden_sectors(&self) -> u64 {
        self.native_sectors.saturating_sub(self.user_sectors)
    }
}

/// Sends READ NATIVE MAX ADDRESS EXT and compares it with the IDENTIFY capacity.
pub fn read_hidden_area(
    dev: &mut dyn AtaPassThrough,
    identify: &AtaIdentify,
) -> Result<HiddenArea, AtaError> {
    let reply = dev
        .pass_through(
            &read_native_max_ext_cdb(),
            AtaData::None,
            Duration::from_secs(10),
        )
        .map_err(|e| AtaError::Os(e.to_string()))?;
    let regs = decode_reply(&reply)?.ok_or_else(|| {
        AtaError::BadData("READ NATIVE MAX ADDRESS EXT returned no registers".into())
    })?;
    if !regs.lba_complete {
        return Err(AtaError::BadData(
            "READ NATIVE MAX ADDRESS EXT: the upper LBA bits were not returned (fixed-format sense)"
                .into(),
        ));
    }
    Ok(HiddenArea {
        native_sectors: regs.lba + 1,
        user_sectors: identify.user_sectors,
    })
}

/// A SCSI disk node (`/dev/sdX`) open for SG_IO.
#[derive(Debug)]
pub struct SgDevice {
    pub(crate) file: File,
    path: PathBuf,
}

impl SgDevice {
    /// Opens `path` read-only and non-blocking (SG_IO needs no write access; the open does not
    /// wait for media).
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(path)?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
        })
    }

    /// The node.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl AtaPassThrough for SgDevice {
    fn pass_through(
        &mut self,
        cdb: &[u8; 16],
        data: AtaData<'_>,
        timeout: Duration,
    ) -> io::Result<ScsiReply> {
        // An ATA PASS-THROUGH (16) CDB goes through SG_IO like any other SCSI command.
        crate::scsi::ScsiCommand::send(self, cdb, data, timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identify_cdb_bytes() {
        // SAT-4 Table 167: 85h, PROTOCOL 4 (PIO Data-In) << 1 = 08h, T_DIR|BYTE_BLOCK|
        // T_LENGTH=2 = 0Eh, COUNT 1, COMMAND ECh.
        assert_eq!(
            identify_device_cdb(),
            [
                0x85, 0x08, 0x0E, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0xEC, 0
            ]
        );
    }

    #[test]
    fn read_native_max_cdb_bytes() {
        // PROTOCOL 3 (non-data) << 1 | EXTEND = 07h; CK_COND = 20h; DEVICE 40h; COMMAND 27h.
        assert_eq!(
            read_native_max_ext_cdb(),
            [
                0x85, 0x07, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0x27, 0
            ]
        );
    }

    #[test]
    fn sanitize_cdb_bytes() {
        // Non-data, EXTEND: 85h 07h; CK_COND 20h; DEVICE 40h; COMMAND B4h (ACS-3 §7.36).
        // ACS-3 §7.36.3 CRYPTO SCRAMBLE EXT: FEATURE 0011h, LBA 4372_7970h, COUNT 0.
        // LBA bytes in the CDB: (31:24) (7:0) (39:32) (15:8) (47:40) (23:16).
        assert_eq!(
            sanitize_cdb(SanitizeOp::CryptoScramble {
                failure_mode: false
            }),
            [
                0x85, 0x07, 0x20, 0x00, 0x11, 0x00, 0x00, 0x43, 0x70, 0x00, 0x79, 0x00, 0x72, 0x40,
                0xB4, 0
            ]
        );
        // §7.36.2 BLOCK ERASE EXT: 0012h, LBA 0000_426B_4572h; FAILURE MODE is COUNT bit 4.
        assert_eq!(
            sanitize_cdb(SanitizeOp::BlockErase { failure_mode: true }),
            [
                0x85, 0x07, 0x20, 0x00, 0x12, 0x00, 0x10, 0x42, 0x72, 0x00, 0x45, 0x00, 0x6B, 0x40,
                0xB4, 0
            ]
        );
        // §7.36.4 OVERWRITE EXT: 0014h, LBA 47:32 = 4F57h, 31:0 the pattern; COUNT 3:0 the
        // pass count, bit 4 FAILURE MODE, bit 7 INVERT (ACS-4 §7.32.4.3).
        assert_eq!(
            sanitize_cdb(SanitizeOp::Overwrite {
                pattern: 0x1122_3344,
                passes: 3,
                invert: true,
                failure_mode: true,
            }),
            [
                0x85, 0x07, 0x20, 0x00, 0x14, 0x00, 0x93, 0x11, 0x44, 0x57, 0x33, 0x4F, 0x22, 0x40,
                0xB4, 0
            ]
        );
        // 16 passes are written as 0.
        let o = sanitize_cdb(SanitizeOp::Overwrite {
            pattern: 0,
            passes: 16,
            invert: false,
            failure_mode: false,
        });
        assert_eq!(o[6], 0x00);
        // §7.36.6 SANITIZE STATUS EXT: 0000h, LBA 0; COUNT bit 0 CLEAR SANITIZE OPERATION FAILED.
        assert_eq!(
            sanitize_cdb(SanitizeOp::Status {
                clear_failed: false
            }),
            [
                0x85, 0x07, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0xB4, 0
            ]
        );
        assert_eq!(
            sanitize_cdb(SanitizeOp::Status { clear_failed: true })[5..7],
            [0x00, 0x01]
        );
        // §7.36.5 SANITIZE FREEZE LOCK EXT: 0020h, "FrLk"; §7.36.7 ANTIFREEZE LOCK EXT: 0040h, "Anti".
        let f = sanitize_cdb(SanitizeOp::FreezeLock);
        assert_eq!(&f[3..13], &[0x00, 0x20, 0, 0, 0x46, 0x6B, 0, 0x4C, 0, 0x72]);
        let a = sanitize_cdb(SanitizeOp::AntifreezeLock);
        assert_eq!(&a[3..13], &[0x00, 0x40, 0, 0, 0x41, 0x69, 0, 0x74, 0, 0x6E]);
    }

    fn reply_with(count: u16, lba: u64, status: u8, error: u8, key: u8) -> ScsiReply {
        let [c_hi, c_lo] = count.to_be_bytes();
        let l = lba.to_le_bytes();
        ScsiReply {
            status: 2,
            driver_status: 0x08,
            sense: vec![
                0x72,
                key,
                0x00,
                if key == 1 { 0x1D } else { 0 },
                0,
                0,
                0,
                14, //
                0x09,
                0x0C,
                0x01,
                error,
                c_hi,
                c_lo,
                l[3],
                l[0],
                l[4],
                l[1],
                l[5],
                l[2],
                0x40,
                status,
            ],
            ..ScsiReply::default()
        }
    }

    #[test]
    fn sanitize_status_outputs() {
        // ACS-3 §7.36.6.4: COUNT bit 14 IN PROGRESS, LBA 15:0 progress n/65536.
        let s = decode_sanitize_reply(&reply_with(0x4000, 0x8000, 0x50, 0, 1)).unwrap();
        assert!(s.in_progress && !s.completed_without_error && !s.frozen && !s.antifreeze);
        assert_eq!(s.progress, 0x8000);
        assert!((s.fraction() - 0.5).abs() < 1e-9);
        // Bit 15 COMPLETED WITHOUT ERROR, progress FFFFh: done.
        let s = decode_sanitize_reply(&reply_with(0x8000, 0xFFFF, 0x50, 0, 1)).unwrap();
        assert!(s.completed_without_error && !s.in_progress);
        assert_eq!(s.fraction(), 1.0);
        // Bit 13 FROZEN, bit 12 ANTIFREEZE.
        let s = decode_sanitize_reply(&reply_with(0x3000, 0xFFFF, 0x50, 0, 1)).unwrap();
        assert!(s.frozen && s.antifreeze);
        // An aborted command: ERROR ABRT, the reason in LBA 7:0 (01h operation failed).
        let e = decode_sanitize_reply(&reply_with(0, 0x01, 0x51, 0x04, 0x0B)).unwrap_err();
        assert!(matches!(
            e,
            SanitizeError::Refused {
                reason: SanitizeErrorReason::OperationFailed,
                ..
            }
        ));
        assert!(e.to_string().contains("sanitize operation failed"), "{e}");
        for code in 0..=5u8 {
            assert_eq!(SanitizeErrorReason::from_code(code).code(), code);
        }
        // No registers at all: the state is unknown.
        assert!(matches!(
            decode_sanitize_reply(&ScsiReply::default()),
            Err(SanitizeError::Ata(AtaError::BadData(_)))
        ));
    }

    #[test]
    fn word_59_bits() {
        // ACS-3 §7.12.7.25: bit 15 BLOCK ERASE, 14 OVERWRITE, 13 CRYPTO SCRAMBLE, 12 the
        // SANITIZE feature set, 11 ACS-3 commands allowed, 10 ANTIFREEZE LOCK.
        let all = SanitizeSupport::from_word59(0xFC00);
        assert_eq!(
            all,
            SanitizeSupport {
                supported: true,
                crypto_scramble: true,
                overwrite: true,
                block_erase: true,
                acs3_commands_allowed: true,
                antifreeze_lock: true,
            }
        );
        let crypto_only = SanitizeSupport::from_word59(0x3000);
        assert!(crypto_only.supported && crypto_only.crypto_scramble);
        assert!(!crypto_only.block_erase && !crypto_only.overwrite);
        // Bits 7:0 and 8 are the multiple-sector setting, not sanitize.
        assert_eq!(
            SanitizeSupport::from_word59(0x0110),
            SanitizeSupport::default()
        );
        // Without bit 12 the command bits mean nothing.
        assert_eq!(
            SanitizeSupport::from_word59(0xE000),
            SanitizeSupport::default()
        );
    }

    #[test]
    fn descriptor_sense_with_registers() {
        // 72h, RECOVERED ERROR, 00h/1Dh, one ATA Status Return descriptor: native max
        // 0x0000_0001_FFFF (131071), status 50h (DRDY|DSC).
        let sense = [
            0x72, 0x01, 0x00, 0x1D, 0, 0, 0, 14, //
            0x09, 0x0C, 0x01, 0x00, 0x00, 0x00, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0x01, 0x40, 0x50,
        ];
        let reply = ScsiReply {
            status: 2,
            driver_status: 0x08,
            sense: sense.to_vec(),
            ..ScsiReply::default()
        };
        let regs = decode_reply(&reply).unwrap().unwrap();
        assert_eq!(regs.lba, 0x1_FFFF);
        assert_eq!(regs.status, 0x50);
        assert!(regs.lba_complete);
    }

    #[test]
    fn aborted_command_is_named() {
        let sense = [
            0x72, 0x0B, 0x00, 0x00, 0, 0, 0, 14, //
            0x09, 0x0C, 0x01, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0x51,
        ];
        let reply = ScsiReply {
            status: 2,
            driver_status: 0x08,
            sense: sense.to_vec(),
            ..ScsiReply::default()
        };
        assert_eq!(
            decode_reply(&reply),
            Err(AtaError::Aborted {
                status: 0x51,
                error: 0x04
            })
        );
    }

    #[test]
    fn bridge_without_pass_through() {
        // Fixed-format sense, ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE.
        let mut sense = vec![0u8; 18];
        sense[0] = 0x70;
        sense[2] = 0x05;
        sense[7] = 10;
        sense[12] = 0x20;
        let reply = ScsiReply {
            status: 2,
            driver_status: 0x08,
            sense,
            ..ScsiReply::default()
        };
        let err = decode_reply(&reply).unwrap_err();
        assert!(matches!(
            err,
            AtaError::PassThroughUnsupported { asc: 0x20, .. }
        ));
        assert!(err.to_string().contains("USB bridge"));
        // A bridge that "succeeds" with an empty page.
        assert!(AtaIdentify::parse(&[0u8; 512]).is_err());
        // The adapter lost the command.
        let lost = ScsiReply {
            host_status: 0x07,
            ..ScsiReply::default()
        };
        assert!(matches!(
            decode_reply(&lost),
            Err(AtaError::Transport { .. })
        ));
    }

    #[test]
    fn erase_times() {
        assert_eq!(erase_minutes(0), None);
        assert_eq!(erase_minutes(0x001E), Some(60));
        assert_eq!(erase_minutes(0x8000 | 300), Some(600));
        assert_eq!(erase_minutes(0x00FF), Some(510));
    }

    #[test]
    fn security_cdb_bytes() {
        // PIO Data-Out: PROTOCOL 5 << 1 = 0Ah; T_DIR 0, BYTE_BLOCK 1, T_LENGTH 2 = 06h; COUNT 1.
        assert_eq!(
            security_data_out_cdb(ATA_SECURITY_SET_PASSWORD),
            [0x85, 0x0A, 0x06, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0xF1, 0]
        );
        assert_eq!(security_data_out_cdb(ATA_SECURITY_UNLOCK)[14], 0xF2);
        assert_eq!(security_data_out_cdb(ATA_SECURITY_ERASE_UNIT)[14], 0xF4);
        assert_eq!(
            security_data_out_cdb(ATA_SECURITY_DISABLE_PASSWORD)[14],
            0xF6
        );
        // Non-data: PROTOCOL 3 << 1 = 06h, no transfer.
        assert_eq!(
            security_erase_prepare_cdb(),
            [0x85, 0x06, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xF3, 0]
        );
    }

    #[test]
    fn security_data_block_layout() {
        let pw = AtaPassword::from_text("0123456789abcdef0123456789abcdef").unwrap();
        // SET PASSWORD, user, High: word 0 = 0000h.
        let b = security_data_block(set_password_control(PasswordId::User, false), &pw);
        assert_eq!(&b[0..2], &[0, 0]);
        assert_eq!(&b[2..34], b"0123456789abcdef0123456789abcdef");
        assert!(
            b[34..].iter().all(|&x| x == 0),
            "word 17 (master id) and the rest untouched"
        );
        // Maximum level: bit 8.
        assert_eq!(set_password_control(PasswordId::User, true), 0x0100);
        // ERASE UNIT: enhanced is bit 1, master identifier bit 0.
        let e = security_data_block(erase_unit_control(PasswordId::User, true), &pw);
        assert_eq!(&e[0..2], &[0x02, 0x00]);
        assert_eq!(erase_unit_control(PasswordId::User, false), 0);
        assert_eq!(erase_unit_control(PasswordId::Master, false), 1);
        assert_eq!(identifier_control(PasswordId::Master), 1);
        // A short password is padded with zeros; a long one refused; Debug hides it.
        let short = AtaPassword::from_text("abc").unwrap();
        assert_eq!(&short.bytes()[..4], b"abc\0");
        assert!(AtaPassword::from_text(&"x".repeat(33)).is_err());
        assert!(!format!("{short:?}").contains("abc"));
    }

    #[test]
    fn erase_unit_timeout_has_a_margin() {
        let s = SecurityStatus {
            erase_minutes: Some(60),
            enhanced_erase_minutes: Some(2),
            ..SecurityStatus::default()
        };
        assert_eq!(erase_unit_timeout(&s, false), Duration::from_secs(150 * 60));
        assert_eq!(erase_unit_timeout(&s, true), Duration::from_secs(34 * 60));
        assert_eq!(
            erase_unit_timeout(&SecurityStatus::default(), true),
            Duration::from_secs(12 * 3600)
        );
    }
}
