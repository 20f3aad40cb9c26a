//! Builds the web client (`client/` → `client/dist`) when its output is older than its
//! sources, so a plain `cargo build` / `cargo run` serves the current client, and tells the
//! server where that build lives (`CONFAB_BUILT_CLIENT_DIR`; `CLIENT_DIR` still wins at run time).
//!
//! It never fails the Rust build: without npm, with `CONFAB_SKIP_CLIENT_BUILD` set, or when the
//! client build fails, it prints a warning and the server serves an older build or its
//! placeholder page. When `client/dist` is fresh it does not start npm at all, so repeat runs
//! (every profile, `cargo check`, clippy) cost a few `stat`s.

use std::{
    env,
    ffi::OsStr,
    fs,
    path::{Path, PathBuf},
    process::{Command, Output},
    time::SystemTime,
};

/// Files and folders of `client/` that the build reads, besides `tsconfig*.json`.
const INPUTS: &[&str] = &[
    "src",
    "public",
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "svelte.config.js",
];

const SKIP_VAR: &str = "CONFAB_SKIP_CLIENT_BUILD";
const HOW_TO_BUILD: &str = "to build it yourself: `cd client && npm ci && npm run build` \
     (no Rust rebuild needed: the server looks for client/dist/index.html when it starts)";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed={SKIP_VAR}");

    let Some(root) = env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .and_then(|dir| dir.parent().map(Path::to_path_buf))
    else {
        warn("CARGO_MANIFEST_DIR is not set: not building the web client");
        return;
    };
    let client = root.join("client");
    let dist = client.join("dist");
    println!("cargo:rustc-env=CONFAB_BUILT_CLIENT_DIR={}", dist.display());

    // No client sources (e.g. the server-only stage of the container build): nothing to do.
    if !client.join("package.json").is_file() {
        return;
    }

    let inputs = inputs(&client);
    let skip = skip_requested();
    // Cargo walks folders itself. Only existing paths are listed: a missing one would make
    // Cargo rerun this script (and recompile the server) on every build. When skipping, client
    // edits need not rerun it at all.
    if !skip {
        for input in &inputs {
            println!("cargo:rerun-if-changed={}", input.display());
        }
    }

    let state = state(&inputs, &dist.join("index.html"));
    if state == State::Fresh {
        return;
    }
    let fallback = match state {
        State::Missing => "the server will serve its placeholder page",
        _ => "the server will serve the older build in client/dist",
    };

    if skip {
        warn(&format!(
            "{SKIP_VAR} is set: not building the web client ({}); {fallback}; {HOW_TO_BUILD}",
            state.describe()
        ));
        return;
    }

    if let Err(failure) = build_client(&client) {
        warn(&format!(
            "the web client was not built: {}; {fallback}; {HOW_TO_BUILD}",
            failure.reason
        ));
        for line in failure.tail {
            warn(&format!("  | {line}"));
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Fresh,
    Stale,
    Missing,
}

impl State {
    fn describe(self) -> &'static str {
        match self {
            Self::Fresh => "client/dist is up to date",
            Self::Stale => "client/dist is older than its sources",
            Self::Missing => "client/dist has no index.html",
        }
    }
}

fn skip_requested() -> bool {
    env::var(SKIP_VAR).is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"))
}

/// The existing build inputs: [`INPUTS`] plus every `tsconfig*.json`.
fn inputs(client: &Path) -> Vec<PathBuf> {
    let mut inputs: Vec<PathBuf> = INPUTS.iter().map(|name| client.join(name)).collect();
    if let Ok(entries) = fs::read_dir(client) {
        let mut tsconfigs: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| {
                path.file_name()
                    .and_then(OsStr::to_str)
                    .is_some_and(|name| name.starts_with("tsconfig") && name.ends_with(".json"))
            })
            .collect();
        tsconfigs.sort();
        inputs.extend(tsconfigs);
    }
    inputs.retain(|path| path.exists());
    inputs
}

fn state(inputs: &[PathBuf], index: &Path) -> State {
    let Some(built) = mtime(index) else {
        return State::Missing;
    };
    let newest = inputs.iter().filter_map(|path| newest_mtime(path)).max();
    match newest {
        Some(newest) if newest > built => State::Stale,
        _ => State::Fresh,
    }
}

fn mtime(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The newest modification time of a file, or of a folder and everything in it.
fn newest_mtime(path: &Path) -> Option<SystemTime> {
    let own = mtime(path);
    let Ok(entries) = fs::read_dir(path) else {
        return own;
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| newest_mtime(&entry.path()))
        .chain(own)
        .max()
}

struct Failure {
    reason: String,
    /// The last lines npm printed, to show why.
    tail: Vec<String>,
}

fn build_client(client: &Path) -> Result<(), Failure> {
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    if !client.join("node_modules").is_dir() {
        run(client, npm, &["ci", "--no-audit", "--no-fund"])?;
    }
    run(client, npm, &["run", "build"])
}

fn run(client: &Path, npm: &str, args: &[&str]) -> Result<(), Failure> {
    let shown = format!("{npm} {}", args.join(" "));
    let output: Output = Command::new(npm)
        .args(args)
        .current_dir(client)
        // Plain text: the log and the warnings below are read without a terminal.
        .env("NO_COLOR", "1")
        .env("FORCE_COLOR", "0")
        .output()
        .map_err(|e| Failure {
            reason: match e.kind() {
                std::io::ErrorKind::NotFound => {
                    format!("`{npm}` was not found (install Node.js 20+ with npm)")
                }
                _ => format!("`{shown}` could not start: {e}"),
            },
            tail: Vec::new(),
        })?;
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // Kept in the build script's log: `cargo build -vv`, or target/*/build/confab-server-*/stderr.
    eprintln!("$ {shown} (in {})\n{log}", client.display());
    if output.status.success() {
        return Ok(());
    }
    Err(Failure {
        reason: format!("`{shown}` failed ({})", output.status),
        tail: excerpt(&log),
    })
}

/// Up to 15 lines of a failed command's output from its first error (else its last lines),
/// without npm's own warnings and JavaScript stack frames.
fn excerpt(log: &str) -> Vec<String> {
    const LINES: usize = 15;
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with("npm warn") && !t.starts_with("at ")
        })
        .collect();
    let start = lines
        .iter()
        .position(|l| l.to_ascii_lowercase().contains("error"))
        .unwrap_or_else(|| lines.len().saturating_sub(LINES));
    lines[start..]
        .iter()
        .take(LINES)
        .map(|l| (*l).to_owned())
        .collect()
}

fn warn(message: &str) {
    println!("cargo:warning={message}");
}
