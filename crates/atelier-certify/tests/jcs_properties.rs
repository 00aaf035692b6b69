//! Property tests of the canonical form: stable under re-parsing, blind to formatting and
//! member order, faithful to the values, and agreeing with small independent references for
//! strings, member order and the choice between plain and exponent notation.

use atelier_certify::canonical::{MAX_SAFE_INTEGER, canonicalize, canonicalize_text, is_canonical};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn number() -> impl Strategy<Value = Value> {
    let max = MAX_SAFE_INTEGER as i64;
    prop_oneof![
        (-max..=max).prop_map(|i| json!(i)),
        (0..=MAX_SAFE_INTEGER).prop_map(|u| json!(u)),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        // Doubles near the plain / exponent boundaries of ECMAScript's notation.
        (-30i32..30, 1u32..10_000).prop_map(|(e, m)| json!(f64::from(m) * 10f64.powi(e))),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((any::<String>(), inner), 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Same JSON value, numbers compared as doubles (the canonical form is about doubles).
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_value(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_value(v, w)))
        }
        _ => a == b,
    }
}

/// RFC 8785 §3.2.2.2 string serialisation, written out independently.
fn reference_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn reparsing_and_recanonicalising_is_stable(value in json_value()) {
        let canonical = canonicalize(&value).unwrap();
        prop_assert!(is_canonical(&canonical));
        prop_assert_eq!(canonicalize_text(&canonical).unwrap(), canonical.clone());
        let back: Value = serde_json::from_str(&canonical).unwrap();
        prop_assert!(same_value(&value, &back), "{} vs {}", value, back);
    }

    #[test]
    fn formatting_does_not_matter(value in json_value()) {
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        prop_assert_eq!(canonicalize_text(&pretty).unwrap(), canonicalize(&value).unwrap());
    }

    #[test]
    fn strings_match_the_reference(s in any::<String>()) {
        prop_assert_eq!(canonicalize(&Value::String(s.clone())).unwrap(), reference_string(&s));
    }

    #[test]
    fn members_follow_utf16_order(names in prop::collection::btree_set(any::<String>(), 0..12)) {
        let object: Map<String, Value> =
            names.iter().enumerate().map(|(i, n)| (n.clone(), json!(i))).collect();
        let mut sorted: Vec<(&String, &Value)> = object.iter().collect();
        sorted.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
        let members: Vec<String> = sorted
            .iter()
            .map(|(n, v)| format!("{}:{}", reference_string(n), v))
            .collect();
        let expected = format!("{{{}}}", members.join(","));
        prop_assert_eq!(canonicalize(&Value::Object(object)).unwrap(), expected);
    }

    #[test]
    fn integers_are_never_silently_rounded(n in any::<i64>(), u in any::<u64>()) {
        for (value, spelled) in [(json!(n), n.to_string()), (json!(u), u.to_string())] {
            match canonicalize(&value) {
                Ok(text) => prop_assert_eq!(text, spelled),
                Err(e) => prop_assert!(
                    matches!(e, atelier_certify::CanonError::UnsafeInteger { .. }),
                    "{}", e
                ),
            }
        }
    }

    #[test]
    fn numbers_read_back_exactly_and_use_ecmascript_notation(
        f in any::<f64>().prop_filter("finite", |f| f.is_finite())
    ) {
        let text = canonicalize(&json!(f)).unwrap();
        let back: f64 = text.parse().unwrap();
        prop_assert!(back == f, "{} read back as {}", f, back);
        // ECMAScript Number::toString: plain notation exactly for 1e-6 <= |x| < 1e21.
        let plain = f == 0.0 || (1e-6..1e21).contains(&f.abs());
        prop_assert_eq!(!text.contains('e'), plain, "{} written {}", f, text);
        prop_assert!(!text.contains("e+0") && !text.contains("e-0") && !text.contains('E'));
        prop_assert!(text != "-0");
    }
}
