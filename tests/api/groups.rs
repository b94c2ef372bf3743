//! Groups (PROTOCOL.md, Groups (v2)), end to end over HTTP: the group itself and its members.
//! The rules pinned here:
//! - creating: the group object and its `created` system message (seq 1); the caller and
//!   repeats ignored; idempotent on `(creator, client_id)` (200, the same group; case and order
//!   of members ignored), a changed title, member set, description or settings a 409; bad input
//!   400, an unknown member 404, `--max-group-members` (the owner counts) and
//!   `--group-create-rate` (retries still answered) refusing; no refusal creates anything;
//! - `PATCH /api/groups/{id}`: one system message per changed field, no-ops silent, settings for
//!   admins only and title/description too under `only_admins_edit_info`;
//! - members: adding (`only_admins_add`, all or nobody), removing (admins, never the owner),
//!   roles (admins promote, only the owner demotes), leaving (the owner hands over to the
//!   longest-serving admin, else member, named in `new_owner`), accept a no-op for a member;
//! - messages: the group routes answer as the direct ones; `only_admins_send`;
//! - privacy: a group that is not the caller's, one that does not exist and a malformed id get
//!   the same 404 on every route.
//!
//! Every refused request is checked to leave the members and the history as they were. What
//! members see of the messages (visible ranges, unread, receipts) is `group_receipts`.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{
    Client, TestApp, assert_error, assert_error_status, assert_fields, assert_no_content,
    assert_ok, id, ids,
};

/// What a refused request must leave alone: the members and every message as `viewer` sees them.
async fn snapshot(viewer: &Client, group: i64) -> (Vec<(String, String)>, Vec<Value>) {
    let members = viewer.group_members(group).await;
    (members, viewer.group_messages(group).await)
}

/// The `system` object of the newest message `viewer` sees in `group`.
async fn last_system(viewer: &Client, group: i64) -> Value {
    let messages = viewer.group_messages(group).await;
    let last = messages.last().expect("a message");
    assert_eq!(last["kind"], "system", "{last}");
    last["system"].clone()
}

/// The ids of the groups in the caller's conversation list.
async fn listed_groups(client: &Client) -> Vec<i64> {
    let list = client.conversations().await;
    let groups = list.iter().filter(|c| c["kind"] == "group");
    groups.map(id).collect()
}

/// `(username, role)` rows, as `Client::group_members` answers them, from `"name:role …"`.
fn roles(rows: &str) -> Vec<(String, String)> {
    let row = |r: &str| {
        let (name, role) = r.split_once(':').expect("name:role");
        (name.to_owned(), role.to_owned())
    };
    rows.split_whitespace().map(row).collect()
}

/// The usernames of a JSON array, sorted (for lists whose order the contract leaves open).
fn names(list: &Value) -> Vec<String> {
    let list = list.as_array().expect("a list of usernames");
    let mut names: Vec<String> = list.iter().map(|n| n.as_str().unwrap().into()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn creating_answers_the_group_and_writes_a_created_message() {
    let (app, [alice, bob, carol]) = TestApp::with_users(["alice", "bob", "carol"]).await;
    let members = ["bob", "alice", "BOB", "carol"];
    let (status, group) = alice.create_group("g1", "  Atlas  ", &members).await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let g = id(&group);
    let settings = json!({"only_admins_send": false, "only_admins_edit_info": false,
                          "only_admins_add": false, "history": "shared"});
    let expected = json!({"kind": "group", "title": "Atlas", "description": "",
                          "created_by": "alice", "member_count": 3, "role": "owner",
                          "settings": settings});
    assert_fields(&group, expected);
    assert!(group["created_at"].is_string(), "{group}");

    let rows = roles("alice:owner bob:member carol:member");
    let members = bob.group_members(g).await;
    assert_eq!(members, rows, "the caller and repeats ignored");
    let listed = bob.get_ok(&format!("/api/groups/{g}/members")).await;
    let bob_row = &listed["members"][1];
    let bob_user = json!({"username": "bob", "display_name": "bob"});
    assert_fields(bob_row, json!({"user": bob_user, "role": "member"}));
    assert!(bob_row["joined_at"].is_string(), "{listed}");

    let messages = carol.group_messages(g).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let created = &messages[0];
    let system = json!({"event": "created", "actor": "alice", "targets": ["bob", "carol"],
                        "title": "Atlas"});
    let expected = json!({"seq": 1, "kind": "system", "conversation_id": g, "sender": "alice",
                          "status": null, "client_id": null, "recipient": null,
                          "system": system});
    assert_fields(created, expected);
    assert!(!created["body"].as_str().expect("body").is_empty());

    let mine = bob.get_ok(&format!("/api/groups/{g}")).await;
    assert_fields(&mine, json!({"id": g, "title": "Atlas", "role": "member"}));
    let item = bob.group_item(g).await;
    let expected = json!({"title": "Atlas", "member_count": 3, "role": "member",
                          "left": false, "unread": 0});
    assert_fields(&item, expected);
    assert!(item["request"].is_boolean(), "{item}");
    assert_eq!(item["last_message"]["id"], created["id"]);
    app.stop().await;
}

#[tokio::test]
async fn a_retried_create_answers_the_same_group_and_a_changed_one_conflicts() {
    let (app, [alice, bob, _carol]) = TestApp::with_users(["alice", "bob", "carol"]).await;
    let body = json!({"client_id": "g1", "title": "Atlas", "members": ["bob", "carol"],
                      "description": "Plans", "settings": {"only_admins_add": true}});
    let (status, first) = alice.post("/api/groups", body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");

    let mut retry = body.clone();
    retry["title"] = json!("  Atlas ");
    retry["members"] = json!(["CAROL", "alice", "Bob", "carol"]);
    let again = alice.post("/api/groups", retry).await;
    assert_ok(&again);
    assert_eq!(again.1, first, "the same group");

    let changes = [
        ("title", json!("Atlas 2")),
        ("members", json!(["bob"])),
        ("description", json!("Other plans")),
        ("settings", json!({"history": "joined"})),
    ];
    for (field, value) in changes {
        let mut changed = body.clone();
        changed[field] = value;
        let response = alice.post("/api/groups", changed).await;
        assert_error(&response, StatusCode::CONFLICT, "client_id_conflict");
    }
    assert_eq!(listed_groups(&alice).await, [id(&first)]);
    assert_eq!(bob.group_messages(id(&first)).await.len(), 1, "nothing new");
    let by_bob = bob.create_group("g1", "Atlas", &["alice", "carol"]).await;
    assert_eq!(by_bob.0, StatusCode::CREATED, "client ids are per creator");
    app.stop().await;
}

#[tokio::test]
async fn a_retry_after_the_group_changed_still_answers_it() {
    let (app, [alice, bob]) = TestApp::with_users(["alice", "bob"]).await;
    let body = json!({"client_id": "g1", "title": "Atlas", "members": ["bob"]});
    let (status, first) = alice.post("/api/groups", body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let g = id(&first);
    assert_ok(&bob.group_update(g, json!({"title": "Renamed"})).await);
    let settings = json!({"settings": {"only_admins_send": true}});
    assert_ok(&alice.group_update(g, settings).await);
    let retry = alice.post("/api/groups", body).await;
    assert_ok(&retry);
    assert_eq!(id(&retry.1), g, "the same group, as it is now");
    assert_eq!(listed_groups(&alice).await, [g]);
    app.stop().await;
}

#[tokio::test]
async fn bad_create_input_is_refused_and_creates_nothing() {
    let (app, [alice, bob]) = TestApp::with_users(["alice", "bob"]).await;
    let valid = json!({"client_id": "g1", "title": "Atlas", "members": ["bob"]});
    let long = "x".repeat(1001);
    let cases = [
        ("title", json!(""), "invalid_title"),
        ("title", json!("   "), "invalid_title"),
        ("title", json!("x".repeat(101)), "invalid_title"),
        ("title", json!("a\u{202E}b"), "invalid_title"),
        ("description", json!(long), "invalid_description"),
        ("settings", json!({"colour": true}), "invalid_settings"),
        ("settings", json!({"history": "all"}), "invalid_settings"),
        (
            "settings",
            json!({"only_admins_add": 1}),
            "invalid_settings",
        ),
        ("settings", json!([]), "invalid_settings"),
        ("members", json!([]), "invalid_members"),
        ("members", json!(["alice", "ALICE"]), "invalid_members"),
        ("members", json!("bob"), "invalid_members"),
        ("client_id", json!(""), "invalid_client_id"),
        ("client_id", json!("temp client 1"), "invalid_client_id"),
        ("client_id", json!("x".repeat(65)), "invalid_client_id"),
    ];
    for (field, value, code) in cases {
        let mut body = valid.clone();
        body[field] = value;
        let response = alice.post("/api/groups", body).await;
        assert_error(&response, StatusCode::BAD_REQUEST, code);
    }
    let unknown = alice.create_group("g2", "Atlas", &["bob", "nobody"]).await;
    assert_error(&unknown, StatusCode::NOT_FOUND, "user_not_found");
    assert!(alice.conversations().await.is_empty(), "nothing created");
    assert!(bob.conversations().await.is_empty(), "bob is in nothing");
    assert!(bob.all_events(0).await.is_empty(), "bob heard of nothing");
    let (status, _) = alice.post("/api/groups", valid).await;
    assert_eq!(status, StatusCode::CREATED, "the client id is still free");
    app.stop().await;
}

#[tokio::test]
async fn max_group_members_counts_the_owner() {
    let app = TestApp::spawn_with(|c| c.max_group_members = 3).await;
    let [alice, bob, _carol, dan] = app.signups(["alice", "bob", "carol", "dan"]).await;
    let four = ["bob", "carol", "dan"];
    let over = alice.create_group("big", "Big", &four).await;
    assert_error(&over, StatusCode::BAD_REQUEST, "group_too_large");
    assert!(alice.conversations().await.is_empty());
    assert!(dan.conversations().await.is_empty());

    let g = alice.create_group_ok("Atlas", &["bob", "carol"]).await;
    let before = snapshot(&alice, g).await;
    let add = alice.group_add(g, &["dan"]).await;
    assert_error(&add, StatusCode::BAD_REQUEST, "group_too_large");
    assert_eq!(snapshot(&alice, g).await, before, "nobody added");
    assert!(dan.conversations().await.is_empty());

    assert_no_content(&bob.group_leave(g).await);
    let add = alice.group_add(g, &["dan"]).await;
    assert_eq!(add.1, json!({"added": ["dan"], "already_members": []}));
    app.stop().await;
}

#[tokio::test]
async fn repeated_names_and_the_caller_do_not_count_towards_the_member_cap() {
    let app = TestApp::spawn_with(|c| c.max_group_members = 3).await;
    let [alice, bob, _carol] = app.signups(["alice", "bob", "carol"]).await;
    let g = alice.create_group_ok("Atlas", &["bob", "carol"]).await;
    let again = bob.group_add(g, &["carol", "alice", "carol", "bob"]).await;
    assert_ok(&again);
    assert_eq!(again.1["added"], json!([]));
    let named = ["alice", "bob", "BOB", "carol"];
    let (status, group) = alice.create_group("g2", "Again", &named).await;
    assert_eq!(status, StatusCode::CREATED, "3 with the owner: {group}");
    app.stop().await;
}

#[tokio::test]
async fn retries_do_not_count_against_the_creation_rate() {
    let app = TestApp::spawn_with(|c| c.group_create_rate = 2).await;
    let [alice, _bob] = app.signups(["alice", "bob"]).await;
    alice.create_group_ok("One", &["bob"]).await;
    for _ in 0..3 {
        assert_ok(&alice.create_group("One", "One", &["bob"]).await);
    }
    let (status, second) = alice.create_group("Two", "Two", &["bob"]).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    app.stop().await;
}

#[tokio::test]
async fn over_the_creation_rate_only_retries_are_answered() {
    let app = TestApp::spawn_with(|c| c.group_create_rate = 2).await;
    let [alice, bob] = app.signups(["alice", "bob"]).await;
    let (status, first) = alice.create_group("g1", "One", &["bob"]).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    alice.create_group_ok("Two", &["bob"]).await;
    let third = alice.create_group("g3", "Three", &["bob"]).await;
    assert_error(&third, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let retry = alice.create_group("g1", "One", &["bob"]).await;
    assert_ok(&retry);
    assert_eq!(retry.1, first);
    let listed = listed_groups(&bob).await;
    assert_eq!(listed.len(), 2, "the refused one does not exist");
    let (status, _) = bob.create_group("g3", "Three", &["alice"]).await;
    assert_eq!(status, StatusCode::CREATED, "the limit is per creator");
    app.stop().await;
}

/// Every group route with `id` in its path, each with a body that a member would get accepted
/// (`Value::Null`: no body).
fn every_route(id: &str, up_to: i64) -> Vec<(Method, String, Value)> {
    let send = json!({"client_id": "e", "body": "hi"});
    let routes = [
        (Method::GET, "", Value::Null),
        (Method::PATCH, "", json!({"title": "Mine"})),
        (Method::GET, "/members", Value::Null),
        (Method::POST, "/members", json!({"usernames": ["eve"]})),
        (Method::DELETE, "/members/bob", Value::Null),
        (Method::PATCH, "/members/bob", json!({"role": "admin"})),
        (Method::POST, "/leave", json!({})),
        (Method::POST, "/accept", json!({})),
        (Method::GET, "/messages", Value::Null),
        (Method::POST, "/messages", send),
        (Method::POST, "/read", json!({"up_to_id": up_to})),
        (Method::GET, "/sync?after_id=0", Value::Null),
    ];
    let path = |(method, tail, body)| (method, format!("/api/groups/{id}{tail}"), body);
    routes.into_iter().map(path).collect()
}

/// `client`'s answer to one of `every_route`.
async fn call(
    client: &Client,
    (method, path, body): &(Method, String, Value),
) -> (StatusCode, Value) {
    let body = (!body.is_null()).then(|| body.clone());
    client.request(method.clone(), path, body).await
}

#[tokio::test]
async fn a_stranger_gets_the_same_404_as_for_an_id_nothing_has() {
    let (app, [alice, bob, dan], g) = TestApp::with_group(["alice", "bob", "dan"]).await;
    let [eve] = app.signups(["eve"]).await;
    let m = alice.group_send_ok(g, "c1").await;
    let before = snapshot(&alice, g).await;
    let missing = every_route(&(g + 1000).to_string(), m);
    for (route, nowhere) in every_route(&g.to_string(), m).iter().zip(&missing) {
        let probe = call(&eve, route).await;
        assert_error(&probe, StatusCode::NOT_FOUND, "conversation_not_found");
        let nothing = call(&eve, nowhere).await;
        assert_eq!(probe, nothing, "{} {}: as for no group", route.0, route.1);
    }
    for bad in ["0", "-1", "abc", "1.5", "99999999999999999999999"] {
        for route in every_route(bad, m) {
            let response = call(&dan, &route).await;
            assert_error(&response, StatusCode::NOT_FOUND, "conversation_not_found");
        }
    }
    let on_message = [
        eve.mark(&[m], "read").await,
        eve.mark(&[m + 1000], "read").await,
    ];
    assert_error(&on_message[0], StatusCode::NOT_FOUND, "message_not_found");
    assert_eq!(on_message[0], on_message[1], "as for no message");
    assert_eq!(snapshot(&alice, g).await, before, "nothing changed");
    assert!(listed_groups(&eve).await.is_empty());
    let statuses: Vec<_> = bob
        .group_messages(g)
        .await
        .iter()
        .map(|m| m["status"].clone())
        .collect();
    assert_eq!(statuses, [Value::Null, json!("sent")], "bob's status too");
    app.stop().await;
}

#[tokio::test]
async fn patch_writes_one_system_message_per_changed_field() {
    let (app, [alice, bob], g) = TestApp::with_group(["alice", "bob"]).await;
    let path = format!("/api/groups/{g}");
    let renamed = bob.patch(&path, json!({"title": " Atlas 2 "})).await;
    assert_ok(&renamed);
    assert_fields(&renamed.1, json!({"title": "Atlas 2", "role": "member"}));
    let record = json!({"event": "renamed", "actor": "bob", "targets": [],
                        "title": "Atlas 2", "old_title": "Atlas"});
    assert_eq!(last_system(&alice, g).await, record);

    let both = json!({"title": "Atlas 3", "description": "Plans"});
    assert_eq!(alice.patch(&path, both).await.1["description"], "Plans");
    let messages = alice.group_messages(g).await;
    let events: Vec<_> = messages.iter().map(|m| &m["system"]["event"]).collect();
    let expected = ["created", "renamed", "renamed", "description_changed"];
    assert_eq!(events, expected);
    let changed = json!({"event": "description_changed", "actor": "alice", "targets": [],
                         "description": "Plans"});
    assert_eq!(messages[3]["system"], changed);

    let settings = json!({"settings": {"only_admins_send": true, "history": "shared"}});
    let patched = alice.patch(&path, settings).await;
    assert_eq!(patched.1["settings"]["only_admins_send"], true);
    let record = json!({"event": "settings_changed", "actor": "alice", "targets": [],
                        "settings": {"only_admins_send": true}});
    assert_eq!(last_system(&bob, g).await, record, "only what changed");

    let before = snapshot(&alice, g).await;
    let same = json!({"title": " Atlas 3 ", "description": "Plans",
                      "settings": {"only_admins_send": true}});
    for no_op in [same, json!({})] {
        let response = alice.patch(&path, no_op).await;
        assert_ok(&response);
        assert_eq!(response.1, alice.get_ok(&path).await);
    }
    assert_eq!(snapshot(&alice, g).await, before, "no-ops write nothing");
    app.stop().await;
}

#[tokio::test]
async fn patch_refusals_change_nothing() {
    let (app, [alice, bob, carol], g) = TestApp::with_group(["alice", "bob", "carol"]).await;
    let path = format!("/api/groups/{g}");
    assert_ok(&alice.group_set_role(g, "carol", "admin").await);
    let before = snapshot(&alice, g).await;
    let mixed = json!({"title": "Mine", "settings": {"only_admins_add": true}});
    let settings = bob.patch(&path, mixed).await;
    assert_error(&settings, StatusCode::FORBIDDEN, "admin_required");
    let long = "x".repeat(1001);
    let invalid = [
        (json!({"title": "  "}), "invalid_title"),
        (json!({"description": long}), "invalid_description"),
        (json!({"settings": {"colour": true}}), "invalid_settings"),
    ];
    for (body, code) in invalid {
        let response = alice.patch(&path, body).await;
        assert_error(&response, StatusCode::BAD_REQUEST, code);
    }
    assert_eq!(snapshot(&alice, g).await, before);

    let locked = json!({"settings": {"only_admins_edit_info": true}});
    assert_ok(&carol.patch(&path, locked).await);
    let before = snapshot(&alice, g).await;
    for body in [json!({"title": "Mine"}), json!({"description": "Mine"})] {
        let response = bob.patch(&path, body).await;
        assert_error(&response, StatusCode::FORBIDDEN, "admin_required");
    }
    assert_eq!(snapshot(&alice, g).await, before);
    assert_eq!(bob.get_ok(&path).await["title"], "Atlas");
    assert_ok(&carol.patch(&path, json!({"title": "By an admin"})).await);
    app.stop().await;
}

#[tokio::test]
async fn adding_reports_who_was_added_and_refuses_whole() {
    let (app, [alice, bob, carol], g) = TestApp::with_group(["alice", "bob", "carol"]).await;
    let [dan, eve] = app.signups(["dan", "eve"]).await;
    let path = format!("/api/groups/{g}/members");
    let before = snapshot(&alice, g).await;
    let unknown = bob.group_add(g, &["dan", "nobody"]).await;
    assert_error(&unknown, StatusCode::NOT_FOUND, "user_not_found");
    let malformed = bob.post(&path, json!({"usernames": "dan"})).await;
    assert_error_status(&malformed, StatusCode::BAD_REQUEST);
    assert_eq!(snapshot(&alice, g).await, before, "nobody added");
    assert!(dan.conversations().await.is_empty());

    let added = bob.group_add(g, &["DAN", "carol", "bob", "dan"]).await;
    assert_ok(&added);
    assert_eq!(added.1["added"], json!(["dan"]));
    assert_eq!(names(&added.1["already_members"]), ["bob", "carol"]);
    let record = json!({"event": "members_added", "actor": "bob", "targets": ["dan"]});
    assert_eq!(last_system(&dan, g).await, record);
    assert_eq!(dan.group_item(g).await["role"], "member");

    let before = snapshot(&alice, g).await;
    let nothing = alice.group_add(g, &["dan", "carol"]).await;
    assert_eq!(nothing.1["added"], json!([]));
    assert_eq!(names(&nothing.1["already_members"]), ["carol", "dan"]);
    assert_eq!(snapshot(&alice, g).await, before, "none added: no message");

    let locked = json!({"settings": {"only_admins_add": true}});
    assert_ok(&alice.group_update(g, locked).await);
    let before = snapshot(&alice, g).await;
    let refused = carol.group_add(g, &["eve"]).await;
    assert_error(&refused, StatusCode::FORBIDDEN, "admin_required");
    assert_eq!(snapshot(&alice, g).await, before);
    assert!(eve.conversations().await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn removing_is_for_admins_and_never_the_owner() {
    let names = ["alice", "bob", "carol", "dan"];
    let (app, [alice, bob, carol, dan], g) = TestApp::with_group(names).await;
    app.signups(["eve"]).await;
    let by_member = carol.group_remove(g, "dan").await;
    assert_error(&by_member, StatusCode::FORBIDDEN, "admin_required");
    assert_ok(&alice.group_set_role(g, "bob", "admin").await);
    let before = snapshot(&alice, g).await;
    let owner = bob.group_remove(g, "alice").await;
    assert_error(&owner, StatusCode::FORBIDDEN, "owner_required");
    for name in ["eve", "nobody", "NOT A NAME"] {
        let response = bob.group_remove(g, name).await;
        assert_error(&response, StatusCode::NOT_FOUND, "member_not_found");
    }
    assert_eq!(snapshot(&alice, g).await, before);

    assert_no_content(&bob.group_remove(g, "DAN").await);
    let record = json!({"event": "member_removed", "actor": "bob", "targets": ["dan"]});
    assert_eq!(last_system(&carol, g).await, record);
    let rows = roles("alice:owner bob:admin carol:member");
    assert_eq!(alice.group_members(g).await, rows);
    let again = bob.group_remove(g, "dan").await;
    assert_error(&again, StatusCode::NOT_FOUND, "member_not_found");
    let listing = dan.get(&format!("/api/groups/{g}/members")).await;
    assert_error(&listing, StatusCode::FORBIDDEN, "not_a_member");
    let rename = dan.group_update(g, json!({"title": "Mine"})).await;
    assert_error(&rename, StatusCode::FORBIDDEN, "not_a_member");
    assert_no_content(&alice.group_remove(g, "bob").await);
    let rows = roles("alice:owner carol:member");
    let members = alice.group_members(g).await;
    assert_eq!(members, rows, "the owner removes an admin");
    app.stop().await;
}

#[tokio::test]
async fn the_owner_demotes_and_admins_only_promote() {
    let names = ["alice", "bob", "carol", "dan"];
    let (app, [alice, bob, _carol, dan], g) = TestApp::with_group(names).await;
    app.signups(["eve"]).await;
    let before = snapshot(&alice, g).await;
    let by_member = bob.group_set_role(g, "carol", "admin").await;
    assert_error(&by_member, StatusCode::FORBIDDEN, "admin_required");
    for bad in ["owner", "boss", "ADMIN"] {
        let response = alice.group_set_role(g, "bob", bad).await;
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_role");
    }
    let stranger = alice.group_set_role(g, "eve", "admin").await;
    assert_error(&stranger, StatusCode::NOT_FOUND, "member_not_found");
    assert_eq!(snapshot(&alice, g).await, before);

    let promoted = alice.group_set_role(g, "bob", "admin").await;
    assert_ok(&promoted);
    let bob_user = json!({"username": "bob", "display_name": "bob"});
    assert_fields(&promoted.1, json!({"user": bob_user, "role": "admin"}));
    assert!(promoted.1["joined_at"].is_string(), "{}", promoted.1);
    let record = json!({"event": "role_changed", "actor": "alice", "targets": ["bob"],
                        "role": "admin"});
    assert_eq!(last_system(&dan, g).await, record);
    let before = snapshot(&alice, g).await;
    assert_ok(&alice.group_set_role(g, "bob", "admin").await);
    assert_eq!(snapshot(&alice, g).await, before, "the same role: a no-op");

    assert_ok(&bob.group_set_role(g, "carol", "admin").await);
    let before = snapshot(&alice, g).await;
    for target in ["carol", "alice"] {
        let demote = bob.group_set_role(g, target, "member").await;
        assert_error(&demote, StatusCode::FORBIDDEN, "owner_required");
    }
    assert_eq!(snapshot(&alice, g).await, before);
    assert_ok(&alice.group_set_role(g, "carol", "member").await);
    let rows = roles("alice:owner bob:admin carol:member dan:member");
    assert_eq!(alice.group_members(g).await, rows);
    app.stop().await;
}

#[tokio::test]
async fn an_owner_who_leaves_hands_over_to_the_longest_serving_admin_else_member() {
    let names = ["alice", "bob", "carol", "dan", "erin"];
    let (app, [alice, bob, carol, dan, erin], g) = TestApp::with_group(names).await;
    assert_no_content(&alice.group_remove(g, "bob").await);
    assert_ok(&alice.group_add(g, &["bob"]).await);
    assert_ok(&alice.group_set_role(g, "dan", "admin").await);
    assert_ok(&alice.group_set_role(g, "carol", "admin").await);
    assert_no_content(&alice.group_leave(g).await);
    let record = json!({"event": "member_left", "actor": "alice", "targets": [],
                        "new_owner": "carol"});
    let last = last_system(&bob, g).await;
    assert_eq!(last, record, "named before dan; no role_changed");
    let rows = roles("carol:owner dan:admin erin:member bob:member");
    assert_eq!(bob.group_members(g).await, rows);
    let group = bob.get_ok(&format!("/api/groups/{g}")).await;
    assert_eq!(group["member_count"], 4);
    let twice = alice.group_leave(g).await;
    assert_error(&twice, StatusCode::NOT_FOUND, "member_not_found");
    assert!(alice.get_ok(&format!("/api/groups/{g}")).await["role"].is_null());

    assert_no_content(&carol.group_leave(g).await);
    let last = last_system(&bob, g).await;
    assert_eq!(last["new_owner"], "dan", "an admin before any member");
    assert_no_content(&dan.group_leave(g).await);
    let last = last_system(&bob, g).await;
    assert_eq!(last["new_owner"], "erin", "bob's began at his re-add");
    assert_no_content(&bob.group_leave(g).await);
    let record = json!({"event": "member_left", "actor": "bob", "targets": [],
                        "new_owner": null});
    assert_eq!(last_system(&erin, g).await, record);
    assert_eq!(erin.group_members(g).await, roles("erin:owner"));

    assert_no_content(&erin.group_leave(g).await);
    let last = last_system(&erin, g).await;
    assert_eq!(last["new_owner"], Value::Null, "nobody is left");
    assert!(erin.get_ok(&format!("/api/groups/{g}")).await["role"].is_null());
    let add = erin.group_add(g, &["bob"]).await;
    assert_error(&add, StatusCode::FORBIDDEN, "not_a_member");
    let kept = bob.group_messages(g).await;
    assert!(kept.len() > 1, "history kept for past members");
    app.stop().await;
}

#[tokio::test]
async fn accept_is_a_no_op_for_a_member() {
    let (app, [alice, bob], g) = TestApp::with_group(["alice", "bob"]).await;
    alice.group_send_ok(g, "c1").await;
    let state = async || {
        let events = bob.all_events(0).await;
        (snapshot(&bob, g).await, bob.conversations().await, events)
    };
    let before = state().await;
    let accept = format!("/api/groups/{g}/accept");
    assert_no_content(&bob.post(&accept, json!({})).await);
    assert_eq!(state().await, before);
    app.stop().await;
}

#[tokio::test]
async fn group_messages_answer_as_the_direct_routes() {
    let (app, [alice, bob], g) = TestApp::with_group(["alice", "bob"]).await;
    let (status, sent) = alice.group_send(g, "c1", "hello group").await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    let expected = json!({"conversation_id": g, "seq": 2, "kind": "text", "sender": "alice",
                          "recipient": null, "client_id": "c1", "body": "hello group",
                          "status": "sent", "delivered_count": 0, "read_count": 0,
                          "system": null, "deleted": false});
    assert_fields(&sent, expected);

    let retry = alice.group_send(g, "c1", "hello group").await;
    assert_ok(&retry);
    assert_eq!(id(&retry.1), id(&sent));
    let conflict = alice.group_send(g, "c1", "another body").await;
    assert_error(&conflict, StatusCode::CONFLICT, "client_id_conflict");
    let bad_id = alice.group_send(g, "bad id", "x").await;
    assert_error(&bad_id, StatusCode::BAD_REQUEST, "invalid_client_id");
    let empty = alice.group_send(g, "c2", "").await;
    assert_error(&empty, StatusCode::BAD_REQUEST, "invalid_body");

    let messages = bob.group_messages(g).await;
    assert_eq!(ids(&messages)[1..], [id(&sent)], "stored once");
    assert_eq!(messages[1]["status"], "sent", "bob's own status");
    let theirs = &messages[1];
    assert!(theirs.get("delivered_count").is_none(), "{theirs}");
    let path = format!("/api/groups/{g}/messages");
    let bad = bob.get(&format!("{path}?before_id=temp_client_1")).await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_before_id");
    let older = format!("{path}?before_id={}&limit=1", id(&sent));
    let older = bob.get_ok(&older).await;
    let created = id(&messages[0]);
    assert_eq!(ids(older["messages"].as_array().unwrap()), [created]);
    assert_eq!(older["has_more"], false);
    let newest = bob.get_ok(&format!("{path}?limit=1")).await;
    assert_eq!(ids(newest["messages"].as_array().unwrap()), [id(&sent)]);
    assert_eq!(newest["has_more"], true);

    let sync = format!("/api/groups/{g}/sync?after_id={}", id(&messages[0]));
    let synced = bob.get_ok(&sync).await;
    assert_eq!(ids(synced["messages"].as_array().unwrap()), [id(&sent)]);
    assert_eq!(synced["has_more"], false);
    let bad = bob.get(&format!("/api/groups/{g}/sync?after_id=x")).await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_after_id");
    app.stop().await;
}

#[tokio::test]
async fn only_admins_send_refuses_members_and_stores_nothing() {
    let (app, [alice, bob], g) = TestApp::with_group(["alice", "bob"]).await;
    let locked = json!({"settings": {"only_admins_send": true}});
    assert_ok(&alice.group_update(g, locked).await);
    let before = snapshot(&alice, g).await;
    let refused = bob.group_send(g, "b1", "hi").await;
    assert_error(&refused, StatusCode::FORBIDDEN, "admin_required");
    assert_eq!(snapshot(&alice, g).await, before);
    alice.group_send_ok(g, "a1").await;
    assert_ok(&alice.group_set_role(g, "bob", "admin").await);
    bob.group_send_ok(g, "b1").await;
    app.stop().await;
}
