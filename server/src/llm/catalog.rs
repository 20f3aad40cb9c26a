//! The models users may pick, where each is served, and how requests for them are resolved.

use std::{fmt, sync::Arc, time::Duration};

use anyhow::{Context, bail};
use secrecy::SecretString;

use super::{LlmSettings, UpstreamKind, endpoint::Endpoint, models_file::ModelsFile};

/// One model of one endpoint.
pub struct ModelInfo {
    pub id: String,
    /// Display name (the id unless the models file gives one).
    pub label: String,
    /// The largest `max_tokens` a request may ask for.
    pub max_tokens: u32,
    pub kind: UpstreamKind,
    pub(crate) endpoint: Arc<Endpoint>,
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

/// Every configured model, the defaults and the limits. Built once at start-up.
#[derive(Debug, Clone)]
pub struct Catalog {
    models: Vec<Arc<ModelInfo>>,
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
                    endpoint: endpoint.clone(),
                })?;
            }
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
                        endpoint: endpoint.clone(),
                    })
                    .with_context(context)?;
                }
            }
            file_default = file.default_model;
        }
        let (default_model, source) = match (&settings.default_model, file_default) {
            (Some(model), _) => (Some(model.clone()), "DEFAULT_MODEL"),
            (None, Some(model)) => (Some(model), "MODELS_FILE: default_model"),
            (None, None) => (models.first().map(|m| m.id.clone()), "DEFAULT_MODEL"),
        };
        if let Some(default) = &default_model
            && !models.iter().any(|m| &m.id == default)
        {
            bail!("{source}: `{default}` is not one of the configured models");
        }
        Ok(Catalog {
            models,
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

    /// No model configured: chat requests cannot be answered.
    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
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

    pub fn default_model(&self) -> Option<&str> {
        self.default_model.as_deref()
    }

    pub fn default_temperature(&self) -> Option<f64> {
        self.default_temperature
    }

    pub fn timeouts(&self) -> StreamTimeouts {
        self.timeouts
    }

    pub fn models(&self) -> &[Arc<ModelInfo>] {
        &self.models
    }

    pub fn model(&self, id: &str) -> Option<&ModelInfo> {
        self.models.iter().find(|m| m.id == id).map(AsRef::as_ref)
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
