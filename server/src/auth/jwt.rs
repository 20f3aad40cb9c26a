//! Access tokens: HS256 JWTs, 15 minutes by default. Only HS256 is accepted; `alg: none` and
//! every other algorithm are refused, and `iss`, `aud`, `exp`, `nbf` are all checked.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use mongodb::bson::oid::ObjectId;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// Clock skew tolerated between servers, in seconds.
pub const LEEWAY_SECS: u64 = 5;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// The session (refresh-token family) the token was issued to.
    pub sid: String,
    pub exp: u64,
    pub iat: u64,
    pub nbf: u64,
    pub iss: String,
    pub aud: String,
    pub jti: String,
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl: Duration,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

/// The ids carried by a valid access token.
#[derive(Debug, Clone, Copy)]
pub struct TokenSubject {
    pub user_id: ObjectId,
    pub session_id: ObjectId,
}

impl JwtKeys {
    pub fn new(secret: &SecretString, issuer: &str, audience: &str, ttl: Duration) -> Self {
        let bytes = secret.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            ttl,
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn issue(&self, user_id: ObjectId, session_id: ObjectId) -> anyhow::Result<String> {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: user_id.to_hex(),
            sid: session_id.to_hex(),
            iat: now,
            nbf: now,
            exp: now + self.ttl.as_secs(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            jti: uuid::Uuid::new_v4().to_string(),
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    /// Checks signature, algorithm and claims. The reason for a refusal is only logged at debug
    /// level: clients get one uniform 401.
    pub fn verify(&self, token: &str) -> Option<TokenSubject> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .inspect_err(|err| tracing::debug!(reason = %err, "access token refused"))
            .ok()?;
        Some(TokenSubject {
            user_id: ObjectId::parse_str(&data.claims.sub).ok()?,
            session_id: ObjectId::parse_str(&data.claims.sid).ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &str) -> JwtKeys {
        JwtKeys::new(
            &SecretString::from(secret),
            "confab",
            "confab-api",
            Duration::from_secs(900),
        )
    }

    const SECRET: &str = "a-test-secret-that-is-long-enough-0123456789";

    #[test]
    fn a_token_round_trips() {
        let keys = keys(SECRET);
        let (user, session) = (ObjectId::new(), ObjectId::new());
        let token = keys.issue(user, session).expect("issue");
        let subject = keys.verify(&token).expect("valid");
        assert_eq!(subject.user_id, user);
        assert_eq!(subject.session_id, session);
    }

    #[test]
    fn another_secret_or_a_tampered_token_is_refused() {
        let token = keys(SECRET)
            .issue(ObjectId::new(), ObjectId::new())
            .expect("issue");
        assert!(
            keys("another-secret-that-is-long-enough-987654")
                .verify(&token)
                .is_none()
        );
        let mut tampered = token.clone();
        tampered.push('x');
        assert!(keys(SECRET).verify(&tampered).is_none());
    }
}
