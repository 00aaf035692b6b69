//! `atelier report --from DATE --to DATE [--input DIR…] [--format table|csv|json|pdf] [--out FILE]`:
//! the numbers an organisation gives its funders, from the local store and from the export
//! directories of other benches (see `atelier_certify::report` for what is counted and how).

use std::path::{Path, PathBuf};

use atelier_certify::Fonts;
use atelier_certify::pdf::report::{ReportDocument, ReportRow, render_report_pdf};
use atelier_certify::report::{Report, build_report, report_csv, verdict_key};
use atelier_record::{AssetRecord, TitleVerdict};
use chrono::NaiveDate;
use clap::{Args, ValueEnum};
use serde_json::Value;

use crate::context::Context;
use crate::exit;
use crate::i18n::{Lang, Msg, ReportLabel};
use crate::output;

/// `atelier report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// First day of the period, included (YYYY-MM-DD; default: no lower bound).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub from: Option<NaiveDate>,

    /// Last day of the period, included (YYYY-MM-DD; default: no upper bound).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub to: Option<NaiveDate>,

    /// Also read the records exported by other benches under DIR (signed certificates *.json,
    /// records *.json, JSON Lines *.jsonl); may be repeated.
    #[arg(long = "input", value_name = "DIR")]
    pub inputs: Vec<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,

    /// Write the report to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// How the report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// A table for people, in the operator's language.
    Table,
    /// CSV for a spreadsheet: section,key,category,value.
    Csv,
    /// JSON.
    Json,
    /// A one-page A4 PDF (needs --out).
    Pdf,
}

fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| format!("{s:?}: {e} (YYYY-MM-DD)"))
}

/// Runs `atelier report`.
pub fn run(ctx: &Context, args: &ReportArgs) -> u8 {
    if let (Some(from), Some(to)) = (args.from, args.to)
        && from > to
    {
        output::error(
            ctx.lang,
            &Msg::ReportPeriodReversed {
                from: from.to_string(),
                to: to.to_string(),
            },
        );
        return exit::USAGE;
    }
    if args.format == ReportFormat::Pdf && args.out.is_none() {
        output::error(ctx.lang, &Msg::ReportPdfNeedsOut);
        return exit::USAGE;
    }
    let mut records = Vec::new();
    if ctx.store_exists() {
        let Some(store) = ctx.open_store() else {
            return exit::FAILED;
        };
        match store.records() {
            Ok(r) => records.extend(r),
            Err(e) => {
                output::error(
                    ctx.lang,
                    &Msg::StoreUnavailable {
                        dir: &ctx.data_dir(),
                        cause: e.to_string(),
                    },
                );
                return exit::FAILED;
            }
        }
    }
    for dir in &args.inputs {
        if !dir.is_dir() {
            output::error(
                ctx.lang,
                &Msg::ReportInputMissing {
                    path: dir,
                    cause: std::io::Error::from(std::io::ErrorKind::NotFound).to_string(),
                },
            );
            return exit::FAILED;
        }
        let mut skipped = Vec::new();
        read_export_dir(dir, 0, &mut records, &mut skipped);
        for (path, cause) in skipped {
            output::warning(ctx.lang, &Msg::ReportSourceSkipped { path: &path, cause });
        }
    }
    let report = build_report(records, args.from, args.to);
    let text = match args.format {
        ReportFormat::Csv => report_csv(&report).into_bytes(),
        ReportFormat::Json => {
            (serde_json::to_string_pretty(&report).unwrap_or_default() + "\n").into_bytes()
        }
        ReportFormat::Table => table(ctx.lang, &report).into_bytes(),
        ReportFormat::Pdf => match pdf(ctx, &report) {
            Ok(bytes) => bytes,
            Err(cause) => {
                output::error(ctx.lang, &Msg::ReportPdfFailed { cause });
                return exit::FAILED;
            }
        },
    };
    match &args.out {
        Some(path) => {
            if let Err(e) = std::fs::write(path, text) {
                output::error(
                    ctx.lang,
                    &Msg::ReportWriteFailed {
                        path,
                        cause: e.to_string(),
                    },
                );
                return exit::FAILED;
            }
        }
        None => {
            use std::io::Write as _;
            let _ = std::io::stdout().write_all(&text);
        }
    }
    exit::OK
}

/// How deep export directories are searched (`DIR/bench/date/…`).
const MAX_DEPTH: usize = 4;

/// Reads every record under `dir`: `*.json` (a record, or a signed certificate) and `*.jsonl`
/// (one per line). What cannot be read is listed in `skipped`, never fatal.
fn read_export_dir(
    dir: &Path,
    depth: usize,
    records: &mut Vec<AssetRecord>,
    skipped: &mut Vec<(PathBuf, String)>,
) {
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(e) => e.filter_map(Result::ok).map(|e| e.path()).collect(),
        Err(e) => {
            skipped.push((dir.to_path_buf(), e.to_string()));
            return;
        }
    };
    entries.sort();
    for path in entries {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if path.is_dir() {
            if depth < MAX_DEPTH {
                read_export_dir(&path, depth + 1, records, skipped);
            }
        } else if ext == "json" || ext == "jsonl" {
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) => {
                    skipped.push((path, e.to_string()));
                    continue;
                }
            };
            let docs: Vec<&str> = if ext == "jsonl" {
                text.lines().filter(|l| !l.trim().is_empty()).collect()
            } else {
                vec![text.as_str()]
            };
            for (i, doc) in docs.iter().enumerate() {
                match record_from_document(doc) {
                    Ok(Some(r)) => records.push(r),
                    Ok(None) => {} // another kind of JSON file (a GLPI inventory, a manifest)
                    Err(cause) => {
                        let cause = if ext == "jsonl" {
                            format!("line {}: {cause}", i + 1)
                        } else {
                            cause
                        };
                        skipped.push((path.clone(), cause));
                    }
                }
            }
        }
    }
}

/// A record from one JSON document: an asset record, or a signed certificate (whose signed
/// view lacks `updated_at`: the issue date stands for it). `Ok(None)` for JSON that is neither.
fn record_from_document(doc: &str) -> Result<Option<AssetRecord>, String> {
    let value: Value = serde_json::from_str(doc).map_err(|e| e.to_string())?;
    let mut record = if let Some(text) = value.get("record_json").and_then(Value::as_str) {
        let mut inner: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if let Some(obj) = inner.as_object_mut()
            && !obj.contains_key("updated_at")
        {
            let issued = obj
                .get("certificate")
                .and_then(|c| c.get("issued_at"))
                .or_else(|| obj.get("created_at"))
                .cloned()
                .unwrap_or(Value::Null);
            obj.insert("updated_at".into(), issued);
        }
        inner
    } else if value.get("record_version").is_some() {
        value
    } else {
        return Ok(None);
    };
    if let Some(obj) = record.as_object_mut() {
        obj.entry("deliveries").or_insert(Value::Array(Vec::new()));
    }
    serde_json::from_value(record)
        .map(Some)
        .map_err(|e| e.to_string())
}

/// The report's lines, in the operator's language: the same for the table and the PDF.
fn rows(lang: Lang, r: &Report) -> Vec<ReportRow> {
    let l = |label: ReportLabel| label.text(lang).to_owned();
    let row = |indent: u8, label: String, value: String, bold: bool| ReportRow {
        indent,
        label,
        value,
        bold,
    };
    let blank = || row(0, String::new(), String::new(), false);
    let mut out = vec![row(
        0,
        l(ReportLabel::MachinesCertified),
        r.machines_certified.to_string(),
        true,
    )];
    for verdict in [
        TitleVerdict::Refurbished,
        TitleVerdict::Erased,
        TitleVerdict::ErasedWithExceptions,
        TitleVerdict::ErasureFailed,
        TitleVerdict::NoErasure,
    ] {
        if let Some(n) = r.machines_by_verdict.get(verdict_key(verdict)) {
            out.push(row(
                1,
                crate::commands::certify::verdict_text(lang, verdict).to_owned(),
                n.to_string(),
                false,
            ));
        }
    }
    out.push(row(
        1,
        l(ReportLabel::WithSystem),
        r.machines_with_system.to_string(),
        false,
    ));
    out.push(row(
        0,
        l(ReportLabel::InProgress),
        r.machines_in_progress.to_string(),
        false,
    ));
    out.push(row(
        0,
        l(ReportLabel::RaspberryPi),
        r.raspberry_pi_flashed.to_string(),
        true,
    ));
    out.push(row(
        0,
        l(ReportLabel::OtherMedia),
        r.other_media_flashed.to_string(),
        false,
    ));
    out.push(blank());
    out.push(row(
        0,
        l(ReportLabel::DisksErased),
        r.disks_erased().to_string(),
        true,
    ));
    for e in &r.erasures {
        let failed = if e.failed + e.interrupted > 0 {
            format!(
                " ({} {}, {} {})",
                e.failed,
                l(ReportLabel::Failed),
                e.interrupted,
                l(ReportLabel::Interrupted)
            )
        } else {
            String::new()
        };
        out.push(row(
            1,
            format!("{} ({}){failed}", e.method, e.category),
            e.passed.to_string(),
            false,
        ));
    }
    if !r.partners.is_empty() {
        out.push(blank());
        out.push(row(
            0,
            l(ReportLabel::Partner),
            format!(
                "{:>7} {:>7} {:>7}",
                l(ReportLabel::ColumnMachines),
                l(ReportLabel::ColumnPi),
                l(ReportLabel::ColumnDisks)
            ),
            true,
        ));
        for p in &r.partners {
            out.push(row(
                1,
                p.partner.clone(),
                format!(
                    "{:>7} {:>7} {:>7}",
                    p.machines_certified, p.raspberry_pi_flashed, p.disks_erased
                ),
                false,
            ));
        }
    }
    out.push(blank());
    out.push(row(
        0,
        format!(
            "{} {}{}",
            r.records_read,
            l(ReportLabel::RecordsRead),
            if r.duplicates_skipped > 0 {
                format!(
                    ", {} {}",
                    r.duplicates_skipped,
                    l(ReportLabel::DuplicatesSkipped)
                )
            } else {
                String::new()
            }
        ),
        String::new(),
        false,
    ));
    out
}

fn period(r: &Report) -> String {
    let day = |d: Option<NaiveDate>| d.map_or_else(|| "…".to_owned(), |d| d.to_string());
    format!("{} → {}", day(r.from), day(r.to))
}

fn table(lang: Lang, r: &Report) -> String {
    let mut out = format!("{} {}\n\n", ReportLabel::Period.text(lang), period(r));
    for row in rows(lang, r) {
        let label = format!("{}{}", "  ".repeat(usize::from(row.indent)), row.label);
        if row.value.is_empty() {
            out.push_str(label.trim_end());
        } else {
            let width = 46usize.saturating_sub(label.chars().count()).max(1);
            out.push_str(&format!("{label}{:>width$}", row.value));
        }
        out.push('\n');
    }
    out
}

fn pdf(ctx: &Context, r: &Report) -> Result<Vec<u8>, String> {
    let organisation = ctx
        .config()
        .ok_or_else(|| ctx.lang.pick("configuration", "configuration").to_owned())?
        .organisation;
    let fonts = Fonts::system().map_err(|e| e.to_string())?;
    let doc = ReportDocument {
        title: ReportLabel::Title.text(ctx.lang).to_owned(),
        subtitle: format!("{} {}", ReportLabel::Period.text(ctx.lang), period(r)),
        organisation: &organisation,
        rows: rows(ctx.lang, r),
        footer: format!(
            "atelier {} — {}",
            env!("CARGO_PKG_VERSION"),
            chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
        ),
        language: ctx.lang.pick("fr", "en").to_owned(),
    };
    render_report_pdf(&doc, &fonts).map_err(|e| e.to_string())
}
