//! The test clock.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};

/// A clock the test moves by hand: sessions, lockouts, TOTP steps and transaction time
/// (`recorded_at`) without sleeping. [`TestClock::system`] is the one exception: the clock of a
/// client against the real `kokuho serve`, which runs on the system clock and cannot be moved.
#[derive(Clone)]
pub struct TestClock(Arc<Mutex<Option<DateTime<Utc>>>>);

impl TestClock {
    /// Starts at the real now.
    pub fn new() -> TestClock {
        TestClock::at(Utc::now())
    }

    pub fn at(instant: DateTime<Utc>) -> TestClock {
        TestClock(Arc::new(Mutex::new(Some(instant))))
    }

    /// The system clock, as a process the test cannot reach into keeps it.
    pub fn system() -> TestClock {
        TestClock(Arc::new(Mutex::new(None)))
    }

    /// Whether [`TestClock::advance`] can move this clock.
    pub fn is_manual(&self) -> bool {
        self.0.lock().unwrap().is_some()
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.0.lock().unwrap().unwrap_or_else(Utc::now)
    }

    pub fn advance(&self, by: TimeDelta) {
        let mut instant = self.0.lock().unwrap();
        let instant = instant.as_mut().expect("the system clock (the real `kokuho serve` runs on it) cannot be moved");
        *instant += by;
    }

    /// This clock as the store and the ledger take it.
    pub fn as_clock(&self) -> kokuho_store::Clock {
        let clock = self.clone();
        Arc::new(move || clock.now())
    }
}
