//! Staff accounts, managed by administrators: one account per person, created with a one-time
//! enrolment code (never working credentials: the staff member chooses their own password and
//! enrols their own authenticator, docs/security.md §6), disabled on transfer or retirement
//! (which ends their sessions at once; never the last administrator). Each member changes their
//! own password.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{post, put};
use axum::Router;
use chrono::{DateTime, Utc};
use kokuho_auth::Role;
use kokuho_staff::{Client, PasswordChangeError, StaffError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::doc;
use crate::auth::Staff;
use crate::error::Problem;
use crate::json::ApiPath;
use crate::throttle::ClientAddress;
use crate::{ApiError, ApiJson, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/{tenant}/staff", post(create_staff))
        .route("/v1/{tenant}/staff/{user_id}/disable", post(disable_staff))
        .route("/v1/{tenant}/staff/{user_id}/enrolment", post(reissue_enrolment))
        .route("/v1/{tenant}/staff/me/password", put(change_password))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaff {
    /// 3 to 64 letters, digits, '.', '-' or '_'.
    login: String,
    display_name: String,
    /// eligibility_clerk, tax_clerk, benefits_clerk, collection_clerk, supervisor, auditor, administrator
    role: String,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedStaff {
    user_id: Uuid,
    /// Shown once: hand it to the person, who enrols with it (`POST /v1/{tenant}/enrolment`):
    /// they choose their own password and set up their own authenticator; the code then stops
    /// working. It is not a password: nobody can sign in with it. Stored only as its SHA-256.
    enrolment_code: String,
    /// The code works until then (72 hours).
    enrolment_expires_at: DateTime<Utc>,
}

/// `/v1/{tenant}/staff/{user_id}/…`
#[derive(Deserialize)]
pub struct StaffPath {
    #[allow(dead_code)] // matched by the Staff extractor; named here so the path deserializes
    tenant: String,
    user_id: Uuid,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Disable {
    /// Why, for the record (transfer, retirement, …).
    reason: String,
}

/// Create a staff account (administrators).
#[utoipa::path(post, path = "/v1/{tenant}/staff", request_body = NewStaff, security(("session" = [])),
    params(doc::Tenant),
    responses(
        (status = 201, description = "Created, without credentials; the one-time enrolment code is shown this once", body = CreatedStaff),
        doc::RoleNotPermitted,
        (status = 409, description = "`login_taken`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_role`, `invalid_login`, `invalid_body`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn create_staff(
    State(state): State<AppState>,
    staff: Staff,
    ApiJson(body): ApiJson<NewStaff>,
) -> Result<impl IntoResponse, ApiError> {
    staff.require_role(&state, &[Role::Administrator]).await?;
    let role: Role = body.role.parse().map_err(|error: kokuho_auth::UnknownRole| ApiError::BadRequest {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        code: "invalid_role",
        detail: error.to_string(),
    })?;
    let created = state
        .staff
        .create_user(staff.principal.tenant, &body.login, &body.display_name, role, Some(staff.principal.user_id))
        .await
        .map_err(|error| match error {
            StaffError::LoginTaken(_) => {
                ApiError::BadRequest { status: StatusCode::CONFLICT, code: "login_taken", detail: error.to_string() }
            }
            StaffError::BadLogin => ApiError::BadRequest {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "invalid_login",
                detail: error.to_string(),
            },
            other => ApiError::Internal(other.to_string()),
        })?;
    let body = CreatedStaff {
        user_id: created.user_id,
        enrolment_code: created.enrolment.code.to_string(),
        enrolment_expires_at: created.enrolment.expires_at,
    };
    Ok((StatusCode::CREATED, [(header::CACHE_CONTROL, "no-store")], ApiJson(body)))
}

/// Disable a staff account and end its sessions at once (administrators).
#[utoipa::path(post, path = "/v1/{tenant}/staff/{user_id}/disable", request_body = Disable, security(("session" = [])),
    params(doc::Tenant, ("user_id" = Uuid, Path, description = "the staff member")),
    responses(
        (status = 204, description = "Disabled"),
        doc::RoleNotPermitted,
        (status = 404, description = "`not_found`: no such active staff member", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`last_administrator`: the municipality's last enrolled administrator stays (enrol another first)", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn disable_staff(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(path): ApiPath<StaffPath>,
    ApiJson(body): ApiJson<Disable>,
) -> Result<StatusCode, ApiError> {
    staff.require_role(&state, &[Role::Administrator]).await?;
    state
        .staff
        .disable_user(staff.principal.tenant, path.user_id, Some(staff.principal.user_id), &body.reason)
        .await
        .map_err(staff_error)?;
    Ok(StatusCode::NO_CONTENT)
}

fn staff_error(error: StaffError) -> ApiError {
    match error {
        StaffError::UnknownUser(_) => ApiError::NotFound("no active staff member with that id".into()),
        StaffError::LastAdministrator => {
            ApiError::BadRequest { status: StatusCode::CONFLICT, code: "last_administrator", detail: error.to_string() }
        }
        other => ApiError::Internal(other.to_string()),
    }
}

/// A new one-time enrolment code for a staff member who lost theirs, let it expire, or lost
/// their authenticator or password (administrators). Their credentials are cleared and their
/// sessions end at once: the administrator gets no working credentials, only a code with which
/// the owner enrols again. Recorded (`StaffEnrolmentIssued`).
#[utoipa::path(post, path = "/v1/{tenant}/staff/{user_id}/enrolment", security(("session" = [])),
    params(doc::Tenant, ("user_id" = Uuid, Path, description = "the staff member")),
    responses(
        (status = 201, description = "Credentials cleared; the new enrolment code is shown this once", body = CreatedStaff),
        doc::RoleNotPermitted,
        (status = 404, description = "`not_found`: no such active staff member", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`last_administrator`: the municipality's last enrolled administrator keeps their credentials", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn reissue_enrolment(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(path): ApiPath<StaffPath>,
) -> Result<impl IntoResponse, ApiError> {
    staff.require_role(&state, &[Role::Administrator]).await?;
    let enrolment = state
        .staff
        .reissue_enrolment(staff.principal.tenant, path.user_id, Some(staff.principal.user_id))
        .await
        .map_err(staff_error)?;
    let body = CreatedStaff {
        user_id: path.user_id,
        enrolment_code: enrolment.code.to_string(),
        enrolment_expires_at: enrolment.expires_at,
    };
    Ok((StatusCode::CREATED, [(header::CACHE_CONTROL, "no-store")], ApiJson(body)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    current_password: String,
    /// 12 to 1,024 characters, not easy to guess (zxcvbn score 3 of 4; the login and name count
    /// as guessable).
    new_password: String,
}

/// Change one's own password (any signed-in staff member). The current password is asked for:
/// a wrong one counts as a failed sign-in. The member's other sessions end.
#[utoipa::path(put, path = "/v1/{tenant}/staff/me/password", request_body = PasswordChange, security(("session" = [])),
    params(doc::Tenant),
    responses(
        (status = 204, description = "Changed; other sessions ended"),
        (status = 401, description = "`not_signed_in` or `session_expired`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`password_not_right`: the current password is not right (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`weak_password` (with advice, never the password), `invalid_password`, `invalid_body`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_requests` or `sign_in_throttled`, with `Retry-After`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn change_password(
    State(state): State<AppState>,
    client: ClientAddress,
    staff: Staff,
    ApiJson(body): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    crate::routes::sessions::check_password_length("current_password", &body.current_password)?;
    state.admit(&state.limiters.sign_in, client)?;
    let changed = state
        .staff
        .change_password(&staff.principal, &body.current_password, &body.new_password, Client(&client.name()))
        .await;
    match changed {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(PasswordChangeError::Refused) => Err(ApiError::BadRequest {
            status: StatusCode::FORBIDDEN,
            code: "password_not_right",
            detail: "the current password is not right".into(),
        }),
        Err(PasswordChangeError::Throttled { until }) => Err(crate::routes::sessions::throttled(&state, until)),
        Err(PasswordChangeError::WeakPassword(weak)) => Err(crate::routes::sessions::weak_password(&weak)),
        Err(PasswordChangeError::Staff(error)) => Err(ApiError::Internal(error.to_string())),
    }
}
