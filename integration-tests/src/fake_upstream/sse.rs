//! Server-sent events for a streamed completion: `data: <chunk>\n\n` frames, flushed as they
//! come due, ending with `data: [DONE]` (or cut abruptly when the behaviour says so).

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{
    body::Body,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use futures::StreamExt as _;
use serde_json::{Value, json};

use super::reply::Completion;

/// How long a deliberately broken stream waits before cutting, so that the chunks already
/// produced leave hyper's write buffer (an immediate body error would discard them).
const BREAK_GRACE: Duration = Duration::from_millis(50);

/// The fields every chunk of one completion repeats.
pub struct Header {
    pub id: String,
    pub created: u64,
    pub model: String,
}

/// How to stream: pacing, deliberate cut, and the usage to report (if any).
pub struct Plan {
    pub chunk_delay: Duration,
    pub break_after_chunks: Option<usize>,
    pub usage: Option<Value>,
}

/// One piece of the body: wait, then send the data (or cut the connection on `None`).
type Step = (Duration, Option<String>);

impl Header {
    fn chunk(&self, choices: Value) -> Value {
        json!({
            "id": self.id, "object": "chat.completion.chunk", "created": self.created,
            "model": self.model, "choices": choices,
        })
    }
}

fn event(value: &Value) -> Option<String> {
    Some(format!("data: {value}\n\n"))
}

fn steps(header: &Header, completion: &Completion, plan: Plan) -> Vec<Step> {
    let role = json!({ "role": "assistant", "content": "" });
    let first = header.chunk(json!([{ "index": 0, "delta": role, "finish_reason": null }]));
    let mut steps = vec![(Duration::ZERO, event(&first))];
    for (index, token) in completion.tokens.iter().enumerate() {
        if plan.break_after_chunks.is_some_and(|n| index >= n) {
            break;
        }
        let delta = json!({ "content": token });
        let chunk = header.chunk(json!([{ "index": 0, "delta": delta, "finish_reason": null }]));
        let delay = if index == 0 {
            Duration::ZERO
        } else {
            plan.chunk_delay
        };
        steps.push((delay, event(&chunk)));
    }
    if plan.break_after_chunks.is_some() {
        steps.push((BREAK_GRACE, None));
        return steps;
    }
    let reason = completion.finish_reason;
    let finish = header.chunk(json!([{ "index": 0, "delta": {}, "finish_reason": reason }]));
    steps.push((Duration::ZERO, event(&finish)));
    if let Some(usage) = plan.usage {
        let mut last = header.chunk(json!([]));
        if let Some(object) = last.as_object_mut() {
            object.insert("usage".to_owned(), usage);
        }
        steps.push((Duration::ZERO, event(&last)));
    }
    steps.push((Duration::ZERO, Some("data: [DONE]\n\n".to_owned())));
    steps
}

/// Counted in `open` while the body is being sent: until it ends or its reader goes away.
struct Open(Arc<AtomicUsize>);

impl Open {
    fn new(open: &Arc<AtomicUsize>) -> Self {
        open.fetch_add(1, Ordering::SeqCst);
        Self(Arc::clone(open))
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The `text/event-stream` response; each chunk is flushed as it is produced.
pub fn response(
    header: &Header,
    completion: &Completion,
    plan: Plan,
    open: &Arc<AtomicUsize>,
) -> Response {
    // Dropped with the body: when the answer has been sent, or its reader went away.
    let open = Open::new(open);
    let stream =
        futures::stream::iter(steps(header, completion, plan)).then(move |(delay, data)| {
            let _counted = &open;
            async move {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                data.ok_or_else(|| {
                    let kind = std::io::ErrorKind::ConnectionAborted;
                    std::io::Error::new(kind, "simulated upstream disconnect")
                })
            }
        });
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    let event_stream = HeaderValue::from_static("text/event-stream");
    headers.insert(header::CONTENT_TYPE, event_stream);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
