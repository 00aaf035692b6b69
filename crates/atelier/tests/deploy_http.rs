//! Device tier: `atelier deploy https://…` and catalogue entries with a `url`, served by a
//! real HTTP server process on 127.0.0.1 (atelier-deploy's `tests/http_server.py`, with
//! fault switches), written to loop devices made by each test.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use atelier_testkit::{LoopDevice, Rng, device_tier, run};
use serde_json::Value;
use sha2::{Digest, Sha256};

mod common;

use common::{MIB, atelier, event, json_lines};

/// The test server process, killed when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(root: &Path) -> Server {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../atelier-deploy/tests/http_server.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(root)
            .arg(root.join("requests.log"))
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the test server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        Server {
            port: line.trim().parse().unwrap(),
            child,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A 24 MiB GPT disk image with random data in its first partition, compressed with zstd
/// into `www/os.img.zst`. Returns (raw image, SHA-256 of the .zst).
fn make_image(www: &Path) -> (Vec<u8>, String) {
    let img = www.join("os.img");
    let mut data = vec![0u8; (24 * MIB) as usize];
    let mut rng = Rng::new(11);
    for b in &mut data[(MIB as usize)..(6 * MIB as usize)] {
        *b = rng.byte();
    }
    fs::write(&img, &data).unwrap();
    run(
        "sgdisk",
        &["-n", "1:2048:+8M", "-n", "2:0:0", img.to_str().unwrap()],
    );
    let raw = fs::read(&img).unwrap();
    run("zstd", &["-q", "--rm", img.to_str().unwrap()]);
    let zst = fs::read(www.join("os.img.zst")).unwrap();
    (raw, hex(&Sha256::digest(&zst)))
}

fn deploy(
    data: &Path,
    image: &str,
    target: &LoopDevice,
    extra: &[&str],
) -> (i32, Vec<Value>, String) {
    let out = atelier(data)
        .args(["deploy", "--json", "--yes-i-understand-this-destroys-data"])
        .args(extra)
        .arg(image)
        .arg("--to")
        .arg(target.path())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        json_lines(&out),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn cache_files(data: &Path) -> Vec<PathBuf> {
    fs::read_dir(data.join("images/cache"))
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default()
}

fn refusal_message(events: &[Value]) -> String {
    event(events, "refused")
        .first()
        .map(|e| e["message"].as_str().unwrap_or_default().to_string())
        .unwrap_or_default()
}

#[test]
fn an_address_is_downloaded_through_a_cut_verified_cached_then_deployed_offline() {
    if !device_tier(&["sgdisk", "zstd", "python3"]) {
        return;
    }
    let www = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let (raw, zst_sha) = make_image(www.path());
    // The hash published beside the image, as downloads.raspberrypi.com does.
    fs::write(
        www.path().join("os.img.zst.sha256"),
        format!("{zst_sha}  os.img.zst\n"),
    )
    .unwrap();
    let server = Server::start(www.path());
    let target = LoopDevice::new(32 * MIB);
    target.fill(1 << 20, |_| vec![0xA5; 1 << 20]);

    // The first answer is cut after 300 000 bytes; the download resumes.
    let url = server.url("cut/300000/os.img.zst");
    let (code, events, err) = deploy(data.path(), &url, &target, &[]);
    assert_eq!(code, 0, "{err}\n{events:?}");
    let dl = event(&events, "download");
    assert_eq!(dl.len(), 1, "{events:?}");
    assert_eq!(dl[0]["from_cache"], false);
    let written = target.read_all();
    assert_eq!(&written[..raw.len()], &raw[..]);
    let result = event(&events, "result")[0];
    assert_eq!(result["outcome"], "PASSED", "{result}");
    assert_eq!(result["deployment"]["image"]["source"], url.as_str());
    assert_eq!(result["deployment"]["image"]["hash_matches"], true);
    assert_eq!(
        result["deployment"]["image"]["file_sha256"],
        zst_sha.as_str()
    );
    assert_eq!(cache_files(data.path()).len(), 1);

    // The server is gone; offline, the cached copy is re-verified and deployed again.
    drop(server);
    target.fill(1 << 20, |_| vec![0x5A; 1 << 20]);
    let (code, events, err) = deploy(
        data.path(),
        &url,
        &target,
        &["--offline", "--sha256", &zst_sha],
    );
    assert_eq!(code, 0, "{err}\n{events:?}");
    assert_eq!(event(&events, "download")[0]["from_cache"], true);
    assert_eq!(&target.read_all()[..raw.len()], &raw[..]);
}

#[test]
fn a_wrong_checksum_or_a_missing_cache_writes_nothing() {
    if !device_tier(&["sgdisk", "zstd", "python3"]) {
        return;
    }
    let www = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let (_, zst_sha) = make_image(www.path());
    let server = Server::start(www.path());
    let target = LoopDevice::new(32 * MIB);
    target.fill(1 << 20, |_| vec![0xA5; 1 << 20]);
    let before = target.sha256();
    let url = server.url("os.img.zst");

    // A catalogue entry whose sha256 is not the served file's.
    let wrong = "0".repeat(64);
    let catalogue = data.path().join("images.toml");
    fs::write(
        &catalogue,
        format!(
            "[[image]]\nname = \"test-os\"\nurl = \"{url}\"\nsha256 = \"{wrong}\"\n\
             customisation = \"none\"\n"
        ),
    )
    .unwrap();
    let cat = catalogue.to_str().unwrap();
    let (code, events, err) = deploy(data.path(), "test-os", &target, &["--catalogue", cat]);
    assert_eq!(code, 3, "refused: {err}\n{events:?}");
    let msg = refusal_message(&events);
    assert!(
        msg.contains("not the published file") && msg.contains(&zst_sha) && msg.contains(&wrong),
        "{msg}"
    );
    assert_eq!(target.sha256(), before, "nothing written");
    assert!(
        cache_files(data.path()).is_empty(),
        "{:?}",
        cache_files(data.path())
    );

    // In French too.
    let out = Command::new(env!("CARGO_BIN_EXE_atelier"))
        .args(["--lang", "fr", "--data-dir"])
        .arg(data.path())
        .args([
            "deploy",
            "--yes-i-understand-this-destroys-data",
            "--catalogue",
            cat,
        ])
        .arg("test-os")
        .arg("--to")
        .arg(target.path())
        .output()
        .unwrap();
    let fr = String::from_utf8_lossy(&out.stderr);
    assert!(fr.contains("ce n'est pas le fichier publié"), "{fr}");

    // Offline with an empty cache: says what is missing; the server is not asked.
    let (code, events, err) = deploy(
        data.path(),
        &url,
        &target,
        &["--offline", "--sha256", &zst_sha],
    );
    assert_eq!(code, 3, "{err}\n{events:?}");
    let msg = refusal_message(&events);
    assert!(
        msg.contains("not in the image cache") && msg.contains(&format!("sha256-{zst_sha}")),
        "{msg}"
    );
    assert_eq!(target.sha256(), before, "nothing written");

    // A bare address without --sha256 and nothing published beside it.
    let (code, events, _) = deploy(data.path(), &url, &target, &[]);
    assert_eq!(code, 3);
    assert!(
        refusal_message(&events).contains("no SHA-256"),
        "{events:?}"
    );

    // 404.
    let (code, events, _) = deploy(
        data.path(),
        &server.url("nothing.img.zst"),
        &target,
        &["--sha256", &zst_sha],
    );
    assert_eq!(code, 3);
    assert!(refusal_message(&events).contains("404"), "{events:?}");
    assert_eq!(target.sha256(), before, "nothing written");

    // The right hash: the catalogue entry deploys, and the record names the address.
    fs::write(
        &catalogue,
        fs::read_to_string(&catalogue)
            .unwrap()
            .replace(&wrong, &zst_sha),
    )
    .unwrap();
    let (code, events, err) = deploy(data.path(), "test-os", &target, &["--catalogue", cat]);
    assert_eq!(code, 0, "{err}\n{events:?}");
    let result = event(&events, "result")[0];
    assert_eq!(result["deployment"]["image"]["name"], "test-os");
    assert_eq!(result["deployment"]["image"]["source"], url.as_str());
}
