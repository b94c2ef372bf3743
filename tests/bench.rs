//! `linkup bench` against a real server on port 0: it must count correctly. Only counts are
//! checked here; speed is measured by the bench itself (BENCHMARKS.md), never asserted.

use linkup::bench::{BenchArgs, Scenario, Target, group, sync, throughput, uploads};
use linkup::config::Config;
use linkup::server::Server;

/// A server on a fresh SQLite file, and the parsed `linkup bench …` arguments aimed at it.
async fn server_and_args(scenario: &[&str]) -> (Server, tempfile::TempDir, BenchArgs) {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(Config::for_tests(dir.path()))
        .await
        .expect("server starts");
    let url = server.url();
    let mut argv = vec!["bench", "--quiet", "--url", &url];
    argv.extend_from_slice(scenario);
    let args = BenchArgs::parse_from(argv).expect("bench arguments parse");
    (server, dir, args)
}

/// Runs `linkup bench … throughput …` with `args` against a fresh server, and stops it.
async fn run_throughput(args: &[&str]) -> throughput::ThroughputReport {
    run_throughput_watched(args, |_| tokio::spawn(async {}))
        .await
        .0
}

/// The same, with `watch` started on the server's URL just before the run: its result comes
/// back with the report.
async fn run_throughput_watched<T: Send + 'static>(
    args: &[&str],
    watch: impl FnOnce(String) -> tokio::task::JoinHandle<T>,
) -> (throughput::ThroughputReport, T) {
    let (server, _dir, args) = server_and_args(args).await;
    let Scenario::Throughput(scenario) = &args.scenario else {
        unreachable!("parsed as throughput")
    };
    let target = Target::connect(&args.target)
        .await
        .expect("server reachable");
    let watching = watch(server.url());
    let report = throughput::run(&target, scenario)
        .await
        .expect("bench runs");
    let watched = watching.await.expect("the watcher ends");
    server.stop().await.expect("server stops");
    (report, watched)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throughput_counts_every_message_once() {
    // The server runs in this process: its pid is ours, so the server's CPU is read too.
    let pid = std::process::id().to_string();
    let report = run_throughput(&[
        "--duration",
        "2s",
        "--server-pid",
        &pid,
        "throughput",
        "--pairs",
        "4",
    ])
    .await;

    assert!(report.sent > 0, "{report:?}");
    assert_eq!(report.acked, report.sent, "{report:?}");
    assert_eq!(report.delivered, report.acked, "{report:?}");
    assert_eq!(report.lost, 0, "{report:?}");
    assert_eq!(report.duplicates, 0, "{report:?}");
    assert_eq!(report.missed_live, 0, "{report:?}");
    assert_eq!(report.stored_unacked, 0, "{report:?}");
    assert_eq!(report.errors, 0, "{report:?}");
    assert_eq!(report.ack_latency_ms.count, report.acked);
    assert_eq!(report.deliver_latency_ms.count, report.delivered);
    let json: serde_json::Value = serde_json::to_value(&report).expect("report serializes");
    assert_eq!(json["lost"], 0);
    assert!(json["deliver_latency_ms"]["p99.9"].is_number(), "{json}");
    // CPU over the window: the bench worked, and (same process) the server reading agrees.
    let cpu = report.cpu;
    assert!(cpu.wall_s >= 2.0 && cpu.bench_s > 0.0, "{cpu:?}");
    let server = cpu.server_s.expect("the server's pid was given");
    assert!((server - cpu.bench_s).abs() < 0.1, "{cpu:?}");
    assert!(json["cpu"]["server_s"].is_number(), "{json}");
    // The server's SQLite writer over the same window: each send was a job of its own.
    let writer = report.writer.expect("a SQLite server reports its writer");
    let jobs = writer.commits_per_s * cpu.wall_s * writer.jobs_per_commit;
    assert!(jobs.round() >= report.acked as f64, "{writer:?}");
    assert!(writer.busy > 0.0 && writer.busy <= 1.0, "{writer:?}");
    assert!(
        writer.job_p99_ms_at_most >= writer.job_p50_ms_at_most,
        "{writer:?}"
    );
    assert!(json["writer"]["busy"].is_number(), "{json}");
}

#[test]
fn server_pid_is_read_before_or_after_the_scenario() {
    for argv in [
        ["bench", "--server-pid", "42", "connections"],
        ["bench", "connections", "--server-pid", "42"],
    ] {
        let args = BenchArgs::parse_from(argv).expect("bench arguments parse");
        assert_eq!(args.target.server_pid, Some(42), "{argv:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_throughput_sends_on_schedule_and_loses_nothing() {
    let report = run_throughput(&[
        "--duration",
        "1s",
        "throughput",
        "--pairs",
        "2",
        "--rate",
        "100",
        "--no-receipts",
    ])
    .await;

    // 100/s for 1 s over 2 senders: the schedule allows exactly 100 sends.
    assert_eq!(report.sent, 100, "{report:?}");
    assert_eq!(report.delivered, 100, "{report:?}");
    assert_eq!((report.lost, report.duplicates), (0, 0), "{report:?}");
}

/// Readings of the server's `/metrics` (sockets open, messages stored) every 5 ms, until
/// `messages` are stored, or long after they should have been.
async fn readings_until_stored(url: String, messages: u64) -> Vec<(u64, u64)> {
    let client = reqwest::Client::new();
    let give_up = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut readings = Vec::new();
    loop {
        let reading = sockets_and_messages(&client, &url).await;
        readings.push(reading);
        if reading.1 >= messages || tokio::time::Instant::now() > give_up {
            return readings;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// One reading of the server's `/metrics`: sockets open, messages stored.
async fn sockets_and_messages(client: &reqwest::Client, url: &str) -> (u64, u64) {
    let text = client
        .get(format!("{url}/metrics"))
        .send()
        .await
        .expect("metrics answer")
        .text()
        .await
        .expect("metrics read");
    let value = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} in {text}"))
    };
    (
        value("linkup_open_sockets"),
        value("linkup_messages_stored_total"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_socket_closes_while_messages_are_in_flight() {
    // Open loop, 2 sends a second per sender, their schedules staggered: the first sender's
    // last send comes at 0.5 s, the last sender's at 0.875 s. None may leave before the
    // others' last messages are stored, or the server would see users going offline in the
    // middle of the measured load.
    let pairs = 4;
    let (report, readings) = run_throughput_watched(
        &[
            "--duration",
            "1s",
            "throughput",
            "--pairs",
            "4",
            "--rate",
            "8",
        ],
        |url| tokio::spawn(readings_until_stored(url, 8)),
    )
    .await;

    assert_eq!(report.sent, 8, "{report:?}");
    let during: Vec<_> = readings
        .iter()
        .filter(|(_, stored)| (1..8).contains(stored))
        .collect();
    assert!(
        during.len() > 10,
        "too few readings during the run: {readings:?}"
    );
    assert!(
        during.iter().all(|(open, _)| *open == 2 * pairs),
        "a socket closed while messages were in flight: {readings:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_up_sends_are_checked_but_not_timed() {
    let report = run_throughput(&[
        "--duration",
        "1s",
        "--warmup",
        "1s",
        "throughput",
        "--pairs",
        "2",
        "--rate",
        "100",
        "--no-receipts",
    ])
    .await;

    // Two seconds of sending at 100/s, all of it checked; only sends made after the first
    // second are timed: the 100 scheduled then, plus any warm-up send whose timer fired late.
    assert_eq!(report.sent, 200, "{report:?}");
    assert_eq!(report.delivered, 200, "{report:?}");
    assert_eq!((report.lost, report.duplicates), (0, 0), "{report:?}");
    assert_eq!(report.warmup_s, 1.0, "{report:?}");
    let timed = report.ack_latency_ms.count;
    assert!((100..=110).contains(&timed), "{report:?}");
    assert_eq!(report.deliver_latency_ms.count, timed, "{report:?}");
}

/// Runs `linkup bench … group …` with `args` against a fresh server, and stops it.
async fn run_group(args: &[&str]) -> group::GroupReport {
    let (server, _dir, args) = server_and_args(args).await;
    let Scenario::Group(scenario) = &args.scenario else {
        unreachable!("parsed as group")
    };
    let target = Target::connect(&args.target)
        .await
        .expect("server reachable");
    let report = group::run(&target, scenario).await.expect("bench runs");
    server.stop().await.expect("server stops");
    report
}

/// 2 s of 2 groups × 4 members, 2 senders a group keeping 4 sends in flight.
const TWO_GROUPS_OF_FOUR: [&str; 11] = [
    "--duration",
    "2s",
    "group",
    "--groups",
    "2",
    "--members",
    "4",
    "--senders",
    "2",
    "--in-flight",
    "4",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_delivers_every_message_to_every_other_member_once() {
    let report = run_group(&TWO_GROUPS_OF_FOUR).await;

    assert_eq!((report.users, report.senders), (8, 2), "{report:?}");
    assert!(report.sent > 0, "{report:?}");
    // No --server-pid: the bench's own CPU only.
    assert!(
        report.cpu.bench_s > 0.0 && report.cpu.server_s.is_none(),
        "{report:?}"
    );
    assert_eq!(report.acked, report.sent, "{report:?}");
    // Each message reaches the 3 members other than its sender, each once.
    assert_eq!(report.deliveries, report.acked * 3, "{report:?}");
    assert_eq!(report.expected_deliveries, report.deliveries, "{report:?}");
    assert_eq!((report.lost, report.duplicates), (0, 0), "{report:?}");
    assert_eq!(report.live_duplicates, 0, "{report:?}");
    assert_eq!(report.missed_live, 0, "{report:?}");
    assert_eq!(report.stored_unacked, 0, "{report:?}");
    assert_eq!(report.errors, 0, "{report:?}");
    assert_eq!(report.ack_latency_ms.count, report.acked, "{report:?}");
    assert_eq!(
        report.deliver_latency_ms.count, report.deliveries,
        "{report:?}"
    );
    assert_eq!(
        report.last_member_latency_ms.count, report.acked,
        "{report:?}"
    );
    let json: serde_json::Value = serde_json::to_value(&report).expect("report serializes");
    assert_eq!(json["scenario"], "group");
    assert!(json["last_member_latency_ms"]["p99"].is_number(), "{json}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_offline_are_stored_every_message_and_pushed_none() {
    // 2 groups × 4 members, half of each online: the two senders of each group, who each get
    // the other's messages live; the other two members' messages are only in /api/sync.
    let report = run_group(&[&TWO_GROUPS_OF_FOUR[..], &["--online", "50"]].concat()).await;

    assert_eq!((report.users, report.online), (8, 2), "{report:?}");
    assert!(report.acked > 0, "{report:?}");
    assert_eq!(report.deliveries, report.acked, "{report:?}");
    assert_eq!(report.expected_deliveries, report.acked, "{report:?}");
    assert_eq!(
        report.last_member_latency_ms.count, report.acked,
        "{report:?}"
    );
    // The verdict read every member's stream, the offline ones too: each stream holds one
    // message event per message (its own group's), plus nothing else of the run.
    assert_eq!((report.lost, report.duplicates), (0, 0), "{report:?}");
    assert_eq!(
        (report.missed_live, report.stored_unacked),
        (0, 0),
        "{report:?}"
    );
    assert_eq!(report.errors, 0, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_in_several_groups_get_each_group_once_in_open_loop() {
    // 2 groups × 4 members over 6 users: users 0 and 1 are in both groups, on one socket.
    let report = run_group(&[
        "--duration",
        "1s",
        "group",
        "--groups",
        "2",
        "--members",
        "4",
        "--users",
        "6",
        "--senders",
        "1",
        "--rate",
        "100",
        "--no-receipts",
    ])
    .await;

    // 100/s for 1 s over 2 senders (one per group): the schedule allows exactly 100 sends.
    assert_eq!(report.sent, 100, "{report:?}");
    assert_eq!(report.acked, 100, "{report:?}");
    assert_eq!(report.deliveries, 300, "{report:?}");
    assert_eq!((report.lost, report.duplicates), (0, 0), "{report:?}");
    assert_eq!(
        (report.live_duplicates, report.missed_live),
        (0, 0),
        "{report:?}"
    );
    assert_eq!(report.errors, 0, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_catches_up_every_missed_message_both_ways() {
    let (server, _dir, args) =
        server_and_args(&["sync", "--messages", "1500", "--repeat", "1"]).await;
    let Scenario::Sync(scenario) = &args.scenario else {
        unreachable!("parsed as sync")
    };
    let target = Target::connect(&args.target)
        .await
        .expect("server reachable");
    let report = sync::run(&target, scenario).await.expect("bench runs");

    assert_eq!(report.http_messages, 1500, "{report:?}");
    assert_eq!(report.http_pages, 2, "{report:?}");
    assert_eq!(report.ws_messages, 1500, "{report:?}");
    assert_eq!(report.http_ms.len(), 1);
    server.stop().await.expect("server stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_counts_files_and_thumbnails() {
    let (server, _dir, args) = server_and_args(&[
        "uploads",
        "--duration",
        "1s",
        "--file-mib",
        "1",
        "--images",
        "3",
        "--image-side",
        "400",
        "--in-flight",
        "2",
    ])
    .await;
    let Scenario::Uploads(scenario) = &args.scenario else {
        unreachable!("parsed as uploads")
    };
    let target = Target::connect(&args.target)
        .await
        .expect("server reachable");
    let report = uploads::run(&target, scenario).await.expect("bench runs");
    assert!(report.files >= 1, "{report:?}");
    assert_eq!(report.images, 3);
    assert!(report.thumbnails_per_s > 0.0, "{report:?}");
    server.stop().await.expect("server stops");
}
