//! The `presets` collection: named sets of sampling parameters. A private preset belongs to
//! its user (`user_id`); a shared one (`user_id: null`) was made by an admin and every user
//! sees it. Names are unique per owner, and among shared presets (a unique index).

use futures::TryStreamExt as _;
use mongodb::{
    Collection,
    bson::{DateTime, Document, doc, oid::ObjectId},
    options::ReturnDocument,
};
use serde::{Deserialize, Serialize};

use crate::domain::SamplingParams;

/// The unique index on (owner, lower-case name).
pub const NAME_INDEX: &str = "presets_name_unique";
/// The most private presets an account may keep (and shared presets a deployment may have).
pub const MAX_PER_OWNER: u64 = 100;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PresetDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    /// The owner; `None`: shared with every user.
    pub user_id: Option<ObjectId>,
    pub name: String,
    /// `name` in lower case, for the unique index.
    pub name_lower: String,
    #[serde(with = "super::stored_params")]
    pub parameters: SamplingParams,
    /// Who made it (for a shared preset, the admin).
    pub created_by: ObjectId,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

impl PresetDoc {
    pub fn new(
        created_by: ObjectId,
        shared: bool,
        name: String,
        parameters: SamplingParams,
    ) -> Self {
        let now = DateTime::now();
        Self {
            id: ObjectId::new(),
            user_id: (!shared).then_some(created_by),
            name_lower: name.to_lowercase(),
            name,
            parameters,
            created_by,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn is_shared(&self) -> bool {
        self.user_id.is_none()
    }
}

/// The presets `user_id` sees: theirs, and the shared ones.
fn visible_to(user_id: ObjectId) -> Document {
    doc! { "$or": [{ "user_id": user_id }, { "user_id": null }] }
}

pub async fn insert(
    presets: &Collection<PresetDoc>,
    preset: &PresetDoc,
) -> mongodb::error::Result<()> {
    presets.insert_one(preset).await.map(drop)
}

/// How many presets the owner has (`None`: the shared ones).
pub async fn count_of(
    presets: &Collection<PresetDoc>,
    owner: Option<ObjectId>,
) -> mongodb::error::Result<u64> {
    presets.count_documents(doc! { "user_id": owner }).await
}

/// The presets `user_id` sees, shared first, then by name.
pub async fn list_visible(
    presets: &Collection<PresetDoc>,
    user_id: ObjectId,
) -> mongodb::error::Result<Vec<PresetDoc>> {
    let mut found: Vec<PresetDoc> = presets
        .find(visible_to(user_id))
        .limit(2 * MAX_PER_OWNER as i64)
        .await?
        .try_collect()
        .await?;
    found.sort_by(|a, b| (!a.is_shared(), &a.name_lower).cmp(&(!b.is_shared(), &b.name_lower)));
    Ok(found)
}

/// One preset `user_id` sees.
pub async fn find_visible(
    presets: &Collection<PresetDoc>,
    user_id: ObjectId,
    id: ObjectId,
) -> mongodb::error::Result<Option<PresetDoc>> {
    let mut filter = visible_to(user_id);
    filter.insert("_id", id);
    presets.find_one(filter).await
}

/// A change to a preset; what is `None` stays as it is.
#[derive(Debug, Clone, Default)]
pub struct PresetUpdate {
    pub name: Option<String>,
    pub parameters: Option<SamplingParams>,
    /// `Some(owner)`: make it private to `owner`; `Some(None)`: share it.
    pub owner: Option<Option<ObjectId>>,
}

/// Applies `change` to the preset as it was read (`owner` as it was: a concurrent change of
/// its sharing makes this one find nothing); the preset after it.
pub async fn update(
    presets: &Collection<PresetDoc>,
    id: ObjectId,
    owner: Option<ObjectId>,
    change: &PresetUpdate,
) -> mongodb::error::Result<Option<PresetDoc>> {
    let mut set = doc! { "updated_at": DateTime::now() };
    if let Some(name) = &change.name {
        set.insert("name", name);
        set.insert("name_lower", name.to_lowercase());
    }
    if let Some(parameters) = &change.parameters {
        set.insert(
            "parameters",
            mongodb::bson::to_bson(&super::stored_params::Stored(parameters))?,
        );
    }
    if let Some(new_owner) = change.owner {
        set.insert("user_id", new_owner);
    }
    presets
        .find_one_and_update(doc! { "_id": id, "user_id": owner }, doc! { "$set": set })
        .return_document(ReturnDocument::After)
        .await
}

/// Deletes the preset if it still has this owner; whether it did.
pub async fn delete(
    presets: &Collection<PresetDoc>,
    id: ObjectId,
    owner: Option<ObjectId>,
) -> mongodb::error::Result<bool> {
    Ok(presets
        .delete_one(doc! { "_id": id, "user_id": owner })
        .await?
        .deleted_count
        == 1)
}
