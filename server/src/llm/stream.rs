//! Streaming a chat completion: open the request (retried by the endpoint's layer while no
//! response has started), then turn the upstream's chunks into a few [`UpstreamEvent`]s under
//! the first-token, idle and total timeouts.

use std::collections::VecDeque;

use futures::{StreamExt, stream::BoxStream};
use serde::Deserialize;
use serde_json::Value;
use tokio::time::{Instant, timeout_at};

use super::{Catalog, Resolved, StreamTimeouts, UpstreamError, build_body};
use crate::domain::Turn;

/// What Confab takes from the upstream's stream; nothing else of it is passed on.
#[derive(Debug, Clone, PartialEq)]
pub enum UpstreamEvent {
    /// A non-empty piece of the answer.
    Delta(String),
    Usage {
        prompt_tokens: u64,
        completion_tokens: u64,
    },
    /// Why generation stopped (`stop`, `length`, …); always the last event of a complete answer.
    Finish(String),
}

/// The stream of a chat completion: events, or one error and then the end.
pub type UpstreamStream = BoxStream<'static, Result<UpstreamEvent, UpstreamError>>;

/// Sends the request and returns its events. The first-token timeout runs from this call to
/// the first `Delta` (the request's retries included), the idle timeout between chunks after
/// it, the total timeout from this call to the end. A stream that ends or breaks without a
/// finish reason yields `Err(Interrupted)`. Dropping the stream cancels the upstream request.
pub async fn stream_chat(
    catalog: &Catalog,
    resolved: &Resolved,
    turns: Vec<Turn>,
) -> Result<UpstreamStream, UpstreamError> {
    stream_chat_within(catalog.timeouts(), resolved, turns).await
}

/// [`stream_chat`] within these timeouts (a model being loaded first gets longer to its first
/// token: see `Catalog::prepare`).
#[tracing::instrument(skip_all, fields(model = %resolved.model.id))]
pub async fn stream_chat_within(
    timeouts: StreamTimeouts,
    resolved: &Resolved,
    turns: Vec<Turn>,
) -> Result<UpstreamStream, UpstreamError> {
    let started = Instant::now();
    let mut body = build_body(&resolved.model, &resolved.params, &turns);
    if resolved.prefill {
        super::request::prefill(&resolved.model.kind, &mut body);
    }
    let endpoint = &resolved.model.endpoint;
    let (replicas, first) = endpoint.choose();
    let mut first = Some(first);
    let mut failed = None;
    for (attempt, replica) in replicas.iter().enumerate() {
        let mut reader = Reader {
            chunks: futures::stream::empty().boxed(),
            timeouts,
            first_token_deadline: started + timeouts.first_token,
            total_deadline: started + timeouts.total,
            last_chunk: started,
            got_delta: false,
            finish: None,
            pending: VecDeque::new(),
            done: false,
            _in_flight: Some(first.take().unwrap_or_else(|| replica.begin())),
        };
        let (deadline, on_timeout) = reader.deadline();
        let client = replica.client().clone();
        let body = body.clone();
        let open = async move { client.chat().create_stream_byot::<Value, Chunk>(body).await };
        let error = match timeout_at(deadline, open).await {
            Ok(Ok(chunks)) => {
                replica.succeeded(&endpoint.name);
                endpoint.set_reachable(true);
                reader.chunks = chunks.boxed();
                let label = replica.label.clone();
                return Ok(futures::stream::unfold(reader, |mut reader| async move {
                    let item = reader.next().await?;
                    Some((item, reader))
                })
                .inspect(move |item| {
                    if let Err(error) = item {
                        count_error(error, &label);
                    }
                })
                .boxed());
            }
            Err(_elapsed) => on_timeout,
            Ok(Err(error)) => UpstreamError::from_request(error),
        };
        count_error(&error, &replica.label);
        // Refused, unreachable or a server error before any text: the next replica, at once.
        // A timeout has used the first-token budget; a 429 or a 4xx would be the same anywhere.
        let fails_over = matches!(
            error,
            UpstreamError::Connect(_) | UpstreamError::Status { status: 500.., .. }
        );
        if fails_over || matches!(error, UpstreamError::FirstTokenTimeout) {
            replica.failed(&endpoint.name);
        }
        if !fails_over || attempt + 1 == replicas.len() {
            // No replica could be reached: `/api/models` says so until one answers.
            if matches!(error, UpstreamError::Connect(_)) && attempt + 1 == replicas.len() {
                endpoint.set_reachable(false);
            }
            return Err(error);
        }
        tracing::warn!(replica = %replica.label, code = error.code(), "failing over to the next replica");
        failed = Some(error);
    }
    Err(failed.unwrap_or_else(|| UpstreamError::Connect("no replica".to_owned())))
}

/// `confab_upstream_errors_total{kind,replica}`.
fn count_error(error: &UpstreamError, replica: &str) {
    metrics::counter!(
        crate::metrics::UPSTREAM_ERRORS,
        "kind" => error.code(),
        "replica" => replica.to_owned()
    )
    .increment(1);
}

/// A `chat.completion.chunk`, leniently: every field optional, unknown fields ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Chunk {
    choices: Option<Vec<Choice>>,
    usage: Option<Usage>,
    /// Some servers report a failure mid-stream as `{"error": …}`.
    error: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Choice {
    delta: Option<Delta>,
    finish_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Delta {
    content: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Usage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
}

struct Reader {
    chunks: BoxStream<'static, Result<Chunk, async_openai::error::OpenAIError>>,
    timeouts: StreamTimeouts,
    first_token_deadline: Instant,
    total_deadline: Instant,
    last_chunk: Instant,
    got_delta: bool,
    /// Held back until the upstream's stream ends, so that usage (sent after it) comes first.
    finish: Option<String>,
    pending: VecDeque<UpstreamEvent>,
    done: bool,
    /// Counts the answer against its replica until the stream is dropped.
    _in_flight: Option<super::endpoint::InFlight>,
}

impl Reader {
    async fn next(&mut self) -> Option<Result<UpstreamEvent, UpstreamError>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(Ok(event));
            }
            if self.done {
                return None;
            }
            let (deadline, on_timeout) = self.deadline();
            match timeout_at(deadline, self.chunks.next()).await {
                Err(_elapsed) => return self.end(on_timeout),
                Ok(None) => {
                    let eof = "the stream ended before the answer was finished";
                    return self.end(UpstreamError::Interrupted(eof.to_owned()));
                }
                Ok(Some(Err(error))) => return self.end(UpstreamError::from_stream(error)),
                Ok(Some(Ok(chunk))) => {
                    if let Some(error) = self.absorb(chunk) {
                        return self.end(error);
                    }
                }
            }
        }
    }

    /// The next deadline and the error it means: the first token's until a delta arrived,
    /// then the idle one; the total one whenever it comes first.
    fn deadline(&self) -> (Instant, UpstreamError) {
        let (deadline, error) = if self.got_delta {
            (
                self.last_chunk + self.timeouts.idle,
                UpstreamError::IdleTimeout,
            )
        } else {
            (self.first_token_deadline, UpstreamError::FirstTokenTimeout)
        };
        if self.total_deadline <= deadline {
            (self.total_deadline, UpstreamError::TotalTimeout)
        } else {
            (deadline, error)
        }
    }

    /// Ends the stream: with the finish reason if one arrived (whatever ended it), else `error`.
    fn end(&mut self, error: UpstreamError) -> Option<Result<UpstreamEvent, UpstreamError>> {
        self.done = true;
        match self.finish.take() {
            Some(reason) => Some(Ok(UpstreamEvent::Finish(reason))),
            None => {
                tracing::debug!(code = error.code(), %error, "upstream stream failed");
                Some(Err(error))
            }
        }
    }

    /// Queues the chunk's events; returns the error it reports, if any.
    fn absorb(&mut self, chunk: Chunk) -> Option<UpstreamError> {
        self.last_chunk = Instant::now();
        if let Some(error) = chunk.error.filter(|e| !e.is_null()) {
            let message = error
                .pointer("/message")
                .or(Some(&error))
                .and_then(Value::as_str)
                .map_or_else(|| error.to_string(), str::to_owned);
            return Some(UpstreamError::Interrupted(message));
        }
        let choice = chunk.choices.and_then(|c| c.into_iter().next());
        if let Some(choice) = choice {
            let content = choice.delta.and_then(|d| d.content).unwrap_or_default();
            if !content.is_empty() {
                self.got_delta = true;
                self.pending.push_back(UpstreamEvent::Delta(content));
            }
            if let Some(reason) = choice.finish_reason.filter(|r| !r.is_empty()) {
                self.finish = Some(reason);
            }
        }
        if let Some(usage) = chunk.usage {
            self.pending.push_back(UpstreamEvent::Usage {
                prompt_tokens: usage.prompt_tokens.unwrap_or(0),
                completion_tokens: usage.completion_tokens.unwrap_or(0),
            });
        }
        None
    }
}
