//! The server side of the browser tests: a real server in this process on port 0 with a fresh
//! data directory, which can be stopped and started again on the same port (as a restart is
//! seen by open pages); an API client to set the scene; and the steps people take on the pages.

use std::net::SocketAddr;

use linkup::config::Config;
use linkup::server::Server;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::page::Page;

pub const PASSWORD: &str = "correct-horse-1";

/// A server and its data directory.
pub struct TestServer {
    server: Option<Server>,
    pub addr: SocketAddr,
    pub url: String,
    dir: TempDir,
    /// Changes to the tests' configuration, made at every start.
    tweak: fn(&mut Config),
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// Starts a server whose configuration `tweak` changes (a shorter edit window, say).
    pub async fn start_with(tweak: fn(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut server = TestServer {
            addr: "127.0.0.1:0".parse().unwrap(),
            url: String::new(),
            server: None,
            dir,
            tweak,
        };
        let started = Server::start(server.config(server.addr))
            .await
            .expect("server starts");
        server.addr = started.addr();
        server.url = started.url();
        server.server = Some(started);
        server
    }

    fn config(&self, addr: SocketAddr) -> Config {
        let mut config = Config::for_tests(self.dir.path());
        config.bind = addr;
        (self.tweak)(&mut config);
        config
    }

    /// Stops the server: open sockets are closed, the port is free.
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await.expect("server stops cleanly");
        }
    }

    /// Starts it again on the same data directory and the same port.
    pub async fn start_again(&mut self) {
        assert!(self.server.is_none(), "stop the server first");
        let server = Server::start(self.config(self.addr))
            .await
            .expect("server restarts on the same port");
        self.server = Some(server);
    }

    /// Runs `during` against a second server on the same data, on another port, while the
    /// pages' server is down: what it stores is what the pages must catch up on.
    pub async fn while_down<F, Fut>(&mut self, during: F)
    where
        F: FnOnce(String) -> Fut,
        Fut: Future<Output = ()>,
    {
        assert!(self.server.is_none(), "stop the server first");
        let other = Server::start(self.config("127.0.0.1:0".parse().unwrap()))
            .await
            .expect("a second server starts");
        during(other.url()).await;
        other.stop().await.expect("the second server stops");
    }

    pub fn page_url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// The running server's application (to look at what only operators see).
    pub fn app(&self) -> &linkup::app::AppState {
        self.server.as_ref().expect("the server is running").state()
    }
}

/// Someone using the API directly (to set the scene, or as "another device").
pub struct ApiUser {
    http: reqwest::Client,
    base: String,
    csrf: String,
}

impl ApiUser {
    /// Signs `username` up through the API.
    pub async fn signup(base: &str, username: &str, display_name: &str) -> ApiUser {
        let signup =
            json!({"username": username, "password": PASSWORD, "display_name": display_name});
        Self::authenticate(base, "signup", signup).await
    }

    /// Logs in again (e.g. against a restarted server at `base`).
    pub async fn login(base: &str, username: &str) -> ApiUser {
        let login = json!({"username": username, "password": PASSWORD});
        Self::authenticate(base, "login", login).await
    }

    /// Posts `credentials` to `/api/auth/{action}` from a fresh cookie jar, which keeps the
    /// session; the answer's CSRF token goes with it.
    async fn authenticate(base: &str, action: &str, credentials: Value) -> ApiUser {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .expect("http client");
        let answer: Value = http
            .post(format!("{base}/api/auth/{action}"))
            .json(&credentials)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{action} not sent: {e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("{action} answer: {e}"));
        let csrf = answer["csrf_token"]
            .as_str()
            .unwrap_or_else(|| panic!("{action} {}: {answer}", credentials["username"]))
            .to_owned();
        ApiUser {
            http,
            base: base.to_owned(),
            csrf,
        }
    }

    /// Posts `body` to `path` with the CSRF token and asserts it succeeded.
    async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("X-CSRF-Token", &self.csrf)
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path} not sent: {e}"));
        let status = response.status();
        assert!(status.is_success(), "POST {path}: {status}");
        response
    }

    /// Sends `body` to `to`; returns the stored message.
    pub async fn send(&self, to: &str, client_id: &str, body: &str) -> Value {
        let message = json!({"client_id": client_id, "body": body});
        let path = format!("/api/conversations/{to}/messages");
        let response = self.post(&path, message).await;
        response.json().await.expect("message")
    }

    /// Sends `body` to `to` as a reply to message `reply_to`; returns the stored message.
    pub async fn send_reply(&self, to: &str, client_id: &str, body: &str, reply_to: i64) -> Value {
        let message = json!({"client_id": client_id, "body": body, "reply_to": reply_to});
        let path = format!("/api/conversations/{to}/messages");
        let response = self.post(&path, message).await;
        response.json().await.expect("message")
    }

    /// Sends `body` with `method` to `path` with the CSRF token, asserts it succeeded and
    /// returns the answer's JSON.
    async fn request(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let response = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .header("X-CSRF-Token", &self.csrf)
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path} not sent: {e}"));
        let status = response.status();
        assert!(status.is_success(), "{method} {path}: {status}");
        response.json().await.expect("json answer")
    }

    /// Sets this user's reaction on message `id` to `emoji`; returns the message.
    pub async fn react(&self, id: i64, emoji: &str) -> Value {
        let path = format!("/api/messages/{id}/reaction");
        self.request(reqwest::Method::PUT, &path, json!({"emoji": emoji}))
            .await
    }

    /// Edits this user's message `id` to `body`; returns the message.
    pub async fn edit(&self, id: i64, body: &str) -> Value {
        let path = format!("/api/messages/{id}");
        self.request(reqwest::Method::PATCH, &path, json!({"body": body}))
            .await
    }

    /// Creates a group with `members`; returns the group object.
    pub async fn create_group(&self, client_id: &str, title: &str, members: &[&str]) -> Value {
        let body = json!({"client_id": client_id, "title": title, "members": members});
        let response = self.post("/api/groups", body).await;
        response.json().await.expect("group")
    }

    /// Sends `body` in group `id`; returns the stored message.
    pub async fn send_group(&self, id: i64, client_id: &str, body: &str) -> Value {
        let message = json!({"client_id": client_id, "body": body});
        let response = self
            .post(&format!("/api/groups/{id}/messages"), message)
            .await;
        response.json().await.expect("message")
    }

    /// Adds `usernames` to group `id`.
    pub async fn add_members(&self, id: i64, usernames: &[&str]) {
        let path = format!("/api/groups/{id}/members");
        self.post(&path, json!({"usernames": usernames})).await;
    }

    /// Leaves group `id`.
    pub async fn leave_group(&self, id: i64) {
        self.post(&format!("/api/groups/{id}/leave"), json!({}))
            .await;
    }

    /// Marks every message of group `id` up to `up_to_id` read.
    pub async fn read_group_up_to(&self, id: i64, up_to_id: i64) {
        let path = format!("/api/groups/{id}/read");
        self.post(&path, json!({"up_to_id": up_to_id})).await;
    }

    /// Marks every message from `with` up to `up_to_id` read.
    pub async fn read_up_to(&self, with: &str, up_to_id: i64) {
        let path = format!("/api/conversations/{with}/read");
        self.post(&path, json!({"up_to_id": up_to_id})).await;
    }

    pub async fn get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("get sent")
            .json()
            .await
            .expect("json")
    }
}

/// Signs up on the sign-up page, as a person would, and lands on the conversation list.
pub async fn sign_up_on_page(page: &Page, server: &TestServer, username: &str, name: &str) {
    page.goto(&server.page_url("/signup")).await;
    page.type_into("#display_name", name).await;
    page.type_into("#username", username).await;
    page.type_into("#password", PASSWORD).await;
    page.click("button[type=submit]").await;
    wait_loaded(page, "/messages/").await;
    wait_live(page).await;
}

/// Logs in on the login page.
pub async fn log_in_on_page(page: &Page, server: &TestServer, username: &str, next: &str) {
    page.goto(&server.page_url(&format!("/login?next={next}")))
        .await;
    page.type_into("#username", username).await;
    page.type_into("#password", PASSWORD).await;
    page.press_enter(false).await;
    wait_loaded(page, next).await;
    wait_live(page).await;
}

/// Waits until the page at `path` has loaded.
pub async fn wait_loaded(page: &Page, path: &str) {
    page.wait_for(&format!(
        "location.pathname === {path:?} && document.readyState === 'complete'"
    ))
    .await;
}

/// Waits until the page's live connection is open.
pub async fn wait_live(page: &Page) {
    page.wait_for("document.documentElement.dataset.connection === 'open'")
        .await;
}

/// Types `text` into the message box and presses Enter.
pub async fn send_on_page(page: &Page, text: &str) {
    page.type_into("#message-input", text).await;
    page.press_enter(false).await;
}

/// A JavaScript expression: the texts of the messages shown, in order.
pub const TEXTS: &str =
    "[...document.querySelectorAll('#message-list .msg .body')].map(b => b.textContent)";

/// A JavaScript expression: whether a message with exactly `text` is shown (and how often).
pub fn count_text(text: &str) -> String {
    format!("{TEXTS}.filter(t => t === {text:?}).length")
}

/// Waits until a message with exactly `text` is shown `times` times.
pub async fn wait_text_shown(page: &Page, text: &str, times: usize) {
    page.wait_for(&format!("{} === {times}", count_text(text)))
        .await;
}

/// Waits until exactly `count` conversations are listed.
pub async fn wait_conversations_shown(page: &Page, count: usize) {
    page.wait_for(&format!(
        "document.querySelectorAll('#conversations li').length === {count}"
    ))
    .await;
}

/// Waits until exactly `count` stored messages (with an id) are shown.
pub async fn wait_stored_shown(page: &Page, count: usize) {
    page.wait_for(&format!(
        "document.querySelectorAll('#message-list [data-message-id]').length === {count}"
    ))
    .await;
}

/// Waits until exactly `count` stored messages are shown, none is pending any more, and their
/// ids are unique and ascending.
pub async fn wait_settled(page: &Page, count: usize) {
    wait_stored_shown(page, count).await;
    page.wait_for(
        "document.querySelectorAll('#message-list .msg:not([data-message-id])').length === 0",
    )
    .await;
    page.wait_for(IDS_UNIQUE_AND_ORDERED).await;
}

/// Waits until the chat's peer status line reads `status` (`online`, `typing…`, or empty).
pub async fn wait_peer_status(page: &Page, status: &str) {
    page.wait_for(&format!(
        "document.getElementById('peer-status').textContent === {status:?}"
    ))
    .await;
}

/// A JavaScript expression: every data-message-id shown is unique and ascending.
pub const IDS_UNIQUE_AND_ORDERED: &str = "(() => { const ids = [...document.querySelectorAll('[data-message-id]')]\
    .map(e => Number(e.dataset.messageId)); return ids.every((id, i) => i === 0 || id > ids[i - 1]); })()";

/// The data-message-id of every message shown, in order.
pub async fn shown_ids(page: &Page) -> Vec<i64> {
    let ids = page
        .eval("[...document.querySelectorAll('[data-message-id]')].map(e => Number(e.dataset.messageId))")
        .await;
    serde_json::from_value(ids).expect("ids")
}
