//! The PDF certificate, checked with the tools a reader would use: `qpdf --check` (structure),
//! `pdftotext` (what the text says, accents included), `pdfinfo` (title), `pdftoppm`
//! (rendering), and `verify_pdf` on the embedded signed record.
//!
//! Needs qpdf and poppler-utils (`scripts/setup.sh`) and the DejaVu fonts.

use std::path::Path;
use std::process::Command;

use atelier_certify::pdf::{BANNED_WORDING, attachment_name, embedded_record};
use atelier_certify::{
    Fonts, Organisation, SignedRecord, VerifyError, certify, render_certificate, verify_pdf,
};
use atelier_record::{Language, TitleVerdict};

mod common;

use common::{bench_key, record, request, trusting, wipe};

fn tool(name: &str, args: &[&str], file: &Path) -> std::process::Output {
    Command::new(name)
        .args(args)
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("{name} is needed for this test (scripts/setup.sh): {e}"))
}

fn text_of(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is needed for this test");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

fn qpdf_check(pdf: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = tool("qpdf", &["--check"], &file);
    assert!(
        out.status.success(),
        "qpdf --check: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn organisation() -> Organisation {
    Organisation {
        name: Some("Atelier du Réemploi".into()),
        address: vec!["12 rue des Lilas".into(), "69000 Lyon".into()],
        ..Default::default()
    }
}

/// A record with two passed wipes, certified with `functional` checks.
fn certified(
    wipes: Vec<atelier_record::SanitizationEntry>,
    functional: Option<bool>,
    language: Language,
) -> (SignedRecord, common::TestBench) {
    let bench = bench_key();
    let mut r = record(wipes);
    let mut req = request();
    req.functional_checks_passed = functional;
    req.language = language;
    let signed = certify(&mut r, req, &bench.key).unwrap();
    (signed, bench)
}

fn render(signed: &SignedRecord, lang: Option<Language>) -> Vec<u8> {
    render_certificate(signed, &organisation(), &Fonts::system().unwrap(), lang).unwrap()
}

#[test]
fn french_and_english_certificates_are_valid_pdfs_that_say_the_serials_and_verdict() {
    let (signed, _bench) = certified(
        vec![
            wipe("S3Z1NB0K123456A", "PASSED", &[]),
            wipe("WD-WCC4N7TESTXY", "PASSED", &[]),
        ],
        None,
        Language::Fr,
    );
    let fr = render(&signed, None);
    qpdf_check(&fr);
    let text = text_of(&fr);
    for needle in [
        "DONNÉES EFFACÉES",
        "CERTIFICAT DE TRAÇABILITÉ",
        "S3Z1NB0K123456A",
        "WD-WCC4N7TESTXY",
        "Atelier du Réemploi",
        "Aïcha",
        "Catégorie NIST 800-88",
        "Destination après effacement",
        "synchronisée par NTP",
        "aucun : ce banc ne teste pas encore les fonctions",
        &signed.seal.sha256[..32],
        &signed.seal.key_fingerprint,
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    // The verdict comes first.
    let verdict_at = text.find("DONNÉES EFFACÉES").unwrap();
    assert!(verdict_at < text.find("Atelier du Réemploi").unwrap());
    assert!(verdict_at < text.find("S3Z1NB0K123456A").unwrap());

    let en = render(&signed, Some(Language::En));
    qpdf_check(&en);
    let text = text_of(&en);
    for needle in [
        "DATA ERASED",
        "S3Z1NB0K123456A",
        "NIST 800-88 category",
        "Post-sanitization destination",
        "Verification",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    assert!(!text.contains("DONNÉES"));
}

#[test]
fn reconditionne_only_when_every_wipe_and_every_check_passed_and_never_banned_wording() {
    let cases = [
        (
            vec![wipe("A1", "PASSED", &[])],
            Some(true),
            TitleVerdict::Refurbished,
        ),
        (vec![wipe("A1", "PASSED", &[])], None, TitleVerdict::Erased),
        (
            vec![wipe("A1", "PASSED", &[])],
            Some(false),
            TitleVerdict::Erased,
        ),
        (
            vec![wipe("A1", "PASSED", &["hidden area (HPA) remained"])],
            Some(true),
            TitleVerdict::ErasedWithExceptions,
        ),
        (
            vec![wipe("A1", "PASSED", &[]), wipe("B2", "FAILED", &[])],
            Some(true),
            TitleVerdict::ErasureFailed,
        ),
        (vec![], Some(true), TitleVerdict::NoErasure),
    ];
    for (wipes, functional, expected) in cases {
        let (signed, _bench) = certified(wipes, functional, Language::Fr);
        let record = atelier_certify::pdf::record_of(&signed).unwrap();
        assert_eq!(record.certificate.as_ref().unwrap().title_verdict, expected);
        let text = text_of(&render(&signed, None)).to_lowercase();
        if expected == TitleVerdict::Refurbished {
            assert!(text.contains("reconditionné"), "{expected:?}:\n{text}");
        } else {
            assert!(!text.contains("recondition"), "{expected:?}:\n{text}");
        }
        for banned in BANNED_WORDING {
            assert!(!text.contains(banned), "{banned:?} in {expected:?}");
        }
        let en = text_of(&render(&signed, Some(Language::En))).to_lowercase();
        assert_eq!(
            en.contains("refurbished"),
            expected == TitleVerdict::Refurbished
        );
    }
}

#[test]
fn a_failed_wipe_puts_the_failure_in_the_title() {
    let (signed, _bench) = certified(
        vec![
            wipe("GOOD-DISK-1", "PASSED", &[]),
            wipe("BAD-DISK-2", "FAILED", &[]),
        ],
        Some(true),
        Language::Fr,
    );
    let pdf = render(&signed, None);
    qpdf_check(&pdf);
    let text = text_of(&pdf);
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    assert!(first.contains("CERTIFICAT"), "{text}");
    let verdict = text
        .find("EFFACEMENT ÉCHOUÉ")
        .expect("verdict in the title");
    let explanation = text.find("L'effacement n'a PAS réussi pour").unwrap();
    assert!(verdict < explanation);
    assert!(text[explanation..].contains("BAD-DISK-2"));
    // The document title says it too.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let info = String::from_utf8(tool("pdfinfo", &[], &file).stdout).unwrap();
    assert!(info.contains("EFFACEMENT ÉCHOUÉ"), "{info}");
}

#[test]
fn the_embedded_record_verifies_and_any_change_to_it_is_caught() {
    let (signed, bench) = certified(
        vec![wipe("S3Z1NB0K123456A", "PASSED", &[])],
        None,
        Language::Fr,
    );
    let pdf = render(&signed, None);
    // The attachment is the signed document, byte for byte.
    assert_eq!(
        embedded_record(&pdf).unwrap(),
        signed.to_json_pretty().as_bytes()
    );
    let trusted = trusting(&[(&bench, "banc-1")]);
    let verified = verify_pdf(&pdf, &trusted).unwrap();
    assert_eq!(verified.sha256, signed.seal.sha256);
    // The attachment is listed under its name (pdfdetach is the reader's tool).
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let list = String::from_utf8(tool("pdfdetach", &["-list"], &file).stdout).unwrap();
    let id = atelier_certify::pdf::record_of(&signed)
        .unwrap()
        .certificate
        .unwrap()
        .certificate_id
        .to_string();
    assert!(list.contains(&attachment_name(&id)), "{list}");

    // Change one digit of the serial inside the embedded JSON: same length, so the PDF's
    // structure is intact, but the signature no longer matches.
    let needle = b"S3Z1NB0K123456A";
    let at = pdf
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the serial in the embedded JSON");
    let mut tampered = pdf.clone();
    tampered[at + 14] = b'B';
    qpdf_check(&tampered);
    match verify_pdf(&tampered, &trusted) {
        Err(VerifyError::RecordAltered { .. }) => {}
        other => panic!("expected RecordAltered, got {other:?}"),
    }
    // Unknown key: a verifier that does not trust this bench.
    let stranger = bench_key();
    match verify_pdf(&pdf, &trusting(&[(&stranger, "other")])) {
        Err(VerifyError::UnknownKey { .. }) => {}
        other => panic!("expected UnknownKey, got {other:?}"),
    }
    // One byte removed from the attachment: the stream's end of line slides into the data,
    // and the record no longer verifies.
    let mut shorter = pdf.clone();
    shorter.remove(at);
    assert!(verify_pdf(&shorter, &trusted).is_err());
    // Two bytes removed: the data no longer ends where /Length says; refused as unreadable.
    shorter.remove(at);
    match verify_pdf(&shorter, &trusted) {
        Err(VerifyError::Malformed(m)) => assert!(m.contains("/Length"), "{m}"),
        other => panic!("expected Malformed, got {other:?}"),
    }
}

#[test]
fn page_one_renders_at_a4_size_and_the_example_picture_can_be_regenerated() {
    // A realistic record for the picture in the docs: an inventoried laptop, two disks.
    let bench = bench_key();
    let mut ssd = wipe("S3Z1NB0K123456A", "PASSED", &[]);
    ssd.write_throughput_bytes_per_second = Some(512_300_000.0);
    ssd.verify_throughput_bytes_per_second = Some(538_900_000.0);
    ssd.duration_seconds = 952.4;
    let mut hdd = wipe("WD-WCC4N7TESTXY", "PASSED", &[]);
    hdd.device.model = Some("WDC WD5000LPCX-24C6HT0".into());
    hdd.device.media = atelier_record::MediaKind::Magnetic;
    hdd.device.size_bytes = 500_107_862_016;
    hdd.bytes_written = 500_107_862_016;
    hdd.verification.bytes_checked = 500_107_862_016;
    hdd.write_throughput_bytes_per_second = Some(104_700_000.0);
    hdd.verify_throughput_bytes_per_second = Some(109_200_000.0);
    hdd.duration_seconds = 9_356.0;
    let mut r = record(vec![ssd, hdd]);
    let mut hw = atelier_record::HardwareSection::not_read(common::at("2026-03-14T09:00:00Z"), "-");
    hw.identity.system_vendor = atelier_record::Sourced::known("LENOVO".to_owned(), "smbios");
    hw.identity.product_name = atelier_record::Sourced::known("20L5CTO1WW".to_owned(), "smbios");
    hw.identity.serial = atelier_record::Sourced::known("PF1A2B3C".to_owned(), "smbios");
    hw.cpu = Some(
        serde_json::from_value(serde_json::json!({
            "model": "Intel(R) Core(TM) i5-8350U CPU @ 1.70GHz", "architecture": "x86_64",
            "cores": 4, "threads": 8, "source": "/proc/cpuinfo"
        }))
        .unwrap(),
    );
    hw.memory.installed_bytes = Some(16 * (1 << 30));
    r.hardware = Some(hw);
    let mut req = request();
    req.functional_checks_passed = None;
    let signed = certify(&mut r, req, &bench.key).unwrap();
    let pdf = render(&signed, None);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let out = dir.path().join("page");
    let status = Command::new("pdftoppm")
        .args(["-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile"])
        .arg(&file)
        .arg(&out)
        .status()
        .expect("pdftoppm (poppler-utils) is needed for this test");
    assert!(status.success());
    let png = std::fs::read(out.with_extension("png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    // IHDR: width and height, big-endian, at bytes 16..24. A4 at 60 dpi: 496.07 × 701.6
    // pixels, which pdftoppm rounds up.
    let w = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((w, h), (497, 702));
    if std::env::var_os("UPDATE_EXAMPLE").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/certificate-example.png");
        std::fs::write(docs, &png).unwrap();
    }
}

#[test]
fn missing_fonts_say_which_package_to_install() {
    let empty = tempfile::tempdir().unwrap();
    let err = Fonts::from_dirs(&[empty.path().to_path_buf()]).unwrap_err();
    assert!(err.to_string().contains("fonts-dejavu-core"), "{err}");
}

#[test]
fn a_bad_logo_is_a_clear_error() {
    let (signed, _bench) = certified(vec![wipe("A1", "PASSED", &[])], None, Language::Fr);
    let dir = tempfile::tempdir().unwrap();
    let logo = dir.path().join("logo.png");
    std::fs::write(&logo, b"not a picture").unwrap();
    let org = Organisation {
        logo: Some(logo),
        ..organisation()
    };
    let err = render_certificate(&signed, &org, &Fonts::system().unwrap(), None).unwrap_err();
    assert!(err.to_string().contains("PNG or JPEG"), "{err}");
}

/// A small PNG (grey square), written with zlib only.
fn tiny_png(size: u32) -> Vec<u8> {
    use std::io::Write;
    let mut raw = Vec::new();
    for _ in 0..size {
        raw.push(0);
        raw.extend(std::iter::repeat_n(0x40u8, size as usize));
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&raw).unwrap();
    let idat = z.finish().unwrap();
    let chunk = |kind: &[u8], data: &[u8]| {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        let mut crc_input = kind.to_vec();
        crc_input.extend_from_slice(data);
        c.extend_from_slice(&crc32(&crc_input).to_be_bytes());
        c
    };
    let mut ihdr = size.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&size.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    png.extend(chunk(b"IDAT", &idat));
    png.extend(chunk(b"IEND", b""));
    png
}

/// CRC-32 (ISO 3309, as PNG chunks use it).
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn a_png_logo_is_drawn_and_the_qr_code_scans_back() {
    let (signed, _bench) = certified(vec![wipe("A1", "PASSED", &[])], None, Language::Fr);
    let dir = tempfile::tempdir().unwrap();
    let logo = dir.path().join("logo.png");
    std::fs::write(&logo, tiny_png(32)).unwrap();
    let org = Organisation {
        logo: Some(logo),
        verification_url: Some("https://verif.example/c/{id}".into()),
        ..organisation()
    };
    let pdf = render_certificate(&signed, &org, &Fonts::system().unwrap(), None).unwrap();
    qpdf_check(&pdf);
    let file = dir.path().join("c.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let images = String::from_utf8(tool("pdfimages", &["-list"], &file).stdout).unwrap();
    // Header (2 lines) and one image of 32 × 32.
    assert_eq!(images.lines().count(), 3, "{images}");
    assert!(
        images.lines().nth(2).unwrap().contains("32    32"),
        "{images}"
    );

    // The QR code, scanned from page 1 rendered at 150 dpi (zbarimg, zbar-tools).
    let page = dir.path().join("p");
    let status = Command::new("pdftoppm")
        .args(["-png", "-r", "150", "-f", "1", "-l", "1", "-singlefile"])
        .arg(&file)
        .arg(&page)
        .status()
        .unwrap();
    assert!(status.success());
    let scanned = Command::new("zbarimg")
        .args(["--raw", "-q"])
        .arg(page.with_extension("png"))
        .output();
    let Ok(scanned) = scanned else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "zbarimg (zbar-tools) is needed in CI"
        );
        eprintln!("skipped the scan: zbarimg is not installed (apt install zbar-tools)");
        return;
    };
    let record = atelier_certify::pdf::record_of(&signed).unwrap();
    let id = record.certificate.unwrap().certificate_id;
    assert_eq!(
        String::from_utf8(scanned.stdout).unwrap().trim(),
        format!("https://verif.example/c/{id}#sha256={}", signed.seal.sha256)
    );
}
