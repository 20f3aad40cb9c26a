//! A real WebSocket client (tokio-tungstenite) for the live-event socket.

use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use serde_json::Value;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{self, Message, client::IntoClientRequest as _, http::HeaderValue},
};

use crate::{TestApp, app::json};

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
    /// A single-use ticket for `token`'s session.
    pub async fn ticket(&self, token: &str) -> String {
        let response = self
            .http
            .post(self.url("/api/ws/ticket"))
            .bearer_auth(token)
            .send()
            .await
            .expect("ticket request");
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        json(response).await["ticket"]
            .as_str()
            .expect("ticket")
            .to_owned()
    }

    /// Opens `/api/ws?{query}`, optionally with an `Origin` and a tiny receive buffer.
    pub async fn open_ws(
        &self,
        query: &str,
        origin: Option<&str>,
        small_receive_buffer: bool,
    ) -> Result<LiveSocket, tungstenite::Error> {
        let url = format!("ws://127.0.0.1:{}/api/ws?{query}", self.port);
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
            .connect(([127, 0, 0, 1], self.port).into())
            .await
            .map_err(tungstenite::Error::Io)?;
        let (stream, _) = tokio_tungstenite::client_async(request, tcp).await?;
        Ok(LiveSocket { stream })
    }

    /// A connected socket for `token`, past its `ready` frame.
    pub async fn live(&self, token: &str) -> LiveSocket {
        let ticket = self.ticket(token).await;
        let mut socket = self
            .open_ws(&format!("ticket={ticket}"), None, false)
            .await
            .expect("the socket opens");
        let ready = socket
            .next_event(Duration::from_secs(5))
            .await
            .expect("ready");
        assert_eq!(ready["type"], "ready");
        socket
    }
}

/// The HTTP status of a refused handshake.
pub fn refused_status(error: &tungstenite::Error) -> Option<u16> {
    match error {
        tungstenite::Error::Http(response) => Some(response.status().as_u16()),
        _ => None,
    }
}

impl LiveSocket {
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
