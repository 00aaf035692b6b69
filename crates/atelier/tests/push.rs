//! `atelier push` against the simulators (`atelier-simulators`: real HTTP servers on
//! 127.0.0.1 run by this test process — not the real GLPI or HTTPS endpoint): a bench without
//! network queues and sends later; `kill -9` in the middle of a push loses nothing and
//! duplicates nothing.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use atelier_certify::{CertificateRequest, KeyStore, certify};
use atelier_record::{ClockSource, Language};
use atelier_simulators::{Kind, Simulator};
use atelier_store::Store;
use common::{atelier, stderr};
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../atelier-device/tests/fixtures")
        .join(name)
}

/// A store with one certified record of the captured ThinkPad (inventory by the binary, the
/// certificate by `atelier-certify` with the bench key, as `atelier certify` would).
fn certified_store(data: &Path) -> String {
    let out = atelier(data)
        .arg("--root")
        .arg(fixture("qemu-q35"))
        .args(["inventory", "--no-smart"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let store = Store::open(data).unwrap();
    let id = store.records().unwrap()[0].id;
    let key = KeyStore::open(data).unwrap().load_or_create().unwrap();
    store
        .update_record(id, |r| {
            certify(
                r,
                CertificateRequest {
                    issued_at: chrono::Utc::now(),
                    clock: ClockSource::default(),
                    language: Language::En,
                    functional_checks_passed: None,
                },
                &key,
            )
            .unwrap();
        })
        .unwrap();
    id.to_string()
}

fn write_config(data: &Path, http_url: &str, glpi_url: &str) {
    std::fs::write(
        data.join("atelier.toml"),
        format!(
            "[push]\ntimeout_seconds = 1\nretry_base_seconds = 1\nretry_max_seconds = 2\nwait_seconds = 0\n\n\
             [[push.sinks]]\nname = \"archive\"\nkind = \"http\"\nurl = \"{http_url}/records\"\n\n\
             [[push.sinks]]\nname = \"glpi\"\nkind = \"glpi\"\nurl = \"{glpi_url}\"\n"
        ),
    )
    .unwrap();
}

fn status(data: &Path) -> Vec<Value> {
    let out = atelier(data)
        .args(["push", "--status", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["entries"].as_array().unwrap().clone()
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn offline_pushes_wait_in_the_outbox_and_go_when_the_servers_are_back() {
    let data = tempfile::tempdir().unwrap();
    let id = certified_store(data.path());
    let (p1, p2) = (free_port(), free_port());
    write_config(
        data.path(),
        &format!("http://127.0.0.1:{p1}"),
        &format!("http://127.0.0.1:{p2}"),
    );
    let out = atelier(data.path())
        .args(["push", "last"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", stderr(&out));
    assert_eq!(stdout.matches("PENDING").count(), 2, "{stdout}");
    let entries = status(data.path());
    assert_eq!(entries.len(), 2);
    for e in &entries {
        assert_eq!(e["state"], "pending");
        assert!(
            e["last_error"].as_str().unwrap().contains("cannot connect"),
            "{e}"
        );
    }

    let http = Simulator::start_on(Kind::Http, p1).unwrap();
    let glpi = Simulator::start_on(Kind::Glpi, p2).unwrap();
    let out = atelier(data.path()).arg("push").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", stderr(&out));
    assert_eq!(stdout.matches("DELIVERED").count(), 2, "{stdout}");
    assert_eq!(http.state().stored.len(), 1);
    let computers = glpi.state().computers.clone();
    assert_eq!(computers.len(), 1);
    assert_eq!(computers[0].serial, "PF0ABCDE");
    // The generic endpoint received the signed record, which verifies offline.
    let doc = http.state().stored.values().next().unwrap().0.clone();
    let file = data.path().join("pushed.json");
    std::fs::write(&file, doc.to_string()).unwrap();
    let out = atelier(data.path())
        .arg("verify")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // The record lists both deliveries.
    let record = common::export(data.path(), &id);
    let sinks: Vec<&str> = record["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["sink"].as_str().unwrap())
        .collect();
    assert_eq!(sinks.len(), 2, "{sinks:?}");
    assert!(sinks.contains(&"glpi") && sinks.contains(&"archive"));
}

#[test]
fn kill_9_in_the_middle_of_a_push_loses_nothing_and_duplicates_nothing() {
    let data = tempfile::tempdir().unwrap();
    certified_store(data.path());
    let http = Simulator::start(Kind::Http);
    let glpi = Simulator::start(Kind::Glpi);
    for sim in [&http, &glpi] {
        let mut st = sim.state();
        st.faults.slow = 1;
        st.faults.slow_ms = 4000;
    }
    write_config(data.path(), &http.url, &glpi.url);
    std::fs::write(
        data.path().join("atelier.toml"),
        std::fs::read_to_string(data.path().join("atelier.toml"))
            .unwrap()
            .replace("timeout_seconds = 1", "timeout_seconds = 30"),
    )
    .unwrap();
    let mut child = atelier(data.path())
        .args(["push", "last"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the first server has committed and is slow to answer, then kill -9.
    let t = Instant::now();
    while http.state().seen.len() + glpi.state().seen.len() == 0 {
        assert!(t.elapsed() < Duration::from_secs(20), "no request arrived");
        std::thread::sleep(Duration::from_millis(20));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    child.wait().unwrap();
    let entries = status(data.path());
    let states: Vec<&str> = entries
        .iter()
        .map(|e| e["state"].as_str().unwrap())
        .collect();
    assert!(states.contains(&"sending"), "{states:?}");
    assert!(
        entries.iter().any(|e| e["interrupted"] == true),
        "{entries:?}"
    );

    let out = atelier(data.path()).arg("push").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", stderr(&out));
    assert_eq!(http.state().stored.len(), 1, "the endpoint stored it once");
    assert_eq!(glpi.state().computers.len(), 1, "GLPI has one computer");
    for e in status(data.path()) {
        assert_eq!(e["state"], "delivered", "{e}");
    }
}

#[test]
fn certify_queues_the_new_certificate_and_sends_it() {
    if !atelier_testkit::device_tier(&[]) {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let dev = atelier_testkit::LoopDevice::new(8 * common::MIB);
    let out = atelier(data.path())
        .args(["wipe", "--yes-i-understand-this-destroys-data"])
        .arg(dev.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let http = Simulator::start(Kind::Http);
    let glpi = Simulator::start(Kind::Glpi);
    write_config(data.path(), &http.url, &glpi.url);
    let out = atelier(data.path())
        .args(["certify", "last"])
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(text.contains("DELIVERED  archive"), "{text}");
    // The wipe-only record has no inventory: not queued for GLPI, and the message says why.
    assert!(
        text.contains("not queued for \"glpi\"") && text.contains("no inventory"),
        "{text}"
    );
    assert_eq!(http.state().stored.len(), 1);
    assert!(glpi.state().seen.is_empty());
}

#[test]
fn a_full_disk_when_the_acknowledgement_is_written_loses_nothing_and_duplicates_nothing() {
    if !atelier_testkit::device_tier(&["mount"]) {
        return;
    }
    let mnt = tempfile::tempdir().unwrap();
    let ok = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=8m", "atelier-test-full"])
        .arg(mnt.path())
        .status()
        .unwrap();
    assert!(ok.success(), "mount tmpfs");
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _guard = Unmount(mnt.path().to_path_buf());
    let data = mnt.path().join("data");
    certified_store(&data);
    let http = Simulator::start(Kind::Http);
    {
        let mut st = http.state();
        st.faults.slow = 1;
        st.faults.slow_ms = 1500;
    }
    let glpi_port = free_port();
    write_config(&data, &http.url, &format!("http://127.0.0.1:{glpi_port}"));
    std::fs::write(
        data.join("atelier.toml"),
        std::fs::read_to_string(data.join("atelier.toml"))
            .unwrap()
            .replace("timeout_seconds = 1", "timeout_seconds = 30"),
    )
    .unwrap();
    let child = atelier(&data)
        .args(["push", "last"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while http.state().seen.is_empty() {
        assert!(t.elapsed() < Duration::from_secs(20), "no request arrived");
        std::thread::sleep(Duration::from_millis(10));
    }
    // The server has committed and answers slowly: fill the disk meanwhile.
    let filler = mnt.path().join("filler");
    let _ = std::process::Command::new("dd")
        .args(["if=/dev/zero", "bs=64k"])
        .arg(format!("of={}", filler.display()))
        .stderr(Stdio::null())
        .status();
    let out = child.wait_with_output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        !text.contains("DELIVERED  archive"),
        "the acknowledgement could not be stored: {text}"
    );
    std::fs::remove_file(&filler).unwrap();
    let out = atelier(&data)
        .args(["push", "--wait", "0"])
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(text.contains("DELIVERED  archive"), "{text}");
    assert_eq!(http.state().stored.len(), 1, "stored once");
    assert_eq!(
        http.state().seen.len(),
        2,
        "sent again after the disk was freed"
    );
}
