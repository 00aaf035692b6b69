//! Raspberry Pi OS first-boot customisation, written to the FAT boot partition of a written
//! card without mounting it.
//!
//! Three formats exist, all read by the image at first boot from its boot partition
//! (partition 1, FAT32, mounted at `/boot/firmware` on Bookworm and later):
//!
//! | format | images | files written | `cmdline.txt` |
//! |---|---|---|---|
//! | [`RpiFormat::CloudInit`] | Trixie (from 2025-10) | `user-data`, `network-config`, `meta-data` | `ds=nocloud;i=<instance-id>` appended |
//! | [`RpiFormat::Firstrun`] | Bookworm and older | `firstrun.sh` | `systemd.run=/boot/firstrun.sh systemd.run_success_action=reboot systemd.unit=kernel-command-line.target` appended |
//! | [`RpiFormat::RpiPreseed`] | images shipping the `rpi-preseed` package | `rpi-preseed.toml` | nothing (its units start when the file exists) |
//!
//! With a Wi-Fi country, `cfg80211.ieee80211_regdom=<CC>` is appended too, before the format's
//! own words. The contents follow Raspberry Pi Imager 2.0.11 (`src/customization_generator.cpp`,
//! `src/downloadthread.cpp`); the few deliberate differences (locale support, a shell-quoting
//! fix, UTF-8 SSIDs in YAML) are listed in `docs/deploy-customisation.md`.
//!
//! The first-boot root expansion is left alone: `cmdline.txt` keeps every word it had
//! (`resize` on Trixie, `init=/usr/lib/raspberrypi-sys-mods/firstboot` on Bookworm), only
//! words this module adds are replaced, and the result is read back and checked after the
//! file system is closed and flushed.

mod render;

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use atelier_record::Customisation;

pub use render::{RpiFiles, edit_cmdline, render_rpi_files};

use super::fat::FatVolume;
use super::partition::{PartitionTable, read_partition_table};
use super::secrets::{PasswordHash, PasswordScheme, WifiPmk, hash_password, wifi_pmk};
use super::tools::Tool;
use super::{CustomiseError, tools};

/// The first-boot customisation format of a Raspberry Pi OS image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RpiFormat {
    /// cloud-init NoCloud seed on the boot partition (Raspberry Pi OS Trixie).
    CloudInit,
    /// `firstrun.sh` run by systemd from the kernel command line (Bookworm and older).
    Firstrun,
    /// `rpi-preseed.toml` read by the `rpi-preseed` package (newest images).
    RpiPreseed,
}

impl RpiFormat {
    /// The name used in the catalogue and the record: `cloud-init`, `firstrun.sh`,
    /// `rpi-preseed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CloudInit => "cloud-init",
            Self::Firstrun => "firstrun.sh",
            Self::RpiPreseed => "rpi-preseed",
        }
    }
}

impl fmt::Display for RpiFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RpiFormat {
    type Err = CustomiseError;

    /// Accepts the record names and Raspberry Pi Imager's `init_format` values
    /// (`cloudinit`, `cloudinit-rpi`, `systemd`, `rpi-preseed`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cloud-init" | "cloudinit" | "cloudinit-rpi" => Ok(Self::CloudInit),
            "firstrun.sh" | "firstrun" | "systemd" => Ok(Self::Firstrun),
            "rpi-preseed" | "preseed" => Ok(Self::RpiPreseed),
            _ => Err(CustomiseError::InvalidSetting {
                setting: "format",
                value: s.to_string(),
                rule: "one of cloud-init, firstrun.sh, rpi-preseed".into(),
            }),
        }
    }
}

/// A host name with an optional counter, for batches: `atelier-{n:03}` gives `atelier-001`,
/// `atelier-002`… `{n}` is the counter as is, `{n:0W}` zero-padded to W digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostnamePattern(String);

impl HostnamePattern {
    /// Checks the pattern (placeholders, and that it gives valid host names).
    pub fn new(pattern: &str) -> Result<Self, CustomiseError> {
        let p = Self(pattern.to_string());
        p.render(1)?;
        Ok(p)
    }

    /// The pattern as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The host name for counter `n`.
    pub fn render(&self, n: u32) -> Result<String, CustomiseError> {
        let bad = |rule: &str| CustomiseError::InvalidSetting {
            setting: "hostname",
            value: self.0.clone(),
            rule: rule.to_string(),
        };
        let mut out = String::new();
        let mut rest = self.0.as_str();
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let close = rest[open..]
                .find('}')
                .ok_or_else(|| bad("`{` without `}`: use {n} or {n:03}"))?
                + open;
            let spec = &rest[open + 1..close];
            match spec {
                "n" => out.push_str(&n.to_string()),
                _ => {
                    let width = spec
                        .strip_prefix("n:0")
                        .and_then(|w| w.parse::<usize>().ok())
                        .filter(|w| (1..=9).contains(w))
                        .ok_or_else(|| bad("placeholders are {n} or {n:0W} with W from 1 to 9"))?;
                    out.push_str(&format!("{n:0width$}"));
                }
            }
            rest = &rest[close + 1..];
        }
        if rest.contains('}') {
            return Err(bad("`}` without `{`"));
        }
        out.push_str(rest);
        check_hostname(&out).map_err(|rule| bad(&rule))?;
        Ok(out)
    }
}

fn check_hostname(name: &str) -> Result<(), String> {
    let ok = (1..=63).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "a host name ({name:?}) is 1 to 63 letters, digits or hyphens, not starting or \
             ending with a hyphen"
        ))
    }
}

/// The account set up at first boot: the image's first user (UID 1000) renamed and given
/// this password. Only the hash is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAccount {
    name: String,
    password: PasswordHash,
}

impl UserAccount {
    /// An account named `name` whose clear `password` is hashed now, with a random salt.
    pub fn new(name: &str, password: &str, scheme: PasswordScheme) -> Result<Self, CustomiseError> {
        check_user_name(name)?;
        Ok(Self {
            name: name.to_string(),
            password: hash_password(password, scheme)?,
        })
    }

    /// An account with an already computed hash.
    pub fn with_hash(name: &str, password: PasswordHash) -> Result<Self, CustomiseError> {
        check_user_name(name)?;
        Ok(Self {
            name: name.to_string(),
            password,
        })
    }

    /// User name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The crypt(3) password hash.
    pub fn password_hash(&self) -> &PasswordHash {
        &self.password
    }
}

fn check_user_name(name: &str) -> Result<(), CustomiseError> {
    let mut bytes = name.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b == b'_');
    let ok = first_ok
        && name.len() <= 32
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        && name != "root";
    if ok {
        Ok(())
    } else {
        Err(CustomiseError::InvalidSetting {
            setting: "user.name",
            value: name.to_string(),
            rule: "1 to 32 lower-case letters, digits, `_` or `-`, starting with a letter or \
                   `_`, and not root"
                .into(),
        })
    }
}

/// SSH server settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshSettings {
    /// Start the SSH server at boot.
    pub enabled: bool,
    /// Allow password logins (otherwise keys only, when keys are given).
    pub password_authentication: bool,
    /// Public keys allowed to log in as the user (`authorized_keys` lines).
    pub authorized_keys: Vec<String>,
}

/// A Wi-Fi network to join, with its pre-shared key (never the passphrase).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WifiNetwork {
    ssid: String,
    key: Option<WifiPmk>,
    hidden: bool,
}

impl WifiNetwork {
    /// A WPA2/WPA3-personal network. `passphrase` is 8 to 63 characters (the key is derived
    /// now) or the 64-hex-digit key itself.
    pub fn new(ssid: &str, passphrase: &str) -> Result<Self, CustomiseError> {
        check_ssid(ssid)?;
        let key = if passphrase.len() == 64 && passphrase.bytes().all(|b| b.is_ascii_hexdigit()) {
            WifiPmk::from_hex(passphrase)?
        } else {
            wifi_pmk(ssid.as_bytes(), passphrase)?
        };
        Ok(Self {
            ssid: ssid.to_string(),
            key: Some(key),
            hidden: false,
        })
    }

    /// A network with an already derived key.
    pub fn with_key(ssid: &str, key: WifiPmk) -> Result<Self, CustomiseError> {
        check_ssid(ssid)?;
        Ok(Self {
            ssid: ssid.to_string(),
            key: Some(key),
            hidden: false,
        })
    }

    /// An open network (no key).
    pub fn open(ssid: &str) -> Result<Self, CustomiseError> {
        check_ssid(ssid)?;
        Ok(Self {
            ssid: ssid.to_string(),
            key: None,
            hidden: false,
        })
    }

    /// Marks the network as hidden (not broadcasting its SSID).
    pub fn hidden(mut self, hidden: bool) -> Self {
        self.hidden = hidden;
        self
    }

    /// The network name.
    pub fn ssid(&self) -> &str {
        &self.ssid
    }

    /// Whether the network is hidden.
    pub fn is_hidden(&self) -> bool {
        self.hidden
    }

    /// The pre-shared key, for a protected network.
    pub fn key(&self) -> Option<&WifiPmk> {
        self.key.as_ref()
    }
}

fn check_ssid(ssid: &str) -> Result<(), CustomiseError> {
    if ssid.is_empty() || ssid.len() > 32 || ssid.chars().any(char::is_control) {
        return Err(CustomiseError::InvalidSetting {
            setting: "wifi.ssid",
            value: ssid.to_string(),
            rule: "an SSID is 1 to 32 bytes of text without control characters".into(),
        });
    }
    Ok(())
}

/// What to set on a Raspberry Pi OS card. [`Default`] gives the French workshop defaults:
/// keyboard `fr`, time zone `Europe/Paris`, Wi-Fi country `FR`, locale `fr_FR.UTF-8`, SSH off,
/// no user, no host name, no Wi-Fi.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpiSettings {
    /// Host name pattern (`atelier-{n:03}`).
    pub hostname: Option<HostnamePattern>,
    /// First user's name and password.
    pub user: Option<UserAccount>,
    /// SSH server.
    pub ssh: SshSettings,
    /// Wi-Fi network.
    pub wifi: Option<WifiNetwork>,
    /// Wi-Fi regulatory country (ISO 3166-1 alpha-2, upper case). Also unblocks Wi-Fi.
    pub wifi_country: Option<String>,
    /// System locale (`fr_FR.UTF-8`). Raspberry Pi Imager does not set it; we do.
    pub locale: Option<String>,
    /// Keyboard layout (XKB layout name, e.g. `fr`).
    pub keymap: Option<String>,
    /// Time zone (tz database name, e.g. `Europe/Paris`).
    pub timezone: Option<String>,
}

impl Default for RpiSettings {
    fn default() -> Self {
        Self {
            hostname: None,
            user: None,
            ssh: SshSettings::default(),
            wifi: None,
            wifi_country: Some("FR".into()),
            locale: Some("fr_FR.UTF-8".into()),
            keymap: Some("fr".into()),
            timezone: Some("Europe/Paris".into()),
        }
    }
}

impl RpiSettings {
    /// Checks every setting; the error names the first wrong one.
    pub fn validate(&self) -> Result<(), CustomiseError> {
        let bad = |setting: &'static str, value: &str, rule: &str| CustomiseError::InvalidSetting {
            setting,
            value: value.to_string(),
            rule: rule.to_string(),
        };
        if let Some(c) = &self.wifi_country
            && (c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()))
        {
            return Err(bad(
                "wifi_country",
                c,
                "two upper-case letters (ISO 3166-1 alpha-2), e.g. FR",
            ));
        }
        if let Some(k) = &self.keymap {
            let ok = (1..=32).contains(&k.len())
                && k.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                });
            if !ok {
                return Err(bad(
                    "keymap",
                    k,
                    "an XKB layout name such as fr, gb, us, de",
                ));
            }
        }
        if let Some(tz) = &self.timezone {
            let ok = (1..=64).contains(&tz.len())
                && tz.split('/').all(|part| {
                    !part.is_empty()
                        && part
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"_+-".contains(&b))
                });
            if !ok {
                return Err(bad(
                    "timezone",
                    tz,
                    "a tz database name such as Europe/Paris",
                ));
            }
        }
        if let Some(l) = &self.locale {
            let (name, modifier) = l.split_once('@').unwrap_or((l, ""));
            let ok = name.strip_suffix(".UTF-8").is_some_and(|base| {
                base.split_once('_').is_some_and(|(lang, terr)| {
                    (2..=3).contains(&lang.len())
                        && lang.bytes().all(|b| b.is_ascii_lowercase())
                        && terr.len() == 2
                        && terr.bytes().all(|b| b.is_ascii_uppercase())
                })
            }) && modifier.bytes().all(|b| b.is_ascii_lowercase());
            if !ok {
                return Err(bad("locale", l, "a UTF-8 locale such as fr_FR.UTF-8"));
            }
        }
        for key in &self.ssh.authorized_keys {
            let fields = key.split_whitespace().count();
            if fields < 2 || key.chars().any(char::is_control) || key.len() > 16 * 1024 {
                return Err(bad(
                    "ssh.authorized_keys",
                    key,
                    "one public key per entry, on one line: `ssh-ed25519 AAAA… comment`",
                ));
            }
        }
        if self.ssh.enabled && !self.ssh.authorized_keys.is_empty() && self.user.is_none() {
            return Err(bad(
                "ssh.authorized_keys",
                "",
                "keys need a user to log in as: set user.name and its password",
            ));
        }
        if self.wifi.is_some() && self.wifi_country.is_none() {
            return Err(bad(
                "wifi_country",
                "",
                "Raspberry Pi OS keeps Wi-Fi blocked until its country is set: give one",
            ));
        }
        Ok(())
    }

    /// Whether anything at all is to be customised.
    pub fn is_empty(&self) -> bool {
        self.hostname.is_none()
            && self.user.is_none()
            && !self.ssh.enabled
            && self.wifi.is_none()
            && self.wifi_country.is_none()
            && self.locale.is_none()
            && self.keymap.is_none()
            && self.timezone.is_none()
    }
}

/// Per-card values of one customisation run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpiJob {
    /// Counter for the host name pattern (1 for the first card of a batch).
    pub counter: u32,
    /// The format, when the catalogue says it; `None`: detect it from the card.
    pub format: Option<RpiFormat>,
    /// cloud-init instance id; `None`: a fresh `atelier-<uuid>` (tests fix it).
    pub instance_id: Option<String>,
}

impl Default for RpiJob {
    fn default() -> Self {
        Self {
            counter: 1,
            format: None,
            instance_id: None,
        }
    }
}

/// The first partition, which must be FAT: the Raspberry Pi boot partition.
fn boot_partition<'t>(
    table: &'t PartitionTable,
    target: &Path,
) -> Result<&'t super::Partition, CustomiseError> {
    table.get(1).ok_or_else(|| CustomiseError::Unsupported {
        target: target.to_path_buf(),
        reason: "there is no partition 1 (the Raspberry Pi boot partition): this is not a \
                 Raspberry Pi OS image; use the golden-image customisation instead"
            .into(),
    })
}

/// Files on the boot partition that say which format an image expects.
const CLOUD_INIT_SEEDS: [&str; 3] = ["user-data", "meta-data", "network-config"];
/// Where the `rpi-preseed` package installs its program (its Makefile's `LIBDIR`).
const PRESEED_PROGRAM: &str = "/usr/lib/rpi-preseed/rpi-preseed";

/// Detects the customisation format a written Raspberry Pi OS image expects:
/// 1. `rpi-preseed.toml` on the boot partition, or the `rpi-preseed` program in the root file
///    system (partition 2, looked up read-only with `debugfs` when it is installed) →
///    [`RpiFormat::RpiPreseed`];
/// 2. a cloud-init seed (`user-data`, `meta-data` or `network-config`) on the boot partition,
///    as Trixie images ship → [`RpiFormat::CloudInit`];
/// 3. otherwise, with a `cmdline.txt` → [`RpiFormat::Firstrun`].
pub fn detect_rpi_format(target: &Path) -> Result<RpiFormat, CustomiseError> {
    let table = read_partition_table(target)?;
    let boot = boot_partition(&table, target)?;
    let volume = FatVolume::open(target, boot, false)?;
    detect_on(target, &table, &volume)
}

fn detect_on(
    target: &Path,
    table: &PartitionTable,
    volume: &FatVolume,
) -> Result<RpiFormat, CustomiseError> {
    if !volume.exists("cmdline.txt")? {
        return Err(CustomiseError::Unsupported {
            target: target.to_path_buf(),
            reason: "the boot partition has no cmdline.txt: this is not a Raspberry Pi OS \
                     image (or a very old one); give the format explicitly or use the \
                     golden-image customisation"
                .into(),
        });
    }
    if volume.exists("rpi-preseed.toml")? || root_has_preseed(target, table) {
        return Ok(RpiFormat::RpiPreseed);
    }
    for seed in CLOUD_INIT_SEEDS {
        if volume.exists(seed)? {
            return Ok(RpiFormat::CloudInit);
        }
    }
    Ok(RpiFormat::Firstrun)
}

const DEBUGFS: Tool = Tool {
    name: "debugfs",
    package: "e2fsprogs",
};

/// Whether partition 2 is ext2/3/4 and holds the `rpi-preseed` program. Best effort: any
/// failure (no debugfs, no such partition) answers false.
fn root_has_preseed(target: &Path, table: &PartitionTable) -> bool {
    let Some(root) = table.get(2) else {
        return false;
    };
    let spec = format!("{}?offset={}", target.display(), root.start);
    let request = format!("stat {PRESEED_PROGRAM}");
    match DEBUGFS.run(&tools::args(&[&"-R", &request, &spec]), None, &[0]) {
        Ok(out) => String::from_utf8_lossy(&out.stdout).contains("Inode:"),
        Err(_) => false,
    }
}

/// Customises the Raspberry Pi OS card (or image file) `target`: renders the files of the
/// format (detected unless `job.format` says it), writes them and the new `cmdline.txt` to
/// the boot partition, closes and flushes it, then reads everything back and compares.
/// Returns what the record keeps (no secret).
pub fn customise_raspberry_pi(
    target: &Path,
    settings: &RpiSettings,
    job: &RpiJob,
) -> Result<Customisation, CustomiseError> {
    settings.validate()?;
    tools::ensure_not_mounted(target)?;
    let table = read_partition_table(target)?;
    let boot = boot_partition(&table, target)?.clone();
    let volume = FatVolume::open(target, &boot, true)?;
    let format = match job.format {
        Some(f) => f,
        None => detect_on(target, &table, &volume)?,
    };
    let rendered = render_rpi_files(format, settings, job)?;
    let original = volume
        .read("cmdline.txt")?
        .ok_or_else(|| CustomiseError::Unsupported {
            target: target.to_path_buf(),
            reason: "the boot partition has no cmdline.txt: this is not a Raspberry Pi OS \
                     image; use the golden-image customisation instead"
                .into(),
        })?;
    let original = String::from_utf8(original).map_err(|_| CustomiseError::Unsupported {
        target: target.to_path_buf(),
        reason: "cmdline.txt is not text: the boot partition is damaged; write the image again"
            .into(),
    })?;
    let cmdline = edit_cmdline(&original, &rendered.cmdline_append);

    let mut written: Vec<(String, Vec<u8>)> = rendered.files.clone();
    if cmdline != original {
        written.push(("cmdline.txt".into(), cmdline.clone().into_bytes()));
    }
    for (name, data) in &written {
        volume.write(name, data)?;
    }
    volume.close()?;

    // Read back from a fresh open, after the flush.
    let volume = FatVolume::open(target, &boot, false)?;
    for (name, data) in &written {
        let back = volume.read(name)?;
        if back.as_deref() != Some(data.as_slice()) {
            return Err(CustomiseError::Verification {
                target: target.to_path_buf(),
                what: format!("{name} on the boot partition"),
                reason: match back {
                    None => "the file is missing".into(),
                    Some(b) => format!("{} bytes read, {} written", b.len(), data.len()),
                },
            });
        }
    }
    check_cmdline_kept(target, &original, &cmdline)?;
    drop(volume);

    let mut changes: Vec<String> = written
        .iter()
        .map(|(name, data)| format!("boot partition: wrote {name} ({} bytes)", data.len()))
        .collect();
    if !rendered.cmdline_append.is_empty() {
        changes.push(format!(
            "cmdline.txt: appended {}",
            rendered.cmdline_append.join(" ")
        ));
    }
    if let Some(c) = &settings.wifi_country {
        changes.push(format!("Wi-Fi country {c}"));
    }
    if settings.ssh.enabled {
        changes.push(format!(
            "SSH: {} authorized key(s), password logins {}",
            settings.ssh.authorized_keys.len(),
            if settings.ssh.password_authentication {
                "allowed"
            } else {
                "refused"
            }
        ));
    }
    Ok(Customisation {
        format: format.as_str().to_string(),
        hostname: rendered.hostname.clone(),
        user: settings.user.as_ref().map(|u| u.name().to_string()),
        ssh: Some(settings.ssh.enabled),
        wifi_ssid: settings.wifi.as_ref().map(|w| w.ssid().to_string()),
        locale: settings.locale.clone(),
        keymap: settings.keymap.clone(),
        timezone: settings.timezone.clone(),
        changes,
    })
}

/// Every word of the original command line is still there (root expansion, root device…).
fn check_cmdline_kept(target: &Path, original: &str, edited: &str) -> Result<(), CustomiseError> {
    let first = |s: &str| -> Vec<String> {
        s.lines()
            .next()
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    let kept = first(edited);
    for word in first(original) {
        if !render::is_ours(&word) && !kept.contains(&word) {
            return Err(CustomiseError::Verification {
                target: target.to_path_buf(),
                what: "cmdline.txt".into(),
                reason: format!("the word `{word}` of the original command line was lost"),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostname_patterns() {
        let p = HostnamePattern::new("atelier-{n:03}").unwrap();
        assert_eq!(p.render(7).unwrap(), "atelier-007");
        assert_eq!(p.render(1234).unwrap(), "atelier-1234");
        assert_eq!(
            HostnamePattern::new("pi{n}").unwrap().render(12).unwrap(),
            "pi12"
        );
        assert_eq!(
            HostnamePattern::new("plain").unwrap().render(5).unwrap(),
            "plain"
        );
        for bad in [
            "", "-x", "x-", "a b", "a_{n}", "{m}", "{n:3}", "x{n", "x}", "é{n}",
        ] {
            assert!(HostnamePattern::new(bad).is_err(), "{bad:?} accepted");
        }
        assert!(HostnamePattern::new(&"a".repeat(64)).is_err());
    }

    #[test]
    fn settings_validation_names_the_setting() {
        let mut s = RpiSettings::default();
        s.validate().unwrap();
        s.timezone = Some("Europe/Paris; rm -rf /".into());
        let e = s.validate().unwrap_err().to_string();
        assert!(e.contains("timezone"), "{e}");
        let mut s = RpiSettings {
            locale: Some("fr_FR".into()),
            ..RpiSettings::default()
        };
        assert!(s.validate().is_err());
        s.locale = Some("ca_ES.UTF-8@valencia".into());
        s.validate().unwrap();
        let s = RpiSettings {
            wifi_country: Some("fr".into()),
            ..RpiSettings::default()
        };
        assert!(s.validate().is_err());
        let mut s = RpiSettings::default();
        s.ssh.enabled = true;
        s.ssh.authorized_keys = vec!["ssh-ed25519 AAAA test".into()];
        assert!(s.validate().is_err(), "keys without a user");
        assert!(
            UserAccount::with_hash("root", PasswordHash::from_crypt("$6$a$b").unwrap()).is_err()
        );
        assert!(
            UserAccount::with_hash("Bob", PasswordHash::from_crypt("$6$a$b").unwrap()).is_err()
        );
        assert!(
            UserAccount::with_hash("o'neil", PasswordHash::from_crypt("$6$a$b").unwrap()).is_err()
        );
    }

    #[test]
    fn format_names_round_trip() {
        for f in [
            RpiFormat::CloudInit,
            RpiFormat::Firstrun,
            RpiFormat::RpiPreseed,
        ] {
            assert_eq!(f.as_str().parse::<RpiFormat>().unwrap(), f);
        }
        assert_eq!("systemd".parse::<RpiFormat>().unwrap(), RpiFormat::Firstrun);
        assert_eq!(
            "cloudinit-rpi".parse::<RpiFormat>().unwrap(),
            RpiFormat::CloudInit
        );
        assert!("none".parse::<RpiFormat>().is_err());
    }
}
