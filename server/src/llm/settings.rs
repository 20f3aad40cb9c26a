//! Upstream settings, read from environment variables (empty values count as unset).

use std::{path::PathBuf, time::Duration};

use secrecy::SecretString;

use super::UpstreamKind;
use crate::env::{BadSetting, Env};

/// Everything about the upstream LLM servers that comes from the environment.
#[derive(Debug, Clone)]
pub struct LlmSettings {
    /// `OPENAI_API_BASE_URL` [none]: base URL of the OpenAI-compatible API, e.g.
    /// `http://localhost:8000/v1`. Unset (and no `MODELS_FILE`): no models at all. Also read
    /// under the names other tools use, `OPENAI_BASE_URL` (the OpenAI SDKs) and
    /// `OPENAI_API_URL` (TinyChat); set under two names that disagree, Confab refuses to start.
    pub api_base_url: Option<String>,
    /// `OPENAI_API_KEY` [none]: bearer token for `OPENAI_API_BASE_URL`. Never logged.
    pub api_key: Option<SecretString>,
    /// `UPSTREAM_KIND` [openai]: `openai`, `vllm`, `llamacpp`, `ollama` or `tgi`; decides
    /// which parameters are sent to `OPENAI_API_BASE_URL` and under which names.
    pub kind: UpstreamKind,
    /// `DEFAULT_MODEL` [first of `AVAILABLE_MODELS`]: the model used when a request names
    /// none. May name a model of `MODELS_FILE`; unset there too, its `default_model` (or
    /// first model) is used.
    pub default_model: Option<String>,
    /// `AVAILABLE_MODELS` [just `DEFAULT_MODEL`]: comma-separated model ids served by
    /// `OPENAI_API_BASE_URL`.
    pub available_models: Vec<String>,
    /// `DEFAULT_TEMPERATURE` [none: the upstream's own default]: 0–2, used when unset.
    pub default_temperature: Option<f64>,
    /// `MODEL_MAX_TOKENS` [4096]: the `max_tokens` limit of the models above (and of models
    /// of `MODELS_FILE` that give none).
    pub model_max_tokens: u32,
    /// `MODELS_FILE` [none]: path of a JSON file describing more endpoints and their models.
    pub models_file: Option<PathBuf>,
    /// `DISCOVER_MODELS` [false]: also serve every model `OPENAI_API_BASE_URL` lists
    /// (`GET {base}/models`), read at start-up and every `DISCOVER_INTERVAL_SECS`; then
    /// `DEFAULT_MODEL` and `AVAILABLE_MODELS` may be left unset (models listed there keep their
    /// limits either way).
    pub discover: bool,
    /// `DISCOVER_INCLUDE` [all]: comma-separated glob patterns (`llama-*,qwen*`); a discovered
    /// model is served only when its id matches one.
    pub discover_include: Vec<String>,
    /// `DISCOVER_EXCLUDE` [none]: comma-separated glob patterns of discovered ids left out.
    pub discover_exclude: Vec<String>,
    /// `DISCOVER_INTERVAL_SECS` [300]: how often model lists are read again (and every
    /// endpoint is asked whether it answers).
    pub discover_interval: Duration,
    /// `UPSTREAM_LOAD_TIMEOUT_MS` [300000]: the first-token deadline of an answer whose model
    /// must first be loaded into memory (llama-server's router mode, Ollama).
    pub load_timeout: Duration,
    /// `UPSTREAM_DEMO` [false]: the upstream is the built-in demo model (clients say so).
    pub demo: bool,
    /// `MAX_MESSAGE_LENGTH` [8000]: the longest user message, in characters.
    pub max_message_length: usize,
    /// `MAX_CONVERSATION_HISTORY` [50]: how many earlier messages are sent with a new one.
    pub max_conversation_history: usize,
    /// `UPSTREAM_CONNECT_TIMEOUT_MS` [10000]: to establish a connection to an upstream.
    pub connect_timeout: Duration,
    /// `UPSTREAM_FIRST_TOKEN_TIMEOUT_MS` [60000]: from sending a request to the first token.
    pub first_token_timeout: Duration,
    /// `UPSTREAM_IDLE_TIMEOUT_MS` [30000]: the longest silence once tokens flow.
    pub idle_timeout: Duration,
    /// `UPSTREAM_TOTAL_TIMEOUT_MS` [600000]: the longest a whole answer may take.
    pub total_timeout: Duration,
    /// `UPSTREAM_MAX_RETRIES` [2]: retries of a request refused with 429/5xx or unable to
    /// connect, before any token was received.
    pub max_retries: u32,
    /// `UPSTREAM_MAX_RETRY_WAIT_MS` [10000]: the longest `Retry-After` Confab waits; a request
    /// asked to wait longer fails at once.
    pub max_retry_wait: Duration,
}

impl LlmSettings {
    /// Builds settings from any name → value lookup. The error message names the variable.
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<LlmSettings, BadSetting> {
        Self::from_env(&Env::new(get))
    }

    /// Reads the upstream settings. The error names the variable.
    pub fn from_env(vars: &Env<'_>) -> Result<LlmSettings, BadSetting> {
        let api_base_url = upstream_url(vars)?;
        let mut available_models: Vec<String> = Vec::new();
        for id in vars.raw("AVAILABLE_MODELS").unwrap_or_default().split(',') {
            let id = id.trim();
            if !id.is_empty() && !available_models.iter().any(|m| m == id) {
                available_models.push(id.to_owned());
            }
        }
        let mut default_model = vars.raw("DEFAULT_MODEL");
        let discover: bool = vars.parse("DISCOVER_MODELS", false)?;
        if discover && api_base_url.is_none() {
            return Err(BadSetting::new(
                "DISCOVER_MODELS",
                "there is nothing to discover from: OPENAI_API_BASE_URL is not set",
            ));
        }
        if api_base_url.is_none() && !available_models.is_empty() {
            return Err(BadSetting::new(
                "AVAILABLE_MODELS",
                "these models would be served by OPENAI_API_BASE_URL, which is not set",
            ));
        }
        if api_base_url.is_some() {
            match (&default_model, available_models.first()) {
                (None, Some(first)) => default_model = Some(first.clone()),
                (Some(model), None) => available_models.push(model.clone()),
                (None, None) if discover => {}
                (None, None) => {
                    return Err(BadSetting::new(
                        "DEFAULT_MODEL",
                        "OPENAI_API_BASE_URL is set, so DEFAULT_MODEL or AVAILABLE_MODELS \
                         must name at least one model (or set DISCOVER_MODELS=true)",
                    ));
                }
                (Some(_), Some(_)) => {}
            }
        }
        let default_temperature: Option<f64> = vars.optional("DEFAULT_TEMPERATURE")?;
        if default_temperature.is_some_and(|t| !(0.0..=2.0).contains(&t)) {
            return Err(BadSetting::new(
                "DEFAULT_TEMPERATURE",
                "must be between 0 and 2",
            ));
        }
        Ok(LlmSettings {
            api_key: vars.raw("OPENAI_API_KEY").map(SecretString::from),
            kind: vars.parse("UPSTREAM_KIND", UpstreamKind::OpenAi)?,
            api_base_url,
            default_model,
            available_models,
            default_temperature,
            model_max_tokens: vars.positive("MODEL_MAX_TOKENS", 4096)?,
            models_file: vars.raw("MODELS_FILE").map(PathBuf::from),
            discover,
            discover_include: patterns(vars, "DISCOVER_INCLUDE")?,
            discover_exclude: patterns(vars, "DISCOVER_EXCLUDE")?,
            discover_interval: Duration::from_secs(vars.positive("DISCOVER_INTERVAL_SECS", 300)?),
            load_timeout: vars.millis("UPSTREAM_LOAD_TIMEOUT_MS", 300_000)?,
            demo: vars.parse("UPSTREAM_DEMO", false)?,
            max_message_length: vars.positive("MAX_MESSAGE_LENGTH", 8000)?,
            max_conversation_history: vars.positive("MAX_CONVERSATION_HISTORY", 50)?,
            connect_timeout: vars.millis("UPSTREAM_CONNECT_TIMEOUT_MS", 10_000)?,
            first_token_timeout: vars.millis("UPSTREAM_FIRST_TOKEN_TIMEOUT_MS", 60_000)?,
            idle_timeout: vars.millis("UPSTREAM_IDLE_TIMEOUT_MS", 30_000)?,
            total_timeout: vars.millis("UPSTREAM_TOTAL_TIMEOUT_MS", 600_000)?,
            max_retries: vars.parse("UPSTREAM_MAX_RETRIES", 2)?,
            max_retry_wait: Duration::from_millis(
                vars.parse("UPSTREAM_MAX_RETRY_WAIT_MS", 10_000)?,
            ),
        })
    }
}

/// Comma-separated glob patterns, each checked.
fn patterns(vars: &Env<'_>, name: &str) -> Result<Vec<String>, BadSetting> {
    let list: Vec<String> = vars
        .raw(name)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    super::discovery::Patterns::new(&list, &[]).map_err(|e| BadSetting::new(name, e))?;
    Ok(list)
}

/// The names the upstream's URL is read under: Confab's own first, then the OpenAI SDKs' and
/// TinyChat's, so that a user's existing environment works as it is.
pub const BASE_URL_NAMES: [&str; 3] = ["OPENAI_API_BASE_URL", "OPENAI_BASE_URL", "OPENAI_API_URL"];

/// The upstream's URL under whichever of `BASE_URL_NAMES` are set; two that disagree (once
/// normalised: spaces and a trailing `/` do not count) are refused, naming both.
fn upstream_url(vars: &Env<'_>) -> Result<Option<String>, BadSetting> {
    let mut found: Option<(&str, String)> = None;
    for name in BASE_URL_NAMES {
        let Some(raw) = vars.raw(name) else { continue };
        let url = base_url(name, &raw).map_err(|e| BadSetting::new(name, e))?;
        match &found {
            None => found = Some((name, url)),
            Some((first, earlier)) if *earlier != url => {
                return Err(BadSetting::new(
                    name,
                    format!(
                        "disagrees with {first}: both name the upstream's URL, with different \
                         values; set only one of them"
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    Ok(found.map(|(_, url)| url))
}

pub(crate) fn base_url(name: &str, url: &str) -> Result<String, String> {
    let url = url.trim().trim_end_matches('/');
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() => Ok(url.to_owned()),
        _ => Err(format!(
            "{name}: expected an http:// or https:// URL, got `{url}`"
        )),
    }
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
