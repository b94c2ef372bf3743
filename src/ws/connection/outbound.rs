//! What the server sends on a socket: the replay from the cursor, live pushes in cursor order,
//! the signals and events this socket's scope covers, and the presence snapshot it opens with.
//!
//! Pushes of one user's stream can arrive out of cursor order: two commits (a send and a
//! receipt, say) are published by the tasks that made them, whichever runs first. An event
//! ahead of the next cursor is held for up to `GAP_WAIT` for the earlier ones' pushes; only if
//! they do not come (a node that died between commit and publish, a lost bus message) is the
//! gap read back from the store. Either way nothing is skipped and nothing goes out twice.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::close_code;
use tokio::time::Instant;

use super::{CLOSE_NOT_A_MEMBER, Connection, Ending, PUSHES_PER_TURN, Scope};
use crate::delivery::Push;
use crate::delivery::Subscription;
use crate::domain::event::{Ephemeral, Event};
use crate::{presence, sync};

/// How long a pushed event ahead of the next cursor waits for the earlier ones' pushes before
/// the gap is read back from the store.
const GAP_WAIT: Duration = Duration::from_millis(25);
/// Events held at most, waiting for a gap to fill (more: read the gap back at once).
const MAX_HELD: usize = 256;

impl Connection {
    /// Handles `first` and the pushes already queued behind it, up to a turn's worth.
    pub(super) async fn on_pushes(
        &mut self,
        first: Arc<Push>,
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
                Some(push) => self.on_push(push).await?,
                None => break,
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
                self.emit(event, None).await?;
            }
            if !page.has_more {
                return Ok(());
            }
        }
    }

    async fn on_push(&mut self, push: Arc<Push>) -> Result<(), Ending> {
        match &*push {
            Push::Stored(event, json) => {
                let cursor = event.cursor();
                if cursor <= self.last {
                    return Ok(());
                }
                if self.last.0.checked_add(1) != Some(cursor.0) {
                    // Something committed before `event` has not been pushed here yet: hold
                    // `event` until it is (or the wait ends and the gap is read back).
                    self.held.insert(cursor.0, push.clone());
                    if self.held.len() > MAX_HELD {
                        return self.fill_gap().await;
                    }
                    self.held_until
                        .get_or_insert_with(|| Instant::now() + GAP_WAIT);
                    return Ok(());
                }
                self.emit(event, json.as_deref()).await?;
                self.release_held().await
            }
            Push::Signal(signal) if self.in_scope_signal(signal) => {
                let text = serde_json::to_string(signal).unwrap_or_default();
                self.send_text(text).await
            }
            Push::Signal(_) => Ok(()),
            Push::Resync => self.fill_gap().await,
        }
    }

    /// Sends the held events that now follow on from `last`, and forgets those at or below it.
    async fn release_held(&mut self) -> Result<(), Ending> {
        while let Some(entry) = self.held.first_entry() {
            let cursor = *entry.key();
            if cursor > self.last.0 && self.last.0.checked_add(1) != Some(cursor) {
                break;
            }
            let push = entry.remove();
            if let (true, Push::Stored(event, json)) = (cursor > self.last.0, &*push) {
                self.emit(event, json.as_deref()).await?;
            }
        }
        if self.held.is_empty() {
            self.held_until = None;
        }
        Ok(())
    }

    /// Reads the gap before the held events back from the store (the pushes that would fill it
    /// did not come), then sends what follows on.
    pub(super) async fn fill_gap(&mut self) -> Result<(), Ending> {
        self.catch_up().await?;
        self.release_held().await?;
        // Held events were committed before they were pushed, so the store had them: any still
        // held lie past the end of the stream it has (a forged or garbled bus message). The
        // store is the truth; `last` does not move.
        if let Some((cursor, _)) = self.held.last_key_value() {
            tracing::warn!(
                cursor,
                last = self.last.0,
                held = self.held.len(),
                "dropped pushed events the store does not have"
            );
        }
        self.held.clear();
        self.held_until = None;
        Ok(())
    }

    /// Sends a stored event if this socket's scope covers it; advances the cursor either way.
    /// `message_json`, when given, is the JSON of its message, made once for every member it
    /// went to (see `Push`).
    async fn emit(&mut self, event: &Event, message_json: Option<&str>) -> Result<(), Ending> {
        self.last = event.cursor();
        if !self.in_scope(event) {
            return Ok(());
        }
        let text = frame_text(event, message_json);
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

/// The text of `event`'s frame. A message event whose message's JSON was made once for every
/// member it goes to is put together around it, with this socket's cursor: the same JSON value
/// `serde_json` makes of the whole event, without serialising the message again.
fn frame_text(event: &Event, message_json: Option<&str>) -> String {
    match (event, message_json) {
        (Event::Message { cursor, .. }, Some(message)) => {
            format!(
                r#"{{"type":"message","cursor":{},"message":{message}}}"#,
                cursor.0
            )
        }
        _ => serde_json::to_string(event).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Message;
    use crate::domain::ids::Cursor;

    fn message() -> Message {
        serde_json::from_value(serde_json::json!({
            "id": 7, "seq": 3, "conversation_id": 2, "kind": "text", "sender": "ann",
            "recipient": null, "client_id": "c-1", "body": "quote \" and \\ and é ✓",
            "created_at": "2023-11-14T22:13:20Z", "status": "sent", "edited_at": null,
            "deleted": false, "deleted_by": null, "reply_to": null, "system": null
        }))
        .expect("a message")
    }

    #[test]
    fn a_shared_message_frame_is_the_events_own_json() {
        let event = Event::Message {
            cursor: Cursor(41),
            message: message(),
        };
        let shared = serde_json::to_string(&message()).unwrap();
        let put_together: serde_json::Value =
            serde_json::from_str(&frame_text(&event, Some(&shared))).unwrap();
        assert_eq!(put_together, serde_json::to_value(&event).unwrap());
        assert_eq!(
            frame_text(&event, None),
            serde_json::to_string(&event).unwrap()
        );
    }
}
