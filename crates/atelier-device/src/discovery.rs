//! Block devices from sysfs (`/sys/class/block`), with their identity.
//!
//! The `blockdev` crate parses `lsblk --json`; it cannot be pointed at a captured tree and
//! lsblk does not read every serial source used here (SCSI VPD page 0x80, the USB device's own
//! serial), so discovery reads sysfs directly.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use atelier_record::{DeviceIdentity, MediaKind, Transport};
use serde::Serialize;

use crate::SystemRoot;

/// A device number (`major:minor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct DevNum {
    /// Major number (driver).
    pub major: u32,
    /// Minor number (unit).
    pub minor: u32,
}

impl DevNum {
    /// Parses the `MAJOR:MINOR` form used in sysfs `dev` files and in mountinfo.
    pub fn parse(text: &str) -> Option<Self> {
        let (major, minor) = text.trim().split_once(':')?;
        Some(Self {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
        })
    }

    /// From a raw `dev_t` (e.g. `st_rdev`).
    pub fn from_raw(raw: u64) -> Self {
        Self {
            major: libc::major(raw),
            minor: libc::minor(raw),
        }
    }
}

impl fmt::Display for DevNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.major, self.minor)
    }
}

/// What kind of block device the kernel offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    /// A disk: NVMe namespace, SATA / SCSI / USB disk, SD card, eMMC, virtio disk.
    Disk,
    /// A loop device (a file seen as a disk).
    Loop,
    /// A device-mapper device (LVM volume, dm-crypt mapping…).
    DeviceMapper,
    /// A software RAID (md) array.
    SoftwareRaid,
    /// Compressed RAM swap or a RAM disk.
    Ram,
    /// An optical drive.
    Optical,
}

/// A partition of a block device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Partition {
    /// Kernel name, e.g. `sda1`.
    pub name: String,
    /// Device number.
    pub dev: DevNum,
    /// Size in bytes.
    pub size_bytes: u64,
    /// Names of the devices stacked on it (`dm-0`, `md127`…).
    pub holders: Vec<String>,
}

/// A whole block device and its identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlockDevice {
    /// Kernel name, e.g. `sda`.
    pub name: String,
    /// Device number.
    pub dev: DevNum,
    /// What kind of device this is.
    pub kind: DeviceKind,
    /// How it is attached.
    pub transport: Transport,
    /// Model string.
    pub model: Option<String>,
    /// Vendor string.
    pub vendor: Option<String>,
    /// Serial number.
    pub serial: Option<String>,
    /// World Wide Name or other unique identifier (NVMe EUI / NGUID).
    pub wwn: Option<String>,
    /// Firmware revision.
    pub firmware: Option<String>,
    /// Capacity in bytes.
    pub size_bytes: u64,
    /// Logical sector size in bytes.
    pub logical_sector_size: u32,
    /// Physical sector size in bytes.
    pub physical_sector_size: u32,
    /// Rotational flag.
    pub rotational: bool,
    /// Removable flag.
    pub removable: bool,
    /// The kernel refuses writes.
    pub read_only: bool,
    /// For loop devices: the backing file.
    pub loop_backing_file: Option<PathBuf>,
    /// Devices stacked on the whole device.
    pub holders: Vec<String>,
    /// Partitions, in kernel order.
    pub partitions: Vec<Partition>,
    /// The device's sysfs directory, in the root's namespace.
    pub sysfs_path: PathBuf,
}

impl BlockDevice {
    /// The device node (`/dev/NAME`).
    pub fn dev_path(&self) -> PathBuf {
        Path::new("/dev").join(&self.name)
    }

    /// The storage medium, as far as the host can tell.
    pub fn media(&self) -> MediaKind {
        match (self.kind, self.transport) {
            (DeviceKind::Loop | DeviceKind::Ram | DeviceKind::DeviceMapper, _) => {
                MediaKind::Virtual
            }
            (DeviceKind::SoftwareRaid | DeviceKind::Optical, _) => MediaKind::Unknown,
            (_, Transport::Virtio | Transport::Loop) => MediaKind::Virtual,
            (_, Transport::Nvme | Transport::Mmc) => MediaKind::Flash,
            (_, Transport::Sata | Transport::Scsi) if self.rotational => MediaKind::Magnetic,
            (_, Transport::Sata | Transport::Scsi) => MediaKind::Flash,
            // USB bridges report "rotational" by default; only a 0 is informative.
            (_, Transport::Usb) if !self.rotational => MediaKind::Flash,
            _ => MediaKind::Unknown,
        }
    }

    /// The identity written into records.
    pub fn identity(&self) -> DeviceIdentity {
        DeviceIdentity {
            name: self.name.clone(),
            path: self.dev_path().display().to_string(),
            model: self.model.clone(),
            vendor: self.vendor.clone(),
            serial: self.serial.clone(),
            wwn: self.wwn.clone(),
            firmware: self.firmware.clone(),
            transport: self.transport,
            media: self.media(),
            size_bytes: self.size_bytes,
            logical_sector_size: self.logical_sector_size,
            physical_sector_size: self.physical_sector_size,
            rotational: self.rotational,
            removable: self.removable,
            loop_backing_file: self
                .loop_backing_file
                .as_ref()
                .map(|p| p.display().to_string()),
        }
    }

    /// What the operator must type to confirm a wipe: the serial number when the device has
    /// one, otherwise the kernel name (loop devices, some USB bridges).
    pub fn confirmation_token(&self) -> &str {
        self.serial.as_deref().unwrap_or(&self.name)
    }
}

/// Discovery failed as a whole (a single unreadable device is skipped, not an error).
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// `/sys/class/block` could not be listed.
    #[error("cannot list {path}: {source}")]
    NoSysfs {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Every whole block device under `root`, sorted by name, with its partitions. Hidden devices
/// (NVMe multipath paths) and unattached loop / RAM devices are left out.
pub fn discover(root: &SystemRoot) -> Result<Vec<BlockDevice>, DiscoveryError> {
    let class = root.path("/sys/class/block");
    let entries = fs::read_dir(&class).map_err(|source| DiscoveryError::NoSysfs {
        path: class.clone(),
        source,
    })?;
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();

    let mut disks: BTreeMap<String, BlockDevice> = BTreeMap::new();
    let mut partitions: Vec<(PathBuf, Partition)> = Vec::new();
    for name in names {
        let Some(sys) = root.resolve(&Path::new("/sys/class/block").join(&name)) else {
            continue;
        };
        if root.path(sys.join("partition")).exists() {
            if let Some(part) = read_partition(root, &name, &sys) {
                partitions.push((
                    sys.parent().map(Path::to_path_buf).unwrap_or_default(),
                    part,
                ));
            }
            continue;
        }
        if let Some(device) = read_device(root, &name, &sys) {
            disks.insert(name, device);
        }
    }
    for (parent_sys, part) in partitions {
        if let Some(disk) = disks.values_mut().find(|d| d.sysfs_path == parent_sys) {
            disk.partitions.push(part);
        }
    }
    Ok(disks.into_values().collect())
}

/// The whole device named `name` (e.g. `sda`), re-read from sysfs now.
pub fn find(root: &SystemRoot, name: &str) -> Result<Option<BlockDevice>, DiscoveryError> {
    Ok(discover(root)?.into_iter().find(|d| d.name == name))
}

fn read_partition(root: &SystemRoot, name: &str, sys: &Path) -> Option<Partition> {
    Some(Partition {
        name: name.to_string(),
        dev: DevNum::parse(&root.read_attr(&root.path(sys.join("dev")))?)?,
        size_bytes: root.read_u64(&root.path(sys.join("size"))).unwrap_or(0) * 512,
        holders: list_dir(&root.path(sys.join("holders"))),
    })
}

fn read_device(root: &SystemRoot, name: &str, sys: &Path) -> Option<BlockDevice> {
    let attr = |rel: &str| root.read_attr(&root.path(sys.join(rel)));
    let flag = |rel: &str| attr(rel).as_deref() == Some("1");
    if flag("hidden") {
        return None;
    }
    let dev = DevNum::parse(&attr("dev")?)?;
    let size_bytes = attr("size")
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0)
        * 512;
    let kind = kind_of(name, dev);
    let loop_backing_file = attr("loop/backing_file").map(PathBuf::from);
    // Unattached loop devices and unused RAM disks are noise, not devices.
    if (kind == DeviceKind::Loop && loop_backing_file.is_none())
        || (kind == DeviceKind::Ram && size_bytes == 0)
    {
        return None;
    }
    let device_dir = root.resolve(&sys.join("device"));
    let transport = transport_of(name, kind, sys, device_dir.as_deref());
    let dev_attr = |rel: &str| {
        device_dir
            .as_ref()
            .and_then(|d| root.read_attr(&root.path(d.join(rel))))
    };
    let usb = device_dir
        .as_deref()
        .filter(|_| transport == Transport::Usb)
        .and_then(|d| usb_device_dir(root, d));
    let usb_attr = |rel: &str| {
        usb.as_ref()
            .and_then(|d| root.read_attr(&root.path(d.join(rel))))
    };
    let udev = udev_properties(root, dev);

    // libata answers SCSI INQUIRY with the first 16 characters of the ATA model; the whole
    // model (40 characters) is in the ATA Information VPD page.
    let ata_identify = device_dir
        .as_ref()
        .and_then(|d| fs::read(root.path(d.join("vpd_pg89"))).ok())
        .and_then(|page| AtaIdentifyStrings::from_vpd_pg89(&page));
    let model = match transport {
        Transport::Mmc => dev_attr("name"),
        _ => ata_identify
            .as_ref()
            .and_then(|a| a.model.clone())
            .or_else(|| dev_attr("model")),
    }
    .or_else(|| usb_attr("product"))
    .or_else(|| udev.get("ID_MODEL").cloned())
    .map(clean);
    let vendor = match transport {
        Transport::Nvme | Transport::Virtio | Transport::Loop => None,
        Transport::Mmc => dev_attr("manfid"),
        Transport::Usb => usb_attr("manufacturer").or_else(|| dev_attr("vendor")),
        _ => dev_attr("vendor"),
    }
    .map(clean)
    // libata reports the SCSI vendor "ATA" for every SATA disk: it names no manufacturer.
    .filter(|v| !v.is_empty() && v != "ATA");
    let serial = match transport {
        Transport::Nvme | Transport::Mmc => dev_attr("serial"),
        Transport::Virtio => attr("serial"),
        Transport::Usb => usb_attr("serial"),
        _ => None,
    }
    .or_else(|| {
        device_dir
            .as_ref()
            .and_then(|d| fs::read(root.path(d.join("vpd_pg80"))).ok())
            .and_then(|page| serial_from_vpd_pg80(&page))
    })
    .or_else(|| udev.get("ID_SERIAL_SHORT").cloned())
    .map(clean)
    .filter(|s| !s.is_empty());
    let wwn = attr("wwid")
        .or_else(|| dev_attr("wwid"))
        .filter(|w| {
            transport == Transport::Nvme
                || ["naa.", "eui.", "uuid."].iter().any(|p| w.starts_with(p))
        })
        .or_else(|| udev.get("ID_WWN").cloned());
    let firmware = match transport {
        Transport::Nvme => dev_attr("firmware_rev"),
        Transport::Mmc => dev_attr("fwrev"),
        Transport::Loop | Transport::Virtio => None,
        _ => ata_identify
            .as_ref()
            .and_then(|a| a.firmware.clone())
            .or_else(|| dev_attr("rev")),
    }
    .map(clean);

    Some(BlockDevice {
        name: name.to_string(),
        dev,
        kind,
        transport,
        model,
        vendor,
        serial,
        wwn,
        firmware,
        size_bytes,
        logical_sector_size: attr("queue/logical_block_size")
            .and_then(|s| s.parse().ok())
            .unwrap_or(512),
        physical_sector_size: attr("queue/physical_block_size")
            .and_then(|s| s.parse().ok())
            .unwrap_or(512),
        rotational: flag("queue/rotational"),
        removable: flag("removable"),
        read_only: flag("ro"),
        loop_backing_file,
        holders: list_dir(&root.path(sys.join("holders"))),
        partitions: Vec::new(),
        sysfs_path: sys.to_path_buf(),
    })
}

fn kind_of(name: &str, dev: DevNum) -> DeviceKind {
    const LOOP_MAJOR: u32 = 7;
    const SCSI_CDROM_MAJOR: u32 = 11;
    if dev.major == LOOP_MAJOR || name.starts_with("loop") {
        DeviceKind::Loop
    } else if name.starts_with("dm-") {
        DeviceKind::DeviceMapper
    } else if name.starts_with("md") {
        DeviceKind::SoftwareRaid
    } else if name.starts_with("zram") || name.starts_with("ram") {
        DeviceKind::Ram
    } else if dev.major == SCSI_CDROM_MAJOR || name.starts_with("sr") {
        DeviceKind::Optical
    } else {
        DeviceKind::Disk
    }
}

fn transport_of(name: &str, kind: DeviceKind, sys: &Path, device_dir: Option<&Path>) -> Transport {
    if kind == DeviceKind::Loop {
        return Transport::Loop;
    }
    let path = device_dir.unwrap_or(sys).to_string_lossy().into_owned();
    if name.starts_with("nvme") || path.contains("/nvme") {
        Transport::Nvme
    } else if path.contains("/usb") {
        Transport::Usb
    } else if name.starts_with("mmcblk") || path.contains("/mmc_host/") {
        Transport::Mmc
    } else if path.contains("/ata") {
        Transport::Sata
    } else if path.contains("/virtio") {
        Transport::Virtio
    } else if device_dir.is_some() && path.contains("/host") && path.contains("/target") {
        Transport::Scsi
    } else {
        Transport::Other
    }
}

/// Walks up from a USB mass-storage SCSI device to the USB device itself (the directory with
/// `idVendor`), which carries the serial number the bridge itself does not report.
fn usb_device_dir(root: &SystemRoot, device_dir: &Path) -> Option<PathBuf> {
    let mut dir = device_dir.to_path_buf();
    while dir.pop() && dir.starts_with("/sys/devices") {
        if root.path(dir.join("idVendor")).exists() {
            return Some(dir);
        }
    }
    None
}

/// The serial number in SCSI VPD page 0x80 (Unit Serial Number): a 4-byte header whose byte 3
/// is the length, then ASCII (SPC-5 §7.7.18).
fn serial_from_vpd_pg80(page: &[u8]) -> Option<String> {
    if page.len() < 4 || page[1] != 0x80 {
        return None;
    }
    let len = usize::from(page[3]).min(page.len() - 4);
    let text = String::from_utf8_lossy(&page[4..4 + len]);
    let text = text.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    (!text.is_empty()).then(|| text.to_string())
}

/// The text fields of an ATA IDENTIFY DEVICE page.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AtaIdentifyStrings {
    /// Model number, words 27–46 (ACS-4 §7.13.6.2).
    model: Option<String>,
    /// Firmware revision, words 23–26.
    firmware: Option<String>,
}

impl AtaIdentifyStrings {
    /// From SCSI VPD page 0x89 (ATA Information, SAT-4 §10.4.4): byte 56 is the command that
    /// filled it (ECh IDENTIFY DEVICE, A1h IDENTIFY PACKET DEVICE) and bytes 60–571 hold the
    /// 512-byte IDENTIFY data. ATA strings store two characters per word, the first in the
    /// high byte: each byte pair is swapped.
    fn from_vpd_pg89(page: &[u8]) -> Option<Self> {
        const IDENTIFY: usize = 60;
        if page.len() < IDENTIFY + 512 || page[1] != 0x89 || !matches!(page[56], 0xEC | 0xA1) {
            return None;
        }
        let id = &page[IDENTIFY..IDENTIFY + 512];
        let text = |first_word: usize, words: usize| {
            let bytes = &id[first_word * 2..(first_word + words) * 2];
            let swapped: Vec<u8> = bytes.chunks_exact(2).flat_map(|w| [w[1], w[0]]).collect();
            let t = String::from_utf8_lossy(&swapped);
            let t = clean(
                t.trim_matches(|c: char| c.is_whitespace() || c == '\0')
                    .to_string(),
            );
            (!t.is_empty()).then_some(t)
        };
        Some(AtaIdentifyStrings {
            model: text(27, 20),
            firmware: text(23, 4),
        })
    }
}

/// `E:KEY=VALUE` lines of the udev database entry of a block device, when udev runs.
fn udev_properties(root: &SystemRoot, dev: DevNum) -> BTreeMap<String, String> {
    let path = root.path(format!("/run/udev/data/b{}:{}", dev.major, dev.minor));
    let Ok(text) = fs::read_to_string(path) else {
        return BTreeMap::new();
    };
    text.lines()
        .filter_map(|l| l.strip_prefix("E:"))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn list_dir(path: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Collapses runs of blanks (SCSI pads model strings) and trims.
fn clean(text: String) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_device_numbers() {
        assert_eq!(
            DevNum::parse("259:3\n"),
            Some(DevNum {
                major: 259,
                minor: 3
            })
        );
        assert_eq!(DevNum::parse("garbage"), None);
    }

    #[test]
    fn reads_the_whole_ata_model_from_vpd_page_0x89() {
        let mut page = vec![0u8; 572];
        page[1] = 0x89;
        page[3] = 0x38;
        page[56] = 0xEC;
        let put = |page: &mut Vec<u8>, word: usize, text: &str| {
            for (i, pair) in text.as_bytes().chunks(2).enumerate() {
                let at = 60 + (word + i) * 2;
                page[at] = pair.get(1).copied().unwrap_or(b' ');
                page[at + 1] = pair[0];
            }
        };
        put(&mut page, 27, "Samsung SSD 860 EVO 250GB               ");
        put(&mut page, 23, "RVT04B6Q");
        let strings = AtaIdentifyStrings::from_vpd_pg89(&page).unwrap();
        assert_eq!(strings.model.as_deref(), Some("Samsung SSD 860 EVO 250GB"));
        assert_eq!(strings.firmware.as_deref(), Some("RVT04B6Q"));
        // Truncated page, wrong page code, or a page not filled by IDENTIFY: nothing.
        assert_eq!(AtaIdentifyStrings::from_vpd_pg89(&page[..400]), None);
        page[56] = 0;
        assert_eq!(AtaIdentifyStrings::from_vpd_pg89(&page), None);
        page[56] = 0xEC;
        page[1] = 0x80;
        assert_eq!(AtaIdentifyStrings::from_vpd_pg89(&page), None);
    }

    #[test]
    fn reads_the_serial_from_vpd_page_0x80() {
        let mut page = vec![0x00, 0x80, 0x00, 0x0c];
        page.extend_from_slice(b"  ATL-SATA-01");
        page.truncate(4 + 12);
        assert_eq!(serial_from_vpd_pg80(&page).as_deref(), Some("ATL-SATA-0"));
        assert_eq!(serial_from_vpd_pg80(&[0, 0x83, 0, 2, b'a', b'b']), None);
        assert_eq!(serial_from_vpd_pg80(&[0, 0x80]), None);
        // A length byte beyond the page is clamped, not a panic.
        assert_eq!(
            serial_from_vpd_pg80(&[0, 0x80, 0, 200, b'X']).as_deref(),
            Some("X")
        );
    }

    #[test]
    fn cleans_padded_model_strings() {
        assert_eq!(clean("QEMU HARDDISK   ".into()), "QEMU HARDDISK");
        assert_eq!(clean("Samsung  SSD\t860".into()), "Samsung SSD 860");
    }
}
