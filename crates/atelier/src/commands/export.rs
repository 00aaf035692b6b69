//! `atelier export --to DIR [--from DATE] [--to-date DATE] [RECORD…]`: copy certified records
//! to a folder (a USB stick) for an organisation without network, or for another bench's
//! report (`atelier report --input DIR`).
//!
//! The files and their layout are `atelier_push::directory`'s (the outbox sink of kind
//! `directory` writes the same): signed certificate JSON and PDF, one line per certificate in
//! `certificates.jsonl`, and the GLPI inventory under `glpi/` for GLPI Agent's
//! `glpi-injector -d DIR/glpi`. Running it again writes nothing new. A PDF missing on the bench
//! is made again from the signed certificate first (`commands::print`).

use std::path::PathBuf;

use atelier_push::directory;
use atelier_record::AssetRecord;
use atelier_store::Store;
use chrono::NaiveDate;

use crate::context::Context;
use crate::exit;
use crate::i18n::Msg;
use crate::output;

/// `atelier export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The folder to write to (a mounted USB stick); it must exist.
    #[arg(long = "to", value_name = "DIR")]
    pub to: PathBuf,

    /// Only certificates issued on or after this day (YYYY-MM-DD).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub from: Option<NaiveDate>,

    /// Only certificates issued on or before this day (YYYY-MM-DD).
    #[arg(long = "to-date", value_name = "DATE", value_parser = parse_date)]
    pub to_date: Option<NaiveDate>,

    /// Only these records (identifier, its first characters, or `last`); default: every
    /// certified record.
    #[arg(value_name = "RECORD")]
    pub records: Vec<String>,
}

fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| format!("{s}: {e} (YYYY-MM-DD)"))
}

/// The records to export: the named ones (each must be certified), or every certified one,
/// within the dates, oldest certificate first.
fn selection(ctx: &Context, store: &Store, args: &ExportArgs) -> Option<Vec<AssetRecord>> {
    let mut chosen = Vec::new();
    if args.records.is_empty() {
        match store.records() {
            Ok(all) => chosen.extend(all.into_iter().filter(|r| r.certificate.is_some())),
            Err(e) => {
                output::store_error(ctx.lang, store, &e);
                return None;
            }
        }
    } else {
        for id in &args.records {
            let record = crate::commands::records::find(ctx, store, id)?;
            if record.certificate.is_none() {
                output::error(ctx.lang, &Msg::ExportNotCertified(record.id.to_string()));
                return None;
            }
            chosen.push(record);
        }
    }
    chosen.retain(|r| {
        let day = r
            .certificate
            .as_ref()
            .map(|c| c.issued_at.date_naive())
            .unwrap_or_default();
        args.from.is_none_or(|f| day >= f) && args.to_date.is_none_or(|t| day <= t)
    });
    chosen.sort_by_key(|r| r.certificate.as_ref().map(|c| c.issued_at));
    chosen.dedup_by_key(|r| r.id);
    Some(chosen)
}

/// Runs `atelier export`.
pub fn run(ctx: &Context, args: &ExportArgs) -> u8 {
    let lang = ctx.lang;
    let Some(store) = ctx.open_store() else {
        return exit::FAILED;
    };
    let Some(records) = selection(ctx, &store, args) else {
        return exit::FAILED;
    };
    if records.is_empty() {
        output::say(lang, &Msg::ExportNothing);
        return exit::OK;
    }
    // Check the target before making any missing PDF.
    if let Err(e) = directory::check_target(&args.to, false) {
        output::error(lang, &Msg::ExportFailed(&e));
        return exit::FAILED;
    }
    let certificates = ctx.data_dir().join("certificates");
    let mut bundles = Vec::new();
    for record in &records {
        let (signed, mut bundle) = match crate::commands::push::bundle(record, &certificates) {
            Ok(b) => b,
            Err(cause) => {
                output::warning(
                    lang,
                    &Msg::PushNotQueued {
                        sink: "export",
                        record: &record.id.to_string(),
                        cause,
                    },
                );
                continue;
            }
        };
        if let Some(pdf) = &bundle.pdf
            && !pdf.exists()
        {
            let _ = std::fs::create_dir_all(&certificates);
            if !crate::commands::print::write_certificate_pdf(ctx, &signed, pdf) {
                bundle.pdf = None;
            }
        }
        bundles.push(bundle);
    }
    match directory::export(&args.to, &bundles, false) {
        Ok(summary) => {
            for id in &summary.missing_pdfs {
                output::warning(lang, &Msg::ExportPdfMissing(id.to_string()));
            }
            output::say(
                lang,
                &Msg::ExportDone {
                    dir: &args.to,
                    certificates: bundles.len(),
                    written: summary.written.len(),
                    unchanged: summary.unchanged,
                    lines: summary.lines_added,
                },
            );
            if bundles.len() == records.len() {
                exit::OK
            } else {
                exit::FAILED
            }
        }
        Err(e) => {
            output::error(lang, &Msg::ExportFailed(&e));
            exit::FAILED
        }
    }
}
