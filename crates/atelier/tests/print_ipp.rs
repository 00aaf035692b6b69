//! `atelier print` against a real IPP print server: CUPS's `cupsd` (Debian package
//! cups-daemon), started by the test in the foreground on 127.0.0.1 with its own folders and one
//! raw queue, keeping the documents it receives (`PreserveJobFiles`). The jobs must arrive,
//! and be the PDFs Atelier wrote.
//!
//! (`ippeveprinter` from CUPS 2.4.2 cannot start here: it initialises DNS-SD, which needs a
//! running avahi-daemon, even with `-r off`.)

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use atelier_record::{AssetRecord, Bench, ToolInfo};

mod common;

use common::{atelier, stderr};

/// A `cupsd` process with its folders, killed when dropped.
struct Cups {
    child: Child,
    dir: tempfile::TempDir,
    server: String,
}

impl Drop for Cups {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The queue the test server offers, and its default printer.
const QUEUE: &str = "atelier-test";

fn start_cups() -> Option<Cups> {
    let ci = std::env::var("CI").as_deref() == Ok("true");
    if !Path::new("/usr/sbin/cupsd").exists() || !nix::unistd::geteuid().is_root() {
        assert!(!ci, "cupsd (cups-daemon) and root are needed in CI");
        eprintln!("skipped: needs /usr/sbin/cupsd (apt install cups-daemon) and root");
        return None;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for sub in ["conf", "spool", "tmp", "cache", "state", "log", "out"] {
        fs::create_dir_all(d.join(sub)).unwrap();
    }
    // Backends run as the lp user: they must be able to write the output file.
    for sub in ["tmp", "out"] {
        let path = d.join(sub);
        let mut perms = fs::metadata(&path).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o1777);
        fs::set_permissions(&path, perms).unwrap();
    }
    fs::write(
        d.join("conf/cupsd.conf"),
        format!(
            "Listen 127.0.0.1:{port}\nBrowsing Off\nLogLevel warn\nPreserveJobFiles Yes\n\
             DefaultAuthType None\nWebInterface No\n\
             <Location />\n  Order allow,deny\n  Allow all\n</Location>\n\
             <Policy default>\n  <Limit All>\n    Order deny,allow\n  </Limit>\n</Policy>\n"
        ),
    )
    .unwrap();
    let p = |sub: &str| d.join(sub).display().to_string();
    fs::write(
        d.join("conf/cups-files.conf"),
        format!(
            "FileDevice Yes\nServerRoot {}\nRequestRoot {}\nTempDir {}\nCacheDir {}\n\
             StateDir {}\nAccessLog {}/access_log\nErrorLog {}/error_log\nPageLog {}/page_log\n",
            p("conf"),
            p("spool"),
            p("tmp"),
            p("cache"),
            p("state"),
            p("log"),
            p("log"),
            p("log")
        ),
    )
    .unwrap();
    fs::write(
        d.join("conf/printers.conf"),
        format!(
            "<DefaultPrinter {QUEUE}>\nDeviceURI file://{}/job.out\nState Idle\nAccepting Yes\n\
             Shared No\n</DefaultPrinter>\n",
            p("out")
        ),
    )
    .unwrap();
    let child = Command::new("/usr/sbin/cupsd")
        .arg("-f")
        .arg("-c")
        .arg(d.join("conf/cupsd.conf"))
        .arg("-s")
        .arg(d.join("conf/cups-files.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start cupsd");
    let cups = Cups {
        child,
        dir,
        server: format!("127.0.0.1:{port}"),
    };
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "cupsd did not listen: {}",
            fs::read_to_string(cups.dir.path().join("log/error_log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(cups)
}

/// The documents the server kept (`d<job>-<doc>` files), waiting until `count` are there.
fn spooled(dir: &Path, count: usize) -> Vec<PathBuf> {
    let start = Instant::now();
    loop {
        let mut files: Vec<PathBuf> = fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('d'))
            })
            .collect();
        files.sort();
        if files.len() >= count || start.elapsed() > Duration::from_secs(20) {
            return files;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn certified_record(data: &Path) -> String {
    let mut record = AssetRecord::new(Bench {
        hostname: "banc-ipp".into(),
        tool: ToolInfo {
            name: "atelier".into(),
            version: "0.1.0".into(),
        },
        operator: None,
        partner: None,
    });
    record.sanitization = vec![
        serde_json::from_value(serde_json::json!({
            "id": uuid::Uuid::now_v7(),
            "device": {
                "name": "sdb", "path": "/dev/sdb", "model": "TOSHIBA MQ01ABD100",
                "serial": "Z5IPPTEST", "transport": "sata", "media": "magnetic",
                "size_bytes": 1_000_204_886_016u64, "logical_sector_size": 512,
                "physical_sector_size": 4096, "rotational": true, "removable": false
            },
            "category": "clear",
            "method": { "name": "overwrite-zero", "technique": "overwrite", "passes": ["zero"],
                        "request_size_bytes": 8_388_608 },
            "verification": { "mode": "sampled", "result": "passed",
                              "bytes_checked": 100_020_488_601u64, "coverage_percent": 10.0,
                              "mismatched_sectors": 0, "unreadable_sectors": 0 },
            "started_at": "2026-03-14T09:00:00Z", "ended_at": "2026-03-14T11:30:00Z",
            "duration_seconds": 9000.0, "bytes_written": 1_000_204_886_016u64,
            "tool": { "name": "atelier", "version": "0.1.0" }, "outcome": "PASSED"
        }))
        .unwrap(),
    ];
    let store = atelier_store::Store::open(data).unwrap();
    store.save_record(&record).unwrap();
    let id = record.id.to_string();
    let out = atelier(data).args(["certify", &id]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    id
}

#[test]
fn certificate_and_label_reach_a_real_ipp_server_as_pdfs() {
    let Some(cups) = start_cups() else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let id = certified_record(data.path());

    // 1. An explicit printer URI.
    let uri = format!("ipp://{}/printers/{QUEUE}", cups.server);
    let out = atelier(data.path())
        .args(["print", "certificate", &id, "--printer", &uri])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Sent to the printer"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains(&uri), "{}", stderr(&out));

    // 2. No printer configured: the CUPS server's default printer (CUPS-Get-Default).
    let out = atelier(data.path())
        .env("CUPS_SERVER", &cups.server)
        .args(["print", "label", &id])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains(QUEUE), "{}", stderr(&out));

    // 3. A queue name from [printer] uri, on the server CUPS_SERVER names.
    fs::write(
        data.path().join("atelier.toml"),
        format!("[printer]\nuri = \"{QUEUE}\"\n"),
    )
    .unwrap();
    let out = atelier(data.path())
        .env("CUPS_SERVER", &cups.server)
        .args(["print", "certificate", &id])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));

    let files = spooled(&cups.dir.path().join("spool"), 3);
    assert_eq!(files.len(), 3, "{files:?}");
    let kept: Vec<Vec<u8>> = files.iter().map(|f| fs::read(f).unwrap()).collect();
    for doc in &kept {
        assert!(
            doc.starts_with(b"%PDF-"),
            "not a PDF: {:?}",
            &doc[..16.min(doc.len())]
        );
    }
    // The certificate that arrived is the one kept in the data folder, byte for byte.
    let cert_id = common::export(data.path(), &id)["certificate"]["certificate_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let written = fs::read(data.path().join(format!("certificates/{cert_id}.pdf"))).unwrap();
    assert_eq!(kept[0], written, "the printed certificate differs");
    assert_eq!(kept[2], written);
    let label = fs::read_dir(data.path().join("labels"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert_eq!(kept[1], fs::read(label).unwrap());
}

#[test]
fn an_unreachable_printer_fails_with_its_address() {
    let data = tempfile::tempdir().unwrap();
    let id = certified_record(data.path());
    let out = atelier(data.path())
        .args([
            "print",
            "certificate",
            &id,
            "--printer",
            "ipp://127.0.0.1:9/ipp/print",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("127.0.0.1:9"), "{}", stderr(&out));
}
