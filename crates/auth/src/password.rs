//! Staff passwords: the length rule, Argon2id hashing into a PHC string, and verification.
//!
//! Only the PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) is stored. It carries its own
//! parameters, so verification keeps working after the parameters change, and
//! [`PasswordHasher::needs_rehash`] tells the caller when to replace an old hash at the next
//! successful sign-in.

use std::fmt;

use argon2::password_hash::{self, rand_core::OsRng, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier as _, Version};

/// Long passphrases beat composition rules (NIST SP 800-63B §3.1.1.2), so length is the only rule.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// A bound on the work one sign-in attempt may ask for; far above any passphrase a person types.
pub const MAX_PASSWORD_CHARS: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("a password needs at least {min_chars} characters")]
    TooShort { min_chars: usize },
    #[error("a password may have at most {max_chars} characters")]
    TooLong { max_chars: usize },
    #[error("the password does not match")]
    Mismatch,
    #[error("the stored password hash is not an Argon2 PHC string this hasher can read")]
    MalformedHash,
    /// Argon2 itself failed (e.g. could not allocate its memory); the message names no input.
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

/// Hashes and verifies passwords with Argon2id.
#[derive(Clone)]
pub struct PasswordHasher {
    argon2: Argon2<'static>,
}

impl PasswordHasher {
    /// Argon2id with the argon2 crate's defaults (m = 19 MiB, t = 2, p = 1: the OWASP
    /// recommendation), a few tens of milliseconds per hash in a release build.
    pub fn new() -> PasswordHasher {
        PasswordHasher { argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default()) }
    }

    /// **Test only.** The cheapest parameters Argon2 allows (8 KiB, one pass), so test suites
    /// that create many users stay fast. A hash made with these offers no real protection;
    /// [`PasswordHasher::needs_rehash`] on a production hasher flags it.
    pub fn for_tests() -> PasswordHasher {
        let params = Params::new(Params::MIN_M_COST, Params::MIN_T_COST, Params::MIN_P_COST, None)
            .expect("argon2's own minimum parameters are valid");
        PasswordHasher { argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params) }
    }

    /// Checks the length rule and returns the PHC string to store.
    pub fn hash(&self, password: &str) -> Result<String, PasswordError> {
        let chars = password.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            return Err(PasswordError::TooShort { min_chars: MIN_PASSWORD_CHARS });
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(PasswordError::TooLong { max_chars: MAX_PASSWORD_CHARS });
        }
        let salt = SaltString::generate(&mut OsRng);
        let hash = self.argon2.hash_password(password.as_bytes(), &salt).map_err(hashing_error)?;
        Ok(hash.to_string())
    }

    /// Verifies `password` against a stored PHC string, using the parameters recorded in it.
    /// The comparison of the derived hash is constant-time (argon2's own `verify_password`).
    pub fn verify(&self, password: &str, stored_hash: &str) -> Result<(), PasswordError> {
        let parsed = PasswordHash::new(stored_hash).map_err(|_| PasswordError::MalformedHash)?;
        // No stored hash was ever made from an overlong password, so it cannot match; refusing
        // early keeps the work per attempt bounded.
        if password.chars().count() > MAX_PASSWORD_CHARS {
            return Err(PasswordError::Mismatch);
        }
        match self.argon2.verify_password(password.as_bytes(), &parsed) {
            Ok(()) => Ok(()),
            Err(password_hash::Error::Password) => Err(PasswordError::Mismatch),
            Err(
                password_hash::Error::Algorithm
                | password_hash::Error::Version
                | password_hash::Error::ParamNameInvalid,
            ) => Err(PasswordError::MalformedHash),
            Err(other) => Err(hashing_error(other)),
        }
    }

    /// True when `stored_hash` was made with other (e.g. older or test) parameters than this
    /// hasher's: the caller should re-hash the password it has just verified.
    pub fn needs_rehash(&self, stored_hash: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(stored_hash) else {
            return true;
        };
        let ours = self.argon2.params();
        let same_params = Params::try_from(&parsed).is_ok_and(|theirs| {
            (theirs.m_cost(), theirs.t_cost(), theirs.p_cost()) == (ours.m_cost(), ours.t_cost(), ours.p_cost())
        });
        parsed.algorithm != Algorithm::Argon2id.ident() || parsed.version != Some(Version::V0x13.into()) || !same_params
    }
}

impl Default for PasswordHasher {
    fn default() -> Self {
        PasswordHasher::new()
    }
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let params = self.argon2.params();
        f.debug_struct("PasswordHasher")
            .field("m_cost_kib", &params.m_cost())
            .field("t_cost", &params.t_cost())
            .field("p_cost", &params.p_cost())
            .finish()
    }
}

fn hashing_error(error: password_hash::Error) -> PasswordError {
    // password_hash errors describe parameters and lengths, never the password itself.
    PasswordError::Hashing(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWORD: &str = "correct horse battery";

    #[test]
    fn the_right_password_verifies_and_a_wrong_one_does_not() {
        let hasher = PasswordHasher::for_tests();
        let stored = hasher.hash(PASSWORD).unwrap();
        assert!(stored.starts_with("$argon2id$v=19$"), "{stored}");
        assert!(!stored.contains(PASSWORD));
        assert_eq!(hasher.verify(PASSWORD, &stored), Ok(()));
        assert_eq!(hasher.verify("correct horse battery ", &stored), Err(PasswordError::Mismatch));
        assert_eq!(hasher.verify("Correct horse battery", &stored), Err(PasswordError::Mismatch));
    }

    #[test]
    fn the_same_password_hashes_differently_each_time() {
        // A fresh salt per hash: two staff with the same password are not visibly alike.
        let hasher = PasswordHasher::for_tests();
        assert_ne!(hasher.hash(PASSWORD).unwrap(), hasher.hash(PASSWORD).unwrap());
    }

    #[test]
    fn passwords_under_twelve_characters_are_refused() {
        let hasher = PasswordHasher::for_tests();
        assert_eq!(hasher.hash("elevenchars"), Err(PasswordError::TooShort { min_chars: 12 }));
        assert!(hasher.hash("twelve chars").is_ok());
        // Characters, not bytes: six kanji are 18 bytes but still too short.
        assert_eq!(hasher.hash("国民健康保険"), Err(PasswordError::TooShort { min_chars: 12 }));
        assert!(hasher.hash("国民健康保険の台帳を守る合言葉").is_ok());
        let message = hasher.hash("secret-pw").unwrap_err().to_string();
        assert_eq!(message, "a password needs at least 12 characters");
    }

    #[test]
    fn overlong_passwords_are_refused_and_never_match() {
        let hasher = PasswordHasher::for_tests();
        let long = "x".repeat(MAX_PASSWORD_CHARS + 1);
        assert_eq!(hasher.hash(&long), Err(PasswordError::TooLong { max_chars: MAX_PASSWORD_CHARS }));
        let stored = hasher.hash(PASSWORD).unwrap();
        assert_eq!(hasher.verify(&long, &stored), Err(PasswordError::Mismatch));
    }

    #[test]
    fn a_corrupt_stored_hash_is_reported_as_such() {
        let hasher = PasswordHasher::for_tests();
        assert_eq!(hasher.verify(PASSWORD, "not a phc string"), Err(PasswordError::MalformedHash));
        assert_eq!(hasher.verify(PASSWORD, ""), Err(PasswordError::MalformedHash));
    }

    #[test]
    fn production_parameters_are_argon2id_defaults_and_flag_test_hashes() {
        let production = PasswordHasher::new();
        let stored = production.hash(PASSWORD).unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        assert_eq!(production.verify(PASSWORD, &stored), Ok(()));
        assert!(!production.needs_rehash(&stored));

        // A hash from cheap test parameters still verifies (parameters come from the PHC string)
        // but is flagged for replacement.
        let weak = PasswordHasher::for_tests().hash(PASSWORD).unwrap();
        assert_eq!(production.verify(PASSWORD, &weak), Ok(()));
        assert!(production.needs_rehash(&weak));
        assert!(production.needs_rehash("garbage"));
    }

    #[test]
    fn debug_shows_parameters_only() {
        let shown = format!("{:?}", PasswordHasher::for_tests());
        assert_eq!(shown, "PasswordHasher { m_cost_kib: 8, t_cost: 1, p_cost: 1 }");
    }
}
