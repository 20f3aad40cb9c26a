//! Deleting an account and everything it owns, in a way a crash cannot leave half done.
//!
//! 1. The account is marked `deleting_at`: from then on it is gone for every purpose (no
//!    sign-in, no token honoured, no admin list), while its username and address stay
//!    reserved.
//! 2. What it owns is deleted, collection by collection, by `user_id`.
//! 3. The account document goes last; its username and address are free again.
//!
//! A process that dies after step 1 leaves a marked account: every process looks for those
//! (`finish_unfinished`, at start-up and with each lease sweep) and runs steps 2–3 again, which
//! are safe to repeat.

use mongodb::bson::{DateTime, doc, oid::ObjectId};

use super::{Store, users};

/// How long a deletion may be under way before another process takes it over.
const TAKE_OVER_AFTER: std::time::Duration = std::time::Duration::from_secs(60);

impl Store {
    /// Begins deleting the account (step 1); false if it was already gone.
    pub async fn begin_account_deletion(&self, user_id: ObjectId) -> mongodb::error::Result<bool> {
        users::mark_deleting(&self.users, user_id).await
    }

    /// Deletes what the account owns, then the account (steps 2 and 3). Safe to repeat.
    pub async fn finish_account_deletion(&self, user_id: ObjectId) -> mongodb::error::Result<()> {
        let owned = doc! { "user_id": user_id };
        // Sessions first: nothing signed in survives a deletion that stops midway.
        self.sessions.delete_many(owned.clone()).await?;
        self.api_keys.delete_many(owned.clone()).await?;
        // Public links next: nothing of the account stays readable by anyone.
        self.shares.delete_many(owned.clone()).await?;
        self.tickets.delete_many(owned.clone()).await?;
        self.votes.delete_many(owned.clone()).await?;
        // Private presets; shared ones (`user_id: null`) stay, whoever made them.
        self.presets.delete_many(owned.clone()).await?;
        self.messages.delete_many(owned.clone()).await?;
        self.chats.delete_many(owned.clone()).await?;
        self.folders.delete_many(owned.clone()).await?;
        self.imports.delete_many(owned.clone()).await?;
        self.events.delete_many(owned.clone()).await?;
        self.usage.delete_many(owned.clone()).await?;
        // The sign-in failure counters keyed by the account.
        self.throttles
            .delete_many(
                doc! { "_id": { "$regex": format!("^login-[a-z]+:{}", user_id.to_hex()) } },
            )
            .await?;
        self.users
            .delete_one(doc! { "_id": user_id, "deleting_at": { "$exists": true } })
            .await?;
        Ok(())
    }

    /// Removes what was written for a deleted account after its deletion (an answer's usage as
    /// it ended, the last events of its log).
    pub async fn remove_stragglers(&self, user_id: ObjectId) -> mongodb::error::Result<()> {
        let owned = doc! { "user_id": user_id };
        self.events.delete_many(owned.clone()).await?;
        self.usage.delete_many(owned.clone()).await?;
        // An import that was running: what it made after the deletion went.
        self.chats.delete_many(owned.clone()).await?;
        self.votes.delete_many(owned.clone()).await?;
        self.messages.delete_many(owned).await?;
        Ok(())
    }

    /// Finishes the deletions that a process began and did not end. Returns how many.
    pub async fn finish_unfinished_deletions(&self) -> mongodb::error::Result<usize> {
        let before = DateTime::from_millis(
            DateTime::now().timestamp_millis()
                - i64::try_from(TAKE_OVER_AFTER.as_millis()).unwrap_or(60_000),
        );
        let ids = users::unfinished_deletions(&self.users, before).await?;
        for id in &ids {
            self.finish_account_deletion(*id).await?;
            tracing::info!(user_id = %id, "finished an account deletion a process had begun");
        }
        Ok(ids.len())
    }
}
