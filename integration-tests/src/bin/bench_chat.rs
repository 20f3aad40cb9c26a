//! Streaming benchmark: Confab in front of the fake upstream, side by side with the fake
//! upstream called directly in the same run. Prints:
//!
//! - the time-to-first-token overhead (from an upstream that answers at once, and from one
//!   whose first token takes 20 ms), with where it goes (the server's own per-stage means,
//!   scraped from its metrics listener) and the MongoDB commands per answer;
//! - the per-chunk overhead;
//! - 100, 500 and 1,000 answers of 100 chunks 20 ms apart started together: TTFT and total
//!   time, direct and through Confab, beside the database floor (the writes those answers
//!   need, timed alone: one per answer and step, and batched), with errors, commands per
//!   answer and the server's peak RSS.
//!
//!     ./scripts/bench bench_chat                  # BENCH_ONLY_LOAD=1: the load levels alone
//!
//! `BENCH_ONLY_TTFT=1` runs the first-token rounds alone.
//!
//! The server runs as its own process (`target/release/confab`, or `CONFAB_BIN`: an older
//! build gives the baseline) so that its memory is measured alone; MongoDB is
//! `CONFAB_TEST_MONGODB_URI`.

use std::time::{Duration, Instant};

use integration_tests::{
    bench::{
        Scrape, direct, free_port, memory_kib, ms, percentile, post_json, sorted,
        start_server_with, via_confab,
    },
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
    let database = format!("bench_{}", uuid::Uuid::new_v4().simple());
    let metrics_port = free_port()?;
    let metrics_addr = format!("127.0.0.1:{metrics_port}");
    let server =
        start_server_with(&upstream, &database, &[("METRICS_ADDR", &metrics_addr)]).await?;
    let metrics_url = format!("http://{metrics_addr}/metrics");
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
    let probe_chats = db.collection::<mongodb::bson::Document>("chats");
    let probe_messages =
        db.collection_with_options::<mongodb::bson::Document>("probe_messages", durable());
    let (mut db_path, mut db_insert) = (Vec::new(), Vec::new());
    for _ in 0..50 {
        let started = Instant::now();
        use futures::TryStreamExt as _;
        let chat_id = mongodb::bson::oid::ObjectId::new();
        tokio::try_join!(
            async {
                probe_chats
                    .find(mongodb::bson::doc! { "_id": { "$in": [chat_id] } })
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            },
            async {
                probe_messages
                    .find(mongodb::bson::doc! { "chat_id": { "$in": [chat_id] } })
                    .sort(mongodb::bson::doc! { "created_at": 1, "_id": 1 })
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            },
        )?;
        let docs = [
            mongodb::bson::doc! { "chat_id": chat_id, "content": "question", "created_at": mongodb::bson::DateTime::now() },
            mongodb::bson::doc! { "chat_id": chat_id, "content": "", "created_at": mongodb::bson::DateTime::now() },
        ];
        let inserting = Instant::now();
        probe_messages.insert_many(docs).await?;
        db_insert.push(ms(inserting.elapsed()));
        db_path.push(ms(started.elapsed()));
    }
    let db_path = percentile(&sorted(db_path), 0.5);
    let db_insert = percentile(&sorted(db_insert), 0.5);

    // BENCH_ONLY_LOAD=1 runs the load levels alone.
    if std::env::var_os("BENCH_ONLY_LOAD").is_none() {
        // 1. Time to first token, sequential, short answers: from an upstream that answers at
        // once (nothing hides Confab's work: its database round trips are all exposed), then
        // from one whose first token takes 20 ms (a fast server's prompt processing: the
        // insert that runs alongside the upstream request is hidden behind it).
        let links = (&client, base.as_str(), token.as_str(), metrics_url.as_str());
        for (initial_delay_ms, what) in [
            (0, "an upstream that answers at once"),
            (20, "an upstream whose first token takes 20 ms"),
        ] {
            upstream.set_behaviour(Behaviour {
                reply_tokens: Some(8),
                initial_delay_ms,
                ..Behaviour::default()
            });
            println!(
                "\n== time to first token, {what} (n=200, one at a time, back to back; chats created beforehand) =="
            );
            ttft_round(links, &upstream).await?;
        }
        println!(
            "  the same database work alone: p50 {db_path:.2} ms (a chat and its messages read at once, then the two messages inserted); the durable insert alone, which no token may precede: p50 {db_insert:.2} ms; ping {ping:.2} ms"
        );
        if std::env::var_os("BENCH_ONLY_TTFT").is_some() {
            return Ok(());
        }

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
        let chats = new_chats(&client, &base, &token, 30).await?;
        for (i, chat) in chats.iter().enumerate() {
            let prompt = format!("chunk probe {i}");
            let d = direct(&client, &upstream, &prompt).await?;
            direct_chunk.push(ms(d.total - d.ttft) / tokens as f64);
            if let Some(c) = via_confab(&client, &base, &token, chat, &prompt).await? {
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
    }

    // 3. Under load: answers of 100 chunks 20 ms apart (about 2 s each), all started together,
    // straight from the upstream and through Confab, beside the database's own floor.
    upstream.set_behaviour(Behaviour {
        reply_tokens: Some(100),
        chunk_delay_ms: 20,
        ..Behaviour::default()
    });
    println!(
        "\n== under load: answers of 100 chunks 20 ms apart, started together (fair-use limits off) =="
    );
    for streams in [100usize, 500, 1000] {
        under_load(
            &client,
            &upstream,
            (&base, &token, &metrics_url),
            &db,
            streams,
            pid,
        )
        .await?;
    }

    let _ = db.drop().await;
    let mut server = server;
    server.child.kill().await?;
    Ok(())
}

/// One load level: `streams` answers started together, first straight from the upstream, then
/// through Confab, then the database floor alone (the writes those answers need, issued the
/// way a one-write-per-step server would: each answer's question and placeholder inserted,
/// then its final text saved).
async fn under_load(
    client: &reqwest::Client,
    upstream: &FakeUpstream,
    (base, token, metrics_url): (&str, &str, &str),
    db: &mongodb::Database,
    streams: usize,
    pid: u32,
) -> anyhow::Result<()> {
    let chats = new_chats(client, base, token, streams).await?;
    let direct_runs =
        (0..streams).map(|i| async move { direct(client, upstream, &format!("load {i}")).await });
    let direct_runs: Vec<_> = futures::future::join_all(direct_runs)
        .await
        .into_iter()
        .filter_map(Result::ok)
        .collect();
    let (direct_ttft, direct_total) = (
        sorted(direct_runs.iter().map(|t| ms(t.ttft)).collect()),
        sorted(direct_runs.iter().map(|t| ms(t.total)).collect()),
    );

    let before = Scrape::fetch(client, metrics_url).await?;
    let started = Instant::now();
    let runs = chats.iter().enumerate().map(|(i, chat)| async move {
        via_confab(client, base, token, chat, &format!("load {i}")).await
    });
    let results = futures::future::join_all(runs).await;
    let wall = started.elapsed();
    let after = Scrape::fetch(client, metrics_url).await?;
    let commands = after.grew_since(&before, "confab_mongodb_operation_seconds_count", "");
    let mut errors = 0;
    let (mut ttft, mut total, mut text, mut saved) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for result in results {
        match result {
            Ok(Some(t)) => {
                ttft.push(ms(t.ttft));
                total.push(ms(t.total));
                text.push(ms(t.last_text - t.ttft));
                saved.push(ms(t.total - t.last_text));
            }
            _ => errors += 1,
        }
    }
    let (ttft, total, text, saved) = (sorted(ttft), sorted(total), sorted(text), sorted(saved));
    let stage = |name: &str| stage_mean(&before, &after, name);

    let (floor, floor_batched) = database_floor(db, streams).await?;
    let bound = percentile(&direct_total, 0.5).max(ms(floor));
    let strict_bound = percentile(&direct_total, 0.5).max(ms(floor_batched));
    println!(
        "{streams:>5} answers | direct ttft p50 {:>7.0} ms total p50 {:>6.2} s | confab ttft p50 {:>7.0} ms total p50 {:>6.2} s (p99 {:.2} s), errors {errors}, wall {:.2} s",
        percentile(&direct_ttft, 0.5),
        percentile(&direct_total, 0.5) / 1e3,
        percentile(&ttft, 0.5),
        percentile(&total, 0.5) / 1e3,
        percentile(&total, 0.99) / 1e3,
        wall.as_secs_f64(),
    );
    println!(
        "              database floor (the answers' 2 writes each, alone): {:.2} s one per answer, {:.2} s batched | confab total p50 / max(direct, floor) = {:.2}, with the batched floor {:.2} (goal <= 1.5) | MongoDB commands {} ({:.1} per answer) | server peak RSS {:.0} MiB",
        floor.as_secs_f64(),
        floor_batched.as_secs_f64(),
        percentile(&total, 0.5) / bound,
        percentile(&total, 0.5) / strict_bound,
        commands,
        commands / streams as f64,
        peak_rss_mib(pid),
    );
    println!(
        "              MongoDB commands per answer (count x mean duration): {}",
        commands_by_kind(&before, &after, streams as f64)
    );
    println!(
        "              confab: first to last token p50 {:.2} s, then to `done` (stored) p50 {:.0} ms | server-side means: auth {:.0} ms, load {:.0} ms, save {:.0} ms, upstream connect {:.0} ms; at the end, the branch update {:.0} ms, the final write {:.0} ms",
        percentile(&text, 0.5) / 1e3,
        percentile(&saved, 0.5),
        stage("auth"),
        stage("load"),
        stage("save"),
        stage("upstream_connect"),
        after.mean_ms_since(&before, "confab_final_save_seconds", "step=\"branch\""),
        after.mean_ms_since(&before, "confab_final_save_seconds", "step=\"answer\""),
    );
    Ok(())
}

/// The writes `streams` answers need, alone: each inserts its question and placeholder (one
/// write), then saves its final text (one write), durably (majority, journaled, as Confab
/// writes messages). The wall time until the last is done: issued one per answer and step,
/// all answers at once; and batched.
async fn database_floor(
    db: &mongodb::Database,
    streams: usize,
) -> anyhow::Result<(Duration, Duration)> {
    use mongodb::bson::{DateTime, doc, oid::ObjectId};
    let floor = db.collection_with_options::<mongodb::bson::Document>("floor_messages", durable());
    let started = Instant::now();
    let answers = (0..streams).map(|i| {
        let floor = floor.clone();
        async move {
            let (chat, question, answer) = (ObjectId::new(), ObjectId::new(), ObjectId::new());
            floor
                .insert_many([
                    doc! { "_id": question, "chat_id": chat, "role": "user", "content": format!("load {i}"), "created_at": DateTime::now() },
                    doc! { "_id": answer, "chat_id": chat, "role": "assistant", "content": "", "status": "streaming", "created_at": DateTime::now() },
                ])
                .await?;
            floor
                .update_one(
                    doc! { "_id": answer },
                    doc! { "$set": { "content": "word ".repeat(100), "status": "complete", "updated_at": DateTime::now() } },
                )
                .await?;
            anyhow::Ok(())
        }
    });
    for result in futures::future::join_all(answers).await {
        result?;
    }
    let one_by_one = started.elapsed();
    floor.drop().await?;

    // The same writes batched as far as they go: every answer's messages in one insert, every
    // final text in one update command (500 statements each).
    let started = Instant::now();
    let mut docs = Vec::with_capacity(2 * streams);
    let mut answers = Vec::with_capacity(streams);
    for i in 0..streams {
        let (chat, question, answer) = (ObjectId::new(), ObjectId::new(), ObjectId::new());
        docs.push(doc! { "_id": question, "chat_id": chat, "role": "user", "content": format!("load {i}"), "created_at": DateTime::now() });
        docs.push(doc! { "_id": answer, "chat_id": chat, "role": "assistant", "content": "", "status": "streaming", "created_at": DateTime::now() });
        answers.push(answer);
    }
    floor.insert_many(docs).ordered(false).await?;
    for chunk in answers.chunks(500) {
        let updates: Vec<_> = chunk
            .iter()
            .map(|id| doc! { "q": { "_id": id }, "u": { "$set": { "content": "word ".repeat(100), "status": "complete", "updated_at": DateTime::now() } } })
            .collect();
        db.run_command(doc! {
            "update": "floor_messages", "updates": updates, "ordered": false,
            "writeConcern": { "w": "majority", "j": true },
        })
        .await?;
    }
    let batched = started.elapsed();
    floor.drop().await?;
    Ok((one_by_one, batched))
}

/// 200 short answers one at a time, each straight from the upstream then through Confab, back
/// to back: TTFT of both, the overhead, where it goes (server-side stage means) and the
/// database commands per answer.
async fn ttft_round(
    (client, base, token, metrics_url): (&reqwest::Client, &str, &str, &str),
    upstream: &FakeUpstream,
) -> anyhow::Result<()> {
    let rounds = 200;
    let chats = new_chats(client, base, token, rounds).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut direct_ttft = Vec::new();
    let mut confab_ttft = Vec::new();
    let before = Scrape::fetch(client, metrics_url).await?;
    for (i, chat) in chats.iter().enumerate() {
        let prompt = format!("ttft probe {i}");
        direct_ttft.push(ms(direct(client, upstream, &prompt).await?.ttft));
        if let Some(t) = via_confab(client, base, token, chat, &prompt).await? {
            confab_ttft.push(ms(t.ttft));
        }
    }
    let after = Scrape::fetch(client, metrics_url).await?;
    let (direct_ttft, confab_ttft) = (sorted(direct_ttft), sorted(confab_ttft));
    println!(
        "direct p50 {:.2} ms p99 {:.2} ms | confab p50 {:.2} ms p99 {:.2} ms | overhead p50 {:.2} ms p99 {:.2} ms (goal p50 <= 2 ms, p99 <= 5 ms)",
        percentile(&direct_ttft, 0.5),
        percentile(&direct_ttft, 0.99),
        percentile(&confab_ttft, 0.5),
        percentile(&confab_ttft, 0.99),
        percentile(&confab_ttft, 0.5) - percentile(&direct_ttft, 0.5),
        percentile(&confab_ttft, 0.99) - percentile(&direct_ttft, 0.99),
    );
    let stage = |name: &str| stage_mean(&before, &after, name);
    println!(
        "  stages (server-side means, ms): auth {:.2} | load {:.2} | save {:.2} (the upstream request runs alongside) | upstream connect {:.2} | upstream first byte {:.2}",
        stage("auth"),
        stage("load"),
        stage("save"),
        stage("upstream_connect"),
        stage("upstream_first_byte"),
    );
    let commands = after.grew_since(&before, "confab_mongodb_operation_seconds_count", "");
    let by_command = commands_by_kind(&before, &after, rounds as f64);
    println!(
        "  MongoDB commands per answer {:.1} (all of Confab's while these ran; a change stream's getMore lasts until it has news): {}",
        commands / rounds as f64,
        by_command
    );
    Ok(())
}

/// Confab's MongoDB commands between two scrapes, by kind: how many per answer, and how long
/// each took on average.
fn commands_by_kind(before: &Scrape, after: &Scrape, answers: f64) -> String {
    after
        .label_values("confab_mongodb_operation_seconds_count", "op")
        .into_iter()
        .filter_map(|op| {
            let label = format!("op=\"{op}\"");
            let count = after.grew_since(before, "confab_mongodb_operation_seconds_count", &label);
            (count > 0.0).then(|| {
                let mean = after.mean_ms_since(before, "confab_mongodb_operation_seconds", &label);
                format!("{op} {:.2} x {mean:.1} ms", count / answers)
            })
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `n` new chats of the user, by id.
async fn new_chats(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    n: usize,
) -> anyhow::Result<Vec<String>> {
    let mut chats = Vec::with_capacity(n);
    for _ in 0..n {
        let chat = post_json(
            client,
            &format!("{base}/api/chats"),
            Some(token),
            &json!({ "title": "bench" }),
        )
        .await?;
        chats.push(chat["id"].as_str().unwrap_or_default().to_owned());
    }
    Ok(chats)
}

/// A first-token stage's mean (ms) on the server between two scrapes.
fn stage_mean(before: &Scrape, after: &Scrape, stage: &str) -> f64 {
    after.mean_ms_since(
        before,
        "confab_first_token_stage_seconds",
        &format!("stage=\"{stage}\""),
    )
}

/// How Confab writes messages: majority, journaled.
fn durable() -> mongodb::options::CollectionOptions {
    mongodb::options::CollectionOptions::builder()
        .write_concern(
            mongodb::options::WriteConcern::builder()
                .w(mongodb::options::Acknowledgment::Majority)
                .journal(true)
                .build(),
        )
        .build()
}
