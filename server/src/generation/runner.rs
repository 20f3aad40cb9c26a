//! The task that runs one generation: calls the upstream, appends deltas, saves the partial
//! text about once a second, and writes the final message whatever happens.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use futures::{FutureExt, StreamExt as _};

use super::Generation;
use crate::{
    domain::{SamplingParams, Turn, params::response_format},
    events::LiveEvent,
    llm::{self, Resolved, UpstreamError, UpstreamEvent},
    state::AppState,
    store::messages::{self, MessageDoc, MessageError, Status, Usage},
    views::{MessageView, TextDelta},
};

/// How often the growing text of an answer is written to MongoDB.
pub const SAVE_EVERY: Duration = Duration::from_secs(1);

enum Ending {
    Finished(Option<String>),
    Stopped,
    Failed(UpstreamError),
}

/// How the upstream call went.
struct Outcome {
    ending: Ending,
    first_token: Option<Duration>,
    /// `(prompt, completion)` tokens, as the upstream reported them.
    usage: Option<(u64, u64)>,
}

#[tracing::instrument(skip_all, fields(message_id = %generation.message_id(), model = %resolved.model.id))]
pub async fn run(
    state: AppState,
    generation: Arc<Generation>,
    resolved: Resolved,
    prompt: Vec<Turn>,
) {
    let started = Instant::now();
    let outcome = stream(&state, &generation, &resolved, prompt.clone(), started).await;
    let used_tokens = outcome.first_token.is_some() || outcome.usage.is_some();
    let message = final_message(&generation, outcome, &prompt, started.elapsed());
    let message = match &generation.continued {
        Some(before) => continued(before, message, &resolved.params),
        None => message,
    };

    if !generation.wait_saved().await {
        // Its messages were never saved (the request failed): there is nothing to update.
        generation.finish(message, true);
        state.generations.remove(generation.message_id());
        return;
    }
    let ended = Instant::now();
    generation.chat_updated().await;
    crate::metrics::final_save("branch", ended.elapsed());
    // The final write matters most: nothing the user was shown may be lost. The client is told
    // the answer is done only once it is saved; if the database is down, it is told the text is
    // not stored yet, and the save is retried here until the database is back.
    // The answer's tokens count against its user's quotas whatever its outcome (but an answer
    // that failed before its first token used none), written alongside the final save.
    let saving = Instant::now();
    let (saved, counted) = tokio::join!(
        state.store.batched.finish(&message),
        record_usage(&state, &message, used_tokens),
    );
    crate::metrics::final_save("answer", saving.elapsed());
    if let Err(err) = counted {
        tracing::warn!(message_id = %message.id, error = %err, "counting an answer's tokens failed");
    }
    if let Err(err) = saved {
        tracing::error!(message_id = %message.id, error = %err, "saving an answer failed; retrying in the background");
        generation.finish(message.clone(), false);
        state.events.publish(
            message.user_id,
            LiveEvent::generation_ended(MessageView::from(&message), false),
        );
        save_until_stored(&state, &message).await;
    }
    state.chat_log.record(&message, &prompt);
    state.events.publish(
        message.user_id,
        LiveEvent::generation_ended(MessageView::from(&message), true),
    );
    generation.finish(message, true);
    state.generations.remove(generation.message_id());
}

/// Adds the answer's tokens to its user's usage of the day (when `used`).
async fn record_usage(
    state: &AppState,
    message: &MessageDoc,
    used: bool,
) -> mongodb::error::Result<()> {
    let (Some(usage), true) = (&message.usage, used) else {
        return Ok(());
    };
    let model = message.model.as_deref().unwrap_or("unknown");
    let increment = crate::store::usage::Increment::new(
        message.user_id,
        model,
        usage.prompt_tokens,
        usage.completion_tokens,
        chrono::Utc::now(),
    );
    state.store.batched.record_usage(increment).await
}

/// The answer as it ended: its text, status, usage (estimated when the upstream gave none)
/// and speed.
fn final_message(
    generation: &Generation,
    outcome: Outcome,
    prompt: &[Turn],
    duration: Duration,
) -> MessageDoc {
    let content = generation.content();
    let mut message = generation.placeholder.clone();
    let (prompt_tokens, completion_tokens, estimated) = match outcome.usage {
        Some((prompt, completion)) => (prompt, completion, false),
        None => (
            estimate_tokens(prompt.iter().map(|t| t.content.as_str())),
            // This run's text only (a continued answer started with some).
            estimate_tokens([content
                .get(generation.placeholder.content.len()..)
                .unwrap_or_default()]),
            true,
        ),
    };
    message.content = content;
    message.usage = Some(Usage {
        prompt_tokens,
        completion_tokens,
        estimated,
    });
    message.ttft_ms = outcome.first_token.map(millis);
    message.duration_ms = Some(millis(duration));
    message.tokens_per_second = outcome.first_token.and_then(|ttft| {
        let generating = duration.saturating_sub(ttft).as_secs_f64();
        (generating > 0.0 && completion_tokens > 0).then(|| completion_tokens as f64 / generating)
    });
    match outcome.ending {
        Ending::Finished(reason) => {
            message.status = Status::Complete;
            message.finish_reason = reason;
        }
        Ending::Stopped => {
            message.status = Status::Stopped;
            message.finish_reason = Some("stopped".to_owned());
        }
        Ending::Failed(error) => {
            tracing::warn!(message_id = %message.id, code = error.code(), error = %error, "generation failed");
            message.status = Status::Error;
            message.error = Some(MessageError {
                code: error.code().to_owned(),
                message: error.user_message(),
            });
        }
    }
    // Structured output asked for: the text is parsed and checked against it (whatever the
    // ending: a cut-off answer is reported as the invalid JSON it is).
    message.structured = message
        .parameters
        .as_ref()
        .and_then(SamplingParams::response_format)
        .filter(|_| !message.content.trim().is_empty())
        .and_then(|format| response_format::check_answer(format, &message.content));
    message
}

/// A continuation's end, `ended` (as `final_message` makes it, for the whole text), as the
/// answer records it: the answer's own parameters and stats stay those of its first run, its
/// usage adds this run's, and the run is added to its `continuations`.
fn continued(
    before: &MessageDoc,
    ended: MessageDoc,
    parameters: &crate::domain::SamplingParams,
) -> MessageDoc {
    let usage = ended.usage.clone().unwrap_or(Usage {
        prompt_tokens: 0,
        completion_tokens: 0,
        estimated: true,
    });
    let mut message = before.clone();
    message.usage = Some(match &before.usage {
        Some(earlier) => Usage {
            prompt_tokens: earlier.prompt_tokens + usage.prompt_tokens,
            completion_tokens: earlier.completion_tokens + usage.completion_tokens,
            estimated: earlier.estimated || usage.estimated,
        },
        None => usage.clone(),
    });
    message
        .continuations
        .push(crate::store::messages::Continuation {
            parameters: parameters.clone(),
            status: ended.status,
            finish_reason: ended.finish_reason.clone(),
            error: ended.error.clone(),
            usage,
            ttft_ms: ended.ttft_ms,
            duration_ms: ended.duration_ms.unwrap_or(0),
            tokens_per_second: ended.tokens_per_second,
            started_at: mongodb::bson::DateTime::from_millis(
                mongodb::bson::DateTime::now().timestamp_millis() - ended.duration_ms.unwrap_or(0),
            ),
        });
    message.content = ended.content;
    message.status = ended.status;
    message.finish_reason = ended.finish_reason;
    message.error = ended.error;
    message.structured = ended.structured;
    message.owner = None;
    message
}

/// The longest wait between two attempts to save a finished answer while MongoDB is down.
const MAX_SAVE_BACKOFF: Duration = Duration::from_secs(30);

/// Retries the final write with exponential back-off until it succeeds. The text is in memory
/// (and shown by `GET …/messages` from there): it is lost only if the process dies too.
async fn save_until_stored(state: &AppState, message: &messages::MessageDoc) {
    let mut wait = Duration::from_millis(500);
    for attempt in 1_u32.. {
        tokio::time::sleep(wait).await;
        match state.store.batched.finish(message).await {
            Ok(()) => {
                tracing::info!(message_id = %message.id, attempt, "a finished answer was saved after all");
                return;
            }
            Err(err) => {
                tracing::warn!(message_id = %message.id, attempt, error = %err, "saving an answer failed; will retry");
                wait = (wait * 2).min(MAX_SAVE_BACKOFF);
            }
        }
    }
}

/// Streams the upstream's answer into `generation` until it ends, fails or is stopped.
async fn stream(
    state: &AppState,
    generation: &Generation,
    resolved: &Resolved,
    prompt: Vec<Turn>,
    started: Instant,
) -> Outcome {
    let mut outcome = Outcome {
        ending: Ending::Stopped,
        first_token: None,
        usage: None,
    };
    // A model its server must load first: longer to the first token, and clients are told.
    let prepared = state.catalog.prepare(&resolved.model).await;
    if prepared.loading {
        generation.set_loading(&resolved.model.id);
        state.events.publish(
            generation.user_id,
            LiveEvent::generation_loading(
                generation.chat_id,
                generation.message_id(),
                &resolved.model.id,
            ),
        );
    }
    let opened = tokio::select! {
        biased;
        () = generation.cancel.cancelled() => return outcome,
        opened = llm::stream_chat_within(prepared.timeouts, resolved, prompt) => opened,
    };
    let connected = started.elapsed();
    let mut upstream = match opened {
        Ok(upstream) => {
            crate::metrics::first_token_stage("upstream_connect", connected);
            upstream
        }
        Err(error) => {
            outcome.ending = Ending::Failed(error);
            return outcome;
        }
    };
    let mut finish_reason = None;
    let mut saver = PartialSaver::default();
    let mut last_save = Instant::now();
    let mut live = LiveDeltas {
        model: resolved.model.id.clone(),
        // A continued answer's text goes on after what it had.
        offset: generation.placeholder.content.encode_utf16().count(),
        ..LiveDeltas::default()
    };
    let mut last_chunk: Option<Duration> = None;
    loop {
        let item = tokio::select! {
            biased;
            () = generation.cancel.cancelled() => return outcome,
            item = upstream.next() => item,
        };
        match item {
            Some(Ok(UpstreamEvent::Delta(text))) => {
                let now = started.elapsed();
                if let Some(previous) = last_chunk.replace(now) {
                    metrics::histogram!(crate::metrics::INTER_CHUNK)
                        .record((now - previous).as_secs_f64());
                }
                if outcome.first_token.is_none() {
                    crate::metrics::first_token_stage("upstream_first_byte", now - connected);
                }
                outcome.first_token.get_or_insert(now);
                live.first_token.get_or_insert(now);
                generation.append(&text);
                live.push(state, generation, &text);
                if last_save.elapsed() >= SAVE_EVERY && generation.is_saved() {
                    saver.save(state, generation);
                    last_save = Instant::now();
                }
            }
            Some(Ok(UpstreamEvent::Usage {
                prompt_tokens,
                completion_tokens,
            })) => outcome.usage = Some((prompt_tokens, completion_tokens)),
            Some(Ok(UpstreamEvent::Finish(reason))) => finish_reason = Some(reason),
            Some(Err(error)) => {
                live.flush(state, generation);
                outcome.ending = Ending::Failed(error);
                return outcome;
            }
            None => {
                live.flush(state, generation);
                outcome.ending = Ending::Finished(finish_reason);
                return outcome;
            }
        }
    }
}

/// Writes the growing text in the background: the token loop never waits for MongoDB, at most
/// one write per answer is in flight, and all answers' saves share one command at a time (a
/// slow database gets fewer, larger writes, and the final ones are not queued behind them).
#[derive(Default)]
struct PartialSaver {
    saved_len: usize,
    in_flight: Option<tokio::task::JoinHandle<Option<usize>>>,
    /// Set when the answer ends: a save still queued is dropped (the final write follows).
    ended: crate::store::batched::Superseded,
}

impl Drop for PartialSaver {
    fn drop(&mut self) {
        self.ended.store(true, std::sync::atomic::Ordering::Release);
    }
}

impl PartialSaver {
    fn save(&mut self, state: &AppState, generation: &Generation) {
        if let Some(task) = &self.in_flight {
            if !task.is_finished() {
                return;
            }
            if let Some(Some(Ok(Some(len)))) = self.in_flight.take().map(FutureExt::now_or_never) {
                self.saved_len = self.saved_len.max(len);
            }
        }
        let content = generation.content();
        if content.len() <= self.saved_len {
            return;
        }
        let (batched, id) = (state.store.batched.clone(), generation.message_id());
        let ended = std::sync::Arc::clone(&self.ended);
        self.in_flight = Some(tokio::spawn(async move {
            match batched.save_partial(id, &content, ended).await {
                Ok(()) => Some(content.len()),
                Err(err) => {
                    tracing::warn!(message_id = %id, error = %err, "saving partial text failed; will retry");
                    None
                }
            }
        }));
    }
}

/// How often the growing text is published to the user's other sockets.
pub const PUBLISH_EVERY: Duration = Duration::from_millis(100);

/// Coalesces deltas into `generation.delta` events: one per `PUBLISH_EVERY` at most. `offset`
/// is the length (in UTF-16 code units, as JavaScript counts) of the text before the delta, so
/// a tab that loaded the message mid-stream can skip what it already has.
#[derive(Default)]
struct LiveDeltas {
    pending: String,
    offset: usize,
    last: Option<Instant>,
    model: String,
    /// When the upstream's first text came, from the upstream call's start (its own wait).
    first_token: Option<Duration>,
}

impl LiveDeltas {
    fn push(&mut self, state: &AppState, generation: &Generation, text: &str) {
        self.pending.push_str(text);
        if self.last.is_none_or(|at| at.elapsed() >= PUBLISH_EVERY) {
            self.flush(state, generation);
        }
    }

    /// Nothing is published before the answer's `message.created` / `generation.started` events
    /// (the upstream may answer before the save that announces them): the text waits.
    fn flush(&mut self, state: &AppState, generation: &Generation) {
        if self.pending.is_empty() || !generation.is_saved() {
            return;
        }
        if self.last.is_none()
            && let Some(upstream_wait) = self.first_token
        {
            // The first text shown: the time to first token, and Confab's share of it.
            let total = generation.received.elapsed();
            metrics::histogram!(crate::metrics::TIME_TO_FIRST_TOKEN, "model" => self.model.clone())
                .record(total.as_secs_f64());
            metrics::histogram!(crate::metrics::OVERHEAD)
                .record(total.saturating_sub(upstream_wait).as_secs_f64());
        }
        let content = std::mem::take(&mut self.pending);
        let length = content.encode_utf16().count();
        state.events.publish(
            generation.user_id,
            LiveEvent::generation_delta(
                generation.chat_id,
                generation.message_id(),
                TextDelta {
                    content,
                    offset: self.offset,
                },
            ),
        );
        self.offset += length;
        self.last = Some(Instant::now());
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// About four characters a token: used only when the upstream reports no usage.
pub fn estimate_tokens<'a>(texts: impl IntoIterator<Item = &'a str>) -> u64 {
    texts
        .into_iter()
        .map(|t| (t.chars().count() as u64).div_ceil(4))
        .sum()
}
