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

/// A whole disk with 512-byte sectors, as discovery would describe it.
pub fn disk(
    name: &str,
    (major, minor): (u32, u32),
    transport: atelier_record::Transport,
    model: &str,
    serial: &str,
    size_bytes: u64,
) -> atelier_device::BlockDevice {
    atelier_device::BlockDevice {
        name: name.into(),
        dev: atelier_device::DevNum { major, minor },
        kind: atelier_device::DeviceKind::Disk,
        transport,
        model: Some(model.into()),
        vendor: None,
        serial: Some(serial.into()),
        wwn: None,
        firmware: None,
        size_bytes,
        logical_sector_size: 512,
        physical_sector_size: 512,
        rotational: false,
        removable: false,
        read_only: false,
        loop_backing_file: None,
        holders: Vec::new(),
        partitions: Vec::new(),
        sysfs_path: format!("/sys/block/{name}").into(),
    }
}

/// The parameters of a firmware erase of `device` with `method`, verified by sampling.
pub fn firmware_params(
    device: &atelier_device::BlockDevice,
    method: atelier_wipe::policy::PolicyMethod,
) -> atelier_wipe::WipeParams {
    let mut p = atelier_wipe::WipeParams::new(
        device,
        atelier_wipe::Method::OverwriteZero,
        atelier_record::VerificationMode::Sampled,
        1 << 20,
    )
    .unwrap();
    p.firmware = Some(atelier_wipe::firmware::FirmwareParams { method });
    p
}
