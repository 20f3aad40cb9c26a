//! Single-use WebSocket tickets: a browser cannot set headers on a WebSocket request, and a
//! long-lived token must never go into a URL, so a client trades its bearer token for a
//! random ticket valid for a few seconds and good for one connection.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use mongodb::bson::oid::ObjectId;

/// Above this many outstanding tickets, expired ones are swept on the next issue.
const SWEEP_ABOVE: usize = 10_000;

#[derive(Debug)]
pub struct Tickets {
    ttl: Duration,
    issued: Mutex<HashMap<String, Ticket>>,
}

#[derive(Debug, Clone, Copy)]
struct Ticket {
    user_id: ObjectId,
    session_id: ObjectId,
    expires: Instant,
}

impl Tickets {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            issued: Mutex::new(HashMap::new()),
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Ticket>> {
        self.issued
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn issue(&self, user_id: ObjectId, session_id: ObjectId) -> String {
        let bytes: [u8; 32] = rand::random();
        let ticket = URL_SAFE_NO_PAD.encode(bytes);
        let now = Instant::now();
        let mut issued = self.lock();
        if issued.len() > SWEEP_ABOVE {
            issued.retain(|_, t| t.expires > now);
        }
        issued.insert(
            ticket.clone(),
            Ticket {
                user_id,
                session_id,
                expires: now + self.ttl,
            },
        );
        ticket
    }

    /// `(user_id, session_id)` for a valid ticket, which is used up; `None` if unknown,
    /// already used or expired.
    pub fn redeem(&self, ticket: &str) -> Option<(ObjectId, ObjectId)> {
        let found = self.lock().remove(ticket)?;
        (found.expires > Instant::now()).then_some((found.user_id, found.session_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_works_once_and_only_before_it_expires() {
        let tickets = Tickets::new(Duration::from_millis(30));
        let (user, session) = (ObjectId::new(), ObjectId::new());
        let ticket = tickets.issue(user, session);
        assert_eq!(tickets.redeem(&ticket), Some((user, session)));
        assert_eq!(tickets.redeem(&ticket), None, "single use");
        let late = tickets.issue(user, session);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(tickets.redeem(&late), None, "expired");
        assert_eq!(tickets.redeem("made-up"), None);
    }
}
