//! The engine behind `group`: G groups of N members (`roster`), each member online (all of
//! them unless `--online` says less) a user on one `/ws/notifications/` socket that carries all
//! its groups (`member`); members offline open none, and are only checked through `/api/sync`. The first S members
//! of each group send into it: closed loop, the group's `in_flight` sends shared among them, or
//! open loop, a total rate spread evenly over every (sender, group). A message to a group of N
//! is N−1 deliveries, one to each other member.
//!
//! Members time the messages of others from the send time at the start of each body; the
//! engine then puts each message's deliveries together for send → last member. After the
//! window senders stop and wait for their last acks, members for the last deliveries, and
//! `verify` reads every member's `/api/sync`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Target;
use super::cpu::{CpuClock, CpuUse};
use super::histogram::Latencies;
use super::member::{Member, Slot};
use super::outbox::{Address, Outbox, Schedule};
use super::plan::{DRAIN, Mode, Plan};
use super::progress::Progress;
use super::receipts::{Naming, Receipts};
use super::report::{ErrorCounts, merge_errors};
use super::roster::{self, Group, Shape};
use super::socket;
use super::tally::{self, Live, MemberOutcome};
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
    /// Messages delivered on the sockets of members other than their sender, each once.
    pub delivered: u64,
    /// The same id again on one socket.
    pub live_duplicates: u64,
    pub ack: Latencies,
    /// Send → each other member's socket.
    pub deliver: Latencies,
    /// Send → the last of the other members' sockets, for messages every one of them got.
    pub last_member: Latencies,
    pub errors: ErrorCounts,
    pub verdict: Verdict,
    /// CPU time over the window and the drain.
    pub cpu: CpuUse,
    /// The server's SQLite writer over the window and the drain.
    pub writer: Option<WriterUse>,
}

/// Creates the users and groups of `shape`, opens a socket for every member and runs `plan`.
pub async fn run(target: &Target, shape: &Shape, plan: &Plan) -> anyhow::Result<Outcome> {
    shape.check()?;
    let people = users::users(target, shape.users).await?;
    let groups = roster::create(target, &people, shape).await?;
    let starts = users::latest_cursors(target, &people).await?;
    let online: Vec<usize> = (0..people.len()).filter(|&u| shape.is_online(u)).collect();
    let sockets = {
        let present: Vec<_> = online.iter().map(|&u| people[u].clone()).collect();
        let since: Vec<i64> = online.iter().map(|&u| starts[u]).collect();
        socket::open_all(target, &present, Some(&since), 0, present.len()).await?
    };
    let groups_of = memberships(&groups, people.len());
    let mut slots_of = slots(shape, plan.mode, &groups, people.len());
    let tag = users::run_tag();
    let live = Arc::new(Live::default());
    let stop = CancellationToken::new();
    let progress = Progress::spinner(target.args.quiet, tally::progress_line(live.clone()));
    let writer_before = WriterReading::read(target).await;
    let cpu_clock = CpuClock::start(target.args.server_pid);
    let clock = Instant::now();
    let measured_from = clock + plan.warmup;
    let end = measured_from + plan.duration;
    let sending_members = slots_of.iter().filter(|(_, s)| !s.is_empty()).count();
    let senders_left = Arc::new(AtomicUsize::new(sending_members));
    let total_slots = (shape.groups * shape.senders) as f64;

    let mut tasks = Vec::with_capacity(online.len());
    for (&u, ws) in online.iter().zip(sockets) {
        let user = &people[u];
        let (first, slots) = std::mem::take(&mut slots_of[u]);
        let schedule = match plan.mode {
            Mode::Open { rate } if !slots.is_empty() => {
                let share = slots.len() as f64 / total_slots;
                let offset = first as f64 / total_slots;
                Some(Schedule::new(rate, share, offset, clock, end))
            }
            _ => None,
        };
        let member = Member {
            ws,
            me: user.username.clone(),
            groups: groups_of[u].iter().copied().collect(),
            prefix: format!("{tag}-"),
            outbox: Outbox::new(
                tag.clone(),
                plan.body_bytes,
                clock,
                measured_from,
                live.clone(),
            ),
            slots,
            schedule,
            receipts: Receipts::new(plan.receipts, Naming::UpTo),
            live: live.clone(),
            clock,
            warmup: plan.warmup,
            end,
            senders_left: senders_left.clone(),
            stop: stop.clone(),
        };
        tasks.push((u, tokio::spawn(member.run())));
    }

    wait_until(end + DRAIN + Duration::from_secs(2), || {
        senders_left.load(Ordering::Acquire) == 0
    })
    .await;
    // Every other online member gets each acked message, and its sender gets it back on its own
    // socket too: both are checked, so the drain waits for both before the sockets stop reading.
    let acked = live.acked.load(Ordering::Relaxed);
    let expected = acked * (shape.online as u64 - 1);
    wait_until(Instant::now() + DRAIN, || {
        live.delivered.load(Ordering::Relaxed) >= expected
            && live.echoed.load(Ordering::Relaxed) >= acked
    })
    .await;
    let cpu = cpu_clock.stop();
    let writer = match (writer_before, WriterReading::read(target).await) {
        (Some(before), Some(after)) => before.until(&after, cpu.wall_s),
        _ => None,
    };
    stop.cancel();
    // Each user's outcome; an offline user's is empty.
    let mut members: Vec<Option<MemberOutcome>> = (0..people.len()).map(|_| None).collect();
    for (u, task) in tasks {
        members[u] = Some(task.await?);
    }
    progress.finish().await;

    let verdict =
        verify::check_groups(target, &people, &starts, &groups_of, &tag, &members).await?;
    Ok(Outcome {
        writer,
        ..summarize(clock, measured_from, end, shape, members, verdict, cpu)
    })
}

/// Polls `done` every 5 ms until it holds or `deadline` passes.
async fn wait_until(deadline: Instant, done: impl Fn() -> bool) {
    while !done() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The conversation ids of the groups each of `users` users is in.
fn memberships(groups: &[Group], users: usize) -> Vec<Vec<i64>> {
    let mut of = vec![Vec::new(); users];
    for group in groups {
        for &u in &group.members {
            of[u].push(group.id);
        }
    }
    of
}

/// What each user sends: its slots, and the place of its first among every (group, sender) in
/// turn, where open-loop sends start.
fn slots(shape: &Shape, mode: Mode, groups: &[Group], users: usize) -> Vec<(usize, Vec<Slot>)> {
    let mut of: Vec<(usize, Vec<Slot>)> = (0..users).map(|_| (0, Vec::new())).collect();
    let senders = shape.senders;
    for (g, group) in groups.iter().enumerate() {
        for (j, &u) in group.members[..senders].iter().enumerate() {
            let in_flight = match mode {
                Mode::Closed { in_flight } => {
                    in_flight / senders + usize::from(j < in_flight % senders)
                }
                Mode::Open { .. } => 0,
            };
            let (first, slots) = &mut of[u];
            if slots.is_empty() {
                *first = g * senders + j;
            }
            slots.push(Slot {
                to: Address::Conversation(group.id),
                in_flight,
            });
        }
    }
    of
}

fn summarize(
    clock: Instant,
    measured_from: Instant,
    end: Instant,
    shape: &Shape,
    members: Vec<Option<MemberOutcome>>,
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
        live_duplicates: 0,
        ack: Latencies::default(),
        deliver: Latencies::default(),
        last_member: Latencies::default(),
        errors: ErrorCounts::new(),
        verdict,
    };
    // Each timed message: how many other members got it, and the latest of them.
    let mut by_message: HashMap<i64, (usize, u64)> = HashMap::new();
    let mut last = end;
    for m in members.into_iter().flatten() {
        outcome.sent += m.sends.sent;
        outcome.acked += m.sends.acked.len() as u64;
        outcome.ack.merge(&m.sends.ack);
        outcome.delivered += m.delivered;
        outcome.live_duplicates += m.duplicates;
        merge_errors(&mut outcome.errors, m.errors);
        last = last
            .max(m.sends.last_ack.unwrap_or(end))
            .max(m.last_delivery.unwrap_or(end));
        for arrival in m.arrivals {
            outcome.deliver.record_micros(arrival.micros);
            let entry = by_message.entry(arrival.id).or_default();
            *entry = (entry.0 + 1, entry.1.max(arrival.micros));
        }
    }
    let others = shape.online - 1;
    for &(got, latest) in by_message.values() {
        if got == others {
            outcome.last_member.record_micros(latest);
        }
    }
    outcome.drain = last - end;
    outcome
}
