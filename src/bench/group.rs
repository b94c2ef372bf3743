//! `linkup bench group`: G groups of N members, every member (or the share `--online` names)
//! online on one notifications socket, a few members of each group sending into it, closed
//! loop (`--in-flight` unacknowledged sends per group) or open loop (`--rate` messages/s in total). Reports
//! messages sent, member deliveries/s (a message to N members is N−1 deliveries), send → each
//! member and send → last member latency, and what must be 0 on a healthy server: **lost**
//! (acknowledged, but missing from a member's `/api/sync`) and **duplicates** (one id twice in a
//! member's `/api/sync`, or on its socket).

use clap::Args;
use serde::Serialize;

use super::Target;
use super::cpu::CpuUse;
use super::fanout::{self, Outcome};
use super::histogram::Summary;
use super::plan::{Mode, Plan};
use super::report::{
    ErrorCounts, Table, Tabular, errors_line, per_second, rate_line, thousands, window_line,
};
use super::roster::Shape;
use super::writer::{self, WriterUse};

#[derive(Debug, Clone, Args)]
pub struct GroupArgs {
    /// Groups.
    #[arg(long, default_value_t = 4)]
    pub groups: usize,
    /// Members of each group, its owner included (the server allows `--max-group-members`,
    /// 256 by default).
    #[arg(long, default_value_t = 64)]
    pub members: usize,
    /// Users in the run (default: groups × members, each in one group); fewer puts some users
    /// in several groups, each still on its one socket.
    #[arg(long)]
    pub users: Option<usize>,
    /// Members of each group who send (closed loop: at most `--in-flight`).
    #[arg(long, default_value_t = 4)]
    pub senders: usize,
    /// Closed loop: sends each group keeps unacknowledged, shared among its senders.
    #[arg(long, default_value_t = 8)]
    pub in_flight: usize,
    /// Open loop instead: messages per second in total, spread over every sender of every
    /// group.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Size of each message body in bytes (it starts with the send timestamp).
    #[arg(long, default_value_t = 64)]
    pub body_bytes: usize,
    /// Percentage of each group's members online (its first members, senders always among
    /// them); the others open no socket, so their messages are stored and never pushed.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u8).range(1..=100))]
    pub online: u8,
    /// Members send no `delivered` receipts (by default they do, batched, up to the newest
    /// message of each group).
    #[arg(long)]
    pub no_receipts: bool,
}

/// The report of `group`.
#[derive(Debug, Clone, Serialize)]
pub struct GroupReport {
    pub scenario: &'static str,
    pub url: String,
    pub groups: usize,
    pub members: usize,
    /// Users in the run.
    pub users: usize,
    /// Members of each group who send.
    pub senders: usize,
    /// Members of each group online, each on one socket.
    pub online: usize,
    /// `closed` or `open`.
    pub mode: &'static str,
    /// Per group.
    pub in_flight: Option<usize>,
    pub rate: Option<f64>,
    pub body_bytes: usize,
    pub receipts: bool,
    /// The window (warm-up included), and how long the last acks and deliveries took after it.
    pub window_s: f64,
    /// The first part of the window, whose sends count but whose latencies are not recorded.
    pub warmup_s: f64,
    pub drain_s: f64,
    pub sent: u64,
    pub acked: u64,
    /// Messages delivered live to members other than their sender, each (message, member) once.
    pub deliveries: u64,
    /// `acked × (members − 1)`: what `deliveries` is when every member got every message live.
    pub expected_deliveries: u64,
    pub sent_per_s: f64,
    pub acked_per_s: f64,
    /// Deliveries over the window plus the drain.
    pub deliveries_per_s: f64,
    pub ack_latency_ms: Summary,
    /// Send → each other member's socket.
    pub deliver_latency_ms: Summary,
    /// Send → the last other member's socket, for messages all of them got live.
    pub last_member_latency_ms: Summary,
    pub errors: u64,
    pub error_codes: ErrorCounts,
    /// Acknowledged, but missing from the `/api/sync` of a member of its group.
    pub lost: u64,
    /// Extra copies of a message in one member's `/api/sync`.
    pub duplicates: u64,
    /// The same message id again on one member's socket.
    pub live_duplicates: u64,
    /// (message, member) stored but never pushed on that member's socket.
    pub missed_live: u64,
    /// (message, member) stored but never acknowledged to its sender.
    pub stored_unacked: u64,
    /// CPU time of the bench (and of the server, with `--server-pid`) over the window and drain.
    pub cpu: CpuUse,
    /// The server's SQLite writer over the window and drain (absent on PostgreSQL).
    pub writer: Option<WriterUse>,
}

/// Runs the group scenario.
pub async fn run(target: &Target, args: &GroupArgs) -> anyhow::Result<GroupReport> {
    let mode = Mode::from_flags(args.rate, args.in_flight)?;
    let mut senders = args.senders.clamp(1, args.members.max(1));
    if let Mode::Closed { in_flight } = mode {
        senders = senders.min(in_flight);
    }
    let shape = Shape {
        groups: args.groups,
        members: args.members,
        users: args.users.unwrap_or(args.groups * args.members),
        senders,
        online: (args.members * usize::from(args.online))
            .div_ceil(100)
            .max(senders),
    };
    let plan = Plan {
        mode,
        body_bytes: args.body_bytes,
        duration: target.args.duration,
        warmup: target.args.warmup.unwrap_or_default(),
        receipts: !args.no_receipts,
    };
    let outcome = fanout::run(target, &shape, &plan).await?;
    Ok(report(target, &shape, &plan, outcome))
}

fn report(target: &Target, shape: &Shape, plan: &Plan, outcome: Outcome) -> GroupReport {
    let window = outcome.window.as_secs_f64();
    let drain = outcome.drain.as_secs_f64();
    let (mode, in_flight, rate) = match plan.mode {
        Mode::Closed { in_flight } => ("closed", Some(in_flight), None),
        Mode::Open { rate } => ("open", None, Some(rate)),
    };
    GroupReport {
        scenario: "group",
        url: target.base.clone(),
        groups: shape.groups,
        members: shape.members,
        users: shape.users,
        senders: shape.senders,
        online: shape.online,
        mode,
        in_flight,
        rate,
        body_bytes: plan.body_bytes,
        receipts: plan.receipts,
        window_s: window,
        warmup_s: outcome.warmup.as_secs_f64(),
        drain_s: drain,
        sent: outcome.sent,
        acked: outcome.acked,
        deliveries: outcome.delivered,
        expected_deliveries: outcome.acked * (shape.online as u64 - 1),
        sent_per_s: per_second(outcome.sent, window),
        acked_per_s: per_second(outcome.acked, window),
        deliveries_per_s: per_second(outcome.delivered, window + drain),
        ack_latency_ms: outcome.ack.summary(),
        deliver_latency_ms: outcome.deliver.summary(),
        last_member_latency_ms: outcome.last_member.summary(),
        errors: outcome.errors.values().sum(),
        error_codes: outcome.errors,
        lost: outcome.verdict.lost,
        duplicates: outcome.verdict.duplicates,
        live_duplicates: outcome.live_duplicates,
        missed_live: outcome.verdict.missed_live,
        stored_unacked: outcome.verdict.stored_unacked,
        cpu: outcome.cpu,
        writer: outcome.writer,
    }
}

impl Tabular for GroupReport {
    fn table(&self) -> Table {
        let mut t = Table::new(format!("linkup bench group — {}", self.url));
        t.row("load", self.load_line())
            .row(
                "window",
                window_line(self.window_s, self.drain_s, self.warmup_s),
            )
            .row("sent", rate_line(self.sent, self.sent_per_s))
            .row("acked", rate_line(self.acked, self.acked_per_s))
            .row(
                "deliveries",
                format!(
                    "{}  (of {} = acked × {} other members online)",
                    rate_line(self.deliveries, self.deliveries_per_s),
                    thousands(self.expected_deliveries),
                    self.online - 1
                ),
            )
            .row("ack latency", self.ack_latency_ms.line())
            .row("send→member", self.deliver_latency_ms.line())
            .row("send→last member", self.last_member_latency_ms.line())
            .row("errors", errors_line(&self.error_codes))
            .row("lost", self.lost.to_string())
            .row(
                "duplicates",
                format!(
                    "{} in /api/sync, {} on sockets",
                    self.duplicates, self.live_duplicates
                ),
            )
            .row(
                "missed live",
                format!("{} (stored, not pushed)", self.missed_live),
            )
            .row("stored unacked", self.stored_unacked.to_string())
            .row("cpu", self.cpu.line(self.deliveries, "delivery"))
            .row("writer", writer::line(&self.writer));
        if self.error_codes.contains_key("rate_limited") {
            t.row(
                "hint",
                "the server rate-limits: start it with --send-rate 0 --frame-rate 0",
            );
        }
        t
    }
}

impl GroupReport {
    /// `4 groups × 64 members (256 users online), 4 senders a group, closed loop, …`.
    fn load_line(&self) -> String {
        let shared = if self.users < self.groups * self.members {
            ", some in several groups"
        } else {
            ""
        };
        let online = if self.online < self.members {
            format!(
                "{} of {} users online",
                self.groups * self.online,
                self.users
            )
        } else {
            format!("{} users online", self.users)
        };
        let load = match (self.in_flight, self.rate) {
            (Some(k), _) => format!("closed loop, {k} in flight per group"),
            (_, Some(rate)) => format!("open loop, {rate} msg/s in total"),
            _ => String::new(),
        };
        format!(
            "{} groups × {} members ({online}{shared}), {} senders a group, {load}, \
             {} B bodies, receipts {}",
            self.groups,
            self.members,
            self.senders,
            self.body_bytes,
            if self.receipts { "on" } else { "off" }
        )
    }
}
