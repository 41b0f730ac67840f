//! The HTTP API: axum router, the one place errors become HTTP (RFC 9457 problem+json with a
//! stable `code`), request tracing without personal data, OpenAPI and metrics.
//!
//! Handlers are thin: they parse the request into domain types, call the ledger or a
//! projection query, and shape the answer. No rule is decided here.

mod auth;
mod citizen;
mod error;
mod json;
mod provision_settings;
mod routes;
mod throttle;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{header, HeaderValue};
use axum::Router;
use kokuho_domain::TenantCode;
use kokuho_ledger::policies::Policies;
use kokuho_ledger::Ledger;
use kokuho_projections::Projector;
use kokuho_store::EventStore;
use prometheus_client::registry::Registry;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use error::ApiError;
pub use json::{ApiJson, ApiPath, ApiQuery};
pub use provision_settings::{ProvisionSettings, ProvisionSettingsError};
pub use routes::ApiDoc;
pub use throttle::{ClientAddress, ClientLimiters, Limits};

/// Request bodies larger than this are refused with 413 before they are parsed.
pub const BODY_BYTES_MAX: usize = 64 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: EventStore,
    pub ledger: Arc<Ledger>,
    pub projector: Arc<Projector>,
    /// The reactions that follow the ledger (the 70–74 re-decision, …), run by the follower.
    pub policies: Arc<Policies>,
    pub registry: Arc<Registry>,
    pub staff: Arc<kokuho_staff::Staff>,
    /// The provision allow-list and the names the citizen's view shows, loaded at startup.
    pub provision: Arc<ProvisionSettings>,
    /// The municipality's checkpoint signing key (kept outside the database, like the master key).
    pub checkpoint_key: Arc<kokuho_store::CheckpointKey>,
    /// SHA-256 of the operator's bearer token for `/metrics` ([`metrics_token_digest`]); `None`:
    /// `/metrics` is not served (it names every municipality the ledger keeps).
    pub metrics_token: Option<[u8; 32]>,
    /// The per-client rate limits of sign-ins and citizens' challenges (docs/security.md).
    pub limiters: Arc<ClientLimiters>,
}

/// What [`AppState::metrics_token`] keeps of the operator's token: its SHA-256, compared with
/// the digest of the token a request presents.
pub fn metrics_token_digest(token: &str) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(token.as_bytes()).into()
}

/// How long a reader waits for the projections to show what was committed before it asked.
const PROJECTIONS_WAIT: std::time::Duration = std::time::Duration::from_secs(10);
/// How long a command's answer waits for the policies to issue its consequences.
const POLICIES_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

impl AppState {
    /// Refuses a municipality this ledger does not serve (404 `unknown_tenant`), before an
    /// unauthenticated request (a sign-in, a citizen's challenge) writes anything: otherwise
    /// its refusal would be the first event of a new tenant.
    pub(crate) async fn served_tenant(&self, tenant: TenantCode) -> Result<(), ApiError> {
        if self.store.has_tenant(tenant).await.map_err(|error| ApiError::Internal(error.to_string()))? {
            Ok(())
        } else {
            Err(ApiError::BadRequest {
                status: axum::http::StatusCode::NOT_FOUND,
                code: "unknown_tenant",
                detail: "this ledger keeps no records for that local government code".into(),
            })
        }
    }

    /// Waits (bounded) until the projections show everything committed before this call: a
    /// list or a lookup answers with the ledger as it stood when it was asked. Only the
    /// follower task writes projections; a handler only waits.
    pub(crate) async fn projections_current(&self, tenant: TenantCode) -> Result<(), ApiError> {
        self.projector.wait_for_head(tenant, PROJECTIONS_WAIT).await.map_err(|error| {
            tracing::warn!(%error, "answering refused: projections behind");
            ApiError::BadRequest {
                status: axum::http::StatusCode::SERVICE_UNAVAILABLE,
                code: "projections_behind",
                detail: "the read tables are behind the ledger; try again shortly".into(),
            }
        })
    }

    /// Waits (bounded) until the policies have reacted to the command at `position`, so its
    /// answer and the next read show the consequences (a 70–74 re-decision). The command has
    /// committed either way: if the policies are late, the answer still says so, and the
    /// consequences follow.
    pub(crate) async fn consequences_of(&self, tenant: TenantCode, position: i64) {
        if !self.policies.wait_for(tenant, position, POLICIES_WAIT).await {
            tracing::warn!(%tenant, position, "policies did not pass the command's position in time");
        }
    }
}

pub fn router(state: AppState) -> Router {
    routes::routes()
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX))
        // Answers carry personal data: no cache may keep them, and a browser must not guess a
        // type other than the one declared.
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        // A broken invariant in a handler is a bug: log it and answer a problem+json 500 rather
        // than dropping the connection (the panic's message is not sent).
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_: Box<dyn std::any::Any + Send>| {
            axum::response::IntoResponse::into_response(ApiError::Internal("a request handler panicked".into()))
        }))
        .layer(
            // Spans name the route template (`/v1/{tenant}/…`), never the raw URI or body, so no
            // identifier a caller typed ends up in the logs.
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                let route = request
                    .extensions()
                    .get::<MatchedPath>()
                    .map(|path| path.as_str().to_owned())
                    .unwrap_or_else(|| "unmatched".to_owned());
                tracing::info_span!("request", method = %request.method(), route)
            }),
        )
        .with_state(state)
}
