//! argon2id with the OWASP parameters (m = 19 MiB, t = 2, p = 1), run off the async runtime
//! behind a bound on concurrent hashes, so a burst of logins cannot starve request handling
//! or exhaust memory.

use std::sync::Arc;

use anyhow::Context;
use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier as _, Version,
    password_hash::{SaltString, rand_core::OsRng},
};
use tokio::sync::Semaphore;

use crate::domain::Password;

/// Memory cost in KiB, iterations and lanes recommended by OWASP for argon2id.
pub const MEMORY_KIB: u32 = 19_456;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;

#[derive(Debug, Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// Verified against when the user does not exist, so that "no such user" and
    /// "wrong password" take about the same time.
    dummy_hash: Arc<str>,
}

fn argon2() -> anyhow::Result<Argon2<'static>> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

fn verify_blocking(hash: &str, password: &str) -> anyhow::Result<bool> {
    let parsed = PasswordHash::new(hash).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
    Ok(argon2()?
        .verify_password(password.as_bytes(), &parsed)
        .is_ok())
}

impl PasswordHasher {
    pub async fn new(max_concurrent: usize) -> anyhow::Result<Self> {
        let dummy: String = (0..24)
            .map(|_| char::from(b'a' + rand::random::<u8>() % 26))
            .collect();
        let dummy_hash = tokio::task::spawn_blocking(move || hash_blocking(&dummy))
            .await
            .context("dummy hash task")??;
        Ok(Self {
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            dummy_hash: dummy_hash.into(),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .context("password hashing pool closed")?;
        tokio::task::spawn_blocking(work)
            .await
            .context("password hashing task")?
    }

    pub async fn hash(&self, password: &Password) -> anyhow::Result<String> {
        let password = password.clone();
        self.run(move || hash_blocking(password.expose())).await
    }

    /// Verifies `password` against `hash`, or against a dummy hash when there is no user,
    /// in which case the answer is always `false`.
    pub async fn verify(&self, hash: Option<&str>, password: &str) -> anyhow::Result<bool> {
        let known = hash.is_some();
        let hash = hash.map_or_else(|| self.dummy_hash.to_string(), str::to_owned);
        let password = secrecy::SecretString::from(password);
        let matches = self
            .run(move || verify_blocking(&hash, secrecy::ExposeSecret::expose_secret(&password)))
            .await?;
        Ok(known && matches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_with_argon2id_and_owasp_parameters_and_verifies() {
        let hasher = PasswordHasher::new(1).await.expect("hasher");
        let password = Password::parse("correct horse battery staple").expect("valid");
        let hash = hasher.hash(&password).await.expect("hash");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            hasher
                .verify(Some(&hash), password.expose())
                .await
                .expect("verify")
        );
        assert!(
            !hasher
                .verify(Some(&hash), "wrong password")
                .await
                .expect("verify")
        );
        // Two hashes of one password differ: each has its own salt.
        assert_ne!(hash, hasher.hash(&password).await.expect("hash"));
    }

    #[tokio::test]
    async fn an_unknown_user_never_verifies() {
        let hasher = PasswordHasher::new(1).await.expect("hasher");
        assert!(
            !hasher
                .verify(None, "anything at all")
                .await
                .expect("verify")
        );
    }
}
