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
//! - [`clock`]: whether the system clock was NTP-synchronised, for the certificate's date;
//! - [`pdf`]: the A4 certificate (verdict first, every NIST SP 800-88 Appendix G field per
//!   disk, QR code, the signed record embedded as an attachment) and [`verify_pdf`];
//! - [`qr`]: what the QR code carries; [`organisation`]: the `[organisation]` settings;
//! - [`label`]: the 62 × 29 mm asset label, as PDF and as Brother QL raster data;
//! - [`print`](mod@print): sending a certificate or label to a printer (IPP, `lp` fallback).
//!
//! No pushing here: that is `atelier-push`.

mod atomic;
pub mod canonical;
pub mod clock;
mod hex;
pub mod keys;
pub mod label;
pub mod organisation;
pub mod pdf;
pub mod print;
pub mod qr;
pub mod report;
pub mod sign;
pub mod trust;
pub mod verify;

pub use canonical::CanonError;
pub use keys::{
    BenchKey, Fingerprint, KeyError, KeyStore, PublicKey, PublicKeyError, SIGNING_KEY_FILE,
};
pub use organisation::Organisation;
pub use pdf::{Fonts, PdfError, render_certificate, verify_pdf};
pub use sign::{
    ALGORITHM, CANONICALISATION, CertificateRequest, SIGNED_RECORD_FORMAT, SignError, SignedRecord,
    UNSIGNED_MEMBERS, certify, sign_record, sign_value,
};
pub use trust::{TRUSTED_KEYS_FILE, TrustList, TrustListError, TrustedKey};
pub use verify::{
    Verified, VerifyError, verify, verify_asset_record, verify_document, verify_record,
};
