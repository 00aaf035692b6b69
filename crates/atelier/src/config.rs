//! The bench's configuration file, `atelier.toml`.
//!
//! It lives in the data directory (the stick's data partition, next to the store), or where
//! `ATELIER_CONFIG` points. It is optional: without it every section takes its defaults.
//! Unknown keys are errors that name the line, so a typo never silently drops a setting.
//!
//! Each section belongs to the stage that uses it and is defined in that stage's crate; this
//! module only composes them and reads the file.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// File name of the configuration in the data directory.
pub const CONFIG_FILE: &str = "atelier.toml";

/// The whole configuration. Sections are added here, one field per stage.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[bench]`: who works at this bench and for which partner structure.
    #[serde(default)]
    pub bench: BenchConfig,
    /// `[organisation]`: who issues the certificates (name, address, logo, verification URL).
    #[serde(default)]
    pub organisation: atelier_certify::Organisation,
    /// `[printer]`: where certificates and labels are printed.
    #[serde(default)]
    pub printer: atelier_certify::print::PrinterConfig,
    /// `[push]`: the central inventories certified records are sent to.
    #[serde(default)]
    pub push: atelier_push::PushConfig,
}

/// The `[bench]` section: written into every record the bench makes (`bench.operator`,
/// `bench.partner`). `ATELIER_OPERATOR` and `ATELIER_PARTNER` override it for one session.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchConfig {
    /// The technician.
    #[serde(default)]
    pub operator: Option<String>,
    /// The partner structure the machines are for (an association, a social programme);
    /// `atelier report` counts per partner.
    #[serde(default)]
    pub partner: Option<String>,
}

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but cannot be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has an unknown key or a wrong value.
    #[error("{path}, line {line}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line of the error (0 when unknown).
        line: usize,
        /// What is wrong, as the TOML parser says it.
        message: String,
    },
}

impl ConfigError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            ConfigError::Read { path, .. } | ConfigError::Invalid { path, .. } => path,
        }
    }
}

impl Config {
    /// Where the configuration is read from: `ATELIER_CONFIG` when set, else
    /// `atelier.toml` in `data_dir`.
    pub fn location(data_dir: &Path) -> PathBuf {
        std::env::var_os("ATELIER_CONFIG")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| data_dir.join(CONFIG_FILE))
    }

    /// Reads the file at `path`; a missing file gives the defaults.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        Config::parse(&text, path)
    }

    /// Parses the text of a configuration file (`path` only names it in errors).
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: path.to_path_buf(),
            line: e
                .span()
                .map(|s| {
                    text.as_bytes()[..s.start.min(text.len())]
                        .iter()
                        .filter(|&&b| b == b'\n')
                        .count()
                        + 1
                })
                .unwrap_or(0),
            message: e.message().trim().to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_section() {
        let c = Config::parse(
            "[bench]\noperator = \"Camille\"\npartner = \"Secours populaire\"\n",
            Path::new("atelier.toml"),
        )
        .unwrap();
        assert_eq!(c.bench.operator.as_deref(), Some("Camille"));
        assert_eq!(c.bench.partner.as_deref(), Some("Secours populaire"));
        assert!(Config::parse("[bench]\npartenaire = \"x\"\n", Path::new("a")).is_err());
    }

    #[test]
    fn missing_file_gives_defaults() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Config::load(&dir.path().join(CONFIG_FILE)).is_ok());
    }

    #[test]
    fn unknown_key_names_its_line() {
        let err = Config::parse("\n\nprinterr = 1\n", Path::new("atelier.toml")).unwrap_err();
        match err {
            ConfigError::Invalid { line, message, .. } => {
                assert_eq!(line, 3);
                assert!(message.contains("printerr"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
}
