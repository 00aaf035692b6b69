//! Batteries: identity, capacity when new and at the last full charge (in mWh), wear and charge
//! cycles, from the kernel's power supply class under a root path.
//!
//! Files read under the root, for every `sys/class/power_supply/NAME` directory
//! (Documentation/ABI/testing/sysfs-class-power):
//!
//! - `type` must be `Battery`; a `scope` of `Device` marks the battery of a peripheral (wireless
//!   mouse, keyboard, headset), which is skipped, and so is a battery whose `present` is `0` (an
//!   empty bay).
//! - `manufacturer`, `model_name`, `serial_number`, `technology`, `status`, `cycle_count`.
//! - Capacities. Firmware reports them either as energy, `energy_full_design` and `energy_full`
//!   in µWh, or as charge, `charge_full_design` and `charge_full` in µAh, to multiply by a
//!   voltage in µV (`voltage_min_design`, else `voltage_now`). Both become mWh:
//!   µWh / 1000, or µAh × µV / 10⁹, rounded to the nearest mWh.
//!
//! # Choice of the basis ([`Battery::capacity_basis`])
//!
//! | basis | when |
//! |---|---|
//! | `energy` | `energy_full_design` is non-zero; or there is energy data and the charge data is unusable (no non-zero design charge or no voltage) |
//! | `charge×voltage` | charge data converted with `voltage_min_design` |
//! | `charge×voltage_now` | charge data converted with `voltage_now`, because `voltage_min_design` is absent (the result moves with the charge level) |
//! | `charge` | charge data without any voltage: no mWh, but the wear is still known |
//! | `none` | neither energy nor charge is reported |
//!
//! # Wear
//!
//! Wear is `100 − full / design × 100`, computed on the raw values of the chosen basis (the
//! voltage cancels out), rounded to one decimal. A battery that reports a full-charge capacity
//! above its design capacity (new cells, recalibrated gauges) has no wear: 0, with both raw
//! capacities kept. A design capacity that is zero or missing gives no wear, and a warning. Cycle
//! counts of 0 are what most firmware reports when it does not count: they are left out.

use std::fs;
use std::path::Path;

use atelier_record::{Battery, ProbeWarning};

/// Where the power supplies live, under the root.
const POWER_SUPPLY_DIR: &str = "sys/class/power_supply";

/// The raw capacity files of one battery, in the kernel's units (µWh, µAh, µV).
#[derive(Debug, Clone, Copy, Default)]
struct RawCapacity {
    energy_full_design: Option<u64>,
    energy_full: Option<u64>,
    charge_full_design: Option<u64>,
    charge_full: Option<u64>,
    voltage_min_design: Option<u64>,
    voltage_now: Option<u64>,
}

/// Capacities in mWh and wear, with the basis they were computed on.
#[derive(Debug, Clone, PartialEq)]
struct Capacity {
    basis: &'static str,
    design_mwh: Option<u64>,
    full_mwh: Option<u64>,
    wear_percent: Option<f64>,
    /// Why the wear (or the mWh values) are unknown.
    problems: Vec<String>,
}

/// Reads every system battery of the machine whose filesystem is at `root` (`/` on a live
/// machine), sorted by name. Peripheral batteries and empty bays are skipped. Never panics.
pub fn read_batteries(root: &Path) -> (Vec<Battery>, Vec<ProbeWarning>) {
    let mut batteries = Vec::new();
    let mut warnings = Vec::new();
    let dir = root.join(POWER_SUPPLY_DIR);
    let mut names: Vec<String> = match fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .collect(),
        // No power supply class at all (desktops without ACPI AC adapter, VMs): no battery.
        Err(_) => return (batteries, warnings),
    };
    names.sort();
    for name in names {
        let supply = dir.join(&name);
        let read = |file: &str| read_trimmed(&supply.join(file));
        if read("type").as_deref() != Some("Battery")
            || read("scope").as_deref() == Some("Device")
            || read("present").as_deref() == Some("0")
        {
            continue;
        }
        let (battery, problems) = read_battery(&supply, &name);
        warnings.extend(problems.into_iter().map(|message| ProbeWarning {
            probe: format!("battery:{name}"),
            message,
        }));
        batteries.push(battery);
    }
    (batteries, warnings)
}

/// Reads one battery directory; the strings are the problems found.
fn read_battery(dir: &Path, name: &str) -> (Battery, Vec<String>) {
    let read = |file: &str| read_trimmed(&dir.join(file));
    let mut problems = Vec::new();
    let mut number = |file: &str| {
        let text = read(file)?;
        match text.parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => {
                problems.push(format!("{file}: {text:?} is not a non-negative integer"));
                None
            }
        }
    };
    let raw = RawCapacity {
        energy_full_design: number("energy_full_design"),
        energy_full: number("energy_full"),
        charge_full_design: number("charge_full_design"),
        charge_full: number("charge_full"),
        voltage_min_design: number("voltage_min_design"),
        voltage_now: number("voltage_now"),
    };
    let cycle_count = number("cycle_count").filter(|&n| n > 0);
    let manufacture_date = manufacture_date(
        number("manufacture_year"),
        number("manufacture_month"),
        number("manufacture_day"),
    );
    let capacity = capacity(&raw);
    problems.extend(capacity.problems);
    let battery = Battery {
        name: name.to_owned(),
        manufacturer: read("manufacturer"),
        model: read("model_name"),
        serial: read("serial_number"),
        // The kernel prints "Unknown" for POWER_SUPPLY_TECHNOLOGY_UNKNOWN.
        technology: read("technology").filter(|t| t != "Unknown"),
        design_capacity_mwh: capacity.design_mwh,
        full_capacity_mwh: capacity.full_mwh,
        wear_percent: capacity.wear_percent,
        cycle_count,
        manufacture_date,
        status: read("status"),
        capacity_basis: capacity.basis.to_owned(),
        source: format!("/{POWER_SUPPLY_DIR}/{name}"),
    };
    (battery, problems)
}

/// The manufacture date from `manufacture_year`, `_month` and `_day`
/// (Documentation/ABI/testing/sysfs-class-power): `YYYY-MM-DD`, or `YYYY-MM` / `YYYY` when the
/// day or month is missing or out of range. Years before 1990 or after 2100 are firmware
/// garbage (a zeroed field reads as 1980 on Smart Battery packs), so no date.
pub fn manufacture_date(year: Option<u64>, month: Option<u64>, day: Option<u64>) -> Option<String> {
    let year = year.filter(|y| (1990..=2100).contains(y))?;
    let Some(month) = month.filter(|m| (1..=12).contains(m)) else {
        return Some(format!("{year:04}"));
    };
    match day.filter(|d| (1..=31).contains(d)) {
        Some(day) => Some(format!("{year:04}-{month:02}-{day:02}")),
        None => Some(format!("{year:04}-{month:02}")),
    }
}

/// Chooses the basis and computes the capacities (see the module documentation).
fn capacity(raw: &RawCapacity) -> Capacity {
    let positive = |v: Option<u64>| v.filter(|&n| n > 0);
    let voltage = match (positive(raw.voltage_min_design), positive(raw.voltage_now)) {
        (Some(v), _) => Some((v, "charge×voltage")),
        (None, Some(v)) => Some((v, "charge×voltage_now")),
        (None, None) => None,
    };
    let has_energy = raw.energy_full_design.is_some() || raw.energy_full.is_some();
    let has_charge = raw.charge_full_design.is_some() || raw.charge_full.is_some();
    let charge_usable = positive(raw.charge_full_design).is_some() && voltage.is_some();
    let use_energy = positive(raw.energy_full_design).is_some() || (has_energy && !charge_usable);

    let mut problems = Vec::new();
    let (basis, design, full, design_mwh, full_mwh) = if use_energy {
        let to_mwh = |uwh: Option<u64>| uwh.map(|n| n.saturating_add(500) / 1000);
        (
            "energy",
            raw.energy_full_design,
            raw.energy_full,
            to_mwh(raw.energy_full_design),
            to_mwh(raw.energy_full),
        )
    } else if has_charge {
        match voltage {
            Some((uv, basis)) => {
                let to_mwh = |uah: Option<u64>| {
                    uah.and_then(|n| {
                        let mwh = (u128::from(n) * u128::from(uv) + 500_000_000) / 1_000_000_000;
                        u64::try_from(mwh).ok()
                    })
                };
                (
                    basis,
                    raw.charge_full_design,
                    raw.charge_full,
                    to_mwh(raw.charge_full_design),
                    to_mwh(raw.charge_full),
                )
            }
            None => {
                problems.push(
                    "capacities reported as charge (µAh) without voltage_min_design or \
                     voltage_now: no mWh values"
                        .to_owned(),
                );
                (
                    "charge",
                    raw.charge_full_design,
                    raw.charge_full,
                    None,
                    None,
                )
            }
        }
    } else {
        problems.push(
            "no capacity reported (neither energy_full* nor charge_full*): wear unknown".to_owned(),
        );
        return Capacity {
            basis: "none",
            design_mwh: None,
            full_mwh: None,
            wear_percent: None,
            problems,
        };
    };

    let wear_percent = match (positive(design), full) {
        (None, _) => {
            problems.push(format!(
                "design capacity {} ({basis}): wear unknown",
                if design == Some(0) { "is 0" } else { "missing" }
            ));
            None
        }
        (Some(_), None) => {
            problems.push(format!(
                "full-charge capacity missing ({basis}): wear unknown"
            ));
            None
        }
        (Some(design), Some(full)) => Some(wear(design, full)),
    };
    Capacity {
        basis,
        design_mwh,
        full_mwh,
        wear_percent,
        problems,
    }
}

/// `100 − full / design × 100`, one decimal, never below 0. `design` is non-zero.
fn wear(design: u64, full: u64) -> f64 {
    // Precision: capacities are far below 2⁵³ µWh, so the conversion to f64 is exact.
    let wear = 100.0 - full as f64 / design as f64 * 100.0;
    let rounded = (wear * 10.0).round() / 10.0;
    // `<=` also turns a rounded -0.0 into 0.0.
    if rounded <= 0.0 { 0.0 } else { rounded }
}

/// Reads a small sysfs file, trimmed; `None` when absent, unreadable or empty.
fn read_trimmed(path: &Path) -> Option<String> {
    let text = fs::read_to_string(path).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// The chassis is a portable one (laptop, notebook, tablet…: `chassis_portable` from SMBIOS)
/// and no system battery was found: the battery is missing or dead enough that the kernel does
/// not see it. An unknown chassis type is not flagged.
pub fn laptop_without_battery(chassis_portable: Option<bool>, batteries: &[Battery]) -> bool {
    chassis_portable == Some(true) && batteries.is_empty()
}
