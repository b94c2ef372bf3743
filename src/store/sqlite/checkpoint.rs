//! Copies the write-ahead log back into the database file on a thread of its own, and has the
//! writer start the log over before it grows long.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses its threshold, on the
//! writer thread: every write queued behind that batch would wait while thousands of pages are
//! copied and fsynced. So this thread runs a PASSIVE checkpoint (which blocks neither readers
//! nor the writer) every `interval`.
//!
//! Copying is not enough to keep the log short: SQLite starts it over only when a write
//! transaction begins with every frame already copied, and under steady writes the writer
//! commits new frames while each pass runs. So when a pass finds the log past
//! `restart_frames` and has copied all of it, it asks the writer ([`WalRestart`]) to copy the
//! few frames committed since, between two batches, and the writer's next transaction starts
//! the log over. That copy still pauses the writer (≈ 45 ms measured with a 64 MiB log), but
//! SQLite's own automatic checkpoint paused it for 77–186 ms at a time; the steady-state p99 at
//! 2,000 messages/s with 10,000 users online fell from 206 ms to 67–93 ms (BENCHMARKS.md).
//! The writer's automatic checkpoint stays as a backstop, with a higher threshold, for a log
//! that readers keep from being copied.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use super::{other, schema};
use crate::store::StoreError;

/// Log length (in frames, one page each) past which the writer is asked to start it over:
/// 64 MiB with 4 KiB pages. A restart's pause grows with the log, but each one costs the writer
/// time: shorter logs gave a lower tail at 2,000–3,000 msg/s and less capacity near
/// saturation (BENCHMARKS.md compares 4,096 to 65,536 frames).
pub const RESTART_FRAMES: i64 = 16_384;

/// The checkpoint thread's request that the writer start the log over (see the module docs).
#[derive(Clone, Default)]
pub struct WalRestart(Arc<AtomicBool>);

impl WalRestart {
    pub(super) fn request(&self) {
        self.0.store(true, Relaxed);
    }

    /// Takes the request, if one is pending (the writer asks between batches).
    pub fn take(&self) -> bool {
        self.0.swap(false, Relaxed)
    }
}

pub struct Checkpointer {
    /// Dropping the sender wakes the thread and stops it.
    stop: Mutex<Option<mpsc::Sender<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Checkpointer {
    /// Opens a connection of its own to the database at `path` and starts checkpointing every
    /// `interval`, asking for a restart through `restart` when the log passes `restart_frames`.
    pub fn start(
        path: &Path,
        interval: Duration,
        restart: WalRestart,
        restart_frames: i64,
    ) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(other)?;
        schema::configure(&conn).map_err(other)?;
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("linkup-sqlite-checkpoint".into())
            .spawn(move || {
                // Nothing is ever sent: the sender is dropped to stop, which ends the wait.
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                    if let Err(err) = pass(&conn, &restart, restart_frames) {
                        tracing::warn!(error = %err, "WAL checkpoint failed; the writer's backstop remains");
                    }
                }
                tracing::debug!("SQLite checkpoint thread stopped");
            })
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

/// One PASSIVE checkpoint; asks for a restart when the log is long and was copied in full (a
/// reader still using old frames keeps them from being copied, and then a restart could not
/// happen anyway). A busy checkpoint is simply retried at the next interval.
fn pass(conn: &Connection, restart: &WalRestart, restart_frames: i64) -> rusqlite::Result<()> {
    let (log, copied): (i64, i64) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get(1)?, r.get(2)?))
    })?;
    if log >= restart_frames && copied == log {
        restart.request();
    }
    Ok(())
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

        let checkpointer = Checkpointer::start(
            &path,
            Duration::from_millis(10),
            WalRestart::default(),
            RESTART_FRAMES,
        )
        .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while rows_in_database_file(&path) < 3 && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        checkpointer.stop().await;
        assert_eq!(rows_in_database_file(&path), 3);
        drop(writer);
    }

    /// A WAL database with autocheckpoint off and `commits` one-row transactions in its log.
    fn database_with_log(path: &Path, commits: i64) -> Connection {
        let writer = Connection::open(path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
                 CREATE TABLE t (n INTEGER PRIMARY KEY);",
            )
            .unwrap();
        commit_rows(&writer, 0..commits);
        writer
    }

    /// One transaction per row.
    fn commit_rows(conn: &Connection, rows: std::ops::Range<i64>) {
        for n in rows {
            conn.execute("INSERT INTO t (n) VALUES (?1)", [n]).unwrap();
        }
    }

    #[test]
    fn a_long_log_copied_in_full_asks_for_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let _writer = database_with_log(&path, 20);
        let checkpoint = Connection::open(&path).unwrap();
        let restart = WalRestart::default();

        pass(&checkpoint, &restart, 1_000).unwrap();
        assert!(!restart.take(), "the log is under the threshold");
        pass(&checkpoint, &restart, 10).unwrap();
        assert!(restart.take(), "over the threshold and copied in full");
        assert!(!restart.take(), "a request is taken once");
    }

    #[test]
    fn a_log_a_reader_still_uses_asks_for_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let writer = database_with_log(&path, 5);
        let reader = Connection::open(&path).unwrap();
        reader.execute_batch("BEGIN").unwrap();
        let _: i64 = reader
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap();
        commit_rows(&writer, 100..120);
        let checkpoint = Connection::open(&path).unwrap();
        let restart = WalRestart::default();

        pass(&checkpoint, &restart, 10).unwrap();
        assert!(
            !restart.take(),
            "frames past the reader's snapshot stay uncopied"
        );
        reader.execute_batch("COMMIT").unwrap();
        pass(&checkpoint, &restart, 10).unwrap();
        assert!(restart.take());
    }
}
