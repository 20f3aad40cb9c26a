//! The `users` collection.

use mongodb::{
    Collection,
    bson::{DateTime, doc, oid::ObjectId},
};
use serde::{Deserialize, Serialize};

use crate::domain::{Email, Username};

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
        }
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
    users.find_one(filter).await
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
    users.find_one(doc! { "_id": id }).await
}
