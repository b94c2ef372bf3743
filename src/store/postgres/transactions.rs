//! How PostgreSQL failures are judged, from the driver's error kind and SQLSTATE code: which
//! mean the database is unavailable, and which only mean a concurrent transaction got in the
//! way (a deadlock or a serialization failure: `StoreError::Retryable`), so the transaction
//! may simply run again.

use crate::store::StoreError;

/// How many times a transaction runs before a deadlock or serialization failure is reported.
pub(super) const ATTEMPTS: u32 = 5;

/// Maps a driver error: connection trouble is `Unavailable` (503, retry), a deadlock or a
/// serialization failure `Retryable`, the rest `Other`.
pub(crate) fn failure(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => StoreError::Unavailable(err.to_string()),
        sqlx::Error::Database(db) => match db.code().as_deref() {
            // Connection exceptions, admin shutdown / terminated backend, cannot connect now,
            // statement timeout, too many connections.
            Some(code) if code.starts_with("08") || code.starts_with("57") || code == "53300" => {
                StoreError::Unavailable(err.to_string())
            }
            Some("40001" | "40P01") => StoreError::Retryable(err.to_string()),
            _ => StoreError::Other(err.to_string()),
        },
        _ => StoreError::Other(err.to_string()),
    }
}

/// What to do after a transaction body ran.
pub(super) enum Step<T> {
    Done(Result<T, StoreError>),
    Retry,
}

/// Commits or rolls back `tx` after its body; asks for a retry after a deadlock or a
/// serialization failure (a few times), which a concurrent transaction can cause.
pub(super) async fn finish<T>(
    tx: sqlx::Transaction<'_, sqlx::Postgres>,
    body: Result<T, StoreError>,
    attempt: u32,
) -> Step<T> {
    let may_retry = attempt < ATTEMPTS;
    match body {
        Ok(value) => match tx.commit().await {
            Ok(()) => Step::Done(Ok(value)),
            Err(err) => match failure(err) {
                StoreError::Retryable(_) if may_retry => Step::Retry,
                err => Step::Done(Err(err)),
            },
        },
        Err(err) => {
            let _ = tx.rollback().await;
            if may_retry && matches!(err, StoreError::Retryable(_)) {
                Step::Retry
            } else {
                Step::Done(Err(err))
            }
        }
    }
}
