//! WebSocket frames: what clients may send, parsed strictly, and what the server sends.
//! A frame that does not parse becomes an `error` frame with a stable code; the socket lives.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::Message;
use crate::domain::code;
use crate::domain::error::Error;

/// A client frame after parsing.
#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum ClientFrame {
    Send {
        client_id: String,
        body: String,
        to: Option<String>,
        conversation_id: Option<i64>,
        /// A message id, checked when the draft is parsed (`invalid_reply_to`).
        #[serde(default)]
        reply_to: Option<Value>,
        /// Upload ids, checked when the draft is parsed (`invalid_attachment`).
        #[serde(default)]
        attachments: Option<Value>,
    },
    Receipt {
        status: String,
        message_ids: Vec<i64>,
    },
    Typing {
        to: Option<String>,
        conversation_id: Option<i64>,
        active: bool,
    },
    Ping,
}

const KNOWN_TYPES: [&str; 4] = ["send", "receipt", "typing", "ping"];

/// A frame that failed to parse: the error and the `client_id` to echo, if one was readable.
#[derive(Debug)]
pub struct BadFrame {
    pub error: Error,
    pub client_id: Option<String>,
}

/// Parses a text frame: straight into `ClientFrame`, and only if that fails a second time
/// through a JSON value, to say precisely what is wrong and echo the `client_id`. A frame is an
/// object: serde would also read a tagged enum from an array (`["ping"]`), which is refused.
pub fn parse(text: &str) -> Result<ClientFrame, BadFrame> {
    if !text.trim_start().starts_with('{') {
        return Err(diagnose(text));
    }
    match serde_json::from_str(text) {
        Ok(frame) => Ok(frame),
        Err(_) => Err(diagnose(text)),
    }
}

/// Why a frame is not a valid client frame.
fn diagnose(text: &str) -> BadFrame {
    match parse_as_value(text) {
        Ok(_) => BadFrame {
            error: Error::invalid(code::INVALID_FRAME, "the frame is not a valid client frame"),
            client_id: None,
        },
        Err(bad) => bad,
    }
}

fn parse_as_value(text: &str) -> Result<ClientFrame, BadFrame> {
    let value: Value = serde_json::from_str(text).map_err(|e| BadFrame {
        error: Error::invalid(code::INVALID_JSON, format!("the frame is not JSON: {e}")),
        client_id: None,
    })?;
    if !value.is_object() {
        return Err(BadFrame {
            error: Error::invalid(code::INVALID_FRAME, "a frame is a JSON object"),
            client_id: None,
        });
    }
    let client_id = value
        .get("client_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let bad = |error| BadFrame {
        error,
        client_id: client_id.clone(),
    };
    let Some(kind) = value.get("type").and_then(Value::as_str).map(str::to_owned) else {
        return Err(bad(Error::invalid(
            code::INVALID_FRAME,
            "a frame is a JSON object with a string \"type\"",
        )));
    };
    if !KNOWN_TYPES.contains(&kind.as_str()) {
        return Err(bad(Error::invalid(
            code::UNKNOWN_TYPE,
            format!(
                "unknown frame type {kind:?}; expected one of {}",
                KNOWN_TYPES.join(", ")
            ),
        )));
    }
    serde_json::from_value(value).map_err(|e| {
        bad(Error::invalid(
            code::INVALID_FRAME,
            format!("bad {kind} frame: {e}"),
        ))
    })
}

/// Frames the server sends that are not stored events or signals.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ServerFrame<'a> {
    /// The send is durable.
    Ack {
        client_id: &'a str,
        message: &'a Message,
    },
    Error {
        code: &'a str,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        client_id: Option<&'a str>,
    },
    Pong,
}

impl ServerFrame<'_> {
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| {
            format!(
                r#"{{"type":"error","code":"{}","message":"encoding failed"}}"#,
                code::INTERNAL_ERROR
            )
        })
    }
}

/// The error frame for `error`, echoing `client_id`.
pub fn error_text(error: &Error, client_id: Option<&str>) -> String {
    let message = match error {
        Error::Internal(_) => "internal error".to_owned(),
        other => other.to_string(),
    };
    ServerFrame::Error {
        code: error.code(),
        message,
        client_id,
    }
    .to_text()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> &'static str {
        parse(text).unwrap_err().error.code()
    }

    #[test]
    fn parses_every_client_frame() {
        assert_eq!(
            parse(r#"{"type":"send","client_id":"c1","body":"hi","to":"bob"}"#).unwrap(),
            ClientFrame::Send {
                client_id: "c1".into(),
                reply_to: None,
                attachments: None,
                body: "hi".into(),
                to: Some("bob".into()),
                conversation_id: None,
            }
        );
        assert_eq!(
            parse(r#"{"type":"receipt","status":"read","message_ids":[1,2]}"#).unwrap(),
            ClientFrame::Receipt {
                status: "read".into(),
                message_ids: vec![1, 2]
            }
        );
        assert_eq!(
            parse(r#"{"type":"typing","to":"bob","active":true}"#).unwrap(),
            ClientFrame::Typing {
                to: Some("bob".into()),
                conversation_id: None,
                active: true
            }
        );
        assert_eq!(
            parse(r#"{"type":"typing","conversation_id":42,"active":false}"#).unwrap(),
            ClientFrame::Typing {
                to: None,
                conversation_id: Some(42),
                active: false
            }
        );
        assert_eq!(parse(r#"{"type":"ping"}"#).unwrap(), ClientFrame::Ping);
    }

    #[test]
    fn bad_frames_get_stable_codes_and_keep_the_client_id() {
        assert_eq!(code("not json"), "invalid_json");
        // serde reads an internally tagged enum from an array too (tag first): not a frame.
        assert_eq!(code(r#"["send","c1","hi","bob"]"#), "invalid_frame");
        assert_eq!(code(r#"["ping"]"#), "invalid_frame");
        assert_eq!(code("[1]"), "invalid_frame");
        assert_eq!(code(r#"{"type":7}"#), "invalid_frame");
        assert_eq!(code(r#"{"type":"shout"}"#), "unknown_type");
        assert_eq!(code(r#"{"type":"send","body":"x"}"#), "invalid_frame");
        assert_eq!(
            code(r#"{"type":"typing","to":"bob","active":"yes"}"#),
            "invalid_frame"
        );
        let bad = parse(r#"{"type":"send","client_id":"c9"}"#).unwrap_err();
        assert_eq!(bad.client_id.as_deref(), Some("c9"));
    }

    #[test]
    fn error_frames_hide_internal_causes() {
        let text = error_text(
            &Error::Internal(anyhow::anyhow!("secret path /var/x")),
            None,
        );
        assert!(!text.contains("secret"), "{text}");
        assert!(text.contains("internal_error"));
    }
}
