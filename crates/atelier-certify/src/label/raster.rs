//! Drawing a laid-out page into a 1-bit bitmap, for printers that take raster data (Brother
//! QL at 300 dpi).
//!
//! Text is drawn from the font's outlines (read with `skrifa`): curves are flattened into
//! line segments and each pixel whose centre lies inside the outline (non-zero winding rule)
//! is set. No anti-aliasing: a thermal head prints a dot or nothing.

use skrifa::instance::{LocationRef, Size};
use skrifa::outline::{DrawSettings, OutlinePen};
use skrifa::{FontRef, MetadataProvider};

use crate::pdf::draw::{Op, PageOps};
use crate::pdf::fonts::Fonts;

/// A 1-bit picture, row by row from the top, `true` for a printed dot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitmap {
    width: usize,
    height: usize,
    dots: Vec<bool>,
}

impl Bitmap {
    /// A blank bitmap.
    pub fn new(width: usize, height: usize) -> Bitmap {
        Bitmap {
            width,
            height,
            dots: vec![false; width * height],
        }
    }

    /// Width in dots.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in dots (rows).
    pub fn height(&self) -> usize {
        self.height
    }

    /// Whether the dot at column `x`, row `y` is printed (false outside).
    pub fn get(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.height && self.dots[y * self.width + x]
    }

    /// Sets the dot at (`x`, `y`); ignored outside.
    pub fn set(&mut self, x: usize, y: usize, on: bool) {
        if x < self.width && y < self.height {
            self.dots[y * self.width + x] = on;
        }
    }

    /// Number of printed dots.
    pub fn count(&self) -> usize {
        self.dots.iter().filter(|d| **d).count()
    }

    /// Row `y` as dots.
    pub fn row(&self, y: usize) -> &[bool] {
        &self.dots[y * self.width..(y + 1) * self.width]
    }

    fn fill_rect(&mut self, x0: f32, y0: f32, x1: f32, y1: f32) {
        let (cx0, cy0) = (x0.round().max(0.0) as usize, y0.round().max(0.0) as usize);
        let (cx1, cy1) = (x1.round().max(0.0) as usize, y1.round().max(0.0) as usize);
        for y in cy0..cy1.min(self.height) {
            for x in cx0..cx1.min(self.width) {
                self.dots[y * self.width + x] = true;
            }
        }
    }
}

/// Collects an outline as line segments, in bitmap coordinates.
struct Flattener {
    origin: (f32, f32),
    start: (f32, f32),
    last: (f32, f32),
    edges: Vec<(f32, f32, f32, f32)>,
}

impl Flattener {
    fn point(&self, x: f32, y: f32) -> (f32, f32) {
        // Font units grow upwards; bitmap rows grow downwards.
        (self.origin.0 + x, self.origin.1 - y)
    }

    fn segment(&mut self, to: (f32, f32)) {
        if to != self.last {
            self.edges.push((self.last.0, self.last.1, to.0, to.1));
        }
        self.last = to;
    }
}

const CURVE_STEPS: usize = 8;

impl OutlinePen for Flattener {
    fn move_to(&mut self, x: f32, y: f32) {
        let p = self.point(x, y);
        self.start = p;
        self.last = p;
    }

    fn line_to(&mut self, x: f32, y: f32) {
        let p = self.point(x, y);
        self.segment(p);
    }

    fn quad_to(&mut self, cx0: f32, cy0: f32, x: f32, y: f32) {
        let (p0, c, p1) = (self.last, self.point(cx0, cy0), self.point(x, y));
        for i in 1..=CURVE_STEPS {
            let t = i as f32 / CURVE_STEPS as f32;
            let u = 1.0 - t;
            self.segment((
                u * u * p0.0 + 2.0 * u * t * c.0 + t * t * p1.0,
                u * u * p0.1 + 2.0 * u * t * c.1 + t * t * p1.1,
            ));
        }
    }

    fn curve_to(&mut self, cx0: f32, cy0: f32, cx1: f32, cy1: f32, x: f32, y: f32) {
        let (p0, c0, c1, p1) = (
            self.last,
            self.point(cx0, cy0),
            self.point(cx1, cy1),
            self.point(x, y),
        );
        for i in 1..=CURVE_STEPS {
            let t = i as f32 / CURVE_STEPS as f32;
            let u = 1.0 - t;
            let (a, b, c, d) = (u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t);
            self.segment((
                a * p0.0 + b * c0.0 + c * c1.0 + d * p1.0,
                a * p0.1 + b * c0.1 + c * c1.1 + d * p1.1,
            ));
        }
    }

    fn close(&mut self) {
        let start = self.start;
        self.segment(start);
    }
}

/// Fills the inside of `edges` (non-zero winding), sampling each pixel at its centre.
fn fill_edges(bitmap: &mut Bitmap, edges: &[(f32, f32, f32, f32)]) {
    if edges.is_empty() {
        return;
    }
    let top = edges.iter().map(|e| e.1.min(e.3)).fold(f32::MAX, f32::min);
    let bottom = edges.iter().map(|e| e.1.max(e.3)).fold(f32::MIN, f32::max);
    let first = top.floor().max(0.0) as usize;
    let last = (bottom.ceil().max(0.0) as usize).min(bitmap.height);
    let mut crossings: Vec<(f32, i32)> = Vec::new();
    for row in first..last {
        let yc = row as f32 + 0.5;
        crossings.clear();
        for &(x0, y0, x1, y1) in edges {
            let (lo, hi) = if y0 < y1 { (y0, y1) } else { (y1, y0) };
            if yc >= lo && yc < hi {
                let x = x0 + (yc - y0) * (x1 - x0) / (y1 - y0);
                crossings.push((x, if y1 > y0 { 1 } else { -1 }));
            }
        }
        crossings.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut winding = 0;
        for pair in crossings.windows(2) {
            winding += pair[0].1;
            if winding != 0 {
                // Pixels whose centre lies between the two crossings.
                let from = (pair[0].0 - 0.5).ceil().max(0.0) as usize;
                let to = ((pair[1].0 - 0.5).ceil().max(0.0) as usize).min(bitmap.width);
                for x in from..to {
                    bitmap.set(x, row, true);
                }
            }
        }
    }
}

fn draw_text(bitmap: &mut Bitmap, data: &[u8], x: f32, baseline: f32, size: f32, text: &str) {
    let Ok(font) = FontRef::new(data) else {
        return;
    };
    let charmap = font.charmap();
    let metrics = font.glyph_metrics(Size::new(size), LocationRef::default());
    let outlines = font.outline_glyphs();
    let mut pen_x = x;
    for c in text.chars() {
        let Some(gid) = charmap.map(c) else {
            pen_x += size * 0.5;
            continue;
        };
        if let Some(glyph) = outlines.get(gid) {
            let mut flat = Flattener {
                origin: (pen_x, baseline),
                start: (0.0, 0.0),
                last: (0.0, 0.0),
                edges: Vec::new(),
            };
            let settings = DrawSettings::unhinted(Size::new(size), LocationRef::default());
            if glyph.draw(settings, &mut flat).is_ok() {
                fill_edges(bitmap, &flat.edges);
            }
        }
        pen_x += metrics.advance_width(gid).unwrap_or(size * 0.5);
    }
}

/// Draws `page` (laid out in points) into a `width` × `height` bitmap at `dpi`. Light
/// colours (white boxes) are left blank; every other colour prints.
pub fn rasterize(page: &PageOps, fonts: &Fonts, dpi: f32, width: usize, height: usize) -> Bitmap {
    let scale = dpi / 72.0;
    let mut bitmap = Bitmap::new(width, height);
    let dark = |c: (u8, u8, u8)| (c.0 as u32 + c.1 as u32 + c.2 as u32) < 3 * 128;
    for op in &page.ops {
        match op {
            Op::Text {
                x,
                y,
                size,
                bold,
                colour,
                text,
            } if dark(*colour) => draw_text(
                &mut bitmap,
                fonts.face(*bold).data(),
                x * scale,
                y * scale,
                size * scale,
                text,
            ),
            Op::Rect { x, y, w, h, colour } if dark(*colour) => {
                bitmap.fill_rect(x * scale, y * scale, (x + w) * scale, (y + h) * scale)
            }
            Op::Qr { x, y, size, matrix } => {
                let modules = matrix.width() + 8;
                // Whole dots per module, so every module prints the same size.
                let m = ((size * scale) / modules as f32).floor().max(1.0);
                let (ox, oy) = ((x * scale).round(), (y * scale).round());
                for row in 0..matrix.width() {
                    for col in 0..matrix.width() {
                        if matrix.is_dark(col, row) {
                            let px = ox + (col + 4) as f32 * m;
                            let py = oy + (row + 4) as f32 * m;
                            bitmap.fill_rect(px, py, px + m, py + m);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    bitmap
}
