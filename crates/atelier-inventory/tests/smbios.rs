//! SMBIOS parser, placeholder filter, identity reader and machine key, tested on tables
//! captured in QEMU and on real machines (tests/fixtures/smbios/README.md says where each
//! comes from), cross-checked against the `dmidecode` output stored beside each dump.

use std::fs;
use std::path::{Path, PathBuf};

use atelier_inventory::smbios::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/smbios")
        .join(name)
}

fn read_tables(root: &Path) -> SmbiosTables {
    let dir = root.join("sys/firmware/dmi/tables");
    let table = fs::read(dir.join("DMI")).expect("fixture DMI");
    let ep = fs::read(dir.join("smbios_entry_point")).expect("fixture entry point");
    SmbiosTables::parse(&table, Some(&ep))
}

fn value(f: &Field) -> &str {
    f.value()
        .unwrap_or_else(|| panic!("expected a value, got {f:?}"))
}

fn placeholder(f: &Field) -> &str {
    match f {
        Field::Placeholder { raw } => raw,
        other => panic!("expected a placeholder, got {other:?}"),
    }
}

const GIB: u64 = 1 << 30;

// ---------------------------------------------------------------------------------------------
// QEMU captures (tests/vm harness, profile vm_profile_thinkpad and an i440fx whitebox)
// ---------------------------------------------------------------------------------------------

#[test]
fn qemu_thinkpad_every_profile_value_comes_out() {
    let root = fixture("qemu-thinkpad");
    let report = read_smbios(&root);
    assert_eq!(report.sysfs, SourceState::Read);
    assert_eq!(report.tables, SourceState::Read);
    assert_eq!(report.smbios_version, Some(SmbiosVersion::new(2, 8, 0)));
    assert!(report.notes.is_empty(), "{:#?}", report.notes);

    let id = &report.identity;
    assert_eq!(value(&id.bios_vendor), "LENOVO");
    // The firmware's inner space is data; only the ends are trimmed.
    assert_eq!(value(&id.bios_version), "GJET99WW (2.49 )");
    assert_eq!(value(&id.bios_date), "03/21/2019");
    assert_eq!(value(&id.system_vendor), "LENOVO");
    assert_eq!(value(&id.product_name), "20AN00A1FR");
    assert_eq!(value(&id.product_version), "ThinkPad T440p");
    assert_eq!(value(&id.serial_number), "PF0ABCDE");
    assert_eq!(value(&id.uuid), "11111111-2222-3333-4444-555555555555");
    assert_eq!(value(&id.sku), "LENOVO_MT_20AN_BU_Think_FM_ThinkPad T440p");
    assert_eq!(value(&id.family), "ThinkPad T440p");
    assert_eq!(value(&id.board_vendor), "LENOVO");
    assert_eq!(value(&id.board_name), "20AN00A1FR");
    assert_eq!(value(&id.board_serial), "L1HF000000A");
    // QEMU fills the board and chassis versions with the machine type.
    assert_eq!(value(&id.board_version), "pc-q35-7.2");
    assert_eq!(id.board_asset_tag, Field::Absent);
    assert_eq!(value(&id.chassis_vendor), "LENOVO");
    assert_eq!(value(&id.chassis_serial), "PF0ABCDE");
    // Lenovo's own "no asset tag" text, set by the profile: a placeholder, raw kept.
    assert_eq!(placeholder(&id.chassis_asset_tag), "No Asset Information");
    // QEMU 7.2 always writes chassis type 1 whatever -smbios type=3 says.
    assert_eq!(id.chassis_type, Some(ChassisKind::Other));
    assert_eq!(id.chassis_type.map(|c| c.name()), Some("Other"));

    // One type-17 device with the profile's values. QEMU writes memory type 07h ("RAM") and
    // form factor 09h ("DIMM") whatever the profile says.
    let slots = &report.memory.slots;
    assert_eq!(slots.len(), 1);
    let s = &slots[0];
    assert_eq!(value(&s.manufacturer), "Samsung");
    assert_eq!(value(&s.part_number), "M471B5173QH0-YK0");
    assert_eq!(s.speed_mts, Some(1600));
    assert_eq!(s.configured_speed_mts, Some(1600));
    assert_eq!(value(&s.locator), "ChannelA-DIMM 0");
    assert_eq!(value(&s.bank_locator), "BANK");
    // serial=12345678 in the profile is a textbook fake serial.
    assert_eq!(placeholder(&s.serial_number), "12345678");
    assert_eq!(s.size, MemorySize::Bytes(GIB));
    assert_eq!(s.memory_type, Some(MemoryType::Ram));
    assert_eq!(s.form_factor, Some(FormFactor::Dimm));
    assert_eq!(report.memory.arrays.len(), 1);
    assert_eq!(report.memory.arrays[0].slot_count, Some(1));
    assert_eq!(report.memory.installed_bytes, Some(GIB));
    assert_eq!(report.memory.mem_total_kib, Some(983_496));
    assert_eq!(report.memory.check, MemoryCheck::Consistent);

    assert_eq!(report.processors.len(), 1);
    assert_eq!(value(&report.processors[0].manufacturer), "QEMU");
    assert!(report.processors[0].populated);

    let key = machine_key(&KeyCandidates {
        serial_number: Some(&id.serial_number),
        uuid: Some(&id.uuid),
        board_serial: Some(&id.board_serial),
        ..Default::default()
    })
    .expect("a key");
    assert_eq!(
        key.key,
        "smbios:PF0ABCDE:11111111-2222-3333-4444-555555555555"
    );
    assert_eq!(key.source, KeySource::SerialAndUuid);
    assert!(!key.weak);
}

#[test]
fn qemu_thinkpad_sysfs_alone_agrees_with_the_tables() {
    let root = fixture("qemu-thinkpad");
    let sysfs = identity_from_sysfs(&root);
    let merged = read_identity(&root);
    // Running as root in the guest, every attribute was readable: the two sources agree,
    // except that the kernel shows "no string" (string number 0) as an empty file, a
    // placeholder, where the tables say plainly that there is none.
    assert_eq!(
        sysfs.board_asset_tag,
        Field::Placeholder { raw: String::new() }
    );
    assert_eq!(merged.board_asset_tag, Field::Absent);
    let mut sysfs = sysfs;
    sysfs.board_asset_tag = Field::Absent;
    assert_eq!(sysfs, merged);
}

#[test]
fn qemu_i440fx_whitebox_placeholders_and_board_serial_key() {
    let root = fixture("qemu-i440fx-whitebox");
    let report = read_smbios(&root);
    assert_eq!(report.smbios_version, Some(SmbiosVersion::new(2, 8, 0)));
    let id = &report.identity;
    assert_eq!(placeholder(&id.system_vendor), "System manufacturer");
    assert_eq!(placeholder(&id.product_name), "System Product Name");
    assert_eq!(placeholder(&id.product_version), "System Version");
    assert_eq!(placeholder(&id.serial_number), "System Serial Number");
    assert_eq!(placeholder(&id.sku), "SKU");
    assert_eq!(placeholder(&id.family), "To be filled by O.E.M.");
    // No uuid given: QEMU writes 16 zero bytes; the kernel hides product_uuid, the tables
    // keep the raw value as a placeholder.
    assert!(!root.join("sys/class/dmi/id/product_uuid").exists());
    assert_eq!(
        placeholder(&id.uuid),
        "00000000-0000-0000-0000-000000000000"
    );
    assert_eq!(value(&id.board_vendor), "ASUSTeK Computer INC.");
    assert_eq!(value(&id.board_name), "P8H61-M LE/USB3");
    assert_eq!(value(&id.board_serial), "MT7019K12345678");
    assert_eq!(placeholder(&id.board_asset_tag), "To be filled by O.E.M.");
    assert_eq!(placeholder(&id.chassis_vendor), "Chassis Manufacture");
    assert_eq!(placeholder(&id.chassis_serial), "Chassis Serial Number");
    assert_eq!(placeholder(&id.chassis_asset_tag), "Asset-1234567890");
    assert_eq!(value(&id.bios_vendor), "American Megatrends Inc.");
    assert_eq!(value(&id.bios_version), "0801");

    let cpu = &report.processors[0];
    assert_eq!(
        value(&cpu.version),
        "Intel(R) Core(TM) i3-2120 CPU @ 3.30GHz"
    );
    assert_eq!(value(&cpu.socket), "LGA1155 CPU 0");
    assert_eq!(cpu.max_speed_mhz, Some(3300));
    assert_eq!(placeholder(&cpu.serial_number), "To Be Filled By O.E.M.");
    assert_eq!(cpu.core_count, Some(2));

    let s = &report.memory.slots[0];
    assert_eq!(value(&s.manufacturer), "Kingston");
    assert_eq!(value(&s.part_number), "99U5471-012.A00LF");
    assert_eq!(s.speed_mts, Some(1333));
    assert_eq!(placeholder(&s.serial_number), "00000000");
    assert_eq!(report.memory.check, MemoryCheck::Consistent);

    let key = machine_key(&KeyCandidates {
        serial_number: Some(&id.serial_number),
        uuid: Some(&id.uuid),
        board_serial: Some(&id.board_serial),
        permanent_mac: Some("52:54:00:12:34:56"),
        ..Default::default()
    })
    .expect("a key");
    assert_eq!(key.key, "board:MT7019K12345678");
    assert_eq!(key.source, KeySource::BoardSerial);
    assert!(!key.weak);
    assert!(
        key.notes
            .iter()
            .any(|n| n.contains("system serial is a placeholder")),
        "{:?}",
        key.notes
    );
}

// ---------------------------------------------------------------------------------------------
// Real machines
// ---------------------------------------------------------------------------------------------

#[test]
fn real_thinkpad_t430() {
    let root = fixture("real/lenovo-thinkpad-t430");
    let t = read_tables(&root);
    assert!(t.problems.is_empty(), "{:?}", t.problems);
    assert_eq!(t.version(), Some(SmbiosVersion::new(2, 7, 0)));
    let report = read_smbios(&root);
    // No sysfs in this capture: everything comes from the tables.
    assert_eq!(report.sysfs, SourceState::Missing);
    let id = &report.identity;
    assert_eq!(value(&id.system_vendor), "LENOVO");
    assert_eq!(value(&id.product_name), "2347A49");
    assert_eq!(value(&id.product_version), "ThinkPad T430");
    assert_eq!(value(&id.serial_number), "PBKGNED");
    assert_eq!(value(&id.uuid), "b4c3d881-5192-11cb-aa19-e6932635bc8b");
    assert_eq!(value(&id.board_serial), "1ZLMB27R0V2");
    assert_eq!(placeholder(&id.board_version), "Not Defined");
    assert_eq!(placeholder(&id.board_asset_tag), "Not Available");
    assert_eq!(id.chassis_type, Some(ChassisKind::Notebook));
    assert!(id.chassis_type.is_some_and(|c| c.is_portable()));
    assert_eq!(value(&id.bios_version), "G1ET45WW (1.20 )");

    let slots = &report.memory.slots;
    assert_eq!(slots.len(), 2);
    for s in slots {
        assert_eq!(s.size, MemorySize::Bytes(4 * GIB));
        assert_eq!(s.memory_type, Some(MemoryType::Ddr3));
        assert_eq!(s.form_factor, Some(FormFactor::Sodimm));
        assert_eq!(s.speed_mts, Some(1600));
        assert_eq!(value(&s.manufacturer), "Hynix/Hyundai");
        // dmidecode shows the trailing spaces; the value is trimmed.
        assert_eq!(value(&s.part_number), "HMT351S6CFR8C-PB");
    }
    assert_eq!(report.memory.installed_bytes, Some(8 * GIB));
    assert_eq!(report.memory.arrays[0].max_capacity_bytes, Some(16 * GIB));
    // No /proc/meminfo in this capture: the cross-check says so.
    assert!(matches!(report.memory.check, MemoryCheck::Unknown { .. }));

    let cpu = &report.processors[0];
    assert_eq!(
        value(&cpu.version),
        "Intel(R) Core(TM) i5-3320M CPU @ 2.60GHz"
    );
    assert_eq!(
        (cpu.core_count, cpu.thread_count, cpu.max_speed_mhz),
        (Some(2), Some(4), Some(2600))
    );
}

#[test]
fn real_surface_laptop_3_bad_string_index_is_unknown_not_fatal() {
    let root = fixture("real/microsoft-surface-laptop-3");
    let report = read_smbios(&root);
    let id = &report.identity;
    assert_eq!(value(&id.system_vendor), "Microsoft Corporation");
    assert_eq!(value(&id.product_name), "Surface Laptop 3");
    assert_eq!(value(&id.serial_number), "023078193757");
    assert_eq!(value(&id.uuid), "4ee6523f-d56a-f3ea-8e2a-891cf96286ea");
    assert_eq!(value(&id.sku), "Surface_Laptop_3_1873");
    assert_eq!(id.chassis_type, Some(ChassisKind::Laptop));
    // The firmware points the chassis asset tag at string #3 of a 2-string set (dmidecode
    // prints "<BAD INDEX>"): that field is unknown with a reason, the rest decodes.
    match &id.chassis_asset_tag {
        Field::Unknown { reason } => assert!(reason.contains("does not exist"), "{reason}"),
        other => panic!("expected unknown, got {other:?}"),
    }
    let slots = &report.memory.slots;
    assert_eq!(slots.len(), 2);
    assert!(slots.iter().all(|s| s.memory_type == Some(MemoryType::Ddr4)
        && s.form_factor == Some(FormFactor::Sodimm)
        && s.size == MemorySize::Bytes(8 * GIB)
        && s.speed_mts == Some(2400)));
    assert_eq!(placeholder(&slots[0].serial_number), "00000000");
    let cpu = &report.processors[0];
    assert_eq!(value(&cpu.manufacturer), "Advanced Micro Devices, Inc.");
    assert_eq!((cpu.core_count, cpu.thread_count), (Some(4), Some(8)));
    assert_eq!(placeholder(&cpu.serial_number), "Unknown");
}

#[test]
fn real_supermicro_placeholders_empty_slots_and_board_serial_key() {
    let root = fixture("real/supermicro-x10dal-i");
    let report = read_smbios(&root);
    assert_eq!(report.smbios_version, Some(SmbiosVersion::new(3, 0, 0)));
    let id = &report.identity;
    assert_eq!(placeholder(&id.serial_number), "0123456789");
    assert_eq!(placeholder(&id.product_version), "0123456789");
    assert_eq!(placeholder(&id.sku), "Default string");
    assert_eq!(placeholder(&id.chassis_serial), "0123456789");
    // Supermicro writes a MAC address into the UUID's node and zeros elsewhere: odd but data.
    assert_eq!(value(&id.uuid), "00000000-0000-0000-0000-0cc47a7939ba");
    assert_eq!(value(&id.board_serial), "ZM159S017443");
    assert_eq!(id.chassis_type, Some(ChassisKind::MainServerChassis));

    let slots = &report.memory.slots;
    assert_eq!(slots.len(), 8);
    let empty = slots.iter().filter(|s| s.size == MemorySize::Empty).count();
    assert_eq!(empty, 7, "{slots:#?}");
    assert!(
        slots
            .iter()
            .all(|s| s.memory_type == Some(MemoryType::Ddr4))
    );
    let first = &slots[0];
    assert_eq!(first.size, MemorySize::Bytes(16 * GIB));
    assert_eq!(first.form_factor, Some(FormFactor::Dimm));
    assert_eq!(
        (first.speed_mts, first.configured_speed_mts),
        (Some(2133), Some(1600))
    );
    assert_eq!(value(&first.part_number), "M393A2G40DB0-CPB");
    assert_eq!(report.memory.installed_bytes, Some(16 * GIB));
    assert_eq!(report.memory.arrays.len(), 2);
    assert_eq!(report.processors.len(), 2);

    let key = machine_key(&KeyCandidates {
        serial_number: Some(&id.serial_number),
        uuid: Some(&id.uuid),
        board_serial: Some(&id.board_serial),
        ..Default::default()
    })
    .expect("a key");
    assert_eq!(key.key, "board:ZM159S017443");
    assert_eq!(key.source, KeySource::BoardSerial);
}

// ---------------------------------------------------------------------------------------------
// Cross-check against dmidecode's own decoding of the same bytes
// ---------------------------------------------------------------------------------------------

struct Section {
    handle: u16,
    kind: u8,
    attrs: Vec<(String, String)>,
}

/// Parses `dmidecode` text: "Handle 0x000F, DMI type 1, 27 bytes", then "\tKey: Value".
fn dmidecode_sections(text: &str) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Handle 0x") {
            let handle = u16::from_str_radix(&rest[..4], 16).expect("handle");
            let kind = rest
                .split("DMI type ")
                .nth(1)
                .and_then(|r| r.split(',').next())
                .expect("type");
            out.push(Section {
                handle,
                kind: kind.parse().expect("type number"),
                attrs: Vec::new(),
            });
        } else if let (Some(attr), Some(section)) = (line.strip_prefix('\t'), out.last_mut()) {
            if attr.starts_with('\t') {
                continue;
            }
            if let Some((k, v)) = attr.split_once(": ") {
                section.attrs.push((k.to_owned(), v.trim().to_owned()));
            }
        }
    }
    out
}

/// A field as dmidecode prints it.
fn shown(f: &Field) -> String {
    match f {
        Field::Value(v) => v.clone(),
        Field::Placeholder { raw } => raw.trim().to_owned(),
        Field::Absent => "Not Specified".into(),
        Field::Unknown { .. } => "<BAD INDEX>".into(),
        Field::NeedsRoot => "unavailable".into(),
    }
}

fn shown_uuid(f: &Field) -> String {
    match f.raw() {
        Some("00000000-0000-0000-0000-000000000000") => "Not Settable".into(),
        Some("ffffffff-ffff-ffff-ffff-ffffffffffff") => "Not Present".into(),
        _ => shown(f),
    }
}

fn shown_size(bytes: u64) -> String {
    if bytes % GIB == 0 {
        format!("{} GB", bytes / GIB)
    } else if bytes % (1 << 20) == 0 {
        format!("{} MB", bytes >> 20)
    } else {
        format!("{} kB", bytes >> 10)
    }
}

fn shown_speed(s: Option<u32>, unit: &str) -> String {
    s.map_or("Unknown".into(), |v| format!("{v} {unit}"))
}

/// Compares every attribute we decode with dmidecode's text for the same table; returns how
/// many values were compared.
fn compare_with_dmidecode(dir: &Path) -> usize {
    let tables = read_tables(dir);
    let text = fs::read_to_string(dir.join("dmidecode.txt")).expect("dmidecode.txt");
    let sections = dmidecode_sections(&text);
    let mut compared = 0;
    let mut mismatches = Vec::new();
    let mut check = |what: String, ours: String, theirs: &str| {
        compared += 1;
        if ours != theirs {
            mismatches.push(format!("{what}: ours {ours:?}, dmidecode {theirs:?}"));
        }
    };
    let first = |kind: u8| sections.iter().find(|s| s.kind == kind);
    let slots = tables.memory_slots();
    let cpus = tables.processors();
    let arrays = tables.memory_arrays();
    for section in &sections {
        for (k, v) in &section.attrs {
            let what = format!(
                "{} type {} handle {:#06x} {k}",
                dir.display(),
                section.kind,
                section.handle
            );
            let ours: Option<String> = match section.kind {
                0 if first(0).is_some_and(|f| f.handle == section.handle) => {
                    let b = tables.bios().expect("type 0");
                    match k.as_str() {
                        "Vendor" => Some(shown(&b.vendor)),
                        "Version" => Some(shown(&b.version)),
                        "Release Date" => Some(shown(&b.release_date)),
                        "BIOS Revision" => b.release.map(|(a, c)| format!("{a}.{c}")),
                        _ => None,
                    }
                }
                1 if first(1).is_some_and(|f| f.handle == section.handle) => {
                    let s = tables.system().expect("type 1");
                    match k.as_str() {
                        "Manufacturer" => Some(shown(&s.manufacturer)),
                        "Product Name" => Some(shown(&s.product_name)),
                        "Version" => Some(shown(&s.version)),
                        "Serial Number" => Some(shown(&s.serial_number)),
                        "UUID" => Some(shown_uuid(&s.uuid)),
                        "SKU Number" => Some(shown(&s.sku)),
                        "Family" => Some(shown(&s.family)),
                        _ => None,
                    }
                }
                2 if first(2).is_some_and(|f| f.handle == section.handle) => {
                    let b = tables.baseboard().expect("type 2");
                    match k.as_str() {
                        "Manufacturer" => Some(shown(&b.manufacturer)),
                        "Product Name" => Some(shown(&b.product)),
                        "Version" => Some(shown(&b.version)),
                        "Serial Number" => Some(shown(&b.serial_number)),
                        "Asset Tag" => Some(shown(&b.asset_tag)),
                        _ => None,
                    }
                }
                3 if first(3).is_some_and(|f| f.handle == section.handle) => {
                    let c = tables.chassis().expect("type 3");
                    match k.as_str() {
                        "Manufacturer" => Some(shown(&c.manufacturer)),
                        "Type" => c.kind.map(|k| k.name().to_owned()),
                        "Version" => Some(shown(&c.version)),
                        "Serial Number" => Some(shown(&c.serial_number)),
                        "Asset Tag" => Some(shown(&c.asset_tag)),
                        "SKU Number" => Some(shown(&c.sku)),
                        _ => None,
                    }
                }
                4 => {
                    let p = cpus
                        .iter()
                        .find(|p| p.handle == section.handle)
                        .expect("type 4 decoded");
                    match k.as_str() {
                        "Socket Designation" => Some(shown(&p.socket)),
                        "Manufacturer" => Some(shown(&p.manufacturer)),
                        "Version" => Some(shown(&p.version)),
                        "Max Speed" => Some(shown_speed(p.max_speed_mhz.map(u32::from), "MHz")),
                        "Current Speed" => {
                            Some(shown_speed(p.current_speed_mhz.map(u32::from), "MHz"))
                        }
                        "Serial Number" => Some(shown(&p.serial_number)),
                        "Part Number" => Some(shown(&p.part_number)),
                        "Core Count" => p.core_count.map(|c| c.to_string()),
                        "Core Enabled" => p.cores_enabled.map(|c| c.to_string()),
                        "Thread Count" => p.thread_count.map(|c| c.to_string()),
                        _ => None,
                    }
                }
                16 => {
                    let a = arrays
                        .iter()
                        .find(|a| a.handle == section.handle)
                        .expect("type 16 decoded");
                    match k.as_str() {
                        "Maximum Capacity" => a.max_capacity_bytes.map(shown_size),
                        "Number Of Devices" => a.slot_count.map(|c| c.to_string()),
                        _ => None,
                    }
                }
                17 => {
                    let s = slots
                        .iter()
                        .find(|s| s.handle == section.handle)
                        .expect("type 17 decoded");
                    match k.as_str() {
                        "Array Handle" => s.array_handle.map(|h| format!("0x{h:04X}")),
                        "Size" => Some(match s.size {
                            MemorySize::Empty => "No Module Installed".into(),
                            MemorySize::Unknown => "Unknown".into(),
                            MemorySize::Bytes(b) => shown_size(b),
                        }),
                        "Form Factor" => s.form_factor.map(|f| f.name().to_owned()),
                        "Type" => s.memory_type.map(|t| t.name().to_owned()),
                        "Locator" => Some(shown(&s.locator)),
                        "Bank Locator" => Some(shown(&s.bank_locator)),
                        "Speed" => Some(shown_speed(s.speed_mts, "MT/s")),
                        "Configured Memory Speed" => {
                            Some(shown_speed(s.configured_speed_mts, "MT/s"))
                        }
                        "Manufacturer" => Some(shown(&s.manufacturer)),
                        "Serial Number" => Some(shown(&s.serial_number)),
                        "Asset Tag" => Some(shown(&s.asset_tag)),
                        "Part Number" => Some(shown(&s.part_number)),
                        "Rank" => Some(s.rank.map_or("Unknown".into(), |r| r.to_string())),
                        _ => None,
                    }
                }
                _ => None,
            };
            if let Some(ours) = ours {
                check(what, ours, v);
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    compared
}

#[test]
fn every_fixture_decodes_like_dmidecode() {
    for (name, at_least) in [
        ("qemu-thinkpad", 40),
        ("qemu-i440fx-whitebox", 40),
        ("real/lenovo-thinkpad-t430", 60),
        ("real/microsoft-surface-laptop-3", 50),
        ("real/supermicro-x10dal-i", 100),
    ] {
        let n = compare_with_dmidecode(&fixture(name));
        assert!(n >= at_least, "{name}: only {n} values compared");
    }
}

// ---------------------------------------------------------------------------------------------
// Placeholders: one test per listed value, and real values that must stay values
// ---------------------------------------------------------------------------------------------

macro_rules! placeholder_tests {
    ($($name:ident: $raw:expr,)*) => {$(
        #[test]
        fn $name() {
            let raw: &str = $raw;
            assert!(is_placeholder(raw), "{raw:?} should be a placeholder");
            assert_eq!(Field::from_raw(raw), Field::Placeholder { raw: raw.to_owned() });
        }
    )*};
}

placeholder_tests! {
    placeholder_to_be_filled_by_oem: "To be filled by O.E.M.",
    placeholder_to_be_filled_by_oem_title_case: "To Be Filled By O.E.M.",
    placeholder_to_be_filled_by_oem_no_dots: "To be filled by OEM",
    placeholder_default_string: "Default string",
    placeholder_system_product_name: "System Product Name",
    placeholder_system_manufacturer: "System manufacturer",
    placeholder_system_version: "System Version",
    placeholder_system_serial_number: "System Serial Number",
    placeholder_base_board_serial_number: "Base Board Serial Number",
    placeholder_chassis_serial_number: "Chassis Serial Number",
    placeholder_chassis_manufacture: "Chassis Manufacture",
    placeholder_not_applicable: "Not Applicable",
    placeholder_n_a: "N/A",
    placeholder_none: "None",
    placeholder_0123456789: "0123456789",
    placeholder_123456789: "123456789",
    placeholder_12345678: "12345678",
    placeholder_00000000: "00000000",
    placeholder_invalid: "INVALID",
    placeholder_not_specified: "Not Specified",
    placeholder_not_available: "Not Available",
    placeholder_not_defined: "Not Defined",
    placeholder_unknown: "Unknown",
    placeholder_oem: "OEM",
    placeholder_xxxxx: "xxxxx",
    placeholder_dell_masked: "XXXXXXX",
    placeholder_ffffffff: "FFFFFFFF",
    placeholder_empty: "",
    placeholder_whitespace: "   \t ",
    placeholder_sku: "SKU",
    placeholder_empty_slot: "[Empty]",
    placeholder_no_dimm: "NO DIMM",
    placeholder_ami_sernum: "SerNum0",
    placeholder_ami_partnum: "PartNum3",
    placeholder_ami_manufacturer: "Manufacturer02",
    placeholder_ami_array_asset_tag: "Array1_AssetTag",
    placeholder_lenovo_asset: "No Asset Information",
    placeholder_asus_asset: "Asset-1234567890",
    placeholder_uuid_all_zero: "00000000-0000-0000-0000-000000000000",
    placeholder_uuid_all_ff: "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
    placeholder_uuid_all_ff_lower: "ffffffff-ffff-ffff-ffff-ffffffffffff",
    placeholder_uuid_ami_template: "03000200-0400-0500-0006-000700080009",
    placeholder_uuid_ami_template_le: "00020003-0004-0005-0006-000700080009",
    placeholder_extra_spaces_and_case: "  to BE filled   by o.e.m.  ",
}

#[test]
fn every_listed_placeholder_is_recognized() {
    for p in PLACEHOLDERS {
        assert!(is_placeholder(p), "{p:?}");
    }
}

#[test]
fn real_values_are_not_placeholders() {
    for v in [
        "LENOVO",
        "PF0ABCDE",
        "20AN00A1FR",
        "ThinkPad T440p",
        "1.02",
        "Rev X.0x",
        "0801",
        "HMT351S6CFR8C-PB  ",
        "ZM159S017443",
        "MT7019K12345678",
        "023078193757",
        "11111111-2222-3333-4444-555555555555",
        "00000000-0000-0000-0000-0cc47a7939ba",
        "Dell Inc.",
        "/7KNZBH2/CN722006CF01LX/",
        "Hynix/Hyundai",
    ] {
        assert!(!is_placeholder(v), "{v:?} is data");
        assert_eq!(Field::from_raw(v), Field::Value(v.trim().to_owned()));
    }
}

#[test]
fn field_display_says_needs_root_never_empty() {
    assert_eq!(Field::NeedsRoot.to_string(), "unavailable (needs root)");
    assert_eq!(Field::from_raw("").to_string(), "absent (placeholder \"\")");
    assert_eq!(Field::Value("LENOVO".into()).to_string(), "LENOVO");
    let json = serde_json::to_string(&Field::NeedsRoot).expect("json");
    assert_eq!(json, "\"needs_root\"");
}

// ---------------------------------------------------------------------------------------------
// Root-only fields read without root
// ---------------------------------------------------------------------------------------------

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for e in fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let dst = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_tree(&e.path(), &dst);
        } else {
            fs::copy(e.path(), &dst).expect("copy");
        }
    }
}

fn running_as_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

/// The names `sysfs-modes.txt` (an `ls -ln` of the guest's /sys/class/dmi/id) shows as
/// readable by root only.
fn root_only_names(root: &Path) -> Vec<String> {
    let modes = fs::read_to_string(root.join("sysfs-modes.txt")).expect("sysfs-modes.txt");
    modes
        .lines()
        .filter(|l| l.starts_with("-r--------"))
        .filter_map(|l| l.split_whitespace().last().map(str::to_owned))
        .collect()
}

/// Builds a copy of the ThinkPad capture with the guest's modes (root-only DMI attributes
/// and tables 0400), readable by `nobody` everywhere else.
fn tree_with_real_modes() -> (tempfile::TempDir, Vec<String>) {
    use std::os::unix::fs::PermissionsExt;
    let src = fixture("qemu-thinkpad");
    let tmp = tempfile::tempdir().expect("tempdir");
    copy_tree(&src, tmp.path());
    let set = |p: &Path, mode: u32| {
        fs::set_permissions(p, fs::Permissions::from_mode(mode)).expect("chmod")
    };
    fn walk(p: &Path, f: &dyn Fn(&Path, bool)) {
        f(p, p.is_dir());
        if p.is_dir() {
            for e in fs::read_dir(p).expect("read_dir") {
                walk(&e.expect("entry").path(), f);
            }
        }
    }
    walk(tmp.path(), &|p, dir| {
        set(p, if dir { 0o755 } else { 0o444 })
    });
    // Root keeps reading 0400 files; a non-root owner would too, so then use 000.
    let locked = if running_as_root() { 0o400 } else { 0o000 };
    let names = root_only_names(&src);
    assert_eq!(
        names,
        [
            "board_serial",
            "chassis_serial",
            "product_serial",
            "product_uuid"
        ]
    );
    for n in &names {
        set(&tmp.path().join("sys/class/dmi/id").join(n), locked);
    }
    for n in ["DMI", "smbios_entry_point"] {
        set(&tmp.path().join("sys/firmware/dmi/tables").join(n), locked);
    }
    (tmp, names)
}

/// Run by `root_only_fields_read_without_root` as user `nobody`: prints the report as JSON.
#[test]
#[ignore = "helper: run by root_only_fields_read_without_root under setpriv"]
fn needs_root_child() {
    let root = std::env::var_os("ATELIER_SMBIOS_CHILD_ROOT").expect("ATELIER_SMBIOS_CHILD_ROOT");
    let report = read_smbios(Path::new(&root));
    println!("REPORT {}", serde_json::to_string(&report).expect("json"));
}

#[test]
fn root_only_fields_read_without_root() {
    let (tmp, names) = tree_with_real_modes();
    let report: serde_json::Value = if running_as_root() {
        // Drop to nobody for real: re-run this test binary's helper under setpriv.
        // A copy of this test binary beside the tree, so `nobody` can run it even when the
        // build directory is not world-traversable.
        let exe = tmp.path().join("smbios-test");
        fs::copy(std::env::current_exe().expect("exe"), &exe).expect("copy test binary");
        let out = std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&exe)
            .args([
                "--ignored",
                "--exact",
                "needs_root_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("ATELIER_SMBIOS_CHILD_ROOT", tmp.path())
            .output()
            .expect("setpriv (util-linux) runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "child failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = stdout
            .lines()
            .find_map(|l| l.split_once("REPORT ").map(|(_, json)| json))
            .expect("report line");
        serde_json::from_str(line).expect("json")
    } else {
        serde_json::to_value(read_smbios(tmp.path())).expect("json")
    };
    let id = &report["identity"];
    for (field, file) in [
        ("serial_number", "product_serial"),
        ("uuid", "product_uuid"),
        ("board_serial", "board_serial"),
        ("chassis_serial", "chassis_serial"),
    ] {
        assert!(names.iter().any(|n| n == file));
        assert_eq!(id[field], "needs_root", "{field}: {report:#}");
    }
    // World-readable attributes still come through.
    assert_eq!(id["system_vendor"]["value"], "LENOVO");
    assert_eq!(id["product_name"]["value"], "20AN00A1FR");
    assert_eq!(id["chassis_type"], "other");
    assert_eq!(report["tables"], "needs_root");
    assert_eq!(report["sysfs"], "read");
    assert!(
        report["memory"]["check"]["unknown"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("needs root"))
    );
    assert!(report["notes"].as_array().is_some_and(|n| {
        n.iter()
            .any(|n| n.as_str().is_some_and(|n| n.contains("needs root")))
    }));
    // The key chain skips the unreadable serials and says why.
    let sysfs = read_smbios_fields_as_nobody_key(id);
    assert!(sysfs.is_none());
}

/// With only "needs root" serials and no MAC, there is no key.
fn read_smbios_fields_as_nobody_key(id: &serde_json::Value) -> Option<MachineKey> {
    assert_eq!(id["serial_number"], "needs_root");
    let nr = Field::NeedsRoot;
    machine_key(&KeyCandidates {
        serial_number: Some(&nr),
        uuid: Some(&nr),
        board_serial: Some(&nr),
        ..Default::default()
    })
}

#[test]
fn io_errors_map_to_field_states() {
    use std::io::Error;
    assert_eq!(
        field_from_io_error(&Error::from_raw_os_error(13)),
        Field::NeedsRoot
    ); // EACCES
    assert_eq!(
        field_from_io_error(&Error::from_raw_os_error(1)),
        Field::NeedsRoot
    ); // EPERM
    assert_eq!(
        field_from_io_error(&Error::from_raw_os_error(2)),
        Field::Absent
    ); // ENOENT
    assert!(matches!(
        field_from_io_error(&Error::from_raw_os_error(5)),
        Field::Unknown { .. }
    )); // EIO
}

#[test]
fn machine_without_dmi_like_this_firecracker_host() {
    // This development host (a Firecracker VM) has neither /sys/class/dmi nor the tables.
    let tmp = tempfile::tempdir().expect("tempdir");
    fs::create_dir_all(tmp.path().join("proc")).expect("mkdir");
    fs::write(
        tmp.path().join("proc/meminfo"),
        "MemTotal:       24576000 kB\n",
    )
    .expect("write");
    let report = read_smbios(tmp.path());
    assert_eq!(report.sysfs, SourceState::Missing);
    assert_eq!(report.tables, SourceState::Missing);
    assert_eq!(report.identity.serial_number, Field::Absent);
    assert!(report.notes.iter().any(|n| n.contains("no SMBIOS tables")));
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("no DMI data at all"))
    );
    assert_eq!(report.memory.mem_total_kib, Some(24_576_000));
    // Only the devicetree or a MAC can key such a machine.
    let key = machine_key(&KeyCandidates {
        permanent_mac: Some("00:1B:21:3A:4F:5C"),
        ..Default::default()
    })
    .expect("a key");
    assert_eq!(key.key, "mac:00:1b:21:3a:4f:5c");
    assert!(key.weak);
}

// ---------------------------------------------------------------------------------------------
// Merge, memory cross-check, machine key
// ---------------------------------------------------------------------------------------------

#[test]
fn tables_win_and_disagreements_are_noted() {
    let root = fixture("qemu-thinkpad");
    let tables = TableIdentity::from_tables(&read_tables(&root));
    let mut sysfs = identity_from_sysfs(&root);
    sysfs.product_name = Field::Value("Something Else".into());
    sysfs.serial_number = Field::NeedsRoot;
    let mut notes = Vec::new();
    let merged = merge_identity(&tables, &sysfs, &mut notes);
    assert_eq!(value(&merged.product_name), "20AN00A1FR");
    assert_eq!(value(&merged.serial_number), "PF0ABCDE");
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("product_name"));
    // Without tables, sysfs is all there is.
    let merged = merge_identity(&TableIdentity::default(), &sysfs, &mut notes);
    assert_eq!(merged, sysfs);
}

#[test]
fn memory_cross_check_thresholds() {
    let g = GIB;
    assert_eq!(
        cross_check_memory(Some(8 * g), Some(8 * g / 1024 * 95 / 100)),
        MemoryCheck::Consistent
    );
    assert_eq!(
        cross_check_memory(Some(8 * g), Some(8 * g / 1024)),
        MemoryCheck::Consistent
    );
    assert_eq!(
        cross_check_memory(Some(8 * g), Some(16 * g / 1024)),
        MemoryCheck::TablesUnderReport
    );
    assert_eq!(
        cross_check_memory(Some(16 * g), Some(8 * g / 1024)),
        MemoryCheck::LargeGap
    );
    assert!(matches!(
        cross_check_memory(None, Some(1)),
        MemoryCheck::Unknown { .. }
    ));
    assert!(matches!(
        cross_check_memory(Some(g), None),
        MemoryCheck::Unknown { .. }
    ));
    assert!(matches!(
        cross_check_memory(Some(0), Some(1)),
        MemoryCheck::Unknown { .. }
    ));
    assert_eq!(
        parse_mem_total("MemFree: 1 kB\nMemTotal:   983496 kB\n"),
        Some(983_496)
    );
    assert_eq!(parse_mem_total("garbage"), None);
}

#[test]
fn machine_key_chain() {
    let v = |s: &str| Field::Value(s.into());
    let ph = |s: &str| Field::Placeholder { raw: s.into() };
    let (serial, uuid, board) = (
        v("PF0ABCDE"),
        v("11111111-2222-3333-4444-555555555555"),
        v("L1HF000000A"),
    );
    let (bad_serial, bad_uuid) = (
        ph("To be filled by O.E.M."),
        ph("00000000-0000-0000-0000-000000000000"),
    );

    let k = machine_key(&KeyCandidates {
        serial_number: Some(&serial),
        uuid: Some(&uuid),
        board_serial: Some(&board),
        ..Default::default()
    })
    .expect("key");
    assert_eq!((k.source, k.weak), (KeySource::SerialAndUuid, false));

    let k = machine_key(&KeyCandidates {
        serial_number: Some(&bad_serial),
        uuid: Some(&uuid),
        board_serial: Some(&board),
        ..Default::default()
    })
    .expect("key");
    assert_eq!(
        (k.source, k.weak, k.key.as_str()),
        (KeySource::BoardSerial, false, "board:L1HF000000A")
    );

    let k = machine_key(&KeyCandidates {
        serial_number: Some(&serial),
        uuid: Some(&bad_uuid),
        board_serial: None,
        ..Default::default()
    })
    .expect("key");
    assert_eq!((k.source, k.weak), (KeySource::SerialOnly, true));

    let k = machine_key(&KeyCandidates {
        serial_number: Some(&bad_serial),
        uuid: Some(&uuid),
        ..Default::default()
    })
    .expect("key");
    assert_eq!((k.source, k.weak), (KeySource::UuidOnly, true));

    let k = machine_key(&KeyCandidates {
        serial_number: Some(&bad_serial),
        permanent_mac: Some("00-1B-21-AB-CD-EF"),
        devicetree_serial: Some("10000000a1b2c3d4\0"),
        ..Default::default()
    })
    .expect("key");
    assert_eq!(
        (k.source, k.weak, k.key.as_str()),
        (KeySource::PermanentMac, true, "mac:00:1b:21:ab:cd:ef")
    );
    assert!(
        k.notes.iter().any(|n| n.contains("placeholder")),
        "{:?}",
        k.notes
    );

    // Locally administered (randomized) and zero MACs are not permanent: fall through.
    for mac in [
        "02:00:00:00:00:01",
        "00:00:00:00:00:00",
        "ff:ff:ff:ff:ff:ff",
        "01:00:5e:00:00:01",
        "not a mac",
    ] {
        let k = machine_key(&KeyCandidates {
            permanent_mac: Some(mac),
            devicetree_serial: Some("10000000a1b2c3d4\0"),
            ..Default::default()
        })
        .expect("key");
        assert_eq!(
            (k.source, k.weak, k.key.as_str()),
            (KeySource::DevicetreeSerial, false, "dt:10000000a1b2c3d4"),
            "{mac}"
        );
    }

    assert!(
        machine_key(&KeyCandidates {
            devicetree_serial: Some("0000000000000000"),
            ..Default::default()
        })
        .is_none()
    );
    assert!(machine_key(&KeyCandidates::default()).is_none());

    // A real but thin value is weak even high in the chain.
    let short = v("A1");
    let k = machine_key(&KeyCandidates {
        board_serial: Some(&short),
        ..Default::default()
    })
    .expect("key");
    assert_eq!((k.source, k.weak), (KeySource::BoardSerial, true));
}

// ---------------------------------------------------------------------------------------------
// Hand-built structures: encodings and garbage
// ---------------------------------------------------------------------------------------------

/// One structure: formatted area (header included, length byte fixed up) and strings.
fn structure(kind: u8, handle: u16, body: &[u8], strings: &[&str]) -> Vec<u8> {
    let mut v = vec![kind, 0, 0, 0];
    v[2..4].copy_from_slice(&handle.to_le_bytes());
    v.extend_from_slice(body);
    v[1] = u8::try_from(v.len()).expect("short structure");
    if strings.is_empty() {
        v.extend_from_slice(&[0, 0]);
    } else {
        for s in strings {
            v.extend_from_slice(s.as_bytes());
            v.push(0);
        }
        v.push(0);
    }
    v
}

fn end_of_table() -> Vec<u8> {
    structure(127, 0xFFFF, &[], &[])
}

/// A type 17 body (offsets 04h–5Bh, SMBIOS 3.3 size), strings 1..4 = locator, bank, maker, part.
fn type17(size: u16, ext_size: u32, speed: u16, ext_speed: u32) -> Vec<u8> {
    let mut b = vec![0u8; 0x5C - 4];
    let mut put =
        |off: usize, bytes: &[u8]| b[off - 4..off - 4 + bytes.len()].copy_from_slice(bytes);
    put(0x04, &0x1000u16.to_le_bytes());
    put(0x0C, &size.to_le_bytes());
    put(0x0E, &[0x0D]); // SODIMM
    put(0x10, &[1, 2]);
    put(0x12, &[0x22]); // DDR5
    put(0x15, &speed.to_le_bytes());
    put(0x17, &[3, 0, 0, 4]);
    put(0x1B, &[0x02]);
    put(0x1C, &ext_size.to_le_bytes());
    put(0x20, &speed.to_le_bytes());
    put(0x54, &ext_speed.to_le_bytes());
    put(0x58, &ext_speed.to_le_bytes());
    b
}

fn slot_of(body: Vec<u8>) -> MemorySlot {
    let mut t = structure(
        17,
        0x11,
        &body,
        &["DIMM A", "BANK 0", "Micron", "MTC8C1084S1SC56BG1"],
    );
    t.extend(end_of_table());
    let tables = SmbiosTables::parse(&t, None);
    assert!(tables.problems.is_empty(), "{:?}", tables.problems);
    tables.memory_slots().remove(0)
}

#[test]
fn type17_size_rules() {
    assert_eq!(slot_of(type17(0, 0, 0, 0)).size, MemorySize::Empty);
    assert!(!slot_of(type17(0, 0, 0, 0)).is_populated());
    assert_eq!(slot_of(type17(0xFFFF, 0, 0, 0)).size, MemorySize::Unknown);
    assert_eq!(
        slot_of(type17(8192, 0, 0, 0)).size,
        MemorySize::Bytes(8 * GIB)
    );
    // Bit 15 set: KiB granularity.
    assert_eq!(
        slot_of(type17(0x8000 | 512, 0, 0, 0)).size,
        MemorySize::Bytes(512 * 1024)
    );
    // 7FFFh: Extended Size in MiB (bit 31 reserved and ignored).
    assert_eq!(
        slot_of(type17(0x7FFF, 0x8001_0000, 0, 0)).size,
        MemorySize::Bytes(64 * GIB)
    );
    let s = slot_of(type17(16384, 0, 5600, 0));
    assert_eq!(
        (s.speed_mts, s.memory_type, s.form_factor),
        (Some(5600), Some(MemoryType::Ddr5), Some(FormFactor::Sodimm))
    );
    assert_eq!(
        (value(&s.manufacturer), value(&s.part_number), s.rank),
        ("Micron", "MTC8C1084S1SC56BG1", Some(2))
    );
    // FFFFh speed: Extended Speed (3.3+).
    assert_eq!(
        slot_of(type17(16384, 0, 0xFFFF, 70_000)).speed_mts,
        Some(70_000)
    );
    assert_eq!(slot_of(type17(16384, 0, 0, 0)).speed_mts, None);
    // A 2.1-sized structure (15h bytes) decodes what it has.
    let short = type17(4096, 0, 1600, 0)[..0x15 - 4].to_vec();
    let s = slot_of(short);
    assert_eq!(
        (s.size, s.speed_mts, s.manufacturer.clone()),
        (MemorySize::Bytes(4 * GIB), None, Field::Absent)
    );
}

#[test]
fn memory_type_and_form_factor_names() {
    let types = [
        (0x12, "DDR"),
        (0x13, "DDR2"),
        (0x18, "DDR3"),
        (0x1A, "DDR4"),
        (0x22, "DDR5"),
        (0x1B, "LPDDR"),
        (0x1D, "LPDDR3"),
        (0x1E, "LPDDR4"),
        (0x23, "LPDDR5"),
    ];
    for (b, name) in types {
        assert_eq!(MemoryType::from_byte(b).name(), name);
    }
    assert_eq!(MemoryType::from_byte(0x16), MemoryType::Unrecognized(0x16));
    assert_eq!(FormFactor::from_byte(0x09).name(), "DIMM");
    assert_eq!(FormFactor::from_byte(0x0D).name(), "SODIMM");
    assert_eq!(FormFactor::from_byte(0xEE), FormFactor::Unrecognized(0xEE));
}

#[test]
fn chassis_names_follow_the_spec_table() {
    let expected = [
        (0x01, "Other"),
        (0x02, "Unknown"),
        (0x03, "Desktop"),
        (0x04, "Low Profile Desktop"),
        (0x05, "Pizza Box"),
        (0x06, "Mini Tower"),
        (0x07, "Tower"),
        (0x08, "Portable"),
        (0x09, "Laptop"),
        (0x0A, "Notebook"),
        (0x0B, "Hand Held"),
        (0x0C, "Docking Station"),
        (0x0D, "All in One"),
        (0x0E, "Sub Notebook"),
        (0x0F, "Space-saving"),
        (0x10, "Lunch Box"),
        (0x11, "Main Server Chassis"),
        (0x12, "Expansion Chassis"),
        (0x13, "SubChassis"),
        (0x14, "Bus Expansion Chassis"),
        (0x15, "Peripheral Chassis"),
        (0x16, "RAID Chassis"),
        (0x17, "Rack Mount Chassis"),
        (0x18, "Sealed-case PC"),
        (0x19, "Multi-system chassis"),
        (0x1A, "Compact PCI"),
        (0x1B, "Advanced TCA"),
        (0x1C, "Blade"),
        (0x1D, "Blade Enclosure"),
        (0x1E, "Tablet"),
        (0x1F, "Convertible"),
        (0x20, "Detachable"),
        (0x21, "IoT Gateway"),
        (0x22, "Embedded PC"),
        (0x23, "Mini PC"),
        (0x24, "Stick PC"),
    ];
    for (b, name) in expected {
        assert_eq!(ChassisKind::from_byte(b).name(), name, "{b:#x}");
        // Bit 7 is the lock bit, not part of the type.
        assert_eq!(ChassisKind::from_byte(b | 0x80), ChassisKind::from_byte(b));
    }
    assert_eq!(
        ChassisKind::from_byte(0x25),
        ChassisKind::Unrecognized(0x25)
    );
    assert_eq!(ChassisKind::from_byte(0), ChassisKind::Unrecognized(0));
    assert!(ChassisKind::Notebook.is_portable() && ChassisKind::Convertible.is_portable());
    assert!(!ChassisKind::Desktop.is_portable() && !ChassisKind::Other.is_portable());
}

#[test]
fn uuid_byte_order_depends_on_the_version() {
    let raw = [
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE,
        0xFF,
    ];
    assert_eq!(
        format_uuid(&raw, Some(SmbiosVersion::new(2, 6, 0))),
        "33221100-5544-7766-8899-aabbccddeeff"
    );
    assert_eq!(
        format_uuid(&raw, None),
        "33221100-5544-7766-8899-aabbccddeeff"
    );
    assert_eq!(
        format_uuid(&raw, Some(SmbiosVersion::new(2, 5, 0))),
        "00112233-4455-6677-8899-aabbccddeeff"
    );
}

#[test]
fn processor_extended_counts() {
    // A 3.0 type 4 (30h bytes) with 23h..25h = FFh: the 2-byte fields at 2Ah..2Fh count.
    let mut b = vec![0u8; 0x30 - 4];
    let mut put =
        |off: usize, bytes: &[u8]| b[off - 4..off - 4 + bytes.len()].copy_from_slice(bytes);
    put(0x04, &[1]);
    put(0x05, &[3]);
    put(0x07, &[2]);
    put(0x10, &[3]);
    put(0x14, &3700u16.to_le_bytes());
    put(0x18, &[0x41]);
    put(0x23, &[0xFF, 0xFF, 0xFF]);
    put(0x2A, &288u16.to_le_bytes());
    put(0x2C, &256u16.to_le_bytes());
    put(0x2E, &576u16.to_le_bytes());
    let mut t = structure(4, 0x40, &b, &["CPU0", "AMD", "AMD EPYC 9965"]);
    t.extend(end_of_table());
    let p = SmbiosTables::parse(&t, None).processors().remove(0);
    assert_eq!(
        (p.core_count, p.cores_enabled, p.thread_count),
        (Some(288), Some(256), Some(576))
    );
    assert_eq!((p.max_speed_mhz, p.populated), (Some(3700), true));
    assert_eq!(value(&p.version), "AMD EPYC 9965");
}

#[test]
fn entry_points() {
    let qemu = fs::read(fixture(
        "qemu-thinkpad/sys/firmware/dmi/tables/smbios_entry_point",
    ))
    .expect("ep");
    let ep = EntryPoint::parse(&qemu).expect("ep");
    assert_eq!(
        (ep.kind, ep.version, ep.checksum_ok),
        (EntryPointKind::Smbios2, SmbiosVersion::new(2, 8, 0), true)
    );
    assert_eq!(ep.structure_count, Some(10));
    let sm3 = fs::read(fixture(
        "real/supermicro-x10dal-i/sys/firmware/dmi/tables/smbios_entry_point",
    ))
    .expect("ep");
    let ep = EntryPoint::parse(&sm3).expect("ep");
    assert_eq!(
        (ep.kind, ep.version, ep.checksum_ok),
        (EntryPointKind::Smbios3, SmbiosVersion::new(3, 0, 0), true)
    );

    assert_eq!(EntryPoint::parse(b""), Err(EntryPointError::NoAnchor));
    assert_eq!(
        EntryPoint::parse(b"garbage garbage garbage"),
        Err(EntryPointError::NoAnchor)
    );
    assert!(matches!(
        EntryPoint::parse(b"_SM3_\x00\x18\x03"),
        Err(EntryPointError::Truncated { .. })
    ));
    assert!(matches!(
        EntryPoint::parse(b"_SM_"),
        Err(EntryPointError::Truncated { .. })
    ));
    // A flipped byte: still decoded, checksum flagged.
    let mut bad = qemu.clone();
    bad[0x0A] ^= 0x55;
    let ep = EntryPoint::parse(&bad).expect("ep");
    assert!(!ep.checksum_ok);
    // The firmware quirk: 2.51 announced means 2.6.
    let mut quirk = qemu;
    quirk[0x07] = 51;
    let ep = EntryPoint::parse(&quirk).expect("ep");
    assert_eq!(
        (ep.version, ep.declared_version),
        (
            SmbiosVersion::new(2, 6, 0),
            Some(SmbiosVersion::new(2, 51, 0))
        )
    );
}

#[test]
fn garbage_tables_give_partial_results_and_reasons() {
    let good = fs::read(fixture("qemu-thinkpad/sys/firmware/dmi/tables/DMI")).expect("DMI");

    let t = SmbiosTables::parse(&[], None);
    assert!(t.structures.is_empty());
    assert_eq!(t.problems, [TableProblem::NoEndOfTable]);

    // Truncated in the middle: what came before stays.
    let t = SmbiosTables::parse(&good[..0x100], None);
    assert!(t.bios().is_some() && t.system().is_some());
    assert_eq!(
        t.problems,
        [TableProblem::Truncated {
            offset: 0xF4,
            kind: 3
        }]
    );
    // Cut inside the chassis' strings this time.
    let t = SmbiosTables::parse(&good[..0x120], None);
    assert_eq!(t.structures.len(), 3);
    assert_eq!(
        t.problems,
        [TableProblem::UnterminatedStrings {
            offset: 0xF4,
            kind: 3
        }]
    );
    let t = SmbiosTables::parse(&good[..0x100], None);

    // A header with a length below 4.
    let mut bad = good.clone();
    let second = t.structures[1].offset;
    bad[second + 1] = 2;
    let t = SmbiosTables::parse(&bad, None);
    assert_eq!(t.structures.len(), 1);
    assert_eq!(
        t.problems,
        [TableProblem::BadLength {
            offset: second,
            length: 2
        }]
    );

    // A type 1 too short for its fields: reported, decoded as absent.
    let mut t = structure(1, 1, &[1, 2], &["ACME"]);
    t.extend(end_of_table());
    let tables = SmbiosTables::parse(&t, None);
    assert!(tables.system().is_none());
    assert!(matches!(
        tables.decode_problems().as_slice(),
        [TableProblem::TooShort { kind: 1, .. }]
    ));

    // Latin-1 strings are kept, not refused.
    let mut t = structure(2, 2, &[1, 2, 0, 0], &[]);
    t.truncate(t.len() - 2);
    t.extend_from_slice(b"Soci\xe9t\xe9\0X\0\0");
    t.extend(end_of_table());
    let b = SmbiosTables::parse(&t, None).baseboard().expect("type 2");
    assert_eq!(value(&b.manufacturer), "Société");

    // The table is shorter than a 32-bit entry point announces.
    let ep = fs::read(fixture(
        "qemu-thinkpad/sys/firmware/dmi/tables/smbios_entry_point",
    ))
    .expect("ep");
    let t = SmbiosTables::parse(&good[..good.len() - 10], Some(&ep));
    assert!(
        t.problems
            .iter()
            .any(|p| matches!(p, TableProblem::LengthMismatch { .. })),
        "{:?}",
        t.problems
    );

    // Each problem reads as a sentence.
    for p in t.problems {
        assert!(p.to_string().len() > 10);
    }
}

#[test]
fn garbage_table_on_disk_still_gives_an_inventory() {
    let tmp = tempfile::tempdir().expect("tempdir");
    copy_tree(&fixture("qemu-thinkpad"), tmp.path());
    let dmi = tmp.path().join("sys/firmware/dmi/tables/DMI");
    let mut bytes = fs::read(&dmi).expect("read");
    // Break the processor structure's length: everything from there on is lost.
    let t = SmbiosTables::parse(&bytes, None);
    let cpu = t.of_type(4).next().expect("type 4").offset;
    bytes[cpu + 1] = 0;
    fs::write(&dmi, &bytes).expect("write");
    let report = read_smbios(tmp.path());
    assert_eq!(value(&report.identity.serial_number), "PF0ABCDE");
    assert!(report.processors.is_empty());
    assert!(matches!(report.memory.check, MemoryCheck::Unknown { .. }));
    assert!(
        report.notes.iter().any(|n| n.contains("length of 0 bytes")),
        "{:?}",
        report.notes
    );
}

// ---------------------------------------------------------------------------------------------
// Fuzz smoke: 100 000 mutated tables, no panic
// ---------------------------------------------------------------------------------------------

/// xorshift64*: small, seeded, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn byte(&mut self) -> u8 {
        (self.next() >> 24) as u8
    }
}

fn mutate(rng: &mut Rng, data: &mut Vec<u8>) {
    const INTERESTING: [u8; 14] = [0, 1, 2, 3, 4, 5, 0x7F, 0x80, 0xFE, 0xFF, 16, 17, 127, 0x15];
    for _ in 0..=rng.below(6) {
        let len = data.len();
        match rng.below(8) {
            0 | 1 => {
                if len > 0 {
                    let i = rng.below(len);
                    data[i] = rng.byte();
                }
            }
            2 => {
                if len > 0 {
                    let i = rng.below(len);
                    data[i] = INTERESTING[rng.below(INTERESTING.len())];
                }
            }
            3 => {
                let at = rng.below(len + 1);
                data.truncate(at);
            }
            4 => {
                let at = rng.below(len + 1);
                for _ in 0..=rng.below(8) {
                    let b = rng.byte();
                    data.insert(at, b);
                }
            }
            5 => {
                // Zero a run (kills string terminators or creates early double NULs).
                if len > 0 {
                    let at = rng.below(len);
                    let end = (at + rng.below(16)).min(len);
                    data[at..end].fill(0);
                }
            }
            6 => {
                // Duplicate a slice somewhere else.
                if len > 1 {
                    let a = rng.below(len);
                    let b = (a + rng.below(64)).min(len);
                    let chunk = data[a..b].to_vec();
                    let at = rng.below(len);
                    data.splice(at..at, chunk);
                }
            }
            _ => {
                // Wreck a word (length / handle / size / speed fields).
                if len > 1 {
                    let i = rng.below(len - 1);
                    let w = [0u16, 0x7FFF, 0x8000, 0xFFFF, 0xFFFE][rng.below(5)].to_le_bytes();
                    data[i..i + 2].copy_from_slice(&w);
                }
            }
        }
    }
}

/// Runs every public decoder on one input; returns (structures found, problems found,
/// characters rendered) so the caller can check the inputs reach deep paths.
fn exercise(table: &[u8], ep: Option<&[u8]>, sysfs: &SystemIdentity) -> (usize, usize, usize) {
    let t = SmbiosTables::parse(table, ep);
    let ti = TableIdentity::from_tables(&t);
    let mut notes = Vec::new();
    let id = merge_identity(&ti, sysfs, &mut notes);
    let mem = memory_inventory(&t, Some(1_000_000));
    let cpus = t.processors();
    let key = machine_key(&KeyCandidates {
        serial_number: Some(&id.serial_number),
        uuid: Some(&id.uuid),
        board_serial: Some(&id.board_serial),
        ..Default::default()
    });
    let problems = t.decode_problems();
    let mut rendered: usize = problems.iter().map(|p| p.to_string().len()).sum();
    for f in [
        &id.system_vendor,
        &id.product_name,
        &id.serial_number,
        &id.uuid,
        &id.board_serial,
    ] {
        rendered += f.to_string().len();
    }
    for s in &mem.slots {
        rendered += s.part_number.to_string().len() + usize::from(s.size.bytes().is_some());
        rendered += s.memory_type.map_or(0, |m| m.name().len())
            + s.form_factor.map_or(0, |f| f.name().len());
    }
    for c in &cpus {
        rendered += c.version.to_string().len() + usize::from(c.thread_count.is_some());
    }
    rendered += key.map_or(0, |k| k.key.len() + k.notes.len());
    rendered += t
        .chassis()
        .and_then(|c| c.kind)
        .map_or(0, |k| k.name().len())
        + notes.len();
    (t.structures.len(), problems.len(), rendered)
}

#[test]
fn fuzz_smoke_100k_mutated_tables_never_panic() {
    let seeds: Vec<(Vec<u8>, Vec<u8>)> = [
        "qemu-thinkpad",
        "qemu-i440fx-whitebox",
        "real/lenovo-thinkpad-t430",
        "real/microsoft-surface-laptop-3",
        "real/supermicro-x10dal-i",
    ]
    .iter()
    .map(|n| {
        let d = fixture(n).join("sys/firmware/dmi/tables");
        (
            fs::read(d.join("DMI")).expect("DMI"),
            fs::read(d.join("smbios_entry_point")).expect("ep"),
        )
    })
    .collect();
    // The sysfs side of the merge: a real capture, so merging has something to override.
    let sysfs = identity_from_sysfs(&fixture("qemu-thinkpad"));
    let mut rng = Rng(0x5EED_A7E1_1E12_2026);
    let (mut total, mut with_structures, mut with_problems) = (0usize, 0usize, 0usize);
    const ITERATIONS: usize = 100_000;
    for i in 0..ITERATIONS {
        let (table, ep) = &seeds[i % seeds.len()];
        // Mutate a window of the table (fast) or the whole of it; sometimes the entry point.
        let mut t = if rng.below(4) == 0 {
            table.clone()
        } else {
            let start = rng.below(table.len());
            let end = (start + 64 + rng.below(512)).min(table.len());
            table[start..end].to_vec()
        };
        mutate(&mut rng, &mut t);
        let mut e = ep.clone();
        let ep_arg = match rng.below(8) {
            0 => None,
            1 => {
                mutate(&mut rng, &mut e);
                Some(e.as_slice())
            }
            _ => Some(e.as_slice()),
        };
        if i % 97 == 0 {
            // Pure noise now and then.
            t = (0..rng.below(300)).map(|_| rng.byte()).collect();
        }
        let result = std::panic::catch_unwind(|| exercise(&t, ep_arg, &sysfs));
        match result {
            Ok((structures, problems, rendered)) => {
                with_structures += usize::from(structures > 0);
                with_problems += usize::from(problems > 0);
                total += rendered;
            }
            Err(_) => panic!("panic at iteration {i}: table {t:02x?} entry point {ep_arg:02x?}"),
        }
    }
    eprintln!(
        "fuzz smoke: {ITERATIONS} inputs, {with_structures} with structures, {with_problems} with problems"
    );
    // The mutations must both keep structures parseable and break them.
    assert!(with_structures > ITERATIONS / 2, "{with_structures}");
    assert!(with_problems > ITERATIONS / 2, "{with_problems}");
    assert!(total > 0);
}
