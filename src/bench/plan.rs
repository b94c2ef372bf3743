//! What a run of the pair engine (`throughput`, `latency`) is asked to do: how many pairs, which
//! loop, how long, and how long it waits at the end. Below `pairs`, `sender` and `recipient`,
//! which all read it.

use std::time::Duration;

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub pairs: usize,
    pub mode: Mode,
    pub body_bytes: usize,
    pub duration: Duration,
    /// How long senders send before `duration` starts; those sends' latencies are not recorded.
    pub warmup: Duration,
    /// Recipients send `delivered` receipts (as real clients do).
    pub receipts: bool,
}

/// Closed loop (each sender keeps `in_flight` sends unacknowledged) or open loop (a total rate
/// spread evenly over the senders, whatever the server's pace).
#[derive(Debug, Clone, Copy)]
pub enum Mode {
    Closed { in_flight: usize },
    Open { rate: f64 },
}

/// How long senders wait for their last acks, and recipients for the last deliveries.
pub const DRAIN: Duration = Duration::from_secs(10);
