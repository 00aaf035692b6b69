//! An optional host overwrite pass after a firmware erase (`atelier wipe --overwrite-after`).
//!
//! Some organisations ask for a verified overwrite on top of the drive's own erase (a belt and
//! braces rule, or a firmware they do not trust). After a firmware session that PASSED, one
//! pass of the keyed random stream ([`crate::pattern`]) is written over the whole device and
//! read back (full or NIST-sampled, as the job asks), through the same engine as a host
//! overwrite. It is recorded as an extra pass of the same wipe: the firmware section stays, the
//! method's `passes` gain one entry, and the verification is the overwrite's (the last state of
//! the disk). The label does not change: the firmware erase decided it (a Purge stays Purge;
//! an overwrite adds no category). A firmware session that did not pass is left as it is —
//! nothing is written after a failed or interrupted erase.

use std::sync::atomic::AtomicBool;

use atelier_record::{Outcome, PassPattern};

use crate::engine::{BlockIo, EngineConfig};
use crate::job::{JobProgress, SessionEnd, WipeObserver, WipeParams, run_session};

/// The pass an overwrite after a firmware erase writes.
pub const PASS: PassPattern = PassPattern::Random;

/// Runs the overwrite pass after `firmware` (the firmware session's end) when that session
/// passed. Returns the combined end and the pass written (None when nothing was written).
pub fn run_overwrite_after(
    dev: &dyn BlockIo,
    params: &WipeParams,
    full_verify: bool,
    cfg: &EngineConfig,
    observer: &dyn WipeObserver,
    cancel: &AtomicBool,
    firmware: SessionEnd,
) -> (SessionEnd, Option<PassPattern>) {
    if firmware.outcome != Outcome::Passed {
        return (firmware, None);
    }
    let mut p = params.clone();
    p.firmware = None;
    p.method = crate::Method::OverwriteRandom;
    p.passes = vec![PASS];
    p.keys.truncate(1);
    if p.keys.is_empty() {
        return (
            SessionEnd {
                outcome: Outcome::Failed,
                detail: Some(
                    "the firmware erase passed; the overwrite after it could not start: the job has no key for a random pass"
                        .into(),
                ),
                ..firmware
            },
            None,
        );
    }
    let mut end = run_session(
        dev,
        &p,
        JobProgress::default(),
        full_verify,
        cfg,
        observer,
        cancel,
    );
    end.progress.write_seconds += firmware.progress.write_seconds;
    end.verify_seconds += firmware.verify_seconds;
    if end.outcome != Outcome::Passed {
        end.detail = Some(format!(
            "the firmware erase passed its verification; the overwrite pass after it did not: {}",
            end.detail.as_deref().unwrap_or("no detail")
        ));
    }
    (end, Some(PASS))
}
