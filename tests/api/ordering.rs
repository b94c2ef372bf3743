//! Ordering properties over random schedules: cursors and conversation `seq`s stay gap-free under
//! concurrent writers (retries included), replaying the events after a snapshot onto it equals a
//! fresh fetch (Zulip's `verify_action`), and status events only ever move a status forward.
//!
//! Each property runs a few cases on one server; every case signs up its own users, so cases are
//! independent of each other (shrinking reruns stay meaningful). The invariant checks here are
//! also used by `crash`.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::invariants::{
    assert_seqs_gap_free, head, history, message_ids, same_session, stream_gap_free,
};
use crate::support::{Client, TestApp};

/// Runs `cases` cases of `test` against one server on a 2-worker runtime (which keeps serving
/// between cases); each case gets its own number to name its users. Panics with proptest's
/// report (minimal failing input) on failure.
fn property<S: Strategy>(cases: u32, strategy: S, test: impl AsyncFn(&TestApp, usize, S::Value)) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let app = rt.block_on(TestApp::spawn());
    let mut runner = TestRunner::new(ProptestConfig {
        cases,
        max_shrink_iters: 32,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let case = Cell::new(0);
    let result = runner.run(&strategy, |value| {
        case.set(case.get() + 1);
        rt.block_on(test(&app, case.get(), value));
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

/// Signs up `count` fresh users named `{prefix}{i}`.
async fn users(app: &TestApp, prefix: &str, count: usize) -> (Vec<String>, Vec<Client>) {
    let names: Vec<String> = (0..count).map(|i| format!("{prefix}{i}")).collect();
    let mut clients = Vec::new();
    for name in &names {
        clients.push(app.signup(name).await);
    }
    (names, clients)
}

const WRITERS: usize = 8;
const PEOPLE: usize = 4;

/// One send of a writer: from user `from` to user `(from + offset) % PEOPLE`, maybe retried
/// concurrently with the same `client_id`.
#[derive(Debug, Clone)]
struct SendOp {
    from: usize,
    offset: usize,
    retry: bool,
}

fn schedules() -> impl Strategy<Value = Vec<Vec<SendOp>>> {
    let op = (0..PEOPLE, 1..PEOPLE, prop::bool::weighted(0.3)).prop_map(|(from, offset, retry)| {
        SendOp {
            from,
            offset,
            retry,
        }
    });
    prop::collection::vec(prop::collection::vec(op, 1..=6), WRITERS)
}

/// Runs one writer's sends in order; returns `(sender, recipient, id)` of each acked message.
async fn writer(
    clients: Arc<Vec<Client>>,
    names: Arc<Vec<String>>,
    w: usize,
    ops: Vec<SendOp>,
) -> Vec<(usize, usize, i64)> {
    let mut acked = Vec::new();
    for (i, op) in ops.into_iter().enumerate() {
        let to = (op.from + op.offset) % PEOPLE;
        let (client_id, body) = (format!("w{w}-{i}"), format!("writer {w} message {i}"));
        let sender = &clients[op.from];
        let message = if op.retry {
            let (a, b) = tokio::join!(
                sender.send(&names[to], &client_id, &body),
                sender.send(&names[to], &client_id, &body)
            );
            let mut statuses = [a.0, b.0];
            statuses.sort();
            assert_eq!(
                statuses,
                [StatusCode::OK, StatusCode::CREATED],
                "{}\n{}",
                a.1,
                b.1
            );
            assert_eq!(a.1, b.1, "a retry returns the stored message");
            a.1
        } else {
            let (status, message) = sender.send(&names[to], &client_id, &body).await;
            assert_eq!(status, StatusCode::CREATED, "{message}");
            message
        };
        acked.push((op.from, to, message["id"].as_i64().expect("id")));
    }
    acked
}

#[test]
fn concurrent_writers_keep_cursors_and_seqs_gap_free() {
    property(16, schedules(), async |app, case, schedule| {
        let (names, clients) = users(app, &format!("g{case}u"), PEOPLE).await;
        let (names, clients) = (Arc::new(names), Arc::new(clients));
        let tasks: Vec<_> = (schedule.into_iter().enumerate())
            .map(|(w, ops)| tokio::spawn(writer(clients.clone(), names.clone(), w, ops)))
            .collect();
        let mut mine: Vec<BTreeSet<i64>> = vec![BTreeSet::new(); PEOPLE];
        let mut pairs: BTreeMap<(usize, usize), usize> = BTreeMap::new();
        for task in tasks {
            for (from, to, id) in task.await.expect("writer task") {
                mine[from].insert(id);
                mine[to].insert(id);
                *pairs.entry((from.min(to), from.max(to))).or_default() += 1;
            }
        }
        for (u, client) in clients.iter().enumerate() {
            let events = stream_gap_free(client, &names[u]).await;
            assert_eq!(message_ids(&events), mine[u], "{}'s messages", names[u]);
            for other in (0..PEOPLE).filter(|o| *o != u) {
                let messages = history(client, &names[other]).await;
                let what = format!("{} with {}", names[u], names[other]);
                assert_seqs_gap_free(&messages, &what);
                let count = pairs.get(&(u.min(other), u.max(other))).copied();
                assert_eq!(messages.len(), count.unwrap_or(0), "{what}: message count");
            }
        }
    });
}

/// A user's state as a client holds it: each conversation's messages by id.
type Snapshot = BTreeMap<String, BTreeMap<i64, Value>>;

async fn snapshot(client: &Client, names: &[String], me: &str) -> Snapshot {
    let mut state = Snapshot::new();
    for other in names.iter().filter(|n| *n != me) {
        let messages = history(client, other).await;
        let by_id = messages
            .into_iter()
            .map(|m| (m["id"].as_i64().expect("id"), m));
        state.insert(other.clone(), by_id.collect());
    }
    state
}

/// Applies a stream's events to a snapshot the way a client does.
fn apply(state: &mut Snapshot, me: &str, events: &[Value]) {
    for event in events {
        match event["type"].as_str() {
            Some("message") => {
                let message = &event["message"];
                let other = if message["sender"] == me {
                    &message["recipient"]
                } else {
                    &message["sender"]
                };
                let other = other.as_str().expect("party").to_owned();
                let id = message["id"].as_i64().expect("id");
                state.entry(other).or_default().insert(id, message.clone());
            }
            Some("status") => {
                for id in event["message_ids"].as_array().expect("message_ids") {
                    let id = id.as_i64().expect("id");
                    let message = state.values_mut().find_map(|c| c.get_mut(&id));
                    let message = message
                        .unwrap_or_else(|| panic!("status of unknown message {id}: {event}"));
                    message["status"] = event["status"].clone();
                }
            }
            other => panic!("unexpected event type {other:?}: {event}"),
        }
    }
}

/// One action of the replay property, resolved against the messages sent so far.
#[derive(Debug, Clone)]
enum Action {
    /// `from` sends to `(from + offset) % 3`.
    Send { from: usize, offset: usize },
    /// The recipient of the `pick`-th message marks it (and the next `extra` ones to it).
    Mark {
        pick: usize,
        extra: usize,
        read: bool,
    },
    /// The recipient of the `pick`-th message marks the conversation read up to it.
    ReadUpTo { pick: usize },
}

fn actions() -> impl Strategy<Value = Vec<Action>> {
    let action = prop_oneof![
        3 => (0..3usize, 1..3usize).prop_map(|(from, offset)| Action::Send { from, offset }),
        2 => (any::<usize>(), 0..3usize, any::<bool>())
            .prop_map(|(pick, extra, read)| Action::Mark { pick, extra, read }),
        1 => any::<usize>().prop_map(|pick| Action::ReadUpTo { pick }),
    ];
    (
        prop::collection::vec(action.clone(), 0..6),
        prop::collection::vec(action, 1..10),
    )
        .prop_map(|(before, after)| {
            [before, vec![Action::Send { from: 0, offset: 1 }], after].concat()
        })
}

/// Performs `action`; `sent` holds `(sender, recipient, id)` of every message so far.
async fn act(
    clients: &[Client],
    names: &[String],
    sent: &mut Vec<(usize, usize, i64)>,
    action: &Action,
) {
    let pick = |p: usize| sent[p % sent.len()];
    match *action {
        Action::Send { from, offset } => {
            let to = (from + offset) % 3;
            let client_id = format!("a{}", sent.len());
            let (status, message) = clients[from]
                .send(&names[to], &client_id, "replay me")
                .await;
            assert_eq!(status, StatusCode::CREATED, "{message}");
            sent.push((from, to, message["id"].as_i64().expect("id")));
        }
        _ if sent.is_empty() => {}
        Action::Mark {
            pick: p,
            extra,
            read,
        } => {
            let (_, reader, _) = pick(p);
            let ids: Vec<i64> = sent
                .iter()
                .cycle()
                .skip(p % sent.len())
                .take(sent.len())
                .filter(|m| m.1 == reader)
                .take(extra + 1)
                .map(|m| m.2)
                .collect();
            let status = if read { "read" } else { "delivered" };
            let body = json!({"message_ids": ids, "status": status});
            let (code, answer) = clients[reader].post("/api/messages/status", body).await;
            assert_eq!(code, StatusCode::OK, "{answer}");
        }
        Action::ReadUpTo { pick: p } => {
            let (from, to, id) = pick(p);
            let path = format!("/api/conversations/{}/read", names[from]);
            let (code, answer) = clients[to].post(&path, json!({"up_to_id": id})).await;
            assert_eq!(code, StatusCode::OK, "{answer}");
        }
    }
}

#[test]
fn events_since_a_snapshot_replay_to_a_fresh_fetch() {
    property(16, actions(), async |app, case, actions| {
        let (names, clients) = users(app, &format!("r{case}u"), 3).await;
        let (before, after) = actions.split_at(actions.len() / 2);
        let mut sent = Vec::new();
        for action in before {
            act(&clients, &names, &mut sent, action).await;
        }
        let mut snapshots = Vec::new();
        for (client, me) in clients.iter().zip(&names) {
            snapshots.push((snapshot(client, &names, me).await, head(client).await));
        }
        for action in after {
            act(&clients, &names, &mut sent, action).await;
        }
        for ((mut state, cursor), (client, me)) in
            snapshots.into_iter().zip(clients.iter().zip(&names))
        {
            apply(&mut state, me, &client.all_events(cursor).await);
            let fresh = snapshot(client, &names, me).await;
            assert_eq!(
                state, fresh,
                "{me}: snapshot at {cursor} + events = a fresh fetch"
            );
        }
    });
}

fn rank(status: &Value) -> u8 {
    match status.as_str() {
        Some("sent") => 0,
        Some("delivered") => 1,
        Some("read") => 2,
        _ => panic!("unknown status {status}"),
    }
}

/// Folds a stream's status events per message (all starting at `sent`), asserting each one moves
/// every message it names strictly forward; returns the resulting rank of each of `ids`.
fn fold_statuses(events: &[Value], ids: &[i64], me: &str) -> Vec<u8> {
    let mut rank_of: BTreeMap<i64, u8> = ids.iter().map(|id| (*id, 0)).collect();
    for event in events.iter().filter(|e| e["type"] == "status") {
        let to = rank(&event["status"]);
        for id in event["message_ids"].as_array().expect("message_ids") {
            let from = rank_of
                .get_mut(&id.as_i64().expect("id"))
                .expect("a known message");
            assert!(
                to > *from,
                "{me}: status of {id} moves from {from} to {to}: {event}"
            );
            *from = to;
        }
    }
    ids.iter().map(|id| rank_of[id]).collect()
}

/// Receipts as (message index, read?), fired concurrently in groups; duplicates, backward
/// requests (delivered after read) and earlier positions after later ones included.
fn receipt_groups() -> impl Strategy<Value = Vec<Vec<(usize, bool)>>> {
    prop::collection::vec(
        prop::collection::vec((0..5usize, any::<bool>()), 1..5),
        1..6,
    )
}

#[test]
fn status_events_never_move_a_status_backwards() {
    property(12, receipt_groups(), async |app, case, groups| {
        let (names, clients) = users(app, &format!("s{case}u"), 2).await;
        let mut ids = Vec::new();
        for i in 0..5 {
            let (status, message) = clients[0].send(&names[1], &format!("m{i}"), "status").await;
            assert_eq!(status, StatusCode::CREATED, "{message}");
            ids.push(message["id"].as_i64().expect("id"));
        }
        let mut highest = [0u8; 5];
        for group in groups {
            let mut marks = tokio::task::JoinSet::new();
            for (i, read) in group {
                highest[i] = highest[i].max(if read { 2 } else { 1 });
                let status = if read { "read" } else { "delivered" };
                let body = json!({"message_ids": [ids[i]], "status": status});
                let reader = same_session(&clients[1]);
                marks.spawn(async move { reader.post("/api/messages/status", body).await });
            }
            for (code, answer) in marks.join_all().await {
                assert_eq!(code, StatusCode::OK, "{answer}");
            }
        }
        // Receipts are up-to: a message reaches the highest status requested for it or for
        // any later message.
        let highest: Vec<u8> = (0..5)
            .map(|i| highest[i..].iter().copied().max().unwrap_or(0))
            .collect();
        for (me, other) in [(0, 1), (1, 0)] {
            let events = stream_gap_free(&clients[me], &names[me]).await;
            let folded = fold_statuses(&events, &ids, &names[me]);
            assert_eq!(
                folded, highest,
                "{}: events reach the highest requested",
                names[me]
            );
            let history = history(&clients[me], &names[other]).await;
            let finals: Vec<u8> = history.iter().map(|m| rank(&m["status"])).collect();
            assert_eq!(finals, highest, "{}: stored statuses", names[me]);
        }
    });
}
