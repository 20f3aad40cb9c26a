//! One error type for the whole API. Every error response has the same JSON shape:
//! `{"error": {"code": "...", "message": "...", "fields": {"name": "problem"}}}`.
//! Unexpected failures become an opaque 500 whose detail only reaches the log.

use std::{collections::BTreeMap, time::Duration};

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

pub use crate::domain::FieldErrors;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    MalformedJson(String),
    #[error("{0}")]
    BadRequest(&'static str),
    #[error("{message}")]
    Unauthorized {
        message: &'static str,
        /// Whether a bearer token was presented (and refused).
        invalid_token: bool,
    },
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    Conflict {
        field: &'static str,
        message: String,
    },
    #[error("request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("expected a request body with Content-Type: application/json")]
    UnsupportedMediaType,
    #[error("the request has invalid fields")]
    Validation(FieldErrors),
    #[error("too many requests; try again in {} seconds", whole_seconds(*retry_after))]
    TooManyRequests { retry_after: Duration },
    #[error(
        "too many answers are being generated for you at once; wait for one to finish or stop one"
    )]
    TooManyGenerations,
    #[error("no language model is configured on this server (set OPENAI_API_BASE_URL)")]
    NoUpstream,
    #[error("the service is temporarily unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error("this server process is shutting down; retry (another one will answer)")]
    Draining,
    #[error("an unexpected error occurred")]
    Internal(#[source] anyhow::Error),
}

/// A wait in whole seconds, rounded up (a client retrying after it is never early), at least 1.
fn whole_seconds(wait: Duration) -> u64 {
    u64::try_from(wait.as_millis().div_ceil(1000))
        .unwrap_or(u64::MAX)
        .max(1)
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable code, e.g. `validation_failed`.
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
    /// For validation and conflict errors: each offending field and what is wrong with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<FieldErrors>,
}

impl ApiError {
    pub fn unauthorized(message: &'static str) -> Self {
        Self::Unauthorized {
            message,
            invalid_token: false,
        }
    }

    pub fn invalid_token() -> Self {
        Self::Unauthorized {
            message: "the access token is missing, invalid or expired",
            invalid_token: true,
        }
    }

    pub fn field(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::Validation(BTreeMap::from([(field.into(), problem.into())]))
    }

    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        Self::Internal(error.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::MalformedJson(_) | Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests { .. } | Self::TooManyGenerations => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Self::NoUpstream | Self::Unavailable(_) | Self::Draining => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::MalformedJson(_) => "malformed_json",
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized { .. } => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Conflict { .. } => "conflict",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Validation(_) => "validation_failed",
            Self::TooManyRequests { .. } => "rate_limited",
            Self::TooManyGenerations => "too_many_generations",
            Self::NoUpstream => "no_upstream",
            Self::Unavailable(_) => "service_unavailable",
            Self::Draining => "draining",
            Self::Internal(_) => "internal_error",
        }
    }

    fn body(&self) -> ErrorBody {
        let fields = match self {
            Self::Validation(fields) => Some(fields.clone()),
            Self::Conflict { field, message } => {
                Some(BTreeMap::from([((*field).to_owned(), message.clone())]))
            }
            _ => None,
        };
        ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.to_string(),
                fields,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            Self::Internal(err) => tracing::error!(error = ?err, "request failed"),
            Self::Unavailable(err) => tracing::warn!(error = %err, "dependency unavailable"),
            _ => tracing::debug!(code = self.code(), "request rejected"),
        }
        let mut response = (self.status(), Json(self.body())).into_response();
        let headers = response.headers_mut();
        match &self {
            Self::Unauthorized { invalid_token, .. } => {
                let value = if *invalid_token {
                    r#"Bearer realm="confab", error="invalid_token""#
                } else {
                    r#"Bearer realm="confab""#
                };
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(value));
            }
            Self::TooManyRequests { retry_after } => {
                let secs = whole_seconds(*retry_after);
                if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                    headers.insert(header::RETRY_AFTER, value);
                }
            }
            // When one of the running answers ends is unknown; a few seconds is a fair guess.
            Self::Unavailable(_) | Self::TooManyGenerations => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            Self::Draining => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        response
    }
}

impl From<mongodb::error::Error> for ApiError {
    fn from(err: mongodb::error::Error) -> Self {
        if crate::store::is_unavailable(&err) {
            Self::Unavailable(err.into())
        } else {
            Self::Internal(err.into())
        }
    }
}

impl From<crate::generation::StartError> for ApiError {
    fn from(error: crate::generation::StartError) -> Self {
        use crate::generation::StartError;
        match error {
            StartError::ChatNotFound => Self::NotFound("chat"),
            StartError::MessageNotFound => Self::NotFound("message"),
            StartError::Invalid(fields) => Self::Validation(fields),
            StartError::NoUpstream => Self::NoUpstream,
            StartError::TooManyGenerations => Self::TooManyGenerations,
            StartError::RateLimited(retry_after) => Self::TooManyRequests { retry_after },
            StartError::Draining => Self::Draining,
            StartError::Store(err) => err.into(),
        }
    }
}

impl From<validator::ValidationErrors> for ApiError {
    fn from(errors: validator::ValidationErrors) -> Self {
        let fields = errors
            .field_errors()
            .into_iter()
            .map(|(field, errs)| {
                let message = errs
                    .first()
                    .and_then(|e| e.message.as_ref().map(ToString::to_string))
                    .or_else(|| errs.first().map(|e| e.code.to_string()))
                    .unwrap_or_else(|| "is invalid".to_owned());
                (field.to_string(), message)
            })
            .collect();
        Self::Validation(fields)
    }
}

/// Handler result type.
pub type ApiResult<T> = Result<T, ApiError>;
