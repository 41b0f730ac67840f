//! Staff sign-in (password + TOTP) and sign-out.

use axum::extract::{RawPathParams, State};
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::Router;
use chrono::{DateTime, Utc};
use kokuho_staff::{Client, SignInError, LOGIN_MAX_CHARS};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::doc;
use crate::auth::{tenant_of, Staff};
use crate::error::Problem;
use crate::throttle::ClientAddress;
use crate::{ApiError, ApiJson, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/v1/{tenant}/sessions", post(sign_in)).route("/v1/{tenant}/sessions/current", delete(sign_out))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// 3 to 64 letters, digits, '.', '-' or '_'; anything else is refused (422) before it is
    /// checked or recorded.
    login: String,
    /// At most 1,024 characters.
    password: String,
    /// The 6-digit code of the authenticator app (TOTP, RFC 6238). A code works once.
    code: String,
}

#[derive(Serialize, ToSchema)]
pub struct Session {
    /// Send as `Authorization: Bearer <token>`. Locks after 15 minutes without use.
    token: String,
    user_id: Uuid,
    role: String,
    /// The latest the session can last, however active.
    expires_at: DateTime<Utc>,
}

/// Sign in with login, password and the authenticator's current code.
///
/// Refused before anything is written: a malformed login, password or code (422), a client
/// asking too often (429 `too_many_requests`), an unknown municipality (404), and a login in
/// back-off after repeated failures (429 `sign_in_throttled`, the same for logins that do not
/// exist). Every other refusal is recorded, the login only as a keyed hash.
#[utoipa::path(post, path = "/v1/{tenant}/sessions", request_body = SignIn,
    params(doc::Tenant),
    responses(
        (status = 201, description = "Signed in", body = Session),
        (status = 401, description = "`sign_in_failed`: login, password or code not right (which one is not said)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`unknown_tenant`: no ledger for that local government code; nothing is recorded", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_login`, `invalid_password`, `invalid_code`, `invalid_body`: nothing is recorded", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_requests` (this client) or `sign_in_throttled` (this login, after repeated failures); `Retry-After` says when to try again", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "seconds"))),
    ))]
pub(crate) async fn sign_in(
    State(state): State<AppState>,
    client: ClientAddress,
    params: RawPathParams,
    ApiJson(body): ApiJson<SignIn>,
) -> Result<(StatusCode, ApiJson<Session>), ApiError> {
    let tenant = tenant_of(&params)?;
    check_credentials_shape(&body.login, &body.password, &body.code)?;
    state.admit(&state.limiters.sign_in, client)?;
    state.served_tenant(tenant).await?;
    let signed_in = state.staff.sign_in(tenant, &body.login, &body.password, &body.code, Client(&client.name())).await;
    match signed_in {
        Ok(signed_in) => Ok((
            StatusCode::CREATED,
            ApiJson(Session {
                token: signed_in.token.expose().to_owned(),
                user_id: signed_in.principal.user_id,
                role: signed_in.principal.role.as_str().to_owned(),
                expires_at: signed_in.expires_at,
            }),
        )),
        Err(SignInError::Refused) => Err(ApiError::BadRequest {
            status: StatusCode::UNAUTHORIZED,
            code: "sign_in_failed",
            detail: "the login, password or code is not right".into(),
        }),
        Err(SignInError::Throttled { until }) => Err(throttled(&state, until)),
        Err(SignInError::Staff(error)) => Err(ApiError::Internal(error.to_string())),
    }
}

/// 429 `sign_in_throttled`: the login's back-off, with `Retry-After`.
pub(crate) fn throttled(state: &AppState, until: DateTime<Utc>) -> ApiError {
    let retry_after_seconds = kokuho_auth::Throttled { until }.retry_after_seconds(state.ledger.now());
    ApiError::Throttled {
        code: "sign_in_throttled",
        detail: format!("too many failed sign-ins with this login; try again in {retry_after_seconds} s"),
        retry_after_seconds,
    }
}

fn unprocessable(code: &'static str, detail: &str) -> ApiError {
    ApiError::BadRequest { status: StatusCode::UNPROCESSABLE_ENTITY, code, detail: detail.to_owned() }
}

/// What a login, a password and a code can be, checked before anything else (and never echoed):
/// a value no account could have is the client's mistake, not a failed sign-in, and is neither
/// counted nor recorded.
pub(crate) fn check_credentials_shape(login: &str, password: &str, code: &str) -> Result<(), ApiError> {
    if !kokuho_staff::valid_login(login) {
        return Err(unprocessable(
            "invalid_login",
            &format!("`login` must be 3 to {LOGIN_MAX_CHARS} letters, digits, '.', '-' or '_'"),
        ));
    }
    if password.chars().count() > kokuho_auth::password::MAX_PASSWORD_CHARS {
        return Err(unprocessable(
            "invalid_password",
            &format!("`password` may have at most {} characters", kokuho_auth::password::MAX_PASSWORD_CHARS),
        ));
    }
    if code.len() > 16 {
        return Err(unprocessable("invalid_code", "`code` is the authenticator's 6-digit code"));
    }
    Ok(())
}

/// End this session.
#[utoipa::path(delete, path = "/v1/{tenant}/sessions/current", security(("session" = [])),
    params(doc::Tenant),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "`not_signed_in` or `session_expired`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn sign_out(State(state): State<AppState>, staff: Staff) -> Result<StatusCode, ApiError> {
    state
        .staff
        .sign_out(&staff.principal, &staff.token)
        .await
        .map_err(|error| ApiError::Internal(error.to_string()))?;
    Ok(StatusCode::NO_CONTENT)
}
