//! Tenant-wide eligibility lists from the projections: the 70–74 cost-share table, moves with
//! their gap or overlap (the aggregation system's check), and late notifications.
//!
//! Each row names a person and says something about them (an income class, a move), so every
//! person listed gets an access event, committed before the list is answered (invariant 8).
//! Lists are paged by person id (`after`) and bounded, which also bounds those appends.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use chrono::NaiveDate;
use kokuho_auth::Purpose;
use kokuho_projections::models::{ElderlyCostShares, EligibilityPeriods};
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::doc;
use crate::auth::{parse_purpose, Staff};
use crate::json::ApiQuery;
use crate::{ApiError, ApiJson, AppState};

/// At most this many persons per answer: page on with `after`.
const REPORT_ROWS_MAX: usize = 500;

/// The affairs these lists serve.
const REPORT_PURPOSES: &[Purpose] = &[Purpose::Eligibility, Purpose::Assessment, Purpose::Benefits, Purpose::Audit];

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/{tenant}/cost-shares", get(cost_shares))
        .route("/v1/{tenant}/eligibility/moves", get(moves))
        .route("/v1/{tenant}/eligibility/late-notifications", get(late_notifications))
}

fn internal(error: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(error.to_string())
}

/// Keeps the rows after `after` (by person id), at most [`REPORT_ROWS_MAX`] persons.
fn page<T>(mut rows: Vec<T>, person_of: impl Fn(&T) -> Uuid, after: Option<Uuid>) -> Vec<T> {
    rows.sort_by_key(&person_of);
    let mut persons = 0;
    let mut last = None;
    rows.retain(|row| {
        let person = person_of(row);
        if after.is_some_and(|after| person <= after) {
            return false;
        }
        if last != Some(person) {
            persons += 1;
            last = Some(person);
        }
        persons <= REPORT_ROWS_MAX
    });
    rows
}

/// Records one access per listed person, concurrently (the writer commits them together), and
/// returns once every one is committed. `persons` in order: repeats next to each other count once.
pub(crate) async fn record_accesses(
    state: &AppState,
    staff: &Staff,
    purpose: Purpose,
    persons: Vec<Uuid>,
    item: &str,
) -> Result<(), ApiError> {
    let mut persons = persons;
    persons.dedup();
    let tenant = staff.principal.tenant;
    let mut appends = JoinSet::new();
    for person_id in persons {
        let ledger = state.ledger.clone();
        let event = staff.accessed(purpose, person_id, &[item]);
        let meta = staff.meta(purpose);
        appends.spawn(async move { ledger.record(tenant, format!("access-{person_id}"), &[event], meta).await });
    }
    while let Some(joined) = appends.join_next().await {
        joined.map_err(internal)?.map_err(ApiError::from)?;
    }
    Ok(())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CostShareQuery {
    /// The NHI affair the list is for.
    purpose: String,
    /// The day the shares are in force; default today (JST).
    on: Option<NaiveDate>,
    /// Paging: only persons after this id.
    after: Option<Uuid>,
}

#[derive(Serialize, ToSchema)]
pub struct CostShareRow {
    person_id: Uuid,
    household_id: Option<Uuid>,
    /// `two_tenths` or `three_tenths`.
    share: String,
    tenths: u8,
    /// The branch of the 70–74 rule: `no_member_at_threshold`, `kyu_tadashigaki_within_limit`,
    /// `income_under_application_limit`, `active_income`.
    basis: String,
    valid_from: NaiveDate,
    income_year: i32,
    /// SHA-256 of the eligibility rule file the decision applied.
    rules_sha256: String,
}

/// The 70–74 cost-share table (前期高齢者): the share of each person decided and in force on `on`.
/// Every person listed is recorded in the access record before the answer.
#[utoipa::path(get, path = "/v1/{tenant}/cost-shares", security(("session" = [])),
    params(doc::Tenant, CostShareQuery),
    responses(
        (status = 200, description = "Decisions in force, by person id (at most 500 persons; page with `after`)", body = [CostShareRow]),
        doc::PurposeNotPermitted,
    ))]
pub(crate) async fn cost_shares(
    State(state): State<AppState>,
    staff: Staff,
    ApiQuery(query): ApiQuery<CostShareQuery>,
) -> Result<ApiJson<Vec<CostShareRow>>, ApiError> {
    let purpose = parse_purpose(&query.purpose)?;
    staff.require_purpose(&state, purpose, REPORT_PURPOSES).await?;
    let tenant = staff.principal.tenant;
    state.projections_current(tenant).await?;
    let on = query.on.unwrap_or_else(|| kokuho_ledger::jst_date(state.ledger.now()));
    let rows = ElderlyCostShares::in_force(state.store.db(), &tenant.to_string(), on).await.map_err(internal)?;
    let rows = page(rows, |row| row.person_id, query.after);
    record_accesses(&state, &staff, purpose, rows.iter().map(|row| row.person_id).collect(), "cost_share").await?;
    Ok(ApiJson(
        rows.into_iter()
            .map(|row| CostShareRow {
                person_id: row.person_id,
                household_id: row.household_id,
                share: serde_json::to_value(row.share)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                tenths: row.share.tenths(),
                basis: row.basis,
                valid_from: row.valid_from,
                income_year: row.income_year,
                rules_sha256: row.rules_sha256,
            })
            .collect(),
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// The NHI affair the list is for.
    purpose: String,
    /// Paging: only persons after this id.
    after: Option<Uuid>,
}

#[derive(Serialize, ToSchema)]
pub struct MoveReportRow {
    person_id: Uuid,
    period_id: Uuid,
    former_municipality_code: String,
    /// First day not insured in the former city.
    former_lost_on: NaiveDate,
    /// First day insured here.
    effective_on: NaiveDate,
    /// `continuous`, `gap` or `overlap`.
    continuity: String,
    /// Days uninsured (gap) or insured twice (overlap); 0 when continuous.
    days: i64,
}

/// Moves from cities of the same prefecture with the gap or overlap between the former city's
/// end and our start, as the aggregation system (国保情報集約システム) checks them.
#[utoipa::path(get, path = "/v1/{tenant}/eligibility/moves", security(("session" = [])),
    params(doc::Tenant, ListQuery),
    responses(
        (status = 200, description = "Moves by person id (at most 500 persons; page with `after`)", body = [MoveReportRow]),
        doc::PurposeNotPermitted,
    ))]
pub(crate) async fn moves(
    State(state): State<AppState>,
    staff: Staff,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<ApiJson<Vec<MoveReportRow>>, ApiError> {
    use kokuho_domain::eligibility::MoveContinuity;
    let purpose = parse_purpose(&query.purpose)?;
    staff.require_purpose(&state, purpose, REPORT_PURPOSES).await?;
    let tenant = staff.principal.tenant;
    state.projections_current(tenant).await?;
    let rows = EligibilityPeriods::moves(state.store.db(), &tenant.to_string()).await.map_err(internal)?;
    let rows = page(rows, |row| row.person_id, query.after);
    record_accesses(&state, &staff, purpose, rows.iter().map(|row| row.person_id).collect(), "eligibility").await?;
    Ok(ApiJson(
        rows.into_iter()
            .map(|row| {
                let (continuity, days) = match row.continuity {
                    MoveContinuity::Continuous => ("continuous", 0),
                    MoveContinuity::Gap { days, .. } => ("gap", days),
                    MoveContinuity::Overlap { days, .. } => ("overlap", days),
                };
                MoveReportRow {
                    person_id: row.person_id,
                    period_id: row.period_id,
                    former_municipality_code: row.former_municipality_code,
                    former_lost_on: row.former_lost_on,
                    effective_on: row.effective_on,
                    continuity: continuity.to_owned(),
                    days,
                }
            })
            .collect(),
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LateQuery {
    /// The NHI affair the list is for.
    purpose: String,
    /// Notified on or after this day.
    from: NaiveDate,
    /// Notified on or before this day.
    to: NaiveDate,
    /// Paging: only persons after this id.
    after: Option<Uuid>,
}

#[derive(Serialize, ToSchema)]
pub struct LateNotificationReportRow {
    person_id: Uuid,
    period_id: Uuid,
    /// `acquisition` or `loss`.
    kind: String,
    reason: String,
    event_date: NaiveDate,
    notified_on: NaiveDate,
}

/// Notifications received after the 14-day deadline (施行規則 §2), by the day they were notified.
#[utoipa::path(get, path = "/v1/{tenant}/eligibility/late-notifications", security(("session" = [])),
    params(doc::Tenant, LateQuery),
    responses(
        (status = 200, description = "Late notifications by person id (at most 500 persons; page with `after`)", body = [LateNotificationReportRow]),
        doc::PurposeNotPermitted,
    ))]
pub(crate) async fn late_notifications(
    State(state): State<AppState>,
    staff: Staff,
    ApiQuery(query): ApiQuery<LateQuery>,
) -> Result<ApiJson<Vec<LateNotificationReportRow>>, ApiError> {
    let purpose = parse_purpose(&query.purpose)?;
    staff.require_purpose(&state, purpose, REPORT_PURPOSES).await?;
    if query.to < query.from {
        return Err(ApiError::bad_request("invalid_range", format!("to {} is before from {}", query.to, query.from)));
    }
    let tenant = staff.principal.tenant;
    state.projections_current(tenant).await?;
    let rows = EligibilityPeriods::late_notifications(state.store.db(), &tenant.to_string(), query.from, query.to)
        .await
        .map_err(internal)?;
    let rows = page(rows, |row| row.person_id, query.after);
    record_accesses(&state, &staff, purpose, rows.iter().map(|row| row.person_id).collect(), "eligibility").await?;
    Ok(ApiJson(
        rows.into_iter()
            .map(|row| LateNotificationReportRow {
                person_id: row.person_id,
                period_id: row.period_id,
                kind: serde_json::to_value(row.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                reason: row.reason,
                event_date: row.event_date,
                notified_on: row.notified_on,
            })
            .collect(),
    ))
}
