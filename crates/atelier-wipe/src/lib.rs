//! Sanitization for the Atelier bench.
//!
//! This crate overwrites block devices following NIST SP 800-88 Rev. 2 (category *Clear*)
//! and verifies the result:
//!
//! - [`Method`]: one random pass (default), one zero pass, or a named legacy three-pass
//!   method for organisations whose rules still ask for one (NIST does not).
//! - [`pattern`]: random data from AES-128-CTR (ChaCha20 on CPUs without AES instructions),
//!   keyed from the OS for each pass and positioned by byte offset, so any block can be
//!   regenerated for verification and generation runs beside the writes.
//! - [`engine`]: the `O_DIRECT` pipelines — several aligned buffers in flight, retries, an
//!   error map, checkpoints synced to the medium.
//! - [`job`]: the parameters journaled before the first write, a session that runs (or
//!   resumes) a job, and the record entry it produces. `PASSED` is written only when every
//!   pass completed without error and the read-back found nothing amiss.
//!
//! - [`policy`]: per media type and drive capability, the strongest method and its NIST label
//!   (Clear or Purge); the operator may pick a weaker one only explicitly.
//! - [`firmware`]: the drive's own erase — capabilities probe (NVMe Identify, ATA IDENTIFY,
//!   READ NATIVE MAX), NVMe Format NVM with before/after sampling (the sanitize commands
//!   have their own modules below; the steps every firmware session shares — hashed sample
//!   sectors, firmware phase, checkpoint, verification — are in the private `session`
//!   module).
//! - [`nvme_sanitize`]: NVMe Sanitize (crypto erase, block erase, overwrite), watched through
//!   the Sanitize Status log, failure mode left with Exit Failure Mode, verified by sampling.
//! - [`reason`]: the policy's typed reasons (stable code, English text for the record).
//! - [`ata_security`]: ATA SECURITY ERASE UNIT (normal / enhanced) with a journaled temporary
//!   password, and the recovery of a password an interrupted erase left on a drive.
//! - [`ata_sanitize`]: ATA SANITIZE DEVICE (crypto scramble, block erase, overwrite) with
//!   status polling, progress, and the sampled read-back.
//! - [`unfreeze`]: frozen SATA drives — the suspend-to-RAM cycle that lifts the freeze lock.
//! - [`hidden_area`]: HPA / DCO / AMAC restored before the wipe with the operator's consent,
//!   then measured again.

pub mod ata_sanitize;
pub mod ata_security;
pub mod emmc_erase;
pub mod engine;
pub mod firmware;
pub mod hidden_area;
pub mod job;
pub mod method;
pub mod nvme_sanitize;
pub mod overwrite_after;
pub mod pattern;
pub mod policy;
pub mod reason;
pub mod sampling;
pub mod scsi_sanitize;
mod session;
pub mod unfreeze;

pub use engine::{BlockIo, EngineConfig};
pub use job::{
    JobProgress, Phase, PrepareError, SessionEnd, WipeObserver, WipeParams, apply_checkpoint,
    apply_session_end, find_planned, identity_difference, open_planned, run_session,
};
pub use method::Method;
pub use pattern::{PassContent, StreamCipherKind, StreamKey};
