//! Reading the machine's identity and memory under a root path, and merging the two sources
//! (`/sys/class/dmi/id` and the raw tables).

use std::io;
use std::path::Path;

use serde::Serialize;

use super::decode::{
    BaseboardInfo, BiosInfo, ChassisInfo, ChassisKind, MemoryArray, MemorySlot, ProcessorInfo,
    SystemInfo, decode_text,
};
use super::placeholder::Field;
use super::table::{SmbiosTables, SmbiosVersion};

/// Who the machine is: the DMI identity fields, each a [`Field`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SystemIdentity {
    /// System manufacturer (type 1; sysfs `sys_vendor`).
    pub system_vendor: Field,
    /// Product name (type 1; `product_name`). Lenovo puts the machine type-model here.
    pub product_name: Field,
    /// Product version (type 1; `product_version`). Lenovo puts the marketing name here.
    pub product_version: Field,
    /// SKU (type 1; `product_sku`).
    pub sku: Field,
    /// Family (type 1; `product_family`).
    pub family: Field,
    /// System serial number (type 1; `product_serial`, root only).
    pub serial_number: Field,
    /// System UUID (type 1; `product_uuid`, root only).
    pub uuid: Field,
    /// Chassis type (type 3; `chassis_type`); `None` when no source says.
    pub chassis_type: Option<ChassisKind>,
    /// Chassis manufacturer (type 3; `chassis_vendor`).
    pub chassis_vendor: Field,
    /// Chassis serial number (type 3; `chassis_serial`, root only).
    pub chassis_serial: Field,
    /// Chassis asset tag (type 3; `chassis_asset_tag`).
    pub chassis_asset_tag: Field,
    /// Baseboard manufacturer (type 2; `board_vendor`).
    pub board_vendor: Field,
    /// Baseboard product name (type 2; `board_name`).
    pub board_name: Field,
    /// Baseboard version (type 2; `board_version`).
    pub board_version: Field,
    /// Baseboard serial number (type 2; `board_serial`, root only).
    pub board_serial: Field,
    /// Baseboard asset tag (type 2; `board_asset_tag`).
    pub board_asset_tag: Field,
    /// BIOS vendor (type 0; `bios_vendor`).
    pub bios_vendor: Field,
    /// BIOS version (type 0; `bios_version`).
    pub bios_version: Field,
    /// BIOS release date (type 0; `bios_date`).
    pub bios_date: Field,
}

/// State of one source of data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceState {
    /// Read.
    Read,
    /// Not there (a machine without SMBIOS, e.g. most ARM boards, or a VM like Firecracker).
    Missing,
    /// There, but only root may read it.
    NeedsRoot,
    /// There, but reading failed.
    Unreadable {
        /// The error.
        reason: String,
    },
}

/// Memory as SMBIOS describes it, checked against the kernel's `MemTotal`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemoryInventory {
    /// Physical memory arrays (type 16).
    pub arrays: Vec<MemoryArray>,
    /// Every memory device (type 17), empty slots included.
    pub slots: Vec<MemorySlot>,
    /// Sum of the installed system-memory devices, bytes, when every installed one has a
    /// known size.
    pub installed_bytes: Option<u64>,
    /// `MemTotal` from `/proc/meminfo`, KiB.
    pub mem_total_kib: Option<u64>,
    /// The outcome of [`cross_check_memory`].
    pub check: MemoryCheck,
}

/// Outcome of comparing the installed memory SMBIOS reports with what the kernel manages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryCheck {
    /// `MemTotal` is at most the installed size and at least 3/4 of it (firmware, kernel
    /// and integrated-graphics reservations take the rest).
    Consistent,
    /// The kernel manages more than SMBIOS says is installed: the tables miss or misreport
    /// modules (soldered memory is often left out).
    TablesUnderReport,
    /// The kernel manages less than 3/4 of the installed memory: a module may be failing or
    /// disabled, a large graphics carve-out configured, or the kernel limited (`mem=`).
    LargeGap,
    /// Nothing to compare; `reason` says what is missing.
    Unknown {
        /// What is missing.
        reason: String,
    },
}

/// Compares the installed memory (bytes) with `MemTotal` (KiB). See [`MemoryCheck`] for the
/// thresholds.
pub fn cross_check_memory(installed_bytes: Option<u64>, mem_total_kib: Option<u64>) -> MemoryCheck {
    let (installed, total) = match (installed_bytes, mem_total_kib) {
        (None, _) => {
            return MemoryCheck::Unknown {
                reason: "SMBIOS gives no installed memory size".into(),
            };
        }
        (_, None) => {
            return MemoryCheck::Unknown {
                reason: "no MemTotal in /proc/meminfo".into(),
            };
        }
        (Some(0), _) => {
            return MemoryCheck::Unknown {
                reason: "SMBIOS reports no installed module".into(),
            };
        }
        (Some(i), Some(t)) => (i, t.saturating_mul(1024)),
    };
    if total > installed {
        MemoryCheck::TablesUnderReport
    } else if total < installed / 4 * 3 {
        MemoryCheck::LargeGap
    } else {
        MemoryCheck::Consistent
    }
}

/// Everything this module reads from a machine: identity, processors, memory, and how each
/// source fared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SmbiosReport {
    /// The merged identity.
    pub identity: SystemIdentity,
    /// Processor sockets (tables only).
    pub processors: Vec<ProcessorInfo>,
    /// Memory devices (tables only) and the `MemTotal` cross-check.
    pub memory: MemoryInventory,
    /// SMBIOS version from the entry point.
    pub smbios_version: Option<SmbiosVersion>,
    /// BIOS Information (type 0) from the tables, for its characteristics (UEFI support).
    pub bios: Option<BiosInfo>,
    /// `/sys/class/dmi/id`.
    pub sysfs: SourceState,
    /// `/sys/firmware/dmi/tables/DMI`.
    pub tables: SourceState,
    /// What is unknown and why: table problems, disagreements between sources, unreadable
    /// files. Plain sentences for the record.
    pub notes: Vec<String>,
}

/// Reads one sysfs attribute as a [`Field`]: missing file → [`Field::Absent`]; EACCES /
/// EPERM → [`Field::NeedsRoot`]; other errors → [`Field::Unknown`]; otherwise the content
/// without its trailing newline, classified by [`Field::from_raw`].
pub fn read_sysfs_field(path: &Path) -> Field {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = decode_text(&bytes);
            Field::from_raw(text.strip_suffix('\n').unwrap_or(&text))
        }
        Err(e) => field_from_io_error(&e),
    }
}

/// The [`Field`] for a failed read.
pub fn field_from_io_error(e: &io::Error) -> Field {
    match e.kind() {
        io::ErrorKind::NotFound => Field::Absent,
        io::ErrorKind::PermissionDenied => Field::NeedsRoot,
        _ => Field::Unknown {
            reason: e.to_string(),
        },
    }
}

fn source_state(e: &io::Error) -> SourceState {
    match e.kind() {
        io::ErrorKind::NotFound => SourceState::Missing,
        io::ErrorKind::PermissionDenied => SourceState::NeedsRoot,
        _ => SourceState::Unreadable {
            reason: e.to_string(),
        },
    }
}

/// The identity as `/sys/class/dmi/id` (under `root`) tells it.
pub fn identity_from_sysfs(root: &Path) -> SystemIdentity {
    let dir = root.join("sys/class/dmi/id");
    let f = |name: &str| read_sysfs_field(&dir.join(name));
    let chassis_type = f("chassis_type")
        .value()
        .and_then(|v| v.parse::<u8>().ok())
        .map(ChassisKind::from_byte);
    SystemIdentity {
        system_vendor: f("sys_vendor"),
        product_name: f("product_name"),
        product_version: f("product_version"),
        sku: f("product_sku"),
        family: f("product_family"),
        serial_number: f("product_serial"),
        uuid: f("product_uuid"),
        chassis_type,
        chassis_vendor: f("chassis_vendor"),
        chassis_serial: f("chassis_serial"),
        chassis_asset_tag: f("chassis_asset_tag"),
        board_vendor: f("board_vendor"),
        board_name: f("board_name"),
        board_version: f("board_version"),
        board_serial: f("board_serial"),
        board_asset_tag: f("board_asset_tag"),
        bios_vendor: f("bios_vendor"),
        bios_version: f("bios_version"),
        bios_date: f("bios_date"),
    }
}

/// An identity with every field [`Field::Absent`].
fn absent_identity() -> SystemIdentity {
    SystemIdentity {
        system_vendor: Field::Absent,
        product_name: Field::Absent,
        product_version: Field::Absent,
        sku: Field::Absent,
        family: Field::Absent,
        serial_number: Field::Absent,
        uuid: Field::Absent,
        chassis_type: None,
        chassis_vendor: Field::Absent,
        chassis_serial: Field::Absent,
        chassis_asset_tag: Field::Absent,
        board_vendor: Field::Absent,
        board_name: Field::Absent,
        board_version: Field::Absent,
        board_serial: Field::Absent,
        board_asset_tag: Field::Absent,
        bios_vendor: Field::Absent,
        bios_version: Field::Absent,
        bios_date: Field::Absent,
    }
}

/// The identity as the tables tell it; the groups (BIOS, system, board, chassis) whose
/// structure the tables lack are `None`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableIdentity {
    /// Type 0.
    pub bios: Option<BiosInfo>,
    /// Type 1.
    pub system: Option<SystemInfo>,
    /// Type 2.
    pub board: Option<BaseboardInfo>,
    /// Type 3.
    pub chassis: Option<ChassisInfo>,
}

impl TableIdentity {
    /// Decodes the identity structures of `tables`.
    pub fn from_tables(tables: &SmbiosTables) -> TableIdentity {
        TableIdentity {
            bios: tables.bios(),
            system: tables.system(),
            board: tables.baseboard(),
            chassis: tables.chassis(),
        }
    }
}

/// Merges the two sources. **The tables win** for every group (BIOS, system, baseboard,
/// chassis) whose structure they hold: they are the firmware's own bytes, give the UUID in the
/// version's byte order, keep placeholders the kernel hides (all-zero UUIDs), and have no
/// "needs root" holes once readable. `sysfs` supplies the groups the tables lack — most often
/// because they were not readable (non-root: the table file is mode 0400 while most sysfs
/// attributes are world-readable). Where both have a real value and they differ, the table's
/// is kept and a note says so.
pub fn merge_identity(
    tables: &TableIdentity,
    sysfs: &SystemIdentity,
    notes: &mut Vec<String>,
) -> SystemIdentity {
    let mut out = sysfs.clone();
    let mut take = |name: &str, dst: &mut Field, table: &Field| {
        if let (Some(t), Some(s)) = (table.value(), dst.value())
            && t != s
        {
            notes.push(format!(
                "{name}: tables say {t:?}, sysfs says {s:?}; keeping the tables' value"
            ));
        }
        *dst = table.clone();
    };
    if let Some(b) = &tables.bios {
        take("bios_vendor", &mut out.bios_vendor, &b.vendor);
        take("bios_version", &mut out.bios_version, &b.version);
        take("bios_date", &mut out.bios_date, &b.release_date);
    }
    if let Some(s) = &tables.system {
        take("sys_vendor", &mut out.system_vendor, &s.manufacturer);
        take("product_name", &mut out.product_name, &s.product_name);
        take("product_version", &mut out.product_version, &s.version);
        take("product_sku", &mut out.sku, &s.sku);
        take("product_family", &mut out.family, &s.family);
        take("product_serial", &mut out.serial_number, &s.serial_number);
        take("product_uuid", &mut out.uuid, &s.uuid);
    }
    if let Some(b) = &tables.board {
        take("board_vendor", &mut out.board_vendor, &b.manufacturer);
        take("board_name", &mut out.board_name, &b.product);
        take("board_version", &mut out.board_version, &b.version);
        take("board_serial", &mut out.board_serial, &b.serial_number);
        take("board_asset_tag", &mut out.board_asset_tag, &b.asset_tag);
    }
    if let Some(c) = &tables.chassis {
        take("chassis_vendor", &mut out.chassis_vendor, &c.manufacturer);
        take("chassis_serial", &mut out.chassis_serial, &c.serial_number);
        take(
            "chassis_asset_tag",
            &mut out.chassis_asset_tag,
            &c.asset_tag,
        );
        if c.kind.is_some() {
            out.chassis_type = c.kind;
        }
    }
    out
}

/// `MemTotal` in KiB from a `/proc/meminfo` text.
pub fn parse_mem_total(meminfo: &str) -> Option<u64> {
    meminfo.lines().find_map(|l| {
        let rest = l.strip_prefix("MemTotal:")?;
        let mut parts = rest.split_whitespace();
        let n = parts.next()?.parse::<u64>().ok()?;
        match parts.next() {
            Some("kB") | None => Some(n),
            _ => None,
        }
    })
}

/// Builds the memory inventory from decoded tables and `MemTotal`. Only devices in system
/// memory arrays (type 16 use 03h) count towards the installed size; devices whose array is
/// not in the tables count too (firmware that omits type 16).
pub fn memory_inventory(tables: &SmbiosTables, mem_total_kib: Option<u64>) -> MemoryInventory {
    let arrays = tables.memory_arrays();
    let slots = tables.memory_slots();
    let counts = |slot: &MemorySlot| match slot
        .array_handle
        .and_then(|h| arrays.iter().find(|a| a.handle == h))
    {
        Some(array) => array.is_system_memory(),
        None => true,
    };
    let installed: Option<u64> = slots
        .iter()
        .filter(|s| counts(s) && s.is_populated())
        .try_fold(0u64, |acc, s| s.size.bytes().map(|b| acc.saturating_add(b)));
    let installed_bytes = if slots.is_empty() { None } else { installed };
    let check = if slots.is_empty() {
        MemoryCheck::Unknown {
            reason: "the SMBIOS tables list no memory device".into(),
        }
    } else if installed.is_none() {
        MemoryCheck::Unknown {
            reason: "an installed memory device has an unknown size".into(),
        }
    } else {
        cross_check_memory(installed_bytes, mem_total_kib)
    };
    MemoryInventory {
        arrays,
        slots,
        installed_bytes,
        mem_total_kib,
        check,
    }
}

/// Reads identity, processors and memory of the machine whose filesystem is at `root` (`/`
/// for this one; a captured tree in tests): `sys/class/dmi/id/*`,
/// `sys/firmware/dmi/tables/{DMI,smbios_entry_point}` and `proc/meminfo`.
///
/// Never fails: whatever cannot be read is marked ([`Field::NeedsRoot`], [`SourceState`],
/// [`MemoryCheck::Unknown`]) and explained in [`SmbiosReport::notes`].
pub fn read_smbios(root: &Path) -> SmbiosReport {
    let mut notes = Vec::new();
    let id_dir = root.join("sys/class/dmi/id");
    let sysfs_state = match std::fs::read_dir(&id_dir) {
        Ok(_) => SourceState::Read,
        Err(e) => source_state(&e),
    };
    let sysfs = if sysfs_state == SourceState::Read {
        identity_from_sysfs(root)
    } else {
        absent_identity()
    };

    let tables_dir = root.join("sys/firmware/dmi/tables");
    let (tables_state, tables) = match std::fs::read(tables_dir.join("DMI")) {
        Ok(table) => {
            let ep = match std::fs::read(tables_dir.join("smbios_entry_point")) {
                Ok(ep) => Some(ep),
                Err(e) => {
                    notes.push(format!(
                        "smbios_entry_point unreadable ({e}): SMBIOS version unknown"
                    ));
                    None
                }
            };
            (
                SourceState::Read,
                Some(SmbiosTables::parse(&table, ep.as_deref())),
            )
        }
        Err(e) => (source_state(&e), None),
    };
    match &tables_state {
        SourceState::Read => {}
        SourceState::Missing => notes.push("no SMBIOS tables on this machine (/sys/firmware/dmi/tables/DMI is absent)".into()),
        SourceState::NeedsRoot => notes.push(
            "SMBIOS tables unavailable (needs root): memory slots and processors unknown, identity from sysfs only".into(),
        ),
        SourceState::Unreadable { reason } => notes.push(format!("SMBIOS tables unreadable: {reason}")),
    }
    if sysfs_state == SourceState::Missing && tables_state == SourceState::Missing {
        notes.push(
            "no DMI data at all: identity must come from elsewhere (MAC address, devicetree)"
                .into(),
        );
    }

    let table_identity = tables
        .as_ref()
        .map(TableIdentity::from_tables)
        .unwrap_or_default();
    let identity = merge_identity(&table_identity, &sysfs, &mut notes);
    let mem_total_kib = std::fs::read_to_string(root.join("proc/meminfo"))
        .ok()
        .as_deref()
        .and_then(parse_mem_total);
    let (processors, memory, smbios_version) = match &tables {
        Some(t) => {
            notes.extend(
                t.decode_problems()
                    .iter()
                    .map(|p| format!("SMBIOS table: {p}")),
            );
            (
                t.processors(),
                memory_inventory(t, mem_total_kib),
                t.version(),
            )
        }
        None => {
            let reason = match &tables_state {
                SourceState::NeedsRoot => "SMBIOS tables unavailable (needs root)".to_owned(),
                SourceState::Missing => "no SMBIOS tables".to_owned(),
                SourceState::Unreadable { reason } => format!("SMBIOS tables unreadable: {reason}"),
                SourceState::Read => "SMBIOS tables not parsed".to_owned(),
            };
            let memory = MemoryInventory {
                arrays: Vec::new(),
                slots: Vec::new(),
                installed_bytes: None,
                mem_total_kib,
                check: MemoryCheck::Unknown { reason },
            };
            (Vec::new(), memory, None)
        }
    };
    SmbiosReport {
        identity,
        processors,
        memory,
        smbios_version,
        bios: table_identity.bios.clone(),
        sysfs: sysfs_state,
        tables: tables_state,
        notes,
    }
}

/// The merged identity of the machine at `root` (see [`read_smbios`] for the whole report,
/// and [`merge_identity`] for which source wins).
pub fn read_identity(root: &Path) -> SystemIdentity {
    read_smbios(root).identity
}
