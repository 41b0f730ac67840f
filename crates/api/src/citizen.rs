//! Citizens on the ledger's database: their card keys, single-use sign-in challenges and short
//! sessions, and the [`Citizen`] extractor every citizen endpoint takes.
//!
//! The cryptography is `kokuho_auth::citizen`'s (Ed25519 standing in for the My Number card's
//! signing certificate); this module stores its state and records each sign-in and each refused
//! one in the ledger (stream `citizen-<person_id>`; refusals for a person with no key go to
//! `citizen-unknown`). Citizen sessions are stored only as the SHA-256 of their token, are valid
//! in one municipality, and last [`CITIZEN_SESSION_LIFETIME`].

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use chrono::{DateTime, TimeDelta, Utc};
use kokuho_auth::{verify_signature, Challenge, CitizenAuthError, SessionToken};
use kokuho_domain::{PersonId, TenantCode};
use kokuho_events::{CitizenKeyRegistered, CitizenSignInFailed, CitizenSignInFailure, CitizenSignedIn, LedgerEvent};
use kokuho_staff::Principal;
use kokuho_store::{on_db, Actor, CommandMeta};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::tenant_and_bearer;
use crate::{ApiError, AppState};

/// A citizen looks at their record and leaves: a quarter of an hour, then sign in again.
pub const CITIZEN_SESSION_LIFETIME: TimeDelta = TimeDelta::minutes(15);
/// Unanswered challenges one municipality keeps at most: issuing needs no sign-in, so this
/// bounds what a flood of requests can make the database hold.
const OPEN_CHALLENGES_MAX: i64 = 10_000;

fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

fn internal(error: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(error.to_string())
}

fn unauthorized(code: &'static str, detail: impl Into<String>) -> ApiError {
    ApiError::BadRequest { status: StatusCode::UNAUTHORIZED, code, detail: detail.into() }
}

fn meta(actor: Actor) -> CommandMeta {
    CommandMeta {
        actor,
        purpose: "authentication".into(),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        idempotency_key: None,
    }
}

/// Names a key in the record without linking it to other systems.
pub fn key_fingerprint(public_key: &[u8; 32]) -> String {
    Sha256::digest(public_key).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Registers (or replaces) a person's card key. The registration is recorded before the key can
/// be used.
pub async fn register_key(
    state: &AppState,
    staff: &Principal,
    person_id: PersonId,
    public_key: [u8; 32],
) -> Result<String, ApiError> {
    let tenant = staff.tenant;
    let fingerprint = key_fingerprint(&public_key);
    let event = LedgerEvent::CitizenKeyRegistered(CitizenKeyRegistered {
        person_id: person_id.as_uuid(),
        key_fingerprint: fingerprint.clone(),
        registered_by: staff.user_id,
    });
    let meta = CommandMeta { purpose: "eligibility".into(), ..meta(staff.actor()) };
    state.ledger.record(tenant, format!("citizen-{person_id}"), &[event], meta).await?;
    on_db!(state.store.db(), pool => {
        sqlx::query(
            "INSERT INTO citizen_keys (tenant, person_id, public_key, registered_at, registered_by) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (tenant, person_id) DO UPDATE SET public_key = excluded.public_key, \
             registered_at = excluded.registered_at, registered_by = excluded.registered_by",
        )
        .bind(tenant.to_string())
        .bind(person_id.as_uuid().as_bytes().as_slice())
        .bind(public_key.as_slice())
        .bind(micros(state.ledger.now()))
        .bind(staff.user_id.as_bytes().as_slice())
        .execute(pool)
        .await
        .map_err(internal)?;
    });
    Ok(fingerprint)
}

/// Issues a challenge for someone about to sign in (nobody is signed in yet).
pub async fn issue_challenge(state: &AppState, tenant: TenantCode) -> Result<(Uuid, Challenge), ApiError> {
    let now = state.ledger.now();
    let challenge = Challenge::new(now);
    let challenge_id = Uuid::now_v7();
    let stale_before = micros(now - kokuho_auth::citizen::CHALLENGE_LIFETIME);
    let open: i64 = on_db!(state.store.db(), pool => {
        // Expired challenges can never be answered: drop them as new ones are asked for.
        sqlx::query("DELETE FROM citizen_challenges WHERE tenant = $1 AND issued_at < $2")
            .bind(tenant.to_string())
            .bind(stale_before)
            .execute(pool)
            .await
            .map_err(internal)?;
        sqlx::query_scalar("SELECT COUNT(*) FROM citizen_challenges WHERE tenant = $1")
            .bind(tenant.to_string())
            .fetch_one(pool)
            .await
            .map_err(internal)?
    });
    if open >= OPEN_CHALLENGES_MAX {
        return Err(ApiError::Throttled {
            code: "too_many_challenges",
            detail: "too many sign-ins are under way; try again in a few minutes".into(),
            retry_after_seconds: 60,
        });
    }
    on_db!(state.store.db(), pool => {
        sqlx::query("INSERT INTO citizen_challenges (tenant, challenge_id, nonce, issued_at) VALUES ($1, $2, $3, $4)")
            .bind(tenant.to_string())
            .bind(challenge_id.as_bytes().as_slice())
            .bind(challenge.nonce().as_slice())
            .bind(micros(challenge.issued_at()))
            .execute(pool)
            .await
            .map_err(internal)?;
    });
    Ok((challenge_id, challenge))
}

/// A citizen session, handed out once.
pub struct CitizenSignedInSession {
    pub token: SessionToken,
    pub expires_at: DateTime<Utc>,
}

/// Answers a challenge: the challenge is used up whatever the outcome, and every outcome about
/// a person is recorded.
pub async fn sign_in(
    state: &AppState,
    tenant: TenantCode,
    challenge_id: Uuid,
    person_id: PersonId,
    signature: [u8; 64],
) -> Result<CitizenSignedInSession, ApiError> {
    let now = state.ledger.now();
    // Taken out in one statement: of two answers racing with one challenge, one gets it.
    let taken: Option<(Vec<u8>, i64)> = on_db!(state.store.db(), pool => {
        sqlx::query_as("DELETE FROM citizen_challenges WHERE tenant = $1 AND challenge_id = $2 RETURNING nonce, issued_at")
            .bind(tenant.to_string())
            .bind(challenge_id.as_bytes().as_slice())
            .fetch_optional(pool)
            .await
            .map_err(internal)?
    });
    let Some((nonce, issued_at)) = taken else {
        return Err(unauthorized(
            "challenge_not_found",
            "no such challenge, or it was already answered; ask for a new one",
        ));
    };
    let nonce: [u8; 32] =
        nonce.as_slice().try_into().map_err(|_| internal("a stored challenge nonce is not 32 bytes"))?;
    let issued_at = DateTime::from_timestamp_micros(issued_at)
        .ok_or_else(|| internal("a stored challenge time is out of range"))?;
    let challenge = Challenge::from_parts(nonce, issued_at);

    let key: Option<Vec<u8>> = on_db!(state.store.db(), pool => {
        sqlx::query_scalar("SELECT public_key FROM citizen_keys WHERE tenant = $1 AND person_id = $2")
            .bind(tenant.to_string())
            .bind(person_id.as_uuid().as_bytes().as_slice())
            .fetch_optional(pool)
            .await
            .map_err(internal)?
    });
    let refused = |failure: CitizenSignInFailure, stream: String| async move {
        let event = LedgerEvent::CitizenSignInFailed(CitizenSignInFailed { person_id: person_id.as_uuid(), failure });
        // Nobody has proven who they are: the actor is the sign-in itself.
        state.ledger.record(tenant, stream, &[event], meta(Actor::System("citizen-sign-in".into()))).await?;
        Ok::<(), ApiError>(())
    };
    // A wrong signature and a person without a key get the same answer, so a caller cannot
    // learn whose keys are registered.
    let bad_signature = || {
        unauthorized(
            "signature_invalid",
            "the signature does not answer the challenge with the key registered for this person",
        )
    };
    let Some(key) = key else {
        refused(CitizenSignInFailure::NoKey, "citizen-unknown".into()).await?;
        return Err(bad_signature());
    };
    let key: [u8; 32] = key.as_slice().try_into().map_err(|_| internal("a stored citizen key is not 32 bytes"))?;
    let stream = format!("citizen-{person_id}");
    match verify_signature(&key, &challenge, &signature, now) {
        Ok(()) => {}
        Err(CitizenAuthError::ChallengeExpired) => {
            refused(CitizenSignInFailure::ChallengeExpired, stream).await?;
            return Err(unauthorized("challenge_expired", CitizenAuthError::ChallengeExpired.to_string()));
        }
        Err(CitizenAuthError::BadSignature) => {
            refused(CitizenSignInFailure::BadSignature, stream).await?;
            return Err(bad_signature());
        }
        Err(CitizenAuthError::MalformedKey) => {
            refused(CitizenSignInFailure::MalformedKey, stream).await?;
            return Err(bad_signature());
        }
    }
    let token = SessionToken::generate();
    let session_id = Uuid::now_v7();
    let expires_at = now + CITIZEN_SESSION_LIFETIME;
    on_db!(state.store.db(), pool => {
        sqlx::query(
            "INSERT INTO citizen_sessions (tenant, token_hash, session_id, person_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(tenant.to_string())
        .bind(token.hash().as_slice())
        .bind(session_id.as_bytes().as_slice())
        .bind(person_id.as_uuid().as_bytes().as_slice())
        .bind(micros(now))
        .bind(micros(expires_at))
        .execute(pool)
        .await
        .map_err(internal)?;
    });
    let event = LedgerEvent::CitizenSignedIn(CitizenSignedIn {
        person_id: person_id.as_uuid(),
        session_id,
        key_fingerprint: key_fingerprint(&key),
    });
    state.ledger.record(tenant, stream, &[event], meta(Actor::Citizen(person_id.as_uuid()))).await?;
    Ok(CitizenSignedInSession { token, expires_at })
}

/// A request's signed-in citizen (from `Authorization: Bearer <token>`), for the municipality
/// named in its path. A staff session is not a citizen session, and a session of another
/// municipality is not found here.
pub struct Citizen {
    pub tenant: TenantCode,
    pub person_id: PersonId,
}

impl FromRequestParts<AppState> for Citizen {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let (tenant, token) = tenant_and_bearer(parts, state, "POST /v1/{tenant}/citizen/sessions").await?;
        let hash = kokuho_auth::token_hash(&token);
        let row: Option<(Vec<u8>, i64)> = on_db!(state.store.db(), pool => {
            sqlx::query_as("SELECT person_id, expires_at FROM citizen_sessions WHERE tenant = $1 AND token_hash = $2")
                .bind(tenant.to_string())
                .bind(hash.as_slice())
                .fetch_optional(pool)
                .await
                .map_err(internal)?
        });
        let Some((person_id, expires_at)) = row else {
            return Err(unauthorized("not_signed_in", "sign in first: no citizen session for this municipality"));
        };
        if micros(state.ledger.now()) >= expires_at {
            return Err(unauthorized("session_expired", "the session has ended; please sign in again with your card"));
        }
        let person_id = Uuid::from_slice(&person_id).map_err(|_| internal("a stored person id is not 16 bytes"))?;
        Ok(Citizen { tenant, person_id: PersonId::from_uuid(person_id) })
    }
}

/// Bytes sent as hex (exactly `2 × N` digits) or base64 (standard or URL-safe, padded or not).
pub fn decode_bytes<const N: usize>(text: &str) -> Option<[u8; N]> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    use base64::Engine as _;
    let text = text.trim();
    let bytes = if text.len() == 2 * N && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(text).ok()?
    } else {
        [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD].iter().find_map(|engine| engine.decode(text).ok())?
    };
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_arrive_as_hex_or_any_base64() {
        let bytes: [u8; 4] = [0xfb, 0xff, 0x00, 0x10];
        assert_eq!(decode_bytes::<4>("fbff0010"), Some(bytes));
        assert_eq!(decode_bytes::<4>(" FBFF0010 "), Some(bytes));
        for text in ["+/8AEA==", "+/8AEA", "-_8AEA==", "-_8AEA"] {
            assert_eq!(decode_bytes::<4>(text), Some(bytes), "{text}");
        }
        assert_eq!(decode_bytes::<4>("fbff00"), None, "too short");
        assert_eq!(decode_bytes::<4>("not base64!"), None);
    }
}
