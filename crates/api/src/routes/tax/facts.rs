//! The facts a tax section records on a person's application: involuntary unemployment
//! (非自発的失業者の軽減) and a birth or due date (産前産後期間の免除). Both are personal (sealed
//! with the person's key); the assessment reads them from the person's stream.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use kokuho_auth::Purpose;
use kokuho_domain::person::{Person, PersonCommand};
use kokuho_domain::PersonId;
use serde::Deserialize;
use utoipa::ToSchema;

use super::TAX_ROLES;
use crate::auth::{IdempotencyKey, Staff};
use crate::error::Problem;
use crate::json::ApiPath;
use crate::routes::doc;
use crate::routes::persons::{PersonPath, Recorded};
use crate::{ApiError, ApiJson, AppState};

/// Who applies: the person or their agent, at the counter.
const SOURCE: &str = "person_or_agent";
/// The law each fact is recorded under (the sources of `rules/tax_national.toml`).
const UNEMPLOYMENT_BASIS: &str = "地方税法 第703条の5, 地方税法施行令 第56条の89の2 (非自発的失業者に係る軽減)";
const CHILDBIRTH_BASIS: &str = "地方税法 第703条の5の2 (産前産後期間に係る国民健康保険税の減額)";

/// Records a person command of the tax section; 200 when it changed nothing (the same facts
/// recorded before) or answered a retried Idempotency-Key.
async fn execute(
    state: &AppState,
    staff: &Staff,
    key: &IdempotencyKey,
    person_id: PersonId,
    command: PersonCommand,
) -> Result<(StatusCode, ApiJson<Recorded>), ApiError> {
    staff.require_role(state, TAX_ROLES).await?;
    let meta = staff.command_meta(Purpose::Assessment, key)?;
    let tenant = staff.principal.tenant;
    let executed = state.ledger.execute::<Person>(tenant, person_id, command, meta).await?;
    state.consequences_of(tenant, executed.outcome.last_position).await;
    let status = if executed.is_unchanged() { StatusCode::OK } else { super::super::created_or_retried(&executed) };
    Ok((
        status,
        ApiJson(Recorded {
            person_id: person_id.as_uuid(),
            position: executed.outcome.last_position,
            recorded_at: executed.outcome.recorded_at,
            duplicate: executed.outcome.duplicate,
        }),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnemploymentBody {
    /// The day of separation (離職日), as on the 雇用保険受給資格者証.
    separated_on: NaiveDate,
    /// The 離職理由コード (2 digits: 11, 12, 21, 22, 23, 31, 32, 33, 34 qualify).
    reason_code: String,
}

/// Record a person's application for the involuntary-unemployment reduction (tax clerks,
/// supervisors): their salary income counts at 30/100 from the month after separation to the end
/// of the next fiscal year, when the reason code qualifies and they were under 65. Reassess the
/// household's years it touches to apply it.
#[utoipa::path(post, path = "/v1/{tenant}/persons/{person_id}/tax-facts/unemployment", request_body = UnemploymentBody, security(("session" = [])),
    params(doc::Tenant, doc::PersonId, doc::IdempotencyKey),
    responses(
        (status = 201, description = "Recorded", body = Recorded),
        (status = 200, description = "The same facts were recorded before (nothing recorded), or a retried Idempotency-Key", body = Recorded),
        doc::RoleNotPermitted,
        doc::PersonNotFound,
        doc::PersonErased,
        (status = 422, description = "`date_in_future`, `field_not_applicable`, `invalid_body`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn record_unemployment(
    State(state): State<AppState>,
    staff: Staff,
    key: IdempotencyKey,
    ApiPath(path): ApiPath<PersonPath>,
    ApiJson(body): ApiJson<UnemploymentBody>,
) -> Result<(StatusCode, ApiJson<Recorded>), ApiError> {
    let command = PersonCommand::RecordUnemployment {
        separated_on: body.separated_on,
        reason_code: body.reason_code,
        acquisition: kokuho_events::Acquisition { source: SOURCE.into(), legal_basis: UNEMPLOYMENT_BASIS.into() },
    };
    execute(&state, &staff, &key, PersonId::from_uuid(path.person_id), command).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChildbirthBody {
    /// The day of birth, or the due date (出産予定日) when notified before it (at most 6 months
    /// ahead); a birth within two months of a recorded due date replaces it.
    born_on: NaiveDate,
    /// Twins or more (多胎).
    #[serde(default)]
    multiple: bool,
}

/// Record a mother's notification of a birth or a due date for the childbirth exemption (tax
/// clerks, supervisors): her income and per-capita levies are exempt for 4 months from the month
/// before the birth month (6 from 3 months before, for a multiple birth). Reassess the household's
/// years it touches to apply it.
#[utoipa::path(post, path = "/v1/{tenant}/persons/{person_id}/tax-facts/childbirth", request_body = ChildbirthBody, security(("session" = [])),
    params(doc::Tenant, doc::PersonId, doc::IdempotencyKey),
    responses(
        (status = 201, description = "Recorded", body = Recorded),
        (status = 200, description = "The same facts were recorded before (nothing recorded), or a retried Idempotency-Key", body = Recorded),
        doc::RoleNotPermitted,
        doc::PersonNotFound,
        doc::PersonErased,
        (status = 422, description = "`field_not_applicable`, `invalid_body`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn record_childbirth(
    State(state): State<AppState>,
    staff: Staff,
    key: IdempotencyKey,
    ApiPath(path): ApiPath<PersonPath>,
    ApiJson(body): ApiJson<ChildbirthBody>,
) -> Result<(StatusCode, ApiJson<Recorded>), ApiError> {
    let command = PersonCommand::RecordChildbirth {
        born_on: body.born_on,
        multiple: body.multiple,
        acquisition: kokuho_events::Acquisition { source: SOURCE.into(), legal_basis: CHILDBIRTH_BASIS.into() },
    };
    execute(&state, &staff, &key, PersonId::from_uuid(path.person_id), command).await
}
