//! Screen reader: DRM connectors with real EDIDs (copied at run time from
//! `shared/reference/edid` into a tempdir), empty, truncated and garbage EDIDs, and the live
//! machine.

use std::fs;
use std::path::{Path, PathBuf};

use atelier_inventory::screen::{connector_type, read_screens};
use atelier_record::Screen;
use atelier_testkit::Rng;

/// `shared/reference/edid`, beside the repository (as `tests/edid.rs` finds it).
fn reference(name: &str) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/edid");
    let path = dir.join(format!("{name}.bin"));
    fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (this test needs the shared/ folder beside the repository)",
            path.display()
        )
    })
}

/// Writes `sys/class/drm/CONNECTOR/edid`.
fn connector(root: &Path, name: &str, edid: &[u8]) -> PathBuf {
    let dir = root.join("sys/class/drm").join(name);
    fs::create_dir_all(&dir).expect("mkdir");
    fs::write(dir.join("edid"), edid).expect("write edid");
    fs::write(
        dir.join("status"),
        if edid.is_empty() {
            "disconnected\n"
        } else {
            "connected\n"
        },
    )
    .expect("write status");
    dir
}

fn by_connector<'a>(screens: &'a [Screen], name: &str) -> &'a Screen {
    screens
        .iter()
        .find(|s| s.connector == name)
        .unwrap_or_else(|| panic!("no screen on {name}: {screens:#?}"))
}

#[test]
fn laptop_panel_and_monitors() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    // AU Optronics 14" panel (EDID 1.4, model in the alphanumeric descriptors, serial 0).
    connector(root, "card0-eDP-1", &reference("018"));
    // AOC 2367 monitor (name descriptor, FFh serial, a CTA-861 extension).
    connector(root, "card0-HDMI-A-1", &reference("000"));
    // Dell (no FFh descriptor: the numeric serial).
    connector(root, "card1-DP-3", &reference("005"));
    // Nothing plugged in.
    connector(root, "card0-DP-1", &[]);
    connector(root, "card0-VGA-1", &[]);
    // Not connectors, or connectors without an edid attribute.
    fs::create_dir_all(root.join("sys/class/drm/card0/device")).expect("mkdir");
    fs::create_dir_all(root.join("sys/class/drm/renderD128")).expect("mkdir");
    fs::create_dir_all(root.join("sys/class/drm/card0-Writeback-1")).expect("mkdir");
    fs::write(root.join("sys/class/drm/version"), "drm 1.1.0 20060810\n").expect("write");

    let (screens, warnings) = read_screens(root);
    assert!(warnings.is_empty(), "{warnings:#?}");
    let connectors: Vec<&str> = screens.iter().map(|s| s.connector.as_str()).collect();
    assert_eq!(connectors, ["card0-HDMI-A-1", "card0-eDP-1", "card1-DP-3"]);

    let panel = by_connector(&screens, "card0-eDP-1");
    assert!(panel.internal);
    assert_eq!(panel.vendor_code, "AUO");
    assert_eq!(panel.vendor_name.as_deref(), Some("AU Optronics"));
    assert_eq!(panel.model.as_deref(), Some("B140UAN02.1"));
    assert_eq!(panel.product_code, 53905);
    assert_eq!(panel.serial, None);
    assert_eq!(
        (panel.native_width, panel.native_height),
        (Some(1920), Some(1200))
    );
    assert_eq!((panel.width_mm, panel.height_mm), (Some(301), Some(188)));
    assert_eq!(panel.diagonal_inches, Some(14.0));
    assert_eq!(panel.made_year, Some(2020));
    assert_eq!(panel.source, "/sys/class/drm/card0-eDP-1/edid");

    let aoc = by_connector(&screens, "card0-HDMI-A-1");
    assert!(!aoc.internal);
    assert_eq!(aoc.vendor_code, "AOC");
    assert_eq!(aoc.vendor_name.as_deref(), Some("AOC"));
    assert_eq!(aoc.model.as_deref(), Some("2367"));
    assert_eq!(aoc.product_code, 9063);
    assert_eq!(aoc.serial.as_deref(), Some("BEDD29A000025"));
    assert_eq!(
        (aoc.native_width, aoc.native_height),
        (Some(1920), Some(1080))
    );
    assert_eq!((aoc.width_mm, aoc.height_mm), (Some(509), Some(286)));
    assert_eq!(aoc.diagonal_inches, Some(23.0));
    assert_eq!(aoc.made_year, Some(2013));

    let dell = by_connector(&screens, "card1-DP-3");
    assert!(!dell.internal);
    assert_eq!(dell.vendor_name.as_deref(), Some("Dell"));
    assert_eq!(dell.model.as_deref(), Some("Inspiron 7790"));
    assert_eq!(dell.serial.as_deref(), Some("910269962"));
    assert_eq!(dell.diagonal_inches, Some(23.0));
}

#[test]
fn internal_connector_types() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let panel = reference("026");
    for name in [
        "card0-LVDS-1",
        "card0-DSI-1",
        "card0-eDP-2",
        "card0-DVI-I-1",
        "card0-DP-1",
    ] {
        connector(tmp.path(), name, &panel);
    }
    let (screens, warnings) = read_screens(tmp.path());
    assert!(warnings.is_empty(), "{warnings:#?}");
    let internal: Vec<(&str, bool)> = screens
        .iter()
        .map(|s| (s.connector.as_str(), s.internal))
        .collect();
    assert_eq!(
        internal,
        [
            ("card0-DP-1", false),
            ("card0-DSI-1", true),
            ("card0-DVI-I-1", false),
            ("card0-LVDS-1", true),
            ("card0-eDP-2", true),
        ]
    );
    // The InfoVision panel: maker in the first FEh string, part number in the second.
    assert_eq!(screens[0].model.as_deref(), Some("M156NWR2 R0"));
    assert_eq!(screens[0].vendor_name.as_deref(), Some("InfoVision"));
    assert_eq!(screens[0].diagonal_inches, Some(15.5));
}

#[test]
fn connector_names() {
    assert_eq!(connector_type("card0-eDP-1"), Some("eDP"));
    assert_eq!(connector_type("card1-HDMI-A-1"), Some("HDMI-A"));
    assert_eq!(connector_type("card12-DP-10"), Some("DP"));
    assert_eq!(connector_type("card0-DVI-D-2"), Some("DVI-D"));
    for not_a_connector in [
        "card0",
        "renderD128",
        "version",
        "card-eDP-1",
        "cardX-eDP-1",
        "card0-eDP",
        "card0--1",
        "card0-eDP-x",
    ] {
        assert_eq!(connector_type(not_a_connector), None, "{not_a_connector}");
    }
}

#[test]
fn truncated_and_garbage_edids_are_warnings_naming_the_connector() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let panel = reference("018");
    let aoc = reference("000");
    // Cut inside the base block: not decodable.
    connector(root, "card0-eDP-1", &panel[..100]);
    // Not an EDID at all.
    connector(root, "card0-DP-1", &[0x42; 128]);
    // Base block complete, extension block missing: decoded, with a warning.
    connector(root, "card0-HDMI-A-1", &aoc[..128]);
    // A flipped byte: bad checksum, decoded, with a warning.
    let mut flipped = panel.clone();
    flipped[0x40] ^= 0x01;
    connector(root, "card1-eDP-1", &flipped);

    let (screens, warnings) = read_screens(root);
    let connectors: Vec<&str> = screens.iter().map(|s| s.connector.as_str()).collect();
    assert_eq!(connectors, ["card0-HDMI-A-1", "card1-eDP-1"]);
    assert_eq!(
        by_connector(&screens, "card0-HDMI-A-1").model.as_deref(),
        Some("2367")
    );

    let probes: Vec<&str> = warnings.iter().map(|w| w.probe.as_str()).collect();
    assert_eq!(
        probes,
        [
            "edid:card0-DP-1",
            "edid:card0-HDMI-A-1",
            "edid:card0-eDP-1",
            "edid:card1-eDP-1"
        ],
        "{warnings:#?}"
    );
    let message = |probe: &str| {
        warnings
            .iter()
            .find(|w| w.probe == probe)
            .map(|w| w.message.as_str())
            .unwrap_or_default()
    };
    assert!(
        message("edid:card0-eDP-1").contains("too short: 100 bytes"),
        "{warnings:#?}"
    );
    assert!(
        message("edid:card0-DP-1").contains("not an EDID"),
        "{warnings:#?}"
    );
    assert!(
        message("edid:card0-HDMI-A-1").contains("1 extension block(s) announced, 0 present"),
        "{warnings:#?}"
    );
    assert!(
        message("edid:card1-eDP-1").contains("bad checksum"),
        "{warnings:#?}"
    );
}

#[test]
fn unreadable_edid_is_a_warning() {
    // A directory where the edid file should be: reading it fails with something other than
    // "not found".
    let tmp = tempfile::tempdir().expect("tempdir");
    fs::create_dir_all(tmp.path().join("sys/class/drm/card0-eDP-1/edid")).expect("mkdir");
    let (screens, warnings) = read_screens(tmp.path());
    assert!(screens.is_empty());
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert_eq!(warnings[0].probe, "edid:card0-eDP-1");
    assert!(warnings[0].message.starts_with("EDID unreadable"));
}

#[test]
fn random_and_mutated_edids_never_panic() {
    let mut rng = Rng::new(0x5C2E_E4E4);
    let bases = [reference("000"), reference("018"), reference("011")];
    let tmp = tempfile::tempdir().expect("tempdir");
    for round in 0..200 {
        let mut bytes = if round % 2 == 0 {
            bases[rng.below(bases.len())].clone()
        } else {
            (0..rng.below(400)).map(|_| rng.byte()).collect()
        };
        for _ in 0..rng.below(20) {
            if bytes.is_empty() {
                break;
            }
            let at = rng.below(bytes.len());
            bytes[at] = rng.byte();
        }
        if rng.below(4) == 0 {
            bytes.truncate(rng.below(bytes.len() + 1));
        }
        connector(tmp.path(), "card0-eDP-1", &bytes);
        let (screens, warnings) = read_screens(tmp.path());
        assert!(screens.len() <= 1);
        for s in &screens {
            assert!(s.model.as_ref().is_none_or(|m| !m.is_empty()));
            assert!(s.serial.as_ref().is_none_or(|m| !m.is_empty()));
        }
        assert!(!bytes.is_empty() || (screens.is_empty() && warnings.is_empty()));
    }
}

#[test]
fn this_machine() {
    let (screens, warnings) = read_screens(Path::new("/"));
    eprintln!("{screens:#?}\n{warnings:#?}");
    for s in &screens {
        assert!(s.source.starts_with("/sys/class/drm/card") && s.source.ends_with("/edid"));
        assert_eq!(s.vendor_code.len(), 3);
    }
}
