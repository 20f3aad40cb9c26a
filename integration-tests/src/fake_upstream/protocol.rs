//! The OpenAI HTTP protocol: `/v1/models` and `/v1/chat/completions`, streamed (SSE) or not.
//! A chat completion for a model not loaded loads it first, as llama-server's router and
//! Ollama do.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{
    control::{Admission, SharedState},
    reply::{self, Completion},
    residency::{self, Residency},
    sse,
};

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn model_object(id: &str) -> Value {
    json!({ "id": id, "object": "model", "created": unix_now(), "owned_by": "confab" })
}

/// An OpenAI-style error response.
pub fn error(
    status: StatusCode,
    message: &str,
    kind: &str,
    param: Option<&str>,
    code: Option<&str>,
) -> Response {
    let body =
        json!({ "error": { "message": message, "type": kind, "param": param, "code": code } });
    (status, Json(body)).into_response()
}

/// An error in llama-server's shape: `{"error":{"code","message","type"}}`.
pub fn llama_error(status: StatusCode, message: &str, kind: &str) -> Response {
    let body = json!({ "error": { "code": status.as_u16(), "message": message, "type": kind } });
    (status, Json(body)).into_response()
}

fn invalid_request(
    status: StatusCode,
    message: &str,
    param: Option<&str>,
    code: Option<&str>,
) -> Response {
    error(status, message, "invalid_request_error", param, code)
}

/// What a model list (`GET /v1/models`, `GET /models`) answers instead of the list when the
/// behaviour says so, after waiting `models_delay_ms`: an error status, or 200 with garbage.
pub async fn models_misbehaviour(state: &SharedState) -> Option<Response> {
    let behaviour = state.behaviour();
    if behaviour.models_delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(behaviour.models_delay_ms)).await;
    }
    if let Some(status) = behaviour.models_fail_status {
        return Some(simulated_failure(status, None));
    }
    if behaviour.models_garbage {
        let content_type = [(header::CONTENT_TYPE, "application/json")];
        return Some((content_type, "this is not json {").into_response());
    }
    None
}

/// `GET /v1/models`.
pub async fn list_models(State(state): State<SharedState>) -> Response {
    if let Some(response) = models_misbehaviour(&state).await {
        return response;
    }
    let data: Vec<Value> = state.models().iter().map(|id| model_object(id)).collect();
    Json(json!({ "object": "list", "data": data })).into_response()
}

/// `GET /v1/models/{id}`.
pub async fn get_model(State(state): State<SharedState>, Path(id): Path<String>) -> Response {
    if state.serves(&id) {
        Json(model_object(&id)).into_response()
    } else {
        model_not_found(&id)
    }
}

fn model_not_found(model: &str) -> Response {
    let message = format!("The model `{model}` does not exist");
    invalid_request(
        StatusCode::NOT_FOUND,
        &message,
        Some("model"),
        Some("model_not_found"),
    )
}

/// Unknown routes answer like OpenAI does, in JSON.
pub async fn fallback() -> Response {
    invalid_request(
        StatusCode::NOT_FOUND,
        "Unknown request URL",
        None,
        Some("unknown_url"),
    )
}

/// `POST /v1/chat/completions`: records the body, then misbehaves or answers as configured.
pub async fn chat_completions(State(state): State<SharedState>, raw: Bytes) -> Response {
    let parsed = serde_json::from_slice::<Value>(&raw).ok();
    let recorded = parsed
        .clone()
        .unwrap_or_else(|| json!({ "_raw": String::from_utf8_lossy(&raw) }));
    let Admission {
        behaviour,
        fail_status,
    } = state.admit(recorded);
    if behaviour.initial_delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(behaviour.initial_delay_ms)).await;
    }
    if let Some(status) = fail_status {
        return simulated_failure(status, behaviour.retry_after_secs);
    }
    let Some(body) = parsed.filter(Value::is_object) else {
        let message = "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)";
        return invalid_request(StatusCode::BAD_REQUEST, message, None, None);
    };
    let Some(model) = body.get("model").and_then(Value::as_str).map(str::to_owned) else {
        let message = "you must provide a model parameter";
        return invalid_request(StatusCode::BAD_REQUEST, message, Some("model"), None);
    };
    if !state.serves(&model) {
        return model_not_found(&model);
    }
    let has_messages = body
        .get("messages")
        .and_then(Value::as_array)
        .is_some_and(|m| !m.is_empty());
    if !has_messages {
        let message = "`messages` must be a non-empty array";
        return invalid_request(StatusCode::BAD_REQUEST, message, Some("messages"), None);
    }
    match residency::load(&state, &model).await {
        Some(Residency::Loaded) => {}
        // Removed from the served list while loading.
        None => return model_not_found(&model),
        Some(_) => return failed_to_load(&model),
    }
    let completion = reply::complete(&body, &behaviour);
    let usage = (!behaviour.omit_usage).then(|| usage(&completion));
    let id = format!("chatcmpl-{}", uuid::Uuid::new_v4().simple());
    let created = unix_now();
    if body.get("stream").and_then(Value::as_bool) != Some(true) {
        let mut answer = json!({
            "id": id, "object": "chat.completion", "created": created, "model": model,
            "choices": [{
                "index": 0,
                "message": { "role": "assistant", "content": completion.text() },
                "finish_reason": completion.finish_reason,
            }],
        });
        if let (Some(usage), Some(object)) = (usage, answer.as_object_mut()) {
            object.insert("usage".to_owned(), usage);
        }
        return Json(answer).into_response();
    }
    let include_usage = body
        .pointer("/stream_options/include_usage")
        .and_then(Value::as_bool)
        == Some(true);
    let header = sse::Header { id, created, model };
    let plan = sse::Plan {
        chunk_delay: Duration::from_millis(behaviour.chunk_delay_ms),
        break_after_chunks: behaviour.break_after_chunks,
        usage: usage.filter(|_| include_usage),
    };
    sse::response(&header, &completion, plan, &state.open_streams)
}

/// llama-server router's answer when the model it was loading for a request did not start.
fn failed_to_load(model: &str) -> Response {
    let message = format!("model name={model} failed to load");
    llama_error(StatusCode::INTERNAL_SERVER_ERROR, &message, "server_error")
}

fn usage(completion: &Completion) -> Value {
    let (prompt, completion) = (completion.prompt_tokens, completion.completion_tokens());
    json!({ "prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion })
}

fn simulated_failure(status: u16, retry_after_secs: Option<u64>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let kind = if status == StatusCode::TOO_MANY_REQUESTS {
        "rate_limit_error"
    } else {
        "server_error"
    };
    let body = json!({ "error": { "message": "simulated failure", "type": kind, "code": null } });
    let mut response = (status, Json(body)).into_response();
    if let Some(secs) = retry_after_secs {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}
