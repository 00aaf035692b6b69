//! The certificate as a PDF (A4, French or English), with the signed record embedded, and
//! the way back: extracting that record from a PDF to verify it.
//!
//! Made with krilla (a PDF 1.7 writer, ISO 32000-1), fonts from the system
//! ([`fonts`]). The text comes from [`content`], the page layout from [`certificate`].

pub mod certificate;
pub mod content;
pub mod draw;
pub mod extract;
pub mod fonts;
mod format;
pub mod report;

pub use certificate::{
    A4_HEIGHT, A4_WIDTH, PdfError, attachment_name, record_of, render_certificate,
};
pub use content::{BANNED_WORDING, CertificateContent, certificate_content, verdict_title};
pub use extract::{ExtractError, embedded_record, is_pdf, verify_pdf};
pub use fonts::{FontError, Fonts};
