//! One sender of the pair engine: writes `send` frames to its recipient over its own socket,
//! closed loop (a fixed number unacknowledged) or open loop (on a schedule), and times each
//! `ack`. Its client ids are `TAG-SEQ`, unique to the run, so a reused user never collides with
//! an earlier run's idempotent sends.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use tokio::time::{Instant, sleep_until};

use super::histogram::Latencies;
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
    /// Padding to cut bodies from: at least one character, at least `body_bytes`.
    pub pad: String,
    pub body_bytes: usize,
    pub clock: Instant,
    /// Acks of sends made before this (the warm-up) are not timed.
    pub measured_from: Instant,
    /// When the measured window closes: no new sends after it.
    pub end: Instant,
    pub live: Arc<Live>,
}

impl Sender {
    pub async fn run(mut self) -> SenderOutcome {
        let mut out = SenderOutcome {
            sent: 0,
            acked: Vec::new(),
            ack: Latencies::default(),
            errors: ErrorCounts::new(),
            last_ack: None,
        };
        // Send time of each unacknowledged sequence number.
        let mut pending: HashMap<u64, Instant> = HashMap::new();
        let interval = match self.mode {
            Mode::Open { rate } => Duration::from_secs_f64(self.pairs as f64 / rate.max(0.001)),
            Mode::Closed { .. } => Duration::ZERO,
        };
        // Open loop: stagger the senders over one interval so their sends do not bunch up.
        let mut next_due =
            self.clock + interval.mul_f64(self.index as f64 / self.pairs.max(1) as f64);
        let mut sending = true;
        if let Mode::Closed { in_flight } = self.mode {
            for _ in 0..in_flight.max(1) {
                if self.send(&mut pending, &mut out).await.is_err() {
                    return out;
                }
            }
        }
        let open = matches!(self.mode, Mode::Open { .. });
        let drain_until = self.end + DRAIN;
        loop {
            if !sending && pending.is_empty() {
                break;
            }
            tokio::select! {
                read = socket::read(&mut self.ws) => match read {
                    Read::Text(text) => {
                        let more = self.on_frame(&text, &mut pending, &mut out);
                        let closed = matches!(self.mode, Mode::Closed { .. });
                        if more && closed && sending && Instant::now() < self.end
                            && self.send(&mut pending, &mut out).await.is_err()
                        {
                            break;
                        }
                    }
                    Read::Closed(code) => {
                        count(&mut out.errors, &self.live, &closed_code(code));
                        for _ in 0..pending.len() {
                            count(&mut out.errors, &self.live, "no_ack_socket_closed");
                        }
                        break;
                    }
                    Read::Other => {}
                },
                _ = sleep_until(next_due), if open && sending => {
                    let now = Instant::now();
                    while next_due <= now && next_due < self.end {
                        if self.send(&mut pending, &mut out).await.is_err() {
                            return out;
                        }
                        next_due += interval;
                    }
                    if next_due >= self.end {
                        sending = false;
                    }
                }
                _ = sleep_until(self.end), if sending && !open => sending = false,
                _ = sleep_until(drain_until), if !sending => {
                    for _ in 0..pending.len() {
                        count(&mut out.errors, &self.live, "no_ack_within_drain");
                    }
                    break;
                }
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), self.ws.close(None)).await;
        out
    }

    /// Handles a server frame; true if it settled one of this sender's sends.
    fn on_frame(
        &self,
        text: &str,
        pending: &mut HashMap<u64, Instant>,
        out: &mut SenderOutcome,
    ) -> bool {
        let Some(frame) = Frame::parse(text) else {
            count(&mut out.errors, &self.live, "unreadable_frame");
            return false;
        };
        let seq = frame.client_id.as_deref().and_then(|id| self.seq_of(id));
        match &*frame.kind {
            "ack" => {
                let (Some(seq), Some(message)) = (seq, frame.message) else {
                    return false;
                };
                let Some(at) = pending.remove(&seq) else {
                    return false;
                };
                let now = Instant::now();
                if at >= self.measured_from {
                    out.ack.record(now - at);
                }
                out.acked.push(message.id);
                out.last_ack = Some(now);
                self.live.acked.fetch_add(1, Relaxed);
                true
            }
            "error" => {
                count(
                    &mut out.errors,
                    &self.live,
                    frame.code.as_deref().unwrap_or("error"),
                );
                seq.is_some_and(|seq| pending.remove(&seq).is_some())
            }
            _ => false,
        }
    }

    /// The sequence number of one of this run's client ids.
    fn seq_of(&self, client_id: &str) -> Option<u64> {
        let rest = client_id
            .strip_prefix(self.tag.as_str())?
            .strip_prefix('-')?;
        rest.parse().ok()
    }

    async fn send(
        &mut self,
        pending: &mut HashMap<u64, Instant>,
        out: &mut SenderOutcome,
    ) -> anyhow::Result<()> {
        let seq = out.sent;
        let now = Instant::now();
        let stamp = (now - self.clock).as_micros();
        let mut frame = String::with_capacity(self.body_bytes + 96);
        let _ = write!(
            frame,
            r#"{{"type":"send","to":"{}","client_id":"{}-{seq}","body":"{stamp} "#,
            self.to, self.tag
        );
        let used = stamp.to_string().len() + 1;
        let padding = self
            .body_bytes
            .saturating_sub(used)
            .clamp(1, self.pad.len());
        frame.push_str(&self.pad[..padding]);
        frame.push_str("\"}");
        pending.insert(seq, now);
        out.sent += 1;
        self.live.sent.fetch_add(1, Relaxed);
        if let Err(err) = socket::send_text(&mut self.ws, frame).await {
            count(&mut out.errors, &self.live, "send_failed");
            pending.remove(&seq);
            return Err(err);
        }
        Ok(())
    }
}
