//! `PUT /api/chats/{id}/messages/{message_id}/vote`: the caller's thumbs up or down on an
//! answer, with an optional reason. One vote per user per answer; `null` withdraws it.

use axum::{Json, extract::State};
use mongodb::bson::oid::ObjectId;
use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use validator::Validate;

use super::chats::owned_chat;
use crate::views::VoteView;
use crate::{
    auth::CurrentUser,
    error::{ApiError, ApiResult, ErrorBody},
    events::LiveEvent,
    http::{Path, ValidatedJson},
    state::AppState,
    store::{
        messages::{self, Role},
        votes::{self, Vote},
    },
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(set_vote))
}

const MAX_REASON: u64 = 500;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"vote": "up", "reason": "Accurate and well organised."}))]
pub struct SetVote {
    /// `up`, `down`, or `null` to withdraw the vote. Required.
    #[serde(deserialize_with = "required")]
    #[schema(required = true)]
    vote: Option<Vote>,
    /// Why (at most 500 characters); ignored when the vote is withdrawn. Blank means none.
    #[validate(length(max = MAX_REASON, message = "must be at most 500 characters long"))]
    #[schema(max_length = 500)]
    reason: Option<String>,
}

/// Makes an `Option` field required: it must be present, though it may be `null`.
fn required<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Vote>, D::Error> {
    Option::<Vote>::deserialize(deserializer)
}

/// Votes on an answer (user messages cannot be voted on), replacing the caller's previous vote.
#[utoipa::path(put, path = "/api/chats/{id}/messages/{message_id}/vote", tag = "votes",
    security(("bearer" = [])),
    params(("id" = String, Path), ("message_id" = String, Path)), request_body = SetVote,
    responses(
        (status = 200, body = VoteView),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn set_vote(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, message)): Path<(String, String)>,
    ValidatedJson(body): ValidatedJson<SetVote>,
) -> ApiResult<Json<VoteView>> {
    let chat = owned_chat(&state, &user, &id).await?;
    let message_id = ObjectId::parse_str(&message).map_err(|_| ApiError::NotFound("message"))?;
    let message = messages::find_in_chat(&state.store.messages, chat.id, message_id)
        .await?
        .ok_or(ApiError::NotFound("message"))?;
    if message.role != Role::Assistant {
        return Err(ApiError::field(
            "message_id",
            "only answers can be voted on",
        ));
    }
    let reason = match body.vote {
        Some(vote) => {
            let reason = body
                .reason
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty());
            votes::set(
                &state.store.votes,
                user.user_id,
                chat.id,
                message.id,
                vote,
                reason.as_deref(),
            )
            .await?;
            reason
        }
        None => {
            votes::clear(&state.store.votes, user.user_id, message.id).await?;
            None
        }
    };
    let view = VoteView {
        message_id: message.id.to_hex(),
        vote: body.vote,
        reason,
    };
    state.events.publish(
        user.user_id,
        LiveEvent::message_voted(chat.id, view.clone()),
    );
    Ok(Json(view))
}
