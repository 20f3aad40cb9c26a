//! Shared by the benchmark binaries: the server as its own process (so its memory is measured
//! alone), percentiles, and `/proc` memory readings.

use std::{
    process::Stdio,
    time::{Duration, Instant},
};

use futures::StreamExt as _;
use serde_json::{Value, json};

use crate::{SseReader, fake_upstream::FakeUpstream, mongodb_uri};

/// A release `confab` process (`CONFAB_BIN`, default `target/release/confab`) with its own
/// database, answering from `upstream`. Killed when dropped.
pub struct ServerProcess {
    pub child: tokio::process::Child,
    pub pid: u32,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub port: u16,
    pub database: String,
}

pub async fn start_server(upstream: &FakeUpstream) -> anyhow::Result<ServerProcess> {
    let database = format!("bench_{}", uuid::Uuid::new_v4().simple());
    start_server_with(upstream, &database, &[]).await
}

/// `start_server` on a given database (several processes of one deployment share one), with
/// extra settings (`CONFAB_BIN` in them picks the binary).
pub async fn start_server_with(
    upstream: &FakeUpstream,
    database: &str,
    extra: &[(&str, &str)],
) -> anyhow::Result<ServerProcess> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let database = database.to_owned();
    let binary = extra
        .iter()
        .find(|(k, _)| *k == "CONFAB_BIN")
        .map(|(_, v)| (*v).to_owned())
        .or_else(|| std::env::var("CONFAB_BIN").ok())
        .unwrap_or_else(|| "target/release/confab".to_owned());
    let child = tokio::process::Command::new(&binary)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PORT", port.to_string())
        .env("MONGODB_URI", mongodb_uri())
        .env("MONGODB_DATABASE", &database)
        .env("JWT_SECRET", "bench-secret-bench-secret-bench-secret-0123")
        .env("OPENAI_API_BASE_URL", upstream.base_url())
        .env("UPSTREAM_KIND", "vllm")
        .env("AVAILABLE_MODELS", "confab-demo")
        .env("RUST_LOG", "warn")
        .env("CLIENT_DIR", "/nonexistent")
        // The benchmarks measure throughput from one address and a few users: fair-use limits off.
        .env("MAX_CONCURRENT_GENERATIONS_PER_USER", "0")
        .env("RATE_LIMIT_MESSAGES_PER_MINUTE", "0")
        .env("REGISTRATIONS_PER_IP_PER_HOUR", "0")
        .envs(extra.iter().copied().filter(|(k, _)| *k != "CONFAB_BIN"))
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            anyhow::anyhow!(
                "starting {binary}: {e} (build it with cargo build --release -p confab-server)"
            )
        })?;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while client
        .get(format!("{base}{}", crate::paths::HEALTH))
        .send()
        .await
        .is_err()
    {
        anyhow::ensure!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(ServerProcess {
        pid: child.id().unwrap_or(0),
        child,
        base,
        port,
        database,
    })
}

/// POSTs JSON (with a bearer token if given) and returns the JSON answer; non-2xx is an error.
pub async fn post_json(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: &Value,
) -> anyhow::Result<Value> {
    let mut request = client.post(url).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    anyhow::ensure!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    Ok(response.json().await?)
}

/// Registers `name` (`name@example.org`); the answer (`access_token`, `user`…).
pub async fn sign_up(client: &reqwest::Client, base: &str, name: &str) -> anyhow::Result<Value> {
    post_json(
        client,
        &format!("{base}/api/auth/register"),
        None,
        &json!({ "username": name, "email": format!("{name}@example.org"), "password": "benchmark password" }),
    )
    .await
}

pub fn sorted(mut values: Vec<f64>) -> Vec<f64> {
    values.sort_by(|a, b| a.total_cmp(b));
    values
}

/// The `p` quantile (0–1) of sorted values; NaN when there are none.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A `/proc/PID/status` memory field in KiB (`VmRSS:` now, `VmHWM:` peak); NaN if unreadable.
pub fn memory_kib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .unwrap_or(f64::NAN)
}

/// How one streamed answer went, timed from the request.
pub struct Timing {
    pub ttft: Duration,
    /// To the last piece of text.
    pub last_text: Duration,
    pub total: Duration,
    pub chunks: usize,
}

/// Streams straight from the fake upstream, as Confab itself would.
pub async fn direct(
    client: &reqwest::Client,
    upstream: &FakeUpstream,
    prompt: &str,
) -> anyhow::Result<Timing> {
    let started = Instant::now();
    let response = client
        .post(format!("{}/chat/completions", upstream.base_url()))
        .json(&json!({
            "model": "confab-demo", "stream": true, "stream_options": { "include_usage": true },
            "messages": [{ "role": "user", "content": prompt }]
        }))
        .send()
        .await?;
    let mut body = response.bytes_stream();
    let mut ttft = None;
    let mut last_text = Duration::ZERO;
    let mut chunks = 0;
    let mut buffer = String::new();
    while let Some(bytes) = body.next().await {
        buffer.push_str(&String::from_utf8_lossy(&bytes?));
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            if frame.contains("\"content\":\"") && !frame.contains("\"content\":\"\"") {
                ttft.get_or_insert_with(|| started.elapsed());
                last_text = started.elapsed();
                chunks += 1;
            }
        }
    }
    Ok(Timing {
        ttft: ttft.unwrap_or_default(),
        last_text,
        total: started.elapsed(),
        chunks,
    })
}

/// Streams through Confab; `Ok(None)` when the stream did not end with a complete answer.
pub async fn via_confab(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    chat: &str,
    prompt: &str,
) -> anyhow::Result<Option<Timing>> {
    let started = Instant::now();
    let response = client
        .post(format!("{base}/api/chats/{chat}/messages"))
        .bearer_auth(token)
        // As the web client sends it: a key that makes a repeated submission harmless.
        .json(&json!({
            "content": prompt,
            "client_request_id": uuid::Uuid::new_v4().to_string(),
        }))
        .send()
        .await?;
    if !response.status().is_success() {
        return Ok(None);
    }
    let mut reader = SseReader::new(response);
    let mut ttft = None;
    let mut last_text = Duration::ZERO;
    let mut chunks = 0;
    let mut complete = false;
    while let Some(event) = reader.next().await {
        match event.event.as_str() {
            "delta" => {
                ttft.get_or_insert_with(|| started.elapsed());
                last_text = started.elapsed();
                chunks += 1;
            }
            "done" => complete = event.data["status"] == "complete",
            _ => {}
        }
    }
    Ok(complete.then(|| Timing {
        ttft: ttft.unwrap_or_default(),
        last_text,
        total: started.elapsed(),
        chunks,
    }))
}

/// Votes on `answer` (up on even rounds, down on odd ones, so that every round changes it).
pub async fn vote(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    chat: &str,
    answer: &str,
    round: usize,
) -> anyhow::Result<()> {
    let vote = if round.is_multiple_of(2) {
        "up"
    } else {
        "down"
    };
    let response = client
        .put(format!("{base}/api/chats/{chat}/messages/{answer}/vote"))
        .bearer_auth(token)
        .json(&json!({ "vote": vote }))
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "vote: {}",
        response.status()
    );
    Ok(())
}

/// A benchmark's WebSocket client.
pub type BenchSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// One fan-out round: every socket listens for a text frame containing `needle`, then
/// `trigger` runs; each socket's delivery latency in ms from the trigger (in socket order;
/// `None`: not received within 10 s), and the sockets back.
pub async fn fan_out<F, Fut>(
    sockets: Vec<BenchSocket>,
    needle: &'static str,
    trigger: F,
) -> anyhow::Result<(Vec<Option<f64>>, Vec<BenchSocket>)>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    use futures::SinkExt as _;
    use tokio_tungstenite::tungstenite::Message;
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|mut ws| {
            tokio::spawn(async move {
                let got = tokio::time::timeout(Duration::from_secs(10), async {
                    while let Some(Ok(frame)) = ws.next().await {
                        if let Message::Text(text) = frame
                            && text.contains(needle)
                        {
                            return Some(Instant::now());
                        }
                    }
                    None
                })
                .await;
                (got.ok().flatten(), ws)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    trigger().await?;
    let mut latencies = Vec::with_capacity(readers.len());
    let mut sockets = Vec::with_capacity(readers.len());
    for reader in readers {
        let (at, mut ws) = reader.await?;
        let _ = ws.flush().await;
        latencies.push(at.map(|at| ms(at - started)));
        sockets.push(ws);
    }
    Ok((latencies, sockets))
}

/// A Prometheus text scrape: each series (`name{labels}`) and its value.
pub struct Scrape(std::collections::HashMap<String, f64>);

impl Scrape {
    pub async fn fetch(client: &reqwest::Client, url: &str) -> anyhow::Result<Self> {
        let text = client.get(url).send().await?.text().await?;
        Ok(Self(
            text.lines()
                .filter(|line| !line.starts_with('#'))
                .filter_map(|line| {
                    let (series, value) = line.rsplit_once(' ')?;
                    Some((series.to_owned(), value.parse().ok()?))
                })
                .collect(),
        ))
    }

    /// The sum of the series named `name` whose labels contain `label` (e.g. `stage="load"`).
    pub fn sum(&self, name: &str, label: &str) -> f64 {
        self.0
            .iter()
            .filter(|(series, _)| {
                series
                    .strip_prefix(name)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('{'))
                    && series.contains(label)
            })
            .map(|(_, value)| value)
            .sum()
    }

    /// The values of label `key` among the series named `name`.
    pub fn label_values(&self, name: &str, key: &str) -> Vec<String> {
        let prefix = format!("{name}{{");
        let marker = format!("{key}=\"");
        let mut values: Vec<String> = self
            .0
            .keys()
            .filter_map(|series| {
                let labels = series.strip_prefix(&prefix)?;
                let start = labels.find(&marker)? + marker.len();
                let end = labels[start..].find('"')?;
                Some(labels[start..start + end].to_owned())
            })
            .collect();
        values.sort();
        values.dedup();
        values
    }

    /// A histogram's mean in ms between two scrapes (`name` without `_sum` / `_count`).
    pub fn mean_ms_since(&self, before: &Scrape, name: &str, label: &str) -> f64 {
        let sum = format!("{name}_sum");
        let count = format!("{name}_count");
        let n = self.sum(&count, label) - before.sum(&count, label);
        (self.sum(&sum, label) - before.sum(&sum, label)) / n * 1e3
    }

    /// How much a counter (or a histogram's `_count`) grew between two scrapes.
    pub fn grew_since(&self, before: &Scrape, name: &str, label: &str) -> f64 {
        self.sum(name, label) - before.sum(name, label)
    }
}

/// A free port on 127.0.0.1 (for a listener a child process opens).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
