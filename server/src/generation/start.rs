//! Starting a generation: load the chat, plan (pure: `plan.rs`), follow an earlier identical
//! submission if there is one, else launch: register, hand the upstream call to a task of its
//! own, save the new messages and announce them.

use std::{sync::Arc, time::Duration};

use mongodb::bson::oid::ObjectId;

use super::{
    Generation,
    plan::{Plan, PlanError, Request, plan},
    registry::Refused,
    runner,
};
use crate::{
    domain::FieldErrors,
    events::LiveEvent,
    state::AppState,
    store::{MessageDoc, chats, duplicate_key_index, messages},
    views::{ChatView, MessageView},
};

/// A generation to stream: running now, or (for a repeated submission) already finished.
pub enum Started {
    Live(Arc<Generation>),
    Finished {
        user_message: Option<Box<MessageDoc>>,
        answer: Box<MessageDoc>,
    },
}

/// Why a generation did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("chat not found")]
    ChatNotFound,
    #[error("message not found")]
    MessageNotFound,
    #[error("invalid fields")]
    Invalid(FieldErrors),
    #[error("no model is configured")]
    NoUpstream,
    #[error("too many answers at once")]
    TooManyGenerations,
    #[error("too many answers per minute")]
    RateLimited(Duration),
    #[error("database: {0}")]
    Store(#[from] mongodb::error::Error),
}

impl From<PlanError> for StartError {
    fn from(error: PlanError) -> Self {
        match error {
            PlanError::NoUpstream => StartError::NoUpstream,
            PlanError::MessageNotFound => StartError::MessageNotFound,
            PlanError::Invalid(fields) => StartError::Invalid(fields),
        }
    }
}

/// Starts `request` in the user's chat `chat_id`.
#[tracing::instrument(skip_all, fields(%chat_id))]
pub async fn start(
    state: &AppState,
    user_id: ObjectId,
    chat_id: ObjectId,
    request: Request,
) -> Result<Started, StartError> {
    // The chat and its messages in one round trip (both scoped to the caller).
    let (chat, all) = tokio::try_join!(
        chats::find_owned(&state.store.chats, user_id, chat_id),
        messages::for_chat_of(&state.store.messages, chat_id, user_id),
    )?;
    let chat = chat.ok_or(StartError::ChatNotFound)?;
    // Everything the request says is checked first, also when it repeats an earlier
    // submission: a replay answers only a request that would have been accepted.
    let plan = plan(&state.catalog, &chat, &all, request)?;
    if let Some(request_id) = &plan.request_id
        && let Some(existing) = find_submission(state, chat.id, request_id).await?
    {
        return Ok(existing);
    }
    launch(state, plan).await
}

async fn launch(state: &AppState, plan: Plan) -> Result<Started, StartError> {
    let Plan {
        user_message,
        answer,
        resolved,
        prompt,
        request_id,
        chat_update,
    } = plan;
    let (chat_id, user_id) = (answer.chat_id, answer.user_id);
    let generation = Arc::new(Generation::new(answer.clone(), user_message.clone()));
    match state
        .generations
        .insert(Arc::clone(&generation), request_id.clone())
    {
        Ok(()) => {}
        Err(Refused::Existing(existing)) => return Ok(Started::Live(existing)),
        Err(Refused::TooMany) => return Err(StartError::TooManyGenerations),
        Err(Refused::RateLimited(wait)) => return Err(StartError::RateLimited(wait)),
    }

    // The upstream request starts while the messages are being saved; the runner waits for
    // the save before its own first write.
    tokio::spawn(runner::run(
        state.clone(),
        Arc::clone(&generation),
        resolved,
        prompt,
    ));
    let docs: Vec<MessageDoc> = user_message.into_iter().chain([answer.clone()]).collect();
    if let Err(err) = messages::insert_many(&state.store.messages, &docs).await {
        generation.abandon();
        state.generations.remove(answer.id);
        if duplicate_key_index(&err).is_some()
            && let Some(request_id) = &request_id
            && let Some(existing) = find_submission(state, chat_id, request_id).await?
        {
            // A concurrent submission with the same key won the race: follow it.
            return Ok(existing);
        }
        return Err(err.into());
    }
    for message in &docs {
        state.events.publish(
            user_id,
            LiveEvent::message_created(MessageView::from(message)),
        );
    }
    state.events.publish(
        user_id,
        LiveEvent::generation_started(MessageView::from(&answer)),
    );

    // The branch on screen and the title are not needed for the first token: they are written
    // alongside, and the answer is reported done only once they are.
    let for_update = state.clone();
    generation.set_chat_update(tokio::spawn(async move {
        match chats::update(&for_update.store.chats, user_id, chat_id, &chat_update).await {
            Ok(Some(updated)) => for_update
                .events
                .publish(user_id, LiveEvent::chat_updated(ChatView::from(&updated))),
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
) -> Result<Option<Started>, StartError> {
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
