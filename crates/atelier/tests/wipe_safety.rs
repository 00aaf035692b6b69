//! Device tier: what the bench refuses, and how a wipe survives interruption. Every refusal
//! test checks that the device content is unchanged (hash before = hash after).

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use atelier_testkit::{
    LoopDevice, LoopOptions, canary_block, device_tier, line_channel, run, send_line,
};
use serde_json::Value;

mod common;

use common::{MIB, atelier, export, json_lines, records, stderr};

fn scripted_wipe(data: &Path, dev: &Path) -> Output {
    atelier(data)
        .args(["wipe", "--yes-i-understand-this-destroys-data"])
        .arg(dev)
        .output()
        .unwrap()
}

#[test]
fn a_mounted_device_is_refused_and_left_untouched() {
    if !device_tier(&["mkfs.ext4", "mount", "umount"]) {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let dev = LoopDevice::new(32 * MIB);
    run("mkfs.ext4", &["-q", "-F", &dev.path_str()]);
    let mnt = tempfile::tempdir().unwrap();
    run(
        "mount",
        &[
            "-o",
            "ro",
            &dev.path_str(),
            &mnt.path().display().to_string(),
        ],
    );
    let before = dev.sha256();
    let out = scripted_wipe(data.path(), dev.path());
    run("umount", &[&mnt.path().display().to_string()]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("is mounted on"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("nothing was written"),
        "{}",
        stderr(&out)
    );
    assert_eq!(dev.sha256(), before);
    assert_eq!(records(data.path())["records"], serde_json::json!([]));
}

#[test]
fn a_swap_device_is_refused_and_left_untouched() {
    if !device_tier(&["mkswap", "swapon", "swapoff"]) {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let dev = LoopDevice::new(32 * MIB);
    run("mkswap", &[&dev.path_str()]);
    let before = dev.sha256();
    run("swapon", &[&dev.path_str()]);
    let out = scripted_wipe(data.path(), dev.path());
    run("swapoff", &[&dev.path_str()]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("in use as swap"), "{}", stderr(&out));
    assert_eq!(dev.sha256(), before);
}

#[test]
fn a_read_only_device_is_refused_and_left_untouched() {
    if !device_tier(&[]) {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let dev = LoopDevice::with(LoopOptions {
        read_only: true,
        ..LoopOptions::new(16 * MIB)
    });
    let before = dev.sha256();
    let out = scripted_wipe(data.path(), dev.path());
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("read-only"), "{}", stderr(&out));
    assert_eq!(dev.sha256(), before);
}

#[test]
fn a_partition_is_refused_with_its_disk_named() {
    if !device_tier(&["sfdisk", "partx"]) {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let dev = LoopDevice::new(16 * MIB);
    let mut sfdisk = Command::new("sfdisk")
        .args(["-q", &dev.path_str()])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    send_line(sfdisk.stdin.as_mut().unwrap(), "label: dos\n,8M\n");
    drop(sfdisk.stdin.take());
    assert!(sfdisk.wait().unwrap().success());
    run("partx", &["-a", &dev.path_str()]);
    let part = format!("{}p1", dev.path_str());
    for _ in 0..50 {
        if Path::new(&part).exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let before = dev.sha256();
    let out = scripted_wipe(data.path(), Path::new(&part));
    let _ = Command::new("partx").args(["-d", &dev.path_str()]).status();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("is a partition of {}", dev.name())),
        "{}",
        stderr(&out)
    );
    assert_eq!(dev.sha256(), before);
}

#[test]
fn a_wrong_or_missing_confirmation_writes_nothing() {
    if !device_tier(&[]) {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let dev = LoopDevice::new(8 * MIB);
    dev.fill(4096, canary_block);
    let before = dev.sha256();
    for input in [Some("loop-not-this-one"), None] {
        let mut child = atelier(data.path())
            .arg("wipe")
            .arg(dev.path())
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(text) = input {
            send_line(child.stdin.as_mut().unwrap(), text);
        }
        drop(child.stdin.take());
        let out = child.wait_with_output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{err}");
        assert!(err.contains(&format!("type \"{}\"", dev.name())), "{err}");
        assert!(
            err.contains("does not match") || err.contains("cannot ask"),
            "{err}"
        );
        assert_eq!(dev.sha256(), before);
    }
    // Typing the name does wipe.
    let mut child = atelier(data.path())
        .arg("wipe")
        .arg(dev.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    send_line(child.stdin.as_mut().unwrap(), &dev.name());
    assert!(child.wait().unwrap().success());
    assert_ne!(dev.sha256(), before);
}

/// Starts a wipe, kills it with SIGKILL once `ready` accepts a JSON event, and returns the
/// record id.
fn kill_midway(
    data: &Path,
    dev: &LoopDevice,
    args: &[&str],
    ready: impl Fn(&Value) -> bool,
) -> String {
    let mut child = atelier(data)
        .args(["wipe", "--json", "--yes-i-understand-this-destroys-data"])
        .args(args)
        .arg(dev.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = line_channel(child.stdout.take().unwrap());
    loop {
        let line = lines
            .recv_timeout(Duration::from_secs(120))
            .expect("the wipe ended before the kill point");
        let event: Value = serde_json::from_str(&line).unwrap_or_default();
        assert_ne!(
            event["event"], "result",
            "the wipe finished before the kill point"
        );
        if ready(&event) {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL: no handler runs, nothing is flushed.
    child.wait().unwrap();
    let list = records(data);
    list["records"][0]["id"].as_str().unwrap().to_string()
}

fn resume(data: &Path) -> (Output, Vec<Value>) {
    let out = atelier(data)
        .args([
            "wipe",
            "--resume",
            "--json",
            "--yes-i-understand-this-destroys-data",
        ])
        .output()
        .unwrap();
    let events = json_lines(&out);
    (out, events)
}

#[test]
fn kill_9_between_passes_leaves_interrupted_and_resume_passes() {
    if !device_tier(&[]) {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let dev = LoopDevice::new(64 * MIB);
    dev.fill(4096, canary_block);
    // Killed when the second pass starts: the first is complete and checkpointed.
    let id = kill_midway(data.path(), &dev, &["--method", "legacy-3pass"], |e| {
        e["event"] == "phase" && e["pass_index"] == 1
    });
    let rec = export(data.path(), &id);
    let entry = &rec["sanitization"][0];
    assert_eq!(entry["outcome"], "INTERRUPTED");
    assert_eq!(entry["checkpoint"]["pass_index"], 1);
    assert_eq!(
        records(data.path())["records"][0]["sanitization"][0]["in_progress"],
        false
    );

    let (out, events) = resume(data.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let phases: Vec<String> = events
        .iter()
        .filter(|e| e["event"] == "phase")
        .map(|e| format!("{}{}", e["phase"], e["pass_index"]))
        .collect();
    assert_eq!(phases, ["\"write\"1", "\"write\"2", "\"verify\"null"]);
    let rec = export(data.path(), &id);
    let entry = &rec["sanitization"][0];
    assert_eq!(entry["outcome"], "PASSED");
    assert_eq!(entry["verification"]["mode"], "full");
    assert_eq!(entry["verification"]["coverage_percent"], 100.0);
    assert_eq!(entry["interruptions"].as_array().unwrap().len(), 1);
    assert_eq!(entry["bytes_written"], 3 * dev.size());
    assert!(entry.get("checkpoint").is_none());
}

#[test]
fn kill_9_in_the_middle_of_a_pass_resumes_from_the_checkpoint() {
    if !device_tier(&[]) {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let dev = LoopDevice::new(1024 * MIB);
    // Small requests and frequent checkpoints so the kill lands mid-pass after one.
    let args = [
        "--request-mib",
        "1",
        "--checkpoint-interval-ms",
        "20",
        "--verify",
        "sampled",
    ];
    let id = kill_midway(data.path(), &dev, &args, |e| {
        e["event"] == "checkpoint" && e["pass_index"] == 0 && e["bytes_done"].as_u64() > Some(0)
    });
    let rec = export(data.path(), &id);
    let entry = &rec["sanitization"][0];
    assert_eq!(entry["outcome"], "INTERRUPTED");
    let done = entry["checkpoint"]["bytes_done"].as_u64().unwrap();
    assert!(done > 0 && done < dev.size(), "checkpoint at {done}");

    // A new wipe warns about the interrupted one.
    let other = LoopDevice::new(4 * MIB);
    let out = scripted_wipe(data.path(), other.path());
    assert!(
        stderr(&out).contains("interrupted wipe(s) waiting"),
        "{}",
        stderr(&out)
    );

    let (out, events) = resume(data.path());
    assert!(out.status.success(), "{}", stderr(&out));
    // Requests complete out of order: the first report may still be the checkpoint itself.
    let first_progress = events.iter().find(|e| e["event"] == "progress").unwrap();
    assert!(
        first_progress["bytes_done"].as_u64().unwrap() >= done,
        "resumed from the start?"
    );
    let rec = export(data.path(), &id);
    let entry = &rec["sanitization"][0];
    assert_eq!(entry["outcome"], "PASSED");
    // Sampled was asked; a resumed job is verified in full.
    assert_eq!(entry["verification"]["mode"], "full");
    assert_eq!(entry["verification"]["bytes_checked"], dev.size());
    assert_eq!(entry["interruptions"][0]["from"]["bytes_done"], done);

    // Nothing left to resume.
    let (out, _) = resume(data.path());
    assert!(out.status.success());
    assert!(
        stderr(&out).contains("no interrupted wipe"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn ctrl_c_stops_cleanly_with_a_resumable_record() {
    if !device_tier(&[]) {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let dev = LoopDevice::new(512 * MIB);
    let mut child = atelier(data.path())
        .args([
            "wipe",
            "--json",
            "--yes-i-understand-this-destroys-data",
            "--request-mib",
            "1",
        ])
        .arg(dev.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = line_channel(child.stdout.take().unwrap());
    let first = lines.recv_timeout(Duration::from_secs(60)).unwrap();
    assert!(first.contains("\"plan\""), "{first}");
    lines.recv_timeout(Duration::from_secs(60)).unwrap();
    run("kill", &["-INT", &child.id().to_string()]);
    let rest: Vec<Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str(&l).ok())
        .collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let result = rest
        .iter()
        .find(|e| e["event"] == "result")
        .expect("a result");
    assert_eq!(result["outcome"], "INTERRUPTED");
    assert!(
        result["entry"]["checkpoint"]["bytes_done"]
            .as_u64()
            .is_some()
    );
    let (out, _) = resume(data.path());
    assert!(out.status.success(), "{}", stderr(&out));
}

/// Points loop device `node` at `file` (detaching is asynchronous: retry the attach).
fn reattach(node: &str, file: &str) {
    run("losetup", &["-d", node]);
    for _ in 0..100 {
        let ok = Command::new("losetup")
            .args([node, file])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("cannot attach {file} to {node}");
}

#[test]
fn a_device_swapped_after_the_plan_is_not_written() {
    if !device_tier(&[]) {
        return;
    }
    // The plan is made, then the loop device is re-pointed at another file (a disk swapped
    // in the same slot) before the operator confirms.
    let data = tempfile::tempdir().unwrap();
    let dev = LoopDevice::new(8 * MIB);
    let other_dir = tempfile::tempdir_in("/var/tmp").unwrap();
    let other = other_dir.path().join("other.img");
    std::fs::File::create(&other)
        .unwrap()
        .set_len(8 * MIB)
        .unwrap();
    let mut child = atelier(data.path())
        .args(["wipe", "--json"])
        .arg(dev.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = line_channel(child.stdout.take().unwrap());
    let plan = lines.recv_timeout(Duration::from_secs(30)).unwrap();
    assert!(plan.contains("\"plan\""));
    reattach(&dev.path_str(), &other.display().to_string());
    send_line(child.stdin.as_mut().unwrap(), &dev.name());
    let rest: Vec<Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str(&l).ok())
        .collect();
    let status = child.wait().unwrap();
    // Put the test's own file back so the LoopDevice cleans up what it made.
    reattach(&dev.path_str(), &dev.file().display().to_string());
    // Nothing was written: a refusal (exit 3), and the record says so.
    assert_eq!(status.code(), Some(3));
    let result = rest
        .iter()
        .find(|e| e["event"] == "result")
        .expect("a result");
    assert_eq!(result["started"], false);
    assert_eq!(result["outcome"], "FAILED");
    let detail = result["entry"]["outcome_detail"].as_str().unwrap();
    assert!(detail.contains("nothing written"), "{detail}");
    assert!(
        detail.contains("loop backing file") || detail.contains("gone"),
        "{detail}"
    );
    let content = std::fs::read(&other).unwrap();
    assert!(
        content.iter().all(|&b| b == 0),
        "the swapped-in disk was written"
    );
}

#[test]
fn a_busy_device_is_not_resumed_but_stays_resumable() {
    if !device_tier(&[]) {
        return;
    }
    use std::os::unix::fs::OpenOptionsExt;
    let data = tempfile::tempdir().unwrap();
    let dev = LoopDevice::new(64 * MIB);
    let id = kill_midway(data.path(), &dev, &["--method", "legacy-3pass"], |e| {
        e["event"] == "phase" && e["pass_index"] == 1
    });
    // The plan of a resume writes nothing.
    let before = dev.sha256();
    let out = atelier(data.path())
        .args(["wipe", "--resume", "--plan-only"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("at pass 2/3"), "{}", stderr(&out));
    assert_eq!(dev.sha256(), before);

    // Another program holds the device exclusively.
    let holder = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_EXCL)
        .open(dev.path())
        .unwrap();
    let (out, events) = resume(data.path());
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let result = events.iter().find(|e| e["event"] == "result").unwrap();
    assert_eq!(result["started"], false);
    assert_eq!(
        export(data.path(), &id)["sanitization"][0]["outcome"],
        "INTERRUPTED"
    );
    drop(holder);

    let (out, _) = resume(data.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let rec = export(data.path(), &id);
    assert_eq!(rec["sanitization"][0]["outcome"], "PASSED");
    assert_eq!(
        rec["sanitization"][0]["interruptions"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_ne!(rec["updated_at"], rec["created_at"]);
}

#[test]
fn a_device_being_wiped_is_not_wiped_twice() {
    if !device_tier(&[]) {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let dev = LoopDevice::new(16 * MIB);
    let mut first = atelier(data.path())
        .args([
            "wipe",
            "--json",
            "--yes-i-understand-this-destroys-data",
            "--pause-before-verify",
        ])
        .arg(dev.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = line_channel(first.stdout.take().unwrap());
    while !lines
        .recv_timeout(Duration::from_secs(60))
        .unwrap()
        .contains("paused_before_verify")
    {}
    let second = scripted_wipe(data.path(), dev.path());
    assert_eq!(second.status.code(), Some(3), "{}", stderr(&second));
    assert!(
        stderr(&second).contains("already being wiped by another atelier"),
        "{}",
        stderr(&second)
    );
    send_line(first.stdin.as_mut().unwrap(), "");
    assert!(first.wait().unwrap().success());
}
