//! Shared state (served models and their residency, recorded requests, configured behaviour)
//! and the `/__…` control endpoints that let processes outside Rust (browser tests, scripts)
//! drive the fake upstream.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::residency::{Begin, Residency, Served};

/// How the fake upstream misbehaves. The default answers promptly and correctly.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Behaviour {
    /// Wait before the first byte of any `/v1/chat/completions` response.
    pub initial_delay_ms: u64,
    /// Wait between streamed content chunks.
    pub chunk_delay_ms: u64,
    /// Answer this HTTP status with an OpenAI-style error body...
    pub fail_status: Option<u16>,
    /// ...for the first N requests only (`None`: every request while set). Counted from the
    /// last `set_behaviour`.
    pub fail_times: Option<u32>,
    /// Add a `Retry-After` header to those failures.
    pub retry_after_secs: Option<u64>,
    /// Streaming only: send this many content chunks, then drop the connection abruptly
    /// (no finish chunk, no `[DONE]`).
    pub break_after_chunks: Option<usize>,
    /// Never report usage.
    pub omit_usage: bool,
    /// Reply with exactly this text (split into tokens) instead of the generated reply.
    pub reply: Option<String>,
    /// Length of the generated reply in tokens when `max_tokens` does not cut it (default 24).
    pub reply_tokens: Option<usize>,
    /// How long loading a model takes (router `/models/load`, Ollama `/api/generate`, and a
    /// chat completion for a model not loaded); 0 loads at once.
    pub load_ms: u64,
    /// Models whose load fails: their state becomes `failed`.
    pub fail_load: Vec<String>,
    /// `GET /v1/models` and `GET /models` answer this HTTP status with an OpenAI-style error.
    pub models_fail_status: Option<u16>,
    /// `GET /v1/models` and `GET /models` answer 200 with a body that is not JSON.
    pub models_garbage: bool,
    /// `GET /v1/models` and `GET /models` wait this long before answering.
    pub models_delay_ms: u64,
}

/// What a chat-completion request should get, decided when it is recorded.
pub struct Admission {
    pub behaviour: Behaviour,
    /// `Some(status)` when the behaviour makes this request fail.
    pub fail_status: Option<u16>,
}

#[derive(Default)]
struct Recorded {
    requests: Vec<Value>,
    /// `{"path", "body"}` of every load, unload and Ollama generate call.
    residency_calls: Vec<Value>,
    behaviour: Behaviour,
    failures_served: u32,
}

/// State shared by the handlers and the [`super::FakeUpstream`] handle.
pub struct Shared {
    /// The served models and their residency. Never locked together with `recorded`.
    served: Mutex<Served>,
    /// Whether requests are kept (tests) or forgotten at once (the demo model).
    record: bool,
    recorded: Mutex<Recorded>,
    /// Streamed answers whose body is still being sent (the reader has not gone away and the
    /// answer has not ended).
    pub open_streams: Arc<std::sync::atomic::AtomicUsize>,
}

pub type SharedState = Arc<Shared>;

impl Shared {
    /// Serves `models`, all `loaded` but those in `unloaded`.
    pub fn new(models: Vec<String>, unloaded: &[String], record: bool) -> SharedState {
        Arc::new(Self {
            served: Mutex::new(Served::new(models, unloaded)),
            record,
            recorded: Mutex::new(Recorded::default()),
            open_streams: Arc::default(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Recorded> {
        // A panic while holding the lock cannot leave the plain data inconsistent.
        self.recorded.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn served(&self) -> MutexGuard<'_, Served> {
        self.served.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The served model ids, in order.
    pub fn models(&self) -> Vec<String> {
        self.served().ids()
    }

    pub fn serves(&self, model: &str) -> bool {
        self.served().contains(model)
    }

    /// Serves exactly `models` from now on; new ones start `loaded`.
    pub fn set_models(&self, models: Vec<String>) {
        self.served().set_models(models);
    }

    pub fn residency(&self, model: &str) -> Option<Residency> {
        self.served().state(model)
    }

    /// Every served model with its residency, in order.
    pub fn residencies(&self) -> Vec<(String, Residency)> {
        self.served().states()
    }

    /// Sets a model's residency (cancelling a load under way); false for an unknown model.
    pub fn set_residency(&self, model: &str, residency: Residency) -> bool {
        self.served().set(model, residency)
    }

    pub fn begin_load(&self, model: &str) -> Option<Begin> {
        self.served().begin_load(model)
    }

    pub fn finish_load(&self, model: &str, epoch: u64, failed: bool) {
        self.served().finish_load(model, epoch, failed);
    }

    /// Records a load, unload or Ollama generate call (when requests are recorded at all).
    pub fn record_residency_call(&self, path: &str, body: Value) {
        if self.record {
            self.lock()
                .residency_calls
                .push(json!({ "path": path, "body": body }));
        }
    }

    pub fn residency_calls(&self) -> Vec<Value> {
        self.lock().residency_calls.clone()
    }

    /// Records a chat-completion body and decides, atomically, whether it must fail.
    pub fn admit(&self, body: Value) -> Admission {
        let mut recorded = self.lock();
        if self.record {
            recorded.requests.push(body);
        }
        let behaviour = recorded.behaviour.clone();
        let fail_status = behaviour
            .fail_status
            .filter(|_| match behaviour.fail_times {
                Some(times) => recorded.failures_served < times,
                None => true,
            });
        if fail_status.is_some() {
            recorded.failures_served = recorded.failures_served.saturating_add(1);
        }
        Admission {
            behaviour,
            fail_status,
        }
    }

    pub fn requests(&self) -> Vec<Value> {
        self.lock().requests.clone()
    }

    pub fn last_request(&self) -> Option<Value> {
        self.lock().requests.last().cloned()
    }

    pub fn request_count(&self) -> usize {
        self.lock().requests.len()
    }

    pub fn behaviour(&self) -> Behaviour {
        self.lock().behaviour.clone()
    }

    pub fn set_behaviour(&self, behaviour: Behaviour) {
        let mut recorded = self.lock();
        recorded.behaviour = behaviour;
        recorded.failures_served = 0;
    }

    pub fn clear_requests(&self) {
        self.lock().requests.clear();
    }

    /// Forgets requests and residency calls, resets the behaviour and makes every model
    /// `loaded`; the served list stays.
    pub fn clear(&self) {
        *self.lock() = Recorded::default();
        self.served().reset();
    }
}

/// `GET /__requests`: every recorded chat-completion body, in order.
pub async fn get_requests(State(state): State<SharedState>) -> Json<Vec<Value>> {
    Json(state.requests())
}

/// `DELETE /__requests`: forget the recorded requests (the behaviour stays).
pub async fn delete_requests(State(state): State<SharedState>) -> StatusCode {
    state.clear_requests();
    StatusCode::NO_CONTENT
}

/// `GET /__behaviour`: the behaviour in force.
pub async fn get_behaviour(State(state): State<SharedState>) -> Json<Behaviour> {
    Json(state.behaviour())
}

/// `PUT /__behaviour` with a [`Behaviour`] JSON (any content type; missing fields default).
pub async fn put_behaviour(State(state): State<SharedState>, body: Bytes) -> Response {
    match serde_json::from_slice::<Behaviour>(&body) {
        Ok(behaviour) => {
            state.set_behaviour(behaviour);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(error) => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": format!("invalid behaviour: {error}") })),
        )
            .into_response(),
    }
}

/// `POST /__reset`: forget requests and residency calls, reset the behaviour and make every
/// model `loaded`, like `FakeUpstream::clear`. The served model list stays as it is.
pub async fn reset(State(state): State<SharedState>) -> StatusCode {
    state.clear();
    StatusCode::NO_CONTENT
}

/// `GET /__health`.
pub async fn health() -> &'static str {
    "ok"
}

fn bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": message }))).into_response()
}

/// `GET /__residency`: `{"model": "loaded"|"loading"|"unloaded"|"failed", ...}`.
pub async fn get_residency(State(state): State<SharedState>) -> Json<Value> {
    let states: serde_json::Map<String, Value> = state
        .residencies()
        .into_iter()
        .map(|(model, residency)| (model, Value::from(residency.name())))
        .collect();
    Json(Value::Object(states))
}

/// The body of `PUT /__residency/{model}`.
#[derive(Deserialize)]
struct ResidencyChange {
    state: String,
}

/// `PUT /__residency/{model}` with `{"state":"loaded"|"unloaded"}`: 204, 404 for a model not
/// served, 400 for any other body.
pub async fn put_residency(
    State(state): State<SharedState>,
    Path(model): Path<String>,
    body: Bytes,
) -> Response {
    if !state.serves(&model) {
        let body = json!({ "error": format!("model `{model}` is not served") });
        return (StatusCode::NOT_FOUND, Json(body)).into_response();
    }
    let residency = match serde_json::from_slice::<ResidencyChange>(&body) {
        Ok(change) if change.state == "loaded" => Residency::Loaded,
        Ok(change) if change.state == "unloaded" => Residency::Unloaded,
        Ok(change) => {
            let wanted = change.state;
            return bad_request(format!(
                "state must be \"loaded\" or \"unloaded\", not {wanted:?}"
            ));
        }
        Err(error) => return bad_request(format!("invalid residency: {error}")),
    };
    if state.set_residency(&model, residency) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        // Removed by a concurrent `PUT /__models`.
        StatusCode::NOT_FOUND.into_response()
    }
}

/// `GET /__residency_calls`: every load, unload and Ollama generate call, in order, each
/// `{"path": "/models/load", "body": {...}}`.
pub async fn get_residency_calls(State(state): State<SharedState>) -> Json<Vec<Value>> {
    Json(state.residency_calls())
}

/// `GET /__models`: the served model ids, in order.
pub async fn get_models(State(state): State<SharedState>) -> Json<Vec<String>> {
    Json(state.models())
}

/// `PUT /__models` with `["a","b"]`: serve exactly these from now on (new ones `loaded`).
pub async fn put_models(State(state): State<SharedState>, body: Bytes) -> Response {
    match serde_json::from_slice::<Vec<String>>(&body) {
        Ok(models) => {
            state.set_models(models);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(error) => bad_request(format!("invalid model list: {error}")),
    }
}
