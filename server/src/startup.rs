//! `Application::build(settings)` wires everything; `run_until_stopped()` serves until SIGTERM
//! or Ctrl-C and then drains in-flight requests. Tests build the same application on port 0.

use std::{future::Future, net::SocketAddr, sync::Arc};

use anyhow::Context;
use axum::Router;
use secrecy::SecretString;
use tokio::net::TcpListener;

use crate::{
    auth::{jwt::JwtKeys, password::PasswordHasher},
    chat_log::ChatLog,
    config::{Environment, Settings},
    events::{EventSettings, Events},
    generation::{Generations, lease},
    http::{
        layers,
        serve::{ConnectionLimits, serve},
    },
    live::Tickets,
    llm::Catalog,
    routes,
    state::{App, AppState},
    store::Store,
};

/// How long shutdown waits for every socket to send its close frame.
const SOCKETS_CLOSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        // TLS for upstream HTTPS (reqwest) uses rustls with the ring provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let store = Store::connect(&settings.mongodb).await?;
        let catalog = Catalog::from_settings(&settings.llm)?;
        if catalog.is_empty() {
            tracing::warn!(
                "no upstream model configured (OPENAI_API_BASE_URL / MODELS_FILE): chats cannot be answered"
            );
        } else if catalog.is_demo() {
            tracing::info!("answering with the built-in demo model");
        }
        let chat_log = ChatLog::open(settings.chat_log.clone());
        let live = settings.live.clone();
        let fair_use = settings.fair_use;
        let secret = match &settings.auth.jwt_secret {
            Some(secret) => secret.clone(),
            None => ephemeral_secret(settings.environment)?,
        };
        let jwt = JwtKeys::new(
            &secret,
            &settings.auth.jwt_issuer,
            &settings.auth.jwt_audience,
            settings.auth.access_token_ttl,
        );
        let passwords = PasswordHasher::new(settings.auth.password_hash_concurrency).await?;

        let address = SocketAddr::new(settings.host, settings.port);
        let listener = TcpListener::bind(address)
            .await
            .with_context(|| format!("binding {address}"))?;
        let events = Events::start(
            store.events.clone(),
            EventSettings {
                queue: live.queue,
                retention: live.retention,
            },
        );
        let tickets = Tickets::new(live.ticket_ttl, store.tickets.clone());
        let state = AppState(Arc::new(App {
            settings,
            store,
            jwt,
            passwords,
            catalog,
            generations: Generations::new(fair_use),
            chat_log,
            events,
            tickets,
            session_cache: Default::default(),
            standing_cache: Default::default(),
            known_chats: Default::default(),
            sockets: Default::default(),
            draining: Default::default(),
            metrics_addr: Default::default(),
        }));
        // Sessions ended on any process are forgotten by this one's cache at once.
        let mut ended = state.events.ended_sessions();
        let forgetting = state.clone();
        tokio::spawn(async move {
            loop {
                match ended.recv().await {
                    Ok(session_id) => forgetting.session_cache.forget(session_id),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        forgetting.session_cache.clear();
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        if let Some(addr) = state.settings.metrics.addr {
            let bound = crate::metrics::serve(addr)
                .await
                .context("serving METRICS_ADDR")?;
            let _ = state.metrics_addr.set(bound);
        }
        crate::follow::start(&state)
            .await
            .context("following the database's changes")?;
        lease::start(&state)
            .await
            .context("taking this process's lease")?;
        refresh_models(&state).await;
        tracing::info!(instance = %state.settings.instance, "this process's name");
        let router = layers::apply(routes::router(state.clone()), &state.settings);
        Ok(Self {
            listener,
            router,
            state,
        })
    }

    /// The port actually bound (useful with `PORT=0`).
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map_or(0, |a| a.port())
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGTERM or Ctrl-C, then finishes in-flight requests.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `signal` completes, then finishes in-flight requests.
    pub async fn run_until(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let address = self.listener.local_addr()?;
        tracing::info!(%address, public_url = %self.state.settings.public_url, "Confab is listening");
        let state = self.state.clone();
        // The drain: `/api/ready` turns 503 and no answer starts here (the balancer and clients
        // go elsewhere), every socket closes with 1001 (clients reconnect to another process
        // and catch up), answers in progress get `DRAIN_TIMEOUT_SECS` to finish and are then
        // stopped and saved; meanwhile other requests are still served. Then the listener
        // closes and connections drain.
        let signal = async move {
            signal.await;
            state
                .draining
                .store(true, std::sync::atomic::Ordering::SeqCst);
            state.events.close_all();
            let running = state.generations.running().len();
            tracing::info!(running, "draining: answers in progress may finish");
            let deadline = tokio::time::Instant::now() + state.settings.drain_timeout;
            while !state.generations.running().is_empty() && tokio::time::Instant::now() < deadline
            {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            let stopping = state.generations.stop_all();
            if stopping > 0 {
                tracing::info!(stopping, "drain timeout: stopping answers in progress");
            }
        };
        let http = &self.state.settings.http;
        let limits = ConnectionLimits {
            header_read_timeout: http.header_read_timeout,
            max_connections: http.max_connections,
            drain_timeout: http.shutdown_timeout,
        };
        serve(self.listener, self.router, limits, signal).await?;
        // Upgraded connections are no longer hyper's: wait for the sockets' close frames.
        self.state.sockets.close();
        if tokio::time::timeout(SOCKETS_CLOSE_TIMEOUT, self.state.sockets.wait())
            .await
            .is_err()
        {
            tracing::warn!("some sockets did not close in time");
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        while !self.state.generations.is_empty() && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        // Gone cleanly: no other process needs to wait for this one's lease to run out.
        if self.state.generations.is_empty()
            && let Err(err) = crate::store::instances::remove(
                &self.state.store.instances,
                &self.state.settings.instance,
            )
            .await
        {
            tracing::warn!(error = %err, "forgetting this process's lease failed");
        }
        tracing::info!("Confab stopped");
        Ok(())
    }
}

fn ephemeral_secret(environment: Environment) -> anyhow::Result<SecretString> {
    anyhow::ensure!(
        environment == Environment::Development,
        "JWT_SECRET is required in production"
    );
    let bytes: [u8; 48] = rand::random();
    tracing::warn!(
        "JWT_SECRET is not set: using an EPHEMERAL secret for this run (development mode). \
         Every session ends when the server restarts. Set JWT_SECRET (32+ bytes) to keep them."
    );
    Ok(SecretString::from(hex::encode(bytes)))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; draining");
}

/// `confab healthcheck`: GET /api/health on the local port; exit 0 when it answers 200.
/// Lets container healthchecks work without curl in the image.
pub async fn healthcheck() -> std::process::ExitCode {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or(8080);
    let probe = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        stream
            .write_all(b"GET /api/health HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .await?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await?;
        std::io::Result::Ok(head.starts_with(b"HTTP/1.1 200") || head.starts_with(b"HTTP/1.0 200"))
    };
    match tokio::time::timeout(std::time::Duration::from_secs(3), probe).await {
        Ok(Ok(true)) => std::process::ExitCode::SUCCESS,
        _ => std::process::ExitCode::FAILURE,
    }
}

/// How soon a model list is asked for again while a discovering endpoint does not give it.
const DISCOVER_RETRY: std::time::Duration = std::time::Duration::from_secs(10);
/// How long start-up waits for the first model lists (then they come in the background).
const DISCOVER_AT_START: std::time::Duration = std::time::Duration::from_secs(3);

/// Reads the upstreams' model lists now (a discovering deployment's start-up waits a little for
/// them, so that its first request finds its models; any other starts at once), then every
/// `DISCOVER_INTERVAL_SECS` — sooner while a discovering endpoint does not answer, so its
/// models appear once it does.
async fn refresh_models(state: &AppState) {
    let (first, done) = tokio::sync::oneshot::channel::<()>();
    let refreshing = state.clone();
    tokio::spawn(async move {
        let mut first = Some(first);
        loop {
            let complete = refreshing.catalog.refresh().await;
            if let Some(first) = first.take() {
                let _ = first.send(());
            }
            let interval = refreshing.catalog.discover_interval();
            let wait = if complete {
                interval
            } else {
                interval.min(DISCOVER_RETRY)
            };
            tokio::time::sleep(wait).await;
        }
    });
    if state.catalog.discovers() && tokio::time::timeout(DISCOVER_AT_START, done).await.is_err() {
        tracing::warn!("the upstreams' model lists are slow to come; starting without waiting");
    }
}
