//! Robustness against slow, idle, garbage and hostile clients: header, body and keep-alive
//! timeouts (with a client that is served meanwhile), the connection cap, HTTP/2 refused,
//! bounded metrics labels, the WebSocket frame rules and socket cap, JSON errors for paths that are not UTF-8,
//! and a forged bus message. Timeouts are set to a second or two so the tests stay quick; no
//! test asserts a duration, only that a client was cut off or served.

use std::time::Duration;

use futures_util::StreamExt;
use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep, timeout};
use tokio_tungstenite::tungstenite::Message;

use crate::socket::{Auth, NOTIFICATIONS, connect, token};
use crate::support::TestApp;

/// How long a test waits for the server to close a connection it should close.
const CUT_WAIT: Duration = Duration::from_secs(15);

async fn raw(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.server.addr())
        .await
        .expect("connects")
}

/// Reads until the server closes the connection; returns what it sent before. Panics if it
/// keeps the connection open for `CUT_WAIT`.
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let read = timeout(CUT_WAIT, stream.read(&mut buf))
            .await
            .expect("the server closes the connection");
        match read {
            Ok(0) | Err(_) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// True if the bytes hold a successful HTTP answer.
fn served(bytes: &[u8]) -> bool {
    bytes.starts_with(b"HTTP/1.1 2")
}

/// Sends `request` on a kept-alive connection and reads one response: its status and body,
/// or `None` if the server closed the connection instead.
async fn exchange(stream: &mut TcpStream, request: &str) -> Option<(u16, String)> {
    stream.write_all(request.as_bytes()).await.ok()?;
    read_response(stream).await
}

async fn read_response(stream: &mut TcpStream) -> Option<(u16, String)> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = timeout(CUT_WAIT, stream.read(&mut buf))
            .await
            .expect("a response or a close in time")
            .ok()?;
        if n == 0 {
            return None;
        }
        got.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&got[..head_end]).to_string();
    let status = head.get(9..12)?.parse().ok()?;
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while got.len() < head_end + length {
        let n = timeout(CUT_WAIT, stream.read(&mut buf))
            .await
            .expect("the body in time")
            .ok()?;
        if n == 0 {
            return None;
        }
        got.extend_from_slice(&buf[..n]);
    }
    let body = String::from_utf8_lossy(&got[head_end..head_end + length]).to_string();
    Some((status, body))
}

const HEALTH: &str = "GET /healthz HTTP/1.1\r\nHost: linkup\r\n\r\n";

#[tokio::test]
async fn a_client_slow_to_send_its_headers_is_cut_off_while_others_are_served() {
    let app = TestApp::spawn_with(|c| c.header_timeout_secs = 1).await;
    let mut silent = raw(&app).await;
    let mut halfway = raw(&app).await;
    halfway
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: linkup\r\n")
        .await
        .unwrap();
    let (status, _) = app.anonymous().get("/healthz").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a normal client is served meanwhile"
    );
    assert!(!served(&read_to_close(&mut halfway).await));
    assert!(read_to_close(&mut silent).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_cut_off() {
    let app = TestApp::spawn_with(|c| c.header_timeout_secs = 1).await;
    let mut slow = raw(&app).await;
    slow.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
    // A header line every 200 ms, for as long as the server takes them.
    let started = Instant::now();
    let mut cut = false;
    while started.elapsed() < CUT_WAIT {
        if slow.write_all(b"X-Slow: 1\r\n").await.is_err() {
            cut = true;
            break;
        }
        let mut byte = [0u8; 1];
        match timeout(Duration::from_millis(200), slow.read(&mut byte)).await {
            Ok(Ok(0) | Err(_)) => {
                cut = true;
                break;
            }
            Ok(Ok(_)) => panic!("no answer is due to headers that never end"),
            Err(_) => {}
        }
    }
    assert!(cut, "the trickling client was never cut off");
    let (status, _) = app.anonymous().get("/healthz").await;
    assert_eq!(status, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn a_stalled_body_is_cut_off_while_others_are_served() {
    let app = TestApp::spawn_with(|c| c.body_timeout_secs = 1).await;
    let mut stalled = raw(&app).await;
    stalled
        .write_all(
            b"POST /api/auth/login HTTP/1.1\r\nHost: linkup\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"username\": \"al",
        )
        .await
        .unwrap();
    let (status, _) = app.anonymous().get("/healthz").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a normal client is served meanwhile"
    );
    assert!(!served(&read_to_close(&mut stalled).await));
    app.stop().await;
}

#[tokio::test]
async fn a_slow_but_steady_upload_is_served() {
    let app = TestApp::spawn_with(|c| c.body_timeout_secs = 1).await;
    let [alice] = app.token_users(["alice"]).await;
    let chunk = [b'a'; 100];
    let chunks = 8;
    let mut stream = raw(&app).await;
    let head = format!(
        "POST /api/uploads?filename=notes.txt HTTP/1.1\r\nHost: linkup\r\n\
         Authorization: Bearer {}\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {}\r\n\r\n",
        token(&alice),
        chunk.len() * chunks
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // Longer in all than the body timeout, never that long between two pieces.
    for _ in 0..chunks {
        sleep(Duration::from_millis(400)).await;
        stream.write_all(&chunk).await.expect("the server reads on");
    }
    let (status, body) = read_response(&mut stream).await.expect("an answer");
    assert_eq!(status, 201, "{body}");
    let upload: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(upload["size"], 800);
    app.stop().await;
}

/// The server's count of its open connections, from `/metrics` (this request's included).
async fn open_connections(app: &TestApp) -> i64 {
    let response = reqwest::get(format!("{}/metrics", app.url)).await.unwrap();
    let text = response.text().await.unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix("linkup_open_connections "))
        .and_then(|value| value.trim().parse().ok())
        .expect("the open connections gauge")
}

#[tokio::test]
async fn a_client_that_stops_reading_its_answers_is_cut_off() {
    let app = TestApp::spawn_with(|c| {
        c.body_timeout_secs = 1;
        c.keepalive_timeout_secs = 1;
    })
    .await;
    // A small receive window, many answers asked for at once (pipelined), none read: the
    // server's writes stall with requests still to answer (a "slow read").
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stalled = socket.connect(app.server.addr()).await.unwrap();
    let requests = "GET /api/openapi.json HTTP/1.1\r\nHost: linkup\r\n\r\n".repeat(200);
    stalled.write_all(requests.as_bytes()).await.unwrap();
    let started = Instant::now();
    while open_connections(&app).await > 1 {
        assert!(
            started.elapsed() < CUT_WAIT,
            "a client that reads nothing keeps its connection"
        );
        sleep(Duration::from_millis(200)).await;
    }
    drop(stalled);
    app.stop().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_and_a_busy_one_is_not() {
    let app = TestApp::spawn_with(|c| c.keepalive_timeout_secs = 1).await;
    let mut stream = raw(&app).await;
    // Requests well within the keep-alive timeout of each other keep the connection.
    for _ in 0..6 {
        let (status, _) = exchange(&mut stream, HEALTH).await.expect("kept alive");
        assert_eq!(status, 200);
        sleep(Duration::from_millis(300)).await;
    }
    assert!(read_to_close(&mut stream).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn a_websocket_outlives_the_connection_timeouts() {
    let app = TestApp::spawn_with(|c| {
        c.header_timeout_secs = 1;
        c.body_timeout_secs = 1;
        c.keepalive_timeout_secs = 1;
    })
    .await;
    let [alice] = app.token_users(["alice"]).await;
    let mut socket = app.notifications(&alice).await;
    sleep(Duration::from_millis(2500)).await;
    socket.ping().await;
    app.stop().await;
}

#[tokio::test]
async fn connections_over_the_cap_are_refused_at_once_while_those_open_are_served() {
    let app = TestApp::spawn_with(|c| c.max_connections = Some(4)).await;
    let mut open = Vec::new();
    for _ in 0..4 {
        let mut stream = raw(&app).await;
        let (status, _) = exchange(&mut stream, HEALTH).await.expect("served");
        assert_eq!(status, 200);
        open.push(stream);
    }
    // The fifth is closed without a word, even with its request sent.
    let mut excess = raw(&app).await;
    let _ = excess.write_all(HEALTH.as_bytes()).await;
    assert!(read_to_close(&mut excess).await.is_empty());
    for stream in &mut open {
        let (status, _) = exchange(stream, HEALTH).await.expect("still served");
        assert_eq!(status, 200);
    }
    // A place freed is taken again.
    drop(open.pop());
    let started = Instant::now();
    loop {
        let mut stream = raw(&app).await;
        if let Some((status, _)) = exchange(&mut stream, HEALTH).await {
            assert_eq!(status, 200);
            break;
        }
        assert!(
            started.elapsed() < CUT_WAIT,
            "the freed place was not reused"
        );
        sleep(Duration::from_millis(50)).await;
    }
    app.stop().await;
}

/// What an HTTP/2 client with prior knowledge opens with: the preface, then its SETTINGS frame.
const H2_OPENING: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0";

#[tokio::test]
async fn http2_is_closed_unserved_while_http1_is_served() {
    let app = TestApp::spawn().await;
    let mut whole = raw(&app).await;
    whole.write_all(H2_OPENING).await.unwrap();
    // In pieces too, however the server's reads split them.
    let mut pieces = raw(&app).await;
    for piece in [&H2_OPENING[..1], &H2_OPENING[1..7], &H2_OPENING[7..]] {
        if pieces.write_all(piece).await.is_err() {
            break;
        }
        sleep(Duration::from_millis(50)).await;
    }
    for h2 in [&mut whole, &mut pieces] {
        let got = read_to_close(h2).await;
        assert!(got.is_empty(), "no SETTINGS frame, nothing at all: {got:?}");
    }
    let mut plain = raw(&app).await;
    let (status, _) = exchange(&mut plain, HEALTH).await.expect("served");
    assert_eq!(status, 200);
    // A request line that begins like the preface is HTTP/1, its raw bytes escaped.
    let mut like = raw(&app).await;
    like.write_all(b"P").await.unwrap();
    sleep(Duration::from_millis(50)).await;
    like.write_all(b"UT /api/\xff HTTP/1.1\r\nHost: linkup\r\nContent-Length: 0\r\n\r\n")
        .await
        .unwrap();
    let (status, body) = read_response(&mut like).await.expect("an answer");
    assert!((400..500).contains(&status), "{status} {body}");
    let body: Value = serde_json::from_str(&body).expect("a JSON error");
    assert!(body["error"]["code"].is_string(), "{body}");
    app.stop().await;
}

/// The size of the request series in `/metrics` (the lines labelled with a route): what a
/// client's methods and paths could grow. Other series appear on their own schedule (the
/// housekeeping's store calls every few seconds), so they are left out.
async fn metrics_size(app: &TestApp) -> usize {
    let response = reqwest::get(format!("{}/metrics", app.url)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    let requests: Vec<&str> = text.lines().filter(|l| l.contains("route=\"")).collect();
    assert!(!requests.is_empty(), "no request series in {text}");
    requests.iter().map(|l| l.len() + 1).sum()
}

#[tokio::test]
async fn made_up_methods_and_paths_leave_the_metrics_the_same_size() {
    let app = TestApp::spawn().await;
    let http = reqwest::Client::new();
    // One of each kind first, so their label sets exist before the baseline.
    let probe = |method: Method, path: String| {
        let request = http.request(method, format!("{}{path}", app.url));
        async move {
            let response = request.send().await.expect("answered");
            assert!(response.status().is_client_error(), "{}", response.status());
        }
    };
    probe(Method::from_bytes(b"PROBE").unwrap(), "/api/me".into()).await;
    probe(Method::GET, "/api/nothing-here".into()).await;
    probe(Method::GET, "/nothing-here".into()).await;
    let before = metrics_size(&app).await;
    let requests = (0..2000).flat_map(|i| {
        let method = Method::from_bytes(format!("MADEUP{i}").as_bytes()).unwrap();
        [
            (method, "/api/me".to_owned()),
            (Method::GET, format!("/api/random-{i}")),
            (Method::GET, format!("/random/{i}/path")),
        ]
    });
    futures_util::stream::iter(requests)
        .map(|(method, path)| probe(method, path))
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
    let after = metrics_size(&app).await;
    assert!(
        after < before + 1024,
        "/metrics grew from {before} to {after} bytes"
    );
    app.stop().await;
}

/// A masked client frame (zero mask key) with `first` as its first byte (FIN, opcode).
fn raw_frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![first, 0x80 | u8::try_from(payload.len()).expect("short")];
    frame.extend_from_slice(&[0, 0, 0, 0]);
    frame.extend_from_slice(payload);
    frame
}

#[tokio::test]
async fn a_text_frame_that_is_not_utf8_closes_the_socket_with_1007() {
    let (app, [alice]) = TestApp::with_token_users(["alice"]).await;
    let mut socket = app.notifications(&alice).await;
    socket.ping().await;
    socket
        .stream
        .get_mut()
        .write_all(&raw_frame(0x81, b"{\"type\": \"ping\xff\xfe\"}"))
        .await
        .expect("frame written");
    socket.assert_closed_with(1007).await;
    app.stop().await;
}

#[tokio::test]
async fn binary_frames_count_against_the_frame_rate() {
    let app = TestApp::spawn_with(|c| c.frame_rate = 1).await;
    let [alice] = app.token_users(["alice"]).await;
    let mut socket = app.notifications(&alice).await;
    let frames = (0..40)
        .map(|i| Message::Binary(vec![i; 8].into()))
        .collect();
    socket.send_frames(frames).await;
    let (answers, close) = socket.drain().await;
    assert!(
        answers.iter().any(|a| a["code"] == "rate_limited"),
        "{answers:?}"
    );
    assert_eq!(close, Some(1008));
    app.stop().await;
}

#[tokio::test]
async fn ping_and_pong_frames_count_against_the_frame_rate() {
    let app = TestApp::spawn_with(|c| c.frame_rate = 1).await;
    let [alice] = app.token_users(["alice"]).await;
    for control in [Message::Ping, Message::Pong] {
        let mut socket = app.notifications(&alice).await;
        let frames = (0..40).map(|i| control(vec![i; 4].into())).collect();
        socket.send_frames(frames).await;
        let (answers, close) = socket.drain().await;
        // Control frames over the limit get no error frames, only the close.
        assert!(
            answers.iter().all(|a| a["type"] == "presence"),
            "{answers:?}"
        );
        assert_eq!(close, Some(1008));
        // The bucket refills before the next round.
        sleep(Duration::from_secs(5)).await;
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_connects_cannot_pass_the_socket_cap() {
    let app = TestApp::spawn_with(|c| c.max_sockets_per_user = 5).await;
    let [alice] = app.token_users(["alice"]).await;
    let attempts = (0..50).map(|_| connect(&app.url, NOTIFICATIONS, Auth::Bearer(token(&alice))));
    let results = join_all(attempts).await;
    let opened = results.iter().filter(|r| r.is_ok()).count();
    let refused = results.iter().filter(|r| matches!(r, Err(429))).count();
    assert_eq!((opened, refused), (5, 45));
    app.stop().await;
}

#[tokio::test]
async fn paths_and_queries_that_are_not_utf8_get_json_errors() {
    let (app, [alice]) = TestApp::with_token_users(["alice"]).await;
    for path in [
        "/api/conversations/%FF%FE/messages",
        "/api/conversations/al%C3%28ce/messages",
        "/api/groups/%FF",
        "/api/groups/%FF/members/%FE",
        "/api/messages/%FF",
        "/api/uploads/%FF",
        "/api/%FF",
        "/api/users?q=%FF",
        "/api/sync?since=%FF",
        "/api/conversations/bob/messages?before_id=%FF",
        "/ws/chat/%FF/",
        "/ws/groups/%FF/",
        "/ws/notifications/?since=%FF",
        "/ws/%FF",
    ] {
        let (status, body) = alice.get(path).await;
        assert!(status.is_client_error(), "{path}: {status} {body}");
        assert!(body["error"]["code"].is_string(), "{path}: {status} {body}");
    }
    for path in [
        b"/api/conversations/\xff\xfe/messages".as_slice(),
        b"/api/groups/\xff",
        b"/api/\xc3\x28",
        b"/api/sync?since=\xff",
        b"/ws/chat/\xff/",
        b"/ws/notifications/?since=\xff",
    ] {
        let mut stream = raw(&app).await;
        let mut request = b"GET ".to_vec();
        request.extend_from_slice(path);
        request.extend_from_slice(
            format!(
                " HTTP/1.1\r\nHost: linkup\r\nAuthorization: Bearer {}\r\n\r\n",
                token(&alice)
            )
            .as_bytes(),
        );
        stream.write_all(&request).await.unwrap();
        let shown = String::from_utf8_lossy(path);
        let (status, body) = read_response(&mut stream).await.expect("an answer");
        assert!((400..500).contains(&status), "{shown}: {status} {body}");
        let body: Value =
            serde_json::from_str(&body).unwrap_or_else(|_| panic!("{shown}: not JSON: {body:?}"));
        assert!(body["error"]["code"].is_string(), "{shown}: {body}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_forged_bus_message_cannot_stall_a_socket() {
    let prefix = format!("forged{}", std::process::id());
    let app = TestApp::spawn_with(|c| {
        c.redis_url = Some(crate::backend::redis_url());
        c.redis_prefix = prefix.clone();
    })
    .await;
    let [alice, bob] = app.token_users(["alice", "bob"]).await;
    let mut socket = app.notifications(&alice).await;
    bob.send_ok("alice", "c1").await;
    let real = socket.next_of("message").await;
    assert_eq!(real["cursor"], 1);
    let username = linkup::domain::input::Username::parse("alice").unwrap();
    let user = app
        .server
        .state()
        .store
        .user_by_username(&username)
        .await
        .unwrap()
        .expect("alice")
        .id;
    // The same event again, for alice, at cursors no stream has.
    let mut event = real.clone();
    event["cursor"] = json!(0);
    let redis = redis::Client::open(crate::backend::redis_url()).unwrap();
    let mut connection = redis.get_multiplexed_async_connection().await.unwrap();
    for cursor in [i64::MAX, 1 << 53, 1000, 0, -1, i64::MIN] {
        let wire = json!({
            "node": "forger",
            "body": {"Events": [{"event": event, "to": [[user.0, cursor]]}]},
        });
        let receivers: i64 = redis::cmd("PUBLISH")
            .arg(format!("{prefix}:bus"))
            .arg(wire.to_string())
            .query_async(&mut connection)
            .await
            .unwrap();
        assert!(receivers >= 1, "the server listens on the channel");
    }
    // The socket still delivers the next real event, and nothing forged came before it.
    bob.send_ok("alice", "c2").await;
    let next = socket.next_of_skipping("message", |frame| {
        assert!(frame.get("cursor").is_none(), "forged: {frame}");
    });
    let next = next.await;
    assert_eq!(next["cursor"], 2, "{next}");
    assert_eq!(next["message"]["client_id"], "c2");
    app.stop().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut connection)
        .await
        .unwrap_or_default();
    if !keys.is_empty() {
        let _: redis::RedisResult<()> = redis::cmd("DEL")
            .arg(keys)
            .query_async(&mut connection)
            .await;
    }
}
