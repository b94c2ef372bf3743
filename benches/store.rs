//! Micro-benchmark of the SQLite store's write path: `SqliteStore::send_message` called by C
//! concurrent tasks, all going through the single writer thread, which commits whatever is
//! queued as one transaction (one fsync per batch). With C = 1 every send pays a full commit;
//! with more tasks the commits are shared. The database is a temporary file, `synchronous=FULL`.
//!
//! `sqlite_many_users` is the store's side of the latency scenario: 10,000 users, half of them
//! sending to the other half, each message followed by its recipient's `delivered` receipt, 256
//! at a time. The writes land on the pages of thousands of different users, so a batch shares
//! few of them: this is what a busy server with many people online costs the writer.
//!
//! `sqlite_group_send` is the store's side of the group fan-out: one group of 256 members,
//! four of them sending 16 messages at a time, each send storing an event in every member's
//! stream (256 member-deliveries a send, counted as its throughput). No receipts.
//!
//! `cargo bench --bench store`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use linkup::domain::MessageStatus;
use linkup::domain::User;
use linkup::domain::group::{Description, Settings, Title};
use linkup::domain::ids::ConversationId;
use linkup::domain::input::{Body, ClientId, Username};
use linkup::domain::time::Timestamp;
use linkup::store::sqlite::{SqliteOptions, SqliteStore};
use linkup::store::{Destination, NewGroup, NewUser, SendRequest, StatusChange, Store};

/// Conversations the sends are spread over (pairs of users).
const PAIRS: usize = 16;

struct Fixture {
    store: Arc<SqliteStore>,
    pairs: Vec<(User, User)>,
    next_id: AtomicU64,
    _dir: tempfile::TempDir,
}

/// A benchmark group of 20 samples over `measurement`: each sample runs the store for real, so
/// criterion's default 100 would take minutes.
fn benchmark_group<'a>(
    c: &'a mut Criterion,
    name: &str,
    measurement: Duration,
) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group.sample_size(20).measurement_time(measurement);
    group
}

async fn fixture() -> Fixture {
    fixture_of(PAIRS).await
}

async fn fixture_of(pairs: usize) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("bench.db"), SqliteOptions::default())
        .await
        .expect("store opens");
    let mut users = Vec::new();
    for i in 0..pairs * 2 {
        let new = NewUser {
            username: Username::parse(&format!("user{i}")).expect("valid username"),
            display_name: format!("User {i}"),
            password_hash: "not-a-real-hash".into(),
            at: Timestamp::now(),
        };
        users.push(store.create_user(new).await.expect("user created"));
    }
    let pairs = (0..pairs)
        .map(|i| (users[2 * i].clone(), users[2 * i + 1].clone()))
        .collect();
    Fixture {
        store: Arc::new(store),
        pairs,
        next_id: AtomicU64::new(0),
        _dir: dir,
    }
}

impl Fixture {
    /// The next send of pair `pair`, with a fresh client id.
    fn request(&self, pair: usize, body: &Body) -> SendRequest {
        let (sender, recipient) = self.pairs[pair % self.pairs.len()].clone();
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        SendRequest {
            sender,
            to: Destination::Direct(recipient),
            client_id: ClientId::parse(&format!("c{n}")).expect("valid client id"),
            body: body.clone(),
            reply_to: None,
            attachments: Vec::new(),
            at: Timestamp::now(),
            requests: false,
        }
    }
}

/// Runs `round` `rounds` times and adds up the times it reports (criterion's `iter_custom`:
/// only what each round times is counted).
fn summed<F, R>(runtime: &tokio::runtime::Runtime, rounds: u64, round: F) -> Duration
where
    F: Fn() -> R,
    R: std::future::Future<Output = Duration>,
{
    runtime.block_on(async {
        let mut total = Duration::ZERO;
        for _ in 0..rounds {
            total += round().await;
        }
        total
    })
}

/// One round: `tasks` concurrent sends, each in its own task; returns how long it took.
async fn round(fixture: &Fixture, tasks: usize, body: &Body) -> Duration {
    let requests = (0..tasks).map(|t| fixture.request(t, body)).collect();
    all_at_once(fixture, requests).await
}

/// Stores every send at once, each in its own task; returns how long they took together.
async fn all_at_once(fixture: &Fixture, requests: Vec<SendRequest>) -> Duration {
    let started = Instant::now();
    let handles: Vec<_> = requests
        .into_iter()
        .map(|request| {
            let store = fixture.store.clone();
            tokio::spawn(async move { store.send_message(request).await })
        })
        .collect();
    for handle in handles {
        handle.await.expect("task").expect("send stored");
    }
    started.elapsed()
}

/// One round of the many-users load: `tasks` concurrent sends between pairs picked at random,
/// each followed by the recipient's `delivered` receipt; returns how long it took.
async fn round_with_receipts(fixture: &Fixture, tasks: usize, body: &Body) -> Duration {
    let started = Instant::now();
    let mut handles = Vec::with_capacity(tasks);
    for _ in 0..tasks {
        let request = fixture.request(rand::random_range(0..fixture.pairs.len()), body);
        let store = fixture.store.clone();
        handles.push(tokio::spawn(async move {
            let reader = request.recipient().cloned().expect("a direct send");
            let sent = store.send_message(request).await?;
            let change = StatusChange {
                reader,
                message_ids: vec![sent.message.id],
                status: MessageStatus::Delivered,
                live_max: 32,
                at: Timestamp::now(),
            };
            store.set_status(change).await
        }));
    }
    for handle in handles {
        handle
            .await
            .expect("task")
            .expect("send and receipt stored");
    }
    started.elapsed()
}

fn send_message(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let fixture = runtime.block_on(fixture());
    let body = Body::parse(&"x".repeat(64), 4096).expect("valid body");
    let mut group = benchmark_group(c, "sqlite_send_message", Duration::from_secs(5));
    for tasks in [1, 16, 256] {
        group.throughput(Throughput::Elements(tasks as u64));
        group.bench_with_input(
            BenchmarkId::new("concurrent", tasks),
            &tasks,
            |b, &tasks| {
                b.iter_custom(|rounds| summed(&runtime, rounds, || round(&fixture, tasks, &body)))
            },
        );
    }
    group.finish();
    runtime.block_on(fixture.store.close());
}

/// Users of the many-users load, half sending to the other half.
const MANY_USERS: usize = 10_000;

fn many_users(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let fixture = runtime.block_on(async {
        let fixture = fixture_of(MANY_USERS / 2).await;
        // Every pair has a conversation already, as on a server that has been up for a while.
        let body = Body::parse("hello", 4096).expect("valid body");
        let sends = (0..fixture.pairs.len())
            .map(|pair| fixture.request(pair, &body))
            .collect();
        for sent in fixture.store.send_messages(sends).await {
            sent.expect("first message stored");
        }
        fixture
    });
    let body = Body::parse(&"x".repeat(64), 4096).expect("valid body");
    let mut group = benchmark_group(c, "sqlite_many_users", Duration::from_secs(10));
    let tasks = 256;
    group.throughput(Throughput::Elements(tasks as u64));
    group.bench_function("send_and_deliver/256", |b| {
        b.iter_custom(|rounds| {
            summed(&runtime, rounds, || {
                round_with_receipts(&fixture, tasks, &body)
            })
        })
    });
    group.finish();
    runtime.block_on(fixture.store.close());
}

/// Members of the group of `sqlite_group_send`, and those of them who send.
const GROUP_MEMBERS: usize = 256;
const GROUP_SENDERS: usize = 4;

/// A group of every user of `fixture` (`GROUP_MEMBERS` of them), created by the first.
async fn group_of_all(fixture: &Fixture) -> ConversationId {
    let users: Vec<User> = fixture
        .pairs
        .iter()
        .flat_map(|(a, b)| [a.clone(), b.clone()])
        .collect();
    let new = NewGroup {
        creator: users[0].clone(),
        client_id: ClientId::parse("bench-group").expect("valid client id"),
        title: Title::parse("Bench").expect("valid title"),
        description: Description::default(),
        settings: Settings::default(),
        members: users[1..].to_vec(),
        only_retry: false,
        at: Timestamp::now(),
        requests: false,
    };
    let written = fixture
        .store
        .create_group(new)
        .await
        .expect("group created");
    written.group.expect("the group").id
}

/// One round of group sends: `tasks` concurrent sends to `group`, taking turns among its first
/// `GROUP_SENDERS` members (the users of the first pairs, both sides).
async fn group_round(
    fixture: &Fixture,
    group: ConversationId,
    tasks: usize,
    body: &Body,
) -> Duration {
    let requests = (0..tasks)
        .map(|t| {
            let mut request = fixture.request(t % (GROUP_SENDERS / 2), body);
            if t % 2 == 1 {
                request.sender = request.recipient().cloned().expect("a direct send");
            }
            request.to = Destination::Group(group);
            request
        })
        .collect();
    all_at_once(fixture, requests).await
}

fn group_send(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (fixture, group) = runtime.block_on(async {
        let fixture = fixture_of(GROUP_MEMBERS / 2).await;
        let group = group_of_all(&fixture).await;
        (fixture, group)
    });
    let body = Body::parse(&"x".repeat(64), 4096).expect("valid body");
    let mut group_bench = benchmark_group(c, "sqlite_group_send", Duration::from_secs(10));
    let tasks = 16;
    group_bench.throughput(Throughput::Elements((tasks * GROUP_MEMBERS) as u64));
    group_bench.bench_function("256_members/16_in_flight", |b| {
        b.iter_custom(|rounds| {
            summed(&runtime, rounds, || {
                group_round(&fixture, group, tasks, &body)
            })
        })
    });
    group_bench.finish();
    runtime.block_on(fixture.store.close());
}

criterion_group!(benches, send_message, many_users, group_send);
criterion_main!(benches);
