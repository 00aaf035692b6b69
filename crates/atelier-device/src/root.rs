//! The root of the world that readers look at.

use std::fs;
use std::path::{Path, PathBuf};

/// Where `/sys`, `/proc`, `/dev` and `/run` are found: `/` on a live system, a captured tree
/// in tests. Every reader of kernel state in Atelier takes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemRoot {
    base: PathBuf,
}

impl SystemRoot {
    /// The running system (`/`).
    pub fn live() -> Self {
        Self::at("/")
    }

    /// A tree rooted at `base` (e.g. a capture made by the test harness).
    pub fn at(base: impl Into<PathBuf>) -> Self {
        Self { base: base.into() }
    }

    /// True when this is the running system, i.e. device nodes under `/dev` are real.
    pub fn is_live(&self) -> bool {
        self.base == Path::new("/")
    }

    /// The base directory.
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// `absolute` (e.g. `/sys/class/block`) inside this root.
    pub fn path(&self, absolute: impl AsRef<Path>) -> PathBuf {
        let absolute = absolute.as_ref();
        let relative = absolute.strip_prefix("/").unwrap_or(absolute);
        self.base.join(relative)
    }

    /// Reads a small text attribute, trimmed; `None` when it is absent, unreadable or empty.
    pub(crate) fn read_attr(&self, path: &Path) -> Option<String> {
        let text = fs::read(path).ok()?;
        let text = String::from_utf8_lossy(&text);
        let trimmed = text.trim_matches(|c: char| c.is_whitespace() || c == '\0');
        if trimmed.is_empty() {
            None
        } else {
            Some(trimmed.to_string())
        }
    }

    /// Reads a numeric attribute.
    pub(crate) fn read_u64(&self, path: &Path) -> Option<u64> {
        self.read_attr(path)?.parse().ok()
    }

    /// Resolves symbolic links of `absolute` *inside* this root: an absolute link target is
    /// taken relative to the root, not to the host's `/`. Returns the absolute path in the
    /// root's namespace (e.g. `/sys/devices/…/block/sda`).
    pub(crate) fn resolve(&self, absolute: &Path) -> Option<PathBuf> {
        let mut resolved = PathBuf::from("/");
        let mut pending: Vec<std::ffi::OsString> = absolute
            .components()
            .rev()
            .filter_map(|c| match c {
                std::path::Component::Normal(s) => Some(s.to_os_string()),
                std::path::Component::ParentDir => Some("..".into()),
                _ => None,
            })
            .collect();
        let mut links_followed = 0;
        while let Some(part) = pending.pop() {
            if part == ".." {
                resolved.pop();
                continue;
            }
            let candidate = resolved.join(&part);
            match fs::symlink_metadata(self.path(&candidate)) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    links_followed += 1;
                    if links_followed > 40 {
                        return None;
                    }
                    let target = fs::read_link(self.path(&candidate)).ok()?;
                    if target.is_absolute() {
                        resolved = PathBuf::from("/");
                    }
                    for c in target.components().rev() {
                        match c {
                            std::path::Component::Normal(s) => pending.push(s.to_os_string()),
                            std::path::Component::ParentDir => pending.push("..".into()),
                            _ => {}
                        }
                    }
                }
                Ok(_) => resolved = candidate,
                Err(_) => return None,
            }
        }
        Some(resolved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn resolves_relative_and_absolute_links_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = SystemRoot::at(dir.path());
        fs::create_dir_all(root.path("/sys/devices/pci0/block/sda")).unwrap();
        fs::create_dir_all(root.path("/sys/class/block")).unwrap();
        fs::create_dir_all(root.path("/dev/mapper")).unwrap();
        symlink(
            "../../devices/pci0/block/sda",
            root.path("/sys/class/block/sda"),
        )
        .unwrap();
        fs::write(root.path("/dev/dm-0"), "").unwrap();
        symlink("/dev/dm-0", root.path("/dev/mapper/vg-root")).unwrap();
        assert_eq!(
            root.resolve(Path::new("/sys/class/block/sda")).unwrap(),
            Path::new("/sys/devices/pci0/block/sda")
        );
        assert_eq!(
            root.resolve(Path::new("/dev/mapper/vg-root")).unwrap(),
            Path::new("/dev/dm-0")
        );
        assert!(root.resolve(Path::new("/sys/class/block/nope")).is_none());
    }
}
