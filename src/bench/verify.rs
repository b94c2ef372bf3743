//! The end-of-run check: every message a sender saw acknowledged must be in the event stream
//! of each user it was for (`GET /api/sync` from the cursor the run started at), exactly once.
//! That is the durable guarantee; the live sockets are checked against it too. Pairs check the
//! recipient; groups check every member (the sender included) for every message of its groups.

use std::collections::{HashMap, HashSet};

use futures_util::{StreamExt, TryStreamExt, stream};
use serde::Serialize;

use super::Target;
use super::tally::{MemberOutcome, RecipientOutcome, SenderOutcome};
use super::users::{self, BenchUser, SyncMessage};

/// Streams read at once.
const CONCURRENCY: usize = 16;

/// What the check found, summed over every stream read.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Verdict {
    /// Acknowledged, but not in a stream it belongs to: a broken promise.
    pub lost: u64,
    /// Extra copies of a message in one stream (an id there twice counts 1).
    pub duplicates: u64,
    /// Acknowledged and stored, but never pushed on that user's live socket during the run.
    pub missed_live: u64,
    /// In a stream but never acknowledged to its sender (an ack still in flight when a socket
    /// closed, or lost on the way back).
    pub stored_unacked: u64,
    /// Events read back through `/api/sync`.
    pub events_read: u64,
}

impl Verdict {
    fn add(self, v: Verdict) -> Verdict {
        Verdict {
            lost: self.lost + v.lost,
            duplicates: self.duplicates + v.duplicates,
            missed_live: self.missed_live + v.missed_live,
            stored_unacked: self.stored_unacked + v.stored_unacked,
            events_read: self.events_read + v.events_read,
        }
    }
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
            let (sender, recipient) = (&senders[i].username, &recipients[i]);
            let prefix = &prefix;
            let ours = move |m: &SyncMessage| {
                m.sender == *sender
                    && m.recipient.as_ref() == Some(&recipient.username)
                    && of_run(m, prefix)
            };
            async move {
                let (stored, events_read) = stored(target, recipient, starts[i], ours).await?;
                let acked = sent_by[i].sends.acked.iter().map(|a| a.id);
                Ok::<_, anyhow::Error>(judge(
                    acked,
                    &stored,
                    Some(&received_by[i].ids),
                    events_read,
                ))
            }
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;
    Ok(verdicts.into_iter().fold(Verdict::default(), Verdict::add))
}

/// Checks every member `people[u]` from `starts[u]` against the messages acknowledged in each
/// group it belongs to (`groups_of[u]`, conversation ids).
pub async fn check_groups(
    target: &Target,
    people: &[BenchUser],
    starts: &[i64],
    groups_of: &[Vec<i64>],
    tag: &str,
    members: &[Option<MemberOutcome>],
) -> anyhow::Result<Verdict> {
    let prefix = format!("{tag}-");
    let mut acked_in: HashMap<i64, Vec<i64>> = HashMap::new();
    for acked in members.iter().flatten().flat_map(|m| &m.sends.acked) {
        acked_in
            .entry(acked.conversation_id)
            .or_default()
            .push(acked.id);
    }
    let verdicts: Vec<Verdict> = stream::iter(0..people.len())
        .map(|u| {
            let groups = &groups_of[u];
            let (prefix, acked_in) = (&prefix, &acked_in);
            let ours =
                move |m: &SyncMessage| groups.contains(&m.conversation_id) && of_run(m, prefix);
            async move {
                let (stored, events_read) = stored(target, &people[u], starts[u], ours).await?;
                let acked = groups
                    .iter()
                    .filter_map(|g| acked_in.get(g))
                    .flatten()
                    .copied();
                let live = members[u].as_ref().map(|m| &m.seen);
                Ok::<_, anyhow::Error>(judge(acked, &stored, live, events_read))
            }
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;
    Ok(verdicts.into_iter().fold(Verdict::default(), Verdict::add))
}

/// Whether a message was sent by this run (client ids `TAG-SEQ`).
fn of_run(message: &SyncMessage, prefix: &str) -> bool {
    message
        .client_id
        .as_deref()
        .is_some_and(|id| id.starts_with(prefix))
}

/// Reads `user`'s stream from `start` to its end: how many times each message `ours` accepts
/// was stored there (in `message` events), and how many events were read.
async fn stored(
    target: &Target,
    user: &BenchUser,
    start: i64,
    ours: impl Fn(&SyncMessage) -> bool,
) -> anyhow::Result<(HashMap<i64, u32>, u64)> {
    let mut stored: HashMap<i64, u32> = HashMap::new();
    let mut since = start;
    let mut events_read = 0;
    loop {
        let page = users::sync_page(target, &user.token, since).await?;
        events_read += page.events.len() as u64;
        for event in page.events {
            match event.message {
                Some(message) if event.kind == "message" && ours(&message) => {
                    *stored.entry(message.id).or_default() += 1;
                }
                _ => {}
            }
        }
        since = page.next;
        if !page.has_more {
            return Ok((stored, events_read));
        }
    }
}

/// One stream's verdict: `acked` are the messages it must hold, `stored` what it holds (with
/// how many copies of each), `live` what its socket delivered (`None` for a member offline,
/// who has no socket to miss anything on).
fn judge(
    acked: impl Iterator<Item = i64>,
    stored: &HashMap<i64, u32>,
    live: Option<&HashSet<i64>>,
    events_read: u64,
) -> Verdict {
    let mut verdict = Verdict {
        events_read,
        duplicates: stored
            .values()
            .map(|&n| u64::from(n.saturating_sub(1)))
            .sum(),
        ..Verdict::default()
    };
    let mut expected = 0;
    for id in acked {
        expected += 1;
        if !stored.contains_key(&id) {
            verdict.lost += 1;
        } else if live.is_some_and(|live| !live.contains(&id)) {
            verdict.missed_live += 1;
        }
    }
    // Every id acked is distinct, so the stored ones not acked are the rest.
    verdict.stored_unacked = (stored.len() as u64).saturating_sub(expected - verdict.lost);
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_is_judged_against_what_was_acked() {
        let stored: HashMap<i64, u32> = [(1, 1), (2, 2), (4, 1), (5, 1)].into();
        let live: HashSet<i64> = [1, 2].into();
        let v = judge([1, 2, 3, 4].into_iter(), &stored, Some(&live), 9);
        assert_eq!(
            (
                v.lost,
                v.duplicates,
                v.missed_live,
                v.stored_unacked,
                v.events_read
            ),
            (1, 1, 1, 1, 9)
        );
    }

    #[test]
    fn an_offline_stream_misses_nothing_live_but_can_lose() {
        let stored: HashMap<i64, u32> = [(1, 1), (2, 1)].into();
        let v = judge([1, 2, 3].into_iter(), &stored, None, 2);
        assert_eq!((v.lost, v.duplicates, v.missed_live), (1, 0, 0));
    }
}
