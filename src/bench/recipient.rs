//! One recipient of the pair engine: reads its socket, records each message of this run once
//! (a second copy of an id is a duplicate), measures send→deliver latency from the timestamp at
//! the start of the body, and sends `delivered` receipts in batches naming every id.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use super::histogram::Latencies;
use super::outbox;
use super::receipts::{Naming, Receipts};
use super::report::ErrorCounts;
use super::socket::{self, Frame, Read, Ws};
use super::tally::{Live, RecipientOutcome, closed_code, count};

pub struct Recipient {
    pub ws: Ws,
    pub me: String,
    /// `TAG-`: only messages whose client id starts with it belong to this run.
    pub tag: String,
    pub receipts: bool,
    pub live: Arc<Live>,
    pub clock: Instant,
    /// Messages sent within this long of `clock` (the warm-up) are not timed.
    pub warmup: Duration,
    /// Cancelled when the run is over.
    pub stop: CancellationToken,
}

impl Recipient {
    pub async fn run(mut self) -> RecipientOutcome {
        let mut out = RecipientOutcome {
            ids: HashSet::new(),
            duplicates: 0,
            deliver: Latencies::default(),
            errors: ErrorCounts::new(),
            last_delivery: None,
        };
        let mut receipts = Receipts::new(self.receipts, Naming::Each);
        let stop = self.stop.clone();
        loop {
            let due = receipts.due();
            tokio::select! {
                read = socket::read(&mut self.ws) => match read {
                    Read::Text(text) => {
                        let Some((conversation, id)) = self.on_frame(&text, &mut out) else {
                            continue;
                        };
                        if receipts.push(conversation, id)
                            && self.flush(&mut receipts, &mut out).await.is_err()
                        {
                            break;
                        }
                    }
                    Read::Closed(code) => {
                        count(&mut out.errors, &self.live, &closed_code(code));
                        break;
                    }
                    Read::Other => {}
                },
                _ = sleep_until(due.unwrap_or(self.clock)), if due.is_some() => {
                    if self.flush(&mut receipts, &mut out).await.is_err() {
                        break;
                    }
                }
                () = stop.cancelled() => {
                    let _ = self.flush(&mut receipts, &mut out).await;
                    break;
                }
            }
        }
        socket::close(self.ws).await;
        out
    }

    /// Records a frame; returns the conversation and id of a message delivered for the first
    /// time.
    fn on_frame(&self, text: &str, out: &mut RecipientOutcome) -> Option<(i64, i64)> {
        let Some(frame) = Frame::parse(text) else {
            count(&mut out.errors, &self.live, "unreadable_frame");
            return None;
        };
        match &*frame.kind {
            "message" => {
                let message = frame.message?;
                let ours = message
                    .client_id
                    .as_deref()
                    .is_some_and(|id| id.starts_with(&self.tag));
                if message.recipient.as_deref() != Some(self.me.as_str()) || !ours {
                    return None;
                }
                if !out.ids.insert(message.id) {
                    out.duplicates += 1;
                    return None;
                }
                let now = Instant::now();
                if let Some(micros) = outbox::latency(&message.body, self.clock, self.warmup, now) {
                    out.deliver.record_micros(micros);
                }
                out.last_delivery = Some(now);
                self.live.delivered.fetch_add(1, Relaxed);
                Some((message.conversation_id, message.id))
            }
            "error" => {
                count(
                    &mut out.errors,
                    &self.live,
                    frame.code.as_deref().unwrap_or("error"),
                );
                None
            }
            _ => None,
        }
    }

    /// Sends the waiting receipt, counting a failure.
    async fn flush(
        &mut self,
        receipts: &mut Receipts,
        out: &mut RecipientOutcome,
    ) -> anyhow::Result<()> {
        let sent = receipts.flush(&mut self.ws).await;
        if sent.is_err() {
            count(&mut out.errors, &self.live, "receipt_failed");
        }
        sent
    }
}
