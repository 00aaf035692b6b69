//! Firmware erase: ask the drive what it can do, then let it erase itself and check the result.
//!
//! - [`probe`] reads a drive's capabilities for the [`policy`](crate::policy): NVMe Identify
//!   Controller through the namespace's controller, ATA IDENTIFY DEVICE and READ NATIVE MAX
//!   ADDRESS EXT through SG_IO (the hidden-area check, ACS-3 §4.11).
//! - [`run_format_session`] runs NVMe Format NVM (NVM Command Set 1.0 §4.1.2) with Secure
//!   Erase Settings 1, or 2 when the drive advertises cryptographic erase (FNA bit 2), and
//!   verifies it as NIST SP 800-88 Rev. 1 §4.7 asks: before the erase, a few hundred
//!   pseudo-random sectors plus the first and the last are hashed; after it, a sampled
//!   read-back (≥ 1000 subsections, ≥ 10 % coverage, [`sampling`]) checks that the content is
//!   what the command promises (Identify Namespace DLFEAT: zeros or ones), and the hashed
//!   sectors are read again to check none still holds its old content.
//!
//! Every command sent is kept (opcode, NSID, CDW10/11, status, duration) for the record, with
//! the SHA-256 of the raw Identify pages.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use atelier_device::ata::{self, HiddenArea, SgDevice};
use atelier_device::ata_hidden::{self, HiddenAreaFeatures};
use atelier_device::nvme::{
    self, DeallocatedRead, IdentifyController, IdentifyNamespace, NvmeAdmin, NvmeController,
    SecureErase, SentCommand,
};
use atelier_device::{AlignedBuffer, BlockDevice, SystemRoot};
use atelier_record::{
    FirmwareCommand, FirmwareErase, Outcome, PassPattern, Verification, VerificationMode,
    VerificationResult,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::engine::{self, BlockIo, EngineConfig, ErrorMap, PassObserver, Pipeline, Stop};
use crate::job::{JobProgress, Phase, SessionEnd, WipeObserver, WipeParams};
use crate::pattern::PassContent;
use crate::policy::{AtaCapabilities, Capabilities, MediaClass, NvmeCapabilities, PolicyMethod};
use crate::sampling::{self, SectorRange};

/// Sectors hashed before a firmware erase, besides the first and the last.
pub const PRESAMPLE_SECTORS: u64 = 256;

/// Longest wait for a Format NVM to complete (a user data erase of a large drive can take
/// hours; the kernel gives up on the command after this).
pub const FORMAT_TIMEOUT: Duration = Duration::from_secs(4 * 3600);

/// What a probe learned about a drive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Probe {
    /// The capabilities the policy decides on.
    pub capabilities: Capabilities,
    /// ATA drives: the hidden-area check (READ NATIVE MAX ADDRESS EXT against IDENTIFY), or
    /// why it could not be made.
    pub hidden_area: Option<Result<HiddenArea, String>>,
    /// ATA drives: the hidden-area feature sets IDENTIFY advertises (AMAC, HPA, DCO).
    pub hidden_features: Option<HiddenAreaFeatures>,
    /// ATA drives with a DCO (and no AMAC): DEVICE CONFIGURATION IDENTIFY's factory maximum
    /// in sectors, or why it could not be read (a frozen DCO…).
    pub dco: Option<Result<u64, String>>,
}

impl Probe {
    /// Every sector the drive has as far as the probe knows: the native maximum, or the DCO's
    /// factory maximum when it is larger.
    pub fn native_sectors(&self) -> Option<u64> {
        let native = self.hidden_area.as_ref()?.as_ref().ok()?.native_sectors;
        let dco = self.dco.as_ref().and_then(|d| d.as_ref().ok().copied());
        Some(native.max(dco.unwrap_or(0)))
    }

    /// Sectors hidden from the host (HPA, DCO or AMAC), 0 when none or not measured.
    pub fn hidden_sectors(&self) -> u64 {
        match (&self.hidden_area, self.native_sectors()) {
            (Some(Ok(a)), Some(n)) => n.saturating_sub(a.user_sectors),
            _ => 0,
        }
    }

    /// Sectors hidden by the DCO alone (beyond the native maximum), 0 when none.
    pub fn dco_hidden_sectors(&self) -> u64 {
        match (&self.hidden_area, self.native_sectors()) {
            (Some(Ok(a)), Some(n)) => n.saturating_sub(a.native_sectors),
            _ => 0,
        }
    }
}

/// Reads `device`'s firmware capabilities. Never fails: what could not be read is said in
/// `probe_error`, and the policy then falls back to a host overwrite.
pub fn probe(root: &SystemRoot, device: &BlockDevice) -> Probe {
    let media = MediaClass::of(device);
    let mut caps = Capabilities {
        media,
        nvme: None,
        ata: None,
        probe_error: None,
        scsi: None,
        emmc: None,
    };
    match media {
        MediaClass::NvmeSsd => {
            match NvmeController::open_for_namespace(root, &device.name)
                .and_then(|mut c| nvme::read_identify_controller(&mut c))
                .and_then(|page| IdentifyController::parse(&page))
            {
                Ok(id) => {
                    caps.nvme = Some(NvmeCapabilities {
                        format: id.format_supported,
                        format_attributes: id.format_attributes,
                        sanitize: id.sanitize,
                    })
                }
                Err(e) => caps.probe_error = Some(e.to_string()),
            }
        }
        MediaClass::SataSsd | MediaClass::SataHdd => {
            let node = root.path(device.dev_path());
            match SgDevice::open(&node) {
                Ok(mut sg) => return probe_ata(&mut sg, media),
                Err(e) => caps.probe_error = Some(ata::AtaError::Os(e.to_string()).to_string()),
            }
        }
        MediaClass::Scsi => {
            // SCSI SANITIZE service actions from REPORT SUPPORTED OPERATION CODES.
            let node = root.path(device.dev_path());
            match SgDevice::open(&node)
                .map_err(|e| atelier_device::scsi::ScsiError::Os(e.to_string()))
                .and_then(|mut sg| atelier_device::scsi::read_sanitize_support(&mut sg))
            {
                Ok(s) => caps.scsi = Some(s),
                Err(e) => caps.probe_error = Some(e.to_string()),
            }
        }
        MediaClass::MemoryCard if atelier_device::emmc::is_emmc(root, &device.name) => {
            // eMMC: ask the kernel for its secure erase without erasing (EOPNOTSUPP = none).
            let node = root.path(device.dev_path());
            match atelier_device::emmc::secure_erase_supported(&node) {
                Ok(secure_erase) => {
                    caps.emmc = Some(crate::policy::EmmcCapabilities {
                        secure_erase,
                        mmc_utils: atelier_device::emmc::mmc_utils_installed(),
                    })
                }
                Err(e) => caps.probe_error = Some(e.to_string()),
            }
        }
        _ => {}
    }
    Probe {
        capabilities: caps,
        hidden_area: None,
        hidden_features: None,
        dco: None,
    }
}

/// The ATA part of [`probe`], on any pass-through (the drive's SG_IO node, or a scripted
/// drive in tests): IDENTIFY DEVICE, then READ NATIVE MAX ADDRESS EXT against its capacity.
pub fn probe_ata(dev: &mut dyn ata::AtaPassThrough, media: MediaClass) -> Probe {
    let mut caps = Capabilities {
        media,
        nvme: None,
        ata: None,
        probe_error: None,
        scsi: None,
        emmc: None,
    };
    let mut hidden_area = None;
    let mut hidden_features = None;
    let mut dco = None;
    match ata::read_identify(dev).and_then(|page| {
        hidden_features = Some(HiddenAreaFeatures::from_identify(&page));
        ata::AtaIdentify::parse(&page)
    }) {
        Ok(id) => {
            caps.ata = Some(AtaCapabilities {
                sanitize: id.sanitize,
                security: id.security,
            });
            let features = hidden_features.unwrap_or_default();
            hidden_area = Some(if features.amac {
                ata_hidden::read_native_sectors(dev, &features)
                    .map(|native_sectors| HiddenArea {
                        native_sectors,
                        user_sectors: id.user_sectors,
                    })
                    .map_err(|e| e.to_string())
            } else {
                ata::read_hidden_area(dev, &id).map_err(|e| e.to_string())
            });
            if features.dco && !features.amac {
                dco = Some(
                    ata_hidden::read_dco(dev, &features)
                        .map(|d| d.max_sectors())
                        .map_err(|e| e.to_string()),
                );
            }
        }
        Err(e) => caps.probe_error = Some(e.to_string()),
    }
    Probe {
        capabilities: caps,
        hidden_area,
        hidden_features,
        dco,
    }
}

/// The command the hidden-area check sends, as the record names it.
pub const HIDDEN_AREA_METHOD: &str = "ATA READ NATIVE MAX ADDRESS EXT";

/// The words the check's method carries when the drive advertises a DCO that could not be
/// read (frozen…), followed by the cause and `)`.
pub const DCO_NOT_READ: &str = " (DCO not read:";

/// The commands a hidden-area check used, as the record names them: READ NATIVE MAX ADDRESS
/// EXT (or GET NATIVE MAX ADDRESS EXT on an AMAC drive), plus DEVICE CONFIGURATION IDENTIFY
/// when the DCO was read, or why not.
pub fn hidden_area_method(probe: &Probe) -> String {
    let features = probe.hidden_features.unwrap_or_default();
    let mut method = if features.amac {
        "ATA GET NATIVE MAX ADDRESS EXT".to_string()
    } else {
        HIDDEN_AREA_METHOD.to_string()
    };
    match &probe.dco {
        Some(Ok(_)) => method.push_str(" + ATA DEVICE CONFIGURATION IDENTIFY"),
        Some(Err(e)) => method.push_str(&format!("{DCO_NOT_READ} {e})")),
        None => {}
    }
    method
}

/// The record's picture of `probe`'s hidden-area check: measured (SATA drives that answered
/// READ NATIVE MAX ADDRESS EXT), or not examined and why.
pub fn hidden_area_check(probe: &Probe) -> atelier_record::HiddenAreaCheck {
    use atelier_record::HiddenAreaCheck as H;
    let not = |reason: String| H::NotExamined { reason };
    match (&probe.hidden_area, probe.capabilities.media) {
        (Some(Ok(a)), _) => H::Measured {
            method: hidden_area_method(probe),
            native_max_sectors: probe.native_sectors().unwrap_or(a.native_sectors),
            user_sectors: a.user_sectors,
            hidden_sectors: probe.hidden_sectors(),
            restore: None,
        },
        (Some(Err(e)), _) => not(format!("{HIDDEN_AREA_METHOD} failed: {e}")),
        (None, MediaClass::SataSsd | MediaClass::SataHdd) => not(format!(
            "IDENTIFY DEVICE could not be read ({})",
            probe
                .capabilities
                .probe_error
                .as_deref()
                .unwrap_or("no answer")
        )),
        (None, MediaClass::NvmeSsd) => not(
            "NVMe: no host protected area in the NVMe command set; capacity outside the namespaces is not examined by this version"
                .into(),
        ),
        (None, MediaClass::Usb) => not(
            "USB: ATA pass-through through the bridge is not attempted by this version".into(),
        ),
        (None, MediaClass::MemoryCard) => {
            not("SD card / eMMC: no command reports a hidden area".into())
        }
        (None, MediaClass::Scsi) => not("SCSI / SAS: not examined by this version".into()),
        (None, MediaClass::Virtual) => {
            not("virtual device (loop, virtio, RAM): the real medium is elsewhere".into())
        }
    }
}

/// The firmware part of a job's journaled parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirmwareParams {
    /// The method: NVMe Format ([`run_format_session`]) or ATA Security Erase
    /// ([`crate::ata_security::run_security_erase_session`]).
    pub method: PolicyMethod,
}

impl FirmwareParams {
    fn secure_erase(&self) -> Option<SecureErase> {
        match self.method {
            PolicyMethod::NvmeFormat => Some(SecureErase::UserData),
            PolicyMethod::NvmeFormatCrypto => Some(SecureErase::Cryptographic),
            _ => None,
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn record_command(sent: &SentCommand) -> FirmwareCommand {
    FirmwareCommand {
        name: sent.command.name().to_string(),
        opcode: sent.command.opcode,
        nsid: Some(sent.command.nsid),
        cdw10: sent.command.cdw10(),
        cdw11: sent.command.cdw11(),
        status: sent.status,
        os_error: sent.os_error.clone(),
        duration_seconds: sent.duration.as_secs_f64(),
    }
}

/// Pseudo-random sector positions: `count` of them, plus the first and the last, sorted.
pub fn presample_positions(total_sectors: u64, count: u64, seed: u64) -> Vec<u64> {
    let mut state = seed ^ 0x5EED_F1A5_0000_0001;
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut v: Vec<u64> = (0..count).map(|_| next() % total_sectors.max(1)).collect();
    v.push(0);
    v.push(total_sectors.saturating_sub(1));
    v.sort_unstable();
    v.dedup();
    v
}

/// One hashed sector.
pub(crate) struct Sample {
    lba: u64,
    hash: [u8; 32],
    pub(crate) was_expected: bool,
}

fn read_sector(dev: &dyn BlockIo, lba: u64, buf: &mut AlignedBuffer) -> std::io::Result<()> {
    let sector = u64::from(dev.logical_sector_size());
    dev.read_exact_at(buf.as_mut_slice(), lba * sector)
}

fn is_pattern(data: &[u8], expected: Option<PassPattern>) -> bool {
    match expected {
        Some(PassPattern::Zero) => data.iter().all(|&b| b == 0),
        Some(PassPattern::One) => data.iter().all(|&b| b == 0xFF),
        _ => false,
    }
}

/// Runs an NVMe Format NVM job on `dev` (the namespace, held open exclusively) through
/// `ctrl` (its controller), then verifies it. Returns the session's end and the firmware
/// section of the record.
#[allow(clippy::too_many_arguments)]
pub fn run_format_session(
    dev: &dyn BlockIo,
    ctrl: &mut dyn NvmeAdmin,
    nsid: u32,
    params: &WipeParams,
    cfg: &EngineConfig,
    observer: &dyn WipeObserver,
    cancel: &AtomicBool,
) -> (SessionEnd, FirmwareErase) {
    let fw = params.firmware.clone().unwrap_or(FirmwareParams {
        method: PolicyMethod::NvmeFormat,
    });
    let mut section = FirmwareErase {
        command_set: "nvme".into(),
        identify_sha256: String::new(),
        namespace_identify_sha256: None,
        commands: Vec::new(),
        expected_content: "unspecified".into(),
        presampled_sectors: 0,
        presampled_distinct: 0,
        presampled_unchanged: 0,
    };
    let progress = JobProgress::default();
    let fail = |section: FirmwareErase, detail: String, progress: JobProgress| {
        (
            SessionEnd {
                outcome: Outcome::Failed,
                detail: Some(detail),
                progress,
                verification: None,
                verify_seconds: 0.0,
            },
            section,
        )
    };

    // 1. Identify, right before the erase: the hashes go in the record.
    let mut page = vec![0u8; nvme::IDENTIFY_LEN];
    let (r, sent) = nvme::run(
        ctrl,
        &nvme::identify(nvme::CNS_CONTROLLER, 0),
        Some(&mut page),
        Duration::from_secs(10),
    );
    section.commands.push(record_command(&sent));
    if let Err(e) = r {
        return fail(section, format!("nothing erased: {e}"), progress);
    }
    section.identify_sha256 = hex(&Sha256::digest(&page));
    let id = match IdentifyController::parse(&page) {
        Ok(id) => id,
        Err(e) => return fail(section, format!("nothing erased: {e}"), progress),
    };
    let mut ns_page = vec![0u8; nvme::IDENTIFY_LEN];
    let (r, sent) = nvme::run(
        ctrl,
        &nvme::identify(nvme::CNS_NAMESPACE, nsid),
        Some(&mut ns_page),
        Duration::from_secs(10),
    );
    section.commands.push(record_command(&sent));
    if let Err(e) = r {
        return fail(section, format!("nothing erased: {e}"), progress);
    }
    section.namespace_identify_sha256 = Some(hex(&Sha256::digest(&ns_page)));
    let ns = match IdentifyNamespace::parse(&ns_page) {
        Ok(ns) => ns,
        Err(e) => return fail(section, format!("nothing erased: {e}"), progress),
    };

    // 2. The drive must advertise what is asked, whatever the plan said.
    let Some(ses) = fw.secure_erase() else {
        return fail(
            section,
            format!(
                "nothing erased: {} is not run by this session",
                fw.method.name()
            ),
            progress,
        );
    };
    if !id.format_supported {
        return fail(
            section,
            "nothing erased: the drive does not advertise Format NVM (OACS bit 1 is 0)".into(),
            progress,
        );
    }
    if ses == SecureErase::Cryptographic && !id.format_attributes.crypto_erase {
        return fail(
            section,
            "nothing erased: the drive does not advertise cryptographic erase (FNA bit 2 is 0)"
                .into(),
            progress,
        );
    }
    let sector = u64::from(dev.logical_sector_size());
    if ns.block_size() != sector || ns.size_blocks * sector != dev.size_bytes() {
        return fail(
            section,
            format!(
                "nothing erased: Identify Namespace ({} blocks of {} bytes) does not match the block device ({} bytes, {sector}-byte sectors)",
                ns.size_blocks,
                ns.block_size(),
                dev.size_bytes()
            ),
            progress,
        );
    }
    let expected = match ns.deallocated_read {
        DeallocatedRead::Zeros => Some(PassPattern::Zero),
        DeallocatedRead::Ones => Some(PassPattern::One),
        DeallocatedRead::NotReported => None,
    };
    section.expected_content = match expected {
        Some(PassPattern::Zero) => "zeros",
        Some(PassPattern::One) => "ones",
        _ => "unspecified",
    }
    .into();

    // 3. Hash the sample sectors before the erase.
    let samples = match presample(dev, expected, params.sample_seed) {
        Ok(s) => s,
        Err(e) => return fail(section, e, progress),
    };
    section.presampled_sectors = samples.len() as u64;
    section.presampled_distinct = samples.iter().filter(|s| !s.was_expected).count() as u64;
    if cancel.load(Ordering::Relaxed) {
        return (
            SessionEnd {
                outcome: Outcome::Interrupted,
                detail: Some("stopped by the operator before the erase".into()),
                progress,
                verification: None,
                verify_seconds: 0.0,
            },
            section,
        );
    }

    // 4. Format NVM. The command returns when the erase is done.
    observer.phase(Phase::Firmware { method: fw.method }, dev.size_bytes());
    observer.progress(0, dev.size_bytes());
    let cmd = nvme::format_nvm(nsid, ns.current_format, ses);
    let started = Instant::now();
    let (r, sent) = nvme::run(ctrl, &cmd, None, FORMAT_TIMEOUT);
    let erase_seconds = started.elapsed().as_secs_f64();
    section.commands.push(record_command(&sent));
    let progress = JobProgress {
        pass_index: params.passes.len() as u32,
        write_seconds: erase_seconds,
        ..JobProgress::default()
    };
    if let Err(e) = r {
        return fail(section, format!("the erase failed: {e}"), progress);
    }
    observer.progress(dev.size_bytes(), dev.size_bytes());
    if let Err(reason) = observer.checkpoint(&progress) {
        return fail(section, reason, progress);
    }

    // 5. Verify: NIST sampled read-back against the promised content, and the hashed sectors.
    observer.before_verify();
    let end = verify_erase(
        dev,
        &samples,
        expected,
        params,
        cfg,
        observer,
        cancel,
        &mut section,
        progress,
    );
    (end, section)
}

/// Hashes the sample sectors (see [`presample_positions`]) before a firmware erase.
pub(crate) fn presample(
    dev: &dyn BlockIo,
    expected: Option<PassPattern>,
    seed: u64,
) -> Result<Vec<Sample>, String> {
    let sector = u64::from(dev.logical_sector_size());
    let total = dev.size_bytes() / sector;
    let mut buf = AlignedBuffer::zeroed(sector as usize);
    let mut samples = Vec::new();
    for lba in presample_positions(total, PRESAMPLE_SECTORS, seed) {
        read_sector(dev, lba, &mut buf).map_err(|e| {
            format!("nothing erased: sector {lba} could not be read before the erase: {e}")
        })?;
        samples.push(Sample {
            lba,
            hash: Sha256::digest(buf.as_slice()).into(),
            was_expected: is_pattern(buf.as_slice(), expected),
        });
    }
    Ok(samples)
}

/// After a firmware erase: the NIST sampled (or full) read-back against the promised content
/// when there is one, and the hashed sectors read again (none may still hold its old
/// content). Fills the section's `presampled_unchanged`; returns the session's end.
#[allow(clippy::too_many_arguments)]
pub(crate) fn verify_erase(
    dev: &dyn BlockIo,
    samples: &[Sample],
    expected: Option<PassPattern>,
    params: &WipeParams,
    cfg: &EngineConfig,
    observer: &dyn WipeObserver,
    cancel: &AtomicBool,
    section: &mut FirmwareErase,
    mut progress: JobProgress,
) -> SessionEnd {
    let sector = u64::from(dev.logical_sector_size());
    let total = dev.size_bytes() / sector;
    let mut buf = AlignedBuffer::zeroed(sector as usize);
    let mode = params.verification;
    let ranges = match mode {
        VerificationMode::Full => vec![SectorRange {
            first: 0,
            count: total,
        }],
        VerificationMode::Sampled => sampling::sampled_ranges(total, params.sample_seed),
    };
    let verify_started = Instant::now();
    let mut errors = ErrorMap::from_ranges(Vec::new());
    let read_back = match expected {
        Some(pattern) => {
            observer.phase(Phase::Verify { mode }, sampling::covered(&ranges) * sector);
            let content = PassContent::new(pattern, params.cipher, &params.keys[0]);
            let verify_observer = VerifyOnly { observer };
            let pipe = Pipeline {
                dev,
                cfg,
                observer: &verify_observer,
                cancel,
            };
            match engine::read_back(&pipe, &content, &ranges, &mut errors) {
                Ok(r) => Some(r),
                Err(stop) => {
                    progress.errors = errors.ranges().to_vec();
                    let (outcome, detail) = match stop {
                        Stop::Cancelled => (
                            Outcome::Interrupted,
                            "stopped by the operator during the verification".to_string(),
                        ),
                        Stop::Aborted(r) => (Outcome::Failed, r),
                    };
                    return SessionEnd {
                        outcome,
                        detail: Some(detail),
                        progress,
                        verification: None,
                        verify_seconds: verify_started.elapsed().as_secs_f64(),
                    };
                }
            }
        }
        None => None,
    };
    let mut unchanged = 0u64;
    let mut unreadable = 0u64;
    let mut not_pattern = 0u64;
    for s in samples {
        match read_sector(dev, s.lba, &mut buf) {
            Ok(()) => {
                let now: [u8; 32] = Sha256::digest(buf.as_slice()).into();
                if !s.was_expected && now == s.hash {
                    unchanged += 1;
                }
                if expected.is_some() && !is_pattern(buf.as_slice(), expected) {
                    not_pattern += 1;
                }
            }
            Err(_) => unreadable += 1,
        }
    }
    section.presampled_unchanged = unchanged;
    let verify_seconds = verify_started.elapsed().as_secs_f64();
    progress.errors = errors.ranges().to_vec();
    let rb = read_back.unwrap_or_default();
    let mismatched = rb.mismatched_sectors + not_pattern;
    let unreadable_total = rb.unreadable_sectors + unreadable;
    // The hashed sectors are re-read too, but most lie inside the sampled ranges: coverage
    // counts the read-back alone (or the hashed sectors when there is no pattern to check).
    let checked = if expected.is_some() {
        rb.bytes_checked
    } else {
        samples.len() as u64 * sector
    };
    let passed = mismatched == 0 && unreadable_total == 0 && unchanged == 0;
    let verification = Verification {
        mode,
        result: if passed {
            VerificationResult::Passed
        } else {
            VerificationResult::Failed
        },
        bytes_checked: checked,
        coverage_percent: checked as f64 * 100.0 / dev.size_bytes().max(1) as f64,
        mismatched_sectors: mismatched,
        first_mismatch_lba: rb.first_mismatch_lba,
        unreadable_sectors: unreadable_total,
    };
    let detail = if passed {
        None
    } else if unchanged > 0 {
        Some(format!(
            "{unchanged} of the {} sectors hashed before the erase still hold their old content",
            samples.len()
        ))
    } else {
        Some(format!(
            "verification found {mismatched} sectors that are not {} and {unreadable_total} unreadable",
            section.expected_content
        ))
    };
    SessionEnd {
        outcome: if passed {
            Outcome::Passed
        } else {
            Outcome::Failed
        },
        detail,
        progress,
        verification: Some(verification),
        verify_seconds,
    }
}

struct VerifyOnly<'a> {
    observer: &'a dyn WipeObserver,
}

impl PassObserver for VerifyOnly<'_> {
    fn progress(&self, bytes_done: u64, bytes_total: u64) {
        self.observer.progress(bytes_done, bytes_total);
    }

    fn checkpoint(&self, _bytes_done: u64, _errors: &ErrorMap) -> Result<(), String> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presample_positions_cover_both_ends() {
        let v = presample_positions(131_072, PRESAMPLE_SECTORS, 42);
        assert_eq!(v[0], 0);
        assert_eq!(*v.last().unwrap(), 131_071);
        assert!(v.len() >= 200, "{}", v.len());
        assert!(v.windows(2).all(|w| w[0] < w[1]));
        assert_ne!(v, presample_positions(131_072, PRESAMPLE_SECTORS, 43));
    }
}
