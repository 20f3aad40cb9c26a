//! One socket: forwards the user's events, pings, reaps dead peers, and closes with a code the
//! client acts on (4008 lagged → reconnect and catch up; 4001 session ended → sign in again;
//! 1001 shutting down and 1012 feed interrupted → reconnect at once). It first sends `ready`
//! with the latest `seq`, then `resync` if the client's `since` could not be served, then the
//! events the client missed, then live ones — each logged event once, in `seq` order.
//! Client frames are read only to notice liveness; malformed ones are ignored.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures::{SinkExt as _, StreamExt as _};

use crate::events::{CloseReason, Events, Opened};

/// A write that takes longer than this means the peer stopped reading.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// A frame or message over the socket's size limit (tungstenite's capacity error).
fn is_too_big(error: &axum::Error) -> bool {
    matches!(
        std::error::Error::source(error).and_then(|e| e.downcast_ref::<tungstenite::Error>()),
        Some(tungstenite::Error::Capacity(_))
    )
}

pub async fn serve(
    socket: WebSocket,
    events: Arc<Events>,
    opened: Opened,
    ping_interval: Duration,
) {
    let _open = crate::metrics::Open::new(crate::metrics::OPEN_SOCKETS);
    let Opened {
        mut subscription,
        head,
        resync,
        backlog,
    } = opened;
    let user_id = subscription.user_id;
    let (mut sink, mut stream) = socket.split();
    let mut ping = tokio::time::interval(ping_interval);
    ping.tick().await;
    let mut last_heard = Instant::now();

    let now = chrono::Utc::now();
    let mut opening =
        vec![serde_json::json!({ "type": "ready", "at": now, "seq": head }).to_string()];
    if resync {
        opening.push(serde_json::json!({ "type": "resync", "at": now, "seq": head }).to_string());
    }
    let opening = opening
        .into_iter()
        .map(Utf8Bytes::from)
        .chain(backlog.iter().map(|d| Utf8Bytes::from(d.frame.as_ref())));
    let mut closing: Option<CloseReason> = None;
    for frame in opening {
        let sent = tokio::time::timeout(WRITE_TIMEOUT, sink.send(Message::Text(frame))).await;
        if !matches!(sent, Ok(Ok(()))) {
            events.unsubscribe(user_id, subscription.id);
            return;
        }
    }
    // The latest logged event sent: a copy that arrives through the feed as well is skipped.
    let mut last_seq = head;
    'serve: loop {
        tokio::select! {
            biased;
            changed = subscription.close.changed() => {
                closing = *subscription.close.borrow();
                if changed.is_err() || closing.is_some() {
                    break;
                }
            }
            event = subscription.events.recv() => {
                let Some(frames) = event else {
                    closing = Some(CloseReason::Lagged);
                    break;
                };
                for delivery in frames.iter() {
                    if let Some(seq) = delivery.seq {
                        if seq <= last_seq {
                            continue;
                        }
                        last_seq = seq;
                    }
                    let send = sink.send(Message::Text(Utf8Bytes::from(delivery.frame.as_ref())));
                    // A peer that stopped reading blocks this write: give up when the bus closes
                    // the socket (its queue filled) or after WRITE_TIMEOUT.
                    tokio::select! {
                        sent = tokio::time::timeout(WRITE_TIMEOUT, send) => {
                            if !matches!(sent, Ok(Ok(()))) {
                                break 'serve;
                            }
                        }
                        _ = subscription.close.changed() => {
                            closing = *subscription.close.borrow();
                            break 'serve;
                        }
                    }
                }
            }
            incoming = stream.next() => match incoming {
                Some(Err(error)) if is_too_big(&error) => {
                    closing = Some(CloseReason::TooBig);
                    break;
                }
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                Some(Ok(_)) => last_heard = Instant::now(),
            },
            _ = ping.tick() => {
                if last_heard.elapsed() > ping_interval * 2 + Duration::from_secs(1) {
                    tracing::debug!("reaping a silent socket");
                    break;
                }
                let send = sink.send(Message::Ping(Default::default()));
                if tokio::time::timeout(WRITE_TIMEOUT, send).await.is_err() {
                    break;
                }
            }
        }
    }
    events.unsubscribe(user_id, subscription.id);
    if let Some(reason) = closing {
        let frame = CloseFrame {
            code: reason.code(),
            reason: Utf8Bytes::from_static(reason.text()),
        };
        let _ = tokio::time::timeout(
            Duration::from_secs(2),
            sink.send(Message::Close(Some(frame))),
        )
        .await;
    }
}
