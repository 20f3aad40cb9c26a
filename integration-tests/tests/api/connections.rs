//! Connection-level limits and shutdown: slow and idle connections are closed, open
//! connections are capped, and sockets are told why they close.

use std::time::Duration;

use integration_tests::{Ended, spawn_app_with};
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
};

/// Reads until the server closes the connection (or `wait` passes); `true` if it closed.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buffer = [0_u8; 4096];
    let read_all = async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(wait, read_all).await.is_ok()
}

#[tokio::test]
async fn a_request_whose_headers_never_finish_is_closed_after_the_header_timeout() {
    let app = spawn_app_with(&[("HTTP_HEADER_READ_TIMEOUT_SECS", "1")]).await;
    let mut slow = TcpStream::connect(("127.0.0.1", app.port))
        .await
        .expect("connect");
    // A slowloris client: a request line and one header, then silence.
    slow.write_all(b"GET /api/health HTTP/1.1\r\nHost: confab\r\n")
        .await
        .expect("write");
    let started = std::time::Instant::now();
    assert!(
        closed_within(&mut slow, Duration::from_secs(10)).await,
        "the half-sent request is still open"
    );
    println!(
        "slowloris connection closed after {:?} (HTTP_HEADER_READ_TIMEOUT_SECS=1)",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let app = spawn_app_with(&[("HTTP_HEADER_READ_TIMEOUT_SECS", "1")]).await;
    let mut idle = TcpStream::connect(("127.0.0.1", app.port))
        .await
        .expect("connect");
    idle.write_all(b"GET /api/health HTTP/1.1\r\nHost: confab\r\n\r\n")
        .await
        .expect("write");
    let mut head = [0_u8; 12];
    idle.read_exact(&mut head).await.expect("a response");
    assert_eq!(&head, b"HTTP/1.1 200");
    assert!(
        closed_within(&mut idle, Duration::from_secs(10)).await,
        "the idle keep-alive connection is still open"
    );
}

#[tokio::test]
async fn connections_past_the_cap_wait_until_one_closes() {
    let app = spawn_app_with(&[("HTTP_MAX_CONNECTIONS", "2")]).await;
    let mut first = TcpStream::connect(("127.0.0.1", app.port))
        .await
        .expect("connect");
    let _second = TcpStream::connect(("127.0.0.1", app.port))
        .await
        .expect("connect");
    first
        .write_all(b"GET /api/health HTTP/1.1\r\nHost: confab\r\n\r\n")
        .await
        .expect("write");
    let mut head = [0_u8; 12];
    first.read_exact(&mut head).await.expect("served");
    // The third waits in the backlog: connected, but not served.
    let mut third = TcpStream::connect(("127.0.0.1", app.port))
        .await
        .expect("the kernel accepts it");
    third
        .write_all(b"GET /api/health HTTP/1.1\r\nHost: confab\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let waiting = tokio::time::timeout(Duration::from_millis(700), third.read(&mut head)).await;
    assert!(
        waiting.is_err(),
        "a third connection was served past the cap"
    );
    drop(first);
    tokio::time::timeout(Duration::from_secs(10), third.read_exact(&mut head))
        .await
        .expect("served once a place is free")
        .expect("read");
    assert_eq!(&head, b"HTTP/1.1 200");
}

#[tokio::test]
async fn shutdown_closes_every_socket_with_1001_and_a_reason() {
    let app = spawn_app_with(&[]).await;
    let ada = app.signed_in().await;
    let mut one = ada.live().await;
    let mut two = ada.live().await;
    let stopping = tokio::spawn(app.stop());
    for socket in [&mut one, &mut two] {
        assert_eq!(
            socket.ended(Duration::from_secs(10)).await,
            Ended::Closed(1001)
        );
    }
    tokio::time::timeout(Duration::from_secs(15), stopping)
        .await
        .expect("shutdown finishes")
        .expect("task")
        .expect("clean shutdown");
}
