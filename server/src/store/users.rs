//! The `users` collection.

use mongodb::{
    Collection,
    bson::{DateTime, Document, doc, oid::ObjectId},
};
use serde::{Deserialize, Serialize};

use crate::domain::{AccountRole, AccountStatus, Email, Limits, Username};

pub const EMAIL_INDEX: &str = "users_email_unique";
pub const USERNAME_INDEX: &str = "users_username_unique";

/// A stored user. Never serialised to a client: see `routes::users::UserView`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub username: String,
    pub username_lower: String,
    pub email: String,
    pub email_lower: String,
    /// PHC string (argon2id).
    pub password_hash: String,
    pub created_at: DateTime,
    #[serde(default)]
    pub role: AccountRole,
    #[serde(default)]
    pub status: AccountStatus,
    /// The limits set for this account alone (`None`: the deployment's default).
    #[serde(default)]
    pub limits: Limits,
    /// The last sign-in or token refresh.
    #[serde(default)]
    pub last_active_at: Option<DateTime>,
    /// A one-time password reset code (`confab user reset-password`), by hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset: Option<ResetCode>,
    /// Set when the account's deletion began: it is gone for every purpose, and the deletion
    /// of what it owns is finished by whichever process finds it (see `accounts`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleting_at: Option<DateTime>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResetCode {
    /// SHA-256 of the code, hex.
    pub hash: String,
    pub expires_at: DateTime,
}

impl UserDoc {
    pub fn new(username: &Username, email: &Email, password_hash: String) -> Self {
        Self {
            id: ObjectId::new(),
            username: username.as_str().to_owned(),
            username_lower: username.normalized(),
            email: email.as_str().to_owned(),
            email_lower: email.normalized(),
            password_hash,
            created_at: DateTime::now(),
            role: AccountRole::User,
            status: AccountStatus::Active,
            limits: Limits::default(),
            last_active_at: None,
            reset: None,
            deleting_at: None,
        }
    }

    /// Whether the account may use the API (signed in, tokens honoured).
    pub fn is_usable(&self) -> bool {
        self.status == AccountStatus::Active && self.deleting_at.is_none()
    }
}

/// Which unique field a duplicate-key error on `users` is about.
pub enum Taken {
    Email,
    Username,
}

pub async fn insert(users: &Collection<UserDoc>, user: &UserDoc) -> Result<(), InsertError> {
    match users.insert_one(user).await {
        Ok(_) => Ok(()),
        Err(err) => match super::duplicate_key_index(&err) {
            // The message names the index first ("... index: users_email_unique dup key: ..."),
            // so look for the index names, not for user-supplied values.
            Some(message) => match (message.find(EMAIL_INDEX), message.find(USERNAME_INDEX)) {
                (Some(e), Some(u)) if u < e => Err(InsertError::Taken(Taken::Username)),
                (Some(_), _) => Err(InsertError::Taken(Taken::Email)),
                (None, Some(_)) => Err(InsertError::Taken(Taken::Username)),
                (None, None) => Err(InsertError::Db(err)),
            },
            None => Err(InsertError::Db(err)),
        },
    }
}

pub enum InsertError {
    Taken(Taken),
    Db(mongodb::error::Error),
}

/// Finds a user by e-mail address or username, case-insensitively.
pub async fn find_by_login(
    users: &Collection<UserDoc>,
    login: &str,
) -> mongodb::error::Result<Option<UserDoc>> {
    let filter = if login.contains('@') {
        // The same normalisation as at sign-up (an IDNA domain), else the text as typed.
        let email = Email::parse(login)
            .map(|email| email.normalized())
            .unwrap_or_else(|_| login.trim().to_lowercase());
        doc! { "email_lower": email }
    } else {
        doc! { "username_lower": login.trim().to_ascii_lowercase() }
    };
    users.find_one(with_live(filter)).await
}

/// Adds "not being deleted" to a filter: an account whose deletion began is gone.
fn with_live(mut filter: Document) -> Document {
    filter.insert("deleting_at", doc! { "$exists": false });
    filter
}

/// Which of the e-mail address and username is already someone's (checked before the
/// expensive password hash; the unique indexes still decide races).
pub async fn taken(
    users: &Collection<UserDoc>,
    email: &Email,
    username: &Username,
) -> mongodb::error::Result<Option<Taken>> {
    let (email, username) = (email.normalized(), username.normalized());
    let found = users
        .clone_with_type::<mongodb::bson::Document>()
        .find_one(doc! { "$or": [ { "email_lower": &email }, { "username_lower": &username } ] })
        .projection(doc! { "email_lower": 1 })
        .await?;
    Ok(found.map(|doc| {
        if doc.get_str("email_lower") == Ok(email.as_str()) {
            Taken::Email
        } else {
            Taken::Username
        }
    }))
}

pub async fn find_by_id(
    users: &Collection<UserDoc>,
    id: ObjectId,
) -> mongodb::error::Result<Option<UserDoc>> {
    users.find_one(with_live(doc! { "_id": id })).await
}

/// What each request needs to know of its account: read per request (through a cache of a
/// second), so a change by an admin or the command line holds at once on every process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Standing {
    #[serde(default)]
    pub role: AccountRole,
    #[serde(default)]
    pub status: AccountStatus,
    #[serde(default)]
    pub limits: Limits,
    /// The account has made personal API keys: its `/v1` calls must be counted with its
    /// answers against the fair-use limits (for everyone else there are none to count).
    #[serde(default)]
    pub api_keys: bool,
}

/// The standings of these accounts (those that exist and are not being deleted), in one read.
pub async fn standings(
    users: &Collection<UserDoc>,
    ids: &[ObjectId],
) -> mongodb::error::Result<std::collections::HashMap<ObjectId, Standing>> {
    use futures::TryStreamExt as _;
    #[derive(Deserialize)]
    struct WithId {
        #[serde(rename = "_id")]
        id: ObjectId,
        #[serde(flatten)]
        standing: Standing,
    }
    let found: Vec<WithId> = users
        .clone_with_type::<WithId>()
        .find(with_live(doc! { "_id": { "$in": ids } }))
        .projection(doc! { "role": 1, "status": 1, "limits": 1, "api_keys": 1 })
        .await?
        .try_collect()
        .await?;
    Ok(found.into_iter().map(|w| (w.id, w.standing)).collect())
}

/// Marks the account as one with API keys (once: later calls change nothing, so standing
/// caches are cleared once).
pub async fn note_api_keys(
    users: &Collection<UserDoc>,
    id: ObjectId,
) -> mongodb::error::Result<()> {
    users
        .update_one(
            doc! { "_id": id, "api_keys": { "$ne": true } },
            doc! { "$set": { "api_keys": true } },
        )
        .await
        .map(drop)
}

/// Records activity (a sign-in or a refresh).
pub async fn touch(users: &Collection<UserDoc>, id: ObjectId) -> mongodb::error::Result<()> {
    users
        .update_one(
            doc! { "_id": id },
            doc! { "$set": { "last_active_at": DateTime::now() } },
        )
        .await
        .map(drop)
}

/// What an admin (or the command line) changes on an account.
#[derive(Debug, Default, Clone)]
pub struct AccountChange {
    pub role: Option<AccountRole>,
    pub status: Option<AccountStatus>,
    /// Each limit given: `Some(None)` back to the default, `Some(Some(n))` set.
    pub limits: [Option<Option<u64>>; 4],
}

/// The `limits` fields, in the order of `AccountChange::limits`.
pub const LIMIT_FIELDS: [&str; 4] = [
    "messages_per_minute",
    "concurrent_generations",
    "daily_tokens",
    "monthly_tokens",
];

#[derive(Debug)]
pub enum ChangeError {
    NotFound,
    /// The change would leave no active admin.
    LastAdmin,
    Db(mongodb::error::Error),
}

impl From<mongodb::error::Error> for ChangeError {
    fn from(err: mongodb::error::Error) -> Self {
        Self::Db(err)
    }
}

fn role_name(role: AccountRole) -> &'static str {
    match role {
        AccountRole::Admin => "admin",
        AccountRole::User => "user",
    }
}

fn status_name(status: AccountStatus) -> &'static str {
    match status {
        AccountStatus::Active => "active",
        AccountStatus::Pending => "pending",
        AccountStatus::Disabled => "disabled",
    }
}

/// The filter of accounts that administer: admins that are active and not being deleted.
fn active_admins() -> Document {
    with_live(doc! { "role": "admin", "status": "active" })
}

pub async fn count_active_admins(users: &Collection<UserDoc>) -> mongodb::error::Result<u64> {
    users.count_documents(active_admins()).await
}

/// Applies `change` and returns the account as it is after it. A change that would leave no
/// active admin is undone (409 for the caller): the update goes first and the admins are
/// counted after it, so of two admins demoting each other at once at least one stays.
pub async fn change(
    users: &Collection<UserDoc>,
    id: ObjectId,
    change: &AccountChange,
) -> Result<UserDoc, ChangeError> {
    let mut set = Document::new();
    let mut unset = Document::new();
    if let Some(role) = change.role {
        set.insert("role", role_name(role));
    }
    if let Some(status) = change.status {
        set.insert("status", status_name(status));
    }
    for (field, value) in LIMIT_FIELDS.iter().zip(change.limits) {
        match value {
            Some(Some(n)) => {
                set.insert(
                    format!("limits.{field}"),
                    i64::try_from(n).unwrap_or(i64::MAX),
                );
            }
            Some(None) => {
                unset.insert(format!("limits.{field}"), "");
            }
            None => {}
        }
    }
    let mut update = Document::new();
    if !set.is_empty() {
        update.insert("$set", set);
    }
    if !unset.is_empty() {
        update.insert("$unset", unset);
    }
    if update.is_empty() {
        return find_by_id(users, id).await?.ok_or(ChangeError::NotFound);
    }
    let before = users
        .find_one_and_update(with_live(doc! { "_id": id }), update)
        .await?
        .ok_or(ChangeError::NotFound)?;
    let was_admin = before.role == AccountRole::Admin && before.status == AccountStatus::Active;
    let stays_admin = change.role.unwrap_or(before.role) == AccountRole::Admin
        && change.status.unwrap_or(before.status) == AccountStatus::Active;
    if was_admin && !stays_admin && count_active_admins(users).await? == 0 {
        users
            .update_one(
                doc! { "_id": id },
                doc! { "$set": { "role": role_name(before.role), "status": status_name(before.status) } },
            )
            .await?;
        return Err(ChangeError::LastAdmin);
    }
    find_by_id(users, id).await?.ok_or(ChangeError::NotFound)
}

/// One page of accounts, oldest first, whose username or e-mail address contains `query`
/// (case-insensitive), after the account `after`.
pub async fn search(
    users: &Collection<UserDoc>,
    query: Option<&str>,
    after: Option<ObjectId>,
    limit: i64,
) -> mongodb::error::Result<Vec<UserDoc>> {
    use futures::TryStreamExt as _;
    let mut filter = with_live(Document::new());
    if let Some(query) = query.map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = regex_escape(&query.to_lowercase());
        filter.insert(
            "$or",
            vec![
                doc! { "username_lower": { "$regex": &pattern } },
                doc! { "email_lower": { "$regex": &pattern } },
            ],
        );
    }
    if let Some(after) = after {
        filter.insert("_id", doc! { "$gt": after });
    }
    users
        .find(filter)
        .sort(doc! { "_id": 1 })
        .limit(limit)
        .await?
        .try_collect()
        .await
}

/// `text` as a regular expression that matches it literally.
fn regex_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\^$.|?*+()[]{}/-".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// Sets a reset code (by hash) valid until `expires_at`, replacing any earlier one.
pub async fn set_reset_code(
    users: &Collection<UserDoc>,
    id: ObjectId,
    hash: String,
    expires_at: DateTime,
) -> mongodb::error::Result<bool> {
    let result = users
        .update_one(
            with_live(doc! { "_id": id }),
            doc! { "$set": { "reset": { "hash": hash, "expires_at": expires_at } } },
        )
        .await?;
    Ok(result.matched_count == 1)
}

/// Uses the reset code `hash` of the account `id`: sets the new password and forgets the code,
/// exactly once. False if the code is wrong, used or expired.
pub async fn use_reset_code(
    users: &Collection<UserDoc>,
    id: ObjectId,
    hash: &str,
    password_hash: String,
) -> mongodb::error::Result<bool> {
    let result = users
        .update_one(
            with_live(doc! {
                "_id": id,
                "reset.hash": hash,
                "reset.expires_at": { "$gt": DateTime::now() },
            }),
            doc! { "$set": { "password_hash": password_hash }, "$unset": { "reset": "" } },
        )
        .await?;
    Ok(result.modified_count == 1)
}

/// Replaces the password hash, if the account still has `previous` (a concurrent change wins
/// once).
pub async fn set_password(
    users: &Collection<UserDoc>,
    id: ObjectId,
    previous: &str,
    password_hash: String,
) -> mongodb::error::Result<bool> {
    let result = users
        .update_one(
            with_live(doc! { "_id": id, "password_hash": previous }),
            doc! { "$set": { "password_hash": password_hash }, "$unset": { "reset": "" } },
        )
        .await?;
    Ok(result.modified_count == 1)
}

/// The one-off claim that makes the first account of an empty deployment its admin: a
/// document with a fixed `_id` in `claims`, which only one insert can create. Tried only while
/// no account exists.
pub async fn claim_first_admin(
    users: &Collection<UserDoc>,
    claims: &Collection<Document>,
    user_id: ObjectId,
) -> mongodb::error::Result<bool> {
    if users.estimated_document_count().await? > 0 {
        return Ok(false);
    }
    match claims
        .insert_one(doc! { "_id": "first_admin", "user_id": user_id, "at": DateTime::now() })
        .await
    {
        Ok(_) => Ok(true),
        Err(err) if super::duplicate_key_index(&err).is_some() => Ok(false),
        Err(err) => Err(err),
    }
}

/// Begins deleting an account: from now on it is gone (sign-in, tokens, its name and address
/// still reserved until the deletion ends). False if it was gone already.
pub async fn mark_deleting(
    users: &Collection<UserDoc>,
    id: ObjectId,
) -> mongodb::error::Result<bool> {
    let result = users
        .update_one(
            with_live(doc! { "_id": id }),
            doc! { "$set": { "deleting_at": DateTime::now() } },
        )
        .await?;
    Ok(result.modified_count == 1)
}

/// Accounts whose deletion began before `before` and has not ended (a process died midway).
pub async fn unfinished_deletions(
    users: &Collection<UserDoc>,
    before: DateTime,
) -> mongodb::error::Result<Vec<ObjectId>> {
    use futures::TryStreamExt as _;
    let found: Vec<Document> = users
        .clone_with_type::<Document>()
        .find(doc! { "deleting_at": { "$lt": before } })
        .projection(doc! { "_id": 1 })
        .limit(100)
        .await?
        .try_collect()
        .await?;
    Ok(found
        .iter()
        .filter_map(|d| d.get_object_id("_id").ok())
        .collect())
}

/// The usernames of these accounts.
pub async fn names(
    users: &Collection<UserDoc>,
    ids: &[ObjectId],
) -> mongodb::error::Result<std::collections::HashMap<ObjectId, String>> {
    use futures::TryStreamExt as _;
    let found: Vec<Document> = users
        .clone_with_type::<Document>()
        .find(doc! { "_id": { "$in": ids } })
        .projection(doc! { "username": 1 })
        .await?
        .try_collect()
        .await?;
    Ok(found
        .iter()
        .filter_map(|d| {
            Some((
                d.get_object_id("_id").ok()?,
                d.get_str("username").ok()?.to_owned(),
            ))
        })
        .collect())
}

/// Which changes of `users` change an account's standing: any but the activity recorded at
/// each sign-in and refresh (`touch` sets `last_active_at`, and alone), which would clear the
/// account's cache on every process.
pub(super) fn change_filter() -> Document {
    doc! { "$or": [
        { "operationType": { "$in": ["replace", "delete"] } },
        {
            "operationType": "update",
            "updateDescription.updatedFields.last_active_at": { "$exists": false },
        },
    ] }
}
