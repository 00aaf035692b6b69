//! The `AssetRecord`: the one document that flows through the Atelier bench.
//!
//! Every machine (or SD card) that passes over the bench gets one record. Each stage of the
//! bench — inventory, wipe, deploy, certify, push — reads what it needs from the record and
//! appends its own section; nothing passes between stages in any other way. The record is
//! versioned ([`RECORD_VERSION`]) and its JSON Schema is committed in
//! `docs/asset-record.schema.json` (a test keeps the two in step).
//!
//! This crate holds types only: no I/O. Storing records is `atelier-store`'s job.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

mod hardware;
mod sanitization;

pub use hardware::{
    Battery, BootMode, Cpu, Disk, DiskHealth, Firmware, GradeLevel, Grades, HardwareSection,
    HealthVerdict, MachineIdentity, MachineKeyInfo, Memory, MemorySlot, NetworkInterface,
    PciDevice, Peripherals, ProbeWarning, Screen, SecureBootState, Sourced, Tpm, ValueState,
    Verdict,
};

pub use sanitization::{
    Checkpoint, DeviceIdentity, Interruption, IoErrorRange, IoOperation, MediaKind, NistCategory,
    Outcome, PassPattern, SanitizationEntry, SanitizationMethod, Technique, Transport,
    Verification, VerificationMode, VerificationResult,
};

/// Version of the record format written by this crate.
pub const RECORD_VERSION: u32 = 1;

/// One machine's (or one SD card's) journey over the bench.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AssetRecord {
    /// Format version of this document ([`RECORD_VERSION`]).
    pub record_version: u32,
    /// Unique identifier of the record (UUIDv7: sortable by creation time).
    pub id: Uuid,
    /// When the record was created.
    pub created_at: DateTime<Utc>,
    /// When any section was last changed.
    pub updated_at: DateTime<Utc>,
    /// The bench that produced the record.
    pub bench: Bench,
    /// Hardware inventory (filled by the inventory stage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardware: Option<HardwareSection>,
    /// One entry per sanitized device, in the order the wipes started.
    #[serde(default)]
    pub sanitization: Vec<SanitizationEntry>,
    /// Operating-system deployment (filled by the deploy stage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<DeploymentSection>,
    /// Traceability certificate (filled by the certify stage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertificateSection>,
    /// Pushes of this record to central inventories (filled by the push stage).
    #[serde(default)]
    pub deliveries: Vec<Delivery>,
}

impl AssetRecord {
    /// A new, empty record created now by `bench`.
    pub fn new(bench: Bench) -> Self {
        let now = Utc::now();
        Self {
            record_version: RECORD_VERSION,
            id: Uuid::now_v7(),
            created_at: now,
            updated_at: now,
            bench,
            hardware: None,
            sanitization: Vec::new(),
            deployment: None,
            certificate: None,
            deliveries: Vec::new(),
        }
    }

    /// The sanitization entry with this id, if the record has it.
    pub fn sanitization_entry(&self, id: Uuid) -> Option<&SanitizationEntry> {
        self.sanitization.iter().find(|e| e.id == id)
    }

    /// The sanitization entry with this id, mutable.
    pub fn sanitization_entry_mut(&mut self, id: Uuid) -> Option<&mut SanitizationEntry> {
        self.sanitization.iter_mut().find(|e| e.id == id)
    }

    /// Inserts `entry`, replacing the entry with the same id if there is one, and marks the
    /// record as updated.
    pub fn upsert_sanitization(&mut self, entry: SanitizationEntry) {
        match self.sanitization.iter_mut().find(|e| e.id == entry.id) {
            Some(slot) => *slot = entry,
            None => self.sanitization.push(entry),
        }
        self.updated_at = Utc::now();
    }

    /// True when the record holds at least one wipe and every wipe it holds passed.
    pub fn all_wipes_passed(&self) -> bool {
        !self.sanitization.is_empty()
            && self
                .sanitization
                .iter()
                .all(|e| e.outcome == Outcome::Passed)
    }
}

/// The JSON Schema (draft 2020-12) of [`AssetRecord`], as committed in `docs/`.
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(AssetRecord);
    serde_json::to_value(schema).unwrap_or(serde_json::Value::Null)
}

/// The bench that produced a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Bench {
    /// Host name of the bench machine.
    pub hostname: String,
    /// The program that wrote the record.
    pub tool: ToolInfo,
    /// The technician, when the bench knows them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
}

/// A program and its version, as written into records and certificates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ToolInfo {
    /// Program name, e.g. `atelier`.
    pub name: String,
    /// Program version, e.g. `0.1.0`.
    pub version: String,
}

/// Operating-system deployment. The deploy stage defines its content.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DeploymentSection {}

/// Traceability certificate. The certify stage defines its content.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CertificateSection {}

/// One push of the record to a central inventory. The push stage defines its content.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Delivery {}

#[cfg(test)]
mod tests {
    use super::*;

    fn bench() -> Bench {
        Bench {
            hostname: "bench-1".into(),
            tool: ToolInfo {
                name: "atelier".into(),
                version: "0.1.0".into(),
            },
            operator: None,
        }
    }

    #[test]
    fn new_record_round_trips_through_json() {
        let record = AssetRecord::new(bench());
        let json = serde_json::to_string(&record).unwrap();
        let back: AssetRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(record, back);
        assert_eq!(back.record_version, RECORD_VERSION);
        assert!(!record.all_wipes_passed(), "no wipe is not a passed wipe");
    }

    #[test]
    fn unknown_fields_from_newer_writers_are_tolerated() {
        let record = AssetRecord::new(bench());
        let mut value = serde_json::to_value(&record).unwrap();
        value["future_section"] = serde_json::json!({"x": 1});
        let back: AssetRecord = serde_json::from_value(value).unwrap();
        assert_eq!(back.id, record.id);
    }
}
