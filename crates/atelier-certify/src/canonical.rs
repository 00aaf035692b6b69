//! RFC 8785 JSON Canonicalization Scheme (JCS): one byte string per JSON value, so that a
//! hash or a signature over it can be recomputed by anyone who has the value.
//!
//! The rules (RFC 8785 §3.2): no whitespace; object members sorted by the UTF-16 code units
//! of their names; strings with the minimal escapes (`\b \t \n \f \r \" \\`, other controls as
//! `\u00xx`, everything else as UTF-8); numbers as IEEE 754 doubles written the way
//! ECMAScript's `Number.prototype.toString` writes them (`1e+30`, `4.5`, `0.002`, `-0` → `0`).
//!
//! The serialisation is the `serde_json_canonicalizer` crate's (numbers through `ryu-js`,
//! ECMAScript's algorithm); this module adds two I-JSON (RFC 7493) guards that RFC 8785
//! assumes of its input and that crate leaves to the caller:
//!
//! - **No duplicate member names.** [`parse_strict`] refuses them; `serde_json` alone keeps the
//!   last one silently, which lets a document show one value to one reader and another to the
//!   verifier.
//! - **No integer the canonical form would change.** Every number is a double in RFC 8785, so
//!   an integer beyond ±(2⁵³ − 1) may be rounded (9007199254740993 → 9007199254740992) and the
//!   signed text would then say something else than the record. [`canonicalize`] refuses such
//!   an integer and names where it is; a large integer that already is the canonical spelling
//!   of a double (9223372036854776000) is kept, so canonical texts always re-canonicalise.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// The largest magnitude up to which every integer is exactly a double
/// (`Number.MAX_SAFE_INTEGER`); beyond it, see the module docs.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Why a value has no canonical form.
#[derive(Debug, thiserror::Error)]
pub enum CanonError {
    /// The text is not JSON, or repeats a member name in an object.
    #[error("not valid I-JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// An integer beyond ±(2⁵³ − 1) that the canonical form would round.
    #[error(
        "the integer {value} at {pointer} is beyond ±(2^53 - 1) and RFC 8785 would round it; \
         such a value must be stored as a string"
    )]
    UnsafeInteger {
        /// Where the integer is (a JSON pointer, RFC 6901; empty for the whole document).
        pointer: String,
        /// The integer as it was written.
        value: String,
    },
}

/// The canonical form (RFC 8785) of `value`.
pub fn canonicalize(value: &Value) -> Result<String, CanonError> {
    check_integers(value, &mut String::new())?;
    Ok(serde_json_canonicalizer::to_string(value)?)
}

/// Parses `text` as I-JSON: like `serde_json::from_str`, but an object that repeats a member
/// name is an error instead of keeping the last value.
pub fn parse_strict(text: &str) -> Result<Value, CanonError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let StrictValue(value) = StrictValue::deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// The canonical form of the JSON text `text` ([`parse_strict`] then [`canonicalize`]).
pub fn canonicalize_text(text: &str) -> Result<String, CanonError> {
    canonicalize(&parse_strict(text)?)
}

/// True when `text` is already in canonical form.
pub fn is_canonical(text: &str) -> bool {
    canonicalize_text(text).is_ok_and(|c| c == text)
}

fn check_integers(value: &Value, pointer: &mut String) -> Result<(), CanonError> {
    match value {
        Value::Number(n) => {
            let magnitude = match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => Some(u),
                (None, Some(i)) => Some(i.unsigned_abs()),
                (None, None) => None,
            };
            // Beyond 2^53 an integer survives only when it already is the canonical spelling
            // of a double (as every integer in a canonical text is, e.g. 9223372036854776000).
            let rounded = magnitude.is_some_and(|m| {
                m > MAX_SAFE_INTEGER
                    && n.as_f64()
                        .and_then(|f| serde_json_canonicalizer::to_string(&f).ok())
                        != Some(n.to_string())
            });
            if rounded {
                return Err(CanonError::UnsafeInteger {
                    pointer: pointer.clone(),
                    value: n.to_string(),
                });
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&i.to_string());
                check_integers(item, pointer)?;
                pointer.truncate(len);
            }
        }
        Value::Object(members) => {
            for (name, item) in members {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&name.replace('~', "~0").replace('/', "~1"));
                check_integers(item, pointer)?;
                pointer.truncate(len);
            }
        }
        Value::Null | Value::Bool(_) | Value::String(_) => {}
    }
    Ok(())
}

/// A `serde_json::Value` whose objects may not repeat a member name.
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number that is not finite"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            let StrictValue(item) = map.next_value()?;
            if members.contains_key(&name) {
                return Err(de::Error::custom(format_args!(
                    "the member name {name:?} appears twice in one object"
                )));
            }
            members.insert(name, item);
        }
        Ok(Value::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn duplicate_member_names_are_refused_at_any_depth() {
        assert!(parse_strict(r#"{"a":1,"b":{"c":1,"c":2}}"#).is_err());
        assert!(parse_strict(r#"{"a":1,"a":1}"#).is_err());
        assert!(parse_strict(r#"[{"a":1},{"a":1}]"#).is_ok());
    }

    #[test]
    fn trailing_garbage_is_refused() {
        assert!(parse_strict(r#"{"a":1} x"#).is_err());
        assert!(parse_strict("{\"a\":1}\n").is_ok());
    }

    #[test]
    fn unsafe_integers_are_refused_with_their_place() {
        let max = MAX_SAFE_INTEGER;
        assert_eq!(canonicalize(&json!([max])).unwrap(), "[9007199254740991]");
        assert_eq!(
            canonicalize(&json!([-(max as i64)])).unwrap(),
            "[-9007199254740991]"
        );
        let err = canonicalize(&json!({"a/b": [0, {"c~": max + 2}]})).unwrap_err();
        match err {
            CanonError::UnsafeInteger { pointer, value } => {
                assert_eq!(pointer, "/a~1b/1/c~0");
                assert_eq!(value, "9007199254740993");
            }
            other => panic!("unexpected {other}"),
        }
        assert!(canonicalize(&json!(-(max as i64) - 2)).is_err());
        assert!(canonicalize(&json!(u64::MAX)).is_err());
        assert!(canonicalize(&json!(i64::MAX)).is_err());
        // Exactly doubles, spelled as RFC 8785 spells them: kept.
        assert_eq!(
            canonicalize(&json!(9_223_372_036_854_776_000u64)).unwrap(),
            "9223372036854776000"
        );
        assert_eq!(
            canonicalize(&json!(-(max as i64) - 1)).unwrap(),
            "-9007199254740992"
        );
    }
}
