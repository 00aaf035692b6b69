//! Drawing primitives shared by the certificate and the label: pages are first laid out as
//! lists of [`Op`]s (pure data, so layout is testable), then painted with krilla.
//!
//! Coordinates are PDF points (1/72 inch) from the top-left corner of the page, y downwards
//! (krilla's convention).

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect, Size};
use krilla::image::Image;
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::surface::Surface;
use krilla::text::TextDirection;

use super::fonts::Fonts;
use crate::qr::QrMatrix;

/// An RGB colour.
pub type Colour = (u8, u8, u8);

/// Black.
pub const BLACK: Colour = (0, 0, 0);
/// White.
pub const WHITE: Colour = (255, 255, 255);
/// Grey for labels.
pub const GREY: Colour = (90, 90, 90);

/// One drawing operation.
#[derive(Debug, Clone)]
pub enum Op {
    /// A line of text whose baseline starts at (`x`, `y`).
    Text {
        /// Left.
        x: f32,
        /// Baseline.
        y: f32,
        /// Font size in points.
        size: f32,
        /// Bold face.
        bold: bool,
        /// Colour.
        colour: Colour,
        /// The text (one line).
        text: String,
    },
    /// A filled rectangle.
    Rect {
        /// Left.
        x: f32,
        /// Top.
        y: f32,
        /// Width.
        w: f32,
        /// Height.
        h: f32,
        /// Colour.
        colour: Colour,
    },
    /// A QR code whose top-left corner is (`x`, `y`), `size` points wide (quiet zone
    /// included, four modules each side).
    Qr {
        /// Left.
        x: f32,
        /// Top.
        y: f32,
        /// Width and height.
        size: f32,
        /// The modules.
        matrix: QrMatrix,
    },
    /// A raster image (the logo) scaled to `w` × `h`.
    Image {
        /// Left.
        x: f32,
        /// Top.
        y: f32,
        /// Width.
        w: f32,
        /// Height.
        h: f32,
        /// The decoded image.
        image: Image,
    },
}

/// One page: its size and operations.
#[derive(Debug, Clone)]
pub struct PageOps {
    /// Width in points.
    pub width: f32,
    /// Height in points.
    pub height: f32,
    /// What to draw, in order.
    pub ops: Vec<Op>,
}

/// Splits `text` into lines no wider than `max` points at `size`.
pub fn wrap(fonts: &Fonts, text: &str, size: f32, bold: bool, max: f32) -> Vec<String> {
    let face = fonts.face(bold);
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split(' ') {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if face.width(&candidate, size) <= max || line.is_empty() {
                line = candidate;
            } else {
                lines.push(std::mem::take(&mut line));
                line = word.to_owned();
            }
            // A single word wider than the column (a hash): cut it.
            while face.width(&line, size) > max && line.chars().count() > 1 {
                let mut cut = line.chars().count() - 1;
                while cut > 1 && face.width(&line.chars().take(cut).collect::<String>(), size) > max
                {
                    cut -= 1;
                }
                let head: String = line.chars().take(cut).collect();
                let tail: String = line.chars().skip(cut).collect();
                lines.push(head);
                line = tail;
            }
        }
        lines.push(line);
    }
    lines
}

fn fill(colour: Colour) -> Fill {
    Fill {
        paint: rgb::Color::new(colour.0, colour.1, colour.2).into(),
        ..Fill::default()
    }
}

fn rect(surface: &mut Surface<'_>, x: f32, y: f32, w: f32, h: f32, colour: Colour) {
    let Some(r) = Rect::from_xywh(x, y, w, h) else {
        return;
    };
    let mut pb = PathBuilder::new();
    pb.push_rect(r);
    if let Some(path) = pb.finish() {
        surface.set_fill(Some(fill(colour)));
        surface.draw_path(&path);
    }
}

fn qr(surface: &mut Surface<'_>, x: f32, y: f32, size: f32, matrix: &QrMatrix) {
    let modules = matrix.width() + 8;
    let m = size / modules as f32;
    rect(surface, x, y, size, size, WHITE);
    let mut pb = PathBuilder::new();
    for row in 0..matrix.width() {
        for col in 0..matrix.width() {
            if matrix.is_dark(col, row)
                && let Some(r) = Rect::from_xywh(
                    x + (col + 4) as f32 * m,
                    y + (row + 4) as f32 * m,
                    // A hair wider, so that neighbouring modules leave no seam when rendered.
                    m + 0.01,
                    m + 0.01,
                )
            {
                pb.push_rect(r);
            }
        }
    }
    if let Some(path) = pb.finish() {
        surface.set_fill(Some(fill(BLACK)));
        surface.draw_path(&path);
    }
}

/// Paints `pages` into `document`.
pub fn paint(document: &mut Document, fonts: &Fonts, pages: &[PageOps]) {
    for p in pages {
        let Some(settings) = PageSettings::from_wh(p.width, p.height) else {
            continue;
        };
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        for op in &p.ops {
            match op {
                Op::Text {
                    x,
                    y,
                    size,
                    bold,
                    colour,
                    text,
                } => {
                    surface.set_fill(Some(fill(*colour)));
                    surface.draw_text(
                        Point::from_xy(*x, *y),
                        fonts.face(*bold).font(),
                        *size,
                        text,
                        false,
                        TextDirection::Auto,
                    );
                }
                Op::Rect { x, y, w, h, colour } => rect(&mut surface, *x, *y, *w, *h, *colour),
                Op::Qr { x, y, size, matrix } => qr(&mut surface, *x, *y, *size, matrix),
                Op::Image { x, y, w, h, image } => {
                    if let Some(size) = Size::from_wh(*w, *h) {
                        surface.push_transform(&krilla::geom::Transform::from_translate(*x, *y));
                        surface.draw_image(image.clone(), size);
                        surface.pop();
                    }
                }
            }
        }
        surface.finish();
        page.finish();
    }
}
