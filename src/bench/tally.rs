//! What the pair engine's tasks count: the counters they share with the progress line, what
//! each sender and recipient saw, and how an error is counted. Below `pairs`, `sender`,
//! `recipient` and `verify`, which all read or fill it.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use tokio::time::Instant;

use super::histogram::Latencies;
use super::report::ErrorCounts;

/// Counters shared with the progress line.
#[derive(Default)]
pub struct Live {
    pub sent: AtomicU64,
    pub acked: AtomicU64,
    pub delivered: AtomicU64,
    pub errors: AtomicU64,
}

/// What one sender saw.
pub struct SenderOutcome {
    pub sent: u64,
    /// Ids of the messages acknowledged, in ack order.
    pub acked: Vec<i64>,
    pub ack: Latencies,
    pub errors: ErrorCounts,
    pub last_ack: Option<Instant>,
}

/// What one recipient saw.
pub struct RecipientOutcome {
    /// Every message id delivered on the socket, once.
    pub ids: HashSet<i64>,
    pub duplicates: u64,
    pub deliver: Latencies,
    pub errors: ErrorCounts,
    pub last_delivery: Option<Instant>,
}

/// Counts one error of kind `code`.
pub fn count(errors: &mut ErrorCounts, live: &Live, code: &str) {
    *errors.entry(code.to_owned()).or_default() += 1;
    live.errors.fetch_add(1, Relaxed);
}

/// `socket_closed_1013`, or `socket_closed` without a close frame.
pub fn closed_code(code: Option<u16>) -> String {
    match code {
        Some(code) => format!("socket_closed_{code}"),
        None => "socket_closed".into(),
    }
}
