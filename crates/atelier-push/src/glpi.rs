//! GLPI native inventory: what the GLPI Agent does, for one machine.
//!
//! Facts this follows (GLPI's `src/Agent/Communication/AbstractRequest.php` and
//! `src/Inventory/Request.php`, GLPI Agent's `lib/GLPI/Agent/HTTP/Client/GLPI.pm`):
//!
//! - the inventory is POSTed to `/front/inventory.php`; the body is the JSON inventory
//!   (`{"deviceid", "action": "inventory", "itemtype", "content"}`), compressed with zlib
//!   (`Content-Type: application/x-compress-zlib`, also `application/x-zlib`) or gzip
//!   (`application/x-compress-gzip`, `application/x-gzip`), or plain (`application/json`);
//! - the `GLPI-Agent-ID` header (a UUID) marks a JSON-protocol agent; GLPI then answers JSON,
//!   compressed the same way as the request, with the matching `Content-Type`;
//! - the answer's `status` is `ok` (taken), `error` (with `message`; HTTP 400 when the JSON
//!   does not validate, 500 otherwise) or `pending`: the server asks to come back after
//!   `expiration` seconds with a GET carrying the `GLPI-Request-ID` it gave (GLPI Agent does
//!   so up to 12 times);
//! - GLPI's import rules match an incoming computer to an existing one (by default serial +
//!   UUID first), so sending the same machine again updates the same computer: a repeated
//!   push is harmless.
//!
//! Atelier's `GLPI-Agent-ID` is derived from the inventory's `deviceid` (UUID version 8, from
//! the SHA-256 of the deviceid), so a machine always comes with the same agent id.

use std::io::Write;
use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::config::{Compression, SinkConfig};
use crate::secret::Token;
use crate::transport::{Outcome, from_status, read, short, transport_error};

/// Most `pending` answers followed in one attempt (as GLPI Agent).
const MAX_PENDING: u32 = 12;

/// The `GLPI-Agent-ID` of an inventory whose `deviceid` is `device_id`.
pub fn agent_id(device_id: &str) -> uuid::Uuid {
    let digest = Sha256::digest(format!("atelier glpi agent id\n{device_id}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// Checks what GLPI itself would refuse, before sending: a JSON object with a `deviceid`,
/// `action` `inventory`, and a computer with a name (GLPI's default rules refuse nameless
/// computers).
pub fn validate(inventory: &Value) -> Result<&str, String> {
    let device_id = inventory
        .get("deviceid")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or("the inventory has no deviceid")?;
    if inventory.get("action").and_then(Value::as_str) != Some("inventory") {
        return Err("the inventory's action is not \"inventory\"".into());
    }
    let name = inventory
        .pointer("/content/hardware/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    if name.trim().is_empty() {
        return Err("the computer has no name (content.hardware.name); GLPI refuses it".into());
    }
    Ok(device_id)
}

fn compress(data: &[u8], how: Compression) -> std::io::Result<(Vec<u8>, &'static str)> {
    match how {
        Compression::Zlib => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data)?;
            Ok((e.finish()?, "application/x-compress-zlib"))
        }
        Compression::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data)?;
            Ok((e.finish()?, "application/x-compress-gzip"))
        }
        Compression::None => Ok((data.to_vec(), "application/json")),
    }
}

/// Decodes an answer by its `Content-Type`.
fn decompress(body: &[u8], content_type: &str) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let ct = content_type.to_ascii_lowercase();
    let mut out = Vec::new();
    if ct.contains("zlib") {
        flate2::read::ZlibDecoder::new(body).read_to_end(&mut out)?;
    } else if ct.contains("gzip") {
        flate2::read::GzDecoder::new(body).read_to_end(&mut out)?;
    } else {
        out = body.to_vec();
    }
    Ok(out)
}

fn endpoint(url: &str) -> String {
    if url.ends_with(".php") {
        url.to_string()
    } else {
        format!("{}/front/inventory.php", url.trim_end_matches('/'))
    }
}

/// Sends `payload` (the GLPI inventory JSON) to `sink`. `deadline` bounds the time spent
/// following `pending` answers.
pub fn deliver(
    client: &Client,
    sink: &SinkConfig,
    token: Option<&Token>,
    payload: &str,
    deadline: Instant,
) -> Outcome {
    let inventory: Value = match serde_json::from_str(payload) {
        Ok(v) => v,
        Err(e) => {
            return Outcome::Refused {
                reason: format!("the queued GLPI inventory is not JSON: {e}"),
            };
        }
    };
    let device_id = match validate(&inventory) {
        Ok(d) => d.to_string(),
        Err(reason) => return Outcome::Refused { reason },
    };
    let (body, content_type) = match compress(payload.as_bytes(), sink.compression) {
        Ok(x) => x,
        Err(e) => {
            return Outcome::Retry {
                reason: format!("compression: {e}"),
                after: None,
            };
        }
    };
    let url = endpoint(&sink.url);
    let what = format!("GLPI {url}");
    let agent = agent_id(&device_id).to_string();
    let with_auth = |rb: reqwest::blocking::RequestBuilder| match token {
        Some(t) => rb.bearer_auth(t.expose()),
        None => rb,
    };
    let mut request = with_auth(
        client
            .post(&url)
            .header("Content-Type", content_type)
            .header("GLPI-Agent-ID", &agent)
            .header("Pragma", "no-cache")
            .body(body),
    );
    let mut pendings = 0;
    loop {
        let response = match request.send() {
            Ok(r) => r,
            Err(e) => return transport_error(&what, &e),
        };
        let (status, headers, raw) = match read(&what, response) {
            Ok(x) => x,
            Err(o) => return o,
        };
        let ct = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let answer: Option<Value> = decompress(&raw, &ct)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let Some(answer) = answer else {
            if status < 300 {
                return Outcome::Retry {
                    reason: format!("{what}: HTTP {status} but the answer is not GLPI's JSON"),
                    after: None,
                };
            }
            return from_status(&what, status, &headers, &raw);
        };
        let text = short(&answer.to_string());
        match answer.get("status").and_then(Value::as_str) {
            Some("ok") if status < 300 => {
                return Outcome::Delivered {
                    server_id: None,
                    answer: text,
                };
            }
            Some("pending") if status < 300 => {
                pendings += 1;
                let wait = Duration::from_secs(
                    answer
                        .get("expiration")
                        .and_then(Value::as_u64)
                        .unwrap_or(1)
                        .max(1),
                );
                if pendings > MAX_PENDING || Instant::now() + wait > deadline {
                    return Outcome::Retry {
                        reason: format!("{what}: the server is still processing (pending)"),
                        after: Some(wait),
                    };
                }
                std::thread::sleep(wait);
                let mut poll = client
                    .get(&url)
                    .header("GLPI-Agent-ID", &agent)
                    .header("Content-Type", content_type);
                if let Some(id) = headers.get("GLPI-Request-ID") {
                    poll = poll.header("GLPI-Request-ID", id.clone());
                }
                request = with_auth(poll);
            }
            Some("error") => {
                let message = answer.get("message").and_then(Value::as_str).unwrap_or("");
                let code = if status < 400 { 400 } else { status };
                return match from_status(&what, code, &headers, message.as_bytes()) {
                    Outcome::Refused { reason } => Outcome::Refused { reason },
                    other => other,
                };
            }
            _ => {
                if status >= 300 {
                    return from_status(&what, status, &headers, &raw);
                }
                return Outcome::Retry {
                    reason: format!("{what}: unexpected answer {text}"),
                    after: None,
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nameless_or_actionless_inventories_are_refused_before_sending() {
        let good = json!({"deviceid": "atelier-1", "action": "inventory",
            "content": {"hardware": {"name": "pc"}}});
        assert_eq!(validate(&good).unwrap(), "atelier-1");
        let mut nameless = good.clone();
        nameless["content"]["hardware"]["name"] = json!(" ");
        assert!(validate(&nameless).unwrap_err().contains("no name"));
        let mut other = good.clone();
        other["action"] = json!("contact");
        assert!(validate(&other).is_err());
    }

    #[test]
    fn compression_round_trips_with_the_matching_content_type() {
        for how in [Compression::Zlib, Compression::Gzip, Compression::None] {
            let (b, ct) = compress(b"{\"a\":1}", how).unwrap();
            assert_eq!(decompress(&b, ct).unwrap(), b"{\"a\":1}");
        }
        let (b, _) = compress(b"x", Compression::Zlib).unwrap();
        assert_eq!(b[0], 0x78, "zlib header (RFC 1950)");
        let (b, _) = compress(b"x", Compression::Gzip).unwrap();
        assert_eq!(&b[..2], &[0x1f, 0x8b], "gzip magic (RFC 1952)");
    }

    #[test]
    fn the_agent_id_is_a_stable_uuid_per_deviceid() {
        assert_eq!(agent_id("atelier-1"), agent_id("atelier-1"));
        assert_ne!(agent_id("atelier-1"), agent_id("atelier-2"));
        assert_eq!(agent_id("atelier-1").get_version_num(), 8);
        assert_eq!(
            endpoint("https://g.example/"),
            "https://g.example/front/inventory.php"
        );
    }
}
