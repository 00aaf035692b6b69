//! The method policy: per media type and drive capability, the strongest sanitization method,
//! labelled Clear or Purge as NIST SP 800-88 does.
//!
//! Sources: NIST SP 800-88 Rev. 1 (2014) Appendix A, Table A-7 (ATA hard disk drives) and
//! Table A-8 (flash memory-based storage: ATA SSDs, NVM Express SSDs, USB removable media,
//! memory cards); IEEE 2883-2022 §6 (Clear: host overwrite; Purge: the drive's own sanitize,
//! block erase, crypto erase, overwrite). The table is documented in docs/methods.md (English)
//! and docs/methodes.md (French); `policy_table_matches_the_documentation` keeps them in step.
//!
//! Rules of the labels:
//! - a host overwrite is **Clear** on every medium (it cannot reach spare or remapped blocks);
//! - the drive's Sanitize (NVMe) / SANITIZE (ATA) block erase, crypto erase and overwrite are
//!   **Purge**; NVMe Format NVM with Secure Erase Settings 1 (user data erase) or 2
//!   (cryptographic erase) is **Purge** (Table A-8, NVM Express row); enhanced ATA SECURITY
//!   ERASE UNIT is **Purge** (Tables ); the normal one is Purge on a hard disk
//!   (Table A-7) and, conservatively, only **Clear** on an SSD;
//! - USB sticks and memory cards offer no sanitize command: overwrite, **Clear**, "Purge not
//!   possible on this media";
//! - SCSI / SAS: SANITIZE CRYPTOGRAPHIC ERASE > BLOCK ERASE > OVERWRITE (SBC-4 §5.24), the
//!   service actions the drive reports through REPORT SUPPORTED OPERATION CODES, all **Purge**
//!   (Table A-7 SCSI hard disk drives, Table A-8 SCSI SSDs);
//! - eMMC: the kernel's secure erase (`BLKSECDISCARD`) when it has one, labelled **Clear** (no
//!   NIST row names it Purge; docs/methods/emmc.md says why).

use atelier_device::ata::{SanitizeSupport, SecurityStatus};
use atelier_device::nvme::{FormatAttributes, SanitizeCaps};
use atelier_device::scsi::ScsiSanitizeSupport;
use atelier_device::{BlockDevice, DeviceKind};
use atelier_record::{MediaKind, NistCategory, Technique, Transport};
use serde::{Deserialize, Serialize};

use crate::Method;
pub use crate::reason::PolicyReason;

/// A sanitization method of the policy, firmware or host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyMethod {
    /// NVMe Sanitize, Crypto Erase.
    NvmeSanitizeCrypto,
    /// NVMe Sanitize, Block Erase.
    NvmeSanitizeBlock,
    /// NVMe Sanitize, Overwrite.
    NvmeSanitizeOverwrite,
    /// NVMe Format NVM, Secure Erase Settings 2 (cryptographic erase).
    NvmeFormatCrypto,
    /// NVMe Format NVM, Secure Erase Settings 1 (user data erase).
    NvmeFormat,
    /// ATA SANITIZE CRYPTO SCRAMBLE EXT.
    AtaSanitizeCrypto,
    /// ATA SANITIZE BLOCK ERASE EXT.
    AtaSanitizeBlock,
    /// ATA SANITIZE OVERWRITE EXT.
    AtaSanitizeOverwrite,
    /// ATA SECURITY ERASE UNIT, enhanced mode.
    AtaSecurityEraseEnhanced,
    /// ATA SECURITY ERASE UNIT, normal mode.
    AtaSecurityErase,
    /// SCSI SANITIZE, CRYPTOGRAPHIC ERASE (SBC-4 §5.24).
    ScsiSanitizeCrypto,
    /// SCSI SANITIZE, BLOCK ERASE.
    ScsiSanitizeBlock,
    /// SCSI SANITIZE, OVERWRITE.
    ScsiSanitizeOverwrite,
    /// eMMC secure erase through the kernel (`BLKSECDISCARD`), then eMMC SANITIZE through
    /// mmc-utils when it is installed.
    EmmcSecureErase,
    /// A host overwrite (one of the [`Method`]s).
    Overwrite,
}

impl PolicyMethod {
    /// Every method, strongest first within each family.
    pub const ALL: [PolicyMethod; 15] = [
        Self::NvmeSanitizeCrypto,
        Self::NvmeSanitizeBlock,
        Self::NvmeSanitizeOverwrite,
        Self::NvmeFormatCrypto,
        Self::NvmeFormat,
        Self::AtaSanitizeCrypto,
        Self::AtaSanitizeBlock,
        Self::AtaSanitizeOverwrite,
        Self::AtaSecurityEraseEnhanced,
        Self::AtaSecurityErase,
        Self::ScsiSanitizeCrypto,
        Self::ScsiSanitizeBlock,
        Self::ScsiSanitizeOverwrite,
        Self::EmmcSecureErase,
        Self::Overwrite,
    ];

    /// Stable name (command line, records).
    pub fn name(self) -> &'static str {
        match self {
            Self::NvmeSanitizeCrypto => "nvme-sanitize-crypto",
            Self::NvmeSanitizeBlock => "nvme-sanitize-block",
            Self::NvmeSanitizeOverwrite => "nvme-sanitize-overwrite",
            Self::NvmeFormatCrypto => "nvme-format-crypto",
            Self::NvmeFormat => "nvme-format",
            Self::AtaSanitizeCrypto => "ata-sanitize-crypto",
            Self::AtaSanitizeBlock => "ata-sanitize-block",
            Self::AtaSanitizeOverwrite => "ata-sanitize-overwrite",
            Self::AtaSecurityEraseEnhanced => "ata-security-erase-enhanced",
            Self::AtaSecurityErase => "ata-security-erase",
            Self::ScsiSanitizeCrypto => "scsi-sanitize-crypto",
            Self::ScsiSanitizeBlock => "scsi-sanitize-block",
            Self::ScsiSanitizeOverwrite => "scsi-sanitize-overwrite",
            Self::EmmcSecureErase => "emmc-secure-erase",
            Self::Overwrite => "overwrite",
        }
    }

    /// The command as the specification names it, e.g. `Sanitize Crypto Erase`,
    /// `enhanced SECURITY ERASE UNIT` (the same words in every language).
    pub fn command(self) -> &'static str {
        match self {
            Self::NvmeSanitizeCrypto => "Sanitize Crypto Erase",
            Self::NvmeSanitizeBlock => "Sanitize Block Erase",
            Self::NvmeSanitizeOverwrite => "Sanitize Overwrite",
            Self::NvmeFormatCrypto => "Format NVM with cryptographic erase",
            Self::NvmeFormat => "Format NVM with user data erase",
            Self::AtaSanitizeCrypto => "SANITIZE CRYPTO SCRAMBLE",
            Self::AtaSanitizeBlock => "SANITIZE BLOCK ERASE",
            Self::AtaSanitizeOverwrite => "SANITIZE OVERWRITE",
            Self::AtaSecurityEraseEnhanced => "enhanced SECURITY ERASE UNIT",
            Self::AtaSecurityErase => "SECURITY ERASE UNIT",
            Self::ScsiSanitizeCrypto => "SANITIZE CRYPTOGRAPHIC ERASE",
            Self::ScsiSanitizeBlock => "SANITIZE BLOCK ERASE",
            Self::ScsiSanitizeOverwrite => "SANITIZE OVERWRITE",
            Self::EmmcSecureErase => "eMMC secure erase (BLKSECDISCARD)",
            Self::Overwrite => "host overwrite",
        }
    }

    /// The identification bit that advertises the method (NVMe Identify Controller; ATA
    /// IDENTIFY DEVICE words 59 and 128).
    pub fn capability(self) -> &'static str {
        match self {
            Self::NvmeSanitizeCrypto => "SANICAP.CES",
            Self::NvmeSanitizeBlock => "SANICAP.BES",
            Self::NvmeSanitizeOverwrite => "SANICAP.OWS",
            Self::NvmeFormatCrypto => "FNA bit 2",
            Self::NvmeFormat => "OACS bit 1",
            Self::AtaSanitizeCrypto => "word 59 bit 13",
            Self::AtaSanitizeBlock => "word 59 bit 15",
            Self::AtaSanitizeOverwrite => "word 59 bit 14",
            Self::AtaSecurityEraseEnhanced => "word 128 bit 5",
            Self::AtaSecurityErase => "word 128 bit 0",
            Self::ScsiSanitizeCrypto => "REPORT SUPPORTED OPERATION CODES 48h/03h",
            Self::ScsiSanitizeBlock => "REPORT SUPPORTED OPERATION CODES 48h/02h",
            Self::ScsiSanitizeOverwrite => "REPORT SUPPORTED OPERATION CODES 48h/01h",
            Self::EmmcSecureErase => "card type MMC, BLKSECDISCARD accepted by the kernel",
            Self::Overwrite => "always possible",
        }
    }

    /// The technique (IEEE 2883 vocabulary).
    pub fn technique(self) -> Technique {
        match self {
            Self::NvmeSanitizeCrypto
            | Self::NvmeFormatCrypto
            | Self::AtaSanitizeCrypto
            | Self::ScsiSanitizeCrypto => Technique::CryptographicErase,
            Self::NvmeSanitizeBlock | Self::AtaSanitizeBlock | Self::ScsiSanitizeBlock => {
                Technique::BlockErase
            }
            Self::NvmeFormat
            | Self::AtaSecurityEraseEnhanced
            | Self::AtaSecurityErase
            | Self::EmmcSecureErase => Technique::UserDataErase,
            Self::NvmeSanitizeOverwrite
            | Self::AtaSanitizeOverwrite
            | Self::ScsiSanitizeOverwrite
            | Self::Overwrite => Technique::Overwrite,
        }
    }

    /// True for the methods this version of the bench can run. The others are planned (the
    /// policy names them so the plan can say a stronger method exists) but not executed yet.
    pub fn implemented(self) -> bool {
        matches!(
            self,
            Self::NvmeSanitizeCrypto
                | Self::NvmeSanitizeBlock
                | Self::NvmeSanitizeOverwrite
                | Self::NvmeFormat
                | Self::NvmeFormatCrypto
                | Self::AtaSanitizeCrypto
                | Self::AtaSanitizeBlock
                | Self::AtaSanitizeOverwrite
                | Self::AtaSecurityErase
                | Self::AtaSecurityEraseEnhanced
                | Self::ScsiSanitizeCrypto
                | Self::ScsiSanitizeBlock
                | Self::ScsiSanitizeOverwrite
                | Self::EmmcSecureErase
                | Self::Overwrite
        )
    }

    /// A firmware method (the drive does the work).
    pub fn is_firmware(self) -> bool {
        self != Self::Overwrite
    }
}

/// What the policy knows about the medium.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaClass {
    /// An NVMe namespace.
    NvmeSsd,
    /// A SATA solid-state drive.
    SataSsd,
    /// A SATA hard disk.
    SataHdd,
    /// A SCSI / SAS disk.
    Scsi,
    /// A USB stick or a disk behind a USB bridge.
    Usb,
    /// An SD card or eMMC.
    MemoryCard,
    /// A loop, virtio or RAM device: the real medium is elsewhere.
    Virtual,
}

impl MediaClass {
    /// The class of a device from its recorded identity.
    pub fn from_identity(id: &atelier_record::DeviceIdentity) -> Self {
        match (id.transport, id.media) {
            (_, MediaKind::Virtual)
            | (Transport::Loop | Transport::Virtio | Transport::Other, _) => Self::Virtual,
            (Transport::Nvme, _) => Self::NvmeSsd,
            (Transport::Sata, MediaKind::Magnetic) => Self::SataHdd,
            (Transport::Sata, _) => Self::SataSsd,
            (Transport::Scsi, _) => Self::Scsi,
            (Transport::Usb, _) => Self::Usb,
            (Transport::Mmc, _) => Self::MemoryCard,
        }
    }

    /// The class of `device`.
    pub fn of(device: &BlockDevice) -> Self {
        if matches!(
            device.kind,
            DeviceKind::Loop | DeviceKind::Ram | DeviceKind::DeviceMapper
        ) {
            return Self::Virtual;
        }
        match device.transport {
            Transport::Nvme => Self::NvmeSsd,
            Transport::Sata if device.media() == MediaKind::Magnetic => Self::SataHdd,
            Transport::Sata => Self::SataSsd,
            Transport::Scsi => Self::Scsi,
            Transport::Usb => Self::Usb,
            Transport::Mmc => Self::MemoryCard,
            Transport::Virtio | Transport::Loop | Transport::Other => Self::Virtual,
        }
    }
}

/// NVMe capabilities from Identify Controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct NvmeCapabilities {
    /// OACS bit 1.
    pub format: bool,
    /// FNA.
    pub format_attributes: FormatAttributes,
    /// SANICAP.
    pub sanitize: SanitizeCaps,
}

/// ATA capabilities from IDENTIFY DEVICE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct AtaCapabilities {
    /// Word 59.
    pub sanitize: SanitizeSupport,
    /// Words 82/85/89/90/128.
    pub security: SecurityStatus,
}

/// eMMC capabilities: the kernel's secure erase and mmc-utils.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct EmmcCapabilities {
    /// The kernel has a secure erase for the device (`BLKSECDISCARD` probe did not answer
    /// EOPNOTSUPP).
    pub secure_erase: bool,
    /// mmc-utils is installed (eMMC SANITIZE after the secure erase).
    pub mmc_utils: bool,
}

/// Everything the policy decides on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    /// The medium.
    pub media: MediaClass,
    /// NVMe capabilities, when Identify answered.
    pub nvme: Option<NvmeCapabilities>,
    /// ATA capabilities, when IDENTIFY DEVICE answered.
    pub ata: Option<AtaCapabilities>,
    /// SCSI SANITIZE service actions, when REPORT SUPPORTED OPERATION CODES answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scsi: Option<ScsiSanitizeSupport>,
    /// eMMC (card type `MMC`): what the kernel and the bench can do with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emmc: Option<EmmcCapabilities>,
    /// Why the drive could not be asked, when it could not.
    pub probe_error: Option<String>,
}

/// One candidate of the policy: a method the drive offers, its label and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Candidate {
    /// The method.
    pub method: PolicyMethod,
    /// NIST category.
    pub category: NistCategory,
    /// Why it is offered (or why nothing stronger is).
    pub reason: PolicyReason,
}

/// The NIST label of `method` on `media` (see the module documentation).
pub fn category(method: PolicyMethod, media: MediaClass) -> NistCategory {
    match (method, media) {
        (PolicyMethod::Overwrite, _) => NistCategory::Clear,
        (PolicyMethod::AtaSecurityErase, MediaClass::SataHdd) => NistCategory::Purge,
        (PolicyMethod::AtaSecurityErase, _) => NistCategory::Clear,
        // No NIST SP 800-88 row names eMMC secure erase / trim as Purge (Table A-8 gives memory
        // cards and embedded flash no Purge command): labelled Clear, see docs/methods/emmc.md.
        (PolicyMethod::EmmcSecureErase, _) => NistCategory::Clear,
        _ => NistCategory::Purge,
    }
}

/// Every method the drive advertises, strongest first, ending with the host overwrite (always
/// possible). The first entry is the policy's choice when it can run.
pub fn candidates(caps: &Capabilities) -> Vec<Candidate> {
    let media = caps.media;
    let mut out = Vec::new();
    let mut push = |method: PolicyMethod, reason: PolicyReason| {
        out.push(Candidate {
            method,
            category: category(method, media),
            reason,
        });
    };
    let advertised = |method| PolicyReason::Advertised { method };
    match (media, caps.nvme, caps.ata) {
        (MediaClass::NvmeSsd, Some(n), _) => {
            if n.sanitize.crypto_erase {
                push(
                    PolicyMethod::NvmeSanitizeCrypto,
                    advertised(PolicyMethod::NvmeSanitizeCrypto),
                );
            }
            if n.sanitize.block_erase {
                push(
                    PolicyMethod::NvmeSanitizeBlock,
                    advertised(PolicyMethod::NvmeSanitizeBlock),
                );
            }
            if n.sanitize.overwrite {
                push(
                    PolicyMethod::NvmeSanitizeOverwrite,
                    advertised(PolicyMethod::NvmeSanitizeOverwrite),
                );
            }
            if n.format && n.format_attributes.crypto_erase {
                push(
                    PolicyMethod::NvmeFormatCrypto,
                    advertised(PolicyMethod::NvmeFormatCrypto),
                );
            }
            if n.format {
                push(
                    PolicyMethod::NvmeFormat,
                    if n.sanitize.any() {
                        advertised(PolicyMethod::NvmeFormat)
                    } else {
                        PolicyReason::FormatWithoutSanitize
                    },
                );
            }
        }
        (MediaClass::SataSsd | MediaClass::SataHdd, _, Some(a)) => {
            let s = a.sanitize;
            if s.supported && s.crypto_scramble {
                push(
                    PolicyMethod::AtaSanitizeCrypto,
                    advertised(PolicyMethod::AtaSanitizeCrypto),
                );
            }
            if s.supported && s.block_erase && media == MediaClass::SataSsd {
                push(
                    PolicyMethod::AtaSanitizeBlock,
                    advertised(PolicyMethod::AtaSanitizeBlock),
                );
            }
            if s.supported && s.overwrite && media == MediaClass::SataHdd {
                push(
                    PolicyMethod::AtaSanitizeOverwrite,
                    advertised(PolicyMethod::AtaSanitizeOverwrite),
                );
            }
            let sec = a.security;
            // Locked, frozen, a foreign password or an expired attempt counter: SECURITY ERASE
            // cannot run now (the overwrite reason says why and what to do).
            if sec.supported && !sec.locked && !sec.frozen && !sec.enabled && !sec.count_expired {
                if sec.enhanced_erase {
                    push(
                        PolicyMethod::AtaSecurityEraseEnhanced,
                        advertised(PolicyMethod::AtaSecurityEraseEnhanced),
                    );
                }
                push(
                    PolicyMethod::AtaSecurityErase,
                    advertised(PolicyMethod::AtaSecurityErase),
                );
            }
        }
        // eMMC only (SD cards have no secure erase): BLKSECDISCARD when the kernel has it;
        // otherwise (EOPNOTSUPP at the probe) the host overwrite.
        (MediaClass::MemoryCard, _, _) if caps.emmc.is_some_and(|e| e.secure_erase) => {
            push(
                PolicyMethod::EmmcSecureErase,
                advertised(PolicyMethod::EmmcSecureErase),
            );
        }
        (MediaClass::Scsi, _, _) => {
            // SCSI SANITIZE (SBC-4 §5.24): crypto > block > overwrite, all Purge (NIST SP
            // 800-88 Rev. 1 Table A-7 SCSI hard disk drives, Table A-8 SCSI SSDs).
            if let Some(s) = caps.scsi {
                for (yes, method) in [
                    (s.crypto_erase, PolicyMethod::ScsiSanitizeCrypto),
                    (s.block_erase, PolicyMethod::ScsiSanitizeBlock),
                    (s.overwrite, PolicyMethod::ScsiSanitizeOverwrite),
                ] {
                    if yes {
                        push(method, advertised(method));
                    }
                }
            }
        }
        _ => {}
    }
    let overwrite_reason = match (media, &caps.probe_error) {
        (MediaClass::Usb | MediaClass::MemoryCard, _) => PolicyReason::PurgeNotPossible { media },
        (MediaClass::Virtual, _) => PolicyReason::VirtualDevice,
        (_, Some(err)) => PolicyReason::ProbeFailed { error: err.clone() },
        _ => match security_blocked(caps) {
            Some(why) => why,
            None if out.is_empty() => PolicyReason::NothingAdvertised,
            None => PolicyReason::WeakerThanFirmware,
        },
    };
    out.push(Candidate {
        method: PolicyMethod::Overwrite,
        category: NistCategory::Clear,
        reason: overwrite_reason,
    });
    out
}

/// Why a drive that supports the Security feature set cannot run SECURITY ERASE now.
fn security_blocked(caps: &Capabilities) -> Option<PolicyReason> {
    let sec = caps.ata?.security;
    if !sec.supported {
        return None;
    }
    if sec.frozen && !sec.locked {
        Some(PolicyReason::Frozen)
    } else if sec.locked {
        Some(PolicyReason::Locked)
    } else if sec.enabled {
        Some(PolicyReason::ForeignPassword)
    } else if sec.count_expired {
        Some(PolicyReason::CounterExpired)
    } else {
        None
    }
}

/// The decision for one device: what runs, what the strongest option was, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// The method that runs.
    pub method: PolicyMethod,
    /// For [`PolicyMethod::Overwrite`]: which overwrite.
    pub overwrite: Method,
    /// Its label.
    pub category: NistCategory,
    /// The strongest method the drive offers (may be the same).
    pub strongest: Candidate,
    /// `policy` or `operator`.
    pub chosen_by: &'static str,
    /// Why this method (`Display` gives the English text of the record).
    pub reason: PolicyReason,
}

/// Why a requested method cannot run on a device.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The name is not a method.
    #[error("unknown method {0}")]
    Unknown(String),
    /// The drive does not advertise the method.
    #[error("{method}: the drive does not advertise this command ({why})")]
    NotAdvertised {
        /// The method.
        method: &'static str,
        /// What the drive said instead.
        why: String,
    },
    /// The method exists but this version cannot run it.
    #[error("{0}: not supported by this version of the bench yet")]
    NotImplemented(&'static str),
}

/// A method the operator may name: a policy method, a family (`nvme-sanitize` = the strongest
/// Sanitize the drive offers) or one of the overwrite [`Method`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requested {
    /// The policy decides.
    Auto,
    /// One method.
    Exact(PolicyMethod),
    /// The strongest NVMe Sanitize operation advertised.
    NvmeSanitize,
    /// A host overwrite.
    Overwrite(Method),
}

impl Requested {
    /// Parses a `--method` value (`auto`, a policy method name, `nvme-sanitize`, or an
    /// overwrite method name). `None` for an unknown name.
    pub fn from_name(name: &str) -> Option<Self> {
        if name == "auto" {
            return Some(Self::Auto);
        }
        if name == "nvme-sanitize" {
            return Some(Self::NvmeSanitize);
        }
        if name == "overwrite" {
            return Some(Self::Overwrite(Method::OverwriteRandom));
        }
        if let Some(m) = Method::from_name(name) {
            return Some(Self::Overwrite(m));
        }
        PolicyMethod::ALL
            .into_iter()
            .find(|m| m.name() == name)
            .map(Self::Exact)
    }

    /// Every name `from_name` accepts, for error messages.
    pub fn names() -> Vec<&'static str> {
        let mut v = vec!["auto"];
        v.extend(PolicyMethod::ALL.iter().map(|m| m.name()));
        v.push("nvme-sanitize");
        v.extend(Method::ALL.iter().map(|m| m.name()));
        v
    }
}

/// Decides the method for a device: the strongest implemented candidate, or the operator's
/// explicit choice — refused when the drive does not advertise it, whatever the operator says.
pub fn decide(caps: &Capabilities, requested: Requested) -> Result<Decision, PolicyError> {
    let all = candidates(caps);
    let strongest = all[0].clone();
    let overwrite = |m: Method, chosen_by: &'static str, reason: PolicyReason| Decision {
        method: PolicyMethod::Overwrite,
        overwrite: m,
        category: NistCategory::Clear,
        strongest: strongest.clone(),
        chosen_by,
        reason,
    };
    let operator = |c: &Candidate| PolicyReason::OperatorChoice {
        method: c.method,
        stronger: (c.method != strongest.method).then_some(strongest.method),
        stronger_category: (c.method != strongest.method).then_some(strongest.category),
    };
    match requested {
        Requested::Auto => {
            let chosen = all
                .iter()
                .find(|c| c.method.implemented())
                .expect("overwrite is always a candidate");
            let reason = if chosen.method == strongest.method {
                chosen.reason.clone()
            } else {
                PolicyReason::StrongerNotImplemented {
                    chosen: chosen.method,
                    strongest: strongest.method,
                }
            };
            if chosen.method == PolicyMethod::Overwrite {
                return Ok(overwrite(Method::OverwriteRandom, "policy", reason));
            }
            Ok(Decision {
                method: chosen.method,
                overwrite: Method::OverwriteZero,
                category: chosen.category,
                strongest,
                chosen_by: "policy",
                reason,
            })
        }
        Requested::Overwrite(m) => {
            let base = &all[all.len() - 1];
            let reason = if strongest.method == PolicyMethod::Overwrite {
                base.reason.clone()
            } else {
                operator(base)
            };
            Ok(overwrite(m, "operator", reason))
        }
        Requested::NvmeSanitize | Requested::Exact(_) => {
            let wanted: Vec<PolicyMethod> = match requested {
                Requested::Exact(m) => vec![m],
                _ => vec![
                    PolicyMethod::NvmeSanitizeCrypto,
                    PolicyMethod::NvmeSanitizeBlock,
                    PolicyMethod::NvmeSanitizeOverwrite,
                ],
            };
            let name = match requested {
                Requested::Exact(m) => m.name(),
                _ => "nvme-sanitize",
            };
            let Some(c) = all.iter().find(|c| wanted.contains(&c.method)) else {
                return Err(PolicyError::NotAdvertised {
                    method: name,
                    why: not_advertised_why(caps),
                });
            };
            if !c.method.implemented() {
                return Err(PolicyError::NotImplemented(c.method.name()));
            }
            Ok(Decision {
                method: c.method,
                overwrite: Method::OverwriteZero,
                category: c.category,
                strongest: strongest.clone(),
                chosen_by: "operator",
                reason: operator(c),
            })
        }
    }
}

fn not_advertised_why(caps: &Capabilities) -> String {
    if let Some(e) = &caps.probe_error {
        return format!("its capabilities could not be read: {e}");
    }
    match (caps.media, caps.nvme, caps.ata) {
        (MediaClass::NvmeSsd, Some(n), _) => format!(
            "SANICAP crypto={} block={} overwrite={}, Format NVM={}, FNA crypto erase={}",
            n.sanitize.crypto_erase,
            n.sanitize.block_erase,
            n.sanitize.overwrite,
            n.format,
            n.format_attributes.crypto_erase
        ),
        (_, _, Some(a)) => format!(
            "SANITIZE feature set={}, Security feature set={}, enhanced erase={}, frozen={}, locked={}, password set={}",
            a.sanitize.supported,
            a.security.supported,
            a.security.enhanced_erase,
            a.security.frozen,
            a.security.locked,
            a.security.enabled
        ),
        (MediaClass::Scsi, _, _) => match caps.scsi {
            Some(s) => format!(
                "SANITIZE CRYPTOGRAPHIC ERASE={}, BLOCK ERASE={}, OVERWRITE={} (REPORT SUPPORTED OPERATION CODES)",
                s.crypto_erase, s.block_erase, s.overwrite
            ),
            None => "REPORT SUPPORTED OPERATION CODES did not answer".into(),
        },
        (MediaClass::MemoryCard, _, _) => match caps.emmc {
            None => "not an eMMC (an SD card, or a card reader): no secure erase".into(),
            Some(e) if !e.secure_erase => {
                "an eMMC, but the kernel answered EOPNOTSUPP to BLKSECDISCARD: the card offers no secure erase/trim".into()
            }
            Some(_) => "an eMMC with the kernel's secure erase".into(),
        },
        (media, _, _) => format!("{media:?} media has no firmware sanitize command"),
    }
}

/// The documented table: (media, capability, method, category), strongest first per media.
/// `docs/methods.md` and `docs/methodes.md` list the same rows.
pub fn table() -> Vec<(MediaClass, &'static str, PolicyMethod, NistCategory)> {
    use MediaClass as M;
    use PolicyMethod as P;
    let rows: [(M, &'static str, P); 24] = [
        (M::NvmeSsd, "SANICAP.CES", P::NvmeSanitizeCrypto),
        (M::NvmeSsd, "SANICAP.BES", P::NvmeSanitizeBlock),
        (M::NvmeSsd, "SANICAP.OWS", P::NvmeSanitizeOverwrite),
        (
            M::NvmeSsd,
            "OACS.Format + FNA.CryptoErase",
            P::NvmeFormatCrypto,
        ),
        (M::NvmeSsd, "OACS.Format", P::NvmeFormat),
        (M::NvmeSsd, "-", P::Overwrite),
        (M::SataSsd, "word 59 bits 12+13", P::AtaSanitizeCrypto),
        (M::SataSsd, "word 59 bits 12+15", P::AtaSanitizeBlock),
        (M::SataSsd, "word 128 bits 0+5", P::AtaSecurityEraseEnhanced),
        (M::SataSsd, "word 128 bit 0", P::AtaSecurityErase),
        (M::SataSsd, "-", P::Overwrite),
        (M::SataHdd, "word 59 bits 12+13", P::AtaSanitizeCrypto),
        (M::SataHdd, "word 59 bits 12+14", P::AtaSanitizeOverwrite),
        (M::SataHdd, "word 128 bits 0+5", P::AtaSecurityEraseEnhanced),
        (M::SataHdd, "word 128 bit 0", P::AtaSecurityErase),
        (M::SataHdd, "-", P::Overwrite),
        (M::Scsi, "RSOC 48h/03h supported", P::ScsiSanitizeCrypto),
        (M::Scsi, "RSOC 48h/02h supported", P::ScsiSanitizeBlock),
        (M::Scsi, "RSOC 48h/01h supported", P::ScsiSanitizeOverwrite),
        (M::Scsi, "-", P::Overwrite),
        (M::Usb, "-", P::Overwrite),
        (M::MemoryCard, "eMMC + BLKSECDISCARD", P::EmmcSecureErase),
        (M::MemoryCard, "-", P::Overwrite),
        (M::Virtual, "-", P::Overwrite),
    ];
    rows.into_iter()
        .map(|(m, cap, p)| (m, cap, p, category(p, m)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nvme(format: bool, fna_crypto: bool, sanicap: SanitizeCaps) -> Capabilities {
        Capabilities {
            media: MediaClass::NvmeSsd,
            nvme: Some(NvmeCapabilities {
                format,
                format_attributes: FormatAttributes {
                    crypto_erase: fna_crypto,
                    ..FormatAttributes::default()
                },
                sanitize: sanicap,
            }),
            ata: None,
            probe_error: None,
            scsi: None,
            emmc: None,
        }
    }

    fn ata(media: MediaClass, sanitize: SanitizeSupport, security: SecurityStatus) -> Capabilities {
        Capabilities {
            media,
            nvme: None,
            ata: Some(AtaCapabilities { sanitize, security }),
            probe_error: None,
            scsi: None,
            emmc: None,
        }
    }

    fn order(c: &Capabilities) -> Vec<&'static str> {
        candidates(c).iter().map(|c| c.method.name()).collect()
    }

    #[test]
    fn nvme_order_is_sanitize_then_format_then_overwrite() {
        let all = SanitizeCaps {
            crypto_erase: true,
            block_erase: true,
            overwrite: true,
            no_deallocate_inhibited: false,
        };
        assert_eq!(
            order(&nvme(true, true, all)),
            [
                "nvme-sanitize-crypto",
                "nvme-sanitize-block",
                "nvme-sanitize-overwrite",
                "nvme-format-crypto",
                "nvme-format",
                "overwrite"
            ]
        );
        // NVMe Sanitize runs (nvme_sanitize): the policy picks the strongest advertised,
        // crypto > block > overwrite, each Purge.
        let d = decide(&nvme(true, true, all), Requested::Auto).unwrap();
        assert_eq!(d.method, PolicyMethod::NvmeSanitizeCrypto);
        assert_eq!(d.category, NistCategory::Purge);
        assert_eq!(
            d.reason,
            PolicyReason::Advertised {
                method: PolicyMethod::NvmeSanitizeCrypto
            }
        );
        let only = |crypto, block, overwrite| SanitizeCaps {
            crypto_erase: crypto,
            block_erase: block,
            overwrite,
            no_deallocate_inhibited: false,
        };
        for (caps, want) in [
            (only(false, true, true), PolicyMethod::NvmeSanitizeBlock),
            (
                only(false, false, true),
                PolicyMethod::NvmeSanitizeOverwrite,
            ),
        ] {
            let c = nvme(true, true, caps);
            assert_eq!(decide(&c, Requested::Auto).unwrap().method, want);
            assert_eq!(decide(&c, Requested::NvmeSanitize).unwrap().method, want);
        }
        // Forcing an operation the drive does not advertise is refused.
        let err = decide(
            &nvme(true, false, only(true, false, false)),
            Requested::Exact(PolicyMethod::NvmeSanitizeBlock),
        )
        .unwrap_err();
        assert!(matches!(err, PolicyError::NotAdvertised { .. }), "{err}");
        // Without Sanitize, Format with crypto erase comes first.
        assert_eq!(
            decide(&nvme(true, true, SanitizeCaps::default()), Requested::Auto)
                .unwrap()
                .method,
            PolicyMethod::NvmeFormatCrypto
        );
    }

    #[test]
    fn qemu_nvme_gets_format_ses1_and_refuses_sanitize() {
        // QEMU: OACS Format = 1, SANICAP = 0, FNA = 0.
        let q = nvme(true, false, SanitizeCaps::default());
        let d = decide(&q, Requested::Auto).unwrap();
        assert_eq!(d.method, PolicyMethod::NvmeFormat);
        assert_eq!(d.category, NistCategory::Purge);
        assert_eq!(d.chosen_by, "policy");
        assert_eq!(d.reason.code(), "format-without-sanitize");
        assert!(d.reason.to_string().contains("SANICAP = 0"));
        for forced in [
            "nvme-sanitize",
            "nvme-sanitize-crypto",
            "nvme-format-crypto",
        ] {
            let err = decide(&q, Requested::from_name(forced).unwrap()).unwrap_err();
            assert!(
                matches!(err, PolicyError::NotAdvertised { .. }),
                "{forced}: {err}"
            );
            assert!(err.to_string().contains("SANICAP crypto=false"), "{err}");
        }
        // A weaker method only when asked, and the record says so.
        let w = decide(&q, Requested::from_name("overwrite").unwrap()).unwrap();
        assert_eq!(
            (w.method, w.category, w.chosen_by),
            (PolicyMethod::Overwrite, NistCategory::Clear, "operator")
        );
        assert_eq!(
            w.reason,
            PolicyReason::OperatorChoice {
                method: PolicyMethod::Overwrite,
                stronger: Some(PolicyMethod::NvmeFormat),
                stronger_category: Some(NistCategory::Purge),
            }
        );
        assert_eq!(
            w.reason.to_string(),
            "chosen by the operator; the drive also offers nvme-format (Purge)"
        );
    }

    #[test]
    fn sata_without_security_falls_back_to_overwrite() {
        // QEMU's ide-hd: neither SANITIZE nor Security.
        let c = ata(
            MediaClass::SataSsd,
            SanitizeSupport::default(),
            SecurityStatus::default(),
        );
        let d = decide(&c, Requested::Auto).unwrap();
        assert_eq!(
            (d.method, d.category),
            (PolicyMethod::Overwrite, NistCategory::Clear)
        );
        assert_eq!(d.reason, PolicyReason::NothingAdvertised);
    }

    #[test]
    fn sata_ssd_order_and_labels() {
        let c = ata(
            MediaClass::SataSsd,
            SanitizeSupport::from_word59(0xF000),
            SecurityStatus {
                supported: true,
                enhanced_erase: true,
                ..SecurityStatus::default()
            },
        );
        let cands = candidates(&c);
        let got: Vec<_> = cands
            .iter()
            .map(|c| (c.method.name(), c.category))
            .collect();
        assert_eq!(
            got,
            [
                ("ata-sanitize-crypto", NistCategory::Purge),
                ("ata-sanitize-block", NistCategory::Purge),
                ("ata-security-erase-enhanced", NistCategory::Purge),
                ("ata-security-erase", NistCategory::Clear),
                ("overwrite", NistCategory::Clear),
            ]
        );
        // SANITIZE runs (ata_sanitize): auto takes CRYPTO SCRAMBLE; BLOCK ERASE on request.
        let d = decide(&c, Requested::Auto).unwrap();
        assert_eq!(d.method, PolicyMethod::AtaSanitizeCrypto);
        assert_eq!(d.category, NistCategory::Purge);
        assert_eq!(d.chosen_by, "policy");
        let b = decide(&c, Requested::Exact(PolicyMethod::AtaSanitizeBlock)).unwrap();
        assert_eq!(
            (b.method, b.chosen_by),
            (PolicyMethod::AtaSanitizeBlock, "operator")
        );
        assert_eq!(
            b.reason,
            PolicyReason::OperatorChoice {
                method: PolicyMethod::AtaSanitizeBlock,
                stronger: Some(PolicyMethod::AtaSanitizeCrypto),
                stronger_category: Some(NistCategory::Purge),
            }
        );
        // Without crypto scramble, block erase comes before enhanced SECURITY ERASE.
        let block_only = ata(
            MediaClass::SataSsd,
            SanitizeSupport::from_word59(0x9000),
            SecurityStatus {
                supported: true,
                enhanced_erase: true,
                ..SecurityStatus::default()
            },
        );
        assert_eq!(
            decide(&block_only, Requested::Auto).unwrap().method,
            PolicyMethod::AtaSanitizeBlock
        );
    }

    #[test]
    fn hdd_sanitize_overwrite_then_security_erase_then_overwrite() {
        let c = ata(
            MediaClass::SataHdd,
            SanitizeSupport::from_word59(0x5000),
            SecurityStatus {
                supported: true,
                ..SecurityStatus::default()
            },
        );
        assert_eq!(
            order(&c),
            ["ata-sanitize-overwrite", "ata-security-erase", "overwrite"]
        );
        let d = decide(&c, Requested::Auto).unwrap();
        assert_eq!(
            (d.method, d.category),
            (PolicyMethod::AtaSanitizeOverwrite, NistCategory::Purge)
        );
    }

    #[test]
    fn ata_sanitize_is_refused_when_word_59_does_not_advertise_it() {
        // QEMU's ide-hd: word 59 bit 12 clear.
        let q = ata(
            MediaClass::SataSsd,
            SanitizeSupport::default(),
            SecurityStatus::default(),
        );
        for m in [
            PolicyMethod::AtaSanitizeCrypto,
            PolicyMethod::AtaSanitizeBlock,
            PolicyMethod::AtaSanitizeOverwrite,
        ] {
            let err = decide(&q, Requested::Exact(m)).unwrap_err();
            assert!(matches!(err, PolicyError::NotAdvertised { .. }), "{err}");
            assert!(
                err.to_string().contains("SANITIZE feature set=false"),
                "{err}"
            );
        }
        // Block erase is not offered on a hard disk, even when advertised.
        let hdd = ata(
            MediaClass::SataHdd,
            SanitizeSupport::from_word59(0x9000),
            SecurityStatus::default(),
        );
        assert!(decide(&hdd, Requested::Exact(PolicyMethod::AtaSanitizeBlock)).is_err());
    }

    #[test]
    fn hdd_normal_security_erase_is_purge() {
        let c = ata(
            MediaClass::SataHdd,
            SanitizeSupport::default(),
            SecurityStatus {
                supported: true,
                ..SecurityStatus::default()
            },
        );
        let cands = candidates(&c);
        assert_eq!(cands[0].method, PolicyMethod::AtaSecurityErase);
        assert_eq!(cands[0].category, NistCategory::Purge);
        // A locked drive is not offered a security erase.
        let locked = ata(
            MediaClass::SataHdd,
            SanitizeSupport::default(),
            SecurityStatus {
                supported: true,
                locked: true,
                ..SecurityStatus::default()
            },
        );
        assert_eq!(order(&locked), ["overwrite"]);
        let d = decide(&locked, Requested::Auto).unwrap();
        assert_eq!(d.reason, PolicyReason::Locked);
        assert!(d.reason.to_string().contains("--recover"), "{}", d.reason);
    }

    #[test]
    fn frozen_or_foreign_password_falls_back_and_says_why() {
        let frozen = ata(
            MediaClass::SataSsd,
            SanitizeSupport::default(),
            SecurityStatus {
                supported: true,
                frozen: true,
                enhanced_erase: true,
                ..SecurityStatus::default()
            },
        );
        assert_eq!(order(&frozen), ["overwrite"]);
        let d = decide(&frozen, Requested::Auto).unwrap();
        assert_eq!(d.method, PolicyMethod::Overwrite);
        assert_eq!(d.reason, PolicyReason::Frozen);
        assert!(d.reason.to_string().contains("--unfreeze"), "{}", d.reason);
        assert!(matches!(
            decide(&frozen, Requested::Exact(PolicyMethod::AtaSecurityErase)),
            Err(PolicyError::NotAdvertised { .. })
        ));
        let foreign = ata(
            MediaClass::SataHdd,
            SanitizeSupport::default(),
            SecurityStatus {
                supported: true,
                enabled: true,
                ..SecurityStatus::default()
            },
        );
        assert_eq!(order(&foreign), ["overwrite"]);
        assert_eq!(
            decide(&foreign, Requested::Auto).unwrap().reason,
            PolicyReason::ForeignPassword
        );
        // Unfrozen and free, the same drive gets enhanced SECURITY ERASE by default, and the
        // operator may ask for the normal one.
        let free = ata(
            MediaClass::SataSsd,
            SanitizeSupport::default(),
            SecurityStatus {
                supported: true,
                enhanced_erase: true,
                ..SecurityStatus::default()
            },
        );
        assert_eq!(
            decide(&free, Requested::Auto).unwrap().method,
            PolicyMethod::AtaSecurityEraseEnhanced
        );
        let normal = decide(&free, Requested::Exact(PolicyMethod::AtaSecurityErase)).unwrap();
        assert_eq!(normal.category, NistCategory::Clear);
        assert_eq!(normal.chosen_by, "operator");
        assert_eq!(
            normal.reason,
            PolicyReason::OperatorChoice {
                method: PolicyMethod::AtaSecurityErase,
                stronger: Some(PolicyMethod::AtaSecurityEraseEnhanced),
                stronger_category: Some(NistCategory::Purge),
            }
        );
    }

    #[test]
    fn usb_and_cards_are_clear_with_the_reason() {
        for media in [MediaClass::Usb, MediaClass::MemoryCard] {
            let c = Capabilities {
                media,
                nvme: None,
                ata: None,
                probe_error: None,
                scsi: None,
                emmc: None,
            };
            let d = decide(&c, Requested::Auto).unwrap();
            assert_eq!(d.category, NistCategory::Clear);
            assert_eq!(d.reason, PolicyReason::PurgeNotPossible { media });
            assert!(
                d.reason
                    .to_string()
                    .starts_with("Purge not possible on this media")
            );
            assert!(decide(&c, Requested::NvmeSanitize).is_err());
        }
    }

    #[test]
    fn every_name_parses() {
        for n in Requested::names() {
            assert!(Requested::from_name(n).is_some(), "{n}");
        }
        assert_eq!(Requested::from_name("gutmann"), None);
    }

    #[test]
    fn policy_table_matches_the_documentation() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs");
        for page in ["methods.md", "methodes.md"] {
            let text = std::fs::read_to_string(root.join(page)).unwrap();
            for (media, _, method, cat) in table() {
                let row = format!("| {media:?} | {} | {cat:?} |", method.name());
                assert!(text.contains(&row), "{page} lacks the row `{row}`");
            }
        }
    }
}
