//! The yearly numbers an organisation reports to its funders, from records.
//!
//! [`build_report`] is a pure function over records (from the local store, and from the export
//! directories of other benches): machines certified by verdict, Raspberry Pi units flashed,
//! disks erased by method and NIST category, and the same per partner structure. A record is
//! counted once even when several sources hold it (same record ID: the newest copy wins).
//!
//! Dates are compared in UTC, both ends of the period included:
//!
//! | what | counted when | dated by |
//! |---|---|---|
//! | machine certified | the record has a `hardware` section and a `certificate` | `certificate.issued_at` |
//! | machine in progress | `hardware`, no certificate yet | `updated_at` |
//! | Raspberry Pi unit flashed | a deployment that passed, customised for Raspberry Pi OS (`cloud-init`, `firstrun.sh`, `rpi-preseed`) or from an image named `raspios…` / `raspberry…` | `deployment.ended_at`, else its start |
//! | other media flashed | any other deployment that passed, on a record without `hardware` | the same |
//! | disk erasure | each `sanitization` entry, by method and category, by outcome | `ended_at`, else `started_at` |
//!
//! The partner structure is the bench's `partner` at the time the record was made
//! (`bench.partner`), "—" when none was set.

use std::collections::{BTreeMap, HashMap};

use atelier_record::{AssetRecord, NistCategory, Outcome, TitleVerdict};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

/// Customisation formats written to Raspberry Pi OS cards.
pub const RASPBERRY_PI_FORMATS: [&str; 3] = ["cloud-init", "firstrun.sh", "rpi-preseed"];

/// The name used for records without a partner structure.
pub const NO_PARTNER: &str = "—";

/// Erasures of one method and category.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ErasureCount {
    /// Method name, e.g. `overwrite-random`, `nvme-format-user-data`.
    pub method: String,
    /// NIST SP 800-88 category: `clear`, `purge`, `destroy`.
    pub category: String,
    /// Erasures that passed verification.
    pub passed: u64,
    /// Erasures that failed.
    pub failed: u64,
    /// Erasures interrupted and not finished.
    pub interrupted: u64,
}

/// What one partner structure received.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PartnerCount {
    /// The partner structure, or [`NO_PARTNER`].
    pub partner: String,
    /// Machines certified.
    pub machines_certified: u64,
    /// Raspberry Pi units flashed.
    pub raspberry_pi_flashed: u64,
    /// Disks whose erasure passed.
    pub disks_erased: u64,
}

/// The report over one period.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// First day, included.
    pub from: Option<NaiveDate>,
    /// Last day, included.
    pub to: Option<NaiveDate>,
    /// Distinct records read (all dates).
    pub records_read: u64,
    /// Copies of a record already read from another source, skipped.
    pub duplicates_skipped: u64,
    /// Machines certified in the period.
    pub machines_certified: u64,
    /// Of those, per title verdict (`refurbished`, `erased`, `erased_with_exceptions`,
    /// `erasure_failed`, `no_erasure`).
    pub machines_by_verdict: BTreeMap<String, u64>,
    /// Of those, how many also had a system deployed that passed.
    pub machines_with_system: u64,
    /// Machines worked on in the period and not certified yet.
    pub machines_in_progress: u64,
    /// Raspberry Pi units flashed in the period.
    pub raspberry_pi_flashed: u64,
    /// Other media (USB sticks, cards) flashed in the period, outside a machine.
    pub other_media_flashed: u64,
    /// Disk erasures in the period, by method and category.
    pub erasures: Vec<ErasureCount>,
    /// Per partner structure, sorted by name.
    pub partners: Vec<PartnerCount>,
}

impl Report {
    /// Disk erasures that passed, all methods.
    pub fn disks_erased(&self) -> u64 {
        self.erasures.iter().map(|e| e.passed).sum()
    }
}

/// The `snake_case` name of a title verdict, as in the record.
pub fn verdict_key(v: TitleVerdict) -> &'static str {
    match v {
        TitleVerdict::Refurbished => "refurbished",
        TitleVerdict::Erased => "erased",
        TitleVerdict::ErasedWithExceptions => "erased_with_exceptions",
        TitleVerdict::ErasureFailed => "erasure_failed",
        TitleVerdict::NoErasure => "no_erasure",
    }
}

fn category_key(c: NistCategory) -> &'static str {
    match c {
        NistCategory::Clear => "clear",
        NistCategory::Purge => "purge",
        NistCategory::Destroy => "destroy",
    }
}

/// Whether `record`'s deployment made a Raspberry Pi unit.
pub fn is_raspberry_pi(record: &AssetRecord) -> bool {
    let Some(d) = &record.deployment else {
        return false;
    };
    let name = d.image.name.to_ascii_lowercase();
    d.customisation
        .as_ref()
        .is_some_and(|c| RASPBERRY_PI_FORMATS.contains(&c.format.as_str()))
        || name.starts_with("raspios")
        || name.starts_with("raspberry")
}

/// Builds the report of the records dated within `from..=to` (either end open when `None`).
/// `records` may hold the same record several times (several sources): the copy with the
/// newest `updated_at` counts.
pub fn build_report(
    records: impl IntoIterator<Item = AssetRecord>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Report {
    let mut report = Report {
        from,
        to,
        ..Report::default()
    };
    let mut newest: HashMap<uuid::Uuid, AssetRecord> = HashMap::new();
    for record in records {
        match newest.get(&record.id) {
            Some(kept) => {
                report.duplicates_skipped += 1;
                if record.updated_at > kept.updated_at {
                    newest.insert(record.id, record);
                }
            }
            None => {
                newest.insert(record.id, record);
            }
        }
    }
    report.records_read = newest.len() as u64;
    let within = |t: DateTime<Utc>| {
        let day = t.date_naive();
        from.is_none_or(|f| day >= f) && to.is_none_or(|l| day <= l)
    };

    let mut erasures: BTreeMap<(String, String), ErasureCount> = BTreeMap::new();
    let mut partners: BTreeMap<String, PartnerCount> = BTreeMap::new();
    let mut records: Vec<&AssetRecord> = newest.values().collect();
    records.sort_by_key(|r| r.id);
    for record in records {
        let partner_name = record
            .bench
            .partner
            .clone()
            .filter(|p| !p.trim().is_empty())
            .unwrap_or_else(|| NO_PARTNER.to_owned());
        let mut partner = PartnerCount {
            partner: partner_name.clone(),
            ..PartnerCount::default()
        };

        if record.hardware.is_some() {
            match &record.certificate {
                Some(c) if within(c.issued_at) => {
                    report.machines_certified += 1;
                    partner.machines_certified += 1;
                    *report
                        .machines_by_verdict
                        .entry(verdict_key(c.title_verdict).to_owned())
                        .or_default() += 1;
                    if record
                        .deployment
                        .as_ref()
                        .is_some_and(|d| d.outcome == Outcome::Passed)
                    {
                        report.machines_with_system += 1;
                    }
                }
                Some(_) => {}
                None if within(record.updated_at) => report.machines_in_progress += 1,
                None => {}
            }
        }
        if let Some(d) = &record.deployment
            && d.outcome == Outcome::Passed
            && within(d.ended_at.unwrap_or(d.started_at))
        {
            if is_raspberry_pi(record) {
                report.raspberry_pi_flashed += 1;
                partner.raspberry_pi_flashed += 1;
            } else if record.hardware.is_none() {
                report.other_media_flashed += 1;
            }
        }
        for entry in &record.sanitization {
            if !within(entry.ended_at.unwrap_or(entry.started_at)) {
                continue;
            }
            let key = (
                entry.method.name.clone(),
                category_key(entry.category).to_owned(),
            );
            let count = erasures.entry(key.clone()).or_insert_with(|| ErasureCount {
                method: key.0,
                category: key.1,
                ..ErasureCount::default()
            });
            match entry.outcome {
                Outcome::Passed => {
                    count.passed += 1;
                    partner.disks_erased += 1;
                }
                Outcome::Failed => count.failed += 1,
                Outcome::Interrupted => count.interrupted += 1,
            }
        }

        if partner.machines_certified + partner.raspberry_pi_flashed + partner.disks_erased > 0 {
            let total = partners
                .entry(partner_name.clone())
                .or_insert_with(|| PartnerCount {
                    partner: partner_name,
                    ..PartnerCount::default()
                });
            total.machines_certified += partner.machines_certified;
            total.raspberry_pi_flashed += partner.raspberry_pi_flashed;
            total.disks_erased += partner.disks_erased;
        }
    }
    report.erasures = erasures.into_values().collect();
    report.partners = partners.into_values().collect();
    report
}

/// The report as CSV (RFC 4180, comma-separated, header line): one row per figure,
/// `section,key,category,value`, so a spreadsheet can pivot it.
pub fn report_csv(report: &Report) -> String {
    let mut out = String::from("section,key,category,value\r\n");
    let mut row = |section: &str, key: &str, category: &str, value: u64| {
        out.push_str(&format!(
            "{},{},{},{value}\r\n",
            csv_field(section),
            csv_field(key),
            csv_field(category)
        ));
    };
    row("machines", "certified", "", report.machines_certified);
    for (verdict, n) in &report.machines_by_verdict {
        row("machines", "certified", verdict, *n);
    }
    row("machines", "with_system", "", report.machines_with_system);
    row("machines", "in_progress", "", report.machines_in_progress);
    row("flashed", "raspberry_pi", "", report.raspberry_pi_flashed);
    row("flashed", "other_media", "", report.other_media_flashed);
    for e in &report.erasures {
        row("erasures_passed", &e.method, &e.category, e.passed);
        row("erasures_failed", &e.method, &e.category, e.failed);
        row(
            "erasures_interrupted",
            &e.method,
            &e.category,
            e.interrupted,
        );
    }
    for p in &report.partners {
        row(
            "partner",
            &p.partner,
            "machines_certified",
            p.machines_certified,
        );
        row(
            "partner",
            &p.partner,
            "raspberry_pi_flashed",
            p.raspberry_pi_flashed,
        );
        row("partner", &p.partner, "disks_erased", p.disks_erased);
    }
    out
}

/// A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180 §2).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}
