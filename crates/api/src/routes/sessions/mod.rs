//! Staff sign-in (password + TOTP), sign-out, and enrolment: a new account's owner, with the
//! one-time enrolment code an administrator handed them, sets up their own authenticator and
//! chooses their own password (docs/security.md §6).

use axum::extract::{RawPathParams, State};
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::Router;
use chrono::{DateTime, Utc};
use kokuho_auth::WeakPassword;
use kokuho_staff::{Client, EnrolmentError, SignInError, SignedIn, LOGIN_MAX_CHARS};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::doc;
use crate::auth::{tenant_of, Staff};
use crate::error::Problem;
use crate::throttle::ClientAddress;
use crate::{ApiError, ApiJson, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/{tenant}/sessions", post(sign_in))
        .route("/v1/{tenant}/sessions/current", delete(sign_out))
        .route("/v1/{tenant}/enrolment", post(start_enrolment))
        .route("/v1/{tenant}/enrolment/complete", post(complete_enrolment))
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
    let tenant = admit_unsigned(&state, client, &params, [&body.login, &body.password, &body.code], None).await?;
    let signed_in = state.staff.sign_in(tenant, &body.login, &body.password, &body.code, Client(&client.name())).await;
    match signed_in {
        Ok(signed_in) => Ok((StatusCode::CREATED, ApiJson(Session::from(signed_in)))),
        Err(SignInError::Refused) => Err(ApiError::BadRequest {
            status: StatusCode::UNAUTHORIZED,
            code: "sign_in_failed",
            detail: "the login, password or code is not right".into(),
        }),
        Err(SignInError::Throttled { until }) => Err(throttled(&state, until)),
        Err(SignInError::Staff(error)) => Err(ApiError::Internal(error.to_string())),
    }
}

impl From<SignedIn> for Session {
    fn from(signed_in: SignedIn) -> Session {
        Session {
            token: signed_in.token.expose().to_owned(),
            user_id: signed_in.principal.user_id,
            role: signed_in.principal.role.as_str().to_owned(),
            expires_at: signed_in.expires_at,
        }
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

/// What every unsigned staff request (a sign-in, an enrolment step) goes through before the
/// staff records see it, in the order of docs/security.md §2: the shape of its login, password,
/// one-time code and enrolment code (422; an enrolment code no account could have is simply not
/// right, 401), the client's rate (429), the municipality (404). Answers the municipality.
async fn admit_unsigned(
    state: &AppState,
    client: ClientAddress,
    params: &RawPathParams,
    [login, password, code]: [&str; 3],
    enrolment_code: Option<&str>,
) -> Result<kokuho_domain::TenantCode, ApiError> {
    let tenant = tenant_of(params)?;
    check_credentials_shape(login, password, code)?;
    if enrolment_code.is_some_and(|enrolment_code| enrolment_code.len() > 64) {
        return Err(unauthorized_enrolment());
    }
    state.admit(&state.limiters.sign_in, client)?;
    state.served_tenant(tenant).await?;
    Ok(tenant)
}

/// What a login, a password and a code can be, checked before anything else (and never echoed):
/// a value no account could have is the client's mistake, not a failed sign-in, and is neither
/// counted nor recorded.
fn check_credentials_shape(login: &str, password: &str, code: &str) -> Result<(), ApiError> {
    if !kokuho_staff::valid_login(login) {
        return Err(unprocessable(
            "invalid_login",
            &format!("`login` must be 3 to {LOGIN_MAX_CHARS} letters, digits, '.', '-' or '_'"),
        ));
    }
    check_password_length("password", password)?;
    if code.len() > 16 {
        return Err(unprocessable("invalid_code", "`code` is the authenticator's 6-digit code"));
    }
    Ok(())
}

/// A password no account could have, refused before anything else (the field is named, the
/// value never echoed).
pub(crate) fn check_password_length(field: &str, password: &str) -> Result<(), ApiError> {
    let max = kokuho_auth::password::MAX_PASSWORD_CHARS;
    if password.chars().count() > max {
        return Err(unprocessable("invalid_password", &format!("`{field}` may have at most {max} characters")));
    }
    Ok(())
}

/// 422 `weak_password`, with zxcvbn's advice (which never quotes the password).
pub(crate) fn weak_password(weak: &WeakPassword) -> ApiError {
    unprocessable("weak_password", &format!("choose another password: {weak}"))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolmentStart {
    login: String,
    /// The one-time code from the administrator (or `kokuho admin create-user`).
    enrolment_code: String,
}

#[derive(Serialize, ToSchema)]
pub struct EnrolmentSecret {
    /// The new authenticator's secret, to type into the app; shown to the staff member only.
    totp_secret_base32: String,
    /// The same secret as an `otpauth://` URI (for a QR code).
    otpauth_uri: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolmentCompletion {
    login: String,
    enrolment_code: String,
    /// The password the staff member chooses: 12 to 1,024 characters, not easy to guess (zxcvbn
    /// score 3 of 4; the login and name count as guessable).
    password: String,
    /// The authenticator's current code, proving it was set up with the secret of the first step.
    code: String,
}

fn enrolment_refused(state: &AppState, error: EnrolmentError) -> ApiError {
    match error {
        EnrolmentError::Refused => unauthorized_enrolment(),
        EnrolmentError::Throttled { until } => throttled(state, until),
        EnrolmentError::NotStarted => ApiError::BadRequest {
            status: StatusCode::CONFLICT,
            code: "enrolment_not_started",
            detail: EnrolmentError::NotStarted.to_string(),
        },
        EnrolmentError::WeakPassword(weak) => weak_password(&weak),
        EnrolmentError::Staff(error) => ApiError::Internal(error.to_string()),
    }
}

fn unauthorized_enrolment() -> ApiError {
    ApiError::BadRequest {
        status: StatusCode::UNAUTHORIZED,
        code: "enrolment_failed",
        detail: EnrolmentError::Refused.to_string(),
    }
}

/// Enrolment, first step: with the one-time enrolment code, a new secret for the staff member's
/// own authenticator app. The code stays valid for the second step (this step may be repeated;
/// each gives a new secret).
#[utoipa::path(post, path = "/v1/{tenant}/enrolment", request_body = EnrolmentStart,
    params(doc::Tenant),
    responses(
        (status = 201, description = "The authenticator's secret, shown this once", body = EnrolmentSecret),
        (status = 401, description = "`enrolment_failed`: login or code not right, or the code expired or was used (which is not said); recorded", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`unknown_tenant`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_login`, `invalid_body`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_requests` or `sign_in_throttled`, with `Retry-After`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn start_enrolment(
    State(state): State<AppState>,
    client: ClientAddress,
    params: RawPathParams,
    ApiJson(body): ApiJson<EnrolmentStart>,
) -> Result<(StatusCode, ApiJson<EnrolmentSecret>), ApiError> {
    let tenant = admit_unsigned(&state, client, &params, [&body.login, "", ""], Some(&body.enrolment_code)).await?;
    let started = state.staff.start_enrolment(tenant, &body.login, &body.enrolment_code, Client(&client.name())).await;
    let totp = started.map_err(|error| enrolment_refused(&state, error))?;
    Ok((
        StatusCode::CREATED,
        ApiJson(EnrolmentSecret {
            totp_secret_base32: totp.secret_base32().to_owned(),
            otpauth_uri: totp.otpauth_uri().to_owned(),
        }),
    ))
}

/// Enrolment, second step: the staff member's own password and the authenticator's current
/// code. The enrolment code is used up, and the answer is a session (signed in).
#[utoipa::path(post, path = "/v1/{tenant}/enrolment/complete", request_body = EnrolmentCompletion,
    params(doc::Tenant),
    responses(
        (status = 201, description = "Enrolled and signed in", body = Session),
        (status = 401, description = "`enrolment_failed`: login, enrolment code or one-time code not right (which is not said); recorded", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`unknown_tenant`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`enrolment_not_started`: take the first step first", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`weak_password` (with advice, never the password; nothing is used up), `invalid_login`, `invalid_password`, `invalid_code`, `invalid_body`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_requests` or `sign_in_throttled`, with `Retry-After`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn complete_enrolment(
    State(state): State<AppState>,
    client: ClientAddress,
    params: RawPathParams,
    ApiJson(body): ApiJson<EnrolmentCompletion>,
) -> Result<(StatusCode, ApiJson<Session>), ApiError> {
    let credentials = [body.login.as_str(), &body.password, &body.code];
    let tenant = admit_unsigned(&state, client, &params, credentials, Some(&body.enrolment_code)).await?;
    let completed = state
        .staff
        .complete_enrolment(
            tenant,
            &body.login,
            &body.enrolment_code,
            &body.password,
            &body.code,
            Client(&client.name()),
        )
        .await;
    let signed_in = completed.map_err(|error| enrolment_refused(&state, error))?;
    Ok((StatusCode::CREATED, ApiJson(Session::from(signed_in))))
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
