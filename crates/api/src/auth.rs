//! The signed-in staff member behind a request, and the checks every handler makes: deny by
//! default, roles per endpoint, purposes per read, tenants sealed. Every refusal of a signed-in
//! member is recorded in the ledger before the answer goes out.

use axum::extract::{FromRequestParts, MatchedPath, RawPathParams};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use kokuho_auth::{role_serves, Purpose, Role};
use kokuho_domain::TenantCode;
use kokuho_events::{LedgerEvent, PersonalDataAccessed};
use kokuho_staff::{AuthError, Principal};
use kokuho_store::CommandMeta;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{ApiError, AppState};

/// A request's signed-in staff member (from `Authorization: Bearer <token>`), for the tenant
/// named in its path. A session of another municipality is not found there.
pub struct Staff {
    pub principal: Principal,
    pub token: String,
    route: String,
    method: String,
}

/// The municipality a request's path names.
pub(crate) fn tenant_of(params: &RawPathParams) -> Result<TenantCode, ApiError> {
    let text = params.iter().find(|(name, _)| *name == "tenant").map(|(_, value)| value).unwrap_or_default();
    TenantCode::parse(text).map_err(|error| ApiError::BadRequest {
        status: StatusCode::NOT_FOUND,
        code: "unknown_tenant",
        detail: error.to_string(),
    })
}

/// The municipality in a request's path and the bearer token in its `Authorization` header:
/// what the staff and the citizen extractors both start from. `sign_in_at` names the endpoint
/// that issues the token, for the message when there is none.
pub(crate) async fn tenant_and_bearer(
    parts: &mut Parts,
    state: &AppState,
    sign_in_at: &str,
) -> Result<(TenantCode, String), ApiError> {
    let params = RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|_| ApiError::NotFound("no such endpoint; see /openapi.json".into()))?;
    let tenant = tenant_of(&params)?;
    let token = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or_else(|| {
            unauthorized(
                "not_signed_in",
                &format!("send the session token as `Authorization: Bearer <token>`; sign in at {sign_in_at}"),
            )
        })?
        .to_owned();
    Ok((tenant, token))
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let (tenant, token) = tenant_and_bearer(parts, state, "POST /v1/{tenant}/sessions").await?;
        let principal = state.staff.authenticate(tenant, &token).await.map_err(|error| match error {
            AuthError::NotSignedIn => unauthorized("not_signed_in", &error.to_string()),
            AuthError::Expired(expired) => unauthorized("session_expired", &expired.to_string()),
            AuthError::Staff(other) => ApiError::Internal(other.to_string()),
        })?;
        let route = parts.extensions.get::<MatchedPath>().map(|path| path.as_str().to_owned()).unwrap_or_default();
        Ok(Staff { principal, token, route, method: parts.method.to_string() })
    }
}

pub(crate) fn unauthorized(code: &'static str, detail: &str) -> ApiError {
    ApiError::BadRequest { status: StatusCode::UNAUTHORIZED, code, detail: detail.to_owned() }
}

impl Staff {
    async fn refuse(&self, state: &AppState, code: &'static str, detail: String, purpose: Option<Purpose>) -> ApiError {
        // The refusal is part of the record; if it cannot be written, nothing else happens either.
        if let Err(error) = state
            .staff
            .record_refusal(&self.principal, &self.route, &self.method, code, purpose.map(Purpose::as_str))
            .await
        {
            return ApiError::Internal(error.to_string());
        }
        ApiError::BadRequest { status: StatusCode::FORBIDDEN, code, detail }
    }

    /// Refuses (and records) unless the member's role is one of `roles`.
    pub async fn require_role(&self, state: &AppState, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.principal.role) {
            return Ok(());
        }
        let allowed: Vec<&str> = roles.iter().map(|role| role.as_str()).collect();
        Err(self
            .refuse(
                state,
                "role_not_permitted",
                format!(
                    "the role {} may not do this; it needs one of: {}",
                    self.principal.role.as_str(),
                    allowed.join(", ")
                ),
                None,
            )
            .await)
    }

    /// Refuses (and records) unless the member's role serves `purpose` and `purpose` is one of
    /// `purposes` (the affairs this endpoint serves).
    pub async fn require_purpose(
        &self,
        state: &AppState,
        purpose: Purpose,
        purposes: &[Purpose],
    ) -> Result<(), ApiError> {
        if purposes.contains(&purpose) && role_serves(self.principal.role, purpose) {
            return Ok(());
        }
        Err(self
            .refuse(
                state,
                "purpose_not_permitted",
                format!(
                    "the role {} does not serve the purpose {} here",
                    self.principal.role.as_str(),
                    purpose.as_str()
                ),
                Some(purpose),
            )
            .await)
    }

    /// The metadata of what this member records for `purpose` (no Idempotency-Key).
    pub(crate) fn meta(&self, purpose: Purpose) -> CommandMeta {
        CommandMeta {
            actor: self.principal.actor(),
            purpose: purpose.as_str().to_owned(),
            correlation_id: Uuid::now_v7(),
            causation_id: None,
            idempotency_key: None,
        }
    }

    /// The metadata of a command, with the request's Idempotency-Key (scoped by the member, so
    /// two clerks' keys never collide).
    pub(crate) fn command_meta(&self, purpose: Purpose, key: &IdempotencyKey) -> Result<CommandMeta, ApiError> {
        if key.0.is_err() {
            return Err(ApiError::bad_request(
                "invalid_idempotency_key",
                "Idempotency-Key must be 1 to 128 visible ASCII characters",
            ));
        }
        let key = key.value().map(|key| format!("{}:{key}", self.principal.user_id));
        Ok(CommandMeta { idempotency_key: key, ..self.meta(purpose) })
    }

    /// The id of what a command creates (a person, a household, a period, a provision, …):
    /// derived from the Idempotency-Key, so a retry names what the first attempt created;
    /// drawn afresh without one.
    pub(crate) fn id_from_key(&self, kind: &str, key: &IdempotencyKey) -> Uuid {
        match key.value() {
            Some(key) => {
                let principal = &self.principal;
                let digest =
                    Sha256::digest(format!("kokuho {kind} id/{}/{}/{key}", principal.tenant, principal.user_id));
                let bytes: [u8; 16] = digest[..16].try_into().expect("a SHA-256 digest has 32 bytes");
                Uuid::new_v8(bytes)
            }
            None => Uuid::now_v7(),
        }
    }

    /// The access event of this member reading `items` of a person for `purpose`.
    pub(crate) fn accessed(&self, purpose: Purpose, person_id: Uuid, items: &[&str]) -> LedgerEvent {
        LedgerEvent::PersonalDataAccessed(PersonalDataAccessed {
            user_id: self.principal.user_id,
            role: self.principal.role.as_str().to_owned(),
            person_id,
            items: items.iter().map(|item| (*item).to_owned()).collect(),
            purpose: purpose.as_str().to_owned(),
        })
    }

    /// Appends a read's access events to the person's access record and waits for the commit:
    /// called before the answer goes out, so if it cannot be written nothing is shown.
    pub(crate) async fn record_access(
        &self,
        state: &AppState,
        purpose: Purpose,
        person_id: Uuid,
        events: &[LedgerEvent],
    ) -> Result<(), ApiError> {
        state.ledger.record(self.principal.tenant, format!("access-{person_id}"), events, self.meta(purpose)).await?;
        Ok(())
    }
}

/// The request's Idempotency-Key, if any: 1 to 128 visible ASCII characters.
/// The request's `Idempotency-Key` header, if it has one: a retry with the same key answers the
/// first result. 1 to 128 visible ASCII characters. A malformed key is refused when the command
/// is built ([`Staff::command_meta`], `invalid_idempotency_key`, without echoing it), that is
/// after the role check, so a caller without the role is refused (and recorded) as such.
#[derive(Debug, Clone)]
pub(crate) struct IdempotencyKey(Result<Option<String>, ()>);

impl IdempotencyKey {
    fn value(&self) -> Option<&str> {
        self.0.as_ref().ok().and_then(|key| key.as_deref())
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for IdempotencyKey {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(IdempotencyKey(match parts.headers.get("idempotency-key") {
            None => Ok(None),
            Some(value) => value
                .to_str()
                .ok()
                .filter(|key| (1..=128).contains(&key.len()))
                .map(|key| Some(key.to_owned()))
                .ok_or(()),
        }))
    }
}

/// The NHI affair a read declares.
pub(crate) fn parse_purpose(text: &str) -> Result<Purpose, ApiError> {
    text.parse()
        .map_err(|error: kokuho_auth::UnknownPurpose| ApiError::bad_request("invalid_purpose", error.to_string()))
}
