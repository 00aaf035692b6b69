//! Which process owns a job, and whether it still runs.
//!
//! A job row says `running` from its start until it finishes. If its process is killed
//! (`kill -9`, a power cut), nobody can update the row, so "interrupted" is decided when the
//! row is read: the owner is identified by boot id, pid and the process start time, so a
//! reboot or a recycled pid does not pass for the original process.

use std::fs;

use serde::{Deserialize, Serialize};

/// The process that owns a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessOwner {
    /// The kernel's boot id (`/proc/sys/kernel/random/boot_id`).
    pub boot_id: String,
    /// Process id.
    pub pid: u32,
    /// Process start time, in clock ticks since boot (`/proc/PID/stat` field 22).
    pub start_ticks: u64,
}

impl ProcessOwner {
    /// The calling process.
    pub fn current() -> Self {
        let pid = std::process::id();
        Self {
            boot_id: boot_id(),
            pid,
            start_ticks: start_ticks(pid).unwrap_or(0),
        }
    }

    /// True when this process is still running (same boot, same pid, same start time).
    pub fn is_alive(&self) -> bool {
        self.boot_id == boot_id() && start_ticks(self.pid) == Some(self.start_ticks)
    }
}

fn boot_id() -> String {
    fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn start_ticks(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may contain spaces: count fields after
    // its closing parenthesis. Field 22 is the 20th after it.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_dead_one_is_not() {
        let me = ProcessOwner::current();
        assert!(me.start_ticks > 0);
        assert!(me.is_alive());
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let owner = ProcessOwner {
            boot_id: me.boot_id.clone(),
            pid,
            start_ticks: start_ticks(pid).unwrap_or(1),
        };
        child.wait().unwrap();
        assert!(!owner.is_alive());
        let other_boot = ProcessOwner {
            boot_id: "another-boot".into(),
            ..me
        };
        assert!(!other_boot.is_alive());
    }
}
