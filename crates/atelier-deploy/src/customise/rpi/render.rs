//! The text of each format, rendered from [`RpiSettings`]. Pure functions: no I/O, so the
//! exact bytes are unit-tested and compared with golden files.
//!
//! Sources of the formats (facts, re-expressed here):
//! - cloud-init: the NoCloud datasource and the `#cloud-config` modules `cc_set_hostname`,
//!   `cc_timezone`, `cc_keyboard`, `cc_locale`, `cc_users_groups`, `cc_ssh`, `cc_runcmd`
//!   (cloudinit.readthedocs.io), network-config version 2 (netplan); the key set and layout
//!   follow Raspberry Pi Imager 2.0.11's `CustomisationGenerator::generateCloudInitUserData`
//!   / `generateCloudInitNetworkConfig`, and the `meta-data` + `ds=nocloud;i=` pair its
//!   `DownloadThread::_customizeImage`.
//! - firstrun.sh: Imager's `generateSystemdScript`, which calls the image's helpers
//!   `/usr/lib/raspberrypi-sys-mods/imager_custom` and `/usr/lib/userconf-pi/userconf` and
//!   falls back to plain Debian commands when they are absent.
//! - rpi-preseed.toml: the `rpi-preseed` package's schema (`schema/rpi-preseed.schema`:
//!   `config_version`, `[system]`, `[user]`, `[ssh]`, `[wlan]`, `[locale]`) and Imager's
//!   `generateRpiPreseedToml`.

use super::{RpiFormat, RpiJob, RpiSettings};
use crate::customise::CustomiseError;

/// What one format writes for one card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpiFiles {
    /// The format.
    pub format: RpiFormat,
    /// The host name set (pattern rendered with the job's counter).
    pub hostname: Option<String>,
    /// Files to write to the root directory of the boot partition: name, content.
    pub files: Vec<(String, Vec<u8>)>,
    /// Words to append to the kernel command line (`cmdline.txt`).
    pub cmdline_append: Vec<String>,
}

/// The `systemd.run` words of the Bookworm format (the script runs once, then reboots).
const SYSTEMD_RUN: [&str; 3] = [
    "systemd.run=/boot/firstrun.sh",
    "systemd.run_success_action=reboot",
    "systemd.unit=kernel-command-line.target",
];

/// Whether a command-line word is one this module writes (so it is replaced, not doubled,
/// when a card is customised again).
pub(crate) fn is_ours(word: &str) -> bool {
    word.starts_with("cfg80211.ieee80211_regdom=")
        || word.starts_with("ds=nocloud")
        || SYSTEMD_RUN.contains(&word)
}

/// The new `cmdline.txt`: the first line's words, minus those this module wrote before, plus
/// `append`. Returns `original` untouched when there is nothing to change. Like Raspberry Pi
/// Imager, the result has no trailing newline (the firmware reads the first line).
pub fn edit_cmdline(original: &str, append: &[String]) -> String {
    let mut lines = original.lines();
    let first = lines.next().unwrap_or("");
    let words: Vec<&str> = first.split_whitespace().collect();
    let kept: Vec<&str> = words.iter().copied().filter(|w| !is_ours(w)).collect();
    if append.is_empty() && kept.len() == words.len() {
        return original.to_string();
    }
    let mut out = kept
        .into_iter()
        .chain(append.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ");
    let rest: Vec<&str> = lines.filter(|l| !l.trim().is_empty()).collect();
    if !rest.is_empty() {
        out.push('\n');
        out.push_str(&rest.join("\n"));
        out.push('\n');
    }
    out
}

/// Renders the files and command-line words of `format` for one card.
pub fn render_rpi_files(
    format: RpiFormat,
    settings: &RpiSettings,
    job: &RpiJob,
) -> Result<RpiFiles, CustomiseError> {
    settings.validate()?;
    let hostname = settings
        .hostname
        .as_ref()
        .map(|p| p.render(job.counter))
        .transpose()?;
    let mut files = Vec::new();
    let mut cmdline_append = Vec::new();
    if settings.is_empty() {
        return Ok(RpiFiles {
            format,
            hostname,
            files,
            cmdline_append,
        });
    }
    if let Some(c) = &settings.wifi_country {
        cmdline_append.push(format!("cfg80211.ieee80211_regdom={c}"));
    }
    let h = hostname.as_deref();
    match format {
        RpiFormat::Firstrun => {
            files.push((
                "firstrun.sh".into(),
                firstrun_script(settings, h).into_bytes(),
            ));
            cmdline_append.extend(SYSTEMD_RUN.iter().map(|w| w.to_string()));
        }
        RpiFormat::CloudInit => {
            let instance_id = match &job.instance_id {
                Some(id) => {
                    let ok = !id.is_empty()
                        && id.len() <= 128
                        && id
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
                    if !ok {
                        return Err(CustomiseError::InvalidSetting {
                            setting: "instance_id",
                            value: id.clone(),
                            rule: "letters, digits, `-`, `_` or `.`, at most 128".into(),
                        });
                    }
                    id.clone()
                }
                None => format!("atelier-{}", uuid::Uuid::new_v4().simple()),
            };
            let user_data = cloud_init_user_data(settings, h);
            let network = cloud_init_network_config(settings);
            if !user_data.is_empty() || !network.is_empty() {
                files.push((
                    "meta-data".into(),
                    format!("instance-id: {instance_id}\n").into_bytes(),
                ));
                cmdline_append.push(format!("ds=nocloud;i={instance_id}"));
            }
            if !user_data.is_empty() {
                files.push((
                    "user-data".into(),
                    format!("#cloud-config\n{user_data}").into_bytes(),
                ));
            }
            if !network.is_empty() {
                files.push(("network-config".into(), network.into_bytes()));
            }
        }
        RpiFormat::RpiPreseed => {
            let toml = preseed_toml(settings, h);
            if !toml.is_empty() {
                files.push(("rpi-preseed.toml".into(), toml.into_bytes()));
            }
        }
    }
    Ok(RpiFiles {
        format,
        hostname,
        files,
        cmdline_append,
    })
}

/// Single-quotes a value for `sh` (`'` becomes `'"'"'`).
fn sh_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\"'\"'"))
}

/// Escapes a value for a YAML double-quoted scalar. Text stays UTF-8 (YAML's `\xHH` is a
/// code point, not a byte, so it must not be used for UTF-8 bytes).
fn yaml_quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML basic string as `rpi-preseed`'s parser reads it: only `\\` and `\"` escaped, on one
/// line.
fn toml_quote(value: &str) -> String {
    let cleaned: String = value.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    format!("\"{}\"", cleaned.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The `ssid=` line of a `wpa_supplicant.conf` network block: quoted, or hex when the name
/// holds a quote or a backslash.
fn wpa_ssid(ssid: &str) -> String {
    if ssid.contains(['"', '\\']) {
        let hex: String = ssid.bytes().map(|b| format!("{b:02x}")).collect();
        format!("\tssid=hex:{hex}")
    } else {
        format!("\tssid=\"{ssid}\"")
    }
}

struct Text(Vec<String>);

impl Text {
    fn new() -> Self {
        Self(Vec::new())
    }
    fn line(&mut self, l: impl Into<String>) {
        self.0.push(l.into());
    }
    fn finish(self) -> String {
        let mut s = self.0.join("\n");
        if !s.is_empty() {
            s.push('\n');
        }
        s
    }
}

const IMAGER_CUSTOM: &str = "/usr/lib/raspberrypi-sys-mods/imager_custom";
const USERCONF: &str = "/usr/lib/userconf-pi/userconf";

/// `firstrun.sh` for Bookworm-era images.
fn firstrun_script(s: &RpiSettings, hostname: Option<&str>) -> String {
    let mut t = Text::new();
    t.line("#!/bin/sh");
    t.line("");
    t.line("set +e");
    t.line("");
    if let Some(h) = hostname {
        t.line("CURRENT_HOSTNAME=$(cat /etc/hostname | tr -d \" \\t\\n\\r\")");
        t.line(format!("if [ -f {IMAGER_CUSTOM} ]; then"));
        t.line(format!("   {IMAGER_CUSTOM} set_hostname {h}"));
        t.line("else");
        t.line(format!("   echo {h} >/etc/hostname"));
        t.line(format!(
            "   sed -i \"s/127.0.1.1.*$CURRENT_HOSTNAME/127.0.1.1\\t{h}/g\" /etc/hosts"
        ));
        t.line("fi");
    }
    t.line("FIRSTUSER=$(getent passwd 1000 | cut -d: -f1)");
    t.line("FIRSTUSERHOME=$(getent passwd 1000 | cut -d: -f6)");
    let keys: &[String] = if s.ssh.enabled {
        &s.ssh.authorized_keys
    } else {
        &[]
    };
    if !keys.is_empty() {
        let quoted: Vec<String> = keys.iter().map(|k| sh_quote(k.trim())).collect();
        t.line(format!("if [ -f {IMAGER_CUSTOM} ]; then"));
        t.line(format!(
            "   {IMAGER_CUSTOM} enable_ssh -k {}",
            quoted.join(" ")
        ));
        t.line("else");
        t.line("   install -o \"$FIRSTUSER\" -m 700 -d \"$FIRSTUSERHOME/.ssh\"");
        t.line("cat > \"$FIRSTUSERHOME/.ssh/authorized_keys\" <<'EOF'");
        for k in keys {
            t.line(k.trim());
        }
        t.line("EOF");
        t.line("   chown \"$FIRSTUSER:$FIRSTUSER\" \"$FIRSTUSERHOME/.ssh/authorized_keys\"");
        t.line("   chmod 600 \"$FIRSTUSERHOME/.ssh/authorized_keys\"");
        t.line("   echo 'PasswordAuthentication no' >>/etc/ssh/sshd_config");
        t.line("   systemctl enable ssh");
        t.line("fi");
    }
    if s.ssh.enabled && s.ssh.password_authentication && keys.is_empty() {
        t.line(format!("if [ -f {IMAGER_CUSTOM} ]; then"));
        t.line(format!("   {IMAGER_CUSTOM} enable_ssh"));
        t.line("else");
        t.line("   systemctl enable ssh");
        t.line("fi");
    }
    if let Some(user) = &s.user {
        let u = user.name();
        let hash = user.password_hash().as_str();
        t.line(format!("if [ -f {USERCONF} ]; then"));
        t.line(format!("   {USERCONF} {} {}", sh_quote(u), sh_quote(hash)));
        t.line("else");
        // Imager writes the hash inside double quotes here, where the shell would expand
        // its `$` signs; single quotes keep it intact.
        t.line(format!(
            "   echo \"$FIRSTUSER:\"{} | chpasswd -e",
            sh_quote(hash)
        ));
        t.line(format!("   if [ \"$FIRSTUSER\" != \"{u}\" ]; then"));
        t.line(format!("      usermod -l \"{u}\" \"$FIRSTUSER\""));
        t.line(format!("      usermod -m -d \"/home/{u}\" \"{u}\""));
        t.line(format!("      groupmod -n \"{u}\" \"$FIRSTUSER\""));
        t.line("      if grep -q \"^autologin-user=\" /etc/lightdm/lightdm.conf ; then");
        t.line(format!(
            "         sed /etc/lightdm/lightdm.conf -i -e \"s/^autologin-user=.*/autologin-user={u}/\""
        ));
        t.line("      fi");
        t.line("      if [ -f /etc/systemd/system/getty@tty1.service.d/autologin.conf ]; then");
        t.line(format!(
            "         sed /etc/systemd/system/getty@tty1.service.d/autologin.conf -i -e \"s/$FIRSTUSER/{u}/\""
        ));
        t.line("      fi");
        t.line("      if [ -f /etc/sudoers.d/010_pi-nopasswd ]; then");
        t.line(format!(
            "         sed -i \"s/^$FIRSTUSER /{u} /\" /etc/sudoers.d/010_pi-nopasswd"
        ));
        t.line("      fi");
        t.line("   fi");
        t.line("fi");
    }
    let country = s.wifi_country.as_deref().unwrap_or("");
    if let Some(wifi) = &s.wifi {
        let psk = wifi.key().map(|k| k.to_hex()).unwrap_or_default();
        t.line(format!("if [ -f {IMAGER_CUSTOM} ] && true; then"));
        t.line(format!(
            "   {IMAGER_CUSTOM} set_wlan {}{} {} {}",
            if wifi.is_hidden() { " -h " } else { "" },
            sh_quote(wifi.ssid()),
            sh_quote(&psk),
            sh_quote(country)
        ));
        t.line("else");
        t.line("cat >/etc/wpa_supplicant/wpa_supplicant.conf <<'WPAEOF'");
        if !country.is_empty() {
            t.line(format!("country={country}"));
        }
        t.line("ctrl_interface=DIR=/var/run/wpa_supplicant GROUP=netdev");
        t.line("ap_scan=1");
        t.line("");
        t.line("update_config=1");
        t.line("network={");
        if wifi.is_hidden() {
            t.line("\tscan_ssid=1");
        }
        t.line(wpa_ssid(wifi.ssid()));
        if psk.is_empty() {
            t.line("\tkey_mgmt=NONE");
        } else {
            t.line("\tkey_mgmt=WPA-PSK SAE");
            t.line(format!("\tpsk={psk}"));
            t.line("\tieee80211w=1");
        }
        t.line("}");
        t.line("WPAEOF");
        t.line("   chmod 600 /etc/wpa_supplicant/wpa_supplicant.conf");
        t.line("   rfkill unblock wifi");
        t.line("   for filename in /var/lib/systemd/rfkill/*:wlan ; do");
        t.line("       echo 0 > $filename");
        t.line("   done");
        t.line("fi");
    } else if !country.is_empty() {
        t.line("rfkill unblock wifi");
        t.line("for filename in /var/lib/systemd/rfkill/*:wlan ; do");
        t.line("  echo 0 > $filename");
        t.line("done");
    }
    if s.keymap.is_some() || s.timezone.is_some() {
        t.line(format!("if [ -f {IMAGER_CUSTOM} ]; then"));
        if let Some(k) = &s.keymap {
            t.line(format!("   {IMAGER_CUSTOM} set_keymap {}", sh_quote(k)));
        }
        if let Some(tz) = &s.timezone {
            t.line(format!("   {IMAGER_CUSTOM} set_timezone {}", sh_quote(tz)));
        }
        t.line("else");
        if let Some(tz) = &s.timezone {
            t.line("   rm -f /etc/localtime");
            t.line(format!("   echo \"{tz}\" >/etc/timezone"));
            t.line("   dpkg-reconfigure -f noninteractive tzdata");
        }
        if let Some(k) = &s.keymap {
            t.line("cat >/etc/default/keyboard <<'KBEOF'");
            t.line("XKBMODEL=\"pc105\"");
            t.line(format!("XKBLAYOUT=\"{k}\""));
            t.line("XKBVARIANT=\"\"");
            t.line("XKBOPTIONS=\"\"");
            t.line("");
            t.line("KBEOF");
            t.line("   dpkg-reconfigure -f noninteractive keyboard-configuration");
        }
        t.line("fi");
    }
    if let Some(l) = &s.locale {
        // Not in Raspberry Pi Imager: enable and select the locale the Debian way.
        let charset = l.split_once('.').map(|(_, c)| c).unwrap_or("UTF-8");
        let charset = charset.split_once('@').map(|(c, _)| c).unwrap_or(charset);
        t.line("if [ -f /etc/locale.gen ]; then");
        t.line(format!(
            "   sed -i 's/^# *\\({l} {charset}\\)$/\\1/' /etc/locale.gen"
        ));
        t.line("   locale-gen");
        t.line("fi");
        t.line(format!("update-locale LANG={l}"));
    }
    t.line("rm -f /boot/firstrun.sh");
    t.line("sed -i 's| systemd.run.*||g' /boot/cmdline.txt");
    t.line("exit 0");
    t.finish()
}

/// cloud-init `user-data` body (without the `#cloud-config` line); empty when there is
/// nothing to set.
fn cloud_init_user_data(s: &RpiSettings, hostname: Option<&str>) -> String {
    let mut t = Text::new();
    if let Some(h) = hostname {
        t.line(format!("hostname: {h}"));
        t.line("manage_etc_hosts: true");
        t.line("packages:");
        t.line("- avahi-daemon");
        t.line("apt:");
        t.line("  preserve_sources_list: true");
        t.line("  conf: |");
        t.line("    Acquire {");
        t.line("      Check-Date \"false\";");
        t.line("    };");
    }
    if let Some(tz) = &s.timezone {
        t.line(format!("timezone: {tz}"));
    }
    if let Some(k) = &s.keymap {
        t.line("keyboard:");
        t.line("  model: pc105");
        t.line(format!("  layout: \"{k}\""));
    }
    if let Some(l) = &s.locale {
        // Not in Raspberry Pi Imager: cloud-init's cc_locale.
        t.line(format!("locale: {l}"));
    }
    let keys: &[String] = if s.ssh.enabled {
        &s.ssh.authorized_keys
    } else {
        &[]
    };
    if let Some(user) = &s.user {
        t.line("user:");
        t.line(format!("  name: {}", user.name()));
        t.line("  shell: /bin/bash");
        t.line("  lock_passwd: false");
        t.line(format!(
            "  passwd: {}",
            yaml_quote(user.password_hash().as_str())
        ));
        if !keys.is_empty() {
            t.line("  ssh_authorized_keys:");
            for k in keys {
                t.line(format!("    - {}", yaml_quote(k.trim())));
            }
        }
        // An explicit null: the distribution's default user would otherwise bring its
        // passwordless sudo rule along.
        t.line("  sudo: null");
    }
    if s.ssh.enabled {
        if s.ssh.password_authentication {
            t.line("ssh_pwauth: true");
        } else if !keys.is_empty() {
            t.line("ssh_pwauth: false");
        }
    }
    let unblock_only = s.wifi.is_none() && s.wifi_country.is_some();
    if s.ssh.enabled || unblock_only {
        t.line("runcmd:");
        if s.ssh.enabled {
            t.line("  - [ systemctl, enable, --now, ssh ]");
        }
        if unblock_only {
            t.line("  - [ rfkill, unblock, wifi ]");
            t.line(
                "  - [ sh, -c, \"for f in /var/lib/systemd/rfkill/*:wlan; do echo 0 > \\\"$f\\\"; done\" ]",
            );
        }
    }
    let body = t.finish();
    if body.is_empty() {
        body
    } else {
        format!("manage_resolv_conf: false\n\n{body}")
    }
}

/// cloud-init `network-config` (netplan version 2); empty without a Wi-Fi network.
fn cloud_init_network_config(s: &RpiSettings) -> String {
    let Some(wifi) = &s.wifi else {
        return String::new();
    };
    let mut t = Text::new();
    t.line("network:");
    t.line("  version: 2");
    t.line("  ethernets:");
    t.line("    eth0:");
    t.line("      dhcp4: true");
    t.line("      dhcp6: true");
    t.line("      optional: true");
    t.line("  wifis:");
    t.line("    wlan0:");
    t.line("      dhcp4: true");
    if let Some(c) = &s.wifi_country {
        t.line(format!("      regulatory-domain: \"{c}\""));
    }
    t.line("      access-points:");
    t.line(format!("        {}:", yaml_quote(wifi.ssid())));
    if wifi.is_hidden() {
        t.line("          hidden: true");
    }
    match wifi.key() {
        Some(k) => t.line(format!("          password: \"{}\"", k.to_hex())),
        None => {
            t.line("          auth:");
            t.line("            key-management: none");
        }
    }
    t.line("      optional: true");
    t.finish()
}

/// `rpi-preseed.toml`; empty when there is nothing to set.
fn preseed_toml(s: &RpiSettings, hostname: Option<&str>) -> String {
    let mut t = Text::new();
    if let Some(h) = hostname {
        t.line("[system]");
        t.line(format!("hostname = {}", toml_quote(h)));
        t.line("");
    }
    if let Some(user) = &s.user {
        t.line("[user]");
        t.line(format!("name = {}", toml_quote(user.name())));
        t.line(format!(
            "password = {}",
            toml_quote(user.password_hash().as_str())
        ));
        t.line("password_encrypted = true");
        t.line("groups = [\"sudo\"]");
        t.line("");
    }
    if s.ssh.enabled {
        t.line("[ssh]");
        t.line("enabled = true");
        t.line(format!(
            "password_authentication = {}",
            s.ssh.password_authentication
        ));
        if !s.ssh.authorized_keys.is_empty() {
            t.line("authorized_keys = [");
            for k in &s.ssh.authorized_keys {
                t.line(format!("  {},", toml_quote(k.trim())));
            }
            t.line("]");
        }
        t.line("");
    }
    if let Some(wifi) = &s.wifi {
        t.line("[wlan]");
        t.line(format!("ssid = {}", toml_quote(wifi.ssid())));
        if let Some(k) = wifi.key() {
            t.line(format!("password = {}", toml_quote(&k.to_hex())));
            t.line("password_encrypted = true");
        }
        t.line(format!("hidden = {}", wifi.is_hidden()));
        if let Some(c) = &s.wifi_country {
            t.line(format!("country = {}", toml_quote(c)));
        }
        t.line("");
    }
    if s.keymap.is_some() || s.timezone.is_some() || s.locale.is_some() {
        t.line("[locale]");
        if let Some(k) = &s.keymap {
            t.line(format!("keymap = {}", toml_quote(k)));
        }
        if let Some(tz) = &s.timezone {
            t.line(format!("timezone = {}", toml_quote(tz)));
        }
        if let Some(l) = &s.locale {
            // Not written by Raspberry Pi Imager; part of the rpi-preseed schema.
            t.line(format!("locales = [{}]", toml_quote(l)));
            t.line(format!("lang = {}", toml_quote(l)));
        }
        t.line("");
    }
    if t.0.is_empty() {
        return String::new();
    }
    let mut out = format!("config_version = \"1.0\"\n\n{}", t.finish());
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::customise::rpi::{HostnamePattern, WifiNetwork};

    #[test]
    fn cmdline_keeps_every_word_and_replaces_ours() {
        let original = "console=serial0,115200 root=PARTUUID=abcd-02 rootwait resize\n";
        let append = vec![
            "cfg80211.ieee80211_regdom=FR".to_string(),
            "ds=nocloud;i=x".into(),
        ];
        let once = edit_cmdline(original, &append);
        assert_eq!(
            once,
            "console=serial0,115200 root=PARTUUID=abcd-02 rootwait resize \
             cfg80211.ieee80211_regdom=FR ds=nocloud;i=x"
        );
        let twice = edit_cmdline(&once, &append);
        assert_eq!(twice, once, "customising again must not double the words");
        assert_eq!(edit_cmdline(original, &[]), original);
        let cleaned = edit_cmdline(&once, &[]);
        assert_eq!(
            cleaned,
            "console=serial0,115200 root=PARTUUID=abcd-02 rootwait resize"
        );
    }

    #[test]
    fn quoting_resists_injection() {
        assert_eq!(sh_quote("a'b"), "'a'\"'\"'b'");
        assert_eq!(yaml_quote("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
        assert_eq!(yaml_quote("café"), "\"café\"");
        assert_eq!(toml_quote("a\"b\\c\nd"), "\"a\\\"b\\\\cd\"");
        assert_eq!(wpa_ssid("my\"net"), "\tssid=hex:6d79226e6574");
    }

    #[test]
    fn empty_settings_write_nothing() {
        let s = RpiSettings {
            wifi_country: None,
            locale: None,
            keymap: None,
            timezone: None,
            ..RpiSettings::default()
        };
        for f in [
            RpiFormat::CloudInit,
            RpiFormat::Firstrun,
            RpiFormat::RpiPreseed,
        ] {
            let r = render_rpi_files(f, &s, &RpiJob::default()).unwrap();
            assert!(r.files.is_empty() && r.cmdline_append.is_empty(), "{f}");
        }
    }

    #[test]
    fn open_hidden_network() {
        let s = RpiSettings {
            hostname: Some(HostnamePattern::new("pi-{n}").unwrap()),
            wifi: Some(WifiNetwork::open("Café libre").unwrap().hidden(true)),
            ..RpiSettings::default()
        };
        let net = cloud_init_network_config(&s);
        assert!(net.contains("        \"Café libre\":\n          hidden: true\n          auth:\n            key-management: none\n"), "{net}");
        let sh = firstrun_script(&s, Some("pi-1"));
        assert!(sh.contains("set_wlan  -h 'Café libre' '' 'FR'"), "{sh}");
        assert!(
            sh.contains("\tscan_ssid=1\n\tssid=\"Café libre\"\n\tkey_mgmt=NONE\n"),
            "{sh}"
        );
        let toml = preseed_toml(&s, Some("pi-1"));
        assert!(
            toml.contains("[wlan]\nssid = \"Café libre\"\nhidden = true\ncountry = \"FR\"\n"),
            "{toml}"
        );
    }
}
