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
    /// A 403 with its own code (`registration_closed`, `account_disabled`…).
    #[error("{message}")]
    Refused {
        code: &'static str,
        message: &'static str,
    },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    Conflict {
        field: &'static str,
        message: String,
    },
    #[error("request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// An upload that expands past its limit (a zip's contents): 413 in words.
    #[error("{0}")]
    ContentTooLarge(String),
    #[error("expected a request body with Content-Type: application/json")]
    UnsupportedMediaType,
    /// An uploaded file Confab cannot read (not JSON or zip, or of no known format): 422
    /// `invalid_file`, saying where (entry, line and column).
    #[error("{0}")]
    InvalidFile(String),
    #[error("the request has invalid fields")]
    Validation(FieldErrors),
    #[error("too many requests; try again in {} seconds", whole_seconds(*retry_after))]
    TooManyRequests { retry_after: Duration },
    /// Over one of the user's limits: 429 with `Retry-After` and the `RateLimit-*` headers.
    #[error("{message}")]
    OverLimit {
        code: &'static str,
        message: String,
        retry_after: Duration,
        window: Option<RateWindow>,
    },
    /// A 409 with its own code (`last_admin`, `own_account`, `current_session`).
    #[error("{message}")]
    ConflictCode {
        code: &'static str,
        message: &'static str,
    },
    #[error("no language model is configured on this server (set OPENAI_API_BASE_URL)")]
    NoUpstream,
    /// A model server refused what Confab asked of it (loading a model…), in its words.
    #[error("the model server refused: {0}")]
    UpstreamRefused(String),
    #[error("the service is temporarily unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error("this server process is shutting down; retry (another one will answer)")]
    Draining,
    #[error("an unexpected error occurred")]
    Internal(#[source] anyhow::Error),
}

/// Where a caller stands against a limit: the `RateLimit-Limit`, `RateLimit-Remaining` and
/// `RateLimit-Reset` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateWindow {
    pub limit: u64,
    pub remaining: u64,
    pub reset: Duration,
}

impl RateWindow {
    /// The three headers.
    pub fn headers(&self) -> [(header::HeaderName, HeaderValue); 3] {
        let number =
            |n: u64| HeaderValue::from_str(&n.to_string()).unwrap_or(HeaderValue::from_static("0"));
        [
            (
                header::HeaderName::from_static("ratelimit-limit"),
                number(self.limit),
            ),
            (
                header::HeaderName::from_static("ratelimit-remaining"),
                number(self.remaining),
            ),
            (
                header::HeaderName::from_static("ratelimit-reset"),
                number(whole_seconds(self.reset)),
            ),
        ]
    }
}

impl From<crate::generation::Window> for RateWindow {
    fn from(w: crate::generation::Window) -> Self {
        Self {
            limit: w.limit,
            remaining: w.remaining,
            reset: w.reset,
        }
    }
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
    /// The change would leave the deployment without an active admin.
    pub const LAST_ADMIN: ApiError = ApiError::ConflictCode {
        code: "last_admin",
        message: "this would leave the deployment without an active admin",
    };

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
            Self::Forbidden(_) | Self::Refused { .. } => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict { .. } | Self::ConflictCode { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge { .. } | Self::ContentTooLarge(_) => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation(_) | Self::InvalidFile(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests { .. } | Self::OverLimit { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::NoUpstream | Self::Unavailable(_) | Self::Draining => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::UpstreamRefused(_) => StatusCode::BAD_GATEWAY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::MalformedJson(_) => "malformed_json",
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized { .. } => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::Refused { code, .. }
            | Self::OverLimit { code, .. }
            | Self::ConflictCode { code, .. } => code,
            Self::NotFound(_) => "not_found",
            Self::Conflict { .. } => "conflict",
            Self::PayloadTooLarge { .. } | Self::ContentTooLarge(_) => "payload_too_large",
            Self::InvalidFile(_) => "invalid_file",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Validation(_) => "validation_failed",
            Self::TooManyRequests { .. } => "rate_limited",
            Self::NoUpstream => "no_upstream",
            Self::UpstreamRefused(_) => "upstream_error",
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
            Self::OverLimit {
                retry_after,
                window,
                ..
            } => {
                let secs = whole_seconds(*retry_after);
                if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                    headers.insert(header::RETRY_AFTER, value);
                }
                for (name, value) in window.iter().flat_map(RateWindow::headers) {
                    headers.insert(name, value);
                }
            }
            Self::Unavailable(_) => {
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
            StartError::NotContinuable => Self::ConflictCode {
                code: "not_continuable",
                message: "only an answer that was stopped, cut at max_tokens or interrupted can be continued, once at a time",
            },
            StartError::OverLimit(over) => over.into(),
            StartError::Draining => Self::Draining,
            StartError::Store(err) => err.into(),
        }
    }
}

impl From<crate::generation::OverLimit> for ApiError {
    fn from(over: crate::generation::OverLimit) -> Self {
        use crate::generation::OverLimit;
        // When one of the running answers ends is unknown; a few seconds is a fair guess.
        const RUNNING_ENDS: Duration = Duration::from_secs(5);
        match over {
            OverLimit::TooMany { limit } => Self::OverLimit {
                code: "too_many_generations",
                message: format!(
                    "{limit} answers are being generated for you at once, your limit; wait for one to finish or stop one"
                ),
                retry_after: RUNNING_ENDS,
                window: Some(RateWindow {
                    limit,
                    remaining: 0,
                    reset: RUNNING_ENDS,
                }),
            },
            OverLimit::RateLimited(window) => Self::OverLimit {
                code: "rate_limited",
                message: format!(
                    "you started {} answers in the last minute, your limit; try again in {} seconds",
                    window.limit,
                    whole_seconds(window.reset)
                ),
                retry_after: window.reset,
                window: Some(window.into()),
            },
            OverLimit::QuotaExceeded { window, monthly } => Self::OverLimit {
                code: "quota_exceeded",
                message: format!(
                    "you have used your {} tokens of this {}; more are available in {} seconds",
                    window.limit,
                    if monthly { "month" } else { "day" },
                    whole_seconds(window.reset)
                ),
                retry_after: window.reset,
                window: Some(window.into()),
            },
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
