//! Many processes, one deployment: two `confab` processes on one database.
//! Prints (1) cross-process delivery of one vote to 200 sockets spread over both processes,
//! p50/p99 per process; (2) database writes per answer of 100 tokens over ~2 s, by collection
//! (every write seen by a change stream on the database); (3) time-to-first-token overhead of
//! this build beside the build before the event log (`CONFAB_BIN_BEFORE`), in one run; (4)
//! reattach latency (request → first catch-up text) on B for 100 answers streaming on A.
//!
//!     ./scripts/bench bench_many
//!
//! The servers run as their own processes (`target/release/confab`, or `CONFAB_BIN`).

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use futures::StreamExt as _;
use integration_tests::{
    bench::{
        self, BenchSocket, ServerProcess, direct, fan_out, ms, percentile, post_json, sorted,
        start_server_with, via_confab, vote,
    },
    fake_upstream::{Behaviour, FakeUpstream},
    mongodb_uri,
};
use serde_json::{Value, json};

async fn sign_up(client: &reqwest::Client, base: &str, name: &str) -> anyhow::Result<String> {
    let auth = bench::sign_up(client, base, name).await?;
    Ok(auth["access_token"].as_str().unwrap_or_default().to_owned())
}

async fn new_chat(client: &reqwest::Client, base: &str, token: &str) -> anyhow::Result<String> {
    let chat = post_json(
        client,
        &format!("{base}/api/chats"),
        Some(token),
        &json!({}),
    )
    .await?;
    Ok(chat["id"].as_str().unwrap_or_default().to_owned())
}

/// Sends a message and reads the stream to its end; the answer's id.
async fn answer(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    chat: &str,
) -> anyhow::Result<String> {
    let text = client
        .post(format!("{base}/api/chats/{chat}/messages"))
        .bearer_auth(token)
        .json(&json!({ "content": "something to vote on" }))
        .send()
        .await?
        .text()
        .await?;
    text.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .find(|v| v["role"] == "assistant" && v["status"] == "complete")
        .and_then(|v| v["id"].as_str().map(str::to_owned))
        .ok_or_else(|| anyhow::anyhow!("no answer"))
}

async fn open_socket(
    client: &reqwest::Client,
    server: &ServerProcess,
    token: &str,
) -> anyhow::Result<BenchSocket> {
    let ticket = post_json(
        client,
        &format!("{}/api/ws/ticket", server.base),
        Some(token),
        &json!({}),
    )
    .await?;
    let url = format!(
        "ws://127.0.0.1:{}/api/ws?ticket={}",
        server.port,
        ticket["ticket"].as_str().unwrap_or_default()
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
    let _ready = ws.next().await;
    Ok(ws)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let sockets: usize = std::env::var("SOCKETS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let upstream = FakeUpstream::start().await;
    let database = format!("bench_{}", uuid::Uuid::new_v4().simple());
    let a = start_server_with(&upstream, &database, &[("INSTANCE_ID", "a")]).await?;
    let b = start_server_with(&upstream, &database, &[("INSTANCE_ID", "b")]).await?;
    let client = reqwest::Client::new();
    let token = sign_up(&client, &a.base, "many").await?;
    let chat = new_chat(&client, &a.base, &token).await?;
    let voted = answer(&client, &a.base, &token, &chat).await?;

    // 1. One vote through A, to sockets spread over A and B.
    let mut streams: Vec<(char, BenchSocket)> = Vec::with_capacity(sockets);
    for i in 0..sockets {
        let (name, server) = if i % 2 == 0 { ('a', &a) } else { ('b', &b) };
        streams.push((name, open_socket(&client, server, &token).await?));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut latencies: BTreeMap<char, Vec<f64>> = BTreeMap::new();
    let mut missing = 0;
    let (names, mut open): (Vec<char>, Vec<BenchSocket>) = streams.into_iter().unzip();
    for round in 0..10 {
        let (received, back) = fan_out(open, "message.voted", || {
            vote(&client, &a.base, &token, &chat, &voted, round)
        })
        .await?;
        open = back;
        for (name, latency) in names.iter().zip(received) {
            match latency {
                Some(ms) => latencies.entry(*name).or_default().push(ms),
                None => missing += 1,
            }
        }
    }
    println!("\n== one vote (through A) to {sockets} sockets, half on A and half on B, ×10 ==");
    for (name, values) in &latencies {
        let values = sorted(values.clone());
        println!(
            "sockets on {name}: delivery p50 {:6.1} ms  p99 {:6.1} ms  (n={})",
            percentile(&values, 0.5),
            percentile(&values, 0.99),
            values.len()
        );
    }
    let all = sorted(latencies.values().flatten().copied().collect());
    println!(
        "all:          delivery p50 {:6.1} ms  p99 {:6.1} ms, {missing} missed   (target p99 <= 100 ms)",
        percentile(&all, 0.5),
        percentile(&all, 0.99)
    );
    drop(open);

    // 2. Database writes per answer of 100 tokens over ~2 s, seen by a change stream.
    upstream.set_behaviour(Behaviour {
        reply_tokens: Some(100),
        chunk_delay_ms: 20,
        ..Behaviour::default()
    });
    let chat = new_chat(&client, &a.base, &token).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mongo = mongodb::Client::with_uri_str(mongodb_uri()).await?;
    let mut watch = mongo.database(&database).watch().await?;
    let counting = tokio::spawn(async move {
        let mut by_collection: BTreeMap<String, usize> = BTreeMap::new();
        let until = Instant::now() + Duration::from_secs(5);
        while let Ok(Some(Ok(change))) = tokio::time::timeout_at(until.into(), watch.next()).await {
            let collection = change.ns.and_then(|ns| ns.coll).unwrap_or_default();
            *by_collection.entry(collection).or_default() += 1;
        }
        by_collection
    });
    let started = Instant::now();
    answer(&client, &a.base, &token, &chat).await?;
    let took = started.elapsed();
    let by_collection = counting.await?;
    let per_answer: usize = by_collection
        .iter()
        .filter(|(c, _)| c.as_str() != "instances")
        .map(|(_, n)| n)
        .sum();
    println!(
        "\n== database writes for one answer of 100 tokens ({:.1} s) ==",
        took.as_secs_f64()
    );
    println!("{by_collection:?}");
    println!(
        "per answer: {per_answer} writes (target <= 8; `instances` are the processes' lease renewals, every 2 s per process, not per answer)"
    );

    // 3. Reattach latency: 100 answers streaming on A; each reattached on B, the time from the
    // request to the first byte of its catch-up text.
    upstream.set_behaviour(Behaviour {
        reply_tokens: Some(150),
        chunk_delay_ms: 20,
        ..Behaviour::default()
    });
    let mut streams = Vec::new();
    for _ in 0..100 {
        let chat = new_chat(&client, &a.base, &token).await?;
        let response = client
            .post(format!("{}/api/chats/{chat}/messages", a.base))
            .bearer_auth(&token)
            .json(&json!({ "content": "keep streaming" }))
            .send()
            .await?;
        let mut reader = integration_tests::SseReader::new(response);
        let (answer, _) = reader.read_answer_until(0).await;
        streams.push((chat, answer, reader));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let reattached = futures::future::join_all(streams.iter().map(|(chat, answer, _)| {
        let (client, base, token) = (client.clone(), b.base.clone(), token.clone());
        async move {
            let started = Instant::now();
            let response = client
                .get(format!("{base}/api/chats/{chat}/messages/{answer}/stream"))
                .bearer_auth(&token)
                .send()
                .await
                .ok()?;
            let mut reader = integration_tests::SseReader::new(response);
            while let Some(event) = reader.next().await {
                if event.event == "delta" {
                    return Some(ms(started.elapsed()));
                }
            }
            None
        }
    }))
    .await;
    let missed = reattached.iter().filter(|r| r.is_none()).count();
    let reattached = sorted(reattached.into_iter().flatten().collect());
    println!("\n== reattach on B to answers streaming on A (100 at once) ==");
    println!(
        "request → first catch-up delta p50 {:6.1} ms  p99 {:6.1} ms, {missed} without text",
        percentile(&reattached, 0.5),
        percentile(&reattached, 0.99)
    );
    drop(streams);

    // 4. Time to first token: this build and the one before, beside the upstream direct.
    upstream.set_behaviour(Behaviour {
        reply_tokens: Some(8),
        ..Behaviour::default()
    });
    let mut builds = vec![("this build", a.base.clone(), token.clone())];
    let mut before_server = None;
    if let Ok(before) = std::env::var("CONFAB_BIN_BEFORE") {
        let other = format!("bench_{}", uuid::Uuid::new_v4().simple());
        let server =
            start_server_with(&upstream, &other, &[("CONFAB_BIN", before.as_str())]).await?;
        let token = sign_up(&client, &server.base, "before").await?;
        builds.push(("before (CONFAB_BIN_BEFORE)", server.base.clone(), token));
        before_server = Some(server);
    } else {
        println!("\n(set CONFAB_BIN_BEFORE to a build before the event log to compare TTFT)");
    }
    // A new chat, then the message: back to back (as the client sends a first message), and
    // with a pause between them (the first-token path alone, without the chat's own writes).
    for pause in [Duration::ZERO, Duration::from_millis(50)] {
        println!(
            "\n== time to first token (n=150 each, sequential, interleaved; {} ms after creating the chat) ==",
            pause.as_millis()
        );
        let mut results: Vec<(Vec<f64>, Vec<f64>)> = vec![(Vec::new(), Vec::new()); builds.len()];
        for i in 0..150 {
            for (index, (_, base, token)) in builds.iter().enumerate() {
                let chat = new_chat(&client, base, token).await?;
                tokio::time::sleep(pause).await;
                let prompt = format!("ttft probe {i}");
                results[index]
                    .0
                    .push(ms(direct(&client, &upstream, &prompt).await?.ttft));
                if let Some(t) = via_confab(&client, base, token, &chat, &prompt).await? {
                    results[index].1.push(ms(t.ttft));
                }
            }
        }
        for ((name, _, _), (direct_ttft, confab_ttft)) in builds.iter().zip(results) {
            let (direct_ttft, confab_ttft) = (sorted(direct_ttft), sorted(confab_ttft));
            println!(
                "{name:28} overhead p50 {:6.2} ms  p99 {:6.2} ms   (confab p50 {:.2}, direct p50 {:.2})",
                percentile(&confab_ttft, 0.5) - percentile(&direct_ttft, 0.5),
                percentile(&confab_ttft, 0.99) - percentile(&direct_ttft, 0.99),
                percentile(&confab_ttft, 0.5),
                percentile(&direct_ttft, 0.5),
            );
        }
    }
    drop(before_server);
    Ok(())
}
