//! What a client sends on its socket: frames checked against the rate limit and parsed, then
//! run through the same domain actions as HTTP; typing indicators with their expiry.

use axum::extract::ws::{Message as WsMessage, close_code};
use tokio::time::Instant;

use super::{Connection, Ending, MAX_VIOLATIONS, Scope, TYPING_TTL, TypingTo};
use crate::app::App;
use crate::domain::code;
use crate::domain::error::Error;
use crate::domain::ids::ConversationId;
use crate::domain::input::{self, Username};
use crate::domain::{MessageId, MessageStatus, User};
use crate::messages::{self, Draft, Target};
use crate::presence;
use crate::ws::frames::{self, ClientFrame, ServerFrame};

/// What a received frame asks for once checked.
enum Admitted {
    Frame(ClientFrame),
    /// Refused: the error to answer, with the `client_id` to echo.
    Refused(Error, Option<String>),
    /// Nothing to do (control frames).
    Nothing,
}

impl Connection {
    /// Handles frames received together, in order. Consecutive sends are stored as one batch
    /// (one commit), then acknowledged in order; anything else is handled after the sends
    /// before it.
    pub(super) async fn on_frames(&mut self, received: Vec<WsMessage>) -> Result<(), Ending> {
        let mut sends = Vec::new();
        for frame in received {
            let admitted = match self.admit(frame) {
                Ok(admitted) => admitted,
                Err(end) => {
                    // Sends that came before a close (or the frame that ends the socket) are
                    // still stored. Their acks may not get out (a peer that closed takes no
                    // more frames): the client resends them with the same client_id.
                    let _ = self.send_drafts(sends).await;
                    return Err(end);
                }
            };
            match admitted {
                Admitted::Frame(ClientFrame::Send {
                    client_id,
                    body,
                    to,
                    conversation_id,
                    reply_to,
                    attachments,
                }) => match self.draft(
                    to,
                    conversation_id,
                    &client_id,
                    &body,
                    reply_to.as_ref(),
                    attachments.as_ref(),
                ) {
                    Ok(draft) => sends.push(draft),
                    Err(error) => {
                        self.send_drafts(std::mem::take(&mut sends)).await?;
                        self.send_error(&error, Some(&client_id)).await?;
                    }
                },
                Admitted::Frame(other) => {
                    self.send_drafts(std::mem::take(&mut sends)).await?;
                    self.on_client_frame(other).await?;
                }
                Admitted::Refused(error, client_id) => {
                    self.send_drafts(std::mem::take(&mut sends)).await?;
                    self.send_error(&error, client_id.as_deref()).await?;
                }
                Admitted::Nothing => {}
            }
        }
        self.send_drafts(sends).await
    }

    /// Checks the rate limit (every frame counts: text, binary, ping and pong), then the
    /// frame's kind, and parses it.
    fn admit(&mut self, frame: WsMessage) -> Result<Admitted, Ending> {
        if let WsMessage::Close(_) = frame {
            return Err(Ending {
                code: close_code::NORMAL,
                reason: "",
            });
        }
        if let Err(limited) = self.app.frame_limit.check(&self.caller.user.id) {
            self.violations += 1;
            if self.violations > MAX_VIOLATIONS {
                return Err(Ending {
                    code: close_code::POLICY,
                    reason: "too many frames",
                });
            }
            // A control frame gets no answer, so a flood of them earns no flood of errors.
            return Ok(match frame {
                WsMessage::Ping(_) | WsMessage::Pong(_) => Admitted::Nothing,
                _ => Admitted::Refused(limited, None),
            });
        }
        self.violations = 0;
        let text = match frame {
            WsMessage::Text(text) => text,
            WsMessage::Binary(_) => {
                let error = Error::invalid(code::INVALID_FRAME, "frames are JSON text, not binary");
                return Ok(Admitted::Refused(error, None));
            }
            WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Close(_) => {
                return Ok(Admitted::Nothing);
            }
        };
        Ok(match frames::parse(text.as_str()) {
            Ok(frame) => Admitted::Frame(frame),
            Err(bad) => Admitted::Refused(bad.error, bad.client_id),
        })
    }

    /// Stores the drafts together and answers each with its ack or error, in order.
    async fn send_drafts(&mut self, drafts: Vec<Draft>) -> Result<(), Ending> {
        if drafts.is_empty() {
            return Ok(());
        }
        let user = self.caller.user.clone();
        let client_ids: Vec<String> = drafts.iter().map(|d| d.client_id.to_string()).collect();
        let results = messages::send_many(&self.app, &user, drafts).await;
        for (client_id, result) in client_ids.iter().zip(results) {
            match result {
                Ok((message, _)) => {
                    let ack = ServerFrame::Ack {
                        client_id,
                        message: &message,
                    }
                    .to_text();
                    self.send_text(ack).await?;
                }
                Err(error) => self.send_error(&error, Some(client_id)).await?,
            }
        }
        Ok(())
    }

    async fn on_client_frame(&mut self, frame: ClientFrame) -> Result<(), Ending> {
        let user = self.caller.user.clone();
        match frame {
            ClientFrame::Ping => self.send_text(ServerFrame::Pong.to_text()).await,
            ClientFrame::Send {
                client_id,
                body,
                to,
                conversation_id,
                reply_to,
                attachments,
            } => match self.draft(
                to,
                conversation_id,
                &client_id,
                &body,
                reply_to.as_ref(),
                attachments.as_ref(),
            ) {
                Ok(draft) => self.send_drafts(vec![draft]).await,
                Err(error) => self.send_error(&error, Some(&client_id)).await,
            },
            ClientFrame::Receipt {
                status,
                message_ids,
            } => {
                // Stored beside the loop (see `receipts`): pushes keep flowing meanwhile.
                match receipt(&status, &message_ids) {
                    Ok((status, ids)) => self.queue_receipt(status, ids).await,
                    Err(error) => self.send_error(&error, None).await,
                }
            }
            ClientFrame::Typing {
                to,
                conversation_id,
                active,
            } => {
                // The rate limit comes first: a frame naming no one still spends a token.
                let result = match presence::may_type(&self.app, &user)
                    .and_then(|()| self.target(to, conversation_id))
                {
                    Ok(target) => typing_to(&self.app, &user, target, active).await,
                    Err(error) => Err(error),
                };
                match result {
                    Ok(Some(to)) if active => {
                        self.typing.insert(to, Instant::now());
                        Ok(())
                    }
                    Ok(Some(to)) => {
                        self.typing.remove(&to);
                        Ok(())
                    }
                    Ok(None) => Ok(()),
                    Err(error) => self.send_error(&error, None).await,
                }
            }
        }
    }

    /// A `send` frame's draft, for the conversation it addresses (see `target`).
    fn draft(
        &self,
        to: Option<String>,
        conversation_id: Option<i64>,
        client_id: &str,
        body: &str,
        reply_to: Option<&serde_json::Value>,
        attachments: Option<&serde_json::Value>,
    ) -> Result<Draft, Error> {
        let to = self.target(to, conversation_id)?;
        Draft::compose(
            || Ok(to),
            client_id,
            body,
            reply_to,
            attachments,
            self.app.settings.max_body_chars,
        )
    }

    /// Where a frame goes: its `to` or `conversation_id` (not both), or what the chat or group
    /// socket is for; naming another conversation on such a socket is `invalid_recipient`.
    fn target(&self, to: Option<String>, conversation_id: Option<i64>) -> Result<Target, Error> {
        let elsewhere = |what: String| {
            Error::invalid(
                code::INVALID_RECIPIENT,
                format!("this socket is for one conversation; {what} is another"),
            )
        };
        let conversation = conversation_id
            .map(|id| input::message_id(id, "conversation_id").map(|m| ConversationId(m.0)))
            .transpose()
            .map_err(|_| {
                Error::invalid(
                    code::INVALID_FRAME,
                    "conversation_id must be a positive integer",
                )
            })?;
        match (&self.scope, to, conversation) {
            (_, Some(_), Some(_)) => Err(Error::invalid(
                code::INVALID_FRAME,
                "name either \"to\" or \"conversation_id\", not both",
            )),
            (Scope::Chat { other, .. }, None, None) => {
                Ok(Target::User(Username::from_trusted(other.username.clone())))
            }
            (Scope::Chat { other, .. }, Some(to), None)
                if to.eq_ignore_ascii_case(&other.username) =>
            {
                Ok(Target::User(input::named_user(&to)?))
            }
            (
                Scope::Chat {
                    conversation: Some(mine),
                    ..
                },
                None,
                Some(id),
            ) if *mine == id => Ok(Target::Conversation(id)),
            (Scope::Chat { .. }, Some(to), None) => Err(elsewhere(format!("{to:?}"))),
            (Scope::Chat { .. }, None, Some(id)) => Err(elsewhere(format!("conversation {id}"))),
            (Scope::Group(mine), None, None) => Ok(Target::Group(*mine)),
            (Scope::Group(mine), None, Some(id)) if *mine == id => Ok(Target::Group(id)),
            (Scope::Group(_), Some(to), None) => Err(elsewhere(format!("{to:?}"))),
            (Scope::Group(_), None, Some(id)) => Err(elsewhere(format!("conversation {id}"))),
            (Scope::Everything, Some(to), None) => Ok(Target::User(input::named_user(&to)?)),
            (Scope::Everything, None, Some(id)) => Ok(Target::Conversation(id)),
            (Scope::Everything, None, None) => Err(Error::invalid(
                code::INVALID_FRAME,
                "\"to\" or \"conversation_id\" is required on /ws/notifications/",
            )),
        }
    }

    pub(super) async fn expire_typing(&mut self) {
        let now = Instant::now();
        let expired: Vec<TypingTo> = self
            .typing
            .iter()
            .filter(|(_, at)| now.duration_since(**at) >= TYPING_TTL)
            .map(|(to, _)| *to)
            .collect();
        for to in expired {
            self.typing.remove(&to);
            stop_typing(&self.app, &self.caller.user, to).await;
        }
    }

    pub(super) async fn stop_all_typing(&mut self) {
        for (to, _) in std::mem::take(&mut self.typing) {
            stop_typing(&self.app, &self.caller.user, to).await;
        }
    }
}

/// A `receipt` frame's status and ids, checked as `POST /api/messages/status` checks them.
fn receipt(status: &str, ids: &[i64]) -> Result<(MessageStatus, Vec<MessageId>), Error> {
    Ok((
        MessageStatus::parse_target(status)?,
        input::message_ids(ids)?,
    ))
}

/// Relays a typing indicator to the person or group `target` names (the rate limit is
/// checked already); `None` when it may not reach them (dropped without an error).
async fn typing_to(
    app: &App,
    user: &User,
    target: Target,
    active: bool,
) -> Result<Option<TypingTo>, Error> {
    match target {
        Target::User(to) => presence::typing(app, user, &to, active)
            .await
            .map(|to| to.map(|to| TypingTo::User(to.id))),
        Target::Group(id) | Target::Conversation(id) => {
            match app.store.direct_party(user.id, id).await? {
                Some(other) => {
                    let to = Username::from_trusted(other.username);
                    presence::typing(app, user, &to, active)
                        .await
                        .map(|to| to.map(|to| TypingTo::User(to.id)))
                }
                None => presence::typing_in_group(app, user, id, active)
                    .await
                    .map(|()| Some(TypingTo::Group(id))),
            }
        }
    }
}

/// Withdraws a typing indicator.
async fn stop_typing(app: &App, user: &User, to: TypingTo) {
    match to {
        TypingTo::User(to) => presence::stop_typing(app, user, to).await,
        TypingTo::Group(id) => {
            // Someone who left meanwhile has nobody to tell.
            let _ = presence::typing_in_group(app, user, id, false).await;
        }
    }
}
