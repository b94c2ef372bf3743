//! One WebSocket connection: replay from the cursor, then live pushes, client frames, liveness.
//!
//! The task owns the socket and its hub subscription. It subscribes *before* replaying, and
//! remembers the last cursor it sent: a pushed event at or below it is skipped (no duplicate at
//! the seam), and one above `last + 1` means something was missed, so the gap is read back from
//! the store first (no loss). Pushes wait in a bounded queue; when it overflows, the hub drops
//! this subscriber and the socket closes with 1013 so the client reconnects with `?since`.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, close_code};
use futures_util::{FutureExt, SinkExt};
use tokio::time::{Instant, sleep_until, timeout};
use tokio_util::sync::CancellationToken;

use super::frames;
use crate::app::AppState;
use crate::auth::Caller;
use crate::delivery::Subscription;
use crate::error::Error;
use crate::events::{Ephemeral, Event, Push};
use crate::ids::{ConversationId, Cursor, UserId};
use crate::presence;
use crate::store::User;

mod inbound;

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

/// Which events a socket carries.
#[derive(Debug, Clone)]
pub enum Scope {
    /// `/ws/notifications/`: everything concerning the user.
    Everything,
    /// `/ws/chat/{username}/`: the conversation with `other` only.
    Chat {
        other: User,
        conversation: Option<ConversationId>,
    },
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
    /// People this socket's user is typing to, with when that was last refreshed.
    typing: HashMap<UserId, Instant>,
    violations: u32,
    last_heard: Instant,
    /// The subscription's revocation token (logout), so a write stuck on a peer that stopped
    /// reading is abandoned at once rather than after `SEND_TIMEOUT`.
    revoked: CancellationToken,
    /// Frames written to the socket's buffer since the last flush.
    unflushed: bool,
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
        }
    }

    /// Runs the connection to its end, then unregisters it (and announces offline if it was the
    /// user's last socket).
    pub async fn run(mut self, mut subscription: Subscription, first: bool) {
        let user = self.caller.user.clone();
        self.revoked = subscription.revoked.clone();
        if first {
            presence::came_online(&self.app, &user).await;
        }
        let ending = self.serve(&mut subscription).await;
        let outcome = match ending {
            Ok(ending) | Err(ending) => ending,
        };
        self.stop_all_typing().await;
        let _ = timeout(
            Duration::from_secs(1),
            self.socket.send(WsMessage::Close(Some(CloseFrame {
                code: outcome.code,
                reason: outcome.reason.into(),
            }))),
        )
        .await;
        if subscription.finish() {
            presence::went_offline(&self.app, &user).await;
            // A new socket of the user (a page reload) may have opened and announced "online"
            // while this one recorded last-seen: the last word must be the true one.
            if self.app.hub.count(user.id) > 0 {
                presence::came_online(&self.app, &user).await;
            }
        }
    }

    async fn serve(&mut self, subscription: &mut Subscription) -> Result<Ending, Ending> {
        self.catch_up().await?;
        self.send_presence_snapshot().await?;
        let ping_every = self.app.settings.ws_ping_interval;
        let mut next_ping = Instant::now() + ping_every;
        let expires = self.caller.credential.expires_at().map(|at| {
            let left = (at.millis() - crate::time::Timestamp::now().millis()).max(0) as u64;
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
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(SHUTTING_DOWN),
                _ = subscription.revoked.cancelled() => return Ok(LOGGED_OUT),
                _ = sleep_until(expires.unwrap_or(next_ping)), if expires.is_some() => {
                    return Ok(Ending { code: CLOSE_SESSION_ENDED, reason: "session expired" })
                }
                push = subscription.pushes.recv() => match push {
                    Some(push) => {
                        self.on_push(&push).await?;
                        self.drain_pushes(subscription, 1).await?;
                    }
                    None => return Ok(Ending { code: close_code::AGAIN, reason: "too slow: reconnect with ?since=<last cursor>" }),
                },
                frame = self.socket.recv() => match frame {
                    Some(Ok(frame)) => {
                        self.last_heard = Instant::now();
                        let (frames, end) = self.received_with(frame);
                        self.on_frames(frames).await?;
                        if let Some(end) = end {
                            return Err(end);
                        }
                        // A send's own `message` event (and a receipt's `status`) is queued by
                        // now: it leaves in the same write as the ack.
                        self.drain_pushes(subscription, 0).await?;
                    }
                    Some(Err(err)) => return Err(read_error(&err)),
                    None => return Err(Ending { code: close_code::NORMAL, reason: "" }),
                },
                _ = sleep_until(next_ping) => {
                    if self.last_heard.elapsed() > ping_every * 2 {
                        return Err(Ending { code: close_code::POLICY, reason: "no answer to pings" });
                    }
                    self.send(WsMessage::Ping(Default::default())).await?;
                    next_ping = Instant::now() + ping_every;
                }
                _ = sleep_until(typing_deadline.unwrap_or(next_ping)), if typing_deadline.is_some() => {
                    self.expire_typing().await;
                }
            }
        }
    }

    /// Handles the pushes already queued, up to a turn's worth (`handled` of which this turn
    /// has handled already).
    async fn drain_pushes(
        &mut self,
        subscription: &mut Subscription,
        handled: usize,
    ) -> Result<(), Ending> {
        for _ in handled..PUSHES_PER_TURN {
            if self.stopping().is_some() {
                break;
            }
            match subscription.pushes.try_recv() {
                Ok(push) => self.on_push(&push).await?,
                Err(_) => break,
            }
        }
        Ok(())
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

    /// Sends every stored event after `last`, from the store.
    async fn catch_up(&mut self) -> Result<(), Ending> {
        loop {
            let page = self
                .app
                .store
                .events_since(self.caller.user.id, self.last, 500)
                .await
                .map_err(|_| Ending {
                    code: close_code::ERROR,
                    reason: "store unavailable; reconnect",
                })?;
            for event in &page.events {
                self.emit(event).await?;
            }
            if !page.has_more {
                return Ok(());
            }
        }
    }

    async fn on_push(&mut self, push: &Push) -> Result<(), Ending> {
        match push {
            Push::Stored(event) => {
                let cursor = event.cursor();
                if cursor <= self.last {
                    return Ok(());
                }
                if cursor.0 > self.last.0 + 1 {
                    // Something this socket has not seen committed before `event`: read it back.
                    self.catch_up().await?;
                    if cursor <= self.last {
                        return Ok(());
                    }
                }
                self.emit(event).await
            }
            Push::Signal(signal) if self.in_scope_signal(signal) => {
                let text = serde_json::to_string(signal).unwrap_or_default();
                self.send_text(text).await
            }
            Push::Signal(_) => Ok(()),
            Push::Resync => self.catch_up().await,
        }
    }

    /// Sends a stored event if this socket's scope covers it; advances the cursor either way.
    async fn emit(&mut self, event: &Event) -> Result<(), Ending> {
        self.last = event.cursor();
        if !self.in_scope(event) {
            return Ok(());
        }
        let text = serde_json::to_string(event).unwrap_or_default();
        self.send_text(text).await
    }

    fn in_scope(&mut self, event: &Event) -> bool {
        let Scope::Chat {
            other,
            conversation,
        } = &mut self.scope
        else {
            return true;
        };
        match event {
            Event::Message { message, .. } => {
                let ours = message.sender == other.username || message.recipient == other.username;
                if ours {
                    *conversation = Some(message.conversation_id);
                }
                ours
            }
            Event::Status {
                conversation_id, ..
            } => *conversation == Some(*conversation_id),
        }
    }

    fn in_scope_signal(&self, signal: &Ephemeral) -> bool {
        let Scope::Chat { other, .. } = &self.scope else {
            return true;
        };
        match signal {
            Ephemeral::Typing { from, .. } => *from == other.username,
            Ephemeral::Presence { user, .. } => *user == other.username,
        }
    }

    async fn send_presence_snapshot(&mut self) -> Result<(), Ending> {
        let only = match &self.scope {
            Scope::Everything => None,
            Scope::Chat { other, .. } => Some(other.id),
        };
        let snapshot = presence::snapshot(&self.app, &self.caller.user, only)
            .await
            .unwrap_or_default();
        for signal in snapshot {
            self.send_text(serde_json::to_string(&signal).unwrap_or_default())
                .await?;
        }
        Ok(())
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

/// Maps a read failure to a close: an oversized frame is 1009, anything else abnormal.
fn read_error(err: &axum::Error) -> Ending {
    // tungstenite reports an over-long message or frame as a capacity error.
    if err.to_string().contains("Space limit exceeded") {
        Ending {
            code: close_code::SIZE,
            reason: "frame over 64 KiB",
        }
    } else {
        Ending {
            code: close_code::PROTOCOL,
            reason: "protocol error",
        }
    }
}
