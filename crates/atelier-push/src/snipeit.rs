//! Snipe-IT REST API: one hardware asset per machine, found by serial.
//!
//! Facts this follows (Snipe-IT API reference, snipe-it.readme.io, and
//! `app/Http/Controllers/Api/AssetsController.php`):
//!
//! - every call carries `Authorization: Bearer <token>` and `Accept: application/json`;
//! - `GET /api/v1/hardware/byserial/{serial}` answers a *list* `{"total": n, "rows": [...]}`
//!   (it may include deleted assets, which have a non-null `deleted_at`); older versions
//!   answer `{"status":"error","messages":"Asset does not exist"}` when none matches;
//! - `POST /api/v1/hardware` creates (needs `asset_tag` unless auto-numbering, `model_id`,
//!   `status_id`), `PATCH /api/v1/hardware/{id}` updates; both answer HTTP 200 with
//!   `{"status": "success"|"error", "messages": …, "payload": …}`: **a 200 with
//!   `"status":"error"` is an error** (validation: the messages say which field);
//! - custom fields are set by their DB column name (`_snipeit_…`);
//! - the API is throttled (120 requests a minute by default); over it, HTTP 429 with
//!   `Retry-After` (seconds).
//!
//! Exactly once: the asset is looked up by serial before anything is written; found → PATCH
//! the one found, none → POST with a deterministic asset tag (prefix + the first 10 hex digits
//! of the SHA-256 of the serial). A repeated push (after a cut connection, a kill) finds the
//! asset it created and updates it. Several live assets with the serial: refused (the
//! operator must merge them in Snipe-IT).

use std::collections::BTreeMap;

use atelier_record::AssetRecord;
use reqwest::blocking::Client;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::config::SinkConfig;
use crate::secret::Token;
use crate::transport::{Outcome, from_status, read, short, transport_error};

/// The Atelier values a custom field can take (`custom_fields` in the config).
pub const FIELD_SOURCES: &[&str] = &[
    "record_id",
    "certificate_id",
    "certificate_sha256",
    "title_verdict",
    "issued_at",
    "uuid",
    "cpu_model",
    "memory_mib",
    "disk_count",
    "wipe_methods",
    "bench",
];

/// What is sent to Snipe-IT for one record (the queued payload).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnipeAsset {
    /// The machine's serial number (the lookup key).
    pub serial: String,
    /// Asset tag for a new asset.
    pub asset_tag: String,
    /// Asset name (vendor and model).
    pub name: String,
    /// Model id for a new asset.
    pub model_id: u64,
    /// Status label id.
    pub status_id: u64,
    /// Notes: certificate, verdict, hash.
    pub notes: String,
    /// Custom fields, DB column → value.
    pub custom_fields: BTreeMap<String, String>,
}

fn known(s: &atelier_record::Sourced<String>) -> Option<String> {
    s.value.clone().filter(|v| !v.trim().is_empty())
}

/// The asset tag Atelier gives a machine with this serial: the same as on its label
/// ([`atelier_record::asset_tag`]).
pub fn asset_tag(prefix: &str, serial: &str) -> String {
    atelier_record::asset_tag(prefix, Some(serial), uuid::Uuid::nil())
}

/// The value of `source` (one of [`FIELD_SOURCES`]) for `record`.
fn field(record: &AssetRecord, source: &str) -> Option<String> {
    let cert = record.certificate.as_ref();
    let hw = record.hardware.as_ref();
    match source {
        "record_id" => Some(record.id.to_string()),
        "certificate_id" => cert.map(|c| c.certificate_id.to_string()),
        "certificate_sha256" => cert.and_then(|c| c.seal.as_ref()).map(|s| s.sha256.clone()),
        "title_verdict" => cert.and_then(|c| {
            serde_json::to_value(c.title_verdict)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
        }),
        "issued_at" => cert.map(|c| c.issued_at.to_rfc3339()),
        "uuid" => hw.and_then(|h| known(&h.identity.uuid)),
        "cpu_model" => hw
            .and_then(|h| h.cpu.as_ref())
            .and_then(|c| c.model.clone()),
        "memory_mib" => hw
            .and_then(|h| h.memory.total_bytes.value.or(h.memory.installed_bytes))
            .map(|b| (b >> 20).to_string()),
        "disk_count" => hw.map(|h| {
            h.disks
                .iter()
                .filter(|d| !d.boot_medium)
                .count()
                .to_string()
        }),
        "wipe_methods" => Some(
            record
                .sanitization
                .iter()
                .map(|s| format!("{}: {:?}", s.device.name, s.method))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        "bench" => Some(record.bench.hostname.clone()),
        _ => None,
    }
}

/// The Snipe-IT payload of `record` for `sink`. Refused without a serial number (the asset
/// could not be found again, so a repeated push could duplicate it).
pub fn asset_payload(record: &AssetRecord, sink: &SinkConfig) -> Result<SnipeAsset, String> {
    let hw = record
        .hardware
        .as_ref()
        .ok_or("the record has no inventory (atelier inventory)")?;
    let id = &hw.identity;
    let serial = known(&id.serial)
        .or_else(|| known(&id.chassis_serial))
        .or_else(|| known(&id.devicetree_serial))
        .ok_or("the machine has no serial number: Snipe-IT could not find it again")?;
    let name = [known(&id.system_vendor), known(&id.product_name)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let notes = match &record.certificate {
        Some(c) => format!(
            "Atelier certificate {} ({}), record {}, SHA-256 {}",
            c.certificate_id,
            field(record, "title_verdict").unwrap_or_default(),
            record.id,
            c.seal.as_ref().map(|s| s.sha256.as_str()).unwrap_or("-")
        ),
        None => format!("Atelier record {}", record.id),
    };
    let custom_fields = sink
        .custom_fields
        .iter()
        .filter_map(|(column, source)| field(record, source).map(|v| (column.clone(), v)))
        .collect();
    Ok(SnipeAsset {
        asset_tag: asset_tag(
            sink.asset_tag_prefix
                .as_deref()
                .unwrap_or(atelier_record::DEFAULT_ASSET_TAG_PREFIX),
            &serial,
        ),
        serial,
        name: if name.is_empty() {
            "Atelier".into()
        } else {
            name
        },
        model_id: sink.model_id.unwrap_or(0),
        status_id: sink.status_id.unwrap_or(0),
        notes,
        custom_fields,
    })
}

/// Percent-encodes one path segment (RFC 3986 §2.3: unreserved characters stay).
fn segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Reads a Snipe-IT answer: HTTP errors by their code, then the JSON envelope.
fn answer(
    what: &str,
    client_result: reqwest::Result<reqwest::blocking::Response>,
) -> Result<Value, Outcome> {
    let response = client_result.map_err(|e| transport_error(what, &e))?;
    let (status, headers, body) = read(what, response)?;
    if !(200..300).contains(&status) {
        return Err(from_status(what, status, &headers, &body));
    }
    serde_json::from_slice(&body).map_err(|_| Outcome::Retry {
        reason: format!(
            "{what}: HTTP {status} but the answer is not JSON: {}",
            short(&String::from_utf8_lossy(&body))
        ),
        after: None,
    })
}

fn messages(v: &Value) -> String {
    short(&match v.get("messages") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => v.to_string(),
    })
}

/// Sends `payload` (a [`SnipeAsset`] as JSON) to `sink`.
pub fn deliver(client: &Client, sink: &SinkConfig, token: &Token, payload: &str) -> Outcome {
    let asset: SnipeAsset = match serde_json::from_str(payload) {
        Ok(a) => a,
        Err(e) => {
            return Outcome::Refused {
                reason: format!("the queued Snipe-IT asset cannot be read: {e}"),
            };
        }
    };
    let base = format!("{}/api/v1/hardware", sink.url.trim_end_matches('/'));
    let call = |rb: reqwest::blocking::RequestBuilder| {
        rb.bearer_auth(token.expose())
            .header("Accept", "application/json")
            .send()
    };
    let lookup = format!("{base}/byserial/{}", segment(&asset.serial));
    let what = format!("Snipe-IT {lookup}");
    let found = match answer(&what, call(client.get(&lookup))) {
        Ok(v) => v,
        Err(o) => return o,
    };
    let rows: Vec<&Value> = match found.get("rows").and_then(Value::as_array) {
        Some(rows) => rows
            .iter()
            .filter(|r| r.get("deleted_at").is_none_or(Value::is_null))
            .collect(),
        None if found.get("status").and_then(Value::as_str) == Some("error") => {
            let m = messages(&found).to_ascii_lowercase();
            if m.contains("not found") || m.contains("does not exist") {
                Vec::new()
            } else {
                return Outcome::Refused {
                    reason: format!("{what}: {}", messages(&found)),
                };
            }
        }
        None => {
            return Outcome::Retry {
                reason: format!("{what}: unexpected answer {}", short(&found.to_string())),
                after: None,
            };
        }
    };
    let mut body = Map::new();
    body.insert("serial".into(), json!(asset.serial));
    body.insert("name".into(), json!(asset.name));
    body.insert("status_id".into(), json!(asset.status_id));
    body.insert("notes".into(), json!(asset.notes));
    for (k, v) in &asset.custom_fields {
        body.insert(k.clone(), json!(v));
    }
    let (what, sent, action) = match rows.as_slice() {
        [] => {
            body.insert("asset_tag".into(), json!(asset.asset_tag));
            body.insert("model_id".into(), json!(asset.model_id));
            let what = format!("Snipe-IT POST {base}");
            (
                what.clone(),
                answer(&what, call(client.post(&base).json(&body))),
                "created",
            )
        }
        [one] => {
            let Some(id) = one.get("id").and_then(Value::as_u64) else {
                return Outcome::Retry {
                    reason: format!("{what}: the asset found has no id"),
                    after: None,
                };
            };
            let url = format!("{base}/{id}");
            let what = format!("Snipe-IT PATCH {url}");
            (
                what.clone(),
                answer(&what, call(client.patch(&url).json(&body))),
                "updated",
            )
        }
        many => {
            return Outcome::Refused {
                reason: format!(
                    "{what}: {} assets have serial {}; merge them in Snipe-IT, then `atelier push --retry-failed`",
                    many.len(),
                    asset.serial
                ),
            };
        }
    };
    let v = match sent {
        Ok(v) => v,
        Err(o) => return o,
    };
    match v.get("status").and_then(Value::as_str) {
        Some("success") => Outcome::Delivered {
            server_id: v
                .pointer("/payload/id")
                .map(|id| id.to_string().trim_matches('"').to_string()),
            answer: format!("{action}: {}", messages(&v)),
        },
        Some("error") => Outcome::Refused {
            reason: format!("{what}: Snipe-IT answered an error: {}", messages(&v)),
        },
        _ => Outcome::Retry {
            reason: format!("{what}: unexpected answer {}", short(&v.to_string())),
            after: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_deterministic_and_segments_are_encoded() {
        assert_eq!(asset_tag("AT-", "PF0ABCDE"), asset_tag("AT-", "PF0ABCDE"));
        assert_ne!(asset_tag("AT-", "PF0ABCDE"), asset_tag("AT-", "PF0ABCDF"));
        assert_eq!(asset_tag("AT-", "x").len(), 13);
        assert_eq!(segment("A B/c"), "A%20B%2Fc");
    }
}
