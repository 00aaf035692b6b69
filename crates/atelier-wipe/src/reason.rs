//! Why the method policy offers a method, or why nothing stronger runs: a typed reason.
//!
//! Each case carries what a reader needs (the method, the media, the operator's choice and
//! the stronger method it passed over). [`PolicyReason::code`] is a stable identifier and the
//! `Display` text is the English sentence kept in the record (`MethodChoice.reason`); both
//! stay stable across versions. Front ends translate the reason from its data (the bench's
//! French and English sentences live in `atelier`'s message catalogue).
//!
//! The capability each firmware method depends on is named as the specifications name it:
//! NVM Express Base 2.0 §5.17.2.1 (Identify Controller: OACS bit 1, FNA bit 2, SANICAP bits
//! 0–2) and ACS-3 §7.12.7 (IDENTIFY DEVICE word 59 bits 12–15, word 128 bits 0–5).

use std::fmt;

use atelier_record::NistCategory;
use serde::Serialize;

use crate::policy::{MediaClass, PolicyMethod};

/// Why the policy offers a method, or why nothing stronger runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "kebab-case")]
pub enum PolicyReason {
    /// The drive advertises `method` (see [`PolicyMethod::capability`]).
    Advertised {
        /// The method the drive advertises.
        method: PolicyMethod,
    },
    /// NVMe Format NVM with user data erase is supported, but no Sanitize operation
    /// (SANICAP = 0), as on QEMU's emulated controller.
    FormatWithoutSanitize,
    /// USB sticks, disks behind USB bridges and memory cards: no sanitize command, so Purge
    /// is not possible; only a host overwrite (Clear).
    PurgeNotPossible {
        /// The medium ([`MediaClass::Usb`] or [`MediaClass::MemoryCard`]).
        media: MediaClass,
    },
    /// A loop, virtio or RAM device: only the host can write it; the real medium is elsewhere.
    VirtualDevice,
    /// A SCSI / SAS disk: SCSI SANITIZE was not run by earlier versions. No longer produced
    /// (SCSI SANITIZE runs since `scsi_sanitize`); kept so older records still translate.
    ScsiNotSupported,
    /// The drive's capabilities could not be read (IDENTIFY failed, pass-through dropped…).
    ProbeFailed {
        /// The error, in English.
        error: String,
    },
    /// ATA Security is supported but the BIOS froze it (word 128 bit 3).
    Frozen,
    /// The drive is locked by an ATA password (word 128 bit 2).
    Locked,
    /// The drive has an ATA user password the bench did not set (word 128 bit 1).
    ForeignPassword,
    /// The drive refused too many passwords (word 128 bit 4) until its next power cycle.
    CounterExpired,
    /// The drive advertises no sanitize, format or security erase command.
    NothingAdvertised,
    /// The host overwrite, listed after the drive's own (stronger) commands.
    WeakerThanFirmware,
    /// The policy runs `chosen` because the stronger `strongest` the drive advertises is not
    /// run by this version yet.
    StrongerNotImplemented {
        /// The method that runs.
        chosen: PolicyMethod,
        /// The strongest method the drive advertises.
        strongest: PolicyMethod,
    },
    /// The operator named the method (`--method`).
    OperatorChoice {
        /// The method the operator named.
        method: PolicyMethod,
        /// The stronger method the drive also offers, when there is one.
        stronger: Option<PolicyMethod>,
        /// Its NIST category.
        stronger_category: Option<NistCategory>,
    },
}

impl PolicyReason {
    /// Stable identifier of the case, e.g. `frozen`, `operator-choice` (also the `code` of
    /// the serialised form).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Advertised { .. } => "advertised",
            Self::FormatWithoutSanitize => "format-without-sanitize",
            Self::PurgeNotPossible { .. } => "purge-not-possible",
            Self::VirtualDevice => "virtual-device",
            Self::ScsiNotSupported => "scsi-not-supported",
            Self::ProbeFailed { .. } => "probe-failed",
            Self::Frozen => "frozen",
            Self::Locked => "locked",
            Self::ForeignPassword => "foreign-password",
            Self::CounterExpired => "counter-expired",
            Self::NothingAdvertised => "nothing-advertised",
            Self::WeakerThanFirmware => "weaker-than-firmware",
            Self::StrongerNotImplemented { .. } => "stronger-not-implemented",
            Self::OperatorChoice { .. } => "operator-choice",
        }
    }

    /// One value of every case, for the tests of translations. A new case does not compile
    /// until it is listed in the match below, next to its sample.
    pub fn samples() -> Vec<PolicyReason> {
        let all = vec![
            Self::Advertised {
                method: PolicyMethod::NvmeFormatCrypto,
            },
            Self::FormatWithoutSanitize,
            Self::PurgeNotPossible {
                media: MediaClass::Usb,
            },
            Self::VirtualDevice,
            Self::ScsiNotSupported,
            Self::ProbeFailed {
                error: "SG_IO: Input/output error".into(),
            },
            Self::Frozen,
            Self::Locked,
            Self::ForeignPassword,
            Self::CounterExpired,
            Self::NothingAdvertised,
            Self::WeakerThanFirmware,
            Self::StrongerNotImplemented {
                chosen: PolicyMethod::AtaSecurityEraseEnhanced,
                strongest: PolicyMethod::AtaSanitizeCrypto,
            },
            Self::OperatorChoice {
                method: PolicyMethod::Overwrite,
                stronger: Some(PolicyMethod::NvmeFormat),
                stronger_category: Some(NistCategory::Purge),
            },
        ];
        for r in &all {
            match r {
                Self::Advertised { .. }
                | Self::FormatWithoutSanitize
                | Self::PurgeNotPossible { .. }
                | Self::VirtualDevice
                | Self::ScsiNotSupported
                | Self::ProbeFailed { .. }
                | Self::Frozen
                | Self::Locked
                | Self::ForeignPassword
                | Self::CounterExpired
                | Self::NothingAdvertised
                | Self::WeakerThanFirmware
                | Self::StrongerNotImplemented { .. }
                | Self::OperatorChoice { .. } => {}
            }
        }
        all
    }
}

/// "the drive advertises X (bit)", shared by several cases.
fn advertised(f: &mut fmt::Formatter<'_>, method: PolicyMethod) -> fmt::Result {
    write!(
        f,
        "the drive advertises {} ({})",
        method.command(),
        method.capability()
    )
}

impl fmt::Display for PolicyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Advertised { method } => advertised(f, *method),
            Self::FormatWithoutSanitize => f.write_str(
                "the drive supports Format NVM with user data erase (OACS bit 1) but no Sanitize operation (SANICAP = 0)",
            ),
            Self::PurgeNotPossible { .. } => f.write_str(
                "Purge not possible on this media: USB sticks and memory cards offer no sanitize command",
            ),
            Self::VirtualDevice => f.write_str(
                "a virtual device: only the host can write it; the real medium is elsewhere",
            ),
            Self::ScsiNotSupported => {
                f.write_str("SCSI SANITIZE is not supported by this version of the bench")
            }
            Self::ProbeFailed { error } => {
                write!(f, "the drive's capabilities could not be read ({error})")
            }
            Self::Frozen => f.write_str(
                "the drive supports ATA Security Erase but is frozen by the BIOS (word 128 bit 3): run with --unfreeze (a 5-second suspend to RAM) to use it",
            ),
            Self::Locked => f.write_str(
                "the drive is locked by an ATA password (word 128 bit 2): `atelier wipe --recover` removes one the bench set; otherwise it needs its owner's password",
            ),
            Self::ForeignPassword => f.write_str(
                "the drive has an ATA user password the bench did not set (word 128 bit 1)",
            ),
            Self::CounterExpired => f.write_str(
                "the drive refused too many passwords (word 128 bit 4): power it off and on",
            ),
            Self::NothingAdvertised => f.write_str(
                "the drive advertises no sanitize, format or security erase command",
            ),
            Self::WeakerThanFirmware => {
                f.write_str("host overwrite, weaker than the drive's own commands")
            }
            Self::StrongerNotImplemented { chosen, strongest } => {
                if *chosen == PolicyMethod::Overwrite {
                    write!(
                        f,
                        "{} is not supported by this version of the bench yet; host overwrite instead",
                        strongest.name()
                    )
                } else {
                    advertised(f, *chosen)?;
                    write!(
                        f,
                        "; the stronger {} is not supported by this version of the bench yet",
                        strongest.name()
                    )
                }
            }
            Self::OperatorChoice {
                method,
                stronger,
                stronger_category,
            } => {
                f.write_str("chosen by the operator")?;
                if *method != PolicyMethod::Overwrite {
                    f.write_str(": ")?;
                    advertised(f, *method)?;
                }
                if let Some(s) = stronger {
                    write!(f, "; the drive also offers {}", s.name())?;
                    if let Some(c) = stronger_category {
                        write!(f, " ({c:?})")?;
                    }
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_has_a_distinct_code_and_english_text() {
        let samples = PolicyReason::samples();
        let mut codes: Vec<_> = samples.iter().map(|r| r.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), samples.len());
        let mut texts: Vec<_> = samples.iter().map(|r| r.to_string()).collect();
        assert!(texts.iter().all(|t| !t.is_empty()));
        texts.sort();
        texts.dedup();
        assert_eq!(texts.len(), samples.len());
        // The serialised form carries the same code.
        for r in &samples {
            let v = serde_json::to_value(r).unwrap();
            assert_eq!(v["code"], r.code(), "{v}");
        }
    }
}
