//! The test harness: a real server on port 0 with a fresh SQLite file per test, and typed
//! clients for the people using it.

use linkup::config::Config;
use linkup::server::Server;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;

/// A running server and the directory holding its database (removed on drop).
pub struct TestApp {
    pub server: Server,
    pub url: String,
    /// Holds the database; removed when the app is dropped.
    _dir: TempDir,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Spawns with a configuration adjusted by `tweak` (rate limits, sizes, …).
    pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::for_tests(dir.path());
        tweak(&mut config);
        let server = Server::start(config).await.expect("server starts");
        let url = server.url();
        TestApp {
            server,
            url,
            _dir: dir,
        }
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
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .expect("http client");
        Client {
            base: base.to_owned(),
            http,
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

    /// Every event after `since`, following `has_more` pages.
    pub async fn all_events(&self, since: i64) -> Vec<Value> {
        let mut since = since;
        let mut events = Vec::new();
        loop {
            let (status, page) = self
                .get(&format!("/api/sync?since={since}&limit=1000"))
                .await;
            assert_eq!(status, StatusCode::OK, "{page}");
            events.extend(page["events"].as_array().expect("events").iter().cloned());
            since = page["next"].as_i64().expect("next");
            if !page["has_more"].as_bool().expect("has_more") {
                return events;
            }
        }
    }
}

/// Asserts `(status, body)` is the JSON error `code` with `expected` status.
#[track_caller]
pub fn assert_error(response: &(StatusCode, Value), expected: StatusCode, code: &str) {
    assert_eq!(response.0, expected, "body: {}", response.1);
    assert_eq!(response.1["error"]["code"], code, "body: {}", response.1);
    assert!(
        response.1["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "body: {}",
        response.1
    );
}
