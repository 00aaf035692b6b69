//! The grade rule table: each rule fires on its condition and only then; the overall level
//! follows the documented order.

use atelier_inventory::grade::{grade, overall};
use atelier_record::{
    Battery, DeviceIdentity, Disk, DiskHealth, GradeLevel, HardwareSection, HealthVerdict,
    MediaKind, MemorySlot, Screen, Sourced, Transport,
};

fn base() -> HardwareSection {
    let mut hw = HardwareSection::not_read(chrono::Utc::now(), "test");
    hw.machine_key.value = Some("smbios:S:U".into());
    hw.machine_key.weak = false;
    hw.memory.total_bytes = Sourced::known(8 << 30, "/proc/meminfo MemTotal");
    hw.memory.installed_bytes = Some(8 << 30);
    hw.disks.push(disk(
        "nvme0n1",
        Transport::Nvme,
        MediaKind::Flash,
        HealthVerdict::Good,
    ));
    hw
}

fn disk(name: &str, transport: Transport, media: MediaKind, verdict: HealthVerdict) -> Disk {
    Disk {
        device: DeviceIdentity {
            name: name.into(),
            path: format!("/dev/{name}"),
            model: Some("Model".into()),
            vendor: None,
            serial: Some("SER".into()),
            wwn: None,
            firmware: None,
            transport,
            media,
            size_bytes: 256_000_000_000,
            logical_sector_size: 512,
            physical_sector_size: 512,
            rotational: media == MediaKind::Magnetic,
            removable: false,
            loop_backing_file: None,
        },
        boot_medium: false,
        health: DiskHealth {
            verdict,
            findings: Vec::new(),
            unknown_reason: None,
            smart_passed: Some(verdict != HealthVerdict::Failing),
            power_on_hours: Some(1000),
            reallocated_sectors: None,
            pending_sectors: None,
            uncorrectable_sectors: None,
            percentage_used: None,
            percentage_used_source: None,
            temperature_celsius: None,
            media_errors: None,
            critical_warning: None,
            smartctl_version: None,
        },
    }
}

fn battery(wear: Option<f64>) -> Battery {
    Battery {
        name: "BAT0".into(),
        manufacturer: None,
        model: None,
        serial: None,
        technology: None,
        design_capacity_mwh: Some(50_000),
        full_capacity_mwh: wear.map(|w| (50_000.0 * (1.0 - w / 100.0)) as u64),
        wear_percent: wear,
        cycle_count: None,
        manufacture_date: None,
        status: None,
        capacity_basis: "energy".into(),
        source: "/sys/class/power_supply/BAT0".into(),
    }
}

fn codes(hw: &HardwareSection) -> Vec<(String, GradeLevel)> {
    grade(hw)
        .verdicts
        .into_iter()
        .map(|v| (v.code, v.level))
        .collect()
}

fn has(hw: &HardwareSection, code: &str) -> bool {
    codes(hw).iter().any(|(c, _)| c == code)
}

#[test]
fn a_healthy_desktop_is_good() {
    let hw = base();
    let g = grade(&hw);
    assert_eq!(g.overall, GradeLevel::Good, "{:?}", g.verdicts);
    assert!(has(&hw, "disk_ok") && has(&hw, "memory_ok"));
    for v in &g.verdicts {
        assert!(!v.text_fr.is_empty() && !v.text_en.is_empty());
    }
}

#[test]
fn battery_thresholds() {
    let mut hw = base();
    for (wear, code, level) in [
        (Some(10.0), "battery_ok", GradeLevel::Good),
        (Some(20.0), "battery_ok", GradeLevel::Good),
        (Some(20.1), "battery_aging", GradeLevel::Attention),
        (Some(40.0), "battery_aging", GradeLevel::Attention),
        (Some(47.2), "battery_worn", GradeLevel::Replace),
        (None, "battery_wear_unknown", GradeLevel::Unknown),
    ] {
        hw.batteries = vec![battery(wear)];
        assert!(codes(&hw).contains(&(code.to_owned(), level)), "{wear:?}");
    }
    hw.batteries = vec![battery(Some(47.2))];
    let g = grade(&hw);
    assert_eq!(g.overall, GradeLevel::Replace);
    assert_eq!(g.verdicts[0].code, "battery_worn", "worst first");
    assert!(
        g.verdicts[0].text_fr.contains("47,2 %"),
        "{}",
        g.verdicts[0].text_fr
    );
    assert!(
        g.verdicts[0].text_en.contains("47.2 %"),
        "{}",
        g.verdicts[0].text_en
    );

    hw.batteries.clear();
    hw.laptop_without_battery = true;
    assert!(has(&hw, "battery_missing"));
}

#[test]
fn disk_rules() {
    let mut hw = base();
    hw.disks[0].health.reallocated_sectors = Some(1);
    assert!(
        has(&hw, "disk_failing"),
        "reallocated > 0 → replace the disk"
    );
    assert_eq!(grade(&hw).overall, GradeLevel::Replace);

    let mut hw = base();
    hw.disks[0].health.verdict = HealthVerdict::Failing;
    hw.disks[0].health.findings = vec!["overall self-assessment FAILED".into()];
    assert!(has(&hw, "disk_failing"));

    let mut hw = base();
    hw.disks[0].health.verdict = HealthVerdict::Warning;
    assert!(has(&hw, "disk_warning"));
    assert_eq!(grade(&hw).overall, GradeLevel::Attention);

    let mut hw = base();
    hw.disks[0].health.verdict = HealthVerdict::Unknown;
    hw.disks[0].health.unknown_reason = Some("smartctl is not installed".into());
    assert!(has(&hw, "disk_health_unknown"));
    assert_eq!(
        grade(&hw).overall,
        GradeLevel::Unknown,
        "unknown wins only over good"
    );
    hw.batteries = vec![battery(Some(30.0))];
    assert_eq!(grade(&hw).overall, GradeLevel::Attention);

    let mut hw = base();
    hw.disks = vec![disk(
        "sda",
        Transport::Sata,
        MediaKind::Magnetic,
        HealthVerdict::Good,
    )];
    assert!(has(&hw, "disk_rotational"));
    hw.disks[0].device.size_bytes = 32_000_000_000;
    assert!(has(&hw, "disk_small"));

    // The boot stick and USB disks are not the machine's disks…
    let mut hw = base();
    hw.disks.clear();
    let mut stick = disk(
        "sdb",
        Transport::Usb,
        MediaKind::Flash,
        HealthVerdict::Failing,
    );
    stick.boot_medium = true;
    hw.disks.push(stick);
    assert!(has(&hw, "disk_none"));
    assert!(!has(&hw, "disk_failing"));
    // … but an internal disk holding the running system is.
    let mut hw = base();
    hw.disks[0].boot_medium = true;
    assert!(has(&hw, "disk_ok") && !has(&hw, "disk_none"));
}

#[test]
fn memory_rules() {
    let mut hw = base();
    hw.memory.installed_bytes = Some(2 << 30);
    hw.memory.slots = vec![
        MemorySlot {
            locator: Some("DIMM0".into()),
            bank: None,
            populated: true,
            size_bytes: Some(2 << 30),
            memory_type: Some("DDR3".into()),
            form_factor: Some("SODIMM".into()),
            speed_mts: Some(1600),
            configured_speed_mts: None,
            manufacturer: None,
            part_number: None,
            serial: None,
        },
        MemorySlot {
            locator: Some("DIMM1".into()),
            bank: None,
            populated: false,
            size_bytes: None,
            memory_type: None,
            form_factor: None,
            speed_mts: None,
            configured_speed_mts: None,
            manufacturer: None,
            part_number: None,
            serial: None,
        },
    ];
    let g = grade(&hw);
    let low = g.verdicts.iter().find(|v| v.code == "memory_low").unwrap();
    assert_eq!(low.level, GradeLevel::Replace);
    assert!(low.text_en.contains("1 free slot"), "{}", low.text_en);
    assert!(low.text_fr.contains("Linux Mint"), "{}", low.text_fr);
    // The board's maximum, when SMBIOS type 16 gives it, tells how far RAM can go.
    let mut hw16 = hw.clone();
    hw16.memory.max_capacity_bytes = Some(16 << 30);
    let g = grade(&hw16);
    let low = g.verdicts.iter().find(|v| v.code == "memory_low").unwrap();
    assert!(
        low.text_en.ends_with("(1 free slot(s), 16.0 GiB at most)"),
        "{}",
        low.text_en
    );
    assert!(low.text_fr.contains("16,0 Gio au plus"), "{}", low.text_fr);

    // Exactly 4 GiB installed is enough, even though MemTotal is below 4 GiB.
    let mut hw = base();
    hw.memory.installed_bytes = Some(4 << 30);
    hw.memory.total_bytes = Sourced::known(3_900_000_000, "/proc/meminfo MemTotal");
    assert!(has(&hw, "memory_ok"));
    assert!(!has(&hw, "memory_gap"));

    // Without SMBIOS, MemTotal decides with the 3.5 GiB threshold.
    hw.memory.installed_bytes = None;
    hw.memory.total_bytes = Sourced::known(3 << 30, "/proc/meminfo MemTotal");
    assert!(has(&hw, "memory_low"));

    // The kernel sees half: a module to check.
    let mut hw = base();
    hw.memory.total_bytes = Sourced::known(4 << 30, "/proc/meminfo MemTotal");
    assert!(has(&hw, "memory_gap"));
}

#[test]
fn laptop_screen_and_identity_rules() {
    let mut hw = base();
    hw.identity.chassis_portable = Some(true);
    hw.batteries = vec![battery(Some(5.0))];
    assert!(has(&hw, "screen_missing"));
    hw.screens.push(Screen {
        connector: "card0-eDP-1".into(),
        internal: true,
        vendor_code: "LGD".into(),
        vendor_name: None,
        model: None,
        product_code: 1,
        serial: None,
        native_width: Some(1920),
        native_height: Some(1080),
        width_mm: Some(309),
        height_mm: Some(174),
        diagonal_inches: Some(14.0),
        made_year: None,
        source: "/sys/class/drm/card0-eDP-1/edid".into(),
    });
    assert!(!has(&hw, "screen_missing"));
    assert_eq!(grade(&hw).overall, GradeLevel::Good);

    hw.machine_key.weak = true;
    assert!(has(&hw, "identity_weak"));
    hw.machine_key.weak = false;
    hw.machine_key.value = None;
    assert!(has(&hw, "identity_weak"));
}

#[test]
fn overall_order() {
    assert_eq!(overall(&[]), GradeLevel::Good);
}

#[test]
fn grading_is_deterministic() {
    let mut hw = base();
    hw.batteries = vec![battery(Some(45.0)), battery(Some(25.0))];
    hw.disks.push(disk(
        "sda",
        Transport::Sata,
        MediaKind::Magnetic,
        HealthVerdict::Warning,
    ));
    assert_eq!(grade(&hw), grade(&hw));
}

#[test]
fn legacy_boot_on_uefi_capable_firmware() {
    let mut hw = base();
    hw.firmware.boot_mode = atelier_record::BootMode::Legacy;
    hw.firmware.uefi_capable = Some(true);
    assert!(codes(&hw).contains(&(
        "firmware_legacy_uefi_capable".to_string(),
        GradeLevel::Attention
    )));
    // Legacy-only firmware, or already UEFI, or unknown: nothing to do.
    hw.firmware.uefi_capable = Some(false);
    assert!(!has(&hw, "firmware_legacy_uefi_capable"));
    hw.firmware.uefi_capable = None;
    assert!(!has(&hw, "firmware_legacy_uefi_capable"));
    hw.firmware.boot_mode = atelier_record::BootMode::Uefi;
    hw.firmware.uefi_capable = Some(true);
    assert!(!has(&hw, "firmware_legacy_uefi_capable"));
}
