//! What the running system is using: mounted filesystems, swap areas, the kernel command line
//! and the labels of filesystems (to find the boot stick).

use std::fs;
use std::path::{Path, PathBuf};

use crate::{DevNum, SystemRoot};

/// One line of `/proc/self/mountinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    /// Device number of the mounted filesystem (virtual for some filesystems, e.g. btrfs).
    pub dev: DevNum,
    /// Where it is mounted.
    pub mount_point: PathBuf,
    /// Filesystem type.
    pub fs_type: String,
    /// Mount source as the kernel reports it (e.g. `/dev/sda1`).
    pub source: String,
}

/// A snapshot of what the running system uses, read from a [`SystemRoot`].
#[derive(Debug, Clone, Default)]
pub struct SystemUsage {
    /// Mounted filesystems.
    pub mounts: Vec<MountEntry>,
    /// Kernel names of block devices used as swap (`zram0`, `sda2`…).
    pub swap_devices: Vec<String>,
    /// The kernel command line.
    pub cmdline: String,
    /// Kernel names of block devices that carry an Atelier stick label (`ATELIER`,
    /// `ATELIER-DATA`), found through `/dev/disk/by-label`.
    pub atelier_labelled: Vec<String>,
    /// Kernel names of block devices named by `root=` on the kernel command line.
    pub cmdline_root: Vec<String>,
}

/// Mount points that only the medium the system booted from is mounted on.
pub(crate) const BOOT_MOUNT_POINTS: &[&str] = &[
    "/",
    "/boot",
    "/boot/efi",
    "/efi",
    "/run/live/medium",
    "/lib/live/mount/medium",
    "/run/initramfs/live",
    "/cdrom",
];

/// Filesystem labels of the Atelier stick: the live system and its data partition.
pub const ATELIER_LABELS: &[&str] = &["ATELIER", "ATELIER-DATA"];

impl SystemUsage {
    /// Reads mounts, swaps, the command line and stick labels under `root`. Missing files give
    /// empty lists (a captured tree may not have them).
    pub fn read(root: &SystemRoot) -> Self {
        let mounts = fs::read_to_string(root.path("/proc/self/mountinfo"))
            .map(|t| parse_mountinfo(&t))
            .unwrap_or_default();
        let swap_devices = fs::read_to_string(root.path("/proc/swaps"))
            .map(|t| {
                parse_swaps(&t)
                    .iter()
                    .filter_map(|path| device_name_of(root, path))
                    .collect()
            })
            .unwrap_or_default();
        let cmdline = fs::read_to_string(root.path("/proc/cmdline")).unwrap_or_default();
        let atelier_labelled = ATELIER_LABELS
            .iter()
            .filter_map(|label| device_name_of(root, &format!("/dev/disk/by-label/{label}")))
            .collect();
        let cmdline_root = cmdline
            .split_whitespace()
            .filter_map(|arg| arg.strip_prefix("root="))
            .filter_map(|spec| device_name_of(root, &root_spec_to_path(spec)?))
            .collect();
        Self {
            mounts,
            swap_devices,
            cmdline,
            atelier_labelled,
            cmdline_root,
        }
    }

    /// Kernel device name of a mount's source, when it is a block device node.
    pub(crate) fn mount_source_name(
        &self,
        root: &SystemRoot,
        entry: &MountEntry,
    ) -> Option<String> {
        entry
            .source
            .starts_with("/dev/")
            .then(|| device_name_of(root, &entry.source))
            .flatten()
    }
}

/// `root=UUID=…`, `root=LABEL=…`, `root=PARTUUID=…` or `root=/dev/…` as a path under `/dev`.
fn root_spec_to_path(spec: &str) -> Option<String> {
    if let Some(uuid) = spec.strip_prefix("UUID=") {
        Some(format!("/dev/disk/by-uuid/{uuid}"))
    } else if let Some(label) = spec.strip_prefix("LABEL=") {
        Some(format!("/dev/disk/by-label/{label}"))
    } else if let Some(partuuid) = spec.strip_prefix("PARTUUID=") {
        Some(format!("/dev/disk/by-partuuid/{partuuid}"))
    } else if spec.starts_with("/dev/") {
        Some(spec.to_string())
    } else {
        None
    }
}

/// Resolves a `/dev/…` path (following links such as `/dev/mapper/x` or
/// `/dev/disk/by-label/x` inside the root) to a kernel device name. Without the node in the
/// root, the last component is taken as the name.
fn device_name_of(root: &SystemRoot, dev_path: &str) -> Option<String> {
    let path = Path::new(dev_path);
    if !dev_path.starts_with("/dev/") {
        return None;
    }
    let resolved = if root.path(path).exists() || fs::symlink_metadata(root.path(path)).is_ok() {
        root.resolve(path)?
    } else if dev_path.starts_with("/dev/disk/") || dev_path.starts_with("/dev/mapper/") {
        // A link that does not exist in this root names nothing we can find.
        return None;
    } else {
        path.to_path_buf()
    };
    let name = resolved.file_name()?.to_string_lossy().into_owned();
    Some(name)
}

/// Parses `/proc/self/mountinfo` (proc(5)); mount points are unescaped (`\040` → space).
pub(crate) fn parse_mountinfo(text: &str) -> Vec<MountEntry> {
    text.lines()
        .filter_map(|line| {
            let (before, after) = line.split_once(" - ")?;
            let fields: Vec<&str> = before.split(' ').collect();
            let mut rest = after.split(' ');
            let fs_type = rest.next()?.to_string();
            let source = unescape(rest.next().unwrap_or(""));
            Some(MountEntry {
                dev: DevNum::parse(fields.get(2)?)?,
                mount_point: PathBuf::from(unescape(fields.get(4)?)),
                fs_type,
                source,
            })
        })
        .collect()
}

/// The file names of `/proc/swaps` (the header line is skipped).
pub(crate) fn parse_swaps(text: &str) -> Vec<String> {
    text.lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().next())
        .map(unescape)
        .collect()
}

fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)));
        if let Some(digits) = octal {
            let value = digits
                .iter()
                .fold(0u8, |acc, d| acc.wrapping_mul(8).wrapping_add(d - b'0'));
            out.push(value);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mountinfo_lines() {
        let text = "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard\n\
                    40 27 8:17 / /media/my\\040disk rw - vfat /dev/sdb1 rw\n\
                    22 27 0:21 / /proc rw,relatime - proc proc rw\n";
        let mounts = parse_mountinfo(text);
        assert_eq!(mounts.len(), 3);
        assert_eq!(
            mounts[0].dev,
            DevNum {
                major: 254,
                minor: 0
            }
        );
        assert_eq!(mounts[0].source, "/dev/vda");
        assert_eq!(mounts[1].mount_point, PathBuf::from("/media/my disk"));
        assert_eq!(mounts[2].fs_type, "proc");
    }

    #[test]
    fn parses_swaps() {
        let text = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n\
                    /dev/zram0                              partition\t4194300\t\t0\t\t100\n\
                    /swap\\040file file 1024 0 -2\n";
        assert_eq!(parse_swaps(text), vec!["/dev/zram0", "/swap file"]);
    }

    #[test]
    fn swap_files_are_not_devices() {
        let dir = tempfile::tempdir().unwrap();
        let root = SystemRoot::at(dir.path());
        assert_eq!(device_name_of(&root, "/swapfile"), None);
        assert_eq!(device_name_of(&root, "/dev/sda2").as_deref(), Some("sda2"));
        assert_eq!(device_name_of(&root, "/dev/disk/by-label/NOPE"), None);
    }
}
