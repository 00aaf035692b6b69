//! What a certificate says, in French or English, before any drawing: the verdict, then one
//! section per subject, each a list of label / value rows.
//!
//! The per-disk rows hold every field of the sanitization record of NIST SP 800-88 Rev. 1,
//! Appendix G ("Sample Certificate of Sanitization": media manufacturer, model, serial number,
//! media type, sanitization category, method and technique, tool and version, verification
//! method, post-sanitization destination, result) and what nwipe prints in its report (size,
//! hidden areas, start / end / duration, throughput, errors).
//!
//! Wording rules (French decree 2022-190 on "reconditionné"): the word appears only for
//! [`TitleVerdict::Refurbished`]; [`BANNED_WORDING`] never appears.

use atelier_record::{
    AssetRecord, ClockKind, DeviceIdentity, Language, MediaKind, NistCategory, NtpSync, Outcome,
    PassPattern, SanitizationEntry, TitleVerdict, Transport, ValueState, VerificationMode,
    VerificationResult,
};

use super::format::{bytes, datetime, decimal, duration, grouped, pick, throughput};
use crate::organisation::Organisation;

/// Expressions a certificate must never use (misleading about the state of a used machine).
pub const BANNED_WORDING: [&str; 3] = ["comme neuf", "à neuf", "état neuf"];

/// How the verdict box looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Everything passed.
    Good,
    /// Passed with reservations, or nothing to certify.
    Warning,
    /// A wipe failed.
    Bad,
}

/// One section of the certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Its heading.
    pub heading: String,
    /// Label / value rows.
    pub rows: Vec<(String, String)>,
}

/// The whole text of a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateContent {
    /// Language of the text.
    pub language: Language,
    /// The kind of document, above the verdict.
    pub kicker: String,
    /// The verdict, in capitals: the title.
    pub verdict: String,
    /// One or two sentences that explain the verdict in plain words.
    pub explanation: String,
    /// The verdict box's tone.
    pub tone: Tone,
    /// The organisation: name then address lines.
    pub organisation: Vec<String>,
    /// The sections, in order.
    pub sections: Vec<Section>,
    /// What the QR code carries and how to check the certificate.
    pub check_note: String,
}

impl CertificateContent {
    /// Every piece of text, for wording checks.
    pub fn all_text(&self) -> String {
        let mut out = vec![
            self.kicker.clone(),
            self.verdict.clone(),
            self.explanation.clone(),
            self.check_note.clone(),
        ];
        out.extend(self.organisation.iter().cloned());
        for s in &self.sections {
            out.push(s.heading.clone());
            for (k, v) in &s.rows {
                out.push(k.clone());
                out.push(v.clone());
            }
        }
        out.join("\n")
    }
}

/// The verdict as the title says it, in capitals.
pub fn verdict_title(lang: Language, verdict: TitleVerdict) -> &'static str {
    match verdict {
        TitleVerdict::Refurbished => pick(lang, "RECONDITIONNÉ", "REFURBISHED"),
        TitleVerdict::Erased => pick(lang, "DONNÉES EFFACÉES", "DATA ERASED"),
        TitleVerdict::ErasedWithExceptions => pick(
            lang,
            "DONNÉES EFFACÉES AVEC RÉSERVES",
            "DATA ERASED WITH EXCEPTIONS",
        ),
        TitleVerdict::ErasureFailed => pick(lang, "EFFACEMENT ÉCHOUÉ", "ERASURE FAILED"),
        TitleVerdict::NoErasure => pick(lang, "AUCUN EFFACEMENT", "NO ERASURE"),
    }
}

/// Builds the text of the certificate of `record` (certified: it has a `certificate`
/// section) in `lang`. `sha256` is the signed record's hash.
pub fn certificate_content(
    record: &AssetRecord,
    organisation: &Organisation,
    lang: Language,
    sha256: &str,
) -> CertificateContent {
    let cert = record.certificate.clone().unwrap_or_default();
    let verdict = cert.title_verdict;
    let failed: Vec<&SanitizationEntry> = record
        .sanitization
        .iter()
        .filter(|e| e.outcome != Outcome::Passed)
        .collect();
    let (explanation, tone) = match verdict {
        TitleVerdict::Refurbished => (
            pick(
                lang,
                "Tous les disques ont été effacés et vérifiés, et tous les tests de fonctionnement ont réussi.",
                "Every disk was erased and verified, and every functional check passed.",
            )
            .to_owned(),
            Tone::Good,
        ),
        TitleVerdict::Erased => (
            pick(
                lang,
                "Tous les disques ont été effacés et vérifiés. Les fonctions de la machine n'ont pas été testées par ce banc.",
                "Every disk was erased and verified. The machine's functions were not tested by this bench.",
            )
            .to_owned(),
            Tone::Good,
        ),
        TitleVerdict::ErasedWithExceptions => (
            pick(
                lang,
                "Les disques ont été effacés, mais avec des réserves : lisez-les dans la section de chaque disque.",
                "The disks were erased, with exceptions: read them in each disk's section.",
            )
            .to_owned(),
            Tone::Warning,
        ),
        TitleVerdict::ErasureFailed => {
            let names: Vec<String> = failed.iter().map(|e| disk_name(lang, &e.device)).collect();
            (
                format!(
                    "{} {}",
                    pick(
                        lang,
                        "L'effacement n'a PAS réussi pour :",
                        "Erasure did NOT succeed for:"
                    ),
                    names.join(" ; ")
                ),
                Tone::Bad,
            )
        }
        TitleVerdict::NoErasure => (
            pick(
                lang,
                "Aucun disque n'a été effacé par ce banc pour cette machine.",
                "No disk of this machine was erased by this bench.",
            )
            .to_owned(),
            Tone::Warning,
        ),
    };

    let mut organisation_lines = vec![organisation.name.clone().unwrap_or_else(|| {
        pick(
            lang,
            "Organisation non configurée ([organisation] dans atelier.toml)",
            "Organisation not configured ([organisation] in atelier.toml)",
        )
        .to_owned()
    })];
    organisation_lines.extend(organisation.address.iter().cloned());

    let mut sections = vec![bench_section(record, lang), machine_section(record, lang)];
    let n = record.sanitization.len();
    for (i, entry) in record.sanitization.iter().enumerate() {
        sections.push(disk_section(entry, organisation, lang, i + 1, n));
    }
    if record.sanitization.is_empty() {
        sections.push(Section {
            heading: pick(lang, "Effacement", "Erasure").to_owned(),
            rows: vec![(
                pick(lang, "Disques", "Disks").to_owned(),
                pick(lang, "aucun effacement enregistré", "no erasure recorded").to_owned(),
            )],
        });
    }
    if let Some(section) = deployment_section(record, lang) {
        sections.push(section);
    }
    sections.push(Section {
        heading: pick(lang, "Tests de fonctionnement", "Functional checks").to_owned(),
        rows: vec![(
            pick(lang, "Tests effectués", "Checks performed").to_owned(),
            pick(
                lang,
                "aucun : ce banc ne teste pas encore les fonctions (écran, clavier, son, réseau…)",
                "none: this bench does not test functions yet (screen, keyboard, sound, network…)",
            )
            .to_owned(),
        )],
    });
    let clock = {
        let sync = match cert.clock.ntp_synchronized {
            NtpSync::Yes => pick(lang, "synchronisée par NTP", "NTP-synchronised"),
            NtpSync::No => pick(
                lang,
                "NON synchronisée : date selon l'horloge de la machine",
                "NOT synchronised: date as the machine's clock said",
            ),
            NtpSync::Unknown => pick(lang, "synchronisation inconnue", "synchronisation unknown"),
        };
        let kind = match cert.clock.clock {
            ClockKind::SystemClock => pick(lang, "horloge système du banc", "bench system clock"),
        };
        match &cert.clock.checked_with {
            Some(how) => format!("{kind}, {sync} ({how})"),
            None => format!("{kind}, {sync}"),
        }
    };
    let seal = cert.seal.clone();
    sections.push(Section {
        heading: pick(lang, "Certificat", "Certificate").to_owned(),
        rows: vec![
            (
                pick(lang, "Identifiant", "Identifier").to_owned(),
                cert.certificate_id.to_string(),
            ),
            (
                pick(lang, "Délivré le", "Issued").to_owned(),
                datetime(cert.issued_at),
            ),
            (
                pick(lang, "Source de l'heure", "Time source").to_owned(),
                clock,
            ),
            (
                pick(lang, "Dossier de la machine", "Machine record").to_owned(),
                record.id.to_string(),
            ),
            ("SHA-256".to_owned(), sha256.to_owned()),
            (
                pick(lang, "Signature", "Signature").to_owned(),
                seal.as_ref()
                    .map(|s| format!("{}, {}", s.algorithm, s.canonicalisation))
                    .unwrap_or_else(|| "—".into()),
            ),
            (
                pick(lang, "Clé du banc (empreinte)", "Bench key (fingerprint)").to_owned(),
                seal.map(|s| s.key_fingerprint)
                    .unwrap_or_else(|| "—".into()),
            ),
        ],
    });
    let check_note = pick(
        lang,
        "Ce PDF contient le dossier signé (pièce jointe JSON). Pour le vérifier : « atelier verify ce-fichier.pdf ». Le QR code porte l'identifiant et le SHA-256.",
        "This PDF holds the signed record (a JSON attachment). To check it: \"atelier verify this-file.pdf\". The QR code carries the identifier and the SHA-256.",
    )
    .to_owned();

    CertificateContent {
        language: lang,
        kicker: pick(
            lang,
            "CERTIFICAT DE TRAÇABILITÉ DU MATÉRIEL",
            "EQUIPMENT TRACEABILITY CERTIFICATE",
        )
        .to_owned(),
        verdict: verdict_title(lang, verdict).to_owned(),
        explanation,
        tone,
        organisation: organisation_lines,
        sections,
        check_note,
    }
}

fn not_reported(lang: Language) -> String {
    pick(lang, "non communiqué", "not reported").to_owned()
}

fn disk_name(lang: Language, d: &DeviceIdentity) -> String {
    let model = d.model.clone().unwrap_or_else(|| d.name.clone());
    match &d.serial {
        Some(s) => format!("{model} ({} {s})", pick(lang, "n° de série", "serial")),
        None => model,
    }
}

fn bench_section(record: &AssetRecord, lang: Language) -> Section {
    Section {
        heading: pick(lang, "Banc et technicien", "Bench and technician").to_owned(),
        rows: vec![
            (
                pick(lang, "Banc", "Bench").to_owned(),
                record.bench.hostname.clone(),
            ),
            (
                pick(lang, "Technicien·ne", "Technician").to_owned(),
                record
                    .bench
                    .operator
                    .clone()
                    .unwrap_or_else(|| not_reported(lang)),
            ),
            (
                pick(lang, "Logiciel", "Software").to_owned(),
                format!("{} {}", record.bench.tool.name, record.bench.tool.version),
            ),
        ],
    }
}

fn sourced(lang: Language, s: &atelier_record::Sourced<String>) -> String {
    match (s.get(), s.state) {
        (Some(v), _) => v.clone(),
        (None, ValueState::NeedsRoot) => pick(lang, "illisible sans root", "needs root").into(),
        (None, _) => not_reported(lang),
    }
}

fn machine_section(record: &AssetRecord, lang: Language) -> Section {
    let heading = pick(lang, "Machine", "Machine").to_owned();
    let Some(hw) = &record.hardware else {
        return Section {
            heading,
            rows: vec![(
                pick(lang, "Inventaire", "Inventory").to_owned(),
                pick(
                    lang,
                    "pas d'inventaire dans ce dossier",
                    "no inventory in this record",
                )
                .to_owned(),
            )],
        };
    };
    let id = &hw.identity;
    let mut rows = vec![
        (
            pick(lang, "Fabricant", "Manufacturer").to_owned(),
            sourced(lang, &id.system_vendor),
        ),
        (
            pick(lang, "Modèle", "Model").to_owned(),
            sourced(lang, &id.product_name),
        ),
        (
            pick(lang, "N° de série", "Serial number").to_owned(),
            sourced(lang, &id.serial),
        ),
    ];
    if let Some(cpu) = &hw.cpu {
        let mut text = cpu
            .model
            .clone()
            .unwrap_or_else(|| cpu.architecture.clone());
        if let (Some(c), Some(t)) = (cpu.cores, cpu.threads) {
            text.push_str(&format!(
                ", {c} {}, {t} threads",
                pick(lang, "cœurs", "cores")
            ));
        }
        rows.push(("CPU".to_owned(), text));
    }
    if let Some(total) = hw
        .memory
        .installed_bytes
        .or(hw.memory.total_bytes.get().copied())
    {
        rows.push((
            pick(lang, "Mémoire", "Memory").to_owned(),
            bytes(lang, total),
        ));
    }
    for disk in hw.disks.iter().filter(|d| !d.boot_medium) {
        rows.push((
            pick(lang, "Disque", "Disk").to_owned(),
            format!(
                "{}, {}",
                disk_name(lang, &disk.device),
                bytes(lang, disk.device.size_bytes)
            ),
        ));
    }
    Section { heading, rows }
}

fn media_type(lang: Language, d: &DeviceIdentity) -> String {
    let media = match d.media {
        MediaKind::Magnetic => pick(lang, "magnétique (disque dur)", "magnetic (hard disk)"),
        MediaKind::Flash => pick(lang, "mémoire flash", "flash memory"),
        MediaKind::Virtual => pick(lang, "virtuel", "virtual"),
        MediaKind::Unknown => pick(lang, "inconnu", "unknown"),
    };
    let transport = match d.transport {
        Transport::Nvme => "NVMe",
        Transport::Sata => "SATA",
        Transport::Scsi => "SCSI/SAS",
        Transport::Usb => "USB",
        Transport::Mmc => "MMC/SD",
        Transport::Virtio => "virtio",
        Transport::Loop => "loop",
        Transport::Other => pick(lang, "autre", "other"),
    };
    format!("{media}, {transport}")
}

fn disk_section(
    e: &SanitizationEntry,
    organisation: &Organisation,
    lang: Language,
    index: usize,
    count: usize,
) -> Section {
    let d = &e.device;
    let heading = format!(
        "{} {index}/{count} — {}",
        pick(lang, "Disque", "Disk"),
        disk_name(lang, d)
    );
    let result = match e.outcome {
        Outcome::Passed => pick(lang, "RÉUSSI", "PASSED"),
        Outcome::Failed => pick(lang, "ÉCHOUÉ", "FAILED"),
        Outcome::Interrupted => pick(lang, "INTERROMPU", "INTERRUPTED"),
    };
    let result = match &e.outcome_detail {
        Some(detail) => format!("{result} — {detail}"),
        None => result.to_owned(),
    };
    let category = match e.category {
        NistCategory::Clear => pick(lang, "Clear (effacement logique)", "Clear"),
        NistCategory::Purge => pick(lang, "Purge", "Purge"),
        NistCategory::Destroy => pick(lang, "Destroy (destruction)", "Destroy"),
    };
    // By its JSON name, so that techniques added to the record (firmware erase…) print too.
    let technique_name = serde_json::to_value(e.method.technique)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let technique = match technique_name.as_str() {
        "overwrite" => pick(lang, "réécriture", "overwrite"),
        other => other,
    };
    let passes: Vec<&str> = e
        .method
        .passes
        .iter()
        .map(|p| match p {
            PassPattern::Random => pick(lang, "aléatoire", "random"),
            PassPattern::Zero => pick(lang, "zéros", "zeros"),
            PassPattern::One => pick(lang, "uns (0xFF)", "ones (0xFF)"),
        })
        .collect();
    let mut method = format!(
        "{} — {technique}, {} {} : {}",
        e.method.name,
        passes.len(),
        pick(lang, "passe(s)", "pass(es)"),
        passes.join(", ")
    );
    if lang == Language::En {
        method = method.replace(" : ", ": ");
    }
    if let Some(generator) = &e.method.random_generator {
        method.push_str(&format!(" ({generator})"));
    }
    let mode = match e.verification.mode {
        VerificationMode::Full => pick(lang, "relecture complète", "full read-back"),
        VerificationMode::Sampled => pick(
            lang,
            "relecture par échantillons (NIST)",
            "sampled read-back (NIST)",
        ),
    };
    let vresult = match e.verification.result {
        VerificationResult::Passed => pick(lang, "conforme", "passed"),
        VerificationResult::Failed => pick(lang, "NON CONFORME", "FAILED"),
        VerificationResult::NotRun => pick(lang, "non effectuée", "not run"),
    };
    let verification = format!(
        "{mode}, {} {} % ({}), {vresult}",
        pick(lang, "couverture", "coverage"),
        decimal(lang, e.verification.coverage_percent, 1),
        bytes(lang, e.verification.bytes_checked),
    );
    let mut errors = format!(
        "{} {}, {} {}, {} {}",
        e.errors.len(),
        pick(lang, "plage(s) en erreur d'E/S", "I/O error range(s)"),
        grouped(lang, e.verification.mismatched_sectors),
        pick(lang, "secteur(s) différent(s)", "mismatched sector(s)"),
        grouped(lang, e.verification.unreadable_sectors),
        pick(lang, "secteur(s) illisible(s)", "unreadable sector(s)"),
    );
    for err in e.errors.iter().take(3) {
        errors.push_str(&format!(
            "; LBA {} +{}: {}",
            err.first_lba, err.sector_count, err.message
        ));
    }
    // Hidden areas and real size: what the entry's hidden-area check says (absent in entries
    // written before it existed).
    use atelier_record::HiddenAreaCheck;
    let (mut hidden, real_size) = match &e.hidden_area {
        None => (
            pick(
                lang,
                "non examinées par cette version (HPA/DCO)",
                "not examined by this version (HPA/DCO)",
            )
            .to_owned(),
            pick(
                lang,
                "non mesurée par cette version (zones cachées non examinées)",
                "not measured by this version (hidden areas not examined)",
            )
            .to_owned(),
        ),
        Some(HiddenAreaCheck::Measured {
            method,
            native_max_sectors,
            hidden_sectors,
            ..
        }) => (
            if *hidden_sectors == 0 {
                format!("{} ({method})", pick(lang, "aucune", "none"))
            } else {
                format!(
                    "{} {} ({}), {} ({method})",
                    grouped(lang, *hidden_sectors),
                    pick(lang, "secteurs cachés", "sectors hidden"),
                    bytes(
                        lang,
                        hidden_sectors.saturating_mul(u64::from(d.logical_sector_size))
                    ),
                    pick(lang, "non effacés", "not erased"),
                )
            },
            format!(
                "{} ({} {}, {method})",
                bytes(
                    lang,
                    native_max_sectors.saturating_mul(u64::from(d.logical_sector_size))
                ),
                grouped(lang, *native_max_sectors),
                pick(lang, "secteurs", "sectors"),
            ),
        ),
        Some(HiddenAreaCheck::NotExamined { reason, code }) => {
            let reason = not_examined_reason(lang, reason, *code);
            (
                format!(
                    "{} {reason}",
                    pick(lang, "non examinées :", "not examined:")
                ),
                format!("{} {reason}", pick(lang, "non mesurée :", "not measured:")),
            )
        }
    };
    // What the bench did about a hidden area before the wipe (docs/hidden-areas.md).
    if let Some(HiddenAreaCheck::Measured {
        restore: Some(r), ..
    }) = &e.hidden_area
    {
        hidden.push_str(&hidden_restore_text(lang, r, d.logical_sector_size));
    }
    if !e.exceptions.is_empty() {
        hidden.push_str(&format!(
            " — {} {}",
            pick(lang, "réserves :", "exceptions:"),
            e.exceptions.join("; ")
        ));
    }
    let mut throughput_text = Vec::new();
    if let Some(w) = e.write_throughput_bytes_per_second {
        throughput_text.push(format!(
            "{} {}",
            pick(lang, "écriture", "write"),
            throughput(lang, w)
        ));
    }
    if let Some(r) = e.verify_throughput_bytes_per_second {
        throughput_text.push(format!(
            "{} {}",
            pick(lang, "relecture", "read-back"),
            throughput(lang, r)
        ));
    }
    let destination = organisation.destination.clone().unwrap_or_else(|| {
        pick(
            lang,
            "Réemploi (la machine est remise en service)",
            "Reuse (the machine goes back into service)",
        )
        .to_owned()
    });
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| not_reported(lang));
    Section {
        heading,
        rows: vec![
            (pick(lang, "Résultat", "Result").to_owned(), result),
            (
                pick(lang, "Fabricant", "Manufacturer").to_owned(),
                opt(&d.vendor),
            ),
            (pick(lang, "Modèle", "Model").to_owned(), opt(&d.model)),
            (
                pick(lang, "N° de série", "Serial number").to_owned(),
                opt(&d.serial),
            ),
            (
                pick(lang, "Type de support", "Media type").to_owned(),
                media_type(lang, d),
            ),
            (
                pick(lang, "Catégorie NIST 800-88", "NIST 800-88 category").to_owned(),
                category.to_owned(),
            ),
            (
                pick(lang, "Méthode et technique", "Method and technique").to_owned(),
                method,
            ),
            (
                pick(lang, "Outil et version", "Tool and version").to_owned(),
                format!("{} {}", e.tool.name, e.tool.version),
            ),
            (
                pick(lang, "Vérification", "Verification").to_owned(),
                verification,
            ),
            (
                pick(lang, "Taille adressable", "Apparent size").to_owned(),
                bytes(lang, d.size_bytes),
            ),
            (
                pick(lang, "Taille réelle", "Real size").to_owned(),
                real_size,
            ),
            (
                pick(lang, "Zones cachées", "Hidden areas").to_owned(),
                hidden,
            ),
            (
                pick(lang, "Début", "Start").to_owned(),
                datetime(e.started_at),
            ),
            (
                pick(lang, "Fin", "End").to_owned(),
                e.ended_at.map(datetime).unwrap_or_else(|| "—".into()),
            ),
            (
                pick(lang, "Durée", "Duration").to_owned(),
                duration(lang, e.duration_seconds),
            ),
            (
                pick(lang, "Débit", "Throughput").to_owned(),
                if throughput_text.is_empty() {
                    "—".into()
                } else {
                    throughput_text.join(", ")
                },
            ),
            (
                pick(lang, "Données écrites", "Bytes written").to_owned(),
                bytes(lang, e.bytes_written),
            ),
            (pick(lang, "Erreurs", "Errors").to_owned(), errors),
            (
                pick(
                    lang,
                    "Destination après effacement",
                    "Post-sanitization destination",
                )
                .to_owned(),
                destination,
            ),
        ],
    }
}

fn deployment_section(record: &AssetRecord, lang: Language) -> Option<Section> {
    let dep = record.deployment.as_ref()?;
    let result = match dep.outcome {
        Outcome::Passed => pick(lang, "RÉUSSI", "PASSED"),
        Outcome::Failed => pick(lang, "ÉCHOUÉ", "FAILED"),
        Outcome::Interrupted => pick(lang, "INTERROMPU", "INTERRUPTED"),
    };
    let mut rows = vec![
        (
            pick(lang, "Système installé", "Operating system").to_owned(),
            dep.image.name.clone(),
        ),
        (
            pick(lang, "Version", "Version").to_owned(),
            dep.image
                .version
                .clone()
                .unwrap_or_else(|| not_reported(lang)),
        ),
        (
            pick(lang, "Sur le disque", "On disk").to_owned(),
            disk_name(lang, &dep.target),
        ),
        (
            pick(lang, "Vérification", "Verification").to_owned(),
            format!(
                "{} ({}), {}",
                dep.verification.mode,
                bytes(lang, dep.verification.bytes_checked),
                if dep.verification.passed {
                    pick(lang, "conforme", "passed")
                } else {
                    pick(lang, "NON CONFORME", "FAILED")
                }
            ),
        ),
        (
            pick(lang, "Résultat", "Result").to_owned(),
            result.to_owned(),
        ),
        (
            pick(lang, "Logiciels installés", "Software installed").to_owned(),
            pick(
                lang,
                "ceux de l'image (liste non enregistrée par cette version)",
                "those of the image (list not recorded by this version)",
            )
            .to_owned(),
        ),
    ];
    if let Some(c) = &dep.customisation
        && let Some(h) = &c.hostname
    {
        rows.push((
            pick(lang, "Nom de la machine", "Host name").to_owned(),
            h.clone(),
        ));
    }
    Some(Section {
        heading: pick(lang, "Système déployé", "Deployed system").to_owned(),
        rows,
    })
}

/// Why the hidden areas were not examined, in the certificate's language: the record keeps an
/// English `reason` and, since it exists, a stable code; French is written from the code (with
/// the drive's own error, which stays as the drive or the kernel said it). Older entries
/// without a code keep their English reason.
fn not_examined_reason(
    lang: Language,
    reason: &str,
    code: Option<atelier_record::NotExaminedCode>,
) -> String {
    use atelier_record::NotExaminedCode as C;
    let Some(code) = code else {
        return reason.to_owned();
    };
    if lang != Language::Fr {
        return reason.to_owned();
    }
    match code {
        C::CommandFailed => format!("la commande de mesure a échoué ({reason})"),
        C::IdentifyUnreadable => {
            format!("l'identification du disque (IDENTIFY DEVICE) n'a pas pu être lue ({reason})")
        }
        C::Nvme => "NVMe : le jeu de commandes NVMe n'a pas de zone protégée ; la capacité hors des espaces de noms n'est pas examinée par cette version".to_owned(),
        C::Usb => "USB : cette version ne tente pas de passer les commandes ATA à travers le boîtier USB".to_owned(),
        C::MemoryCard => "carte SD / eMMC : aucune commande n'indique de zone cachée".to_owned(),
        C::Scsi => "SCSI / SAS : non examinées par cette version".to_owned(),
        C::Virtual => "périphérique virtuel (loop, virtio, RAM) : le vrai support est ailleurs".to_owned(),
    }
}

/// One sentence on the restore of a hidden area before the wipe: restored (from how many
/// sectors to how many), refused by the operator, or failed and why.
fn hidden_restore_text(
    lang: Language,
    r: &atelier_record::HiddenAreaRestore,
    sector_size: u32,
) -> String {
    use atelier_record::HiddenAreaRestoreOutcome as O;
    let mechanism = &r.mechanism;
    match r.outcome {
        O::Restored => format!(
            " — {} {} → {} ({mechanism}){}",
            pick(
                lang,
                "zone cachée restaurée avant l'effacement :",
                "hidden area restored before the wipe:"
            ),
            bytes(
                lang,
                r.user_sectors_before.saturating_mul(u64::from(sector_size))
            ),
            bytes(
                lang,
                r.kernel_sectors_after
                    .or(r.user_sectors_after)
                    .unwrap_or(r.native_max_sectors_before)
                    .saturating_mul(u64::from(sector_size))
            ),
            pick(
                lang,
                ", effacée avec le reste du disque",
                ", erased with the rest of the disk"
            ),
        ),
        O::NotConsented => format!(
            " — {}",
            pick(
                lang,
                "restauration non autorisée par l'opérateur",
                "restore not authorised by the operator"
            )
        ),
        O::Failed => format!(
            " — {} ({mechanism}){}",
            pick(lang, "restauration échouée", "restore failed"),
            r.error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        ),
    }
}
