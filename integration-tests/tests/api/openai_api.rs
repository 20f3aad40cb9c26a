//! The OpenAI-compatible API, driven by a real OpenAI client library (`async-openai`): models,
//! chat completions streamed and not, every sampling parameter reaching the upstream under the
//! name its kind reads, bad bodies as OpenAI-shaped 400s, the owner's limits and quotas, and
//! `confab.save` keeping the exchange as a chat the owner's clients see live.

use std::time::Duration;

use async_openai::{
    Client,
    config::OpenAIConfig,
    error::OpenAIError,
    middleware::ReqwestService,
    types::chat::{
        ChatCompletionRequestSystemMessageArgs, ChatCompletionRequestUserMessageArgs,
        ChatCompletionStreamOptions, CreateChatCompletionRequest, CreateChatCompletionRequestArgs,
        StopConfiguration,
    },
};
use futures::StreamExt as _;
use integration_tests::{
    SignedIn, TestApp, fake_upstream::Behaviour, json, spawn_app_with_upstream,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json as body};

use crate::api_keys::new_key;

/// The library's client, without its retries (a 429 must reach the test, not be retried).
fn openai(app: &TestApp, key: &str) -> Client<OpenAIConfig> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest13::Client::new();
    Client::build(
        http.clone(),
        OpenAIConfig::new()
            .with_api_base(app.url("/v1"))
            .with_api_key(key),
    )
    .with_http_service(ReqwestService::new(http))
}

async fn keyed(app: &TestApp) -> (SignedIn, Client<OpenAIConfig>) {
    let user = app.signed_in().await;
    let key = new_key(&user, "tests").await;
    let client = openai(app, key["key"].as_str().expect("key"));
    (user, client)
}

fn request(question: &str) -> CreateChatCompletionRequest {
    CreateChatCompletionRequestArgs::default()
        .model("confab-demo")
        .messages([
            ChatCompletionRequestSystemMessageArgs::default()
                .content("Be brief.")
                .build()
                .expect("system")
                .into(),
            ChatCompletionRequestUserMessageArgs::default()
                .content(question)
                .build()
                .expect("user")
                .into(),
        ])
        .temperature(0.5)
        .top_p(0.75)
        .max_completion_tokens(50_u32)
        .seed(7)
        .stop(StopConfiguration::StringArray(vec!["\n\n".to_owned()]))
        .build()
        .expect("request")
}

/// `POST /v1/chat/completions` with a raw body and key: status and JSON.
async fn post_raw(app: &TestApp, key: &str, body: &[u8]) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(app.url("/v1/chat/completions"))
        .bearer_auth(key)
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .expect("sent");
    let status = response.status();
    (status, json(response).await)
}

/// A request the server refuses: its status and OpenAI-shaped error.
async fn refused(
    client: &Client<OpenAIConfig>,
    request: CreateChatCompletionRequest,
) -> (u16, async_openai::error::ApiError) {
    api_error(client.chat().create(request).await.expect_err("refused"))
}

/// Another key of the user's, for raw requests.
async fn key_of(user: &SignedIn) -> String {
    new_key(user, "raw").await["key"]
        .as_str()
        .expect("key")
        .to_owned()
}

/// `POST /v1/chat/completions` with this JSON body and key: status and JSON.
async fn post_json(app: &TestApp, key: &str, body: &Value) -> (StatusCode, Value) {
    post_raw(app, key, body.to_string().as_bytes()).await
}

fn api_error(error: OpenAIError) -> (u16, async_openai::error::ApiError) {
    match error {
        OpenAIError::ApiError(response) => (response.status_code.as_u16(), response.api_error),
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_real_openai_client_lists_models_and_gets_answers_streamed_and_not() {
    let (app, upstream) = spawn_app_with_upstream("vllm", &[]).await;
    let (_ada, client) = keyed(&app).await;

    let models = client.models().list().await.expect("models");
    let ids: Vec<&str> = models.data.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["confab-demo"]);

    upstream.set_behaviour(Behaviour {
        reply: Some("Hello from the fake upstream.".to_owned()),
        ..Behaviour::default()
    });
    let answer = client
        .chat()
        .create(request("Hi?"))
        .await
        .expect("completion");
    assert_eq!(answer.object, "chat.completion");
    assert_eq!(answer.model, "confab-demo");
    assert!(answer.id.starts_with("chatcmpl-"), "{}", answer.id);
    let choice = &answer.choices[0];
    assert_eq!(
        choice.message.content.as_deref(),
        Some("Hello from the fake upstream.")
    );
    let usage = answer.usage.expect("usage");
    assert!(
        usage.total_tokens > 0
            && usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    );
    let sent = upstream.last_request().expect("sent upstream");
    assert_eq!(
        (
            &sent["temperature"],
            &sent["top_p"],
            &sent["max_tokens"],
            &sent["seed"],
            &sent["stop"]
        ),
        (
            &body!(0.5),
            &body!(0.75),
            &body!(50),
            &body!(7),
            &body!(["\n\n"])
        )
    );
    assert_eq!(
        sent["messages"],
        body!([{ "role": "system", "content": "Be brief." }, { "role": "user", "content": "Hi?" }])
    );

    // Streamed: the same text in chunks of one id, then the usage alone.
    let mut streamed = request("Again?");
    streamed.stream = Some(true);
    streamed.stream_options = Some(ChatCompletionStreamOptions {
        include_usage: Some(true),
        include_obfuscation: None,
    });
    let mut chunks = client.chat().create_stream(streamed).await.expect("stream");
    let (mut text, mut ids, mut finishes, mut usage) =
        (String::new(), Vec::new(), Vec::new(), None);
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.expect("chunk");
        assert_eq!(chunk.object, "chat.completion.chunk");
        ids.push(chunk.id.clone());
        for choice in &chunk.choices {
            text.push_str(choice.delta.content.as_deref().unwrap_or_default());
            if let Some(reason) = &choice.finish_reason {
                finishes.push(format!("{reason:?}"));
            }
        }
        if let Some(used) = chunk.usage {
            assert!(chunk.choices.is_empty(), "usage comes alone");
            usage = Some(used);
        }
    }
    assert_eq!(text, "Hello from the fake upstream.");
    ids.dedup();
    assert_eq!(ids.len(), 1, "one id: {ids:?}");
    assert_eq!(finishes, ["Stop"]);
    assert!(usage.is_some_and(|u| u.completion_tokens > 0));
    assert_eq!(upstream.last_request().expect("sent")["stream"], true);
}

#[tokio::test]
async fn every_parameter_confab_knows_reaches_the_upstream_under_its_kinds_name() {
    let (app, upstream) = spawn_app_with_upstream("llamacpp", &[]).await;
    let (_ada, client) = keyed(&app).await;
    let answer: Value = client
        .chat()
        .create_byot(body!({
            "model": "confab-demo",
            "messages": [{ "role": "user", "content": [{ "type": "text", "text": "Hi" }] }],
            "top_k": 20, "min_p": 0.05, "repetition_penalty": 1.25,
            "presence_penalty": 0.5, "frequency_penalty": -0.5, "max_tokens": 30,
            "response_format": { "type": "json_object" },
        }))
        .await
        .expect("completion");
    assert_eq!(answer["object"], "chat.completion");
    let sent = upstream.last_request().expect("sent");
    // llama-server reads repetition_penalty as repeat_penalty.
    for (name, value) in [
        ("top_k", body!(20)),
        ("min_p", body!(0.05)),
        ("repeat_penalty", body!(1.25)),
        ("presence_penalty", body!(0.5)),
        ("frequency_penalty", body!(-0.5)),
        ("max_tokens", body!(30)),
        ("response_format", body!({ "type": "json_object" })),
    ] {
        assert_eq!(sent[name], value, "{name} in {sent}");
    }
    assert_eq!(
        sent["messages"],
        body!([{ "role": "user", "content": "Hi" }])
    );

    // An OpenAI upstream reads no top_k: it is not sent, and the answer says so.
    let (app, upstream) = spawn_app_with_upstream("openai", &[]).await;
    let ada = app.signed_in().await;
    let key = new_key(&ada, "k").await["key"]
        .as_str()
        .expect("key")
        .to_owned();
    let response = reqwest::Client::new()
        .post(app.url("/v1/chat/completions"))
        .bearer_auth(&key)
        .json(&body!({ "model": "confab-demo", "top_k": 5, "messages": [{ "role": "user", "content": "q" }] }))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["x-confab-ignored-parameters"]
            .to_str()
            .ok(),
        Some("top_k")
    );
    assert!(
        upstream
            .last_request()
            .expect("sent")
            .get("top_k")
            .is_none()
    );
}

#[tokio::test]
async fn bad_bodies_are_openai_shaped_400s_and_an_unknown_model_is_a_404() {
    let (app, upstream) = spawn_app_with_upstream("vllm", &[]).await;
    let (ada, client) = keyed(&app).await;
    let key = new_key(&ada, "raw").await["key"]
        .as_str()
        .expect("key")
        .to_owned();

    let mut unknown = request("q");
    unknown.model = "gpt-9".to_owned();
    let (status, error) = refused(&client, unknown).await;
    assert_eq!(
        (status, error.code.as_deref()),
        (404, Some("model_not_found"))
    );
    assert_eq!(error.param.as_deref(), Some("model"));

    let (status, error) = api_error(
        client
            .chat()
            .create_byot::<Value, Value>(body!({ "model": "confab-demo", "frobnicate": 1,
                "messages": [{ "role": "user", "content": "q" }] }))
            .await
            .expect_err("unknown field"),
    );
    assert_eq!(status, 400);
    assert_eq!(error.param.as_deref(), Some("frobnicate"));
    assert!(error.message.contains("frobnicate"), "{}", error.message);

    let messages = body!([{ "role": "user", "content": "q" }]);
    for (request, param) in [
        (
            body!({ "model": "confab-demo", "messages": messages, "temperature": 5 }),
            Some("temperature"),
        ),
        (
            body!({ "model": "confab-demo", "messages": messages, "max_tokens": 1_000_000 }),
            Some("max_tokens"),
        ),
        (
            body!({ "model": "confab-demo", "messages": messages, "seed": "x" }),
            Some("seed"),
        ),
        (
            body!({ "model": "confab-demo", "messages": messages, "tools": [] }),
            Some("tools"),
        ),
        (
            body!({ "model": "confab-demo", "messages": messages, "n": 3 }),
            Some("n"),
        ),
        (
            body!({ "model": "confab-demo", "messages": [] }),
            Some("messages"),
        ),
        (body!({ "model": "confab-demo" }), Some("messages")),
        (
            body!({ "model": "confab-demo", "messages": [{ "role": "tool", "content": "x" }] }),
            Some("messages[0].role"),
        ),
        (
            body!({ "model": "confab-demo", "messages": messages, "response_format": { "type": "json_schema" } }),
            Some("response_format"),
        ),
        (
            body!({ "model": "confab-demo", "messages": messages, "confab": { "save": "yes" } }),
            Some("confab.save"),
        ),
        (body!([1, 2]), None),
        (body!("text"), None),
    ] {
        let (status, error) = post_json(&app, &key, &request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{request}: {error}");
        assert_eq!(error["error"]["type"], "invalid_request_error", "{error}");
        assert_eq!(
            error["error"]["param"].as_str(),
            param,
            "{request}: {error}"
        );
        assert!(
            error["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    for raw in [&b"{not json"[..], b"", b"\xff\xfe", b"{\"messages\": [}"] {
        let (status, error) = post_raw(&app, &key, raw).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{raw:?}: {error}");
        assert_eq!(error["error"]["type"], "invalid_request_error");
    }
    let too_big = format!(
        r#"{{"model":"confab-demo","messages":[{{"role":"user","content":"{}"}}]}}"#,
        "x".repeat(300 * 1024)
    );
    let (status, error) = post_raw(&app, &key, too_big.as_bytes()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{error}");
    assert!(error["error"]["message"].is_string());
    let unknown_route = reqwest::Client::new()
        .get(app.url("/v1/embeddings"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("sent");
    assert_eq!(unknown_route.status(), StatusCode::NOT_FOUND);
    assert_eq!(json(unknown_route).await["error"]["code"], "unknown_url");
    assert_eq!(
        upstream.request_count(),
        0,
        "nothing refused reached the upstream"
    );
}

async fn set_limits(admin: &SignedIn, user: &SignedIn, limits: Value) {
    let path = format!("/api/admin/users/{}", user.user_id());
    let response = admin
        .raw(Method::PATCH, &path, Some(&body!({ "limits": limits })))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    // Every process forgets the account's standing through the change stream (a second's TTL
    // at most), as for sessions.
    tokio::time::sleep(Duration::from_millis(1100)).await;
}

#[tokio::test]
async fn key_traffic_counts_against_its_owners_rate_limit_and_token_quota() {
    let (app, upstream) = spawn_app_with_upstream("vllm", &[]).await;
    let admin = app.signed_in().await;
    let (ada, client) = keyed(&app).await;
    set_limits(&admin, &ada, body!({ "messages_per_minute": 2 })).await;

    // Two answers a minute, whether asked on /v1 or in a chat.
    client.chat().create(request("one")).await.expect("first");
    let chat = ada.new_chat().await;
    ada.send(&chat, "two").await.done().await;
    let (status, error) = refused(&client, request("three")).await;
    assert_eq!((status, error.code.as_deref()), (429, Some("rate_limited")));
    assert_eq!(upstream.request_count(), 2);
    // Saved, it is refused the same, and leaves no chat behind.
    let (status, error) = post_json(&app, &key_of(&ada).await, &body!({ "model": "confab-demo", "confab": { "save": true },
            "messages": [{ "role": "system", "content": "s" }, { "role": "user", "content": "q" }] }))
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{error}");
    assert_eq!(error["error"]["code"], "rate_limited");
    assert_eq!(
        ada.list_chats("").await.chats.len(),
        1,
        "only the chat of `two`"
    );
    let in_chat = ada.try_send(&chat, "four").await;
    assert_eq!(
        in_chat.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the /v1 call counts in chats too"
    );

    // Tokens used on /v1 count against the daily quota, and show in the owner's usage.
    set_limits(
        &admin,
        &ada,
        body!({ "messages_per_minute": null, "daily_tokens": 10 }),
    )
    .await;
    let usage = json(ada.raw(Method::GET, "/api/users/me/usage", None).await).await;
    let used = usage["today"]["total_tokens"].as_u64().expect("total");
    assert!(used >= 10, "two answers' tokens counted: {usage}");
    let (status, error) = refused(&client, request("five")).await;
    assert_eq!(
        (status, error.code.as_deref()),
        (429, Some("quota_exceeded"))
    );
    assert_eq!(error.r#type.as_deref(), Some("insufficient_quota"));
}

#[tokio::test]
async fn concurrent_key_calls_are_limited_and_a_call_ends_when_its_caller_goes_away() {
    let (app, upstream) = spawn_app_with_upstream("vllm", &[]).await;
    let admin = app.signed_in().await;
    let (ada, client) = keyed(&app).await;
    set_limits(&admin, &ada, body!({ "concurrent_generations": 1 })).await;
    upstream.set_behaviour(Behaviour {
        chunk_delay_ms: 200,
        reply_tokens: Some(10),
        ..Behaviour::default()
    });
    let mut slow = request("slow");
    slow.stream = Some(true);
    let mut first = client.chat().create_stream(slow).await.expect("stream");
    first.next().await.expect("a first chunk").expect("chunk");
    let (status, error) = refused(&client, request("second")).await;
    assert_eq!(
        (status, error.code.as_deref()),
        (429, Some("too_many_generations"))
    );

    // The caller goes away: the upstream request is cancelled and the call no longer counts.
    drop(first);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while upstream.open_streams() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(upstream.open_streams(), 0);
    upstream.set_behaviour(Behaviour::default());
    let mut answered = false;
    for _ in 0..50 {
        if client.chat().create(request("third")).await.is_ok() {
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(answered, "the ended call stops counting");
}

#[tokio::test]
async fn a_saved_exchange_becomes_a_chat_its_owner_sees_live() {
    let (app, upstream) = spawn_app_with_upstream("vllm", &[]).await;
    let (ada, client) = keyed(&app).await;
    let mut live = ada.live().await;
    upstream.set_behaviour(Behaviour {
        reply: Some("Paris.".to_owned()),
        ..Behaviour::default()
    });
    let answer: Value = client
        .chat()
        .create_byot(body!({
            "model": "confab-demo",
            "messages": [
                { "role": "system", "content": "Answer in one word." },
                { "role": "user", "content": "Capital of Italy?" },
                { "role": "assistant", "content": "Rome." },
                { "role": "user", "content": "And of France?" },
            ],
            "temperature": 0.25,
            "confab": { "save": true },
        }))
        .await
        .expect("saved completion");
    assert_eq!(answer["choices"][0]["message"]["content"], "Paris.");

    let created = live
        .wait_for("chat.created", Duration::from_secs(5))
        .await
        .expect("chat.created");
    let chat_id = created["chat_id"].as_str().expect("chat id").to_owned();
    assert_eq!(
        created["data"]["parameters"]["system_prompt"],
        "Answer in one word."
    );
    assert_eq!(created["data"]["parameters"]["temperature"], 0.25);
    let finished = live
        .wait_for("generation.finished", Duration::from_secs(5))
        .await
        .expect("generation.finished");
    assert_eq!(finished["chat_id"], chat_id.as_str());
    assert_eq!(finished["data"]["content"], "Paris.");

    let path = format!("/api/chats/{chat_id}/messages");
    let messages = json(ada.raw(Method::GET, &path, None).await).await["messages"].clone();
    let turns: Vec<(String, String)> = messages
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap_or_default().to_owned(),
                m["content"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        turns,
        [
            ("user".to_owned(), "Capital of Italy?".to_owned()),
            ("assistant".to_owned(), "Rome.".to_owned()),
            ("user".to_owned(), "And of France?".to_owned()),
            ("assistant".to_owned(), "Paris.".to_owned()),
        ]
    );
    // The model was sent the exchange as given.
    let sent = upstream.last_request().expect("sent");
    assert_eq!(sent["messages"].as_array().map(Vec::len), Some(4));
    assert_eq!(sent["messages"][0]["content"], "Answer in one word.");

    // The header asks the same; without either, nothing is saved.
    let key = new_key(&ada, "header").await["key"]
        .as_str()
        .expect("key")
        .to_owned();
    let response = reqwest::Client::new()
        .post(app.url("/v1/chat/completions"))
        .bearer_auth(&key)
        .header("X-Confab-Save", "true")
        .json(&body!({ "model": "confab-demo", "stream": true, "messages": [{ "role": "user", "content": "Saved by header?" }] }))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    let saved_chat = response.headers()["x-confab-chat-id"]
        .to_str()
        .expect("chat id")
        .to_owned();
    let text = response.text().await.expect("stream");
    assert!(
        text.contains("Paris.") && text.trim_end().ends_with("data: [DONE]"),
        "{text}"
    );
    client
        .chat()
        .create(request("not saved"))
        .await
        .expect("unsaved");
    let chats = ada.list_chats("").await;
    assert_eq!(
        chats.chats.len(),
        2,
        "two saved exchanges, the unsaved one not"
    );
    assert_eq!(chats.chats[0].id.to_string(), saved_chat);

    // A saved exchange must end with the user's message.
    let (status, error) = post_json(&app, &key, &body!({ "model": "confab-demo", "confab": { "save": true },
            "messages": [{ "role": "user", "content": "q" }, { "role": "assistant", "content": "a" }] }))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert_eq!(error["error"]["param"], "messages");
}

#[tokio::test]
async fn an_unsaved_call_is_written_to_the_chat_log_and_stored_nowhere() {
    let dir = std::env::temp_dir().join(format!("confab-v1-log-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("chat.jsonl");
    let path_str = path.to_string_lossy().into_owned();
    let (app, _upstream) = spawn_app_with_upstream("vllm", &[("CHAT_LOG", &path_str)]).await;
    let (ada, client) = keyed(&app).await;
    let answer = client
        .chat()
        .create(request("Log me?"))
        .await
        .expect("answer");
    let text = answer.choices[0].message.content.clone().expect("text");
    let mut line = Value::Null;
    for _ in 0..50 {
        if let Ok(log) = std::fs::read_to_string(&path)
            && let Some(last) = log.lines().last()
        {
            line = serde_json::from_str(last).expect("a JSON line");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(line["source"], "api", "{line}");
    assert_eq!(line["user_id"], ada.user_id());
    assert_eq!(line["response"], text.as_str());
    assert_eq!(line["messages"][1]["content"], "Log me?");
    assert_eq!(line["status"], "complete");
    let stored = app
        .db()
        .await
        .collection::<mongodb::bson::Document>("messages")
        .count_documents(mongodb::bson::doc! {})
        .await
        .expect("count");
    assert_eq!(stored, 0);
    let _ = std::fs::remove_dir_all(&dir);
}
