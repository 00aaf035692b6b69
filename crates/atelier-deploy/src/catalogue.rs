//! The local image catalogue (`images.toml` on the stick's data partition) and the
//! content-addressed cache of image files beside it.
//!
//! The catalogue is TOML (TOML 1.0, toml.io) with one `[[image]]` table per image:
//!
//! ```toml
//! [[image]]
//! name = "raspios-trixie-lite-arm64"        # letters, digits, '.', '_', '-'
//! version = "2025-10-01"                     # optional
//! file = "images/raspios-lite.img.xz"        # relative to the catalogue; and/or
//! url = "https://downloads.example/raspios-lite.img.xz"  # needs sha256; fetched into the cache
//! sha256 = "…"                               # SHA-256 of the file as published; and/or
//! image_sha256 = "…"                         # SHA-256 of the decompressed image
//! bmap = "images/raspios-lite.bmap"          # optional, relative to the catalogue
//! bmap_sha256 = "…"                          # optional: SHA-256 of that .bmap file
//! customisation = "cloud-init"               # cloud-init | firstrun | rpi-preseed | golden | none
//! description = "Raspberry Pi OS Lite, 64-bit"  # optional
//! ```
//!
//! Reading is strict: an unknown key (a typo such as `sha265`) is an error naming the key
//! and its line, as are a missing source, a missing hash, a malformed hash and a name used
//! twice. An image is declared good only when its hash matches ([`CatalogueImage::check`]).

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::image::{ImageDigests, parse_sha256, to_hex};

/// How an image is adapted after writing; see the `customise` module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CustomisationKind {
    /// Raspberry Pi OS with cloud-init (`user-data`, `network-config`, `meta-data`).
    CloudInit,
    /// Raspberry Pi OS with `firstrun.sh` run by `systemd.run`.
    Firstrun,
    /// Raspberry Pi OS reading `rpi-preseed.toml`.
    RpiPreseed,
    /// A golden Linux image: grow the last partition, reset the machine's identity.
    Golden,
    /// Written as is.
    None,
}

impl CustomisationKind {
    /// The name used in the catalogue.
    pub fn name(self) -> &'static str {
        match self {
            CustomisationKind::CloudInit => "cloud-init",
            CustomisationKind::Firstrun => "firstrun",
            CustomisationKind::RpiPreseed => "rpi-preseed",
            CustomisationKind::Golden => "golden",
            CustomisationKind::None => "none",
        }
    }
}

impl fmt::Display for CustomisationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One image of the catalogue, checked and with its paths resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueImage {
    /// Its name, unique in the catalogue.
    pub name: String,
    /// Its version, as the publisher gives it.
    pub version: Option<String>,
    /// The local file, resolved against the catalogue's directory.
    pub file: Option<PathBuf>,
    /// Where it can be downloaded.
    pub url: Option<String>,
    /// SHA-256 of the file as published (compressed).
    pub sha256: Option<[u8; 32]>,
    /// SHA-256 of the decompressed image.
    pub image_sha256: Option<[u8; 32]>,
    /// The `.bmap` file, resolved against the catalogue's directory.
    pub bmap: Option<PathBuf>,
    /// SHA-256 of the `.bmap` file: with it, the bmap's per-range SHA-256 are trusted as
    /// the catalogue's own (see `docs/deploy.md`, *How the image is verified*).
    pub bmap_sha256: Option<[u8; 32]>,
    /// How to customise it after writing.
    pub customisation: CustomisationKind,
    /// A line for people.
    pub description: Option<String>,
    /// Line of its `[[image]]` table in the catalogue, from 1.
    pub line: usize,
}

/// Which form of the image a hash is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashKind {
    /// The file as published (compressed).
    File,
    /// The decompressed image.
    Image,
}

impl HashKind {
    /// `file` or `image`, as in the record.
    pub fn name(self) -> &'static str {
        match self {
            HashKind::File => "file",
            HashKind::Image => "image",
        }
    }
}

/// The comparison of computed digests with the catalogue's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashCheck {
    /// Every hash the catalogue gives matched.
    pub matches: bool,
    /// The hash this check reports: the one that failed, or (all matched) the image's when
    /// the catalogue gives it, else the file's.
    pub which: HashKind,
    /// The catalogue's value.
    pub expected: [u8; 32],
    /// The computed value; `None` when it was not computed (the file was not hashed).
    pub computed: Option<[u8; 32]>,
}

impl fmt::Display for HashCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.which {
            HashKind::File => "the file's SHA-256",
            HashKind::Image => "the decompressed image's SHA-256",
        };
        match (self.matches, self.computed) {
            (true, _) => write!(
                f,
                "{what} matches the catalogue ({})",
                to_hex(&self.expected)
            ),
            (false, Some(got)) => write!(
                f,
                "{what} is {}, but the catalogue expects {}: the file is not the published one \
                 (damaged, or another version); fetch it again or correct the catalogue",
                to_hex(&got),
                to_hex(&self.expected)
            ),
            (false, None) => write!(
                f,
                "{what} was not computed, so it cannot be compared with the catalogue's {}",
                to_hex(&self.expected)
            ),
        }
    }
}

impl CatalogueImage {
    /// Compares digests computed while reading the image with the catalogue's hashes. Every
    /// hash the catalogue gives must match.
    pub fn check(&self, digests: &ImageDigests) -> HashCheck {
        let mut checks = Vec::new();
        if let Some(expected) = self.image_sha256 {
            checks.push(HashCheck {
                matches: digests.image_sha256 == Some(expected),
                which: HashKind::Image,
                expected,
                computed: digests.image_sha256,
            });
        }
        if let Some(expected) = self.sha256 {
            checks.push(HashCheck {
                matches: digests.file_sha256 == Some(expected),
                which: HashKind::File,
                expected,
                computed: digests.file_sha256,
            });
        }
        let failed = checks.iter().find(|c| !c.matches).copied();
        failed
            .or_else(|| checks.first().copied())
            .expect("a catalogue image always has a hash (checked when loading)")
    }
}

/// A loaded catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalogue {
    path: PathBuf,
    images: Vec<CatalogueImage>,
}

/// Why a catalogue was refused. Each names the file and the line, and says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    /// The file could not be read.
    #[error("cannot read the image catalogue {path}: {message}")]
    Read {
        /// The catalogue.
        path: PathBuf,
        /// The system's error.
        message: String,
    },
    /// A key that the catalogue does not have (a typo, most often).
    #[error(
        "the image catalogue {path}, line {line}: unknown key `{key}`; the keys are {expected}: \
         correct it"
    )]
    UnknownKey {
        /// The catalogue.
        path: PathBuf,
        /// Line of the key, from 1.
        line: usize,
        /// The key as written.
        key: String,
        /// The keys allowed there.
        expected: String,
    },
    /// Not valid TOML, or a value of the wrong type.
    #[error("the image catalogue {path}, line {line}, column {column}: {message}; correct it")]
    Syntax {
        /// The catalogue.
        path: PathBuf,
        /// Line, from 1.
        line: usize,
        /// Column, from 1.
        column: usize,
        /// The parser's description.
        message: String,
    },
    /// A value that is well-formed TOML but wrong for the catalogue.
    #[error("the image catalogue {path}, line {line} (image {image:?}): {message}; correct it")]
    Invalid {
        /// The catalogue.
        path: PathBuf,
        /// Line, from 1.
        line: usize,
        /// The image's name.
        image: String,
        /// What is wrong.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalogue {
    #[serde(default)]
    image: Vec<Spanned<RawImage>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawImage {
    name: Spanned<String>,
    version: Option<String>,
    file: Option<String>,
    url: Option<Spanned<String>>,
    sha256: Option<Spanned<String>>,
    image_sha256: Option<Spanned<String>>,
    bmap: Option<String>,
    bmap_sha256: Option<Spanned<String>>,
    customisation: CustomisationKind,
    description: Option<String>,
}

/// Line and column (from 1) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

impl Catalogue {
    /// Reads and checks a catalogue.
    pub fn load(path: &Path) -> Result<Catalogue, CatalogueError> {
        let text = fs::read_to_string(path).map_err(|e| CatalogueError::Read {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Catalogue::parse(&text, path)
    }

    /// Checks a catalogue's text; `path` names it in errors and anchors relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Catalogue, CatalogueError> {
        let raw: RawCatalogue = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            let (line, column) = line_col(text, span.start);
            let message = e.message().trim().to_string();
            if let Some(rest) = message.strip_prefix("unknown field `")
                && let Some((key, expected)) = rest.split_once('`')
            {
                let expected = expected
                    .trim_start_matches(',')
                    .trim()
                    .trim_start_matches("expected")
                    .trim()
                    .trim_start_matches("one of")
                    .trim()
                    .to_string();
                return CatalogueError::UnknownKey {
                    path: path.to_path_buf(),
                    line,
                    key: key.to_string(),
                    expected,
                };
            }
            CatalogueError::Syntax {
                path: path.to_path_buf(),
                line,
                column,
                message,
            }
        })?;
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let mut images: Vec<CatalogueImage> = Vec::new();
        for entry in raw.image {
            let line = line_col(text, entry.span().start).0;
            let entry = entry.into_inner();
            let name = entry.name.get_ref().clone();
            let invalid = |span: Range<usize>, message: String| CatalogueError::Invalid {
                path: path.to_path_buf(),
                line: line_col(text, span.start).0,
                image: name.clone(),
                message,
            };
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            {
                return Err(invalid(
                    entry.name.span(),
                    "a name may hold only letters, digits, '.', '_' and '-' (it is typed on the \
                     command line)"
                        .into(),
                ));
            }
            if let Some(first) = images.iter().find(|i| i.name == name) {
                return Err(invalid(
                    entry.name.span(),
                    format!(
                        "the name is already used by the image on line {}",
                        first.line
                    ),
                ));
            }
            let hash = |field: &Option<Spanned<String>>, key: &str| {
                field
                    .as_ref()
                    .map(|v| {
                        parse_sha256(v.get_ref()).ok_or_else(|| {
                            invalid(
                                v.span(),
                                format!(
                                    "{key} = {:?} is not a SHA-256 (64 hexadecimal digits)",
                                    v.get_ref()
                                ),
                            )
                        })
                    })
                    .transpose()
            };
            let sha256 = hash(&entry.sha256, "sha256")?;
            let image_sha256 = hash(&entry.image_sha256, "image_sha256")?;
            let bmap_sha256 = hash(&entry.bmap_sha256, "bmap_sha256")?;
            if let (Some(v), None) = (&entry.bmap_sha256, &entry.bmap) {
                return Err(invalid(
                    v.span(),
                    "bmap_sha256 needs bmap (the .bmap file it is the hash of)".into(),
                ));
            }
            if sha256.is_none() && image_sha256.is_none() {
                return Err(invalid(
                    entry.name.span(),
                    "no hash: give sha256 (of the file as published) or image_sha256 (of the \
                     decompressed image), or both, so that the image can be checked"
                        .into(),
                ));
            }
            if let Some(url) = &entry.url {
                let u = url.get_ref();
                if !(u.starts_with("https://") || u.starts_with("http://")) {
                    return Err(invalid(
                        url.span(),
                        format!("url = {u:?} is not an http:// or https:// address"),
                    ));
                }
                if sha256.is_none() {
                    return Err(invalid(
                        url.span(),
                        "url needs sha256 (the SHA-256 of the file as published), so that a \
                         download is checked before it enters the cache"
                            .into(),
                    ));
                }
            }
            if entry.file.is_none() && entry.url.is_none() {
                return Err(invalid(
                    entry.name.span(),
                    "no source: give file (a path relative to the catalogue) or url".into(),
                ));
            }
            let resolve = |p: &String| dir.join(p);
            images.push(CatalogueImage {
                name,
                version: entry.version,
                file: entry.file.as_ref().map(resolve),
                url: entry.url.map(Spanned::into_inner),
                sha256,
                image_sha256,
                bmap: entry.bmap.as_ref().map(resolve),
                bmap_sha256,
                customisation: entry.customisation,
                description: entry.description,
                line,
            });
        }
        Ok(Catalogue {
            path: path.to_path_buf(),
            images,
        })
    }

    /// The catalogue file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The images, in the catalogue's order.
    pub fn images(&self) -> &[CatalogueImage] {
        &self.images
    }

    /// The image of that name.
    pub fn find(&self, name: &str) -> Option<&CatalogueImage> {
        self.images.iter().find(|i| i.name == name)
    }
}

/// Why the cache refused a file.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// Reading or writing the cache failed.
    #[error("image cache {path}: {source}; check the data partition (free space, errors)")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: io::Error,
    },
    /// A file whose content is not the one its name or the caller promised.
    #[error(
        "the cached file {path} has SHA-256 {computed}, not {expected}: it is damaged (or was \
         replaced); delete it and fetch the image again"
    )]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// The SHA-256 it should have.
        expected: String,
        /// The SHA-256 it has.
        computed: String,
    },
}

/// A content-addressed directory of image files: each file is named by its SHA-256 and is
/// re-hashed before use, so a damaged copy is never written to a card.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// A cache in `dir` (created when missing).
    pub fn new(dir: &Path) -> Result<Cache, CacheError> {
        fs::create_dir_all(dir).map_err(|source| CacheError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        Ok(Cache {
            dir: dir.to_path_buf(),
        })
    }

    /// The cache's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the file of this SHA-256 lives (whether or not it is there).
    pub fn path_for(&self, sha256: &[u8; 32]) -> PathBuf {
        self.dir.join(format!("sha256-{}", to_hex(sha256)))
    }

    /// Re-hashes a file and checks it against `sha256`.
    pub fn verify(&self, path: &Path, sha256: &[u8; 32]) -> Result<(), CacheError> {
        let io_err = |source| CacheError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = File::open(path).map_err(io_err)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_err(e)),
            };
            hasher.update(&buf[..n]);
        }
        let computed: [u8; 32] = hasher.finalize().into();
        if &computed != sha256 {
            return Err(CacheError::Mismatch {
                path: path.to_path_buf(),
                expected: to_hex(sha256),
                computed: to_hex(&computed),
            });
        }
        Ok(())
    }

    /// The cached file of this SHA-256, verified; `Ok(None)` when it is not cached; an error
    /// when it is there but damaged (it is left in place for the operator to see).
    pub fn get(&self, sha256: &[u8; 32]) -> Result<Option<PathBuf>, CacheError> {
        let path = self.path_for(sha256);
        match fs::metadata(&path) {
            Ok(_) => {
                self.verify(&path, sha256)?;
                Ok(Some(path))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(CacheError::Io { path, source }),
        }
    }

    /// Starts adding a file: write its bytes to the returned writer, then
    /// [`CacheWriter::commit`]. Nothing appears under the final name unless the hash matches.
    pub fn writer(&self) -> Result<CacheWriter, CacheError> {
        let tmp = self
            .dir
            .join(format!(".partial-{}", uuid::Uuid::new_v4().simple()));
        let file = File::create_new(&tmp).map_err(|source| CacheError::Io {
            path: tmp.clone(),
            source,
        })?;
        Ok(CacheWriter {
            cache: self.clone(),
            tmp,
            file: Some(file),
            hasher: Sha256::new(),
        })
    }

    /// Copies a file into the cache, checking it against `sha256` as it is copied.
    pub fn insert(&self, src: &Path, sha256: &[u8; 32]) -> Result<PathBuf, CacheError> {
        let mut writer = self.writer()?;
        let mut file = File::open(src).map_err(|source| CacheError::Io {
            path: src.to_path_buf(),
            source,
        })?;
        io::copy(&mut file, &mut writer).map_err(|source| CacheError::Io {
            path: src.to_path_buf(),
            source,
        })?;
        writer.commit(sha256)
    }
}

/// A file being added to the cache, hashed as it is written.
#[derive(Debug)]
pub struct CacheWriter {
    cache: Cache,
    tmp: PathBuf,
    file: Option<File>,
    hasher: Sha256,
}

impl CacheWriter {
    /// Flushes the file to disk and, when its SHA-256 is `sha256`, gives it its final name.
    /// On a mismatch the partial file is removed.
    pub fn commit(mut self, sha256: &[u8; 32]) -> Result<PathBuf, CacheError> {
        let file = self.file.take().expect("committed once");
        let io_err = |path: &Path, source| CacheError::Io {
            path: path.to_path_buf(),
            source,
        };
        file.sync_all().map_err(|e| io_err(&self.tmp, e))?;
        drop(file);
        let computed: [u8; 32] = std::mem::take(&mut self.hasher).finalize().into();
        if &computed != sha256 {
            let _ = fs::remove_file(&self.tmp);
            return Err(CacheError::Mismatch {
                path: self.tmp.clone(),
                expected: to_hex(sha256),
                computed: to_hex(&computed),
            });
        }
        let dest = self.cache.path_for(sha256);
        fs::rename(&self.tmp, &dest).map_err(|e| io_err(&dest, e))?;
        if let Ok(dir) = File::open(&self.cache.dir) {
            let _ = dir.sync_all();
        }
        Ok(dest)
    }
}

impl Write for CacheWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("the cache writer was committed"))?;
        let n = file.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for CacheWriter {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}
