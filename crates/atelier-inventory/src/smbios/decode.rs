//! Typed views of the structures the bench uses: BIOS (type 0), System (1), Baseboard (2),
//! Chassis (3), Processor (4), Physical Memory Array (16) and Memory Device (17).
//!
//! Offsets and encodings follow DMTF DSP0134 (3.7.0 numbering; every field cited is unchanged
//! since the version that introduced it). A field is decoded when the structure's formatted
//! area is long enough to hold it, whatever the announced version — as dmidecode and the
//! kernel do — so a 2.3-sized structure in a "3.0" table simply lacks the later fields.

use serde::Serialize;

use super::placeholder::Field;
use super::table::{SmbiosTables, SmbiosVersion, StringRef, Structure, TableProblem};

/// Decodes string bytes: UTF-8 when valid (§6.1.3 since 3.5), otherwise each byte as
/// ISO-8859-1 (older firmware writes Latin-1), so no byte is ever lost or refused.
pub fn decode_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes.iter().map(|b| char::from(*b)).collect(),
    }
}

/// The [`Field`] for the string-number field at `offset`.
fn string_field(s: &Structure, offset: usize) -> Field {
    match s.string(offset) {
        StringRef::Missing | StringRef::None => Field::Absent,
        StringRef::BadIndex { index, count } => Field::Unknown {
            reason: format!(
                "string #{index} referenced by the type {} structure (handle {:#06x}) does not exist (it has {count})",
                s.kind, s.handle
            ),
        },
        StringRef::Text(bytes) => Field::from_raw(&decode_text(bytes)),
    }
}

/// Type 0 — BIOS Information (§7.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BiosInfo {
    /// Vendor (§7.1, offset 04h, string).
    pub vendor: Field,
    /// BIOS version (05h, string).
    pub version: Field,
    /// Release date, `mm/dd/yy` or `mm/dd/yyyy` (08h, string).
    pub release_date: Field,
    /// System BIOS major.minor release (14h, 15h; 2.4+), when not 0FFh.
    pub release: Option<(u8, u8)>,
    /// "UEFI Specification is supported": BIOS Characteristics Extension Byte 2 (13h; 2.4+),
    /// bit 3 (§7.1.2.2). `None` when the structure is too short to hold the byte.
    pub uefi_supported: Option<bool>,
    /// "SMBIOS table describes a virtual machine": Extension Byte 2, bit 4 (§7.1.2.2).
    pub virtual_machine: Option<bool>,
}

impl BiosInfo {
    /// Decodes a type 0 structure.
    pub fn decode(s: &Structure) -> BiosInfo {
        let release = match (s.byte(0x14), s.byte(0x15)) {
            // §7.1: "If the system does not support the use of this field, the value is 0FFh"
            (Some(major), Some(minor)) if major != 0xFF => Some((major, minor)),
            _ => None,
        };
        // The extension bytes are fields of their own: bit 3 of the BIOS Characteristics qword
        // ("not supported", which QEMU sets) does not cover them, and dmidecode decodes them
        // regardless.
        let ext2 = s.byte(0x13);
        BiosInfo {
            vendor: string_field(s, 0x04),
            version: string_field(s, 0x05),
            release_date: string_field(s, 0x08),
            release,
            uefi_supported: ext2.map(|b| b & (1 << 3) != 0),
            virtual_machine: ext2.map(|b| b & (1 << 4) != 0),
        }
    }
}

/// Type 1 — System Information (§7.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SystemInfo {
    /// Manufacturer (§7.2, offset 04h, string).
    pub manufacturer: Field,
    /// Product name (05h, string).
    pub product_name: Field,
    /// Version (06h, string).
    pub version: Field,
    /// Serial number (07h, string).
    pub serial_number: Field,
    /// UUID (08h, 16 bytes; 2.1+), formatted per §7.2.1, lower-case.
    pub uuid: Field,
    /// SKU number (19h, string; 2.4+).
    pub sku: Field,
    /// Family (1Ah, string; 2.4+).
    pub family: Field,
}

/// Formats an SMBIOS UUID (§7.2.1). From SMBIOS 2.6 the first three fields (time_low,
/// time_mid, time_hi_and_version) are little-endian; before 2.6 the bytes were meant in
/// network order, which is how the kernel and dmidecode print them. An unknown version is
/// taken as 2.6+ (every machine a bench sees today).
pub fn format_uuid(raw: &[u8; 16], version: Option<SmbiosVersion>) -> String {
    let little_endian = version.is_none_or(|v| v >= SmbiosVersion::new(2, 6, 0));
    let mut b = *raw;
    if little_endian {
        b[0..4].reverse();
        b[4..6].reverse();
        b[6..8].reverse();
    }
    let hex = |r: &[u8]| r.iter().map(|x| format!("{x:02x}")).collect::<String>();
    format!(
        "{}-{}-{}-{}-{}",
        hex(&b[0..4]),
        hex(&b[4..6]),
        hex(&b[6..8]),
        hex(&b[8..10]),
        hex(&b[10..16])
    )
}

impl SystemInfo {
    /// Decodes a type 1 structure; `version` sets the UUID byte order.
    pub fn decode(s: &Structure, version: Option<SmbiosVersion>) -> SystemInfo {
        let uuid = match s.bytes(0x08, 16) {
            None => Field::Absent,
            Some(bytes) => {
                let mut raw = [0u8; 16];
                raw.copy_from_slice(bytes);
                // §7.2.1: all 00h = "ID not present", all FFh = "not currently present but
                // settable"; both are placeholders (the classifier checks them).
                Field::from_raw(&format_uuid(&raw, version))
            }
        };
        SystemInfo {
            manufacturer: string_field(s, 0x04),
            product_name: string_field(s, 0x05),
            version: string_field(s, 0x06),
            serial_number: string_field(s, 0x07),
            uuid,
            sku: string_field(s, 0x19),
            family: string_field(s, 0x1A),
        }
    }
}

/// Type 2 — Baseboard (or Module) Information (§7.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaseboardInfo {
    /// Manufacturer (§7.3, offset 04h, string).
    pub manufacturer: Field,
    /// Product (05h, string).
    pub product: Field,
    /// Version (06h, string).
    pub version: Field,
    /// Serial number (07h, string).
    pub serial_number: Field,
    /// Asset tag (08h, string).
    pub asset_tag: Field,
    /// Board type (0Dh, §7.3.2), raw; 0Ah is "Motherboard".
    pub board_type: Option<u8>,
}

impl BaseboardInfo {
    /// Decodes a type 2 structure.
    pub fn decode(s: &Structure) -> BaseboardInfo {
        BaseboardInfo {
            manufacturer: string_field(s, 0x04),
            product: string_field(s, 0x05),
            version: string_field(s, 0x06),
            serial_number: string_field(s, 0x07),
            asset_tag: string_field(s, 0x08),
            board_type: s.byte(0x0D),
        }
    }
}

/// System enclosure or chassis type (§7.4.1). Bit 7 of the byte is the lock bit and
/// is not part of the type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)] // the variants are the specification's names, see `name()`
pub enum ChassisKind {
    Other,
    Unknown,
    Desktop,
    LowProfileDesktop,
    PizzaBox,
    MiniTower,
    Tower,
    Portable,
    Laptop,
    Notebook,
    HandHeld,
    DockingStation,
    AllInOne,
    SubNotebook,
    SpaceSaving,
    LunchBox,
    MainServerChassis,
    ExpansionChassis,
    SubChassis,
    BusExpansionChassis,
    PeripheralChassis,
    RaidChassis,
    RackMountChassis,
    SealedCasePc,
    MultiSystemChassis,
    CompactPci,
    AdvancedTca,
    Blade,
    BladeEnclosure,
    Tablet,
    Convertible,
    Detachable,
    IotGateway,
    EmbeddedPc,
    MiniPc,
    StickPc,
    /// A value §7.4.1 does not define.
    Unrecognized(u8),
}

impl ChassisKind {
    /// From the chassis type byte (§7.4, offset 05h); bit 7 (lock present) is ignored.
    pub fn from_byte(b: u8) -> ChassisKind {
        use ChassisKind::*;
        match b & 0x7F {
            0x01 => Other,
            0x02 => Unknown,
            0x03 => Desktop,
            0x04 => LowProfileDesktop,
            0x05 => PizzaBox,
            0x06 => MiniTower,
            0x07 => Tower,
            0x08 => Portable,
            0x09 => Laptop,
            0x0A => Notebook,
            0x0B => HandHeld,
            0x0C => DockingStation,
            0x0D => AllInOne,
            0x0E => SubNotebook,
            0x0F => SpaceSaving,
            0x10 => LunchBox,
            0x11 => MainServerChassis,
            0x12 => ExpansionChassis,
            0x13 => SubChassis,
            0x14 => BusExpansionChassis,
            0x15 => PeripheralChassis,
            0x16 => RaidChassis,
            0x17 => RackMountChassis,
            0x18 => SealedCasePc,
            0x19 => MultiSystemChassis,
            0x1A => CompactPci,
            0x1B => AdvancedTca,
            0x1C => Blade,
            0x1D => BladeEnclosure,
            0x1E => Tablet,
            0x1F => Convertible,
            0x20 => Detachable,
            0x21 => IotGateway,
            0x22 => EmbeddedPc,
            0x23 => MiniPc,
            0x24 => StickPc,
            other => Unrecognized(other),
        }
    }

    /// The specification's name ("Notebook", "Laptop", "Desktop"…).
    pub fn name(&self) -> &'static str {
        use ChassisKind::*;
        match self {
            Other => "Other",
            Unknown => "Unknown",
            Desktop => "Desktop",
            LowProfileDesktop => "Low Profile Desktop",
            PizzaBox => "Pizza Box",
            MiniTower => "Mini Tower",
            Tower => "Tower",
            Portable => "Portable",
            Laptop => "Laptop",
            Notebook => "Notebook",
            HandHeld => "Hand Held",
            DockingStation => "Docking Station",
            AllInOne => "All in One",
            SubNotebook => "Sub Notebook",
            SpaceSaving => "Space-saving",
            LunchBox => "Lunch Box",
            MainServerChassis => "Main Server Chassis",
            ExpansionChassis => "Expansion Chassis",
            SubChassis => "SubChassis",
            BusExpansionChassis => "Bus Expansion Chassis",
            PeripheralChassis => "Peripheral Chassis",
            RaidChassis => "RAID Chassis",
            RackMountChassis => "Rack Mount Chassis",
            SealedCasePc => "Sealed-case PC",
            MultiSystemChassis => "Multi-system chassis",
            CompactPci => "Compact PCI",
            AdvancedTca => "Advanced TCA",
            Blade => "Blade",
            BladeEnclosure => "Blade Enclosure",
            Tablet => "Tablet",
            Convertible => "Convertible",
            Detachable => "Detachable",
            IotGateway => "IoT Gateway",
            EmbeddedPc => "Embedded PC",
            MiniPc => "Mini PC",
            StickPc => "Stick PC",
            Unrecognized(_) => "Unrecognized",
        }
    }

    /// Whether the type is a battery-powered, carried machine (a battery is expected).
    pub fn is_portable(&self) -> bool {
        use ChassisKind::*;
        matches!(
            self,
            Portable
                | Laptop
                | Notebook
                | HandHeld
                | SubNotebook
                | Tablet
                | Convertible
                | Detachable
        )
    }
}

/// Type 3 — System Enclosure or Chassis (§7.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChassisInfo {
    /// Manufacturer (§7.4, offset 04h, string).
    pub manufacturer: Field,
    /// Type (05h, bits 6:0, §7.4.1).
    pub kind: Option<ChassisKind>,
    /// Version (06h, string).
    pub version: Field,
    /// Serial number (07h, string).
    pub serial_number: Field,
    /// Asset tag (08h, string).
    pub asset_tag: Field,
    /// SKU number (15h + n×m, string; 2.7+), after the contained elements.
    pub sku: Field,
}

impl ChassisInfo {
    /// Decodes a type 3 structure.
    pub fn decode(s: &Structure) -> ChassisInfo {
        // §7.4: Contained Element Count (n) at 13h, Record Length (m) at 14h, elements from
        // 15h, then SKU Number at 15h + n*m.
        let sku = match (s.byte(0x13), s.byte(0x14)) {
            (Some(n), Some(m)) => string_field(s, 0x15 + usize::from(n) * usize::from(m)),
            _ => Field::Absent,
        };
        ChassisInfo {
            manufacturer: string_field(s, 0x04),
            kind: s.byte(0x05).map(ChassisKind::from_byte),
            version: string_field(s, 0x06),
            serial_number: string_field(s, 0x07),
            asset_tag: string_field(s, 0x08),
            sku,
        }
    }
}

/// Type 4 — Processor Information (§7.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessorInfo {
    /// Handle of the structure.
    pub handle: u16,
    /// Socket designation (§7.5, offset 04h, string).
    pub socket: Field,
    /// Processor type (05h, §7.5.1), raw; 03h is "Central Processor".
    pub processor_type: Option<u8>,
    /// Manufacturer (07h, string).
    pub manufacturer: Field,
    /// Version, the model name (10h, string).
    pub version: Field,
    /// Maximum speed the socket/board supports, MHz (14h; 0 = unknown).
    pub max_speed_mhz: Option<u16>,
    /// Speed at boot, MHz (16h; 0 = unknown).
    pub current_speed_mhz: Option<u16>,
    /// Socket populated (18h, bit 6).
    pub populated: bool,
    /// Serial number (20h, string; 2.3+).
    pub serial_number: Field,
    /// Part number (22h, string; 2.3+).
    pub part_number: Field,
    /// Cores per socket (23h; 2.5+), or Core Count 2 (2Ah; 3.0+) when 23h is FFh.
    pub core_count: Option<u16>,
    /// Enabled cores (24h; 2.5+), or Core Enabled 2 (2Ch; 3.0+) when 24h is FFh.
    pub cores_enabled: Option<u16>,
    /// Threads per socket (25h; 2.5+), or Thread Count 2 (2Eh; 3.0+) when 25h is FFh.
    pub thread_count: Option<u16>,
}

/// §7.5: a count byte of 0 is unknown; FFh means "see the 2-byte field", whose 0 is unknown
/// and FFFFh reserved.
fn count(s: &Structure, byte_off: usize, word_off: usize) -> Option<u16> {
    match s.byte(byte_off)? {
        0 => None,
        0xFF => match s.word(word_off) {
            Some(0) | Some(0xFFFF) => None,
            Some(w) => Some(w),
            // A 2.5-sized structure cannot say more than 255.
            None => Some(0xFF),
        },
        b => Some(u16::from(b)),
    }
}

fn nonzero(v: Option<u16>) -> Option<u16> {
    v.filter(|v| *v != 0)
}

impl ProcessorInfo {
    /// Decodes a type 4 structure.
    pub fn decode(s: &Structure) -> ProcessorInfo {
        ProcessorInfo {
            handle: s.handle,
            socket: string_field(s, 0x04),
            processor_type: s.byte(0x05),
            manufacturer: string_field(s, 0x07),
            version: string_field(s, 0x10),
            max_speed_mhz: nonzero(s.word(0x14)),
            current_speed_mhz: nonzero(s.word(0x16)),
            populated: s.byte(0x18).is_some_and(|b| b & 0x40 != 0),
            serial_number: string_field(s, 0x20),
            part_number: string_field(s, 0x22),
            core_count: count(s, 0x23, 0x2A),
            cores_enabled: count(s, 0x24, 0x2C),
            thread_count: count(s, 0x25, 0x2E),
        }
    }
}

/// Type 16 — Physical Memory Array (§7.17).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemoryArray {
    /// Handle of the structure (type 17 structures point at it).
    pub handle: u16,
    /// Location (§7.17, offset 04h, §7.17.1), raw; 03h is "System board or motherboard".
    pub location: Option<u8>,
    /// Use (05h, §7.17.2), raw; 03h is "System memory".
    pub usage: Option<u8>,
    /// Maximum capacity in bytes: 07h in KiB, or Extended Maximum Capacity (0Fh, bytes; 2.7+)
    /// when 07h is 8000_0000h.
    pub max_capacity_bytes: Option<u64>,
    /// Number of memory devices (slots or soldered chips) the array has (0Dh).
    pub slot_count: Option<u16>,
    /// Memory Error Correction (06h, §7.17.3), raw: 03h None, 04h Parity, 05h Single-bit
    /// ECC, 06h Multi-bit ECC, 07h CRC.
    pub error_correction: Option<u8>,
}

impl MemoryArray {
    /// Decodes a type 16 structure.
    pub fn decode(s: &Structure) -> MemoryArray {
        let max_capacity_bytes = match s.dword(0x07) {
            Some(0x8000_0000) => s.qword(0x0F).filter(|v| *v != 0),
            Some(0) | None => None,
            Some(kib) => Some(u64::from(kib) * 1024),
        };
        MemoryArray {
            handle: s.handle,
            location: s.byte(0x04),
            usage: s.byte(0x05),
            max_capacity_bytes,
            slot_count: s.word(0x0D),
            error_correction: s.byte(0x06),
        }
    }

    /// The name of the error correction (§7.17.3), `None` for "Other", "Unknown" or a value
    /// the specification does not define.
    pub fn error_correction_name(&self) -> Option<&'static str> {
        match self.error_correction? {
            0x03 => Some("None"),
            0x04 => Some("Parity"),
            0x05 => Some("Single-bit ECC"),
            0x06 => Some("Multi-bit ECC"),
            0x07 => Some("CRC"),
            _ => None,
        }
    }

    /// Whether this array is system memory (use 03h), not flash, cache or video memory.
    pub fn is_system_memory(&self) -> bool {
        self.usage == Some(0x03)
    }
}

/// Size of a memory device (§7.18, Size at 0Ch and Extended Size at 1Ch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MemorySize {
    /// "No memory device installed in the socket" (size 0).
    Empty,
    /// "Size unknown" (FFFFh), or the field is missing.
    Unknown,
    /// Installed, this many bytes.
    Bytes(u64),
}

impl MemorySize {
    /// Bytes, when known and installed.
    pub fn bytes(&self) -> Option<u64> {
        match self {
            MemorySize::Bytes(b) => Some(*b),
            _ => None,
        }
    }

    /// §7.18 offsets 0Ch (Size) and 1Ch (Extended Size, 2.7+).
    fn decode(s: &Structure) -> MemorySize {
        match s.word(0x0C) {
            None | Some(0xFFFF) => MemorySize::Unknown,
            Some(0) => MemorySize::Empty,
            // 7FFFh: the size is in Extended Size, MiB in bits 30:0 (bit 31 reserved).
            Some(0x7FFF) => match s.dword(0x1C) {
                Some(ext) => MemorySize::Bytes(u64::from(ext & 0x7FFF_FFFF) << 20),
                None => MemorySize::Unknown,
            },
            // Bit 15: granularity, 0 = MiB, 1 = KiB.
            Some(w) if w & 0x8000 != 0 => MemorySize::Bytes(u64::from(w & 0x7FFF) << 10),
            Some(w) => MemorySize::Bytes(u64::from(w) << 20),
        }
    }
}

/// Memory device form factor (§7.18.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)] // the variants are the specification's names, see `name()`
pub enum FormFactor {
    Other,
    Unknown,
    Simm,
    Sip,
    Chip,
    Dip,
    Zip,
    ProprietaryCard,
    Dimm,
    Tsop,
    RowOfChips,
    Rimm,
    Sodimm,
    Srimm,
    FbDimm,
    Die,
    Camm,
    /// A value the table does not define.
    Unrecognized(u8),
}

impl FormFactor {
    /// From the form factor byte (§7.18, offset 0Eh).
    pub fn from_byte(b: u8) -> FormFactor {
        use FormFactor::*;
        match b {
            0x01 => Other,
            0x02 => Unknown,
            0x03 => Simm,
            0x04 => Sip,
            0x05 => Chip,
            0x06 => Dip,
            0x07 => Zip,
            0x08 => ProprietaryCard,
            0x09 => Dimm,
            0x0A => Tsop,
            0x0B => RowOfChips,
            0x0C => Rimm,
            0x0D => Sodimm,
            0x0E => Srimm,
            0x0F => FbDimm,
            0x10 => Die,
            0x11 => Camm, // added in 3.7
            other => Unrecognized(other),
        }
    }

    /// The specification's name ("DIMM", "SODIMM"…).
    pub fn name(&self) -> &'static str {
        use FormFactor::*;
        match self {
            Other => "Other",
            Unknown => "Unknown",
            Simm => "SIMM",
            Sip => "SIP",
            Chip => "Chip",
            Dip => "DIP",
            Zip => "ZIP",
            ProprietaryCard => "Proprietary Card",
            Dimm => "DIMM",
            Tsop => "TSOP",
            RowOfChips => "Row of chips",
            Rimm => "RIMM",
            Sodimm => "SODIMM",
            Srimm => "SRIMM",
            FbDimm => "FB-DIMM",
            Die => "Die",
            Camm => "CAMM",
            Unrecognized(_) => "Unrecognized",
        }
    }
}

/// Memory device type (§7.18.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)] // the variants are the specification's names, see `name()`
pub enum MemoryType {
    Other,
    Unknown,
    Dram,
    Edram,
    Vram,
    Sram,
    Ram,
    Rom,
    Flash,
    Eeprom,
    Feprom,
    Eprom,
    Cdram,
    ThreeDram,
    Sdram,
    Sgram,
    Rdram,
    Ddr,
    Ddr2,
    Ddr2FbDimm,
    Ddr3,
    Fbd2,
    Ddr4,
    Lpddr,
    Lpddr2,
    Lpddr3,
    Lpddr4,
    LogicalNonVolatile,
    Hbm,
    Hbm2,
    Ddr5,
    Lpddr5,
    Hbm3,
    /// A value the table does not define (or a reserved one).
    Unrecognized(u8),
}

impl MemoryType {
    /// From the memory type byte (§7.18, offset 12h).
    pub fn from_byte(b: u8) -> MemoryType {
        use MemoryType::*;
        match b {
            0x01 => Other,
            0x02 => Unknown,
            0x03 => Dram,
            0x04 => Edram,
            0x05 => Vram,
            0x06 => Sram,
            0x07 => Ram,
            0x08 => Rom,
            0x09 => Flash,
            0x0A => Eeprom,
            0x0B => Feprom,
            0x0C => Eprom,
            0x0D => Cdram,
            0x0E => ThreeDram,
            0x0F => Sdram,
            0x10 => Sgram,
            0x11 => Rdram,
            0x12 => Ddr,
            0x13 => Ddr2,
            0x14 => Ddr2FbDimm,
            // 15h–17h are reserved.
            0x18 => Ddr3,
            0x19 => Fbd2,
            0x1A => Ddr4,
            0x1B => Lpddr,
            0x1C => Lpddr2,
            0x1D => Lpddr3,
            0x1E => Lpddr4,
            0x1F => LogicalNonVolatile,
            0x20 => Hbm,
            0x21 => Hbm2,
            0x22 => Ddr5,
            0x23 => Lpddr5,
            0x24 => Hbm3,
            other => Unrecognized(other),
        }
    }

    /// The specification's name ("DDR4", "LPDDR5"…).
    pub fn name(&self) -> &'static str {
        use MemoryType::*;
        match self {
            Other => "Other",
            Unknown => "Unknown",
            Dram => "DRAM",
            Edram => "EDRAM",
            Vram => "VRAM",
            Sram => "SRAM",
            Ram => "RAM",
            Rom => "ROM",
            Flash => "FLASH",
            Eeprom => "EEPROM",
            Feprom => "FEPROM",
            Eprom => "EPROM",
            Cdram => "CDRAM",
            ThreeDram => "3DRAM",
            Sdram => "SDRAM",
            Sgram => "SGRAM",
            Rdram => "RDRAM",
            Ddr => "DDR",
            Ddr2 => "DDR2",
            Ddr2FbDimm => "DDR2 FB-DIMM",
            Ddr3 => "DDR3",
            Fbd2 => "FBD2",
            Ddr4 => "DDR4",
            Lpddr => "LPDDR",
            Lpddr2 => "LPDDR2",
            Lpddr3 => "LPDDR3",
            Lpddr4 => "LPDDR4",
            LogicalNonVolatile => "Logical non-volatile device",
            Hbm => "HBM",
            Hbm2 => "HBM2",
            Ddr5 => "DDR5",
            Lpddr5 => "LPDDR5",
            Hbm3 => "HBM3",
            Unrecognized(_) => "Unrecognized",
        }
    }
}

/// Type 17 — Memory Device (§7.18): one slot, populated or empty, or one soldered package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemorySlot {
    /// Handle of the structure.
    pub handle: u16,
    /// Handle of the Physical Memory Array (type 16) it belongs to (§7.18, offset 04h).
    pub array_handle: Option<u16>,
    /// Size (0Ch, or Extended Size at 1Ch, 2.7+, when 0Ch is 7FFFh).
    pub size: MemorySize,
    /// Form factor (0Eh, §7.18.1).
    pub form_factor: Option<FormFactor>,
    /// Device locator, the slot's silkscreen name (10h, string).
    pub locator: Field,
    /// Bank locator (11h, string).
    pub bank_locator: Field,
    /// Memory type (12h, §7.18.2).
    pub memory_type: Option<MemoryType>,
    /// Maximum speed, MT/s (15h; 2.3+), or Extended Speed (54h, bits 30:0; 3.3+) when 15h
    /// is FFFFh. 0 = unknown.
    pub speed_mts: Option<u32>,
    /// Configured speed, MT/s (20h; 2.7+), or Extended Configured Memory Speed (58h; 3.3+)
    /// when 20h is FFFFh.
    pub configured_speed_mts: Option<u32>,
    /// Manufacturer (17h, string; 2.3+).
    pub manufacturer: Field,
    /// Serial number (18h, string; 2.3+).
    pub serial_number: Field,
    /// Asset tag (19h, string; 2.3+).
    pub asset_tag: Field,
    /// Part number (1Ah, string; 2.3+).
    pub part_number: Field,
    /// Rank (1Bh, bits 3:0; 2.6+; 0 = unknown).
    pub rank: Option<u8>,
}

/// §7.18 speeds: a WORD where 0 is unknown and FFFFh means "see the extended DWORD", whose
/// bit 31 is reserved.
fn speed(s: &Structure, word_off: usize, ext_off: usize) -> Option<u32> {
    match s.word(word_off)? {
        0 => None,
        0xFFFF => s
            .dword(ext_off)
            .map(|d| d & 0x7FFF_FFFF)
            .filter(|d| *d != 0),
        w => Some(u32::from(w)),
    }
}

impl MemorySlot {
    /// Decodes a type 17 structure.
    pub fn decode(s: &Structure) -> MemorySlot {
        MemorySlot {
            handle: s.handle,
            array_handle: s.word(0x04),
            size: MemorySize::decode(s),
            form_factor: s.byte(0x0E).map(FormFactor::from_byte),
            locator: string_field(s, 0x10),
            bank_locator: string_field(s, 0x11),
            memory_type: s.byte(0x12).map(MemoryType::from_byte),
            speed_mts: speed(s, 0x15, 0x54),
            configured_speed_mts: speed(s, 0x20, 0x58),
            manufacturer: string_field(s, 0x17),
            serial_number: string_field(s, 0x18),
            asset_tag: string_field(s, 0x19),
            part_number: string_field(s, 0x1A),
            rank: s.byte(0x1B).map(|b| b & 0x0F).filter(|r| *r != 0),
        }
    }

    /// Whether a module is installed (size known and non-zero, or unknown but reported).
    pub fn is_populated(&self) -> bool {
        !matches!(self.size, MemorySize::Empty)
    }
}

/// Minimum formatted lengths decoded here: the first version of each structure (§7.1 2.0:
/// 12h; §7.2 2.0: 08h; §7.3: 08h; §7.4 2.0: 09h; §7.5 2.0: 1Ah; §7.17: 0Fh; §7.18 2.1: 15h).
fn minimum_length(kind: u8) -> usize {
    match kind {
        0 => 0x12,
        1 => 0x08,
        2 => 0x08,
        3 => 0x09,
        4 => 0x1A,
        16 => 0x0F,
        17 => 0x15,
        _ => 0x04,
    }
}

impl SmbiosTables {
    /// Structures of `kind` that are long enough to decode, and a problem for each that is not.
    fn decodable(&self, kind: u8) -> (Vec<&Structure>, Vec<TableProblem>) {
        let min = minimum_length(kind);
        let mut ok = Vec::new();
        let mut problems = Vec::new();
        for s in self.of_type(kind) {
            if s.formatted.len() >= min {
                ok.push(s);
            } else {
                problems.push(TableProblem::TooShort {
                    kind,
                    handle: s.handle,
                    length: s.formatted.len(),
                    minimum: min,
                });
            }
        }
        (ok, problems)
    }

    /// Problems of the decodable structures: the table's own problems plus every structure of
    /// a decoded type that is too short to read.
    pub fn decode_problems(&self) -> Vec<TableProblem> {
        let mut all = self.problems.clone();
        for kind in [0, 1, 2, 3, 4, 16, 17] {
            all.extend(self.decodable(kind).1);
        }
        all
    }

    /// The first BIOS Information structure.
    pub fn bios(&self) -> Option<BiosInfo> {
        self.decodable(0).0.first().map(|s| BiosInfo::decode(s))
    }

    /// The first System Information structure.
    pub fn system(&self) -> Option<SystemInfo> {
        let version = self.version();
        self.decodable(1)
            .0
            .first()
            .map(|s| SystemInfo::decode(s, version))
    }

    /// The first Baseboard structure (the motherboard comes first on real machines).
    pub fn baseboard(&self) -> Option<BaseboardInfo> {
        self.decodable(2)
            .0
            .first()
            .map(|s| BaseboardInfo::decode(s))
    }

    /// The first Chassis structure.
    pub fn chassis(&self) -> Option<ChassisInfo> {
        self.decodable(3).0.first().map(|s| ChassisInfo::decode(s))
    }

    /// Every Processor structure (one per socket, populated or not).
    pub fn processors(&self) -> Vec<ProcessorInfo> {
        self.decodable(4)
            .0
            .into_iter()
            .map(ProcessorInfo::decode)
            .collect()
    }

    /// Every Physical Memory Array.
    pub fn memory_arrays(&self) -> Vec<MemoryArray> {
        self.decodable(16)
            .0
            .into_iter()
            .map(MemoryArray::decode)
            .collect()
    }

    /// Every Memory Device, empty slots included, in table order.
    pub fn memory_slots(&self) -> Vec<MemorySlot> {
        self.decodable(17)
            .0
            .into_iter()
            .map(MemorySlot::decode)
            .collect()
    }
}
