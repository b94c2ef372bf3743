//! Client WebSockets: opened from a chosen source address (so one run can hold more sockets
//! than one address has ports), and the server frames the bench reads, decoded without copying.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};

use anyhow::Context;
use futures_util::{SinkExt, StreamExt, TryStreamExt, stream};
use serde::Deserialize;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::Target;
use super::users::BenchUser;

/// Sockets opened at once while setting up.
const CONNECT_CONCURRENCY: usize = 64;

pub type Ws = WebSocketStream<TcpStream>;

/// Opens `/ws/notifications/` for `token`, replaying from `since` when given.
pub async fn notifications(
    target: &Target,
    token: &str,
    since: Option<i64>,
    source: Option<IpAddr>,
) -> anyhow::Result<Ws> {
    let mut path = format!("/ws/notifications/?access_token={token}");
    if let Some(since) = since {
        path.push_str(&format!("&since={since}"));
    }
    open(target, &path, source).await
}

/// Opens a notifications socket for each of `people` (replaying from `since[i]` when given) and
/// waits until the server serves it; the `i`-th takes source address `offset + i` of `total`.
pub async fn open_all(
    target: &Target,
    people: &[BenchUser],
    since: Option<&[i64]>,
    offset: usize,
    total: usize,
) -> anyhow::Result<Vec<Ws>> {
    stream::iter(people.iter().enumerate())
        .map(|(i, user)| {
            let from = since.map(|s| s[i]);
            let source = target.source_for(offset + i, total);
            async move {
                let mut ws = notifications(target, &user.token, from, source).await?;
                ready(&mut ws).await?;
                Ok::<_, anyhow::Error>(ws)
            }
        })
        .buffered(CONNECT_CONCURRENCY)
        .try_collect()
        .await
}

/// Opens `path` on the target over a TCP connection bound to `source` (if any).
pub async fn open(target: &Target, path: &str, source: Option<IpAddr>) -> anyhow::Result<Ws> {
    let addr = target.addr;
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    }
    .context("creating a socket (out of file descriptors?)")?;
    if let Some(source) = source {
        socket
            .bind(SocketAddr::new(source, 0))
            .with_context(|| format!("binding to {source}"))?;
    }
    let stream = socket
        .connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    let url = format!("{}{}", target.ws_base, path);
    let config = WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .write_buffer_size(0);
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(config))
        .await
        .map_err(|e| anyhow::anyhow!("WebSocket handshake: {e}"))?;
    Ok(ws)
}

/// Waits until the server has finished opening the socket (replay, presence) and reads its
/// frames: a `ping` answered by `pong`. Without it the first seconds of a run with thousands of
/// fresh sockets would measure the server's set-up backlog, not its steady state.
pub async fn ready(ws: &mut Ws) -> anyhow::Result<()> {
    send_text(ws, r#"{"type":"ping"}"#.to_owned()).await?;
    let wait = async {
        loop {
            match read(ws).await {
                Read::Text(text) if Frame::parse(&text).is_some_and(|f| f.kind == "pong") => {
                    return Ok(());
                }
                Read::Closed(code) => anyhow::bail!("the socket closed ({code:?}) while opening"),
                _ => {}
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(60), wait)
        .await
        .context("no pong within a minute")?
}

/// Sends one text frame.
pub async fn send_text(ws: &mut Ws, text: String) -> anyhow::Result<()> {
    ws.send(WsMessage::Text(text.into()))
        .await
        .context("sending a frame")
}

/// Closes the socket, waiting at most a second for the server's answer.
pub async fn close(mut ws: Ws) {
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), ws.close(None)).await;
}

/// What came out of a socket read.
pub enum Read {
    Text(tokio_tungstenite::tungstenite::Utf8Bytes),
    /// The server closed the socket (with its close code when it sent one).
    Closed(Option<u16>),
    /// Pings, pongs and binary frames: nothing for the bench.
    Other,
}

/// Reads the next frame.
pub async fn read(ws: &mut Ws) -> Read {
    match ws.next().await {
        Some(Ok(WsMessage::Text(text))) => Read::Text(text),
        Some(Ok(WsMessage::Close(frame))) => Read::Closed(frame.map(|f| u16::from(f.code))),
        Some(Ok(_)) => Read::Other,
        None | Some(Err(_)) => Read::Closed(None),
    }
}

/// A server frame, decoded only as far as the bench needs.
#[derive(Debug, Deserialize)]
pub struct Frame<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    #[serde(borrow, default)]
    pub client_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub message: Option<MessageFrame<'a>>,
    #[serde(borrow, default)]
    pub code: Option<Cow<'a, str>>,
    #[serde(default)]
    pub cursor: Option<i64>,
}

/// The parts of a message object the bench reads.
#[derive(Debug, Deserialize)]
pub struct MessageFrame<'a> {
    pub id: i64,
    pub conversation_id: i64,
    #[serde(borrow)]
    pub sender: Cow<'a, str>,
    /// The other party of a direct conversation; `null` in a group.
    #[serde(borrow, default)]
    pub recipient: Option<Cow<'a, str>>,
    /// `null` on a group's system messages.
    #[serde(borrow, default)]
    pub client_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub body: Cow<'a, str>,
}

/// An error frame, whose `message` is text rather than a message object.
#[derive(Debug, Deserialize)]
struct ErrorFrame<'a> {
    #[serde(borrow, default)]
    client_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    code: Cow<'a, str>,
}

impl<'a> Frame<'a> {
    pub fn parse(text: &'a str) -> Option<Frame<'a>> {
        serde_json::from_str(text).ok().or_else(|| {
            let error: ErrorFrame<'a> = serde_json::from_str(text).ok()?;
            Some(Frame {
                kind: Cow::Borrowed("error"),
                client_id: error.client_id,
                message: None,
                code: Some(error.code),
                cursor: None,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_frames_it_needs() {
        let ack = r#"{"type":"ack","client_id":"r1-7","message":{"id":5,"seq":1,"conversation_id":1,"sender":"a","recipient":"b","client_id":"r1-7","body":"123 x","created_at":"2026-01-01T00:00:00Z","status":"sent","edited_at":null,"deleted":false}}"#;
        let frame = Frame::parse(ack).unwrap();
        assert_eq!(frame.kind, "ack");
        assert_eq!(frame.client_id.as_deref(), Some("r1-7"));
        let message = frame.message.unwrap();
        assert_eq!((message.id, message.recipient.as_deref()), (5, Some("b")));
        let group = r#"{"type":"message","cursor":9,"message":{"id":6,"seq":2,"conversation_id":4,"kind":"text","sender":"a","recipient":null,"client_id":"r1-8","body":"9 x","status":"sent","delivered_count":0,"read_count":0}}"#;
        let message = Frame::parse(group).unwrap().message.unwrap();
        assert_eq!((message.conversation_id, message.recipient), (4, None));
        let system = r#"{"type":"message","cursor":1,"message":{"id":1,"seq":1,"conversation_id":4,"kind":"system","sender":"a","recipient":null,"client_id":null,"body":"a created the group","status":null}}"#;
        assert_eq!(
            Frame::parse(system).unwrap().message.unwrap().client_id,
            None
        );
        let status = r#"{"type":"status","cursor":3,"conversation_id":1,"message_ids":[1],"status":"delivered","by":"b","at":"x"}"#;
        let frame = Frame::parse(status).unwrap();
        assert_eq!((&*frame.kind, frame.cursor), ("status", Some(3)));
        let error =
            r#"{"type":"error","code":"rate_limited","message":"slow \"down\"","client_id":"c"}"#;
        assert_eq!(
            Frame::parse(error).unwrap().code.as_deref(),
            Some("rate_limited")
        );
    }
}
