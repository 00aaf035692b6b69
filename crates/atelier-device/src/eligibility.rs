//! May a device be wiped? Every refusal carries its reason, so the operator can see why.

use std::path::PathBuf;

use atelier_record::Transport;
use serde::Serialize;

use crate::usage::BOOT_MOUNT_POINTS;
use crate::{BlockDevice, DeviceKind, SystemRoot, SystemUsage};

/// Why the bench saw a device as the medium the system runs from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "evidence")]
pub enum BootEvidence {
    /// One of its filesystems is mounted where only the boot medium is mounted.
    MountedAt {
        /// The partition (or the device itself).
        partition: String,
        /// The mount point (`/`, `/run/live/medium`…).
        mount_point: PathBuf,
    },
    /// It carries the label of an Atelier stick.
    AtelierLabel {
        /// The labelled partition (or the device itself).
        partition: String,
    },
    /// The kernel command line names it as `root=`.
    KernelRoot {
        /// The named partition (or the device itself).
        partition: String,
    },
}

/// What stacks on a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HolderKind {
    /// An LVM logical volume.
    Lvm,
    /// A dm-crypt (LUKS) mapping.
    Crypt,
    /// Another device-mapper target.
    DeviceMapper,
    /// A software RAID array.
    SoftwareRaid,
    /// A loop device whose backing file is this device.
    Loop,
    /// Something else (bcache…).
    Other,
}

/// A reason the bench will not wipe a device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum Refusal {
    /// The system runs from it: the live stick, or the disk holding `/`.
    BootMedium {
        /// What showed it.
        evidence: BootEvidence,
    },
    /// A filesystem on it is mounted.
    Mounted {
        /// The mounted partition (or the device itself).
        partition: String,
        /// Where.
        mount_point: PathBuf,
    },
    /// It (or one of its partitions) is an active swap area.
    Swap {
        /// The swap partition (or the device itself).
        partition: String,
    },
    /// Another device is stacked on it (LVM, dm-crypt, RAID, loop).
    Held {
        /// The partition that is held (or the device itself).
        partition: String,
        /// The stacked device.
        holder: String,
        /// What the stacked device is.
        kind: HolderKind,
    },
    /// The kernel marks it read-only.
    ReadOnly,
    /// It has no capacity (empty card reader, no medium).
    ZeroSize,
    /// It is not a storage medium but a view of others (device-mapper, RAID) or of RAM.
    NotAMedium {
        /// What it is.
        kind: DeviceKind,
    },
}

/// Every reason not to wipe `device`, given what the system uses. Empty means it may be wiped.
pub fn assess(
    root: &SystemRoot,
    device: &BlockDevice,
    usage: &SystemUsage,
    all: &[BlockDevice],
) -> Vec<Refusal> {
    let mut refusals = Vec::new();
    if matches!(
        device.kind,
        DeviceKind::DeviceMapper | DeviceKind::SoftwareRaid | DeviceKind::Ram
    ) {
        refusals.push(Refusal::NotAMedium { kind: device.kind });
    }
    // The device itself and each partition, with their device numbers.
    let mut members: Vec<(&str, crate::DevNum, &[String])> =
        vec![(device.name.as_str(), device.dev, device.holders.as_slice())];
    members.extend(
        device
            .partitions
            .iter()
            .map(|p| (p.name.as_str(), p.dev, p.holders.as_slice())),
    );

    for (member, dev, holders) in &members {
        for mount in &usage.mounts {
            let by_number = mount.dev == *dev;
            let by_source = usage.mount_source_name(root, mount).as_deref() == Some(*member);
            if !(by_number || by_source) {
                continue;
            }
            let refusal = if is_boot_mount(&mount.mount_point) {
                Refusal::BootMedium {
                    evidence: BootEvidence::MountedAt {
                        partition: member.to_string(),
                        mount_point: mount.mount_point.clone(),
                    },
                }
            } else {
                Refusal::Mounted {
                    partition: member.to_string(),
                    mount_point: mount.mount_point.clone(),
                }
            };
            if !refusals.contains(&refusal) {
                refusals.push(refusal);
            }
        }
        if usage.atelier_labelled.iter().any(|n| n == member) {
            refusals.push(Refusal::BootMedium {
                evidence: BootEvidence::AtelierLabel {
                    partition: member.to_string(),
                },
            });
        }
        if usage.cmdline_root.iter().any(|n| n == member) {
            refusals.push(Refusal::BootMedium {
                evidence: BootEvidence::KernelRoot {
                    partition: member.to_string(),
                },
            });
        }
        if usage.swap_devices.iter().any(|n| n == member) {
            refusals.push(Refusal::Swap {
                partition: member.to_string(),
            });
        }
        for holder in *holders {
            refusals.push(Refusal::Held {
                partition: member.to_string(),
                holder: holder.clone(),
                kind: holder_kind(root, holder),
            });
        }
    }
    // A loop device whose backing "file" is this block device.
    for other in all {
        let Some(backing) = &other.loop_backing_file else {
            continue;
        };
        for (member, _, _) in &members {
            if backing == &PathBuf::from("/dev").join(member) {
                refusals.push(Refusal::Held {
                    partition: member.to_string(),
                    holder: other.name.clone(),
                    kind: HolderKind::Loop,
                });
            }
        }
    }
    // On the boot medium (e.g. the stick with its data partition mounted), "it is the boot
    // medium" is the reason; "unmount it first" would be wrong advice.
    if refusals
        .iter()
        .any(|r| matches!(r, Refusal::BootMedium { .. }))
    {
        refusals.retain(|r| !matches!(r, Refusal::Mounted { .. }));
    }
    if device.read_only {
        refusals.push(Refusal::ReadOnly);
    }
    if device.size_bytes == 0 {
        refusals.push(Refusal::ZeroSize);
    }
    refusals
}

/// True for the devices `--all-eligible` considers: physical disks. Loop devices, RAM, dm and
/// md devices are wiped only when named explicitly; removable USB / SD media only when the
/// caller includes them (they may be the technician's own sticks).
pub fn is_whole_bench_candidate(device: &BlockDevice, include_removable: bool) -> bool {
    device.kind == DeviceKind::Disk
        && device.transport != Transport::Loop
        && (include_removable || !(device.removable || device.transport == Transport::Usb))
}

/// True for the mount points of the medium the system runs from: `/`, `/boot…`, and
/// everything live-boot mounts under `/run/live/` (the stick, the squashfs root on its loop).
fn is_boot_mount(mount_point: &std::path::Path) -> bool {
    BOOT_MOUNT_POINTS
        .iter()
        .any(|p| mount_point == std::path::Path::new(p))
        || mount_point.starts_with("/run/live")
        || mount_point.starts_with("/lib/live/mount")
}

fn holder_kind(root: &SystemRoot, holder: &str) -> HolderKind {
    if holder.starts_with("md") {
        return HolderKind::SoftwareRaid;
    }
    if holder.starts_with("loop") {
        return HolderKind::Loop;
    }
    if holder.starts_with("dm-") {
        let uuid = root
            .read_attr(&root.path(format!("/sys/class/block/{holder}/dm/uuid")))
            .unwrap_or_default();
        return if uuid.starts_with("LVM-") {
            HolderKind::Lvm
        } else if uuid.starts_with("CRYPT-") {
            HolderKind::Crypt
        } else {
            HolderKind::DeviceMapper
        };
    }
    HolderKind::Other
}
