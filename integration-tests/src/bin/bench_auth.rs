//! Prints the cost of authentication: argon2id hash and verify times, and end-to-end login
//! latency and throughput against the real server and a real MongoDB-protocol server.
//!
//!     ./scripts/bench            (starts a local MongoDB-protocol server)
//!     cargo run --release -p integration-tests --bin bench_auth

use std::time::{Duration, Instant};

use confab::{auth::password::PasswordHasher, domain::Password};
use integration_tests::{TestUser, spawn_app_with};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    println!(
        "{name:<34} n={:<4} p50={:>7.2} ms  p99={:>7.2} ms  mean={:>7.2} ms",
        samples.len(),
        percentile(&samples, 0.50).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        mean.as_secs_f64() * 1e3,
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    println!(
        "argon2id m=19456 KiB t=2 p=1, {} cores",
        std::thread::available_parallelism()?.get()
    );
    let hasher = PasswordHasher::new(1).await?;
    let password =
        Password::parse("correct horse battery staple").map_err(|e| anyhow::anyhow!(e))?;
    let mut hash = String::new();
    let mut hash_times = Vec::new();
    for _ in 0..30 {
        let started = Instant::now();
        hash = hasher.hash(&password).await?;
        hash_times.push(started.elapsed());
    }
    report("argon2id hash", hash_times);
    let mut verify_times = Vec::new();
    for _ in 0..30 {
        let started = Instant::now();
        hasher.verify(Some(&hash), password.expose()).await?;
        verify_times.push(started.elapsed());
    }
    report("argon2id verify", verify_times);

    let app = spawn_app_with(&[("LOGIN_MAX_FAILURES_PER_IP", "100000")]).await;
    let (user, _) = app.with_user().await;
    let mut login_times = Vec::new();
    for _ in 0..30 {
        let started = Instant::now();
        let response = app.try_login(&user.email, &user.password).await;
        anyhow::ensure!(
            response.status().is_success(),
            "login failed: {}",
            response.status()
        );
        login_times.push(started.elapsed());
    }
    report("POST /api/auth/login (sequential)", login_times);

    let mut me_times = Vec::new();
    let session = app.login(&user.email, &user.password).await;
    for _ in 0..200 {
        let started = Instant::now();
        let response = app.get("/api/users/me", Some(&session.access_token)).await;
        anyhow::ensure!(response.status().is_success());
        me_times.push(started.elapsed());
    }
    report("GET /api/users/me (authenticated)", me_times);

    for concurrency in [4usize, 16] {
        let users: Vec<TestUser> = {
            let mut users = Vec::new();
            for _ in 0..concurrency {
                let (u, _) = app.with_user().await;
                users.push(u);
            }
            users
        };
        let started = Instant::now();
        let per_client = 8;
        let tasks = users.iter().map(|u| {
            let app = &app;
            async move {
                let mut errors = 0;
                for _ in 0..per_client {
                    if !app
                        .try_login(&u.email, &u.password)
                        .await
                        .status()
                        .is_success()
                    {
                        errors += 1;
                    }
                }
                errors
            }
        });
        let errors: usize = futures::future::join_all(tasks).await.into_iter().sum();
        let elapsed = started.elapsed();
        let total = concurrency * per_client;
        println!(
            "logins, {concurrency:>2} concurrent clients       {total} logins in {:.2} s = {:.1} logins/s, {errors} errors",
            elapsed.as_secs_f64(),
            total as f64 / elapsed.as_secs_f64()
        );
    }
    Ok(())
}
