//! `linkup bench throughput`: N user pairs sending 1:1 messages over WebSockets, closed loop
//! (`--in-flight` unacknowledged sends per sender) or open loop (`--rate` messages/s in
//! total). Reports messages/s, ack and send→deliver latency, errors, and the two figures that
//! must be 0 on a healthy server: **lost** (acknowledged, but missing from the recipient's
//! `/api/sync`) and **duplicates** (one id delivered twice on a socket).

use clap::Args;
use serde::Serialize;

use super::Target;
use super::cpu::CpuUse;
use super::histogram::Summary;
use super::pairs::{self, Outcome};
use super::plan::{Mode, Plan};
use super::report::{ErrorCounts, Table, Tabular, errors_line, per_second, rate_line, window_line};
use super::writer::{self, WriterUse};

#[derive(Debug, Clone, Args)]
pub struct ThroughputArgs {
    /// Sender→recipient pairs (two users and two sockets each).
    #[arg(long, default_value_t = 50)]
    pub pairs: usize,
    /// Closed loop: sends each sender keeps unacknowledged.
    #[arg(long, default_value_t = 8)]
    pub in_flight: usize,
    /// Open loop instead: messages per second in total, spread over the senders.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Size of each message body in bytes (it starts with the send timestamp).
    #[arg(long, default_value_t = 64)]
    pub body_bytes: usize,
    /// Recipients send no `delivered` receipts (by default they do, in batches).
    #[arg(long)]
    pub no_receipts: bool,
}

/// The report of `throughput` and `latency`.
#[derive(Debug, Clone, Serialize)]
pub struct ThroughputReport {
    pub scenario: &'static str,
    pub url: String,
    pub users: usize,
    pub pairs: usize,
    /// `closed` or `open`.
    pub mode: &'static str,
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
    pub delivered: u64,
    pub sent_per_s: f64,
    pub acked_per_s: f64,
    /// Deliveries over the window plus the drain.
    pub delivered_per_s: f64,
    pub ack_latency_ms: Summary,
    pub deliver_latency_ms: Summary,
    pub errors: u64,
    pub error_codes: ErrorCounts,
    pub lost: u64,
    pub duplicates: u64,
    pub missed_live: u64,
    pub stored_unacked: u64,
    /// CPU time of the bench (and of the server, with `--server-pid`) over the window and drain.
    pub cpu: CpuUse,
    /// The server's SQLite writer over the window and drain (absent on PostgreSQL).
    pub writer: Option<WriterUse>,
}

/// Runs the throughput scenario.
pub async fn run(target: &Target, args: &ThroughputArgs) -> anyhow::Result<ThroughputReport> {
    let plan = Plan {
        mode: Mode::from_flags(args.rate, args.in_flight)?,
        body_bytes: args.body_bytes,
        duration: target.args.duration,
        warmup: target.args.warmup.unwrap_or_default(),
        receipts: !args.no_receipts,
    };
    let outcome = pairs::run(target, args.pairs, &plan).await?;
    Ok(report("throughput", target, args.pairs, &plan, outcome))
}

/// Shapes a pair-engine outcome into the report.
pub fn report(
    scenario: &'static str,
    target: &Target,
    pairs: usize,
    plan: &Plan,
    outcome: Outcome,
) -> ThroughputReport {
    let window = outcome.window.as_secs_f64();
    let drain = outcome.drain.as_secs_f64();
    let (mode, in_flight, rate) = match plan.mode {
        Mode::Closed { in_flight } => ("closed", Some(in_flight), None),
        Mode::Open { rate } => ("open", None, Some(rate)),
    };
    ThroughputReport {
        scenario,
        url: target.base.clone(),
        users: pairs * 2,
        pairs,
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
        delivered: outcome.delivered,
        sent_per_s: per_second(outcome.sent, window),
        acked_per_s: per_second(outcome.acked, window),
        delivered_per_s: per_second(outcome.delivered, window + drain),
        ack_latency_ms: outcome.ack.summary(),
        deliver_latency_ms: outcome.deliver.summary(),
        errors: outcome.errors.values().sum(),
        error_codes: outcome.errors,
        lost: outcome.verdict.lost,
        duplicates: outcome.duplicates,
        missed_live: outcome.verdict.missed_live,
        stored_unacked: outcome.verdict.stored_unacked,
        cpu: outcome.cpu,
        writer: outcome.writer,
    }
}

impl Tabular for ThroughputReport {
    fn table(&self) -> Table {
        let load = match (self.in_flight, self.rate) {
            (Some(k), _) => format!("closed loop, {k} in flight per sender"),
            (_, Some(rate)) => format!("open loop, {rate} msg/s in total"),
            _ => String::new(),
        };
        let mut t = Table::new(format!("linkup bench {} — {}", self.scenario, self.url));
        t.row(
            "load",
            format!(
                "{} pairs ({} users online), {load}, {} B bodies, receipts {}",
                self.pairs,
                self.users,
                self.body_bytes,
                if self.receipts { "on" } else { "off" }
            ),
        )
        .row(
            "window",
            window_line(self.window_s, self.drain_s, self.warmup_s),
        )
        .row("sent", rate_line(self.sent, self.sent_per_s))
        .row("acked", rate_line(self.acked, self.acked_per_s))
        .row("delivered", rate_line(self.delivered, self.delivered_per_s))
        .row("ack latency", self.ack_latency_ms.line())
        .row("send→deliver", self.deliver_latency_ms.line())
        .row("errors", errors_line(&self.error_codes))
        .row("lost", self.lost.to_string())
        .row("duplicates", self.duplicates.to_string())
        .row(
            "missed live",
            format!("{} (stored, not pushed)", self.missed_live),
        )
        .row("stored unacked", self.stored_unacked.to_string())
        .row("cpu", self.cpu.line(self.delivered, "delivery"))
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
