//! `GET /api/feedback/export`: the caller's voted answers as NDJSON, one record per line, each
//! with the conversation that led to the answer — ready for preference tuning or evaluation.

use std::collections::{HashMap, HashSet};

use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use futures::TryStreamExt as _;
use mongodb::bson::{doc, oid::ObjectId};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::CurrentUser,
    domain::SamplingParams,
    error::{ApiError, ApiResult, ErrorBody},
    state::AppState,
    store::{
        MessageDoc,
        messages::Role,
        votes::{self, Vote, VoteDoc},
    },
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(export_feedback))
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PromptRole {
    System,
    User,
    Assistant,
}

/// One message of the conversation that led to an answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct PromptTurn {
    pub role: PromptRole,
    pub content: String,
}

/// One line of the export: a voted answer and what it answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedbackRecord {
    pub chat_id: String,
    pub message_id: String,
    /// The conversation up to the answer, as the model saw it: the system prompt first (when the
    /// answer had one), then the branch from the root to the answer's parent (blank messages
    /// left out, as they were upstream).
    pub prompt: Vec<PromptTurn>,
    /// The answer's text.
    pub answer: String,
    /// The parameters the answer was generated with.
    pub parameters: SamplingParams,
    pub model: Option<String>,
    pub vote: Vote,
    pub reason: Option<String>,
    /// When the current vote was cast.
    pub voted_at: DateTime<Utc>,
}

/// The caller's voted answers, oldest vote first, as newline-delimited JSON
/// (`application/x-ndjson`): one `FeedbackRecord` per line.
#[utoipa::path(get, path = "/api/feedback/export", tag = "feedback", security(("bearer" = [])),
    responses(
        (status = 200, description = "One `FeedbackRecord` JSON object per line",
            content_type = "application/x-ndjson", body = FeedbackRecord),
        (status = 401, body = ErrorBody),
    ))]
async fn export_feedback(State(state): State<AppState>, user: CurrentUser) -> ApiResult<Response> {
    let voted = votes::for_user(&state.store.votes, user.user_id).await?;
    let chat_ids: Vec<ObjectId> = voted
        .iter()
        .map(|v| v.chat_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    // Every involved chat's messages in one query; scoped to the caller as well, so another
    // user's text can never end up in the export.
    let loaded: Vec<MessageDoc> = if chat_ids.is_empty() {
        Vec::new()
    } else {
        state
            .store
            .messages
            .find(doc! { "chat_id": { "$in": chat_ids }, "user_id": user.user_id })
            .await?
            .try_collect()
            .await?
    };
    let by_id: HashMap<ObjectId, &MessageDoc> = loaded.iter().map(|m| (m.id, m)).collect();

    let mut body = String::new();
    for vote in &voted {
        let Some(record) = record(vote, &by_id) else {
            continue; // the answer is gone
        };
        body.push_str(&serde_json::to_string(&record).map_err(ApiError::internal)?);
        body.push('\n');
    }
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response())
}

fn record(vote: &VoteDoc, by_id: &HashMap<ObjectId, &MessageDoc>) -> Option<FeedbackRecord> {
    let answer = by_id
        .get(&vote.message_id)
        .filter(|m| m.chat_id == vote.chat_id && m.role == Role::Assistant)?;
    let parameters = answer.parameters.clone().unwrap_or_default();
    let system = parameters
        .system_prompt
        .as_deref()
        .filter(|prompt| !prompt.trim().is_empty())
        .map(|prompt| PromptTurn {
            role: PromptRole::System,
            content: prompt.to_owned(),
        });
    let prompt = system
        .into_iter()
        .chain(
            crate::store::messages::branch_to(by_id, answer.parent_id)
                .into_iter()
                .map(|m| PromptTurn {
                    role: match m.role {
                        Role::User => PromptRole::User,
                        Role::Assistant => PromptRole::Assistant,
                    },
                    content: m.content.clone(),
                }),
        )
        .collect();
    Some(FeedbackRecord {
        chat_id: vote.chat_id.to_hex(),
        message_id: vote.message_id.to_hex(),
        prompt,
        answer: answer.content.clone(),
        parameters,
        model: answer.model.clone(),
        vote: vote.vote,
        reason: vote.reason.clone(),
        voted_at: vote.updated_at.to_chrono(),
    })
}
