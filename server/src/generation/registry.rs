//! The generations in progress, by answer id and by idempotency key, and the fair-use limits
//! on starting them (answers at once per user, answers per minute per user).
//!
//! The limits are counted in this process: two processes each allow them in full (the
//! many-processes work moves them to MongoDB).

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use mongodb::bson::oid::ObjectId;

use super::Generation;

/// How many generations one user may start.
#[derive(Debug, Clone, Copy, Default)]
pub struct FairUse {
    /// Answers being generated at once per user (0: no limit).
    pub max_concurrent_per_user: usize,
    /// Answers started per user in any 60 s (0: no limit).
    pub per_minute: usize,
}

impl FairUse {
    pub fn from_env(env: &crate::env::Env<'_>) -> Result<Self, crate::env::BadSetting> {
        Ok(Self {
            max_concurrent_per_user: env.parse("MAX_CONCURRENT_GENERATIONS_PER_USER", 3)?,
            per_minute: env.parse("RATE_LIMIT_MESSAGES_PER_MINUTE", 20)?,
        })
    }
}

const MINUTE: Duration = Duration::from_secs(60);

/// Why a generation was not registered.
#[derive(Debug)]
pub(super) enum Refused {
    /// A generation with the same idempotency key runs already: follow it.
    Existing(Arc<Generation>),
    /// The user has `max_concurrent_per_user` answers being generated.
    TooMany,
    /// The user started `per_minute` answers in the last minute; one more fits after this.
    RateLimited(Duration),
}

#[derive(Debug, Default)]
pub struct Generations {
    inner: Mutex<Inner>,
    limits: FairUse,
    /// Partial-text writes in flight, all generations together: they give way to the writes an
    /// answer cannot do without (its insert, its final state), which a busy database would
    /// otherwise queue behind them.
    pub(super) partial_saves: PartialSaves,
}

/// At most this many partial-text writes at once (the driver's pool holds 10 connections).
const PARTIAL_SAVES_IN_FLIGHT: usize = 4;

#[derive(Debug, Clone)]
pub(super) struct PartialSaves(Arc<tokio::sync::Semaphore>);

impl Default for PartialSaves {
    fn default() -> Self {
        Self(Arc::new(tokio::sync::Semaphore::new(
            PARTIAL_SAVES_IN_FLIGHT,
        )))
    }
}

impl PartialSaves {
    /// A place for one write, if one is free now (else the write waits for the next round).
    pub(super) fn try_start(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        Arc::clone(&self.0).try_acquire_owned().ok()
    }
}

#[derive(Debug, Default)]
struct Inner {
    by_message: HashMap<ObjectId, Arc<Generation>>,
    by_request: HashMap<(ObjectId, String), ObjectId>,
    /// When each user's recent generations started (at most `per_minute` kept).
    started: HashMap<ObjectId, VecDeque<Instant>>,
}

impl Generations {
    pub fn new(limits: FairUse) -> Self {
        Self {
            inner: Mutex::default(),
            limits,
            partial_saves: PartialSaves::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a generation unless one with the same idempotency key runs already, or the
    /// user is over a fair-use limit. The checks and the insert are one step, so two identical
    /// submissions start one generation and parallel ones cannot pass a limit together.
    pub(super) fn insert(
        &self,
        generation: Arc<Generation>,
        request_id: Option<String>,
    ) -> Result<(), Refused> {
        let mut inner = self.lock();
        let key = request_id.map(|id| (generation.chat_id, id));
        if let Some(existing) = key
            .as_ref()
            .and_then(|key| inner.by_request.get(key))
            .and_then(|id| inner.by_message.get(id))
        {
            return Err(Refused::Existing(Arc::clone(existing)));
        }
        let user = generation.user_id;
        let limits = self.limits;
        if limits.max_concurrent_per_user > 0 {
            let running = inner
                .by_message
                .values()
                .filter(|g| g.user_id == user && g.is_running())
                .count();
            if running >= limits.max_concurrent_per_user {
                return Err(Refused::TooMany);
            }
        }
        let now = Instant::now();
        if limits.per_minute > 0 {
            inner.started.retain(|_, times| {
                times.retain(|at| now.duration_since(*at) < MINUTE);
                !times.is_empty()
            });
            let times = inner.started.entry(user).or_default();
            if times.len() >= limits.per_minute
                && let Some(oldest) = times.front()
            {
                return Err(Refused::RateLimited(MINUTE - now.duration_since(*oldest)));
            }
            times.push_back(now);
        }
        if let Some(key) = key {
            inner.by_request.insert(key, generation.message_id());
        }
        inner.by_message.insert(generation.message_id(), generation);
        Ok(())
    }

    pub(super) fn remove(&self, message_id: ObjectId) {
        let mut inner = self.lock();
        inner.by_message.remove(&message_id);
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
    fn a_user_runs_at_most_the_limit_at_once_and_others_are_unaffected() {
        let registry = Generations::new(FairUse {
            max_concurrent_per_user: 2,
            per_minute: 0,
        });
        let (alice, bob) = (ObjectId::new(), ObjectId::new());
        let first = generation(alice);
        assert!(registry.insert(Arc::clone(&first), None).is_ok());
        assert!(registry.insert(generation(alice), None).is_ok());
        assert!(matches!(
            registry.insert(generation(alice), None),
            Err(Refused::TooMany)
        ));
        assert!(registry.insert(generation(bob), None).is_ok());
        // An ended generation (even one still waiting to be stored) no longer counts.
        first.finish(first.placeholder.clone(), false);
        assert!(registry.insert(generation(alice), None).is_ok());
    }

    #[test]
    fn a_user_starts_at_most_the_limit_per_minute_and_is_told_when_to_retry() {
        let registry = Generations::new(FairUse {
            max_concurrent_per_user: 0,
            per_minute: 3,
        });
        let alice = ObjectId::new();
        for _ in 0..3 {
            let started = generation(alice);
            assert!(registry.insert(Arc::clone(&started), None).is_ok());
            registry.remove(started.message_id());
        }
        match registry.insert(generation(alice), None) {
            Err(Refused::RateLimited(wait)) => {
                assert!(wait <= MINUTE && wait > Duration::from_secs(50), "{wait:?}");
            }
            other => panic!("expected a rate limit, got {other:?}"),
        }
        assert!(registry.insert(generation(ObjectId::new()), None).is_ok());
    }

    #[test]
    fn the_same_idempotency_key_follows_the_running_generation_before_any_limit() {
        let registry = Generations::new(FairUse {
            max_concurrent_per_user: 1,
            per_minute: 1,
        });
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
            Err(Refused::Existing(g)) if g.message_id() == first.message_id()
        ));
    }
}
