//! Shared by the device-tier tests: running the `atelier` binary and reading what it says.

#![allow(dead_code)] // Each test file uses its own subset.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// One mebibyte.
pub const MIB: u64 = 1 << 20;

/// The `atelier` binary in English with its store in `data_dir`.
pub fn atelier(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_atelier"));
    cmd.arg("--lang").arg("en").arg("--data-dir").arg(data_dir);
    cmd
}

/// Standard error as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The JSON lines of standard output.
pub fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The events named `name`.
pub fn event<'a>(events: &'a [Value], name: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == name).collect()
}

/// `atelier records list --json`.
pub fn records(data: &Path) -> Value {
    let out = atelier(data)
        .args(["records", "list", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `atelier records export ID --json`.
pub fn export(data: &Path, id: &str) -> Value {
    let out = atelier(data)
        .args(["records", "export", id, "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}
