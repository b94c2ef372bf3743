//! `linkup bench`: a load generator that speaks the public protocol (HTTP + WebSocket) to any
//! LinkUp server, so operators can measure their own deployment and anyone can reproduce
//! BENCHMARKS.md.
//!
//! It never reaches into the server: users are created by sign-up (or read back from a users
//! file), sockets are opened with bearer tokens, and correctness is checked through the same
//! `/api/sync` a real client would use. Each scenario lives in its own module and returns a typed
//! report, which `run` prints as a table or, with `--json`, one JSON object. Performance is only
//! ever measured here, never asserted.

pub mod connections;
pub mod cpu;
mod fanout;
pub mod group;
pub mod histogram;
pub mod latency;
mod member;
mod outbox;
mod pairs;
mod plan;
pub mod progress;
mod receipts;
mod recipient;
pub mod report;
mod roster;
mod sender;
pub mod socket;
pub mod sync;
mod tally;
pub mod target;
pub mod throughput;
pub mod uploads;
pub mod users;
mod verify;
pub mod writer;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use serde::Serialize;

pub use target::Target;

/// `linkup bench [OPTIONS] <SCENARIO> [SCENARIO OPTIONS]`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(subcommand)]
    pub scenario: Scenario,
}

/// Options shared by every scenario: which server, for how long, how to report.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// Base URL of the server under test (plain HTTP; WebSockets use the same host and port).
    #[arg(
        long,
        global = true,
        env = "LINKUP_BENCH_URL",
        default_value = "http://127.0.0.1:8000"
    )]
    pub url: String,
    /// How long the measured phase lasts (e.g. `10s`, `500ms`, `2m`).
    #[arg(long, global = true, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// `throughput`, `latency` and `group`: send for this long first (e.g. `3s`) without recording
    /// latencies, so the percentiles describe the steady state and not the first seconds of a
    /// run. Warm-up sends still count, and are checked for loss and duplicates like the rest.
    #[arg(long, global = true, value_parser = parse_duration)]
    pub warmup: Option<Duration>,
    /// Print one JSON object instead of the table.
    #[arg(long, global = true)]
    pub json: bool,
    /// No live progress line.
    #[arg(long, global = true)]
    pub quiet: bool,
    /// Keep the users this run creates (username and bearer token) in this file, and reuse them
    /// on later runs against the same URL: creating 10,000 users costs 20,000 password hashes.
    #[arg(long, global = true)]
    pub users_file: Option<PathBuf>,
    /// Sign-ups and token requests in flight while creating users.
    #[arg(long, global = true, default_value_t = 8)]
    pub setup_concurrency: usize,
    /// Spread client sockets over this many source addresses 127.0.0.2, 127.0.0.3, … (loopback
    /// servers only), so one run can open more sockets than one address has ports. Default:
    /// one address per 10,000 sockets.
    #[arg(long, global = true)]
    pub sources: Option<usize>,
    /// The server's process id, when it runs on this machine: `connections` and `uploads` read
    /// its memory from /proc, `throughput`, `latency` and `group` its CPU time.
    #[arg(long, global = true)]
    pub server_pid: Option<u32>,
}

impl TargetArgs {
    /// Defaults for `url`, as tests and embedders use them.
    pub fn for_url(url: &str) -> Self {
        TargetArgs {
            url: url.to_owned(),
            duration: Duration::from_secs(10),
            warmup: None,
            json: false,
            quiet: true,
            users_file: None,
            setup_concurrency: 8,
            sources: None,
            server_pid: None,
        }
    }
}

#[derive(Debug, Clone, Subcommand)]
pub enum Scenario {
    /// User pairs sending as fast as they are acknowledged (or at a fixed total rate);
    /// messages/s, ack and send→deliver latency, lost and duplicates.
    Throughput(throughput::ThroughputArgs),
    /// A fixed total rate spread over many online users; latency percentiles.
    Latency(latency::LatencyArgs),
    /// G groups of N members, all online, a few of each sending; member deliveries/s, send →
    /// last member latency, lost and duplicates in every member's /api/sync.
    Group(group::GroupArgs),
    /// Many idle authenticated sockets; connect rate and server memory per socket.
    Connections(connections::ConnectionsArgs),
    /// One user misses M messages, then catches up through /api/sync and through `?since=`.
    Sync(sync::SyncArgs),
    /// Large files and photos uploaded back to back; MiB/s stored, thumbnails/s, server memory.
    Uploads(uploads::UploadsArgs),
}

/// For parsing `bench …` argument lists outside the binary (tests, scripts).
#[derive(Debug, Parser)]
#[command(name = "bench")]
struct Standalone {
    #[command(flatten)]
    args: BenchArgs,
}

impl BenchArgs {
    /// Parses `argv` (starting with a program name, e.g. `["bench", "throughput", "--pairs",
    /// "4"]`) as `linkup bench` would.
    pub fn parse_from<I, T>(argv: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        Standalone::try_parse_from(argv).map(|s| s.args)
    }
}

/// Runs the scenario and prints its report; the binary's `linkup bench`.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    crate::cli::process::raise_file_limit();
    let target = Target::connect(&args.target).await?;
    let json = args.target.json;
    match &args.scenario {
        Scenario::Throughput(a) => emit(&throughput::run(&target, a).await?, json),
        Scenario::Latency(a) => emit(&latency::run(&target, a).await?, json),
        Scenario::Group(a) => emit(&group::run(&target, a).await?, json),
        Scenario::Connections(a) => emit(&connections::run(&target, a).await?, json),
        Scenario::Sync(a) => emit(&sync::run(&target, a).await?, json),
        Scenario::Uploads(a) => emit(&uploads::run(&target, a).await?, json),
    }
}

/// Prints a report as a table or as one JSON object.
fn emit<R: Serialize + report::Tabular>(outcome: &R, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(outcome)?);
    } else {
        print!("{}", outcome.table());
    }
    Ok(())
}

/// Parses `10s`, `500ms`, `2m`, `1.5s` or a plain number of seconds.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let (number, unit) = match raw.find(|c: char| c.is_ascii_alphabetic()) {
        Some(at) => raw.split_at(at),
        None => (raw, "s"),
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{raw:?} is not a duration (e.g. 10s, 500ms, 2m)"))?;
    let scale = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" | "min" => 60.0,
        other => return Err(format!("unknown unit {other:?}: use ms, s or m")),
    };
    if !(value.is_finite() && value >= 0.0) {
        return Err(format!("{raw:?} is not a positive duration"));
    }
    Ok(Duration::from_secs_f64(value * scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("3h").is_err());
    }

    #[test]
    fn scenarios_parse_with_shared_options_anywhere() {
        let args = BenchArgs::parse_from([
            "bench",
            "throughput",
            "--pairs",
            "4",
            "--url",
            "http://127.0.0.1:9",
            "--duration",
            "2s",
        ])
        .unwrap();
        assert_eq!(args.target.url, "http://127.0.0.1:9");
        assert_eq!(args.target.duration, Duration::from_secs(2));
        let Scenario::Throughput(t) = args.scenario else {
            panic!("throughput expected");
        };
        assert_eq!(t.pairs, 4);
    }
}
