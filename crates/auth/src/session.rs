//! Staff sessions: the opaque bearer token, the hash that is stored instead of it, and the
//! expiry policy (idle lock and absolute lifetime).
//!
//! The token is handed to the client once; the server keeps only [`token_hash`], so a copy of
//! the sessions table cannot be used to sign in. Idle expiry is the software form of the seed's
//! screen lock (docs/domain.md §3 rule 1); the absolute lifetime forces a fresh sign-in, with both
//! factors, at least once per working day.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, TimeDelta, Utc};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Marks the string as a kokuho session token, so secret scanners and people recognise it.
pub const TOKEN_PREFIX: &str = "kks_";
/// 256 bits: not guessable, and not worth brute-forcing against the hash.
const TOKEN_BYTES: usize = 32;

/// A freshly issued session token. `Debug` is redacted and the text is wiped on drop.
pub struct SessionToken(Zeroizing<String>);

impl SessionToken {
    /// `kks_` followed by 32 random bytes in URL-safe base64 without padding (43 characters).
    pub fn generate() -> SessionToken {
        let mut bytes = Zeroizing::new([0u8; TOKEN_BYTES]);
        OsRng.fill_bytes(bytes.as_mut());
        SessionToken(Zeroizing::new(format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes.as_ref()))))
    }

    /// The token text, to send to the client exactly once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The value to store; equal to `token_hash(self.expose())`.
    pub fn hash(&self) -> [u8; 32] {
        token_hash(self.expose())
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(<redacted>)")
    }
}

/// SHA-256 of the token text as presented by the client; the only form of a token that is
/// stored or looked up. A plain hash suffices (no salt, no Argon2) because the token has 256
/// bits of entropy, so there is no dictionary to attack.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// When a session stops being valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Without activity for this long the session ends: the seed's screen lock (III-3 risk 2, docs/seed.md).
    pub idle_timeout: TimeDelta,
    /// Even an active session ends this long after sign-in: one working day.
    pub absolute_lifetime: TimeDelta,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy { idle_timeout: TimeDelta::minutes(15), absolute_lifetime: TimeDelta::hours(8) }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SessionExpired {
    #[error("the session was locked after inactivity at {at}; please sign in again")]
    Idle { at: DateTime<Utc> },
    #[error("the session reached its maximum lifetime at {at}; please sign in again")]
    Absolute { at: DateTime<Utc> },
}

impl SessionPolicy {
    /// Whether a session created at `created_at` and last used at `last_seen_at` is still valid
    /// at `now`. A session expires at the exact instant a limit is reached. When both limits have
    /// passed, the absolute one is reported: it is the one no activity could have prevented.
    pub fn check(
        &self,
        created_at: DateTime<Utc>,
        last_seen_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), SessionExpired> {
        let absolute_end = created_at + self.absolute_lifetime;
        if now >= absolute_end {
            return Err(SessionExpired::Absolute { at: absolute_end });
        }
        let idle_end = last_seen_at + self.idle_timeout;
        if now >= idle_end {
            return Err(SessionExpired::Idle { at: idle_end });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn nine_am() -> DateTime<Utc> {
        // 09:00 JST.
        Utc.with_ymd_and_hms(2025, 4, 1, 0, 0, 0).unwrap()
    }

    #[test]
    fn tokens_have_the_prefix_and_43_url_safe_characters_and_differ() {
        let token = SessionToken::generate();
        let text = token.expose();
        let body = text.strip_prefix("kks_").expect("prefix");
        assert_eq!(body.len(), 43);
        assert!(body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{text}");
        assert_eq!(URL_SAFE_NO_PAD.decode(body).unwrap().len(), 32);
        assert_ne!(SessionToken::generate().expose(), text);
    }

    #[test]
    fn the_stored_hash_identifies_the_presented_token_only() {
        let token = SessionToken::generate();
        let stored = token.hash();
        assert_eq!(token_hash(token.expose()), stored);
        assert_ne!(token_hash(SessionToken::generate().expose()), stored);
        // Known SHA-256 value, so the hash is the standard one other tools can reproduce.
        assert_eq!(
            token_hash("abc"),
            [
                0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0,
                0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad
            ]
        );
    }

    #[test]
    fn debug_never_shows_the_token() {
        let token = SessionToken::generate();
        let shown = format!("{token:?}");
        assert!(!shown.contains(&token.expose()[4..]), "{shown}");
        assert_eq!(shown, "SessionToken(<redacted>)");
    }

    #[test]
    fn a_session_used_a_minute_ago_is_valid() {
        let policy = SessionPolicy::default();
        let now = nine_am() + TimeDelta::hours(3);
        assert_eq!(policy.check(nine_am(), now - TimeDelta::minutes(1), now), Ok(()));
    }

    #[test]
    fn a_session_idle_for_16_minutes_is_expired() {
        let policy = SessionPolicy::default();
        let last_seen = nine_am() + TimeDelta::hours(1);
        let now = last_seen + TimeDelta::minutes(16);
        let lock = last_seen + TimeDelta::minutes(15);
        assert_eq!(policy.check(nine_am(), last_seen, now), Err(SessionExpired::Idle { at: lock }));
        // The screen locks at exactly 15 minutes, not a second later.
        assert_eq!(policy.check(nine_am(), last_seen, lock), Err(SessionExpired::Idle { at: lock }));
        assert_eq!(policy.check(nine_am(), last_seen, lock - TimeDelta::seconds(1)), Ok(()));
    }

    #[test]
    fn an_active_session_still_ends_after_eight_hours() {
        let policy = SessionPolicy::default();
        let end = nine_am() + TimeDelta::hours(8);
        let now = end + TimeDelta::seconds(1);
        let last_seen = now - TimeDelta::seconds(30);
        assert_eq!(policy.check(nine_am(), last_seen, now), Err(SessionExpired::Absolute { at: end }));
        assert_eq!(policy.check(nine_am(), end - TimeDelta::seconds(30), end - TimeDelta::seconds(1)), Ok(()));
    }

    #[test]
    fn expiry_messages_say_which_limit_was_hit() {
        let policy = SessionPolicy::default();
        let idle = policy.check(nine_am(), nine_am(), nine_am() + TimeDelta::minutes(20)).unwrap_err();
        assert!(idle.to_string().contains("inactivity"), "{idle}");
        let absolute = policy.check(nine_am(), nine_am(), nine_am() + TimeDelta::hours(9)).unwrap_err();
        assert!(absolute.to_string().contains("maximum lifetime"), "{absolute}");
    }
}
