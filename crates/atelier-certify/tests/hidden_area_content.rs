//! The "Hidden areas" and "Real size" lines of a disk's section say what the record's
//! hidden-area check says: measured with no hidden sector, a hidden area left (and the verdict
//! "erased with exceptions"), not examined with its reason, or — in records written before the
//! check existed — "not examined by this version".

use atelier_certify::pdf::certificate_content;
use atelier_certify::{Organisation, certify};
use atelier_record::{HiddenAreaCheck, Language, SanitizationEntry, TitleVerdict};

mod common;

use common::{bench_key, record, request, wipe};

const METHOD: &str = "ATA READ NATIVE MAX ADDRESS EXT";

/// The certificate of one wipe in `lang`: its verdict and its (Hidden areas, Real size) rows.
fn lines(entry: SanitizationEntry, lang: Language) -> (TitleVerdict, String, String) {
    let bench = bench_key();
    let mut r = record(vec![entry]);
    let mut req = request();
    req.language = lang;
    certify(&mut r, req, &bench.key).unwrap();
    let content = certificate_content(&r, &Organisation::default(), lang, "00");
    let row = |labels: [&str; 2]| {
        content
            .sections
            .iter()
            .flat_map(|s| &s.rows)
            .find(|(k, _)| labels.contains(&k.as_str()))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no row {labels:?}"))
    };
    (
        r.certificate.unwrap().title_verdict,
        row(["Hidden areas", "Zones cachées"]),
        row(["Real size", "Taille réelle"]),
    )
}

fn measured(hidden: u64) -> SanitizationEntry {
    let mut e = wipe("S1", "PASSED", &[]);
    let user = e.device.size_bytes / 512;
    e.hidden_area = Some(HiddenAreaCheck::Measured {
        method: METHOD.into(),
        native_max_sectors: user + hidden,
        user_sectors: user,
        hidden_sectors: hidden,
        restore: None,
    });
    if hidden > 0 {
        e.exceptions = vec![format!(
            "hidden area of {hidden} sectors (1.0 MiB) not erased"
        )];
    }
    e
}

#[test]
fn no_hidden_sector_reads_none_with_the_command() {
    let (verdict, hidden, real) = lines(measured(0), Language::En);
    assert_eq!(verdict, TitleVerdict::Refurbished);
    assert_eq!(hidden, format!("none ({METHOD})"));
    assert!(
        real.contains("488,397,168 sectors") && real.contains(METHOD),
        "{real}"
    );
    let (_, hidden, real) = lines(measured(0), Language::Fr);
    assert_eq!(hidden, format!("aucune ({METHOD})"));
    assert!(real.contains("488 397 168 secteurs"), "{real}");
}

#[test]
fn a_hidden_area_left_reads_not_erased_and_the_verdict_has_exceptions() {
    let (verdict, hidden, _) = lines(measured(2048), Language::En);
    assert_eq!(verdict, TitleVerdict::ErasedWithExceptions);
    assert!(
        hidden.starts_with("2,048 sectors hidden (") && hidden.contains("), not erased ("),
        "{hidden}"
    );
    assert!(
        hidden.contains("exceptions: hidden area of 2048 sectors"),
        "{hidden}"
    );
    let (_, hidden, _) = lines(measured(2048), Language::Fr);
    assert!(
        hidden.starts_with("2 048 secteurs cachés (") && hidden.contains("non effacés"),
        "{hidden}"
    );
}

#[test]
fn not_examined_says_why_and_old_records_say_this_version() {
    let mut e = wipe("S1", "PASSED", &[]);
    e.hidden_area = Some(HiddenAreaCheck::NotExamined {
        reason: "USB: ATA pass-through through the bridge is not attempted by this version".into(),
        code: None,
    });
    let (verdict, hidden, real) = lines(e, Language::En);
    assert_eq!(verdict, TitleVerdict::Refurbished);
    assert_eq!(
        hidden,
        "not examined: USB: ATA pass-through through the bridge is not attempted by this version"
    );
    assert!(real.starts_with("not measured: USB"), "{real}");
    let (_, hidden, real) = lines(wipe("S1", "PASSED", &[]), Language::En);
    assert_eq!(hidden, "not examined by this version (HPA/DCO)");
    assert_eq!(
        real,
        "not measured by this version (hidden areas not examined)"
    );
}

/// A wipe whose hidden area was restored before it (2048 sectors made visible again).
fn restored(outcome: atelier_record::HiddenAreaRestoreOutcome) -> SanitizationEntry {
    let mut e = measured(0);
    let user = e.device.size_bytes / 512;
    let restored = outcome == atelier_record::HiddenAreaRestoreOutcome::Restored;
    if let Some(HiddenAreaCheck::Measured { restore, .. }) = &mut e.hidden_area {
        *restore = Some(atelier_record::HiddenAreaRestore {
            outcome,
            mechanism: "hpa-dco".into(),
            commands: vec!["SET MAX ADDRESS EXT".into()],
            user_sectors_before: user - 2048,
            native_max_sectors_before: user,
            dco_max_sectors: None,
            user_sectors_after: restored.then_some(user),
            kernel_sectors_after: restored.then_some(user),
            error: (!restored).then(|| "the drive aborted SET MAX ADDRESS EXT".into()),
        });
    }
    e
}

#[test]
fn a_restore_before_the_wipe_is_said_with_its_outcome() {
    use atelier_record::HiddenAreaRestoreOutcome as O;
    let (_, hidden, _) = lines(restored(O::Restored), Language::En);
    assert!(
        hidden.starts_with("none (")
            && hidden.contains("hidden area restored before the wipe:")
            && hidden.contains("(hpa-dco), erased with the rest of the disk"),
        "{hidden}"
    );
    let (_, hidden, _) = lines(restored(O::Restored), Language::Fr);
    assert!(
        hidden.contains("zone cachée restaurée avant l'effacement"),
        "{hidden}"
    );
    let (_, hidden, _) = lines(restored(O::Failed), Language::En);
    assert!(
        hidden.contains("restore failed (hpa-dco): the drive aborted SET MAX ADDRESS EXT"),
        "{hidden}"
    );
    let (_, hidden, _) = lines(restored(O::NotConsented), Language::Fr);
    assert!(
        hidden.contains("restauration non autorisée par l'opérateur"),
        "{hidden}"
    );
}

#[test]
fn not_examined_reasons_are_in_french_on_a_french_certificate() {
    let mut e = wipe("S1", "PASSED", &[]);
    e.hidden_area = Some(HiddenAreaCheck::NotExamined {
        reason: "USB: ATA pass-through through the bridge is not attempted by this version".into(),
        code: Some(atelier_record::NotExaminedCode::Usb),
    });
    let (_, hidden, real) = lines(e.clone(), Language::Fr);
    assert!(
        hidden.starts_with("non examinées : USB : cette version ne tente pas")
            && !hidden.contains("bridge"),
        "{hidden}"
    );
    assert!(real.starts_with("non mesurée : USB :"), "{real}");
    let (_, hidden, _) = lines(e, Language::En);
    assert!(hidden.contains("through the bridge"), "{hidden}");
    // A failed command keeps the drive's own words inside the French sentence.
    let mut e = wipe("S1", "PASSED", &[]);
    e.hidden_area = Some(HiddenAreaCheck::NotExamined {
        reason: "ATA READ NATIVE MAX ADDRESS EXT failed: command aborted".into(),
        code: Some(atelier_record::NotExaminedCode::CommandFailed),
    });
    let (_, hidden, _) = lines(e, Language::Fr);
    assert_eq!(
        hidden,
        "non examinées : la commande de mesure a échoué (ATA READ NATIVE MAX ADDRESS EXT failed: command aborted)"
    );
}
