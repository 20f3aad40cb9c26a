use secrecy::{ExposeSecret, SecretString};

/// 8–128 characters (not bytes), any characters, no composition rules, never truncated.
/// The value is a secret: it cannot be printed or logged by accident.
#[derive(Debug, Clone)]
pub struct Password(SecretString);

impl Password {
    pub const MIN: usize = 8;
    pub const MAX: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let len = raw.chars().count();
        if len < Self::MIN {
            return Err("must be at least 8 characters long");
        }
        if len > Self::MAX {
            return Err("must be at most 128 characters long");
        }
        Ok(Self(SecretString::from(raw)))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

pub(crate) fn validate(raw: &str) -> Result<(), validator::ValidationError> {
    super::as_validation(Password::parse(raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_characters_not_bytes() {
        // 8 characters, 24 bytes.
        assert!(Password::parse("ééééé€€€").is_ok());
        // 128 multi-byte characters are allowed, 129 are not.
        assert!(Password::parse(&"é".repeat(128)).is_ok());
        assert!(Password::parse(&"é".repeat(129)).is_err());
        assert!(Password::parse("short").is_err());
    }

    #[test]
    fn debug_output_hides_the_value() {
        let password = Password::parse("correct horse battery").expect("valid");
        assert!(!format!("{password:?}").contains("horse"));
    }
}
