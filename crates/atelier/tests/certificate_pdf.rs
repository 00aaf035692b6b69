//! `atelier certify` writes the PDF beside the signed JSON; `atelier verify` reads the PDF;
//! `atelier print certificate|label --out` write the certificate and the label. No device
//! needed: the record (one passed wipe) is put in the store directly.

use std::fs;
use std::path::Path;
use std::process::Command;

use atelier_record::{AssetRecord, Bench, SanitizationEntry, ToolInfo};

mod common;

use common::{atelier, stderr};

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn passed_wipe(serial: &str) -> SanitizationEntry {
    serde_json::from_value(serde_json::json!({
        "id": uuid::Uuid::now_v7(),
        "device": {
            "name": "sdb", "path": "/dev/sdb", "model": "Crucial CT240BX500SSD1",
            "serial": serial, "transport": "sata", "media": "flash",
            "size_bytes": 240_057_409_536u64, "logical_sector_size": 512,
            "physical_sector_size": 512, "rotational": false, "removable": false
        },
        "category": "clear",
        "method": {
            "name": "overwrite-random", "technique": "overwrite", "passes": ["random"],
            "random_generator": "aes-128-ctr", "request_size_bytes": 8_388_608
        },
        "verification": {
            "mode": "full", "result": "passed", "bytes_checked": 240_057_409_536u64,
            "coverage_percent": 100.0, "mismatched_sectors": 0, "unreadable_sectors": 0
        },
        "started_at": "2026-03-14T09:12:03Z",
        "ended_at": "2026-03-14T09:52:41Z",
        "duration_seconds": 2438.5,
        "bytes_written": 240_057_409_536u64,
        "write_throughput_bytes_per_second": 98_400_000.0,
        "tool": { "name": "atelier", "version": "0.1.0" },
        "outcome": "PASSED"
    }))
    .unwrap()
}

/// A store in `data` holding one record with a passed wipe; its id.
fn stored_record(data: &Path) -> String {
    let mut record = AssetRecord::new(Bench {
        hostname: "banc-test".into(),
        tool: ToolInfo {
            name: "atelier".into(),
            version: "0.1.0".into(),
        },
        operator: Some("Élodie".into()),
        partner: None,
    });
    record.sanitization = vec![passed_wipe("2239E6A1B2C3")];
    let store = atelier_store::Store::open(data).unwrap();
    store.save_record(&record).unwrap();
    record.id.to_string()
}

fn pdftotext(file: &Path) -> String {
    let out = Command::new("pdftotext")
        .arg(file)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils, scripts/setup.sh)");
    stdout(&out)
}

fn qpdf_ok(file: &Path) {
    let out = Command::new("qpdf")
        .arg("--check")
        .arg(file)
        .output()
        .expect("qpdf (scripts/setup.sh)");
    assert!(out.status.success(), "{}", stdout(&out));
}

#[test]
fn certify_writes_a_pdf_that_verify_accepts_and_a_tampered_one_it_refuses() {
    let data = tempfile::tempdir().unwrap();
    fs::write(
        data.path().join("atelier.toml"),
        "[organisation]\nname = \"Atelier Vélo-Ordi\"\naddress = [\"3 place du Marché\"]\n",
    )
    .unwrap();
    let id = stored_record(data.path());
    let out = atelier(data.path())
        .args(["certify", &id])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let certs = data.path().join("certificates");
    let pdf = fs::read_dir(&certs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "pdf"))
        .expect("certificates/ID.pdf");
    assert!(pdf.with_extension("json").exists());
    assert!(
        stderr(&out).contains(&pdf.display().to_string()),
        "{}",
        stderr(&out)
    );
    qpdf_ok(&pdf);
    let text = pdftotext(&pdf);
    for needle in ["DATA ERASED", "2239E6A1B2C3", "Atelier Vélo-Ordi", "Élodie"] {
        assert!(text.contains(needle), "{needle:?} in {text}");
    }

    let out = atelier(data.path())
        .arg("verify")
        .arg(&pdf)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).starts_with("VALID"), "{}", stdout(&out));

    // One byte of the embedded JSON changed (the serial's last digit): NOT VALID.
    let mut bytes = fs::read(&pdf).unwrap();
    let at = bytes
        .windows(12)
        .position(|w| w == b"2239E6A1B2C3")
        .expect("serial in the attachment");
    bytes[at + 11] = b'4';
    let forged = data.path().join("forged.pdf");
    fs::write(&forged, &bytes).unwrap();
    let out = atelier(data.path())
        .arg("verify")
        .arg(&forged)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).starts_with("NOT VALID"), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("changed after it was signed"),
        "{}",
        stdout(&out)
    );

    // print certificate rebuilds the same embedded record from the store.
    let again = data.path().join("again.pdf");
    let out = Command::new(env!("CARGO_BIN_EXE_atelier"))
        .args(["--lang", "fr", "--data-dir"])
        .arg(data.path())
        .args(["print", "certificate", &id, "--out"])
        .arg(&again)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("Écrit dans"), "{}", stderr(&out));
    assert_eq!(
        atelier_certify::pdf::embedded_record(&fs::read(&again).unwrap()).unwrap(),
        fs::read(pdf.with_extension("json")).unwrap()
    );

    // The label, as Brother QL raster data: decodes into a 696 × 271 picture.
    let bin = data.path().join("label.bin");
    let out = atelier(data.path())
        .args(["print", "label", &id, "--format", "brother-ql", "--out"])
        .arg(&bin)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let decoded = atelier_certify::label::brother::decode(
        &fs::read(&bin).unwrap(),
        &atelier_certify::label::brother::DK_11209,
    )
    .unwrap();
    assert_eq!(
        (decoded.bitmap.width(), decoded.bitmap.height()),
        (696, 271)
    );
    let label_pdf = data.path().join("label.pdf");
    let out = atelier(data.path())
        .args(["print", "label", &id, "--out"])
        .arg(&label_pdf)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    qpdf_ok(&label_pdf);
    assert!(pdftotext(&label_pdf).contains("AT-"));
}

#[test]
fn print_certificate_of_an_uncertified_record_is_refused() {
    let data = tempfile::tempdir().unwrap();
    let id = stored_record(data.path());
    let out = atelier(data.path())
        .args(["print", "certificate", &id, "--out"])
        .arg(data.path().join("x.pdf"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("atelier certify"), "{}", stderr(&out));
}

#[test]
fn a_typo_in_the_organisation_section_names_its_line() {
    let data = tempfile::tempdir().unwrap();
    fs::write(
        data.path().join("atelier.toml"),
        "[organisation]\nname = \"x\"\nadress = [\"y\"]\n",
    )
    .unwrap();
    let id = stored_record(data.path());
    let out = atelier(data.path())
        .args(["print", "label", &id, "--out"])
        .arg(data.path().join("l.pdf"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("line 3"), "{}", stderr(&out));
    assert!(stderr(&out).contains("adress"), "{}", stderr(&out));
}
