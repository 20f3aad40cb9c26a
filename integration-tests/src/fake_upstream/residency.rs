//! Which served models are in memory: the state both the llama-server router dialect and the
//! Ollama dialect report and change, and that chat completions load on demand.

use std::{sync::Arc, time::Duration};

use super::control::SharedState;

/// How often a caller waiting for a load looks at the state again.
const POLL: Duration = Duration::from_millis(5);

/// A served model's residency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Residency {
    Loaded,
    Loading,
    Unloaded,
    /// The last load failed (llama-server reports it as `unloaded` with `failed: true`).
    Failed,
}

impl Residency {
    /// `loaded`, `loading`, `unloaded` or `failed`.
    pub fn name(self) -> &'static str {
        match self {
            Residency::Loaded => "loaded",
            Residency::Loading => "loading",
            Residency::Unloaded => "unloaded",
            Residency::Failed => "failed",
        }
    }
}

/// What asking for a load found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Begin {
    /// The model was loaded already: nothing to do.
    AlreadyLoaded,
    /// Another load is under way; it ends the state with this epoch.
    InProgress,
    /// This call moved the model to `loading`; the load with this epoch must finish it.
    Started(u64),
}

#[derive(Clone, Debug)]
struct Entry {
    id: String,
    state: Residency,
    /// Changes with every transition, so that a load finishing late never overwrites a state
    /// set after it began (an unload, a reset, another load).
    epoch: u64,
}

/// The served models, in order, each with its residency.
#[derive(Debug, Default)]
pub struct Served {
    entries: Vec<Entry>,
    last_epoch: u64,
}

impl Served {
    /// `models` (duplicates dropped), all `loaded` but those listed in `unloaded`.
    pub fn new(models: Vec<String>, unloaded: &[String]) -> Served {
        let mut served = Served::default();
        served.set_models(models);
        for id in unloaded {
            served.set(id, Residency::Unloaded);
        }
        served
    }

    fn next_epoch(&mut self) -> u64 {
        self.last_epoch = self.last_epoch.wrapping_add(1);
        self.last_epoch
    }

    fn entry_mut(&mut self, id: &str) -> Option<&mut Entry> {
        self.entries.iter_mut().find(|entry| entry.id == id)
    }

    pub fn ids(&self) -> Vec<String> {
        self.entries.iter().map(|entry| entry.id.clone()).collect()
    }

    pub fn contains(&self, id: &str) -> bool {
        self.entries.iter().any(|entry| entry.id == id)
    }

    pub fn state(&self, id: &str) -> Option<Residency> {
        self.entries
            .iter()
            .find(|entry| entry.id == id)
            .map(|entry| entry.state)
    }

    /// Every model with its state, in serving order.
    pub fn states(&self) -> Vec<(String, Residency)> {
        self.entries
            .iter()
            .map(|entry| (entry.id.clone(), entry.state))
            .collect()
    }

    /// Sets a model's state, cancelling any load under way; false for an unknown model.
    pub fn set(&mut self, id: &str, state: Residency) -> bool {
        let epoch = self.next_epoch();
        match self.entry_mut(id) {
            Some(entry) => {
                entry.state = state;
                entry.epoch = epoch;
                true
            }
            None => false,
        }
    }

    /// Serves exactly `models` from now on (duplicates dropped): the ones served already keep
    /// their state, new ones start `loaded`.
    pub fn set_models(&mut self, models: Vec<String>) {
        let mut entries: Vec<Entry> = Vec::with_capacity(models.len());
        for id in models {
            if entries.iter().any(|entry| entry.id == id) {
                continue;
            }
            let kept = self.entries.iter().find(|entry| entry.id == id).cloned();
            let entry = match kept {
                Some(entry) => entry,
                None => Entry {
                    id,
                    state: Residency::Loaded,
                    epoch: self.next_epoch(),
                },
            };
            entries.push(entry);
        }
        self.entries = entries;
    }

    /// Every model `loaded`, loads under way cancelled.
    pub fn reset(&mut self) {
        for id in self.ids() {
            self.set(&id, Residency::Loaded);
        }
    }

    /// Moves the model to `loading` unless it is loaded or loading already; `None` when unknown.
    pub fn begin_load(&mut self, id: &str) -> Option<Begin> {
        let epoch = self.next_epoch();
        let entry = self.entry_mut(id)?;
        Some(match entry.state {
            Residency::Loaded => Begin::AlreadyLoaded,
            Residency::Loading => Begin::InProgress,
            Residency::Unloaded | Residency::Failed => {
                entry.state = Residency::Loading;
                entry.epoch = epoch;
                Begin::Started(epoch)
            }
        })
    }

    /// Ends the load begun with `epoch`: `loaded`, or `failed`. Nothing happens when the
    /// state changed meanwhile.
    pub fn finish_load(&mut self, id: &str, epoch: u64, failed: bool) {
        if let Some(entry) = self.entry_mut(id)
            && entry.epoch == epoch
            && entry.state == Residency::Loading
        {
            entry.state = if failed {
                Residency::Failed
            } else {
                Residency::Loaded
            };
        }
    }
}

/// Starts loading `model` unless it is loaded or loading already: the state becomes `loading`,
/// then `loaded` (or `failed` when the behaviour's `fail_load` names it) once the behaviour's
/// `load_ms` have passed, in a spawned task so that the load ends even if the caller goes
/// away. A `load_ms` of 0 loads at once. `None` for an unknown model.
pub fn start_load(state: &SharedState, model: &str) -> Option<Begin> {
    let behaviour = state.behaviour();
    let begin = state.begin_load(model)?;
    if let Begin::Started(epoch) = begin {
        let failed = behaviour.fail_load.iter().any(|id| id == model);
        if behaviour.load_ms == 0 {
            state.finish_load(model, epoch, failed);
        } else {
            let delay = Duration::from_millis(behaviour.load_ms);
            let state = Arc::clone(state);
            let model = model.to_owned();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                state.finish_load(&model, epoch, failed);
            });
        }
    }
    Some(begin)
}

/// Loads `model` (see [`start_load`]) and waits until that load has ended: the state it ended
/// in (`Loaded`, `Failed`, or `Unloaded` when unloaded meanwhile), `None` for an unknown model.
pub async fn load(state: &SharedState, model: &str) -> Option<Residency> {
    start_load(state, model)?;
    loop {
        match state.residency(model) {
            Some(Residency::Loading) => tokio::time::sleep(POLL).await,
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Begin, Residency, Served};

    fn served() -> Served {
        Served::new(
            vec!["a".into(), "b".into(), "a".into()],
            &["b".to_owned(), "unknown".to_owned()],
        )
    }

    #[test]
    fn fake_upstream_served_models_start_loaded_but_the_unloaded_ones() {
        let served = served();
        assert_eq!(served.ids(), ["a", "b"]);
        assert_eq!(served.state("a"), Some(Residency::Loaded));
        assert_eq!(served.state("b"), Some(Residency::Unloaded));
        assert_eq!(served.state("unknown"), None);
    }

    #[test]
    fn fake_upstream_a_late_load_never_overwrites_a_newer_state() {
        let mut served = served();
        assert_eq!(served.begin_load("a"), Some(Begin::AlreadyLoaded));
        assert_eq!(served.begin_load("x"), None);
        let Some(Begin::Started(epoch)) = served.begin_load("b") else {
            panic!("b starts loading");
        };
        assert_eq!(served.begin_load("b"), Some(Begin::InProgress));
        assert!(served.set("b", Residency::Unloaded));
        served.finish_load("b", epoch, false);
        assert_eq!(served.state("b"), Some(Residency::Unloaded));
        let Some(Begin::Started(epoch)) = served.begin_load("b") else {
            panic!("b loads again");
        };
        served.finish_load("b", epoch, true);
        assert_eq!(served.state("b"), Some(Residency::Failed));
        served.set_models(vec!["c".into(), "b".into()]);
        assert_eq!(
            served.states(),
            [
                ("c".to_owned(), Residency::Loaded),
                ("b".to_owned(), Residency::Failed)
            ]
        );
        served.reset();
        assert_eq!(served.state("b"), Some(Residency::Loaded));
        assert!(!served.set("a", Residency::Loaded));
    }
}
