//! Block maps: the `.bmap` files of bmaptool, which list the blocks of a sparse image that
//! hold data, so that only those are written.
//!
//! The format is bmaptool's XML ("bmap file format", documented in bmap-tools' `docs/` and
//! `BmapCopy.py`), a `<bmap version="M.m">` root with:
//!
//! - `ImageSize` (bytes), `BlockSize` (bytes), `BlocksCount` (⌈ImageSize / BlockSize⌉),
//!   `MappedBlocksCount` (blocks listed in the map);
//! - `BlockMap`: `<Range>first-last</Range>` or `<Range>block</Range>`, in increasing order,
//!   each with an optional checksum of its bytes (the last block of the image counted only
//!   up to `ImageSize`);
//! - checksums, by version: 1.0–1.2 none; 1.3 SHA-1 (`sha1="…"` on ranges, `BmapFileSHA1`);
//!   1.4 and 2.0 (the same format, renumbered) `ChecksumType` names the hash, ranges carry
//!   `chksum="…"`, and `BmapFileChecksum` is the hash of the bmap file itself computed with
//!   that element's value replaced by as many ASCII `0` as it has digits.
//!
//! Atelier verifies SHA-256 only. A bmap whose checksums are SHA-1 or MD5 is accepted, but its
//! checksums are not checked ([`Bmap::unverified_reason`] says so): the image is still
//! hashed as a whole and read back from the target.

use std::fmt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::image::parse_sha256;

/// The highest major version of the format understood.
const MAX_MAJOR: u32 = 2;

/// The hash a bmap file uses for its checksums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumType {
    /// No checksums (format 1.0 to 1.2).
    None,
    /// SHA-256: verified.
    Sha256,
    /// SHA-1 (format 1.3, or named in 2.0): accepted, not verified.
    Sha1,
    /// MD5 (named in 2.0): accepted, not verified.
    Md5,
}

impl fmt::Display for ChecksumType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChecksumType::None => "none",
            ChecksumType::Sha256 => "sha256",
            ChecksumType::Sha1 => "sha1",
            ChecksumType::Md5 => "md5",
        })
    }
}

/// What became of the bmap file's checksum of itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileChecksum {
    /// Present and correct.
    Verified,
    /// The file carries none (format 1.0 to 1.2).
    Absent,
    /// Present, but of a kind not verified here (SHA-1, MD5).
    NotVerified(ChecksumType),
}

/// A run of mapped blocks, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MappedRange {
    /// First block of the run.
    pub first_block: u64,
    /// Last block of the run (included).
    pub last_block: u64,
    /// SHA-256 of the run's bytes, when the bmap gives one.
    pub sha256: Option<[u8; 32]>,
}

impl MappedRange {
    /// Number of blocks in the run.
    pub fn blocks(&self) -> u64 {
        self.last_block - self.first_block + 1
    }
}

/// A mapped run in bytes of the image (the last block cut at the image's size).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSpan {
    /// Offset of its first byte in the image.
    pub offset: u64,
    /// Its length in bytes.
    pub length: u64,
    /// SHA-256 of these bytes, when the bmap gives one.
    pub sha256: Option<[u8; 32]>,
}

/// A parsed and checked block map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bmap {
    version: (u32, u32),
    image_size: u64,
    block_size: u64,
    blocks_count: u64,
    mapped_blocks_count: u64,
    checksum_type: ChecksumType,
    file_checksum: FileChecksum,
    ranges: Vec<MappedRange>,
    sha256: [u8; 32],
}

/// Why a bmap file was refused. Each says what is wrong and where; the way out is the same
/// for all: get the `.bmap` that belongs to this image again, or write the image without one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BmapError {
    /// The file could not be read.
    #[error("cannot read the bmap file {path}: {message}")]
    Read {
        /// The bmap file.
        path: PathBuf,
        /// The system's error.
        message: String,
    },
    /// An error in a named file.
    #[error(
        "the bmap file {path} is not usable: {error}; get the .bmap of this image again, or write the image without it"
    )]
    InFile {
        /// The bmap file.
        path: PathBuf,
        /// What is wrong in it.
        error: Box<BmapError>,
    },
    /// Not well-formed XML.
    #[error("it is not valid XML (line {line}, column {column}: {message})")]
    Xml {
        /// Line of the fault, from 1.
        line: u32,
        /// Column of the fault, from 1.
        column: u32,
        /// The parser's description.
        message: String,
    },
    /// XML, but not a block map.
    #[error("it is not a bmap file (its root element is <{root}>, not <bmap>)")]
    NotBmap {
        /// The root element found.
        root: String,
    },
    /// A version this parser does not know.
    #[error("its format version {version:?} is not supported (versions 1.0 to 2.x are)")]
    Version {
        /// The `version` attribute as written.
        version: String,
    },
    /// A required element is missing.
    #[error("it has no <{element}> element")]
    Missing {
        /// The element's name.
        element: &'static str,
    },
    /// An element does not hold a number.
    #[error("<{element}> on line {line} holds {text:?}, which is not a number")]
    Number {
        /// The element's name.
        element: &'static str,
        /// Its line.
        line: u32,
        /// Its text.
        text: String,
    },
    /// A checksum type not understood.
    #[error("<ChecksumType> on line {line} is {text:?}; sha256, sha1 and md5 are understood")]
    ChecksumType {
        /// Its line.
        line: u32,
        /// Its text.
        text: String,
    },
    /// The file's checksum of itself does not match: it was changed or damaged.
    #[error(
        "its own checksum does not match (it says {expected}, its content gives {computed}): it was changed or damaged"
    )]
    FileChecksum {
        /// The checksum written in the file.
        expected: String,
        /// The checksum of its content.
        computed: String,
    },
    /// The sizes contradict each other.
    #[error("its sizes do not agree: {detail}")]
    Inconsistent {
        /// Which sizes.
        detail: String,
    },
    /// A `<Range>` that is malformed, out of order, overlapping or past the image.
    #[error("the <Range> on line {line} ({text:?}) {reason}")]
    Range {
        /// Its line.
        line: u32,
        /// Its text.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl Bmap {
    /// Reads and parses a bmap file; errors name the file.
    pub fn load(path: &Path) -> Result<Bmap, BmapError> {
        let text = std::fs::read_to_string(path).map_err(|e| BmapError::Read {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Bmap::parse(&text).map_err(|error| BmapError::InFile {
            path: path.to_path_buf(),
            error: Box::new(error),
        })
    }

    /// Parses the text of a bmap file and checks it: versions, sizes, the file's own
    /// checksum (SHA-256), and ranges (well-formed, increasing, not overlapping, inside the
    /// image, adding up to `MappedBlocksCount`).
    pub fn parse(text: &str) -> Result<Bmap, BmapError> {
        let doc = roxmltree::Document::parse(text).map_err(|e| {
            let pos = e.pos();
            BmapError::Xml {
                line: pos.row,
                column: pos.col,
                message: e.to_string(),
            }
        })?;
        let root = doc.root_element();
        if root.tag_name().name() != "bmap" {
            return Err(BmapError::NotBmap {
                root: root.tag_name().name().to_string(),
            });
        }
        let version_text = root.attribute("version").unwrap_or("").trim().to_string();
        let version = parse_version(&version_text).ok_or(BmapError::Version {
            version: version_text.clone(),
        })?;
        if version.0 == 0 || version.0 > MAX_MAJOR {
            return Err(BmapError::Version {
                version: version_text,
            });
        }
        let line_of = |node: roxmltree::Node| doc.text_pos_at(node.range().start).row;
        let child = |name: &'static str| {
            root.children()
                .find(|n| n.is_element() && n.tag_name().name() == name)
        };
        let number = |name: &'static str| -> Result<u64, BmapError> {
            let node = child(name).ok_or(BmapError::Missing { element: name })?;
            let text = node.text().unwrap_or("").trim();
            text.parse::<u64>().map_err(|_| BmapError::Number {
                element: name,
                line: line_of(node),
                text: text.to_string(),
            })
        };
        let image_size = number("ImageSize")?;
        let block_size = number("BlockSize")?;
        let blocks_count = number("BlocksCount")?;
        let mapped_blocks_count = number("MappedBlocksCount")?;
        if block_size == 0 {
            return Err(BmapError::Inconsistent {
                detail: "BlockSize is 0".into(),
            });
        }
        if blocks_count != image_size.div_ceil(block_size) {
            return Err(BmapError::Inconsistent {
                detail: format!(
                    "BlocksCount is {blocks_count}, but ImageSize {image_size} in blocks of \
                     {block_size} bytes makes {}",
                    image_size.div_ceil(block_size)
                ),
            });
        }

        // Checksums, by version.
        let (checksum_type, range_attr, file_element) = if version >= (1, 4) {
            let node = child("ChecksumType").ok_or(BmapError::Missing {
                element: "ChecksumType",
            })?;
            let text = node.text().unwrap_or("").trim();
            let kind = match text.to_ascii_lowercase().as_str() {
                "sha256" => ChecksumType::Sha256,
                "sha1" => ChecksumType::Sha1,
                "md5" => ChecksumType::Md5,
                _ => {
                    return Err(BmapError::ChecksumType {
                        line: line_of(node),
                        text: text.to_string(),
                    });
                }
            };
            (kind, "chksum", "BmapFileChecksum")
        } else if version == (1, 3) {
            (ChecksumType::Sha1, "sha1", "BmapFileSHA1")
        } else {
            (ChecksumType::None, "", "")
        };
        let file_checksum = match checksum_type {
            ChecksumType::None => FileChecksum::Absent,
            ChecksumType::Sha256 => {
                let node = child("BmapFileChecksum").ok_or(BmapError::Missing {
                    element: "BmapFileChecksum",
                })?;
                verify_file_checksum(text, node)?;
                FileChecksum::Verified
            }
            other => {
                if child(file_element).is_none() {
                    FileChecksum::Absent
                } else {
                    FileChecksum::NotVerified(other)
                }
            }
        };

        let map = child("BlockMap").ok_or(BmapError::Missing {
            element: "BlockMap",
        })?;
        let mut ranges: Vec<MappedRange> = Vec::new();
        let mut mapped = 0u64;
        for node in map.children().filter(|n| n.is_element()) {
            let text = node.text().unwrap_or("").trim().to_string();
            let line = line_of(node);
            let bad = |reason: String| BmapError::Range {
                line,
                text: text.clone(),
                reason,
            };
            if node.tag_name().name() != "Range" {
                return Err(bad(format!(
                    "is a <{}> element, where only <Range> may be",
                    node.tag_name().name()
                )));
            }
            let (first, last) = parse_range(&text)
                .ok_or_else(|| bad("is not a block number or a range \"first-last\"".into()))?;
            if first > last {
                return Err(bad("ends before it starts".into()));
            }
            if last >= blocks_count {
                return Err(bad(format!(
                    "goes past the end of the image (block {last}, the image has {blocks_count})"
                )));
            }
            if let Some(prev) = ranges.last()
                && first <= prev.last_block
            {
                return Err(bad(format!(
                    "overlaps or comes before the range ending at block {}",
                    prev.last_block
                )));
            }
            let sha256 = match (checksum_type, node.attribute(range_attr)) {
                (ChecksumType::Sha256, Some(hex)) => {
                    Some(parse_sha256(hex).ok_or_else(|| {
                        bad(format!("has a checksum {hex:?} that is not a SHA-256"))
                    })?)
                }
                _ => None,
            };
            mapped += last - first + 1;
            ranges.push(MappedRange {
                first_block: first,
                last_block: last,
                sha256,
            });
        }
        if mapped != mapped_blocks_count {
            return Err(BmapError::Inconsistent {
                detail: format!(
                    "MappedBlocksCount is {mapped_blocks_count}, but the ranges hold {mapped} blocks"
                ),
            });
        }
        Ok(Bmap {
            version,
            image_size,
            block_size,
            blocks_count,
            mapped_blocks_count,
            checksum_type,
            file_checksum,
            ranges,
            sha256: Sha256::digest(text.as_bytes()).into(),
        })
    }

    /// SHA-256 of the bmap file as read (to compare with a catalogue's `bmap_sha256`).
    pub fn sha256(&self) -> [u8; 32] {
        self.sha256
    }

    /// True when every mapped range carries a SHA-256 that will be checked, and the file's
    /// own checksum was verified: the ranges' hashes then stand for the image's integrity.
    pub fn verifies_ranges(&self) -> bool {
        self.file_checksum == FileChecksum::Verified && self.unverified_reason().is_none()
    }

    /// The format version, (major, minor).
    pub fn version(&self) -> (u32, u32) {
        self.version
    }

    /// Size of the image, in bytes.
    pub fn image_size(&self) -> u64 {
        self.image_size
    }

    /// Size of a block, in bytes.
    pub fn block_size(&self) -> u64 {
        self.block_size
    }

    /// Blocks in the image (the last one may be partial).
    pub fn blocks_count(&self) -> u64 {
        self.blocks_count
    }

    /// Blocks listed in the map.
    pub fn mapped_blocks_count(&self) -> u64 {
        self.mapped_blocks_count
    }

    /// Bytes of the image listed in the map.
    pub fn mapped_bytes(&self) -> u64 {
        self.byte_ranges().map(|s| s.length).sum()
    }

    /// The hash the file names for its checksums.
    pub fn checksum_type(&self) -> ChecksumType {
        self.checksum_type
    }

    /// What became of the file's checksum of itself.
    pub fn file_checksum(&self) -> FileChecksum {
        self.file_checksum
    }

    /// The mapped runs of blocks, in increasing order, not overlapping.
    pub fn ranges(&self) -> &[MappedRange] {
        &self.ranges
    }

    /// The mapped runs in bytes of the image.
    pub fn byte_ranges(&self) -> impl Iterator<Item = ByteSpan> + '_ {
        self.ranges.iter().map(|r| {
            let offset = r.first_block * self.block_size;
            let end = ((r.last_block + 1) * self.block_size).min(self.image_size);
            ByteSpan {
                offset,
                length: end - offset,
                sha256: r.sha256,
            }
        })
    }

    /// Why the ranges will not be checked against the bmap's checksums, when they will not
    /// (no checksums, or SHA-1 / MD5 ones), in a sentence for the operator.
    pub fn unverified_reason(&self) -> Option<String> {
        let (major, minor) = self.version;
        match self.checksum_type {
            ChecksumType::Sha256 if self.ranges.iter().all(|r| r.sha256.is_some()) => None,
            ChecksumType::Sha256 => Some(format!(
                "this bmap (format {major}.{minor}) gives no checksum for some ranges; those are \
                 written unchecked against it (the whole image is still hashed and read back)"
            )),
            ChecksumType::None => Some(format!(
                "this bmap (format {major}.{minor}) has no checksums; the ranges are written \
                 unchecked against it (the whole image is still hashed and read back)"
            )),
            other => Some(format!(
                "this bmap (format {major}.{minor}) uses {other} checksums, which Atelier does not \
                 verify (SHA-256 only); the ranges are written unchecked against it (the whole \
                 image is still hashed and read back)"
            )),
        }
    }
}

/// A mapped range whose bytes do not have the SHA-256 the bmap gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the image's bytes {offset}..{} (blocks {first_block}-{last_block}) do not match the bmap's \
     checksum: the image or the bmap is damaged, or they do not belong together",
    offset + length
)]
pub struct RangeMismatch {
    /// First block of the range.
    pub first_block: u64,
    /// Last block of the range.
    pub last_block: u64,
    /// Offset of the range in the image.
    pub offset: u64,
    /// Length of the range in bytes.
    pub length: u64,
}

/// Checks a decoded image, fed in order, against the bmap's range checksums (as
/// `bmaptool copy` does while it copies). Ranges without a checksum are skipped.
#[derive(Debug, Clone)]
pub struct RangeChecker {
    spans: Vec<(MappedRange, ByteSpan)>,
    image_size: u64,
    next: usize,
    pos: u64,
    hasher: Sha256,
    mismatches: Vec<RangeMismatch>,
}

impl Bmap {
    /// A checker of the image's bytes against this bmap's SHA-256 range checksums.
    pub fn checker(&self) -> RangeChecker {
        RangeChecker {
            spans: self
                .ranges
                .iter()
                .copied()
                .zip(self.byte_ranges())
                .filter(|(_, s)| s.sha256.is_some())
                .collect(),
            image_size: self.image_size,
            next: 0,
            pos: 0,
            hasher: Sha256::new(),
            mismatches: Vec::new(),
        }
    }
}

impl RangeChecker {
    /// Feeds the next decoded bytes of the image.
    pub fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let Some((range, span)) = self.spans.get(self.next).copied() else {
                self.pos += data.len() as u64;
                return;
            };
            let end = span.offset + span.length;
            if self.pos < span.offset {
                let skip = (span.offset - self.pos).min(data.len() as u64) as usize;
                self.pos += skip as u64;
                data = &data[skip..];
                continue;
            }
            let take = (end - self.pos).min(data.len() as u64) as usize;
            self.hasher.update(&data[..take]);
            self.pos += take as u64;
            data = &data[take..];
            if self.pos == end {
                let digest: [u8; 32] = std::mem::take(&mut self.hasher).finalize().into();
                if Some(digest) != span.sha256 {
                    self.mismatches.push(RangeMismatch {
                        first_block: range.first_block,
                        last_block: range.last_block,
                        offset: span.offset,
                        length: span.length,
                    });
                }
                self.next += 1;
            }
        }
    }

    /// Ranges found not to match so far.
    pub fn mismatches(&self) -> &[RangeMismatch] {
        &self.mismatches
    }

    /// Bytes fed so far.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Ends the check: every range must have been seen and matched, and the image must be
    /// exactly as long as the bmap says.
    pub fn finish(self) -> Result<(), BmapCheckError> {
        if self.pos != self.image_size {
            return Err(BmapCheckError::Size {
                image: self.pos,
                bmap: self.image_size,
            });
        }
        if !self.mismatches.is_empty() {
            return Err(BmapCheckError::Ranges(self.mismatches));
        }
        Ok(())
    }
}

/// How an image failed its check against a bmap.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BmapCheckError {
    /// The image is not as long as the bmap says.
    #[error(
        "the image is {image} bytes long but its bmap describes {bmap} bytes: they do not \
         belong together; use the bmap published with this image, or write without one"
    )]
    Size {
        /// Bytes of the image.
        image: u64,
        /// The bmap's `ImageSize`.
        bmap: u64,
    },
    /// Ranges whose checksum failed.
    #[error(
        "{} range(s) of the image do not match the bmap's checksums, the first: {}",
        .0.len(),
        .0[0]
    )]
    Ranges(Vec<RangeMismatch>),
}

fn parse_version(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

fn parse_range(text: &str) -> Option<(u64, u64)> {
    let parse = |s: &str| -> Option<u64> {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match text.split_once('-') {
        Some((a, b)) => Some((parse(a)?, parse(b)?)),
        None => {
            let n = parse(text)?;
            Some((n, n))
        }
    }
}

/// Recomputes `BmapFileChecksum`: SHA-256 of the file with the element's hex digits replaced
/// by as many `0`.
fn verify_file_checksum(text: &str, node: roxmltree::Node) -> Result<(), BmapError> {
    let expected = node.text().unwrap_or("").trim().to_ascii_lowercase();
    if parse_sha256(&expected).is_none() {
        return Err(BmapError::FileChecksum {
            expected,
            computed: "(none: the value written is not a SHA-256)".into(),
        });
    }
    let text_node = node
        .first_child()
        .filter(|n| n.is_text())
        .ok_or(BmapError::Missing {
            element: "BmapFileChecksum",
        })?;
    let range = text_node.range();
    let raw = &text[range.clone()];
    let lead = raw.len() - raw.trim_start().len();
    let start = range.start + lead;
    let end = start + expected.len();
    let mut hasher = Sha256::new();
    hasher.update(&text.as_bytes()[..start]);
    hasher.update("0".repeat(expected.len()).as_bytes());
    hasher.update(&text.as_bytes()[end..]);
    let computed = crate::image::to_hex(&hasher.finalize());
    if computed != expected {
        return Err(BmapError::FileChecksum { expected, computed });
    }
    Ok(())
}
