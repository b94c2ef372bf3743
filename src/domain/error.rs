//! The domain error: every failure a client can cause or see, each with a stable code.
//!
//! HTTP maps these to statuses in `web::error`; WebSocket error frames reuse the same codes,
//! so a client learns one vocabulary.

use std::time::Duration;

/// A failure of a domain action, described for the client.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input: a field failed validation. `code` is the stable identifier.
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    #[error("authentication required: log in or send a bearer token")]
    NotAuthenticated,
    #[error("unknown username or wrong password")]
    InvalidCredentials,
    #[error(
        "this request needs the X-CSRF-Token header (read it from GET /api/me or the page's <meta name=\"csrf-token\">)"
    )]
    CsrfMissing,
    #[error(
        "the X-CSRF-Token header does not match this session's token; refresh it from GET /api/me"
    )]
    CsrfMismatch,
    #[error("no user named {0:?}")]
    UserNotFound(String),
    #[error("no such message")]
    MessageNotFound,
    #[error("no such conversation")]
    ConversationNotFound,
    #[error("there is no conversation with yourself")]
    CannotMessageSelf,
    #[error("the username {0:?} is taken")]
    UsernameTaken(String),
    #[error("client_id {0:?} was already used for a different message")]
    ClientIdConflict(String),
    #[error(
        "WebSocket from origin {0:?} refused: cookie-authenticated sockets must come from an allowed origin (--allowed-origin), or use a bearer token"
    )]
    OriginNotAllowed(String),
    #[error("too many open sockets for this user (the limit is {0}); close one first")]
    TooManyConnections(usize),
    #[error("too many requests; retry in {} ms", .retry_after.as_millis())]
    RateLimited { retry_after: Duration },
    #[error("the store is unavailable; retry shortly")]
    Unavailable,
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl Error {
    /// Shorthand for a validation failure.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid {
            code,
            message: message.into(),
        }
    }

    /// The stable snake_case code clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Invalid { code, .. } => code,
            Error::NotAuthenticated => "not_authenticated",
            Error::InvalidCredentials => "invalid_credentials",
            Error::CsrfMissing => "csrf_missing",
            Error::CsrfMismatch => "csrf_mismatch",
            Error::UserNotFound(_) => "user_not_found",
            Error::MessageNotFound => "message_not_found",
            Error::ConversationNotFound => "conversation_not_found",
            Error::CannotMessageSelf => "cannot_message_self",
            Error::UsernameTaken(_) => "username_taken",
            Error::ClientIdConflict(_) => "client_id_conflict",
            Error::OriginNotAllowed(_) => "origin_not_allowed",
            Error::TooManyConnections(_) => "too_many_connections",
            Error::RateLimited { .. } => "rate_limited",
            Error::Unavailable => "store_unavailable",
            Error::Internal(_) => "internal_error",
        }
    }
}
