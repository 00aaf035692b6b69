//! Golden Linux images: a copy of one reference system, adapted to its new disk and machine.
//!
//! 1. **Grow** ([`grow_last_partition`]): a GPT's backup header is moved to the last sector
//!    (`sfdisk --relocate gpt-bak-std`), then the last partition is extended to the end of the
//!    disk keeping its start, type, PARTUUID and name (`sfdisk -N <n>` with `, +`). Both MBR
//!    and GPT go through `sfdisk` (util-linux), the tool the rest of the bench already needs.
//!    Its ext2/3/4 file system is then checked and grown offline (`e2fsck -f -y`,
//!    `resize2fs`) through an offset loop device over the partition.
//! 2. **Reset the machine's identity** ([`customise_golden_image`]), on the root file system
//!    mounted for a moment in a private directory (the host kernel has ext4; a mount keeps
//!    owners, modes and inodes of the edited files as they were, where `debugfs -w` would
//!    need every attribute rebuilt by hand). Following systemd's "Building Images" guidance
//!    (systemd.io/BUILDING_IMAGES):
//!    - `/etc/machine-id` becomes `uninitialized`: systemd generates a new ID at first boot
//!      and runs its first-boot units (`ConditionFirstBoot=`); `/var/lib/dbus/machine-id` is
//!      removed when it is a copy (a symlink to `/etc/machine-id` is kept);
//!    - `/var/lib/systemd/random-seed` and `/var/lib/systemd/credential.secret` are removed;
//!    - the SSH host keys `/etc/ssh/ssh_host_*` are removed, and a one-shot unit that runs
//!      `ssh-keygen -A` before the SSH server at boot is installed and enabled (Debian and
//!      Ubuntu do not regenerate missing host keys by themselves);
//!    - saved NetworkManager connections (`/etc/NetworkManager/system-connections/*`) and
//!      persistent udev network names (`/etc/udev/rules.d/70-persistent-net.rules`) are
//!      removed;
//!    - the host name is written to `/etc/hostname` and the `127.0.1.1` line of `/etc/hosts`.
//!
//! No path inside the image is followed through a symbolic link: the image's links point
//! into the image, and resolving them on the bench would reach the bench's own files.

use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use atelier_record::Customisation;

use super::CustomiseError;
use super::partition::{Partition, PartitionTable, TableKind, read_partition_table};
use super::rpi::HostnamePattern;
use super::tools::{self, E2FSCK, OffsetLoop, PARTX, RESIZE2FS, SFDISK, TempMount, args};

/// What to do to a golden image after it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoldenSettings {
    /// Host name pattern (`atelier-{n:03}`); `None` keeps the image's.
    pub hostname: Option<HostnamePattern>,
    /// Grow the last partition and its file system to the end of the disk.
    pub grow: bool,
}

impl Default for GoldenSettings {
    fn default() -> Self {
        Self {
            hostname: None,
            grow: true,
        }
    }
}

/// What growing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrowOutcome {
    /// The partition grown.
    pub partition: u32,
    /// Its size before, in bytes.
    pub partition_before: u64,
    /// Its size after, in bytes.
    pub partition_after: u64,
    /// Its file system's size before, in bytes.
    pub filesystem_before: u64,
    /// Its file system's size after, in bytes.
    pub filesystem_after: u64,
}

/// The size and kind of an ext2/3/4 file system, from its superblock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ExtInfo {
    bytes: u64,
}

/// Reads the ext2/3/4 superblock (1024 bytes into the partition; magic `EF53` at 0x38; block
/// count at 0x04 and, with the 64bit feature, 0x150; block size 1024 << s_log_block_size).
fn ext_info(target: &Path, partition: &Partition) -> Result<Option<ExtInfo>, CustomiseError> {
    let mut file = fs::File::open(target)
        .map_err(|e| CustomiseError::io(format!("opening {}", target.display()), e))?;
    let mut sb = [0u8; 1024];
    if partition.size < 2048 {
        return Ok(None);
    }
    use std::io::{Seek, SeekFrom};
    file.seek(SeekFrom::Start(partition.start + 1024))
        .and_then(|_| file.read_exact(&mut sb))
        .map_err(|e| {
            CustomiseError::io(
                format!(
                    "reading the superblock of partition {} on {}",
                    partition.number,
                    target.display()
                ),
                e,
            )
        })?;
    let u32_at = |o: usize| u32::from_le_bytes([sb[o], sb[o + 1], sb[o + 2], sb[o + 3]]);
    if u16::from_le_bytes([sb[0x38], sb[0x39]]) != 0xef53 {
        return Ok(None);
    }
    let log = u32_at(0x18);
    if log > 6 {
        return Ok(None);
    }
    let block = 1024u64 << log;
    let mut blocks = u64::from(u32_at(0x04));
    if u32_at(0x60) & 0x80 != 0 {
        blocks |= u64::from(u32_at(0x150)) << 32;
    }
    Ok(Some(ExtInfo {
        bytes: blocks * block,
    }))
}

/// Grows the last partition of `target` to the end of the disk, then its ext2/3/4 file
/// system. A GPT's backup header is moved to the end first.
pub fn grow_last_partition(target: &Path) -> Result<GrowOutcome, CustomiseError> {
    tools::ensure_not_mounted(target)?;
    let table = read_partition_table(target)?;
    let last = last_partition(&table, target)?.clone();
    let Some(before_fs) = ext_info(target, &last)? else {
        return Err(CustomiseError::Unsupported {
            target: target.to_path_buf(),
            reason: format!(
                "the last partition ({}) holds no ext2/3/4 file system: only ext file \
                 systems are grown; keep the disk as it is or grow it by hand",
                last.number
            ),
        });
    };
    let target_os = target.as_os_str();
    if table.kind == TableKind::Gpt && !table.backup_at_end() {
        SFDISK.run(
            &args(&[
                &"--no-reread",
                &"--no-tell-kernel",
                &"--relocate",
                &"gpt-bak-std",
                &target_os,
            ]),
            None,
            &[0],
        )?;
    }
    let number = last.number.to_string();
    SFDISK.run(
        &args(&[
            &"--no-reread",
            &"--no-tell-kernel",
            &"--wipe",
            &"never",
            &"--wipe-partitions",
            &"never",
            &"-N",
            &number,
            &target_os,
        ]),
        Some(", +\n"),
        &[0],
    )?;
    let after_table = read_partition_table(target)?;
    let grown = after_table
        .get(last.number)
        .filter(|p| p.start == last.start && p.kind == last.kind && p.partuuid == last.partuuid)
        .cloned()
        .ok_or_else(|| CustomiseError::Verification {
            target: target.to_path_buf(),
            what: format!("partition {}", last.number),
            reason: "its start, type or PARTUUID changed while growing".into(),
        })?;
    if tools::is_block_device(target) {
        // Let the kernel see the new size; the offset loop below does not depend on it.
        let _ = PARTX.run(
            &args(&[&"--update", &"--nr", &number, &target_os]),
            None,
            &[0],
        );
    }

    let lo = OffsetLoop::attach(target, grown.start, grown.size)?;
    let checked = E2FSCK
        .run(&args(&[&"-f", &"-y", &lo.path()]), None, &[0, 1])
        .and_then(|_| RESIZE2FS.run(&args(&[&lo.path()]), None, &[0]));
    let detached = lo.detach();
    checked?;
    detached?;
    tools_sync(target)?;
    let after_fs = ext_info(target, &grown)?.ok_or_else(|| CustomiseError::Verification {
        target: target.to_path_buf(),
        what: format!("the file system of partition {}", grown.number),
        reason: "no ext superblock after resize2fs".into(),
    })?;
    Ok(GrowOutcome {
        partition: grown.number,
        partition_before: last.size,
        partition_after: grown.size,
        filesystem_before: before_fs.bytes,
        filesystem_after: after_fs.bytes,
    })
}

fn tools_sync(target: &Path) -> Result<(), CustomiseError> {
    super::fat::sync_target(target, tools::is_block_device(target))
}

fn last_partition<'t>(
    table: &'t PartitionTable,
    target: &Path,
) -> Result<&'t Partition, CustomiseError> {
    if !table.primary_ok {
        return Err(CustomiseError::Unsupported {
            target: target.to_path_buf(),
            reason: "the primary GPT header is damaged: repair the table first (`sgdisk -v`, \
                     then `gdisk` recovery) or write the image again"
                .into(),
        });
    }
    let last = table.last().ok_or_else(|| CustomiseError::Unsupported {
        target: target.to_path_buf(),
        reason: "the partition table has no partition".into(),
    })?;
    if table.kind == TableKind::Mbr && last.number > 4 {
        return Err(CustomiseError::Unsupported {
            target: target.to_path_buf(),
            reason: format!(
                "the last partition ({}) is a logical partition inside an extended one: \
                 growing it is not supported; grow it by hand with fdisk",
                last.number
            ),
        });
    }
    Ok(last)
}

/// Adapts a written golden image to its disk and its new machine (see the module docs):
/// grows the last partition when `settings.grow`, sets the host name from the pattern with
/// `counter`, and resets the per-machine identities. Returns what the record keeps.
pub fn customise_golden_image(
    target: &Path,
    settings: &GoldenSettings,
    counter: u32,
) -> Result<Customisation, CustomiseError> {
    let hostname = settings
        .hostname
        .as_ref()
        .map(|p| p.render(counter))
        .transpose()?;
    tools::ensure_not_mounted(target)?;
    let mut changes = Vec::new();
    if settings.grow {
        let table = read_partition_table(target)?;
        let last = last_partition(&table, target)?;
        if ext_info(target, last)?.is_some() {
            let g = grow_last_partition(target)?;
            if g.partition_after > g.partition_before {
                changes.push(format!(
                    "partition {} grown from {} to {}",
                    g.partition,
                    human(g.partition_before),
                    human(g.partition_after)
                ));
            } else {
                changes.push(format!("partition {} already fills the disk", g.partition));
            }
            if g.filesystem_after != g.filesystem_before {
                changes.push(format!(
                    "ext4 file system grown from {} to {}",
                    human(g.filesystem_before),
                    human(g.filesystem_after)
                ));
            }
        } else {
            changes.push(format!(
                "last partition ({}) holds no ext file system: not grown",
                last.number
            ));
        }
    }

    let table = read_partition_table(target)?;
    let mut candidates: Vec<&Partition> = table.partitions.iter().filter(|p| !p.extended).collect();
    candidates.sort_by_key(|p| std::cmp::Reverse(p.end()));
    let mut edited = None;
    for p in candidates {
        if ext_info(target, p)?.is_none() {
            continue;
        }
        let lo = OffsetLoop::attach(target, p.start, p.size)?;
        let result = TempMount::mount(lo.path(), "ext4").and_then(|mount| {
            let root = mount.root().to_path_buf();
            let outcome = if is_root_fs(&root) {
                reset_identity(&root, hostname.as_deref()).map(Some)
            } else {
                Ok(None)
            };
            let unmounted = mount.unmount();
            let outcome = outcome?;
            unmounted?;
            Ok(outcome)
        });
        let detached = lo.detach();
        let outcome = result?;
        detached?;
        if let Some(lines) = outcome {
            changes.push(format!("root file system: partition {}", p.number));
            changes.extend(lines);
            edited = Some(p.number);
            break;
        }
    }
    if edited.is_none() {
        return Err(CustomiseError::Unsupported {
            target: target.to_path_buf(),
            reason: "no ext2/3/4 partition holds a Linux root file system (/etc/os-release or \
                     /etc/fstab): is this a Linux disk image?"
                .into(),
        });
    }
    tools_sync(target)?;
    Ok(Customisation {
        format: "golden-image".into(),
        hostname,
        changes,
        ..Customisation::default()
    })
}

fn human(bytes: u64) -> String {
    const GIB: f64 = (1u64 << 30) as f64;
    const MIB: f64 = (1u64 << 20) as f64;
    if bytes as f64 >= GIB {
        format!("{:.1} GiB", bytes as f64 / GIB)
    } else {
        format!("{:.1} MiB", bytes as f64 / MIB)
    }
}

fn is_root_fs(root: &Path) -> bool {
    ["/etc/os-release", "/etc/fstab"]
        .iter()
        .any(|p| safe_path(root, p).is_ok_and(|p| fs::symlink_metadata(p).is_ok()))
}

/// `root` + `absolute`, refusing any existing component on the way that is a symbolic link
/// (the last component itself is checked by the callers: removed as a link, or opened with
/// `O_NOFOLLOW`).
fn safe_path(root: &Path, absolute: &str) -> Result<PathBuf, CustomiseError> {
    let relative = Path::new(absolute.trim_start_matches('/'));
    let mut path = root.to_path_buf();
    let parts: Vec<Component> = relative.components().collect();
    for (i, part) in parts.iter().enumerate() {
        let Component::Normal(name) = part else {
            return Err(CustomiseError::Unsupported {
                target: root.to_path_buf(),
                reason: format!("unexpected path {absolute}"),
            });
        };
        path.push(name);
        if i + 1 < parts.len()
            && let Ok(meta) = fs::symlink_metadata(&path)
            && meta.file_type().is_symlink()
        {
            return Err(CustomiseError::Unsupported {
                target: root.to_path_buf(),
                reason: format!(
                    "{} is a symbolic link in the image; refusing to follow it",
                    path.strip_prefix(root).unwrap_or(&path).display()
                ),
            });
        }
    }
    Ok(path)
}

/// Replaces the content of a regular file (or creates it with `mode`), never through a link.
fn write_file(root: &Path, absolute: &str, data: &[u8], mode: u32) -> Result<(), CustomiseError> {
    let path = safe_path(root, absolute)?;
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .map_err(|e| CustomiseError::io(format!("writing {absolute} in the image"), e))?;
    file.write_all(data)
        .and_then(|_| file.sync_all())
        .map_err(|e| CustomiseError::io(format!("writing {absolute} in the image"), e))
}

fn read_file(root: &Path, absolute: &str) -> Result<Option<String>, CustomiseError> {
    let path = safe_path(root, absolute)?;
    match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
    {
        Ok(mut f) => {
            let mut s = String::new();
            f.read_to_string(&mut s)
                .map_err(|e| CustomiseError::io(format!("reading {absolute} in the image"), e))?;
            Ok(Some(s))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CustomiseError::io(
            format!("reading {absolute} in the image"),
            e,
        )),
    }
}

/// Removes a file or link if present; true when something was removed.
fn remove(root: &Path, absolute: &str) -> Result<bool, CustomiseError> {
    let path = safe_path(root, absolute)?;
    match fs::remove_file(&path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(CustomiseError::io(
            format!("removing {absolute} in the image"),
            e,
        )),
    }
}

/// Removes the entries of a directory whose names start with `prefix` (files and links
/// only); returns how many.
fn remove_matching(root: &Path, dir: &str, prefix: &str) -> Result<usize, CustomiseError> {
    let path = safe_path(root, dir)?;
    match fs::symlink_metadata(&path) {
        Ok(m) if m.is_dir() => {}
        _ => return Ok(0),
    }
    let entries = fs::read_dir(&path)
        .map_err(|e| CustomiseError::io(format!("listing {dir} in the image"), e))?;
    let mut removed = 0;
    for entry in entries {
        let entry =
            entry.map_err(|e| CustomiseError::io(format!("listing {dir} in the image"), e))?;
        let name = entry.file_name();
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if name.to_string_lossy().starts_with(prefix) && !is_dir {
            fs::remove_file(entry.path()).map_err(|e| {
                CustomiseError::io(
                    format!("removing {dir}/{} in the image", name.to_string_lossy()),
                    e,
                )
            })?;
            removed += 1;
        }
    }
    Ok(removed)
}

const SSH_KEYGEN_UNIT: &str = "atelier-ssh-keygen.service";

/// The unit that recreates the SSH host keys at first boot.
fn ssh_keygen_unit() -> String {
    [
        "[Unit]",
        "Description=Create the SSH host keys removed when this system was deployed",
        "ConditionPathExistsGlob=!/etc/ssh/ssh_host_*_key",
        "Before=ssh.service sshd.service",
        "",
        "[Service]",
        "Type=oneshot",
        "ExecStart=/usr/bin/ssh-keygen -A",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ]
    .join("\n")
}

/// The per-machine resets on a mounted root file system; returns the change lines.
fn reset_identity(root: &Path, hostname: Option<&str>) -> Result<Vec<String>, CustomiseError> {
    let mut changes = Vec::new();
    if let Some(h) = hostname {
        write_file(root, "/etc/hostname", format!("{h}\n").as_bytes(), 0o644)?;
        let hosts = read_file(root, "/etc/hosts")?.unwrap_or_default();
        write_file(
            root,
            "/etc/hosts",
            set_hosts_name(&hosts, h).as_bytes(),
            0o644,
        )?;
        changes.push(format!("host name set to {h}"));
    }

    let machine_id = safe_path(root, "/etc/machine-id")?;
    match fs::symlink_metadata(&machine_id) {
        Ok(m) if m.file_type().is_symlink() => {
            changes.push("/etc/machine-id is a symbolic link: left as it is".into());
        }
        _ => {
            write_file(root, "/etc/machine-id", b"uninitialized\n", 0o444)?;
            changes.push("machine-id reset to \"uninitialized\" (new ID at first boot)".into());
        }
    }
    let dbus_id = safe_path(root, "/var/lib/dbus/machine-id")?;
    if fs::symlink_metadata(&dbus_id).is_ok_and(|m| m.file_type().is_file()) {
        remove(root, "/var/lib/dbus/machine-id")?;
        changes.push("D-Bus machine-id copy removed".into());
    }
    for seed in [
        "/var/lib/systemd/random-seed",
        "/var/lib/systemd/credential.secret",
    ] {
        if remove(root, seed)? {
            changes.push(format!("{seed} removed"));
        }
    }

    let keys = remove_matching(root, "/etc/ssh", "ssh_host_")?;
    if keys > 0 {
        changes.push(format!("SSH host keys removed ({keys} files)"));
    }
    let sshd_config = safe_path(root, "/etc/ssh/sshd_config")?;
    let keygen = safe_path(root, "/usr/bin/ssh-keygen")?;
    if fs::symlink_metadata(&sshd_config).is_ok() && fs::symlink_metadata(&keygen).is_ok() {
        let unit = format!("/etc/systemd/system/{SSH_KEYGEN_UNIT}");
        let wants_dir = safe_path(root, "/etc/systemd/system/multi-user.target.wants")?;
        fs::create_dir_all(&wants_dir)
            .map_err(|e| CustomiseError::io("creating multi-user.target.wants in the image", e))?;
        write_file(root, &unit, ssh_keygen_unit().as_bytes(), 0o644)?;
        let link = wants_dir.join(SSH_KEYGEN_UNIT);
        let _ = fs::remove_file(&link);
        std::os::unix::fs::symlink(&unit, &link)
            .map_err(|e| CustomiseError::io("enabling the SSH host key unit in the image", e))?;
        changes.push(format!(
            "SSH host keys will be created at first boot ({SSH_KEYGEN_UNIT})"
        ));
    }

    let connections = remove_matching(root, "/etc/NetworkManager/system-connections", "")?;
    if connections > 0 {
        changes.push(format!(
            "saved NetworkManager connections removed ({connections})"
        ));
    }
    if remove(root, "/etc/udev/rules.d/70-persistent-net.rules")? {
        changes.push("persistent udev network rules removed".into());
    }

    // Check what was written, from the mounted tree.
    if let Some(h) = hostname {
        let back = read_file(root, "/etc/hostname")?.unwrap_or_default();
        if back.trim() != h {
            return Err(CustomiseError::Verification {
                target: root.to_path_buf(),
                what: "/etc/hostname".into(),
                reason: format!("reads {:?}", back.trim()),
            });
        }
    }
    Ok(changes)
}

/// `/etc/hosts` with the `127.0.1.1` line naming `hostname` (added after the `127.0.0.1`
/// line, or at the end, when missing).
fn set_hosts_name(hosts: &str, hostname: &str) -> String {
    let line = format!("127.0.1.1\t{hostname}");
    let mut out = Vec::new();
    let mut done = false;
    for l in hosts.lines() {
        if l.split_whitespace().next() == Some("127.0.1.1") {
            if !done {
                out.push(line.clone());
                done = true;
            }
        } else {
            out.push(l.to_string());
        }
    }
    if !done {
        let at = out
            .iter()
            .position(|l| l.split_whitespace().next() == Some("127.0.0.1"))
            .map(|i| i + 1)
            .unwrap_or(out.len());
        out.insert(at, line);
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_line_is_replaced_or_added() {
        let hosts = "127.0.0.1\tlocalhost\n127.0.1.1\tmint-golden\n::1\tip6-localhost\n";
        assert_eq!(
            set_hosts_name(hosts, "atelier-001"),
            "127.0.0.1\tlocalhost\n127.0.1.1\tatelier-001\n::1\tip6-localhost\n"
        );
        assert_eq!(
            set_hosts_name("127.0.0.1 localhost\n::1 x\n", "h"),
            "127.0.0.1 localhost\n127.0.1.1\th\n::1 x\n"
        );
        assert_eq!(set_hosts_name("", "h"), "127.0.1.1\th\n");
    }

    #[test]
    fn identity_reset_on_a_tree_refuses_links_out_of_the_image() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let outside = dir.path().join("outside");
        fs::create_dir_all(root.join("etc/ssh")).unwrap();
        fs::create_dir_all(&outside).unwrap();
        fs::write(outside.join("hostname"), "bench\n").unwrap();
        fs::write(root.join("etc/ssh/ssh_host_ed25519_key"), "k").unwrap();
        fs::write(root.join("etc/ssh/ssh_host_ed25519_key.pub"), "k").unwrap();
        fs::write(root.join("etc/ssh/sshd_config"), "").unwrap();
        fs::write(root.join("etc/machine-id"), "0123\n").unwrap();
        // A link out of the image: writing the host name must not follow it.
        std::os::unix::fs::symlink(outside.join("hostname"), root.join("etc/hostname")).unwrap();
        assert!(reset_identity(&root, Some("atelier-001")).is_err());
        assert_eq!(
            fs::read_to_string(outside.join("hostname")).unwrap(),
            "bench\n"
        );
        fs::remove_file(root.join("etc/hostname")).unwrap();
        // A directory link on the way is refused too.
        std::os::unix::fs::symlink(&outside, root.join("var")).unwrap();
        assert!(reset_identity(&root, Some("atelier-001")).is_err());
        fs::remove_file(root.join("var")).unwrap();
        let changes = reset_identity(&root, Some("atelier-001")).unwrap();
        assert_eq!(
            fs::read_to_string(root.join("etc/machine-id")).unwrap(),
            "uninitialized\n"
        );
        assert!(!root.join("etc/ssh/ssh_host_ed25519_key").exists());
        assert!(root.join("etc/ssh/sshd_config").exists());
        assert!(changes.iter().any(|c| c.contains("2 files")), "{changes:?}");
    }
}
