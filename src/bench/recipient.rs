//! One recipient of the pair engine: reads its socket, records each message of this run once
//! (a second copy of an id is a duplicate), measures send→deliver latency from the timestamp at
//! the start of the body, and sends `delivered` receipts in batches, as a client that renders
//! what arrived in one go would.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use super::histogram::Latencies;
use super::report::ErrorCounts;
use super::socket::{self, Frame, Read, Ws};
use super::tally::{Live, RecipientOutcome, closed_code, count};

/// The most ids one receipt carries.
const RECEIPT_BATCH: usize = 256;
/// How long a delivered id may wait for more to share its receipt.
const RECEIPT_DELAY: Duration = Duration::from_millis(5);

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
        let mut unreceipted: Vec<i64> = Vec::new();
        let mut flush_at = Instant::now();
        let stop = self.stop.clone();
        loop {
            tokio::select! {
                read = socket::read(&mut self.ws) => match read {
                    Read::Text(text) => {
                        if let Some(id) = self.on_frame(&text, &mut out) {
                            if unreceipted.is_empty() {
                                flush_at = Instant::now() + RECEIPT_DELAY;
                            }
                            unreceipted.push(id);
                            if unreceipted.len() >= RECEIPT_BATCH
                                && self.flush(&mut unreceipted, &mut out).await.is_err()
                            {
                                break;
                            }
                        }
                    }
                    Read::Closed(code) => {
                        count(&mut out.errors, &self.live, &closed_code(code));
                        break;
                    }
                    Read::Other => {}
                },
                _ = sleep_until(flush_at), if !unreceipted.is_empty() => {
                    if self.flush(&mut unreceipted, &mut out).await.is_err() {
                        break;
                    }
                }
                () = stop.cancelled() => {
                    let _ = self.flush(&mut unreceipted, &mut out).await;
                    break;
                }
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), self.ws.close(None)).await;
        out
    }

    /// Records a frame; returns the id of a message delivered for the first time.
    fn on_frame(&self, text: &str, out: &mut RecipientOutcome) -> Option<i64> {
        let Some(frame) = Frame::parse(text) else {
            count(&mut out.errors, &self.live, "unreadable_frame");
            return None;
        };
        match &*frame.kind {
            "message" => {
                let message = frame.message?;
                if message.recipient != self.me || !message.client_id.starts_with(&self.tag) {
                    return None;
                }
                if !out.ids.insert(message.id) {
                    out.duplicates += 1;
                    return None;
                }
                let now = Instant::now();
                let sent_at: Option<u64> = message
                    .body
                    .split(' ')
                    .next()
                    .and_then(|stamp| stamp.parse().ok());
                let warmup = self.warmup.as_micros() as u64;
                if let Some(sent_at) = sent_at.filter(|&sent_at| sent_at >= warmup) {
                    let now_micros = (now - self.clock).as_micros() as u64;
                    out.deliver
                        .record_micros(now_micros.saturating_sub(sent_at));
                }
                out.last_delivery = Some(now);
                self.live.delivered.fetch_add(1, Relaxed);
                Some(message.id)
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

    /// Sends one `delivered` receipt for every id waiting (when receipts are on).
    async fn flush(
        &mut self,
        ids: &mut Vec<i64>,
        out: &mut RecipientOutcome,
    ) -> anyhow::Result<()> {
        if ids.is_empty() || !self.receipts {
            ids.clear();
            return Ok(());
        }
        let mut frame = String::with_capacity(64 + ids.len() * 8);
        frame.push_str(r#"{"type":"receipt","status":"delivered","message_ids":["#);
        for (i, id) in ids.iter().enumerate() {
            let comma = if i == 0 { "" } else { "," };
            let _ = write!(frame, "{comma}{id}");
        }
        frame.push_str("]}");
        ids.clear();
        let sent = socket::send_text(&mut self.ws, frame).await;
        if sent.is_err() {
            count(&mut out.errors, &self.live, "receipt_failed");
        }
        sent
    }
}
