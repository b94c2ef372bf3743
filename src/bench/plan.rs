//! What a run of an engine (`pairs` for `throughput` and `latency`, `fanout` for `group`) is
//! asked to send: which loop, what bodies, how long, and how long it waits at the end. Who
//! sends to whom is the engine's own argument. Below the engines and their tasks, which all
//! read it.

use std::time::Duration;

/// What to send.
#[derive(Debug, Clone)]
pub struct Plan {
    pub mode: Mode,
    pub body_bytes: usize,
    pub duration: Duration,
    /// How long senders send before `duration` starts; those sends' latencies are not recorded.
    pub warmup: Duration,
    /// Recipients send `delivered` receipts (as real clients do).
    pub receipts: bool,
}

/// Closed loop (`in_flight` sends unacknowledged: per sender in the pair engine, per group in
/// the group engine) or open loop (a total rate spread evenly over the senders, whatever the
/// server's pace).
#[derive(Debug, Clone, Copy)]
pub enum Mode {
    Closed { in_flight: usize },
    Open { rate: f64 },
}

impl Mode {
    /// `--rate` when given, else closed loop with `--in-flight` (at least 1).
    pub fn from_flags(rate: Option<f64>, in_flight: usize) -> anyhow::Result<Mode> {
        match rate {
            Some(rate) => {
                anyhow::ensure!(rate > 0.0, "--rate must be positive");
                Ok(Mode::Open { rate })
            }
            None => Ok(Mode::Closed {
                in_flight: in_flight.max(1),
            }),
        }
    }
}

/// How long senders wait for their last acks, and recipients for the last deliveries.
pub const DRAIN: Duration = Duration::from_secs(10);
