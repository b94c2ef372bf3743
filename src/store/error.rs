//! Why a store call failed, and how that reaches a client as a domain error.

use crate::domain::Error;

/// Why a store call failed. Not-found and conflict are told apart from the rest.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database cannot be reached or refused the work (disk full, locked, shut down).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A concurrent transaction got in the way (a deadlock, a serialization failure, another
    /// node storing the same row first): running the same work again may succeed.
    #[error("concurrent write, retry: {0}")]
    Retryable(String),
    /// A rule of the domain refused the work inside the transaction (not an admin, no longer
    /// a member, too many members, …): the client is told exactly that.
    #[error("refused: {1}")]
    Refused(Refusal, String),
    #[error("store error: {0}")]
    Other(String),
}

/// How a refusal reaches the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 403 with this code.
    Forbidden(&'static str),
    /// 400 with this code.
    Invalid(&'static str),
    /// 404 `member_not_found`.
    MemberNotFound,
    /// 404 `conversation_not_found`.
    ConversationNotFound,
    /// 409 `message_deleted`.
    MessageDeleted,
}

/// A domain rule's refusal, carried through the store.
impl From<Error> for StoreError {
    fn from(err: Error) -> Self {
        let message = err.to_string();
        match err {
            Error::Forbidden { code, .. } => StoreError::Refused(Refusal::Forbidden(code), message),
            Error::Invalid { code, .. } => StoreError::Refused(Refusal::Invalid(code), message),
            Error::MemberNotFound => StoreError::Refused(Refusal::MemberNotFound, message),
            Error::ConversationNotFound => {
                StoreError::Refused(Refusal::ConversationNotFound, message)
            }
            Error::MessageDeleted => StoreError::Refused(Refusal::MessageDeleted, message),
            other => StoreError::Other(other.to_string()),
        }
    }
}

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        match err {
            // Retries are the backend's to make; one that still collides is worth a retry later.
            StoreError::Unavailable(_) | StoreError::Retryable(_) => Error::Unavailable,
            StoreError::Refused(Refusal::Forbidden(code), message) => {
                Error::forbidden(code, message)
            }
            StoreError::Refused(Refusal::Invalid(code), message) => Error::invalid(code, message),
            StoreError::Refused(Refusal::MemberNotFound, _) => Error::MemberNotFound,
            StoreError::Refused(Refusal::ConversationNotFound, _) => Error::ConversationNotFound,
            StoreError::Refused(Refusal::MessageDeleted, _) => Error::MessageDeleted,
            other => Error::Internal(other.into()),
        }
    }
}
