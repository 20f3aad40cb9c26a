//! Structured output (`response_format`): checked when asked for (a JSON Schema of draft
//! 2020-12, at most 16 KiB), sent in the shape each upstream kind reads, and each answer
//! parsed and checked against it when it ends (`structured` on the answer).

use integration_tests::{
    Message, expect_field_error, fake_upstream::Behaviour, spawn_app_with_upstream, spawn_chat,
};
use mongodb::bson::{Bson, Document, doc, oid::ObjectId};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn person_schema() -> Value {
    json!({
        "type": "object",
        "$defs": { "age": { "type": "integer", "minimum": 0 } },
        "properties": { "name": { "type": "string" }, "age": { "$ref": "#/$defs/age" } },
        "required": ["name", "age"],
        "additionalProperties": false
    })
}

fn person() -> Value {
    json!({ "type": "json_schema", "json_schema": { "name": "person", "strict": true, "schema": person_schema() } })
}

/// Sends a question asking for `format` to an upstream of `kind`: what the upstream received
/// as `response_format`, and the answer.
async fn asked_of(kind: &str, format: Value, reply: &str) -> (Value, Message) {
    let (app, upstream) = spawn_app_with_upstream(kind, &[]).await;
    upstream.set_behaviour(Behaviour {
        reply: Some(reply.to_owned()),
        ..Behaviour::default()
    });
    let ada = app.signed_in().await;
    let chat = ada.new_chat().await;
    let done = ada
        .send(
            &chat,
            json!({ "content": "who?", "parameters": { "response_format": format } }),
        )
        .await
        .done()
        .await;
    let request = upstream.last_request().expect("a request");
    (request["response_format"].clone(), done)
}

#[tokio::test]
async fn each_kind_receives_the_shape_it_reads() {
    let answer = r#"{"name": "Ada", "age": 36}"#;
    for kind in ["openai", "vllm", "ollama"] {
        let (sent, done) = asked_of(kind, person(), answer).await;
        assert_eq!(sent, person(), "{kind}: the OpenAI shape");
        assert_eq!(done["structured"]["valid"], true, "{kind}");
    }
    // llama.cpp: the nested OpenAI shape (the flat `schema` of its README is ignored by it).
    let (sent, _) = asked_of("llamacpp", person(), answer).await;
    assert_eq!(sent["json_schema"]["schema"], person_schema());
    assert!(sent.get("schema").is_none(), "not flat: {sent}");
    // TGI: its grammar.
    let (sent, _) = asked_of("tgi", person(), answer).await;
    assert_eq!(
        sent,
        json!({ "type": "json_object", "value": person_schema() })
    );
    let (sent, done) = asked_of("tgi", json!({ "type": "json_object" }), r#"{"a": 1}"#).await;
    assert_eq!(
        sent,
        json!({ "type": "json_object", "value": { "type": "object" } })
    );
    assert_eq!(done["structured"]["valid"], true);
}

#[tokio::test]
async fn each_answer_is_checked_against_the_schema_and_the_result_kept() {
    let (_app, upstream, ada, chat) = spawn_chat(&[]).await;
    let reply = |text: &str| {
        upstream.set_behaviour(Behaviour {
            reply: Some(text.to_owned()),
            ..Behaviour::default()
        });
    };
    // Set on the chat: every answer in it asks for it.
    ada.update_chat(
        &chat,
        json!({ "parameters": { "response_format": person() } }),
    )
    .await;
    reply(r#"{"name": "Ada", "age": 36}"#);
    let valid = ada.send(&chat, "who?").await.done().await;
    assert_eq!(
        valid["structured"],
        json!({ "valid": true, "errors": [], "error_count": 0 })
    );
    assert_eq!(
        valid["parameters"]["response_format"],
        person(),
        "recorded as used"
    );

    reply(r#"{"name": 3, "age": -1, "extra": true}"#);
    let invalid = ada.send(&chat, "and now?").await.done().await;
    let structured = &invalid["structured"];
    assert_eq!(
        (
            structured["valid"].clone(),
            structured["error_count"].clone()
        ),
        (json!(false), json!(3))
    );
    let mut paths: Vec<&str> = structured["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["path"].as_str().expect("path"))
        .collect();
    paths.sort_unstable();
    assert_eq!(paths, ["", "/age", "/name"]);
    assert!(
        structured["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .all(|e| e["message"].is_string())
    );

    // Wrapped in a fence, it is still the JSON; cut short, it is not JSON.
    reply("```json\n{\"name\": \"Grace\", \"age\": 85}\n```");
    let fenced = ada.send(&chat, "fenced").await.done().await;
    assert_eq!(fenced["structured"]["valid"], true);
    reply(r#"{"name": "Ada", "age": "#);
    let cut = ada.send(&chat, "cut").await.done().await;
    assert_eq!(cut["structured"]["valid"], false);
    assert!(
        cut["structured"]["errors"][0]["message"]
            .as_str()
            .expect("message")
            .starts_with("not valid JSON")
    );

    // Kept: the same results when the chat is read again.
    let stored = ada.messages(&chat).await;
    let results: Vec<Value> = stored
        .iter()
        .filter(|m| m["role"] == "assistant")
        .map(|m| m["structured"]["valid"].clone())
        .collect();
    assert_eq!(
        results,
        [json!(true), json!(false), json!(true), json!(false)]
    );
    // A question is not checked, nor an answer that did not ask.
    assert!(stored[0].get("structured").is_none());
    reply("plain text");
    let other = ada.new_chat().await;
    let plain = ada.send(&other, "free").await.done().await;
    assert!(plain.get("structured").is_none(), "{plain}");
}

#[tokio::test]
async fn a_schema_with_dollar_keys_is_kept_exactly_on_the_chat() {
    let (app, _upstream, ada, chat) = spawn_chat(&[]).await;
    let updated = ada
        .update_chat(
            &chat,
            json!({ "parameters": { "response_format": person() } }),
        )
        .await;
    assert_eq!(updated["parameters"]["response_format"], person());
    assert_eq!(
        ada.chat(&chat).await["parameters"]["response_format"],
        person()
    );
    // Stored as its JSON text: MongoDB restricts keys such as `$ref` inside documents.
    let id = ObjectId::parse_str(chat.id.as_str()).expect("chat id");
    let stored: Document = app
        .db()
        .await
        .collection::<Document>("chats")
        .find_one(doc! { "_id": id })
        .await
        .expect("read")
        .expect("the chat");
    let parameters = stored.get_document("parameters").expect("parameters");
    assert!(matches!(
        parameters.get("response_format"),
        Some(Bson::String(_))
    ));
    // And a chat created with it.
    let created = ada
        .create_chat(json!({ "parameters": { "response_format": { "type": "json_object" } } }))
        .await;
    assert_eq!(
        created["parameters"]["response_format"],
        json!({ "type": "json_object" })
    );
}

#[tokio::test]
async fn a_bad_format_or_schema_is_a_422_naming_the_field() {
    let (_app, upstream, ada, chat) = spawn_chat(&[]).await;
    let with_schema = |schema: Value| json!({ "type": "json_schema", "json_schema": { "name": "a", "schema": schema } });
    let big: serde_json::Map<String, Value> = (0..800)
        .map(|i| (format!("field_{i:04}"), json!({ "type": "string" })))
        .collect();
    let cases = [
        ("not an object", json!("json_object")),
        ("unknown type", json!({ "type": "xml" })),
        (
            "no name",
            json!({ "type": "json_schema", "json_schema": { "schema": {} } }),
        ),
        (
            "not a JSON Schema",
            with_schema(json!({ "type": "integer", "minimum": "zero" })),
        ),
        (
            "a $ref to nowhere",
            with_schema(json!({ "$ref": "#/$defs/none" })),
        ),
        (
            "a remote $ref",
            with_schema(json!({ "$ref": "http://127.0.0.1:9/schema.json" })),
        ),
        (
            "over 16 KiB",
            with_schema(json!({ "type": "object", "properties": big })),
        ),
    ];
    for (what, format) in cases {
        let body = json!({ "content": "hi", "parameters": { "response_format": format.clone() } });
        let response = ada.try_send(&chat, &body).await;
        expect_field_error(response, "parameters.response_format", what).await;
        let response = ada
            .try_update_chat(
                &chat,
                &json!({ "parameters": { "response_format": format } }),
            )
            .await;
        expect_field_error(response, "parameters.response_format", what).await;
    }
    assert_eq!(upstream.request_count(), 0, "nothing was sent");
}

#[tokio::test]
async fn models_describes_response_format() {
    let (app, _upstream) = spawn_app_with_upstream("llamacpp", &[]).await;
    let ada = app.signed_in().await;
    let models = ada.models().await;
    let spec = &models["models"][0]["parameters"]["response_format"];
    assert_eq!(spec["type"], "response_format");
    assert_eq!(spec["accepted"], true);
    assert_eq!(spec["max_length"], 16 * 1024);
    let response = ada
        .try_create_chat(
            &json!({ "parameters": { "response_format": { "type": "json_object", "x": 1 } } }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
