//! What the OpenAPI document declares once for the many operations that share it: the path
//! parameters (`{tenant}`, `{person_id}`, …), the Idempotency-Key header, and the problem responses
//! that mean the same on every endpoint. An operation lists them, e.g.
//! `params(doc::Tenant, doc::PersonId, doc::IdempotencyKey)` and
//! `responses((status = 201, …), doc::RoleNotPermitted, doc::PersonNotFound)`.
//!
//! These types only describe: the handlers extract and answer with their own.
#![allow(dead_code)] // never built, never read: the derives are what they are for

use utoipa::{IntoParams, IntoResponses};
use uuid::Uuid;

use crate::error::Problem;

/// `{tenant}`, in every path under `/v1`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct Tenant {
    /// local government code
    #[param(pattern = "^[0-9]{6}$", example = "112020")]
    tenant: String,
}

/// `{person_id}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct PersonId {
    /// the person
    person_id: Uuid,
}

/// `{household_id}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct HouseholdId {
    /// the household
    household_id: Uuid,
}

/// `{fiscal_year}`: a fiscal year (年度), April to March.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct FiscalYear {
    /// the fiscal year (年度 2025 runs from 2025-04-01 to 2026-03-31)
    #[param(example = 2025)]
    fiscal_year: i32,
}

/// `{request_id}` of a My Number link request.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct LinkRequestId {
    /// the link request
    request_id: Uuid,
}

/// The `Idempotency-Key` header every command takes.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub(crate) struct IdempotencyKey {
    /// a retry with the same key returns the first result
    #[param(rename = "Idempotency-Key")]
    idempotency_key: Option<String>,
}

#[derive(IntoResponses)]
#[response(status = 400, description = "`invalid_purpose`, `invalid_query`", content_type = "application/problem+json")]
pub(crate) struct InvalidPurposeOrQuery(Problem);

#[derive(IntoResponses)]
#[response(status = 403, description = "`role_not_permitted`", content_type = "application/problem+json")]
pub(crate) struct RoleNotPermitted(Problem);

#[derive(IntoResponses)]
#[response(status = 403, description = "`purpose_not_permitted`", content_type = "application/problem+json")]
pub(crate) struct PurposeNotPermitted(Problem);

#[derive(IntoResponses)]
#[response(status = 404, description = "`person_not_found`", content_type = "application/problem+json")]
pub(crate) struct PersonNotFound(Problem);

#[derive(IntoResponses)]
#[response(status = 404, description = "`household_not_found`", content_type = "application/problem+json")]
pub(crate) struct HouseholdNotFound(Problem);

#[derive(IntoResponses)]
#[response(status = 404, description = "`link_request_not_found`", content_type = "application/problem+json")]
pub(crate) struct LinkRequestNotFound(Problem);

#[derive(IntoResponses)]
#[response(status = 410, description = "`person_erased`", content_type = "application/problem+json")]
pub(crate) struct PersonErased(Problem);

#[derive(IntoResponses)]
#[response(status = 410, description = "`my_number_unavailable`", content_type = "application/problem+json")]
pub(crate) struct MyNumberUnavailable(Problem);
