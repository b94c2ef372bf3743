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
    #[error("store error: {0}")]
    Other(String),
}

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        match err {
            // Retries are the backend's to make; one that still collides is worth a retry later.
            StoreError::Unavailable(_) | StoreError::Retryable(_) => Error::Unavailable,
            other => Error::Internal(other.into()),
        }
    }
}
