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
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use atelier_device::emmc::{self, EmmcError};
use atelier_record::{FirmwareCommand, FirmwareErase};

use crate::BlockIo;
use crate::engine::EngineConfig;
use crate::job::{JobProgress, SessionEnd, WipeObserver, WipeParams};
use crate::policy::PolicyMethod;
use crate::session::{Session, Steps, erase_progress, fail, failed};

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
    Session::new(dev, params, cfg, observer, cancel).run("emmc", None, |session, section| {
        secure_erase(session, eraser, section)
    })
}

/// The steps of [`run_emmc_secure_erase_session`]; `Err` is an end before the verification.
fn secure_erase(
    session: &Session<'_>,
    eraser: &mut dyn EmmcEraser,
    section: &mut FirmwareErase,
) -> Steps {
    let progress = JobProgress::default();
    let method = session.params.firmware.as_ref().map(|f| f.method);
    if method != Some(PolicyMethod::EmmcSecureErase) {
        return fail(
            "nothing erased: the job's method is not emmc-secure-erase",
            progress,
        );
    }

    // 1. Hash the sample sectors.
    let samples = session
        .presample(None, true, section)
        .map_err(|e| failed(e, JobProgress::default()))?;
    session.stop_if_cancelled()?;

    // 2. BLKSECDISCARD over the whole device.
    let size = session.dev.size_bytes();
    session.start_erase(PolicyMethod::EmmcSecureErase);
    let started = Instant::now();
    let erased = eraser.secure_erase_all();
    let result = erased.as_ref().map(|_| ()).map_err(Clone::clone);
    section
        .commands
        .push(record("blksecdiscard", BLKSECDISCARD_NR, started, &result));
    match erased {
        Ok(bytes) if bytes == size => {}
        Ok(bytes) => {
            return fail(
                format!("the secure erase covered {bytes} bytes, the device has {size}"),
                progress,
            );
        }
        Err(e @ EmmcError::SecureEraseUnsupported { .. }) => {
            return fail(e.to_string(), progress);
        }
        Err(e) => {
            return fail(format!("the secure erase failed: {e}"), progress);
        }
    }

    // 3. eMMC SANITIZE through mmc-utils, when installed (recorded either way).
    let started = Instant::now();
    let sanitized = eraser.sanitize();
    section
        .commands
        .push(record("mmc-sanitize", 0, started, &sanitized));
    let seconds = section.commands.iter().map(|c| c.duration_seconds).sum();
    let progress = erase_progress(session.params, seconds);
    session.erase_done();

    // 4. The hashed sectors must all have changed.
    Ok(session.checkpoint_and_verify(&samples, None, section, progress))
}
