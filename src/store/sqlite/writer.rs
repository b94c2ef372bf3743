//! The single write path to SQLite, with group commit.
//!
//! SQLite allows one writer at a time. Rather than let hundreds of tasks contend for the lock
//! (and see `database is locked`), every write is a job queued to one thread that owns the
//! write connection. The thread takes all queued jobs (up to a batch size), runs them in one
//! transaction, commits once — one flush of the log for the whole batch — and only then answers each job.
//!
//! A job that fails must not disturb the others. Savepoints would give that, but each one
//! makes SQLite copy every page the job touches that the batch already dirtied; so the batch
//! first runs without them, and only if a job fails is it rolled back and run again with each
//! job in its own SAVEPOINT (which is why a job is an `Fn`: it may run twice, the first run
//! leaving nothing behind).
//!
//! Each batch is recorded in `WriterMetrics` (jobs, time busy, each job's wait from queued to
//! committed): how full the writer is, read from `/metrics` while a load runs.

use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::Instant;

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use super::checkpoint::WalRestart;
use crate::metrics::WriterMetrics;
use crate::store::StoreError;

/// A unit of work for the writer thread.
trait Job: Send {
    /// Runs the work inside the open transaction; false if it failed and must be rolled back.
    fn apply(&mut self, conn: &Connection) -> bool;
    /// Answers the caller once the batch's fate is known.
    fn finish(self: Box<Self>, commit: Result<(), StoreError>);
    /// When the job was queued.
    fn queued(&self) -> Instant;
}

struct Pending<T, F> {
    op: F,
    queued: Instant,
    outcome: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Job for Pending<T, F>
where
    T: Send,
    F: Fn(&Connection) -> Result<T, StoreError> + Send,
{
    fn apply(&mut self, conn: &Connection) -> bool {
        let outcome = (self.op)(conn);
        let ok = outcome.is_ok();
        self.outcome = Some(outcome);
        ok
    }

    fn finish(self: Box<Self>, commit: Result<(), StoreError>) {
        let result = match (self.outcome, commit) {
            // The job's own failure was rolled back to its savepoint: report it as is.
            (Some(Err(own)), _) => Err(own),
            (Some(Ok(value)), Ok(())) => Ok(value),
            (_, Err(commit_error)) => Err(commit_error),
            (None, Ok(())) => Err(StoreError::Other("write job was not run".into())),
        };
        // The caller may have gone away (request cancelled); the write stands regardless.
        let _ = self.reply.send(result);
    }

    fn queued(&self) -> Instant {
        self.queued
    }
}

/// Handle to the writer thread. Cloning is not needed: the store owns one.
pub struct Writer {
    /// `None` once closed; taking it drops the sender so the thread drains and exits.
    queue: Mutex<Option<mpsc::Sender<Box<dyn Job>>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    /// Starts the writer thread on an already configured and migrated connection; it starts
    /// the log over when the checkpoint thread asks through `restart`, and records its batches
    /// in `metrics`.
    pub fn start(
        conn: Connection,
        queue_depth: usize,
        max_batch: usize,
        restart: WalRestart,
        metrics: WriterMetrics,
    ) -> Self {
        let (tx, rx) = mpsc::channel(queue_depth);
        let thread = std::thread::Builder::new()
            .name("linkup-sqlite-writer".into())
            .spawn(move || run(conn, rx, max_batch, restart, metrics))
            .expect("spawning the SQLite writer thread");
        Writer {
            queue: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
        }
    }

    /// Queues `op` and waits until its batch is committed (or its own error is known).
    pub async fn write<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Fn(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let sender = self.sender()?;
        let answer = enqueue(&sender, op).await?;
        answered(answer).await
    }

    /// Queues every op, in order, before waiting for any: they run in that order, usually in
    /// one batch, each in its own savepoint (one failing leaves the others standing).
    pub async fn write_all<T, F>(&self, ops: Vec<F>) -> Vec<Result<T, StoreError>>
    where
        T: Send + 'static,
        F: Fn(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let sender = match self.sender() {
            Ok(sender) => sender,
            Err(err) => return ops.iter().map(|_| Err(err.clone())).collect(),
        };
        let mut answers = Vec::with_capacity(ops.len());
        for op in ops {
            answers.push(enqueue(&sender, op).await);
        }
        let mut results = Vec::with_capacity(answers.len());
        for answer in answers {
            results.push(match answer {
                Ok(answer) => answered(answer).await,
                Err(err) => Err(err),
            });
        }
        results
    }

    fn sender(&self) -> Result<mpsc::Sender<Box<dyn Job>>, StoreError> {
        self.queue
            .lock()
            .map_err(|_| StoreError::Unavailable("writer lock poisoned".into()))?
            .clone()
            .ok_or_else(|| StoreError::Unavailable("the store is shutting down".into()))
    }

    /// Stops accepting writes, lets the thread commit everything queued, and waits for it.
    pub async fn close(&self) {
        if let Ok(mut queue) = self.queue.lock() {
            queue.take();
        }
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(thread) = thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

type Answer<T> = oneshot::Receiver<Result<T, StoreError>>;

/// Hands `op` to the writer thread; the receiver yields its outcome once its batch is done.
async fn enqueue<T, F>(sender: &mpsc::Sender<Box<dyn Job>>, op: F) -> Result<Answer<T>, StoreError>
where
    T: Send + 'static,
    F: Fn(&Connection) -> Result<T, StoreError> + Send + 'static,
{
    let (reply, answer) = oneshot::channel();
    let job: Box<dyn Job> = Box::new(Pending {
        op,
        queued: Instant::now(),
        outcome: None,
        reply,
    });
    sender
        .send(job)
        .await
        .map_err(|_| StoreError::Unavailable("the SQLite writer has stopped".into()))?;
    Ok(answer)
}

async fn answered<T>(answer: Answer<T>) -> Result<T, StoreError> {
    answer
        .await
        .map_err(|_| StoreError::Unavailable("the SQLite writer dropped a write".into()))?
}

fn run(
    conn: Connection,
    mut queue: mpsc::Receiver<Box<dyn Job>>,
    max_batch: usize,
    restart: WalRestart,
    metrics: WriterMetrics,
) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(max_batch);
    while let Some(first) = queue.blocking_recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let started = Instant::now();
        if restart.take() {
            copy_the_rest_of_the_log(&conn);
        }
        let commit = commit_batch(&conn, &mut batch);
        if let Err(err) = &commit {
            tracing::error!(error = %err, jobs = batch.len(), "SQLite batch failed to commit");
        }
        let done = Instant::now();
        metrics.batch_jobs.observe(batch.len() as f64);
        metrics
            .batch_seconds
            .observe(done.duration_since(started).as_secs_f64());
        for job in batch.drain(..) {
            metrics
                .job_seconds
                .observe(done.duration_since(job.queued()).as_secs_f64());
            job.finish(commit.clone());
        }
    }
    // A clean stop leaves nothing in the log: what it held is copied into the database file
    // and the log is cut to nothing, so a body deleted for everyone has no copy left in it.
    if let Err(err) = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())) {
        tracing::warn!(error = %err, "could not empty the WAL at the stop");
    }
    tracing::debug!("SQLite writer stopped");
}

/// Copies what the checkpoint thread has not (what was committed since its last pass), so that
/// the next transaction starts the log over; a failure only leaves the log longer.
fn copy_the_rest_of_the_log(conn: &Connection) {
    if let Err(err) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
        tracing::warn!(error = %err, "could not copy the WAL before starting it over");
    }
}

fn commit_batch(conn: &Connection, batch: &mut [Box<dyn Job>]) -> Result<(), StoreError> {
    if run_batch(conn, batch, Isolation::Shared)? {
        return Ok(());
    }
    run_batch(conn, batch, Isolation::Savepoints).map(|_| ())
}

/// How the jobs of a batch are kept apart.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Isolation {
    /// Not at all: the first job to fail rolls back the whole batch.
    Shared,
    /// Each job in its own savepoint: a failed job is undone alone.
    Savepoints,
}

/// Runs the batch in one transaction and commits it; false (with everything rolled back) if a
/// job failed under `Isolation::Shared`.
fn run_batch(
    conn: &Connection,
    batch: &mut [Box<dyn Job>],
    isolation: Isolation,
) -> Result<bool, StoreError> {
    let unavailable = |e: rusqlite::Error| StoreError::Unavailable(e.to_string());
    // Prepared once per connection and reused: these run for every batch.
    let run = |sql: &str| {
        conn.prepare_cached(sql)
            .and_then(|mut statement| statement.execute([]))
            .map(|_| ())
            .map_err(unavailable)
    };
    run("BEGIN IMMEDIATE")?;
    let result = (|| {
        for job in batch.iter_mut() {
            if isolation == Isolation::Shared {
                if !job.apply(conn) {
                    return Ok(false);
                }
                continue;
            }
            run("SAVEPOINT job")?;
            if !job.apply(conn) {
                run("ROLLBACK TO job")?;
            }
            run("RELEASE job")?;
        }
        run("COMMIT").map(|_| true)
    })();
    if !matches!(result, Ok(true)) {
        let _ = conn.execute_batch("ROLLBACK");
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer(dir: &tempfile::TempDir) -> Writer {
        recording(dir, WriterMetrics::default())
    }

    fn recording(dir: &tempfile::TempDir, metrics: WriterMetrics) -> Writer {
        let conn = Connection::open(dir.path().join("w.db")).unwrap();
        conn.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (n INTEGER PRIMARY KEY)")
            .unwrap();
        Writer::start(conn, 64, 64, WalRestart::default(), metrics)
    }

    fn stored(dir: &tempfile::TempDir) -> Vec<i64> {
        let conn = Connection::open(dir.path().join("w.db")).unwrap();
        let mut query = conn.prepare("SELECT n FROM t ORDER BY n").unwrap();
        query
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// A job that inserts `n`, then fails (after writing) if `fails`.
    fn inserts(n: i64, fails: bool) -> impl Fn(&Connection) -> Result<i64, StoreError> {
        move |c: &Connection| {
            c.execute("INSERT INTO t (n) VALUES (?1)", [n])
                .map_err(super::super::other)?;
            if fails {
                return Err(StoreError::Conflict(format!("job {n} fails")));
            }
            Ok(n)
        }
    }

    #[tokio::test]
    async fn a_failing_job_is_undone_alone_and_the_rest_of_its_batch_commits() {
        let dir = tempfile::tempdir().unwrap();
        let writer = writer(&dir);
        // Job n inserts n; job 3 then fails, after writing, so its insert must be undone.
        let ops: Vec<_> = (1..=5).map(|n| inserts(n, n == 3)).collect();
        let results = writer.write_all(ops).await;
        let outcomes: Vec<Option<i64>> = results.iter().map(|r| r.as_ref().ok().copied()).collect();
        assert_eq!(outcomes, [Some(1), Some(2), None, Some(4), Some(5)]);
        assert!(matches!(results[2], Err(StoreError::Conflict(_))));
        writer.close().await;
        assert_eq!(stored(&dir), [1, 2, 4, 5]);
    }

    #[tokio::test]
    async fn a_batch_without_failures_commits_every_job_once() {
        let dir = tempfile::tempdir().unwrap();
        let writer = writer(&dir);
        let ops: Vec<_> = (1..=40).map(|n| inserts(n, false)).collect();
        let results = writer.write_all(ops).await;
        assert!(results.iter().all(Result::is_ok));
        writer.close().await;
        assert_eq!(stored(&dir), (1..=40).collect::<Vec<i64>>());
    }

    #[tokio::test]
    async fn every_batch_and_every_job_is_recorded_failed_ones_too() {
        let dir = tempfile::tempdir().unwrap();
        let metrics = WriterMetrics::default();
        let writer = recording(&dir, metrics.clone());
        let ops: Vec<_> = (1..=40).map(|n| inserts(n, n == 7)).collect();
        writer.write_all(ops).await;
        writer.write(inserts(41, false)).await.unwrap();
        writer.close().await;

        assert_eq!(metrics.job_seconds.count(), 41);
        assert_eq!(metrics.batch_jobs.sum(), 41.0);
        let batches = metrics.batch_jobs.count();
        assert!((2..=41).contains(&batches), "{batches} batches");
        assert_eq!(metrics.batch_seconds.count(), batches);
        // A job is queued before its batch starts, so it waits at least as long as its batch runs.
        assert!(metrics.job_seconds.sum() >= metrics.batch_seconds.sum());
        assert!(metrics.batch_seconds.sum() > 0.0);
    }

    /// Frames in the log of the database at `path` (copying them, which changes nothing else).
    fn frames_in_log(path: &std::path::Path) -> i64 {
        let conn = Connection::open(path).unwrap();
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
            .unwrap()
    }

    #[tokio::test]
    async fn a_requested_restart_starts_the_log_over_despite_commits_since_the_last_copy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
             CREATE TABLE t (n INTEGER PRIMARY KEY)",
        )
        .unwrap();
        let restart = WalRestart::default();
        let writer = Writer::start(conn, 64, 64, restart.clone(), WriterMetrics::default());
        for n in 0..20 {
            writer.write(inserts(n, false)).await.unwrap();
        }
        // A checkpoint pass copies those; five more commits follow that no pass has copied.
        assert!(frames_in_log(&path) >= 20);
        for n in 20..25 {
            writer.write(inserts(n, false)).await.unwrap();
        }

        restart.request();
        writer.write(inserts(25, false)).await.unwrap();
        let frames = frames_in_log(&path);
        assert!(
            frames <= 3,
            "the log holds only the last commit, not {frames} frames"
        );
        writer.close().await;
        assert_eq!(stored(&dir), (0..26).collect::<Vec<_>>());
    }
}
