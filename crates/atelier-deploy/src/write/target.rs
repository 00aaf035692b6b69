//! What the pipeline needs from a target, and the real implementation over
//! [`DirectDevice`].

use std::io;

use atelier_device::DirectDevice;

/// A disk or card the image is written to. [`DirectDevice`] is the real thing (`O_DIRECT`,
/// opened exclusively); tests add transports that fail on purpose.
///
/// Buffers handed to [`Self::write_all_at`] and [`Self::read_exact_at`] are aligned for
/// direct I/O, and offsets and lengths are multiples of [`Self::logical_sector_size`].
pub trait BlockTarget: Sync {
    /// How the target is named in messages (its device node).
    fn label(&self) -> String;
    /// Capacity in bytes.
    fn size_bytes(&self) -> u64;
    /// Logical sector size in bytes.
    fn logical_sector_size(&self) -> u32;
    /// Writes all of `buf` at `offset`.
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;
    /// Fills all of `buf` from `offset`.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// Makes written data durable (`fdatasync`).
    fn sync_data(&self) -> io::Result<()>;
    /// Zeroes `len` bytes at `offset` without sending them (`BLKZEROOUT`). An error of kind
    /// [`io::ErrorKind::Unsupported`] (the default) makes the pipeline write zeros instead.
    fn zero_out(&self, offset: u64, len: u64) -> io::Result<()> {
        let _ = (offset, len);
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}

impl BlockTarget for DirectDevice {
    fn label(&self) -> String {
        self.path().display().to_string()
    }
    fn size_bytes(&self) -> u64 {
        DirectDevice::size_bytes(self)
    }
    fn logical_sector_size(&self) -> u32 {
        DirectDevice::logical_sector_size(self)
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        DirectDevice::write_all_at(self, buf, offset)
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        DirectDevice::read_exact_at(self, buf, offset)
    }
    fn sync_data(&self) -> io::Result<()> {
        DirectDevice::sync_data(self)
    }
    fn zero_out(&self, offset: u64, len: u64) -> io::Result<()> {
        DirectDevice::zero_out(self, offset, len)
    }
}

/// True when a zero-out failed because the device or kernel cannot do it (then zeros are
/// written instead), rather than because the device is failing.
pub(crate) fn zero_out_unsupported(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::Unsupported
        || matches!(
            error.raw_os_error(),
            Some(libc::EOPNOTSUPP | libc::ENOTTY | libc::ENOSYS)
        )
}

/// An error retrying cannot help with: the device is gone, full, or the request is invalid.
fn is_fatal(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(
            libc::ENODEV
                | libc::ENXIO
                | libc::ENOMEDIUM
                | libc::EBADF
                | libc::EINVAL
                | libc::ENOSPC
                | libc::EROFS
        )
    )
}

/// Runs `op`, and again up to `retries` times while it fails with an error that may pass.
pub(crate) fn retried(retries: u32, mut op: impl FnMut() -> io::Result<()>) -> io::Result<()> {
    let mut attempt = 0;
    loop {
        match op() {
            Ok(()) => return Ok(()),
            Err(e) if attempt >= retries || is_fatal(&e) => return Err(e),
            Err(_) => attempt += 1,
        }
    }
}
