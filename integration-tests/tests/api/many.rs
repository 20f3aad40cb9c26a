//! Two processes of one deployment (one database, one `JWT_SECRET`, no sticky sessions): every
//! rule of "many processes, one Confab" seen from the other process.

use std::time::Duration;

use integration_tests::{
    Ended, Message, fake_upstream::Behaviour, refused_status, spawn_pair_with,
    spawn_pair_with_upstream,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// An upstream answering `tokens` tokens, one every `delay_ms`.
fn slow(delay_ms: u64, tokens: usize) -> Behaviour {
    Behaviour {
        chunk_delay_ms: delay_ms,
        reply_tokens: Some(tokens),
        ..Behaviour::default()
    }
}

const WAIT: Duration = Duration::from_secs(5);

fn seq(event: &Value) -> i64 {
    event["seq"]
        .as_i64()
        .unwrap_or_else(|| panic!("no seq: {event}"))
}

#[tokio::test]
async fn health_names_the_process_that_answered() {
    let (a, b) = spawn_pair_with(&[]).await;
    for (app, name) in [(&a, "a"), (&b, "b")] {
        let health: Value = app.health().await.json().await.expect("json");
        assert_eq!(health["instance"], name);
    }
}

#[tokio::test]
async fn a_vote_and_a_rename_on_one_process_reach_a_socket_on_the_other() {
    let (a, b, _upstream) = spawn_pair_with_upstream(&[]).await;
    let ada = a.signed_in().await;
    let chat = ada.new_chat().await;
    let answer = ada.send(&chat, "hello").await.done().await;
    let mut socket = ada.on(&b).live().await;
    ada.vote(&chat, &answer.id, json!({ "vote": "up" })).await;
    let voted = socket
        .wait_for("message.voted", WAIT)
        .await
        .expect("voted on B");
    assert_eq!(voted["message_id"], answer.id.as_str());
    ada.update_chat(&chat, json!({ "title": "Renamed on A" }))
        .await;
    let renamed = socket
        .wait_for("chat.updated", WAIT)
        .await
        .expect("renamed");
    assert_eq!(renamed["data"]["title"], "Renamed on A");
    assert!(
        seq(&renamed) > seq(&voted),
        "seq grows: {voted} then {renamed}"
    );
}

#[tokio::test]
async fn an_answer_on_one_process_streams_live_to_a_socket_on_the_other() {
    let (a, b, upstream) = spawn_pair_with_upstream(&[]).await;
    upstream.set_behaviour(slow(40, 60));
    let ada = a.signed_in().await;
    let chat = ada.new_chat().await;
    let mut socket = ada.on(&b).live().await;
    let answer = ada.send(&chat, "tell me a story").await;
    let started = socket
        .wait_for("generation.started", WAIT)
        .await
        .expect("started");
    let mut text = String::new();
    let mut deltas = 0;
    let finished = loop {
        let event = socket.next_event(WAIT).await.expect("an event");
        match event["type"].as_str() {
            Some("generation.delta") => {
                assert_eq!(event["message_id"], started["message_id"]);
                let offset = event["data"]["offset"].as_u64().expect("offset") as usize;
                assert_eq!(offset, text.encode_utf16().count(), "no gap, no overlap");
                text.push_str(event["data"]["content"].as_str().expect("content"));
                deltas += 1;
            }
            Some("generation.finished") => break event,
            _ => {}
        }
    };
    let done = answer.done().await;
    assert!(
        deltas >= 2,
        "text came while the answer was generated ({deltas} deltas)"
    );
    assert!(
        done.content().starts_with(&text),
        "{text:?} / {:?}",
        done.content()
    );
    assert_eq!(finished["data"]["content"], done.content());
}

#[tokio::test]
async fn stop_and_delete_through_the_other_process_reach_the_owner() {
    let (a, b, upstream) = spawn_pair_with_upstream(&[]).await;
    upstream.set_behaviour(slow(40, 2000));
    let ada = a.signed_in().await;
    let chat = ada.new_chat().await;
    let mut answer = ada.send(&chat, "go on and on").await;
    let (answer_id, _) = answer.read_words(2).await;
    let asked = std::time::Instant::now();
    let stopped = ada.on(&b).stop(&chat, &answer_id).await;
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "stopped within 1 s: {:?}",
        asked.elapsed()
    );
    assert_eq!(stopped["status"], "stopped");
    let rest = answer.until_done().await;
    assert_eq!(rest.done()["status"], "stopped");

    // Deleting the chat through B while A generates: A's stream ends with a terminal event.
    let chat = ada.new_chat().await;
    let mut answer = ada.send(&chat, "another long one").await;
    answer.read_words(2).await;
    ada.on(&b).delete_chat(&chat).await;
    let ended = tokio::time::timeout(WAIT, answer.until_done())
        .await
        .expect("the stream ends");
    let last = ended.names().last().map(|n| n.to_string());
    assert!(
        matches!(last.as_deref(), Some("done" | "error")),
        "{:?}",
        ended.names()
    );
}

#[tokio::test]
async fn a_logout_on_one_process_ends_the_session_on_the_other() {
    let (a, b) = spawn_pair_with(&[]).await;
    let ada = a.signed_in().await;
    let on_b = ada.on(&b);
    let mut socket = on_b.live().await;
    let me = b.me(ada.token()).await;
    assert_eq!(
        me.status(),
        StatusCode::OK,
        "B knows the session (and caches it)"
    );
    let out = a.logout_by_cookie(&ada.session.refresh).await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        socket.ended(Duration::from_secs(1)).await,
        Ended::Closed(4001)
    );
    let refused = b.me(ada.token()).await;
    assert_eq!(
        refused.status(),
        StatusCode::UNAUTHORIZED,
        "refused on B within 1 s"
    );
}

#[tokio::test]
async fn a_ticket_from_one_process_opens_one_socket_on_the_other_once() {
    let (a, b) = spawn_pair_with(&[]).await;
    let ada = a.signed_in().await;
    let ticket = ada.ticket().await;
    b.open_ws(&format!("ticket={ticket}"), None, false)
        .await
        .expect("a ticket from A opens a socket on B");
    for app in [&b, &a] {
        let again = app
            .open_ws(&format!("ticket={ticket}"), None, false)
            .await
            .err()
            .expect("used up");
        assert_eq!(refused_status(&again), Some(401));
    }
}

#[tokio::test]
async fn the_concurrent_answer_limit_counts_both_processes() {
    let (a, b, upstream) =
        spawn_pair_with_upstream(&[("MAX_CONCURRENT_GENERATIONS_PER_USER", "1")]).await;
    upstream.set_behaviour(slow(40, 500));
    let ada = a.signed_in().await;
    let chat = ada.new_chat().await;
    let mut running = ada.send(&chat, "first").await;
    let (answer_id, _) = running.read_words(1).await;
    let other = ada.new_chat().await;
    let refused = ada.on(&b).try_send(&other, "second, elsewhere").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    ada.on(&b).stop(&chat, &answer_id).await;
    running.until_done().await;
    // The slot is free again, for both.
    upstream.set_behaviour(Behaviour::default());
    let next = ada.on(&b).send(&other, "now it fits").await;
    assert_eq!(next.done().await["status"], "complete");
}

#[tokio::test]
async fn one_submission_sent_to_both_processes_at_once_makes_one_answer() {
    let (a, b, upstream) = spawn_pair_with_upstream(&[]).await;
    upstream.set_behaviour(slow(20, 40));
    let ada = a.signed_in().await;
    let chat = ada.new_chat().await;
    let body = json!({ "content": "only once", "client_request_id": "req-1" });
    let ada_b = ada.on(&b);
    let (one, two) = tokio::join!(ada.send(&chat, &body), ada_b.send(&chat, &body));
    let (one, two) = tokio::join!(one.until_done(), two.until_done());
    let (one, two) = (one.done(), two.done());
    assert_eq!(one.id, two.id, "one answer");
    assert_eq!(
        one.content(),
        two.content(),
        "the same text on both streams"
    );
    let messages: Vec<Message> = ada.messages(&chat).await;
    assert_eq!(messages.len(), 2, "one question, one answer");
    // (The process that lost the race had opened its upstream request alongside its write, to
    // keep the first token fast; it cancelled it at once.)
}

#[tokio::test]
async fn a_socket_reconnecting_with_since_gets_what_it_missed_once_in_order() {
    let (a, b) = spawn_pair_with(&[]).await;
    let ada = a.signed_in().await;
    let chat = ada.new_chat().await;
    let (mut first, ready) = ada.live_since("").await;
    let mut last = seq(&ready);
    ada.update_chat(&chat, json!({ "title": "one" })).await;
    last = seq(&first.wait_for("chat.updated", WAIT).await.expect("live")).max(last);
    drop(first);
    // Missed while disconnected, through both processes.
    ada.update_chat(&chat, json!({ "title": "two" })).await;
    ada.on(&b)
        .update_chat(&chat, json!({ "title": "three" }))
        .await;
    let other = ada.on(&b).new_chat().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (mut back, ready) = ada.on(&b).live_since(&last.to_string()).await;
    let missed = back.drain(Duration::from_millis(500)).await;
    let seqs: Vec<i64> = missed.iter().map(seq).collect();
    let titles: Vec<&str> = missed
        .iter()
        .filter(|e| e["type"] == "chat.updated")
        .filter_map(|e| e["data"]["title"].as_str())
        .collect();
    assert_eq!(titles, ["two", "three"], "{missed:?}");
    assert!(
        missed
            .iter()
            .any(|e| e["type"] == "chat.created" && e["chat_id"] == other.id.as_str())
    );
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "in order, once: {seqs:?}"
    );
    assert_eq!(seqs.first().copied(), Some(last + 1));
    assert_eq!(
        seq(&ready),
        *seqs.last().expect("some"),
        "ready names the latest seq"
    );
    // Then live.
    ada.update_chat(&chat, json!({ "title": "four" })).await;
    let live = back
        .wait_for("chat.updated", WAIT)
        .await
        .expect("live again");
    assert_eq!(seq(&live), seq(&ready) + 1);
}

#[tokio::test]
async fn an_unknown_or_malformed_since_gets_resync() {
    let (a, _b) = spawn_pair_with(&[]).await;
    let ada = a.signed_in().await;
    ada.new_chat().await;
    for since in ["1", "abc", "-5", "99999999999999999999", "12345678901234"] {
        let (mut socket, ready) = ada.live_since(since).await;
        let next = socket.next_event(WAIT).await.expect("a frame");
        assert_eq!(next["type"], "resync", "since={since}: {next}");
        assert_eq!(next["seq"], ready["seq"]);
    }
    let (mut socket, ready) = ada
        .live_since(&seq(&ready_of(&ada).await).to_string())
        .await;
    assert!(
        socket
            .next_event(Duration::from_millis(300))
            .await
            .is_none(),
        "the latest seq is served without resync ({ready})"
    );
}

async fn ready_of(user: &integration_tests::SignedIn) -> Value {
    user.live_since("").await.1
}

#[tokio::test]
async fn a_process_starting_up_leaves_a_live_owner_s_answers_alone() {
    let (a, upstream) =
        integration_tests::spawn_app_with_upstream("vllm", &[("INSTANCE_ID", "a")]).await;
    upstream.set_behaviour(slow(40, 2000));
    let ada = a.signed_in().await;
    let chat = ada.new_chat().await;
    let mut answer = ada.send(&chat, "a long one").await;
    let (answer_id, _) = answer.read_words(2).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // Another process starts (its start-up sweep runs), then sweeps for a while.
    let base_url = upstream.base_url();
    let _b = integration_tests::spawn_app_with(&[
        ("MONGODB_DATABASE", a.database.as_str()),
        ("JWT_SECRET", a.jwt_secret.as_str()),
        ("INSTANCE_ID", "b"),
        ("OPENAI_API_BASE_URL", base_url.as_str()),
        ("UPSTREAM_KIND", "vllm"),
        ("AVAILABLE_MODELS", "confab-demo"),
    ])
    .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let now = ada.message(&chat, &answer_id).await;
    assert_eq!(
        now["status"], "streaming",
        "a live owner's answer is not swept: {now}"
    );
    let stopped = ada.stop(&chat, &answer_id).await;
    assert_eq!(stopped["status"], "stopped");
    assert_eq!(answer.until_done().await.done()["status"], "stopped");
}

#[tokio::test]
async fn a_socket_that_saw_an_empty_log_catches_up_from_zero() {
    let (a, _b) = spawn_pair_with(&[]).await;
    let ada = a.signed_in().await;
    let (first, ready) = ada.live_since("").await;
    assert_eq!(ready["seq"], 0, "a new user's log is empty");
    drop(first);
    let chat = ada.new_chat().await;
    let (mut back, _) = ada.live_since("0").await;
    let created = back.next_event(WAIT).await.expect("the missed event");
    assert_eq!(created["type"], "chat.created", "{created}");
    assert_eq!(created["chat_id"], chat.id.as_str());
}

#[tokio::test]
async fn the_per_minute_limit_counts_both_processes() {
    let (a, b, _upstream) =
        spawn_pair_with_upstream(&[("RATE_LIMIT_MESSAGES_PER_MINUTE", "2")]).await;
    let ada = a.signed_in().await;
    let chat = ada.new_chat().await;
    ada.send(&chat, "one, on A").await.done().await;
    ada.on(&b).send(&chat, "two, on B").await.done().await;
    for (app, third) in [(&a, "three, on A"), (&b, "three, on B")] {
        let refused = ada.on(app).try_send(&chat, third).await;
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS, "{third}");
        assert!(integration_tests::retry_after(&refused) >= 1);
    }
}

#[tokio::test]
async fn a_since_older_than_what_the_log_keeps_gets_resync() {
    let (a, _b) = spawn_pair_with(&[]).await;
    let ada = a.signed_in().await;
    let chat = ada.new_chat().await;
    let (mut socket, _) = ada.live_since("").await;
    ada.update_chat(&chat, json!({ "title": "seen" })).await;
    let seen = seq(&socket.wait_for("chat.updated", WAIT).await.expect("live"));
    drop(socket);
    ada.update_chat(&chat, json!({ "title": "missed" })).await;
    ada.update_chat(&chat, json!({ "title": "missed too" }))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // What retention does after EVENT_LOG_RETENTION_HOURS: the oldest events are gone.
    a.db()
        .await
        .collection::<mongodb::bson::Document>("events")
        .delete_many(mongodb::bson::doc! { "seq": { "$lte": seen + 1 } })
        .await
        .expect("expire");
    let (mut back, ready) = ada.live_since(&seen.to_string()).await;
    let next = back.next_event(WAIT).await.expect("a frame");
    assert_eq!(next["type"], "resync", "{next}");
    assert_eq!(next["seq"], ready["seq"]);
}
