use serde::Serialize;

/// 3–32 characters of `[A-Za-z0-9_.-]`. Unique case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Username(String);

impl Username {
    pub const MIN: usize = 3;
    pub const MAX: usize = 32;

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let len = raw.chars().count();
        if !(Self::MIN..=Self::MAX).contains(&len) {
            return Err("must be 3 to 32 characters long");
        }
        if !raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        {
            return Err("may only contain letters, digits, '_', '.' and '-'");
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form used for uniqueness and look-ups.
    pub fn normalized(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

pub(crate) fn validate(raw: &str) -> Result<(), validator::ValidationError> {
    super::as_validation(Username::parse(raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_allowed_alphabet_and_lengths() {
        for ok in ["abc", "Alice_01", "a.b-c", &"x".repeat(32)] {
            assert!(Username::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_short_long_and_foreign_characters() {
        for bad in [
            "",
            "ab",
            &"x".repeat(33),
            "has space",
            "émile",
            "a/b",
            "$ne",
            "a@b",
        ] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn normalizes_case() {
        let name = Username::parse("Alice").expect("valid");
        assert_eq!(name.normalized(), "alice");
        assert_eq!(name.as_str(), "Alice");
    }
}
