//! Where a certificate's time comes from: the system clock, and whether NTP synchronised it.
//!
//! Two sources, tried in this order:
//!
//! 1. `timedatectl show -p NTPSynchronized --value` (systemd; `yes` / `no`), which reports the
//!    kernel's own synchronisation flag whatever NTP client runs (timesyncd, chrony, ntpd).
//!    Only run when `root` is `/` (the live machine), with a 3 s deadline.
//! 2. `ROOT/run/systemd/timesync/synchronized`, a file systemd-timesyncd creates once it has
//!    synchronised the clock (systemd-timesyncd.service(8)). Its presence means yes; its
//!    absence proves nothing (another client may run), so it never gives "no".
//!
//! When neither tells, the answer is "unknown" — never a guess.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use atelier_record::{ClockKind, ClockSource, NtpSync};

/// How long `timedatectl` may take before it counts as not answering.
const TIMEDATECTL_DEADLINE: Duration = Duration::from_secs(3);

/// The file systemd-timesyncd creates once the clock is synchronised.
pub const TIMESYNCD_FLAG: &str = "run/systemd/timesync/synchronized";

/// The system clock's synchronisation state as seen from `root` (`/` on a live machine, a
/// captured tree in tests).
pub fn detect_clock_source(root: &Path) -> ClockSource {
    if root == Path::new("/")
        && let Some(state) = timedatectl_ntp_synchronized()
    {
        return ClockSource {
            clock: ClockKind::SystemClock,
            ntp_synchronized: state,
            checked_with: Some("timedatectl NTPSynchronized".into()),
        };
    }
    if root.join(TIMESYNCD_FLAG).exists() {
        return ClockSource {
            clock: ClockKind::SystemClock,
            ntp_synchronized: NtpSync::Yes,
            checked_with: Some(format!("/{TIMESYNCD_FLAG}")),
        };
    }
    ClockSource {
        clock: ClockKind::SystemClock,
        ntp_synchronized: NtpSync::Unknown,
        checked_with: None,
    }
}

/// Parses the value `timedatectl show -p NTPSynchronized --value` prints.
pub fn parse_ntp_synchronized(output: &str) -> Option<NtpSync> {
    match output.trim() {
        "yes" => Some(NtpSync::Yes),
        "no" => Some(NtpSync::No),
        _ => None,
    }
}

fn timedatectl_ntp_synchronized() -> Option<NtpSync> {
    let mut child = Command::new("timedatectl")
        .args(["show", "-p", "NTPSynchronized", "--value"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < TIMEDATECTL_DEADLINE => {
                std::thread::sleep(Duration::from_millis(20));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    };
    if !status.success() {
        return None;
    }
    let mut output = String::new();
    child.stdout.take()?.read_to_string(&mut output).ok()?;
    parse_ntp_synchronized(&output)
}
