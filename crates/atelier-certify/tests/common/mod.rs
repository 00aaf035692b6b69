//! Records, keys and trust lists shared by the integration tests.
#![allow(dead_code)]

use atelier_certify::{BenchKey, CertificateRequest, KeyStore, TrustList};
use atelier_record::{
    AssetRecord, Bench, ClockKind, ClockSource, Language, NtpSync, SanitizationEntry, ToolInfo,
};
use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

/// A bench key in its own fresh data directory (kept alive with the key).
pub struct TestBench {
    pub dir: tempfile::TempDir,
    pub key: BenchKey,
}

pub fn bench_key() -> TestBench {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyStore::open(dir.path())
        .unwrap()
        .load_or_create()
        .unwrap();
    TestBench { dir, key }
}

pub fn trusting(benches: &[(&TestBench, &str)]) -> TrustList {
    let mut list = TrustList::new();
    for (bench, label) in benches {
        list.add(bench.key.public_key(), label).unwrap();
    }
    list
}

pub fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// One wipe of a SATA SSD, with doubles that only survive a round trip when parsed exactly.
pub fn wipe(serial: &str, outcome: &str, exceptions: &[&str]) -> SanitizationEntry {
    serde_json::from_value(json!({
        "id": Uuid::now_v7(),
        "device": {
            "name": "sda", "path": "/dev/sda", "model": "Samsung SSD 860 EVO 250GB",
            "serial": serial, "firmware": "RVT04B6Q", "transport": "sata", "media": "flash",
            "size_bytes": 250_059_350_016u64, "logical_sector_size": 512,
            "physical_sector_size": 512, "rotational": false, "removable": false
        },
        "category": "clear",
        "method": {
            "name": "atelier-overwrite", "technique": "overwrite", "passes": ["random"],
            "random_generator": "AES-128-CTR", "request_size_bytes": 8_388_608
        },
        "verification": {
            "mode": "full", "result": if outcome == "PASSED" { "passed" } else { "failed" },
            "bytes_checked": 250_059_350_016u64, "coverage_percent": 100.0,
            "mismatched_sectors": 0, "unreadable_sectors": 0
        },
        "started_at": "2026-03-14T09:12:03.123456789Z",
        "ended_at": "2026-03-14T09:52:41.5Z",
        "duration_seconds": 2_438.376_543_210_987,
        "bytes_written": 250_059_350_016u64,
        "write_throughput_bytes_per_second": 0.1 + 0.2,
        "verify_throughput_bytes_per_second": 1.234_567_890_123_456_7e-7,
        "errors": [],
        "tool": { "name": "atelier", "version": "0.1.0" },
        "outcome": outcome,
        "interruptions": [],
        "exceptions": exceptions,
    }))
    .unwrap()
}

pub fn record(wipes: Vec<SanitizationEntry>) -> AssetRecord {
    let mut record = AssetRecord::new(Bench {
        hostname: "banc-1".into(),
        tool: ToolInfo {
            name: "atelier".into(),
            version: "0.1.0".into(),
        },
        operator: Some("Aïcha".into()),
        partner: None,
    });
    record.sanitization = wipes;
    record
}

pub fn request() -> CertificateRequest {
    CertificateRequest {
        issued_at: at("2026-03-14T10:00:00.250Z"),
        clock: ClockSource {
            clock: ClockKind::SystemClock,
            ntp_synchronized: NtpSync::Yes,
            checked_with: Some("timedatectl NTPSynchronized".into()),
        },
        language: Language::Fr,
        functional_checks_passed: Some(true),
    }
}

/// `bytes` with the byte at `index` XORed with `mask`.
pub fn flipped(bytes: &[u8], index: usize, mask: u8) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[index] ^= mask;
    out
}

/// The masks tried at every position: the lowest bit, the ASCII case bit, the top bit.
pub const MASKS: [u8; 3] = [0x01, 0x20, 0x80];
