//! Shared state (recorded requests, configured behaviour) and the `/__…` control endpoints
//! that let processes outside Rust (browser tests, scripts) drive the fake upstream.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

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
    behaviour: Behaviour,
    failures_served: u32,
}

/// State shared by the handlers and the [`super::FakeUpstream`] handle.
pub struct Shared {
    pub models: Vec<String>,
    /// Whether requests are kept (tests) or forgotten at once (the demo model).
    record: bool,
    recorded: Mutex<Recorded>,
    /// Streamed answers whose body is still being sent (the reader has not gone away and the
    /// answer has not ended).
    pub open_streams: Arc<std::sync::atomic::AtomicUsize>,
}

pub type SharedState = Arc<Shared>;

impl Shared {
    pub fn new(models: Vec<String>, record: bool) -> SharedState {
        Arc::new(Self {
            models,
            record,
            recorded: Mutex::new(Recorded::default()),
            open_streams: Arc::default(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Recorded> {
        // A panic while holding the lock cannot leave the plain data inconsistent.
        self.recorded.lock().unwrap_or_else(|p| p.into_inner())
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

    pub fn clear(&self) {
        *self.lock() = Recorded::default();
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

/// `POST /__reset`: forget requests and reset the behaviour, like `FakeUpstream::clear`.
pub async fn reset(State(state): State<SharedState>) -> StatusCode {
    state.clear();
    StatusCode::NO_CONTENT
}

/// `GET /__health`.
pub async fn health() -> &'static str {
    "ok"
}
