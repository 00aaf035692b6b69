//! Numbers, sizes, dates and durations written the way a French or English reader expects.

use atelier_record::Language;
use chrono::{DateTime, Utc};

/// `fr` or `en` by language.
pub(crate) fn pick<'a>(lang: Language, fr: &'a str, en: &'a str) -> &'a str {
    match lang {
        Language::Fr => fr,
        Language::En => en,
    }
}

/// An integer with thousands separators: `500 107 862 016` (fr, narrow no-break space
/// replaced by a plain space for copy-paste) or `500,107,862,016` (en).
pub(crate) fn grouped(lang: Language, n: u64) -> String {
    let digits = n.to_string();
    let sep = pick(lang, " ", ",");
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push_str(sep);
        }
        out.push(c);
    }
    out
}

/// A decimal number with one digit after the separator (`12,5` in French).
pub(crate) fn decimal(lang: Language, x: f64, digits: usize) -> String {
    let s = format!("{x:.digits$}");
    match lang {
        Language::Fr => s.replace('.', ","),
        Language::En => s,
    }
}

/// A size in decimal units with the exact byte count: `8,4 Mo (8 388 608 octets)`.
pub(crate) fn bytes(lang: Language, n: u64) -> String {
    let units = match lang {
        Language::Fr => ["o", "ko", "Mo", "Go", "To"],
        Language::En => ["B", "kB", "MB", "GB", "TB"],
    };
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < units.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    let short = if unit == 0 {
        format!("{n} {}", units[0])
    } else {
        format!("{} {}", decimal(lang, value, 1), units[unit])
    };
    format!(
        "{short} ({} {})",
        grouped(lang, n),
        pick(lang, "octets", "bytes")
    )
}

/// A throughput in MB/s (`Mo/s`).
pub(crate) fn throughput(lang: Language, bytes_per_second: f64) -> String {
    format!(
        "{} {}",
        decimal(lang, bytes_per_second / 1e6, 1),
        pick(lang, "Mo/s", "MB/s")
    )
}

/// A duration as `1 h 02 min 03 s`, `4 min 05 s` or `2,5 s`.
pub(crate) fn duration(lang: Language, seconds: f64) -> String {
    if seconds < 60.0 {
        return format!("{} s", decimal(lang, seconds, 1));
    }
    let total = seconds.round() as u64;
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    if h > 0 {
        format!("{h} h {m:02} min {s:02} s")
    } else {
        format!("{m} min {s:02} s")
    }
}

/// A date and time in UTC, to the second, saying so.
pub(crate) fn datetime(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_and_english_numbers() {
        assert_eq!(grouped(Language::Fr, 500107862016), "500 107 862 016");
        assert_eq!(grouped(Language::En, 1000), "1,000");
        assert_eq!(grouped(Language::En, 999), "999");
        assert_eq!(
            bytes(Language::Fr, 8 * 1024 * 1024),
            "8,4 Mo (8 388 608 octets)"
        );
        assert_eq!(bytes(Language::En, 512), "512 B (512 bytes)");
        assert_eq!(duration(Language::Fr, 3723.0), "1 h 02 min 03 s");
        assert_eq!(duration(Language::En, 2.5), "2.5 s");
        assert_eq!(throughput(Language::Fr, 123_400_000.0), "123,4 Mo/s");
    }
}
