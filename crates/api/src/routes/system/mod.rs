//! Operations endpoints: health and the OpenAPI document (no authentication: they reveal
//! nothing about any person or municipality), and metrics (the operator's token).

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::error::Problem;
use crate::routes::ApiDoc;
use crate::{ApiError, ApiJson, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/openapi.json", get(openapi_json))
        .route("/metrics", get(metrics))
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` when the database answers and every projection follows the ledger; `degraded` when
    /// some projection stopped at an event it could not apply (listed below; the rest of the
    /// ledger goes on, and `kokuho rebuild --projection NAME` rebuilds it once fixed).
    status: &'static str,
    /// `sqlite` or `postgres`.
    database: &'static str,
    version: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    stopped_projections: Vec<StoppedProjection>,
}

/// A projection that stopped: where and why.
#[derive(Serialize, ToSchema)]
pub struct StoppedProjection {
    projection: &'static str,
    tenant: String,
    /// The position of the event it could not apply.
    position: i64,
    reason: String,
}

/// Liveness and database reachability.
#[utoipa::path(get, path = "/health", responses(
    (status = 200, description = "The ledger and its database answer", body = Health),
    (status = 500, description = "The database does not answer", body = Problem, content_type = "application/problem+json"),
))]
pub(crate) async fn health(State(state): State<AppState>) -> Result<ApiJson<Health>, ApiError> {
    let database = match state.store.db().backend() {
        kokuho_store::Backend::Sqlite => "sqlite",
        kokuho_store::Backend::Postgres => "postgres",
    };
    kokuho_store::on_db!(state.store.db(), pool => sqlx_ping(pool).await)?;
    let stopped_projections: Vec<StoppedProjection> = state
        .projector
        .stopped()
        .into_iter()
        .map(|stopped| StoppedProjection {
            projection: stopped.projection,
            tenant: stopped.tenant.to_string(),
            position: stopped.position,
            reason: stopped.reason,
        })
        .collect();
    let status = if stopped_projections.is_empty() { "ok" } else { "degraded" };
    Ok(ApiJson(Health { status, database, version: env!("CARGO_PKG_VERSION"), stopped_projections }))
}

async fn sqlx_ping<'a, E>(executor: E) -> Result<(), ApiError>
where
    E: sqlx::Executor<'a>,
    i32: sqlx::Type<E::Database> + for<'r> sqlx::Decode<'r, E::Database>,
    for<'q> <E::Database as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, E::Database>,
    (i32,): for<'r> sqlx::FromRow<'r, <E::Database as sqlx::Database>::Row>,
{
    let _: (i32,) =
        sqlx::query_as("SELECT 1").fetch_one(executor).await.map_err(|error| ApiError::Internal(error.to_string()))?;
    Ok(())
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", responses((status = 200, description = "The OpenAPI 3.1 document")))]
pub(crate) async fn openapi_json() -> impl IntoResponse {
    axum::Json(ApiDoc::openapi())
}

/// Prometheus metrics: appends, batch sizes, commit latency, projection lag. For the operator
/// only (the series name every municipality the ledger keeps): served when the server was given
/// `KOKUHO_METRICS_TOKEN`, to a request presenting it as `Authorization: Bearer <token>`.
#[utoipa::path(get, path = "/metrics", security(("metrics_token" = [])), responses(
    (status = 200, description = "Prometheus text exposition", content_type = "text/plain"),
    (status = 401, description = "`metrics_token_required`: no or another bearer token", content_type = "application/problem+json"),
    (status = 404, description = "`metrics_not_enabled`: the server was started without `KOKUHO_METRICS_TOKEN`", content_type = "application/problem+json"),
))]
pub(crate) async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Result<impl IntoResponse, ApiError> {
    let Some(expected) = state.metrics_token else {
        return Err(ApiError::BadRequest {
            status: StatusCode::NOT_FOUND,
            code: "metrics_not_enabled",
            detail: "metrics are served only when the server is started with KOKUHO_METRICS_TOKEN".into(),
        });
    };
    // The scheme name is case-insensitive (RFC 9110 §11.1); the digests compare in constant time.
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| crate::metrics_token_digest(token.trim()));
    let matches =
        presented.is_some_and(|presented| bool::from(subtle::ConstantTimeEq::ct_eq(&presented[..], &expected[..])));
    if !matches {
        return Err(ApiError::BadRequest {
            status: StatusCode::UNAUTHORIZED,
            code: "metrics_token_required",
            detail: "metrics need the operator's token as `Authorization: Bearer <token>`".into(),
        });
    }
    let mut body = String::new();
    prometheus_client::encoding::text::encode(&mut body, &state.registry)
        .map_err(|error| ApiError::Internal(error.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], body))
}
