//! What clients see of a user.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    domain::{AccountRole, AccountStatus},
    store::UserDoc,
};

/// What clients see of a user. Built from `UserDoc` field by field: the password hash has no
/// way in.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub email: String,
    pub created_at: DateTime<Utc>,
    pub role: AccountRole,
    pub status: AccountStatus,
}

impl From<&UserDoc> for UserView {
    fn from(user: &UserDoc) -> Self {
        Self {
            id: user.id.to_hex(),
            username: user.username.clone(),
            email: user.email.clone(),
            created_at: user.created_at.to_chrono(),
            role: user.role,
            status: user.status,
        }
    }
}
