//! How PostgreSQL failures are judged: which driver errors mean the database is unavailable,
//! and which only mean a concurrent transaction got in the way (a deadlock or a serialization
//! failure), so the transaction may simply run again.

use crate::store::StoreError;

/// How many times a transaction runs before a deadlock or serialization failure is reported.
pub(super) const ATTEMPTS: u32 = 5;

/// Maps a driver error: connection trouble is `Unavailable` (503, retry), the rest `Other`.
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
            _ => StoreError::Other(err.to_string()),
        },
        _ => StoreError::Other(err.to_string()),
    }
}

/// Whether a driver error came only from a concurrent transaction.
pub(super) fn retryable(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("40001" | "40P01")))
}

/// Whether a mapped error came only from a concurrent transaction (see [`retryable`]).
pub(super) fn transient(err: &StoreError) -> bool {
    matches!(err, StoreError::Other(text)
        if text.contains("deadlock") || text.contains("could not serialize"))
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
            Err(err) if retryable(&err) && may_retry => Step::Retry,
            Err(err) => Step::Done(Err(failure(err))),
        },
        Err(err) => {
            let _ = tx.rollback().await;
            if may_retry && transient(&err) {
                Step::Retry
            } else {
                Step::Done(Err(err))
            }
        }
    }
}
