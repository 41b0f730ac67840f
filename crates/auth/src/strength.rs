//! The rule for a password a staff member chooses (at enrolment and when changing it): 12 to
//! 1,024 characters, and not easy to guess by zxcvbn's estimate (score 3 of 4: about 10^8
//! guesses or more), with the login, the display name and the municipality counted as guessable.
//!
//! Length alone lets "passwordpassword" through; composition rules only annoy people (NIST SP
//! 800-63B §3.1.1.2 asks instead for a check against known and guessable passwords, which is what
//! zxcvbn's dictionaries and patterns stand in for here).

use zxcvbn::Score;

use crate::password::{MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS};

/// zxcvbn's score a chosen password needs at least.
pub const MIN_SCORE: Score = Score::Three;

/// zxcvbn's matching grows fast with length; a password is judged by its first this many
/// characters (a longer one is long enough by then).
const JUDGED_CHARS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeakPassword {
    #[error("a password needs at least {min_chars} characters")]
    TooShort { min_chars: usize },
    #[error("a password may have at most {max_chars} characters")]
    TooLong { max_chars: usize },
    /// zxcvbn's warning and suggestions, which describe the kind of password ("a common
    /// password", "add another word or two"), never the password itself.
    #[error("this password is too easy to guess{advice}")]
    Guessable { advice: String },
}

/// Checks a password someone chooses. `user_inputs`: what an attacker would try first for this
/// account (login, display name, municipality).
pub fn check_strength(password: &str, user_inputs: &[&str]) -> Result<(), WeakPassword> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(WeakPassword::TooShort { min_chars: MIN_PASSWORD_CHARS });
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(WeakPassword::TooLong { max_chars: MAX_PASSWORD_CHARS });
    }
    let judged: String = password.chars().take(JUDGED_CHARS).collect();
    let estimate = zxcvbn::zxcvbn(&judged, user_inputs);
    if estimate.score() >= MIN_SCORE {
        return Ok(());
    }
    let mut advice: Vec<String> = Vec::new();
    if let Some(feedback) = estimate.feedback() {
        advice.extend(feedback.warning().map(|warning| warning.to_string()));
        advice.extend(feedback.suggestions().iter().map(ToString::to_string));
    }
    let advice = if advice.is_empty() { String::new() } else { format!(": {}", advice.join(" ")) };
    Err(WeakPassword::Guessable { advice })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_unusual_passphrase_is_accepted() {
        assert_eq!(check_strength("correct horse battery staple 熊谷", &[]), Ok(()));
        assert_eq!(check_strength("violet-tram-under-the-old-bridge", &["sato"]), Ok(()));
    }

    #[test]
    fn short_and_overlong_passwords_are_refused_by_length() {
        assert_eq!(check_strength("Xk7#pq", &[]), Err(WeakPassword::TooShort { min_chars: 12 }));
        let long = "a".repeat(MAX_PASSWORD_CHARS + 1);
        assert_eq!(check_strength(&long, &[]), Err(WeakPassword::TooLong { max_chars: MAX_PASSWORD_CHARS }));
    }

    #[test]
    fn guessable_passwords_of_twelve_characters_or_more_are_refused() {
        for weak in ["passwordpassword", "123456789012", "qwertyuiopasdf", "aaaaaaaaaaaaaaaa"] {
            assert!(matches!(check_strength(weak, &[]), Err(WeakPassword::Guessable { .. })), "{weak}");
        }
    }

    #[test]
    fn the_login_and_name_count_as_guessable() {
        let inputs = ["sato.kenji", "佐藤 健二", "112020"];
        assert!(check_strength("sato.kenji112020", &inputs).is_err());
    }

    #[test]
    fn the_advice_never_repeats_the_password() {
        let error = check_strength("passwordpassword", &[]).unwrap_err().to_string();
        assert!(error.starts_with("this password is too easy to guess"), "{error}");
        assert!(!error.contains("passwordpassword"), "{error}");
    }
}
