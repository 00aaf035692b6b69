//! NVMe admin commands: Identify, Get Log Page, Format NVM and Sanitize.
//!
//! Follows the NVM Express Base Specification, Revision 2.0 (section numbers below are those
//! of 2.0; the fields used here have kept their offsets since 1.3):
//!
//! - §5 admin command set, Figure 28 (opcodes): Get Log Page 02h, Identify 06h, Format NVM
//!   80h, Sanitize 84h;
//! - §5.17 Identify (CDW10.CNS), §5.17.2.1 Identify Controller data structure (Figure 275),
//!   and the NVM Command Set Specification 1.0 §4.1.5.1 Identify Namespace data structure
//!   (Figure 97);
//! - §5.16 Get Log Page (CDW10/CDW11 fields), §5.16.1.25 Sanitize Status log page (LID 81h);
//! - NVM Command Set Specification 1.0 §4.1.2 / Base 2.0 §5.23 Format NVM (CDW10: LBAF,
//!   MSET, PI, PIL, SES, LBAFU);
//! - §5.24 Sanitize (CDW10: SANACT, AUSE, OWPASS, OIPBP, NDAS; CDW11: overwrite pattern);
//! - §4.6.1.2 / Figure 92–95: the completion queue entry's Status Field (SC, SCT, DNR).
//!
//! Commands go to the **controller** character device (`/dev/nvmeN`) with the kernel's
//! `NVME_IOCTL_ADMIN_CMD`. The controller is found from the namespace through sysfs
//! (`/sys/class/block/nvme0n1/device` → the controller, whose `dev` file gives the character
//! device number), never by guessing names. Every command builder is a pure function; the
//! [`NvmeAdmin`] trait lets a scripted drive replay captured pages in tests.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::{DevNum, SystemRoot, sys};

/// Admin opcode: Get Log Page (NVMe Base 2.0 Figure 28).
pub const OPC_GET_LOG_PAGE: u8 = 0x02;
/// Admin opcode: Identify.
pub const OPC_IDENTIFY: u8 = 0x06;
/// Admin opcode: Format NVM.
pub const OPC_FORMAT_NVM: u8 = 0x80;
/// Admin opcode: Sanitize.
pub const OPC_SANITIZE: u8 = 0x84;

/// Identify CNS 00h: Identify Namespace data structure for the NSID (§5.17.1, Figure 273).
pub const CNS_NAMESPACE: u8 = 0x00;
/// Identify CNS 01h: Identify Controller data structure.
pub const CNS_CONTROLLER: u8 = 0x01;
/// Size of every Identify data structure, in bytes.
pub const IDENTIFY_LEN: usize = 4096;
/// Log identifier of the Sanitize Status log page (§5.16.1.25).
pub const LID_SANITIZE_STATUS: u8 = 0x81;
/// Size of the Sanitize Status log page, in bytes.
pub const SANITIZE_LOG_LEN: usize = 512;
/// The broadcast namespace ID (all namespaces).
pub const NSID_ALL: u32 = 0xFFFF_FFFF;

/// Generic status code 02h: Invalid Field in Command (Base 2.0 §4.6.1.2.1, Figure 94).
pub const SC_INVALID_FIELD: u8 = 0x02;
/// Generic status code 0Ch: Command Sequence Error.
pub const SC_COMMAND_SEQUENCE_ERROR: u8 = 0x0C;
/// Generic status code 1Ch: Sanitize Failed (the subsystem is in sanitize failure mode).
pub const SC_SANITIZE_FAILED: u8 = 0x1C;
/// Generic status code 1Dh: Sanitize In Progress (the command is prohibited meanwhile).
pub const SC_SANITIZE_IN_PROGRESS: u8 = 0x1D;

/// An admin command ready to send: opcode, namespace and command dwords 10 to 15.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdminCommand {
    /// Opcode (CDW0 bits 7:0).
    pub opcode: u8,
    /// Namespace identifier (CDW1).
    pub nsid: u32,
    /// Command dwords 10 to 15.
    pub cdw: [u32; 6],
    /// Bytes the controller returns (0 for commands without a data phase).
    pub data_len: usize,
}

impl AdminCommand {
    /// Command Dword 10.
    pub fn cdw10(&self) -> u32 {
        self.cdw[0]
    }

    /// Command Dword 11.
    pub fn cdw11(&self) -> u32 {
        self.cdw[1]
    }

    /// A short name for logs and records (`identify`, `format-nvm`…).
    pub fn name(&self) -> &'static str {
        match self.opcode {
            OPC_GET_LOG_PAGE => "get-log-page",
            OPC_IDENTIFY => "identify",
            OPC_FORMAT_NVM => "format-nvm",
            OPC_SANITIZE => "sanitize",
            _ => "admin",
        }
    }
}

/// Identify (§5.17): CDW10 bits 7:0 CNS, bits 31:16 CNTID (0 here).
pub fn identify(cns: u8, nsid: u32) -> AdminCommand {
    AdminCommand {
        opcode: OPC_IDENTIFY,
        nsid,
        cdw: [u32::from(cns), 0, 0, 0, 0, 0],
        data_len: IDENTIFY_LEN,
    }
}

/// Get Log Page (§5.16) of `len` bytes (a multiple of 4) from offset 0: CDW10 bits 7:0 LID,
/// bits 31:16 NUMDL (number of dwords, zero-based, low 16 bits); CDW11 bits 15:0 NUMDU.
pub fn get_log_page(lid: u8, nsid: u32, len: usize) -> AdminCommand {
    let numd = (len / 4).saturating_sub(1) as u32;
    AdminCommand {
        opcode: OPC_GET_LOG_PAGE,
        nsid,
        cdw: [
            u32::from(lid) | ((numd & 0xFFFF) << 16),
            numd >> 16,
            0,
            0,
            0,
            0,
        ],
        data_len: len,
    }
}

/// The Sanitize Status log page (LID 81h, controller scope, so NSID FFFFFFFFh).
pub fn sanitize_status_log() -> AdminCommand {
    get_log_page(LID_SANITIZE_STATUS, NSID_ALL, SANITIZE_LOG_LEN)
}

/// Secure Erase Settings of Format NVM (CDW10 bits 11:9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SecureErase {
    /// 000b: no secure erase.
    None,
    /// 001b: User Data Erase.
    UserData,
    /// 010b: Cryptographic Erase.
    Cryptographic,
}

impl SecureErase {
    /// The SES field value.
    pub fn ses(self) -> u32 {
        match self {
            Self::None => 0,
            Self::UserData => 1,
            Self::Cryptographic => 2,
        }
    }
}

/// Format NVM (NVM Command Set 1.0 §4.1.2, Base 2.0 Figure 300): CDW10 bits 3:0 LBAF (low
/// bits of the LBA format index), bit 4 MSET, bits 7:5 PI, bit 8 PIL, bits 11:9 SES,
/// bits 13:12 LBAFU (high bits of the index). Keeps the namespace's current format (`lbaf`)
/// with metadata and protection off — the host uses neither.
pub fn format_nvm(nsid: u32, lbaf: u8, ses: SecureErase) -> AdminCommand {
    let lbaf = u32::from(lbaf);
    let cdw10 = (lbaf & 0xF) | (ses.ses() << 9) | (((lbaf >> 4) & 0x3) << 12);
    AdminCommand {
        opcode: OPC_FORMAT_NVM,
        nsid,
        cdw: [cdw10, 0, 0, 0, 0, 0],
        data_len: 0,
    }
}

/// Sanitize Action (§5.24, CDW10 bits 2:0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SanitizeAction {
    /// 001b: Exit Failure Mode.
    ExitFailureMode,
    /// 010b: Start a Block Erase sanitize operation.
    BlockErase,
    /// 011b: Start an Overwrite sanitize operation.
    Overwrite,
    /// 100b: Start a Crypto Erase sanitize operation.
    CryptoErase,
}

impl SanitizeAction {
    /// The action a SANACT value names (`None` for 000b and the reserved 101b–111b).
    pub fn from_sanact(sanact: u32) -> Option<Self> {
        match sanact & 0x7 {
            0b001 => Some(Self::ExitFailureMode),
            0b010 => Some(Self::BlockErase),
            0b011 => Some(Self::Overwrite),
            0b100 => Some(Self::CryptoErase),
            _ => None,
        }
    }

    /// True for the three actions that start a sanitize operation.
    pub fn starts_operation(self) -> bool {
        self != Self::ExitFailureMode
    }

    /// The SANACT field value.
    pub fn sanact(self) -> u32 {
        match self {
            Self::ExitFailureMode => 0b001,
            Self::BlockErase => 0b010,
            Self::Overwrite => 0b011,
            Self::CryptoErase => 0b100,
        }
    }
}

/// Options of a Sanitize command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SanitizeOptions {
    /// AUSE (bit 3): allow leaving failure mode without another successful sanitize.
    pub allow_unrestricted_exit: bool,
    /// OWPASS (bits 7:4): overwrite passes, 1 to 15 (0 means 16). Overwrite only.
    pub overwrite_passes: u8,
    /// OIPBP (bit 8): invert the pattern between passes. Overwrite only.
    pub invert_between_passes: bool,
    /// NDAS (bit 9): do not deallocate after the sanitize (needed when SANICAP.NDI is 0 and
    /// the host wants to read back the written pattern).
    pub no_deallocate: bool,
    /// CDW11: the 32-bit overwrite pattern. Overwrite only.
    pub pattern: u32,
}

/// Sanitize (§5.24; Base 2.1 §5.1.22, Figure 372). The operation covers the whole NVM
/// subsystem, so NSID is 0. CDW10: bits 2:0 SANACT, bit 3 AUSE, bits 7:4 OWPASS, bit 8 OIPBP,
/// bit 9 NDAS (bits 31:10 zero: EMVS is not used); CDW11: the overwrite pattern. The
/// command completes as soon as the operation has *started*: progress and result are in the
/// Sanitize Status log page ([`sanitize_status_log`]).
pub fn sanitize(action: SanitizeAction, opts: SanitizeOptions) -> AdminCommand {
    let cdw10 = action.sanact()
        | (u32::from(opts.allow_unrestricted_exit) << 3)
        | ((u32::from(opts.overwrite_passes) & 0xF) << 4)
        | (u32::from(opts.invert_between_passes) << 8)
        | (u32::from(opts.no_deallocate) << 9);
    AdminCommand {
        opcode: OPC_SANITIZE,
        nsid: 0,
        cdw: [cdw10, opts.pattern, 0, 0, 0, 0],
        data_len: 0,
    }
}

/// The Status Field of a completion as the kernel returns it (§4.6.1.2): bits 7:0 Status Code,
/// bits 10:8 Status Code Type, bit 13 More, bit 14 Do Not Retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NvmeStatus(pub u16);

impl NvmeStatus {
    /// Success.
    pub fn is_success(self) -> bool {
        self.0 & 0x7FF == 0
    }

    /// Status Code.
    pub fn sc(self) -> u8 {
        (self.0 & 0xFF) as u8
    }

    /// Status Code Type.
    pub fn sct(self) -> u8 {
        ((self.0 >> 8) & 0x7) as u8
    }

    /// Do Not Retry.
    pub fn dnr(self) -> bool {
        self.0 & (1 << 14) != 0
    }

    /// Plain-English meaning of the common codes (Figures 94–96).
    pub fn describe(self) -> String {
        let text = match (self.sct(), self.sc()) {
            (0, 0x00) => "successful completion",
            (0, 0x01) => "invalid command opcode (the drive does not implement this command)",
            (0, 0x02) => "invalid field in command (the drive does not support this option)",
            (0, 0x04) => "data transfer error",
            (0, 0x06) => "internal error",
            (0, 0x0B) => "invalid namespace or format",
            (0, 0x0C) => "command sequence error",
            (0, 0x1C) => "sanitize failed (the drive is in sanitize failure mode)",
            (0, 0x1D) => "sanitize in progress",
            (1, 0x0A) => "invalid format",
            (1, 0x15) => "operation denied (security)",
            (1, 0x20) => "namespace is write protected",
            (2, _) => "media or data integrity error",
            _ => "error",
        };
        format!(
            "{text} (status type {}, code {:#04x}{})",
            self.sct(),
            self.sc(),
            if self.dnr() { ", do not retry" } else { "" }
        )
    }
}

/// What a controller answered to one admin command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completion {
    /// The status field.
    pub status: NvmeStatus,
    /// Completion Dword 0 (command specific).
    pub result: u32,
}

/// Something that executes NVMe admin commands: a real controller, or a scripted drive in tests.
pub trait NvmeAdmin {
    /// Sends `cmd`; when it has a data phase, `data` holds `cmd.data_len` bytes for the answer.
    /// `Err` is an OS-level failure (the command did not complete); a controller error is a
    /// [`Completion`] with a non-success status.
    fn admin(
        &mut self,
        cmd: &AdminCommand,
        data: Option<&mut [u8]>,
        timeout: Duration,
    ) -> io::Result<Completion>;
}

/// One admin command as sent, for the record: what, how it ended and how long it took.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SentCommand {
    /// The command.
    pub command: AdminCommand,
    /// The completion status (`None` when the OS call failed).
    pub status: Option<u16>,
    /// The OS error, when there was one.
    pub os_error: Option<String>,
    /// Wall time.
    pub duration: Duration,
}

impl serde::Serialize for AdminCommand {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("AdminCommand", 4)?;
        st.serialize_field("opcode", &self.opcode)?;
        st.serialize_field("nsid", &self.nsid)?;
        st.serialize_field("cdw10", &self.cdw[0])?;
        st.serialize_field("cdw11", &self.cdw[1])?;
        st.end()
    }
}

/// Why an NVMe command sequence failed.
#[derive(Debug, thiserror::Error)]
pub enum NvmeError {
    /// The controller could not be found or opened.
    #[error("{0}")]
    Controller(String),
    /// The OS refused or lost the command.
    #[error("{command}: {source}")]
    Os {
        /// Command name.
        command: &'static str,
        /// The OS error.
        source: io::Error,
    },
    /// The controller completed the command with an error status.
    #[error("{command}: the drive answered {}", .status.describe())]
    Status {
        /// Command name.
        command: &'static str,
        /// The status.
        status: NvmeStatus,
    },
    /// A data structure is malformed.
    #[error("{0}")]
    Malformed(String),
}

/// Runs `cmd` on `dev`, times it and turns an error status into [`NvmeError::Status`]. The
/// [`SentCommand`] is returned in both cases, for the record.
pub fn run(
    dev: &mut dyn NvmeAdmin,
    cmd: &AdminCommand,
    data: Option<&mut [u8]>,
    timeout: Duration,
) -> (Result<Completion, NvmeError>, SentCommand) {
    let started = Instant::now();
    let answer = dev.admin(cmd, data, timeout);
    let duration = started.elapsed();
    match answer {
        Ok(c) => {
            let sent = SentCommand {
                command: *cmd,
                status: Some(c.status.0),
                os_error: None,
                duration,
            };
            if c.status.is_success() {
                (Ok(c), sent)
            } else {
                (
                    Err(NvmeError::Status {
                        command: cmd.name(),
                        status: c.status,
                    }),
                    sent,
                )
            }
        }
        Err(e) => {
            let sent = SentCommand {
                command: *cmd,
                status: None,
                os_error: Some(e.to_string()),
                duration,
            };
            (
                Err(NvmeError::Os {
                    command: cmd.name(),
                    source: e,
                }),
                sent,
            )
        }
    }
}

/// Reads the Identify Controller page (raw 4096 bytes).
pub fn read_identify_controller(dev: &mut dyn NvmeAdmin) -> Result<Vec<u8>, NvmeError> {
    let mut page = vec![0u8; IDENTIFY_LEN];
    run(
        dev,
        &identify(CNS_CONTROLLER, 0),
        Some(&mut page),
        Duration::from_secs(10),
    )
    .0?;
    Ok(page)
}

/// Reads the Identify Namespace page of `nsid` (raw 4096 bytes).
pub fn read_identify_namespace(dev: &mut dyn NvmeAdmin, nsid: u32) -> Result<Vec<u8>, NvmeError> {
    let mut page = vec![0u8; IDENTIFY_LEN];
    run(
        dev,
        &identify(CNS_NAMESPACE, nsid),
        Some(&mut page),
        Duration::from_secs(10),
    )
    .0?;
    Ok(page)
}

/// Reads the Sanitize Status log page.
pub fn read_sanitize_status(dev: &mut dyn NvmeAdmin) -> Result<SanitizeStatus, NvmeError> {
    let mut page = vec![0u8; SANITIZE_LOG_LEN];
    run(
        dev,
        &sanitize_status_log(),
        Some(&mut page),
        Duration::from_secs(10),
    )
    .0?;
    SanitizeStatus::parse(&page)
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn le64(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

fn ascii(b: &[u8]) -> String {
    String::from_utf8_lossy(b)
        .trim_matches(|c: char| c == ' ' || c == '\0')
        .to_string()
}

/// Sanitize Capabilities (Identify Controller bytes 331:328).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct SanitizeCaps {
    /// Bit 0 CES: Crypto Erase sanitize supported.
    pub crypto_erase: bool,
    /// Bit 1 BES: Block Erase sanitize supported.
    pub block_erase: bool,
    /// Bit 2 OWS: Overwrite sanitize supported.
    pub overwrite: bool,
    /// Bit 29 NDI: the No-Deallocate After Sanitize bit is inhibited.
    pub no_deallocate_inhibited: bool,
}

impl SanitizeCaps {
    /// True when any sanitize operation is supported.
    pub fn any(&self) -> bool {
        self.crypto_erase || self.block_erase || self.overwrite
    }
}

/// Format NVM Attributes (Identify Controller byte 524).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct FormatAttributes {
    /// Bit 0: a format applies to all namespaces of the controller.
    pub format_all_namespaces: bool,
    /// Bit 1: a secure erase applies to all namespaces.
    pub erase_all_namespaces: bool,
    /// Bit 2: cryptographic erase is supported as a Format NVM secure erase (SES=2).
    pub crypto_erase: bool,
}

/// The fields of the Identify Controller data structure that sanitization needs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IdentifyController {
    /// PCI vendor ID (bytes 1:0).
    pub vendor_id: u16,
    /// Serial number (bytes 23:4).
    pub serial: String,
    /// Model number (bytes 63:24).
    pub model: String,
    /// Firmware revision (bytes 71:64).
    pub firmware: String,
    /// OACS bit 1 (bytes 257:256): Format NVM supported.
    pub format_supported: bool,
    /// OACS bit 0: Security Send / Receive supported (TCG Opal…).
    pub security_send_receive: bool,
    /// SANICAP (bytes 331:328).
    pub sanitize: SanitizeCaps,
    /// Number of namespaces (bytes 519:516).
    pub namespaces: u32,
    /// FNA (byte 524).
    pub format_attributes: FormatAttributes,
}

impl IdentifyController {
    /// Parses a 4096-byte Identify Controller page (Figure 275).
    pub fn parse(page: &[u8]) -> Result<Self, NvmeError> {
        if page.len() < IDENTIFY_LEN {
            return Err(NvmeError::Malformed(format!(
                "Identify Controller page is {} bytes, expected {IDENTIFY_LEN}",
                page.len()
            )));
        }
        let oacs = le16(page, 256);
        let sanicap = le32(page, 328);
        let fna = page[524];
        Ok(Self {
            vendor_id: le16(page, 0),
            serial: ascii(&page[4..24]),
            model: ascii(&page[24..64]),
            firmware: ascii(&page[64..72]),
            format_supported: oacs & (1 << 1) != 0,
            security_send_receive: oacs & 1 != 0,
            sanitize: SanitizeCaps {
                crypto_erase: sanicap & 1 != 0,
                block_erase: sanicap & (1 << 1) != 0,
                overwrite: sanicap & (1 << 2) != 0,
                no_deallocate_inhibited: sanicap & (1 << 29) != 0,
            },
            namespaces: le32(page, 516),
            format_attributes: FormatAttributes {
                format_all_namespaces: fna & 1 != 0,
                erase_all_namespaces: fna & (1 << 1) != 0,
                crypto_erase: fna & (1 << 2) != 0,
            },
        })
    }
}

/// One LBA format (Identify Namespace bytes 128 + 4·n; NVM Command Set Figure 98).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct LbaFormat {
    /// Metadata bytes per LBA (bits 15:0).
    pub metadata_size: u16,
    /// LBA data size as a power of two (bits 23:16).
    pub data_size_shift: u8,
    /// Relative performance (bits 25:24, 0 = best).
    pub relative_performance: u8,
}

impl LbaFormat {
    /// LBA data size in bytes.
    pub fn data_size(&self) -> u64 {
        1u64.checked_shl(u32::from(self.data_size_shift))
            .unwrap_or(0)
    }
}

/// What a read of a deallocated (erased) block returns, from DLFEAT bits 2:0 (byte 33).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeallocatedRead {
    /// 000b: not reported.
    NotReported,
    /// 001b: all bytes 00h.
    Zeros,
    /// 010b: all bytes FFh.
    Ones,
}

/// The fields of the Identify Namespace data structure that sanitization needs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IdentifyNamespace {
    /// NSZE: namespace size in logical blocks (bytes 7:0).
    pub size_blocks: u64,
    /// NCAP: capacity in logical blocks (bytes 15:8).
    pub capacity_blocks: u64,
    /// The LBA format in use: FLBAS bits 3:0 plus bits 6:5 as the high bits (byte 26).
    pub current_format: u8,
    /// The LBA formats (NLBAF, byte 25, is zero-based).
    pub formats: Vec<LbaFormat>,
    /// DLFEAT bits 2:0 (byte 33).
    pub deallocated_read: DeallocatedRead,
    /// FPI (byte 32): bit 7 "progress indicator supported", bits 6:0 percent remaining.
    pub format_progress: Option<u8>,
}

impl IdentifyNamespace {
    /// Parses a 4096-byte Identify Namespace page.
    pub fn parse(page: &[u8]) -> Result<Self, NvmeError> {
        if page.len() < IDENTIFY_LEN {
            return Err(NvmeError::Malformed(format!(
                "Identify Namespace page is {} bytes, expected {IDENTIFY_LEN}",
                page.len()
            )));
        }
        let nlbaf = usize::from(page[25]) + 1;
        let flbas = page[26];
        let current_format = (flbas & 0xF) | (((flbas >> 5) & 0x3) << 4);
        let formats: Vec<LbaFormat> = (0..nlbaf.min(64))
            .map(|i| {
                let d = le32(page, 128 + 4 * i);
                LbaFormat {
                    metadata_size: (d & 0xFFFF) as u16,
                    data_size_shift: ((d >> 16) & 0xFF) as u8,
                    relative_performance: ((d >> 24) & 0x3) as u8,
                }
            })
            .collect();
        if usize::from(current_format) >= formats.len() {
            return Err(NvmeError::Malformed(format!(
                "Identify Namespace: current LBA format {current_format} of {} formats",
                formats.len()
            )));
        }
        let fpi = page[32];
        Ok(Self {
            size_blocks: le64(page, 0),
            capacity_blocks: le64(page, 8),
            current_format,
            formats,
            deallocated_read: match page[33] & 0x7 {
                1 => DeallocatedRead::Zeros,
                2 => DeallocatedRead::Ones,
                _ => DeallocatedRead::NotReported,
            },
            format_progress: (fpi & 0x80 != 0).then_some(fpi & 0x7F),
        })
    }

    /// Logical block size of the format in use, in bytes.
    pub fn block_size(&self) -> u64 {
        self.formats[usize::from(self.current_format)].data_size()
    }
}

/// State of the most recent sanitize operation (Sanitize Status log, SSTAT bits 2:0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SanitizeState {
    /// 000b: the subsystem has never been sanitized.
    NeverSanitized,
    /// 001b: the most recent sanitize completed successfully.
    Completed,
    /// 010b: a sanitize is in progress.
    InProgress,
    /// 011b: the most recent sanitize failed (failure mode: only Sanitize may leave it).
    Failed,
    /// 100b: the most recent sanitize, for which No-Deallocate After Sanitize was requested,
    /// completed successfully *with* deallocation of all user data (the controller did not
    /// honour NDAS, e.g. because SANICAP.NDI is set) — Base 2.1 Figure 291.
    CompletedNoDeallocate,
    /// Reserved values.
    Reserved(u8),
}

/// The Sanitize Status log page (§5.16.1.25, Figure 290).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SanitizeStatus {
    /// SPROG: fraction complete, as n/65536 (bytes 1:0).
    pub progress: u16,
    /// SSTAT bits 2:0.
    pub state: SanitizeState,
    /// SSTAT bits 7:3: overwrite passes completed.
    pub overwrite_passes_done: u8,
    /// SSTAT bit 8: no user data has been written since the last sanitize (Global Data Erased).
    pub global_data_erased: bool,
    /// SCDW10: CDW10 of the sanitize that set this status (bytes 7:4).
    pub last_cdw10: u32,
    /// Estimated seconds for an overwrite (bytes 11:8), block erase (15:12), crypto erase
    /// (19:16); `None` when the drive gives no estimate (FFFFFFFFh).
    pub estimate_overwrite: Option<u32>,
    /// Block erase estimate.
    pub estimate_block_erase: Option<u32>,
    /// Crypto erase estimate.
    pub estimate_crypto_erase: Option<u32>,
    /// Estimates when No-Deallocate After Sanitize was requested and the drive then modifies
    /// the media (SANICAP.NODMMAS = 10b): overwrite (bytes 23:20, ETODMM), block erase
    /// (27:24, ETBENMM), crypto erase (31:28, ETCENMM). `None` when not reported, or when
    /// the page is shorter than 32 bytes.
    pub estimate_overwrite_ndmm: Option<u32>,
    /// Block erase, with No-Deallocate media modification.
    pub estimate_block_erase_ndmm: Option<u32>,
    /// Crypto erase, with No-Deallocate media modification.
    pub estimate_crypto_erase_ndmm: Option<u32>,
}

impl SanitizeStatus {
    /// Parses the log page (at least 20 bytes are needed).
    pub fn parse(page: &[u8]) -> Result<Self, NvmeError> {
        if page.len() < 20 {
            return Err(NvmeError::Malformed(format!(
                "Sanitize Status log is {} bytes",
                page.len()
            )));
        }
        let sstat = le16(page, 2);
        let est = |at: usize| {
            (page.len() >= at + 4)
                .then(|| le32(page, at))
                .filter(|&v| v != u32::MAX)
        };
        Ok(Self {
            progress: le16(page, 0),
            state: match (sstat & 0x7) as u8 {
                0 => SanitizeState::NeverSanitized,
                1 => SanitizeState::Completed,
                2 => SanitizeState::InProgress,
                3 => SanitizeState::Failed,
                4 => SanitizeState::CompletedNoDeallocate,
                r => SanitizeState::Reserved(r),
            },
            overwrite_passes_done: ((sstat >> 3) & 0x1F) as u8,
            global_data_erased: sstat & (1 << 8) != 0,
            last_cdw10: le32(page, 4),
            estimate_overwrite: est(8),
            estimate_block_erase: est(12),
            estimate_crypto_erase: est(16),
            estimate_overwrite_ndmm: est(20),
            estimate_block_erase_ndmm: est(24),
            estimate_crypto_erase_ndmm: est(28),
        })
    }

    /// The drive's estimate, in seconds, for a sanitize with `action` (Figure 291): the
    /// "with No-Deallocate media modification" field when `ndmm` is true and the drive
    /// reports it. The overwrite estimate is for 16 passes; it is scaled to `passes` (1–16).
    /// `Some(0)` means the drive expects the operation to be done when the command completes.
    pub fn estimate_seconds(&self, action: SanitizeAction, passes: u8, ndmm: bool) -> Option<u64> {
        let pick = |plain: Option<u32>, with: Option<u32>| {
            if ndmm { with.or(plain) } else { plain }.map(u64::from)
        };
        match action {
            SanitizeAction::CryptoErase => {
                pick(self.estimate_crypto_erase, self.estimate_crypto_erase_ndmm)
            }
            SanitizeAction::BlockErase => {
                pick(self.estimate_block_erase, self.estimate_block_erase_ndmm)
            }
            SanitizeAction::Overwrite => {
                let passes = u64::from(if passes == 0 { 16 } else { passes.min(16) });
                pick(self.estimate_overwrite, self.estimate_overwrite_ndmm)
                    .map(|s| (s * passes).div_ceil(16))
            }
            SanitizeAction::ExitFailureMode => None,
        }
    }

    /// The action of the sanitize that set this status (SCDW10 bits 2:0).
    pub fn last_action(&self) -> Option<SanitizeAction> {
        SanitizeAction::from_sanact(self.last_cdw10)
    }

    /// Progress in percent.
    pub fn percent(&self) -> f64 {
        f64::from(self.progress) * 100.0 / 65536.0
    }
}

/// Where a namespace's controller is: its sysfs directory and character device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerPath {
    /// The controller's sysfs directory (in the root's namespace).
    pub sysfs: PathBuf,
    /// The controller's character device node, e.g. `/dev/nvme0`.
    pub dev_path: PathBuf,
    /// Its device number (from sysfs `dev`).
    pub dev: DevNum,
    /// The namespace ID of the namespace we started from (sysfs `nsid`).
    pub nsid: u32,
}

/// Finds the controller of namespace `name` (e.g. `nvme0n1`) through sysfs: the namespace's
/// `device` link is the controller; its `uevent` names its node (`DEVNAME`) and `dev` gives its
/// number. With native multipath the link leads to the subsystem; the first live controller
/// under it is used.
pub fn controller_of(root: &SystemRoot, name: &str) -> Result<ControllerPath, NvmeError> {
    let block = root.path("/sys/class/block").join(name);
    let not_found = |what: &str| {
        NvmeError::Controller(format!(
            "{name}: no NVMe controller found in sysfs ({what})"
        ))
    };
    let nsid: u32 = fs::read_to_string(block.join("nsid"))
        .map_err(|_| not_found("no nsid file"))?
        .trim()
        .parse()
        .map_err(|_| not_found("unreadable nsid"))?;
    let device = fs::canonicalize(block.join("device")).map_err(|_| not_found("no device link"))?;
    let mut candidates = vec![device.clone()];
    if !device.join("dev").exists() {
        // A subsystem (nvme-subsysN): its controllers are the nvmeN entries below it.
        if let Ok(entries) = fs::read_dir(&device) {
            let mut ctrls: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .and_then(|n| n.strip_prefix("nvme"))
                        .is_some_and(|rest| {
                            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit())
                        })
                        && p.join("dev").exists()
                })
                .collect();
            ctrls.sort();
            candidates = ctrls;
        }
    }
    let ctrl = candidates
        .into_iter()
        .find(|p| p.join("dev").exists())
        .ok_or_else(|| not_found("the controller has no character device"))?;
    let dev = fs::read_to_string(ctrl.join("dev"))
        .ok()
        .and_then(|t| DevNum::parse(&t))
        .ok_or_else(|| not_found("unreadable dev"))?;
    let uevent = fs::read_to_string(ctrl.join("uevent")).unwrap_or_default();
    let devname = uevent
        .lines()
        .find_map(|l| l.strip_prefix("DEVNAME="))
        .map(str::to_string)
        .or_else(|| {
            ctrl.file_name()
                .and_then(|n| n.to_str())
                .map(str::to_string)
        })
        .ok_or_else(|| not_found("no DEVNAME"))?;
    Ok(ControllerPath {
        sysfs: ctrl,
        dev_path: Path::new("/dev").join(devname),
        dev,
        nsid,
    })
}

/// An NVMe controller character device open for admin commands.
#[derive(Debug)]
pub struct NvmeController {
    file: File,
    path: ControllerPath,
}

impl NvmeController {
    /// Opens the controller of namespace `name` (found with [`controller_of`]) and checks that
    /// the node is the character device sysfs names.
    pub fn open_for_namespace(root: &SystemRoot, name: &str) -> Result<Self, NvmeError> {
        let path = controller_of(root, name)?;
        let node = root.path(&path.dev_path);
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(&node)
            .map_err(|e| {
                NvmeError::Controller(format!("{}: cannot open: {e}", path.dev_path.display()))
            })?;
        let meta = file
            .metadata()
            .map_err(|e| NvmeError::Controller(format!("{}: {e}", path.dev_path.display())))?;
        if !meta.file_type().is_char_device() || DevNum::from_raw(meta.rdev()) != path.dev {
            return Err(NvmeError::Controller(format!(
                "{}: not the character device {} that sysfs names for {name}",
                path.dev_path.display(),
                path.dev
            )));
        }
        Ok(Self { file, path })
    }

    /// Where the controller is.
    pub fn path(&self) -> &ControllerPath {
        &self.path
    }
}

impl NvmeAdmin for NvmeController {
    fn admin(
        &mut self,
        cmd: &AdminCommand,
        data: Option<&mut [u8]>,
        timeout: Duration,
    ) -> io::Result<Completion> {
        let data = match data {
            Some(buf) if cmd.data_len > 0 => {
                if buf.len() < cmd.data_len {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "data buffer shorter than the command's transfer",
                    ));
                }
                Some(&mut buf[..cmd.data_len])
            }
            _ => None,
        };
        let timeout_ms = u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX);
        let raw = sys::nvme_admin(&self.file, cmd.opcode, cmd.nsid, cmd.cdw, data, timeout_ms)?;
        Ok(Completion {
            status: NvmeStatus(raw.status),
            result: raw.result,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identify_encodings() {
        // §5.17: CNS in CDW10 bits 7:0; Identify Controller ignores NSID.
        let c = identify(CNS_CONTROLLER, 0);
        assert_eq!(
            (c.opcode, c.nsid, c.cdw10(), c.data_len),
            (0x06, 0, 0x01, 4096)
        );
        let n = identify(CNS_NAMESPACE, 1);
        assert_eq!((n.opcode, n.nsid, n.cdw10()), (0x06, 1, 0x00));
    }

    #[test]
    fn log_page_encoding() {
        // 512 bytes = 128 dwords, NUMD zero-based = 127 = 0x7F in CDW10 bits 31:16; LID 81h.
        let c = sanitize_status_log();
        assert_eq!(c.opcode, 0x02);
        assert_eq!(c.nsid, 0xFFFF_FFFF);
        assert_eq!(c.cdw10(), 0x007F_0081);
        assert_eq!(c.cdw11(), 0);
        // A 1 MiB log spills NUMD into NUMDU (CDW11 bits 15:0): 262143 = 0x3_FFFF.
        let big = get_log_page(0x02, 0, 1 << 20);
        assert_eq!(big.cdw10(), 0xFFFF_0002);
        assert_eq!(big.cdw11(), 0x0003);
    }

    #[test]
    fn format_encodings() {
        // SES in bits 11:9: SES=1 → 0x200, SES=2 → 0x400; LBAF 0.
        assert_eq!(format_nvm(1, 0, SecureErase::UserData).cdw10(), 0x0000_0200);
        assert_eq!(
            format_nvm(1, 0, SecureErase::Cryptographic).cdw10(),
            0x0000_0400
        );
        assert_eq!(format_nvm(1, 0, SecureErase::None).cdw10(), 0);
        // LBAF 3 stays in bits 3:0; index 0x13 puts 1 in LBAFU (bits 13:12).
        assert_eq!(format_nvm(1, 3, SecureErase::UserData).cdw10(), 0x0000_0203);
        assert_eq!(format_nvm(1, 0x13, SecureErase::None).cdw10(), 0x0000_1003);
        let f = format_nvm(7, 0, SecureErase::UserData);
        assert_eq!((f.opcode, f.nsid, f.data_len), (0x80, 7, 0));
    }

    #[test]
    fn sanitize_encodings() {
        // SANACT bits 2:0 — 010b block, 011b overwrite, 100b crypto, 001b exit failure mode.
        let d = SanitizeOptions::default();
        assert_eq!(sanitize(SanitizeAction::BlockErase, d).cdw10(), 0x2);
        assert_eq!(sanitize(SanitizeAction::CryptoErase, d).cdw10(), 0x4);
        assert_eq!(sanitize(SanitizeAction::ExitFailureMode, d).cdw10(), 0x1);
        let ow = sanitize(
            SanitizeAction::Overwrite,
            SanitizeOptions {
                allow_unrestricted_exit: true,
                overwrite_passes: 3,
                invert_between_passes: true,
                no_deallocate: true,
                pattern: 0xDEAD_BEEF,
            },
        );
        // 011b | AUSE bit 3 | OWPASS 3 in bits 7:4 | OIPBP bit 8 | NDAS bit 9.
        assert_eq!(ow.cdw10(), 0x3 | 0x8 | 0x30 | 0x100 | 0x200);
        assert_eq!(ow.cdw11(), 0xDEAD_BEEF);
        assert_eq!((ow.opcode, ow.nsid), (0x84, 0));
        // Base 2.1 Figure 372: what the bench sends. Crypto / block erase in unrestricted
        // completion mode (AUSE, so Exit Failure Mode may follow a failure): 0x0C and 0x0A;
        // one overwrite pass of zeros, no deallocation: 0b10_0001_1011 = 0x21B, CDW11 0.
        let ause = SanitizeOptions {
            allow_unrestricted_exit: true,
            ..SanitizeOptions::default()
        };
        assert_eq!(
            sanitize(SanitizeAction::CryptoErase, ause).cdw10(),
            0x0000_000C
        );
        assert_eq!(
            sanitize(SanitizeAction::BlockErase, ause).cdw10(),
            0x0000_000A
        );
        let one_pass = sanitize(
            SanitizeAction::Overwrite,
            SanitizeOptions {
                allow_unrestricted_exit: true,
                overwrite_passes: 1,
                no_deallocate: true,
                ..SanitizeOptions::default()
            },
        );
        assert_eq!((one_pass.cdw10(), one_pass.cdw11()), (0x0000_021B, 0));
        // OWPASS is 4 bits: 16 passes is encoded 0h; no data phase; CDW12–15 reserved.
        let sixteen = sanitize(
            SanitizeAction::Overwrite,
            SanitizeOptions {
                overwrite_passes: 16,
                ..SanitizeOptions::default()
            },
        );
        assert_eq!(sixteen.cdw10(), 0x3);
        assert_eq!((sixteen.data_len, &sixteen.cdw[2..]), (0, &[0u32; 4][..]));
        for a in [
            SanitizeAction::ExitFailureMode,
            SanitizeAction::BlockErase,
            SanitizeAction::Overwrite,
            SanitizeAction::CryptoErase,
        ] {
            assert_eq!(SanitizeAction::from_sanact(a.sanact() | 0x208), Some(a));
        }
        assert_eq!(SanitizeAction::from_sanact(0), None);
        assert_eq!(SanitizeAction::from_sanact(0b101), None);
        assert!(!SanitizeAction::ExitFailureMode.starts_operation());
    }

    #[test]
    fn sanitize_status_codes() {
        // Figure 94 (generic status): 1Ch Sanitize Failed, 1Dh Sanitize In Progress.
        assert!(NvmeStatus(0x001C).describe().starts_with("sanitize failed"));
        assert!(
            NvmeStatus(0x001D)
                .describe()
                .starts_with("sanitize in progress")
        );
        assert!(NvmeStatus(0x4002).describe().starts_with("invalid field"));
    }

    #[test]
    fn status_field() {
        // Invalid Command Opcode with DNR, as QEMU answers Sanitize.
        let s = NvmeStatus(0x4001);
        assert!(!s.is_success());
        assert_eq!((s.sct(), s.sc(), s.dnr()), (0, 1, true));
        assert!(s.describe().contains("invalid command opcode"));
        assert!(NvmeStatus(0).is_success());
        let f = NvmeStatus(0x010A);
        assert_eq!((f.sct(), f.sc()), (1, 0x0A));
        assert!(f.describe().starts_with("invalid format"));
    }

    #[test]
    fn sanitize_log_parsing() {
        let mut page = vec![0u8; 512];
        page[0..2].copy_from_slice(&0x8000u16.to_le_bytes()); // half done
        page[2..4].copy_from_slice(&(0x0002u16 | (2 << 3) | (1 << 8)).to_le_bytes());
        page[4..8].copy_from_slice(&0x0000_0004u32.to_le_bytes());
        page[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        page[12..16].copy_from_slice(&120u32.to_le_bytes());
        page[16..20].copy_from_slice(&5u32.to_le_bytes());
        let s = SanitizeStatus::parse(&page).unwrap();
        assert_eq!(s.state, SanitizeState::InProgress);
        assert_eq!(s.overwrite_passes_done, 2);
        assert!(s.global_data_erased);
        assert_eq!(s.last_cdw10, 4);
        assert_eq!(s.estimate_overwrite, None);
        assert_eq!(s.estimate_block_erase, Some(120));
        assert_eq!(s.estimate_crypto_erase, Some(5));
        assert!((s.percent() - 50.0).abs() < 1e-9);
        assert!(SanitizeStatus::parse(&page[..10]).is_err());
        assert_eq!(s.last_action(), Some(SanitizeAction::CryptoErase));
        // A 20-byte page (Base 1.3 layout) has no NDMM estimates.
        let short = SanitizeStatus::parse(&page[..20]).unwrap();
        assert_eq!(short.estimate_crypto_erase_ndmm, None);
        assert_eq!(short.estimate_crypto_erase, Some(5));
        // Figure 291 bytes 23:20 / 27:24 / 31:28: estimates with No-Deallocate media
        // modification; the overwrite estimate is for 16 passes.
        page[8..12].copy_from_slice(&1600u32.to_le_bytes());
        page[20..24].copy_from_slice(&3200u32.to_le_bytes());
        page[24..28].copy_from_slice(&u32::MAX.to_le_bytes());
        page[28..32].copy_from_slice(&7u32.to_le_bytes());
        let s = SanitizeStatus::parse(&page).unwrap();
        assert_eq!(s.estimate_overwrite_ndmm, Some(3200));
        assert_eq!(s.estimate_block_erase_ndmm, None);
        assert_eq!(s.estimate_crypto_erase_ndmm, Some(7));
        assert_eq!(
            s.estimate_seconds(SanitizeAction::Overwrite, 1, false),
            Some(100)
        );
        assert_eq!(
            s.estimate_seconds(SanitizeAction::Overwrite, 0, true),
            Some(3200)
        );
        assert_eq!(
            s.estimate_seconds(SanitizeAction::BlockErase, 1, true),
            Some(120)
        );
        assert_eq!(
            s.estimate_seconds(SanitizeAction::CryptoErase, 1, true),
            Some(7)
        );
        // SSTAT 011b failed, 100b completed with deallocation although NDAS was asked.
        page[2..4].copy_from_slice(&3u16.to_le_bytes());
        assert_eq!(
            SanitizeStatus::parse(&page).unwrap().state,
            SanitizeState::Failed
        );
        page[2..4].copy_from_slice(&4u16.to_le_bytes());
        let s = SanitizeStatus::parse(&page).unwrap();
        assert_eq!(s.state, SanitizeState::CompletedNoDeallocate);
        assert!(!s.global_data_erased);
    }

    #[test]
    fn short_pages_are_refused() {
        assert!(IdentifyController::parse(&[0u8; 100]).is_err());
        assert!(IdentifyNamespace::parse(&[0u8; 4095]).is_err());
    }
}
