//! The `api_keys` collection: personal API keys for the OpenAI-compatible `/v1` routes. A key
//! is `cfk_` + 256 random bits (base64url); only its SHA-256 is stored (a unique index finds
//! it). Revoking deletes the document, so the next request with the key — on any process —
//! finds nothing; an expired key is refused by its `expires_at` and removed by a TTL index.

use std::time::Duration;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use futures::TryStreamExt as _;
use mongodb::{
    Collection,
    bson::{DateTime, doc, oid::ObjectId},
    options::FindOptions,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What every key starts with, so a leaked one is recognisable (and secret scanners can find it).
pub const PREFIX: &str = "cfk_";
/// The unique index on the key's hash.
pub const HASH_INDEX: &str = "api_keys_hash_unique";
/// The most keys an account may hold.
pub const MAX_PER_USER: u64 = 25;
/// How many leading characters of a key are kept to tell keys apart (`cfk_` + 8).
const SHOWN: usize = 12;
/// `last_used_at` is written at most this often per key.
const USE_GRANULARITY: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub user_id: ObjectId,
    pub name: String,
    /// The key's first characters (`cfk_` and 8 more): enough to recognise, useless to use.
    pub prefix: String,
    /// SHA-256 of the whole key, hex.
    pub hash: String,
    pub created_at: DateTime,
    /// `None`: never expires.
    pub expires_at: Option<DateTime>,
    pub last_used_at: Option<DateTime>,
}

/// A new key: the value (shown once) and the document that stands for it.
pub struct NewKey {
    pub key: String,
    pub doc: ApiKeyDoc,
}

/// SHA-256 of a key, hex (keys carry 256 random bits: no slow hash is needed).
pub fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Whether `value` has the shape of a Confab key (`cfk_` and 43 base64url characters).
pub fn looks_like_key(value: &str) -> bool {
    value.strip_prefix(PREFIX).is_some_and(|rest| {
        rest.len() == 43
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

impl NewKey {
    pub fn generate(user_id: ObjectId, name: String, lifetime: Option<Duration>) -> Self {
        let bytes: [u8; 32] = rand::random();
        let key = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
        let now = DateTime::now();
        let expires_at = lifetime.map(|lifetime| {
            DateTime::from_millis(
                now.timestamp_millis()
                    .saturating_add(i64::try_from(lifetime.as_millis()).unwrap_or(i64::MAX)),
            )
        });
        let doc = ApiKeyDoc {
            id: ObjectId::new(),
            user_id,
            name,
            prefix: key.chars().take(SHOWN).collect(),
            hash: hash(&key),
            created_at: now,
            expires_at,
            last_used_at: None,
        };
        Self { key, doc }
    }
}

impl ApiKeyDoc {
    pub fn expired(&self, now: DateTime) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

pub async fn insert(keys: &Collection<ApiKeyDoc>, key: &ApiKeyDoc) -> mongodb::error::Result<()> {
    keys.insert_one(key).await.map(drop)
}

pub async fn count_of(
    keys: &Collection<ApiKeyDoc>,
    user_id: ObjectId,
) -> mongodb::error::Result<u64> {
    keys.count_documents(doc! { "user_id": user_id }).await
}

/// A user's keys, newest first.
pub async fn of_user(
    keys: &Collection<ApiKeyDoc>,
    user_id: ObjectId,
) -> mongodb::error::Result<Vec<ApiKeyDoc>> {
    keys.find(doc! { "user_id": user_id })
        .with_options(FindOptions::builder().sort(doc! { "_id": -1 }).build())
        .await?
        .try_collect()
        .await
}

/// The live key with this value: unknown, revoked and expired keys are `None`.
pub async fn find_live(
    keys: &Collection<ApiKeyDoc>,
    key: &str,
) -> mongodb::error::Result<Option<ApiKeyDoc>> {
    let found = keys.find_one(doc! { "hash": hash(key) }).await?;
    Ok(found.filter(|k| !k.expired(DateTime::now())))
}

/// Records a use, at most once a minute per key (one conditional update; not awaited by the
/// request that used it).
pub async fn touch(keys: &Collection<ApiKeyDoc>, id: ObjectId) -> mongodb::error::Result<()> {
    let now = DateTime::now();
    let stale = DateTime::from_millis(
        now.timestamp_millis() - i64::try_from(USE_GRANULARITY.as_millis()).unwrap_or(60_000),
    );
    keys.update_one(
        doc! { "_id": id, "$or": [{ "last_used_at": null }, { "last_used_at": { "$lt": stale } }] },
        doc! { "$set": { "last_used_at": now } },
    )
    .await
    .map(drop)
}

/// Revokes the user's key; false when they have no such key.
pub async fn revoke(
    keys: &Collection<ApiKeyDoc>,
    user_id: ObjectId,
    id: ObjectId,
) -> mongodb::error::Result<bool> {
    let deleted = keys
        .delete_one(doc! { "_id": id, "user_id": user_id })
        .await?;
    Ok(deleted.deleted_count == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_256_bit_and_stored_by_hash_only() {
        let user = ObjectId::new();
        let a = NewKey::generate(user, "a".into(), None);
        let b = NewKey::generate(user, "b".into(), Some(Duration::from_secs(86_400)));
        assert!(a.key.starts_with(PREFIX));
        assert!(looks_like_key(&a.key), "{}", a.key);
        let random = URL_SAFE_NO_PAD
            .decode(&a.key[PREFIX.len()..])
            .expect("base64url");
        assert_eq!(random.len(), 32);
        assert_ne!(a.key, b.key);
        assert_eq!(a.doc.hash, hash(&a.key));
        assert!(!a.doc.hash.contains(&a.key[PREFIX.len()..]));
        assert_eq!(a.doc.prefix, a.key[..12]);
        assert_eq!(a.doc.expires_at, None);
        let lifetime = b.doc.expires_at.expect("expires").timestamp_millis()
            - b.doc.created_at.timestamp_millis();
        assert_eq!(lifetime, 86_400_000);
        assert!(!b.doc.expired(DateTime::now()));
        assert!(b.doc.expired(DateTime::from_millis(
            b.doc.created_at.timestamp_millis() + 86_400_001
        )));
    }

    #[test]
    fn only_the_exact_shape_looks_like_a_key() {
        let key = NewKey::generate(ObjectId::new(), "k".into(), None).key;
        assert!(looks_like_key(&key));
        assert!(!looks_like_key(&key[..key.len() - 1]));
        assert!(!looks_like_key(&key.replacen("cfk_", "sk-_", 1)));
        assert!(!looks_like_key(&format!("{key}=")));
        assert!(!looks_like_key("cfk_"));
    }
}
