//! The yearly report: what counts in the period, by verdict, method and partner; duplicates from
//! several benches counted once; a signed export read back counts like the store's record; CSV.

mod common;

use atelier_certify::report::{NO_PARTNER, build_report, is_raspberry_pi, report_csv};
use atelier_certify::{certify, sign_record};
use atelier_record::{AssetRecord, HardwareSection, Outcome};
use chrono::NaiveDate;
use common::{at, bench_key, record, request, wipe};
use serde_json::json;

fn day(s: &str) -> Option<NaiveDate> {
    Some(s.parse().unwrap())
}

/// A PC: inventoried, one disk wiped, certified on `issued` by a bench working for `partner`.
fn pc(serial: &str, outcome: &str, issued: &str, partner: Option<&str>) -> AssetRecord {
    let key = bench_key();
    let mut r = record(vec![wipe(serial, outcome, &[])]);
    r.bench.partner = partner.map(str::to_owned);
    r.hardware = Some(HardwareSection::not_read(at(issued), "test"));
    if outcome == "PASSED" {
        let mut req = request();
        req.issued_at = at(issued);
        // No functional checks yet: "data erased", never "refurbished".
        req.functional_checks_passed = None;
        certify(&mut r, req, &key.key).unwrap();
    }
    r
}

/// A Raspberry Pi card: no hardware, a passed deployment customised with cloud-init.
fn pi_card(ended: &str, partner: Option<&str>) -> AssetRecord {
    let mut r = record(vec![]);
    r.bench.partner = partner.map(str::to_owned);
    r.deployment = Some(
        serde_json::from_value(json!({
            "image": {"name": "raspios-trixie-arm64-lite", "source": "catalogue",
                      "format": "xz", "size_bytes": 2_700_000_000u64,
                      "image_sha256": "ab".repeat(32)},
            "target": {"name": "sdb", "path": "/dev/sdb", "transport": "usb", "media": "flash",
                       "size_bytes": 31_914_983_424u64, "logical_sector_size": 512,
                       "physical_sector_size": 512, "rotational": false, "removable": true},
            "tool": {"name": "atelier", "version": "0.1.0"},
            "started_at": ended, "ended_at": ended,
            "bytes_written": 2_700_000_000u64, "bytes_skipped": 0,
            "verification": {"mode": "full", "bytes_checked": 2_700_000_000u64, "passed": true},
            "customisation": {"format": "cloud-init", "hostname": "pi-001"},
            "outcome": "PASSED"
        }))
        .unwrap(),
    );
    r
}

#[test]
fn counts_within_the_period_by_verdict_method_and_partner() {
    let records = vec![
        pc(
            "S1",
            "PASSED",
            "2026-03-14T10:00:00Z",
            Some("Emmaüs Connect"),
        ),
        pc(
            "S2",
            "PASSED",
            "2026-06-01T10:00:00Z",
            Some("Emmaüs Connect"),
        ),
        pc("S3", "PASSED", "2026-07-01T10:00:00Z", None),
        // A failed wipe: no certificate, the machine is in progress, the erasure failed.
        pc(
            "S4",
            "FAILED",
            "2026-08-01T10:00:00Z",
            Some("Secours populaire"),
        ),
        // Outside the period.
        pc(
            "S5",
            "PASSED",
            "2025-12-31T23:59:59Z",
            Some("Emmaüs Connect"),
        ),
        pi_card("2026-09-10T08:00:00Z", Some("Secours populaire")),
        pi_card("2027-01-01T00:00:00Z", Some("Secours populaire")),
    ];
    let r = build_report(records, day("2026-01-01"), day("2026-12-31"));
    assert_eq!(r.records_read, 7);
    assert_eq!(r.machines_certified, 3);
    assert_eq!(r.machines_by_verdict.get("erased"), Some(&3));
    assert_eq!(r.machines_by_verdict.get("refurbished"), None);
    assert_eq!(r.machines_in_progress, 1, "{r:#?}");
    assert_eq!(r.raspberry_pi_flashed, 1);
    assert_eq!(r.other_media_flashed, 0);
    // The common helper's wipes end on 2026-03-14 whatever the certificate date.
    let e = &r.erasures[0];
    assert_eq!(
        (e.method.as_str(), e.category.as_str()),
        ("atelier-overwrite", "clear")
    );
    assert_eq!((e.passed, e.failed, e.interrupted), (4, 1, 0));
    assert_eq!(r.disks_erased(), 4);

    let names: Vec<&str> = r.partners.iter().map(|p| p.partner.as_str()).collect();
    assert_eq!(names, ["Emmaüs Connect", "Secours populaire", NO_PARTNER]);
    let emmaus = &r.partners[0];
    assert_eq!(
        (
            emmaus.machines_certified,
            emmaus.raspberry_pi_flashed,
            emmaus.disks_erased
        ),
        (2, 0, 3)
    );
    let secours = &r.partners[1];
    assert_eq!(
        (
            secours.machines_certified,
            secours.raspberry_pi_flashed,
            secours.disks_erased
        ),
        (0, 1, 0)
    );
}

#[test]
fn open_ends_and_the_last_day_are_included() {
    let records = vec![pc("S1", "PASSED", "2026-12-31T23:59:59Z", None)];
    let r = build_report(records.clone(), None, day("2026-12-31"));
    assert_eq!(r.machines_certified, 1);
    let r = build_report(records.clone(), day("2027-01-01"), None);
    assert_eq!(r.machines_certified, 0);
    let r = build_report(records, None, None);
    assert_eq!(r.machines_certified, 1);
}

#[test]
fn the_same_record_from_two_benches_counts_once_newest_copy_wins() {
    let certified = pc("S1", "PASSED", "2026-05-05T10:00:00Z", Some("A"));
    let mut older = certified.clone();
    older.certificate = None;
    older.updated_at = at("2026-05-05T09:00:00Z");
    let r = build_report(
        vec![older, certified.clone(), certified],
        day("2026-01-01"),
        day("2026-12-31"),
    );
    assert_eq!(r.records_read, 1);
    assert_eq!(r.duplicates_skipped, 2);
    assert_eq!((r.machines_certified, r.machines_in_progress), (1, 0));
}

#[test]
fn raspberry_pi_is_recognised_by_customisation_or_image_name() {
    let card = pi_card("2026-09-10T08:00:00Z", None);
    assert!(is_raspberry_pi(&card));
    let mut golden = card.clone();
    let d = golden.deployment.as_mut().unwrap();
    d.image.name = "mint-22-golden".into();
    d.customisation.as_mut().unwrap().format = "golden-image".into();
    assert!(!is_raspberry_pi(&golden));
    // A golden image written to a stick, outside a machine: other media.
    let r = build_report(vec![golden.clone()], None, None);
    assert_eq!((r.raspberry_pi_flashed, r.other_media_flashed), (0, 1));
    // A deployment that failed is not counted.
    golden.deployment.as_mut().unwrap().outcome = Outcome::Failed;
    let r = build_report(vec![golden], None, None);
    assert_eq!(r.other_media_flashed, 0);
}

#[test]
fn csv_has_a_header_and_quotes_what_needs_it() {
    let r = build_report(
        vec![pc(
            "S1",
            "PASSED",
            "2026-05-05T10:00:00Z",
            Some("Repair, \"Café\""),
        )],
        None,
        None,
    );
    let csv = report_csv(&r);
    let mut lines = csv.split("\r\n");
    assert_eq!(lines.next(), Some("section,key,category,value"));
    assert!(csv.contains("machines,certified,,1\r\n"), "{csv}");
    assert!(csv.contains("machines,certified,erased,1\r\n"), "{csv}");
    assert!(
        csv.contains("erasures_passed,atelier-overwrite,clear,1\r\n"),
        "{csv}"
    );
    assert!(
        csv.contains("partner,\"Repair, \"\"Café\"\"\",machines_certified,1\r\n"),
        "{csv}"
    );
    assert!(csv.ends_with("\r\n"));
}

#[test]
fn a_signed_certificate_keeps_what_the_report_needs() {
    // What an export holds is the signed view (no updated_at): the binary's reader fills it
    // in from the issue date. Here: the signed view still has certificate, bench.partner,
    // sanitization and hardware.
    let r = pc("S1", "PASSED", "2026-05-05T10:00:00Z", Some("A"));
    let key = bench_key();
    let signed = sign_record(&r, &key.key).unwrap();
    let view: serde_json::Value = serde_json::from_str(&signed.record_json).unwrap();
    assert_eq!(view["bench"]["partner"], "A");
    assert!(view.get("updated_at").is_none());
    assert!(view["certificate"]["issued_at"].is_string());
    assert_eq!(view["sanitization"].as_array().map(Vec::len), Some(1));
}
