//! Downloading images over HTTP(S) into the content-addressed [`Cache`].
//!
//! A download is checked against the SHA-256 the catalogue (or the operator) gives before
//! it enters the cache; nothing of it is ever written to a target before that. The protocol
//! parts used:
//!
//! - RFC 9110 §14 (range requests): an interrupted download is resumed with
//!   `Range: bytes=N-`; a `206 Partial Content` whose `Content-Range` (§14.4) starts at `N` is
//!   appended, a `200 OK` (the server ignores ranges, §14.2) restarts from zero, and a
//!   `416 Range Not Satisfiable` (§15.5.17) on a partial file means it may already be
//!   complete (the hash decides).
//! - RFC 9110 §15 (status codes): 4xx is final (the address is wrong), 5xx and cut
//!   connections are retried with a growing delay.
//! - Proxies come from the environment (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`,
//!   `NO_PROXY`), as reqwest reads them.
//!
//! The partial file is named after the expected hash (`.download-sha256-…` in the cache
//! directory), so a download cut by a power failure or a closed lid resumes at the next
//! attempt too. A file whose hash is wrong is removed: resuming it could never succeed.
//!
//! Streaming the download straight into the write pipeline (writing cards while the file
//! arrives) is a later optimisation; today the file is downloaded and verified first.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::blocking::Client;
use reqwest::header::{CONTENT_RANGE, RANGE};
use sha2::{Digest, Sha256};

use crate::catalogue::{Cache, CacheError};
use crate::image::{parse_sha256, to_hex};

/// How downloads behave.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Use only the cache, never the network.
    pub offline: bool,
    /// Longest wait for a connection.
    pub connect_timeout: Duration,
    /// Longest wait for the server's answer or for the next bytes of the body.
    pub stall_timeout: Duration,
    /// Attempts per file (a cut connection or a 5xx answer is tried again, resuming).
    pub attempts: u32,
    /// Delay before the second attempt; doubled each time, at most 30 s.
    pub retry_delay: Duration,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            offline: false,
            connect_timeout: Duration::from_secs(20),
            stall_timeout: Duration::from_secs(60),
            attempts: 6,
            retry_delay: Duration::from_secs(2),
        }
    }
}

/// Why the network is not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfflineReason {
    /// The operator asked for it (`--offline`).
    Asked,
    /// This machine has no network route.
    NoNetwork,
}

/// Why a download failed. Each names the address, the cause and the next step.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The file is not in the cache and the network is not used.
    #[error(
        "{url} is not in the image cache ({path} is missing) and {}: connect the bench to the \
         network and run again, or copy the file into the cache",
        match .reason { OfflineReason::Asked => "offline mode was asked for",
                        OfflineReason::NoNetwork => "this machine has no network" }
    )]
    Offline {
        /// The address.
        url: String,
        /// Where the cache would hold it.
        path: PathBuf,
        /// Why the network is not used.
        reason: OfflineReason,
    },
    /// The server answered with an error status.
    #[error(
        "{url}: the server answered {status}{}; check the address (or the catalogue's url)",
        if *.status >= 500 { " (a server error, still there after several attempts)" } else { "" }
    )]
    Status {
        /// The address.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The connection failed or broke, still after every attempt.
    #[error(
        "{url}: the download failed after {attempts} attempts ({message}); {downloaded} bytes \
         are kept and the next run resumes from there; check the network"
    )]
    Network {
        /// The address.
        url: String,
        /// The last cause.
        message: String,
        /// Attempts made.
        attempts: u32,
        /// Bytes downloaded so far (kept for resuming).
        downloaded: u64,
    },
    /// The downloaded file is not the expected one. Nothing entered the cache.
    #[error(
        "{url}: the downloaded file has SHA-256 {computed}, but {expected} is expected: it is \
         not the published file (damaged, or another version); it was deleted and nothing was \
         written; check the catalogue's sha256 (or --sha256) and the address"
    )]
    Mismatch {
        /// The address.
        url: String,
        /// The expected SHA-256.
        expected: String,
        /// The SHA-256 of what arrived.
        computed: String,
    },
    /// No expected hash is known for a bare address.
    #[error(
        "{url}: no SHA-256 to check the download against (none given, and no {url}.sha256 \
         beside it); give --sha256 HEX as published, or add the image to the catalogue"
    )]
    NoChecksum {
        /// The address.
        url: String,
    },
    /// Not an address reqwest can fetch.
    #[error("{url}: not a valid http:// or https:// address ({message})")]
    BadUrl {
        /// The text given.
        url: String,
        /// Why.
        message: String,
    },
    /// The `.bmap` published beside the image is unusable.
    #[error("{url}: the block map beside the image is unusable ({message}); use --no-bmap")]
    Bmap {
        /// The bmap's address.
        url: String,
        /// Why.
        message: String,
    },
    /// The cache refused or failed.
    #[error(transparent)]
    Cache(#[from] CacheError),
}

/// A file obtained through [`Fetcher::fetch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The verified file in the cache.
    pub path: PathBuf,
    /// It was already in the cache (re-verified), nothing was downloaded.
    pub from_cache: bool,
    /// Bytes received in this call.
    pub bytes_downloaded: u64,
    /// Bytes that were already there from an earlier, interrupted download.
    pub bytes_resumed: u64,
}

/// Downloads files into a cache.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: Client,
    opts: FetchOptions,
}

/// Outcome of one attempt.
enum Attempt {
    /// The body was received to its end.
    Complete,
    /// Worth another attempt (cut, timeout, 5xx), with the cause and the status when any.
    Retry(String, Option<u16>),
    /// A final refusal (4xx), with its status.
    Refused(u16),
}

/// The address is `http://` or `https://`.
pub fn is_url(text: &str) -> bool {
    text.starts_with("https://") || text.starts_with("http://")
}

/// True when the machine has a default route (IPv4 or IPv6): without one, only addresses
/// on this machine can be reached.
pub fn network_available() -> bool {
    let v4 = fs::read_to_string("/proc/net/route").unwrap_or_default();
    let v4 = v4.lines().skip(1).any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() > 3
            && f[0] != "lo"
            && f[1] == "00000000"
            && u32::from_str_radix(f[3], 16).is_ok_and(|flags| flags & 1 != 0)
    });
    let v6 = fs::read_to_string("/proc/net/ipv6_route").unwrap_or_default();
    let v6 = v6.lines().any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() > 9 && f[0].bytes().all(|b| b == b'0') && f[1] == "00" && f[9] != "lo"
    });
    v4 || v6
}

/// Whether the address names this machine (reachable without a network).
fn is_local(url: &reqwest::Url) -> bool {
    match url.host_str() {
        Some("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

impl Fetcher {
    /// A fetcher with these options.
    pub fn new(opts: FetchOptions) -> Result<Fetcher, FetchError> {
        let client = Client::builder()
            .connect_timeout(opts.connect_timeout)
            // In the blocking client this bounds the wait for the answer and for each read
            // of the body: a stall, not the whole download.
            .timeout(opts.stall_timeout)
            .user_agent(concat!("atelier/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FetchError::BadUrl {
                url: String::new(),
                message: format!("cannot set up HTTP: {e}"),
            })?;
        Ok(Fetcher { client, opts })
    }

    /// The options.
    pub fn options(&self) -> &FetchOptions {
        &self.opts
    }

    fn parse(&self, url: &str) -> Result<reqwest::Url, FetchError> {
        let parsed = reqwest::Url::parse(url).map_err(|e| FetchError::BadUrl {
            url: url.to_string(),
            message: e.to_string(),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(FetchError::BadUrl {
                url: url.to_string(),
                message: "only http and https are supported".into(),
            });
        }
        Ok(parsed)
    }

    /// Why the network may not be used for `url`, if so.
    fn offline_reason(&self, url: &reqwest::Url) -> Option<OfflineReason> {
        if self.opts.offline {
            Some(OfflineReason::Asked)
        } else if !is_local(url) && !network_available() {
            Some(OfflineReason::NoNetwork)
        } else {
            None
        }
    }

    /// The file at `url` whose SHA-256 is `sha256`: from the cache (re-verified; a damaged
    /// copy is deleted and downloaded again, or named when offline), else downloaded, resumed
    /// after cuts, verified and then added to the cache. `progress` gets
    /// (bytes so far, total when known).
    pub fn fetch(
        &self,
        cache: &Cache,
        url: &str,
        sha256: &[u8; 32],
        progress: &mut dyn FnMut(u64, Option<u64>),
    ) -> Result<Fetched, FetchError> {
        let parsed = self.parse(url)?;
        let offline = self.offline_reason(&parsed);
        match cache.get(sha256) {
            Ok(Some(path)) => {
                return Ok(Fetched {
                    path,
                    from_cache: true,
                    bytes_downloaded: 0,
                    bytes_resumed: 0,
                });
            }
            Ok(None) => {}
            // A damaged copy: downloaded again when the network can be used, else named.
            Err(CacheError::Mismatch { path, .. }) if offline.is_none() => {
                let _ = fs::remove_file(&path);
            }
            Err(e) => return Err(e.into()),
        }
        if let Some(reason) = offline {
            return Err(FetchError::Offline {
                url: url.to_string(),
                path: cache.path_for(sha256),
                reason,
            });
        }
        let partial = cache
            .dir()
            .join(format!(".download-sha256-{}", to_hex(sha256)));
        let io_err = |source| {
            FetchError::Cache(CacheError::Io {
                path: partial.clone(),
                source,
            })
        };
        let resumed = fs::metadata(&partial).map(|m| m.len()).unwrap_or(0);
        let mut delay = self.opts.retry_delay;
        let attempts = self.opts.attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.attempt(&parsed, &partial, progress).map_err(io_err)? {
                Attempt::Complete => break,
                Attempt::Refused(status) => {
                    if fs::metadata(&partial).is_ok_and(|m| m.len() == 0) {
                        let _ = fs::remove_file(&partial);
                    }
                    return Err(FetchError::Status {
                        url: url.to_string(),
                        status,
                    });
                }
                Attempt::Retry(message, status) => {
                    if attempt >= attempts {
                        if fs::metadata(&partial).is_ok_and(|m| m.len() == 0) {
                            let _ = fs::remove_file(&partial);
                        }
                        if let Some(status) = status {
                            return Err(FetchError::Status {
                                url: url.to_string(),
                                status,
                            });
                        }
                        return Err(FetchError::Network {
                            url: url.to_string(),
                            message,
                            attempts,
                            downloaded: fs::metadata(&partial).map(|m| m.len()).unwrap_or(0),
                        });
                    }
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(Duration::from_secs(30));
                }
            }
        }
        // Checked in full (a resumed prefix included) before it enters the cache.
        let total = fs::metadata(&partial).map_err(io_err)?.len();
        let computed = hash_file(&partial).map_err(io_err)?;
        if &computed != sha256 {
            let _ = fs::remove_file(&partial);
            return Err(FetchError::Mismatch {
                url: url.to_string(),
                expected: to_hex(sha256),
                computed: to_hex(&computed),
            });
        }
        File::open(&partial)
            .and_then(|f| f.sync_all())
            .map_err(io_err)?;
        let dest = cache.path_for(sha256);
        fs::rename(&partial, &dest).map_err(io_err)?;
        if let Ok(dir) = File::open(cache.dir()) {
            let _ = dir.sync_all();
        }
        Ok(Fetched {
            path: dest,
            from_cache: false,
            bytes_downloaded: total.saturating_sub(resumed),
            bytes_resumed: resumed,
        })
    }

    /// One request: resume `partial` from its length, append the body.
    fn attempt(
        &self,
        url: &reqwest::Url,
        partial: &Path,
        progress: &mut dyn FnMut(u64, Option<u64>),
    ) -> io::Result<Attempt> {
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .write(true)
            .truncate(false)
            .open(partial)?;
        let have = file.seek(SeekFrom::End(0))?;
        let mut request = self.client.get(url.clone());
        if have > 0 {
            request = request.header(RANGE, format!("bytes={have}-"));
        }
        let mut response = match request.send() {
            Ok(r) => r,
            Err(e) => return Ok(Attempt::Retry(error_chain(&e), None)),
        };
        let status = response.status();
        let (start, total) = match status {
            StatusCode::PARTIAL_CONTENT => {
                let range = response
                    .headers()
                    .get(CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(parse_content_range);
                match range {
                    Some((first, total)) if first == have => (have, total),
                    // Not the range asked for: start again from zero.
                    _ => {
                        file.set_len(0)?;
                        return Ok(Attempt::Retry(
                            "the server sent another range than the one asked for".into(),
                            None,
                        ));
                    }
                }
            }
            StatusCode::OK => {
                // Ranges ignored (or a fresh start): the whole body follows.
                file.set_len(0)?;
                file.seek(SeekFrom::Start(0))?;
                (0, response.content_length())
            }
            StatusCode::RANGE_NOT_SATISFIABLE if have > 0 => {
                // Nothing after byte `have`: the file is complete (or longer than the
                // published one; the hash will tell).
                return Ok(Attempt::Complete);
            }
            s if s.is_server_error() => {
                return Ok(Attempt::Retry(
                    format!("the server answered {}", s.as_u16()),
                    Some(s.as_u16()),
                ));
            }
            // 4xx and anything unexpected: final.
            s => return Ok(Attempt::Refused(s.as_u16())),
        };
        let mut done = start;
        progress(done, total);
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = match response.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    file.flush()?;
                    return Ok(Attempt::Retry(format!("connection broken: {e}"), None));
                }
            };
            file.write_all(&buf[..n])?;
            done += n as u64;
            progress(done, total);
        }
        file.flush()?;
        if let Some(total) = total
            && done < total
        {
            return Ok(Attempt::Retry(
                format!("the server sent {done} of {total} bytes"),
                None,
            ));
        }
        Ok(Attempt::Complete)
    }

    /// Fetches a small file (a `.sha256` or a `.bmap`) into memory; `Ok(None)` on 404/410.
    fn fetch_small(&self, url: &str) -> Result<Option<Vec<u8>>, FetchError> {
        let parsed = self.parse(url)?;
        let mut last = String::new();
        let mut delay = self.opts.retry_delay;
        for attempt in 1..=self.opts.attempts.max(1) {
            if attempt > 1 {
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_secs(30));
            }
            let response = match self.client.get(parsed.clone()).send() {
                Ok(r) => r,
                Err(e) => {
                    last = error_chain(&e);
                    continue;
                }
            };
            let status = response.status();
            if status == StatusCode::NOT_FOUND || status == StatusCode::GONE {
                return Ok(None);
            }
            if status.is_server_error() {
                last = format!("the server answered {}", status.as_u16());
                continue;
            }
            if !status.is_success() {
                return Err(FetchError::Status {
                    url: url.to_string(),
                    status: status.as_u16(),
                });
            }
            let mut body = Vec::new();
            match response.take(16 << 20).read_to_end(&mut body) {
                Ok(_) => return Ok(Some(body)),
                Err(e) => last = format!("connection broken: {e}"),
            }
        }
        Err(FetchError::Network {
            url: url.to_string(),
            message: last,
            attempts: self.opts.attempts.max(1),
            downloaded: 0,
        })
    }

    /// The SHA-256 published beside `url` as `URL.sha256` (`sha256sum` format: the hash
    /// first); `Ok(None)` when there is none.
    pub fn published_sha256(&self, url: &str) -> Result<Option<[u8; 32]>, FetchError> {
        let parsed = self.parse(url)?;
        if self.offline_reason(&parsed).is_some() {
            return Ok(None);
        }
        let sum_url = format!("{url}.sha256");
        let Some(body) = self.fetch_small(&sum_url)? else {
            return Ok(None);
        };
        let text = String::from_utf8_lossy(&body);
        let first = text.split_whitespace().next().unwrap_or("");
        parse_sha256(first)
            .map(Some)
            .ok_or_else(|| FetchError::BadUrl {
                url: sum_url,
                message: "its first word is not a SHA-256 (64 hexadecimal digits)".into(),
            })
    }

    /// The block map published beside the image at `url` (`URL.bmap`, or the name without
    /// its compression suffix + `.bmap`), cached beside the image's file as
    /// `sha256-….bmap`. `Ok(None)` when none is published (or, offline, none is cached).
    pub fn fetch_bmap(
        &self,
        cache: &Cache,
        url: &str,
        image_sha256: &[u8; 32],
    ) -> Result<Option<PathBuf>, FetchError> {
        let parsed = self.parse(url)?;
        let cached = bmap_cache_path(cache, image_sha256);
        if cached.is_file() {
            crate::bmap::Bmap::load(&cached).map_err(|e| FetchError::Bmap {
                url: cached.display().to_string(),
                message: e.to_string(),
            })?;
            return Ok(Some(cached));
        }
        if self.offline_reason(&parsed).is_some() {
            return Ok(None);
        }
        for candidate in bmap_candidates(url) {
            let Some(body) = self.fetch_small(&candidate)? else {
                continue;
            };
            let text = String::from_utf8(body).map_err(|_| FetchError::Bmap {
                url: candidate.clone(),
                message: "not UTF-8 text".into(),
            })?;
            crate::bmap::Bmap::parse(&text).map_err(|e| FetchError::Bmap {
                url: candidate.clone(),
                message: e.to_string(),
            })?;
            let tmp = cached.with_extension("bmap.partial");
            let io_err = |source| {
                FetchError::Cache(CacheError::Io {
                    path: cached.clone(),
                    source,
                })
            };
            fs::write(&tmp, text.as_bytes()).map_err(io_err)?;
            fs::rename(&tmp, &cached).map_err(io_err)?;
            return Ok(Some(cached));
        }
        Ok(None)
    }
}

/// Where the cache keeps the block map of the image whose file has this SHA-256.
pub fn bmap_cache_path(cache: &Cache, image_sha256: &[u8; 32]) -> PathBuf {
    cache
        .dir()
        .join(format!("sha256-{}.bmap", to_hex(image_sha256)))
}

/// Addresses where a block map may be published beside the image.
fn bmap_candidates(url: &str) -> Vec<String> {
    let (base, query) = match url.split_once(['?', '#']) {
        Some((b, _)) => (b, true),
        None => (url, false),
    };
    if query {
        // Signed or generated addresses: no guessing.
        return Vec::new();
    }
    let mut out = vec![format!("{base}.bmap")];
    for suffix in [".xz", ".zst", ".gz", ".zip"] {
        if let Some(stem) = base.strip_suffix(suffix) {
            out.push(format!("{stem}.bmap"));
        }
    }
    out
}

/// `bytes FIRST-LAST/TOTAL` (RFC 9110 §14.4): (FIRST, TOTAL when given).
fn parse_content_range(value: &str) -> Option<(u64, Option<u64>)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (first, _last) = range.split_once('-')?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    Some((first.trim().parse().ok()?, total))
}

/// The error and its causes on one line (reqwest's own message is terse).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn hash_file(path: &Path) -> io::Result<[u8; 32]> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_is_parsed_strictly() {
        assert_eq!(
            parse_content_range("bytes 100-199/200"),
            Some((100, Some(200)))
        );
        assert_eq!(parse_content_range("bytes 5-9/*"), Some((5, None)));
        assert_eq!(parse_content_range("items 0-1/2"), None);
        assert_eq!(parse_content_range("bytes x-1/2"), None);
    }

    #[test]
    fn bmap_is_looked_for_beside_the_image() {
        assert_eq!(
            bmap_candidates("https://h/a/os.img.xz"),
            vec!["https://h/a/os.img.xz.bmap", "https://h/a/os.img.bmap"]
        );
        assert!(bmap_candidates("https://h/os.img.xz?sig=1").is_empty());
    }
}
