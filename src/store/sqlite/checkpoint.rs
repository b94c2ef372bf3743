//! Copies the write-ahead log back into the database file on a thread of its own.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses its threshold, on the
//! writer thread: every write queued behind that batch would wait while thousands of pages are
//! copied and fsynced. So this thread runs a PASSIVE checkpoint (which blocks neither readers
//! nor the writer) every `interval`, and the writer's own automatic checkpoint is only a
//! backstop with a high threshold. When a checkpoint has copied everything, the next write
//! transaction starts the log over from its beginning, so the log stays small while writes
//! leave any pause at all; under writes without pause, the writer's backstop bounds it.

use std::path::Path;
use std::sync::Mutex;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use super::{other, schema};
use crate::store::StoreError;

pub struct Checkpointer {
    /// Dropping the sender wakes the thread and stops it.
    stop: Mutex<Option<mpsc::Sender<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Checkpointer {
    /// Opens a connection of its own to the database at `path` and starts checkpointing.
    pub fn start(path: &Path, interval: Duration) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(other)?;
        schema::configure(&conn).map_err(other)?;
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("linkup-sqlite-checkpoint".into())
            .spawn(move || run(conn, stopped, interval))
            .map_err(|e| StoreError::Other(format!("spawning the checkpoint thread: {e}")))?;
        Ok(Checkpointer {
            stop: Mutex::new(Some(stop)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Stops the thread (after the checkpoint in progress, if any) and waits for it.
    pub async fn stop(&self) {
        if let Ok(mut stop) = self.stop.lock() {
            stop.take();
        }
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(thread) = thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

fn run(conn: Connection, stopped: mpsc::Receiver<()>, interval: Duration) {
    // Nothing is ever sent: the sender is dropped to stop, which ends the wait at once.
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
        // The row it returns (busy, frames in the log, frames copied) needs no action: a busy
        // checkpoint is retried at the next interval.
        let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
        if let Err(err) = done {
            tracing::warn!(error = %err, "WAL checkpoint failed; the writer's backstop remains");
        }
    }
    tracing::debug!("SQLite checkpoint thread stopped");
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::OpenFlags;

    /// What the database file itself holds, ignoring the WAL (`immutable=1`).
    fn rows_in_database_file(path: &Path) -> i64 {
        let uri = format!("file:{}?immutable=1", path.display());
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(uri, flags).unwrap();
        conn.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap_or(0)
    }

    #[tokio::test]
    async fn committed_pages_reach_the_database_file_while_the_writer_stays_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
                 CREATE TABLE t (n INTEGER PRIMARY KEY);
                 INSERT INTO t (n) VALUES (1), (2), (3);",
            )
            .unwrap();
        assert_eq!(rows_in_database_file(&path), 0, "still only in the WAL");

        let checkpointer = Checkpointer::start(&path, Duration::from_millis(10)).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while rows_in_database_file(&path) < 3 && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        checkpointer.stop().await;
        assert_eq!(rows_in_database_file(&path), 3);
        drop(writer);
    }
}
