//! The processor: model, vendor, sockets, cores, threads, highest frequency and hardware
//! virtualisation, from procfs and sysfs under a root path.
//!
//! Files read under the root:
//!
//! - `proc/cpuinfo` (proc(5); the x86 fields come from `arch/x86/kernel/cpu/proc.c`, the arm64
//!   ones from `arch/arm64/kernel/cpuinfo.c`): the model and vendor, the `vmx` (Intel VT-x) and
//!   `svm` (AMD-V) flags, and on x86 the `physical id` / `core id` of each logical CPU.
//! - `sys/devices/system/cpu/cpuN/topology/{physical_package_id,die_id,cluster_id,core_id}`
//!   (Documentation/ABI/stable/sysfs-devices-system-cpu, Documentation/admin-guide/cputopology.rst):
//!   sockets, cores and threads. The topology wins over `cpuinfo`, which has no topology on ARM.
//! - `sys/devices/system/cpu/cpuN/cpufreq/cpuinfo_max_freq`, in kHz
//!   (Documentation/admin-guide/pm/cpufreq.rst): the highest frequency over all CPUs. Virtual
//!   machines usually have no cpufreq; the frequency is then left unknown here (the caller may
//!   fall back to SMBIOS type 4).
//!
//! The two layouts of `cpuinfo` are handled. x86 gives `vendor_id` and `model name` in every
//! processor block. ARM gives `CPU implementer` and `CPU part` (the fields of the MIDR register)
//! in every processor block and, on Raspberry Pi kernels, a last block with `Hardware` (the SoC),
//! `Serial` and `Model` (the board, e.g. "Raspberry Pi 4 Model B Rev 1.4"); older 32-bit kernels
//! name the processor in a `Processor` line, and arm64 kernels have no `model name` at all. For
//! ARM the model is the core name decoded from implementer and part (e.g. "Cortex-A72"; both
//! names for big.LITTLE designs, e.g. "Cortex-A55 + Cortex-A76"), else `model name`, else
//! `Processor`, else `Hardware` (the SoC), else the raw codes (e.g. "Qualcomm part 0x805"). The `Model` line names the
//! board, not the processor: the board comes from the devicetree (see
//! [`crate::firmware::read_devicetree`]).
//!
//! The architecture is not read from a file: [`read_cpu`] takes it as an argument (from
//! [`machine_architecture`] on a live machine, from the fixture in tests).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use atelier_record::{Cpu, ProbeWarning};

/// Name of the probe in warnings.
const PROBE: &str = "cpu";

/// Where the per-CPU directories live, under the root.
const CPU_DIR: &str = "sys/devices/system/cpu";

/// What `/proc/cpuinfo` says, reduced to what the inventory keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuInfo {
    /// Processor model (see the module documentation for the ARM rules).
    pub model: Option<String>,
    /// `vendor_id` (x86), or the name of the ARM implementer (its hex code when unknown).
    pub vendor: Option<String>,
    /// Number of `processor` entries: logical CPUs.
    pub logical_cpus: u32,
    /// Distinct `physical id` values, when every processor block has one (x86).
    pub sockets: Option<u32>,
    /// Distinct (`physical id`, `core id`) pairs, when every processor block has both (x86).
    pub cores: Option<u32>,
    /// `vmx` and/or `svm` when the flags list them, in that order.
    pub virtualization: Vec<String>,
}

/// Parses the text of `/proc/cpuinfo` (either layout). Never panics; lines without a colon are
/// ignored.
pub fn parse_cpuinfo(text: &str) -> CpuInfo {
    let blocks = blocks(text);
    let first = |key: &str| {
        blocks
            .iter()
            .flatten()
            .find(|(k, v)| *k == key && !v.is_empty())
            .map(|(_, v)| (*v).to_owned())
    };

    // `processor : N` lines count logical CPUs (the old ARM header `Processor : ARMv7…` has a
    // capital P and is not a number).
    let processors: Vec<&Vec<(&str, &str)>> = blocks
        .iter()
        .filter(|b| {
            b.iter()
                .any(|(k, v)| *k == "processor" && v.parse::<u32>().is_ok())
        })
        .collect();
    let logical_cpus = blocks
        .iter()
        .flatten()
        .filter(|(k, v)| *k == "processor" && v.parse::<u32>().is_ok())
        .count();

    let field = |block: &Vec<(&str, &str)>, key: &str| {
        block
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| (*v).to_owned())
    };
    let packages: Option<BTreeSet<String>> =
        processors.iter().map(|b| field(b, "physical id")).collect();
    let cores: Option<BTreeSet<(String, String)>> = processors
        .iter()
        .map(|b| Some((field(b, "physical id")?, field(b, "core id")?)))
        .collect();
    let non_empty_count = |n: usize| u32::try_from(n).ok().filter(|&n| n > 0);

    let mut virtualization = Vec::new();
    for flag in ["vmx", "svm"] {
        let listed = blocks
            .iter()
            .flatten()
            .filter(|(k, _)| *k == "flags")
            .any(|(_, v)| v.split_whitespace().any(|f| f == flag));
        if listed {
            virtualization.push(flag.to_owned());
        }
    }

    let arm_cores = arm_cores(&blocks);
    let arm_vendor = arm_cores
        .first()
        .map(|&(implementer, _)| implementer_name(implementer));
    let arm_model = arm_model(&arm_cores);
    let model = match arm_model {
        Some(ArmModel::Named(name)) => Some(name),
        raw => first("model name")
            .or_else(|| first("Processor"))
            .or_else(|| first("Hardware"))
            .or(raw.map(ArmModel::into_string)),
    };

    CpuInfo {
        // Old Intel brand strings pad with runs of spaces ("Core(TM)2 Duo CPU     T7500  @").
        model: model.map(|m| m.split_whitespace().collect::<Vec<_>>().join(" ")),
        vendor: first("vendor_id").or(arm_vendor),
        logical_cpus: u32::try_from(logical_cpus).unwrap_or(u32::MAX),
        sockets: packages.and_then(|p| non_empty_count(p.len())),
        cores: cores.and_then(|c| non_empty_count(c.len())),
        virtualization,
    }
}

/// The blocks of `cpuinfo` (separated by blank lines), each a list of `(key, value)`, trimmed.
fn blocks(text: &str) -> Vec<Vec<(&str, &str)>> {
    let mut blocks = Vec::new();
    let mut current = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                blocks.push(std::mem::take(&mut current));
            }
            continue;
        }
        if let Some((key, value)) = line.split_once(':') {
            current.push((key.trim(), value.trim()));
        }
    }
    if !current.is_empty() {
        blocks.push(current);
    }
    blocks
}

/// Distinct (implementer, part) pairs of the ARM processor blocks, in order of appearance.
fn arm_cores(blocks: &[Vec<(&str, &str)>]) -> Vec<(u32, u32)> {
    let mut cores = Vec::new();
    for block in blocks {
        let hex = |key: &str| {
            block
                .iter()
                .find(|(k, _)| *k == key)
                .and_then(|(_, v)| parse_hex(v))
        };
        if let (Some(implementer), Some(part)) = (hex("CPU implementer"), hex("CPU part"))
            && !cores.contains(&(implementer, part))
        {
            cores.push((implementer, part));
        }
    }
    cores
}

/// `0x41` → 65.
fn parse_hex(text: &str) -> Option<u32> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))?;
    u32::from_str_radix(digits, 16).ok()
}

/// The ARM model: names when every core is known, else the raw codes.
enum ArmModel {
    Named(String),
    Raw(String),
}

impl ArmModel {
    fn into_string(self) -> String {
        match self {
            Self::Named(s) | Self::Raw(s) => s,
        }
    }
}

fn arm_model(cores: &[(u32, u32)]) -> Option<ArmModel> {
    if cores.is_empty() {
        return None;
    }
    let names: Option<Vec<&str>> = cores
        .iter()
        .map(|&(implementer, part)| arm_part_name(implementer, part))
        .collect();
    Some(match names {
        Some(names) => ArmModel::Named(names.join(" + ")),
        None => ArmModel::Raw(
            cores
                .iter()
                .map(|&(implementer, part)| {
                    format!("{} part {part:#05x}", implementer_name(implementer))
                })
                .collect::<Vec<_>>()
                .join(" + "),
        ),
    })
}

/// Name of an ARM implementer code (MIDR bits 31–24; the codes of the kernel's
/// `arch/arm64/include/asm/cputype.h`), or the code in hex.
fn implementer_name(code: u32) -> String {
    let name = match code {
        0x41 => "ARM",
        0x42 => "Broadcom",
        0x43 => "Cavium",
        0x46 => "Fujitsu",
        0x48 => "HiSilicon",
        0x4E => "NVIDIA",
        0x50 => "Applied Micro",
        0x51 => "Qualcomm",
        0x53 => "Samsung",
        0x56 => "Marvell",
        0x61 => "Apple",
        0x69 => "Intel",
        0x6D => "Microsoft",
        0x70 => "Phytium",
        0xC0 => "Ampere",
        _ => return format!("{code:#04x}"),
    };
    name.to_owned()
}

/// Name of an ARM Ltd core (implementer 41h) from its part number (MIDR bits 15–4), for the
/// cores found in refurbished boards and laptops; `None` for any other.
fn arm_part_name(implementer: u32, part: u32) -> Option<&'static str> {
    if implementer != 0x41 {
        return None;
    }
    Some(match part {
        0xB76 => "ARM1176",
        0xC05 => "Cortex-A5",
        0xC07 => "Cortex-A7",
        0xC08 => "Cortex-A8",
        0xC09 => "Cortex-A9",
        0xC0E => "Cortex-A17",
        0xC0F => "Cortex-A15",
        0xD03 => "Cortex-A53",
        0xD04 => "Cortex-A35",
        0xD05 => "Cortex-A55",
        0xD07 => "Cortex-A57",
        0xD08 => "Cortex-A72",
        0xD09 => "Cortex-A73",
        0xD0A => "Cortex-A75",
        0xD0B => "Cortex-A76",
        0xD0C => "Neoverse-N1",
        0xD0D => "Cortex-A77",
        0xD40 => "Neoverse-V1",
        0xD41 => "Cortex-A78",
        0xD44 => "Cortex-X1",
        0xD46 => "Cortex-A510",
        0xD47 => "Cortex-A710",
        0xD48 => "Cortex-X2",
        0xD49 => "Neoverse-N2",
        0xD4F => "Neoverse-V2",
        0xD80 => "Cortex-A520",
        0xD81 => "Cortex-A720",
        _ => return None,
    })
}

/// Sockets, cores and threads as the sysfs topology gives them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Topology {
    threads: u32,
    sockets: Option<u32>,
    cores: Option<u32>,
}

/// The `cpuN` directories under `sys/devices/system/cpu`, sorted by N.
fn cpu_dirs(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(root.join(CPU_DIR)) else {
        return Vec::new();
    };
    let mut dirs: Vec<(u32, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name();
            let n = name.to_str()?.strip_prefix("cpu")?.parse::<u32>().ok()?;
            Some((n, entry.path()))
        })
        .collect();
    dirs.sort();
    dirs.into_iter().map(|(_, path)| path).collect()
}

/// Reads a small sysfs file, trimmed; `None` when absent, unreadable or empty.
fn read_trimmed(path: &Path) -> Option<String> {
    let text = fs::read_to_string(path).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// The topology of the online CPUs (those with a `topology` directory); `None` when there is
/// none.
fn read_topology(cpus: &[PathBuf]) -> Option<Topology> {
    let mut threads = 0u32;
    let mut packages = Some(BTreeSet::new());
    let mut cores = Some(BTreeSet::new());
    for cpu in cpus {
        let dir = cpu.join("topology");
        let read = |name: &str| read_trimmed(&dir.join(name));
        let package = read("physical_package_id");
        let core = read("core_id");
        if package.is_none() && core.is_none() {
            continue;
        }
        threads += 1;
        match (&mut packages, &package) {
            (Some(set), Some(p)) => {
                set.insert(p.clone());
            }
            _ => packages = None,
        }
        // A core is identified within its package, die and cluster; the threads of one core
        // share all four values, so adding die and cluster can only separate real cores.
        match (&mut cores, core) {
            (Some(set), Some(c)) => {
                set.insert((package, read("die_id"), read("cluster_id"), c));
            }
            _ => cores = None,
        }
    }
    if threads == 0 {
        return None;
    }
    let count = |n: usize| u32::try_from(n).ok().filter(|&n| n > 0);
    Some(Topology {
        threads,
        sockets: packages.and_then(|p| count(p.len())),
        cores: cores.and_then(|c| count(c.len())),
    })
}

/// Highest `cpuinfo_max_freq` over the CPUs, in MHz (rounded); `None` without cpufreq.
fn read_max_frequency_mhz(cpus: &[PathBuf], warnings: &mut Vec<ProbeWarning>) -> Option<u32> {
    let mut max_khz: Option<u64> = None;
    for cpu in cpus {
        let path = cpu.join("cpufreq/cpuinfo_max_freq");
        let Some(text) = read_trimmed(&path) else {
            continue;
        };
        match text.parse::<u64>() {
            Ok(khz) if khz > 0 => max_khz = Some(max_khz.map_or(khz, |m| m.max(khz))),
            _ => warnings.push(ProbeWarning {
                probe: PROBE.into(),
                message: format!(
                    "{}: {text:?} is not a frequency in kHz",
                    live_path(cpu, "cpufreq/cpuinfo_max_freq")
                ),
            }),
        }
    }
    max_khz.and_then(|khz| u32::try_from(khz.saturating_add(500) / 1000).ok())
}

/// `/sys/devices/system/cpu/cpuN/<rest>` for a message, whatever the root.
fn live_path(cpu: &Path, rest: &str) -> String {
    let name = cpu
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("/{CPU_DIR}/{name}/{rest}")
}

/// Reads the processor of the machine whose filesystem is at `root` (`/` on a live machine).
///
/// `architecture` is the kernel's name for it (`uname -m`: `x86_64`, `aarch64`, `armv7l`…);
/// pass [`machine_architecture`] on a live machine. Returns `None` (with a warning) only when
/// neither `proc/cpuinfo` nor the sysfs topology can be read. Never panics.
pub fn read_cpu(root: &Path, architecture: &str) -> (Option<Cpu>, Vec<ProbeWarning>) {
    let mut warnings = Vec::new();
    let mut sources = Vec::new();

    let parsed = match fs::read_to_string(root.join("proc/cpuinfo")) {
        Ok(text) => {
            sources.push("/proc/cpuinfo");
            Some(parse_cpuinfo(&text))
        }
        Err(e) => {
            warnings.push(ProbeWarning {
                probe: PROBE.into(),
                message: format!("/proc/cpuinfo unreadable: {e}"),
            });
            None
        }
    };
    let cpus = cpu_dirs(root);
    let topology = read_topology(&cpus);
    if topology.is_some() {
        sources.push("/sys/devices/system/cpu/cpu*/topology");
    }
    let max_frequency_mhz = read_max_frequency_mhz(&cpus, &mut warnings);
    if max_frequency_mhz.is_some() {
        sources.push("/sys/devices/system/cpu/cpu*/cpufreq/cpuinfo_max_freq");
    }

    if parsed.is_none() && topology.is_none() {
        warnings.push(ProbeWarning {
            probe: PROBE.into(),
            message: "no processor information: neither /proc/cpuinfo nor the sysfs CPU \
                      topology is readable"
                .into(),
        });
        return (None, warnings);
    }
    let cpuinfo_read = parsed.is_some();
    let info = parsed.unwrap_or_default();
    let (threads, sockets, cores) = match topology {
        Some(t) => (Some(t.threads), t.sockets, t.cores),
        None => (
            Some(info.logical_cpus).filter(|&n| n > 0),
            info.sockets,
            info.cores,
        ),
    };
    if cpuinfo_read && info.model.is_none() {
        warnings.push(ProbeWarning {
            probe: PROBE.into(),
            message: "/proc/cpuinfo names no processor model".into(),
        });
    }
    if cores.is_none() {
        warnings.push(ProbeWarning {
            probe: PROBE.into(),
            message: "number of physical cores unknown: no CPU topology in sysfs or \
                      /proc/cpuinfo"
                .into(),
        });
    }

    let cpu = Cpu {
        model: info.model,
        vendor: info.vendor,
        architecture: architecture.to_owned(),
        sockets,
        cores,
        threads,
        max_frequency_mhz,
        virtualization: info.virtualization,
        source: sources.join(", "),
    };
    (Some(cpu), warnings)
}

/// The running kernel's name for the machine's architecture (`uname -m`: `x86_64`,
/// `aarch64`…), or the one this program was built for when `uname` fails.
pub fn machine_architecture() -> String {
    nix::sys::utsname::uname()
        .ok()
        .and_then(|u| u.machine().to_str().map(str::to_owned))
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned())
}
