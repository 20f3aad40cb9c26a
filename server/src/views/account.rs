//! What an account's owner and the admins see of accounts: sessions, usage and limits,
//! invites, the audit log. Never a chat's content.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    domain::{AccountRole, AccountStatus, Limits},
    store::{SessionDoc, UserDoc, audit::AuditDoc, invites::InviteDoc, usage::Totals},
};

/// One signed-in session of the caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    /// A short description from the User-Agent, e.g. "Firefox on Linux".
    pub device: String,
    /// The network it signed in from (an IPv4 /24 or an IPv6 /48), when known.
    pub address: Option<String>,
    /// This is the session of the request.
    pub current: bool,
}

impl SessionView {
    pub fn of(session: &SessionDoc, current: mongodb::bson::oid::ObjectId) -> Self {
        Self {
            id: session.id.to_hex(),
            created_at: session.created_at.to_chrono(),
            last_used_at: session.last_used_at.to_chrono(),
            device: crate::domain::device::describe(session.user_agent.as_deref()),
            address: session.address.clone(),
            current: session.id == current,
        }
    }
}

/// Limits as the API shows them: `null` is no limit (or, in an account's overrides, the
/// deployment's default).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct AccountLimits {
    pub messages_per_minute: Option<u64>,
    pub concurrent_generations: Option<u64>,
    pub daily_tokens: Option<u64>,
    pub monthly_tokens: Option<u64>,
}

impl AccountLimits {
    /// Limits that apply: 0 ("none") shown as `null`.
    pub fn applied(limits: Limits) -> Self {
        Self {
            messages_per_minute: Limits::shown(limits.messages_per_minute),
            concurrent_generations: Limits::shown(limits.concurrent_generations),
            daily_tokens: Limits::shown(limits.daily_tokens),
            monthly_tokens: Limits::shown(limits.monthly_tokens),
        }
    }

    /// An account's overrides as set: `null` is the default, 0 is "no limit".
    pub fn overrides(limits: Limits) -> Self {
        Self {
            messages_per_minute: limits.messages_per_minute,
            concurrent_generations: limits.concurrent_generations,
            daily_tokens: limits.daily_tokens,
            monthly_tokens: limits.monthly_tokens,
        }
    }
}

/// Tokens of one model.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelUsage {
    pub model: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
}

/// Tokens over a period.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsagePeriod {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    pub by_model: Vec<ModelUsage>,
}

impl From<&Totals> for UsagePeriod {
    fn from(totals: &Totals) -> Self {
        let by_model: Vec<ModelUsage> = totals
            .by_model
            .iter()
            .map(|(model, (prompt, completion))| ModelUsage {
                model: model.clone(),
                prompt_tokens: *prompt,
                completion_tokens: *completion,
                total_tokens: prompt + completion,
            })
            .collect();
        Self {
            prompt_tokens: by_model.iter().map(|m| m.prompt_tokens).sum(),
            completion_tokens: by_model.iter().map(|m| m.completion_tokens).sum(),
            total_tokens: totals.total(),
            by_model,
        }
    }
}

/// Tokens left under each quota (`null`: no quota).
#[derive(Debug, Serialize, ToSchema)]
pub struct Remaining {
    pub daily_tokens: Option<u64>,
    pub monthly_tokens: Option<u64>,
}

/// The caller's usage (UTC day and month), the limits that apply and what remains.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageView {
    pub today: UsagePeriod,
    pub month: UsagePeriod,
    pub limits: AccountLimits,
    pub remaining: Remaining,
}

impl UsageView {
    pub fn new(today: &Totals, month: &Totals, applied: Limits) -> Self {
        let left =
            |limit: Option<u64>, used: u64| Limits::shown(limit).map(|l| l.saturating_sub(used));
        Self {
            today: today.into(),
            month: month.into(),
            limits: AccountLimits::applied(applied),
            remaining: Remaining {
                daily_tokens: left(applied.daily_tokens, today.total()),
                monthly_tokens: left(applied.monthly_tokens, month.total()),
            },
        }
    }
}

/// An account as admins see it (never its chats).
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserView {
    pub id: String,
    pub username: String,
    pub email: String,
    pub role: AccountRole,
    pub status: AccountStatus,
    pub created_at: DateTime<Utc>,
    pub last_active_at: Option<DateTime<Utc>>,
    pub tokens_this_month: u64,
    /// The limits set for this account alone (`null`: the default; 0: no limit).
    pub limits: AccountLimits,
    /// The limits that apply to it (`null`: none).
    pub effective_limits: AccountLimits,
}

impl AdminUserView {
    pub fn new(user: &UserDoc, tokens_this_month: u64, defaults: Limits) -> Self {
        Self {
            id: user.id.to_hex(),
            username: user.username.clone(),
            email: user.email.clone(),
            role: user.role,
            status: user.status,
            created_at: user.created_at.to_chrono(),
            last_active_at: user.last_active_at.map(|at| at.to_chrono()),
            tokens_this_month,
            limits: AccountLimits::overrides(user.limits),
            effective_limits: AccountLimits::applied(user.limits.over(defaults)),
        }
    }
}

/// A page of accounts.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserPage {
    pub users: Vec<AdminUserView>,
    /// Pass as `cursor` for the next page; `null` at the end.
    pub next_cursor: Option<String>,
}

/// An invite. `code` and `url` appear only in the answer that created it.
#[derive(Debug, Serialize, ToSchema)]
pub struct InviteView {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The code's first characters.
    pub prefix: String,
    pub uses: u64,
    pub used: u64,
    pub expires_at: Option<DateTime<Utc>>,
    pub role: AccountRole,
    pub created_at: DateTime<Utc>,
}

impl From<&InviteDoc> for InviteView {
    fn from(invite: &InviteDoc) -> Self {
        Self {
            id: invite.id.to_hex(),
            code: None,
            url: None,
            prefix: invite.prefix.clone(),
            uses: u64::try_from(invite.uses).unwrap_or(0),
            used: u64::try_from(invite.used).unwrap_or(0),
            expires_at: invite.expires_at.map(|at| at.to_chrono()),
            role: invite.role,
            created_at: invite.created_at.to_chrono(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InviteList {
    pub invites: Vec<InviteView>,
}

/// One group of the usage summary.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageRow {
    /// The user id, the model or the day (`YYYY-MM-DD`).
    pub key: String,
    /// The username (for users; the key otherwise).
    pub label: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    pub answers: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UsageSummary {
    /// `user`, `model` or `day`.
    pub group_by: String,
    pub from: String,
    pub to: String,
    pub rows: Vec<UsageRow>,
}

/// Who did something.
#[derive(Debug, Serialize, ToSchema)]
pub struct Actor {
    pub id: String,
    pub username: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: String,
    pub at: DateTime<Utc>,
    /// `null`: the command line, or an anonymous client.
    pub actor: Option<Actor>,
    pub action: String,
    pub target: Option<String>,
    pub address: Option<String>,
    pub detail: Option<String>,
}

impl From<&AuditDoc> for AuditEntry {
    fn from(entry: &AuditDoc) -> Self {
        Self {
            id: entry.id.to_hex(),
            at: entry.at.to_chrono(),
            actor: entry.actor_id.map(|id| Actor {
                id: id.to_hex(),
                username: entry.actor_name.clone(),
            }),
            action: entry.action.clone(),
            target: entry.target.clone(),
            address: entry.address.clone(),
            detail: entry.detail.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub next_cursor: Option<String>,
}
