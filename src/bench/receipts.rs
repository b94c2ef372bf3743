//! Batched `delivered` receipts, as a client that renders what arrived in one go sends them:
//! delivered ids wait until `RECEIPT_BATCH` have arrived or the first has waited
//! `RECEIPT_DELAY`, then go in one frame. `Naming::Each` names every id (the pair engine);
//! `Naming::UpTo` names only the newest of each conversation, which the server's up-to rule
//! makes enough (the group engine, where each member receives every message of its groups).

use std::fmt::Write as _;
use std::time::Duration;

use tokio::time::Instant;

use super::socket::{self, Ws};

/// The most deliveries one receipt covers.
const RECEIPT_BATCH: usize = 256;
/// How long a delivered id may wait for more to share its receipt.
const RECEIPT_DELAY: Duration = Duration::from_millis(5);

/// Which ids a receipt names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    Each,
    UpTo,
}

/// The deliveries waiting for a receipt.
pub struct Receipts {
    /// Off: deliveries are not receipted at all.
    on: bool,
    naming: Naming,
    /// `(conversation, id)` to name: every delivery, or the newest of each conversation.
    ids: Vec<(i64, i64)>,
    /// Deliveries covered since the last receipt.
    waiting: usize,
    flush_at: Instant,
}

impl Receipts {
    pub fn new(on: bool, naming: Naming) -> Receipts {
        Receipts {
            on,
            naming,
            ids: Vec::new(),
            waiting: 0,
            flush_at: Instant::now(),
        }
    }

    /// Notes a delivered message; true when the batch is full and should go now.
    pub fn push(&mut self, conversation: i64, id: i64) -> bool {
        if !self.on {
            return false;
        }
        if self.waiting == 0 {
            self.flush_at = Instant::now() + RECEIPT_DELAY;
        }
        self.waiting += 1;
        let newest = match self.naming {
            Naming::Each => None,
            Naming::UpTo => self.ids.iter_mut().find(|(c, _)| *c == conversation),
        };
        match newest {
            Some(entry) => entry.1 = entry.1.max(id),
            None => self.ids.push((conversation, id)),
        }
        self.waiting >= RECEIPT_BATCH
    }

    /// When the waiting deliveries must be receipted, if any wait.
    pub fn due(&self) -> Option<Instant> {
        (self.waiting > 0).then_some(self.flush_at)
    }

    /// Sends one receipt for everything waiting (nothing when nothing waits).
    pub async fn flush(&mut self, ws: &mut Ws) -> anyhow::Result<()> {
        let Some(frame) = self.frame() else {
            return Ok(());
        };
        socket::send_text(ws, frame).await
    }

    /// The receipt frame for everything waiting, which then no longer waits.
    fn frame(&mut self) -> Option<String> {
        if self.waiting == 0 {
            return None;
        }
        let mut frame = String::with_capacity(64 + self.ids.len() * 8);
        frame.push_str(r#"{"type":"receipt","status":"delivered","message_ids":["#);
        for (i, (_, id)) in self.ids.iter().enumerate() {
            let comma = if i == 0 { "" } else { "," };
            let _ = write!(frame, "{comma}{id}");
        }
        frame.push_str("]}");
        self.ids.clear();
        self.waiting = 0;
        Some(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn up_to_names_the_newest_of_each_conversation() {
        let mut r = Receipts::new(true, Naming::UpTo);
        assert_eq!(r.due(), None);
        for (conversation, id) in [(1, 10), (2, 11), (1, 12), (1, 9)] {
            assert!(!r.push(conversation, id));
        }
        assert!(r.due().is_some());
        assert_eq!(
            r.frame().as_deref(),
            Some(r#"{"type":"receipt","status":"delivered","message_ids":[12,11]}"#)
        );
        assert_eq!((r.frame(), r.due()), (None, None));
    }

    #[test]
    fn each_names_every_id_and_a_full_batch_asks_to_go() {
        let mut r = Receipts::new(true, Naming::Each);
        let full: Vec<bool> = (1..=RECEIPT_BATCH as i64).map(|id| r.push(7, id)).collect();
        assert_eq!(full.iter().filter(|&&f| f).count(), 1);
        assert!(full[RECEIPT_BATCH - 1]);
        assert!(
            r.frame()
                .unwrap()
                .ends_with(&format!(",{RECEIPT_BATCH}]}}"))
        );
        let mut off = Receipts::new(false, Naming::Each);
        assert!(!off.push(7, 1));
        assert_eq!(off.due(), None);
    }
}
