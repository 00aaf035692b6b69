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

/// An observer that shows nothing and accepts every checkpoint.
pub struct Quiet;

impl atelier_wipe::WipeObserver for Quiet {
    fn phase(&self, _phase: atelier_wipe::Phase, _bytes_total: u64) {}
    fn progress(&self, _bytes_done: u64, _bytes_total: u64) {}
    fn checkpoint(&self, _progress: &atelier_wipe::JobProgress) -> Result<(), String> {
        Ok(())
    }
}

/// A page captured from QEMU's drives (`atelier-device/tests/fixtures/drive-pages-qemu`).
pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../atelier-device/tests/fixtures/drive-pages-qemu")
            .join(name),
    )
    .unwrap()
}

/// The IDENTIFY DEVICE page of QEMU's SATA disk.
pub fn sata_identify_page() -> Vec<u8> {
    fixture("sata-ATL-SATA-01.identify.bin")
}

/// `bytes` of media holding `text` over and over: every sector has old content to find.
pub fn canary_media(text: &[u8], bytes: u64) -> Arc<Mutex<Vec<u8>>> {
    Arc::new(Mutex::new(
        text.iter().copied().cycle().take(bytes as usize).collect(),
    ))
}

/// The parameters of a firmware erase with `method` on QEMU's NVMe namespace (`bytes` long).
pub fn nvme_params(
    method: atelier_wipe::policy::PolicyMethod,
    bytes: u64,
) -> atelier_wipe::WipeParams {
    let device = disk(
        "nvme0n1",
        (259, 0),
        atelier_record::Transport::Nvme,
        "QEMU NVMe Ctrl",
        "ATL-NVME-01",
        bytes,
    );
    firmware_params(&device, method)
}

/// The parameters of a firmware erase with `method` on the SATA disk `sda` (serial
/// ATL-SATA-01, as QEMU's) sold as `model`, `bytes` long.
pub fn sata_params(
    model: &str,
    method: atelier_wipe::policy::PolicyMethod,
    bytes: u64,
) -> atelier_wipe::WipeParams {
    let device = disk(
        "sda",
        (8, 0),
        atelier_record::Transport::Sata,
        model,
        "ATL-SATA-01",
        bytes,
    );
    firmware_params(&device, method)
}

/// The names of the commands a session recorded, in order.
pub fn command_names(section: &atelier_record::FirmwareErase) -> Vec<&str> {
    section.commands.iter().map(|c| c.name.as_str()).collect()
}

/// A password journal in memory: the current entries by (serial, model), and every password
/// ever saved.
#[derive(Default)]
pub struct MemJournal {
    /// The entries.
    pub entries: std::cell::RefCell<std::collections::HashMap<(String, String), String>>,
    /// Every password saved, in order.
    pub saved: std::cell::RefCell<Vec<String>>,
}

impl atelier_wipe::ata_security::PasswordJournal for MemJournal {
    fn save(&self, serial: &str, model: &str, password: &str) -> Result<(), String> {
        self.saved.borrow_mut().push(password.to_string());
        self.entries
            .borrow_mut()
            .insert((serial.into(), model.into()), password.into());
        Ok(())
    }
    fn find(&self, serial: &str, model: &str) -> Result<Option<String>, String> {
        Ok(self
            .entries
            .borrow()
            .get(&(serial.to_string(), model.to_string()))
            .cloned())
    }
    fn remove(&self, serial: &str, model: &str) -> Result<(), String> {
        self.entries
            .borrow_mut()
            .remove(&(serial.to_string(), model.to_string()));
        Ok(())
    }
}
