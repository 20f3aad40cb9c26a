//! The `invites` collection: sign-up codes an admin created (by hash; the code is shown once).

use futures::TryStreamExt as _;
use mongodb::{
    Collection,
    bson::{DateTime, doc, oid::ObjectId},
    options::ReturnDocument,
};
use serde::{Deserialize, Serialize};

use crate::domain::AccountRole;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InviteDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    /// SHA-256 of the code, hex.
    pub code_hash: String,
    /// The code's first characters, to tell invites apart in a list.
    pub prefix: String,
    pub uses: i64,
    pub used: i64,
    /// Uses left: taken one at a time, atomically.
    pub remaining: i64,
    pub expires_at: Option<DateTime>,
    pub role: AccountRole,
    pub created_by: ObjectId,
    pub created_at: DateTime,
}

pub async fn insert(
    invites: &Collection<InviteDoc>,
    invite: &InviteDoc,
) -> mongodb::error::Result<()> {
    invites.insert_one(invite).await.map(drop)
}

/// Every invite, newest first (at most 500).
pub async fn list(invites: &Collection<InviteDoc>) -> mongodb::error::Result<Vec<InviteDoc>> {
    invites
        .find(doc! {})
        .sort(doc! { "_id": -1 })
        .limit(500)
        .await?
        .try_collect()
        .await
}

pub async fn delete(invites: &Collection<InviteDoc>, id: ObjectId) -> mongodb::error::Result<bool> {
    Ok(invites.delete_one(doc! { "_id": id }).await?.deleted_count == 1)
}

/// Takes one use of the invite with this code hash, if it has one left and has not expired.
pub async fn redeem(
    invites: &Collection<InviteDoc>,
    code_hash: &str,
) -> mongodb::error::Result<Option<InviteDoc>> {
    invites
        .find_one_and_update(
            doc! {
                "code_hash": code_hash,
                "remaining": { "$gt": 0 },
                "$or": [ { "expires_at": null }, { "expires_at": { "$gt": DateTime::now() } } ],
            },
            doc! { "$inc": { "remaining": -1, "used": 1 } },
        )
        .return_document(ReturnDocument::After)
        .await
}

/// Gives a use back (the account it was taken for could not be created).
pub async fn give_back(
    invites: &Collection<InviteDoc>,
    id: ObjectId,
) -> mongodb::error::Result<()> {
    invites
        .update_one(
            doc! { "_id": id },
            doc! { "$inc": { "remaining": 1, "used": -1 } },
        )
        .await
        .map(drop)
}
