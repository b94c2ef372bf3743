//! What must hold after multi-node traffic: each acknowledged send is one message with what was
//! sent; each person's stream (`/api/sync` from 0) holds exactly their messages, cursors
//! 1..=N; each conversation's seqs are 1..=M; and each person's socket, across reconnects,
//! received exactly that stream: every cursor once, in order, nothing else.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use sqlx::{Connection, PgConnection};
use tokio_util::sync::CancellationToken;

use super::cluster::{Cluster, Outcome, Person};
use super::follower::{Followed, Follower};
use crate::invariants::{assert_seqs_gap_free, history, message_ids, stream_gap_free};
use crate::process::STARTUP;

/// Asserts one message per `client_id` (with the sender, recipient and body sent) and at most
/// one 201 for it; returns the outcomes by message id.
pub fn by_message<'a>(people: &[Person], outcomes: &'a [Outcome]) -> BTreeMap<i64, &'a Outcome> {
    let mut by_id = BTreeMap::new();
    for outcome in outcomes {
        let (planned, message) = (&outcome.planned, &outcome.message);
        assert!(
            outcome.created <= 1,
            "{}: {} answers were 201",
            planned.client_id,
            outcome.created
        );
        assert_eq!(message["client_id"], planned.client_id.as_str());
        assert_eq!(message["body"], planned.body.as_str());
        assert_eq!(message["sender"], people[planned.from].name.as_str());
        match planned.group {
            Some(group) => {
                assert_eq!(message["conversation_id"], group);
                assert_eq!(message["recipient"], Value::Null);
            }
            None => assert_eq!(message["recipient"], people[planned.to].name.as_str()),
        }
        let previous = by_id.insert(outcome.id(), outcome);
        assert!(
            previous.is_none(),
            "message {} acknowledged for two client_ids",
            outcome.id()
        );
    }
    by_id
}

/// Checks the store, then waits (up to `STARTUP`) for every follower to reach its person's last
/// cursor, stops them and checks what each received. Returns the followers' records.
/// `everyone` are messages in every person's stream besides those sent (a group's creation);
/// a group message is in every person's stream (all are its members).
pub async fn assert_delivered(
    cluster: &Cluster,
    people: &[Person],
    outcomes: &[Outcome],
    everyone: &[i64],
    mut followers: Vec<Follower>,
    stop: CancellationToken,
) -> Vec<Followed> {
    by_message(people, outcomes);
    let mut streams = Vec::new();
    for (u, person) in people.iter().enumerate() {
        let client = cluster.client(person, u);
        let events = stream_gap_free(&client, &person.name).await;
        let mine = outcomes
            .iter()
            .filter(|o| o.planned.group.is_some() || o.planned.from == u || o.planned.to == u);
        let mut expected: BTreeSet<i64> = mine.map(Outcome::id).collect();
        expected.extend(everyone);
        assert_eq!(message_ids(&events), expected, "{}'s stream", person.name);
        assert_eq!(
            events.len(),
            expected.len(),
            "{}: only messages",
            person.name
        );
        for other in people.iter().skip(u + 1) {
            let messages = history(&client, &other.name).await;
            let what = format!("{} with {}", person.name, other.name);
            assert_seqs_gap_free(&messages, &what);
        }
        streams.push(events);
    }

    let deadline = tokio::time::Instant::now() + STARTUP;
    let mut lagging = Vec::new();
    for (u, follower) in followers.iter_mut().enumerate() {
        let last = streams[u].len() as i64;
        if !follower.reached(last, deadline).await {
            lagging.push(u);
        }
    }
    stop.cancel();
    let mut records = Vec::new();
    for follower in followers {
        records.push(follower.finish().await);
    }
    let behind: Vec<String> = lagging
        .iter()
        .map(|&u| missing(&people[u].name, &records[u], &streams[u]))
        .collect();
    assert!(
        behind.is_empty(),
        "sockets that never caught up: {behind:#?}"
    );
    for (u, record) in records.iter().enumerate() {
        assert_socket_stream(&people[u].name, record, &streams[u]);
    }
    records
}

/// Describes what a lagging socket lacks, for the failure message.
fn missing(who: &str, record: &Followed, stream: &[Value]) -> String {
    let got: BTreeSet<i64> = record.events.iter().filter_map(cursor).collect();
    let lacking: Vec<(i64, &Value)> = stream
        .iter()
        .filter_map(|e| Some((cursor(e)?, &e["message"]["id"])))
        .filter(|(c, _)| !got.contains(c))
        .collect();
    let first = lacking.iter().take(10).collect::<Vec<_>>();
    format!(
        "{who}: {} of {} events missing over {} connection(s), first (cursor, message id): \
         {first:?}; oddities: {:?}",
        lacking.len(),
        stream.len(),
        record.connections,
        record.oddities
    )
}

fn cursor(event: &Value) -> Option<i64> {
    event["cursor"].as_i64()
}

/// Asserts a socket record is exactly the stored stream: the same cursors 1..=N in order (no
/// gap, no repeat across reconnects), the same message at each, each conversation's seqs
/// 1..=M in order, and no error frame.
fn assert_socket_stream(who: &str, record: &Followed, stream: &[Value]) {
    assert!(record.oddities.is_empty(), "{who}: {:?}", record.oddities);
    let received: Vec<Option<i64>> = record.events.iter().map(cursor).collect();
    let expected: Vec<Option<i64>> = (1..=stream.len() as i64).map(Some).collect();
    if received != expected {
        let repeats = received.len() - received.iter().collect::<BTreeSet<_>>().len();
        let out_of_step = received
            .windows(2)
            .find(|w| w[1] != w[0].map(|c| c + 1))
            .map(|w| (w[0], w[1]));
        panic!(
            "{who}: socket cursors are not 1..={}: {} received, {repeats} repeated, first step \
             out of order {out_of_step:?} ({} connection(s))",
            stream.len(),
            received.len(),
            record.connections
        );
    }
    let mut seqs: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for (live, stored) in record.events.iter().zip(stream) {
        let (a, b) = (&live["message"], &stored["message"]);
        assert_eq!(
            (&live["type"], &a["id"], &a["seq"], &a["client_id"]),
            (&stored["type"], &b["id"], &b["seq"], &b["client_id"]),
            "{who}: the socket and /api/sync disagree at cursor {}",
            live["cursor"]
        );
        let conversation = a["conversation_id"].as_i64().expect("conversation id");
        seqs.entry(conversation)
            .or_default()
            .push(a["seq"].as_i64().expect("seq"));
    }
    for (conversation, seqs) in seqs {
        let expected: Vec<i64> = (1..=seqs.len() as i64).collect();
        assert_eq!(seqs, expected, "{who}: seqs of conversation {conversation}");
    }
}

/// Asserts the tables agree with each other, as no half-done write could leave them: `count`
/// messages, one `message` event per party of each, every user's cursors running 1, 2, … with
/// no gap (cursors are unique per user, so the newest equals the count), and the same for
/// every conversation's seqs.
pub async fn assert_tables_agree(cluster: &Cluster, count: usize) {
    let url = cluster.store.database_url().expect("a PostgreSQL store");
    let mut db = PgConnection::connect(&url).await.expect("test database");
    let query = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql);
    let messages = query("SELECT COUNT(*) FROM messages")
        .fetch_one(&mut db)
        .await;
    assert_eq!(messages.expect("count"), count as i64, "messages stored");
    let checks = [
        (
            "messages without exactly two message events",
            "SELECT COUNT(*) FROM messages m WHERE (SELECT COUNT(*) FROM events e \
             WHERE e.message_id = m.id AND e.user_id IN (m.sender_id, m.recipient_id)) <> 2",
        ),
        (
            "users whose cursors are not 1, 2, … their number of events",
            "SELECT COUNT(*) FROM users u WHERE \
             (SELECT COALESCE(MAX(e.cursor), 0) FROM events e WHERE e.user_id = u.id) <> \
             (SELECT COUNT(*) FROM events e WHERE e.user_id = u.id)",
        ),
        (
            "conversations whose seqs are not 1, 2, … their number of messages",
            "SELECT COUNT(*) FROM conversations c WHERE \
             (SELECT COALESCE(MAX(m.seq), 0) FROM messages m WHERE m.conversation_id = c.id) <> \
             (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id)",
        ),
    ];
    for (what, sql) in checks {
        let wrong = query(sql).fetch_one(&mut db).await.expect(what);
        assert_eq!(wrong, 0, "{what}");
    }
}
