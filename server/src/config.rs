//! Typed settings, loaded once at start-up from the environment (and `.env` if present).
//!
//! Every setting, its default and its meaning is documented in `.env.example`.

use std::{net::IpAddr, path::PathBuf, str::FromStr, time::Duration};

use secrecy::{ExposeSecret, SecretString};

use crate::auth::throttle::LoginPolicy;

pub use crate::llm::LlmSettings;

/// Minimum length of `JWT_SECRET` in bytes.
pub const MIN_JWT_SECRET_BYTES: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

impl FromStr for Environment {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "development" | "dev" => Ok(Self::Development),
            "production" | "prod" => Ok(Self::Production),
            other => Err(format!(
                "expected `development` or `production`, got `{other}`"
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "pretty" | "text" => Ok(Self::Pretty),
            "json" => Ok(Self::Json),
            other => Err(format!("expected `pretty` or `json`, got `{other}`")),
        }
    }
}

/// Everything the server needs to know, in one typed value. No globals: tests build their own.
#[derive(Debug, Clone)]
pub struct Settings {
    pub environment: Environment,
    pub host: IpAddr,
    /// 0 picks a free port (tests).
    pub port: u16,
    /// The address users reach Confab at; `https://` makes cookies `Secure` and adds HSTS.
    pub public_url: String,
    pub mongodb: MongoSettings,
    pub auth: AuthSettings,
    pub http: HttpSettings,
    pub log_format: LogFormat,
    /// `CHAT_LOG`: a JSON Lines file receiving every finished answer, for research use.
    pub chat_log: Option<PathBuf>,
    /// The upstream LLM endpoints and their limits.
    pub llm: LlmSettings,
    /// Live events over WebSocket.
    pub live: LiveSettings,
    /// Fair use: how much one user or one address may ask for.
    pub limits: LimitSettings,
}

/// Fair-use limits (0 turns a limit off).
#[derive(Debug, Clone)]
pub struct LimitSettings {
    /// Answers being generated at once for one user.
    pub max_concurrent_generations_per_user: usize,
    /// Answers (send, edit, regenerate) one user may start per minute.
    pub messages_per_minute: usize,
    /// Accounts that may be registered from one client address per hour.
    pub registrations_per_ip_per_hour: u32,
}

#[derive(Debug, Clone)]
pub struct LiveSettings {
    /// Events a socket may have waiting; a socket that falls further behind is closed (4008).
    pub queue: usize,
    /// How often the server pings each socket; one silent for two intervals is dropped.
    pub ping_interval: Duration,
    /// Lifetime of a single-use WebSocket ticket.
    pub ticket_ttl: Duration,
}

#[derive(Debug, Clone)]
pub struct MongoSettings {
    pub uri: SecretString,
    pub database: String,
    /// How long an operation waits for a reachable server before failing with 503.
    pub timeout: Duration,
    /// How long start-up keeps retrying to reach MongoDB before giving up.
    pub startup_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// `None` in development means: generate an ephemeral secret (and say so loudly).
    pub jwt_secret: Option<SecretString>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// `None`: derived from `public_url` (`Secure` behind HTTPS).
    pub cookie_secure: Option<bool>,
    pub password_hash_concurrency: usize,
    /// Failed logins: see `auth::throttle` for the policy.
    pub login: LoginPolicy,
}

#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub max_body_bytes: usize,
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

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name}: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error(
        "JWT_SECRET must be set to at least {MIN_JWT_SECRET_BYTES} bytes in production \
         (generate one with `openssl rand -base64 48`)"
    )]
    WeakJwtSecret,
}

impl Settings {
    /// Reads `.env` (if present) and then the process environment.
    pub fn load() -> Result<Self, ConfigError> {
        // A missing .env is normal; a malformed one is reported by the variables it fails to set.
        let _ = dotenvy::dotenv();
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds settings from any key → value lookup (the environment, or a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&get);
        let environment: Environment = env.parse("CONFAB_ENV", Environment::Development)?;
        let public_url = env.string("PUBLIC_URL", "http://localhost:8080");
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());

        let jwt_secret = env.secret("JWT_SECRET");
        let secret_ok = jwt_secret
            .as_ref()
            .is_some_and(|s| s.expose_secret().len() >= MIN_JWT_SECRET_BYTES);
        if jwt_secret.is_some() && !secret_ok {
            return Err(ConfigError::WeakJwtSecret);
        }
        if environment == Environment::Production && !secret_ok {
            return Err(ConfigError::WeakJwtSecret);
        }

        Ok(Self {
            environment,
            host: env.parse("HOST", IpAddr::from([127, 0, 0, 1]))?,
            port: env.parse("PORT", 8080)?,
            mongodb: MongoSettings {
                uri: env.secret("MONGODB_URI").unwrap_or_else(|| {
                    SecretString::from("mongodb://127.0.0.1:27017/?directConnection=true")
                }),
                database: env.string("MONGODB_DATABASE", "confab"),
                timeout: Duration::from_millis(env.parse("MONGODB_TIMEOUT_MS", 3000)?),
                startup_timeout: Duration::from_secs(
                    env.parse("MONGODB_STARTUP_TIMEOUT_SECS", 30)?,
                ),
            },
            auth: AuthSettings {
                jwt_secret,
                jwt_issuer: env.string("JWT_ISSUER", "confab"),
                jwt_audience: env.string("JWT_AUDIENCE", "confab-api"),
                access_token_ttl: Duration::from_secs(env.parse("ACCESS_TOKEN_TTL_SECS", 900)?),
                refresh_token_ttl: Duration::from_secs(
                    env.parse::<u64>("REFRESH_TOKEN_TTL_DAYS", 30)? * 86_400,
                ),
                cookie_secure: env.optional("COOKIE_SECURE")?,
                password_hash_concurrency: env.parse("PASSWORD_HASH_CONCURRENCY", cores)?.max(1),
                login: LoginPolicy {
                    free_failures: env.parse("LOGIN_FREE_FAILURES", 5)?,
                    backoff_base: Duration::from_secs(env.parse("LOGIN_BACKOFF_BASE_SECS", 30)?),
                    backoff_max: Duration::from_secs(env.parse("LOGIN_BACKOFF_MAX_SECS", 900)?),
                    max_per_account: env
                        .parse::<u32>("LOGIN_MAX_FAILURES_PER_ACCOUNT", 100)?
                        .max(1),
                    max_per_ip: env.parse::<u32>("LOGIN_MAX_FAILURES_PER_IP", 50)?.max(1),
                    ip_window: Duration::from_secs(
                        env.parse::<u64>("LOGIN_FAILURE_WINDOW_SECS", 900)?.max(1),
                    ),
                    memory: Duration::from_secs(
                        env.parse::<u64>("LOGIN_FAILURE_MEMORY_SECS", 86_400)?
                            .max(1),
                    ),
                },
            },
            http: HttpSettings {
                max_body_bytes: env.parse("MAX_BODY_BYTES", 256 * 1024)?,
                trust_proxy_headers: env.parse("TRUST_PROXY_HEADERS", false)?,
                cors_allowed_origins: env
                    .string("CORS_ALLOWED_ORIGINS", "")
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
                header_read_timeout: Duration::from_secs(
                    env.parse::<u64>("HTTP_HEADER_READ_TIMEOUT_SECS", 30)?
                        .max(1),
                ),
                max_connections: env.parse("HTTP_MAX_CONNECTIONS", 10_000)?,
                shutdown_timeout: Duration::from_secs(env.parse("SHUTDOWN_TIMEOUT_SECS", 10)?),
                client_dir: client_dir(env.raw("CLIENT_DIR"), BUILT_CLIENT_DIR),
            },
            log_format: env.parse(
                "LOG_FORMAT",
                match environment {
                    Environment::Development => LogFormat::Pretty,
                    Environment::Production => LogFormat::Json,
                },
            )?,
            public_url,
            chat_log: env.raw("CHAT_LOG").map(PathBuf::from),
            live: LiveSettings {
                queue: env.parse("WS_QUEUE", 256)?,
                ping_interval: Duration::from_millis(env.parse("WS_PING_INTERVAL_MS", 20_000)?),
                ticket_ttl: Duration::from_secs(env.parse("WS_TICKET_TTL_SECS", 30)?),
            },
            limits: LimitSettings {
                max_concurrent_generations_per_user: env
                    .parse("MAX_CONCURRENT_GENERATIONS_PER_USER", 3)?,
                messages_per_minute: env.parse("RATE_LIMIT_MESSAGES_PER_MINUTE", 20)?,
                registrations_per_ip_per_hour: env.parse("REGISTRATIONS_PER_IP_PER_HOUR", 10)?,
            },
            llm: LlmSettings::from_lookup(&|name: &str| env.raw(name)).map_err(|reason| {
                ConfigError::Invalid {
                    name: "upstream settings",
                    reason,
                }
            })?,
        })
    }

    pub fn cookie_secure(&self) -> bool {
        self.auth
            .cookie_secure
            .unwrap_or_else(|| self.public_url.starts_with("https://"))
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

struct Env<'a, F: Fn(&str) -> Option<String>>(&'a F);

impl<F: Fn(&str) -> Option<String>> Env<'_, F> {
    fn raw(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }

    fn string(&self, name: &str, default: &str) -> String {
        self.raw(name).unwrap_or_else(|| default.to_owned())
    }

    fn secret(&self, name: &str) -> Option<SecretString> {
        self.raw(name).map(SecretString::from)
    }

    fn optional<T: FromStr>(&self, name: &'static str) -> Result<Option<T>, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        self.raw(name)
            .map(|v| {
                v.trim().parse().map_err(|e: T::Err| ConfigError::Invalid {
                    name,
                    reason: e.to_string(),
                })
            })
            .transpose()
    }

    fn parse<T: FromStr>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        Ok(self.optional(name)?.unwrap_or(default))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn development_starts_without_a_jwt_secret() {
        let settings = load(&[]).expect("defaults load");
        assert_eq!(settings.environment, Environment::Development);
        assert!(settings.auth.jwt_secret.is_none());
        assert_eq!(settings.port, 8080);
    }

    #[test]
    fn production_refuses_a_missing_or_short_jwt_secret() {
        assert!(matches!(
            load(&[("CONFAB_ENV", "production")]),
            Err(ConfigError::WeakJwtSecret)
        ));
        assert!(matches!(
            load(&[("CONFAB_ENV", "production"), ("JWT_SECRET", "too-short")]),
            Err(ConfigError::WeakJwtSecret)
        ));
        let ok = load(&[
            ("CONFAB_ENV", "production"),
            ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
        ]);
        assert!(ok.is_ok());
    }

    #[test]
    fn a_malformed_number_names_the_variable() {
        let err = load(&[("PORT", "eighty")]).expect_err("bad port");
        assert!(err.to_string().starts_with("PORT:"), "{err}");
    }

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
        let settings = load(&[("CLIENT_DIR", "/srv/confab")]).expect("loads");
        assert_eq!(settings.http.client_dir, PathBuf::from("/srv/confab"));

        std::fs::remove_dir_all(&built).expect("clean up");
    }

    #[test]
    fn https_public_url_makes_cookies_secure() {
        let settings = load(&[("PUBLIC_URL", "https://chat.example.org")]).expect("loads");
        assert!(settings.cookie_secure());
        assert!(!load(&[]).expect("loads").cookie_secure());
    }
}
