//! `atelier wipe`: plan, confirm, overwrite and verify each device in parallel, record.
//!
//! Order of a new wipe: check the arguments, survey the devices and refuse what may not be
//! wiped, check privileges and the store (and that no other `atelier` is wiping the same
//! device), show the plan, ask for confirmation, journal every job, run, then print the results
//! that the store has committed.

use std::io::BufRead;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use atelier_device::ata::SgDevice;
use atelier_device::ata_hidden;
use atelier_device::{BlockDevice, DirectDevice};
use atelier_record::{
    AssetRecord, DeviceIdentity, FirmwareErase, Interruption, MediaKind, Outcome,
    SanitizationEntry, VerificationMode,
};
use atelier_store::{Job, JobState, ProcessOwner, Store};
use atelier_wipe::ata_security::{self, Recovery};
use atelier_wipe::firmware::{self, FirmwareParams, Probe};
use atelier_wipe::hidden_area;
use atelier_wipe::policy::{self, Decision, MediaClass, PolicyMethod, Requested};
use atelier_wipe::unfreeze;
use atelier_wipe::{
    EngineConfig, JobProgress, Method, Phase, PrepareError, SessionEnd, WipeObserver, WipeParams,
    apply_checkpoint, apply_session_end, find_planned, open_planned, run_session,
};
use chrono::Utc;
use serde_json::json;
use uuid::Uuid;

use crate::cli::{VerifyArg, WipeArgs};
use crate::commands::devices::{Survey, device_line, status_lines, survey};
use crate::commands::targets::{
    confirm, device_number, open_machine_record, open_store_for, reasons_json, record_key, refuse,
    refused_event, same_device, select_named,
};
use crate::context::{Context, tool_info};
use crate::exit;
use crate::i18n::{Lang, Msg, SanitizeStop};
use crate::output::{self, DeviceProgress, Progress};

/// Journal kind of wipe jobs.
const JOB_KIND: &str = "wipe";

/// Runs `atelier wipe`.
pub fn run(ctx: &Context, args: &WipeArgs) -> u8 {
    let lang = ctx.lang;
    if args.include_removable && !args.all_eligible {
        output::error(lang, &Msg::IncludeRemovableNeedsAll);
        return exit::USAGE;
    }
    if args.resume {
        return resume(ctx, args);
    }
    if args.recover {
        return recover_command(ctx, args);
    }
    let requested = match (&args.method, &args.pattern) {
        (Some(name), _) | (None, Some(name)) => match Requested::from_name(name) {
            Some(m) => m,
            None => {
                let names = Requested::names();
                output::error(
                    lang,
                    &Msg::UnknownMethod {
                        name,
                        choices: names.join(", "),
                    },
                );
                return exit::USAGE;
            }
        },
        (None, None) => Requested::Auto,
    };
    if !(1..=64).contains(&args.request_mib) {
        output::error(lang, &Msg::RequestSizeRange);
        return exit::USAGE;
    }
    if !(1..=16).contains(&args.io_depth) {
        output::error(lang, &Msg::IoDepthRange);
        return exit::USAGE;
    }
    if args.devices.is_empty() && !args.all_eligible {
        output::error(lang, &Msg::NoDeviceGiven);
        return exit::USAGE;
    }
    let verification = match args.verify {
        VerifyArg::Full => VerificationMode::Full,
        VerifyArg::Sampled => VerificationMode::Sampled,
    };

    let Some(surveys) = survey(ctx, args.include_removable) else {
        return exit::FAILED;
    };
    let Some(targets) = select(ctx, args, &surveys) else {
        return exit::REFUSED;
    };
    if targets.is_empty() {
        refuse(lang, args.json, &Msg::NoTargets);
        return exit::REFUSED;
    }

    // Checks that need a real machine come before the plan: no alarming plan for a command
    // that cannot run.
    let store = if args.plan_only {
        None
    } else {
        let store = match open_store_for(ctx, args.json, "wipe") {
            Ok(store) => store,
            Err(code) => return code,
        };
        warn_interrupted(ctx, &store);
        for s in &targets {
            if let Some(pid) = running_elsewhere(&store, &s.device.identity()) {
                refuse(
                    lang,
                    args.json,
                    &Msg::AlreadyRunning {
                        device: &s.device.name,
                        pid,
                    },
                );
                return exit::REFUSED;
            }
        }
        Some(store)
    };

    // A drive an interrupted ATA Security Erase left locked is unlocked first, so its probe
    // sees it as it is.
    if let Some(store) = &store {
        recover_passwords(ctx, store, &surveys, args.json);
    }

    // The method policy: ask each drive what it can do, pick the strongest method (or check
    // the operator's choice against what the drive advertises).
    let mut decisions: Vec<(Decision, Probe)> = Vec::new();
    for s in &targets {
        let probe = firmware::probe(&ctx.root, &s.device);
        match policy::decide(&probe.capabilities, requested) {
            Ok(d) => decisions.push((d, probe)),
            Err(e) => {
                let msg = match (requested, &probe.capabilities.ata, &e) {
                    (
                        policy::Requested::Exact(m),
                        Some(a),
                        policy::PolicyError::NotAdvertised { .. },
                    ) if atelier_wipe::ata_sanitize::operation(m).is_some() => {
                        Msg::AtaSanitizeNotAdvertised {
                            device: &s.device.name,
                            command: m.command(),
                            feature_set: a.sanitize.supported,
                        }
                    }
                    (_, _, policy::PolicyError::NotAdvertised { method, why })
                        if method.starts_with("nvme-sanitize") =>
                    {
                        Msg::NvmeSanitizeNotAdvertised {
                            device: &s.device.name,
                            method,
                            why,
                        }
                    }
                    _ => Msg::MethodRefused {
                        device: &s.device.name,
                        cause: crate::i18n::policy_error_text(lang, &e),
                    },
                };
                refuse(lang, args.json, &msg);
                return exit::REFUSED;
            }
        }
    }
    // Frozen SATA drives: with --unfreeze, a short suspend to RAM, then ask them again.
    let frozen = decisions
        .iter()
        .any(|(_, p)| unfreeze::needs_unfreeze(&p.capabilities));
    // Without --unfreeze, an operator at a terminal is asked (never a script or --json).
    let unfreeze_wanted = args.unfreeze
        || (frozen
            && store.is_some()
            && !args.json
            && !args.yes_i_understand_this_destroys_data
            && std::io::IsTerminal::is_terminal(&std::io::stdin())
            && ask_yes(lang, &Msg::UnfreezeQuestion));
    if unfreeze_wanted && store.is_some() && frozen {
        match unfreeze_drives(ctx, args.json) {
            Ok(()) => {
                for (s, (d, p)) in targets.iter().zip(decisions.iter_mut()) {
                    if !unfreeze::needs_unfreeze(&p.capabilities) {
                        continue;
                    }
                    let probe = firmware::probe(&ctx.root, &s.device);
                    if unfreeze::needs_unfreeze(&probe.capabilities) {
                        output::warning(
                            lang,
                            &Msg::UnfreezeStillFrozen {
                                device: &s.device.name,
                            },
                        );
                    }
                    if let Ok(new) = policy::decide(&probe.capabilities, requested) {
                        *d = new;
                        *p = probe;
                    }
                }
            }
            Err(cause) => output::warning(lang, &Msg::UnfreezeFailed { cause }),
        }
    }

    show_plan(
        ctx,
        args.json,
        &targets,
        &decisions,
        verification,
        args.restore_hidden_areas,
    );
    if args.overwrite_after && !args.json {
        for (s, (d, _)) in targets.iter().zip(&decisions) {
            let device = &s.device.name;
            if d.method.is_firmware() {
                output::say(lang, &Msg::PlanOverwriteAfter { device });
            } else {
                output::say(lang, &Msg::OverwriteAfterIgnored { device });
            }
        }
    }
    for (s, (d, _)) in targets.iter().zip(&decisions) {
        if let (false, Some(after)) = (args.json, FirmwareKind::of(d.method).cannot_stop()) {
            let (device, command) = (&s.device.name, d.method.command());
            output::warning(
                lang,
                &Msg::SanitizeCannotStop {
                    device,
                    command,
                    after,
                },
            );
        }
    }
    let Some(store) = store else {
        if !args.json {
            output::say(lang, &Msg::PlanOnly);
        }
        return exit::OK;
    };
    // Hidden areas: restored only with consent — the flag, or "yes" to the plan's question
    // at a terminal (never asked with --yes-… or --json).
    let hidden_found = decisions.iter().any(|(_, p)| p.hidden_sectors() > 0);
    let restore_hidden = args.restore_hidden_areas
        || (hidden_found
            && !args.json
            && !args.yes_i_understand_this_destroys_data
            && std::io::IsTerminal::is_terminal(&std::io::stdin())
            && ask_yes(lang, &Msg::AskRestoreHidden));
    let tokens: Vec<(String, String)> = targets
        .iter()
        .map(|s| {
            (
                s.device.name.clone(),
                s.device.confirmation_token().to_string(),
            )
        })
        .collect();
    if !args.yes_i_understand_this_destroys_data
        && !confirm(
            lang,
            &tokens,
            |device, token| Msg::ConfirmPrompt { device, token },
            |device| Msg::ConfirmMismatch { device },
        )
    {
        refused_event(args.json, &Msg::NotConfirmed.text(lang));
        return exit::REFUSED;
    }

    // Hidden areas restored (with consent) before anything is journaled: the kernel then
    // shows the new capacity, and the plan covers it.
    let hidden_checks: Vec<(atelier_record::HiddenAreaCheck, BlockDevice)> = targets
        .iter()
        .zip(&decisions)
        .map(|(s, (_, probe))| {
            restore_hidden_area(ctx, &s.device, probe, restore_hidden, args.json)
        })
        .collect();

    // Journal every job, with its keys, before the first write.
    let mut runs = Vec::new();
    let mut records: Vec<(Option<String>, AssetRecord)> = Vec::new();
    for ((s, (decision, _)), (hidden_check, device)) in
        targets.iter().zip(&decisions).zip(hidden_checks)
    {
        let params = match WipeParams::new(
            &device,
            decision.overwrite,
            verification,
            args.request_mib << 20,
        ) {
            Ok(mut p) => {
                p.choice = Some(atelier_record::MethodChoice {
                    chosen_by: decision.chosen_by.to_string(),
                    strongest: decision.strongest.method.name().to_string(),
                    strongest_category: decision.strongest.category,
                    reason: decision.reason.to_string(),
                    code: Some(decision.reason.code().to_string()),
                });
                p.hidden_area = Some(hidden_check);
                if decision.method.is_firmware() {
                    p.firmware = Some(FirmwareParams {
                        method: decision.method,
                    });
                }
                p
            }
            Err(e) => {
                output::error(
                    lang,
                    &Msg::PrepareFailed {
                        device: &s.device.name,
                        cause: Msg::NoRandomSource(e.to_string()).text(lang),
                    },
                );
                return exit::FAILED;
            }
        };
        let key = record_key(&s.device);
        let index = match records.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                let record = match &key {
                    None => open_machine_record(ctx, &store),
                    Some(_) => None,
                }
                .unwrap_or_else(|| AssetRecord::new(ctx.bench()));
                records.push((key, record));
                records.len() - 1
            }
        };
        let record = &mut records[index].1;
        record.upsert_sanitization(params.initial_entry(tool_info()));
        runs.push((
            record.id,
            JobRun {
                name: s.device.name.clone(),
                params,
                from: JobProgress::default(),
                full_verify: false,
                resumed: false,
                overwrite_after: args.overwrite_after,
            },
        ));
    }
    for (record_id, run) in &runs {
        let Some((_, record)) = records.iter().find(|(_, r)| r.id == *record_id) else {
            continue;
        };
        let job = Job {
            id: run.params.job_id,
            kind: JOB_KIND.into(),
            record_id: *record_id,
            target: run.params.device.name.clone(),
            state: JobState::Running,
            owner: ProcessOwner::current(),
            params: serde_json::to_value(&run.params).unwrap_or_default(),
            checkpoint: serde_json::to_value(&run.from).unwrap_or_default(),
            updated_at: Utc::now(),
        };
        if let Err(e) = store.start_job(&job, record) {
            output::store_error(lang, &store, &e);
            return exit::FAILED;
        }
    }
    let runs: Vec<JobRun> = runs.into_iter().map(|(_, run)| run).collect();
    run_jobs(ctx, &store, runs, args)
}

/// A job to run in this process.
struct JobRun {
    params: WipeParams,
    from: JobProgress,
    full_verify: bool,
    resumed: bool,
    /// `--overwrite-after`: one verified host pass after a firmware erase that passed.
    overwrite_after: bool,
    /// The device's kernel name now (a resumed disk may have been renamed since its plan).
    name: String,
}

/// The devices to wipe: the named ones (all must be eligible) or every eligible one.
fn select<'a>(ctx: &Context, args: &WipeArgs, surveys: &'a [Survey]) -> Option<Vec<&'a Survey>> {
    let lang = ctx.lang;
    if args.all_eligible {
        let mut chosen = Vec::new();
        for s in surveys {
            // Removable disks not taken are named too, with their reasons (the boot stick).
            let removable =
                !s.whole_bench && atelier_device::is_whole_bench_candidate(&s.device, true);
            let removable_left_out = removable && s.refusals.is_empty();
            if s.whole_bench && s.refusals.is_empty() {
                chosen.push(s);
            } else if (s.whole_bench || removable) && args.json {
                output::json_line(&json!({
                    "event": "skipped", "device": s.device.name,
                    "reasons": reasons_json(lang, s), "removable": removable,
                }));
            } else if s.whole_bench || removable {
                output::say(
                    lang,
                    &Msg::Skipped {
                        device: &s.device.name,
                    },
                );
                if removable_left_out {
                    eprintln!("    {}", Msg::RemovableLeftOut.text(lang));
                }
                for line in status_lines(lang, s).iter().filter(|_| !removable_left_out) {
                    eprintln!("    {line}");
                }
            }
        }
        return Some(chosen);
    }
    select_named(ctx, &args.devices, args.json, surveys)
}

/// The name a decision runs under (`overwrite-random`, `nvme-format`…).
fn decision_name(d: &Decision) -> &'static str {
    if d.method == PolicyMethod::Overwrite {
        d.overwrite.name()
    } else {
        d.method.name()
    }
}

fn show_plan(
    ctx: &Context,
    json: bool,
    targets: &[&Survey],
    decisions: &[(Decision, Probe)],
    verify: VerificationMode,
    restore_hidden: bool,
) {
    let lang = ctx.lang;
    let overwrites: Vec<Method> = decisions
        .iter()
        .filter(|(d, _)| d.method == PolicyMethod::Overwrite)
        .map(|(d, _)| d.overwrite)
        .collect();
    if json {
        let all_clear = decisions
            .iter()
            .all(|(d, _)| d.category == atelier_record::NistCategory::Clear);
        output::json_line(&json!({
            "event": "plan",
            "method": overwrites.first().map_or("firmware", |m| m.name()),
            "passes": overwrites.first().map(|m| m.passes()).unwrap_or_default(),
            "verification": verify,
            "category": if all_clear { "clear" } else { "mixed" },
            "devices": targets.iter().map(|s| s.device.identity()).collect::<Vec<_>>(),
            "methods": targets.iter().zip(decisions).map(|(s, (d, p))| json!({
                "device": s.device.name,
                "serial": s.device.serial,
                "method": decision_name(d),
                "category": d.category,
                "chosen_by": d.chosen_by,
                "reason": d.reason.to_string(),
                "reason_code": d.reason.code(),
                "strongest": d.strongest.method.name(),
                "capabilities": p.capabilities,
                "hidden_area": p.hidden_area.as_ref().map(|h| match h {
                    Ok(a) => json!({"native_sectors": a.native_sectors, "user_sectors": a.user_sectors, "hidden_sectors": a.hidden_sectors()}),
                    Err(e) => json!({"error": e}),
                }),
                "hidden_restore": hidden_plan_json(p, restore_hidden),
            })).collect::<Vec<_>>(),
        }));
        return;
    }
    output::say(
        lang,
        &Msg::PlanHeader {
            count: targets.len(),
        },
    );
    for (s, (d, probe)) in targets.iter().zip(decisions) {
        eprintln!("  {}", device_line(lang, &s.device));
        eprintln!(
            "    {}",
            Msg::PlanDeviceMethod {
                device: &s.device.name,
                method: decision_name(d),
                purge: d.category == atelier_record::NistCategory::Purge,
                reason: &Msg::PolicyReason(&d.reason).text(lang),
            }
            .text(lang)
        );
        match &probe.hidden_area {
            Some(Ok(a)) => eprintln!(
                "    {}",
                Msg::PlanHiddenArea {
                    device: &s.device.name,
                    hidden: a.hidden_sectors(),
                    native: a.native_sectors,
                }
                .text(lang)
            ),
            Some(Err(cause)) => eprintln!(
                "    {}",
                Msg::PlanHiddenAreaUnknown {
                    device: &s.device.name,
                    cause,
                }
                .text(lang)
            ),
            None => {}
        }
        if let Some(line) = hidden_plan_line(lang, &s.device.name, probe, restore_hidden) {
            eprintln!("    {line}");
        }
    }
    if let Some(method) = overwrites.first() {
        let passes: Vec<String> = method
            .passes()
            .into_iter()
            .map(|p| Msg::Pattern(p).text(lang))
            .collect();
        output::say(
            lang,
            &Msg::PlanMethod {
                method: method.name(),
                passes: passes.join(", "),
                verify,
            },
        );
        output::say(lang, &Msg::PlanClear);
    }
    if targets.iter().zip(decisions).any(|(s, (d, _))| {
        d.method == PolicyMethod::Overwrite
            && matches!(s.device.media(), MediaKind::Flash | MediaKind::Unknown)
    }) {
        output::say(lang, &Msg::FlashNote);
    }
    output::say(lang, &Msg::PlanWarning);
}

/// Asks the operator to type each device's serial (or name). Reads standard input, so it also
/// works when piped; no input at all is a refusal.
fn warn_interrupted(ctx: &Context, store: &Store) {
    let count = store
        .running_jobs(JOB_KIND)
        .map(|jobs| jobs.iter().filter(|j| j.is_interrupted()).count())
        .unwrap_or(0);
    if count > 0 {
        output::warning(ctx.lang, &Msg::InterruptedJobs { count });
    }
}

/// The pid of another live `atelier` process wiping this device, if there is one.
fn running_elsewhere(store: &Store, device: &DeviceIdentity) -> Option<u32> {
    let jobs = store.running_jobs(JOB_KIND).ok()?;
    jobs.into_iter()
        .filter(|j| j.owner.is_alive() && j.owner.pid != std::process::id())
        .find(|j| {
            serde_json::from_value::<WipeParams>(j.params.clone())
                .map(|p| same_device(&p.device, device))
                .unwrap_or(j.target == device.name)
        })
        .map(|j| j.owner.pid)
}

/// `atelier wipe --resume [DEVICES]`.
fn resume(ctx: &Context, args: &WipeArgs) -> u8 {
    let lang = ctx.lang;
    if !ctx.require_root("wipe --resume") {
        refused_event(
            args.json,
            &Msg::NeedsRoot {
                command: "wipe --resume",
            }
            .text(lang),
        );
        return exit::FAILED;
    }
    let Some(store) = ctx.open_store() else {
        return exit::FAILED;
    };
    let jobs = match store.running_jobs(JOB_KIND) {
        Ok(jobs) => jobs,
        Err(e) => {
            output::store_error(lang, &store, &e);
            return exit::FAILED;
        }
    };
    // Named devices are matched by identity: `sdb` may be `sdc` after a reboot.
    let mut wanted: Vec<BlockDevice> = Vec::new();
    if !args.devices.is_empty() {
        let Ok(devices) = atelier_device::discover(&ctx.root) else {
            output::error(
                lang,
                &Msg::NoSysfs {
                    cause: "/sys/class/block".into(),
                },
            );
            return exit::FAILED;
        };
        for path in &args.devices {
            let found = device_number(ctx, path)
                .ok()
                .and_then(|dev| devices.iter().find(|d| d.dev == dev).cloned());
            match found {
                Some(d) => wanted.push(d),
                None => {
                    let shown = path.display().to_string();
                    output::error(
                        lang,
                        &Msg::UnknownDevice {
                            path: &shown,
                            cause: Msg::NotInSysfs.text(lang),
                        },
                    );
                    return exit::REFUSED;
                }
            }
        }
    }
    // Where each planned disk is now (its name may have changed since the plan).
    let current = atelier_device::discover(&ctx.root).unwrap_or_default();
    let mut runs = Vec::new();
    for job in jobs.into_iter().filter(|j| j.is_interrupted()) {
        let (Ok(params), Ok(from)) = (
            serde_json::from_value::<WipeParams>(job.params.clone()),
            serde_json::from_value::<JobProgress>(job.checkpoint.clone()),
        ) else {
            output::warning(
                lang,
                &Msg::PrepareFailed {
                    device: &job.target,
                    cause: Msg::JournalUnreadable.text(lang),
                },
            );
            continue;
        };
        if !wanted.is_empty() && find_planned(&wanted, &params.device).is_none() {
            continue;
        }
        let name = find_planned(&current, &params.device)
            .map_or_else(|| params.device.name.clone(), |d| d.name.clone());
        runs.push(JobRun {
            params,
            from,
            full_verify: true,
            resumed: true,
            overwrite_after: args.overwrite_after,
            name,
        });
    }
    if runs.is_empty() {
        output::say(lang, &Msg::NothingToResume);
        if args.json {
            output::json_line(&json!({"event": "plan", "resume": true, "jobs": []}));
        }
        return exit::OK;
    }
    if args.json {
        output::json_line(&json!({
            "event": "plan",
            "resume": true,
            "jobs": runs.iter().map(|r| json!({
                "device": r.params.device,
                "method": r.params.method.name(),
                "pass_index": r.from.pass_index,
                "bytes_done": r.from.bytes_done,
            })).collect::<Vec<_>>(),
        }));
    }
    for run in &runs {
        let device = &run.name;
        let msg = if run.from.pass_index as usize >= run.params.passes.len() {
            Msg::ResumingVerify { device }
        } else {
            Msg::Resuming {
                device,
                pass: run.from.pass_index + 1,
                count: run.params.passes.len() as u32,
                done: run.from.bytes_done,
            }
        };
        output::say(lang, &msg);
    }
    if args.plan_only {
        if !args.json {
            output::say(lang, &Msg::PlanOnly);
        }
        return exit::OK;
    }
    let tokens: Vec<(String, String)> = runs
        .iter()
        .map(|r| {
            let token = r.params.device.serial.clone();
            (r.name.clone(), token.unwrap_or_else(|| r.name.clone()))
        })
        .collect();
    if !args.yes_i_understand_this_destroys_data
        && !confirm(
            lang,
            &tokens,
            |device, token| Msg::ConfirmPrompt { device, token },
            |device| Msg::ConfirmMismatch { device },
        )
    {
        return exit::REFUSED;
    }
    run_jobs(ctx, &store, runs, args)
}

/// What became of one job in this process.
enum RunResult {
    /// The job ran; the record as committed.
    Ran(AssetRecord),
    /// The device could not be opened: nothing was written. For a new job the record says so
    /// (FAILED, "nothing written"); a resumed job stays resumable.
    NotStarted {
        /// Why.
        cause: String,
        /// The record, when it was updated.
        record: Option<AssetRecord>,
    },
    /// The store could not record the result: nothing may be claimed.
    StoreFailed(String),
}

/// Runs the jobs, one thread per device, and prints the results once they are committed.
fn run_jobs(ctx: &Context, store: &Store, runs: Vec<JobRun>, args: &WipeArgs) -> u8 {
    let lang = ctx.lang;
    let cancel = Arc::new(AtomicBool::new(false));
    for signal in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        let _ = signal_hook::flag::register(signal, Arc::clone(&cancel));
    }
    let progress = Progress::new(args.json, lang);
    let pause = args.pause_before_verify.then(|| Mutex::new(()));
    let cfg = EngineConfig {
        checkpoint_interval: std::time::Duration::from_millis(args.checkpoint_interval_ms.max(10)),
        io_depth: args.io_depth.clamp(1, 16),
        buffers: args.io_depth.clamp(1, 16) + 2,
        ..EngineConfig::default()
    };

    // Closed when every worker has ended; the watcher then ends at once.
    let (finished_tx, finished_rx) = std::sync::mpsc::channel::<()>();
    let results: Vec<RunResult> = std::thread::scope(|scope| {
        let (cancel_flag, progress_ref) = (&cancel, &progress);
        scope.spawn(move || {
            // Tells the operator a stop was heard: the workers stop at their next request.
            let tick = std::time::Duration::from_millis(100);
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                finished_rx.recv_timeout(tick)
            {
                if cancel_flag.load(Ordering::Relaxed) {
                    progress_ref.println(&Msg::Stopping.text(lang));
                    break;
                }
            }
        });
        let handles: Vec<_> = runs
            .iter()
            .map(|run| {
                let bar = progress.device(&run.name);
                let cancel = &cancel;
                let pause = pause.as_ref();
                let cfg = &cfg;
                scope.spawn(move || {
                    let result = run_one(ctx, store, run, &bar, cfg, cancel, pause);
                    let label = match &result {
                        RunResult::Ran(record) => Msg::Outcome(
                            record
                                .sanitization_entry(run.params.job_id)
                                .map_or(Outcome::Failed, |e| e.outcome),
                        ),
                        RunResult::NotStarted { .. } => Msg::NothingWritten,
                        RunResult::StoreFailed(_) => Msg::Outcome(Outcome::Failed),
                    };
                    bar.finish(&label.text(lang));
                    result
                })
            })
            .collect();
        let results = handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| RunResult::StoreFailed("worker thread panicked".into()))
            })
            .collect();
        drop(finished_tx);
        results
    });

    report(ctx, store, &runs, &results, args.json)
}

fn report(ctx: &Context, store: &Store, runs: &[JobRun], results: &[RunResult], json: bool) -> u8 {
    let lang = ctx.lang;
    let mut records: Vec<Uuid> = Vec::new();
    let (mut passed, mut failed, mut interrupted, mut not_started) = (0, 0, 0, 0);
    for (run, result) in runs.iter().zip(results) {
        let device = &run.name;
        let record = match result {
            RunResult::Ran(r) => Some(r),
            RunResult::NotStarted { record, .. } => record.as_ref(),
            RunResult::StoreFailed(_) => None,
        };
        if let Some(r) = record
            && !records.contains(&r.id)
        {
            records.push(r.id);
        }
        let entry: Option<&SanitizationEntry> =
            record.and_then(|r| r.sanitization_entry(run.params.job_id));
        // A resumed job that could not start stays interrupted (its record is unchanged).
        let outcome = match result {
            RunResult::Ran(_) => entry.map_or(Outcome::Failed, |e| e.outcome),
            RunResult::NotStarted { record: None, .. } => Outcome::Interrupted,
            _ => entry.map_or(Outcome::Failed, |e| e.outcome),
        };
        match (result, outcome) {
            (RunResult::NotStarted { .. }, _) => not_started += 1,
            (_, Outcome::Passed) => passed += 1,
            (_, Outcome::Failed) => failed += 1,
            (_, Outcome::Interrupted) => interrupted += 1,
        }
        if json {
            output::json_line(&json!({
                "event": "result",
                "device": device,
                "outcome": outcome,
                "started": !matches!(result, RunResult::NotStarted { .. }),
                "record_id": record.map(|r| r.id),
                "entry": entry,
                "error": match result {
                    RunResult::NotStarted { cause, .. } | RunResult::StoreFailed(cause) => Some(cause),
                    RunResult::Ran(_) => None,
                },
            }));
            continue;
        }
        match result {
            RunResult::NotStarted { cause, .. } => {
                output::error(
                    lang,
                    &Msg::PrepareFailed {
                        device,
                        cause: cause.clone(),
                    },
                );
                continue;
            }
            RunResult::StoreFailed(cause) => {
                output::store_error(lang, store, cause);
                continue;
            }
            RunResult::Ran(_) => {}
        }
        out!("{}", Msg::ResultLine { device, outcome }.text(lang));
        if let Some(e) = entry {
            out!(
                "{}",
                Msg::ResultDetail {
                    written: e.bytes_written,
                    write_rate: e.write_throughput_bytes_per_second,
                    checked: e.verification.bytes_checked,
                    coverage: e.verification.coverage_percent,
                    seconds: e.duration_seconds,
                }
                .text(lang)
            );
            if let Some(lba) = e.verification.first_mismatch_lba {
                out!(
                    "{}",
                    Msg::ResultMismatch {
                        count: e.verification.mismatched_sectors,
                        lba
                    }
                    .text(lang)
                );
            }
            if e.outcome == Outcome::Failed
                && let Some(cause) = &e.outcome_detail
            {
                out!("{}", Msg::ResultCause { cause }.text(lang));
            }
        }
        match outcome {
            Outcome::Interrupted => out!("{}", Msg::ResumeHint.text(lang)),
            Outcome::Failed => out!("{}", Msg::FailedHint.text(lang)),
            Outcome::Passed => {}
        }
    }
    if json {
        output::json_line(&json!({
            "event": "summary",
            "passed": passed, "failed": failed, "interrupted": interrupted,
            "not_started": not_started,
            "record_ids": records,
            "store": store.path(),
        }));
    } else {
        for id in &records {
            out!(
                "{}",
                Msg::RecordSaved {
                    id: &id.to_string(),
                    path: store.path()
                }
                .text(lang)
            );
        }
    }
    if interrupted > 0 {
        exit::INTERRUPTED
    } else if failed > 0
        || results
            .iter()
            .any(|r| matches!(r, RunResult::StoreFailed(_)))
    {
        exit::FAILED
    } else if not_started > 0 {
        exit::REFUSED
    } else {
        exit::OK
    }
}

/// Unlocks and disables every journaled ATA password on the drives present; names the
/// journaled drives that are not. Returns (drives freed, failures).
fn recover_passwords(
    ctx: &Context,
    store: &Store,
    surveys: &[Survey],
    json: bool,
) -> (usize, usize) {
    let lang = ctx.lang;
    let entries = match store.ata_password_entries() {
        Ok(e) => e,
        Err(e) => {
            output::store_error(lang, store, &e);
            return (0, 1);
        }
    };
    if entries.is_empty() {
        return (0, 0);
    }
    let (mut freed, mut failed) = (0, 0);
    for s in surveys {
        if !matches!(
            MediaClass::of(&s.device),
            MediaClass::SataSsd | MediaClass::SataHdd
        ) {
            continue;
        }
        let Ok(mut sg) = SgDevice::open(&ctx.root.path(s.device.dev_path())) else {
            continue;
        };
        match ata_security::recover(&mut sg, store) {
            Ok(Recovery::NotJournaled) => {}
            Ok(r @ (Recovery::AlreadyFree | Recovery::Released { .. })) => {
                let was_locked = matches!(r, Recovery::Released { was_locked: true });
                freed += 1;
                if json {
                    output::json_line(
                        &json!({"event": "ata_password_removed", "device": s.device.name, "was_locked": was_locked}),
                    );
                } else {
                    output::say(
                        lang,
                        &Msg::AtaPasswordRecovered {
                            device: &s.device.name,
                            was_locked,
                        },
                    );
                }
            }
            Err(e) => {
                failed += 1;
                if json {
                    output::json_line(
                        &json!({"event": "ata_password_recovery_failed", "device": s.device.name, "cause": e.to_string()}),
                    );
                } else {
                    output::error(
                        lang,
                        &Msg::AtaPasswordRecoverFailed {
                            device: &s.device.name,
                            cause: e.to_string(),
                        },
                    );
                }
            }
        }
    }
    for e in store.ata_password_entries().unwrap_or_default() {
        let present = surveys
            .iter()
            .any(|s| s.device.serial.as_deref() == Some(e.serial.as_str()));
        if !present {
            failed += 1;
            if json {
                output::json_line(
                    &json!({"event": "ata_password_drive_absent", "serial": e.serial, "model": e.model}),
                );
            } else {
                output::warning(
                    lang,
                    &Msg::AtaPasswordDriveAbsent {
                        serial: &e.serial,
                        model: &e.model,
                    },
                );
            }
        }
    }
    (freed, failed)
}

/// `atelier wipe --recover`.
fn recover_command(ctx: &Context, args: &WipeArgs) -> u8 {
    let store = match open_store_for(ctx, args.json, "wipe --recover") {
        Ok(store) => store,
        Err(code) => return code,
    };
    let Some(surveys) = survey(ctx, true) else {
        return exit::FAILED;
    };
    let (freed, failed) = recover_passwords(ctx, &store, &surveys, args.json);
    if freed == 0 && failed == 0 && !args.json {
        output::say(ctx.lang, &Msg::AtaPasswordNothing);
    }
    if failed > 0 { exit::FAILED } else { exit::OK }
}

/// Asks a yes/no `question` on the terminal (to unfreeze the drives, to restore a hidden
/// area); anything but y / yes / o / oui is no.
fn ask_yes(lang: Lang, question: &Msg) -> bool {
    eprint!("{}", question.text(lang));
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(n) if n > 0 => matches!(
            line.trim().to_lowercase().as_str(),
            "y" | "yes" | "o" | "oui"
        ),
        _ => false,
    }
}

/// The plan's line about a hidden area and whether it will be restored; `None` when nothing
/// is hidden.
fn hidden_plan_line(lang: Lang, device: &str, probe: &Probe, restore: bool) -> Option<String> {
    let hidden = probe.hidden_sectors();
    if hidden == 0 {
        return None;
    }
    let dco = probe.dco_hidden_sectors();
    Some(
        Msg::PlanHiddenRestore {
            device,
            hpa: hidden.saturating_sub(dco),
            dco,
            amac: probe.hidden_features.is_some_and(|f| f.amac),
            restore,
        }
        .text(lang),
    )
}

/// The plan's JSON about a hidden area: sectors hidden, by what, and whether it will be
/// restored.
fn hidden_plan_json(probe: &Probe, restore: bool) -> serde_json::Value {
    json!({
        "hidden_sectors": probe.hidden_sectors(),
        "dco_hidden_sectors": probe.dco_hidden_sectors(),
        "dco_error": probe.dco.as_ref().and_then(|d| d.as_ref().err()),
        "amac": probe.hidden_features.is_some_and(|f| f.amac),
        "will_restore": restore && probe.hidden_sectors() > 0,
    })
}

/// Restores `device`'s hidden areas when `consent` (ATA drives whose probe found some), has
/// the kernel read the new capacity, and returns the record's check with the device as the
/// kernel now shows it. Without consent, or when nothing is hidden, nothing is sent.
fn restore_hidden_area(
    ctx: &Context,
    device: &BlockDevice,
    probe: &Probe,
    consent: bool,
    json: bool,
) -> (atelier_record::HiddenAreaCheck, BlockDevice) {
    let lang = ctx.lang;
    if probe.hidden_sectors() == 0 {
        return (firmware::hidden_area_check(probe), device.clone());
    }
    let node = ctx.root.path(device.dev_path());
    let attempt = if consent {
        match SgDevice::open(&node) {
            Ok(mut sg) => hidden_area::restore_before_wipe(&mut sg, probe, true),
            Err(e) => hidden_area::not_consented(probe).map(|mut a| {
                a.restore.outcome = atelier_record::HiddenAreaRestoreOutcome::Failed;
                a.restore.error = Some(format!("{}: {e}", node.display()));
                a
            }),
        }
    } else {
        hidden_area::not_consented(probe)
    };
    let Some(attempt) = attempt else {
        return (firmware::hidden_area_check(probe), device.clone());
    };
    let mut restore = attempt.restore;
    let mut now = device.clone();
    if !restore.commands.is_empty() {
        let sector = u64::from(device.logical_sector_size.max(512));
        let kernel = ata_hidden::kernel_rescan(&ctx.root, &device.name)
            .map(|units| units * 512 / sector)
            .map_err(|e| e.to_string());
        hidden_area::with_kernel_view(&mut restore, kernel);
        if let Ok(Some(d)) = atelier_device::find(&ctx.root, &device.name) {
            now = d;
        }
    }
    let sector = u64::from(device.logical_sector_size.max(1));
    if json {
        output::json_line(&json!({
            "event": "hidden_area_restore", "device": device.name, "restore": restore,
        }));
    } else if restore.outcome == atelier_record::HiddenAreaRestoreOutcome::Restored {
        output::say(
            lang,
            &Msg::HiddenRestored {
                device: &device.name,
                before: device.size_bytes / sector,
                after: now.size_bytes / sector,
            },
        );
    } else if let Some(cause) = &restore.error {
        output::warning(
            lang,
            &Msg::HiddenRestoreFailed {
                device: &device.name,
                cause,
            },
        );
    }
    let after = attempt.probe_after.unwrap_or_else(|| probe.clone());
    (hidden_area::record_check(&after, Some(restore)), now)
}

/// The suspend-to-RAM cycle that lifts the freeze lock (`rtcwake -m mem -s 5`).
fn unfreeze_drives(ctx: &Context, json: bool) -> Result<(), String> {
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    let wake =
        unfreeze::RtcWake::find(&path, unfreeze::SUSPEND_SECONDS).map_err(|e| e.to_string())?;
    if json {
        output::json_line(&json!({"event": "unfreeze", "command": wake.command_line()}));
    } else {
        output::say(
            ctx.lang,
            &Msg::UnfreezeRunning {
                command: wake.command_line(),
            },
        );
    }
    wake.run().map_err(|e| e.to_string())
}

/// Runs one device's job to its end and commits the result.
fn run_one(
    ctx: &Context,
    store: &Store,
    run: &JobRun,
    bar: &DeviceProgress,
    cfg: &EngineConfig,
    cancel: &AtomicBool,
    pause: Option<&Mutex<()>>,
) -> RunResult {
    let started = Instant::now();
    let id = run.params.job_id;
    let from_value = serde_json::to_value(&run.from).unwrap_or_default();
    let (device, direct) = match open_planned(&ctx.root, &run.params.device) {
        Ok(opened) => opened,
        Err(e) => return not_started(ctx.lang, store, run, &e),
    };
    if run.resumed {
        // This process owns the job from now on; the record notes the interruption.
        let claimed = store
            .claim_job(id, &ProcessOwner::current())
            .and_then(|()| {
                store.advance_job(id, JobState::Running, &from_value, |r| {
                    if let Some(e) = r.sanitization_entry_mut(id) {
                        if let Some(from) = e.checkpoint.clone() {
                            e.interruptions.push(Interruption {
                                resumed_at: Utc::now(),
                                from,
                            });
                        }
                        e.outcome = Outcome::Interrupted;
                        e.outcome_detail = Some("resumed; not finished".into());
                        // Same disk (identity checked), maybe under another name now.
                        e.device.name.clone_from(&device.name);
                        e.device.path = device.dev_path().display().to_string();
                    }
                })
            });
        if let Err(e) = claimed {
            return RunResult::StoreFailed(e.to_string());
        }
    }
    let observer = JobObserver {
        store,
        job_id: id,
        bar,
        lang: ctx.lang,
        pause,
        device: &run.name,
    };
    // Each job keeps the request size it was planned with (a resume included).
    let cfg = EngineConfig {
        request_size: run.params.request_size as usize,
        ..cfg.clone()
    };
    let (end, firmware_section) = if let Some(fw) = &run.params.firmware {
        let session = FirmwareSession {
            ctx,
            device: &device,
            direct: &direct,
            run,
            cfg: &cfg,
            observer: &observer,
            cancel,
            bar,
        };
        let (end, section) = match session.run(FirmwareKind::of(fw.method)) {
            Ok(ran) => ran,
            Err(e) => {
                return not_started(
                    ctx.lang,
                    store,
                    run,
                    &PrepareError::Gone {
                        name: format!("{}: {e}", device.name),
                    },
                );
            }
        };
        (end, Some(section))
    } else {
        let end = run_session(
            &direct,
            &run.params,
            run.from.clone(),
            run.full_verify,
            &cfg,
            &observer,
            cancel,
        );
        (end, None)
    };
    // --overwrite-after: one verified host pass after a firmware erase that passed.
    let (end, extra_pass) = if run.overwrite_after && firmware_section.is_some() {
        atelier_wipe::overwrite_after::run_overwrite_after(
            &direct,
            &run.params,
            run.full_verify,
            &cfg,
            &observer,
            cancel,
            end,
        )
    } else {
        (end, None)
    };
    let state = if end.outcome == Outcome::Interrupted {
        JobState::Running
    } else {
        JobState::Finished
    };
    let seconds = started.elapsed().as_secs_f64();
    let progress = serde_json::to_value(&end.progress).unwrap_or_default();
    match store.advance_job(id, state, &progress, |r| {
        if let Some(entry) = r.sanitization_entry_mut(id) {
            apply_session_end(entry, &end, seconds);
            if firmware_section.is_some() {
                entry.firmware.clone_from(&firmware_section);
            }
            if let Some(pass) = extra_pass {
                entry.method.passes.push(pass);
                entry.method.random_generator = Some(run.params.cipher.name().to_string());
            }
        }
    }) {
        Ok(record) => RunResult::Ran(record),
        Err(e) => RunResult::StoreFailed(e.to_string()),
    }
}

/// Which drive command set a firmware method goes through.
#[derive(Clone, Copy)]
enum FirmwareKind {
    /// ATA Security Erase (normal or enhanced), through SG_IO.
    AtaSecurity,
    /// ATA SANITIZE, through SG_IO, polled with SANITIZE STATUS EXT.
    AtaSanitize,
    /// eMMC secure discard, then mmc-utils' sanitize when installed.
    Emmc,
    /// SCSI SANITIZE, through SG_IO, polled until the drive says it is done.
    ScsiSanitize,
    /// NVMe Sanitize (`true`) or Format NVM (`false`), through the controller.
    Nvme { sanitize: bool },
}

impl FirmwareKind {
    /// The command set of a firmware `method` (a host overwrite maps to `Nvme` Format, and
    /// is never run through here).
    fn of(method: PolicyMethod) -> Self {
        if matches!(
            method,
            PolicyMethod::AtaSecurityErase | PolicyMethod::AtaSecurityEraseEnhanced
        ) {
            Self::AtaSecurity
        } else if atelier_wipe::ata_sanitize::operation(method).is_some() {
            Self::AtaSanitize
        } else if method == PolicyMethod::EmmcSecureErase {
            Self::Emmc
        } else if atelier_wipe::scsi_sanitize::action_of(method).is_some() {
            Self::ScsiSanitize
        } else {
            Self::Nvme {
                sanitize: atelier_wipe::nvme_sanitize::sanitize_action(method).is_some(),
            }
        }
    }

    /// A sanitize, which cannot be stopped once started (it resumes after a power cycle):
    /// what Ctrl-C does then. `None` for the other firmware erases.
    fn cannot_stop(self) -> Option<SanitizeStop> {
        match self {
            Self::AtaSanitize => Some(SanitizeStop::RunAgain),
            Self::Nvme { sanitize: true } => Some(SanitizeStop::Resume),
            Self::ScsiSanitize => Some(SanitizeStop::Waits),
            Self::AtaSecurity | Self::Emmc | Self::Nvme { sanitize: false } => None,
        }
    }
}

/// What a firmware erase needs from `run_one`: the opened disk, the job, its observer.
struct FirmwareSession<'a> {
    ctx: &'a Context,
    device: &'a BlockDevice,
    direct: &'a DirectDevice,
    run: &'a JobRun,
    cfg: &'a EngineConfig,
    observer: &'a JobObserver<'a>,
    cancel: &'a AtomicBool,
    bar: &'a DeviceProgress,
}

impl FirmwareSession<'_> {
    /// Opens the drive's command path and runs the erase; a firmware erase starts over
    /// on resume (the drive erases again, then verifies). `Err` is why the command path
    /// could not be opened: nothing was sent.
    fn run(&self, kind: FirmwareKind) -> Result<(SessionEnd, FirmwareErase), String> {
        let (direct, params, cfg, observer, cancel) = (
            self.direct,
            &self.run.params,
            self.cfg,
            self.observer,
            self.cancel,
        );
        let sg = || {
            SgDevice::open(&self.ctx.root.path(self.device.dev_path())).map_err(|e| e.to_string())
        };
        Ok(match kind {
            FirmwareKind::AtaSecurity => ata_security::run_security_erase_session(
                direct,
                &mut sg()?,
                observer.store,
                params,
                cfg,
                observer,
                cancel,
            ),
            FirmwareKind::AtaSanitize => atelier_wipe::ata_sanitize::run_ata_sanitize_session(
                direct,
                &mut sg()?,
                params,
                cfg,
                observer,
                cancel,
                &atelier_wipe::ata_sanitize::SanitizePolling::default(),
            ),
            FirmwareKind::Emmc => atelier_wipe::emmc_erase::run_emmc_secure_erase_session(
                direct,
                &mut atelier_wipe::emmc_erase::KernelEmmc::new(
                    self.ctx.root.path(self.device.dev_path()),
                ),
                params,
                cfg,
                observer,
                cancel,
            ),
            FirmwareKind::ScsiSanitize => atelier_wipe::scsi_sanitize::run_scsi_sanitize_session(
                direct,
                &mut sg()?,
                params,
                cfg,
                observer,
                cancel,
                &atelier_wipe::scsi_sanitize::PollTiming::default(),
            ),
            FirmwareKind::Nvme { sanitize } => {
                let mut ctrl = atelier_device::nvme::NvmeController::open_for_namespace(
                    &self.ctx.root,
                    &self.device.name,
                )
                .map_err(|e| e.to_string())?;
                let nsid = ctrl.path().nsid;
                if sanitize {
                    self.nvme_sanitize(&mut ctrl, nsid)
                } else {
                    firmware::run_format_session(
                        direct, &mut ctrl, nsid, params, cfg, observer, cancel,
                    )
                }
            }
        })
    }

    /// NVMe Sanitize: the command only starts it; the status log gives progress and ETA.
    fn nvme_sanitize(
        &self,
        ctrl: &mut atelier_device::nvme::NvmeController,
        nsid: u32,
    ) -> (SessionEnd, FirmwareErase) {
        let lang = self.ctx.lang;
        self.bar.println(&Msg::NvmeSanitizeRunning.text(lang));
        let mut told = false;
        atelier_wipe::nvme_sanitize::run_sanitize_session(
            self.direct,
            ctrl,
            nsid,
            &self.run.params,
            self.cfg,
            self.observer,
            self.cancel,
            &atelier_wipe::nvme_sanitize::SanitizePolling::default(),
            &mut |tick| {
                if let (false, Some(e)) = (told, tick.estimate) {
                    told = true;
                    let minutes = e.as_secs().div_ceil(60);
                    self.bar
                        .println(&Msg::NvmeSanitizeEstimate { minutes }.text(lang));
                }
            },
        )
    }
}

/// The device could not be opened. A new job ends FAILED with "nothing written" in its
/// record; a resumed job is left as it was, to be resumed once the device is free.
fn not_started(lang: Lang, store: &Store, run: &JobRun, error: &PrepareError) -> RunResult {
    let cause = prepare_cause(lang, error);
    if run.resumed {
        return RunResult::NotStarted {
            cause,
            record: None,
        };
    }
    let id = run.params.job_id;
    let detail = format!("nothing written: {error}");
    let from = serde_json::to_value(&run.from).unwrap_or_default();
    match store.advance_job(id, JobState::Finished, &from, |r| {
        if let Some(entry) = r.sanitization_entry_mut(id) {
            entry.outcome = Outcome::Failed;
            entry.outcome_detail = Some(detail);
            entry.ended_at = Some(Utc::now());
            entry.checkpoint = None;
        }
    }) {
        Ok(record) => RunResult::NotStarted {
            cause,
            record: Some(record),
        },
        Err(e) => RunResult::StoreFailed(e.to_string()),
    }
}

/// Why a device could not be opened, in the operator's words.
fn prepare_cause(lang: Lang, error: &PrepareError) -> String {
    use atelier_device::OpenError;
    match error {
        PrepareError::Gone { .. } | PrepareError::Open(OpenError::Gone { .. }) => {
            Msg::DeviceGone.text(lang)
        }
        PrepareError::Open(OpenError::Busy { .. }) => Msg::DeviceBusy.text(lang),
        PrepareError::Open(OpenError::ReadOnly { .. }) => {
            Msg::Refused(&atelier_device::Refusal::ReadOnly).text(lang)
        }
        PrepareError::IdentityChanged {
            field,
            planned,
            now,
            ..
        }
        | PrepareError::Open(OpenError::Changed {
            what: field,
            expected: planned,
            found: now,
            ..
        }) => Msg::IdentityChanged {
            field,
            planned,
            now,
        }
        .text(lang),
        other => other.to_string(),
    }
}

/// Connects a running session to the store, the progress bar and the test hook.
struct JobObserver<'a> {
    store: &'a Store,
    job_id: Uuid,
    bar: &'a DeviceProgress,
    lang: Lang,
    pause: Option<&'a Mutex<()>>,
    device: &'a str,
}

impl WipeObserver for JobObserver<'_> {
    fn phase(&self, phase: Phase, bytes_total: u64) {
        let (label, json_phase) = match phase {
            Phase::Write {
                index,
                count,
                pattern,
            } => (
                Msg::PhaseWrite {
                    pass: index + 1,
                    count,
                    pattern,
                }
                .text(self.lang),
                json!({"phase": "write", "pass_index": index, "passes": count, "pattern": pattern}),
            ),
            Phase::Firmware { method } => (
                Msg::PhaseFirmware {
                    method: method.name(),
                }
                .text(self.lang),
                json!({"phase": "firmware", "method": method.name()}),
            ),
            Phase::Verify { mode } => (
                Msg::PhaseVerify(mode).text(self.lang),
                json!({"phase": "verify", "mode": mode}),
            ),
        };
        self.bar.phase(&label, json_phase, bytes_total);
    }

    fn progress(&self, bytes_done: u64, bytes_total: u64) {
        self.bar.position(bytes_done, bytes_total);
    }

    fn checkpoint(&self, progress: &JobProgress) -> Result<(), String> {
        let value = serde_json::to_value(progress).map_err(|e| e.to_string())?;
        self.store
            .advance_job(self.job_id, JobState::Running, &value, |r| {
                if let Some(entry) = r.sanitization_entry_mut(self.job_id) {
                    apply_checkpoint(entry, progress);
                }
            })
            .map(|_| {
                self.bar
                    .checkpoint(progress.pass_index, progress.bytes_done)
            })
            .map_err(|e| format!("the journal could not be written: {e}"))
    }

    fn before_verify(&self) {
        let Some(lock) = self.pause else { return };
        let _turn = lock.lock().unwrap_or_else(|p| p.into_inner());
        output::json_line(&json!({"event": "paused_before_verify", "device": self.device}));
        let mut line = String::new();
        let _ = std::io::stdin().lock().read_line(&mut line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sanitize_method_warns_that_it_cannot_be_stopped() {
        for m in PolicyMethod::ALL {
            let sanitize = m.name().contains("sanitize");
            let warns = FirmwareKind::of(m).cannot_stop().is_some();
            assert_eq!(warns, sanitize, "{}", m.name());
        }
        let after = |m| FirmwareKind::of(m).cannot_stop();
        assert_eq!(
            after(PolicyMethod::AtaSanitizeCrypto),
            Some(SanitizeStop::RunAgain)
        );
        assert_eq!(
            after(PolicyMethod::NvmeSanitizeBlock),
            Some(SanitizeStop::Resume)
        );
        assert_eq!(
            after(PolicyMethod::ScsiSanitizeOverwrite),
            Some(SanitizeStop::Waits)
        );
    }
}
