//! Image sources: every container made by the real tool (xz, zstd, gzip, zip), decoded and
//! hashed; truncated, damaged, padded and misnamed files refused with the right error.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use atelier_deploy::image::{
    DecodeThread, ImageDigests, ImageError, ImageFormat, ImageReader, OpenOptions, open_image,
    to_hex,
};
use atelier_testkit::Rng;
use sha2::{Digest, Sha256};

/// An image of `size` bytes: runs of random bytes and zeros, like a disk image.
fn image_bytes(size: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut data = vec![0u8; size];
    let mut pos = 0;
    let mut random = true;
    while pos < size {
        let run = (1 + rng.below(64)) * 16 * 1024;
        let end = (pos + run).min(size);
        if random {
            for b in &mut data[pos..end] {
                *b = rng.byte();
            }
        } else {
            // Some text-like content too, so that compressors have something to match.
            for (i, b) in data[pos..end].iter_mut().enumerate() {
                *b = if i % 4096 < 64 { b"atelier "[i % 8] } else { 0 };
            }
        }
        pos = end;
        random = !random;
    }
    data
}

fn sh(script: &str) {
    let out = Command::new("sh").args(["-c", script]).output().unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

struct Fixture {
    dir: tempfile::TempDir,
    data: Vec<u8>,
    raw: PathBuf,
}

impl Fixture {
    fn new(size: usize) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let data = image_bytes(size, size as u64);
        let raw = dir.path().join("disk.img");
        fs::write(&raw, &data).unwrap();
        Fixture { dir, data, raw }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `cmd` with `{raw}` and `{out}` replaced, returns `out`.
    fn make(&self, name: &str, cmd: &str) -> PathBuf {
        let out = self.path(name);
        let script = cmd
            .replace("{raw}", &self.raw.display().to_string())
            .replace("{out}", &out.display().to_string())
            .replace("{dir}", &self.dir.path().display().to_string());
        sh(&script);
        out
    }
}

fn read_all(mut reader: ImageReader) -> Result<(Vec<u8>, ImageDigests), ImageError> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 100_003]; // odd size: chunk boundaries fall anywhere
    loop {
        let n = reader.read_image(&mut buf)?;
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    let digests = reader.finish()?;
    Ok((out, digests))
}

fn modes() -> [OpenOptions; 3] {
    [
        DecodeThread::Auto,
        DecodeThread::Separate,
        DecodeThread::Caller,
    ]
    .map(|decode_thread| OpenOptions {
        decode_thread,
        ..OpenOptions::default()
    })
}

fn decode(path: &Path, opts: &OpenOptions) -> Result<(Vec<u8>, ImageDigests), ImageError> {
    read_all(open_image(path, opts)?)
}

/// Decodes with both engines and checks bytes, hashes, sizes and the size hint.
fn check_round_trip(fx: &Fixture, path: &Path, format: ImageFormat, exact_hint: bool) {
    let file = fs::read(path).unwrap();
    for opts in modes() {
        let reader = open_image(path, &opts).unwrap();
        assert_eq!(reader.format(), format, "{}", path.display());
        assert_eq!(reader.file_size(), file.len() as u64);
        assert_eq!(
            reader.decoded_size_hint(),
            Some(fx.data.len() as u64),
            "size hint of {}",
            path.display()
        );
        assert_eq!(reader.decoded_size_is_exact(), exact_hint);
        let (out, d) = read_all(reader).unwrap();
        assert!(out == fx.data, "{} decodes to other bytes", path.display());
        assert_eq!(d.image_sha256, Some(sha256(&fx.data)));
        assert_eq!(d.file_sha256, Some(sha256(&file)));
        assert_eq!(d.image_bytes, fx.data.len() as u64);
        assert_eq!(d.file_bytes, file.len() as u64);
    }
    // Without the file hash.
    let opts = OpenOptions {
        hash_file: false,
        ..OpenOptions::default()
    };
    let (_, d) = decode(path, &opts).unwrap();
    assert_eq!(d.file_sha256, None);
    assert_eq!(d.image_sha256, Some(sha256(&fx.data)));
}

#[test]
fn every_container_decodes_to_the_image_and_hashes_both_forms() {
    let fx = Fixture::new(6 << 20);
    check_round_trip(&fx, &fx.raw, ImageFormat::Raw, true);
    let xz_multi = fx.make("multi.img.xz", "xz -T2 --block-size=1MiB -c {raw} > {out}");
    check_round_trip(&fx, &xz_multi, ImageFormat::Xz, true);
    let xz_single = fx.make("single.img.xz", "xz -T1 -c {raw} > {out}");
    check_round_trip(&fx, &xz_single, ImageFormat::Xz, true);
    let xz_sha = fx.make("sha.img.xz", "xz -T1 -C sha256 -c {raw} > {out}");
    check_round_trip(&fx, &xz_sha, ImageFormat::Xz, true);
    let zst = fx.make("disk.img.zst", "zstd -q -c {raw} > {out}");
    check_round_trip(&fx, &zst, ImageFormat::Zstd, false);
    let gz = fx.make("disk.img.gz", "gzip -c {raw} > {out}");
    check_round_trip(&fx, &gz, ImageFormat::Gzip, false);
    let zip = fx.make("deflated.zip", "zip -q -j {out} {raw}");
    check_round_trip(&fx, &zip, ImageFormat::Zip, true);
    let stored = fx.make("stored.zip", "zip -q -0 -j {out} {raw}");
    check_round_trip(&fx, &stored, ImageFormat::Zip, true);
    assert_eq!(
        open_image(&stored, &OpenOptions::default())
            .unwrap()
            .member_name(),
        Some("disk.img")
    );
    // Our SHA-256 of the file agrees with coreutils'.
    let out = Command::new("sha256sum").arg(&xz_multi).output().unwrap();
    let theirs = String::from_utf8(out.stdout).unwrap();
    let (_, d) = decode(&xz_multi, &OpenOptions::default()).unwrap();
    assert_eq!(
        theirs.split_whitespace().next(),
        d.file_sha256_hex().as_deref()
    );
    assert_eq!(d.image_sha256_hex(), Some(to_hex(&sha256(&fx.data))));
}

#[test]
fn concatenated_streams_frames_and_members_are_one_image() {
    let fx = Fixture::new(3 << 20);
    let half = fx.data.len() / 2;
    fs::write(fx.path("a"), &fx.data[..half]).unwrap();
    fs::write(fx.path("b"), &fx.data[half..]).unwrap();
    // xz: two streams with stream padding (four zero bytes) between and after them.
    let xz = fx.make(
        "cat.img.xz",
        "cd {dir} && xz -T2 --block-size=512KiB -c a > a.xz && xz -c b > b.xz && \
         { cat a.xz; printf '\\0\\0\\0\\0'; cat b.xz; printf '\\0\\0\\0\\0\\0\\0\\0\\0'; } > {out}",
    );
    check_round_trip(&fx, &xz, ImageFormat::Xz, true);
    let zst = fx.make(
        "cat.img.zst",
        "cd {dir} && zstd -q -c a > a.zst && zstd -q -c b > b.zst && cat a.zst b.zst > {out}",
    );
    let gz = fx.make(
        "cat.img.gz",
        "cd {dir} && gzip -c a > a.gz && gzip -c b > b.gz && cat a.gz b.gz > {out}",
    );
    for path in [zst, gz] {
        for opts in modes() {
            let (out, d) = decode(&path, &opts).unwrap();
            assert!(out == fx.data, "{}", path.display());
            assert_eq!(d.image_bytes, fx.data.len() as u64);
        }
    }
}

#[test]
fn the_signature_decides_not_the_name() {
    let fx = Fixture::new(1 << 20);
    let xz = fx.make("x.img.xz", "xz -c {raw} > {out}");
    // An xz file named like a raw image, and one named like gzip.
    for name in ["renamed.img", "renamed.img.gz"] {
        let p = fx.path(name);
        fs::copy(&xz, &p).unwrap();
        let reader = open_image(&p, &OpenOptions::default()).unwrap();
        assert_eq!(reader.format(), ImageFormat::Xz);
        assert!(read_all(reader).unwrap().0 == fx.data);
    }
    // A web page saved under an image's name is not written raw.
    let page = fx.path("raspios.img.xz");
    fs::write(&page, "<html><body>404 Not Found</body></html>\n").unwrap();
    let err = open_image(&page, &OpenOptions::default()).unwrap_err();
    assert!(matches!(err, ImageError::Misnamed { ref extension, .. } if extension == "xz"));
    assert!(err.to_string().contains("raspios.img.xz"), "{err}");
    // The same bytes named .img are a (strange) raw image.
    let raw = fx.path("page.img");
    fs::copy(&page, &raw).unwrap();
    assert_eq!(
        open_image(&raw, &OpenOptions::default()).unwrap().format(),
        ImageFormat::Raw
    );
    // bzip2 is recognised and refused with advice.
    let bz = fx.make("disk.img.bz2", "bzip2 -c {raw} > {out}");
    let err = open_image(&bz, &OpenOptions::default()).unwrap_err();
    assert!(matches!(err, ImageError::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("bzip2"), "{err}");
}

/// Every cut of a compressed file is refused as truncated, never decoded short.
#[test]
fn truncated_files_are_refused_as_truncated() {
    let fx = Fixture::new(2 << 20);
    let files = [
        fx.make(
            "multi.img.xz",
            "xz -T2 --block-size=256KiB -c {raw} > {out}",
        ),
        fx.make("single.img.xz", "xz -T1 -c {raw} > {out}"),
        fx.make("disk.img.zst", "zstd -q -c {raw} > {out}"),
        fx.make("disk.img.gz", "gzip -c {raw} > {out}"),
        fx.make("disk.zip", "zip -q -j {out} {raw}"),
    ];
    for path in &files {
        let full = fs::read(path).unwrap();
        let len = full.len();
        for cut in [
            7,
            40,
            len / 3,
            len / 2,
            len - 100,
            len - 13,
            len - 4,
            len - 1,
        ] {
            let short = fx.path("short");
            fs::write(&short, &full[..cut]).unwrap();
            for opts in modes() {
                let err = match open_image(&short, &opts) {
                    Err(e) => e,
                    Ok(reader) => match read_all(reader) {
                        Ok((out, _)) => panic!(
                            "{} cut at {cut} of {len} decoded to {} bytes",
                            path.display(),
                            out.len()
                        ),
                        Err(e) => e,
                    },
                };
                match &err {
                    ImageError::Truncated { after_bytes, .. } => {
                        assert!(*after_bytes < fx.data.len() as u64 || cut >= len - 13);
                        assert!(err.to_string().contains("short"), "{err}");
                        assert!(err.to_string().contains("truncated"), "{err}");
                    }
                    other => panic!("{} cut at {cut} of {len}: {other}", path.display()),
                }
            }
        }
    }
}

#[test]
fn data_after_the_last_stream_is_refused() {
    let fx = Fixture::new(1 << 20);
    for (name, cmd) in [
        ("disk.img.xz", "xz -T2 --block-size=256KiB -c {raw} > {out}"),
        ("disk.img.zst", "zstd -q -c {raw} > {out}"),
        ("disk.img.gz", "gzip -c {raw} > {out}"),
        ("disk.zip", "zip -q -j {out} {raw}"),
    ] {
        let path = fx.make(name, cmd);
        let mut bytes = fs::read(&path).unwrap();
        let end = bytes.len() as u64;
        bytes.extend_from_slice(b"garbage after the stream");
        let bad = fx.path(&format!("trailing-{name}"));
        fs::write(&bad, &bytes).unwrap();
        for opts in modes() {
            let err = decode(&bad, &opts).unwrap_err();
            assert!(
                matches!(err, ImageError::TrailingData { offset, .. } if offset == end),
                "{name}: {err}"
            );
        }
    }
    // xz stream padding must come in groups of four zero bytes.
    let xz = fx.make("pad.img.xz", "xz -c {raw} > {out}");
    let mut bytes = fs::read(&xz).unwrap();
    bytes.extend_from_slice(&[0, 0, 0]);
    fs::write(&xz, &bytes).unwrap();
    let err = decode(&xz, &OpenOptions::default()).unwrap_err();
    assert!(matches!(err, ImageError::Corrupt { .. }), "{err}");
}

#[test]
fn damaged_files_fail_their_integrity_check() {
    let fx = Fixture::new(2 << 20);
    for (name, cmd) in [
        ("disk.img.xz", "xz -T2 --block-size=256KiB -c {raw} > {out}"),
        ("disk.img.zst", "zstd -q -c {raw} > {out}"),
        ("disk.img.gz", "gzip -c {raw} > {out}"),
        ("deflated.zip", "zip -q -j {out} {raw}"),
        ("stored.zip", "zip -q -0 -j {out} {raw}"),
    ] {
        let path = fx.make(name, cmd);
        let mut bytes = fs::read(&path).unwrap();
        // Somewhere in the compressed data (random data is stored nearly as is).
        let at = bytes.len() / 3;
        bytes[at] ^= 0x20;
        let bad = fx.path(&format!("bad-{name}"));
        fs::write(&bad, &bytes).unwrap();
        for opts in modes() {
            let err = decode(&bad, &opts).unwrap_err();
            assert!(matches!(err, ImageError::Corrupt { .. }), "{name}: {err}");
            assert!(err.to_string().contains(&format!("bad-{name}")), "{err}");
        }
    }
}

#[test]
fn zip_archives_must_hold_exactly_one_file() {
    let fx = Fixture::new(64 << 10);
    fs::write(fx.path("README.txt"), "read me").unwrap();
    let two = fx.make("two.zip", "cd {dir} && zip -q two.zip disk.img README.txt");
    let err = open_image(&two, &OpenOptions::default()).unwrap_err();
    match &err {
        ImageError::ZipMembers { members, .. } => {
            assert_eq!(members, &["disk.img".to_string(), "README.txt".to_string()]);
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("disk.img, README.txt"), "{err}");
    fs::create_dir(fx.path("empty")).unwrap();
    let none = fx.make("none.zip", "cd {dir} && zip -q -r none.zip empty");
    let err = open_image(&none, &OpenOptions::default()).unwrap_err();
    assert!(
        matches!(err, ImageError::ZipMembers { ref members, .. } if members.is_empty()),
        "{err}"
    );
    assert!(err.to_string().contains("holds 0: nothing"), "{err}");
    // A method other than stored or deflate is named, not misread.
    let bz = fx.make("bzip2.zip", "zip -q -j -Z bzip2 {out} {raw}");
    let err = open_image(&bz, &OpenOptions::default()).unwrap_err();
    assert!(matches!(err, ImageError::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("bzip2"), "{err}");
}

#[test]
fn empty_images_and_early_finish_are_errors() {
    let fx = Fixture::new(1 << 20);
    let empty = fx.path("empty.img");
    fs::write(&empty, b"").unwrap();
    let err = open_image(&empty, &OpenOptions::default()).unwrap_err();
    assert!(matches!(err, ImageError::Empty { .. }), "{err}");
    fs::write(fx.path("nothing"), b"").unwrap();
    let xz = fx.make("nothing.img.xz", "xz -c {dir}/nothing > {out}");
    let err = decode(&xz, &OpenOptions::default()).unwrap_err();
    assert!(matches!(err, ImageError::Empty { .. }), "{err}");

    let gz = fx.make("disk.img.gz", "gzip -c {raw} > {out}");
    for opts in modes() {
        let mut reader = open_image(&gz, &opts).unwrap();
        let mut buf = vec![0u8; 1000];
        reader.read_exact(&mut buf).unwrap();
        let err = reader.finish().unwrap_err();
        assert!(
            matches!(
                err,
                ImageError::NotAtEnd {
                    read_bytes: 1000,
                    ..
                }
            ),
            "{err}"
        );
        // Reading exactly the image's length and finishing without the final `Ok(0)` is fine.
        let mut reader = open_image(&gz, &opts).unwrap();
        let mut all = vec![0u8; fx.data.len()];
        reader.read_exact(&mut all).unwrap();
        assert_eq!(reader.finish().unwrap().image_bytes, fx.data.len() as u64);
    }
    let missing = fx.path("missing.img");
    let err = open_image(&missing, &OpenOptions::default()).unwrap_err();
    assert!(matches!(err, ImageError::Open { .. }), "{err}");
    assert!(err.to_string().contains("missing.img"), "{err}");
}

#[test]
fn the_digests_reach_whoever_holds_the_handle() {
    let fx = Fixture::new(1 << 20);
    let zst = fx.make("disk.img.zst", "zstd -q -c {raw} > {out}");
    let reader = open_image(&zst, &OpenOptions::default()).unwrap();
    let handle = reader.digests_handle();
    // The reader is handed over as a plain `Read`, as the writer takes it.
    let mut boxed: Box<dyn Read + Send> = Box::new(reader);
    let mut first = vec![0u8; 1000];
    boxed.read_exact(&mut first).unwrap();
    assert_eq!(handle.get(), None, "no digests before the end");
    let mut rest = Vec::new();
    boxed.read_to_end(&mut rest).unwrap();
    let d = handle.get().expect("digests at the end");
    assert_eq!(d.image_sha256, Some(sha256(&fx.data)));
    assert_eq!(d.file_sha256, Some(sha256(&fs::read(&zst).unwrap())));
    assert_eq!(d.image_bytes, fx.data.len() as u64);
}

#[test]
fn read_errors_carry_the_image_error() {
    let fx = Fixture::new(1 << 20);
    let gz = fx.make("disk.img.gz", "gzip -c {raw} > {out}");
    let full = fs::read(&gz).unwrap();
    fs::write(&gz, &full[..full.len() / 2]).unwrap();
    let mut reader = open_image(&gz, &OpenOptions::default()).unwrap();
    let mut sink = Vec::new();
    let err = reader.read_to_end(&mut sink).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
    assert!(matches!(
        ImageError::from_io(&err),
        Some(ImageError::Truncated { .. })
    ));
    // No digests are published for a failed image.
    let handle = reader.digests_handle();
    assert_eq!(handle.get(), None);
    // The error stays: reading again repeats it, finish returns it.
    assert!(reader.read(&mut [0u8; 10]).is_err());
    assert!(matches!(reader.finish(), Err(ImageError::Truncated { .. })));
}

/// Threads of this process whose name is `name` (liblzma's workers inherit their creator's).
fn threads_named(name: &str) -> usize {
    fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == name)
        .count()
}

#[test]
fn multi_block_xz_is_decoded_by_several_threads() {
    let fx = Fixture::new(8 << 20);
    let xz = fx.make(
        "multi.img.xz",
        "xz -T2 --block-size=512KiB -c {raw} > {out}",
    );
    assert_eq!(
        open_image(&xz, &OpenOptions::default())
            .unwrap()
            .xz_blocks(),
        Some(16)
    );
    let me = fs::read_to_string("/proc/thread-self/comm").unwrap();
    let me = me.trim_end();
    let opts = OpenOptions {
        xz_threads: 2,
        decode_thread: DecodeThread::Caller, // the workers are created by this thread and carry its name
        ..OpenOptions::default()
    };
    let mut reader = open_image(&xz, &opts).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut most = 0;
    let mut out = Vec::new();
    loop {
        let n = reader.read(&mut buf).unwrap();
        most = most.max(threads_named(me));
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    assert!(out == fx.data);
    assert!(
        most >= 3,
        "{most} threads named {me}: the decoder ran on one thread"
    );
}

/// A card can be the source: a block device reports no length in its metadata, so its size
/// comes from the device itself.
#[test]
fn a_block_device_is_read_as_a_raw_image() {
    if !atelier_testkit::device_tier(&["losetup", "blockdev"]) {
        return;
    }
    let dev = atelier_testkit::LoopDevice::new(4 << 20);
    let data = image_bytes(4 << 20, 11);
    dev.fill(1 << 20, |i| {
        data[(i as usize) << 20..((i as usize + 1) << 20)].to_vec()
    });
    let reader = open_image(dev.path(), &OpenOptions::default()).unwrap();
    assert_eq!(reader.format(), ImageFormat::Raw);
    assert_eq!(reader.decoded_size_hint(), Some(4 << 20));
    let (out, d) = read_all(reader).unwrap();
    assert!(out == data);
    assert_eq!(d.image_sha256_hex(), Some(dev.sha256()));
}

#[test]
fn a_sparse_raw_image_reads_and_hashes_as_its_plain_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sparse.img");
    let data = image_bytes(3 << 20, 21);
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = fs::File::create(&path).unwrap();
        f.write_all(&data[..1 << 20]).unwrap();
        // A 6 MiB hole, then data again, then a hole to the end.
        f.seek(SeekFrom::Start(7 << 20)).unwrap();
        f.write_all(&data[1 << 20..]).unwrap();
        f.set_len(12 << 20).unwrap();
    }
    let plain = fs::read(&path).unwrap();
    for opts in modes() {
        let (got, digests) = decode(&path, &opts).unwrap();
        assert!(got == plain, "{opts:?}");
        assert_eq!(digests.image_sha256, Some(sha256(&plain)));
        assert_eq!(digests.file_sha256, Some(sha256(&plain)));
        assert_eq!(digests.image_bytes, 12 << 20);
    }
}

#[test]
fn without_hash_image_the_stream_is_the_same_and_no_image_hash_is_claimed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plain.img");
    let data = image_bytes(2 << 20, 23);
    fs::write(&path, &data).unwrap();
    let opts = OpenOptions {
        hash_image: false,
        ..OpenOptions::default()
    };
    let (got, digests) = decode(&path, &opts).unwrap();
    assert!(got == data);
    assert_eq!(digests.image_sha256, None);
    // A raw file's hash is the image's: not claimed either.
    assert_eq!(digests.file_sha256, None);
    assert_eq!(digests.image_bytes, 2 << 20);

    // Reading only some ranges: the same bytes there, zeros elsewhere.
    let only = vec![4096..(1 << 20), (3 << 19)..(2 << 20)];
    let opts = OpenOptions {
        hash_image: false,
        raw_only_ranges: Some(only.clone()),
        ..OpenOptions::default()
    };
    let (got, _) = decode(&path, &opts).unwrap();
    assert_eq!(got.len(), data.len());
    for (i, (a, b)) in got.iter().zip(&data).enumerate() {
        let inside = only.iter().any(|r| r.contains(&(i as u64)));
        assert_eq!(*a, if inside { *b } else { 0 }, "byte {i}");
    }
}
