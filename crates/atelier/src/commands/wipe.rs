//! `atelier wipe`: plan, confirm, overwrite and verify each device in parallel, record.

use std::io::BufRead;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use atelier_device::DevNum;
use atelier_record::{
    AssetRecord, Interruption, MediaKind, Outcome, SanitizationEntry, VerificationMode,
};
use atelier_store::{Job, JobState, ProcessOwner, Store};
use atelier_wipe::{
    EngineConfig, JobProgress, Method, Phase, WipeObserver, WipeParams, apply_checkpoint,
    apply_session_end, open_planned, run_session,
};
use chrono::Utc;
use serde_json::json;
use uuid::Uuid;

use crate::cli::{VerifyArg, WipeArgs};
use crate::commands::devices::{Survey, device_line, status_lines, survey};
use crate::context::{Context, tool_info};
use crate::exit;
use crate::i18n::{Lang, Msg};
use crate::output::{self, DeviceProgress, Progress};

/// Journal kind of wipe jobs.
const JOB_KIND: &str = "wipe";

/// Runs `atelier wipe`.
pub fn run(ctx: &Context, args: &WipeArgs) -> u8 {
    if args.resume {
        return resume(ctx, args);
    }
    let lang = ctx.lang;
    let method = match (&args.method, &args.pattern) {
        (Some(name), _) | (None, Some(name)) => match Method::from_name(name) {
            Some(m) => m,
            None => {
                let names: Vec<_> = Method::ALL.iter().map(|m| m.name()).collect();
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
        (None, None) => Method::OverwriteRandom,
    };
    if !(1..=64).contains(&args.request_mib) {
        output::error(lang, &Msg::RequestSizeRange);
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
        output::error(lang, &Msg::NoTargets);
        return exit::REFUSED;
    }

    show_plan(ctx, args.json, &targets, method, verification);
    if args.plan_only {
        if !args.json {
            output::say(lang, &Msg::PlanOnly);
        }
        return exit::OK;
    }
    if !ctx.root.is_live() {
        output::error(lang, &Msg::RootNotLive);
        return exit::REFUSED;
    }
    if !ctx.require_root("wipe") {
        return exit::FAILED;
    }
    let tokens: Vec<(String, String)> = targets
        .iter()
        .map(|s| {
            (
                s.device.name.clone(),
                s.device.confirmation_token().to_string(),
            )
        })
        .collect();
    if !args.yes_i_understand_this_destroys_data && !confirm(lang, &tokens) {
        return exit::REFUSED;
    }
    let Some(store) = ctx.open_store() else {
        return exit::FAILED;
    };
    warn_interrupted(ctx, &store);

    // Journal every job, with its keys, before the first write.
    let mut record = AssetRecord::new(ctx.bench());
    let mut runs = Vec::new();
    for s in &targets {
        let params = match WipeParams::new(&s.device, method, verification, args.request_mib << 20)
        {
            Ok(p) => p,
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
        record.upsert_sanitization(params.initial_entry(tool_info()));
        runs.push(JobRun {
            params,
            from: JobProgress::default(),
            full_verify: false,
        });
    }
    for run in &runs {
        let job = Job {
            id: run.params.job_id,
            kind: JOB_KIND.into(),
            record_id: record.id,
            target: run.params.device.name.clone(),
            state: JobState::Running,
            owner: ProcessOwner::current(),
            params: serde_json::to_value(&run.params).unwrap_or_default(),
            checkpoint: serde_json::to_value(&run.from).unwrap_or_default(),
            updated_at: Utc::now(),
        };
        if let Err(e) = store.start_job(&job, &record) {
            output::error(
                lang,
                &Msg::StoreUnavailable {
                    dir: store.path(),
                    cause: e.to_string(),
                },
            );
            return exit::FAILED;
        }
    }
    run_jobs(ctx, &store, runs, args)
}

/// A job to run in this process.
struct JobRun {
    params: WipeParams,
    from: JobProgress,
    full_verify: bool,
}

/// The devices to wipe: the named ones (all must be eligible) or every eligible one.
fn select<'a>(ctx: &Context, args: &WipeArgs, surveys: &'a [Survey]) -> Option<Vec<&'a Survey>> {
    let lang = ctx.lang;
    if args.all_eligible {
        let mut chosen = Vec::new();
        for s in surveys.iter().filter(|s| s.whole_bench) {
            if s.refusals.is_empty() {
                chosen.push(s);
            } else if !args.json {
                output::say(
                    lang,
                    &Msg::Skipped {
                        device: &s.device.name,
                    },
                );
                for line in status_lines(lang, s) {
                    eprintln!("    {line}");
                }
            }
        }
        return Some(chosen);
    }
    let mut chosen: Vec<&Survey> = Vec::new();
    let mut refused = false;
    for path in &args.devices {
        let shown = path.display().to_string();
        let Some(s) = resolve(ctx, path, surveys) else {
            refused = true;
            continue;
        };
        if !s.refusals.is_empty() {
            output::error(lang, &Msg::TargetRefused { device: &shown });
            for line in status_lines(lang, s) {
                eprintln!("    {line}");
            }
            refused = true;
        } else if !chosen.iter().any(|c| c.device.name == s.device.name) {
            chosen.push(s);
        }
    }
    (!refused).then_some(chosen)
}

/// The surveyed whole device a path names; prints why when it names none.
fn resolve<'a>(ctx: &Context, path: &Path, surveys: &'a [Survey]) -> Option<&'a Survey> {
    let lang = ctx.lang;
    let shown = path.display().to_string();
    let unknown = |cause: String| {
        output::error(
            lang,
            &Msg::UnknownDevice {
                path: &shown,
                cause,
            },
        );
        None
    };
    let dev = if ctx.root.is_live() {
        match std::fs::metadata(path) {
            Ok(m) if m.file_type().is_block_device() => DevNum::from_raw(m.rdev()),
            Ok(_) => {
                return unknown(Msg::NotABlockDevice.text(lang));
            }
            Err(e) => return unknown(e.to_string()),
        }
    } else {
        // A captured tree has no device nodes: match the name.
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match surveys.iter().find(|s| s.device.name == name) {
            Some(s) => s.device.dev,
            None => match surveys
                .iter()
                .find(|s| s.device.partitions.iter().any(|p| p.name == name))
            {
                Some(s) => s
                    .device
                    .partitions
                    .iter()
                    .find(|p| p.name == name)
                    .map(|p| p.dev)?,
                None => {
                    return unknown(Msg::NotInSysfs.text(lang));
                }
            },
        }
    };
    if let Some(s) = surveys.iter().find(|s| s.device.dev == dev) {
        return Some(s);
    }
    if let Some(s) = surveys
        .iter()
        .find(|s| s.device.partitions.iter().any(|p| p.dev == dev))
    {
        output::error(
            lang,
            &Msg::IsPartition {
                path: &shown,
                disk: &s.device.name,
            },
        );
        return None;
    }
    unknown(Msg::UnknownDeviceNumber(dev.to_string()).text(lang))
}

fn show_plan(
    ctx: &Context,
    json: bool,
    targets: &[&Survey],
    method: Method,
    verify: VerificationMode,
) {
    let lang = ctx.lang;
    if json {
        output::json_line(&json!({
            "event": "plan",
            "method": method.name(),
            "passes": method.passes(),
            "verification": verify,
            "category": "clear",
            "devices": targets.iter().map(|s| s.device.identity()).collect::<Vec<_>>(),
        }));
        return;
    }
    output::say(
        lang,
        &Msg::PlanHeader {
            count: targets.len(),
        },
    );
    for s in targets {
        eprintln!("  {}", device_line(lang, &s.device));
    }
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
    if targets
        .iter()
        .any(|s| matches!(s.device.media(), MediaKind::Flash | MediaKind::Unknown))
    {
        output::say(lang, &Msg::FlashNote);
    }
    output::say(lang, &Msg::PlanWarning);
}

/// Asks the operator to type each device's serial (or name). Reads standard input, so it also
/// works when piped; no input at all is a refusal.
fn confirm(lang: Lang, tokens: &[(String, String)]) -> bool {
    let stdin = std::io::stdin();
    for (device, token) in tokens {
        eprint!("{}", Msg::ConfirmPrompt { device, token }.text(lang));
        let mut line = String::new();
        match stdin.lock().read_line(&mut line) {
            Ok(0) | Err(_) => {
                eprintln!();
                output::error(lang, &Msg::NoTerminal);
                return false;
            }
            Ok(_) if line.trim() == token => {}
            Ok(_) => {
                output::error(lang, &Msg::ConfirmMismatch { device });
                return false;
            }
        }
    }
    true
}

fn warn_interrupted(ctx: &Context, store: &Store) {
    let count = store
        .running_jobs(JOB_KIND)
        .map(|jobs| jobs.iter().filter(|j| j.is_interrupted()).count())
        .unwrap_or(0);
    if count > 0 {
        output::warning(ctx.lang, &Msg::InterruptedJobs { count });
    }
}

/// `atelier wipe --resume [DEVICES]`.
fn resume(ctx: &Context, args: &WipeArgs) -> u8 {
    let lang = ctx.lang;
    if !ctx.require_root("wipe --resume") {
        return exit::FAILED;
    }
    let Some(store) = ctx.open_store() else {
        return exit::FAILED;
    };
    let jobs = match store.running_jobs(JOB_KIND) {
        Ok(jobs) => jobs,
        Err(e) => {
            output::error(
                lang,
                &Msg::StoreUnavailable {
                    dir: store.path(),
                    cause: e.to_string(),
                },
            );
            return exit::FAILED;
        }
    };
    let wanted: Vec<String> = args
        .devices
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    let mut runs = Vec::new();
    for job in jobs.into_iter().filter(|j| j.is_interrupted()) {
        if !wanted.is_empty() && !wanted.contains(&job.target) {
            continue;
        }
        let (Ok(params), Ok(from)) = (
            serde_json::from_value::<WipeParams>(job.params.clone()),
            serde_json::from_value::<JobProgress>(job.checkpoint.clone()),
        ) else {
            output::warning(
                lang,
                &Msg::PrepareFailed {
                    device: &job.target,
                    cause: "journal entry unreadable".into(),
                },
            );
            continue;
        };
        runs.push(JobRun {
            params,
            from,
            full_verify: true,
        });
    }
    if runs.is_empty() {
        output::say(lang, &Msg::NothingToResume);
        return exit::OK;
    }
    for run in &runs {
        output::say(
            lang,
            &Msg::Resuming {
                device: &run.params.device.name,
                pass: run.from.pass_index + 1,
                done: run.from.bytes_done,
            },
        );
    }
    let tokens: Vec<(String, String)> = runs
        .iter()
        .map(|r| {
            let d = &r.params.device;
            (
                d.name.clone(),
                d.serial.clone().unwrap_or_else(|| d.name.clone()),
            )
        })
        .collect();
    if !args.yes_i_understand_this_destroys_data && !confirm(lang, &tokens) {
        return exit::REFUSED;
    }
    for run in &runs {
        let checkpoint = serde_json::to_value(&run.from).unwrap_or_default();
        let id = run.params.job_id;
        let claimed = store
            .claim_job(id, &ProcessOwner::current())
            .and_then(|()| {
                store.advance_job(id, JobState::Running, &checkpoint, |r| {
                    if let Some(e) = r.sanitization_entry_mut(id) {
                        if let Some(from) = e.checkpoint.clone() {
                            e.interruptions.push(Interruption {
                                resumed_at: Utc::now(),
                                from,
                            });
                        }
                        e.outcome = Outcome::Interrupted;
                        e.outcome_detail = Some("resumed; not finished".into());
                    }
                })
            });
        if let Err(e) = claimed {
            output::error(
                lang,
                &Msg::StoreUnavailable {
                    dir: store.path(),
                    cause: e.to_string(),
                },
            );
            return exit::FAILED;
        }
    }
    run_jobs(ctx, &store, runs, args)
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
    let progress = Progress::new(args.json);
    let pause = args.pause_before_verify.then(|| Mutex::new(()));
    let cfg = EngineConfig {
        checkpoint_interval: std::time::Duration::from_millis(args.checkpoint_interval_ms.max(10)),
        ..EngineConfig::default()
    };

    let finished = AtomicBool::new(false);
    let results: Vec<(String, Result<AssetRecord, String>)> = std::thread::scope(|scope| {
        let (cancel_flag, finished_flag, progress_ref) = (&cancel, &finished, &progress);
        scope.spawn(move || {
            // Tells the operator a stop was heard: the workers stop at their next request.
            while !finished_flag.load(Ordering::Relaxed) {
                if cancel_flag.load(Ordering::Relaxed) {
                    progress_ref.println(&Msg::Stopping.text(lang));
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        });
        let handles: Vec<_> = runs
            .iter()
            .map(|run| {
                let bar = progress.device(&run.params.device.name);
                let cancel = &cancel;
                let pause = pause.as_ref();
                let cfg = &cfg;
                scope.spawn(move || {
                    let result = run_one(ctx, store, run, &bar, cfg, cancel, pause);
                    let label = match &result {
                        Ok(record) => record
                            .sanitization_entry(run.params.job_id)
                            .map(|e| Msg::Outcome(e.outcome).text(lang))
                            .unwrap_or_default(),
                        Err(_) => Msg::Outcome(Outcome::Failed).text(lang),
                    };
                    bar.finish(&label);
                    (run.params.device.name.clone(), result)
                })
            })
            .collect();
        let results = handles
            .into_iter()
            .zip(&runs)
            .map(|(h, run)| {
                h.join().unwrap_or_else(|_| {
                    (
                        run.params.device.name.clone(),
                        Err("worker thread panicked".into()),
                    )
                })
            })
            .collect();
        finished.store(true, Ordering::Relaxed);
        results
    });

    report(ctx, store, &runs, &results, args.json)
}

fn report(
    ctx: &Context,
    store: &Store,
    runs: &[JobRun],
    results: &[(String, Result<AssetRecord, String>)],
    json: bool,
) -> u8 {
    let lang = ctx.lang;
    let mut worst = exit::OK;
    let mut records: Vec<Uuid> = Vec::new();
    let (mut passed, mut failed, mut interrupted) = (0, 0, 0);
    for (run, (device, result)) in runs.iter().zip(results) {
        let entry: Option<&SanitizationEntry> = result
            .as_ref()
            .ok()
            .and_then(|r| r.sanitization_entry(run.params.job_id));
        let outcome = entry.map_or(Outcome::Failed, |e| e.outcome);
        match outcome {
            Outcome::Passed => passed += 1,
            Outcome::Failed => {
                failed += 1;
                if worst != exit::INTERRUPTED {
                    worst = exit::FAILED;
                }
            }
            Outcome::Interrupted => {
                interrupted += 1;
                worst = exit::INTERRUPTED;
            }
        }
        if let Ok(record) = result
            && !records.contains(&record.id)
        {
            records.push(record.id);
        }
        if json {
            output::json_line(&json!({
                "event": "result",
                "device": device,
                "outcome": outcome,
                "record_id": result.as_ref().ok().map(|r| r.id),
                "entry": entry,
                "error": result.as_ref().err(),
            }));
            continue;
        }
        println!("{}", Msg::ResultLine { device, outcome }.text(lang));
        match (entry, result) {
            (Some(e), _) => {
                println!(
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
                    println!(
                        "{}",
                        Msg::ResultMismatch {
                            count: e.verification.mismatched_sectors,
                            lba
                        }
                        .text(lang)
                    );
                }
                if e.outcome != Outcome::Passed
                    && let Some(cause) = &e.outcome_detail
                {
                    println!("{}", Msg::ResultCause { cause }.text(lang));
                }
            }
            (None, Err(cause)) => println!("{}", Msg::ResultCause { cause }.text(lang)),
            (None, Ok(_)) => {}
        }
        match outcome {
            Outcome::Interrupted => println!("{}", Msg::ResumeHint.text(lang)),
            Outcome::Failed => println!("{}", Msg::FailedHint.text(lang)),
            Outcome::Passed => {}
        }
    }
    if json {
        output::json_line(&json!({
            "event": "summary",
            "passed": passed, "failed": failed, "interrupted": interrupted,
            "record_ids": records,
            "store": store.path(),
        }));
    } else {
        for id in &records {
            println!(
                "{}",
                Msg::RecordSaved {
                    id: &id.to_string(),
                    path: store.path()
                }
                .text(lang)
            );
        }
    }
    worst
}

/// Runs one device's job to its end and commits the result. `Err` only when the store could
/// not record the result (then nothing may be claimed).
fn run_one(
    ctx: &Context,
    store: &Store,
    run: &JobRun,
    bar: &DeviceProgress,
    cfg: &EngineConfig,
    cancel: &AtomicBool,
    pause: Option<&Mutex<()>>,
) -> Result<AssetRecord, String> {
    let started = Instant::now();
    let id = run.params.job_id;
    let end = match open_planned(&ctx.root, &run.params.device) {
        Err(e) => {
            // Nothing was written: say so in the record, and end the job.
            let detail = format!("nothing written: {e}");
            return store
                .advance_job(
                    id,
                    JobState::Finished,
                    &serde_json::to_value(&run.from).unwrap_or_default(),
                    |r| {
                        if let Some(entry) = r.sanitization_entry_mut(id) {
                            entry.outcome = Outcome::Failed;
                            entry.outcome_detail = Some(detail);
                            entry.ended_at = Some(Utc::now());
                        }
                    },
                )
                .map_err(|e| e.to_string());
        }
        Ok((_device, direct)) => {
            let observer = JobObserver {
                store,
                job_id: id,
                bar,
                lang: ctx.lang,
                pause,
                device: &run.params.device.name,
            };
            // Each job keeps the request size it was planned with (a resume included).
            let cfg = EngineConfig {
                request_size: run.params.request_size as usize,
                ..cfg.clone()
            };
            run_session(
                &direct,
                &run.params,
                run.from.clone(),
                run.full_verify,
                &cfg,
                &observer,
                cancel,
            )
        }
    };
    let state = if end.outcome == Outcome::Interrupted {
        JobState::Running
    } else {
        JobState::Finished
    };
    let seconds = started.elapsed().as_secs_f64();
    store
        .advance_job(
            id,
            state,
            &serde_json::to_value(&end.progress).unwrap_or_default(),
            |r| {
                if let Some(entry) = r.sanitization_entry_mut(id) {
                    apply_session_end(entry, &end, seconds);
                }
            },
        )
        .map_err(|e| e.to_string())
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
