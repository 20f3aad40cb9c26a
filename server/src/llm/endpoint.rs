//! One upstream server: its base URL, its key and the HTTP client shared by its models.

use std::fmt;

use anyhow::Context;
use async_openai::{Client, config::Config, middleware::ReqwestService};
use reqwest13::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use tower::Layer;

use super::{LlmSettings, retry::BoundedRetryLayer};

/// An OpenAI-compatible server. Cheap to share (`Arc`); the HTTP client pools connections.
pub(crate) struct Endpoint {
    /// `env` for the endpoint configured by environment variables, else its name in
    /// `MODELS_FILE`.
    pub name: String,
    client: Client<EndpointConfig>,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = self.client.config();
        f.debug_struct("Endpoint")
            .field("name", &self.name)
            .field("base_url", &config.base_url)
            .field("has_api_key", &config.api_key.is_some())
            .finish()
    }
}

impl Endpoint {
    /// Where it is (host and port of its URL, no path or credentials), for metrics labels.
    pub(crate) fn replica(&self) -> String {
        let url = self.client.config().base_url.as_str();
        let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
        let authority = rest.split('/').next().unwrap_or(rest);
        authority.rsplit('@').next().unwrap_or(authority).to_owned()
    }

    /// Builds the HTTP client once: connect timeout from the settings, and Confab's own retry
    /// layer (bounded `Retry-After`) instead of async-openai's default one.
    pub(crate) fn new(
        name: &str,
        base_url: &str,
        api_key: Option<SecretString>,
        settings: &LlmSettings,
    ) -> anyhow::Result<Endpoint> {
        ensure_crypto_provider();
        let http = reqwest13::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .build()
            .with_context(|| format!("building the HTTP client for endpoint `{name}`"))?;
        let config = EndpointConfig {
            base_url: base_url.to_owned(),
            api_key,
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
        .layer(ReqwestService::new(http.clone()));
        let client = Client::build(http, config).with_http_service(service);
        Ok(Endpoint {
            name: name.to_owned(),
            client,
        })
    }

    pub(crate) fn client(&self) -> &Client<EndpointConfig> {
        &self.client
    }
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
