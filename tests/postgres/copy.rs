//! `linkup copy-to-postgres`: an embedded install moved to PostgreSQL keeps every user,
//! session, message, status and cursor — replies, edits, reactions, deletes and attachments
//! included — and carries on numbering where it left off.

use linkup::config::Config;
use linkup::server::Server;
use linkup::store::Store;
use linkup::store::copy::sqlite_to_postgres;
use linkup::store::postgres::{PostgresOptions, PostgresStore};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::backend::{Backend, TestStore};
use crate::support::Client;

async fn start(store: &TestStore) -> Server {
    let mut config = Config::for_tests(store.dir.path());
    store.configure(&mut config);
    Server::start(config).await.expect("server starts")
}

async fn signup(server: &Server, name: &str) -> Client {
    let mut client = Client::new(&server.url());
    let body = json!({"username": name, "password": "password123"});
    let (status, me) = client.post("/api/auth/signup", body).await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{me}");
    client.csrf = me["csrf_token"].as_str().map(str::to_owned);
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copied_install_carries_on_where_it_left_off() {
    let sqlite = TestStore::new(Backend::Sqlite).await;
    let server = start(&sqlite).await;
    let mut alice = signup(&server, "alice").await;
    let mut bob = signup(&server, "bob").await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(
            alice
                .send_created("bob", &format!("c{n}"), &format!("hello {n}"))
                .await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    bob.read_up_to("alice", ids[2]).await;
    // What version 2 keeps besides: a reply, an edit, a reaction, a delete and an attachment.
    let reply = json!({"client_id": "r1", "body": "re", "reply_to": ids[0]});
    assert_eq!(
        bob.post("/api/conversations/alice/messages", reply).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        alice
            .patch(
                &format!("/api/messages/{}", ids[1]),
                json!({"body": "edited"})
            )
            .await
            .0,
        StatusCode::OK
    );
    let reaction = bob
        .request(
            Method::PUT,
            &format!("/api/messages/{}/reaction", ids[2]),
            Some(json!({"emoji": "👍"})),
        )
        .await;
    assert_eq!(reaction.0, StatusCode::OK);
    assert_eq!(
        alice.delete(&format!("/api/messages/{}", ids[3])).await.0,
        StatusCode::OK
    );
    let upload: Value = alice
        .http
        .post(format!("{}/api/uploads?filename=cv.pdf", alice.base))
        .header("X-CSRF-Token", alice.csrf.clone().unwrap_or_default())
        .body(b"%PDF-1.4\n%%EOF\n".to_vec())
        .send()
        .await
        .expect("uploaded")
        .json()
        .await
        .expect("the upload");
    let carrying = json!({"client_id": "a1", "body": "cv", "attachments": [upload["id"]]});
    assert_eq!(
        alice
            .post("/api/conversations/bob/messages", carrying)
            .await
            .0,
        StatusCode::CREATED
    );
    // Version 9 keeps a report with the message as it was.
    let reported = bob
        .post(
            &format!("/api/messages/{}/report", ids[4]),
            json!({"reason": "copied with the rest"}),
        )
        .await;
    assert_eq!(reported.0, StatusCode::ACCEPTED);
    let alice_events = alice.all_events(0).await;
    let bob_history = bob.messages("alice").await;
    // Bearer tokens, with their ids (auth).
    let mut program = Client::new(&server.url());
    let issued = program
        .post(
            "/api/auth/tokens",
            json!({"username": "bob", "password": "password123"}),
        )
        .await;
    program.bearer = issued.1["token"].as_str().map(str::to_owned);
    let tokens = program.get_ok("/api/auth/tokens").await;
    server.stop().await.expect("stops");

    let postgres = TestStore::new(Backend::Postgres).await;
    let url = postgres.database_url().expect("a PostgreSQL store");
    let target = PostgresStore::open(&url, PostgresOptions::default())
        .await
        .expect("PostgreSQL opens");
    let report = sqlite_to_postgres(&sqlite.dir.path().join("linkup.db"), target.pool())
        .await
        .expect("copied");
    assert!(report.contains(&("messages", 7)), "{report:?}");
    assert!(report.contains(&("reactions", 1)) && report.contains(&("message_attachments", 1)));
    assert!(report.contains(&("reports", 1)), "{report:?}");
    let again = sqlite_to_postgres(&sqlite.dir.path().join("linkup.db"), target.pool()).await;
    assert!(
        again.is_err(),
        "a second copy into a non-empty database is refused"
    );
    target.close().await;

    let server = start(&postgres).await;
    alice.base = server.url();
    bob.base = server.url();
    // Sessions moved too: the same cookies and CSRF tokens still work.
    assert_eq!(alice.all_events(0).await, alice_events);
    assert_eq!(bob.messages("alice").await, bob_history);
    program.base = server.url();
    let copied = program.get_ok("/api/auth/tokens").await;
    assert_eq!(copied["tokens"][0]["id"], tokens["tokens"][0]["id"]);
    assert_eq!(
        copied["tokens"][0]["created_at"],
        tokens["tokens"][0]["created_at"]
    );
    assert!(bob_history.iter().any(|m| m["reply_to"]["id"] == ids[0]));
    assert!(
        bob_history
            .iter()
            .any(|m| m["attachments"][0]["filename"] == "cv.pdf")
    );
    let reports = server.state().store.reports(0, 10).await.expect("reports");
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].message["body"], "hello 4");
    let next: Value = alice.send_created("bob", "after-copy", "still here").await;
    assert_eq!(
        next["id"].as_i64().unwrap(),
        ids[4] + 3,
        "ids continue after the copied ones"
    );
    assert_eq!(next["seq"], 8);
    let events = alice.all_events(0).await;
    let cursors: Vec<i64> = events
        .iter()
        .map(|e| e["cursor"].as_i64().unwrap())
        .collect();
    assert_eq!(
        cursors,
        (1..=cursors.len() as i64).collect::<Vec<_>>(),
        "cursors continue without a gap"
    );
    server.stop().await.expect("stops");
}
