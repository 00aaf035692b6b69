//! The HTTP client of the sinks and what an attempt comes to.
//!
//! `reqwest` (blocking) with rustls: certificates are always verified, against the system's
//! roots plus, when configured, the organisation's own CA (`ca_file`). One timeout covers a
//! whole request (connect, send, answer). Error messages carry the address and the cause,
//! never a token (tokens only go in headers, never in URLs).

use std::time::Duration;

use reqwest::blocking::{Client, Response};

use crate::config::SinkConfig;

/// The result of one attempt to deliver an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server took it.
    Delivered {
        /// The server's id of the item, when it gave one.
        server_id: Option<String>,
        /// The server's answer, shortened.
        answer: String,
    },
    /// It did not work this time; a later attempt may (server down, 5xx, timeout, 429…).
    Retry {
        /// Why.
        reason: String,
        /// How long the server asked to wait (`Retry-After`), if it did.
        after: Option<Duration>,
    },
    /// The server refused it in a way a retry cannot fix (bad token, invalid data): the
    /// operator must act.
    Refused {
        /// Why, and what to do.
        reason: String,
    },
}

/// Builds the client of `sink`.
pub fn client(sink: &SinkConfig, timeout: Duration) -> Result<Client, String> {
    let mut builder = Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("atelier/", env!("CARGO_PKG_VERSION")))
        .https_only(!sink.url.starts_with("http://"));
    if let Some(path) = &sink.ca_file {
        let pem = std::fs::read(path).map_err(|e| format!("ca_file {}: {e}", path.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("ca_file {}: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(format!("ca_file {}: no certificate in it", path.display()));
        }
        builder = builder.tls_certs_merge(certs);
    }
    builder.build().map_err(|e| format!("HTTP client: {e}"))
}

/// What to tell the operator about a refused server certificate.
fn certificate_problem(c: &rustls::CertificateError) -> &'static str {
    use rustls::CertificateError as C;
    match c {
        C::UnknownIssuer => {
            "certificate not trusted: it is not signed by a known authority; if the organisation uses its own CA, give its PEM file as ca_file of this sink"
        }
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            "certificate not valid for this host name: use the name the certificate was made for in url, or ask for a certificate with this name"
        }
        C::Expired | C::ExpiredContext { .. } => {
            "certificate expired: check the bench's clock, then ask for the server's certificate to be renewed"
        }
        C::NotValidYet | C::NotValidYetContext { .. } => {
            "certificate not valid yet: check the bench's clock (date and time)"
        }
        C::Revoked => "certificate revoked: ask the server's administrator",
        _ => "certificate refused: ask the server's administrator",
    }
}

/// An error of the transport (no answer, timeout, cut connection, a refused certificate):
/// always worth a retry (the entry stays pending).
pub fn transport_error(what: &str, e: &reqwest::Error) -> Outcome {
    let mut cause = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    // rustls' error reaches us wrapped by the connector (not downcastable): its text
    // ("invalid peer certificate: …", rustls' `Display`) says which check failed.
    if let Some(detail) = cause.strip_prefix("invalid peer certificate: ") {
        use rustls::CertificateError as C;
        let c = if detail.contains("UnknownIssuer") {
            C::UnknownIssuer
        } else if detail.contains("not valid for name") || detail.contains("NotValidForName") {
            C::NotValidForName
        } else if detail.contains("xpired") {
            C::Expired
        } else if detail.contains("NotValidYet") || detail.contains("not valid yet") {
            C::NotValidYet
        } else {
            C::BadEncoding
        };
        return Outcome::Retry {
            reason: format!("{what}: {} ({detail})", certificate_problem(&c)),
            after: None,
        };
    }
    let kind = if e.is_timeout() {
        "no answer before the timeout"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "the connection was cut during the answer"
    } else {
        "network error"
    };
    Outcome::Retry {
        reason: format!("{what}: {kind} ({cause})"),
        after: None,
    }
}

/// The status and the whole body of `response` (a body cut short is a transport error).
pub fn read(
    what: &str,
    response: Response,
) -> Result<(u16, reqwest::header::HeaderMap, Vec<u8>), Outcome> {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    match response.bytes() {
        Ok(b) => Ok((status, headers, b.to_vec())),
        Err(e) => Err(transport_error(what, &e)),
    }
}

/// `Retry-After` in seconds (the HTTP-date form is not used by the servers we talk to;
/// it counts as absent).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// The outcome of an HTTP status that is not a success, by the usual meaning of the codes.
pub fn from_status(
    what: &str,
    status: u16,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
) -> Outcome {
    let detail = short(&String::from_utf8_lossy(body));
    match status {
        401 | 403 => Outcome::Refused {
            reason: format!(
                "{what}: the server refused the token (HTTP {status}); check the token and its rights, then `atelier push --retry-failed`"
            ),
        },
        408 | 425 | 429 | 500..=599 => Outcome::Retry {
            reason: format!("{what}: HTTP {status} {detail}"),
            after: retry_after(headers),
        },
        _ => Outcome::Refused {
            reason: format!("{what}: HTTP {status} {detail}"),
        },
    }
}

/// `text` on one line, at most 200 characters.
pub fn short(text: &str) -> String {
    let one: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 200 {
        one.chars().take(200).collect::<String>() + "…"
    } else {
        one
    }
}
