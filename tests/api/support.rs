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

    /// A fresh server with `names` signed up, where the first created the group "Atlas" with
    /// all the others (in the order named); returns the clients and the group's id.
    pub async fn with_group<const N: usize>(names: [&str; N]) -> (TestApp, [Client; N], i64) {
        let (app, clients) = Self::with_users(names).await;
        let group = clients[0].create_group_ok("Atlas", &names[1..]).await;
        (app, clients, group)
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

    /// Stops the server cleanly and hands over its storage, to look at the files it left.
    pub async fn stop_keeping_storage(self) -> TestStore {
        self.server.stop().await.expect("server stops cleanly");
        self.store
    }

    /// The storage this server runs on (its data directory, and database if PostgreSQL).
    #[allow(dead_code)]
    pub fn storage(&self) -> &TestStore {
        &self.store
    }

    /// Starts a server on storage a stopped one left.
    #[allow(dead_code)]
    pub async fn start_on(store: TestStore) -> TestApp {
        let mut config = Config::for_tests(store.dir.path());
        store.configure(&mut config);
        let server = Server::start(config).await.expect("server starts");
        TestApp {
            url: server.url(),
            server,
            store,
        }
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

/// Asserts `(status, body)` is 204 No Content with an empty body.
#[track_caller]
pub fn assert_no_content(response: &(StatusCode, Value)) {
    assert_eq!(response.0, StatusCode::NO_CONTENT, "{}", response.1);
    assert_eq!(response.1, Value::Null);
}

/// Asserts each field of the JSON object `expected` has that value in `actual` (fields of
/// `actual` that `expected` does not name are not checked).
#[track_caller]
pub fn assert_fields(actual: &Value, expected: Value) {
    let expected = expected.as_object().expect("expected fields are an object");
    for (field, value) in expected {
        assert_eq!(&actual[field], value, "{field} of {actual}");
    }
}

/// Asserts `client` can mark `ids` neither delivered nor read: 404 `message_not_found`.
pub async fn assert_cannot_mark(client: &Client, ids: &[i64]) {
    for status in ["delivered", "read"] {
        let response = client.mark(ids, status).await;
        assert_error(&response, StatusCode::NOT_FOUND, "message_not_found");
    }
}

/// Requests of the other unsafe methods, and the group routes (PROTOCOL.md, Groups), by id.
impl Client {
    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.request(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.request(Method::DELETE, path, None).await
    }

    /// `POST /api/groups` with `client_id`, `title` and `members` (no description or settings).
    pub async fn create_group(
        &self,
        client_id: &str,
        title: &str,
        members: &[&str],
    ) -> (StatusCode, Value) {
        let body = json!({"client_id": client_id, "title": title, "members": members});
        self.post("/api/groups", body).await
    }

    /// Creates a group titled `title` with `members` (its `client_id` derived from the title)
    /// and asserts 201; returns its id.
    pub async fn create_group_ok(&self, title: &str, members: &[&str]) -> i64 {
        let client_id: String = title
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let (status, group) = self.create_group(&client_id, title, members).await;
        assert_eq!(status, StatusCode::CREATED, "create {title}: {group}");
        group["id"].as_i64().expect("group id")
    }

    /// Sends `body` in group `group` with `client_id`; returns status and the message (or error).
    pub async fn group_send(&self, group: i64, client_id: &str, body: &str) -> (StatusCode, Value) {
        self.post(
            &format!("/api/groups/{group}/messages"),
            json!({"client_id": client_id, "body": body}),
        )
        .await
    }

    /// Sends a new message with the body `text` in group `group`, asserts 201; returns its id.
    pub async fn group_send_ok(&self, group: i64, client_id: &str) -> i64 {
        let (status, message) = self.group_send(group, client_id, "text").await;
        assert_eq!(status, StatusCode::CREATED, "{message}");
        id(&message)
    }

    /// `POST /api/groups/{group}/members {usernames}`.
    pub async fn group_add(&self, group: i64, usernames: &[&str]) -> (StatusCode, Value) {
        let path = format!("/api/groups/{group}/members");
        self.post(&path, json!({"usernames": usernames})).await
    }

    /// `DELETE /api/groups/{group}/members/{username}`.
    pub async fn group_remove(&self, group: i64, username: &str) -> (StatusCode, Value) {
        let path = format!("/api/groups/{group}/members/{username}");
        self.delete(&path).await
    }

    /// `PATCH /api/groups/{group}/members/{username} {role}`.
    pub async fn group_set_role(
        &self,
        group: i64,
        username: &str,
        role: &str,
    ) -> (StatusCode, Value) {
        let path = format!("/api/groups/{group}/members/{username}");
        self.patch(&path, json!({"role": role})).await
    }

    /// `POST /api/groups/{group}/leave`.
    pub async fn group_leave(&self, group: i64) -> (StatusCode, Value) {
        let path = format!("/api/groups/{group}/leave");
        self.post(&path, json!({})).await
    }

    /// `PATCH /api/groups/{group}` with `changes` (title, description, settings).
    pub async fn group_update(&self, group: i64, changes: Value) -> (StatusCode, Value) {
        self.patch(&format!("/api/groups/{group}"), changes).await
    }

    /// `POST /api/groups/{group}/read {up_to_id}`.
    pub async fn group_read(&self, group: i64, up_to_id: i64) -> (StatusCode, Value) {
        let path = format!("/api/groups/{group}/read");
        self.post(&path, json!({"up_to_id": up_to_id})).await
    }

    /// The messages of group `group` the caller can see (up to 200), oldest first.
    pub async fn group_messages(&self, group: i64) -> Vec<Value> {
        let page = self
            .get_ok(&format!("/api/groups/{group}/messages?limit=200"))
            .await;
        page["messages"].as_array().expect("messages").clone()
    }

    /// The current members of group `group` as `(username, role)`, in the order listed.
    pub async fn group_members(&self, group: i64) -> Vec<(String, String)> {
        let list = self.get_ok(&format!("/api/groups/{group}/members")).await;
        let row = |m: &Value| {
            let name = m["user"]["username"].as_str().expect("username");
            (
                name.to_owned(),
                m["role"].as_str().expect("role").to_owned(),
            )
        };
        list["members"]
            .as_array()
            .expect("members")
            .iter()
            .map(row)
            .collect()
    }

    /// The caller's item for group `group` in their conversation list.
    pub async fn group_item(&self, group: i64) -> Value {
        let list = self.conversations().await;
        let item = list
            .iter()
            .find(|c| c["kind"] == "group" && c["id"] == group);
        item.unwrap_or_else(|| panic!("group {group} not listed: {list:?}"))
            .clone()
    }

    /// The newest cursor of the caller's stream (0 when it has no event).
    pub async fn last_cursor(&self) -> i64 {
        let events = self.all_events(0).await;
        events
            .last()
            .map_or(0, |e| e["cursor"].as_i64().expect("cursor"))
    }
}
