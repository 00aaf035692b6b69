//! The `[push]` section of `atelier.toml`: the sinks and the retry policy.
//!
//! ```toml
//! [push]
//! timeout_seconds = 30        # per HTTP request
//! retry_base_seconds = 30     # first retry delay; doubles each attempt (with jitter)
//! retry_max_seconds = 3600    # longest delay between two attempts
//! wait_seconds = 60           # how long one `atelier push` keeps retrying before it stops
//!
//! [[push.sinks]]
//! name = "glpi"
//! kind = "glpi"                         # GLPI native inventory (/front/inventory.php)
//! url = "https://glpi.example.org"
//! compression = "zlib"                  # zlib (default), gzip or none
//! tag = "atelier"                       # GLPI tag, used by GLPI's entity rules
//!
//! [[push.sinks]]
//! name = "snipeit"
//! kind = "snipeit"                      # Snipe-IT REST API
//! url = "https://snipeit.example.org"
//! token_file = "/media/atelier/snipeit-token"   # mode 0600; or token_env = "SNIPEIT_TOKEN"
//! model_id = 12
//! status_id = 2
//! asset_tag_prefix = "AT-"
//! custom_fields = { _snipeit_ram_mib_3 = "memory_mib", _snipeit_certificate_4 = "certificate_id" }
//!
//! [[push.sinks]]
//! name = "archive"
//! kind = "http"                         # signed record, POSTed as JSON
//! url = "https://records.example.org/api/records"
//! token_env = "ARCHIVE_TOKEN"
//! ca_file = "/media/atelier/our-ca.pem" # the organisation's own CA (added to the system's)
//!
//! [[push.sinks]]
//! name = "usb"
//! kind = "directory"                    # a USB stick: certificates, JSON Lines, PDFs, GLPI files
//! path = "/media/atelier-usb"           # must be a mount point (require_mount = false to allow any folder)
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The `[push]` section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PushConfig {
    /// The central inventories to push certified records to.
    pub sinks: Vec<SinkConfig>,
    /// Timeout of one HTTP request (connect, send, answer), in seconds.
    pub timeout_seconds: u64,
    /// Delay before the first retry, in seconds; it doubles at each attempt.
    pub retry_base_seconds: u64,
    /// Longest delay between two attempts, in seconds.
    pub retry_max_seconds: u64,
    /// How long one `atelier push` keeps retrying what failed before it stops (the entries
    /// stay queued), in seconds.
    pub wait_seconds: u64,
    /// Queue (and try to send) a record right after `atelier certify`.
    pub after_certify: bool,
}

impl Default for PushConfig {
    fn default() -> Self {
        Self {
            sinks: Vec::new(),
            timeout_seconds: 30,
            retry_base_seconds: 30,
            retry_max_seconds: 3600,
            wait_seconds: 60,
            after_certify: true,
        }
    }
}

/// Kinds of sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SinkKind {
    /// GLPI native inventory: POST to `/front/inventory.php`.
    Glpi,
    /// Snipe-IT REST API (`/api/v1/hardware`).
    Snipeit,
    /// Any HTTPS endpoint taking the signed record as JSON, with an `Idempotency-Key`.
    Http,
    /// A folder, usually a USB stick's mount point (see [`crate::directory`]).
    Directory,
}

impl SinkKind {
    /// The name written in configs, outbox entries and deliveries.
    pub fn as_str(self) -> &'static str {
        match self {
            SinkKind::Glpi => "glpi",
            SinkKind::Snipeit => "snipeit",
            SinkKind::Http => "http",
            SinkKind::Directory => "directory",
        }
    }
}

/// Compression of GLPI inventories.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// zlib (RFC 1950), `application/x-compress-zlib` (what GLPI Agent sends).
    #[default]
    Zlib,
    /// gzip (RFC 1952), `application/x-compress-gzip`.
    Gzip,
    /// None, `application/json`.
    None,
}

/// One sink.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkConfig {
    /// Name, unique among the sinks (shown in messages and stored in deliveries).
    pub name: String,
    /// Kind of server.
    pub kind: SinkKind,
    /// Address: the GLPI or Snipe-IT root URL, or the endpoint's URL. `https://`, or
    /// `http://` to this machine only (127.0.0.1, localhost, [::1]). Not for `directory`.
    #[serde(default)]
    pub url: String,
    /// Directory sinks: the export folder (a USB stick's mount point).
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Directory sinks: refuse a `path` that is not a mount point (default: true), so an
    /// export never lands on the live system when the stick is not plugged in.
    #[serde(default = "yes")]
    pub require_mount: bool,
    /// File holding the API token (first line), mode 0600 or stricter.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// Environment variable holding the API token.
    #[serde(default)]
    pub token_env: Option<String>,
    /// PEM file of extra certificate authorities to trust (an organisation's own CA).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// GLPI: compression of the inventory.
    #[serde(default)]
    pub compression: Compression,
    /// GLPI: the `tag` of the inventory.
    #[serde(default)]
    pub tag: Option<String>,
    /// Snipe-IT: the asset model id of new assets.
    #[serde(default)]
    pub model_id: Option<u64>,
    /// Snipe-IT: the status label id of new and updated assets.
    #[serde(default)]
    pub status_id: Option<u64>,
    /// Snipe-IT: prefix of the asset tags Atelier makes (`AT-` by default).
    #[serde(default)]
    pub asset_tag_prefix: Option<String>,
    /// Snipe-IT: custom fields, DB column name (`_snipeit_…`) → Atelier value
    /// (see [`crate::snipeit::FIELD_SOURCES`]).
    #[serde(default)]
    pub custom_fields: BTreeMap<String, String>,
}

fn yes() -> bool {
    true
}

impl PushConfig {
    /// Checks what serde cannot: unique names, addresses, what each kind needs. The message
    /// names the sink and the key.
    pub fn check(&self) -> Result<(), String> {
        for (i, sink) in self.sinks.iter().enumerate() {
            if sink.name.trim().is_empty() {
                return Err(format!("push.sinks[{i}]: name is empty"));
            }
            if self.sinks[..i].iter().any(|s| s.name == sink.name) {
                return Err(format!("push.sinks: two sinks are named \"{}\"", sink.name));
            }
            if sink.kind == SinkKind::Directory {
                match &sink.path {
                    Some(p) if p.is_absolute() => {}
                    _ => {
                        return Err(format!(
                            "sink \"{}\": a directory sink needs path, an absolute folder",
                            sink.name
                        ));
                    }
                }
                if !sink.url.is_empty() {
                    return Err(format!(
                        "sink \"{}\": a directory sink takes path, not url",
                        sink.name
                    ));
                }
                continue;
            }
            check_url(&sink.url).map_err(|e| format!("sink \"{}\": url: {e}", sink.name))?;
            if sink.token_file.is_some() && sink.token_env.is_some() {
                return Err(format!(
                    "sink \"{}\": give token_file or token_env, not both",
                    sink.name
                ));
            }
            if sink.kind == SinkKind::Snipeit {
                if sink.token_file.is_none() && sink.token_env.is_none() {
                    return Err(format!(
                        "sink \"{}\": Snipe-IT needs token_file or token_env",
                        sink.name
                    ));
                }
                if sink.model_id.is_none() || sink.status_id.is_none() {
                    return Err(format!(
                        "sink \"{}\": Snipe-IT needs model_id and status_id for new assets",
                        sink.name
                    ));
                }
                for source in sink.custom_fields.values() {
                    if !crate::snipeit::FIELD_SOURCES.contains(&source.as_str()) {
                        return Err(format!(
                            "sink \"{}\": custom field source \"{source}\" is unknown; choose from {}",
                            sink.name,
                            crate::snipeit::FIELD_SOURCES.join(", ")
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// The sink named `name`.
    pub fn sink(&self, name: &str) -> Option<&SinkConfig> {
        self.sinks.iter().find(|s| s.name == name)
    }
}

/// `https://…`, or `http://` to this machine only: a token never crosses a network in clear.
fn check_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| e.to_string())?;
    match parsed.scheme() {
        "https" => Ok(()),
        "http" => match parsed.host_str() {
            Some("127.0.0.1" | "localhost" | "[::1]") => Ok(()),
            _ => Err("plain http is allowed only to this machine (127.0.0.1); use https".into()),
        },
        other => Err(format!("unsupported scheme {other}; use https")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<PushConfig, String> {
        let c: PushConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        c.check().map(|_| c)
    }

    #[test]
    fn the_documented_example_parses() {
        let doc = include_str!("config.rs");
        let example: String = doc
            .lines()
            .skip_while(|l| !l.starts_with("//! ```toml"))
            .skip(1)
            .take_while(|l| !l.starts_with("//! ```"))
            .map(|l| l.trim_start_matches("//!").trim_start_matches(' '))
            .collect::<Vec<_>>()
            .join("\n");
        #[derive(Deserialize)]
        struct File {
            push: PushConfig,
        }
        let file: File = toml::from_str(&example).unwrap();
        file.push.check().unwrap();
        assert_eq!(file.push.sinks.len(), 4);
        assert!(file.push.sinks[3].require_mount);
        assert_eq!(file.push.sinks[1].custom_fields.len(), 2);
    }

    #[test]
    fn mistakes_are_refused_with_the_sink_name() {
        assert!(parse("[[sinks]]\nname='a'\nkind='glpi'\nurl='https://x'\nurll=1").is_err());
        let e =
            parse("[[sinks]]\nname='a'\nkind='glpi'\nurl='http://glpi.example.org'").unwrap_err();
        assert!(e.contains("sink \"a\"") && e.contains("https"), "{e}");
        assert!(parse("[[sinks]]\nname='a'\nkind='glpi'\nurl='http://127.0.0.1:8080'").is_ok());
        let e = parse("[[sinks]]\nname='s'\nkind='snipeit'\nurl='https://x'\ntoken_env='T'")
            .unwrap_err();
        assert!(e.contains("model_id"), "{e}");
        let e = parse(
            "[[sinks]]\nname='s'\nkind='snipeit'\nurl='https://x'\ntoken_env='T'\nmodel_id=1\nstatus_id=1\ncustom_fields={_snipeit_x_1='shoe_size'}",
        )
        .unwrap_err();
        assert!(e.contains("shoe_size"), "{e}");
    }
}
