//! llama-server's router mode, at the root: `GET /models`, `POST /models/load`,
//! `POST /models/unload` and `GET /props`, in the shapes the real server answers
//! (see the notes' "Router mode").

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{
    control::SharedState,
    protocol::{llama_error, models_misbehaviour, unix_now},
    residency::{self, Begin, Residency},
};

/// The body of a call as JSON (`{"_raw": text}` when it is not), and its `model`.
pub fn parse_call(raw: &Bytes) -> (Value, Option<String>) {
    let body = serde_json::from_slice::<Value>(raw)
        .unwrap_or_else(|_| json!({ "_raw": String::from_utf8_lossy(raw) }));
    let model = body.get("model").and_then(Value::as_str).map(str::to_owned);
    (body, model)
}

/// The `model` of a load or unload body, the call recorded on the way.
fn requested_model(state: &SharedState, path: &str, raw: &Bytes) -> Option<String> {
    let (body, model) = parse_call(raw);
    state.record_residency_call(path, body);
    model
}

fn success() -> Response {
    Json(json!({ "success": true })).into_response()
}

fn file_not_found() -> Response {
    llama_error(StatusCode::NOT_FOUND, "File Not Found", "not_found_error")
}

fn invalid_request(message: &str) -> Response {
    llama_error(StatusCode::BAD_REQUEST, message, "invalid_request_error")
}

/// A model's `status`: a failed load is no value of its own but `unloaded` with `failed`.
fn status(residency: Residency) -> Value {
    match residency {
        Residency::Failed => json!({ "value": "unloaded", "failed": true, "exit_code": 1 }),
        other => json!({ "value": other.name() }),
    }
}

/// `GET /models`: every served model with its status.
pub async fn list_models(State(state): State<SharedState>) -> Response {
    if let Some(response) = models_misbehaviour(&state).await {
        return response;
    }
    let created = unix_now();
    let data: Vec<Value> = state
        .residencies()
        .into_iter()
        .map(|(id, residency)| {
            json!({
                "id": id, "aliases": [], "tags": [], "object": "model", "owned_by": "llamacpp",
                "created": created, "status": status(residency), "source": "models_dir",
                "can_remove": false,
            })
        })
        .collect();
    Json(json!({ "object": "list", "data": data })).into_response()
}

/// `POST /models/load {"model": id}`: 200 at once, the model then `loading`, and `loaded` (or
/// failed) after the behaviour's `load_ms`. Loaded or loading already → 400; unknown or no
/// `model` → 404.
pub async fn load(State(state): State<SharedState>, raw: Bytes) -> Response {
    let Some(model) = requested_model(&state, "/models/load", &raw) else {
        return file_not_found();
    };
    match residency::start_load(&state, &model) {
        None => file_not_found(),
        Some(Begin::Started(_)) => success(),
        Some(Begin::AlreadyLoaded | Begin::InProgress) => {
            invalid_request("model is already running")
        }
    }
}

/// `POST /models/unload {"model": id}`: 200 and `unloaded` at once. Not loaded (nor loading)
/// → 400 `model is not running`; unknown or no `model` → 400 `model is not found`.
pub async fn unload(State(state): State<SharedState>, raw: Bytes) -> Response {
    let Some(model) = requested_model(&state, "/models/unload", &raw) else {
        return invalid_request("model is not found");
    };
    match state.residency(&model) {
        None => invalid_request("model is not found"),
        Some(Residency::Unloaded | Residency::Failed) => invalid_request("model is not running"),
        Some(Residency::Loaded | Residency::Loading) => {
            if state.set_residency(&model, Residency::Unloaded) {
                success()
            } else {
                invalid_request("model is not found")
            }
        }
    }
}

/// `GET /props`: what tells a router from a single-model server.
pub async fn props() -> Json<Value> {
    Json(json!({ "role": "router", "max_instances": 4, "models_autoload": true }))
}
