//! Slow clients against the real `kokuho serve`: half-sent headers and bodies, and idle kept-alive
//! connections, are closed by the configured timeouts; a bound on open connections makes the rest
//! wait, and a normal client is still served (src/serve.rs).

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

fn address(served: &Served) -> String {
    served.base.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection (EOF or reset) or `within` passes; answers
/// what arrived, or `None` if the connection was still open then.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
    let mut received = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let mut buffer = [0u8; 4096];
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(received),
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
        }
    }
}

#[tokio::test]
async fn half_sent_requests_are_disconnected_and_a_normal_client_is_still_served() {
    let db = TestDb::fresh().await;
    // 600 slow clients against at most 150 open connections: the rest wait to be accepted.
    let served = serve_with(&db, &["--header-read-timeout", "1", "--max-connections", "150"]);
    let address = address(&served);
    let started = Instant::now();
    let mut slow = Vec::new();
    for _ in 0..600 {
        let mut stream = TcpStream::connect(&address).await.expect("the listen backlog takes the connection");
        // The request line and one header, never the blank line that ends the head.
        stream.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n").await.unwrap();
        slow.push(stream);
    }

    // A normal client arriving behind them is served once slow connections are dropped.
    let health = reqwest::Client::new()
        .get(format!("{}/health", served.base))
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .expect("a normal client is answered while slow clients hold connections");
    assert_eq!(health.status(), 200);

    // Every slow client is disconnected without an answer: 600 / 150 rounds of about 1 s.
    let mut waits = tokio::task::JoinSet::new();
    for mut stream in slow {
        waits.spawn(async move { read_until_closed(&mut stream, Duration::from_secs(30)).await });
    }
    let mut closed = 0;
    while let Some(outcome) = waits.join_next().await {
        let received = outcome.unwrap().expect("a half-sent request is not held for 30 s");
        assert!(received.is_empty(), "{}", String::from_utf8_lossy(&received));
        closed += 1;
    }
    assert_eq!(closed, 600);
    assert!(started.elapsed() < Duration::from_secs(30), "{:?}", started.elapsed());

    // And the server is none the worse.
    let health = reqwest::get(format!("{}/health", served.base)).await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn a_body_that_stops_arriving_is_answered_408_naming_the_body() {
    let db = TestDb::fresh().await;
    let served = serve_with(&db, &["--body-timeout", "1"]);
    let mut stream = TcpStream::connect(address(&served)).await.unwrap();
    let started = Instant::now();
    // A sign-in announcing 200 bytes of JSON and sending 10.
    stream
        .write_all(
            b"POST /v1/112020/sessions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
              Content-Length: 200\r\n\r\n{\"login\":",
        )
        .await
        .unwrap();
    let mut received = Vec::new();
    while !received.windows(4).any(|window| window == b"\r\n\r\n") {
        let mut buffer = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer))
            .await
            .expect("the stalled body is answered within the body timeout")
            .unwrap();
        assert!(n > 0, "closed without an answer");
        received.extend_from_slice(&buffer[..n]);
    }
    let answer = String::from_utf8_lossy(&received).into_owned();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    // The problem document names what went wrong (read whatever of it has arrived).
    let rest = read_until_closed(&mut stream, Duration::from_secs(5)).await.unwrap_or_default();
    let answer = answer + &String::from_utf8_lossy(&rest);
    assert!(answer.contains("body_timeout"), "{answer}");
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_header_read_timeout() {
    let db = TestDb::fresh().await;
    let served = serve_with(&db, &["--header-read-timeout", "1"]);
    let mut stream = TcpStream::connect(address(&served)).await.unwrap();
    stream.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    let mut buffer = [0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer)).await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 200"));
    // Kept alive, then idle: closed about a second later rather than held.
    let idle = Instant::now();
    let rest = read_until_closed(&mut stream, Duration::from_secs(10)).await.expect("an idle connection is closed");
    let waited = idle.elapsed();
    assert!(waited >= Duration::from_millis(500) && waited < Duration::from_secs(5), "{waited:?}");
    // Whatever was left of the first response, no second one.
    assert!(!String::from_utf8_lossy(&rest).contains("HTTP/1.1"), "{}", String::from_utf8_lossy(&rest));
}

#[test]
fn serve_help_shows_each_limit_and_its_default() {
    let db = tokio::runtime::Runtime::new().unwrap().block_on(TestDb::fresh());
    let (code, stdout, _) = output(kokuho(&db).args(["serve", "--help"]));
    assert_eq!(code, 0);
    for (flag, default) in [
        ("--header-read-timeout", "[default: 10]"),
        ("--body-timeout", "[default: 30]"),
        ("--request-timeout", "[default: 60]"),
        ("--idle-timeout", "[default: 120]"),
        ("--max-connections", "[default: 1024]"),
    ] {
        let line = stdout.find(flag).unwrap_or_else(|| panic!("{flag} in {stdout}"));
        let described = &stdout[line..];
        let next = described[flag.len()..].find("\n  -").map_or(described.len(), |end| end + flag.len());
        assert!(described[..next].contains(default), "{flag} {default} in {stdout}");
    }
}

#[test]
fn serve_refuses_an_idle_timeout_not_above_the_request_timeout() {
    let db = tokio::runtime::Runtime::new().unwrap().block_on(TestDb::fresh());
    let (code, _, stderr) =
        output(kokuho(&db).args(["serve", "--bind", "127.0.0.1:0", "--request-timeout", "60", "--idle-timeout", "60"]));
    assert_ne!(code, 0);
    assert!(stderr.contains("--idle-timeout must be longer than --request-timeout"), "{stderr}");
}
