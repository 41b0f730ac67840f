//! The TOTP second factor (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps): enrolment and
//! verification with replay prevention.
//!
//! It is the software stand-in for the seed's biometric second factor (docs/domain.md §3 rule 1).
//! The caller stores the secret (encrypted) and, per user, the last accepted time step; a code is
//! accepted at most once because [`TotpSecret::verify`] refuses any step at or before that one.
//! Wrong codes count as sign-in failures for [`crate::throttle`]'s back-off, whose per-login
//! ceiling is what stops a caller from guessing through the million possible codes.

use std::fmt;

use chrono::{DateTime, Utc};
use rand::rngs::OsRng;
use rand::RngCore;
use totp_rs::{Algorithm, TOTP};
use zeroize::Zeroizing;

/// 160 bits, the secret length RFC 4226 §4 recommends.
pub const SECRET_BYTES: usize = 20;
pub const CODE_DIGITS: usize = 6;
pub const STEP_SECONDS: u64 = 30;
/// Accept the previous and next step too: phones' clocks drift and people type slowly.
const SKEW_STEPS: u64 = 1;
const ISSUER: &str = "kokuho";

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    #[error("a one-time code is exactly 6 digits")]
    Malformed,
    #[error("the one-time code is wrong or has expired")]
    WrongCode,
    #[error("this one-time code has already been used; wait for the next one")]
    CodeAlreadyUsed,
}

/// A user's shared TOTP secret. `Debug` is redacted and the bytes are wiped on drop.
#[derive(Clone)]
pub struct TotpSecret(Zeroizing<[u8; SECRET_BYTES]>);

/// What enrolment hands out once: the secret to store, and the same secret in the two forms an
/// authenticator app accepts (typed base32, or the `otpauth://` URI behind a QR code).
pub struct TotpEnrollment {
    secret: TotpSecret,
    secret_base32: Zeroizing<String>,
    otpauth_uri: Zeroizing<String>,
}

impl TotpEnrollment {
    /// Draws a fresh secret for `account_name` (the staff user's sign-in name).
    pub fn new(account_name: &str) -> TotpEnrollment {
        let secret = TotpSecret::generate();
        let secret_base32 = secret.to_base32();
        let label = percent_encode(&format!("{ISSUER}:{account_name}"));
        let otpauth_uri = Zeroizing::new(format!(
            "otpauth://totp/{label}?secret={}&issuer={ISSUER}&algorithm=SHA1&digits={CODE_DIGITS}&period={STEP_SECONDS}",
            secret_base32.as_str()
        ));
        TotpEnrollment { secret, secret_base32, otpauth_uri }
    }

    pub fn secret(&self) -> &TotpSecret {
        &self.secret
    }
    /// Base32 (RFC 4648, no padding) for typing into an authenticator app. Show once, never log.
    pub fn secret_base32(&self) -> &str {
        &self.secret_base32
    }
    /// `otpauth://totp/kokuho:<account>?secret=…&issuer=kokuho…` for a QR code. Show once, never log.
    pub fn otpauth_uri(&self) -> &str {
        &self.otpauth_uri
    }
}

impl fmt::Debug for TotpEnrollment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpEnrollment(<redacted>)")
    }
}

impl TotpSecret {
    pub fn generate() -> TotpSecret {
        let mut bytes = Zeroizing::new([0u8; SECRET_BYTES]);
        OsRng.fill_bytes(bytes.as_mut());
        TotpSecret(bytes)
    }

    /// Restores a stored secret.
    pub fn from_bytes(bytes: [u8; SECRET_BYTES]) -> TotpSecret {
        TotpSecret(Zeroizing::new(bytes))
    }

    /// The raw bytes, for the caller to encrypt and store.
    pub fn expose_bytes(&self) -> &[u8; SECRET_BYTES] {
        &self.0
    }

    /// Reads a secret written in base32 (RFC 4648, as [`TotpSecret::to_base32`] writes it and as
    /// authenticator apps take it); `None` if it is not 20 bytes of base32.
    pub fn from_base32(text: &str) -> Option<TotpSecret> {
        let bytes = Zeroizing::new(totp_rs::Secret::Encoded(text.trim().to_owned()).to_bytes().ok()?);
        let bytes: [u8; SECRET_BYTES] = bytes.as_slice().try_into().ok()?;
        Some(TotpSecret::from_bytes(bytes))
    }

    pub fn to_base32(&self) -> Zeroizing<String> {
        Zeroizing::new(self.generator().get_secret_base32())
    }

    /// The code an authenticator app shows at `now`.
    pub fn code_at(&self, now: DateTime<Utc>) -> String {
        self.generator().generate(time_step(now) * STEP_SECONDS)
    }

    /// Checks `code` against the steps around `now` and returns the step it matched, which the
    /// caller must store as the user's new `last_used_step`.
    ///
    /// A code for a step at or before `last_used_step` is refused with
    /// [`TotpError::CodeAlreadyUsed`], so a code seen over a shoulder or replayed from a captured
    /// request cannot sign in a second time, even while it is still within its 90 seconds.
    pub fn verify(&self, code: &str, now: DateTime<Utc>, last_used_step: Option<u64>) -> Result<u64, TotpError> {
        if code.len() != CODE_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TotpError::Malformed);
        }
        let generator = self.generator();
        let current = time_step(now);
        let candidates = current.saturating_sub(SKEW_STEPS)..=current + SKEW_STEPS;
        // Compare against every candidate before deciding, so the time taken does not depend on
        // which step (if any) matched.
        let matched: Vec<u64> = candidates
            .filter(|step| constant_time_eq(generator.generate(step * STEP_SECONDS).as_bytes(), code.as_bytes()))
            .collect();
        let is_fresh = |step: &&u64| !matches!(last_used_step, Some(last) if **step <= last);
        match (matched.iter().find(is_fresh), matched.is_empty()) {
            (Some(step), _) => Ok(*step),
            (None, false) => Err(TotpError::CodeAlreadyUsed),
            (None, true) => Err(TotpError::WrongCode),
        }
    }

    fn generator(&self) -> TOTP {
        TOTP::new(Algorithm::SHA1, CODE_DIGITS, SKEW_STEPS as u8, STEP_SECONDS, self.0.to_vec())
            .expect("6 digits and a 160-bit secret satisfy RFC 6238")
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

fn time_step(now: DateTime<Utc>) -> u64 {
    let seconds = u64::try_from(now.timestamp()).expect("the server clock is after 1970");
    seconds / STEP_SECONDS
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so an account name with
/// spaces, `@`, `?` or Japanese text cannot break the URI.
fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => encoded.push(char::from(byte)),
            // The issuer/account separator stays readable, as Google Authenticator's spec shows it.
            b':' => encoded.push(':'),
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    /// RFC 6238 Appendix B's SHA-1 secret.
    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(*b"12345678901234567890")
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(seconds, 0).unwrap()
    }

    #[test]
    fn codes_match_the_rfc_6238_test_vectors() {
        // Appendix B lists 8-digit codes; a 6-digit code is their last six digits.
        for (seconds, eight_digits) in [(59, "94287082"), (1_111_111_109, "07081804"), (1_234_567_890, "89005924")] {
            assert_eq!(rfc_secret().code_at(at(seconds)), eight_digits[2..], "at {seconds}");
        }
    }

    #[test]
    fn a_current_code_is_accepted_and_returns_its_step() {
        let now = at(1_234_567_890);
        assert_eq!(rfc_secret().verify("005924", now, None), Ok(1_234_567_890 / 30));
    }

    #[test]
    fn codes_one_step_early_or_late_are_accepted_but_not_two() {
        let secret = rfc_secret();
        let now = at(1_234_567_890);
        let step = 1_234_567_890 / 30;
        let code_for = |step: u64| secret.code_at(at(step as i64 * 30));
        assert_eq!(secret.verify(&code_for(step - 1), now, None), Ok(step - 1));
        assert_eq!(secret.verify(&code_for(step + 1), now, None), Ok(step + 1));
        assert_eq!(secret.verify(&code_for(step - 2), now, None), Err(TotpError::WrongCode));
        assert_eq!(secret.verify(&code_for(step + 2), now, None), Err(TotpError::WrongCode));
    }

    #[test]
    fn a_replayed_code_is_refused() {
        let secret = rfc_secret();
        let now = at(1_234_567_890);
        let step = secret.verify("005924", now, None).unwrap();
        // The same code 20 seconds later is still inside the window, but was used.
        assert_eq!(secret.verify("005924", at(1_234_567_910), Some(step)), Err(TotpError::CodeAlreadyUsed));
        // An older code after a newer one was accepted is refused too.
        let previous = secret.code_at(at(1_234_567_860));
        assert_eq!(secret.verify(&previous, now, Some(step)), Err(TotpError::CodeAlreadyUsed));
        // The next step's code is fresh.
        let next = secret.code_at(at(1_234_567_920));
        assert_eq!(secret.verify(&next, at(1_234_567_920), Some(step)), Ok(step + 1));
    }

    #[test]
    fn a_wrong_code_is_refused() {
        let code = rfc_secret().code_at(at(1_234_567_890));
        let wrong = if code == "000000" { "000001" } else { "000000" };
        assert_eq!(rfc_secret().verify(wrong, at(1_234_567_890), None), Err(TotpError::WrongCode));
        let other = TotpSecret::from_bytes([7; SECRET_BYTES]);
        assert_eq!(other.verify(&code, at(1_234_567_890), None), Err(TotpError::WrongCode));
    }

    #[test]
    fn codes_of_the_wrong_shape_are_malformed() {
        let now = at(1_234_567_890);
        for code in ["", "00592", "0059245", "00592a", " 05924", "００５９２４", "005 924"] {
            assert_eq!(rfc_secret().verify(code, now, None), Err(TotpError::Malformed), "{code:?}");
        }
    }

    #[test]
    fn enrolment_gives_a_fresh_secret_and_an_otpauth_uri() {
        let enrollment = TotpEnrollment::new("sato.hanako@city");
        let base32 = enrollment.secret_base32();
        assert_eq!(base32.len(), 32, "20 bytes are 32 base32 characters");
        assert!(base32.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)));
        assert_eq!(
            enrollment.otpauth_uri(),
            format!("otpauth://totp/kokuho:sato.hanako%40city?secret={base32}&issuer=kokuho&algorithm=SHA1&digits=6&period=30")
        );
        assert_ne!(TotpEnrollment::new("x").secret_base32(), base32);

        // What the app computes from the enrolled secret verifies against the stored bytes.
        let stored = TotpSecret::from_bytes(*enrollment.secret().expose_bytes());
        let now = at(1_700_000_000);
        assert!(stored.verify(&enrollment.secret().code_at(now), now, None).is_ok());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let enrollment = TotpEnrollment::new("tanaka");
        let base32 = enrollment.secret_base32().to_owned();
        for shown in [format!("{enrollment:?}"), format!("{:?}", enrollment.secret())] {
            assert!(!shown.contains(&base32), "{shown}");
            assert!(shown.contains("<redacted>"));
        }
    }
}
