//! A WebSocket test client: connects like a real client, reads frames with deadlines.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

use crate::support::{Client, TestApp};

/// How long a test waits for a frame it expects.
pub const FRAME_WAIT: Duration = Duration::from_secs(5);

/// How long a test listens to conclude that nothing (more) is coming.
pub const QUIET: Duration = Duration::from_millis(250);

/// The route of a socket for every conversation.
pub const NOTIFICATIONS: &str = "/ws/notifications/";

/// How a test socket authenticates.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    Bearer(&'a str),
    /// A bearer token sent from a page at `origin`.
    BearerFrom {
        token: &'a str,
        origin: &'a str,
    },
    /// `access_token` query parameter.
    Query(&'a str),
    /// The session cookie value, sent with this `Origin` (or none).
    Cookie {
        session: &'a str,
        origin: Option<&'a str>,
    },
    None,
}

pub struct Socket {
    pub stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// Opens `path` (e.g. `/ws/notifications/?since=0`) on the server at `base` (`http://…`).
/// Returns the HTTP status of a refused upgrade as `Err`.
pub async fn connect(base: &str, path: &str, auth: Auth<'_>) -> Result<Socket, u16> {
    let mut url = format!("{}{}", base.replacen("http://", "ws://", 1), path);
    if let Auth::Query(token) = &auth {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&format!("access_token={token}"));
    }
    let mut request = url.into_client_request().expect("valid ws url");
    let headers = request.headers_mut();
    match auth {
        Auth::Bearer(token) => {
            headers.insert(
                "authorization",
                HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
            );
        }
        Auth::BearerFrom { token, origin } => {
            headers.insert(
                "authorization",
                HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
            );
            headers.insert("origin", HeaderValue::from_str(origin).unwrap());
        }
        Auth::Cookie { session, origin } => {
            headers.insert(
                "cookie",
                HeaderValue::from_str(&format!("linkup_session={session}")).unwrap(),
            );
            if let Some(origin) = origin {
                headers.insert("origin", HeaderValue::from_str(origin).unwrap());
            }
        }
        Auth::Query(_) | Auth::None => {}
    }
    match connect_async(request).await {
        Ok((stream, _)) => Ok(Socket { stream }),
        Err(WsError::Http(response)) => Err(response.status().as_u16()),
        Err(other) => panic!("websocket connect failed: {other}"),
    }
}

/// Opens `path` like [`connect`], and panics if the upgrade is refused.
pub async fn open(base: &str, path: &str, auth: Auth<'_>) -> Socket {
    connect(base, path, auth)
        .await
        .unwrap_or_else(|status| panic!("{path} with {auth:?}: refused with {status}"))
}

/// Opens `path` like [`open`], trying again for up to 5 s while the server refuses it with 429
/// because it has not yet noticed that one of the user's sockets closed.
pub async fn open_once_freed(base: &str, path: &str, auth: Auth<'_>) -> Socket {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match connect(base, path, auth).await {
            Ok(socket) => return socket,
            Err(429) if Instant::now() < deadline => tokio::task::yield_now().await,
            Err(status) => panic!("{path}: refused with {status}, no place was freed"),
        }
    }
}

impl TestApp {
    /// Opens `path` on this server with `client`'s bearer token (a [`TestApp::token_client`]).
    pub async fn socket(&self, client: &Client, path: &str) -> Socket {
        open(&self.url, path, Auth::Bearer(token(client))).await
    }

    /// Opens `client`'s notifications socket (bearer token).
    pub async fn notifications(&self, client: &Client) -> Socket {
        self.socket(client, NOTIFICATIONS).await
    }

    /// Opens `path` with the session cookie `session`, sent from this server's own origin.
    pub async fn cookie_socket(&self, session: &str, path: &str) -> Socket {
        open(&self.url, path, self.cookie(session)).await
    }

    /// The session cookie `session`, sent from this server's own origin.
    pub fn cookie<'a>(&'a self, session: &'a str) -> Auth<'a> {
        Auth::Cookie {
            session,
            origin: Some(&self.url),
        }
    }
}

/// A `send` frame: `body` with `client_id`, to `to` (`None` on a chat socket, where the
/// recipient is implied).
pub fn send_frame(client_id: &str, body: &str, to: Option<&str>) -> Value {
    let mut frame = json!({"type": "send", "client_id": client_id, "body": body});
    if let Some(to) = to {
        frame["to"] = json!(to);
    }
    frame
}

/// A `receipt` frame marking `message_ids` with `status`.
pub fn receipt_frame(status: &str, message_ids: Value) -> Value {
    json!({"type": "receipt", "status": status, "message_ids": message_ids})
}

/// A `typing` frame to `to` (`None` on a chat socket).
pub fn typing_frame(to: Option<&str>, active: bool) -> Value {
    let mut frame = json!({"type": "typing", "active": active});
    if let Some(to) = to {
        frame["to"] = json!(to);
    }
    frame
}

impl Socket {
    /// Sends a `send` frame (see [`send_frame`]).
    pub async fn send_message(&mut self, client_id: &str, body: &str, to: Option<&str>) {
        self.send_json(send_frame(client_id, body, to)).await;
    }

    /// Sends a `receipt` frame (see [`receipt_frame`]).
    pub async fn send_receipt(&mut self, status: &str, message_ids: Value) {
        self.send_json(receipt_frame(status, message_ids)).await;
    }

    /// Sends a `typing` frame (see [`typing_frame`]).
    pub async fn send_typing(&mut self, to: Option<&str>, active: bool) {
        self.send_json(typing_frame(to, active)).await;
    }

    pub async fn send_json(&mut self, value: Value) {
        self.stream
            .send(Message::Text(value.to_string().into()))
            .await
            .expect("frame sent");
    }

    /// Sends the frames back to back in one write, as a client pipelining them would.
    pub async fn send_pipelined(&mut self, values: &[Value]) {
        let frames = values
            .iter()
            .map(|v| Message::Text(v.to_string().into()))
            .collect();
        self.send_frames(frames).await;
    }

    /// Sends any frames (a close among them, say) back to back in one write.
    pub async fn send_frames(&mut self, frames: Vec<Message>) {
        for frame in frames {
            self.stream.feed(frame).await.expect("frame buffered");
        }
        self.stream.flush().await.expect("frames sent");
    }

    pub async fn send_raw(&mut self, message: Message) -> Result<(), WsError> {
        self.stream.send(message).await
    }

    /// The next JSON text frame within `FRAME_WAIT` (pings and pongs are skipped); `None` if
    /// the socket closed.
    pub async fn next(&mut self) -> Option<Value> {
        self.next_within(FRAME_WAIT)
            .await
            .expect("a frame arrived in time")
    }

    /// Like `next`, but `Err(())` on timeout instead of panicking.
    pub async fn next_within(&mut self, wait: Duration) -> Result<Option<Value>, ()> {
        loop {
            match tokio::time::timeout(wait, self.stream.next()).await {
                Err(_) => return Err(()),
                Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Message::Close(_)))) => return Ok(None),
                Ok(Some(Ok(Message::Text(text)))) => {
                    return Ok(Some(
                        serde_json::from_str(text.as_str()).expect("server frames are JSON"),
                    ));
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// Skips frames until one with `"type": kind` arrives.
    pub async fn next_of(&mut self, kind: &str) -> Value {
        self.next_of_skipping(kind, |_| {}).await
    }

    /// Like [`Socket::next_of`], handing each frame skipped to `skipped` (to check it).
    pub async fn next_of_skipping(&mut self, kind: &str, mut skipped: impl FnMut(&Value)) -> Value {
        loop {
            let frame = self
                .next()
                .await
                .unwrap_or_else(|| panic!("socket closed while waiting for {kind}"));
            if frame["type"] == kind {
                return frame;
            }
            skipped(&frame);
        }
    }

    /// Sends a `ping` frame and reads up to its `pong`; returns the frames that came before it.
    pub async fn ping(&mut self) -> Vec<Value> {
        self.send_json(serde_json::json!({"type": "ping"})).await;
        let mut before = Vec::new();
        loop {
            let frame = self
                .next()
                .await
                .expect("socket closed while waiting for pong");
            if frame["type"] == "pong" {
                return before;
            }
            before.push(frame);
        }
    }

    /// Asserts nothing arrives: nothing before a `pong`, then nothing within `QUIET`.
    pub async fn assert_quiet(&mut self) {
        let before = self.ping().await;
        assert!(before.is_empty(), "unexpected frames: {before:?}");
        let late = self.next_within(QUIET).await;
        assert!(late.is_err(), "unexpected frame: {late:?}");
    }

    /// Reads the next `count` stored events (frames with a cursor), skipping presence signals.
    pub async fn stored_events(&mut self, count: usize) -> Vec<Value> {
        let mut events = Vec::new();
        while events.len() < count {
            let frame = self.next().await.expect("the socket stays open");
            if frame.get("cursor").is_some() {
                events.push(frame);
            } else {
                assert_eq!(frame["type"], "presence", "{frame}");
            }
        }
        events
    }

    /// Asserts no stored event follows (presence snapshots may), up to a pong and a quiet spell.
    pub async fn assert_no_more_events(&mut self) {
        for frame in self.ping().await {
            assert_eq!(frame["type"], "presence", "unexpected frame: {frame}");
        }
        self.assert_quiet().await;
    }

    /// Reads until the server closes; asserts a close frame came, with `code`.
    pub async fn assert_closed_with(&mut self, code: u16) {
        let close = self.closed().await.expect("a close frame");
        assert_eq!(u16::from(close.code), code, "{close:?}");
    }

    /// Reads everything until the socket ends: the JSON frames, then the close code (if any
    /// came). Each read must come within `FRAME_WAIT`.
    pub async fn drain(&mut self) -> (Vec<Value>, Option<u16>) {
        let mut frames = Vec::new();
        loop {
            let read = tokio::time::timeout(FRAME_WAIT, self.stream.next()).await;
            match read.expect("the socket ends in time") {
                Some(Ok(Message::Text(raw))) => {
                    frames.push(serde_json::from_str(raw.as_str()).expect("JSON frame"))
                }
                Some(Ok(Message::Close(close))) => {
                    return (frames, close.map(|c| u16::from(c.code)));
                }
                Some(Ok(_)) => {}
                None | Some(Err(_)) => return (frames, None),
            }
        }
    }

    /// Reads until the server closes; returns the close frame (code, reason) if one came.
    pub async fn closed(&mut self) -> Option<CloseFrame> {
        loop {
            match tokio::time::timeout(FRAME_WAIT, self.stream.next())
                .await
                .expect("socket closed in time")
            {
                Some(Ok(Message::Close(frame))) => return frame,
                None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }
}

/// Sends a WebSocket handshake with reqwest, so a refused upgrade's status and JSON body can be
/// read (`headers` carry the credentials).
pub async fn refusal(
    base: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (reqwest::StatusCode, Value) {
    let mut request = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("handshake sent");
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Like [`refusal`], with `client`'s bearer token (a `TestApp::token_client`).
pub async fn bearer_refusal(
    base: &str,
    path: &str,
    client: &Client,
) -> (reqwest::StatusCode, Value) {
    let bearer = format!("Bearer {}", token(client));
    refusal(base, path, &[("authorization", &bearer)]).await
}

/// The bearer token of a `TestApp::token_client`.
pub fn token(client: &Client) -> &str {
    client.bearer.as_deref().expect("a bearer client")
}

/// Logs `username` (password `password123`) in and returns the raw session cookie value.
pub async fn session_cookie(base: &str, username: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("{base}/api/auth/login"))
        .json(&serde_json::json!({"username": username, "password": "password123"}))
        .send()
        .await
        .expect("login sent");
    assert!(
        response.status().is_success(),
        "login {username}: {}",
        response.status()
    );
    let cookie = response
        .headers()
        .get("set-cookie")
        .expect("a session cookie")
        .to_str()
        .expect("ascii cookie");
    let value = cookie
        .split(';')
        .next()
        .and_then(|kv| kv.split_once('='))
        .map(|(_, v)| v.to_owned());
    value.expect("linkup_session=VALUE")
}
