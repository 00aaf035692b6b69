//! Raw block-device ioctls (linux/fs.h), behind safe functions. The only `unsafe` code of the
//! workspace lives in this module.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

// BLKGETSIZE64 = _IOR(0x12, 114, size_t): capacity in bytes.
nix::ioctl_read!(blk_get_size64, 0x12, 114, u64);
// BLKSSZGET = _IO(0x12, 104): logical sector size, written through an int pointer.
nix::ioctl_read_bad!(blk_ssz_get, nix::request_code_none!(0x12, 104), libc::c_int);
// BLKPBSZGET = _IO(0x12, 123): physical sector size, written through an unsigned int pointer.
nix::ioctl_read_bad!(
    blk_pbsz_get,
    nix::request_code_none!(0x12, 123),
    libc::c_uint
);
// BLKROGET = _IO(0x12, 94): read-only flag, written through an int pointer.
nix::ioctl_read_bad!(blk_ro_get, nix::request_code_none!(0x12, 94), libc::c_int);
// BLKZEROOUT = _IO(0x12, 127): zeroes a byte range, read as two u64 (start, length).
nix::ioctl_write_ptr_bad!(blk_zero_out, nix::request_code_none!(0x12, 127), [u64; 2]);

/// Capacity of the block device open as `file`, in bytes.
pub(crate) fn size_bytes(file: &File) -> io::Result<u64> {
    let mut size: u64 = 0;
    // SAFETY: the fd is open for the lifetime of `file`; BLKGETSIZE64 writes one u64 through
    // the pointer, which points to a live, properly aligned u64 on our stack.
    unsafe { blk_get_size64(file.as_raw_fd(), &mut size) }.map_err(io::Error::from)?;
    Ok(size)
}

/// Logical sector size of the block device open as `file`, in bytes.
pub(crate) fn logical_sector_size(file: &File) -> io::Result<u32> {
    let mut size: libc::c_int = 0;
    // SAFETY: the fd is open for the lifetime of `file`; BLKSSZGET writes one int through the
    // pointer, which points to a live c_int on our stack.
    unsafe { blk_ssz_get(file.as_raw_fd(), &mut size) }.map_err(io::Error::from)?;
    u32::try_from(size).map_err(|_| io::Error::other("negative sector size"))
}

/// Physical sector size of the block device open as `file`, in bytes.
pub(crate) fn physical_sector_size(file: &File) -> io::Result<u32> {
    let mut size: libc::c_uint = 0;
    // SAFETY: the fd is open for the lifetime of `file`; BLKPBSZGET writes one unsigned int
    // through the pointer, which points to a live c_uint on our stack.
    unsafe { blk_pbsz_get(file.as_raw_fd(), &mut size) }.map_err(io::Error::from)?;
    Ok(size)
}

/// True when the kernel refuses writes to the block device open as `file`.
pub(crate) fn is_read_only(file: &File) -> io::Result<bool> {
    let mut flag: libc::c_int = 0;
    // SAFETY: the fd is open for the lifetime of `file`; BLKROGET writes one int through the
    // pointer, which points to a live c_int on our stack.
    unsafe { blk_ro_get(file.as_raw_fd(), &mut flag) }.map_err(io::Error::from)?;
    Ok(flag != 0)
}

/// Zeroes `len` bytes from `offset` on the block device open (for writing) as `file`: the
/// kernel uses the device's write-zeroes command where it has one, and writes zero pages
/// itself otherwise.
pub(crate) fn zero_out(file: &File, offset: u64, len: u64) -> io::Result<()> {
    let range: [u64; 2] = [offset, len];
    // SAFETY: the fd is open for the lifetime of `file`; BLKZEROOUT only reads two u64 through
    // the pointer, which points to a live array on our stack.
    unsafe { blk_zero_out(file.as_raw_fd(), &range) }.map_err(io::Error::from)?;
    Ok(())
}
