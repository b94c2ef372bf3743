//! One WebSocket connection: replay from the cursor, then live pushes, client frames, liveness.
//!
//! The task owns the socket and its hub subscription. It subscribes *before* replaying, and
//! remembers the last cursor it sent: a pushed event at or below it is skipped (no duplicate at
//! the seam), and one above `last + 1` waits briefly for the pushes before it, then the gap
//! left is read back from the store (no loss). A `receipt` frame is stored in a task beside
//! the loop (`receipts`), so pushes keep flowing while it waits for the writer. Pushes wait in
//! a bounded queue; when it overflows, the hub drops this subscriber and the socket closes
//! with 1013 so the client reconnects with `?since`.
//!
//! An idle socket costs what its task's future reserves, so the loop keeps its waiting state
//! small: one timer for pings, typing expiry and the session's end, and the large, rarely
//! taken steps (replay, handling pushes and client frames, the opening snapshot) boxed, so
//! their space is allocated only while they run. A test bounds the future's size.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, close_code};
use futures_util::{FutureExt, SinkExt};
use tokio::time::{Instant, sleep_until, timeout};
use tokio_util::sync::CancellationToken;

use super::frames;
use crate::app::AppState;
use crate::auth::Caller;
use crate::delivery::{Push, Subscription};
use crate::domain::User;
use crate::domain::error::Error;
use crate::domain::ids::{ConversationId, Cursor, UserId};
use crate::presence;

mod inbound;
mod outbound;
mod receipts;

/// How long one outgoing frame may take before the peer is considered stuck.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// A typing indicator not refreshed for this long is withdrawn.
const TYPING_TTL: Duration = Duration::from_secs(6);
/// Consecutive rate-limited frames tolerated before closing.
const MAX_VIOLATIONS: u32 = 20;
/// Pushes taken from the queue in one turn of the loop, written out with one flush.
const PUSHES_PER_TURN: usize = 64;
/// Client frames already received taken in one turn (their sends are committed together).
const FRAMES_PER_TURN: usize = 32;
/// Close code for a credential revoked or expired (in the private-use range).
pub const CLOSE_SESSION_ENDED: u16 = 4001;
/// Close code of a group socket whose user left the group or was removed from it.
pub const CLOSE_NOT_A_MEMBER: u16 = 4003;

/// Which events a socket carries.
#[derive(Debug, Clone)]
pub enum Scope {
    /// `/ws/notifications/`: everything concerning the user.
    Everything,
    /// `/ws/chat/{username}/`: the direct conversation with `other` only, by its id; until
    /// its first message the id is unknown, and that message (the only one of the user's
    /// stream between the two) names it.
    Chat {
        other: User,
        conversation: Option<ConversationId>,
    },
    /// `/ws/groups/{id}/`: one group; the socket closes (4003) once its user leaves or is
    /// removed, right after the system message that says so.
    Group(ConversationId),
}

/// Where a typing indicator went: one person, or a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TypingTo {
    User(UserId),
    Group(ConversationId),
}

/// Why the loop ended, and what to tell the peer.
struct Ending {
    code: u16,
    reason: &'static str,
}

const SHUTTING_DOWN: Ending = Ending {
    code: close_code::AWAY,
    reason: "server shutting down",
};
const LOGGED_OUT: Ending = Ending {
    code: CLOSE_SESSION_ENDED,
    reason: "logged out",
};

pub struct Connection {
    app: AppState,
    socket: WebSocket,
    caller: Caller,
    scope: Scope,
    /// The last cursor delivered (or skipped as out of scope) on this socket.
    last: Cursor,
    /// People and groups this socket's user is typing to, with when that was last refreshed.
    typing: HashMap<TypingTo, Instant>,
    violations: u32,
    last_heard: Instant,
    /// The subscription's revocation token (logout), so a write stuck on a peer that stopped
    /// reading is abandoned at once rather than after `SEND_TIMEOUT`.
    revoked: CancellationToken,
    /// Frames written to the socket's buffer since the last flush.
    unflushed: bool,
    /// Receipt frames being stored or waiting their turn (stored beside the loop).
    receipts: receipts::Receipts,
    /// Pushed events that arrived ahead of an earlier one of the user's stream, by cursor:
    /// they wait (until `held_until`) for the earlier one's push before the gap is read back
    /// from the store (see `outbound`).
    held: BTreeMap<i64, Arc<Push>>,
    held_until: Option<Instant>,
}

impl Connection {
    pub fn new(
        app: AppState,
        socket: WebSocket,
        caller: Caller,
        scope: Scope,
        start: Cursor,
    ) -> Self {
        Connection {
            app,
            socket,
            caller,
            scope,
            last: start,
            typing: HashMap::new(),
            violations: 0,
            last_heard: Instant::now(),
            revoked: CancellationToken::new(),
            unflushed: false,
            receipts: receipts::Receipts::default(),
            held: BTreeMap::new(),
            held_until: None,
        }
    }

    /// Runs the connection to its end, then unregisters it (and announces offline if it was the
    /// user's last socket). This is the socket's whole task: everything it holds while idle is
    /// in `self` and `subscription`.
    #[expect(
        clippy::manual_async_fn,
        reason = "an `async fn` would copy its arguments into its future a second time"
    )]
    pub fn run(
        mut self,
        mut subscription: Subscription,
        first: bool,
    ) -> impl Future<Output = ()> + Send + 'static {
        async move {
            self.app.metrics.open_sockets.inc();
            self.revoked = subscription.revoked.clone();
            if first {
                presence::came_online(&self.app, &self.caller.user).await;
            }
            let outcome = match self.serve(&mut subscription).await {
                Ok(ending) | Err(ending) => ending,
            };
            self.detach_receipts();
            self.stop_all_typing().await;
            let close = WsMessage::Close(Some(CloseFrame {
                code: outcome.code,
                reason: outcome.reason.into(),
            }));
            let _ = timeout(Duration::from_secs(1), self.socket.send(close)).await;
            if subscription.finish() {
                let (app, user) = (&self.app, &self.caller.user);
                presence::went_offline(app, user).await;
                // A new socket of the user (a page reload) may have opened and announced "online"
                // while this one recorded last-seen: the last word must be the true one.
                if app.hub.count(user.id) > 0 {
                    presence::came_online(app, user).await;
                }
            }
            self.app.metrics.open_sockets.dec();
        }
    }

    async fn serve(&mut self, subscription: &mut Subscription) -> Result<Ending, Ending> {
        Box::pin(self.catch_up()).await?;
        Box::pin(self.send_presence_snapshot()).await?;
        let ping_every = self.app.settings.ws_ping_interval;
        let mut next_ping = Instant::now() + ping_every;
        let expires = self.caller.credential.expires_at().map(|at| {
            let left = (at.millis() - crate::domain::time::Timestamp::now().millis()).max(0) as u64;
            Instant::now() + Duration::from_millis(left)
        });
        let shutdown = self.app.shutdown.clone();
        loop {
            // What the last turn wrote goes out in one write before waiting again.
            self.flush().await?;
            // Checked before every wait: with several branches ready, `select!` picks one at
            // random, and no push may go out once the session ended or the server is stopping.
            if let Some(ending) = self.stopping() {
                return Ok(ending);
            }
            let typing_deadline = self.typing.values().min().map(|t| *t + TYPING_TTL);
            // One timer for the next of: ping, typing expiry, session expiry, the wait for a
            // gap in the pushed events to fill.
            let wake = [expires, typing_deadline, self.held_until]
                .into_iter()
                .flatten()
                .fold(next_ping, Instant::min);
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(SHUTTING_DOWN),
                _ = subscription.revoked.cancelled() => return Ok(LOGGED_OUT),
                push = subscription.pushes.recv() => match push {
                    Some(push) => Box::pin(self.on_pushes(push, subscription)).await?,
                    None => return Ok(Ending { code: close_code::AGAIN, reason: "too slow: reconnect with ?since=<last cursor>" }),
                },
                frame = self.socket.recv() => match frame {
                    Some(Ok(frame)) => {
                        self.last_heard = Instant::now();
                        let (frames, end) = self.received_with(frame);
                        Box::pin(self.on_frames(frames)).await?;
                        if let Some(end) = end {
                            return Err(end);
                        }
                        // A send's own `message` event (and a receipt's `status`) is queued by
                        // now: it leaves in the same write as the ack.
                        Box::pin(self.drain_pushes(subscription, 0)).await?;
                    }
                    Some(Err(err)) => return Err(read_error(&err)),
                    None => return Err(Ending { code: close_code::NORMAL, reason: "" }),
                },
                stored = receipts::stored(&mut self.receipts), if self.receipts.storing() => {
                    Box::pin(self.on_receipt_stored(stored)).await?;
                    // Its `status` events are queued by now: they leave in this turn's write.
                    Box::pin(self.drain_pushes(subscription, 0)).await?;
                }
                () = sleep_until(wake) => {
                    let now = Instant::now();
                    if expires.is_some_and(|at| at <= now) {
                        return Ok(Ending { code: CLOSE_SESSION_ENDED, reason: "session expired" });
                    }
                    if self.held_until.is_some_and(|at| at <= now) {
                        Box::pin(self.fill_gap()).await?;
                    }
                    if typing_deadline.is_some_and(|at| at <= now) {
                        Box::pin(self.expire_typing()).await;
                    }
                    if next_ping <= now {
                        if self.last_heard.elapsed() > ping_every * 2 {
                            return Err(Ending { code: close_code::POLICY, reason: "no answer to pings" });
                        }
                        Box::pin(self.send(WsMessage::Ping(Default::default()))).await?;
                        next_ping = now + ping_every;
                    }
                }
            }
        }
    }

    /// `first` and the frames that have already arrived behind it (without waiting), and how
    /// the connection ends if the peer closed or broke it right after them.
    fn received_with(&mut self, first: WsMessage) -> (Vec<WsMessage>, Option<Ending>) {
        let mut frames = vec![first];
        while frames.len() < FRAMES_PER_TURN {
            match self.socket.recv().now_or_never() {
                Some(Some(Ok(frame))) => frames.push(frame),
                Some(Some(Err(err))) => return (frames, Some(read_error(&err))),
                Some(None) => {
                    let end = Ending {
                        code: close_code::NORMAL,
                        reason: "",
                    };
                    return (frames, Some(end));
                }
                None => break,
            }
        }
        (frames, None)
    }

    /// Why the connection must end now regardless of the peer, if it must.
    fn stopping(&self) -> Option<Ending> {
        if self.app.shutdown.is_cancelled() {
            Some(SHUTTING_DOWN)
        } else if self.revoked.is_cancelled() {
            Some(LOGGED_OUT)
        } else {
            None
        }
    }

    /// Writes one frame into the socket's buffer; the loop flushes once per turn, so the frames
    /// of one turn leave in one write. Gives up like `flush`.
    async fn send(&mut self, message: WsMessage) -> Result<(), Ending> {
        self.unflushed = true;
        let (shutdown, revoked) = (self.app.shutdown.clone(), self.revoked.clone());
        let sent = tokio::select! {
            sent = timeout(SEND_TIMEOUT, self.socket.feed(message)) => sent,
            () = shutdown.cancelled() => return Err(SHUTTING_DOWN),
            () = revoked.cancelled() => return Err(LOGGED_OUT),
        };
        write_outcome(sent)
    }

    /// Sends what is buffered; gives up when the peer stops reading, the session ends or the
    /// server stops (a write blocked on a full socket must not hold up logout or shutdown).
    async fn flush(&mut self) -> Result<(), Ending> {
        if !self.unflushed {
            return Ok(());
        }
        let (shutdown, revoked) = (self.app.shutdown.clone(), self.revoked.clone());
        let sent = tokio::select! {
            sent = timeout(SEND_TIMEOUT, SinkExt::<WsMessage>::flush(&mut self.socket)) => sent,
            () = shutdown.cancelled() => return Err(SHUTTING_DOWN),
            () = revoked.cancelled() => return Err(LOGGED_OUT),
        };
        self.unflushed = false;
        write_outcome(sent)
    }

    async fn send_text(&mut self, text: String) -> Result<(), Ending> {
        self.send(WsMessage::Text(text.into())).await
    }

    async fn send_error(&mut self, error: &Error, client_id: Option<&str>) -> Result<(), Ending> {
        self.send_text(frames::error_text(error, client_id)).await
    }
}

/// Maps the outcome of a write (or its timeout) to how the connection goes on.
fn write_outcome(
    sent: Result<Result<(), axum::Error>, tokio::time::error::Elapsed>,
) -> Result<(), Ending> {
    match sent {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(Ending {
            code: close_code::ABNORMAL,
            reason: "",
        }),
        Err(_) => Err(Ending {
            code: close_code::AGAIN,
            reason: "peer stopped reading",
        }),
    }
}

/// Maps a read failure to a close: an oversized frame is 1009, a text frame that is not UTF-8
/// 1007, anything else a protocol error (1002).
fn read_error(err: &axum::Error) -> Ending {
    // tungstenite's errors reach us wrapped, and in another version than the tests' client:
    // they are told apart by their words ("Space limit exceeded", "UTF-8 encoding error").
    let words = err.to_string();
    if words.contains("Space limit exceeded") {
        Ending {
            code: close_code::SIZE,
            reason: "frame over 64 KiB",
        }
    } else if words.contains("UTF-8") {
        Ending {
            code: close_code::INVALID,
            reason: "text frame is not UTF-8",
        }
    } else {
        Ending {
            code: close_code::PROTOCOL,
            reason: "protocol error",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size of the future an async function with three arguments returns.
    fn future_size<A, B, C, F: Future>(_: impl FnOnce(A, B, C) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    /// Every idle socket holds one of these futures: a branch of the loop that keeps a large
    /// future inline (unboxed) grows them all.
    #[test]
    fn an_idle_connection_stays_small() {
        let run = future_size(Connection::run);
        assert!(run <= 1536, "the connection future takes {run} bytes");
    }
}
