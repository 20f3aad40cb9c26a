//! A deterministic OpenAI-compatible upstream LLM, for browser tests, benchmarks and demos.
//!
//!     cargo run -p integration-tests --bin fake_upstream -- [--host 127.0.0.1] [--port 8081] \
//!         [--models a,b] [--unloaded a] [--load-ms N] [--chunk-delay-ms N] [--reply-tokens N] \
//!         [--control]
//!
//! Defaults come from FAKE_UPSTREAM_HOST / FAKE_UPSTREAM_PORT / FAKE_UPSTREAM_MODELS, else
//! 127.0.0.1, 8081 and `confab-demo`. Runs until Ctrl-C or SIGTERM.
//!
//! Besides the OpenAI API it speaks llama-server's router mode (`GET /models`,
//! `POST /models/load|unload`, `GET /props`) and Ollama's (`GET /api/tags`, `GET /api/ps`,
//! `POST /api/generate` to load or unload). Models start loaded but those in `--unloaded`;
//! a load takes `--load-ms` (default 0: at once), and a chat completion for a model not
//! loaded loads it first.
//!
//! As the demo model (no `--control`) it keeps nothing it is sent and has no control
//! endpoints; `--control` (tests only) records every request and serves `/__…`.

use integration_tests::fake_upstream::{Behaviour, DEFAULT_MODEL, FakeUpstream, Options};

const USAGE: &str = "usage: fake_upstream [--host HOST] [--port PORT] [--models a,b]
                     [--unloaded a,b] [--load-ms N] [--chunk-delay-ms N]
                     [--reply-tokens N] [--control]
  env: FAKE_UPSTREAM_HOST, FAKE_UPSTREAM_PORT, FAKE_UPSTREAM_MODELS
  --unloaded: these served models start unloaded (the others loaded)
  --load-ms: how long loading a model takes (default 0: at once)
  serves /v1/models, /v1/chat/completions, llama-server router mode (GET /models,
  POST /models/load, POST /models/unload, GET /props) and Ollama (GET /api/tags,
  GET /api/ps, POST /api/generate without a prompt to load or unload)
  --control (tests only): record requests and serve GET|DELETE /__requests,
            GET|PUT /__behaviour, POST /__reset, GET /__health, GET /__residency,
            PUT /__residency/MODEL, GET /__residency_calls, GET|PUT /__models";

const DEFAULT_PORT: u16 = 8081;

fn parse_port(value: &str) -> Result<u16, String> {
    value.parse().map_err(|_| format!("invalid port `{value}`"))
}

fn parse_number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{flag}: `{value}` is not a number"))
}

fn parse_models(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Options from the environment, then overridden by the command line.
fn options(args: impl IntoIterator<Item = String>) -> Result<Option<Options>, String> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let mut options = Options {
        host: env("FAKE_UPSTREAM_HOST").unwrap_or_else(|| "127.0.0.1".to_owned()),
        port: match env("FAKE_UPSTREAM_PORT") {
            Some(port) => parse_port(port.trim())?,
            None => DEFAULT_PORT,
        },
        models: env("FAKE_UPSTREAM_MODELS")
            .map(|m| parse_models(&m))
            .unwrap_or_else(|| vec![DEFAULT_MODEL.to_owned()]),
        unloaded: Vec::new(),
        control: false,
        behaviour: Behaviour::default(),
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg, None),
        };
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        if flag == "--control" {
            options.control = true;
            continue;
        }
        let known = [
            "--host",
            "--port",
            "--models",
            "--unloaded",
            "--load-ms",
            "--chunk-delay-ms",
            "--reply-tokens",
        ];
        if !known.contains(&flag.as_str()) {
            return Err(format!("unknown argument `{flag}`"));
        }
        let Some(value) = inline.or_else(|| args.next()) else {
            return Err(format!("{flag} needs a value"));
        };
        match flag.as_str() {
            "--host" => options.host = value,
            "--port" => options.port = parse_port(&value)?,
            "--chunk-delay-ms" => options.behaviour.chunk_delay_ms = parse_number(&flag, &value)?,
            "--reply-tokens" => options.behaviour.reply_tokens = Some(parse_number(&flag, &value)?),
            "--load-ms" => options.behaviour.load_ms = parse_number(&flag, &value)?,
            "--unloaded" => options.unloaded = parse_models(&value),
            _ => options.models = parse_models(&value),
        }
    }
    Ok(Some(options))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = match options(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}");
            return Ok(());
        }
        Err(error) => {
            eprintln!("fake_upstream: {error}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let host = options.host.clone();
    let upstream = FakeUpstream::start_with(options)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {host}: {e}"))?;
    println!(
        "fake upstream listening on http://{}/v1",
        upstream.local_addr()
    );
    shutdown_signal().await;
    drop(upstream);
    Ok(())
}
