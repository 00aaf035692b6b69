//! `atelier inventory`: what machine is on the bench and whether it is worth refurbishing.

use std::path::Path;
use std::time::Duration;

use atelier_inventory::capture::{CaptureOptions, capture};
use atelier_inventory::glpi::{GlpiOptions, glpi_inventory};
use atelier_inventory::machine::{
    InventoryOptions, ProbeTiming, SmartSource, take_inventory_timed,
};
use atelier_inventory::smart::Smartctl;
use atelier_record::{
    AssetRecord, BootMode, GradeLevel, HardwareSection, HealthVerdict, SecureBootState, Sourced,
    ValueState,
};

use crate::cli::{InventoryArgs, InventoryCommand, InventoryFormat};
use crate::context::Context;
use crate::exit;
use crate::i18n::{InvLabel, Lang, Msg, bytes, decimal};
use crate::output;

/// Runs `atelier inventory`.
pub fn run(ctx: &Context, args: &InventoryArgs) -> u8 {
    if let Some(InventoryCommand::Capture { dir, no_smart }) = &args.action {
        return run_capture(ctx, dir, *no_smart);
    }
    let format = if args.json {
        InventoryFormat::Json
    } else {
        args.format
    };
    let (hw, timings) = take_inventory_timed(&options(ctx, args));
    if std::env::var_os(TIMINGS_VARIABLE).is_some_and(|v| !v.is_empty() && v != "0") {
        print_timings(&timings);
    }

    let mut code = exit::OK;
    let mut saved = None;
    if !args.no_save {
        match save(ctx, &hw) {
            Some(id) => saved = Some(id),
            None => code = exit::FAILED,
        }
    }
    match format {
        InventoryFormat::Json => match serde_json::to_string_pretty(&hw) {
            Ok(text) => out!("{text}"),
            Err(e) => {
                output::error(ctx.lang, &Msg::Internal(e.to_string()));
                return exit::FAILED;
            }
        },
        InventoryFormat::Glpi => {
            let value = glpi_inventory(&hw, &glpi_options(ctx));
            match serde_json::to_string_pretty(&value) {
                Ok(text) => out!("{text}"),
                Err(e) => {
                    output::error(ctx.lang, &Msg::Internal(e.to_string()));
                    return exit::FAILED;
                }
            }
        }
        InventoryFormat::Human => {
            print_summary(ctx.lang, &hw);
            if let Some(id) = saved {
                out!("");
                out!("{}", Msg::InventorySaved { id: &id }.text(ctx.lang));
            }
        }
    }
    for w in &hw.warnings {
        output::warning(
            ctx.lang,
            &Msg::ProbeWarning {
                probe: &w.probe,
                message: &w.message,
            },
        );
    }
    code
}

/// Set to `1` to print how long each probe took, on standard error (a developer's aid for the
/// benchmark in docs/benchmarks.md; not translated).
const TIMINGS_VARIABLE: &str = "ATELIER_INVENTORY_TIMINGS";

/// One line per probe: when it started and how long it ran, in milliseconds.
fn print_timings(timings: &[ProbeTiming]) {
    use std::io::Write as _;
    let mut err = std::io::stderr().lock();
    for t in timings {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let _ = match t.took {
            Some(took) => writeln!(
                err,
                "timing: {:<9} started at {:>7.3} ms, took {:>7.3} ms",
                t.name,
                ms(t.started),
                ms(took)
            ),
            None => writeln!(err, "timing: {:<9} did not finish", t.name),
        };
    }
}

fn options(ctx: &Context, args: &InventoryArgs) -> InventoryOptions {
    let mut opts = if ctx.root.is_live() {
        InventoryOptions::live()
    } else {
        // A capture says which architecture it came from; a hand-made tree is taken as ours.
        let arch = atelier_inventory::capture::read_manifest(ctx.root.base())
            .ok()
            .and_then(|m| m.architecture)
            .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
        InventoryOptions::captured(ctx.root.base(), arch)
    };
    if args.no_smart {
        opts.smart = SmartSource::Skip("not queried (--no-smart)".into());
    } else if ctx.root.is_live() && !opts.as_root {
        opts.smart = SmartSource::Skip("not queried: SMART needs root".into());
    }
    opts.include_loop_devices = args.include_loop_devices;
    opts
}

fn glpi_options(ctx: &Context) -> GlpiOptions {
    // The bench's own host name is the live stick's, the same on every machine: it is not
    // the machine's name. GLPI then names the computer after its product (see glpi.rs).
    let _ = ctx;
    GlpiOptions {
        version_client: format!("atelier {}", env!("CARGO_PKG_VERSION")),
        hostname: None,
        tag: std::env::var("ATELIER_GLPI_TAG")
            .ok()
            .filter(|t| !t.is_empty()),
    }
}

/// Saves the inventory into the machine's open record (see
/// [`atelier_store::Store::open_machine_record`]), or a new one. Returns the record id.
fn save(ctx: &Context, hw: &HardwareSection) -> Option<String> {
    let store = ctx.open_store()?;
    let existing = match hw.machine_key.value.as_deref() {
        Some(key) => match store.open_machine_record(key) {
            Ok(r) => r,
            Err(e) => {
                output::store_error(ctx.lang, &store, &e);
                return None;
            }
        },
        None => None,
    };
    // An open record may be written by a running wipe meanwhile: change only its hardware
    // section, in one transaction.
    let saved = match existing {
        Some(record) => store
            .update_record(record.id, |r| r.hardware = Some(hw.clone()))
            .map(|r| r.id),
        None => {
            let mut record = AssetRecord::new(ctx.bench());
            record.hardware = Some(hw.clone());
            store.save_record(&record).map(|()| record.id)
        }
    };
    match saved {
        Ok(id) => Some(id.to_string()),
        Err(e) => {
            output::store_error(ctx.lang, &store, &e);
            None
        }
    }
}

fn run_capture(ctx: &Context, dir: &Path, no_smart: bool) -> u8 {
    let opts = CaptureOptions {
        smartctl: (!no_smart && ctx.root.is_live() && nix::unistd::geteuid().is_root())
            .then(Smartctl::new),
        smart_timeout: Duration::from_secs(10),
    };
    match capture(ctx.root.base(), dir, &opts) {
        Ok(report) => {
            out!(
                "{}",
                Msg::CaptureDone {
                    dir,
                    files: report.counts.files,
                    bytes: report.counts.bytes,
                    skipped: report.skipped.len(),
                }
                .text(ctx.lang)
            );
            exit::OK
        }
        Err(e) => {
            output::error(
                ctx.lang,
                &Msg::CaptureFailed {
                    dir,
                    cause: e.to_string(),
                },
            );
            exit::FAILED
        }
    }
}

/// A sourced text for display: the value, or why it is missing.
fn shown(lang: Lang, v: &Sourced<String>) -> String {
    match (&v.value, v.state) {
        (Some(v), _) => v.clone(),
        (None, ValueState::NeedsRoot) => InvLabel::NeedsRoot.text(lang).to_owned(),
        (None, _) => "—".to_owned(),
    }
}

fn level_mark(level: GradeLevel) -> &'static str {
    match level {
        GradeLevel::Good => "✓",
        GradeLevel::Attention => "⚠",
        GradeLevel::Replace => "✗",
        GradeLevel::Unknown => "?",
    }
}

/// The one-screen summary: machine, verdicts, then the components.
pub fn print_summary(lang: Lang, hw: &HardwareSection) {
    let l = |label: InvLabel| label.text(lang);
    let id = &hw.identity;
    let mut name = [&id.system_vendor, &id.product_name, &id.product_version]
        .iter()
        .filter_map(|v| v.value.clone())
        .collect::<Vec<_>>()
        .join(" ");
    if name.is_empty() {
        name = id
            .devicetree_model
            .value
            .clone()
            .unwrap_or_else(|| "?".into());
    }
    out!("{:<12} {name}", l(InvLabel::Machine));
    let serial = id
        .serial
        .value
        .clone()
        .or_else(|| id.devicetree_serial.value.clone())
        .unwrap_or_else(|| shown(lang, &id.serial));
    out!(
        "{:<12} {serial}   {} {}",
        l(InvLabel::Serial),
        l(InvLabel::Chassis),
        shown(lang, &id.chassis_type)
    );
    out!(
        "{:<12} {} {}",
        l(InvLabel::Verdict),
        level_mark(hw.grades.overall),
        Msg::Grade(hw.grades.overall).text(lang)
    );
    for v in &hw.grades.verdicts {
        out!(
            "{:<12}   {} {}",
            "",
            level_mark(v.level),
            lang.pick(&v.text_fr, &v.text_en)
        );
    }
    out!("");
    if let Some(cpu) = &hw.cpu {
        let mut parts = vec![cpu.model.clone().unwrap_or_else(|| "?".into())];
        if let (Some(c), Some(t)) = (cpu.cores, cpu.threads) {
            let cores = l(if c == 1 {
                InvLabel::Core
            } else {
                InvLabel::Cores
            });
            let threads = l(if t == 1 {
                InvLabel::Thread
            } else {
                InvLabel::Threads
            });
            parts.push(format!("{c} {cores} / {t} {threads}"));
        }
        if let Some(mhz) = cpu.max_frequency_mhz {
            parts.push(format!("{mhz} MHz"));
        }
        if !cpu.virtualization.is_empty() {
            parts.push(cpu.virtualization.join("+"));
        }
        out!("{:<12} {}", l(InvLabel::Cpu), parts.join(", "));
    }
    let mem = &hw.memory;
    let total = mem
        .installed_bytes
        .or(mem.total_bytes.value)
        .map(|b| bytes(lang, b))
        .unwrap_or_else(|| "?".into());
    let slots: Vec<String> = mem
        .slots
        .iter()
        .map(|s| {
            if !s.populated {
                return l(InvLabel::EmptySlot).to_owned();
            }
            [
                s.size_bytes.map(|b| bytes(lang, b)),
                s.memory_type.clone(),
                s.form_factor.clone(),
                s.speed_mts.map(|m| format!("{m} MT/s")),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
        })
        .collect();
    let mut board = Vec::new();
    if let Some(max) = mem.max_capacity_bytes {
        board.push(format!("{} {}", l(InvLabel::MaxMemory), bytes(lang, max)));
    }
    if let Some(ecc) = mem
        .error_correction
        .as_deref()
        .filter(|e| e.contains("ECC"))
    {
        board.push(ecc.to_owned());
    }
    let board = if board.is_empty() {
        String::new()
    } else {
        format!(" — {}", board.join(", "))
    };
    if slots.is_empty() {
        out!("{:<12} {total}{board}", l(InvLabel::Memory));
    } else {
        out!(
            "{:<12} {total} ({}){board}",
            l(InvLabel::Memory),
            slots.join(", ")
        );
    }
    for d in &hw.disks {
        let dev = &d.device;
        let health = match d.health.verdict {
            HealthVerdict::Good => l(InvLabel::HealthGood).to_owned(),
            HealthVerdict::Warning => l(InvLabel::HealthWarning).to_owned(),
            HealthVerdict::Failing => l(InvLabel::HealthFailing).to_owned(),
            HealthVerdict::Unknown => l(InvLabel::HealthUnknown).to_owned(),
        };
        let mut hours = d
            .health
            .power_on_hours
            .map(|h| format!(", {h} h"))
            .unwrap_or_default();
        if let Some(used) = d.health.percentage_used {
            hours.push_str(&format!(", {} {used} %", l(InvLabel::Wear)));
        }
        if let Some(t) = d.health.temperature_celsius {
            hours.push_str(&format!(", {t} °C"));
        }
        let boot = if d.boot_medium {
            format!(" [{}]", l(InvLabel::BootMedium))
        } else {
            String::new()
        };
        out!(
            "{:<12} {} {} {} {} {} / {} — SMART {health}{hours}{boot}",
            l(InvLabel::Disk),
            dev.name,
            Msg::Transport(dev.transport).text(lang),
            Msg::Media(dev.media).text(lang),
            bytes(lang, dev.size_bytes),
            dev.model.as_deref().unwrap_or("?"),
            dev.serial.as_deref().unwrap_or("?"),
        );
    }
    for b in &hw.batteries {
        let wear = b
            .wear_percent
            .map(|w| format!("{} %", decimal(lang, w)))
            .unwrap_or_else(|| "?".into());
        let wh = |m: Option<u64>| {
            m.map(|m| decimal(lang, m as f64 / 1000.0))
                .unwrap_or_else(|| "?".into())
        };
        let mut cycles = b
            .cycle_count
            .map(|c| format!(", {c} {}", l(InvLabel::Cycles)))
            .unwrap_or_default();
        if let Some(date) = &b.manufacture_date {
            cycles.push_str(&format!(", {} {date}", l(InvLabel::MadeOn)));
        }
        out!(
            "{:<12} {} {} {wear} ({} / {} Wh){cycles}",
            l(InvLabel::Battery),
            b.name,
            l(InvLabel::Wear),
            wh(b.full_capacity_mwh),
            wh(b.design_capacity_mwh),
        );
    }
    for s in &hw.screens {
        let res = match (s.native_width, s.native_height) {
            (Some(w), Some(h)) => format!(" {w}×{h}"),
            _ => String::new(),
        };
        let diag = s
            .diagonal_inches
            .map(|d| format!(" {}\"", decimal(lang, d)))
            .unwrap_or_default();
        out!(
            "{:<12} {} {} {}{diag}{res}",
            l(InvLabel::Screen),
            s.connector,
            s.vendor_name.as_deref().unwrap_or(&s.vendor_code),
            s.model.as_deref().unwrap_or(""),
        );
    }
    for g in hw.pci_devices.iter().filter(|p| p.is_gpu) {
        out!(
            "{:<12} {} {}",
            l(InvLabel::Graphics),
            g.vendor_name.as_deref().unwrap_or(&g.vendor_id),
            g.device_name.as_deref().unwrap_or(&g.device_id)
        );
    }
    for n in &hw.network {
        let mac = n.mac.as_deref().unwrap_or("?");
        out!("{:<12} {} {} {mac}", l(InvLabel::Network), n.name, n.kind);
    }
    let p = &hw.peripherals;
    let yes_no = |present: bool| l(if present { InvLabel::Yes } else { InvLabel::No });
    let boot = match hw.firmware.boot_mode {
        BootMode::Uefi => "UEFI".to_owned(),
        BootMode::Legacy if hw.firmware.uefi_capable == Some(true) => {
            format!("BIOS ({})", l(InvLabel::UefiPossible))
        }
        BootMode::Legacy => "BIOS".to_owned(),
        BootMode::Other => "—".to_owned(),
    };
    let secure_boot = match hw.firmware.secure_boot {
        SecureBootState::Enabled => l(InvLabel::Yes),
        SecureBootState::Disabled => l(InvLabel::No),
        SecureBootState::NotApplicable => "—",
        SecureBootState::Unknown => "?",
    };
    let tpm = match &hw.firmware.tpm {
        Some(t) => t.version.clone().unwrap_or_else(|| "?".into()),
        None => l(InvLabel::No).to_owned(),
    };
    out!(
        "{:<12} Wi-Fi {}, Bluetooth {}, webcam {}, audio {}, {} {}",
        l(InvLabel::Devices),
        yes_no(!p.wifi.is_empty()),
        yes_no(!p.bluetooth.is_empty()),
        yes_no(!p.webcams.is_empty()),
        yes_no(!p.audio.is_empty()),
        l(InvLabel::Touchscreen),
        yes_no(!p.touchscreens.is_empty()),
    );
    out!(
        "{:<12} {boot}, Secure Boot {secure_boot}, TPM {tpm}",
        l(InvLabel::Firmware)
    );
    let key = hw.machine_key.value.as_deref().unwrap_or("—");
    let strength = l(if hw.machine_key.weak {
        InvLabel::KeyWeak
    } else {
        InvLabel::KeyStrong
    });
    out!("{:<12} {key} ({strength})", l(InvLabel::MachineKey));
    if !hw.as_root {
        out!("");
        out!("{}", l(InvLabel::NotRootHint));
    }
}
