//! The asset label: Brother QL raster against a committed golden file, decoded back into a
//! bitmap; the PDF label checked with qpdf, pdfinfo and pdftotext.

use std::path::{Path, PathBuf};
use std::process::Command;

use atelier_certify::label::brother::{self, DK_11209};
use atelier_certify::label::{label_content, layout_label, render_label_pdf, render_label_ql};
use atelier_certify::{Fonts, Organisation};
use atelier_record::{
    AssetRecord, CertificateSeal, CertificateSection, HardwareSection, Language, Sourced,
    TitleVerdict,
};

mod common;

/// A fixed record: same label bytes on every run.
fn fixed_record() -> AssetRecord {
    let mut r = common::record(vec![common::wipe("S3Z1NB0K123456A", "PASSED", &[])]);
    r.id = "0193a2f4-5b6c-7d8e-9f01-23456789abcd".parse().unwrap();
    let mut hw = HardwareSection::not_read(common::at("2026-03-14T09:00:00Z"), "test");
    hw.identity.system_vendor = Sourced::known("LENOVO".to_owned(), "smbios type 1");
    hw.identity.product_name = Sourced::known("ThinkPad T480".to_owned(), "smbios type 1");
    hw.cpu = Some(
        serde_json::from_value(serde_json::json!({
            "model": "Intel(R) Core(TM) i5-8350U CPU @ 1.70GHz",
            "architecture": "x86_64",
            "source": "/proc/cpuinfo"
        }))
        .unwrap(),
    );
    hw.memory.installed_bytes = Some(16 * 1024 * 1024 * 1024);
    r.hardware = Some(hw);
    r.certificate = Some(CertificateSection {
        certificate_id: "0193a2f5-0000-7000-8000-000000000001".parse().unwrap(),
        issued_at: common::at("2026-03-14T10:00:00Z"),
        title_verdict: TitleVerdict::Erased,
        all_wipes_passed: true,
        language: Language::Fr,
        seal: Some(CertificateSeal {
            algorithm: "Ed25519".into(),
            canonicalisation: "RFC8785".into(),
            sha256: "9f".repeat(32),
            signature: "00".repeat(64),
            key_fingerprint: "3d40-17c3-e843-895a".into(),
            public_key: "11".repeat(32),
        }),
        ..Default::default()
    });
    r
}

fn golden() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/label-dk11209.bin")
}

#[test]
fn brother_ql_raster_matches_the_golden_file_and_decodes_back() {
    let fonts = Fonts::system().unwrap();
    let content = label_content(&fixed_record(), &Organisation::default(), Language::Fr);
    // The machine's tag, from its serial: the same one Snipe-IT gets.
    let tag = fixed_record().asset_tag(atelier_record::DEFAULT_ASSET_TAG_PREFIX);
    assert_eq!(content.asset_tag, tag);
    assert!(tag.starts_with("AT-") && tag.len() == 13, "{tag}");
    assert_eq!(content.model, "LENOVO ThinkPad T480");
    assert_eq!(content.memory_disks, "RAM 16 Gio · Disque 250 GB");
    let (bitmap, data) = render_label_ql(&content, &fonts, &DK_11209).unwrap();
    let dot = 72.0 / 300.0;
    let page = layout_label(&content, &fonts, 696.0 * dot, 271.0 * dot).unwrap();

    // Decoded as a printer would: the header, then 271 lines of 696 dots, the same picture.
    let decoded = brother::decode(&data, &DK_11209).unwrap();
    assert_eq!(
        (decoded.bitmap.width(), decoded.bitmap.height()),
        (696, 271)
    );
    assert_eq!(decoded.announced_lines, 271);
    assert_eq!(
        (decoded.media_type, decoded.width_mm, decoded.length_mm),
        (0x0B, 62, 29)
    );
    assert_eq!(decoded.margin, 0);
    assert_eq!(decoded.bitmap, bitmap);
    // Ink where the QR code is (left square) and where the text is (right), not everywhere.
    let ink = |x0: usize, x1: usize| {
        (0..271)
            .flat_map(|y| (x0..x1).map(move |x| (x, y)))
            .filter(|&(x, y)| decoded.bitmap.get(x, y))
            .count()
    };
    let qr_ink = ink(0, 271);
    let text_ink = ink(300, 696);
    assert!(qr_ink > 271 * 271 / 5, "QR ink {qr_ink}");
    assert!(text_ink > 2000, "text ink {text_ink}");
    assert!(bitmap.count() < 696 * 271 / 2);
    // The QR code's top-left finder pattern: a dark ring of 7 modules at the quiet zone's end.
    let matrix = match &page.ops[0] {
        atelier_certify::pdf::draw::Op::Qr { matrix, .. } => matrix.clone(),
        other => panic!("{other:?}"),
    };
    let m = ((page_qr_size(&page) / dot) / (matrix.width() + 8) as f32).floor() as usize;
    let origin = (1.5f32 * 300.0 / 25.4).round() as usize + 4 * m;
    assert!(decoded.bitmap.get(origin + m / 2, origin + m / 2));
    assert!(!decoded.bitmap.get(origin + m + m / 2, origin + m + m / 2));

    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(golden().parent().unwrap()).unwrap();
        std::fs::write(golden(), &data).unwrap();
    }
    let expected = std::fs::read(golden()).expect("golden file (UPDATE_GOLDEN=1 to write it)");
    assert!(
        expected == data,
        "the label's raster data changed ({} bytes, golden {}); check the picture, then \
         UPDATE_GOLDEN=1 cargo test -p atelier-certify --test label",
        data.len(),
        expected.len()
    );
}

fn page_qr_size(page: &atelier_certify::pdf::draw::PageOps) -> f32 {
    match &page.ops[0] {
        atelier_certify::pdf::draw::Op::Qr { size, .. } => *size,
        _ => 0.0,
    }
}

#[test]
fn the_pdf_label_is_62_by_29_mm_and_says_the_tag_and_model() {
    let fonts = Fonts::system().unwrap();
    let content = label_content(&fixed_record(), &Organisation::default(), Language::En);
    let pdf = render_label_pdf(&content, &fonts).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("label.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let check = Command::new("qpdf")
        .arg("--check")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let info = Command::new("pdfinfo").arg(&file).output().unwrap();
    let info = String::from_utf8(info.stdout).unwrap();
    // 62 × 29 mm = 175.75 × 82.2 pt.
    let size = info
        .lines()
        .find_map(|l| l.strip_prefix("Page size:"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "));
    assert_eq!(size.as_deref(), Some("175.748 x 82.2047 pts"), "{info}");
    let text = Command::new("pdftotext")
        .arg(&file)
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    let tag = fixed_record().asset_tag(atelier_record::DEFAULT_ASSET_TAG_PREFIX);
    for needle in [
        tag.as_str(),
        "LENOVO ThinkPad T480",
        "DATA ERASED",
        "RAM 16 GiB",
    ] {
        assert!(text.contains(needle), "{needle:?} in {text}");
    }
}

#[test]
fn an_uncertified_record_says_so_on_its_label() {
    let mut r = fixed_record();
    r.certificate = None;
    let content = label_content(&r, &Organisation::default(), Language::Fr);
    assert_eq!(content.status, "NON CERTIFIÉ");
    assert_eq!(content.qr, format!("ATELIER-RECORD:1;id={}", r.id));
}
