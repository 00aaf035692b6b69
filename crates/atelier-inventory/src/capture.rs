//! `atelier inventory capture`: copy what the inventory reads into a fixture tree.
//!
//! [`capture`] copies, from a root (`/` on a live machine), every kernel file the inventory
//! readers and the block-device discovery of `atelier-device` look at, under the same relative
//! paths (`DEST/sys/class/dmi/id/product_name`, `DEST/proc/cpuinfo`…). Run on `DEST` as its
//! root, the inventory then sees what it saw on the machine: a technician can send us a real
//! machine as a test fixture. What is captured:
//!
//! | under the root | why |
//! |---|---|
//! | `proc/{cpuinfo,meminfo,cmdline,swaps,self/mountinfo,asound/cards,bus/input/devices}` | CPU, memory, boot medium, audio, input devices (proc(5)) |
//! | `sys/class/dmi/id/*`, `sys/firmware/dmi/tables/{DMI,smbios_entry_point}` | identity, memory slots (Documentation/ABI/testing/sysfs-firmware-dmi-tables) |
//! | `sys/devices/system/cpu/cpuN/{topology,cpufreq}/*` | topology, frequency (Documentation/ABI/stable/sysfs-devices-system-cpu) |
//! | `sys/devices/system/memory/{block_size_bytes,memoryN/state}` | installed memory without SMBIOS (Documentation/admin-guide/mm/memory-hotplug.rst) |
//! | `sys/firmware/efi` (its existence), `efivars/SecureBoot-…` and `vars/SecureBoot-…/data` (before Linux 6.0), `sys/firmware/devicetree/base/{model,serial-number}` | boot mode, Secure Boot, ARM boards (Documentation/ABI/testing/sysfs-firmware-efi, Documentation/filesystems/efivarfs.rst) |
//! | `sys/class/{power_supply,drm,net,tpm,bluetooth,ieee80211,video4linux,sound}/*` | battery, screens (EDID), network, TPM, peripherals (Documentation/ABI/testing/sysfs-class-power, sysfs-class-net…) |
//! | `sys/bus/pci/devices/*` and the reduced `usr/share/misc/pci.ids` | PCI devices and their names (Documentation/ABI/testing/sysfs-bus-pci) |
//! | `sys/class/block/*`, `sys/block/*`, `sys/dev/block/*`, `run/udev/data/b*` | disks (Documentation/ABI/stable/sysfs-block) |
//! | `dev/disk/by-{label,uuid,partuuid}/*`, `dev/mapper/*`, the `/dev` paths named by the mounts, swaps and `root=` | the boot medium and the `ATELIER` labels |
//! | `atelier-capture/smartctl/NAME.json` | the raw output of `smartctl -j -a` (plus `-l devstat` for ATA/SCSI) for each disk (on `/`; a capture of a capture copies them) |
//! | `atelier-capture/manifest.json` | the [`CaptureReport`] |
//!
//! # Symbolic links
//!
//! sysfs is a graph of symbolic links (Documentation/filesystems/sysfs.rst: class entries point
//! into `/sys/devices`, and `device`, `driver`, `subsystem` link devices together; it has
//! cycles). The capture never walks a link target recursively. It resolves each path it wants
//! component by component inside the root (at most 40 links per path, like the kernel's own
//! limit), recreates every link met on the way with its original relative target, and copies
//! the directory finally reached. In a copied directory, each link is recreated too and its
//! target made to exist (an empty directory, or the copied file), so existence checks and
//! `readlink` give the same answers as on the machine; only the directories the readers need
//! get their files:
//!
//! - a class entry: its files and those of its subdirectories (`wireless/`, connectors…);
//! - a device (the target of a `device` link) and each of its parents up to `/sys/devices`:
//!   their files (USB `idVendor`, PCI `vendor`…), as `tests/vm/guest/capture-block.sh` does;
//! - a block device: its files, `queue/`, `loop/`, `dm/`, `md/`, `integrity/`, `holders/`,
//!   `slaves/` and its partitions (the layout of `crates/atelier-device/tests/fixtures`).
//!
//! An absolute link target, or one that would climb above the root, is rewritten relative to
//! the link so that the capture never points outside itself (sysfs has none).
//!
//! # What is left out
//!
//! Write-only attributes (counted, not copied); PCI `resource*`, `rom`, `vpd` and `config`
//! (reading them touches the hardware and no reader needs them); files over
//! [`MAX_FILE_BYTES`]; FIFOs, sockets and device nodes (a device node named by a `/dev` link
//! becomes an empty regular file, so the link resolves). A file that cannot be read (`EACCES`
//! without root, `EIO`, a read that does not finish within two seconds, a file that vanished)
//! is skipped and listed in [`CaptureReport::skipped`]: one bad attribute never stops a
//! capture. Of the EFI variables, only `SecureBoot` is kept (boot entries and keys stay on the
//! machine); when the firmware has none, one other variable keeps `efivars/` non-empty, which
//! is what the firmware reader looks at. The pci.ids database is reduced to the vendors, devices, subsystems and classes
//! present (the full file is 1.4 MB); the names the inventory gives are the same.
//!
//! Nothing is ever written outside the destination (every directory is created by the capture
//! itself, files are created new, never through a link), and the root is only read.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ffi::OsString;
use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt, symlink};
use std::path::{Component, Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use atelier_device::{DeviceKind, SystemRoot, SystemUsage};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::firmware::SECURE_BOOT_VARIABLE;
use crate::machine::CAPTURED_SMART_DIR;
use crate::pci::PCI_IDS_PATHS;
use crate::smart::{SmartError, Smartctl};

/// The directory of a capture that holds what is not a copy of the machine's files.
pub const CAPTURE_DIR: &str = "atelier-capture";

/// The manifest of a capture (a [`CaptureReport`] as JSON), relative to the capture.
pub const MANIFEST_FILE: &str = "atelier-capture/manifest.json";

/// Files larger than this are not copied (no file the inventory reads comes near it).
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Version of the manifest's format.
pub const MANIFEST_VERSION: u32 = 1;

/// The largest pci.ids database read (the real one is about 1.4 MB).
const MAX_PCI_IDS_BYTES: u64 = 16 << 20;

/// How long one file read may take before it is given up.
const READ_TIMEOUT: Duration = Duration::from_secs(2);

/// Symbolic links followed while resolving one path (the kernel's limit is 40).
const MAX_LINKS: usize = 40;

/// Safety limits of a whole capture: a capture that reaches them stops copying files.
const MAX_FILES: u64 = 50_000;
const MAX_TOTAL_BYTES: u64 = 256 << 20;

/// The procfs files copied, relative to the root.
const PROC_FILES: [&str; 7] = [
    "proc/cpuinfo",
    "proc/meminfo",
    "proc/cmdline",
    "proc/swaps",
    "proc/self/mountinfo",
    "proc/asound/cards",
    "proc/bus/input/devices",
];

/// Device classes whose entries are copied (with their devices), and how deep into each entry.
const CLASSES: [(&str, u8); 8] = [
    ("power_supply", 1),
    ("drm", 1),
    ("net", 1),
    // tpm0 has pcr-*/ directories whose reads talk to the chip: the entry's own files suffice.
    ("tpm", 0),
    ("bluetooth", 1),
    ("ieee80211", 1),
    ("video4linux", 1),
    ("sound", 1),
];

/// The `SetupMode` EFI variable (UEFI specification §3.3, `EFI_GLOBAL_VARIABLE`).
const SETUP_MODE_VARIABLE: &str = "SetupMode-8be4df61-93ca-11d2-aa0d-00e098032b8c";

/// What [`capture`] does besides copying files.
#[derive(Debug, Clone)]
pub struct CaptureOptions {
    /// Run this smartctl on every disk (only when the root is `/`); `None`: no SMART data.
    pub smartctl: Option<Smartctl>,
    /// Timeout of each smartctl run.
    pub smart_timeout: Duration,
}

impl Default for CaptureOptions {
    /// smartctl from `PATH`, 10 s per disk (as the live inventory).
    fn default() -> Self {
        CaptureOptions {
            smartctl: Some(Smartctl::new()),
            smart_timeout: Duration::from_secs(10),
        }
    }
}

impl CaptureOptions {
    /// Copy files only, no smartctl.
    pub fn without_smart() -> Self {
        CaptureOptions {
            smartctl: None,
            ..Self::default()
        }
    }
}

/// What a capture holds; written as `atelier-capture/manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaptureReport {
    /// Format of this manifest ([`MANIFEST_VERSION`]).
    pub manifest_version: u32,
    /// Version of Atelier that made the capture.
    pub atelier_version: String,
    /// When the capture was made.
    pub captured_at: DateTime<Utc>,
    /// The root that was captured (`/` for a machine).
    pub source_root: PathBuf,
    /// The running kernel (`uname`: name, release, version); for another root, the kernel its
    /// own manifest names, if any.
    pub kernel: Option<String>,
    /// The machine's architecture (`uname -m`), to pass to the inventory of the capture; for
    /// another root, the one its own manifest names, if any.
    pub architecture: Option<String>,
    /// Whether the capture ran as root (without root, root-only files such as
    /// `product_serial` and the SMBIOS tables are missing and listed in `skipped`).
    pub as_root: bool,
    /// How long the capture took, in milliseconds.
    pub duration_ms: u64,
    /// What was written.
    pub counts: CaptureCounts,
    /// One entry per disk smartctl was run on.
    pub smartctl: Vec<SmartctlCapture>,
    /// What could not be captured, and why.
    pub skipped: Vec<SkippedPath>,
    /// Remarks on how the capture differs from the machine (reduced pci.ids, rewritten links…).
    pub notes: Vec<String>,
}

/// Numbers of things written by a capture.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureCounts {
    /// Regular files written (the manifest excluded).
    pub files: u64,
    /// Bytes in those files.
    pub bytes: u64,
    /// Symbolic links recreated.
    pub symlinks: u64,
    /// Directories created.
    pub directories: u64,
    /// Device nodes stood in for by empty files (targets of `/dev` links).
    pub device_placeholders: u64,
    /// Write-only attributes left out (sysfs triggers such as `remove`, `rescan`).
    pub write_only_attributes: u64,
}

/// The smartctl output captured for one disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmartctlCapture {
    /// Kernel name of the disk (`sda`, `nvme0n1`).
    pub device: String,
    /// The file written, relative to the capture, when smartctl gave an output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// Why there is no output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A path that could not be captured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedPath {
    /// The path as the machine names it (`/sys/…`).
    pub path: PathBuf,
    /// Why.
    pub reason: SkipReason,
}

/// Why a path was not captured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SkipReason {
    /// Reading it failed (`EACCES`, `EIO`, vanished…).
    #[error("unreadable: {error}")]
    Unreadable {
        /// The OS error.
        error: String,
    },
    /// Reading it did not finish in time.
    #[error("the read did not finish within {seconds} s")]
    TimedOut {
        /// The timeout.
        seconds: u64,
    },
    /// Larger than [`MAX_FILE_BYTES`].
    #[error("larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// Not a regular file where one is expected (a FIFO, a directory…).
    #[error("not a regular file ({found})")]
    NotAFile {
        /// What was found instead.
        found: String,
    },
    /// A symbolic link on the way points to nothing.
    #[error("symbolic link to nothing (at {missing})")]
    DanglingLink {
        /// The path that does not exist, as the machine names it.
        missing: PathBuf,
    },
    /// More than 40 links on the way (a loop).
    #[error("too many levels of symbolic links")]
    LinkLoop,
    /// The capture reached its size limits.
    #[error("capture size limit reached")]
    LimitReached,
}

/// Why a capture could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The destination exists and holds something.
    #[error("{path} is not empty: a capture goes into a new or empty directory")]
    DestinationNotEmpty {
        /// The destination.
        path: PathBuf,
    },
    /// The destination exists and is not a directory.
    #[error("{path} is not a directory")]
    DestinationNotADirectory {
        /// The destination.
        path: PathBuf,
    },
    /// The root is not a readable directory.
    #[error("cannot read the root {path}: {source}")]
    Root {
        /// The root.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// Writing into the destination failed (disk full, permissions…).
    #[error("cannot write {path}: {source}")]
    Write {
        /// The path written.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// Something in the destination is not what the capture made (a link or file where it
    /// creates a directory): writing there could leave the destination.
    #[error(
        "{path} is in the way (not a directory made by the capture); refusing to write through it"
    )]
    Unsafe {
        /// The path in the way.
        path: PathBuf,
    },
    /// The manifest could not be read or written.
    #[error("manifest {path}: {detail}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
}

/// Captures the inventory inputs of the machine at `root` (`/`, or another capture) into
/// `dest`, which must be absent or an empty directory. Returns what was written, also saved
/// as `dest/atelier-capture/manifest.json`.
///
/// Unreadable files are skipped and listed, never fatal; only a problem with `dest` (not
/// empty, not writable, full) or an unreadable `root` is an error.
pub fn capture(
    root: &Path,
    dest: &Path,
    opts: &CaptureOptions,
) -> Result<CaptureReport, CaptureError> {
    let started = Instant::now();
    let captured_at = Utc::now();
    fs::read_dir(root).map_err(|source| CaptureError::Root {
        path: root.to_owned(),
        source,
    })?;
    prepare_destination(dest)?;

    let mut c = Capturer::new(root, dest);
    for rel in PROC_FILES {
        c.copy_plain_file(Path::new(rel))?;
    }
    c.capture_dmi()?;
    c.capture_cpus()?;
    c.capture_memory_blocks()?;
    c.capture_firmware()?;
    for (class, depth) in CLASSES {
        c.capture_class(class, depth)?;
    }
    c.capture_pci()?;
    c.capture_block()?;
    c.capture_dev_links()?;
    c.capture_udev_block_data()?;

    let live = root == Path::new("/");
    let smartctl = if live {
        match &opts.smartctl {
            Some(smartctl) => c.capture_smartctl(smartctl, opts.smart_timeout)?,
            None => {
                c.notes
                    .push("SMART not captured: smartctl was not asked for".to_owned());
                Vec::new()
            }
        }
    } else {
        c.copy_captured_smartctl()?;
        Vec::new()
    };

    let previous = (!live).then(|| read_manifest(root).ok()).flatten();
    let (kernel, architecture) = if live {
        running_kernel()
    } else {
        (
            previous.as_ref().and_then(|m| m.kernel.clone()),
            previous.as_ref().and_then(|m| m.architecture.clone()),
        )
    };
    let report = CaptureReport {
        manifest_version: MANIFEST_VERSION,
        atelier_version: env!("CARGO_PKG_VERSION").to_owned(),
        captured_at,
        source_root: root.to_owned(),
        kernel,
        architecture,
        as_root: nix::unistd::geteuid().is_root(),
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        counts: c.counts,
        smartctl,
        skipped: c.skipped,
        notes: c.notes,
    };
    write_manifest(dest, &report)?;
    Ok(report)
}

/// Reads the manifest of the capture at `capture`.
pub fn read_manifest(capture: &Path) -> Result<CaptureReport, CaptureError> {
    let path = capture.join(MANIFEST_FILE);
    let manifest_error = |detail: String| CaptureError::Manifest {
        path: path.clone(),
        detail,
    };
    let bytes = fs::read(&path).map_err(|e| manifest_error(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| manifest_error(e.to_string()))
}

fn write_manifest(dest: &Path, report: &CaptureReport) -> Result<(), CaptureError> {
    let path = dest.join(MANIFEST_FILE);
    let mut json = serde_json::to_vec_pretty(report).map_err(|e| CaptureError::Manifest {
        path: path.clone(),
        detail: e.to_string(),
    })?;
    json.push(b'\n');
    let dir = dest.join(CAPTURE_DIR);
    match fs::symlink_metadata(&dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(CaptureError::Unsafe { path: dir }),
        Err(_) => fs::create_dir(&dir).map_err(|source| CaptureError::Write {
            path: dir.clone(),
            source,
        })?,
    }
    create_new_file(&path, &json)
}

/// Checks that `dest` is absent or an empty directory, and creates it.
fn prepare_destination(dest: &Path) -> Result<(), CaptureError> {
    match fs::symlink_metadata(dest) {
        Ok(meta) if meta.is_dir() => {
            let mut entries = fs::read_dir(dest).map_err(|source| CaptureError::Write {
                path: dest.to_owned(),
                source,
            })?;
            if entries.next().is_some() {
                return Err(CaptureError::DestinationNotEmpty {
                    path: dest.to_owned(),
                });
            }
            Ok(())
        }
        Ok(_) => Err(CaptureError::DestinationNotADirectory {
            path: dest.to_owned(),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(dest).map_err(|source| CaptureError::Write {
                path: dest.to_owned(),
                source,
            })
        }
        Err(source) => Err(CaptureError::Write {
            path: dest.to_owned(),
            source,
        }),
    }
}

/// The running kernel (`uname -s -r -v`) and architecture (`uname -m`).
fn running_kernel() -> (Option<String>, Option<String>) {
    let Ok(u) = nix::sys::utsname::uname() else {
        return (None, Some(std::env::consts::ARCH.to_owned()));
    };
    let text = |s: &std::ffi::OsStr| {
        let s = s.to_string_lossy().trim().to_owned();
        (!s.is_empty()).then_some(s)
    };
    let kernel = [u.sysname(), u.release(), u.version()]
        .into_iter()
        .filter_map(text)
        .collect::<Vec<_>>()
        .join(" ");
    (
        (!kernel.is_empty()).then_some(kernel),
        text(u.machine()).or_else(|| Some(std::env::consts::ARCH.to_owned())),
    )
}

/// The result of resolving a path inside the root.
enum Resolved {
    /// It exists: its resolved root-relative path and metadata (not of a link).
    Found(PathBuf, Metadata),
    /// It does not exist, and no link was followed to get there.
    Missing,
    /// A link was followed to a path that does not exist (root-relative).
    Dangling(PathBuf),
    /// Too many links.
    Loop,
    /// A component could not be examined.
    Unreadable(io::Error),
}

/// One capture in progress. Paths are relative to the root (and to the destination).
struct Capturer<'a> {
    root: &'a Path,
    dest: &'a Path,
    reader: FileReader,
    /// Directories known to exist in the destination as real directories.
    dirs_made: HashSet<PathBuf>,
    /// Links recreated.
    links_made: HashSet<PathBuf>,
    /// Files written (or given up).
    files_done: HashSet<PathBuf>,
    /// Directories whose content was copied, with the depth it was copied to.
    dirs_copied: HashMap<PathBuf, u8>,
    counts: CaptureCounts,
    skipped: Vec<SkippedPath>,
    notes: Vec<String>,
    limit_noted: bool,
}

impl<'a> Capturer<'a> {
    fn new(root: &'a Path, dest: &'a Path) -> Self {
        let mut dirs_made = HashSet::new();
        dirs_made.insert(PathBuf::new());
        Capturer {
            root,
            dest,
            reader: FileReader::new(READ_TIMEOUT),
            dirs_made,
            links_made: HashSet::new(),
            files_done: HashSet::new(),
            dirs_copied: HashMap::new(),
            counts: CaptureCounts::default(),
            skipped: Vec::new(),
            notes: Vec::new(),
            limit_noted: false,
        }
    }

    fn skip(&mut self, rel: &Path, reason: SkipReason) {
        self.skipped.push(SkippedPath {
            path: Path::new("/").join(rel),
            reason,
        });
    }

    // ---- writing into the destination ----

    /// Makes `rel` exist in the destination as a real directory, creating what is missing.
    fn ensure_dir(&mut self, rel: &Path) -> Result<(), CaptureError> {
        if self.dirs_made.contains(rel) {
            return Ok(());
        }
        let mut prefix = PathBuf::new();
        for part in rel.components() {
            let Component::Normal(part) = part else {
                return Err(CaptureError::Unsafe {
                    path: self.dest.join(rel),
                });
            };
            prefix.push(part);
            if self.dirs_made.contains(&prefix) {
                continue;
            }
            let path = self.dest.join(&prefix);
            match fs::symlink_metadata(&path) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => return Err(CaptureError::Unsafe { path }),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    fs::create_dir(&path).map_err(|source| CaptureError::Write { path, source })?;
                    self.counts.directories += 1;
                }
                Err(source) => return Err(CaptureError::Write { path, source }),
            }
            self.dirs_made.insert(prefix.clone());
        }
        Ok(())
    }

    /// Writes a new regular file at `rel`.
    fn write_file(&mut self, rel: &Path, bytes: &[u8]) -> Result<(), CaptureError> {
        if let Some(parent) = rel.parent() {
            self.ensure_dir(parent)?;
        }
        create_new_file(&self.dest.join(rel), bytes)?;
        self.counts.files += 1;
        self.counts.bytes += bytes.len() as u64;
        Ok(())
    }

    /// Recreates the link `rel` pointing to `target` (rewritten when it would leave the
    /// capture).
    fn make_link(&mut self, rel: &Path, target: &Path) -> Result<(), CaptureError> {
        if self.links_made.contains(rel) {
            return Ok(());
        }
        if let Some(parent) = rel.parent() {
            self.ensure_dir(parent)?;
        }
        let safe = confined_target(rel, target);
        if safe != target {
            self.notes.push(format!(
                "link /{} -> {} recreated as -> {} (it pointed outside the captured tree)",
                rel.display(),
                target.display(),
                safe.display()
            ));
        }
        let path = self.dest.join(rel);
        symlink(&safe, &path).map_err(|source| CaptureError::Write { path, source })?;
        self.counts.symlinks += 1;
        self.links_made.insert(rel.to_owned());
        Ok(())
    }

    fn over_limits(&mut self, rel: &Path) -> bool {
        if self.counts.files < MAX_FILES && self.counts.bytes < MAX_TOTAL_BYTES {
            return false;
        }
        if !self.limit_noted {
            self.limit_noted = true;
            self.skip(rel, SkipReason::LimitReached);
            self.notes.push(format!(
                "the capture stopped copying files at {} files / {} bytes",
                self.counts.files, self.counts.bytes
            ));
        }
        true
    }

    // ---- reading from the root ----

    /// Resolves `rel` inside the root, recreating each link met on the way and the directory
    /// reached. Links are followed at most [`MAX_LINKS`] times; `..` never climbs above the
    /// root.
    fn mirror(&mut self, rel: &Path) -> Result<Resolved, CaptureError> {
        let mut resolved = PathBuf::new();
        let mut pending: Vec<OsString> = Vec::new();
        push_components(&mut pending, rel);
        let mut links = 0;
        let mut last: Option<Metadata> = None;
        while let Some(part) = pending.pop() {
            if part == ".." {
                resolved.pop();
                last = None;
                continue;
            }
            let candidate = resolved.join(&part);
            match fs::symlink_metadata(self.root.join(&candidate)) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    links += 1;
                    if links > MAX_LINKS {
                        return Ok(Resolved::Loop);
                    }
                    let target = match fs::read_link(self.root.join(&candidate)) {
                        Ok(t) => t,
                        Err(e) => return Ok(Resolved::Unreadable(e)),
                    };
                    self.make_link(&candidate, &target)?;
                    if target.is_absolute() {
                        resolved = PathBuf::new();
                    }
                    push_components(&mut pending, &target);
                    last = None;
                }
                Ok(meta) => {
                    resolved = candidate;
                    last = Some(meta);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                    ) =>
                {
                    return Ok(if links > 0 {
                        Resolved::Dangling(candidate)
                    } else {
                        Resolved::Missing
                    });
                }
                Err(e) => return Ok(Resolved::Unreadable(e)),
            }
        }
        let meta = match last {
            Some(m) => m,
            // The path ended on `..` or is the root itself.
            None => match fs::metadata(self.root.join(&resolved)) {
                Ok(m) => m,
                Err(e) => return Ok(Resolved::Unreadable(e)),
            },
        };
        if meta.is_dir() {
            self.ensure_dir(&resolved)?;
        }
        Ok(Resolved::Found(resolved, meta))
    }

    /// Resolves `rel`; the reasons it cannot be are recorded when `report` is set.
    fn resolve(
        &mut self,
        rel: &Path,
        report: bool,
    ) -> Result<Option<(PathBuf, Metadata)>, CaptureError> {
        let reason = match self.mirror(rel)? {
            Resolved::Found(path, meta) => return Ok(Some((path, meta))),
            Resolved::Missing => return Ok(None),
            Resolved::Dangling(missing) => SkipReason::DanglingLink {
                missing: Path::new("/").join(missing),
            },
            Resolved::Loop => SkipReason::LinkLoop,
            Resolved::Unreadable(e) => SkipReason::Unreadable {
                error: e.to_string(),
            },
        };
        if report {
            self.skip(rel, reason);
        }
        Ok(None)
    }

    /// Copies the regular file at the resolved path `rel` (nothing when it was done before).
    fn copy_resolved_file(&mut self, rel: &Path, meta: &Metadata) -> Result<(), CaptureError> {
        if self.files_done.contains(rel) {
            return Ok(());
        }
        self.files_done.insert(rel.to_owned());
        let kind = meta.file_type();
        if !kind.is_file() {
            self.skip(
                rel,
                SkipReason::NotAFile {
                    found: file_kind(&kind).to_owned(),
                },
            );
            return Ok(());
        }
        if meta.permissions().mode() & 0o444 == 0 {
            self.counts.write_only_attributes += 1;
            return Ok(());
        }
        if self.over_limits(rel) {
            return Ok(());
        }
        match self.reader.read(&self.root.join(rel), MAX_FILE_BYTES) {
            Ok(bytes) => self.write_file(rel, &bytes),
            Err(reason) => {
                self.skip(rel, reason);
                Ok(())
            }
        }
    }

    /// Copies the file `rel`, following links (and recreating them); nothing when absent.
    fn copy_file(&mut self, rel: &Path) -> Result<(), CaptureError> {
        if let Some((path, meta)) = self.resolve(rel, true)? {
            self.copy_resolved_file(&path, &meta)?;
        }
        Ok(())
    }

    /// Copies the file `rel` to the same path, as a plain file, whatever links lead to it
    /// (procfs: `proc/self` is a link to the capturing process).
    fn copy_plain_file(&mut self, rel: &Path) -> Result<(), CaptureError> {
        let path = self.root.join(rel);
        let meta = match fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                self.skip(
                    rel,
                    SkipReason::Unreadable {
                        error: e.to_string(),
                    },
                );
                return Ok(());
            }
        };
        if !meta.is_file() {
            self.skip(
                rel,
                SkipReason::NotAFile {
                    found: file_kind(&meta.file_type()).to_owned(),
                },
            );
            return Ok(());
        }
        match self.reader.read(&path, MAX_FILE_BYTES) {
            Ok(bytes) => self.write_file(rel, &bytes),
            Err(reason) => {
                self.skip(rel, reason);
                Ok(())
            }
        }
    }

    /// Makes the target of the link `rel` exist in the capture: the directory (empty unless
    /// copied elsewhere) or the file.
    fn copy_link_target(&mut self, rel: &Path) -> Result<(), CaptureError> {
        if let Some((path, meta)) = self.resolve(rel, false)?
            && meta.is_file()
        {
            self.copy_resolved_file(&path, &meta)?;
        }
        Ok(())
    }

    /// Copies directory `rel` (following links to it): its readable regular files, its links
    /// (with their targets made to exist), and its subdirectories: copied to `depth - 1` when
    /// `depth > 0`, else created empty. Returns the resolved path.
    fn copy_dir(
        &mut self,
        rel: &Path,
        depth: u8,
        report: bool,
    ) -> Result<Option<PathBuf>, CaptureError> {
        self.copy_dir_with(rel, depth, report, &|_, _| None)
    }

    /// [`Self::copy_dir`], where `special` may choose how a subdirectory is copied (by name
    /// and resolved path): `Some(rule)` replaces the depth rule for it.
    fn copy_dir_with(
        &mut self,
        rel: &Path,
        depth: u8,
        report: bool,
        special: &dyn Fn(&str, &Path) -> Option<SubdirRule>,
    ) -> Result<Option<PathBuf>, CaptureError> {
        let Some((dir, meta)) = self.resolve(rel, report)? else {
            return Ok(None);
        };
        if !meta.is_dir() {
            if report {
                self.skip(
                    rel,
                    SkipReason::NotAFile {
                        found: format!("{}, expected a directory", file_kind(&meta.file_type())),
                    },
                );
            }
            return Ok(None);
        }
        // Copied already, at least as deep: done (this also ends any cycle).
        if self.dirs_copied.get(&dir).is_some_and(|&d| d >= depth) {
            return Ok(Some(dir));
        }
        self.dirs_copied.insert(dir.clone(), depth);
        let entries = match fs::read_dir(self.root.join(&dir)) {
            Ok(entries) => entries,
            Err(e) => {
                self.skip(
                    &dir,
                    SkipReason::Unreadable {
                        error: e.to_string(),
                    },
                );
                return Ok(Some(dir));
            }
        };
        let mut names: Vec<OsString> = entries
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect();
        names.sort();
        let pci_device = dir
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(is_pci_address);
        for name in names {
            let child = dir.join(&name);
            let meta = match fs::symlink_metadata(self.root.join(&child)) {
                Ok(m) => m,
                Err(_) => continue, // vanished
            };
            let kind = meta.file_type();
            let name = name.to_string_lossy();
            if kind.is_symlink() {
                self.copy_link_target(&child)?;
            } else if kind.is_dir() {
                match special(&name, &child) {
                    Some(SubdirRule::Block) => self.copy_block_dir(&child)?,
                    Some(SubdirRule::Files) => {
                        self.copy_dir(&child, 0, false)?;
                    }
                    None if depth > 0 => {
                        self.copy_dir(&child, depth - 1, false)?;
                    }
                    None => self.ensure_dir(&child)?,
                }
            } else if !(pci_device && is_pci_hardware_file(&name)) {
                // Regular files; anything else (a FIFO…) is listed as skipped.
                self.copy_resolved_file(&child, &meta)?;
            }
        }
        Ok(Some(dir))
    }

    /// Copies a device directory (resolved path) and each parent up to `sys/devices`.
    fn copy_device_chain(&mut self, device: &Path) -> Result<(), CaptureError> {
        let mut dir = device.to_path_buf();
        while dir.starts_with("sys/devices") && dir != Path::new("sys/devices") {
            self.copy_dir(&dir, 0, false)?;
            dir.pop();
        }
        Ok(())
    }

    /// Copies the device behind the `device` link of directory `dir` (resolved), with its
    /// parents.
    fn copy_device_of(&mut self, dir: &Path) -> Result<(), CaptureError> {
        let link = dir.join("device");
        if fs::symlink_metadata(self.root.join(&link)).is_err() {
            return Ok(());
        }
        if let Some((device, meta)) = self.resolve(&link, false)?
            && meta.is_dir()
        {
            self.copy_device_chain(&device)?;
        }
        Ok(())
    }

    // ---- what is captured ----

    fn capture_dmi(&mut self) -> Result<(), CaptureError> {
        self.copy_dir(Path::new("sys/class/dmi/id"), 0, true)?;
        for table in ["DMI", "smbios_entry_point"] {
            self.copy_file(&Path::new("sys/firmware/dmi/tables").join(table))?;
        }
        Ok(())
    }

    /// `block_size_bytes` and each `memoryN/state` (installed memory without SMBIOS).
    fn capture_memory_blocks(&mut self) -> Result<(), CaptureError> {
        let dir = Path::new(crate::memory::MEMORY_BLOCKS_DIR);
        self.copy_file(&dir.join("block_size_bytes"))?;
        let names: Vec<OsString> = fs::read_dir(self.root.join(dir))
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.file_name())
                    .filter(|n| {
                        n.to_str()
                            .and_then(|n| n.strip_prefix("memory"))
                            .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        for name in names {
            self.copy_file(&dir.join(name).join("state"))?;
        }
        Ok(())
    }

    fn capture_cpus(&mut self) -> Result<(), CaptureError> {
        let cpu_dir = Path::new("sys/devices/system/cpu");
        let Some(dir) = self.copy_dir(cpu_dir, 0, false)? else {
            return Ok(());
        };
        let mut cpus: Vec<(u32, OsString)> = fs::read_dir(self.root.join(&dir))
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter_map(|e| {
                        let name = e.file_name();
                        let n = name.to_str()?.strip_prefix("cpu")?.parse().ok()?;
                        Some((n, name))
                    })
                    .collect()
            })
            .unwrap_or_default();
        cpus.sort();
        for (_, name) in cpus {
            let cpu = dir.join(name);
            self.copy_dir(&cpu, 0, false)?;
            self.copy_dir(&cpu.join("topology"), 0, false)?;
            self.copy_dir(&cpu.join("cpufreq"), 0, false)?;
        }
        Ok(())
    }

    /// `sys/firmware/efi` (its existence is the boot mode), the Secure Boot variable in
    /// efivarfs or in the `vars/` of kernels before 6.0, and the devicetree identity.
    fn capture_firmware(&mut self) -> Result<(), CaptureError> {
        let efi = Path::new("sys/firmware/efi");
        if self.resolve(efi, false)?.is_some() {
            self.copy_file(&efi.join("fw_platform_size"))?;
            self.copy_efi_variables(&efi.join("efivars"))?;
            let legacy = efi.join("vars").join(SECURE_BOOT_VARIABLE).join("data");
            self.copy_file(&legacy)?;
        }
        let base = Path::new("sys/firmware/devicetree/base");
        if self.resolve(base, false)?.is_some() {
            for file in ["model", "serial-number"] {
                self.copy_file(&base.join(file))?;
            }
        }
        Ok(())
    }

    /// The `SecureBoot` variable only. When the firmware has none, another variable keeps the
    /// directory non-empty: the firmware reader then concludes "disabled" (firmware older than
    /// Secure Boot), as on the machine. The other variables (boot entries, keys) are left out.
    fn copy_efi_variables(&mut self, efivars: &Path) -> Result<(), CaptureError> {
        let names = self.list(efivars)?;
        if names.is_empty() {
            return Ok(());
        }
        let secure_boot = OsString::from(SECURE_BOOT_VARIABLE);
        let setup_mode = OsString::from(SETUP_MODE_VARIABLE);
        let chosen = if names.contains(&secure_boot) {
            secure_boot
        } else if names.contains(&setup_mode) {
            setup_mode
        } else {
            names[0].clone()
        };
        self.copy_file(&efivars.join(chosen))
    }

    /// Copies every entry of `sys/class/CLASS` to `depth`, with its device.
    fn capture_class(&mut self, class: &str, depth: u8) -> Result<(), CaptureError> {
        let class_dir = Path::new("sys/class").join(class);
        for name in self.list(&class_dir)? {
            let entry = class_dir.join(&name);
            if let Some(dir) = self.copy_dir(&entry, depth, true)? {
                self.copy_device_of(&dir)?;
            }
        }
        Ok(())
    }

    fn capture_pci(&mut self) -> Result<(), CaptureError> {
        let bus = Path::new("sys/bus/pci/devices");
        let mut devices = Vec::new();
        for name in self.list(bus)? {
            if let Some(dir) = self.copy_dir(&bus.join(&name), 0, true)? {
                self.copy_device_chain(&dir)?;
                devices.push(dir);
            }
        }
        if !devices.is_empty() {
            self.capture_pci_ids(&devices)?;
        }
        Ok(())
    }

    /// Writes the pci.ids database reduced to the devices captured.
    fn capture_pci_ids(&mut self, devices: &[PathBuf]) -> Result<(), CaptureError> {
        let mut wanted = PciWanted::default();
        for dir in devices {
            let hex = |file: &str| -> Option<u32> {
                let text = fs::read_to_string(self.dest.join(dir).join(file)).ok()?;
                u32::from_str_radix(text.trim().trim_start_matches("0x"), 16).ok()
            };
            let (Some(vendor), Some(device)) = (hex("vendor"), hex("device")) else {
                continue;
            };
            let (vendor, device) = (vendor as u16, device as u16);
            wanted.devices.insert((vendor, device));
            if let (Some(sv), Some(sd)) = (hex("subsystem_vendor"), hex("subsystem_device")) {
                wanted
                    .subsystems
                    .insert((vendor, device, sv as u16, sd as u16));
            }
            if let Some(class) = hex("class") {
                wanted.classes.insert((class >> 16) as u8);
            }
        }
        for rel in PCI_IDS_PATHS {
            let Some((path, meta)) = self.resolve(Path::new(rel), true)? else {
                continue;
            };
            if !meta.is_file() {
                continue;
            }
            self.files_done.insert(path.clone());
            let text = match self.reader.read(&self.root.join(&path), MAX_PCI_IDS_BYTES) {
                Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Err(reason) => {
                    self.skip(&path, reason);
                    continue;
                }
            };
            let reduced = reduce_pci_ids(&text, &wanted);
            self.write_file(&path, reduced.as_bytes())?;
            self.notes.push(format!(
                "/{} reduced to the {} PCI devices present ({} of {} bytes kept)",
                path.display(),
                wanted.devices.len(),
                reduced.len(),
                text.len()
            ));
            // The inventory uses the first database found.
            break;
        }
        Ok(())
    }

    fn capture_block(&mut self) -> Result<(), CaptureError> {
        let class = Path::new("sys/class/block");
        for name in self.list(class)? {
            let entry = class.join(&name);
            if let Some((dir, meta)) = self.resolve(&entry, true)?
                && meta.is_dir()
            {
                self.copy_block_dir(&dir)?;
            }
        }
        // The two other indexes of the same directories: whole disks, and MAJ:MIN.
        for index in ["sys/block", "sys/dev/block"] {
            let index = Path::new(index);
            for name in self.list(index)? {
                self.copy_link_target(&index.join(name))?;
            }
        }
        Ok(())
    }

    /// Copies one block device directory (resolved path; a disk or a partition).
    fn copy_block_dir(&mut self, dir: &Path) -> Result<(), CaptureError> {
        let root = self.root.to_path_buf();
        let rule = move |name: &str, child: &Path| -> Option<SubdirRule> {
            match name {
                "queue" | "loop" | "dm" | "md" | "integrity" | "holders" | "slaves" => {
                    Some(SubdirRule::Files)
                }
                _ if root.join(child).join("partition").is_file() => Some(SubdirRule::Block),
                _ => None,
            }
        };
        if let Some(dir) = self.copy_dir_with(dir, 0, false, &rule)? {
            self.copy_device_of(&dir)?;
        }
        Ok(())
    }

    /// The `/dev` links the block-device layer follows: filesystem labels, UUIDs, partition
    /// UUIDs, device-mapper names, and the paths named by the mounts, swaps and `root=`.
    fn capture_dev_links(&mut self) -> Result<(), CaptureError> {
        let mut paths: BTreeSet<PathBuf> = BTreeSet::new();
        for dir in [
            "dev/disk/by-label",
            "dev/disk/by-uuid",
            "dev/disk/by-partuuid",
            "dev/mapper",
        ] {
            let dir = Path::new(dir);
            for name in self.list(dir)? {
                let path = dir.join(name);
                if fs::symlink_metadata(self.root.join(&path)).is_ok_and(|m| m.is_symlink()) {
                    paths.insert(path);
                }
            }
        }
        // Read back from the capture: the same text the inventory will parse.
        let usage = SystemUsage::read(&SystemRoot::at(self.dest));
        let named = usage
            .mounts
            .iter()
            .map(|m| m.source.clone())
            .chain(swap_files(self.dest))
            .chain(cmdline_root_paths(&usage.cmdline));
        for path in named {
            if let Some(rel) = path.strip_prefix("/dev/") {
                let rel = Path::new("dev").join(rel);
                if rel.components().all(|c| matches!(c, Component::Normal(_))) {
                    paths.insert(rel);
                }
            }
        }
        for path in paths {
            let Some((resolved, meta)) = self.resolve(&path, false)? else {
                continue;
            };
            let kind = meta.file_type();
            if !resolved.starts_with("dev") {
                continue;
            }
            if kind.is_file() {
                // A placeholder of an earlier capture (capturing a capture).
                self.copy_resolved_file(&resolved, &meta)?;
            } else if (kind.is_block_device() || kind.is_char_device())
                && !self.files_done.contains(&resolved)
            {
                self.files_done.insert(resolved.clone());
                self.write_file(&resolved, b"")?;
                self.counts.files -= 1;
                self.counts.device_placeholders += 1;
            }
        }
        Ok(())
    }

    /// udev's database entries of block devices (`run/udev/data/bMAJ:MIN`), when udev runs.
    fn capture_udev_block_data(&mut self) -> Result<(), CaptureError> {
        let dir = Path::new("run/udev/data");
        for name in self.list(dir)? {
            if name.to_string_lossy().starts_with('b') {
                self.copy_file(&dir.join(name))?;
            }
        }
        Ok(())
    }

    /// Runs smartctl on every disk of this machine and saves its raw output.
    fn capture_smartctl(
        &mut self,
        smartctl: &Smartctl,
        timeout: Duration,
    ) -> Result<Vec<SmartctlCapture>, CaptureError> {
        let disks: Vec<String> = match atelier_device::discover(&SystemRoot::live()) {
            Ok(devices) => devices
                .into_iter()
                .filter(|d| d.kind == DeviceKind::Disk)
                .map(|d| d.name)
                .collect(),
            Err(e) => {
                self.notes.push(format!(
                    "SMART not captured: block devices could not be listed: {e}"
                ));
                return Ok(Vec::new());
            }
        };
        let outputs: Vec<Result<Vec<u8>, SmartError>> = thread::scope(|scope| {
            let handles: Vec<_> = disks
                .iter()
                .map(|name| {
                    let device = Path::new("/dev").join(name);
                    scope.spawn(move || smartctl.raw_output(&device, timeout))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| match h.join() {
                    Ok(result) => result,
                    Err(panic) => std::panic::resume_unwind(panic),
                })
                .collect()
        });
        let mut captures = Vec::new();
        for (name, output) in disks.into_iter().zip(outputs) {
            let file = Path::new(CAPTURED_SMART_DIR).join(format!("{name}.json"));
            let capture = match output {
                Ok(bytes) if !bytes.iter().all(u8::is_ascii_whitespace) => {
                    self.write_file(&file, &bytes)?;
                    SmartctlCapture {
                        device: name,
                        file: Some(file),
                        error: None,
                    }
                }
                Ok(_) => SmartctlCapture {
                    device: name,
                    file: None,
                    error: Some("smartctl printed nothing".to_owned()),
                },
                Err(e) => SmartctlCapture {
                    device: name,
                    file: None,
                    error: Some(e.to_string()),
                },
            };
            captures.push(capture);
        }
        Ok(captures)
    }

    /// Capturing a capture: its saved smartctl outputs come along.
    fn copy_captured_smartctl(&mut self) -> Result<(), CaptureError> {
        let dir = Path::new(CAPTURED_SMART_DIR);
        for name in self.list(dir)? {
            if name.to_string_lossy().ends_with(".json") {
                self.copy_file(&dir.join(name))?;
            }
        }
        Ok(())
    }

    /// The names in directory `rel` of the root (following links), sorted; empty when absent.
    /// The directory is recreated in the capture even when empty: a reader that lists it must
    /// find it there as on the machine.
    fn list(&mut self, rel: &Path) -> Result<Vec<OsString>, CaptureError> {
        let Some((dir, meta)) = self.resolve(rel, false)? else {
            return Ok(Vec::new());
        };
        if !meta.is_dir() {
            return Ok(Vec::new());
        }
        let mut names: Vec<OsString> = fs::read_dir(self.root.join(dir))
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok().map(|e| e.file_name()))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        Ok(names)
    }
}

/// How a subdirectory of a copied directory is copied.
enum SubdirRule {
    /// Its files and links only.
    Files,
    /// As a block device (a partition).
    Block,
}

/// Pushes the components of `path` onto a stack of pending parts (last part first out).
fn push_components(pending: &mut Vec<OsString>, path: &Path) {
    for c in path.components().rev() {
        match c {
            Component::Normal(s) => pending.push(s.to_os_string()),
            Component::ParentDir => pending.push("..".into()),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
}

/// The target to give the link `link` (root-relative) so that it stays inside the capture:
/// `target` itself when it is relative and does not climb above the root, else the relative
/// path from the link's directory to where `target` leads inside the root.
fn confined_target(link: &Path, target: &Path) -> PathBuf {
    let parent: Vec<&std::ffi::OsStr> = link
        .parent()
        .map(|p| {
            p.components()
                .filter_map(|c| match c {
                    Component::Normal(s) => Some(s),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    if !target.is_absolute() {
        let mut depth = parent.len();
        let mut escapes = false;
        for c in target.components() {
            match c {
                Component::ParentDir if depth == 0 => escapes = true,
                Component::ParentDir => depth -= 1,
                Component::Normal(_) => depth += 1,
                _ => {}
            }
        }
        if !escapes {
            return target.to_owned();
        }
    }
    // Where the target leads, lexically, `..` stopping at the root.
    let mut lead: Vec<&std::ffi::OsStr> = if target.is_absolute() {
        Vec::new()
    } else {
        parent.clone()
    };
    for c in target.components() {
        match c {
            Component::ParentDir => {
                lead.pop();
            }
            Component::Normal(s) => lead.push(s),
            _ => {}
        }
    }
    let mut out = PathBuf::new();
    for _ in 0..parent.len() {
        out.push("..");
    }
    for s in lead {
        out.push(s);
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// Creates `path` as a new file (never through an existing link or file) holding `bytes`.
fn create_new_file(path: &Path, bytes: &[u8]) -> Result<(), CaptureError> {
    let write_error = |source| CaptureError::Write {
        path: path.to_owned(),
        source,
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(write_error)?;
    file.write_all(bytes).map_err(write_error)
}

/// A word for a file type, for messages.
fn file_kind(kind: &fs::FileType) -> &'static str {
    if kind.is_dir() {
        "directory"
    } else if kind.is_fifo() {
        "FIFO"
    } else if kind.is_socket() {
        "socket"
    } else if kind.is_block_device() {
        "block device"
    } else if kind.is_char_device() {
        "character device"
    } else if kind.is_symlink() {
        "symbolic link"
    } else {
        "file"
    }
}

/// A PCI address as sysfs names devices: `0000:00:1f.3`.
fn is_pci_address(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() == 12
        && b[4] == b':'
        && b[7] == b':'
        && b[10] == b'.'
        && [0, 1, 2, 3, 5, 6, 8, 9, 11]
            .iter()
            .all(|&i| b[i].is_ascii_hexdigit())
}

/// PCI attributes whose reads reach the device (BARs, option ROM, VPD, config space), which
/// no reader needs (Documentation/PCI/sysfs-pci.rst).
fn is_pci_hardware_file(name: &str) -> bool {
    name.starts_with("resource") || matches!(name, "rom" | "vpd" | "config")
}

/// The `/dev/…` file names of `proc/swaps` under `root`.
fn swap_files(root: &Path) -> Vec<String> {
    fs::read_to_string(root.join("proc/swaps"))
        .map(|text| {
            text.lines()
                .skip(1)
                .filter_map(|l| l.split_whitespace().next())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The `/dev` paths that `root=` arguments of a kernel command line name.
fn cmdline_root_paths(cmdline: &str) -> Vec<String> {
    cmdline
        .split_whitespace()
        .filter_map(|arg| arg.strip_prefix("root="))
        .filter_map(|spec| {
            if let Some(uuid) = spec.strip_prefix("UUID=") {
                Some(format!("/dev/disk/by-uuid/{uuid}"))
            } else if let Some(label) = spec.strip_prefix("LABEL=") {
                Some(format!("/dev/disk/by-label/{label}"))
            } else if let Some(partuuid) = spec.strip_prefix("PARTUUID=") {
                Some(format!("/dev/disk/by-partuuid/{partuuid}"))
            } else {
                spec.starts_with("/dev/").then(|| spec.to_owned())
            }
        })
        .collect()
}

/// The IDs whose pci.ids entries a capture keeps.
#[derive(Debug, Default)]
struct PciWanted {
    /// (vendor, device).
    devices: BTreeSet<(u16, u16)>,
    /// (vendor, device, subsystem vendor, subsystem device).
    subsystems: BTreeSet<(u16, u16, u16, u16)>,
    /// Class bytes (the top 8 bits of the class code).
    classes: BTreeSet<u8>,
}

/// Keeps, from the text of a pci.ids database, the header comments, the first vendor line, the
/// vendors, devices and subsystems in `wanted` (in their order) and the whole block of each
/// wanted class. Every
/// lookup the inventory makes for those IDs finds the same line as in the full file.
fn reduce_pci_ids(text: &str, wanted: &PciWanted) -> String {
    let vendors: BTreeSet<u16> = wanted.devices.iter().map(|(v, _)| *v).collect();
    let mut out = String::new();
    let mut header = true;
    // What the lines being read belong to.
    let mut vendor: Option<u16> = None; // a wanted vendor
    let mut device: Option<u16> = None; // a wanted device of that vendor
    let mut class = false; // a wanted class
    let mut any_vendor = false;
    for line in text.split_inclusive('\n') {
        if line.starts_with('#') {
            if header {
                out.push_str(line);
            }
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        header = false;
        let tabs = line.bytes().take_while(|&b| b == b'\t').count();
        let body = line[tabs..].trim_end();
        match tabs {
            0 => {
                vendor = None;
                device = None;
                class = false;
                if let Some(rest) = body.strip_prefix("C ") {
                    class = hex_id(rest, 2).is_some_and(|c| wanted.classes.contains(&(c as u8)));
                } else if let Some(v) = hex_id(body, 4) {
                    vendor = vendors.contains(&(v as u16)).then_some(v as u16);
                    // The first vendor always stays, without its devices: a database that
                    // lists no vendor at all is reported as broken by the PCI reader.
                    if vendor.is_none() && !any_vendor {
                        out.push_str(line);
                    }
                    any_vendor = true;
                }
                if class || vendor.is_some() {
                    out.push_str(line);
                }
            }
            _ if class => out.push_str(line),
            1 => {
                device = None;
                if let (Some(v), Some(d)) = (vendor, hex_id(body, 4))
                    && wanted.devices.contains(&(v, d as u16))
                {
                    device = Some(d as u16);
                    out.push_str(line);
                }
            }
            2 => {
                if let (Some(v), Some(d)) = (vendor, device) {
                    let pair =
                        hex_id(body, 4).zip(body.get(4..).and_then(|r| hex_id(r.trim_start(), 4)));
                    if let Some((sv, sd)) = pair
                        && wanted.subsystems.contains(&(v, d, sv as u16, sd as u16))
                    {
                        out.push_str(line);
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// The hex ID of `digits` digits that starts `text` (followed by white space or nothing).
fn hex_id(text: &str, digits: usize) -> Option<u32> {
    let id = text.get(..digits)?;
    let rest = &text[digits..];
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return None;
    }
    if !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(id, 16).ok()
}

/// Reads files on a worker thread, giving up on a read after a timeout (a sysfs read can
/// block on a dying device). A worker stuck in a read is abandoned and a new one started.
struct FileReader {
    worker: Option<Worker>,
    timeout: Duration,
}

struct Worker {
    requests: mpsc::Sender<(PathBuf, u64)>,
    answers: mpsc::Receiver<io::Result<Vec<u8>>>,
}

impl Worker {
    fn start() -> Option<Worker> {
        let (requests, inbox) = mpsc::channel::<(PathBuf, u64)>();
        let (outbox, answers) = mpsc::channel();
        thread::Builder::new()
            .name("capture-reader".into())
            .spawn(move || {
                for (path, limit) in inbox {
                    if outbox.send(read_limited(&path, limit)).is_err() {
                        break;
                    }
                }
            })
            .ok()?;
        Some(Worker { requests, answers })
    }
}

impl FileReader {
    fn new(timeout: Duration) -> Self {
        FileReader {
            worker: None,
            timeout,
        }
    }

    /// Reads at most `limit` bytes of `path`.
    fn read(&mut self, path: &Path, limit: u64) -> Result<Vec<u8>, SkipReason> {
        if self.worker.is_none() {
            self.worker = Worker::start();
        }
        let answer = match &self.worker {
            // No thread could be started: read here, without a timeout.
            None => read_limited(path, limit),
            Some(worker) => {
                if worker.requests.send((path.to_owned(), limit)).is_err() {
                    self.worker = None;
                    read_limited(path, limit)
                } else {
                    match worker.answers.recv_timeout(self.timeout) {
                        Ok(answer) => answer,
                        Err(mpsc::RecvTimeoutError::Timeout) => {
                            self.worker = None;
                            return Err(SkipReason::TimedOut {
                                seconds: self.timeout.as_secs(),
                            });
                        }
                        Err(mpsc::RecvTimeoutError::Disconnected) => {
                            self.worker = None;
                            read_limited(path, limit)
                        }
                    }
                }
            }
        };
        match answer {
            Ok(bytes) if bytes.len() as u64 > limit => Err(SkipReason::TooLarge { limit }),
            Ok(bytes) => Ok(bytes),
            Err(e) => Err(SkipReason::Unreadable {
                error: e.to_string(),
            }),
        }
    }
}

/// Reads at most `limit + 1` bytes (one more tells that the file is larger than `limit`).
fn read_limited(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    File::open(path)?
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_targets_stay_inside_the_root() {
        let link = Path::new("sys/class/net/eth0");
        let inside = Path::new("../../devices/virtual/net/eth0");
        assert_eq!(confined_target(link, inside), inside);
        assert_eq!(
            confined_target(link, Path::new("/sys/devices/x")),
            Path::new("../../../sys/devices/x")
        );
        assert_eq!(
            confined_target(Path::new("dev/fd"), Path::new("../../../../etc")),
            Path::new("../etc")
        );
        assert_eq!(
            confined_target(Path::new("dev/fd"), Path::new("/")),
            Path::new("..")
        );
    }

    #[test]
    fn recognises_pci_addresses() {
        assert!(is_pci_address("0000:00:1f.3"));
        assert!(!is_pci_address("10000:00:1f.3"));
        assert!(!is_pci_address("pci0000:00"));
        assert!(!is_pci_address("0000:00:1f"));
    }

    #[test]
    fn reduces_pci_ids_to_what_is_present() {
        let text = "# header\n# version 1\n\n\
                    0001  First vendor\n\
                    \t0001  Its device\n\
                    8086  Intel Corporation\n\
                    \t1234  Something else\n\
                    \t1237  440FX\n\
                    \t\t1af4 1100  QEMU board\n\
                    \t\t1af4 1101  Other board\n\
                    # a comment\n\
                    1af4  Red Hat, Inc.\n\
                    \t1000  Virtio network device\n\
                    C 02  Network controller\n\
                    \t00  Ethernet controller\n\
                    C 06  Bridge\n\
                    \t00  Host bridge\n";
        let mut wanted = PciWanted::default();
        wanted.devices.insert((0x8086, 0x1237));
        wanted.subsystems.insert((0x8086, 0x1237, 0x1af4, 0x1100));
        wanted.classes.insert(0x06);
        assert_eq!(
            reduce_pci_ids(text, &wanted),
            "# header\n# version 1\n\
             0001  First vendor\n\
             8086  Intel Corporation\n\
             \t1237  440FX\n\
             \t\t1af4 1100  QEMU board\n\
             C 06  Bridge\n\
             \t00  Host bridge\n"
        );
    }
}
