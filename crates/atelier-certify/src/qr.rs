//! The QR code of a certificate or label: what it carries and its modules.
//!
//! Encoding follows ISO/IEC 18004 (QR Code) through the `qrcode` crate, error correction
//! level M (about 15 % of the code may be damaged). The text it carries:
//!
//! - without a configured verification URL: `ATELIER-CERT:1;id=<certificate id>;sha256=<hash>`;
//! - with one: the URL with `{id}` and `{sha256}` filled in, and what the template does not
//!   hold appended as a fragment (`#id=<certificate id>&sha256=<hash>`, or just one of them),
//!   so the id and the hash are always there.
//!
//! The hash is the SHA-256 of the signed canonical record (see [`crate::sign`]): whoever
//! scans the code can compare it with `atelier verify`'s output.

use qrcode::{EcLevel, QrCode};
use uuid::Uuid;

use crate::organisation::Organisation;

/// Prefix of the QR text when no verification URL is configured.
pub const QR_PREFIX: &str = "ATELIER-CERT:1";

/// The text a certificate's QR code carries (see the module docs).
pub fn qr_text(certificate_id: Uuid, sha256: &str, organisation: &Organisation) -> String {
    match organisation.verification_url_for(certificate_id, sha256) {
        Some(url) => {
            let template = organisation.verification_url.as_deref().unwrap_or_default();
            let mut missing = Vec::new();
            if !template.contains("{id}") {
                missing.push(format!("id={certificate_id}"));
            }
            if !template.contains("{sha256}") {
                missing.push(format!("sha256={sha256}"));
            }
            if missing.is_empty() {
                url
            } else {
                format!("{url}#{}", missing.join("&"))
            }
        }
        None => format!("{QR_PREFIX};id={certificate_id};sha256={sha256}"),
    }
}

/// A QR code as a square of modules (true: dark), without the quiet zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrMatrix {
    width: usize,
    dark: Vec<bool>,
}

/// The text is too long for a QR code.
#[derive(Debug, thiserror::Error)]
#[error("this text does not fit in a QR code: {0}")]
pub struct QrError(String);

impl QrMatrix {
    /// Encodes `text` with error correction level M.
    pub fn encode(text: &str) -> Result<QrMatrix, QrError> {
        let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
            .map_err(|e| QrError(e.to_string()))?;
        let width = code.width();
        let dark = code
            .to_colors()
            .into_iter()
            .map(|c| c == qrcode::Color::Dark)
            .collect();
        Ok(QrMatrix { width, dark })
    }

    /// Modules per side.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Whether the module at column `x`, row `y` is dark.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.width && self.dark[y * self.width + x]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    #[test]
    fn text_carries_id_and_hash_with_or_without_url() {
        let id = Uuid::now_v7();
        let plain = qr_text(id, SHA, &Organisation::default());
        assert_eq!(plain, format!("ATELIER-CERT:1;id={id};sha256={SHA}"));
        let org = Organisation {
            verification_url: Some("https://v.example/c".into()),
            ..Default::default()
        };
        let with_url = qr_text(id, SHA, &org);
        assert_eq!(
            with_url,
            format!("https://v.example/c#id={id}&sha256={SHA}")
        );
        let org = Organisation {
            verification_url: Some("https://v.example/c/{id}/{sha256}".into()),
            ..Default::default()
        };
        assert_eq!(
            qr_text(id, SHA, &org),
            format!("https://v.example/c/{id}/{SHA}")
        );
        let org = Organisation {
            verification_url: Some("https://v.example/c/{id}".into()),
            ..Default::default()
        };
        assert_eq!(
            qr_text(id, SHA, &org),
            format!("https://v.example/c/{id}#sha256={SHA}")
        );
    }

    #[test]
    fn matrix_has_finder_patterns() {
        let m = QrMatrix::encode(&format!("{QR_PREFIX};id={};sha256={SHA}", Uuid::nil())).unwrap();
        assert!(
            m.width() >= 21 && (m.width() - 17).is_multiple_of(4),
            "{}",
            m.width()
        );
        // The 7×7 finder pattern in the top-left corner: dark ring, light ring, dark centre.
        for i in 0..7 {
            assert!(m.is_dark(i, 0) && m.is_dark(0, i) && m.is_dark(i, 6) && m.is_dark(6, i));
        }
        assert!(!m.is_dark(1, 1) && m.is_dark(3, 3));
        assert!(!m.is_dark(m.width(), 0));
    }
}
