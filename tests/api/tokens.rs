//! Bearer tokens as their owner manages them: listed (`GET /api/auth/tokens`, never the
//! secret, `current` for the token asking), revoked by id (`DELETE /api/auth/tokens/{id}`,
//! closing the sockets opened with it; another user's or an unknown id is 404
//! `token_not_found`), revoked by logging out with them, optionally expiring
//! (`--token-ttl-days`), kept across the schema migration that gave them ids; the `Bearer`
//! scheme name in any case; and a login that replaces a browser's session ends it.

use std::time::Duration;

use linkup::auth::secrets;
use linkup::domain::time::Timestamp;
use reqwest::StatusCode;
use serde_json::Value;

use crate::socket::{Auth, NOTIFICATIONS, Socket, connect, open, session_cookie, token};
use crate::support::{Client, TestApp, assert_error, assert_no_content};

/// Waits at most a second for the server to close `socket`; returns the close code.
async fn close_code_within_a_second(socket: &mut Socket) -> Option<u16> {
    tokio::time::timeout(Duration::from_secs(1), socket.closed())
        .await
        .expect("the socket closed within a second")
        .map(|frame| u16::from(frame.code))
}

async fn listed(client: &Client) -> Vec<Value> {
    let body = client.get_ok("/api/auth/tokens").await;
    body["tokens"].as_array().expect("a token list").clone()
}

#[tokio::test]
async fn tokens_are_listed_without_their_secrets() {
    let (app, [alice, bob]) = TestApp::with_users(["alice", "bob"]).await;
    let first = app.token_client("alice").await;
    let second = app.token_client("alice").await;
    app.token_client("bob").await;

    let body = first.get_ok("/api/auth/tokens").await;
    let text = body.to_string();
    assert!(!text.contains(token(&first)) && !text.contains(token(&second)));
    let items = body["tokens"].as_array().expect("tokens");
    assert_eq!(items.len(), 2, "alice's two only: {body}");
    for item in items {
        let mut keys: Vec<&str> = item
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["created_at", "current", "id", "last_used_at"],
            "{item}"
        );
        assert!(item["id"].is_string() && !item["id"].as_str().unwrap().is_empty());
        assert!(item["created_at"].is_string());
    }
    let current: Vec<bool> = items.iter().map(|t| t["current"] == true).collect();
    assert_eq!(current, [true, false], "oldest first; the first is asking");
    assert!(items[0]["last_used_at"].is_string(), "used by this request");
    assert!(items[1]["last_used_at"].is_null(), "never used");

    let from_second = listed(&second).await;
    assert_eq!(from_second[1]["current"], true);
    assert_eq!(from_second[0]["id"], items[0]["id"]);
    // A browser session lists the same tokens, none of them current.
    let from_cookie = listed(&alice).await;
    assert!(from_cookie.iter().all(|t| t["current"] == false));
    assert_eq!(from_cookie.len(), 2);
    assert_eq!(listed(&bob).await.len(), 1);
    let response = app.anonymous().get("/api/auth/tokens").await;
    assert_error(&response, StatusCode::UNAUTHORIZED, "not_authenticated");
    app.stop().await;
}

#[tokio::test]
async fn a_revoked_token_stops_at_once_and_its_sockets_close() {
    let (app, [_alice, _bob]) = TestApp::with_users(["alice", "bob"]).await;
    let manager = app.token_client("alice").await;
    let doomed = app.token_client("alice").await;
    let bob = app.token_client("bob").await;
    let mut header_ws = app.socket(&doomed, NOTIFICATIONS).await;
    let mut query_ws = open(&app.url, "/ws/chat/bob/", Auth::Query(token(&doomed))).await;
    let mut kept_ws = app.socket(&manager, NOTIFICATIONS).await;
    header_ws.ping().await;
    query_ws.ping().await;
    let doomed_id = listed(&manager).await[1]["id"].as_str().unwrap().to_owned();

    // Nobody else can revoke it, and unknown ids are the same 404.
    let path = format!("/api/auth/tokens/{doomed_id}");
    assert_error(
        &bob.delete(&path).await,
        StatusCode::NOT_FOUND,
        "token_not_found",
    );
    for unknown in [
        "/api/auth/tokens/000000000000000000000000",
        "/api/auth/tokens/x",
    ] {
        let response = manager.delete(unknown).await;
        assert_error(&response, StatusCode::NOT_FOUND, "token_not_found");
    }
    doomed.get_ok("/api/me").await;

    assert_no_content(&manager.delete(&path).await);
    assert_eq!(close_code_within_a_second(&mut header_ws).await, Some(4001));
    assert_eq!(close_code_within_a_second(&mut query_ws).await, Some(4001));
    let response = doomed.get("/api/me").await;
    assert_error(&response, StatusCode::UNAUTHORIZED, "not_authenticated");
    let again = connect(&app.url, NOTIFICATIONS, Auth::Bearer(token(&doomed))).await;
    assert_eq!(again.err(), Some(401));
    assert_error(
        &manager.delete(&path).await,
        StatusCode::NOT_FOUND,
        "token_not_found",
    );
    kept_ws.ping().await;
    assert_eq!(listed(&manager).await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn logging_out_with_a_bearer_token_revokes_it_alone() {
    let (app, [_alice]) = TestApp::with_users(["alice"]).await;
    let leaving = app.token_client("alice").await;
    let staying = app.token_client("alice").await;
    let mut socket = app.socket(&leaving, NOTIFICATIONS).await;
    socket.ping().await;
    assert_no_content(&leaving.post("/api/auth/logout", Value::Null).await);
    assert_eq!(close_code_within_a_second(&mut socket).await, Some(4001));
    let response = leaving.get("/api/me").await;
    assert_error(&response, StatusCode::UNAUTHORIZED, "not_authenticated");
    let left = listed(&staying).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["current"], true);
    app.stop().await;
}

#[tokio::test]
async fn the_bearer_scheme_name_is_case_insensitive() {
    let (app, [alice]) = TestApp::with_token_users(["alice"]).await;
    let secret = token(&alice);
    let http = reqwest::Client::new();
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let response = http
            .get(format!("{}/api/me", app.url))
            .header("authorization", format!("{scheme} {secret}"))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), StatusCode::OK, "{scheme}");
        let (status, _) = crate::socket::refusal(
            &app.url,
            NOTIFICATIONS,
            &[("authorization", &format!("{scheme} {secret}"))],
        )
        .await;
        assert_eq!(
            status,
            StatusCode::SWITCHING_PROTOCOLS,
            "{scheme} on a socket"
        );
    }
    let response = http
        .get(format!("{}/api/me", app.url))
        .header("authorization", format!("Basic {secret}"))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    app.stop().await;
}

#[tokio::test]
async fn tokens_expire_after_token_ttl_days() {
    let app = TestApp::spawn_with(|c| c.token_ttl_days = 2).await;
    app.signup("alice").await;
    let client = app.token_client("alice").await;
    client.get_ok("/api/me").await;
    let store = &app.server.state().store;
    let digest = secrets::digest(token(&client));
    let now = Timestamp::now();
    let record = store
        .token_user(digest.clone(), now)
        .await
        .unwrap()
        .expect("live now");
    let expires = record.expires_at.expect("an expiry");
    let days = (expires.millis() - now.millis()) as f64 / 86_400_000.0;
    assert!((1.99..=2.0).contains(&days), "{days} days");
    let later = store.token_user(digest, expires).await.unwrap();
    assert!(later.is_none(), "not from its expiry on");
    // Without the flag, tokens do not expire.
    let app_forever = TestApp::spawn().await;
    app_forever.signup("bob").await;
    let bob = app_forever.token_client("bob").await;
    let record = app_forever
        .server
        .state()
        .store
        .token_user(secrets::digest(token(&bob)), now)
        .await
        .unwrap()
        .expect("live");
    assert_eq!(record.expires_at, None);
    app.stop().await;
    app_forever.stop().await;
}

#[tokio::test]
async fn a_login_that_replaces_a_browser_session_ends_it() {
    let (app, [_alice]) = TestApp::with_users(["alice"]).await;
    let old = session_cookie(&app.url, "alice").await;
    let mut socket = app.cookie_socket(&old, NOTIFICATIONS).await;
    socket.ping().await;
    let response = reqwest::Client::new()
        .post(format!("{}/api/auth/login", app.url))
        .header("cookie", format!("linkup_session={old}"))
        .json(&serde_json::json!({"username": "alice", "password": "password123"}))
        .send()
        .await
        .expect("login sent");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(close_code_within_a_second(&mut socket).await, Some(4001));
    let again = connect(&app.url, NOTIFICATIONS, app.cookie(&old)).await;
    assert_eq!(again.err(), Some(401), "the old session is gone");
    app.stop().await;
}

/// A bearer token stored before tokens had ids (schema version 6) works after the migration,
/// with an id of its own in the list.
#[tokio::test]
async fn tokens_from_before_their_ids_survive_the_migration() {
    use linkup::store::{postgres, sqlite};
    let storage = crate::backend::TestStore::new(crate::BACKEND).await;
    let secret = "lu_issued-before-version-7";
    let rows = format!(
        "INSERT INTO users (id, username, display_name, password_hash, created_at) \
         VALUES (1, 'alice', 'Alice', 'x', 1); \
         INSERT INTO api_tokens (token_hash, user_id, created_at) VALUES ({}, 1, 5); \
         INSERT INTO api_tokens (token_hash, user_id, created_at) VALUES ({}, 1, 6);",
        literal(&secrets::digest(secret)),
        literal(&secrets::digest("lu_another")),
    );
    match crate::BACKEND {
        crate::backend::Backend::Sqlite => {
            let path = storage.dir.path().join("linkup.db");
            let mut conn = rusqlite::Connection::open(&path).expect("database file");
            sqlite::schema::migrate_to(&mut conn, 6).expect("version 6");
            conn.execute_batch(&rows).expect("version-6 rows");
        }
        crate::backend::Backend::Postgres => {
            let url = storage.database_url().expect("a PostgreSQL test store");
            let pool = sqlx::PgPool::connect(&url).await.expect("pool");
            postgres::schema::migrate_to(&pool, 6)
                .await
                .expect("version 6");
            let rows = rows.replace("X'", "'\\x");
            sqlx::raw_sql(sqlx::AssertSqlSafe(rows))
                .execute(&pool)
                .await
                .expect("version-6 rows");
            pool.close().await;
        }
    }
    let mut config = linkup::config::Config::for_tests(storage.dir.path());
    storage.configure(&mut config);
    let server = linkup::server::Server::start(config).await.expect("starts");
    let mut client = Client::new(&server.url());
    client.bearer = Some(secret.to_owned());
    let items = listed(&client).await;
    assert_eq!(items.len(), 2);
    let ids: Vec<&str> = items.iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert!(
        ids.iter().all(|id| id.len() == 24) && ids[0] != ids[1],
        "{ids:?}"
    );
    assert_eq!(items[0]["current"], true);
    assert_eq!(items[0]["created_at"], "1970-01-01T00:00:00.005Z");
    let path = format!("/api/auth/tokens/{}", ids[1]);
    assert_no_content(&client.delete(&path).await);
    assert_eq!(listed(&client).await.len(), 1);
    server.stop().await.expect("stops");
}

/// A SQL blob literal (`X'…'`) of `bytes`.
fn literal(bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("X'{hex}'")
}

/// With every request logged (`RUST_LOG=debug`), a socket opened with `access_token` leaves
/// the token out of the log, and the request is still logged (with the token redacted).
#[tokio::test]
async fn access_tokens_are_never_written_to_the_log() {
    use crate::process::Linkup;
    let storage = crate::backend::TestStore::new(crate::BACKEND).await;
    let mut server = Linkup::start_with(&storage, &[], &[("RUST_LOG", "debug")]).await;
    crate::process::signup(&server.url, "alice").await;
    let response = reqwest::Client::new()
        .post(format!("{}/api/auth/tokens", server.url))
        .json(&serde_json::json!({"username": "alice", "password": "password123"}))
        .send()
        .await
        .expect("token request sent");
    let body: Value = response.json().await.expect("token");
    let secret = body["token"].as_str().expect("a token").to_owned();
    let path = format!("{NOTIFICATIONS}?since=0&marker=logged");
    let mut socket = open(&server.url, &path, Auth::Query(&secret)).await;
    socket.ping().await;
    drop(socket);
    let logged = server.wait_for_line("marker=logged").await;
    assert!(logged.contains("access_token=[redacted]"), "{logged}");
    let mut lines = vec![logged];
    lines.extend(server.lines_so_far());
    let secret_part = &secret[3..];
    assert!(
        lines.iter().all(|line| !line.contains(secret_part)),
        "the token was logged"
    );
    server.terminate().await;
}

/// A sign-up made while the browser holds a session ends that session too.
#[tokio::test]
async fn a_sign_up_that_replaces_a_browser_session_ends_it() {
    let (app, [_alice]) = TestApp::with_users(["alice"]).await;
    let old = session_cookie(&app.url, "alice").await;
    let mut socket = app.cookie_socket(&old, NOTIFICATIONS).await;
    socket.ping().await;
    let response = reqwest::Client::new()
        .post(format!("{}/api/auth/signup", app.url))
        .header("cookie", format!("linkup_session={old}"))
        .json(&serde_json::json!({"username": "bob", "password": "password123"}))
        .send()
        .await
        .expect("sign-up sent");
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(close_code_within_a_second(&mut socket).await, Some(4001));
    let again = connect(&app.url, NOTIFICATIONS, app.cookie(&old)).await;
    assert_eq!(again.err(), Some(401));
    app.stop().await;
}

/// The server's housekeeping deletes expired sessions and tokens (it runs when the server
/// starts, then every minute).
#[tokio::test]
async fn housekeeping_purges_expired_sessions_and_tokens() {
    use linkup::store::{NewSession, NewToken};
    let (app, [mut alice]) = TestApp::with_users(["alice"]).await;
    let user = alice.get_ok("/api/me").await;
    assert_eq!(user["user"]["username"], "alice");
    let store = app.server.state().store.clone();
    let alice_id = store
        .user_by_username(&linkup::domain::input::Username::parse("alice").unwrap())
        .await
        .unwrap()
        .expect("alice")
        .id;
    let now = Timestamp::now();
    let expired = Timestamp(now.millis() - 1_000);
    store
        .create_session(NewSession {
            id_hash: b"expired-session".to_vec(),
            user: alice_id,
            csrf_token: "c".into(),
            at: Timestamp(expired.millis() - 1_000),
            expires_at: expired,
        })
        .await
        .unwrap();
    store
        .create_token(NewToken {
            hash: b"expired-token".to_vec(),
            id: "expired-token-id".into(),
            user: alice_id,
            at: Timestamp(expired.millis() - 1_000),
            expires_at: Some(expired),
        })
        .await
        .unwrap();
    // Looked up as of long ago, a row that is still stored is found.
    let long_ago = Timestamp(0);
    assert!(
        store
            .session(b"expired-session".to_vec(), long_ago)
            .await
            .unwrap()
            .is_some()
    );
    drop(store);

    let (_, app) = app.restart().await;
    let store = app.server.state().store.clone();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let session = store
            .session(b"expired-session".to_vec(), long_ago)
            .await
            .unwrap();
        let token = store
            .token_user(b"expired-token".to_vec(), long_ago)
            .await
            .unwrap();
        if session.is_none() && token.is_none() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not purged within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Live credentials stay.
    alice.base = app.url.clone();
    alice.get_ok("/api/me").await;
    app.stop().await;
}
