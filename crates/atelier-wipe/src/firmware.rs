//! Firmware erase: ask the drive what it can do, then let it erase itself and check the result.
//!
//! - [`probe`] reads a drive's capabilities for the [`policy`](crate::policy): NVMe Identify
//!   Controller through the namespace's controller, ATA IDENTIFY DEVICE and READ NATIVE MAX
//!   ADDRESS EXT through SG_IO (the hidden-area check, ACS-3 §4.11).
//! - [`run_format_session`] runs NVMe Format NVM (NVM Command Set 1.0 §4.1.2) with Secure
//!   Erase Settings 1, or 2 when the drive advertises cryptographic erase (FNA bit 2), and
//!   verifies it as NIST SP 800-88 Rev. 1 §4.7 asks: before the erase, a few hundred
//!   pseudo-random sectors plus the first and the last are hashed; after it, a sampled
//!   read-back (≥ 1000 subsections, ≥ 10 % coverage, [`sampling`](crate::sampling)) checks
//!   that the content is what the command promises (Identify Namespace DLFEAT: zeros or
//!   ones), and the hashed sectors are read again to check none still holds its old content.
//!
//! Every command sent is kept (opcode, NSID, CDW10/11, status, duration) for the record, with
//! the SHA-256 of the raw Identify pages.

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use atelier_device::ata::{self, HiddenArea, SgDevice};
use atelier_device::ata_hidden::{self, HiddenAreaFeatures};
use atelier_device::nvme::{
    self, DeallocatedRead, IdentifyController, IdentifyNamespace, NvmeAdmin, NvmeController,
    SecureErase, SentCommand,
};
use atelier_device::{BlockDevice, SystemRoot};
use atelier_record::{FirmwareCommand, FirmwareErase, PassPattern};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::engine::{BlockIo, EngineConfig};
use crate::job::{JobProgress, SessionEnd, WipeObserver, WipeParams};
use crate::policy::{AtaCapabilities, Capabilities, MediaClass, NvmeCapabilities, PolicyMethod};
use crate::session::{self, Session, Steps, erase_progress, fail, failed, hex};

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
    use atelier_record::NotExaminedCode as C;
    let not = |code: C, reason: String| H::NotExamined {
        reason,
        code: Some(code),
    };
    match (&probe.hidden_area, probe.capabilities.media) {
        (Some(Ok(a)), _) => H::Measured {
            method: hidden_area_method(probe),
            native_max_sectors: probe.native_sectors().unwrap_or(a.native_sectors),
            user_sectors: a.user_sectors,
            hidden_sectors: probe.hidden_sectors(),
            restore: None,
        },
        (Some(Err(e)), _) => not(C::CommandFailed, format!("{HIDDEN_AREA_METHOD} failed: {e}")),
        (None, MediaClass::SataSsd | MediaClass::SataHdd) => not(
            C::IdentifyUnreadable,
            format!(
            "IDENTIFY DEVICE could not be read ({})",
            probe
                .capabilities
                .probe_error
                .as_deref()
                .unwrap_or("no answer")
            ),
        ),
        (None, MediaClass::NvmeSsd) => not(
            C::Nvme,
            "NVMe: no host protected area in the NVMe command set; capacity outside the namespaces is not examined by this version"
                .into(),
        ),
        (None, MediaClass::Usb) => not(
            C::Usb,
            "USB: ATA pass-through through the bridge is not attempted by this version".into(),
        ),
        (None, MediaClass::MemoryCard) => {
            not(C::MemoryCard, "SD card / eMMC: no command reports a hidden area".into())
        }
        (None, MediaClass::Scsi) => not(C::Scsi, "SCSI / SAS: not examined by this version".into()),
        (None, MediaClass::Virtual) => {
            not(
                C::Virtual,
                "virtual device (loop, virtio, RAM): the real medium is elsewhere".into(),
            )
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

/// The record of one NVMe admin command as sent.
pub(crate) fn record_command(sent: &SentCommand) -> FirmwareCommand {
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

/// Identify Controller, then Identify Namespace `nsid`, right before an NVMe erase: both
/// commands are recorded in `section` with the SHA-256 of their pages. The error is the
/// session's detail ("nothing erased: …").
pub(crate) fn identify_nvme(
    ctrl: &mut dyn NvmeAdmin,
    nsid: u32,
    section: &mut FirmwareErase,
) -> Result<(IdentifyController, IdentifyNamespace), String> {
    let mut page = vec![0u8; nvme::IDENTIFY_LEN];
    let (r, sent) = nvme::run(
        ctrl,
        &nvme::identify(nvme::CNS_CONTROLLER, 0),
        Some(&mut page),
        Duration::from_secs(10),
    );
    section.commands.push(record_command(&sent));
    r.map_err(|e| format!("nothing erased: {e}"))?;
    section.identify_sha256 = hex(&Sha256::digest(&page));
    let id = IdentifyController::parse(&page).map_err(|e| format!("nothing erased: {e}"))?;
    let mut ns_page = vec![0u8; nvme::IDENTIFY_LEN];
    let (r, sent) = nvme::run(
        ctrl,
        &nvme::identify(nvme::CNS_NAMESPACE, nsid),
        Some(&mut ns_page),
        Duration::from_secs(10),
    );
    section.commands.push(record_command(&sent));
    r.map_err(|e| format!("nothing erased: {e}"))?;
    section.namespace_identify_sha256 = Some(hex(&Sha256::digest(&ns_page)));
    let ns = IdentifyNamespace::parse(&ns_page).map_err(|e| format!("nothing erased: {e}"))?;
    Ok((id, ns))
}

/// The namespace must be the block device the session holds open: same sector size and
/// capacity.
pub(crate) fn check_namespace(dev: &dyn BlockIo, ns: &IdentifyNamespace) -> Result<(), String> {
    let sector = u64::from(dev.logical_sector_size());
    if ns.block_size() != sector || ns.size_blocks * sector != dev.size_bytes() {
        return Err(format!(
            "nothing erased: Identify Namespace ({} blocks of {} bytes) does not match the block device ({} bytes, {sector}-byte sectors)",
            ns.size_blocks,
            ns.block_size(),
            dev.size_bytes()
        ));
    }
    Ok(())
}

/// What deallocated blocks of `ns` read as (Identify Namespace DLFEAT), when it says.
pub(crate) fn deallocated(ns: &IdentifyNamespace) -> Option<PassPattern> {
    match ns.deallocated_read {
        DeallocatedRead::Zeros => Some(PassPattern::Zero),
        DeallocatedRead::Ones => Some(PassPattern::One),
        DeallocatedRead::NotReported => None,
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
    Session::new(dev, params, cfg, observer, cancel).run("nvme", None, |session, section| {
        format(session, ctrl, nsid, section)
    })
}

/// The steps of [`run_format_session`]; `Err` is an end before the verification.
fn format(
    session: &Session<'_>,
    ctrl: &mut dyn NvmeAdmin,
    nsid: u32,
    section: &mut FirmwareErase,
) -> Steps {
    let dev = session.dev;
    let params = session.params;
    let fw = params.firmware.clone().unwrap_or(FirmwareParams {
        method: PolicyMethod::NvmeFormat,
    });
    let nothing = |detail: String| Box::new(failed(detail, JobProgress::default()));

    // 1. Identify, right before the erase: the hashes go in the record.
    let (id, ns) = identify_nvme(ctrl, nsid, section).map_err(nothing)?;

    // 2. The drive must advertise what is asked, whatever the plan said.
    let Some(ses) = fw.secure_erase() else {
        return Err(nothing(format!(
            "nothing erased: {} is not run by this session",
            fw.method.name()
        )));
    };
    if !id.format_supported {
        return Err(nothing(
            "nothing erased: the drive does not advertise Format NVM (OACS bit 1 is 0)".into(),
        ));
    }
    if ses == SecureErase::Cryptographic && !id.format_attributes.crypto_erase {
        return Err(nothing(
            "nothing erased: the drive does not advertise cryptographic erase (FNA bit 2 is 0)"
                .into(),
        ));
    }
    check_namespace(dev, &ns).map_err(nothing)?;
    let expected = deallocated(&ns);
    section.expected_content = session::content_name(expected).into();

    // 3. Hash the sample sectors before the erase.
    let samples = session
        .presample(expected, false, section)
        .map_err(nothing)?;
    session.stop_if_cancelled()?;

    // 4. Format NVM. The command returns when the erase is done.
    session.start_erase(fw.method);
    let cmd = nvme::format_nvm(nsid, ns.current_format, ses);
    let started = Instant::now();
    let (r, sent) = nvme::run(ctrl, &cmd, None, FORMAT_TIMEOUT);
    section.commands.push(record_command(&sent));
    let progress = erase_progress(params, started.elapsed().as_secs_f64());
    if let Err(e) = r {
        return fail(format!("the erase failed: {e}"), progress);
    }
    session.erase_done();

    // 5. Verify: NIST sampled read-back against the promised content, and the hashed sectors.
    Ok(session.checkpoint_and_verify(&samples, expected, section, progress))
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
