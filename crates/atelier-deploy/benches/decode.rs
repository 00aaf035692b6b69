//! Decode throughput of `atelier_deploy::image` against the command-line decoders
//! (`cargo bench -p atelier-deploy --bench decode`).
//!
//! Two images: `mixed`, half random data, half zeros, in runs of 1 to 16 MiB (incompressible
//! file contents between empty space: decoding is mostly copying), and `usr`, half real files
//! (a tar of this machine's /usr, which LZMA must really work on), half zeros. Each is
//! compressed once with the real tools and kept in `ATELIER_BENCH_DIR` (default: cargo's
//! target tmp directory): xz with several blocks (`xz -T2 --block-size=16MiB`), xz in one
//! block (`xz -T1`), zstd, gzip and zip.
//!
//! Each round times every case once, peers and Atelier interleaved. The table gives medians:
//! MB/s of decoded output (10^6 bytes per second of wall time), the ratio to `xz -dc` on the
//! multi-block file, and CPU seconds (user + system, all threads) per GiB decoded, which
//! varies much less than wall time when the machine is shared. Atelier's numbers include the
//! SHA-256 of the decoded image and of the file as stored; the peers hash nothing. Unmarked
//! Atelier cases use the default options ([`DecodeThread::Auto`]).
//!
//! Environment: `ATELIER_BENCH_SIZE_MIB` (default 1024), `ATELIER_BENCH_ROUNDS` (default 5),
//! `ATELIER_BENCH_DIR`, `ATELIER_BENCH_CONTENT` (default `mixed,usr`), `ATELIER_BENCH_ONLY`
//! (only the cases whose name holds this text, and the reference).
#![allow(missing_docs)]

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use atelier_deploy::image::{DecodeThread, OpenOptions, open_image};
use atelier_testkit::Rng;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn make_image(path: &Path, size: u64) {
    let mut rng = Rng::new(0x1A9E);
    let mut out = BufWriter::with_capacity(8 << 20, File::create(path).unwrap());
    let mut written = 0u64;
    let mut random = true;
    let mut buf = vec![0u8; 1 << 20];
    while written < size {
        let run = ((1 + rng.below(16)) as u64) << 20;
        let run = run.min(size - written);
        let mut left = run;
        while left > 0 {
            let n = left.min(buf.len() as u64) as usize;
            if random {
                for chunk in buf[..n].chunks_mut(8) {
                    let v = rng.next_u64().to_le_bytes();
                    chunk.copy_from_slice(&v[..chunk.len()]);
                }
            } else {
                buf[..n].fill(0);
            }
            out.write_all(&buf[..n]).unwrap();
            left -= n as u64;
        }
        written += run;
        random = !random;
    }
    out.flush().unwrap();
}

fn sh(script: &str) {
    let status = Command::new("sh").args(["-c", script]).status().unwrap();
    assert!(status.success(), "failed: {script}");
}

struct Files {
    raw: PathBuf,
    xz_multi: PathBuf,
    xz_single: PathBuf,
    zst: PathBuf,
    gz: PathBuf,
    zip: PathBuf,
}

fn prepare(dir: &Path, content: &str, size_mib: u64) -> Files {
    std::fs::create_dir_all(dir).unwrap();
    let base = dir.join(format!("bench-{content}-{size_mib}MiB.img"));
    let f = Files {
        raw: base.clone(),
        xz_multi: base.with_extension("img.multi.xz"),
        xz_single: base.with_extension("img.single.xz"),
        zst: base.with_extension("img.zst"),
        gz: base.with_extension("img.gz"),
        zip: base.with_extension("img.zip"),
    };
    if !f.raw.exists() {
        eprintln!("making {}", f.raw.display());
        let tmp = base.with_extension("partial");
        if content == "usr" {
            // Real files (programs, libraries, documentation) for the first half, then
            // zeros: an OS image with free space.
            let half = (size_mib << 20) / 2;
            sh(&format!(
                "tar -cf - -C / --sort=name usr/lib usr/share usr/bin 2>/dev/null | head -c {half} > '{t}'; \
                 truncate -s {size}M '{t}'",
                t = tmp.display(),
                size = size_mib
            ));
        } else {
            make_image(&tmp, size_mib << 20);
        }
        std::fs::rename(&tmp, &f.raw).unwrap();
    }
    let raw = f.raw.display().to_string();
    let steps: [(&PathBuf, String); 5] = [
        (&f.xz_multi, format!("xz -T2 --block-size=16MiB -c '{raw}'")),
        (&f.xz_single, format!("xz -T1 -c '{raw}'")),
        (&f.zst, format!("zstd -q -T2 -c '{raw}'")),
        (&f.gz, format!("gzip -c '{raw}'")),
        (&f.zip, String::new()),
    ];
    for (target, cmd) in steps {
        if target.exists() {
            continue;
        }
        eprintln!("making {}", target.display());
        let tmp = target.with_extension("partial");
        let _ = std::fs::remove_file(&tmp);
        if target == &f.zip {
            // -j: store the member without its directory.
            sh(&format!("zip -q -j '{}' '{raw}'", tmp.display()));
            std::fs::rename(&tmp, target).unwrap();
        } else {
            sh(&format!("{cmd} > '{}'", tmp.display()));
            std::fs::rename(&tmp, target).unwrap();
        }
    }
    f
}

/// Wall time and CPU time (user + system, all threads) of one run, in seconds.
#[derive(Clone, Copy)]
struct Timing {
    wall: f64,
    cpu: f64,
}

fn clock_ticks() -> f64 {
    let out = Command::new("getconf").arg("CLK_TCK").output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(100.0)
}

/// This process's CPU time so far, from /proc/self/stat (utime + stime).
fn own_cpu(ticks: f64) -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    // After the command name: state is field 3, utime 14, stime 15 (1-based).
    let utime: f64 = fields[11].parse().unwrap();
    let stime: f64 = fields[12].parse().unwrap();
    (utime + stime) / ticks
}

fn time_command(cmd: &str) -> Timing {
    // GNU time reports the CPU time of the whole pipeline (its child shell and what it ran).
    let start = Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%U %S", "sh", "-c", cmd])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let wall = start.elapsed().as_secs_f64();
    assert!(out.status.success(), "failed: {cmd}");
    let text = String::from_utf8_lossy(&out.stderr);
    let cpu = text
        .lines()
        .last()
        .unwrap_or("")
        .split_whitespace()
        .filter_map(|v| v.parse::<f64>().ok())
        .sum();
    Timing { wall, cpu }
}

fn time_atelier(path: &Path, opts: &OpenOptions, expect: u64, ticks: f64) -> Timing {
    let cpu0 = own_cpu(ticks);
    let start = Instant::now();
    let mut reader = open_image(path, opts).unwrap();
    let mut buf = vec![0u8; 4 << 20];
    loop {
        let n = reader.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
    }
    let digests = reader.finish().unwrap();
    let wall = start.elapsed().as_secs_f64();
    assert_eq!(digests.image_bytes, expect);
    Timing {
        wall,
        cpu: own_cpu(ticks) - cpu0,
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this too: keep that quick.
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let size_mib = env_u64("ATELIER_BENCH_SIZE_MIB", 1024);
    let rounds = env_u64("ATELIER_BENCH_ROUNDS", 5) as usize;
    let dir = std::env::var_os("ATELIER_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("decode-bench"));
    let contents = std::env::var("ATELIER_BENCH_CONTENT").unwrap_or_else(|_| "mixed,usr".into());
    for content in contents.split(',') {
        run(&dir, content, size_mib, rounds);
    }
}

fn run(dir: &Path, content: &str, size_mib: u64, rounds: usize) {
    let f = prepare(dir, content, size_mib);
    let size = size_mib << 20;

    let q = |p: &Path| format!("'{}'", p.display());
    let auto = OpenOptions::default();
    let separate = OpenOptions {
        decode_thread: DecodeThread::Separate,
        ..OpenOptions::default()
    };
    let one_thread = OpenOptions {
        xz_threads: 1,
        ..OpenOptions::default()
    };
    let no_file_hash = OpenOptions {
        hash_file: false,
        ..OpenOptions::default()
    };
    let ticks = clock_ticks();
    type Case<'a> = (String, Box<dyn Fn() -> Timing + 'a>);
    let mut cases: Vec<Case> = Vec::new();
    let mut peer = |name: &str, cmd: String| {
        cases.push((name.to_string(), Box::new(move || time_command(&cmd))));
    };
    peer("xz -dc (multi-block)", format!("xz -dc {}", q(&f.xz_multi)));
    peer(
        "xz -T0 -dc (multi-block)",
        format!("xz -T0 -dc {}", q(&f.xz_multi)),
    );
    peer(
        "xz -dc | dd bs=4M (multi-block)",
        format!(
            "xz -dc {} | dd bs=4M of=/dev/null status=none",
            q(&f.xz_multi)
        ),
    );
    peer("xz -dc (one block)", format!("xz -dc {}", q(&f.xz_single)));
    peer("zstd -dc", format!("zstd -q -dc {}", q(&f.zst)));
    peer("gzip -dc", format!("gzip -dc {}", q(&f.gz)));
    peer("unzip -p", format!("unzip -p {}", q(&f.zip)));
    peer("cat (raw)", format!("cat {}", q(&f.raw)));
    let mut ours = |name: &str, path: &Path, opts: &OpenOptions| {
        let path = path.to_path_buf();
        let opts = opts.clone();
        cases.push((
            name.to_string(),
            Box::new(move || time_atelier(&path, &opts, size, ticks)),
        ));
    };
    ours("atelier xz (multi-block)", &f.xz_multi, &auto);
    ours(
        "atelier xz (multi-block, decoder thread)",
        &f.xz_multi,
        &separate,
    );
    ours(
        "atelier xz (multi-block, 1 xz thread)",
        &f.xz_multi,
        &one_thread,
    );
    ours(
        "atelier xz (multi-block, no file hash)",
        &f.xz_multi,
        &no_file_hash,
    );
    ours("atelier xz (one block)", &f.xz_single, &auto);
    ours(
        "atelier xz (one block, decoder thread)",
        &f.xz_single,
        &separate,
    );
    ours("atelier zstd", &f.zst, &auto);
    ours("atelier zstd (decoder thread)", &f.zst, &separate);
    ours("atelier gzip", &f.gz, &auto);
    ours("atelier gzip (decoder thread)", &f.gz, &separate);
    ours("atelier zip", &f.zip, &auto);
    ours("atelier raw", &f.raw, &auto);
    ours("atelier raw (decoder thread)", &f.raw, &separate);

    if let Ok(only) = std::env::var("ATELIER_BENCH_ONLY") {
        // Keep the reference (first case) and the cases whose name contains the text.
        let mut i = 0;
        cases.retain(|(name, _)| {
            i += 1;
            i == 1 || name.contains(&only)
        });
    }
    let mut walls: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    let mut cpus: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    for round in 0..rounds {
        for (i, (name, run)) in cases.iter().enumerate() {
            let t = run();
            eprintln!(
                "round {round}: {name}: {:.0} MB/s, {:.2} s CPU",
                size as f64 / t.wall / 1e6,
                t.cpu
            );
            walls[i].push(t.wall);
            cpus[i].push(t.cpu);
        }
    }
    let gib = size as f64 / (1u64 << 30) as f64;
    let reference = median(&mut walls[0].clone());
    let what = if content == "usr" {
        "half real files from /usr, half zeros"
    } else {
        "half random, half zeros"
    };
    println!("\nDecode, {size_mib} MiB image ({what}), {rounds} rounds, medians");
    println!("| case | MB/s (wall) | vs xz -dc | CPU s per GiB |");
    println!("| --- | ---: | ---: | ---: |");
    for (i, (name, _)) in cases.iter().enumerate() {
        let wall = median(&mut walls[i]);
        let cpu = median(&mut cpus[i]);
        println!(
            "| {name} | {:.0} | {:.2}x | {:.2} |",
            size as f64 / wall / 1e6,
            reference / wall,
            cpu / gib
        );
    }
}
