//! Starting a generation: read the chat, plan (pure: `plan.rs`), follow an earlier identical
//! submission if there is one (among the chat's messages just read), else launch: register,
//! hand the upstream call to a task of its own, save the new messages and announce them.
//!
//! The way to the first token: one read (the chat with its messages, and the fair-use counts
//! alongside), then the upstream request and the insert of the new messages at the same time.
//! A chat known here as this process wrote it (`known.rs`: a new chat) needs no read first: the
//! upstream request and the insert start at once, alongside the read, and the answer is kept
//! only if the read confirms what was known. No text reaches anyone before the insert is
//! acknowledged (and, with fair-use limits on, the answer is counted within them): if it fails,
//! the upstream request is cancelled.

use std::{sync::Arc, time::Instant};

use mongodb::bson::oid::ObjectId;

use super::{
    FairUse, Generation,
    fair_use::{self, OverLimit, Window},
    known,
    plan::{Plan, PlanError, Request, plan},
    registry::Existing,
    runner,
};
use crate::{
    domain::FieldErrors,
    events::LiveEvent,
    metrics,
    state::AppState,
    store::{MessageDoc, batched::Loaded, chats::ChatUpdate, duplicate_key_index, messages},
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
    #[error("this answer cannot be continued")]
    NotContinuable,
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
            PlanError::NotContinuable => StartError::NotContinuable,
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
    let asked = Asked {
        user_id,
        chat_id,
        limits,
        received,
    };
    // Known here as this process wrote it: start from that while reading it afresh — for an
    // account no limit applies to, so that a request a limit refuses never reaches the
    // upstream.
    if limits.is_off()
        && limits.quotas_off()
        && !matches!(request, Request::Continue { .. })
        && let Some(known) = state.known_chats.get(user_id, chat_id)
        && let Ok(plan) = plan(&state.catalog, &known.0, &known.1, request.clone())
    {
        metrics::first_token_stage("load", loading.elapsed());
        return ahead(state, &asked, request, known, plan).await;
    }
    let read = read(state, &asked).await?;
    metrics::first_token_stage("load", loading.elapsed());
    from_read(state, &asked, request, read).await
}

/// Who asked, in which chat, within which limits, and when the request arrived.
struct Asked {
    user_id: ObjectId,
    chat_id: ObjectId,
    limits: FairUse,
    received: Instant,
}

/// The chat with its messages (scoped to the caller), and the user's fair-use counts and
/// token usage, read at once: one round trip.
type Read = (
    Option<Loaded>,
    Result<Option<Window>, OverLimit>,
    Result<Option<Window>, OverLimit>,
);

async fn read(state: &AppState, asked: &Asked) -> Result<Read, StartError> {
    Ok(tokio::try_join!(
        state
            .store
            .batched
            .chat_with_messages(asked.user_id, asked.chat_id),
        fair_use::check(&state.store, asked.limits, asked.user_id, None),
        fair_use::quota(&state.store.usage, asked.limits, asked.user_id),
    )?)
}

/// Plans from what was just read, and launches.
async fn from_read(
    state: &AppState,
    asked: &Asked,
    request: Request,
    (loaded, counted, used): Read,
) -> Result<(Started, Option<Window>), StartError> {
    let (chat, all) = loaded.ok_or(StartError::ChatNotFound)?;
    // Everything the request says is checked first, also when it repeats an earlier
    // submission: a replay answers only a request that would have been accepted.
    let plan = plan(&state.catalog, &chat, &all, request)?;
    if let Some(earlier) = submitted(state, &plan, &all) {
        return Ok((earlier, None));
    }
    let window = nearest(counted?, used?);
    let saving = Instant::now();
    let pending = match begin(state, plan, asked.received) {
        Ok(pending) => pending,
        Err(live) => return Ok((Started::Live(live), None)),
    };
    let saved = match pending.continued.is_some() {
        false => {
            state
                .store
                .batched
                .insert_messages(pending.docs.clone())
                .await
        }
        // A continuation takes the answer back (of two at once, one does).
        true => match messages::claim_for_continuation(
            &state.store.messages,
            pending.answer.id,
            &state.settings.instance,
        )
        .await
        {
            Ok(true) => Ok(()),
            Ok(false) => {
                pending.withdraw(state, false).await;
                return Err(StartError::NotContinuable);
            }
            Err(err) => Err(err),
        },
    };
    let started = complete(state, pending, saved, asked.limits, saving).await?;
    Ok((started, window))
}

/// Starts from what is known of the chat (`known`, planned as `plan`) while reading it afresh,
/// for an account no limit applies to: the upstream request and the insert go at once,
/// alongside the read. The answer is kept only if the read finds the chat exactly as known;
/// otherwise it is withdrawn before anyone heard of it (its upstream request cancelled, its
/// messages deleted) and the answer starts again from the read.
async fn ahead(
    state: &AppState,
    asked: &Asked,
    request: Request,
    known: Arc<Loaded>,
    plan: Plan,
) -> Result<(Started, Option<Window>), StartError> {
    if let Some(earlier) = submitted(state, &plan, &known.1) {
        return Ok((earlier, None));
    }
    let saving = Instant::now();
    let pending = match begin(state, plan, asked.received) {
        Ok(pending) => pending,
        Err(live) => return Ok((Started::Live(live), None)),
    };
    let (inserted, fresh) = tokio::join!(
        state.store.batched.insert_messages(pending.docs.clone()),
        state
            .store
            .batched
            .chat_with_messages(asked.user_id, asked.chat_id),
    );
    // The read may already find this answer's own messages (inserted meanwhile): not a change.
    if let Ok(Some(fresh)) = &fresh
        && known::same_but(fresh, &known, &pending.ids())
    {
        metrics::known_chat(true);
        let started = complete(state, pending, inserted, asked.limits, saving).await?;
        return Ok((started, None));
    }
    metrics::known_chat(false);
    pending.withdraw(state, inserted.is_ok()).await;
    let read = (fresh?, Ok(None), Ok(None));
    from_read(state, asked, request, read).await
}

/// What an earlier submission with the same `client_request_id` started, found among the
/// chat's messages (`all`, just read): the answer running here, running elsewhere, or
/// finished. A replay is answered even at a limit, as it starts nothing. One that is not among
/// them yet (inserted since) is found by the insert, which the unique `request_key` refuses
/// (`complete`): no read for it on the way to the first token.
fn submitted(state: &AppState, plan: &Plan, all: &[MessageDoc]) -> Option<Started> {
    let request_id = plan.request_id.as_deref()?;
    if let Some(live) = state
        .generations
        .by_request(plan.answer.chat_id, request_id)
    {
        return Some(Started::Live(live));
    }
    let user = all
        .iter()
        .find(|m| m.client_request_id.as_deref() == Some(request_id))?;
    // Its newest answer (as `messages::latest_child`).
    let answer = all
        .iter()
        .filter(|m| m.parent_id == Some(user.id))
        .max_by_key(|m| (m.created_at, m.id))?;
    Some(answered(state, user.clone(), answer.clone()))
}

/// The question `user` of an earlier submission and its newest answer: running here, running
/// elsewhere, or finished.
fn answered(state: &AppState, user: MessageDoc, answer: MessageDoc) -> Started {
    if let Some(live) = state.generations.get(answer.id) {
        return Started::Live(live);
    }
    let (user_message, answer) = (Some(Box::new(user)), Box::new(answer));
    if answer.status == messages::Status::Streaming {
        Started::Elsewhere {
            user_message,
            answer,
        }
    } else {
        Started::Finished {
            user_message,
            answer,
        }
    }
}

/// The limit nearest to refusing: the one with the fewest left.
fn nearest(minute: Option<Window>, tokens: Option<Window>) -> Option<Window> {
    match (minute, tokens) {
        (Some(a), Some(b)) => Some(if b.remaining < a.remaining { b } else { a }),
        (a, b) => a.or(b),
    }
}

impl From<OverLimit> for StartError {
    fn from(over: OverLimit) -> Self {
        StartError::OverLimit(over)
    }
}

/// A generation registered and running (its upstream request under way), whose messages are
/// not known to be saved yet: nothing of it is shown until `complete`.
struct Pending {
    generation: Arc<Generation>,
    answer: MessageDoc,
    /// Continued: the answer as it was, put back if the continuation does not start.
    continued: Option<Box<MessageDoc>>,
    docs: Vec<MessageDoc>,
    request_id: Option<String>,
    chat_update: ChatUpdate,
}

impl Pending {
    /// The ids of its messages.
    fn ids(&self) -> Vec<ObjectId> {
        self.docs.iter().map(|d| d.id).collect()
    }

    /// Takes the generation back: cancels its upstream request and deletes its messages if
    /// they were inserted (never announced, so nobody heard of them).
    async fn withdraw(self, state: &AppState, inserted: bool) {
        self.generation.abandon();
        state.generations.remove(self.answer.id);
        if !inserted {
            return;
        }
        let undone = match &self.continued {
            Some(before) => messages::give_back(&state.store.messages, before).await,
            None => messages::delete_ids(&state.store.messages, &self.ids()).await,
        };
        if let Err(err) = undone {
            tracing::warn!(error = %err, "withdrawing an answer's messages failed");
        }
    }
}

/// Registers the generation and hands its upstream call to a task of its own (the upstream
/// request starts while the messages are being saved; the runner waits for `mark_saved`
/// before its own first write). A repeated submission running here: that one.
fn begin(state: &AppState, plan: Plan, received: Instant) -> Result<Pending, Arc<Generation>> {
    let Plan {
        user_message,
        answer,
        continued,
        resolved,
        prompt,
        request_id,
        chat_update,
    } = plan;
    let mut answer = answer;
    answer.owner = Some(state.settings.instance.clone());
    let generation = Arc::new(
        Generation::new(answer.clone(), user_message.clone())
            .continuing(continued.clone())
            .received_at(received),
    );
    state
        .generations
        .insert(Arc::clone(&generation), request_id.clone())
        .map_err(|Existing(existing)| existing)?;
    // The chat is changing here: what is known of it is out of date.
    state.known_chats.forget(answer.chat_id);
    tokio::spawn(runner::run(
        state.clone(),
        Arc::clone(&generation),
        resolved,
        prompt,
    ));
    // A continued answer exists already: nothing is inserted.
    let docs: Vec<MessageDoc> = user_message
        .into_iter()
        .chain(continued.is_none().then(|| answer.clone()))
        .collect();
    Ok(Pending {
        generation,
        answer,
        continued,
        docs,
        request_id,
        chat_update,
    })
}

/// Once the insert is answered: on success, counts fair use again, writes the branch on screen
/// and the announcement alongside, and lets the runner show text; on failure, takes the
/// generation back (a repeated submission found by the unique key is followed instead).
async fn complete(
    state: &AppState,
    pending: Pending,
    inserted: mongodb::error::Result<()>,
    limits: FairUse,
    saving: Instant,
) -> Result<Started, StartError> {
    let chat_id = pending.answer.chat_id;
    let user_id = pending.answer.user_id;
    if let Err(err) = inserted {
        let request_id = pending.request_id.clone();
        pending.withdraw(state, false).await;
        if duplicate_key_index(&err).is_some()
            && let Some(request_id) = &request_id
            && let Some(existing) = find_submission(state, chat_id, request_id).await?
        {
            // A submission with the same key came first: follow it.
            return Ok(existing);
        }
        return Err(err.into());
    }
    // Counted again now that the answer exists: of two processes starting answers for one user
    // at once, the one ranked past a limit withdraws before anyone heard of its messages.
    // (With both limits off, nothing is read.)
    let over = fair_use::check(&state.store, limits, user_id, Some(pending.answer.id))
        .await
        .unwrap_or_else(|err| {
            // The first count passed: a failed recount lets the answer run rather than lose it.
            tracing::warn!(error = %err, "recounting fair use failed");
            Ok(None)
        });
    if let Err(over) = over {
        pending.withdraw(state, true).await;
        return Err(over.into());
    }
    metrics::first_token_stage("save", saving.elapsed());

    // The branch on screen and the title are not needed for the first token: they are written
    // alongside, and the answer is reported done only once they are. The new messages, the
    // answer and the chat's change are announced together (one write to the event log).
    let Pending {
        generation,
        answer,
        docs,
        chat_update,
        ..
    } = pending;
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

/// For a repeated `client_request_id`, read from the database (after the insert found it):
/// the generation it started, live or finished.
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
    let answer = messages::latest_child(&state.store.messages, user.id).await?;
    Ok(answer.map(|answer| answered(state, user, answer)))
}
