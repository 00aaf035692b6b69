//! Signing a record: what is signed, how, and the signed-record document.
//!
//! # What is signed
//!
//! The record's JSON, as a value (unknown members from newer writers included), **minus**
//! the three members listed in [`UNSIGNED_MEMBERS`]:
//!
//! - `/updated_at`: bookkeeping that every later save of the record changes;
//! - `/deliveries`: the pushes to central inventories, which happen after certification;
//! - `/certificate/seal`: the signature itself.
//!
//! Everything else is covered, including the certificate's own claims (its id, date, clock,
//! verdict and language): changing any of them breaks the signature. That view is put in
//! canonical form (RFC 8785, see [`crate::canonical`]); its UTF-8 bytes are hashed with
//! SHA-256 and signed with Ed25519 (RFC 8032, pure Ed25519 over the bytes themselves, not over
//! the hash). The hash identifies the certificate (it goes into the QR code); the signature
//! proves which bench issued it.
//!
//! # The signed-record document
//!
//! [`SignedRecord`] carries the signed bytes themselves, so that it verifies without the
//! store and without re-canonicalising anything:
//!
//! ```text
//! {
//!   "format": "atelier-signed-record/1",
//!   "record_json": "{\"bench\":{…},…}",          ← the exact signed text, a JSON string
//!   "seal": {
//!     "algorithm": "Ed25519",
//!     "canonicalisation": "RFC8785",
//!     "sha256": "<64 hex digits: SHA-256 of record_json's UTF-8 bytes>",
//!     "signature": "<128 hex digits: Ed25519 signature of those bytes>",
//!     "key_fingerprint": "3d40-17c3-e843-895a",
//!     "public_key": "<64 hex digits>"
//!   }
//! }
//! ```
//!
//! The seal is the same object as the record's `certificate.seal`. To check one by hand:
//! take `record_json` as UTF-8 bytes, compare their SHA-256 (`sha256sum`) with `sha256`, and
//! verify `signature` over those bytes with the public key (e.g. `openssl pkeyutl -verify
//! -rawin` with the key from [`crate::PublicKey::to_pem`]).

use atelier_record::{
    AssetRecord, CertificateSeal, CertificateSection, ClockSource, Language, TitleVerdict,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::canonical::{self, CanonError};
use crate::hex;
use crate::keys::BenchKey;

/// The signature algorithm, as written in seals.
pub const ALGORITHM: &str = "Ed25519";

/// The canonicalisation, as written in seals.
pub const CANONICALISATION: &str = "RFC8785";

/// The `format` of a [`SignedRecord`] document.
pub const SIGNED_RECORD_FORMAT: &str = "atelier-signed-record/1";

/// The members of a record that the signature does not cover, as JSON pointers (RFC 6901).
pub const UNSIGNED_MEMBERS: [&str; 3] = ["/updated_at", "/deliveries", "/certificate/seal"];

/// Why a record cannot be signed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The record has no canonical form (e.g. an integer beyond 2^53).
    #[error("the record cannot be put in canonical form: {0}")]
    Canonical(#[from] CanonError),
    /// The record cannot be turned into JSON.
    #[error("the record cannot be written as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// A record's signed bytes with their seal: what the PDF embeds, the export writes one per
/// line, and `atelier verify` checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedRecord {
    /// Always [`SIGNED_RECORD_FORMAT`].
    pub format: String,
    /// The exact text that was hashed and signed: the record's signed view in canonical form.
    pub record_json: String,
    /// Hash, signature and key.
    pub seal: CertificateSeal,
}

impl SignedRecord {
    /// The document as one line of JSON (for JSON Lines exports).
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The document as indented JSON, with a final newline (for files).
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }
}

/// The part of `record` the signature covers: `record` without [`UNSIGNED_MEMBERS`].
pub fn signed_view(record: &Value) -> Value {
    let mut view = record.clone();
    if let Some(members) = view.as_object_mut() {
        members.remove("updated_at");
        members.remove("deliveries");
        if let Some(certificate) = members
            .get_mut("certificate")
            .and_then(Value::as_object_mut)
        {
            certificate.remove("seal");
        }
    }
    view
}

/// The exact text that is hashed and signed for `record` (a record as JSON).
pub fn signed_text(record: &Value) -> Result<String, CanonError> {
    canonical::canonicalize(&signed_view(record))
}

/// SHA-256 of `bytes`, as 64 lowercase hex digits.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes))
}

/// Signs `record` as it is (its certificate claims included when it has some; see the
/// module docs for what is covered).
pub fn sign_record(record: &AssetRecord, key: &BenchKey) -> Result<SignedRecord, SignError> {
    sign_value(&serde_json::to_value(record)?, key)
}

/// Signs a record given as JSON (members this version does not know are signed too).
pub fn sign_value(record: &Value, key: &BenchKey) -> Result<SignedRecord, SignError> {
    let record_json = signed_text(record)?;
    let signature = key.sign(record_json.as_bytes());
    let public_key = key.public_key();
    let seal = CertificateSeal {
        algorithm: ALGORITHM.to_owned(),
        canonicalisation: CANONICALISATION.to_owned(),
        sha256: sha256_hex(record_json.as_bytes()),
        signature: hex::encode(&signature.to_bytes()),
        key_fingerprint: public_key.fingerprint().to_string(),
        public_key: public_key.to_hex(),
    };
    Ok(SignedRecord {
        format: SIGNED_RECORD_FORMAT.to_owned(),
        record_json,
        seal,
    })
}

/// What the caller knows about a certificate that the record does not say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRequest {
    /// The time of issue (normally `Utc::now()`, read from the clock described by `clock`).
    pub issued_at: DateTime<Utc>,
    /// Where `issued_at` comes from (see [`crate::clock::detect_clock_source`]).
    pub clock: ClockSource,
    /// The language of the certificate.
    pub language: Language,
    /// Whether every functional check passed (`None`: none was performed).
    pub functional_checks_passed: Option<bool>,
}

/// Issues a certificate for `record`: fills its `certificate` section (a new UUIDv7 whose time
/// is `issued_at`, the verdict from [`TitleVerdict::decide`], …), signs the record with `key`
/// and stores the seal in `certificate.seal`. A certificate the record already had is
/// replaced. On error `record` is left unchanged.
pub fn certify(
    record: &mut AssetRecord,
    request: CertificateRequest,
    key: &BenchKey,
) -> Result<SignedRecord, SignError> {
    let mut certified = record.clone();
    certified.certificate = Some(CertificateSection {
        certificate_id: uuid_v7_at(request.issued_at),
        issued_at: request.issued_at,
        clock: request.clock,
        all_wipes_passed: record.all_wipes_passed(),
        title_verdict: TitleVerdict::decide(&record.sanitization, request.functional_checks_passed),
        language: request.language,
        seal: None,
    });
    let signed = sign_record(&certified, key)?;
    if let Some(certificate) = certified.certificate.as_mut() {
        certificate.seal = Some(signed.seal.clone());
    }
    *record = certified;
    Ok(signed)
}

fn uuid_v7_at(at: DateTime<Utc>) -> Uuid {
    match u64::try_from(at.timestamp()) {
        Ok(seconds) => Uuid::new_v7(uuid::Timestamp::from_unix(
            uuid::NoContext,
            seconds,
            at.timestamp_subsec_nanos(),
        )),
        Err(_) => Uuid::now_v7(),
    }
}
