//! The test harness: a real server on port 0 with fresh storage per test (SQLite or
//! PostgreSQL, as the test binary's `BACKEND` says), and typed clients for the people using it.

use std::time::{Duration, Instant};

use linkup::config::Config;
use linkup::server::Server;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::backend::TestStore;

/// A running server and its storage (removed on drop).
pub struct TestApp {
    pub server: Server,
    pub url: String,
    /// Holds the database; removed when the app is dropped.
    store: TestStore,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Spawns with a configuration adjusted by `tweak` (rate limits, sizes, …).
    pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
        let store = TestStore::new(crate::BACKEND).await;
        let mut config = Config::for_tests(store.dir.path());
        store.configure(&mut config);
        tweak(&mut config);
        let server = Server::start(config).await.expect("server starts");
        let url = server.url();
        TestApp { server, url, store }
    }

    /// Stops the server (cleanly) and starts a new one on the same storage, on a new port.
    /// Returns the stopped server's address alongside, for tests that check it is gone.
    pub async fn restart(self) -> (String, TestApp) {
        let TestApp { server, url, store } = self;
        server.stop().await.expect("server stops cleanly");
        let mut config = Config::for_tests(store.dir.path());
        store.configure(&mut config);
        let server = Server::start(config).await.expect("server restarts");
        let app = TestApp {
            url: server.url(),
            server,
            store,
        };
        (url, app)
    }

    /// A fresh server with `names` signed up, in order (see [`TestApp::signups`]).
    pub async fn with_users<const N: usize>(names: [&str; N]) -> (TestApp, [Client; N]) {
        let app = Self::spawn().await;
        let clients = app.signups(names).await;
        (app, clients)
    }

    /// A client with no session.
    pub fn anonymous(&self) -> Client {
        Client::new(&self.url)
    }

    /// Signs `username` up through the API (password `password123`) and returns its cookie client.
    pub async fn signup(&self, username: &str) -> Client {
        let mut client = self.anonymous();
        let (status, body) = client
            .post(
                "/api/auth/signup",
                json!({"username": username, "password": "password123", "display_name": username}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "signup {username}: {body}");
        client.csrf = body["csrf_token"].as_str().map(str::to_owned);
        client
    }

    /// Signs each of `names` up, in order, and returns their cookie clients.
    pub async fn signups<const N: usize>(&self, names: [&str; N]) -> [Client; N] {
        let mut clients = Vec::with_capacity(N);
        for name in names {
            clients.push(self.signup(name).await);
        }
        one_per_name(clients)
    }

    /// A fresh server with `names` signed up, in order, and a bearer-token client for each
    /// (see [`TestApp::token_users`]).
    pub async fn with_token_users<const N: usize>(names: [&str; N]) -> (TestApp, [Client; N]) {
        let app = Self::spawn().await;
        let clients = app.token_users(names).await;
        (app, clients)
    }

    /// Signs each of `names` up, in order, and returns a bearer-token client for each.
    pub async fn token_users<const N: usize>(&self, names: [&str; N]) -> [Client; N] {
        self.signups(names).await;
        let mut clients = Vec::with_capacity(N);
        for name in names {
            clients.push(self.token_client(name).await);
        }
        one_per_name(clients)
    }

    /// A bearer-token client for an existing user.
    pub async fn token_client(&self, username: &str) -> Client {
        let (status, body) = self
            .anonymous()
            .post(
                "/api/auth/tokens",
                json!({"username": username, "password": "password123"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "token for {username}: {body}");
        let mut client = self.anonymous();
        client.bearer = body["token"].as_str().map(str::to_owned);
        client
    }

    pub async fn stop(self) {
        self.server.stop().await.expect("server stops cleanly");
    }
}

/// The clients made for `N` names, as an array.
fn one_per_name<const N: usize>(clients: Vec<Client>) -> [Client; N] {
    let Ok(clients) = clients.try_into() else {
        unreachable!("one client per name")
    };
    clients
}

/// Polls `done` until it holds, asserting (with `what` was awaited) that it takes less than
/// `within`; returns how long it took.
pub async fn eventually(within: Duration, what: &str, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

/// An HTTP client with a cookie jar, as a browser has.
pub fn cookie_http() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("http client")
}

/// One person's HTTP client: a cookie jar, the session's CSRF token and/or a bearer token.
pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
    /// Sent as `X-CSRF-Token` on unsafe requests when set.
    pub csrf: Option<String>,
    pub bearer: Option<String>,
}

impl Client {
    pub fn new(base: &str) -> Client {
        Client {
            base: base.to_owned(),
            http: cookie_http(),
            csrf: None,
            bearer: None,
        }
    }

    /// Sends a request with an optional JSON body; returns the status and the JSON body (Null
    /// when the body is empty, a string when it is not JSON).
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{}", self.base, path));
        if let Some(token) = &self.bearer {
            request = request.bearer_auth(token);
        }
        if method != Method::GET
            && let Some(csrf) = &self.csrf
        {
            request = request.header("X-CSRF-Token", csrf);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let text = response.text().await.expect("response body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.request(Method::GET, path, None).await
    }

    /// GETs `path` and asserts 200; returns the body.
    pub async fn get_ok(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.0, StatusCode::OK, "GET {path}: {}", response.1);
        response.1
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.request(Method::POST, path, Some(body)).await
    }

    /// Sends `body` to `to` with `client_id`; returns status and the message (or error).
    pub async fn send(&self, to: &str, client_id: &str, body: &str) -> (StatusCode, Value) {
        self.post(
            &format!("/api/conversations/{to}/messages"),
            json!({"client_id": client_id, "body": body}),
        )
        .await
    }

    /// Sends a new message and asserts it was stored (201); returns the message.
    pub async fn send_created(&self, to: &str, client_id: &str, body: &str) -> Value {
        let (status, message) = self.send(to, client_id, body).await;
        assert_eq!(status, StatusCode::CREATED, "{message}");
        message
    }

    /// Sends a new message with the body `text` and asserts it was stored; returns its id.
    pub async fn send_ok(&self, to: &str, client_id: &str) -> i64 {
        let message = self.send_created(to, client_id, "text").await;
        message["id"].as_i64().expect("id")
    }

    /// Marks `ids` with `status` (`POST /api/messages/status`).
    pub async fn mark(&self, ids: &[i64], status: &str) -> (StatusCode, Value) {
        self.post(
            "/api/messages/status",
            json!({"message_ids": ids, "status": status}),
        )
        .await
    }

    /// Marks every message from `with` up to `up_to_id` read (`POST …/{with}/read`).
    pub async fn read_up_to(&self, with: &str, up_to_id: i64) -> (StatusCode, Value) {
        self.post(
            &format!("/api/conversations/{with}/read"),
            json!({"up_to_id": up_to_id}),
        )
        .await
    }

    /// One page of the conversation with `with` (`query` as in `limit=50&before_id=7`); asserts
    /// 200 and returns the page.
    pub async fn history_page(&self, with: &str, query: &str) -> Value {
        self.get_ok(&format!("/api/conversations/{with}/messages?{query}"))
            .await
    }

    /// The messages of the conversation with `with` (up to 200), oldest first.
    pub async fn messages(&self, with: &str) -> Vec<Value> {
        let page = self.history_page(with, "limit=200").await;
        page["messages"].as_array().expect("messages").clone()
    }

    /// The body of each message of the conversation with `with`.
    pub async fn bodies(&self, with: &str) -> Vec<String> {
        let messages = self.messages(with).await;
        let body = |m: &Value| m["body"].as_str().expect("body").to_owned();
        messages.iter().map(body).collect()
    }

    /// The id and status of each message of the conversation with `with`.
    pub async fn statuses(&self, with: &str) -> Vec<(i64, String)> {
        let messages = self.messages(with).await;
        let status = |m: &Value| {
            let id = m["id"].as_i64().expect("id");
            (id, m["status"].as_str().expect("status").to_owned())
        };
        messages.iter().map(status).collect()
    }

    /// The conversation list (`GET /api/conversations`), newest activity first.
    pub async fn conversations(&self) -> Vec<Value> {
        let list = self.get_ok("/api/conversations").await;
        list["conversations"]
            .as_array()
            .expect("conversations")
            .clone()
    }

    /// Every event after `since`, following `has_more` pages.
    pub async fn all_events(&self, since: i64) -> Vec<Value> {
        let mut since = since;
        let mut events = Vec::new();
        loop {
            let page = self
                .get_ok(&format!("/api/sync?since={since}&limit=1000"))
                .await;
            events.extend(page["events"].as_array().expect("events").iter().cloned());
            since = page["next"].as_i64().expect("next");
            if !page["has_more"].as_bool().expect("has_more") {
                return events;
            }
        }
    }
}

/// The id of a stored message.
pub fn id(message: &Value) -> i64 {
    message["id"].as_i64().expect("id")
}

/// The ids of `messages`, in order.
pub fn ids(messages: &[Value]) -> Vec<i64> {
    messages.iter().map(id).collect()
}

/// Asserts `(status, body)` is 200 OK.
#[track_caller]
pub fn assert_ok(response: &(StatusCode, Value)) {
    assert_eq!(response.0, StatusCode::OK, "{}", response.1);
}

/// Asserts `(status, body)` is a JSON error with `expected` status, a code and a message.
#[track_caller]
pub fn assert_error_status(response: &(StatusCode, Value), expected: StatusCode) {
    let (status, body) = response;
    assert_eq!(*status, expected, "body: {body}");
    let error = &body["error"];
    let filled = |field: &str| error[field].as_str().is_some_and(|s| !s.is_empty());
    assert!(filled("code"), "body: {body}");
    assert!(filled("message"), "body: {body}");
}

/// Asserts `(status, body)` is the JSON error `code` with `expected` status.
#[track_caller]
pub fn assert_error(response: &(StatusCode, Value), expected: StatusCode, code: &str) {
    assert_error_status(response, expected);
    assert_eq!(response.1["error"]["code"], code, "body: {}", response.1);
}

/// Asserts `client` can mark `ids` neither delivered nor read: 404 `message_not_found`.
pub async fn assert_cannot_mark(client: &Client, ids: &[i64]) {
    for status in ["delivered", "read"] {
        let response = client.mark(ids, status).await;
        assert_error(&response, StatusCode::NOT_FOUND, "message_not_found");
    }
}
