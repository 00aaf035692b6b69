//! Hidden areas of an ATA drive: reading and restoring the Host Protected Area (HPA), the
//! Device Configuration Overlay (DCO) and the Accessible Max Address Configuration (AMAC).
//!
//! A drive can be told to show the host fewer sectors than it has. Three mechanisms exist:
//!
//! - **HPA** (ACS-3 §4.11, Host Protected Area feature set; IDENTIFY word 82 bit 10):
//!   READ NATIVE MAX ADDRESS EXT (27h, ACS-3 §7.26) returns the native maximum LBA;
//!   SET MAX ADDRESS EXT (37h, ACS-3 §7.51) sets the highest LBA the host may address. Its
//!   COUNT bit 0 (the "volatile value" bit, VV) chooses whether the new maximum survives a
//!   power cycle: 1 = kept across power-on and hardware reset (non-volatile), 0 = lost at the
//!   next power-on or hardware reset. It must come right after a READ NATIVE MAX ADDRESS EXT,
//!   and only one non-volatile SET MAX is accepted per power-on (a second one ends with
//!   ID NOT FOUND).
//! - **DCO** (ACS-3 §4.9, Device Configuration Overlay feature set; IDENTIFY word 83 bit 11):
//!   DEVICE CONFIGURATION OVERLAY (B1h) with FEATURE C2h IDENTIFY (ACS-3 §7.9.4: PIO Data-In
//!   of 512 bytes; word 0 revision 0002h, words 3–6 the maximum LBA the drive can be
//!   configured to, word 255 the integrity word A5h + checksum) and FEATURE C0h RESTORE
//!   (ACS-3 §7.9.5: back to the factory configuration; aborted while an HPA is set, so the HPA
//!   is restored first). After DEVICE CONFIGURATION FREEZE LOCK (C1h, usually sent by the
//!   BIOS) every DCO command is aborted until the next power-on.
//! - **AMAC** (ACS-4 §4.4, Accessible Max Address Configuration feature set; IDENTIFY word
//!   119 bit 8, valid when word 119 bits 15:14 are 01b), which ACS-4 gives in place of HPA and
//!   DCO: ACCESSIBLE MAX ADDRESS CONFIGURATION (78h, ACS-4 §7.3) with FEATURE 0000h GET
//!   NATIVE MAX ADDRESS EXT, 0001h SET ACCESSIBLE MAX ADDRESS EXT (always non-volatile) and
//!   0002h FREEZE ACCESSIBLE MAX ADDRESS EXT (after which SET is aborted until power-on).
//!
//! The bench uses AMAC when the drive advertises it, the HPA and DCO commands otherwise.
//! Builders are pure functions (the exact CDB bytes are tested); the safe functions below
//! run them over any [`AtaPassThrough`]. Nothing here has run against a real drive with an
//! HPA or a DCO: the paths are exercised on the scripted drive (`ata_scripted`), and QEMU's
//! SATA disk only answers READ NATIVE MAX (no HPA) and aborts SET MAX.

use std::io;
use std::time::Duration;

use crate::SystemRoot;
use crate::ata::{
    self, AtaData, AtaError, AtaPassThrough, AtaRegisters, Protocol, Taskfile, pass_through_16,
};

/// ATA command SET MAX ADDRESS EXT (HPA feature set).
pub const ATA_SET_MAX_ADDRESS_EXT: u8 = 0x37;
/// ATA command DEVICE CONFIGURATION OVERLAY (the FEATURE field selects the operation).
pub const ATA_DEVICE_CONFIGURATION: u8 = 0xB1;
/// FEATURE of DEVICE CONFIGURATION RESTORE.
pub const DCO_RESTORE: u16 = 0x00C0;
/// FEATURE of DEVICE CONFIGURATION FREEZE LOCK (never sent by the bench).
pub const DCO_FREEZE_LOCK: u16 = 0x00C1;
/// FEATURE of DEVICE CONFIGURATION IDENTIFY.
pub const DCO_IDENTIFY: u16 = 0x00C2;
/// ATA command ACCESSIBLE MAX ADDRESS CONFIGURATION (the FEATURE field selects the operation).
pub const ATA_ACCESSIBLE_MAX_ADDRESS: u8 = 0x78;
/// FEATURE of GET NATIVE MAX ADDRESS EXT.
pub const AMAC_GET_NATIVE_MAX: u16 = 0x0000;
/// FEATURE of SET ACCESSIBLE MAX ADDRESS EXT.
pub const AMAC_SET_ACCESSIBLE_MAX: u16 = 0x0001;
/// FEATURE of FREEZE ACCESSIBLE MAX ADDRESS EXT (never sent by the bench).
pub const AMAC_FREEZE: u16 = 0x0002;

/// Time given to each of these commands (they change a few words of the drive's
/// configuration; none touches user data).
pub const HIDDEN_AREA_TIMEOUT: Duration = Duration::from_secs(15);

/// Whether a new maximum set by SET MAX ADDRESS EXT survives a power cycle (COUNT bit 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// COUNT bit 0 = 0: lost at the next power-on or hardware reset.
    Volatile,
    /// COUNT bit 0 = 1: kept across power-on and hardware reset.
    NonVolatile,
}

fn non_data_48(features: u16, count: u16, lba: u64, command: u8, ck_cond: bool) -> [u8; 16] {
    pass_through_16(
        &Taskfile {
            features,
            count,
            lba,
            device: 0x40,
            command,
        },
        Protocol::NonData,
        true,
        ck_cond,
    )
}

/// SET MAX ADDRESS EXT (ACS-3 §7.51): non-data, 48-bit, LBA = the new maximum LBA, COUNT
/// bit 0 = the persistence, DEVICE bit 6 (LBA) set. CK_COND asks for the registers so an
/// ERROR field (ABRT, IDNF) comes back whatever the adapter.
pub fn set_max_address_ext_cdb(max_lba: u64, persistence: Persistence) -> [u8; 16] {
    let count = u16::from(persistence == Persistence::NonVolatile);
    non_data_48(
        0,
        count,
        max_lba & 0xFFFF_FFFF_FFFF,
        ATA_SET_MAX_ADDRESS_EXT,
        true,
    )
}

/// DEVICE CONFIGURATION IDENTIFY (ACS-3 §7.9.4): PIO Data-In of one 512-byte block, 28-bit
/// form, FEATURE C2h, COMMAND B1h (COUNT 1: SAT takes the transfer length from it).
pub fn dco_identify_cdb() -> [u8; 16] {
    pass_through_16(
        &Taskfile {
            features: DCO_IDENTIFY,
            count: 1,
            command: ATA_DEVICE_CONFIGURATION,
            ..Taskfile::default()
        },
        Protocol::PioDataIn,
        false,
        false,
    )
}

/// DEVICE CONFIGURATION RESTORE (ACS-3 §7.9.5): non-data, 28-bit, FEATURE C0h, COMMAND B1h.
pub fn dco_restore_cdb() -> [u8; 16] {
    pass_through_16(
        &Taskfile {
            features: DCO_RESTORE,
            command: ATA_DEVICE_CONFIGURATION,
            ..Taskfile::default()
        },
        Protocol::NonData,
        false,
        true,
    )
}

/// GET NATIVE MAX ADDRESS EXT (ACS-4 §7.3.2): ACCESSIBLE MAX ADDRESS CONFIGURATION (78h),
/// FEATURE 0000h, non-data, 48-bit; the native max LBA comes back in the LBA registers, so
/// CK_COND asks for them.
pub fn get_native_max_address_cdb() -> [u8; 16] {
    non_data_48(AMAC_GET_NATIVE_MAX, 0, 0, ATA_ACCESSIBLE_MAX_ADDRESS, true)
}

/// SET ACCESSIBLE MAX ADDRESS EXT (ACS-4 §7.3.3): 78h, FEATURE 0001h, LBA = the new
/// accessible maximum LBA (non-volatile by definition), non-data, 48-bit.
pub fn set_accessible_max_address_cdb(max_lba: u64) -> [u8; 16] {
    non_data_48(
        AMAC_SET_ACCESSIBLE_MAX,
        0,
        max_lba & 0xFFFF_FFFF_FFFF,
        ATA_ACCESSIBLE_MAX_ADDRESS,
        true,
    )
}

fn word(page: &[u8], w: usize) -> u16 {
    u16::from_le_bytes([page[2 * w], page[2 * w + 1]])
}

/// Which hidden-area feature sets a drive advertises in its IDENTIFY DEVICE data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct HiddenAreaFeatures {
    /// Accessible Max Address Configuration (word 119 bit 8, word 119 valid).
    pub amac: bool,
    /// Host Protected Area (word 82 bit 10, word 83 valid).
    pub hpa: bool,
    /// Device Configuration Overlay (word 83 bit 11, word 83 valid).
    pub dco: bool,
}

impl HiddenAreaFeatures {
    /// Reads the three bits from a 512-byte IDENTIFY DEVICE page. Words 82–83 count only when
    /// word 83 bits 15:14 are 01b, word 119 only when its own bits 15:14 are 01b (ACS-3
    /// §7.12.7.41 / §7.12.7.56).
    pub fn from_identify(page: &[u8]) -> Self {
        if page.len() < 512 {
            return Self::default();
        }
        let valid = |v: u16| v & 0xC000 == 0x4000;
        let w83 = word(page, 83);
        let w119 = word(page, 119);
        Self {
            amac: valid(w119) && w119 & (1 << 8) != 0,
            hpa: valid(w83) && word(page, 82) & (1 << 10) != 0,
            dco: valid(w83) && w83 & (1 << 11) != 0,
        }
    }

    /// The mechanism the bench uses on this drive: AMAC when advertised, else HPA / DCO.
    pub fn method(&self) -> HiddenAreaMethod {
        if self.amac {
            HiddenAreaMethod::Amac
        } else {
            HiddenAreaMethod::HpaDco
        }
    }
}

/// The command family used to read and restore the maximum address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HiddenAreaMethod {
    /// ACS-4 Accessible Max Address Configuration (78h).
    Amac,
    /// HPA (27h / 37h) and DCO (B1h).
    HpaDco,
}

/// DEVICE CONFIGURATION IDENTIFY data (ACS-3 §7.9.4, Table 24), the parts the bench uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct DcoIdentify {
    /// Word 0: data structure revision (0002h in ATA/ATAPI-6 to ACS-3).
    pub revision: u16,
    /// Words 3–6: the highest LBA the drive can be configured to (the factory maximum).
    pub max_lba: u64,
    /// Word 255: `Some(true)` when the signature A5h is there and the checksum is right
    /// (a wrong checksum is refused by [`DcoIdentify::parse`]), `None` without the signature.
    pub checksum_valid: Option<bool>,
}

impl DcoIdentify {
    /// Parses 512 bytes of DEVICE CONFIGURATION IDENTIFY data. An all-zero page and a wrong
    /// checksum (word 255: signature A5h in bits 7:0, bits 15:8 make the 512 bytes sum to 0
    /// modulo 256) are refused.
    pub fn parse(page: &[u8]) -> Result<Self, AtaError> {
        let (page, checksum_valid) =
            crate::ata::checked_page(page, "DEVICE CONFIGURATION IDENTIFY", "")?;
        let max_lba = (0..4).fold(0u64, |acc, i| {
            acc | (u64::from(word(page, 3 + i)) << (16 * i))
        });
        Ok(Self {
            revision: word(page, 0),
            max_lba,
            checksum_valid,
        })
    }

    /// Sectors the drive has once its DCO is restored (maximum LBA + 1).
    pub fn max_sectors(&self) -> u64 {
        self.max_lba + 1
    }
}

/// Why reading or restoring a hidden area failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HiddenAreaError {
    /// The DCO is frozen (DEVICE CONFIGURATION FREEZE LOCK, usually sent by the BIOS): the
    /// drive advertises DCO but aborts its commands.
    #[error(
        "the drive's Device Configuration Overlay is frozen ({command} was aborted): the BIOS locked it at power-on; connect the drive to a machine whose BIOS does not freeze it, or hot-plug it after boot, then try again"
    )]
    DcoFrozen {
        /// The command that was aborted.
        command: &'static str,
    },
    /// The accessible max address is frozen (FREEZE ACCESSIBLE MAX ADDRESS EXT since
    /// power-on): SET ACCESSIBLE MAX ADDRESS EXT is aborted.
    #[error(
        "the drive's accessible max address is frozen (SET ACCESSIBLE MAX ADDRESS EXT was aborted): it was frozen since power-on, usually by the BIOS; power-cycle the drive without that BIOS step (hot-plug) and try again"
    )]
    AmacFrozen,
    /// SET MAX ADDRESS EXT was refused: the HPA is locked or frozen (SET MAX LOCK / FREEZE
    /// LOCK), a non-volatile SET MAX was already sent since power-on, or the drive does not
    /// implement it (QEMU's emulated disk aborts it).
    #[error(
        "the drive refused SET MAX ADDRESS EXT ({cause}): the host protected area stays; it may be locked or frozen by the BIOS, already changed since power-on (power-cycle the drive), or the drive does not implement the command"
    )]
    SetMaxRefused {
        /// The drive's answer.
        cause: AtaError,
    },
    /// The drive still reports fewer sectors than its native maximum after the restore.
    #[error(
        "after the restore the drive still shows {user_sectors} of its {native_sectors} sectors"
    )]
    StillHidden {
        /// Sectors the host can address now.
        user_sectors: u64,
        /// Sectors the drive has.
        native_sectors: u64,
    },
    /// Any other failure of a command, with its name.
    #[error("{command} failed: {cause}")]
    Command {
        /// The command.
        command: &'static str,
        /// The drive's (or the transport's) answer.
        cause: AtaError,
    },
}

fn send(
    dev: &mut dyn AtaPassThrough,
    cdb: &[u8; 16],
    data: AtaData<'_>,
) -> Result<Option<AtaRegisters>, AtaError> {
    let reply = dev
        .pass_through(cdb, data, HIDDEN_AREA_TIMEOUT)
        .map_err(|e| AtaError::Os(e.to_string()))?;
    ata::decode_reply(&reply)
}

fn is_abort(e: &AtaError) -> bool {
    matches!(e, AtaError::Aborted { error, .. } if error & 0x04 != 0)
}

/// Sends DEVICE CONFIGURATION IDENTIFY and parses the answer. An abort from a drive that
/// advertises DCO is [`HiddenAreaError::DcoFrozen`].
pub fn read_dco(
    dev: &mut dyn AtaPassThrough,
    features: &HiddenAreaFeatures,
) -> Result<DcoIdentify, HiddenAreaError> {
    const NAME: &str = "DEVICE CONFIGURATION IDENTIFY";
    let mut page = vec![0u8; 512];
    match send(dev, &dco_identify_cdb(), AtaData::In(&mut page)) {
        Ok(_) => DcoIdentify::parse(&page).map_err(|cause| HiddenAreaError::Command {
            command: NAME,
            cause,
        }),
        Err(e) if features.dco && is_abort(&e) => Err(HiddenAreaError::DcoFrozen { command: NAME }),
        Err(cause) => Err(HiddenAreaError::Command {
            command: NAME,
            cause,
        }),
    }
}

/// Sends DEVICE CONFIGURATION RESTORE. An abort from a drive that advertises DCO is
/// [`HiddenAreaError::DcoFrozen`] (the other cause, an HPA still set, is ruled out by
/// [`restore_hidden_areas`], which restores the HPA first).
pub fn restore_dco(
    dev: &mut dyn AtaPassThrough,
    features: &HiddenAreaFeatures,
) -> Result<(), HiddenAreaError> {
    const NAME: &str = "DEVICE CONFIGURATION RESTORE";
    match send(dev, &dco_restore_cdb(), AtaData::None) {
        Ok(_) => Ok(()),
        Err(e) if features.dco && is_abort(&e) => Err(HiddenAreaError::DcoFrozen { command: NAME }),
        Err(cause) => Err(HiddenAreaError::Command {
            command: NAME,
            cause,
        }),
    }
}

fn native_max_lba(
    dev: &mut dyn AtaPassThrough,
    method: HiddenAreaMethod,
) -> Result<u64, HiddenAreaError> {
    let (name, cdb) = match method {
        HiddenAreaMethod::Amac => ("GET NATIVE MAX ADDRESS EXT", get_native_max_address_cdb()),
        HiddenAreaMethod::HpaDco => (
            "READ NATIVE MAX ADDRESS EXT",
            ata::read_native_max_ext_cdb(),
        ),
    };
    let regs = send(dev, &cdb, AtaData::None)
        .map_err(|cause| HiddenAreaError::Command {
            command: name,
            cause,
        })?
        .ok_or(HiddenAreaError::Command {
            command: name,
            cause: AtaError::BadData("no registers returned".into()),
        })?;
    if !regs.lba_complete {
        return Err(HiddenAreaError::Command {
            command: name,
            cause: AtaError::BadData(
                "the upper LBA bits were not returned (fixed-format sense)".into(),
            ),
        });
    }
    Ok(regs.lba)
}

/// Reads the native maximum with the drive's own mechanism (GET NATIVE MAX ADDRESS EXT with
/// AMAC, READ NATIVE MAX ADDRESS EXT otherwise); returns it as a sector count (max LBA + 1).
pub fn read_native_sectors(
    dev: &mut dyn AtaPassThrough,
    features: &HiddenAreaFeatures,
) -> Result<u64, HiddenAreaError> {
    native_max_lba(dev, features.method()).map(|lba| lba + 1)
}

/// Sets the accessible maximum to the native maximum, non-volatile: GET NATIVE MAX ADDRESS
/// EXT then SET ACCESSIBLE MAX ADDRESS EXT with AMAC; READ NATIVE MAX ADDRESS EXT then,
/// immediately, SET MAX ADDRESS EXT with COUNT bit 0 = 1 otherwise. Returns the native
/// sector count.
pub fn set_max_to_native(
    dev: &mut dyn AtaPassThrough,
    features: &HiddenAreaFeatures,
) -> Result<u64, HiddenAreaError> {
    let method = features.method();
    let native = native_max_lba(dev, method)?;
    match method {
        HiddenAreaMethod::Amac => {
            match send(dev, &set_accessible_max_address_cdb(native), AtaData::None) {
                Ok(_) => Ok(native + 1),
                Err(e) if is_abort(&e) => Err(HiddenAreaError::AmacFrozen),
                Err(cause) => Err(HiddenAreaError::Command {
                    command: "SET ACCESSIBLE MAX ADDRESS EXT",
                    cause,
                }),
            }
        }
        HiddenAreaMethod::HpaDco => match send(
            dev,
            &set_max_address_ext_cdb(native, Persistence::NonVolatile),
            AtaData::None,
        ) {
            Ok(_) => Ok(native + 1),
            Err(cause @ (AtaError::Aborted { .. } | AtaError::PassThroughUnsupported { .. })) => {
                Err(HiddenAreaError::SetMaxRefused { cause })
            }
            Err(cause) => Err(HiddenAreaError::Command {
                command: "SET MAX ADDRESS EXT",
                cause,
            }),
        },
    }
}

/// What [`restore_hidden_areas`] did, step by step, for the record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RestoreSteps {
    /// The commands that changed the drive, in order, as the record names them.
    pub commands: Vec<String>,
    /// DCO IDENTIFY's factory maximum (sectors), when it was read.
    pub dco_max_sectors: Option<u64>,
}

/// The command names the record uses.
pub mod names {
    /// SET MAX ADDRESS EXT with the non-volatile bit.
    pub const SET_MAX_NON_VOLATILE: &str = "ATA SET MAX ADDRESS EXT (non-volatile)";
    /// DEVICE CONFIGURATION RESTORE.
    pub const DCO_RESTORE: &str = "ATA DEVICE CONFIGURATION RESTORE";
    /// SET ACCESSIBLE MAX ADDRESS EXT.
    pub const AMAC_SET: &str = "ATA SET ACCESSIBLE MAX ADDRESS EXT";
}

/// Restores every hidden area the drive has: with AMAC, the accessible maximum is set to the
/// native maximum; otherwise the HPA first (non-volatile SET MAX to the native maximum, only
/// when the IDENTIFY capacity is below it), then the DCO (RESTORE, only when DCO IDENTIFY
/// reports more than the native maximum), then the HPA again if the DCO restore left one.
/// `features` and `user_sectors` come from the IDENTIFY DEVICE page read just before. On
/// error, `steps` still holds what was done before it.
pub fn restore_hidden_areas(
    dev: &mut dyn AtaPassThrough,
    features: &HiddenAreaFeatures,
    user_sectors: u64,
    steps: &mut RestoreSteps,
) -> Result<(), HiddenAreaError> {
    if features.amac {
        let native = read_native_sectors(dev, features)?;
        if native > user_sectors {
            set_max_to_native(dev, features)?;
            steps.commands.push(names::AMAC_SET.into());
        }
        return Ok(());
    }
    let mut native = read_native_sectors(dev, features)?;
    if native > user_sectors {
        native = set_max_to_native(dev, features)?;
        steps.commands.push(names::SET_MAX_NON_VOLATILE.into());
    }
    if features.dco {
        let dco = read_dco(dev, features)?;
        steps.dco_max_sectors = Some(dco.max_sectors());
        if dco.max_sectors() > native {
            restore_dco(dev, features)?;
            steps.commands.push(names::DCO_RESTORE.into());
            // The factory configuration may bring back an HPA the DCO had hidden below.
            let user_now = read_user_sectors(dev)?;
            let native_now = read_native_sectors(dev, features)?;
            if native_now > user_now {
                set_max_to_native(dev, features)?;
                steps.commands.push(names::SET_MAX_NON_VOLATILE.into());
            }
        }
    }
    Ok(())
}

/// IDENTIFY DEVICE's user capacity, read again.
pub fn read_user_sectors(dev: &mut dyn AtaPassThrough) -> Result<u64, HiddenAreaError> {
    ata::read_identify(dev)
        .and_then(|page| ata::AtaIdentify::parse(&page))
        .map(|id| id.user_sectors)
        .map_err(|cause| HiddenAreaError::Command {
            command: "IDENTIFY DEVICE",
            cause,
        })
}

/// Asks the kernel to read the disk's capacity again after a restore: writes `1` to
/// `/sys/class/block/NAME/device/rescan` (the SCSI disk driver revalidates the disk and
/// re-reads its capacity), then returns the size the kernel now shows, in 512-byte units
/// (`/sys/class/block/NAME/size`). The caller compares it with the drive's new capacity: an
/// ATA disk behind libata may keep its cached size until the port is reset, and then the
/// kernel does not see the restored sectors yet.
pub fn kernel_rescan(root: &SystemRoot, name: &str) -> io::Result<u64> {
    let dir = root.path(format!("/sys/class/block/{name}"));
    std::fs::write(dir.join("device/rescan"), b"1")?;
    let size = std::fs::read_to_string(dir.join("size"))?;
    size.trim()
        .parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{name}/size: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_max_address_ext_cdb_bytes() {
        // ACS-3 §7.51: COMMAND 37h, 48-bit (EXTEND), non-data (PROTOCOL 3): byte 1 = 07h;
        // CK_COND: byte 2 = 20h. LBA 0x0000_1234_5678 in the order (31:24) (7:0) (39:32)
        // (15:8) (47:40) (23:16) (SAT-4 Table 167); DEVICE 40h. COUNT bit 0 = VV.
        let nv = set_max_address_ext_cdb(0x1234_5678, Persistence::NonVolatile);
        assert_eq!(
            nv,
            [
                0x85, 0x07, 0x20, 0x00, 0x00, 0x00, 0x01, 0x12, 0x78, 0x00, 0x56, 0x00, 0x34, 0x40,
                0x37, 0x00
            ]
        );
        let v = set_max_address_ext_cdb(0x1234_5678, Persistence::Volatile);
        assert_eq!(v[6], 0x00, "volatile: COUNT bit 0 clear");
        assert_eq!(&v[..6], &nv[..6]);
        assert_eq!(&v[7..], &nv[7..]);
        // 48 bits: 0xABCD_1234_5678.
        let big = set_max_address_ext_cdb(0xABCD_1234_5678, Persistence::NonVolatile);
        assert_eq!(&big[7..13], &[0x12, 0x78, 0xCD, 0x56, 0xAB, 0x34]);
    }

    #[test]
    fn dco_cdb_bytes() {
        // ACS-3 §7.9.4 DCO IDENTIFY: PIO Data-In (PROTOCOL 4 << 1 = 08h), 28-bit; T_DIR,
        // BYTE_BLOCK, T_LENGTH=2 (0Eh); FEATURE C2h; COUNT 1; COMMAND B1h.
        assert_eq!(
            dco_identify_cdb(),
            [
                0x85, 0x08, 0x0E, 0x00, 0xC2, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0x00, 0xB1, 0x00
            ]
        );
        // §7.9.5 DCO RESTORE: non-data (06h), CK_COND (20h), FEATURE C0h, COMMAND B1h.
        assert_eq!(
            dco_restore_cdb(),
            [
                0x85, 0x06, 0x20, 0x00, 0xC0, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0x00, 0xB1, 0x00
            ]
        );
    }

    #[test]
    fn amac_cdb_bytes() {
        // ACS-4 §7.3.2 GET NATIVE MAX ADDRESS EXT: 78h, FEATURE 0000h, 48-bit non-data with
        // CK_COND (the answer is in the LBA registers), DEVICE 40h.
        assert_eq!(
            get_native_max_address_cdb(),
            [
                0x85, 0x07, 0x20, 0x00, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0x40, 0x78, 0x00
            ]
        );
        // §7.3.3 SET ACCESSIBLE MAX ADDRESS EXT: FEATURE 0001h, LBA the new maximum.
        let s = set_accessible_max_address_cdb(0x0001_0000_FFFF);
        assert_eq!(&s[..7], &[0x85, 0x07, 0x20, 0x00, 0x01, 0x00, 0x00]);
        assert_eq!(&s[7..13], &[0x00, 0xFF, 0x01, 0xFF, 0x00, 0x00]);
        assert_eq!((s[13], s[14]), (0x40, 0x78));
        assert_eq!((AMAC_FREEZE, DCO_FREEZE_LOCK), (0x0002, 0x00C1));
    }

    fn dco_page(max_lba: u64, signed: bool) -> Vec<u8> {
        let mut p = vec![0u8; 512];
        p[0] = 0x02; // revision 0002h
        for i in 0..4 {
            let w = ((max_lba >> (16 * i)) & 0xFFFF) as u16;
            p[6 + 2 * i..8 + 2 * i].copy_from_slice(&w.to_le_bytes());
        }
        if signed {
            p[510] = 0xA5;
            let sum = p[..511].iter().fold(0u8, |a, &b| a.wrapping_add(b));
            p[511] = 0u8.wrapping_sub(sum);
        }
        p
    }

    #[test]
    fn dco_identify_parses_max_lba_and_checksum() {
        let d = DcoIdentify::parse(&dco_page(0x0000_1D1C_5970, true)).unwrap();
        assert_eq!(d.revision, 2);
        assert_eq!(d.max_lba, 0x1D1C_5970);
        assert_eq!(d.max_sectors(), 0x1D1C_5971);
        assert_eq!(d.checksum_valid, Some(true));
        let unsigned = DcoIdentify::parse(&dco_page(99, false)).unwrap();
        assert_eq!(unsigned.checksum_valid, None);
        let mut bad = dco_page(99, true);
        bad[511] = bad[511].wrapping_add(1);
        assert!(
            DcoIdentify::parse(&bad)
                .unwrap_err()
                .to_string()
                .contains("checksum")
        );
        assert!(DcoIdentify::parse(&[0u8; 512]).is_err());
        assert!(DcoIdentify::parse(&[1u8; 100]).is_err());
    }

    #[test]
    fn features_from_identify_words() {
        let mut p = vec![0u8; 512];
        let set = |p: &mut Vec<u8>, w: usize, v: u16| {
            p[2 * w..2 * w + 2].copy_from_slice(&v.to_le_bytes())
        };
        // Word 83 not valid (bits 15:14 = 00b): nothing counts.
        set(&mut p, 82, 1 << 10);
        set(&mut p, 83, 1 << 11);
        set(&mut p, 119, 1 << 8);
        assert_eq!(
            HiddenAreaFeatures::from_identify(&p),
            HiddenAreaFeatures::default()
        );
        set(&mut p, 83, 0x4000 | (1 << 11));
        set(&mut p, 119, 0x4000 | (1 << 8));
        let f = HiddenAreaFeatures::from_identify(&p);
        assert_eq!(
            f,
            HiddenAreaFeatures {
                amac: true,
                hpa: true,
                dco: true
            }
        );
        assert_eq!(f.method(), HiddenAreaMethod::Amac);
        set(&mut p, 119, 0x4000);
        assert_eq!(
            HiddenAreaFeatures::from_identify(&p).method(),
            HiddenAreaMethod::HpaDco
        );
    }

    #[test]
    fn kernel_rescan_writes_and_reads_sysfs() {
        let dir = tempfile::tempdir().unwrap();
        let block = dir.path().join("sys/class/block/sdz");
        std::fs::create_dir_all(block.join("device")).unwrap();
        std::fs::write(block.join("size"), "131072\n").unwrap();
        let root = SystemRoot::at(dir.path());
        assert_eq!(kernel_rescan(&root, "sdz").unwrap(), 131_072);
        assert_eq!(
            std::fs::read(block.join("device/rescan")).unwrap(),
            b"1".to_vec()
        );
        assert!(kernel_rescan(&root, "sdy").is_err());
    }
}
