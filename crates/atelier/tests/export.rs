//! `atelier export --to DIR`: the files a USB stick gets (signed certificate JSON and PDF,
//! `certificates.jsonl`, the GLPI inventory for `glpi-injector`), written once however often
//! it runs, read back by `atelier verify` and `atelier report --input DIR`.

mod common;

use std::path::{Path, PathBuf};

use atelier_certify::{CertificateRequest, KeyStore, certify};
use atelier_record::{ClockSource, Language};
use atelier_store::Store;
use common::{atelier, stderr};
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../atelier-device/tests/fixtures")
        .join(name)
}

/// A store with one certified record of the captured ThinkPad; returns (record id,
/// certificate id). No PDF on the bench yet: the export makes it.
fn certified_store(data: &Path) -> (String, String) {
    let out = atelier(data)
        .arg("--root")
        .arg(fixture("qemu-q35"))
        .args(["inventory", "--no-smart"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let store = Store::open(data).unwrap();
    let id = store.records().unwrap()[0].id;
    let key = KeyStore::open(data).unwrap().load_or_create().unwrap();
    let record = store
        .update_record(id, |r| {
            certify(
                r,
                CertificateRequest {
                    issued_at: chrono::Utc::now(),
                    clock: ClockSource::default(),
                    language: Language::En,
                    functional_checks_passed: None,
                },
                &key,
            )
            .unwrap();
        })
        .unwrap();
    let cert = record.certificate.unwrap().certificate_id.to_string();
    (id.to_string(), cert)
}

fn snapshot(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn export_writes_the_stick_once_and_report_and_verify_read_it() {
    let data = tempfile::tempdir().unwrap();
    let stick = tempfile::tempdir().unwrap();
    let (_record, cert) = certified_store(data.path());
    let out = atelier(data.path())
        .args(["export", "--to"])
        .arg(stick.path())
        .output()
        .unwrap();
    let said = stderr(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("1 certificate(s)"), "{said}");

    let root = stick.path();
    let json = root.join(format!("certificates/{cert}.json"));
    let pdf = std::fs::read(root.join(format!("certificates/{cert}.pdf"))).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let jsonl = std::fs::read_to_string(root.join("certificates.jsonl")).unwrap();
    assert_eq!(jsonl.lines().count(), 1);
    assert_eq!(
        atelier_push::directory::line_key(jsonl.lines().next().unwrap())
            .unwrap()
            .to_string(),
        cert
    );
    let glpi: Vec<PathBuf> = std::fs::read_dir(root.join("glpi"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(glpi.len(), 1);
    let inventory: Value = serde_json::from_slice(&std::fs::read(&glpi[0]).unwrap()).unwrap();
    let device_id = inventory["deviceid"].as_str().unwrap();
    assert_eq!(inventory["action"], "inventory");
    // Named <GLPI-Agent-ID>.json: glpi-injector sends that UUID as the agent id.
    assert_eq!(
        glpi[0].file_name().unwrap().to_string_lossy(),
        format!("{}.json", atelier_push::glpi::agent_id(device_id))
    );

    // Twice: the same files, byte for byte, and nothing written.
    let first = snapshot(root);
    let out = atelier(data.path())
        .args(["export", "--to"])
        .arg(root)
        .output()
        .unwrap();
    let said = stderr(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("0 file(s) written"), "{said}");
    assert_eq!(snapshot(root), first);

    // The certificate on the stick verifies offline (with this bench's key).
    let out = atelier(data.path())
        .arg("verify")
        .arg(&json)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // Another bench's report reads the stick: one machine (the JSON and the JSONL line are
    // the same certificate).
    let elsewhere = tempfile::tempdir().unwrap();
    let out = atelier(elsewhere.path())
        .args(["report", "--format", "json", "--input"])
        .arg(root)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["machines_certified"], 1, "{report}");
    assert_eq!(report["records_read"], 1, "{report}");
}

#[test]
fn a_missing_target_is_named_with_the_next_step_in_both_languages() {
    let data = tempfile::tempdir().unwrap();
    certified_store(data.path());
    let gone = data.path().join("usb-not-mounted");
    let out = atelier(data.path())
        .args(["export", "--to"])
        .arg(&gone)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains(&gone.display().to_string()), "{err}");
    assert!(
        err.contains("plug in the USB stick") && err.contains("Nothing is lost"),
        "{err}"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_atelier"))
        .args(["--lang", "fr", "--data-dir"])
        .arg(data.path())
        .args(["export", "--to"])
        .arg(&gone)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(
        err.contains("branchez la clé USB") && err.contains("Rien n'est perdu"),
        "{err}"
    );
    assert!(!gone.exists());
}

#[test]
fn dates_and_uncertified_records_are_honoured() {
    let data = tempfile::tempdir().unwrap();
    let stick = tempfile::tempdir().unwrap();
    certified_store(data.path());
    let out = atelier(data.path())
        .args(["export", "--from", "2999-01-01", "--to"])
        .arg(stick.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read_dir(stick.path()).unwrap().next().is_none());
    // A record without a certificate is refused by name.
    let bare = atelier_record::AssetRecord::new(atelier_record::Bench {
        hostname: "bench".into(),
        tool: atelier_record::ToolInfo {
            name: "atelier".into(),
            version: "0".into(),
        },
        operator: None,
        partner: None,
    });
    Store::open(data.path())
        .unwrap()
        .save_record(&bare)
        .unwrap();
    let out = atelier(data.path())
        .args(["export", "--to"])
        .arg(stick.path())
        .arg(bare.id.to_string())
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(
        !out.status.success() && err.contains("no certificate"),
        "{err}"
    );
}
