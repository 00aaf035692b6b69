//! Verifying a signed record or a certified asset record, offline.
//!
//! Every check failure has its own [`VerifyError`] variant, so the message says what was
//! changed: the record ([`VerifyError::RecordAltered`]), the stated hash
//! ([`VerifyError::HashAltered`]), the signature ([`VerifyError::BadSignature`]), or whether
//! the signature is sound but made by a key the trust list does not hold
//! ([`VerifyError::UnknownKey`]).

use atelier_record::{AssetRecord, CertificateSeal, CertificateSection};
use ed25519_dalek::Signature;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::canonical::{self, CanonError};
use crate::hex;
use crate::keys::{Fingerprint, PublicKey};
use crate::sign::{self, ALGORITHM, CANONICALISATION, SIGNED_RECORD_FORMAT, SignedRecord};
use crate::trust::{TrustList, TrustedKey};

/// Why a document does not verify.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// Not JSON, or neither a signed record nor an asset record.
    #[error("this is neither an Atelier signed record nor a certified asset record: {0}")]
    Malformed(String),
    /// A signed-record document of another format or version.
    #[error("unknown signed-record format {0:?} (this version reads {SIGNED_RECORD_FORMAT:?})")]
    UnsupportedFormat(String),
    /// An asset record without a certificate seal.
    #[error("the record carries no signature: it was never certified")]
    NotSigned,
    /// A signature algorithm other than Ed25519.
    #[error("unsupported signature algorithm {0:?} (this version checks {ALGORITHM:?})")]
    UnsupportedAlgorithm(String),
    /// A canonicalisation other than RFC 8785.
    #[error("unsupported canonicalisation {0:?} (this version uses {CANONICALISATION:?})")]
    UnsupportedCanonicalisation(String),
    /// A seal field that cannot be read (wrong length, upper case, not a key…).
    #[error("the seal's {field} cannot be read: {detail}")]
    MalformedSeal {
        /// The field: `sha256`, `signature`, `public_key` or `key_fingerprint`.
        field: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// The stated fingerprint is not the public key's.
    #[error(
        "the seal names key {stated} but carries the public key whose fingerprint is {actual}: \
         the seal was altered"
    )]
    FingerprintMismatch {
        /// The fingerprint the seal states.
        stated: String,
        /// The fingerprint of the public key it carries.
        actual: Fingerprint,
    },
    /// The signed content changed after signing.
    #[error(
        "the record was changed after it was signed: its SHA-256 is now {actual_sha256}, the \
         certificate says {stated_sha256}"
    )]
    RecordAltered {
        /// The hash the seal states.
        stated_sha256: String,
        /// The hash of the content as it is now.
        actual_sha256: String,
    },
    /// The content is intact and correctly signed, but the stated hash was changed.
    #[error(
        "the certificate's hash was altered: it says {stated_sha256}, the signed record's \
         SHA-256 is {actual_sha256}"
    )]
    HashAltered {
        /// The hash the seal states.
        stated_sha256: String,
        /// The hash of the signed content.
        actual_sha256: String,
    },
    /// The stated hash matches the content but the signature does not: the signature was
    /// altered, or the content was altered and its hash recomputed.
    #[error(
        "the signature does not match the record: the signature was altered, or the record was \
         altered and its hash recomputed"
    )]
    BadSignature,
    /// A sound signature by a key the trust list does not hold.
    #[error(
        "signed by an unknown key (fingerprint {fingerprint}): if it is one of your benches, \
         register its public key {public_key} in the trust list"
    )]
    UnknownKey {
        /// The key's fingerprint.
        fingerprint: Fingerprint,
        /// The key.
        public_key: PublicKey,
    },
    /// A signed-record whose `record_json` is signed but not in canonical form.
    #[error("the signed text is not in RFC 8785 canonical form: it was not made by Atelier")]
    NotCanonical,
    /// The record has no canonical form (e.g. an integer beyond 2^53).
    #[error("the record cannot be put in canonical form: {0}")]
    Canonical(#[from] CanonError),
}

/// A document that verified.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    /// The exact text that was signed.
    pub signed_json: String,
    /// Its SHA-256 (lowercase hex): the certificate's identifier in QR codes.
    pub sha256: String,
    /// The seal that verified.
    pub seal: CertificateSeal,
    /// The trusted key that signed, with its label.
    pub key: TrustedKey,
}

impl Verified {
    /// The signed content as JSON.
    pub fn payload(&self) -> Value {
        canonical::parse_strict(&self.signed_json).unwrap_or(Value::Null)
    }

    /// The certificate's claims, when the signed record was certified (and in a format this
    /// version reads).
    pub fn certificate(&self) -> Option<CertificateSection> {
        let mut certificate: CertificateSection =
            serde_json::from_value(self.payload().get("certificate")?.clone()).ok()?;
        certificate.seal = Some(self.seal.clone());
        Some(certificate)
    }

    /// The signed record as an [`AssetRecord`]. The members the signature does not cover
    /// are filled back: the seal that verified, no deliveries, and `updated_at` set to the
    /// certificate's `issued_at` (else `created_at`).
    pub fn record(&self) -> Result<AssetRecord, serde_json::Error> {
        let mut value = self.payload();
        if let Some(members) = value.as_object_mut() {
            let updated = members
                .get("certificate")
                .and_then(|c| c.get("issued_at"))
                .or_else(|| members.get("created_at"))
                .cloned()
                .unwrap_or(Value::Null);
            members.insert("updated_at".into(), updated);
            if let Some(certificate) = members
                .get_mut("certificate")
                .and_then(Value::as_object_mut)
            {
                certificate.insert("seal".into(), serde_json::to_value(&self.seal)?);
            }
        }
        serde_json::from_value(value)
    }
}

/// Verifies a signed-record document against `trusted`.
pub fn verify(signed: &SignedRecord, trusted: &TrustList) -> Result<Verified, VerifyError> {
    if signed.format != SIGNED_RECORD_FORMAT {
        return Err(VerifyError::UnsupportedFormat(signed.format.clone()));
    }
    let key = check_seal(signed.record_json.as_bytes(), &signed.seal, trusted)?;
    if !canonical::is_canonical(&signed.record_json) {
        return Err(VerifyError::NotCanonical);
    }
    Ok(Verified {
        signed_json: signed.record_json.clone(),
        sha256: signed.seal.sha256.clone(),
        seal: signed.seal.clone(),
        key,
    })
}

/// Verifies a certified asset record given as JSON: recomputes its signed view (see
/// [`crate::sign`]) and checks it against `certificate.seal`.
pub fn verify_record(record: &Value, trusted: &TrustList) -> Result<Verified, VerifyError> {
    let seal = record
        .get("certificate")
        .and_then(|c| c.get("seal"))
        .ok_or(VerifyError::NotSigned)?;
    let seal: CertificateSeal = serde_json::from_value(seal.clone())
        .map_err(|e| VerifyError::Malformed(format!("certificate.seal: {e}")))?;
    let signed_json = sign::signed_text(record)?;
    let key = check_seal(signed_json.as_bytes(), &seal, trusted)?;
    Ok(Verified {
        signed_json,
        sha256: seal.sha256.clone(),
        seal,
        key,
    })
}

/// Verifies a certified [`AssetRecord`] (see [`verify_record`]).
pub fn verify_asset_record(
    record: &AssetRecord,
    trusted: &TrustList,
) -> Result<Verified, VerifyError> {
    let value = serde_json::to_value(record).map_err(|e| VerifyError::Malformed(e.to_string()))?;
    verify_record(&value, trusted)
}

/// Verifies a document read from a file: a signed record ([`verify`]) or a certified asset
/// record ([`verify_record`]), told apart by its members. The text must be UTF-8 JSON with no
/// member name repeated in an object.
pub fn verify_document(bytes: &[u8], trusted: &TrustList) -> Result<Verified, VerifyError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| VerifyError::Malformed(format!("not UTF-8 text: {e}")))?;
    let value = canonical::parse_strict(text).map_err(|e| VerifyError::Malformed(e.to_string()))?;
    if value.get("format").is_some() || value.get("record_json").is_some() {
        let signed: SignedRecord =
            serde_json::from_value(value).map_err(|e| VerifyError::Malformed(e.to_string()))?;
        verify(&signed, trusted)
    } else if value.get("record_version").is_some() {
        verify_record(&value, trusted)
    } else {
        Err(VerifyError::Malformed(
            "it has neither `format` (signed record) nor `record_version` (asset record)".into(),
        ))
    }
}

/// Checks `seal` over `signed` and returns the trusted key that made it.
fn check_seal(
    signed: &[u8],
    seal: &CertificateSeal,
    trusted: &TrustList,
) -> Result<TrustedKey, VerifyError> {
    if seal.algorithm != ALGORITHM {
        return Err(VerifyError::UnsupportedAlgorithm(seal.algorithm.clone()));
    }
    if seal.canonicalisation != CANONICALISATION {
        return Err(VerifyError::UnsupportedCanonicalisation(
            seal.canonicalisation.clone(),
        ));
    }
    let public_key =
        PublicKey::from_hex(&seal.public_key).map_err(|e| VerifyError::MalformedSeal {
            field: "public_key",
            detail: e.to_string(),
        })?;
    let fingerprint = public_key.fingerprint();
    if seal.key_fingerprint != fingerprint.to_string() {
        return Err(VerifyError::FingerprintMismatch {
            stated: seal.key_fingerprint.clone(),
            actual: fingerprint,
        });
    }
    let stated: [u8; 32] =
        hex::decode_array(&seal.sha256).ok_or_else(|| VerifyError::MalformedSeal {
            field: "sha256",
            detail: "not 64 lowercase hex digits".into(),
        })?;
    let signature: [u8; 64] =
        hex::decode_array(&seal.signature).ok_or_else(|| VerifyError::MalformedSeal {
            field: "signature",
            detail: "not 128 lowercase hex digits".into(),
        })?;
    let actual: [u8; 32] = Sha256::digest(signed).into();
    let signature_holds = public_key.verifying_key().is_some_and(|key| {
        key.verify_strict(signed, &Signature::from_bytes(&signature))
            .is_ok()
    });
    let hashes_agree = actual == stated;
    match (signature_holds, hashes_agree) {
        (false, false) => {
            return Err(VerifyError::RecordAltered {
                stated_sha256: seal.sha256.clone(),
                actual_sha256: hex::encode(&actual),
            });
        }
        (false, true) => return Err(VerifyError::BadSignature),
        (true, false) => {
            return Err(VerifyError::HashAltered {
                stated_sha256: seal.sha256.clone(),
                actual_sha256: hex::encode(&actual),
            });
        }
        (true, true) => {}
    }
    trusted
        .get(&public_key)
        .cloned()
        .ok_or(VerifyError::UnknownKey {
            fingerprint,
            public_key,
        })
}
