//! The OpenAI-compatible API, for scripts and tools that speak OpenAI's: `GET /v1/models` and
//! `POST /v1/chat/completions` (streamed or not), with a personal API key
//! (`Authorization: Bearer cfk_…`) acting as its owner, within the owner's limits and quotas.
//! Requests and answers have OpenAI's shapes, errors too (`{"error": {message, type, param,
//! code}}`); a session's access token is refused here, as a key is on `/api`.

mod completions;
mod request;

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::{Value, json};

use crate::{
    auth::api_key::{self, KeyRefused, KeyUser},
    error::ApiError,
    llm::UpstreamError,
    state::AppState,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/models", get(list_models))
        .route("/v1/models/{*id}", get(get_model))
        .route("/v1/chat/completions", post(completions::create))
        .route("/v1", axum::routing::any(not_found))
        .route("/v1/{*rest}", axum::routing::any(not_found))
}

/// An error in OpenAI's shape. Statuses are OpenAI's: a body that breaks a rule is a 400.
#[derive(Debug)]
pub struct OpenAiError {
    pub status: StatusCode,
    pub message: String,
    pub kind: &'static str,
    pub param: Option<String>,
    pub code: Option<String>,
    /// `Retry-After` and `RateLimit-*` of a refusal over a limit (boxed: errors stay small).
    headers: Option<Box<HeaderMap>>,
}

impl OpenAiError {
    fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            kind,
            param: None,
            code: None,
            headers: None,
        }
    }

    /// A 400 about `param`.
    pub fn invalid(param: Option<&str>, message: impl Into<String>) -> Self {
        let mut error = Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message);
        error.param = param.map(str::to_owned);
        error
    }

    pub fn with_code(mut self, code: &str) -> Self {
        self.code = Some(code.to_owned());
        self
    }

    fn model_not_found(id: &str) -> Self {
        let mut error = Self::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            format!("The model `{id}` does not exist or you do not have access to it."),
        )
        .with_code("model_not_found");
        error.param = Some("model".to_owned());
        error
    }

    fn upstream(error: &UpstreamError) -> Self {
        let status = match error {
            UpstreamError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            UpstreamError::FirstTokenTimeout
            | UpstreamError::IdleTimeout
            | UpstreamError::TotalTimeout => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::BAD_GATEWAY,
        };
        Self::new(status, "server_error", error.user_message()).with_code(error.code())
    }

    fn body(&self) -> Value {
        json!({ "error": {
            "message": self.message,
            "type": self.kind,
            "param": self.param,
            "code": self.code,
        }})
    }
}

impl From<KeyRefused> for OpenAiError {
    fn from(refused: KeyRefused) -> Self {
        match refused {
            KeyRefused::Store(err) => ApiError::from(err).into(),
            other => Self::new(
                StatusCode::UNAUTHORIZED,
                "invalid_request_error",
                other.to_string(),
            )
            .with_code("invalid_api_key"),
        }
    }
}

/// Confab's own errors, told the OpenAI way (same status but 422 → 400, same headers).
impl From<ApiError> for OpenAiError {
    fn from(error: ApiError) -> Self {
        if let ApiError::Validation(fields) = &error {
            let message = fields
                .iter()
                .map(|(field, problem)| format!("{field}: {problem}"))
                .collect::<Vec<_>>()
                .join("; ");
            let mut invalid = Self::invalid(fields.keys().next().map(String::as_str), message);
            invalid.code = Some("invalid_value".to_owned());
            return invalid;
        }
        let code = error.code();
        let message = error.to_string();
        let response = error.into_response();
        let status = match response.status() {
            StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
            status => status,
        };
        let kind = match status.as_u16() {
            401 => "invalid_request_error",
            403 => "permission_error",
            429 if code == "quota_exceeded" => "insufficient_quota",
            429 => "rate_limit_error",
            500.. => "server_error",
            _ => "invalid_request_error",
        };
        let mut converted = Self::new(status, kind, message).with_code(code);
        let kept: HeaderMap = response
            .headers()
            .iter()
            .filter(|(name, _)| {
                *name == header::RETRY_AFTER || name.as_str().starts_with("ratelimit")
            })
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        if !kept.is_empty() {
            converted.headers = Some(Box::new(kept));
        }
        converted
    }
}

impl IntoResponse for OpenAiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if let Some(headers) = self.headers {
            response.headers_mut().extend(*headers);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Bearer realm="confab", error="invalid_token""#),
            );
        }
        response
    }
}

type V1Result<T> = Result<T, OpenAiError>;

async fn authenticated(state: &AppState, headers: &HeaderMap) -> V1Result<KeyUser> {
    Ok(api_key::authenticate(state, headers).await?)
}

fn model_object(id: &str, owner: &str) -> Value {
    json!({ "id": id, "object": "model", "created": 0, "owned_by": owner })
}

/// `GET /v1/models`: the models the key's owner may use.
async fn list_models(State(state): State<AppState>, headers: HeaderMap) -> V1Result<Json<Value>> {
    authenticated(&state, &headers).await?;
    let data: Vec<Value> = state
        .catalog
        .models()
        .iter()
        .map(|m| model_object(&m.id, "confab"))
        .collect();
    Ok(Json(json!({ "object": "list", "data": data })))
}

/// `GET /v1/models/{id}` (ids may hold `/`, as `org/model` does).
async fn get_model(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> V1Result<Json<Value>> {
    authenticated(&state, &headers).await?;
    state
        .catalog
        .model(&id)
        .map(|m| Json(model_object(&m.id, "confab")))
        .ok_or_else(|| OpenAiError::model_not_found(&id))
}

async fn not_found() -> OpenAiError {
    OpenAiError::new(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        "Unknown route: this server implements GET /v1/models and POST /v1/chat/completions",
    )
    .with_code("unknown_url")
}
