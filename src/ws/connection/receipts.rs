//! Receipt frames stored beside the socket's loop, not in it: a receipt waits for the writer
//! (behind every other job of its batch), and a socket that waited with it would hold back
//! every push queued for it meanwhile. One receipt of a socket is stored at a time, in a task
//! of its own; the frames that arrive meanwhile wait their turn in order (a socket with too many
//! waiting stops reading frames until the one being stored is done). Its `status` events are
//! published before the task ends; its error, if any, is answered on the socket when it ends.

use std::collections::VecDeque;

use tokio::task::{JoinError, JoinHandle};

use super::{Connection, Ending};
use crate::domain::error::Error;
use crate::domain::{MessageId, MessageStatus};
use crate::receipts;

/// Receipt frames waiting behind the one being stored, at most (then the socket waits).
const MAX_WAITING: usize = 16;

/// A socket's receipts: the one being stored and those waiting their turn.
#[derive(Default)]
pub(super) struct Receipts {
    storing: Option<JoinHandle<Result<(), Error>>>,
    waiting: VecDeque<(MessageStatus, Vec<MessageId>)>,
}

impl Receipts {
    pub(super) fn storing(&self) -> bool {
        self.storing.is_some()
    }
}

/// Resolves when the receipt being stored is done (never, when none is).
pub(super) async fn stored(receipts: &mut Receipts) -> Result<Result<(), Error>, JoinError> {
    match receipts.storing.as_mut() {
        Some(handle) => handle.await,
        None => std::future::pending().await,
    }
}

impl Connection {
    /// Stores a receipt after those already queued on this socket.
    pub(super) async fn queue_receipt(
        &mut self,
        status: MessageStatus,
        ids: Vec<MessageId>,
    ) -> Result<(), Ending> {
        if !self.receipts.storing() {
            self.start_receipt(status, ids);
            return Ok(());
        }
        if self.receipts.waiting.len() >= MAX_WAITING {
            let outcome = stored(&mut self.receipts).await;
            self.on_receipt_stored(outcome).await?;
        }
        self.receipts.waiting.push_back((status, ids));
        if !self.receipts.storing() {
            self.start_next_receipt();
        }
        Ok(())
    }

    /// The receipt being stored is done: answers its error, if any, and starts the next.
    pub(super) async fn on_receipt_stored(
        &mut self,
        outcome: Result<Result<(), Error>, JoinError>,
    ) -> Result<(), Ending> {
        self.receipts.storing = None;
        self.start_next_receipt();
        match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => self.send_error(&error, None).await,
            Err(join) => {
                tracing::error!(error = %join, "a receipt's task failed");
                Ok(())
            }
        }
    }

    /// Hands the receipts still waiting to a task of their own, in order, as the socket ends:
    /// they were received, so they are stored (the one being stored goes on by itself).
    pub(super) fn detach_receipts(&mut self) {
        let waiting = std::mem::take(&mut self.receipts.waiting);
        self.receipts.storing = None;
        if waiting.is_empty() {
            return;
        }
        let (app, user) = (self.app.clone(), self.caller.user.clone());
        self.app.tasks.spawn(async move {
            for (status, ids) in waiting {
                let _ = receipts::mark(&app, &user, ids, status).await;
            }
        });
    }

    fn start_next_receipt(&mut self) {
        if let Some((status, ids)) = self.receipts.waiting.pop_front() {
            self.start_receipt(status, ids);
        }
    }

    fn start_receipt(&mut self, status: MessageStatus, ids: Vec<MessageId>) {
        let (app, user) = (self.app.clone(), self.caller.user.clone());
        self.receipts.storing = Some(
            self.app
                .tasks
                .spawn(async move { receipts::mark(&app, &user, ids, status).await.map(|_| ()) }),
        );
    }
}
