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

/// How long a test waits for a frame it expects.
pub const FRAME_WAIT: Duration = Duration::from_secs(5);

/// How a test socket authenticates.
pub enum Auth<'a> {
    Bearer(&'a str),
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
