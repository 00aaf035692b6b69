//! A scripted NVMe controller: a test transport for [`NvmeAdmin`] that answers the admin
//! commands the bench sends as the NVM Express Base Specification says a controller does,
//! from captured Identify pages, over an in-memory namespace.
//!
//! QEMU's emulated NVMe controller does not implement Sanitize (SANICAP = 0, the command
//! answers Invalid Command Opcode), so the Sanitize path cannot run in the VM. This controller
//! replays the Identify Controller / Namespace pages captured from QEMU
//! (`tests/fixtures/drive-pages-qemu`) with SANICAP, FNA and DLFEAT patchable, and keeps the
//! sanitize state machine of Base 2.1 §8.1.24.3 as far as the bench uses it:
//!
//! - **Sanitize** (84h, §5.1.22 / 2.0 §5.24): an action the controller does not advertise in
//!   SANICAP is aborted with Invalid Field in Command (no SANICAP bit at all: Invalid Command
//!   Opcode, as QEMU answers); a reserved SANACT is Invalid Field; while an operation runs every
//!   Sanitize is aborted with Sanitize In Progress. A started operation runs "in the
//!   background": each read of the Sanitize Status log (Get Log Page 81h) reports SSTAT 010b
//!   and the current SPROG, then advances SPROG by [`ScriptedNvme::step`]. When SPROG reaches
//!   65536 the medium is changed as the action promises and SSTAT becomes 001b (or 100b when
//!   No-Deallocate was asked but SANICAP.NDI forced the deallocation), with Global Data Erased.
//! - **What the medium holds afterwards**: deallocated blocks read as DLFEAT says (zeros or
//!   ones); with deallocation not done, or DLFEAT "not reported": Crypto Erase leaves
//!   unreadable ciphertext (pseudo-random bytes), Block Erase leaves zeros (vendor specific —
//!   this controller's choice), Overwrite leaves the CDW11 pattern of the last pass (inverted
//!   on even passes when OIPBP is set).
//! - **I/O through [`ScriptedNamespace`]**: refused with Sanitize In Progress while an operation
//!   runs, and with Sanitize Failed in failure mode (§8.1.24: commands not allowed during a
//!   sanitize are aborted).
//! - **Faults** ([`NvmeFaults`]): the operation fails at a given progress (SSTAT 011b; in
//!   restricted completion mode — AUSE = 0 — Exit Failure Mode is then aborted with Sanitize
//!   Failed, in unrestricted mode it returns the state machine to Idle); power loss after a
//!   given number of status polls (every command then fails with an OS error until
//!   [`ScriptedNvme::power_cycle`] or, with `recover_after`, until the host has retried that
//!   many times — a controller reset by the driver); after the reset the operation in
//!   progress resumes where it was (a sanitize survives resets and power cycles, §8.1.24);
//!   a lying firmware that reports success without touching the medium.
//!
//! It is compiled into the crate (not only under `cfg(test)`) so other crates' tests use it; the
//! bench itself never constructs one.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::nvme::{
    self, AdminCommand, Completion, NvmeAdmin, NvmeStatus, SC_INVALID_FIELD, SC_SANITIZE_FAILED,
    SC_SANITIZE_IN_PROGRESS, SanitizeAction,
};

/// Do Not Retry bit of the status field.
const DNR: u16 = 1 << 14;

/// Faults a test asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NvmeFaults {
    /// The sanitize operation fails when SPROG reaches this value (n/65536): SSTAT 011b,
    /// half of the medium changed (the state of user data after a failure is undefined).
    pub fail_at_progress: Option<u32>,
    /// The controller loses power at the status poll with this number (1-based, counted
    /// from the start of the operation): that command and every later one fail with an OS
    /// error.
    pub power_loss_at_poll: Option<u32>,
    /// After a power loss, the controller answers again once this many commands have failed
    /// (the driver reset it). `None`: it stays off until [`ScriptedNvme::power_cycle`].
    pub recover_after: Option<u32>,
    /// The operation completes successfully without changing the medium (a lying firmware).
    pub sanitize_lies: bool,
}

/// The state machine of Base 2.1 §8.1.24.3, reduced to what the bench sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SanitizeMachine {
    /// No operation in progress (also after Exit Failure Mode).
    Idle,
    /// An operation runs: its CDW10 and CDW11.
    Processing {
        /// CDW10 of the Sanitize command that started it.
        cdw10: u32,
        /// CDW11 (overwrite pattern).
        cdw11: u32,
    },
    /// The operation failed. `unrestricted` when it was started with AUSE = 1.
    Failed {
        /// Unrestricted completion mode (Exit Failure Mode allowed).
        unrestricted: bool,
    },
}

#[derive(Debug)]
struct Inner {
    ctrl_page: Vec<u8>,
    ns_page: Vec<u8>,
    media: Arc<Mutex<Vec<u8>>>,
    machine: SanitizeMachine,
    sprog: u32,
    /// SSTAT bits 2:0 of the most recent operation.
    sstat: u8,
    passes_done: u8,
    gde: bool,
    scdw10: u32,
    estimates: [u32; 6],
    polls: u32,
    powered: bool,
    failed_while_off: u32,
    faults: NvmeFaults,
    step: u32,
    log: Vec<AdminCommand>,
}

/// The scripted controller. Clones share the same controller (one for the test, one for the
/// session).
#[derive(Debug, Clone)]
pub struct ScriptedNvme {
    inner: Arc<Mutex<Inner>>,
}

/// The namespace of a [`ScriptedNvme`], for reads and writes that obey the sanitize state.
#[derive(Debug, Clone)]
pub struct ScriptedNamespace {
    inner: Arc<Mutex<Inner>>,
}

fn lock<T>(inner: &Mutex<T>) -> MutexGuard<'_, T> {
    inner.lock().unwrap_or_else(|p| p.into_inner())
}

fn status(sc: u8, dnr: bool) -> Completion {
    Completion {
        status: NvmeStatus(u16::from(sc) | if dnr { DNR } else { 0 }),
        result: 0,
    }
}

fn ok() -> Completion {
    status(0, false)
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Patches SANICAP (Identify Controller bytes 331:328).
pub fn patch_sanicap(ctrl_page: &mut [u8], sanicap: u32) {
    ctrl_page[328..332].copy_from_slice(&sanicap.to_le_bytes());
}

/// Patches FNA (Identify Controller byte 524).
pub fn patch_fna(ctrl_page: &mut [u8], fna: u8) {
    ctrl_page[524] = fna;
}

/// Patches DLFEAT bits 2:0 (Identify Namespace byte 33): 001b zeros, 010b ones, 000b not
/// reported.
pub fn patch_dlfeat(ns_page: &mut [u8], read_value: u8) {
    ns_page[33] = (ns_page[33] & !0x7) | (read_value & 0x7);
}

impl ScriptedNvme {
    /// A controller answering from the Identify pages `ctrl_page` and `ns_page` (NSID 1),
    /// whose namespace holds `media`. SPROG advances by a quarter per status poll.
    pub fn new(ctrl_page: Vec<u8>, ns_page: Vec<u8>, media: Arc<Mutex<Vec<u8>>>) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                ctrl_page,
                ns_page,
                media,
                machine: SanitizeMachine::Idle,
                sprog: 0,
                sstat: 0,
                passes_done: 0,
                gde: false,
                scdw10: 0,
                estimates: [u32::MAX; 6],
                polls: 0,
                powered: true,
                failed_while_off: 0,
                faults: NvmeFaults::default(),
                step: 16_384,
                log: Vec::new(),
            })),
        }
    }

    /// The namespace, for I/O.
    pub fn namespace(&self) -> ScriptedNamespace {
        ScriptedNamespace {
            inner: Arc::clone(&self.inner),
        }
    }

    /// Sets the faults to inject.
    pub fn set_faults(&self, faults: NvmeFaults) {
        lock(&self.inner).faults = faults;
    }

    /// Sets how far SPROG advances per status poll (1 to 65536).
    pub fn set_step(&self, step: u32) {
        lock(&self.inner).step = step.clamp(1, 65_536);
    }

    /// SPROG advance per status poll.
    pub fn step(&self) -> u32 {
        lock(&self.inner).step
    }

    /// Sets the estimated times of the Sanitize Status log (seconds, Figure 291 bytes 8–31:
    /// overwrite, block erase, crypto erase, then the three "with No-Deallocate media
    /// modification" ones; FFFFFFFFh = not reported).
    pub fn set_estimates(&self, estimates: [u32; 6]) {
        lock(&self.inner).estimates = estimates;
    }

    /// Patches the Identify Controller page the controller answers.
    pub fn patch_controller(&self, f: impl FnOnce(&mut [u8])) {
        f(&mut lock(&self.inner).ctrl_page);
    }

    /// Patches the Identify Namespace page the controller answers.
    pub fn patch_namespace(&self, f: impl FnOnce(&mut [u8])) {
        f(&mut lock(&self.inner).ns_page);
    }

    /// Power off and on (or a controller reset): the controller answers again; an operation
    /// in progress resumes where it was; failure mode persists.
    pub fn power_cycle(&self) {
        let mut s = lock(&self.inner);
        s.powered = true;
        s.failed_while_off = 0;
        s.faults.power_loss_at_poll = None;
    }

    /// Whether the controller is powered.
    pub fn powered(&self) -> bool {
        lock(&self.inner).powered
    }

    /// The sanitize state machine now.
    pub fn machine(&self) -> SanitizeMachine {
        lock(&self.inner).machine
    }

    /// The admin commands received (while powered), in order.
    pub fn log(&self) -> Vec<AdminCommand> {
        lock(&self.inner).log.clone()
    }

    /// The Sanitize commands received, as (SANACT action, CDW10, CDW11).
    pub fn sanitize_commands(&self) -> Vec<(Option<SanitizeAction>, u32, u32)> {
        self.log()
            .iter()
            .filter(|c| c.opcode == nvme::OPC_SANITIZE)
            .map(|c| (SanitizeAction::from_sanact(c.cdw10()), c.cdw10(), c.cdw11()))
            .collect()
    }
}

impl Inner {
    fn sanicap(&self) -> u32 {
        le32(&self.ctrl_page, 328)
    }

    fn dlfeat(&self) -> u8 {
        self.ns_page[33] & 0x7
    }

    fn log_page(&self) -> [u8; nvme::SANITIZE_LOG_LEN] {
        let mut page = [0u8; nvme::SANITIZE_LOG_LEN];
        let sprog = match self.machine {
            SanitizeMachine::Processing { .. } => self.sprog.min(65_535) as u16,
            // Idle after an operation: FFFFh (complete), Base 2.1 Figure 291.
            _ if self.sstat != 0 => 0xFFFF,
            _ => 0,
        };
        page[0..2].copy_from_slice(&sprog.to_le_bytes());
        let sstat = u16::from(self.sstat & 0x7)
            | (u16::from(self.passes_done & 0x1F) << 3)
            | (u16::from(self.gde) << 8);
        page[2..4].copy_from_slice(&sstat.to_le_bytes());
        page[4..8].copy_from_slice(&self.scdw10.to_le_bytes());
        for (i, e) in self.estimates.iter().enumerate() {
            page[8 + 4 * i..12 + 4 * i].copy_from_slice(&e.to_le_bytes());
        }
        page
    }

    /// What the namespace reads as after the action (Base 2.1 §5.1.22 and §8.1.24).
    fn apply(&mut self, cdw10: u32, cdw11: u32, fraction: Option<(usize, usize)>) {
        let Some(action) = SanitizeAction::from_sanact(cdw10) else {
            return;
        };
        let no_dealloc = cdw10 & (1 << 9) != 0 && self.sanicap() & (1 << 29) == 0;
        let deallocated = match (no_dealloc, self.dlfeat()) {
            (false, 1) => Some(0x00u8),
            (false, 2) => Some(0xFF),
            _ => None,
        };
        let mut media = lock(&self.media);
        let end = match fraction {
            Some((num, den)) => media.len() / den * num,
            None => media.len(),
        };
        let region = &mut media[..end];
        if let Some(byte) = deallocated {
            region.fill(byte);
            return;
        }
        match action {
            SanitizeAction::CryptoErase => {
                // The old key is gone: what was stored decrypts to noise.
                let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ u64::from(cdw10);
                for chunk in region.chunks_mut(8) {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let b = x.to_le_bytes();
                    chunk.copy_from_slice(&b[..chunk.len()]);
                }
            }
            SanitizeAction::BlockErase => region.fill(0),
            SanitizeAction::Overwrite => {
                let passes = match (cdw10 >> 4) & 0xF {
                    0 => 16,
                    n => n,
                };
                let invert = cdw10 & (1 << 8) != 0 && passes % 2 == 0;
                let pattern = if invert { !cdw11 } else { cdw11 }.to_le_bytes();
                for chunk in region.chunks_mut(4) {
                    chunk.copy_from_slice(&pattern[..chunk.len()]);
                }
                self.passes_done = passes as u8;
            }
            SanitizeAction::ExitFailureMode => {}
        }
    }

    fn poll(&mut self) {
        let SanitizeMachine::Processing { cdw10, cdw11 } = self.machine else {
            return;
        };
        let next = self.sprog + self.step;
        if let Some(at) = self.faults.fail_at_progress
            && next >= at
        {
            self.apply(cdw10, cdw11, Some((1, 2)));
            self.sprog = 0;
            self.sstat = 3;
            self.gde = false;
            self.machine = SanitizeMachine::Failed {
                unrestricted: cdw10 & (1 << 3) != 0,
            };
            return;
        }
        if next < 65_536 {
            self.sprog = next;
            return;
        }
        if !self.faults.sanitize_lies {
            self.apply(cdw10, cdw11, None);
        }
        let ndas = cdw10 & (1 << 9) != 0;
        let ndi = self.sanicap() & (1 << 29) != 0;
        self.sstat = if ndas && ndi { 4 } else { 1 };
        self.gde = true;
        self.sprog = 65_536;
        self.machine = SanitizeMachine::Idle;
    }

    fn sanitize(&mut self, cmd: &AdminCommand) -> Completion {
        let cap = self.sanicap();
        if cap & 0x7 == 0 {
            // No sanitize operation at all: as QEMU answers.
            return status(0x01, true);
        }
        if matches!(self.machine, SanitizeMachine::Processing { .. }) {
            return status(SC_SANITIZE_IN_PROGRESS, false);
        }
        let Some(action) = SanitizeAction::from_sanact(cmd.cdw10()) else {
            return status(SC_INVALID_FIELD, true);
        };
        let advertised = match action {
            SanitizeAction::CryptoErase => cap & 1 != 0,
            SanitizeAction::BlockErase => cap & 2 != 0,
            SanitizeAction::Overwrite => cap & 4 != 0,
            SanitizeAction::ExitFailureMode => true,
        };
        if !advertised {
            return status(SC_INVALID_FIELD, true);
        }
        if action == SanitizeAction::ExitFailureMode {
            return match self.machine {
                SanitizeMachine::Failed {
                    unrestricted: false,
                } => status(SC_SANITIZE_FAILED, false),
                _ => {
                    self.machine = SanitizeMachine::Idle;
                    ok()
                }
            };
        }
        self.machine = SanitizeMachine::Processing {
            cdw10: cmd.cdw10(),
            cdw11: cmd.cdw11(),
        };
        self.sprog = 0;
        self.sstat = 2;
        self.passes_done = 0;
        self.gde = false;
        self.scdw10 = cmd.cdw10();
        self.polls = 0;
        ok()
    }
}

impl NvmeAdmin for ScriptedNvme {
    fn admin(
        &mut self,
        cmd: &AdminCommand,
        data: Option<&mut [u8]>,
        _timeout: Duration,
    ) -> io::Result<Completion> {
        let mut s = lock(&self.inner);
        let is_poll = cmd.opcode == nvme::OPC_GET_LOG_PAGE
            && (cmd.cdw10() & 0xFF) as u8 == nvme::LID_SANITIZE_STATUS;
        if is_poll && matches!(s.machine, SanitizeMachine::Processing { .. }) {
            s.polls += 1;
            if s.faults.power_loss_at_poll == Some(s.polls) {
                s.powered = false;
                s.faults.power_loss_at_poll = None;
            }
        }
        if !s.powered {
            s.failed_while_off += 1;
            if s.faults
                .recover_after
                .is_some_and(|n| s.failed_while_off >= n)
            {
                // The driver reset the controller: it answers from the next command on.
                s.powered = true;
                s.failed_while_off = 0;
            }
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        s.log.push(*cmd);
        match cmd.opcode {
            nvme::OPC_IDENTIFY => {
                let Some(buf) = data else {
                    return Ok(status(SC_INVALID_FIELD, true));
                };
                let page = match (cmd.cdw10() & 0xFF) as u8 {
                    nvme::CNS_CONTROLLER => s.ctrl_page.clone(),
                    nvme::CNS_NAMESPACE if cmd.nsid == 1 => s.ns_page.clone(),
                    nvme::CNS_NAMESPACE => return Ok(status(0x0B, true)),
                    _ => return Ok(status(SC_INVALID_FIELD, true)),
                };
                let n = buf.len().min(page.len());
                buf[..n].copy_from_slice(&page[..n]);
                Ok(ok())
            }
            nvme::OPC_GET_LOG_PAGE => {
                if (cmd.cdw10() & 0xFF) as u8 != nvme::LID_SANITIZE_STATUS || s.sanicap() & 7 == 0 {
                    return Ok(status(SC_INVALID_FIELD, true));
                }
                let Some(buf) = data else {
                    return Ok(status(SC_INVALID_FIELD, true));
                };
                let page = s.log_page();
                let n = buf.len().min(page.len());
                buf[..n].copy_from_slice(&page[..n]);
                s.poll();
                Ok(ok())
            }
            nvme::OPC_SANITIZE => Ok(s.sanitize(cmd)),
            nvme::OPC_FORMAT_NVM => Ok(match s.machine {
                SanitizeMachine::Processing { .. } => status(SC_SANITIZE_IN_PROGRESS, false),
                SanitizeMachine::Failed { .. } => status(SC_SANITIZE_FAILED, false),
                SanitizeMachine::Idle => status(0x01, true),
            }),
            _ => Ok(status(0x01, true)),
        }
    }
}

impl ScriptedNamespace {
    fn gate(&self) -> io::Result<MutexGuard<'_, Inner>> {
        let s = lock(&self.inner);
        let refuse = |sc: u8| {
            io::Error::other(format!(
                "NVMe I/O refused: {}",
                NvmeStatus(u16::from(sc)).describe()
            ))
        };
        if !s.powered {
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        match s.machine {
            SanitizeMachine::Processing { .. } => Err(refuse(SC_SANITIZE_IN_PROGRESS)),
            SanitizeMachine::Failed { .. } => Err(refuse(SC_SANITIZE_FAILED)),
            SanitizeMachine::Idle => Ok(s),
        }
    }

    /// Size of the namespace in bytes.
    pub fn size_bytes(&self) -> u64 {
        let s = lock(&self.inner);
        lock(&s.media).len() as u64
    }

    /// Reads `buf.len()` bytes at `offset`, unless the sanitize state forbids I/O.
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let s = self.gate()?;
        let media = lock(&s.media);
        let at = usize::try_from(offset).map_err(io::Error::other)?;
        let src = media
            .get(at..at + buf.len())
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
        buf.copy_from_slice(src);
        Ok(())
    }

    /// Writes `buf` at `offset`, unless the sanitize state forbids I/O. A write clears Global
    /// Data Erased.
    pub fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        let mut s = self.gate()?;
        s.gde = false;
        let mut media = lock(&s.media);
        let at = usize::try_from(offset).map_err(io::Error::other)?;
        let dst = media
            .get_mut(at..at + buf.len())
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
        dst.copy_from_slice(buf);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nvme::{SanitizeOptions, SanitizeState, SanitizeStatus};

    fn drive(sanicap: u32) -> (ScriptedNvme, Arc<Mutex<Vec<u8>>>) {
        let mut ctrl = vec![0u8; 4096];
        patch_sanicap(&mut ctrl, sanicap);
        let mut ns = vec![0u8; 4096];
        patch_dlfeat(&mut ns, 0);
        let media = Arc::new(Mutex::new(vec![0xA5u8; 4096]));
        (ScriptedNvme::new(ctrl, ns, Arc::clone(&media)), media)
    }

    fn send(d: &mut ScriptedNvme, cmd: &AdminCommand) -> NvmeStatus {
        d.admin(cmd, None, Duration::from_secs(1)).unwrap().status
    }

    fn poll(d: &mut ScriptedNvme) -> SanitizeStatus {
        nvme::read_sanitize_status(d).unwrap()
    }

    #[test]
    fn overwrite_runs_in_the_background_then_writes_the_pattern() {
        let (mut d, media) = drive(0b111);
        let opts = SanitizeOptions {
            overwrite_passes: 1,
            no_deallocate: true,
            pattern: 0x1122_3344,
            ..SanitizeOptions::default()
        };
        let cmd = nvme::sanitize(SanitizeAction::Overwrite, opts);
        assert!(send(&mut d, &cmd).is_success());
        // Refused while it runs, and I/O too.
        assert_eq!(send(&mut d, &cmd).sc(), SC_SANITIZE_IN_PROGRESS);
        assert!(d.namespace().read_at(&mut [0u8; 512], 0).is_err());
        let mut seen = Vec::new();
        loop {
            let s = poll(&mut d);
            if s.state != SanitizeState::InProgress {
                assert_eq!(s.state, SanitizeState::Completed);
                assert!(s.global_data_erased);
                assert_eq!(s.overwrite_passes_done, 1);
                assert_eq!(s.last_cdw10, cmd.cdw10());
                break;
            }
            seen.push(s.progress);
        }
        assert_eq!(seen, [0, 16_384, 32_768, 49_152]);
        assert!(
            media
                .lock()
                .unwrap()
                .chunks(4)
                .all(|c| c == [0x44, 0x33, 0x22, 0x11])
        );
        let mut buf = [0u8; 4];
        d.namespace().write_at(&buf, 0).unwrap();
        d.namespace().read_at(&mut buf, 0).unwrap();
        assert!(!poll(&mut d).global_data_erased);
    }

    #[test]
    fn unadvertised_actions_are_refused_and_nothing_changes() {
        let (mut d, media) = drive(0b001); // crypto erase only
        let s = send(
            &mut d,
            &nvme::sanitize(SanitizeAction::BlockErase, SanitizeOptions::default()),
        );
        assert_eq!((s.sc(), s.dnr()), (SC_INVALID_FIELD, true));
        assert_eq!(d.machine(), SanitizeMachine::Idle);
        assert!(media.lock().unwrap().iter().all(|&b| b == 0xA5));
        // SANICAP = 0 (QEMU): Invalid Command Opcode.
        let (mut q, _) = drive(0);
        let s = send(
            &mut q,
            &nvme::sanitize(SanitizeAction::CryptoErase, SanitizeOptions::default()),
        );
        assert_eq!(s.sc(), 0x01);
    }

    #[test]
    fn failure_mode_and_its_exit() {
        for unrestricted in [false, true] {
            let (mut d, _) = drive(0b010);
            d.set_faults(NvmeFaults {
                fail_at_progress: Some(30_000),
                ..NvmeFaults::default()
            });
            let opts = SanitizeOptions {
                allow_unrestricted_exit: unrestricted,
                ..SanitizeOptions::default()
            };
            assert!(send(&mut d, &nvme::sanitize(SanitizeAction::BlockErase, opts)).is_success());
            while poll(&mut d).state == SanitizeState::InProgress {}
            assert_eq!(poll(&mut d).state, SanitizeState::Failed);
            let err = d.namespace().read_at(&mut [0u8; 16], 0).unwrap_err();
            assert!(err.to_string().contains("sanitize failed"), "{err}");
            let exit = nvme::sanitize(SanitizeAction::ExitFailureMode, SanitizeOptions::default());
            let s = send(&mut d, &exit);
            if unrestricted {
                assert!(s.is_success());
                assert_eq!(d.machine(), SanitizeMachine::Idle);
                d.namespace().read_at(&mut [0u8; 16], 0).unwrap();
            } else {
                // Restricted completion mode: only a successful sanitize leaves failure mode.
                assert_eq!(s.sc(), SC_SANITIZE_FAILED);
                d.set_faults(NvmeFaults::default());
                assert!(
                    send(&mut d, &nvme::sanitize(SanitizeAction::BlockErase, opts)).is_success()
                );
                while poll(&mut d).state == SanitizeState::InProgress {}
                assert_eq!(poll(&mut d).state, SanitizeState::Completed);
            }
        }
    }

    #[test]
    fn power_loss_then_the_operation_resumes() {
        let (mut d, media) = drive(0b001);
        d.set_faults(NvmeFaults {
            power_loss_at_poll: Some(2),
            ..NvmeFaults::default()
        });
        let cmd = nvme::sanitize(SanitizeAction::CryptoErase, SanitizeOptions::default());
        assert!(send(&mut d, &cmd).is_success());
        assert_eq!(poll(&mut d).progress, 0);
        assert!(nvme::read_sanitize_status(&mut d).is_err());
        assert!(!d.powered());
        d.power_cycle();
        let s = poll(&mut d);
        assert_eq!(s.state, SanitizeState::InProgress);
        assert_eq!(s.progress, 16_384, "resumed where it was");
        while poll(&mut d).state == SanitizeState::InProgress {}
        // DLFEAT not reported, deallocation asked: ciphertext noise remains.
        let m = media.lock().unwrap();
        assert!(m.iter().filter(|&&b| b == 0xA5).count() < 64);
    }
}
