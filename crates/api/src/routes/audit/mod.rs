//! The access record for auditors: who looked at whom, which items, and why; and what auditors
//! take away to check the ledger without it: signed checkpoints, inclusion and consistency proofs
//! (`kokuho_audit`, ARCHITECTURE.md "Merkle tree and checkpoints").

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use kokuho_auth::{Purpose, Role};
use kokuho_events::{LedgerEvent, LedgerProofServed};
use kokuho_projections::models::{AccessFilter, AccessLog, ACCESS_ROWS_MAX};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::doc;
use crate::auth::{parse_purpose, Staff};
use crate::json::ApiQuery;
use crate::{ApiError, ApiJson, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/{tenant}/access-records", get(access_records))
        .route("/v1/{tenant}/audit/checkpoint", get(checkpoint))
        .route("/v1/{tenant}/audit/inclusion", get(inclusion))
        .route("/v1/{tenant}/audit/consistency", get(consistency))
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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CheckpointQuery {
    /// Must be `audit`.
    purpose: String,
}

/// A signed checkpoint of the tenant's ledger.
#[derive(Serialize, ToSchema)]
pub struct CheckpointAnswer {
    /// `kokuho/<tenant>`: the checkpoint's first line and the signing key's name.
    origin: String,
    /// Events in the tree (the ledger's positions 1..=tree_size).
    tree_size: u64,
    /// The RFC 9162 root hash, base64 (the checkpoint's third line).
    root_hash: String,
    published_at: DateTime<Utc>,
    /// The C2SP tlog-checkpoint signed note: what an auditor keeps and later verifies.
    note: String,
    /// The signed-note verifier key (`<origin>+<key id>+<base64 Ed25519 key>`). An auditor checks it
    /// against the key the municipality published out of band before trusting any checkpoint.
    verifier_key: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    /// Must be `audit`.
    purpose: String,
    /// The size of the checkpoint the proof is for (default: the latest published).
    tree_size: Option<u64>,
    /// The event, by its position in the ledger …
    position: Option<i64>,
    /// … or by its id (exactly one of the two).
    event_id: Option<Uuid>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    /// Must be `audit`.
    purpose: String,
    /// The size of the earlier checkpoint the auditor holds.
    from: u64,
    /// The size of the later checkpoint (default: the latest published).
    to: Option<u64>,
}

/// An inclusion proof (RFC 9162 §2.1.3) carrying the event as stored (personal part sealed): the
/// verifier recomputes its chain hash, then follows `path` to the checkpoint's root.
#[derive(Serialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = Object)]
pub struct InclusionAnswer(kokuho_store::InclusionProof);

/// A consistency proof (RFC 9162 §2.1.4): `{old_size, new_size, path}` (hex hashes).
#[derive(Serialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = Object)]
pub struct ConsistencyAnswer(kokuho_store::ConsistencyProof);

fn internal(error: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(error.to_string())
}

/// The auditor's checks before any proof: role, purpose (both refusals recorded).
async fn audit_reader(state: &AppState, staff: &Staff, purpose: &str) -> Result<Purpose, ApiError> {
    staff.require_role(state, &[Role::Auditor, Role::Supervisor]).await?;
    let purpose = parse_purpose(purpose)?;
    staff.require_purpose(state, purpose, &[Purpose::Audit]).await?;
    Ok(purpose)
}

/// Records what the auditor was given, and waits for the commit: before the answer goes out.
async fn record_proof(
    state: &AppState,
    staff: &Staff,
    purpose: Purpose,
    proof: &str,
    tree_size: u64,
    old_size: Option<u64>,
    position: Option<i64>,
) -> Result<(), ApiError> {
    let principal = &staff.principal;
    let event = LedgerEvent::LedgerProofServed(LedgerProofServed {
        user_id: principal.user_id,
        role: principal.role.as_str().to_owned(),
        proof: proof.to_owned(),
        tree_size,
        old_size,
        position,
        purpose: purpose.as_str().to_owned(),
    });
    state
        .ledger
        .record(principal.tenant, format!("audit-{}", principal.user_id), &[event], staff.meta(purpose))
        .await?;
    Ok(())
}

/// The latest published checkpoint's size, publishing one first if none exists yet.
async fn latest_size(state: &AppState, tenant: kokuho_domain::TenantCode) -> Result<u64, ApiError> {
    match state.store.published_checkpoint(tenant, None).await.map_err(internal)? {
        Some(checkpoint) => Ok(checkpoint.tree_size),
        None => Ok(state.store.publish_checkpoint(tenant, &state.checkpoint_key).await.map_err(internal)?.tree_size),
    }
}

/// The ledger's signed checkpoint as of now (auditors, supervisors; purpose `audit`): published on
/// demand when the ledger grew since the last one (which then covers the record of this request),
/// and kept. The request is recorded before the answer.
#[utoipa::path(get, path = "/v1/{tenant}/audit/checkpoint", security(("session" = [])),
    params(doc::Tenant, CheckpointQuery),
    responses(
        (status = 200, description = "The signed checkpoint", body = CheckpointAnswer),
        doc::InvalidPurposeOrQuery,
        doc::PurposeNotPermitted,
    ))]
pub(crate) async fn checkpoint(
    State(state): State<AppState>,
    staff: Staff,
    ApiQuery(query): ApiQuery<CheckpointQuery>,
) -> Result<ApiJson<CheckpointAnswer>, ApiError> {
    let purpose = audit_reader(&state, &staff, &query.purpose).await?;
    let tenant = staff.principal.tenant;
    let head = state.store.head(tenant).await.map_err(internal)?;
    record_proof(&state, &staff, purpose, "checkpoint", head as u64, None, None).await?;
    let published = state.store.publish_checkpoint(tenant, &state.checkpoint_key).await.map_err(internal)?;
    let origin = kokuho_audit::origin_for(&published.tenant);
    use base64::Engine as _;
    Ok(ApiJson(CheckpointAnswer {
        verifier_key: state.checkpoint_key.verifier_key(&origin),
        origin,
        tree_size: published.tree_size,
        root_hash: base64::engine::general_purpose::STANDARD.encode(published.root_hash),
        published_at: published.published_at,
        note: published.note,
    }))
}

/// The proof that an event (by `position` or `event_id`) is in the ledger's tree of `tree_size`
/// events (auditors, supervisors; purpose `audit`), with the event as stored. Recorded first.
#[utoipa::path(get, path = "/v1/{tenant}/audit/inclusion", security(("session" = [])),
    params(doc::Tenant, InclusionQuery),
    responses(
        (status = 200, description = "The inclusion proof", body = InclusionAnswer),
        doc::InvalidPurposeOrQuery,
        doc::PurposeNotPermitted,
    ))]
pub(crate) async fn inclusion(
    State(state): State<AppState>,
    staff: Staff,
    ApiQuery(query): ApiQuery<InclusionQuery>,
) -> Result<ApiJson<InclusionAnswer>, ApiError> {
    let purpose = audit_reader(&state, &staff, &query.purpose).await?;
    let tenant = staff.principal.tenant;
    let tree_size = match query.tree_size {
        Some(size) => size,
        None => latest_size(&state, tenant).await?,
    };
    let ledger_size = state.store.tree_size(tenant).await.map_err(internal)?;
    if tree_size < 1 || tree_size > ledger_size {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("tree_size must be a whole number from 1 to the ledger's size ({ledger_size})"),
        ));
    }
    let position = match (query.position, query.event_id) {
        (Some(position), None) => {
            if position < 1 || position as u64 > tree_size {
                return Err(ApiError::bad_request(
                    "invalid_query",
                    "position must be a whole number from 1 to tree_size",
                ));
            }
            position
        }
        (None, Some(event_id)) => match state.store.position_of(tenant, event_id).await.map_err(internal)? {
            Some(position) if position as u64 <= tree_size => position,
            _ => return Err(ApiError::NotFound("event_id names no event in the tree of tree_size".into())),
        },
        _ => {
            return Err(ApiError::bad_request(
                "invalid_query",
                "give exactly one of position (a ledger position) or event_id (a UUID)",
            ))
        }
    };
    record_proof(&state, &staff, purpose, "inclusion", tree_size, None, Some(position)).await?;
    let proof = state.store.inclusion_proof(tenant, position, tree_size).await.map_err(internal)?;
    Ok(ApiJson(InclusionAnswer(proof)))
}

/// The proof that the ledger's tree of `to` events only appended to its tree of `from` events
/// (auditors, supervisors; purpose `audit`). Recorded first.
#[utoipa::path(get, path = "/v1/{tenant}/audit/consistency", security(("session" = [])),
    params(doc::Tenant, ConsistencyQuery),
    responses(
        (status = 200, description = "The consistency proof", body = ConsistencyAnswer),
        doc::InvalidPurposeOrQuery,
        doc::PurposeNotPermitted,
    ))]
pub(crate) async fn consistency(
    State(state): State<AppState>,
    staff: Staff,
    ApiQuery(query): ApiQuery<ConsistencyQuery>,
) -> Result<ApiJson<ConsistencyAnswer>, ApiError> {
    let purpose = audit_reader(&state, &staff, &query.purpose).await?;
    let tenant = staff.principal.tenant;
    let to = match query.to {
        Some(size) => size,
        None => latest_size(&state, tenant).await?,
    };
    let ledger_size = state.store.tree_size(tenant).await.map_err(internal)?;
    if to > ledger_size {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("to must be a whole number up to the ledger's size ({ledger_size})"),
        ));
    }
    if query.from > to {
        return Err(ApiError::bad_request("invalid_query", "from must be a whole number from 0 to `to`"));
    }
    record_proof(&state, &staff, purpose, "consistency", to, Some(query.from), None).await?;
    let proof = state.store.consistency_proof(tenant, query.from, to).await.map_err(internal)?;
    Ok(ApiJson(ConsistencyAnswer(proof)))
}
