//! Eligibility (資格): acquisitions and losses with their reasons and derived dates, corrections
//! and withdrawals (new events that supersede earlier ones, which the ledger keeps), death,
//! income reported by the resident-tax department, certificates (資格確認書); the bitemporal
//! question "as recorded at `as_of`, was this person insured on `on`?", and a person's full
//! timeline for auditors.
//!
//! A command that can change a 70–74 share (前期高齢者) answers once the `elderly_share` policy
//! has re-decided it (see [`kokuho_ledger::policies`]). Every answer that shows something of a person
//! appends its access event before it is sent (architecture invariant 8).

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, NaiveDate, Utc};
use kokuho_auth::{Purpose, Role};
use kokuho_domain::eligibility::MoveContinuity;
use kokuho_domain::person::Person;
use kokuho_domain::person::{CertificateStatus, InsuredPeriod, LossNotice, PersonCommand};
use kokuho_domain::share::ShareRule;
use kokuho_domain::{PersonId, Rejection, TenantCode};
use kokuho_events::{AcquisitionReason, CorrectionReason, FormerMunicipality, IncomeFigures, LedgerEvent, LossReason};
use kokuho_ledger::{jst_date, Executed};
use kokuho_projections::models::Households;
use kokuho_store::{Decrypt, PersonalData};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::doc;
use super::persons::{recorded, PersonPath, Recorded, READ_PURPOSES};
use crate::auth::{parse_purpose, IdempotencyKey, Staff};
use crate::error::Problem;
use crate::json::{ApiPath, ApiQuery};
use crate::{ApiError, ApiJson, AppState};

/// Who may record a kind of fact, and the affair the command is recorded under.
struct Affair {
    roles: &'static [Role],
    purpose: Purpose,
}

/// Eligibility facts: the eligibility affair and its supervisors.
const ELIGIBILITY: Affair =
    Affair { roles: &[Role::EligibilityClerk, Role::Supervisor], purpose: Purpose::Eligibility };
/// Income reported by the resident-tax department: the assessment affair.
const INCOME: Affair = Affair { roles: &[Role::TaxClerk, Role::Supervisor], purpose: Purpose::Assessment };

mod answers;
pub use answers::*;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/{tenant}/persons/{person_id}/eligibility", post(acquire_eligibility).get(eligibility))
        .route("/v1/{tenant}/persons/{person_id}/eligibility/loss", post(lose_eligibility))
        .route("/v1/{tenant}/persons/{person_id}/eligibility/{period_id}/correction", post(correct_eligibility))
        .route("/v1/{tenant}/persons/{person_id}/eligibility/{period_id}/withdrawal", post(withdraw_eligibility))
        .route("/v1/{tenant}/persons/{person_id}/death", post(record_death))
        .route("/v1/{tenant}/persons/{person_id}/income", post(report_income))
        .route("/v1/{tenant}/persons/{person_id}/certificates", post(issue_certificate))
        .route("/v1/{tenant}/persons/{person_id}/timeline", get(timeline))
}

/// `/v1/{tenant}/persons/{person_id}/eligibility/{period_id}/…`
#[derive(Deserialize)]
pub struct PeriodPath {
    #[allow(dead_code)] // matched by the Staff extractor; named here so the path deserializes
    tenant: String,
    person_id: Uuid,
    period_id: Uuid,
}

fn internal(error: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(error.to_string())
}

/// The events a command recorded: those it appended, or for a retried Idempotency-Key those the
/// first attempt appended (read back from the person's stream).
async fn command_events(
    state: &AppState,
    tenant: TenantCode,
    person_id: PersonId,
    executed: &Executed,
) -> Result<Vec<LedgerEvent>, ApiError> {
    if !executed.events.is_empty() {
        return Ok(executed.events.clone());
    }
    let view = state.ledger.replay::<Person>(tenant, person_id, None, Decrypt::No).await?;
    let range = executed.outcome.first_position..=executed.outcome.last_position;
    let events: Vec<LedgerEvent> = view
        .events
        .into_iter()
        .filter(|(recorded, _)| range.contains(&recorded.position))
        .map(|(_, event)| event)
        .collect();
    if events.is_empty() {
        return Err(ApiError::BadRequest {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "idempotency_key_reused",
            detail: "this Idempotency-Key was already used for a command on another record".into(),
        });
    }
    Ok(events)
}

/// Executes a person command, then waits (bounded) for the policies to react to it, so the
/// answer and the next read show its consequences (the 70–74 share re-decided by the
/// `elderly_share` policy).
async fn execute(
    state: &AppState,
    staff: &Staff,
    key: &IdempotencyKey,
    affair: Affair,
    person_id: PersonId,
    command: PersonCommand,
) -> Result<(Executed, Vec<LedgerEvent>), ApiError> {
    staff.require_role(state, affair.roles).await?;
    let meta = staff.command_meta(affair.purpose, key)?;
    let tenant = staff.principal.tenant;
    let executed = state.ledger.execute::<Person>(tenant, person_id, command, meta).await?;
    let events = command_events(state, tenant, person_id, &executed).await?;
    state.consequences_of(tenant, executed.outcome.last_position).await;
    Ok((executed, events))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormerMunicipalityBody {
    /// The former city's 6-digit local government code.
    municipality_code: String,
    /// The first day the person was no longer insured there (its 資格喪失日).
    lost_on: NaiveDate,
}

impl From<FormerMunicipalityBody> for FormerMunicipality {
    fn from(body: FormerMunicipalityBody) -> FormerMunicipality {
        FormerMunicipality { municipality_code: body.municipality_code, lost_on: body.lost_on }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LossNoticeBody {
    /// `moved_out`, `joined_employee_insurance`, `death`, `public_assistance_started`, `reached_late_stage_elderly`
    #[schema(value_type = String)]
    reason: LossReason,
    /// When it happened; leave it out for `reached_late_stage_elderly` (the 75th birthday).
    event_date: Option<NaiveDate>,
    notified_on: NaiveDate,
}

impl From<LossNoticeBody> for LossNotice {
    fn from(body: LossNoticeBody) -> LossNotice {
        LossNotice { reason: body.reason, event_date: body.event_date, notified_on: body.notified_on }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcquisitionBody {
    /// `moved_in`, `left_employee_insurance`, `birth`, `public_assistance_ended`
    #[schema(value_type = String)]
    reason: AcquisitionReason,
    /// When it happened in the world; the first insured day follows from it by the reason's rule.
    event_date: NaiveDate,
    /// When the notification reached the city.
    notified_on: NaiveDate,
    /// Where the notification came from (入手元), e.g. `person_or_agent`.
    source: String,
    /// The law that allows recording it.
    legal_basis: String,
    /// For a move from another city of the prefecture (`moved_in` only).
    former_municipality: Option<FormerMunicipalityBody>,
    /// For a retroactive period that has already ended.
    loss: Option<LossNoticeBody>,
}

#[derive(Serialize, ToSchema)]
pub struct AcquisitionRecorded {
    person_id: Uuid,
    position: i64,
    recorded_at: DateTime<Utc>,
    duplicate: bool,
    /// Names the period for its loss, corrections and withdrawal.
    period_id: Uuid,
    /// The first day insured, derived from `event_date` by the reason's rule.
    effective_on: NaiveDate,
    /// Notified more than 14 days after the event (the dates still hold).
    notification_late: bool,
    /// The first day not insured, when a loss was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    lost_on: Option<NaiveDate>,
}

/// Record that a person became insured, possibly retroactively and already ended (eligibility
/// clerks, supervisors). With an Idempotency-Key the period id is derived from it, so a retry
/// names the same period.
#[utoipa::path(post, path = "/v1/{tenant}/persons/{person_id}/eligibility", request_body = AcquisitionBody, security(("session" = [])),
    params(doc::Tenant, doc::PersonId, doc::IdempotencyKey),
    responses(
        (status = 201, description = "Recorded", body = AcquisitionRecorded),
        doc::RoleNotPermitted,
        doc::PersonNotFound,
        (status = 409, description = "`already_insured`, `overlapping_period`", body = Problem, content_type = "application/problem+json"),
        doc::PersonErased,
        (status = 422, description = "`date_in_future`, `date_beyond_rule`, `loss_before_acquisition`, `person_deceased`, `field_not_applicable`, `event_date_not_the_rule`, `empty_field`, `invalid_body`; the input checks of docs/domain.md (`text_too_long`, `control_character`, `date_too_early`, `notified_before_event`, `unknown_source`, `unknown_legal_basis`, `fiscal_year_out_of_range`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn acquire_eligibility(
    State(state): State<AppState>,
    staff: Staff,
    key: IdempotencyKey,
    ApiPath(path): ApiPath<PersonPath>,
    ApiJson(body): ApiJson<AcquisitionBody>,
) -> Result<(StatusCode, ApiJson<AcquisitionRecorded>), ApiError> {
    let person_id = PersonId::from_uuid(path.person_id);
    let command = PersonCommand::AcquireEligibility {
        period_id: staff.id_from_key("period", &key),
        reason: body.reason,
        event_date: body.event_date,
        notified_on: body.notified_on,
        acquisition: kokuho_events::Acquisition { source: body.source, legal_basis: body.legal_basis },
        former_municipality: body.former_municipality.map(Into::into),
        loss: body.loss.map(Into::into),
    };
    let (executed, events) = execute(&state, &staff, &key, ELIGIBILITY, person_id, command).await?;
    let Some(acquired) = events.iter().find_map(|e| match e {
        LedgerEvent::EligibilityAcquired(acquired) => Some(acquired),
        _ => None,
    }) else {
        return Err(internal("an acquisition recorded no EligibilityAcquired"));
    };
    let lost_on = events.iter().find_map(|e| match e {
        LedgerEvent::EligibilityLost(lost) => Some(lost.lost_on),
        _ => None,
    });
    Ok((
        super::created_or_retried(&executed),
        ApiJson(AcquisitionRecorded {
            person_id: person_id.as_uuid(),
            position: executed.outcome.last_position,
            recorded_at: executed.outcome.recorded_at,
            duplicate: executed.outcome.duplicate,
            period_id: acquired.period_id,
            effective_on: acquired.effective_on,
            notification_late: acquired.notification_late,
            lost_on,
        }),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LossBody {
    /// `moved_out`, `joined_employee_insurance`, `death`, `public_assistance_started`, `reached_late_stage_elderly`
    #[schema(value_type = String)]
    reason: LossReason,
    /// When it happened; leave it out for `reached_late_stage_elderly` (the 75th birthday).
    event_date: Option<NaiveDate>,
    notified_on: NaiveDate,
    source: String,
    legal_basis: String,
}

#[derive(Serialize, ToSchema)]
pub struct LossRecorded {
    person_id: Uuid,
    position: i64,
    recorded_at: DateTime<Utc>,
    duplicate: bool,
    /// The period that ended.
    period_id: Uuid,
    /// The first day not insured, derived from the event's date by the reason's rule.
    lost_on: NaiveDate,
    notification_late: bool,
}

fn loss_recorded(person_id: PersonId, executed: &Executed, events: &[LedgerEvent]) -> Result<LossRecorded, ApiError> {
    let Some(lost) = events.iter().find_map(|e| match e {
        LedgerEvent::EligibilityLost(lost) => Some(lost),
        _ => None,
    }) else {
        return Err(internal("a loss recorded no EligibilityLost"));
    };
    Ok(LossRecorded {
        person_id: person_id.as_uuid(),
        position: executed.outcome.last_position,
        recorded_at: executed.outcome.recorded_at,
        duplicate: executed.outcome.duplicate,
        period_id: lost.period_id,
        lost_on: lost.lost_on,
        notification_late: lost.notification_late,
    })
}

/// Record that a person's open insured period ended (eligibility clerks, supervisors). A loss
/// by death also records the death. Certificates of the period are invalid from `lost_on`.
#[utoipa::path(post, path = "/v1/{tenant}/persons/{person_id}/eligibility/loss", request_body = LossBody, security(("session" = [])),
    params(doc::Tenant, doc::PersonId, doc::IdempotencyKey),
    responses(
        (status = 201, description = "Recorded", body = LossRecorded),
        doc::RoleNotPermitted,
        doc::PersonNotFound,
        doc::PersonErased,
        (status = 422, description = "`not_insured`, `loss_before_acquisition`, `date_in_future`, `date_beyond_rule`, `event_date_not_the_rule`, `empty_field`, `invalid_body`; the input checks of docs/domain.md (`text_too_long`, `control_character`, `date_too_early`, `notified_before_event`, `unknown_source`, `unknown_legal_basis`, `fiscal_year_out_of_range`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn lose_eligibility(
    State(state): State<AppState>,
    staff: Staff,
    key: IdempotencyKey,
    ApiPath(path): ApiPath<PersonPath>,
    ApiJson(body): ApiJson<LossBody>,
) -> Result<(StatusCode, ApiJson<LossRecorded>), ApiError> {
    let person_id = PersonId::from_uuid(path.person_id);
    let command = PersonCommand::LoseEligibility {
        loss: LossNotice { reason: body.reason, event_date: body.event_date, notified_on: body.notified_on },
        acquisition: kokuho_events::Acquisition { source: body.source, legal_basis: body.legal_basis },
    };
    let (executed, events) = execute(&state, &staff, &key, ELIGIBILITY, person_id, command).await?;
    Ok((super::created_or_retried(&executed), ApiJson(loss_recorded(person_id, &executed, &events)?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectionBody {
    /// The acquisition reason as it should have been recorded.
    #[schema(value_type = String)]
    reason: AcquisitionReason,
    event_date: NaiveDate,
    notified_on: NaiveDate,
    former_municipality: Option<FormerMunicipalityBody>,
    /// The loss as it should have been recorded; leave it out to make the period open again.
    loss: Option<LossNoticeBody>,
    /// `entry_error`, `new_evidence`, `retroactive_notification`
    #[schema(value_type = String)]
    correction_reason: CorrectionReason,
}

#[derive(Serialize, ToSchema)]
pub struct CorrectionRecorded {
    person_id: Uuid,
    position: i64,
    recorded_at: DateTime<Utc>,
    duplicate: bool,
    period_id: Uuid,
    /// The period's first insured day as now recorded.
    effective_on: NaiveDate,
    /// Its first day not insured as now recorded; `null` when open.
    lost_on: Option<NaiveDate>,
    notification_late: bool,
}

/// Restate a recorded period (eligibility clerks, supervisors). The correction supersedes the
/// period's acquisition, loss and earlier corrections in every answer; the ledger and the
/// timeline keep them all.
#[utoipa::path(post, path = "/v1/{tenant}/persons/{person_id}/eligibility/{period_id}/correction", request_body = CorrectionBody, security(("session" = [])),
    params(doc::Tenant, doc::PersonId,
           ("period_id" = Uuid, Path, description = "the period to restate"), doc::IdempotencyKey),
    responses(
        (status = 201, description = "Recorded", body = CorrectionRecorded),
        doc::RoleNotPermitted,
        (status = 404, description = "`person_not_found`, `period_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`already_insured`, `overlapping_period`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`loss_before_acquisition`, `date_in_future`, `date_beyond_rule`, `field_not_applicable`, `invalid_body`; the input checks of docs/domain.md (`text_too_long`, `control_character`, `date_too_early`, `notified_before_event`, `unknown_source`, `unknown_legal_basis`, `fiscal_year_out_of_range`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn correct_eligibility(
    State(state): State<AppState>,
    staff: Staff,
    key: IdempotencyKey,
    ApiPath(path): ApiPath<PeriodPath>,
    ApiJson(body): ApiJson<CorrectionBody>,
) -> Result<(StatusCode, ApiJson<CorrectionRecorded>), ApiError> {
    let person_id = PersonId::from_uuid(path.person_id);
    let command = PersonCommand::CorrectEligibility {
        period_id: path.period_id,
        reason: body.reason,
        event_date: body.event_date,
        notified_on: body.notified_on,
        former_municipality: body.former_municipality.map(Into::into),
        loss: body.loss.map(Into::into),
        correction_reason: body.correction_reason,
    };
    let (executed, events) = execute(&state, &staff, &key, ELIGIBILITY, person_id, command).await?;
    let Some(corrected) = events.iter().find_map(|e| match e {
        LedgerEvent::EligibilityCorrected(corrected) => Some(corrected),
        _ => None,
    }) else {
        return Err(internal("a correction recorded no EligibilityCorrected"));
    };
    Ok((
        super::created_or_retried(&executed),
        ApiJson(CorrectionRecorded {
            person_id: person_id.as_uuid(),
            position: executed.outcome.last_position,
            recorded_at: executed.outcome.recorded_at,
            duplicate: executed.outcome.duplicate,
            period_id: corrected.period_id,
            effective_on: corrected.start.effective_on,
            lost_on: corrected.end.as_ref().map(|end| end.lost_on),
            notification_late: corrected.start.notification_late,
        }),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawalBody {
    /// `entry_error`, `new_evidence`, `retroactive_notification`
    #[schema(value_type = String)]
    correction_reason: CorrectionReason,
}

#[derive(Serialize, ToSchema)]
pub struct WithdrawalRecorded {
    person_id: Uuid,
    position: i64,
    recorded_at: DateTime<Utc>,
    duplicate: bool,
    /// The period that is no longer in effect (the ledger keeps its entries).
    period_id: Uuid,
}

/// Withdraw a recorded period: it never existed (eligibility clerks, supervisors). Its
/// certificates are invalid from then on; the timeline keeps its entries.
#[utoipa::path(post, path = "/v1/{tenant}/persons/{person_id}/eligibility/{period_id}/withdrawal", request_body = WithdrawalBody, security(("session" = [])),
    params(doc::Tenant, doc::PersonId,
           ("period_id" = Uuid, Path, description = "the period to withdraw"), doc::IdempotencyKey),
    responses(
        (status = 201, description = "Recorded", body = WithdrawalRecorded),
        doc::RoleNotPermitted,
        (status = 404, description = "`person_not_found`, `period_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body`; the input checks of docs/domain.md (`text_too_long`, `control_character`, `date_too_early`, `notified_before_event`, `unknown_source`, `unknown_legal_basis`, `fiscal_year_out_of_range`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn withdraw_eligibility(
    State(state): State<AppState>,
    staff: Staff,
    key: IdempotencyKey,
    ApiPath(path): ApiPath<PeriodPath>,
    ApiJson(body): ApiJson<WithdrawalBody>,
) -> Result<(StatusCode, ApiJson<WithdrawalRecorded>), ApiError> {
    let person_id = PersonId::from_uuid(path.person_id);
    let command =
        PersonCommand::WithdrawEligibility { period_id: path.period_id, correction_reason: body.correction_reason };
    let (executed, _) = execute(&state, &staff, &key, ELIGIBILITY, person_id, command).await?;
    Ok((
        super::created_or_retried(&executed),
        ApiJson(WithdrawalRecorded {
            person_id: person_id.as_uuid(),
            position: executed.outcome.last_position,
            recorded_at: executed.outcome.recorded_at,
            duplicate: executed.outcome.duplicate,
            period_id: path.period_id,
        }),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeathBody {
    died_on: NaiveDate,
    notified_on: NaiveDate,
    source: String,
    legal_basis: String,
}

#[derive(Serialize, ToSchema)]
pub struct DeathRecorded {
    person_id: Uuid,
    position: i64,
    recorded_at: DateTime<Utc>,
    duplicate: bool,
    /// The period the death ended (the day after death), `null` when the person was not insured.
    period_id: Option<Uuid>,
    lost_on: Option<NaiveDate>,
}

/// Record a death from the resident registry (eligibility clerks, supervisors). An open period
/// ends the day after.
#[utoipa::path(post, path = "/v1/{tenant}/persons/{person_id}/death", request_body = DeathBody, security(("session" = [])),
    params(doc::Tenant, doc::PersonId, doc::IdempotencyKey),
    responses(
        (status = 201, description = "Recorded", body = DeathRecorded),
        doc::RoleNotPermitted,
        doc::PersonNotFound,
        (status = 422, description = "`person_deceased`, `date_in_future`, `date_beyond_rule`, `loss_before_acquisition`, `invalid_body`; the input checks of docs/domain.md (`text_too_long`, `control_character`, `date_too_early`, `notified_before_event`, `unknown_source`, `unknown_legal_basis`, `fiscal_year_out_of_range`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn record_death(
    State(state): State<AppState>,
    staff: Staff,
    key: IdempotencyKey,
    ApiPath(path): ApiPath<PersonPath>,
    ApiJson(body): ApiJson<DeathBody>,
) -> Result<(StatusCode, ApiJson<DeathRecorded>), ApiError> {
    let person_id = PersonId::from_uuid(path.person_id);
    let command = PersonCommand::RecordDeath {
        died_on: body.died_on,
        notified_on: body.notified_on,
        acquisition: kokuho_events::Acquisition { source: body.source, legal_basis: body.legal_basis },
    };
    let (executed, events) = execute(&state, &staff, &key, ELIGIBILITY, person_id, command).await?;
    let lost = events.iter().find_map(|e| match e {
        LedgerEvent::EligibilityLost(lost) => Some(lost),
        _ => None,
    });
    Ok((
        super::created_or_retried(&executed),
        ApiJson(DeathRecorded {
            person_id: person_id.as_uuid(),
            position: executed.outcome.last_position,
            recorded_at: executed.outcome.recorded_at,
            duplicate: executed.outcome.duplicate,
            period_id: lost.map(|lost| lost.period_id),
            lost_on: lost.map(|lost| lost.lost_on),
        }),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncomeBody {
    /// The calendar year the income was earned in (reported after it ended).
    income_year: i32,
    /// 総所得金額等, yen.
    total_income_yen: i64,
    /// 課税所得, yen.
    taxable_income_yen: i64,
    /// 給与収入, yen.
    salary_income_yen: i64,
    /// 公的年金等収入, yen.
    pension_income_yen: i64,
    /// Whether the person declared their income (申告).
    declared: bool,
    /// e.g. `resident_tax`.
    source: String,
    legal_basis: String,
}

/// Record a person's income of a year as the resident-tax department reported it (tax clerks,
/// supervisors; for assessment). The figures are sealed with the person's key; a later report
/// of the same year supersedes the earlier one.
#[utoipa::path(post, path = "/v1/{tenant}/persons/{person_id}/income", request_body = IncomeBody, security(("session" = [])),
    params(doc::Tenant, doc::PersonId, doc::IdempotencyKey),
    responses(
        (status = 201, description = "Recorded", body = Recorded),
        doc::RoleNotPermitted,
        doc::PersonNotFound,
        (status = 422, description = "`income_year_not_ended`, `amount_negative`, `amount_too_large`, `invalid_body`; the input checks of docs/domain.md (`text_too_long`, `control_character`, `date_too_early`, `notified_before_event`, `unknown_source`, `unknown_legal_basis`, `fiscal_year_out_of_range`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn report_income(
    State(state): State<AppState>,
    staff: Staff,
    key: IdempotencyKey,
    ApiPath(path): ApiPath<PersonPath>,
    ApiJson(body): ApiJson<IncomeBody>,
) -> Result<(StatusCode, ApiJson<Recorded>), ApiError> {
    let person_id = PersonId::from_uuid(path.person_id);
    let command = PersonCommand::ReportIncome {
        income_year: body.income_year,
        figures: IncomeFigures {
            total_income_yen: body.total_income_yen,
            taxable_income_yen: body.taxable_income_yen,
            salary_income_yen: body.salary_income_yen,
            pension_income_yen: body.pension_income_yen,
            declared: body.declared,
        },
        acquisition: kokuho_events::Acquisition { source: body.source, legal_basis: body.legal_basis },
    };
    let (executed, _) = execute(&state, &staff, &key, INCOME, person_id, command).await?;
    Ok(recorded(person_id, executed))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateBody {
    certificate_no: String,
    /// Valid from this day (the person must be insured on it).
    issued_on: NaiveDate,
    /// Valid through this day, unless the period is lost first.
    valid_until: NaiveDate,
}

/// Issue an eligibility certificate (資格確認書) for the period covering `issued_on`
/// (eligibility clerks, supervisors).
#[utoipa::path(post, path = "/v1/{tenant}/persons/{person_id}/certificates", request_body = CertificateBody, security(("session" = [])),
    params(doc::Tenant, doc::PersonId, doc::IdempotencyKey),
    responses(
        (status = 201, description = "Recorded", body = Recorded),
        doc::RoleNotPermitted,
        doc::PersonNotFound,
        (status = 409, description = "`certificate_already_issued`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`not_insured`, `invalid_validity`, `empty_field`, `date_in_future`, `invalid_body`; the input checks of docs/domain.md (`text_too_long`, `control_character`, `date_too_early`, `notified_before_event`, `unknown_source`, `unknown_legal_basis`, `fiscal_year_out_of_range`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn issue_certificate(
    State(state): State<AppState>,
    staff: Staff,
    key: IdempotencyKey,
    ApiPath(path): ApiPath<PersonPath>,
    ApiJson(body): ApiJson<CertificateBody>,
) -> Result<(StatusCode, ApiJson<Recorded>), ApiError> {
    let command = PersonCommand::IssueCertificate {
        certificate_no: body.certificate_no,
        issued_on: body.issued_on,
        valid_until: body.valid_until,
    };
    super::persons::execute(
        &state,
        &staff,
        &key,
        ELIGIBILITY.roles,
        ELIGIBILITY.purpose,
        PersonId::from_uuid(path.person_id),
        command,
    )
    .await
}
