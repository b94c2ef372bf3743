//! The end-of-run check: every message a sender saw acknowledged must be in its recipient's
//! event stream (`GET /api/sync` from the cursor the run started at). That is the durable
//! guarantee; the live socket is checked against it too.

use std::collections::HashSet;

use futures_util::{StreamExt, TryStreamExt, stream};
use serde::Serialize;

use super::Target;
use super::tally::{RecipientOutcome, SenderOutcome};
use super::users::{self, BenchUser};

/// What the check found, summed over all pairs.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Verdict {
    /// Acknowledged, but not in the recipient's `/api/sync`: a broken promise.
    pub lost: u64,
    /// Acknowledged and stored, but never pushed on the recipient's live socket during the run.
    pub missed_live: u64,
    /// In the recipient's stream but never acknowledged to the sender (an ack still in flight
    /// when a socket closed, or lost on the way back).
    pub stored_unacked: u64,
    /// Events read back through `/api/sync`.
    pub events_read: u64,
}

/// Checks each pair `(senders[i] → recipients[i])` from `starts[i]`.
pub async fn check(
    target: &Target,
    senders: &[BenchUser],
    recipients: &[BenchUser],
    starts: &[i64],
    tag: &str,
    sent_by: &[SenderOutcome],
    received_by: &[RecipientOutcome],
) -> anyhow::Result<Verdict> {
    let prefix = format!("{tag}-");
    let verdicts: Vec<Verdict> = stream::iter(0..senders.len())
        .map(|i| {
            let pair = Pair {
                sender: &senders[i].username,
                recipient: &recipients[i],
                start: starts[i],
                prefix: &prefix,
            };
            pair.check(target, &sent_by[i].acked, &received_by[i].ids)
        })
        .buffered(16)
        .try_collect()
        .await?;
    Ok(verdicts
        .into_iter()
        .fold(Verdict::default(), |a, v| Verdict {
            lost: a.lost + v.lost,
            missed_live: a.missed_live + v.missed_live,
            stored_unacked: a.stored_unacked + v.stored_unacked,
            events_read: a.events_read + v.events_read,
        }))
}

struct Pair<'a> {
    sender: &'a str,
    recipient: &'a BenchUser,
    start: i64,
    prefix: &'a str,
}

impl Pair<'_> {
    async fn check(
        self,
        target: &Target,
        acked: &[i64],
        live: &HashSet<i64>,
    ) -> anyhow::Result<Verdict> {
        let mut stored = HashSet::new();
        let mut since = self.start;
        let mut events_read = 0;
        loop {
            let page = users::sync_page(target, &self.recipient.token, since).await?;
            events_read += page.events.len() as u64;
            for event in page.events {
                let Some(message) = event.message else {
                    continue;
                };
                if message.sender == self.sender
                    && message.recipient == self.recipient.username
                    && message.client_id.starts_with(self.prefix)
                {
                    stored.insert(message.id);
                }
            }
            since = page.next;
            if !page.has_more {
                break;
            }
        }
        let acked_set: HashSet<i64> = acked.iter().copied().collect();
        Ok(Verdict {
            lost: acked.iter().filter(|id| !stored.contains(id)).count() as u64,
            missed_live: acked
                .iter()
                .filter(|id| stored.contains(id) && !live.contains(id))
                .count() as u64,
            stored_unacked: stored.iter().filter(|id| !acked_set.contains(id)).count() as u64,
            events_read,
        })
    }
}
