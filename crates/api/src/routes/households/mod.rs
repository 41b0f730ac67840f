//! Households (世帯): established with a head, members join and leave, the head changes (a head
//! who is not insured, 擬制世帯主, is normal), the 基準収入額 exception; and a household as it
//! stood on a day, as recorded at an instant.
//!
//! Every change of composition answers once the `elderly_share` policy has re-decided the 70–74
//! share of the members it touches.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, NaiveDate, Utc};
use kokuho_auth::{Purpose, Role};
use kokuho_domain::household::{Household, HouseholdCommand, HouseholdRejection};
use kokuho_ledger::jst_date;
use kokuho_store::Decrypt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::doc;
use super::persons::READ_PURPOSES;
use crate::auth::{parse_purpose, IdempotencyKey, Staff};
use crate::error::Problem;
use crate::json::{ApiPath, ApiQuery};
use crate::{ApiError, ApiJson, AppState};

/// Households are facts of the resident registry kept by the eligibility affair.
const HOUSEHOLD_ROLES: &[Role] = &[Role::EligibilityClerk, Role::Supervisor];

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/{tenant}/households", post(establish))
        .route("/v1/{tenant}/households/{household_id}", get(read))
        .route("/v1/{tenant}/households/{household_id}/members", post(join))
        .route("/v1/{tenant}/households/{household_id}/members/{person_id}/departure", post(leave))
        .route("/v1/{tenant}/households/{household_id}/head", post(change_head))
        .route("/v1/{tenant}/households/{household_id}/income-exception", post(apply_income_exception))
}

/// `/v1/{tenant}/households/{household_id}…`
#[derive(Deserialize)]
pub struct HouseholdPath {
    #[allow(dead_code)] // matched by the Staff extractor; named here so the path deserializes
    tenant: String,
    household_id: Uuid,
}

/// `/v1/{tenant}/households/{household_id}/members/{person_id}/…`
#[derive(Deserialize)]
pub struct MemberPath {
    #[allow(dead_code)] // matched by the Staff extractor; named here so the path deserializes
    tenant: String,
    household_id: Uuid,
    person_id: Uuid,
}

#[derive(Serialize, ToSchema)]
pub struct HouseholdRecorded {
    household_id: Uuid,
    /// The ledger position of the command's event.
    position: i64,
    recorded_at: DateTime<Utc>,
    /// True when this was a retry of an Idempotency-Key already answered: nothing new was recorded.
    duplicate: bool,
}

/// The command path every household command shares: role check, metadata, one ledger call,
/// then wait (bounded) for the policies to re-decide the 70–74 shares the change may move.
async fn execute(
    state: &AppState,
    staff: &Staff,
    key: &IdempotencyKey,
    household_id: Uuid,
    command: HouseholdCommand,
) -> Result<(StatusCode, ApiJson<HouseholdRecorded>), ApiError> {
    staff.require_role(state, HOUSEHOLD_ROLES).await?;
    let meta = staff.command_meta(Purpose::Eligibility, key)?;
    let tenant = staff.principal.tenant;
    let executed = state.ledger.execute::<Household>(tenant, household_id, command, meta).await?;
    state.consequences_of(tenant, executed.outcome.last_position).await;
    let status = super::created_or_retried(&executed);
    Ok((
        status,
        ApiJson(HouseholdRecorded {
            household_id,
            position: executed.outcome.last_position,
            recorded_at: executed.outcome.recorded_at,
            duplicate: executed.outcome.duplicate,
        }),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHousehold {
    /// The head (世帯主), its first member; need not be insured.
    head_person_id: Uuid,
    established_on: NaiveDate,
    /// e.g. `resident_registry`.
    source: String,
    legal_basis: String,
}

/// Establish a household with its head (eligibility clerks, supervisors). With an
/// Idempotency-Key the household id is derived from it, so a retry names the same household.
#[utoipa::path(post, path = "/v1/{tenant}/households", request_body = NewHousehold, security(("session" = [])),
    params(doc::Tenant, doc::IdempotencyKey),
    responses(
        (status = 201, description = "Established", body = HouseholdRecorded),
        doc::RoleNotPermitted,
        doc::PersonNotFound,
        (status = 409, description = "`household_already_established`, `member_of_another_household`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`date_in_future`, `invalid_body`; the input checks of docs/domain.md (`text_too_long`, `control_character`, `date_too_early`, `notified_before_event`, `unknown_source`, `unknown_legal_basis`, `fiscal_year_out_of_range`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn establish(
    State(state): State<AppState>,
    staff: Staff,
    key: IdempotencyKey,
    ApiJson(body): ApiJson<NewHousehold>,
) -> Result<(StatusCode, ApiJson<HouseholdRecorded>), ApiError> {
    let household_id = staff.id_from_key("household", &key);
    let command = HouseholdCommand::Establish {
        head_person_id: body.head_person_id,
        established_on: body.established_on,
        acquisition: kokuho_events::Acquisition { source: body.source, legal_basis: body.legal_basis },
    };
    execute(&state, &staff, &key, household_id, command).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinBody {
    person_id: Uuid,
    /// First day a member.
    joined_on: NaiveDate,
}

/// A person joins the household (eligibility clerks, supervisors).
#[utoipa::path(post, path = "/v1/{tenant}/households/{household_id}/members", request_body = JoinBody, security(("session" = [])),
    params(doc::Tenant, doc::HouseholdId, doc::IdempotencyKey),
    responses(
        (status = 201, description = "Recorded", body = HouseholdRecorded),
        doc::RoleNotPermitted,
        (status = 404, description = "`household_not_found`, `person_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`already_a_member`, `member_of_another_household`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`date_before_establishment`, `date_in_future`, `invalid_body`; the input checks of docs/domain.md (`text_too_long`, `control_character`, `date_too_early`, `notified_before_event`, `unknown_source`, `unknown_legal_basis`, `fiscal_year_out_of_range`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn join(
    State(state): State<AppState>,
    staff: Staff,
    key: IdempotencyKey,
    ApiPath(path): ApiPath<HouseholdPath>,
    ApiJson(body): ApiJson<JoinBody>,
) -> Result<(StatusCode, ApiJson<HouseholdRecorded>), ApiError> {
    let command = HouseholdCommand::Join { person_id: body.person_id, joined_on: body.joined_on };
    execute(&state, &staff, &key, path.household_id, command).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartureBody {
    /// First day no longer a member.
    left_on: NaiveDate,
}

/// A member leaves the household (eligibility clerks, supervisors). The head leaves only after
/// another member became head, or as the last member.
#[utoipa::path(post, path = "/v1/{tenant}/households/{household_id}/members/{person_id}/departure", request_body = DepartureBody, security(("session" = [])),
    params(doc::Tenant, doc::HouseholdId,
           ("person_id" = Uuid, Path, description = "the member who leaves"), doc::IdempotencyKey),
    responses(
        (status = 201, description = "Recorded", body = HouseholdRecorded),
        doc::RoleNotPermitted,
        doc::HouseholdNotFound,
        (status = 422, description = "`not_a_member`, `left_before_joined`, `head_must_change_first`, `date_in_future`, `invalid_body`; the input checks of docs/domain.md (`text_too_long`, `control_character`, `date_too_early`, `notified_before_event`, `unknown_source`, `unknown_legal_basis`, `fiscal_year_out_of_range`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn leave(
    State(state): State<AppState>,
    staff: Staff,
    key: IdempotencyKey,
    ApiPath(path): ApiPath<MemberPath>,
    ApiJson(body): ApiJson<DepartureBody>,
) -> Result<(StatusCode, ApiJson<HouseholdRecorded>), ApiError> {
    let command = HouseholdCommand::Leave { person_id: path.person_id, left_on: body.left_on };
    execute(&state, &staff, &key, path.household_id, command).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeadChangeBody {
    /// A member who becomes head.
    person_id: Uuid,
    changed_on: NaiveDate,
}

/// Another member becomes head (eligibility clerks, supervisors).
#[utoipa::path(post, path = "/v1/{tenant}/households/{household_id}/head", request_body = HeadChangeBody, security(("session" = [])),
    params(doc::Tenant, doc::HouseholdId, doc::IdempotencyKey),
    responses(
        (status = 201, description = "Recorded", body = HouseholdRecorded),
        doc::RoleNotPermitted,
        doc::HouseholdNotFound,
        (status = 409, description = "`already_head`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`not_a_member`, `before_last_head_change`, `date_before_establishment`, `date_in_future`, `invalid_body`; the input checks of docs/domain.md (`text_too_long`, `control_character`, `date_too_early`, `notified_before_event`, `unknown_source`, `unknown_legal_basis`, `fiscal_year_out_of_range`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn change_head(
    State(state): State<AppState>,
    staff: Staff,
    key: IdempotencyKey,
    ApiPath(path): ApiPath<HouseholdPath>,
    ApiJson(body): ApiJson<HeadChangeBody>,
) -> Result<(StatusCode, ApiJson<HouseholdRecorded>), ApiError> {
    let command = HouseholdCommand::ChangeHead { person_id: body.person_id, changed_on: body.changed_on };
    execute(&state, &staff, &key, path.household_id, command).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncomeExceptionBody {
    /// The day the head applied (基準収入額適用申請).
    applied_on: NaiveDate,
}

/// The head applied for the 基準収入額 exception of the 70–74 share (eligibility clerks,
/// supervisors).
#[utoipa::path(post, path = "/v1/{tenant}/households/{household_id}/income-exception", request_body = IncomeExceptionBody, security(("session" = [])),
    params(doc::Tenant, doc::HouseholdId, doc::IdempotencyKey),
    responses(
        (status = 201, description = "Recorded", body = HouseholdRecorded),
        doc::RoleNotPermitted,
        doc::HouseholdNotFound,
        (status = 422, description = "`date_before_establishment`, `date_in_future`, `invalid_body`; the input checks of docs/domain.md (`text_too_long`, `control_character`, `date_too_early`, `notified_before_event`, `unknown_source`, `unknown_legal_basis`, `fiscal_year_out_of_range`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn apply_income_exception(
    State(state): State<AppState>,
    staff: Staff,
    key: IdempotencyKey,
    ApiPath(path): ApiPath<HouseholdPath>,
    ApiJson(body): ApiJson<IncomeExceptionBody>,
) -> Result<(StatusCode, ApiJson<HouseholdRecorded>), ApiError> {
    let command = HouseholdCommand::ApplyIncomeException { applied_on: body.applied_on };
    execute(&state, &staff, &key, path.household_id, command).await
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HouseholdQuery {
    /// The NHI affair this read is for; the caller's role must serve it.
    purpose: String,
    /// As recorded at this instant (RFC 3339); default now.
    as_of: Option<DateTime<Utc>>,
    /// The day asked about (valid time); default today in Japan.
    on: Option<NaiveDate>,
}

#[derive(Serialize, ToSchema)]
pub struct MembershipView {
    person_id: Uuid,
    joined_on: NaiveDate,
    /// First day no longer a member; `null` while a member.
    left_on: Option<NaiveDate>,
}

#[derive(Serialize, ToSchema)]
pub struct HeadView {
    person_id: Uuid,
    /// Head from this day.
    from: NaiveDate,
}

#[derive(Serialize, ToSchema)]
pub struct HouseholdView {
    household_id: Uuid,
    established_on: NaiveDate,
    as_of: DateTime<Utc>,
    on: NaiveDate,
    /// The head on `on` (need not be insured: 擬制世帯主); `null` before the household existed.
    head_person_id: Option<Uuid>,
    /// The members on `on`.
    members_on: Vec<Uuid>,
    /// Every membership as recorded at `as_of`.
    memberships: Vec<MembershipView>,
    /// Every head in the order they took over.
    heads: Vec<HeadView>,
    /// Whether the 基準収入額 exception was applied for on or before `on`.
    income_exception_applied: bool,
    /// The household's stream version this answer reflects.
    version: i64,
}

/// A household on a day, as recorded at an instant. Its composition is personal data of each
/// member listed: an access is recorded for each before the answer is sent.
#[utoipa::path(get, path = "/v1/{tenant}/households/{household_id}", security(("session" = [])),
    params(doc::Tenant, doc::HouseholdId, HouseholdQuery),
    responses(
        (status = 200, description = "The household", body = HouseholdView),
        doc::InvalidPurposeOrQuery,
        doc::PurposeNotPermitted,
        doc::HouseholdNotFound,
    ))]
pub(crate) async fn read(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(path): ApiPath<HouseholdPath>,
    ApiQuery(query): ApiQuery<HouseholdQuery>,
) -> Result<ApiJson<HouseholdView>, ApiError> {
    let purpose = parse_purpose(&query.purpose)?;
    staff.require_purpose(&state, purpose, READ_PURPOSES).await?;
    let tenant = staff.principal.tenant;
    let as_of = query.as_of.unwrap_or_else(|| state.ledger.now());
    let on = query.on.unwrap_or_else(|| jst_date(state.ledger.now()));
    let view = state.ledger.replay::<Household>(tenant, path.household_id, Some(as_of), Decrypt::No).await?;
    let Some(established_on) = view.state.established_on else {
        return Err(ApiError::refused(&HouseholdRejection::HouseholdNotFound { household_id: path.household_id }));
    };
    let answer = HouseholdView {
        household_id: path.household_id,
        established_on,
        as_of,
        on,
        head_person_id: view.state.head_on(on),
        members_on: view.state.members_on(on),
        memberships: view
            .state
            .memberships
            .iter()
            .map(|m| MembershipView { person_id: m.person_id, joined_on: m.joined_on, left_on: m.left_on })
            .collect(),
        heads: view
            .state
            .heads
            .iter()
            .map(|(person_id, from)| HeadView { person_id: *person_id, from: *from })
            .collect(),
        income_exception_applied: view.state.income_exception_applied(on),
        version: view.version,
    };
    // The access records first: if one cannot be committed, nothing is shown.
    let listed: BTreeSet<Uuid> =
        view.state.memberships.iter().map(|m| m.person_id).chain(view.state.heads.iter().map(|(p, _)| *p)).collect();
    for person_id in listed {
        staff.record_access(&state, purpose, person_id, &[staff.accessed(purpose, person_id, &["household"])]).await?;
    }
    Ok(ApiJson(answer))
}
