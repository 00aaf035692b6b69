//! Battery reader: which power supplies count, energy and charge × voltage normalised to mWh,
//! wear and its edge cases, and the live machine. Fixture trees are written here, file by file,
//! in a tempdir.

use std::fs;
use std::path::Path;

use atelier_inventory::battery::{laptop_without_battery, read_batteries};
use atelier_record::{Battery, ProbeWarning};

/// Writes `sys/class/power_supply/NAME/FILE` for each `(file, content)`.
fn supply(root: &Path, name: &str, files: &[(&str, &str)]) {
    let dir = root.join("sys/class/power_supply").join(name);
    fs::create_dir_all(&dir).expect("mkdir");
    for (file, content) in files {
        fs::write(dir.join(file), format!("{content}\n")).expect("write fixture");
    }
}

/// A battery with `type` Battery and the given capacity files.
fn battery(files: &[(&str, &str)]) -> (Battery, Vec<ProbeWarning>) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut all = vec![("type", "Battery")];
    all.extend_from_slice(files);
    supply(tmp.path(), "BAT0", &all);
    let (mut batteries, warnings) = read_batteries(tmp.path());
    assert_eq!(batteries.len(), 1, "{batteries:?}");
    (batteries.remove(0), warnings)
}

#[test]
fn thinkpad_energy_battery_and_what_is_skipped() {
    let tmp = tempfile::tempdir().expect("tempdir");
    supply(
        tmp.path(),
        "BAT0",
        &[
            ("type", "Battery"),
            ("present", "1"),
            ("scope", "System"),
            ("manufacturer", "SMP"),
            ("model_name", "01AV431"),
            ("serial_number", "  4321 "),
            ("technology", "Li-poly"),
            ("status", "Discharging"),
            ("cycle_count", "312"),
            ("energy_full_design", "57020000"),
            ("energy_full", "45490000"),
            ("energy_now", "30000000"),
            ("voltage_min_design", "11580000"),
            ("voltage_now", "12100000"),
        ],
    );
    // Mains adapter, a wireless mouse, an empty second bay, and a supply without a type.
    supply(tmp.path(), "AC", &[("type", "Mains"), ("online", "1")]);
    supply(
        tmp.path(),
        "hid-00:1f:20:aa:bb:cc-battery",
        &[("type", "Battery"), ("scope", "Device"), ("capacity", "80")],
    );
    supply(tmp.path(), "BAT1", &[("type", "Battery"), ("present", "0")]);
    supply(tmp.path(), "ucsi-source-psy-1", &[("online", "0")]);

    let (batteries, warnings) = read_batteries(tmp.path());
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(batteries.len(), 1, "{batteries:?}");
    let b = &batteries[0];
    assert_eq!(b.name, "BAT0");
    assert_eq!(b.manufacturer.as_deref(), Some("SMP"));
    assert_eq!(b.model.as_deref(), Some("01AV431"));
    assert_eq!(b.serial.as_deref(), Some("4321"));
    assert_eq!(b.technology.as_deref(), Some("Li-poly"));
    assert_eq!(b.status.as_deref(), Some("Discharging"));
    assert_eq!(b.cycle_count, Some(312));
    assert_eq!(b.capacity_basis, "energy");
    assert_eq!(b.design_capacity_mwh, Some(57020));
    assert_eq!(b.full_capacity_mwh, Some(45490));
    // 100 − 45490 / 57020 × 100 = 20.22…
    assert_eq!(b.wear_percent, Some(20.2));
    assert_eq!(b.source, "/sys/class/power_supply/BAT0");
    assert!(!laptop_without_battery(Some(true), &batteries));
}

#[test]
fn charge_times_voltage_min_design() {
    let (b, warnings) = battery(&[
        ("charge_full_design", "4400000"),
        ("charge_full", "3300000"),
        ("voltage_min_design", "11100000"),
        ("voltage_now", "12600000"),
        ("cycle_count", "0"),
        ("technology", "Unknown"),
    ]);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(b.capacity_basis, "charge×voltage");
    // 4 400 000 µAh × 11 100 000 µV = 48 840 mWh.
    assert_eq!(b.design_capacity_mwh, Some(48840));
    assert_eq!(b.full_capacity_mwh, Some(36630));
    assert_eq!(b.wear_percent, Some(25.0));
    // 0 cycles means "not counted"; "Unknown" technology is no technology.
    assert_eq!(b.cycle_count, None);
    assert_eq!(b.technology, None);
}

#[test]
fn charge_times_voltage_now_only_without_min_design() {
    let (b, _) = battery(&[
        ("charge_full_design", "4400000"),
        ("charge_full", "4180000"),
        ("voltage_now", "12300000"),
    ]);
    assert_eq!(b.capacity_basis, "charge×voltage_now");
    assert_eq!(b.design_capacity_mwh, Some(54120));
    assert_eq!(b.full_capacity_mwh, Some(51414));
    assert_eq!(b.wear_percent, Some(5.0));
}

#[test]
fn mwh_are_rounded_to_nearest() {
    let (b, _) = battery(&[
        ("energy_full_design", "45999500"),
        ("energy_full", "45000499"),
    ]);
    assert_eq!(b.design_capacity_mwh, Some(46000));
    assert_eq!(b.full_capacity_mwh, Some(45000));
    let (b, _) = battery(&[
        ("charge_full_design", "3000001"),
        ("charge_full", "3000000"),
        ("voltage_min_design", "7600000"),
    ]);
    // 3 000 001 × 7 600 000 / 10⁹ = 22 800.0076.
    assert_eq!(b.design_capacity_mwh, Some(22800));
    assert_eq!(b.wear_percent, Some(0.0));
}

#[test]
fn energy_wins_when_both_are_reported_and_charge_when_energy_design_is_zero() {
    let (b, _) = battery(&[
        ("energy_full_design", "50000000"),
        ("energy_full", "40000000"),
        ("charge_full_design", "4000000"),
        ("charge_full", "1000000"),
        ("voltage_min_design", "11000000"),
    ]);
    assert_eq!(b.capacity_basis, "energy");
    assert_eq!(b.wear_percent, Some(20.0));

    let (b, warnings) = battery(&[
        ("energy_full_design", "0"),
        ("energy_full", "0"),
        ("charge_full_design", "4000000"),
        ("charge_full", "3000000"),
        ("voltage_min_design", "11000000"),
    ]);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(b.capacity_basis, "charge×voltage");
    assert_eq!(b.design_capacity_mwh, Some(44000));
    assert_eq!(b.wear_percent, Some(25.0));
}

#[test]
fn full_above_design_is_no_wear_with_raw_values_kept() {
    let (b, warnings) = battery(&[
        ("energy_full_design", "50000000"),
        ("energy_full", "52340000"),
    ]);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(b.wear_percent, Some(0.0));
    assert!(b.wear_percent.is_some_and(|w| w.is_sign_positive()));
    assert_eq!(b.design_capacity_mwh, Some(50000));
    assert_eq!(b.full_capacity_mwh, Some(52340));
}

#[test]
fn a_dead_battery_has_full_wear() {
    let (b, _) = battery(&[("energy_full_design", "50000000"), ("energy_full", "0")]);
    assert_eq!(b.wear_percent, Some(100.0));
}

#[test]
fn zero_or_missing_design_gives_no_wear_and_a_warning() {
    let (b, warnings) = battery(&[("energy_full_design", "0"), ("energy_full", "40000000")]);
    assert_eq!(b.capacity_basis, "energy");
    assert_eq!(b.wear_percent, None);
    assert_eq!(b.design_capacity_mwh, Some(0));
    assert_eq!(b.full_capacity_mwh, Some(40000));
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].probe, "battery:BAT0");
    assert!(
        warnings[0].message.contains("design capacity is 0"),
        "{warnings:?}"
    );

    let (b, warnings) = battery(&[("energy_full", "40000000")]);
    assert_eq!(b.wear_percent, None);
    assert!(
        warnings[0].message.contains("design capacity missing"),
        "{warnings:?}"
    );

    let (b, warnings) = battery(&[("energy_full_design", "40000000")]);
    assert_eq!(b.wear_percent, None);
    assert!(
        warnings[0].message.contains("full-charge capacity missing"),
        "{warnings:?}"
    );
}

#[test]
fn charge_without_any_voltage_still_gives_wear() {
    let (b, warnings) = battery(&[
        ("charge_full_design", "5000000"),
        ("charge_full", "4000000"),
    ]);
    assert_eq!(b.capacity_basis, "charge");
    assert_eq!(b.design_capacity_mwh, None);
    assert_eq!(b.full_capacity_mwh, None);
    assert_eq!(b.wear_percent, Some(20.0));
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].message.contains("without voltage_min_design"));
}

#[test]
fn no_capacity_at_all() {
    let (b, warnings) = battery(&[("capacity", "57"), ("status", "Unknown")]);
    assert_eq!(b.capacity_basis, "none");
    assert_eq!(
        (b.design_capacity_mwh, b.full_capacity_mwh, b.wear_percent),
        (None, None, None)
    );
    assert_eq!(b.status.as_deref(), Some("Unknown"));
    assert_eq!(warnings.len(), 1, "{warnings:?}");
}

#[test]
fn garbled_numbers_and_empty_strings() {
    let (b, warnings) = battery(&[
        ("energy_full_design", "50000000"),
        ("energy_full", "n/a"),
        ("cycle_count", "-1"),
        ("manufacturer", "   "),
        ("serial_number", ""),
    ]);
    assert_eq!(b.full_capacity_mwh, None);
    assert_eq!(b.wear_percent, None);
    assert_eq!(b.cycle_count, None);
    assert_eq!(b.manufacturer, None);
    assert_eq!(b.serial, None);
    let messages: Vec<&str> = warnings.iter().map(|w| w.message.as_str()).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("energy_full: \"n/a\"")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("cycle_count: \"-1\"")),
        "{messages:?}"
    );
}

#[test]
fn several_batteries_sorted_by_name() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for name in ["BAT1", "BAT0"] {
        supply(
            tmp.path(),
            name,
            &[
                ("type", "Battery"),
                ("energy_full_design", "23000000"),
                ("energy_full", "23000000"),
            ],
        );
    }
    let (batteries, _) = read_batteries(tmp.path());
    let names: Vec<&str> = batteries.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["BAT0", "BAT1"]);
}

#[test]
fn laptop_without_battery_only_for_portable_chassis() {
    let (b, _) = battery(&[
        ("energy_full_design", "1000000"),
        ("energy_full", "1000000"),
    ]);
    assert!(laptop_without_battery(Some(true), &[]));
    assert!(!laptop_without_battery(Some(true), &[b]));
    assert!(!laptop_without_battery(Some(false), &[]));
    assert!(!laptop_without_battery(None, &[]));
}

#[test]
fn no_power_supply_class() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (batteries, warnings) = read_batteries(tmp.path());
    assert!(batteries.is_empty() && warnings.is_empty());
}

#[test]
fn this_machine() {
    let (batteries, warnings) = read_batteries(Path::new("/"));
    eprintln!("{batteries:#?}\n{warnings:#?}");
    for b in &batteries {
        assert!(!b.name.is_empty() && !b.capacity_basis.is_empty());
        assert!(b.source.starts_with("/sys/class/power_supply/"));
        assert!(b.wear_percent.is_none_or(|w| (0.0..=100.0).contains(&w)));
    }
}

#[test]
fn manufacture_date_from_the_three_attributes() {
    let (b, warnings) = battery(&[
        ("energy_full_design", "57020000"),
        ("energy_full", "45490000"),
        ("manufacture_year", "2019"),
        ("manufacture_month", "3"),
        ("manufacture_day", "7"),
    ]);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(b.manufacture_date.as_deref(), Some("2019-03-07"));
    // Month without a day; a zeroed Smart Battery date (1980) is no date.
    let (b, _) = battery(&[("manufacture_year", "2021"), ("manufacture_month", "11")]);
    assert_eq!(b.manufacture_date.as_deref(), Some("2021-11"));
    let (b, _) = battery(&[
        ("manufacture_year", "1980"),
        ("manufacture_month", "0"),
        ("manufacture_day", "0"),
    ]);
    assert_eq!(b.manufacture_date, None);
    let (b, _) = battery(&[]);
    assert_eq!(b.manufacture_date, None);
}
