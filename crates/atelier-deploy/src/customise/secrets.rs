//! Secrets in the forms the targets store: password hashes and Wi-Fi pre-shared keys.
//!
//! - Password hashes are crypt(3) strings as `/etc/shadow` and `chpasswd -e` take them:
//!   **yescrypt** (`$y$`, the default of Debian since 11 and of Raspberry Pi OS images
//!   released from 2023, parameters `j9T` = N 4096, r 32, p 1 — libxcrypt's default cost) or
//!   **sha512crypt** (`$6$rounds=5000$`, Ulrich Drepper's "Unix crypt using SHA-256 and
//!   SHA-512" specification) for older systems. Both come from the RustCrypto
//!   `password-hashes` crates; the salt is 16 random bytes unless a test injects one.
//! - The Wi-Fi key is the WPA/WPA2 pre-shared key derived from the passphrase as IEEE
//!   802.11i-2004 annex H.4 defines it: PBKDF2-HMAC-SHA1(passphrase, SSID octets, 4096
//!   iterations, 32 bytes), written as 64 hex digits — the form `wpa_supplicant`'s `psk=`,
//!   netplan's `password:` and Raspberry Pi Imager all use, so the passphrase itself never
//!   reaches the card.
//!
//! Clear secrets are taken as `&str`, used and dropped; the types here hold only derived
//! values and their `Debug` output never shows them.

use std::fmt;

// Both hash crates implement this trait of the `password-hash` crate.
use yescrypt::PasswordHasher;

use super::CustomiseError;

/// Which crypt(3) scheme to hash a password with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PasswordScheme {
    /// yescrypt (`$y$`): Debian 11+, Raspberry Pi OS from 2023 (Bookworm, Trixie).
    #[default]
    Yescrypt,
    /// sha512crypt (`$6$`): understood by every glibc-based system.
    Sha512Crypt,
}

/// A crypt(3) password hash (`$y$…` or `$6$…`).
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Takes an existing crypt(3) hash (e.g. from a profile), checking its shape: `$y$`,
    /// `$6$` or `$5$` prefix and only the characters crypt(3) uses.
    pub fn from_crypt(hash: &str) -> Result<Self, CustomiseError> {
        let shaped = ["$y$", "$6$", "$5$"].iter().any(|p| hash.starts_with(p))
            && hash
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"$./=".contains(&b))
            && hash.len() <= 256;
        if !shaped {
            return Err(CustomiseError::InvalidSetting {
                setting: "user.password_hash",
                value: "(hidden)".into(),
                rule: "a crypt(3) hash starting with $y$, $6$ or $5$".into(),
            });
        }
        Ok(Self(hash.to_string()))
    }

    /// The crypt(3) string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The scheme prefix, e.g. `$y$`.
    pub fn scheme_prefix(&self) -> &str {
        self.0.get(..3).unwrap_or("")
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PasswordHash({}…)", self.scheme_prefix())
    }
}

/// Hashes `password` with a fresh random salt. Carriage returns and line feeds are removed
/// first: a password pasted with a trailing newline must still work at the login prompt,
/// which never passes the newline on.
pub fn hash_password(
    password: &str,
    scheme: PasswordScheme,
) -> Result<PasswordHash, CustomiseError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| CustomiseError::Secret {
        what: "password salt",
        reason: e.to_string(),
    })?;
    let salt_len = match scheme {
        PasswordScheme::Yescrypt => 16,
        // sha512crypt takes at most 16 salt characters; 12 bytes encode to exactly 16.
        PasswordScheme::Sha512Crypt => 12,
    };
    hash_password_with_salt(password, scheme, &salt[..salt_len])
}

/// Hashes `password` with the given salt bytes (tests inject a fixed salt to compare with
/// golden files; never use a fixed salt for real).
pub fn hash_password_with_salt(
    password: &str,
    scheme: PasswordScheme,
    salt: &[u8],
) -> Result<PasswordHash, CustomiseError> {
    let cleaned: String = password
        .chars()
        .filter(|c| *c != '\r' && *c != '\n')
        .collect();
    if cleaned.is_empty() {
        return Err(CustomiseError::InvalidSetting {
            setting: "user.password",
            value: "(hidden)".into(),
            rule: "a password must not be empty".into(),
        });
    }
    let hash = match scheme {
        PasswordScheme::Yescrypt => yescrypt::Yescrypt::default()
            .hash_password_with_salt(cleaned.as_bytes(), salt)
            .map(|h| h.as_str().to_string()),
        PasswordScheme::Sha512Crypt => sha_crypt::ShaCrypt::SHA512
            .hash_password_with_salt(cleaned.as_bytes(), salt)
            .map(|h| h.as_str().to_string()),
    }
    .map_err(|e| CustomiseError::Secret {
        what: "password hash",
        reason: e.to_string(),
    })?;
    Ok(PasswordHash(hash))
}

/// A WPA pre-shared key (the 256-bit PMK), derived from a passphrase or given as hex.
#[derive(Clone, PartialEq, Eq)]
pub struct WifiPmk([u8; 32]);

impl WifiPmk {
    /// Parses 64 hex digits (a PSK already derived, e.g. from `wpa_passphrase`).
    pub fn from_hex(hex: &str) -> Result<Self, CustomiseError> {
        let invalid = || CustomiseError::InvalidSetting {
            setting: "wifi.psk",
            value: "(hidden)".into(),
            rule: "a pre-shared key is exactly 64 hexadecimal digits".into(),
        };
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid());
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| invalid())?;
        }
        Ok(Self(out))
    }

    /// The key as 64 lower-case hex digits.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for WifiPmk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WifiPmk(hidden)")
    }
}

/// Derives the WPA pre-shared key of `passphrase` for the network `ssid` (IEEE 802.11i-2004
/// H.4). The passphrase must be 8 to 63 printable ASCII characters, as the standard says;
/// line terminators pasted with it are removed first.
pub fn wifi_pmk(ssid: &[u8], passphrase: &str) -> Result<WifiPmk, CustomiseError> {
    let cleaned: String = passphrase
        .chars()
        .filter(|c| *c != '\r' && *c != '\n')
        .collect();
    let printable = cleaned.bytes().all(|b| (0x20..=0x7e).contains(&b));
    if !(8..=63).contains(&cleaned.len()) || !printable {
        return Err(CustomiseError::InvalidSetting {
            setting: "wifi.passphrase",
            value: "(hidden)".into(),
            rule: "a WPA passphrase is 8 to 63 printable ASCII characters (or give the \
                   64-hex-digit key instead)"
                .into(),
        });
    }
    if ssid.is_empty() || ssid.len() > 32 {
        return Err(CustomiseError::InvalidSetting {
            setting: "wifi.ssid",
            value: String::from_utf8_lossy(ssid).into_owned(),
            rule: "an SSID is 1 to 32 bytes".into(),
        });
    }
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha1::Sha1>(cleaned.as_bytes(), ssid, 4096, &mut out);
    Ok(WifiPmk(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pmk_matches_ieee_802_11i_test_vectors() {
        // IEEE 802.11i-2004, H.4.1 (passphrase, SSID) → PSK.
        let pmk = wifi_pmk(b"IEEE", "password").unwrap();
        assert_eq!(
            pmk.to_hex(),
            "f42c6fc52df0ebef9ebb4b90b38a5f902e83fe1b135a70e23aed762e9710a12e"
        );
        let pmk = wifi_pmk(b"ThisIsASSID", "ThisIsAPassword").unwrap();
        assert_eq!(
            pmk.to_hex(),
            "0dc0d6eb90555ed6419756b9a15ec3e3209b63df707dd508d14581f8982721af"
        );
        assert_eq!(WifiPmk::from_hex(&pmk.to_hex()).unwrap(), pmk);
    }

    #[test]
    fn bad_passphrases_are_refused() {
        assert!(wifi_pmk(b"net", "short").is_err());
        assert!(wifi_pmk(b"net", &"x".repeat(64)).is_err());
        assert!(wifi_pmk(b"net", "caf\u{e9}-au-lait").is_err());
        assert!(wifi_pmk(b"", "password1").is_err());
        assert!(WifiPmk::from_hex("zz").is_err());
    }

    #[test]
    fn hashes_have_the_expected_shape_and_hide_in_debug() {
        let h =
            hash_password_with_salt("raspberry\n", PasswordScheme::Yescrypt, b"0123456789abcdef")
                .unwrap();
        assert!(h.as_str().starts_with("$y$j9T$"), "{}", h.as_str());
        let same =
            hash_password_with_salt("raspberry", PasswordScheme::Yescrypt, b"0123456789abcdef")
                .unwrap();
        assert_eq!(h, same, "a trailing newline must not change the hash");
        assert!(!format!("{h:?}").contains(&h.as_str()[7..]));
        let h = hash_password_with_salt("raspberry", PasswordScheme::Sha512Crypt, b"saltsaltsalt")
            .unwrap();
        assert!(h.as_str().starts_with("$6$rounds=5000$"), "{}", h.as_str());
        let a = hash_password("pw", PasswordScheme::Yescrypt).unwrap();
        let b = hash_password("pw", PasswordScheme::Yescrypt).unwrap();
        assert_ne!(a, b, "random salts differ");
        assert!(hash_password("\n", PasswordScheme::Yescrypt).is_err());
    }
}
