//! Followers: one `/ws/notifications/` socket per person that reconnects (to the next live
//! node, with `?since=<last cursor>`) whenever it is closed, and records every stored event it
//! is given, so a test can check the whole stream a client saw across reconnects.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_util::sync::CancellationToken;

use super::cluster::{Nodes, Person};
use crate::process::STARTUP;
use crate::socket::{FRAME_WAIT, Socket};

/// A person's socket, followed across reconnects.
pub struct Follower {
    /// The last cursor received.
    seen: watch::Receiver<i64>,
    task: JoinHandle<Followed>,
}

/// What a follower received.
#[derive(Debug, Default)]
pub struct Followed {
    /// Every frame with a cursor, in arrival order, over all connections.
    pub events: Vec<Value>,
    /// Sockets opened (1 + reconnects).
    pub connections: usize,
    /// Anything a client should never see: error frames, refused upgrades other than 503.
    pub oddities: Vec<String>,
}

impl Follower {
    /// Follows `person` from cursor 0, starting on their home node, until `stop`.
    pub fn start(nodes: Arc<Nodes>, person: &Person, stop: CancellationToken) -> Follower {
        let (progress, seen) = watch::channel(0);
        let task = tokio::spawn(follow(
            nodes,
            person.token.clone(),
            person.home,
            progress,
            stop,
        ));
        Follower { seen, task }
    }

    /// Waits until cursor `last` has arrived (or `deadline` passes); true if it did.
    pub async fn reached(&mut self, last: i64, deadline: tokio::time::Instant) -> bool {
        let waited = tokio::time::timeout_at(deadline, self.seen.wait_for(|c| *c >= last)).await;
        waited.is_ok_and(|guard| guard.is_ok())
    }

    /// Its record, once its `stop` token is cancelled.
    pub async fn finish(self) -> Followed {
        self.task.await.expect("follower task")
    }
}

/// Why a socket could not be opened.
enum Refused {
    Status(u16),
    Transport(String),
}

async fn open(base: &str, since: i64, token: &str) -> Result<Socket, Refused> {
    let ws = base.replacen("http://", "ws://", 1);
    let url = format!("{ws}/ws/notifications/?since={since}");
    let mut request = url.into_client_request().expect("valid ws url");
    let bearer = HeaderValue::from_str(&format!("Bearer {token}")).expect("header value");
    request.headers_mut().insert("authorization", bearer);
    match tokio::time::timeout(FRAME_WAIT, connect_async(request)).await {
        Ok(Ok((stream, _))) => Ok(Socket { stream }),
        Ok(Err(WsError::Http(response))) => Err(Refused::Status(response.status().as_u16())),
        Ok(Err(err)) => Err(Refused::Transport(err.to_string())),
        Err(_) => Err(Refused::Transport("upgrade timed out".into())),
    }
}

/// The follower task: (re)connects with `?since=<last cursor>` until `stop`.
async fn follow(
    nodes: Arc<Nodes>,
    token: String,
    home: usize,
    progress: watch::Sender<i64>,
    stop: CancellationToken,
) -> Followed {
    let mut followed = Followed::default();
    let (mut node, mut last, mut refusals) = (home, 0, 0u64);
    while !stop.is_cancelled() {
        node = nodes.pick(node);
        let mut socket = match open(&nodes.url(node), last, &token).await {
            Ok(socket) => socket,
            Err(refused) => {
                match refused {
                    // The store is unreachable for a moment: try again.
                    Refused::Status(503) => {}
                    Refused::Status(status) => {
                        followed
                            .oddities
                            .push(format!("upgrade on node {node}: {status}"));
                    }
                    // The node died after it was chosen.
                    Refused::Transport(_) if !nodes.is_up(node) => {}
                    Refused::Transport(err) => {
                        followed
                            .oddities
                            .push(format!("upgrade on node {node}: {err}"));
                    }
                }
                refusals += 1;
                assert!(refusals < 200, "a socket could not reconnect: {followed:?}");
                tokio::time::sleep(Duration::from_millis(25 * refusals.min(8))).await;
                node = nodes.after(node);
                continue;
            }
        };
        followed.connections += 1;
        loop {
            let frame = tokio::select! {
                _ = stop.cancelled() => return followed,
                frame = socket.next_within(STARTUP) => frame,
            };
            match frame {
                Ok(Some(frame)) => {
                    if let Some(cursor) = frame["cursor"].as_i64() {
                        last = last.max(cursor);
                        followed.events.push(frame);
                        progress.send_replace(last);
                    } else if frame["type"] == "error" {
                        followed.oddities.push(frame.to_string());
                    }
                }
                // Closed (the node died, the store failed, or the queue overflowed).
                Ok(None) => break,
                // Quiet for a while: keep listening.
                Err(()) => {}
            }
        }
        node = nodes.after(node);
    }
    followed
}
