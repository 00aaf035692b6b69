//! The CLI on captured machines (`--root`): device lists, `--all-eligible` selection and the
//! plan, in both languages. No privileges needed: nothing is written.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../atelier-device/tests/fixtures")
        .join(name)
}

fn atelier(lang: &str, root: &str, args: &[&str]) -> Output {
    let data = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_atelier"))
        .arg("--lang")
        .arg(lang)
        .arg("--data-dir")
        .arg(data.path())
        .arg("--root")
        .arg(fixture(root))
        .args(args)
        .output()
        .unwrap()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn devices_json_lists_identity_and_reasons() {
    let out = atelier("en", "qemu-q35", &["devices", "--json"]);
    assert!(out.status.success());
    let v = json(&out);
    let devices = v["devices"].as_array().unwrap();
    let find = |name: &str| {
        devices
            .iter()
            .find(|d| d["device"]["name"] == name)
            .unwrap()
    };
    assert_eq!(find("nvme0n1")["eligible"], true);
    assert_eq!(find("nvme0n1")["identity"]["serial"], "ATL-NVME-01");
    let stick = find("sdc");
    assert_eq!(stick["eligible"], false);
    assert_eq!(stick["refusals"][0]["reason"], "boot_medium");
    assert_eq!(
        stick["refusals"][0]["message"],
        "boot medium: sdc1 is mounted on /run/live/medium"
    );
}

#[test]
fn devices_table_speaks_french() {
    let out = atelier("fr", "qemu-q35", &["devices"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("DISQUE"), "{text}");
    assert!(
        text.contains("support de démarrage : sdc1 est monté sur /run/live/medium"),
        "{text}"
    );
    assert!(text.contains("✓ peut être effacé"), "{text}");
    assert!(text.contains("64,0 Mio"), "{text}");
}

#[test]
fn all_eligible_plans_the_internal_disks_only() {
    let out = atelier(
        "en",
        "qemu-q35",
        &["wipe", "--all-eligible", "--plan-only", "--json"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The boot stick is named as left out, with its reason.
    assert_eq!(events[0]["event"], "skipped");
    assert_eq!(events[0]["device"], "sdc");
    assert_eq!(events[0]["reasons"][0]["reason"], "boot_medium");
    let plan = events
        .iter()
        .find(|e| e["event"] == "plan")
        .unwrap()
        .clone();
    let names: Vec<&str> = plan["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["nvme0n1", "sda", "sdb"]);
    assert_eq!(plan["method"], "overwrite-random");
    assert_eq!(plan["category"], "clear");

    // Including removable media still never takes the boot stick.
    let out = atelier(
        "en",
        "qemu-q35",
        &[
            "wipe",
            "--all-eligible",
            "--include-removable",
            "--plan-only",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sdc is left out"), "{err}");
    assert!(err.contains("Wipe plan (3 disk(s))"), "{err}");
    assert!(err.contains("Clear, not Purge"), "{err}");
}

#[test]
fn a_captured_tree_is_never_wiped() {
    let out = atelier(
        "en",
        "qemu-q35",
        &[
            "wipe",
            "/dev/nvme0n1",
            "--yes-i-understand-this-destroys-data",
        ],
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("captured tree"));
}

#[test]
fn naming_the_boot_stick_or_its_partition_is_refused() {
    let out = atelier("en", "qemu-q35", &["wipe", "/dev/sdc", "--plan-only"]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/dev/sdc will not be wiped"), "{err}");
    assert!(err.contains("boot medium"), "{err}");

    let out = atelier("fr", "qemu-q35", &["wipe", "/dev/sdb1", "--plan-only"]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/dev/sdb1 est une partition de sdb"), "{err}");

    let out = atelier("en", "qemu-q35", &["wipe", "/dev/sdz", "--plan-only"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("atelier devices"));
}

#[test]
fn usage_errors_say_what_to_do() {
    let out = atelier("en", "qemu-q35", &["wipe"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--all-eligible"));
    let out = atelier(
        "fr",
        "qemu-q35",
        &["wipe", "/dev/sda", "--method", "gutmann"],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("méthode inconnue « gutmann »"), "{err}");
    assert!(err.contains("legacy-3pass"), "{err}");
}

#[test]
fn include_removable_goes_with_all_eligible() {
    let out = atelier(
        "en",
        "qemu-q35",
        &["wipe", "/dev/sda", "--include-removable", "--plan-only"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("goes with --all-eligible"));
}

#[test]
fn records_of_an_empty_store() {
    let out = atelier("en", "qemu-q35", &["records", "list", "--json"]);
    assert!(out.status.success());
    assert_eq!(json(&out)["records"], serde_json::json!([]));
    let out = atelier("en", "qemu-q35", &["records", "show", "01234567"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no record in the local store"));
}
