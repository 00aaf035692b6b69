//! Golden images from a reference machine's disk (`atelier image capture DEV`).
//!
//! The disk is only read. What is kept: the partition table areas (everything before the
//! first partition — MBR or protective MBR, primary GPT, a boot loader in the gap — and the
//! last MiB of the disk, where the backup GPT lives), for ext2/3/4 partitions the blocks
//! their block bitmaps mark as used ([`ext4`]), and every other partition whole. Everything
//! else is a hole: it is stored as zeros in the compressed image and left out of the block
//! map, so a deployment writes only what is kept.
//!
//! Outputs, in the output directory, for a capture named `NAME`:
//! - `NAME.img.zst`: the whole disk image (holes as zeros), Zstandard (RFC 8878);
//! - `NAME.img.bmap`: bmaptool's block map, format 2.0, block size 4096, a SHA-256 per
//!   range and the `BmapFileChecksum` of the file itself (see [`crate::bmap`]);
//! - `NAME.img.zst.sha256`: `sha256sum` format;
//! - `NAME.images.toml`: an `[[image]]` entry for the catalogue (file and image SHA-256,
//!   block map, customisation `golden`).
//!
//! Files are written under temporary names and renamed at the end; existing outputs are
//! never overwritten. A block-device source mounted read-write is refused (its content
//! changes while it is read); otherwise it is opened with `O_EXCL`, so that nothing mounts
//! it during the capture.

pub mod ext4;

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::customise::partition::read_table_from;
use crate::image::to_hex;

/// Block size of the block map.
pub const BMAP_BLOCK: u64 = 4096;

/// Options of a capture.
#[derive(Debug, Clone)]
pub struct CaptureOptions {
    /// Base name of the output files (letters, digits, '.', '_', '-').
    pub name: String,
    /// Zstandard level (1–19; 3 by default: fast, and holes cost nothing).
    pub level: i32,
    /// A line describing the source, for the catalogue snippet.
    pub description: Option<String>,
}

/// How one partition was kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedPartition {
    /// Number as Linux names it.
    pub number: u32,
    /// `ext4 used blocks` or `whole` (with the reason when an ext filesystem was not read).
    pub how: String,
    /// Size of the partition.
    pub size: u64,
    /// Bytes kept.
    pub kept: u64,
}

/// What a capture wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    /// The compressed image.
    pub image: PathBuf,
    /// Its block map.
    pub bmap: PathBuf,
    /// Its `sha256sum` file.
    pub sha256_file: PathBuf,
    /// The catalogue snippet.
    pub snippet: PathBuf,
    /// Size of the disk (= of the decompressed image).
    pub disk_size: u64,
    /// Bytes in the block map's ranges.
    pub mapped_bytes: u64,
    /// Size of the compressed file.
    pub compressed_bytes: u64,
    /// SHA-256 of the compressed file.
    pub file_sha256: [u8; 32],
    /// SHA-256 of the decompressed image.
    pub image_sha256: [u8; 32],
    /// Per partition.
    pub partitions: Vec<CapturedPartition>,
}

/// Why a capture failed. Nothing on the source was changed.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The source is mounted read-write.
    #[error(
        "{source_path}: {partition} is mounted read-write on {mount_point}: its content changes \
         while it is read; capture from the bench's live system with the disk unmounted (or \
         mounted read-only)"
    )]
    MountedRw {
        /// The source.
        source_path: PathBuf,
        /// The mounted partition.
        partition: String,
        /// Where.
        mount_point: String,
    },
    /// An output file exists already.
    #[error("{0} exists already: choose another --name or output folder (nothing is overwritten)")]
    Exists(PathBuf),
    /// A name that cannot be a file name or a catalogue name.
    #[error(
        "name {0:?}: use only letters, digits, '.', '_' and '-' (it becomes a file name and a \
         catalogue name)"
    )]
    BadName(String),
    /// The source has no partition table Atelier reads.
    #[error("{path}: {reason}; a golden image is captured from a partitioned disk (GPT or MBR)")]
    NoTable {
        /// The source.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Reading or writing failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file or device.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: io::Error,
    },
}

impl CaptureError {
    fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> CaptureError + 'a {
        move |source| CaptureError::Io {
            what,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// A partition as a byte window of the source.
struct Window<'a> {
    file: &'a File,
    start: u64,
    size: u64,
}

impl ext4::ReadAt for Window<'_> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        if offset + buf.len() as u64 > self.size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "read past the end of the partition",
            ));
        }
        self.file.read_exact_at(buf, self.start + offset)
    }
}

/// The mounts of the disk `rdev` or of its partitions, from `/proc/self/mountinfo`
/// (proc(5)): (device, mount point, read-write).
fn mounts_of(rdev: u64) -> Vec<(String, String, bool)> {
    let (major, minor) = (libc::major(rdev), libc::minor(rdev));
    let sys = PathBuf::from(format!("/sys/dev/block/{major}:{minor}"));
    let name = fs::canonicalize(&sys)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let mut devs = vec![(format!("{major}:{minor}"), name)];
    if let Ok(entries) = fs::read_dir(&sys) {
        for e in entries.flatten() {
            let p = e.path();
            if p.join("partition").is_file()
                && let Ok(dev) = fs::read_to_string(p.join("dev"))
            {
                devs.push((
                    dev.trim().to_string(),
                    e.file_name().to_string_lossy().into_owned(),
                ));
            }
        }
    }
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut out = Vec::new();
    for line in info.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        if f.len() < 6 {
            continue;
        }
        if let Some((_, part)) = devs.iter().find(|(d, _)| d == f[2]) {
            out.push((
                format!("/dev/{part}"),
                f[4].replace("\\040", " "),
                f[5].split(',').any(|o| o == "rw"),
            ));
        }
    }
    out
}

/// Byte ranges to keep, sorted and merged, rounded out to [`BMAP_BLOCK`].
fn merge_blocks(mut ranges: Vec<(u64, u64)>, disk: u64) -> Vec<(u64, u64)> {
    ranges.retain(|r| r.1 > 0);
    ranges.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::new();
    for (at, len) in ranges {
        let s = at / BMAP_BLOCK * BMAP_BLOCK;
        let e = (at + len).div_ceil(BMAP_BLOCK) * BMAP_BLOCK;
        let e = e.min(disk.div_ceil(BMAP_BLOCK) * BMAP_BLOCK);
        match out.last_mut() {
            Some((ps, pe)) if s <= *pe => *pe = (*pe).max(e),
            _ => out.push((s, e)),
        }
    }
    out.into_iter().map(|(s, e)| (s, e - s)).collect()
}

/// A writer that hashes and counts what passes through.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Captures `source` (a disk, or an image file) into `out_dir`;
/// `progress` gets (bytes of the disk done, disk size).
pub fn capture(
    source: &Path,
    out_dir: &Path,
    opts: &CaptureOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Captured, CaptureError> {
    let name = &opts.name;
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(CaptureError::BadName(name.clone()));
    }
    let image = out_dir.join(format!("{name}.img.zst"));
    let bmap = out_dir.join(format!("{name}.img.bmap"));
    let sha256_file = out_dir.join(format!("{name}.img.zst.sha256"));
    let snippet = out_dir.join(format!("{name}.images.toml"));
    for p in [&image, &bmap, &sha256_file, &snippet] {
        if p.exists() {
            return Err(CaptureError::Exists(p.clone()));
        }
    }
    fs::create_dir_all(out_dir).map_err(CaptureError::io("creating", out_dir))?;

    let meta = fs::metadata(source).map_err(CaptureError::io("reading", source))?;
    let is_dev = meta.file_type().is_block_device();
    let mut open = File::options();
    open.read(true);
    if is_dev {
        let mounts = mounts_of(meta.rdev());
        if let Some((partition, mount_point, _)) = mounts.iter().find(|m| m.2).cloned() {
            return Err(CaptureError::MountedRw {
                source_path: source.to_path_buf(),
                partition,
                mount_point,
            });
        }
        // Not mounted at all: hold it exclusively so that nothing mounts it meanwhile.
        // (Mounted read-only: the exclusive open would fail; read-only is stable enough.)
        let mounted_any = !mounts.is_empty();
        if !mounted_any {
            open.custom_flags(libc::O_EXCL);
        }
    }
    let mut file = open
        .open(source)
        .map_err(CaptureError::io("opening", source))?;
    let disk = if is_dev {
        use std::io::Seek;
        file.seek(io::SeekFrom::End(0))
            .map_err(CaptureError::io("sizing", source))?
    } else {
        meta.len()
    };
    let sector = if is_dev {
        let rdev = meta.rdev();
        fs::read_to_string(format!(
            "/sys/dev/block/{}:{}/queue/logical_block_size",
            libc::major(rdev),
            libc::minor(rdev)
        ))
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(512)
    } else {
        512
    };
    let table =
        read_table_from(&mut file, disk, sector).map_err(|reason| CaptureError::NoTable {
            path: source.to_path_buf(),
            reason,
        })?;

    // What to keep.
    let first_start = table
        .partitions
        .iter()
        .filter(|p| !p.extended)
        .map(|p| p.start)
        .min()
        .unwrap_or(disk);
    let last_end = table
        .partitions
        .iter()
        .filter(|p| !p.extended)
        .map(|p| p.end())
        .max()
        .unwrap_or(0);
    let mut keep = vec![(0, first_start.min(disk))];
    let tail = disk.saturating_sub(1 << 20).max(last_end.min(disk));
    keep.push((tail, disk - tail));
    let mut partitions = Vec::new();
    for p in &table.partitions {
        if p.extended {
            // The EBR chain: the first sector of the container and of each logical partition's
            // own EBR sector are covered by keeping the sector before each logical partition.
            keep.push((p.start, u64::from(table.sector_size)));
            continue;
        }
        if p.number >= 5 && matches!(table.kind, crate::customise::TableKind::Mbr) {
            // Its EBR sits in the sectors just before it (usually one track or 1 MiB).
            keep.push((
                p.start.saturating_sub(u64::from(table.sector_size)),
                u64::from(table.sector_size),
            ));
        }
        let window = Window {
            file: &file,
            start: p.start,
            size: p.size,
        };
        let (ranges, how) = if ext4::is_ext(&window) {
            match ext4::used_ranges(&window) {
                Ok((ranges, fs_size)) if fs_size <= p.size => {
                    (ranges, "ext4 used blocks".to_string())
                }
                Ok(_) => (
                    vec![(0, p.size)],
                    "whole (the filesystem is larger than its partition)".into(),
                ),
                Err(e) => (vec![(0, p.size)], format!("whole (ext: {e})")),
            }
        } else {
            (vec![(0, p.size)], "whole".into())
        };
        let kept: u64 = ranges.iter().map(|r| r.1).sum();
        keep.extend(ranges.iter().map(|&(at, len)| (p.start + at, len)));
        partitions.push(CapturedPartition {
            number: p.number,
            how,
            size: p.size,
            kept,
        });
    }
    let ranges = merge_blocks(keep, disk);

    // Stream the disk (holes as zeros) through SHA-256 and zstd; hash each range.
    let tmp_image = out_dir.join(format!(".{name}.img.zst.partial"));
    let out = File::create_new(&tmp_image).map_err(CaptureError::io("creating", &tmp_image))?;
    let cleanup = TmpGuard(vec![tmp_image.clone()]);
    let hashing = Hashing {
        inner: BufWriter::with_capacity(1 << 20, out),
        hasher: Sha256::new(),
        bytes: 0,
    };
    let mut encoder = zstd::stream::write::Encoder::new(hashing, opts.level)
        .map_err(CaptureError::io("compressing into", &tmp_image))?;
    encoder
        .set_pledged_src_size(Some(disk))
        .map_err(CaptureError::io("compressing into", &tmp_image))?;
    encoder
        .include_checksum(true)
        .map_err(CaptureError::io("compressing into", &tmp_image))?;
    let mut image_hasher = Sha256::new();
    let mut range_sums = Vec::with_capacity(ranges.len());
    let chunk = 4usize << 20;
    let mut buf = vec![0u8; chunk];
    let zeros = vec![0u8; chunk];
    let mut pos = 0u64;
    let write_err = CaptureError::io("compressing into", &tmp_image);
    let mut emit = |data: &[u8], enc: &mut zstd::stream::write::Encoder<'_, _>| {
        image_hasher.update(data);
        enc.write_all(data)
    };
    let mut failure: Option<CaptureError> = None;
    'ranges: for &(at, len) in &ranges {
        let end = (at + len).min(disk);
        while pos < at {
            let n = (at - pos).min(chunk as u64) as usize;
            if let Err(e) = emit(&zeros[..n], &mut encoder) {
                failure = Some(CaptureError::Io {
                    what: "compressing into",
                    path: tmp_image.clone(),
                    source: e,
                });
                break 'ranges;
            }
            pos += n as u64;
            progress(pos, disk);
        }
        let mut range_hasher = Sha256::new();
        while pos < end {
            let n = (end - pos).min(chunk as u64) as usize;
            if let Err(e) = file.read_exact_at(&mut buf[..n], pos) {
                failure = Some(CaptureError::Io {
                    what: "reading",
                    path: source.to_path_buf(),
                    source: e,
                });
                break 'ranges;
            }
            range_hasher.update(&buf[..n]);
            if let Err(e) = emit(&buf[..n], &mut encoder) {
                failure = Some(CaptureError::Io {
                    what: "compressing into",
                    path: tmp_image.clone(),
                    source: e,
                });
                break 'ranges;
            }
            pos += n as u64;
            progress(pos, disk);
        }
        range_sums.push(<[u8; 32]>::from(range_hasher.finalize()));
    }
    if failure.is_none() {
        while pos < disk {
            let n = (disk - pos).min(chunk as u64) as usize;
            if let Err(e) = emit(&zeros[..n], &mut encoder) {
                failure = Some(CaptureError::Io {
                    what: "compressing into",
                    path: tmp_image.clone(),
                    source: e,
                });
                break;
            }
            pos += n as u64;
            progress(pos, disk);
        }
    }
    if let Some(f) = failure {
        return Err(f);
    }
    let mut hashing = encoder.finish().map_err(write_err)?;
    hashing
        .flush()
        .map_err(CaptureError::io("writing", &tmp_image))?;
    let file_sha256: [u8; 32] = std::mem::take(&mut hashing.hasher).finalize().into();
    let compressed_bytes = hashing.bytes;
    let out = hashing.inner.into_inner().map_err(|e| CaptureError::Io {
        what: "writing",
        path: tmp_image.clone(),
        source: e.into_error(),
    })?;
    out.sync_all()
        .map_err(CaptureError::io("writing", &tmp_image))?;
    let image_sha256: [u8; 32] = image_hasher.finalize().into();

    let bmap_text = bmap_xml(disk, &ranges, &range_sums);
    let mapped_bytes: u64 = ranges
        .iter()
        .map(|&(at, len)| (at + len).min(disk) - at)
        .sum();
    let file_name = format!("{name}.img.zst");
    let sha_text = format!("{}  {file_name}\n", to_hex(&file_sha256));
    let description = opts
        .description
        .clone()
        .unwrap_or_else(|| format!("Captured from {}", source.display()));
    let snippet_text = format!(
        "[[image]]\nname = {name:?}\nfile = {file_name:?}\nsha256 = \"{}\"\nimage_sha256 = \"{}\"\n\
         bmap = \"{name}.img.bmap\"\ncustomisation = \"golden\"\ndescription = {description:?}\n",
        to_hex(&file_sha256),
        to_hex(&image_sha256),
    );
    let mut guard = cleanup;
    for (path, text) in [
        (&bmap, bmap_text.as_str()),
        (&sha256_file, sha_text.as_str()),
        (&snippet, snippet_text.as_str()),
    ] {
        let tmp = out_dir.join(format!(
            ".{}.partial",
            path.file_name().unwrap_or_default().to_string_lossy()
        ));
        guard.0.push(tmp.clone());
        let mut f = File::create_new(&tmp).map_err(CaptureError::io("creating", &tmp))?;
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(CaptureError::io("writing", &tmp))?;
    }
    for path in [&image, &bmap, &sha256_file, &snippet] {
        let tmp = out_dir.join(format!(
            ".{}.partial",
            path.file_name().unwrap_or_default().to_string_lossy()
        ));
        fs::rename(&tmp, path).map_err(CaptureError::io("renaming", path))?;
    }
    guard.0.clear();
    if let Ok(d) = File::open(out_dir) {
        let _ = d.sync_all();
    }
    Ok(Captured {
        image,
        bmap,
        sha256_file,
        snippet,
        disk_size: disk,
        mapped_bytes,
        compressed_bytes,
        file_sha256,
        image_sha256,
        partitions,
    })
}

/// Removes temporary files left by a failed capture.
struct TmpGuard(Vec<PathBuf>);

impl Drop for TmpGuard {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = fs::remove_file(p);
        }
    }
}

/// The block map, format 2.0, with its own checksum filled in.
fn bmap_xml(image_size: u64, ranges: &[(u64, u64)], sums: &[[u8; 32]]) -> String {
    let blocks = image_size.div_ceil(BMAP_BLOCK);
    let mapped: u64 = ranges.iter().map(|r| r.1 / BMAP_BLOCK).sum();
    let mut x = String::new();
    x.push_str("<?xml version=\"1.0\" ?>\n<!-- Made by atelier image capture -->\n");
    x.push_str("<bmap version=\"2.0\">\n");
    x.push_str(&format!("    <ImageSize> {image_size} </ImageSize>\n"));
    x.push_str(&format!("    <BlockSize> {BMAP_BLOCK} </BlockSize>\n"));
    x.push_str(&format!("    <BlocksCount> {blocks} </BlocksCount>\n"));
    x.push_str(&format!(
        "    <MappedBlocksCount> {mapped} </MappedBlocksCount>\n"
    ));
    x.push_str("    <ChecksumType> sha256 </ChecksumType>\n");
    let placeholder = "0".repeat(64);
    x.push_str(&format!(
        "    <BmapFileChecksum> {placeholder} </BmapFileChecksum>\n"
    ));
    x.push_str("    <BlockMap>\n");
    for (&(at, len), sum) in ranges.iter().zip(sums) {
        let first = at / BMAP_BLOCK;
        let last = first + len / BMAP_BLOCK - 1;
        let span = if first == last {
            format!("{first}")
        } else {
            format!("{first}-{last}")
        };
        x.push_str(&format!(
            "        <Range chksum=\"{}\"> {span} </Range>\n",
            to_hex(sum)
        ));
    }
    x.push_str("    </BlockMap>\n</bmap>\n");
    let own = to_hex(&Sha256::digest(x.as_bytes()));
    x.replacen(&placeholder, &own, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_rounded_out_to_blocks_and_merged() {
        let r = merge_blocks(vec![(8192, 10), (0, 512), (4000, 200), (20480, 0)], 1 << 20);
        assert_eq!(r, vec![(0, 12288)]);
        let r = merge_blocks(vec![(1 << 20, 4096), (0, 4096)], 2 << 20);
        assert_eq!(r, vec![(0, 4096), (1 << 20, 4096)]);
    }

    #[test]
    fn the_bmap_written_is_read_back_with_its_own_checksum_verified() {
        let sums = [[1u8; 32], [2u8; 32]];
        let text = bmap_xml(10 << 20, &[(0, 8192), (1 << 20, 4096)], &sums);
        let bmap = crate::bmap::Bmap::parse(&text).unwrap();
        assert_eq!(bmap.file_checksum(), crate::bmap::FileChecksum::Verified);
        assert_eq!(bmap.mapped_blocks_count(), 3);
        assert_eq!(bmap.image_size(), 10 << 20);
    }
}
