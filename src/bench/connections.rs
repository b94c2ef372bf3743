//! `linkup bench connections`: N idle authenticated sockets held for `--duration`. Reports the
//! connect rate and handshake latency, failures by kind, sockets dropped while idle and, when
//! the server runs on this machine and `--server-pid` names it, the server's resident memory
//! (VmRSS from `/proc/PID/status`) before and after, so the memory each socket costs.
//!
//! Sockets are spread over source addresses 127.0.0.2, 127.0.0.3, … (see `--sources`), and the
//! bench raises its own open-file limit to the hard limit first: N can reach the per-process
//! descriptor limit rather than one address's port range.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use clap::Args;
use futures_util::{StreamExt, stream};
use serde::Serialize;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::histogram::{Latencies, Summary};
use super::progress::Progress;
use super::report::{ErrorCounts, Table, Tabular, errors_line, per_second, thousands};
use super::socket::{self, Read, Ws};
use super::{Target, users};
use crate::cli::process::raise_file_limit;

#[derive(Debug, Clone, Args)]
pub struct ConnectionsArgs {
    /// Sockets to open and hold.
    #[arg(long, default_value_t = 1000)]
    pub connections: usize,
    /// Sockets per user (the server allows `--max-sockets-per-user`, 16 by default).
    #[arg(long, default_value_t = 10)]
    pub per_user: usize,
    /// Handshakes in flight at once.
    #[arg(long, default_value_t = 128)]
    pub concurrency: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConnectionsReport {
    pub scenario: &'static str,
    pub url: String,
    pub requested: usize,
    pub opened: u64,
    pub failed: u64,
    pub failures: ErrorCounts,
    /// The first failure in full, to say what went wrong.
    pub first_failure: Option<String>,
    pub users: usize,
    pub sources: usize,
    /// This process's open-file limit after raising it.
    pub client_file_limit: u64,
    pub connect_s: f64,
    pub connects_per_s: f64,
    pub handshake_ms: Summary,
    pub held_s: f64,
    /// Sockets the server closed while they were idle.
    pub dropped_while_held: u64,
    pub server_rss_before_kib: Option<u64>,
    pub server_rss_after_kib: Option<u64>,
    pub server_bytes_per_connection: Option<f64>,
    pub client_bytes_per_connection: Option<f64>,
}

/// Runs the connections scenario.
pub async fn run(target: &Target, args: &ConnectionsArgs) -> anyhow::Result<ConnectionsReport> {
    let client_file_limit = raise_file_limit();
    let per_user = args.per_user.max(1);
    let people = users::users(target, args.connections.div_ceil(per_user)).await?;
    let server_rss_before = target.args.server_pid.and_then(vm_rss_kib);
    let client_rss_before = vm_rss_kib(std::process::id());
    let opened = Arc::new(AtomicU64::new(0));
    let dropped = Arc::new(AtomicU64::new(0));
    let progress = Progress::spinner(target.args.quiet, {
        let (opened, dropped) = (opened.clone(), dropped.clone());
        move || {
            format!(
                "open {}  dropped {}",
                thousands(opened.load(Relaxed)),
                thousands(dropped.load(Relaxed))
            )
        }
    });
    let stop = CancellationToken::new();
    let started = Instant::now();
    let mut handshakes = Latencies::default();
    let mut failures = ErrorCounts::new();
    let mut first_failure = None;
    let mut holders = Vec::with_capacity(args.connections);
    let mut attempts = stream::iter(0..args.connections)
        .map(|i| {
            let token = &people[i / per_user].token;
            let source = target.source_for(i, args.connections);
            async move {
                let at = Instant::now();
                let socket = socket::notifications(target, token, None, source).await;
                (socket, at.elapsed())
            }
        })
        .buffer_unordered(args.concurrency.max(1));
    while let Some((socket, took)) = attempts.next().await {
        match socket {
            Ok(ws) => {
                handshakes.record(took);
                opened.fetch_add(1, Relaxed);
                holders.push(tokio::spawn(hold(ws, stop.clone(), dropped.clone())));
            }
            Err(err) => {
                *failures.entry(failure_kind(&err)).or_default() += 1;
                first_failure.get_or_insert_with(|| format!("{err:#}"));
            }
        }
    }
    drop(attempts);
    let connect_s = started.elapsed().as_secs_f64();
    // Let the server finish registering the last sockets before reading its memory.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let server_rss_after = target.args.server_pid.and_then(vm_rss_kib);
    let client_rss_after = vm_rss_kib(std::process::id());
    let held = Instant::now();
    tokio::time::sleep(target.args.duration).await;
    let held_s = held.elapsed().as_secs_f64();
    progress.finish().await;
    stop.cancel();
    for holder in holders {
        let _ = holder.await;
    }
    let opened = opened.load(Relaxed);
    let per_connection = |before: Option<u64>, after: Option<u64>| match (before, after) {
        (Some(b), Some(a)) if opened > 0 => Some((a as f64 - b as f64) * 1024.0 / opened as f64),
        _ => None,
    };
    Ok(ConnectionsReport {
        scenario: "connections",
        url: target.base.clone(),
        requested: args.connections,
        opened,
        failed: failures.values().sum(),
        failures,
        first_failure,
        users: people.len(),
        sources: (0..args.connections.min(250))
            .filter_map(|i| target.source_for(i, args.connections))
            .collect::<std::collections::HashSet<_>>()
            .len()
            .max(1),
        client_file_limit,
        connect_s,
        connects_per_s: per_second(opened, connect_s),
        handshake_ms: handshakes.summary(),
        held_s,
        dropped_while_held: dropped.load(Relaxed),
        server_rss_before_kib: server_rss_before,
        server_rss_after_kib: server_rss_after,
        server_bytes_per_connection: per_connection(server_rss_before, server_rss_after),
        client_bytes_per_connection: per_connection(client_rss_before, client_rss_after),
    })
}

/// Keeps an idle socket open (reading answers the server's pings) until `stop`.
async fn hold(mut ws: Ws, stop: CancellationToken, dropped: Arc<AtomicU64>) {
    loop {
        tokio::select! {
            read = socket::read(&mut ws) => {
                if let Read::Closed(_) = read {
                    dropped.fetch_add(1, Relaxed);
                    return;
                }
            }
            () = stop.cancelled() => {
                let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
                return;
            }
        }
    }
}

/// A short name for why a socket could not be opened.
fn failure_kind(err: &anyhow::Error) -> String {
    let text = format!("{err:#}");
    let kinds = [
        ("Too many open files", "client_out_of_files"),
        ("Connection refused", "refused"),
        ("Connection reset", "reset"),
        ("Address not available", "no_source_port"),
        ("timed out", "timeout"),
    ];
    for (needle, kind) in kinds {
        if text.contains(needle) {
            return kind.into();
        }
    }
    if let Some(status) = text.split("HTTP error: ").nth(1) {
        return format!("http_{}", status.split_whitespace().next().unwrap_or("?"));
    }
    if text.contains("handshake") {
        return "handshake_failed".into();
    }
    "other".into()
}

/// Resident memory of a local process, from `/proc/PID/status`.
pub fn vm_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

impl Tabular for ConnectionsReport {
    fn table(&self) -> Table {
        let kib =
            |v: Option<u64>| v.map_or("-".into(), |v| format!("{:.1} MiB", v as f64 / 1024.0));
        let bytes = |v: Option<f64>| v.map_or("-".into(), |v| format!("{:.1} KiB", v / 1024.0));
        let mut t = Table::new(format!("linkup bench connections — {}", self.url));
        t.row(
            "sockets",
            format!(
                "{} open of {} requested ({} users, {} source address(es), file limit {})",
                thousands(self.opened),
                thousands(self.requested as u64),
                self.users,
                self.sources,
                self.client_file_limit
            ),
        )
        .row(
            "connect",
            format!(
                "{:.2} s, {:.0} sockets/s",
                self.connect_s, self.connects_per_s
            ),
        )
        .row("handshake", self.handshake_ms.line())
        .row(
            "failed",
            format!("{} ({})", self.failed, errors_line(&self.failures)),
        )
        .row(
            "held idle",
            format!(
                "{:.1} s, {} dropped by the server",
                self.held_s, self.dropped_while_held
            ),
        )
        .row(
            "server RSS",
            format!(
                "{} before, {} after",
                kib(self.server_rss_before_kib),
                kib(self.server_rss_after_kib)
            ),
        )
        .row(
            "server memory/socket",
            bytes(self.server_bytes_per_connection),
        )
        .row(
            "client memory/socket",
            bytes(self.client_bytes_per_connection),
        );
        if let Some(first) = &self.first_failure {
            t.row("first failure", first.clone());
        }
        t
    }
}
