//! One sender of the pair engine: writes `send` frames to its recipient over its own socket,
//! closed loop (a fixed number unacknowledged) or open loop (on a schedule), through an
//! `Outbox` that times each `ack`.

use std::sync::Arc;

use tokio::time::{Instant, sleep_until};

use super::outbox::{Address, Outbox, Schedule};
use super::plan::{DRAIN, Mode};
use super::report::ErrorCounts;
use super::socket::{self, Frame, Read, Ws};
use super::tally::{Live, SenderOutcome, closed_code, count};

pub struct Sender {
    pub ws: Ws,
    /// The recipient's username.
    pub to: String,
    /// The run's tag (client ids are `TAG-SEQ`).
    pub tag: String,
    pub mode: Mode,
    /// How many senders share an open-loop rate, and this one's place among them.
    pub pairs: usize,
    pub index: usize,
    pub body_bytes: usize,
    pub clock: Instant,
    /// Acks of sends made before this (the warm-up) are not timed.
    pub measured_from: Instant,
    /// When the measured window closes: no new sends after it.
    pub end: Instant,
    pub live: Arc<Live>,
}

impl Sender {
    pub async fn run(mut self) -> (SenderOutcome, Ws) {
        let mut errors = ErrorCounts::new();
        let mut outbox = Outbox::new(
            self.tag.clone(),
            self.body_bytes,
            self.clock,
            self.measured_from,
            self.live.clone(),
        );
        let to = Address::User(self.to.clone());
        let pairs = self.pairs.max(1) as f64;
        let mut schedule = match self.mode {
            Mode::Open { rate } => Some(Schedule::new(
                rate,
                1.0 / pairs,
                self.index as f64 / pairs,
                self.clock,
                self.end,
            )),
            Mode::Closed { .. } => None,
        };
        let mut sending = true;
        if let Mode::Closed { in_flight } = self.mode {
            for _ in 0..in_flight.max(1) {
                if outbox
                    .send(&mut self.ws, &to, 0, &mut errors)
                    .await
                    .is_err()
                {
                    return self.finish(outbox, errors);
                }
            }
        }
        let closed = schedule.is_none();
        let drain_until = self.end + DRAIN;
        loop {
            if !sending && outbox.in_flight() == 0 {
                break;
            }
            let due = schedule.as_ref().map_or(self.end, Schedule::next_due);
            tokio::select! {
                read = socket::read(&mut self.ws) => match read {
                    Read::Text(text) => {
                        let settled = match Frame::parse(&text) {
                            Some(frame) => outbox.settle(&frame, &mut errors).is_some(),
                            None => {
                                count(&mut errors, &self.live, "unreadable_frame");
                                false
                            }
                        };
                        if settled && closed && sending && Instant::now() < self.end
                            && outbox.send(&mut self.ws, &to, 0, &mut errors).await.is_err()
                        {
                            break;
                        }
                    }
                    Read::Closed(code) => {
                        count(&mut errors, &self.live, &closed_code(code));
                        outbox.abandon("no_ack_socket_closed", &mut errors);
                        break;
                    }
                    Read::Other => {}
                },
                _ = sleep_until(due), if !closed && sending => {
                    let Some(schedule) = schedule.as_mut() else { continue };
                    for _ in 0..schedule.take_due(Instant::now()) {
                        if outbox.send(&mut self.ws, &to, 0, &mut errors).await.is_err() {
                            return self.finish(outbox, errors);
                        }
                    }
                    sending = !schedule.done();
                }
                _ = sleep_until(self.end), if sending && closed => sending = false,
                _ = sleep_until(drain_until), if !sending => {
                    outbox.abandon("no_ack_within_drain", &mut errors);
                    break;
                }
            }
        }
        self.finish(outbox, errors)
    }

    /// The outcome, and the socket still open: the engine closes every sender's together once
    /// the run is over, so that no user goes offline while others' messages are in flight.
    fn finish(self, outbox: Outbox, errors: ErrorCounts) -> (SenderOutcome, Ws) {
        let outcome = SenderOutcome {
            sends: outbox.finish(),
            errors,
        };
        (outcome, self.ws)
    }
}
