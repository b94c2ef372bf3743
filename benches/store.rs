//! Micro-benchmark of the SQLite store's write path: `SqliteStore::send_message` called by C
//! concurrent tasks, all going through the single writer thread, which commits whatever is
//! queued as one transaction (one fsync per batch). With C = 1 every send pays a full commit;
//! with more tasks the commits are shared. The database is a temporary file, `synchronous=FULL`.
//!
//! `cargo bench --bench store`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use linkup::input::{Body, ClientId, Username};
use linkup::store::sqlite::{SqliteOptions, SqliteStore};
use linkup::store::{NewUser, SendRequest, Store, User};
use linkup::time::Timestamp;

/// Conversations the sends are spread over (pairs of users).
const PAIRS: usize = 16;

struct Fixture {
    store: Arc<SqliteStore>,
    pairs: Vec<(User, User)>,
    next_id: AtomicU64,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("bench.db"), SqliteOptions::default())
        .await
        .expect("store opens");
    let mut users = Vec::new();
    for i in 0..PAIRS * 2 {
        let new = NewUser {
            username: Username::parse(&format!("user{i}")).expect("valid username"),
            display_name: format!("User {i}"),
            password_hash: "not-a-real-hash".into(),
            at: Timestamp::now(),
        };
        users.push(store.create_user(new).await.expect("user created"));
    }
    let pairs = (0..PAIRS)
        .map(|i| (users[2 * i].clone(), users[2 * i + 1].clone()))
        .collect();
    Fixture {
        store: Arc::new(store),
        pairs,
        next_id: AtomicU64::new(0),
        _dir: dir,
    }
}

/// One round: `tasks` concurrent sends, each in its own task; returns how long it took.
async fn round(fixture: &Fixture, tasks: usize, body: &Body) -> Duration {
    let started = Instant::now();
    let mut handles = Vec::with_capacity(tasks);
    for t in 0..tasks {
        let (sender, recipient) = fixture.pairs[t % PAIRS].clone();
        let n = fixture.next_id.fetch_add(1, Ordering::Relaxed);
        let request = SendRequest {
            sender,
            recipient,
            client_id: ClientId::parse(&format!("c{n}")).expect("valid client id"),
            body: body.clone(),
            at: Timestamp::now(),
        };
        let store = fixture.store.clone();
        handles.push(tokio::spawn(
            async move { store.send_message(request).await },
        ));
    }
    for handle in handles {
        handle.await.expect("task").expect("send stored");
    }
    started.elapsed()
}

fn send_message(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let fixture = runtime.block_on(fixture());
    let body = Body::parse(&"x".repeat(64), 4096).expect("valid body");
    let mut group = c.benchmark_group("sqlite_send_message");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    for tasks in [1, 16, 256] {
        group.throughput(Throughput::Elements(tasks as u64));
        group.bench_with_input(
            BenchmarkId::new("concurrent", tasks),
            &tasks,
            |b, &tasks| {
                b.iter_custom(|rounds| {
                    runtime.block_on(async {
                        let mut total = Duration::ZERO;
                        for _ in 0..rounds {
                            total += round(&fixture, tasks, &body).await;
                        }
                        total
                    })
                })
            },
        );
    }
    group.finish();
    runtime.block_on(fixture.store.close());
}

criterion_group!(benches, send_message);
criterion_main!(benches);
