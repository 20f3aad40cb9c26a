//! Model discovery: the models an endpoint's server lists (`GET {base}/models`, OpenAI's
//! shape, which vLLM, llama-server, Ollama's `/v1`, TGI and OpenAI all serve), filtered by
//! glob patterns. Asking is also how Confab learns whether an endpoint answers at all.

use std::time::Duration;

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde_json::Value;

use super::endpoint::Endpoint;

/// How long a model list may take before the endpoint counts as not answering.
pub(crate) const LIST_TIMEOUT: Duration = Duration::from_secs(5);
/// The most models taken from one list (a server listing more is misconfigured or hostile).
const MAX_MODELS: usize = 1000;
/// The longest model id taken.
const MAX_ID: usize = 256;

/// `include` / `exclude` glob patterns (`*`, `?`, `[…]`; `/` is an ordinary character).
#[derive(Debug, Clone, Default)]
pub struct Patterns {
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
}

fn set(patterns: &[String], what: &str) -> Result<Option<GlobSet>, String> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        let glob = Glob::new(pattern).map_err(|e| format!("{what} pattern `{pattern}`: {e}"))?;
        builder.add(glob);
    }
    builder
        .build()
        .map(Some)
        .map_err(|e| format!("{what} patterns: {e}"))
}

impl Patterns {
    pub fn new(include: &[String], exclude: &[String]) -> Result<Self, String> {
        Ok(Self {
            include: set(include, "include")?,
            exclude: set(exclude, "exclude")?,
        })
    }

    /// Whether a discovered model is served: it matches an `include` (when there are any) and
    /// no `exclude`.
    pub fn admits(&self, id: &str) -> bool {
        self.include.as_ref().is_none_or(|set| set.is_match(id))
            && !self.exclude.as_ref().is_some_and(|set| set.is_match(id))
    }
}

/// Why a model list could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    #[error("does not answer: {0}")]
    Unreachable(String),
    #[error("answered HTTP {0}")]
    Status(u16),
    #[error("sent something that is not a model list: {0}")]
    Garbage(String),
}

/// The model ids of an OpenAI-style list (`{"data": [{"id"}…]}`), in the order given, without
/// duplicates, blank or overlong ids.
pub(crate) fn parse_list(body: &[u8]) -> Result<Vec<String>, ListError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| ListError::Garbage(e.to_string()))?;
    let Some(data) = value.get("data").and_then(Value::as_array) else {
        return Err(ListError::Garbage("no `data` array".to_owned()));
    };
    let mut ids: Vec<String> = Vec::new();
    for entry in data.iter().take(MAX_MODELS) {
        let Some(id) = entry.get("id").and_then(Value::as_str).map(str::trim) else {
            continue;
        };
        if !id.is_empty() && id.len() <= MAX_ID && !ids.iter().any(|known| known == id) {
            ids.push(id.to_owned());
        }
    }
    Ok(ids)
}

/// Asks the endpoint (its first replica) for its models.
pub(crate) async fn list(endpoint: &Endpoint) -> Result<Vec<String>, ListError> {
    let replica = endpoint.primary();
    let response = replica
        .request(reqwest13::Method::GET, replica.api_url("/models"))
        .timeout(LIST_TIMEOUT)
        .send()
        .await
        .map_err(|e| ListError::Unreachable(without_url(&e)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(ListError::Status(status.as_u16()));
    }
    let body = tokio::time::timeout(LIST_TIMEOUT, response.bytes())
        .await
        .map_err(|_| ListError::Unreachable("the list took too long".to_owned()))?
        .map_err(|e| ListError::Unreachable(without_url(&e)))?;
    parse_list(&body)
}

/// A reqwest error without the URL (which may hold credentials).
pub(crate) fn without_url(error: &reqwest13::Error) -> String {
    if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "connection refused or failed".to_owned()
    } else {
        error.to_string().replace(
            error.url().map(reqwest13::Url::as_str).unwrap_or_default(),
            "…",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_include_then_exclude() {
        let patterns = Patterns::new(
            &["llama-*".to_owned(), "org/*".to_owned()],
            &["*-embed".to_owned()],
        )
        .expect("valid");
        for (id, admitted) in [
            ("llama-3-8b", true),
            ("llama-3-embed", false),
            ("org/model:q4", true),
            ("qwen2", false),
        ] {
            assert_eq!(patterns.admits(id), admitted, "{id}");
        }
        let all = Patterns::new(&[], &["tiny*".to_owned()]).expect("valid");
        assert!(all.admits("anything") && !all.admits("tiny-random"));
        assert!(Patterns::new(&["a[".to_owned()], &[]).is_err());
    }

    #[test]
    fn lists_are_read_defensively() {
        let ids = parse_list(
            br#"{"object":"list","data":[{"id":"a"},{"id":" b "},{"id":"a"},{"id":""},{"name":"c"},{"id":3}]}"#,
        )
        .expect("a list");
        assert_eq!(ids, ["a", "b"]);
        let long = format!(r#"{{"data":[{{"id":"{}"}}]}}"#, "x".repeat(300));
        assert_eq!(
            parse_list(long.as_bytes()).expect("a list"),
            Vec::<String>::new()
        );
        for garbage in [
            &b"this is not json {"[..],
            b"[]",
            b"{\"models\":[]}",
            b"{\"data\":{}}",
        ] {
            assert!(
                matches!(parse_list(garbage), Err(ListError::Garbage(_))),
                "{garbage:?}"
            );
        }
    }
}
