//! What every command needs: the language, the system root, the data directory and the store.

use std::path::{Path, PathBuf};

use atelier_device::{SystemRoot, SystemUsage};
use atelier_record::{Bench, ToolInfo};
use atelier_store::Store;

use crate::cli::Cli;
use crate::config::Config;
use crate::i18n::{Lang, Msg};
use crate::output;

/// Label of the data partition of the Atelier stick.
pub const DATA_PARTITION_LABEL: &str = "ATELIER-DATA";
/// Data directory when the stick's data partition is not mounted.
pub const FALLBACK_DATA_DIR: &str = "/var/lib/atelier";

/// Shared state of a command.
pub struct Context {
    /// Operator language.
    pub lang: Lang,
    /// Where /sys, /proc, /dev are read.
    pub root: SystemRoot,
    /// Explicit data directory, if any.
    data_dir: Option<PathBuf>,
}

impl Context {
    /// From the parsed command line.
    pub fn new(cli: &Cli) -> Self {
        Self {
            lang: Lang::detect(cli.lang.as_deref()),
            root: cli
                .root
                .as_ref()
                .map(SystemRoot::at)
                .unwrap_or_else(SystemRoot::live),
            data_dir: cli.data_dir.clone(),
        }
    }

    /// The data directory: `--data-dir` / `ATELIER_DATA_DIR`, else `atelier/` on the mounted
    /// partition labelled `ATELIER-DATA` (the stick's data partition), else
    /// `/var/lib/atelier`.
    pub fn data_dir(&self) -> PathBuf {
        if let Some(dir) = &self.data_dir {
            return dir.clone();
        }
        data_partition_mount(&SystemRoot::live())
            .map(|m| m.join("atelier"))
            .unwrap_or_else(|| PathBuf::from(FALLBACK_DATA_DIR))
    }

    /// True when the store would live in RAM: the fallback directory on a live system (its
    /// root is an overlay in memory), so records would be lost at shutdown.
    fn store_is_volatile(&self, dir: &Path) -> bool {
        self.data_dir.is_none()
            && dir == Path::new(FALLBACK_DATA_DIR)
            && Path::new("/run/live/medium").exists()
    }

    /// True when the store's database exists (read-only commands do not create one).
    pub fn store_exists(&self) -> bool {
        self.data_dir().join(atelier_store::DATABASE_FILE).exists()
    }

    /// Opens the local store, or prints why not.
    pub fn open_store(&self) -> Option<Store> {
        let dir = self.data_dir();
        if self.store_is_volatile(&dir) {
            output::warning(self.lang, &Msg::VolatileStore { dir: &dir });
        }
        match Store::open(&dir) {
            Ok(store) => Some(store),
            Err(e) => {
                output::error(
                    self.lang,
                    &Msg::StoreUnavailable {
                        dir: &dir,
                        cause: e.to_string(),
                    },
                );
                None
            }
        }
    }

    /// Reads the configuration file (`atelier.toml` in the data directory, or
    /// `ATELIER_CONFIG`), or prints why not. A missing file gives the defaults.
    #[allow(dead_code)] // used by the commands that read a section (print, push)
    pub fn config(&self) -> Option<Config> {
        let path = Config::location(&self.data_dir());
        match Config::load(&path) {
            Ok(config) => Some(config),
            Err(e) => {
                let cause = match &e {
                    crate::config::ConfigError::Read { source, .. } => source.to_string(),
                    crate::config::ConfigError::Invalid { line, message, .. } => self.lang.pick(
                        format!("ligne {line} : {message}"),
                        format!("line {line}: {message}"),
                    ),
                };
                output::error(
                    self.lang,
                    &Msg::ConfigInvalid {
                        path: e.path(),
                        cause,
                    },
                );
                None
            }
        }
    }

    /// This bench, as written into records.
    pub fn bench(&self) -> Bench {
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "unknown".into());
        // A broken configuration is reported by the commands that read it; here it only
        // means no defaults from the file.
        let file = Config::load(&Config::location(&self.data_dir()))
            .map(|c| c.bench)
            .unwrap_or_default();
        let pick = |var: &str, from_file: Option<String>| {
            std::env::var(var)
                .ok()
                .or(from_file)
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        };
        Bench {
            hostname,
            tool: tool_info(),
            operator: pick("ATELIER_OPERATOR", file.operator),
            partner: pick("ATELIER_PARTNER", file.partner),
        }
    }

    /// Prints a "needs root" error and returns false when not running as root.
    pub fn require_root(&self, command: &str) -> bool {
        if nix::unistd::geteuid().is_root() {
            return true;
        }
        output::error(self.lang, &Msg::NeedsRoot { command });
        false
    }
}

/// The name and version of this program.
pub fn tool_info() -> ToolInfo {
    ToolInfo {
        name: "atelier".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    }
}

/// Where the partition labelled [`DATA_PARTITION_LABEL`] is mounted, if it is.
fn data_partition_mount(root: &SystemRoot) -> Option<PathBuf> {
    let link = root.path(Path::new("/dev/disk/by-label").join(DATA_PARTITION_LABEL));
    let node = std::fs::canonicalize(link).ok()?;
    let name = node.file_name()?.to_string_lossy().into_owned();
    SystemUsage::read(root)
        .mounts
        .into_iter()
        .find(|m| {
            Path::new(&m.source)
                .file_name()
                .map(|f| f.to_string_lossy() == name)
                == Some(true)
        })
        .map(|m| m.mount_point)
}
