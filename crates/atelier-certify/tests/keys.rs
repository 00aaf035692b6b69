//! The bench key file: created once with mode 0600, never overwritten, refused when others
//! could read it, and readable by standard tools (OpenSSL).

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Barrier};

use atelier_certify::{Fingerprint, KeyError, KeyStore, PublicKey, SIGNING_KEY_FILE};
use sha2::{Digest, Sha256};

fn mode_of(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn first_use_creates_a_0600_pkcs8_key_and_later_uses_load_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = KeyStore::open(dir.path()).unwrap();
    assert!(matches!(store.load(), Err(KeyError::NotFound { .. })));

    let created = store.load_or_create().unwrap();
    assert!(created.was_created());
    let path = dir.path().join(SIGNING_KEY_FILE);
    assert_eq!(created.path(), path);
    assert_eq!(mode_of(&path), 0o600);
    let pem = fs::read_to_string(&path).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{pem}");
    assert!(pem.ends_with("-----END PRIVATE KEY-----\n"), "{pem}");
    assert_eq!(
        file_names(dir.path()),
        [SIGNING_KEY_FILE],
        "no temporary file left"
    );

    let again = store.load_or_create().unwrap();
    assert!(!again.was_created());
    assert_eq!(again.public_key(), created.public_key());
    assert_eq!(store.public_key().unwrap(), created.public_key());
    assert_eq!(fs::read_to_string(&path).unwrap(), pem, "never rewritten");
}

#[test]
fn different_benches_get_different_keys() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let ka = KeyStore::open(a.path()).unwrap().public_key().unwrap();
    let kb = KeyStore::open(b.path()).unwrap().public_key().unwrap();
    assert_ne!(ka, kb);
    assert_ne!(ka.fingerprint(), kb.fingerprint());
}

#[test]
fn a_missing_data_directory_is_created_private() {
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("atelier");
    let store = KeyStore::open(&data).unwrap();
    assert_eq!(mode_of(&data), 0o700);
    store.load_or_create().unwrap();
    let file = parent.path().join("file");
    fs::write(&file, "").unwrap();
    assert!(matches!(
        KeyStore::open(&file),
        Err(KeyError::DataDir { .. })
    ));
}

#[test]
fn a_key_readable_by_others_is_refused_with_the_fix() {
    for mode in [
        0o644, 0o640, 0o604, 0o660, 0o606, 0o620, 0o602, 0o700, 0o610,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::open(dir.path()).unwrap();
        let key = store.load_or_create().unwrap();
        fs::set_permissions(key.path(), fs::Permissions::from_mode(mode)).unwrap();
        if mode & 0o077 == 0 {
            // 0700: odd but private.
            assert!(store.load().is_ok(), "{mode:o}");
            continue;
        }
        let err = store.load_or_create().unwrap_err();
        let message = err.to_string();
        assert!(
            matches!(err, KeyError::TooOpen { mode: m, .. } if m == mode),
            "{mode:o}"
        );
        assert!(
            message.contains(&key.path().display().to_string()),
            "{message}"
        );
        assert!(
            message.contains(&format!("chmod 600 {}", key.path().display())),
            "{message}"
        );
        assert!(message.contains(&format!("{mode:04o}")), "{message}");
        // Refused, and left alone.
        assert_eq!(mode_of(key.path()), mode);
    }
}

#[test]
fn a_read_only_key_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let store = KeyStore::open(dir.path()).unwrap();
    let key = store.load_or_create().unwrap();
    fs::set_permissions(key.path(), fs::Permissions::from_mode(0o400)).unwrap();
    assert_eq!(store.load().unwrap().public_key(), key.public_key());
}

#[test]
fn links_directories_and_fifos_are_refused_without_hanging() {
    let elsewhere = tempfile::tempdir().unwrap();
    let real = KeyStore::open(elsewhere.path())
        .unwrap()
        .load_or_create()
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(SIGNING_KEY_FILE);
    symlink(real.path(), &path).unwrap();
    let store = KeyStore::open(dir.path()).unwrap();
    assert!(matches!(
        store.load_or_create(),
        Err(KeyError::NotRegularFile { .. })
    ));
    fs::remove_file(&path).unwrap();

    fs::create_dir(&path).unwrap();
    assert!(matches!(
        store.load_or_create(),
        Err(KeyError::NotRegularFile { .. })
    ));
    fs::remove_dir(&path).unwrap();

    let status = Command::new("mkfifo")
        .arg("-m")
        .arg("600")
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    assert!(matches!(
        store.load_or_create(),
        Err(KeyError::NotRegularFile { .. })
    ));
}

#[test]
fn a_corrupt_key_is_reported_and_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let store = KeyStore::open(dir.path()).unwrap();
    let path = store.key_path();
    for content in [
        &b""[..],
        b"not a key\n",
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        &[0xff, 0xfe, 0x00][..],
    ] {
        let _ = fs::remove_file(&path);
        fs::write(&path, content).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let err = store.load_or_create().unwrap_err();
        assert!(matches!(err, KeyError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains(&path.display().to_string()));
        assert_eq!(fs::read(&path).unwrap(), content, "left as it was");
    }
}

#[test]
fn a_key_owned_by_another_user_is_refused() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("SKIP: changing a file's owner needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = KeyStore::open(dir.path()).unwrap();
    let key = store.load_or_create().unwrap();
    std::os::unix::fs::chown(key.path(), Some(4242), None).unwrap();
    let err = store.load().unwrap_err();
    assert!(
        matches!(
            err,
            KeyError::WrongOwner {
                owner: 4242,
                euid: 0,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn benches_racing_to_create_the_key_end_up_with_one() {
    for _round in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let threads = 8;
        let barrier = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let path = dir.path().to_path_buf();
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    let store = KeyStore::open(&path).unwrap();
                    barrier.wait();
                    let key = store.load_or_create().unwrap();
                    (key.public_key(), key.was_created())
                })
            })
            .collect();
        let results: Vec<(PublicKey, bool)> =
            handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert!(
            results.iter().all(|(k, _)| *k == results[0].0),
            "one key for all"
        );
        assert_eq!(results.iter().filter(|(_, created)| *created).count(), 1);
        assert_eq!(file_names(dir.path()), [SIGNING_KEY_FILE]);
    }
}

#[test]
fn a_temporary_file_left_by_a_crash_does_not_matter() {
    let dir = tempfile::tempdir().unwrap();
    let stray = dir
        .path()
        .join(format!(".{SIGNING_KEY_FILE}.tmp-1-0011223344556677"));
    fs::write(&stray, "-----BEGIN PRIVATE KEY-----\nhalf").unwrap();
    let store = KeyStore::open(dir.path()).unwrap();
    let key = store.load_or_create().unwrap();
    assert!(key.was_created());
    assert_eq!(store.load().unwrap().public_key(), key.public_key());
}

#[test]
fn fingerprints_are_the_first_eight_bytes_of_the_sha256_of_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyStore::open(dir.path()).unwrap().public_key().unwrap();
    let digest = Sha256::digest(key.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let expected = format!(
        "{}-{}-{}-{}",
        &hex[0..4],
        &hex[4..8],
        &hex[8..12],
        &hex[12..16]
    );
    let fingerprint = key.fingerprint();
    assert_eq!(fingerprint.to_string(), expected);
    assert_eq!(expected.parse::<Fingerprint>().unwrap(), fingerprint);
    for bad in [
        hex.clone(),
        expected.to_uppercase(),
        expected.replace('-', " "),
        format!("{expected}-0000"),
    ] {
        assert!(bad.parse::<Fingerprint>().is_err(), "{bad}");
    }
}

#[test]
fn public_keys_are_64_lowercase_hex_digits_of_a_usable_point() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyStore::open(dir.path()).unwrap().public_key().unwrap();
    let hex = key.to_hex();
    assert_eq!(hex.len(), 64);
    assert_eq!(PublicKey::from_hex(&hex).unwrap(), key);
    assert_eq!(hex.parse::<PublicKey>().unwrap(), key);
    assert!(PublicKey::from_hex(&hex.to_uppercase()).is_err());
    assert!(PublicKey::from_hex(&hex[..62]).is_err());
    // The identity point (encoded 01 00…00) has small order: any signature would match it.
    let identity = format!("01{}", "0".repeat(62));
    assert!(PublicKey::from_hex(&identity).is_err());
}

#[test]
fn openssl_reads_the_key_file_and_agrees_on_the_public_key() {
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("SKIP: openssl is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = KeyStore::open(dir.path())
        .unwrap()
        .load_or_create()
        .unwrap();
    let out = Command::new("openssl")
        .args(["pkey", "-pubout", "-outform", "DER", "-in"])
        .arg(key.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // SubjectPublicKeyInfo for Ed25519: a 12-byte header, then the 32 key bytes.
    assert_eq!(out.stdout.len(), 44);
    assert_eq!(&out.stdout[12..], key.public_key().as_bytes());
    // And our PEM form of the public key is what OpenSSL writes.
    let pem = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(key.path())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(pem.stdout).unwrap(),
        key.public_key().to_pem()
    );
}
