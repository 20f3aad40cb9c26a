//! Single-use WebSocket tickets (`tickets`), shared by every process: a ticket issued by one
//! process opens a socket on any other, once. Stored by the SHA-256 of the ticket; redeeming is
//! one `findOneAndDelete`, so two processes cannot both use it. MongoDB removes expired ones
//! (TTL index on `expires_at`); `redeem` also refuses them before that runs.

use mongodb::{
    Collection,
    bson::{DateTime, doc, oid::ObjectId},
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TicketDoc {
    /// Hex SHA-256 of the ticket.
    #[serde(rename = "_id")]
    pub hash: String,
    pub user_id: ObjectId,
    pub session_id: ObjectId,
    pub expires_at: DateTime,
}

pub async fn insert(
    tickets: &Collection<TicketDoc>,
    ticket: &TicketDoc,
) -> mongodb::error::Result<()> {
    tickets.insert_one(ticket).await.map(drop)
}

/// Uses the ticket up: the document, if it existed and had not expired.
pub async fn redeem(
    tickets: &Collection<TicketDoc>,
    hash: &str,
) -> mongodb::error::Result<Option<TicketDoc>> {
    tickets
        .find_one_and_delete(doc! { "_id": hash, "expires_at": { "$gt": DateTime::now() } })
        .await
}
