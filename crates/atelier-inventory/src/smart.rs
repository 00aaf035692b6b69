//! SMART health of disks, from `smartctl -j` (smartmontools).
//!
//! The bench asks smartmontools' `smartctl -j -a DEVICE` (or `-x`) about every physical disk and
//! keeps what a refurbisher needs to decide whether the disk can go back into service: the
//! drive's own overall verdict, its age (power-on hours, power cycles), the sector-level damage
//! counters of ATA disks, the NVMe health log, and the SCSI grown defect list.
//!
//! - [`parse`] is a pure function over smartctl's JSON output. It never panics: a member that is
//!   missing or of the wrong type is simply absent from the [`SmartReport`].
//! - [`SmartReport::health`] turns a report into a typed [`DiskHealth`] verdict with typed
//!   reasons ([`HealthReason`], [`UnknownReason`]); the CLI translates them.
//! - [`query`] / [`query_all`] run smartctl (several disks concurrently) with a per-disk timeout;
//!   [`Smartctl`] is the builder behind them (program path, `-a` or `-x`).
//!
//! # smartctl's exit status
//!
//! smartctl's exit status is a bit mask (smartctl(8), section EXIT STATUS); with `-j` it is also
//! in the JSON as `smartctl.exit_status`. A non-zero status is normal for a disk that has
//! something to report, so the JSON is parsed whatever the status and the bits are kept as
//! [`SmartctlStatus`]:
//!
//! | bit | meaning (smartctl(8)) | [`StatusFlag`] |
//! |---|---|---|
//! | 0 | command line did not parse (also: device type could not be detected, unknown USB bridge) | [`StatusFlag::CommandLine`] |
//! | 1 | device open failed, device did not return an IDENTIFY DEVICE structure, or device is in a low-power mode | [`StatusFlag::DeviceOpen`] |
//! | 2 | some SMART or other ATA command to the disk failed, or a SMART data structure had a checksum error | [`StatusFlag::SmartCommand`] |
//! | 3 | SMART status check returned "DISK FAILING" (NVMe: critical warning set) | [`StatusFlag::DiskFailing`] |
//! | 4 | prefail attributes are at or below their threshold | [`StatusFlag::PrefailBelowThreshold`] |
//! | 5 | status "DISK OK" but some attributes have been at or below threshold in the past | [`StatusFlag::BelowThresholdInPast`] |
//! | 6 | the device error log contains records of errors | [`StatusFlag::ErrorLog`] |
//! | 7 | the device self-test log contains records of errors | [`StatusFlag::SelfTestLog`] |
//!
//! # Raw values of ATA attributes
//!
//! smartctl gives each attribute's raw value twice: `raw.value`, the whole 48-bit raw field as a
//! number, and `raw.string`, the same field formatted as the drive database says (`"0"`,
//! `"12 (Min/Max 20/45)"`, `"2111 (12437 0)"`, `"0/0/0"`, `"1234h+56m+07.890s"`, `"0x00000a"`…).
//! Many drives pack several vendor fields into the 48 bits, so the number alone can be huge for
//! a count that is really 0. [`RawValue::count`] therefore reads, in order:
//!
//! 1. the string, when it starts with `0x`: the hexadecimal number that follows;
//! 2. the string, when it starts with decimal digits: that leading number (smartctl has already
//!    separated the packed fields, and the count comes first);
//! 3. otherwise the low 32 bits of `raw.value` (the packed vendor fields live in the upper
//!    bytes; no real sector count reaches 2³²).
//!
//! # Verdict rules
//!
//! [`SmartReport::findings`] applies this table, in this order; [`SmartReport::health`] is
//! `Failing` when any finding is failing, otherwise `Unknown` when the report holds no health
//! data at all, otherwise `Warning` when there are warnings, otherwise `Good`.
//!
//! | condition | severity | reason |
//! |---|---|---|
//! | `smart_status.passed` is false, or exit bit 3 | failing | [`HealthReason::OverallFailed`] |
//! | an ATA prefail attribute is at or below threshold now (`when_failed: "now"`) | failing | [`HealthReason::AttributeFailingNow`] |
//! | exit bit 4 and no attribute in the table explains it | failing | [`HealthReason::PrefailBelowThresholdReported`] |
//! | ATA 5 `Reallocated_Sector_Ct` > 0 | failing ("replace disk") | [`HealthReason::ReallocatedSectors`] |
//! | ATA 197 `Current_Pending_Sector` > 0 | failing | [`HealthReason::PendingSectors`] |
//! | ATA 198 `Offline_Uncorrectable` > 0 | failing | [`HealthReason::OfflineUncorrectable`] |
//! | NVMe critical warning with any bit other than "temperature" | failing | [`HealthReason::NvmeCriticalWarning`] |
//! | NVMe available spare < available spare threshold | failing | [`HealthReason::SpareBelowThreshold`] |
//! | endurance used ≥ 100 % | failing | [`HealthReason::WornOut`] |
//! | SCSI grown defect list > 0 | failing | [`HealthReason::GrownDefects`] |
//! | NVMe critical warning "temperature" only (a current condition, not damage) | warning | [`HealthReason::NvmeCriticalWarning`] |
//! | endurance used ≥ 80 % | warning | [`HealthReason::HighWear`] |
//! | ATA 187 `Reported_Uncorrect` > 0 | warning | [`HealthReason::ReportedUncorrectable`] |
//! | ATA 196 `Reallocated_Event_Count` > 0 | warning | [`HealthReason::ReallocationEvents`] |
//! | ATA 199 `UDMA_CRC_Error_Count` > 0 | warning (check the cable) | [`HealthReason::CrcErrors`] |
//! | NVMe media and data integrity errors > 0 | warning | [`HealthReason::MediaErrors`] |
//! | SCSI uncorrected read + write + verify errors > 0 | warning | [`HealthReason::UncorrectedErrors`] |
//! | an ATA old-age attribute is at or below threshold now | warning | [`HealthReason::AttributeFailingNow`] |
//! | an ATA attribute was at or below threshold in the past | warning | [`HealthReason::AttributeFailedInPast`] |
//! | exit bit 5 and no attribute in the table explains it | warning | [`HealthReason::BelowThresholdInPastReported`] |
//! | exit bit 7 (self-test log has errors) | warning | [`HealthReason::SelfTestErrors`] |
//! | health data present but no overall status | warning | [`HealthReason::OverallStatusMissing`] |
//!
//! Attribute IDs are vendor-defined; the six read here (5, 187, 196, 197, 198, 199) have the
//! conventional meaning on virtually every drive, and smartctl's name for each is kept in
//! [`AtaAttribute::name`] for display. "Endurance used" is NVMe's `percentage_used`, or
//! smartctl's own `endurance_used.current_percent` (smartctl ≥ 7.5, ATA and SCSI) when there is
//! no NVMe log.

use std::fmt;
use std::io::{self, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

/// The program [`Smartctl::new`] runs, looked up in `PATH`.
pub const DEFAULT_PROGRAM: &str = "smartctl";

/// A reasonable per-disk timeout for `smartctl -a`: a healthy disk answers in well under a
/// second, a dying one can make each failed command wait for the kernel's 30 s command timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Endurance used (percent) from which a disk is reported with [`HealthReason::HighWear`].
pub const WEAR_WARNING_PERCENT: u64 = 80;

/// Endurance used (percent) from which a disk is reported as [`HealthReason::WornOut`].
pub const WEAR_FAILING_PERCENT: u64 = 100;

/// Bytes in one NVMe "data unit": 1000 units of 512 bytes (NVMe Base Specification, SMART /
/// Health Information log, Data Units Read / Written).
pub const NVME_DATA_UNIT_BYTES: u64 = 512_000;

/// At most this much of smartctl's standard output is kept (`-x` of a disk with a long error
/// log is a few hundred KiB); the rest is read and discarded.
const MAX_OUTPUT: u64 = 16 << 20;

/// How long the output pipes may stay open after smartctl exited, at least.
const PIPE_GRACE: Duration = Duration::from_secs(1);

// ---------------------------------------------------------------------------------------------
// Report types
// ---------------------------------------------------------------------------------------------

/// What `smartctl -j -a` (or `-x`) said about one disk.
///
/// Every field is optional: smartctl omits what a device does not report, and [`parse`] treats
/// a member of the wrong type as absent.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SmartReport {
    /// smartctl's version, e.g. `"7.3"` (`smartctl.version`).
    pub smartctl_version: Option<String>,
    /// smartctl's exit status bits (`smartctl.exit_status`; [`query`] falls back to the
    /// process's exit code when the JSON lacks it).
    pub status: Option<SmartctlStatus>,
    /// smartctl's messages (`smartctl.messages`), e.g. why a device could not be opened.
    pub messages: Vec<SmartctlMessage>,
    /// Device name smartctl opened (`device.name`), e.g. `/dev/sda`.
    pub device_name: Option<String>,
    /// smartctl's device type (`device.type`): `sat`, `ata`, `nvme`, `scsi`, `usbjmicron`,
    /// `sat+megaraid,1`…
    pub device_type: Option<String>,
    /// Protocol spoken to the device (`device.protocol`).
    pub protocol: Option<Protocol>,
    /// Model family from smartctl's drive database (`model_family`), ATA only.
    pub model_family: Option<String>,
    /// Model (`model_name`, or `scsi_model_name`).
    pub model: Option<String>,
    /// Serial number (`serial_number`).
    pub serial: Option<String>,
    /// Firmware revision (`firmware_version`, or SCSI `scsi_revision` / `revision`).
    pub firmware: Option<String>,
    /// User capacity in bytes (`user_capacity.bytes`, or `nvme_total_capacity`).
    pub capacity_bytes: Option<u64>,
    /// Rotation rate (`rotation_rate`); see [`Rotation`] for how 0 is read.
    pub rotation: Option<Rotation>,
    /// Whether the device supports SMART (`smart_support.available`).
    pub smart_available: Option<bool>,
    /// Whether SMART is enabled (`smart_support.enabled`).
    pub smart_enabled: Option<bool>,
    /// The drive's overall health self-assessment (`smart_status.passed`); `None` when
    /// smartctl could not get it (unknown, not "passed").
    pub smart_passed: Option<bool>,
    /// Power-on hours (`power_on_time.hours`; else the NVMe log's; else ATA attribute 9 when
    /// it is named `Power_On_Hours`).
    pub power_on_hours: Option<u64>,
    /// Power cycles (`power_cycle_count`; else the NVMe log's).
    pub power_cycles: Option<u64>,
    /// Current temperature in °C (`temperature.current`; else the NVMe log's). A SCSI device
    /// reporting 0 °C is read as "not available" (devices without a sensor, USB bridges and
    /// RAID volumes answer 0).
    pub temperature_c: Option<i64>,
    /// Endurance used in percent: NVMe `percentage_used`, else smartctl's
    /// `endurance_used.current_percent` (smartctl ≥ 7.5), else the ATA device statistics'
    /// "Percentage Used Endurance Indicator" (page 07h), else a vendor wear attribute
    /// (see [`endurance`]). May exceed 100.
    pub endurance_used_percent: Option<u64>,
    /// Where [`SmartReport::endurance_used_percent`] came from.
    pub endurance_source: Option<String>,
    /// ATA SMART attributes, when the JSON has an attribute table.
    pub ata: Option<AtaHealth>,
    /// NVMe SMART / Health Information log, when present.
    pub nvme: Option<NvmeHealth>,
    /// SCSI health counters, when present.
    pub scsi: Option<ScsiHealth>,
}

/// Protocol smartctl used to talk to the device (`device.protocol`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// ATA, directly or through a SCSI-to-ATA translation (SAT) layer such as a USB bridge.
    Ata,
    /// NVMe.
    Nvme,
    /// SCSI (SAS disks, USB mass storage without ATA pass-through, RAID volumes).
    Scsi,
    /// Any other value smartctl may print, kept verbatim.
    Other(String),
}

/// Rotation rate of a disk.
///
/// smartctl writes `rotation_rate: 0` for "Solid State Device". For SCSI devices it also writes
/// 0 when the device does not report a rate (scsiprint.cpp), so a SCSI 0 is read as unknown, as
/// are the SCSI reserved values (2–0x400, 0xFFFF).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rotation {
    /// Non-rotating medium (SSD).
    SolidState,
    /// Nominal rotation rate in revolutions per minute.
    Rpm(u32),
}

/// smartctl's exit status bits (see the module documentation for their meaning).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SmartctlStatus(pub u8);

/// One bit of [`SmartctlStatus`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusFlag {
    /// Bit 0: the command line did not parse. smartctl also uses it when it cannot tell the
    /// device type (`Unable to detect device type`, `Unknown USB bridge`).
    CommandLine,
    /// Bit 1: device open failed, the device did not return an IDENTIFY DEVICE structure, or
    /// it is in a low-power mode.
    DeviceOpen,
    /// Bit 2: some SMART or other ATA command failed, or a SMART structure had a bad checksum.
    SmartCommand,
    /// Bit 3: the SMART status check returned "DISK FAILING".
    DiskFailing,
    /// Bit 4: prefail attributes are at or below their threshold.
    PrefailBelowThreshold,
    /// Bit 5: status "DISK OK", but some attributes were at or below threshold in the past.
    BelowThresholdInPast,
    /// Bit 6: the device error log contains records of errors.
    ErrorLog,
    /// Bit 7: the device self-test log contains records of errors.
    SelfTestLog,
}

impl StatusFlag {
    /// Every flag, from bit 0 to bit 7.
    pub const ALL: [StatusFlag; 8] = [
        StatusFlag::CommandLine,
        StatusFlag::DeviceOpen,
        StatusFlag::SmartCommand,
        StatusFlag::DiskFailing,
        StatusFlag::PrefailBelowThreshold,
        StatusFlag::BelowThresholdInPast,
        StatusFlag::ErrorLog,
        StatusFlag::SelfTestLog,
    ];

    /// The flag's bit mask in the exit status.
    pub fn mask(self) -> u8 {
        1 << (self as u8)
    }
}

impl SmartctlStatus {
    /// Whether `flag` is set.
    pub fn has(self, flag: StatusFlag) -> bool {
        self.0 & flag.mask() != 0
    }

    /// The flags that are set, from bit 0 up.
    pub fn flags(self) -> Vec<StatusFlag> {
        StatusFlag::ALL
            .into_iter()
            .filter(|f| self.has(*f))
            .collect()
    }

    /// Whether smartctl could not query the device at all: bits 0, 1 or 2.
    pub fn query_failed(self) -> bool {
        self.has(StatusFlag::CommandLine)
            || self.has(StatusFlag::DeviceOpen)
            || self.has(StatusFlag::SmartCommand)
    }
}

impl fmt::Display for SmartctlStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A message smartctl printed (`smartctl.messages[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmartctlMessage {
    /// `severity`: `information`, `warning` or `error` (empty when absent).
    pub severity: String,
    /// `string`: the message, in English.
    pub text: String,
}

/// ATA SMART attributes (`ata_smart_attributes.table`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AtaHealth {
    /// Attribute 5 (`Reallocated_Sector_Ct`): sectors remapped to spares.
    pub reallocated_sectors: Option<u64>,
    /// Attribute 187 (`Reported_Uncorrect`): errors that could not be recovered by ECC.
    pub reported_uncorrectable: Option<u64>,
    /// Attribute 196 (`Reallocated_Event_Count`): remap operations.
    pub reallocation_events: Option<u64>,
    /// Attribute 197 (`Current_Pending_Sector`): unstable sectors waiting to be remapped.
    pub pending_sectors: Option<u64>,
    /// Attribute 198 (`Offline_Uncorrectable`): sectors found unreadable by an offline scan.
    pub offline_uncorrectable: Option<u64>,
    /// Attribute 199 (`UDMA_CRC_Error_Count`): interface CRC errors (cable, connector, bridge).
    pub udma_crc_errors: Option<u64>,
    /// Every attribute of the table, in smartctl's order.
    pub attributes: Vec<AtaAttribute>,
}

/// One ATA SMART attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtaAttribute {
    /// Attribute ID (1–255).
    pub id: u8,
    /// smartctl's name for it (from its drive database), e.g. `Reallocated_Sector_Ct`.
    pub name: String,
    /// Normalized current value.
    pub value: Option<u8>,
    /// Worst normalized value seen.
    pub worst: Option<u8>,
    /// Failure threshold of the normalized value.
    pub thresh: Option<u8>,
    /// Whether it is a "pre-failure" attribute (`flags.prefailure`): at or below threshold
    /// means the drive predicts its own failure.
    pub prefailure: Option<bool>,
    /// Whether the normalized value is, or was, at or below threshold (`when_failed`).
    pub when_failed: WhenFailed,
    /// Raw value, in both of smartctl's forms.
    pub raw: RawValue,
}

/// smartctl's `when_failed` for an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenFailed {
    /// `""` or absent: never at or below threshold (or no threshold).
    #[default]
    Never,
    /// `"now"`: at or below threshold now.
    Now,
    /// `"past"`: the worst value was at or below threshold.
    Past,
}

/// An attribute's raw value as smartctl prints it: `raw.value` and `raw.string`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RawValue {
    /// `raw.value`: the whole 48-bit raw field as a number.
    pub value: Option<u64>,
    /// `raw.string`: the field formatted by smartctl's drive database.
    pub string: Option<String>,
}

impl RawValue {
    /// The count this raw value stands for (see "Raw values of ATA attributes" in the module
    /// documentation): the string's leading hexadecimal (`0x…`) or decimal number, else the low
    /// 32 bits of the number.
    pub fn count(&self) -> Option<u64> {
        if let Some(n) = self.string.as_deref().and_then(leading_number) {
            return Some(n);
        }
        self.value.map(|v| v & 0xFFFF_FFFF)
    }
}

/// Leading `0x` hexadecimal or decimal number of a string, ignoring leading spaces.
fn leading_number(s: &str) -> Option<u64> {
    let s = s.trim_start();
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        let digits: String = hex.chars().take_while(char::is_ascii_hexdigit).collect();
        return u64::from_str_radix(&digits, 16).ok();
    }
    let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// NVMe SMART / Health Information log (`nvme_smart_health_information_log`; NVMe Base
/// Specification, log page 02h).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NvmeHealth {
    /// Critical Warning bit field.
    pub critical_warning: Option<NvmeCriticalWarning>,
    /// Composite temperature in °C (smartctl converts from kelvin).
    pub temperature_c: Option<i64>,
    /// Available spare capacity, percent.
    pub available_spare: Option<u64>,
    /// Available spare threshold, percent: below it the controller raises critical warning
    /// bit 0.
    pub available_spare_threshold: Option<u64>,
    /// Vendor estimate of the life used, percent; may exceed 100 (up to 255).
    pub percentage_used: Option<u64>,
    /// Data units read (1 unit = [`NVME_DATA_UNIT_BYTES`]).
    pub data_units_read: Option<u64>,
    /// Data units written (1 unit = [`NVME_DATA_UNIT_BYTES`]).
    pub data_units_written: Option<u64>,
    /// Media and data integrity errors: unrecovered data integrity errors.
    pub media_errors: Option<u64>,
    /// Number of error information log entries over the controller's life (often large on
    /// healthy drives: many entries are rejected admin commands).
    pub num_err_log_entries: Option<u64>,
    /// Unsafe shutdowns (power lost without a shutdown notification).
    pub unsafe_shutdowns: Option<u64>,
    /// Power-on hours.
    pub power_on_hours: Option<u64>,
    /// Power cycles.
    pub power_cycles: Option<u64>,
}

impl NvmeHealth {
    /// Bytes written by the host: data units written × 512 000 (`None` when unknown or when
    /// the product does not fit in 64 bits).
    pub fn bytes_written(&self) -> Option<u64> {
        self.data_units_written?.checked_mul(NVME_DATA_UNIT_BYTES)
    }

    /// Bytes read by the host: data units read × 512 000.
    pub fn bytes_read(&self) -> Option<u64> {
        self.data_units_read?.checked_mul(NVME_DATA_UNIT_BYTES)
    }
}

/// NVMe Critical Warning bit field (NVMe Base Specification 2.0, SMART / Health Information
/// log, byte 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NvmeCriticalWarning(pub u8);

impl NvmeCriticalWarning {
    /// Bit 0: available spare has fallen below the threshold.
    pub const SPARE_BELOW_THRESHOLD: u8 = 1 << 0;
    /// Bit 1: a temperature is above an over-temperature or below an under-temperature
    /// threshold.
    pub const TEMPERATURE: u8 = 1 << 1;
    /// Bit 2: NVM subsystem reliability degraded by media-related or internal errors.
    pub const RELIABILITY_DEGRADED: u8 = 1 << 2;
    /// Bit 3: all media placed in read-only mode.
    pub const READ_ONLY: u8 = 1 << 3;
    /// Bit 4: volatile memory backup device failed.
    pub const VOLATILE_BACKUP_FAILED: u8 = 1 << 4;
    /// Bit 5: persistent memory region has become read-only or unreliable.
    pub const PMR_READ_ONLY: u8 = 1 << 5;

    /// Whether any bit is set.
    pub fn any(self) -> bool {
        self.0 != 0
    }

    /// Whether bit `mask` (one of the associated constants) is set.
    pub fn has(self, mask: u8) -> bool {
        self.0 & mask != 0
    }

    /// Whether only the temperature bit is set: a current condition, not damage.
    pub fn temperature_only(self) -> bool {
        self.0 == Self::TEMPERATURE
    }
}

/// SCSI health counters.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ScsiHealth {
    /// Elements in the grown defect list (`scsi_grown_defect_list`): blocks the drive
    /// reassigned since it left the factory.
    pub grown_defects: Option<u64>,
    /// Total uncorrected read errors (`scsi_error_counter_log.read.total_uncorrected_errors`).
    pub uncorrected_read_errors: Option<u64>,
    /// Total uncorrected write errors.
    pub uncorrected_write_errors: Option<u64>,
    /// Total uncorrected verify errors.
    pub uncorrected_verify_errors: Option<u64>,
}

impl ScsiHealth {
    /// Sum of the uncorrected read, write and verify errors that are known.
    pub fn uncorrected_errors(&self) -> Option<u64> {
        let parts = [
            self.uncorrected_read_errors,
            self.uncorrected_write_errors,
            self.uncorrected_verify_errors,
        ];
        if parts.iter().all(Option::is_none) {
            return None;
        }
        Some(
            parts
                .iter()
                .flatten()
                .fold(0u64, |a, b| a.saturating_add(*b)),
        )
    }

    fn is_empty(&self) -> bool {
        self.grown_defects.is_none() && self.uncorrected_errors().is_none()
    }
}

// ---------------------------------------------------------------------------------------------
// Verdict
// ---------------------------------------------------------------------------------------------

/// Health verdict of a disk (see "Verdict rules" in the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", content = "reasons", rename_all = "snake_case")]
pub enum DiskHealth {
    /// SMART data present and nothing to report.
    Good,
    /// Usable, with reasons to watch it (every warning finding).
    Warning(Vec<HealthReason>),
    /// Replace the disk (every failing finding).
    Failing(Vec<HealthReason>),
    /// No health data: why.
    Unknown(UnknownReason),
}

/// How serious a [`Finding`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth noting; the disk can be used.
    Warning,
    /// Replace the disk.
    Failing,
}

/// One result of the rule table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// How serious it is.
    pub severity: Severity,
    /// What was found.
    pub reason: HealthReason,
}

/// Why a disk is [`DiskHealth::Warning`] or [`DiskHealth::Failing`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum HealthReason {
    /// The drive's overall self-assessment failed (`smart_status.passed: false`, or smartctl
    /// exit bit 3).
    OverallFailed,
    /// An ATA attribute's normalized value is at or below its threshold now.
    AttributeFailingNow {
        /// Attribute ID.
        id: u8,
        /// smartctl's name for it.
        name: String,
        /// Whether it is a pre-failure attribute (failing) or an old-age one (warning).
        prefailure: bool,
    },
    /// An ATA attribute's normalized value was at or below its threshold in the past.
    AttributeFailedInPast {
        /// Attribute ID.
        id: u8,
        /// smartctl's name for it.
        name: String,
    },
    /// smartctl's exit bit 4 (prefail attributes at or below threshold) with no attribute
    /// table showing which.
    PrefailBelowThresholdReported,
    /// smartctl's exit bit 5 (attributes below threshold in the past) with no attribute table
    /// showing which.
    BelowThresholdInPastReported,
    /// ATA attribute 5: reallocated sectors.
    ReallocatedSectors {
        /// Count.
        count: u64,
    },
    /// ATA attribute 197: pending (unstable) sectors.
    PendingSectors {
        /// Count.
        count: u64,
    },
    /// ATA attribute 198: offline uncorrectable sectors.
    OfflineUncorrectable {
        /// Count.
        count: u64,
    },
    /// ATA attribute 187: reported uncorrectable errors.
    ReportedUncorrectable {
        /// Count.
        count: u64,
    },
    /// ATA attribute 196: reallocation events.
    ReallocationEvents {
        /// Count.
        count: u64,
    },
    /// ATA attribute 199: interface CRC errors; usually a cable or connector, not the disk.
    CrcErrors {
        /// Count.
        count: u64,
    },
    /// NVMe critical warning bits are set.
    NvmeCriticalWarning {
        /// The bit field.
        flags: NvmeCriticalWarning,
    },
    /// NVMe available spare fell below its threshold.
    SpareBelowThreshold {
        /// Available spare, percent.
        available: u64,
        /// Threshold, percent.
        threshold: u64,
    },
    /// Endurance used reached [`WEAR_FAILING_PERCENT`].
    WornOut {
        /// Endurance used, percent.
        percentage_used: u64,
    },
    /// Endurance used reached [`WEAR_WARNING_PERCENT`].
    HighWear {
        /// Endurance used, percent.
        percentage_used: u64,
    },
    /// NVMe media and data integrity errors.
    MediaErrors {
        /// Count.
        count: u64,
    },
    /// SCSI grown defect list entries.
    GrownDefects {
        /// Count.
        count: u64,
    },
    /// SCSI uncorrected read, write and verify errors.
    UncorrectedErrors {
        /// Count.
        count: u64,
    },
    /// The self-test log records errors (smartctl exit bit 7).
    SelfTestErrors,
    /// There is health data but no overall self-assessment.
    OverallStatusMissing,
}

/// Why a disk's health is [`DiskHealth::Unknown`], in the order they are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownReason {
    /// smartctl could not open the device (exit bit 1): gone, permission, low-power mode, or a
    /// bridge that does not pass the commands through.
    DeviceOpenFailed,
    /// smartctl could not tell which kind of device it is (exit bit 0), e.g. an unknown USB
    /// bridge or a virtual disk.
    DeviceTypeNotDetected,
    /// The device has no SMART (`smart_support.available: false`).
    SmartUnsupported,
    /// SMART is disabled on the device (`smart_support.enabled: false`).
    SmartDisabled,
    /// SMART commands failed (exit bit 2).
    SmartCommandFailed,
    /// The output holds no health data, for no stated reason.
    NoHealthData,
    /// smartctl is not installed ([`SmartError::SmartctlMissing`]).
    SmartctlMissing,
    /// smartctl could not be started ([`SmartError::Spawn`]).
    SmartctlFailed,
    /// smartctl did not answer in time ([`SmartError::Timeout`]).
    Timeout,
    /// smartctl's output could not be read ([`SmartError::Parse`]).
    UnreadableOutput,
}

impl SmartReport {
    /// Whether the report holds any health data: an overall status, ATA attributes, an NVMe
    /// log, SCSI counters or an endurance figure.
    pub fn has_health_data(&self) -> bool {
        self.smart_passed.is_some()
            || self.ata.as_ref().is_some_and(|a| !a.attributes.is_empty())
            || self.nvme.is_some()
            || self.scsi.is_some()
            || self.endurance_used_percent.is_some()
    }

    /// The results of the rule table, in its order (see the module documentation).
    pub fn findings(&self) -> Vec<Finding> {
        let mut failing = Vec::new();
        let mut warning = Vec::new();
        let status = self.status.unwrap_or_default();

        if self.smart_passed == Some(false) || status.has(StatusFlag::DiskFailing) {
            failing.push(HealthReason::OverallFailed);
        }

        let attributes = self
            .ata
            .as_ref()
            .map(|a| a.attributes.as_slice())
            .unwrap_or(&[]);
        let mut prefail_now = false;
        let mut any_past = false;
        for a in attributes {
            match a.when_failed {
                WhenFailed::Now => {
                    let prefailure = a.prefailure.unwrap_or(false);
                    let reason = HealthReason::AttributeFailingNow {
                        id: a.id,
                        name: a.name.clone(),
                        prefailure,
                    };
                    if prefailure {
                        prefail_now = true;
                        failing.push(reason);
                    } else {
                        warning.push(reason);
                    }
                }
                WhenFailed::Past => {
                    any_past = true;
                    warning.push(HealthReason::AttributeFailedInPast {
                        id: a.id,
                        name: a.name.clone(),
                    });
                }
                WhenFailed::Never => {}
            }
        }
        if status.has(StatusFlag::PrefailBelowThreshold) && !prefail_now {
            failing.push(HealthReason::PrefailBelowThresholdReported);
        }

        if let Some(ata) = &self.ata {
            let nonzero = |v: Option<u64>| v.filter(|n| *n > 0);
            if let Some(count) = nonzero(ata.reallocated_sectors) {
                failing.push(HealthReason::ReallocatedSectors { count });
            }
            if let Some(count) = nonzero(ata.pending_sectors) {
                failing.push(HealthReason::PendingSectors { count });
            }
            if let Some(count) = nonzero(ata.offline_uncorrectable) {
                failing.push(HealthReason::OfflineUncorrectable { count });
            }
            if let Some(count) = nonzero(ata.reported_uncorrectable) {
                warning.push(HealthReason::ReportedUncorrectable { count });
            }
            if let Some(count) = nonzero(ata.reallocation_events) {
                warning.push(HealthReason::ReallocationEvents { count });
            }
            if let Some(count) = nonzero(ata.udma_crc_errors) {
                warning.push(HealthReason::CrcErrors { count });
            }
        }

        if let Some(nvme) = &self.nvme {
            if let Some(flags) = nvme.critical_warning.filter(|w| w.any()) {
                let reason = HealthReason::NvmeCriticalWarning { flags };
                if flags.temperature_only() {
                    warning.push(reason);
                } else {
                    failing.push(reason);
                }
            }
            if let (Some(available), Some(threshold)) =
                (nvme.available_spare, nvme.available_spare_threshold)
                && available < threshold
            {
                failing.push(HealthReason::SpareBelowThreshold {
                    available,
                    threshold,
                });
            }
            if let Some(count) = nvme.media_errors.filter(|n| *n > 0) {
                warning.push(HealthReason::MediaErrors { count });
            }
        }

        if let Some(percentage_used) = self.endurance_used_percent {
            if percentage_used >= WEAR_FAILING_PERCENT {
                failing.push(HealthReason::WornOut { percentage_used });
            } else if percentage_used >= WEAR_WARNING_PERCENT {
                warning.push(HealthReason::HighWear { percentage_used });
            }
        }

        if let Some(scsi) = &self.scsi {
            if let Some(count) = scsi.grown_defects.filter(|n| *n > 0) {
                failing.push(HealthReason::GrownDefects { count });
            }
            if let Some(count) = scsi.uncorrected_errors().filter(|n| *n > 0) {
                warning.push(HealthReason::UncorrectedErrors { count });
            }
        }

        if status.has(StatusFlag::BelowThresholdInPast) && !any_past {
            warning.push(HealthReason::BelowThresholdInPastReported);
        }
        if status.has(StatusFlag::SelfTestLog) {
            warning.push(HealthReason::SelfTestErrors);
        }
        if self.smart_passed.is_none() && self.has_health_data() {
            warning.push(HealthReason::OverallStatusMissing);
        }

        let failing = failing.into_iter().map(|reason| Finding {
            severity: Severity::Failing,
            reason,
        });
        let warning = warning.into_iter().map(|reason| Finding {
            severity: Severity::Warning,
            reason,
        });
        failing.chain(warning).collect()
    }

    /// The verdict: `Failing` when any finding is failing; else `Unknown` when there is no
    /// health data; else `Warning` when there are warnings; else `Good`.
    pub fn health(&self) -> DiskHealth {
        let findings = self.findings();
        let of = |severity: Severity| -> Vec<HealthReason> {
            findings
                .iter()
                .filter(|f| f.severity == severity)
                .map(|f| f.reason.clone())
                .collect()
        };
        let failing = of(Severity::Failing);
        if !failing.is_empty() {
            return DiskHealth::Failing(failing);
        }
        if !self.has_health_data() {
            return DiskHealth::Unknown(self.unknown_reason());
        }
        let warning = of(Severity::Warning);
        if warning.is_empty() {
            DiskHealth::Good
        } else {
            DiskHealth::Warning(warning)
        }
    }

    fn unknown_reason(&self) -> UnknownReason {
        let status = self.status.unwrap_or_default();
        if status.has(StatusFlag::DeviceOpen) {
            UnknownReason::DeviceOpenFailed
        } else if status.has(StatusFlag::CommandLine) {
            UnknownReason::DeviceTypeNotDetected
        } else if self.smart_available == Some(false) {
            UnknownReason::SmartUnsupported
        } else if self.smart_enabled == Some(false) {
            UnknownReason::SmartDisabled
        } else if status.has(StatusFlag::SmartCommand) {
            UnknownReason::SmartCommandFailed
        } else {
            UnknownReason::NoHealthData
        }
    }

    /// smartctl's message texts, in order.
    pub fn message_texts(&self) -> Vec<String> {
        self.messages.iter().map(|m| m.text.clone()).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/// Parses the output of `smartctl -j -a` or `smartctl -j -x` (smartctl ≥ 7.0).
///
/// Pure and total: members that are missing or of the wrong type are absent from the report.
/// Errors only when the input is not JSON, not a JSON object, or an object with none of
/// smartctl's top-level members (`json_format_version`, `smartctl`, `device`).
pub fn parse(json: &[u8]) -> Result<SmartReport, SmartError> {
    let root: Value = serde_json::from_slice(json).map_err(|e| SmartError::Parse {
        device: None,
        detail: format!("not JSON: {e}"),
    })?;
    let Some(top) = root.as_object() else {
        return Err(SmartError::Parse {
            device: None,
            detail: "the JSON is not an object".into(),
        });
    };
    if !["json_format_version", "smartctl", "device"]
        .iter()
        .any(|k| top.contains_key(*k))
    {
        return Err(SmartError::Parse {
            device: None,
            detail: "not smartctl output: no `json_format_version`, `smartctl` or `device` member"
                .into(),
        });
    }
    Ok(report_from(&root))
}

fn at<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    keys.iter().try_fold(v, |v, k| v.as_object()?.get(*k))
}

fn u64_at(v: &Value, keys: &[&str]) -> Option<u64> {
    at(v, keys)?.as_u64()
}

fn i64_at(v: &Value, keys: &[&str]) -> Option<i64> {
    at(v, keys)?.as_i64()
}

fn u8_at(v: &Value, keys: &[&str]) -> Option<u8> {
    u8::try_from(u64_at(v, keys)?).ok()
}

fn bool_at(v: &Value, keys: &[&str]) -> Option<bool> {
    at(v, keys)?.as_bool()
}

fn string_at(v: &Value, keys: &[&str]) -> Option<String> {
    let s = at(v, keys)?.as_str()?.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

fn report_from(root: &Value) -> SmartReport {
    let protocol =
        string_at(root, &["device", "protocol"]).map(|p| match p.to_ascii_lowercase().as_str() {
            "ata" => Protocol::Ata,
            "nvme" => Protocol::Nvme,
            "scsi" => Protocol::Scsi,
            _ => Protocol::Other(p),
        });
    let is_scsi = protocol == Some(Protocol::Scsi);

    let smartctl_version = at(root, &["smartctl", "version"])
        .and_then(Value::as_array)
        .and_then(|parts| {
            let nums: Option<Vec<String>> = parts
                .iter()
                .map(|p| p.as_u64().map(|n| n.to_string()))
                .collect();
            nums.filter(|n| !n.is_empty()).map(|n| n.join("."))
        });
    let status = u8_at(root, &["smartctl", "exit_status"]).map(SmartctlStatus);
    let messages = at(root, &["smartctl", "messages"])
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|m| {
                    Some(SmartctlMessage {
                        text: m.as_object()?.get("string")?.as_str()?.to_owned(),
                        severity: string_at(m, &["severity"]).unwrap_or_default(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();

    // `smart_support` is an object in every smartctl release; a bare boolean has been seen in
    // third-party tooling output and is read as "available".
    let (smart_available, smart_enabled) = match at(root, &["smart_support"]) {
        Some(Value::Bool(b)) => (Some(*b), None),
        Some(v) => (bool_at(v, &["available"]), bool_at(v, &["enabled"])),
        None => (None, None),
    };

    let rotation = u64_at(root, &["rotation_rate"]).and_then(|rpm| {
        let rpm = u32::try_from(rpm).ok()?;
        if is_scsi {
            (rpm > 0x400 && rpm != 0xFFFF).then_some(Rotation::Rpm(rpm))
        } else if rpm == 0 || rpm == 1 {
            Some(Rotation::SolidState)
        } else {
            Some(Rotation::Rpm(rpm))
        }
    });

    let ata = ata_from(root);
    let nvme = nvme_from(root);
    let scsi = Some(ScsiHealth {
        grown_defects: u64_at(root, &["scsi_grown_defect_list"]),
        uncorrected_read_errors: u64_at(
            root,
            &["scsi_error_counter_log", "read", "total_uncorrected_errors"],
        ),
        uncorrected_write_errors: u64_at(
            root,
            &[
                "scsi_error_counter_log",
                "write",
                "total_uncorrected_errors",
            ],
        ),
        uncorrected_verify_errors: u64_at(
            root,
            &[
                "scsi_error_counter_log",
                "verify",
                "total_uncorrected_errors",
            ],
        ),
    })
    .filter(|s| !s.is_empty());

    let power_on_hours = u64_at(root, &["power_on_time", "hours"])
        .or_else(|| nvme.as_ref().and_then(|n| n.power_on_hours))
        .or_else(|| {
            let attr = ata.as_ref()?.attributes.iter().find(|a| a.id == 9)?;
            (attr.name == "Power_On_Hours")
                .then(|| attr.raw.count())
                .flatten()
        });
    let power_cycles =
        u64_at(root, &["power_cycle_count"]).or_else(|| nvme.as_ref().and_then(|n| n.power_cycles));
    let temperature_c = i64_at(root, &["temperature", "current"])
        .filter(|t| !(is_scsi && *t == 0))
        .or_else(|| nvme.as_ref().and_then(|n| n.temperature_c));
    let (endurance_used_percent, endurance_source) = endurance(root, nvme.as_ref(), ata.as_ref())
        .map_or((None, None), |(p, src)| (Some(p), Some(src)));

    SmartReport {
        smartctl_version,
        status,
        messages,
        device_name: string_at(root, &["device", "name"]),
        device_type: string_at(root, &["device", "type"]),
        protocol,
        model_family: string_at(root, &["model_family"]),
        model: string_at(root, &["model_name"]).or_else(|| string_at(root, &["scsi_model_name"])),
        serial: string_at(root, &["serial_number"]),
        firmware: string_at(root, &["firmware_version"])
            .or_else(|| string_at(root, &["scsi_revision"]))
            .or_else(|| string_at(root, &["revision"])),
        capacity_bytes: u64_at(root, &["user_capacity", "bytes"])
            .or_else(|| u64_at(root, &["nvme_total_capacity"])),
        rotation,
        smart_available,
        smart_enabled,
        smart_passed: bool_at(root, &["smart_status", "passed"]),
        power_on_hours,
        power_cycles,
        temperature_c,
        endurance_used_percent,
        endurance_source,
        ata,
        nvme,
        scsi,
    }
}

/// SSD wear attributes whose *normalized* value is the life remaining in percent (100 when
/// new), recognised only under smartctl's drive-database name for that ID, since attribute
/// IDs are vendor-defined: 231 `SSD_Life_Left` (several SandForce/Kingston/ADATA drives),
/// 233 `Media_Wearout_Indicator` (Intel), 177 `Wear_Leveling_Count` (Samsung),
/// 202 `Percent_Lifetime_Remain` (Crucial/Micron).
const WEAR_ATTRIBUTES: [(u8, &str); 4] = [
    (231, "SSD_Life_Left"),
    (233, "Media_Wearout_Indicator"),
    (177, "Wear_Leveling_Count"),
    (202, "Percent_Lifetime_Remain"),
];

/// Endurance used, in percent, with where it came from. In order of trust:
///
/// 1. NVMe SMART / Health log `percentage_used` (NVM Express Base §5.16.1.3);
/// 2. smartctl's own `endurance_used.current_percent` (smartctl ≥ 7.5);
/// 3. ATA Device Statistics page 07h "Solid State Device Statistics", offset 08h
///    "Percentage Used Endurance Indicator" (ACS-3 §9.10.8), when its flags say valid — in
///    smartctl's JSON under `ata_device_statistics.pages` (asked with `-l devstat`), which
///    smartctl before 7.5 does not summarise;
/// 4. a vendor wear attribute of [`WEAR_ATTRIBUTES`]: 100 − its normalized value, when that
///    value is between 1 and 100.
pub fn endurance(
    root: &Value,
    nvme: Option<&NvmeHealth>,
    ata: Option<&AtaHealth>,
) -> Option<(u64, String)> {
    if let Some(p) = nvme.and_then(|n| n.percentage_used) {
        return Some((p, "nvme percentage_used".into()));
    }
    if let Some(p) = u64_at(root, &["endurance_used", "current_percent"]) {
        return Some((p, "smartctl endurance_used".into()));
    }
    let devstat = at(root, &["ata_device_statistics", "pages"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|page| u64_at(page, &["number"]) == Some(7))
        .filter_map(|page| at(page, &["table"]).and_then(Value::as_array))
        .flatten()
        .find(|entry| u64_at(entry, &["offset"]) == Some(8))
        .filter(|entry| bool_at(entry, &["flags", "valid"]) != Some(false))
        .and_then(|entry| u64_at(entry, &["value"]));
    if let Some(p) = devstat {
        return Some((p, "ata device statistics 07h/08h".into()));
    }
    let attributes = &ata?.attributes;
    WEAR_ATTRIBUTES.iter().find_map(|(id, name)| {
        let attr = attributes.iter().find(|a| a.id == *id && a.name == *name)?;
        let value = attr.value.filter(|v| (1..=100).contains(v))?;
        Some((
            100 - u64::from(value),
            format!("ata attribute {id} {name} (normalized {value})"),
        ))
    })
}

fn ata_from(root: &Value) -> Option<AtaHealth> {
    let table = at(root, &["ata_smart_attributes", "table"])?.as_array()?;
    let mut attributes: Vec<AtaAttribute> = Vec::with_capacity(table.len());
    for entry in table {
        let Some(id) = u8_at(entry, &["id"]) else {
            continue;
        };
        if attributes.iter().any(|a| a.id == id) {
            continue;
        }
        let when_failed = match at(entry, &["when_failed"]).and_then(Value::as_str) {
            Some("now") => WhenFailed::Now,
            Some("past") => WhenFailed::Past,
            _ => WhenFailed::Never,
        };
        attributes.push(AtaAttribute {
            id,
            name: string_at(entry, &["name"]).unwrap_or_default(),
            value: u8_at(entry, &["value"]),
            worst: u8_at(entry, &["worst"]),
            thresh: u8_at(entry, &["thresh"]),
            prefailure: bool_at(entry, &["flags", "prefailure"]),
            when_failed,
            raw: RawValue {
                value: u64_at(entry, &["raw", "value"]),
                string: at(entry, &["raw", "string"])
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            },
        });
    }
    let count = |id: u8| {
        attributes
            .iter()
            .find(|a| a.id == id)
            .and_then(|a| a.raw.count())
    };
    Some(AtaHealth {
        reallocated_sectors: count(5),
        reported_uncorrectable: count(187),
        reallocation_events: count(196),
        pending_sectors: count(197),
        offline_uncorrectable: count(198),
        udma_crc_errors: count(199),
        attributes,
    })
}

fn nvme_from(root: &Value) -> Option<NvmeHealth> {
    let log = at(root, &["nvme_smart_health_information_log"])?;
    log.as_object()?;
    Some(NvmeHealth {
        critical_warning: u8_at(log, &["critical_warning"]).map(NvmeCriticalWarning),
        temperature_c: i64_at(log, &["temperature"]),
        available_spare: u64_at(log, &["available_spare"]),
        available_spare_threshold: u64_at(log, &["available_spare_threshold"]),
        percentage_used: u64_at(log, &["percentage_used"]),
        data_units_read: u64_at(log, &["data_units_read"]),
        data_units_written: u64_at(log, &["data_units_written"]),
        media_errors: u64_at(log, &["media_errors"]),
        num_err_log_entries: u64_at(log, &["num_err_log_entries"]),
        unsafe_shutdowns: u64_at(log, &["unsafe_shutdowns"]),
        power_on_hours: u64_at(log, &["power_on_hours"]),
        power_cycles: u64_at(log, &["power_cycles"]),
    })
}

// ---------------------------------------------------------------------------------------------
// Running smartctl
// ---------------------------------------------------------------------------------------------

/// Why a disk's SMART data could not be had.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SmartError {
    /// The smartctl program does not exist.
    #[error(
        "smartctl not found (`{}`): install the Debian package smartmontools \
         (apt-get install smartmontools)",
        program.display()
    )]
    SmartctlMissing {
        /// The program that was looked for.
        program: PathBuf,
    },
    /// smartctl exists but could not be started, or waited for.
    #[error("could not run `{}`: {source}", program.display())]
    Spawn {
        /// The program.
        program: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// smartctl did not finish in time; it was killed.
    #[error("smartctl did not answer for {} within {timeout:?}; it was stopped", device.display())]
    Timeout {
        /// The device queried.
        device: PathBuf,
        /// The timeout that expired.
        timeout: Duration,
    },
    /// smartctl could not query the device (exit bit 1, or bit 0 / 2 with nothing identified).
    #[error(
        "{}: smartctl could not query this device (exit status {status}){}",
        device.display(),
        join_messages(messages)
    )]
    DeviceNotSupported {
        /// The device queried.
        device: PathBuf,
        /// smartctl's exit status bits.
        status: SmartctlStatus,
        /// smartctl's messages (from the JSON), e.g. `Unknown USB bridge [0x46f4:0x0001]`.
        messages: Vec<String>,
    },
    /// The output is not smartctl JSON.
    #[error("{}smartctl output is not usable: {detail}", device_prefix(device))]
    Parse {
        /// The device queried, when known.
        device: Option<PathBuf>,
        /// What is wrong with it.
        detail: String,
    },
}

impl SmartError {
    /// Why the disk's health is unknown when its query ended with this error, so that an
    /// inventory can still list the disk with [`DiskHealth::Unknown`].
    pub fn unknown_reason(&self) -> UnknownReason {
        match self {
            SmartError::SmartctlMissing { .. } => UnknownReason::SmartctlMissing,
            SmartError::Spawn { .. } => UnknownReason::SmartctlFailed,
            SmartError::Timeout { .. } => UnknownReason::Timeout,
            SmartError::Parse { .. } => UnknownReason::UnreadableOutput,
            SmartError::DeviceNotSupported { status, .. } => {
                if status.has(StatusFlag::DeviceOpen) {
                    UnknownReason::DeviceOpenFailed
                } else if status.has(StatusFlag::CommandLine) {
                    UnknownReason::DeviceTypeNotDetected
                } else {
                    UnknownReason::SmartCommandFailed
                }
            }
        }
    }
}

/// The verdict for a query's result: the report's [`SmartReport::health`], or
/// [`DiskHealth::Unknown`] with the error's [`SmartError::unknown_reason`].
pub fn health_of(result: &Result<SmartReport, SmartError>) -> DiskHealth {
    match result {
        Ok(report) => report.health(),
        Err(e) => DiskHealth::Unknown(e.unknown_reason()),
    }
}

fn join_messages(messages: &[String]) -> String {
    if messages.is_empty() {
        String::new()
    } else {
        format!(": {}", messages.join("; "))
    }
}

fn device_prefix(device: &Option<PathBuf>) -> String {
    device
        .as_ref()
        .map(|d| format!("{}: ", d.display()))
        .unwrap_or_default()
}

/// How to run smartctl: which program, `-a` or `-x`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smartctl {
    program: PathBuf,
    extended: bool,
}

impl Default for Smartctl {
    fn default() -> Self {
        Self::new()
    }
}

impl Smartctl {
    /// `smartctl` from `PATH`, with `-a`.
    pub fn new() -> Self {
        Smartctl {
            program: PathBuf::from(DEFAULT_PROGRAM),
            extended: false,
        }
    }

    /// Runs `program` instead (a path, or a name looked up in `PATH`).
    pub fn program(mut self, program: impl Into<PathBuf>) -> Self {
        self.program = program.into();
        self
    }

    /// Asks for everything (`-x`: adds the extended logs, device statistics, SCT status)
    /// instead of `-a`.
    pub fn extended(mut self, extended: bool) -> Self {
        self.extended = extended;
        self
    }

    /// The arguments given to the program for `device`. ATA and SCSI disks (anything not
    /// named `nvme…`) also get `-l devstat`: `-a` leaves out the ATA Device Statistics, where
    /// SATA SSDs report their wear (`-x` includes them).
    pub fn args(&self, device: &Path) -> Vec<std::ffi::OsString> {
        let nvme = device
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("nvme"));
        let mut args: Vec<std::ffi::OsString> =
            vec!["-j".into(), if self.extended { "-x" } else { "-a" }.into()];
        if !self.extended && !nvme {
            args.extend(["-l".into(), "devstat".into()]);
        }
        args.push(device.as_os_str().to_owned());
        args
    }

    /// Queries one device, waiting at most `timeout` (then smartctl and anything it started are
    /// killed).
    ///
    /// The JSON is parsed whatever smartctl's exit code; its status bits land in
    /// [`SmartReport::status`]. The result is [`SmartError::DeviceNotSupported`] when smartctl
    /// could not open the device (bit 1), or failed (bits 0, 2) without identifying it.
    pub fn query(&self, device: &Path, timeout: Duration) -> Result<SmartReport, SmartError> {
        let out = self.run(device, timeout)?;
        let text = String::from_utf8_lossy(&out.stdout);
        if text.trim().is_empty() {
            return Err(SmartError::Parse {
                device: Some(device.to_owned()),
                detail: format!(
                    "no output (exit status {}){}",
                    describe_exit(out.status),
                    first_line(&out.stderr)
                ),
            });
        }
        let mut report = parse(&out.stdout).map_err(|e| match e {
            SmartError::Parse { detail, .. } => SmartError::Parse {
                device: Some(device.to_owned()),
                detail: format!(
                    "{detail} (exit status {}; smartctl 7.0 or later is needed for -j){}",
                    describe_exit(out.status),
                    first_line(&out.stderr)
                ),
            },
            other => other,
        })?;
        if report.status.is_none() {
            report.status = out
                .status
                .code()
                .and_then(|c| u8::try_from(c).ok())
                .map(SmartctlStatus);
        }
        usable(device, report)
    }

    /// Queries every device concurrently (one thread each), each with its own `timeout`.
    /// Results come back in the order of `devices`.
    pub fn query_all(
        &self,
        devices: &[PathBuf],
        timeout: Duration,
    ) -> Vec<(PathBuf, Result<SmartReport, SmartError>)> {
        thread::scope(|scope| {
            let handles: Vec<_> = devices
                .iter()
                .map(|device| scope.spawn(move || self.query(device, timeout)))
                .collect();
            devices
                .iter()
                .zip(handles)
                .map(|(device, handle)| {
                    let result = match handle.join() {
                        Ok(result) => result,
                        Err(panic) => std::panic::resume_unwind(panic),
                    };
                    (device.clone(), result)
                })
                .collect()
        })
    }

    /// Runs the query for `device` like [`Smartctl::query`] (same arguments and timeout) and
    /// returns smartctl's standard output as it is, whatever the exit code: the JSON that
    /// `atelier inventory capture` saves for [`parse`] to read later.
    pub fn raw_output(&self, device: &Path, timeout: Duration) -> Result<Vec<u8>, SmartError> {
        Ok(self.run(device, timeout)?.stdout)
    }

    fn run(&self, device: &Path, timeout: Duration) -> Result<Output, SmartError> {
        let spawn_error = |source: io::Error| {
            if source.kind() == io::ErrorKind::NotFound {
                SmartError::SmartctlMissing {
                    program: self.program.clone(),
                }
            } else {
                SmartError::Spawn {
                    program: self.program.clone(),
                    source,
                }
            }
        };
        let started = Instant::now();
        let deadline = started.checked_add(timeout);
        let mut child = Command::new(&self.program)
            .args(self.args(device))
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so that a timeout kills whatever it started too.
            .process_group(0)
            .spawn()
            .map_err(spawn_error)?;

        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        let (stdout, stderr) = match (stdout, stderr) {
            (Ok(o), Ok(e)) => (o, e),
            (Err(source), _) | (_, Err(source)) => {
                stop(child);
                return Err(SmartError::Spawn {
                    program: self.program.clone(),
                    source,
                });
            }
        };

        let mut pause = Duration::from_millis(1);
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) => {}
                Err(source) => {
                    stop(child);
                    return Err(SmartError::Spawn {
                        program: self.program.clone(),
                        source,
                    });
                }
            }
            let now = Instant::now();
            let left = match deadline {
                Some(d) if now >= d => {
                    stop(child);
                    return Err(SmartError::Timeout {
                        device: device.to_owned(),
                        timeout,
                    });
                }
                Some(d) => d - now,
                None => Duration::MAX,
            };
            thread::sleep(pause.min(left));
            pause = (pause * 2).min(Duration::from_millis(50));
        };

        // smartctl has exited; its pipes close unless something it started still holds them.
        let left = deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
            .unwrap_or(Duration::MAX)
            .max(PIPE_GRACE);
        let wait_until = Instant::now().checked_add(left);
        let collect = |rx: mpsc::Receiver<Vec<u8>>| {
            let left = wait_until
                .map(|w| w.saturating_duration_since(Instant::now()))
                .unwrap_or(Duration::MAX);
            rx.recv_timeout(left).ok()
        };
        let (Some(stdout), Some(stderr)) = (collect(stdout), collect(stderr)) else {
            // A process of smartctl's group still holds the pipes: the group still exists, so
            // its ID cannot have been reused.
            kill_group(child.id());
            return Err(SmartError::Timeout {
                device: device.to_owned(),
                timeout,
            });
        };
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }
}

struct Output {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// Reads a pipe to its end on a thread (keeping at most [`MAX_OUTPUT`] bytes) and sends what
/// it read.
fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> io::Result<mpsc::Receiver<Vec<u8>>> {
    let (tx, rx) = mpsc::channel();
    match pipe {
        None => {
            let _ = tx.send(Vec::new());
        }
        Some(pipe) => {
            thread::Builder::new()
                .name("smartctl-output".into())
                .spawn(move || {
                    let mut pipe = pipe;
                    let mut kept = Vec::new();
                    let _ = pipe.by_ref().take(MAX_OUTPUT).read_to_end(&mut kept);
                    let _ = io::copy(&mut pipe, &mut io::sink());
                    let _ = tx.send(kept);
                })?;
        }
    }
    Ok(rx)
}

/// Kills a child that has not been reaped (so its ID and process group ID are still its own)
/// and everything in its process group, then reaps it on a background thread: a process stuck
/// in uninterruptible I/O on a dying disk may take long to go, and the caller must not wait.
fn stop(mut child: Child) {
    kill_group(child.id());
    let _ = child.kill();
    let _ = thread::Builder::new()
        .name("smartctl-reaper".into())
        .spawn(move || {
            let _ = child.wait();
        });
}

fn kill_group(pid: u32) {
    if let Ok(pid) = i32::try_from(pid) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

fn describe_exit(status: ExitStatus) -> String {
    match status.code() {
        Some(code) => code.to_string(),
        None => format!("{status}"),
    }
}

fn first_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    match text.lines().map(str::trim).find(|l| !l.is_empty()) {
        Some(line) => format!(": {line}"),
        None => String::new(),
    }
}

/// Whether a parsed report of `device` is an answer about the device or smartctl saying it
/// could not query it (could not open it, or failed without identifying it and without
/// health data): the same judgement for a live query and for an output saved by
/// `atelier inventory capture`.
pub fn usable(device: &Path, report: SmartReport) -> Result<SmartReport, SmartError> {
    let status = report.status.unwrap_or_default();
    let identified = report.model.is_some() || report.serial.is_some();
    if status.has(StatusFlag::DeviceOpen)
        || (status.query_failed() && !identified && !report.has_health_data())
    {
        return Err(SmartError::DeviceNotSupported {
            device: device.to_owned(),
            status,
            messages: report.message_texts(),
        });
    }
    Ok(report)
}

/// Runs `smartctl -j -a DEVICE` (from `PATH`) with a timeout: [`Smartctl::query`].
pub fn query(device: &Path, timeout: Duration) -> Result<SmartReport, SmartError> {
    Smartctl::new().query(device, timeout)
}

/// Runs `smartctl -j -a` on every device concurrently: [`Smartctl::query_all`].
pub fn query_all(
    devices: &[PathBuf],
    timeout: Duration,
) -> Vec<(PathBuf, Result<SmartReport, SmartError>)> {
    Smartctl::new().query_all(devices, timeout)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(json: &str) -> SmartReport {
        parse(json.as_bytes()).expect("parses")
    }

    fn raw(value: Option<u64>, string: Option<&str>) -> RawValue {
        RawValue {
            value,
            string: string.map(str::to_owned),
        }
    }

    /// An ATA report with one attribute.
    fn ata_with(id: u8, name: &str, raw_json: &str, extra: &str) -> SmartReport {
        report(&format!(
            r#"{{"smartctl": {{"exit_status": 0}},
                "device": {{"name": "/dev/sda", "type": "sat", "protocol": "ATA"}},
                "smart_status": {{"passed": true}},
                "ata_smart_attributes": {{"table": [
                  {{"id": {id}, "name": "{name}", "value": 100, "worst": 100, "thresh": 10,
                    "when_failed": "", "flags": {{"prefailure": true}}, "raw": {raw_json}}}
                ]}} {extra} }}"#
        ))
    }

    #[test]
    fn raw_count_reads_the_string_forms() {
        assert_eq!(raw(Some(0), Some("0")).count(), Some(0));
        assert_eq!(
            raw(Some(522_125_343), Some("31 (Min/Max 31/31)")).count(),
            Some(31)
        );
        assert_eq!(raw(None, Some("12 (Min/Max 20/45)")).count(), Some(12));
        assert_eq!(raw(None, Some("0/0/0")).count(), Some(0));
        assert_eq!(raw(None, Some("3/0/7")).count(), Some(3));
        assert_eq!(raw(None, Some("1234h+56m+07.890s")).count(), Some(1234));
        assert_eq!(
            raw(Some(53_416_508_262_463), Some("2111 (12437 0)")).count(),
            Some(2111)
        );
        assert_eq!(raw(None, Some("0x00000000000a")).count(), Some(10));
        assert_eq!(raw(None, Some("  42")).count(), Some(42));
    }

    #[test]
    fn raw_count_falls_back_to_the_low_32_bits() {
        // "2725 (151 234 0)" packed: the count in the low bytes, vendor fields above.
        assert_eq!(raw(Some(0x97EA_0000_0AA5), None).count(), Some(2725));
        assert_eq!(raw(Some(7), Some("")).count(), Some(7));
        assert_eq!(raw(Some(7), Some("n/a")).count(), Some(7));
        assert_eq!(raw(None, Some("n/a")).count(), None);
        assert_eq!(raw(None, None).count(), None);
        // A decimal string too long for u64 falls back to the number.
        assert_eq!(
            raw(Some(5), Some("99999999999999999999999")).count(),
            Some(5)
        );
    }

    #[test]
    fn packed_strings_in_attributes() {
        let r = ata_with(
            197,
            "Current_Pending_Sector",
            r#"{"value": 4294967296, "string": "0 (1 0 0)"}"#,
            "",
        );
        assert_eq!(r.ata.as_ref().unwrap().pending_sectors, Some(0));
        assert_eq!(r.health(), DiskHealth::Good);

        let r = ata_with(
            5,
            "Reallocated_Sector_Ct",
            r#"{"value": 12, "string": "12 (Min/Max 20/45)"}"#,
            "",
        );
        assert_eq!(
            r.health(),
            DiskHealth::Failing(vec![HealthReason::ReallocatedSectors { count: 12 }])
        );

        let r = ata_with(
            9,
            "Power_On_Hours",
            r#"{"value": 4444, "string": "1234h+56m+07.890s"}"#,
            "",
        );
        assert_eq!(r.power_on_hours, Some(1234));
        let r = ata_with(
            9,
            "Power_On_Hours",
            r#"{"value": 4444, "string": "1234h+56m+07.890s"}"#,
            r#", "power_on_time": {"hours": 1234, "minutes": 56}"#,
        );
        assert_eq!(r.power_on_hours, Some(1234));
        // Attribute 9 under another name (minutes, half-minutes) is not taken as hours.
        let r = ata_with(
            9,
            "Power_On_Minutes",
            r#"{"value": 600, "string": "600"}"#,
            "",
        );
        assert_eq!(r.power_on_hours, None);
    }

    #[test]
    fn rules_for_ata_counters() {
        let cases: [(u8, &str, Severity, HealthReason); 6] = [
            (
                5,
                "Reallocated_Sector_Ct",
                Severity::Failing,
                HealthReason::ReallocatedSectors { count: 3 },
            ),
            (
                197,
                "Current_Pending_Sector",
                Severity::Failing,
                HealthReason::PendingSectors { count: 3 },
            ),
            (
                198,
                "Offline_Uncorrectable",
                Severity::Failing,
                HealthReason::OfflineUncorrectable { count: 3 },
            ),
            (
                187,
                "Reported_Uncorrect",
                Severity::Warning,
                HealthReason::ReportedUncorrectable { count: 3 },
            ),
            (
                196,
                "Reallocated_Event_Count",
                Severity::Warning,
                HealthReason::ReallocationEvents { count: 3 },
            ),
            (
                199,
                "UDMA_CRC_Error_Count",
                Severity::Warning,
                HealthReason::CrcErrors { count: 3 },
            ),
        ];
        for (id, name, severity, reason) in cases {
            let r = ata_with(id, name, r#"{"value": 3, "string": "3"}"#, "");
            assert_eq!(
                r.findings(),
                vec![Finding {
                    severity,
                    reason: reason.clone()
                }]
            );
            let expected = match severity {
                Severity::Failing => DiskHealth::Failing(vec![reason]),
                Severity::Warning => DiskHealth::Warning(vec![reason]),
            };
            assert_eq!(r.health(), expected, "attribute {id}");
            let zero = ata_with(id, name, r#"{"value": 0, "string": "0"}"#, "");
            assert_eq!(zero.health(), DiskHealth::Good, "attribute {id} at 0");
        }
    }

    #[test]
    fn rules_for_thresholds_and_exit_bits() {
        let failing_now = report(
            r#"{"smartctl": {"exit_status": 24}, "device": {"protocol": "ATA"},
                "smart_status": {"passed": false},
                "ata_smart_attributes": {"table": [
                  {"id": 1, "name": "Raw_Read_Error_Rate", "value": 1, "thresh": 51,
                   "when_failed": "now", "flags": {"prefailure": true}, "raw": {"value": 9}},
                  {"id": 190, "name": "Airflow_Temperature_Cel", "value": 30, "thresh": 45,
                   "when_failed": "past", "flags": {"prefailure": false},
                   "raw": {"value": 0, "string": "70 (Min/Max 20/75)"}}
                ]}}"#,
        );
        assert_eq!(
            failing_now.health(),
            DiskHealth::Failing(vec![
                HealthReason::OverallFailed,
                HealthReason::AttributeFailingNow {
                    id: 1,
                    name: "Raw_Read_Error_Rate".into(),
                    prefailure: true
                },
            ])
        );
        assert!(failing_now.findings().contains(&Finding {
            severity: Severity::Warning,
            reason: HealthReason::AttributeFailedInPast {
                id: 190,
                name: "Airflow_Temperature_Cel".into()
            }
        }));

        // Exit bits alone (e.g. `smartctl -H` output): 4 → failing, 5 and 7 → warnings.
        let bits = report(
            r#"{"smartctl": {"exit_status": 176}, "device": {"protocol": "ATA"},
                "smart_status": {"passed": true}}"#,
        );
        assert_eq!(
            bits.findings(),
            vec![
                Finding {
                    severity: Severity::Failing,
                    reason: HealthReason::PrefailBelowThresholdReported
                },
                Finding {
                    severity: Severity::Warning,
                    reason: HealthReason::BelowThresholdInPastReported
                },
                Finding {
                    severity: Severity::Warning,
                    reason: HealthReason::SelfTestErrors
                },
            ]
        );
        let old_age_now = report(
            r#"{"smartctl": {"exit_status": 0}, "device": {"protocol": "ATA"},
                "smart_status": {"passed": true},
                "ata_smart_attributes": {"table": [
                  {"id": 194, "name": "Temperature_Celsius", "value": 20, "thresh": 30,
                   "when_failed": "now", "flags": {"prefailure": false},
                   "raw": {"value": 70, "string": "70"}}]}}"#,
        );
        assert_eq!(
            old_age_now.health(),
            DiskHealth::Warning(vec![HealthReason::AttributeFailingNow {
                id: 194,
                name: "Temperature_Celsius".into(),
                prefailure: false
            }])
        );
    }

    fn nvme_with(log: &str) -> SmartReport {
        report(&format!(
            r#"{{"smartctl": {{"exit_status": 0}}, "device": {{"protocol": "NVMe"}},
                "smart_status": {{"passed": true}},
                "nvme_smart_health_information_log": {{{log}}}}}"#
        ))
    }

    #[test]
    fn rules_for_nvme() {
        let base = r#""critical_warning": 0, "available_spare": 100,
                      "available_spare_threshold": 10, "percentage_used": 3, "media_errors": 0"#;
        assert_eq!(nvme_with(base).health(), DiskHealth::Good);

        let hot = nvme_with(&base.replace(r#""critical_warning": 0"#, r#""critical_warning": 2"#));
        assert_eq!(
            hot.health(),
            DiskHealth::Warning(vec![HealthReason::NvmeCriticalWarning {
                flags: NvmeCriticalWarning(2)
            }])
        );
        let read_only =
            nvme_with(&base.replace(r#""critical_warning": 0"#, r#""critical_warning": 10"#));
        assert_eq!(
            read_only.health(),
            DiskHealth::Failing(vec![HealthReason::NvmeCriticalWarning {
                flags: NvmeCriticalWarning(10)
            }])
        );
        let spare =
            nvme_with(&base.replace(r#""available_spare": 100"#, r#""available_spare": 9"#));
        assert_eq!(
            spare.health(),
            DiskHealth::Failing(vec![HealthReason::SpareBelowThreshold {
                available: 9,
                threshold: 10
            }])
        );
        for (used, expected) in [
            (79, DiskHealth::Good),
            (
                80,
                DiskHealth::Warning(vec![HealthReason::HighWear {
                    percentage_used: 80,
                }]),
            ),
            (
                100,
                DiskHealth::Failing(vec![HealthReason::WornOut {
                    percentage_used: 100,
                }]),
            ),
            (
                255,
                DiskHealth::Failing(vec![HealthReason::WornOut {
                    percentage_used: 255,
                }]),
            ),
        ] {
            let r = nvme_with(&base.replace(
                r#""percentage_used": 3"#,
                &format!(r#""percentage_used": {used}"#),
            ));
            assert_eq!(r.health(), expected, "percentage_used {used}");
        }
        let media = nvme_with(&base.replace(r#""media_errors": 0"#, r#""media_errors": 7"#));
        assert_eq!(
            media.health(),
            DiskHealth::Warning(vec![HealthReason::MediaErrors { count: 7 }])
        );
        let units =
            nvme_with(r#""data_units_written": 2, "data_units_read": 18446744073709551615"#);
        let log = units.nvme.unwrap();
        assert_eq!(log.bytes_written(), Some(1_024_000));
        assert_eq!(log.bytes_read(), None);
    }

    #[test]
    fn rules_for_scsi_and_endurance() {
        let grown = report(
            r#"{"device": {"protocol": "SCSI"}, "smart_status": {"passed": true},
                "scsi_grown_defect_list": 4,
                "scsi_error_counter_log": {"read": {"total_uncorrected_errors": 1},
                                           "write": {"total_uncorrected_errors": 2}}}"#,
        );
        assert_eq!(
            grown.findings(),
            vec![
                Finding {
                    severity: Severity::Failing,
                    reason: HealthReason::GrownDefects { count: 4 }
                },
                Finding {
                    severity: Severity::Warning,
                    reason: HealthReason::UncorrectedErrors { count: 3 }
                },
            ]
        );
        // smartctl ≥ 7.5 reports an endurance figure for ATA and SCSI SSDs too.
        let worn = report(
            r#"{"device": {"protocol": "ATA"}, "smart_status": {"passed": true},
                "endurance_used": {"current_percent": 91}}"#,
        );
        assert_eq!(worn.endurance_used_percent, Some(91));
        assert_eq!(
            worn.health(),
            DiskHealth::Warning(vec![HealthReason::HighWear {
                percentage_used: 91
            }])
        );
    }

    #[test]
    fn unknown_reasons() {
        let cases = [
            (
                r#"{"smartctl": {"exit_status": 2}}"#,
                UnknownReason::DeviceOpenFailed,
            ),
            (
                r#"{"smartctl": {"exit_status": 1}}"#,
                UnknownReason::DeviceTypeNotDetected,
            ),
            (
                r#"{"smartctl": {"exit_status": 4}, "device": {"protocol": "SCSI"},
                    "smart_support": {"available": false}}"#,
                UnknownReason::SmartUnsupported,
            ),
            (
                r#"{"smartctl": {"exit_status": 0}, "device": {"protocol": "ATA"},
                    "smart_support": {"available": true, "enabled": false}}"#,
                UnknownReason::SmartDisabled,
            ),
            (
                r#"{"smartctl": {"exit_status": 4}}"#,
                UnknownReason::SmartCommandFailed,
            ),
            (
                r#"{"smartctl": {"exit_status": 0}}"#,
                UnknownReason::NoHealthData,
            ),
            (r#"{"device": {}}"#, UnknownReason::NoHealthData),
        ];
        for (json, reason) in cases {
            assert_eq!(report(json).health(), DiskHealth::Unknown(reason), "{json}");
        }
        // A failing exit bit wins over "no data".
        assert_eq!(
            report(r#"{"smartctl": {"exit_status": 8}}"#).health(),
            DiskHealth::Failing(vec![HealthReason::OverallFailed])
        );
    }

    #[test]
    fn overall_status_missing_is_a_warning() {
        let r = report(
            r#"{"device": {"protocol": "ATA"}, "ata_smart_attributes": {"table": [
                 {"id": 5, "name": "Reallocated_Sector_Ct", "raw": {"value": 0, "string": "0"}}]}}"#,
        );
        assert_eq!(r.smart_passed, None);
        assert_eq!(
            r.health(),
            DiskHealth::Warning(vec![HealthReason::OverallStatusMissing])
        );
    }

    #[test]
    fn status_flags_map_bits() {
        let s = SmartctlStatus(0b1101_1000);
        assert_eq!(
            s.flags(),
            vec![
                StatusFlag::DiskFailing,
                StatusFlag::PrefailBelowThreshold,
                StatusFlag::ErrorLog,
                StatusFlag::SelfTestLog
            ]
        );
        assert!(!s.query_failed());
        for (bit, flag) in StatusFlag::ALL.into_iter().enumerate() {
            assert_eq!(flag.mask(), 1 << bit);
            assert_eq!(SmartctlStatus(1 << bit).flags(), vec![flag]);
        }
        assert!(SmartctlStatus(4).query_failed());
    }

    #[test]
    fn wrong_types_are_absent_not_errors() {
        let r = report(
            r#"{"smartctl": {"exit_status": 300, "version": "7.3", "messages": [1, {"string": 2}]},
                "device": {"protocol": 5, "name": ["x"]},
                "model_name": 12, "serial_number": "  ", "user_capacity": {"bytes": -1},
                "rotation_rate": 1e3, "smart_status": {"passed": "yes"},
                "temperature": {"current": 1.5},
                "ata_smart_attributes": {"table": [{"id": 300}, {"id": "5"}, 7,
                   {"id": 5, "raw": {"value": -3, "string": 4}},
                   {"id": 5, "raw": {"value": 9, "string": "9"}}]},
                "nvme_smart_health_information_log": [1, 2]}"#,
        );
        assert_eq!(r.status, None);
        assert_eq!(r.smartctl_version, None);
        assert!(r.messages.is_empty());
        assert_eq!(r.protocol, None);
        assert_eq!(r.model, None);
        assert_eq!(r.serial, None);
        assert_eq!(r.capacity_bytes, None);
        assert_eq!(r.rotation, None);
        assert_eq!(r.smart_passed, None);
        assert_eq!(r.temperature_c, None);
        assert_eq!(r.nvme, None);
        let ata = r.ata.unwrap();
        assert_eq!(ata.attributes.len(), 1, "the first ID 5 wins");
        assert_eq!(ata.reallocated_sectors, None);
    }

    #[test]
    fn not_smartctl_output() {
        for input in [
            &b""[..],
            b"[]",
            b"42",
            b"{\"a\": 1}",
            b"{\"smartctl\": ",
            b"\xff\xfe",
        ] {
            assert!(
                matches!(parse(input), Err(SmartError::Parse { .. })),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn rotation_rates() {
        let rot = |proto: &str, rpm: u64| {
            report(&format!(
                r#"{{"device": {{"protocol": "{proto}"}}, "rotation_rate": {rpm}}}"#
            ))
            .rotation
        };
        assert_eq!(rot("ATA", 0), Some(Rotation::SolidState));
        assert_eq!(rot("ATA", 7200), Some(Rotation::Rpm(7200)));
        assert_eq!(rot("SCSI", 0), None);
        assert_eq!(rot("SCSI", 0x400), None);
        assert_eq!(rot("SCSI", 0xFFFF), None);
        assert_eq!(rot("SCSI", 10_500), Some(Rotation::Rpm(10_500)));
    }

    #[test]
    fn error_messages_name_the_package_and_the_messages() {
        let missing = SmartError::SmartctlMissing {
            program: "smartctl".into(),
        };
        assert!(missing.to_string().contains("smartmontools"));
        let unsupported = SmartError::DeviceNotSupported {
            device: "/dev/sdc".into(),
            status: SmartctlStatus(1),
            messages: vec!["/dev/sdc: Unknown USB bridge [0x46f4:0x0001 (0x000)]".into()],
        };
        assert_eq!(
            unsupported.to_string(),
            "/dev/sdc: smartctl could not query this device (exit status 1): \
             /dev/sdc: Unknown USB bridge [0x46f4:0x0001 (0x000)]"
        );
    }
}
