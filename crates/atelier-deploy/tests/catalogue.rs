//! The image catalogue: strict reading (typos named with their line), hash checks against
//! images read for real, and the content-addressed cache.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;

use atelier_deploy::catalogue::{
    Cache, CacheError, Catalogue, CatalogueError, CustomisationKind, HashKind,
};
use atelier_deploy::image::{ImageDigests, OpenOptions, open_image, parse_sha256};
use atelier_testkit::Rng;

const A: &str = "a3f1c6d2e5b4a3f1c6d2e5b4a3f1c6d2e5b4a3f1c6d2e5b4a3f1c6d2e5b4a3f1";
const B: &str = "B0B1B2B3B4B5B6B7B8B9BABBBCBDBEBFB0B1B2B3B4B5B6B7B8B9BABBBCBDBEBF";

fn catalogue_text() -> String {
    format!(
        r#"# Images on this stick
[[image]]
name = "raspios-trixie-lite-arm64"
version = "2025-10-01"
file = "images/raspios-lite.img.xz"
url = "https://downloads.example/raspios-lite.img.xz"
sha256 = "{A}"
bmap = "images/raspios-lite.bmap"
customisation = "cloud-init"
description = "Raspberry Pi OS Lite, 64-bit"

[[image]]
name = "mint-22-golden"
file = "golden/mint.img.zst"
image_sha256 = "{B}"
customisation = "golden"
"#
    )
}

fn parse(text: &str) -> Result<Catalogue, CatalogueError> {
    Catalogue::parse(text, Path::new("/media/stick/images.toml"))
}

#[test]
fn a_catalogue_is_read_with_its_paths_resolved() {
    let cat = parse(&catalogue_text()).unwrap();
    assert_eq!(cat.images().len(), 2);
    let pi = cat.find("raspios-trixie-lite-arm64").unwrap();
    assert_eq!(pi.version.as_deref(), Some("2025-10-01"));
    assert_eq!(
        pi.file.as_deref(),
        Some(Path::new("/media/stick/images/raspios-lite.img.xz"))
    );
    assert_eq!(
        pi.bmap.as_deref(),
        Some(Path::new("/media/stick/images/raspios-lite.bmap"))
    );
    assert_eq!(
        pi.url.as_deref(),
        Some("https://downloads.example/raspios-lite.img.xz")
    );
    assert_eq!(pi.sha256, parse_sha256(A));
    assert_eq!(pi.image_sha256, None);
    assert_eq!(pi.customisation, CustomisationKind::CloudInit);
    assert_eq!(pi.line, 2);
    let mint = cat.find("mint-22-golden").unwrap();
    assert_eq!(mint.image_sha256, parse_sha256(B));
    assert_eq!(mint.customisation.name(), "golden");
    assert_eq!(mint.line, 12);
    assert!(cat.find("nothing").is_none());
    // Every customisation name.
    for (name, kind) in [
        ("cloud-init", CustomisationKind::CloudInit),
        ("firstrun", CustomisationKind::Firstrun),
        ("rpi-preseed", CustomisationKind::RpiPreseed),
        ("golden", CustomisationKind::Golden),
        ("none", CustomisationKind::None),
    ] {
        let text = catalogue_text().replace("\"golden\"", &format!("\"{name}\""));
        let cat = parse(&text).unwrap();
        assert_eq!(cat.find("mint-22-golden").unwrap().customisation, kind);
        assert_eq!(kind.name(), name);
    }
    // An empty catalogue is a catalogue.
    assert!(parse("").unwrap().images().is_empty());
}

#[test]
fn typos_are_errors_naming_the_key_and_the_line() {
    let text = catalogue_text().replace("sha256 = \"a3", "sha265 = \"a3");
    let err = parse(&text).unwrap_err();
    match &err {
        CatalogueError::UnknownKey {
            key,
            line,
            expected,
            ..
        } => {
            assert_eq!(key, "sha265");
            assert_eq!(*line, 7);
            assert!(expected.contains("image_sha256"), "{expected}");
        }
        other => panic!("{other}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("images.toml") && msg.contains("line 7") && msg.contains("sha265"),
        "{msg}"
    );

    let err =
        parse(&catalogue_text().replace("[[image]]\nname = \"mint", "[[images]]\nname = \"mint"))
            .unwrap_err();
    assert!(
        matches!(err, CatalogueError::UnknownKey { ref key, line: 12, .. } if key == "images"),
        "{err}"
    );

    let err = parse(&catalogue_text().replace("\"cloud-init\"", "\"cloudinit\"")).unwrap_err();
    assert!(
        matches!(err, CatalogueError::Syntax { line: 9, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("cloudinit"), "{err}");

    let err = parse(&catalogue_text().replace("customisation = \"golden\"\n", "")).unwrap_err();
    assert!(matches!(err, CatalogueError::Syntax { .. }), "{err}");
    assert!(err.to_string().contains("customisation"), "{err}");

    let err = parse("[[image]\nname = 1\n").unwrap_err();
    assert!(
        matches!(err, CatalogueError::Syntax { line: 1, .. }),
        "{err}"
    );
    let err =
        parse(&catalogue_text().replace("version = \"2025-10-01\"", "version = 2025")).unwrap_err();
    assert!(
        matches!(err, CatalogueError::Syntax { line: 4, .. }),
        "{err}"
    );
}

#[test]
fn wrong_values_are_errors_naming_the_image_and_the_line() {
    let invalid = |text: String| match parse(&text).unwrap_err() {
        CatalogueError::Invalid {
            line,
            image,
            message,
            ..
        } => (line, image, message),
        other => panic!("{other}"),
    };
    let (line, image, message) = invalid(catalogue_text().replace(A, "abc123"));
    assert_eq!((line, image.as_str()), (7, "raspios-trixie-lite-arm64"));
    assert!(message.contains("not a SHA-256"), "{message}");

    let (line, _, message) =
        invalid(catalogue_text().replace(&format!("image_sha256 = \"{B}\"\n"), ""));
    assert_eq!(line, 13);
    assert!(message.contains("no hash"), "{message}");

    let (_, _, message) = invalid(catalogue_text().replace("file = \"golden/mint.img.zst\"\n", ""));
    assert!(message.contains("no source"), "{message}");

    let (line, _, message) =
        invalid(catalogue_text().replace("mint-22-golden", "raspios-trixie-lite-arm64"));
    assert_eq!(line, 13);
    assert!(message.contains("line 2"), "{message}");

    let (_, _, message) = invalid(catalogue_text().replace("https://downloads", "ftp://downloads"));
    assert!(message.contains("http"), "{message}");

    // A download is checked against the file's hash before it enters the cache.
    let (line, _, message) = invalid(catalogue_text().replace(
        &format!("sha256 = \"{A}\"\n"),
        &format!("image_sha256 = \"{A}\"\n"),
    ));
    assert_eq!(line, 6);
    assert!(message.contains("url needs sha256"), "{message}");

    let (_, _, message) = invalid(catalogue_text().replace("mint-22-golden", "mint 22"));
    assert!(message.contains("letters"), "{message}");
}

fn sha256sum(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

fn digests_of(path: &Path, opts: &OpenOptions) -> ImageDigests {
    let mut reader = open_image(path, opts).unwrap();
    let mut sink = Vec::new();
    reader.read_to_end(&mut sink).unwrap();
    reader.finish().unwrap()
}

#[test]
fn hashes_of_a_real_image_are_checked_against_the_catalogue() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("disk.img");
    let mut rng = Rng::new(3);
    let data: Vec<u8> = (0..(1 << 20))
        .map(|i| if i % 3 == 0 { rng.byte() } else { 0 })
        .collect();
    fs::write(&raw, &data).unwrap();
    let status = Command::new("xz")
        .args(["-k", "-T2"])
        .arg(&raw)
        .status()
        .unwrap();
    assert!(status.success());
    let xz = dir.path().join("disk.img.xz");
    let file_hash = sha256sum(&xz);
    let image_hash = sha256sum(&raw);
    let entry = |keys: &str| {
        let text = format!(
            "[[image]]\nname = \"disk\"\nfile = \"disk.img.xz\"\n{keys}customisation = \"none\"\n"
        );
        Catalogue::parse(&text, &dir.path().join("images.toml"))
            .unwrap()
            .find("disk")
            .unwrap()
            .clone()
    };
    let digests = digests_of(&xz, &OpenOptions::default());

    let by_file = entry(&format!("sha256 = \"{file_hash}\"\n"));
    let check = by_file.check(&digests);
    assert!(check.matches && check.which == HashKind::File, "{check}");
    let by_image = entry(&format!("image_sha256 = \"{image_hash}\"\n"));
    let check = by_image.check(&digests);
    assert!(check.matches && check.which == HashKind::Image, "{check}");
    assert!(check.to_string().contains("matches"));
    let both = entry(&format!(
        "sha256 = \"{file_hash}\"\nimage_sha256 = \"{image_hash}\"\n"
    ));
    assert!(both.check(&digests).matches);

    // A wrong catalogue hash fails, and says which.
    let wrong = entry(&format!(
        "sha256 = \"{file_hash}\"\nimage_sha256 = \"{A}\"\n"
    ));
    let check = wrong.check(&digests);
    assert!(!check.matches);
    assert_eq!(check.which, HashKind::Image);
    assert!(
        check.to_string().contains("not the published one"),
        "{check}"
    );
    // The file was not hashed: a file hash cannot be confirmed.
    let unhashed = digests_of(
        &xz,
        &OpenOptions {
            hash_file: false,
            ..OpenOptions::default()
        },
    );
    let check = by_file.check(&unhashed);
    assert!(!check.matches && check.computed.is_none(), "{check}");

    // A flipped byte in a raw source: the image hash no longer matches.
    let mut flipped = data.clone();
    flipped[500_000] ^= 1;
    fs::write(&raw, &flipped).unwrap();
    let digests = digests_of(&raw, &OpenOptions::default());
    assert!(!by_image.check(&digests).matches);
    // For a raw image, the file is the image: its file hash is checked as well.
    let raw_entry = entry(&format!("sha256 = \"{image_hash}\"\n"));
    assert!(!raw_entry.check(&digests).matches);
    fs::write(&raw, &data).unwrap();
    assert!(
        raw_entry
            .check(&digests_of(&raw, &OpenOptions::default()))
            .matches
    );
}

#[test]
fn the_cache_keeps_files_by_hash_and_rechecks_them() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(&dir.path().join("cache")).unwrap();
    let src = dir.path().join("download.img.xz");
    let mut rng = Rng::new(9);
    let content: Vec<u8> = (0..300_000).map(|_| rng.byte()).collect();
    fs::write(&src, &content).unwrap();
    let hash = parse_sha256(&sha256sum(&src)).unwrap();
    let other = parse_sha256(A).unwrap();

    assert!(cache.get(&hash).unwrap().is_none());
    // A wrong expected hash: nothing is kept.
    let err = cache.insert(&src, &other).unwrap_err();
    assert!(matches!(err, CacheError::Mismatch { .. }), "{err}");
    assert_eq!(fs::read_dir(cache.dir()).unwrap().count(), 0);

    let path = cache.insert(&src, &hash).unwrap();
    assert_eq!(path, cache.path_for(&hash));
    assert_eq!(fs::read(&path).unwrap(), content);
    assert_eq!(cache.get(&hash).unwrap(), Some(path.clone()));
    cache.verify(&path, &hash).unwrap();

    // Damaged in place: refused before use, and left there for the operator.
    let mut bytes = fs::read(&path).unwrap();
    bytes[123_456] ^= 0x10;
    fs::write(&path, &bytes).unwrap();
    let err = cache.get(&hash).unwrap_err();
    assert!(matches!(err, CacheError::Mismatch { .. }), "{err}");
    assert!(
        err.to_string()
            .contains(&format!("sha256-{}", sha256sum(&src))),
        "{err}"
    );
    assert!(path.exists());

    // A writer dropped before commit leaves nothing behind.
    fs::remove_file(&path).unwrap();
    {
        let mut w = cache.writer().unwrap();
        w.write_all(&content[..1000]).unwrap();
    }
    assert_eq!(fs::read_dir(cache.dir()).unwrap().count(), 0);
    let mut w = cache.writer().unwrap();
    w.write_all(&content).unwrap();
    assert_eq!(w.commit(&hash).unwrap(), path);
    assert!(cache.get(&hash).unwrap().is_some());
}
