//! Files that appear whole or not at all: written to a temporary file in the same directory,
//! flushed to the medium, then moved into place, and the directory flushed too. A power cut
//! leaves either the old file or the new one, never a half-written one (at worst a stray
//! `.NAME.tmp-…` file, which nothing reads).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Creates `path` with `contents` and permission bits `mode`, failing with
/// [`io::ErrorKind::AlreadyExists`] if it exists (even when another process creates it at the
/// same moment: the final step is `link(2)`, which never replaces a file).
///
/// The file is created with `mode` from its first byte (`O_CREAT | O_EXCL` with that mode, so
/// the umask may only take bits away); its permissions are never changed afterwards.
pub(crate) fn create_new(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let tmp = write_temporary(path, contents, mode)?;
    let linked = fs::hard_link(&tmp, path);
    let removed = fs::remove_file(&tmp);
    linked?;
    removed?;
    sync_parent(path)
}

/// Writes `contents` to `path` with permission bits `mode`, replacing any file there.
pub(crate) fn replace(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let tmp = write_temporary(path, contents, mode)?;
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_parent(path)
}

fn write_temporary(path: &Path, contents: &[u8], mode: u32) -> io::Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "a path without a file name"))?;
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).map_err(|e| io::Error::other(e.to_string()))?;
    let tmp = path.with_file_name(format!(
        ".{}.tmp-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        crate::hex::encode(&nonce)
    ));
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&tmp)?;
    let written = file.write_all(contents).and_then(|()| file.sync_all());
    if let Err(e) = written {
        drop(file);
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(tmp)
}

fn sync_parent(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}
