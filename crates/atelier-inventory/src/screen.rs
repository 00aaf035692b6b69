//! Screens: the internal panel and the connected monitors, from the EDID of each DRM connector
//! under a root path.
//!
//! Files read under the root: `sys/class/drm/cardN-CONNECTOR/edid`, the raw EDID of each
//! connector of each graphics card. The connector attributes (`status`, `enabled`, `dpms`,
//! `modes` and the binary `edid`) are created by `drivers/gpu/drm/drm_sysfs.c`; see also
//! Documentation/gpu/drm-kms.rst, "Connector Abstraction". Connector directories are named after the card, the connector type as the
//! kernel names it (`drm_connector_enum_list` in `drivers/gpu/drm/drm_connector.c`) and a
//! number: `card0-eDP-1`, `card1-HDMI-A-1`, `card0-DP-2`.
//!
//! The `edid` file of a connector with nothing plugged in reads as 0 bytes: it is skipped
//! silently. Any other EDID is decoded with [`crate::edid::parse`]; one that cannot be decoded
//! (truncated below 128 bytes, garbage) is a warning naming the connector, and so is every
//! problem of an EDID that still decodes (bad checksum, missing extension block…).
//!
//! A connector of type `eDP`, `LVDS` or `DSI` is an internal panel.

use std::fs;
use std::path::Path;

use atelier_record::{ProbeWarning, Screen};

use crate::edid::{self, Edid};

/// Where the DRM devices live, under the root.
const DRM_DIR: &str = "sys/class/drm";

/// Connector types of panels built into the machine (kernel names, `drm_connector_enum_list`).
const INTERNAL_CONNECTOR_TYPES: [&str; 3] = ["eDP", "LVDS", "DSI"];

/// Reads the screens of the machine whose filesystem is at `root` (`/` on a live machine),
/// sorted by connector name. Never panics, whatever the EDID bytes.
pub fn read_screens(root: &Path) -> (Vec<Screen>, Vec<ProbeWarning>) {
    let mut screens = Vec::new();
    let mut warnings = Vec::new();
    let dir = root.join(DRM_DIR);
    let Ok(entries) = fs::read_dir(&dir) else {
        // No DRM at all (server without graphics, VM with a plain VGA console).
        return (screens, warnings);
    };
    let mut connectors: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter(|name| connector_type(name).is_some())
        .collect();
    connectors.sort();
    for connector in connectors {
        let warn = |message: String| ProbeWarning {
            probe: format!("edid:{connector}"),
            message,
        };
        let bytes = match fs::read(dir.join(&connector).join("edid")) {
            Ok(bytes) => bytes,
            // A connector without an edid attribute (writeback connectors) has no screen.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                warnings.push(warn(format!("EDID unreadable: {e}")));
                continue;
            }
        };
        if bytes.is_empty() {
            continue;
        }
        match edid::parse(&bytes) {
            Ok(parsed) => {
                warnings.extend(
                    parsed
                        .warnings
                        .iter()
                        .map(|w| warn(format!("EDID readable with a problem: {w}"))),
                );
                screens.push(screen(&connector, &parsed));
            }
            Err(e) => warnings.push(warn(format!("EDID not decoded: {e}"))),
        }
    }
    (screens, warnings)
}

/// The connector type of a DRM connector directory name: `card0-eDP-1` → `eDP`,
/// `card1-HDMI-A-1` → `HDMI-A`. `None` for names that are not `cardN-TYPE-M` (the cards
/// themselves, `renderD128`, `version`).
pub fn connector_type(name: &str) -> Option<&str> {
    let rest = name.strip_prefix("card")?;
    let (card, connector) = rest.split_once('-')?;
    if card.is_empty() || !card.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (kind, index) = connector.rsplit_once('-')?;
    (!kind.is_empty() && !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()))
        .then_some(kind)
}

/// The record entry for a decoded EDID.
fn screen(connector: &str, edid: &Edid) -> Screen {
    let internal =
        connector_type(connector).is_some_and(|kind| INTERNAL_CONNECTOR_TYPES.contains(&kind));
    let (native_width, native_height) = edid.native_resolution().unzip();
    let (width_mm, height_mm) = edid.size_mm().unzip();
    Screen {
        connector: connector.to_owned(),
        internal,
        vendor_code: edid.manufacturer.clone(),
        vendor_name: edid.manufacturer_name().map(str::to_owned),
        model: model(edid),
        product_code: edid.product_code,
        serial: edid
            .serial_string
            .clone()
            .or_else(|| edid.serial_number.map(|n| n.to_string())),
        native_width,
        native_height,
        width_mm,
        height_mm,
        diagonal_inches: edid.diagonal_inches(),
        made_year: edid.made_year(),
        source: format!("/{DRM_DIR}/{connector}/edid"),
    }
}

/// The monitor name (descriptor FCh); for laptop panels, which usually have none, the last
/// non-empty alphanumeric string (descriptor FEh): panels put their maker in the first and
/// their part number (e.g. `B140UAN02.1`) in the second.
fn model(edid: &Edid) -> Option<String> {
    edid.product_name.clone().or_else(|| {
        edid.alphanumeric
            .iter()
            .rev()
            .map(|s| s.trim())
            .find(|s| !s.is_empty())
            .map(str::to_owned)
    })
}
