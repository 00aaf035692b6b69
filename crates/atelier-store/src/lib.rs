//! The bench's local store.
//!
//! One SQLite database (`atelier.db`) in the bench's data directory holds:
//!
//! - **records**: every [`AssetRecord`], as its JSON exchange form;
//! - **jobs**: the job journal — one row per long-running step (a wipe of one device…) with
//!   its parameters, the process that owns it and its last durable checkpoint, so a crash, a
//!   kill or a power cut loses nothing and the job can be resumed or audited;
//! - **outbox**: the pushes to central inventories still to send, and those sent
//!   ([`outbox`]).
//!
//! The database runs in WAL mode with `synchronous=FULL`: when a method returns `Ok`, the
//! change is on the medium. Every change to a record and its job is one transaction.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use atelier_record::AssetRecord;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub mod ata_passwords;
pub mod outbox;
mod owner;

pub use outbox::{NewPush, OutboxEntry, PushState};
pub use owner::ProcessOwner;

/// File name of the database inside the data directory.
pub const DATABASE_FILE: &str = "atelier.db";

/// What can go wrong with the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The data directory could not be created or used.
    #[error("data directory {path}: {source}")]
    Directory {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// SQLite refused an operation (disk full, corrupt file, locked…).
    #[error("database {path}: {source}")]
    Database {
        /// The database file.
        path: PathBuf,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// A stored document is not valid JSON for its type.
    #[error("record {id} in the store cannot be read: {source}")]
    Corrupt {
        /// Identifier of the row.
        id: String,
        /// The decoding error.
        source: serde_json::Error,
    },
    /// No record has this identifier (or prefix).
    #[error("no record {0}")]
    NoSuchRecord(String),
    /// Several records start with this prefix.
    #[error("several records start with {0}; give more characters")]
    AmbiguousRecord(String),
    /// No job has this identifier.
    #[error("no job {0}")]
    NoSuchJob(Uuid),
}

type Result<T> = std::result::Result<T, StoreError>;

/// State of a journaled job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Started and not finished: running now, or interrupted if its owner is gone.
    Running,
    /// Ended (passed or failed); the record says how.
    Finished,
}

impl JobState {
    fn as_str(self) -> &'static str {
        match self {
            JobState::Running => "running",
            JobState::Finished => "finished",
        }
    }

    fn parse(text: &str) -> Self {
        if text == "finished" {
            JobState::Finished
        } else {
            JobState::Running
        }
    }
}

/// One row of the job journal.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Job identifier (for a wipe: the id of its sanitization entry).
    pub id: Uuid,
    /// What the job does (`wipe`…).
    pub kind: String,
    /// The record the job writes into.
    pub record_id: Uuid,
    /// The device or target it works on (kernel name).
    pub target: String,
    /// State.
    pub state: JobState,
    /// The process that runs (or ran) it.
    pub owner: ProcessOwner,
    /// Parameters, owned by the stage that runs the job (JSON).
    pub params: serde_json::Value,
    /// Last durable checkpoint, owned by the stage (JSON).
    pub checkpoint: serde_json::Value,
    /// When the row last changed.
    pub updated_at: DateTime<Utc>,
}

impl Job {
    /// True when the job is marked running but its process is gone: it was interrupted.
    pub fn is_interrupted(&self) -> bool {
        self.state == JobState::Running && !self.owner.is_alive()
    }
}

/// The local store. Cheap to share between threads (`&Store` is `Sync`).
pub struct Store {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS records (
    id         TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    body       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    record_id  TEXT NOT NULL REFERENCES records(id),
    target     TEXT NOT NULL,
    state      TEXT NOT NULL,
    owner      TEXT NOT NULL,
    params     TEXT NOT NULL,
    checkpoint TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs(state);
";

impl Store {
    /// Opens (creating if needed) the store in `data_dir`. The directory is created with mode
    /// 0700: it will hold the bench's signing key.
    pub fn open(data_dir: &Path) -> Result<Self> {
        let dir_err = |source| StoreError::Directory {
            path: data_dir.to_path_buf(),
            source,
        };
        if !data_dir.exists() {
            fs::create_dir_all(data_dir).map_err(dir_err)?;
            fs::set_permissions(data_dir, fs::Permissions::from_mode(0o700)).map_err(dir_err)?;
        }
        let path = data_dir.join(DATABASE_FILE);
        let db_err = |source| StoreError::Database {
            path: path.clone(),
            source,
        };
        let conn = Connection::open(&path).map_err(db_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(db_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db_err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(db_err)?;
        conn.execute_batch(SCHEMA).map_err(db_err)?;
        conn.execute_batch(outbox::OUTBOX_SCHEMA).map_err(db_err)?;
        Ok(Self {
            conn: Mutex::new(conn),
            path,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (transactions roll back).
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn db_err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Database {
            path: self.path.clone(),
            source,
        }
    }

    /// Journal mode and synchronous level in effect (for diagnostics and tests).
    pub fn durability(&self) -> Result<(String, i64)> {
        let conn = self.conn();
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .map_err(|e| self.db_err(e))?;
        let sync: i64 = conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .map_err(|e| self.db_err(e))?;
        Ok((mode, sync))
    }

    /// Inserts or replaces `record`.
    pub fn save_record(&self, record: &AssetRecord) -> Result<()> {
        let conn = self.conn();
        write_record(&conn, record).map_err(|e| self.db_err(e))
    }

    /// The record with this exact id.
    pub fn record(&self, id: Uuid) -> Result<AssetRecord> {
        let conn = self.conn();
        read_record(&conn, &id.to_string())
            .map_err(|e| self.db_err(e))?
            .ok_or_else(|| StoreError::NoSuchRecord(id.to_string()))
            .and_then(|(id, body)| decode(&id, &body))
    }

    /// The record whose id starts with `prefix` (at least 4 characters), as shown by
    /// `atelier records list`.
    pub fn find_record(&self, prefix: &str) -> Result<AssetRecord> {
        let prefix = prefix.trim().to_ascii_lowercase();
        if prefix.len() < 4 || !prefix.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(StoreError::NoSuchRecord(prefix));
        }
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT id, body FROM records WHERE id LIKE ?1 || '%' LIMIT 2")
            .map_err(|e| self.db_err(e))?;
        let rows: Vec<(String, String)> = stmt
            .query_map([&prefix], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect())
            .map_err(|e| self.db_err(e))?;
        match rows.as_slice() {
            [] => Err(StoreError::NoSuchRecord(prefix)),
            [(id, body)] => decode(id, body),
            _ => Err(StoreError::AmbiguousRecord(prefix)),
        }
    }

    /// Every record, oldest first.
    pub fn records(&self) -> Result<Vec<AssetRecord>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT id, body FROM records ORDER BY created_at, id")
            .map_err(|e| self.db_err(e))?;
        let rows: Vec<(String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect())
            .map_err(|e| self.db_err(e))?;
        rows.iter().map(|(id, body)| decode(id, body)).collect()
    }

    /// Applies `update` to the stored record `id` in one transaction (read, change, write),
    /// so that changes made meanwhile by other processes (a running wipe's checkpoints) are
    /// kept. Returns the updated record.
    pub fn update_record(
        &self,
        id: Uuid,
        update: impl FnOnce(&mut AssetRecord),
    ) -> Result<AssetRecord> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.db_err(e))?;
        let (rid, body) = read_record(&tx, &id.to_string())
            .map_err(|e| self.db_err(e))?
            .ok_or_else(|| StoreError::NoSuchRecord(id.to_string()))?;
        let mut record = decode(&rid, &body)?;
        update(&mut record);
        record.updated_at = Utc::now();
        write_record(&tx, &record).map_err(|e| self.db_err(e))?;
        tx.commit().map_err(|e| self.db_err(e))?;
        Ok(record)
    }

    /// The machine's open record: the newest record whose inventory has this machine key
    /// (`hardware.machine_key.value`) and that has no certificate yet. A machine's inventory,
    /// wipes and deployment go into one record until it is certified; the next visit after
    /// that starts a new record.
    pub fn open_machine_record(&self, machine_key: &str) -> Result<Option<AssetRecord>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT id, body FROM records
                 WHERE json_extract(body, '$.hardware.machine_key.value') = ?1
                   AND json_extract(body, '$.certificate') IS NULL
                 ORDER BY created_at DESC, id DESC LIMIT 1",
            )
            .map_err(|e| self.db_err(e))?;
        let rows: Vec<(String, String)> = stmt
            .query_map([machine_key], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect())
            .map_err(|e| self.db_err(e))?;
        rows.first().map(|(id, body)| decode(id, body)).transpose()
    }

    /// Starts a job: stores its row (state `running`, owned by this process) and the record
    /// it writes into, in one transaction. When the record is already stored (the machine's
    /// open record, which another process may have changed since it was read), only
    /// `record`'s sanitization entries are merged into the stored one; nothing else in it is
    /// overwritten.
    pub fn start_job(&self, job: &Job, record: &AssetRecord) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.db_err(e))?;
        let stored = read_record(&tx, &record.id.to_string()).map_err(|e| self.db_err(e))?;
        let merged = match stored {
            Some((id, body)) => {
                let mut stored = decode(&id, &body)?;
                for entry in &record.sanitization {
                    stored.upsert_sanitization(entry.clone());
                }
                stored
            }
            None => record.clone(),
        };
        write_record(&tx, &merged).map_err(|e| self.db_err(e))?;
        tx.execute(
            "INSERT OR REPLACE INTO jobs
             (id, kind, record_id, target, state, owner, params, checkpoint, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                job.id.to_string(),
                job.kind,
                job.record_id.to_string(),
                job.target,
                job.state.as_str(),
                serde_json::to_string(&job.owner).unwrap_or_default(),
                job.params.to_string(),
                job.checkpoint.to_string(),
                Utc::now().to_rfc3339(),
            ],
        )
        .map_err(|e| self.db_err(e))?;
        tx.commit().map_err(|e| self.db_err(e))
    }

    /// Records a durable step of job `job_id`: its new checkpoint and state, and the change
    /// `update` makes to its record, in one transaction. Returns the updated record.
    pub fn advance_job(
        &self,
        job_id: Uuid,
        state: JobState,
        checkpoint: &serde_json::Value,
        update: impl FnOnce(&mut AssetRecord),
    ) -> Result<AssetRecord> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.db_err(e))?;
        let record_id: Option<String> = tx
            .query_row(
                "SELECT record_id FROM jobs WHERE id = ?1",
                [job_id.to_string()],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.db_err(e))?;
        let record_id = record_id.ok_or(StoreError::NoSuchJob(job_id))?;
        let (id, body) = read_record(&tx, &record_id)
            .map_err(|e| self.db_err(e))?
            .ok_or_else(|| StoreError::NoSuchRecord(record_id.clone()))?;
        let mut record = decode(&id, &body)?;
        update(&mut record);
        record.updated_at = Utc::now();
        write_record(&tx, &record).map_err(|e| self.db_err(e))?;
        tx.execute(
            "UPDATE jobs SET state = ?2, checkpoint = ?3, updated_at = ?4 WHERE id = ?1",
            params![
                job_id.to_string(),
                state.as_str(),
                checkpoint.to_string(),
                Utc::now().to_rfc3339()
            ],
        )
        .map_err(|e| self.db_err(e))?;
        tx.commit().map_err(|e| self.db_err(e))?;
        Ok(record)
    }

    /// Makes this process the owner of job `job_id` (when resuming it).
    pub fn claim_job(&self, job_id: Uuid, owner: &ProcessOwner) -> Result<()> {
        let conn = self.conn();
        let changed = conn
            .execute(
                "UPDATE jobs SET owner = ?2, state = 'running', updated_at = ?3 WHERE id = ?1",
                params![
                    job_id.to_string(),
                    serde_json::to_string(owner).unwrap_or_default(),
                    Utc::now().to_rfc3339()
                ],
            )
            .map_err(|e| self.db_err(e))?;
        if changed == 0 {
            return Err(StoreError::NoSuchJob(job_id));
        }
        Ok(())
    }

    /// Every job of `kind` in state `running` (running now or interrupted), oldest first.
    pub fn running_jobs(&self, kind: &str) -> Result<Vec<Job>> {
        self.jobs_where("kind = ?1 AND state = 'running'", kind)
    }

    /// The job with this id.
    pub fn job(&self, id: Uuid) -> Result<Job> {
        self.jobs_where("id = ?1", &id.to_string())?
            .into_iter()
            .next()
            .ok_or(StoreError::NoSuchJob(id))
    }

    fn jobs_where(&self, condition: &str, arg: &str) -> Result<Vec<Job>> {
        let conn = self.conn();
        let sql = format!(
            "SELECT id, kind, record_id, target, state, owner, params, checkpoint, updated_at
             FROM jobs WHERE {condition} ORDER BY updated_at, id"
        );
        let mut stmt = conn.prepare(&sql).map_err(|e| self.db_err(e))?;
        let rows: Vec<[String; 9]> = stmt
            .query_map([arg], |r| {
                Ok([
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                ])
            })
            .and_then(|rows| rows.collect())
            .map_err(|e| self.db_err(e))?;
        rows.into_iter()
            .map(
                |[
                    id,
                    kind,
                    record_id,
                    target,
                    state,
                    owner,
                    params,
                    checkpoint,
                    updated,
                ]| {
                    let corrupt = |source| StoreError::Corrupt {
                        id: id.clone(),
                        source,
                    };
                    Ok(Job {
                        id: id.parse().unwrap_or_default(),
                        kind,
                        record_id: record_id.parse().unwrap_or_default(),
                        target,
                        state: JobState::parse(&state),
                        owner: serde_json::from_str(&owner).map_err(corrupt)?,
                        params: serde_json::from_str(&params).map_err(corrupt)?,
                        checkpoint: serde_json::from_str(&checkpoint).map_err(corrupt)?,
                        updated_at: DateTime::parse_from_rfc3339(&updated)
                            .map(|t| t.with_timezone(&Utc))
                            .unwrap_or_default(),
                    })
                },
            )
            .collect()
    }
}

fn write_record(conn: &Connection, record: &AssetRecord) -> rusqlite::Result<()> {
    let body = serde_json::to_string(record)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    conn.execute(
        "INSERT INTO records (id, created_at, updated_at, body) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(id) DO UPDATE SET updated_at = excluded.updated_at, body = excluded.body",
        params![
            record.id.to_string(),
            record.created_at.to_rfc3339(),
            record.updated_at.to_rfc3339(),
            body
        ],
    )?;
    Ok(())
}

fn read_record(conn: &Connection, id: &str) -> rusqlite::Result<Option<(String, String)>> {
    conn.query_row("SELECT id, body FROM records WHERE id = ?1", [id], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
    .optional()
}

fn decode(id: &str, body: &str) -> Result<AssetRecord> {
    serde_json::from_str(body).map_err(|source| StoreError::Corrupt {
        id: id.to_string(),
        source,
    })
}
