//! The server process, spawned as operators run it: its memory stays bounded however many
//! people sign in (each password hash needs 19 MiB of work area).

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::json;

/// Argon2id's work area (m = 19456 KiB).
const HASH_MIB: f64 = 19.0;
const HASH_THREADS: usize = 2;
/// Slack for everything else that grows while serving (buffers, caches, the allocator).
const SLACK_MIB: f64 = 30.0;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

#[tokio::test]
async fn memory_stays_bounded_over_fifty_sign_ins() {
    let mongodb = std::env::var("CONFAB_TEST_MONGODB_URI")
        .unwrap_or_else(|_| "mongodb://127.0.0.1:27017/?directConnection=true".to_owned());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let child = Command::new(env!("CARGO_BIN_EXE_confab"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PORT", port.to_string())
        .env("MONGODB_URI", mongodb)
        .env(
            "MONGODB_DATABASE",
            format!("memory_{port}_{}", std::process::id()),
        )
        .env("JWT_SECRET", "memory-test-secret-0123456789abcdef0123")
        .env("PASSWORD_HASH_CONCURRENCY", HASH_THREADS.to_string())
        .env("CLIENT_DIR", "/nonexistent")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("the server starts");
    let server = Server(child);
    let pid = server.0.id();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while client
        .get(format!("{base}/api/health"))
        .send()
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let start = rss_mib(pid);
    let credentials = json!({
        "username": "memory_user",
        "email": "memory@example.org",
        "password": "correct horse battery staple",
    });
    let registered = client
        .post(format!("{base}/api/auth/register"))
        .json(&credentials)
        .send()
        .await
        .expect("sent");
    assert_eq!(registered.status(), 201);
    for _ in 0..50 {
        let login = client
            .post(format!("{base}/api/auth/login"))
            .json(&json!({ "email": "memory@example.org", "password": "correct horse battery staple" }))
            .send()
            .await
            .expect("sent");
        assert_eq!(login.status(), 200);
    }
    let end = rss_mib(pid);
    let bound = start + HASH_THREADS as f64 * HASH_MIB + SLACK_MIB;
    println!(
        "RSS: {start:.1} MiB after start-up, {end:.1} MiB after a sign-up and 50 sign-ins \
         (bound {bound:.1} MiB, PASSWORD_HASH_CONCURRENCY={HASH_THREADS})"
    );
    assert!(
        end <= bound,
        "RSS grew from {start:.1} to {end:.1} MiB (bound {bound:.1})"
    );
}
