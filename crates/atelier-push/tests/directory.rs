//! Export to a directory (`atelier_push::directory`) and the outbox sink of kind
//! `directory`, on real file systems: a temporary folder, and tmpfs mounts made by the test
//! (read-write, read-only, tiny) to play a plugged-in, locked or full USB stick.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use atelier_push::directory::{self, Bundle, Problem};
use atelier_push::{FlushOptions, Outcome, PushConfig, SinkConfig, enqueue, flush};
use atelier_record::{AssetRecord, Bench, ToolInfo};
use atelier_store::{PushState, Store};
use serde_json::json;
use uuid::Uuid;

fn bundle(dir: &Path, serial: &str) -> Bundle {
    let id = Uuid::now_v7();
    let record_json = json!({"certificate": {"certificate_id": id}, "serial": serial}).to_string();
    let doc = json!({"format": "atelier-signed-record/1", "record_json": record_json, "seal": {}});
    let pdf = dir.join(format!("{id}.pdf"));
    std::fs::write(
        &pdf,
        format!("%PDF-1.7 certificate of {serial}\n").repeat(20),
    )
    .unwrap();
    Bundle {
        certificate_id: id,
        signed_pretty: serde_json::to_string_pretty(&doc).unwrap(),
        signed_line: doc.to_string(),
        glpi_inventory: Some(
            json!({"deviceid": format!("atelier-{serial}"), "action": "inventory",
            "itemtype": "Computer", "content": {"hardware": {"name": serial}}}),
        ),
        pdf: Some(pdf),
    }
}

/// Every file under `root` with its bytes, sorted.
fn snapshot(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn exporting_twice_gives_the_same_files_and_one_line_per_certificate() {
    let bench = tempfile::tempdir().unwrap();
    let stick = tempfile::tempdir().unwrap();
    let (a, b) = (bundle(bench.path(), "PF0A"), bundle(bench.path(), "PF0B"));
    let s = directory::export(stick.path(), std::slice::from_ref(&a), false).unwrap();
    assert_eq!((s.written.len(), s.lines_added), (4, 1), "{s:?}");
    let s = directory::export(stick.path(), &[a.clone(), b.clone()], false).unwrap();
    assert_eq!((s.written.len(), s.lines_added), (4, 1), "{s:?}");
    let first = snapshot(stick.path());
    let s = directory::export(stick.path(), &[b.clone(), a.clone()], false).unwrap();
    assert!(s.written.is_empty(), "{s:?}");
    assert_eq!(s.lines_added, 0);
    assert_eq!(snapshot(stick.path()), first);

    let names: Vec<String> = first
        .iter()
        .map(|(p, _)| p.strip_prefix(stick.path()).unwrap().display().to_string())
        .collect();
    let agent = atelier_push::glpi::agent_id("atelier-PF0A");
    for expected in [
        format!("certificates/{}.json", a.certificate_id),
        format!("certificates/{}.pdf", a.certificate_id),
        format!("glpi/{agent}.json"),
        "certificates.jsonl".to_string(),
    ] {
        assert!(names.contains(&expected), "{expected} not in {names:?}");
    }
    assert_eq!(names.len(), 7, "{names:?}");
    let jsonl = std::fs::read_to_string(stick.path().join("certificates.jsonl")).unwrap();
    let keys: Vec<Uuid> = jsonl.lines().filter_map(directory::line_key).collect();
    assert_eq!(keys, vec![a.certificate_id, b.certificate_id]);
    assert!(jsonl.ends_with('\n'));
    // No temporary file left behind.
    assert!(!names.iter().any(|n| n.contains(".tmp-")), "{names:?}");
}

#[test]
fn lines_written_by_others_are_kept() {
    let bench = tempfile::tempdir().unwrap();
    let stick = tempfile::tempdir().unwrap();
    let other = "{\"from\":\"another bench\"}";
    std::fs::write(stick.path().join("certificates.jsonl"), other).unwrap();
    let a = bundle(bench.path(), "PF0C");
    directory::export(stick.path(), &[a], false).unwrap();
    let jsonl = std::fs::read_to_string(stick.path().join("certificates.jsonl")).unwrap();
    let lines: Vec<&str> = jsonl.lines().collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0], other);
}

#[test]
fn a_missing_or_unmounted_folder_is_named_with_the_next_step() {
    let bench = tempfile::tempdir().unwrap();
    let a = bundle(bench.path(), "PF0D");
    let gone = bench.path().join("usb");
    let e = directory::export(&gone, std::slice::from_ref(&a), false).unwrap_err();
    assert_eq!(e.problem, Problem::Missing);
    let text = e.to_string();
    assert!(
        text.contains(&gone.display().to_string()) && text.contains("plug in"),
        "{text}"
    );
    std::fs::create_dir(&gone).unwrap();
    let e = directory::export(&gone, &[a], true).unwrap_err();
    assert_eq!(e.problem, Problem::NotMounted);
    assert!(
        std::fs::read_dir(&gone).unwrap().next().is_none(),
        "nothing written"
    );
}

/// A tmpfs mounted by the test; unmounted on drop.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(options: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "atelier-test"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            assert!(
                std::env::var("CI").is_err(),
                "cannot mount a tmpfs (root needed)"
            );
            eprintln!("skipped: cannot mount a tmpfs (not root?)");
            return None;
        }
        Some(Tmpfs(dir))
    }

    fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

fn store_with_entry(sink: &SinkConfig, payload: String) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let record = AssetRecord::new(Bench {
        hostname: "bench".into(),
        tool: ToolInfo {
            name: "atelier".into(),
            version: "0".into(),
        },
        operator: None,
        partner: None,
    });
    store.save_record(&record).unwrap();
    enqueue(&store, record.id, sink, payload).unwrap();
    (dir, store)
}

fn flush_once(store: &Store, sink: &SinkConfig) -> Outcome {
    let config = PushConfig {
        sinks: vec![sink.clone()],
        retry_base_seconds: 60,
        ..PushConfig::default()
    };
    config.check().unwrap();
    let options = FlushOptions {
        all_now: true,
        wait: Duration::ZERO,
    };
    let mut out = flush(store, &config, &options, |_| {}).unwrap();
    assert_eq!(out.len(), 1);
    out.remove(0).outcome
}

fn usb_sink(path: &Path) -> SinkConfig {
    toml::from_str(&format!(
        "name = 'usb'\nkind = 'directory'\npath = '{}'\n",
        path.display()
    ))
    .unwrap()
}

#[test]
fn the_usb_sink_waits_for_the_stick_then_delivers_once() {
    let bench = tempfile::tempdir().unwrap();
    let Some(stick) = Tmpfs::mount("size=1m") else {
        return;
    };
    let a = bundle(bench.path(), "PF0E");
    let sink = usb_sink(stick.path());
    let (_d, store) = store_with_entry(&sink, serde_json::to_string(&a).unwrap());
    // Not plugged in: the mount point is an empty folder of the live system.
    let _ = Command::new("umount").arg(stick.path()).status();
    match flush_once(&store, &sink) {
        Outcome::Retry { reason, .. } => {
            assert!(reason.contains("nothing is mounted there"), "{reason}");
            assert!(
                reason.contains(&stick.path().display().to_string()),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(store.outbox().unwrap()[0].state, PushState::Pending);
    assert!(std::fs::read_dir(stick.path()).unwrap().next().is_none());
    // Plugged in.
    let Some(_again) = remount(stick.path(), "size=1m") else {
        return;
    };
    assert!(matches!(
        flush_once(&store, &sink),
        Outcome::Delivered { .. }
    ));
    assert_eq!(store.outbox().unwrap()[0].state, PushState::Delivered);
    let jsonl = std::fs::read_to_string(stick.path().join("certificates.jsonl")).unwrap();
    assert_eq!(jsonl.lines().count(), 1);
    assert_eq!(
        store
            .record(store.outbox().unwrap()[0].record_id)
            .unwrap()
            .deliveries
            .len(),
        1
    );
}

/// Mounts a tmpfs again at `path` (kept mounted until the guard drops).
fn remount(path: &Path, options: &str) -> Option<Unmount> {
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", options, "atelier-test"])
        .arg(path)
        .status()
        .is_ok_and(|s| s.success());
    ok.then(|| Unmount(path.to_path_buf()))
}

struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_read_only_stick_keeps_the_entry_pending_with_a_clear_cause() {
    let bench = tempfile::tempdir().unwrap();
    let Some(stick) = Tmpfs::mount("size=1m,ro") else {
        return;
    };
    let sink = usb_sink(stick.path());
    let (_d, store) = store_with_entry(
        &sink,
        serde_json::to_string(&bundle(bench.path(), "PF0F")).unwrap(),
    );
    match flush_once(&store, &sink) {
        Outcome::Retry { reason, .. } => {
            assert!(
                reason.contains("read-only") && reason.contains("unlock"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(store.outbox().unwrap()[0].state, PushState::Pending);
}

#[test]
fn a_full_stick_keeps_the_entry_pending_and_leaves_no_half_file() {
    let bench = tempfile::tempdir().unwrap();
    let Some(stick) = Tmpfs::mount("size=64k") else {
        return;
    };
    // Something already on the stick: a first certificate, exported while there was room.
    let first = bundle(bench.path(), "PF0G");
    directory::export(stick.path(), std::slice::from_ref(&first), true).unwrap();
    let jsonl_before = std::fs::read(stick.path().join("certificates.jsonl")).unwrap();
    // A second one with a PDF bigger than what is left.
    let mut big = bundle(bench.path(), "PF0H");
    std::fs::write(big.pdf.as_ref().unwrap(), vec![b'x'; 256 * 1024]).unwrap();
    big.glpi_inventory = None;
    let sink = usb_sink(stick.path());
    let (_d, store) = store_with_entry(&sink, serde_json::to_string(&big).unwrap());
    match flush_once(&store, &sink) {
        Outcome::Retry { reason, .. } => {
            assert!(
                reason.contains("full") && reason.contains("free some space"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(store.outbox().unwrap()[0].state, PushState::Pending);
    // The JSON Lines file is untouched, and no temporary or partial PDF is left.
    assert_eq!(
        std::fs::read(stick.path().join("certificates.jsonl")).unwrap(),
        jsonl_before
    );
    let names: Vec<String> = snapshot(stick.path())
        .into_iter()
        .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.contains(".tmp-")), "{names:?}");
    assert!(
        !names.contains(&format!("{}.pdf", big.certificate_id)),
        "{names:?}"
    );
}
