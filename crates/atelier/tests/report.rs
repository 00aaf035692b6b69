//! `atelier report` end to end: records in a real store plus an export directory of another
//! bench (a signed certificate, a JSON Lines file, a file that is not a record), in French and
//! English, table, CSV and JSON; bad input (reversed period, missing folder) says so.

use std::path::Path;
use std::process::{Command, Output};

use atelier_certify::{CertificateRequest, KeyStore, certify};
use atelier_record::{
    AssetRecord, Bench, ClockKind, ClockSource, HardwareSection, Language, NtpSync,
    SanitizationEntry, ToolInfo,
};
use serde_json::json;

fn atelier(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_atelier"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env_remove("ATELIER_PARTNER")
        .env_remove("ATELIER_CONFIG")
        .output()
        .expect("atelier runs")
}

fn wipe(serial: &str, method: &str, category: &str, outcome: &str) -> SanitizationEntry {
    serde_json::from_value(json!({
        "id": uuid::Uuid::now_v7(),
        "device": {"name": "sda", "path": "/dev/sda", "serial": serial, "transport": "sata",
                   "media": "flash", "size_bytes": 128_035_676_160u64, "logical_sector_size": 512,
                   "physical_sector_size": 512, "rotational": false, "removable": false},
        "category": category,
        "method": {"name": method, "technique": "overwrite", "passes": ["random"],
                   "request_size_bytes": 8_388_608},
        "verification": {"mode": "full", "result": "passed", "bytes_checked": 1,
                         "coverage_percent": 100.0, "mismatched_sectors": 0,
                         "unreadable_sectors": 0},
        "started_at": "2026-04-02T09:00:00Z", "ended_at": "2026-04-02T09:40:00Z",
        "duration_seconds": 2400.0, "bytes_written": 1, "errors": [],
        "tool": {"name": "atelier", "version": "0.1.0"},
        "outcome": outcome, "interruptions": [], "exceptions": []
    }))
    .unwrap()
}

fn pc(serial: &str, partner: &str, method: &str, category: &str) -> AssetRecord {
    let mut r = AssetRecord::new(Bench {
        hostname: "banc-2".into(),
        tool: ToolInfo {
            name: "atelier".into(),
            version: "0.1.0".into(),
        },
        operator: None,
        partner: Some(partner.into()),
    });
    r.hardware = Some(HardwareSection::not_read(
        "2026-04-02T08:55:00Z".parse().unwrap(),
        "test",
    ));
    r.sanitization = vec![wipe(serial, method, category, "PASSED")];
    r
}

fn request() -> CertificateRequest {
    CertificateRequest {
        issued_at: "2026-04-02T10:00:00Z".parse().unwrap(),
        clock: ClockSource {
            clock: ClockKind::SystemClock,
            ntp_synchronized: NtpSync::Yes,
            checked_with: None,
        },
        language: Language::Fr,
        functional_checks_passed: None,
    }
}

/// A store with one certified PC (this bench) and an export folder from another bench: one
/// signed certificate, a JSONL with the same PC again (a duplicate) and an uncertified one,
/// and a JSON file that is not a record.
fn setup() -> (tempfile::TempDir, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let key = KeyStore::open(data.path())
        .unwrap()
        .load_or_create()
        .unwrap();
    let store = atelier_store::Store::open(data.path()).unwrap();
    let mut here = pc("LOCAL1", "Emmaüs Connect", "overwrite-random", "clear");
    certify(&mut here, request(), &key).unwrap();
    store.save_record(&here).unwrap();

    let export = tempfile::tempdir().unwrap();
    let bench2 = export.path().join("banc-2/2026");
    std::fs::create_dir_all(&bench2).unwrap();
    let mut other = pc(
        "OTHER1",
        "Secours populaire",
        "nvme-format-user-data",
        "purge",
    );
    let signed = certify(&mut other, request(), &key).unwrap();
    std::fs::write(bench2.join("cert.json"), signed.to_json_pretty()).unwrap();
    let in_progress = pc("OTHER2", "Secours populaire", "overwrite-random", "clear");
    let lines = format!(
        "{}\n{}\n",
        serde_json::to_string(&here).unwrap(),
        serde_json::to_string(&in_progress).unwrap()
    );
    std::fs::write(bench2.join("records.jsonl"), lines).unwrap();
    std::fs::write(bench2.join("glpi.json"), r#"{"itemtype": "Computer"}"#).unwrap();
    std::fs::write(bench2.join("broken.json"), "{\"record_version\": 1,").unwrap();
    (data, export)
}

#[test]
fn store_and_export_folder_counted_once_in_csv_json_and_tables() {
    let (data, export) = setup();
    let dir = export.path().to_str().unwrap();
    let out = atelier(
        data.path(),
        &[
            "report",
            "--from",
            "2026-01-01",
            "--to",
            "2026-12-31",
            "--input",
            dir,
            "--format",
            "json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["records_read"], 3, "{r:#}");
    assert_eq!(r["duplicates_skipped"], 1);
    assert_eq!(r["machines_certified"], 2);
    assert_eq!(r["machines_by_verdict"]["erased"], 2);
    assert_eq!(r["machines_in_progress"], 1);
    let erasures = r["erasures"].as_array().unwrap();
    assert_eq!(erasures.len(), 2, "{r:#}");
    // The broken file is named on stderr; the GLPI file is silently not a record.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.json"), "{err}");
    assert!(!err.contains("glpi.json"), "{err}");

    let csv_file = data.path().join("report.csv");
    let out = atelier(
        data.path(),
        &[
            "report",
            "--input",
            dir,
            "--format",
            "csv",
            "--out",
            csv_file.to_str().unwrap(),
        ],
    );
    assert!(out.status.success());
    let csv = std::fs::read_to_string(&csv_file).unwrap();
    assert!(
        csv.contains("erasures_passed,nvme-format-user-data,purge,1\r\n"),
        "{csv}"
    );
    assert!(
        csv.contains("partner,Emmaüs Connect,machines_certified,1\r\n"),
        "{csv}"
    );

    let fr = atelier(data.path(), &["--lang", "fr", "report", "--input", dir]);
    let fr = String::from_utf8_lossy(&fr.stdout);
    assert!(fr.contains("Ordinateurs certifiés"), "{fr}");
    assert!(fr.contains("données effacées"), "{fr}");
    assert!(fr.contains("Secours populaire"), "{fr}");
    let en = atelier(data.path(), &["--lang", "en", "report", "--input", dir]);
    let en = String::from_utf8_lossy(&en.stdout);
    assert!(en.contains("Computers certified"), "{en}");
    assert!(en.contains("nvme-format-user-data (purge)"), "{en}");
}

#[test]
fn only_the_period_counts() {
    let (data, export) = setup();
    let dir = export.path().to_str().unwrap();
    let out = atelier(
        data.path(),
        &[
            "report",
            "--from",
            "2027-01-01",
            "--input",
            dir,
            "--format",
            "json",
        ],
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["machines_certified"], 0);
    assert_eq!(r["erasures"].as_array().map(Vec::len), Some(0));
}

#[test]
fn bad_input_is_named() {
    let data = tempfile::tempdir().unwrap();
    let out = atelier(
        data.path(),
        &[
            "--lang",
            "fr",
            "report",
            "--from",
            "2026-12-31",
            "--to",
            "2026-01-01",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("inversez --from et --to"), "{err}");

    let missing = data.path().join("pas-de-cle");
    let out = atelier(
        data.path(),
        &[
            "--lang",
            "en",
            "report",
            "--input",
            missing.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("pas-de-cle") && err.contains("plugged in"),
        "{err}"
    );

    let out = atelier(data.path(), &["report", "--from", "2026-13-01"]);
    assert_eq!(out.status.code(), Some(2));

    // No store, no input: an empty report, not an error (and no store created).
    let out = atelier(data.path(), &["report", "--format", "json"]);
    assert!(out.status.success());
    assert!(!data.path().join(atelier_store::DATABASE_FILE).exists());
}

#[test]
fn pdf_report_is_valid_and_holds_the_figures() {
    let (data, export) = setup();
    let dir = export.path().to_str().unwrap();
    let pdf = data.path().join("bilan.pdf");
    std::fs::write(
        data.path().join("atelier.toml"),
        "[organisation]\nname = \"Repair Café Lyon\"\n",
    )
    .unwrap();
    let out = atelier(
        data.path(),
        &[
            "--lang",
            "fr",
            "report",
            "--from",
            "2026-01-01",
            "--to",
            "2026-12-31",
            "--input",
            dir,
            "--format",
            "pdf",
            "--out",
            pdf.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let check = Command::new("qpdf").arg("--check").arg(&pdf).output();
    let check = match check {
        Ok(c) => c,
        Err(e) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("qpdf not available ({e}): run scripts/setup.sh");
            return;
        }
        Err(e) => panic!("qpdf: {e}"),
    };
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let text = Command::new("pdftotext")
        .args(["-layout"])
        .arg(&pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils)");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("Bilan d'activité"), "{text}");
    assert!(text.contains("Repair Café Lyon"), "{text}");
    assert!(text.contains("2026-01-01 → 2026-12-31"), "{text}");
    assert!(text.contains("Ordinateurs certifiés"), "{text}");
    assert!(text.contains("Secours populaire"), "{text}");
    assert!(text.contains("nvme-format-user-data (purge)"), "{text}");
    let pages = Command::new("pdfinfo").arg(&pdf).output().unwrap();
    let info = String::from_utf8_lossy(&pages.stdout).into_owned();
    assert!(
        info.lines()
            .any(|l| l.starts_with("Pages:") && l.split_whitespace().nth(1) == Some("1")),
        "{info}"
    );

    // Without --out: refused, nothing binary on the terminal.
    let out = atelier(data.path(), &["report", "--format", "pdf"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}
