//! SCSI commands for SAS (and other SCSI block) drives: SANITIZE, the support check through
//! REPORT SUPPORTED OPERATION CODES, and the progress poll through REQUEST SENSE / TEST UNIT
//! READY.
//!
//! Follows:
//! - **SBC-4** (SCSI Block Commands – 4, T10 BSR INCITS 506; clause numbers of revision 04,
//!   the command first appeared in SBC-3 revision 27): §4.11 sanitize operations (restricted
//!   and unrestricted completion, failure mode), §5.24 the SANITIZE command (48h, 10-byte CDB:
//!   byte 1 IMMED bit 7, ZNR bit 6, AUSE bit 5, SERVICE ACTION bits 4:0; bytes 7–8 PARAMETER
//!   LIST LENGTH), §5.24.2 its service actions (01h OVERWRITE with a parameter list of
//!   4 + pattern-length bytes; 02h BLOCK ERASE, 03h CRYPTOGRAPHIC ERASE and 1Fh EXIT FAILURE
//!   MODE with none), §5.24.3 the OVERWRITE parameter list (byte 0 INVERT bit 7, TEST bits
//!   6:5, OVERWRITE COUNT bits 4:0, 00h reserved; bytes 2–3 INITIALIZATION PATTERN LENGTH,
//!   1 to the logical block length; the pattern from byte 4);
//! - **SPC-4** (SCSI Primary Commands – 4, INCITS 513-2015): §6.35 REPORT SUPPORTED OPERATION
//!   CODES (A3h / service action 0Ch, 12-byte CDB; REPORTING OPTIONS 010b = one command with
//!   its service action; one-command parameter data byte 1 SUPPORT bits 2:0: 000b not
//!   currently available, 001b not supported, 011b supported as the standard says, 101b
//!   supported in a vendor-specific manner), §6.39 REQUEST SENSE (03h, DESC bit), §6.47 TEST
//!   UNIT READY (00h), §4.5 sense data (fixed 70h/71h and descriptor 72h/73h formats; the
//!   sense-key specific field with SKSV and the 16-bit PROGRESS INDICATION, a fraction of
//!   65 536; the sense-key specific descriptor 02h), and the additional sense codes 04h/1Bh
//!   LOGICAL UNIT NOT READY, SANITIZE IN PROGRESS and 31h/03h SANITIZE COMMAND FAILED.
//!
//! Builders and parsers are pure functions, tested on exact bytes. The [`ScsiCommand`]
//! trait is the transport: [`SgDevice`](crate::ata::SgDevice) (SG_IO) on the bench, the
//! scripted drive of [`crate::scsi_scripted`] in tests.

use std::io;
use std::time::Duration;

use crate::ata::{AtaData, ScsiReply, SgDevice};
use crate::sys;

/// Operation code of TEST UNIT READY (SPC-4 §6.47).
pub const TEST_UNIT_READY: u8 = 0x00;
/// Operation code of REQUEST SENSE (SPC-4 §6.39).
pub const REQUEST_SENSE: u8 = 0x03;
/// Operation code of SANITIZE (SBC-4 §5.24).
pub const SANITIZE: u8 = 0x48;
/// Operation code of MAINTENANCE IN, whose service action 0Ch is REPORT SUPPORTED OPERATION
/// CODES (SPC-4 §6.35).
pub const MAINTENANCE_IN: u8 = 0xA3;
/// Service action of REPORT SUPPORTED OPERATION CODES.
pub const REPORT_SUPPORTED_OPCODES_SA: u8 = 0x0C;

/// SCSI status GOOD.
pub const STATUS_GOOD: u8 = 0x00;
/// SCSI status CHECK CONDITION.
pub const STATUS_CHECK_CONDITION: u8 = 0x02;

/// Sense key NOT READY.
pub const KEY_NOT_READY: u8 = 0x2;
/// Sense key MEDIUM ERROR.
pub const KEY_MEDIUM_ERROR: u8 = 0x3;
/// Sense key ILLEGAL REQUEST.
pub const KEY_ILLEGAL_REQUEST: u8 = 0x5;

/// A SANITIZE service action (SBC-4 §5.24.2, Table "SANITIZE service action codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SanitizeAction {
    /// 01h: the drive writes a pattern over every block, count times.
    Overwrite,
    /// 02h: the drive erases its blocks (flash block erase, or the vendor's equivalent).
    BlockErase,
    /// 03h: the drive changes the keys that encrypt the user data.
    CryptographicErase,
    /// 1Fh: leave the failure mode of a sanitize that failed with AUSE set.
    ExitFailureMode,
}

impl SanitizeAction {
    /// The SERVICE ACTION code.
    pub fn code(self) -> u8 {
        match self {
            Self::Overwrite => 0x01,
            Self::BlockErase => 0x02,
            Self::CryptographicErase => 0x03,
            Self::ExitFailureMode => 0x1F,
        }
    }

    /// The action of a service action code, if it is one.
    pub fn from_code(code: u8) -> Option<Self> {
        [
            Self::Overwrite,
            Self::BlockErase,
            Self::CryptographicErase,
            Self::ExitFailureMode,
        ]
        .into_iter()
        .find(|a| a.code() == code)
    }

    /// The name SBC-4 gives it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Overwrite => "OVERWRITE",
            Self::BlockErase => "BLOCK ERASE",
            Self::CryptographicErase => "CRYPTOGRAPHIC ERASE",
            Self::ExitFailureMode => "EXIT FAILURE MODE",
        }
    }
}

/// The 10-byte SANITIZE CDB (SBC-4 §5.24.1): byte 0 48h; byte 1 IMMED (bit 7: return once
/// the CDB and parameter data are checked), AUSE (bit 5: a failure may be left with EXIT
/// FAILURE MODE) and the service action (bits 4:0); bytes 7–8 the parameter list length, big
/// endian; ZNR (bit 6, zoned devices only) is left 0.
pub fn sanitize_cdb(action: SanitizeAction, immed: bool, ause: bool, param_len: u16) -> [u8; 10] {
    let mut cdb = [0u8; 10];
    cdb[0] = SANITIZE;
    cdb[1] = (u8::from(immed) << 7) | (u8::from(ause) << 5) | action.code();
    cdb[7..9].copy_from_slice(&param_len.to_be_bytes());
    cdb
}

/// What an OVERWRITE sanitize writes (SBC-4 §5.24.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverwriteParams {
    /// INVERT: the pattern is inverted between consecutive passes.
    pub invert: bool,
    /// OVERWRITE COUNT: passes, 1 to 31.
    pub count: u8,
    /// INITIALIZATION PATTERN: 1 byte to the logical block length, repeated over each block.
    pub pattern: Vec<u8>,
}

impl OverwriteParams {
    /// One pass of zeros (a 4-byte zero pattern), the bench's default.
    pub fn zeros() -> Self {
        Self {
            invert: false,
            count: 1,
            pattern: vec![0; 4],
        }
    }

    /// The byte pattern the medium holds after the last pass. With INVERT and an even count
    /// the first pass writes the inverse (SBC-4 §5.24.3), with an odd count the pattern; the
    /// passes alternate, so the last pass always writes the pattern itself.
    pub fn final_pattern(&self) -> Vec<u8> {
        self.pattern.clone()
    }
}

/// Why a parameter list or a drive's answer is not valid.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScsiError {
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
    /// The drive does not know the command or one of its fields (ILLEGAL REQUEST).
    #[error(
        "the drive refused the command as not supported (ILLEGAL REQUEST, ASC/ASCQ {asc:#04x}/{ascq:#04x})"
    )]
    IllegalRequest {
        /// Additional sense code.
        asc: u8,
        /// Qualifier.
        ascq: u8,
    },
    /// A sanitize is running (NOT READY, 04h/1Bh).
    #[error("a sanitize operation is in progress on the drive (NOT READY, 04h/1Bh)")]
    SanitizeInProgress,
    /// The last sanitize failed (31h/03h): the drive is in failure mode.
    #[error(
        "the drive reports SANITIZE COMMAND FAILED (31h/03h): its last sanitize did not complete"
    )]
    SanitizeFailed,
    /// Any other sense data.
    #[error("the drive reported an error (sense key {key:#x}, ASC/ASCQ {asc:#04x}/{ascq:#04x})")]
    Sense {
        /// Sense key.
        key: u8,
        /// Additional sense code.
        asc: u8,
        /// Qualifier.
        ascq: u8,
    },
    /// A non-GOOD status without usable sense data.
    #[error("the drive answered with SCSI status {0:#04x} and no sense data")]
    Status(u8),
    /// Data that is not a valid answer, or a request the bench will not build.
    #[error("{0}")]
    BadData(String),
    /// The OS refused the request.
    #[error("{0}")]
    Os(String),
}

/// The OVERWRITE parameter list (SBC-4 §5.24.3): byte 0 INVERT (bit 7), TEST (bits 6:5,
/// always 00b here) and OVERWRITE COUNT (bits 4:0); byte 1 reserved; bytes 2–3
/// INITIALIZATION PATTERN LENGTH; then the pattern. `block_len` is the logical block length
/// the pattern may not exceed.
pub fn overwrite_parameter_list(p: &OverwriteParams, block_len: u32) -> Result<Vec<u8>, ScsiError> {
    if p.count == 0 || p.count > 31 {
        return Err(ScsiError::BadData(format!(
            "OVERWRITE COUNT must be 1 to 31, not {}",
            p.count
        )));
    }
    if p.pattern.is_empty() || p.pattern.len() > block_len as usize {
        return Err(ScsiError::BadData(format!(
            "the initialization pattern must be 1 to {block_len} bytes, not {}",
            p.pattern.len()
        )));
    }
    let len = u16::try_from(p.pattern.len())
        .map_err(|_| ScsiError::BadData("initialization pattern too long".into()))?;
    let mut list = Vec::with_capacity(4 + p.pattern.len());
    list.push((u8::from(p.invert) << 7) | (p.count & 0x1F));
    list.push(0);
    list.extend_from_slice(&len.to_be_bytes());
    list.extend_from_slice(&p.pattern);
    Ok(list)
}

/// REPORT SUPPORTED OPERATION CODES for one command and service action (SPC-4 §6.35,
/// REPORTING OPTIONS 010b): byte 0 A3h; byte 1 service action 0Ch; byte 2 REPORTING OPTIONS
/// (bits 2:0; RCTD bit 7 left 0, no timeouts descriptor); byte 3 REQUESTED OPERATION CODE;
/// bytes 4–5 REQUESTED SERVICE ACTION; bytes 6–9 ALLOCATION LENGTH; all big endian.
pub fn report_supported_opcode_cdb(opcode: u8, service_action: u16, alloc_len: u32) -> [u8; 12] {
    let mut cdb = [0u8; 12];
    cdb[0] = MAINTENANCE_IN;
    cdb[1] = REPORT_SUPPORTED_OPCODES_SA;
    cdb[2] = 0b010;
    cdb[3] = opcode;
    cdb[4..6].copy_from_slice(&service_action.to_be_bytes());
    cdb[6..10].copy_from_slice(&alloc_len.to_be_bytes());
    cdb
}

/// The SUPPORT field of one-command parameter data (SPC-4 §6.35.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CommandSupport {
    /// 000b: the drive cannot say now.
    NotAvailable,
    /// 001b: not supported.
    NotSupported,
    /// 011b: supported as the standard says.
    Standard,
    /// 101b: supported in a vendor-specific manner.
    VendorSpecific,
    /// Any reserved value.
    Reserved(u8),
}

impl CommandSupport {
    /// True for 011b and 101b.
    pub fn supported(self) -> bool {
        matches!(self, Self::Standard | Self::VendorSpecific)
    }
}

/// Parses one-command parameter data (SPC-4 §6.35.3): byte 1 bits 2:0 SUPPORT, bytes 2–3
/// CDB SIZE, then the CDB usage data, whose first byte must be the operation code asked
/// for when the command is supported.
pub fn parse_one_command(data: &[u8], opcode: u8) -> Result<CommandSupport, ScsiError> {
    if data.len() < 4 {
        return Err(ScsiError::BadData(format!(
            "REPORT SUPPORTED OPERATION CODES returned {} bytes, expected at least 4",
            data.len()
        )));
    }
    let support = match data[1] & 0x07 {
        0b000 => CommandSupport::NotAvailable,
        0b001 => CommandSupport::NotSupported,
        0b011 => CommandSupport::Standard,
        0b101 => CommandSupport::VendorSpecific,
        r => CommandSupport::Reserved(r),
    };
    if support.supported() {
        let cdb_size = usize::from(u16::from_be_bytes([data[2], data[3]]));
        if cdb_size == 0 || data.len() < 4 + 1 || data[4] != opcode {
            return Err(ScsiError::BadData(format!(
                "REPORT SUPPORTED OPERATION CODES: CDB usage data does not describe opcode {opcode:#04x}"
            )));
        }
    }
    Ok(support)
}

/// REQUEST SENSE (SPC-4 §6.39): byte 1 DESC (bit 0: 1 asks for descriptor format), byte 4
/// ALLOCATION LENGTH.
pub fn request_sense_cdb(alloc_len: u8, descriptor: bool) -> [u8; 6] {
    [REQUEST_SENSE, u8::from(descriptor), 0, 0, alloc_len, 0]
}

/// TEST UNIT READY (SPC-4 §6.47): six zero bytes.
pub fn test_unit_ready_cdb() -> [u8; 6] {
    [TEST_UNIT_READY; 6]
}

/// The parts of sense data the sanitize poll reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenseInfo {
    /// Sense key.
    pub key: u8,
    /// Additional sense code.
    pub asc: u8,
    /// Qualifier.
    pub ascq: u8,
    /// PROGRESS INDICATION (numerator over 65 536) when SKSV is set and the sense key is NOT
    /// READY or NO SENSE.
    pub progress: Option<u16>,
}

/// Decodes sense data in either format (SPC-4 §4.5). Fixed format: key byte 2, ASC/ASCQ
/// bytes 12–13, SKSV byte 15 bit 7 and the progress in bytes 16–17. Descriptor format: key
/// byte 1, ASC/ASCQ bytes 2–3, descriptors from byte 8; the sense-key specific descriptor
/// (02h, length 06h) holds SKSV in its byte 4 bit 7 and the progress in bytes 5–6.
pub fn parse_sense(sense: &[u8]) -> Option<SenseInfo> {
    let progress_keys = |key: u8| key == KEY_NOT_READY || key == 0x0;
    match sense.first().map(|b| b & 0x7F)? {
        0x70 | 0x71 if sense.len() >= 14 => {
            let key = sense[2] & 0xF;
            let progress = (sense.len() >= 18 && sense[15] & 0x80 != 0 && progress_keys(key))
                .then(|| u16::from_be_bytes([sense[16], sense[17]]));
            Some(SenseInfo {
                key,
                asc: sense[12],
                ascq: sense[13],
                progress,
            })
        }
        0x72 | 0x73 if sense.len() >= 4 => {
            let key = sense[1] & 0xF;
            let end = if sense.len() >= 8 {
                (8 + usize::from(sense[7])).min(sense.len())
            } else {
                sense.len()
            };
            let mut progress = None;
            let mut at = 8;
            while at + 2 <= end {
                let (code, len) = (sense[at], usize::from(sense[at + 1]));
                if code == 0x02 && len >= 6 && at + 8 <= end {
                    let d = &sense[at..at + 8];
                    if d[4] & 0x80 != 0 && progress_keys(key) {
                        progress = Some(u16::from_be_bytes([d[5], d[6]]));
                    }
                }
                at += 2 + len;
            }
            Some(SenseInfo {
                key,
                asc: sense[2],
                ascq: sense[3],
                progress,
            })
        }
        _ => None,
    }
}

/// Where a sanitize stands, from sense data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SanitizeState {
    /// NOT READY, 04h/1Bh: running; the fraction done over 65 536 when the drive says.
    InProgress(Option<u16>),
    /// 31h/03h: the last sanitize failed; the drive is in failure mode.
    Failed,
    /// No sense (or a deferred NO SENSE): nothing running, nothing failed.
    Idle,
    /// Anything else.
    Other(SenseInfo),
}

/// The sanitize state the sense data of REQUEST SENSE (or of a TEST UNIT READY that ended in
/// CHECK CONDITION) describes. Empty sense data means idle.
pub fn sanitize_state(sense: &[u8]) -> SanitizeState {
    match parse_sense(sense) {
        None => SanitizeState::Idle,
        Some(s) if s.asc == 0x04 && s.ascq == 0x1B => SanitizeState::InProgress(s.progress),
        Some(s) if s.asc == 0x31 && s.ascq == 0x03 => SanitizeState::Failed,
        Some(s) if s.key == 0 && s.asc == 0 && s.ascq == 0 => SanitizeState::Idle,
        Some(s) => SanitizeState::Other(s),
    }
}

/// Turns an SG_IO reply into `Ok` (GOOD) or the [`ScsiError`] that names the cause.
pub fn check_reply(reply: &ScsiReply) -> Result<(), ScsiError> {
    if reply.host_status != 0 || (reply.driver_status & !0x08) != 0 {
        return Err(ScsiError::Transport {
            host: reply.host_status,
            driver: reply.driver_status,
        });
    }
    if reply.status == STATUS_GOOD {
        return Ok(());
    }
    match parse_sense(&reply.sense) {
        None => Err(ScsiError::Status(reply.status)),
        // RECOVERED ERROR: the command completed.
        Some(s) if s.key == 0x1 => Ok(()),
        Some(s) if s.asc == 0x04 && s.ascq == 0x1B => Err(ScsiError::SanitizeInProgress),
        Some(s) if s.asc == 0x31 && s.ascq == 0x03 => Err(ScsiError::SanitizeFailed),
        Some(s) if s.key == KEY_ILLEGAL_REQUEST => Err(ScsiError::IllegalRequest {
            asc: s.asc,
            ascq: s.ascq,
        }),
        Some(s) => Err(ScsiError::Sense {
            key: s.key,
            asc: s.asc,
            ascq: s.ascq,
        }),
    }
}

/// Something that executes SCSI CDBs of any length: a real disk through SG_IO, or a
/// scripted drive.
pub trait ScsiCommand {
    /// Sends `cdb` with its data phase.
    fn send(&mut self, cdb: &[u8], data: AtaData<'_>, timeout: Duration) -> io::Result<ScsiReply>;
}

impl ScsiCommand for SgDevice {
    fn send(&mut self, cdb: &[u8], data: AtaData<'_>, timeout: Duration) -> io::Result<ScsiReply> {
        let data = match data {
            AtaData::None => sys::SgData::None,
            AtaData::In(b) => sys::SgData::FromDevice(b),
            AtaData::Out(b) => sys::SgData::ToDevice(b),
        };
        let timeout_ms = u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX);
        let raw = sys::sg_io_command(&self.file, cdb, data, timeout_ms)?;
        Ok(ScsiReply {
            status: raw.status,
            host_status: raw.host_status,
            driver_status: raw.driver_status,
            sense: raw.sense,
            resid: raw.resid,
        })
    }
}

/// The SANITIZE service actions a drive supports, from REPORT SUPPORTED OPERATION CODES.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct ScsiSanitizeSupport {
    /// 01h OVERWRITE.
    pub overwrite: bool,
    /// 02h BLOCK ERASE.
    pub block_erase: bool,
    /// 03h CRYPTOGRAPHIC ERASE.
    pub crypto_erase: bool,
}

impl ScsiSanitizeSupport {
    /// True when the drive supports `action`.
    pub fn supports(&self, action: SanitizeAction) -> bool {
        match action {
            SanitizeAction::Overwrite => self.overwrite,
            SanitizeAction::BlockErase => self.block_erase,
            SanitizeAction::CryptographicErase => self.crypto_erase,
            SanitizeAction::ExitFailureMode => {
                self.overwrite || self.block_erase || self.crypto_erase
            }
        }
    }
}

/// Bytes asked for in a one-command REPORT SUPPORTED OPERATION CODES (4 + a 10-byte CDB
/// usage map, with room to spare).
pub const ONE_COMMAND_ALLOC: u32 = 64;

/// Asks whether the drive supports SANITIZE with `action`; returns the SUPPORT field and the
/// raw parameter data.
pub fn query_sanitize_action(
    dev: &mut dyn ScsiCommand,
    action: SanitizeAction,
) -> Result<(CommandSupport, Vec<u8>), ScsiError> {
    let mut buf = vec![0u8; ONE_COMMAND_ALLOC as usize];
    let cdb = report_supported_opcode_cdb(SANITIZE, u16::from(action.code()), ONE_COMMAND_ALLOC);
    let reply = dev
        .send(&cdb, AtaData::In(&mut buf), Duration::from_secs(10))
        .map_err(|e| ScsiError::Os(e.to_string()))?;
    check_reply(&reply)?;
    let got = buf
        .len()
        .saturating_sub(usize::try_from(reply.resid.max(0)).unwrap_or(0));
    buf.truncate(got.max(4));
    let support = parse_one_command(&buf, SANITIZE)?;
    Ok((support, buf))
}

/// The SANITIZE service actions the drive supports (three REPORT SUPPORTED OPERATION CODES
/// queries). A drive that does not implement REPORT SUPPORTED OPERATION CODES gives an
/// [`ScsiError::IllegalRequest`]: the bench then does not guess.
pub fn read_sanitize_support(dev: &mut dyn ScsiCommand) -> Result<ScsiSanitizeSupport, ScsiError> {
    let mut s = ScsiSanitizeSupport::default();
    for action in [
        SanitizeAction::Overwrite,
        SanitizeAction::BlockErase,
        SanitizeAction::CryptographicErase,
    ] {
        let (support, _) = query_sanitize_action(dev, action)?;
        let yes = support.supported();
        match action {
            SanitizeAction::Overwrite => s.overwrite = yes,
            SanitizeAction::BlockErase => s.block_erase = yes,
            _ => s.crypto_erase = yes,
        }
    }
    Ok(s)
}

/// Sense bytes asked for by REQUEST SENSE (the fixed format is 18 bytes; descriptor format
/// with a sense-key specific descriptor 16).
pub const SENSE_ALLOC: u8 = 32;

/// Sends REQUEST SENSE (fixed format asked) and returns the sanitize state it reports, with
/// the raw reply. The state normally comes in the parameter data (status GOOD, SPC-4 §6.39);
/// a device that ends REQUEST SENSE itself in CHECK CONDITION with 04h/1Bh or 31h/03h is read
/// from its sense data the same way.
pub fn poll_sanitize(dev: &mut dyn ScsiCommand) -> Result<(SanitizeState, ScsiReply), ScsiError> {
    let mut buf = vec![0u8; usize::from(SENSE_ALLOC)];
    let reply = dev
        .send(
            &request_sense_cdb(SENSE_ALLOC, false),
            AtaData::In(&mut buf),
            Duration::from_secs(10),
        )
        .map_err(|e| ScsiError::Os(e.to_string()))?;
    match check_reply(&reply) {
        Ok(()) => {}
        Err(ScsiError::SanitizeInProgress | ScsiError::SanitizeFailed) => {
            return Ok((sanitize_state(&reply.sense), reply));
        }
        Err(e) => return Err(e),
    }
    let got = buf
        .len()
        .saturating_sub(usize::try_from(reply.resid.max(0)).unwrap_or(0));
    Ok((sanitize_state(&buf[..got]), reply))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_cdb_bytes() {
        // SBC-4 §5.24.1: 48h; byte 1 = IMMED 80h | AUSE 20h | service action; bytes 7–8 the
        // parameter list length.
        assert_eq!(
            sanitize_cdb(SanitizeAction::Overwrite, true, true, 8),
            [0x48, 0xA1, 0, 0, 0, 0, 0, 0x00, 0x08, 0]
        );
        assert_eq!(
            sanitize_cdb(SanitizeAction::BlockErase, true, false, 0),
            [0x48, 0x82, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            sanitize_cdb(SanitizeAction::CryptographicErase, false, true, 0),
            [0x48, 0x23, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            sanitize_cdb(SanitizeAction::ExitFailureMode, false, false, 0),
            [0x48, 0x1F, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            sanitize_cdb(SanitizeAction::Overwrite, false, false, 0x0204)[7..9],
            [0x02, 0x04]
        );
        for a in [
            SanitizeAction::Overwrite,
            SanitizeAction::BlockErase,
            SanitizeAction::CryptographicErase,
            SanitizeAction::ExitFailureMode,
        ] {
            assert_eq!(SanitizeAction::from_code(a.code()), Some(a));
        }
        assert_eq!(SanitizeAction::from_code(0x04), None);
    }

    #[test]
    fn overwrite_parameter_list_bytes() {
        // SBC-4 §5.24.3: byte 0 INVERT (bit 7) | TEST 00b | OVERWRITE COUNT; byte 1 reserved;
        // bytes 2–3 INITIALIZATION PATTERN LENGTH; the pattern.
        let zeros = overwrite_parameter_list(&OverwriteParams::zeros(), 512).unwrap();
        assert_eq!(zeros, [0x01, 0x00, 0x00, 0x04, 0, 0, 0, 0]);
        let p = OverwriteParams {
            invert: true,
            count: 3,
            pattern: vec![0xDE, 0xAD],
        };
        assert_eq!(
            overwrite_parameter_list(&p, 512).unwrap(),
            [0x83, 0x00, 0x00, 0x02, 0xDE, 0xAD]
        );
        let max = OverwriteParams {
            invert: false,
            count: 31,
            pattern: vec![0x5A; 4096],
        };
        let l = overwrite_parameter_list(&max, 4096).unwrap();
        assert_eq!(&l[..4], &[0x1F, 0, 0x10, 0x00]);
        assert_eq!(l.len(), 4100);
        // Count 0 is reserved, 32 does not fit; the pattern is 1 to the block length.
        for bad in [
            OverwriteParams {
                count: 0,
                ..OverwriteParams::zeros()
            },
            OverwriteParams {
                count: 32,
                ..OverwriteParams::zeros()
            },
            OverwriteParams {
                pattern: vec![],
                ..OverwriteParams::zeros()
            },
            OverwriteParams {
                pattern: vec![0; 513],
                ..OverwriteParams::zeros()
            },
        ] {
            assert!(overwrite_parameter_list(&bad, 512).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn report_supported_opcode_cdb_bytes() {
        // SPC-4 §6.35.1: A3h, 0Ch, REPORTING OPTIONS 010b, opcode, service action (BE),
        // allocation length (BE), reserved, control.
        assert_eq!(
            report_supported_opcode_cdb(0x48, 0x03, 64),
            [0xA3, 0x0C, 0x02, 0x48, 0x00, 0x03, 0, 0, 0, 0x40, 0, 0]
        );
        assert_eq!(
            report_supported_opcode_cdb(0x48, 0x1F, 0x0001_0203)[6..10],
            [0x00, 0x01, 0x02, 0x03]
        );
    }

    #[test]
    fn one_command_support_field() {
        // SPC-4 §6.35.3: byte 1 SUPPORT; bytes 2–3 CDB SIZE; usage data starting with the
        // opcode.
        let mut d = vec![
            0u8, 0x03, 0x00, 0x0A, 0x48, 0xA3, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0x07,
        ];
        assert_eq!(
            parse_one_command(&d, 0x48).unwrap(),
            CommandSupport::Standard
        );
        d[1] = 0x05;
        assert_eq!(
            parse_one_command(&d, 0x48).unwrap(),
            CommandSupport::VendorSpecific
        );
        // CTDP (bit 7) set does not change SUPPORT.
        d[1] = 0x83;
        assert!(parse_one_command(&d, 0x48).unwrap().supported());
        let no = [0u8, 0x01, 0, 0];
        assert_eq!(
            parse_one_command(&no, 0x48).unwrap(),
            CommandSupport::NotSupported
        );
        assert!(!CommandSupport::NotAvailable.supported());
        assert_eq!(
            parse_one_command(&[0, 0x02, 0, 0], 0x48).unwrap(),
            CommandSupport::Reserved(2)
        );
        // Supported, but the usage data is for another opcode: refused.
        d[1] = 0x03;
        d[4] = 0x35;
        assert!(parse_one_command(&d, 0x48).is_err());
        assert!(parse_one_command(&[0, 3], 0x48).is_err());
    }

    #[test]
    fn request_sense_and_test_unit_ready_bytes() {
        assert_eq!(request_sense_cdb(32, false), [0x03, 0, 0, 0, 32, 0]);
        assert_eq!(request_sense_cdb(252, true), [0x03, 1, 0, 0, 252, 0]);
        assert_eq!(test_unit_ready_cdb(), [0; 6]);
    }

    // Fixed-format sense data (SPC-4 §4.5.3) with the sense-key specific bytes 15–17, as the
    // scripted drive answers.
    use crate::scsi_scripted::fixed_sense as fixed;

    #[test]
    fn progress_in_fixed_sense() {
        // NOT READY, 04h/1Bh, SKSV, progress 8000h = half done.
        let s = fixed(0x2, 0x04, 0x1B, Some(0x8000));
        assert_eq!(
            parse_sense(&s),
            Some(SenseInfo {
                key: 2,
                asc: 0x04,
                ascq: 0x1B,
                progress: Some(0x8000)
            })
        );
        assert_eq!(sanitize_state(&s), SanitizeState::InProgress(Some(0x8000)));
        // Without SKSV the bytes mean nothing.
        let mut no_sksv = s.clone();
        no_sksv[15] = 0;
        assert_eq!(sanitize_state(&no_sksv), SanitizeState::InProgress(None));
        // MEDIUM ERROR, 31h/03h.
        assert_eq!(
            sanitize_state(&fixed(0x3, 0x31, 0x03, None)),
            SanitizeState::Failed
        );
        // NO SENSE: idle; empty: idle.
        assert_eq!(sanitize_state(&fixed(0, 0, 0, None)), SanitizeState::Idle);
        assert_eq!(sanitize_state(&[]), SanitizeState::Idle);
        // A sense-key specific field is not a progress under MEDIUM ERROR.
        assert_eq!(
            parse_sense(&fixed(0x3, 0x11, 0, Some(7))).unwrap().progress,
            None
        );
    }

    #[test]
    fn progress_in_descriptor_sense() {
        // 72h, NOT READY, 04h/1Bh, additional length 8: one sense-key specific descriptor
        // (02h, length 06h) with SKSV and progress 4000h.
        let s = [
            0x72, 0x02, 0x04, 0x1B, 0, 0, 0, 8, //
            0x02, 0x06, 0, 0, 0x80, 0x40, 0x00, 0,
        ];
        assert_eq!(sanitize_state(&s), SanitizeState::InProgress(Some(0x4000)));
        let failed = [0x72, 0x03, 0x31, 0x03, 0, 0, 0, 0];
        assert_eq!(sanitize_state(&failed), SanitizeState::Failed);
    }

    #[test]
    fn replies_are_named() {
        let good = ScsiReply::default();
        assert_eq!(check_reply(&good), Ok(()));
        let cc = |sense: Vec<u8>| ScsiReply {
            status: STATUS_CHECK_CONDITION,
            driver_status: 0x08,
            sense,
            ..ScsiReply::default()
        };
        assert_eq!(
            check_reply(&cc(fixed(0x2, 0x04, 0x1B, Some(1)))),
            Err(ScsiError::SanitizeInProgress)
        );
        assert_eq!(
            check_reply(&cc(fixed(0x3, 0x31, 0x03, None))),
            Err(ScsiError::SanitizeFailed)
        );
        assert_eq!(
            check_reply(&cc(fixed(0x5, 0x20, 0x00, None))),
            Err(ScsiError::IllegalRequest { asc: 0x20, ascq: 0 })
        );
        assert!(matches!(
            check_reply(&cc(fixed(0x6, 0x29, 0x00, None))),
            Err(ScsiError::Sense { key: 6, .. })
        ));
        assert_eq!(
            check_reply(&ScsiReply {
                status: 0x18,
                ..ScsiReply::default()
            }),
            Err(ScsiError::Status(0x18))
        );
        assert!(matches!(
            check_reply(&ScsiReply {
                host_status: 0x01,
                ..ScsiReply::default()
            }),
            Err(ScsiError::Transport { .. })
        ));
    }
}
