//! The sending side of a bench socket, shared by the pair engine's `sender` and the group
//! engine's `member`: it numbers sends `TAG-SEQ` (unique to the run, so a reused user never
//! collides with an earlier run's idempotent sends), writes the send time at the start of each
//! body (so whoever receives it measures send→deliver latency with no clock shared over the
//! wire), keeps what is unacknowledged and settles it on `ack` or `error`, timing each ack.
//! `Schedule` is the open loop's timetable.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use tokio::time::Instant;

use super::report::ErrorCounts;
use super::socket::{self, Frame, Ws};
use super::tally::{Acked, Live, Sends, count};

/// Where a send goes: a direct conversation (`to`) or any conversation by id.
#[derive(Debug, Clone)]
pub enum Address {
    User(String),
    Conversation(i64),
}

/// A socket's sends in flight and what became of the others.
pub struct Outbox {
    /// The run's tag (client ids are `TAG-SEQ`).
    tag: String,
    /// Padding to cut bodies from: at least one character, at least `body_bytes`.
    pad: String,
    body_bytes: usize,
    clock: Instant,
    /// Acks of sends made before this (the warm-up) are not timed.
    measured_from: Instant,
    live: Arc<Live>,
    /// Send time and slot (the caller's label for where it went) of each unacknowledged
    /// sequence number.
    pending: HashMap<u64, (Instant, usize)>,
    sends: Sends,
}

impl Outbox {
    pub fn new(
        tag: String,
        body_bytes: usize,
        clock: Instant,
        measured_from: Instant,
        live: Arc<Live>,
    ) -> Outbox {
        Outbox {
            tag,
            pad: "x".repeat(body_bytes.max(1)),
            body_bytes,
            clock,
            measured_from,
            live,
            pending: HashMap::new(),
            sends: Sends::default(),
        }
    }

    /// Sends made so far.
    pub fn sent(&self) -> u64 {
        self.sends.sent
    }

    /// Sends not yet acknowledged or refused.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    /// Writes one `send` frame to `to`, remembered under `slot` until it is settled.
    pub async fn send(
        &mut self,
        ws: &mut Ws,
        to: &Address,
        slot: usize,
        errors: &mut ErrorCounts,
    ) -> anyhow::Result<()> {
        let seq = self.sends.sent;
        let now = Instant::now();
        let stamp = (now - self.clock).as_micros();
        let mut frame = String::with_capacity(self.body_bytes + 96);
        frame.push_str(r#"{"type":"send","#);
        let _ = match to {
            Address::User(name) => write!(frame, r#""to":"{name}","#),
            Address::Conversation(id) => write!(frame, r#""conversation_id":{id},"#),
        };
        let _ = write!(
            frame,
            r#""client_id":"{}-{seq}","body":"{stamp} "#,
            self.tag
        );
        let used = stamp.to_string().len() + 1;
        let padding = self
            .body_bytes
            .saturating_sub(used)
            .clamp(1, self.pad.len());
        frame.push_str(&self.pad[..padding]);
        frame.push_str("\"}");
        self.pending.insert(seq, (now, slot));
        self.sends.sent += 1;
        self.live.sent.fetch_add(1, Relaxed);
        if let Err(err) = socket::send_text(ws, frame).await {
            count(errors, &self.live, "send_failed");
            self.pending.remove(&seq);
            return Err(err);
        }
        Ok(())
    }

    /// Handles an `ack` or `error` frame (counting every error frame); the slot of the send it
    /// settled, if it was one of this outbox's.
    pub fn settle(&mut self, frame: &Frame<'_>, errors: &mut ErrorCounts) -> Option<usize> {
        let seq = frame.client_id.as_deref().and_then(|id| self.seq_of(id));
        match &*frame.kind {
            "ack" => {
                let message = frame.message.as_ref()?;
                let (at, slot) = self.pending.remove(&seq?)?;
                let now = Instant::now();
                if at >= self.measured_from {
                    self.sends.ack.record(now - at);
                }
                self.sends.acked.push(Acked {
                    id: message.id,
                    conversation_id: message.conversation_id,
                });
                self.sends.last_ack = Some(now);
                self.live.acked.fetch_add(1, Relaxed);
                Some(slot)
            }
            "error" => {
                count(errors, &self.live, frame.code.as_deref().unwrap_or("error"));
                self.pending.remove(&seq?).map(|(_, slot)| slot)
            }
            _ => None,
        }
    }

    /// Gives up on every send in flight, counting each as `code`.
    pub fn abandon(&mut self, code: &str, errors: &mut ErrorCounts) {
        for _ in 0..self.pending.len() {
            count(errors, &self.live, code);
        }
        self.pending.clear();
    }

    pub fn finish(self) -> Sends {
        self.sends
    }

    /// The sequence number of one of this run's client ids.
    fn seq_of(&self, client_id: &str) -> Option<u64> {
        let rest = client_id
            .strip_prefix(self.tag.as_str())?
            .strip_prefix('-')?;
        rest.parse().ok()
    }
}

/// The send time written at the start of a body, in microseconds since the run's clock.
pub fn sent_at(body: &str) -> Option<u64> {
    body.split(' ').next().and_then(|stamp| stamp.parse().ok())
}

/// Send→deliver latency in microseconds of a message with `body` delivered `now`, unless it was
/// sent during the warm-up (the first `warmup` after `clock`).
pub fn latency(body: &str, clock: Instant, warmup: Duration, now: Instant) -> Option<u64> {
    let sent_at = sent_at(body).filter(|&at| at >= warmup.as_micros() as u64)?;
    let now_micros = (now - clock).as_micros() as u64;
    Some(now_micros.saturating_sub(sent_at))
}

/// The open loop's timetable for one socket: `share` of a total `rate`, from the run's clock to
/// `end`, its first send `offset` (a fraction of one interval) in, so that sockets sharing a
/// rate do not bunch up.
pub struct Schedule {
    interval: Duration,
    next_due: Instant,
    end: Instant,
}

impl Schedule {
    pub fn new(rate: f64, share: f64, offset: f64, clock: Instant, end: Instant) -> Schedule {
        let interval = Duration::from_secs_f64(1.0 / (rate * share).max(0.001));
        Schedule {
            interval,
            next_due: clock + interval.mul_f64(offset),
            end,
        }
    }

    /// When the next send is due.
    pub fn next_due(&self) -> Instant {
        self.next_due
    }

    /// How many sends are due by `now`, moving past them.
    pub fn take_due(&mut self, now: Instant) -> u64 {
        let mut due = 0;
        while self.next_due <= now && self.next_due < self.end {
            due += 1;
            self.next_due += self.interval;
        }
        due
    }

    /// No send is due before `end` any more.
    pub fn done(&self) -> bool {
        self.next_due >= self.end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_spreads_its_share_over_the_window() {
        let clock = Instant::now();
        let end = clock + Duration::from_secs(1);
        // A quarter of 100/s: every 40 ms, starting half an interval in.
        let mut s = Schedule::new(100.0, 0.25, 0.5, clock, end);
        assert_eq!(s.next_due(), clock + Duration::from_millis(20));
        assert_eq!(s.take_due(clock + Duration::from_millis(19)), 0);
        assert_eq!(s.take_due(clock + Duration::from_millis(100)), 3);
        assert!(!s.done());
        assert_eq!(s.take_due(end + Duration::from_secs(5)), 22);
        assert!(s.done());
    }

    #[test]
    fn bodies_carry_their_send_time() {
        let clock = Instant::now();
        let now = clock + Duration::from_millis(5);
        assert_eq!(sent_at("1500 xxxx"), Some(1500));
        assert_eq!(latency("1500 x", clock, Duration::ZERO, now), Some(3500));
        assert_eq!(
            latency("1500 x", clock, Duration::from_millis(2), now),
            None
        );
        assert_eq!(latency("hello", clock, Duration::ZERO, now), None);
    }
}
