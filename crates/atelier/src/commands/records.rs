//! `atelier records list | show ID | export ID --json`.

use atelier_record::{AssetRecord, Outcome, SanitizationEntry};
use atelier_store::{Store, StoreError};
use serde_json::json;

use crate::cli::RecordsCommand;
use crate::context::Context;
use crate::exit;
use crate::i18n::{Label, Lang, Msg, bytes, decimal, rate};
use crate::output;

/// Runs `atelier records …`.
pub fn run(ctx: &Context, cmd: &RecordsCommand) -> u8 {
    if let RecordsCommand::Export { json: false, .. } = cmd {
        output::error(ctx.lang, &Msg::ExportNeedsFormat);
        return exit::USAGE;
    }
    // Reading never creates a store: an empty or wrong data directory says so.
    if !ctx.store_exists() {
        let store_path = ctx.data_dir().join(atelier_store::DATABASE_FILE);
        match cmd {
            RecordsCommand::List { json: true } => {
                output::json_line(&json!({ "records": [], "store": store_path }));
            }
            RecordsCommand::List { json: false } => output::say(ctx.lang, &Msg::NoRecords),
            RecordsCommand::Show { .. } | RecordsCommand::Export { .. } => {
                output::error(ctx.lang, &Msg::NoRecords);
                return exit::FAILED;
            }
        }
        return exit::OK;
    }
    let Some(store) = ctx.open_store() else {
        return exit::FAILED;
    };
    match cmd {
        RecordsCommand::List { json } => list(ctx, &store, *json),
        RecordsCommand::Show { id } => match find(ctx, &store, id) {
            Some(record) => {
                show(ctx.lang, &store, &record);
                exit::OK
            }
            None => exit::FAILED,
        },
        RecordsCommand::Export { id, json } => {
            if !json {
                output::error(ctx.lang, &Msg::ExportNeedsFormat);
                return exit::USAGE;
            }
            match find(ctx, &store, id) {
                Some(record) => {
                    out!(
                        "{}",
                        serde_json::to_string_pretty(&record).unwrap_or_default()
                    );
                    exit::OK
                }
                None => exit::FAILED,
            }
        }
    }
}

/// The record named by `id`: an identifier, its first characters, or `last`.
pub fn find(ctx: &Context, store: &Store, id: &str) -> Option<AssetRecord> {
    let found = if id == "last" {
        store.records().and_then(|all| {
            all.into_iter()
                .last()
                .ok_or_else(|| StoreError::NoSuchRecord(id.into()))
        })
    } else {
        store.find_record(id)
    };
    match found {
        Ok(r) => Some(r),
        Err(StoreError::NoSuchRecord(_)) => {
            output::error(ctx.lang, &Msg::RecordNotFound { id });
            None
        }
        Err(StoreError::AmbiguousRecord(_)) => {
            output::error(ctx.lang, &Msg::RecordAmbiguous { id });
            None
        }
        Err(e) => {
            output::store_error(ctx.lang, store, &e);
            None
        }
    }
}

/// The outcome as shown: an `INTERRUPTED` entry whose job still runs is "in progress".
fn status(lang: Lang, store: &Store, entry: &SanitizationEntry) -> String {
    if entry.outcome == Outcome::Interrupted
        && store.job(entry.id).is_ok_and(|j| j.owner.is_alive())
    {
        return Msg::InProgress.text(lang);
    }
    Msg::Outcome(entry.outcome).text(lang)
}

fn list(ctx: &Context, store: &Store, json: bool) -> u8 {
    let records = match store.records() {
        Ok(r) => r,
        Err(e) => {
            output::store_error(ctx.lang, store, &e);
            return exit::FAILED;
        }
    };
    if json {
        let list: Vec<_> = records
            .iter()
            .map(|r| {
                json!({
                    "id": r.id,
                    "created_at": r.created_at,
                    "updated_at": r.updated_at,
                    "sanitization": r.sanitization.iter().map(|e| json!({
                        "device": e.device.name,
                        "serial": e.device.serial,
                        "outcome": e.outcome,
                        "in_progress": e.outcome == Outcome::Interrupted
                            && store.job(e.id).is_ok_and(|j| j.owner.is_alive()),
                    })).collect::<Vec<_>>(),
                    "deployment": r.deployment.as_ref().map(|d| json!({
                        "device": d.target.name,
                        "serial": d.target.serial,
                        "image": d.image.name,
                        "outcome": d.outcome,
                    })),
                    "certified": r.certificate.is_some(),
                })
            })
            .collect();
        output::json_line(&json!({ "records": list, "store": store.path() }));
        return exit::OK;
    }
    if records.is_empty() {
        output::say(ctx.lang, &Msg::NoRecords);
        return exit::OK;
    }
    out!("{}", Msg::RecordsHeader.text(ctx.lang));
    for r in &records {
        out!(
            "{}  {}  {}",
            r.id,
            r.created_at.format("%Y-%m-%d %H:%M:%S"),
            contents(ctx.lang, store, r)
        );
    }
    exit::OK
}

/// One line saying what a record holds: the machine, each wipe, the deployment, the
/// certificate.
fn contents(lang: Lang, store: &Store, r: &AssetRecord) -> String {
    let label = |l: Label| Msg::Label(l).text(lang);
    let mut parts = Vec::new();
    if let Some(hw) = &r.hardware {
        let id = &hw.identity;
        let machine: Vec<&str> = [
            id.product_version.get().or(id.product_name.get()),
            id.serial.get().or(id.devicetree_serial.get()),
        ]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
        parts.push(format!(
            "{} {}",
            label(Label::Inventory),
            if machine.is_empty() {
                "?".to_owned()
            } else {
                machine.join(" ")
            }
        ));
    }
    parts.extend(
        r.sanitization
            .iter()
            .map(|e| format!("{} {}", e.device.name, status(lang, store, e))),
    );
    if let Some(d) = &r.deployment {
        parts.push(format!(
            "{} {} → {} {}",
            label(Label::Deployment),
            d.image.name,
            d.target.name,
            Msg::Outcome(d.outcome).text(lang)
        ));
    }
    if r.certificate.is_some() {
        parts.push(format!("{} ✓", label(Label::Certificate)));
    }
    parts.join(" · ")
}

fn show(lang: Lang, store: &Store, record: &AssetRecord) {
    let label = |l: Label| Msg::Label(l).text(lang);
    out!("{} {}", label(Label::Record), record.id);
    out!(
        "  {} {}  ({} {} {})",
        label(Label::Created),
        record.created_at.to_rfc3339(),
        label(Label::Bench),
        record.bench.hostname,
        record.bench.tool.version
    );
    for e in &record.sanitization {
        let d = &e.device;
        out!();
        out!(
            "  {} {} — {}",
            label(Label::WipeOf),
            d.path,
            status(lang, store, e)
        );
        out!(
            "    {}: {} / {} / {}",
            label(Label::ModelSerialWwn),
            d.model.as_deref().unwrap_or("-"),
            d.serial.as_deref().unwrap_or("-"),
            d.wwn.as_deref().unwrap_or("-")
        );
        out!(
            "    {}: {} ({} {}), {}: {} / {}",
            label(Label::Size),
            bytes(lang, d.size_bytes),
            d.size_bytes,
            label(Label::Bytes),
            label(Label::Sectors),
            d.logical_sector_size,
            d.physical_sector_size
        );
        let passes: Vec<String> = e
            .method
            .passes
            .iter()
            .map(|p| Msg::Pattern(*p).text(lang))
            .collect();
        out!(
            "    NIST SP 800-88: {:?} — {} ({})",
            e.category,
            e.method.name,
            passes.join(", ")
        );
        out!(
            "    {}: {} — {}, {} %, {} {}",
            label(Label::Verification),
            Msg::VerifyMode(e.verification.mode).text(lang),
            Msg::VerifyResult(e.verification.result).text(lang),
            decimal(lang, e.verification.coverage_percent),
            e.verification.mismatched_sectors,
            label(Label::SectorsDiffer)
        );
        if let Some(lba) = e.verification.first_mismatch_lba {
            out!("    {}: {lba}", label(Label::FirstDifferingLba));
        }
        out!(
            "    {}: {} → {}  ({} s, {} {})",
            label(Label::StartEnd),
            e.started_at.to_rfc3339(),
            e.ended_at
                .map(|t| t.to_rfc3339())
                .unwrap_or_else(|| "-".into()),
            decimal(lang, e.duration_seconds),
            label(Label::Write),
            e.write_throughput_bytes_per_second
                .map(|r| rate(lang, r))
                .unwrap_or_else(|| "-".into())
        );
        if let Some(cp) = &e.checkpoint {
            out!(
                "    {}: {} {}, {}",
                label(Label::Checkpoint),
                label(Label::Pass),
                cp.pass_index + 1,
                bytes(lang, cp.bytes_done)
            );
        }
        for i in &e.interruptions {
            out!(
                "    {}: {} ({} {}, {})",
                label(Label::Resumed),
                i.resumed_at.to_rfc3339(),
                label(Label::Pass),
                i.from.pass_index + 1,
                bytes(lang, i.from.bytes_done)
            );
        }
        for err in &e.errors {
            out!(
                "    {}: {:?} LBA {} +{} — {}",
                label(Label::Error),
                err.operation,
                err.first_lba,
                err.sector_count,
                err.message
            );
        }
        if let Some(detail) = &e.outcome_detail {
            out!("    {}: {detail}", label(Label::Detail));
        }
    }
    if let Some(hw) = &record.hardware {
        out!();
        let name = [
            &hw.identity.system_vendor,
            &hw.identity.product_name,
            &hw.identity.product_version,
        ]
        .iter()
        .filter_map(|v| v.value.clone())
        .collect::<Vec<_>>()
        .join(" ");
        out!(
            "  {} {} — {}",
            label(Label::Inventory),
            if name.is_empty() { "?".into() } else { name },
            Msg::Grade(hw.grades.overall).text(lang)
        );
        for v in &hw.grades.verdicts {
            out!("    {}", lang.pick(&v.text_fr, &v.text_en));
        }
    }
    if let Some(d) = &record.deployment {
        out!();
        out!(
            "  {} {} → {} — {}",
            label(Label::Deployment),
            d.image.name,
            d.target.path,
            Msg::Outcome(d.outcome).text(lang)
        );
        if d.image.image_sha256.is_empty() {
            // Not computed: the block map's range hashes verified the image instead.
            out!(
                "    SHA-256: - ({})",
                d.image.verified_by.as_deref().unwrap_or("-")
            );
        } else {
            out!("    SHA-256: {}", d.image.image_sha256);
        }
        out!(
            "    {}: {}, {}: {} ({})",
            label(Label::Write),
            bytes(lang, d.bytes_written),
            label(Label::Skipped),
            bytes(lang, d.bytes_skipped),
            d.skipped_as.as_deref().unwrap_or("-")
        );
        out!(
            "    {}: {} — {}",
            label(Label::Verification),
            d.verification.mode,
            bytes(lang, d.verification.bytes_checked)
        );
        if let Some(detail) = &d.outcome_detail {
            out!("    {}: {detail}", label(Label::Detail));
        }
    }
    if let Some(c) = &record.certificate {
        out!();
        out!(
            "  {} {} — {} ({})",
            label(Label::Certificate),
            c.certificate_id,
            crate::commands::certify::verdict_text(lang, c.title_verdict),
            c.issued_at.to_rfc3339()
        );
        if let Some(seal) = &c.seal {
            out!("    SHA-256: {}  ({})", seal.sha256, seal.key_fingerprint);
        }
    }
}
