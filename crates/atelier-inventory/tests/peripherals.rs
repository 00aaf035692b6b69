//! Peripherals: the reader over fixture trees (a laptop with Wi-Fi, Bluetooth, a UVC camera
//! with an infrared sensor, two sound cards and a touchscreen; a desktop with none), the
//! `/proc/asound/cards` and `/proc/bus/input/devices` parsers (bitmaps of 64-bit and 32-bit
//! kernels), and this machine.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use atelier_inventory::network;
use atelier_inventory::peripherals::{
    self, Bitmap, infer_word_bits, parse_asound_cards, parse_input_devices,
};
use atelier_record::{NetworkInterface, Peripherals};

fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

const ASOUND_CARDS: &str = " 0 [PCH            ]: HDA-Intel - HDA Intel PCH
                      HDA Intel PCH at 0xf1230000 irq 147
 1 [Headset        ]: USB-Audio - USB Headset
                      Example Corp USB Headset at usb-0000:00:14.0-2, full speed
10 [Loopback       ]: Loopback - Loopback
                      Loopback 1
";

/// A 64-bit kernel's view: keyboard, touchpad (pointer + buttonpad, multi-touch), pen (direct,
/// not multi-touch) and touchscreen (direct, multi-touch). The bitmaps are computed from the
/// bits in input-event-codes.h, one 64-bit word each.
const INPUT_DEVICES_64: &str = r#"I: Bus=0011 Vendor=0001 Product=0001 Version=ab83
N: Name="AT Translated Set 2 keyboard"
P: Phys=isa0060/serio0/input0
S: Sysfs=/devices/platform/i8042/serio0/input/input0
U: Uniq=
H: Handlers=sysrq kbd event0 leds
B: PROP=0
B: EV=120013
B: KEY=402000000 3803078f800d001 feffffdfffefffff fffffffffffffffe
B: MSC=10
B: LED=7

I: Bus=0018 Vendor=06cb Product=0001 Version=0100
N: Name="Example Touchpad"
H: Handlers=mouse0 event1
B: PROP=5
B: EV=1b
B: KEY=e520 10000 0 0 0 0
B: ABS=660800011000003

I: Bus=0018 Vendor=056a Product=0002 Version=0100
N: Name="Example Pen"
H: Handlers=event2
B: PROP=2
B: EV=1b
B: ABS=d000003

I: Bus=0018 Vendor=04f3 Product=0003 Version=0100
N: Name="Example Touchscreen"
H: Handlers=mouse1 event3
B: PROP=2
B: EV=b
B: KEY=400 0 0 0 0 0
B: ABS=260800000000003
"#;

/// The same touchscreen as a 32-bit kernel prints it: the ABS bitmap spans two words.
const INPUT_DEVICES_32: &str = r#"I: Bus=0018 Vendor=0eef Product=0005 Version=0100
N: Name="Example Panel Touch"
H: Handlers=mouse0 event0
B: PROP=2
B: EV=b
B: KEY=400 0 0 0 0 0 0 0 0 0 0 0
B: ABS=2608000 3

I: Bus=0019 Vendor=0000 Product=0001 Version=0000
N: Name="Power Button"
B: PROP=0
B: EV=3
B: KEY=100000 0 0 0
"#;

fn laptop(root: &Path) {
    for phy in ["phy0", "phy1"] {
        fs::create_dir_all(root.join("sys/class/ieee80211").join(phy)).unwrap();
    }
    // Bluetooth: a USB controller with a product string, one without, and a connection.
    write(root, "sys/devices/usb1/1-7/product", "Example BT Adapter\n");
    fs::create_dir_all(root.join("sys/devices/usb1/1-7/1-7:1.0")).unwrap();
    for hci in ["hci0", "hci1", "hci0:12"] {
        fs::create_dir_all(root.join("sys/class/bluetooth").join(hci)).unwrap();
    }
    symlink(
        "../../../devices/usb1/1-7/1-7:1.0",
        root.join("sys/class/bluetooth/hci0/device"),
    )
    .unwrap();
    // Video: a UVC camera with an infrared sensor (two nodes each), a metadata-only device, a
    // second identical camera, and a node without an index file.
    for (node, name, index) in [
        ("video0", "Integrated Camera: Integrated C", Some("0")),
        ("video1", "Integrated Camera: Integrated C", Some("1")),
        ("video2", "Integrated Camera: Integrated I", Some("0")),
        ("video3", "Integrated Camera: Integrated I", Some("1")),
        ("video10", "Example Metadata Capture", Some("0")),
        ("video11", "Integrated Camera: Integrated C", Some("0")),
        ("video12", "Old Capture Card", None),
        ("video13", "", Some("0")),
        ("v4l-subdev0", "Sensor", None),
    ] {
        write(
            root,
            &format!("sys/class/video4linux/{node}/name"),
            &format!("{name}\n"),
        );
        if let Some(index) = index {
            write(
                root,
                &format!("sys/class/video4linux/{node}/index"),
                &format!("{index}\n"),
            );
        }
    }
    write(root, "proc/asound/cards", ASOUND_CARDS);
    write(root, "sys/class/sound/card0/id", "PCH\n");
    write(root, "proc/bus/input/devices", INPUT_DEVICES_64);
}

fn wifi(name: &str) -> NetworkInterface {
    NetworkInterface {
        name: name.into(),
        kind: "wifi".into(),
        mac: None,
        mac_permanent: false,
        driver: None,
        bus: None,
        source: format!("/sys/class/net/{name}"),
    }
}

#[test]
fn reads_a_laptop() {
    let tmp = tempfile::tempdir().unwrap();
    laptop(tmp.path());
    let network = [wifi("wlp3s0")];
    let (found, warnings) = peripherals::read_peripherals(tmp.path(), &network);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        found,
        Peripherals {
            wifi: vec!["wlp3s0".into()],
            bluetooth: vec!["hci0 (Example BT Adapter)".into(), "hci1".into()],
            webcams: vec![
                "Integrated Camera: Integrated C".into(),
                "Integrated Camera: Integrated I".into(),
                "Old Capture Card".into(),
            ],
            audio: vec![
                "HDA Intel PCH".into(),
                "USB Headset".into(),
                "Loopback".into()
            ],
            touchscreens: vec!["Example Touchscreen".into()],
        }
    );
}

#[test]
fn wifi_radios_without_an_interface_are_reported_by_phy() {
    let tmp = tempfile::tempdir().unwrap();
    laptop(tmp.path());
    let (found, _) = peripherals::read_peripherals(tmp.path(), &[]);
    assert_eq!(found.wifi, ["phy0", "phy1"]);
    let mut wired = wifi("eno1");
    wired.kind = "ethernet".into();
    let (found, _) = peripherals::read_peripherals(tmp.path(), &[wired]);
    assert_eq!(found.wifi, ["phy0", "phy1"]);
}

#[test]
fn wifi_comes_from_the_network_reader() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sys/class/net/wlan0");
    fs::create_dir_all(dir.join("wireless")).unwrap();
    fs::write(dir.join("type"), "1\n").unwrap();
    symlink("../../../devices/mmc1:0001:1", dir.join("device")).unwrap();
    let (network, _) = network::read_network(tmp.path());
    let (found, warnings) = peripherals::read_peripherals(tmp.path(), &network);
    assert!(warnings.is_empty());
    assert_eq!(found.wifi, ["wlan0"]);
}

#[test]
fn audio_falls_back_to_sysfs_card_ids() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "sys/class/sound/card0/id", "PCH\n");
    write(tmp.path(), "sys/class/sound/card1/id", "NVidia\n");
    write(tmp.path(), "sys/class/sound/card2/id", "\n");
    fs::create_dir_all(tmp.path().join("sys/class/sound/controlC0")).unwrap();
    let (found, warnings) = peripherals::read_peripherals(tmp.path(), &[]);
    assert!(warnings.is_empty());
    assert_eq!(found.audio, ["PCH", "NVidia"]);
}

#[test]
fn a_machine_without_peripherals_has_none_and_no_warning() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "proc/asound/cards", "--- no soundcards ---\n");
    write(tmp.path(), "proc/bus/input/devices", "");
    let (found, warnings) = peripherals::read_peripherals(tmp.path(), &[]);
    assert_eq!(found, Peripherals::default());
    assert!(warnings.is_empty(), "{warnings:?}");
    let empty = tempfile::tempdir().unwrap();
    let (found, warnings) = peripherals::read_peripherals(empty.path(), &[]);
    assert_eq!(found, Peripherals::default());
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn an_unreadable_file_is_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    // A directory where a file should be: reading it fails with something else than NotFound.
    fs::create_dir_all(tmp.path().join("proc/bus/input/devices")).unwrap();
    fs::create_dir_all(tmp.path().join("proc/asound/cards")).unwrap();
    let (found, warnings) = peripherals::read_peripherals(tmp.path(), &[]);
    assert_eq!(found, Peripherals::default());
    let messages: Vec<&str> = warnings.iter().map(|w| w.message.as_str()).collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages[0].starts_with("cannot read /proc/asound/cards"));
    assert!(messages[1].starts_with("cannot read /proc/bus/input/devices"));
    assert!(warnings.iter().all(|w| w.probe == "peripherals"));
}

#[test]
fn asound_cards_give_the_name_after_the_driver() {
    assert_eq!(
        parse_asound_cards(ASOUND_CARDS),
        ["HDA Intel PCH", "USB Headset", "Loopback"]
    );
    assert!(parse_asound_cards("--- no soundcards ---\n").is_empty());
    assert!(parse_asound_cards("").is_empty());
    // No " - ": the whole description; no description: the ID.
    assert_eq!(
        parse_asound_cards(" 0 [X   ]: Odd card\n 1 [Id  ]: \n 2 [   ]: \n 3 no brackets\n"),
        ["Odd card", "Id"]
    );
}

#[test]
fn touchscreens_are_direct_multi_touch_devices() {
    let devices = parse_input_devices(INPUT_DEVICES_64);
    let names: Vec<(Option<&str>, bool)> = devices
        .iter()
        .map(|d| (d.name.as_deref(), d.is_touchscreen()))
        .collect();
    assert_eq!(
        names,
        [
            (Some("AT Translated Set 2 keyboard"), false),
            (Some("Example Touchpad"), false),
            (Some("Example Pen"), false),
            (Some("Example Touchscreen"), true),
        ]
    );
}

#[test]
fn bitmaps_of_a_32_bit_kernel_are_read_with_32_bit_words() {
    assert_eq!(infer_word_bits(INPUT_DEVICES_32), 32);
    assert_eq!(infer_word_bits(INPUT_DEVICES_64), 64);
    let devices = parse_input_devices(INPUT_DEVICES_32);
    assert_eq!(devices.len(), 2);
    assert!(devices[0].is_touchscreen());
    assert!(!devices[1].is_touchscreen());
    // Read with 64-bit words, the same text would miss the touchscreen.
    let abs = Bitmap::parse("2608000 3", 64).unwrap();
    assert!(!abs.has(0x35));
    assert!(
        abs.has(0) && abs.has(64 + 15),
        "the high word lands past bit 63"
    );
}

#[test]
fn bitmaps_are_read_most_significant_word_first() {
    let map = Bitmap::parse("8000000000000001 2", 64).unwrap();
    assert!(map.has(1));
    assert!(map.has(64));
    assert!(map.has(127));
    assert!(!map.has(0) && !map.has(63) && !map.has(128) && !map.has(u32::MAX));
    let map = Bitmap::parse("1 0 80000000", 32).unwrap();
    assert!(map.has(31) && map.has(64));
    assert!(!map.has(32) && !map.has(0));
    assert_eq!(Bitmap::parse("100000000", 32), None, "wider than a word");
    assert_eq!(Bitmap::parse("zz", 64), None);
    assert_eq!(Bitmap::parse("1", 0), None);
    assert!(!Bitmap::parse("", 64).unwrap().has(0));
}

#[test]
fn garbled_input_devices_never_panic() {
    let text = format!("{INPUT_DEVICES_64}\n{INPUT_DEVICES_32}");
    for end in (0..=text.len()).filter(|&end| text.is_char_boundary(end)) {
        for device in parse_input_devices(&text[..end]) {
            let _ = device.is_touchscreen();
        }
    }
    let odd = "N: Name=\nB: PROP=zz\nB: ABS=1 2 3 4 5 6 7 8 9\nB: ABS=\nB: PROP\nN: Name=\"\"\n";
    let devices = parse_input_devices(odd);
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].name, None);
    assert!(!devices[0].is_touchscreen());
}

#[test]
fn reads_this_machine() {
    let root = Path::new("/");
    let (network, _) = network::read_network(root);
    let (found, warnings) = peripherals::read_peripherals(root, &network);
    eprintln!("this machine: {found:?}, warnings {warnings:?}");
    assert!(warnings.is_empty(), "{warnings:?}");
    let count = |dir: &str, prefix: &str| {
        fs::read_dir(root.join(dir)).map_or(0, |entries| {
            entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
                .count()
        })
    };
    // Every sound card is named once, whichever file named it.
    assert_eq!(found.audio.len(), count("sys/class/sound", "card"));
    assert!(found.bluetooth.len() <= count("sys/class/bluetooth", "hci"));
    assert!(found.webcams.len() <= count("sys/class/video4linux", "video"));
    let input = fs::read_to_string(root.join("proc/bus/input/devices")).unwrap_or_default();
    for name in &found.touchscreens {
        assert!(input.contains(&format!("N: Name=\"{name}\"")), "{name}");
    }
    let wifi_interfaces = network.iter().filter(|i| i.kind == "wifi").count();
    if wifi_interfaces > 0 {
        assert_eq!(found.wifi.len(), wifi_interfaces);
    } else {
        assert_eq!(found.wifi.len(), count("sys/class/ieee80211", "phy"));
    }
}
