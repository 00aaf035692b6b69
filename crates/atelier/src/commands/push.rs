//! `atelier push`: send certified records to the central inventories of `[push]` in
//! `atelier.toml`, through the store's outbox (`atelier-push`, `atelier-store::outbox`).
//!
//! - `atelier push` sends every pending entry now, then keeps retrying what failed for up
//!   to `wait_seconds` (or `--wait`); one line per attempt. What still fails stays queued.
//! - `atelier push RECORD` first queues that certified record for every sink.
//! - `atelier push --status [--json]`: what is queued, delivered or failed, and why.
//! - `atelier push --retry-failed`: after the operator fixed a token or the configuration.
//! - `atelier certify` queues the new certificate and tries once ([`after_certify`]).
//!
//! The payloads are built here: the GLPI inventory by `atelier-inventory`, the Snipe-IT asset
//! by `atelier-push`, the signed record (as `atelier verify` reads it) from the certificate,
//! and for `directory` sinks (a USB stick) the bundle `atelier export` writes ([`bundle`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use atelier_certify::SignedRecord;
use atelier_inventory::glpi::{GlpiOptions, glpi_inventory};
use atelier_push::directory::Bundle;
use atelier_push::{EntryResult, FlushOptions, Outcome, PushConfig, SinkKind};
use atelier_record::AssetRecord;
use atelier_store::{PushState, Store};
use serde_json::json;

use crate::context::Context;
use crate::exit;
use crate::i18n::{Lang, Msg};
use crate::output;

/// `atelier push`.
#[derive(Debug, clap::Args)]
pub struct PushArgs {
    /// Queue this certified record (identifier, its first characters, or `last`) for every
    /// sink before sending.
    #[arg(value_name = "RECORD")]
    pub record: Option<String>,

    /// Show what is queued, delivered or blocked, and why; send nothing.
    #[arg(long)]
    pub status: bool,

    /// With --status: print JSON.
    #[arg(long, requires = "status")]
    pub json: bool,

    /// Put the entries that need the operator back in the queue (after fixing the cause).
    #[arg(long)]
    pub retry_failed: bool,

    /// Keep retrying for up to SECONDS (default: wait_seconds of [push]).
    #[arg(long, value_name = "SECONDS")]
    pub wait: Option<u64>,
}

/// The signed-record document of a certified record (what `atelier certify` wrote).
fn signed_record(record: &AssetRecord) -> Result<SignedRecord, String> {
    let seal = record
        .certificate
        .as_ref()
        .and_then(|c| c.seal.clone())
        .ok_or("the record has no certificate (atelier certify)")?;
    let value = serde_json::to_value(record).map_err(|e| e.to_string())?;
    let record_json = atelier_certify::sign::signed_text(&value).map_err(|e| e.to_string())?;
    Ok(SignedRecord {
        format: atelier_certify::SIGNED_RECORD_FORMAT.to_string(),
        record_json,
        seal,
    })
}

/// The GLPI native inventory of `record`, with GLPI tag `tag`.
fn glpi_payload(record: &AssetRecord, tag: Option<String>) -> Result<serde_json::Value, String> {
    let hw = record
        .hardware
        .as_ref()
        .ok_or("the record has no inventory (atelier inventory)")?;
    Ok(glpi_inventory(
        hw,
        &GlpiOptions {
            version_client: format!("atelier {}", env!("CARGO_PKG_VERSION")),
            hostname: None,
            tag,
        },
    ))
}

/// What `atelier export` and `directory` sinks write for `record`: its signed certificate,
/// its GLPI inventory (when it has an inventory) and the path of its PDF under
/// `certificates` (the bench's `DATA/certificates`, where `atelier certify` writes it).
pub fn bundle(record: &AssetRecord, certificates: &Path) -> Result<(SignedRecord, Bundle), String> {
    let signed = signed_record(record)?;
    let certificate_id = record
        .certificate
        .as_ref()
        .map(|c| c.certificate_id)
        .ok_or("the record has no certificate (atelier certify)")?;
    let bundle = Bundle {
        certificate_id,
        signed_pretty: signed.to_json_pretty(),
        signed_line: signed.to_json_line(),
        glpi_inventory: glpi_payload(record, None).ok(),
        pdf: Some(certificates.join(format!("{certificate_id}.pdf"))),
    };
    Ok((signed, bundle))
}

/// The payload of `record` for a sink of `kind`.
fn payload(
    record: &AssetRecord,
    sink: &atelier_push::SinkConfig,
    certificates: &Path,
) -> Result<String, String> {
    match sink.kind {
        SinkKind::Glpi => glpi_payload(record, sink.tag.clone()).map(|v| v.to_string()),
        SinkKind::Snipeit => atelier_push::snipeit::asset_payload(record, sink)
            .and_then(|a| serde_json::to_string(&a).map_err(|e| e.to_string())),
        SinkKind::Http => signed_record(record).map(|s| s.to_json_line()),
        SinkKind::Directory => bundle(record, certificates)
            .and_then(|(_, b)| serde_json::to_string(&b).map_err(|e| e.to_string())),
    }
}

/// Queues `record` for every sink; prints one line per sink. Returns false when nothing could
/// be queued because of the store.
fn enqueue(
    lang: Lang,
    store: &Store,
    config: &PushConfig,
    record: &AssetRecord,
    certificates: &Path,
) -> bool {
    let id = record.id.to_string();
    for sink in &config.sinks {
        match payload(record, sink, certificates) {
            Ok(p) => match atelier_push::enqueue(store, record.id, sink, p) {
                Ok(_) => output::say(
                    lang,
                    &Msg::PushQueued {
                        sink: &sink.name,
                        record: &id,
                    },
                ),
                Err(e) => {
                    output::store_error(lang, store, &e);
                    return false;
                }
            },
            Err(cause) => output::warning(
                lang,
                &Msg::PushNotQueued {
                    sink: &sink.name,
                    record: &id,
                    cause,
                },
            ),
        }
    }
    true
}

/// Where `atelier certify` writes certificates (JSON and PDF).
fn certificates_dir(ctx: &Context) -> PathBuf {
    ctx.data_dir().join("certificates")
}

fn push_config(ctx: &Context) -> Option<PushConfig> {
    let config = ctx.config()?.push;
    if let Err(e) = config.check() {
        output::error(ctx.lang, &Msg::PushConfigInvalid(e));
        return None;
    }
    Some(config)
}

fn print_result(lang: Lang, r: &EntryResult) {
    let record = r.record_id.to_string();
    let record = &record[..8.min(record.len())];
    match &r.outcome {
        Outcome::Delivered { answer, .. } => out!(
            "{}",
            Msg::PushDelivered {
                sink: &r.sink,
                record,
                answer
            }
            .text(lang)
        ),
        Outcome::Retry { reason, .. } => out!(
            "{}",
            Msg::PushWillRetry {
                sink: &r.sink,
                record,
                cause: reason
            }
            .text(lang)
        ),
        Outcome::Refused { reason } => out!(
            "{}",
            Msg::PushFailed {
                sink: &r.sink,
                record,
                cause: reason
            }
            .text(lang)
        ),
    }
}

fn flush(lang: Lang, store: &Store, config: &PushConfig, wait: Duration) -> u8 {
    let options = FlushOptions {
        all_now: true,
        wait,
    };
    match atelier_push::flush(store, config, &options, |r| print_result(lang, r)) {
        Ok(_) => summary(lang, store),
        Err(e) => {
            output::store_error(lang, store, &e);
            exit::FAILED
        }
    }
}

/// Prints the counts; exit 0 only when nothing is left to send.
fn summary(lang: Lang, store: &Store) -> u8 {
    let entries = match store.outbox() {
        Ok(e) => e,
        Err(e) => {
            output::store_error(lang, store, &e);
            return exit::FAILED;
        }
    };
    let count = |s: PushState| entries.iter().filter(|e| e.state == s).count();
    let (delivered, failed) = (count(PushState::Delivered), count(PushState::Failed));
    let waiting = count(PushState::Pending) + count(PushState::Sending);
    output::say(
        lang,
        &Msg::PushSummary {
            delivered,
            waiting,
            failed,
        },
    );
    if waiting + failed == 0 {
        exit::OK
    } else {
        exit::FAILED
    }
}

/// Runs `atelier push`.
pub fn run(ctx: &Context, args: &PushArgs) -> u8 {
    let lang = ctx.lang;
    let Some(store) = ctx.open_store() else {
        return exit::FAILED;
    };
    if args.status {
        return status(lang, &store, args.json);
    }
    let Some(config) = push_config(ctx) else {
        return exit::FAILED;
    };
    if config.sinks.is_empty() {
        output::error(lang, &Msg::PushNoSinks);
        return exit::FAILED;
    }
    if args.retry_failed {
        match store.retry_failed_pushes() {
            Ok(n) => output::say(lang, &Msg::PushRetryFailed(n)),
            Err(e) => {
                output::store_error(lang, &store, &e);
                return exit::FAILED;
            }
        }
    }
    if let Some(id) = &args.record {
        let Some(record) = crate::commands::records::find(ctx, &store, id) else {
            return exit::FAILED;
        };
        if record.certificate.is_none() {
            output::error(lang, &Msg::PushNotCertified(record.id.to_string()));
            return exit::REFUSED;
        }
        if !enqueue(lang, &store, &config, &record, &certificates_dir(ctx)) {
            return exit::FAILED;
        }
    }
    let wait = Duration::from_secs(args.wait.unwrap_or(config.wait_seconds));
    flush(lang, &store, &config, wait)
}

/// After `atelier certify`: queue the record for every sink and try once (no waiting). A bench
/// without network carries on; `atelier push` sends later. Prints what happened; never fails
/// the certification.
pub fn after_certify(ctx: &Context, store: &Store, record: &AssetRecord) {
    let lang = ctx.lang;
    let Some(config) = push_config(ctx) else {
        return;
    };
    if config.sinks.is_empty() || !config.after_certify {
        return;
    }
    if enqueue(lang, store, &config, record, &certificates_dir(ctx)) {
        let options = FlushOptions {
            all_now: false,
            wait: Duration::ZERO,
        };
        if let Err(e) = atelier_push::flush(store, &config, &options, |r| print_result(lang, r)) {
            output::store_error(lang, store, &e);
        }
        let _ = summary(lang, store);
    }
}

fn state_text(lang: Lang, e: &atelier_store::OutboxEntry) -> &'static str {
    match e.state {
        PushState::Pending => lang.pick("en attente", "pending"),
        PushState::Sending if e.interrupted => lang.pick("interrompu", "interrupted"),
        PushState::Sending => lang.pick("en cours", "sending"),
        PushState::Delivered => lang.pick("livré", "delivered"),
        PushState::Failed => lang.pick("BLOQUÉ", "NEEDS OPERATOR"),
    }
}

/// `atelier push --status`.
fn status(lang: Lang, store: &Store, as_json: bool) -> u8 {
    let entries = match store.outbox() {
        Ok(e) => e,
        Err(e) => {
            output::store_error(lang, store, &e);
            return exit::FAILED;
        }
    };
    if as_json {
        out!("{}", json!({ "entries": entries }));
        return exit::OK;
    }
    if entries.is_empty() {
        out!("{}", Msg::PushNothingQueued.text(lang));
        return exit::OK;
    }
    for e in &entries {
        let record = e.record_id.to_string();
        let when = match e.state {
            PushState::Delivered => e
                .delivered_at
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default(),
            PushState::Pending => format!(
                "{} {}",
                lang.pick("prochain essai", "next attempt"),
                e.next_attempt_at.format("%H:%M:%S")
            ),
            _ => String::new(),
        };
        out!(
            "{:<10} {:<8} {:<16} {} {} {}",
            e.sink,
            &record[..8],
            state_text(lang, e),
            lang.pick(
                format!("essais {}", e.attempts),
                format!("attempts {}", e.attempts)
            ),
            when,
            e.last_error
                .as_deref()
                .filter(|_| e.state != PushState::Delivered)
                .unwrap_or("")
        );
    }
    summary(lang, store);
    exit::OK
}
