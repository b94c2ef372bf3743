//! What a client sends on its socket: frames checked against the rate limit and parsed, then
//! run through the same domain actions as HTTP; typing indicators with their expiry.

use axum::extract::ws::{Message as WsMessage, close_code};
use tokio::time::Instant;

use super::{Connection, Ending, MAX_VIOLATIONS, Scope, TYPING_TTL};
use crate::error::Error;
use crate::ids::UserId;
use crate::ws::frames::{self, ClientFrame, ServerFrame};
use crate::{messages, presence, receipts};

impl Connection {
    pub(super) async fn on_frame(&mut self, frame: WsMessage) -> Result<(), Ending> {
        let text = match frame {
            WsMessage::Text(text) => text,
            WsMessage::Binary(_) => {
                let error = Error::invalid("invalid_frame", "frames are JSON text, not binary");
                return self.send_error(&error, None).await;
            }
            WsMessage::Close(_) => {
                return Err(Ending {
                    code: close_code::NORMAL,
                    reason: "",
                });
            }
            WsMessage::Ping(_) | WsMessage::Pong(_) => return Ok(()),
        };
        if let Err(limited) = self.app.frame_limit.check(&self.caller.user.id) {
            self.violations += 1;
            if self.violations > MAX_VIOLATIONS {
                return Err(Ending {
                    code: close_code::POLICY,
                    reason: "too many frames",
                });
            }
            return self.send_error(&limited, None).await;
        }
        self.violations = 0;
        match frames::parse(text.as_str()) {
            Ok(frame) => self.on_client_frame(frame).await,
            Err(bad) => self.send_error(&bad.error, bad.client_id.as_deref()).await,
        }
    }

    async fn on_client_frame(&mut self, frame: ClientFrame) -> Result<(), Ending> {
        let user = self.caller.user.clone();
        match frame {
            ClientFrame::Ping => self.send_text(ServerFrame::Pong.to_text()).await,
            ClientFrame::Send {
                client_id,
                body,
                to,
            } => {
                let result = match self.recipient(to) {
                    Ok(to) => messages::send(&self.app, &user, &to, &client_id, &body).await,
                    Err(error) => Err(error),
                };
                match result {
                    Ok((message, _)) => {
                        let ack = ServerFrame::Ack {
                            client_id: &client_id,
                            message: &message,
                        }
                        .to_text();
                        self.send_text(ack).await
                    }
                    Err(error) => self.send_error(&error, Some(&client_id)).await,
                }
            }
            ClientFrame::Receipt {
                status,
                message_ids,
            } => match receipts::mark(&self.app, &user, &message_ids, &status).await {
                Ok(_) => Ok(()),
                Err(error) => self.send_error(&error, None).await,
            },
            ClientFrame::Typing { to, active } => {
                let result = match self.recipient(to) {
                    Ok(to) => presence::typing(&self.app, &user, &to, active).await,
                    Err(error) => Err(error),
                };
                match result {
                    Ok(to) if active => {
                        self.typing.insert(to.id, Instant::now());
                        Ok(())
                    }
                    Ok(to) => {
                        self.typing.remove(&to.id);
                        Ok(())
                    }
                    Err(error) => self.send_error(&error, None).await,
                }
            }
        }
    }

    /// The username a frame addresses: its `to`, or the chat socket's other party.
    fn recipient(&self, to: Option<String>) -> Result<String, Error> {
        match (&self.scope, to) {
            (Scope::Chat { other, .. }, None) => Ok(other.username.clone()),
            (Scope::Chat { other, .. }, Some(to)) if to.eq_ignore_ascii_case(&other.username) => {
                Ok(to)
            }
            (Scope::Chat { other, .. }, Some(to)) => Err(Error::invalid(
                "invalid_recipient",
                format!(
                    "this socket is the chat with {}; {to:?} is someone else",
                    other.username
                ),
            )),
            (Scope::Everything, Some(to)) => Ok(to),
            (Scope::Everything, None) => Err(Error::invalid(
                "invalid_frame",
                "\"to\" is required on /ws/notifications/",
            )),
        }
    }

    pub(super) async fn expire_typing(&mut self) {
        let now = Instant::now();
        let expired: Vec<UserId> = self
            .typing
            .iter()
            .filter(|(_, at)| now.duration_since(**at) >= TYPING_TTL)
            .map(|(u, _)| *u)
            .collect();
        for to in expired {
            self.typing.remove(&to);
            presence::stop_typing(&self.app, &self.caller.user, to).await;
        }
    }

    pub(super) async fn stop_all_typing(&mut self) {
        for (to, _) in std::mem::take(&mut self.typing) {
            presence::stop_typing(&self.app, &self.caller.user, to).await;
        }
    }
}
