//! A signed-in user driving the app: `let ada = app.signed_in().await;`, then
//! `ada.create_chat(..)`, `ada.send(&chat, "..")`, `ada.live()`… Each call asserts the
//! expected status and returns typed values; its `try_` twin returns the raw response, for
//! tests about refusals. `raw` sends anything, for tests where the request itself is the point.

use std::sync::Arc;

use reqwest::{Method, Response, StatusCode};
use serde_json::Value;

use crate::{
    LiveSocket, Session, TestApp, TestUser, app::Running, paths, session_from, users::login_body,
    ws::connect,
};

/// One session of one user, with its own handle on the server (which stays up while it lives).
pub struct SignedIn {
    /// The user's name, e-mail and password.
    pub credentials: TestUser,
    /// The access token, the refresh cookie and the user as signed in.
    pub session: Session,
    server: Server,
}

/// Where the app listens, and a share in keeping it running.
#[derive(Clone)]
struct Server {
    http: reqwest::Client,
    address: String,
    port: u16,
    _running: Arc<Running>,
}

impl TestApp {
    /// A fresh user, registered and signed in.
    pub async fn signed_in(&self) -> SignedIn {
        let credentials = TestUser::random();
        let session = self.register(&credentials).await;
        self.client_for(credentials, session)
    }

    fn client_for(&self, credentials: TestUser, session: Session) -> SignedIn {
        SignedIn {
            credentials,
            session,
            server: Server {
                http: self.http.clone(),
                address: self.address.clone(),
                port: self.port,
                _running: Arc::clone(&self.running),
            },
        }
    }
}

impl SignedIn {
    /// The same session, talking to another process of the deployment.
    pub fn on(&self, app: &TestApp) -> SignedIn {
        app.client_for(self.credentials.clone(), self.session.clone())
    }

    /// The same session, talking to a `confab` process on this port (of the same deployment).
    pub fn at_port(&self, port: u16) -> SignedIn {
        SignedIn {
            credentials: self.credentials.clone(),
            session: self.session.clone(),
            server: Server {
                http: self.server.http.clone(),
                address: format!("http://127.0.0.1:{port}"),
                port,
                _running: Arc::new(Running::none()),
            },
        }
    }

    /// The access token.
    pub fn token(&self) -> &str {
        &self.session.access_token
    }

    /// The user's id.
    pub fn user_id(&self) -> &str {
        self.session.user_id()
    }

    /// The same user signed in once more: another device, another session.
    pub async fn another_session(&self) -> SignedIn {
        let response = self
            .server
            .http
            .post(format!("{}{}", self.server.address, paths::LOGIN))
            .json(&login_body(
                &self.credentials.email,
                &self.credentials.password,
            ))
            .send()
            .await
            .expect("request sent");
        assert_eq!(response.status(), StatusCode::OK);
        SignedIn {
            credentials: self.credentials.clone(),
            session: session_from(response).await,
            server: self.server.clone(),
        }
    }

    /// Any request with this user's token: `path` as given, the body as JSON if there is one.
    pub async fn raw(&self, method: Method, path: &str, body: Option<&Value>) -> Response {
        let mut request = self
            .server
            .http
            .request(method, format!("{}{path}", self.server.address))
            .bearer_auth(self.token());
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.expect("request sent")
    }

    /// A request with this user's token, to finish as the test needs (bytes, a form…).
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.server
            .http
            .request(method, format!("{}{path}", self.server.address))
            .bearer_auth(self.token())
    }

    /// GET with one extra header.
    pub(crate) async fn get_with(&self, path: &str, header: Option<(&str, &str)>) -> Response {
        let mut request = self
            .server
            .http
            .get(format!("{}{path}", self.server.address))
            .bearer_auth(self.token());
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        request.send().await.expect("request sent")
    }

    pub(crate) async fn get(&self, path: &str) -> Response {
        self.raw(Method::GET, path, None).await
    }

    /// `GET /api/models`, asserting 200.
    pub async fn models(&self) -> Value {
        expect_json(self.get(paths::MODELS).await, StatusCode::OK).await
    }

    /// A single-use ticket for this session's socket.
    pub async fn ticket(&self) -> String {
        let response = self.raw(Method::POST, paths::WS_TICKET, None).await;
        expect_json(response, StatusCode::OK).await["ticket"]
            .as_str()
            .expect("ticket")
            .to_owned()
    }

    /// A live-event socket opened with `since` (raw, as a client may send it) and its `ready`
    /// frame.
    pub async fn live_since(&self, since: &str) -> (LiveSocket, Value) {
        let ticket = self.ticket().await;
        let mut socket = connect(
            self.server.port,
            &format!("ticket={ticket}&since={since}"),
            None,
            false,
        )
        .await
        .expect("the socket opens");
        let ready = socket
            .next_event(std::time::Duration::from_secs(5))
            .await
            .expect("ready");
        assert_eq!(ready["type"], "ready", "{ready}");
        (socket, ready)
    }

    /// A live-event socket for this session, past its `ready` frame.
    pub async fn live(&self) -> LiveSocket {
        let ticket = self.ticket().await;
        let socket = connect(self.server.port, &format!("ticket={ticket}"), None, false)
            .await
            .expect("the socket opens");
        socket.past_ready().await
    }

    /// `GET /api/feedback/export`, asserting 200 and NDJSON: each line, parsed.
    pub async fn feedback(&self) -> Vec<Value> {
        let response = self.get(paths::FEEDBACK_EXPORT).await;
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response.headers()["content-type"]
            .to_str()
            .expect("content type")
            .to_owned();
        assert!(
            content_type.starts_with("application/x-ndjson"),
            "{content_type}"
        );
        let text = response.text().await.expect("body");
        assert!(text.is_empty() || text.ends_with('\n'), "{text:?}");
        text.lines()
            .map(|line| {
                let value: Value = serde_json::from_str(line)
                    .unwrap_or_else(|err| panic!("not one JSON object per line: {err}: {line}"));
                assert!(value.is_object(), "{line}");
                value
            })
            .collect()
    }
}

/// Asserts the status (showing the body if it differs); the body as JSON (`null` if empty).
pub(crate) async fn expect_json(response: Response, status: StatusCode) -> Value {
    let actual = response.status();
    let text = response.text().await.expect("body");
    assert_eq!(actual, status, "{text}");
    if text.is_empty() {
        return Value::Null;
    }
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("{actual}: not JSON: {text}"))
}
