//! One member of the group engine: one `/ws/notifications/` socket that carries every group the
//! user is in. It sends into the groups where it is a sender (an `Outbox` with one slot per
//! such group: closed loop, each slot keeping its share of the group's in-flight sends, or open
//! loop, its slots in turn on one `Schedule`), and it records each message of the run once (a
//! second copy is a duplicate), timing those from others and answering them with batched
//! up-to `delivered` receipts. When it has nothing more to send and nothing unacknowledged it
//! says so (`senders_left`), and it keeps receiving until the run stops it.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use super::outbox::{self, Address, Outbox, Schedule};
use super::plan::DRAIN;
use super::receipts::Receipts;
use super::report::ErrorCounts;
use super::socket::{self, Frame, MessageFrame, Read, Ws};
use super::tally::{Arrival, Live, MemberOutcome, closed_code, count};

/// A group this member sends into.
pub struct Slot {
    pub to: Address,
    /// Closed loop: this member's share of the group's sends in flight.
    pub in_flight: usize,
}

pub struct Member {
    pub ws: Ws,
    pub me: String,
    /// Conversation ids of the run's groups this member is in.
    pub groups: HashSet<i64>,
    /// `TAG-`: only messages whose client id starts with it belong to this run.
    pub prefix: String,
    pub outbox: Outbox,
    pub slots: Vec<Slot>,
    /// Open loop: this member's timetable (its slots take turns); closed loop: none.
    pub schedule: Option<Schedule>,
    pub receipts: Receipts,
    pub live: Arc<Live>,
    pub clock: Instant,
    /// Messages sent within this long of `clock` (the warm-up) are not timed.
    pub warmup: Duration,
    /// When the measured window closes: no new sends after it.
    pub end: Instant,
    /// Members still sending or waiting for acks; this one leaves it once.
    pub senders_left: Arc<AtomicUsize>,
    /// Cancelled when the run is over.
    pub stop: CancellationToken,
}

impl Member {
    pub async fn run(mut self) -> MemberOutcome {
        let mut out = MemberOutcome {
            sends: Default::default(),
            seen: HashSet::new(),
            duplicates: 0,
            delivered: 0,
            arrivals: Vec::new(),
            errors: ErrorCounts::new(),
            last_delivery: None,
        };
        let sender = !self.slots.is_empty();
        let mut sending = sender && self.start(&mut out).await.is_ok();
        // Only senders are counted in `senders_left`.
        let mut left = !sender;
        let closed = self.schedule.is_none();
        let drain_until = self.end + DRAIN;
        let stop = self.stop.clone();
        loop {
            if !left && !sending && self.outbox.in_flight() == 0 {
                left = true;
                self.senders_left.fetch_sub(1, Ordering::AcqRel);
            }
            let send_due = self.schedule.as_ref().map_or(self.end, Schedule::next_due);
            let receipt_due = self.receipts.due();
            tokio::select! {
                read = socket::read(&mut self.ws) => match read {
                    Read::Text(text) => {
                        if self.on_text(&text, sending, &mut out).await.is_err() {
                            break;
                        }
                    }
                    Read::Closed(code) => {
                        count(&mut out.errors, &self.live, &closed_code(code));
                        self.outbox.abandon("no_ack_socket_closed", &mut out.errors);
                        break;
                    }
                    Read::Other => {}
                },
                _ = sleep_until(send_due), if sending => {
                    if closed {
                        sending = false;
                    } else if self.send_due(&mut out).await.is_err() {
                        break;
                    } else {
                        sending = !self.schedule.as_ref().is_some_and(Schedule::done);
                    }
                }
                _ = sleep_until(drain_until), if !sending && self.outbox.in_flight() > 0 => {
                    self.outbox.abandon("no_ack_within_drain", &mut out.errors);
                }
                _ = sleep_until(receipt_due.unwrap_or(self.end)), if receipt_due.is_some() => {
                    if self.flush(&mut out).await.is_err() {
                        break;
                    }
                }
                () = stop.cancelled() => {
                    let _ = self.flush(&mut out).await;
                    break;
                }
            }
        }
        if !left {
            self.senders_left.fetch_sub(1, Ordering::AcqRel);
        }
        socket::close(self.ws).await;
        out.sends = self.outbox.finish();
        out
    }

    /// Closed loop: fills every slot's share of sends in flight.
    async fn start(&mut self, out: &mut MemberOutcome) -> anyhow::Result<()> {
        if self.schedule.is_some() {
            return Ok(());
        }
        for slot in 0..self.slots.len() {
            for _ in 0..self.slots[slot].in_flight {
                self.send(slot, out).await?;
            }
        }
        Ok(())
    }

    /// Open loop: makes the sends that are due, the slots taking turns.
    async fn send_due(&mut self, out: &mut MemberOutcome) -> anyhow::Result<()> {
        let due = match self.schedule.as_mut() {
            Some(schedule) => schedule.take_due(Instant::now()),
            None => 0,
        };
        for _ in 0..due {
            let slot = (self.outbox.sent() % self.slots.len() as u64) as usize;
            self.send(slot, out).await?;
        }
        Ok(())
    }

    async fn send(&mut self, slot: usize, out: &mut MemberOutcome) -> anyhow::Result<()> {
        let to = &self.slots[slot].to;
        self.outbox
            .send(&mut self.ws, to, slot, &mut out.errors)
            .await
    }

    /// Handles a server frame: settles a send (and, closed loop, makes the next one into the
    /// same group) or records a message. An error if the socket failed.
    async fn on_text(
        &mut self,
        text: &str,
        sending: bool,
        out: &mut MemberOutcome,
    ) -> anyhow::Result<()> {
        let Some(frame) = Frame::parse(text) else {
            count(&mut out.errors, &self.live, "unreadable_frame");
            return Ok(());
        };
        match &*frame.kind {
            "ack" | "error" => {
                let settled = self.outbox.settle(&frame, &mut out.errors);
                let refill = self.schedule.is_none() && sending && Instant::now() < self.end;
                if let Some(slot) = settled.filter(|_| refill) {
                    self.send(slot, out).await?;
                }
            }
            "message" => {
                let Some(message) = frame.message else {
                    return Ok(());
                };
                if let Some((conversation, id)) = self.on_message(&message, out)
                    && self.receipts.push(conversation, id)
                {
                    self.flush(out).await?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Records a message of the run; the conversation and id of one from another member,
    /// delivered here for the first time.
    fn on_message(
        &self,
        message: &MessageFrame<'_>,
        out: &mut MemberOutcome,
    ) -> Option<(i64, i64)> {
        let ours = message
            .client_id
            .as_deref()
            .is_some_and(|id| id.starts_with(&self.prefix));
        if !ours || !self.groups.contains(&message.conversation_id) {
            return None;
        }
        if !out.seen.insert(message.id) {
            out.duplicates += 1;
            return None;
        }
        if message.sender == self.me {
            self.live.echoed.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let now = Instant::now();
        if let Some(micros) = outbox::latency(&message.body, self.clock, self.warmup, now) {
            out.arrivals.push(Arrival {
                id: message.id,
                micros,
            });
        }
        out.delivered += 1;
        out.last_delivery = Some(now);
        self.live.delivered.fetch_add(1, Ordering::Relaxed);
        Some((message.conversation_id, message.id))
    }

    /// Sends the waiting receipt, counting a failure.
    async fn flush(&mut self, out: &mut MemberOutcome) -> anyhow::Result<()> {
        let sent = self.receipts.flush(&mut self.ws).await;
        if sent.is_err() {
            count(&mut out.errors, &self.live, "receipt_failed");
        }
        sent
    }
}
