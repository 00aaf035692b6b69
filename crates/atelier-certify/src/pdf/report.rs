//! The PDF of the yearly report (`atelier report --format pdf`): one A4 page for funders —
//! the organisation, the period, then one figure per line, label on the left and number on the
//! right — continued on a second page only when the methods and partners do not fit.
//!
//! The texts arrive already in the operator's language ([`ReportDocument`]); this module only
//! lays them out and paints them with the certificate's engine ([`super::draw`]).

use krilla::Document;
use krilla::metadata::Metadata;

use super::certificate::{A4_HEIGHT, A4_WIDTH, PdfError};
use super::draw::{BLACK, GREY, Op, PageOps, paint};
use super::fonts::Fonts;
use crate::organisation::Organisation;

const MARGIN: f32 = 56.0;
const INDENT: f32 = 16.0;
const BODY: f32 = 10.5;
const LINE: f32 = 16.0;
const FOOTER_Y: f32 = A4_HEIGHT - 28.0;

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    /// Indentation level (0: a top-level figure, 1: a detail of the line above).
    pub indent: u8,
    /// What is counted; empty for a blank line.
    pub label: String,
    /// The figure (or the columns of a table row), right-aligned; may be empty.
    pub value: String,
    /// A heading or a total: bold.
    pub bold: bool,
}

/// The report, in the operator's language.
#[derive(Debug, Clone)]
pub struct ReportDocument<'a> {
    /// Title, e.g. "Bilan d'activité".
    pub title: String,
    /// Under the title, e.g. the period.
    pub subtitle: String,
    /// The organisation (name and address are printed; no logo on the report).
    pub organisation: &'a Organisation,
    /// The lines.
    pub rows: Vec<ReportRow>,
    /// Footer text, e.g. the tool and the date it was made.
    pub footer: String,
    /// BCP 47 language tag of the texts (`fr`, `en`).
    pub language: String,
}

/// Lays out `doc` on A4 pages (one unless the rows do not fit).
pub fn layout_report(doc: &ReportDocument, fonts: &Fonts) -> Vec<PageOps> {
    let mut pages = Vec::new();
    let mut ops = Vec::new();
    let mut y = MARGIN + 18.0;
    let text = |ops: &mut Vec<Op>, x: f32, y: f32, size: f32, bold: bool, grey: bool, s: &str| {
        ops.push(Op::Text {
            x,
            y,
            size,
            bold,
            colour: if grey { GREY } else { BLACK },
            text: s.to_owned(),
        });
    };
    if let Some(name) = &doc.organisation.name {
        text(&mut ops, MARGIN, y, 11.0, true, false, name);
        y += 14.0;
    }
    for line in &doc.organisation.address {
        text(&mut ops, MARGIN, y, 9.0, false, true, line);
        y += 12.0;
    }
    y += 18.0;
    text(&mut ops, MARGIN, y, 20.0, true, false, &doc.title);
    y += 20.0;
    text(&mut ops, MARGIN, y, 11.0, false, true, &doc.subtitle);
    y += 10.0;
    ops.push(Op::Rect {
        x: MARGIN,
        y,
        w: A4_WIDTH - 2.0 * MARGIN,
        h: 1.2,
        colour: BLACK,
    });
    y += 24.0;

    let right = A4_WIDTH - MARGIN;
    for row in &doc.rows {
        if y > FOOTER_Y - 40.0 {
            pages.push(finish_page(std::mem::take(&mut ops), doc, pages.len() + 1));
            y = MARGIN + 18.0;
        }
        if row.label.is_empty() && row.value.is_empty() {
            y += LINE / 2.0;
            continue;
        }
        let x = MARGIN + f32::from(row.indent) * INDENT;
        text(&mut ops, x, y, BODY, row.bold, row.indent > 0, &row.label);
        if !row.value.is_empty() {
            let w = fonts.face(row.bold).width(&row.value, BODY);
            text(&mut ops, right - w, y, BODY, row.bold, false, &row.value);
        }
        y += LINE;
    }
    pages.push(finish_page(ops, doc, pages.len() + 1));
    pages
}

fn finish_page(mut ops: Vec<Op>, doc: &ReportDocument, number: usize) -> PageOps {
    ops.push(Op::Text {
        x: MARGIN,
        y: FOOTER_Y,
        size: 8.0,
        bold: false,
        colour: GREY,
        text: format!("{} — {number}", doc.footer),
    });
    PageOps {
        width: A4_WIDTH,
        height: A4_HEIGHT,
        ops,
    }
}

/// Renders `doc` as a PDF.
pub fn render_report_pdf(doc: &ReportDocument, fonts: &Fonts) -> Result<Vec<u8>, PdfError> {
    let pages = layout_report(doc, fonts);
    let mut document = Document::new();
    paint(&mut document, fonts, &pages);
    document.set_metadata(
        Metadata::new()
            .title(format!("{} — {}", doc.title, doc.subtitle))
            .language(doc.language.clone()),
    );
    document
        .finish()
        .map_err(|e| PdfError::Pdf(format!("{e:?}")))
}
