//! GLPI native inventory export (`atelier inventory --format glpi`).
//!
//! [`glpi_inventory`] turns the record's `hardware` section into the JSON document that GLPI 10+
//! and the GLPI Agent exchange: `{"deviceid": …, "action": "inventory", "itemtype": "Computer",
//! "content": {…}}`, valid against the JSON schema of the `glpi-project/inventory_format`
//! repository (`inventory.schema.json`; `tests/glpi.rs` validates against a copy in
//! `shared/reference/glpi-inventory-format`). It is a pure function: no file is read, nothing
//! is sent.
//!
//! Only keys of the schema are written, and only values the bench really knows: a value that is
//! absent, a placeholder or needs root is left out (never an empty string). Sizes follow the
//! units the schema's titles give: memory in MiB, disks in MiB (GLPI agents use decimal MB for
//! disks, so a disk they inventory shows about 5 % larger), batteries in mWh.
//!
//! # `deviceid` and `hardware.name`
//!
//! GLPI agents name themselves `<hostname>-<YYYY-MM-DD-HH-MM-SS>` (host name and date of the
//! first inventory). The bench boots the same stick on many machines, so neither the host name
//! nor a date identifies the machine. Atelier's `deviceid` is
//! **`atelier-<16 lowercase hex digits>`**: the first 8 bytes of a SHA-256 digest of
//!
//! - the record's machine key (`hw.machine_key.value`), prefixed with `atelier machine key\n`;
//!   the same machine gives the same `deviceid` on every run, whatever the host name or date;
//! - without a machine key, the other identity fields (see [`device_id`]), prefixed with
//!   `atelier identity fields\n`. That is weaker: it changes when a disk is swapped, and it is
//!   the same for two machines that differ in none of those fields.
//!
//! `hardware.name` is never empty: the host name given in [`GlpiOptions`] (unless it is
//! `localhost`, `localhost.localdomain` or `(none)`), else the system model, else
//! `atelier-<first 8 hex digits of the same digest>`.
//!
//! # Mapping (our field → GLPI key)
//!
//! | Atelier (`HardwareSection`) | GLPI |
//! | --- | --- |
//! | machine key (hash) | `deviceid` |
//! | [`GlpiOptions::tag`] | `tag` |
//! | [`GlpiOptions::version_client`] | `content.versionclient` |
//! | `identity.system_vendor` | `bios.smanufacturer` |
//! | `identity.product_name`; Lenovo: `product_version` when it starts with Think/Idea/Yoga/Netfinity/Netvista/Intelli (as GLPI Agent does); else `devicetree_model` | `bios.smodel` |
//! | `identity.serial`, else `chassis_serial`, else `devicetree_serial` | `bios.ssn` |
//! | `identity.chassis_serial` | `bios.enclosureserial` |
//! | `identity.product_sku` | `bios.skunumber` |
//! | `identity.board_vendor` / `board_name` / `board_serial` | `bios.mmanufacturer` / `mmodel` / `msn` |
//! | `identity.bios_vendor` / `bios_version` | `bios.bmanufacturer` / `bversion` |
//! | `identity.bios_date` (`MM/DD/YYYY`, `MM/DD/YY`, or `YYYY-MM-DD`) | `bios.bdate` (`YYYY-MM-DD`; left out when unparsable) |
//! | `firmware.secure_boot` enabled / disabled / not applicable | `bios.secure_boot` `enabled` / `disabled` / `unsupported` |
//! | [`GlpiOptions::hostname`] / model / hash | `hardware.name` |
//! | `identity.uuid` | `hardware.uuid` |
//! | `identity.chassis_type` | `hardware.chassis_type` |
//! | `memory.total_bytes` (else `installed_bytes`) ÷ 2²⁰ | `hardware.memory` (MiB) |
//! | `cpu`, one entry per socket | `cpus[]` |
//! | `cpu.model` | `cpus[].name` |
//! | `cpu.vendor` (`GenuineIntel` → `Intel`, `AuthenticAMD` → `AMD`) | `cpus[].manufacturer` |
//! | `cpu.architecture` (`ppc64*` → `powerpc64`; left out when the schema's pattern refuses it, e.g. `riscv64`) | `cpus[].arch` |
//! | `cpu.cores` ÷ sockets | `cpus[].core` |
//! | `cpu.threads` ÷ `cpu.cores`, rounded up ("threads per core", as the schema says) | `cpus[].thread` |
//! | `cpu.max_frequency_mhz` | `cpus[].speed` |
//! | `memory.slots[i]`, empty slots included (as GLPI Agent does; GLPI skips those without capacity) | `memories[]` |
//! | slot position, from 1 | `memories[].numslots` |
//! | `locator` | `memories[].caption` |
//! | `form_factor` | `memories[].description` |
//! | `size_bytes` ÷ 2²⁰ | `memories[].capacity` (MiB) |
//! | `memory_type` / `manufacturer` / `serial` / `part_number` | `memories[].type` / `manufacturer` / `serialnumber` / `model` |
//! | `speed_mts`, else `configured_speed_mts` | `memories[].speed` (a string) |
//! | `disks[]` except the boot medium and loop devices | `storages[]` |
//! | `device.name` / `model` / `serial` / `firmware` / `wwn` | `storages[].name` / `model` / `serial` / `firmware` / `wwn` |
//! | `device.vendor` (not `ATA`) | `storages[].manufacturer` |
//! | `device.size_bytes` ÷ 2²⁰ | `storages[].disksize` (MiB) |
//! | `device.transport` (NVMe, SATA, SCSI, USB, MMC, virtio) | `storages[].interface` |
//! | `device.media` magnetic / flash | `storages[].type` `HDD` / `SSD` |
//! | `batteries[]` | `batteries[]` |
//! | `model`, else `name` | `batteries[].name` |
//! | `manufacturer` / `serial` / `technology` | `batteries[].manufacturer` / `serial` / `chemistry` |
//! | `design_capacity_mwh` / `full_capacity_mwh` | `batteries[].capacity` / `real_capacity` (mWh) |
//! | `manufacture_date` (full dates only) | `batteries[].date` |
//! | `memory.error_correction` (the board's) | `memories[].memorycorrection` |
//! | `screens[]` | `monitors[]` |
//! | `model`, else `<vendor code> <product code in hex>` | `monitors[].name`, `caption` |
//! | `vendor_name`, else `vendor_code` | `monitors[].manufacturer` |
//! | `serial` | `monitors[].serial` |
//! | `connector` without the `cardN-` prefix | `monitors[].port` |
//! | diagonal, native resolution, year | `monitors[].description`, e.g. `14.0", 1920x1080, 2017` |
//! | `pci_devices[]` | `controllers[]` |
//! | `device_name`, else `<class name> [vvvv:dddd]`, else `PCI device vvvv:dddd` | `controllers[].name`, `caption` |
//! | `vendor_name` | `controllers[].manufacturer` |
//! | `vendor_id` / `device_id` | `controllers[].vendorid` / `productid` |
//! | `subsystem_vendor_id:subsystem_device_id` | `controllers[].pcisubsystemid` |
//! | first 4 digits of `class_code` / `class_name` | `controllers[].pciclass` / `type` |
//! | `address` (`0000:` domain dropped) / `revision` / `driver` | `controllers[].pcislot` / `rev` / `driver` |
//! | `pci_devices[]` with `is_gpu` | `videos[]` (`name` as in `controllers`, `pcislot`) |
//! | `pci_devices[]` of class 0401 / 0403 (audio), else `peripherals.audio` | `sounds[]` (`name`, `manufacturer`, `description` = class name) |
//! | `network[]` | `networks[]` |
//! | `name` / `mac` / `driver` | `networks[].description` / `mac` / `driver` |
//! | `kind` `ethernet` / `wifi` (other kinds: no type) | `networks[].type` |
//! | (loopback and virtual interfaces are not in the record) | `networks[].virtualdev` `false` |
//!
//! Not exported, because the record does not have it: battery voltage and manufacturing date,
//! EDID bytes (`monitors[].base64`), video memory and resolution, IP configuration, the
//! operating system (the bench runs the stick's, not the machine's), software. The TPM and the
//! boot mode have no key in the schema.

use atelier_record::{
    Battery, Cpu, Disk, HardwareSection, MachineIdentity, MediaKind, MemorySlot, NetworkInterface,
    PciDevice, Screen, SecureBootState, Sourced, Transport, ValueState,
};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// One mebibyte, the "MB" of the schema's memory and disk sizes.
const MIB: u64 = 1 << 20;

/// Prefix of every `deviceid` (and of the fallback `hardware.name`).
const ID_PREFIX: &str = "atelier";

/// Host names that name no machine; `hardware.name` falls back to the model instead.
const NO_HOSTNAME: [&str; 3] = ["localhost", "localhost.localdomain", "(none)"];

/// More CPU sockets than this is garbage: one `cpus` entry with the totals instead.
const MAX_SOCKETS: u32 = 64;

/// What the export needs besides the hardware section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlpiOptions {
    /// The tool and its version, e.g. `atelier 0.1.0` (`content.versionclient`).
    pub version_client: String,
    /// The machine's host name, for `hardware.name`; `None` when it has none worth using.
    pub hostname: Option<String>,
    /// GLPI tag (`tag`), used by GLPI's rules to pick an entity.
    pub tag: Option<String>,
}

/// The GLPI native inventory of the machine described by `hw`.
///
/// The mapping is in the module documentation. The result validates against GLPI's
/// `inventory.schema.json`; `deviceid` is stable for a machine key (see [`device_id`]) and
/// `content.hardware.name` is never empty.
pub fn glpi_inventory(hw: &HardwareSection, opts: &GlpiOptions) -> Value {
    let digest = identity_digest(hw);

    let mut content = Obj::default();
    content.text(
        "versionclient",
        Some(text(Some(&opts.version_client)).unwrap_or(ID_PREFIX)),
    );
    content.object("bios", bios(hw));
    content.object("hardware", hardware(hw, opts, &digest));
    content.array("cpus", hw.cpu.as_ref().map(cpus).unwrap_or_default());
    content.array(
        "memories",
        hw.memory
            .slots
            .iter()
            .enumerate()
            .map(|slot| {
                let populated = slot.1.populated;
                let mut o = memory_slot(slot);
                if populated {
                    o.text(
                        "memorycorrection",
                        text(hw.memory.error_correction.as_deref()),
                    );
                }
                o
            })
            .collect(),
    );
    content.array("storages", hw.disks.iter().filter_map(storage).collect());
    content.array("batteries", hw.batteries.iter().map(battery).collect());
    content.array("monitors", hw.screens.iter().map(monitor).collect());
    content.array(
        "controllers",
        hw.pci_devices.iter().map(controller).collect(),
    );
    content.array(
        "videos",
        hw.pci_devices
            .iter()
            .filter(|d| d.is_gpu)
            .map(video)
            .collect(),
    );
    content.array("sounds", sounds(hw));
    content.array("networks", hw.network.iter().map(network).collect());

    let mut doc = Obj::default();
    doc.text("deviceid", Some(&device_id_from(&digest)));
    doc.text("action", Some("inventory"));
    doc.text("itemtype", Some("Computer"));
    doc.text("tag", text(opts.tag.as_deref()));
    doc.0.insert("content".into(), Value::Object(content.0));
    Value::Object(doc.0)
}

/// The `deviceid` of the machine described by `hw`: `atelier-` followed by 16 lowercase hex
/// digits, the first 8 bytes of a SHA-256 digest.
///
/// With a machine key, the digest is over `atelier machine key\n` and the key: stable across
/// runs, host names and dates. Without one, it is over `atelier identity fields\n` and, one
/// `name=value` line each, the known values of the system vendor, product name, version, SKU
/// and family, system, chassis and board serials, UUID, board vendor and name, devicetree model
/// and serial, CPU model, the serials of the disks (the boot medium excepted, sorted) and the
/// permanent MAC addresses (sorted). BIOS version and date and the memory size are left out
/// because updates and upgrades change them.
pub fn device_id(hw: &HardwareSection) -> String {
    device_id_from(&identity_digest(hw))
}

/// `atelier-<16 hex digits>` from the identity digest.
fn device_id_from(digest: &str) -> String {
    format!("{ID_PREFIX}-{}", &digest[..16])
}

/// Lowercase hex SHA-256 of the machine key, or of the identity fields without one.
fn identity_digest(hw: &HardwareSection) -> String {
    let mut hasher = Sha256::new();
    match text(hw.machine_key.value.as_deref()) {
        Some(key) => {
            hasher.update(b"atelier machine key\n");
            hasher.update(key.as_bytes());
        }
        None => {
            hasher.update(b"atelier identity fields\n");
            for line in identity_lines(hw) {
                hasher.update(line.as_bytes());
                hasher.update(b"\n");
            }
        }
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The `name=value` lines hashed when the record has no machine key.
fn identity_lines(hw: &HardwareSection) -> Vec<String> {
    let id = &hw.identity;
    let fields: [(&str, &Sourced<String>); 13] = [
        ("system_vendor", &id.system_vendor),
        ("product_name", &id.product_name),
        ("product_version", &id.product_version),
        ("product_sku", &id.product_sku),
        ("product_family", &id.product_family),
        ("serial", &id.serial),
        ("uuid", &id.uuid),
        ("chassis_serial", &id.chassis_serial),
        ("board_vendor", &id.board_vendor),
        ("board_name", &id.board_name),
        ("board_serial", &id.board_serial),
        ("devicetree_model", &id.devicetree_model),
        ("devicetree_serial", &id.devicetree_serial),
    ];
    let mut lines: Vec<String> = fields
        .iter()
        .filter_map(|(name, value)| known(value).map(|v| format!("{name}={v}")))
        .collect();
    if let Some(model) = hw.cpu.as_ref().and_then(|c| text(c.model.as_deref())) {
        lines.push(format!("cpu_model={model}"));
    }
    let mut disks: Vec<String> = hw
        .disks
        .iter()
        .filter(|d| !crate::grade::is_bench_stick(d))
        .filter_map(|d| text(d.device.serial.as_deref()).map(|s| format!("disk_serial={s}")))
        .collect();
    disks.sort();
    lines.extend(disks);
    let mut macs: Vec<String> = hw
        .network
        .iter()
        .filter(|n| n.mac_permanent)
        .filter_map(|n| text(n.mac.as_deref()).map(|m| format!("mac={}", m.to_lowercase())))
        .collect();
    macs.sort();
    lines.extend(macs);
    lines
}

/// `content.bios`.
fn bios(hw: &HardwareSection) -> Obj {
    let id = &hw.identity;
    let mut o = Obj::default();
    o.text("smanufacturer", known(&id.system_vendor));
    o.text("smodel", system_model(id));
    o.text(
        "ssn",
        known(&id.serial)
            .or_else(|| known(&id.chassis_serial))
            .or_else(|| known(&id.devicetree_serial)),
    );
    o.text("enclosureserial", known(&id.chassis_serial));
    o.text("skunumber", known(&id.product_sku));
    o.text("mmanufacturer", known(&id.board_vendor));
    o.text("mmodel", known(&id.board_name));
    o.text("msn", known(&id.board_serial));
    o.text("bmanufacturer", known(&id.bios_vendor));
    o.text("bversion", known(&id.bios_version));
    o.string("bdate", known(&id.bios_date).and_then(bios_date));
    o.text(
        "secure_boot",
        match hw.firmware.secure_boot {
            SecureBootState::Enabled => Some("enabled"),
            SecureBootState::Disabled => Some("disabled"),
            SecureBootState::NotApplicable => Some("unsupported"),
            SecureBootState::Unknown => None,
        },
    );
    o
}

/// The system model: the product name, except on Lenovo machines whose product version holds
/// the marketing name (the rule GLPI Agent applies), and the devicetree model on boards
/// without SMBIOS.
fn system_model(id: &MachineIdentity) -> Option<&str> {
    const LENOVO_NAMES: [&str; 6] = ["think", "idea", "yoga", "netfinity", "netvista", "intelli"];
    let lenovo = known(&id.system_vendor).is_some_and(|v| v.eq_ignore_ascii_case("lenovo"));
    let version = known(&id.product_version).filter(|v| {
        let lower = v.to_ascii_lowercase();
        LENOVO_NAMES.iter().any(|p| lower.starts_with(p))
    });
    match (lenovo, version) {
        (true, Some(version)) => Some(version),
        _ => known(&id.product_name).or_else(|| known(&id.devicetree_model)),
    }
}

/// The BIOS release date as `YYYY-MM-DD`, from SMBIOS's `MM/DD/YYYY` (or `MM/DD/YY` before
/// SMBIOS 2.3: 70–99 → 19xx, 00–69 → 20xx) or an ISO date already; `None` when it is not a
/// real calendar date.
fn bios_date(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let (slash, dash) = (raw.contains('/'), raw.contains('-'));
    let parts: Vec<&str> = raw.split(['/', '-']).collect();
    let numbers: Vec<u32> = parts
        .iter()
        .map(|p| {
            if !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()) {
                p.parse().ok()
            } else {
                None
            }
        })
        .collect::<Option<_>>()?;
    let (year, month, day) = match (parts.as_slice(), numbers.as_slice()) {
        ([y, _, _], &[year, month, day]) if dash && !slash && y.len() == 4 => (year, month, day),
        ([_, _, y], &[month, day, year]) if slash && !dash && y.len() == 4 => (year, month, day),
        ([_, _, y], &[month, day, year]) if slash && !dash && y.len() == 2 => (
            if year >= 70 { 1900 + year } else { 2000 + year },
            month,
            day,
        ),
        _ => return None,
    };
    let date = chrono::NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    Some(date.format("%Y-%m-%d").to_string())
}

/// `content.hardware`.
fn hardware(hw: &HardwareSection, opts: &GlpiOptions, digest: &str) -> Obj {
    let id = &hw.identity;
    let hostname = text(opts.hostname.as_deref())
        .filter(|h| !NO_HOSTNAME.iter().any(|n| h.eq_ignore_ascii_case(n)));
    let name = match hostname.or_else(|| system_model(id)) {
        Some(name) => name.to_owned(),
        None => format!("{ID_PREFIX}-{}", &digest[..8]),
    };
    let memory_bytes = hw
        .memory
        .total_bytes
        .get()
        .filter(|_| hw.memory.total_bytes.state == ValueState::Known)
        .copied()
        .or(hw.memory.installed_bytes);

    let mut o = Obj::default();
    o.string("name", Some(name));
    o.text("uuid", known(&id.uuid));
    o.text("chassis_type", known(&id.chassis_type));
    o.int("memory", memory_bytes.map(|b| b / MIB));
    o
}

/// `content.cpus`: one entry per socket when the totals divide evenly, else one entry.
fn cpus(cpu: &Cpu) -> Vec<Obj> {
    let sockets = cpu.sockets.unwrap_or(1).max(1);
    let divides = |n: Option<u32>| n.is_none_or(|n| n % sockets == 0);
    let entries = if sockets <= MAX_SOCKETS && divides(cpu.cores) && divides(cpu.threads) {
        sockets
    } else {
        1
    };
    let cores = cpu.cores.map(|c| c / entries);
    let threads_per_core = match (cpu.threads, cpu.cores) {
        (Some(t), Some(c)) if c > 0 => Some(t.div_ceil(c)),
        _ => None,
    };
    let manufacturer = text(cpu.vendor.as_deref()).map(|v| match v {
        "GenuineIntel" => "Intel",
        "AuthenticAMD" => "AMD",
        other => other,
    });
    let arch = cpu_arch(&cpu.architecture);

    (0..entries)
        .map(|_| {
            let mut o = Obj::default();
            o.text("name", text(cpu.model.as_deref()));
            o.text("manufacturer", manufacturer);
            o.text("arch", arch);
            o.int("core", cores.filter(|&c| c > 0).map(u64::from));
            o.int("thread", threads_per_core.filter(|&t| t > 0).map(u64::from));
            o.int(
                "speed",
                cpu.max_frequency_mhz.filter(|&f| f > 0).map(u64::from),
            );
            o
        })
        .collect()
}

/// The kernel's architecture name as the schema's `cpus.arch` pattern accepts it, or `None`.
fn cpu_arch(arch: &str) -> Option<&str> {
    let arch = arch.trim();
    let i86 = arch.len() == 4
        && arch.starts_with('i')
        && arch.ends_with("86")
        && arch.as_bytes()[1].is_ascii_digit();
    match arch {
        "ppc64" | "ppc64le" => Some("powerpc64"),
        "ppc" => Some("powerpc"),
        "mips" | "mips64" | "alpha" | "sparc" | "sparc64" | "m68k" | "x86_64" | "powerpc"
        | "powerpc64" | "aarch64" => Some(arch),
        _ if i86 || arch.starts_with("arm") => Some(arch),
        _ => None,
    }
}

/// One `content.memories` entry; `index` is the slot's position among the SMBIOS type-17
/// structures.
fn memory_slot((index, slot): (usize, &MemorySlot)) -> Obj {
    let mut o = Obj::default();
    o.int("numslots", u64::try_from(index + 1).ok());
    o.text("caption", text(slot.locator.as_deref()));
    o.text("description", text(slot.form_factor.as_deref()));
    if slot.populated {
        o.int(
            "capacity",
            slot.size_bytes.map(|b| b / MIB).filter(|&m| m > 0),
        );
    }
    o.text("type", text(slot.memory_type.as_deref()));
    o.string(
        "speed",
        slot.speed_mts
            .or(slot.configured_speed_mts)
            .filter(|&s| s > 0)
            .map(|s| s.to_string()),
    );
    o.text("manufacturer", text(slot.manufacturer.as_deref()));
    o.text("serialnumber", text(slot.serial.as_deref()));
    o.text("model", text(slot.part_number.as_deref()));
    o
}

/// One `content.storages` entry, or `None` for the bench's stick (it leaves with the
/// technician) and loop devices (not hardware).
fn storage(disk: &Disk) -> Option<Obj> {
    let dev = &disk.device;
    if crate::grade::is_bench_stick(disk) || dev.transport == Transport::Loop {
        return None;
    }
    let mut o = Obj::default();
    o.text("name", text(Some(&dev.name)));
    o.text("model", text(dev.model.as_deref()));
    o.text(
        "manufacturer",
        text(dev.vendor.as_deref()).filter(|v| !v.eq_ignore_ascii_case("ATA")),
    );
    o.text("serial", text(dev.serial.as_deref()));
    o.text("firmware", text(dev.firmware.as_deref()));
    o.text("wwn", text(dev.wwn.as_deref()));
    o.int("disksize", Some(dev.size_bytes / MIB));
    o.text(
        "interface",
        match dev.transport {
            Transport::Nvme => Some("NVMe"),
            Transport::Sata => Some("SATA"),
            Transport::Scsi => Some("SCSI"),
            Transport::Usb => Some("USB"),
            Transport::Mmc => Some("MMC"),
            Transport::Virtio => Some("virtio"),
            Transport::Loop | Transport::Other => None,
        },
    );
    o.text(
        "type",
        match dev.media {
            MediaKind::Magnetic => Some("HDD"),
            MediaKind::Flash => Some("SSD"),
            MediaKind::Virtual | MediaKind::Unknown => None,
        },
    );
    Some(o)
}

/// One `content.batteries` entry.
fn battery(bat: &Battery) -> Obj {
    let mut o = Obj::default();
    o.text(
        "name",
        text(bat.model.as_deref()).or_else(|| text(Some(&bat.name))),
    );
    o.text("manufacturer", text(bat.manufacturer.as_deref()));
    o.text("serial", text(bat.serial.as_deref()));
    o.text("chemistry", text(bat.technology.as_deref()));
    o.int("capacity", bat.design_capacity_mwh);
    o.int("real_capacity", bat.full_capacity_mwh);
    // The schema's date is a full YYYY-MM-DD; a year or month alone is left out.
    o.text(
        "date",
        bat.manufacture_date.as_deref().filter(|d| d.len() == 10),
    );
    o
}

/// One `content.monitors` entry.
fn monitor(screen: &Screen) -> Obj {
    let name = match text(screen.model.as_deref()) {
        Some(model) => model.to_owned(),
        None => match text(Some(&screen.vendor_code)) {
            Some(code) => format!("{code} {:04X}", screen.product_code),
            None => format!("{:04X}", screen.product_code),
        },
    };
    let port = screen
        .connector
        .split_once('-')
        .filter(|(card, _)| card.starts_with("card"))
        .map_or(screen.connector.as_str(), |(_, port)| port);
    let description: Vec<String> = [
        screen.diagonal_inches.map(|d| format!("{d:.1}\"")),
        screen
            .native_width
            .zip(screen.native_height)
            .map(|(w, h)| format!("{w}x{h}")),
        screen.made_year.map(|y| y.to_string()),
    ]
    .into_iter()
    .flatten()
    .collect();

    let mut o = Obj::default();
    o.string("caption", Some(name.clone()));
    o.string("name", Some(name));
    o.text(
        "manufacturer",
        text(screen.vendor_name.as_deref()).or_else(|| text(Some(&screen.vendor_code))),
    );
    o.text("serial", text(screen.serial.as_deref()));
    o.text("port", text(Some(port)));
    o.string(
        "description",
        Some(description.join(", ")).filter(|d| !d.is_empty()),
    );
    o
}

/// The name GLPI shows for a PCI device (also the name of its `videos` / `sounds` entry, which
/// GLPI uses to drop the duplicate controller).
fn pci_name(dev: &PciDevice) -> String {
    let ids = format!(
        "{}:{}",
        dev.vendor_id.trim().to_lowercase(),
        dev.device_id.trim().to_lowercase()
    );
    match (
        text(dev.device_name.as_deref()),
        text(dev.class_name.as_deref()),
    ) {
        (Some(name), _) => name.to_owned(),
        (None, Some(class)) => format!("{class} [{ids}]"),
        (None, None) => format!("PCI device {ids}"),
    }
}

/// The bus address as lspci prints it: the `0000:` domain dropped.
fn pci_slot(dev: &PciDevice) -> Option<&str> {
    let address = text(Some(&dev.address))?;
    Some(address.strip_prefix("0000:").unwrap_or(address))
}

/// One `content.controllers` entry.
fn controller(dev: &PciDevice) -> Obj {
    let name = pci_name(dev);
    let class = dev.class_code.trim();
    let mut o = Obj::default();
    o.string("caption", Some(name.clone()));
    o.string("name", Some(name));
    o.text("manufacturer", text(dev.vendor_name.as_deref()));
    o.string(
        "vendorid",
        text(Some(&dev.vendor_id)).map(str::to_lowercase),
    );
    o.string(
        "productid",
        text(Some(&dev.device_id)).map(str::to_lowercase),
    );
    o.string(
        "pcisubsystemid",
        text(dev.subsystem_vendor_id.as_deref())
            .zip(text(dev.subsystem_device_id.as_deref()))
            .map(|(v, d)| format!("{v}:{d}").to_lowercase()),
    );
    o.string(
        "pciclass",
        class
            .get(..4)
            .filter(|c| c.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(str::to_lowercase),
    );
    o.text("type", text(dev.class_name.as_deref()));
    o.text("pcislot", pci_slot(dev));
    o.text("rev", text(dev.revision.as_deref()));
    o.text("driver", text(dev.driver.as_deref()));
    o
}

/// One `content.videos` entry (a GPU).
fn video(dev: &PciDevice) -> Obj {
    let mut o = Obj::default();
    o.string("name", Some(pci_name(dev)));
    o.text("pcislot", pci_slot(dev));
    o
}

/// `content.sounds`: PCI audio devices (class 0401 audio, 0403 HD audio), else the sound cards
/// the kernel names.
fn sounds(hw: &HardwareSection) -> Vec<Obj> {
    let pci: Vec<Obj> = hw
        .pci_devices
        .iter()
        .filter(|d| {
            let class = d.class_code.trim();
            class.starts_with("0401") || class.starts_with("0403")
        })
        .map(|d| {
            let mut o = Obj::default();
            o.string("name", Some(pci_name(d)));
            o.text("manufacturer", text(d.vendor_name.as_deref()));
            o.text("description", text(d.class_name.as_deref()));
            o
        })
        .collect();
    if !pci.is_empty() {
        return pci;
    }
    hw.peripherals
        .audio
        .iter()
        .filter_map(|name| text(Some(name)))
        .map(|name| {
            let mut o = Obj::default();
            o.text("name", Some(name));
            o
        })
        .collect()
}

/// One `content.networks` entry.
fn network(iface: &NetworkInterface) -> Obj {
    let mut o = Obj::default();
    o.text(
        "description",
        Some(text(Some(&iface.name)).unwrap_or("unnamed")),
    );
    o.text("mac", text(iface.mac.as_deref()));
    o.text(
        "type",
        match iface.kind.as_str() {
            "ethernet" => Some("ethernet"),
            "wifi" => Some("wifi"),
            _ => None,
        },
    );
    o.bool("virtualdev", false);
    o.text("driver", text(iface.driver.as_deref()));
    o
}

/// The value of a [`Sourced`] text when it is known and not blank.
fn known(value: &Sourced<String>) -> Option<&str> {
    if value.state != ValueState::Known {
        return None;
    }
    text(value.get().map(String::as_str))
}

/// `value` trimmed, or `None` when it is absent or blank.
fn text(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// A JSON object that only takes present values.
#[derive(Debug, Default)]
struct Obj(Map<String, Value>);

impl Obj {
    /// Sets `key` to the text, when there is one.
    fn text(&mut self, key: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.0.insert(key.into(), Value::String(value.into()));
        }
    }

    /// Sets `key` to the owned text, when there is one and it is not blank.
    fn string(&mut self, key: &str, value: Option<String>) {
        self.text(key, text(value.as_deref()));
    }

    /// Sets `key` to the integer, when there is one.
    fn int(&mut self, key: &str, value: Option<u64>) {
        if let Some(value) = value {
            self.0.insert(key.into(), Value::from(value));
        }
    }

    /// Sets `key` to the boolean.
    fn bool(&mut self, key: &str, value: bool) {
        self.0.insert(key.into(), Value::Bool(value));
    }

    /// Sets `key` to the object, when it has at least one key.
    fn object(&mut self, key: &str, value: Obj) {
        if !value.0.is_empty() {
            self.0.insert(key.into(), Value::Object(value.0));
        }
    }

    /// Sets `key` to the array of the non-empty objects, when there is at least one.
    fn array(&mut self, key: &str, items: Vec<Obj>) {
        let items: Vec<Value> = items
            .into_iter()
            .filter(|o| !o.0.is_empty())
            .map(|o| Value::Object(o.0))
            .collect();
        if !items.is_empty() {
            self.0.insert(key.into(), Value::Array(items));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bios_dates_become_iso_dates() {
        assert_eq!(bios_date("03/15/2018").as_deref(), Some("2018-03-15"));
        assert_eq!(bios_date("12/31/99").as_deref(), Some("1999-12-31"));
        assert_eq!(bios_date("01/02/03").as_deref(), Some("2003-01-02"));
        assert_eq!(bios_date("2020-02-29").as_deref(), Some("2020-02-29"));
        assert_eq!(bios_date(" 04/01/2014 ").as_deref(), Some("2014-04-01"));
        for bad in [
            "",
            "02/30/2019",
            "13/01/2019",
            "2019-13-01",
            "03/15/2018 10:00",
            "3.15.2018",
            "Unknown",
            "//",
            "03/15/201",
            "99999/1/1",
            "01/01/+018",
            "03-15/2018",
        ] {
            assert_eq!(bios_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn architectures_follow_the_schema_pattern() {
        assert_eq!(cpu_arch("x86_64"), Some("x86_64"));
        assert_eq!(cpu_arch("i686"), Some("i686"));
        assert_eq!(cpu_arch("aarch64"), Some("aarch64"));
        assert_eq!(cpu_arch("armv7l"), Some("armv7l"));
        assert_eq!(cpu_arch("ppc64le"), Some("powerpc64"));
        assert_eq!(cpu_arch("riscv64"), None);
        assert_eq!(cpu_arch("ix86"), None);
        assert_eq!(cpu_arch(""), None);
    }
}
