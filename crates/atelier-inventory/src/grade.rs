//! Grades: a deterministic verdict per component and for the whole machine.
//!
//! The rules are a fixed table (also in `docs/inventory.md`, section "Grades"); each fired rule
//! gives a [`Verdict`] with a stable code, a [`GradeLevel`] and a sentence in French and
//! English. The overall level is the worst of `replace` / `attention` / `good`; `unknown`
//! counts only when no component is worse than good (a machine with one dead battery is
//! "replace" even if its disk health is unknown).
//!
//! | code | level | when |
//! |---|---|---|
//! | `battery_missing` | replace | portable chassis and no battery found |
//! | `battery_worn` | replace | wear > [`BATTERY_REPLACE_WEAR`] % |
//! | `battery_aging` | attention | wear > [`BATTERY_ATTENTION_WEAR`] % |
//! | `battery_ok` | good | wear known and at most [`BATTERY_ATTENTION_WEAR`] % |
//! | `battery_wear_unknown` | unknown | a battery without design or full capacity |
//! | `disk_none` | replace | no internal disk to install the system on |
//! | `disk_failing` | replace | SMART verdict failing, or reallocated sectors > 0 |
//! | `disk_warning` | attention | SMART verdict warning |
//! | `disk_health_unknown` | unknown | no SMART data (the reason is in the text) |
//! | `disk_rotational` | attention | the system disk (largest internal) is magnetic: an SSD makes the machine much faster |
//! | `disk_small` | attention | largest internal disk < [`DISK_MIN_BYTES`] |
//! | `disk_ok` | good | SMART data and nothing found |
//! | `memory_low` | replace | installed < 4 GiB (or, installed unknown, `MemTotal` < 3.5 GiB): add RAM for Linux Mint |
//! | `memory_gap` | attention | the kernel sees less than 3/4 of the installed memory |
//! | `memory_ok` | good | enough memory |
//! | `memory_unknown` | unknown | neither SMBIOS nor `/proc/meminfo` gave a size |
//! | `screen_missing` | attention | portable chassis and no internal panel EDID: panel or cable to check |
//! | `firmware_legacy_uefi_capable` | attention | booted legacy (CSM) although SMBIOS says the firmware supports UEFI: switch to UEFI before installing |
//! | `identity_weak` | attention | the machine key is weak or absent: stick an asset label |
//!
//! Internal disks are the [`Disk`]s that are neither removable nor on USB ([`is_internal`]).

use atelier_record::{
    Battery, BootMode, Disk, GradeLevel, Grades, HardwareSection, HealthVerdict, MediaKind,
    Transport, Verdict,
};

/// Battery wear above which the battery must be replaced, percent.
pub const BATTERY_REPLACE_WEAR: f64 = 40.0;
/// Battery wear above which the battery is worth a look, percent.
pub const BATTERY_ATTENTION_WEAR: f64 = 20.0;
/// Installed memory below which Linux Mint needs more RAM, bytes (4 GiB).
pub const MEMORY_MIN_INSTALLED: u64 = 4 << 30;
/// `MemTotal` below which memory is low when SMBIOS gives no installed size, bytes (3.5 GiB:
/// firmware and graphics reserve part of 4 GiB).
pub const MEMORY_MIN_KERNEL: u64 = 7 << 29;
/// Disk size below which Linux Mint with the usual software gets tight, bytes (64 GB).
pub const DISK_MIN_BYTES: u64 = 64_000_000_000;

fn verdict(component: &str, code: &str, level: GradeLevel, fr: String, en: String) -> Verdict {
    Verdict {
        component: component.to_owned(),
        code: code.to_owned(),
        level,
        text_fr: fr,
        text_en: en,
    }
}

/// Formats bytes in GiB with one decimal, for the verdict texts.
fn gib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / f64::from(1u32 << 30))
}

/// Formats a percentage with one decimal, French style (comma) when `fr`.
fn pct(value: f64, fr: bool) -> String {
    let s = format!("{value:.1}");
    if fr { s.replace('.', ",") } else { s }
}

/// True for the disks the machine keeps: not removable, not on USB, not a loop device. An
/// internal disk holding the running system (Atelier run on an installed machine rather than
/// from the stick) is still the machine's disk.
pub fn is_internal(disk: &Disk) -> bool {
    !disk.device.removable && !matches!(disk.device.transport, Transport::Usb | Transport::Loop)
}

/// True for the bench's own stick: the boot medium when it is not an internal disk. It leaves
/// with the technician and is not part of the machine.
pub fn is_bench_stick(disk: &Disk) -> bool {
    disk.boot_medium && !is_internal(disk)
}

fn battery_verdicts(batteries: &[Battery], laptop_without_battery: bool) -> Vec<Verdict> {
    let mut out = Vec::new();
    if laptop_without_battery {
        out.push(verdict(
            "battery",
            "battery_missing",
            GradeLevel::Replace,
            "Portable sans batterie : en ajouter une".into(),
            "Laptop without a battery: fit one".into(),
        ));
    }
    for b in batteries {
        let v = match b.wear_percent {
            Some(w) if w > BATTERY_REPLACE_WEAR => verdict(
                "battery",
                "battery_worn",
                GradeLevel::Replace,
                format!(
                    "Batterie {} usée à {} % : la remplacer",
                    b.name,
                    pct(w, true)
                ),
                format!("Battery {} worn {} %: replace it", b.name, pct(w, false)),
            ),
            Some(w) if w > BATTERY_ATTENTION_WEAR => verdict(
                "battery",
                "battery_aging",
                GradeLevel::Attention,
                format!(
                    "Batterie {} usée à {} % : autonomie réduite",
                    b.name,
                    pct(w, true)
                ),
                format!(
                    "Battery {} worn {} %: shorter battery life",
                    b.name,
                    pct(w, false)
                ),
            ),
            Some(w) => verdict(
                "battery",
                "battery_ok",
                GradeLevel::Good,
                format!("Batterie {} en bon état (usure {} %)", b.name, pct(w, true)),
                format!(
                    "Battery {} in good shape ({} % wear)",
                    b.name,
                    pct(w, false)
                ),
            ),
            None => verdict(
                "battery",
                "battery_wear_unknown",
                GradeLevel::Unknown,
                format!(
                    "Batterie {} : usure inconnue (capacités non fournies)",
                    b.name
                ),
                format!("Battery {}: wear unknown (capacities not reported)", b.name),
            ),
        };
        out.push(v);
    }
    out
}

fn disk_label(d: &Disk) -> String {
    match &d.device.model {
        Some(m) => format!("{} ({m})", d.device.name),
        None => d.device.name.clone(),
    }
}

fn disk_verdicts(disks: &[Disk]) -> Vec<Verdict> {
    let internal: Vec<&Disk> = disks.iter().filter(|d| is_internal(d)).collect();
    let mut out = Vec::new();
    if internal.is_empty() {
        out.push(verdict(
            "disk",
            "disk_none",
            GradeLevel::Replace,
            "Aucun disque interne : en installer un".into(),
            "No internal disk: fit one".into(),
        ));
        return out;
    }
    for d in &internal {
        let label = disk_label(d);
        let h = &d.health;
        let reallocated = h.reallocated_sectors.unwrap_or(0);
        let v = if h.verdict == HealthVerdict::Failing || reallocated > 0 {
            let why_en = if h.findings.is_empty() {
                format!("{reallocated} reallocated sectors")
            } else {
                h.findings.join("; ")
            };
            verdict(
                "disk",
                "disk_failing",
                GradeLevel::Replace,
                format!("Disque {label} défaillant ({why_en}) : le remplacer"),
                format!("Disk {label} failing ({why_en}): replace it"),
            )
        } else {
            match h.verdict {
                HealthVerdict::Warning => verdict(
                    "disk",
                    "disk_warning",
                    GradeLevel::Attention,
                    format!("Disque {label} à surveiller ({})", h.findings.join("; ")),
                    format!("Disk {label} to watch ({})", h.findings.join("; ")),
                ),
                HealthVerdict::Unknown => {
                    let why = h.unknown_reason.as_deref().unwrap_or("no SMART data");
                    verdict(
                        "disk",
                        "disk_health_unknown",
                        GradeLevel::Unknown,
                        format!("Disque {label} : santé inconnue ({why})"),
                        format!("Disk {label}: health unknown ({why})"),
                    )
                }
                _ => {
                    let hours = h
                        .power_on_hours
                        .map(|n| format!(", {n} h"))
                        .unwrap_or_default();
                    verdict(
                        "disk",
                        "disk_ok",
                        GradeLevel::Good,
                        format!("Disque {label} en bonne santé (SMART OK{hours})"),
                        format!("Disk {label} healthy (SMART OK{hours})"),
                    )
                }
            }
        };
        out.push(v);
    }
    // The system disk is the largest internal one.
    if let Some(system) = internal.iter().max_by_key(|d| d.device.size_bytes) {
        if system.device.media == MediaKind::Magnetic {
            out.push(verdict(
                "disk",
                "disk_rotational",
                GradeLevel::Attention,
                format!(
                    "Disque système {} mécanique : un SSD rendrait la machine bien plus rapide",
                    system.device.name
                ),
                format!(
                    "System disk {} is a hard disk: an SSD would make the machine much faster",
                    system.device.name
                ),
            ));
        }
        if system.device.size_bytes < DISK_MIN_BYTES {
            let gb = system.device.size_bytes / 1_000_000_000;
            out.push(verdict(
                "disk",
                "disk_small",
                GradeLevel::Attention,
                format!(
                    "Disque système {} de {gb} Go : juste pour Linux Mint et les logiciels",
                    system.device.name
                ),
                format!(
                    "System disk {} is {gb} GB: tight for Linux Mint and the software",
                    system.device.name
                ),
            ));
        }
    }
    out
}

fn memory_verdicts(hw: &HardwareSection) -> Vec<Verdict> {
    let installed = hw.memory.installed_bytes.filter(|b| *b > 0);
    let kernel = hw.memory.total_bytes.get().copied();
    let free_slots = hw.memory.slots.iter().filter(|s| !s.populated).count();
    let (low, shown) = match (installed, kernel) {
        (Some(i), _) => (i < MEMORY_MIN_INSTALLED, i),
        (None, Some(k)) => (k < MEMORY_MIN_KERNEL, k),
        (None, None) => {
            return vec![verdict(
                "memory",
                "memory_unknown",
                GradeLevel::Unknown,
                "Mémoire : taille inconnue".into(),
                "Memory: size unknown".into(),
            )];
        }
    };
    let mut out = Vec::new();
    if low {
        let mut notes_fr = Vec::new();
        let mut notes_en = Vec::new();
        if free_slots > 0 {
            notes_fr.push(format!("{free_slots} emplacement(s) libre(s)"));
            notes_en.push(format!("{free_slots} free slot(s)"));
        }
        if let Some(max) = hw.memory.max_capacity_bytes {
            notes_fr.push(format!("{} Gio au plus", gib(max).replace('.', ",")));
            notes_en.push(format!("{} GiB at most", gib(max)));
        }
        let paren = |notes: Vec<String>| {
            if notes.is_empty() {
                String::new()
            } else {
                format!(" ({})", notes.join(", "))
            }
        };
        let (slot_fr, slot_en) = (paren(notes_fr), paren(notes_en));
        out.push(verdict(
            "memory",
            "memory_low",
            GradeLevel::Replace,
            format!(
                "{} Gio de mémoire : ajouter de la RAM pour Linux Mint (4 Gio minimum){slot_fr}",
                gib(shown).replace('.', ",")
            ),
            format!(
                "{} GiB of memory: add RAM for Linux Mint (4 GiB minimum){slot_en}",
                gib(shown)
            ),
        ));
    } else {
        out.push(verdict(
            "memory",
            "memory_ok",
            GradeLevel::Good,
            format!(
                "{} Gio de mémoire : suffisant",
                gib(shown).replace('.', ",")
            ),
            format!("{} GiB of memory: enough", gib(shown)),
        ));
    }
    if let (Some(i), Some(k)) = (installed, kernel)
        && k < i / 4 * 3
    {
        out.push(verdict(
            "memory",
            "memory_gap",
            GradeLevel::Attention,
            format!(
                "Le système ne voit que {} Gio sur {} Gio installés : barrette à vérifier",
                gib(k).replace('.', ","),
                gib(i).replace('.', ",")
            ),
            format!(
                "The system sees only {} GiB of the {} GiB installed: check the modules",
                gib(k),
                gib(i)
            ),
        ));
    }
    out
}

/// Applies the rule table to an inventory. `hw.grades` is ignored (it is the output).
pub fn grade(hw: &HardwareSection) -> Grades {
    let mut verdicts = Vec::new();
    verdicts.extend(battery_verdicts(&hw.batteries, hw.laptop_without_battery));
    verdicts.extend(disk_verdicts(&hw.disks));
    verdicts.extend(memory_verdicts(hw));
    let portable = hw.identity.chassis_portable == Some(true);
    if portable && !hw.screens.iter().any(|s| s.internal) {
        verdicts.push(verdict(
            "screen",
            "screen_missing",
            GradeLevel::Attention,
            "Portable sans écran interne détecté : dalle ou nappe à vérifier".into(),
            "Laptop with no internal panel detected: check the panel or its cable".into(),
        ));
    }
    if hw.firmware.boot_mode == BootMode::Legacy && hw.firmware.uefi_capable == Some(true) {
        verdicts.push(verdict(
            "firmware",
            "firmware_legacy_uefi_capable",
            GradeLevel::Attention,
            "Démarré en mode BIOS (Legacy/CSM) alors que le micrologiciel sait faire UEFI : \
             passer en UEFI dans le setup avant d'installer Linux Mint"
                .into(),
            "Booted in BIOS (legacy/CSM) mode although the firmware supports UEFI: switch the \
             setup to UEFI before installing Linux Mint"
                .into(),
        ));
    }
    if hw.machine_key.weak || hw.machine_key.value.is_none() {
        verdicts.push(verdict(
            "machine",
            "identity_weak",
            GradeLevel::Attention,
            "Identité de la machine faible (numéro de série absent) : coller une étiquette d'inventaire".into(),
            "Weak machine identity (no serial number): stick an asset label on it".into(),
        ));
    }
    // Worst first: replace, attention, unknown, good; stable within a level.
    let rank = |l: GradeLevel| match l {
        GradeLevel::Replace => 0,
        GradeLevel::Attention => 1,
        GradeLevel::Unknown => 2,
        GradeLevel::Good => 3,
    };
    verdicts.sort_by_key(|v| rank(v.level));
    Grades {
        overall: overall(&verdicts),
        verdicts,
    }
}

/// The overall level: replace > attention > unknown > good, where unknown only wins over good.
pub fn overall(verdicts: &[Verdict]) -> GradeLevel {
    let has = |l: GradeLevel| verdicts.iter().any(|v| v.level == l);
    if has(GradeLevel::Replace) {
        GradeLevel::Replace
    } else if has(GradeLevel::Attention) {
        GradeLevel::Attention
    } else if has(GradeLevel::Unknown) {
        GradeLevel::Unknown
    } else {
        GradeLevel::Good
    }
}
