//! A MongoDB outage gives 503 (quickly, not a hang), and the app recovers when it returns.

use std::time::{Duration, Instant};

use integration_tests::{Ended, TcpProxy, json, mongodb_uri, spawn_app_with};
use reqwest::StatusCode;

fn mongodb_host_port() -> String {
    let uri = mongodb_uri();
    let rest = uri.trim_start_matches("mongodb://");
    let authority = rest.split(['/', '?']).next().unwrap_or("127.0.0.1:27017");
    authority.rsplit('@').next().unwrap_or(authority).to_owned()
}

#[tokio::test]
async fn an_unreachable_database_gives_503_and_the_app_recovers() {
    let proxy = TcpProxy::start(mongodb_host_port()).await;
    let uri = format!("mongodb://127.0.0.1:{}/?directConnection=true", proxy.port);
    let app = spawn_app_with(&[("MONGODB_URI", &uri), ("MONGODB_TIMEOUT_MS", "500")]).await;
    let (user, session) = app.with_user().await;
    assert_eq!(app.ready().await.status(), StatusCode::OK);

    proxy.cut();
    let started = Instant::now();
    let ready = app.ready().await;
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(ready.headers().contains_key("retry-after"));
    assert_eq!(json(ready).await["error"]["code"], "service_unavailable");
    let me = app.me(&session.access_token).await;
    assert_eq!(me.status(), StatusCode::SERVICE_UNAVAILABLE);
    let login = app.try_login(&user.email, &user.password).await;
    assert_eq!(login.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = json(login).await;
    assert!(
        !body.to_string().contains("127.0.0.1"),
        "driver details leaked: {body}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    // Liveness does not depend on the database.
    assert_eq!(app.health().await.status(), StatusCode::OK);

    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if app.ready().await.status() == StatusCode::OK {
            break;
        }
        assert!(Instant::now() < deadline, "the app did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let me = app.me(&session.access_token).await;
    assert_eq!(me.status(), StatusCode::OK);
}

/// The database goes away mid-answer: the text keeps streaming, the client is told the answer
/// could not be saved (never `done`), and the answer is stored once the database is back.
#[tokio::test]
async fn an_answer_finished_during_a_database_outage_is_not_called_done_and_is_saved_later() {
    use integration_tests::{fake_upstream::Behaviour, spawn_chat};
    use mongodb::bson::{Document, doc};

    let proxy = TcpProxy::start(mongodb_host_port()).await;
    let uri = format!("mongodb://127.0.0.1:{}/?directConnection=true", proxy.port);
    let (app, upstream, ada, chat) =
        spawn_chat(&[("MONGODB_URI", &uri), ("MONGODB_TIMEOUT_MS", "2000")]).await;
    upstream.set_behaviour(Behaviour {
        chunk_delay_ms: 40,
        reply_tokens: Some(80),
        ..Behaviour::default()
    });
    let mut answer = ada.send(&chat, "go").await;
    let (answer_id, mut shown) = answer.read_words(10).await;

    proxy.cut();
    let cut_at = Instant::now();
    let mut last_delta = Instant::now();
    let mut longest_gap = Duration::ZERO;
    let ending = loop {
        let event = answer.next().await.expect("the stream ends with an event");
        match event.event.as_str() {
            "delta" => {
                longest_gap = longest_gap.max(last_delta.elapsed());
                last_delta = Instant::now();
                shown.push_str(event.data["content"].as_str().unwrap_or_default());
            }
            _ => break event,
        }
    };
    assert!(cut_at.elapsed() < Duration::from_secs(30));
    // Saves that cannot reach the database (each waits 2 s for it) never hold the tokens back.
    assert!(
        longest_gap < Duration::from_millis(1500),
        "the stream froze for {longest_gap:?} while the database was down"
    );
    assert_eq!(ending.event, "error", "{ending:?}");
    assert_eq!(ending.data["code"], "not_saved");
    let message = ending.data["message"].as_str().expect("message");
    assert!(message.contains("could not be saved"), "{message}");
    let kept = &ending.data["assistant_message"];
    assert_eq!(kept["status"], "complete");
    assert_eq!(kept["content"], shown.as_str());
    assert_eq!(
        shown.split_whitespace().count(),
        80,
        "the whole answer was shown"
    );

    proxy.restore();
    let messages = app.db().await.collection::<Document>("messages");
    let id = answer_id.object_id();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let stored = messages
            .find_one(doc! { "_id": id })
            .await
            .expect("query")
            .expect("the answer's document");
        if stored.get_str("status") == Ok("complete") {
            assert_eq!(stored.get_str("content"), Ok(shown.as_str()));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the answer was never saved: {stored:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let listed = ada.message(&chat, &answer_id).await;
    assert_eq!(listed["content"], shown.as_str());
    assert_eq!(listed["status"], "complete");
}

/// One process loses the database while another goes on: when it comes back, its change
/// stream resumes where it stopped, so its sockets get what happened meanwhile — or, if it
/// cannot resume, they are closed to reconnect with `since`. Never a silent gap.
#[tokio::test]
async fn after_an_outage_a_process_s_sockets_get_what_happened_meanwhile() {
    let proxy = TcpProxy::start(mongodb_host_port()).await;
    let uri = format!("mongodb://127.0.0.1:{}/?directConnection=true", proxy.port);
    let a = spawn_app_with(&[
        ("MONGODB_URI", &uri),
        ("MONGODB_TIMEOUT_MS", "500"),
        ("INSTANCE_ID", "a"),
    ])
    .await;
    let b = spawn_app_with(&[
        ("MONGODB_DATABASE", &a.database),
        ("JWT_SECRET", &a.jwt_secret),
        ("INSTANCE_ID", "b"),
    ])
    .await;
    let ada = a.signed_in().await;
    let chat = ada.new_chat().await;
    let (mut socket, ready) = ada.live_since("").await;
    let mut last = ready["seq"].as_i64().expect("seq");

    proxy.cut();
    let on_b = ada.on(&b);
    for title in ["during one", "during two"] {
        on_b.update_chat(&chat, serde_json::json!({ "title": title }))
            .await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    proxy.restore();

    let mut titles = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while titles.len() < 2 && Instant::now() < deadline {
        match socket.next_event(Duration::from_secs(1)).await {
            Some(event) if event["type"] == "chat.updated" => {
                last = event["seq"].as_i64().expect("seq");
                titles.push(
                    event["data"]["title"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                );
            }
            Some(_) => {}
            None if a.ready().await.status() == StatusCode::OK => {
                // Closed (1012) to reconnect, or quiet: catch up from the log.
                if let Ended::Closed(code) = socket.ended(Duration::from_millis(10)).await {
                    assert_eq!(code, 1012, "only a reconnect request may close it");
                    socket = ada.live_since(&last.to_string()).await.0;
                }
            }
            None => {}
        }
    }
    assert_eq!(
        titles,
        ["during one", "during two"],
        "every event, once, in order"
    );
}
