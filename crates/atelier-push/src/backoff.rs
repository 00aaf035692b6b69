//! When to try again: exponential backoff with jitter.
//!
//! The n-th retry waits `min(max, base × 2ⁿ⁻¹)`, drawn uniformly between half of it and all
//! of it ("equal jitter"), so that many benches coming back online at once do not retry in
//! step. A server's `Retry-After` wins when it asks for longer.

use std::time::Duration;

/// Delay before attempt `attempts + 1`, after `attempts` failed attempts (≥ 1).
pub fn delay(attempts: u32, base: Duration, max: Duration) -> Duration {
    let exp = attempts.saturating_sub(1).min(30);
    let full = base.saturating_mul(1u32 << exp).min(max);
    let half = full / 2;
    let spread = (full - half).as_millis() as u64;
    let jitter = if spread == 0 {
        0
    } else {
        getrandom::u64().unwrap_or(0) % (spread + 1)
    };
    half + Duration::from_millis(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_stay_under_the_cap_and_are_jittered() {
        let base = Duration::from_secs(30);
        let max = Duration::from_secs(3600);
        for attempts in 1..40 {
            let full = (base * 2u32.pow(attempts.min(20) - 1)).min(max);
            let d = delay(attempts, base, max);
            assert!(d >= full / 2 && d <= full, "{attempts}: {d:?} vs {full:?}");
        }
        let draws: std::collections::BTreeSet<_> = (0..20).map(|_| delay(5, base, max)).collect();
        assert!(draws.len() > 1, "no jitter: {draws:?}");
    }
}
