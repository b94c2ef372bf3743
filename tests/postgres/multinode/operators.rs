//! Operator commands on a two-node cluster (one PostgreSQL database, one Redis prefix, each
//! node with a data directory of its own): a command sent to one node's admin socket, and one
//! run with no server answering (in a process of its own, on the same store and Redis), both
//! close the account's sockets on the other node and end its tokens everywhere.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::backend::{Backend, TestStore};
use crate::process::Linkup;
use crate::socket::{Auth, open};
use crate::support::Client;

/// Runs `linkup admin ARGS` on the cluster's store with `data_dir`; returns the exit code.
async fn admin(store: &TestStore, data_dir: &std::path::Path, args: &[&str]) -> i32 {
    let mut all: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    all.extend(store.flags());
    all.push("--data-dir".into());
    all.push(data_dir.display().to_string());
    tokio::task::spawn_blocking(move || {
        let output = Command::new(env!("CARGO_BIN_EXE_linkup"))
            .arg("admin")
            .args(&all)
            .env_remove("LINKUP_DATABASE_URL")
            .env_remove("LINKUP_REDIS_URL")
            .env("RUST_LOG", "warn")
            .output()
            .expect("linkup admin runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.status.code().unwrap_or(-1)
    })
    .await
    .expect("linkup admin finishes")
}

async fn post(url: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let client = Client::new(url);
    client.post(path, body).await
}

/// A bearer token for `name` from the node at `url`.
async fn token(url: &str, name: &str) -> String {
    let (status, body) = post(
        url,
        "/api/auth/tokens",
        json!({"username": name, "password": "password123"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["token"].as_str().expect("a token").to_owned()
}

#[tokio::test]
async fn operator_commands_close_sockets_on_every_node() {
    let store = TestStore::new(Backend::Postgres).await;
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let no_server = tempfile::tempdir().unwrap();
    let mut nodes = Vec::new();
    for dir in &dirs {
        let flags = ["--data-dir", dir.path().to_str().unwrap()];
        nodes.push(Linkup::start_with(&store, &flags, &[]).await);
    }
    for name in ["alice", "bob"] {
        let body = json!({"username": name, "password": "password123"});
        assert_eq!(
            post(&nodes[0].url, "/api/auth/signup", body).await.0,
            StatusCode::CREATED
        );
    }
    let bob = token(&nodes[1].url, "bob").await;
    let mut socket = open(&nodes[1].url, "/ws/notifications/", Auth::Bearer(&bob)).await;

    // Through node 0's admin socket; bob's socket is on node 1.
    admin(&store, dirs[0].path(), &["suspend", "bob"]).await;
    let (_, code) = socket.drain().await;
    assert_eq!(code, Some(4001), "the socket on the other node closes");
    let mut bob_client = Client::new(&nodes[1].url);
    bob_client.bearer = Some(bob.clone());
    assert_eq!(bob_client.get("/api/me").await.0, StatusCode::UNAUTHORIZED);
    let login = json!({"username": "bob", "password": "password123"});
    let (status, body) = post(&nodes[1].url, "/api/auth/login", login).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "account_suspended");

    // With no server answering: the command runs in its own process, on the same Redis.
    admin(&store, no_server.path(), &["unsuspend", "bob"]).await;
    let bob = token(&nodes[1].url, "bob").await;
    let mut socket = open(&nodes[1].url, "/ws/notifications/", Auth::Bearer(&bob)).await;
    admin(&store, no_server.path(), &["delete-user", "bob"]).await;
    let (_, code) = socket.drain().await;
    assert_eq!(code, Some(4001), "closed by a command no node ran");
    let login = json!({"username": "bob", "password": "password123"});
    let (status, _) = post(&nodes[0].url, "/api/auth/login", login).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
