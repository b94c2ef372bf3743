//! Durability of the real binary: `linkup serve` is started as a child process on a temp data
//! dir, killed with SIGKILL (or stopped with SIGTERM) right after or during traffic, and started
//! again on the same dir. Every send that was acknowledged (201/200) must be there exactly once,
//! cursors must stay gap-free, and sessions must survive the restart.

use std::collections::BTreeSet;
use std::process::ExitStatus;
use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::backend::TestStore;
use crate::invariants::{
    assert_seqs_gap_free, history, message_ids, same_session, stream_gap_free,
};
use crate::process::{Linkup, STARTUP, repoint, signup};
use crate::support::Client;

/// One send of the traffic: `acked` is the message id when the sender got a full 2xx answer.
#[derive(Debug)]
struct Attempt {
    from: usize,
    to: usize,
    client_id: String,
    body: String,
    acked: Option<i64>,
}

/// A send that reports transport failures (the server going away) instead of panicking.
async fn try_send(
    client: &Client,
    to: &str,
    client_id: &str,
    body: &str,
) -> reqwest::Result<(StatusCode, Value)> {
    let response = client
        .http
        .post(format!("{}/api/conversations/{to}/messages", client.base))
        .header("X-CSRF-Token", client.csrf.clone().unwrap_or_default())
        .json(&json!({"client_id": client_id, "body": body}))
        .send()
        .await?;
    let status = response.status();
    Ok((status, response.json().await?))
}

/// Sends from rotating senders until the server goes away; the first failed send ends the task.
async fn traffic(
    clients: Arc<Vec<Client>>,
    names: Arc<Vec<String>>,
    task: usize,
    acks: Arc<watch::Sender<usize>>,
) -> Vec<Attempt> {
    let mut attempts = Vec::new();
    for i in 0..2000 {
        let from = (task + i) % clients.len();
        let to = (from + 1 + i % (clients.len() - 1)) % clients.len();
        let (client_id, body) = (format!("t{task}-{i}"), format!("task {task} message {i}"));
        let answer = try_send(&clients[from], &names[to], &client_id, &body).await;
        let acked = match &answer {
            Ok((status, message)) if status.is_success() => message["id"].as_i64(),
            Ok((status, message)) => panic!("{client_id}: unexpected {status}: {message}"),
            Err(_) => None,
        };
        attempts.push(Attempt {
            from,
            to,
            client_id,
            body,
            acked,
        });
        if acked.is_none() {
            return attempts;
        }
        acks.send_modify(|n| *n += 1);
    }
    attempts
}

/// How the server is stopped in the middle of traffic.
#[derive(Debug, Clone, Copy)]
enum Stop {
    Kill,
    Term,
}

/// Runs `tasks` traffic tasks until `enough` sends are acked, then stops the server with `stop`
/// while they run; returns every attempt.
async fn traffic_until_stopped(
    linkup: &mut Linkup,
    clients: &[Client],
    names: &[String],
    tasks: usize,
    enough: usize,
    stop: Stop,
) -> (Vec<Attempt>, ExitStatus) {
    let clients = Arc::new(clients.iter().map(same_session).collect::<Vec<_>>());
    let names = Arc::new(names.to_vec());
    let acks = Arc::new(watch::Sender::new(0));
    let mut acked = acks.subscribe();
    let running: Vec<_> = (0..tasks)
        .map(|t| tokio::spawn(traffic(clients.clone(), names.clone(), t, acks.clone())))
        .collect();
    // `wait_for` returns a read guard on the value: drop it at once, or senders would block.
    let waited = tokio::time::timeout(STARTUP, acked.wait_for(|n| *n >= enough)).await;
    assert!(
        waited.is_ok_and(|guard| guard.is_ok()),
        "fewer than {enough} acks in {STARTUP:?}"
    );
    let status = match stop {
        Stop::Kill => linkup.kill(),
        Stop::Term => linkup.terminate().await,
    };
    let mut attempts = Vec::new();
    for task in running {
        attempts.extend(task.await.expect("traffic task"));
    }
    (attempts, status)
}

/// After a restart: retries every send whose outcome is unknown (same `client_id`, as a client
/// would), then checks that each user's stream is gap-free and holds exactly the attempted
/// messages, once each, with the bodies that were sent.
async fn verify(clients: &[Client], names: &[String], mut attempts: Vec<Attempt>) {
    for attempt in attempts.iter_mut().filter(|a| a.acked.is_none()) {
        let (status, message) = clients[attempt.from]
            .send(&names[attempt.to], &attempt.client_id, &attempt.body)
            .await;
        assert!(
            matches!(status, StatusCode::OK | StatusCode::CREATED),
            "retry of {}: {status} {message}",
            attempt.client_id
        );
        attempt.acked = message["id"].as_i64();
    }
    let ids: BTreeSet<Option<i64>> = attempts.iter().map(|a| a.acked).collect();
    assert_eq!(
        ids.len(),
        attempts.len(),
        "one message per client_id, never an id reused"
    );
    for (u, client) in clients.iter().enumerate() {
        let events = stream_gap_free(client, &names[u]).await;
        let expected = attempts
            .iter()
            .filter(|a| a.from == u || a.to == u)
            .filter_map(|a| a.acked)
            .collect();
        assert_eq!(
            message_ids(&events),
            expected,
            "{}'s messages after the restart",
            names[u]
        );
        for other in (0..names.len()).filter(|o| *o != u) {
            let messages = history(client, &names[other]).await;
            assert_seqs_gap_free(&messages, &format!("{} with {}", names[u], names[other]));
            for message in messages {
                let id = message["id"].as_i64();
                let attempt = attempts
                    .iter()
                    .find(|a| a.acked == id)
                    .expect("an attempted message");
                assert_eq!(
                    (&message["client_id"], &message["body"]),
                    (&json!(attempt.client_id), &json!(attempt.body))
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledged_message_and_the_session_survive_sigkill() {
    let store = TestStore::new(crate::BACKEND).await;
    let mut first = Linkup::start(&store).await;
    let mut people = vec![
        signup(&first.url, "alice").await,
        signup(&first.url, "bob").await,
    ];
    let (status, sent) = people[0]
        .send("bob", "before-crash", "hello before the crash")
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    assert!(!first.kill().success(), "SIGKILL is not a clean exit");

    let second = Linkup::start(&store).await;
    repoint(&mut people, &second);
    let (status, me) = people[0].get("/api/me").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the old session cookie still works: {me}"
    );
    assert_eq!(me["user"]["username"], "alice");
    assert_eq!(me["csrf_token"].as_str(), people[0].csrf.as_deref());
    assert_eq!(
        history(&people[0], "bob").await,
        vec![sent.clone()],
        "alice's history"
    );
    assert_eq!(
        history(&people[1], "alice").await,
        vec![sent.clone()],
        "bob's history"
    );
    for (client, who) in people.iter().zip(["alice", "bob"]) {
        let events = stream_gap_free(client, who).await;
        assert_eq!(events.len(), 1, "{who}: {events:?}");
        assert_eq!(events[0]["message"], sent, "{who}'s sync");
    }
    let retry = people[0]
        .send("bob", "before-crash", "hello before the crash")
        .await;
    assert_eq!(
        retry,
        (StatusCode::OK, sent.clone()),
        "a retry after the restart is idempotent"
    );
    let (status, next) = people[0].send("bob", "after-crash", "and after").await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "cookie + CSRF still accepted: {next}"
    );
    assert_eq!(next["seq"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_traffic_loses_no_acknowledged_message() {
    let store = TestStore::new(crate::BACKEND).await;
    let mut first = Linkup::start(&store).await;
    let names: Vec<String> = ["ann", "ben", "cat"].map(str::to_owned).to_vec();
    let mut people = Vec::new();
    for name in &names {
        people.push(signup(&first.url, name).await);
    }
    let (attempts, status) =
        traffic_until_stopped(&mut first, &people, &names, 6, 80, Stop::Kill).await;
    assert!(!status.success(), "SIGKILL is not a clean exit");
    assert!(attempts.iter().filter(|a| a.acked.is_some()).count() >= 80);

    let second = Linkup::start(&store).await;
    repoint(&mut people, &second);
    verify(&people, &names, attempts).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_cleanly_and_keeps_acknowledged_messages() {
    let store = TestStore::new(crate::BACKEND).await;
    let mut first = Linkup::start(&store).await;
    let names: Vec<String> = ["dan", "eve"].map(str::to_owned).to_vec();
    let mut people = vec![
        signup(&first.url, "dan").await,
        signup(&first.url, "eve").await,
    ];
    let (status, sent) = people[0]
        .send("eve", "before-term", "hello before SIGTERM")
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    let status = first.terminate().await;
    assert_eq!(
        status.code(),
        Some(0),
        "SIGTERM is a graceful stop: {status}"
    );
    first.wait_for_line("stopped").await;

    let mut second = Linkup::start(&store).await;
    repoint(&mut people, &second);
    assert_eq!(
        history(&people[1], "dan").await,
        vec![sent.clone()],
        "eve's history"
    );
    let events = stream_gap_free(&people[1], "eve").await;
    assert_eq!(
        message_ids(&events),
        [sent["id"].as_i64().expect("id")].into()
    );

    // SIGTERM in the middle of traffic: in-flight sends finish, the exit is still clean.
    let (mut attempts, status) =
        traffic_until_stopped(&mut second, &people, &names, 4, 40, Stop::Term).await;
    assert_eq!(
        status.code(),
        Some(0),
        "SIGTERM mid-traffic is a graceful stop: {status}"
    );
    attempts.push(Attempt {
        from: 0,
        to: 1,
        client_id: "before-term".into(),
        body: "hello before SIGTERM".into(),
        acked: sent["id"].as_i64(),
    });
    let third = Linkup::start(&store).await;
    repoint(&mut people, &third);
    verify(&people, &names, attempts).await;
}
