//! The generations this process runs, by answer id and by idempotency key. The fair-use
//! limits on starting them are counted in MongoDB (`fair_use.rs`), over every process.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use mongodb::bson::oid::ObjectId;

use super::Generation;
use crate::domain::Limits;

/// How many generations one user may start, and how many tokens use: the deployment's
/// defaults, or (`for_account`) what applies to one account.
#[derive(Debug, Clone, Copy, Default)]
pub struct FairUse {
    /// Answers being generated at once per user (0: no limit).
    pub max_concurrent_per_user: usize,
    /// Answers started per user in any 60 s (0: no limit).
    pub per_minute: usize,
    /// Tokens per user per UTC day (0: no limit).
    pub daily_tokens: u64,
    /// Tokens per user per UTC month (0: no limit).
    pub monthly_tokens: u64,
    /// The user's `/v1` calls are counted too (an account with API keys: see `api_calls`).
    pub api_calls: bool,
}

impl FairUse {
    /// No limit on starting answers applies: nothing to count in `messages`.
    pub fn is_off(&self) -> bool {
        self.max_concurrent_per_user == 0 && self.per_minute == 0
    }

    /// No token quota applies: nothing to read in `usage`.
    pub fn quotas_off(&self) -> bool {
        self.daily_tokens == 0 && self.monthly_tokens == 0
    }

    pub fn from_env(env: &crate::env::Env<'_>) -> Result<Self, crate::env::BadSetting> {
        Ok(Self {
            max_concurrent_per_user: env.parse("MAX_CONCURRENT_GENERATIONS_PER_USER", 3)?,
            per_minute: env.parse("RATE_LIMIT_MESSAGES_PER_MINUTE", 20)?,
            daily_tokens: env.parse("DAILY_TOKEN_QUOTA", 0)?,
            monthly_tokens: env.parse("MONTHLY_TOKEN_QUOTA", 0)?,
            api_calls: false,
        })
    }

    /// The defaults as limits (0 stays 0: no limit).
    pub fn as_limits(&self) -> Limits {
        let n = |v: usize| Some(u64::try_from(v).unwrap_or(u64::MAX));
        Limits {
            messages_per_minute: n(self.per_minute),
            concurrent_generations: n(self.max_concurrent_per_user),
            daily_tokens: Some(self.daily_tokens),
            monthly_tokens: Some(self.monthly_tokens),
        }
    }

    /// What applies to an account with these overrides.
    pub fn for_account(&self, overrides: Limits) -> Self {
        let applied = overrides.over(self.as_limits());
        let n = |v: Option<u64>| usize::try_from(Limits::value(v)).unwrap_or(usize::MAX);
        Self {
            max_concurrent_per_user: n(applied.concurrent_generations),
            per_minute: n(applied.messages_per_minute),
            daily_tokens: Limits::value(applied.daily_tokens),
            monthly_tokens: Limits::value(applied.monthly_tokens),
            api_calls: false,
        }
    }

    /// The same, counting the user's `/v1` calls with their answers (an account with API
    /// keys; for any other there are none, and nothing more is read).
    pub fn counting_api_calls(mut self, api_calls: bool) -> Self {
        self.api_calls = api_calls;
        self
    }
}

/// Why a generation was not registered: one with the same idempotency key runs already here.
#[derive(Debug)]
pub(super) struct Existing(pub Arc<Generation>);

#[derive(Debug, Default)]
pub struct Generations {
    inner: Mutex<Inner>,
    pub limits: FairUse,
}

#[derive(Debug, Default)]
struct Inner {
    by_message: HashMap<ObjectId, Arc<Generation>>,
    by_request: HashMap<(ObjectId, String), ObjectId>,
}

impl Generations {
    pub fn new(limits: FairUse) -> Self {
        Self {
            inner: Mutex::default(),
            limits,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a generation unless one with the same idempotency key runs already here (two
    /// identical submissions to one process start one generation; across processes the
    /// unique index on the key decides).
    pub(super) fn insert(
        &self,
        generation: Arc<Generation>,
        request_id: Option<String>,
    ) -> Result<(), Existing> {
        let mut inner = self.lock();
        let key = request_id.map(|id| (generation.chat_id, id));
        if let Some(existing) = key
            .as_ref()
            .and_then(|key| inner.by_request.get(key))
            .and_then(|id| inner.by_message.get(id))
        {
            return Err(Existing(Arc::clone(existing)));
        }
        if let Some(key) = key {
            inner.by_request.insert(key, generation.message_id());
        }
        inner.by_message.insert(generation.message_id(), generation);
        metrics::gauge!(crate::metrics::ACTIVE_GENERATIONS).increment(1.0);
        Ok(())
    }

    pub(super) fn remove(&self, message_id: ObjectId) {
        let mut inner = self.lock();
        if inner.by_message.remove(&message_id).is_some() {
            metrics::gauge!(crate::metrics::ACTIVE_GENERATIONS).decrement(1.0);
        }
        inner.by_request.retain(|_, id| *id != message_id);
    }

    pub fn get(&self, message_id: ObjectId) -> Option<Arc<Generation>> {
        self.lock().by_message.get(&message_id).cloned()
    }

    pub fn by_request(&self, chat_id: ObjectId, request_id: &str) -> Option<Arc<Generation>> {
        let inner = self.lock();
        let id = inner.by_request.get(&(chat_id, request_id.to_owned()))?;
        inner.by_message.get(id).cloned()
    }

    /// The generations of this process that have not ended.
    pub fn running(&self) -> Vec<Arc<Generation>> {
        self.lock()
            .by_message
            .values()
            .filter(|g| g.is_running())
            .cloned()
            .collect()
    }

    /// Stops every generation of a chat (it is being deleted).
    pub fn stop_chat(&self, chat_id: ObjectId) -> usize {
        let inner = self.lock();
        let mut stopped = 0;
        for generation in inner.by_message.values().filter(|g| g.chat_id == chat_id) {
            generation.stop();
            stopped += 1;
        }
        stopped
    }

    /// Stops every generation of a user (their account is being deleted).
    pub fn stop_user(&self, user_id: ObjectId) -> usize {
        let inner = self.lock();
        let mut stopped = 0;
        for generation in inner.by_message.values().filter(|g| g.user_id == user_id) {
            generation.stop();
            stopped += 1;
        }
        stopped
    }

    /// Stops every generation (the server is shutting down); each saves its text as `stopped`.
    pub fn stop_all(&self) -> usize {
        let inner = self.lock();
        inner.by_message.values().for_each(|g| g.stop());
        inner.by_message.len()
    }

    /// Generations registered, whether running or ended and waiting to be stored.
    pub fn len(&self) -> usize {
        self.lock().by_message.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{domain::SamplingParams, store::MessageDoc};

    fn generation(user: ObjectId) -> Arc<Generation> {
        let placeholder = MessageDoc::placeholder(
            ObjectId::new(),
            user,
            ObjectId::new(),
            "m".into(),
            SamplingParams::default(),
        );
        Arc::new(Generation::new(placeholder, None))
    }

    #[test]
    fn the_same_idempotency_key_follows_the_running_generation() {
        let registry = Generations::new(FairUse::default());
        let user = ObjectId::new();
        let first = generation(user);
        assert!(
            registry
                .insert(Arc::clone(&first), Some("k".into()))
                .is_ok()
        );
        let mut again = MessageDoc::placeholder(
            first.chat_id,
            user,
            ObjectId::new(),
            "m".into(),
            SamplingParams::default(),
        );
        again.id = ObjectId::new();
        let again = Arc::new(Generation::new(again, None));
        assert!(matches!(
            registry.insert(again, Some("k".into())),
            Err(Existing(g)) if g.message_id() == first.message_id()
        ));
    }
}
