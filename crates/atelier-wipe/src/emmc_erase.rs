//! eMMC secure erase as a verified wipe (method `emmc-secure-erase`, labelled **Clear**).
//!
//! The sequence (see [`atelier_device::emmc`] for the kernel and JEDEC references):
//!
//! 1. A few hundred sectors are hashed ([`crate::firmware`]).
//! 2. `BLKSECDISCARD` over the whole device: the kernel sends the card's secure erase or
//!    secure trim of every block (JESD84-B51 §6.6.9). `EOPNOTSUPP` (the kernel has no secure
//!    erase for it) ends the job FAILED with nothing erased and the next step (`--method
//!    overwrite`); the probe normally keeps the policy from choosing this method then.
//! 3. eMMC SANITIZE with mmc-utils (`mmc sanitize DEV`, JESD84-B51 §6.6.10) when it is
//!    installed, which purges the unmapped blocks left by the card's own housekeeping. Missing
//!    or failing, it is recorded and the job goes on: the secure erase is the method.
//! 4. The hashed sectors are read again: none may still hold its old content. The content of
//!    an erased eMMC block (zeros or ones, EXT_CSD ERASED_MEM_CONT) is not exposed by the
//!    kernel, so no pattern read-back is made.
//!
//! Why Clear and not Purge: NIST SP 800-88 Rev. 1 Table A-8 gives memory cards and embedded
//! flash no Purge command, and the bench cannot check from the host that the card's secure
//! erase reached every copy of every block. The method is still preferred to the host
//! overwrite because it asks the card to erase the copies an overwrite cannot address.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use atelier_device::emmc::{self, EmmcError};
use atelier_record::{FirmwareCommand, FirmwareErase, Outcome};

use crate::BlockIo;
use crate::engine::EngineConfig;
use crate::firmware::{presample, verify_erase};
use crate::job::{JobProgress, Phase, SessionEnd, WipeObserver, WipeParams};
use crate::policy::PolicyMethod;

/// The ioctl number of `BLKSECDISCARD` in the block family 0x12 (recorded as the opcode).
pub const BLKSECDISCARD_NR: u8 = 125;

/// What erases an eMMC: the kernel and mmc-utils on the bench, a stand-in in tests.
pub trait EmmcEraser {
    /// Secure erase of the whole device; the bytes erased.
    fn secure_erase_all(&mut self) -> Result<u64, EmmcError>;
    /// eMMC SANITIZE (of the unmapped blocks).
    fn sanitize(&mut self) -> Result<(), EmmcError>;
}

/// The real eraser: `BLKSECDISCARD` on the node, `mmc sanitize` from mmc-utils.
#[derive(Debug, Clone)]
pub struct KernelEmmc {
    /// The device node, e.g. `/dev/mmcblk0`.
    pub node: PathBuf,
    /// The mmc-utils program (default `mmc`, found on `PATH`).
    pub mmc_program: PathBuf,
}

impl KernelEmmc {
    /// The eraser of `node`, with mmc-utils from `PATH`.
    pub fn new(node: impl Into<PathBuf>) -> Self {
        Self {
            node: node.into(),
            mmc_program: PathBuf::from(emmc::MMC_UTILS),
        }
    }
}

impl EmmcEraser for KernelEmmc {
    fn secure_erase_all(&mut self) -> Result<u64, EmmcError> {
        emmc::secure_erase_all(&self.node)
    }
    fn sanitize(&mut self) -> Result<(), EmmcError> {
        emmc::mmc_sanitize_with(&self.mmc_program, &self.node)
    }
}

fn record(
    name: &str,
    opcode: u8,
    started: Instant,
    result: &Result<(), EmmcError>,
) -> FirmwareCommand {
    FirmwareCommand {
        name: name.into(),
        opcode,
        nsid: None,
        cdw10: 0,
        cdw11: 0,
        status: result.is_ok().then_some(0),
        os_error: result.as_ref().err().map(ToString::to_string),
        duration_seconds: started.elapsed().as_secs_f64(),
    }
}

fn failed(detail: String, progress: JobProgress) -> SessionEnd {
    SessionEnd {
        outcome: Outcome::Failed,
        detail: Some(detail),
        progress,
        verification: None,
        verify_seconds: 0.0,
    }
}

/// Runs an eMMC secure erase job on `dev` (the card, held open exclusively) through
/// `eraser`, then verifies it. Returns the session's end and the firmware section.
pub fn run_emmc_secure_erase_session(
    dev: &dyn BlockIo,
    eraser: &mut dyn EmmcEraser,
    params: &WipeParams,
    cfg: &EngineConfig,
    observer: &dyn WipeObserver,
    cancel: &AtomicBool,
) -> (SessionEnd, FirmwareErase) {
    let mut section = FirmwareErase {
        command_set: "emmc".into(),
        identify_sha256: String::new(),
        namespace_identify_sha256: None,
        commands: Vec::new(),
        expected_content: "unspecified".into(),
        presampled_sectors: 0,
        presampled_distinct: 0,
        presampled_unchanged: 0,
    };
    let progress = JobProgress::default();
    let method = params.firmware.as_ref().map(|f| f.method);
    if method != Some(PolicyMethod::EmmcSecureErase) {
        return (
            failed(
                "nothing erased: the job's method is not emmc-secure-erase".into(),
                progress,
            ),
            section,
        );
    }

    // 1. Hash the sample sectors.
    let mut samples = match presample(dev, None, params.sample_seed) {
        Ok(s) => s,
        Err(e) => return (failed(e, progress), section),
    };
    crate::scsi_sanitize::mark_blank_samples(dev, &mut samples, params.sample_seed);
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

    // 2. BLKSECDISCARD over the whole device.
    let size = dev.size_bytes();
    observer.phase(
        Phase::Firmware {
            method: PolicyMethod::EmmcSecureErase,
        },
        size,
    );
    observer.progress(0, size);
    let started = Instant::now();
    let erased = eraser.secure_erase_all();
    let result = erased.as_ref().map(|_| ()).map_err(Clone::clone);
    section
        .commands
        .push(record("blksecdiscard", BLKSECDISCARD_NR, started, &result));
    match erased {
        Ok(bytes) if bytes == size => {}
        Ok(bytes) => {
            return (
                failed(
                    format!("the secure erase covered {bytes} bytes, the device has {size}"),
                    progress,
                ),
                section,
            );
        }
        Err(e @ EmmcError::SecureEraseUnsupported { .. }) => {
            return (failed(e.to_string(), progress), section);
        }
        Err(e) => {
            return (
                failed(format!("the secure erase failed: {e}"), progress),
                section,
            );
        }
    }

    // 3. eMMC SANITIZE through mmc-utils, when installed (recorded either way).
    let started = Instant::now();
    let sanitized = eraser.sanitize();
    section
        .commands
        .push(record("mmc-sanitize", 0, started, &sanitized));

    let progress = JobProgress {
        pass_index: params.passes.len() as u32,
        write_seconds: section.commands.iter().map(|c| c.duration_seconds).sum(),
        ..JobProgress::default()
    };
    observer.progress(size, size);
    if let Err(reason) = observer.checkpoint(&progress) {
        return (failed(reason, progress), section);
    }

    // 4. The hashed sectors must all have changed.
    observer.before_verify();
    let end = verify_erase(
        dev,
        &samples,
        None,
        params,
        cfg,
        observer,
        cancel,
        &mut section,
        progress,
    );
    (end, section)
}
