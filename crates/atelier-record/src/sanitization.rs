//! The `sanitization[]` section: what was done to each device, how it was verified, and the
//! outcome. Field names follow NIST SP 800-88 (Rev. 2) Appendix G where it names one.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ToolInfo;

/// The sanitization of one device: one entry per device per wipe job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SanitizationEntry {
    /// Unique identifier of this entry (UUIDv7).
    pub id: Uuid,
    /// The device as identified right before the first write.
    pub device: DeviceIdentity,
    /// NIST SP 800-88 sanitization category reached.
    pub category: NistCategory,
    /// What was done.
    pub method: SanitizationMethod,
    /// How the result was checked.
    pub verification: Verification,
    /// When the first write started.
    pub started_at: DateTime<Utc>,
    /// When the job ended (passed, failed or interrupted); absent while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    /// Time spent writing and verifying, in seconds, summed over resumed sessions.
    #[serde(default)]
    pub duration_seconds: f64,
    /// Bytes written over all passes (and all sessions when resumed).
    pub bytes_written: u64,
    /// Mean write throughput over the write passes, bytes per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_throughput_bytes_per_second: Option<f64>,
    /// Mean read throughput of the verification, bytes per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_throughput_bytes_per_second: Option<f64>,
    /// Every range that could not be written, synced or read back.
    #[serde(default)]
    pub errors: Vec<IoErrorRange>,
    /// The program that performed the sanitization.
    pub tool: ToolInfo,
    /// Final verdict. `PASSED` only when every byte was written and verified.
    pub outcome: Outcome,
    /// Why the outcome is not `PASSED`, in plain English (the CLI translates the outcome itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome_detail: Option<String>,
    /// The last durable progress point (data synced to the device before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Checkpoint>,
    /// Interruptions this job went through before it finished (`--resume`).
    #[serde(default)]
    pub interruptions: Vec<Interruption>,
    /// Conditions that limit the result (e.g. a hidden area that remained); empty when none.
    #[serde(default)]
    pub exceptions: Vec<String>,
    /// Why this method was used: chosen by the method policy, or by the operator over a
    /// stronger one. Absent in entries written before the policy existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choice: Option<MethodChoice>,
    /// Hidden areas (HPA) measured right before the wipe, or why they were not examined.
    /// Absent in entries written before the check existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden_area: Option<HiddenAreaCheck>,
    /// For a firmware erase (NVMe Format NVM, Sanitize, ATA SECURITY ERASE / SANITIZE): the
    /// drive's identification hash, the exact commands sent and the before/after sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware: Option<FirmwareErase>,
}

/// Why a sanitization method was used (NIST SP 800-88 Appendix G: "method used" and the
/// reason when it is not the strongest the media allows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MethodChoice {
    /// Who chose: `policy` (the bench's method table) or `operator` (an explicit `--method`).
    pub chosen_by: String,
    /// The strongest method the policy found for this device (may equal the method used).
    pub strongest: String,
    /// NIST category of that strongest method.
    pub strongest_category: NistCategory,
    /// Why, in plain English: the capability that decided, or why Purge is not possible.
    pub reason: String,
    /// Stable identifier of the reason (e.g. `frozen`, `operator-choice`, `advertised`), for
    /// programs and translations. Absent in entries written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// Hidden areas of a drive: the native capacity against what the host can address (a Host
/// Protected Area, ACS-3 §4.11), measured right before the wipe — or why it was not examined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum HiddenAreaCheck {
    /// The drive answered.
    Measured {
        /// The command that measured it, e.g. `ATA READ NATIVE MAX ADDRESS EXT`.
        method: String,
        /// Every sector the drive has (native max address + 1).
        native_max_sectors: u64,
        /// Sectors the host can address (IDENTIFY DEVICE words 100–103).
        user_sectors: u64,
        /// Sectors hidden from the host (0 when none); not erased by a host overwrite.
        hidden_sectors: u64,
        /// What the bench did about a hidden area before the wipe (restored, not consented,
        /// failed); the fields above are then the measure taken after it. Absent when nothing
        /// was hidden, and in entries written before restoring existed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        restore: Option<HiddenAreaRestore>,
    },
    /// Not examined, and why (NVMe, USB, memory cards, virtual devices, a failed command).
    NotExamined {
        /// Why, in plain English.
        reason: String,
        /// Which case it is, for programs and translations (the certificate says it in the
        /// operator's language). Absent in entries written before it existed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<NotExaminedCode>,
    },
}

/// Why a drive's hidden areas were not examined: the stable code of
/// [`HiddenAreaCheck::NotExamined`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum NotExaminedCode {
    /// The measuring command (READ NATIVE MAX ADDRESS EXT / GET NATIVE MAX ADDRESS EXT)
    /// failed; `reason` holds the drive's error.
    CommandFailed,
    /// IDENTIFY DEVICE could not be read; `reason` holds why.
    IdentifyUnreadable,
    /// NVMe: the command set has no host protected area.
    Nvme,
    /// USB: ATA pass-through through the bridge is not attempted.
    Usb,
    /// SD card or eMMC: no command reports a hidden area.
    MemoryCard,
    /// SCSI / SAS: not examined by this version.
    Scsi,
    /// Loop, virtio or RAM device: the real medium is elsewhere.
    Virtual,
}

/// What happened to a hidden area before the wipe (ACS-3 §4.9 DCO, §4.11 HPA; ACS-4 §4.4
/// Accessible Max Address Configuration). Capacities are sector counts (maximum LBA + 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HiddenAreaRestore {
    /// The result.
    pub outcome: HiddenAreaRestoreOutcome,
    /// `amac` (ACCESSIBLE MAX ADDRESS CONFIGURATION) or `hpa-dco` (SET MAX ADDRESS EXT and
    /// DEVICE CONFIGURATION OVERLAY).
    pub mechanism: String,
    /// The commands that changed the drive, in order (empty when nothing was sent).
    #[serde(default)]
    pub commands: Vec<String>,
    /// Sectors the host could address before (IDENTIFY DEVICE).
    pub user_sectors_before: u64,
    /// The native maximum before (READ NATIVE MAX ADDRESS EXT / GET NATIVE MAX ADDRESS EXT).
    pub native_max_sectors_before: u64,
    /// The factory maximum DEVICE CONFIGURATION IDENTIFY reported, when read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dco_max_sectors: Option<u64>,
    /// Sectors the host can address after the restore, measured again (IDENTIFY DEVICE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_sectors_after: Option<u64>,
    /// Sectors the kernel shows after its rescan (what the wipe covers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_sectors_after: Option<u64>,
    /// Why it did not go as planned, in plain English.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The result of a hidden-area restore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HiddenAreaRestoreOutcome {
    /// Everything hidden is visible again, to the drive and to the kernel.
    Restored,
    /// The operator did not consent (no `--restore-hidden-areas`, "no" to the question):
    /// nothing was sent.
    NotConsented,
    /// A command failed or the area is still (partly) hidden; `error` says why.
    Failed,
}

impl HiddenAreaCheck {
    /// Sectors known to be hidden (0 when none or not examined).
    pub fn hidden_sectors(&self) -> u64 {
        match self {
            Self::Measured { hidden_sectors, .. } => *hidden_sectors,
            Self::NotExamined { .. } => 0,
        }
    }
}

/// What a firmware erase did, for audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FirmwareErase {
    /// Command set: `nvme`, `ata`, `scsi` or `emmc`.
    pub command_set: String,
    /// SHA-256 (hex) of the raw controller / device identification page read right before the
    /// erase (NVMe Identify Controller, 4096 bytes; ATA IDENTIFY DEVICE, 512 bytes).
    pub identify_sha256: String,
    /// SHA-256 (hex) of the raw NVMe Identify Namespace page, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_identify_sha256: Option<String>,
    /// Every command sent, in order.
    pub commands: Vec<FirmwareCommand>,
    /// What the erase promises the sectors read afterwards: `zeros`, `ones` or `unspecified`.
    pub expected_content: String,
    /// Sectors hashed before the erase (pseudo-random plus the first and the last).
    pub presampled_sectors: u64,
    /// Of those, sectors whose content before the erase differed from `expected_content`
    /// (the ones that prove something changed).
    pub presampled_distinct: u64,
    /// Of those, sectors that still held their old content after the erase (must be 0 for
    /// the distinct ones).
    pub presampled_unchanged: u64,
}

/// One command sent to a drive's firmware.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FirmwareCommand {
    /// Short name, e.g. `identify`, `format-nvm`, `sanitize`.
    pub name: String,
    /// Opcode (NVMe admin opcode or ATA command code).
    pub opcode: u8,
    /// Namespace ID (NVMe).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nsid: Option<u32>,
    /// Command Dword 10 (NVMe) or FEATURES (ATA).
    pub cdw10: u32,
    /// Command Dword 11 (NVMe) or COUNT (ATA).
    pub cdw11: u32,
    /// Completion status (NVMe status field; ATA STATUS); absent when the OS call failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The OS error, when the command did not complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_error: Option<String>,
    /// Wall time, seconds.
    pub duration_seconds: f64,
}

/// Identity of a block device, as read from the kernel right before a destructive step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DeviceIdentity {
    /// Kernel name, e.g. `sda`, `nvme0n1`, `loop3`.
    pub name: String,
    /// Device node, e.g. `/dev/sda`.
    pub path: String,
    /// Model string reported by the device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Vendor string reported by the device (SCSI / USB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// Serial number reported by the device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// World Wide Name / EUI / NGUID, when the device has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wwn: Option<String>,
    /// Firmware revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware: Option<String>,
    /// How the device is attached.
    pub transport: Transport,
    /// What kind of storage medium it is (NIST "media type").
    pub media: MediaKind,
    /// Capacity the host can address, in bytes.
    pub size_bytes: u64,
    /// Logical sector size (the LBA unit), in bytes.
    pub logical_sector_size: u32,
    /// Physical sector size, in bytes.
    pub physical_sector_size: u32,
    /// The kernel's rotational flag (unreliable behind USB bridges).
    pub rotational: bool,
    /// The kernel's removable flag.
    pub removable: bool,
    /// For loop devices: the file behind the device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loop_backing_file: Option<String>,
}

/// How a device is attached to the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// NVM Express.
    Nvme,
    /// SATA / PATA through libata.
    Sata,
    /// SCSI / SAS.
    Scsi,
    /// USB mass storage (sticks, card readers, external disks).
    Usb,
    /// MMC / SD / eMMC.
    Mmc,
    /// virtio-blk (virtual machines).
    Virtio,
    /// Linux loop device (a file seen as a disk).
    Loop,
    /// Anything else the kernel offers (zram, ram disks, unknown buses).
    Other,
}

/// The storage medium, as far as the host can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    /// Spinning magnetic disk.
    Magnetic,
    /// Flash memory (SSD, NVMe, eMMC, SD card, USB stick).
    Flash,
    /// A virtual device (loop, virtio, RAM); the real medium is elsewhere.
    Virtual,
    /// The host cannot tell (e.g. behind a USB bridge).
    Unknown,
}

/// NIST SP 800-88 sanitization categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NistCategory {
    /// Logical techniques on user-addressable locations (e.g. a host overwrite).
    Clear,
    /// Techniques that make recovery infeasible even in a laboratory (firmware erase).
    Purge,
    /// Physical destruction.
    Destroy,
}

/// The method applied to a device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SanitizationMethod {
    /// Stable method name, e.g. `overwrite-random`, `overwrite-zero`, `legacy-3pass`.
    pub name: String,
    /// The technique.
    pub technique: Technique,
    /// The pattern of each pass, in order.
    pub passes: Vec<PassPattern>,
    /// Generator of the random passes (`aes-128-ctr`, `chacha20`), when there are any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub random_generator: Option<String>,
    /// Size of each write request in bytes.
    pub request_size_bytes: u32,
}

/// Sanitization techniques (NIST SP 800-88 / IEEE 2883 vocabulary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Technique {
    /// The host writes every user-addressable sector.
    Overwrite,
    /// The drive erases all user data itself (NVMe Format NVM, Secure Erase Settings 1;
    /// ATA SECURITY ERASE UNIT).
    UserDataErase,
    /// The drive erases its blocks (NVMe Sanitize / ATA SANITIZE BLOCK ERASE).
    BlockErase,
    /// The drive replaces its media encryption key (NVMe Format SES 2 or Sanitize Crypto
    /// Erase; ATA CRYPTO SCRAMBLE).
    CryptographicErase,
}

/// What one overwrite pass writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PassPattern {
    /// A keystream (AES-128-CTR, or ChaCha20 on CPUs without AES instructions; see
    /// `random_generator`) from a key drawn from the OS for this pass.
    Random,
    /// All bytes 0x00.
    Zero,
    /// All bytes 0xFF.
    One,
}

/// Verification of a wipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Verification {
    /// How much was read back.
    pub mode: VerificationMode,
    /// Verdict of the read-back.
    pub result: VerificationResult,
    /// Bytes read back and compared.
    pub bytes_checked: u64,
    /// Share of the device read back, in percent.
    pub coverage_percent: f64,
    /// Logical sectors whose content differed from the pattern written.
    pub mismatched_sectors: u64,
    /// The first logical sector (LBA) that differed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_mismatch_lba: Option<u64>,
    /// Logical sectors that could not be read back.
    pub unreadable_sectors: u64,
}

impl Verification {
    /// A verification that has not run (yet).
    pub fn not_run(mode: VerificationMode) -> Self {
        Self {
            mode,
            result: VerificationResult::NotRun,
            bytes_checked: 0,
            coverage_percent: 0.0,
            mismatched_sectors: 0,
            first_mismatch_lba: None,
            unreadable_sectors: 0,
        }
    }
}

/// How much of a device is read back after a wipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VerificationMode {
    /// Every sector.
    Full,
    /// NIST sampling: ≥ 1000 equal subsections, ≥ 2 pseudo-random samples in each, the first
    /// and last sectors, ≥ 10 % coverage.
    Sampled,
}

/// Verdict of a verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VerificationResult {
    /// Everything read back matched.
    Passed,
    /// Something differed or could not be read.
    Failed,
    /// The verification did not run (interrupted or write failure).
    NotRun,
}

/// Final verdict of a sanitization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    /// Every byte was written and the verification found nothing left.
    Passed,
    /// A write, sync or read failed, or the verification found a difference.
    Failed,
    /// The job stopped before it finished (or is still running); see `checkpoint`.
    Interrupted,
}

/// A durable progress point of a wipe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Checkpoint {
    /// Index of the pass in progress (0-based).
    pub pass_index: u32,
    /// Bytes of that pass written and synced to the device.
    pub bytes_done: u64,
    /// When the checkpoint was taken.
    pub at: DateTime<Utc>,
}

/// One interruption of a wipe that was later resumed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Interruption {
    /// When the resume started.
    pub resumed_at: DateTime<Utc>,
    /// The checkpoint the job resumed from.
    pub from: Checkpoint,
}

/// A range of sectors that failed an I/O operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct IoErrorRange {
    /// The operation that failed.
    pub operation: IoOperation,
    /// Pass index for writes and syncs (0-based); absent for reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass_index: Option<u32>,
    /// First logical sector of the range.
    pub first_lba: u64,
    /// Number of logical sectors in the range.
    pub sector_count: u64,
    /// The OS error number, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno: Option<i32>,
    /// The OS error message.
    pub message: String,
}

/// An I/O operation on a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IoOperation {
    /// Writing a pass.
    Write,
    /// Flushing written data to the medium.
    Sync,
    /// Reading back for verification.
    Read,
}
