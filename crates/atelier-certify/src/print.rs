//! Printing certificates and labels: IPP first (RFC 8011 Print-Job, through the `ipp` crate's
//! blocking client), the CUPS `lp` command as a fallback.
//!
//! Where a document goes ([`resolve`]):
//!
//! 1. the printer named on the command line (`--printer`), else the `[printer]` section of
//!    `atelier.toml` (`uri` for certificates, `label_uri` for labels);
//! 2. a value with a scheme (`ipp://`, `ipps://`, `http://`) is used as the printer URI; a bare
//!    name is a queue of the CUPS server, `ipp://SERVER/printers/NAME`;
//! 3. nothing configured: the CUPS default printer, asked of the CUPS server with the
//!    CUPS-Get-Default operation (CUPS IPP extensions, operation 0x4001), whose answer names
//!    the printer (`printer-name`).
//!
//! The CUPS server is `CUPS_SERVER` when it names a host (`host` or `host:port`, as `lp`
//! reads it), else `localhost:631`.
//!
//! When the local CUPS server cannot be reached over IPP, a queue name (or the default
//! printer) is handed to `lp` (`lp -d NAME FILE`), which talks to CUPS through its own
//! socket. A printer URI that does not answer is an error: nothing else would reach it.
//!
//! ```toml
//! [printer]
//! uri = "ipp://localhost:631/printers/Bureau"   # or a CUPS queue name
//! label_uri = "QL800"                           # the label printer
//! label_format = "brother-ql"                   # or "pdf"
//! ```

use std::io::Cursor;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ipp::prelude::*;
use serde::Deserialize;

/// The CUPS server when `CUPS_SERVER` does not name one.
pub const DEFAULT_CUPS_SERVER: &str = "localhost:631";

/// The CUPS server: `CUPS_SERVER` (`host` or `host:port`; a socket path is left to `lp`),
/// else [`DEFAULT_CUPS_SERVER`].
pub fn cups_server() -> String {
    match std::env::var("CUPS_SERVER") {
        Ok(v) if !v.is_empty() && !v.starts_with('/') => {
            if v.contains(':') {
                v
            } else {
                format!("{v}:631")
            }
        }
        _ => DEFAULT_CUPS_SERVER.to_owned(),
    }
}

/// The `[printer]` section of `atelier.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrinterConfig {
    /// Printer for certificates: an IPP URI or a CUPS queue name.
    #[serde(default)]
    pub uri: Option<String>,
    /// Printer for labels: an IPP URI or a CUPS queue name (default: `uri`).
    #[serde(default)]
    pub label_uri: Option<String>,
    /// What the label printer takes.
    #[serde(default)]
    pub label_format: LabelFormat,
}

/// The data a label printer takes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LabelFormat {
    /// A 62 × 29 mm PDF page (any printer with a driver).
    #[default]
    Pdf,
    /// Brother QL raster commands (a raw CUPS queue or the printer's own IPP / port 9100).
    BrotherQl,
}

/// What is being printed, and in which format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentFormat {
    /// `application/pdf`.
    Pdf,
    /// Raw printer data, `application/octet-stream`.
    Raw,
}

impl DocumentFormat {
    /// The MIME type sent as `document-format`.
    pub fn mime(self) -> &'static str {
        match self {
            DocumentFormat::Pdf => "application/pdf",
            DocumentFormat::Raw => "application/octet-stream",
        }
    }
}

/// Where a job goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// An IPP printer URI; `queue` is its CUPS queue name when it came from one (for `lp`).
    Ipp {
        /// The printer URI.
        uri: String,
        /// The CUPS queue name, when the destination was given as one.
        queue: Option<String>,
    },
    /// The CUPS default printer.
    CupsDefault,
}

/// Where a document goes: `explicit` (`--printer`), else `configured`, else the CUPS default.
pub fn resolve(explicit: Option<&str>, configured: Option<&str>) -> Destination {
    match explicit
        .or(configured)
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(v) if v.contains("://") => Destination::Ipp {
            uri: v.to_owned(),
            queue: None,
        },
        Some(name) => Destination::Ipp {
            uri: format!("ipp://{}/printers/{name}", cups_server()),
            queue: Some(name.to_owned()),
        },
        None => Destination::CupsDefault,
    }
}

/// How a job was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// Over IPP: the printer URI and the job id it gave.
    Ipp {
        /// The printer.
        uri: String,
        /// The job id.
        job_id: Option<i32>,
    },
    /// With `lp`: its message (`request id is … (1 file(s))`).
    Lp {
        /// The queue (`None`: the default printer).
        queue: Option<String>,
        /// What `lp` printed.
        message: String,
    },
}

/// Why a job could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    /// A URI that does not parse.
    #[error("{uri} is not a printer address: {cause}")]
    BadUri {
        /// The URI.
        uri: String,
        /// Why.
        cause: String,
    },
    /// The printer answered with an error, or could not be reached.
    #[error("the printer {uri} did not take the job: {cause}")]
    Ipp {
        /// The printer.
        uri: String,
        /// Why.
        cause: String,
    },
    /// Neither IPP nor `lp` could print.
    #[error(
        "no printer could be reached: {cause}. Set [printer] uri in atelier.toml, give \
         --printer, or start CUPS (systemctl start cups) and set a default printer"
    )]
    NoPrinter {
        /// What was tried.
        cause: String,
    },
}

fn parse_uri(uri: &str) -> Result<Uri, PrintError> {
    uri.parse::<Uri>().map_err(|e| PrintError::BadUri {
        uri: uri.to_owned(),
        cause: e.to_string(),
    })
}

fn client(uri: Uri) -> IppClient {
    IppClient::builder(uri)
        .request_timeout(Duration::from_secs(60))
        .build()
}

/// Sends `data` to the printer at `uri` with Print-Job (RFC 8011 §4.2.1).
pub fn ipp_print(
    uri: &str,
    data: Vec<u8>,
    format: DocumentFormat,
    title: &str,
) -> Result<Option<i32>, PrintError> {
    let parsed = parse_uri(uri)?;
    let err = |cause: String| PrintError::Ipp {
        uri: uri.to_owned(),
        cause,
    };
    let operation =
        IppOperationBuilder::print_job(parsed.clone(), IppPayload::new(Cursor::new(data)))
            .user_name("atelier")
            .job_title(title)
            .document_format(format.mime())
            .build()
            .map_err(|e| err(e.to_string()))?;
    let response = client(parsed)
        .send(operation)
        .map_err(|e| err(e.to_string()))?;
    let status = response.header().status_code();
    if !status.is_success() {
        return Err(err(format!("IPP status {status}")));
    }
    let job_id = response
        .attributes()
        .groups_of(DelimiterTag::JobAttributes)
        .find_map(|g| g.get("job-id"))
        .and_then(|a| match a.value() {
            IppValue::Integer(id) => Some(*id),
            _ => None,
        });
    Ok(job_id)
}

/// The URI of the CUPS default printer (CUPS-Get-Default), asked of the CUPS server
/// `server` (`host:port`): `ipp://SERVER/printers/NAME`.
pub fn cups_default(server: &str) -> Result<String, PrintError> {
    let cups = format!("ipp://{server}/");
    let parsed = parse_uri(&cups)?;
    let err = |cause: String| PrintError::Ipp {
        uri: cups.clone(),
        cause,
    };
    let request = IppRequestResponse::new(IppVersion::v1_1(), Operation::CupsGetDefault, None)
        .map_err(|e| err(e.to_string()))?;
    let response = client(parsed)
        .send(request)
        .map_err(|e| err(e.to_string()))?;
    if !response.header().status_code().is_success() {
        return Err(err("no default printer is set".into()));
    }
    response
        .attributes()
        .groups_of(DelimiterTag::PrinterAttributes)
        .find_map(|g| g.get("printer-name"))
        .map(|a| a.value().to_string())
        .filter(|s| !s.is_empty())
        .map(|name| format!("ipp://{server}/printers/{name}"))
        .ok_or_else(|| err("no default printer is set".into()))
}

/// Prints `file` with `lp` (`-d queue` when given).
pub fn lp_print(
    file: &Path,
    queue: Option<&str>,
    format: DocumentFormat,
) -> Result<String, String> {
    let mut cmd = Command::new("lp");
    if let Some(q) = queue {
        cmd.args(["-d", q]);
    }
    if format == DocumentFormat::Raw {
        cmd.args(["-o", "raw"]);
    }
    let out = cmd
        .arg("--")
        .arg(file)
        .output()
        .map_err(|e| format!("lp: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(format!(
            "lp: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Prints `file` (already written, `data` its bytes) to `destination` (see the module docs).
pub fn print(
    destination: &Destination,
    file: &Path,
    data: Vec<u8>,
    format: DocumentFormat,
    title: &str,
) -> Result<Sent, PrintError> {
    match destination {
        Destination::Ipp { uri, queue } => match ipp_print(uri, data, format, title) {
            Ok(job_id) => Ok(Sent::Ipp {
                uri: uri.clone(),
                job_id,
            }),
            Err(ipp_error) => match queue {
                // A queue name: CUPS may still be reachable through lp's socket.
                Some(q) => lp_print(file, Some(q), format)
                    .map(|message| Sent::Lp {
                        queue: Some(q.clone()),
                        message,
                    })
                    .map_err(|lp| PrintError::NoPrinter {
                        cause: format!("{ipp_error}; {lp}"),
                    }),
                None => Err(ipp_error),
            },
        },
        Destination::CupsDefault => {
            let ipp = cups_default(&cups_server())
                .and_then(|uri| ipp_print(&uri, data, format, title).map(|id| (uri, id)));
            match ipp {
                Ok((uri, job_id)) => Ok(Sent::Ipp { uri, job_id }),
                Err(ipp_error) => lp_print(file, None, format)
                    .map(|message| Sent::Lp {
                        queue: None,
                        message,
                    })
                    .map_err(|lp| PrintError::NoPrinter {
                        cause: format!("{ipp_error}; {lp}"),
                    }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_uris_resolve() {
        assert_eq!(
            resolve(Some("Bureau"), Some("ipp://x/ipp/print")),
            Destination::Ipp {
                uri: format!("ipp://{}/printers/Bureau", cups_server()),
                queue: Some("Bureau".into())
            }
        );
        assert_eq!(
            resolve(None, Some("ipp://127.0.0.1:8631/ipp/print")),
            Destination::Ipp {
                uri: "ipp://127.0.0.1:8631/ipp/print".into(),
                queue: None
            }
        );
        assert_eq!(resolve(None, Some("  ")), Destination::CupsDefault);
        assert_eq!(resolve(None, None), Destination::CupsDefault);
    }

    #[test]
    fn config_section_is_strict() {
        let c: PrinterConfig =
            toml::from_str("uri = \"Bureau\"\nlabel_format = \"brother-ql\"").unwrap();
        assert_eq!(c.label_format, LabelFormat::BrotherQl);
        assert!(toml::from_str::<PrinterConfig>("urii = \"x\"").is_err());
    }

    #[test]
    fn an_unreachable_printer_uri_is_an_error_that_names_it() {
        // Port 9 (discard) on loopback: nothing listens there in the test machine.
        let err = ipp_print(
            "ipp://127.0.0.1:9/ipp/print",
            b"%PDF-1.7".to_vec(),
            DocumentFormat::Pdf,
            "t",
        )
        .unwrap_err();
        assert!(err.to_string().contains("127.0.0.1:9"), "{err}");
    }
}
