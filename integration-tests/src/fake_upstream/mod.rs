//! A real OpenAI-compatible HTTP server that answers deterministically and records what it
//! received: the upstream LLM for integration tests, benchmarks and demos.
//!
//! Every served model has a residency, `loaded`, `loading`, `unloaded` or `failed`, shared by
//! all the dialects below. All start `loaded` (but [`Options::unloaded`]); a load takes
//! [`Behaviour::load_ms`] and fails for the models in [`Behaviour::fail_load`].
//!
//! HTTP API:
//! - OpenAI: `GET /v1/models`, `GET /v1/models/{id}`, `POST /v1/chat/completions` (streamed as
//!   SSE when `"stream": true`; a model not loaded is loaded first, the request waiting, and a
//!   failed load answers 500 `model name=X failed to load`)
//! - llama-server router mode: `GET /models` (with each model's `status`),
//!   `POST /models/load` and `POST /models/unload` (`{"model": id}`), `GET /props`
//!   (`"role":"router"`)
//! - Ollama: `GET /api/tags`, `GET /api/ps` (loaded models, sizes from [`ollama_sizes`]),
//!   `POST /api/generate` without a prompt (load; `"keep_alive": 0` unloads)
//! - control, only with [`Options::control`] (tests; never the demo model, which records
//!   nothing): `GET|DELETE /__requests`, `GET|PUT /__behaviour`, `POST /__reset` (forget
//!   requests and residency calls, reset the behaviour, every model `loaded`; the model list
//!   stays), `GET /__health`, `GET /__residency` (`{"model": "state"}`),
//!   `PUT /__residency/{model}` (`{"state":"loaded"|"unloaded"}`), `GET /__residency_calls`
//!   (the load, unload and generate calls received), `GET|PUT /__models` (the served list,
//!   `["a","b"]`)
//!
//! `GET /v1/models` and `GET /models` misbehave as [`Behaviour::models_fail_status`],
//! [`Behaviour::models_garbage`] and [`Behaviour::models_delay_ms`] say.
//!
//! No CORS headers are ever sent: no web page has any business calling it.
//!
//! ```no_run
//! # async fn demo() {
//! use integration_tests::fake_upstream::{Behaviour, FakeUpstream};
//! let upstream = FakeUpstream::start().await;
//! upstream.set_behaviour(Behaviour { fail_status: Some(503), fail_times: Some(1), ..Behaviour::default() });
//! // point Confab at upstream.base_url() ...
//! # }
//! ```

mod control;
mod llama_router;
mod ollama;
mod protocol;
mod reply;
mod request;
mod residency;
mod sse;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_control;
#[cfg(test)]
mod tests_residency;
#[cfg(test)]
mod tests_stream;

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    time::{Duration, Instant},
};

use axum::{
    Router,
    extract::DefaultBodyLimit,
    routing::{get, post, put},
};
use serde_json::Value;
use tokio::{net::TcpListener, task::JoinHandle};

pub use control::Behaviour;
pub use ollama::ollama_sizes;
pub use reply::{DEFAULT_REPLY_TOKENS, tokenize};

use control::{Shared, SharedState};
use residency::Residency;

/// The model served when no other is configured.
pub const DEFAULT_MODEL: &str = "confab-demo";

/// Where to listen and which models to serve.
#[derive(Clone, Debug)]
pub struct Options {
    pub host: String,
    /// 0 picks a free port.
    pub port: u16,
    /// Served models; an empty list means [`DEFAULT_MODEL`] alone.
    pub models: Vec<String>,
    /// Served models that start `unloaded` (the others start `loaded`).
    pub unloaded: Vec<String>,
    /// Record every request and serve the `/__…` control endpoints (tests). Off, nothing a
    /// user sends is kept and the behaviour is fixed at `behaviour`.
    pub control: bool,
    /// The behaviour to start with.
    pub behaviour: Behaviour,
}

impl Default for Options {
    /// What tests use: control on, prompt and correct answers.
    fn default() -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            port: 0,
            models: vec![DEFAULT_MODEL.to_owned()],
            unloaded: Vec::new(),
            control: true,
            behaviour: Behaviour::default(),
        }
    }
}

/// A running fake upstream; dropping it stops the server.
pub struct FakeUpstream {
    addr: SocketAddr,
    state: SharedState,
    task: JoinHandle<()>,
}

impl FakeUpstream {
    /// Listens on 127.0.0.1 on a free port, serving [`DEFAULT_MODEL`].
    pub async fn start() -> FakeUpstream {
        Self::start_with(Options::default())
            .await
            .expect("bind the fake upstream on 127.0.0.1:0")
    }

    pub async fn start_with(options: Options) -> std::io::Result<FakeUpstream> {
        let listener = TcpListener::bind((options.host.as_str(), options.port)).await?;
        let addr = listener.local_addr()?;
        let mut models = options.models;
        if models.is_empty() {
            models.push(DEFAULT_MODEL.to_owned());
        }
        let state = Shared::new(models, &options.unloaded, options.control);
        state.set_behaviour(options.behaviour);
        let app = router(state.clone(), options.control);
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(
                axum::serve::ListenerExt::tap_io(listener, |tcp| {
                    let _ = tcp.set_nodelay(true);
                }),
                app,
            )
            .await
            {
                tracing::error!(%error, "fake upstream stopped");
            }
        });
        Ok(FakeUpstream { addr, state, task })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:PORT/v1` (a wildcard bind is reached through loopback).
    pub fn base_url(&self) -> String {
        let ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}/v1", SocketAddr::new(ip, self.addr.port()))
    }

    /// Every `/v1/chat/completions` body received, in order (failed ones included).
    pub fn requests(&self) -> Vec<Value> {
        self.state.requests()
    }

    pub fn last_request(&self) -> Option<Value> {
        self.state.last_request()
    }

    pub fn request_count(&self) -> usize {
        self.state.request_count()
    }

    /// Streamed answers being sent right now (not yet ended, reader still there).
    pub fn open_streams(&self) -> usize {
        self.state
            .open_streams
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn behaviour(&self) -> Behaviour {
        self.state.behaviour()
    }

    /// Replaces the behaviour and restarts the `fail_times` count.
    pub fn set_behaviour(&self, behaviour: Behaviour) {
        self.state.set_behaviour(behaviour);
    }

    /// Forgets the requests and residency calls, resets the behaviour to the default and
    /// makes every model `loaded`. The served model list stays.
    pub fn clear(&self) {
        self.state.clear();
    }

    /// The served model ids, in order.
    pub fn models(&self) -> Vec<String> {
        self.state.models()
    }

    /// Serves exactly `models` from now on (duplicates dropped, an empty list serves none):
    /// models served already keep their residency, new ones start `loaded`.
    pub fn set_models(&self, models: Vec<String>) {
        self.state.set_models(models);
    }

    /// Makes a served model `loaded` or `unloaded` at once, cancelling a load under way;
    /// nothing for a model not served.
    pub fn set_resident(&self, model: &str, loaded: bool) {
        let residency = if loaded {
            Residency::Loaded
        } else {
            Residency::Unloaded
        };
        self.state.set_residency(model, residency);
    }

    /// `loaded`, `loading`, `unloaded` or `failed`; `None` for a model not served.
    pub fn residency(&self, model: &str) -> Option<String> {
        self.state
            .residency(model)
            .map(|residency| residency.name().to_owned())
    }

    /// Every load, unload and Ollama generate call received, in order, each
    /// `{"path": "/models/load", "body": {...}}` (a body that is not JSON as `{"_raw": text}`);
    /// none without [`Options::control`].
    pub fn residency_calls(&self) -> Vec<Value> {
        self.state.residency_calls()
    }

    /// Waits until at least `n` requests were recorded; false on timeout.
    pub async fn wait_for_requests(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.request_count() >= n {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn router(state: SharedState, control: bool) -> Router {
    let mut router = Router::new()
        .route("/v1/models", get(protocol::list_models))
        .route("/v1/models/{id}", get(protocol::get_model))
        .route("/v1/chat/completions", post(protocol::chat_completions))
        .route("/models", get(llama_router::list_models))
        .route("/models/load", post(llama_router::load))
        .route("/models/unload", post(llama_router::unload))
        .route("/props", get(llama_router::props))
        .route("/api/tags", get(ollama::tags))
        .route("/api/ps", get(ollama::ps))
        .route("/api/generate", post(ollama::generate));
    if control {
        router = router
            .route(
                "/__requests",
                get(control::get_requests).delete(control::delete_requests),
            )
            .route(
                "/__behaviour",
                get(control::get_behaviour).put(control::put_behaviour),
            )
            .route("/__reset", post(control::reset))
            .route("/__health", get(control::health))
            .route("/__residency", get(control::get_residency))
            .route("/__residency/{*model}", put(control::put_residency))
            .route("/__residency_calls", get(control::get_residency_calls))
            .route(
                "/__models",
                get(control::get_models).put(control::put_models),
            );
    }
    router
        .fallback(protocol::fallback)
        .layer(DefaultBodyLimit::max(64 * 1024 * 1024))
        .with_state(state)
}
