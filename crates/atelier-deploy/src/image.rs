//! Image sources: open an image file, whatever its container, and read the raw disk image
//! out of it while hashing both the file as stored and the decoded stream.
//!
//! The container is recognised by its first bytes, never by its name (the name is only used
//! to say "this is named like an xz file but is not one"):
//!
//! | format | signature | specification |
//! | --- | --- | --- |
//! | xz | `FD 37 7A 58 5A 00` | *The .xz File Format*, version 1.2.1 (Tukaani project): stream header and footer, blocks, index, stream padding |
//! | zstd | `28 B5 2F FD` (skippable frames `5? 2A 4D 18`) | RFC 8878, *Zstandard Compression and the `application/zstd` Media Type* |
//! | gzip | `1F 8B` | RFC 1952 (gzip members), RFC 1951 (DEFLATE) |
//! | zip | `50 4B 03 04` | PKWARE *APPNOTE.TXT* 6.3: local headers, central directory, end of central directory, ZIP64 |
//! | raw | anything else | the disk image itself |
//!
//! Every container is read strictly: a file that ends before its compressed stream does is
//! [`ImageError::Truncated`], bytes after the last stream are [`ImageError::TrailingData`],
//! a failed integrity check (xz CRC32/CRC64/SHA-256 per block, gzip and zip CRC-32, zstd
//! content checksum) is [`ImageError::Corrupt`]. A decoder that silently stops early would
//! write a short image to a card; here the only way to get `Ok(0)` from [`ImageReader`] is
//! the clean end of the last stream.
//!
//! xz files made of several blocks (`xz -T`, which records block sizes in the block headers)
//! are decoded by liblzma's multi-threaded decoder, whose workers run ahead of the reader.
//! The other decoders run in the caller's thread, or in one of their own on machines with
//! three CPUs or more ([`DecodeThread`]).
//!
//! Cost per GiB of image (measured with `benches/decode.rs`): the two SHA-256 (SHA-NI) take
//! about 0.75 s of CPU; liblzma as bundled by the `liblzma` crate checks CRC64 without
//! PCLMULQDQ (about 0.8 s per GiB more than Debian's xz) unless the C build gets
//! `-DHAVE_USABLE_CLMUL -DHAVE_CPUID_H` (e.g. `CFLAGS_x86_64_unknown_linux_gnu`); its LZMA
//! decoder (xz 5.8) is about 15 % faster than Debian's 5.4 on real data.
//!
//! A raw image in a regular file is read without reading its holes (`lseek` `SEEK_DATA` /
//! `SEEK_HOLE`; the holes are filled with zeros in memory, the same bytes `read` would give).

mod sparse;

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread;

use flate2::bufread::{DeflateDecoder, GzDecoder};
use liblzma::stream::{Action, MtStreamBuilder, Status, Stream};
use sha2::{Digest, Sha256};
use zstd::stream::raw::{DParameter, Decoder as ZstdRaw, InBuffer, Operation, OutBuffer};

/// The xz stream header magic bytes.
const XZ_MAGIC: [u8; 6] = [0xFD, b'7', b'z', b'X', b'Z', 0x00];
/// The xz stream footer magic bytes.
const XZ_FOOTER_MAGIC: [u8; 2] = [b'Y', b'Z'];
/// The zstd frame magic number, little-endian.
const ZSTD_MAGIC: u32 = 0xFD2F_B528;
/// Skippable zstd frames: `0x184D2A50`..=`0x184D2A5F`.
const ZSTD_SKIPPABLE_MASK: u32 = 0xFFFF_FFF0;
const ZSTD_SKIPPABLE: u32 = 0x184D_2A50;
/// The gzip member magic bytes.
const GZIP_MAGIC: [u8; 2] = [0x1F, 0x8B];
/// A zip local file header.
const ZIP_LOCAL: [u8; 4] = *b"PK\x03\x04";
/// A zip end-of-central-directory record.
const ZIP_EOCD: [u8; 4] = *b"PK\x05\x06";

/// Bytes read from the image file at a time.
const INPUT_BUFFER: usize = 1 << 20;
/// Decoded bytes per chunk handed from the background decoder to the reader.
const CHUNK: usize = 4 << 20;
/// Chunks in flight between the background decoder and the reader.
const CHUNKS_IN_FLIGHT: usize = 3;
/// Chunk buffers in all: in flight, being filled, being read.
const CHUNK_BUFFERS: usize = CHUNKS_IN_FLIGHT + 2;

/// The container of an image file, as recognised from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    /// The disk image itself, uncompressed.
    Raw,
    /// An xz file (one or more streams).
    Xz,
    /// A Zstandard file (one or more frames).
    Zstd,
    /// A gzip file (one or more members).
    Gzip,
    /// A zip archive holding exactly one file, stored or deflated.
    Zip,
}

impl ImageFormat {
    /// The short name used in the record (`ImageInfo::format`): `raw`, `xz`, `zst`, `gz`, `zip`.
    pub fn name(self) -> &'static str {
        match self {
            ImageFormat::Raw => "raw",
            ImageFormat::Xz => "xz",
            ImageFormat::Zstd => "zst",
            ImageFormat::Gzip => "gz",
            ImageFormat::Zip => "zip",
        }
    }

    /// Recognises a container from the first bytes of a file (at least 6 are needed to tell
    /// xz; fewer give [`ImageFormat::Raw`] unless another signature fits).
    pub fn detect(head: &[u8]) -> ImageFormat {
        if head.starts_with(&XZ_MAGIC) {
            ImageFormat::Xz
        } else if head.len() >= 4 && is_zstd_frame_start(le32(&head[..4])) {
            ImageFormat::Zstd
        } else if head.starts_with(&GZIP_MAGIC) {
            ImageFormat::Gzip
        } else if head.starts_with(&ZIP_LOCAL) {
            ImageFormat::Zip
        } else {
            ImageFormat::Raw
        }
    }
}

impl fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How to open an image.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Threads for decoding multi-block xz files; `0` means one per CPU.
    pub xz_threads: u32,
    /// Memory the xz decoder's threads may use in all before it falls back to fewer threads
    /// (never to failure); `None` means a quarter of the machine's memory.
    pub xz_memlimit_threading: Option<u64>,
    /// Hash the file as stored (its SHA-256 is what publishers usually give). For a raw image
    /// the file is the image: its hash is the image's, given only with [`Self::hash_image`].
    pub hash_file: bool,
    /// Hash the decoded image as it is read ([`ImageDigests::image_sha256`]). A caller that
    /// hashes the stream itself on another thread, or that verifies the image otherwise (a
    /// block map's per-range SHA-256), turns this off: it is the largest cost of reading a
    /// sparse raw image.
    pub hash_image: bool,
    /// A raw image in a regular file: read only these byte ranges (sorted, disjoint), and
    /// give zeros for the rest without reading it. The decoded stream then differs from the
    /// file outside the ranges, so this is only for a caller that neither hashes the whole
    /// stream nor uses those bytes: a block map's unmapped blocks, which are neither written
    /// nor verified. Ignored for every other format.
    pub raw_only_ranges: Option<Vec<std::ops::Range<u64>>>,
    /// Where the decoder runs.
    pub decode_thread: DecodeThread,
}

/// Where the decoder runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DecodeThread {
    /// A thread of its own for a single-threaded decoder (zstd, gzip, zip, one-block xz)
    /// when the machine has three CPUs or more; the caller's thread otherwise. Measured on
    /// two cores (`benches/decode.rs`), a separate decoder thread costs more CPU (a copy,
    /// hand-overs) than it saves once the rest of the pipeline needs the second core; a
    /// multi-block xz file has liblzma's own workers running ahead anyway, and a raw image
    /// has nothing to decode.
    #[default]
    Auto,
    /// Always in a thread of its own, handing decoded chunks to the reader.
    Separate,
    /// Always in the caller's thread, inside `read`.
    Caller,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            xz_threads: 0,
            xz_memlimit_threading: None,
            hash_file: true,
            hash_image: true,
            raw_only_ranges: None,
            decode_thread: DecodeThread::Auto,
        }
    }
}

/// What went wrong with an image file. Every variant names the file, says what happened and
/// what to do next.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ImageError {
    /// The file could not be opened.
    #[error("cannot open the image file {path}: {source}; check the path and its permissions")]
    Open {
        /// The image file.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: Arc<io::Error>,
    },
    /// Reading the file failed.
    #[error(
        "cannot read the image file {path} at byte {offset}: {source}; the medium holding it \
         may be failing: copy the file to another disk, check it against its published SHA-256, \
         and try again"
    )]
    Read {
        /// The image file.
        path: PathBuf,
        /// How far into the file reading had got.
        offset: u64,
        /// The system's error.
        #[source]
        source: Arc<io::Error>,
    },
    /// The file, or the image inside it, is empty.
    #[error(
        "the image file {path} holds no image (0 bytes once decoded); check that it is the right file"
    )]
    Empty {
        /// The image file.
        path: PathBuf,
    },
    /// The file ends before its compressed stream does.
    #[error(
        "the image file {path} ({format}) is truncated: it ends before its compressed data does, \
         after {after_bytes} bytes of image were decoded; the download or copy is incomplete: \
         fetch the file again"
    )]
    Truncated {
        /// The image file.
        path: PathBuf,
        /// Its container.
        format: ImageFormat,
        /// Decoded image bytes delivered before the end was found missing.
        after_bytes: u64,
    },
    /// The compressed data is damaged: a failed integrity check or an impossible structure.
    #[error(
        "the image file {path} ({format}) is damaged after {after_bytes} bytes of image: \
         {detail}; fetch the file again"
    )]
    Corrupt {
        /// The image file.
        path: PathBuf,
        /// Its container.
        format: ImageFormat,
        /// Decoded image bytes delivered before the damage was found.
        after_bytes: u64,
        /// What the decoder found.
        detail: String,
    },
    /// Bytes follow the end of the last compressed stream.
    #[error(
        "the image file {path} ({format}) has data after the end of its compressed stream, \
         from byte {offset} of the file; it is damaged or two files were joined: fetch it again"
    )]
    TrailingData {
        /// The image file.
        path: PathBuf,
        /// Its container.
        format: ImageFormat,
        /// Where, in the file, the unexpected data starts.
        offset: u64,
    },
    /// The container is recognised but not one this reader decodes.
    #[error("the image file {path} cannot be read: {detail}")]
    Unsupported {
        /// The image file.
        path: PathBuf,
        /// What is not supported and what to do instead.
        detail: String,
    },
    /// A zip archive that does not hold exactly one file.
    #[error(
        "the zip archive {path} must hold exactly one image file, and it holds {}: {}; \
         extract the image you want and give its path",
        members.len(),
        if members.is_empty() { "nothing".to_string() } else { members.join(", ") }
    )]
    ZipMembers {
        /// The archive.
        path: PathBuf,
        /// The files it holds (directories left out).
        members: Vec<String>,
    },
    /// The file's name says it is compressed, but its content does not start like that.
    #[error(
        "the image file {path} is named like a .{extension} file but does not start with that \
         format's signature (nor any other known one); it is probably not an image (an error page \
         saved by a download?): check the file"
    )]
    Misnamed {
        /// The image file.
        path: PathBuf,
        /// The extension that promised a compressed format.
        extension: String,
    },
    /// [`ImageReader::finish`] was called while decoded data remained unread.
    #[error(
        "the image in {path} is longer than what was read ({read_bytes} bytes): it was not read \
         to its end, so it cannot be hashed (a bug in the caller, or a wrong image size)"
    )]
    NotAtEnd {
        /// The image file.
        path: PathBuf,
        /// Decoded bytes read before `finish`.
        read_bytes: u64,
    },
    /// The background decoder stopped without saying why (it panicked).
    #[error("the decoder of {path} stopped unexpectedly; this is a bug: please report it")]
    DecoderLost {
        /// The image file.
        path: PathBuf,
    },
}

impl ImageError {
    /// The [`ImageError`] inside an `io::Error` returned by [`ImageReader`]'s `Read` impl.
    pub fn from_io(error: &io::Error) -> Option<&ImageError> {
        error.get_ref()?.downcast_ref::<ImageError>()
    }

    fn io_kind(&self) -> io::ErrorKind {
        match self {
            ImageError::Open { source, .. } | ImageError::Read { source, .. } => source.kind(),
            ImageError::Truncated { .. } => io::ErrorKind::UnexpectedEof,
            _ => io::ErrorKind::InvalidData,
        }
    }
}

/// The hashes and sizes of an image read to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageDigests {
    /// SHA-256 of the file as stored (compressed); `None` when hashing the file was turned
    /// off. For a raw image it equals `image_sha256`.
    pub file_sha256: Option<[u8; 32]>,
    /// SHA-256 of the decoded image; `None` when [`OpenOptions::hash_image`] was off.
    pub image_sha256: Option<[u8; 32]>,
    /// Size of the file as stored.
    pub file_bytes: u64,
    /// Size of the decoded image.
    pub image_bytes: u64,
}

impl ImageDigests {
    /// `file_sha256` in lower-case hexadecimal.
    pub fn file_sha256_hex(&self) -> Option<String> {
        self.file_sha256.as_ref().map(|d| to_hex(d))
    }

    /// `image_sha256` in lower-case hexadecimal.
    pub fn image_sha256_hex(&self) -> Option<String> {
        self.image_sha256.as_ref().map(|d| to_hex(d))
    }
}

/// Lower-case hexadecimal of some bytes.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// Parses a SHA-256 written as 64 hexadecimal digits (either case, surrounding blanks
/// ignored).
pub fn parse_sha256(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in text.as_bytes().chunks(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

/// Opens an image file and returns a reader of the decoded disk image.
///
/// The container is recognised by its signature; the file's own structure is checked where
/// it can be without decoding (zip: the central directory and its single member; xz, zstd,
/// gzip: the declared sizes used for [`ImageReader::decoded_size_hint`]).
pub fn open_image(path: &Path, opts: &OpenOptions) -> Result<ImageReader, ImageError> {
    let open_err = |e: io::Error| ImageError::Open {
        path: path.to_path_buf(),
        source: Arc::new(e),
    };
    let read_err = |offset: u64, e: io::Error| ImageError::Read {
        path: path.to_path_buf(),
        offset,
        source: Arc::new(e),
    };
    let mut file = File::open(path).map_err(open_err)?;
    let meta = file.metadata().map_err(open_err)?;
    if meta.is_dir() {
        return Err(open_err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "it is a directory",
        )));
    }
    // A block device (a card to copy from) reports no length in its metadata.
    let file_size = if std::os::unix::fs::FileTypeExt::is_block_device(&meta.file_type()) {
        file.seek(SeekFrom::End(0)).map_err(|e| read_err(0, e))?
    } else {
        meta.len()
    };
    if file_size == 0 {
        return Err(ImageError::Empty {
            path: path.to_path_buf(),
        });
    }
    let head = read_at(&mut file, 0, 18).map_err(|e| read_err(0, e))?;
    let format = ImageFormat::detect(&head);
    if format == ImageFormat::Raw {
        refuse_misnamed(path, &head)?;
    }

    let mut size_hint = None;
    let mut hint_exact = false;
    let mut member = None;
    let mut xz_blocks = None;
    let mut zip_member = None;
    match format {
        ImageFormat::Raw => {
            size_hint = Some(file_size);
            hint_exact = true;
        }
        ImageFormat::Xz => {
            if let Some(summary) = xz_index_summary(&mut file, file_size) {
                size_hint = Some(summary.uncompressed);
                hint_exact = true;
                xz_blocks = Some(summary.blocks);
            }
        }
        ImageFormat::Zstd => {
            if let Ok(Some(n)) = zstd::zstd_safe::get_frame_content_size(&head) {
                size_hint = Some(n);
            }
        }
        ImageFormat::Gzip => {
            if file_size >= 18 {
                let tail =
                    read_at(&mut file, file_size - 4, 4).map_err(|e| read_err(file_size - 4, e))?;
                size_hint = Some(gzip_size_guess(le32(&tail), file_size));
            }
        }
        ImageFormat::Zip => {
            let m = zip_single_member(path, &mut file, file_size)?;
            size_hint = Some(m.size);
            hint_exact = true;
            member = Some(m.name.clone());
            zip_member = Some(m);
        }
    }
    file.seek(SeekFrom::Start(0)).map_err(|e| read_err(0, e))?;

    // A raw image in a regular file: its holes are not read but filled with zeros.
    let source: Box<dyn Read + Send> = if format == ImageFormat::Raw && meta.is_file() {
        Box::new(sparse::SparseFile::new(
            file,
            file_size,
            opts.raw_only_ranges.clone(),
        ))
    } else {
        Box::new(file)
    };
    let input = Input::new(source, opts.hash_file && format != ImageFormat::Raw);
    let decoder: Box<dyn Decode> = match format {
        ImageFormat::Raw => Box::new(RawDecode { input }),
        ImageFormat::Xz => Box::new(XzDecode::new(input, opts)),
        ImageFormat::Zstd => {
            Box::new(ZstdDecode::new(input).map_err(|e| ImageError::Unsupported {
                path: path.to_path_buf(),
                detail: format!("the zstd decoder cannot start ({e})"),
            })?)
        }
        ImageFormat::Gzip => Box::new(GzDecode {
            state: GzState::Between(input),
            members: 0,
        }),
        ImageFormat::Zip => Box::new(ZipDecode::new(
            input,
            zip_member.expect("zip member found above"),
        )),
    };
    let xz_parallel =
        format == ImageFormat::Xz && xz_blocks.is_some_and(|b| b > 1) && xz_threads(opts) > 1;
    let cpus = thread::available_parallelism().map_or(1, |n| n.get());
    let separate = match opts.decode_thread {
        DecodeThread::Auto => cpus >= 3 && !xz_parallel && format != ImageFormat::Raw,
        DecodeThread::Separate => true,
        DecodeThread::Caller => false,
    };
    let engine = if separate {
        Engine::spawn(decoder)
    } else {
        Engine::Inline(Some(decoder))
    };
    Ok(ImageReader {
        path: path.to_path_buf(),
        format,
        file_size,
        size_hint,
        hint_exact,
        member,
        xz_blocks,
        hash_file: opts.hash_file,
        engine,
        image_hasher: opts.hash_image.then(Sha256::new),
        decoded: 0,
        state: ReaderState::Reading,
        handle: DigestsHandle::default(),
    })
}

/// Refuses a file that carries a compressed format's extension but none of the signatures.
fn refuse_misnamed(path: &Path, head: &[u8]) -> Result<(), ImageError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    // Containers recognised but not decoded: say so rather than writing them raw.
    // bzip2: "BZh", the block size digit, then a block header (the digits of pi) or the
    // end-of-stream marker (the digits of sqrt(pi)).
    let bzip2 = head.len() >= 10
        && head.starts_with(b"BZh")
        && (b'1'..=b'9').contains(&head[3])
        && (head[4..10] == [0x31, 0x41, 0x59, 0x26, 0x53, 0x59]
            || head[4..10] == [0x17, 0x72, 0x45, 0x38, 0x50, 0x90]);
    let unsupported = if bzip2 {
        Some(
            "it is a bzip2 file, which is not supported: decompress it (bunzip2) or use the xz or zstd version",
        )
    } else if head.starts_with(b"LZIP") {
        Some("it is an lzip file, which is not supported: decompress it (lzip -d) first")
    } else if head.starts_with(&[b'7', b'z', 0xBC, 0xAF, 0x27, 0x1C]) {
        Some("it is a 7-Zip archive, which is not supported: extract the image (7z x) first")
    } else {
        None
    };
    if let Some(detail) = unsupported {
        return Err(ImageError::Unsupported {
            path: path.to_path_buf(),
            detail: detail.into(),
        });
    }
    for ext in ["xz", "zst", "zstd", "gz", "zip", "bz2", "lz", "7z", "lzma"] {
        if name.ends_with(&format!(".{ext}")) {
            return Err(ImageError::Misnamed {
                path: path.to_path_buf(),
                extension: ext.into(),
            });
        }
    }
    Ok(())
}

fn read_at(file: &mut File, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(offset))?;
    let mut buf = Vec::with_capacity(len);
    file.by_ref().take(len as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

fn is_zstd_frame_start(magic: u32) -> bool {
    magic == ZSTD_MAGIC || magic & ZSTD_SKIPPABLE_MASK == ZSTD_SKIPPABLE
}

/// gzip's ISIZE is the decoded size modulo 2^32. DEFLATE cannot make data much larger (stored
/// blocks add 5 bytes per 65 535), so the decoded size is at least about the compressed size:
/// take the smallest value congruent to ISIZE above that bound. Images of 4 GiB and more that
/// compress well may be larger by multiples of 4 GiB.
fn gzip_size_guess(isize: u32, file_size: u64) -> u64 {
    let lower = file_size.saturating_sub(file_size / 10_000 + 64);
    let mut guess = u64::from(isize);
    while guess < lower {
        guess += 1 << 32;
    }
    guess
}

/// What the xz index says about a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct XzSummary {
    streams: u32,
    blocks: u64,
    uncompressed: u64,
}

/// Reads the xz index(es) backwards from the end of the file (xz file format §2.1.2.2 stream
/// footer, §4 index, §2.2 stream padding). `None` when the file does not end like an xz
/// file should: the decoder will then say precisely what is wrong.
fn xz_index_summary(file: &mut File, file_size: u64) -> Option<XzSummary> {
    let mut end = file_size;
    let mut summary = XzSummary {
        streams: 0,
        blocks: 0,
        uncompressed: 0,
    };
    while end > 0 {
        // Stream padding: groups of four zero bytes.
        if end >= 4 && read_at(file, end - 4, 4).ok()? == [0, 0, 0, 0] {
            end -= 4;
            continue;
        }
        if end < 24 {
            return None;
        }
        let footer = read_at(file, end - 12, 12).ok()?;
        if footer[10..12] != XZ_FOOTER_MAGIC
            || crc32fast::hash(&footer[4..10]) != le32(&footer[0..4])
        {
            return None;
        }
        let backward_size = (u64::from(le32(&footer[4..8])) + 1) * 4;
        // An index of more than 64 MiB (millions of blocks) is not believed: only a hint.
        if backward_size > 64 << 20 {
            return None;
        }
        let index_start = (end - 12).checked_sub(backward_size)?;
        let index = read_at(file, index_start, usize::try_from(backward_size).ok()?).ok()?;
        let (records, blocks_size, uncompressed) = parse_xz_index(&index)?;
        let stream_size = 12 + blocks_size + backward_size + 12;
        let start = end.checked_sub(stream_size)?;
        if read_at(file, start, 6).ok()? != XZ_MAGIC {
            return None;
        }
        summary.streams += 1;
        summary.blocks += records;
        summary.uncompressed = summary.uncompressed.checked_add(uncompressed)?;
        end = start;
    }
    (summary.streams > 0).then_some(summary)
}

/// Parses one xz index: (records, total size of the blocks with their padding, uncompressed
/// size).
fn parse_xz_index(index: &[u8]) -> Option<(u64, u64, u64)> {
    if index.len() < 8 || index[0] != 0 {
        return None;
    }
    let (body, crc) = index.split_at(index.len() - 4);
    if crc32fast::hash(body) != le32(crc) {
        return None;
    }
    let mut pos = 1;
    let records = read_varint(body, &mut pos)?;
    let mut blocks_size = 0u64;
    let mut uncompressed = 0u64;
    for _ in 0..records {
        let unpadded = read_varint(body, &mut pos)?;
        let size = read_varint(body, &mut pos)?;
        blocks_size = blocks_size.checked_add(unpadded.checked_add(3)? & !3)?;
        uncompressed = uncompressed.checked_add(size)?;
    }
    Some((records, blocks_size, uncompressed))
}

/// An xz variable-length integer (xz file format §1.2).
fn read_varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for i in 0..9 {
        let b = *buf.get(*pos)?;
        *pos += 1;
        value |= u64::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// The single file of a zip archive, as its central directory describes it.
#[derive(Debug, Clone)]
struct ZipMember {
    name: String,
    method: u16,
    data_start: u64,
    compressed_size: u64,
    size: u64,
    crc32: u32,
}

fn zip_single_member(
    path: &Path,
    file: &mut File,
    file_size: u64,
) -> Result<ZipMember, ImageError> {
    let corrupt = |detail: String| ImageError::Corrupt {
        path: path.to_path_buf(),
        format: ImageFormat::Zip,
        after_bytes: 0,
        detail,
    };
    // The end-of-central-directory record sits in the last 22 + 65 535 bytes; a zip cut
    // short has lost it.
    let tail_len = file_size.min(22 + 65_535);
    let tail =
        read_at(file, file_size - tail_len, tail_len as usize).map_err(|e| ImageError::Read {
            path: path.to_path_buf(),
            offset: file_size - tail_len,
            source: Arc::new(e),
        })?;
    let truncated = || ImageError::Truncated {
        path: path.to_path_buf(),
        format: ImageFormat::Zip,
        after_bytes: 0,
    };
    // The record is 22 bytes and a comment whose length it gives: it must end the file.
    let eocd = tail
        .windows(4)
        .rposition(|w| w == ZIP_EOCD)
        .ok_or_else(truncated)?;
    let record = &tail[eocd..];
    if record.len() < 22 {
        return Err(truncated());
    }
    let end = 22 + usize::from(u16::from_le_bytes([record[20], record[21]]));
    if end > record.len() {
        return Err(truncated());
    }
    if end < record.len() {
        return Err(ImageError::TrailingData {
            path: path.to_path_buf(),
            format: ImageFormat::Zip,
            offset: file_size - tail_len + (eocd + end) as u64,
        });
    }
    file.seek(SeekFrom::Start(0))
        .map_err(|e| corrupt(e.to_string()))?;
    let mut archive = zip::ZipArchive::new(&mut *file)
        .map_err(|e| corrupt(format!("its central directory cannot be read ({e})")))?;
    let mut files = Vec::new();
    for i in 0..archive.len() {
        let entry = archive
            .by_index_raw(i)
            .map_err(|e| corrupt(format!("entry {i} cannot be read ({e})")))?;
        if !entry.is_dir() {
            files.push((i, entry.name().to_string()));
        }
    }
    if files.len() != 1 {
        return Err(ImageError::ZipMembers {
            path: path.to_path_buf(),
            members: files.into_iter().map(|(_, n)| n).collect(),
        });
    }
    let (index, name) = files.remove(0);
    let entry = archive
        .by_index_raw(index)
        .map_err(|e| corrupt(format!("{name} cannot be read ({e})")))?;
    if entry.encrypted() {
        return Err(ImageError::Unsupported {
            path: path.to_path_buf(),
            detail: format!(
                "{name} in the zip archive is encrypted; extract it with its password first"
            ),
        });
    }
    let method = zip_method_number(entry.compression());
    if method != 0 && method != 8 {
        return Err(ImageError::Unsupported {
            path: path.to_path_buf(),
            detail: format!(
                "{name} in the zip archive is compressed with method {method} ({}); only stored \
                 and deflated members are read: extract it first",
                zip_method_name(method)
            ),
        });
    }
    let data_start = entry
        .data_start()
        .ok_or_else(|| corrupt(format!("the data of {name} cannot be located")))?;
    let member = ZipMember {
        name,
        method,
        data_start,
        compressed_size: entry.compressed_size(),
        size: entry.size(),
        crc32: entry.crc32(),
    };
    if member
        .data_start
        .checked_add(member.compressed_size)
        .is_none_or(|end| end > file_size)
    {
        return Err(ImageError::Truncated {
            path: path.to_path_buf(),
            format: ImageFormat::Zip,
            after_bytes: 0,
        });
    }
    Ok(member)
}

/// The APPNOTE number of a compression method (the crate names only those it decodes).
#[allow(deprecated)] // `to_u16` is deprecated in favour of constants, which cannot name all methods.
fn zip_method_number(method: zip::CompressionMethod) -> u16 {
    method.to_u16()
}

fn zip_method_name(method: u16) -> &'static str {
    match method {
        9 => "Deflate64",
        12 => "bzip2",
        14 => "LZMA",
        93 => "Zstandard",
        95 => "xz",
        98 => "PPMd",
        _ => "unknown",
    }
}

/// A reader of the decoded image, which hashes what passes through it.
///
/// Read it to the end (until `read` returns `Ok(0)`), then call [`ImageReader::finish`] for
/// the digests. Errors from `Read::read` carry an [`ImageError`] (see
/// [`ImageError::from_io`]); [`ImageReader::read_image`] returns it directly.
pub struct ImageReader {
    path: PathBuf,
    format: ImageFormat,
    file_size: u64,
    size_hint: Option<u64>,
    hint_exact: bool,
    member: Option<String>,
    xz_blocks: Option<u64>,
    hash_file: bool,
    engine: Engine,
    image_hasher: Option<Sha256>,
    decoded: u64,
    state: ReaderState,
    handle: DigestsHandle,
}

/// Where an [`ImageReader`] leaves its digests once it has reached the clean end of the image
/// (see [`ImageReader::digests_handle`]).
#[derive(Debug, Clone, Default)]
pub struct DigestsHandle(Arc<Mutex<Option<ImageDigests>>>);

impl DigestsHandle {
    /// The digests, once the image was read to its clean end; `None` before, or after an
    /// error.
    pub fn get(&self) -> Option<ImageDigests> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

enum ReaderState {
    Reading,
    Ended(ImageDigests),
    Failed(ImageError),
}

impl fmt::Debug for ImageReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImageReader")
            .field("path", &self.path)
            .field("format", &self.format)
            .field("file_size", &self.file_size)
            .field("size_hint", &self.size_hint)
            .field("decoded", &self.decoded)
            .finish_non_exhaustive()
    }
}

impl ImageReader {
    /// The image file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The container recognised.
    pub fn format(&self) -> ImageFormat {
        self.format
    }

    /// Size of the file as stored.
    pub fn file_size(&self) -> u64 {
        self.file_size
    }

    /// The name of the image inside a zip archive.
    pub fn member_name(&self) -> Option<&str> {
        self.member.as_deref()
    }

    /// xz: the number of blocks its index lists (several can be decoded in parallel; one
    /// cannot); `None` for other formats or when the index could not be read.
    pub fn xz_blocks(&self) -> Option<u64> {
        self.xz_blocks
    }

    /// The decoded size, as the container declares it: raw, the file size; xz, the sum of
    /// the index records; zstd, the first frame's content size when it was recorded (a file
    /// of several frames declares only the first one's); gzip, ISIZE, which is the size
    /// modulo 4 GiB (see [`ImageReader::decoded_size_is_exact`]); zip, the central
    /// directory's size. Use it for progress and for refusing a target that is too small;
    /// the bytes actually decoded are in [`ImageDigests::image_bytes`].
    pub fn decoded_size_hint(&self) -> Option<u64> {
        self.size_hint
    }

    /// Whether [`ImageReader::decoded_size_hint`] is the exact size the container declares
    /// (raw, xz, zip), rather than an estimate (gzip, zstd).
    pub fn decoded_size_is_exact(&self) -> bool {
        self.hint_exact
    }

    /// Decoded bytes delivered so far.
    pub fn decoded_bytes(&self) -> u64 {
        self.decoded
    }

    /// A handle that receives the digests when this reader reaches the clean end of the
    /// image, for code that no longer holds the reader (it was handed over as a
    /// `Box<dyn Read>`) but must check the hashes before declaring the image good.
    pub fn digests_handle(&self) -> DigestsHandle {
        self.handle.clone()
    }

    /// Reads decoded image bytes; `Ok(0)` only at the clean end of the image.
    pub fn read_image(&mut self, buf: &mut [u8]) -> Result<usize, ImageError> {
        match &self.state {
            ReaderState::Reading => {}
            ReaderState::Ended(_) => return Ok(0),
            ReaderState::Failed(e) => return Err(e.clone()),
        }
        if buf.is_empty() {
            return Ok(0);
        }
        match self.engine.read(buf) {
            Ok(Delivery::Data(n)) => {
                if let Some(h) = &mut self.image_hasher {
                    h.update(&buf[..n]);
                }
                self.decoded += n as u64;
                Ok(n)
            }
            Ok(Delivery::End(file)) => {
                if self.decoded == 0 {
                    return Err(self.fail(ImageError::Empty {
                        path: self.path.clone(),
                    }));
                }
                let image_sha256: Option<[u8; 32]> =
                    self.image_hasher.take().map(|h| h.finalize().into());
                let file_sha256 = if self.format == ImageFormat::Raw {
                    image_sha256.filter(|_| self.hash_file)
                } else {
                    file.sha256
                };
                let digests = ImageDigests {
                    file_sha256,
                    image_sha256,
                    file_bytes: file.bytes,
                    image_bytes: self.decoded,
                };
                *self.handle.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(digests);
                self.state = ReaderState::Ended(digests);
                Ok(0)
            }
            Err(fault) => {
                let e = self.error_from(fault);
                Err(self.fail(e))
            }
        }
    }

    fn fail(&mut self, e: ImageError) -> ImageError {
        self.state = ReaderState::Failed(e.clone());
        e
    }

    fn error_from(&self, fault: Fault) -> ImageError {
        let path = self.path.clone();
        let format = self.format;
        let after_bytes = self.decoded;
        match fault {
            Fault::Io(e) => ImageError::Read {
                path,
                offset: self.engine.file_position(),
                source: Arc::new(e),
            },
            Fault::Truncated => ImageError::Truncated {
                path,
                format,
                after_bytes,
            },
            Fault::Corrupt(detail) => ImageError::Corrupt {
                path,
                format,
                after_bytes,
                detail,
            },
            Fault::Trailing(offset) => ImageError::TrailingData {
                path,
                format,
                offset,
            },
            Fault::Lost => ImageError::DecoderLost { path },
        }
    }

    /// Ends reading and returns the digests. The image must have been read to its end: if
    /// decoded data remains, this fails with [`ImageError::NotAtEnd`] (it reads one more
    /// chunk to find out, so calling it right after the last byte is fine).
    pub fn finish(mut self) -> Result<ImageDigests, ImageError> {
        if let ReaderState::Reading = self.state {
            let mut probe = vec![0u8; 64 << 10];
            let before = self.decoded;
            if self.read_image(&mut probe)? > 0 {
                return Err(ImageError::NotAtEnd {
                    path: self.path.clone(),
                    read_bytes: before,
                });
            }
        }
        match std::mem::replace(&mut self.state, ReaderState::Reading) {
            ReaderState::Ended(digests) => Ok(digests),
            ReaderState::Failed(e) => Err(e),
            ReaderState::Reading => unreachable!("read_image returned 0 without ending"),
        }
    }
}

impl Read for ImageReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_image(buf)
            .map_err(|e| io::Error::new(e.io_kind(), e))
    }
}

/// What a decoder found, before the reader adds the file's name and the position.
#[derive(Debug)]
enum Fault {
    Io(io::Error),
    Truncated,
    Corrupt(String),
    /// Data after the last stream, at this offset of the file.
    Trailing(u64),
    /// The decoder thread went away without a word.
    Lost,
}

/// The file as stored, hashed and counted once its end was reached.
#[derive(Debug, Clone, Copy)]
struct FileDigest {
    sha256: Option<[u8; 32]>,
    bytes: u64,
}

/// One decoder per container. `decode` returns `Ok(0)` only at the clean end.
trait Decode: Send {
    fn decode(&mut self, out: &mut [u8]) -> Result<usize, Fault>;
    /// After the end: reads what is left of the file (zip: the central directory) for the
    /// file hash.
    fn finish(&mut self) -> Result<FileDigest, Fault>;
    /// Bytes of the file read so far.
    fn position(&self) -> u64;
}

/// The image file, read through a buffer and hashed as it is read.
struct Input {
    file: Box<dyn Read + Send>,
    buf: Box<[u8]>,
    pos: usize,
    len: usize,
    hasher: Option<Sha256>,
    /// Bytes read from the file so far.
    read: u64,
    /// A read error of the file; decoders may wrap it, this keeps it recognisable.
    failed: bool,
}

impl Input {
    fn new(file: Box<dyn Read + Send>, hash: bool) -> Self {
        Input {
            file,
            buf: vec![0u8; INPUT_BUFFER].into_boxed_slice(),
            pos: 0,
            len: 0,
            hasher: hash.then(Sha256::new),
            read: 0,
            failed: false,
        }
    }

    /// Offset in the file of the next byte handed out.
    fn offset(&self) -> u64 {
        self.read - (self.len - self.pos) as u64
    }

    fn read_file(&mut self, into_buf_at: usize) -> io::Result<usize> {
        loop {
            match self.file.read(&mut self.buf[into_buf_at..]) {
                Ok(n) => {
                    if let Some(h) = &mut self.hasher {
                        h.update(&self.buf[into_buf_at..into_buf_at + n]);
                    }
                    self.read += n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.failed = true;
                    return Err(e);
                }
            }
        }
    }

    /// At least `n` bytes buffered, unless the file ends first.
    fn peek(&mut self, n: usize) -> io::Result<&[u8]> {
        if self.len - self.pos < n {
            self.buf.copy_within(self.pos..self.len, 0);
            self.len -= self.pos;
            self.pos = 0;
            while self.len < n {
                let got = self.read_file(self.len)?;
                if got == 0 {
                    break;
                }
                self.len += got;
            }
        }
        let end = self.len.min(self.pos + n);
        Ok(&self.buf[self.pos..end])
    }

    /// Reads the rest of the file (hashing it); returns how many bytes that was.
    fn drain(&mut self) -> io::Result<u64> {
        let mut n = (self.len - self.pos) as u64;
        self.pos = self.len;
        loop {
            let got = self.read_file(0)?;
            if got == 0 {
                return Ok(n);
            }
            n += got as u64;
        }
    }

    fn digest(&mut self) -> Result<FileDigest, Fault> {
        self.drain().map_err(Fault::Io)?;
        Ok(FileDigest {
            sha256: self.hasher.take().map(|h| h.finalize().into()),
            bytes: self.read,
        })
    }

    /// Turns an error out of a decoder library into a fault, recognising our own read errors.
    fn classify(&mut self, e: io::Error) -> Fault {
        if std::mem::take(&mut self.failed) {
            Fault::Io(e)
        } else if e.kind() == io::ErrorKind::UnexpectedEof {
            Fault::Truncated
        } else {
            Fault::Corrupt(e.to_string())
        }
    }
}

impl Read for Input {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.len && out.len() >= self.buf.len() {
            // Large reads go straight to the caller's buffer.
            let n = loop {
                match self.file.read(out) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        self.failed = true;
                        return Err(e);
                    }
                }
            };
            if let Some(h) = &mut self.hasher {
                h.update(&out[..n]);
            }
            self.read += n as u64;
            return Ok(n);
        }
        let avail = self.fill_buf()?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Input {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.len {
            self.pos = 0;
            self.len = 0;
            self.len = self.read_file(0)?;
        }
        Ok(&self.buf[self.pos..self.len])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.len);
    }
}

/// Raw image: the file is the image.
struct RawDecode {
    input: Input,
}

impl Decode for RawDecode {
    fn decode(&mut self, out: &mut [u8]) -> Result<usize, Fault> {
        self.input.read(out).map_err(Fault::Io)
    }

    fn finish(&mut self) -> Result<FileDigest, Fault> {
        self.input.digest()
    }

    fn position(&self) -> u64 {
        self.input.offset()
    }
}

/// xz: one decoder per stream (multi-threaded when the stream has several blocks), stream
/// padding and concatenated streams handled here so that anything else after a stream is
/// reported as trailing data.
struct XzDecode {
    input: Input,
    stream: Option<Stream>,
    threads: u32,
    memlimit_threading: u64,
    streams: u32,
    padding: u64,
}

impl XzDecode {
    fn new(input: Input, opts: &OpenOptions) -> Self {
        XzDecode {
            input,
            stream: None,
            threads: xz_threads(opts),
            memlimit_threading: opts
                .xz_memlimit_threading
                .unwrap_or_else(|| physical_memory() / 4),
            streams: 0,
            padding: 0,
        }
    }

    fn new_stream(&self) -> Result<Stream, Fault> {
        MtStreamBuilder::new()
            .threads(self.threads.max(1))
            .timeout_ms(0)
            .memlimit_threading(self.memlimit_threading)
            .memlimit_stop(u64::MAX)
            .decoder()
            .map_err(|e| Fault::Corrupt(format!("the xz decoder cannot start ({e})")))
    }

    /// Between streams: skips stream padding and starts the next stream; `Ok(false)` at the
    /// clean end of the file.
    fn next_stream(&mut self) -> Result<bool, Fault> {
        loop {
            let head = self.input.peek(XZ_MAGIC.len()).map_err(Fault::Io)?;
            if head.is_empty() {
                if self.streams == 0 {
                    return Err(Fault::Truncated);
                }
                if !self.padding.is_multiple_of(4) {
                    return Err(Fault::Corrupt(
                        "the stream padding at its end is not a multiple of four bytes".into(),
                    ));
                }
                return Ok(false);
            }
            if self.streams > 0 {
                let zeros = head.iter().take_while(|&&b| b == 0).count();
                if zeros > 0 {
                    self.padding += zeros as u64;
                    self.input.consume(zeros);
                    continue;
                }
            }
            if head != XZ_MAGIC {
                if head.len() < XZ_MAGIC.len() && XZ_MAGIC.starts_with(head) {
                    return Err(Fault::Truncated);
                }
                return Err(Fault::Trailing(self.input.offset()));
            }
            if !self.padding.is_multiple_of(4) {
                return Err(Fault::Corrupt(
                    "the stream padding between two streams is not a multiple of four bytes".into(),
                ));
            }
            self.padding = 0;
            self.stream = Some(self.new_stream()?);
            return Ok(true);
        }
    }
}

impl Decode for XzDecode {
    fn decode(&mut self, out: &mut [u8]) -> Result<usize, Fault> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            if self.stream.is_none() && !self.next_stream()? {
                return Ok(0);
            }
            let stream = self.stream.as_mut().expect("a stream was just started");
            let avail = self.input.fill_buf().map_err(Fault::Io)?;
            let eof = avail.is_empty();
            let (in0, out0) = (stream.total_in(), stream.total_out());
            let action = if eof { Action::Finish } else { Action::Run };
            let status = stream.process(avail, out, action);
            let consumed = (stream.total_in() - in0) as usize;
            let produced = (stream.total_out() - out0) as usize;
            self.input.consume(consumed);
            match status {
                Ok(Status::StreamEnd) => {
                    self.stream = None;
                    self.streams += 1;
                    if produced > 0 {
                        return Ok(produced);
                    }
                }
                Ok(_) => {
                    if produced > 0 {
                        return Ok(produced);
                    }
                    if eof {
                        return Err(Fault::Truncated);
                    }
                }
                Err(e) => return Err(Fault::Corrupt(xz_error_text(&e))),
            }
        }
    }

    fn finish(&mut self) -> Result<FileDigest, Fault> {
        self.input.digest()
    }

    fn position(&self) -> u64 {
        self.input.offset()
    }
}

/// The xz decoder threads the options ask for.
fn xz_threads(opts: &OpenOptions) -> u32 {
    if opts.xz_threads == 0 {
        thread::available_parallelism().map_or(1, |n| n.get() as u32)
    } else {
        opts.xz_threads
    }
}

fn xz_error_text(e: &liblzma::stream::Error) -> String {
    use liblzma::stream::Error as E;
    match e {
        E::Data => {
            "the xz data is corrupt (an integrity check failed or the data cannot be decoded)"
                .into()
        }
        E::Format => "the xz stream header is not valid".into(),
        E::Options => "the xz stream uses options or filters this decoder does not support".into(),
        E::Mem => "not enough memory to decode the xz stream".into(),
        E::MemLimit => "the xz stream needs more memory than allowed".into(),
        other => format!("the xz decoder failed ({other})"),
    }
}

fn physical_memory() -> u64 {
    let fallback = 2u64 << 30;
    let Ok(text) = std::fs::read_to_string("/proc/meminfo") else {
        return fallback;
    };
    text.lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(fallback, |kib| kib * 1024)
}

/// zstd: frames one after the other, skippable frames allowed, anything else after a frame
/// is trailing data.
struct ZstdDecode {
    input: Input,
    decoder: ZstdRaw<'static>,
    in_frame: bool,
    frames: u32,
}

impl ZstdDecode {
    fn new(input: Input) -> io::Result<Self> {
        let mut decoder = ZstdRaw::new()?;
        // Accept frames made with `--long` (windows up to 2 GiB), as `zstd -d --long=31`.
        let _ = decoder.set_parameter(DParameter::WindowLogMax(31));
        Ok(ZstdDecode {
            input,
            decoder,
            in_frame: false,
            frames: 0,
        })
    }
}

impl Decode for ZstdDecode {
    fn decode(&mut self, out: &mut [u8]) -> Result<usize, Fault> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            if !self.in_frame {
                let head = self.input.peek(4).map_err(Fault::Io)?;
                if head.is_empty() {
                    return if self.frames == 0 {
                        Err(Fault::Truncated)
                    } else {
                        Ok(0)
                    };
                }
                if head.len() < 4 || !is_zstd_frame_start(le32(head)) {
                    let partial_magic = ZSTD_MAGIC.to_le_bytes().starts_with(head);
                    return Err(if partial_magic {
                        Fault::Truncated
                    } else {
                        Fault::Trailing(self.input.offset())
                    });
                }
                self.decoder
                    .reinit()
                    .map_err(|e| Fault::Corrupt(e.to_string()))?;
                self.in_frame = true;
            }
            let avail = self.input.fill_buf().map_err(Fault::Io)?;
            let eof = avail.is_empty();
            let mut src = InBuffer::around(avail);
            let mut dst = OutBuffer::around(out);
            let hint = self
                .decoder
                .run(&mut src, &mut dst)
                .map_err(|e| Fault::Corrupt(format!("the zstd data is corrupt ({e})")))?;
            let consumed = src.pos();
            let produced = dst.pos();
            self.input.consume(consumed);
            if hint == 0 {
                self.in_frame = false;
                self.frames += 1;
            }
            if produced > 0 {
                return Ok(produced);
            }
            if eof && self.in_frame {
                return Err(Fault::Truncated);
            }
        }
    }

    fn finish(&mut self) -> Result<FileDigest, Fault> {
        self.input.digest()
    }

    fn position(&self) -> u64 {
        self.input.offset()
    }
}

/// gzip: members one after the other (RFC 1952 §2.2), anything else after a member is
/// trailing data.
struct GzDecode {
    state: GzState,
    members: u32,
}

enum GzState {
    Member(Box<GzDecoder<Input>>),
    Between(Input),
    Poisoned,
}

impl Decode for GzDecode {
    fn decode(&mut self, out: &mut [u8]) -> Result<usize, Fault> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            match &mut self.state {
                GzState::Member(dec) => match dec.read(out) {
                    Ok(0) => {
                        let GzState::Member(dec) =
                            std::mem::replace(&mut self.state, GzState::Poisoned)
                        else {
                            unreachable!()
                        };
                        self.members += 1;
                        self.state = GzState::Between(dec.into_inner());
                    }
                    Ok(n) => return Ok(n),
                    Err(e) => return Err(dec.get_mut().classify(e)),
                },
                GzState::Between(input) => {
                    let head = input.peek(2).map_err(Fault::Io)?;
                    if head.is_empty() {
                        return if self.members == 0 {
                            Err(Fault::Truncated)
                        } else {
                            Ok(0)
                        };
                    }
                    if head == [GZIP_MAGIC[0]] {
                        return Err(Fault::Truncated);
                    }
                    if head != GZIP_MAGIC {
                        return Err(Fault::Trailing(input.offset()));
                    }
                    let GzState::Between(input) =
                        std::mem::replace(&mut self.state, GzState::Poisoned)
                    else {
                        unreachable!()
                    };
                    self.state = GzState::Member(Box::new(GzDecoder::new(input)));
                }
                GzState::Poisoned => {
                    return Err(Fault::Corrupt("the gzip decoder failed earlier".into()));
                }
            }
        }
    }

    fn finish(&mut self) -> Result<FileDigest, Fault> {
        match &mut self.state {
            GzState::Between(input) => input.digest(),
            GzState::Member(dec) => dec.get_mut().digest(),
            GzState::Poisoned => Err(Fault::Corrupt("the gzip decoder failed earlier".into())),
        }
    }

    fn position(&self) -> u64 {
        match &self.state {
            GzState::Between(input) => input.offset(),
            GzState::Member(dec) => dec.get_ref().offset(),
            GzState::Poisoned => 0,
        }
    }
}

/// zip: the single member, read in file order (local header, data, then the rest of the
/// archive for the file hash), its size and CRC-32 checked against the central directory.
struct ZipDecode {
    state: ZipState,
    member: ZipMember,
    crc: crc32fast::Hasher,
    produced: u64,
}

enum ZipState {
    /// Before the member's data.
    Before(Input),
    Stored(Input),
    Deflated(Box<DeflateDecoder<io::Take<Input>>>),
    /// The member was read and checked.
    Done(Input),
    Poisoned,
}

impl ZipDecode {
    fn new(input: Input, member: ZipMember) -> Self {
        ZipDecode {
            state: ZipState::Before(input),
            member,
            crc: crc32fast::Hasher::new(),
            produced: 0,
        }
    }

    fn check_end(&mut self) -> Result<(), Fault> {
        if self.produced != self.member.size {
            return Err(Fault::Corrupt(format!(
                "{} decodes to {} bytes, but the central directory says {}",
                self.member.name, self.produced, self.member.size
            )));
        }
        let crc = std::mem::take(&mut self.crc).finalize();
        if crc != self.member.crc32 {
            return Err(Fault::Corrupt(format!(
                "the CRC-32 of {} is {crc:08x}, but the archive says {:08x}",
                self.member.name, self.member.crc32
            )));
        }
        Ok(())
    }
}

impl Decode for ZipDecode {
    fn decode(&mut self, out: &mut [u8]) -> Result<usize, Fault> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            match std::mem::replace(&mut self.state, ZipState::Poisoned) {
                ZipState::Before(mut input) => {
                    while input.offset() < self.member.data_start {
                        let avail = input.fill_buf().map_err(Fault::Io)?.len() as u64;
                        if avail == 0 {
                            return Err(Fault::Truncated);
                        }
                        let skip = (self.member.data_start - input.offset()).min(avail) as usize;
                        input.consume(skip);
                    }
                    self.state = if self.member.method == 0 {
                        ZipState::Stored(input)
                    } else {
                        ZipState::Deflated(Box::new(DeflateDecoder::new(
                            input.take(self.member.compressed_size),
                        )))
                    };
                }
                ZipState::Stored(mut input) => {
                    let left = self.member.compressed_size - self.produced;
                    if left == 0 {
                        self.state = ZipState::Done(input);
                        self.check_end()?;
                        return Ok(0);
                    }
                    let want = left.min(out.len() as u64) as usize;
                    let n = input.read(&mut out[..want]).map_err(Fault::Io)?;
                    if n == 0 {
                        return Err(Fault::Truncated);
                    }
                    self.crc.update(&out[..n]);
                    self.produced += n as u64;
                    self.state = ZipState::Stored(input);
                    return Ok(n);
                }
                ZipState::Deflated(mut dec) => match dec.read(out) {
                    Ok(0) => {
                        let take = dec.into_inner();
                        if take.limit() != 0 {
                            return Err(Fault::Corrupt(format!(
                                "the deflate stream of {} ends {} bytes before its data does",
                                self.member.name,
                                take.limit()
                            )));
                        }
                        self.state = ZipState::Done(take.into_inner());
                        self.check_end()?;
                        return Ok(0);
                    }
                    Ok(n) => {
                        self.crc.update(&out[..n]);
                        self.produced += n as u64;
                        self.state = ZipState::Deflated(dec);
                        return Ok(n);
                    }
                    Err(e) => return Err(dec.get_mut().get_mut().classify(e)),
                },
                ZipState::Done(input) => {
                    self.state = ZipState::Done(input);
                    return Ok(0);
                }
                ZipState::Poisoned => {
                    return Err(Fault::Corrupt("the zip decoder failed earlier".into()));
                }
            }
        }
    }

    fn finish(&mut self) -> Result<FileDigest, Fault> {
        match &mut self.state {
            ZipState::Done(input) => input.digest(),
            _ => Err(Fault::Corrupt(
                "the zip member was not read to its end".into(),
            )),
        }
    }

    fn position(&self) -> u64 {
        match &self.state {
            ZipState::Before(i) | ZipState::Stored(i) | ZipState::Done(i) => i.offset(),
            ZipState::Deflated(d) => d.get_ref().get_ref().offset(),
            ZipState::Poisoned => 0,
        }
    }
}

/// What the engine hands to the reader.
enum Delivery {
    Data(usize),
    End(FileDigest),
}

/// Runs a decoder in the caller's thread or in a background one.
enum Engine {
    Inline(Option<Box<dyn Decode>>),
    Background(Background),
}

struct Background {
    chunks: Receiver<Message>,
    recycle: SyncSender<Vec<u8>>,
    current: Option<(Vec<u8>, usize, usize)>,
    /// File offset reached by the decoder, as of the last chunk.
    position: u64,
    done: bool,
}

enum Message {
    Chunk {
        data: Vec<u8>,
        len: usize,
        position: u64,
    },
    End(FileDigest),
    Failed {
        fault: Fault,
        position: u64,
    },
}

impl Engine {
    fn spawn(mut decoder: Box<dyn Decode>) -> Engine {
        let (tx, rx) = sync_channel::<Message>(CHUNKS_IN_FLIGHT);
        let (recycle_tx, recycle_rx) = sync_channel::<Vec<u8>>(CHUNK_BUFFERS);
        thread::Builder::new()
            .name("image-decode".into())
            .spawn(move || {
                // A fixed set of buffers goes round: no allocation (and no page faults) once
                // they all exist.
                let mut allocated = 0;
                loop {
                    let mut buf = match recycle_rx.try_recv() {
                        Ok(buf) => buf,
                        Err(_) if allocated < CHUNK_BUFFERS => {
                            allocated += 1;
                            vec![0u8; CHUNK]
                        }
                        Err(_) => match recycle_rx.recv() {
                            Ok(buf) => buf,
                            Err(_) => return, // the reader was dropped
                        },
                    };
                    let mut len = 0;
                    let mut ended = false;
                    while len < buf.len() {
                        match decoder.decode(&mut buf[len..]) {
                            Ok(0) => {
                                ended = true;
                                break;
                            }
                            Ok(n) => len += n,
                            Err(fault) => {
                                let position = decoder.position();
                                if len > 0 {
                                    let _ = tx.send(Message::Chunk {
                                        data: buf,
                                        len,
                                        position,
                                    });
                                }
                                let _ = tx.send(Message::Failed { fault, position });
                                return;
                            }
                        }
                    }
                    if len > 0 {
                        let position = decoder.position();
                        if tx
                            .send(Message::Chunk {
                                data: buf,
                                len,
                                position,
                            })
                            .is_err()
                        {
                            return; // the reader was dropped
                        }
                    }
                    if ended {
                        let msg = match decoder.finish() {
                            Ok(d) => Message::End(d),
                            Err(fault) => Message::Failed {
                                fault,
                                position: decoder.position(),
                            },
                        };
                        let _ = tx.send(msg);
                        return;
                    }
                }
            })
            .map_or_else(
                |e| {
                    // No thread: the decoder is gone with the closure; report it on first read.
                    let (tx, rx) = sync_channel(1);
                    let _ = tx.send(Message::Failed {
                        fault: Fault::Io(e),
                        position: 0,
                    });
                    let (recycle, _) = sync_channel(1);
                    Engine::Background(Background {
                        chunks: rx,
                        recycle,
                        current: None,
                        position: 0,
                        done: false,
                    })
                },
                |_handle| {
                    Engine::Background(Background {
                        chunks: rx,
                        recycle: recycle_tx,
                        current: None,
                        position: 0,
                        done: false,
                    })
                },
            )
    }

    fn read(&mut self, out: &mut [u8]) -> Result<Delivery, Fault> {
        match self {
            Engine::Inline(slot) => {
                let decoder = slot
                    .as_mut()
                    .ok_or_else(|| Fault::Corrupt("the decoder has already ended".into()))?;
                match decoder.decode(out)? {
                    0 => {
                        let digest = decoder.finish()?;
                        Ok(Delivery::End(digest))
                    }
                    n => Ok(Delivery::Data(n)),
                }
            }
            Engine::Background(bg) => bg.read(out),
        }
    }

    fn file_position(&self) -> u64 {
        match self {
            Engine::Inline(Some(d)) => d.position(),
            Engine::Inline(None) => 0,
            Engine::Background(bg) => bg.position,
        }
    }
}

impl Background {
    fn read(&mut self, out: &mut [u8]) -> Result<Delivery, Fault> {
        loop {
            if let Some((data, start, len)) = &mut self.current {
                let n = (*len - *start).min(out.len());
                out[..n].copy_from_slice(&data[*start..*start + n]);
                *start += n;
                if *start == *len {
                    let (data, _, _) = self.current.take().expect("current chunk");
                    let _ = self.recycle.try_send(data);
                }
                return Ok(Delivery::Data(n));
            }
            if self.done {
                return Err(Fault::Corrupt("the decoder has already ended".into()));
            }
            match self.chunks.recv() {
                Ok(Message::Chunk {
                    data,
                    len,
                    position,
                }) => {
                    self.position = position;
                    self.current = Some((data, 0, len));
                }
                Ok(Message::End(digest)) => {
                    self.done = true;
                    return Ok(Delivery::End(digest));
                }
                Ok(Message::Failed { fault, position }) => {
                    self.done = true;
                    self.position = position;
                    return Err(fault);
                }
                Err(_) => {
                    self.done = true;
                    return Err(Fault::Lost);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reader_can_move_to_another_thread() {
        fn is_send<T: Send>() {}
        is_send::<ImageReader>();
        is_send::<ImageError>();
    }

    #[test]
    fn hex_round_trip() {
        let d: [u8; 32] = std::array::from_fn(|i| (i * 7) as u8);
        assert_eq!(parse_sha256(&to_hex(&d)), Some(d));
        assert_eq!(parse_sha256(&to_hex(&d).to_uppercase()), Some(d));
        assert_eq!(parse_sha256("abc"), None);
        assert_eq!(parse_sha256(&"g".repeat(64)), None);
    }

    #[test]
    fn detection_by_signature() {
        assert_eq!(ImageFormat::detect(&XZ_MAGIC), ImageFormat::Xz);
        assert_eq!(
            ImageFormat::detect(&[0x28, 0xB5, 0x2F, 0xFD, 0]),
            ImageFormat::Zstd
        );
        assert_eq!(
            ImageFormat::detect(&[0x50, 0x2A, 0x4D, 0x18]),
            ImageFormat::Zstd
        );
        assert_eq!(ImageFormat::detect(&[0x1F, 0x8B, 8]), ImageFormat::Gzip);
        assert_eq!(ImageFormat::detect(b"PK\x03\x04...."), ImageFormat::Zip);
        assert_eq!(ImageFormat::detect(&[0xEB, 0x63, 0x90]), ImageFormat::Raw);
        assert_eq!(ImageFormat::detect(&[]), ImageFormat::Raw);
    }

    #[test]
    fn gzip_guess_wraps_above_compressed_size() {
        assert_eq!(gzip_size_guess(1000, 900), 1000);
        // 6 GiB of nearly incompressible data: ISIZE = 2 GiB, file ~6 GiB.
        let six = 6u64 << 30;
        assert_eq!(gzip_size_guess((six % (1 << 32)) as u32, six - 1000), six);
    }

    #[test]
    fn varints() {
        let mut pos = 0;
        assert_eq!(read_varint(&[0x7F], &mut pos), Some(127));
        pos = 0;
        assert_eq!(read_varint(&[0x80, 0x01], &mut pos), Some(128));
        pos = 0;
        assert_eq!(read_varint(&[0x80; 10], &mut pos), None);
    }
}
