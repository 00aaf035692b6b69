//! Reading the partition table of a written target: MBR and GPT.
//!
//! Formats implemented:
//! - **MBR**: the classic DOS partition table — four 16-byte entries at byte 446 of sector 0,
//!   boot signature `55 AA` at 510, disk signature at 440 (the `xxxxxxxx` of
//!   `PARTUUID=xxxxxxxx-02`). Extended partitions (types `05`, `0F`, `85`) hold a chain of
//!   extended boot records; their logical partitions are numbered from 5, as Linux does.
//! - **GPT**: UEFI Specification 2.10, section 5.3 "GUID Partition Table (GPT) Disk Layout":
//!   the header at LBA 1 (signature `EFI PART`, CRC32 of the header and of the entry array),
//!   a protective MBR entry of type `EE`, entries of `SizeOfPartitionEntry` bytes with type
//!   and unique GUIDs (mixed-endian) and UTF-16LE names. When the primary header is damaged,
//!   the backup header in the last sector of the disk is read instead.
//!
//! Why not the `gptman` / `mbrman` crates: this module only reads, needs MBR and GPT behind
//! one small typed view, and must turn crafted or truncated input into an error without ever
//! allocating what a header claims (a CRC-valid header may still announce 2³² entries). The
//! fields needed are few. Writing partition tables is left to `sfdisk` (see [`super::golden`]).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use atelier_device::DevNum;

use super::CustomiseError;

/// The kind of partition table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    /// DOS / MBR partition table.
    Mbr,
    /// GUID Partition Table.
    Gpt,
}

/// What a partition's type field says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartitionKind {
    /// MBR system indicator byte (e.g. `0x0c` FAT32 LBA, `0x83` Linux).
    Mbr(u8),
    /// GPT partition type GUID, upper case (e.g. `0FC63DAF-8483-4772-8E79-3D69D8477DE4`).
    Gpt(String),
}

/// One partition of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// Number as Linux names it (`sda2` → 2; MBR logical partitions from 5).
    pub number: u32,
    /// First byte on the disk.
    pub start: u64,
    /// Length in bytes.
    pub size: u64,
    /// Type.
    pub kind: PartitionKind,
    /// `PARTUUID`: GPT unique partition GUID, or `xxxxxxxx-NN` from the MBR disk signature.
    pub partuuid: String,
    /// GPT partition name, when set.
    pub name: Option<String>,
    /// MBR: an extended partition (a container of logical partitions, not a file system).
    pub extended: bool,
}

/// GPT type of the EFI system partition (FAT).
pub const GPT_EFI_SYSTEM: &str = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
/// GPT type "Microsoft basic data" (FAT, NTFS, exFAT).
pub const GPT_BASIC_DATA: &str = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7";
/// GPT type "Linux filesystem data".
pub const GPT_LINUX_FS: &str = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";

impl Partition {
    /// One byte past the end.
    pub fn end(&self) -> u64 {
        self.start + self.size
    }

    /// Whether the type says FAT (MBR `01 04 06 0B 0C 0E`, GPT EFI system / basic data).
    pub fn is_fat_type(&self) -> bool {
        match &self.kind {
            PartitionKind::Mbr(t) => matches!(t, 0x01 | 0x04 | 0x06 | 0x0b | 0x0c | 0x0e),
            PartitionKind::Gpt(guid) => guid == GPT_EFI_SYSTEM || guid == GPT_BASIC_DATA,
        }
    }
}

/// A partition table as read from the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionTable {
    /// MBR or GPT.
    pub kind: TableKind,
    /// Logical sector size used to read it.
    pub sector_size: u32,
    /// Size of the target in bytes.
    pub disk_size: u64,
    /// MBR disk signature (`xxxxxxxx`) or GPT disk GUID.
    pub disk_id: String,
    /// GPT: whether the header read was the primary one (false: the primary was damaged and
    /// the backup was used). Always true for MBR.
    pub primary_ok: bool,
    /// GPT: the sector the primary header says the backup header is in (before growing a
    /// copied image it is not the last sector of the disk). `None` for MBR.
    pub backup_lba: Option<u64>,
    /// Partitions, in table order (MBR primary 1–4, then logical from 5).
    pub partitions: Vec<Partition>,
}

impl PartitionTable {
    /// The partition numbered `number`.
    pub fn get(&self, number: u32) -> Option<&Partition> {
        self.partitions.iter().find(|p| p.number == number)
    }

    /// The partition that ends last on the disk (extended containers excluded).
    pub fn last(&self) -> Option<&Partition> {
        self.partitions
            .iter()
            .filter(|p| !p.extended)
            .max_by_key(|p| p.end())
    }

    /// Whether the GPT backup header sits in the last sector of the disk (always true for MBR).
    pub fn backup_at_end(&self) -> bool {
        match self.backup_lba {
            Some(lba) => lba + 1 == self.disk_size / u64::from(self.sector_size),
            None => true,
        }
    }
}

/// Most partition-entry bytes a GPT may announce before we refuse it (1 MiB: 8192 entries of
/// 128 bytes; real tables use 128 entries).
const MAX_GPT_ENTRY_BYTES: u64 = 1 << 20;
/// Most logical partitions followed in an MBR extended chain.
const MAX_LOGICAL: u32 = 128;

/// Reads the partition table of `target` (a block device or an image file).
pub fn read_partition_table(target: &Path) -> Result<PartitionTable, CustomiseError> {
    let mut file = File::open(target)
        .map_err(|e| CustomiseError::io(format!("opening {}", target.display()), e))?;
    let meta = file
        .metadata()
        .map_err(|e| CustomiseError::io(format!("reading {}", target.display()), e))?;
    let (disk_size, sector_size) = if meta.file_type().is_block_device() {
        let size = file
            .seek(SeekFrom::End(0))
            .map_err(|e| CustomiseError::io(format!("sizing {}", target.display()), e))?;
        (size, block_device_sector_size(meta.rdev()).unwrap_or(512))
    } else {
        (meta.len(), 512)
    };
    read_table_from(&mut file, disk_size, sector_size).map_err(|reason| {
        CustomiseError::PartitionTable {
            target: target.to_path_buf(),
            reason,
        }
    })
}

/// The logical block size the kernel reports for a block device.
fn block_device_sector_size(rdev: u64) -> Option<u32> {
    let dev = DevNum::from_raw(rdev);
    let path = PathBuf::from(format!(
        "/sys/dev/block/{}:{}/queue/logical_block_size",
        dev.major, dev.minor
    ));
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Reads a partition table from `disk` of `disk_size` bytes, trying `sector_size` first and
/// then 4096 for a GPT laid out for 4Kn disks. Errors are plain reasons.
pub fn read_table_from<R: Read + Seek>(
    disk: &mut R,
    disk_size: u64,
    sector_size: u32,
) -> Result<PartitionTable, String> {
    if disk_size < 512 {
        return Err(format!("the target holds only {disk_size} bytes"));
    }
    let mut mbr = [0u8; 512];
    read_at(disk, 0, &mut mbr).map_err(|e| format!("reading sector 0: {e}"))?;
    if mbr[510] != 0x55 || mbr[511] != 0xaa {
        return Err("sector 0 has no boot signature (55 AA): no partition table".into());
    }
    let entries = mbr_entries(&mbr);
    if entries.iter().any(|e| e.kind == 0xee) {
        let mut last_err = String::new();
        for ss in [sector_size, 4096, 512] {
            if ss < 512 || !ss.is_power_of_two() {
                continue;
            }
            match read_gpt(disk, disk_size, ss) {
                Ok(table) => return Ok(table),
                Err(e) => last_err = e,
            }
        }
        return Err(format!("protective MBR found but no valid GPT: {last_err}"));
    }
    read_mbr(disk, disk_size, &mbr, entries)
}

#[derive(Debug, Clone, Copy)]
struct MbrEntry {
    kind: u8,
    start: u32,
    count: u32,
}

fn mbr_entries(sector: &[u8; 512]) -> [MbrEntry; 4] {
    std::array::from_fn(|i| {
        let e = &sector[446 + 16 * i..446 + 16 * (i + 1)];
        MbrEntry {
            kind: e[4],
            start: u32::from_le_bytes([e[8], e[9], e[10], e[11]]),
            count: u32::from_le_bytes([e[12], e[13], e[14], e[15]]),
        }
    })
}

fn is_extended(kind: u8) -> bool {
    matches!(kind, 0x05 | 0x0f | 0x85)
}

fn read_mbr<R: Read + Seek>(
    disk: &mut R,
    disk_size: u64,
    mbr: &[u8; 512],
    entries: [MbrEntry; 4],
) -> Result<PartitionTable, String> {
    // MBR addresses are in 512-byte units on every disk this bench meets (and the Pi boot
    // ROM requires it).
    const SS: u64 = 512;
    let signature = u32::from_le_bytes([mbr[440], mbr[441], mbr[442], mbr[443]]);
    let disk_id = format!("{signature:08x}");
    let mut partitions = Vec::new();
    let mut extended = None;
    for (i, e) in entries.iter().enumerate() {
        if e.kind == 0 || e.count == 0 {
            continue;
        }
        let number = i as u32 + 1;
        let p = Partition {
            number,
            start: u64::from(e.start) * SS,
            size: u64::from(e.count) * SS,
            kind: PartitionKind::Mbr(e.kind),
            partuuid: format!("{disk_id}-{number:02x}"),
            name: None,
            extended: is_extended(e.kind),
        };
        check_bounds(&p, disk_size)?;
        if p.extended && extended.is_none() {
            extended = Some(u64::from(e.start));
        }
        partitions.push(p);
    }
    if let Some(ext_start) = extended {
        let mut ebr_lba = ext_start;
        let mut seen = Vec::new();
        let mut number = 5u32;
        loop {
            if seen.contains(&ebr_lba) {
                return Err("the extended partition chain loops".into());
            }
            if number - 4 > MAX_LOGICAL {
                return Err(format!("more than {MAX_LOGICAL} logical partitions"));
            }
            seen.push(ebr_lba);
            let mut ebr = [0u8; 512];
            read_at(disk, ebr_lba * SS, &mut ebr).map_err(|e| {
                format!("reading the extended boot record at sector {ebr_lba}: {e}")
            })?;
            if ebr[510] != 0x55 || ebr[511] != 0xaa {
                return Err(format!(
                    "the extended boot record at sector {ebr_lba} has no boot signature"
                ));
            }
            let [logical, next, ..] = mbr_entries(&ebr);
            if logical.kind != 0 && logical.count != 0 {
                let p = Partition {
                    number,
                    start: (ebr_lba + u64::from(logical.start)) * SS,
                    size: u64::from(logical.count) * SS,
                    kind: PartitionKind::Mbr(logical.kind),
                    partuuid: format!("{disk_id}-{number:02x}"),
                    name: None,
                    extended: false,
                };
                check_bounds(&p, disk_size)?;
                partitions.push(p);
                number += 1;
            }
            if next.kind == 0 || next.count == 0 {
                break;
            }
            ebr_lba = ext_start + u64::from(next.start);
        }
    }
    if partitions.is_empty() {
        return Err("the MBR partition table is empty".into());
    }
    Ok(PartitionTable {
        kind: TableKind::Mbr,
        sector_size: 512,
        disk_size,
        disk_id,
        primary_ok: true,
        backup_lba: None,
        partitions,
    })
}

fn check_bounds(p: &Partition, disk_size: u64) -> Result<(), String> {
    if p.end() > disk_size {
        return Err(format!(
            "partition {} ends at byte {}, beyond the end of the target ({} bytes): the \
             image is truncated or the target too small",
            p.number,
            p.end(),
            disk_size
        ));
    }
    Ok(())
}

struct GptHeader {
    current_lba: u64,
    backup_lba: u64,
    disk_guid: [u8; 16],
    entries_lba: u64,
    entry_count: u32,
    entry_size: u32,
    entries_crc: u32,
}

fn read_gpt<R: Read + Seek>(
    disk: &mut R,
    disk_size: u64,
    sector_size: u32,
) -> Result<PartitionTable, String> {
    let ss = u64::from(sector_size);
    let sectors = disk_size / ss;
    if sectors < 3 {
        return Err("the target is too small for a GPT".into());
    }
    let primary = read_gpt_header(disk, 1, ss).and_then(|h| {
        let entries = read_gpt_entries(disk, &h, ss, disk_size)?;
        Ok((h, entries))
    });
    let (header, entries, primary_ok) = match primary {
        Ok((h, e)) => (h, e, true),
        Err(primary_err) => {
            let backup = read_gpt_header(disk, sectors - 1, ss).and_then(|h| {
                let entries = read_gpt_entries(disk, &h, ss, disk_size)?;
                Ok((h, entries))
            });
            match backup {
                Ok((h, e)) => (h, e, false),
                Err(backup_err) => {
                    return Err(format!(
                        "primary GPT header: {primary_err}; backup GPT header: {backup_err}"
                    ));
                }
            }
        }
    };
    let es = header.entry_size as usize;
    let mut partitions = Vec::new();
    for (i, e) in entries.chunks_exact(es).enumerate() {
        let type_guid: [u8; 16] = e[0..16].try_into().unwrap_or_default();
        if type_guid == [0u8; 16] {
            continue;
        }
        let first = u64::from_le_bytes(e[32..40].try_into().unwrap_or_default());
        let last = u64::from_le_bytes(e[40..48].try_into().unwrap_or_default());
        if last < first {
            return Err(format!("GPT entry {} ends before it starts", i + 1));
        }
        let name_units: Vec<u16> = e[56..128]
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .take_while(|&u| u != 0)
            .collect();
        let name = String::from_utf16_lossy(&name_units);
        let start = first
            .checked_mul(ss)
            .ok_or_else(|| format!("GPT entry {} starts past 2^64 bytes", i + 1))?;
        let size = (last - first + 1)
            .checked_mul(ss)
            .ok_or_else(|| format!("GPT entry {} is larger than 2^64 bytes", i + 1))?;
        let p = Partition {
            number: i as u32 + 1,
            start,
            size,
            kind: PartitionKind::Gpt(guid_string(&type_guid)),
            partuuid: guid_string(e[16..32].try_into().unwrap_or(&[0u8; 16])),
            name: (!name.is_empty()).then_some(name),
            extended: false,
        };
        check_bounds(&p, disk_size)?;
        partitions.push(p);
    }
    // The primary header knows where the backup is; the backup header knows itself.
    let backup_lba = if primary_ok {
        header.backup_lba
    } else {
        header.current_lba
    };
    Ok(PartitionTable {
        kind: TableKind::Gpt,
        sector_size,
        disk_size,
        disk_id: guid_string(&header.disk_guid),
        primary_ok,
        backup_lba: Some(backup_lba),
        partitions,
    })
}

fn read_gpt_header<R: Read + Seek>(disk: &mut R, lba: u64, ss: u64) -> Result<GptHeader, String> {
    let mut sector = vec![0u8; ss as usize];
    read_at(disk, lba * ss, &mut sector).map_err(|e| format!("reading sector {lba}: {e}"))?;
    if &sector[0..8] != b"EFI PART" {
        return Err(format!("no `EFI PART` signature in sector {lba}"));
    }
    let u32_at = |o: usize| u32::from_le_bytes(sector[o..o + 4].try_into().unwrap_or_default());
    let u64_at = |o: usize| u64::from_le_bytes(sector[o..o + 8].try_into().unwrap_or_default());
    let header_size = u32_at(12) as usize;
    if !(92..=sector.len()).contains(&header_size) {
        return Err(format!("header size {header_size} is out of range"));
    }
    let stored_crc = u32_at(16);
    let mut hashed = sector[..header_size].to_vec();
    hashed[16..20].fill(0);
    let crc = crc32fast::hash(&hashed);
    if crc != stored_crc {
        return Err(format!(
            "header CRC32 is {stored_crc:08x}, computed {crc:08x} (damaged header)"
        ));
    }
    let header = GptHeader {
        current_lba: u64_at(24),
        backup_lba: u64_at(32),
        disk_guid: sector[56..72].try_into().unwrap_or_default(),
        entries_lba: u64_at(72),
        entry_count: u32_at(80),
        entry_size: u32_at(84),
        entries_crc: u32_at(88),
    };
    if header.current_lba != lba {
        return Err(format!(
            "the header in sector {lba} says it is in sector {}",
            header.current_lba
        ));
    }
    if header.entry_size < 128 || !header.entry_size.is_power_of_two() {
        return Err(format!(
            "partition entry size {} is not 128 × 2^n",
            header.entry_size
        ));
    }
    Ok(header)
}

fn read_gpt_entries<R: Read + Seek>(
    disk: &mut R,
    header: &GptHeader,
    ss: u64,
    disk_size: u64,
) -> Result<Vec<u8>, String> {
    let bytes = u64::from(header.entry_count) * u64::from(header.entry_size);
    if bytes > MAX_GPT_ENTRY_BYTES {
        return Err(format!(
            "{} partition entries of {} bytes is more than this reader accepts",
            header.entry_count, header.entry_size
        ));
    }
    let offset = header
        .entries_lba
        .checked_mul(ss)
        .filter(|o| o.saturating_add(bytes) <= disk_size)
        .ok_or_else(|| {
            format!(
                "the partition entries (sector {}) lie beyond the end of the target",
                header.entries_lba
            )
        })?;
    let mut entries = vec![0u8; bytes as usize];
    read_at(disk, offset, &mut entries)
        .map_err(|e| format!("reading the partition entries: {e}"))?;
    let crc = crc32fast::hash(&entries);
    if crc != header.entries_crc {
        return Err(format!(
            "partition entry array CRC32 is {:08x}, computed {crc:08x} (damaged table)",
            header.entries_crc
        ));
    }
    Ok(entries)
}

/// Formats a GPT GUID (first three fields little-endian) in upper case.
fn guid_string(b: &[u8; 16]) -> String {
    format!(
        "{:02X}{:02X}{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}",
        b[3],
        b[2],
        b[1],
        b[0],
        b[5],
        b[4],
        b[7],
        b[6],
        b[8],
        b[9],
        b[10],
        b[11],
        b[12],
        b[13],
        b[14],
        b[15]
    )
}

fn read_at<R: Read + Seek>(disk: &mut R, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
    disk.seek(SeekFrom::Start(offset))?;
    disk.read_exact(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn mbr_with(entries: &[(u8, u32, u32)]) -> Vec<u8> {
        let mut disk = vec![0u8; 1 << 20];
        disk[440..444].copy_from_slice(&0x1234_abcdu32.to_le_bytes());
        for (i, (kind, start, count)) in entries.iter().enumerate() {
            let e = &mut disk[446 + 16 * i..446 + 16 * (i + 1)];
            e[4] = *kind;
            e[8..12].copy_from_slice(&start.to_le_bytes());
            e[12..16].copy_from_slice(&count.to_le_bytes());
        }
        disk[510] = 0x55;
        disk[511] = 0xaa;
        disk
    }

    #[test]
    fn mbr_primary_partitions_and_partuuid() {
        let disk = mbr_with(&[(0x0c, 8, 100), (0x83, 108, 200)]);
        let t = read_table_from(&mut Cursor::new(&disk), disk.len() as u64, 512).unwrap();
        assert_eq!(t.kind, TableKind::Mbr);
        assert_eq!(t.disk_id, "1234abcd");
        assert_eq!(t.partitions.len(), 2);
        assert_eq!(t.partitions[0].start, 8 * 512);
        assert!(t.partitions[0].is_fat_type());
        assert_eq!(t.partitions[1].partuuid, "1234abcd-02");
        assert_eq!(t.last().unwrap().number, 2);
    }

    #[test]
    fn garbage_and_truncation_are_errors_not_panics() {
        let zeros = vec![0u8; 4096];
        assert!(read_table_from(&mut Cursor::new(&zeros), 4096, 512).is_err());
        let short = vec![0u8; 100];
        assert!(read_table_from(&mut Cursor::new(&short), 100, 512).is_err());
        // Partition past the end of the disk.
        let disk = mbr_with(&[(0x83, 8, 1_000_000)]);
        let err = read_table_from(&mut Cursor::new(&disk), disk.len() as u64, 512).unwrap_err();
        assert!(err.contains("beyond the end"), "{err}");
        // Protective MBR with no GPT behind it.
        let disk = mbr_with(&[(0xee, 1, 2047)]);
        let err = read_table_from(&mut Cursor::new(&disk), disk.len() as u64, 512).unwrap_err();
        assert!(err.contains("no valid GPT"), "{err}");
        // Random bytes with a boot signature.
        let mut noise: Vec<u8> = (0..(1u32 << 16))
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        noise[510] = 0x55;
        noise[511] = 0xaa;
        let _ = read_table_from(&mut Cursor::new(&noise), noise.len() as u64, 512);
    }

    #[test]
    fn extended_chain_loop_is_refused() {
        let mut disk = mbr_with(&[(0x05, 100, 1000)]);
        // EBR at sector 100 pointing to itself as the next EBR.
        let ebr = 100 * 512;
        disk[ebr + 446 + 4] = 0x83;
        disk[ebr + 446 + 8..ebr + 446 + 12].copy_from_slice(&1u32.to_le_bytes());
        disk[ebr + 446 + 12..ebr + 446 + 16].copy_from_slice(&10u32.to_le_bytes());
        disk[ebr + 462 + 4] = 0x05;
        disk[ebr + 462 + 8..ebr + 462 + 12].copy_from_slice(&0u32.to_le_bytes());
        disk[ebr + 462 + 12..ebr + 462 + 16].copy_from_slice(&10u32.to_le_bytes());
        disk[ebr + 510] = 0x55;
        disk[ebr + 511] = 0xaa;
        let err = read_table_from(&mut Cursor::new(&disk), disk.len() as u64, 512).unwrap_err();
        assert!(err.contains("loops"), "{err}");
    }

    #[test]
    fn guid_is_mixed_endian() {
        let b = [
            0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11, 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e,
            0xc9, 0x3b,
        ];
        assert_eq!(guid_string(&b), GPT_EFI_SYSTEM);
    }
}
