//! The machine identity key: one stable string per machine, chosen by a fallback chain.

use serde::Serialize;

use super::placeholder::{Field, is_placeholder};

/// Where a machine key came from, in the order the chain tries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    /// System serial number and UUID together (SMBIOS type 1): the strongest.
    SerialAndUuid,
    /// Baseboard serial number (type 2).
    BoardSerial,
    /// The system serial number alone (the UUID is missing or a placeholder): weak.
    SerialOnly,
    /// The system UUID alone (the serial is missing or a placeholder): weak, since some
    /// boards share a UUID across a whole batch.
    UuidOnly,
    /// The permanent MAC address of a built-in network interface: weak, since a network card
    /// can be swapped and a USB adapter travels between machines.
    PermanentMac,
    /// The devicetree serial number (`/proc/device-tree/serial-number`, e.g. a Raspberry Pi's
    /// SoC serial, burnt into OTP).
    DevicetreeSerial,
}

impl KeySource {
    /// The prefix of keys from this source.
    fn prefix(self) -> &'static str {
        match self {
            KeySource::SerialAndUuid => "smbios",
            KeySource::BoardSerial => "board",
            KeySource::SerialOnly => "serial",
            KeySource::UuidOnly => "uuid",
            KeySource::PermanentMac => "mac",
            KeySource::DevicetreeSerial => "dt",
        }
    }
}

/// What the caller knows about the machine; every candidate is optional.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeyCandidates<'a> {
    /// System serial number (SMBIOS type 1 / `product_serial`).
    pub serial_number: Option<&'a Field>,
    /// System UUID (type 1 / `product_uuid`).
    pub uuid: Option<&'a Field>,
    /// Baseboard serial number (type 2 / `board_serial`).
    pub board_serial: Option<&'a Field>,
    /// Permanent MAC address of a built-in interface (`ethtool -P`, or sysfs `address` when
    /// `addr_assign_type` is 0), as read by the caller.
    pub permanent_mac: Option<&'a str>,
    /// Devicetree serial number, as read by the caller (trailing NUL allowed).
    pub devicetree_serial: Option<&'a str>,
}

/// The chosen key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MachineKey {
    /// The key: `"<prefix>:<value>"`, e.g. `smbios:PF0ABCDE:11111111-2222-3333-4444-555555555555`,
    /// `board:L1HF000000A`, `mac:52:54:00:12:34:56`, `dt:10000000a1b2c3d4`.
    pub key: String,
    /// Which link of the chain gave it.
    pub source: KeySource,
    /// True when the key may change or collide (see [`machine_key`]); a bench should show it
    /// and ask the technician to confirm or to stick an asset label.
    pub weak: bool,
    /// Why each earlier link was skipped, and why the key is weak when it is.
    pub notes: Vec<String>,
}

/// Why a candidate cannot serve.
fn unusable(name: &str, f: Option<&Field>) -> Option<String> {
    match f {
        None | Some(Field::Absent) => Some(format!("{name} absent")),
        Some(Field::Value(_)) => None,
        Some(Field::Placeholder { raw }) => Some(format!("{name} is a placeholder ({raw:?})")),
        Some(Field::NeedsRoot) => Some(format!("{name} unavailable (needs root)")),
        Some(Field::Unknown { reason }) => Some(format!("{name} unknown ({reason})")),
    }
}

/// A value that passed the placeholder filter but is still too thin to trust alone.
fn thin(v: &str) -> Option<String> {
    let len = v.chars().filter(|c| c.is_alphanumeric()).count();
    (len < 5).then(|| format!("{v:?} has fewer than 5 letters or digits"))
}

/// Normalizes a MAC address to lower-case colon form; `None` if it is not 6 hex octets.
fn normalize_mac(mac: &str) -> Option<[u8; 6]> {
    let hex: String = mac.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    let sep_ok = mac
        .chars()
        .all(|c| c.is_ascii_hexdigit() || matches!(c, ':' | '-' | '.'));
    if hex.len() != 12 || !sep_ok {
        return None;
    }
    let mut out = [0u8; 6];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Chooses the machine key. The chain, first usable link wins:
///
/// 1. **system serial + UUID** (`smbios:SERIAL:UUID`) — both real values: strong;
/// 2. **board serial** (`board:SERIAL`) — strong (it changes only with the motherboard);
/// 3. **system serial alone** or **UUID alone** — weak;
/// 4. **permanent MAC** (`mac:aa:bb:cc:dd:ee:ff`) — always weak; refused when all-zero,
///    broadcast, multicast or locally administered (then it is not a permanent address);
/// 5. **devicetree serial** (`dt:SERIAL`) — strong unless thin (a Raspberry Pi's is 16 hex
///    digits); refused when a placeholder (e.g. all zeros).
///
/// A value is usable when it is a [`Field::Value`] (placeholders, "needs root" and unknown
/// values are skipped, and the reason goes to [`MachineKey::notes`]). Any key whose value has
/// fewer than 5 letters or digits is weak. Returns `None` when no link is usable: the caller
/// must then make up an asset number and label the machine.
pub fn machine_key(c: &KeyCandidates<'_>) -> Option<MachineKey> {
    let mut notes = Vec::new();
    let serial_bad = unusable("system serial", c.serial_number);
    let uuid_bad = unusable("system UUID", c.uuid);
    let make = |source: KeySource, value: String, mut weak: bool, mut notes: Vec<String>| {
        if let Some(why) = thin(&value) {
            weak = true;
            notes.push(why);
        }
        MachineKey {
            key: format!("{}:{value}", source.prefix()),
            source,
            weak,
            notes,
        }
    };

    if let (None, None, Some(s), Some(u)) = (
        &serial_bad,
        &uuid_bad,
        c.serial_number.and_then(Field::value),
        c.uuid.and_then(Field::value),
    ) {
        return Some(make(
            KeySource::SerialAndUuid,
            format!("{s}:{}", u.to_ascii_lowercase()),
            false,
            notes,
        ));
    }
    notes.extend(serial_bad.iter().chain(uuid_bad.iter()).cloned());

    match (
        unusable("board serial", c.board_serial),
        c.board_serial.and_then(Field::value),
    ) {
        (None, Some(b)) => return Some(make(KeySource::BoardSerial, b.to_owned(), false, notes)),
        (why, _) => notes.extend(why),
    }

    if let Some(s) = c.serial_number.and_then(Field::value) {
        notes.push("only the system serial is usable".into());
        return Some(make(KeySource::SerialOnly, s.to_owned(), true, notes));
    }
    if let Some(u) = c.uuid.and_then(Field::value) {
        notes.push("only the system UUID is usable; some boards share one UUID".into());
        return Some(make(
            KeySource::UuidOnly,
            u.to_ascii_lowercase(),
            true,
            notes,
        ));
    }

    match c.permanent_mac.map(|m| (m, normalize_mac(m.trim()))) {
        None => notes.push("no permanent MAC address given".into()),
        Some((m, None)) => notes.push(format!("MAC address {m:?} is not 6 hex octets")),
        Some((m, Some(o))) => {
            if o == [0; 6] || o == [0xFF; 6] {
                notes.push(format!("MAC address {m:?} is a placeholder"));
            } else if o[0] & 0x01 != 0 {
                notes.push(format!("MAC address {m:?} is a multicast address"));
            } else if o[0] & 0x02 != 0 {
                notes.push(format!(
                    "MAC address {m:?} is locally administered, not a permanent address"
                ));
            } else {
                let text = o
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<Vec<_>>()
                    .join(":");
                notes.push("only a network card's MAC address identifies this machine".into());
                return Some(make(KeySource::PermanentMac, text, true, notes));
            }
        }
    }

    match c
        .devicetree_serial
        .map(|s| s.trim_matches(|c: char| c == '\0' || c.is_whitespace()))
    {
        None => notes.push("no devicetree serial given".into()),
        Some(s) if is_placeholder(s) => {
            notes.push(format!("devicetree serial {s:?} is a placeholder"))
        }
        Some(s) => {
            return Some(make(
                KeySource::DevicetreeSerial,
                s.to_owned(),
                false,
                notes,
            ));
        }
    }
    None
}
