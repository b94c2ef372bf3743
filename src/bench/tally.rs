//! What the engines' tasks count: the counters they share with the progress line, what each
//! sender, recipient and group member saw, and how an error is counted. Below `pairs`,
//! `fanout`, their tasks and `verify`, which all read or fill it.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use tokio::time::Instant;

use super::histogram::Latencies;
use super::report::{ErrorCounts, thousands};

/// Counters shared with the progress line.
#[derive(Default)]
pub struct Live {
    pub sent: AtomicU64,
    pub acked: AtomicU64,
    pub delivered: AtomicU64,
    /// In a group, a sender's own messages pushed back to its socket (the other members'
    /// copies count in `delivered`).
    pub echoed: AtomicU64,
    pub errors: AtomicU64,
}

/// A send the server acknowledged: the stored message's id and its conversation.
#[derive(Debug, Clone, Copy)]
pub struct Acked {
    pub id: i64,
    pub conversation_id: i64,
}

/// What one socket sent and had acknowledged (an `Outbox`'s result).
#[derive(Default)]
pub struct Sends {
    pub sent: u64,
    /// The messages acknowledged, in ack order.
    pub acked: Vec<Acked>,
    pub ack: Latencies,
    pub last_ack: Option<Instant>,
}

/// What one sender saw.
pub struct SenderOutcome {
    pub sends: Sends,
    pub errors: ErrorCounts,
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

/// A message from another member, first delivered on a member's socket after the warm-up, and
/// its send→deliver latency in microseconds.
#[derive(Debug, Clone, Copy)]
pub struct Arrival {
    pub id: i64,
    pub micros: u64,
}

/// What one group member sent, and saw on its socket.
pub struct MemberOutcome {
    pub sends: Sends,
    /// Every message id of the run seen on the socket (its own included), once.
    pub seen: HashSet<i64>,
    /// Ids seen again on the socket.
    pub duplicates: u64,
    /// Messages from others delivered (each once).
    pub delivered: u64,
    /// Those of them sent after the warm-up, timed.
    pub arrivals: Vec<Arrival>,
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

/// The progress line of a run: what its tasks have counted so far.
pub fn progress_line(live: Arc<Live>) -> impl Fn() -> String + Send + 'static {
    move || {
        format!(
            "sent {}  acked {}  delivered {}  errors {}",
            thousands(live.sent.load(Relaxed)),
            thousands(live.acked.load(Relaxed)),
            thousands(live.delivered.load(Relaxed)),
            thousands(live.errors.load(Relaxed)),
        )
    }
}
