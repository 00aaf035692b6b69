//! Shared by the deploy test binaries: a target wrapper that counts what the writer does, and
//! the check of a read-back that found one changed block.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

use atelier_deploy::write::{BlockTarget, TargetOutcome, TargetReport, Verification, WriteConfig};

/// A target that passes every call to `inner` and counts the bytes written, read and zeroed;
/// with `refuse_zero_out` its `zero_out` fails as a device without a zeroing command does.
pub struct Counting<'a, T: BlockTarget> {
    pub inner: &'a T,
    pub written: AtomicU64,
    pub read: AtomicU64,
    pub zeroed: AtomicU64,
    pub refuse_zero_out: bool,
}

impl<'a, T: BlockTarget> Counting<'a, T> {
    /// Counts from zero; zeroing allowed.
    pub fn new(inner: &'a T) -> Self {
        Self {
            inner,
            written: AtomicU64::new(0),
            read: AtomicU64::new(0),
            zeroed: AtomicU64::new(0),
            refuse_zero_out: false,
        }
    }
}

impl<T: BlockTarget> BlockTarget for Counting<'_, T> {
    fn label(&self) -> String {
        self.inner.label()
    }
    fn size_bytes(&self) -> u64 {
        self.inner.size_bytes()
    }
    fn logical_sector_size(&self) -> u32 {
        self.inner.logical_sector_size()
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.written.fetch_add(buf.len() as u64, Ordering::SeqCst);
        self.inner.write_all_at(buf, offset)
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.read.fetch_add(buf.len() as u64, Ordering::SeqCst);
        self.inner.read_exact_at(buf, offset)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.inner.sync_data()
    }
    fn zero_out(&self, offset: u64, len: u64) -> io::Result<()> {
        if self.refuse_zero_out {
            return Err(io::Error::from_raw_os_error(libc::EOPNOTSUPP));
        }
        self.zeroed.fetch_add(len, Ordering::SeqCst);
        self.inner.zero_out(offset, len)
    }
}

/// Checks that `t` failed its read-back with one mismatch, the verify block that holds byte
/// `flip`; returns the verification.
pub fn assert_one_mismatch_at(t: &TargetReport, flip: u64) -> &Verification {
    assert!(
        matches!(t.outcome, TargetOutcome::Mismatch),
        "{:?}",
        t.outcome
    );
    let v = t.verification.as_ref().unwrap();
    let block = WriteConfig::default().verify_block as u64;
    assert_eq!(v.mismatches.len(), 1, "{:?}", v.mismatches);
    assert_eq!(v.mismatches[0].offset, flip / block * block);
    v
}
