//! Network interfaces: the reader over a fixture tree laid out like sysfs (a laptop with every
//! kind of interface, virtual ones, a captured tree whose links lead nowhere), the choice of the
//! permanent MAC, and this machine's interfaces checked against `ip -j link` (netlink).

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use atelier_inventory::network::{self, permanent_mac};
use atelier_record::NetworkInterface;
use serde_json::Value;

/// One interface of the fixture.
struct Iface<'a> {
    name: &'a str,
    arphrd: &'a str,
    address: &'a str,
    assign_type: &'a str,
    devtype: Option<&'a str>,
    /// `(device directory under sys/devices, bus, driver)`; `None` for a virtual interface.
    device: Option<(&'a str, &'a str, &'a str)>,
    wireless: bool,
}

impl Default for Iface<'_> {
    fn default() -> Self {
        Iface {
            name: "",
            arphrd: "1",
            address: "",
            assign_type: "0",
            devtype: None,
            device: None,
            wireless: false,
        }
    }
}

fn write_iface(root: &Path, iface: &Iface<'_>) {
    let dir = root.join("sys/class/net").join(iface.name);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("type"), format!("{}\n", iface.arphrd)).unwrap();
    fs::write(dir.join("address"), format!("{}\n", iface.address)).unwrap();
    fs::write(
        dir.join("addr_assign_type"),
        format!("{}\n", iface.assign_type),
    )
    .unwrap();
    let mut uevent = String::new();
    if let Some(devtype) = iface.devtype {
        uevent.push_str(&format!("DEVTYPE={devtype}\n"));
    }
    uevent.push_str(&format!("INTERFACE={}\nIFINDEX=3\n", iface.name));
    fs::write(dir.join("uevent"), uevent).unwrap();
    if let Some((device, bus, driver)) = iface.device {
        let device_dir = root.join("sys/devices").join(device);
        fs::create_dir_all(&device_dir).unwrap();
        let _ = symlink(
            format!("../../../bus/{bus}/drivers/{driver}"),
            device_dir.join("driver"),
        );
        let _ = symlink(format!("../../../bus/{bus}"), device_dir.join("subsystem"));
        symlink(format!("../../../devices/{device}"), dir.join("device")).unwrap();
    }
    if iface.wireless {
        fs::create_dir_all(dir.join("wireless")).unwrap();
    }
}

fn laptop(root: &Path) {
    let ifaces = [
        Iface {
            name: "lo",
            arphrd: "772",
            address: "00:00:00:00:00:00",
            ..Default::default()
        },
        Iface {
            name: "enp0s31f6",
            address: "8c:16:45:0a:0b:0c",
            device: Some(("pci0000:00/0000:00:1f.6", "pci", "e1000e")),
            ..Default::default()
        },
        Iface {
            name: "wlp3s0",
            address: "3e:21:9a:00:11:22",
            assign_type: "1",
            devtype: Some("wlan"),
            device: Some(("pci0000:00/0000:03:00.0", "pci", "iwlwifi")),
            ..Default::default()
        },
        Iface {
            name: "wlx00c0ca000001",
            address: "00:c0:ca:00:00:01",
            device: Some(("usb1/1-2/1-2:1.0", "usb", "rt2800usb")),
            wireless: true,
            ..Default::default()
        },
        Iface {
            name: "wwan0",
            address: "0e:00:00:00:00:01",
            devtype: Some("wwan"),
            device: Some(("usb1/1-6/1-6:1.8", "usb", "qmi_wwan")),
            ..Default::default()
        },
        Iface {
            name: "enx00e04c680001",
            address: "00:e0:4c:68:00:01",
            device: Some(("usb1/1-3/1-3:1.0", "usb", "r8152")),
            ..Default::default()
        },
        Iface {
            name: "can0",
            arphrd: "280",
            device: Some(("pci0000:00/0000:05:00.0", "pci", "peak_pci")),
            ..Default::default()
        },
        Iface {
            name: "eth9",
            address: "00:00:00:00:00:00",
            device: Some(("platform/zero.0", "platform", "zero")),
            ..Default::default()
        },
        Iface {
            name: "docker0",
            address: "02:42:ac:11:00:01",
            assign_type: "3",
            devtype: Some("bridge"),
            ..Default::default()
        },
        Iface {
            name: "tun0",
            arphrd: "65534",
            devtype: None,
            ..Default::default()
        },
    ];
    for iface in &ifaces {
        write_iface(root, iface);
    }
    // The Wi-Fi card's second marker: its phy.
    symlink(
        "../../../devices/pci0000:00/0000:03:00.0/ieee80211/phy0",
        root.join("sys/class/net/wlp3s0/phy80211"),
    )
    .unwrap();
}

fn iface(
    name: &str,
    kind: &str,
    mac: &str,
    permanent: bool,
    driver: &str,
    bus: &str,
) -> NetworkInterface {
    let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    NetworkInterface {
        name: name.into(),
        kind: kind.into(),
        mac: some(mac),
        mac_permanent: permanent,
        driver: some(driver),
        bus: some(bus),
        source: format!("/sys/class/net/{name}"),
    }
}

#[test]
fn reads_physical_interfaces_by_name_with_kind_mac_driver_and_bus() {
    let tmp = tempfile::tempdir().unwrap();
    laptop(tmp.path());
    let (ifaces, warnings) = network::read_network(tmp.path());
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        ifaces,
        [
            iface("can0", "other", "", false, "peak_pci", "pci"),
            iface(
                "enp0s31f6",
                "ethernet",
                "8c:16:45:0a:0b:0c",
                true,
                "e1000e",
                "pci"
            ),
            iface(
                "enx00e04c680001",
                "ethernet",
                "00:e0:4c:68:00:01",
                true,
                "r8152",
                "usb"
            ),
            iface("eth9", "ethernet", "", false, "zero", "platform"),
            iface(
                "wlp3s0",
                "wifi",
                "3e:21:9a:00:11:22",
                false,
                "iwlwifi",
                "pci"
            ),
            iface(
                "wlx00c0ca000001",
                "wifi",
                "00:c0:ca:00:00:01",
                true,
                "rt2800usb",
                "usb"
            ),
            iface(
                "wwan0",
                "wwan",
                "0e:00:00:00:00:01",
                // addr_assign_type 0, but locally administered (0x0e has bit 1 set).
                false,
                "qmi_wwan",
                "usb"
            ),
        ]
    );
}

#[test]
fn each_kind_marker_alone_decides() {
    let tmp = tempfile::tempdir().unwrap();
    let device = Some(("pci0000:00/0000:00:03.0", "pci", "drv"));
    let cases = [
        ("a_phy", "1", None, false, "wifi"),
        ("b_wireless", "1", None, true, "wifi"),
        ("c_wlan", "1", Some("wlan"), false, "wifi"),
        ("d_wwan_ether", "1", Some("wwan"), false, "wwan"),
        ("e_wwan_rawip", "65534", Some("wwan"), false, "wwan"),
        ("f_ether", "1", None, false, "ethernet"),
        ("g_infiniband", "32", None, false, "other"),
        ("h_garbled_type", "ether", None, false, "other"),
    ];
    for (name, arphrd, devtype, wireless, _) in cases {
        write_iface(
            tmp.path(),
            &Iface {
                name,
                arphrd,
                devtype,
                wireless,
                address: "00:11:22:33:44:55",
                device,
                ..Default::default()
            },
        );
    }
    symlink(
        "../../../devices/phy",
        tmp.path().join("sys/class/net/a_phy/phy80211"),
    )
    .unwrap();
    let (ifaces, _) = network::read_network(tmp.path());
    let kinds: Vec<(&str, &str)> = ifaces
        .iter()
        .map(|i| (i.name.as_str(), i.kind.as_str()))
        .collect();
    let expected: Vec<(&str, &str)> = cases.iter().map(|c| (c.0, c.4)).collect();
    assert_eq!(kinds, expected);
}

#[test]
fn address_assign_types_other_than_permanent_are_not_permanent() {
    let tmp = tempfile::tempdir().unwrap();
    let device = Some(("pci0000:00/0000:00:03.0", "pci", "drv"));
    for (name, assign_type) in [
        ("perm", "0"),
        ("random", "1"),
        ("stolen", "2"),
        ("set", "3"),
        ("garbled", "x"),
        ("empty", ""),
    ] {
        write_iface(
            tmp.path(),
            &Iface {
                name,
                assign_type,
                address: "00:11:22:33:44:55",
                device,
                ..Default::default()
            },
        );
    }
    fs::remove_file(tmp.path().join("sys/class/net/empty/addr_assign_type")).unwrap();
    let (ifaces, warnings) = network::read_network(tmp.path());
    assert!(warnings.is_empty());
    let permanent: Vec<&str> = ifaces
        .iter()
        .filter(|i| i.mac_permanent)
        .map(|i| i.name.as_str())
        .collect();
    assert_eq!(permanent, ["perm"]);
    assert_eq!(ifaces.len(), 6);
}

#[test]
fn a_captured_tree_keeps_interfaces_whose_links_lead_nowhere() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sys/class/net/eno1");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("type"), "1\n").unwrap();
    fs::write(dir.join("address"), "00:11:22:33:44:55\n").unwrap();
    fs::write(dir.join("addr_assign_type"), "0\n").unwrap();
    symlink(
        "../../../devices/pci0000:00/0000:00:19.0",
        dir.join("device"),
    )
    .unwrap();
    let (ifaces, warnings) = network::read_network(tmp.path());
    assert!(warnings.is_empty());
    assert_eq!(
        ifaces,
        [iface("eno1", "ethernet", "00:11:22:33:44:55", true, "", "")]
    );
}

#[test]
fn a_tree_without_sys_class_net_is_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let (ifaces, warnings) = network::read_network(tmp.path());
    assert!(ifaces.is_empty());
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].probe, "network");
    assert!(warnings[0].message.contains("/sys/class/net"));
}

#[test]
fn permanent_mac_prefers_built_in_wired_then_pci_then_other_buses_then_usb() {
    let wired_pci_b = iface(
        "enp2s0",
        "ethernet",
        "00:00:00:00:00:b2",
        true,
        "r8169",
        "pci",
    );
    let wired_pci_a = iface(
        "eno1",
        "ethernet",
        "00:00:00:00:00:a1",
        true,
        "e1000e",
        "pci",
    );
    let wired_pci_random = iface("eno0", "ethernet", "3e:00:00:00:00:01", false, "igb", "pci");
    let wifi_pci = iface(
        "wlp3s0",
        "wifi",
        "00:00:00:00:00:03",
        true,
        "iwlwifi",
        "pci",
    );
    let virtio = iface(
        "eth0",
        "ethernet",
        "52:54:00:00:00:01",
        true,
        "virtio_net",
        "virtio",
    );
    let usb = iface(
        "enx0",
        "ethernet",
        "00:00:00:00:00:05",
        true,
        "r8152",
        "usb",
    );
    let no_mac = iface("can0", "other", "", false, "peak_pci", "pci");

    let all = [
        usb.clone(),
        virtio.clone(),
        wifi_pci.clone(),
        wired_pci_random.clone(),
        wired_pci_b.clone(),
        wired_pci_a.clone(),
        no_mac.clone(),
    ];
    assert_eq!(permanent_mac(&all).as_deref(), Some("00:00:00:00:00:a1"));
    assert_eq!(
        permanent_mac(&all[..5]).as_deref(),
        Some("00:00:00:00:00:b2")
    );
    assert_eq!(
        permanent_mac(&all[..4]).as_deref(),
        Some("00:00:00:00:00:03")
    );
    assert_eq!(
        permanent_mac(&all[..2]).as_deref(),
        Some("52:54:00:00:00:01")
    );
    assert_eq!(
        permanent_mac(&all[..1]).as_deref(),
        Some("00:00:00:00:00:05")
    );
    assert_eq!(permanent_mac(&[wired_pci_random, no_mac]), None);
    assert_eq!(permanent_mac(&[]), None);
}

#[test]
fn permanent_mac_of_the_fixture_laptop_is_its_built_in_ethernet() {
    let tmp = tempfile::tempdir().unwrap();
    laptop(tmp.path());
    let (ifaces, _) = network::read_network(tmp.path());
    assert_eq!(permanent_mac(&ifaces).as_deref(), Some("8c:16:45:0a:0b:0c"));
}

#[test]
fn reads_this_machine_and_agrees_with_ip_link() {
    let root = Path::new("/");
    let (ifaces, warnings) = network::read_network(root);
    eprintln!("this machine: {ifaces:#?}\nwarnings {warnings:?}");
    assert!(warnings.is_empty(), "{warnings:?}");
    let sys = root.join("sys/class/net");
    let physical: Vec<String> = fs::read_dir(&sys)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name != "lo")
        .filter(|name| {
            // Independent of the reader: the interface's real path is not under
            // /sys/devices/virtual.
            let real = fs::canonicalize(sys.join(name)).unwrap();
            !real.starts_with("/sys/devices/virtual")
        })
        .collect();
    let mut names: Vec<&str> = ifaces.iter().map(|i| i.name.as_str()).collect();
    let mut expected: Vec<&str> = physical.iter().map(String::as_str).collect();
    expected.sort();
    assert_eq!(names, expected);
    names.dedup();
    assert_eq!(names.len(), ifaces.len());
    if !atelier_testkit::tool_available("ip") {
        eprintln!("skipped the netlink comparison: no `ip`");
        return;
    }
    let links: Value = serde_json::from_str(&atelier_testkit::run("ip", &["-j", "link", "show"]))
        .expect("ip -j prints JSON");
    for iface in &ifaces {
        let link = links
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["ifname"] == iface.name.as_str())
            .expect("ip knows every interface");
        assert_eq!(
            iface.mac.as_deref(),
            link["address"].as_str(),
            "{}",
            iface.name
        );
        // `permaddr` (IFLA_PERM_ADDRESS) is shown when it differs from the current address.
        if iface.mac_permanent {
            assert!(link.get("permaddr").is_none(), "{link}");
        }
        if link["link_type"] == "ether" && iface.kind != "wifi" && iface.kind != "wwan" {
            assert_eq!(iface.kind, "ethernet");
        }
        assert!(iface.driver.is_some(), "{iface:?}");
        assert!(iface.bus.is_some(), "{iface:?}");
    }
    let permanent: Vec<&str> = ifaces
        .iter()
        .filter(|i| i.mac_permanent)
        .filter_map(|i| i.mac.as_deref())
        .collect();
    match permanent_mac(&ifaces) {
        Some(mac) => assert!(permanent.contains(&mac.as_str()), "{mac}"),
        None => assert!(permanent.is_empty()),
    }
}
