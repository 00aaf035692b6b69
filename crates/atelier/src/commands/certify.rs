//! `atelier certify`, `atelier verify`, `atelier keys show`: the signed certificate of a
//! record (canonical JSON, SHA-256, Ed25519 with the bench's key; `atelier-certify`).
//!
//! A certificate is never issued for an incomplete or failed wipe: `certify` refuses a
//! record whose wipes did not all pass. `certify` also writes the PDF (see
//! `commands::print`); `verify` reads a signed JSON or a certificate PDF.

use std::path::Path;

use atelier_certify::{
    CertificateRequest, KeyStore, TrustList, certify, clock::detect_clock_source, verify_document,
};
use atelier_record::{Language, Outcome, TitleVerdict};

use crate::cli::{CertifyArgs, KeysCommand, VerifyArgs};
use crate::commands::records::find;
use crate::context::Context;
use crate::exit;
use crate::i18n::{Lang, Msg};
use crate::output;

/// Runs `atelier keys show`.
pub fn keys(ctx: &Context, cmd: &KeysCommand) -> u8 {
    match cmd {
        KeysCommand::Show => {
            let dir = ctx.data_dir();
            let key = match KeyStore::open(&dir).and_then(|s| s.load_or_create()) {
                Ok(k) => k,
                Err(e) => {
                    output::error(ctx.lang, &Msg::KeyProblem(e.to_string()));
                    return exit::FAILED;
                }
            };
            if key.was_created() {
                output::say(ctx.lang, &Msg::KeyCreated { path: key.path() });
            }
            out!(
                "{}",
                Msg::KeyShow {
                    fingerprint: key.fingerprint().to_string(),
                    public_key: key.public_key().to_hex(),
                    path: key.path(),
                }
                .text(ctx.lang)
            );
            exit::OK
        }
    }
}

/// Runs `atelier certify`.
pub fn run(ctx: &Context, args: &CertifyArgs) -> u8 {
    let lang = ctx.lang;
    let Some(store) = ctx.open_store() else {
        return exit::FAILED;
    };
    let Some(record) = find(ctx, &store, &args.record) else {
        return exit::FAILED;
    };
    // Never a certificate for an incomplete or failed wipe.
    if let Some(bad) = record
        .sanitization
        .iter()
        .find(|e| e.outcome != Outcome::Passed)
    {
        output::error(
            lang,
            &Msg::CertifyRefused {
                device: &bad.device.name,
                outcome: bad.outcome,
            },
        );
        return exit::REFUSED;
    }
    if record.sanitization.is_empty() && record.deployment.is_none() {
        output::error(lang, &Msg::CertifyNothing);
        return exit::REFUSED;
    }
    let key = match KeyStore::open(&ctx.data_dir()).and_then(|s| s.load_or_create()) {
        Ok(k) => k,
        Err(e) => {
            output::error(lang, &Msg::KeyProblem(e.to_string()));
            return exit::FAILED;
        }
    };
    let request = CertificateRequest {
        issued_at: chrono::Utc::now(),
        clock: detect_clock_source(ctx.root.base()),
        language: match lang {
            Lang::Fr => Language::Fr,
            Lang::En => Language::En,
        },
        // Functional checks are not part of Atelier yet: never "reconditionné".
        functional_checks_passed: None,
    };
    // Certify the stored record in one transaction, so that nothing written meanwhile is
    // lost; the signature covers what is stored.
    let mut signed = None;
    let mut failure = None;
    let updated = store.update_record(record.id, |r| match certify(r, request.clone(), &key) {
        Ok(s) => signed = Some(s),
        Err(e) => failure = Some(e.to_string()),
    });
    let (updated, signed) = match (updated, signed, failure) {
        (Ok(r), Some(s), None) => (r, s),
        (Err(e), _, _) => {
            output::store_error(lang, &store, &e);
            return exit::FAILED;
        }
        (_, _, Some(e)) => {
            output::error(lang, &Msg::Internal(e));
            return exit::FAILED;
        }
        (_, None, None) => {
            output::error(lang, &Msg::Internal("no signature".into()));
            return exit::FAILED;
        }
    };
    let Some(cert) = updated.certificate.as_ref() else {
        output::error(lang, &Msg::Internal("no certificate section".into()));
        return exit::FAILED;
    };
    let text = signed.to_json_pretty();
    let dir = ctx.data_dir().join("certificates");
    let path = dir.join(format!("{}.json", cert.certificate_id));
    let mut written = vec![path.clone()];
    if let Some(out) = &args.out {
        written.push(out.clone());
    }
    for p in &written {
        if let Some(parent) = p.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        if let Err(e) = std::fs::write(p, &text) {
            output::error(
                lang,
                &Msg::CertificateWriteFailed {
                    path: p,
                    cause: e.to_string(),
                },
            );
            return exit::FAILED;
        }
    }
    if args.json {
        out!("{}", text.trim_end());
    }
    output::say(
        lang,
        &Msg::CertificateIssued {
            id: &cert.certificate_id.to_string(),
            verdict: cert.title_verdict,
            sha256: &signed.seal.sha256,
            fingerprint: &signed.seal.key_fingerprint,
            path: &path,
        },
    );
    crate::commands::push::after_certify(ctx, &store, &updated);
    // The PDF beside the JSON (commands::print): the JSON stands even when the PDF fails.
    if crate::commands::print::write_certificate_pdf(ctx, &signed, &path.with_extension("pdf")) {
        exit::OK
    } else {
        exit::FAILED
    }
}

/// Runs `atelier verify`.
pub fn verify(ctx: &Context, args: &VerifyArgs) -> u8 {
    let lang = ctx.lang;
    let bytes = match std::fs::read(&args.file) {
        Ok(b) => b,
        Err(e) => {
            output::error(
                lang,
                &Msg::CertificateUnreadable {
                    path: &args.file,
                    cause: e.to_string(),
                },
            );
            return exit::FAILED;
        }
    };
    let trusted = match trust_list(ctx, args.trusted_keys.as_deref()) {
        Ok(t) => t,
        Err(msg) => {
            output::error(lang, &Msg::KeyProblem(msg));
            return exit::FAILED;
        }
    };
    // A PDF certificate: its embedded signed record (atelier_certify::pdf::extract).
    let checked = if atelier_certify::pdf::is_pdf(&bytes) {
        atelier_certify::verify_pdf(&bytes, &trusted)
    } else {
        verify_document(&bytes, &trusted)
    };
    match checked {
        Ok(v) => {
            let cert = v.certificate();
            out!(
                "{}",
                Msg::CertificateValid {
                    id: &cert
                        .as_ref()
                        .map(|c| c.certificate_id.to_string())
                        .unwrap_or_else(|| "—".into()),
                    verdict: cert.as_ref().map(|c| c.title_verdict),
                    signer: &v.key.label,
                    fingerprint: &v.seal.key_fingerprint,
                    sha256: &v.sha256,
                }
                .text(lang)
            );
            if atelier_certify::pdf::is_pdf(&bytes) {
                out!("{}", Msg::VerifyPdfNote.text(lang));
            }
            exit::OK
        }
        Err(e) => {
            out!("{}", Msg::CertificateInvalid(e.to_string()).text(lang));
            exit::FAILED
        }
    }
}

/// The keys `verify` trusts: `--trusted-keys`, else the data folder's list; plus this bench's
/// own key when it has one.
fn trust_list(ctx: &Context, file: Option<&Path>) -> Result<TrustList, String> {
    let dir = ctx.data_dir();
    let mut list = match file {
        Some(f) => TrustList::load(f).map_err(|e| e.to_string())?,
        None => TrustList::load_from_data_dir(&dir).map_err(|e| e.to_string())?,
    };
    if let Ok(own) = KeyStore::open(&dir).and_then(|s| s.public_key())
        && !list.contains(&own)
    {
        let _ = list.add(own, "this bench");
    }
    Ok(list)
}

/// The verdict in the operator's language, as the certificate's title says it.
pub fn verdict_text(lang: Lang, v: TitleVerdict) -> &'static str {
    match v {
        TitleVerdict::Refurbished => lang.pick("reconditionné", "refurbished"),
        TitleVerdict::Erased => lang.pick("données effacées", "data erased"),
        TitleVerdict::ErasedWithExceptions => lang.pick(
            "données effacées avec réserves",
            "data erased with exceptions",
        ),
        TitleVerdict::ErasureFailed => lang.pick("EFFACEMENT ÉCHOUÉ", "ERASURE FAILED"),
        TitleVerdict::NoErasure => lang.pick("aucun effacement", "no erasure"),
    }
}
