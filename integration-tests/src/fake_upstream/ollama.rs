//! Ollama's native API, at the root: `GET /api/tags`, `GET /api/ps`, and `POST /api/generate`
//! as clients use it to load (`keep_alive` other than 0) or unload (`keep_alive: 0`) a model
//! without a prompt. Sizes and digests are derived from the model id, so tests can assert them.

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{
    control::SharedState,
    llama_router::parse_call,
    residency::{self, Residency},
};

/// `modified_at` of every model.
const MODIFIED_AT: &str = "2026-01-01T00:00:00Z";
/// `expires_at` of every loaded model.
const EXPIRES_AT: &str = "2026-12-31T00:00:00Z";

/// A model's bytes `(on disk, loaded, in VRAM)`, as `/api/tags` (`size`) and `/api/ps`
/// (`size`, `size_vram`) report them: 1 GB + 1 MB per byte of the id on disk, 500 MB more
/// once loaded, half of that in VRAM.
pub fn ollama_sizes(id: &str) -> (u64, u64, u64) {
    let id_len = u64::try_from(id.len()).unwrap_or(u64::MAX);
    let size = 1_000_000_000u64.saturating_add(1_000_000u64.saturating_mul(id_len));
    let loaded = size.saturating_add(500_000_000);
    (size, loaded, loaded / 2)
}

/// 64 hex digits: the SHA-256 of the id.
fn digest(id: &str) -> String {
    Sha256::digest(id.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn details() -> Value {
    json!({
        "format": "gguf", "family": "llama", "parameter_size": "8B",
        "quantization_level": "Q4_K_M",
    })
}

fn ollama_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// `GET /api/tags`: every served model.
pub async fn tags(State(state): State<SharedState>) -> Json<Value> {
    let models: Vec<Value> = state
        .models()
        .iter()
        .map(|id| {
            let (size, _, _) = ollama_sizes(id);
            json!({
                "name": id, "model": id, "modified_at": MODIFIED_AT, "size": size,
                "digest": digest(id), "details": details(),
            })
        })
        .collect();
    Json(json!({ "models": models }))
}

/// `GET /api/ps`: the loaded models only.
pub async fn ps(State(state): State<SharedState>) -> Json<Value> {
    let models: Vec<Value> = state
        .residencies()
        .into_iter()
        .filter(|(_, residency)| *residency == Residency::Loaded)
        .map(|(id, _)| {
            let (_, loaded, vram) = ollama_sizes(&id);
            json!({
                "name": id, "model": id, "size": loaded, "digest": digest(&id),
                "details": details(), "expires_at": EXPIRES_AT, "size_vram": vram,
            })
        })
        .collect();
    Json(json!({ "models": models }))
}

/// Whether `keep_alive` means "unload now": 0, or a duration string such as `"0"` or `"0s"`.
fn unloads(keep_alive: Option<&Value>) -> bool {
    match keep_alive {
        Some(Value::Number(n)) => n.as_f64().is_some_and(|secs| secs.abs() < f64::EPSILON),
        Some(Value::String(text)) => text
            .trim()
            .trim_end_matches(|c: char| c.is_ascii_alphabetic())
            .parse::<f64>()
            .is_ok_and(|secs| secs.abs() < f64::EPSILON),
        _ => false,
    }
}

/// The answer once a model was loaded or unloaded (`reason` `load` or `unload`).
fn done(model: &str, reason: &str) -> Response {
    let created_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    Json(json!({
        "model": model, "created_at": created_at, "response": "", "done": true,
        "done_reason": reason,
    }))
    .into_response()
}

/// `POST /api/generate {"model": id, "keep_alive": …}` without a prompt: loads the model and
/// answers once it is loaded (taking the behaviour's `load_ms`), or unloads it at once with
/// `keep_alive: 0`. No `model` → 400, unknown → 404, a load in `fail_load` → 500, a prompt → 400.
pub async fn generate(State(state): State<SharedState>, raw: Bytes) -> Response {
    let (body, model) = parse_call(&raw);
    let prompted = body
        .get("prompt")
        .and_then(Value::as_str)
        .is_some_and(|prompt| !prompt.is_empty());
    let unload = unloads(body.get("keep_alive"));
    state.record_residency_call("/api/generate", body);
    let Some(model) = model.filter(|model| !model.is_empty()) else {
        return ollama_error(StatusCode::BAD_REQUEST, "model is required");
    };
    if !state.serves(&model) {
        return not_found(&model);
    }
    if prompted {
        let message = "the fake upstream does not generate on /api/generate";
        return ollama_error(StatusCode::BAD_REQUEST, message);
    }
    if unload {
        if !state.set_residency(&model, Residency::Unloaded) {
            return not_found(&model);
        }
        return done(&model, "unload");
    }
    match residency::load(&state, &model).await {
        Some(Residency::Loaded) => done(&model, "load"),
        None => not_found(&model),
        Some(_) => ollama_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "llama runner process has terminated: exit status 1",
        ),
    }
}

fn not_found(model: &str) -> Response {
    ollama_error(StatusCode::NOT_FOUND, &format!("model '{model}' not found"))
}
