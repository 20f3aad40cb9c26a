//! Typed settings, loaded once at start-up from the environment (and `.env` if present): each
//! module reads its own (`store::MongoSettings`, `auth::AuthSettings`, `http::HttpSettings`,
//! `live::LiveSettings`, `llm::LlmSettings`, `generation::FairUse`), and this puts them
//! together with what is the whole server's (where it listens, its environment, its logs).
//!
//! Every setting, its default and its meaning is documented in `.env.example`.

use std::{net::IpAddr, path::PathBuf, str::FromStr};

use secrecy::{ExposeSecret, SecretString};

use crate::{
    auth::AuthSettings,
    env::{BadSetting, Env},
    generation::FairUse,
    http::HttpSettings,
    live::LiveSettings,
    llm::LlmSettings,
    store::MongoSettings,
};

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
    pub log_format: LogFormat,
    /// `CHAT_LOG`: a JSON Lines file receiving every finished answer, for research use.
    pub chat_log: Option<PathBuf>,
    pub mongodb: MongoSettings,
    pub auth: AuthSettings,
    pub http: HttpSettings,
    /// Live events over WebSocket.
    pub live: LiveSettings,
    /// The upstream LLM endpoints and their limits.
    pub llm: LlmSettings,
    /// How many answers one user may have generated.
    pub fair_use: FairUse,
    /// `INSTANCE_ID`: names this process (logs, `/api/health`, the answers it owns). Unique
    /// per start by default: the host name and a random suffix.
    pub instance: String,
    /// `DRAIN_TIMEOUT_SECS`: on SIGTERM, how long running answers may take to finish.
    pub drain_timeout: std::time::Duration,
    /// `METRICS_ADDR`: Prometheus metrics on their own listener.
    pub metrics: crate::metrics::MetricsSettings,
}

/// This host's name (containers: the container id), for the default `INSTANCE_ID`.
fn host_name(get: &dyn Fn(&str) -> Option<String>) -> String {
    get("HOSTNAME")
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "confab".to_owned())
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Invalid(#[from] BadSetting),
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
        let env = Env::new(&get);
        let environment: Environment = env.parse("CONFAB_ENV", Environment::Development)?;
        let auth = AuthSettings::from_env(&env)?;
        let secret_ok =
            |secret: &SecretString| secret.expose_secret().len() >= MIN_JWT_SECRET_BYTES;
        match &auth.jwt_secret {
            Some(secret) if !secret_ok(secret) => return Err(ConfigError::WeakJwtSecret),
            None if environment == Environment::Production => {
                return Err(ConfigError::WeakJwtSecret);
            }
            _ => {}
        }
        Ok(Self {
            environment,
            host: env.parse("HOST", IpAddr::from([127, 0, 0, 1]))?,
            port: env.parse("PORT", 8080)?,
            public_url: env.string("PUBLIC_URL", "http://localhost:8080"),
            log_format: env.parse(
                "LOG_FORMAT",
                match environment {
                    Environment::Development => LogFormat::Pretty,
                    Environment::Production => LogFormat::Json,
                },
            )?,
            chat_log: env.raw("CHAT_LOG").map(PathBuf::from),
            mongodb: MongoSettings::from_env(&env)?,
            auth,
            http: HttpSettings::from_env(&env)?,
            live: LiveSettings::from_env(&env)?,
            llm: LlmSettings::from_env(&env)?,
            fair_use: FairUse::from_env(&env)?,
            instance: env.raw("INSTANCE_ID").unwrap_or_else(|| {
                let suffix: u32 = rand::random();
                format!("{}-{:08x}", host_name(&get), suffix)
            }),
            drain_timeout: env.secs("DRAIN_TIMEOUT_SECS", 30)?,
            metrics: crate::metrics::MetricsSettings::from_env(&env)?,
        })
    }

    pub fn cookie_secure(&self) -> bool {
        self.auth
            .cookie_secure
            .unwrap_or_else(|| self.public_url.starts_with("https://"))
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
    fn https_public_url_makes_cookies_secure() {
        let settings = load(&[("PUBLIC_URL", "https://chat.example.org")]).expect("loads");
        assert!(settings.cookie_secure());
        assert!(!load(&[]).expect("loads").cookie_secure());
    }
}
