//! Device tier: `atelier wipe` on loop devices made by each test (root needed; with CI=true a
//! missing privilege or tool fails the test instead of skipping it).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use atelier_testkit::{
    LoopDevice, LoopOptions, canary_block, device_tier, line_channel, run, sectors_with_canary,
    send_line,
};
use serde_json::Value;

mod common;

use common::{MIB, atelier, event, export, json_lines};

/// Runs a scripted wipe with JSON output and returns (exit code, events).
fn wipe(data: &Path, dev: &LoopDevice, extra: &[&str]) -> (i32, Vec<Value>, String) {
    let out = atelier(data)
        .args(["wipe", "--json", "--yes-i-understand-this-destroys-data"])
        .args(extra)
        .arg(dev.path())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        json_lines(&out),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn result_entry(events: &[Value]) -> Value {
    let results = event(events, "result");
    assert_eq!(results.len(), 1, "one result expected: {events:?}");
    results[0]["entry"].clone()
}

/// Debian's nwipe checks that the device reads as zeros (the device is always named: nwipe
/// never picks devices itself here). Returns its verdict and its log.
fn nwipe_verify_zero(dev: &LoopDevice, log: &Path) -> (bool, String) {
    let status = Command::new("nwipe")
        .args(["--method=verify_zero", "--nogui", "--autonuke", "--nowait"])
        .arg(format!("--logfile={}", log.display()))
        .arg(dev.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    (
        status.success(),
        std::fs::read_to_string(log).unwrap_or_default(),
    )
}

#[test]
fn zero_wipe_reads_back_as_zeros_and_nwipe_agrees() {
    if !device_tier(&["cmp", "nwipe"]) {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let dev = LoopDevice::new(48 * MIB);
    dev.fill(4096, canary_block);

    // Negative control: nwipe's zero check fails on the canary-filled device.
    let (zeroed, _) = nwipe_verify_zero(&dev, &data.path().join("nwipe-before.log"));
    assert!(!zeroed, "nwipe must reject a device full of canaries");

    let (code, events, stderr) = wipe(data.path(), &dev, &["--pattern", "zero"]);
    assert_eq!(code, 0, "{stderr}");
    let entry = result_entry(&events);
    assert_eq!(entry["outcome"], "PASSED");
    assert_eq!(entry["verification"]["result"], "passed");
    assert_eq!(entry["verification"]["coverage_percent"], 100.0);
    assert_eq!(entry["method"]["passes"], serde_json::json!(["zero"]));
    assert_eq!(entry["category"], "clear");

    // cmp against /dev/zero over the whole device.
    let size = dev.size().to_string();
    run("blockdev", &["--flushbufs", &dev.path_str()]);
    run("cmp", &["-n", &size, &dev.path_str(), "/dev/zero"]);

    // The peer tool agrees.
    let (zeroed, log) = nwipe_verify_zero(&dev, &data.path().join("nwipe-after.log"));
    assert!(zeroed, "nwipe verify_zero failed:\n{log}");
    assert!(log.contains("[SUCCESS]"), "{log}");
}

#[test]
fn random_wipe_leaves_no_canary_and_no_zeros() {
    if !device_tier(&[]) {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let dev = LoopDevice::new(40 * MIB);
    dev.fill(4096, canary_block);
    let before = dev.read_all();
    assert_eq!(sectors_with_canary(&before), before.len() / 512);

    let (code, events, stderr) = wipe(data.path(), &dev, &[]);
    assert_eq!(code, 0, "{stderr}");
    let entry = result_entry(&events);
    assert_eq!(entry["outcome"], "PASSED");
    assert_eq!(entry["method"]["name"], "overwrite-random");
    assert_eq!(entry["verification"]["mode"], "full");
    // A loop device: the policy's reason has its code, and the hidden-area check says why it
    // was not examined (no exception for that).
    assert_eq!(entry["choice"]["code"], "virtual-device");
    assert_eq!(entry["hidden_area"]["status"], "not_examined");
    assert!(
        entry["hidden_area"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("virtual device"),
        "{entry}"
    );
    assert_eq!(entry["exceptions"], serde_json::json!([]));
    assert_eq!(entry["verification"]["bytes_checked"], dev.size());

    let after = dev.read_all();
    assert_eq!(sectors_with_canary(&after), 0, "a canary survived");
    for (i, block) in after.chunks(4096).enumerate() {
        assert_ne!(
            block,
            canary_block(i as u64).as_slice(),
            "block {i} kept its canary"
        );
        assert!(block.iter().any(|&b| b != 0), "block {i} is all zeros");
    }

    // The record is in the store and says the same.
    let id = event(&events, "summary")[0]["record_ids"][0]
        .as_str()
        .unwrap()
        .to_string();
    let rec = export(data.path(), &id);
    assert_eq!(rec["sanitization"][0]["outcome"], "PASSED");
    assert_eq!(rec["sanitization"][0]["device"]["name"], dev.name());
    assert_eq!(
        rec["sanitization"][0]["device"]["loop_backing_file"],
        dev.file().display().to_string()
    );
}

/// Corrupts one sector between the write pass and the verification.
fn corruption_is_caught(pattern: &str, sector_size: Option<u32>, lba: u64) {
    let data = tempfile::tempdir().unwrap();
    let dev = LoopDevice::with(LoopOptions {
        sector_size,
        ..LoopOptions::new(24 * MIB)
    });
    let sector = u64::from(sector_size.unwrap_or(512));
    let mut child = atelier(data.path())
        .args([
            "wipe",
            "--json",
            "--yes-i-understand-this-destroys-data",
            "--pause-before-verify",
        ])
        .args(["--pattern", pattern])
        .arg(dev.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = line_channel(child.stdout.take().unwrap());
    let mut seen = Vec::new();
    loop {
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .expect("the wipe should pause before verifying");
        let is_pause = line.contains("paused_before_verify");
        seen.push(line);
        if is_pause {
            break;
        }
    }
    // One sector that differs from the pattern (0x5A is neither 0x00 nor random-looking).
    dev.write_direct(lba * sector, &vec![0x5A; sector as usize]);
    send_line(child.stdin.as_mut().unwrap(), "");
    let rest: Vec<String> = lines.iter().collect();
    let status = child.wait().unwrap();
    let events: Vec<Value> = seen
        .iter()
        .chain(&rest)
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(status.code(), Some(1), "a failed wipe exits 1");
    let entry = result_entry(&events);
    assert_eq!(entry["outcome"], "FAILED");
    assert_eq!(entry["verification"]["result"], "failed");
    assert_eq!(entry["verification"]["first_mismatch_lba"], lba);
    assert_eq!(entry["verification"]["mismatched_sectors"], 1);
}

#[test]
fn verification_catches_a_sector_changed_after_the_random_pass() {
    if device_tier(&[]) {
        corruption_is_caught("random", None, 12_345);
    }
}

#[test]
fn verification_catches_a_sector_changed_after_the_zero_pass_on_4k_sectors() {
    if device_tier(&[]) {
        corruption_is_caught("zero", Some(4096), 4_097);
    }
}

#[test]
fn odd_sizes_and_4k_sectors_are_wiped_to_the_last_byte() {
    if !device_tier(&[]) {
        return;
    }
    // Not a multiple of the 4 MiB request (nor of 1 MiB): the tail must be written too.
    for (size, sector) in [(17 * MIB + 3 * 512, None), (9 * MIB + 5 * 4096, Some(4096))] {
        let data = tempfile::tempdir().unwrap();
        let dev = LoopDevice::with(LoopOptions {
            sector_size: sector,
            ..LoopOptions::new(size)
        });
        dev.fill(4096, canary_block);
        assert_eq!(dev.size(), size);
        let (code, events, stderr) = wipe(data.path(), &dev, &["--pattern", "zero"]);
        assert_eq!(code, 0, "{stderr}");
        let entry = result_entry(&events);
        assert_eq!(entry["outcome"], "PASSED");
        assert_eq!(
            entry["device"]["logical_sector_size"],
            sector.unwrap_or(512)
        );
        assert_eq!(entry["bytes_written"], size);
        let content = dev.read_all();
        assert!(
            content.iter().all(|&b| b == 0),
            "size {size}: not all zeros"
        );

        // And random with sampled verification on the same device.
        let (code, events, stderr) = wipe(data.path(), &dev, &["--verify", "sampled"]);
        assert_eq!(code, 0, "{stderr}");
        let entry = result_entry(&events);
        assert_eq!(entry["verification"]["mode"], "sampled");
        assert_eq!(entry["verification"]["result"], "passed");
    }
}

#[test]
fn sampled_verification_covers_at_least_ten_percent() {
    if !device_tier(&[]) {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let dev = LoopDevice::new(64 * MIB);
    let (code, events, stderr) = wipe(data.path(), &dev, &["--verify", "sampled"]);
    assert_eq!(code, 0, "{stderr}");
    let entry = result_entry(&events);
    let coverage = entry["verification"]["coverage_percent"].as_f64().unwrap();
    assert!((10.0..40.0).contains(&coverage), "coverage {coverage}");
}

#[test]
fn legacy_three_pass_writes_three_passes_and_verifies_the_last() {
    if !device_tier(&[]) {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let dev = LoopDevice::new(16 * MIB);
    let (code, events, stderr) = wipe(data.path(), &dev, &["--method", "legacy-3pass"]);
    assert_eq!(code, 0, "{stderr}");
    let phases: Vec<&Value> = event(&events, "phase");
    let kinds: Vec<String> = phases
        .iter()
        .map(|p| format!("{}:{}", p["phase"], p["pattern"]))
        .collect();
    assert_eq!(
        kinds,
        [
            "\"write\":\"zero\"",
            "\"write\":\"one\"",
            "\"write\":\"random\"",
            "\"verify\":null"
        ]
    );
    let entry = result_entry(&events);
    assert_eq!(entry["bytes_written"], 3 * dev.size());
    assert_eq!(entry["outcome"], "PASSED");
}
