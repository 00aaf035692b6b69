//! CPU reader: x86 and ARM `cpuinfo` layouts, sysfs topology against `cpuinfo`, cpufreq, and
//! the live machine. Fixture trees are written here, file by file, in a tempdir.

use std::fs;
use std::path::Path;

use atelier_inventory::cpu::{machine_architecture, parse_cpuinfo, read_cpu};
use atelier_record::Cpu;

fn write(root: &Path, rel: &str, content: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(&path, content).expect("write fixture");
}

/// One x86 processor block of `/proc/cpuinfo`.
fn x86_block(
    processor: u32,
    vendor: &str,
    model: &str,
    physical: u32,
    core: u32,
    flags: &str,
) -> String {
    format!(
        "processor\t: {processor}\nvendor_id\t: {vendor}\ncpu family\t: 6\nmodel\t\t: 142\n\
         model name\t: {model}\nstepping\t: 10\ncpu MHz\t\t: 1900.000\ncache size\t: 6144 KB\n\
         physical id\t: {physical}\nsiblings\t: 8\ncore id\t\t: {core}\ncpu cores\t: 4\n\
         flags\t\t: {flags}\nbogomips\t: 3799.90\n\n"
    )
}

/// Topology (and optionally cpufreq) of logical CPU `n`.
fn topology(root: &Path, n: u32, package: &str, core: &str, max_khz: Option<&str>) {
    let dir = format!("sys/devices/system/cpu/cpu{n}");
    write(
        root,
        &format!("{dir}/topology/physical_package_id"),
        &format!("{package}\n"),
    );
    write(
        root,
        &format!("{dir}/topology/core_id"),
        &format!("{core}\n"),
    );
    if let Some(khz) = max_khz {
        write(
            root,
            &format!("{dir}/cpufreq/cpuinfo_max_freq"),
            &format!("{khz}\n"),
        );
    }
}

fn read(root: &Path, arch: &str) -> (Cpu, Vec<String>) {
    let (cpu, warnings) = read_cpu(root, arch);
    let messages = warnings
        .iter()
        .map(|w| format!("{}: {}", w.probe, w.message))
        .collect();
    (
        cpu.unwrap_or_else(|| panic!("no CPU read; warnings: {warnings:?}")),
        messages,
    )
}

const I5: &str = "Intel(R) Core(TM) i5-8350U CPU @ 1.70GHz";
const INTEL_FLAGS: &str = "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr ht tm pbe syscall nx lm vmx smx est tm2 ssse3";

/// A ThinkPad-like laptop: 4 cores, 8 threads (thread N and N+4 share core N).
fn intel_laptop(root: &Path) {
    let cpuinfo: String = (0..8)
        .map(|n| x86_block(n, "GenuineIntel", I5, 0, n % 4, INTEL_FLAGS))
        .collect();
    write(root, "proc/cpuinfo", &cpuinfo);
    for n in 0..8 {
        topology(root, n, "0", &(n % 4).to_string(), Some("3600000"));
    }
}

#[test]
fn intel_laptop_everything_comes_out() {
    let tmp = tempfile::tempdir().expect("tempdir");
    intel_laptop(tmp.path());
    let (cpu, warnings) = read(tmp.path(), "x86_64");
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(cpu.model.as_deref(), Some(I5));
    assert_eq!(cpu.vendor.as_deref(), Some("GenuineIntel"));
    assert_eq!(cpu.architecture, "x86_64");
    assert_eq!(
        (cpu.sockets, cpu.cores, cpu.threads),
        (Some(1), Some(4), Some(8))
    );
    assert_eq!(cpu.max_frequency_mhz, Some(3600));
    assert_eq!(cpu.virtualization, vec!["vmx"]);
    assert_eq!(
        cpu.source,
        "/proc/cpuinfo, /sys/devices/system/cpu/cpu*/topology, \
         /sys/devices/system/cpu/cpu*/cpufreq/cpuinfo_max_freq"
    );
}

#[test]
fn without_sysfs_topology_cpuinfo_counts_sockets_and_cores() {
    // Two AMD sockets of 2 cores × 2 threads, no sysfs.
    let tmp = tempfile::tempdir().expect("tempdir");
    let model = "AMD Opteron(tm) Processor 6212";
    let cpuinfo: String = (0..8)
        .map(|n| x86_block(n, "AuthenticAMD", model, n / 4, (n / 2) % 2, "fpu svm lm"))
        .collect();
    write(tmp.path(), "proc/cpuinfo", &cpuinfo);
    let (cpu, warnings) = read(tmp.path(), "x86_64");
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        (cpu.sockets, cpu.cores, cpu.threads),
        (Some(2), Some(4), Some(8))
    );
    assert_eq!(cpu.virtualization, vec!["svm"]);
    assert_eq!(cpu.vendor.as_deref(), Some("AuthenticAMD"));
    assert_eq!(cpu.source, "/proc/cpuinfo");
    // No cpufreq: left to the SMBIOS fallback of the caller, without a warning.
    assert_eq!(cpu.max_frequency_mhz, None);
}

#[test]
fn sysfs_topology_wins_over_cpuinfo() {
    // cpuinfo claims one core (both threads on core 0); the topology says two cores on two
    // packages.
    let tmp = tempfile::tempdir().expect("tempdir");
    let cpuinfo: String = (0..2)
        .map(|n| x86_block(n, "GenuineIntel", I5, 0, 0, "fpu"))
        .collect();
    write(tmp.path(), "proc/cpuinfo", &cpuinfo);
    topology(tmp.path(), 0, "0", "0", None);
    topology(tmp.path(), 1, "1", "0", None);
    let (cpu, _) = read(tmp.path(), "x86_64");
    assert_eq!(
        (cpu.sockets, cpu.cores, cpu.threads),
        (Some(2), Some(2), Some(2))
    );
    assert!(cpu.virtualization.is_empty());
}

#[test]
fn threads_of_different_dies_are_different_cores() {
    // Same package and core_id, different die_id: two cores.
    let tmp = tempfile::tempdir().expect("tempdir");
    write(
        tmp.path(),
        "proc/cpuinfo",
        &x86_block(0, "AuthenticAMD", "AMD EPYC", 0, 0, "svm"),
    );
    for (n, die) in [(0, "0"), (1, "1")] {
        topology(tmp.path(), n, "0", "0", None);
        write(
            tmp.path(),
            &format!("sys/devices/system/cpu/cpu{n}/topology/die_id"),
            die,
        );
    }
    let (cpu, _) = read(tmp.path(), "x86_64");
    assert_eq!(
        (cpu.sockets, cpu.cores, cpu.threads),
        (Some(1), Some(2), Some(2))
    );
}

/// cpuinfo of a Raspberry Pi 4 under a 64-bit Raspberry Pi OS kernel: no "model name".
const RPI4_CPUINFO: &str = "processor\t: 0\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\n\
CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n\n\
processor\t: 1\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\n\
CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n\n\
processor\t: 2\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\n\
CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n\n\
processor\t: 3\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\n\
CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n\n\
Hardware\t: BCM2835\nRevision\t: c03114\nSerial\t\t: 10000000abcdef01\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n";

#[test]
fn raspberry_pi_4_aarch64() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write(tmp.path(), "proc/cpuinfo", RPI4_CPUINFO);
    for n in 0..4 {
        topology(tmp.path(), n, "0", &n.to_string(), Some("1800000"));
    }
    let (cpu, warnings) = read(tmp.path(), "aarch64");
    assert!(warnings.is_empty(), "{warnings:?}");
    // The core, not the board of the `Model` line nor the SoC of `Hardware`.
    assert_eq!(cpu.model.as_deref(), Some("Cortex-A72"));
    assert_eq!(cpu.vendor.as_deref(), Some("ARM"));
    assert_eq!(cpu.architecture, "aarch64");
    assert_eq!(
        (cpu.sockets, cpu.cores, cpu.threads),
        (Some(1), Some(4), Some(4))
    );
    assert_eq!(cpu.max_frequency_mhz, Some(1800));
    assert!(cpu.virtualization.is_empty());
}

#[test]
fn arm_without_topology_counts_threads_only() {
    // Old kernels without topology: cpuinfo has no core ids on ARM.
    let tmp = tempfile::tempdir().expect("tempdir");
    write(tmp.path(), "proc/cpuinfo", RPI4_CPUINFO);
    let (cpu, warnings) = read(tmp.path(), "aarch64");
    assert_eq!((cpu.sockets, cpu.cores, cpu.threads), (None, None, Some(4)));
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("physical cores unknown")),
        "{warnings:?}"
    );
}

#[test]
fn old_32_bit_arm_layout() {
    // Raspberry Pi 1 under an old 32-bit kernel: a `Processor` header, then one block.
    let text = "Processor\t: ARMv6-compatible processor rev 7 (v6l)\nprocessor\t: 0\n\
                BogoMIPS\t: 697.95\n\nFeatures\t: swp half thumb fastmult vfp edsp java tls\n\
                CPU implementer\t: 0x41\nCPU architecture: 7\nCPU variant\t: 0x0\n\
                CPU part\t: 0xb76\nCPU revision\t: 7\n\nHardware\t: BCM2708\n\
                Revision\t: 000e\nSerial\t\t: 00000000abcdef01\n";
    let info = parse_cpuinfo(text);
    assert_eq!(info.model.as_deref(), Some("ARM1176"));
    assert_eq!(info.logical_cpus, 1);

    // An ARM core missing from the table: `model name`, else `Processor`, else `Hardware`,
    // else the raw codes.
    let unknown = "processor\t: 0\nCPU implementer\t: 0x41\nCPU part\t: 0xfff\n";
    assert_eq!(
        parse_cpuinfo(&format!(
            "{unknown}model name\t: ARMv7 Processor rev 4 (v7l)\n"
        ))
        .model
        .as_deref(),
        Some("ARMv7 Processor rev 4 (v7l)")
    );
    assert_eq!(
        parse_cpuinfo(&format!("{unknown}\nHardware\t: Allwinner sun8i Family\n"))
            .model
            .as_deref(),
        Some("Allwinner sun8i Family")
    );
    // Runs of spaces in old Intel brand strings are collapsed.
    let core2 = parse_cpuinfo(
        "processor\t: 0\nmodel name\t: Intel(R) Core(TM)2 Duo CPU     T7500  @ 2.20GHz\n",
    );
    assert_eq!(
        core2.model.as_deref(),
        Some("Intel(R) Core(TM)2 Duo CPU T7500 @ 2.20GHz")
    );
    let qualcomm = parse_cpuinfo("processor\t: 0\nCPU implementer\t: 0x51\nCPU part\t: 0x805\n");
    assert_eq!(qualcomm.model.as_deref(), Some("Qualcomm part 0x805"));
    assert_eq!(qualcomm.vendor.as_deref(), Some("Qualcomm"));
    let unknown_vendor =
        parse_cpuinfo("processor\t: 0\nCPU implementer\t: 0x99\nCPU part\t: 0x1\n");
    assert_eq!(unknown_vendor.vendor.as_deref(), Some("0x99"));
}

#[test]
fn big_little_names_both_cores_and_takes_the_highest_frequency() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut cpuinfo = String::new();
    for n in 0..8u32 {
        let part = if n < 4 { "0xd05" } else { "0xd0b" };
        cpuinfo += &format!("processor\t: {n}\nCPU implementer\t: 0x41\nCPU part\t: {part}\n\n");
        let khz = if n < 4 { "1800000" } else { "2352000" };
        topology(tmp.path(), n, "0", &n.to_string(), Some(khz));
    }
    write(tmp.path(), "proc/cpuinfo", &cpuinfo);
    let (cpu, _) = read(tmp.path(), "aarch64");
    assert_eq!(cpu.model.as_deref(), Some("Cortex-A55 + Cortex-A76"));
    assert_eq!(cpu.max_frequency_mhz, Some(2352));
    assert_eq!(cpu.cores, Some(8));
}

#[test]
fn garbled_cpufreq_is_a_warning() {
    let tmp = tempfile::tempdir().expect("tempdir");
    intel_laptop(tmp.path());
    for n in 0..8 {
        write(
            tmp.path(),
            &format!("sys/devices/system/cpu/cpu{n}/cpufreq/cpuinfo_max_freq"),
            "<unsupported>\n",
        );
    }
    let (cpu, warnings) = read(tmp.path(), "x86_64");
    assert_eq!(cpu.max_frequency_mhz, None);
    assert_eq!(warnings.len(), 8, "{warnings:?}");
    assert!(warnings[0].contains("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq"));
    assert!(!cpu.source.contains("cpufreq"));
}

#[test]
fn missing_sources() {
    // Nothing at all: no CPU, a warning.
    let tmp = tempfile::tempdir().expect("tempdir");
    let (cpu, warnings) = read_cpu(tmp.path(), "x86_64");
    assert!(cpu.is_none());
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings.iter().all(|w| w.probe == "cpu"));

    // Topology only: counts, no model, a warning about cpuinfo.
    topology(tmp.path(), 0, "0", "0", None);
    topology(tmp.path(), 1, "0", "1", None);
    let (cpu, warnings) = read(tmp.path(), "riscv64");
    assert_eq!(cpu.model, None);
    assert_eq!((cpu.cores, cpu.threads), (Some(2), Some(2)));
    assert_eq!(cpu.source, "/sys/devices/system/cpu/cpu*/topology");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("/proc/cpuinfo unreadable")),
        "{warnings:?}"
    );
}

#[test]
fn garbage_cpuinfo_does_not_panic() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write(
        tmp.path(),
        "proc/cpuinfo",
        "\u{0}\u{1}::::\nprocessor: x\nCPU part: 0x\nCPU implementer: 0xzz\n\n\n:\n",
    );
    let (cpu, warnings) = read(tmp.path(), "x86_64");
    assert_eq!(cpu.model, None);
    assert_eq!(cpu.threads, None);
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("names no processor model")),
        "{warnings:?}"
    );
}

#[test]
fn this_machine() {
    let arch = machine_architecture();
    assert!(!arch.is_empty());
    let (cpu, warnings) = read_cpu(Path::new("/"), &arch);
    let cpu = cpu.unwrap_or_else(|| panic!("no CPU on this machine: {warnings:?}"));
    eprintln!("{cpu:#?}\n{warnings:#?}");
    assert_eq!(cpu.architecture, arch);
    // The kernel's count of logical CPUs agrees with the sysfs topology.
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").expect("/proc/cpuinfo");
    let processors = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    assert_eq!(cpu.threads, Some(u32::try_from(processors).expect("count")));
    let cores = cpu.cores.expect("cores");
    assert!(cores >= 1 && cores <= cpu.threads.expect("threads"));
    if arch == "x86_64" {
        assert!(cpu.model.is_some() && cpu.vendor.is_some(), "{cpu:?}");
        assert!(cpu.source.starts_with("/proc/cpuinfo"));
    }
}
