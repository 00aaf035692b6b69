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

mod deployment;
mod hardware;
mod sanitization;

pub use deployment::{ByteRange, Customisation, DeployVerification, DeploymentSection, ImageInfo};
pub use hardware::{
    Battery, BootMode, Cpu, Disk, DiskHealth, Firmware, GradeLevel, Grades, HardwareSection,
    HealthVerdict, MachineIdentity, MachineKeyInfo, Memory, MemorySlot, NetworkInterface,
    PciDevice, Peripherals, ProbeWarning, Screen, SecureBootState, Sourced, Tpm, ValueState,
    Verdict,
};

pub use sanitization::{
    Checkpoint, DeviceIdentity, FirmwareCommand, FirmwareErase, Interruption, IoErrorRange,
    IoOperation, MediaKind, MethodChoice, NistCategory, Outcome, PassPattern, SanitizationEntry,
    SanitizationMethod, Technique, Transport, Verification, VerificationMode, VerificationResult,
};
pub use sanitization::{HiddenAreaCheck, NotExaminedCode};
pub use sanitization::{HiddenAreaRestore, HiddenAreaRestoreOutcome};

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

/// Prefix of the asset tags Atelier makes (labels, Snipe-IT) when none is configured.
pub const DEFAULT_ASSET_TAG_PREFIX: &str = "AT-";

/// The asset tag Atelier gives a machine: `prefix` and the first 10 hex digits (upper case) of
/// the SHA-256 of `"atelier asset tag\n" + serial`, so the same machine gets the same tag at
/// every refurbishment and on every bench; without a serial, `prefix`, `R` and the last 9 hex
/// digits of the record id (the random part of a UUIDv7).
pub fn asset_tag(prefix: &str, serial: Option<&str>, record_id: Uuid) -> String {
    use sha2::{Digest, Sha256};
    match serial.map(str::trim).filter(|s| !s.is_empty()) {
        Some(serial) => {
            let digest = Sha256::digest(format!("atelier asset tag\n{serial}").as_bytes());
            let hex: String = digest[..5].iter().map(|b| format!("{b:02X}")).collect();
            format!("{prefix}{hex}")
        }
        None => {
            let simple = record_id.simple().to_string().to_uppercase();
            format!("{prefix}R{}", &simple[simple.len() - 9..])
        }
    }
}

impl AssetRecord {
    /// The machine's serial number, as asset tags and inventories use it: the system serial,
    /// else the chassis serial, else the devicetree serial (Raspberry Pi). Placeholders are
    /// already absent in the inventory.
    pub fn machine_serial(&self) -> Option<&str> {
        let id = &self.hardware.as_ref()?.identity;
        [&id.serial, &id.chassis_serial, &id.devicetree_serial]
            .into_iter()
            .find_map(|f| f.value.as_deref().filter(|v| !v.trim().is_empty()))
    }

    /// The machine's asset tag with `prefix` (see [`asset_tag`]).
    pub fn asset_tag(&self, prefix: &str) -> String {
        asset_tag(prefix, self.machine_serial(), self.id)
    }

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
    /// The partner structure the machines of this session are for (an association, a social
    /// programme), when the bench was told; the yearly report counts per partner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner: Option<String>,
}

/// A program and its version, as written into records and certificates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ToolInfo {
    /// Program name, e.g. `atelier`.
    pub name: String,
    /// Program version, e.g. `0.1.0`.
    pub version: String,
}

/// Traceability certificate, written by the certify stage (`atelier-certify`).
///
/// **What is signed.** The signature covers the canonical JSON (RFC 8785) of the whole record
/// *except* three members: `updated_at` (bookkeeping, bumped by every later save),
/// `deliveries` (pushes happen after certification) and this section's `seal` (it holds the
/// signature itself). Everything else — the hardware, every wipe, the deployment and this
/// section's claims (id, date, clock, verdict, language) — is covered, so changing any of it
/// breaks the signature. `atelier-certify` computes that view the same way when it signs and
/// when it verifies.
///
/// `Default` gives an empty placeholder (nil id, 1970 date, no seal); real certificates come
/// from `atelier-certify`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CertificateSection {
    /// Unique identifier of the certificate (UUIDv7), printed on it and carried by its QR code.
    pub certificate_id: Uuid,
    /// When the certificate was issued, read from [`CertificateSection::clock`].
    pub issued_at: DateTime<Utc>,
    /// The clock `issued_at` was read from, and whether it was synchronised.
    pub clock: ClockSource,
    /// True when the record holds at least one wipe and every wipe it holds passed
    /// ([`AssetRecord::all_wipes_passed`] when the certificate was issued).
    pub all_wipes_passed: bool,
    /// What the certificate's title says; "reconditionné" only for
    /// [`TitleVerdict::Refurbished`].
    pub title_verdict: TitleVerdict,
    /// The language the certificate is written in.
    pub language: Language,
    /// The signature over the record; absent only while the certificate is being signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal: Option<CertificateSeal>,
}

/// The clock a date was read from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ClockSource {
    /// Which clock.
    pub clock: ClockKind,
    /// Whether that clock was synchronised with NTP at the time.
    pub ntp_synchronized: NtpSync,
    /// How `ntp_synchronized` was found, e.g. `timedatectl NTPSynchronized` or
    /// `/run/systemd/timesync/synchronized`; absent when nothing could tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_with: Option<String>,
}

/// A clock a date can be read from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClockKind {
    /// The bench's system clock (`CLOCK_REALTIME`).
    #[default]
    SystemClock,
}

/// Whether a clock was synchronised with NTP.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NtpSync {
    /// Synchronised.
    Yes,
    /// Not synchronised: the date is whatever the machine's clock said.
    No,
    /// Nothing could tell.
    #[default]
    Unknown,
}

/// What a certificate's title says, from the most to the least favourable.
///
/// The word "reconditionné" (French decree 2022-190: every function tested and every previous
/// user's data deleted) may appear only for [`TitleVerdict::Refurbished`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TitleVerdict {
    /// Every wipe passed with no exception and every functional check passed: "reconditionné".
    Refurbished,
    /// Every wipe passed with no exception; the functional checks did not all pass or were not
    /// performed. Data erased, not "reconditionné".
    Erased,
    /// Every wipe passed but at least one carries an exception (e.g. a hidden area remained):
    /// "erased with exceptions".
    ErasedWithExceptions,
    /// At least one wipe failed or did not finish: the title says so.
    ErasureFailed,
    /// The record holds no wipe.
    #[default]
    NoErasure,
}

impl TitleVerdict {
    /// The verdict for a record's `sanitization` entries and the result of its functional
    /// checks (`None`: not performed).
    pub fn decide(
        sanitization: &[SanitizationEntry],
        functional_checks_passed: Option<bool>,
    ) -> Self {
        if sanitization.is_empty() {
            TitleVerdict::NoErasure
        } else if sanitization.iter().any(|e| e.outcome != Outcome::Passed) {
            TitleVerdict::ErasureFailed
        } else if sanitization.iter().any(|e| !e.exceptions.is_empty()) {
            TitleVerdict::ErasedWithExceptions
        } else if functional_checks_passed == Some(true) {
            TitleVerdict::Refurbished
        } else {
            TitleVerdict::Erased
        }
    }

    /// True only when the certificate may use the word "reconditionné".
    pub fn permits_reconditionne(self) -> bool {
        self == TitleVerdict::Refurbished
    }
}

/// The language of a certificate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// French.
    #[default]
    Fr,
    /// English.
    En,
}

/// The signature of a certified record (see [`CertificateSection`] for what it covers).
///
/// Strings rather than enums for the algorithm names, so that a record signed by a newer
/// bench still loads here and is refused by verification with a clear message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CertificateSeal {
    /// Signature algorithm: `Ed25519` (RFC 8032, pure Ed25519 over the canonical bytes).
    pub algorithm: String,
    /// Canonicalisation of the signed JSON: `RFC8785` (JSON Canonicalization Scheme).
    pub canonicalisation: String,
    /// SHA-256 of the signed bytes, 64 lowercase hex digits.
    pub sha256: String,
    /// The signature, 128 lowercase hex digits.
    pub signature: String,
    /// Short fingerprint of the bench key, e.g. `3d40-17c3-e843-895a` (the first 8 bytes of
    /// the SHA-256 of the public key, in groups of four hex digits).
    pub key_fingerprint: String,
    /// The bench's public key, 64 lowercase hex digits.
    pub public_key: String,
}

/// One acknowledged push of the record to a central inventory (written by the push stage,
/// `atelier-push`, when the server has answered that it took the record). A record pushed to
/// three sinks has three entries; a push that was never acknowledged has none (it waits in the
/// store's outbox). Every field is optional so that older and newer benches read each other's
/// records.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Delivery {
    /// Name of the sink in the bench's configuration, e.g. `glpi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sink: Option<String>,
    /// Kind of sink: `glpi` (native inventory), `snipeit` (REST API) or `http` (signed record
    /// posted to an HTTPS JSON endpoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// When the server acknowledged the push.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<DateTime<Utc>>,
    /// The idempotency key of the push (SHA-256 of record id, sink and content hash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// SHA-256 of the bytes that were sent (before compression), 64 lowercase hex digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_sha256: Option<String>,
    /// The server's identifier of the item, when it gave one (Snipe-IT asset id, the
    /// endpoint's id…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_id: Option<String>,
    /// The server's answer, shortened (e.g. `{"status":"ok","expiration":24}`, `created`,
    /// `updated`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_answer: Option<String>,
    /// How many attempts it took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_tag_follows_the_serial_else_the_record() {
        let id = Uuid::parse_str("0190f3c2-7b1e-7c3a-9d2e-5a4b3c2d1e0f").unwrap();
        let a = asset_tag("AT-", Some("PF0ABCDE"), id);
        assert_eq!(a, asset_tag("AT-", Some(" PF0ABCDE "), Uuid::now_v7()));
        assert_ne!(a, asset_tag("AT-", Some("PF0ABCDF"), id));
        assert_eq!(a.len(), 13);
        assert!(
            a[3..]
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_lowercase())
        );
        assert_eq!(asset_tag("AT-", None, id), "AT-RB3C2D1E0F");
        assert_eq!(asset_tag("AT-", Some("  "), id), asset_tag("AT-", None, id));
    }

    fn bench() -> Bench {
        Bench {
            hostname: "bench-1".into(),
            tool: ToolInfo {
                name: "atelier".into(),
                version: "0.1.0".into(),
            },
            operator: None,
            partner: None,
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
