//! The optional `MODELS_FILE`: several OpenAI-compatible endpoints and their models.
//!
//! ```json
//! {"endpoints": [{"name": "local", "base_url": "http://localhost:8000/v1",
//!                 "api_key_env": "LOCAL_KEY", "kind": "vllm",
//!                 "models": [{"id": "llama-3-8b", "label": "Llama 3 8B", "max_tokens": 8192}]}],
//!  "default_model": "llama-3-8b"}
//! ```
//!
//! An endpoint with `"discover": true` also serves every model its server lists (`GET
//! {base}/models`), optionally filtered by `include`/`exclude` glob patterns; it may then list
//! no `models` of its own (those it lists keep their labels and limits).
//!
//! `kind` is a name (as `UPSTREAM_KIND`) or `{"params": {"top_k": "top_k", "seed": null}}`:
//! explicit wire names, where `null` or a missing parameter means "not accepted".

use std::{collections::BTreeMap, path::Path};

use anyhow::{Context, bail};
use serde::Deserialize;
use serde_json::Value;

use super::{NameMap, UpstreamKind};
use crate::domain::Param;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ModelsFile {
    pub endpoints: Vec<EndpointSpec>,
    #[serde(default)]
    pub default_model: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EndpointSpec {
    pub name: String,
    /// One server…
    #[serde(default)]
    pub base_url: Option<String>,
    /// …or several replicas of the same model server (answers spread and fail over).
    #[serde(default)]
    pub base_urls: Option<Vec<String>>,
    /// Name of the environment variable holding the API key (the key itself never is here).
    #[serde(default)]
    pub api_key_env: Option<String>,
    #[serde(default)]
    pub kind: Option<Value>,
    #[serde(default)]
    pub models: Vec<ModelSpec>,
    /// Also serve the models the server lists, read again every `DISCOVER_INTERVAL_SECS`.
    #[serde(default)]
    pub discover: bool,
    /// Glob patterns: a discovered model is served only if its id matches one (none: all).
    #[serde(default)]
    pub include: Vec<String>,
    /// Glob patterns of discovered ids left out.
    #[serde(default)]
    pub exclude: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ModelSpec {
    pub id: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub max_tokens: Option<u32>,
}

impl ModelsFile {
    /// Reads and parses the file; errors name the file and, for JSON, the line and column.
    pub(crate) fn read(path: &Path) -> anyhow::Result<ModelsFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("MODELS_FILE: cannot read {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("MODELS_FILE {}", path.display()))
    }

    pub(crate) fn parse(text: &str) -> anyhow::Result<ModelsFile> {
        let file: ModelsFile = serde_json::from_str(text)?;
        for endpoint in &file.endpoints {
            if endpoint.name.trim().is_empty() {
                bail!("every endpoint needs a non-empty `name`");
            }
            endpoint.urls().map_err(anyhow::Error::msg)?;
            if endpoint.models.is_empty() && !endpoint.discover {
                bail!(
                    "endpoint `{}` lists no models (list some, or set \"discover\": true)",
                    endpoint.name
                );
            }
            let filters = !endpoint.include.is_empty() || !endpoint.exclude.is_empty();
            if filters && !endpoint.discover {
                bail!(
                    "endpoint `{}`: include and exclude filter discovered models; set \"discover\": true",
                    endpoint.name
                );
            }
            super::discovery::Patterns::new(&endpoint.include, &endpoint.exclude)
                .map_err(anyhow::Error::msg)
                .with_context(|| format!("endpoint `{}`", endpoint.name))?;
            if let Some(model) = endpoint.models.iter().find(|m| m.id.trim().is_empty()) {
                bail!(
                    "endpoint `{}` has a model with an empty id {model:?}",
                    endpoint.name
                );
            }
            if endpoint.models.iter().any(|m| m.max_tokens == Some(0)) {
                bail!(
                    "endpoint `{}`: max_tokens must be at least 1",
                    endpoint.name
                );
            }
        }
        Ok(file)
    }
}

impl EndpointSpec {
    /// The endpoint's kind: `openai` when absent.
    /// Its URLs with the field each came from: `base_url`, or `base_urls[i]` (1 to 16 of them).
    pub(crate) fn urls(&self) -> Result<Vec<(String, &str)>, String> {
        let name = &self.name;
        match (&self.base_url, &self.base_urls) {
            (Some(url), None) => Ok(vec![("base_url".to_owned(), url.as_str())]),
            (None, Some(urls)) if (1..=16).contains(&urls.len()) => Ok(urls
                .iter()
                .enumerate()
                .map(|(i, url)| (format!("base_urls[{i}]"), url.as_str()))
                .collect()),
            (None, Some(_)) => Err(format!("endpoint `{name}`: base_urls needs 1 to 16 URLs")),
            (Some(_), Some(_)) => Err(format!(
                "endpoint `{name}`: give base_url or base_urls, not both"
            )),
            (None, None) => Err(format!(
                "endpoint `{name}`: base_url (or base_urls) is missing"
            )),
        }
    }

    pub(crate) fn kind(&self) -> anyhow::Result<UpstreamKind> {
        let context = || format!("endpoint `{}`: invalid `kind`", self.name);
        match &self.kind {
            None => Ok(UpstreamKind::OpenAi),
            Some(Value::String(name)) => name
                .parse()
                .map_err(anyhow::Error::msg)
                .with_context(context),
            Some(Value::Object(object)) => custom_kind(object).with_context(context),
            Some(other) => Err(anyhow::anyhow!(
                "expected a name or {{\"params\": {{…}}}}, got {other}"
            ))
            .with_context(context),
        }
    }
}

fn custom_kind(object: &serde_json::Map<String, Value>) -> anyhow::Result<UpstreamKind> {
    if let Some(key) = object.keys().find(|k| *k != "params") {
        bail!("unknown field `{key}` (expected `params`)");
    }
    let params: BTreeMap<String, Option<String>> = match object.get("params") {
        Some(params) => serde_json::from_value(params.clone())
            .context("`params` maps parameter names to a wire name or null")?,
        None => bail!("missing field `params`"),
    };
    let mut map = NameMap::default();
    for (name, wire_name) in params {
        let Some(param) = Param::from_name(&name).filter(|p| p.goes_upstream()) else {
            let known: Vec<&str> = Param::all()
                .filter(|p| p.goes_upstream())
                .map(Param::name)
                .collect();
            bail!(
                "unknown parameter `{name}` (expected one of {})",
                known.join(", ")
            );
        };
        match wire_name {
            Some(wire) if wire.trim().is_empty() => {
                bail!("the wire name of `{name}` is empty (use null to refuse it)")
            }
            Some(wire) => map = map.with(param, wire),
            None => {}
        }
    }
    Ok(UpstreamKind::Custom(map))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind_of(kind: &str) -> anyhow::Result<UpstreamKind> {
        let text = format!(
            r#"{{"endpoints":[{{"name":"e","base_url":"http://h/v1","kind":{kind},
                "models":[{{"id":"m"}}]}}]}}"#
        );
        ModelsFile::parse(&text)?.endpoints[0].kind()
    }

    #[test]
    fn kinds_are_names_or_explicit_maps() {
        assert_eq!(kind_of(r#""vllm""#).expect("vllm"), UpstreamKind::Vllm);
        let custom = kind_of(
            r#"{"params":{"top_k":"k","repetition_penalty":"repeat_penalty","seed":null}}"#,
        )
        .expect("custom");
        let UpstreamKind::Custom(map) = custom else {
            panic!("not custom: {custom:?}");
        };
        let named = |name| Param::from_name(name).expect("a parameter");
        assert_eq!(map.get(named("top_k")), Some("k"));
        assert_eq!(map.get(named("repetition_penalty")), Some("repeat_penalty"));
        assert_eq!(map.get(named("seed")), None);
        assert_eq!(map.get(Param::TEMPERATURE), None);
    }

    #[test]
    fn bad_kinds_say_what_is_wrong() {
        for (kind, expected) in [
            (r#""gpt""#, "expected one of"),
            (r#"{"params":{"topk":"k"}}"#, "unknown parameter `topk`"),
            (r#"{"params":{"top_k":""}}"#, "empty"),
            (r#"{"names":{}}"#, "unknown field `names`"),
            ("3", "expected a name"),
        ] {
            let error = format!("{:#}", kind_of(kind).expect_err(kind));
            assert!(error.contains(expected), "{kind}: {error}");
        }
    }

    #[test]
    fn a_discovering_endpoint_may_list_no_models_and_filters_by_globs() {
        let file = ModelsFile::parse(
            r#"{"endpoints":[{"name":"e","base_url":"http://h/v1","discover":true,
                "include":["llama-*","qwen?"],"exclude":["*-embed"]}]}"#,
        )
        .expect("valid");
        let spec = &file.endpoints[0];
        assert!(spec.discover && spec.models.is_empty());
        for (text, expected) in [
            (
                r#"{"endpoints":[{"name":"e","base_url":"http://h","include":["a*"],"models":[{"id":"m"}]}]}"#,
                "set \"discover\": true",
            ),
            (
                r#"{"endpoints":[{"name":"e","base_url":"http://h","discover":true,"include":["a[b"]}]}"#,
                "include",
            ),
        ] {
            let error = format!("{:#}", ModelsFile::parse(text).expect_err(text));
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn structural_mistakes_are_refused() {
        for text in [
            r#"{"endpoints":[{"name":"e","base_url":"http://h","models":[]}]}"#,
            r#"{"endpoints":[{"name":"e","base_url":"http://h","models":[{"id":" "}]}]}"#,
            r#"{"endpoints":[{"name":"e","base_url":"http://h","models":[{"id":"m","max_tokens":0}]}]}"#,
            r#"{"endpoints":[],"extra":1}"#,
            r#"{"endpoints":[{"name":"e","base_url":"http://h","models":[{"id":"m","maxtokens":5}]}]}"#,
            r#"{"endpoints":[{"name":"e","models":[{"id":"m"}]}]}"#,
            r#"{"endpoints":[{"name":"e","base_urls":[],"models":[{"id":"m"}]}]}"#,
            r#"{"endpoints":[{"name":"e","base_url":"http://h","base_urls":["http://i"],"models":[{"id":"m"}]}]}"#,
        ] {
            assert!(ModelsFile::parse(text).is_err(), "{text}");
        }
    }
}
