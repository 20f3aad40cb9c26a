//! Domain types that *parse* input: once a value of one of these types exists, it is valid.

pub mod account;
pub mod device;
mod email;
pub mod params;
mod password;
pub mod prompt;
mod username;

pub use account::{AccountRole, AccountStatus, Limits};
pub use email::Email;
pub use params::{Param, ParamValue, SamplingParams};
pub use password::Password;
pub use prompt::{Role, Turn};
pub use username::Username;

/// Field name → what is wrong with it (a 422's `fields`).
pub type FieldErrors = std::collections::BTreeMap<String, String>;

/// Adapts a domain parser to a `validator` custom check, so DTO validation and domain
/// parsing share one rule.
pub(crate) fn as_validation<T>(
    parsed: Result<T, &'static str>,
) -> Result<(), validator::ValidationError> {
    parsed
        .map(drop)
        .map_err(|reason| validator::ValidationError::new("invalid").with_message(reason.into()))
}

pub(crate) use email::validate as validate_email;
pub(crate) use password::validate as validate_password;
pub(crate) use username::validate as validate_username;
