//! A scripted OpenAI-compatible server on 127.0.0.1 for the streaming tests: each request
//! gets the next [`Reply`] (the last one repeats), and requests are recorded.

use std::{
    collections::VecDeque,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use axum::{
    Json, Router,
    body::{Body, Bytes},
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::{Value, json};
use tokio::{net::TcpListener, task::JoinHandle};

#[derive(Clone, Debug)]
pub(crate) enum Reply {
    Status {
        status: u16,
        retry_after: Option<&'static str>,
        body: &'static str,
    },
    Stream {
        /// Wait before sending the response head.
        head_delay: Duration,
        /// `data:` payloads, each after its delay.
        events: Vec<(Duration, String)>,
        end: End,
    },
}

/// How a streamed reply ends after its events.
#[derive(Clone, Copy, Debug)]
pub(crate) enum End {
    /// `data: [DONE]`, then a clean end.
    Done,
    /// A clean end without `[DONE]`.
    Close,
    /// The body fails: the connection is cut.
    Break,
    /// Nothing more, ever.
    Hang,
}

/// An SSE reply of `events` sent at once.
pub(crate) fn sse(events: &[String], end: End) -> Reply {
    Reply::Stream {
        head_delay: Duration::ZERO,
        events: events.iter().map(|e| (Duration::ZERO, e.clone())).collect(),
        end,
    }
}

pub(crate) fn delta(text: &str) -> String {
    json!({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}], "usage": null}).to_string()
}

pub(crate) fn finish(reason: &str) -> String {
    json!({"choices": [{"index": 0, "delta": {}, "finish_reason": reason}]}).to_string()
}

pub(crate) fn usage(prompt: u64, completion: u64) -> String {
    json!({"choices": [], "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}}).to_string()
}

#[derive(Default)]
struct Shared {
    replies: Mutex<VecDeque<Reply>>,
    /// `Authorization` header and body of each request.
    requests: Mutex<Vec<(Option<String>, Value)>>,
    /// A streamed body was dropped before its end (the client went away).
    body_dropped: AtomicBool,
}

pub(crate) struct TestUpstream {
    pub base_url: String,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for TestUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestUpstream {
    pub(crate) async fn start(replies: Vec<Reply>) -> TestUpstream {
        let shared = Arc::new(Shared {
            replies: Mutex::new(replies.into()),
            ..Shared::default()
        });
        let app = Router::new()
            .route("/v1/chat/completions", post(chat))
            .with_state(shared.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        });
        TestUpstream {
            base_url: format!("http://{addr}/v1"),
            shared,
            task,
        }
    }

    pub(crate) fn requests(&self) -> Vec<(Option<String>, Value)> {
        self.shared.requests.lock().expect("lock").clone()
    }

    pub(crate) fn body_dropped(&self) -> bool {
        self.shared.body_dropped.load(Ordering::SeqCst)
    }
}

/// Sets `body_dropped` when the body is dropped unfinished.
struct DropFlag(Arc<Shared>, bool);

impl Drop for DropFlag {
    fn drop(&mut self) {
        if !self.1 {
            self.0.body_dropped.store(true, Ordering::SeqCst);
        }
    }
}

async fn chat(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    shared.requests.lock().expect("lock").push((auth, body));
    let reply = {
        let mut replies = shared.replies.lock().expect("lock");
        if replies.len() > 1 {
            replies.pop_front()
        } else {
            replies.front().cloned()
        }
    };
    match reply.expect("a scripted reply") {
        Reply::Status {
            status,
            retry_after,
            body,
        } => {
            let status = StatusCode::from_u16(status).expect("status");
            let mut response = (status, body.to_owned()).into_response();
            if let Some(value) = retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static(value));
            }
            response
        }
        Reply::Stream {
            head_delay,
            events,
            end,
        } => {
            tokio::time::sleep(head_delay).await;
            let state = (events.into_iter(), DropFlag(shared, false));
            let body = futures::stream::unfold(state, move |(mut events, mut flag)| async move {
                if let Some((delay, data)) = events.next() {
                    tokio::time::sleep(delay).await;
                    return Some((Ok(Bytes::from(format!("data: {data}\n\n"))), (events, flag)));
                }
                if flag.1 {
                    return None;
                }
                if matches!(end, End::Break) {
                    // Let the events reach the client before the connection is cut.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                if matches!(end, End::Hang) {
                    // Unfinished: dropping this future (and `flag`) means the client left.
                    futures::future::pending::<()>().await;
                }
                flag.1 = true;
                match end {
                    End::Done => Some((Ok(Bytes::from("data: [DONE]\n\n")), (events, flag))),
                    End::Break => Some((Err(std::io::Error::other("cut")), (events, flag))),
                    End::Close | End::Hang => None,
                }
            });
            Response::builder()
                .header(header::CONTENT_TYPE, "text/event-stream")
                .body(Body::from_stream(body))
                .expect("response")
        }
    }
}
