//! HTTP: body and connection limits, proxies, CORS, and where the web client is.

use std::{path::PathBuf, time::Duration};

use crate::env::{BadSetting, Env};

#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub max_body_bytes: usize,
    /// An import's upload, and what a zip of it expands to (`MAX_IMPORT_BYTES`).
    pub max_import_bytes: usize,
    /// Use `X-Forwarded-For` for the client address (only behind a trusted reverse proxy).
    pub trust_proxy_headers: bool,
    /// Extra origins allowed by CORS; same-origin needs none.
    pub cors_allowed_origins: Vec<String>,
    /// A request's headers must arrive within this; it also closes idle keep-alive connections.
    pub header_read_timeout: Duration,
    /// Open connections at most (WebSockets included); more wait in the kernel's backlog.
    pub max_connections: usize,
    /// How long shutdown waits for requests in flight (streams included) to finish.
    pub shutdown_timeout: Duration,
    /// Folder with the built web client; a placeholder page is served when it has no index.html.
    /// `CLIENT_DIR`, else the client that `cargo build` built ([`BUILT_CLIENT_DIR`]) when it is
    /// there, else `client/dist` under the working directory.
    pub client_dir: PathBuf,
}

impl HttpSettings {
    pub fn from_env(env: &Env<'_>) -> Result<Self, BadSetting> {
        Ok(Self {
            max_body_bytes: env.parse("MAX_BODY_BYTES", 256 * 1024)?,
            max_import_bytes: env.parse("MAX_IMPORT_BYTES", 100 * 1024 * 1024)?,
            trust_proxy_headers: env.parse("TRUST_PROXY_HEADERS", false)?,
            cors_allowed_origins: env.list("CORS_ALLOWED_ORIGINS"),
            header_read_timeout: Duration::from_secs(
                env.parse::<u64>("HTTP_HEADER_READ_TIMEOUT_SECS", 30)?
                    .max(1),
            ),
            max_connections: env.parse("HTTP_MAX_CONNECTIONS", 10_000)?,
            shutdown_timeout: env.secs("SHUTDOWN_TIMEOUT_SECS", 3)?,
            client_dir: client_dir(env.raw("CLIENT_DIR"), BUILT_CLIENT_DIR),
        })
    }
}

/// The web client built by `server/build.rs` (absolute `client/dist` of the source tree).
pub const BUILT_CLIENT_DIR: Option<&str> = option_env!("CONFAB_BUILT_CLIENT_DIR");

/// `CLIENT_DIR` wins; else the compile-time build if it has an `index.html` now (the binary may
/// run elsewhere, or the build may have been skipped); else `client/dist` relative to the
/// working directory, which falls back to the placeholder page when it has no build either.
fn client_dir(explicit: Option<String>, built: Option<&str>) -> PathBuf {
    if let Some(dir) = explicit {
        return PathBuf::from(dir);
    }
    built
        .map(PathBuf::from)
        .filter(|dir| dir.join("index.html").is_file())
        .unwrap_or_else(|| PathBuf::from("client/dist"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_dir_prefers_client_dir_then_the_built_client_if_present() {
        let built = std::env::temp_dir().join(format!("confab-client-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&built).expect("temp dir");
        let built_str = built.to_str().expect("utf-8 temp path");

        // Built folder without index.html (build skipped or failed): the relative default.
        assert_eq!(
            client_dir(None, Some(built_str)),
            PathBuf::from("client/dist")
        );
        assert_eq!(client_dir(None, None), PathBuf::from("client/dist"));

        std::fs::write(built.join("index.html"), "<!doctype html>").expect("index.html");
        assert_eq!(client_dir(None, Some(built_str)), built);
        // An explicit CLIENT_DIR always wins, even over a present build.
        assert_eq!(
            client_dir(Some("/srv/confab".into()), Some(built_str)),
            PathBuf::from("/srv/confab")
        );
        let lookup = |name: &str| (name == "CLIENT_DIR").then(|| "/srv/confab".to_owned());
        let settings = HttpSettings::from_env(&Env::new(&lookup)).expect("loads");
        assert_eq!(settings.client_dir, PathBuf::from("/srv/confab"));

        std::fs::remove_dir_all(&built).expect("clean up");
    }
}
