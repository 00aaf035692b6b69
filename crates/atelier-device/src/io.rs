//! Exclusive, direct (`O_DIRECT`) access to a block device that has been checked to be the
//! one that was planned.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::{BlockDevice, DIRECT_IO_ALIGNMENT, DevNum, sys};

/// Why a device could not be opened for a wipe.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The node does not exist (the device was unplugged?).
    #[error("{path}: no such device")]
    Gone {
        /// The device node.
        path: PathBuf,
    },
    /// The kernel refused an exclusive open: something mounted or stacked on it meanwhile.
    #[error("{path}: device is busy (mounted or in use by another program)")]
    Busy {
        /// The device node.
        path: PathBuf,
    },
    /// The path is not a block device.
    #[error("{path}: not a block device")]
    NotABlockDevice {
        /// The path.
        path: PathBuf,
    },
    /// The device is not the one that was planned (swapped in the same slot, resized…).
    #[error("{path}: {what} changed since the plan (expected {expected}, found {found})")]
    Changed {
        /// The device node.
        path: PathBuf,
        /// Which property changed.
        what: &'static str,
        /// The planned value.
        expected: String,
        /// The value now.
        found: String,
    },
    /// The kernel refuses writes to it.
    #[error("{path}: device is read-only")]
    ReadOnly {
        /// The device node.
        path: PathBuf,
    },
    /// Any other OS error.
    #[error("{path}: {source}")]
    Io {
        /// The device node.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
}

/// A block device opened with `O_DIRECT | O_EXCL` for whole-device I/O.
///
/// `O_EXCL` on a block device makes the kernel refuse the open while the device or one of its
/// partitions is mounted or held, and keeps others from claiming it while we hold it.
#[derive(Debug)]
pub struct DirectDevice {
    file: File,
    path: PathBuf,
    size_bytes: u64,
    logical_sector_size: u32,
}

impl DirectDevice {
    /// Opens `path` and checks it is still `planned`: same device number, capacity and
    /// logical sector size. With `writable`, also checks the kernel allows writes.
    pub fn open(path: &Path, planned: &BlockDevice, writable: bool) -> Result<Self, OpenError> {
        let io_err = |source: io::Error| OpenError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(writable)
            .custom_flags(libc::O_DIRECT | libc::O_EXCL | libc::O_CLOEXEC)
            .open(path)
            .map_err(|e| match e.raw_os_error() {
                Some(libc::ENOENT | libc::ENXIO | libc::ENODEV | libc::ENOMEDIUM) => {
                    OpenError::Gone {
                        path: path.to_path_buf(),
                    }
                }
                Some(libc::EBUSY) => OpenError::Busy {
                    path: path.to_path_buf(),
                },
                Some(libc::EROFS | libc::EACCES) if writable && planned.read_only => {
                    OpenError::ReadOnly {
                        path: path.to_path_buf(),
                    }
                }
                Some(libc::EROFS) => OpenError::ReadOnly {
                    path: path.to_path_buf(),
                },
                _ => io_err(e),
            })?;
        let meta = file.metadata().map_err(io_err)?;
        if !meta.file_type().is_block_device() {
            return Err(OpenError::NotABlockDevice {
                path: path.to_path_buf(),
            });
        }
        let changed = |what, expected: String, found: String| OpenError::Changed {
            path: path.to_path_buf(),
            what,
            expected,
            found,
        };
        let dev = DevNum::from_raw(meta.rdev());
        if dev != planned.dev {
            return Err(changed(
                "device number",
                planned.dev.to_string(),
                dev.to_string(),
            ));
        }
        let size_bytes = sys::size_bytes(&file).map_err(io_err)?;
        if size_bytes != planned.size_bytes {
            return Err(changed(
                "capacity",
                planned.size_bytes.to_string(),
                size_bytes.to_string(),
            ));
        }
        let logical_sector_size = sys::logical_sector_size(&file).map_err(io_err)?;
        if logical_sector_size != planned.logical_sector_size {
            return Err(changed(
                "logical sector size",
                planned.logical_sector_size.to_string(),
                logical_sector_size.to_string(),
            ));
        }
        if writable && sys::is_read_only(&file).map_err(io_err)? {
            return Err(OpenError::ReadOnly {
                path: path.to_path_buf(),
            });
        }
        Ok(Self {
            file,
            path: path.to_path_buf(),
            size_bytes,
            logical_sector_size,
        })
    }

    /// The device node.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Capacity in bytes, as the kernel reported it at open.
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    /// Logical sector size in bytes.
    pub fn logical_sector_size(&self) -> u32 {
        self.logical_sector_size
    }

    /// Physical sector size in bytes.
    pub fn physical_sector_size(&self) -> io::Result<u32> {
        sys::physical_sector_size(&self.file)
    }

    /// Writes all of `buf` at `offset` (both multiples of the logical sector size, `buf`
    /// aligned). Short writes are continued; an error is returned as it comes.
    pub fn write_all_at(&self, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
        while !buf.is_empty() {
            match self.file.write_at(buf, offset) {
                Ok(0) => return Err(io::Error::from_raw_os_error(libc::ENOSPC)),
                Ok(n) => {
                    buf = &buf[n..];
                    offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Fills all of `buf` from `offset` (same rules as [`Self::write_all_at`]).
    pub fn read_exact_at(&self, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
        while !buf.is_empty() {
            match self.file.read_at(buf, offset) {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::UnexpectedEof)),
                Ok(n) => {
                    buf = &mut buf[n..];
                    offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Zeroes `len` bytes from `offset` (both multiples of the logical sector size) with the
    /// `BLKZEROOUT` ioctl: the device zeroes the range itself where it can (write-zeroes
    /// command, a hole in a loop device's file), and the kernel writes zeros otherwise. The
    /// range reads back as zeros afterwards; the page cache over it is dropped. Needs the
    /// device open for writing.
    pub fn zero_out(&self, offset: u64, len: u64) -> io::Result<()> {
        let sector = u64::from(self.logical_sector_size);
        if !offset.is_multiple_of(sector) || !len.is_multiple_of(sector) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{}: zero-out of {len} bytes at {offset} is not aligned to the {sector}-byte sector",
                    self.path.display()
                ),
            ));
        }
        if offset
            .checked_add(len)
            .is_none_or(|end| end > self.size_bytes)
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{}: zero-out of {len} bytes at {offset} goes past the end ({} bytes)",
                    self.path.display(),
                    self.size_bytes
                ),
            ));
        }
        if len == 0 {
            return Ok(());
        }
        sys::zero_out(&self.file, offset, len)
    }

    /// Flushes written data to the medium (`fdatasync`, which also flushes the drive's cache).
    pub fn sync_data(&self) -> io::Result<()> {
        self.file.sync_data()
    }
}

/// A byte buffer whose start is aligned for direct I/O ([`DIRECT_IO_ALIGNMENT`]).
pub struct AlignedBuffer {
    storage: Vec<u8>,
    start: usize,
    len: usize,
}

impl AlignedBuffer {
    /// A zero-filled buffer of `len` bytes.
    pub fn zeroed(len: usize) -> Self {
        let storage = vec![0u8; len + DIRECT_IO_ALIGNMENT];
        let start = storage.as_ptr().align_offset(DIRECT_IO_ALIGNMENT);
        Self {
            storage,
            start,
            len,
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the buffer holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.storage[self.start..self.start + self.len]
    }

    /// The bytes, mutable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..self.start + self.len]
    }
}

impl std::fmt::Debug for AlignedBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlignedBuffer")
            .field("len", &self.len)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_aligned_and_sized() {
        for len in [512, 4096, 1 << 20, 3 * 4096 + 512] {
            let mut buf = AlignedBuffer::zeroed(len);
            assert_eq!(buf.len(), len);
            assert_eq!(buf.as_slice().as_ptr() as usize % DIRECT_IO_ALIGNMENT, 0);
            buf.as_mut_slice()[len - 1] = 7;
            assert!(buf.as_slice()[..len - 1].iter().all(|&b| b == 0));
        }
    }
}
