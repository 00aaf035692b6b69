//! The `[organisation]` section of `atelier.toml`: who issues the certificates.
//!
//! ```toml
//! [organisation]
//! name = "Atelier du Réemploi"
//! address = ["12 rue des Lilas", "69000 Lyon"]
//! logo = "/media/atelier-data/logo.png"   # PNG or JPEG
//! verification_url = "https://example.org/verify/{id}?sha256={sha256}"
//! destination = "Don à une association partenaire"
//! ```
//!
//! Every field is optional; a certificate without a name says "organisation not configured".

use std::path::PathBuf;

use serde::Deserialize;
use uuid::Uuid;

/// The organisation that runs the bench, as printed on certificates and labels.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    /// Its name.
    #[serde(default)]
    pub name: Option<String>,
    /// Its postal address, one line per element.
    #[serde(default)]
    pub address: Vec<String>,
    /// A PNG or JPEG logo, printed at the top left of the certificate.
    #[serde(default)]
    pub logo: Option<PathBuf>,
    /// Where a certificate can be checked online; `{id}` and `{sha256}` are replaced by the
    /// certificate's id and hash. Goes into the QR code.
    #[serde(default)]
    pub verification_url: Option<String>,
    /// NIST SP 800-88 "post-sanitization destination" of the machines (default: reuse).
    #[serde(default)]
    pub destination: Option<String>,
}

impl Organisation {
    /// The verification URL for one certificate, when one is configured.
    pub fn verification_url_for(&self, certificate_id: Uuid, sha256: &str) -> Option<String> {
        self.verification_url.as_ref().map(|template| {
            template
                .replace("{id}", &certificate_id.to_string())
                .replace("{sha256}", sha256)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_template_is_filled() {
        let org = Organisation {
            verification_url: Some("https://x.example/v/{id}?h={sha256}".into()),
            ..Default::default()
        };
        let id = Uuid::nil();
        assert_eq!(
            org.verification_url_for(id, "ab").as_deref(),
            Some("https://x.example/v/00000000-0000-0000-0000-000000000000?h=ab")
        );
        assert_eq!(Organisation::default().verification_url_for(id, "ab"), None);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = toml::from_str::<Organisation>("nmae = \"x\"").unwrap_err();
        assert!(err.to_string().contains("nmae"), "{err}");
    }
}
