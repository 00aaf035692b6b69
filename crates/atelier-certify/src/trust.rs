//! The trust list: the public keys of the benches an organisation has registered.
//!
//! # Format
//!
//! A UTF-8 text file, one key per line, in the spirit of OpenSSH's `authorized_keys`:
//!
//! ```text
//! # Atelier trusted bench keys
//! ed25519 8f1c0d3e…(64 lowercase hex digits)…  bench-1, Repair café Lyon
//! ed25519 27aa90b1…(64 lowercase hex digits)…  bench-2
//! ```
//!
//! Each line is the word `ed25519`, the public key as 64 lowercase hex digits (what
//! `atelier keys show` prints), then an optional label: the rest of the line, trimmed. Blank
//! lines and lines starting with `#` are ignored. A key listed twice is an error, so that a
//! typing mistake does not go unnoticed.
//!
//! [`TrustList::load`] takes that file, or a directory of such files (each bench's key in its
//! own file, e.g. `trusted-keys.d/bench-1.pub`); names starting with `.` or ending in `~` are
//! skipped. The default place is `trusted-keys` ([`TRUSTED_KEYS_FILE`]) in the data directory.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::atomic;
use crate::keys::{Fingerprint, PublicKey};

/// Name of the trust list (file or directory) in the data directory.
pub const TRUSTED_KEYS_FILE: &str = "trusted-keys";

/// The only key type the trust list knows.
const KEY_TYPE: &str = "ed25519";

/// Why a trust list cannot be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum TrustListError {
    /// Reading or writing a file failed.
    #[error("cannot {action} the trust list {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// `read` or `write`.
        action: &'static str,
        /// What the system said.
        source: io::Error,
    },
    /// A line is not `ed25519 <64 hex digits> [label]`, or repeats a key.
    #[error("{origin}, line {line}: {message}")]
    Syntax {
        /// The file the line comes from.
        origin: String,
        /// Its number, from 1.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// [`TrustList::add`] was given a key the list already has.
    #[error("the key {fingerprint} is already trusted, as {label:?}")]
    AlreadyTrusted {
        /// The key's fingerprint.
        fingerprint: Fingerprint,
        /// The label it is listed under.
        label: String,
    },
    /// A label with a line break or another control character.
    #[error("a key label must be one line of text without control characters: {0:?}")]
    BadLabel(String),
}

/// One trusted bench key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    /// The key.
    pub public_key: PublicKey,
    /// What the organisation calls that bench (may be empty).
    pub label: String,
}

impl TrustedKey {
    /// The key's fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        self.public_key.fingerprint()
    }
}

/// The set of public keys whose signatures are accepted, in the order they were listed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustList {
    keys: Vec<TrustedKey>,
}

impl TrustList {
    /// An empty list: it trusts nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses the text of a trust-list file; `origin` names it in error messages.
    pub fn parse(text: &str, origin: &str) -> Result<Self, TrustListError> {
        let mut list = Self::new();
        list.extend_from_text(text, origin)?;
        Ok(list)
    }

    /// Reads the trust list at `path`: a file, or a directory of files (see the module docs).
    pub fn load(path: &Path) -> Result<Self, TrustListError> {
        let read_err = |path: &Path, source| TrustListError::Io {
            path: path.to_path_buf(),
            action: "read",
            source,
        };
        let meta = fs::metadata(path).map_err(|e| read_err(path, e))?;
        let mut list = Self::new();
        if meta.is_dir() {
            let mut files = Vec::new();
            for entry in fs::read_dir(path).map_err(|e| read_err(path, e))? {
                let entry = entry.map_err(|e| read_err(path, e))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') || name.ends_with('~') {
                    continue;
                }
                let file = entry.path();
                if fs::metadata(&file).is_ok_and(|m| m.is_file()) {
                    files.push(file);
                }
            }
            files.sort();
            for file in files {
                let text = fs::read_to_string(&file).map_err(|e| read_err(&file, e))?;
                list.extend_from_text(&text, &file.display().to_string())?;
            }
        } else {
            let text = fs::read_to_string(path).map_err(|e| read_err(path, e))?;
            list.extend_from_text(&text, &path.display().to_string())?;
        }
        Ok(list)
    }

    /// Reads `DATA_DIR/trusted-keys` (file or directory); an empty list when it does not exist.
    pub fn load_from_data_dir(data_dir: &Path) -> Result<Self, TrustListError> {
        let path = data_dir.join(TRUSTED_KEYS_FILE);
        match fs::symlink_metadata(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Self::new()),
            _ => Self::load(&path),
        }
    }

    /// Adds `public_key` under `label`.
    pub fn add(&mut self, public_key: PublicKey, label: &str) -> Result<(), TrustListError> {
        if label.chars().any(char::is_control) {
            return Err(TrustListError::BadLabel(label.to_owned()));
        }
        if let Some(known) = self.get(&public_key) {
            return Err(TrustListError::AlreadyTrusted {
                fingerprint: public_key.fingerprint(),
                label: known.label.clone(),
            });
        }
        self.keys.push(TrustedKey {
            public_key,
            label: label.trim().to_owned(),
        });
        Ok(())
    }

    /// The entry for `public_key`, if the list trusts it.
    pub fn get(&self, public_key: &PublicKey) -> Option<&TrustedKey> {
        self.keys.iter().find(|k| &k.public_key == public_key)
    }

    /// True when the list trusts `public_key`.
    pub fn contains(&self, public_key: &PublicKey) -> bool {
        self.get(public_key).is_some()
    }

    /// The trusted keys, in list order.
    pub fn iter(&self) -> impl Iterator<Item = &TrustedKey> {
        self.keys.iter()
    }

    /// How many keys the list trusts.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when the list trusts no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The list in the file format, with a header comment.
    pub fn to_text(&self) -> String {
        let mut out = String::from(
            "# Atelier trusted bench keys: one line per key,\n\
             # ed25519 <public key, 64 lowercase hex digits> <label>\n",
        );
        for key in &self.keys {
            out.push_str(KEY_TYPE);
            out.push(' ');
            out.push_str(&key.public_key.to_hex());
            if !key.label.is_empty() {
                out.push(' ');
                out.push_str(&key.label);
            }
            out.push('\n');
        }
        out
    }

    /// Writes the list to the file `path` atomically (mode 0644: it holds public keys only).
    pub fn save(&self, path: &Path) -> Result<(), TrustListError> {
        atomic::replace(path, self.to_text().as_bytes(), 0o644).map_err(|source| {
            TrustListError::Io {
                path: path.to_path_buf(),
                action: "write",
                source,
            }
        })
    }

    fn extend_from_text(&mut self, text: &str, origin: &str) -> Result<(), TrustListError> {
        for (index, raw) in text.lines().enumerate() {
            let syntax = |message: String| TrustListError::Syntax {
                origin: origin.to_owned(),
                line: index + 1,
                message,
            };
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key_type, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            if key_type != KEY_TYPE {
                return Err(syntax(format!(
                    "expected `ed25519 <public key> [label]`, found {key_type:?}"
                )));
            }
            let rest = rest.trim_start();
            let (hex, label) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let public_key = PublicKey::from_hex(hex).map_err(|e| syntax(e.to_string()))?;
            self.add(public_key, label)
                .map_err(|e| syntax(e.to_string()))?;
        }
        Ok(())
    }
}
