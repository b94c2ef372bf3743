//! The domain error: every failure a client can cause or see, each with a stable code.
//!
//! HTTP maps these to statuses in `web::error`; WebSocket error frames reuse the same codes,
//! so a client learns one vocabulary.

use super::code;
use std::time::Duration;

/// A failure of a domain action, described for the client.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input: a field failed validation. `code` is the stable identifier.
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// The caller may not do this here (not the sender, not an admin, no longer a member, …).
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
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
    #[error("this message was deleted for everyone")]
    MessageDeleted,
    #[error("no such upload")]
    UploadNotFound,
    #[error("this upload has no thumbnail")]
    ThumbnailNotFound,
    #[error("the file is larger than the limit of {0} bytes")]
    UploadTooLarge(u64),
    #[error("the uploads of the last 24 hours would exceed the quota of {quota} bytes; retry in {} s", .retry_after.as_secs())]
    UploadQuotaExceeded { quota: u64, retry_after: Duration },
    #[error("no such conversation")]
    ConversationNotFound,
    #[error("no such member of this group")]
    MemberNotFound,
    #[error("there is no conversation with yourself")]
    CannotMessageSelf,
    #[error("the username {0:?} is taken")]
    UsernameTaken(String),
    #[error("client_id {0:?} was already used for a different message")]
    ClientIdConflict(String),
    #[error("client_id {0:?} was already used to create a different group")]
    GroupClientIdConflict(String),
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
    // -- Authentication (auth) --
    #[error("no such token among yours")]
    TokenNotFound,
}

impl Error {
    /// Shorthand for a validation failure.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid {
            code,
            message: message.into(),
        }
    }

    /// Shorthand for a refusal.
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Error::Forbidden {
            code,
            message: message.into(),
        }
    }

    /// The stable snake_case code clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Invalid { code, .. } | Error::Forbidden { code, .. } => code,
            Error::NotAuthenticated => code::NOT_AUTHENTICATED,
            Error::InvalidCredentials => code::INVALID_CREDENTIALS,
            Error::CsrfMissing => code::CSRF_MISSING,
            Error::CsrfMismatch => code::CSRF_MISMATCH,
            Error::UserNotFound(_) => code::USER_NOT_FOUND,
            Error::MessageNotFound => code::MESSAGE_NOT_FOUND,
            Error::MessageDeleted => code::MESSAGE_DELETED,
            Error::UploadNotFound => code::UPLOAD_NOT_FOUND,
            Error::ThumbnailNotFound => code::THUMBNAIL_NOT_FOUND,
            Error::UploadTooLarge(_) => code::UPLOAD_TOO_LARGE,
            Error::UploadQuotaExceeded { .. } => code::UPLOAD_QUOTA_EXCEEDED,
            Error::ConversationNotFound => code::CONVERSATION_NOT_FOUND,
            Error::MemberNotFound => code::MEMBER_NOT_FOUND,
            Error::CannotMessageSelf => code::CANNOT_MESSAGE_SELF,
            Error::UsernameTaken(_) => code::USERNAME_TAKEN,
            Error::ClientIdConflict(_) | Error::GroupClientIdConflict(_) => {
                code::CLIENT_ID_CONFLICT
            }
            Error::OriginNotAllowed(_) => code::ORIGIN_NOT_ALLOWED,
            Error::TooManyConnections(_) => code::TOO_MANY_CONNECTIONS,
            Error::RateLimited { .. } => code::RATE_LIMITED,
            Error::Unavailable => code::STORE_UNAVAILABLE,
            Error::Internal(_) => code::INTERNAL_ERROR,
            // -- Authentication (auth) --
            Error::TokenNotFound => code::TOKEN_NOT_FOUND,
        }
    }
}
