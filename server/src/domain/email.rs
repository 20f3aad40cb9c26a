//! E-mail addresses: one mailbox is one address, however its domain is typed.

use idna::AsciiDenyList;
use serde::Serialize;
use validator::ValidateEmail;

/// A syntactically valid e-mail address. The local part is kept as typed; the domain is
/// normalised with IDNA (UTS #46: full-width letters, ideographic full stops, soft hyphens and
/// case all map to one ASCII form, Punycode for non-ASCII names), so one mailbox cannot hold
/// two accounts. Compared case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Email(String);

const INVALID: &str = "must be a valid email address";

impl Email {
    pub const MAX: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let trimmed = raw.trim();
        if trimmed.len() > Self::MAX {
            return Err("must be at most 254 characters long");
        }
        let (local, domain) = trimmed.rsplit_once('@').ok_or(INVALID)?;
        let domain = idna::domain_to_ascii_cow(domain.as_bytes(), AsciiDenyList::STD3)
            .map_err(|_| INVALID)?;
        let address = format!("{local}@{domain}");
        if address.len() > Self::MAX {
            return Err("must be at most 254 characters long");
        }
        if domain.is_empty() || !address.validate_email() {
            return Err(INVALID);
        }
        Ok(Self(address))
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
        // The local part as typed; the domain in its one (lower-case) form.
        assert_eq!(email.as_str(), "Ada@example.org");
        assert_eq!(email.normalized(), "ada@example.org");
    }

    #[test]
    fn one_mailbox_is_one_address_however_its_domain_is_typed() {
        let canonical = Email::parse("ada@example.org").expect("valid").normalized();
        for variant in [
            "ada@ｅｘａｍｐｌｅ.ｏｒｇ",
            "ada@example。org",
            "ada@example．org",
            "ada@ex\u{00AD}ample.org",
            "ada@EXAMPLE.ORG",
            "ADA@Example.Org",
        ] {
            let email = Email::parse(variant).expect(variant);
            assert_eq!(email.normalized(), canonical, "{variant}");
        }
        let idn = Email::parse("zoe@Bücher.example").expect("valid");
        assert_eq!(idn.as_str(), "zoe@xn--bcher-kva.example");
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
            "ada@exa_mple.org",
            "ada@example..org",
            long.as_str(),
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }
}
