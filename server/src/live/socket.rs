//! One socket: forwards the user's events, pings, reaps dead peers, and closes with a code the
//! client acts on (4008 lagged → reconnect and reload; 4001 session ended → sign in again).
//! Client frames are read only to notice liveness; malformed ones are ignored.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures::{SinkExt as _, StreamExt as _};
use mongodb::bson::oid::ObjectId;

use crate::events::{CloseReason, EventBus};

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
    bus: Arc<dyn EventBus>,
    user_id: ObjectId,
    session_id: ObjectId,
    ping_interval: Duration,
) {
    let mut subscription = bus.subscribe(user_id, session_id);
    let (mut sink, mut stream) = socket.split();
    let mut ping = tokio::time::interval(ping_interval);
    ping.tick().await;
    let mut last_heard = Instant::now();

    let hello = serde_json::json!({ "type": "ready", "at": chrono::Utc::now() }).to_string();
    let mut closing: Option<CloseReason> = None;
    if sink.send(Message::Text(hello.into())).await.is_err() {
        bus.unsubscribe(user_id, subscription.id);
        return;
    }
    loop {
        tokio::select! {
            biased;
            changed = subscription.close.changed() => {
                closing = *subscription.close.borrow();
                if changed.is_err() || closing.is_some() {
                    break;
                }
            }
            event = subscription.events.recv() => {
                let Some(json) = event else {
                    closing = Some(CloseReason::Lagged);
                    break;
                };
                let send = sink.send(Message::Text(Utf8Bytes::from(json.as_ref())));
                // A peer that stopped reading blocks this write: give up when the bus closes
                // the socket (its queue filled) or after WRITE_TIMEOUT.
                tokio::select! {
                    sent = tokio::time::timeout(WRITE_TIMEOUT, send) => {
                        if !matches!(sent, Ok(Ok(()))) {
                            break;
                        }
                    }
                    _ = subscription.close.changed() => {
                        closing = *subscription.close.borrow();
                        break;
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
    bus.unsubscribe(user_id, subscription.id);
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
