//! Accounts and sessions: what the environment says about tokens, passwords and throttling.

use std::time::Duration;

use secrecy::SecretString;

use super::throttle::LoginPolicy;
use crate::env::{BadSetting, Env};

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
    /// Threads hashing passwords.
    pub password_hash_concurrency: usize,
    /// Failed logins: see `auth::throttle` for the policy.
    pub login: LoginPolicy,
    /// Accounts that may be registered from one client address per hour (0: no limit).
    pub registrations_per_ip_per_hour: u32,
    /// Who may create an account (`REGISTRATION`).
    pub registration: Registration,
    /// The e-mail domains accounts may be created with (`REGISTRATION_ALLOWED_DOMAINS`; empty:
    /// any), lower case.
    pub allowed_domains: Vec<String>,
}

/// Who may create an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Registration {
    /// Anyone.
    Open,
    /// Whoever has an invite code an admin created.
    Invite,
    /// Anyone, but the account waits for an admin's approval.
    Approval,
    /// No one: accounts come from the command line (`confab user create`).
    Closed,
}

impl std::str::FromStr for Registration {
    type Err = String;
    fn from_str(value: &str) -> Result<Self, String> {
        match value.trim().to_ascii_lowercase().as_str() {
            "open" => Ok(Self::Open),
            "invite" => Ok(Self::Invite),
            "approval" => Ok(Self::Approval),
            "closed" => Ok(Self::Closed),
            _ => Err("expected open, invite, approval or closed".to_owned()),
        }
    }
}

impl AuthSettings {
    pub fn from_env(env: &Env<'_>) -> Result<Self, BadSetting> {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Self {
            jwt_secret: env.secret("JWT_SECRET"),
            jwt_issuer: env.string("JWT_ISSUER", "confab"),
            jwt_audience: env.string("JWT_AUDIENCE", "confab-api"),
            access_token_ttl: env.secs("ACCESS_TOKEN_TTL_SECS", 900)?,
            refresh_token_ttl: Duration::from_secs(
                env.parse::<u64>("REFRESH_TOKEN_TTL_DAYS", 30)? * 86_400,
            ),
            cookie_secure: env.optional("COOKIE_SECURE")?,
            password_hash_concurrency: env.parse("PASSWORD_HASH_CONCURRENCY", cores)?.max(1),
            login: LoginPolicy {
                free_failures: env.parse("LOGIN_FREE_FAILURES", 5)?,
                backoff_base: env.secs("LOGIN_BACKOFF_BASE_SECS", 30)?,
                backoff_max: env.secs("LOGIN_BACKOFF_MAX_SECS", 900)?,
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
            registrations_per_ip_per_hour: env.parse("REGISTRATIONS_PER_IP_PER_HOUR", 10)?,
            registration: env.parse("REGISTRATION", Registration::Open)?,
            allowed_domains: env
                .string("REGISTRATION_ALLOWED_DOMAINS", "")
                .split(',')
                .map(|domain| domain.trim().trim_start_matches('@').to_lowercase())
                .filter(|domain| !domain.is_empty())
                .collect(),
        })
    }
}
