//! SMART: the parser and the verdict over the `smartctl -j` outputs captured for Atelier (QEMU's
//! emulated disks and this host's virtio disk: see `tests/fixtures/smart/README.md`) and over
//! small documents written here for the cases QEMU cannot show (failing, worn or damaged
//! drives, packed raw values, SAS, RAID volumes, Windows), a mutation test over all of them, and
//! smartctl runs (missing program, real smartctl on absent devices, a hanging process,
//! concurrency).

use atelier_testkit::Rng;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use atelier_inventory::smart::{
    self, DiskHealth, HealthReason, NvmeCriticalWarning, Protocol, Rotation, SmartError,
    SmartReport, Smartctl, SmartctlStatus, StatusFlag, UnknownReason,
};
use serde_json::{Value, json};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/smart")
}

/// Every `*.json` fixture, sorted by name.
fn fixtures() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = fs::read_dir(fixture_dir())
        .expect("fixture directory")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let bytes = fs::read(&p).expect("fixture readable");
            (name, bytes)
        })
        .collect();
    out.sort();
    out
}

fn load(name: &str) -> SmartReport {
    let bytes = fs::read(fixture_dir().join(name)).expect("fixture exists");
    smart::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// What a fixture or a document must parse to: identity, age, verdict.
struct Expect {
    /// The fixture's file name, or the document's description.
    name: &'static str,
    protocol: Option<Protocol>,
    model: Option<&'static str>,
    serial: Option<&'static str>,
    status: u8,
    passed: Option<bool>,
    power_on_hours: Option<u64>,
    health: DiskHealth,
}

fn expectations() -> Vec<Expect> {
    use DiskHealth::*;
    let ata = Some(Protocol::Ata);
    let nvme = Some(Protocol::Nvme);
    let scsi = Some(Protocol::Scsi);
    vec![
        // This host's virtio disk: smartctl cannot tell what it is.
        Expect {
            name: "host-virtio-vda.json",
            protocol: None,
            model: None,
            serial: None,
            status: 1,
            passed: None,
            power_on_hours: None,
            health: Unknown(UnknownReason::DeviceTypeNotDetected),
        },
        Expect {
            name: "qemu-no-such-device.json",
            protocol: None,
            model: None,
            serial: None,
            status: 2,
            passed: None,
            power_on_hours: None,
            health: Unknown(UnknownReason::DeviceOpenFailed),
        },
        Expect {
            name: "qemu-nvme-a.json",
            protocol: nvme.clone(),
            model: Some("QEMU NVMe Ctrl"),
            serial: Some("ATL-NVME-01"),
            status: 0,
            passed: Some(true),
            power_on_hours: Some(0),
            health: Good,
        },
        Expect {
            name: "qemu-nvme-x.json",
            protocol: nvme.clone(),
            model: Some("QEMU NVMe Ctrl"),
            serial: Some("ATL-NVME-01"),
            status: 0,
            passed: Some(true),
            power_on_hours: Some(0),
            health: Good,
        },
        Expect {
            name: "qemu-sata-hdd-a.json",
            protocol: ata.clone(),
            model: Some("WDC WD5000LPCX"),
            serial: Some("ATL-HDD-01"),
            status: 0,
            passed: Some(true),
            power_on_hours: Some(1),
            health: Good,
        },
        // `-x` asks for logs QEMU does not implement: bit 2, but the data is all there.
        Expect {
            name: "qemu-sata-hdd-x.json",
            protocol: ata.clone(),
            model: Some("WDC WD5000LPCX"),
            serial: Some("ATL-HDD-01"),
            status: 4,
            passed: Some(true),
            power_on_hours: Some(1),
            health: Good,
        },
        Expect {
            name: "qemu-sata-ssd-a.json",
            protocol: ata.clone(),
            model: Some("Samsung SSD 860 EVO 250GB"),
            serial: Some("ATL-SATA-01"),
            status: 0,
            passed: Some(true),
            power_on_hours: Some(1),
            health: Good,
        },
        Expect {
            name: "qemu-sata-ssd-x.json",
            protocol: ata.clone(),
            model: Some("Samsung SSD 860 EVO 250GB"),
            serial: Some("ATL-SATA-01"),
            status: 4,
            passed: Some(true),
            power_on_hours: Some(1),
            health: Good,
        },
        Expect {
            name: "qemu-usb-a.json",
            protocol: None,
            model: None,
            serial: None,
            status: 1,
            passed: None,
            power_on_hours: None,
            health: Unknown(UnknownReason::DeviceTypeNotDetected),
        },
        Expect {
            name: "qemu-usb-x.json",
            protocol: None,
            model: None,
            serial: None,
            status: 1,
            passed: None,
            power_on_hours: None,
            health: Unknown(UnknownReason::DeviceTypeNotDetected),
        },
        Expect {
            name: "qemu-usb-d-sat-a.json",
            protocol: ata.clone(),
            model: None,
            serial: None,
            status: 2,
            passed: None,
            power_on_hours: None,
            health: Unknown(UnknownReason::DeviceOpenFailed),
        },
        Expect {
            name: "qemu-usb-d-scsi-a.json",
            protocol: scsi.clone(),
            model: Some("QEMU QEMU HARDDISK"),
            serial: Some("ATL-USB-01"),
            status: 4,
            passed: None,
            power_on_hours: None,
            health: Unknown(UnknownReason::SmartUnsupported),
        },
        Expect {
            name: "qemu-usb-d-scsi-x.json",
            protocol: scsi.clone(),
            model: Some("QEMU QEMU HARDDISK"),
            serial: Some("ATL-USB-01"),
            status: 4,
            passed: None,
            power_on_hours: None,
            health: Unknown(UnknownReason::SmartUnsupported),
        },
    ]
}

fn check(r: &SmartReport, e: &Expect) {
    let n = e.name;
    assert_eq!(r.protocol, e.protocol, "{n}: protocol");
    assert_eq!(r.model.as_deref(), e.model, "{n}: model");
    assert_eq!(r.serial.as_deref(), e.serial, "{n}: serial");
    assert_eq!(r.status, Some(SmartctlStatus(e.status)), "{n}: exit status");
    assert_eq!(r.smart_passed, e.passed, "{n}: smart_status.passed");
    assert_eq!(r.power_on_hours, e.power_on_hours, "{n}: power-on hours");
    assert_eq!(r.health(), e.health, "{n}: verdict");
}

#[test]
fn every_fixture_parses_to_its_expected_verdict() {
    let expected = expectations();
    let names: Vec<String> = fixtures().into_iter().map(|(n, _)| n).collect();
    let mut listed: Vec<String> = expected.iter().map(|e| e.name.to_owned()).collect();
    listed.sort();
    assert_eq!(names, listed, "every fixture has exactly one expectation");
    for e in expected {
        check(&load(e.name), &e);
    }
}

#[test]
fn readme_names_every_fixture() {
    let readme = fs::read_to_string(fixture_dir().join("README.md")).expect("README.md");
    for (name, _) in fixtures() {
        assert!(readme.contains(&name), "README.md does not mention {name}");
    }
}

#[test]
fn qemu_nvme_details() {
    let r = load("qemu-nvme-a.json");
    assert_eq!(r.smartctl_version.as_deref(), Some("7.3"));
    assert_eq!(r.device_name.as_deref(), Some("/dev/nvme0n1"));
    assert_eq!(r.device_type.as_deref(), Some("nvme"));
    assert_eq!(r.firmware.as_deref(), Some("7.2.22"));
    assert_eq!(r.capacity_bytes, Some(64 << 20));
    assert_eq!(r.rotation, None);
    assert_eq!(r.temperature_c, Some(50));
    let log = r.nvme.expect("NVMe log");
    assert_eq!(log.critical_warning, Some(NvmeCriticalWarning(0)));
    // QEMU reports 0 % spare with a 0 % threshold: not below it.
    assert_eq!(log.available_spare, Some(0));
    assert_eq!(log.available_spare_threshold, Some(0));
    assert_eq!(log.data_units_read, Some(1));
    assert_eq!(log.bytes_read(), Some(512_000));
    assert_eq!(log.bytes_written(), Some(0));
}

#[test]
fn qemu_sata_details() {
    let hdd = load("qemu-sata-hdd-a.json");
    assert_eq!(hdd.rotation, Some(Rotation::Rpm(5400)));
    assert_eq!(hdd.capacity_bytes, Some(128 << 20));
    assert_eq!(hdd.smart_available, Some(true));
    assert_eq!(hdd.smart_enabled, Some(true));
    assert_eq!(hdd.temperature_c, Some(31));
    let ata = hdd.ata.expect("attributes");
    assert_eq!(ata.reallocated_sectors, Some(0));
    assert_eq!(ata.pending_sectors, None, "QEMU has no attribute 197");
    let airflow = ata.attributes.iter().find(|a| a.id == 190).expect("190");
    assert_eq!(airflow.raw.string.as_deref(), Some("31 (Min/Max 31/31)"));
    assert_eq!(airflow.raw.value, Some(522_125_343));
    assert_eq!(airflow.raw.count(), Some(31));

    let ssd = load("qemu-sata-ssd-a.json");
    assert_eq!(ssd.rotation, Some(Rotation::SolidState));

    let x = load("qemu-sata-hdd-x.json");
    assert_eq!(x.status.unwrap().flags(), vec![StatusFlag::SmartCommand]);
}

#[test]
fn usb_and_virtio_error_paths_keep_smartctl_messages() {
    let usb = load("qemu-usb-a.json");
    assert_eq!(usb.status.unwrap().flags(), vec![StatusFlag::CommandLine]);
    assert_eq!(
        usb.message_texts(),
        vec!["/dev/sdc: Unknown USB bridge [0x46f4:0x0001 (0x000)]".to_owned()]
    );
    let vda = load("host-virtio-vda.json");
    assert_eq!(
        vda.message_texts(),
        vec!["/dev/vda: Unable to detect device type".to_owned()]
    );
    assert_eq!(vda.messages[0].severity, "error");
    // Through `-d scsi` the QEMU USB stick answers SCSI INQUIRY but has no SMART; its
    // temperature of 0 °C is "not available".
    let scsi = load("qemu-usb-d-scsi-a.json");
    assert_eq!(scsi.smart_available, Some(false));
    assert_eq!(scsi.temperature_c, None);
    assert_eq!(scsi.rotation, None);
    assert_eq!(scsi.firmware.as_deref(), Some("2.5+"));
    assert_eq!(scsi.capacity_bytes, Some(64 << 20));
}

// ---------------------------------------------------------------------------------------------
// Hand-written documents: one per case the rules must handle, with only the members smartctl
// documents for it (smartctl(8), `-j`) and the rules read. Names, serials and counts are made
// up; they stand for no real drive.
// ---------------------------------------------------------------------------------------------

fn parse_doc(doc: &Value) -> SmartReport {
    let bytes = serde_json::to_vec(doc).expect("serializes");
    smart::parse(&bytes).unwrap_or_else(|e| panic!("{e}: {doc}"))
}

/// An ATA attribute whose raw value is a plain count: `raw.string` is the number itself.
fn attribute(id: u8, name: &str, raw: u64) -> Value {
    json!({"id": id, "name": name, "raw": {"value": raw, "string": raw.to_string()}})
}

/// An ATA attribute whose raw field packs several vendor fields: smartctl's drive database
/// formats it as `string`, and `value` is the whole 48-bit field.
fn packed(id: u8, name: &str, value: u64, string: &str) -> Value {
    json!({"id": id, "name": name, "raw": {"value": value, "string": string}})
}

/// An ATA disk failing overall behind a USB bridge: `smart_status.passed` false, the
/// reallocated sector count (a pre-failure attribute) at its threshold now, 1975 reallocated
/// and 8 pending sectors; exit status 216 = bits 3, 4, 6 and 7.
fn ata_failing_overall() -> Value {
    json!({
        "smartctl": {"version": [7, 1], "exit_status": 216},
        "device": {"name": "/dev/sdb", "type": "usbjmicron", "protocol": "ATA"},
        "model_name": "ATL TEST HDD 500", "serial_number": "ATL-ATA-FAIL",
        "smart_status": {"passed": false},
        "power_on_time": {"hours": 40_321},
        "ata_smart_attributes": {"table": [
            {"id": 5, "name": "Reallocated_Sector_Ct", "value": 1, "worst": 1, "thresh": 5,
             "when_failed": "now", "flags": {"prefailure": true},
             "raw": {"value": 1975, "string": "1975"}},
            attribute(196, "Reallocated_Event_Count", 2048),
            attribute(197, "Current_Pending_Sector", 8),
            attribute(198, "Offline_Uncorrectable", 0),
            attribute(199, "UDMA_CRC_Error_Count", 0),
        ]}
    })
}

/// A healthy ATA SSD but for 108 interface CRC errors (a cable, not the disk).
fn ata_crc_errors() -> Value {
    json!({
        "smartctl": {"exit_status": 0},
        "device": {"name": "/dev/sda", "type": "sat", "protocol": "ATA"},
        "model_name": "ATL TEST SSD 250", "serial_number": "ATL-ATA-CRC",
        "rotation_rate": 0,
        "smart_status": {"passed": true},
        "power_on_time": {"hours": 12_345},
        "ata_smart_attributes": {"table": [
            attribute(5, "Reallocated_Sector_Ct", 0),
            attribute(187, "Reported_Uncorrect", 0),
            attribute(197, "Current_Pending_Sector", 0),
            attribute(199, "UDMA_CRC_Error_Count", 108),
        ]}
    })
}

/// An ATA SSD with nothing to report, over a USB bridge that passes ATA through (SAT).
fn ata_healthy_usb_ssd() -> Value {
    json!({
        "smartctl": {"exit_status": 0},
        "device": {"name": "/dev/sdc", "type": "sat", "protocol": "ATA"},
        "model_name": "ATL TEST USB SSD", "serial_number": "ATL-ATA-USB",
        "rotation_rate": 0,
        "smart_support": {"available": true, "enabled": true},
        "smart_status": {"passed": true},
        "power_on_time": {"hours": 11},
        "power_cycle_count": 42,
        "temperature": {"current": 29},
        "ata_smart_attributes": {"table": [
            attribute(5, "Reallocated_Sector_Ct", 0),
            attribute(9, "Power_On_Hours", 11),
            attribute(12, "Power_Cycle_Count", 42),
            attribute(199, "UDMA_CRC_Error_Count", 0),
        ]}
    })
}

/// An ATA disk behind a MegaRAID controller: the drive says "passed" but has reallocated 52
/// sectors; the `-x` logs it was asked for failed (exit bit 2); its temperature raw field is
/// packed ("38 (0 21 0 0 0)").
fn ata_reallocated_behind_raid() -> Value {
    json!({
        "smartctl": {
            "exit_status": 4,
            "messages": [{"string": "Warning: This result is based on an Attribute check.",
                          "severity": "warning"}]
        },
        "device": {"name": "/dev/bus/0", "type": "sat+megaraid,3", "protocol": "ATA"},
        "model_name": "ATL TEST HDD 4000", "serial_number": "ATL-ATA-REALLOC",
        "rotation_rate": 7200,
        "smart_status": {"passed": true},
        "temperature": {"current": 38},
        "ata_smart_attributes": {"table": [
            attribute(5, "Reallocated_Sector_Ct", 52),
            attribute(197, "Current_Pending_Sector", 0),
            packed(194, "Temperature_Celsius", (21 << 24) | 38, "38 (0 21 0 0 0)"),
        ]}
    })
}

/// What `smartctl -j -A` prints: the attribute table alone (no identity, no overall status),
/// with the packed raw-value forms of the drive database.
fn ata_attributes_only() -> Value {
    json!({
        "json_format_version": [1, 0],
        "smartctl": {"exit_status": 0},
        "device": {"name": "/dev/sda", "type": "sat", "protocol": "ATA"},
        "ata_smart_attributes": {"table": [
            packed(1, "Raw_Read_Error_Rate", 0x0A, "0x00000a"),
            attribute(5, "Reallocated_Sector_Ct", 0),
            // Hours, then the milliseconds of the current hour in the upper bytes.
            packed(9, "Power_On_Hours", (56_789 << 32) | 1234, "1234h+56m+07.890s"),
            packed(188, "Command_Timeout", 0, "0/0/0"),
            // Current 12 °C, lifetime minimum 20 and maximum 45 in the upper bytes.
            packed(190, "Airflow_Temperature_Cel", (45 << 24) | (20 << 16) | 12,
                   "12 (Min/Max 20/45)"),
            // 17 events, a vendor counter (4321) above them.
            packed(196, "Reallocated_Event_Count", (4321 << 16) | 17, "17 (4321 0)"),
            attribute(197, "Current_Pending_Sector", 0),
        ]}
    })
}

/// An NVMe drive whose log counts 7 media and data integrity errors.
fn nvme_media_errors() -> Value {
    json!({
        "smartctl": {"version": [7, 0], "exit_status": 0},
        "device": {"name": "/dev/nvme0", "type": "nvme", "protocol": "NVMe"},
        "model_name": "ATL TEST NVME 500", "serial_number": "ATL-NVME-MEDIA",
        "smart_status": {"passed": true},
        "nvme_smart_health_information_log": {
            "critical_warning": 0, "temperature": 41,
            "available_spare": 100, "available_spare_threshold": 10, "percentage_used": 2,
            "data_units_read": 200_000, "data_units_written": 123_456,
            "power_cycles": 321, "power_on_hours": 9876, "unsafe_shutdowns": 12,
            "media_errors": 7, "num_err_log_entries": 9
        }
    })
}

/// A healthy NVMe drive with thousands of error-log entries (mostly rejected admin commands:
/// not a sign of damage) and smartctl's top-level summary members.
fn nvme_healthy_with_error_log_entries() -> Value {
    json!({
        "smartctl": {"version": [7, 4], "exit_status": 0},
        "device": {"name": "/dev/nvme0", "type": "nvme", "protocol": "NVMe"},
        "model_name": "ATL TEST NVME 1000", "serial_number": "ATL-NVME-OK",
        "nvme_total_capacity": 1_000_204_886_016u64,
        "smart_status": {"passed": true},
        "power_on_time": {"hours": 8000},
        "power_cycle_count": 1500,
        "temperature": {"current": 36},
        "nvme_smart_health_information_log": {
            "critical_warning": 0, "temperature": 36,
            "available_spare": 100, "available_spare_threshold": 5, "percentage_used": 4,
            "data_units_written": 70_000_000, "unsafe_shutdowns": 39,
            "media_errors": 0, "num_err_log_entries": 4000,
            "power_on_hours": 8000, "power_cycles": 1500
        }
    })
}

/// A SAS disk with `defects` entries in its grown defect list, in the older JSON format
/// (smartctl 6.7: firmware in `revision`).
fn sas_disk(defects: u64) -> Value {
    json!({
        "json_format_version": [0, 1],
        "smartctl": {"version": [6, 7], "exit_status": 0},
        "device": {"name": "/dev/sdd", "type": "scsi", "protocol": "SCSI"},
        "scsi_model_name": "ATL TEST SAS 1200", "serial_number": "ATL-SAS-01",
        "revision": "A001",
        "rotation_rate": 10_000,
        "smart_status": {"passed": true},
        "temperature": {"current": 34},
        "power_on_time": {"hours": 5000},
        "scsi_grown_defect_list": defects,
        "scsi_error_counter_log": {
            "read": {"total_uncorrected_errors": 0},
            "write": {"total_uncorrected_errors": 0},
            "verify": {"total_uncorrected_errors": 0}
        }
    })
}

/// A RAID volume seen as one SCSI disk: it answers INQUIRY but not SMART (exit bit 2) and
/// reports 0 °C.
fn raid_volume_without_smart() -> Value {
    json!({
        "smartctl": {"exit_status": 4},
        "device": {"name": "/dev/sda", "type": "scsi", "protocol": "SCSI"},
        "scsi_model_name": "ATL Raid 1 Volume", "serial_number": "Volume0",
        "temperature": {"current": 0}
    })
}

/// smartctl on Windows when the device cannot be opened: exit bit 1, an error message, no
/// protocol.
fn windows_open_failed() -> Value {
    json!({
        "smartctl": {
            "exit_status": 2,
            "messages": [{"string": "Smartctl open device: /dev/sdb failed: Open failed, Error=5",
                          "severity": "error"}]
        },
        "device": {"name": "/dev/sdb", "info_name": "/dev/sdb"}
    })
}

/// Every hand-written document with what it must parse to.
fn documents() -> Vec<(Value, Expect)> {
    use DiskHealth::*;
    use HealthReason::*;
    let ata = Some(Protocol::Ata);
    let nvme = Some(Protocol::Nvme);
    let scsi = Some(Protocol::Scsi);
    vec![
        (
            ata_failing_overall(),
            Expect {
                name: "ATA failing overall",
                protocol: ata.clone(),
                model: Some("ATL TEST HDD 500"),
                serial: Some("ATL-ATA-FAIL"),
                status: 216,
                passed: Some(false),
                power_on_hours: Some(40_321),
                health: Failing(vec![
                    OverallFailed,
                    AttributeFailingNow {
                        id: 5,
                        name: "Reallocated_Sector_Ct".into(),
                        prefailure: true,
                    },
                    ReallocatedSectors { count: 1975 },
                    PendingSectors { count: 8 },
                ]),
            },
        ),
        (
            ata_crc_errors(),
            Expect {
                name: "ATA with CRC errors",
                protocol: ata.clone(),
                model: Some("ATL TEST SSD 250"),
                serial: Some("ATL-ATA-CRC"),
                status: 0,
                passed: Some(true),
                power_on_hours: Some(12_345),
                health: Warning(vec![CrcErrors { count: 108 }]),
            },
        ),
        (
            ata_healthy_usb_ssd(),
            Expect {
                name: "healthy ATA SSD over USB",
                protocol: ata.clone(),
                model: Some("ATL TEST USB SSD"),
                serial: Some("ATL-ATA-USB"),
                status: 0,
                passed: Some(true),
                power_on_hours: Some(11),
                health: Good,
            },
        ),
        (
            ata_reallocated_behind_raid(),
            Expect {
                name: "ATA behind MegaRAID, reallocated sectors",
                protocol: ata.clone(),
                model: Some("ATL TEST HDD 4000"),
                serial: Some("ATL-ATA-REALLOC"),
                status: 4,
                passed: Some(true),
                power_on_hours: None,
                health: Failing(vec![ReallocatedSectors { count: 52 }]),
            },
        ),
        (
            ata_attributes_only(),
            Expect {
                name: "ATA attributes only",
                protocol: ata.clone(),
                model: None,
                serial: None,
                status: 0,
                passed: None,
                power_on_hours: Some(1234),
                health: Warning(vec![ReallocationEvents { count: 17 }, OverallStatusMissing]),
            },
        ),
        (
            nvme_media_errors(),
            Expect {
                name: "NVMe with media errors",
                protocol: nvme.clone(),
                model: Some("ATL TEST NVME 500"),
                serial: Some("ATL-NVME-MEDIA"),
                status: 0,
                passed: Some(true),
                power_on_hours: Some(9876),
                health: Warning(vec![MediaErrors { count: 7 }]),
            },
        ),
        (
            nvme_healthy_with_error_log_entries(),
            Expect {
                name: "healthy NVMe with error-log entries",
                protocol: nvme.clone(),
                model: Some("ATL TEST NVME 1000"),
                serial: Some("ATL-NVME-OK"),
                status: 0,
                passed: Some(true),
                power_on_hours: Some(8000),
                health: Good,
            },
        ),
        (
            sas_disk(0),
            Expect {
                name: "healthy SAS disk",
                protocol: scsi.clone(),
                model: Some("ATL TEST SAS 1200"),
                serial: Some("ATL-SAS-01"),
                status: 0,
                passed: Some(true),
                power_on_hours: Some(5000),
                health: Good,
            },
        ),
        (
            sas_disk(12),
            Expect {
                name: "SAS disk with grown defects",
                protocol: scsi.clone(),
                model: Some("ATL TEST SAS 1200"),
                serial: Some("ATL-SAS-01"),
                status: 0,
                passed: Some(true),
                power_on_hours: Some(5000),
                health: Failing(vec![GrownDefects { count: 12 }]),
            },
        ),
        (
            raid_volume_without_smart(),
            Expect {
                name: "RAID volume without SMART",
                protocol: scsi.clone(),
                model: Some("ATL Raid 1 Volume"),
                serial: Some("Volume0"),
                status: 4,
                passed: None,
                power_on_hours: None,
                health: Unknown(UnknownReason::SmartCommandFailed),
            },
        ),
        (
            windows_open_failed(),
            Expect {
                name: "Windows open failure",
                protocol: None,
                model: None,
                serial: None,
                status: 2,
                passed: None,
                power_on_hours: None,
                health: Unknown(UnknownReason::DeviceOpenFailed),
            },
        ),
    ]
}

#[test]
fn every_document_parses_to_its_expected_verdict() {
    for (doc, e) in documents() {
        check(&parse_doc(&doc), &e);
    }
}

#[test]
fn failing_ata_details() {
    let r = parse_doc(&ata_failing_overall());
    assert_eq!(r.smartctl_version.as_deref(), Some("7.1"));
    assert_eq!(r.device_type.as_deref(), Some("usbjmicron"));
    assert_eq!(
        r.status.unwrap().flags(),
        vec![
            StatusFlag::DiskFailing,
            StatusFlag::PrefailBelowThreshold,
            StatusFlag::ErrorLog,
            StatusFlag::SelfTestLog
        ]
    );
    let ata = r.ata.as_ref().expect("attributes");
    assert_eq!(ata.reallocated_sectors, Some(1975));
    assert_eq!(ata.reallocation_events, Some(2048));
    assert_eq!(ata.pending_sectors, Some(8));
    assert_eq!(ata.offline_uncorrectable, Some(0));
    assert_eq!(ata.udma_crc_errors, Some(0));
    assert_eq!(ata.reported_uncorrectable, None, "no attribute 187");
    let realloc = &ata.attributes[0];
    assert_eq!(
        (realloc.value, realloc.worst, realloc.thresh),
        (Some(1), Some(1), Some(5))
    );
    // The warnings are still listed among the findings; the prefail attribute failing now
    // explains exit bit 4, so no separate "reported" reason.
    let reasons: Vec<HealthReason> = r.findings().into_iter().map(|f| f.reason).collect();
    assert!(reasons.contains(&HealthReason::ReallocationEvents { count: 2048 }));
    assert!(reasons.contains(&HealthReason::SelfTestErrors));
    assert!(!reasons.contains(&HealthReason::PrefailBelowThresholdReported));
}

#[test]
fn packed_raw_values() {
    let r = parse_doc(&ata_attributes_only());
    let ata = r.ata.as_ref().expect("attributes");
    let attr = |id: u8| {
        ata.attributes
            .iter()
            .find(|a| a.id == id)
            .expect("attribute")
    };
    // `0x…`: the hexadecimal number.
    assert_eq!(attr(1).raw.count(), Some(10));
    // "1234h+56m+07.890s": the hours; attribute 9 named Power_On_Hours gives the age when
    // `power_on_time` is absent.
    assert_eq!(attr(9).raw.count(), Some(1234));
    assert_eq!(r.power_on_hours, Some(1234));
    assert_eq!(attr(188).raw.string.as_deref(), Some("0/0/0"));
    assert_eq!(attr(188).raw.count(), Some(0));
    // "12 (Min/Max 20/45)": the current value, not the packed number.
    assert_eq!(attr(190).raw.value, Some(0x2D14_000C));
    assert_eq!(attr(190).raw.count(), Some(12));
    // "17 (4321 0)": the low 32 bits of the number alone would read 283 181 073.
    assert_eq!(
        attr(196).raw.value.map(|v| v & 0xFFFF_FFFF),
        Some(283_181_073)
    );
    assert_eq!(attr(196).raw.count(), Some(17));
    assert_eq!(ata.reallocation_events, Some(17));
    assert_eq!(r.temperature_c, None, "no `temperature` member");

    let raid = parse_doc(&ata_reallocated_behind_raid());
    let ata = raid.ata.as_ref().expect("attributes");
    let temp = ata.attributes.iter().find(|a| a.id == 194).expect("194");
    assert_eq!(temp.raw.string.as_deref(), Some("38 (0 21 0 0 0)"));
    assert_eq!(temp.raw.count(), Some(38));
    assert_eq!(raid.temperature_c, Some(38));
    assert_eq!(raid.rotation, Some(Rotation::Rpm(7200)));
    assert_eq!(raid.device_type.as_deref(), Some("sat+megaraid,3"));
    assert_eq!(raid.status.unwrap().flags(), vec![StatusFlag::SmartCommand]);
    assert_eq!(
        raid.message_texts(),
        vec!["Warning: This result is based on an Attribute check.".to_owned()]
    );

    let crc = parse_doc(&ata_crc_errors());
    assert_eq!(crc.rotation, Some(Rotation::SolidState));
    assert_eq!(crc.ata.unwrap().udma_crc_errors, Some(108));

    let usb = parse_doc(&ata_healthy_usb_ssd());
    assert_eq!(usb.power_cycles, Some(42));
    assert_eq!(usb.temperature_c, Some(29));
    assert_eq!(
        (usb.smart_available, usb.smart_enabled),
        (Some(true), Some(true))
    );
}

#[test]
fn nvme_details() {
    let media = parse_doc(&nvme_media_errors());
    let log = media.nvme.as_ref().expect("NVMe log");
    assert_eq!(log.media_errors, Some(7));
    assert_eq!(log.critical_warning, Some(NvmeCriticalWarning(0)));
    assert_eq!(log.unsafe_shutdowns, Some(12));
    assert_eq!(log.bytes_written(), Some(123_456 * 512_000));
    assert_eq!(log.bytes_read(), Some(200_000 * 512_000));
    // No top-level summary members: age, cycles and temperature come from the log.
    assert_eq!(media.power_on_hours, Some(9876));
    assert_eq!(media.power_cycles, Some(321));
    assert_eq!(media.temperature_c, Some(41));
    assert_eq!(media.endurance_used_percent, Some(2));
    assert_eq!(media.smartctl_version.as_deref(), Some("7.0"));

    let ok = parse_doc(&nvme_healthy_with_error_log_entries());
    let log = ok.nvme.as_ref().expect("NVMe log");
    assert_eq!(log.num_err_log_entries, Some(4000));
    assert_eq!(log.percentage_used, Some(4));
    assert_eq!(
        (log.available_spare, log.available_spare_threshold),
        (Some(100), Some(5))
    );
    assert_eq!(log.data_units_written, Some(70_000_000));
    assert_eq!(log.bytes_read(), None);
    assert_eq!(ok.endurance_used_percent, Some(4));
    assert_eq!(ok.power_cycles, Some(1500));
    assert_eq!(ok.capacity_bytes, Some(1_000_204_886_016));
    assert_eq!(ok.rotation, None);
}

#[test]
fn scsi_details() {
    let sas = parse_doc(&sas_disk(12));
    let scsi = sas.scsi.as_ref().expect("SCSI counters");
    assert_eq!(scsi.grown_defects, Some(12));
    assert_eq!(scsi.uncorrected_errors(), Some(0));
    assert_eq!(sas.rotation, Some(Rotation::Rpm(10_000)));
    assert_eq!(
        sas.firmware.as_deref(),
        Some("A001"),
        "older JSON: `revision`"
    );
    assert_eq!(sas.temperature_c, Some(34));
    assert_eq!(sas.smartctl_version.as_deref(), Some("6.7"));

    let raid = parse_doc(&raid_volume_without_smart());
    assert_eq!(raid.temperature_c, None, "SCSI 0 °C is not available");
    assert_eq!(raid.scsi, None);
    assert!(!raid.has_health_data());

    let win = parse_doc(&windows_open_failed());
    assert_eq!(win.device_name.as_deref(), Some("/dev/sdb"));
    assert_eq!(win.messages[0].severity, "error");
    assert!(win.message_texts()[0].contains("Open failed"));
    assert_eq!(win.status.unwrap().flags(), vec![StatusFlag::DeviceOpen]);
}

#[test]
fn verdicts_serialize_with_typed_reasons() {
    let r = parse_doc(&ata_reallocated_behind_raid());
    let json = serde_json::to_value(r.health()).unwrap();
    assert_eq!(
        json,
        json!({
            "verdict": "failing",
            "reasons": [{"reason": "reallocated_sectors", "count": 52}]
        })
    );
    let unknown = serde_json::to_value(load("qemu-usb-a.json").health()).unwrap();
    assert_eq!(
        unknown,
        json!({"verdict": "unknown", "reasons": "device_type_not_detected"})
    );
}

// ---------------------------------------------------------------------------------------------
// Mutations: the parser never panics, whatever is removed or retyped.
// ---------------------------------------------------------------------------------------------

#[derive(Clone)]
enum Step {
    Key(String),
    Index(usize),
}

fn collect_paths(v: &Value, prefix: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    out.push(prefix.clone());
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                prefix.push(Step::Key(k.clone()));
                collect_paths(child, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                prefix.push(Step::Index(i));
                collect_paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn get_mut<'a>(mut v: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    for step in path {
        v = match step {
            Step::Key(k) => v.as_object_mut()?.get_mut(k)?,
            Step::Index(i) => v.as_array_mut()?.get_mut(*i)?,
        };
    }
    Some(v)
}

fn random_value(rng: &mut Rng) -> Value {
    use serde_json::json;
    match rng.below(20) {
        0 => Value::Null,
        1 => json!(true),
        2 => json!(false),
        3 => json!(0),
        4 => json!(-1),
        5 => json!(u64::MAX),
        6 => json!(i64::MIN),
        7 => json!(1.5),
        8 => json!(-1e300),
        9 => json!(""),
        10 => json!("garbage"),
        11 => json!("12 (Min/Max 20/45)"),
        12 => json!("0x"),
        13 => json!("99999999999999999999999999"),
        14 => json!([]),
        15 => json!([1, "a", null, {"id": 5}]),
        16 => json!({}),
        17 => json!({"value": -1, "string": 7, "passed": "no"}),
        18 => json!(rng.next_u64()),
        _ => json!(format!("{}", rng.next_u64())),
    }
}

fn mutate(doc: &mut Value, paths: &[Vec<Step>], rng: &mut Rng) {
    let path = &paths[rng.below(paths.len())];
    if rng.below(2) == 0 {
        // Remove it from its parent.
        if let Some((last, parent)) = path.split_last()
            && let Some(parent) = get_mut(doc, parent)
        {
            match (parent, last) {
                (Value::Object(map), Step::Key(k)) => {
                    map.remove(k);
                }
                (Value::Array(items), Step::Index(i)) if *i < items.len() => {
                    items.remove(*i);
                }
                _ => {}
            }
        }
    } else if let Some(slot) = get_mut(doc, path) {
        *slot = random_value(rng);
    }
}

fn exercise(report: &SmartReport) {
    let _ = report.health();
    let _ = report.findings();
    let _ = report.has_health_data();
    if let Some(ata) = &report.ata {
        for a in &ata.attributes {
            let _ = a.raw.count();
        }
    }
    if let Some(n) = &report.nvme {
        let _ = (n.bytes_read(), n.bytes_written());
    }
    let json = serde_json::to_string(report).expect("a report serializes");
    let back: SmartReport = serde_json::from_str(&json).expect("and reads back");
    assert_eq!(&back, report);
}

#[test]
fn mutated_fixtures_and_documents_never_panic() {
    const CASES_PER_SEED: usize = 900;
    // The captured fixtures and the hand-written documents, as smartctl would print them.
    let mut seeds = fixtures();
    seeds.extend(documents().into_iter().map(|(doc, e)| {
        let bytes = serde_json::to_vec_pretty(&doc).expect("serializes");
        (e.name.to_owned(), bytes)
    }));
    let mut rng = Rng::new(0x5EED_A7E1_1E45_3A27);
    let mut cases = 0usize;
    let mut parsed = 0usize;
    for (name, bytes) in &seeds {
        let original: Value = serde_json::from_slice(bytes).expect("seed is JSON");
        exercise(&smart::parse(bytes).expect("seed parses"));
        let mut paths = Vec::new();
        collect_paths(&original, &mut Vec::new(), &mut paths);
        for case in 0..CASES_PER_SEED {
            let mut doc = original.clone();
            for _ in 0..=rng.below(4) {
                mutate(&mut doc, &paths, &mut rng);
            }
            let mut text = serde_json::to_vec(&doc).expect("serializes");
            // One case in 16 also damages the bytes: truncation or a flipped byte.
            if rng.below(16) == 0 && !text.is_empty() {
                let at = rng.below(text.len());
                if rng.below(2) == 0 {
                    text.truncate(at);
                } else {
                    text[at] ^= 1 << rng.below(8);
                }
            }
            let result = std::panic::catch_unwind(|| smart::parse(&text));
            match result {
                Ok(Ok(report)) => {
                    parsed += 1;
                    exercise(&report);
                }
                Ok(Err(SmartError::Parse { .. })) => {}
                Ok(Err(other)) => panic!("{name} case {case}: unexpected error {other}"),
                Err(_) => panic!(
                    "{name} case {case}: parse panicked on {}",
                    String::from_utf8_lossy(&text)
                ),
            }
            cases += 1;
        }
    }
    assert_eq!(cases, seeds.len() * CASES_PER_SEED);
    assert!(cases >= 20_000, "{cases} cases");
    assert!(
        parsed > cases / 2,
        "most mutations still parse: {parsed}/{cases}"
    );
}

// ---------------------------------------------------------------------------------------------
// Running smartctl
// ---------------------------------------------------------------------------------------------

fn smartctl_installed() -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| dir.join("smartctl").is_file())
    })
}

#[test]
fn missing_program_is_smartctl_missing() {
    let err = Smartctl::new()
        .program("/nonexistent/atelier-test/smartctl")
        .query(Path::new("/dev/sda"), Duration::from_secs(5))
        .unwrap_err();
    assert!(
        matches!(&err, SmartError::SmartctlMissing { program } if program == Path::new("/nonexistent/atelier-test/smartctl")),
        "{err:?}"
    );
    assert!(err.to_string().contains("smartmontools"), "{err}");
    assert_eq!(
        smart::health_of(&Err(err)),
        DiskHealth::Unknown(UnknownReason::SmartctlMissing)
    );
}

#[test]
fn real_smartctl_on_absent_devices() {
    let devices = vec![
        PathBuf::from("/dev/sdzzz"),
        PathBuf::from("/dev/atelier-no-such-disk"),
    ];
    let results = smart::query_all(&devices, Duration::from_secs(30));
    assert_eq!(
        results.iter().map(|(d, _)| d.clone()).collect::<Vec<_>>(),
        devices,
        "results in the order asked"
    );
    for (device, result) in results {
        match result {
            Err(SmartError::SmartctlMissing { .. }) if !smartctl_installed() => {}
            Err(SmartError::DeviceNotSupported {
                device: d,
                status,
                messages,
            }) => {
                assert_eq!(d, device);
                assert!(status.query_failed(), "{status}");
                // smartctl guesses the type from the name: `sd*` is opened (and fails),
                // an unknown name is not even tried.
                let reason = if device == Path::new("/dev/sdzzz") {
                    UnknownReason::DeviceOpenFailed
                } else {
                    UnknownReason::DeviceTypeNotDetected
                };
                let result = Err(SmartError::DeviceNotSupported {
                    device: d.clone(),
                    status,
                    messages: messages.clone(),
                });
                assert_eq!(smart::health_of(&result), DiskHealth::Unknown(reason));
                let text = messages.join("\n");
                assert!(
                    text.contains(&*device.to_string_lossy()),
                    "messages name the device: {text}"
                );
            }
            other => panic!("{}: {other:?}", device.display()),
        }
    }
}

/// A program that never answers: a shell script that starts a `sleep` and waits for it, so
/// the timeout must kill a process group, not just the script.
fn hanging_program(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("smartctl");
    let script = format!(
        "#!/bin/sh\nsleep 600 &\necho $! > '{}/sleep.pid'\nwait\n",
        dir.display()
    );
    fs::write(&path, script).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn process_gone(pid: &str) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // Killed but not yet reaped by its new parent.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

#[test]
fn a_hanging_smartctl_times_out_and_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let program = hanging_program(dir.path());
    let started = Instant::now();
    let err = Smartctl::new()
        .program(&program)
        .query(Path::new("/dev/sda"), Duration::from_millis(500))
        .unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(&err, SmartError::Timeout { device, timeout } if device == Path::new("/dev/sda") && *timeout == Duration::from_millis(500)),
        "{err:?}"
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_eq!(err.unknown_reason(), UnknownReason::Timeout);
    // The script's `sleep`, in its process group, was killed too.
    let pid = fs::read_to_string(dir.path().join("sleep.pid")).unwrap();
    let pid = pid.trim();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !process_gone(pid) {
        assert!(Instant::now() < deadline, "sleep {pid} still running");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn queries_run_concurrently() {
    let dir = tempfile::tempdir().unwrap();
    let program = hanging_program(dir.path());
    let devices: Vec<PathBuf> = (0..4)
        .map(|i| PathBuf::from(format!("/dev/sd{i}")))
        .collect();
    let started = Instant::now();
    let results = Smartctl::new()
        .program(&program)
        .query_all(&devices, Duration::from_secs(1));
    let took = started.elapsed();
    // One after the other would take 4 s at least.
    assert!(took < Duration::from_millis(3500), "took {took:?}");
    assert_eq!(results.len(), 4);
    for ((device, result), asked) in results.iter().zip(&devices) {
        assert_eq!(device, asked);
        assert!(
            matches!(result, Err(SmartError::Timeout { .. })),
            "{result:?}"
        );
    }
}

#[test]
fn a_program_without_json_output_is_a_parse_error() {
    // `true` prints nothing; `echo` prints its arguments: neither is smartctl's JSON.
    for program in ["true", "echo"] {
        let err = Smartctl::new()
            .program(program)
            .query(Path::new("/dev/sda"), Duration::from_secs(10))
            .unwrap_err();
        match err {
            SmartError::Parse { device, detail } => {
                assert_eq!(device.as_deref(), Some(Path::new("/dev/sda")));
                assert!(!detail.is_empty());
            }
            other => panic!("{program}: {other:?}"),
        }
    }
}

#[test]
fn arguments_are_json_and_all_or_extended() {
    let dev = Path::new("/dev/nvme0");
    assert_eq!(Smartctl::new().args(dev), ["-j", "-a", "/dev/nvme0"]);
    assert_eq!(
        Smartctl::new().extended(true).args(dev),
        ["-j", "-x", "/dev/nvme0"]
    );
    // SATA: the device statistics (SSD wear) are not part of -a.
    let sata = Path::new("/dev/sda");
    assert_eq!(
        Smartctl::new().args(sata),
        ["-j", "-a", "-l", "devstat", "/dev/sda"]
    );
    assert_eq!(
        Smartctl::new().extended(true).args(sata),
        ["-j", "-x", "/dev/sda"]
    );
}

/// A SATA SSD document with the given device-statistics pages and attributes.
fn sata_ssd(extra: &str) -> SmartReport {
    let doc = format!(
        r#"{{"json_format_version": [1, 0], "smartctl": {{"version": [7, 3], "exit_status": 0}},
            "device": {{"name": "/dev/sda", "type": "sat", "protocol": "ATA"}},
            "smart_status": {{"passed": true}}, {extra}}}"#
    );
    smart::parse(doc.as_bytes()).expect("parses")
}

#[test]
fn sata_ssd_wear_from_device_statistics_page_7() {
    let r = sata_ssd(
        r#""ata_device_statistics": {"pages": [
            {"number": 1, "name": "General Statistics", "table": [
                {"offset": 8, "name": "Lifetime Power-On Resets", "value": 4321}]},
            {"number": 7, "name": "Solid State Device Statistics", "table": [
                {"offset": 8, "name": "Percentage Used Endurance Indicator", "size": 1,
                 "value": 37, "flags": {"valid": true, "normalized": true}}]}]}"#,
    );
    assert_eq!(r.endurance_used_percent, Some(37));
    assert_eq!(
        r.endurance_source.as_deref(),
        Some("ata device statistics 07h/08h")
    );
}

#[test]
fn device_statistics_entry_marked_invalid_is_ignored() {
    let r = sata_ssd(
        r#""ata_device_statistics": {"pages": [
            {"number": 7, "table": [{"offset": 8, "value": 99, "flags": {"valid": false}}]}]}"#,
    );
    assert_eq!(r.endurance_used_percent, None);
    assert_eq!(r.endurance_source, None);
}

#[test]
fn vendor_wear_attribute_counts_only_under_its_drive_database_name() {
    let attr = |id: u8, name: &str, value: u8| {
        format!(
            r#""ata_smart_attributes": {{"table": [{{"id": {id}, "name": "{name}", "value": {value},
                "worst": {value}, "thresh": 0, "raw": {{"value": 0, "string": "0"}}}}]}}"#
        )
    };
    let intel = sata_ssd(&attr(233, "Media_Wearout_Indicator", 88));
    assert_eq!(intel.endurance_used_percent, Some(12));
    assert!(
        intel
            .endurance_source
            .as_deref()
            .is_some_and(|s| s.contains("233 Media_Wearout_Indicator")),
        "{:?}",
        intel.endurance_source
    );
    let samsung = sata_ssd(&attr(177, "Wear_Leveling_Count", 95));
    assert_eq!(samsung.endurance_used_percent, Some(5));
    // ID 177 under another name (a different vendor's meaning): not wear.
    let other = sata_ssd(&attr(177, "Unknown_Attribute", 95));
    assert_eq!(other.endurance_used_percent, None);
    // A normalized value above 100 is not a percentage.
    let odd = sata_ssd(&attr(231, "SSD_Life_Left", 200));
    assert_eq!(odd.endurance_used_percent, None);
}

#[test]
fn device_statistics_win_over_vendor_attributes() {
    let r = sata_ssd(
        r#""ata_device_statistics": {"pages": [{"number": 7, "table": [{"offset": 8, "value": 41}]}]},
           "ata_smart_attributes": {"table": [{"id": 233, "name": "Media_Wearout_Indicator",
             "value": 99, "worst": 99, "thresh": 0, "raw": {"value": 0, "string": "0"}}]}"#,
    );
    assert_eq!(r.endurance_used_percent, Some(41));
}
