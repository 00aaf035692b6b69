//! NVMe Identify and ATA IDENTIFY DEVICE parsing on pages captured from QEMU's emulated drives
//! (tests/fixtures/drive-pages-qemu/FIXTURE.md), and the command sequences against a scripted
//! drive that replays them.

use std::collections::VecDeque;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use atelier_device::ata::{self, AtaData, AtaIdentify, AtaPassThrough, Rotation, ScsiReply};
use atelier_device::nvme::{
    self, AdminCommand, Completion, DeallocatedRead, IdentifyController, IdentifyNamespace,
    NvmeAdmin, NvmeStatus,
};

fn page(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/drive-pages-qemu")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn qemu_nvme_identify_controller() {
    let c = IdentifyController::parse(&page("nvme-ATL-NVME-01.id-ctrl.bin")).unwrap();
    assert_eq!(c.serial, "ATL-NVME-01");
    assert_eq!(c.model, "QEMU NVMe Ctrl");
    assert_eq!(c.vendor_id, 0x1B36); // Red Hat, QEMU's PCI vendor.
    assert!(c.format_supported, "QEMU sets OACS bit 1");
    assert!(!c.sanitize.any(), "QEMU leaves SANICAP at 0");
    assert!(!c.format_attributes.crypto_erase, "QEMU leaves FNA at 0");
    assert!(!c.format_attributes.erase_all_namespaces);
    assert_eq!(c.namespaces, 256);
    assert!(!c.firmware.is_empty());
}

#[test]
fn qemu_nvme_identify_namespace() {
    let n = IdentifyNamespace::parse(&page("nvme-ATL-NVME-01.id-ns.bin")).unwrap();
    // 64 MiB image in 512-byte blocks.
    assert_eq!(n.size_blocks, 131_072);
    assert_eq!(n.capacity_blocks, 131_072);
    assert_eq!(n.block_size(), 512);
    assert_eq!(n.current_format, 0);
    assert_eq!(n.deallocated_read, DeallocatedRead::Zeros);
}

#[test]
fn qemu_sata_identify() {
    let ssd = AtaIdentify::parse(&page("sata-ATL-SATA-01.identify.bin")).unwrap();
    assert_eq!(ssd.serial, "ATL-SATA-01");
    assert_eq!(ssd.model, "Samsung SSD 860 EVO 250GB");
    assert_eq!(ssd.rotation, Rotation::SolidState);
    assert_eq!(ssd.user_sectors, 131_072);
    assert!(ssd.lba48);
    assert!(
        !ssd.security.supported,
        "QEMU's ide-hd has no Security feature set"
    );
    assert!(!ssd.sanitize.supported, "nor the SANITIZE feature set");
    assert_eq!(ssd.security.erase_minutes, None);
    let hdd = AtaIdentify::parse(&page("sata-ATL-HDD-01.identify.bin")).unwrap();
    assert_eq!(hdd.serial, "ATL-HDD-01");
    assert_eq!(hdd.model, "WDC WD5000LPCX");
    assert_eq!(hdd.rotation, Rotation::Rpm(5400));
    assert_eq!(hdd.user_sectors, 262_144);
}

/// Reads hdparm's `--Istdout` hex words back into bytes.
fn hdparm_words(name: &str) -> Vec<u8> {
    String::from_utf8(page(name))
        .unwrap()
        .split_whitespace()
        .filter_map(|w| {
            (w.len() == 4)
                .then(|| u16::from_str_radix(w, 16).ok())
                .flatten()
        })
        .flat_map(u16::to_le_bytes)
        .collect()
}

#[test]
fn our_identify_matches_hdparm() {
    for serial in ["ATL-SATA-01", "ATL-HDD-01"] {
        let ours = page(&format!("sata-{serial}.identify.bin"));
        let theirs = hdparm_words(&format!("sata-{serial}.hdparm-Istdout.txt"));
        assert_eq!(ours, theirs, "{serial}");
    }
}

#[test]
fn qemu_usb_bridge_refuses_pass_through() {
    let reply = ScsiReply {
        status: 2,
        driver_status: 0x08,
        sense: page("usb-ATL-USB-01.identify-sense.bin"),
        ..ScsiReply::default()
    };
    let err = ata::decode_reply(&reply).unwrap_err();
    assert!(matches!(
        err,
        ata::AtaError::PassThroughUnsupported {
            key: 5,
            asc: 0x20,
            ascq: 0
        }
    ));
    // hdparm printed an all-zero page for the same stick; the parser refuses it.
    let zeros = hdparm_words("usb-ATL-USB-01.hdparm-Istdout.txt");
    assert_eq!(zeros.len(), 512);
    assert!(AtaIdentify::parse(&zeros).is_err());
}

/// A scripted NVMe drive: answers Identify from captured pages and everything else from a
/// list of statuses, and records what it was sent.
struct ScriptedNvme {
    ctrl: Vec<u8>,
    ns: Vec<u8>,
    answers: VecDeque<u16>,
    sent: Vec<AdminCommand>,
}

impl NvmeAdmin for ScriptedNvme {
    fn admin(
        &mut self,
        cmd: &AdminCommand,
        data: Option<&mut [u8]>,
        _timeout: Duration,
    ) -> io::Result<Completion> {
        self.sent.push(*cmd);
        if cmd.opcode == nvme::OPC_IDENTIFY {
            let src = if cmd.cdw10() & 0xFF == 1 {
                &self.ctrl
            } else {
                &self.ns
            };
            data.unwrap().copy_from_slice(src);
            return Ok(Completion {
                status: NvmeStatus(0),
                result: 0,
            });
        }
        let status = self
            .answers
            .pop_front()
            .ok_or_else(|| io::Error::from_raw_os_error(libc_eio()))?;
        Ok(Completion {
            status: NvmeStatus(status),
            result: 0,
        })
    }
}

fn libc_eio() -> i32 {
    5
}

#[test]
fn scripted_nvme_replays_identify_and_reports_errors() {
    let mut drive = ScriptedNvme {
        ctrl: page("nvme-ATL-NVME-01.id-ctrl.bin"),
        ns: page("nvme-ATL-NVME-01.id-ns.bin"),
        // Get Log Page 81h: Invalid Field (what QEMU answered); Sanitize: Invalid Opcode + DNR.
        answers: VecDeque::from([0x4002, 0x4001]),
        sent: Vec::new(),
    };
    let c =
        IdentifyController::parse(&nvme::read_identify_controller(&mut drive).unwrap()).unwrap();
    assert!(c.format_supported);
    let err = nvme::read_sanitize_status(&mut drive).unwrap_err();
    assert!(
        err.to_string().contains("invalid field in command"),
        "{err}"
    );
    let (res, sent) = nvme::run(
        &mut drive,
        &nvme::sanitize(nvme::SanitizeAction::BlockErase, Default::default()),
        None,
        Duration::from_secs(1),
    );
    assert!(
        res.unwrap_err()
            .to_string()
            .contains("invalid command opcode")
    );
    assert_eq!(sent.status, Some(0x4001));
    assert_eq!(sent.command.cdw10(), 0x2);
    // An OS failure is kept as such.
    let (res, sent) = nvme::run(
        &mut drive,
        &nvme::format_nvm(1, 0, nvme::SecureErase::UserData),
        None,
        Duration::from_secs(1),
    );
    assert!(matches!(res, Err(nvme::NvmeError::Os { .. })));
    assert_eq!(sent.status, None);
    assert_eq!(
        drive.sent.iter().map(|c| c.opcode).collect::<Vec<_>>(),
        [0x06, 0x02, 0x84, 0x80]
    );
}

/// A scripted SATA drive answering IDENTIFY from a captured page and READ NATIVE MAX with a
/// descriptor-format ATA Status Return.
struct ScriptedAta {
    identify: Vec<u8>,
    native_max: u64,
}

impl AtaPassThrough for ScriptedAta {
    fn pass_through(
        &mut self,
        cdb: &[u8; 16],
        data: AtaData<'_>,
        _timeout: Duration,
    ) -> io::Result<ScsiReply> {
        match (cdb[14], data) {
            (ata::ATA_IDENTIFY_DEVICE, AtaData::In(buf)) => {
                buf.copy_from_slice(&self.identify);
                Ok(ScsiReply::default())
            }
            (ata::ATA_READ_NATIVE_MAX_EXT, AtaData::None) => {
                let l = self.native_max.to_le_bytes();
                let sense = vec![
                    0x72, 0x01, 0x00, 0x1D, 0, 0, 0, 14, 0x09, 0x0C, 0x01, 0x00, 0x00, 0x00, l[3],
                    l[0], l[4], l[1], l[5], l[2], 0x40, 0x50,
                ];
                Ok(ScsiReply {
                    status: 2,
                    driver_status: 0x08,
                    sense,
                    ..ScsiReply::default()
                })
            }
            _ => Err(io::Error::other("unexpected command")),
        }
    }
}

#[test]
fn hidden_area_from_native_max() {
    let identify = page("sata-ATL-HDD-01.identify.bin");
    // No HPA: native max = last user LBA (what QEMU answered).
    let mut drive = ScriptedAta {
        identify: identify.clone(),
        native_max: 262_143,
    };
    let id = AtaIdentify::parse(&ata::read_identify(&mut drive).unwrap()).unwrap();
    let area = ata::read_hidden_area(&mut drive, &id).unwrap();
    assert_eq!(area.hidden_sectors(), 0);
    // A drive with 4096 sectors hidden behind an HPA.
    let mut hidden = ScriptedAta {
        identify,
        native_max: 262_143 + 4096,
    };
    assert_eq!(
        ata::read_hidden_area(&mut hidden, &id)
            .unwrap()
            .hidden_sectors(),
        4096
    );
}
