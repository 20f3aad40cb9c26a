//! Prints the memory an account export costs the server, for an account of 100 chats and one of
//! 1,000 chats (10× the data): the release server's resident memory (VmRSS, sampled every 5 ms
//! while the zip streams) above what it used just before, the archive's size, and the time.
//! Flat memory means the 1,000-chat figure stays near the 100-chat one while the archive grows
//! tenfold. Then the same file imported back (ChatGPT's format from `chatgpt::export`, and the
//! Confab zip), with its time and its database operations.
//!
//!     ./scripts/bench bench_export
//!     cargo run --release -p integration-tests --bin bench_export

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use confab::{
    domain::{Role, SamplingParams},
    store::{ChatDoc, MessageDoc},
};
use futures::StreamExt as _;
use integration_tests::{
    bench::{self, ServerProcess, memory_kib, start_server},
    chatgpt,
    fake_upstream::FakeUpstream,
    mongodb_uri,
};
use mongodb::bson::oid::ObjectId;
use serde_json::Value;

/// Messages per chat, and the length of each.
const MESSAGES: usize = 10;
const TEXT_BYTES: usize = 1_000;

async fn sign_up(
    client: &reqwest::Client,
    base: &str,
    name: &str,
) -> anyhow::Result<(String, ObjectId)> {
    let auth = bench::sign_up(client, base, name).await?;
    let id = auth["user"]["id"].as_str().unwrap_or_default();
    Ok((
        auth["access_token"].as_str().unwrap_or_default().to_owned(),
        ObjectId::parse_str(id)?,
    ))
}

/// `count` chats of `MESSAGES` messages each, written straight to the database.
async fn seed(server: &ServerProcess, user: ObjectId, count: usize) -> anyhow::Result<()> {
    let client = mongodb::Client::with_uri_str(mongodb_uri()).await?;
    let db = client.database(&server.database);
    let chats = db.collection::<ChatDoc>("chats");
    let messages = db.collection::<MessageDoc>("messages");
    // Words picked by a small LCG: text that compresses about as much as prose does.
    let words = [
        "tide", "moon", "orbit", "gravity", "ocean", "spring", "neap", "bulge", "earth", "sun",
        "pull", "water", "coast", "basin", "hour", "phase", "current", "height", "range", "wave",
    ];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut text = move || {
        let mut out = String::with_capacity(TEXT_BYTES + 8);
        while out.len() < TEXT_BYTES {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            out.push_str(words[(state >> 33) as usize % words.len()]);
            out.push_str(if state >> 60 == 0 { ". " } else { " " });
        }
        out
    };
    for start in (0..count).step_by(100) {
        let mut chat_docs = Vec::new();
        let mut message_docs = Vec::new();
        for n in start..(start + 100).min(count) {
            let mut chat = ChatDoc::new(user, Some(format!("Chat {n}")), SamplingParams::default());
            let mut parent = None;
            for i in 0..MESSAGES {
                let role = if i % 2 == 0 {
                    Role::User
                } else {
                    Role::Assistant
                };
                let mut message = MessageDoc::user(chat.id, user, parent, text(), None);
                message.role = role;
                parent = Some(message.id);
                message_docs.push(message);
            }
            chat.current_message_id = parent;
            chat_docs.push(chat);
        }
        chats.insert_many(chat_docs).await?;
        for batch in message_docs.chunks(500) {
            messages.insert_many(batch).await?;
        }
    }
    Ok(())
}

struct Measured {
    bytes: usize,
    elapsed: Duration,
    baseline_mib: f64,
    peak_growth_mib: f64,
}

/// Downloads the account export while sampling the server's resident memory.
async fn export(server: &ServerProcess, token: &str) -> anyhow::Result<(Measured, Vec<u8>)> {
    let pid = server.pid;
    let baseline = memory_kib(pid, "VmRSS:");
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        tokio::spawn(async move {
            let mut peak = 0.0f64;
            while !done.load(Ordering::Relaxed) {
                peak = peak.max(memory_kib(pid, "VmRSS:"));
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            peak
        })
    };
    let started = Instant::now();
    let response = reqwest::Client::new()
        .get(format!("{}/api/users/me/export", server.base))
        .bearer_auth(token)
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "export: {}",
        response.status()
    );
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        body.extend_from_slice(&chunk?);
    }
    let elapsed = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let peak = sampler.await?;
    Ok((
        Measured {
            bytes: body.len(),
            elapsed,
            baseline_mib: baseline / 1024.0,
            peak_growth_mib: (peak - baseline).max(0.0) / 1024.0,
        },
        body,
    ))
}

/// Uploads a file to `/api/imports` and waits for its end; (seconds, the job).
async fn import(
    server: &ServerProcess,
    token: &str,
    file: Vec<u8>,
) -> anyhow::Result<(f64, Value)> {
    let client = reqwest::Client::new();
    let started = Instant::now();
    let job: Value = client
        .post(format!("{}/api/imports", server.base))
        .bearer_auth(token)
        .body(file)
        .send()
        .await?
        .json()
        .await?;
    let id = job["id"].as_str().unwrap_or_default().to_owned();
    loop {
        let job: Value = client
            .get(format!("{}/api/imports/{id}", server.base))
            .bearer_auth(token)
            .send()
            .await?
            .json()
            .await?;
        if job["status"] == "done" || job["status"] == "failed" {
            return Ok((started.elapsed().as_secs_f64(), job));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let upstream = FakeUpstream::start().await;
    let server = start_server(&upstream).await?;
    let client = reqwest::Client::new();
    println!(
        "account export: chats of {MESSAGES} messages of {TEXT_BYTES} bytes; server VmRSS sampled every 5 ms"
    );
    let mut results = Vec::new();
    let mut archive_of_1000 = Vec::new();
    for (name, count) in [("small", 100usize), ("large", 1_000)] {
        let (token, user) = sign_up(&client, &server.base, &format!("bench-export-{name}")).await?;
        seed(&server, user, count).await?;
        // A first export warms the allocator and the connection pool; the second is measured.
        export(&server, &token).await?;
        let (measured, body) = export(&server, &token).await?;
        println!(
            "{count:>5} chats ({:>4.1} MiB of message text): archive {:>4.1} MiB in {:>5.0} ms; server VmRSS {:>5.1} MiB before, {:>4.1} MiB more at peak",
            (count * MESSAGES * TEXT_BYTES) as f64 / 1_048_576.0,
            measured.bytes as f64 / 1_048_576.0,
            measured.elapsed.as_secs_f64() * 1e3,
            measured.baseline_mib,
            measured.peak_growth_mib,
        );
        if count == 1_000 {
            archive_of_1000 = body;
        }
        results.push(measured);
    }
    let (small, large) = (&results[0], &results[1]);
    println!(
        "1,000 vs 100 chats: archive ×{:.1}, time ×{:.1}; memory at peak above the level before: {:.1} MiB vs {:.1} MiB",
        large.bytes as f64 / small.bytes.max(1) as f64,
        large.elapsed.as_secs_f64() / small.elapsed.as_secs_f64().max(1e-3),
        large.peak_growth_mib,
        small.peak_growth_mib,
    );

    // Imports: the 1,000-chat Confab zip, and a ChatGPT export of 500 conversations.
    let (token, _) = sign_up(&client, &server.base, "bench-import-confab").await?;
    let (seconds, job) = import(&server, &token, archive_of_1000).await?;
    println!(
        "import of the 1,000-chat Confab zip: {} conversations, {} messages in {seconds:.1} s ({:.0} conversations/s)",
        job["conversations"]["imported"],
        job["messages"]["imported"],
        job["conversations"]["imported"].as_f64().unwrap_or(0.0) / seconds,
    );
    let (token, _) = sign_up(&client, &server.base, "bench-import-chatgpt").await?;
    let file = serde_json::to_vec(&chatgpt::export(500))?;
    let size = file.len();
    let (seconds, job) = import(&server, &token, file).await?;
    println!(
        "import of a ChatGPT export of 500 conversations ({:.1} MiB): {} imported, {} messages in {seconds:.1} s ({:.0} conversations/s)",
        size as f64 / 1_048_576.0,
        job["conversations"]["imported"],
        job["messages"]["imported"],
        job["conversations"]["imported"].as_f64().unwrap_or(0.0) / seconds,
    );
    Ok(())
}
