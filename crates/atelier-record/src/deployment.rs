//! The `deployment` section: which image went onto which disk, how it was checked, and what
//! was customised.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{DeviceIdentity, Outcome, ToolInfo};

/// One operating-system image written to one target and checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DeploymentSection {
    /// The image.
    pub image: ImageInfo,
    /// The disk or card it was written to.
    pub target: DeviceIdentity,
    /// The program that wrote it.
    pub tool: ToolInfo,
    /// When writing started.
    pub started_at: DateTime<Utc>,
    /// When the deployment ended (written, verified, customised), or stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    /// Bytes written to the target.
    pub bytes_written: u64,
    /// Bytes of the image not written because they are zero or unmapped (sparse image),
    /// zeroed by the device (`BLKZEROOUT` / discard) or known to be zero already.
    pub bytes_skipped: u64,
    /// How the skipped bytes were handled: `zeroout`, `already_zero` (the target was just
    /// wiped with zeros and verified), `unmapped` (bmap: the image does not care).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped_as: Option<String>,
    /// The check of the written target.
    pub verification: DeployVerification,
    /// The customisation applied after writing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customisation: Option<Customisation>,
    /// Final verdict: `PASSED` only when the source hash matched the catalogue and the
    /// read-back matched the image.
    pub outcome: Outcome,
    /// Why it failed or stopped, in plain words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome_detail: Option<String>,
    /// Wall time from start to end, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<f64>,
    /// Image bytes (written + skipped) per second of writing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput_bytes_per_second: Option<f64>,
}

/// The image a deployment wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ImageInfo {
    /// Catalogue name, e.g. `raspios-trixie-lite-arm64`, or the file name.
    pub name: String,
    /// Version, as the catalogue gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Where it was read from: a path or a URL.
    pub source: String,
    /// Container / compression: `raw`, `xz`, `zst`, `gz`, `zip`.
    pub format: String,
    /// SHA-256 of the file as stored (compressed), when computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_sha256: Option<String>,
    /// SHA-256 of the decompressed image, as computed while writing; empty (and left out)
    /// when it was not computed because the block map's range hashes verified the image
    /// instead (see `verified_by`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub image_sha256: String,
    /// The SHA-256 the catalogue expects, and which form it is of (`file` or `image`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_sha256: Option<String>,
    /// Whether the computed hash equals the expected one (absent: nothing was expected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_matches: Option<bool>,
    /// Size of the decompressed image, in bytes.
    pub size_bytes: u64,
    /// The `.bmap` file used, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bmap: Option<String>,
    /// How the image itself was verified before the target was declared good: the checks
    /// made, joined with `+` — `bmap_range_sha256` (every mapped range against its SHA-256
    /// in the `.bmap`), `bmap_file_checksum` (the `.bmap`'s own checksum),
    /// `catalogue_bmap_sha256` (the `.bmap` file against the catalogue), `image_sha256`
    /// (the decompressed image against the catalogue), `file_sha256` (the file as
    /// published against the expected hash) — or `none`. Absent in records made before
    /// this field existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_by: Option<String>,
}

/// How the written target was checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DeployVerification {
    /// `full` (every byte of the image read back from the target, caches bypassed) or
    /// `mapped` (every range the `.bmap` maps, each against its own hash).
    pub mode: String,
    /// Bytes read back and compared.
    pub bytes_checked: u64,
    /// The read-back matched.
    pub passed: bool,
    /// Ranges that differ (byte offsets), the first few.
    #[serde(default)]
    pub mismatches: Vec<ByteRange>,
}

/// A range of bytes on the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ByteRange {
    /// First byte.
    pub offset: u64,
    /// Length in bytes.
    pub length: u64,
}

/// What was customised after writing (never the password itself).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Customisation {
    /// The format written: `cloud-init`, `firstrun.sh`, `rpi-preseed`, `golden-image`.
    pub format: String,
    /// Host name set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// User created (name only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// SSH enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh: Option<bool>,
    /// Wi-Fi network name (never the key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wifi_ssid: Option<String>,
    /// Locale, keymap and timezone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Keyboard layout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keymap: Option<String>,
    /// Time zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Other changes, one line each (e.g. "machine-id reset", "SSH host keys removed",
    /// "root partition grown to 59.6 GiB").
    #[serde(default)]
    pub changes: Vec<String>,
}
