//! One upstream server: its base URL, its key and the HTTP client shared by its models.

use std::{
    fmt,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use async_openai::{Client, config::Config, middleware::ReqwestService};
use reqwest13::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use tower::Layer;

use super::{LlmSettings, retry::BoundedRetryLayer};

/// An OpenAI-compatible server, served by one or more replicas (`base_urls`). Cheap to share
/// (`Arc`); each replica's HTTP client pools connections.
pub(crate) struct Endpoint {
    /// `env` for the endpoint configured by environment variables, else its name in
    /// `MODELS_FILE`.
    pub name: String,
    replicas: Vec<Replica>,
    /// Whether it answered when last asked (its model list, or a chat completion).
    reachable: std::sync::atomic::AtomicBool,
    /// Where the next tie between equally busy replicas starts (spreads them round-robin).
    next: AtomicUsize,
    /// Held while a replica is chosen and counted, so that two answers starting together
    /// see each other.
    choosing: Mutex<()>,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("name", &self.name)
            .field("replicas", &self.replicas)
            .finish()
    }
}

/// How long a replica that failed rests before it is tried again: doubling from the first,
/// at most the last.
const FIRST_REST: Duration = Duration::from_secs(1);
const LONGEST_REST: Duration = Duration::from_secs(60);

/// One server of an endpoint: its client, the answers it is generating for this process, and
/// whether it recently failed.
pub(crate) struct Replica {
    client: Client<EndpointConfig>,
    /// The same connection pool, for the requests that are not chat completions (model lists,
    /// loading and unloading).
    http: reqwest13::Client,
    /// Host and port, for logs and metrics (never a path or credentials).
    pub label: String,
    in_flight: Arc<AtomicUsize>,
    health: Mutex<Health>,
}

#[derive(Debug, Default)]
struct Health {
    failures: u32,
    resting_until: Option<Instant>,
}

impl fmt::Debug for Replica {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = self.client.config();
        f.debug_struct("Replica")
            .field("base_url", &config.base_url)
            .field("has_api_key", &config.api_key.is_some())
            .finish()
    }
}

/// An answer counted against its replica while it streams.
pub(crate) struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Replica {
    pub(crate) fn client(&self) -> &Client<EndpointConfig> {
        &self.client
    }

    /// `{base_url}{path}`: under the OpenAI API (`/v1/models`).
    pub(crate) fn api_url(&self, path: &str) -> String {
        self.client.config().url(path)
    }

    /// `{root}{path}`, the root being the base URL without its `/v1`: where llama-server's and
    /// Ollama's own routes are (`/models/load`, `/api/ps`).
    pub(crate) fn root_url(&self, path: &str) -> String {
        let base = self.client.config().api_base();
        format!("{}{path}", base.strip_suffix("/v1").unwrap_or(base))
    }

    /// A request to this replica with its key (if any).
    pub(crate) fn request(
        &self,
        method: reqwest13::Method,
        url: String,
    ) -> reqwest13::RequestBuilder {
        self.http
            .request(method, url)
            .headers(self.client.config().headers())
    }

    pub(crate) fn begin(&self) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(Arc::clone(&self.in_flight))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Health> {
        self.health
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// It refused, timed out or failed before the first token: rest it, longer each time.
    pub(crate) fn failed(&self, endpoint: &str) {
        let mut health = self.lock();
        health.failures = health.failures.saturating_add(1);
        let rest = FIRST_REST
            .saturating_mul(2_u32.saturating_pow(health.failures - 1))
            .min(LONGEST_REST);
        health.resting_until = Some(Instant::now() + rest);
        tracing::warn!(endpoint, replica = %self.label, ?rest, "an upstream replica failed; resting it");
        self.report(endpoint, 0.0);
    }

    /// It streamed: healthy again.
    pub(crate) fn succeeded(&self, endpoint: &str) {
        let mut health = self.lock();
        if health.failures > 0 {
            tracing::info!(endpoint, replica = %self.label, "an upstream replica answers again");
        }
        *health = Health::default();
        self.report(endpoint, 1.0);
    }

    fn report(&self, endpoint: &str, up: f64) {
        metrics::gauge!(
            crate::metrics::UPSTREAM_REPLICA_UP,
            "endpoint" => endpoint.to_owned(),
            "replica" => self.label.clone()
        )
        .set(up);
    }
}

impl Endpoint {
    /// Builds one HTTP client per replica: connect timeout from the settings, and Confab's own
    /// retry layer (bounded `Retry-After`) instead of async-openai's default one. With several
    /// replicas, a refused connection or a 5xx is not retried on the same replica: the request
    /// moves to the next one (`order`).
    pub(crate) fn new(
        name: &str,
        base_urls: &[String],
        api_key: Option<SecretString>,
        settings: &LlmSettings,
    ) -> anyhow::Result<Endpoint> {
        ensure_crypto_provider();
        let failover = base_urls.len() > 1;
        let replicas = base_urls
            .iter()
            .map(|base_url| {
                let http = reqwest13::Client::builder()
                    .connect_timeout(settings.connect_timeout)
                    .build()
                    .with_context(|| format!("building the HTTP client for endpoint `{name}`"))?;
                let config = EndpointConfig {
                    base_url: base_url.to_owned(),
                    api_key: api_key.clone(),
                    no_key: SecretString::from(""),
                };
                // The header must be valid; checking here turns a bad key into a start-up error.
                let _ = config
                    .authorization()
                    .context("the API key is not a valid header value")?;
                let service = BoundedRetryLayer::new(
                    settings.max_retries,
                    settings.max_retry_wait,
                    settings.first_token_timeout,
                )
                .failing_over(failover)
                .layer(ReqwestService::new(http.clone()));
                Ok(Replica {
                    client: Client::build(http.clone(), config).with_http_service(service),
                    http,
                    label: host_of(base_url),
                    in_flight: Arc::default(),
                    health: Mutex::default(),
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        anyhow::ensure!(!replicas.is_empty(), "endpoint `{name}` has no URL");
        Ok(Endpoint {
            name: name.to_owned(),
            replicas,
            reachable: std::sync::atomic::AtomicBool::new(true),
            next: AtomicUsize::new(0),
            choosing: Mutex::new(()),
        })
    }

    pub(crate) fn is_reachable(&self) -> bool {
        self.reachable.load(Ordering::Relaxed)
    }

    /// Records whether it answered; says so in the log when that changes.
    pub(crate) fn set_reachable(&self, reachable: bool) {
        if self.reachable.swap(reachable, Ordering::Relaxed) != reachable {
            if reachable {
                tracing::info!(endpoint = %self.name, "an upstream endpoint answers again");
            } else {
                tracing::warn!(endpoint = %self.name, "an upstream endpoint does not answer");
            }
        }
    }

    /// The first replica (model lists and residency are asked of it).
    pub(crate) fn primary(&self) -> &Replica {
        &self.replicas[0]
    }

    pub(crate) fn replicas(&self) -> &[Replica] {
        &self.replicas
    }

    /// The replicas to try, in order, with the first one already counted as busy.
    pub(crate) fn choose(&self) -> (Vec<&Replica>, InFlight) {
        let _choosing = self
            .choosing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let order = self.order();
        let first = order[0].begin();
        (order, first)
    }

    /// The replicas to try, in order: those not resting, least busy first (ties taken in turn),
    /// then the resting ones, the soonest back first (so with every replica down the request
    /// still tries them, and fails as it would with one).
    fn order(&self) -> Vec<&Replica> {
        let now = Instant::now();
        let count = self.replicas.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % count;
        let mut ready = Vec::with_capacity(count);
        let mut resting = Vec::new();
        for (index, replica) in self.replicas.iter().enumerate() {
            match replica.lock().resting_until {
                Some(until) if until > now => resting.push((until, replica)),
                _ => ready.push(((index + count - start) % count, replica)),
            }
        }
        ready.sort_by_key(|(turn, replica)| (replica.in_flight.load(Ordering::Relaxed), *turn));
        resting.sort_by_key(|(until, _)| *until);
        ready
            .into_iter()
            .map(|(_, r)| r)
            .chain(resting.into_iter().map(|(_, r)| r))
            .collect()
    }
}

/// Host and port of a URL (no scheme, path or credentials).
fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or(rest);
    authority.rsplit('@').next().unwrap_or(authority).to_owned()
}

/// reqwest (built without a bundled provider) panics when no rustls provider is installed.
/// The server installs ring at start-up; this covers tests and other entry points.
fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race with another installer is fine: a provider is installed either way.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// Base URL and optional key. Unlike `OpenAIConfig` it reads nothing from the environment
/// and sends no `Authorization` header when there is no key.
#[derive(Clone)]
pub(crate) struct EndpointConfig {
    base_url: String,
    api_key: Option<SecretString>,
    /// What `Config::api_key` returns when there is no key.
    no_key: SecretString,
}

impl EndpointConfig {
    fn authorization(&self) -> anyhow::Result<Option<HeaderValue>> {
        let Some(key) = &self.api_key else {
            return Ok(None);
        };
        let mut value = HeaderValue::from_str(&format!("Bearer {}", key.expose_secret()))?;
        value.set_sensitive(true);
        Ok(Some(value))
    }
}

impl Config for EndpointConfig {
    fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        // Validated in `Endpoint::new`.
        if let Ok(Some(value)) = self.authorization() {
            headers.insert(AUTHORIZATION, value);
        }
        headers
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    fn query(&self) -> Vec<(&str, &str)> {
        Vec::new()
    }

    fn api_base(&self) -> &str {
        &self.base_url
    }

    fn api_key(&self) -> &SecretString {
        self.api_key.as_ref().unwrap_or(&self.no_key)
    }
}
