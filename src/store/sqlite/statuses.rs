//! Receipts stored together: a receipt does not become a writer job of its own. It joins the
//! receipts waiting for the writer, and one job, queued by the first of them, stores all those
//! that are waiting when it runs (`receipts::set_statuses`: where each group's members stand is
//! read once for all of them). Each caller still gets its own outcome, after the commit; a
//! receipt naming an id its reader cannot see fails alone and changes nothing.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;

use super::receipts;
use super::writer::Writer;
use crate::store::{StatusChange, StatusOutcome, StoreError};

type Outcome = Result<StatusOutcome, StoreError>;

struct Waiting {
    change: StatusChange,
    reply: oneshot::Sender<Outcome>,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Waiting>,
    /// A job that will take the waiting receipts is queued to the writer and has not run yet.
    scheduled: bool,
}

/// The receipts waiting for the writer.
#[derive(Default, Clone)]
pub struct Statuses {
    queue: Arc<Mutex<Queue>>,
}

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Statuses {
    /// Stores `change` with the other receipts waiting for the writer, once committed.
    pub async fn set_status(&self, writer: &Arc<Writer>, change: StatusChange) -> Outcome {
        let (reply, answer) = oneshot::channel();
        let schedule = {
            let mut queue = locked(&self.queue);
            queue.waiting.push(Waiting { change, reply });
            !std::mem::replace(&mut queue.scheduled, true)
        };
        if schedule {
            // A task of its own: the callers' futures may be dropped; the receipts still go.
            tokio::spawn(store_waiting(writer.clone(), self.queue.clone()));
        }
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the SQLite writer dropped a receipt".into()))?
    }
}

/// One writer job storing every receipt waiting when it runs; answers each after the commit.
async fn store_waiting(writer: Arc<Writer>, queue: Arc<Mutex<Queue>>) {
    // What the job took from the queue: kept across a second run of the job (the writer runs a
    // job again, in a savepoint, when another job of its batch failed).
    let taken: Arc<Mutex<Option<Vec<Waiting>>>> = Arc::default();
    let (slot, from) = (taken.clone(), queue.clone());
    let result = writer
        .write(move |conn| {
            let mut slot = locked(&slot);
            let waiting = slot.get_or_insert_with(|| {
                let mut queue = locked(&from);
                queue.scheduled = false;
                std::mem::take(&mut queue.waiting)
            });
            let changes: Vec<&StatusChange> = waiting.iter().map(|w| &w.change).collect();
            receipts::set_statuses(conn, &changes)
        })
        .await;
    let waiting = locked(&taken).take().unwrap_or_else(|| {
        // The job never ran (the writer stopped): whatever waits is answered with its failure.
        let mut queue = locked(&queue);
        queue.scheduled = false;
        std::mem::take(&mut queue.waiting)
    });
    match result {
        Ok(outcomes) => {
            for (waiting, outcome) in waiting.into_iter().zip(outcomes) {
                let _ = waiting.reply.send(outcome);
            }
        }
        Err(err) => {
            for waiting in waiting {
                let _ = waiting.reply.send(Err(err.clone()));
            }
        }
    }
}
