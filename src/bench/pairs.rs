//! The engine behind `throughput` and `latency`: N pairs of users, each sender writing to its
//! recipient over its own `/ws/notifications/` socket, each recipient acknowledging deliveries
//! with batched `delivered` receipts like a real client.
//!
//! A send carries its send time (microseconds since the run's clock started) at the start of
//! its body, so the recipient measures send→deliver latency with no clock shared over the
//! wire. Senders count acks (and their latency); recipients count deliveries, duplicates (the
//! same message id twice on one socket) and latency. After the measured window senders stop,
//! wait for their last acks, recipients wait for the last deliveries, every socket closes
//! together (no user goes offline while messages are in flight), and `verify` checks every
//! acknowledged message against the recipient's `/api/sync`.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Target;
use super::cpu::{CpuClock, CpuUse};
use super::histogram::Latencies;
use super::plan::{DRAIN, Plan};
use super::progress::Progress;
use super::recipient;
use super::report::{ErrorCounts, merge_errors};
use super::sender;
use super::socket;
use super::tally::{self, Live, RecipientOutcome, SenderOutcome};
use super::users;
use super::verify::{self, Verdict};
use super::writer::{WriterReading, WriterUse};

/// What a run measured, before it is shaped into a report.
pub struct Outcome {
    /// The window (sends start to sends stop), warm-up included.
    pub window: Duration,
    /// The part of the window at its start whose latencies were not recorded.
    pub warmup: Duration,
    /// From the end of the window to the last ack or delivery.
    pub drain: Duration,
    pub sent: u64,
    pub acked: u64,
    pub delivered: u64,
    pub duplicates: u64,
    pub ack: Latencies,
    pub deliver: Latencies,
    pub errors: ErrorCounts,
    pub verdict: Verdict,
    /// CPU time over the window and the drain.
    pub cpu: CpuUse,
    /// The server's SQLite writer over the window and the drain.
    pub writer: Option<WriterUse>,
}

/// Creates the users of `pairs` pairs, opens their sockets and runs `plan`.
pub async fn run(target: &Target, pairs: usize, plan: &Plan) -> anyhow::Result<Outcome> {
    anyhow::ensure!(pairs > 0, "at least one pair is needed");
    let people = users::users(target, pairs * 2).await?;
    let (senders, recipients) = people.split_at(pairs);
    let starts = users::latest_cursors(target, recipients).await?;
    let total = people.len();
    let recipient_sockets = socket::open_all(target, recipients, Some(&starts), 0, total).await?;
    let sender_sockets = socket::open_all(target, senders, None, pairs, total).await?;
    let tag = users::run_tag();
    let live = Arc::new(Live::default());
    let stop = CancellationToken::new();
    let progress = Progress::spinner(target.args.quiet, tally::progress_line(live.clone()));
    let writer_before = WriterReading::read(target).await;
    let cpu_clock = CpuClock::start(target.args.server_pid);
    let clock = Instant::now();
    let measured_from = clock + plan.warmup;
    let end = measured_from + plan.duration;

    let mut receiving = Vec::with_capacity(pairs);
    for (socket, user) in recipient_sockets.into_iter().zip(recipients) {
        let task = recipient::Recipient {
            ws: socket,
            me: user.username.clone(),
            tag: format!("{tag}-"),
            receipts: plan.receipts,
            live: live.clone(),
            clock,
            warmup: plan.warmup,
            stop: stop.clone(),
        };
        receiving.push(tokio::spawn(task.run()));
    }
    let mut sending = Vec::with_capacity(pairs);
    for (i, (socket, to)) in sender_sockets.into_iter().zip(recipients).enumerate() {
        let task = sender::Sender {
            ws: socket,
            to: to.username.clone(),
            tag: tag.clone(),
            mode: plan.mode,
            pairs,
            index: i,
            body_bytes: plan.body_bytes,
            clock,
            measured_from,
            end,
            live: live.clone(),
        };
        sending.push(tokio::spawn(task.run()));
    }

    let mut sent_by: Vec<SenderOutcome> = Vec::with_capacity(pairs);
    let mut still_open = Vec::with_capacity(pairs);
    for task in sending {
        let (outcome, ws) = task.await?;
        sent_by.push(outcome);
        still_open.push(ws);
    }
    let acked: u64 = sent_by.iter().map(|s| s.sends.acked.len() as u64).sum();
    let deadline = Instant::now() + DRAIN;
    while live.delivered.load(Relaxed) < acked && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let cpu = cpu_clock.stop();
    let writer = match (writer_before, WriterReading::read(target).await) {
        (Some(before), Some(after)) => before.until(&after, cpu.wall_s),
        _ => None,
    };
    stop.cancel();
    // Every socket closes only now: a sender leaving as soon as its own last send was
    // acknowledged would make the server see users go offline (a write each, and presence to
    // their contacts) while the others' last messages are still in flight.
    let closing: Vec<_> = still_open
        .into_iter()
        .map(|ws| tokio::spawn(socket::close(ws)))
        .collect();
    let mut received_by: Vec<RecipientOutcome> = Vec::with_capacity(pairs);
    for task in receiving {
        received_by.push(task.await?);
    }
    for task in closing {
        task.await?;
    }
    progress.finish().await;

    let verdict = verify::check(
        target,
        senders,
        recipients,
        &starts,
        &tag,
        &sent_by,
        &received_by,
    )
    .await?;
    Ok(Outcome {
        writer,
        ..summarize(
            clock,
            measured_from,
            end,
            sent_by,
            received_by,
            verdict,
            cpu,
        )
    })
}

fn summarize(
    clock: Instant,
    measured_from: Instant,
    end: Instant,
    sent_by: Vec<SenderOutcome>,
    received_by: Vec<RecipientOutcome>,
    verdict: Verdict,
    cpu: CpuUse,
) -> Outcome {
    let mut outcome = Outcome {
        cpu,
        writer: None,
        window: end - clock,
        warmup: measured_from - clock,
        drain: Duration::ZERO,
        sent: 0,
        acked: 0,
        delivered: 0,
        duplicates: 0,
        ack: Latencies::default(),
        deliver: Latencies::default(),
        errors: ErrorCounts::new(),
        verdict,
    };
    let mut last = end;
    for s in sent_by {
        outcome.sent += s.sends.sent;
        outcome.acked += s.sends.acked.len() as u64;
        outcome.ack.merge(&s.sends.ack);
        merge_errors(&mut outcome.errors, s.errors);
        last = last.max(s.sends.last_ack.unwrap_or(end));
    }
    for r in received_by {
        outcome.delivered += r.ids.len() as u64;
        outcome.duplicates += r.duplicates;
        outcome.deliver.merge(&r.deliver);
        merge_errors(&mut outcome.errors, r.errors);
        last = last.max(r.last_delivery.unwrap_or(end));
    }
    outcome.drain = last - end;
    outcome
}
