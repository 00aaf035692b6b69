//! FAT file systems edited in user space, over the byte range of their partition.
//!
//! The bench's kernel may lack `vfat`, and mounting would also race with desktop automounters;
//! instead the `fatfs` crate (FAT12/16/32 per Microsoft's "FAT: General Overview of On-Disk
//! Format" 1.03, with VFAT long names) works on a [`PartitionSlice`]: a `Read + Write + Seek`
//! view of `[start, start + len)` of the target file or device. Writes go through the page
//! cache and are flushed with `fsync` when the file system is closed; block devices then get
//! their buffers dropped (`blockdev --flushbufs`) so that the check that follows reads the
//! medium, not the cache.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, FileTypeExt};
use std::path::{Path, PathBuf};

use super::CustomiseError;
use super::partition::Partition;
use super::tools;

/// Largest file read from a boot partition (configuration files are a few KiB).
const MAX_READ: u64 = 4 << 20;

/// A `Read + Write + Seek` window onto `[start, start + len)` of a file or block device.
#[derive(Debug)]
pub(crate) struct PartitionSlice {
    file: File,
    start: u64,
    len: u64,
    pos: u64,
}

impl PartitionSlice {
    /// A window of `len` bytes from `start` in `file`.
    pub(crate) fn new(file: File, start: u64, len: u64) -> Self {
        Self {
            file,
            start,
            len,
            pos: 0,
        }
    }
}

impl Read for PartitionSlice {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.len.saturating_sub(self.pos);
        let n = (buf.len() as u64).min(left) as usize;
        if n == 0 {
            return Ok(0);
        }
        let got = self.file.read_at(&mut buf[..n], self.start + self.pos)?;
        self.pos += got as u64;
        Ok(got)
    }
}

impl Write for PartitionSlice {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let left = self.len.saturating_sub(self.pos);
        if buf.is_empty() {
            return Ok(0);
        }
        if left == 0 {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "write past the end of the partition",
            ));
        }
        let n = (buf.len() as u64).min(left) as usize;
        let put = self.file.write_at(&buf[..n], self.start + self.pos)?;
        self.pos += put as u64;
        Ok(put)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for PartitionSlice {
    fn seek(&mut self, from: SeekFrom) -> io::Result<u64> {
        let target = match from {
            SeekFrom::Start(o) => Some(o),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        match target {
            Some(p) if p <= self.len => {
                self.pos = p;
                Ok(p)
            }
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek outside the partition",
            )),
        }
    }
}

/// A FAT file system opened on one partition of a target.
pub(crate) struct FatVolume {
    fs: fatfs::FileSystem<PartitionSlice>,
    target: PathBuf,
    partition: u32,
    block_device: bool,
}

impl FatVolume {
    /// Opens the FAT file system of `partition` on `target`, for writing when `writable`.
    pub(crate) fn open(
        target: &Path,
        partition: &Partition,
        writable: bool,
    ) -> Result<Self, CustomiseError> {
        let file = OpenOptions::new()
            .read(true)
            .write(writable)
            .open(target)
            .map_err(|e| CustomiseError::io(format!("opening {}", target.display()), e))?;
        let block_device = file
            .metadata()
            .map(|m| m.file_type().is_block_device())
            .unwrap_or(false);
        let slice = PartitionSlice::new(file, partition.start, partition.size);
        let options = fatfs::FsOptions::new().update_accessed_date(false);
        let fs = fatfs::FileSystem::new(slice, options).map_err(|e| CustomiseError::Fat {
            target: target.to_path_buf(),
            partition: partition.number,
            reason: format!("not a FAT file system the bench can read ({e})"),
        })?;
        Ok(Self {
            fs,
            target: target.to_path_buf(),
            partition: partition.number,
            block_device,
        })
    }

    fn error(&self, reason: String) -> CustomiseError {
        CustomiseError::Fat {
            target: self.target.clone(),
            partition: self.partition,
            reason,
        }
    }

    /// The content of `name` in the root directory, or `None` when there is no such file.
    pub(crate) fn read(&self, name: &str) -> Result<Option<Vec<u8>>, CustomiseError> {
        let root = self.fs.root_dir();
        let mut file = match root.open_file(name) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.error(format!("opening {name}: {e}"))),
        };
        let mut data = Vec::new();
        (&mut file)
            .take(MAX_READ + 1)
            .read_to_end(&mut data)
            .map_err(|e| self.error(format!("reading {name}: {e}")))?;
        if data.len() as u64 > MAX_READ {
            return Err(self.error(format!("{name} is larger than {MAX_READ} bytes")));
        }
        Ok(Some(data))
    }

    /// Whether `name` exists in the root directory.
    pub(crate) fn exists(&self, name: &str) -> Result<bool, CustomiseError> {
        for entry in self.fs.root_dir().iter() {
            let entry =
                entry.map_err(|e| self.error(format!("listing the root directory: {e}")))?;
            if entry.file_name().eq_ignore_ascii_case(name) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Replaces (or creates) `name` in the root directory with `data`.
    pub(crate) fn write(&self, name: &str, data: &[u8]) -> Result<(), CustomiseError> {
        let root = self.fs.root_dir();
        let mut file = root
            .create_file(name)
            .map_err(|e| self.error(format!("creating {name}: {e}")))?;
        file.truncate()
            .and_then(|_| file.write_all(data))
            .and_then(|_| file.flush())
            .map_err(|e| self.error(format!("writing {name}: {e}")))?;
        Ok(())
    }

    /// Closes the file system (clears its dirty flag, updates FSInfo), flushes the target to
    /// the medium and, on a block device, drops its cached buffers.
    pub(crate) fn close(self) -> Result<(), CustomiseError> {
        let Self {
            fs,
            target,
            partition,
            block_device,
        } = self;
        fs.unmount().map_err(|e| CustomiseError::Fat {
            target: target.clone(),
            partition,
            reason: format!("closing the file system: {e}"),
        })?;
        sync_target(&target, block_device)
    }
}

/// `fsync`s the target and, for a block device, drops its buffer cache.
pub(crate) fn sync_target(target: &Path, block_device: bool) -> Result<(), CustomiseError> {
    let file = OpenOptions::new()
        .read(true)
        .open(target)
        .map_err(|e| CustomiseError::io(format!("opening {}", target.display()), e))?;
    file.sync_all()
        .map_err(|e| CustomiseError::io(format!("flushing {}", target.display()), e))?;
    drop(file);
    if block_device {
        tools::flush_buffers(target)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_stays_inside_its_window() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk");
        std::fs::write(&path, vec![7u8; 100]).unwrap();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        let mut s = PartitionSlice::new(file, 10, 20);
        let mut buf = [0u8; 50];
        assert_eq!(s.read(&mut buf).unwrap(), 20);
        assert_eq!(s.read(&mut buf).unwrap(), 0);
        assert!(s.seek(SeekFrom::Start(21)).is_err());
        assert_eq!(s.seek(SeekFrom::End(-5)).unwrap(), 15);
        assert_eq!(s.write(&[1u8; 10]).unwrap(), 5);
        assert!(s.write(&[1u8; 1]).is_err());
        let disk = std::fs::read(&path).unwrap();
        assert_eq!(&disk[25..30], &[1u8; 5]);
        assert_eq!(disk[30], 7);
        assert_eq!(disk[24], 7);
    }
}
