//! Answers that are not kept: a `/v1` chat completion that is not saved as a chat. It runs
//! within its user's limits as answers do — counted in `api_calls` while it runs and for the
//! minute after (fair use, on every process), its tokens added to the user's usage when it
//! ends (quotas), and written to `CHAT_LOG` — but its text is the caller's alone: nothing of
//! it is stored. The caller reads the upstream's events; dropping them cancels the upstream
//! request, and whatever happened is accounted for then.

use std::{
    pin::Pin,
    task::{Context, Poll},
    time::Instant,
};

use futures::Stream;
use mongodb::bson::oid::ObjectId;

use super::{FairUse, StartError, Window, fair_use, runner::estimate_tokens};
use crate::{
    domain::Turn,
    llm::{self, Resolved, UpstreamError, UpstreamEvent, UpstreamStream},
    state::AppState,
    store::{api_calls, usage::Increment},
};

/// Why a call did not start.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error(transparent)]
    Start(#[from] StartError),
    /// The upstream refused or could not be reached before answering.
    #[error(transparent)]
    Upstream(UpstreamError),
}

impl From<mongodb::error::Error> for CallError {
    fn from(error: mongodb::error::Error) -> Self {
        Self::Start(StartError::Store(error))
    }
}

/// A call's events, as the upstream sends them; accounted for when dropped.
pub struct Call {
    events: UpstreamStream,
    books: Books,
}

/// What a call did, for its user's usage and `CHAT_LOG`.
struct Books {
    state: AppState,
    user_id: ObjectId,
    /// Its document in `api_calls` (none when no limit applies: nothing to count).
    call_id: Option<ObjectId>,
    resolved: Resolved,
    sent: Vec<Turn>,
    text: String,
    usage: Option<(u64, u64)>,
    finish: Option<String>,
    error: Option<String>,
    started: Instant,
}

/// Starts a call for `user_id` within `limits`: refused (429) past a limit or quota, else the
/// upstream's events (and where the user stands against the nearest limit).
pub async fn call(
    state: &AppState,
    user_id: ObjectId,
    limits: FairUse,
    resolved: Resolved,
    turns: Vec<Turn>,
) -> Result<(Call, Option<Window>), CallError> {
    if state.is_draining() {
        return Err(StartError::Draining.into());
    }
    let (counted, used) = tokio::try_join!(
        fair_use::check(&state.store, limits, user_id, None),
        fair_use::quota(&state.store.usage, limits, user_id),
    )?;
    let window = counted.map_err(StartError::OverLimit)?;
    let quota_window = used.map_err(StartError::OverLimit)?;
    let call_id = if limits.is_off() {
        None
    } else {
        let id =
            api_calls::begin(&state.store.api_calls, user_id, &state.settings.instance).await?;
        // Counted again now that it is recorded: of two calls at once past a limit, the later
        // one withdraws.
        if let Ok(Err(over)) = fair_use::check(&state.store, limits, user_id, Some(id)).await {
            if let Err(err) = api_calls::withdraw(&state.store.api_calls, id).await {
                tracing::warn!(error = %err, "withdrawing a refused API call failed");
            }
            return Err(StartError::OverLimit(over).into());
        }
        Some(id)
    };
    let mut books = Books {
        state: state.clone(),
        user_id,
        call_id,
        resolved,
        sent: turns,
        text: String::new(),
        usage: None,
        finish: None,
        error: None,
        started: Instant::now(),
    };
    // A model its server must load first gets longer to its first token (OpenAI's protocol
    // has no way to say so).
    let prepared = state.catalog.prepare(&books.resolved.model).await;
    match llm::stream_chat_within(prepared.timeouts, &books.resolved, books.sent.clone()).await {
        Ok(events) => Ok((Call { events, books }, window.or(quota_window))),
        Err(error) => {
            books.error = Some(error.code().to_owned());
            // `books` is dropped here: the call is ended (no tokens were used).
            Err(CallError::Upstream(error))
        }
    }
}

impl Call {
    /// The model that answers.
    pub fn model(&self) -> &str {
        &self.books.resolved.model.id
    }
}

impl Stream for Call {
    type Item = Result<UpstreamEvent, UpstreamError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.events.as_mut().poll_next(cx);
        if let Poll::Ready(Some(item)) = &polled {
            let books = &mut self.books;
            match item {
                Ok(UpstreamEvent::Delta(text)) => books.text.push_str(text),
                Ok(UpstreamEvent::Usage {
                    prompt_tokens,
                    completion_tokens,
                }) => books.usage = Some((*prompt_tokens, *completion_tokens)),
                Ok(UpstreamEvent::Finish(reason)) => books.finish = Some(reason.clone()),
                Err(error) => books.error = Some(error.code().to_owned()),
            }
        }
        polled
    }
}

impl Drop for Books {
    fn drop(&mut self) {
        let state = self.state.clone();
        let user_id = self.user_id;
        let call_id = self.call_id;
        let model = self.resolved.model.id.clone();
        // Tokens were used once text came back (estimated when the upstream did not say).
        let used = self.usage.or_else(|| {
            (!self.text.is_empty()).then(|| {
                (
                    estimate_tokens(self.sent.iter().map(|t| t.content.as_str())),
                    estimate_tokens([self.text.as_str()]),
                )
            })
        });
        let status = match (&self.finish, &self.error) {
            (Some(_), _) => "complete",
            (None, Some(_)) => "error",
            (None, None) => "stopped",
        };
        state.chat_log.record_call(&crate::chat_log::Call {
            user_id,
            call_id,
            model: &model,
            parameters: &self.resolved.params,
            sent: &self.sent,
            response: &self.text,
            status,
            finish_reason: self.finish.as_deref(),
            usage: used,
            duration: self.started.elapsed(),
        });
        // Dropped outside the runtime (it is shutting down): nothing can be written any more.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            if let Some((prompt, completion)) = used {
                let increment =
                    Increment::new(user_id, &model, prompt, completion, chrono::Utc::now());
                if let Err(err) = state.store.batched.record_usage(increment).await {
                    tracing::warn!(error = %err, "counting an API call's tokens failed");
                }
            }
            if let Some(id) = call_id
                && let Err(err) = api_calls::end(&state.store.api_calls, id).await
            {
                tracing::warn!(error = %err, "ending an API call's record failed");
            }
        });
    }
}
