//! The `chats` collection: a chat's title, default parameters and the branch on screen.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use futures::TryStreamExt as _;
use mongodb::{
    Collection,
    bson::{self, DateTime, Document, doc, oid::ObjectId},
};
use serde::{Deserialize, Serialize};

use crate::domain::SamplingParams;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChatDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub user_id: ObjectId,
    #[serde(default)]
    pub title: Option<String>,
    /// The chat's default sampling parameters (unset fields are not stored).
    #[serde(default, with = "super::stored_params")]
    pub parameters: SamplingParams,
    /// The leaf of the branch on screen.
    #[serde(default)]
    pub current_message_id: Option<ObjectId>,
    /// The preset the parameters were copied from, while they are unchanged since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset_id: Option<ObjectId>,
    pub created_at: DateTime,
    /// Last activity; chats are listed newest first by this.
    pub updated_at: DateTime,
    /// Listed before the others. Stored only when true (the list sorts on it: every other chat
    /// must have no value, not `false`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pinned: bool,
    /// Hidden from the list unless asked for; still found by search. Stored only when true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub archived: bool,
    /// The folder it is in (at most one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder_id: Option<ObjectId>,
    /// Imported chats: where from (`chatgpt:{conversation id}`, `confab:{chat id}`), unique per
    /// user, so a file imported twice adds nothing the second time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_key: Option<String>,
}

impl ChatDoc {
    pub fn new(user_id: ObjectId, title: Option<String>, parameters: SamplingParams) -> Self {
        let now = DateTime::now();
        Self {
            id: ObjectId::new(),
            user_id,
            title,
            parameters,
            current_message_id: None,
            preset_id: None,
            created_at: now,
            updated_at: now,
            pinned: false,
            archived: false,
            folder_id: None,
            import_key: None,
        }
    }
}

/// The partial unique index on (user, `import_key`).
pub const IMPORT_KEY_INDEX: &str = "chats_import_key_unique";

/// 9999-12-31T23:59:59.999Z, the last instant every date library can represent.
const MAX_MILLIS: i64 = 253_402_300_799_999;

/// Where a page of the chat list ends: `(pinned, updated_at, id)` of its last chat, opaque to
/// clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub pinned: bool,
    pub updated_at: DateTime,
    pub id: ObjectId,
}

impl Cursor {
    pub fn of(chat: &ChatDoc) -> Self {
        Self {
            pinned: chat.pinned,
            updated_at: chat.updated_at,
            id: chat.id,
        }
    }

    pub fn encode(&self) -> String {
        let pinned = if self.pinned { "p:" } else { "" };
        URL_SAFE_NO_PAD.encode(format!(
            "{pinned}{}:{}",
            self.updated_at.timestamp_millis(),
            self.id.to_hex()
        ))
    }

    /// `None` for anything that is not a position Confab could have handed out: not base64,
    /// not `millis:id`, or a time outside 1970–9999.
    pub fn decode(raw: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (pinned, text) = match text.strip_prefix("p:") {
            Some(rest) => (true, rest),
            None => (false, text.as_str()),
        };
        let (millis, id) = text.split_once(':')?;
        let millis: i64 = millis.parse().ok()?;
        if !(0..=MAX_MILLIS).contains(&millis) {
            return None;
        }
        Some(Self {
            pinned,
            updated_at: DateTime::from_millis(millis),
            id: ObjectId::parse_str(id).ok()?,
        })
    }
}

pub async fn insert(chats: &Collection<ChatDoc>, chat: &ChatDoc) -> mongodb::error::Result<()> {
    chats.insert_one(chat).await.map(drop)
}

/// The chat, if it exists and belongs to `user_id`.
#[tracing::instrument(skip_all, fields(%chat_id))]
pub async fn find_owned(
    chats: &Collection<ChatDoc>,
    user_id: ObjectId,
    chat_id: ObjectId,
) -> mongodb::error::Result<Option<ChatDoc>> {
    chats
        .find_one(doc! { "_id": chat_id, "user_id": user_id })
        .await
}

/// Which of the user's chats a list shows.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// Only the archived ones (else: the others, unless searching, which finds both).
    pub archived: bool,
    /// Only those in this folder.
    pub folder_id: Option<ObjectId>,
}

/// A page of the user's chats: pinned ones first, then by newest activity. `search` restricts
/// to chats whose title matches the (already escaped) pattern or whose id is in the message
/// hits; it finds archived chats too.
pub async fn list(
    chats: &Collection<ChatDoc>,
    user_id: ObjectId,
    limit: i64,
    after: Option<Cursor>,
    search: Option<(&str, Vec<ObjectId>)>,
    listing: &Listing,
) -> mongodb::error::Result<Vec<ChatDoc>> {
    let mut filter = doc! { "user_id": user_id };
    let mut clauses: Vec<Document> = Vec::new();
    if listing.archived {
        filter.insert("archived", true);
    } else if search.is_none() {
        filter.insert("archived", doc! { "$ne": true });
    }
    if let Some(folder) = listing.folder_id {
        filter.insert("folder_id", folder);
    }
    if let Some(cursor) = after {
        let later = doc! { "$or": [
            { "updated_at": { "$lt": cursor.updated_at } },
            { "updated_at": cursor.updated_at, "_id": { "$lt": cursor.id } },
        ] };
        clauses.push(if cursor.pinned {
            // Further down the pinned chats, or any chat that is not pinned.
            doc! { "$or": [
                { "$and": [{ "pinned": true }, later] },
                { "pinned": { "$ne": true } },
            ] }
        } else {
            doc! { "$and": [{ "pinned": { "$ne": true } }, later] }
        });
    }
    if let Some((pattern, ids)) = search {
        clauses.push(doc! { "$or": [
            { "title": { "$regex": pattern, "$options": "i" } },
            { "_id": { "$in": ids } },
        ] });
    }
    if !clauses.is_empty() {
        filter.insert("$and", clauses);
    }
    chats
        .find(filter)
        .sort(doc! { "pinned": -1, "updated_at": -1, "_id": -1 })
        .limit(limit)
        .await?
        .try_collect()
        .await
}

/// A change to a chat; what is `None` stays as it is.
#[derive(Debug, Clone, Default)]
pub struct ChatUpdate {
    /// `Some(None)` clears the title.
    pub title: Option<Option<String>>,
    /// Replaces the defaults as a whole.
    pub parameters: Option<SamplingParams>,
    /// The preset they come from (`Some(None)`: none, they were set by hand). Set with
    /// `parameters`.
    pub preset_id: Option<Option<ObjectId>>,
    /// The leaf of the branch on screen.
    pub current_message_id: Option<ObjectId>,
    /// Pin or unpin (not activity: `updated_at` stays).
    pub pinned: Option<bool>,
    /// Archive or bring back (not activity).
    pub archived: Option<bool>,
    /// Move into a folder, or out of any (`Some(None)`; not activity).
    pub folder_id: Option<Option<ObjectId>>,
}

impl ChatUpdate {
    /// Whether it changes what the chat holds (its last activity), not only where it is filed.
    fn is_activity(&self) -> bool {
        self.title.is_some()
            || self.parameters.is_some()
            || self.preset_id.is_some()
            || self.current_message_id.is_some()
    }

    /// What is cleared: `false` and "no folder" are stored as no value.
    pub(super) fn to_unset(&self) -> Document {
        let mut unset = Document::new();
        if self.pinned == Some(false) {
            unset.insert("pinned", "");
        }
        if self.archived == Some(false) {
            unset.insert("archived", "");
        }
        if self.folder_id == Some(None) {
            unset.insert("folder_id", "");
        }
        unset
    }

    pub(super) fn to_set(&self) -> mongodb::error::Result<Document> {
        let mut set = if self.is_activity() {
            doc! { "updated_at": DateTime::now() }
        } else {
            Document::new()
        };
        if self.pinned == Some(true) {
            set.insert("pinned", true);
        }
        if self.archived == Some(true) {
            set.insert("archived", true);
        }
        if let Some(Some(folder)) = self.folder_id {
            set.insert("folder_id", folder);
        }
        if let Some(title) = &self.title {
            set.insert("title", title.clone());
        }
        if let Some(parameters) = &self.parameters {
            set.insert(
                "parameters",
                bson::to_bson(&super::stored_params::Stored(parameters))?,
            );
        }
        if let Some(id) = self.current_message_id {
            set.insert("current_message_id", id);
        }
        if let Some(preset_id) = self.preset_id {
            set.insert("preset_id", preset_id);
        }
        Ok(set)
    }
}

/// Applies `change` to the user's chat and bumps `updated_at`; the updated chat, if found.
#[tracing::instrument(skip_all, fields(%chat_id))]
pub async fn update(
    chats: &Collection<ChatDoc>,
    user_id: ObjectId,
    chat_id: ObjectId,
    change: &ChatUpdate,
) -> mongodb::error::Result<Option<ChatDoc>> {
    let mut update = doc! {};
    let (set, unset) = (change.to_set()?, change.to_unset());
    if !set.is_empty() {
        update.insert("$set", set);
    }
    if !unset.is_empty() {
        update.insert("$unset", unset);
    }
    if update.is_empty() {
        return find_owned(chats, user_id, chat_id).await;
    }
    chats
        .find_one_and_update(doc! { "_id": chat_id, "user_id": user_id }, update)
        .return_document(mongodb::options::ReturnDocument::After)
        .await
}

/// Takes every chat of the user out of `folder_id` (the folder is being deleted: its chats
/// stay); the chats as they are after it.
pub async fn leave_folder(
    chats: &Collection<ChatDoc>,
    user_id: ObjectId,
    folder_id: ObjectId,
) -> mongodb::error::Result<Vec<ChatDoc>> {
    let filed = doc! { "user_id": user_id, "folder_id": folder_id };
    let ids = super::ids_matching(chats, filed.clone()).await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    chats
        .update_many(filed, doc! { "$unset": { "folder_id": "" } })
        .await?;
    chats
        .find(doc! { "_id": { "$in": &ids }, "user_id": user_id })
        .await?
        .try_collect()
        .await
}

/// Sets `set` on the user's chat; the updated chat, if found.
pub(super) async fn set_fields(
    chats: &Collection<ChatDoc>,
    user_id: ObjectId,
    chat_id: ObjectId,
    set: Document,
) -> mongodb::error::Result<Option<ChatDoc>> {
    chats
        .find_one_and_update(
            doc! { "_id": chat_id, "user_id": user_id },
            doc! { "$set": set },
        )
        .return_document(mongodb::options::ReturnDocument::After)
        .await
}

pub async fn delete(
    chats: &Collection<ChatDoc>,
    user_id: ObjectId,
    chat_id: ObjectId,
) -> mongodb::error::Result<bool> {
    let result = chats
        .delete_one(doc! { "_id": chat_id, "user_id": user_id })
        .await?;
    Ok(result.deleted_count == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        for pinned in [false, true] {
            let cursor = Cursor {
                pinned,
                updated_at: DateTime::from_millis(1_700_000_000_123),
                id: ObjectId::new(),
            };
            assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        }
        for bad in ["", "garbage", "bm90OmFuOmlk", "MTIzOnh5eg"] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
        // Well-formed, but at times no chat can have: year 10000, before 1970, beyond i64.
        let id = ObjectId::new().to_hex();
        for millis in ["253402300800000", "-1", "99999999999999999999"] {
            let raw = URL_SAFE_NO_PAD.encode(format!("{millis}:{id}"));
            assert_eq!(Cursor::decode(&raw), None, "{millis}");
        }
        let last = URL_SAFE_NO_PAD.encode(format!("253402300799999:{id}"));
        assert!(Cursor::decode(&last).is_some());
    }
}
