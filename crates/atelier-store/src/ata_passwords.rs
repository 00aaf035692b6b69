//! The ATA password journal: temporary user passwords the bench sets on drives for ATA
//! Security Erase, kept until the drive is known to be free of them.
//!
//! The wipe stage writes the password here **before** it sends SECURITY SET PASSWORD, and
//! removes it only once SECURITY DISABLE PASSWORD (or the erase itself) succeeded and a new
//! IDENTIFY DEVICE shows security disabled. A power cut or a crash in between leaves the row,
//! and `atelier wipe --recover` (also run at the start of every wipe) unlocks the drive with
//! it. Rows are keyed by the drive's serial number and model (IDENTIFY words 10–19, 27–46).
//!
//! The table lives in the same database (WAL, `synchronous=FULL`, directory mode 0700), so a
//! method returning `Ok` means the row is on the medium. It is created on first use
//! (`CREATE TABLE IF NOT EXISTS`). The password is never logged; only this table holds it.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use crate::{Result, Store};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS ata_passwords (
    serial     TEXT NOT NULL,
    model      TEXT NOT NULL,
    password   TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (serial, model)
);
";

/// One journaled password (without the password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtaPasswordEntry {
    /// Drive serial number.
    pub serial: String,
    /// Drive model.
    pub model: String,
    /// When the password was journaled.
    pub created_at: DateTime<Utc>,
}

impl Store {
    /// Journals `password` for the drive `serial` + `model`, replacing an older row; durable
    /// when it returns.
    pub fn journal_ata_password(&self, serial: &str, model: &str, password: &str) -> Result<()> {
        let conn = self.conn();
        conn.execute_batch(SCHEMA).map_err(|e| self.db_err(e))?;
        conn.execute(
            "INSERT OR REPLACE INTO ata_passwords (serial, model, password, created_at)
             VALUES (?1, ?2, ?3, ?4)",
            params![serial, model, password, Utc::now().to_rfc3339()],
        )
        .map_err(|e| self.db_err(e))?;
        Ok(())
    }

    /// The password journaled for the drive, if any.
    pub fn ata_password(&self, serial: &str, model: &str) -> Result<Option<String>> {
        let conn = self.conn();
        conn.execute_batch(SCHEMA).map_err(|e| self.db_err(e))?;
        conn.query_row(
            "SELECT password FROM ata_passwords WHERE serial = ?1 AND model = ?2",
            params![serial, model],
            |row| row.get(0),
        )
        .optional()
        .map_err(|e| self.db_err(e))
    }

    /// Forgets the drive's password (no error when there is none).
    pub fn forget_ata_password(&self, serial: &str, model: &str) -> Result<()> {
        let conn = self.conn();
        conn.execute_batch(SCHEMA).map_err(|e| self.db_err(e))?;
        conn.execute(
            "DELETE FROM ata_passwords WHERE serial = ?1 AND model = ?2",
            params![serial, model],
        )
        .map_err(|e| self.db_err(e))?;
        Ok(())
    }

    /// Every journaled drive, oldest first (passwords not included).
    pub fn ata_password_entries(&self) -> Result<Vec<AtaPasswordEntry>> {
        let conn = self.conn();
        conn.execute_batch(SCHEMA).map_err(|e| self.db_err(e))?;
        let mut stmt = conn
            .prepare("SELECT serial, model, created_at FROM ata_passwords ORDER BY created_at")
            .map_err(|e| self.db_err(e))?;
        let rows = stmt
            .query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                ))
            })
            .map_err(|e| self.db_err(e))?;
        let mut out = Vec::new();
        for r in rows {
            let (serial, model, at) = r.map_err(|e| self.db_err(e))?;
            out.push(AtaPasswordEntry {
                serial,
                model,
                created_at: DateTime::parse_from_rfc3339(&at)
                    .map(|d| d.with_timezone(&Utc))
                    .unwrap_or_default(),
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_survives_reopening_and_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            assert_eq!(store.durability().unwrap().1, 2, "synchronous=FULL");
            store.journal_ata_password("S1", "M1", "aaaa").unwrap();
            store.journal_ata_password("S1", "M1", "bbbb").unwrap();
            store.journal_ata_password("S2", "M1", "cccc").unwrap();
        }
        // A new process (reopened store) finds the rows.
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(
            store.ata_password("S1", "M1").unwrap().as_deref(),
            Some("bbbb")
        );
        assert_eq!(store.ata_password("S1", "M2").unwrap(), None);
        let entries = store.ata_password_entries().unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].serial, "S1");
        store.forget_ata_password("S1", "M1").unwrap();
        store.forget_ata_password("S1", "M1").unwrap();
        assert_eq!(store.ata_password("S1", "M1").unwrap(), None);
        assert_eq!(store.ata_password_entries().unwrap().len(), 1);
    }
}
