//! What an account is allowed: its role, its status, and the limits set for it alone.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What an account may do: `admin` also administers the deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AccountRole {
    Admin,
    #[default]
    User,
}

/// Whether an account may sign in: `pending` awaits an admin's approval, `disabled` was
/// switched off by one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AccountStatus {
    #[default]
    Active,
    Pending,
    Disabled,
}

/// Limits on one account. Each `None` means "the deployment's default"; `Some(0)` means "no
/// limit" (as the settings' 0 does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct Limits {
    /// Answers started per minute.
    #[schema(minimum = 0, maximum = 1000000)]
    pub messages_per_minute: Option<u64>,
    /// Answers being generated at once.
    #[schema(minimum = 0, maximum = 1000000)]
    pub concurrent_generations: Option<u64>,
    /// Tokens (prompt and completion) per UTC day.
    #[schema(minimum = 0, maximum = 1000000000000_u64)]
    pub daily_tokens: Option<u64>,
    /// Tokens (prompt and completion) per UTC month.
    #[schema(minimum = 0, maximum = 1000000000000_u64)]
    pub monthly_tokens: Option<u64>,
}

/// The largest value any limit may be set to.
pub const MAX_LIMIT: u64 = 1_000_000_000_000;

impl Limits {
    /// These overrides over `defaults`: what applies to the account.
    pub fn over(self, defaults: Limits) -> Limits {
        Limits {
            messages_per_minute: self.messages_per_minute.or(defaults.messages_per_minute),
            concurrent_generations: self
                .concurrent_generations
                .or(defaults.concurrent_generations),
            daily_tokens: self.daily_tokens.or(defaults.daily_tokens),
            monthly_tokens: self.monthly_tokens.or(defaults.monthly_tokens),
        }
    }

    /// A limit as a number where 0 means none.
    pub fn value(limit: Option<u64>) -> u64 {
        limit.unwrap_or(0)
    }

    /// A limit as the API shows what applies: `None` when there is none.
    pub fn shown(limit: Option<u64>) -> Option<u64> {
        limit.filter(|n| *n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_win_over_defaults_field_by_field() {
        let defaults = Limits {
            messages_per_minute: Some(20),
            concurrent_generations: Some(3),
            daily_tokens: None,
            monthly_tokens: Some(1000),
        };
        let mine = Limits {
            messages_per_minute: Some(0),
            daily_tokens: Some(50),
            ..Limits::default()
        };
        let applied = mine.over(defaults);
        assert_eq!(applied.messages_per_minute, Some(0));
        assert_eq!(applied.concurrent_generations, Some(3));
        assert_eq!(applied.daily_tokens, Some(50));
        assert_eq!(applied.monthly_tokens, Some(1000));
        assert_eq!(Limits::shown(Some(0)), None);
        assert_eq!(Limits::shown(Some(7)), Some(7));
    }

    #[test]
    fn roles_and_statuses_have_their_api_names() {
        assert_eq!(
            serde_json::to_value(AccountRole::Admin).expect("test value"),
            "admin"
        );
        assert_eq!(
            serde_json::to_value(AccountStatus::Pending).expect("test value"),
            "pending"
        );
        let parsed: AccountStatus = serde_json::from_value("disabled".into()).expect("test value");
        assert_eq!(parsed, AccountStatus::Disabled);
    }
}
