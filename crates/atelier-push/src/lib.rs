//! Push of certified records to central inventories, through the store's outbox.
//!
//! The push stage of the bench. A certified record is committed in the local store first;
//! then one outbox entry per configured sink is queued ([`enqueue`]) with the exact payload to
//! send and an idempotency key ([`idempotency_key`]: SHA-256 of record id, sink name and the
//! payload's SHA-256). [`flush`] sends what is due, marks each entry delivered (and appends a
//! [`Delivery`] to the record, in the same transaction), retries what may work later with
//! exponential backoff and jitter ([`backoff`]), and sets aside what only the operator can fix.
//! A bench without network keeps working: the entries wait, and the next flush sends them.
//!
//! Sinks ([`config::SinkKind`]):
//! - [`glpi`]: GLPI's native inventory endpoint, `/front/inventory.php` (the payload is built
//!   by the caller with `atelier_inventory::glpi::glpi_inventory`; this crate does not depend
//!   on the inventory stage);
//! - [`snipeit`]: the Snipe-IT REST API (payload from [`snipeit::asset_payload`]);
//! - [`http`]: any HTTPS endpoint taking the signed record as JSON, with `Idempotency-Key`;
//! - [`directory`]: a folder, usually a USB stick (signed certificates, JSON Lines, PDFs and
//!   GLPI inventories for `glpi-injector`); also used by `atelier export`.
//!
//! Nothing lost, nothing duplicated: an entry is only marked delivered after the server's
//! acknowledgement was read in full; an entry whose sender died is sent again; and each sink
//! is idempotent on the server side (see each module). HTTP lives here rather than in
//! `atelier-certify`, so the signing crate stays free of network code.
//!
//! Tests run against simulators of the servers (`atelier-simulators`), not the real ones;
//! `tests/live.rs` runs against real servers when `ATELIER_LIVE_GLPI_URL` /
//! `ATELIER_LIVE_SNIPEIT_URL` are set.

pub mod backoff;
pub mod config;
pub mod directory;
pub mod glpi;
pub mod http;
pub mod secret;
pub mod snipeit;
pub mod transport;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use atelier_record::Delivery;
use atelier_store::{NewPush, OutboxEntry, ProcessOwner, PushState, Store, StoreError};
use chrono::Utc;
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub use config::{Compression, PushConfig, SinkConfig, SinkKind};
pub use secret::Token;
pub use transport::Outcome;

/// SHA-256 of `bytes`, 64 lowercase hex digits.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The idempotency key of pushing content with SHA-256 `content_sha256` of record
/// `record_id` to the sink named `sink`.
pub fn idempotency_key(record_id: Uuid, sink: &str, content_sha256: &str) -> String {
    sha256_hex(format!("atelier push\n{record_id}\n{sink}\n{content_sha256}").as_bytes())
}

/// Queues `payload` (JSON text) of record `record_id` for `sink`. Returns false when the
/// same content is already queued or delivered.
pub fn enqueue(
    store: &Store,
    record_id: Uuid,
    sink: &SinkConfig,
    payload: String,
) -> Result<bool, StoreError> {
    let content_sha256 = sha256_hex(payload.as_bytes());
    store.enqueue_push(&NewPush {
        key: idempotency_key(record_id, &sink.name, &content_sha256),
        record_id,
        sink: sink.name.clone(),
        kind: sink.kind.as_str().to_string(),
        payload,
        content_sha256,
    })
}

/// How a flush runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlushOptions {
    /// Send every pending entry now, whatever its next attempt time (the operator asked).
    pub all_now: bool,
    /// Keep retrying within the run while the next attempt falls within this time.
    pub wait: Duration,
}

/// What happened to one entry in a flush.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryResult {
    /// The entry, as claimed (attempt count included).
    pub key: String,
    /// Record id.
    pub record_id: Uuid,
    /// Sink name.
    pub sink: String,
    /// The attempt's outcome.
    pub outcome: Outcome,
}

/// An opened sink: its client and token.
struct OpenSink {
    client: reqwest::blocking::Client,
    token: Option<Token>,
}

fn open(sink: &SinkConfig, timeout: Duration) -> Result<OpenSink, String> {
    let token = match (&sink.token_file, &sink.token_env) {
        (Some(path), _) => Some(Token::from_file(path)?),
        (None, Some(name)) => Some(Token::from_env(name)?),
        (None, None) => None,
    };
    Ok(OpenSink {
        client: transport::client(sink, timeout)?,
        token,
    })
}

fn attempt(
    sink: &SinkConfig,
    opened: &OpenSink,
    entry: &OutboxEntry,
    deadline: Instant,
) -> Outcome {
    match sink.kind {
        SinkKind::Glpi => glpi::deliver(
            &opened.client,
            sink,
            opened.token.as_ref(),
            &entry.payload,
            deadline,
        ),
        SinkKind::Snipeit => match &opened.token {
            Some(t) => snipeit::deliver(&opened.client, sink, t, &entry.payload),
            None => Outcome::Refused {
                reason: "Snipe-IT needs a token (token_file or token_env)".into(),
            },
        },
        SinkKind::Directory => directory::deliver(sink, &entry.payload),
        SinkKind::Http => http::deliver(
            &opened.client,
            sink,
            opened.token.as_ref(),
            &entry.key,
            &entry.payload,
        ),
    }
}

/// Sends what is due in the outbox of `store` to the sinks of `config`, calling `report` after
/// each attempt. Stops when nothing more is due within `options.wait`. Entries of sinks that
/// are no longer configured, or whose token cannot be read, are marked failed (the operator
/// must act). Returns the results in order.
pub fn flush(
    store: &Store,
    config: &PushConfig,
    options: &FlushOptions,
    mut report: impl FnMut(&EntryResult),
) -> Result<Vec<EntryResult>, StoreError> {
    let start = Instant::now();
    let deadline = start + options.wait;
    let owner = ProcessOwner::current();
    let timeout = Duration::from_secs(config.timeout_seconds.max(1));
    let base = Duration::from_secs(config.retry_base_seconds);
    let max = Duration::from_secs(config.retry_max_seconds.max(config.retry_base_seconds));
    let mut sinks: BTreeMap<String, Result<OpenSink, String>> = BTreeMap::new();
    let mut results = Vec::new();
    // Entries that reached a final state in this run, or that must wait past the deadline.
    let mut done: Vec<String> = Vec::new();
    let mut first_pass = options.all_now;
    loop {
        let due_by = if first_pass {
            Utc::now() + chrono::Duration::days(36500)
        } else {
            Utc::now()
        };
        let Some(entry) = store.claim_push(&owner, due_by, &done)? else {
            if first_pass {
                first_pass = false;
                done.clear();
                continue;
            }
            // Nothing due now: wait for the next retry if it falls within the run.
            let next = store
                .outbox()?
                .into_iter()
                .filter(|e| e.state == PushState::Pending && !done.contains(&e.key))
                .map(|e| e.next_attempt_at)
                .min();
            let Some(next) = next else { break };
            let wait = (next - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            if Instant::now() + wait > deadline {
                break;
            }
            std::thread::sleep(wait);
            continue;
        };
        let outcome = match config.sink(&entry.sink) {
            None => Outcome::Refused {
                reason: format!(
                    "the sink \"{}\" is no longer in the configuration ([push] in atelier.toml)",
                    entry.sink
                ),
            },
            Some(sink) => {
                let opened = sinks
                    .entry(sink.name.clone())
                    .or_insert_with(|| open(sink, timeout));
                match opened {
                    Ok(o) => attempt(sink, o, &entry, deadline),
                    Err(e) => Outcome::Refused { reason: e.clone() },
                }
            }
        };
        match &outcome {
            Outcome::Delivered { server_id, answer } => {
                let delivery = Delivery {
                    sink: Some(entry.sink.clone()),
                    kind: Some(entry.kind.clone()),
                    delivered_at: Some(Utc::now()),
                    idempotency_key: Some(entry.key.clone()),
                    content_sha256: Some(entry.content_sha256.clone()),
                    server_id: server_id.clone(),
                    server_answer: Some(answer.clone()),
                    attempts: Some(entry.attempts),
                };
                store.mark_push_delivered(&entry.key, &delivery)?;
                done.push(entry.key.clone());
            }
            Outcome::Retry { reason, after } => {
                let mut d = backoff::delay(entry.attempts, base, max);
                if let Some(a) = after {
                    d = d.max(*a);
                }
                let next = Utc::now() + chrono::Duration::from_std(d).unwrap_or_default();
                store.mark_push_retry(&entry.key, reason, next)?;
                if first_pass {
                    done.push(entry.key.clone());
                }
            }
            Outcome::Refused { reason } => {
                store.mark_push_failed(&entry.key, reason)?;
                done.push(entry.key.clone());
            }
        }
        let result = EntryResult {
            key: entry.key.clone(),
            record_id: entry.record_id,
            sink: entry.sink.clone(),
            outcome,
        };
        report(&result);
        results.push(result);
    }
    Ok(results)
}
