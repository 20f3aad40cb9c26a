//! Remembers each account's standing (role, status, limits), so a request does not read it.
//! A change is seen at once: on the process that made it (`forget`), and on every other one
//! through the process's change stream (`crate::follow`), which forgets what changed in
//! `users`. While that stream is down, nothing is kept longer than a second (`TTL`), so a
//! demotion or a disable holds within a second whatever happens.

use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use mongodb::bson::oid::ObjectId;

use crate::store::users::Standing;

/// How long a standing is kept while the change stream is down.
pub const TTL: Duration = Duration::from_secs(1);
/// How long while the change stream follows every change (a safety net).
pub const WATCHED_TTL: Duration = Duration::from_secs(30);
const SWEEP_ABOVE: usize = 50_000;

#[derive(Debug, Default)]
pub struct StandingCache {
    known: Mutex<HashMap<ObjectId, (Standing, Instant)>>,
    /// The change stream on `users` is open: entries may live `WATCHED_TTL`.
    watched: AtomicBool,
    /// Bumped by every forget: a read that began before one may be stale, and is not kept.
    changes: AtomicU64,
}

impl StandingCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ObjectId, (Standing, Instant)>> {
        self.known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn ttl(&self) -> Duration {
        if self.watched.load(Ordering::SeqCst) {
            WATCHED_TTL
        } else {
            TTL
        }
    }

    /// The account's standing, if known and fresh.
    pub fn get(&self, user_id: ObjectId) -> Option<Standing> {
        let ttl = self.ttl();
        self.lock()
            .get(&user_id)
            .filter(|(_, at)| at.elapsed() < ttl)
            .map(|(standing, _)| *standing)
    }

    /// Where the changes are now: pass to `remember` with what is read after this.
    pub fn epoch(&self) -> u64 {
        self.changes.load(Ordering::SeqCst)
    }

    /// Keeps a standing read after `epoch`, unless something was forgotten since (the read may
    /// predate that change).
    pub fn remember(&self, user_id: ObjectId, standing: Standing, epoch: u64) {
        let mut known = self.lock();
        if self.changes.load(Ordering::SeqCst) != epoch {
            return;
        }
        if known.len() > SWEEP_ABOVE {
            let ttl = self.ttl();
            known.retain(|_, (_, at)| at.elapsed() < ttl);
        }
        known.insert(user_id, (standing, Instant::now()));
    }

    pub fn forget(&self, user_id: ObjectId) {
        let mut known = self.lock();
        self.changes.fetch_add(1, Ordering::SeqCst);
        known.remove(&user_id);
    }

    fn forget_all(&self) {
        let mut known = self.lock();
        self.changes.fetch_add(1, Ordering::SeqCst);
        known.clear();
    }

    /// Whether the process's change stream follows `users` (`crate::follow`).
    pub fn set_watched(&self, watched: bool) {
        self.forget_all();
        self.watched.store(watched, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AccountRole, AccountStatus, Limits};

    fn admin() -> Standing {
        Standing {
            role: AccountRole::Admin,
            status: AccountStatus::Active,
            limits: Limits::default(),
            api_keys: false,
        }
    }

    #[test]
    fn a_standing_is_known_until_forgotten_or_a_second_old_while_unwatched() {
        let cache = StandingCache::default();
        let user = ObjectId::new();
        assert_eq!(cache.get(user), None);
        cache.remember(user, admin(), cache.epoch());
        assert_eq!(cache.get(user), Some(admin()));
        cache.forget(user);
        assert_eq!(cache.get(user), None);
        cache.lock().insert(user, (admin(), Instant::now() - TTL));
        assert_eq!(cache.get(user), None, "a second old is too old");
        cache.watched.store(true, Ordering::SeqCst);
        assert_eq!(cache.get(user), Some(admin()), "watched: kept longer");
    }

    #[test]
    fn a_read_that_began_before_a_change_is_not_kept() {
        let cache = StandingCache::default();
        let (user, other) = (ObjectId::new(), ObjectId::new());
        let epoch = cache.epoch();
        cache.forget(other);
        cache.remember(user, admin(), epoch);
        assert_eq!(cache.get(user), None);
        cache.remember(user, admin(), cache.epoch());
        assert_eq!(cache.get(user), Some(admin()));
    }
}
