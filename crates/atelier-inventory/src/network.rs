//! Network interfaces, from `/sys/class/net`.
//!
//! # Kernel files
//!
//! Each entry of `/sys/class/net/` is one interface (Documentation/ABI/testing/sysfs-class-net):
//!
//! | file | use |
//! |---|---|
//! | `device` | link to the hardware device; absent for virtual interfaces (`lo`, bridges, tunnels, `ifb`…), which are skipped |
//! | `wireless/`, `phy80211` | present on Wi-Fi interfaces (cfg80211) → `wifi` |
//! | `uevent` | `DEVTYPE=wwan` → `wwan`, `DEVTYPE=wlan` → `wifi` |
//! | `type` | ARPHRD type (include/uapi/linux/if_arp.h); 1 = `ARPHRD_ETHER` → `ethernet` |
//! | `address` | the hardware address |
//! | `addr_assign_type` | 0 `NET_ADDR_PERM` permanent, 1 random, 2 stolen, 3 set by user space |
//! | `device/driver`, `device/subsystem` | links whose last components name the driver and the bus (`pci`, `usb`, `sdio`, `virtio`…) |
//!
//! The kinds are tested in that order: a WWAN modem can present itself as an Ethernet device
//! (`type` 1), so `DEVTYPE` wins over `type`.
//!
//! # Permanent addresses
//!
//! [`NetworkInterface::mac_permanent`] is true only when `addr_assign_type` is 0 and the
//! address is universally administered (bit 1 of the first octet clear; IEEE 802 §8.2): the
//! address is the one the device came with. A locally administered address reported as
//! permanent (virtual machines, boards that make one up at boot) identifies nothing. When it is false (randomised by NetworkManager or systemd, or
//! set by hand) the address must not serve as the machine's identity. The burnt-in address of
//! such an interface is still known to the driver (`ETHTOOL_GPERMADDR`, `ethtool -P`), but the
//! bench does not ask for it: the bench's live system does not randomise addresses, so on the
//! bench the current address of a wired interface is the permanent one.
//!
//! Sources are reported as paths on the inspected machine (`/sys/class/net/eth0`), whatever the
//! root the files were read under.

use std::fs;
use std::io;
use std::path::Path;

use atelier_record::{NetworkInterface, ProbeWarning};

use crate::pci::link_basename;

/// The probe name in warnings.
const PROBE: &str = "network";

/// `ARPHRD_ETHER` (include/uapi/linux/if_arp.h).
const ARPHRD_ETHER: u32 = 1;

/// `NET_ADDR_PERM` (include/linux/netdevice.h): the address is the device's own.
const NET_ADDR_PERM: u32 = 0;

/// Reads the physical network interfaces under `<root>/sys/class/net`, sorted by name.
///
/// Loopback and virtual interfaces are left out. A missing or unreadable `sys/class/net` gives
/// no interface and one warning (every Linux system has one, with `lo` at least).
pub fn read_network(root: &Path) -> (Vec<NetworkInterface>, Vec<ProbeWarning>) {
    let dir = root.join("sys/class/net");
    let mut warnings = Vec::new();
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) => {
            let reason = if e.kind() == io::ErrorKind::NotFound {
                "missing".to_owned()
            } else {
                e.to_string()
            };
            warnings.push(ProbeWarning {
                probe: PROBE.to_owned(),
                message: format!(
                    "cannot list /sys/class/net ({reason}): network interfaces unknown"
                ),
            });
            return (Vec::new(), warnings);
        }
    };
    let mut interfaces: Vec<NetworkInterface> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            read_interface(&dir.join(&name), name)
        })
        .collect();
    interfaces.sort_by(|a, b| a.name.cmp(&b.name));
    (interfaces, warnings)
}

/// Reads one interface, or `None` for loopback and virtual interfaces.
fn read_interface(path: &Path, name: String) -> Option<NetworkInterface> {
    // `symlink_metadata`: a captured tree may keep the link without its target.
    if name == "lo" || fs::symlink_metadata(path.join("device")).is_err() {
        return None;
    }
    let kind = interface_kind(path);
    let mac = read_trimmed(&path.join("address")).filter(|mac| !is_null_mac(mac));
    let assign_type = read_trimmed(&path.join("addr_assign_type")).and_then(|t| t.parse().ok());
    // A locally administered address (bit 1 of the first octet) was not burnt in by a
    // manufacturer, even when the kernel calls it permanent (virtual machines, some boards).
    let locally_administered = mac
        .as_deref()
        .and_then(|m| u8::from_str_radix(m.get(..2)?, 16).ok())
        .is_some_and(|first| first & 0x02 != 0);
    let mac_permanent =
        mac.is_some() && assign_type == Some(NET_ADDR_PERM) && !locally_administered;
    Some(NetworkInterface {
        source: format!("/sys/class/net/{name}"),
        name,
        kind: kind.to_owned(),
        mac,
        mac_permanent,
        driver: link_basename(&path.join("device/driver")),
        bus: link_basename(&path.join("device/subsystem")),
    })
}

/// `wifi`, `wwan`, `ethernet` or `other`.
fn interface_kind(path: &Path) -> &'static str {
    let devtype = read_trimmed(&path.join("uevent")).and_then(|uevent| {
        uevent
            .lines()
            .find_map(|line| line.strip_prefix("DEVTYPE=").map(str::to_owned))
    });
    if fs::symlink_metadata(path.join("wireless")).is_ok()
        || fs::symlink_metadata(path.join("phy80211")).is_ok()
        || devtype.as_deref() == Some("wlan")
    {
        "wifi"
    } else if devtype.as_deref() == Some("wwan") {
        "wwan"
    } else if read_trimmed(&path.join("type")).and_then(|t| t.parse().ok()) == Some(ARPHRD_ETHER) {
        "ethernet"
    } else {
        "other"
    }
}

/// An all-zero address, which some drivers show before the device is up.
fn is_null_mac(mac: &str) -> bool {
    mac.bytes().all(|b| b == b'0' || b == b':')
}

/// A file's text without surrounding white space; `None` when unreadable or empty.
fn read_trimmed(path: &Path) -> Option<String> {
    let text = fs::read_to_string(path).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// The MAC address that best identifies the machine, for its identity key: the first
/// permanent address, by interface name, of
///
/// 1. a wired (Ethernet) interface on the PCI bus — the built-in network card;
/// 2. any other interface on the PCI bus (a built-in Wi-Fi card);
/// 3. an interface on another bus that is not USB (virtio, SDIO, platform devices);
/// 4. a USB interface last: it may be a dongle the technician plugged in, though some boards
///    (Raspberry Pi 3) wire their Ethernet through USB.
///
/// `None` when no interface has a permanent address.
pub fn permanent_mac(ifaces: &[NetworkInterface]) -> Option<String> {
    let rank = |iface: &NetworkInterface| match (iface.kind.as_str(), iface.bus.as_deref()) {
        ("ethernet", Some("pci")) => 0,
        (_, Some("pci")) => 1,
        (_, Some("usb")) => 3,
        _ => 2,
    };
    ifaces
        .iter()
        .filter(|iface| iface.mac_permanent)
        .filter_map(|iface| Some((rank(iface), &iface.name, iface.mac.as_ref()?)))
        .min()
        .map(|(_, _, mac)| mac.clone())
}
