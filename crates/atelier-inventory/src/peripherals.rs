//! Wi-Fi, Bluetooth, webcams, sound cards and touchscreens.
//!
//! # Kernel files
//!
//! - **Wi-Fi**: the interfaces [`crate::network`] found to be `wifi`; when there is none, the
//!   radios of `/sys/class/ieee80211/phy*` (a card whose interface is down or renamed away still
//!   has its phy), reported by phy name (`phy0`).
//! - **Bluetooth**: the controllers `/sys/class/bluetooth/hciN` (connections, `hci0:12`, are
//!   skipped), reported as `hci0`, or `hci0 (PRODUCT)` when the controller's parent device has
//!   a `product` file (USB adapters: Documentation/ABI/stable/sysfs-bus-usb).
//! - **Webcams**: `/sys/class/video4linux/videoN/name` (Documentation/ABI/stable/sysfs-class-video4linux
//!   is thin; the attributes are `name` and `index`). A USB (UVC) camera exposes two nodes with
//!   the same name: the video stream (`index` 0) and its metadata (`index` 1). Only nodes with
//!   `index` 0 (or without an `index` file) are kept, names containing "metadata" are dropped,
//!   and equal names are reported once. Memory-to-memory codecs and image signal processors
//!   (e.g. `bcm2835-codec`, Intel IPU capture nodes) are video4linux devices too; this simple
//!   rule does not tell them from cameras.
//! - **Sound cards**: `/proc/asound/cards` (Documentation/sound/designs/procfile.rst), where each
//!   card's first line reads ` 0 [PCH            ]: HDA-Intel - HDA Intel PCH`: the name after
//!   the driver (`HDA Intel PCH`) is reported. Without that file, the card IDs of
//!   `/sys/class/sound/cardN/id` are reported instead.
//! - **Touchscreens**: `/proc/bus/input/devices` (Documentation/input/input.rst). A device is a
//!   touchscreen when its `B: PROP=` bitmap has `INPUT_PROP_DIRECT` (bit 1: the device is
//!   on the screen, unlike a touchpad) and its `B: ABS=` bitmap has `ABS_MT_POSITION_X`
//!   (bit 0x35: multi-touch); it is reported by its `N: Name=`. See [`parse_input_devices`]
//!   for how the bitmaps are read.
//!
//! A machine without one of these simply has none: absent files are not warnings. A file that
//! exists but cannot be read is.

use std::fs;
use std::io;
use std::path::Path;

use atelier_record::{NetworkInterface, Peripherals, ProbeWarning};

/// The probe name in warnings.
const PROBE: &str = "peripherals";

/// `INPUT_PROP_DIRECT` (include/uapi/linux/input-event-codes.h).
pub const INPUT_PROP_DIRECT: u32 = 0x01;

/// `ABS_MT_POSITION_X` (include/uapi/linux/input-event-codes.h).
pub const ABS_MT_POSITION_X: u32 = 0x35;

/// Reads the peripherals under `root`; `network` is what [`crate::network::read_network`]
/// found, for the Wi-Fi interfaces.
pub fn read_peripherals(
    root: &Path,
    network: &[NetworkInterface],
) -> (Peripherals, Vec<ProbeWarning>) {
    let mut warnings = Vec::new();
    let peripherals = Peripherals {
        wifi: read_wifi(root, network, &mut warnings),
        bluetooth: read_bluetooth(root, &mut warnings),
        webcams: read_webcams(root, &mut warnings),
        audio: read_audio(root, &mut warnings),
        touchscreens: read_touchscreens(root, &mut warnings),
    };
    (peripherals, warnings)
}

fn read_wifi(
    root: &Path,
    network: &[NetworkInterface],
    warnings: &mut Vec<ProbeWarning>,
) -> Vec<String> {
    let interfaces: Vec<String> = network
        .iter()
        .filter(|iface| iface.kind == "wifi")
        .map(|iface| iface.name.clone())
        .collect();
    if !interfaces.is_empty() {
        return interfaces;
    }
    class_entries(root, "sys/class/ieee80211", warnings)
        .into_iter()
        .filter(|name| name.starts_with("phy"))
        .collect()
}

fn read_bluetooth(root: &Path, warnings: &mut Vec<ProbeWarning>) -> Vec<String> {
    let dir = root.join("sys/class/bluetooth");
    class_entries(root, "sys/class/bluetooth", warnings)
        .into_iter()
        .filter(|name| {
            name.strip_prefix("hci")
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(
            |name| match read_text(&dir.join(&name).join("device/../product")) {
                Some(product) => format!("{name} ({product})"),
                None => name,
            },
        )
        .collect()
}

fn read_webcams(root: &Path, warnings: &mut Vec<ProbeWarning>) -> Vec<String> {
    let dir = root.join("sys/class/video4linux");
    let mut names: Vec<String> = Vec::new();
    for node in class_entries(root, "sys/class/video4linux", warnings) {
        if !node.starts_with("video") {
            continue;
        }
        let path = dir.join(&node);
        let index = read_text(&path.join("index")).and_then(|i| i.parse::<u32>().ok());
        if index.is_some_and(|i| i != 0) {
            continue;
        }
        let Some(name) = read_text(&path.join("name")) else {
            continue;
        };
        if name.to_lowercase().contains("metadata") || names.contains(&name) {
            continue;
        }
        names.push(name);
    }
    names
}

fn read_audio(root: &Path, warnings: &mut Vec<ProbeWarning>) -> Vec<String> {
    let cards = root.join("proc/asound/cards");
    match fs::read_to_string(&cards) {
        Ok(text) => return parse_asound_cards(&text),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => warnings.push(warning(format!("cannot read /proc/asound/cards: {e}"))),
    }
    let dir = root.join("sys/class/sound");
    class_entries(root, "sys/class/sound", warnings)
        .into_iter()
        .filter(|name| name.starts_with("card"))
        .filter_map(|name| read_text(&dir.join(name).join("id")))
        .collect()
}

fn read_touchscreens(root: &Path, warnings: &mut Vec<ProbeWarning>) -> Vec<String> {
    match fs::read_to_string(root.join("proc/bus/input/devices")) {
        Ok(text) => {
            let mut names: Vec<String> = Vec::new();
            for device in parse_input_devices(&text) {
                if device.is_touchscreen()
                    && let Some(name) = device.name
                    && !names.contains(&name)
                {
                    names.push(name);
                }
            }
            names
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            warnings.push(warning(format!("cannot read /proc/bus/input/devices: {e}")));
            Vec::new()
        }
    }
}

/// Sound card names from the text of `/proc/asound/cards`: for each card line
/// (` N [ID        ]: DRIVER - NAME`), the name after the driver. The file says
/// `--- no soundcards ---` when there are none.
pub fn parse_asound_cards(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let (number, rest) = line.trim_start().split_once(' ')?;
            if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let rest = rest.trim_start().strip_prefix('[')?;
            let (id, rest) = rest.split_once(']')?;
            let description = rest.trim_start().strip_prefix(':')?.trim();
            let name = match description.split_once(" - ") {
                Some((_driver, name)) => name.trim(),
                None => description,
            };
            let name = if name.is_empty() { id.trim() } else { name };
            (!name.is_empty()).then(|| name.to_owned())
        })
        .collect()
}

/// One device of `/proc/bus/input/devices`: its name and the bitmaps the touchscreen test
/// needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InputDevice {
    /// `N: Name=`, without the quotes.
    pub name: Option<String>,
    /// `B: PROP=`: input properties (`INPUT_PROP_*`).
    pub properties: Bitmap,
    /// `B: ABS=`: absolute axes (`ABS_*`).
    pub absolute_axes: Bitmap,
}

impl InputDevice {
    /// A direct (on-screen) multi-touch device: `INPUT_PROP_DIRECT` and `ABS_MT_POSITION_X`.
    pub fn is_touchscreen(&self) -> bool {
        self.properties.has(INPUT_PROP_DIRECT) && self.absolute_axes.has(ABS_MT_POSITION_X)
    }
}

/// A kernel bitmap as `/proc/bus/input/devices` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bitmap {
    /// The words, least significant first.
    words: Vec<u64>,
    /// The width of a word, 1 to 64.
    word_bits: u32,
}

impl Bitmap {
    /// Reads the printed form: hex words separated by spaces, the most significant first, each
    /// `word_bits` wide (leading zero words are omitted by the kernel). `None` when a word is
    /// not hex or too wide, or when `word_bits` is not between 1 and 64.
    pub fn parse(text: &str, word_bits: u32) -> Option<Bitmap> {
        if !(1..=64).contains(&word_bits) {
            return None;
        }
        let words = text
            .split_whitespace()
            .rev()
            .map(|word| {
                let value = u64::from_str_radix(word, 16).ok()?;
                (word_bits == 64 || value >> word_bits == 0).then_some(value)
            })
            .collect::<Option<Vec<u64>>>()?;
        Some(Bitmap { words, word_bits })
    }

    /// Whether bit `n` is set.
    pub fn has(&self, n: u32) -> bool {
        if self.word_bits == 0 {
            return false;
        }
        let word = usize::try_from(n / self.word_bits).ok();
        word.and_then(|w| self.words.get(w))
            .is_some_and(|word| word >> (n % self.word_bits) & 1 == 1)
    }
}

/// The devices of `/proc/bus/input/devices` (blocks separated by blank lines).
///
/// The kernel prints each bitmap one `unsigned long` per word: 64-bit words on a 64-bit kernel,
/// 32-bit words on a 32-bit one (e.g. 32-bit Raspberry Pi OS), and the file does not say which.
/// The word size is therefore inferred from the file ([`infer_word_bits`]). A bitmap that does
/// not parse is treated as empty.
pub fn parse_input_devices(text: &str) -> Vec<InputDevice> {
    let word_bits = infer_word_bits(text);
    let mut devices = Vec::new();
    let mut current: Option<InputDevice> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            devices.extend(current.take());
            continue;
        }
        let device = current.get_or_insert_with(InputDevice::default);
        if let Some(name) = line.strip_prefix("N: Name=") {
            let name = name.trim().trim_matches('"').trim();
            device.name = (!name.is_empty()).then(|| name.to_owned());
        } else if let Some(bitmap) = line.strip_prefix("B: PROP=") {
            device.properties = Bitmap::parse(bitmap, word_bits).unwrap_or_default();
        } else if let Some(bitmap) = line.strip_prefix("B: ABS=") {
            device.absolute_axes = Bitmap::parse(bitmap, word_bits).unwrap_or_default();
        }
    }
    devices.extend(current);
    devices
}

/// The width of the kernel's bitmap words in a `/proc/bus/input/devices` text:
///
/// - 64 when any word has more than 8 hex digits;
/// - 32 when an `ABS` bitmap has more than one word: there are 64 absolute axes (`ABS_MAX` is
///   0x3f), so a 64-bit kernel always prints that bitmap as one word;
/// - 64 otherwise. Then every `ABS` bitmap is a single word of at most 32 bits, so
///   `ABS_MT_POSITION_X` is clear, and `INPUT_PROP_DIRECT`, in the low word, reads the same at
///   either width.
pub fn infer_word_bits(text: &str) -> u32 {
    let bitmaps = text
        .lines()
        .filter_map(|line| line.trim().strip_prefix("B: "))
        .filter_map(|line| line.split_once('='));
    let mut split_abs = false;
    for (kind, words) in bitmaps {
        if words.split_whitespace().any(|word| word.len() > 8) {
            return 64;
        }
        if kind == "ABS" && words.split_whitespace().count() > 1 {
            split_abs = true;
        }
    }
    if split_abs { 32 } else { 64 }
}

/// Entry names of a class directory, sorted; empty when it does not exist (the machine has no
/// such device), with a warning when it exists but cannot be listed.
fn class_entries(root: &Path, class: &str, warnings: &mut Vec<ProbeWarning>) -> Vec<String> {
    match fs::read_dir(root.join(class)) {
        Ok(entries) => {
            let mut names: Vec<String> = entries
                .flatten()
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort_by(|a, b| natural_key(a).cmp(&natural_key(b)));
            names
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            warnings.push(warning(format!("cannot list /{class}: {e}")));
            Vec::new()
        }
    }
}

/// Sorts `video2` before `video10`: the name without its trailing number, then the number.
fn natural_key(name: &str) -> (&str, u64, &str) {
    let prefix = name.trim_end_matches(|c: char| c.is_ascii_digit());
    let number = name[prefix.len()..].parse().unwrap_or(0);
    (prefix, number, name)
}

/// A file's text without surrounding white space; `None` when unreadable or empty.
fn read_text(path: &Path) -> Option<String> {
    let text = fs::read_to_string(path).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn warning(message: String) -> ProbeWarning {
    ProbeWarning {
        probe: PROBE.to_owned(),
        message,
    }
}
