//! [`ApiJson`]: a JSON body extractor whose every rejection is a problem+json 4xx.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::ApiError;

pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(from_rejection(rejection)),
        }
    }
}

/// A JSON body that may be left out: a request with neither a body nor a Content-Type is
/// `None`; any body is read (and refused) as [`ApiJson`] reads it.
pub struct ApiOptionalJson<T>(pub Option<T>);

impl<S, T> FromRequest<S> for ApiOptionalJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if request.headers().contains_key(axum::http::header::CONTENT_TYPE) {
            let ApiJson(value) = ApiJson::<T>::from_request(request, state).await?;
            return Ok(ApiOptionalJson(Some(value)));
        }
        let bytes = axum::body::Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::BadRequest {
                    status: StatusCode::PAYLOAD_TOO_LARGE,
                    code: "payload_too_large",
                    detail: format!("the body is larger than {} bytes", crate::BODY_BYTES_MAX),
                }
            } else {
                ApiError::BadRequest {
                    status: StatusCode::BAD_REQUEST,
                    code: "unreadable_body",
                    detail: "the body could not be read".to_owned(),
                }
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(ApiOptionalJson(None));
        }
        Err(ApiError::BadRequest {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "unsupported_media_type",
            detail: "send the body as Content-Type: application/json".to_owned(),
        })
    }
}

fn from_rejection(rejection: JsonRejection) -> ApiError {
    let (status, code, detail) = match &rejection {
        JsonRejection::JsonSyntaxError(_) => {
            (StatusCode::BAD_REQUEST, "malformed_json", "the body is not valid JSON".to_owned())
        }
        // Names the field and what it accepts, never the value sent (`without_values`).
        JsonRejection::JsonDataError(error) => {
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", data_error_detail(error))
        }
        JsonRejection::MissingJsonContentType(_) => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as Content-Type: application/json".to_owned(),
        ),
        // `serve`'s body timeout (tower-http's RequestBodyTimeoutLayer): the client stalled.
        _ if body_timed_out(&rejection) => (
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            "the body stopped arriving; send the whole body without pausing".to_owned(),
        ),
        _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is larger than {} bytes", crate::BODY_BYTES_MAX),
        ),
        _ => (StatusCode::BAD_REQUEST, "unreadable_body", "the body could not be read".to_owned()),
    };
    ApiError::BadRequest { status, code, detail }
}

/// Whether reading the body failed because it stopped arriving (`serve`'s body timeout).
fn body_timed_out(rejection: &JsonRejection) -> bool {
    use std::error::Error;
    let mut source: Option<&(dyn Error + 'static)> = rejection.source();
    while let Some(current) = source {
        if current.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        source = current.source();
    }
    false
}

fn data_error_detail(error: &axum::extract::rejection::JsonDataError) -> String {
    use std::error::Error;
    // The path-aware error sits somewhere down axum's chain of sources.
    let mut source: Option<&(dyn Error + 'static)> = error.source();
    let mut located = None;
    while let Some(current) = source {
        if let Some(found) = current.downcast_ref::<PathError>() {
            located = Some(found);
            break;
        }
        source = current.source();
    }
    let (path, message) = match located {
        Some(located) => (located.path().to_string(), located.inner().to_string()),
        None => (".".to_owned(), error.source().map(ToString::to_string).unwrap_or_default()),
    };
    // serde_json appends "at line L column C"; a clerk acts on the field, not the position.
    let message = message.split(" at line ").next().unwrap_or(&message);
    let field = if path == "." { "the body".to_owned() } else { format!("`{path}`") };
    format!("{field} {}", without_values(message))
}

/// A Rust type name as a client reads it: `uuid::Uuid` → "a UUID".
fn readable_type(type_name: &str) -> &'static str {
    if type_name.ends_with("Uuid") {
        "a UUID"
    } else if type_name.contains("NaiveDate") {
        "a date, YYYY-MM-DD"
    } else if type_name.contains("DateTime") {
        "an RFC 3339 instant"
    } else if type_name.starts_with('i') || type_name.starts_with('u') {
        "a whole number"
    } else {
        "a value of another form"
    }
}

/// The query-string rejection without the value: "Failed to deserialize query string: KEY:
/// MESSAGE" keeps KEY (a parameter this endpoint defines, or reports unknown) and what it takes.
fn query_detail(body_text: &str) -> String {
    let rest = body_text.split_once(": ").map_or(body_text, |(_, rest)| rest);
    let (key, message) = match rest.split_once(": ") {
        Some((key, message)) if key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => (Some(key), message),
        _ => (None, rest),
    };
    let what = key.map_or("the query string".to_owned(), |key| format!("`{key}`"));
    let mut detail = format!("{what} {}", without_values(message));
    if detail.contains("RFC 3339") {
        detail.push_str("; in a URL write `+09:00` as `%2B09:00`");
    }
    detail
}

/// The error `axum::Json` reports for a body that does not fit: serde's, with the field's path.
type PathError = serde_path_to_error::Error<serde_json::Error>;

/// What serde says went wrong, without the value the client sent: a body may carry personal
/// data (a name typed into the wrong field), and an answer never repeats it. Keeps what is
/// expected (the accepted values or type) and the names of fields this endpoint defines.
pub(crate) fn without_values(message: &str) -> String {
    let expected = message.find("expected").map(|at| &message[at..]);
    if message.starts_with("missing field") {
        return format!("is incomplete: {message}");
    }
    if message.starts_with("unknown field") {
        let expected = expected.unwrap_or("fields this endpoint defines");
        return format!("has a field this endpoint does not take; {expected}");
    }
    if let Some(expected) = expected {
        return format!("is not valid: {expected}");
    }
    // chrono's messages ("input contains invalid characters", "premature end of input", …)
    // say only that a date or an instant did not parse.
    if ["input", "trailing", "premature", "invalid", "out of range"].iter().any(|word| message.contains(word)) {
        return "is not valid: write dates as YYYY-MM-DD and instants as RFC 3339 (e.g. 2025-04-01T09:00:00+09:00)"
            .to_owned();
    }
    "is not valid".to_owned()
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// A path extractor whose rejections (e.g. a malformed id) are problem+json 4xx.
pub struct ApiPath<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => {
                use axum::extract::path::ErrorKind;
                use axum::extract::rejection::PathRejection;
                // Names the part and what it must be, never what was sent.
                let detail = match &rejection {
                    PathRejection::FailedToDeserializePathParams(error) => match error.kind() {
                        ErrorKind::ParseErrorAtKey { key, expected_type, .. } => {
                            format!("the path's `{key}` is not valid: expected {}", readable_type(expected_type))
                        }
                        ErrorKind::DeserializeError { key, message, .. } if message.contains("UUID") => {
                            format!("the path's `{key}` is not valid: expected a UUID")
                        }
                        ErrorKind::DeserializeError { key, message, .. } => {
                            format!("the path's `{key}` {}", without_values(message))
                        }
                        _ => "a part of the path is not valid".to_owned(),
                    },
                    _ => "a part of the path is not valid".to_owned(),
                };
                Err(ApiError::BadRequest { status: StatusCode::BAD_REQUEST, code: "invalid_path", detail })
            }
        }
    }
}

/// A query-string extractor whose rejections are problem+json 400s.
pub struct ApiQuery<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(ApiError::BadRequest {
                status: StatusCode::BAD_REQUEST,
                code: "invalid_query",
                detail: query_detail(&rejection.body_text()),
            }),
        }
    }
}
