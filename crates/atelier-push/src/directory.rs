//! Export of certified records to a directory: a USB stick, a shared folder.
//!
//! Used by `atelier export --to DIR` and by the outbox sink of kind `directory` (a stick
//! mounted at a configured path). For each certified record, under the export root:
//!
//! ```text
//! certificates/ID.json    the signed certificate, as `atelier certify` wrote it
//! certificates/ID.pdf     the PDF certificate (when the bench has it)
//! certificates.jsonl      one signed certificate per line (JSON Lines), one line per ID
//! glpi/AGENT-ID.json      the GLPI native inventory of the machine
//! ```
//!
//! `ID` is the certificate id (UUIDv7). The GLPI file is named after the same
//! `GLPI-Agent-ID` the `glpi` sink sends ([`crate::glpi::agent_id`]): GLPI Agent's
//! `glpi-injector` (`bin/glpi-injector` of the glpi-agent project) loads `*.json` files of a
//! directory (`-d`), and when a file name ends with a UUID followed by `.json` it sends that
//! UUID as `GLPI-Agent-ID`; otherwise it makes a random one per run. Keeping the inventories
//! in their own `glpi/` folder matters: `glpi-injector -d DIR/glpi` must not try to send the
//! certificates.
//!
//! Idempotent and append-safe: a file whose bytes are already there is left alone; a file
//! that differs is replaced whole (temporary file in the same folder, `fsync`, `rename`,
//! `fsync` of the folder), so a pulled stick or a power cut leaves the old file or the new
//! one, never a half. `certificates.jsonl` gets a line only for a certificate id it does not
//! hold yet, and is itself rewritten whole the same way (never a half line). The JSON Lines
//! file is written last: what it lists is on the stick.
//!
//! A target that is missing, not mounted (for sinks: the stick is not plugged in, and the
//! folder left on the live system would vanish at shutdown), read-only or full gives an
//! [`ExportError`] naming the path; nothing is lost, since the store keeps every record and
//! the outbox keeps the entry pending.

use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::config::SinkConfig;
use crate::transport::Outcome;

/// Folder of the certificates (JSON and PDF) under the export root.
pub const CERTIFICATES_DIR: &str = "certificates";
/// The JSON Lines file under the export root.
pub const JSONL_FILE: &str = "certificates.jsonl";
/// Folder of the GLPI inventories under the export root.
pub const GLPI_DIR: &str = "glpi";

/// What is exported for one certified record (also the outbox payload of `directory` sinks).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bundle {
    /// The certificate id.
    pub certificate_id: Uuid,
    /// The signed certificate, pretty JSON (the bytes of `certificates/ID.json`).
    pub signed_pretty: String,
    /// The same document on one line (the line of `certificates.jsonl`).
    pub signed_line: String,
    /// The GLPI native inventory of the machine, when the record has an inventory.
    #[serde(default)]
    pub glpi_inventory: Option<Value>,
    /// Where the PDF certificate is on the bench (copied as `certificates/ID.pdf`).
    #[serde(default)]
    pub pdf: Option<PathBuf>,
}

/// What went wrong with the target, for the operator's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// The folder does not exist.
    Missing,
    /// The folder is not a mount point (nothing plugged in there).
    NotMounted,
    /// The file system is read-only (a locked stick, a file system mounted read-only).
    ReadOnly,
    /// No space left.
    Full,
    /// Permission denied.
    Denied,
    /// Anything else (the cause says what).
    Other,
}

/// A failed export: which path, what kind of problem, the system's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {} ({cause}); {}", path.display(), problem.what(), problem.next_step())]
pub struct ExportError {
    /// The path that could not be written or read.
    pub path: PathBuf,
    /// The kind of problem.
    pub problem: Problem,
    /// The system's message.
    pub cause: String,
}

impl Problem {
    fn of(e: &io::Error) -> Problem {
        match e.kind() {
            ErrorKind::NotFound => Problem::Missing,
            ErrorKind::ReadOnlyFilesystem => Problem::ReadOnly,
            ErrorKind::StorageFull | ErrorKind::QuotaExceeded => Problem::Full,
            ErrorKind::PermissionDenied => Problem::Denied,
            _ => Problem::Other,
        }
    }

    /// What it means, in English (the binary has the French).
    pub fn what(self) -> &'static str {
        match self {
            Problem::Missing => "the folder does not exist",
            Problem::NotMounted => "nothing is mounted there",
            Problem::ReadOnly => "the medium is read-only",
            Problem::Full => "the medium is full",
            Problem::Denied => "permission denied",
            Problem::Other => "cannot write",
        }
    }

    /// What to do, in English.
    pub fn next_step(self) -> &'static str {
        match self {
            Problem::Missing | Problem::NotMounted => {
                "plug in the USB stick and mount it there, then run the export again"
            }
            Problem::ReadOnly => {
                "unlock the stick (its switch) or remount it read-write, then run the export again"
            }
            Problem::Full => "free some space or use another stick, then run the export again",
            Problem::Denied => "check the folder's owner and rights, then run the export again",
            Problem::Other => "check the medium, then run the export again",
        }
    }
}

fn fail(path: &Path, e: &io::Error) -> ExportError {
    ExportError {
        path: path.to_path_buf(),
        problem: Problem::of(e),
        cause: e.to_string(),
    }
}

/// What an export did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Files written or replaced.
    pub written: Vec<PathBuf>,
    /// Files already there with the same bytes.
    pub unchanged: usize,
    /// Lines added to `certificates.jsonl`.
    pub lines_added: usize,
    /// Certificates whose PDF was not found on the bench (their JSON is exported).
    pub missing_pdfs: Vec<Uuid>,
}

/// True when `path` is a mount point: its device differs from its parent's (or it is `/`).
pub fn is_mount_point(path: &Path) -> io::Result<bool> {
    let here = fs::metadata(path)?;
    let parent = fs::metadata(path.join(".."))?;
    Ok(here.dev() != parent.dev() || here.ino() == parent.ino())
}

/// Checks that `root` is a folder (and, with `require_mount`, a mount point).
pub fn check_target(root: &Path, require_mount: bool) -> Result<(), ExportError> {
    let meta = fs::metadata(root).map_err(|e| fail(root, &e))?;
    if !meta.is_dir() {
        return Err(ExportError {
            path: root.to_path_buf(),
            problem: Problem::Other,
            cause: "not a folder".into(),
        });
    }
    if require_mount && !is_mount_point(root).map_err(|e| fail(root, &e))? {
        return Err(ExportError {
            path: root.to_path_buf(),
            problem: Problem::NotMounted,
            cause: "the folder is on the same file system as its parent".into(),
        });
    }
    Ok(())
}

/// Writes `bundles` under `root` (see the module doc). Stops at the first error; what was
/// written before stays, and a new run completes it.
pub fn export(
    root: &Path,
    bundles: &[Bundle],
    require_mount: bool,
) -> Result<Summary, ExportError> {
    check_target(root, require_mount)?;
    let mut summary = Summary::default();
    let certs = root.join(CERTIFICATES_DIR);
    let glpi = root.join(GLPI_DIR);
    for dir in [&certs, &glpi] {
        match fs::create_dir(dir) {
            Ok(()) => sync_dir(root).map_err(|e| fail(root, &e))?,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(fail(dir, &e)),
        }
    }
    for b in bundles {
        let id = b.certificate_id;
        let json = certs.join(format!("{id}.json"));
        put(&json, b.signed_pretty.as_bytes(), &mut summary)?;
        if let Some(source) = &b.pdf {
            match fs::read(source) {
                Ok(pdf) => put(&certs.join(format!("{id}.pdf")), &pdf, &mut summary)?,
                Err(e) if e.kind() == ErrorKind::NotFound => summary.missing_pdfs.push(id),
                Err(e) => return Err(fail(source, &e)),
            }
        }
        if let Some(inv) = &b.glpi_inventory {
            let device_id = inv.get("deviceid").and_then(Value::as_str).unwrap_or("");
            let name = format!("{}.json", crate::glpi::agent_id(device_id));
            let text = serde_json::to_string_pretty(inv).unwrap_or_default() + "\n";
            put(&glpi.join(name), text.as_bytes(), &mut summary)?;
        }
    }
    append_lines(root, bundles, &mut summary)?;
    Ok(summary)
}

/// The certificate id of one line of `certificates.jsonl` (a signed record document).
pub fn line_key(line: &str) -> Option<Uuid> {
    let doc: Value = serde_json::from_str(line).ok()?;
    let record: Value = serde_json::from_str(doc.get("record_json")?.as_str()?).ok()?;
    record
        .pointer("/certificate/certificate_id")?
        .as_str()?
        .parse()
        .ok()
}

fn append_lines(root: &Path, bundles: &[Bundle], summary: &mut Summary) -> Result<(), ExportError> {
    let path = root.join(JSONL_FILE);
    let mut text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == ErrorKind::NotFound => String::new(),
        Err(e) => return Err(fail(&path, &e)),
    };
    let mut known: Vec<Uuid> = text.lines().filter_map(line_key).collect();
    let before = text.len();
    for b in bundles {
        if known.contains(&b.certificate_id) {
            continue;
        }
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(b.signed_line.trim_end());
        text.push('\n');
        known.push(b.certificate_id);
        summary.lines_added += 1;
    }
    if text.len() == before {
        summary.unchanged += 1;
        return Ok(());
    }
    replace(&path, text.as_bytes()).map_err(|e| fail(&path, &e))?;
    summary.written.push(path);
    Ok(())
}

/// Writes `bytes` to `path` unless the same bytes are there.
fn put(path: &Path, bytes: &[u8], summary: &mut Summary) -> Result<(), ExportError> {
    match fs::read(path) {
        Ok(old) if old == bytes => {
            summary.unchanged += 1;
            return Ok(());
        }
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(fail(path, &e)),
    }
    replace(path, bytes).map_err(|e| fail(path, &e))?;
    summary.written.push(path.to_path_buf());
    Ok(())
}

/// Temporary file in the same folder, `fsync`, `rename`, `fsync` of the folder.
fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        Uuid::now_v7().simple()
    ));
    let written = (|| {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if let Err(e) = written.and_then(|()| fs::rename(&tmp, path)) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The outbox delivery of a `directory` sink: a missing, unmounted, read-only or full
/// target is worth a retry (the stick comes back); a payload that is not a bundle is not.
pub fn deliver(sink: &SinkConfig, payload: &str) -> Outcome {
    let Some(root) = &sink.path else {
        return Outcome::Refused {
            reason: format!("sink \"{}\": a directory sink needs path", sink.name),
        };
    };
    let bundle: Bundle = match serde_json::from_str(payload) {
        Ok(b) => b,
        Err(e) => {
            return Outcome::Refused {
                reason: format!("the queued export is not a bundle: {e}"),
            };
        }
    };
    match export(root, std::slice::from_ref(&bundle), sink.require_mount) {
        Ok(s) => Outcome::Delivered {
            server_id: None,
            answer: format!(
                "{}: {} written, {} unchanged{}",
                root.display(),
                s.written.len(),
                s.unchanged,
                if s.missing_pdfs.is_empty() {
                    ""
                } else {
                    ", PDF not found on the bench (atelier print certificate makes it again)"
                }
            ),
        },
        Err(e) => Outcome::Retry {
            reason: e.to_string(),
            after: None,
        },
    }
}
