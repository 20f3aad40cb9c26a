//! A real WebSocket client (tokio-tungstenite) for the live-event socket.

use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use serde_json::Value;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{self, Message, client::IntoClientRequest as _, http::HeaderValue},
};

use crate::{TestApp, paths};

pub struct LiveSocket {
    stream: WebSocketStream<TcpStream>,
}

/// What ended a socket.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// A close frame with this code.
    Closed(u16),
    /// The connection ended without a close frame (or with an error).
    Dropped,
    /// Still open after the wait.
    StillOpen,
}

impl TestApp {
    /// Opens `/api/ws?{query}`, optionally with an `Origin` and a tiny receive buffer.
    pub async fn open_ws(
        &self,
        query: &str,
        origin: Option<&str>,
        small_receive_buffer: bool,
    ) -> Result<LiveSocket, tungstenite::Error> {
        connect(self.port, query, origin, small_receive_buffer).await
    }
}

/// Opens `ws://127.0.0.1:{port}/api/ws?{query}`.
pub(crate) async fn connect(
    port: u16,
    query: &str,
    origin: Option<&str>,
    small_receive_buffer: bool,
) -> Result<LiveSocket, tungstenite::Error> {
    let url = format!("ws://127.0.0.1:{port}{}?{query}", paths::WS);
    let mut request = url.into_client_request()?;
    if let Some(origin) = origin {
        request.headers_mut().insert(
            "origin",
            HeaderValue::from_str(origin).expect("origin header"),
        );
    }
    let socket = TcpSocket::new_v4().map_err(tungstenite::Error::Io)?;
    if small_receive_buffer {
        socket
            .set_recv_buffer_size(2048)
            .map_err(tungstenite::Error::Io)?;
    }
    let tcp = socket
        .connect(([127, 0, 0, 1], port).into())
        .await
        .map_err(tungstenite::Error::Io)?;
    let (stream, _) = tokio_tungstenite::client_async(request, tcp).await?;
    Ok(LiveSocket { stream })
}

/// The HTTP status of a refused handshake.
pub fn refused_status(error: &tungstenite::Error) -> Option<u16> {
    match error {
        tungstenite::Error::Http(response) => Some(response.status().as_u16()),
        _ => None,
    }
}

impl LiveSocket {
    /// Reads the `ready` frame a new socket starts with, asserting it comes.
    pub(crate) async fn past_ready(mut self) -> Self {
        let ready = self
            .next_event(Duration::from_secs(5))
            .await
            .expect("ready");
        assert_eq!(ready["type"], "ready");
        self
    }

    /// The next JSON event within `wait` (pings are answered and skipped).
    pub async fn next_event(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .ok()??;
            match frame.ok()? {
                Message::Text(text) => return serde_json::from_str(text.as_str()).ok(),
                Message::Close(_) => return None,
                _ => {}
            }
        }
    }

    /// The next event of this type within `wait`, skipping others.
    pub async fn wait_for(&mut self, kind: &str, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let event = self.next_event(left).await?;
            if event["type"] == kind {
                return Some(event);
            }
        }
    }

    /// Every event received during `wait`.
    pub async fn drain(&mut self, wait: Duration) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut events = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return events;
            }
            match self.next_event(left).await {
                Some(event) => events.push(event),
                None => return events,
            }
        }
    }

    /// Reads until the socket ends (or `wait` passes) and says how it ended.
    pub async fn ended(&mut self, wait: Duration) -> Ended {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => return Ended::StillOpen,
                Ok(None) | Ok(Some(Err(_))) => return Ended::Dropped,
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return frame.map_or(Ended::Dropped, |f| Ended::Closed(u16::from(f.code)));
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    pub async fn send_text(&mut self, text: &str) -> Result<(), tungstenite::Error> {
        self.stream.send(Message::Text(text.into())).await
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) -> Result<(), tungstenite::Error> {
        self.stream.send(Message::Binary(bytes.into())).await
    }
}
