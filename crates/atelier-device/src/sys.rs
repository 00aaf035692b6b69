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
// BLKSECDISCARD = _IO(0x12, 125): secure erase of a byte range, read as two u64 (start, length).
nix::ioctl_write_ptr_bad!(
    blk_sec_discard,
    nix::request_code_none!(0x12, 125),
    [u64; 2]
);

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

/// Securely erases `len` bytes from `offset` on the block device open (for writing) as `file`
/// (`BLKSECDISCARD`: on eMMC the kernel sends a secure erase or secure trim). The kernel
/// answers `EOPNOTSUPP` before anything else when the device has no secure erase, `EBADF`
/// when the file is not open for writing, `EINVAL` for a range not aligned to 512 bytes.
pub(crate) fn secure_discard(file: &File, offset: u64, len: u64) -> io::Result<()> {
    let range: [u64; 2] = [offset, len];
    // SAFETY: the fd is open for the lifetime of `file`; BLKSECDISCARD only reads two u64
    // through the pointer, which points to a live array on our stack.
    unsafe { blk_sec_discard(file.as_raw_fd(), &range) }.map_err(io::Error::from)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Drive pass-through: NVMe admin commands and SCSI generic (SG_IO) for ATA PASS-THROUGH.
// ---------------------------------------------------------------------------------------------

/// `struct nvme_passthru_cmd` of linux/nvme_ioctl.h (the `nvme_admin_cmd` of the admin ioctl),
/// 72 bytes. Field names as in the kernel header.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct NvmePassthruCmd {
    pub opcode: u8,
    pub flags: u8,
    pub rsvd1: u16,
    pub nsid: u32,
    pub cdw2: u32,
    pub cdw3: u32,
    pub metadata: u64,
    pub addr: u64,
    pub metadata_len: u32,
    pub data_len: u32,
    pub cdw10: u32,
    pub cdw11: u32,
    pub cdw12: u32,
    pub cdw13: u32,
    pub cdw14: u32,
    pub cdw15: u32,
    pub timeout_ms: u32,
    pub result: u32,
}

// NVME_IOCTL_ADMIN_CMD = _IOWR('N', 0x41, struct nvme_admin_cmd).
nix::ioctl_readwrite!(nvme_ioctl_admin_cmd, b'N', 0x41, NvmePassthruCmd);

/// What an NVMe admin command returned through the kernel: the completion's status field
/// (0 = success; `SCT << 8 | SC` plus the DNR/More bits otherwise) and its Dword 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NvmeRawCompletion {
    pub status: u16,
    pub result: u32,
}

/// Sends one NVMe admin command on the controller character device open as `file`. `data`,
/// when given, is the command's data buffer (read or written by the controller according to
/// the opcode's direction, NVMe Base §5 "data transfer" column). An `Err` is an OS error (the
/// command did not reach the controller or the kernel refused it); a controller error comes
/// back as a non-zero status.
pub(crate) fn nvme_admin(
    file: &File,
    opcode: u8,
    nsid: u32,
    cdw: [u32; 6],
    data: Option<&mut [u8]>,
    timeout_ms: u32,
) -> io::Result<NvmeRawCompletion> {
    let (addr, data_len) = match data {
        Some(buf) => (
            buf.as_mut_ptr() as u64,
            u32::try_from(buf.len()).map_err(|_| io::Error::other("NVMe data buffer too large"))?,
        ),
        None => (0, 0),
    };
    let mut cmd = NvmePassthruCmd {
        opcode,
        nsid,
        addr,
        data_len,
        cdw10: cdw[0],
        cdw11: cdw[1],
        cdw12: cdw[2],
        cdw13: cdw[3],
        cdw14: cdw[4],
        cdw15: cdw[5],
        timeout_ms,
        ..NvmePassthruCmd::default()
    };
    // SAFETY: the fd is open for the lifetime of `file`; `cmd` is a live, properly laid out
    // nvme_passthru_cmd on our stack; its `addr`/`data_len` describe the caller's buffer (or are
    // 0), which stays mutably borrowed — so alive and unaliased — until the ioctl returns, and
    // the kernel transfers at most `data_len` bytes through it.
    let status =
        unsafe { nvme_ioctl_admin_cmd(file.as_raw_fd(), &mut cmd) }.map_err(io::Error::from)?;
    Ok(NvmeRawCompletion {
        status: u16::try_from(status).unwrap_or(u16::MAX),
        result: cmd.result,
    })
}

/// `struct sg_io_hdr` of scsi/sg.h.
#[repr(C)]
struct SgIoHdr {
    interface_id: libc::c_int,
    dxfer_direction: libc::c_int,
    cmd_len: libc::c_uchar,
    mx_sb_len: libc::c_uchar,
    iovec_count: libc::c_ushort,
    dxfer_len: libc::c_uint,
    dxferp: *mut libc::c_void,
    cmdp: *const libc::c_uchar,
    sbp: *mut libc::c_uchar,
    timeout: libc::c_uint,
    flags: libc::c_uint,
    pack_id: libc::c_int,
    usr_ptr: *mut libc::c_void,
    status: libc::c_uchar,
    masked_status: libc::c_uchar,
    msg_status: libc::c_uchar,
    sb_len_wr: libc::c_uchar,
    host_status: libc::c_ushort,
    driver_status: libc::c_ushort,
    resid: libc::c_int,
    duration: libc::c_uint,
    info: libc::c_uint,
}

// SG_IO = 0x2285 (scsi/sg.h), not encoded with _IOWR.
nix::ioctl_readwrite_bad!(sg_io, 0x2285, SgIoHdr);

const SG_DXFER_NONE: libc::c_int = -1;
const SG_DXFER_TO_DEV: libc::c_int = -2;
const SG_DXFER_FROM_DEV: libc::c_int = -3;

/// Direction and buffer of a SCSI command's data phase.
pub(crate) enum SgData<'a> {
    /// No data.
    None,
    /// The device sends data into the buffer.
    FromDevice(&'a mut [u8]),
    /// The device receives the buffer.
    ToDevice(&'a [u8]),
}

/// What came back from one SG_IO request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SgRawReply {
    pub status: u8,
    pub host_status: u16,
    pub driver_status: u16,
    pub sense: Vec<u8>,
    pub resid: i32,
    pub duration_ms: u32,
}

/// Sends one SCSI command (`cdb`) through SG_IO on the block or sg device open as `file`.
pub(crate) fn sg_io_command(
    file: &File,
    cdb: &[u8],
    data: SgData<'_>,
    timeout_ms: u32,
) -> io::Result<SgRawReply> {
    let mut sense = [0u8; 64];
    let (direction, ptr, len) = match data {
        SgData::None => (SG_DXFER_NONE, std::ptr::null_mut(), 0usize),
        SgData::FromDevice(buf) => (
            SG_DXFER_FROM_DEV,
            buf.as_mut_ptr().cast::<libc::c_void>(),
            buf.len(),
        ),
        SgData::ToDevice(buf) => (
            SG_DXFER_TO_DEV,
            buf.as_ptr().cast_mut().cast::<libc::c_void>(),
            buf.len(),
        ),
    };
    let mut hdr = SgIoHdr {
        interface_id: libc::c_int::from(b'S'),
        dxfer_direction: direction,
        cmd_len: u8::try_from(cdb.len()).map_err(|_| io::Error::other("CDB too long"))?,
        mx_sb_len: sense.len() as u8,
        iovec_count: 0,
        dxfer_len: u32::try_from(len).map_err(|_| io::Error::other("SG_IO buffer too large"))?,
        dxferp: ptr,
        cmdp: cdb.as_ptr(),
        sbp: sense.as_mut_ptr(),
        timeout: timeout_ms,
        flags: 0,
        pack_id: 0,
        usr_ptr: std::ptr::null_mut(),
        status: 0,
        masked_status: 0,
        msg_status: 0,
        sb_len_wr: 0,
        host_status: 0,
        driver_status: 0,
        resid: 0,
        duration: 0,
        info: 0,
    };
    // SAFETY: the fd is open for the lifetime of `file`; `hdr` is a live sg_io_hdr on our stack
    // whose pointers name the CDB (borrowed for this call), our sense array and the caller's
    // buffer (borrowed — mutably when the device writes it — until the ioctl returns), each with
    // its exact length; SG_IO is synchronous, so nothing is touched after it returns. A buffer
    // the device only reads is never written through the cast pointer (direction TO_DEV).
    unsafe { sg_io(file.as_raw_fd(), &mut hdr) }.map_err(io::Error::from)?;
    let written = usize::from(hdr.sb_len_wr).min(sense.len());
    Ok(SgRawReply {
        status: hdr.status,
        host_status: hdr.host_status,
        driver_status: hdr.driver_status,
        sense: sense[..written].to_vec(),
        resid: hdr.resid,
        duration_ms: hdr.duration,
    })
}

#[cfg(test)]
mod layout_tests {
    use super::*;

    #[test]
    fn kernel_struct_sizes() {
        // linux/nvme_ioctl.h: 72 bytes; scsi/sg.h on x86_64: 88 bytes.
        assert_eq!(std::mem::size_of::<NvmePassthruCmd>(), 72);
        #[cfg(target_pointer_width = "64")]
        assert_eq!(std::mem::size_of::<SgIoHdr>(), 88);
    }
}
