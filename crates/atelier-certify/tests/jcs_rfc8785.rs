//! RFC 8785 (JSON Canonicalization Scheme) conformance, from the facts the RFC states: its
//! §3.2.2 example, its §3.2.3 sorting example and its Appendix B number table.

use atelier_certify::canonical::{
    CanonError, MAX_SAFE_INTEGER, canonicalize, canonicalize_text, is_canonical, parse_strict,
};
use serde_json::{Value, json};

fn canon(text: &str) -> String {
    canonicalize_text(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

#[test]
fn the_rfc_main_example() {
    // RFC 8785 §3.2.2: whitespace dropped, members sorted, numbers and strings respelled.
    let input = r#"{
        "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
        "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
        "literals": [null, true, false]
    }"#;
    let expected = "{\"literals\":[null,true,false],\
                    \"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],\
                    \"string\":\"\u{20ac}$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}";
    assert_eq!(canon(input), expected);
    assert!(is_canonical(expected));
    assert!(!is_canonical(input));
}

#[test]
fn members_sort_by_utf16_code_units_not_by_utf8_bytes() {
    // RFC 8785 §3.2.3. U+1F600 is the surrogate pair D83D DE00 in UTF-16, so it sorts
    // before U+FB33 although its UTF-8 form (F0 …) sorts after (EF …).
    let input = r#"{
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\ud83d\ude00": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis"
    }"#;
    let canonical = canon(input);
    let expected = "{\"\\r\":\"Carriage Return\",\
                    \"1\":\"One\",\
                    \"\u{80}\":\"Control\",\
                    \"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\
                    \"\u{20ac}\":\"Euro Sign\",\
                    \"\u{1f600}\":\"Emoji: Grinning Face\",\
                    \"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}";
    assert_eq!(canonical, expected);
    assert!(canonical.starts_with("{\"\\r\":"), "{canonical}");
    assert!(
        canonical.contains("\"\u{80}\":"),
        "U+0080 is written as UTF-8, not escaped"
    );
}

#[test]
fn nested_objects_are_sorted_and_arrays_keep_their_order() {
    assert_eq!(
        canon(r#" { "b" : [ 3 , { "z":1, "a":2 } , 1 ] , "a" : { } , "c": [] } "#),
        r#"{"a":{},"b":[3,{"a":2,"z":1},1],"c":[]}"#
    );
}

#[test]
fn the_rfc_number_table() {
    // RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical text.
    let table: &[(u64, &str)] = &[
        (0x0000000000000000, "0"),
        (0x8000000000000000, "0"), // -0
        (0x0000000000000001, "5e-324"),
        (0x8000000000000001, "-5e-324"),
        (0x7fefffffffffffff, "1.7976931348623157e+308"),
        (0xffefffffffffffff, "-1.7976931348623157e+308"),
        (0x4340000000000000, "9007199254740992"),
        (0xc340000000000000, "-9007199254740992"),
        (0x4430000000000000, "295147905179352830000"),
        (0x44b52d02c7e14af5, "9.999999999999997e+22"),
        (0x44b52d02c7e14af6, "1e+23"),
        (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
        (0x444b1ae4d6e2ef4e, "999999999999999700000"),
        (0x444b1ae4d6e2ef4f, "999999999999999900000"),
        (0x444b1ae4d6e2ef50, "1e+21"),
        (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
        (0x3eb0c6f7a0b5ed8d, "0.000001"),
        (0x41b3de4355555553, "333333333.3333332"),
        (0x41b3de4355555554, "333333333.33333325"),
        (0x41b3de4355555555, "333333333.3333333"),
        (0x41b3de4355555556, "333333333.3333334"),
        (0x41b3de4355555557, "333333333.33333343"),
        (0xbecbf647612f3696, "-0.0000033333333333333333"),
        (0x43143ff3c1cb0959, "1424953923781206.2"),
    ];
    for &(bits, expected) in table {
        let value = json!(f64::from_bits(bits));
        assert_eq!(canonicalize(&value).unwrap(), expected, "bits {bits:016x}");
        // The text reads back as the same double.
        let back: f64 = expected.parse().unwrap();
        assert_eq!(back.to_bits() & !(1 << 63), bits & !(1 << 63), "{expected}");
    }
}

#[test]
fn number_spellings_in_json_text() {
    for (text, expected) in [
        ("1E30", "1e+30"),
        ("4.50", "4.5"),
        ("2e-3", "0.002"),
        ("-0", "0"),
        ("-0.0", "0"),
        ("0.000001", "0.000001"),
        ("0.0000001", "1e-7"),
        ("1e21", "1e+21"),
        ("1e20", "100000000000000000000"),
        ("100", "100"),
        ("1.0", "1"),
        ("-1.5e2", "-150"),
        ("333333333.33333329", "333333333.3333333"),
        ("9007199254740991", "9007199254740991"),
    ] {
        assert_eq!(
            canon(&format!("[{text}]")),
            format!("[{expected}]"),
            "{text}"
        );
    }
}

#[test]
fn non_finite_and_out_of_range_numbers_have_no_canonical_form() {
    // JSON has no NaN or Infinity; 1e400 overflows a double.
    assert!(canonicalize_text("[1e400]").is_err());
    assert!(canonicalize_text("[NaN]").is_err());
    assert!(canonicalize_text("[Infinity]").is_err());
}

#[test]
fn integers_beyond_two_to_the_53_are_refused_not_rounded() {
    assert!(matches!(
        canonicalize_text("[9007199254740993]"),
        Err(CanonError::UnsafeInteger { .. })
    ));
    assert!(matches!(
        canonicalize_text("{\"a\":-9007199254740993}"),
        Err(CanonError::UnsafeInteger { .. })
    ));
    assert_eq!(
        canonicalize(&json!(MAX_SAFE_INTEGER)).unwrap(),
        "9007199254740991"
    );
    // 2^53 and 2^63 are doubles, and these are their canonical spellings: nothing is lost.
    assert_eq!(canon("[-9007199254740992]"), "[-9007199254740992]");
    assert_eq!(canon("[9223372036854776000]"), "[9223372036854776000]");
    // 2^63 spelled exactly is not how RFC 8785 spells it: refused rather than respelled.
    assert!(canonicalize_text("[9223372036854775808]").is_err());
}

#[test]
fn string_escapes_are_the_minimal_ones() {
    // RFC 8785 §3.2.2.2: \b \t \n \f \r get their short forms, other controls \u00xx in lower
    // case, `"` and `\` are escaped, and nothing else: not `/`, not DEL, not U+2028.
    let controls: String = (0u8..0x20).map(char::from).collect();
    let value = Value::String(format!("{controls}\"\\/\u{7f}\u{2028}é€😀"));
    let expected = "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\
                    \\b\\t\\n\\u000b\\f\\r\\u000e\\u000f\
                    \\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\
                    \\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\
                    \\\"\\\\/\u{7f}\u{2028}é€😀\"";
    assert_eq!(canonicalize(&value).unwrap(), expected);
}

#[test]
fn literals_are_kept() {
    assert_eq!(canon("[ null , true , false ]"), "[null,true,false]");
    assert_eq!(canon(" \"x\" "), "\"x\"");
    assert_eq!(canon("7"), "7");
}

#[test]
fn documents_that_are_not_i_json_are_refused() {
    // Repeated member names: serde_json alone would keep the last one silently.
    assert!(parse_strict(r#"{"a":1,"a":2}"#).is_err());
    assert!(canonicalize_text(r#"{"x":{"a":1,"a":1}}"#).is_err());
    // Lone surrogates are not Unicode text.
    assert!(canonicalize_text(r#"["\ud800"]"#).is_err());
    assert!(canonicalize_text(r#"["\udc00x"]"#).is_err());
    // Not JSON at all.
    assert!(canonicalize_text("{").is_err());
    assert!(canonicalize_text("{} {}").is_err());
}
