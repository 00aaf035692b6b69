//! Downloads from a real HTTP server process on 127.0.0.1 (`tests/http_server.py`, with
//! fault switches): resume after a cut, wrong content refused, 404 / 500, offline mode, the
//! `.bmap` and `.sha256` published beside an image.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use atelier_deploy::catalogue::{Cache, CacheError};
use atelier_deploy::fetch::{
    FetchError, FetchOptions, Fetched, Fetcher, OfflineReason, bmap_cache_path,
};
use sha2::{Digest, Sha256};

/// The server process, killed when dropped.
struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Server {
    fn start(root: &Path) -> Server {
        let log = root.join("requests.log");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/http_server.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(root)
            .arg(&log)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the test server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("the server prints its port");
        Server { child, port, log }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.port)
    }

    /// The requests served so far: (path, Range header, status).
    fn requests(&self) -> Vec<(String, String, u16)> {
        fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                let range = f[2..f.len() - 1].join(" ");
                (f[1].to_string(), range, f[f.len() - 1].parse().unwrap())
            })
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// 3 MiB of varied bytes (not compressible, not all zero).
fn payload(seed: u8) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9 ^ u32::from(seed);
    (0..3 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn fast() -> FetchOptions {
    FetchOptions {
        attempts: 3,
        retry_delay: Duration::from_millis(50),
        connect_timeout: Duration::from_secs(5),
        stall_timeout: Duration::from_secs(10),
        ..FetchOptions::default()
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    www: PathBuf,
    cache: Cache,
    server: Server,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let www = dir.path().join("www");
    fs::create_dir(&www).unwrap();
    let cache = Cache::new(&dir.path().join("cache")).unwrap();
    let server = Server::start(&www);
    Setup {
        _dir: dir,
        www,
        cache,
        server,
    }
}

impl Setup {
    /// Publishes `payload(seed)` as `www/os.img.xz` and returns its bytes.
    fn publish(&self, seed: u8) -> Vec<u8> {
        let data = payload(seed);
        fs::write(self.www.join("os.img.xz"), &data).unwrap();
        data
    }

    /// `fetcher` downloads `path` of the test server into the cache, expecting `data`.
    fn fetch(&self, fetcher: &Fetcher, path: &str, data: &[u8]) -> Result<Fetched, FetchError> {
        fetcher.fetch(
            &self.cache,
            &self.server.url(path),
            &sha256(data),
            &mut |_, _| {},
        )
    }
}

fn cache_entries(cache: &Cache) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(cache.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_download_is_verified_then_cached_and_reused_without_the_network() {
    let s = setup();
    let data = s.publish(1);
    let fetcher = Fetcher::new(fast()).unwrap();
    let mut seen = Vec::new();
    let got = fetcher
        .fetch(
            &s.cache,
            &s.server.url("os.img.xz"),
            &sha256(&data),
            &mut |done, total| seen.push((done, total)),
        )
        .unwrap();
    assert!(!got.from_cache);
    assert_eq!(got.bytes_downloaded, data.len() as u64);
    assert_eq!(got.path, s.cache.path_for(&sha256(&data)));
    assert_eq!(fs::read(&got.path).unwrap(), data);
    assert_eq!(
        seen.last(),
        Some(&(data.len() as u64, Some(data.len() as u64)))
    );
    assert_eq!(cache_entries(&s.cache).len(), 1, "no partial file left");

    // Offline, the cached copy is used (re-verified) and nothing is asked of the server.
    let offline = Fetcher::new(FetchOptions {
        offline: true,
        ..fast()
    })
    .unwrap();
    let before = s.server.requests().len();
    let again = s.fetch(&offline, "os.img.xz", &data).unwrap();
    assert!(again.from_cache);
    assert_eq!(again.path, got.path);
    assert_eq!(s.server.requests().len(), before);

    // A damaged cached copy is found before use.
    let mut damaged = data.clone();
    damaged[12345] ^= 1;
    fs::write(&got.path, &damaged).unwrap();
    let err = s.fetch(&offline, "os.img.xz", &data).unwrap_err();
    assert!(
        matches!(err, FetchError::Cache(CacheError::Mismatch { .. })),
        "{err}"
    );
    // Online, the damaged copy is replaced by a fresh download.
    let again = s.fetch(&fetcher, "os.img.xz", &data).unwrap();
    assert!(!again.from_cache);
    assert_eq!(fs::read(&again.path).unwrap(), data);
}

#[test]
fn a_connection_cut_mid_way_is_resumed_with_a_range_request() {
    let s = setup();
    let data = s.publish(2);
    let fetcher = Fetcher::new(fast()).unwrap();
    let cut = 1_000_000;
    let got = s
        .fetch(&fetcher, &format!("cut/{cut}/os.img.xz"), &data)
        .unwrap();
    assert_eq!(fs::read(&got.path).unwrap(), data);
    let requests = s.server.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(requests[0].1, "-");
    assert_eq!(requests[1].1, format!("bytes={cut}-"));
    assert_eq!(requests[1].2, 206);
}

#[test]
fn a_download_that_keeps_failing_keeps_its_bytes_for_the_next_run() {
    let s = setup();
    let data = s.publish(3);
    let fetcher = Fetcher::new(FetchOptions {
        attempts: 2,
        ..fast()
    })
    .unwrap();
    // Every answer is cut after 700 000 bytes: two attempts get 1 400 000 bytes.
    let err = s
        .fetch(&fetcher, "cut-always/700000/os.img.xz", &data)
        .unwrap_err();
    match &err {
        FetchError::Network {
            attempts,
            downloaded,
            ..
        } => {
            assert_eq!(*attempts, 2);
            assert_eq!(*downloaded, 1_400_000);
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("resumes"), "{err}");
    assert!(s.cache.get(&sha256(&data)).unwrap().is_none());

    // The next run (the network is back) asks only for the rest.
    let got = s.fetch(&fetcher, "os.img.xz", &data).unwrap();
    assert_eq!(got.bytes_resumed, 1_400_000);
    assert_eq!(got.bytes_downloaded, data.len() as u64 - 1_400_000);
    assert_eq!(fs::read(&got.path).unwrap(), data);
    let last = s.server.requests().pop().unwrap();
    assert_eq!(last.1, "bytes=1400000-");
}

#[test]
fn a_server_ignoring_ranges_restarts_from_zero() {
    let s = setup();
    let data = s.publish(4);
    let fetcher = Fetcher::new(FetchOptions {
        attempts: 1,
        ..fast()
    })
    .unwrap();
    s.fetch(&fetcher, "cut/500000/os.img.xz", &data)
        .unwrap_err();
    let got = s.fetch(&fetcher, "norange/os.img.xz", &data).unwrap();
    assert_eq!(fs::read(&got.path).unwrap(), data);
    assert_eq!(s.server.requests().last().unwrap().2, 200);
}

#[test]
fn wrong_content_is_refused_and_nothing_enters_the_cache() {
    let s = setup();
    let data = s.publish(5);
    let fetcher = Fetcher::new(fast()).unwrap();
    let expected = sha256(b"the published file");
    let err = fetcher
        .fetch(
            &s.cache,
            &s.server.url("os.img.xz"),
            &expected,
            &mut |_, _| {},
        )
        .unwrap_err();
    match &err {
        FetchError::Mismatch {
            expected: e,
            computed,
            ..
        } => {
            assert_eq!(e, &atelier_deploy::image::to_hex(&expected));
            assert_eq!(computed, &atelier_deploy::image::to_hex(&sha256(&data)));
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("deleted"), "{err}");
    assert!(
        cache_entries(&s.cache).is_empty(),
        "{:?}",
        cache_entries(&s.cache)
    );
}

#[test]
fn not_found_is_final_and_server_errors_are_retried() {
    let s = setup();
    let fetcher = Fetcher::new(fast()).unwrap();
    let hash = sha256(b"x");
    let err = fetcher
        .fetch(
            &s.cache,
            &s.server.url("missing.img"),
            &hash,
            &mut |_, _| {},
        )
        .unwrap_err();
    assert!(
        matches!(err, FetchError::Status { status: 404, .. }),
        "{err}"
    );
    assert_eq!(s.server.requests().len(), 1, "a 404 is not retried");

    let err = fetcher
        .fetch(
            &s.cache,
            &s.server.url("status/500/os.img"),
            &hash,
            &mut |_, _| {},
        )
        .unwrap_err();
    assert!(
        matches!(err, FetchError::Status { status: 500, .. }),
        "{err}"
    );
    assert_eq!(s.server.requests().len(), 1 + 3, "a 500 is tried 3 times");
    assert!(
        cache_entries(&s.cache).is_empty(),
        "{:?}",
        cache_entries(&s.cache)
    );
}

#[test]
fn offline_without_the_file_says_what_is_missing_and_asks_nothing() {
    let s = setup();
    let data = s.publish(6);
    let fetcher = Fetcher::new(FetchOptions {
        offline: true,
        ..fast()
    })
    .unwrap();
    let err = s.fetch(&fetcher, "os.img.xz", &data).unwrap_err();
    match &err {
        FetchError::Offline { path, reason, .. } => {
            assert_eq!(*reason, OfflineReason::Asked);
            assert_eq!(path, &s.cache.path_for(&sha256(&data)));
        }
        other => panic!("{other}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("os.img.xz") && msg.contains("not in the image cache"));
    assert!(s.server.requests().is_empty());
    // Offline, no block map and no published hash are looked for either.
    assert_eq!(
        fetcher
            .fetch_bmap(&s.cache, &s.server.url("os.img.xz"), &sha256(&data))
            .unwrap(),
        None
    );
    assert_eq!(
        fetcher
            .published_sha256(&s.server.url("os.img.xz"))
            .unwrap(),
        None
    );
    assert!(s.server.requests().is_empty());
}

#[test]
fn the_bmap_and_sha256_published_beside_an_image_are_fetched() {
    let s = setup();
    let data = s.publish(7);
    let fetcher = Fetcher::new(fast()).unwrap();
    let hash = sha256(&data);
    // No .sha256 and no .bmap yet.
    assert_eq!(
        fetcher
            .published_sha256(&s.server.url("os.img.xz"))
            .unwrap(),
        None
    );
    assert_eq!(
        fetcher
            .fetch_bmap(&s.cache, &s.server.url("os.img.xz"), &hash)
            .unwrap(),
        None
    );
    fs::write(
        s.www.join("os.img.xz.sha256"),
        format!("{}  os.img.xz\n", atelier_deploy::image::to_hex(&hash)),
    )
    .unwrap();
    assert_eq!(
        fetcher
            .published_sha256(&s.server.url("os.img.xz"))
            .unwrap(),
        Some(hash)
    );

    // A bmap named after the decompressed image (os.img.bmap), made by bmaptool itself.
    let img = s.www.join("os.img");
    fs::write(&img, &data).unwrap();
    fs::File::options()
        .write(true)
        .open(&img)
        .unwrap()
        .set_len(8 << 20)
        .unwrap();
    let bmap = s.www.join("os.img.bmap");
    let ok = Command::new("bmaptool")
        .args(["create", "-o"])
        .arg(&bmap)
        .arg(&img)
        .status()
        .map(|st| st.success())
        .unwrap_or(false);
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("bmaptool is needed (scripts/setup.sh installs bmap-tools)");
        }
        eprintln!("skipped: bmaptool not available");
        return;
    }
    let got = fetcher
        .fetch_bmap(&s.cache, &s.server.url("os.img.xz"), &hash)
        .unwrap()
        .expect("the bmap beside the image");
    assert_eq!(got, bmap_cache_path(&s.cache, &hash));
    assert_eq!(fs::read(&got).unwrap(), fs::read(&bmap).unwrap());
    // Later, offline: the cached one.
    let offline = Fetcher::new(FetchOptions {
        offline: true,
        ..fast()
    })
    .unwrap();
    assert_eq!(
        offline
            .fetch_bmap(&s.cache, &s.server.url("os.img.xz"), &hash)
            .unwrap(),
        Some(got)
    );

    // A damaged bmap is refused, not silently ignored.
    let text = fs::read_to_string(&bmap).unwrap();
    fs::write(
        s.www.join("other.img.bmap"),
        text.replace("<BlockMap>", "<Blockmap>"),
    )
    .unwrap();
    let err = fetcher
        .fetch_bmap(&s.cache, &s.server.url("other.img.xz"), &sha256(b"o"))
        .unwrap_err();
    assert!(matches!(err, FetchError::Bmap { .. }), "{err}");
}
