//! Throttling of what anyone may ask without being signed in: sign-ins, enrolments and citizens'
//! challenges (docs/security.md).
//!
//! Two mechanisms, both pure decisions on times the caller passes in:
//!
//! - [`RateLimiter`]: a per-key request rate (GCRA, a token bucket without a timer): `burst`
//!   requests at once, refilled at `burst` per `period`. The API keys it by the client's network
//!   ([`client_network`]), so one client cannot flood the ledger with failures or exhaust the
//!   citizens' challenges; the state is a bounded map in memory.
//! - [`BackoffPolicy`]: exponential back-off decided from a list of failure times, like the
//!   lockout it replaces, but never a hard lock: after `free_failures` failures within `window`,
//!   the next attempt waits `first_wait`, then twice as long after each further failure, up to
//!   `max_wait`. [`SignInBackoff`] applies one policy to the failures of one login *from one
//!   client* and a much looser one to the failures of the login from every client, so a client
//!   that knows a login slows only itself down, while a guesser spread over many clients still
//!   meets a ceiling (which is what keeps the million TOTP codes out of reach).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

/// An attempt refused for now; it may be made again from `until` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many attempts; try again after {until}")]
pub struct Throttled {
    pub until: DateTime<Utc>,
}

impl Throttled {
    /// Whole seconds from `now` until the attempt may be made (at least 1): the `Retry-After`.
    pub fn retry_after_seconds(&self, now: DateTime<Utc>) -> u64 {
        let micros = (self.until - now).num_microseconds().unwrap_or(i64::MAX).max(1);
        (micros as u64).div_ceil(1_000_000)
    }
}

/// `burst` requests at once, refilled evenly at `burst` per `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub burst: u32,
    pub period: TimeDelta,
}

impl RateLimit {
    pub fn per_minute(burst: u32) -> RateLimit {
        RateLimit { burst, period: TimeDelta::minutes(1) }
    }

    /// The time one request's token takes to come back.
    fn interval(&self) -> TimeDelta {
        self.period / self.burst.max(1) as i32
    }
}

impl std::fmt::Display for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let seconds = self.period.num_seconds();
        match seconds {
            3600 => write!(f, "{}/h", self.burst),
            60 => write!(f, "{}/min", self.burst),
            1 => write!(f, "{}/s", self.burst),
            _ => write!(f, "{}/{seconds}s", self.burst),
        }
    }
}

/// `N/s`, `N/min`, `N/h` or `N/<seconds>s`, with N ≥ 1: "30/min" is 30 at once, then one every
/// two seconds.
impl FromStr for RateLimit {
    type Err = String;

    fn from_str(text: &str) -> Result<RateLimit, String> {
        let bad = || format!("{text:?} is not a rate: write N/s, N/min, N/h or N/<seconds>s, N at least 1");
        let (count, unit) = text.trim().split_once('/').ok_or_else(bad)?;
        let burst: u32 = count.trim().parse().map_err(|_| bad())?;
        let period = match unit.trim() {
            "s" | "sec" | "second" => TimeDelta::seconds(1),
            "min" | "m" | "minute" => TimeDelta::minutes(1),
            "h" | "hour" => TimeDelta::hours(1),
            other => {
                let seconds: i64 = other.strip_suffix('s').and_then(|s| s.parse().ok()).ok_or_else(bad)?;
                TimeDelta::seconds(seconds)
            }
        };
        if burst == 0 || period <= TimeDelta::zero() {
            return Err(bad());
        }
        Ok(RateLimit { burst, period })
    }
}

/// A [`RateLimit`] per key, in memory. Keys that have used nothing of their burst are forgotten,
/// and at most `capacity` keys are held: past that, a key not yet held is refused until others
/// recover (a flood from that many networks at once is beyond what one server's limits can
/// answer, and memory stays bounded).
pub struct RateLimiter<K> {
    limit: RateLimit,
    capacity: usize,
    /// Per key, the GCRA's theoretical arrival time: when the bucket is full again.
    full_at: Mutex<HashMap<K, DateTime<Utc>>>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// Keys held at most, by default: a few MB.
    pub const DEFAULT_CAPACITY: usize = 100_000;

    pub fn new(limit: RateLimit) -> RateLimiter<K> {
        RateLimiter::with_capacity(limit, Self::DEFAULT_CAPACITY)
    }

    pub fn with_capacity(limit: RateLimit, capacity: usize) -> RateLimiter<K> {
        RateLimiter { limit, capacity: capacity.max(1), full_at: Mutex::new(HashMap::new()) }
    }

    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Takes one request of `key`'s allowance at `now`, or says when the next one is allowed.
    pub fn check(&self, key: &K, now: DateTime<Utc>) -> Result<(), Throttled> {
        let interval = self.limit.interval();
        let tolerance = self.limit.period - interval;
        let mut full_at = self.full_at.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if !full_at.contains_key(key) && full_at.len() >= self.capacity {
            full_at.retain(|_, at| *at > now);
            if full_at.len() >= self.capacity {
                let soonest = full_at.values().min().copied().unwrap_or(now);
                return Err(Throttled { until: soonest.max(now + TimeDelta::seconds(1)) });
            }
        }
        let arrival = full_at.get(key).copied().unwrap_or(now).max(now);
        if arrival - now > tolerance {
            return Err(Throttled { until: arrival - tolerance });
        }
        full_at.insert(key.clone(), arrival + interval);
        Ok(())
    }

    /// Keys held now (for tests and metrics).
    pub fn keys_held(&self) -> usize {
        self.full_at.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).len()
    }
}

/// The network a client address stands for: an IPv4 address as it is, an IPv6 address by its
/// /64 (one subscriber's prefix: the low 64 bits are theirs to vary at will), an IPv4-mapped
/// IPv6 address as the IPv4 address.
pub fn client_network(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(prefix.into())
            }
        },
    }
}

/// Exponential back-off decided from failure times alone (any order; failures after `now` are
/// ignored). With `n` failures in `(now − window, now]`: fewer than `free_failures` and the
/// next attempt may go at once; otherwise it waits `first_wait · 2^(n − free_failures)`, at
/// most `max_wait`, after the latest failure. Failures older than `window` count no more, so a
/// back-off fades on its own; there is no lock to be lifted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffPolicy {
    pub free_failures: u32,
    pub first_wait: TimeDelta,
    pub max_wait: TimeDelta,
    pub window: TimeDelta,
}

impl BackoffPolicy {
    pub fn check(&self, failures: &[DateTime<Utc>], now: DateTime<Utc>) -> Result<(), Throttled> {
        let since = self.relevant_since(now);
        let counted = failures.iter().filter(|at| **at > since && **at <= now);
        let (count, latest) = counted.fold((0u32, None), |(count, latest): (u32, Option<DateTime<Utc>>), at| {
            (count.saturating_add(1), Some(latest.map_or(*at, |latest| latest.max(*at))))
        });
        let Some(latest) = latest.filter(|_| count >= self.free_failures) else {
            return Ok(());
        };
        let doublings = (count - self.free_failures).min(62);
        let wait = self.first_wait.checked_mul(1i32 << doublings.min(30)).unwrap_or(self.max_wait).min(self.max_wait);
        let until = latest + wait;
        if now < until {
            Err(Throttled { until })
        } else {
            Ok(())
        }
    }

    /// Failures before this instant cannot affect [`BackoffPolicy::check`] at `now`.
    pub fn relevant_since(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - self.window
    }
}

/// Sign-in back-off: per (login, client), and per login from every client. Unknown logins are
/// counted exactly like known ones, so the answers cannot tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInBackoff {
    /// The failures of one login from one client network.
    pub per_client: BackoffPolicy,
    /// The failures of one login from anywhere: a ceiling far above what one client can reach
    /// under `per_client`, for guessers spread over many clients.
    pub per_account: BackoffPolicy,
}

impl Default for SignInBackoff {
    fn default() -> Self {
        // A person who mistypes five times waits a second, then two, …; a client that keeps
        // guessing one login waits a quarter of an hour between tries within the first 20
        // minutes. One client stays under 20 failures an hour that way (tested), so the
        // per-login ceiling of 30 is reached only by guessers on several networks, and then
        // holds them to a few dozen codes an hour (against 10^6 codes, ±1 step).
        let per_client = BackoffPolicy {
            free_failures: 5,
            first_wait: TimeDelta::seconds(1),
            max_wait: TimeDelta::minutes(15),
            window: TimeDelta::hours(1),
        };
        SignInBackoff { per_client, per_account: BackoffPolicy { free_failures: 30, ..per_client } }
    }
}

impl SignInBackoff {
    /// `failures`: each recent failure of the login, and whether it came from this client.
    pub fn check(&self, failures: &[(DateTime<Utc>, bool)], now: DateTime<Utc>) -> Result<(), Throttled> {
        let from_client: Vec<DateTime<Utc>> =
            failures.iter().filter(|(_, this_client)| *this_client).map(|(at, _)| *at).collect();
        let from_anywhere: Vec<DateTime<Utc>> = failures.iter().map(|(at, _)| *at).collect();
        let client = self.per_client.check(&from_client, now);
        let account = self.per_account.check(&from_anywhere, now);
        match (client, account) {
            (Err(a), Err(b)) => Err(Throttled { until: a.until.max(b.until) }),
            (Err(one), Ok(())) | (Ok(()), Err(one)) => Err(one),
            (Ok(()), Ok(())) => Ok(()),
        }
    }

    /// Failures before this instant cannot affect [`SignInBackoff::check`] at `now`.
    pub fn relevant_since(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.per_client.relevant_since(now).min(self.per_account.relevant_since(now))
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use chrono::TimeZone;

    use super::*;

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 4, 1, 0, 0, 0).unwrap()
    }

    fn seconds(s: i64) -> TimeDelta {
        TimeDelta::seconds(s)
    }

    #[test]
    fn a_rate_limit_allows_its_burst_then_one_per_interval() {
        let limiter = RateLimiter::new(RateLimit::per_minute(3));
        let now = start();
        for _ in 0..3 {
            assert_eq!(limiter.check(&"a", now), Ok(()));
        }
        // A token comes back every 20 s.
        assert_eq!(limiter.check(&"a", now), Err(Throttled { until: now + seconds(20) }));
        assert_eq!(limiter.check(&"a", now + seconds(19)), Err(Throttled { until: now + seconds(20) }));
        assert_eq!(limiter.check(&"a", now + seconds(20)), Ok(()));
        assert!(limiter.check(&"a", now + seconds(20)).is_err());
        // Another key has its own allowance.
        assert_eq!(limiter.check(&"b", now), Ok(()));
        // After a full period the whole burst is back.
        let later = now + seconds(80);
        for _ in 0..3 {
            assert_eq!(limiter.check(&"a", later), Ok(()));
        }
        assert!(limiter.check(&"a", later).is_err());
    }

    #[test]
    fn refused_requests_do_not_use_up_the_allowance() {
        let limiter = RateLimiter::new(RateLimit::per_minute(1));
        assert_eq!(limiter.check(&1, start()), Ok(()));
        for s in 1..60 {
            assert!(limiter.check(&1, start() + seconds(s)).is_err());
        }
        assert_eq!(limiter.check(&1, start() + seconds(60)), Ok(()));
    }

    #[test]
    fn the_limiter_holds_a_bounded_number_of_keys_and_forgets_recovered_ones() {
        let limiter = RateLimiter::with_capacity(RateLimit::per_minute(2), 3);
        for key in 0..3 {
            assert_eq!(limiter.check(&key, start()), Ok(()));
        }
        assert!(limiter.check(&99, start()).is_err(), "full: a new key waits");
        assert_eq!(limiter.check(&0, start()), Ok(()), "a held key goes on");
        // Keys 1 and 2 recover after 30 s (one request of two), key 0 after 60 s.
        assert_eq!(limiter.check(&99, start() + seconds(30)), Ok(()));
        assert_eq!(limiter.keys_held(), 2);
    }

    #[test]
    fn rates_are_written_as_count_per_unit() {
        assert_eq!("30/min".parse(), Ok(RateLimit { burst: 30, period: TimeDelta::minutes(1) }));
        assert_eq!("5/s".parse(), Ok(RateLimit { burst: 5, period: seconds(1) }));
        assert_eq!("100/h".parse(), Ok(RateLimit { burst: 100, period: TimeDelta::hours(1) }));
        assert_eq!("7/90s".parse(), Ok(RateLimit { burst: 7, period: seconds(90) }));
        for bad in ["0/min", "x/min", "30", "30/fortnight", "3/0s"] {
            assert!(bad.parse::<RateLimit>().is_err(), "{bad}");
        }
        for text in ["30/min", "5/s", "100/h", "7/90s"] {
            assert_eq!(text.parse::<RateLimit>().unwrap().to_string(), text);
        }
    }

    #[test]
    fn ipv6_clients_are_grouped_by_their_64_bit_prefix() {
        let a: Ipv6Addr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: Ipv6Addr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other: Ipv6Addr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_network(a.into()), client_network(b.into()));
        assert_ne!(client_network(a.into()), client_network(other.into()));
        let v4 = Ipv4Addr::new(192, 0, 2, 7);
        assert_eq!(client_network(v4.into()), IpAddr::V4(v4));
        assert_eq!(client_network(v4.to_ipv6_mapped().into()), IpAddr::V4(v4));
    }

    #[test]
    fn the_back_off_doubles_after_the_free_failures_and_is_capped() {
        let policy = SignInBackoff::default().per_client;
        let mut failures = Vec::new();
        let mut now = start();
        for _ in 0..5 {
            assert_eq!(policy.check(&failures, now), Ok(()));
            failures.push(now);
        }
        let mut waits = Vec::new();
        for _ in 0..12 {
            let until = policy.check(&failures, now).unwrap_err().until;
            waits.push((until - now).num_seconds());
            now = until;
            assert_eq!(policy.check(&failures, now), Ok(()));
            failures.push(now);
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]);
    }

    #[test]
    fn a_back_off_fades_as_its_failures_leave_the_window() {
        let policy = SignInBackoff::default().per_client;
        let failures: Vec<_> = (0..12).map(|i| start() + seconds(i)).collect();
        // Twelve failures: 2^7 s after the last.
        assert_eq!(policy.check(&failures, start() + seconds(12)), Err(Throttled { until: start() + seconds(139) }));
        // An hour after the first ones, they no longer count.
        assert_eq!(policy.check(&failures, start() + TimeDelta::hours(1) + seconds(11)), Ok(()));
        assert_eq!(policy.check(&[], start()), Ok(()));
        // Failures after `now` are ignored; order does not matter.
        let mut shuffled = failures.clone();
        shuffled.reverse();
        assert_eq!(policy.check(&shuffled, start() + seconds(12)), policy.check(&failures, start() + seconds(12)));
        assert_eq!(policy.check(&failures, start() + seconds(2)), Ok(()));
    }

    /// One client guessing one login as fast as the back-off lets it, for a day, never reaches
    /// the per-login ceiling: what one client causes, it suffers alone.
    #[test]
    fn one_client_alone_never_reaches_the_per_login_ceiling() {
        let backoff = SignInBackoff::default();
        let mut failures: Vec<(DateTime<Utc>, bool)> = Vec::new();
        let mut now = start();
        let mut most_in_window = 0;
        while now < start() + TimeDelta::days(1) {
            match backoff.check(&failures, now) {
                Ok(()) => failures.push((now, true)),
                Err(throttled) => {
                    let only_own =
                        backoff.per_client.check(&failures.iter().map(|(at, _)| *at).collect::<Vec<_>>(), now);
                    assert_eq!(only_own, Err(throttled), "the per-login ceiling decided at {now}");
                    now = throttled.until;
                    continue;
                }
            }
            let since = backoff.per_client.relevant_since(now);
            most_in_window = most_in_window.max(failures.iter().filter(|(at, _)| *at > since).count());
        }
        assert!(most_in_window < 20, "{most_in_window} failures within an hour");
        assert!(most_in_window < backoff.per_account.free_failures as usize);
    }

    #[test]
    fn the_per_login_ceiling_slows_many_clients_together_and_another_client_is_not_slowed_by_one() {
        let backoff = SignInBackoff::default();
        let now = start() + seconds(100);
        // One client's six failures slow that client only.
        let one_client: Vec<_> = (0..6).map(|i| (start() + seconds(i), true)).collect();
        assert!(backoff.check(&one_client, now - seconds(94)).is_err());
        let seen_from_another: Vec<_> = one_client.iter().map(|(at, _)| (*at, false)).collect();
        assert_eq!(backoff.check(&seen_from_another, now - seconds(94)), Ok(()));
        // Thirty failures spread over many clients slow everyone, for a while.
        let many: Vec<_> = (0..30).map(|i| (start() + seconds(i), false)).collect();
        let throttled = backoff.check(&many, start() + seconds(29)).unwrap_err();
        assert_eq!(throttled.until, start() + seconds(30));
        assert_eq!(backoff.check(&many, start() + seconds(30)), Ok(()));
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let throttled = Throttled { until: start() + TimeDelta::milliseconds(1500) };
        assert_eq!(throttled.retry_after_seconds(start()), 2);
        assert_eq!(throttled.retry_after_seconds(start() + seconds(5)), 1);
    }
}
