//! The `hardware` section: what machine is on the bench and whether it is worth refurbishing.
//!
//! Every value says where it came from: identity fields are [`Sourced`] (value, state and
//! source each), list items (disks, batteries, screens, PCI devices, interfaces…) carry the
//! sysfs path they were read from. A value the bench could not read is never an empty string:
//! it is absent with a state and a reason, and a probe that failed leaves a [`ProbeWarning`].

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::DeviceIdentity;

/// Hardware inventory of the machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HardwareSection {
    /// When the inventory was taken.
    pub collected_at: DateTime<Utc>,
    /// Whether the inventory ran as root (without root, serials and SMBIOS tables are
    /// unavailable and SMART is not queried).
    pub as_root: bool,
    /// Who the machine is (SMBIOS / DMI, devicetree).
    pub identity: MachineIdentity,
    /// The key that identifies this machine across visits, and how strong it is.
    pub machine_key: MachineKeyInfo,
    /// Processor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Cpu>,
    /// Memory: total seen by the kernel and every SMBIOS slot.
    pub memory: Memory,
    /// Every physical disk, with its SMART health.
    #[serde(default)]
    pub disks: Vec<Disk>,
    /// Batteries (laptops, tablets).
    #[serde(default)]
    pub batteries: Vec<Battery>,
    /// The chassis is portable (laptop, notebook, tablet…) but no battery was found.
    #[serde(default)]
    pub laptop_without_battery: bool,
    /// Screens with an EDID (internal panel and connected monitors).
    #[serde(default)]
    pub screens: Vec<Screen>,
    /// PCI devices, named through the pci.ids database.
    #[serde(default)]
    pub pci_devices: Vec<PciDevice>,
    /// Network interfaces (loopback and virtual interfaces excluded).
    #[serde(default)]
    pub network: Vec<NetworkInterface>,
    /// Wi-Fi, Bluetooth, webcam, audio, touchscreen.
    pub peripherals: Peripherals,
    /// Boot firmware (UEFI or legacy), Secure Boot and TPM.
    pub firmware: Firmware,
    /// The verdicts, per component and overall.
    pub grades: Grades,
    /// What could not be read, and why. The inventory still completed.
    #[serde(default)]
    pub warnings: Vec<ProbeWarning>,
}

/// How a reported value came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ValueState {
    /// A real value.
    Known,
    /// The firmware wrote a template text ("To be filled by O.E.M."…): counts as absent,
    /// the raw text is kept.
    Placeholder,
    /// Only root can read it: "unavailable (needs root)".
    NeedsRoot,
    /// Not reported at all.
    Absent,
    /// Reported but unreadable; the reason says why.
    Unknown,
}

/// One value with the state it came out in and the source it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Sourced<T> {
    /// The value, present only when `state` is `known`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<T>,
    /// How the value came out.
    pub state: ValueState,
    /// Where it was read, e.g. `smbios type 1`, `/sys/class/dmi/id/product_name`.
    pub source: String,
    /// For placeholders: the text the firmware wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    /// For unknown values: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl<T> Sourced<T> {
    /// A known value read from `source`.
    pub fn known(value: T, source: impl Into<String>) -> Self {
        Sourced {
            value: Some(value),
            state: ValueState::Known,
            source: source.into(),
            raw: None,
            reason: None,
        }
    }

    /// A value in a state other than known (`raw` for placeholders, `reason` for unknown).
    pub fn missing(
        state: ValueState,
        source: impl Into<String>,
        raw: Option<String>,
        reason: Option<String>,
    ) -> Self {
        Sourced {
            value: None,
            state,
            source: source.into(),
            raw,
            reason,
        }
    }

    /// Not reported by `source`.
    pub fn absent(source: impl Into<String>) -> Self {
        Self::missing(ValueState::Absent, source, None, None)
    }

    /// The value, when known.
    pub fn get(&self) -> Option<&T> {
        self.value.as_ref()
    }
}

/// Who the machine is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MachineIdentity {
    /// System manufacturer (SMBIOS type 1).
    pub system_vendor: Sourced<String>,
    /// Product name, e.g. "ThinkPad T480" (Lenovo puts the model in `version`).
    pub product_name: Sourced<String>,
    /// Product version.
    pub product_version: Sourced<String>,
    /// SKU number.
    pub product_sku: Sourced<String>,
    /// Family.
    pub product_family: Sourced<String>,
    /// System serial number.
    pub serial: Sourced<String>,
    /// System UUID.
    pub uuid: Sourced<String>,
    /// Chassis type name (SMBIOS type 3), e.g. "Notebook".
    pub chassis_type: Sourced<String>,
    /// The chassis type is a portable one (laptop, notebook, tablet, convertible…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chassis_portable: Option<bool>,
    /// Chassis serial number.
    pub chassis_serial: Sourced<String>,
    /// Baseboard manufacturer (SMBIOS type 2).
    pub board_vendor: Sourced<String>,
    /// Baseboard product name.
    pub board_name: Sourced<String>,
    /// Baseboard serial number.
    pub board_serial: Sourced<String>,
    /// BIOS vendor (SMBIOS type 0).
    pub bios_vendor: Sourced<String>,
    /// BIOS version.
    pub bios_version: Sourced<String>,
    /// BIOS release date as the firmware wrote it (usually MM/DD/YYYY).
    pub bios_date: Sourced<String>,
    /// Devicetree model (Raspberry Pi and other boards without SMBIOS).
    pub devicetree_model: Sourced<String>,
    /// Devicetree serial number.
    pub devicetree_serial: Sourced<String>,
    /// SMBIOS version of the tables, e.g. "3.2".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smbios_version: Option<String>,
}

impl MachineIdentity {
    /// An identity where nothing could be read: every field unknown with `reason`.
    pub fn not_read(reason: &str) -> Self {
        let f = |source: &str| {
            Sourced::missing(ValueState::Unknown, source, None, Some(reason.to_owned()))
        };
        MachineIdentity {
            system_vendor: f("smbios type 1"),
            product_name: f("smbios type 1"),
            product_version: f("smbios type 1"),
            product_sku: f("smbios type 1"),
            product_family: f("smbios type 1"),
            serial: f("smbios type 1"),
            uuid: f("smbios type 1"),
            chassis_type: f("smbios type 3"),
            chassis_portable: None,
            chassis_serial: f("smbios type 3"),
            board_vendor: f("smbios type 2"),
            board_name: f("smbios type 2"),
            board_serial: f("smbios type 2"),
            bios_vendor: f("smbios type 0"),
            bios_version: f("smbios type 0"),
            bios_date: f("smbios type 0"),
            devicetree_model: f("/sys/firmware/devicetree/base/model"),
            devicetree_serial: f("/sys/firmware/devicetree/base/serial-number"),
            smbios_version: None,
        }
    }
}

impl HardwareSection {
    /// An inventory where nothing was read (every probe failed with `reason`): the starting
    /// point of an inventory, and a compact value for tests.
    pub fn not_read(collected_at: DateTime<Utc>, reason: &str) -> Self {
        HardwareSection {
            collected_at,
            as_root: false,
            identity: MachineIdentity::not_read(reason),
            machine_key: MachineKeyInfo {
                value: None,
                source: "none".into(),
                weak: true,
                skipped: vec![reason.to_owned()],
            },
            cpu: None,
            memory: Memory {
                total_bytes: Sourced::missing(
                    ValueState::Unknown,
                    "/proc/meminfo MemTotal",
                    None,
                    Some(reason.to_owned()),
                ),
                installed_bytes: None,
                installed_source: None,
                slots: Vec::new(),
                max_capacity_bytes: None,
                slot_count: None,
                error_correction: None,
                check: format!("unknown: {reason}"),
            },
            disks: Vec::new(),
            batteries: Vec::new(),
            laptop_without_battery: false,
            screens: Vec::new(),
            pci_devices: Vec::new(),
            network: Vec::new(),
            peripherals: Peripherals::default(),
            firmware: Firmware {
                boot_mode: BootMode::Other,
                secure_boot: SecureBootState::Unknown,
                tpm: None,
                uefi_capable: None,
                virtual_machine: None,
            },
            grades: Grades {
                overall: GradeLevel::Unknown,
                verdicts: Vec::new(),
            },
            warnings: Vec::new(),
        }
    }
}

/// The machine identity key chosen by the documented fallback chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MachineKeyInfo {
    /// The key, e.g. `smbios:PF1ABCDE:4c4c4544-…`, `board:…`, `mac:…`, `dt:…`; absent when
    /// nothing identifies the machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The link of the chain that served: `serial_uuid`, `board_serial`, `serial`, `uuid`,
    /// `permanent_mac`, `devicetree_serial`, or `none`.
    pub source: String,
    /// The key may be shared by other machines or change (a MAC, a serial without UUID…).
    pub weak: bool,
    /// Why each earlier link was skipped.
    #[serde(default)]
    pub skipped: Vec<String>,
}

/// The processor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Cpu {
    /// Model name, e.g. "Intel(R) Core(TM) i5-8350U CPU @ 1.70GHz".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Vendor, e.g. "GenuineIntel", "AuthenticAMD", or the ARM implementer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// Architecture as the kernel names it (`x86_64`, `aarch64`…).
    pub architecture: String,
    /// Physical packages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sockets: Option<u32>,
    /// Physical cores, all sockets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cores: Option<u32>,
    /// Hardware threads (logical CPUs), all sockets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<u32>,
    /// Highest frequency, in MHz (cpufreq `cpuinfo_max_freq`, else SMBIOS type 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_frequency_mhz: Option<u32>,
    /// Hardware virtualisation: `vmx` (Intel VT-x), `svm` (AMD-V); empty when absent.
    #[serde(default)]
    pub virtualization: Vec<String>,
    /// Where the fields came from.
    pub source: String,
}

/// Memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Memory {
    /// Memory the kernel manages (`MemTotal` of `/proc/meminfo`), in bytes.
    pub total_bytes: Sourced<u64>,
    /// Installed memory, in bytes: the sum of the populated SMBIOS type-17 slots, else (no
    /// SMBIOS memory devices) the kernel's present memory blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installed_bytes: Option<u64>,
    /// Where `installed_bytes` came from: `smbios type 17` or
    /// `/sys/devices/system/memory (N blocks of M bytes)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installed_source: Option<String>,
    /// Every SMBIOS type-17 slot, empty ones included.
    #[serde(default)]
    pub slots: Vec<MemorySlot>,
    /// What the board takes at most, in bytes (sum of the SMBIOS type-16 system memory
    /// arrays' maximum capacity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_capacity_bytes: Option<u64>,
    /// Number of memory slots (or soldered devices) the board has (SMBIOS type 16).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot_count: Option<u32>,
    /// Error correction of the system memory, e.g. "None", "Single-bit ECC" (SMBIOS type 16).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_correction: Option<String>,
    /// Result of the cross-check of installed memory against `MemTotal`: `consistent`,
    /// `inconsistent`, or `unknown` with the reason.
    pub check: String,
}

/// One memory slot (SMBIOS type 17).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MemorySlot {
    /// Slot name on the board, e.g. "ChannelA-DIMM0".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locator: Option<String>,
    /// Bank name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank: Option<String>,
    /// A module is present.
    pub populated: bool,
    /// Module size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    /// Memory type, e.g. "DDR4".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_type: Option<String>,
    /// Form factor, e.g. "SODIMM".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form_factor: Option<String>,
    /// Rated speed, in MT/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_mts: Option<u32>,
    /// Configured speed, in MT/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configured_speed_mts: Option<u32>,
    /// Module manufacturer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<String>,
    /// Module part number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_number: Option<String>,
    /// Module serial number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
}

/// One physical disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Disk {
    /// Identity, as `atelier devices` and the wipe see it.
    pub device: DeviceIdentity,
    /// This disk holds the running bench (the live stick): never wiped.
    pub boot_medium: bool,
    /// SMART health.
    pub health: DiskHealth,
}

/// Overall SMART verdict of a disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HealthVerdict {
    /// Nothing wrong found.
    Good,
    /// Worth a look (wear, a few errors).
    Warning,
    /// Failing: replace the disk.
    Failing,
    /// Not known (no SMART data: smartctl missing, USB bridge, not root, timeout…).
    Unknown,
}

/// SMART health of one disk, from `smartctl -j`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DiskHealth {
    /// The verdict.
    pub verdict: HealthVerdict,
    /// What led to it, one finding per line.
    #[serde(default)]
    pub findings: Vec<String>,
    /// Why the health is unknown, when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown_reason: Option<String>,
    /// The drive's overall self-assessment passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smart_passed: Option<bool>,
    /// Power-on hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_on_hours: Option<u64>,
    /// Reallocated sectors (ATA attribute 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reallocated_sectors: Option<u64>,
    /// Pending sectors (ATA attribute 197).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_sectors: Option<u64>,
    /// Offline uncorrectable sectors (ATA attribute 198).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncorrectable_sectors: Option<u64>,
    /// Endurance used, in percent (can exceed 100): NVMe "percentage used", the ATA device
    /// statistics' "Percentage Used Endurance Indicator", or a vendor wear attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentage_used: Option<u64>,
    /// Where `percentage_used` came from, e.g. `nvme percentage_used`,
    /// `ata devstat 7/8`, `ata attribute 233 Media_Wearout_Indicator`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentage_used_source: Option<String>,
    /// Current temperature, in degrees Celsius.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature_celsius: Option<i64>,
    /// NVMe media and data integrity errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_errors: Option<u64>,
    /// NVMe critical warning byte.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical_warning: Option<u8>,
    /// smartctl version that answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smartctl_version: Option<String>,
}

/// One battery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Battery {
    /// power_supply name, e.g. `BAT0`.
    pub name: String,
    /// Manufacturer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<String>,
    /// Model name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Serial number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// Chemistry, e.g. "Li-ion".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub technology: Option<String>,
    /// Capacity when new, in mWh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub design_capacity_mwh: Option<u64>,
    /// Capacity at the last full charge, in mWh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_capacity_mwh: Option<u64>,
    /// Wear: 100 − full / design × 100, in percent, one decimal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wear_percent: Option<f64>,
    /// Charge cycles, only when the firmware really reports them (0 is treated as "not
    /// reported").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cycle_count: Option<u64>,
    /// Manufacture date as the firmware reports it, `YYYY-MM-DD` (or `YYYY-MM` / `YYYY` when
    /// the day or month is not reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacture_date: Option<String>,
    /// Charging status as the kernel reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// How the capacities were obtained: `energy` (µWh) or `charge×voltage` (µAh × µV).
    pub capacity_basis: String,
    /// The sysfs directory it was read from.
    pub source: String,
}

/// One screen, from its EDID.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Screen {
    /// DRM connector, e.g. `card0-eDP-1`.
    pub connector: String,
    /// Internal panel (eDP / LVDS / DSI) rather than an external monitor.
    pub internal: bool,
    /// Three-letter PNP manufacturer code, e.g. `LGD`.
    pub vendor_code: String,
    /// Manufacturer name when the code is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_name: Option<String>,
    /// Monitor name (descriptor FCh), or the panel's text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Product code.
    pub product_code: u16,
    /// Serial number (descriptor FFh, else the numeric serial when not zero).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// Native resolution width, in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native_width: Option<u32>,
    /// Native resolution height, in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native_height: Option<u32>,
    /// Image width, in millimetres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width_mm: Option<u32>,
    /// Image height, in millimetres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height_mm: Option<u32>,
    /// Diagonal in inches, to 0.1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagonal_inches: Option<f64>,
    /// Year of manufacture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub made_year: Option<u16>,
    /// The EDID file it was read from.
    pub source: String,
}

/// One PCI device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PciDevice {
    /// Bus address, e.g. `0000:00:02.0`.
    pub address: String,
    /// Class code as six hex digits (class, subclass, prog-if), e.g. `030000`.
    pub class_code: String,
    /// Class name, e.g. "VGA compatible controller".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_name: Option<String>,
    /// Vendor ID, four hex digits.
    pub vendor_id: String,
    /// Device ID, four hex digits.
    pub device_id: String,
    /// Vendor name from pci.ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_name: Option<String>,
    /// Device name from pci.ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_name: Option<String>,
    /// Subsystem vendor ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subsystem_vendor_id: Option<String>,
    /// Subsystem device ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subsystem_device_id: Option<String>,
    /// Subsystem name from pci.ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subsystem_name: Option<String>,
    /// Revision, two hex digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Kernel driver bound to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// A display controller (class 03): a GPU.
    pub is_gpu: bool,
}

/// One network interface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NetworkInterface {
    /// Interface name, e.g. `enp0s31f6`, `wlp2s0`.
    pub name: String,
    /// `ethernet`, `wifi`, `wwan` or `other`.
    pub kind: String,
    /// Hardware address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// The address is the burnt-in one (sysfs `addr_assign_type` 0), not randomised or set.
    pub mac_permanent: bool,
    /// Kernel driver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// Bus the device sits on: `pci`, `usb`, `sdio`…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bus: Option<String>,
    /// The sysfs directory it was read from.
    pub source: String,
}

/// Wi-Fi, Bluetooth, webcam, audio, touchscreen.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Peripherals {
    /// Wi-Fi interfaces (names).
    #[serde(default)]
    pub wifi: Vec<String>,
    /// Bluetooth controllers (`hci0`…).
    #[serde(default)]
    pub bluetooth: Vec<String>,
    /// Video capture devices (webcams), by name.
    #[serde(default)]
    pub webcams: Vec<String>,
    /// Sound cards, by name.
    #[serde(default)]
    pub audio: Vec<String>,
    /// Touchscreens (direct multi-touch input devices), by name.
    #[serde(default)]
    pub touchscreens: Vec<String>,
}

/// How the machine booted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BootMode {
    /// UEFI (`/sys/firmware/efi` exists).
    Uefi,
    /// Legacy BIOS / CSM.
    Legacy,
    /// Neither (devicetree boards, e.g. Raspberry Pi).
    Other,
}

/// Secure Boot state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SecureBootState {
    /// Enabled (the `SecureBoot` EFI variable is 1).
    Enabled,
    /// Disabled.
    Disabled,
    /// Not applicable: legacy boot.
    NotApplicable,
    /// UEFI, but the variable could not be read.
    Unknown,
}

/// Boot firmware.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Firmware {
    /// UEFI or legacy.
    pub boot_mode: BootMode,
    /// Secure Boot.
    pub secure_boot: SecureBootState,
    /// The firmware says it supports UEFI (SMBIOS type 0, BIOS Characteristics Extension
    /// Byte 2, bit 3). `true` with a legacy boot means the machine can be switched to UEFI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uefi_capable: Option<bool>,
    /// The SMBIOS tables say this is a virtual machine (type 0, Extension Byte 2, bit 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_machine: Option<bool>,
    /// The TPM, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm: Option<Tpm>,
}

/// A Trusted Platform Module.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Tpm {
    /// Specification version, e.g. "2.0", "1.2".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The sysfs directory it was read from.
    pub source: String,
}

/// How good a component (or the machine) is for refurbishing.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum GradeLevel {
    /// Fine as it is.
    Good,
    /// Usable; something to check or improve.
    Attention,
    /// A part must be replaced or added before the machine goes out.
    Replace,
    /// Not enough data for a verdict.
    Unknown,
}

/// The verdicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Grades {
    /// The worst level among the components (unknown only counts when nothing else is
    /// worse than good).
    pub overall: GradeLevel,
    /// One verdict per rule that fired, the worst first.
    pub verdicts: Vec<Verdict>,
}

/// One verdict about one component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Verdict {
    /// The component: `battery`, `disk`, `memory`, `cpu`, `screen`, `machine`…
    pub component: String,
    /// Stable rule code, e.g. `battery_worn` (docs/inventory.md lists them).
    pub code: String,
    /// The level.
    pub level: GradeLevel,
    /// The sentence shown to the technician, in French.
    pub text_fr: String,
    /// The sentence shown to the technician, in English.
    pub text_en: String,
}

/// A probe that could not read everything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProbeWarning {
    /// The probe: `smbios`, `cpu`, `smart:/dev/sda`, `edid:card0-eDP-1`…
    pub probe: String,
    /// What went wrong.
    pub message: String,
}
