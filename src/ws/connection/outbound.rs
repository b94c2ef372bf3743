//! What the server sends on a socket: the replay from the cursor, live pushes in cursor order
//! (a gap read back from the store first), the signals and events this socket's scope covers,
//! and the presence snapshot it opens with.

use axum::extract::ws::close_code;

use super::{CLOSE_NOT_A_MEMBER, Connection, Ending, PUSHES_PER_TURN, Scope};
use crate::delivery::Push;
use crate::delivery::Subscription;
use crate::domain::event::{Ephemeral, Event};
use crate::{presence, sync};

impl Connection {
    /// Handles `first` and the pushes already queued behind it, up to a turn's worth.
    pub(super) async fn on_pushes(
        &mut self,
        first: &Push,
        subscription: &mut Subscription,
    ) -> Result<(), Ending> {
        self.on_push(first).await?;
        self.drain_pushes(subscription, 1).await
    }

    /// Handles the pushes already queued, up to a turn's worth (`handled` of which this turn
    /// has handled already).
    pub(super) async fn drain_pushes(
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

    /// Sends every stored event after `last`, from the store.
    pub(super) async fn catch_up(&mut self) -> Result<(), Ending> {
        loop {
            let page = sync::catch_up(&self.app, &self.caller.user, self.last, 500)
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
                if self.last.0.checked_add(1) != Some(cursor.0) {
                    // Something this socket has not seen committed before `event`: read it back.
                    self.catch_up().await?;
                    if cursor <= self.last {
                        return Ok(());
                    }
                    // Past the end of the stream the store has: not a stored event (a forged or
                    // garbled bus message). The store is the truth; `last` does not move.
                    tracing::warn!(
                        cursor = cursor.0,
                        last = self.last.0,
                        "dropped a pushed event the store does not have"
                    );
                    return Ok(());
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
        self.send_text(text).await?;
        if self.ends_scope(event) {
            return Err(Ending {
                code: CLOSE_NOT_A_MEMBER,
                reason: "no longer a member of this group",
            });
        }
        Ok(())
    }

    fn in_scope(&mut self, event: &Event) -> bool {
        let event_conversation = event.conversation_id();
        match &mut self.scope {
            Scope::Everything => true,
            Scope::Group(id) => *id == event_conversation,
            Scope::Chat {
                conversation: Some(id),
                ..
            } => *id == event_conversation,
            Scope::Chat {
                other,
                conversation,
            } => {
                // Until the chat's first message names its id: a direct message between the two.
                let ours = matches!(event, Event::Message { message, .. }
                    if message.recipient.is_some()
                        && (message.sender == other.username
                            || message.recipient.as_deref() == Some(other.username.as_str())));
                if ours {
                    *conversation = Some(event_conversation);
                }
                ours
            }
        }
    }

    /// Whether a stored event ends this socket: on a group socket, the system message that
    /// removes its user or records that they left (sent first; then the socket closes, 4003).
    fn ends_scope(&self, event: &Event) -> bool {
        let (Scope::Group(id), Event::Message { message, .. }) = (&self.scope, event) else {
            return false;
        };
        let me = &self.caller.user.username;
        message.conversation_id == *id
            && message.system.as_ref().is_some_and(|record| {
                (record.event == "member_removed" && record.targets.contains(me))
                    || (record.event == "member_left" && record.actor == *me)
            })
    }

    fn in_scope_signal(&self, signal: &Ephemeral) -> bool {
        match (&self.scope, signal) {
            (Scope::Everything, _) => true,
            (
                Scope::Chat { other, .. },
                Ephemeral::Typing {
                    from,
                    conversation_id,
                    ..
                },
            ) => conversation_id.is_none() && *from == other.username,
            (Scope::Chat { other, .. }, Ephemeral::Presence { user, .. }) => {
                *user == other.username
            }
            (
                Scope::Group(id),
                Ephemeral::Typing {
                    conversation_id, ..
                },
            ) => *conversation_id == Some(*id),
            (Scope::Group(_), Ephemeral::Presence { .. }) => false,
        }
    }

    pub(super) async fn send_presence_snapshot(&mut self) -> Result<(), Ending> {
        let only = match &self.scope {
            Scope::Everything => None,
            Scope::Chat { other, .. } => Some(other.id),
            Scope::Group(_) => return Ok(()),
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
