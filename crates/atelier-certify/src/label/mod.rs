//! The asset label: a small sticker (62 × 29 mm, Brother DK-11209 size) with the asset tag,
//! the model, CPU / RAM / disk and a QR code, as a PDF for any printer ([`render_label_pdf`])
//! and as Brother QL raster data ([`brother`]) drawn by [`raster`].
//!
//! The same layout ([`layout_label`], a list of drawing operations in points) feeds both, so
//! the PDF and the raster show the same thing.

pub mod brother;
pub mod raster;

use atelier_record::{AssetRecord, Language};
use krilla::Document;

use crate::organisation::Organisation;
use crate::pdf::PdfError;
use crate::pdf::draw::{BLACK, Op, PageOps, paint, wrap};
use crate::pdf::fonts::Fonts;
use crate::qr::{QrMatrix, qr_text};

/// Label width in millimetres (across a 62 mm tape).
pub const LABEL_WIDTH_MM: f32 = 62.0;
/// Label height in millimetres (along the tape).
pub const LABEL_HEIGHT_MM: f32 = 29.0;

const MM: f32 = 72.0 / 25.4;

/// What the label says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelContent {
    /// The asset tag (see [`asset_tag`]).
    pub asset_tag: String,
    /// Manufacturer and model.
    pub model: String,
    /// CPU.
    pub cpu: String,
    /// Memory and disks.
    pub memory_disks: String,
    /// The certificate's verdict, or "not certified".
    pub status: String,
    /// The QR code's text.
    pub qr: String,
}

/// The asset tag of a record's machine, the same one Snipe-IT gets
/// ([`AssetRecord::asset_tag`] with [`atelier_record::DEFAULT_ASSET_TAG_PREFIX`]): from the
/// machine's serial, else from the record id.
pub fn asset_tag(record: &AssetRecord) -> String {
    record.asset_tag(atelier_record::DEFAULT_ASSET_TAG_PREFIX)
}

fn gib(bytes: u64, fr: bool) -> String {
    format!(
        "{} {}",
        (bytes as f64 / (1u64 << 30) as f64).round(),
        if fr { "Gio" } else { "GiB" }
    )
}

fn gb(bytes: u64) -> String {
    let gb = bytes as f64 / 1e9;
    if gb >= 10.0 {
        format!("{gb:.0} GB")
    } else {
        format!("{gb:.1} GB")
    }
}

/// The label of `record` in `lang`.
pub fn label_content(
    record: &AssetRecord,
    organisation: &Organisation,
    lang: Language,
) -> LabelContent {
    let fr = lang == Language::Fr;
    let unknown = "?";
    let (model, cpu, memory_disks) = match &record.hardware {
        Some(hw) => {
            let vendor = hw.identity.system_vendor.get().cloned().unwrap_or_default();
            let product = hw.identity.product_name.get().cloned().unwrap_or_default();
            let model = format!("{vendor} {product}").trim().to_owned();
            let cpu = hw
                .cpu
                .as_ref()
                .and_then(|c| c.model.clone())
                .unwrap_or_else(|| unknown.into());
            let ram = hw
                .memory
                .installed_bytes
                .or(hw.memory.total_bytes.get().copied())
                .map(|b| gib(b, fr))
                .unwrap_or_else(|| unknown.into());
            let mut disks: Vec<String> = hw
                .disks
                .iter()
                .filter(|d| !d.boot_medium)
                .map(|d| gb(d.device.size_bytes))
                .collect();
            if disks.is_empty() {
                disks = record
                    .sanitization
                    .iter()
                    .map(|e| gb(e.device.size_bytes))
                    .collect();
            }
            (
                if model.is_empty() {
                    unknown.to_owned()
                } else {
                    model
                },
                cpu,
                format!(
                    "RAM {ram} · {} {}",
                    if fr { "Disque" } else { "Disk" },
                    if disks.is_empty() {
                        "—".to_owned()
                    } else {
                        disks.join(" + ")
                    }
                ),
            )
        }
        None => {
            let disks: Vec<String> = record
                .sanitization
                .iter()
                .map(|e| gb(e.device.size_bytes))
                .collect();
            (
                if fr {
                    "pas d'inventaire".to_owned()
                } else {
                    "no inventory".to_owned()
                },
                unknown.to_owned(),
                format!(
                    "{} {}",
                    if fr { "Disque" } else { "Disk" },
                    if disks.is_empty() {
                        "—".to_owned()
                    } else {
                        disks.join(" + ")
                    }
                ),
            )
        }
    };
    let (status, qr) = match &record.certificate {
        Some(cert) => {
            let sha = cert
                .seal
                .as_ref()
                .map(|s| s.sha256.clone())
                .unwrap_or_default();
            (
                crate::pdf::verdict_title(lang, cert.title_verdict).to_owned(),
                qr_text(cert.certificate_id, &sha, organisation),
            )
        }
        None => (
            if fr { "NON CERTIFIÉ" } else { "NOT CERTIFIED" }.to_owned(),
            format!("ATELIER-RECORD:1;id={}", record.id),
        ),
    };
    LabelContent {
        asset_tag: asset_tag(record),
        model,
        cpu,
        memory_disks,
        status,
        qr,
    }
}

/// The label's page size in points (62 × 29 mm).
pub fn label_size() -> (f32, f32) {
    (LABEL_WIDTH_MM * MM, LABEL_HEIGHT_MM * MM)
}

/// Lays the label out on a `width` × `height` points page: QR code on the left, text on the
/// right, each line shrunk or wrapped to fit.
pub fn layout_label(
    content: &LabelContent,
    fonts: &Fonts,
    width: f32,
    height: f32,
) -> Result<PageOps, PdfError> {
    let margin = 1.5 * MM;
    let qr_size = height - 2.0 * margin;
    let matrix = QrMatrix::encode(&content.qr)?;
    let mut ops = vec![Op::Qr {
        x: margin,
        y: margin,
        size: qr_size,
        matrix,
    }];
    let x = margin + qr_size + 1.0 * MM;
    let text_w = width - x - margin;
    // Sizes scale with the label's height (29 mm: 11 pt for the tag).
    let k = height / (LABEL_HEIGHT_MM * MM);
    let mut y = margin;
    let mut line = |ops: &mut Vec<Op>, text: &str, size: f32, bold: bool, max_lines: usize| {
        let mut size = size * k;
        // One-line entries shrink to fit; longer ones wrap.
        while max_lines == 1 && size > 4.0 && fonts.face(bold).width(text, size) > text_w {
            size -= 0.25;
        }
        for l in wrap(fonts, text, size, bold, text_w)
            .into_iter()
            .take(max_lines)
        {
            y += size * 1.12;
            ops.push(Op::Text {
                x,
                y,
                size,
                bold,
                colour: BLACK,
                text: l,
            });
        }
    };
    line(&mut ops, &content.asset_tag, 11.0, true, 1);
    line(&mut ops, &content.model, 6.5, true, 2);
    line(&mut ops, &content.cpu, 5.5, false, 2);
    line(&mut ops, &content.memory_disks, 5.5, false, 1);
    line(&mut ops, &content.status, 5.5, true, 1);
    Ok(PageOps { width, height, ops })
}

/// The label as a one-page PDF of 62 × 29 mm.
pub fn render_label_pdf(content: &LabelContent, fonts: &Fonts) -> Result<Vec<u8>, PdfError> {
    let (w, h) = label_size();
    let page = layout_label(content, fonts, w, h)?;
    let mut document = Document::new();
    paint(&mut document, fonts, &[page]);
    document
        .finish()
        .map_err(|e| PdfError::Pdf(format!("{e:?}")))
}

/// The label drawn at 300 dpi on the printable area of `media` (696 × 271 dots for
/// DK-11209), and that picture as Brother QL raster data.
pub fn render_label_ql(
    content: &LabelContent,
    fonts: &Fonts,
    media: &brother::QlMedia,
) -> Result<(raster::Bitmap, Vec<u8>), PdfError> {
    let dot = 72.0 / 300.0;
    let page = layout_label(
        content,
        fonts,
        media.printable_dots as f32 * dot,
        media.lines as f32 * dot,
    )?;
    let bitmap = raster::rasterize(&page, fonts, 300.0, media.printable_dots, media.lines);
    let data = brother::encode(&bitmap, media);
    Ok((bitmap, data))
}
