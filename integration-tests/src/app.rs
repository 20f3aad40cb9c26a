//! The application under test: spawned on port 0 with its own database, stopped when the last
//! handle to it (the app or a signed-in client) is dropped.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use confab::{Application, Settings};
use reqwest::{Client, Response};
use serde_json::Value;
use tokio::{sync::oneshot, task::JoinHandle};

use crate::paths;

/// A running Confab server with its own database.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub address: String,
    pub port: u16,
    pub database: String,
    pub jwt_secret: String,
    pub settings: Settings,
    /// The running application's state, for what HTTP cannot show (counters, registries).
    pub state: confab::state::AppState,
    /// A client without a cookie store; helpers pass cookies explicitly.
    pub http: Client,
    pub(crate) running: Arc<Running>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

/// Tells the server to shut down when the last handle holding it is dropped, so a test that
/// keeps only a signed-in client (`let (_, upstream, ada, chat) = …`) keeps its server.
pub(crate) struct Running(Mutex<Option<oneshot::Sender<()>>>);

impl Running {
    /// For a server this handle does not control.
    pub(crate) fn none() -> Self {
        Self(Mutex::new(None))
    }

    fn shut_down(&self) {
        if let Some(shutdown) = self.0.lock().ok().and_then(|mut s| s.take()) {
            let _ = shutdown.send(());
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shut_down();
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Spawns the app with extra environment-style settings, e.g. `[("PUBLIC_URL", "https://x")]`.
pub async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    if std::env::var_os("TEST_LOG").is_some() {
        // `TEST_LOG=1 cargo nextest run … --no-capture` shows the server's logs.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()))
            .try_init();
    }
    let database = format!("test_{}", uuid::Uuid::new_v4().simple());
    let jwt_secret = format!("test-secret-{}", uuid::Uuid::new_v4().simple());
    let mut vars: HashMap<String, String> = HashMap::from([
        ("PORT".into(), "0".into()),
        ("MONGODB_URI".into(), crate::mongodb_uri()),
        ("MONGODB_DATABASE".into(), database.clone()),
        ("MONGODB_STARTUP_TIMEOUT_SECS".into(), "10".into()),
        ("JWT_SECRET".into(), jwt_secret.clone()),
        ("CLIENT_DIR".into(), "/nonexistent-confab-client".into()),
        ("PASSWORD_HASH_CONCURRENCY".into(), "4".into()),
    ]);
    for (key, value) in overrides {
        vars.insert((*key).to_owned(), (*value).to_owned());
    }
    let database = vars["MONGODB_DATABASE"].clone();
    let jwt_secret = vars["JWT_SECRET"].clone();
    let settings = Settings::from_lookup(|k| vars.get(k).cloned()).expect("test settings");
    let app = Application::build(settings.clone())
        .await
        .expect("the application builds");
    let port = app.port();
    let state = app.state().clone();
    let (shutdown, signal) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = signal.await;
    }));
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        database,
        jwt_secret,
        settings,
        state,
        http: Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client"),
        running: Arc::new(Running(Mutex::new(Some(shutdown)))),
        server: Some(server),
    }
}

/// Two processes of one deployment: the same database, the same `JWT_SECRET`, the same
/// settings (`overrides`), each its own `INSTANCE_ID` (`a`, `b`).
pub async fn spawn_pair_with(overrides: &[(&str, &str)]) -> (TestApp, TestApp) {
    let database = format!("test_{}", uuid::Uuid::new_v4().simple());
    let secret = format!("test-secret-{}", uuid::Uuid::new_v4().simple());
    let vars = |instance: &'static str| {
        let mut vars: Vec<(&str, &str)> = overrides.to_vec();
        vars.extend([
            ("MONGODB_DATABASE", database.as_str()),
            ("JWT_SECRET", secret.as_str()),
            ("INSTANCE_ID", instance),
        ]);
        vars
    };
    let (for_a, for_b) = (vars("a"), vars("b"));
    tokio::join!(spawn_app_with(&for_a), spawn_app_with(&for_b))
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A scrape of its metrics listener (`METRICS_ADDR` must be set), in the text format.
    pub async fn metrics(&self) -> String {
        let addr = self.state.metrics_addr.get().expect("metrics are on");
        reqwest::get(format!("http://{addr}/metrics"))
            .await
            .expect("scraped")
            .error_for_status()
            .expect("200")
            .text()
            .await
            .expect("text")
    }

    /// Direct access to this test's database, to check what was stored.
    pub async fn db(&self) -> mongodb::Database {
        let client = mongodb::Client::with_uri_str(crate::mongodb_uri())
            .await
            .expect("mongodb client");
        client.database(&self.database)
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut request = self.http.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request sent")
    }

    /// POST with only the refresh cookie (as a browser would send it to `/api/auth/*`).
    pub async fn post_with_cookie(&self, path: &str, refresh: Option<&str>) -> Response {
        let mut request = self.http.post(self.url(path));
        if let Some(refresh) = refresh {
            request = request.header(reqwest::header::COOKIE, format!("confab_refresh={refresh}"));
        }
        request.send().await.expect("request sent")
    }

    /// `GET /api/health`
    pub async fn health(&self) -> Response {
        self.get(paths::HEALTH, None).await
    }

    /// `GET /api/ready`
    pub async fn ready(&self) -> Response {
        self.get(paths::READY, None).await
    }

    /// Signals graceful shutdown (whoever else holds the server) and waits for it to finish.
    pub async fn stop(mut self) -> std::io::Result<()> {
        self.running.shut_down();
        match self.server.take() {
            Some(server) => server.await.expect("server task"),
            None => Ok(()),
        }
    }
}

/// The JSON body of a response (panics with the status and text if it is not JSON).
pub async fn json(response: Response) -> Value {
    let status = response.status();
    let text = response.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: not JSON: {text}"))
}

/// Asserts a 422 whose `fields` name `field` (`context` says which case failed); the body.
pub async fn expect_field_error(response: Response, field: &str, context: &str) -> Value {
    assert_eq!(
        response.status(),
        reqwest::StatusCode::UNPROCESSABLE_ENTITY,
        "{context}"
    );
    let body = json(response).await;
    assert!(
        body["error"]["fields"][field].is_string(),
        "{field}: {body}"
    );
    body
}
