//! `linkup bench sync`: a user misses M messages while offline, then catches up twice — through
//! `GET /api/sync` (1,000 events a page, following `next`) and through a socket opened with
//! `?since=` — and the time each takes, from the first request to the last event, is reported
//! (best and median of `--repeat` rounds; nothing is marked read, so every round reads the same).

use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use serde::Serialize;
use serde_json::json;
use tokio::time::Instant;

use super::Target;
use super::report::{Table, Tabular, per_second, thousands};
use super::socket::{self, Frame, Read};
use super::users;

/// How long one catch-up may take before the run gives up.
const PATIENCE: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, Args)]
pub struct SyncArgs {
    /// Messages the user misses.
    #[arg(long, default_value_t = 10_000)]
    pub messages: usize,
    /// Size of each message body in bytes.
    #[arg(long, default_value_t = 64)]
    pub body_bytes: usize,
    /// Sends kept unacknowledged while filling the backlog.
    #[arg(long, default_value_t = 64)]
    pub in_flight: usize,
    /// Catch-up rounds of each kind.
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    pub scenario: &'static str,
    pub url: String,
    pub messages: usize,
    pub body_bytes: usize,
    /// Filling the backlog (sends over one socket).
    pub fill_s: f64,
    pub fill_per_s: f64,
    /// Each round's time, in milliseconds.
    pub http_ms: Vec<f64>,
    pub http_best_ms: f64,
    pub http_median_ms: f64,
    pub http_pages: usize,
    /// Message events read back in the last HTTP round.
    pub http_messages: usize,
    pub ws_ms: Vec<f64>,
    pub ws_best_ms: f64,
    pub ws_median_ms: f64,
    /// Message frames received in the last socket round.
    pub ws_messages: usize,
}

/// Runs the sync scenario.
pub async fn run(target: &Target, args: &SyncArgs) -> anyhow::Result<SyncReport> {
    anyhow::ensure!(args.messages > 0, "--messages must be positive");
    let people = users::users(target, 2).await?;
    let (writer, reader) = (&people[0], &people[1]);
    let start = users::latest_cursor(target, &reader.token).await?;
    let fill = Instant::now();
    fill_backlog(target, &writer.token, &reader.username, args).await?;
    let fill_s = fill.elapsed().as_secs_f64();

    let (mut http_ms, mut ws_ms) = (Vec::new(), Vec::new());
    let (mut http_pages, mut http_messages, mut ws_messages) = (0, 0, 0);
    for _ in 0..args.repeat.max(1) {
        let at = Instant::now();
        (http_pages, http_messages) = catch_up_http(target, &reader.token, start).await?;
        http_ms.push(at.elapsed().as_secs_f64() * 1000.0);
        let at = Instant::now();
        ws_messages = catch_up_socket(target, &reader.token, start, args.messages).await?;
        ws_ms.push(at.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(SyncReport {
        scenario: "sync",
        url: target.base.clone(),
        messages: args.messages,
        body_bytes: args.body_bytes,
        fill_s,
        fill_per_s: per_second(args.messages as u64, fill_s),
        http_best_ms: best(&http_ms),
        http_median_ms: median(&http_ms),
        http_ms,
        http_pages,
        http_messages,
        ws_best_ms: best(&ws_ms),
        ws_median_ms: median(&ws_ms),
        ws_ms,
        ws_messages,
    })
}

/// Sends `messages` to `to` over one socket, `in_flight` at a time, and waits for every ack.
async fn fill_backlog(
    target: &Target,
    token: &str,
    to: &str,
    args: &SyncArgs,
) -> anyhow::Result<()> {
    let mut ws = socket::notifications(target, token, None, None).await?;
    let tag = users::run_tag();
    let body = "x".repeat(args.body_bytes.max(1));
    let (mut sent, mut acked) = (0, 0);
    let send = |n: usize| {
        json!({"type": "send", "to": to, "client_id": format!("{tag}-{n}"), "body": body})
            .to_string()
    };
    while sent < args.messages.min(args.in_flight.max(1)) {
        socket::send_text(&mut ws, send(sent)).await?;
        sent += 1;
    }
    while acked < args.messages {
        let read = tokio::time::timeout(PATIENCE, socket::read(&mut ws))
            .await
            .context("no ack for two minutes")?;
        let text = match read {
            Read::Text(text) => text,
            Read::Closed(code) => bail!("the server closed the socket ({code:?}) while filling"),
            Read::Other => continue,
        };
        let Some(frame) = Frame::parse(&text) else {
            continue;
        };
        match &*frame.kind {
            "ack" => acked += 1,
            "error" => bail!("the server refused a send: {text}"),
            _ => continue,
        }
        if sent < args.messages {
            socket::send_text(&mut ws, send(sent)).await?;
            sent += 1;
        }
    }
    let _ = ws.close(None).await;
    Ok(())
}

/// Pages `/api/sync` from `since` to the end; returns pages read and message events seen.
async fn catch_up_http(target: &Target, token: &str, since: i64) -> anyhow::Result<(usize, usize)> {
    let (mut since, mut pages, mut messages) = (since, 0, 0);
    loop {
        let page = users::sync_page(target, token, since).await?;
        pages += 1;
        messages += page.events.iter().filter(|e| e.kind == "message").count();
        since = page.next;
        if !page.has_more {
            return Ok((pages, messages));
        }
    }
}

/// Opens a socket with `?since=` and reads until `expected` message frames have arrived.
async fn catch_up_socket(
    target: &Target,
    token: &str,
    since: i64,
    expected: usize,
) -> anyhow::Result<usize> {
    let mut ws = socket::notifications(target, token, Some(since), None).await?;
    let mut messages = 0;
    let deadline = Instant::now() + PATIENCE;
    while messages < expected {
        let read = tokio::time::timeout_at(deadline, socket::read(&mut ws))
            .await
            .with_context(|| {
                format!("{messages} of {expected} messages replayed in two minutes")
            })?;
        match read {
            Read::Text(text) => {
                if Frame::parse(&text).is_some_and(|f| f.kind == "message") {
                    messages += 1;
                }
            }
            Read::Closed(code) => bail!("the replaying socket closed ({code:?}) after {messages}"),
            Read::Other => {}
        }
    }
    let _ = ws.close(None).await;
    Ok(messages)
}

fn best(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::INFINITY, f64::min)
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(0.0)
}

impl Tabular for SyncReport {
    fn table(&self) -> Table {
        let mut t = Table::new(format!("linkup bench sync — {}", self.url));
        t.row(
            "backlog",
            format!(
                "{} messages of {} B, sent in {:.2} s ({:.0}/s)",
                thousands(self.messages as u64),
                self.body_bytes,
                self.fill_s,
                self.fill_per_s
            ),
        )
        .row(
            "GET /api/sync",
            format!(
                "best {:.1} ms, median {:.1} ms ({} pages, {} messages)",
                self.http_best_ms, self.http_median_ms, self.http_pages, self.http_messages
            ),
        )
        .row(
            "socket ?since=",
            format!(
                "best {:.1} ms, median {:.1} ms ({} messages, handshake included)",
                self.ws_best_ms, self.ws_median_ms, self.ws_messages
            ),
        );
        t
    }
}
