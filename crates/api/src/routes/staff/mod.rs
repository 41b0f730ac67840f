//! Staff accounts, managed by administrators: one account per person, disabled on transfer or
//! retirement (which ends their sessions at once).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use kokuho_auth::Role;
use kokuho_staff::StaffError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::doc;
use crate::auth::Staff;
use crate::error::Problem;
use crate::json::ApiPath;
use crate::{ApiError, ApiJson, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/{tenant}/staff", post(create_staff))
        .route("/v1/{tenant}/staff/{user_id}/disable", post(disable_staff))
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
    /// Shown once: hand it to the person; it is stored only as an Argon2id hash.
    initial_password: String,
    /// Shown once: to enter into the authenticator app by hand.
    totp_secret_base32: String,
    /// Shown once: the same secret as an `otpauth://` URI (for a QR code).
    otpauth_uri: String,
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
        (status = 201, description = "Created; the password and TOTP secret are shown this once", body = CreatedStaff),
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
        initial_password: created.password.to_string(),
        totp_secret_base32: created.totp.secret_base32().to_owned(),
        otpauth_uri: created.totp.otpauth_uri().to_owned(),
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
        .map_err(|error| match error {
        StaffError::UnknownUser(_) => ApiError::NotFound("no active staff member with that id".into()),
        other => ApiError::Internal(other.to_string()),
    })?;
    Ok(StatusCode::NO_CONTENT)
}
