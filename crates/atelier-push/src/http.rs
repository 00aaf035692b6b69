//! A generic HTTPS JSON endpoint: the signed record (`atelier verify` can check it on the
//! other side) is POSTed with an `Idempotency-Key` header (the outbox entry's key, the same
//! on every retry), following the IETF HTTPAPI draft "The Idempotency-Key HTTP Header Field":
//! a server that saw the key already answers with its first answer instead of storing a
//! second copy. Any 2xx is an acknowledgement; its JSON `id`, when present, is kept.

use reqwest::blocking::Client;
use serde_json::Value;

use crate::config::SinkConfig;
use crate::secret::Token;
use crate::transport::{Outcome, from_status, read, short, transport_error};

/// Sends `payload` (the signed record document) to `sink` with the idempotency `key`.
pub fn deliver(
    client: &Client,
    sink: &SinkConfig,
    token: Option<&Token>,
    key: &str,
    payload: &str,
) -> Outcome {
    let what = format!("POST {}", sink.url);
    let mut rb = client
        .post(&sink.url)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json")
        .header("Idempotency-Key", key)
        .body(payload.to_string());
    if let Some(t) = token {
        rb = rb.bearer_auth(t.expose());
    }
    let response = match rb.send() {
        Ok(r) => r,
        Err(e) => return transport_error(&what, &e),
    };
    let (status, headers, body) = match read(&what, response) {
        Ok(x) => x,
        Err(o) => return o,
    };
    if (200..300).contains(&status) {
        let json: Option<Value> = serde_json::from_slice(&body).ok();
        let server_id = json.as_ref().and_then(|v| v.get("id")).map(|id| match id {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        return Outcome::Delivered {
            server_id,
            answer: format!("HTTP {status} {}", short(&String::from_utf8_lossy(&body))),
        };
    }
    if status == 409 {
        // The draft's "a request with this key is being processed": try again later.
        return Outcome::Retry {
            reason: format!("{what}: HTTP 409, the server is still processing this key"),
            after: crate::transport::retry_after(&headers),
        };
    }
    from_status(&what, status, &headers, &body)
}
