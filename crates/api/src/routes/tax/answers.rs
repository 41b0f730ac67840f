//! The reads: a household's tax of a year with its history, as recorded at an instant; the
//! tenant's list of assessments of a year from the `tax_assessments` projection.

use axum::extract::State;
use chrono::{DateTime, Utc};
use kokuho_auth::Purpose;
use kokuho_domain::tax::TaxAssessment;
use kokuho_projections::models::TaxAssessments;
use kokuho_store::Decrypt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{entries, internal, record_tax_access, TaxEntryView, TaxFiguresView, TaxYearPath};
use crate::auth::{parse_purpose, Staff};
use crate::json::{ApiPath, ApiQuery};
use crate::routes::doc;
use crate::{ApiError, ApiJson, AppState};

/// The affairs a household's tax may be read for: assessment, collection (what is due), audit.
const TAX_READ_PURPOSES: &[Purpose] = &[Purpose::Assessment, Purpose::Collection, Purpose::Audit];

/// Rows of the list answered when `limit` is not given, and at most.
const LIST_LIMIT_DEFAULT: i64 = 100;
const LIST_LIMIT_MAX: i64 = 500;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TaxQuery {
    /// The NHI affair this read is for (`assessment`, `collection`, `audit`); the caller's role
    /// must serve it.
    purpose: String,
    /// As recorded at this instant (RFC 3339); default now.
    as_of: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct TaxView {
    household_id: Uuid,
    fiscal_year: i32,
    /// The instant the answer is as recorded at.
    as_of: DateTime<Utc>,
    /// The taxpayer of the figures in force (the head of household).
    taxpayer_person_id: Uuid,
    /// The figures in force: the assessment or its latest reassessment.
    in_force: TaxFiguresView,
    /// A reassessment held for a person to decide (past the correction period), if any.
    held: Option<TaxFiguresView>,
    /// Every entry as recorded at `as_of`, in ledger order, each with its breakdown.
    history: Vec<TaxEntryView>,
    /// The tax stream's version this answer reflects.
    version: i64,
}

/// A household's tax of a fiscal year as recorded at an instant: the figures in force and the
/// full history (assessed, reassessed, held), each entry with when it was recorded and its
/// breakdown. An access is recorded for the taxpayer and every member a breakdown shows before
/// the answer is sent.
#[utoipa::path(get, path = "/v1/{tenant}/households/{household_id}/tax/{fiscal_year}", security(("session" = [])),
    params(doc::Tenant, doc::HouseholdId, doc::FiscalYear, TaxQuery),
    responses(
        (status = 200, description = "The tax of the year and its history", body = TaxView),
        doc::InvalidPurposeOrQuery,
        doc::PurposeNotPermitted,
        (status = 404, description = "`assessment_not_found`: not assessed (as recorded at `as_of`)", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn tax_of_year(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(path): ApiPath<TaxYearPath>,
    ApiQuery(query): ApiQuery<TaxQuery>,
) -> Result<ApiJson<TaxView>, ApiError> {
    let purpose = parse_purpose(&query.purpose)?;
    staff.require_purpose(&state, purpose, TAX_READ_PURPOSES).await?;
    let tenant = staff.principal.tenant;
    let as_of = query.as_of.unwrap_or_else(|| state.ledger.now());
    let view = state.ledger.replay::<TaxAssessment>(tenant, path.id(), Some(as_of), Decrypt::Yes).await?;
    let (Some(in_force), Some(taxpayer)) = (&view.state.current, view.state.taxpayer) else {
        return Err(ApiError::BadRequest {
            status: axum::http::StatusCode::NOT_FOUND,
            code: "assessment_not_found",
            detail: format!(
                "the household's tax for fiscal year {} was not assessed (as recorded at {as_of})",
                path.fiscal_year
            ),
        });
    };
    let history = entries(&view);
    // The access records first: if one cannot be committed, nothing is shown.
    record_tax_access(&state, &staff, purpose, &history.iter().collect::<Vec<_>>()).await?;
    Ok(ApiJson(TaxView {
        household_id: path.household_id,
        fiscal_year: path.fiscal_year,
        as_of,
        taxpayer_person_id: taxpayer,
        in_force: TaxFiguresView::from(in_force),
        held: view.state.held.as_ref().map(TaxFiguresView::from),
        history,
        version: view.version,
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TaxListQuery {
    /// The NHI affair the list is for (`assessment`, `collection`, `audit`).
    purpose: String,
    fiscal_year: i32,
    /// Paging: only households after this id.
    after: Option<Uuid>,
    /// At most this many households (1–500, default 100).
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct TaxAssessmentRowView {
    household_id: Uuid,
    fiscal_year: i32,
    taxpayer_person_id: Uuid,
    /// The total in force, and each part's amount.
    total_yen: i64,
    medical_yen: i64,
    support_yen: i64,
    care_yen: i64,
    child_support_yen: i64,
    statutory_reduction: Option<String>,
    rules_file: String,
    rules_sha256: String,
    /// Reassessments (更正) issued after the assessment.
    corrections: i64,
    /// The total of a reassessment held for a person to decide, if any.
    held_total_yen: Option<i64>,
}

/// The tenant's assessments of a fiscal year, by household id (page with `after`): the figures
/// in force per household. Each row names a taxpayer and what they are charged: an access is
/// recorded for every taxpayer listed before the answer.
#[utoipa::path(get, path = "/v1/{tenant}/tax/assessments", security(("session" = [])),
    params(doc::Tenant, TaxListQuery),
    responses(
        (status = 200, description = "Assessments by household id", body = [TaxAssessmentRowView]),
        doc::InvalidPurposeOrQuery,
        doc::PurposeNotPermitted,
    ))]
pub(crate) async fn assessments(
    State(state): State<AppState>,
    staff: Staff,
    ApiQuery(query): ApiQuery<TaxListQuery>,
) -> Result<ApiJson<Vec<TaxAssessmentRowView>>, ApiError> {
    let purpose = parse_purpose(&query.purpose)?;
    staff.require_purpose(&state, purpose, TAX_READ_PURPOSES).await?;
    let limit = query.limit.unwrap_or(LIST_LIMIT_DEFAULT);
    if !(1..=LIST_LIMIT_MAX).contains(&limit) {
        return Err(ApiError::bad_request("invalid_query", format!("`limit` must be from 1 to {LIST_LIMIT_MAX}")));
    }
    let tenant = staff.principal.tenant;
    state.projections_current(tenant).await?;
    let rows = TaxAssessments::of_year(state.store.db(), &tenant.to_string(), query.fiscal_year, query.after, limit)
        .await
        .map_err(internal)?;
    let mut taxpayers: Vec<Uuid> = rows.iter().map(|row| row.taxpayer_person_id).collect();
    taxpayers.sort();
    super::super::reports::record_accesses(&state, &staff, purpose, taxpayers, "tax_assessment").await?;
    Ok(ApiJson(
        rows.into_iter()
            .map(|row| TaxAssessmentRowView {
                household_id: row.household_id,
                fiscal_year: row.fiscal_year,
                taxpayer_person_id: row.taxpayer_person_id,
                total_yen: row.total_yen,
                medical_yen: row.medical_yen,
                support_yen: row.support_yen,
                care_yen: row.care_yen,
                child_support_yen: row.child_support_yen,
                statutory_reduction: row.statutory_reduction,
                rules_file: row.rules_file,
                rules_sha256: row.rules_sha256,
                corrections: row.corrections,
                held_total_yen: row.held_total_yen,
            })
            .collect(),
    ))
}
