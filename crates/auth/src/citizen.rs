//! Citizen sign-in by challenge–response: the server issues a random challenge, the citizen's
//! card signs it, and the server checks the signature with the card's public key.
//!
//! Ed25519 stands in for the My Number card's signing certificate (公的個人認証); certificate
//! chains and revocation are out of scope here. The caller keeps each issued challenge until it
//! is answered and then deletes it, so a challenge is answered at most once.

use chrono::{DateTime, TimeDelta, Utc};
use ed25519_dalek::{Signature, VerifyingKey};
use rand::rngs::OsRng;
use rand::RngCore;

/// Long enough to hold a card to a reader and type a PIN; short enough that a captured
/// challenge is soon worthless.
pub const CHALLENGE_LIFETIME: TimeDelta = TimeDelta::minutes(5);

/// Prepended to the nonce before signing, so a signature made here can never be passed off as
/// a signature over some other protocol's message that happens to share the bytes.
const SIGNING_CONTEXT: &[u8] = b"kokuho citizen sign-in challenge v1\0";

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CitizenAuthError {
    #[error("the sign-in challenge has expired; please start again")]
    ChallengeExpired,
    #[error("the card's public key is not a valid Ed25519 key")]
    MalformedKey,
    #[error("the signature does not match the challenge and the card's key")]
    BadSignature,
}

/// A single-use random challenge. Not secret: it is sent to the citizen in the clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    nonce: [u8; 32],
    issued_at: DateTime<Utc>,
}

impl Challenge {
    pub fn new(now: DateTime<Utc>) -> Challenge {
        let mut nonce = [0u8; 32];
        OsRng.fill_bytes(&mut nonce);
        Challenge { nonce, issued_at: now }
    }

    /// Rebuilds a challenge the caller stored between issuing it and receiving the answer.
    pub fn from_parts(nonce: [u8; 32], issued_at: DateTime<Utc>) -> Challenge {
        Challenge { nonce, issued_at }
    }

    pub fn nonce(&self) -> &[u8; 32] {
        &self.nonce
    }
    pub fn issued_at(&self) -> DateTime<Utc> {
        self.issued_at
    }
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.issued_at + CHALLENGE_LIFETIME
    }

    /// The exact bytes the card signs: a fixed context string followed by the nonce.
    pub fn signing_message(&self) -> Vec<u8> {
        [SIGNING_CONTEXT, &self.nonce].concat()
    }
}

/// Checks that `signature` is the card's signature over `challenge`, and that the challenge is
/// still fresh at `now`. Uses strict verification, which also rejects small-order ("weak") keys
/// and non-canonical signatures, so one card cannot produce two valid answers.
pub fn verify_signature(
    public_key_bytes: &[u8; 32],
    challenge: &Challenge,
    signature: &[u8; 64],
    now: DateTime<Utc>,
) -> Result<(), CitizenAuthError> {
    if now >= challenge.expires_at() {
        return Err(CitizenAuthError::ChallengeExpired);
    }
    let key = VerifyingKey::from_bytes(public_key_bytes).map_err(|_| CitizenAuthError::MalformedKey)?;
    if key.is_weak() {
        return Err(CitizenAuthError::MalformedKey);
    }
    key.verify_strict(&challenge.signing_message(), &Signature::from_bytes(signature))
        .map_err(|_| CitizenAuthError::BadSignature)
}

/// Checks, when a card's key is registered, that it could ever verify a signature: a valid
/// curve point of full order (the same test [`verify_signature`] makes on every sign-in).
pub fn check_public_key(public_key_bytes: &[u8; 32]) -> Result<(), CitizenAuthError> {
    match VerifyingKey::from_bytes(public_key_bytes) {
        Ok(key) if !key.is_weak() => Ok(()),
        _ => Err(CitizenAuthError::MalformedKey),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use ed25519_dalek::{Signer, SigningKey};

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, 2, 1, 30, 0).unwrap()
    }

    fn card(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn answer(card: &SigningKey, challenge: &Challenge) -> [u8; 64] {
        card.sign(&challenge.signing_message()).to_bytes()
    }

    #[test]
    fn the_cards_signature_over_a_fresh_challenge_is_accepted() {
        let card = card(1);
        let challenge = Challenge::new(now());
        let signature = answer(&card, &challenge);
        let later = now() + TimeDelta::minutes(4);
        assert_eq!(verify_signature(card.verifying_key().as_bytes(), &challenge, &signature, later), Ok(()));
    }

    #[test]
    fn challenges_are_random_and_last_five_minutes() {
        let challenge = Challenge::new(now());
        assert_ne!(challenge.nonce(), Challenge::new(now()).nonce());
        assert_eq!(challenge.expires_at(), now() + TimeDelta::minutes(5));
        assert_eq!(Challenge::from_parts(*challenge.nonce(), challenge.issued_at()), challenge);
    }

    #[test]
    fn an_answer_after_five_minutes_is_refused_as_expired() {
        let card = card(1);
        let challenge = Challenge::new(now());
        let signature = answer(&card, &challenge);
        let key = card.verifying_key().to_bytes();
        let expiry = now() + TimeDelta::minutes(5);
        assert_eq!(verify_signature(&key, &challenge, &signature, expiry), Err(CitizenAuthError::ChallengeExpired));
        assert_eq!(verify_signature(&key, &challenge, &signature, expiry - TimeDelta::seconds(1)), Ok(()));
    }

    #[test]
    fn another_cards_signature_or_another_challenge_is_refused() {
        let challenge = Challenge::new(now());
        let key = card(1).verifying_key().to_bytes();
        let by_other_card = answer(&card(2), &challenge);
        assert_eq!(verify_signature(&key, &challenge, &by_other_card, now()), Err(CitizenAuthError::BadSignature));

        let for_other_challenge = answer(&card(1), &Challenge::new(now()));
        assert_eq!(
            verify_signature(&key, &challenge, &for_other_challenge, now()),
            Err(CitizenAuthError::BadSignature)
        );

        // Signing the bare nonce (without the context) does not answer the challenge.
        let bare = card(1).sign(challenge.nonce()).to_bytes();
        assert_eq!(verify_signature(&key, &challenge, &bare, now()), Err(CitizenAuthError::BadSignature));

        let mut tampered = answer(&card(1), &challenge);
        tampered[10] ^= 1;
        assert_eq!(verify_signature(&key, &challenge, &tampered, now()), Err(CitizenAuthError::BadSignature));
    }

    #[test]
    fn a_cards_key_is_accepted_for_registration_and_weak_keys_are_not() {
        assert_eq!(check_public_key(card(1).verifying_key().as_bytes()), Ok(()));
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(check_public_key(&identity), Err(CitizenAuthError::MalformedKey));
    }

    #[test]
    fn keys_that_are_not_curve_points_or_are_weak_are_malformed() {
        let challenge = Challenge::new(now());
        let signature = answer(&card(1), &challenge);
        // Some 32-byte strings decode to no point on the curve; find one deterministically.
        let not_a_point = (0..=u8::MAX)
            .map(|b| [b; 32])
            .find(|bytes| VerifyingKey::from_bytes(bytes).is_err())
            .expect("some repeated-byte string is not a curve point");
        assert_eq!(verify_signature(&not_a_point, &challenge, &signature, now()), Err(CitizenAuthError::MalformedKey));
        // The identity point is a valid encoding but of small order: anyone could "sign" for it.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(verify_signature(&identity, &challenge, &signature, now()), Err(CitizenAuthError::MalformedKey));
    }
}
