//! The GLPI native inventory export, validated against GLPI's own JSON schema
//! (`shared/reference/glpi-inventory-format/inventory.schema.json`, read at run time; its absence
//! fails the test) with the `jsonschema` crate, on hardware sections written here by hand: a full
//! laptop, a minimal machine where almost nothing could be read, and one with odd values.
//!
//! The schema forbids unknown keys only at the top level, so the tests also check that every key
//! of the export is a property the schema declares.

use std::path::PathBuf;

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};

use atelier_inventory::glpi::{GlpiOptions, device_id, glpi_inventory};
use atelier_record::{
    Battery, BootMode, Cpu, DeviceIdentity, Disk, DiskHealth, Firmware, GradeLevel, Grades,
    HardwareSection, HealthVerdict, MachineIdentity, MachineKeyInfo, MediaKind, Memory, MemorySlot,
    NetworkInterface, PciDevice, Peripherals, Screen, SecureBootState, Sourced, Tpm, Transport,
    ValueState,
};

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

// ---------------------------------------------------------------------------------------------
// The schema and the validator

fn reference_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/glpi-inventory-format")
}

fn read_json(name: &str) -> Value {
    let path = reference_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}): the GLPI inventory format reference must sit in \
             shared/reference/glpi-inventory-format beside the checkout",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn schema() -> Value {
    read_json("inventory.schema.json")
}

fn validator() -> jsonschema::Validator {
    jsonschema::draft7::options()
        .should_validate_formats(true)
        .build(&schema())
        .expect("GLPI's inventory schema compiles")
}

/// Every schema violation, one line each.
fn violations(validator: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

fn assert_valid(validator: &jsonschema::Validator, doc: &Value) {
    let errors = violations(validator, doc);
    assert!(
        errors.is_empty(),
        "not a valid GLPI inventory:\n{}\n{}",
        errors.join("\n"),
        serde_json::to_string_pretty(doc).unwrap()
    );
}

/// Paths of the keys of `value` that `schema` does not declare (the schema itself only refuses
/// unknown keys at the top level).
fn undeclared_keys(schema: &Value, value: &Value, path: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            for (key, child) in map {
                let here = format!("{path}/{key}");
                match properties.and_then(|p| p.get(key)) {
                    Some(sub) => undeclared_keys(sub, child, &here, out),
                    None => out.push(here),
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    undeclared_keys(item_schema, item, &format!("{path}/{i}"), out);
                }
            }
        }
        _ => {}
    }
}

/// Every string of the document, with its path.
fn strings<'a>(value: &'a Value, path: String, out: &mut Vec<(String, &'a str)>) {
    match value {
        Value::String(s) => out.push((path, s)),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                strings(item, format!("{path}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                strings(v, format!("{path}/{k}"), out);
            }
        }
        _ => {}
    }
}

/// The checks every export must pass.
fn check_export(validator: &jsonschema::Validator, doc: &Value) {
    assert_valid(validator, doc);

    let mut undeclared = Vec::new();
    undeclared_keys(&schema(), doc, "", &mut undeclared);
    assert!(
        undeclared.is_empty(),
        "keys the schema does not declare: {undeclared:?}"
    );

    let mut all = Vec::new();
    strings(doc, String::new(), &mut all);
    let blank: Vec<_> = all.iter().filter(|(_, s)| s.trim().is_empty()).collect();
    assert!(blank.is_empty(), "blank strings: {blank:?}");

    assert_eq!(doc["itemtype"], "Computer");
    assert_eq!(doc["action"], "inventory");
    let deviceid = doc["deviceid"].as_str().expect("deviceid is a string");
    assert!(is_atelier_id(deviceid, 16), "deviceid {deviceid:?}");
    let name = doc["content"]["hardware"]["name"]
        .as_str()
        .expect("hardware.name");
    assert!(!name.trim().is_empty());
    assert!(doc["content"]["versionclient"].is_string());
}

/// `atelier-` followed by `digits` lowercase hex digits.
fn is_atelier_id(id: &str, digits: usize) -> bool {
    id.strip_prefix("atelier-").is_some_and(|hex| {
        hex.len() == digits
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

// ---------------------------------------------------------------------------------------------
// Hardware sections written by hand

fn known(v: &str) -> Sourced<String> {
    Sourced::known(v.to_string(), "smbios")
}

fn absent() -> Sourced<String> {
    Sourced::absent("smbios")
}

fn needs_root() -> Sourced<String> {
    Sourced::missing(ValueState::NeedsRoot, "/sys/class/dmi/id", None, None)
}

fn placeholder(raw: &str) -> Sourced<String> {
    Sourced::missing(ValueState::Placeholder, "smbios", Some(raw.into()), None)
}

fn opts(hostname: Option<&str>) -> GlpiOptions {
    GlpiOptions {
        version_client: "atelier 0.1.0".into(),
        hostname: hostname.map(str::to_string),
        tag: None,
    }
}

fn disk(name: &str, transport: Transport, media: MediaKind, size: u64) -> Disk {
    Disk {
        device: DeviceIdentity {
            name: name.into(),
            path: format!("/dev/{name}"),
            model: None,
            vendor: None,
            serial: None,
            wwn: None,
            firmware: None,
            transport,
            media,
            size_bytes: size,
            logical_sector_size: 512,
            physical_sector_size: 512,
            rotational: media == MediaKind::Magnetic,
            removable: false,
            loop_backing_file: None,
        },
        boot_medium: false,
        health: DiskHealth {
            verdict: HealthVerdict::Good,
            findings: vec![],
            unknown_reason: None,
            smart_passed: Some(true),
            power_on_hours: Some(1234),
            reallocated_sectors: Some(0),
            pending_sectors: None,
            uncorrectable_sectors: None,
            percentage_used: None,
            percentage_used_source: None,
            temperature_celsius: None,
            media_errors: None,
            critical_warning: None,
            smartctl_version: Some("7.4".into()),
        },
    }
}

fn slot(locator: &str, size: Option<u64>) -> MemorySlot {
    MemorySlot {
        locator: Some(locator.into()),
        bank: Some("BANK 0".into()),
        populated: size.is_some(),
        size_bytes: size,
        memory_type: size.map(|_| "DDR4".into()),
        form_factor: Some("SODIMM".into()),
        speed_mts: size.map(|_| 2400),
        configured_speed_mts: size.map(|_| 2400),
        manufacturer: size.map(|_| "Samsung".into()),
        part_number: size.map(|_| "M471A1K43CB1-CRC".into()),
        serial: size.map(|_| "12345678".into()),
    }
}

fn pci(address: &str, class: &str, class_name: &str, ids: (&str, &str), name: &str) -> PciDevice {
    PciDevice {
        address: address.into(),
        class_code: class.into(),
        class_name: Some(class_name.into()),
        vendor_id: ids.0.into(),
        device_id: ids.1.into(),
        vendor_name: Some("Intel Corporation".into()),
        device_name: Some(name.into()),
        subsystem_vendor_id: Some("17aa".into()),
        subsystem_device_id: Some("225d".into()),
        subsystem_name: None,
        revision: Some("07".into()),
        driver: None,
        is_gpu: class.starts_with("03"),
    }
}

/// A ThinkPad T480 with everything readable: battery, internal panel and an external monitor,
/// an NVMe and a SATA disk plus the bench's boot stick, two memory slots (one empty).
fn laptop() -> HardwareSection {
    let mut nvme = disk(
        "nvme0n1",
        Transport::Nvme,
        MediaKind::Flash,
        512_110_190_592,
    );
    nvme.device.model = Some("SAMSUNG MZVLB512HAJQ-000L7".into());
    nvme.device.serial = Some("S3TNNX0K123456".into());
    nvme.device.firmware = Some("4L2QEXA7".into());
    nvme.device.wwn = Some("eui.0025388b91b1a2c3".into());
    let mut sata = disk("sda", Transport::Sata, MediaKind::Magnetic, 500_107_862_016);
    sata.device.model = Some("ST500LM021-1KJ152".into());
    sata.device.vendor = Some("ATA".into());
    sata.device.serial = Some("W62ABCDE".into());
    sata.device.firmware = Some("0005LVM1".into());
    let mut stick = disk("sdb", Transport::Usb, MediaKind::Unknown, 32 * GIB);
    stick.device.model = Some("Atelier Stick".into());
    stick.device.serial = Some("STICK0001".into());
    stick.boot_medium = true;

    let mut gpu = pci(
        "0000:00:02.0",
        "030000",
        "VGA compatible controller",
        ("8086", "5917"),
        "UHD Graphics 620",
    );
    gpu.driver = Some("i915".into());
    let mut audio = pci(
        "0000:00:1f.3",
        "040300",
        "Audio device",
        ("8086", "9d71"),
        "Sunrise Point-LP HD Audio",
    );
    audio.driver = Some("snd_hda_intel".into());
    let mut wifi = pci(
        "0000:03:00.0",
        "028000",
        "Network controller",
        ("8086", "24fd"),
        "Wireless 8265 / 8275",
    );
    wifi.driver = Some("iwlwifi".into());
    let mut nameless = pci(
        "0000:00:14.2",
        "118000",
        "Signal processing controller",
        ("8086", "9D31"),
        "x",
    );
    nameless.device_name = None;

    HardwareSection {
        collected_at: Utc.with_ymd_and_hms(2025, 3, 14, 9, 26, 53).unwrap(),
        as_root: true,
        identity: MachineIdentity {
            system_vendor: known("LENOVO"),
            product_name: known("20L5CTO1WW"),
            product_version: known("ThinkPad T480"),
            product_sku: known("LENOVO_MT_20L5_BU_Think_FM_ThinkPad T480"),
            product_family: known("ThinkPad T480"),
            serial: known("PF1ABCDE"),
            uuid: known("4c4c4544-0034-3010-8048-b6c04f503732"),
            chassis_type: known("Notebook"),
            chassis_portable: Some(true),
            chassis_serial: known("PF1ABCDE"),
            board_vendor: known("LENOVO"),
            board_name: known("20L5CTO1WW"),
            board_serial: known("L1HF81Y00AB"),
            bios_vendor: known("LENOVO"),
            bios_version: known("N24ET56W (1.31 )"),
            bios_date: known("03/15/2018"),
            devicetree_model: absent(),
            devicetree_serial: absent(),
            smbios_version: Some("3.0".into()),
        },
        machine_key: MachineKeyInfo {
            value: Some("serial+uuid:PF1ABCDE/4c4c4544-0034-3010-8048-b6c04f503732".into()),
            source: "serial_uuid".into(),
            weak: false,
            skipped: vec![],
        },
        cpu: Some(Cpu {
            model: Some("Intel(R) Core(TM) i5-8350U CPU @ 1.70GHz".into()),
            vendor: Some("GenuineIntel".into()),
            architecture: "x86_64".into(),
            sockets: Some(1),
            cores: Some(4),
            threads: Some(8),
            max_frequency_mhz: Some(3600),
            virtualization: vec!["vmx".into()],
            source: "/proc/cpuinfo".into(),
        }),
        memory: Memory {
            total_bytes: Sourced::known(8_026_804 * 1024, "/proc/meminfo"),
            installed_source: None,
            installed_bytes: Some(8 * GIB),
            max_capacity_bytes: None,
            slot_count: None,
            error_correction: Some("Single-bit ECC".into()),
            slots: vec![
                slot("ChannelA-DIMM0", Some(8 * GIB)),
                slot("ChannelB-DIMM0", None),
            ],
            check: "consistent".into(),
        },
        disks: vec![nvme, sata, stick],
        batteries: vec![Battery {
            name: "BAT0".into(),
            manufacturer: Some("SMP".into()),
            model: Some("01AV421".into()),
            serial: Some("1234".into()),
            technology: Some("Li-poly".into()),
            design_capacity_mwh: Some(24_050),
            full_capacity_mwh: Some(17_960),
            wear_percent: Some(25.3),
            cycle_count: Some(312),
            manufacture_date: Some("2019-03-07".into()),
            status: Some("Discharging".into()),
            capacity_basis: "energy".into(),
            source: "/sys/class/power_supply/BAT0".into(),
        }],
        laptop_without_battery: false,
        screens: vec![
            Screen {
                connector: "card0-eDP-1".into(),
                internal: true,
                vendor_code: "LGD".into(),
                vendor_name: Some("LG Display".into()),
                model: None,
                product_code: 0x0553,
                serial: None,
                native_width: Some(1920),
                native_height: Some(1080),
                width_mm: Some(309),
                height_mm: Some(174),
                diagonal_inches: Some(14.0),
                made_year: Some(2017),
                source: "/sys/class/drm/card0-eDP-1/edid".into(),
            },
            Screen {
                connector: "card0-DP-2".into(),
                internal: false,
                vendor_code: "DEL".into(),
                vendor_name: Some("Dell Inc.".into()),
                model: Some("DELL P2419H".into()),
                product_code: 0xa0c3,
                serial: Some("CFV9N93ABCDL".into()),
                native_width: Some(1920),
                native_height: Some(1080),
                width_mm: Some(527),
                height_mm: Some(296),
                diagonal_inches: Some(23.8),
                made_year: Some(2019),
                source: "/sys/class/drm/card0-DP-2/edid".into(),
            },
        ],
        pci_devices: vec![gpu, audio, wifi, nameless],
        network: vec![
            NetworkInterface {
                name: "enp0s31f6".into(),
                kind: "ethernet".into(),
                mac: Some("54:e1:ad:12:34:56".into()),
                mac_permanent: true,
                driver: Some("e1000e".into()),
                bus: Some("pci".into()),
                source: "/sys/class/net/enp0s31f6".into(),
            },
            NetworkInterface {
                name: "wlp3s0".into(),
                kind: "wifi".into(),
                mac: Some("a4:34:d9:65:43:21".into()),
                mac_permanent: true,
                driver: Some("iwlwifi".into()),
                bus: Some("pci".into()),
                source: "/sys/class/net/wlp3s0".into(),
            },
            NetworkInterface {
                name: "wwan0".into(),
                kind: "wwan".into(),
                mac: None,
                mac_permanent: false,
                driver: None,
                bus: Some("usb".into()),
                source: "/sys/class/net/wwan0".into(),
            },
        ],
        peripherals: Peripherals {
            wifi: vec!["wlp3s0".into()],
            bluetooth: vec!["hci0".into()],
            webcams: vec!["Integrated Camera".into()],
            audio: vec!["HDA Intel PCH".into()],
            touchscreens: vec![],
        },
        firmware: Firmware {
            boot_mode: BootMode::Uefi,
            secure_boot: SecureBootState::Enabled,
            uefi_capable: None,
            virtual_machine: None,
            tpm: Some(Tpm {
                version: Some("2.0".into()),
                source: "/sys/class/tpm/tpm0".into(),
            }),
        },
        grades: Grades {
            overall: GradeLevel::Good,
            verdicts: vec![],
        },
        warnings: vec![],
    }
}

/// A machine read without root, with a template-riddled SMBIOS, no machine key, no CPU model,
/// no disks, nothing else.
fn minimal() -> HardwareSection {
    HardwareSection {
        collected_at: Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap(),
        as_root: false,
        identity: MachineIdentity {
            system_vendor: placeholder("To be filled by O.E.M."),
            product_name: placeholder("To be filled by O.E.M."),
            product_version: placeholder("Default string"),
            product_sku: absent(),
            product_family: absent(),
            serial: needs_root(),
            uuid: needs_root(),
            chassis_type: Sourced::missing(
                ValueState::Unknown,
                "smbios type 3",
                None,
                Some("code 0x00".into()),
            ),
            chassis_portable: None,
            chassis_serial: needs_root(),
            board_vendor: absent(),
            board_name: absent(),
            board_serial: needs_root(),
            bios_vendor: absent(),
            bios_version: absent(),
            bios_date: placeholder("00/00/0000"),
            devicetree_model: absent(),
            devicetree_serial: absent(),
            smbios_version: None,
        },
        machine_key: MachineKeyInfo {
            value: None,
            source: "none".into(),
            weak: true,
            skipped: vec!["serial_uuid: needs root".into()],
        },
        cpu: Some(Cpu {
            model: None,
            vendor: None,
            architecture: "riscv64".into(),
            sockets: None,
            cores: None,
            threads: None,
            max_frequency_mhz: None,
            virtualization: vec![],
            source: "/proc/cpuinfo".into(),
        }),
        memory: Memory {
            total_bytes: Sourced::missing(
                ValueState::Unknown,
                "/proc/meminfo",
                None,
                Some("garbled".into()),
            ),
            installed_bytes: None,
            installed_source: None,
            max_capacity_bytes: None,
            slot_count: None,
            error_correction: None,
            slots: vec![],
            check: "unknown: no SMBIOS".into(),
        },
        disks: vec![],
        batteries: vec![],
        laptop_without_battery: false,
        screens: vec![],
        pci_devices: vec![],
        network: vec![],
        peripherals: Peripherals::default(),
        firmware: Firmware {
            boot_mode: BootMode::Legacy,
            secure_boot: SecureBootState::Unknown,
            uefi_capable: None,
            virtual_machine: None,
            tpm: None,
        },
        grades: Grades {
            overall: GradeLevel::Unknown,
            verdicts: vec![],
        },
        warnings: vec![],
    }
}

/// Unicode everywhere, whitespace-only strings, sizes at the edge of u64, a dual-socket CPU
/// whose numbers do not divide, garbage class codes and a two-digit-year BIOS date.
fn odd() -> HardwareSection {
    let mut hw = laptop();
    hw.identity.system_vendor = known("Ääkköset Öy ✓");
    hw.identity.product_name = known("Модель 名前 🖥");
    hw.identity.product_version = known("   ");
    hw.identity.serial = known("  SN\u{00A0}ünï  ");
    hw.identity.bios_date = known("12/31/99");
    hw.machine_key.value = Some("serial:SN ünï 🖥".into());
    hw.cpu = Some(Cpu {
        model: Some("  ".into()),
        vendor: Some("HiSilicon".into()),
        architecture: "armv7l".into(),
        sockets: Some(2),
        cores: Some(3),
        threads: Some(u32::MAX),
        max_frequency_mhz: Some(0),
        virtualization: vec![],
        source: "devicetree".into(),
    });
    hw.memory.total_bytes = Sourced::known(u64::MAX, "/proc/meminfo");
    hw.memory.slots = vec![
        slot("槽 0", Some(u64::MAX)),
        slot("", None),
        slot("DIMM 2", Some(1)),
    ];
    let mut huge = disk("sdz", Transport::Other, MediaKind::Virtual, u64::MAX);
    huge.device.model = Some("\u{1F4BE} ÜberDisk \"quoted\" \\ back".into());
    huge.device.vendor = Some(" ata ".into());
    huge.device.serial = Some(String::new());
    let looped = disk("loop0", Transport::Loop, MediaKind::Virtual, GIB);
    hw.disks = vec![huge, looped];
    hw.batteries[0].design_capacity_mwh = Some(u64::MAX);
    hw.batteries[0].model = Some(" ".into());
    hw.batteries[0].technology = None;
    hw.screens[0].vendor_code = String::new();
    hw.screens[0].vendor_name = None;
    hw.screens[0].connector = "eDP-1".into();
    hw.screens[0].diagonal_inches = None;
    hw.screens[0].native_width = None;
    hw.screens[0].made_year = None;
    let mut weird = pci("10000:e1:00.0", "zz", "", ("ABCD", "EF01"), "");
    weird.class_name = None;
    weird.vendor_name = Some("Fabricant ∑".into());
    weird.subsystem_vendor_id = None;
    hw.pci_devices.push(weird);
    hw.network[0].name = "enp0s31f6ünï".into();
    hw.network[0].mac = Some(String::new());
    hw
}

// ---------------------------------------------------------------------------------------------
// Tests

#[test]
fn every_export_validates_against_glpis_schema() {
    let validator = validator();
    for (label, hw, hostname) in [
        ("laptop", laptop(), Some("pc-42")),
        ("laptop without hostname", laptop(), None),
        ("minimal", minimal(), None),
        ("minimal with localhost", minimal(), Some("localhost")),
        ("odd", odd(), Some("  ")),
    ] {
        let mut options = opts(hostname);
        options.tag = Some("ressourcerie-nord".into());
        let doc = glpi_inventory(&hw, &options);
        eprintln!("{label}: {}", serde_json::to_string(&doc).unwrap());
        check_export(&validator, &doc);
    }
}

#[test]
fn the_laptop_lands_where_glpi_looks() {
    let doc = glpi_inventory(&laptop(), &opts(Some("pc-42")));
    let c = &doc["content"];

    assert_eq!(c["versionclient"], "atelier 0.1.0");
    assert!(doc.get("tag").is_none(), "no tag given, none written");

    // Identity: Lenovo's model name is in the product version.
    assert_eq!(
        c["bios"],
        json!({
            "smanufacturer": "LENOVO",
            "smodel": "ThinkPad T480",
            "ssn": "PF1ABCDE",
            "enclosureserial": "PF1ABCDE",
            "skunumber": "LENOVO_MT_20L5_BU_Think_FM_ThinkPad T480",
            "mmanufacturer": "LENOVO",
            "mmodel": "20L5CTO1WW",
            "msn": "L1HF81Y00AB",
            "bmanufacturer": "LENOVO",
            "bversion": "N24ET56W (1.31 )",
            "bdate": "2018-03-15",
            "secure_boot": "enabled",
        })
    );
    assert_eq!(
        c["hardware"],
        json!({
            "name": "pc-42",
            "uuid": "4c4c4544-0034-3010-8048-b6c04f503732",
            "chassis_type": "Notebook",
            "memory": 7838,
        })
    );

    assert_eq!(
        c["cpus"],
        json!([{
            "name": "Intel(R) Core(TM) i5-8350U CPU @ 1.70GHz",
            "manufacturer": "Intel",
            "arch": "x86_64",
            "core": 4,
            "thread": 2,
            "speed": 3600,
        }])
    );

    // Both slots, the empty one too (without capacity), numbered from 1.
    assert_eq!(
        c["memories"],
        json!([
            {
                "numslots": 1,
                "caption": "ChannelA-DIMM0",
                "description": "SODIMM",
                "capacity": 8192,
                "type": "DDR4",
                "speed": "2400",
                "manufacturer": "Samsung",
                "serialnumber": "12345678",
                "model": "M471A1K43CB1-CRC",
                "memorycorrection": "Single-bit ECC",
            },
            { "numslots": 2, "caption": "ChannelB-DIMM0", "description": "SODIMM" },
        ])
    );

    // Two disks; the boot stick leaves with the bench, so it is not the machine's.
    assert_eq!(
        c["storages"],
        json!([
            {
                "name": "nvme0n1",
                "model": "SAMSUNG MZVLB512HAJQ-000L7",
                "serial": "S3TNNX0K123456",
                "firmware": "4L2QEXA7",
                "wwn": "eui.0025388b91b1a2c3",
                "disksize": 512_110_190_592 / MIB,
                "interface": "NVMe",
                "type": "SSD",
            },
            {
                "name": "sda",
                "model": "ST500LM021-1KJ152",
                "serial": "W62ABCDE",
                "firmware": "0005LVM1",
                "disksize": 476_940,
                "interface": "SATA",
                "type": "HDD",
            },
        ])
    );

    assert_eq!(
        c["batteries"],
        json!([{
            "name": "01AV421",
            "manufacturer": "SMP",
            "serial": "1234",
            "chemistry": "Li-poly",
            "capacity": 24_050,
            "real_capacity": 17_960,
            "date": "2019-03-07",
        }])
    );

    assert_eq!(
        c["monitors"],
        json!([
            {
                "name": "LGD 0553",
                "caption": "LGD 0553",
                "manufacturer": "LG Display",
                "port": "eDP-1",
                "description": "14.0\", 1920x1080, 2017",
            },
            {
                "name": "DELL P2419H",
                "caption": "DELL P2419H",
                "manufacturer": "Dell Inc.",
                "serial": "CFV9N93ABCDL",
                "port": "DP-2",
                "description": "23.8\", 1920x1080, 2019",
            },
        ])
    );

    let controllers = c["controllers"].as_array().unwrap();
    assert_eq!(controllers.len(), 4, "every PCI device");
    assert_eq!(
        controllers[0],
        json!({
            "name": "UHD Graphics 620",
            "caption": "UHD Graphics 620",
            "manufacturer": "Intel Corporation",
            "vendorid": "8086",
            "productid": "5917",
            "pcisubsystemid": "17aa:225d",
            "pciclass": "0300",
            "type": "VGA compatible controller",
            "pcislot": "00:02.0",
            "rev": "07",
            "driver": "i915",
        })
    );
    assert_eq!(
        controllers[3]["name"],
        "Signal processing controller [8086:9d31]"
    );
    assert_eq!(controllers[3]["productid"], "9d31");

    // GPUs and audio devices carry the controller's name, which GLPI uses to drop the
    // duplicate controller.
    assert_eq!(
        c["videos"],
        json!([{ "name": "UHD Graphics 620", "pcislot": "00:02.0" }])
    );
    assert_eq!(
        c["sounds"],
        json!([{
            "name": "Sunrise Point-LP HD Audio",
            "manufacturer": "Intel Corporation",
            "description": "Audio device",
        }])
    );

    assert_eq!(
        c["networks"],
        json!([
            {
                "description": "enp0s31f6",
                "mac": "54:e1:ad:12:34:56",
                "type": "ethernet",
                "virtualdev": false,
                "driver": "e1000e",
            },
            {
                "description": "wlp3s0",
                "mac": "a4:34:d9:65:43:21",
                "type": "wifi",
                "virtualdev": false,
                "driver": "iwlwifi",
            },
            { "description": "wwan0", "virtualdev": false },
        ])
    );
}

#[test]
fn a_machine_with_nothing_readable_still_has_a_name_and_no_invented_values() {
    let hw = minimal();
    let doc = glpi_inventory(&hw, &opts(None));
    let c = &doc["content"];

    // No value that was a placeholder, needed root or was unknown.
    assert!(c.get("bios").is_none(), "{}", c["bios"]);
    let name = c["hardware"]["name"].as_str().unwrap();
    assert!(is_atelier_id(name, 8), "fallback name {name:?}");
    assert_eq!(c["hardware"], json!({ "name": name }));
    assert!(
        doc["deviceid"].as_str().unwrap().starts_with(name),
        "same digest"
    );
    // riscv64 is not in the schema's arch pattern, and nothing else is known about the CPU.
    assert!(c.get("cpus").is_none(), "{}", c["cpus"]);
    for key in [
        "memories",
        "storages",
        "batteries",
        "monitors",
        "controllers",
        "videos",
        "sounds",
        "networks",
    ] {
        assert!(c.get(key).is_none(), "{key}: {}", c[key]);
    }

    // "localhost" names no machine: the model, else the hash.
    let doc = glpi_inventory(&hw, &opts(Some("localhost")));
    assert_eq!(doc["content"]["hardware"]["name"], name);
    let mut with_model = hw.clone();
    with_model.identity.product_name = known("OptiPlex 7050");
    let doc = glpi_inventory(&with_model, &opts(Some("(none)")));
    assert_eq!(doc["content"]["hardware"]["name"], "OptiPlex 7050");
    assert_eq!(doc["content"]["bios"]["smodel"], "OptiPlex 7050");

    // The sound cards the kernel names stand in when no PCI audio device is known.
    let mut with_audio = hw.clone();
    with_audio.peripherals.audio = vec!["bcm2835 Headphones".into(), " ".into()];
    let doc = glpi_inventory(&with_audio, &opts(None));
    assert_eq!(
        doc["content"]["sounds"],
        json!([{ "name": "bcm2835 Headphones" }])
    );
}

#[test]
fn odd_values_are_kept_or_dropped_but_never_break_the_document() {
    let doc = glpi_inventory(&odd(), &opts(Some("atelier-bench")));
    let c = &doc["content"];

    assert_eq!(c["bios"]["smanufacturer"], "Ääkköset Öy ✓");
    assert_eq!(
        c["bios"]["smodel"], "Модель 名前 🖥",
        "a blank version is no model"
    );
    assert_eq!(c["bios"]["ssn"], "SN\u{00A0}ünï", "trimmed");
    assert_eq!(c["bios"]["bdate"], "1999-12-31");
    assert_eq!(c["hardware"]["memory"], u64::MAX / MIB);

    // 3 cores do not split over 2 sockets: one entry with the totals.
    assert_eq!(
        c["cpus"],
        json!([{
            "manufacturer": "HiSilicon",
            "arch": "armv7l",
            "core": 3,
            "thread": u32::MAX.div_ceil(3),
        }])
    );

    let memories = c["memories"].as_array().unwrap();
    assert_eq!(memories.len(), 3);
    assert_eq!(memories[0]["capacity"], u64::MAX / MIB);
    assert_eq!(memories[0]["caption"], "槽 0");
    assert_eq!(
        memories[1],
        json!({ "numslots": 2, "description": "SODIMM" })
    );
    assert!(
        memories[2].get("capacity").is_none(),
        "1 byte is 0 MiB: no capacity"
    );

    // The loop device is not hardware; the vendor " ata " says nothing.
    assert_eq!(
        c["storages"],
        json!([{
            "name": "sdz",
            "model": "\u{1F4BE} ÜberDisk \"quoted\" \\ back",
            "disksize": u64::MAX / MIB,
        }])
    );
    assert_eq!(c["batteries"][0]["name"], "BAT0");
    assert_eq!(c["batteries"][0]["capacity"], u64::MAX);
    assert_eq!(
        c["monitors"][0],
        json!({ "name": "0553", "caption": "0553", "port": "eDP-1" })
    );

    let weird = c["controllers"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        weird,
        json!({
            "name": "PCI device abcd:ef01",
            "caption": "PCI device abcd:ef01",
            "manufacturer": "Fabricant ∑",
            "vendorid": "abcd",
            "productid": "ef01",
            "pcislot": "10000:e1:00.0",
            "rev": "07",
        })
    );
    assert_eq!(c["networks"][0]["description"], "enp0s31f6ünï");
    assert!(c["networks"][0].get("mac").is_none());
}

#[test]
fn dual_socket_cpus_give_one_entry_per_socket() {
    let mut hw = laptop();
    hw.cpu = Some(Cpu {
        model: Some("Intel(R) Xeon(R) CPU E5-2630 v3 @ 2.40GHz".into()),
        vendor: Some("GenuineIntel".into()),
        architecture: "x86_64".into(),
        sockets: Some(2),
        cores: Some(16),
        threads: Some(32),
        max_frequency_mhz: Some(3200),
        virtualization: vec!["vmx".into()],
        source: "/proc/cpuinfo".into(),
    });
    let doc = glpi_inventory(&hw, &opts(None));
    check_export(&validator(), &doc);
    let entry = json!({
        "name": "Intel(R) Xeon(R) CPU E5-2630 v3 @ 2.40GHz",
        "manufacturer": "Intel",
        "arch": "x86_64",
        "core": 8,
        "thread": 2,
        "speed": 3200,
    });
    assert_eq!(doc["content"]["cpus"], json!([entry.clone(), entry]));
}

#[test]
fn a_raspberry_pi_is_named_by_its_devicetree() {
    let mut hw = minimal();
    hw.identity.devicetree_model = known("Raspberry Pi 4 Model B Rev 1.4");
    hw.identity.devicetree_serial = known("10000000abcdef01");
    hw.machine_key.value = Some("devicetree_serial:10000000abcdef01".into());
    hw.firmware.secure_boot = SecureBootState::NotApplicable;
    let doc = glpi_inventory(&hw, &opts(None));
    check_export(&validator(), &doc);
    assert_eq!(
        doc["content"]["bios"],
        json!({
            "smodel": "Raspberry Pi 4 Model B Rev 1.4",
            "ssn": "10000000abcdef01",
            "secure_boot": "unsupported",
        })
    );
    assert_eq!(
        doc["content"]["hardware"]["name"],
        "Raspberry Pi 4 Model B Rev 1.4"
    );
}

#[test]
fn deviceid_depends_on_the_machine_key_only() {
    let hw = laptop();
    let id = device_id(&hw);
    assert!(is_atelier_id(&id, 16), "{id}");
    assert_eq!(glpi_inventory(&hw, &opts(None))["deviceid"], id);

    // Another run on the same machine: other date, host name, tag, root or not, RAM added.
    let mut later = hw.clone();
    later.collected_at = Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap();
    later.memory.total_bytes = Sourced::known(16 * GIB, "/proc/meminfo");
    later.identity.bios_version = known("N24ET70W (1.45 )");
    later.disks.pop();
    let mut other_opts = opts(Some("elsewhere"));
    other_opts.tag = Some("t".into());
    assert_eq!(glpi_inventory(&later, &other_opts)["deviceid"], id);

    // Another machine of the same model.
    let mut other = hw.clone();
    other.machine_key.value =
        Some("serial+uuid:PF1XYZ12/4c4c4544-0034-3010-8048-b6c04f503733".into());
    assert_ne!(device_id(&other), id);

    // The value is pinned: changing the derivation renames every machine in GLPI.
    assert_eq!(
        id,
        "atelier-".to_string()
            + &sha256_hex(
                "atelier machine key\nserial+uuid:PF1ABCDE/4c4c4544-0034-3010-8048-b6c04f503732"
            )[..16]
    );
}

#[test]
fn without_a_machine_key_deviceid_comes_from_the_other_identity_fields() {
    let mut a = laptop();
    a.machine_key.value = None;
    a.machine_key.source = "none".into();
    let id = device_id(&a);
    assert!(is_atelier_id(&id, 16), "{id}");
    assert_ne!(id, device_id(&laptop()), "not the keyed digest");

    // Stable across runs.
    let mut again = a.clone();
    again.collected_at = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
    again.memory.installed_bytes = Some(32 * GIB);
    again.disks[2].device.serial = Some("ANOTHER-STICK".into());
    assert_eq!(device_id(&again), id, "the boot stick does not count");
    a.machine_key.value = Some("   ".into());
    assert_eq!(device_id(&a), id, "a blank key is no key");

    // Two machines of the same model differ by their disks.
    let mut twin = again.clone();
    twin.disks[0].device.serial = Some("S3TNNX0K999999".into());
    assert_ne!(device_id(&twin), id);

    // The minimal machine too gets a fixed, well-formed id.
    assert_eq!(device_id(&minimal()), device_id(&minimal()));
    assert!(is_atelier_id(&device_id(&minimal()), 16));
}

#[test]
fn the_validator_rejects_broken_documents() {
    let validator = validator();
    let good = glpi_inventory(&laptop(), &opts(Some("pc-42")));
    assert_valid(&validator, &good);

    type Mutation = fn(&mut Value);
    let mutations: [(&str, Mutation); 8] = [
        ("unknown top-level key", |d| d["surprise"] = json!(1)),
        ("no deviceid", |d| {
            d.as_object_mut().unwrap().remove("deviceid");
        }),
        ("memory as a string", |d| {
            d["content"]["hardware"]["memory"] = json!("7838")
        }),
        ("bdate in US format", |d| {
            d["content"]["bios"]["bdate"] = json!("03/15/2018")
        }),
        ("itemtype outside the list", |d| {
            d["itemtype"] = json!("Laptop")
        }),
        ("arch outside the pattern", |d| {
            d["content"]["cpus"][0]["arch"] = json!("riscv64")
        }),
        ("network without description", |d| {
            d["content"]["networks"][0]
                .as_object_mut()
                .unwrap()
                .remove("description");
        }),
        ("no versionclient", |d| {
            d["content"]
                .as_object_mut()
                .unwrap()
                .remove("versionclient");
        }),
    ];
    for (label, mutate) in mutations {
        let mut doc = good.clone();
        mutate(&mut doc);
        assert!(
            !violations(&validator, &doc).is_empty(),
            "the validator accepted a document with {label}"
        );
    }

    // The key check catches what the schema lets through.
    let mut doc = good.clone();
    doc["content"]["storages"][0]["macaddr"] = json!("x");
    assert_valid(&validator, &doc);
    let mut undeclared = Vec::new();
    undeclared_keys(&schema(), &doc, "", &mut undeclared);
    assert_eq!(undeclared, ["/content/storages/0/macaddr"]);
}

#[test]
fn the_upstream_examples_validate() {
    let validator = validator();
    for name in ["computer_1.json", "computer_2.json"] {
        let doc = read_json(name);
        assert_valid(&validator, &doc);
    }
}

fn sha256_hex(input: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(input.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
