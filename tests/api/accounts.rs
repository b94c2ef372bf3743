//! Accounts and authentication (PROTOCOL.md, "Authentication and CSRF"): sign-up, login with a
//! fresh session id, logout, bearer tokens, and the CSRF rule that the seed got wrong
//! (failure 2: "CSRF token incorrect length").

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::support::{Client, TestApp, assert_error, cookie_http};

/// The `linkup_session` value a response sets, if any.
fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("linkup_session="))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
}

/// GET /api/me with exactly this session cookie and nothing else (no cookie jar).
async fn me_with_cookie(app: &TestApp, session: &str) -> StatusCode {
    reqwest::Client::new()
        .get(format!("{}/api/me", app.url))
        .header(header::COOKIE, format!("linkup_session={session}"))
        .send()
        .await
        .expect("request sent")
        .status()
}

async fn post_raw(
    app: &TestApp,
    http: &reqwest::Client,
    path: &str,
    body: Value,
) -> reqwest::Response {
    http.post(format!("{}{path}", app.url))
        .json(&body)
        .send()
        .await
        .expect("request sent")
}

/// The same person's client without the CSRF token (sharing the cookie jar).
fn without_csrf(client: &Client) -> Client {
    Client {
        base: client.base.clone(),
        http: client.http.clone(),
        csrf: None,
        bearer: None,
    }
}

fn with_csrf(client: &Client, token: &str) -> Client {
    Client {
        csrf: Some(token.to_owned()),
        ..without_csrf(client)
    }
}

/// POSTs `username` and `password` (and nothing else) to `path`: sign-up, login or tokens.
async fn post_credentials(
    client: &Client,
    path: &str,
    username: &str,
    password: &str,
) -> (StatusCode, Value) {
    let credentials = json!({"username": username, "password": password});
    client.post(path, credentials).await
}

/// An anonymous sign-up attempt (no display name).
async fn try_signup(app: &TestApp, username: &str, password: &str) -> (StatusCode, Value) {
    post_credentials(&app.anonymous(), "/api/auth/signup", username, password).await
}

/// `POST /api/auth/logout` as `client`.
async fn logout(client: &Client) -> (StatusCode, Value) {
    client.request(Method::POST, "/api/auth/logout", None).await
}

/// Asserts `client`'s credentials no longer work: `GET /api/me` is 401 `not_authenticated`.
async fn assert_signed_out(client: &Client) {
    assert_error(
        &client.get("/api/me").await,
        StatusCode::UNAUTHORIZED,
        "not_authenticated",
    );
}

#[tokio::test]
async fn signup_creates_a_logged_in_session_with_a_csrf_token() {
    let app = TestApp::spawn().await;
    let http = cookie_http();
    let body = json!({"username": "Alice_1", "password": "password123", "display_name": "Alice"});
    let response = post_raw(&app, &http, "/api/auth/signup", body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let set_cookie: Vec<String> = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let cookie = set_cookie
        .iter()
        .find(|c| c.starts_with("linkup_session="))
        .unwrap_or_else(|| panic!("no session cookie in {set_cookie:?}"));
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["user"]["username"], "alice_1", "stored lower-case");
    assert_eq!(created["user"]["display_name"], "Alice");
    let csrf = created["csrf_token"].as_str().expect("csrf_token");
    assert!(!csrf.is_empty());

    let me: Value = http
        .get(format!("{}/api/me", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"]["username"], "alice_1");
    assert_eq!(me["csrf_token"], csrf);
    app.stop().await;
}

#[tokio::test]
async fn usernames_are_unique_regardless_of_case() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    for taken in ["alice", "Alice", "ALICE"] {
        let response = try_signup(&app, taken, "password123").await;
        assert_error(&response, StatusCode::CONFLICT, "username_taken");
    }
    app.stop().await;
}

#[tokio::test]
async fn invalid_usernames_and_passwords_are_refused_and_store_nothing() {
    let app = TestApp::spawn().await;
    let long = "x".repeat(33);
    for bad in ["ab", "a b", "ünï", "../etc", "", long.as_str()] {
        let response = try_signup(&app, bad, "password123").await;
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_username");
    }
    let response = try_signup(&app, "dave", "short").await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_password");
    // The refused sign-up created nothing: the name is still free.
    app.signup("dave").await;
    app.stop().await;
}

#[tokio::test]
async fn login_issues_a_new_session_id_and_ends_the_one_it_replaces() {
    let app = TestApp::spawn().await;
    let http = cookie_http();
    let credentials = json!({"username": "alice", "password": "password123"});
    let signup = post_raw(&app, &http, "/api/auth/signup", credentials.clone()).await;
    assert_eq!(signup.status(), StatusCode::CREATED);
    let first = session_cookie(&signup).expect("signup sets a session");

    let login = post_raw(&app, &http, "/api/auth/login", credentials).await;
    assert_eq!(login.status(), StatusCode::OK);
    let second = session_cookie(&login).expect("login sets a session");
    assert_ne!(first, second, "login must not reuse the session id");
    let body: Value = login.json().await.unwrap();
    assert_eq!(body["user"]["username"], "alice");
    assert!(body["csrf_token"].as_str().is_some_and(|t| !t.is_empty()));

    assert_eq!(me_with_cookie(&app, &second).await, StatusCode::OK);
    assert_eq!(
        me_with_cookie(&app, &first).await,
        StatusCode::UNAUTHORIZED,
        "the session the browser brought to login must be gone (no fixation)"
    );

    // A login from another browser (username in another case) gets yet another session.
    let upper = json!({"username": "ALICE", "password": "password123"});
    let other = reqwest::Client::new();
    let third = session_cookie(&post_raw(&app, &other, "/api/auth/login", upper).await)
        .expect("login sets a session");
    assert_ne!(third, second);
    assert_eq!(me_with_cookie(&app, &second).await, StatusCode::OK);
    assert_eq!(me_with_cookie(&app, &third).await, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn unknown_user_and_wrong_password_get_the_same_401() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    let anon = app.anonymous();
    let unknown = post_credentials(&anon, "/api/auth/login", "nobody", "password123").await;
    let wrong = post_credentials(&anon, "/api/auth/login", "alice", "password124").await;
    assert_error(&unknown, StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_error(&wrong, StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_eq!(
        unknown.1, wrong.1,
        "the bodies must not tell the cases apart"
    );
    let token = post_credentials(&anon, "/api/auth/tokens", "alice", "password124").await;
    assert_error(&token, StatusCode::UNAUTHORIZED, "invalid_credentials");
    app.stop().await;
}

#[tokio::test]
async fn logout_ends_the_session_on_the_server() {
    let app = TestApp::spawn().await;
    let http = cookie_http();
    let signup = post_raw(
        &app,
        &http,
        "/api/auth/signup",
        json!({"username": "alice", "password": "password123"}),
    )
    .await;
    let session = session_cookie(&signup).expect("session");
    let csrf = signup.json::<Value>().await.unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let client = Client {
        base: app.url.clone(),
        http,
        csrf: Some(csrf),
        bearer: None,
    };
    let (status, body) = logout(&client).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_signed_out(&client).await;
    // Even a client that kept the old cookie is out.
    assert_eq!(
        me_with_cookie(&app, &session).await,
        StatusCode::UNAUTHORIZED
    );
    app.stop().await;
}

#[tokio::test]
async fn bearer_tokens_need_no_csrf_and_logout_revokes_them() {
    let (app, _) = TestApp::with_users(["alice", "bob"]).await;
    let alice = app.token_client("alice").await;
    let me = alice.get_ok("/api/me").await;
    assert_eq!(me["user"]["username"], "alice");
    assert!(alice.csrf.is_none());
    alice.send_created("bob", "t1", "by token").await;

    let (status, body) = logout(&alice).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_signed_out(&alice).await;
    assert_error(
        &alice.send("bob", "t2", "after logout").await,
        StatusCode::UNAUTHORIZED,
        "not_authenticated",
    );
    // Another token of the same user is unaffected.
    let again = app.token_client("alice").await;
    assert_eq!(again.bodies("bob").await, ["by token"]);
    app.stop().await;
}

#[tokio::test]
async fn requests_without_valid_credentials_are_401() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    assert_signed_out(&app.anonymous()).await;
    assert_eq!(
        me_with_cookie(&app, "forged").await,
        StatusCode::UNAUTHORIZED
    );
    let mut forged = app.anonymous();
    forged.bearer = Some("not-a-token".into());
    assert_signed_out(&forged).await;
    assert_error(
        &app.anonymous().send("alice", "c1", "hi").await,
        StatusCode::UNAUTHORIZED,
        "not_authenticated",
    );
    app.stop().await;
}

#[tokio::test]
async fn cookie_requests_need_the_session_csrf_token() {
    let (app, [alice, bob]) = TestApp::with_users(["alice", "bob"]).await;
    let token = alice.csrf.clone().expect("csrf token");
    let bare = without_csrf(&alice);

    assert_error(
        &bare.send("bob", "c1", "no header").await,
        StatusCode::FORBIDDEN,
        "csrf_missing",
    );
    let mut wrong_same_length: Vec<u8> = token.clone().into_bytes();
    wrong_same_length[0] = if wrong_same_length[0] == b'A' {
        b'B'
    } else {
        b'A'
    };
    let wrong_same_length = String::from_utf8(wrong_same_length).unwrap();
    let wrong = [
        wrong_same_length,
        token[..token.len() / 2].to_owned(),
        format!("{token}x"),
        "abc".to_owned(),
        bob.csrf.clone().expect("bob's token"),
    ];
    for (i, bad) in wrong.iter().enumerate() {
        let response = with_csrf(&alice, bad)
            .send("bob", &format!("w{i}"), "wrong header")
            .await;
        assert_error(&response, StatusCode::FORBIDDEN, "csrf_mismatch");
    }
    let response = logout(&with_csrf(&alice, &token)).await;
    assert_eq!(response.0, StatusCode::NO_CONTENT, "sanity: logout works");
    app.stop().await;
}

#[tokio::test]
async fn refused_csrf_requests_change_nothing_and_safe_requests_need_no_token() {
    let (app, [alice, bob]) = TestApp::with_users(["alice", "bob"]).await;
    let bare = without_csrf(&alice);

    assert_error(
        &bare.send("bob", "c1", "refused").await,
        StatusCode::FORBIDDEN,
        "csrf_missing",
    );
    assert_error(
        &with_csrf(&alice, "abc").send("bob", "c2", "refused").await,
        StatusCode::FORBIDDEN,
        "csrf_mismatch",
    );
    // A logout without the token is refused and the session survives it.
    assert_error(&logout(&bare).await, StatusCode::FORBIDDEN, "csrf_missing");
    bare.get_ok("/api/me").await; // GET needs no CSRF token.
    assert_eq!(bare.bodies("bob").await, Vec::<String>::new());
    assert_eq!(bob.bodies("alice").await, Vec::<String>::new());

    // The refused client_id was not consumed: the right token stores it now.
    alice.send_created("bob", "c1", "accepted").await;
    assert_eq!(bob.bodies("alice").await, ["accepted"]);
    app.stop().await;
}
