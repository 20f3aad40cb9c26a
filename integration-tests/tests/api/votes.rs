//! Votes on answers: one per user per answer, shown with the messages, never visible to anyone
//! else, and exported as NDJSON with the conversation that led to each answer.

use integration_tests::{TestApp, expect_field_error, find, json, say, spawn_app_with_upstream};
use mongodb::bson::{Document, doc, oid::ObjectId};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json as body};

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

fn vote_path(chat: &str, message: &str) -> String {
    format!("/api/chats/{chat}/messages/{message}/vote")
}

async fn vote(app: &TestApp, token: &str, chat: &str, message: &str, payload: &Value) -> Response {
    app.send(Method::PUT, &vote_path(chat, message), token, Some(payload))
        .await
}

/// The `vote` shown for `message` by `GET /api/chats/{chat}/messages`.
async fn shown_vote(app: &TestApp, token: &str, chat: &str, message: &str) -> Value {
    app.messages(token, chat)
        .await
        .into_iter()
        .find(|m| m["id"] == message)
        .expect("the message is listed")["vote"]
        .clone()
}

async fn stored(app: &TestApp, filter: Document) -> Vec<Document> {
    use futures::TryStreamExt as _;
    app.db()
        .await
        .collection::<Document>("votes")
        .find(filter)
        .await
        .expect("find")
        .try_collect()
        .await
        .expect("votes")
}

/// A chat with one exchange: `(chat_id, question_id, answer_id)`.
async fn exchange(
    app: &TestApp,
    token: &str,
    chat_body: &Value,
    text: &str,
) -> (String, String, String) {
    let chat = id(&app.create_chat(token, chat_body).await);
    let events = app.chat(token, &chat, &say(text)).await;
    let question = id(find(&events, "user_message").expect("user message"));
    let answer = id(find(&events, "done").expect("done"));
    (chat, question, answer)
}

#[tokio::test]
async fn a_vote_goes_up_then_down_then_away() {
    let (app, _upstream) = spawn_app_with_upstream("vllm", &[]).await;
    let (_, s) = app.with_user().await;
    let t = &s.access_token;
    let (chat, question, answer) = exchange(&app, t, &body!({}), "hello").await;
    assert_eq!(shown_vote(&app, t, &chat, &answer).await, Value::Null);

    let response = vote(&app, t, &chat, &answer, &body!({ "vote": "up" })).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        json(response).await,
        body!({ "message_id": answer, "vote": "up", "reason": null })
    );
    assert_eq!(shown_vote(&app, t, &chat, &answer).await, "up");
    assert_eq!(shown_vote(&app, t, &chat, &question).await, Value::Null);
    let first = stored(&app, doc! {}).await;
    assert_eq!(first.len(), 1);
    let record = &first[0];
    assert_eq!(record.get_str("vote"), Ok("up"));
    assert_eq!(
        record
            .get_object_id("message_id")
            .expect("message_id")
            .to_hex(),
        answer
    );
    assert_eq!(
        record.get_object_id("chat_id").expect("chat_id").to_hex(),
        chat
    );
    assert!(record.get_object_id("user_id").is_ok());
    assert!(record.get("reason").is_none());

    let response = vote(
        &app,
        t,
        &chat,
        &answer,
        &body!({ "vote": "down", "reason": "  made things up  " }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        json(response).await,
        body!({ "message_id": answer, "vote": "down", "reason": "made things up" })
    );
    assert_eq!(shown_vote(&app, t, &chat, &answer).await, "down");
    let second = stored(&app, doc! {}).await;
    assert_eq!(second.len(), 1, "the vote is replaced, not added");
    assert_eq!(second[0].get_str("vote"), Ok("down"));
    assert_eq!(second[0].get_str("reason"), Ok("made things up"));
    assert_eq!(
        second[0].get_datetime("created_at"),
        record.get_datetime("created_at"),
        "created_at is kept"
    );
    assert!(second[0].get_datetime("updated_at").is_ok());

    let response = vote(&app, t, &chat, &answer, &body!({ "vote": null })).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        json(response).await,
        body!({ "message_id": answer, "vote": null, "reason": null })
    );
    assert_eq!(shown_vote(&app, t, &chat, &answer).await, Value::Null);
    assert!(
        stored(&app, doc! {}).await.is_empty(),
        "null deletes the record"
    );

    // Clearing again is harmless.
    let response = vote(&app, t, &chat, &answer, &body!({ "vote": null })).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn vote_input_is_validated() {
    let (app, _upstream) = spawn_app_with_upstream("vllm", &[]).await;
    let (_, s) = app.with_user().await;
    let t = &s.access_token;
    let (chat, question, answer) = exchange(&app, t, &body!({}), "hello").await;

    let cases = [
        (body!({ "vote": "up", "reason": "é".repeat(501) }), "reason"),
        (body!({ "vote": "sideways" }), "vote"),
        (body!({ "vote": 1 }), "vote"),
        (body!({ "reason": "no vote" }), "vote"),
        (body!({ "vote": "up", "weight": 10 }), "weight"),
    ];
    for (payload, field) in cases {
        let response = vote(&app, t, &chat, &answer, &payload).await;
        expect_field_error(response, field, &payload.to_string()).await;
    }

    let response = vote(&app, t, &chat, &question, &body!({ "vote": "up" })).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = json(response).await;
    assert_eq!(
        body["error"]["fields"]["message_id"],
        "only answers can be voted on"
    );
    assert!(stored(&app, doc! {}).await.is_empty(), "nothing stored");

    // 500 characters is the limit, not one more.
    let reason = "é".repeat(500);
    let response = vote(
        &app,
        t,
        &chat,
        &answer,
        &body!({ "vote": "up", "reason": reason }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json(response).await["reason"], reason.as_str());
}

#[tokio::test]
async fn votes_on_another_users_chat_or_a_message_of_another_chat_are_404() {
    let (app, _upstream) = spawn_app_with_upstream("vllm", &[]).await;
    let (_, alice) = app.with_user().await;
    let (_, mallory) = app.with_user().await;
    let (chat, _, answer) = exchange(&app, &alice.access_token, &body!({}), "secret").await;
    let (other_chat, _, other_answer) =
        exchange(&app, &alice.access_token, &body!({}), "another").await;
    let (mallorys_chat, _, _) = exchange(&app, &mallory.access_token, &body!({}), "mine").await;

    let up = body!({ "vote": "down", "reason": "sabotage" });
    let attempts = [
        (&mallory.access_token, chat.clone(), answer.clone()),
        // Mallory's own chat with Alice's answer.
        (&mallory.access_token, mallorys_chat.clone(), answer.clone()),
        // Alice's chat with the answer of another of her chats.
        (&alice.access_token, chat.clone(), other_answer.clone()),
        (&alice.access_token, other_chat.clone(), answer.clone()),
        (&alice.access_token, chat.clone(), ObjectId::new().to_hex()),
        (&alice.access_token, chat.clone(), "not-an-id".to_owned()),
        (&alice.access_token, "not-an-id".to_owned(), answer.clone()),
    ];
    for (token, chat_id, message_id) in attempts {
        let response = vote(&app, token, &chat_id, &message_id, &up).await;
        assert_eq!(
            response.status(),
            StatusCode::NOT_FOUND,
            "{chat_id}/{message_id}"
        );
        let text = response.text().await.expect("body");
        assert!(!text.contains("secret"), "{text}");
    }
    assert!(stored(&app, doc! {}).await.is_empty(), "nothing stored");
    assert_eq!(
        shown_vote(&app, &alice.access_token, &chat, &answer).await,
        Value::Null
    );
}

#[tokio::test]
async fn concurrent_votes_leave_exactly_one_record() {
    let (app, _upstream) = spawn_app_with_upstream("vllm", &[]).await;
    let (_, s) = app.with_user().await;
    let t = &s.access_token;
    let (chat, _, answer) = exchange(&app, t, &body!({}), "hello").await;

    let payloads: Vec<Value> = (0..10)
        .map(|i| {
            body!({
                "vote": if i % 2 == 0 { "up" } else { "down" },
                "reason": format!("take {i}"),
            })
        })
        .collect();
    let responses = futures::future::join_all(
        payloads
            .iter()
            .map(|payload| vote(&app, t, &chat, &answer, payload)),
    )
    .await;
    for response in responses {
        assert_eq!(response.status(), StatusCode::OK);
    }

    let records = stored(&app, doc! {}).await;
    assert_eq!(records.len(), 1, "{records:?}");
    let kept = records[0].get_str("vote").expect("vote").to_owned();
    assert!(kept == "up" || kept == "down", "{kept}");
    assert_eq!(shown_vote(&app, t, &chat, &answer).await, kept.as_str());
}

/// `GET /api/feedback/export` → the lines, each parsed (asserting NDJSON).
async fn export(app: &TestApp, token: &str) -> Vec<Value> {
    let response = app.get("/api/feedback/export", Some(token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .expect("content type")
        .to_owned();
    assert!(
        content_type.starts_with("application/x-ndjson"),
        "{content_type}"
    );
    let text = response.text().await.expect("body");
    assert!(text.is_empty() || text.ends_with('\n'), "{text:?}");
    text.lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line)
                .unwrap_or_else(|err| panic!("not one JSON object per line: {err}: {line}"));
            assert!(value.is_object(), "{line}");
            value
        })
        .collect()
}

#[tokio::test]
async fn the_feedback_export_holds_only_the_callers_votes_with_their_prompts() {
    let (app, _upstream) = spawn_app_with_upstream("vllm", &[]).await;
    let (_, alice) = app.with_user().await;
    let (_, bob) = app.with_user().await;
    let a = &alice.access_token;
    let b = &bob.access_token;
    assert!(export(&app, a).await.is_empty(), "no votes, no lines");

    // Alice: a chat with a system prompt and two exchanges; she votes on both answers.
    let parameters = body!({ "system_prompt": "Be terse.", "temperature": 0.4 });
    let (chat, _, first) = exchange(
        &app,
        a,
        &body!({ "parameters": parameters }),
        "first question",
    )
    .await;
    let events = app.chat(a, &chat, &say("second question")).await;
    let second = find(&events, "done").expect("done").clone();
    let first_text = app
        .messages(a, &chat)
        .await
        .into_iter()
        .find(|m| m["id"] == first.as_str())
        .expect("first answer")["content"]
        .clone();

    // Bob: a chat without a system prompt.
    let (bobs_chat, _, bobs_answer) = exchange(&app, b, &body!({}), "bob asks").await;

    let second_id = id(&second);
    for (token, chat_id, message, payload) in [
        (
            a,
            &chat,
            &second_id,
            body!({ "vote": "down", "reason": "too long" }),
        ),
        (b, &bobs_chat, &bobs_answer, body!({ "vote": "up" })),
        (a, &chat, &first, body!({ "vote": "up" })),
    ] {
        let response = vote(&app, token, chat_id, message, &payload).await;
        assert_eq!(response.status(), StatusCode::OK);
    }

    let lines = export(&app, a).await;
    assert_eq!(lines.len(), 2, "{lines:?}");
    let ids: Vec<&str> = lines
        .iter()
        .filter_map(|l| l["message_id"].as_str())
        .collect();
    assert_eq!(
        ids,
        [second_id.as_str(), first.as_str()],
        "oldest vote first"
    );

    let line = &lines[0];
    assert_eq!(line["chat_id"], chat.as_str());
    assert_eq!(
        line["prompt"],
        body!([
            { "role": "system", "content": "Be terse." },
            { "role": "user", "content": "first question" },
            { "role": "assistant", "content": first_text },
            { "role": "user", "content": "second question" },
        ])
    );
    assert_eq!(line["answer"], second["content"]);
    assert_eq!(line["parameters"], second["parameters"]);
    assert_eq!(line["parameters"]["system_prompt"], "Be terse.");
    assert_eq!(line["parameters"]["temperature"], 0.4);
    assert_eq!(line["model"], "confab-demo");
    assert_eq!(line["vote"], "down");
    assert_eq!(line["reason"], "too long");
    assert!(line["voted_at"].is_string(), "{line}");

    let line = &lines[1];
    assert_eq!(
        line["prompt"],
        body!([
            { "role": "system", "content": "Be terse." },
            { "role": "user", "content": "first question" },
        ])
    );
    assert_eq!(line["answer"], first_text);
    assert_eq!(line["vote"], "up");
    assert_eq!(line["reason"], Value::Null);

    let lines = export(&app, b).await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert_eq!(line["message_id"], bobs_answer.as_str());
    assert_eq!(line["chat_id"], bobs_chat.as_str());
    assert_eq!(
        line["prompt"],
        body!([{ "role": "user", "content": "bob asks" }]),
        "no system prompt when none is set"
    );
    assert_eq!(line["vote"], "up");
    assert_eq!(line["model"], "confab-demo");
    let text = serde_json::to_string(&lines).expect("serializes");
    assert!(
        !text.contains("question") && !text.contains("too long"),
        "{text}"
    );

    // A withdrawn vote leaves the export.
    let response = vote(&app, a, &chat, &first, &body!({ "vote": null })).await;
    assert_eq!(response.status(), StatusCode::OK);
    let lines = export(&app, a).await;
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["message_id"], second_id.as_str());

    let response = app.get("/api/feedback/export", None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}
