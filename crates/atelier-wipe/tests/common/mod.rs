//! Shared by the firmware-erase tests: the media behind a scripted drive, as a [`BlockIo`]
//! the verification reads back.
#![allow(dead_code)]

use std::io;
use std::sync::{Arc, Mutex};

use atelier_wipe::BlockIo;

/// A disk in memory: the same bytes the scripted drive erases (shared through the `Arc`),
/// 512-byte sectors.
pub struct MemoryDisk(pub Arc<Mutex<Vec<u8>>>);

impl BlockIo for MemoryDisk {
    fn size_bytes(&self) -> u64 {
        self.0.lock().unwrap().len() as u64
    }
    fn logical_sector_size(&self) -> u32 {
        512
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        let mut m = self.0.lock().unwrap();
        m[offset as usize..offset as usize + buf.len()].copy_from_slice(buf);
        Ok(())
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let m = self.0.lock().unwrap();
        buf.copy_from_slice(&m[offset as usize..offset as usize + buf.len()]);
        Ok(())
    }
    fn sync_data(&self) -> io::Result<()> {
        Ok(())
    }
}
