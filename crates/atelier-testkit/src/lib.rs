//! Test support for Atelier's device tier.
//!
//! Device-tier tests write to real block devices: loop devices that the test itself creates
//! over files in a temporary directory ([`LoopDevice`]). They need root and a few tools
//! (`losetup`, `mkfs.ext4`…). Outside CI a test without them is skipped with a message;
//! with `CI=true` it fails instead, so CI can never pass by skipping ([`device_tier`]).
//!
//! Nothing here ever opens a device the test did not create.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// True when running in CI (`CI=true`): missing privileges or tools then fail the test.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Whether a device-tier test can run: root and every tool in `tools` on the PATH. Prints why
/// not and returns false outside CI; panics in CI.
pub fn device_tier(tools: &[&str]) -> bool {
    let mut missing = Vec::new();
    if !is_root() {
        missing.push("root privileges".to_string());
    }
    for tool in ["losetup", "blockdev"].iter().chain(tools) {
        if !tool_available(tool) {
            missing.push(format!("the `{tool}` command"));
        }
    }
    if missing.is_empty() {
        return true;
    }
    let why = format!("device-tier test needs {}", missing.join(", "));
    assert!(!in_ci(), "{why} (CI=true: not skipping)");
    eprintln!("SKIPPED: {why}");
    false
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// True when `tool` is an executable on the PATH (or in /sbin, /usr/sbin).
pub fn tool_available(tool: &str) -> bool {
    let path = std::env::var("PATH").unwrap_or_default() + ":/sbin:/usr/sbin";
    path.split(':')
        .any(|dir| Path::new(dir).join(tool).is_file())
}

/// Runs a command and returns its standard output; panics with its error output on failure.
pub fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Options of a loop device.
#[derive(Debug, Clone)]
pub struct LoopOptions {
    /// Size of the backing file in bytes.
    pub size: u64,
    /// Logical sector size (`losetup --sector-size`).
    pub sector_size: Option<u32>,
    /// Attach read-only (`losetup -r`).
    pub read_only: bool,
    /// Directory of the backing file (default: a fresh directory under /var/tmp).
    pub dir: Option<PathBuf>,
}

impl LoopOptions {
    /// A writable loop device of `size` bytes with 512-byte sectors.
    pub fn new(size: u64) -> Self {
        Self {
            size,
            sector_size: None,
            read_only: false,
            dir: None,
        }
    }
}

/// A loop device over a file in a temporary directory; detached and deleted on drop.
#[derive(Debug)]
pub struct LoopDevice {
    path: PathBuf,
    file: PathBuf,
    size: u64,
    _dir: tempfile::TempDir,
}

impl LoopDevice {
    /// A writable loop device of `size` bytes.
    pub fn new(size: u64) -> Self {
        Self::with(LoopOptions::new(size))
    }

    /// A loop device with `options`.
    pub fn with(options: LoopOptions) -> Self {
        let base = options
            .dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("/var/tmp"));
        let dir = tempfile::Builder::new()
            .prefix("atelier-test-")
            .tempdir_in(base)
            .expect("temporary directory");
        let file = dir.path().join("disk.img");
        File::create(&file)
            .and_then(|f| f.set_len(options.size))
            .expect("backing file");
        let mut args = vec!["-f".to_string(), "--show".to_string()];
        if let Some(sector) = options.sector_size {
            args.push(format!("--sector-size={sector}"));
        }
        if options.read_only {
            args.push("-r".into());
        }
        args.push(file.display().to_string());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let path = PathBuf::from(run("losetup", &args).trim());
        let device = Self {
            path,
            file,
            size: options.size,
            _dir: dir,
        };
        // Belt and braces: the node must be backed by our file before anyone writes to it.
        let backing = std::fs::read_to_string(format!(
            "/sys/class/block/{}/loop/backing_file",
            device.name()
        ))
        .unwrap_or_default();
        assert_eq!(
            Path::new(backing.trim()),
            device.file,
            "loop device is not backed by the test's file"
        );
        device
    }

    /// The device node (`/dev/loopN`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The device node as a string.
    pub fn path_str(&self) -> String {
        self.path.display().to_string()
    }

    /// The kernel name (`loopN`).
    pub fn name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// The backing file.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Capacity of the device as the kernel sees it.
    pub fn size(&self) -> u64 {
        run("blockdev", &["--getsize64", &self.path_str()])
            .trim()
            .parse()
            .unwrap_or(self.size)
    }

    /// Fills the device through the block layer: block `i` (of `block` bytes) gets
    /// `content(i)`. Synced and direct, so the page cache holds nothing stale.
    pub fn fill(&self, block: usize, content: impl Fn(u64) -> Vec<u8>) {
        let dev = self.open_direct(true);
        let total = self.size();
        let mut buf = Aligned::new(block);
        let mut index = 0u64;
        while index * (block as u64) < total {
            let data = content(index);
            buf.as_mut()[..data.len()].copy_from_slice(&data);
            let len = (total - index * block as u64).min(block as u64) as usize;
            dev.write_all_at(&buf.as_mut()[..len], index * block as u64)
                .expect("fill write");
            index += 1;
        }
        dev.sync_all().expect("fill sync");
    }

    /// Reads the whole device with `O_DIRECT` (never from the page cache).
    pub fn read_all(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.read_chunks(|chunk| out.extend_from_slice(chunk));
        out
    }

    /// Calls `each` with the device content, 1 MiB at a time, read with `O_DIRECT`.
    fn read_chunks(&self, mut each: impl FnMut(&[u8])) {
        let dev = self.open_direct(false);
        let total = self.size() as usize;
        let chunk = 1 << 20;
        let mut buf = Aligned::new(chunk);
        let mut offset = 0usize;
        while offset < total {
            let len = (total - offset).min(chunk);
            dev.read_exact_at(&mut buf.as_mut()[..len], offset as u64)
                .expect("direct read");
            each(&buf.as_mut()[..len]);
            offset += len;
        }
    }

    /// Overwrites `data.len()` bytes at `offset` directly (a multiple of the sector size).
    pub fn write_direct(&self, offset: u64, data: &[u8]) {
        let dev = self.open_direct(true);
        let mut buf = Aligned::new(data.len());
        buf.as_mut().copy_from_slice(data);
        dev.write_all_at(buf.as_mut(), offset)
            .expect("direct write");
        dev.sync_all().expect("sync");
    }

    /// SHA-256 of the whole device content, read directly.
    pub fn sha256(&self) -> String {
        let mut hasher = Sha256::new();
        self.read_chunks(|chunk| hasher.update(chunk));
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn open_direct(&self, write: bool) -> File {
        OpenOptions::new()
            .read(true)
            .write(write)
            .custom_flags(libc::O_DIRECT)
            .open(&self.path)
            .expect("open the loop device")
    }
}

impl Drop for LoopDevice {
    fn drop(&mut self) {
        // Partitions a test (or the code under test: `partx --update` after growing a
        // partition) added outlive the detach when the device was not set up with partition
        // scanning, and would make the next test that gets this loop number fail: drop them.
        let _ = Command::new("partx")
            .arg("-d")
            .arg(&self.path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        // Detach even when a test failed; the temporary directory goes with `_dir`.
        for _ in 0..20 {
            let ok = Command::new("losetup")
                .arg("-d")
                .arg(&self.path)
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

/// A 4 KiB-aligned heap buffer without `unsafe`.
struct Aligned {
    storage: Vec<u8>,
    start: usize,
    len: usize,
}

impl Aligned {
    fn new(len: usize) -> Self {
        let storage = vec![0u8; len + 4096];
        let start = storage.as_ptr().align_offset(4096);
        Self {
            storage,
            start,
            len,
        }
    }

    fn as_mut(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..self.start + self.len]
    }
}

/// A recognisable 4 KiB canary block: `ATELIER-CANARY` with the block index, repeated.
pub fn canary_block(index: u64) -> Vec<u8> {
    let tag = format!("ATELIER-CANARY-{index:016x}-");
    tag.as_bytes().iter().copied().cycle().take(4096).collect()
}

/// Number of 512-byte sectors of `data` that still start with the canary tag. The tag
/// repeats every 32 bytes from the start of each canary block, so any sector that survived
/// an overwrite starts with it.
pub fn sectors_with_canary(data: &[u8]) -> usize {
    data.chunks(512)
        .filter(|sector| sector.starts_with(b"ATELIER-CANARY-"))
        .count()
}

/// Reads every line a child writes to `reader`, sending each to the returned channel.
pub fn line_channel(reader: impl Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(reader)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Writes `text` and a newline to a child's input.
pub fn send_line(input: &mut impl Write, text: &str) {
    writeln!(input, "{text}").expect("write to child");
    input.flush().expect("flush child input");
}

/// A small seeded pseudo-random generator (SplitMix64) for mutation tests: deterministic, so a
/// failure is reproducible from its seed. Not for anything that needs unpredictability.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// A random byte.
    pub fn byte(&mut self) -> u8 {
        (self.next_u64() >> 56) as u8
    }
}
