//! The bench's signing key, its public half and the fingerprint read aloud to register it.
//!
//! # The key file
//!
//! `bench-signing-key` ([`SIGNING_KEY_FILE`]) in the data directory: the Ed25519 private key
//! as PKCS#8 (RFC 5208 / RFC 8410) in PEM, `-----BEGIN PRIVATE KEY-----`, the form
//! `openssl genpkey -algorithm ed25519` writes; `openssl pkey -in bench-signing-key -pubout`
//! prints its public key. It is created on first use from 32 bytes of the operating system's
//! random generator, with mode 0600 from the start (created under a temporary name with
//! `O_CREAT | O_EXCL` and that mode, flushed, then linked into place, so it never exists half
//! written and two processes starting at once end up with one key). It is never overwritten.
//!
//! Before use the file must be a regular file (not a symbolic link), owned by the user running
//! Atelier, and neither readable nor writable by group or others; otherwise the key is refused
//! with an error naming the file and the fix. On a filesystem that has no Unix permissions
//! (FAT, exFAT) the check cannot pass: the data partition must be a Unix filesystem.
//!
//! # Public key and fingerprint
//!
//! A public key is written as 64 lowercase hex digits (its 32 bytes, RFC 8032). Its
//! fingerprint is the first 8 bytes of the SHA-256 of those 32 bytes, as four groups of four
//! hex digits (`3d40-17c3-e843-895a`): short enough to read aloud over the phone when the
//! organisation registers the bench. Trust is decided on the whole key, never on the
//! fingerprint alone.

use std::fmt;
use std::fs::{DirBuilder, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, KeypairBytes};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::{atomic, hex};

/// Name of the bench's signing-key file in the data directory.
pub const SIGNING_KEY_FILE: &str = "bench-signing-key";

/// A key file larger than this is not a PEM Ed25519 key.
const MAX_KEY_FILE_BYTES: u64 = 16 * 1024;

/// Why the bench key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The data directory cannot be created or is not a directory.
    #[error("cannot use the data directory {}: {source}", path.display())]
    DataDir {
        /// The data directory.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// There is no key file yet ([`KeyStore::load`] only).
    #[error("there is no bench signing key at {} yet", path.display())]
    NotFound {
        /// Where the key was looked for.
        path: PathBuf,
    },
    /// Reading or writing the key file failed.
    #[error("cannot {action} the bench signing key {}: {source}", path.display())]
    Io {
        /// The key file.
        path: PathBuf,
        /// `read` or `create`.
        action: &'static str,
        /// What the system said.
        source: io::Error,
    },
    /// The key file is a symbolic link, a directory or a device.
    #[error(
        "{} is not a regular file (a symbolic link, a directory or a device); the bench \
         signing key must be a plain file in the data directory",
        path.display()
    )]
    NotRegularFile {
        /// The key file.
        path: PathBuf,
    },
    /// Group or others may read or write the key file.
    #[error(
        "refusing the bench signing key {path}: its mode is {mode:04o}, so group or others may \
         read or change it; it must be 0600. Fix: `chmod 600 {path}`. If someone else may have \
         read it, treat the key as compromised: move the file away, let Atelier create a new key \
         and register the new public key with your organisation",
        path = path.display()
    )]
    TooOpen {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file belongs to another user.
    #[error(
        "refusing the bench signing key {path}: it belongs to uid {owner}, not to the user \
         running Atelier (uid {euid}), who could otherwise have it replaced. Fix: \
         `chown {euid} {path}` if the file is genuine",
        path = path.display()
    )]
    WrongOwner {
        /// The key file.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// The effective user running Atelier.
        euid: u32,
    },
    /// The key file is not a PKCS#8 PEM Ed25519 private key.
    #[error(
        "the bench signing key {} is not a PKCS#8 PEM Ed25519 private key ({detail}). Atelier \
         never overwrites it: move it away to have a new key created, then register the new \
         public key with your organisation",
        path.display()
    )]
    Corrupt {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// The operating system's random generator failed.
    #[error("the operating system gave no random bytes for a new key: {0}")]
    Random(String),
}

/// An Ed25519 public key that is a valid, non-degenerate curve point.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey([u8; 32]);

/// Why a text is not a public key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublicKeyError {
    /// Not 64 lowercase hex digits.
    #[error("a public key is 64 lowercase hex digits, not {0:?}")]
    Encoding(String),
    /// Not a point of the curve, or a small-order point that any signature would match.
    #[error("{0} is not a usable Ed25519 public key")]
    NotAKey(String),
}

impl PublicKey {
    /// Parses 64 lowercase hex digits.
    pub fn from_hex(text: &str) -> Result<Self, PublicKeyError> {
        let bytes: [u8; 32] =
            hex::decode_array(text).ok_or_else(|| PublicKeyError::Encoding(text.to_owned()))?;
        Self::from_bytes(&bytes).ok_or_else(|| PublicKeyError::NotAKey(text.to_owned()))
    }

    /// The key with these 32 bytes, if it is a usable Ed25519 public key.
    pub fn from_bytes(bytes: &[u8; 32]) -> Option<Self> {
        let key = VerifyingKey::from_bytes(bytes).ok()?;
        (!key.is_weak()).then_some(PublicKey(*bytes))
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.as_bytes())
    }

    /// The short fingerprint, for reading aloud.
    pub fn fingerprint(&self) -> Fingerprint {
        let digest = Sha256::digest(self.as_bytes());
        let mut short = [0u8; 8];
        short.copy_from_slice(&digest[..8]);
        Fingerprint(short)
    }

    /// The key as a PEM `PUBLIC KEY` (SubjectPublicKeyInfo, RFC 8410), for tools such as
    /// `openssl pkeyutl -verify`.
    pub fn to_pem(&self) -> String {
        self.verifying_key()
            .and_then(|k| k.to_public_key_pem(LineEnding::LF).ok())
            .unwrap_or_default()
    }

    /// The curve point (always `Some`: `from_bytes`, the only way to make a `PublicKey`,
    /// checked it).
    pub(crate) fn verifying_key(&self) -> Option<VerifyingKey> {
        VerifyingKey::from_bytes(&self.0).ok()
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_hex())
    }
}

impl FromStr for PublicKey {
    type Err = PublicKeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_hex(s)
    }
}

/// The first 8 bytes of the SHA-256 of a public key, written `3d40-17c3-e843-895a`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint([u8; 8]);

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = hex::encode(&self.0);
        for (i, group) in digits.as_bytes().chunks(4).enumerate() {
            if i > 0 {
                f.write_str("-")?;
            }
            f.write_str(std::str::from_utf8(group).map_err(|_| fmt::Error)?)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl FromStr for Fingerprint {
    type Err = String;

    /// Parses exactly the form [`Fingerprint`]'s `Display` writes.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("a key fingerprint is written like 3d40-17c3-e843-895a, not {s:?}");
        let groups: Vec<&str> = s.split('-').collect();
        if groups.len() != 4 || groups.iter().any(|g| g.len() != 4) {
            return Err(bad());
        }
        hex::decode_array(&groups.concat())
            .map(Fingerprint)
            .ok_or_else(bad)
    }
}

/// The bench's private signing key, loaded from its file.
pub struct BenchKey {
    signing: SigningKey,
    public: PublicKey,
    path: PathBuf,
    created: bool,
}

impl BenchKey {
    /// The public half, to register with the organisation.
    pub fn public_key(&self) -> PublicKey {
        self.public
    }

    /// The public key's fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        self.public.fingerprint()
    }

    /// The key file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True when this call created the key (it did not exist before): time to register it.
    pub fn was_created(&self) -> bool {
        self.created
    }

    pub(crate) fn sign(&self, message: &[u8]) -> Signature {
        self.signing.sign(message)
    }
}

impl fmt::Debug for BenchKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BenchKey")
            .field("public", &self.public)
            .field("path", &self.path)
            .field("created", &self.created)
            .finish_non_exhaustive()
    }
}

/// Where the bench key lives: the data directory.
#[derive(Debug, Clone)]
pub struct KeyStore {
    dir: PathBuf,
}

impl KeyStore {
    /// The key store in `data_dir`, creating the directory (mode 0700) when it does not exist.
    pub fn open(data_dir: &Path) -> Result<Self, KeyError> {
        let dir_err = |source| KeyError::DataDir {
            path: data_dir.to_path_buf(),
            source,
        };
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(data_dir)
            .map_err(dir_err)?;
        if !data_dir.metadata().map_err(dir_err)?.is_dir() {
            return Err(dir_err(io::Error::other("not a directory")));
        }
        Ok(Self {
            dir: data_dir.to_path_buf(),
        })
    }

    /// The key file: `DATA_DIR/bench-signing-key`.
    pub fn key_path(&self) -> PathBuf {
        self.dir.join(SIGNING_KEY_FILE)
    }

    /// Loads the existing key; [`KeyError::NotFound`] when there is none.
    pub fn load(&self) -> Result<BenchKey, KeyError> {
        load_key(&self.key_path())
    }

    /// Loads the key, creating it first when there is none ([`BenchKey::was_created`] then
    /// says so). Two processes calling this at once get the same key.
    pub fn load_or_create(&self) -> Result<BenchKey, KeyError> {
        match self.load() {
            Err(KeyError::NotFound { .. }) => self.create(),
            other => other,
        }
    }

    /// The bench's public key, creating the key on first use (see [`KeyStore::load_or_create`]).
    pub fn public_key(&self) -> Result<PublicKey, KeyError> {
        self.load_or_create().map(|k| k.public_key())
    }

    fn create(&self) -> Result<BenchKey, KeyError> {
        let path = self.key_path();
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut()).map_err(|e| KeyError::Random(e.to_string()))?;
        // PKCS#8 v1 (no public key inside): what `openssl genpkey -algorithm ed25519` writes.
        let pem = KeypairBytes {
            secret_key: *seed,
            public_key: None,
        }
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| KeyError::Corrupt {
            path: path.clone(),
            detail: format!("cannot encode a new key: {e}"),
        })?;
        match atomic::create_new(&path, pem.as_bytes(), 0o600) {
            Ok(()) => {
                // Read it back: this also proves the filesystem kept the 0600 mode.
                let mut key = load_key(&path)?;
                key.created = true;
                Ok(key)
            }
            // Another process created it meanwhile: use theirs.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => load_key(&path),
            Err(source) => Err(KeyError::Io {
                path,
                action: "create",
                source,
            }),
        }
    }
}

fn load_key(path: &Path) -> Result<BenchKey, KeyError> {
    let io_err = |source| KeyError::Io {
        path: path.to_path_buf(),
        action: "read",
        source,
    };
    // O_NOFOLLOW: a symbolic link is refused; O_NONBLOCK: a FIFO does not hang the open.
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(KeyError::NotFound {
                path: path.to_path_buf(),
            });
        }
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(KeyError::NotRegularFile {
                path: path.to_path_buf(),
            });
        }
        Err(e) => return Err(io_err(e)),
    };
    // Checked on the open file, so the file checked is the file read.
    let meta = file.metadata().map_err(io_err)?;
    if !meta.file_type().is_file() {
        return Err(KeyError::NotRegularFile {
            path: path.to_path_buf(),
        });
    }
    let euid = nix::unistd::geteuid().as_raw();
    if meta.uid() != euid {
        return Err(KeyError::WrongOwner {
            path: path.to_path_buf(),
            owner: meta.uid(),
            euid,
        });
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyError::TooOpen {
            path: path.to_path_buf(),
            mode,
        });
    }
    let corrupt = |detail: String| KeyError::Corrupt {
        path: path.to_path_buf(),
        detail,
    };
    let mut text = Zeroizing::new(String::new());
    file.take(MAX_KEY_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| match e.kind() {
            io::ErrorKind::InvalidData => corrupt("not text".into()),
            _ => io_err(e),
        })?;
    if text.len() as u64 > MAX_KEY_FILE_BYTES {
        return Err(corrupt(format!("larger than {MAX_KEY_FILE_BYTES} bytes")));
    }
    let signing = SigningKey::from_pkcs8_pem(&text).map_err(|e| corrupt(e.to_string()))?;
    let public = PublicKey::from_bytes(signing.verifying_key().as_bytes())
        .ok_or_else(|| corrupt("its public key is a degenerate point".into()))?;
    Ok(BenchKey {
        signing,
        public,
        path: path.to_path_buf(),
        created: false,
    })
}
