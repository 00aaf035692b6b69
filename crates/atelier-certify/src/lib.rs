//! Tamper-evident traceability certificates: the signing core of the certify stage.
//!
//! A certified [`AssetRecord`](atelier_record::AssetRecord) carries a `certificate` section
//! whose `seal` proves, offline, which bench issued it and that nothing it covers changed
//! since. The pieces:
//!
//! - [`canonical`]: RFC 8785 (JCS) canonical JSON, with the I-JSON guards it presumes
//!   (no repeated member names, no integer a double cannot hold);
//! - [`keys`]: the bench's Ed25519 key in `DATA_DIR/bench-signing-key` (PKCS#8 PEM, mode
//!   0600, created on first use), its public key and fingerprint;
//! - [`trust`]: the trust list of registered bench keys (`DATA_DIR/trusted-keys`);
//! - [`sign`]: what is signed (the record minus `updated_at`, `deliveries` and
//!   `certificate.seal`), [`certify`] and [`sign_record`], and the [`SignedRecord`] document;
//! - [`verify`](mod@verify): [`verify()`], [`verify_record`] and [`verify_document`], with one error per
//!   kind of tampering;
//! - [`clock`]: whether the system clock was NTP-synchronised, for the certificate's date.
//!
//! No PDF, printing or pushing here: those build on this crate.

mod atomic;
pub mod canonical;
pub mod clock;
mod hex;
pub mod keys;
pub mod sign;
pub mod trust;
pub mod verify;

pub use canonical::CanonError;
pub use keys::{
    BenchKey, Fingerprint, KeyError, KeyStore, PublicKey, PublicKeyError, SIGNING_KEY_FILE,
};
pub use sign::{
    ALGORITHM, CANONICALISATION, CertificateRequest, SIGNED_RECORD_FORMAT, SignError, SignedRecord,
    UNSIGNED_MEMBERS, certify, sign_record, sign_value,
};
pub use trust::{TRUSTED_KEYS_FILE, TrustList, TrustListError, TrustedKey};
pub use verify::{
    Verified, VerifyError, verify, verify_asset_record, verify_document, verify_record,
};
