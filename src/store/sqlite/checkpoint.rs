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
//! `restart_frames` and has copied all of it, the thread catches up: it runs passes back to
//! back, each copying only what was committed during the one before, until a pass has little
//! left to copy. Then it asks the writer ([`WalRestart`]) to copy the few frames committed
//! since, between two batches, and the writer's next transaction starts the log over.
//!
//! That last copy pauses the writer, and what it costs is mostly the `fsync` of the database
//! pages it wrote (≈ 20 µs a page here): asked straight after an ordinary pass, when passes
//! were 100 ms apart, it had 100 ms of commits to copy and paused the writer ≈ 45 ms; after
//! catching up it has a few hundred frames at most. The writer's automatic checkpoint stays as
//! a backstop, with a higher threshold, for a log that readers keep from being copied.

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
/// 256 MiB with 4 KiB pages. Since the catch-up, a restart's pause no longer grows with the
/// log, but each is still a pause (1–40 ms measured, mostly the `fsync`): at 5,000 msg/s a
/// 64 MiB log restarted every 0.65 s, this one every 2.6 s (BENCHMARKS.md, fourth round).
pub const RESTART_FRAMES: i64 = 65_536;

/// A catch-up pass that found at most this many frames committed since the pass before asks
/// for the restart: the writer then copies about as many, a pause of a few milliseconds.
const CATCH_UP_FRAMES: i64 = 256;

/// Catch-up passes after which the restart is asked for anyway: under writes too heavy for the
/// passes to gain on the writer, the log must still start over.
const MAX_CATCH_UP_PASSES: u32 = 50;

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
    /// `interval`, asking for a restart through `restart` once the log is past `restart_frames`
    /// and caught up.
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
                let mut pacing = Pacing::new(restart_frames);
                let mut wait = interval;
                // Nothing is ever sent: the sender is dropped to stop, which ends the wait.
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(wait) {
                    wait = match pass(&conn) {
                        Ok(log) => match pacing.after(log) {
                            Next::Wait => interval,
                            Next::CatchUp => Duration::ZERO,
                            Next::Restart => {
                                restart.request();
                                interval
                            }
                        },
                        Err(err) => {
                            tracing::warn!(error = %err, "WAL checkpoint failed; the writer's backstop remains");
                            pacing = Pacing::new(restart_frames);
                            interval
                        }
                    };
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

/// The log as one PASSIVE checkpoint pass left it. A busy checkpoint is simply retried later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Log {
    /// Frames in the log when the pass began.
    frames: i64,
    /// Frames copied into the database file (all of them, unless a reader still uses some).
    copied: i64,
}

fn pass(conn: &Connection) -> rusqlite::Result<Log> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok(Log {
            frames: r.get(1)?,
            copied: r.get(2)?,
        })
    })
}

/// What the thread does after a pass.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    /// Sleep until the next interval.
    Wait,
    /// Pass again at once: the log is long, and what was committed meanwhile is still many frames.
    CatchUp,
    /// Ask the writer to start the log over, then sleep.
    Restart,
}

/// Decides, pass after pass, when the log is long enough to start over and caught up enough
/// for the writer's share of that to be short.
struct Pacing {
    restart_frames: i64,
    /// The log's length at the previous pass, while catching up.
    catching_up: Option<i64>,
    passes: u32,
}

impl Pacing {
    fn new(restart_frames: i64) -> Self {
        Pacing {
            restart_frames,
            catching_up: None,
            passes: 0,
        }
    }

    fn after(&mut self, log: Log) -> Next {
        // A reader still using old frames keeps them from being copied, and then a restart
        // could not happen anyway.
        if log.frames < self.restart_frames || log.copied < log.frames {
            *self = Pacing::new(self.restart_frames);
            return Next::Wait;
        }
        let committed_meanwhile = self
            .catching_up
            .map_or(i64::MAX, |previous| log.frames - previous);
        self.passes += 1;
        if committed_meanwhile <= CATCH_UP_FRAMES || self.passes > MAX_CATCH_UP_PASSES {
            *self = Pacing::new(self.restart_frames);
            return Next::Restart;
        }
        self.catching_up = Some(log.frames);
        Next::CatchUp
    }
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
    fn a_long_log_copied_in_full_is_caught_up_then_restarted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let writer = database_with_log(&path, 20);
        let checkpoint = Connection::open(&path).unwrap();

        let mut pacing = Pacing::new(1_000);
        assert_eq!(
            pacing.after(pass(&checkpoint).unwrap()),
            Next::Wait,
            "under the threshold"
        );
        let mut pacing = Pacing::new(10);
        let first = pass(&checkpoint).unwrap();
        assert_eq!(first.copied, first.frames, "copied in full");
        assert_eq!(
            pacing.after(first),
            Next::CatchUp,
            "what was committed meanwhile is unknown"
        );
        commit_rows(&writer, 100..110);
        assert_eq!(
            pacing.after(pass(&checkpoint).unwrap()),
            Next::Restart,
            "few frames since"
        );
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
        let mut pacing = Pacing::new(10);

        let held = pass(&checkpoint).unwrap();
        assert!(
            held.copied < held.frames,
            "frames past the reader's snapshot stay uncopied"
        );
        assert_eq!(pacing.after(held), Next::Wait);
        reader.execute_batch("COMMIT").unwrap();
        assert_eq!(pacing.after(pass(&checkpoint).unwrap()), Next::CatchUp);
    }

    #[tokio::test]
    async fn the_thread_asks_for_a_restart_once_a_long_log_is_copied_and_caught_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let writer = database_with_log(&path, 50);
        let restart = WalRestart::default();
        let checkpointer =
            Checkpointer::start(&path, Duration::from_millis(10), restart.clone(), 20).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let mut asked = false;
        while !asked && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
            asked = restart.take();
        }
        checkpointer.stop().await;
        assert!(asked, "a log of 50 frames, past 20 and fully copied");
        drop(writer);
    }

    fn log(frames: i64) -> Log {
        Log {
            frames,
            copied: frames,
        }
    }

    #[test]
    fn catching_up_restarts_once_a_pass_finds_few_new_frames() {
        let mut pacing = Pacing::new(16_384);
        assert_eq!(pacing.after(log(20_000)), Next::CatchUp);
        assert_eq!(
            pacing.after(log(21_500)),
            Next::CatchUp,
            "1,500 frames committed meanwhile"
        );
        assert_eq!(pacing.after(log(21_700)), Next::Restart);
        // A new log starts the count over.
        assert_eq!(pacing.after(log(300)), Next::Wait);
        assert_eq!(pacing.after(log(17_000)), Next::CatchUp);
    }

    #[test]
    fn an_uncopied_log_ends_the_catch_up() {
        let mut pacing = Pacing::new(16_384);
        assert_eq!(pacing.after(log(20_000)), Next::CatchUp);
        let held = Log {
            frames: 20_100,
            copied: 19_000,
        };
        assert_eq!(pacing.after(held), Next::Wait);
        assert_eq!(pacing.after(log(20_150)), Next::CatchUp, "starts over");
    }

    #[test]
    fn a_catch_up_that_never_gains_still_restarts() {
        let mut pacing = Pacing::new(16_384);
        let mut frames = 20_000;
        let mut passes = 0;
        while pacing.after(log(frames)) == Next::CatchUp {
            frames += 10_000;
            passes += 1;
            assert!(passes <= MAX_CATCH_UP_PASSES, "gave up catching up in time");
        }
        assert_eq!(passes, MAX_CATCH_UP_PASSES);
    }
}
