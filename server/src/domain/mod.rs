//! Domain types that *parse* input: once a value of one of these types exists, it is valid.

mod email;
mod parameters;
mod password;
mod username;

pub use email::Email;
pub use parameters::SamplingParams;
pub use password::Password;
pub use username::Username;

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
