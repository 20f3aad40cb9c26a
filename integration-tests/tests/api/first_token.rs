//! The way to the first token: the upstream request starts alongside the save of the new
//! messages, but no text is shown before they are saved; if they cannot be saved, the upstream
//! request is cancelled and nothing of it is shown or kept. Answers started together share the
//! database's commands (group commit), and each keeps its all-or-nothing save.

use std::time::{Duration, Instant};

use integration_tests::{Chat, SignedIn, fake_upstream::Behaviour, json, spawn_chat};
use mongodb::bson::{Document, doc, oid::ObjectId};
use reqwest::StatusCode;

/// A question the database refuses (a validator on `messages`, as any write could fail).
const REFUSED: &str = "the database refuses this question";

/// No limit on the account (a head start is only for such accounts).
const NO_LIMITS: [(&str, &str); 2] = [
    ("MAX_CONCURRENT_GENERATIONS_PER_USER", "0"),
    ("RATE_LIMIT_MESSAGES_PER_MINUTE", "0"),
];

/// Metrics on, and no limit on the account.
const UNLIMITED: [(&str, &str); 3] = [("METRICS_ADDR", "127.0.0.1:0"), NO_LIMITS[0], NO_LIMITS[1]];

/// Makes the database refuse the question `REFUSED`, and any answer in the chat `chat`.
async fn refuse_writes(db: &mongodb::Database, chat: Option<&Chat>) {
    let mut rules: Vec<Document> = vec![doc! { "content": { "$ne": REFUSED } }];
    if let Some(chat) = chat {
        let id = ObjectId::parse_str(chat.id.as_str()).expect("chat id");
        rules.push(
            doc! { "$or": [{ "role": { "$ne": "assistant" } }, { "chat_id": { "$ne": id } }] },
        );
    }
    db.run_command(doc! { "collMod": "messages", "validator": { "$and": rules } })
        .await
        .expect("validator set");
}

async fn stored_in(db: &mongodb::Database, chat: &Chat) -> u64 {
    let id = ObjectId::parse_str(chat.id.as_str()).expect("chat id");
    db.collection::<Document>("messages")
        .count_documents(doc! { "chat_id": id })
        .await
        .expect("count")
}

#[tokio::test]
async fn messages_that_cannot_be_saved_show_nothing_and_cancel_the_upstream_request() {
    let (app, upstream, ada, chat) = spawn_chat(&[]).await;
    let mut socket = ada.live().await;
    let db = app.db().await;
    // Something in the database for the chat first, so the collection exists.
    ada.send(&chat, "a first question").await.done().await;
    // An answer that would take 10 s.
    upstream.set_behaviour(Behaviour {
        chunk_delay_ms: 100,
        reply_tokens: Some(100),
        ..Behaviour::default()
    });
    socket.drain(Duration::from_millis(300)).await;
    refuse_writes(&db, None).await;

    let response = ada.try_send(&chat, REFUSED).await;
    assert_eq!(
        response.status(),
        StatusCode::INTERNAL_SERVER_ERROR,
        "not a stream"
    );
    let body = json(response).await;
    assert_eq!(body["error"]["code"], "internal_error", "{body}");

    // The upstream request (started alongside the save) is cancelled: nothing streams from
    // it any more, long before its answer would have ended.
    let deadline = Instant::now() + Duration::from_secs(3);
    while upstream.open_streams() > 0 {
        assert!(Instant::now() < deadline, "the upstream request still runs");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Nothing of it is kept or announced.
    assert_eq!(stored_in(&db, &chat).await, 2, "only the first exchange");
    assert_eq!(ada.messages(&chat).await.len(), 2);
    let heard = socket.drain(Duration::from_millis(500)).await;
    assert!(
        heard
            .iter()
            .all(|event| !event.to_string().contains(REFUSED)),
        "announced: {heard:?}"
    );

    // The chat goes on.
    upstream.set_behaviour(Behaviour::default());
    let next = ada.send(&chat, "and now?").await.done().await;
    assert_eq!(next["status"], "complete");
}

/// 30 answers at once: one question the database refuses, one chat whose answers it refuses
/// (its question would go in first: it must be taken out again). The other 28 are saved whole,
/// whichever batch they shared with the refused ones.
#[tokio::test]
async fn answers_started_together_are_saved_whole_or_not_at_all() {
    let (app, upstream, ada, _) = spawn_chat(&NO_LIMITS).await;
    upstream.set_behaviour(Behaviour {
        chunk_delay_ms: 20,
        reply_tokens: Some(10),
        ..Behaviour::default()
    });
    let db = app.db().await;
    let mut chats = Vec::new();
    for _ in 0..30 {
        chats.push(ada.new_chat().await);
    }
    ada.send(&chats[0], "so that the collection exists")
        .await
        .done()
        .await;
    let (refused_question, refused_answer) = (10, 20);
    refuse_writes(&db, Some(&chats[refused_answer])).await;

    let sends = chats.iter().enumerate().map(|(i, chat)| {
        let ada: &SignedIn = &ada;
        async move {
            let text = if i == refused_question {
                REFUSED.to_owned()
            } else {
                format!("question {i}")
            };
            ada.try_send(chat, text).await
        }
    });
    let responses = futures::future::join_all(sends).await;
    for (i, response) in responses.into_iter().enumerate() {
        if i == refused_question || i == refused_answer {
            assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR, "{i}");
            continue;
        }
        assert_eq!(response.status(), StatusCode::OK, "{i}");
        let done = integration_tests::Answer::from_response(response)
            .await
            .done()
            .await;
        assert_eq!(done["status"], "complete", "{i}");
    }
    for (i, chat) in chats.iter().enumerate() {
        let expected = match i {
            0 => 4,
            _ if i == refused_question || i == refused_answer => 0,
            _ => 2,
        };
        assert_eq!(stored_in(&db, chat).await, expected, "chat {i}");
        let messages = ada.messages(chat).await;
        assert_eq!(messages.len() as u64, expected, "chat {i}");
        if expected == 2 {
            assert_eq!(messages[0]["content"], format!("question {i}"));
            assert_eq!(messages[1]["status"], "complete");
            // The branch on screen moved to the answer (the chats' updates were batched too).
            assert_eq!(
                ada.chat(chat).await["current_message_id"],
                messages[1]["id"],
                "chat {i}"
            );
        }
    }
}

/// The value of `confab_known_chat_starts_total{outcome=…}` on `app`'s metrics listener (0
/// before the first).
async fn known_chat_starts(app: &integration_tests::TestApp, outcome: &str) -> f64 {
    let body = app.metrics().await;
    integration_tests::sample(
        &body,
        "confab_known_chat_starts_total",
        &format!("outcome=\"{outcome}\""),
    )
    .unwrap_or(0.0)
}

fn object_id(chat: &Chat) -> ObjectId {
    ObjectId::parse_str(chat.id.as_str()).expect("chat id")
}

#[tokio::test]
async fn a_new_chats_first_answer_starts_from_what_this_process_knows_and_the_read_confirms_it() {
    let (app, upstream, ada, chat) = spawn_chat(&UNLIMITED).await;
    let answer = ada.send(&chat, "hello").await.done().await;
    assert_eq!(answer["status"], "complete");
    assert_eq!(known_chat_starts(&app, "confirmed").await, 1.0);
    assert_eq!(known_chat_starts(&app, "stale").await, 0.0);
    assert_eq!(upstream.requests().len(), 1, "one upstream request");
    assert_eq!(ada.messages(&chat).await.len(), 2);
    // The chat has changed since: the next answer reads it first.
    assert!(
        app.state
            .known_chats
            .get(
                ObjectId::parse_str(ada.user_id()).expect("user id"),
                object_id(&chat)
            )
            .is_none()
    );
    ada.send(&chat, "and again").await.done().await;
    assert_eq!(known_chat_starts(&app, "confirmed").await, 1.0);
    assert_eq!(ada.messages(&chat).await.len(), 4);
}

#[tokio::test]
async fn a_chat_known_here_but_changed_behind_its_back_is_read_again_before_any_text() {
    let (app, upstream, ada, chat) = spawn_chat(&UNLIMITED).await;
    // Changed in the database directly (no event reaches this process): what it knows of the
    // chat is stale.
    app.db()
        .await
        .collection::<Document>("chats")
        .update_one(
            doc! { "_id": object_id(&chat) },
            doc! { "$set": { "parameters.temperature": 0.25, "parameters.seed": 7 } },
        )
        .await
        .expect("changed");
    let answer = ada.send(&chat, "hello").await.done().await;
    assert_eq!(known_chat_starts(&app, "stale").await, 1.0);
    assert_eq!(known_chat_starts(&app, "confirmed").await, 0.0);
    // The answer ran with the chat as it is, and nothing of the withdrawn start is left.
    assert_eq!(answer["parameters"]["temperature"], 0.25, "{answer}");
    assert_eq!(answer["parameters"]["seed"], 7, "{answer}");
    let fresh: Vec<_> = upstream
        .requests()
        .into_iter()
        .filter(|request| request["temperature"] == 0.25 && request["seed"] == 7)
        .collect();
    assert_eq!(fresh.len(), 1, "one request with the chat as it is");
    let last = upstream.last_request().expect("a request");
    assert_eq!(
        last["temperature"], 0.25,
        "the last request is the answer's"
    );
    let messages = ada.messages(&chat).await;
    assert_eq!(messages.len(), 2, "one question, one answer: {messages:?}");
    assert_eq!(stored_in(&app.db().await, &chat).await, 2);
    assert_eq!(messages[1].id, answer.id);
}

#[tokio::test]
async fn a_chat_changed_on_another_process_is_forgotten_here_through_the_event_log() {
    let (a, b, _upstream) = integration_tests::spawn_pair_with_upstream(&NO_LIMITS).await;
    let ada = a.signed_in().await;
    let chat = ada.new_chat().await;
    let user_id = ObjectId::parse_str(ada.user_id()).expect("user id");
    assert!(a.state.known_chats.get(user_id, object_id(&chat)).is_some());
    // The chat's first answer on B: A hears of it and forgets what it knew.
    ada.on(&b).send(&chat, "hello").await.done().await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while a.state.known_chats.get(user_id, object_id(&chat)).is_some() {
        assert!(
            Instant::now() < deadline,
            "A still knows the chat as created"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let answer = ada.send(&chat, "and on A").await.done().await;
    assert_eq!(answer["status"], "complete");
    assert_eq!(ada.messages(&chat).await.len(), 4);
}

#[tokio::test]
async fn with_a_limit_on_the_account_every_answer_reads_its_chat_first() {
    let (app, upstream, ada, chat) = spawn_chat(&[
        ("METRICS_ADDR", "127.0.0.1:0"),
        ("MAX_CONCURRENT_GENERATIONS_PER_USER", "3"),
    ])
    .await;
    ada.send(&chat, "hello").await.done().await;
    assert_eq!(known_chat_starts(&app, "confirmed").await, 0.0);
    assert_eq!(known_chat_starts(&app, "stale").await, 0.0);
    assert_eq!(upstream.requests().len(), 1);
}
