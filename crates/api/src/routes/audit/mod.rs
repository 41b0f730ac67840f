//! The access record for auditors: who looked at whom, which items, and why.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use kokuho_auth::Role;
use kokuho_projections::models::{AccessFilter, AccessLog, ACCESS_ROWS_MAX};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::doc;
use crate::auth::Staff;
use crate::json::ApiQuery;
use crate::{ApiError, ApiJson, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/v1/{tenant}/access-records", get(access_records))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AccessQuery {
    /// Only accesses to this person.
    person_id: Option<Uuid>,
    /// Only accesses by this staff member.
    user_id: Option<Uuid>,
    /// From this instant (RFC 3339, inclusive).
    from: Option<DateTime<Utc>>,
    /// Up to this instant (RFC 3339, inclusive).
    to: Option<DateTime<Utc>>,
    /// Paging: only records after this ledger position.
    after: Option<i64>,
    /// At most this many (default and maximum 1,000).
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct AccessRecord {
    /// Ledger position of the access event.
    position: i64,
    recorded_at: DateTime<Utc>,
    user_id: Uuid,
    role: String,
    person_id: Uuid,
    items: Vec<String>,
    purpose: String,
}

/// List access events by person, by staff member and by period (auditors, supervisors).
#[utoipa::path(get, path = "/v1/{tenant}/access-records", security(("session" = [])),
    params(doc::Tenant, AccessQuery),
    responses(
        (status = 200, description = "Accesses in ledger order", body = [AccessRecord]),
        doc::RoleNotPermitted,
    ))]
pub(crate) async fn access_records(
    State(state): State<AppState>,
    staff: Staff,
    ApiQuery(query): ApiQuery<AccessQuery>,
) -> Result<ApiJson<Vec<AccessRecord>>, ApiError> {
    staff.require_role(&state, &[Role::Auditor, Role::Supervisor]).await?;
    let tenant = staff.principal.tenant;
    // Auditors see every access committed before their request.
    state.projections_current(tenant).await?;
    let filter = AccessFilter {
        person_id: query.person_id,
        user_id: query.user_id,
        from: query.from,
        to: query.to,
        after_position: query.after.unwrap_or(0),
        limit: query.limit.unwrap_or(ACCESS_ROWS_MAX),
    };
    let rows = AccessLog::list(state.store.db(), &tenant.to_string(), &filter)
        .await
        .map_err(|error| ApiError::Internal(error.to_string()))?;
    Ok(ApiJson(
        rows.into_iter()
            .map(|row| AccessRecord {
                position: row.position,
                recorded_at: row.recorded_at,
                user_id: row.user_id,
                role: row.role,
                person_id: row.person_id,
                items: row.items,
                purpose: row.purpose,
            })
            .collect(),
    ))
}
