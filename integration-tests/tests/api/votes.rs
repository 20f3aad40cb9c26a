//! Votes on answers: one per user per answer, shown with the messages, never visible to anyone
//! else, and exported as NDJSON with the conversation that led to each answer.

use integration_tests::{
    Chat, ChatId, Message, MessageId, SignedIn, TestApp, expect_field_error, json, paths,
    spawn_app_with_upstream,
};
use mongodb::bson::{Document, doc, oid::ObjectId};
use reqwest::StatusCode;
use serde_json::{Value, json as body};

/// The `vote` shown for `message` by `GET /api/chats/{chat}/messages`.
async fn shown_vote(user: &SignedIn, chat: &Chat, message: &Message) -> Value {
    user.message(chat, message).await["vote"].clone()
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

/// A chat with one exchange: `(chat, question, answer)`.
async fn exchange(user: &SignedIn, chat_body: Value, text: &str) -> (Chat, Message, Message) {
    let chat = user.create_chat(chat_body).await;
    let events = user.send(&chat, text).await.until_done().await;
    (chat, events.question(), events.done())
}

#[tokio::test]
async fn a_vote_goes_up_then_down_then_away() {
    let (app, _upstream) = spawn_app_with_upstream("vllm", &[]).await;
    let ada = app.signed_in().await;
    let (chat, question, answer) = exchange(&ada, body!({}), "hello").await;
    assert_eq!(shown_vote(&ada, &chat, &answer).await, Value::Null);

    let recorded = ada.vote(&chat, &answer, body!({ "vote": "up" })).await;
    assert_eq!(
        recorded,
        body!({ "message_id": answer.id, "vote": "up", "reason": null })
    );
    assert_eq!(shown_vote(&ada, &chat, &answer).await, "up");
    assert_eq!(shown_vote(&ada, &chat, &question).await, Value::Null);
    let first = stored(&app, doc! {}).await;
    assert_eq!(first.len(), 1);
    let record = &first[0];
    assert_eq!(record.get_str("vote"), Ok("up"));
    assert_eq!(
        record
            .get_object_id("message_id")
            .expect("message_id")
            .to_hex(),
        answer.id
    );
    assert_eq!(
        record.get_object_id("chat_id").expect("chat_id").to_hex(),
        chat.id
    );
    assert!(record.get_object_id("user_id").is_ok());
    assert!(record.get("reason").is_none());

    let recorded = ada
        .vote(
            &chat,
            &answer,
            body!({ "vote": "down", "reason": "  made things up  " }),
        )
        .await;
    assert_eq!(
        recorded,
        body!({ "message_id": answer.id, "vote": "down", "reason": "made things up" })
    );
    assert_eq!(shown_vote(&ada, &chat, &answer).await, "down");
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

    let recorded = ada.vote(&chat, &answer, body!({ "vote": null })).await;
    assert_eq!(
        recorded,
        body!({ "message_id": answer.id, "vote": null, "reason": null })
    );
    assert_eq!(shown_vote(&ada, &chat, &answer).await, Value::Null);
    assert!(
        stored(&app, doc! {}).await.is_empty(),
        "null deletes the record"
    );

    // Clearing again is harmless.
    ada.vote(&chat, &answer, body!({ "vote": null })).await;
}

#[tokio::test]
async fn vote_input_is_validated() {
    let (app, _upstream) = spawn_app_with_upstream("vllm", &[]).await;
    let ada = app.signed_in().await;
    let (chat, question, answer) = exchange(&ada, body!({}), "hello").await;

    let cases = [
        (body!({ "vote": "up", "reason": "é".repeat(501) }), "reason"),
        (body!({ "vote": "sideways" }), "vote"),
        (body!({ "vote": 1 }), "vote"),
        (body!({ "reason": "no vote" }), "vote"),
        (body!({ "vote": "up", "weight": 10 }), "weight"),
    ];
    for (payload, field) in cases {
        let response = ada.try_vote(&chat, &answer, &payload).await;
        expect_field_error(response, field, &payload.to_string()).await;
    }

    let response = ada
        .try_vote(&chat, &question, &body!({ "vote": "up" }))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = json(response).await;
    assert_eq!(
        body["error"]["fields"]["message_id"],
        "only answers can be voted on"
    );
    assert!(stored(&app, doc! {}).await.is_empty(), "nothing stored");

    // 500 characters is the limit, not one more.
    let reason = "é".repeat(500);
    let recorded = ada
        .vote(&chat, &answer, body!({ "vote": "up", "reason": reason }))
        .await;
    assert_eq!(recorded["reason"], reason.as_str());
}

#[tokio::test]
async fn votes_on_another_users_chat_or_a_message_of_another_chat_are_404() {
    let (app, _upstream) = spawn_app_with_upstream("vllm", &[]).await;
    let alice = app.signed_in().await;
    let mallory = app.signed_in().await;
    let (chat, _, answer) = exchange(&alice, body!({}), "secret").await;
    let (other_chat, _, other_answer) = exchange(&alice, body!({}), "another").await;
    let (mallorys_chat, _, _) = exchange(&mallory, body!({}), "mine").await;

    let up = body!({ "vote": "down", "reason": "sabotage" });
    let attempts: [(&SignedIn, &ChatId, MessageId); 7] = [
        (&mallory, &chat.id, answer.id.clone()),
        // Mallory's own chat with Alice's answer.
        (&mallory, &mallorys_chat.id, answer.id.clone()),
        // Alice's chat with the answer of another of her chats.
        (&alice, &chat.id, other_answer.id.clone()),
        (&alice, &other_chat.id, answer.id.clone()),
        (&alice, &chat.id, ObjectId::new().to_hex().into()),
        (&alice, &chat.id, "not-an-id".into()),
        (&alice, &"not-an-id".into(), answer.id.clone()),
    ];
    for (user, chat_id, message_id) in attempts {
        let response = user.try_vote(chat_id, &message_id, &up).await;
        assert_eq!(
            response.status(),
            StatusCode::NOT_FOUND,
            "{chat_id}/{message_id}"
        );
        let text = response.text().await.expect("body");
        assert!(!text.contains("secret"), "{text}");
    }
    assert!(stored(&app, doc! {}).await.is_empty(), "nothing stored");
    assert_eq!(shown_vote(&alice, &chat, &answer).await, Value::Null);
}

#[tokio::test]
async fn concurrent_votes_leave_exactly_one_record() {
    let (app, _upstream) = spawn_app_with_upstream("vllm", &[]).await;
    let ada = app.signed_in().await;
    let (chat, _, answer) = exchange(&ada, body!({}), "hello").await;

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
            .map(|payload| ada.try_vote(&chat, &answer, payload)),
    )
    .await;
    for response in responses {
        assert_eq!(response.status(), StatusCode::OK);
    }

    let records = stored(&app, doc! {}).await;
    assert_eq!(records.len(), 1, "{records:?}");
    let kept = records[0].get_str("vote").expect("vote").to_owned();
    assert!(kept == "up" || kept == "down", "{kept}");
    assert_eq!(shown_vote(&ada, &chat, &answer).await, kept.as_str());
}

#[tokio::test]
async fn the_feedback_export_holds_only_the_callers_votes_with_their_prompts() {
    let (app, _upstream) = spawn_app_with_upstream("vllm", &[]).await;
    let alice = app.signed_in().await;
    let bob = app.signed_in().await;
    assert!(alice.feedback().await.is_empty(), "no votes, no lines");

    // Alice: a chat with a system prompt and two exchanges; she votes on both answers.
    let parameters = body!({ "system_prompt": "Be terse.", "temperature": 0.4 });
    let (chat, _, first) = exchange(
        &alice,
        body!({ "parameters": parameters }),
        "first question",
    )
    .await;
    let second = alice.send(&chat, "second question").await.done().await;
    let first_text = alice.message(&chat, &first).await["content"].clone();

    // Bob: a chat without a system prompt.
    let (bobs_chat, _, bobs_answer) = exchange(&bob, body!({}), "bob asks").await;

    for (user, in_chat, message, vote) in [
        (
            &alice,
            &chat,
            &second,
            body!({ "vote": "down", "reason": "too long" }),
        ),
        (&bob, &bobs_chat, &bobs_answer, body!({ "vote": "up" })),
        (&alice, &chat, &first, body!({ "vote": "up" })),
    ] {
        user.vote(in_chat, message, vote).await;
    }

    let lines = alice.feedback().await;
    assert_eq!(lines.len(), 2, "{lines:?}");
    let ids: Vec<MessageId> = lines
        .iter()
        .map(|l| MessageId::of(&l["message_id"]))
        .collect();
    assert_eq!(
        ids,
        [second.id.clone(), first.id.clone()],
        "oldest vote first"
    );

    let line = &lines[0];
    assert_eq!(line["chat_id"], chat.id);
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

    let lines = bob.feedback().await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert_eq!(line["message_id"], bobs_answer.id);
    assert_eq!(line["chat_id"], bobs_chat.id);
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
    alice.vote(&chat, &first, body!({ "vote": null })).await;
    let lines = alice.feedback().await;
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["message_id"], second.id);

    let response = app.get(paths::FEEDBACK_EXPORT, None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}
