//! Reading a group (PROTOCOL.md, Groups (v2): Visible range, Receipts in groups; Words: status),
//! end to end over HTTP. The rules pinned here:
//! - a member's visible range starts at seq 1 under `shared` and at their add under `joined`
//!   (fixed when added; a re-added member sees each interval, not the gaps), and ends at their
//!   exit: a removed member reads up to and including the removal, nothing after, and gets no
//!   further event of the group but their own receipts';
//! - `unread` in the list counts text messages from others in range that the user has not read;
//!   direct conversations (v1) keep their shape, list items and receipts beside groups;
//! - receipts are up-to per member; the sender's `status` is the aggregate over the other
//!   members who were there when it was sent, with `delivered_count` / `read_count` on the
//!   sender's own messages only; a joiner's old history counts as read;
//! - status events: the reader gets one (`all: false`), each sender one for their messages
//!   (`all: false`, up to `--live-receipts-max` members), or instead one `all: true` once every
//!   member has them (a leave or removal completing them too); nothing to anyone else;
//! - "message info" (`GET /api/messages/{id}/receipts`) puts each member in exactly one list,
//!   for the sender only (`not_sender`; a stranger: `message_not_found`).

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    Client, TestApp, assert_error, assert_fields, assert_no_content, assert_ok, id, ids,
};

/// `viewer`'s copy of message `message` in `group`, from the group's history.
async fn seen(viewer: &Client, group: i64, message: i64) -> Value {
    let messages = viewer.group_messages(group).await;
    let found = messages.iter().find(|m| id(m) == message);
    found.expect("the message is in range").clone()
}

/// The sender's view of their message: `(status, delivered_count, read_count)`.
async fn aggregate(sender: &Client, group: i64, message: i64) -> (String, i64, i64) {
    let m = seen(sender, group, message).await;
    let count = |field: &str| m[field].as_i64().unwrap_or_else(|| panic!("{field}: {m}"));
    let status = m["status"].as_str().expect("status").to_owned();
    (status, count("delivered_count"), count("read_count"))
}

/// An expected `(status, delivered_count, read_count)`, as `aggregate` answers.
fn agg(status: &str, delivered: i64, read: i64) -> (String, i64, i64) {
    (status.to_owned(), delivered, read)
}

/// The ids a successful receipt request moved for the reader.
#[track_caller]
fn updated(response: &(StatusCode, Value)) -> Vec<i64> {
    assert_ok(response);
    let ids = response.1["updated"].as_array().expect("updated");
    ids.iter().map(|id| id.as_i64().expect("id")).collect()
}

/// Marks `ids` with `status` and asserts 200.
async fn mark(reader: &Client, ids: &[i64], status: &str) {
    assert_ok(&reader.mark(ids, status).await);
}

/// The status events of `client`'s stream after `since`.
async fn status_events(client: &Client, since: i64) -> Vec<Value> {
    let events = client.all_events(since).await;
    events
        .into_iter()
        .filter(|e| e["type"] == "status")
        .collect()
}

/// The one status event of `client`'s stream after `since` (asserted to be the only one).
async fn one_status_event(client: &Client, since: i64) -> Value {
    let events = status_events(client, since).await;
    assert_eq!(events.len(), 1, "exactly one status event: {events:?}");
    events[0].clone()
}

/// The ids a status event lists, as a set.
fn listed(event: &Value) -> BTreeSet<i64> {
    let ids = event["message_ids"].as_array().expect("message_ids");
    ids.iter().map(|id| id.as_i64().expect("id")).collect()
}

/// The usernames of one list of a "message info" answer.
fn who(info: &Value, list: &str) -> Vec<String> {
    let entries = info[list].as_array().expect("list");
    let name = |e: &Value| {
        let user = if list == "pending" { e } else { &e["user"] };
        user["username"].as_str().expect("username").to_owned()
    };
    entries.iter().map(name).collect()
}

/// The ids of the messages of a history or sync answer.
fn page_ids(page: &Value) -> Vec<i64> {
    ids(page["messages"].as_array().expect("messages"))
}

#[tokio::test]
async fn a_removed_member_reads_up_to_the_removal_and_hears_nothing_after() {
    let (app, [alice, bob, carol], g) = TestApp::with_group(["alice", "bob", "carol"]).await;
    let m1 = alice.group_send_ok(g, "a1").await;
    let cursor = bob.last_cursor().await;
    assert_no_content(&alice.group_remove(g, "bob").await);
    let removal = id(alice.group_messages(g).await.last().expect("removal"));
    let after = alice.group_send_ok(g, "a2").await;
    assert_ok(&alice.group_update(g, json!({"title": "Renamed"})).await);
    carol.group_send_ok(g, "c1").await;

    let mine = bob.group_messages(g).await;
    assert_eq!(ids(&mine)[1..], [m1, removal], "up to the removal");
    assert_eq!(mine[2]["system"]["targets"], json!(["bob"]));
    let events = bob.all_events(cursor).await;
    assert_eq!(events.len(), 1, "only the removal: {events:?}");
    assert_eq!(id(&events[0]["message"]), removal);
    let sync = bob
        .get_ok(&format!("/api/groups/{g}/sync?after_id={m1}"))
        .await;
    assert_eq!(page_ids(&sync), [removal]);

    let group = bob.get_ok(&format!("/api/groups/{g}")).await;
    assert_fields(&group, json!({"role": null, "title": "Atlas"}));
    let item = bob.group_item(g).await;
    let exit = json!({"role": null, "left": true, "unread": 1, "title": "Atlas"});
    assert_fields(&item, exit);
    assert_eq!(item["last_message"]["id"], removal);

    let before = alice.group_messages(g).await;
    let send = bob.group_send(g, "b1", "still here?").await;
    assert_error(&send, StatusCode::FORBIDDEN, "not_a_member");
    let outside = bob.group_read(g, after).await;
    assert_error(&outside, StatusCode::NOT_FOUND, "message_not_found");
    assert_eq!(alice.group_messages(g).await, before, "nothing changed");

    let cursor = bob.last_cursor().await;
    assert_eq!(updated(&bob.group_read(g, removal).await), [m1]);
    assert_eq!(bob.group_item(g).await["unread"], 0);
    let events = bob.all_events(cursor).await;
    assert_eq!(events.len(), 1, "their own receipt's event: {events:?}");
    assert_fields(&events[0], json!({"type": "status", "by": "bob"}));
    app.stop().await;
}

#[tokio::test]
async fn a_removal_racing_sends_splits_them_by_seq_for_the_removed() {
    let (app, [alice, bob, carol], g) = TestApp::with_group(["alice", "bob", "carol"]).await;
    let halfway = tokio::sync::Notify::new();
    let sends = async {
        for i in 0..30 {
            carol.group_send_ok(g, &format!("c{i}")).await;
            if i == 10 {
                halfway.notify_one();
            }
        }
    };
    let removal = async {
        halfway.notified().await;
        alice.group_remove(g, "bob").await
    };
    let ((), removed) = tokio::join!(sends, removal);
    assert_no_content(&removed);

    let all = alice.group_messages(g).await;
    let exit = all
        .iter()
        .find(|m| m["system"]["event"] == "member_removed");
    let exit = exit.expect("the removal")["seq"].as_i64().expect("seq");
    let in_range: Vec<i64> = all
        .iter()
        .filter(|m| m["seq"].as_i64() <= Some(exit))
        .map(id)
        .collect();
    let history = ids(&bob.group_messages(g).await);
    assert_eq!(history, in_range, "history: up to the removal");
    let events = bob.all_events(0).await;
    let streamed: Vec<i64> = events.iter().map(|e| id(&e["message"])).collect();
    assert_eq!(streamed, in_range, "events: each in range once");
    assert_eq!(all.len(), 32, "30 sends, the created and the removal");
    assert!(exit < 32, "the removal landed among the sends (seq {exit})");
    app.stop().await;
}

#[tokio::test]
async fn joined_history_starts_at_each_add_and_shared_at_seq_1() {
    let names = ["alice", "bob", "dan", "eve"];
    let (app, [alice, bob, dan, eve]) = TestApp::with_users(names).await;
    let body = json!({"client_id": "g1", "title": "Atlas", "members": ["bob"],
                      "settings": {"history": "joined"}});
    let g = id(&alice.post("/api/groups", body).await.1);
    let early = alice.group_send_ok(g, "a1").await;
    assert_ok(&alice.group_add(g, &["dan"]).await);
    let later = alice.group_send_ok(g, "a2").await;

    let visible = dan.group_messages(g).await;
    let add = json!({"seq": 3, "system": {"event": "members_added", "actor": "alice",
                                          "targets": ["dan"]}});
    assert_fields(&visible[0], add);
    assert_eq!(ids(&visible)[1..], [later]);
    let events = dan.all_events(0).await;
    let streamed: Vec<i64> = events.iter().map(|e| id(&e["message"])).collect();
    assert_eq!(streamed, ids(&visible), "dan's stream starts at the add");
    let sync = dan
        .get_ok(&format!("/api/groups/{g}/sync?after_id=0"))
        .await;
    assert_eq!(page_ids(&sync), ids(&visible));
    let path = format!("/api/groups/{g}/messages?limit=1&before_id={later}");
    let older = dan.get_ok(&path).await;
    assert_eq!(page_ids(&older), [id(&visible[0])]);
    assert_eq!(older["has_more"], false, "nothing visible before the add");
    for response in [
        dan.group_read(g, early).await,
        dan.mark(&[early], "read").await,
    ] {
        assert_error(&response, StatusCode::NOT_FOUND, "message_not_found");
    }
    assert_eq!(dan.group_item(g).await["unread"], 1, "only what came after");

    assert_no_content(&alice.group_remove(g, "dan").await);
    let gap = alice.group_send_ok(g, "a3").await;
    assert_ok(&alice.group_add(g, &["dan"]).await);
    let all = ids(&bob.group_messages(g).await);
    let hidden = [all[0], early, gap];
    let intervals: Vec<i64> = all.into_iter().filter(|m| !hidden.contains(m)).collect();
    let seen_now = ids(&dan.group_messages(g).await);
    assert_eq!(seen_now, intervals, "each membership interval, not the gap");

    assert_ok(
        &alice
            .group_update(g, json!({"settings": {"history": "shared"}}))
            .await,
    );
    let still = ids(&dan.group_messages(g).await);
    assert!(!still.contains(&gap), "dan's range stays");
    assert_ok(&alice.group_add(g, &["eve"]).await);
    let everything = ids(&bob.group_messages(g).await);
    assert_eq!(ids(&eve.group_messages(g).await), everything, "from seq 1");
    assert_eq!(eve.group_item(g).await["unread"], 0, "old is not unread");
    app.stop().await;
}

#[tokio::test]
async fn the_list_counts_unread_group_messages_from_others() {
    let (app, [alice, bob, carol], g) = TestApp::with_group(["alice", "bob", "carol"]).await;
    let a1 = alice.group_send_ok(g, "a1").await;
    bob.group_send_ok(g, "b1").await;
    let a2 = alice.group_send_ok(g, "a2").await;
    let c1 = carol.group_send_ok(g, "c1").await;
    assert_ok(&alice.group_update(g, json!({"title": "Renamed"})).await);
    let item = bob.group_item(g).await;
    assert_fields(&item, json!({"unread": 3, "title": "Renamed"}));
    assert_eq!(item["last_message"]["system"]["event"], "renamed");
    assert_eq!(alice.group_item(g).await["unread"], 2);

    let direct = carol.send_ok("bob", "d1").await;
    let elsewhere = bob.group_read(g, direct).await;
    assert_error(&elsewhere, StatusCode::NOT_FOUND, "message_not_found");
    let other_way = bob.read_up_to("carol", c1).await;
    assert_error(&other_way, StatusCode::NOT_FOUND, "message_not_found");
    assert_eq!(bob.group_item(g).await["unread"], 3, "nothing marked");
    let read = bob.group_read(g, a2).await;
    assert_eq!(updated(&read), [a1, a2], "from others only");
    assert_eq!(read.1["up_to_id"], a2);
    assert_eq!(bob.group_item(g).await["unread"], 1);
    mark(&bob, &[c1], "read").await;
    assert_eq!(bob.group_item(g).await["unread"], 0);
    let carols = carol.group_item(g).await;
    assert_eq!(carols["unread"], 3, "bob's receipts are his");
    app.stop().await;
}

#[tokio::test]
async fn the_senders_status_turns_only_when_every_other_member_has_it() {
    let (app, [alice, bob, carol], g) = TestApp::with_group(["alice", "bob", "carol"]).await;
    let m = alice.group_send_ok(g, "a1").await;
    assert_eq!(aggregate(&alice, g, m).await, agg("sent", 0, 0));
    mark(&bob, &[m], "delivered").await;
    assert_eq!(aggregate(&alice, g, m).await, agg("sent", 1, 0));
    assert_eq!(seen(&bob, g, m).await["status"], "delivered", "his own");
    assert_eq!(seen(&carol, g, m).await["status"], "sent", "her own");
    mark(&carol, &[m], "delivered").await;
    assert_eq!(aggregate(&alice, g, m).await, agg("delivered", 2, 0));
    mark(&bob, &[m], "read").await;
    assert_eq!(aggregate(&alice, g, m).await, agg("delivered", 2, 1));
    mark(&carol, &[m], "read").await;
    assert_eq!(aggregate(&alice, g, m).await, agg("read", 2, 2));

    for other in [&bob, &carol] {
        let copy = seen(other, g, m).await;
        assert_eq!(copy["status"], "read");
        let counted = copy.get("delivered_count").or(copy.get("read_count"));
        assert!(counted.is_none(), "only the sender sees counts: {copy}");
    }
    let counts = json!({"status": "read", "delivered_count": 2, "read_count": 2});
    let retry = alice.group_send(g, "a1", "text").await;
    assert_ok(&retry);
    assert_fields(&retry.1, counts.clone());
    assert_fields(&alice.group_item(g).await["last_message"], counts.clone());
    let sync = alice
        .get_ok(&format!("/api/groups/{g}/sync?after_id={m}"))
        .await;
    let statuses = sync["statuses"].as_array().expect("statuses");
    let entry = json!({"id": m, "status": "read"});
    assert!(statuses.contains(&entry), "{sync}");
    let events = alice.all_events(0).await;
    let event = events
        .iter()
        .find(|e| e["type"] == "message" && id(&e["message"]) == m);
    assert!(event.expect("its event")["message"]["read_count"].is_i64());

    let b = bob.group_send_ok(g, "b1").await;
    assert_eq!(aggregate(&bob, g, b).await, agg("sent", 0, 0));
    assert!(seen(&alice, g, b).await.get("delivered_count").is_none());
    app.stop().await;
}

#[tokio::test]
async fn receipts_are_up_to_and_skip_ones_own_and_system_messages() {
    let (app, [alice, bob, carol], g) = TestApp::with_group(["alice", "bob", "carol"]).await;
    let a1 = alice.group_send_ok(g, "a1").await;
    bob.group_send_ok(g, "b1").await;
    let c1 = carol.group_send_ok(g, "c1").await;
    let a2 = alice.group_send_ok(g, "a2").await;
    let moved = bob.mark(&[a2], "delivered").await;
    assert_eq!(updated(&moved), [a1, c1, a2]);
    assert_eq!(moved.1["up_to_id"], a2);

    let cursor = bob.last_cursor().await;
    assert_ok(&alice.group_update(g, json!({"title": "Renamed"})).await);
    let renamed = id(alice.group_messages(g).await.last().expect("renamed"));
    let moved = bob.mark(&[renamed], "read").await;
    assert_eq!(updated(&moved), [a1, c1, a2], "a system id is a position");
    assert_eq!(moved.1["up_to_id"], renamed);
    let event = one_status_event(&bob, cursor).await;
    assert_eq!(listed(&event), BTreeSet::from([a1, c1, a2]));
    let expected = json!({"conversation_id": g, "status": "read", "by": "bob",
                          "all": false, "up_to_id": renamed});
    assert_fields(&event, expected);
    assert_eq!(aggregate(&carol, g, c1).await, agg("sent", 1, 1));
    app.stop().await;
}

#[tokio::test]
async fn each_sender_hears_of_their_messages_and_all_when_complete() {
    let (app, [alice, bob, carol], g) = TestApp::with_group(["alice", "bob", "carol"]).await;
    let a1 = alice.group_send_ok(g, "a1").await;
    let c1 = carol.group_send_ok(g, "c1").await;
    let a2 = alice.group_send_ok(g, "a2").await;

    let since = [alice.last_cursor().await, carol.last_cursor().await];
    mark(&bob, &[a2], "delivered").await;
    let to_alice = one_status_event(&alice, since[0]).await;
    assert_eq!(listed(&to_alice), BTreeSet::from([a1, a2]), "only hers");
    let partial = json!({"status": "delivered", "by": "bob", "all": false});
    assert_fields(&to_alice, partial.clone());
    let to_carol = one_status_event(&carol, since[1]).await;
    assert_eq!(listed(&to_carol), BTreeSet::from([c1]));
    assert_fields(&to_carol, partial);

    let since = [alice.last_cursor().await, bob.last_cursor().await];
    mark(&carol, &[a2], "delivered").await;
    let to_alice = one_status_event(&alice, since[0]).await;
    assert_eq!(listed(&to_alice), BTreeSet::from([a1, a2]));
    let complete = json!({"status": "delivered", "by": "carol", "all": true});
    assert_fields(&to_alice, complete);
    let to_bob = status_events(&bob, since[1]).await;
    assert!(to_bob.is_empty(), "nothing to other members: {to_bob:?}");

    let a3 = alice.group_send_ok(g, "a3").await;
    mark(&bob, &[a3], "read").await;
    let since = alice.last_cursor().await;
    mark(&carol, &[a3], "read").await;
    let to_alice = one_status_event(&alice, since).await;
    assert_eq!(listed(&to_alice), BTreeSet::from([a1, a2, a3]));
    let both = json!({"status": "read", "all": true, "up_to_id": a3});
    assert_fields(&to_alice, both);
    app.stop().await;
}

#[tokio::test]
async fn above_live_receipts_max_senders_hear_only_completion() {
    for (limit, live) in [(3, true), (2, false)] {
        let app = TestApp::spawn_with(|c| c.live_receipts_max = limit).await;
        let [alice, bob, carol] = app.signups(["alice", "bob", "carol"]).await;
        let g = alice.create_group_ok("Atlas", &["bob", "carol"]).await;
        let m = alice.group_send_ok(g, "a1").await;
        let since = [alice.last_cursor().await, bob.last_cursor().await];
        mark(&bob, &[m], "read").await;
        let to_alice = status_events(&alice, since[0]).await;
        assert_eq!(
            to_alice.len(),
            usize::from(live),
            "limit {limit}: {to_alice:?}"
        );
        let counts = aggregate(&alice, g, m).await;
        assert_eq!(counts, agg("sent", 1, 1), "the counts move either way");
        let to_reader = one_status_event(&bob, since[1]).await;
        assert_eq!(to_reader["by"], "bob", "the reader hears either way");

        let since = alice.last_cursor().await;
        mark(&carol, &[m], "delivered").await;
        let to_alice = one_status_event(&alice, since).await;
        assert_fields(&to_alice, json!({"status": "delivered", "all": true}));
        assert_eq!(aggregate(&alice, g, m).await, agg("delivered", 2, 1));
        app.stop().await;
    }
}

#[tokio::test]
async fn a_leave_or_removal_that_completes_messages_sends_the_complete_event() {
    let names = ["alice", "bob", "carol", "dan"];
    let (app, [alice, bob, carol, _dan], g) = TestApp::with_group(names).await;
    let m1 = alice.group_send_ok(g, "a1").await;
    mark(&bob, &[m1], "read").await;
    mark(&carol, &[m1], "read").await;
    assert_eq!(aggregate(&alice, g, m1).await.0, "sent", "dan has not");
    let since = alice.last_cursor().await;
    assert_no_content(&alice.group_remove(g, "dan").await);
    assert_eq!(aggregate(&alice, g, m1).await, agg("read", 2, 2));
    let event = one_status_event(&alice, since).await;
    assert!(listed(&event).contains(&m1), "{event}");
    assert_fields(&event, json!({"status": "read", "all": true}));

    let m2 = alice.group_send_ok(g, "a2").await;
    mark(&bob, &[m2], "read").await;
    let since = alice.last_cursor().await;
    assert_no_content(&carol.group_leave(g).await);
    assert_eq!(aggregate(&alice, g, m2).await, agg("read", 1, 1));
    let event = one_status_event(&alice, since).await;
    assert_eq!(listed(&event), BTreeSet::from([m2]));
    assert_fields(
        &event,
        json!({"status": "read", "all": true, "by": "carol"}),
    );
    app.stop().await;
}

#[tokio::test]
async fn a_member_who_joins_counts_old_history_as_read() {
    let (app, [alice, bob, dan], g) = TestApp::with_group(["alice", "bob", "dan"]).await;
    assert_no_content(&alice.group_remove(g, "dan").await);
    let m1 = alice.group_send_ok(g, "a1").await;
    mark(&bob, &[m1], "read").await;
    assert_eq!(aggregate(&alice, g, m1).await, agg("read", 1, 1));
    assert_ok(&alice.group_add(g, &["dan"]).await);
    assert_eq!(aggregate(&alice, g, m1).await, agg("read", 1, 1));
    assert_eq!(seen(&dan, g, m1).await["status"], "read");
    assert_eq!(dan.group_item(g).await["unread"], 0);
    let info = alice.get_ok(&format!("/api/messages/{m1}/receipts")).await;
    assert_eq!(who(&info, "read"), ["bob"], "dan came later: {info}");
    assert!(who(&info, "pending").is_empty() && who(&info, "delivered").is_empty());

    let m2 = alice.group_send_ok(g, "a2").await;
    mark(&bob, &[m2], "read").await;
    assert_eq!(aggregate(&alice, g, m2).await, agg("sent", 1, 1));
    app.stop().await;
}

#[tokio::test]
async fn message_info_puts_each_member_in_one_list_for_the_sender_only() {
    let names = ["alice", "bob", "carol", "dan"];
    let (app, [alice, bob, carol, dan], g) = TestApp::with_group(names).await;
    let [eve, frank] = app.signups(["eve", "frank"]).await;
    let m = alice.group_send_ok(g, "a1").await;
    let path = format!("/api/messages/{m}/receipts");
    let info = alice.get_ok(&path).await;
    let bob_user = json!({"username": "bob", "display_name": "bob"});
    assert_fields(&info, json!({"message_id": m, "read": [], "delivered": []}));
    assert_eq!(info["pending"][0], bob_user);
    assert_eq!(who(&info, "pending"), ["bob", "carol", "dan"]);

    mark(&bob, &[m], "delivered").await;
    mark(&carol, &[m], "read").await;
    let info = alice.get_ok(&path).await;
    assert_eq!(who(&info, "read"), ["carol"]);
    assert_eq!(who(&info, "delivered"), ["bob"]);
    assert_eq!(who(&info, "pending"), ["dan"]);
    let delivered_at = info["delivered"][0]["at"].clone();
    let read_at = &info["read"][0]["at"];
    assert!(delivered_at.is_string() && read_at.is_string(), "{info}");

    assert_no_content(&alice.group_remove(g, "dan").await);
    assert_ok(&alice.group_add(g, &["eve"]).await);
    let info = alice.get_ok(&path).await;
    assert!(who(&info, "pending").is_empty(), "dan left, eve came later");
    assert_eq!(info["delivered"][0]["at"], delivered_at, "first covered");

    for other in [&bob, &carol, &eve, &dan] {
        assert_error(&other.get(&path).await, StatusCode::FORBIDDEN, "not_sender");
    }
    let probe = frank.get(&path).await;
    assert_error(&probe, StatusCode::NOT_FOUND, "message_not_found");
    let missing = alice
        .get(&format!("/api/messages/{}/receipts", m + 1000))
        .await;
    assert_eq!(probe, missing, "the same answer as for no message");
    for bad in ["0", "abc", "-1"] {
        let response = alice.get(&format!("/api/messages/{bad}/receipts")).await;
        assert_error(&response, StatusCode::NOT_FOUND, "message_not_found");
    }

    let direct = alice.send_ok("frank", "d1").await;
    let path = format!("/api/messages/{direct}/receipts");
    assert_eq!(who(&alice.get_ok(&path).await, "pending"), ["frank"]);
    assert_ok(&frank.read_up_to("alice", direct).await);
    assert_eq!(who(&alice.get_ok(&path).await, "read"), ["frank"]);
    app.stop().await;
}

#[tokio::test]
async fn direct_conversations_are_unaffected_by_groups() {
    let (app, [alice, bob, _carol], g) = TestApp::with_group(["alice", "bob", "carol"]).await;
    alice.group_send_ok(g, "g1").await;
    let direct = alice.send_created("bob", "d1", "just us").await;
    let expected = json!({"recipient": "bob", "kind": "text", "status": "sent",
                          "system": null});
    assert_fields(&direct, expected);
    assert!(direct.get("delivered_count").is_none(), "{direct}");
    let bodies = bob.bodies("alice").await;
    assert_eq!(bodies, ["just us"], "no group message leaks in");
    let group_ids = ids(&bob.group_messages(g).await);
    assert!(!group_ids.contains(&id(&direct)));

    let list = bob.conversations().await;
    assert_eq!(list.len(), 2, "{list:?}");
    let alice_user = json!({"username": "alice", "display_name": "alice"});
    let expected = json!({"kind": "direct", "with": alice_user, "unread": 1});
    assert_fields(&list[0], expected);
    assert_eq!(list[1]["id"], g, "newest activity first");
    assert_ok(&bob.read_up_to("alice", id(&direct)).await);
    let statuses = alice.statuses("bob").await;
    assert_eq!(statuses, [(id(&direct), "read".to_owned())]);
    assert_eq!(bob.group_item(g).await["unread"], 1, "the group is apart");

    let digits = format!("{g:03}");
    let named = app.signup(&digits).await;
    let by_name = alice.send_created(&digits, "d2", "by name").await;
    assert_eq!(by_name["recipient"], digits, "a username, never group {g}");
    assert_eq!(named.bodies("alice").await, ["by name"]);
    app.stop().await;
}
