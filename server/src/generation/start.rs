//! Starting a generation: validate, place the new messages in the tree, build the history,
//! save, and hand the upstream call to a task of its own.

use std::{collections::HashMap, sync::Arc};

use mongodb::bson::{doc, oid::ObjectId};

use super::{Generation, registry::Refused, runner, title};
use crate::{
    domain::SamplingParams,
    error::{ApiError, ApiResult},
    events::{Event, kinds},
    llm::{ChatTurn, Role as TurnRole},
    routes::views::{ChatView, MessageView},
    state::AppState,
    store::{
        ChatDoc, MessageDoc, chats, duplicate_key_index,
        messages::{self, Role},
    },
};

/// What the client asked for.
#[derive(Debug)]
pub enum Request {
    /// A new user message (under `parent_id`, or at the end of the branch on screen) and its answer.
    New {
        content: String,
        parent_id: Option<ObjectId>,
        parameters: Option<SamplingParams>,
        client_request_id: Option<String>,
    },
    /// A sibling of a user message with new text, and its answer.
    Edit {
        message_id: ObjectId,
        content: String,
        parameters: Option<SamplingParams>,
    },
    /// Another answer: a sibling of an answer, or a new answer to a user message.
    Regenerate {
        message_id: ObjectId,
        parameters: Option<SamplingParams>,
    },
}

/// A generation to stream: running now, or (for a repeated submission) already finished.
pub enum Started {
    Live(Arc<Generation>),
    Finished {
        user_message: Option<Box<MessageDoc>>,
        answer: Box<MessageDoc>,
    },
}

pub async fn start(
    state: &AppState,
    user_id: ObjectId,
    chat_id: &str,
    request: Request,
) -> ApiResult<Started> {
    let chat_id = ObjectId::parse_str(chat_id).map_err(|_| ApiError::NotFound("chat"))?;
    // The chat and its messages in one round trip (both scoped to the caller).
    let (chat, all) = tokio::try_join!(
        chats::find_owned(&state.store.chats, user_id, chat_id),
        messages::for_chat_of(&state.store.messages, chat_id, user_id),
    )?;
    let chat = &chat.ok_or(ApiError::NotFound("chat"))?;
    if state.catalog.is_empty() {
        return Err(ApiError::NoUpstream);
    }
    // Everything the request says is checked first, also when it repeats an earlier
    // submission: a replay answers only a request that would have been accepted.
    if let Request::New { content, .. } | Request::Edit { content, .. } = &request {
        check_content(state, content)?;
    }
    let overrides = match &request {
        Request::New { parameters, .. }
        | Request::Edit { parameters, .. }
        | Request::Regenerate { parameters, .. } => parameters.clone().unwrap_or_default(),
    };
    overrides
        .check("parameters")
        .map_err(ApiError::Validation)?;
    let (model_id, effective) = {
        let (model, effective) = state
            .catalog
            .resolve(&overrides.overlay(&chat.parameters), "parameters")
            .map_err(ApiError::Validation)?;
        (model.id.clone(), effective)
    };
    if let Request::New {
        client_request_id: Some(request_id),
        ..
    } = &request
        && let Some(existing) = find_submission(state, chat.id, request_id).await?
    {
        return Ok(existing);
    }

    let by_id: HashMap<ObjectId, &MessageDoc> = all.iter().map(|m| (m.id, m)).collect();
    let (user_message, answer_parent, request_id) = place(chat, &by_id, request)?;

    let mut turns = match &user_message {
        Some(user) => {
            let mut turns = history_to(&by_id, user.parent_id);
            turns.push(ChatTurn {
                role: TurnRole::User,
                content: user.content.clone(),
            });
            turns
        }
        None => history_to(&by_id, Some(answer_parent)),
    };
    let max_history = state.catalog.max_history().max(1);
    if turns.len() > max_history {
        turns.drain(..turns.len() - max_history);
    }

    let placeholder = MessageDoc::placeholder(
        chat.id,
        chat.user_id,
        answer_parent,
        model_id.clone(),
        effective.clone(),
    );
    let generation = Arc::new(Generation::new(placeholder.clone(), user_message.clone()));
    match state
        .generations
        .insert(Arc::clone(&generation), request_id.clone())
    {
        Ok(()) => {}
        Err(Refused::Existing(existing)) => return Ok(Started::Live(existing)),
        Err(Refused::TooMany) => return Err(ApiError::TooManyGenerations),
        Err(Refused::RateLimited(retry_after)) => {
            return Err(ApiError::TooManyRequests { retry_after });
        }
    }

    // The upstream request starts while the messages are being saved; the runner waits for
    // the save before its own first write.
    tokio::spawn(runner::run(
        state.clone(),
        Arc::clone(&generation),
        model_id,
        effective,
        turns,
    ));
    let mut docs: Vec<MessageDoc> = user_message.iter().cloned().collect();
    docs.push(placeholder.clone());
    if let Err(err) = messages::insert_many(&state.store.messages, &docs).await {
        generation.abandon();
        state.generations.remove(placeholder.id);
        if duplicate_key_index(&err).is_some()
            && let Some(request_id) = &request_id
            && let Some(existing) = find_submission(state, chat.id, request_id).await?
        {
            // A concurrent submission with the same key won the race: follow it.
            return Ok(existing);
        }
        return Err(err.into());
    }
    for message in &docs {
        state.events.publish(
            chat.user_id,
            Event::new(kinds::MESSAGE_CREATED)
                .chat(chat.id)
                .message(message.id)
                .data(MessageView::from(message)),
        );
    }
    state.events.publish(
        chat.user_id,
        Event::new(kinds::GENERATION_STARTED)
            .chat(chat.id)
            .message(placeholder.id)
            .data(MessageView::from(&placeholder)),
    );

    // The branch on screen and the title are not needed for the first token: they are written
    // alongside, and the answer is reported done only once they are.
    let mut set = doc! { "current_message_id": placeholder.id };
    if chat.title.as_deref().is_none_or(str::is_empty)
        && let Some(user) = &user_message
    {
        set.insert("title", title::from_message(&user.content));
    }
    let (state_for_update, chat_id, user_id) = (state.clone(), chat.id, chat.user_id);
    generation.set_chat_update(tokio::spawn(async move {
        match chats::update(&state_for_update.store.chats, user_id, chat_id, set).await {
            Ok(Some(updated)) => state_for_update.events.publish(
                user_id,
                Event::new(kinds::CHAT_UPDATED)
                    .chat(chat_id)
                    .data(ChatView::from(&updated)),
            ),
            Ok(None) => {}
            Err(err) => tracing::warn!(error = %err, "recording the branch on screen failed"),
        }
    }));
    // Only now may the runner publish text, save, or finish: every socket has heard of the
    // answer, and the branch update it waits for before reporting `done` is registered (the
    // runner runs on another thread: an instant model could otherwise finish before it).
    generation.mark_saved();
    Ok(Started::Live(generation))
}

/// For a repeated `client_request_id`: the generation it started, live or finished.
async fn find_submission(
    state: &AppState,
    chat_id: ObjectId,
    request_id: &str,
) -> ApiResult<Option<Started>> {
    if let Some(live) = state.generations.by_request(chat_id, request_id) {
        return Ok(Some(Started::Live(live)));
    }
    let Some(user) =
        messages::find_by_request_id(&state.store.messages, chat_id, request_id).await?
    else {
        return Ok(None);
    };
    let Some(answer) = messages::latest_child(&state.store.messages, user.id).await? else {
        return Ok(None);
    };
    if let Some(live) = state.generations.get(answer.id) {
        return Ok(Some(Started::Live(live)));
    }
    Ok(Some(Started::Finished {
        user_message: Some(Box::new(user)),
        answer: Box::new(answer),
    }))
}

fn check_content(state: &AppState, content: &str) -> ApiResult<()> {
    if content.trim().is_empty() {
        return Err(ApiError::field("content", "must not be empty"));
    }
    let max = state.catalog.max_message_length();
    if content.chars().count() > max {
        return Err(ApiError::field(
            "content",
            format!("must be at most {max} characters long"),
        ));
    }
    Ok(())
}

/// Where the new messages go: (new user message, parent of the answer, idempotency key).
fn place(
    chat: &ChatDoc,
    by_id: &HashMap<ObjectId, &MessageDoc>,
    request: Request,
) -> ApiResult<(Option<MessageDoc>, ObjectId, Option<String>)> {
    match request {
        Request::New {
            content,
            parent_id,
            client_request_id,
            ..
        } => {
            let parent = match parent_id {
                Some(id) if by_id.contains_key(&id) => Some(id),
                Some(_) => {
                    return Err(ApiError::field(
                        "parent_id",
                        "is not a message of this chat",
                    ));
                }
                None => chat.current_message_id.filter(|id| by_id.contains_key(id)),
            };
            let mut user = MessageDoc::user(
                chat.id,
                chat.user_id,
                parent,
                content,
                client_request_id.clone(),
            );
            user.request_key = client_request_id
                .as_ref()
                .map(|key| messages::request_key(chat.id, key));
            let answer_parent = user.id;
            Ok((Some(user), answer_parent, client_request_id))
        }
        Request::Edit {
            message_id,
            content,
            ..
        } => {
            let target = by_id
                .get(&message_id)
                .ok_or(ApiError::NotFound("message"))?;
            if target.role != Role::User {
                return Err(ApiError::field(
                    "message_id",
                    "only user messages can be edited",
                ));
            }
            let user = MessageDoc::user(chat.id, chat.user_id, target.parent_id, content, None);
            let answer_parent = user.id;
            Ok((Some(user), answer_parent, None))
        }
        Request::Regenerate { message_id, .. } => {
            let target = by_id
                .get(&message_id)
                .ok_or(ApiError::NotFound("message"))?;
            let parent = match target.role {
                Role::User => target.id,
                Role::Assistant => target
                    .parent_id
                    .ok_or_else(|| ApiError::field("message_id", "this answer has no question"))?,
            };
            Ok((None, parent, None))
        }
    }
}

/// The conversation from the root down to `leaf` (inclusive), as upstream turns.
fn history_to(by_id: &HashMap<ObjectId, &MessageDoc>, leaf: Option<ObjectId>) -> Vec<ChatTurn> {
    messages::branch_to(by_id, leaf)
        .into_iter()
        .map(|m| ChatTurn {
            role: match m.role {
                Role::User => TurnRole::User,
                Role::Assistant => TurnRole::Assistant,
            },
            content: m.content.clone(),
        })
        .collect()
}
