//! Validated input. Each type can only be built by `parse`, so a bad value cannot travel past
//! the edge of the system; every failure is an `Error::Invalid` with a stable code.

use super::code;
use super::error::Error;
use super::ids::{ConversationId, Cursor, MessageId};
use super::upload::{MAX_ATTACHMENTS, UploadId};

/// A username: 3–32 of `[a-z0-9_.-]`, compared case-insensitively and stored lower-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let lower = raw.to_ascii_lowercase();
        let valid_chars = lower.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
        });
        if (3..=32).contains(&lower.len()) && valid_chars {
            Ok(Username(lower))
        } else {
            Err(Error::invalid(
                code::INVALID_USERNAME,
                format!("a username is 3-32 characters of a-z, 0-9, '_', '.', '-'; got {raw:?}"),
            ))
        }
    }

    /// Wraps a username read back from the store (already validated when it was stored).
    pub fn from_trusted(stored: String) -> Self {
        Username(stored)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ClientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Display for Username {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password as typed: 8–1024 characters. Never stored; only its argon2id hash is.
pub struct Password(String);

impl Password {
    pub fn parse(raw: String) -> Result<Self, Error> {
        let chars = raw.chars().count();
        if (8..=1024).contains(&chars) {
            Ok(Password(raw))
        } else {
            Err(Error::invalid(
                code::INVALID_PASSWORD,
                "a password is 8-1024 characters",
            ))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The start of a username to search for: trimmed, lower-case, at most 32 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamePrefix(Option<String>);

impl NamePrefix {
    /// Over 32 characters is `invalid_query`; a prefix with a character no username holds is
    /// valid and matches nobody.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let prefix = raw.trim().to_ascii_lowercase();
        if prefix.len() > 32 {
            return Err(Error::invalid(
                code::INVALID_QUERY,
                "q is at most 32 characters",
            ));
        }
        let possible = prefix.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
        });
        Ok(NamePrefix(possible.then_some(prefix)))
    }

    /// The prefix, or `None` when no username can start with it.
    pub fn as_str(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

/// A display name: 1–64 characters after trimming, nothing hidden: no control characters, no
/// bidirectional controls, no invisible spaces (`group::is_hidden`, shared with group titles
/// and descriptions; zero-width joiners and non-joiners stay allowed).
#[derive(Debug, Clone)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let trimmed = raw.trim();
        let chars = trimmed.chars().count();
        if (1..=64).contains(&chars) && !trimmed.chars().any(super::group::is_hidden) {
            Ok(DisplayName(trimmed.to_owned()))
        } else {
            Err(Error::invalid(
                code::INVALID_DISPLAY_NAME,
                "a display name is 1-64 characters without control, bidirectional-control or invisible characters",
            ))
        }
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// The client-generated idempotency key of a send: 1–64 of `[A-Za-z0-9_-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientId(String);

impl ClientId {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let valid = (1..=64).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if valid {
            Ok(ClientId(raw.to_owned()))
        } else {
            Err(Error::invalid(
                code::INVALID_CLIENT_ID,
                format!("client_id is 1-64 characters of A-Z, a-z, 0-9, '_', '-'; got {raw:?}"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A message body: trimmed, then 1..=max Unicode scalar values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body(String);

impl Body {
    pub fn parse(raw: &str, max_chars: usize) -> Result<Self, Error> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(Error::invalid(
                code::INVALID_BODY,
                "the message body is empty",
            ));
        }
        let chars = trimmed.chars().count();
        if chars > max_chars {
            return Err(Error::invalid(
                code::BODY_TOO_LONG,
                format!("the message body has {chars} characters; the limit is {max_chars}"),
            ));
        }
        // PostgreSQL text cannot hold U+0000, and no person types one: refused on every backend.
        if trimmed.contains('\0') {
            return Err(Error::invalid(
                code::INVALID_BODY,
                "the message body contains a NUL character (U+0000)",
            ));
        }
        Ok(Body(trimmed.to_owned()))
    }

    /// A body that may be empty (a message carrying attachments, or the edit of one), else
    /// checked as `parse` checks it.
    pub fn parse_caption(raw: &str, max_chars: usize) -> Result<Self, Error> {
        if raw.trim().is_empty() {
            return Ok(Body(String::new()));
        }
        Body::parse(raw, max_chars)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A send's `attachments`: absent or `null` for none, else an array of at most
/// `MAX_ATTACHMENTS` distinct upload ids (`invalid_attachment`).
pub fn attachments(raw: Option<&serde_json::Value>) -> Result<Vec<UploadId>, Error> {
    let refuse = |why: String| Error::invalid(code::INVALID_ATTACHMENT, why);
    let items = match raw {
        None | Some(serde_json::Value::Null) => return Ok(Vec::new()),
        Some(serde_json::Value::Array(items)) => items,
        Some(other) => {
            return Err(refuse(format!(
                "attachments must be an array of upload ids, got {other}"
            )));
        }
    };
    if items.len() > MAX_ATTACHMENTS {
        return Err(refuse(format!(
            "a message carries at most {MAX_ATTACHMENTS} attachments, got {}",
            items.len()
        )));
    }
    let mut ids: Vec<UploadId> = Vec::with_capacity(items.len());
    for item in items {
        let id = item
            .as_str()
            .and_then(|raw| UploadId::parse(raw).ok())
            .ok_or_else(|| refuse(format!("{item} is not an upload id")))?;
        if ids.contains(&id) {
            return Err(refuse(format!(
                "upload {:?} is attached twice",
                id.as_str()
            )));
        }
        ids.push(id);
    }
    Ok(ids)
}

/// Parses a strictly positive 64-bit integer written in plain decimal digits.
fn positive(raw: &str) -> Option<i64> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse::<i64>().ok().filter(|n| *n > 0)
}

/// Parses a non-negative 64-bit integer written in plain decimal digits.
fn non_negative(raw: &str) -> Option<i64> {
    if raw == "0" { Some(0) } else { positive(raw) }
}

/// `before_id`: a real message id. Temporary client ids and anything else are refused.
pub fn before_id(raw: &str) -> Result<MessageId, Error> {
    positive(raw).map(MessageId).ok_or_else(|| {
        Error::invalid(
            code::INVALID_BEFORE_ID,
            format!("before_id must be a positive integer, got {raw:?}"),
        )
    })
}

/// `after_id` of a conversation sync: 0 (from the start) or a message id.
pub fn after_id(raw: &str) -> Result<MessageId, Error> {
    non_negative(raw).map(MessageId).ok_or_else(|| {
        Error::invalid(
            code::INVALID_AFTER_ID,
            format!("after_id must be a non-negative integer, got {raw:?}"),
        )
    })
}

/// `since` of the event stream: 0 (from the start) or a cursor the client received.
pub fn since(raw: &str) -> Result<Cursor, Error> {
    non_negative(raw).map(Cursor).ok_or_else(|| {
        Error::invalid(
            code::INVALID_CURSOR,
            format!("since must be a non-negative integer, got {raw:?}"),
        )
    })
}

/// A page size between 1 and `max`.
pub fn limit(raw: &str, max: u32) -> Result<u32, Error> {
    positive(raw)
        .filter(|n| *n <= i64::from(max))
        .map(|n| n as u32)
        .ok_or_else(|| {
            Error::invalid(
                code::INVALID_LIMIT,
                format!("limit must be an integer from 1 to {max}, got {raw:?}"),
            )
        })
}

/// A page size from a query: `default` when absent, else 1 to `max`.
pub fn page_size(raw: Option<&str>, default: u32, max: u32) -> Result<u32, Error> {
    raw.map(|raw| limit(raw, max))
        .transpose()
        .map(|size| size.unwrap_or(default))
}

/// A user named in a path or a frame. A name no account could have is not a bad request but
/// an unknown user (404 `user_not_found`), exactly like a valid name nobody has.
pub fn named_user(raw: &str) -> Result<Username, Error> {
    Username::parse(raw).map_err(|_| Error::UserNotFound(raw.to_owned()))
}

/// The most ids one status request may name.
pub const MAX_MESSAGE_IDS: usize = 1000;

/// The ids of a status request: 1 to `MAX_MESSAGE_IDS`, each positive.
pub fn message_ids(ids: &[i64]) -> Result<Vec<MessageId>, Error> {
    if ids.is_empty() || ids.len() > MAX_MESSAGE_IDS {
        return Err(Error::invalid(
            code::INVALID_MESSAGE_IDS,
            format!("message_ids must list 1 to {MAX_MESSAGE_IDS} message ids"),
        ));
    }
    ids.iter()
        .map(|id| message_id(*id, "every message id"))
        .collect()
}

/// A message id in a path: anything but a positive integer names no message (404
/// `message_not_found`, as for an id nothing has).
pub fn path_message_id(raw: &str) -> Result<MessageId, Error> {
    positive(raw).map(MessageId).ok_or(Error::MessageNotFound)
}

/// A conversation id in a path: anything but a positive integer names no conversation (404
/// `conversation_not_found`).
pub fn path_conversation_id(raw: &str) -> Result<ConversationId, Error> {
    positive(raw)
        .map(ConversationId)
        .ok_or(Error::ConversationNotFound)
}

/// A send's `reply_to`: absent or `null` for none, else a positive integer
/// (`invalid_reply_to`).
pub fn reply_to(raw: Option<&serde_json::Value>) -> Result<Option<MessageId>, Error> {
    match raw {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(value) => value
            .as_i64()
            .filter(|id| *id > 0)
            .map(|id| Some(MessageId(id)))
            .ok_or_else(|| {
                Error::invalid(
                    code::INVALID_REPLY_TO,
                    format!(
                        "reply_to must be the id of a message (a positive integer), got {value}"
                    ),
                )
            }),
    }
}

/// An id inside a JSON body, which arrives already as a number.
pub fn message_id(value: i64, field: &'static str) -> Result<MessageId, Error> {
    if value > 0 {
        Ok(MessageId(value))
    } else {
        Err(Error::invalid(
            code::INVALID_MESSAGE_ID,
            format!("{field} must be a positive integer, got {value}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn before_id_accepts_only_positive_integers() {
        assert_eq!(before_id("42").unwrap(), MessageId(42));
        for bad in [
            "temp_client_1770216496118_y8zwwov1h",
            "0",
            "-5",
            "1.5",
            "abc",
            "",
            "+3",
            " 7",
            "99999999999999999999",
        ] {
            let err = before_id(bad).unwrap_err();
            assert_eq!(err.code(), "invalid_before_id", "{bad}");
        }
    }

    #[test]
    fn usernames_are_lower_cased_and_checked() {
        assert_eq!(Username::parse("Alice_1").unwrap().as_str(), "alice_1");
        for bad in ["ab", "a b", "ünï", &"x".repeat(33), "../etc"] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bodies_are_trimmed_and_bounded_in_scalar_values() {
        assert_eq!(Body::parse("  hi \n", 10).unwrap().as_str(), "hi");
        assert_eq!(Body::parse("   ", 10).unwrap_err().code(), "invalid_body");
        assert!(Body::parse(&"é".repeat(10), 10).is_ok());
        assert_eq!(
            Body::parse(&"é".repeat(11), 10).unwrap_err().code(),
            "body_too_long"
        );
    }

    #[test]
    fn display_names_refuse_hidden_characters() {
        assert_eq!(
            DisplayName::parse("  Carol Chen ").unwrap().into_inner(),
            "Carol Chen"
        );
        assert!(DisplayName::parse(&"é".repeat(64)).is_ok());
        assert!(DisplayName::parse("👩\u{200D}💻 Dana").is_ok(), "ZWJ stays");
        assert!(DisplayName::parse("می\u{200C}خواهم").is_ok(), "ZWNJ stays");
        let hidden = [
            '\u{0}', '\u{7}', '\u{1B}', '\u{7F}', '\u{85}', '\u{061C}', '\u{200E}', '\u{200F}',
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200B}', '\u{2060}', '\u{FEFF}',
        ];
        for c in hidden {
            let name = format!("ad{c}min");
            assert_eq!(
                DisplayName::parse(&name).unwrap_err().code(),
                "invalid_display_name",
                "{c:?}"
            );
        }
        for bad in ["", "   ", &"x".repeat(65)] {
            assert!(DisplayName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn client_ids_are_restricted() {
        assert!(ClientId::parse("c-1_A").is_ok());
        for bad in ["", "a b", "ü", &"x".repeat(65)] {
            assert_eq!(
                ClientId::parse(bad).unwrap_err().code(),
                "invalid_client_id"
            );
        }
    }
}
