//! Starting a generation: load the chat, plan (pure: `plan.rs`), follow an earlier identical
//! submission if there is one, else launch: register, hand the upstream call to a task of its
//! own, save the new messages and announce them.
//!
//! The way to the first token: one read (the chat with its messages, and the fair-use counts
//! alongside), then the upstream request and the insert of the new messages at the same time.
//! No text reaches anyone before the insert is acknowledged (and, with fair-use limits on, the
//! answer is counted within them): if it fails, the upstream request is cancelled.

use std::{sync::Arc, time::Instant};

use mongodb::bson::oid::ObjectId;

use super::{
    FairUse, Generation,
    fair_use::{self, OverLimit, Window},
    plan::{Plan, PlanError, Request, plan},
    registry::Existing,
    runner,
};
use crate::{
    domain::FieldErrors,
    events::LiveEvent,
    metrics,
    state::AppState,
    store::{MessageDoc, duplicate_key_index, messages},
    views::{ChatView, MessageView},
};

/// A generation to stream: running here, running on another process (a repeated submission
/// that another process took first), or (for a repeated submission) already finished.
pub enum Started {
    Live(Arc<Generation>),
    Elsewhere {
        user_message: Option<Box<MessageDoc>>,
        answer: Box<MessageDoc>,
    },
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
    #[error("over a limit: {0:?}")]
    OverLimit(OverLimit),
    #[error("this process is shutting down")]
    Draining,
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

/// Starts `request` in the user's chat `chat_id` (`received`: when the request arrived), within
/// the `limits` that apply to the user. With the generation, where the user stands against the
/// limit nearest to refusing (for the `RateLimit-*` headers).
#[tracing::instrument(skip_all, fields(%chat_id))]
pub async fn start(
    state: &AppState,
    user_id: ObjectId,
    limits: FairUse,
    chat_id: ObjectId,
    request: Request,
    received: Instant,
) -> Result<(Started, Option<Window>), StartError> {
    let loading = Instant::now();
    metrics::first_token_stage("auth", loading - received);
    if state.is_draining() {
        return Err(StartError::Draining);
    }
    // The chat with its messages (two reads at once, scoped to the caller) and the user's
    // fair-use counts and token usage alongside: one round trip.
    let (loaded, counted, used) = tokio::try_join!(
        state.store.batched.chat_with_messages(user_id, chat_id),
        fair_use::check(&state.store.messages, limits, user_id, None),
        fair_use::quota(&state.store.usage, limits, user_id),
    )?;
    metrics::first_token_stage("load", loading.elapsed());
    let (chat, all) = loaded.ok_or(StartError::ChatNotFound)?;
    // Everything the request says is checked first, also when it repeats an earlier
    // submission: a replay answers only a request that would have been accepted.
    let plan = plan(&state.catalog, &chat, &all, request)?;
    if let Some(request_id) = &plan.request_id
        && let Some(existing) = find_submission(state, chat.id, request_id).await?
    {
        return Ok((existing, None));
    }
    let (minute, tokens) = (counted?, used?);
    let started = launch(state, plan, limits, received).await?;
    // The limit nearest to refusing: the one with the fewest left.
    let window = match (minute, tokens) {
        (Some(a), Some(b)) => Some(if b.remaining < a.remaining { b } else { a }),
        (a, b) => a.or(b),
    };
    Ok((started, window))
}

impl From<OverLimit> for StartError {
    fn from(over: OverLimit) -> Self {
        StartError::OverLimit(over)
    }
}

async fn launch(
    state: &AppState,
    plan: Plan,
    limits: FairUse,
    received: Instant,
) -> Result<Started, StartError> {
    let saving = Instant::now();
    let Plan {
        user_message,
        answer,
        resolved,
        prompt,
        request_id,
        chat_update,
    } = plan;
    let (chat_id, user_id) = (answer.chat_id, answer.user_id);
    let mut answer = answer;
    answer.owner = Some(state.settings.instance.clone());
    let generation =
        Arc::new(Generation::new(answer.clone(), user_message.clone()).received_at(received));
    if let Err(Existing(existing)) = state
        .generations
        .insert(Arc::clone(&generation), request_id.clone())
    {
        return Ok(Started::Live(existing));
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
    if let Err(err) = state.store.batched.insert_messages(docs.clone()).await {
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
    // Counted again now that the answer exists: of two processes starting answers for one user
    // at once, the one ranked past a limit withdraws before anyone heard of its messages.
    // (With both limits off, nothing is read.)
    let over = fair_use::check(&state.store.messages, limits, user_id, Some(answer.id))
        .await
        .unwrap_or_else(|err| {
            // The first count passed: a failed recount lets the answer run rather than lose it.
            tracing::warn!(error = %err, "recounting fair use failed");
            Ok(None)
        });
    if let Err(over) = over {
        generation.abandon();
        state.generations.remove(answer.id);
        let ids: Vec<ObjectId> = docs.iter().map(|d| d.id).collect();
        if let Err(err) = messages::delete_ids(&state.store.messages, &ids).await {
            tracing::warn!(error = %err, "withdrawing an answer over the limits failed");
        }
        return Err(over.into());
    }
    metrics::first_token_stage("save", saving.elapsed());

    // The branch on screen and the title are not needed for the first token: they are written
    // alongside, and the answer is reported done only once they are. The new messages, the
    // answer and the chat's change are announced together (one write to the event log).
    let for_update = state.clone();
    let started = LiveEvent::generation_started(MessageView::from(&answer));
    generation.set_chat_update(tokio::spawn(async move {
        let updated = for_update
            .store
            .batched
            .update_chat(user_id, chat_id, &chat_update)
            .await;
        let mut announce: Vec<LiveEvent> = docs
            .iter()
            .map(|message| LiveEvent::message_created(MessageView::from(message)))
            .collect();
        announce.push(started);
        match updated {
            Ok(Some(updated)) => announce.push(LiveEvent::chat_updated(ChatView::from(&updated))),
            Ok(None) => {}
            Err(err) => tracing::warn!(error = %err, "recording the branch on screen failed"),
        }
        for_update.events.publish_all(user_id, announce);
    }));
    // Only now may the runner save or finish: the answer exists, and the branch update it waits
    // for before reporting `done` is registered (the runner runs on another thread: an instant
    // model could otherwise finish before it). Its text reaches sockets only after the answer's
    // announcement (`events` holds it back until then).
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
    if answer.status == messages::Status::Streaming {
        return Ok(Some(Started::Elsewhere {
            user_message: Some(Box::new(user)),
            answer: Box::new(answer),
        }));
    }
    Ok(Some(Started::Finished {
        user_message: Some(Box::new(user)),
        answer: Box::new(answer),
    }))
}
