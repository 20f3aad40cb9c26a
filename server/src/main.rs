//! `confab` — runs the server. `confab healthcheck` probes a running one (for containers);
//! `confab user …` manages accounts (see `cli`).

use std::process::ExitCode;

use confab::{Application, Settings, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("healthcheck") => return confab::startup::healthcheck().await,
        Some("user") => return confab::cli::user(&args[1..]).await,
        _ => {}
    }
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("confab: invalid configuration: {err}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(settings.log_format);
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "Confab could not start");
            return ExitCode::FAILURE;
        }
    };
    match app.run_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "server error");
            ExitCode::FAILURE
        }
    }
}
