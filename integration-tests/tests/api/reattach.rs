//! `GET …/messages/{id}/stream`: reattach to an answer on any process, from any point of it,
//! with every text-bearing event's SSE id the answer's length so far (UTF-16 code units).

use std::time::Duration;

use integration_tests::{
    Events, SseEvent, fake_upstream::Behaviour, spawn_chat, spawn_pair_with_upstream,
};
use reqwest::StatusCode;

fn slow(delay_ms: u64, tokens: usize) -> Behaviour {
    Behaviour {
        chunk_delay_ms: delay_ms,
        reply_tokens: Some(tokens),
        ..Behaviour::default()
    }
}

fn units(text: &str) -> usize {
    text.encode_utf16().count()
}

/// Every delta's id is the length so far; the terminal's id the whole length.
fn assert_ids(events: &[SseEvent]) {
    for event in events {
        match event.event.as_str() {
            "delta" => {
                let offset = event.data["offset"].as_u64().expect("offset") as usize;
                let content = event.data["content"].as_str().expect("content");
                assert_eq!(
                    event.id.as_deref(),
                    Some((offset + units(content)).to_string().as_str()),
                    "{event:?}"
                );
            }
            "done" => {
                let content = event.data["content"].as_str().expect("content");
                assert_eq!(
                    event.id.as_deref(),
                    Some(units(content).to_string().as_str())
                );
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn a_post_stream_s_text_events_carry_the_length_so_far_as_id() {
    let (_app, _upstream, ada, chat) = spawn_chat(&[]).await;
    let events: Events = ada.send(&chat, "héllo 👋 wörld").await.until_done().await;
    let all: Vec<SseEvent> = events.iter().cloned().collect();
    assert!(all.iter().any(|e| e.event == "delta"));
    assert_ids(&all);
}

#[tokio::test]
async fn reattaching_on_the_other_process_with_last_event_id_continues_exactly() {
    let (a, b, upstream) = spawn_pair_with_upstream(&[]).await;
    upstream.set_behaviour(slow(30, 120));
    let ada = a.signed_in().await;
    let chat = ada.new_chat().await;
    let mut first = ada.send(&chat, "a story, in parts").await;
    let answer_id = first.started().await;
    let mut shown = String::new();
    let mut last_id = None;
    while shown.split_whitespace().count() < 10 {
        let event = first.next().await.expect("more");
        if event.event == "delta" {
            shown.push_str(event.data["content"].as_str().expect("content"));
            last_id = event.id.clone();
        }
    }
    drop(first); // the connection drops; the answer goes on
    let last_id = last_id.expect("an id");
    assert_eq!(last_id, units(&shown).to_string());
    let rest = ada
        .on(&b)
        .reattach(&chat, &answer_id, None, Some(&last_id))
        .await
        .until_done()
        .await;
    let all: Vec<SseEvent> = rest.iter().cloned().collect();
    assert_ids(&all);
    let first_delta = all.iter().find(|e| e.event == "delta").expect("a delta");
    assert_eq!(
        first_delta.data["offset"].as_u64(),
        Some(units(&shown) as u64)
    );
    let done = rest.done();
    shown.push_str(&rest.text());
    assert_eq!(shown, done.content(), "no text twice, none missing");
}

#[tokio::test]
async fn reattaching_mid_answer_sends_the_text_so_far_then_follows_it() {
    let (a, b, upstream) = spawn_pair_with_upstream(&[]).await;
    upstream.set_behaviour(slow(30, 80));
    let ada = a.signed_in().await;
    let chat = ada.new_chat().await;
    let mut answer = ada.send(&chat, "go").await;
    let (answer_id, _) = answer.read_words(5).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    for (app, name) in [(&a, "owner"), (&b, "other process")] {
        let mut again = ada
            .on(app)
            .reattach(&chat, &answer_id, Some("0"), None)
            .await;
        let opening = again.next().await.expect("opening");
        assert_eq!(opening.event, "assistant_message", "{name}");
        let events = again.until_done().await;
        assert_eq!(
            events.done().content(),
            events.text(),
            "{name}: the whole text as deltas"
        );
    }
    answer.until_done().await;
}

#[tokio::test]
async fn reattaching_to_an_ended_answer_gives_its_text_and_end_at_once() {
    let (_app, _upstream, ada, chat) = spawn_chat(&[]).await;
    let done = ada.send(&chat, "short").await.done().await;
    let whole = ada
        .reattach(&chat, &done.id, None, None)
        .await
        .until_done()
        .await;
    assert_eq!(whole.names(), ["assistant_message", "delta", "done"]);
    assert_eq!(whole.text(), done.content());
    let end = units(done.content()).to_string();
    let nothing_more = ada
        .reattach(&chat, &done.id, Some(&end), None)
        .await
        .until_done()
        .await;
    assert_eq!(nothing_more.names(), ["assistant_message", "done"]);
}

#[tokio::test]
async fn reattaching_is_for_the_owner_s_answers_only_and_from_must_be_a_length() {
    let (app, _upstream, ada, chat) = spawn_chat(&[]).await;
    let done = ada.send(&chat, "mine").await.done().await;
    let eve = app.signed_in().await;
    let theirs = eve.try_reattach(&chat, &done.id, None, None).await;
    assert_eq!(theirs.status(), StatusCode::NOT_FOUND);
    let question = ada
        .messages(&chat)
        .await
        .into_iter()
        .find(|m| m["role"] == "user")
        .expect("q");
    let not_an_answer = ada.try_reattach(&chat, &question.id, None, None).await;
    assert_eq!(not_an_answer.status(), StatusCode::NOT_FOUND);
    // Absent means from the start.
    let whole = ada
        .reattach(&chat, &done.id, None, None)
        .await
        .until_done()
        .await;
    assert_eq!(whole.text(), done.content());
    // Present, it must be a length: empty and `null` are refused like any other non-number.
    for bad in ["", "null", "-1", "abc", "1.5", "99999999999"] {
        let refused = ada.try_reattach(&chat, &done.id, Some(bad), None).await;
        assert_eq!(
            refused.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "from={bad}"
        );
        let refused = ada.try_reattach(&chat, &done.id, None, Some(bad)).await;
        assert_eq!(
            refused.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Last-Event-ID={bad}"
        );
    }
}
