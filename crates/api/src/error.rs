//! [`ApiError`]: every failure a handler can return, as RFC 9457 problem details.
//!
//! The `code` is the stable contract (clients branch on it); `title` and `detail` are for
//! people. A 500 is logged with its cause and answered with no detail, never the cause.

use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use kokuho_domain::{Refusal, RejectionKind};
use kokuho_ledger::{CommandError, LedgerError};
use kokuho_store::AppendError;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A request the client must change before it can succeed.
    #[error("{detail}")]
    BadRequest { status: StatusCode, code: &'static str, detail: String },
    /// A decision refused the command: any aggregate's rejection, by its stable code and class.
    #[error("{detail}")]
    Refused { kind: RejectionKind, code: &'static str, detail: String },
    /// 429 Too Many Requests, with `Retry-After` (whole seconds).
    #[error("{detail}")]
    Throttled { code: &'static str, detail: String, retry_after_seconds: u64 },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("internal error: {0}")]
    Internal(String),
}

/// The body of every error response (`application/problem+json`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem (`urn:kokuho:problem:<code>`).
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// Stable snake_case code.
    pub code: String,
    pub detail: String,
}

impl ApiError {
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError::BadRequest { status: StatusCode::BAD_REQUEST, code, detail: detail.into() }
    }

    /// The answer to any aggregate's refusal: its class gives the status, its code the `code`.
    pub fn refused(rejection: &impl Refusal) -> ApiError {
        ApiError::Refused { kind: rejection.kind(), code: rejection.code(), detail: rejection.to_string() }
    }

    fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            ApiError::BadRequest { status, code, detail } => (*status, code, detail.clone()),
            ApiError::Refused { kind, code, detail } => {
                let status = match kind {
                    RejectionKind::NotFound => StatusCode::NOT_FOUND,
                    RejectionKind::Conflict => StatusCode::CONFLICT,
                    RejectionKind::Gone => StatusCode::GONE,
                    RejectionKind::Forbidden => StatusCode::FORBIDDEN,
                    RejectionKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
                };
                (status, code, detail.clone())
            }
            ApiError::Throttled { code, detail, .. } => (StatusCode::TOO_MANY_REQUESTS, code, detail.clone()),
            ApiError::NotFound(detail) => (StatusCode::NOT_FOUND, "not_found", detail.clone()),
            ApiError::Conflict(detail) => (StatusCode::CONFLICT, "conflict", detail.clone()),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "the ledger could not answer; the error was logged".to_owned(),
            ),
        }
    }
}

impl From<LedgerError> for ApiError {
    fn from(error: LedgerError) -> ApiError {
        match error {
            LedgerError::Rejected(rejection) => ApiError::refused(&rejection),
            LedgerError::Append(AppendError::Conflict { stream_id, .. }) | LedgerError::Contended { stream_id } => {
                ApiError::Conflict(format!("{stream_id} changed while the command was decided; try again"))
            }
            LedgerError::Append(AppendError::IdempotencyKeyReused { .. }) => ApiError::BadRequest {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "idempotency_key_reused",
                detail: "this Idempotency-Key was already used for a different command".into(),
            },
            LedgerError::ProjectionsBehind(cause) => {
                tracing::warn!(%cause, "answering refused: projections behind");
                ApiError::BadRequest {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    code: "projections_behind",
                    detail: "the read tables are behind the ledger; try again shortly".into(),
                }
            }
            LedgerError::Append(AppendError::SubjectErased { .. }) => ApiError::BadRequest {
                status: StatusCode::GONE,
                code: "person_erased",
                detail: "this person's personal data was erased at the end of retention".into(),
            },
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// The one conversion of a command's failure, whatever the aggregate: its refusal, or the ledger's.
impl<R: Refusal> From<CommandError<R>> for ApiError {
    fn from(error: CommandError<R>) -> ApiError {
        match error {
            CommandError::Refused(rejection) => ApiError::refused(&rejection),
            CommandError::Ledger(error) => error.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, detail) = self.parts();
        if let ApiError::Internal(cause) = &self {
            tracing::error!(%cause, "internal error");
        }
        let problem = Problem {
            kind: format!("urn:kokuho:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            code: code.to_owned(),
            detail,
        };
        let body = serde_json::to_vec(&problem).expect("problems serialize");
        let mut response = (status, [(header::CONTENT_TYPE, "application/problem+json")], body).into_response();
        if let ApiError::Throttled { retry_after_seconds, .. } = self {
            response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(retry_after_seconds));
        }
        response
    }
}

pub(crate) async fn not_found(uri: Uri) -> ApiError {
    // The path is not echoed: it may carry an identifier.
    let _ = uri;
    ApiError::NotFound("no such endpoint; see /openapi.json".into())
}

pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::BadRequest {
        status: StatusCode::METHOD_NOT_ALLOWED,
        code: "method_not_allowed",
        detail: "this endpoint does not take that method; see /openapi.json".into(),
    }
}
