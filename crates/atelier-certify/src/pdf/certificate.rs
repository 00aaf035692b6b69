//! The A4 certificate: layout of [`CertificateContent`] on pages, the QR code, the logo, and
//! the signed record embedded as a file attachment (PDF 1.7, ISO 32000-1 §7.11.4 "Embedded
//! File Streams", listed in the document's `EmbeddedFiles` name tree).
//!
//! Page 1, top to bottom: the verdict box (kind of document, verdict in large capitals, a
//! plain-words explanation) with the QR code at its right; the organisation (logo, name,
//! address); then the sections (bench, machine, one per disk, deployment, functional checks,
//! certificate), continued on further pages when needed. Every page's footer repeats the
//! certificate id and the page number.

use atelier_record::{AssetRecord, Language};
use krilla::Document;
use krilla::embed::{AssociationKind, EmbeddedFile, MimeType};
use krilla::image::Image;
use krilla::metadata::{DateTime as PdfDateTime, Metadata};
use serde_json::Value;

use super::content::{CertificateContent, Tone, certificate_content};
use super::draw::{BLACK, GREY, Op, PageOps, WHITE, paint, wrap};
use super::fonts::{FontError, Fonts};
use crate::organisation::Organisation;
use crate::qr::{QrError, QrMatrix, qr_text};
use crate::sign::SignedRecord;
use chrono::{Datelike, Timelike};

/// A4 width in points (210 mm).
pub const A4_WIDTH: f32 = 595.28;
/// A4 height in points (297 mm).
pub const A4_HEIGHT: f32 = 841.89;

const MARGIN: f32 = 42.0;
const QR_SIZE: f32 = 112.0;
const LABEL_WIDTH: f32 = 150.0;
const BODY: f32 = 9.0;
const FOOTER_Y: f32 = A4_HEIGHT - 24.0;

/// The name of the attachment that holds the signed record, for a certificate id.
pub fn attachment_name(certificate_id: &str) -> String {
    format!("atelier-certificate-{certificate_id}.json")
}

/// Why a PDF could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// The fonts are missing.
    #[error(transparent)]
    Fonts(#[from] FontError),
    /// The signed record does not hold a certified asset record.
    #[error("the signed record cannot be read as a certified record: {0}")]
    Record(String),
    /// The configured logo cannot be used.
    #[error(
        "the logo {path} cannot be used ({cause}): give a PNG or JPEG file in [organisation] logo"
    )]
    Logo {
        /// The logo's path.
        path: String,
        /// Why.
        cause: String,
    },
    /// The QR code cannot hold the text.
    #[error(transparent)]
    Qr(#[from] QrError),
    /// The PDF library refused the document.
    #[error("the PDF could not be written: {0}")]
    Pdf(String),
}

/// The certified record a signed record holds (its seal put back into `certificate.seal`,
/// `updated_at` set to the time of issue).
pub fn record_of(signed: &SignedRecord) -> Result<AssetRecord, PdfError> {
    let mut value: Value =
        serde_json::from_str(&signed.record_json).map_err(|e| PdfError::Record(e.to_string()))?;
    let members = value
        .as_object_mut()
        .ok_or_else(|| PdfError::Record("not a JSON object".into()))?;
    let issued = members
        .get("certificate")
        .and_then(|c| c.get("issued_at"))
        .or_else(|| members.get("created_at"))
        .cloned()
        .unwrap_or(Value::Null);
    members.insert("updated_at".into(), issued);
    let certificate = members
        .get_mut("certificate")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| PdfError::Record("it has no certificate section".into()))?;
    certificate.insert(
        "seal".into(),
        serde_json::to_value(&signed.seal).map_err(|e| PdfError::Record(e.to_string()))?,
    );
    serde_json::from_value(value).map_err(|e| PdfError::Record(e.to_string()))
}

/// Renders the certificate of `signed` (see the module docs) in `language` (default: the
/// language the certificate was issued in). The PDF embeds `signed` as
/// `atelier-certificate-<id>.json`, byte for byte what [`SignedRecord::to_json_pretty`]
/// writes.
pub fn render_certificate(
    signed: &SignedRecord,
    organisation: &Organisation,
    fonts: &Fonts,
    language: Option<Language>,
) -> Result<Vec<u8>, PdfError> {
    let record = record_of(signed)?;
    let cert = record.certificate.clone().unwrap_or_default();
    let lang = language.unwrap_or(cert.language);
    let content = certificate_content(&record, organisation, lang, &signed.seal.sha256);
    let qr = QrMatrix::encode(&qr_text(
        cert.certificate_id,
        &signed.seal.sha256,
        organisation,
    ))?;
    let logo = match &organisation.logo {
        Some(path) => Some(load_logo(path)?),
        None => None,
    };
    let pages = layout(&content, fonts, qr, logo, &cert.certificate_id.to_string());

    let mut document = Document::new();
    paint(&mut document, fonts, &pages);
    let issued = cert.issued_at;
    let date = PdfDateTime::new(issued.year().clamp(0, 9999) as u16)
        .month(issued.month() as u8)
        .day(issued.day() as u8)
        .hour(issued.hour() as u8)
        .minute(issued.minute() as u8)
        .second(issued.second() as u8);
    document.set_metadata(
        Metadata::new()
            .title(format!("{} — {}", content.kicker, content.verdict))
            .language(match lang {
                Language::Fr => "fr".into(),
                Language::En => "en".into(),
            })
            .creator(format!(
                "{} {}",
                record.bench.tool.name, record.bench.tool.version
            ))
            .creation_date(date),
    );
    let id = cert.certificate_id.to_string();
    document
        .embed_file(EmbeddedFile {
            path: attachment_name(&id),
            mime_type: MimeType::new("application/json"),
            description: Some(match lang {
                Language::Fr => "Dossier signé (atelier-signed-record/1) : atelier verify".into(),
                Language::En => "Signed record (atelier-signed-record/1): atelier verify".into(),
            }),
            association_kind: AssociationKind::Source,
            data: signed.to_json_pretty().into_bytes().into(),
            modification_date: Some(date),
            compress: Some(false),
            location: None,
        })
        .ok_or_else(|| PdfError::Pdf("the signed record could not be attached".into()))?;
    document
        .finish()
        .map_err(|e| PdfError::Pdf(format!("{e:?}")))
}

fn load_logo(path: &std::path::Path) -> Result<Image, PdfError> {
    let err = |cause: String| PdfError::Logo {
        path: path.display().to_string(),
        cause,
    };
    let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    if bytes.starts_with(b"\x89PNG") {
        Image::from_png(bytes.into(), true).map_err(err)
    } else if bytes.starts_with(&[0xFF, 0xD8]) {
        Image::from_jpeg(bytes.into(), true).map_err(err)
    } else {
        Err(err("neither PNG nor JPEG".into()))
    }
}

struct Cursor {
    pages: Vec<PageOps>,
    y: f32,
}

impl Cursor {
    fn page(&mut self) -> &mut Vec<Op> {
        &mut self.pages.last_mut().expect("a page").ops
    }

    fn new_page(&mut self) {
        self.pages.push(PageOps {
            width: A4_WIDTH,
            height: A4_HEIGHT,
            ops: Vec::new(),
        });
        self.y = MARGIN;
    }

    fn ensure(&mut self, height: f32) {
        if self.y + height > FOOTER_Y - 14.0 {
            self.new_page();
        }
    }

    fn text(&mut self, x: f32, y: f32, size: f32, bold: bool, colour: (u8, u8, u8), t: &str) {
        self.page().push(Op::Text {
            x,
            y,
            size,
            bold,
            colour,
            text: t.to_owned(),
        });
    }
}

/// Lays `content` out on A4 pages.
fn layout(
    content: &CertificateContent,
    fonts: &Fonts,
    qr: QrMatrix,
    logo: Option<Image>,
    certificate_id: &str,
) -> Vec<PageOps> {
    let mut c = Cursor {
        pages: Vec::new(),
        y: MARGIN,
    };
    c.new_page();
    let width = A4_WIDTH - 2.0 * MARGIN;

    // The verdict box, the QR code at its right.
    let box_w = width - QR_SIZE - 10.0;
    let inner = box_w - 24.0;
    let mut verdict_size = 30.0;
    while verdict_size > 14.0 && fonts.bold.width(&content.verdict, verdict_size) > inner {
        verdict_size -= 1.0;
    }
    let verdict_lines = wrap(fonts, &content.verdict, verdict_size, true, inner);
    let explanation = wrap(fonts, &content.explanation, 10.5, false, inner);
    let box_h = (14.0
        + 12.0
        + verdict_lines.len() as f32 * verdict_size * 1.15
        + 6.0
        + explanation.len() as f32 * 13.5
        + 8.0)
        .max(QR_SIZE);
    let (bg, fg) = match content.tone {
        Tone::Good => ((27, 110, 52), WHITE),
        Tone::Warning => ((176, 92, 0), WHITE),
        Tone::Bad => ((176, 0, 32), WHITE),
    };
    let top = c.y;
    c.page().push(Op::Rect {
        x: MARGIN,
        y: top,
        w: box_w,
        h: box_h,
        colour: bg,
    });
    let mut y = top + 20.0;
    c.text(MARGIN + 12.0, y, 9.0, true, fg, &content.kicker);
    y += 6.0;
    for line in &verdict_lines {
        y += verdict_size * 1.1;
        c.text(MARGIN + 12.0, y, verdict_size, true, fg, line);
    }
    y += 8.0;
    for line in &explanation {
        y += 13.5;
        c.text(MARGIN + 12.0, y, 10.5, false, fg, line);
    }
    c.page().push(Op::Qr {
        x: A4_WIDTH - MARGIN - QR_SIZE,
        y: top,
        size: QR_SIZE,
        matrix: qr,
    });
    c.y = top + box_h + 18.0;

    // The organisation.
    let mut text_x = MARGIN;
    let org_top = c.y;
    let mut logo_h = 0.0;
    if let Some(image) = logo {
        let (iw, ih) = image.size();
        let scale = (48.0 / ih.max(1) as f32).min(110.0 / iw.max(1) as f32);
        let (w, h) = (iw as f32 * scale, ih as f32 * scale);
        c.page().push(Op::Image {
            x: MARGIN,
            y: org_top,
            w,
            h,
            image,
        });
        text_x += w + 12.0;
        logo_h = h;
    }
    let mut y = org_top + 12.0;
    for (i, line) in content.organisation.iter().enumerate() {
        let (size, bold) = if i == 0 { (13.0, true) } else { (9.5, false) };
        c.text(text_x, y, size, bold, BLACK, line);
        y += if i == 0 { 14.0 } else { 12.0 };
    }
    c.y = (y - 8.0).max(org_top + logo_h) + 12.0;

    // The sections.
    let value_x = MARGIN + LABEL_WIDTH;
    let value_w = width - LABEL_WIDTH;
    for section in &content.sections {
        c.ensure(40.0);
        c.y += 6.0;
        let heading = wrap(fonts, &section.heading, 11.0, true, width);
        for line in &heading {
            c.y += 13.0;
            c.text(MARGIN, c.y, 11.0, true, BLACK, line);
        }
        c.y += 4.0;
        let rule_y = c.y;
        c.page().push(Op::Rect {
            x: MARGIN,
            y: rule_y,
            w: width,
            h: 0.6,
            colour: GREY,
        });
        c.y += 2.0;
        for (label, value) in &section.rows {
            let labels = wrap(fonts, label, BODY, false, LABEL_WIDTH - 8.0);
            let values = wrap(fonts, value, BODY, false, value_w);
            let n = labels.len().max(values.len());
            c.ensure(n as f32 * 11.5 + 2.0);
            let row_top = c.y;
            for (i, l) in labels.iter().enumerate() {
                c.text(
                    MARGIN,
                    row_top + 10.0 + i as f32 * 11.5,
                    BODY,
                    false,
                    GREY,
                    l,
                );
            }
            for (i, v) in values.iter().enumerate() {
                c.text(
                    value_x,
                    row_top + 10.0 + i as f32 * 11.5,
                    BODY,
                    false,
                    BLACK,
                    v,
                );
            }
            c.y = row_top + n as f32 * 11.5 + 1.5;
        }
    }
    c.y += 10.0;
    let note = wrap(fonts, &content.check_note, 8.5, false, width);
    c.ensure(note.len() as f32 * 11.0);
    for line in &note {
        c.y += 11.0;
        c.text(MARGIN, c.y, 8.5, false, GREY, line);
    }

    // Footers.
    let total = c.pages.len();
    let page_word = match content.language {
        Language::Fr => "page",
        Language::En => "page",
    };
    for (i, p) in c.pages.iter_mut().enumerate() {
        p.ops.push(Op::Text {
            x: MARGIN,
            y: FOOTER_Y,
            size: 7.5,
            bold: false,
            colour: GREY,
            text: format!("{certificate_id} — {page_word} {}/{total}", i + 1),
        });
    }
    c.pages
}
