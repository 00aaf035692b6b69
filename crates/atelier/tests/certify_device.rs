//! Device tier: a real wipe on a loop device, then `atelier certify` and `atelier verify`:
//! the certificate verifies, any change is caught, and a failed wipe gets no certificate.

use std::fs;

use atelier_record::{AssetRecord, Outcome};
use atelier_testkit::{LoopDevice, device_tier};

mod common;

use common::{MIB, atelier, records, stderr};

#[test]
fn a_passed_wipe_is_certified_and_verifies_and_a_change_is_caught() {
    if !device_tier(&[]) {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let dev = LoopDevice::new(8 * MIB);
    let out = atelier(data.path())
        .args(["wipe", "--yes-i-understand-this-destroys-data"])
        .arg(dev.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));

    let cert = data.path().join("cert.json");
    let out = atelier(data.path())
        .args(["certify", "last", "--out"])
        .arg(&cert)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("data erased"), "{}", stderr(&out));
    // The stored record now holds the certificate.
    let list = records(data.path());
    let id = list["records"][0]["id"].as_str().unwrap().to_owned();
    let record = common::export(data.path(), &id);
    assert_eq!(record["certificate"]["title_verdict"], "erased");
    assert!(record["certificate"]["seal"]["signature"].is_string());

    let out = atelier(data.path())
        .arg("verify")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("VALID"));

    // One changed claim inside the signed record: refused.
    let mut doc: serde_json::Value = serde_json::from_slice(&fs::read(&cert).unwrap()).unwrap();
    let text = doc["record_json"].as_str().unwrap().to_owned();
    assert!(text.contains("\"outcome\":\"PASSED\""));
    let changed = text.replacen("\"bytes_written\":", "\"bytes_written\":1", 1);
    assert_ne!(changed, text);
    doc["record_json"] = changed.into();
    let forged = data.path().join("forged.json");
    fs::write(&forged, serde_json::to_vec(&doc).unwrap()).unwrap();
    let out = atelier(data.path())
        .arg("verify")
        .arg(&forged)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("NOT VALID"));

    // A bench that does not know this bench's key: unknown key.
    let other = tempfile::tempdir().unwrap();
    let empty = other.path().join("trusted-keys");
    fs::write(&empty, "# no bench\n").unwrap();
    let out = atelier(other.path())
        .arg("verify")
        .arg(&cert)
        .arg("--trusted-keys")
        .arg(&empty)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("key"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn a_failed_wipe_gets_no_certificate() {
    if !device_tier(&[]) {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let dev = LoopDevice::new(8 * MIB);
    let out = atelier(data.path())
        .args(["wipe", "--yes-i-understand-this-destroys-data"])
        .arg(dev.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    // The same record with its wipe marked FAILED, saved as another record.
    let list = records(data.path());
    let id = list["records"][0]["id"].as_str().unwrap().to_owned();
    let mut record: AssetRecord = serde_json::from_value(common::export(data.path(), &id)).unwrap();
    record.id = uuid::Uuid::now_v7();
    record.sanitization[0].outcome = Outcome::Failed;
    let store = atelier_store::Store::open(data.path()).unwrap();
    store.save_record(&record).unwrap();
    drop(store);

    let out = atelier(data.path())
        .args(["certify", &record.id.to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("no certificate"), "{}", stderr(&out));
    assert!(!data.path().join("certificates").exists());
}
