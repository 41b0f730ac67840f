//! NHI tax (国民健康保険税): the assessment (賦課) of a household for a fiscal year, its
//! reassessment (更正), the household's tax of a year with its history as recorded at an
//! instant, the tenant's list of assessments, the counter's simulation (窓口試算, which records
//! nothing), and the facts a tax section records on application (involuntary unemployment,
//! childbirth).
//!
//! The amounts are in clear in the events; the breakdown by member (income bases, the reduction
//! test, the reductions applied to whom) is sealed with the taxpayer's key. Every answer that
//! shows a breakdown or names a taxpayer records an access for each person it shows, before it
//! is sent (architecture invariant 8).

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use kokuho_auth::{Purpose, Role};
use kokuho_domain::tax::assessment::check_fiscal_year;
use kokuho_domain::tax::{AssessmentId, TaxAssessment, TaxCommand};
use kokuho_events::{LedgerEvent, TaxFigures};
use kokuho_ledger::jst_date;
use kokuho_ledger::View;
use kokuho_store::Decrypt;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::doc;
use crate::auth::{IdempotencyKey, Staff};
use crate::error::Problem;
use crate::json::{ApiOptionalJson, ApiPath};
use crate::{ApiError, ApiJson, AppState};

mod answers;
mod facts;
mod simulation;

pub use answers::*;
pub use facts::*;
pub use simulation::*;

/// Who assesses and reassesses: the tax section (賦課係) and its supervisors.
const TAX_ROLES: &[Role] = &[Role::TaxClerk, Role::Supervisor];

/// What a reassessment may give as its reason (the event's `reason`, kept in clear: a fixed
/// list, so nothing personal is typed into it).
const REASSESSMENT_REASONS: &[&str] = &["staff", "eligibility", "income", "household", "tax_facts", "rules"];

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/{tenant}/households/{household_id}/tax/{fiscal_year}", get(tax_of_year))
        .route("/v1/{tenant}/households/{household_id}/tax/{fiscal_year}/assessment", post(assess))
        .route("/v1/{tenant}/households/{household_id}/tax/{fiscal_year}/reassessment", post(reassess))
        .route("/v1/{tenant}/tax/assessments", get(assessments))
        .route("/v1/{tenant}/tax/simulation", post(simulate))
        .route("/v1/{tenant}/persons/{person_id}/tax-facts/unemployment", post(record_unemployment))
        .route("/v1/{tenant}/persons/{person_id}/tax-facts/childbirth", post(record_childbirth))
}

fn internal(error: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(error.to_string())
}

/// `/v1/{tenant}/households/{household_id}/tax/{fiscal_year}…`
#[derive(Deserialize)]
pub struct TaxYearPath {
    #[allow(dead_code)] // matched by the Staff extractor; named here so the path deserializes
    tenant: String,
    household_id: Uuid,
    fiscal_year: i32,
}

impl TaxYearPath {
    fn id(&self) -> AssessmentId {
        AssessmentId { household_id: self.household_id, fiscal_year: self.fiscal_year }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TaxPartView {
    /// `medical` (医療分), `support` (後期高齢者支援金分), `care` (介護納付金分), `child_support`
    /// (子ども・子育て支援納付金分).
    part: String,
    amount_yen: i64,
    /// Months in which the part was levied.
    months: u32,
    /// Whether the part's limit (賦課限度額) cut it.
    capped: bool,
}

#[derive(Serialize, ToSchema)]
pub struct TaxInstallmentView {
    number: u32,
    /// The calendar month it falls due.
    month: u32,
    amount_yen: i64,
}

/// The amounts an assessment charges and the rule files it applied.
#[derive(Serialize, ToSchema)]
pub struct TaxFiguresView {
    total_yen: i64,
    parts: Vec<TaxPartView>,
    installments: Vec<TaxInstallmentView>,
    /// `statutory_seven_tenths`, `statutory_five_tenths`, `statutory_two_tenths`, or `null`.
    statutory_reduction: Option<String>,
    /// The city's rule file (`112020/2025/tax.toml`) and its SHA-256.
    rules_file: String,
    rules_sha256: String,
    /// SHA-256 of the statutory figures (`tax_national.toml`).
    national_sha256: String,
}

impl From<&TaxFigures> for TaxFiguresView {
    fn from(figures: &TaxFigures) -> TaxFiguresView {
        TaxFiguresView {
            total_yen: figures.total_yen,
            parts: figures
                .parts
                .iter()
                .map(|part| TaxPartView {
                    part: part.part.clone(),
                    amount_yen: part.amount_yen,
                    months: part.months,
                    capped: part.capped,
                })
                .collect(),
            installments: figures
                .installments
                .iter()
                .map(|i| TaxInstallmentView { number: i.number, month: i.month, amount_yen: i.amount_yen })
                .collect(),
            statutory_reduction: figures.statutory_reduction.clone(),
            rules_file: figures.rules_file.clone(),
            rules_sha256: figures.rules_sha256.clone(),
            national_sha256: figures.national_sha256.clone(),
        }
    }
}

/// One entry of a household's tax of a year: an assessment, a reassessment, or a reassessment
/// held for a person to decide (a year past the correction period).
#[derive(Serialize, ToSchema)]
pub struct TaxEntryView {
    /// `assessed`, `reassessed` or `held`.
    kind: String,
    /// The ledger position of the event.
    position: i64,
    /// When the ledger recorded it (transaction time).
    recorded_at: DateTime<Utc>,
    taxpayer_person_id: Uuid,
    total_yen: i64,
    /// New total − the total in force before it (0 for an assessment).
    difference_yen: i64,
    /// Why it was computed again: `staff`, `eligibility`, `income`, `household`, `tax_facts`,
    /// `rules`; `null` for an assessment.
    reason: Option<String>,
    /// The ledger position of the event that led to it, when a policy issued it.
    triggered_by: Option<i64>,
    figures: TaxFiguresView,
    /// The whole breakdown: each part month by month, the members with their months and income
    /// bases, the statutory reduction test, every reduction applied and why, the installments.
    /// `null` when the taxpayer's personal data was erased.
    #[schema(value_type = Option<Object>)]
    breakdown: Option<serde_json::Value>,
}

impl TaxEntryView {
    /// The persons this entry shows something of: the taxpayer, and each member of the breakdown.
    fn persons(&self) -> impl Iterator<Item = Uuid> + '_ {
        let members = self
            .breakdown
            .as_ref()
            .and_then(|breakdown| breakdown.get("members"))
            .and_then(|members| members.as_array())
            .into_iter()
            .flatten()
            .filter_map(|member| member.get("person_id")?.as_str()?.parse::<Uuid>().ok());
        std::iter::once(self.taxpayer_person_id).chain(members)
    }
}

/// The entries of a tax stream, in ledger order.
fn entries(view: &View<TaxAssessment>) -> Vec<TaxEntryView> {
    view.events
        .iter()
        .filter_map(|(recorded, event)| {
            let (kind, taxpayer, figures, difference, reason, triggered_by, personal) = match event {
                LedgerEvent::TaxAssessed(e) => {
                    ("assessed", e.taxpayer_person_id, &e.figures, 0, None, None, &e.personal)
                }
                LedgerEvent::TaxReassessed(e) => (
                    "reassessed",
                    e.taxpayer_person_id,
                    &e.figures,
                    e.difference_yen,
                    Some(e.reason.clone()),
                    e.triggered_by,
                    &e.personal,
                ),
                LedgerEvent::TaxReassessmentHeld(e) => (
                    "held",
                    e.taxpayer_person_id,
                    &e.figures,
                    e.difference_yen,
                    Some(e.reason.clone()),
                    e.triggered_by,
                    &e.personal,
                ),
                _ => return None,
            };
            Some(TaxEntryView {
                kind: kind.to_owned(),
                position: recorded.position,
                recorded_at: recorded.recorded_at,
                taxpayer_person_id: taxpayer,
                total_yen: figures.total_yen,
                difference_yen: difference,
                reason,
                triggered_by,
                figures: TaxFiguresView::from(figures),
                breakdown: personal.as_present().cloned(),
            })
        })
        .collect()
}

/// Records one access per person `entries` show (the taxpayer, the members of each breakdown),
/// committed before the answer is sent.
async fn record_tax_access(
    state: &AppState,
    staff: &Staff,
    purpose: Purpose,
    entries: &[&TaxEntryView],
) -> Result<(), ApiError> {
    let persons: BTreeSet<Uuid> = entries.iter().flat_map(|entry| entry.persons()).collect();
    super::reports::record_accesses(state, staff, purpose, persons.into_iter().collect(), "tax_assessment").await
}

/// The answer to an assessment or a reassessment.
#[derive(Serialize, ToSchema)]
pub struct TaxCommandAnswer {
    household_id: Uuid,
    fiscal_year: i32,
    /// `assessed` and `reassessed` (recorded now, or by the first attempt of a retried
    /// Idempotency-Key), `held` (a year past the correction period: recorded for a person to
    /// decide, the figures in force stay), `already_assessed` (nothing recorded: the assessment in
    /// force is shown), `unchanged` (a reassessment that would charge the same: nothing recorded).
    outcome: String,
    /// True when this was a retry of an Idempotency-Key already answered: nothing new was recorded.
    duplicate: bool,
    /// New total − the total in force before (0 when nothing was recorded, and for an assessment).
    difference_yen: i64,
    /// The entry recorded, or for `already_assessed` and `unchanged` the entry in force.
    entry: TaxEntryView,
}

/// The command path assessments and reassessments share: role check, metadata, one ledger
/// call, then the entry read back from the stream (decrypted) and its accesses recorded.
async fn execute(
    state: &AppState,
    staff: &Staff,
    key: &IdempotencyKey,
    id: AssessmentId,
    command: TaxCommand,
) -> Result<(StatusCode, ApiJson<TaxCommandAnswer>), ApiError> {
    staff.require_role(state, TAX_ROLES).await?;
    // The year first, as the simulation does: the ledger builds the year's months from it.
    check_fiscal_year(id.fiscal_year, jst_date(state.ledger.now()))
        .map_err(|rejection| ApiError::refused(&rejection))?;
    let meta = staff.command_meta(Purpose::Assessment, key)?;
    let tenant = staff.principal.tenant;
    let assessing = matches!(command, TaxCommand::Assess);
    let executed = state.ledger.execute::<TaxAssessment>(tenant, id, command, meta).await?;
    let view = state.ledger.replay::<TaxAssessment>(tenant, id, None, Decrypt::Yes).await?;
    let mut entries = entries(&view);
    let unchanged = executed.is_unchanged();
    let found = if unchanged {
        // Nothing recorded: the entry in force (the latest assessment or reassessment).
        entries.iter().rposition(|entry| entry.kind != "held")
    } else {
        let range = executed.outcome.first_position..=executed.outcome.last_position;
        entries.iter().position(|entry| range.contains(&entry.position))
    };
    let Some(found) = found else {
        if executed.outcome.duplicate {
            return Err(ApiError::BadRequest {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "idempotency_key_reused",
                detail: "this Idempotency-Key was already used for a command on another record".into(),
            });
        }
        return Err(internal("a tax command answered without an entry in its stream"));
    };
    let entry = entries.swap_remove(found);
    record_tax_access(state, staff, Purpose::Assessment, &[&entry]).await?;
    let outcome = match (unchanged, assessing) {
        (true, true) => "already_assessed".to_owned(),
        (true, false) => "unchanged".to_owned(),
        (false, _) => entry.kind.clone(),
    };
    let status = if unchanged { StatusCode::OK } else { super::created_or_retried(&executed) };
    Ok((
        status,
        ApiJson(TaxCommandAnswer {
            household_id: id.household_id,
            fiscal_year: id.fiscal_year,
            outcome,
            duplicate: executed.outcome.duplicate,
            difference_yen: if unchanged { 0 } else { entry.difference_yen },
            entry,
        }),
    ))
}

/// Assess a household's NHI tax for a fiscal year (本算定; tax clerks, supervisors): the head of
/// household is the taxpayer, insured or not; the household's members, their insured months and
/// their incomes of the year before are read from the ledger, the rates from the tenant's rule
/// file of the year. 201 with the figures recorded and the breakdown (an access is recorded for
/// each person it shows); a household already assessed answers 200 with the assessment in force
/// and records nothing.
#[utoipa::path(post, path = "/v1/{tenant}/households/{household_id}/tax/{fiscal_year}/assessment", security(("session" = [])),
    params(doc::Tenant, doc::HouseholdId, doc::FiscalYear, doc::IdempotencyKey),
    responses(
        (status = 201, description = "Assessed", body = TaxCommandAnswer),
        (status = 200, description = "Already assessed (nothing recorded), or a retried Idempotency-Key", body = TaxCommandAnswer),
        doc::RoleNotPermitted,
        doc::HouseholdNotFound,
        (status = 409, description = "`nobody_insured`, `tax_rules_unavailable`, `asset_levy_unsupported`, `date_of_birth_unknown`, `head_not_member`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`fiscal_year_out_of_range`, `amount_out_of_range`, `invalid_idempotency_key`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn assess(
    State(state): State<AppState>,
    staff: Staff,
    key: IdempotencyKey,
    ApiPath(path): ApiPath<TaxYearPath>,
) -> Result<(StatusCode, ApiJson<TaxCommandAnswer>), ApiError> {
    execute(&state, &staff, &key, path.id(), TaxCommand::Assess).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReassessmentBody {
    /// What led to it: `staff` (the default), `eligibility`, `income`, `household`, `tax_facts`,
    /// `rules`.
    reason: Option<String>,
}

/// Compute an assessed household's tax again (更正; tax clerks, supervisors) from what the ledger
/// records now. 201 with the new figures and `difference_yen` when they differ (a year older
/// than the correction period records them as `held`, for a person to decide, and the figures in
/// force stay); 200 `unchanged` when nothing differs. The body may be left out.
#[utoipa::path(post, path = "/v1/{tenant}/households/{household_id}/tax/{fiscal_year}/reassessment", request_body(content = Option<ReassessmentBody>, description = "optional"), security(("session" = [])),
    params(doc::Tenant, doc::HouseholdId, doc::FiscalYear, doc::IdempotencyKey),
    responses(
        (status = 201, description = "Reassessed (or held)", body = TaxCommandAnswer),
        (status = 200, description = "Unchanged (nothing recorded), or a retried Idempotency-Key", body = TaxCommandAnswer),
        doc::RoleNotPermitted,
        doc::HouseholdNotFound,
        (status = 409, description = "`not_assessed`, `nobody_insured`, `tax_rules_unavailable`, `asset_levy_unsupported`, `date_of_birth_unknown`, `head_not_member`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`fiscal_year_out_of_range`, `amount_out_of_range`, `invalid_reason`, `invalid_body`, `invalid_idempotency_key`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn reassess(
    State(state): State<AppState>,
    staff: Staff,
    key: IdempotencyKey,
    ApiPath(path): ApiPath<TaxYearPath>,
    ApiOptionalJson(body): ApiOptionalJson<ReassessmentBody>,
) -> Result<(StatusCode, ApiJson<TaxCommandAnswer>), ApiError> {
    let reason = body.and_then(|body| body.reason).unwrap_or_else(|| "staff".to_owned());
    if !REASSESSMENT_REASONS.contains(&reason.as_str()) {
        // Checked after the role, so a caller without it is refused (and recorded) as such.
        staff.require_role(&state, TAX_ROLES).await?;
        return Err(ApiError::BadRequest {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid_reason",
            detail: format!("`reason` must be one of: {}", REASSESSMENT_REASONS.join(", ")),
        });
    }
    execute(&state, &staff, &key, path.id(), TaxCommand::Reassess { reason, triggered_by: None }).await
}
