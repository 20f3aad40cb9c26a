//! The task that runs one generation: calls the upstream, appends deltas, saves the partial
//! text about once a second, and writes the final message whatever happens.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use futures::{FutureExt, StreamExt as _};

use super::Generation;
use crate::{
    domain::SamplingParams,
    events::{Event, kinds},
    llm::{self, ChatTurn, UpstreamError, UpstreamEvent},
    routes::views::MessageView,
    state::AppState,
    store::messages::{self, MessageError, Status, Usage},
};

/// How often the growing text of an answer is written to MongoDB.
pub const SAVE_EVERY: Duration = Duration::from_secs(1);

enum Ending {
    Finished(Option<String>),
    Stopped,
    Failed(UpstreamError),
}

pub async fn run(
    state: AppState,
    generation: Arc<Generation>,
    model_id: String,
    params: SamplingParams,
    turns: Vec<ChatTurn>,
) {
    let started = Instant::now();
    let mut first_token: Option<Duration> = None;
    let mut usage: Option<(u64, u64)> = None;
    let ending = stream(
        &state,
        &generation,
        &model_id,
        &params,
        turns.clone(),
        started,
        &mut first_token,
        &mut usage,
    )
    .await;
    let duration = started.elapsed();
    let content = generation.content();

    let mut message = generation.placeholder.clone();
    message.content = content.clone();
    let (prompt_tokens, completion_tokens, estimated) = match usage {
        Some((prompt, completion)) => (prompt, completion, false),
        None => (
            estimate_tokens(turns.iter().map(|t| t.content.as_str())),
            estimate_tokens([content.as_str()]),
            true,
        ),
    };
    message.usage = Some(Usage {
        prompt_tokens,
        completion_tokens,
        estimated,
    });
    message.ttft_ms = first_token.map(millis);
    message.duration_ms = Some(millis(duration));
    message.tokens_per_second = first_token.and_then(|ttft| {
        let generating = duration.saturating_sub(ttft).as_secs_f64();
        (generating > 0.0 && completion_tokens > 0).then(|| completion_tokens as f64 / generating)
    });
    match ending {
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

    if !generation.wait_saved().await {
        // Its messages were never saved (the request failed): there is nothing to update.
        generation.finish(message, true);
        state.generations.remove(generation.message_id());
        return;
    }
    generation.chat_updated().await;
    // The final write matters most: nothing the user was shown may be lost. The client is told
    // the answer is done only once it is saved; if the database is down, it is told the text is
    // not stored yet, and the save is retried here until the database is back.
    if let Err(err) = messages::finish(&state.store.messages, &message).await {
        tracing::error!(message_id = %message.id, error = %err, "saving an answer failed; retrying in the background");
        generation.finish(message.clone(), false);
        save_until_stored(&state, &message).await;
    }
    state.chat_log.record(&message, &turns);
    state.events.publish(
        message.user_id,
        Event::new(kinds::GENERATION_FINISHED)
            .chat(message.chat_id)
            .message(message.id)
            .data(MessageView::from(&message)),
    );
    generation.finish(message, true);
    state.generations.remove(generation.message_id());
}

/// The longest wait between two attempts to save a finished answer while MongoDB is down.
const MAX_SAVE_BACKOFF: Duration = Duration::from_secs(30);

/// Retries the final write with exponential back-off until it succeeds. The text is in memory
/// (and shown by `GET …/messages` from there): it is lost only if the process dies too.
async fn save_until_stored(state: &AppState, message: &messages::MessageDoc) {
    let mut wait = Duration::from_millis(500);
    for attempt in 1_u32.. {
        tokio::time::sleep(wait).await;
        match messages::finish(&state.store.messages, message).await {
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

#[allow(clippy::too_many_arguments)]
async fn stream(
    state: &AppState,
    generation: &Generation,
    model_id: &str,
    params: &SamplingParams,
    turns: Vec<ChatTurn>,
    started: Instant,
    first_token: &mut Option<Duration>,
    usage: &mut Option<(u64, u64)>,
) -> Ending {
    let Some(model) = state.catalog.model(model_id) else {
        return Ending::Failed(UpstreamError::Protocol(format!("unknown model {model_id}")));
    };
    let opened = tokio::select! {
        biased;
        () = generation.cancel.cancelled() => return Ending::Stopped,
        opened = llm::stream_chat(&state.catalog, model, params, turns) => opened,
    };
    let mut upstream = match opened {
        Ok(upstream) => upstream,
        Err(error) => return Ending::Failed(error),
    };
    let mut finish_reason = None;
    let mut saver = PartialSaver::default();
    let mut last_save = Instant::now();
    let mut live = LiveDeltas::default();
    loop {
        let item = tokio::select! {
            biased;
            () = generation.cancel.cancelled() => return Ending::Stopped,
            item = upstream.next() => item,
        };
        match item {
            Some(Ok(UpstreamEvent::Delta(text))) => {
                first_token.get_or_insert_with(|| started.elapsed());
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
            })) => *usage = Some((prompt_tokens, completion_tokens)),
            Some(Ok(UpstreamEvent::Finish(reason))) => finish_reason = Some(reason),
            Some(Err(error)) => {
                live.flush(state, generation);
                return Ending::Failed(error);
            }
            None => {
                live.flush(state, generation);
                return Ending::Finished(finish_reason);
            }
        }
    }
}

/// Writes the growing text in the background: the token loop never waits for MongoDB, at most
/// one write per answer is in flight, and a few for all answers together (a slow database gets
/// fewer, larger writes, and the final ones are not queued behind them).
#[derive(Default)]
struct PartialSaver {
    saved_len: usize,
    in_flight: Option<tokio::task::JoinHandle<Option<usize>>>,
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
        let Some(permit) = state.generations.partial_saves.try_start() else {
            return;
        };
        let (messages, id) = (state.store.messages.clone(), generation.message_id());
        self.in_flight = Some(tokio::spawn(async move {
            let _permit = permit;
            match messages::save_partial(&messages, id, &content).await {
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
        let text = std::mem::take(&mut self.pending);
        state.events.publish(
            generation.user_id,
            Event::new(kinds::GENERATION_DELTA)
                .chat(generation.chat_id)
                .message(generation.message_id())
                .data(serde_json::json!({ "content": text, "offset": self.offset })),
        );
        self.offset += text.encode_utf16().count();
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
