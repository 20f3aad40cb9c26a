//! Live events over WebSocket: every socket of a user sees that user's changes at once,
//! nobody else sees any of it, and sockets are authenticated, origin-checked and reaped.

use std::time::Duration;

use integration_tests::{
    Ended, fake_upstream::Behaviour, json, paths, refused_status, spawn_app_with,
    spawn_app_with_upstream, spawn_chat,
};
use reqwest::StatusCode;
use serde_json::json as body;

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn every_socket_of_the_user_sees_renames_votes_and_deletes_and_no_one_else_does() {
    let (app, _upstream) = spawn_app_with_upstream("vllm", &[]).await;
    let alice = app.signed_in().await;
    let bob = app.signed_in().await;
    let mut tab1 = alice.live().await;
    let mut tab2 = alice.live().await;
    let mut bobs = bob.live().await;

    let chat = alice.create_chat(body!({ "title": "first" })).await;
    for tab in [&mut tab1, &mut tab2] {
        let created = tab
            .wait_for("chat.created", WAIT)
            .await
            .expect("chat.created");
        assert_eq!(created["chat_id"], chat.id);
        assert_eq!(created["data"]["title"], "first");
        assert!(created["id"].is_string() && created["at"].is_string());
    }

    alice
        .update_chat(&chat, body!({ "title": "renamed" }))
        .await;
    for tab in [&mut tab1, &mut tab2] {
        let updated = tab
            .wait_for("chat.updated", WAIT)
            .await
            .expect("chat.updated");
        assert_eq!(updated["data"]["title"], "renamed");
    }

    let answer = alice.send(&chat, "hello").await.done().await;
    alice.vote(&chat, &answer, body!({ "vote": "up" })).await;
    for tab in [&mut tab1, &mut tab2] {
        let vote = tab
            .wait_for("message.voted", WAIT)
            .await
            .expect("message.voted");
        assert_eq!(vote["message_id"], answer.id);
        assert_eq!(vote["data"]["vote"], "up");
    }

    alice.delete_chat(&chat).await;
    for tab in [&mut tab1, &mut tab2] {
        let gone = tab
            .wait_for("chat.deleted", WAIT)
            .await
            .expect("chat.deleted");
        assert_eq!(gone["chat_id"], chat.id);
    }

    let leaked = bobs.drain(Duration::from_millis(500)).await;
    assert!(leaked.is_empty(), "bob saw alice's events: {leaked:?}");
}

#[tokio::test]
async fn a_second_tab_watches_an_answer_stream_live() {
    let (app, upstream) = spawn_app_with_upstream("vllm", &[]).await;
    upstream.set_behaviour(Behaviour {
        chunk_delay_ms: 15,
        reply_tokens: Some(40),
        ..Behaviour::default()
    });
    let ada = app.signed_in().await;
    let mut watcher = ada.live().await;
    let chat = ada.new_chat().await;
    let done = ada.send(&chat, "stream it").await.done().await;

    let mut created = Vec::new();
    let mut started = None;
    let mut text = String::new();
    let mut deltas = 0;
    let finished = loop {
        let event = watcher.next_event(WAIT).await.expect("events keep coming");
        match event["type"].as_str().unwrap_or("") {
            "message.created" => created.push(event["data"]["role"].clone()),
            "generation.started" => started = Some(event["message_id"].clone()),
            "generation.delta" => {
                assert_eq!(
                    started.as_ref(),
                    Some(&event["message_id"]),
                    "text comes after the answer is announced"
                );
                let offset = event["data"]["offset"].as_u64().expect("offset") as usize;
                assert_eq!(
                    offset,
                    text.encode_utf16().count(),
                    "deltas arrive in order, without gaps"
                );
                text.push_str(event["data"]["content"].as_str().expect("content"));
                deltas += 1;
            }
            "generation.finished" => break event,
            _ => {}
        }
    };
    assert_eq!(created, [body!("user"), body!("assistant")]);
    assert_eq!(started.expect("the answer was announced"), done.id);
    assert_eq!(text, done.content());
    assert!(deltas >= 2, "the answer streamed in several frames");
    assert!(
        deltas < 40,
        "frames are coalesced, not one per token ({deltas})"
    );
    assert_eq!(finished["data"]["status"], "complete");
    assert_eq!(finished["data"]["content"], done["content"]);
}

#[tokio::test]
async fn an_answer_is_announced_before_any_of_its_text_even_when_the_model_is_instant() {
    // The upstream request starts while the messages are saved; an instant model must not get
    // its text onto the sockets before `message.created` / `generation.started`.
    let (_, _upstream, ada, chat) = spawn_chat(&[]).await;
    let mut watcher = ada.live().await;
    for turn in 0..5 {
        ada.send(&chat, format!("turn {turn}"))
            .await
            .until_done()
            .await;
        let mut announced = Vec::new();
        loop {
            let event = watcher.next_event(WAIT).await.expect("events keep coming");
            let message = event["message_id"].clone();
            match event["type"].as_str().unwrap_or("") {
                "message.created" | "generation.started" => announced.push(message),
                "generation.delta" | "generation.finished" => {
                    assert!(
                        announced.contains(&message),
                        "turn {turn}: {} before the answer was announced",
                        event["type"]
                    );
                    if event["type"] == "generation.finished" {
                        break;
                    }
                }
                _ => {}
            }
        }
    }
}

#[tokio::test]
async fn a_socket_without_a_valid_ticket_or_from_a_foreign_origin_is_refused() {
    let app = spawn_app_with(&[
        ("WS_TICKET_TTL_SECS", "1"),
        ("PUBLIC_URL", "http://confab.example"),
    ])
    .await;
    let ada = app.signed_in().await;

    for query in ["", "ticket=", "ticket=made-up"] {
        let refused = app
            .open_ws(query, None, false)
            .await
            .err()
            .expect("refused");
        assert_eq!(refused_status(&refused), Some(401), "{query}");
    }

    let ticket = ada.ticket().await;
    let first = app.open_ws(&format!("ticket={ticket}"), None, false).await;
    assert!(first.is_ok());
    let reused = app
        .open_ws(&format!("ticket={ticket}"), None, false)
        .await
        .err()
        .expect("refused");
    assert_eq!(refused_status(&reused), Some(401), "a ticket works once");

    let stale = ada.ticket().await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let expired = app
        .open_ws(&format!("ticket={stale}"), None, false)
        .await
        .err()
        .expect("refused");
    assert_eq!(refused_status(&expired), Some(401), "an expired ticket");

    let ticket = ada.ticket().await;
    let foreign = app
        .open_ws(
            &format!("ticket={ticket}"),
            Some("https://evil.example"),
            false,
        )
        .await
        .err()
        .expect("refused");
    assert_eq!(refused_status(&foreign), Some(403));
    let ticket = ada.ticket().await;
    assert!(
        app.open_ws(
            &format!("ticket={ticket}"),
            Some("http://confab.example"),
            false
        )
        .await
        .is_ok()
    );

    let no_token = app
        .http
        .post(app.url(paths::WS_TICKET))
        .send()
        .await
        .expect("sent");
    assert_eq!(no_token.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logging_out_closes_that_sessions_sockets() {
    let app = integration_tests::spawn_app().await;
    let laptop = app.signed_in().await;
    let phone = laptop.another_session().await;
    let mut laptop_socket = laptop.live().await;
    let mut phone_socket = phone.live().await;

    let logout = app.logout_by_cookie(&laptop.session.refresh).await;
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    assert_eq!(laptop_socket.ended(WAIT).await, Ended::Closed(4001));
    assert_eq!(
        phone_socket.ended(Duration::from_millis(300)).await,
        Ended::StillOpen
    );

    // A ticket issued before logout no longer opens a socket.
    let again = laptop.another_session().await;
    let ticket = again.ticket().await;
    app.logout_by_cookie(&again.session.refresh).await;
    let refused = app
        .open_ws(&format!("ticket={ticket}"), None, false)
        .await
        .err()
        .expect("refused");
    assert_eq!(refused_status(&refused), Some(401));
}

#[tokio::test]
async fn a_socket_that_stops_reading_is_dropped_while_the_others_keep_receiving() {
    let app = spawn_app_with(&[("WS_QUEUE", "4")]).await;
    let ada = app.signed_in().await;
    let ticket = ada.ticket().await;
    let slow = app
        .open_ws(&format!("ticket={ticket}"), None, true)
        .await
        .expect("slow socket opens");
    let mut fast = ada.live().await;
    let chat = ada.new_chat().await;
    fast.wait_for("chat.created", WAIT).await.expect("created");

    // Large events (a 15,000-character system prompt each) fill the socket buffers quickly.
    let prompt = "p".repeat(15_000);
    let renames = 400;
    let reader = tokio::spawn(async move {
        let mut seen = 0;
        while seen < renames {
            match fast.wait_for("chat.updated", WAIT).await {
                Some(_) => seen += 1,
                None => break,
            }
        }
        seen
    });
    for i in 0..renames {
        let update =
            body!({ "title": format!("update {i}"), "parameters": { "system_prompt": prompt } });
        ada.update_chat(&chat, update).await;
    }
    assert_eq!(
        reader.await.expect("reader"),
        renames,
        "the reading socket got every event"
    );
    // The slow one was cut off: the server no longer holds it (the client may still be reading
    // what its kernel buffered, at the pace of its tiny receive window), the reading one remains.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while app.state.events.socket_count() > 1 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        app.state.events.socket_count(),
        1,
        "the slow socket was not dropped"
    );
    drop(slow);
}

#[tokio::test]
async fn malformed_client_frames_are_ignored_and_pings_keep_the_socket_alive() {
    let app = spawn_app_with(&[("WS_PING_INTERVAL_MS", "200")]).await;
    let ada = app.signed_in().await;
    let mut socket = ada.live().await;
    socket.send_text("{not json").await.expect("sent");
    socket.send_text(&"x".repeat(10_000)).await.expect("sent");
    socket
        .send_binary(vec![0, 159, 146, 150])
        .await
        .expect("sent");
    // Longer than two ping intervals: a socket that answers pings (tungstenite does while we
    // read) is kept.
    assert!(socket.drain(Duration::from_millis(900)).await.is_empty());
    ada.create_chat(body!({ "title": "still here" })).await;
    let created = socket
        .wait_for("chat.created", WAIT)
        .await
        .expect("still receiving");
    assert_eq!(created["data"]["title"], "still here");
    let health = json(app.health().await).await;
    assert_eq!(health["status"], "ok");
}

#[tokio::test]
async fn a_socket_that_never_answers_pings_is_reaped() {
    let app = spawn_app_with(&[("WS_PING_INTERVAL_MS", "200")]).await;
    let ada = app.signed_in().await;
    let mut socket = ada.live().await;
    // Not reading means not answering pings.
    tokio::time::sleep(Duration::from_millis(1800)).await;
    assert_ne!(socket.ended(Duration::from_secs(3)).await, Ended::StillOpen);
}

#[tokio::test]
async fn an_oversized_frame_closes_the_socket_with_1009() {
    let app = spawn_app_with(&[]).await;
    let ada = app.signed_in().await;
    let mut socket = ada.live().await;
    socket
        .send_text(&"x".repeat(100 * 1024))
        .await
        .expect("sent");
    assert_eq!(socket.ended(WAIT).await, Ended::Closed(1009));
}
