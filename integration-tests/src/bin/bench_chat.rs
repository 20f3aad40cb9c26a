//! Streaming benchmark: Confab in front of the fake upstream, side by side with the fake
//! upstream called directly in the same run. Prints time-to-first-token overhead, per-chunk
//! overhead, and 100 / 1,000 concurrent streams (errors, server peak RSS).
//!
//!     ./scripts/bench bench_chat
//!
//! The server runs as its own process (`target/release/confab`, or `CONFAB_BIN`) so that its
//! memory is measured alone; MongoDB is `CONFAB_TEST_MONGODB_URI`.

use std::time::{Duration, Instant};

use integration_tests::{
    bench::{direct, memory_kib, ms, percentile, post_json, sorted, start_server, via_confab},
    fake_upstream::{Behaviour, FakeUpstream},
    mongodb_uri,
};
use serde_json::json;

fn peak_rss_mib(pid: u32) -> f64 {
    memory_kib(pid, "VmHWM:") / 1024.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let upstream = FakeUpstream::start().await;
    let server = start_server(&upstream).await?;
    let (pid, base, database) = (server.pid, server.base.clone(), server.database.clone());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(2000)
        .build()?;
    println!(
        "server pid {pid}, idle peak RSS {:.1} MiB",
        peak_rss_mib(pid)
    );

    let auth = post_json(
        &client,
        &format!("{base}/api/auth/register"),
        None,
        &json!({
            "username": "bench", "email": "bench@example.org", "password": "benchmark password"
        }),
    )
    .await?;
    let token = auth["access_token"].as_str().unwrap_or_default().to_owned();
    let new_chat = || async {
        post_json(
            &client,
            &format!("{base}/api/chats"),
            Some(&token),
            &json!({ "title": "bench" }),
        )
        .await
        .map(|c| c["id"].as_str().unwrap_or_default().to_owned())
    };

    // Database round trip, to say how much of the overhead is MongoDB.
    let mongo = mongodb::Client::with_uri_str(mongodb_uri()).await?;
    let db = mongo.database(&database);
    let mut pings = Vec::new();
    for _ in 0..50 {
        let started = Instant::now();
        db.run_command(mongodb::bson::doc! { "ping": 1 }).await?;
        pings.push(ms(started.elapsed()));
    }
    let ping = percentile(&sorted(pings), 0.5);
    // The same two round trips Confab makes before the first token, timed alone.
    let durable = mongodb::options::CollectionOptions::builder()
        .write_concern(
            mongodb::options::WriteConcern::builder()
                .w(mongodb::options::Acknowledgment::Majority)
                .journal(true)
                .build(),
        )
        .build();
    let probe_chats = db.collection::<mongodb::bson::Document>("chats");
    let probe_messages =
        db.collection_with_options::<mongodb::bson::Document>("probe_messages", durable);
    let mut db_path = Vec::new();
    for _ in 0..50 {
        let started = Instant::now();
        let (_, _) = tokio::try_join!(
            probe_chats
                .find_one(mongodb::bson::doc! { "_id": mongodb::bson::oid::ObjectId::new() }),
            async {
                use futures::TryStreamExt as _;
                probe_messages
                    .find(mongodb::bson::doc! { "chat_id": mongodb::bson::oid::ObjectId::new() })
                    .sort(mongodb::bson::doc! { "created_at": 1 })
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            },
        )?;
        let docs = [
            mongodb::bson::doc! { "content": "question", "created_at": mongodb::bson::DateTime::now() },
            mongodb::bson::doc! { "content": "", "created_at": mongodb::bson::DateTime::now() },
        ];
        probe_messages.insert_many(docs).await?;
        db_path.push(ms(started.elapsed()));
    }
    let db_path = percentile(&sorted(db_path), 0.5);

    // 1. Time to first token, sequential, short answers.
    upstream.set_behaviour(Behaviour {
        reply_tokens: Some(8),
        ..Behaviour::default()
    });
    let mut direct_ttft = Vec::new();
    let mut confab_ttft = Vec::new();
    for i in 0..200 {
        let chat = new_chat().await?;
        let prompt = format!("ttft probe {i}");
        direct_ttft.push(ms(direct(&client, &upstream, &prompt).await?.ttft));
        if let Some(t) = via_confab(&client, &base, &token, &chat, &prompt).await? {
            confab_ttft.push(ms(t.ttft));
        }
    }
    let (direct_ttft, confab_ttft) = (sorted(direct_ttft), sorted(confab_ttft));
    println!("\n== time to first token (n=200, sequential) ==");
    println!(
        "direct   p50 {:7.2} ms  p99 {:7.2} ms",
        percentile(&direct_ttft, 0.5),
        percentile(&direct_ttft, 0.99)
    );
    println!(
        "confab   p50 {:7.2} ms  p99 {:7.2} ms",
        percentile(&confab_ttft, 0.5),
        percentile(&confab_ttft, 0.99)
    );
    println!(
        "overhead p50 {:7.2} ms  p99 {:7.2} ms   (target p50 <= 5 ms)",
        percentile(&confab_ttft, 0.5) - percentile(&direct_ttft, 0.5),
        percentile(&confab_ttft, 0.99) - percentile(&direct_ttft, 0.99),
    );

    println!(
        "of which MongoDB p50 {db_path:7.2} ms   (the 2 round trips in series before the first token — chat with its messages, then the insert — timed alone; ping {ping:.2} ms)"
    );

    // 2. Per-chunk overhead: long answers, no upstream delay.
    let tokens = 400;
    upstream.set_behaviour(Behaviour {
        reply_tokens: Some(tokens),
        chunk_delay_ms: 1,
        ..Behaviour::default()
    });
    let mut direct_chunk = Vec::new();
    let mut confab_chunk = Vec::new();
    let mut confab_events = Vec::new();
    for i in 0..30 {
        let chat = new_chat().await?;
        let prompt = format!("chunk probe {i}");
        let d = direct(&client, &upstream, &prompt).await?;
        direct_chunk.push(ms(d.total - d.ttft) / tokens as f64);
        if let Some(c) = via_confab(&client, &base, &token, &chat, &prompt).await? {
            confab_chunk.push(ms(c.total - c.ttft) / tokens as f64);
            confab_events.push(c.chunks as f64);
        }
    }
    let (direct_chunk, confab_chunk) = (sorted(direct_chunk), sorted(confab_chunk));
    println!(
        "\n== per-chunk time ({tokens}-token answers, chunks 1 ms apart, n=30; time from first to last token / {tokens}) =="
    );
    println!(
        "direct   p50 {:7.4} ms/chunk",
        percentile(&direct_chunk, 0.5)
    );
    println!(
        "confab   p50 {:7.4} ms/chunk  ({:.0} SSE delta events for {tokens} upstream chunks: coalesced)",
        percentile(&confab_chunk, 0.5),
        percentile(&sorted(confab_events), 0.5)
    );
    println!(
        "overhead p50 {:7.4} ms/chunk   (target <= 0.5 ms; includes the final save)",
        percentile(&confab_chunk, 0.5) - percentile(&direct_chunk, 0.5)
    );

    // 3. Concurrent streams, ~1 s answers (50 tokens, 20 ms apart).
    upstream.set_behaviour(Behaviour {
        reply_tokens: Some(50),
        chunk_delay_ms: 20,
        ..Behaviour::default()
    });
    for streams in [100usize, 1000] {
        let mut chats = Vec::with_capacity(streams);
        for _ in 0..streams {
            chats.push(new_chat().await?);
        }
        // MongoDB latency while the streams run says whether the database is the bottleneck.
        let running = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let pinger = {
            let db = db.clone();
            let running = std::sync::Arc::clone(&running);
            tokio::spawn(async move {
                let mut samples = Vec::new();
                while running.load(std::sync::atomic::Ordering::Relaxed) {
                    let started = Instant::now();
                    if db
                        .run_command(mongodb::bson::doc! { "ping": 1 })
                        .await
                        .is_err()
                    {
                        break;
                    }
                    samples.push(ms(started.elapsed()));
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                samples
            })
        };
        // The same number of streams straight from the upstream: the baseline for their length.
        let direct_started = Instant::now();
        let direct_runs = (0..streams).map(|i| {
            let (client, upstream) = (&client, &upstream);
            async move { direct(client, upstream, &format!("concurrent {i}")).await }
        });
        let direct_lengths: Vec<f64> = futures::future::join_all(direct_runs)
            .await
            .into_iter()
            .filter_map(Result::ok)
            .map(|t| ms(t.last_text - t.ttft))
            .collect();
        let direct_wall = direct_started.elapsed();
        let started = Instant::now();
        let runs = chats.iter().enumerate().map(|(i, chat)| {
            let (client, base, token) = (&client, &base, &token);
            async move { via_confab(client, base, token, chat, &format!("concurrent {i}")).await }
        });
        let results = futures::future::join_all(runs).await;
        let elapsed = started.elapsed();
        running.store(false, std::sync::atomic::Ordering::Relaxed);
        let pings: Vec<f64> = pinger.await.unwrap_or_default();
        let mut ttfts = Vec::new();
        let mut lengths = Vec::new();
        let mut saves = Vec::new();
        let mut errors = 0;
        for result in results {
            match result {
                Ok(Some(t)) => {
                    ttfts.push(ms(t.ttft));
                    lengths.push(ms(t.last_text - t.ttft));
                    saves.push(ms(t.total - t.last_text));
                }
                _ => errors += 1,
            }
        }
        let ttfts = sorted(ttfts);
        let (lengths, direct_lengths) = (sorted(lengths), sorted(direct_lengths));
        let saves = sorted(saves);
        println!(
            "\n== {streams} concurrent streams ==\nerrors {errors}, wall {:.2} s, ttft p50 {:.1} ms p99 {:.1} ms, server peak RSS {:.1} MiB (target: 0 errors, < 300 MB at 1,000)",
            elapsed.as_secs_f64(),
            percentile(&ttfts, 0.5),
            percentile(&ttfts, 0.99),
            peak_rss_mib(pid),
        );
        println!(
            "text (first token to last): confab p50 {:.0} ms p99 {:.0} ms; the upstream directly, \
             same concurrency: p50 {:.0} ms p99 {:.0} ms (wall {:.2} s)",
            percentile(&lengths, 0.5),
            percentile(&lengths, 0.99),
            percentile(&direct_lengths, 0.5),
            percentile(&direct_lengths, 0.99),
            direct_wall.as_secs_f64(),
        );
        println!(
            "then until `done` (the answer stored): p50 {:.0} ms p99 {:.0} ms",
            percentile(&saves, 0.5),
            percentile(&saves, 0.99),
        );
        println!(
            "MongoDB ping during the run: {}",
            if pings.is_empty() {
                "(not sampled)".to_owned()
            } else {
                let p = sorted(pings);
                format!(
                    "p50 {:.1} ms p99 {:.1} ms",
                    percentile(&p, 0.5),
                    percentile(&p, 0.99)
                )
            }
        );
    }

    let _ = db.drop().await;
    let mut server = server;
    server.child.kill().await?;
    Ok(())
}
