//! The push outbox: what must still be sent to a central inventory, and what was.
//!
//! A record is committed locally first; then the push stage queues one entry per sink
//! ([`Store::enqueue_push`]). Each entry carries the exact payload to send and an idempotency
//! key (SHA-256 of record id, sink name and content hash, computed by the caller), so queueing
//! the same content twice is a no-op. An entry moves through these states:
//!
//! ```text
//!   pending ──claim──▶ sending ──ack──▶ delivered   (the record's `deliveries` gets an entry)
//!      ▲                 │  │
//!      └── retry later ──┘  └── refused ──▶ failed   (needs the operator: token, config…)
//! ```
//!
//! A `sending` entry whose process is gone (kill -9, power cut, full disk when writing the
//! acknowledgement) is claimed again by the next run: the push is repeated, and the sinks are
//! idempotent on the server side (GLPI matches by serial and UUID, Snipe-IT is looked up by
//! serial first, the HTTPS endpoint gets the same `Idempotency-Key`), so a repeat never makes a
//! second copy. Marking an entry delivered and adding the delivery to its record is one
//! transaction.
//!
//! The table is created with `CREATE TABLE IF NOT EXISTS`, so stores made before the outbox
//! existed gain it when opened.

use atelier_record::Delivery;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{ProcessOwner, Result, Store, StoreError, decode, read_record, write_record};

pub(crate) const OUTBOX_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS outbox (
    key             TEXT PRIMARY KEY,
    record_id       TEXT NOT NULL REFERENCES records(id),
    sink            TEXT NOT NULL,
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL,
    content_sha256  TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    owner           TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    delivered_at    TEXT,
    server_id       TEXT,
    server_answer   TEXT
);
CREATE INDEX IF NOT EXISTS outbox_by_state ON outbox(state, next_attempt_at);
";

/// State of an outbox entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushState {
    /// Waiting for its next attempt (never tried, or a retryable failure).
    Pending,
    /// A process is sending it now (or was, and is gone: then it is claimed again).
    Sending,
    /// The server acknowledged it; the record's `deliveries` has the entry.
    Delivered,
    /// The server refused it in a way a retry cannot fix (bad token, invalid data, wrong
    /// address): it waits for the operator (`atelier push --retry-failed`).
    Failed,
}

impl PushState {
    fn as_str(self) -> &'static str {
        match self {
            PushState::Pending => "pending",
            PushState::Sending => "sending",
            PushState::Delivered => "delivered",
            PushState::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "sending" => PushState::Sending,
            "delivered" => PushState::Delivered,
            "failed" => PushState::Failed,
            _ => PushState::Pending,
        }
    }
}

/// A push to queue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPush {
    /// Idempotency key (the caller's SHA-256 of record id, sink and content hash).
    pub key: String,
    /// The record it comes from (must be stored).
    pub record_id: Uuid,
    /// Sink name, as configured.
    pub sink: String,
    /// Sink kind (`glpi`, `snipeit`, `http`).
    pub kind: String,
    /// The exact payload (JSON text).
    pub payload: String,
    /// SHA-256 of `payload`, hex.
    pub content_sha256: String,
}

/// One entry of the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// Idempotency key.
    pub key: String,
    /// The record it comes from.
    pub record_id: Uuid,
    /// Sink name.
    pub sink: String,
    /// Sink kind.
    pub kind: String,
    /// The payload (JSON text).
    #[serde(skip)]
    pub payload: String,
    /// SHA-256 of the payload.
    pub content_sha256: String,
    /// State.
    pub state: PushState,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due (pending entries).
    pub next_attempt_at: DateTime<Utc>,
    /// Why the last attempt failed (never holds a token).
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When the server acknowledged it.
    pub delivered_at: Option<DateTime<Utc>>,
    /// The server's id of the item, if it gave one.
    pub server_id: Option<String>,
    /// The server's answer, shortened.
    pub server_answer: Option<String>,
    /// True when the entry is `sending` but its process is gone (interrupted push).
    pub interrupted: bool,
}

const COLUMNS: &str = "key, record_id, sink, kind, payload, content_sha256, state, attempts,
    next_attempt_at, last_error, owner, created_at, updated_at, delivered_at, server_id,
    server_answer";

fn time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

fn row_to_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxEntry> {
    let state = PushState::parse(&r.get::<_, String>(6)?);
    let owner: Option<String> = r.get(10)?;
    let interrupted = state == PushState::Sending
        && owner
            .and_then(|o| serde_json::from_str::<ProcessOwner>(&o).ok())
            .is_none_or(|o| !o.is_alive());
    Ok(OutboxEntry {
        key: r.get(0)?,
        record_id: r.get::<_, String>(1)?.parse().unwrap_or_default(),
        sink: r.get(2)?,
        kind: r.get(3)?,
        payload: r.get(4)?,
        content_sha256: r.get(5)?,
        state,
        attempts: r.get(7)?,
        next_attempt_at: time(&r.get::<_, String>(8)?),
        last_error: r.get(9)?,
        created_at: time(&r.get::<_, String>(11)?),
        updated_at: time(&r.get::<_, String>(12)?),
        delivered_at: r.get::<_, Option<String>>(13)?.map(|t| time(&t)),
        server_id: r.get(14)?,
        server_answer: r.get(15)?,
        interrupted,
    })
}

fn entries(conn: &Connection, condition: &str, arg: &str) -> rusqlite::Result<Vec<OutboxEntry>> {
    let sql = format!("SELECT {COLUMNS} FROM outbox WHERE {condition} ORDER BY created_at, key");
    let mut stmt = conn.prepare(&sql)?;
    stmt.query_map([arg], row_to_entry)?.collect()
}

impl Store {
    /// Queues `push` (state `pending`, due now). Returns false when an entry with the same key
    /// is already there (same record, sink and content: nothing to do). Entries of the same
    /// record and sink that are not delivered yet are replaced: only the newest content of a
    /// record is sent.
    pub fn enqueue_push(&self, push: &NewPush) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.db_err(e))?;
        let exists: Option<String> = tx
            .query_row("SELECT key FROM outbox WHERE key = ?1", [&push.key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.db_err(e))?;
        if exists.is_some() {
            return Ok(false);
        }
        if read_record(&tx, &push.record_id.to_string())
            .map_err(|e| self.db_err(e))?
            .is_none()
        {
            return Err(StoreError::NoSuchRecord(push.record_id.to_string()));
        }
        tx.execute(
            "DELETE FROM outbox WHERE record_id = ?1 AND sink = ?2 AND state IN ('pending', 'failed')",
            params![push.record_id.to_string(), push.sink],
        )
        .map_err(|e| self.db_err(e))?;
        let now = Utc::now().to_rfc3339();
        tx.execute(
            "INSERT INTO outbox (key, record_id, sink, kind, payload, content_sha256, state,
                 attempts, next_attempt_at, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', 0, ?7, ?7, ?7)",
            params![
                push.key,
                push.record_id.to_string(),
                push.sink,
                push.kind,
                push.payload,
                push.content_sha256,
                now
            ],
        )
        .map_err(|e| self.db_err(e))?;
        tx.commit().map_err(|e| self.db_err(e))?;
        Ok(true)
    }

    /// Every outbox entry, oldest first.
    pub fn outbox(&self) -> Result<Vec<OutboxEntry>> {
        let conn = self.conn();
        entries(&conn, "?1 = ?1", "").map_err(|e| self.db_err(e))
    }

    /// The outbox entry with this key.
    pub fn outbox_entry(&self, key: &str) -> Result<Option<OutboxEntry>> {
        let conn = self.conn();
        entries(&conn, "key = ?1", key)
            .map(|mut v| v.pop())
            .map_err(|e| self.db_err(e))
    }

    /// Claims the next entry to send for `owner`: the oldest `pending` entry due at or before
    /// `due_by`, or a `sending` entry whose process is gone. The claim (state `sending`, owner,
    /// one more attempt) is committed before the entry is returned, so two `atelier push`
    /// running at once never send the same entry at the same time. `skip` lists keys this run
    /// already handled.
    pub fn claim_push(
        &self,
        owner: &ProcessOwner,
        due_by: DateTime<Utc>,
        skip: &[String],
    ) -> Result<Option<OutboxEntry>> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.db_err(e))?;
        let candidates = entries(&tx, "state IN ('pending', 'sending') AND ?1 = ?1", "")
            .map_err(|e| self.db_err(e))?;
        let Some(mut entry) = candidates.into_iter().find(|e| {
            !skip.contains(&e.key)
                && match e.state {
                    PushState::Pending => e.next_attempt_at <= due_by,
                    PushState::Sending => e.interrupted,
                    _ => false,
                }
        }) else {
            return Ok(None);
        };
        let now = Utc::now();
        tx.execute(
            "UPDATE outbox SET state = 'sending', owner = ?2, attempts = attempts + 1,
                 updated_at = ?3 WHERE key = ?1",
            params![
                entry.key,
                serde_json::to_string(owner).unwrap_or_default(),
                now.to_rfc3339()
            ],
        )
        .map_err(|e| self.db_err(e))?;
        tx.commit().map_err(|e| self.db_err(e))?;
        entry.state = PushState::Sending;
        entry.attempts += 1;
        entry.updated_at = now;
        entry.interrupted = false;
        Ok(Some(entry))
    }

    /// Records that the server acknowledged entry `key`: state `delivered`, and `delivery`
    /// appended to the record's `deliveries`, in one transaction.
    pub fn mark_push_delivered(&self, key: &str, delivery: &Delivery) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.db_err(e))?;
        let record_id: String = tx
            .query_row("SELECT record_id FROM outbox WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.db_err(e))?
            .ok_or_else(|| StoreError::NoSuchRecord(format!("outbox entry {key}")))?;
        let (id, body) = read_record(&tx, &record_id)
            .map_err(|e| self.db_err(e))?
            .ok_or_else(|| StoreError::NoSuchRecord(record_id.clone()))?;
        let mut record = decode(&id, &body)?;
        let already = record
            .deliveries
            .iter()
            .any(|d| d.idempotency_key.as_deref() == Some(key));
        if !already {
            record.deliveries.push(delivery.clone());
            record.updated_at = Utc::now();
            write_record(&tx, &record).map_err(|e| self.db_err(e))?;
        }
        let now = Utc::now().to_rfc3339();
        tx.execute(
            "UPDATE outbox SET state = 'delivered', owner = NULL, last_error = NULL,
                 delivered_at = ?2, updated_at = ?2, server_id = ?3, server_answer = ?4
             WHERE key = ?1",
            params![
                key,
                delivery
                    .delivered_at
                    .map(|t| t.to_rfc3339())
                    .unwrap_or(now.clone()),
                delivery.server_id,
                delivery.server_answer
            ],
        )
        .map_err(|e| self.db_err(e))?;
        tx.commit().map_err(|e| self.db_err(e))
    }

    /// Records a failed attempt of entry `key` that a later attempt may fix: back to
    /// `pending`, due at `next_attempt_at`, with `error` (which must not hold a secret).
    pub fn mark_push_retry(
        &self,
        key: &str,
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<()> {
        self.set_push_state(key, PushState::Pending, error, next_attempt_at)
    }

    /// Records that entry `key` was refused in a way only the operator can fix: `failed`.
    pub fn mark_push_failed(&self, key: &str, error: &str) -> Result<()> {
        self.set_push_state(key, PushState::Failed, error, Utc::now())
    }

    fn set_push_state(
        &self,
        key: &str,
        state: PushState,
        error: &str,
        next: DateTime<Utc>,
    ) -> Result<()> {
        let conn = self.conn();
        conn.execute(
            "UPDATE outbox SET state = ?2, owner = NULL, last_error = ?3, next_attempt_at = ?4,
                 updated_at = ?5 WHERE key = ?1",
            params![
                key,
                state.as_str(),
                error,
                next.to_rfc3339(),
                Utc::now().to_rfc3339()
            ],
        )
        .map_err(|e| self.db_err(e))?;
        Ok(())
    }

    /// Puts every `failed` entry back to `pending`, due now (after the operator fixed the
    /// cause). Returns how many.
    pub fn retry_failed_pushes(&self) -> Result<usize> {
        let conn = self.conn();
        conn.execute(
            "UPDATE outbox SET state = 'pending', next_attempt_at = ?1, updated_at = ?1
             WHERE state = 'failed'",
            [Utc::now().to_rfc3339()],
        )
        .map_err(|e| self.db_err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use atelier_record::{AssetRecord, Bench, ToolInfo};

    fn record(store: &Store) -> AssetRecord {
        let r = AssetRecord::new(Bench {
            hostname: "bench".into(),
            tool: ToolInfo {
                name: "atelier".into(),
                version: "0".into(),
            },
            operator: None,
            partner: None,
        });
        store.save_record(&r).unwrap();
        r
    }

    fn push(r: &AssetRecord, key: &str, sink: &str) -> NewPush {
        NewPush {
            key: key.into(),
            record_id: r.id,
            sink: sink.into(),
            kind: "http".into(),
            payload: "{}".into(),
            content_sha256: "00".into(),
        }
    }

    #[test]
    fn an_entry_goes_from_pending_to_delivered_and_lands_in_the_record() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let r = record(&store);
        assert!(store.enqueue_push(&push(&r, "k1", "a")).unwrap());
        assert!(
            !store.enqueue_push(&push(&r, "k1", "a")).unwrap(),
            "same key twice"
        );
        let me = ProcessOwner::current();
        let e = store.claim_push(&me, Utc::now(), &[]).unwrap().unwrap();
        assert_eq!((e.state, e.attempts), (PushState::Sending, 1));
        // Claimed by a live process: nobody else gets it.
        assert!(store.claim_push(&me, Utc::now(), &[]).unwrap().is_none());
        let d = Delivery {
            sink: Some("a".into()),
            idempotency_key: Some("k1".into()),
            server_id: Some("7".into()),
            ..Delivery::default()
        };
        store.mark_push_delivered("k1", &d).unwrap();
        store.mark_push_delivered("k1", &d).unwrap();
        let back = store.record(r.id).unwrap();
        assert_eq!(
            back.deliveries,
            vec![d],
            "one delivery, even when marked twice"
        );
        assert_eq!(store.outbox().unwrap()[0].state, PushState::Delivered);
    }

    #[test]
    fn retries_wait_for_their_time_and_a_dead_sender_is_reclaimed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let r = record(&store);
        store.enqueue_push(&push(&r, "k1", "a")).unwrap();
        let me = ProcessOwner::current();
        store.claim_push(&me, Utc::now(), &[]).unwrap().unwrap();
        let later = Utc::now() + chrono::Duration::seconds(60);
        store
            .mark_push_retry("k1", "connection refused", later)
            .unwrap();
        assert!(store.claim_push(&me, Utc::now(), &[]).unwrap().is_none());
        let e = store.claim_push(&me, later, &[]).unwrap().unwrap();
        assert_eq!(e.attempts, 2);
        // A sender that died: its entry is claimed again.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = ProcessOwner {
            pid: child.id(),
            ..me.clone()
        };
        child.wait().unwrap();
        store
            .conn()
            .execute(
                "UPDATE outbox SET owner = ?1",
                [serde_json::to_string(&dead).unwrap()],
            )
            .unwrap();
        assert!(store.outbox().unwrap()[0].interrupted);
        let e = store.claim_push(&me, Utc::now(), &[]).unwrap().unwrap();
        assert_eq!(e.attempts, 3);
        store.mark_push_failed("k1", "401").unwrap();
        assert!(
            store.claim_push(&me, later, &[]).unwrap().is_none(),
            "failed waits"
        );
        assert_eq!(store.retry_failed_pushes().unwrap(), 1);
        assert!(store.claim_push(&me, Utc::now(), &[]).unwrap().is_some());
    }

    #[test]
    fn newer_content_replaces_an_unsent_entry_of_the_same_sink() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let r = record(&store);
        store.enqueue_push(&push(&r, "old", "a")).unwrap();
        store.enqueue_push(&push(&r, "other-sink", "b")).unwrap();
        store.enqueue_push(&push(&r, "new", "a")).unwrap();
        let keys: Vec<String> = store.outbox().unwrap().into_iter().map(|e| e.key).collect();
        assert_eq!(keys, vec!["other-sink".to_string(), "new".to_string()]);
    }

    #[test]
    fn a_store_made_before_the_outbox_gains_it() {
        let dir = tempfile::tempdir().unwrap();
        {
            let conn = Connection::open(dir.path().join(crate::DATABASE_FILE)).unwrap();
            conn.execute_batch(
                "CREATE TABLE records (id TEXT PRIMARY KEY, created_at TEXT NOT NULL,
                 updated_at TEXT NOT NULL, body TEXT NOT NULL);",
            )
            .unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let r = record(&store);
        assert!(store.enqueue_push(&push(&r, "k", "a")).unwrap());
    }
}
