//! Authentication and authorization decisions for kokuho, as pure logic.
//!
//! Staff choose their own password, checked for strength ([`strength`]), at enrolment, and sign
//! in with it ([`password`]) and a TOTP second factor ([`totp`]), hold an
//! opaque session ([`session`]) that locks after idle time, are slowed down (never locked out)
//! after repeated failures ([`throttle`]), and act in a [`roles::Role`] that serves only some NHI affairs
//! ([`roles::Purpose`]) — docs/domain.md §3 rules 1 and 2. Citizens prove possession of their card's
//! key by signing a challenge ([`citizen`]).
//!
//! Nothing here touches a database or reads a clock: the caller passes `now` and the stored
//! state (password hash, last accepted TOTP step, session times, recent failures), and stores
//! what comes back ([`RateLimiter`] keeps its per-client state in memory, still on the caller's
//! `now`). The only I/O is the operating system's random number generator.
//! No error or `Debug` output contains a password, TOTP secret, session token or My Number.

pub mod citizen;
pub mod password;
pub mod roles;
pub mod session;
pub mod strength;
pub mod throttle;
pub mod totp;

pub use citizen::{check_public_key, verify_signature, Challenge, CitizenAuthError};
pub use password::{PasswordError, PasswordHasher};
pub use roles::{role_serves, Purpose, Role, UnknownPurpose, UnknownRole};
pub use session::{token_hash, SessionExpired, SessionPolicy, SessionToken};
pub use strength::{check_strength, WeakPassword};
pub use throttle::{client_network, BackoffPolicy, RateLimit, RateLimiter, SignInBackoff, Throttled};
pub use totp::{TotpEnrollment, TotpError, TotpSecret};
