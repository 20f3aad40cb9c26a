//! Live-event fan-out benchmark: 1,000 sockets of one user; a vote event delivered to all.
//! Prints p50/p99 delivery latency (from the HTTP call to each socket's receipt), the server's
//! RSS before and after opening the sockets (memory per idle socket), and its peak RSS.
//!
//!     ./scripts/bench bench_ws
//!
//! The server runs as its own process (`target/release/confab`, or `CONFAB_BIN`).

use std::time::Duration;

use futures::StreamExt as _;
use integration_tests::{
    bench::{fan_out, memory_kib, percentile, post_json, start_server, vote},
    fake_upstream::FakeUpstream,
};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let sockets: usize = std::env::var("SOCKETS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let upstream = FakeUpstream::start().await;
    let server = start_server(&upstream).await?;
    let (pid, base, port) = (server.pid, server.base.clone(), server.port);
    let client = reqwest::Client::new();
    let auth = post_json(
        &client,
        &format!("{base}/api/auth/register"),
        None,
        &json!({
            "username": "fanout", "email": "fanout@example.org", "password": "benchmark password"
        }),
    )
    .await?;
    let token = auth["access_token"].as_str().unwrap_or_default().to_owned();
    let chat = post_json(
        &client,
        &format!("{base}/api/chats"),
        Some(&token),
        &json!({}),
    )
    .await?;
    let chat_id = chat["id"].as_str().unwrap_or_default().to_owned();
    // One answer to vote on.
    let response = client
        .post(format!("{base}/api/chats/{chat_id}/messages"))
        .bearer_auth(&token)
        .json(&json!({ "content": "something to vote on" }))
        .send()
        .await?;
    let text = response.text().await?;
    let answer = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .find(|v| v["role"] == "assistant" && v["status"] == "complete")
        .and_then(|v| v["id"].as_str().map(str::to_owned))
        .ok_or_else(|| anyhow::anyhow!("no answer"))?;

    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = memory_kib(pid, "VmRSS:");
    let mut streams = Vec::with_capacity(sockets);
    for _ in 0..sockets {
        let ticket = post_json(
            &client,
            &format!("{base}/api/ws/ticket"),
            Some(&token),
            &json!({}),
        )
        .await?;
        let url = format!(
            "ws://127.0.0.1:{port}/api/ws?ticket={}",
            ticket["ticket"].as_str().unwrap_or_default()
        );
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
        let _ready = ws.next().await;
        streams.push(ws);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = memory_kib(pid, "VmRSS:");
    println!(
        "{sockets} idle sockets: server RSS {:.1} MiB → {:.1} MiB = {:.1} KiB per socket (target < 64 KiB)",
        before / 1024.0,
        after / 1024.0,
        (after - before) / sockets as f64
    );

    let mut latencies = Vec::new();
    let mut missing = 0;
    for round in 0..5 {
        let (received, back) = fan_out(streams, "message.voted", || {
            vote(&client, &base, &token, &chat_id, &answer, round)
        })
        .await?;
        streams = back;
        missing += received.iter().filter(|r| r.is_none()).count();
        latencies.extend(received.into_iter().flatten());
    }
    latencies.sort_by(|a, b| a.total_cmp(b));
    println!(
        "vote fan-out to {sockets} sockets ×5: delivery p50 {:.1} ms p99 {:.1} ms max {:.1} ms, {missing} missed (target p99 <= 50 ms)",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "server peak RSS {:.1} MiB",
        memory_kib(pid, "VmHWM:") / 1024.0
    );
    let mut server = server;
    server.child.kill().await?;
    Ok(())
}
