//! Signing and verifying: what verifies, and that every kind of tampering is caught and
//! named.

mod common;

use atelier_certify::canonical::canonicalize;
use atelier_certify::sign::{signed_text, signed_view};
use atelier_certify::{
    CanonError, SignError, SignedRecord, TrustList, VerifyError, certify, sign_record, sign_value,
    verify, verify_asset_record, verify_document, verify_record,
};
use atelier_record::{AssetRecord, Delivery, Language, TitleVerdict};
use common::*;
use ed25519_dalek::Signer;
use ed25519_dalek::pkcs8::DecodePrivateKey;
use serde_json::{Value, json};

fn certified() -> (TestBench, AssetRecord, SignedRecord) {
    let bench = bench_key();
    let mut record = record(vec![wipe("S3Z9NB0K123456A", "PASSED", &[])]);
    let signed = certify(&mut record, request(), &bench.key).unwrap();
    (bench, record, signed)
}

#[test]
fn a_signed_record_verifies_against_its_bench_key() {
    let (bench, record, signed) = certified();
    let trusted = trusting(&[(&bench, "banc-1, Repair café")]);
    let verified = verify(&signed, &trusted).unwrap();
    assert_eq!(verified.key.label, "banc-1, Repair café");
    assert_eq!(verified.key.public_key, bench.key.public_key());
    assert_eq!(verified.sha256, signed.seal.sha256);
    assert_eq!(verified.signed_json, signed.record_json);
    // The signed record is the certified record, minus what the signature does not cover.
    assert_eq!(verified.record().unwrap().sanitization, record.sanitization);
    assert_eq!(verified.certificate(), record.certificate);
    let mut expected = record.clone();
    expected.updated_at = record.certificate.as_ref().unwrap().issued_at;
    assert_eq!(verified.record().unwrap(), expected);
}

#[test]
fn certify_fills_an_honest_certificate() {
    let (bench, record, signed) = certified();
    let certificate = record.certificate.clone().unwrap();
    let request = request();
    assert_eq!(certificate.certificate_id.get_version_num(), 7);
    let (seconds, nanos) = certificate
        .certificate_id
        .get_timestamp()
        .unwrap()
        .to_unix();
    assert_eq!(
        (seconds as i64, nanos / 1_000_000),
        (request.issued_at.timestamp(), 250),
        "the id's time is the time of issue"
    );
    assert_eq!(certificate.issued_at, request.issued_at);
    assert_eq!(certificate.clock, request.clock);
    assert!(certificate.all_wipes_passed);
    assert_eq!(certificate.title_verdict, TitleVerdict::Refurbished);
    assert_eq!(certificate.language, Language::Fr);
    let seal = certificate.seal.unwrap();
    assert_eq!(seal, signed.seal);
    assert_eq!(seal.algorithm, "Ed25519");
    assert_eq!(seal.canonicalisation, "RFC8785");
    assert_eq!(seal.key_fingerprint, bench.key.fingerprint().to_string());
    assert_eq!(seal.public_key, bench.key.public_key().to_hex());
    assert_eq!(seal.sha256.len(), 64);
    assert_eq!(seal.signature.len(), 128);
    // The claims are inside the signed text; the seal is not.
    assert!(
        signed
            .record_json
            .contains(&certificate.certificate_id.to_string())
    );
    assert!(
        signed
            .record_json
            .contains("\"title_verdict\":\"refurbished\"")
    );
    assert!(!signed.record_json.contains("\"seal\""));
    assert!(!signed.record_json.contains("\"updated_at\""));
    assert!(!signed.record_json.contains("\"deliveries\""));
}

#[test]
fn verdicts_follow_the_wipes_and_the_functional_checks() {
    let bench = bench_key();
    let cases = [
        (vec![], Some(true), TitleVerdict::NoErasure, false),
        (
            vec![wipe("A", "PASSED", &[])],
            Some(true),
            TitleVerdict::Refurbished,
            true,
        ),
        (
            vec![wipe("A", "PASSED", &[])],
            Some(false),
            TitleVerdict::Erased,
            true,
        ),
        (
            vec![wipe("A", "PASSED", &[])],
            None,
            TitleVerdict::Erased,
            true,
        ),
        (
            vec![
                wipe("A", "PASSED", &[]),
                wipe("B", "PASSED", &["HPA of 8 MiB remained"]),
            ],
            Some(true),
            TitleVerdict::ErasedWithExceptions,
            true,
        ),
        (
            vec![wipe("A", "PASSED", &[]), wipe("B", "FAILED", &[])],
            Some(true),
            TitleVerdict::ErasureFailed,
            false,
        ),
        (
            vec![wipe("A", "INTERRUPTED", &[])],
            Some(true),
            TitleVerdict::ErasureFailed,
            false,
        ),
    ];
    for (wipes, checks, verdict, all_passed) in cases {
        let mut record = record(wipes);
        let mut req = request();
        req.functional_checks_passed = checks;
        certify(&mut record, req, &bench.key).unwrap();
        let certificate = record.certificate.unwrap();
        assert_eq!(certificate.title_verdict, verdict);
        assert_eq!(certificate.all_wipes_passed, all_passed);
        assert_eq!(
            verdict.permits_reconditionne(),
            verdict == TitleVerdict::Refurbished
        );
    }
}

#[test]
fn every_single_byte_change_of_the_signed_text_is_caught() {
    let (bench, _, signed) = certified();
    let trusted = trusting(&[(&bench, "banc-1")]);
    let bytes = signed.record_json.as_bytes();
    assert!(
        bytes.len() > 1000,
        "a record of some size: {} bytes",
        bytes.len()
    );
    let mut tried = 0;
    for index in 0..bytes.len() {
        for mask in MASKS {
            let Ok(text) = String::from_utf8(flipped(bytes, index, mask)) else {
                continue; // not text: cannot even be a JSON string (see the document test)
            };
            let mut altered = signed.clone();
            altered.record_json = text;
            match verify(&altered, &trusted) {
                Err(VerifyError::RecordAltered {
                    stated_sha256,
                    actual_sha256,
                }) => {
                    assert_eq!(stated_sha256, signed.seal.sha256);
                    assert_ne!(actual_sha256, signed.seal.sha256);
                }
                other => panic!("byte {index} ^ {mask:#04x}: {other:?}"),
            }
            tried += 1;
        }
    }
    // 0x80 never leaves ASCII text valid UTF-8; the other two masks nearly always do.
    assert!(tried > bytes.len() * 19 / 10, "{tried} alterations tried");
}

#[test]
fn every_single_byte_change_of_the_signed_document_is_caught() {
    let (bench, _, signed) = certified();
    let trusted = trusting(&[(&bench, "banc-1")]);
    for document in [signed.to_json_pretty(), signed.to_json_line()] {
        let bytes = document.as_bytes();
        verify_document(bytes, &trusted).unwrap();
        for index in 0..bytes.len() {
            for mask in MASKS {
                let altered = flipped(bytes, index, mask);
                assert!(
                    verify_document(&altered, &trusted).is_err(),
                    "byte {index} ({:?}) ^ {mask:#04x} went unnoticed",
                    char::from(bytes[index])
                );
            }
        }
    }
}

#[test]
fn a_changed_byte_of_a_big_record_is_caught_wherever_it_is() {
    let bench = bench_key();
    let trusted = trusting(&[(&bench, "banc-1")]);
    let wipes = (0..40)
        .map(|i| wipe(&format!("SERIAL-{i:04}"), "PASSED", &[]))
        .collect();
    let mut record = record(wipes);
    let signed = certify(&mut record, request(), &bench.key).unwrap();
    let bytes = signed.record_json.as_bytes();
    assert!(bytes.len() > 40_000);
    // Every 7th byte plus the first and last 64: a sample from end to end.
    let positions = (0..bytes.len())
        .step_by(7)
        .chain(0..64)
        .chain(bytes.len() - 64..bytes.len());
    for index in positions {
        let Ok(text) = String::from_utf8(flipped(bytes, index, 0x01)) else {
            continue;
        };
        let mut altered = signed.clone();
        altered.record_json = text;
        assert!(
            matches!(
                verify(&altered, &trusted),
                Err(VerifyError::RecordAltered { .. })
            ),
            "byte {index}"
        );
    }
}

#[test]
fn a_certified_record_verifies_as_stored_and_any_signed_change_is_caught() {
    let (bench, record, _) = certified();
    let trusted = trusting(&[(&bench, "banc-1")]);
    let document = serde_json::to_string_pretty(&record).unwrap();
    let bytes = document.as_bytes();
    verify_document(bytes, &trusted).unwrap();
    let original_view = signed_text(&serde_json::from_str(&document).unwrap()).unwrap();
    let (mut caught, mut harmless) = (0, 0);
    for index in 0..bytes.len() {
        for mask in MASKS {
            let altered = flipped(bytes, index, mask);
            match verify_document(&altered, &trusted) {
                Err(_) => caught += 1,
                Ok(_) => {
                    // Only a change the signature does not cover may pass: the same signed
                    // content (e.g. `updated_at`, or `1e5` written `1E5`).
                    let value: Value = serde_json::from_slice(&altered).unwrap();
                    assert_eq!(
                        signed_text(&value).unwrap(),
                        original_view,
                        "byte {index} ^ {mask:#04x} changed signed content and verified"
                    );
                    harmless += 1;
                }
            }
        }
    }
    eprintln!("{caught} alterations caught, {harmless} left the signed content as it was");
    assert!(
        caught > 20 * harmless,
        "{caught} caught, {harmless} harmless"
    );
}

#[test]
fn later_bookkeeping_does_not_break_the_signature() {
    let (bench, mut record, _) = certified();
    let trusted = trusting(&[(&bench, "banc-1")]);
    // The store bumps updated_at on every save; the push stage appends deliveries.
    record.updated_at = at("2027-01-01T00:00:00Z");
    record.deliveries.push(Delivery::default());
    verify_asset_record(&record, &trusted).unwrap();
    // Through the store's JSON and back, doubles and all.
    let stored = serde_json::to_string(&record).unwrap();
    let reloaded: AssetRecord = serde_json::from_str(&stored).unwrap();
    verify_asset_record(&reloaded, &trusted).unwrap();
    verify_document(stored.as_bytes(), &trusted).unwrap();
}

/// A change to a record given as JSON.
type Edit = fn(&mut Value);

#[test]
fn changing_what_the_certificate_claims_is_caught() {
    let (bench, record, _) = certified();
    let trusted = trusting(&[(&bench, "banc-1")]);
    let original = serde_json::to_value(&record).unwrap();
    let edits: Vec<(&str, Edit)> = vec![
        ("verdict", |v| {
            v["certificate"]["title_verdict"] = json!("erased")
        }),
        ("all wipes passed", |v| {
            v["certificate"]["all_wipes_passed"] = json!(false)
        }),
        ("issued at", |v| {
            v["certificate"]["issued_at"] = json!("2025-01-01T00:00:00Z")
        }),
        ("id", |v| {
            v["certificate"]["certificate_id"] = json!(uuid::Uuid::now_v7())
        }),
        ("clock", |v| {
            v["certificate"]["clock"]["ntp_synchronized"] = json!("no")
        }),
        ("outcome", |v| {
            v["sanitization"][0]["outcome"] = json!("FAILED")
        }),
        ("serial", |v| {
            v["sanitization"][0]["device"]["serial"] = json!("S3Z9NB0K123456B")
        }),
        ("a double", |v| {
            v["sanitization"][0]["duration_seconds"] = json!(2_438.376_543_210_988)
        }),
        ("operator", |v| v["bench"]["operator"] = Value::Null),
        ("created at", |v| {
            v["created_at"] = json!("2026-03-14T09:00:00Z")
        }),
        ("an added member", |v| {
            v["hardware_note"] = json!("like new")
        }),
        ("a removed wipe", |v| v["sanitization"] = json!([])),
    ];
    for (what, edit) in edits {
        let mut value = original.clone();
        edit(&mut value);
        assert!(
            matches!(
                verify_record(&value, &trusted),
                Err(VerifyError::RecordAltered { .. })
            ),
            "{what}: {:?}",
            verify_record(&value, &trusted)
        );
    }
    let mut unsigned = original.clone();
    unsigned["certificate"]
        .as_object_mut()
        .unwrap()
        .remove("seal");
    assert!(matches!(
        verify_record(&unsigned, &trusted),
        Err(VerifyError::NotSigned)
    ));
    unsigned.as_object_mut().unwrap().remove("certificate");
    assert!(matches!(
        verify_record(&unsigned, &trusted),
        Err(VerifyError::NotSigned)
    ));
}

#[test]
fn each_kind_of_tampering_has_its_own_error() {
    let (bench, _, signed) = certified();
    let trusted = trusting(&[(&bench, "banc-1")]);
    let flip_hex = |s: &str| {
        let mut chars: Vec<char> = s.chars().collect();
        chars[10] = if chars[10] == '0' { '1' } else { '0' };
        chars.into_iter().collect::<String>()
    };

    let mut hash_changed = signed.clone();
    hash_changed.seal.sha256 = flip_hex(&signed.seal.sha256);
    assert!(matches!(
        verify(&hash_changed, &trusted),
        Err(VerifyError::HashAltered { .. })
    ));

    let mut signature_changed = signed.clone();
    signature_changed.seal.signature = flip_hex(&signed.seal.signature);
    assert!(matches!(
        verify(&signature_changed, &trusted),
        Err(VerifyError::BadSignature)
    ));

    // The record changed and its hash recomputed: the signature still gives it away.
    let mut rehashed = signed.clone();
    rehashed.record_json = signed.record_json.replacen("PASSED", "FAILED", 1);
    rehashed.seal.sha256 = atelier_certify::sign::sha256_hex(rehashed.record_json.as_bytes());
    assert!(matches!(
        verify(&rehashed, &trusted),
        Err(VerifyError::BadSignature)
    ));

    let mut fingerprint_changed = signed.clone();
    fingerprint_changed.seal.key_fingerprint = "0000-0000-0000-0000".into();
    assert!(matches!(
        verify(&fingerprint_changed, &trusted),
        Err(VerifyError::FingerprintMismatch { .. })
    ));

    // Another genuine key put in the seal (with its own fingerprint): the signature fails.
    let other = bench_key();
    let mut key_swapped = signed.clone();
    key_swapped.seal.public_key = other.key.public_key().to_hex();
    key_swapped.seal.key_fingerprint = other.key.fingerprint().to_string();
    assert!(matches!(
        verify(&key_swapped, &trusted),
        Err(VerifyError::BadSignature)
    ));

    let mut upper = signed.clone();
    upper.seal.signature = signed.seal.signature.to_uppercase();
    assert!(matches!(
        verify(&upper, &trusted),
        Err(VerifyError::MalformedSeal {
            field: "signature",
            ..
        })
    ));

    let mut algorithm = signed.clone();
    algorithm.seal.algorithm = "Ed448".into();
    assert!(matches!(
        verify(&algorithm, &trusted),
        Err(VerifyError::UnsupportedAlgorithm(_))
    ));

    let mut canonicalisation = signed.clone();
    canonicalisation.seal.canonicalisation = "none".into();
    assert!(matches!(
        verify(&canonicalisation, &trusted),
        Err(VerifyError::UnsupportedCanonicalisation(_))
    ));

    let mut format = signed.clone();
    format.format = "atelier-signed-record/2".into();
    assert!(matches!(
        verify(&format, &trusted),
        Err(VerifyError::UnsupportedFormat(_))
    ));
}

#[test]
fn a_sound_signature_by_an_unregistered_key_is_refused() {
    let (bench, record, signed) = certified();
    let stranger = bench_key();
    let only_stranger = trusting(&[(&stranger, "banc-2")]);
    match verify(&signed, &only_stranger) {
        Err(VerifyError::UnknownKey {
            fingerprint,
            public_key,
        }) => {
            assert_eq!(fingerprint, bench.key.fingerprint());
            assert_eq!(public_key, bench.key.public_key());
            let message = VerifyError::UnknownKey {
                fingerprint,
                public_key,
            }
            .to_string();
            assert!(message.contains(&fingerprint.to_string()), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        verify_asset_record(&record, &TrustList::new()),
        Err(VerifyError::UnknownKey { .. })
    ));
    // A forger who edits the record and signs it with their own key gets the same answer.
    let mut forged = record.clone();
    forged.sanitization[0].outcome = atelier_record::Outcome::Passed;
    forged.bench.hostname = "banc-1".into();
    let forged_signed = certify(&mut forged, request(), &stranger.key).unwrap();
    let trusted = trusting(&[(&bench, "banc-1")]);
    assert!(matches!(
        verify(&forged_signed, &trusted),
        Err(VerifyError::UnknownKey { .. })
    ));
}

#[test]
fn two_benches_in_one_trust_list() {
    let (a, b) = (bench_key(), bench_key());
    let trusted = trusting(&[(&a, "banc-1 (Lyon)"), (&b, "banc-2 (Grenoble)")]);
    for (bench, label) in [(&a, "banc-1 (Lyon)"), (&b, "banc-2 (Grenoble)")] {
        let mut record = record(vec![wipe("X", "PASSED", &[])]);
        let signed = certify(&mut record, request(), &bench.key).unwrap();
        assert_eq!(verify(&signed, &trusted).unwrap().key.label, label);
        assert_eq!(
            verify_asset_record(&record, &trusted).unwrap().key.label,
            label
        );
    }
}

#[test]
fn a_signed_text_that_is_not_canonical_is_refused() {
    let bench = bench_key();
    let trusted = trusting(&[(&bench, "banc-1")]);
    let signed = sign_record(&record(vec![]), &bench.key).unwrap();
    // Sign the same content with extra whitespace, with the bench's own key.
    let pem = std::fs::read_to_string(bench.key.path()).unwrap();
    let raw = ed25519_dalek::SigningKey::from_pkcs8_pem(&pem).unwrap();
    let mut loose = signed.clone();
    loose.record_json = format!(" {}", signed.record_json);
    loose.seal.sha256 = atelier_certify::sign::sha256_hex(loose.record_json.as_bytes());
    let signature = raw.sign(loose.record_json.as_bytes()).to_bytes();
    loose.seal.signature = signature.iter().map(|b| format!("{b:02x}")).collect();
    assert!(matches!(
        verify(&loose, &trusted),
        Err(VerifyError::NotCanonical)
    ));
}

#[test]
fn documents_with_repeated_members_or_no_kind_are_refused() {
    let (bench, record, signed) = certified();
    let trusted = trusting(&[(&bench, "banc-1")]);
    // A repeated member after the real one: serde_json alone would read the second.
    let line = signed.to_json_line();
    let doubled = line.replacen("{", "{\"format\":\"x\",", 1);
    assert!(matches!(
        verify_document(doubled.as_bytes(), &trusted),
        Err(VerifyError::Malformed(_))
    ));
    let record_text = serde_json::to_string(&record).unwrap();
    let doubled_record = record_text.replacen(
        "\"sanitization\":",
        "\"sanitization\":[],\"sanitization\":",
        1,
    );
    assert!(matches!(
        verify_document(doubled_record.as_bytes(), &trusted),
        Err(VerifyError::Malformed(_))
    ));
    assert!(matches!(
        verify_document(b"{\"hello\":1}", &trusted),
        Err(VerifyError::Malformed(_))
    ));
    assert!(matches!(
        verify_document(&[0xff, 0xfe], &trusted),
        Err(VerifyError::Malformed(_))
    ));
}

#[test]
fn members_this_version_does_not_know_are_signed_too() {
    let bench = bench_key();
    let trusted = trusting(&[(&bench, "banc-1")]);
    let mut value = serde_json::to_value(record(vec![])).unwrap();
    value["functional_checks"] = json!([{ "name": "keyboard", "passed": true }]);
    let signed = sign_value(&value, &bench.key).unwrap();
    assert!(signed.record_json.contains("keyboard"));
    verify(&signed, &trusted).unwrap();
    value["functional_checks"][0]["passed"] = json!(false);
    assert_ne!(signed_text(&value).unwrap(), signed.record_json);
}

#[test]
fn the_signed_view_leaves_out_exactly_three_members() {
    let (_, record, _) = certified();
    let full = serde_json::to_value(&record).unwrap();
    let view = signed_view(&full);
    let mut expected = full.clone();
    expected.as_object_mut().unwrap().remove("updated_at");
    expected.as_object_mut().unwrap().remove("deliveries");
    expected["certificate"]
        .as_object_mut()
        .unwrap()
        .remove("seal");
    assert_eq!(view, expected);
    assert_eq!(canonicalize(&view).unwrap(), signed_text(&full).unwrap());
}

#[test]
fn a_record_without_a_canonical_form_is_not_certified() {
    let bench = bench_key();
    let mut record = record(vec![wipe("A", "PASSED", &[])]);
    record.sanitization[0].bytes_written = (1 << 53) + 1;
    let before = record.clone();
    let err = certify(&mut record, request(), &bench.key).unwrap_err();
    match err {
        SignError::Canonical(CanonError::UnsafeInteger { pointer, .. }) => {
            assert_eq!(pointer, "/sanitization/0/bytes_written");
        }
        other => panic!("{other}"),
    }
    assert_eq!(record, before, "left unchanged");
}

#[test]
fn openssl_and_sha256sum_check_a_signed_record_by_hand() {
    if std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_err()
    {
        eprintln!("SKIP: openssl is not installed");
        return;
    }
    let (bench, _, signed) = certified();
    let dir = tempfile::tempdir().unwrap();
    let payload = dir.path().join("record.json");
    let signature = dir.path().join("record.sig");
    let public = dir.path().join("bench.pub.pem");
    std::fs::write(&payload, &signed.record_json).unwrap();
    let bytes: Vec<u8> = (0..signed.seal.signature.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&signed.seal.signature[i..i + 2], 16).unwrap())
        .collect();
    std::fs::write(&signature, bytes).unwrap();
    std::fs::write(&public, bench.key.public_key().to_pem()).unwrap();
    let check = |payload: &std::path::Path| {
        std::process::Command::new("openssl")
            .args(["pkeyutl", "-verify", "-pubin", "-rawin", "-inkey"])
            .arg(&public)
            .arg("-in")
            .arg(payload)
            .arg("-sigfile")
            .arg(&signature)
            .output()
            .unwrap()
    };
    let out = check(&payload);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let digest = std::process::Command::new("sha256sum")
        .arg(&payload)
        .output()
        .unwrap();
    assert!(
        String::from_utf8(digest.stdout)
            .unwrap()
            .starts_with(&signed.seal.sha256)
    );
    // And OpenSSL, too, refuses a changed byte.
    std::fs::write(&payload, signed.record_json.replacen("PASSED", "PASSEE", 1)).unwrap();
    assert!(!check(&payload).status.success());
}
