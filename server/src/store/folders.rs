//! The `folders` collection: a user's folders of chats (a chat is in at most one: its
//! `folder_id`). Names are unique per user, case-insensitive (a unique index); deleting a
//! folder takes its chats out of it, never deletes them.

use futures::TryStreamExt as _;
use mongodb::{
    Collection,
    bson::{DateTime, Document, doc, oid::ObjectId},
    options::ReturnDocument,
};
use serde::{Deserialize, Serialize};

/// The unique index on (user, lower-case name).
pub const NAME_INDEX: &str = "folders_name_unique";
/// The most folders a user may have.
pub const MAX_PER_USER: u64 = 200;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FolderDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub user_id: ObjectId,
    pub name: String,
    pub name_lower: String,
    /// Where it is shown among the user's folders (ascending; ties by creation).
    pub order: i64,
    pub created_at: DateTime,
}

impl FolderDoc {
    pub fn new(user_id: ObjectId, name: String, order: i64) -> Self {
        Self {
            id: ObjectId::new(),
            user_id,
            name_lower: name.to_lowercase(),
            name,
            order,
            created_at: DateTime::now(),
        }
    }
}

/// A change to a folder; what is `None` stays.
#[derive(Debug, Clone, Default)]
pub struct FolderUpdate {
    pub name: Option<String>,
    pub order: Option<i64>,
}

pub async fn insert(
    folders: &Collection<FolderDoc>,
    folder: &FolderDoc,
) -> mongodb::error::Result<()> {
    folders.insert_one(folder).await.map(drop)
}

pub async fn count_of(
    folders: &Collection<FolderDoc>,
    user_id: ObjectId,
) -> mongodb::error::Result<u64> {
    folders.count_documents(doc! { "user_id": user_id }).await
}

/// The user's folders in their order.
pub async fn of_user(
    folders: &Collection<FolderDoc>,
    user_id: ObjectId,
) -> mongodb::error::Result<Vec<FolderDoc>> {
    folders
        .find(doc! { "user_id": user_id })
        .sort(doc! { "order": 1, "_id": 1 })
        .await?
        .try_collect()
        .await
}

pub async fn find_owned(
    folders: &Collection<FolderDoc>,
    user_id: ObjectId,
    id: ObjectId,
) -> mongodb::error::Result<Option<FolderDoc>> {
    folders
        .find_one(doc! { "_id": id, "user_id": user_id })
        .await
}

/// Applies the change to the user's folder; the folder after it, if found.
pub async fn update(
    folders: &Collection<FolderDoc>,
    user_id: ObjectId,
    id: ObjectId,
    change: &FolderUpdate,
) -> mongodb::error::Result<Option<FolderDoc>> {
    let mut set = Document::new();
    if let Some(name) = &change.name {
        set.insert("name", name);
        set.insert("name_lower", name.to_lowercase());
    }
    if let Some(order) = change.order {
        set.insert("order", order);
    }
    if set.is_empty() {
        return find_owned(folders, user_id, id).await;
    }
    folders
        .find_one_and_update(doc! { "_id": id, "user_id": user_id }, doc! { "$set": set })
        .return_document(ReturnDocument::After)
        .await
}

/// Deletes the user's folder; false when they have no such folder.
pub async fn delete(
    folders: &Collection<FolderDoc>,
    user_id: ObjectId,
    id: ObjectId,
) -> mongodb::error::Result<bool> {
    let deleted = folders
        .delete_one(doc! { "_id": id, "user_id": user_id })
        .await?;
    Ok(deleted.deleted_count == 1)
}
