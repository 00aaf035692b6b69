//! Hidden areas in the record: a scripted ATA drive (atelier_device::ata_scripted, QEMU's
//! captured IDENTIFY page) behind a wrapper that answers READ NATIVE MAX ADDRESS EXT with a
//! native maximum beyond the IDENTIFY capacity — a Host Protected Area, as ACS-3 §4.11
//! describes it. The probe measures it, the wipe records it, the entry carries an exception,
//! and the title verdict becomes "erased with exceptions"; the same drive without an HPA
//! stays "erased".

mod common;

use std::io;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use atelier_device::ata::{self, AtaData, AtaPassThrough, ScsiReply};
use atelier_device::ata_scripted::{self, ScriptedAtaDrive};
use atelier_record::{HiddenAreaCheck, Outcome, TitleVerdict, ToolInfo, Transport};
use atelier_wipe::ata_security::run_security_erase_session;
use atelier_wipe::firmware::{self, HIDDEN_AREA_METHOD, Probe};
use atelier_wipe::policy::{self, MediaClass, PolicyMethod, Requested};
use atelier_wipe::{EngineConfig, apply_session_end};
use common::{MemJournal, MemoryDisk, Quiet};

const SECTOR: u64 = 512;
const SECTORS: u64 = 65_536;

/// The scripted drive with `hpa` sectors hidden above its IDENTIFY capacity: READ NATIVE MAX
/// ADDRESS EXT answers the native maximum (the LBA in the ATA Status Return descriptor,
/// SAT-4 §12.2.7: bytes 14..20 hold LBA 31:24, 7:0, 39:32, 15:8, 47:40, 23:16).
struct WithHpa {
    drive: ScriptedAtaDrive,
    hpa: u64,
}

impl AtaPassThrough for WithHpa {
    fn pass_through(
        &mut self,
        cdb: &[u8; 16],
        data: AtaData<'_>,
        timeout: Duration,
    ) -> io::Result<ScsiReply> {
        let mut reply = self.drive.pass_through(cdb, data, timeout)?;
        if cdb[14] == ata::ATA_READ_NATIVE_MAX_EXT && self.hpa > 0 {
            let s = &reply.sense;
            let lba = [s[15], s[17], s[19], s[14], s[16], s[18]]
                .iter()
                .rev()
                .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
            let b = (lba + self.hpa).to_le_bytes();
            reply.sense[14..20].copy_from_slice(&[b[3], b[0], b[4], b[1], b[5], b[2]]);
        }
        Ok(reply)
    }
}

fn drive(hpa: u64) -> (WithHpa, MemoryDisk) {
    let mut page = common::sata_identify_page();
    ata_scripted::patch_security_supported(&mut page);
    let media = common::canary_media(b"ATELIER-CANARY ", SECTORS * SECTOR);
    let mut d = ScriptedAtaDrive::new(page, media.clone());
    d.enhanced_supported = false;
    d.erase_time_words = (2, 1);
    (WithHpa { drive: d, hpa }, MemoryDisk(media))
}

fn device() -> atelier_device::BlockDevice {
    common::disk(
        "sda",
        (8, 0),
        Transport::Sata,
        "Samsung SSD 860 EVO 250GB",
        "ATL-SATA-01",
        SECTORS * SECTOR,
    )
}

/// Probe, decide, record the hidden-area check, run the Security Erase, close the entry.
fn wipe(hpa: u64) -> (Probe, atelier_record::SanitizationEntry) {
    let (mut d, media) = drive(hpa);
    let probe = firmware::probe_ata(&mut d, MediaClass::SataSsd);
    let decision = policy::decide(&probe.capabilities, Requested::Auto).unwrap();
    assert_eq!(decision.method, PolicyMethod::AtaSecurityErase);
    let mut params = common::firmware_params(&device(), decision.method);
    params.hidden_area = Some(firmware::hidden_area_check(&probe));
    let mut entry = params.initial_entry(ToolInfo {
        name: "atelier".into(),
        version: "test".into(),
    });
    let (end, section) = run_security_erase_session(
        &media,
        &mut d,
        &MemJournal::default(),
        &params,
        &EngineConfig::default(),
        &Quiet,
        &AtomicBool::new(false),
    );
    apply_session_end(&mut entry, &end, 1.0);
    entry.firmware = Some(section);
    (probe, entry)
}

#[test]
fn an_hpa_is_measured_recorded_and_makes_the_verdict_erased_with_exceptions() {
    let (probe, entry) = wipe(2048);
    let area = probe.hidden_area.clone().unwrap().unwrap();
    assert_eq!(area.hidden_sectors(), 2048);
    let user = area.user_sectors;
    assert_eq!(
        entry.hidden_area,
        Some(HiddenAreaCheck::Measured {
            method: HIDDEN_AREA_METHOD.into(),
            native_max_sectors: user + 2048,
            user_sectors: user,
            hidden_sectors: 2048,
            restore: None,
        })
    );
    assert_eq!(entry.outcome, Outcome::Passed, "{:?}", entry.outcome_detail);
    assert_eq!(
        entry.exceptions,
        ["hidden area of 2048 sectors (1.0 MiB) not erased"]
    );
    assert_eq!(
        TitleVerdict::decide(std::slice::from_ref(&entry), None),
        TitleVerdict::ErasedWithExceptions
    );
    // The record says it in JSON as the schema does.
    let json = serde_json::to_value(&entry).unwrap();
    assert_eq!(json["hidden_area"]["status"], "measured");
    assert_eq!(json["hidden_area"]["hidden_sectors"], 2048);
}

#[test]
fn without_an_hpa_the_check_says_none_and_the_verdict_is_erased() {
    let (_, entry) = wipe(0);
    let Some(HiddenAreaCheck::Measured {
        hidden_sectors,
        native_max_sectors,
        user_sectors,
        method,
        restore: None,
    }) = &entry.hidden_area
    else {
        panic!("not measured: {:?}", entry.hidden_area);
    };
    assert_eq!(*hidden_sectors, 0);
    assert_eq!(native_max_sectors, user_sectors);
    assert_eq!(method, "ATA READ NATIVE MAX ADDRESS EXT");
    assert!(entry.exceptions.is_empty());
    assert_eq!(entry.outcome, Outcome::Passed, "{:?}", entry.outcome_detail);
    assert_eq!(
        TitleVerdict::decide(std::slice::from_ref(&entry), None),
        TitleVerdict::Erased
    );
}

#[test]
fn media_without_an_hpa_command_say_not_examined_and_why() {
    use atelier_record::NotExaminedCode as C;
    for (media, words, expected) in [
        (MediaClass::NvmeSsd, "NVMe", C::Nvme),
        (MediaClass::Usb, "USB", C::Usb),
        (MediaClass::Virtual, "virtual device", C::Virtual),
        (MediaClass::MemoryCard, "SD card", C::MemoryCard),
        (MediaClass::Scsi, "SCSI", C::Scsi),
        (
            MediaClass::SataHdd,
            "IDENTIFY DEVICE",
            C::IdentifyUnreadable,
        ),
    ] {
        let probe = Probe {
            capabilities: policy::Capabilities {
                media,
                nvme: None,
                ata: None,
                probe_error: None,
                scsi: None,
                emmc: None,
            },
            hidden_area: None,
            hidden_features: None,
            dco: None,
        };
        match firmware::hidden_area_check(&probe) {
            HiddenAreaCheck::NotExamined { reason, code } => {
                assert!(reason.contains(words), "{media:?}: {reason}");
                assert_eq!(code, Some(expected), "{media:?}");
            }
            other => panic!("{media:?}: {other:?}"),
        }
    }
    // A drive that refuses the command is "not examined", with the drive's error.
    let probe = Probe {
        capabilities: policy::Capabilities {
            media: MediaClass::SataHdd,
            nvme: None,
            ata: None,
            probe_error: None,
            scsi: None,
            emmc: None,
        },
        hidden_area: Some(Err("command aborted".into())),
        hidden_features: None,
        dco: None,
    };
    let check = firmware::hidden_area_check(&probe);
    assert_eq!(
        check,
        HiddenAreaCheck::NotExamined {
            reason: "ATA READ NATIVE MAX ADDRESS EXT failed: command aborted".into(),
            code: Some(atelier_record::NotExaminedCode::CommandFailed),
        }
    );
    assert_eq!(atelier_wipe::job::hidden_area_exception(&check, 512), None);
}
