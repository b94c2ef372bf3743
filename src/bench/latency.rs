//! `linkup bench latency`: a fixed total rate (e.g. 5,000 messages/s) spread over many online
//! users, half sending and half receiving, for send→deliver percentiles at a steady load. It is
//! the pair engine in open loop; the report is the throughput report.

use clap::Args;

use super::Target;
use super::pairs;
use super::plan::{Mode, Plan};
use super::throughput::{ThroughputReport, report};

#[derive(Debug, Clone, Args)]
pub struct LatencyArgs {
    /// Users online (each with one socket); half send, half receive.
    #[arg(long, default_value_t = 1000)]
    pub users: usize,
    /// Messages per second in total.
    #[arg(long, default_value_t = 5000.0)]
    pub rate: f64,
    /// Size of each message body in bytes.
    #[arg(long, default_value_t = 64)]
    pub body_bytes: usize,
    /// Recipients send no `delivered` receipts.
    #[arg(long)]
    pub no_receipts: bool,
}

/// Runs the latency scenario.
pub async fn run(target: &Target, args: &LatencyArgs) -> anyhow::Result<ThroughputReport> {
    anyhow::ensure!(args.users >= 2, "--users must be at least 2");
    anyhow::ensure!(args.rate > 0.0, "--rate must be positive");
    let pairs = args.users / 2;
    let plan = Plan {
        mode: Mode::Open { rate: args.rate },
        body_bytes: args.body_bytes,
        duration: target.args.duration,
        warmup: target.args.warmup.unwrap_or_default(),
        receipts: !args.no_receipts,
    };
    let outcome = pairs::run(target, pairs, &plan).await?;
    Ok(report("latency", target, pairs, &plan, outcome))
}
