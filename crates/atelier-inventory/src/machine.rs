//! The whole inventory of one machine: every probe, run concurrently, each with a deadline.
//!
//! [`take_inventory`] starts one thread per probe (SMBIOS identity and memory, CPU, batteries,
//! screens, firmware, PCI, network and peripherals, disks with SMART) and waits for each until
//! a shared deadline. A probe that does not finish in time (a sysfs read stuck on a dying USB
//! device, a disk that does not answer) leaves its part of the report empty and a
//! [`ProbeWarning`] saying so; the inventory itself always completes. The thread of a stuck
//! probe is abandoned: it holds no lock and writes nowhere, and the process exits after the
//! report.
//!
//! SMART: on a live machine (`root` is `/`) smartctl is queried for every disk at once
//! ([`Smartctl::query_all`]), each query with its own timeout. On a captured tree the
//! outputs saved by `atelier inventory capture` (`atelier-capture/smartctl/NAME.json`) are
//! parsed instead, so a capture is a complete fixture.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use atelier_device::{BlockDevice, DeviceKind, Refusal, SystemRoot, SystemUsage, assess};
use atelier_record::{
    Disk, DiskHealth as RecordHealth, Firmware, HardwareSection, HealthVerdict, MachineIdentity,
    MachineKeyInfo, Memory, MemorySlot as RecordSlot, ProbeWarning, SecureBootState, Sourced,
    ValueState,
};
use chrono::Utc;

use crate::smart::{self, DiskHealth, HealthReason, SmartError, SmartReport, Smartctl};
use crate::smbios::{
    Field, KeyCandidates, KeySource, MemoryCheck, MemorySize, SmbiosReport, SourceState,
    machine_key, read_smbios,
};
use crate::{battery, cpu, firmware, grade, network, pci, peripherals, screen};

/// Where captured smartctl outputs live inside a captured tree.
pub const CAPTURED_SMART_DIR: &str = "atelier-capture/smartctl";

/// How to get SMART data.
#[derive(Debug, Clone)]
pub enum SmartSource {
    /// Run smartctl on every disk (live machine).
    Query(Smartctl),
    /// Parse the outputs saved in a captured tree ([`CAPTURED_SMART_DIR`]).
    Captured,
    /// Do not look (the health of every disk is unknown, with this reason).
    Skip(String),
}

/// What [`take_inventory`] reads and how long it waits.
#[derive(Debug, Clone)]
pub struct InventoryOptions {
    /// The machine's filesystem root: `/`, or a captured tree.
    pub root: PathBuf,
    /// SMART data source.
    pub smart: SmartSource,
    /// Timeout of each smartctl query.
    pub smart_timeout: Duration,
    /// Deadline of every other probe, counted from the start.
    pub probe_timeout: Duration,
    /// The CPU architecture (`std::env::consts::ARCH` on a live machine).
    pub architecture: String,
    /// Whether the inventory runs as root.
    pub as_root: bool,
    /// List loop devices as disks too (the demo bench runs on a virtual disk file).
    pub include_loop_devices: bool,
}

impl InventoryOptions {
    /// Options for the machine we run on: root `/`, smartctl from `PATH`, 10 s per SMART
    /// query, 5 s for the other probes.
    pub fn live() -> Self {
        InventoryOptions {
            root: PathBuf::from("/"),
            smart: SmartSource::Query(Smartctl::new()),
            smart_timeout: Duration::from_secs(10),
            probe_timeout: Duration::from_secs(5),
            architecture: std::env::consts::ARCH.to_owned(),
            as_root: nix::unistd::geteuid().is_root(),
            include_loop_devices: false,
        }
    }

    /// Options for a captured tree at `root`: SMART from the capture.
    pub fn captured(root: impl Into<PathBuf>, architecture: impl Into<String>) -> Self {
        InventoryOptions {
            root: root.into(),
            smart: SmartSource::Captured,
            smart_timeout: Duration::from_secs(10),
            probe_timeout: Duration::from_secs(5),
            architecture: architecture.into(),
            as_root: true,
            include_loop_devices: false,
        }
    }
}

/// How long one part of the inventory took, for `ATELIER_INVENTORY_TIMINGS=1` (see
/// [`take_inventory_timed`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeTiming {
    /// The probe's name, as in warnings (`smbios`, `pci`, `disks`…), or `assembly` for the
    /// work done after every probe answered (merging, grading), or `total`.
    pub name: &'static str,
    /// When it started, counted from the start of the inventory.
    pub started: Duration,
    /// How long it ran; `None` when it did not finish before its deadline.
    pub took: Option<Duration>,
}

/// A started probe: its name, when the inventory started, and the channel its result (with
/// the probe's own start and end) arrives on.
struct Pending<T> {
    name: &'static str,
    origin: Instant,
    rx: mpsc::Receiver<(T, Instant, Instant)>,
}

fn spawn<T: Send + 'static>(
    name: &'static str,
    origin: Instant,
    f: impl FnOnce() -> T + Send + 'static,
) -> Pending<T> {
    let (tx, rx) = mpsc::channel();
    let spawned = thread::Builder::new()
        .name(format!("probe-{name}"))
        .spawn(move || {
            let began = Instant::now();
            let value = f();
            let _ = tx.send((value, began, Instant::now()));
        });
    if let Err(e) = spawned {
        // The receiver sees a disconnected channel; the error is reported by `wait`.
        let _ = e;
    }
    Pending { name, origin, rx }
}

impl<T> Pending<T> {
    /// Waits until `deadline`; `None` (and a warning) when the probe is late or died. The
    /// probe's timing goes into `timings` either way.
    fn wait(
        self,
        deadline: Instant,
        warnings: &mut Vec<ProbeWarning>,
        timings: &mut Vec<ProbeTiming>,
    ) -> Option<T> {
        let left = deadline.saturating_duration_since(Instant::now());
        let late = |message: &str, warnings: &mut Vec<ProbeWarning>| {
            warnings.push(ProbeWarning {
                probe: self.name.to_owned(),
                message: message.to_owned(),
            });
        };
        match self.rx.recv_timeout(left) {
            Ok((v, began, ended)) => {
                timings.push(ProbeTiming {
                    name: self.name,
                    started: began.saturating_duration_since(self.origin),
                    took: Some(ended.saturating_duration_since(began)),
                });
                Some(v)
            }
            Err(e) => {
                timings.push(ProbeTiming {
                    name: self.name,
                    started: Duration::ZERO,
                    took: None,
                });
                late(
                    match e {
                        mpsc::RecvTimeoutError::Timeout => {
                            "did not finish in time; its data is missing from this inventory"
                        }
                        mpsc::RecvTimeoutError::Disconnected => {
                            "stopped unexpectedly; its data is missing from this inventory"
                        }
                    },
                    warnings,
                );
                None
            }
        }
    }
}

type WithWarnings<T> = (T, Vec<ProbeWarning>);

/// Takes the inventory of the machine at `opts.root`. Never fails and never waits longer
/// than the probe deadline (plus the SMART timeout for the disk probe): whatever could not
/// be read is absent and explained in [`HardwareSection::warnings`].
pub fn take_inventory(opts: &InventoryOptions) -> HardwareSection {
    take_inventory_timed(opts).0
}

/// [`take_inventory`], and how long each probe took (what `ATELIER_INVENTORY_TIMINGS=1
/// atelier inventory` prints, to find where the time goes). Measuring costs two clock reads
/// per probe.
pub fn take_inventory_timed(opts: &InventoryOptions) -> (HardwareSection, Vec<ProbeTiming>) {
    let start = Instant::now();
    let root = opts.root.clone();

    let smbios = {
        let root = root.clone();
        spawn("smbios", start, move || {
            let report = read_smbios(&root);
            // Machines without SMBIOS memory devices: the kernel's memory blocks, read here
            // rather than after every probe has answered.
            let blocks = report
                .memory
                .installed_bytes
                .is_none()
                .then(|| crate::memory::read_memory_blocks(&root))
                .flatten();
            (report, blocks)
        })
    };
    let cpu = {
        let (root, arch) = (root.clone(), opts.architecture.clone());
        spawn("cpu", start, move || cpu::read_cpu(&root, &arch))
    };
    let batteries = {
        let root = root.clone();
        spawn("battery", start, move || battery::read_batteries(&root))
    };
    let screens = {
        let root = root.clone();
        spawn("screen", start, move || screen::read_screens(&root))
    };
    let firmware = {
        let root = root.clone();
        spawn("firmware", start, move || {
            (
                firmware::read_firmware(&root),
                firmware::read_devicetree(&root),
            )
        })
    };
    let pci = {
        let root = root.clone();
        spawn("pci", start, move || pci::read_pci_devices(&root))
    };
    let network = {
        let root = root.clone();
        spawn("network", start, move || {
            let (ifaces, mut warnings) = network::read_network(&root);
            let (peripherals, more) = peripherals::read_peripherals(&root, &ifaces);
            warnings.extend(more);
            (ifaces, peripherals, warnings)
        })
    };
    let disks = {
        let opts = opts.clone();
        spawn("disks", start, move || read_disks(&opts))
    };

    let deadline = start + opts.probe_timeout;
    let mut warnings = Vec::new();
    let mut timings = Vec::new();
    let (w, t) = (&mut warnings, &mut timings);
    let smbios = smbios.wait(deadline, w, t);
    let cpu = cpu.wait(deadline, w, t);
    let batteries = batteries.wait(deadline, w, t);
    let screens = screens.wait(deadline, w, t);
    let firmware = firmware.wait(deadline, w, t);
    let pci = pci.wait(deadline, w, t);
    let network = network.wait(deadline, w, t);
    let disks = disks.wait(deadline + opts.smart_timeout, w, t);
    let assembly_start = Instant::now();
    let (smbios, memory_blocks) = match smbios {
        Some((report, blocks)) => (Some(report), blocks),
        None => (None, None),
    };

    let mut take = |w: Vec<ProbeWarning>| warnings.extend(w);
    let (cpu, w) = cpu.unwrap_or_default();
    take(w);
    let (batteries, w) = batteries.unwrap_or_default();
    take(w);
    let (screens, w) = screens.unwrap_or_default();
    take(w);
    let ((firmware, w), (dt_model, dt_serial)) = firmware.unwrap_or_else(|| {
        (
            (
                Firmware {
                    boot_mode: atelier_record::BootMode::Other,
                    secure_boot: SecureBootState::Unknown,
                    tpm: None,
                    uefi_capable: None,
                    virtual_machine: None,
                },
                Vec::new(),
            ),
            (None, None),
        )
    });
    take(w);
    let (pci_devices, w) = pci.unwrap_or_default();
    take(w);
    let (network, peripherals, w) = network.unwrap_or_default();
    take(w);
    let (disks, w) = disks.unwrap_or_default();
    take(w);

    let cpu = cpu.map(|mut c| {
        // cpufreq is absent in VMs and on some firmware: SMBIOS type 4 gives the rated maximum.
        if c.max_frequency_mhz.is_none()
            && let Some(mhz) = smbios
                .as_ref()
                .and_then(|s| s.processors.iter().filter_map(|p| p.max_speed_mhz).max())
                .filter(|m| *m > 0)
        {
            c.max_frequency_mhz = Some(u32::from(mhz));
            c.source.push_str(", smbios type 4 (max speed)");
        }
        c
    });

    let (identity, memory, key) = match &smbios {
        Some(report) => {
            for note in &report.notes {
                warnings.push(ProbeWarning {
                    probe: "smbios".into(),
                    message: note.clone(),
                });
            }
            let mac = network::permanent_mac(&network);
            let key = machine_key(&KeyCandidates {
                serial_number: Some(&report.identity.serial_number),
                uuid: Some(&report.identity.uuid),
                board_serial: Some(&report.identity.board_serial),
                permanent_mac: mac.as_deref(),
                devicetree_serial: dt_serial.as_deref(),
            });
            (
                identity_section(report, dt_model.as_deref(), dt_serial.as_deref()),
                memory_section(report),
                key,
            )
        }
        None => {
            let mac = network::permanent_mac(&network);
            let key = machine_key(&KeyCandidates {
                permanent_mac: mac.as_deref(),
                devicetree_serial: dt_serial.as_deref(),
                ..KeyCandidates::default()
            });
            let unread = HardwareSection::not_read(Utc::now(), "the SMBIOS probe did not finish");
            let mut identity = unread.identity;
            identity.devicetree_model = dt_field(dt_model.as_deref(), "model");
            identity.devicetree_serial = dt_field(dt_serial.as_deref(), "serial-number");
            (identity, unread.memory, key)
        }
    };
    let mut memory = memory;
    if memory.installed_bytes.is_none()
        && let Some(blocks) = memory_blocks
    {
        memory.installed_bytes = Some(blocks.total_bytes());
        memory.installed_source = Some(format!(
            "/{} ({} blocks of {} bytes)",
            crate::memory::MEMORY_BLOCKS_DIR,
            blocks.blocks,
            blocks.block_size_bytes
        ));
    }
    let laptop_without_battery =
        battery::laptop_without_battery(identity.chassis_portable, &batteries);
    let mut firmware = firmware;
    if let Some(bios) = smbios.as_ref().and_then(|s| s.bios.as_ref()) {
        firmware.uefi_capable = bios.uefi_supported;
        firmware.virtual_machine = bios.virtual_machine;
    }
    if firmware.boot_mode == atelier_record::BootMode::Uefi {
        // Booted by UEFI: capable, whatever the tables say.
        firmware.uefi_capable = Some(true);
    }

    let mut hw = HardwareSection {
        collected_at: Utc::now(),
        as_root: opts.as_root,
        identity,
        machine_key: key_info(key),
        cpu,
        memory,
        disks,
        batteries,
        laptop_without_battery,
        screens,
        pci_devices,
        network,
        peripherals,
        firmware,
        grades: HardwareSection::not_read(Utc::now(), "").grades,
        warnings,
    };
    hw.grades = grade::grade(&hw);
    let end = Instant::now();
    timings.push(ProbeTiming {
        name: "assembly",
        started: assembly_start.saturating_duration_since(start),
        took: Some(end.saturating_duration_since(assembly_start)),
    });
    timings.push(ProbeTiming {
        name: "total",
        started: Duration::ZERO,
        took: Some(end.saturating_duration_since(start)),
    });
    (hw, timings)
}

/// The machine key alone, without the rest of the inventory (SMBIOS identity, network
/// interfaces and devicetree only; no SMART, no PCI): what a wipe needs to find the machine's
/// open record. Same chain and result as [`take_inventory`]'s `machine_key`.
pub fn identify(root: &Path) -> MachineKeyInfo {
    let report = read_smbios(root);
    let (network, _) = network::read_network(root);
    let (_, dt_serial) = firmware::read_devicetree(root);
    let mac = network::permanent_mac(&network);
    key_info(machine_key(&KeyCandidates {
        serial_number: Some(&report.identity.serial_number),
        uuid: Some(&report.identity.uuid),
        board_serial: Some(&report.identity.board_serial),
        permanent_mac: mac.as_deref(),
        devicetree_serial: dt_serial.as_deref(),
    }))
}

fn key_info(key: Option<crate::smbios::MachineKey>) -> MachineKeyInfo {
    match key {
        Some(k) => MachineKeyInfo {
            value: Some(k.key),
            source: match k.source {
                KeySource::SerialAndUuid => "serial_uuid",
                KeySource::BoardSerial => "board_serial",
                KeySource::SerialOnly => "serial",
                KeySource::UuidOnly => "uuid",
                KeySource::PermanentMac => "permanent_mac",
                KeySource::DevicetreeSerial => "devicetree_serial",
            }
            .to_owned(),
            weak: k.weak,
            skipped: k.notes,
        },
        None => MachineKeyInfo {
            value: None,
            source: "none".into(),
            weak: true,
            skipped: vec![
                "no serial number, UUID, board serial, permanent MAC or devicetree serial".into(),
            ],
        },
    }
}

/// Converts an identity field into a sourced value.
pub fn sourced(field: &Field, source: impl Into<String>) -> Sourced<String> {
    match field {
        Field::Value(v) => Sourced::known(v.clone(), source),
        Field::Placeholder { raw } => {
            Sourced::missing(ValueState::Placeholder, source, Some(raw.clone()), None)
        }
        Field::NeedsRoot => Sourced::missing(ValueState::NeedsRoot, source, None, None),
        Field::Absent => Sourced::absent(source),
        Field::Unknown { reason } => {
            Sourced::missing(ValueState::Unknown, source, None, Some(reason.clone()))
        }
    }
}

fn dt_field(value: Option<&str>, file: &str) -> Sourced<String> {
    let source = format!("/sys/firmware/devicetree/base/{file}");
    match value {
        Some(v) => Sourced::known(v.to_owned(), source),
        None => Sourced::absent(source),
    }
}

fn identity_section(
    report: &SmbiosReport,
    dt_model: Option<&str>,
    dt_serial: Option<&str>,
) -> MachineIdentity {
    let tables = report.tables == SourceState::Read;
    // merge_identity: the tables win where they have the structure, sysfs fills the rest.
    let src = |kind: u8, file: &str| {
        if tables {
            format!("smbios type {kind}, /sys/class/dmi/id/{file}")
        } else {
            format!("/sys/class/dmi/id/{file}")
        }
    };
    let id = &report.identity;
    MachineIdentity {
        system_vendor: sourced(&id.system_vendor, src(1, "sys_vendor")),
        product_name: sourced(&id.product_name, src(1, "product_name")),
        product_version: sourced(&id.product_version, src(1, "product_version")),
        product_sku: sourced(&id.sku, src(1, "product_sku")),
        product_family: sourced(&id.family, src(1, "product_family")),
        serial: sourced(&id.serial_number, src(1, "product_serial")),
        uuid: sourced(&id.uuid, src(1, "product_uuid")),
        chassis_type: match &id.chassis_type {
            Some(k) => Sourced::known(k.name().to_owned(), src(3, "chassis_type")),
            None => Sourced::absent(src(3, "chassis_type")),
        },
        chassis_portable: id.chassis_type.as_ref().map(|k| k.is_portable()),
        chassis_serial: sourced(&id.chassis_serial, src(3, "chassis_serial")),
        board_vendor: sourced(&id.board_vendor, src(2, "board_vendor")),
        board_name: sourced(&id.board_name, src(2, "board_name")),
        board_serial: sourced(&id.board_serial, src(2, "board_serial")),
        bios_vendor: sourced(&id.bios_vendor, src(0, "bios_vendor")),
        bios_version: sourced(&id.bios_version, src(0, "bios_version")),
        bios_date: sourced(&id.bios_date, src(0, "bios_date")),
        devicetree_model: dt_field(dt_model, "model"),
        devicetree_serial: dt_field(dt_serial, "serial-number"),
        smbios_version: report
            .smbios_version
            .map(|v| format!("{}.{}", v.major, v.minor)),
    }
}

fn text(field: &Field) -> Option<String> {
    field.value().map(str::to_owned)
}

fn memory_section(report: &SmbiosReport) -> Memory {
    let m = &report.memory;
    let total_bytes = match m.mem_total_kib {
        Some(kib) => Sourced::known(kib.saturating_mul(1024), "/proc/meminfo MemTotal"),
        None => Sourced::missing(
            ValueState::Unknown,
            "/proc/meminfo MemTotal",
            None,
            Some("no MemTotal line".into()),
        ),
    };
    let slots = m
        .slots
        .iter()
        .map(|s| RecordSlot {
            locator: text(&s.locator),
            bank: text(&s.bank_locator),
            populated: s.is_populated(),
            size_bytes: match s.size {
                MemorySize::Bytes(b) => Some(b),
                _ => None,
            },
            memory_type: s.memory_type.map(|t| t.name().to_owned()),
            form_factor: s.form_factor.map(|f| f.name().to_owned()),
            speed_mts: s.speed_mts,
            configured_speed_mts: s.configured_speed_mts,
            manufacturer: text(&s.manufacturer),
            part_number: text(&s.part_number),
            serial: text(&s.serial_number),
        })
        .collect();
    let check = match &m.check {
        MemoryCheck::Consistent => "consistent".to_owned(),
        MemoryCheck::TablesUnderReport => {
            "inconsistent: the kernel manages more than SMBIOS lists (soldered memory left out?)"
                .to_owned()
        }
        MemoryCheck::LargeGap => {
            "inconsistent: the kernel manages less than 3/4 of the installed memory".to_owned()
        }
        MemoryCheck::Unknown { reason } => format!("unknown: {reason}"),
    };
    // Board limits: the sum over the system memory arrays (type 16 use 03h), known only when
    // every such array reports the value.
    let system_arrays: Vec<_> = m.arrays.iter().filter(|a| a.is_system_memory()).collect();
    let any = !system_arrays.is_empty();
    let max_capacity_bytes = system_arrays
        .iter()
        .map(|a| a.max_capacity_bytes)
        .sum::<Option<u64>>()
        .filter(|_| any);
    let slot_count = system_arrays
        .iter()
        .map(|a| a.slot_count.map(u32::from))
        .sum::<Option<u32>>()
        .filter(|_| any);
    let mut corrections: Vec<&str> = system_arrays
        .iter()
        .filter_map(|a| a.error_correction_name())
        .collect();
    corrections.dedup();
    Memory {
        total_bytes,
        installed_bytes: m.installed_bytes,
        installed_source: m.installed_bytes.map(|_| "smbios type 17".to_owned()),
        slots,
        max_capacity_bytes,
        slot_count,
        error_correction: (!corrections.is_empty()).then(|| corrections.join(", ")),
        check,
    }
}

/// Whether the device is a disk the inventory lists.
fn listed(d: &BlockDevice, include_loop: bool) -> bool {
    match d.kind {
        DeviceKind::Disk => true,
        DeviceKind::Loop => include_loop && d.loop_backing_file.is_some(),
        _ => false,
    }
}

/// Lists the disks with their SMART health.
fn read_disks(opts: &InventoryOptions) -> WithWarnings<Vec<Disk>> {
    let root = SystemRoot::at(&opts.root);
    let mut warnings = Vec::new();
    let all = match atelier_device::discover(&root) {
        Ok(all) => all,
        Err(e) => {
            warnings.push(ProbeWarning {
                probe: "disks".into(),
                message: format!("block devices could not be listed: {e}"),
            });
            return (Vec::new(), warnings);
        }
    };
    let usage = SystemUsage::read(&root);
    let devices: Vec<&BlockDevice> = all
        .iter()
        .filter(|d| listed(d, opts.include_loop_devices))
        .collect();
    let results: Vec<Result<SmartReport, String>> = match &opts.smart {
        SmartSource::Query(smartctl) => {
            // smartctl is started only for disks that can carry SMART: a virtio or loop
            // device is a file or a disk of the host, an SD / eMMC card has no SMART.
            let asked: Vec<PathBuf> = devices
                .iter()
                .filter(|d| no_smart_reason(d).is_none())
                .map(|d| d.dev_path())
                .collect();
            let mut answers = smartctl.query_all(&asked, opts.smart_timeout).into_iter();
            devices
                .iter()
                .map(|d| match no_smart_reason(d) {
                    Some(why) => Err(why.to_owned()),
                    None => answers
                        .next()
                        .map(|(_, r)| r.map_err(|e| smart_error_text(&e)))
                        .unwrap_or_else(|| Err("smartctl gave no answer".to_owned())),
                })
                .collect()
        }
        SmartSource::Captured => devices
            .iter()
            .map(|d| match no_smart_reason(d) {
                Some(why) => Err(why.to_owned()),
                None => read_captured_smart(&opts.root, &d.name),
            })
            .collect(),
        SmartSource::Skip(why) => devices.iter().map(|_| Err(why.clone())).collect(),
    };
    let disks = devices
        .iter()
        .zip(results)
        .map(|(d, result)| {
            let boot_medium = assess(&root, d, &usage, &all)
                .iter()
                .any(|r| matches!(r, Refusal::BootMedium { .. }));
            if let Err(why) = &result
                && !matches!(opts.smart, SmartSource::Skip(_))
                && d.kind == DeviceKind::Disk
                && no_smart_reason(d).is_none()
            {
                // One warning when smartctl itself is missing, not one per disk.
                let missing = why.starts_with("smartctl not found");
                let probe = if missing {
                    "smart".to_owned()
                } else {
                    format!("smart:{}", d.dev_path().display())
                };
                if !warnings.iter().any(|w: &ProbeWarning| w.probe == probe) {
                    warnings.push(ProbeWarning {
                        probe,
                        message: why.clone(),
                    });
                }
            }
            Disk {
                device: d.identity(),
                boot_medium,
                health: disk_health(&result),
            }
        })
        .collect();
    (disks, warnings)
}

/// Why a device has no SMART to ask for, when it has none: smartctl is not started for it
/// (it would spend ~20 ms failing) and the disk's health says this reason.
pub fn no_smart_reason(d: &BlockDevice) -> Option<&'static str> {
    use atelier_record::Transport;
    match (d.kind, d.transport) {
        (DeviceKind::Loop, _) | (_, Transport::Loop) => {
            Some("loop device: a file seen as a disk has no SMART")
        }
        (DeviceKind::Ram, _) => Some("RAM disk: no SMART"),
        (_, Transport::Virtio) => {
            Some("virtual disk (virtio): no SMART; the real disk belongs to the host")
        }
        (_, Transport::Mmc) => Some("SD or eMMC card: no SMART"),
        _ => None,
    }
}

fn smart_error_text(e: &SmartError) -> String {
    e.to_string()
}

/// Reads a smartctl output saved in a captured tree.
fn read_captured_smart(root: &Path, name: &str) -> Result<SmartReport, String> {
    let rel = Path::new(CAPTURED_SMART_DIR).join(format!("{name}.json"));
    let path = root.join(&rel);
    match std::fs::read(&path) {
        Ok(bytes) => smart::parse(&bytes)
            .and_then(|report| smart::usable(&Path::new("/dev").join(name), report))
            .map_err(|e| e.to_string()),
        Err(e) => Err(format!(
            "no captured smartctl output ({}: {e})",
            rel.display()
        )),
    }
}

/// The record's view of a SMART result.
pub fn disk_health(result: &Result<SmartReport, String>) -> RecordHealth {
    let report = match result {
        Ok(r) => r,
        Err(why) => {
            return RecordHealth {
                verdict: HealthVerdict::Unknown,
                findings: Vec::new(),
                unknown_reason: Some(why.clone()),
                smart_passed: None,
                power_on_hours: None,
                reallocated_sectors: None,
                pending_sectors: None,
                uncorrectable_sectors: None,
                percentage_used: None,
                percentage_used_source: None,
                temperature_celsius: None,
                media_errors: None,
                critical_warning: None,
                smartctl_version: None,
            };
        }
    };
    let (verdict, reasons, unknown_reason) = match report.health() {
        DiskHealth::Good => (HealthVerdict::Good, Vec::new(), None),
        DiskHealth::Warning(r) => (HealthVerdict::Warning, r, None),
        DiskHealth::Failing(r) => (HealthVerdict::Failing, r, None),
        DiskHealth::Unknown(why) => (
            HealthVerdict::Unknown,
            Vec::new(),
            Some(unknown_text(why).to_owned()),
        ),
    };
    let ata = report.ata.as_ref();
    let nvme = report.nvme.as_ref();
    RecordHealth {
        verdict,
        findings: reasons.iter().map(reason_text).collect(),
        unknown_reason,
        smart_passed: report.smart_passed,
        power_on_hours: report.power_on_hours,
        reallocated_sectors: ata.and_then(|a| a.reallocated_sectors),
        pending_sectors: ata.and_then(|a| a.pending_sectors),
        uncorrectable_sectors: ata.and_then(|a| a.offline_uncorrectable),
        percentage_used: report.endurance_used_percent,
        percentage_used_source: report.endurance_source.clone(),
        temperature_celsius: report.temperature_c,
        media_errors: nvme.and_then(|n| n.media_errors),
        critical_warning: nvme.and_then(|n| n.critical_warning).map(|c| c.0),
        smartctl_version: report.smartctl_version.clone(),
    }
}

fn unknown_text(why: smart::UnknownReason) -> &'static str {
    use smart::UnknownReason::*;
    match why {
        DeviceOpenFailed => "smartctl could not open the device",
        DeviceTypeNotDetected => {
            "smartctl could not tell the device type (USB bridge or virtual disk?)"
        }
        SmartUnsupported => "the device has no SMART",
        SmartDisabled => "SMART is disabled on the device",
        SmartCommandFailed => "SMART commands failed",
        NoHealthData => "no health data in smartctl's answer",
        SmartctlMissing => "smartctl is not installed (apt-get install smartmontools)",
        SmartctlFailed => "smartctl could not be started",
        Timeout => "smartctl did not answer in time",
        UnreadableOutput => "smartctl's answer could not be read",
    }
}

/// One finding as a short English sentence.
pub fn reason_text(reason: &HealthReason) -> String {
    use HealthReason::*;
    match reason {
        OverallFailed => "overall self-assessment FAILED".into(),
        AttributeFailingNow { id, name, .. } => {
            format!("attribute {id} {name} at or below its threshold")
        }
        AttributeFailedInPast { id, name } => {
            format!("attribute {id} {name} was below its threshold in the past")
        }
        PrefailBelowThresholdReported => "pre-failure attributes below threshold".into(),
        BelowThresholdInPastReported => "attributes were below threshold in the past".into(),
        ReallocatedSectors { count } => format!("{count} reallocated sectors"),
        PendingSectors { count } => format!("{count} pending sectors"),
        OfflineUncorrectable { count } => format!("{count} offline uncorrectable sectors"),
        ReportedUncorrectable { count } => format!("{count} reported uncorrectable errors"),
        ReallocationEvents { count } => format!("{count} reallocation events"),
        CrcErrors { count } => format!("{count} interface CRC errors (cable or connector)"),
        NvmeCriticalWarning { flags } => format!("NVMe critical warning 0x{:02x}", flags.0),
        SpareBelowThreshold {
            available,
            threshold,
        } => format!("spare {available} % below threshold {threshold} %"),
        WornOut { percentage_used } => format!("worn out ({percentage_used} % used)"),
        HighWear { percentage_used } => format!("high wear ({percentage_used} % used)"),
        MediaErrors { count } => format!("{count} media errors"),
        GrownDefects { count } => format!("{count} grown defects"),
        UncorrectedErrors { count } => format!("{count} uncorrected errors"),
        SelfTestErrors => "the self-test log records errors".into(),
        OverallStatusMissing => "no overall self-assessment".into(),
    }
}
