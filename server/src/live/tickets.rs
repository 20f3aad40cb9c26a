//! Single-use WebSocket tickets: a browser cannot set headers on a WebSocket request, and a
//! long-lived token must never go into a URL, so a client trades its bearer token for a
//! random ticket valid for a few seconds and good for one connection — on any process: the
//! tickets live in MongoDB (`store::tickets`), stored by their SHA-256, used up atomically.

use std::time::Duration;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use mongodb::{
    Collection,
    bson::{DateTime, oid::ObjectId},
};
use sha2::{Digest, Sha256};

use crate::store::tickets::{self, TicketDoc};

#[derive(Debug, Clone)]
pub struct Tickets {
    ttl: Duration,
    issued: Collection<TicketDoc>,
}

fn hash(ticket: &str) -> String {
    hex::encode(Sha256::digest(ticket.as_bytes()))
}

impl Tickets {
    pub fn new(ttl: Duration, issued: Collection<TicketDoc>) -> Self {
        Self { ttl, issued }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub async fn issue(
        &self,
        user_id: ObjectId,
        session_id: ObjectId,
    ) -> mongodb::error::Result<String> {
        let bytes: [u8; 32] = rand::random();
        let ticket = URL_SAFE_NO_PAD.encode(bytes);
        let ttl = i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX / 2);
        let expires_at =
            DateTime::from_millis(DateTime::now().timestamp_millis().saturating_add(ttl));
        tickets::insert(
            &self.issued,
            &TicketDoc {
                hash: hash(&ticket),
                user_id,
                session_id,
                expires_at,
            },
        )
        .await?;
        Ok(ticket)
    }

    /// `(user_id, session_id)` for a valid ticket, which is used up; `None` if unknown,
    /// already used (here or on another process) or expired.
    pub async fn redeem(
        &self,
        ticket: &str,
    ) -> mongodb::error::Result<Option<(ObjectId, ObjectId)>> {
        if ticket.is_empty() || ticket.len() > 128 {
            return Ok(None);
        }
        Ok(tickets::redeem(&self.issued, &hash(ticket))
            .await?
            .map(|found| (found.user_id, found.session_id)))
    }
}
