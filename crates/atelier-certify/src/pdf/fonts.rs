//! The fonts of certificates and labels: DejaVu Sans (regular and bold) from the system.
//!
//! DejaVu covers every French letter (é, è, à, ç, œ, « »…); the PDF embeds a subset of it
//! with a ToUnicode map, so the text can be copied and extracted (`pdftotext`). The files
//! come from Debian's `fonts-dejavu-core` package (installed by `scripts/setup.sh` and in
//! the live image); no font file is kept in this repository.

use std::path::{Path, PathBuf};

use krilla::text::Font;
use skrifa::MetadataProvider;
use skrifa::instance::{LocationRef, Size};

/// Where the fonts are looked for, after `ATELIER_FONT_DIR`.
pub const FONT_DIRS: [&str; 2] = [
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/dejavu",
];

/// The regular face's file name.
pub const REGULAR_FILE: &str = "DejaVuSans.ttf";
/// The bold face's file name.
pub const BOLD_FILE: &str = "DejaVuSans-Bold.ttf";

/// The fonts cannot be found or read.
#[derive(Debug, thiserror::Error)]
pub enum FontError {
    /// No directory holds the font files.
    #[error(
        "the DejaVu Sans fonts ({REGULAR_FILE}, {BOLD_FILE}) were not found in {looked_in}: \
         install the Debian package fonts-dejavu-core (apt install fonts-dejavu-core), or set \
         ATELIER_FONT_DIR to a folder that holds them"
    )]
    Missing {
        /// The directories searched.
        looked_in: String,
    },
    /// A font file is not a font this program can use.
    #[error("{0}: not a usable TrueType font")]
    Unusable(PathBuf),
}

/// One face: its bytes for the PDF and its metrics for layout.
#[derive(Clone)]
pub struct Face {
    data: std::sync::Arc<Vec<u8>>,
    font: Font,
    path: PathBuf,
}

impl std::fmt::Debug for Face {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Face").field("path", &self.path).finish()
    }
}

impl Face {
    fn load(path: &Path) -> Result<Face, FontError> {
        let bytes = std::fs::read(path).map_err(|_| FontError::Unusable(path.to_path_buf()))?;
        let data = std::sync::Arc::new(bytes);
        let font = Font::new(krilla::Data::from(data.clone()), 0)
            .ok_or_else(|| FontError::Unusable(path.to_path_buf()))?;
        skrifa::FontRef::new(&data).map_err(|_| FontError::Unusable(path.to_path_buf()))?;
        Ok(Face {
            data,
            font,
            path: path.to_path_buf(),
        })
    }

    /// The face for krilla.
    pub fn font(&self) -> Font {
        self.font.clone()
    }

    /// The raw font file.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Width of `text` at `size` points (sum of advances, no kerning).
    pub fn width(&self, text: &str, size: f32) -> f32 {
        let Ok(font) = skrifa::FontRef::new(&self.data) else {
            return 0.0;
        };
        let charmap = font.charmap();
        let metrics = font.glyph_metrics(Size::new(size), LocationRef::default());
        text.chars()
            .map(|c| {
                charmap
                    .map(c)
                    .and_then(|g| metrics.advance_width(g))
                    .unwrap_or(size * 0.5)
            })
            .sum()
    }
}

/// The regular and bold faces.
#[derive(Debug, Clone)]
pub struct Fonts {
    /// DejaVu Sans.
    pub regular: Face,
    /// DejaVu Sans Bold.
    pub bold: Face,
}

impl Fonts {
    /// Loads the fonts from `ATELIER_FONT_DIR`, else from [`FONT_DIRS`].
    pub fn system() -> Result<Fonts, FontError> {
        let mut dirs: Vec<PathBuf> = Vec::new();
        if let Some(dir) = std::env::var_os("ATELIER_FONT_DIR").filter(|d| !d.is_empty()) {
            dirs.push(dir.into());
        }
        dirs.extend(FONT_DIRS.iter().map(PathBuf::from));
        Fonts::from_dirs(&dirs)
    }

    /// Loads the fonts from the first of `dirs` that holds both files.
    pub fn from_dirs(dirs: &[PathBuf]) -> Result<Fonts, FontError> {
        for dir in dirs {
            let (regular, bold) = (dir.join(REGULAR_FILE), dir.join(BOLD_FILE));
            if regular.is_file() && bold.is_file() {
                return Ok(Fonts {
                    regular: Face::load(&regular)?,
                    bold: Face::load(&bold)?,
                });
            }
        }
        Err(FontError::Missing {
            looked_in: dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// The face for `bold`.
    pub fn face(&self, bold: bool) -> &Face {
        if bold { &self.bold } else { &self.regular }
    }
}
