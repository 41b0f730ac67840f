//! Account lockout after repeated sign-in failures, decided from the failure times alone.
//!
//! The caller records a failure each time it actually checked credentials (password or TOTP)
//! and they were wrong, and asks [`LockoutPolicy::check`] before checking any. Because attempts
//! are not checked while locked, a lock's failures are not followed by more, and once it ends the
//! count starts afresh. Keeping the rule a pure function of the failure list means there is no
//! separate "locked" flag to get out of step with the record.

use chrono::{DateTime, TimeDelta, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// This many failures within `window` lock the account (at least 1).
    pub max_failures: u32,
    /// How far apart the failures counted together may be.
    pub window: TimeDelta,
    /// How long the lock lasts, from the failure that completed the run.
    pub lock_for: TimeDelta,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        // Five tries are plenty for a person who mistyped; against 10^6 TOTP codes they give an
        // attacker one chance in 200,000 per quarter hour.
        LockoutPolicy { max_failures: 5, window: TimeDelta::minutes(15), lock_for: TimeDelta::minutes(15) }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many failed sign-in attempts; this account is locked until {until}")]
pub struct AccountLocked {
    pub until: DateTime<Utc>,
}

impl LockoutPolicy {
    /// `Err(AccountLocked { until })` if sign-in is locked at `now`, given the account's recent
    /// failure times (any order). The account is locked while, for some failure `f` with
    /// `now < f + lock_for`, at least `max_failures` failures fall in `(f − window, f]`; it stays
    /// locked until the latest such `f + lock_for`. Failures after `now` are ignored.
    pub fn check(&self, recent_failures: &[DateTime<Utc>], now: DateTime<Utc>) -> Result<(), AccountLocked> {
        assert!(self.max_failures >= 1, "a lockout policy needs max_failures >= 1");
        let mut failures: Vec<DateTime<Utc>> = recent_failures.iter().copied().filter(|at| *at <= now).collect();
        failures.sort_unstable();
        let run = self.max_failures as usize;
        // Sorted, so failure i completes a run iff the failure `run - 1` places earlier is still
        // inside the window ending at i. The latest such failure gives the latest lock end.
        let latest_lock_start = (run - 1..failures.len())
            .rev()
            .find(|&i| failures[i + 1 - run] > failures[i] - self.window)
            .map(|i| failures[i]);
        match latest_lock_start.map(|start| start + self.lock_for) {
            Some(until) if now < until => Err(AccountLocked { until }),
            _ => Ok(()),
        }
    }

    /// Failures before this instant cannot affect [`LockoutPolicy::check`] at `now`; the caller
    /// need only load (and keep) failures after it.
    pub fn relevant_since(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - self.lock_for - self.window
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 4, 1, 0, 0, 0).unwrap()
    }

    fn minutes(m: i64) -> TimeDelta {
        TimeDelta::minutes(m)
    }

    /// Failures at `start + offsets[i]` minutes.
    fn failures_at(offsets: &[i64]) -> Vec<DateTime<Utc>> {
        offsets.iter().map(|m| start() + minutes(*m)).collect()
    }

    #[test]
    fn four_failures_do_not_lock() {
        let policy = LockoutPolicy::default();
        assert_eq!(policy.check(&failures_at(&[0, 1, 2, 3]), start() + minutes(4)), Ok(()));
        assert_eq!(policy.check(&[], start()), Ok(()));
    }

    #[test]
    fn the_fifth_failure_within_fifteen_minutes_locks_for_fifteen_minutes() {
        let policy = LockoutPolicy::default();
        let failures = failures_at(&[0, 3, 6, 9, 12]);
        let until = start() + minutes(27);
        assert_eq!(policy.check(&failures, start() + minutes(12)), Err(AccountLocked { until }));
        assert_eq!(policy.check(&failures, start() + minutes(26)), Err(AccountLocked { until }));
    }

    #[test]
    fn a_locked_account_unlocks_after_lock_for() {
        let policy = LockoutPolicy::default();
        let failures = failures_at(&[0, 1, 2, 3, 4]);
        let until = start() + minutes(19);
        assert_eq!(policy.check(&failures, until - TimeDelta::seconds(1)), Err(AccountLocked { until }));
        assert_eq!(policy.check(&failures, until), Ok(()));
        // After unlocking, one more mistake does not lock again: the old run is out of the window.
        let mut after = failures.clone();
        after.push(until + minutes(1));
        assert_eq!(policy.check(&after, until + minutes(1)), Ok(()));
    }

    #[test]
    fn failures_spread_wider_than_the_window_do_not_lock() {
        let policy = LockoutPolicy::default();
        // Five failures, but no five of them within 15 minutes (0..16 spans 16 minutes).
        assert_eq!(policy.check(&failures_at(&[0, 4, 8, 12, 16]), start() + minutes(16)), Ok(()));
        // A failure exactly `window` before another is outside that window.
        assert_eq!(policy.check(&failures_at(&[0, 5, 10, 14, 15]), start() + minutes(15)), Ok(()));
        assert!(policy.check(&failures_at(&[1, 5, 10, 14, 15]), start() + minutes(15)).is_err());
    }

    #[test]
    fn order_of_the_failure_list_does_not_matter() {
        let policy = LockoutPolicy::default();
        let locked = Err(AccountLocked { until: start() + minutes(24) });
        assert_eq!(policy.check(&failures_at(&[9, 0, 7, 3, 5]), start() + minutes(10)), locked);
        assert_eq!(policy.check(&failures_at(&[0, 3, 5, 7, 9]), start() + minutes(10)), locked);
    }

    #[test]
    fn failures_recorded_after_now_are_ignored() {
        let policy = LockoutPolicy::default();
        assert_eq!(policy.check(&failures_at(&[0, 1, 2, 3, 10, 11]), start() + minutes(5)), Ok(()));
    }

    #[test]
    fn a_stricter_policy_locks_sooner_and_longer() {
        let policy = LockoutPolicy { max_failures: 3, window: minutes(60), lock_for: minutes(120) };
        let failures = failures_at(&[0, 30, 59]);
        assert_eq!(
            policy.check(&failures, start() + minutes(100)),
            Err(AccountLocked { until: start() + minutes(179) })
        );
    }

    #[test]
    fn failures_before_relevant_since_cannot_change_the_answer() {
        let policy = LockoutPolicy::default();
        let all = failures_at(&[0, 1, 2, 3, 4, 20, 21, 22, 23, 24, 40, 41]);
        for now_minute in 0..80 {
            let now = start() + minutes(now_minute);
            let recent: Vec<_> = all.iter().copied().filter(|f| *f >= policy.relevant_since(now)).collect();
            assert_eq!(policy.check(&recent, now), policy.check(&all, now), "at minute {now_minute}");
        }
    }

    #[test]
    fn the_message_names_the_unlock_time() {
        let locked = AccountLocked { until: start() + minutes(19) };
        assert_eq!(
            locked.to_string(),
            "too many failed sign-in attempts; this account is locked until 2025-04-01 00:19:00 UTC"
        );
    }
}
