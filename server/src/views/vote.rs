//! What clients see of a vote.

use serde::Serialize;
use utoipa::ToSchema;

use crate::store::votes::Vote;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VoteView {
    pub message_id: String,
    /// The caller's vote now (`null`: none).
    pub vote: Option<Vote>,
    pub reason: Option<String>,
}
