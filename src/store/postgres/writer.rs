//! Group commit on PostgreSQL: sends and status changes from every caller are queued to a few
//! writer tasks, and each task commits whatever has queued up as one transaction (see `batch`),
//! so one WAL flush and a fixed handful of statements serve many writes.
//!
//! A task takes the first waiting job, then every job already queued behind it (up to a batch
//! size), so batches grow with the load and a lone write waits for nothing. A batch that fails
//! because of a concurrent transaction (a deadlock, or another node storing one of its
//! `(sender, client_id)` first) runs again from the start. One that fails for any other reason
//! is run again job by job, each in its own transaction, so a bad job cannot sink the others;
//! when the database is unavailable every job gets that error at once.

use std::slice;
use std::sync::{Arc, Mutex};

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::batch::{self, Item, Outcome};
use super::failure;
use super::transactions::{Step, finish};
use crate::store::{SendRequest, Sent, StatusChange, StatusOutcome, StoreError};

/// How many jobs may wait for a writer before callers wait to queue theirs.
const QUEUE_DEPTH: usize = 4096;

/// Queued work with the channel its answer goes back on.
enum Job {
    Sends(
        Vec<SendRequest>,
        oneshot::Sender<Vec<Result<Sent, StoreError>>>,
    ),
    Status(
        StatusChange,
        oneshot::Sender<Result<StatusOutcome, StoreError>>,
    ),
}

impl Job {
    /// How many batch items the job is.
    fn len(&self) -> usize {
        match self {
            Job::Sends(requests, _) => requests.len(),
            Job::Status(..) => 1,
        }
    }

    fn items(&self) -> Vec<Item<'_>> {
        match self {
            Job::Sends(requests, _) => requests.iter().map(Item::Send).collect(),
            Job::Status(change, _) => vec![Item::Status(change)],
        }
    }

    /// Hands the job's outcomes (taken from the front of `outcomes`) back to its caller.
    fn answer(self, outcomes: &mut impl Iterator<Item = Outcome>) {
        let missing = || StoreError::Other("a write was left without an answer".into());
        match self {
            Job::Sends(requests, reply) => {
                let answers = (0..requests.len())
                    .map(|_| match outcomes.next() {
                        Some(Outcome::Send(result)) => result,
                        _ => Err(missing()),
                    })
                    .collect();
                // The caller may have gone away (request cancelled); the write stands.
                let _ = reply.send(answers);
            }
            Job::Status(_, reply) => {
                let answer = match outcomes.next() {
                    Some(Outcome::Status(result)) => result,
                    _ => Err(missing()),
                };
                let _ = reply.send(answer);
            }
        }
    }
}

/// The queue to the writer tasks, owned by the store.
pub struct Writer {
    /// `None` once closed; taking it lets the tasks drain the queue and stop.
    queue: Mutex<Option<mpsc::Sender<Job>>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Writer {
    /// Starts `writers` tasks committing batches of up to `max_batch` items on `pool`.
    pub fn start(pool: PgPool, writers: usize, max_batch: usize) -> Writer {
        let (sender, receiver) = mpsc::channel(QUEUE_DEPTH);
        let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
        let tasks = (0..writers.max(1))
            .map(|_| tokio::spawn(run(pool.clone(), receiver.clone(), max_batch.max(1))))
            .collect();
        Writer {
            queue: Mutex::new(Some(sender)),
            tasks: Mutex::new(tasks),
        }
    }

    /// Stores the sends, in order, usually in one batch with other callers' writes.
    pub async fn send(&self, requests: Vec<SendRequest>) -> Vec<Result<Sent, StoreError>> {
        let count = requests.len();
        let (reply, answer) = oneshot::channel();
        if let Err(err) = self.enqueue(Job::Sends(requests, reply)).await {
            return vec![Err(err); count];
        }
        answer.await.unwrap_or_else(|_| vec![Err(dropped()); count])
    }

    /// Applies a status change in the next batch.
    pub async fn set_status(&self, change: StatusChange) -> Result<StatusOutcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.enqueue(Job::Status(change, reply)).await?;
        answer.await.unwrap_or_else(|_| Err(dropped()))
    }

    async fn enqueue(&self, job: Job) -> Result<(), StoreError> {
        let sender = self
            .queue
            .lock()
            .map_err(|_| StoreError::Unavailable("writer lock poisoned".into()))?
            .clone()
            .ok_or_else(|| StoreError::Unavailable("the store is shutting down".into()))?;
        sender
            .send(job)
            .await
            .map_err(|_| StoreError::Unavailable("the PostgreSQL writers have stopped".into()))
    }

    /// Stops accepting writes and waits until everything queued is committed.
    pub async fn close(&self) {
        if let Ok(mut queue) = self.queue.lock() {
            queue.take();
        }
        let tasks = match self.tasks.lock() {
            Ok(mut tasks) => std::mem::take(&mut *tasks),
            Err(_) => Vec::new(),
        };
        for task in tasks {
            let _ = task.await;
        }
    }
}

fn dropped() -> StoreError {
    StoreError::Unavailable("a PostgreSQL writer dropped a write".into())
}

/// One writer task: takes a batch off the shared queue, commits it, answers it; until closed.
async fn run(pool: PgPool, queue: Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>, max_batch: usize) {
    loop {
        let jobs = {
            let mut queue = queue.lock().await;
            let Some(first) = queue.recv().await else {
                break;
            };
            let mut size = first.len();
            let mut jobs = vec![first];
            while size < max_batch {
                match queue.try_recv() {
                    Ok(job) => {
                        size += job.len();
                        jobs.push(job);
                    }
                    Err(_) => break,
                }
            }
            jobs
        };
        let outcomes = {
            let items: Vec<Item<'_>> = jobs.iter().flat_map(Job::items).collect();
            commit(&pool, &items).await
        };
        let mut outcomes = outcomes.into_iter();
        for job in jobs {
            job.answer(&mut outcomes);
        }
    }
}

/// Commits the batch; if it cannot, each job alone (see the module notes).
async fn commit(pool: &PgPool, items: &[Item<'_>]) -> Vec<Outcome> {
    let err = match attempt(pool, items).await {
        Ok(outcomes) => return outcomes,
        Err(err) => err,
    };
    if items.len() == 1 || matches!(err, StoreError::Unavailable(_)) {
        return items
            .iter()
            .map(|item| failed(*item, err.clone()))
            .collect();
    }
    tracing::warn!(error = %err, items = items.len(), "PostgreSQL batch failed; committing its jobs one by one");
    let mut outcomes = Vec::with_capacity(items.len());
    for item in items {
        outcomes.push(match attempt(pool, slice::from_ref(item)).await {
            Ok(mut one) => one.pop().unwrap_or_else(|| failed(*item, dropped())),
            Err(err) => failed(*item, err),
        });
    }
    outcomes
}

/// The answer of a job that could not be committed.
fn failed(item: Item<'_>, err: StoreError) -> Outcome {
    match item {
        Item::Send(_) => Outcome::Send(Err(err)),
        Item::Status(_) => Outcome::Status(Err(err)),
    }
}

/// Runs the batch in a transaction and commits it, again from the start (a few times) after a
/// deadlock, a serialization failure or a concurrent send of one of its client ids.
async fn attempt(pool: &PgPool, items: &[Item<'_>]) -> Result<Vec<Outcome>, StoreError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut tx = pool.begin().await.map_err(failure)?;
        let body = batch::apply(&mut tx, items).await;
        match finish(tx, body, attempt).await {
            Step::Done(result) => return result,
            Step::Retry => continue,
        }
    }
}
