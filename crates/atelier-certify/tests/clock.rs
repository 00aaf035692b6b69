//! The clock source written into certificates.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use atelier_certify::clock::{TIMESYNCD_FLAG, detect_clock_source, parse_ntp_synchronized};
use atelier_record::{ClockKind, NtpSync};

#[test]
fn the_timesyncd_flag_file_means_synchronised() {
    let root = tempfile::tempdir().unwrap();
    let none = detect_clock_source(root.path());
    assert_eq!(none.clock, ClockKind::SystemClock);
    assert_eq!(none.ntp_synchronized, NtpSync::Unknown);
    assert_eq!(none.checked_with, None);

    let flag = root.path().join(TIMESYNCD_FLAG);
    fs::create_dir_all(flag.parent().unwrap()).unwrap();
    fs::write(&flag, "").unwrap();
    let synced = detect_clock_source(root.path());
    assert_eq!(synced.ntp_synchronized, NtpSync::Yes);
    assert_eq!(
        synced.checked_with.as_deref(),
        Some("/run/systemd/timesync/synchronized")
    );
}

#[test]
fn timedatectl_answers_are_read_strictly() {
    assert_eq!(parse_ntp_synchronized("yes\n"), Some(NtpSync::Yes));
    assert_eq!(parse_ntp_synchronized("no\n"), Some(NtpSync::No));
    assert_eq!(parse_ntp_synchronized(""), None);
    assert_eq!(parse_ntp_synchronized("NTPSynchronized=yes"), None);
}

#[test]
fn the_live_machine_answers_quickly() {
    let started = Instant::now();
    let source = detect_clock_source(Path::new("/"));
    assert!(started.elapsed() < Duration::from_secs(5));
    eprintln!("this machine's clock: {source:?}");
    if source.ntp_synchronized == NtpSync::Unknown {
        assert_eq!(source.checked_with, None);
    } else {
        assert!(source.checked_with.is_some());
    }
}
