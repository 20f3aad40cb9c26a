use serde::Serialize;
use validator::ValidateEmail;

/// A syntactically valid e-mail address, stored as given and compared case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Email(String);

impl Email {
    pub const MAX: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let trimmed = raw.trim();
        if trimmed.len() > Self::MAX {
            return Err("must be at most 254 characters long");
        }
        if !trimmed.validate_email() {
            return Err("must be a valid email address");
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form used for uniqueness and look-ups.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

pub(crate) fn validate(raw: &str) -> Result<(), validator::ValidationError> {
    super::as_validation(Email::parse(raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses_and_trims() {
        let email = Email::parse("  Ada@Example.org ").expect("valid");
        assert_eq!(email.as_str(), "Ada@Example.org");
        assert_eq!(email.normalized(), "ada@example.org");
    }

    #[test]
    fn rejects_what_is_not_an_address() {
        let long = format!("{}@example.org", "a".repeat(250));
        for bad in [
            "",
            "plain",
            "@example.org",
            "a@",
            "a b@example.org",
            long.as_str(),
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }
}
