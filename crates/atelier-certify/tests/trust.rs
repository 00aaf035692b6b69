//! The trust list file: its format, its errors, the directory form, atomic saves.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use atelier_certify::{TRUSTED_KEYS_FILE, TrustList, TrustListError};
use common::*;

#[test]
fn parses_keys_labels_comments_and_blank_lines() {
    let (a, b) = (bench_key(), bench_key());
    let text = format!(
        "# Atelier trusted bench keys\n\
         \n\
         ed25519 {}  banc-1, Repair café Lyon  \n\
         \t# bench 2 moved to Grenoble\n\
         ed25519\t{}\n",
        a.key.public_key(),
        b.key.public_key()
    );
    let list = TrustList::parse(&text, "trusted-keys").unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(
        list.get(&a.key.public_key()).unwrap().label,
        "banc-1, Repair café Lyon"
    );
    assert_eq!(list.get(&b.key.public_key()).unwrap().label, "");
    assert!(list.contains(&b.key.public_key()));
    assert!(!list.contains(&bench_key().key.public_key()));
    let order: Vec<_> = list.iter().map(|k| k.public_key).collect();
    assert_eq!(order, [a.key.public_key(), b.key.public_key()]);
}

#[test]
fn errors_name_the_file_and_the_line() {
    let a = bench_key();
    let key = a.key.public_key().to_hex();
    let cases = [
        (format!("ssh-ed25519 {key}\n"), 1, "expected `ed25519"),
        (
            format!("# c\ned25519 {}\n", key.to_uppercase()),
            2,
            "lowercase hex",
        ),
        (format!("ed25519 {}\n", &key[..40]), 1, "64 lowercase hex"),
        ("ed25519\n".to_string(), 1, "64 lowercase hex"),
        (
            format!("ed25519 {key} a\n\ned25519 {key} b\n"),
            3,
            "already trusted",
        ),
        (format!("ed25519 01{}\n", "0".repeat(62)), 1, "not a usable"),
    ];
    for (text, line, words) in cases {
        match TrustList::parse(&text, "/data/trusted-keys") {
            Err(e @ TrustListError::Syntax { line: l, .. }) => {
                assert_eq!(l, line, "{e}");
                let message = e.to_string();
                assert!(message.starts_with(&format!("/data/trusted-keys, line {line}: ")));
                assert!(message.contains(words), "{message}");
            }
            other => panic!("{text:?}: {other:?}"),
        }
    }
}

#[test]
fn saves_atomically_and_reads_back() {
    let (a, b) = (bench_key(), bench_key());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(TRUSTED_KEYS_FILE);
    let list = trusting(&[(&a, "banc-1"), (&b, "banc-2 (Grenoble)")]);
    fs::write(&path, "old content\n").unwrap();
    list.save(&path).unwrap();
    assert_eq!(TrustList::load(&path).unwrap(), list);
    assert_eq!(TrustList::load_from_data_dir(dir.path()).unwrap(), list);
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o644
    );
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, [TRUSTED_KEYS_FILE], "no temporary file left");
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.starts_with('#'));
    assert!(text.contains(&format!(
        "ed25519 {} banc-2 (Grenoble)\n",
        b.key.public_key()
    )));
}

#[test]
fn a_directory_holds_one_file_per_bench() {
    let (a, b, c) = (bench_key(), bench_key(), bench_key());
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join(TRUSTED_KEYS_FILE);
    fs::create_dir(&dir).unwrap();
    fs::write(
        dir.join("banc-2.pub"),
        format!("ed25519 {} banc-2\n", b.key.public_key()),
    )
    .unwrap();
    fs::write(
        dir.join("banc-1.pub"),
        format!("ed25519 {} banc-1\n", a.key.public_key()),
    )
    .unwrap();
    // Editor backups and hidden files are not read.
    fs::write(
        dir.join("banc-3.pub~"),
        format!("ed25519 {} old\n", c.key.public_key()),
    )
    .unwrap();
    fs::write(dir.join(".banc-3.pub.swp"), "garbage").unwrap();
    let list = TrustList::load_from_data_dir(data.path()).unwrap();
    let labels: Vec<_> = list.iter().map(|k| k.label.as_str()).collect();
    assert_eq!(labels, ["banc-1", "banc-2"]);
    assert!(!list.contains(&c.key.public_key()));

    // The same key in two files is a mistake worth hearing about.
    fs::write(
        dir.join("banc-9.pub"),
        format!("ed25519 {}\n", a.key.public_key()),
    )
    .unwrap();
    let err = TrustList::load(&dir).unwrap_err().to_string();
    assert!(err.contains("banc-9.pub, line 1"), "{err}");
}

#[test]
fn no_trust_list_trusts_nothing_but_an_unreadable_one_is_an_error() {
    let data = tempfile::tempdir().unwrap();
    assert!(
        TrustList::load_from_data_dir(data.path())
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        TrustList::load(&data.path().join("nope")),
        Err(TrustListError::Io { .. })
    ));
}

#[test]
fn labels_are_one_line() {
    let a = bench_key();
    let mut list = TrustList::new();
    assert!(matches!(
        list.add(a.key.public_key(), "banc-1\ned25519 forged"),
        Err(TrustListError::BadLabel(_))
    ));
    list.add(a.key.public_key(), "banc-1").unwrap();
    assert!(matches!(
        list.add(a.key.public_key(), "again"),
        Err(TrustListError::AlreadyTrusted { .. })
    ));
}
