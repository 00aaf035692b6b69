//! Block maps made by the real `bmaptool create` on sparse files and a real ext4 image,
//! checked against the image's bytes; hand-made broken ones refused.

use std::fs::{self, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::process::Command;

use atelier_deploy::bmap::{Bmap, BmapCheckError, BmapError, ChecksumType, FileChecksum};
use atelier_deploy::image::{OpenOptions as ImageOptions, open_image};
use atelier_testkit::{Rng, tool_available};
use sha2::{Digest, Sha256};

fn sh(script: &str) {
    let out = Command::new("sh").args(["-c", script]).output().unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether `tool` (from Debian package `package`) is here; in CI its absence is a failure.
fn have(tool: &str, package: &str) -> bool {
    if tool_available(tool) {
        return true;
    }
    assert!(
        !atelier_testkit::in_ci(),
        "{tool} is missing (Debian package {package}; scripts/setup.sh installs it)"
    );
    eprintln!("skipped: {tool} is missing (Debian package {package})");
    false
}

/// A sparse file of `size` bytes with random data at the given (offset, length) places.
fn sparse_image(path: &Path, size: u64, data: &[(u64, usize)]) {
    let mut f = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(path)
        .unwrap();
    f.set_len(size).unwrap();
    let mut rng = Rng::new(size);
    for &(offset, len) in data {
        let bytes: Vec<u8> = (0..len).map(|_| rng.byte() | 1).collect();
        f.seek(SeekFrom::Start(offset)).unwrap();
        f.write_all(&bytes).unwrap();
    }
    f.sync_all().unwrap();
}

/// Checks a bmap against its image: every range's SHA-256 is that of the image's bytes, and
/// every byte outside the ranges is zero.
fn check_against_image(bmap: &Bmap, image: &[u8]) {
    assert_eq!(bmap.image_size(), image.len() as u64);
    let mut covered = vec![false; image.len()];
    let mut total = 0;
    for span in bmap.byte_ranges() {
        let (start, end) = (span.offset as usize, (span.offset + span.length) as usize);
        assert!(end <= image.len());
        let digest: [u8; 32] = Sha256::digest(&image[start..end]).into();
        assert_eq!(span.sha256, Some(digest), "range at byte {start}");
        covered[start..end].fill(true);
        total += span.length;
    }
    assert_eq!(bmap.mapped_bytes(), total);
    let stray = image.iter().zip(&covered).position(|(&b, &c)| b != 0 && !c);
    assert_eq!(stray, None, "a non-zero byte outside the mapped ranges");
}

#[test]
fn bmaptool_maps_of_sparse_files_match_the_image() {
    if !have("bmaptool", "bmap-tools") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("sparse.img");
    // Not a multiple of the block size: the last block is partial.
    let size = (48 << 20) + 1000;
    let places = [
        (0, 512),
        (3 * 4096 + 100, 10),
        (1 << 20, 300_000),
        (20 << 20, 4096),
        ((48 << 20) + 10, 990),
    ];
    sparse_image(&img, size, &places);
    let map = dir.path().join("sparse.bmap");
    sh(&format!(
        "bmaptool create -o {} {}",
        map.display(),
        img.display()
    ));
    let bmap = Bmap::load(&map).unwrap();
    assert_eq!(bmap.version(), (2, 0));
    assert_eq!(bmap.block_size(), 4096);
    assert_eq!(bmap.blocks_count(), size.div_ceil(4096));
    assert_eq!(bmap.checksum_type(), ChecksumType::Sha256);
    assert_eq!(bmap.file_checksum(), FileChecksum::Verified);
    assert_eq!(bmap.unverified_reason(), None);
    let image = fs::read(&img).unwrap();
    check_against_image(&bmap, &image);
    // The data written is mapped: first and last block, the runs in between.
    let ranges = bmap.ranges();
    assert_eq!(ranges[0].first_block, 0);
    assert_eq!(ranges.last().unwrap().last_block, bmap.blocks_count() - 1);
    assert!(bmap.mapped_bytes() < size / 10);
    // Ranges are increasing and apart.
    for w in ranges.windows(2) {
        assert!(w[0].last_block < w[1].first_block);
    }

    // Without range checksums: the map is the same, the reason is given.
    let bare = dir.path().join("bare.bmap");
    sh(&format!(
        "bmaptool create --no-checksum -o {} {}",
        bare.display(),
        img.display()
    ));
    let plain = Bmap::load(&bare).unwrap();
    assert_eq!(plain.file_checksum(), FileChecksum::Verified);
    assert!(plain.ranges().iter().all(|r| r.sha256.is_none()));
    let blocks = |b: &Bmap| -> Vec<(u64, u64)> {
        b.ranges()
            .iter()
            .map(|r| (r.first_block, r.last_block))
            .collect()
    };
    assert_eq!(blocks(&plain), blocks(&bmap));
    assert!(plain.unverified_reason().unwrap().contains("no checksum"));

    // The streaming checker: the image as is passes, fed in odd-sized pieces.
    let feed = |bytes: &[u8]| {
        let mut checker = bmap.checker();
        for piece in bytes.chunks(65_537) {
            checker.update(piece);
        }
        checker.finish()
    };
    feed(&image).unwrap();
    // A changed byte in a hole does not matter; in a mapped range, that range is named.
    let mut hole = image.clone();
    hole[10 << 20] = 0xFF;
    feed(&hole).unwrap();
    let mut damaged = image.clone();
    damaged[(20 << 20) + 5] ^= 1;
    match feed(&damaged) {
        Err(BmapCheckError::Ranges(m)) => {
            assert_eq!(m.len(), 1);
            assert_eq!(m[0].first_block, (20 << 20) / 4096);
            assert!(m[0].offset <= (20 << 20) && m[0].offset + m[0].length > (20 << 20) + 5);
        }
        other => panic!("{other:?}"),
    }
    // An image of another length does not belong to the bmap.
    let err = feed(&image[..image.len() - 1]).unwrap_err();
    assert!(matches!(err, BmapCheckError::Size { .. }), "{err}");
    assert!(err.to_string().contains("do not belong together"));
}

#[test]
fn bmaptool_map_of_an_ext4_image_matches_it() {
    if !have("bmaptool", "bmap-tools") || !have("mkfs.ext4", "e2fsprogs") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("root.img");
    let blob = dir.path().join("blob");
    let mut rng = Rng::new(7);
    fs::write(
        &blob,
        (0..3_000_000).map(|_| rng.byte()).collect::<Vec<u8>>(),
    )
    .unwrap();
    sh(&format!(
        "truncate -s 64M {img} && mkfs.ext4 -q -F -E lazy_itable_init=1 {img} && \
         debugfs -w -R 'write {blob} blob' {img} >/dev/null 2>&1 && \
         bmaptool create -o {img}.bmap {img}",
        img = img.display(),
        blob = blob.display()
    ));
    let bmap = Bmap::load(&dir.path().join("root.img.bmap")).unwrap();
    let image = fs::read(&img).unwrap();
    check_against_image(&bmap, &image);
    assert!(bmap.ranges().len() > 3, "{:?}", bmap.ranges());
    assert!(bmap.mapped_bytes() >= 3_000_000);

    // As deployment will: decode a compressed copy and check it against the bmap on the way.
    sh(&format!("xz -T2 --block-size=4MiB -k {}", img.display()));
    let mut reader = open_image(&dir.path().join("root.img.xz"), &ImageOptions::default()).unwrap();
    let mut checker = bmap.checker();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = std::io::Read::read(&mut reader, &mut buf).unwrap();
        if n == 0 {
            break;
        }
        checker.update(&buf[..n]);
    }
    assert_eq!(checker.position(), image.len() as u64);
    checker.finish().unwrap();
}

/// Sets `BmapFileChecksum` to the right value for the text (the value's digits replaced by
/// zeros, then SHA-256 of the whole file).
fn reseal(text: &str) -> String {
    let open = text.find("<BmapFileChecksum>").unwrap() + "<BmapFileChecksum>".len();
    let close = text.find("</BmapFileChecksum>").unwrap();
    let value = text[open..close].trim();
    let start = open + text[open..].find(value).unwrap();
    let zeroed = format!(
        "{}{}{}",
        &text[..start],
        "0".repeat(value.len()),
        &text[start + value.len()..]
    );
    let digest = Sha256::digest(zeroed.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}{}{}", &text[..start], hex, &text[start + value.len()..])
}

const RANGE_A: &str = "0b0c8a7a8e2b0ab0ec6d3e3c3a2d1ef8f1b3a5b0a7d0e2c4f6a8b0c2d4e6f8a0";
const RANGE_B: &str = "1111111111111111111111111111111111111111111111111111111111111111";

/// A small bmap 2.0 with the given ranges (`<Range>` lines), sealed.
fn bmap_v2(image_size: u64, mapped: u64, ranges: &str) -> String {
    let text = format!(
        "<?xml version=\"1.0\" ?>\n<bmap version=\"2.0\">\n    <ImageSize> {image_size} </ImageSize>\n    \
         <BlockSize> 4096 </BlockSize>\n    <BlocksCount> {} </BlocksCount>\n    \
         <MappedBlocksCount> {mapped} </MappedBlocksCount>\n    <ChecksumType> sha256 </ChecksumType>\n    \
         <BmapFileChecksum> {} </BmapFileChecksum>\n    <BlockMap>\n{ranges}    </BlockMap>\n</bmap>\n",
        image_size.div_ceil(4096),
        "0".repeat(64)
    );
    reseal(&text)
}

#[test]
fn a_hand_made_map_parses_and_its_last_block_is_cut_at_the_image_size() {
    let text = bmap_v2(
        40_000,
        4,
        &format!(
            "        <Range chksum=\"{RANGE_A}\"> 0-1 </Range>\n        <Range chksum=\"{RANGE_B}\"> 8-9 </Range>\n"
        ),
    );
    let bmap = Bmap::parse(&text).unwrap();
    assert_eq!(bmap.blocks_count(), 10);
    let spans: Vec<(u64, u64)> = bmap.byte_ranges().map(|s| (s.offset, s.length)).collect();
    assert_eq!(spans, [(0, 8192), (32768, 40_000 - 32768)]);
    assert_eq!(bmap.ranges()[1].blocks(), 2);
}

fn parse_err(text: &str) -> BmapError {
    Bmap::parse(text).unwrap_err()
}

#[test]
fn broken_maps_are_refused_with_the_reason() {
    let good_ranges = format!(
        "        <Range chksum=\"{RANGE_A}\"> 0-1 </Range>\n        <Range chksum=\"{RANGE_B}\"> 5 </Range>\n"
    );
    let good = bmap_v2(40_000, 3, &good_ranges);
    assert!(Bmap::parse(&good).is_ok());

    // Changed after sealing: a range's checksum, then the seal itself.
    let tampered = good.replacen(RANGE_B, &RANGE_B.replace('1', "2"), 1);
    assert!(matches!(
        parse_err(&tampered),
        BmapError::FileChecksum { .. }
    ));
    let open = good.find("<BmapFileChecksum> ").unwrap() + "<BmapFileChecksum> ".len();
    let mut wrong_seal = good.clone();
    let flipped = if &good[open..open + 1] == "a" {
        "b"
    } else {
        "a"
    };
    wrong_seal.replace_range(open..open + 1, flipped);
    let err = parse_err(&wrong_seal);
    assert!(matches!(err, BmapError::FileChecksum { .. }), "{err}");
    assert!(err.to_string().contains("changed or damaged"));

    // Overlapping and out-of-order ranges.
    let overlap = bmap_v2(
        40_000,
        5,
        &format!(
            "        <Range chksum=\"{RANGE_A}\"> 0-3 </Range>\n        <Range chksum=\"{RANGE_B}\"> 3 </Range>\n"
        ),
    );
    let err = parse_err(&overlap);
    assert!(
        matches!(err, BmapError::Range { line: 11, ref reason, .. } if reason.contains("overlaps")),
        "{err}"
    );
    let backwards = bmap_v2(
        40_000,
        3,
        &format!(
            "        <Range chksum=\"{RANGE_A}\"> 5 </Range>\n        <Range chksum=\"{RANGE_B}\"> 0-1 </Range>\n"
        ),
    );
    assert!(matches!(parse_err(&backwards), BmapError::Range { .. }));
    let reversed = bmap_v2(40_000, 2, "        <Range> 3-2 </Range>\n");
    assert!(
        matches!(parse_err(&reversed), BmapError::Range { ref reason, .. } if reason.contains("ends before"))
    );

    // Past the image.
    let past = bmap_v2(40_000, 2, "        <Range> 9-10 </Range>\n");
    let err = parse_err(&past);
    assert!(
        matches!(err, BmapError::Range { ref reason, .. } if reason.contains("past the end")),
        "{err}"
    );

    // Counts that do not add up.
    let count = bmap_v2(40_000, 4, &good_ranges);
    assert!(matches!(parse_err(&count), BmapError::Inconsistent { .. }));
    let blocks = reseal(&good.replace(
        "<BlocksCount> 10 </BlocksCount>",
        "<BlocksCount> 11 </BlocksCount>",
    ));
    assert!(matches!(parse_err(&blocks), BmapError::Inconsistent { .. }));

    // Malformed pieces.
    let bad_hex = bmap_v2(40_000, 1, "        <Range chksum=\"xyz\"> 1 </Range>\n");
    assert!(
        matches!(parse_err(&bad_hex), BmapError::Range { ref reason, .. } if reason.contains("SHA-256"))
    );
    let bad_range = bmap_v2(40_000, 1, "        <Range> one </Range>\n");
    assert!(matches!(parse_err(&bad_range), BmapError::Range { .. }));
    let bad_number = reseal(&good.replace(
        "<ImageSize> 40000 </ImageSize>",
        "<ImageSize> 40k </ImageSize>",
    ));
    assert!(matches!(
        parse_err(&bad_number),
        BmapError::Number {
            element: "ImageSize",
            line: 3,
            ..
        }
    ));
    let missing = reseal(&good.replace("<MappedBlocksCount> 3 </MappedBlocksCount>", ""));
    assert!(matches!(
        parse_err(&missing),
        BmapError::Missing {
            element: "MappedBlocksCount"
        }
    ));
    let sha3 = reseal(&good.replace(
        "<ChecksumType> sha256 </ChecksumType>",
        "<ChecksumType> sha3 </ChecksumType>",
    ));
    assert!(matches!(parse_err(&sha3), BmapError::ChecksumType { .. }));
    let future = reseal(&good.replace("version=\"2.0\"", "version=\"3.0\""));
    assert!(matches!(parse_err(&future), BmapError::Version { .. }));

    // Not a bmap at all.
    let err =
        parse_err("<bmap version=\"2.0\">\n  <ImageSize>1</ImageSize>\n  <BlockMap>\n</bmap>\n");
    assert!(matches!(err, BmapError::Xml { line: 4, .. }), "{err}");
    assert!(matches!(
        parse_err("<html><body/></html>"),
        BmapError::NotBmap { .. }
    ));
    assert!(matches!(
        parse_err("\u{0}\u{1}garbage"),
        BmapError::Xml { .. }
    ));
    assert!(matches!(parse_err(""), BmapError::Xml { .. }));

    // A file's errors name it and say what to do.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("raspios.bmap");
    fs::write(&path, &overlap).unwrap();
    let err = Bmap::load(&path).unwrap_err().to_string();
    assert!(
        err.contains("raspios.bmap")
            && err.contains("line 11")
            && err.contains("write the image without it"),
        "{err}"
    );
    let err = Bmap::load(&dir.path().join("missing.bmap")).unwrap_err();
    assert!(matches!(err, BmapError::Read { .. }));
}

#[test]
fn older_formats_and_other_hashes_are_read_but_not_verified() {
    // Format 1.3: SHA-1 everywhere.
    let v13 = "<?xml version=\"1.0\" ?>\n<bmap version=\"1.3\">\n  <ImageSize> 8192 </ImageSize>\n  \
               <BlockSize> 4096 </BlockSize>\n  <BlocksCount> 2 </BlocksCount>\n  \
               <MappedBlocksCount> 1 </MappedBlocksCount>\n  \
               <BmapFileSHA1> 0123456789012345678901234567890123456789 </BmapFileSHA1>\n  \
               <BlockMap>\n    <Range sha1=\"0123456789012345678901234567890123456789\"> 1 </Range>\n  \
               </BlockMap>\n</bmap>\n";
    let bmap = Bmap::parse(v13).unwrap();
    assert_eq!(bmap.checksum_type(), ChecksumType::Sha1);
    assert_eq!(
        bmap.file_checksum(),
        FileChecksum::NotVerified(ChecksumType::Sha1)
    );
    assert_eq!(bmap.ranges()[0].sha256, None);
    assert!(bmap.unverified_reason().unwrap().contains("sha1"));
    // Format 1.2: no checksums.
    let v12 = v13
        .replace("1.3", "1.2")
        .replace(" sha1=\"0123456789012345678901234567890123456789\"", "");
    let bmap = Bmap::parse(&v12).unwrap();
    assert_eq!(bmap.checksum_type(), ChecksumType::None);
    assert_eq!(bmap.file_checksum(), FileChecksum::Absent);
    assert!(bmap.unverified_reason().unwrap().contains("no checksums"));
    // Format 2.0 naming MD5.
    let md5 = bmap_v2(
        8192,
        1,
        "    <Range chksum=\"0123456789abcdef0123456789abcdef\"> 1 </Range>\n",
    )
    .replace(
        "<ChecksumType> sha256 </ChecksumType>",
        "<ChecksumType> md5 </ChecksumType>",
    );
    let bmap = Bmap::parse(&md5).unwrap();
    assert_eq!(
        bmap.file_checksum(),
        FileChecksum::NotVerified(ChecksumType::Md5)
    );
    assert!(bmap.unverified_reason().unwrap().contains("md5"));
}
