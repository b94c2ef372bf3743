//! Operator commands (PROTOCOL.md, Safety and privacy: Operators) run as an operator would: the
//! built `linkup admin` binary against a running server (through its admin socket), and with no
//! server running (in a process of its own). Suspension ends sessions, tokens and sockets at
//! once and refuses logins with `account_suspended`; a reset password logs in once; deletion
//! as `DELETE /api/me`; reports print the message as it was; exit codes 0, 1, 2.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::backend::TestStore;
use crate::socket::{Auth, open};
use crate::support::{Client, TestApp, assert_error, assert_error_status, id};

/// What `linkup admin ARGS` printed and its exit code.
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `linkup admin ARGS` with the storage's flags (after the command, as an operator may).
pub async fn admin(store: &TestStore, args: &[&str]) -> Ran {
    let mut flags = store.flags();
    if !flags.iter().any(|f| f == "--data-dir") {
        flags.push("--data-dir".into());
        flags.push(store.dir.path().display().to_string());
    }
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let output = Command::new(env!("CARGO_BIN_EXE_linkup"))
            .arg("admin")
            .args(&args)
            .args(&flags)
            .env_remove("LINKUP_DATABASE_URL")
            .env_remove("LINKUP_REDIS_URL")
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "warn")
            .output()
            .expect("linkup admin runs");
        Ran {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    })
    .await
    .expect("linkup admin finishes")
}

async fn login(app: &TestApp, username: &str, password: &str) -> (StatusCode, Value) {
    app.anonymous()
        .post(
            "/api/auth/login",
            json!({"username": username, "password": password}),
        )
        .await
}

fn done(ran: &Ran) {
    assert_eq!(ran.code, 0, "stdout: {} stderr: {}", ran.stdout, ran.stderr);
}

#[tokio::test]
async fn suspending_ends_sessions_tokens_and_sockets_and_refuses_logins() {
    let app = TestApp::spawn().await;
    let [alice, bob] = app.signups(["alice", "bob"]).await;
    let bob_token = app.token_client("bob").await;
    let mut socket = open(
        &app.url,
        "/ws/notifications/",
        Auth::Bearer(bob_token.bearer.as_deref().expect("token")),
    )
    .await;

    done(&admin(app.storage(), &["suspend", "bob"]).await);

    let (_, code) = socket.drain().await;
    assert_eq!(code, Some(4001), "bob's socket closes");
    assert_error_status(&bob.get("/api/me").await, StatusCode::UNAUTHORIZED);
    assert_error_status(&bob_token.get("/api/me").await, StatusCode::UNAUTHORIZED);
    assert_error(
        &login(&app, "bob", "password123").await,
        StatusCode::FORBIDDEN,
        "account_suspended",
    );
    assert_error(
        &login(&app, "bob", "wrong-password").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    );
    alice
        .send_created("bob", "c1", "others may still write")
        .await;

    done(&admin(app.storage(), &["unsuspend", "bob"]).await);
    assert_eq!(login(&app, "bob", "password123").await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_reset_password_logs_in_once_and_ends_every_session() {
    let app = TestApp::spawn().await;
    let [bob] = app.signups(["bob"]).await;
    let ran = admin(app.storage(), &["reset-password", "bob"]).await;
    done(&ran);
    let password = ran.stdout.trim().to_owned();
    assert!(password.len() >= 8, "{password:?}");
    assert_error_status(&bob.get("/api/me").await, StatusCode::UNAUTHORIZED);
    assert_error(
        &login(&app, "bob", "password123").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    );
    assert_eq!(login(&app, "bob", &password).await.0, StatusCode::OK);
    assert_error(
        &login(&app, "bob", &password).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    );
}

#[tokio::test]
async fn delete_user_deletes_as_the_owner_would() {
    let app = TestApp::spawn().await;
    let [alice, bob] = app.signups(["alice", "bob"]).await;
    bob.send_created("alice", "b1", "from bob").await;
    done(&admin(app.storage(), &["delete-user", "bob"]).await);
    assert_error_status(&bob.get("/api/me").await, StatusCode::UNAUTHORIZED);
    let with = &alice.conversations().await[0]["with"];
    assert!(with["username"].as_str().unwrap().starts_with("deleted-"));
    let name = with["username"].as_str().unwrap().to_owned();
    assert_eq!(alice.messages(&name).await[0]["deleted"], true);
    let ran = admin(app.storage(), &["delete-user", "bob"]).await;
    assert_eq!(ran.code, 1, "bob is no more: {}", ran.stderr);
}

#[tokio::test]
async fn reports_print_each_report_with_the_message_as_it_was() {
    let app = TestApp::spawn().await;
    let [alice, bob] = app.signups(["alice", "bob"]).await;
    let message = id(&alice.send_created("bob", "c1", "an insult").await);
    let reported = bob
        .post(
            &format!("/api/messages/{message}/report"),
            json!({"reason": "harassment"}),
        )
        .await;
    assert_eq!(reported.0, StatusCode::ACCEPTED);
    assert_eq!(
        alice.delete(&format!("/api/messages/{message}")).await.0,
        StatusCode::OK
    );
    let ran = admin(app.storage(), &["reports"]).await;
    done(&ran);
    let lines: Vec<Value> = ran
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
        .collect();
    assert_eq!(lines.len(), 1, "{}", ran.stdout);
    let report = &lines[0];
    assert!(
        report["id"].is_i64() && report["at"].is_string(),
        "{report}"
    );
    assert_eq!(report["reporter"], "bob");
    assert_eq!(report["reason"], "harassment");
    assert_eq!(report["message"]["id"], message);
    assert_eq!(report["message"]["sender"], "alice");
    assert_eq!(report["message"]["body"], "an insult");
    assert!(report["message"]["created_at"].is_string());
    assert_eq!(report["message"]["attachments"], json!([]));
}

#[tokio::test]
async fn unknown_users_exit_1_and_bad_usage_exits_2() {
    let app = TestApp::spawn().await;
    let ran = admin(app.storage(), &["suspend", "nobody"]).await;
    assert_eq!(ran.code, 1);
    assert!(ran.stderr.contains("nobody"), "{}", ran.stderr);
    for args in [
        &["suspend"][..],
        &["frobnicate", "bob"][..],
        &["reports", "extra"][..],
    ] {
        assert_eq!(admin(app.storage(), args).await.code, 2, "{args:?}");
    }
}

#[tokio::test]
async fn with_no_server_running_the_command_acts_on_the_store() {
    let app = TestApp::spawn().await;
    app.signups(["bob"]).await;
    let store = app.stop_keeping_storage().await;
    done(&admin(&store, &["suspend", "bob"]).await);
    let app = TestApp::start_on(store).await;
    assert_error(
        &login(&app, "bob", "password123").await,
        StatusCode::FORBIDDEN,
        "account_suspended",
    );
    let client: Client = app.anonymous();
    let token = client
        .post(
            "/api/auth/tokens",
            json!({"username": "bob", "password": "password123"}),
        )
        .await;
    assert_error(&token, StatusCode::FORBIDDEN, "account_suspended");
}
