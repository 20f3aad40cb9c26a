//! `GET /api/feedback/export`: the caller's voted answers as NDJSON, one record per line, each
//! with the conversation that led to the answer — ready for preference tuning or evaluation.

use std::collections::{HashMap, HashSet};

use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use mongodb::bson::oid::ObjectId;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::CurrentUser,
    domain::{Role, prompt::prompt},
    error::{ApiError, ApiResult, ErrorBody},
    state::AppState,
    store::{
        MessageDoc, messages,
        votes::{self, VoteDoc},
    },
    views::FeedbackRecord,
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(export_feedback))
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
    let loaded = messages::for_chats_of(&state.store.messages, &chat_ids, user.user_id).await?;
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
    let branch = crate::store::messages::branch_to(by_id, answer.parent_id);
    let prompt = prompt(
        parameters.system_prompt(),
        branch.iter().map(|m| (m.role, m.content.as_str())),
        None,
    );
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
