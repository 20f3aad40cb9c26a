//! argon2id with the OWASP parameters (m = 19 MiB, t = 2, p = 1), run off the async runtime on
//! a fixed set of `PASSWORD_HASH_CONCURRENCY` threads, each reusing one 19 MiB work area.
//!
//! Memory is bounded by the number of threads: hashing on tokio's blocking pool instead gave
//! each of its (many, short-lived) threads its own allocator arena holding a 19 MiB buffer,
//! and the process grew by about that much per sign-in until it held hundreds of MiB.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU64, Ordering},
    mpsc,
};

use anyhow::Context;
use argon2::{
    Algorithm, Argon2, Block, Params, PasswordHash, Version,
    password_hash::{Output, ParamsString, Salt, SaltString, rand_core::OsRng},
};
use secrecy::{ExposeSecret as _, SecretString};
use tokio::sync::oneshot;

use crate::domain::Password;

/// Memory cost in KiB, iterations and lanes recommended by OWASP for argon2id.
pub const MEMORY_KIB: u32 = 19_456;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;
/// The largest memory cost a stored hash may ask for (guards against a tampered hash).
const MAX_MEMORY_KIB: u32 = 256 * 1024;

type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

#[derive(Debug, Clone)]
pub struct PasswordHasher {
    jobs: mpsc::Sender<Job>,
    /// Verified against when the user does not exist, so that "no such user" and
    /// "wrong password" take about the same time.
    dummy_hash: Arc<str>,
    /// Hashes computed (not verifications), for tests and metrics.
    hashes: Arc<AtomicU64>,
}

fn params() -> anyhow::Result<Params> {
    Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))
}

/// argon2 of `password` with `salt` into an output of `len` bytes, in `memory` (sized for
/// `argon2`'s parameters once, then reused).
fn compute(
    argon2: &Argon2<'_>,
    memory: &mut Vec<Block>,
    password: &str,
    salt: Salt<'_>,
    len: usize,
) -> argon2::password_hash::Result<Output> {
    let mut salt_bytes = [0_u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
    let count = argon2.params().block_count();
    if memory.len() < count {
        memory.resize(count, Block::default());
    }
    Output::init_with(len, |out| {
        argon2
            .hash_password_into_with_memory(
                password.as_bytes(),
                salt_bytes,
                out,
                &mut memory[..count],
            )
            .map_err(|_| argon2::password_hash::Error::Crypto)
    })
}

fn hash_with(memory: &mut Vec<Block>, password: &str) -> anyhow::Result<String> {
    let params = params()?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt = SaltString::generate(&mut OsRng);
    let output = compute(
        &argon2,
        memory,
        password,
        salt.as_salt(),
        Params::DEFAULT_OUTPUT_LEN,
    )
    .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| anyhow::anyhow!("params: {e}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(hash.to_string())
}

fn verify_with(memory: &mut Vec<Block>, hash: &str, password: &str) -> anyhow::Result<bool> {
    fn stored(e: impl std::fmt::Display) -> anyhow::Error {
        anyhow::anyhow!("stored hash: {e}")
    }
    let parsed = PasswordHash::new(hash).map_err(stored)?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Ok(false);
    };
    let params = Params::try_from(&parsed).map_err(stored)?;
    anyhow::ensure!(
        params.m_cost() <= MAX_MEMORY_KIB,
        "stored hash asks for too much memory"
    );
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(stored)?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(stored)?
        .unwrap_or_default();
    let argon2 = Argon2::new(algorithm, version, params);
    let computed = compute(&argon2, memory, password, salt, expected.len())
        .map_err(|e| anyhow::anyhow!("verifying a password: {e}"))?;
    // `Output`'s equality is constant-time.
    Ok(computed == expected)
}

impl PasswordHasher {
    /// Starts `threads` hashing threads (their work areas are allocated on first use).
    pub async fn new(threads: usize) -> anyhow::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for index in 0..threads.max(1) {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("argon2-{index}"))
                .spawn(move || {
                    let mut memory = Vec::new();
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(poisoned) => poisoned.into_inner().recv(),
                        };
                        match job {
                            Ok(job) => job(&mut memory),
                            // Every `PasswordHasher` is gone: the thread ends.
                            Err(mpsc::RecvError) => return,
                        }
                    }
                })
                .context("starting a password hashing thread")?;
        }
        let mut hasher = Self {
            jobs,
            dummy_hash: Arc::from(""),
            hashes: Arc::default(),
        };
        let dummy: String = (0..24)
            .map(|_| char::from(b'a' + rand::random::<u8>() % 26))
            .collect();
        let dummy_hash = hasher.run(move |memory| hash_with(memory, &dummy)).await?;
        hasher.dummy_hash = dummy_hash.into();
        Ok(hasher)
    }

    /// Runs `work` on a hashing thread and waits for its result.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Box::new(move |memory| {
                let _ = reply.send(work(memory));
            }))
            .map_err(|_| anyhow::anyhow!("the password hashing threads have stopped"))?;
        answer
            .await
            .context("a password hashing thread stopped mid-job")?
    }

    pub async fn hash(&self, password: &Password) -> anyhow::Result<String> {
        let password = SecretString::from(password.expose());
        self.hashes.fetch_add(1, Ordering::Relaxed);
        self.run(move |memory| hash_with(memory, password.expose_secret()))
            .await
    }

    /// Verifies `password` against `hash`, or against a dummy hash when there is no user,
    /// in which case the answer is always `false`.
    pub async fn verify(&self, hash: Option<&str>, password: &str) -> anyhow::Result<bool> {
        let known = hash.is_some();
        let hash = hash.map_or_else(|| self.dummy_hash.to_string(), str::to_owned);
        let password = SecretString::from(password);
        let matches = self
            .run(move |memory| verify_with(memory, &hash, password.expose_secret()))
            .await?;
        Ok(known && matches)
    }

    /// How many passwords were hashed (sign-ups, password changes) since start.
    pub fn hashes_computed(&self) -> u64 {
        self.hashes.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::{PasswordHasher as _, PasswordVerifier as _};

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
        assert_eq!(hasher.hashes_computed(), 2);
    }

    #[tokio::test]
    async fn hashes_match_the_reference_implementation_both_ways() {
        let hasher = PasswordHasher::new(2).await.expect("hasher");
        let password = Password::parse("pässwörd with spaces").expect("valid");
        let reference = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            params().expect("params"),
        );
        // Ours verifies with the crate's own verifier…
        let ours = hasher.hash(&password).await.expect("hash");
        let parsed = PasswordHash::new(&ours).expect("PHC string");
        assert!(
            reference
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok()
        );
        // …and a hash made by the crate (or with other costs) verifies with ours.
        let salt = SaltString::generate(&mut OsRng);
        let theirs = reference
            .hash_password(password.expose().as_bytes(), &salt)
            .expect("hash")
            .to_string();
        let cheaper = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 1, 1, None).expect("params"),
        )
        .hash_password(password.expose().as_bytes(), &salt)
        .expect("hash")
        .to_string();
        for stored in [theirs, cheaper] {
            assert!(
                hasher
                    .verify(Some(&stored), password.expose())
                    .await
                    .expect("verify")
            );
            assert!(
                !hasher
                    .verify(Some(&stored), "another one")
                    .await
                    .expect("verify")
            );
        }
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
