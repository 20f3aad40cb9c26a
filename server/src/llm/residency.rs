//! Local model residency: which models a model server holds in memory, and loading and
//! unloading them, for the two servers people run that can — llama-server in router mode
//! (`GET /models` with each model's `status`, `POST /models/load`, `POST /models/unload`) and
//! Ollama (`GET /api/ps` for what is loaded and its memory, `GET /api/tags` for what is
//! installed, `POST /api/generate` with `keep_alive` -1 to load and 0 to unload). Both are
//! asked at the root of the endpoint's URL (its base URL without `/v1`). An endpoint with
//! replicas is loaded and unloaded on each, and reported as its first replica says.
//!
//! What a model server says is read when asked: nothing here is kept but the Ollama loads this
//! process started (Ollama's own list has no "loading"), which are safe to lose.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use serde_json::{Value, json};

use super::{
    Catalog, ModelInfo, StreamTimeouts, UpstreamKind, discovery::without_url, endpoint::Endpoint,
};

/// How long a state or an unload request may take.
const ASK_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the check before an answer may take (beyond it, the answer goes ahead unchecked).
const CHECK_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelState {
    Loaded,
    Loading,
    Unloaded,
    Failed,
    /// The server does not say (it does not answer, or does not know the model).
    Unknown,
}

impl ModelState {
    pub fn name(self) -> &'static str {
        match self {
            Self::Loaded => "loaded",
            Self::Loading => "loading",
            Self::Unloaded => "unloaded",
            Self::Failed => "failed",
            Self::Unknown => "unknown",
        }
    }
}

/// A model's residency, as its server reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Residency {
    pub state: ModelState,
    /// Memory the loaded model takes, in bytes (Ollama says; llama-server does not).
    pub memory_bytes: Option<u64>,
    /// Of which in GPU memory.
    pub vram_bytes: Option<u64>,
    /// Why the state is `failed` or `unknown`, in words.
    pub error: Option<String>,
}

impl Residency {
    fn of(state: ModelState) -> Self {
        Self {
            state,
            memory_bytes: None,
            vram_bytes: None,
            error: None,
        }
    }

    fn unknown(error: impl Into<String>) -> Self {
        Self {
            error: Some(error.into()),
            ..Self::of(ModelState::Unknown)
        }
    }
}

/// Which API manages an endpoint's models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Manager {
    /// llama-server; manageable only in router mode (its `/models` entries have a `status`).
    LlamaServer,
    Ollama,
}

fn manager(kind: &UpstreamKind) -> Option<Manager> {
    match kind {
        UpstreamKind::LlamaCpp => Some(Manager::LlamaServer),
        UpstreamKind::Ollama => Some(Manager::Ollama),
        _ => None,
    }
}

/// Why a load or unload was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResidencyError {
    #[error("no such model")]
    UnknownModel,
    #[error(
        "this model's server cannot load or unload models (llama-server in router mode and Ollama can)"
    )]
    NotManageable,
    #[error("the model server refused: {0}")]
    Upstream(String),
}

/// Ollama loads started by this process: running (`None`) or failed (why).
#[derive(Debug, Default)]
pub(crate) struct Loads(Mutex<HashMap<String, Option<String>>>);

impl Loads {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Option<String>>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A model's residency, and whether its server can load and unload it.
#[derive(Debug, Clone)]
pub struct ModelResidency {
    pub model: Arc<ModelInfo>,
    pub manageable: bool,
    pub residency: Residency,
}

/// What an answer streams within: its model's timeouts, longer to the first token when the
/// model is not loaded yet (`loading`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prepared {
    pub timeouts: StreamTimeouts,
    pub loading: bool,
}

async fn get_json(endpoint: &Endpoint, path: &str) -> Result<Value, String> {
    let replica = endpoint.primary();
    let response = replica
        .request(reqwest13::Method::GET, replica.root_url(path))
        .timeout(ASK_TIMEOUT)
        .send()
        .await
        .map_err(|e| without_url(&e))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("{path} answered HTTP {}", status.as_u16()));
    }
    response.json::<Value>().await.map_err(|e| {
        format!(
            "{path} sent something that is not JSON: {}",
            without_url(&e)
        )
    })
}

/// The message of an error body: OpenAI's `{"error": {"message"}}` or Ollama's `{"error"}`.
fn error_message(body: &Value) -> Option<String> {
    let error = body.get("error")?;
    error
        .get("message")
        .and_then(Value::as_str)
        .or_else(|| error.as_str())
        .map(|m| m.chars().take(300).collect())
}

/// POSTs `body` to every replica; the first refusal (status and message) if any.
async fn post_all(
    endpoint: &Endpoint,
    path: &str,
    body: &Value,
    timeout: Duration,
) -> Result<(), (Option<u16>, String)> {
    for replica in endpoint.replicas() {
        let response = replica
            .request(reqwest13::Method::POST, replica.root_url(path))
            .json(body)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| (None, without_url(&e)))?;
        let status = response.status();
        if !status.is_success() {
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let message =
                error_message(&body).unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
            return Err((Some(status.as_u16()), message));
        }
    }
    Ok(())
}

/// llama-server's `GET /models`: each model's residency, or `None` when it is not in router
/// mode (its entries have no `status`).
async fn llama_states(endpoint: &Endpoint) -> Result<Option<HashMap<String, Residency>>, String> {
    let listed = get_json(endpoint, "/models").await?;
    let Some(data) = listed.get("data").and_then(Value::as_array) else {
        return Err("/models sent no `data` list".to_owned());
    };
    if !data.iter().any(|m| m.get("status").is_some()) {
        return Ok(None);
    }
    let mut states = HashMap::new();
    for entry in data {
        let (Some(id), Some(status)) =
            (entry.get("id").and_then(Value::as_str), entry.get("status"))
        else {
            continue;
        };
        let failed = status.get("failed").and_then(Value::as_bool) == Some(true);
        let state = match status.get("value").and_then(Value::as_str) {
            _ if failed => ModelState::Failed,
            Some("loaded") => ModelState::Loaded,
            Some("loading") => ModelState::Loading,
            Some("unloaded") => ModelState::Unloaded,
            _ => ModelState::Unknown,
        };
        let mut residency = Residency::of(state);
        if failed {
            let code = status.get("exit_code").and_then(Value::as_i64);
            residency.error = Some(match code {
                Some(code) => format!("the last load failed (exit code {code})"),
                None => "the last load failed".to_owned(),
            });
        }
        states.insert(id.to_owned(), residency);
    }
    Ok(Some(states))
}

/// Whether Ollama's name for a model (`llama3:latest`) is this id (`llama3` means `:latest`).
fn same_ollama_model(id: &str, name: &str) -> bool {
    name == id || (!id.contains(':') && name.strip_suffix(":latest") == Some(id))
}

fn ollama_entry<'a>(list: &'a Value, id: &str) -> Option<&'a Value> {
    list.get("models")?.as_array()?.iter().find(|m| {
        ["name", "model"]
            .iter()
            .filter_map(|k| m.get(*k).and_then(Value::as_str))
            .any(|name| same_ollama_model(id, name))
    })
}

/// Ollama: loaded (`/api/ps`, with memory), else installed (`/api/tags`) and unloaded.
async fn ollama_states(
    endpoint: &Endpoint,
    ids: &[&str],
    loads: &Loads,
) -> Result<HashMap<String, Residency>, String> {
    let (running, installed) = tokio::join!(
        get_json(endpoint, "/api/ps"),
        get_json(endpoint, "/api/tags")
    );
    let (running, installed) = (running?, installed?);
    let started = loads.lock().clone();
    Ok(ids
        .iter()
        .map(|id| {
            let residency = if let Some(entry) = ollama_entry(&running, id) {
                Residency {
                    memory_bytes: entry.get("size").and_then(Value::as_u64),
                    vram_bytes: entry.get("size_vram").and_then(Value::as_u64),
                    ..Residency::of(ModelState::Loaded)
                }
            } else {
                match started.get(*id) {
                    Some(None) => Residency::of(ModelState::Loading),
                    Some(Some(error)) => Residency {
                        error: Some(error.clone()),
                        ..Residency::of(ModelState::Failed)
                    },
                    None if ollama_entry(&installed, id).is_some() => {
                        Residency::of(ModelState::Unloaded)
                    }
                    None => Residency::unknown("not installed on the Ollama server"),
                }
            };
            ((*id).to_owned(), residency)
        })
        .collect())
}

impl Catalog {
    /// Every model's residency: one request per endpoint that can say (two for Ollama), all at
    /// once.
    pub async fn residency(&self) -> Vec<ModelResidency> {
        self.residency_for(&self.models()).await
    }

    /// The residency of these models, asking only their endpoints.
    async fn residency_for(&self, models: &[Arc<ModelInfo>]) -> Vec<ModelResidency> {
        let mut by_endpoint: Vec<(Arc<Endpoint>, Manager, Vec<Arc<ModelInfo>>)> = Vec::new();
        for model in models.iter() {
            let Some(manager) = manager(&model.kind) else {
                continue;
            };
            match by_endpoint
                .iter_mut()
                .find(|(e, _, _)| Arc::ptr_eq(e, &model.endpoint))
            {
                Some((_, _, list)) => list.push(Arc::clone(model)),
                None => by_endpoint.push((
                    Arc::clone(&model.endpoint),
                    manager,
                    vec![Arc::clone(model)],
                )),
            }
        }
        let asked = futures::future::join_all(by_endpoint.iter().map(
            |(endpoint, manager, list)| async move {
                let ids: Vec<&str> = list.iter().map(|m| m.id.as_str()).collect();
                match manager {
                    Manager::LlamaServer => llama_states(endpoint).await,
                    Manager::Ollama => ollama_states(endpoint, &ids, &self.loads).await.map(Some),
                }
            },
        ))
        .await;
        let mut known: HashMap<String, (bool, Residency)> = HashMap::new();
        for ((endpoint, _, list), answer) in by_endpoint.iter().zip(asked) {
            endpoint.set_reachable(answer.is_ok());
            for model in list {
                let entry = match &answer {
                    Ok(Some(states)) => (
                        true,
                        states.get(&model.id).cloned().unwrap_or_else(|| {
                            Residency::unknown("the model server does not list this model")
                        }),
                    ),
                    Ok(None) => (false, Residency::of(ModelState::Unknown)),
                    Err(error) => (true, Residency::unknown(error.clone())),
                };
                known.insert(model.id.clone(), entry);
            }
        }
        models
            .iter()
            .map(|model| {
                let (manageable, residency) = known
                    .remove(&model.id)
                    .unwrap_or_else(|| (false, Residency::of(ModelState::Unknown)));
                ModelResidency {
                    model: Arc::clone(model),
                    manageable,
                    residency,
                }
            })
            .collect()
    }

    /// The model's residency now (its endpoint alone is asked).
    pub async fn residency_of(&self, id: &str) -> Result<ModelResidency, ResidencyError> {
        let model = self.model(id).ok_or(ResidencyError::UnknownModel)?;
        self.residency_for(&[model])
            .await
            .pop()
            .ok_or(ResidencyError::UnknownModel)
    }

    /// Asks the model's server to load it; its residency right after.
    pub async fn load(&self, id: &str) -> Result<ModelResidency, ResidencyError> {
        let current = self.residency_of(id).await?;
        if !current.manageable {
            return Err(ResidencyError::NotManageable);
        }
        let endpoint = Arc::clone(&current.model.endpoint);
        match manager(&current.model.kind) {
            Some(Manager::LlamaServer) => {
                let body = json!({ "model": id });
                match post_all(&endpoint, "/models/load", &body, ASK_TIMEOUT).await {
                    Ok(()) => {}
                    // Loaded (or loading) already: what was asked for.
                    Err((Some(400), message)) if message.contains("already running") => {}
                    Err((_, message)) => return Err(ResidencyError::Upstream(message)),
                }
            }
            Some(Manager::Ollama) => {
                // Ollama answers once the model is in memory, which may take minutes: the
                // load goes on in the background, and reads as `loading` here meanwhile.
                self.loads.lock().insert(id.to_owned(), None);
                let timeout = self.load_timeout();
                let loads = Arc::clone(&self.loads);
                let (id_owned, body) = (id.to_owned(), json!({ "model": id, "keep_alive": -1 }));
                tokio::spawn(async move {
                    let outcome = post_all(&endpoint, "/api/generate", &body, timeout).await;
                    let mut loads = loads.lock();
                    match outcome {
                        Ok(()) => {
                            loads.remove(&id_owned);
                        }
                        Err((_, message)) => {
                            tracing::warn!(model = %id_owned, error = %message, "loading a model failed");
                            loads.insert(id_owned, Some(message));
                        }
                    }
                });
            }
            None => return Err(ResidencyError::NotManageable),
        }
        self.residency_of(id).await
    }

    /// Asks the model's server to unload it; its residency right after.
    pub async fn unload(&self, id: &str) -> Result<ModelResidency, ResidencyError> {
        let current = self.residency_of(id).await?;
        if !current.manageable {
            return Err(ResidencyError::NotManageable);
        }
        let endpoint = &current.model.endpoint;
        let outcome = match manager(&current.model.kind) {
            Some(Manager::LlamaServer) => {
                post_all(
                    endpoint,
                    "/models/unload",
                    &json!({ "model": id }),
                    ASK_TIMEOUT,
                )
                .await
            }
            Some(Manager::Ollama) => {
                self.loads.lock().remove(id);
                let body = json!({ "model": id, "keep_alive": 0 });
                post_all(endpoint, "/api/generate", &body, ASK_TIMEOUT).await
            }
            None => return Err(ResidencyError::NotManageable),
        };
        match outcome {
            Ok(()) => {}
            Err((Some(400), message)) if message.contains("not running") => {}
            Err((_, message)) => return Err(ResidencyError::Upstream(message)),
        }
        self.residency_of(id).await
    }

    /// The timeouts an answer of `model` streams within: when its server says the model is
    /// not in memory, the first token may take `UPSTREAM_LOAD_TIMEOUT_MS` (and clients are
    /// told it is loading). One quick request to the model server, for the kinds that load
    /// models; if it does not answer at once, the answer goes ahead with the usual timeouts.
    pub async fn prepare(&self, model: &ModelInfo) -> Prepared {
        let usual = Prepared {
            timeouts: self.timeouts(),
            loading: false,
        };
        let Some(manager) = manager(&model.kind) else {
            return usual;
        };
        let endpoint = &model.endpoint;
        let check = async {
            match manager {
                Manager::LlamaServer => llama_states(endpoint)
                    .await
                    .ok()
                    .flatten()
                    .and_then(|states| states.get(&model.id).map(|r| r.state)),
                Manager::Ollama => {
                    let running = get_json(endpoint, "/api/ps").await.ok()?;
                    Some(if ollama_entry(&running, &model.id).is_some() {
                        ModelState::Loaded
                    } else {
                        ModelState::Unloaded
                    })
                }
            }
        };
        match tokio::time::timeout(CHECK_TIMEOUT, check).await {
            Ok(Some(state)) if state != ModelState::Loaded => {
                let mut timeouts = usual.timeouts;
                timeouts.first_token = timeouts.first_token.max(self.load_timeout());
                timeouts.total = timeouts.total.max(timeouts.first_token);
                Prepared {
                    timeouts,
                    loading: true,
                }
            }
            _ => usual,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ollama_names_match_with_their_default_tag() {
        assert!(same_ollama_model("llama3", "llama3:latest"));
        assert!(same_ollama_model("llama3:8b", "llama3:8b"));
        assert!(!same_ollama_model("llama3:8b", "llama3:latest"));
        assert!(!same_ollama_model("llama", "llama3:latest"));
    }

    #[test]
    fn error_bodies_of_both_servers_are_read() {
        assert_eq!(
            error_message(&json!({"error": {"message": "model is not running", "code": 400}})),
            Some("model is not running".to_owned())
        );
        assert_eq!(
            error_message(&json!({"error": "model 'x' not found"})),
            Some("model 'x' not found".to_owned())
        );
        assert_eq!(error_message(&json!({"ok": true})), None);
    }
}
