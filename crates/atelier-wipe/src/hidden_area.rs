//! Hidden areas before a wipe: with the operator's consent, restore them, then measure again.
//!
//! A Host Protected Area (ACS-3 §4.11), a Device Configuration Overlay (ACS-3 §4.9) or a
//! reduced Accessible Max Address (ACS-4 §4.4) hides sectors from the host, so a host
//! overwrite cannot reach them. NIST SP 800-88 Rev. 1 §2.5 counts such areas as user data to
//! sanitize. With consent, [`restore_before_wipe`] sets the accessible maximum back to the
//! native one (AMAC when the drive has it, non-volatile SET MAX ADDRESS EXT and DEVICE
//! CONFIGURATION RESTORE otherwise, through [`atelier_device::ata_hidden`]), then probes the
//! drive again. The caller then has the kernel read the new capacity
//! ([`atelier_device::ata_hidden::kernel_rescan`]) before it plans the wipe, and
//! [`record_check`] writes what happened in the record. Without consent, or when something
//! stays hidden, the entry keeps an exception and the result is "erased with exceptions".

use atelier_device::ata::{self, AtaPassThrough};
use atelier_device::ata_hidden::{self, HiddenAreaError, HiddenAreaFeatures, RestoreSteps};
use atelier_record::{HiddenAreaCheck, HiddenAreaRestore, HiddenAreaRestoreOutcome};

use crate::firmware::{self, Probe};

/// What a restore attempt did and what the drive says afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreAttempt {
    /// For the record (the kernel's view is added by the caller after its rescan).
    pub restore: HiddenAreaRestore,
    /// The drive probed again after the restore (`None` when nothing was sent).
    pub probe_after: Option<Probe>,
}

fn mechanism(features: &HiddenAreaFeatures) -> &'static str {
    match features.method() {
        ata_hidden::HiddenAreaMethod::Amac => "amac",
        ata_hidden::HiddenAreaMethod::HpaDco => "hpa-dco",
    }
}

/// The record of a hidden area left as it is because the operator did not consent: nothing
/// is sent to the drive. `None` when nothing is hidden (or it could not be measured: the
/// check then says why).
pub fn not_consented(probe: &Probe) -> Option<RestoreAttempt> {
    let Some(Ok(area)) = &probe.hidden_area else {
        return None;
    };
    if probe.hidden_sectors() == 0 {
        return None;
    }
    let features = probe.hidden_features.unwrap_or_default();
    Some(RestoreAttempt {
        restore: HiddenAreaRestore {
            outcome: HiddenAreaRestoreOutcome::NotConsented,
            mechanism: mechanism(&features).into(),
            commands: Vec::new(),
            user_sectors_before: area.user_sectors,
            native_max_sectors_before: area.native_sectors,
            dco_max_sectors: probe.dco.as_ref().and_then(|d| d.as_ref().ok().copied()),
            user_sectors_after: None,
            kernel_sectors_after: None,
            error: None,
        },
        probe_after: None,
    })
}

/// Restores the hidden areas `probe` measured when `consent` is given, then probes the
/// drive again. `None` when nothing is hidden (or it could not be measured: the check then
/// says why). Never fails: a refusal or an error is in the returned record.
pub fn restore_before_wipe(
    dev: &mut dyn AtaPassThrough,
    probe: &Probe,
    consent: bool,
) -> Option<RestoreAttempt> {
    let attempt = not_consented(probe)?;
    if !consent {
        return Some(attempt);
    }
    let mut restore = attempt.restore;
    // IDENTIFY again right before: the features and capacity the commands act on.
    let fresh = ata::read_identify(dev).map_err(|cause| HiddenAreaError::Command {
        command: "IDENTIFY DEVICE",
        cause,
    });
    let mut steps = RestoreSteps::default();
    let result = fresh.and_then(|page| {
        let features = HiddenAreaFeatures::from_identify(&page);
        let user = ata::AtaIdentify::parse(&page)
            .map(|id| id.user_sectors)
            .map_err(|cause| HiddenAreaError::Command {
                command: "IDENTIFY DEVICE",
                cause,
            })?;
        ata_hidden::restore_hidden_areas(dev, &features, user, &mut steps)
    });
    restore.commands = steps.commands;
    if steps.dco_max_sectors.is_some() {
        restore.dco_max_sectors = steps.dco_max_sectors;
    }
    let probe_after = firmware::probe_ata(dev, probe.capabilities.media);
    if let Some(Ok(a)) = &probe_after.hidden_area {
        restore.user_sectors_after = Some(a.user_sectors);
    }
    restore.error = match (&result, &probe_after.hidden_area) {
        (Err(e), _) => Some(e.to_string()),
        (Ok(()), Some(Err(e))) => Some(format!("the drive could not be measured again: {e}")),
        (Ok(()), None) => Some(format!(
            "the drive could not be measured again: {}",
            probe_after
                .capabilities
                .probe_error
                .as_deref()
                .unwrap_or("no answer")
        )),
        (Ok(()), Some(Ok(a))) if probe_after.hidden_sectors() > 0 => Some(
            HiddenAreaError::StillHidden {
                user_sectors: a.user_sectors,
                native_sectors: probe_after.native_sectors().unwrap_or(a.native_sectors),
            }
            .to_string(),
        ),
        _ => None,
    };
    restore.outcome = if restore.error.is_none() {
        HiddenAreaRestoreOutcome::Restored
    } else {
        HiddenAreaRestoreOutcome::Failed
    };
    Some(RestoreAttempt {
        restore,
        probe_after: Some(probe_after),
    })
}

/// The kernel's view after its rescan: a restore the kernel does not see in full is a
/// failure (the wipe covers only what the kernel shows). `kernel_sectors` in the drive's
/// logical sectors; `Err` when the rescan itself failed.
pub fn with_kernel_view(restore: &mut HiddenAreaRestore, kernel_sectors: Result<u64, String>) {
    match kernel_sectors {
        Ok(k) => {
            restore.kernel_sectors_after = Some(k);
            if let Some(user) = restore.user_sectors_after
                && k < user
                && restore.outcome == HiddenAreaRestoreOutcome::Restored
            {
                restore.outcome = HiddenAreaRestoreOutcome::Failed;
                restore.error = Some(format!(
                    "the drive shows {user} sectors but the kernel still sees {k} after its rescan; the wipe covers only those. The drive keeps the restore (non-volatile): restart the machine, or unplug and replug the disk, then wipe again"
                ));
            }
        }
        Err(e) if restore.outcome == HiddenAreaRestoreOutcome::Restored => {
            restore.outcome = HiddenAreaRestoreOutcome::Failed;
            restore.error = Some(format!(
                "the kernel could not be asked to read the new capacity: {e}"
            ));
        }
        Err(_) => {}
    }
}

/// The record's hidden-area check: the measure of `probe` (the one taken after the restore
/// when there was one) with what was restored. Sectors the kernel does not show count as
/// hidden (the wipe cannot reach them).
pub fn record_check(probe: &Probe, restore: Option<HiddenAreaRestore>) -> HiddenAreaCheck {
    let mut check = firmware::hidden_area_check(probe);
    if let HiddenAreaCheck::Measured {
        native_max_sectors,
        user_sectors,
        hidden_sectors,
        restore: slot,
        ..
    } = &mut check
    {
        if let Some(k) = restore.as_ref().and_then(|r| r.kernel_sectors_after)
            && k < *user_sectors
        {
            *user_sectors = k;
            *hidden_sectors = native_max_sectors.saturating_sub(k);
        }
        *slot = restore;
    }
    check
}

/// The words an exception adds about the restore: why the hidden area was not erased.
pub fn restore_note(restore: &HiddenAreaRestore) -> Option<String> {
    match restore.outcome {
        HiddenAreaRestoreOutcome::Restored => None,
        HiddenAreaRestoreOutcome::NotConsented => {
            Some("not restored: no consent (--restore-hidden-areas)".into())
        }
        HiddenAreaRestoreOutcome::Failed => Some(format!(
            "restore failed: {}",
            restore.error.as_deref().unwrap_or("unknown error")
        )),
    }
}

/// The exception of a drive whose true size is unknown although nothing is known to be
/// hidden: a restore that failed half-way (e.g. the HPA restored but the DCO frozen), or a
/// DCO the probe could not read ([`firmware::DCO_NOT_READ`] in the check's method).
pub fn unknown_size_exception(check: &HiddenAreaCheck) -> Option<String> {
    let HiddenAreaCheck::Measured {
        method, restore, ..
    } = check
    else {
        return None;
    };
    if let Some(r) = restore
        && r.outcome == HiddenAreaRestoreOutcome::Failed
    {
        return restore_note(r).map(|note| {
            format!(
                "hidden areas not fully examined ({note}); sectors still hidden, if any, not erased"
            )
        });
    }
    method.find(firmware::DCO_NOT_READ).map(|at| {
        format!(
            "hidden areas not fully examined ({}); sectors a Device Configuration Overlay hides, if any, not erased",
            method[at + 1..].trim_end_matches(')')
        )
    })
}
