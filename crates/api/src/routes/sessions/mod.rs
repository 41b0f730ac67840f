//! Staff sign-in (password + TOTP) and sign-out.

use axum::extract::{RawPathParams, State};
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::Router;
use chrono::{DateTime, Utc};
use kokuho_staff::SignInError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::doc;
use crate::auth::{tenant_of, Staff};
use crate::error::Problem;
use crate::{ApiError, ApiJson, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/v1/{tenant}/sessions", post(sign_in)).route("/v1/{tenant}/sessions/current", delete(sign_out))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    login: String,
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
#[utoipa::path(post, path = "/v1/{tenant}/sessions", request_body = SignIn,
    params(doc::Tenant),
    responses(
        (status = 201, description = "Signed in", body = Session),
        (status = 401, description = "`sign_in_failed`: login, password or code not right (which one is not said)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`unknown_tenant`: no ledger for that local government code; nothing is recorded", body = Problem, content_type = "application/problem+json"),
        (status = 423, description = "`account_locked`: too many failures; try again later", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn sign_in(
    State(state): State<AppState>,
    params: RawPathParams,
    ApiJson(body): ApiJson<SignIn>,
) -> Result<(StatusCode, ApiJson<Session>), ApiError> {
    let tenant = tenant_of(&params)?;
    state.served_tenant(tenant).await?;
    match state.staff.sign_in(tenant, &body.login, &body.password, &body.code).await {
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
        Err(SignInError::Locked { until }) => Err(ApiError::BadRequest {
            status: StatusCode::LOCKED,
            code: "account_locked",
            detail: format!("too many failed sign-ins; try again after {until}"),
        }),
        Err(SignInError::Staff(error)) => Err(ApiError::Internal(error.to_string())),
    }
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
