//! External tools, wrapped: partitioning (`sfdisk`), ext4 (`e2fsck`, `resize2fs`), loop
//! devices (`losetup`), mounts (`mount`, `umount`) and buffer flushes (`blockdev`).
//!
//! Each tool is looked up on the `PATH` (plus `/sbin`, `/usr/sbin`) before it runs, so that a
//! missing one is a [`CustomiseError::ToolMissing`] naming its Debian package rather than a
//! bare "No such file or directory".

use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use atelier_device::{DevNum, SystemRoot, SystemUsage};

use super::CustomiseError;

/// A command and the Debian package that provides it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tool {
    pub(crate) name: &'static str,
    pub(crate) package: &'static str,
}

pub(crate) const SFDISK: Tool = Tool {
    name: "sfdisk",
    package: "fdisk",
};
pub(crate) const E2FSCK: Tool = Tool {
    name: "e2fsck",
    package: "e2fsprogs",
};
pub(crate) const RESIZE2FS: Tool = Tool {
    name: "resize2fs",
    package: "e2fsprogs",
};
pub(crate) const LOSETUP: Tool = Tool {
    name: "losetup",
    package: "util-linux",
};
pub(crate) const MOUNT: Tool = Tool {
    name: "mount",
    package: "mount",
};
pub(crate) const UMOUNT: Tool = Tool {
    name: "umount",
    package: "mount",
};
pub(crate) const BLOCKDEV: Tool = Tool {
    name: "blockdev",
    package: "util-linux",
};
pub(crate) const PARTX: Tool = Tool {
    name: "partx",
    package: "util-linux",
};

impl Tool {
    /// The full path of the command, or the error naming its package.
    pub(crate) fn locate(self) -> Result<PathBuf, CustomiseError> {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let extra = [PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")];
        std::env::split_paths(&path)
            .chain(extra)
            .map(|dir| dir.join(self.name))
            .find(|p| p.is_file())
            .ok_or(CustomiseError::ToolMissing {
                tool: self.name,
                package: self.package,
            })
    }

    /// Runs the tool with `args` (and `stdin` when given); fails unless it exits with one of
    /// `ok_codes`.
    pub(crate) fn run(
        self,
        args: &[&OsStr],
        stdin: Option<&str>,
        ok_codes: &[i32],
    ) -> Result<Output, CustomiseError> {
        let program = self.locate()?;
        let command_line = || {
            std::iter::once(self.name.to_string())
                .chain(args.iter().map(|a| a.to_string_lossy().into_owned()))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let mut child = Command::new(&program)
            .args(args)
            .env("LC_ALL", "C")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| CustomiseError::io(format!("starting `{}`", command_line()), e))?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes())
                .map_err(|e| CustomiseError::io(format!("feeding `{}`", command_line()), e))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| CustomiseError::io(format!("waiting for `{}`", command_line()), e))?;
        match out.status.code() {
            Some(code) if ok_codes.contains(&code) => Ok(out),
            _ => {
                let stderr = String::from_utf8_lossy(&out.stderr);
                let stdout = String::from_utf8_lossy(&out.stdout);
                let text = if stderr.trim().is_empty() {
                    stdout
                } else {
                    stderr
                };
                let tail: Vec<&str> = text.lines().rev().take(6).collect();
                Err(CustomiseError::ToolFailed {
                    command: command_line(),
                    status: out.status.to_string(),
                    stderr: tail.into_iter().rev().collect::<Vec<_>>().join(" / "),
                })
            }
        }
    }
}

/// `OsStr` views of a few arguments.
pub(crate) fn args<'a>(items: &'a [&'a dyn AsRef<OsStr>]) -> Vec<&'a OsStr> {
    items.iter().map(|a| a.as_ref()).collect()
}

/// Drops the buffer cache of a block device (`blockdev --flushbufs`, the `BLKFLSBUF` ioctl).
pub(crate) fn flush_buffers(device: &Path) -> Result<(), CustomiseError> {
    BLOCKDEV.run(&args(&[&"--flushbufs", &device]), None, &[0])?;
    Ok(())
}

/// Whether `path` is a block device.
pub(crate) fn is_block_device(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|m| m.file_type().is_block_device())
        .unwrap_or(false)
}

/// A loop device over `[offset, offset + size)` of a file or block device, detached on drop.
///
/// An offset loop reaches one partition without the kernel parsing the partition table
/// (which the bench's kernel may not do for files, and which would need a re-read for
/// disks), and works the same on an image file and on a real disk.
#[derive(Debug)]
pub(crate) struct OffsetLoop {
    device: PathBuf,
    attached: bool,
}

impl OffsetLoop {
    /// Attaches a new loop device.
    pub(crate) fn attach(target: &Path, offset: u64, size: u64) -> Result<Self, CustomiseError> {
        let offset = offset.to_string();
        let size = size.to_string();
        let out = LOSETUP.run(
            &args(&[
                &"--find",
                &"--show",
                &"--offset",
                &offset,
                &"--sizelimit",
                &size,
                &target,
            ]),
            None,
            &[0],
        )?;
        let printed = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let is_loop = printed
            .strip_prefix("/dev/loop")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if !is_loop {
            return Err(CustomiseError::ToolFailed {
                command: format!("losetup --find --show … {}", target.display()),
                status: "0".into(),
                stderr: format!("printed {printed:?} instead of a loop device"),
            });
        }
        Ok(Self {
            device: PathBuf::from(printed),
            attached: true,
        })
    }

    /// The loop device node.
    pub(crate) fn path(&self) -> &Path {
        &self.device
    }

    /// Detaches the loop device.
    pub(crate) fn detach(mut self) -> Result<(), CustomiseError> {
        self.attached = false;
        LOSETUP.run(&args(&[&"--detach", &self.device]), None, &[0])?;
        Ok(())
    }
}

impl Drop for OffsetLoop {
    fn drop(&mut self) {
        if self.attached {
            let _ = LOSETUP.run(&args(&[&"--detach", &self.device]), None, &[0]);
        }
    }
}

/// A file system mounted in a fresh private directory, unmounted on drop (also when the
/// work on it failed).
///
/// The directory is created with mode 0700 under the system's temporary directory and
/// removed with `rmdir` only — never recursively — so that a failed unmount can never lead to
/// files of the mounted system being deleted.
#[derive(Debug)]
pub(crate) struct TempMount {
    dir: PathBuf,
    mounted: bool,
}

impl TempMount {
    /// Mounts `device` (of type `fstype`) read-write with `nodev,nosuid,noexec`.
    pub(crate) fn mount(device: &Path, fstype: &str) -> Result<Self, CustomiseError> {
        let mut name = [0u8; 8];
        getrandom::fill(&mut name).map_err(|e| CustomiseError::Secret {
            what: "mount directory name",
            reason: e.to_string(),
        })?;
        let hex: String = name.iter().map(|b| format!("{b:02x}")).collect();
        let dir = std::env::temp_dir().join(format!("atelier-mount-{hex}"));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(|e| CustomiseError::io(format!("creating {}", dir.display()), e))?;
        let result = MOUNT.run(
            &args(&[&"-t", &fstype, &"-o", &"nodev,nosuid,noexec", &device, &dir]),
            None,
            &[0],
        );
        if let Err(e) = result {
            let _ = std::fs::remove_dir(&dir);
            return Err(e);
        }
        Ok(Self { dir, mounted: true })
    }

    /// The mount point.
    pub(crate) fn root(&self) -> &Path {
        &self.dir
    }

    /// Unmounts (retrying a few times while the file system is busy) and removes the empty
    /// directory.
    pub(crate) fn unmount(mut self) -> Result<(), CustomiseError> {
        let result = self.try_unmount();
        self.mounted = result.is_err();
        result
    }

    fn try_unmount(&self) -> Result<(), CustomiseError> {
        let mut last = None;
        for attempt in 0..5 {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(200 * attempt));
            }
            match UMOUNT.run(&args(&[&self.dir]), None, &[0]) {
                Ok(_) => {
                    let _ = std::fs::remove_dir(&self.dir);
                    return Ok(());
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or(CustomiseError::ToolMissing {
            tool: UMOUNT.name,
            package: UMOUNT.package,
        }))
    }
}

impl Drop for TempMount {
    fn drop(&mut self) {
        if self.mounted {
            let _ = self.try_unmount();
        }
    }
}

/// Refuses a block-device target when it, or one of its partitions, is mounted (a desktop
/// automounter may have mounted the freshly written card). Image files pass.
pub(crate) fn ensure_not_mounted(target: &Path) -> Result<(), CustomiseError> {
    let Ok(meta) = std::fs::metadata(target) else {
        return Ok(()); // the open that follows reports it
    };
    if !meta.file_type().is_block_device() {
        return Ok(());
    }
    let whole = DevNum::from_raw(meta.rdev());
    let mut devices = vec![(whole, target.display().to_string())];
    let sys = PathBuf::from(format!("/sys/dev/block/{}:{}", whole.major, whole.minor));
    if let Ok(entries) = std::fs::read_dir(&sys) {
        for entry in entries.flatten() {
            let dir = entry.path();
            if !dir.join("partition").exists() {
                continue;
            }
            if let Some(dev) = std::fs::read_to_string(dir.join("dev"))
                .ok()
                .and_then(|d| DevNum::parse(&d))
            {
                devices.push((dev, format!("/dev/{}", entry.file_name().to_string_lossy())));
            }
        }
    }
    let usage = SystemUsage::read(&SystemRoot::live());
    for mount in &usage.mounts {
        if let Some((_, name)) = devices.iter().find(|(dev, _)| *dev == mount.dev) {
            return Err(CustomiseError::Unsupported {
                target: target.to_path_buf(),
                reason: format!(
                    "{name} is mounted at {} (perhaps by an automounter): unmount it, then \
                     customise again",
                    mount.mount_point.display()
                ),
            });
        }
    }
    Ok(())
}
