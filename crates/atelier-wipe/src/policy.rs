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
//!   possible on this media".

use atelier_device::ata::{SanitizeSupport, SecurityStatus};
use atelier_device::nvme::{FormatAttributes, SanitizeCaps};
use atelier_device::{BlockDevice, DeviceKind};
use atelier_record::{MediaKind, NistCategory, Technique, Transport};
use serde::{Deserialize, Serialize};

use crate::Method;

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
    /// A host overwrite (one of the [`Method`]s).
    Overwrite,
}

impl PolicyMethod {
    /// Every method, strongest first within each family.
    pub const ALL: [PolicyMethod; 11] = [
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
            Self::Overwrite => "overwrite",
        }
    }

    /// The technique (IEEE 2883 vocabulary).
    pub fn technique(self) -> Technique {
        match self {
            Self::NvmeSanitizeCrypto | Self::NvmeFormatCrypto | Self::AtaSanitizeCrypto => {
                Technique::CryptographicErase
            }
            Self::NvmeSanitizeBlock | Self::AtaSanitizeBlock => Technique::BlockErase,
            Self::NvmeFormat | Self::AtaSecurityEraseEnhanced | Self::AtaSecurityErase => {
                Technique::UserDataErase
            }
            Self::NvmeSanitizeOverwrite | Self::AtaSanitizeOverwrite | Self::Overwrite => {
                Technique::Overwrite
            }
        }
    }

    /// True for the methods this version of the bench can run. The others are planned (the
    /// policy names them so the plan can say a stronger method exists) but not executed yet.
    pub fn implemented(self) -> bool {
        matches!(
            self,
            Self::NvmeFormat
                | Self::NvmeFormatCrypto
                | Self::AtaSecurityErase
                | Self::AtaSecurityEraseEnhanced
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

/// Everything the policy decides on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    /// The medium.
    pub media: MediaClass,
    /// NVMe capabilities, when Identify answered.
    pub nvme: Option<NvmeCapabilities>,
    /// ATA capabilities, when IDENTIFY DEVICE answered.
    pub ata: Option<AtaCapabilities>,
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
    /// Why it is offered (or why nothing stronger is), in plain English.
    pub reason: String,
}

/// The NIST label of `method` on `media` (see the module documentation).
pub fn category(method: PolicyMethod, media: MediaClass) -> NistCategory {
    match (method, media) {
        (PolicyMethod::Overwrite, _) => NistCategory::Clear,
        (PolicyMethod::AtaSecurityErase, MediaClass::SataHdd) => NistCategory::Purge,
        (PolicyMethod::AtaSecurityErase, _) => NistCategory::Clear,
        _ => NistCategory::Purge,
    }
}

/// Every method the drive advertises, strongest first, ending with the host overwrite (always
/// possible). The first entry is the policy's choice when it can run.
pub fn candidates(caps: &Capabilities) -> Vec<Candidate> {
    let media = caps.media;
    let mut out = Vec::new();
    let mut push = |method: PolicyMethod, reason: &str| {
        out.push(Candidate {
            method,
            category: category(method, media),
            reason: reason.to_string(),
        });
    };
    match (media, caps.nvme, caps.ata) {
        (MediaClass::NvmeSsd, Some(n), _) => {
            if n.sanitize.crypto_erase {
                push(
                    PolicyMethod::NvmeSanitizeCrypto,
                    "the drive advertises Sanitize Crypto Erase (SANICAP.CES)",
                );
            }
            if n.sanitize.block_erase {
                push(
                    PolicyMethod::NvmeSanitizeBlock,
                    "the drive advertises Sanitize Block Erase (SANICAP.BES)",
                );
            }
            if n.sanitize.overwrite {
                push(
                    PolicyMethod::NvmeSanitizeOverwrite,
                    "the drive advertises Sanitize Overwrite (SANICAP.OWS)",
                );
            }
            if n.format && n.format_attributes.crypto_erase {
                push(
                    PolicyMethod::NvmeFormatCrypto,
                    "the drive supports Format NVM with cryptographic erase (FNA bit 2)",
                );
            }
            if n.format {
                push(
                    PolicyMethod::NvmeFormat,
                    if n.sanitize.any() {
                        "the drive supports Format NVM with user data erase (OACS bit 1)"
                    } else {
                        "the drive supports Format NVM with user data erase (OACS bit 1) but no Sanitize operation (SANICAP = 0)"
                    },
                );
            }
        }
        (MediaClass::SataSsd | MediaClass::SataHdd, _, Some(a)) => {
            let s = a.sanitize;
            if s.supported && s.crypto_scramble {
                push(
                    PolicyMethod::AtaSanitizeCrypto,
                    "the drive advertises SANITIZE CRYPTO SCRAMBLE (word 59 bit 13)",
                );
            }
            if s.supported && s.block_erase && media == MediaClass::SataSsd {
                push(
                    PolicyMethod::AtaSanitizeBlock,
                    "the drive advertises SANITIZE BLOCK ERASE (word 59 bit 15)",
                );
            }
            if s.supported && s.overwrite && media == MediaClass::SataHdd {
                push(
                    PolicyMethod::AtaSanitizeOverwrite,
                    "the drive advertises SANITIZE OVERWRITE (word 59 bit 14)",
                );
            }
            let sec = a.security;
            // Locked, frozen, a foreign password or an expired attempt counter: SECURITY ERASE
            // cannot run now (the overwrite reason says why and what to do).
            if sec.supported && !sec.locked && !sec.frozen && !sec.enabled && !sec.count_expired {
                if sec.enhanced_erase {
                    push(
                        PolicyMethod::AtaSecurityEraseEnhanced,
                        "the drive supports enhanced SECURITY ERASE UNIT (word 128 bit 5)",
                    );
                }
                push(
                    PolicyMethod::AtaSecurityErase,
                    "the drive supports SECURITY ERASE UNIT (word 128 bit 0)",
                );
            }
        }
        _ => {}
    }
    let overwrite_reason = match (media, &caps.probe_error) {
        (MediaClass::Usb | MediaClass::MemoryCard, _) => {
            "Purge not possible on this media: USB sticks and memory cards offer no sanitize command".to_string()
        }
        (MediaClass::Virtual, _) => {
            "a virtual device: only the host can write it; the real medium is elsewhere".to_string()
        }
        (MediaClass::Scsi, _) => {
            "SCSI SANITIZE is not supported by this version of the bench".to_string()
        }
        (_, Some(err)) => format!("the drive's capabilities could not be read ({err})"),
        _ if security_blocked(caps).is_some() => security_blocked(caps).unwrap_or_default(),
        _ if out.is_empty() => {
            "the drive advertises no sanitize, format or security erase command".to_string()
        }
        _ => "host overwrite, weaker than the drive's own commands".to_string(),
    };
    out.push(Candidate {
        method: PolicyMethod::Overwrite,
        category: NistCategory::Clear,
        reason: overwrite_reason,
    });
    out
}

/// Why a drive that supports the Security feature set cannot run SECURITY ERASE now.
fn security_blocked(caps: &Capabilities) -> Option<String> {
    let sec = caps.ata?.security;
    if !sec.supported {
        return None;
    }
    let why = if sec.frozen && !sec.locked {
        "the drive supports ATA Security Erase but is frozen by the BIOS (word 128 bit 3): run with --unfreeze (a 5-second suspend to RAM) to use it"
    } else if sec.locked {
        "the drive is locked by an ATA password (word 128 bit 2): `atelier wipe --recover` removes one the bench set; otherwise it needs its owner's password"
    } else if sec.enabled {
        "the drive has an ATA user password the bench did not set (word 128 bit 1)"
    } else if sec.count_expired {
        "the drive refused too many passwords (word 128 bit 4): power it off and on"
    } else {
        return None;
    };
    Some(why.to_string())
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
    /// Why this method, in plain English.
    pub reason: String,
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
    let overwrite = |m: Method, chosen_by: &'static str, reason: String| Decision {
        method: PolicyMethod::Overwrite,
        overwrite: m,
        category: NistCategory::Clear,
        strongest: strongest.clone(),
        chosen_by,
        reason,
    };
    let weaker = |c: &Candidate| {
        if c.method == strongest.method {
            String::new()
        } else {
            format!(
                "; the drive also offers {} ({:?})",
                strongest.method.name(),
                strongest.category
            )
        }
    };
    match requested {
        Requested::Auto => {
            let chosen = all
                .iter()
                .find(|c| c.method.implemented())
                .expect("overwrite is always a candidate");
            if chosen.method == PolicyMethod::Overwrite {
                let mut reason = chosen.reason.clone();
                if strongest.method != PolicyMethod::Overwrite {
                    reason = format!(
                        "{} is not supported by this version of the bench yet; host overwrite instead",
                        strongest.method.name()
                    );
                }
                return Ok(overwrite(Method::OverwriteRandom, "policy", reason));
            }
            let mut reason = chosen.reason.clone();
            if chosen.method != strongest.method {
                reason.push_str(&format!(
                    "; the stronger {} is not supported by this version of the bench yet",
                    strongest.method.name()
                ));
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
                format!("chosen by the operator{}", weaker(base))
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
                reason: format!("chosen by the operator: {}{}", c.reason, weaker(c)),
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
        (media, _, _) => format!("{media:?} media has no firmware sanitize command"),
    }
}

/// The documented table: (media, capability, method, category), strongest first per media.
/// `docs/methods.md` and `docs/methodes.md` list the same rows.
pub fn table() -> Vec<(MediaClass, &'static str, PolicyMethod, NistCategory)> {
    use MediaClass as M;
    use PolicyMethod as P;
    let rows: [(M, &'static str, P); 19] = [
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
        (M::Usb, "-", P::Overwrite),
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
        }
    }

    fn ata(media: MediaClass, sanitize: SanitizeSupport, security: SecurityStatus) -> Capabilities {
        Capabilities {
            media,
            nvme: None,
            ata: Some(AtaCapabilities { sanitize, security }),
            probe_error: None,
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
        // Sanitize is not executed by this version: the policy runs the strongest implemented
        // method and says which stronger one exists.
        let d = decide(&nvme(true, true, all), Requested::Auto).unwrap();
        assert_eq!(d.method, PolicyMethod::NvmeFormatCrypto);
        assert_eq!(d.strongest.method, PolicyMethod::NvmeSanitizeCrypto);
        assert!(
            d.reason.contains("nvme-sanitize-crypto is not supported"),
            "{}",
            d.reason
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
        assert!(d.reason.contains("SANICAP = 0"));
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
        assert!(w.reason.contains("also offers nvme-format"), "{}", w.reason);
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
        assert!(d.reason.contains("advertises no sanitize"), "{}", d.reason);
    }

    #[test]
    fn sata_ssd_order_and_labels() {
        let c = ata(
            MediaClass::SataSsd,
            SanitizeSupport {
                supported: true,
                crypto_scramble: true,
                overwrite: true,
                block_erase: true,
            },
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
        // SANITIZE is not implemented yet: auto takes enhanced SECURITY ERASE and says why.
        let d = decide(&c, Requested::Auto).unwrap();
        assert_eq!(d.method, PolicyMethod::AtaSecurityEraseEnhanced);
        assert_eq!(d.category, NistCategory::Purge);
        assert!(
            d.reason
                .contains("the stronger ata-sanitize-crypto is not supported by this version"),
            "{}",
            d.reason
        );
        assert_eq!(
            decide(&c, Requested::Exact(PolicyMethod::AtaSanitizeBlock)),
            Err(PolicyError::NotImplemented("ata-sanitize-block"))
        );
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
        assert!(d.reason.contains("--recover"), "{}", d.reason);
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
        assert!(d.reason.contains("--unfreeze"), "{}", d.reason);
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
    }

    #[test]
    fn usb_and_cards_are_clear_with_the_reason() {
        for media in [MediaClass::Usb, MediaClass::MemoryCard] {
            let c = Capabilities {
                media,
                nvme: None,
                ata: None,
                probe_error: None,
            };
            let d = decide(&c, Requested::Auto).unwrap();
            assert_eq!(d.category, NistCategory::Clear);
            assert!(d.reason.starts_with("Purge not possible on this media"));
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
