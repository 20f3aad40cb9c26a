//! Remembers for a few seconds that a session was found live, so that a burst of requests
//! (a page load, a streamed message) costs one session look-up instead of one each. Revoking
//! a session forgets it at once in this process, and in every other process as soon as the
//! event log's `session.ended` reaches it (milliseconds; at worst `TTL` if it never does).

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use mongodb::bson::oid::ObjectId;

pub const TTL: Duration = Duration::from_secs(5);
const SWEEP_ABOVE: usize = 50_000;

#[derive(Debug, Default)]
pub struct SessionCache {
    live: Mutex<HashMap<ObjectId, (ObjectId, Instant)>>,
}

impl SessionCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ObjectId, (ObjectId, Instant)>> {
        self.live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether `session_id` of `user_id` was seen live less than `TTL` ago.
    pub fn is_fresh(&self, session_id: ObjectId, user_id: ObjectId) -> bool {
        self.lock()
            .get(&session_id)
            .is_some_and(|(user, at)| *user == user_id && at.elapsed() < TTL)
    }

    pub fn remember(&self, session_id: ObjectId, user_id: ObjectId) {
        let mut live = self.lock();
        if live.len() > SWEEP_ABOVE {
            live.retain(|_, (_, at)| at.elapsed() < TTL);
        }
        live.insert(session_id, (user_id, Instant::now()));
    }

    /// Forgets every session (some revocations may have been missed).
    pub fn clear(&self) {
        self.lock().clear();
    }

    pub fn forget(&self, session_id: ObjectId) {
        self.lock().remove(&session_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_session_is_fresh_for_its_user_until_forgotten() {
        let cache = SessionCache::default();
        let (session, user) = (ObjectId::new(), ObjectId::new());
        assert!(!cache.is_fresh(session, user));
        cache.remember(session, user);
        assert!(cache.is_fresh(session, user));
        assert!(
            !cache.is_fresh(session, ObjectId::new()),
            "bound to its user"
        );
        cache.forget(session);
        assert!(!cache.is_fresh(session, user));
    }
}
