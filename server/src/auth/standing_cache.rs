//! Remembers each account's standing (role, status, limits) for at most a second, so a burst of
//! requests costs one read while a change by an admin or the command line holds within a second
//! on every process (at once on the process that made it: `forget`).

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use mongodb::bson::oid::ObjectId;

use crate::store::users::Standing;

pub const TTL: Duration = Duration::from_secs(1);
const SWEEP_ABOVE: usize = 50_000;

#[derive(Debug, Default)]
pub struct StandingCache {
    known: Mutex<HashMap<ObjectId, (Standing, Instant)>>,
}

impl StandingCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ObjectId, (Standing, Instant)>> {
        self.known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The account's standing, if read less than `TTL` ago.
    pub fn get(&self, user_id: ObjectId) -> Option<Standing> {
        self.lock()
            .get(&user_id)
            .filter(|(_, at)| at.elapsed() < TTL)
            .map(|(standing, _)| *standing)
    }

    pub fn remember(&self, user_id: ObjectId, standing: Standing) {
        let mut known = self.lock();
        if known.len() > SWEEP_ABOVE {
            known.retain(|_, (_, at)| at.elapsed() < TTL);
        }
        known.insert(user_id, (standing, Instant::now()));
    }

    pub fn forget(&self, user_id: ObjectId) {
        self.lock().remove(&user_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AccountRole, AccountStatus, Limits};

    #[test]
    fn a_standing_is_known_until_forgotten_or_a_second_old() {
        let cache = StandingCache::default();
        let user = ObjectId::new();
        let standing = Standing {
            role: AccountRole::Admin,
            status: AccountStatus::Active,
            limits: Limits::default(),
        };
        assert_eq!(cache.get(user), None);
        cache.remember(user, standing);
        assert_eq!(cache.get(user), Some(standing));
        cache.forget(user);
        assert_eq!(cache.get(user), None);
        cache.lock().insert(user, (standing, Instant::now() - TTL));
        assert_eq!(cache.get(user), None, "a second old is too old");
    }
}
