//! A WebSocket test client: connects like a real client, reads frames with deadlines.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

use crate::support::Client;

/// How long a test waits for a frame it expects.
pub const FRAME_WAIT: Duration = Duration::from_secs(5);

/// How long a test listens to conclude that nothing (more) is coming.
pub const QUIET: Duration = Duration::from_millis(250);

/// How a test socket authenticates.
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

impl Socket {
    pub async fn send_json(&mut self, value: Value) {
        self.stream
            .send(Message::Text(value.to_string().into()))
            .await
            .expect("frame sent");
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
        loop {
            let frame = self
                .next()
                .await
                .unwrap_or_else(|| panic!("socket closed while waiting for {kind}"));
            if frame["type"] == kind {
                return frame;
            }
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
