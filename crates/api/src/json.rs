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

fn from_rejection(rejection: JsonRejection) -> ApiError {
    let (status, code, detail) = match &rejection {
        JsonRejection::JsonSyntaxError(_) => {
            (StatusCode::BAD_REQUEST, "malformed_json", "the body is not valid JSON".to_owned())
        }
        // serde's message names the field and what was expected (unknown field, missing field,
        // wrong type); it quotes no values.
        JsonRejection::JsonDataError(error) => {
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", data_error_detail(error))
        }
        JsonRejection::MissingJsonContentType(_) => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as Content-Type: application/json".to_owned(),
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

fn data_error_detail(error: &axum::extract::rejection::JsonDataError) -> String {
    use std::error::Error;
    let text = error.source().map(ToString::to_string).unwrap_or_else(|| error.body_text());
    // serde_json appends "at line L column C"; keep the part a clerk can act on.
    let text = text.split(" at line ").next().unwrap_or(&text).to_owned();
    format!("the body does not fit this endpoint: {text}")
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
            Err(rejection) => Err(ApiError::BadRequest {
                status: StatusCode::BAD_REQUEST,
                code: "invalid_path",
                detail: format!("a part of the path is not valid: {}", rejection.body_text()),
            }),
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
                detail: rejection.body_text(),
            }),
        }
    }
}
