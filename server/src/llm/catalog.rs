//! The models users may pick, where each is served, and how requests for them are resolved.
//! The list is the configured models, then those discovered on endpoints that discover: it is
//! read again every `DISCOVER_INTERVAL_SECS` (`Catalog::refresh`) and swapped whole, so a
//! reader always sees one consistent list. Each process discovers for itself: the list is
//! the upstreams' state, not Confab's.

use std::{
    fmt,
    sync::{Arc, RwLock},
    time::Duration,
};

use anyhow::{Context, bail};
use secrecy::SecretString;

use super::{
    LlmSettings, UpstreamKind,
    discovery::{self, Patterns},
    endpoint::Endpoint,
    models_file::ModelsFile,
};

/// Where a model comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Listed in the settings (`AVAILABLE_MODELS`, `MODELS_FILE`).
    Configured,
    /// Listed by its endpoint's server (`discover`).
    Discovered,
}

/// One model of one endpoint.
pub struct ModelInfo {
    pub id: String,
    /// Display name (the id unless the models file gives one).
    pub label: String,
    /// The largest `max_tokens` a request may ask for.
    pub max_tokens: u32,
    pub kind: UpstreamKind,
    pub source: Source,
    pub(crate) endpoint: Arc<Endpoint>,
}

impl ModelInfo {
    /// The name of the endpoint serving it (`env`, or its name in `MODELS_FILE`).
    pub fn endpoint_name(&self) -> &str {
        &self.endpoint.name
    }

    /// Whether its endpoint answered when last asked.
    pub fn reachable(&self) -> bool {
        self.endpoint.is_reachable()
    }
}

impl fmt::Debug for ModelInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModelInfo")
            .field("id", &self.id)
            .field("label", &self.label)
            .field("max_tokens", &self.max_tokens)
            .field("kind", &self.kind.name())
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

/// How long a streamed answer may take (see `LlmSettings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamTimeouts {
    pub first_token: Duration,
    pub idle: Duration,
    pub total: Duration,
}

/// One endpoint as configured: its models, and what it discovers.
#[derive(Debug)]
struct Upstream {
    endpoint: Arc<Endpoint>,
    kind: UpstreamKind,
    /// Discovers, with these filters.
    discover: Option<Patterns>,
    /// What it listed when last asked successfully (kept while it does not answer).
    discovered: RwLock<Vec<String>>,
}

/// Every model, the defaults and the limits.
#[derive(Debug)]
pub struct Catalog {
    /// The configured models, in the settings' order.
    configured: Vec<Arc<ModelInfo>>,
    endpoints: Vec<Upstream>,
    /// The configured models, then the discovered ones (swapped whole by `refresh`).
    models: RwLock<Arc<Vec<Arc<ModelInfo>>>>,
    /// For discovered models.
    discovered_max_tokens: u32,
    discover_interval: Duration,
    load_timeout: Duration,
    /// Loads this process asked Ollama for, still running or failed (Ollama reports none).
    pub(super) loads: Arc<super::residency::Loads>,
    default_model: Option<String>,
    default_temperature: Option<f64>,
    demo: bool,
    max_message_length: usize,
    max_history: usize,
    timeouts: StreamTimeouts,
}

impl Catalog {
    /// Env-configured models, then those of `MODELS_FILE` (whose `api_key_env` variables are
    /// read from the process environment). Fails on an unreadable file or inconsistent setup.
    pub fn from_settings(settings: &LlmSettings) -> anyhow::Result<Catalog> {
        Self::from_settings_with(settings, &|name| std::env::var(name).ok())
    }

    /// A catalog from these variables, later ones winning (tests).
    #[cfg(test)]
    pub(crate) fn for_tests(vars: &[(&str, &str)]) -> Catalog {
        let lookup = |name: &str| {
            vars.iter()
                .rev()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        };
        let settings = LlmSettings::from_lookup(&lookup).expect("valid test settings");
        Self::from_settings(&settings).expect("a valid test catalog")
    }

    /// As [`Catalog::from_settings`], reading `api_key_env` variables through `get_env`.
    pub fn from_settings_with(
        settings: &LlmSettings,
        get_env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Catalog> {
        let mut models: Vec<Arc<ModelInfo>> = Vec::new();
        let mut endpoints: Vec<Upstream> = Vec::new();
        let mut add = |model: ModelInfo| -> anyhow::Result<()> {
            if models.iter().any(|m| m.id == model.id) {
                bail!("model `{}` is configured more than once", model.id);
            }
            models.push(Arc::new(model));
            Ok(())
        };
        if let Some(base_url) = &settings.api_base_url {
            let endpoint = Arc::new(Endpoint::new(
                "env",
                std::slice::from_ref(base_url),
                settings.api_key.clone(),
                settings,
            )?);
            for id in &settings.available_models {
                add(ModelInfo {
                    id: id.clone(),
                    label: id.clone(),
                    max_tokens: settings.model_max_tokens,
                    kind: settings.kind.clone(),
                    source: Source::Configured,
                    endpoint: endpoint.clone(),
                })?;
            }
            let discover = settings
                .discover
                .then(|| Patterns::new(&settings.discover_include, &settings.discover_exclude))
                .transpose()
                .map_err(anyhow::Error::msg)?;
            endpoints.push(Upstream {
                endpoint,
                kind: settings.kind.clone(),
                discover,
                discovered: RwLock::default(),
            });
        }
        let mut file_default = None;
        if let Some(path) = &settings.models_file {
            let file = ModelsFile::read(path)?;
            let context = || format!("MODELS_FILE {}", path.display());
            for spec in &file.endpoints {
                let kind = spec.kind().with_context(context)?;
                let base_urls = spec
                    .urls()
                    .map_err(anyhow::Error::msg)
                    .with_context(context)?
                    .into_iter()
                    .map(|(field, url)| {
                        super::settings::base_url(
                            &format!("endpoint `{}`: {field}", spec.name),
                            url,
                        )
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(anyhow::Error::msg)
                    .with_context(context)?;
                let api_key = match &spec.api_key_env {
                    None => None,
                    Some(var) => Some(
                        get_env(var)
                            .filter(|key| !key.trim().is_empty())
                            .map(|key| SecretString::from(key.trim().to_owned()))
                            .with_context(|| {
                                format!(
                                    "endpoint `{}`: api_key_env names {var}, which is not set",
                                    spec.name
                                )
                            })
                            .with_context(context)?,
                    ),
                };
                let endpoint = Arc::new(Endpoint::new(&spec.name, &base_urls, api_key, settings)?);
                for model in &spec.models {
                    add(ModelInfo {
                        id: model.id.trim().to_owned(),
                        label: model
                            .label
                            .clone()
                            .unwrap_or_else(|| model.id.trim().to_owned()),
                        max_tokens: model.max_tokens.unwrap_or(settings.model_max_tokens),
                        kind: kind.clone(),
                        source: Source::Configured,
                        endpoint: endpoint.clone(),
                    })
                    .with_context(context)?;
                }
                let discover = spec
                    .discover
                    .then(|| Patterns::new(&spec.include, &spec.exclude))
                    .transpose()
                    .map_err(anyhow::Error::msg)
                    .with_context(context)?;
                endpoints.push(Upstream {
                    endpoint,
                    kind,
                    discover,
                    discovered: RwLock::default(),
                });
            }
            file_default = file.default_model;
        }
        let (default_model, source) = match (&settings.default_model, file_default) {
            (Some(model), _) => (Some(model.clone()), "DEFAULT_MODEL"),
            (None, Some(model)) => (Some(model), "MODELS_FILE: default_model"),
            (None, None) => (models.first().map(|m| m.id.clone()), "DEFAULT_MODEL"),
        };
        let discovers = endpoints.iter().any(|e| e.discover.is_some());
        if let Some(default) = &default_model
            && !models.iter().any(|m| &m.id == default)
        {
            if !discovers {
                bail!("{source}: `{default}` is not one of the configured models");
            }
            tracing::info!(model = %default, "the default model is not configured: it must be discovered");
        }
        Ok(Catalog {
            models: RwLock::new(Arc::new(models.clone())),
            configured: models,
            endpoints,
            discovered_max_tokens: settings.model_max_tokens,
            discover_interval: settings.discover_interval,
            load_timeout: settings.load_timeout,
            loads: Arc::default(),
            default_model,
            default_temperature: settings.default_temperature,
            demo: settings.demo,
            max_message_length: settings.max_message_length,
            max_history: settings.max_conversation_history,
            timeouts: StreamTimeouts {
                first_token: settings.first_token_timeout,
                idle: settings.idle_timeout,
                total: settings.total_timeout,
            },
        })
    }

    /// No model (configured or discovered): chat requests cannot be answered.
    pub fn is_empty(&self) -> bool {
        self.models().is_empty()
    }

    /// Whether some endpoint discovers its models (the list may change).
    pub fn discovers(&self) -> bool {
        self.endpoints.iter().any(|e| e.discover.is_some())
    }

    pub fn discover_interval(&self) -> Duration {
        self.discover_interval
    }

    /// The first-token deadline of an answer whose model must be loaded first.
    pub fn load_timeout(&self) -> Duration {
        self.load_timeout
    }

    /// Asks every endpoint for its models (all at once): a discovering endpoint's list
    /// replaces what it listed before, any answer makes an endpoint reachable, and an
    /// endpoint that does not answer (or answers garbage) keeps its models and is marked
    /// unreachable, with one log line naming it. True when every discovering endpoint gave
    /// its list.
    pub async fn refresh(&self) -> bool {
        let asked = futures::future::join_all(
            self.endpoints
                .iter()
                .map(|source| discovery::list(&source.endpoint)),
        )
        .await;
        let mut complete = true;
        for (source, listed) in self.endpoints.iter().zip(asked) {
            let endpoint = &source.endpoint;
            complete &= source.discover.is_none() || listed.is_ok();
            match listed {
                Ok(ids) => {
                    endpoint.set_reachable(true);
                    if let Some(patterns) = &source.discover {
                        let ids: Vec<String> =
                            ids.into_iter().filter(|id| patterns.admits(id)).collect();
                        *source
                            .discovered
                            .write()
                            .unwrap_or_else(std::sync::PoisonError::into_inner) = ids;
                    }
                }
                // A server that answers but lists nothing usable is there: only a discovering
                // endpoint needs its list.
                Err(
                    error @ (discovery::ListError::Status(_) | discovery::ListError::Garbage(_)),
                ) => {
                    endpoint.set_reachable(true);
                    if source.discover.is_some() {
                        tracing::warn!(endpoint = %endpoint.name, %error, "discovering models failed: the models found before are kept");
                    }
                }
                Err(error) => {
                    if endpoint.is_reachable() {
                        tracing::warn!(endpoint = %endpoint.name, %error, "the model list could not be read: the models found before are kept");
                    }
                    endpoint.set_reachable(false);
                }
            }
        }
        self.rebuild();
        complete
    }

    /// The configured models, then each discovering endpoint's discovered ones (sorted; an id
    /// already served elsewhere is left out).
    fn rebuild(&self) {
        let mut models = self.configured.clone();
        for source in self.endpoints.iter().filter(|s| s.discover.is_some()) {
            let mut ids = source
                .discovered
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone();
            ids.sort();
            for id in ids {
                if models.iter().any(|m| m.id == id) {
                    continue;
                }
                models.push(Arc::new(ModelInfo {
                    label: id.clone(),
                    id,
                    max_tokens: self.discovered_max_tokens,
                    kind: source.kind.clone(),
                    source: Source::Discovered,
                    endpoint: Arc::clone(&source.endpoint),
                }));
            }
        }
        let mut current = self
            .models
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let changed =
            current.len() != models.len() || current.iter().zip(&models).any(|(a, b)| a.id != b.id);
        if changed {
            tracing::info!(models = models.len(), "the model list changed");
            *current = Arc::new(models);
        }
    }

    /// The catalog is the built-in demo model (`UPSTREAM_DEMO`).
    pub fn is_demo(&self) -> bool {
        self.demo
    }

    pub fn max_message_length(&self) -> usize {
        self.max_message_length
    }

    /// How many earlier messages are sent upstream with a new one.
    pub fn max_history(&self) -> usize {
        self.max_history
    }

    /// `DEFAULT_MODEL` (or the models file's), else the first model there is now.
    pub fn default_model(&self) -> Option<String> {
        self.default_model
            .clone()
            .or_else(|| self.models().first().map(|m| m.id.clone()))
    }

    pub fn default_temperature(&self) -> Option<f64> {
        self.default_temperature
    }

    pub fn timeouts(&self) -> StreamTimeouts {
        self.timeouts
    }

    /// Every model now: a snapshot (a refresh swaps in a new list).
    pub fn models(&self) -> Arc<Vec<Arc<ModelInfo>>> {
        Arc::clone(
            &self
                .models
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    pub fn model(&self, id: &str) -> Option<Arc<ModelInfo>> {
        self.models().iter().find(|m| m.id == id).cloned()
    }
}

#[cfg(test)]
impl ModelInfo {
    /// A model on an endpoint nobody listens to.
    pub(crate) fn for_tests(id: &str, kind: UpstreamKind) -> ModelInfo {
        let settings = LlmSettings::from_lookup(&|_| None).expect("defaults are valid");
        ModelInfo {
            id: id.to_owned(),
            label: id.to_owned(),
            max_tokens: settings.model_max_tokens,
            kind,
            source: Source::Configured,
            endpoint: Arc::new(
                Endpoint::new(
                    "test",
                    &["http://127.0.0.1:9/v1".to_owned()],
                    None,
                    &settings,
                )
                .expect("client builds"),
            ),
        }
    }
}

#[cfg(test)]
#[path = "catalog_tests.rs"]
mod tests;
