//! Reading settings from the environment (or from any name → value lookup, as tests do). Each
//! module reads its own settings with it; `config` puts them together.

use std::{fmt::Display, str::FromStr, time::Duration};

use secrecy::SecretString;

/// A variable whose value cannot be used, and why.
#[derive(Debug, thiserror::Error)]
#[error("{name}: {reason}")]
pub struct BadSetting {
    pub name: String,
    pub reason: String,
}

impl BadSetting {
    pub fn new(name: &str, reason: impl Into<String>) -> Self {
        Self {
            name: name.to_owned(),
            reason: reason.into(),
        }
    }
}

/// Variables by name. An empty (or blank) value counts as unset.
#[derive(Clone, Copy)]
pub struct Env<'a>(&'a dyn Fn(&str) -> Option<String>);

impl<'a> Env<'a> {
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self(lookup)
    }

    /// The value, trimmed; `None` when unset or blank.
    pub fn raw(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    pub fn string(&self, name: &str, default: &str) -> String {
        self.raw(name).unwrap_or_else(|| default.to_owned())
    }

    pub fn secret(&self, name: &str) -> Option<SecretString> {
        self.raw(name).map(SecretString::from)
    }

    /// Comma-separated values, blanks dropped.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.raw(name)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    pub fn optional<T: FromStr>(&self, name: &str) -> Result<Option<T>, BadSetting>
    where
        T::Err: Display,
    {
        self.raw(name)
            .map(|v| {
                v.parse()
                    .map_err(|e: T::Err| BadSetting::new(name, e.to_string()))
            })
            .transpose()
    }

    pub fn parse<T: FromStr>(&self, name: &str, default: T) -> Result<T, BadSetting>
    where
        T::Err: Display,
    {
        Ok(self.optional(name)?.unwrap_or(default))
    }

    /// A number that must be greater than zero.
    pub fn positive<T: FromStr + PartialOrd + Default>(
        &self,
        name: &str,
        default: T,
    ) -> Result<T, BadSetting>
    where
        T::Err: Display,
    {
        let value = self.parse(name, default)?;
        if value > T::default() {
            Ok(value)
        } else {
            Err(BadSetting::new(name, "must be greater than 0"))
        }
    }

    /// A positive number of milliseconds.
    pub fn millis(&self, name: &str, default: u64) -> Result<Duration, BadSetting> {
        self.positive(name, default).map(Duration::from_millis)
    }

    /// A number of seconds (zero allowed).
    pub fn secs(&self, name: &str, default: u64) -> Result<Duration, BadSetting> {
        self.parse(name, default).map(Duration::from_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_is_unset_and_errors_name_the_variable() {
        let lookup = |name: &str| match name {
            "BLANK" => Some("  ".to_owned()),
            "PORT" => Some("eighty".to_owned()),
            "LIST" => Some(" a, ,b ".to_owned()),
            "ZERO" => Some("0".to_owned()),
            _ => None,
        };
        let env = Env::new(&lookup);
        assert_eq!(env.raw("BLANK"), None);
        assert_eq!(env.string("BLANK", "x"), "x");
        assert_eq!(env.list("LIST"), ["a", "b"]);
        let error = env.parse::<u16>("PORT", 1).expect_err("not a number");
        assert!(error.to_string().starts_with("PORT: "), "{error}");
        assert!(env.positive::<u32>("ZERO", 5).is_err());
        assert_eq!(env.secs("ZERO", 5).ok(), Some(Duration::ZERO));
    }
}
