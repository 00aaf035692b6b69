//! NVMe Format NVM sessions against a scripted drive: captured QEMU Identify pages, an
//! in-memory namespace the scripted Format really erases (or not), and the checks that follow.

mod common;

use std::io;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use atelier_device::nvme::{self, AdminCommand, Completion, NvmeAdmin, NvmeStatus};
use atelier_record::Outcome;
use atelier_wipe::EngineConfig;
use atelier_wipe::firmware::run_format_session;
use atelier_wipe::policy::PolicyMethod;
use common::{MemoryDisk, Quiet, fixture};

const SECTOR: u64 = 512;
const SECTORS: u64 = 131_072; // the captured namespace: 64 MiB

/// What the scripted Format does to the namespace.
#[derive(Clone, Copy, PartialEq)]
enum FormatBehaviour {
    /// Zeroes everything, status 0 (what QEMU does).
    Erase,
    /// Answers success but erases nothing (a lying firmware).
    Lie,
    /// Fails with Invalid Field in Command (DNR).
    Refuse,
}

struct Drive<'a> {
    ctrl: Vec<u8>,
    ns: Vec<u8>,
    media: &'a MemoryDisk,
    behaviour: FormatBehaviour,
    formats: Vec<u32>,
}

impl NvmeAdmin for Drive<'_> {
    fn admin(
        &mut self,
        cmd: &AdminCommand,
        data: Option<&mut [u8]>,
        _timeout: Duration,
    ) -> io::Result<Completion> {
        let ok = Completion {
            status: NvmeStatus(0),
            result: 0,
        };
        match cmd.opcode {
            nvme::OPC_IDENTIFY => {
                let src = if cmd.cdw10() == 1 {
                    &self.ctrl
                } else {
                    &self.ns
                };
                data.unwrap().copy_from_slice(src);
                Ok(ok)
            }
            nvme::OPC_FORMAT_NVM => {
                self.formats.push(cmd.cdw10());
                match self.behaviour {
                    FormatBehaviour::Erase => {
                        self.media.0.lock().unwrap().fill(0);
                        Ok(ok)
                    }
                    FormatBehaviour::Lie => Ok(ok),
                    FormatBehaviour::Refuse => Ok(Completion {
                        status: NvmeStatus(0x4002),
                        result: 0,
                    }),
                }
            }
            _ => Ok(Completion {
                status: NvmeStatus(0x4001),
                result: 0,
            }),
        }
    }
}

fn run(
    method: PolicyMethod,
    behaviour: FormatBehaviour,
) -> (
    Outcome,
    Option<String>,
    atelier_record::FirmwareErase,
    Vec<u32>,
    MemoryDisk,
) {
    // Canary text over the whole namespace.
    let media = MemoryDisk(common::canary_media(b"ATELIER-CANARY ", SECTORS * SECTOR));
    let params = common::nvme_params(method, SECTORS * SECTOR);
    let mut drive = Drive {
        ctrl: fixture("nvme-ATL-NVME-01.id-ctrl.bin"),
        ns: fixture("nvme-ATL-NVME-01.id-ns.bin"),
        media: &media,
        behaviour,
        formats: Vec::new(),
    };
    let (end, section) = run_format_session(
        &media,
        &mut drive,
        1,
        &params,
        &EngineConfig::default(),
        &Quiet,
        &AtomicBool::new(false),
    );
    let formats = drive.formats.clone();
    (end.outcome, end.detail, section, formats, media)
}

#[test]
fn format_ses1_erases_and_verifies() {
    let (outcome, detail, fw, formats, media) =
        run(PolicyMethod::NvmeFormat, FormatBehaviour::Erase);
    assert_eq!(outcome, Outcome::Passed, "{detail:?}");
    assert_eq!(formats, [0x200]);
    assert_eq!(fw.expected_content, "zeros");
    assert!(fw.presampled_sectors >= 200);
    assert_eq!(fw.presampled_distinct, fw.presampled_sectors);
    assert_eq!(fw.presampled_unchanged, 0);
    assert_eq!(fw.identify_sha256.len(), 64);
    assert_eq!(
        fw.commands.iter().map(|c| c.opcode).collect::<Vec<_>>(),
        [0x06, 0x06, 0x80]
    );
    assert!(media.0.lock().unwrap().iter().all(|&b| b == 0));
}

#[test]
fn a_format_that_erases_nothing_fails() {
    let (outcome, detail, fw, _, _) = run(PolicyMethod::NvmeFormat, FormatBehaviour::Lie);
    assert_eq!(outcome, Outcome::Failed);
    assert_eq!(fw.presampled_unchanged, fw.presampled_sectors);
    assert!(detail.unwrap().contains("still hold their old content"));
}

#[test]
fn a_refused_format_fails_with_the_status() {
    let (outcome, detail, fw, _, _) = run(PolicyMethod::NvmeFormat, FormatBehaviour::Refuse);
    assert_eq!(outcome, Outcome::Failed);
    assert!(detail.unwrap().contains("invalid field in command"));
    assert_eq!(fw.commands.last().unwrap().status, Some(0x4002));
}

#[test]
fn crypto_format_is_refused_when_fna_says_no() {
    // QEMU's FNA is 0: even a forced SES=2 sends no Format at all.
    let (outcome, detail, _, formats, media) =
        run(PolicyMethod::NvmeFormatCrypto, FormatBehaviour::Erase);
    assert_eq!(outcome, Outcome::Failed);
    assert!(formats.is_empty());
    assert!(detail.unwrap().contains("FNA bit 2 is 0"));
    assert!(media.0.lock().unwrap().starts_with(b"ATELIER-CANARY"));
}
