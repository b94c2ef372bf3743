//! The login limits at their default values (PROTOCOL.md, Authentication: Limits), from
//! several client addresses: loopback addresses 127.0.0.2, 127.0.0.3, … (the client socket is
//! bound to them) or, behind a trusted proxy, the `X-Forwarded-For` hop the proxy added.
//! Login and token requests have a bucket per (username, address), 30 a minute; all three
//! attempt kinds share one per address, 60 a minute; a stranger's wrong guesses never lock the
//! owner out of their own address.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use clap::Parser;
use futures_util::future::join_all;
use linkup::config::Config;
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::support::{Client, TestApp, cookie_http};

/// `linkup serve`'s flags with nothing given: the defaults a deployment runs with.
#[derive(Parser)]
struct Serve {
    #[command(flatten)]
    config: Config,
}

/// A server whose authentication limits are `linkup serve`'s defaults (test servers otherwise
/// lift the limit per address).
pub async fn spawn_with_default_limits(tweak: impl FnOnce(&mut Config)) -> TestApp {
    let defaults = Serve::parse_from(["linkup"]).config;
    assert_eq!(
        (defaults.login_rate, defaults.auth_rate_per_address),
        (30, 60),
        "the contract's defaults"
    );
    assert!(defaults.trusted_proxies.is_empty());
    TestApp::spawn_with(|c| {
        c.login_rate = defaults.login_rate;
        c.auth_rate_per_address = defaults.auth_rate_per_address;
        c.trusted_proxies = defaults.trusted_proxies;
        tweak(c);
    })
    .await
}

/// A client whose connections come from loopback address `ip` (e.g. `127.0.0.2`).
pub fn client_from(app: &TestApp, ip: &str) -> Client {
    let ip: IpAddr = ip.parse().expect("an address");
    let mut client = Client::new(&app.url);
    client.http = reqwest::Client::builder()
        .cookie_store(true)
        .local_address(ip)
        .build()
        .expect("http client");
    client
}

async fn login(client: &Client, username: &str, password: &str) -> (StatusCode, Value) {
    let body = json!({"username": username, "password": password});
    client.post("/api/auth/login", body).await
}

/// What a burst of attempts got: each answer's status, and how long the burst took.
pub struct Burst {
    statuses: Vec<StatusCode>,
    took: Duration,
}

impl Burst {
    /// Sends the requests at once (their limits are checked as they arrive, before any
    /// password is hashed); every refusal must be a 429 `rate_limited` with a `Retry-After` of
    /// at least a second.
    pub async fn send(requests: Vec<reqwest::RequestBuilder>) -> Burst {
        let started = Instant::now();
        let answers = join_all(requests.into_iter().map(|r| async {
            let response = r.send().await.expect("request sent");
            let status = response.status();
            if status == StatusCode::TOO_MANY_REQUESTS {
                let retry_after: u64 = response
                    .headers()
                    .get(header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .expect("a Retry-After in seconds");
                assert!(retry_after >= 1, "Retry-After: {retry_after}");
                let body: Value = response.json().await.expect("JSON error");
                assert_eq!(body["error"]["code"], "rate_limited", "{body}");
            }
            status
        }))
        .await;
        Burst {
            statuses: answers,
            took: started.elapsed(),
        }
    }

    /// Asserts that some attempts were refused and that no more were answered than a bucket
    /// of `size` tokens, refilled over a minute, can give in the time the burst took; every
    /// other answer is `admitted`.
    pub fn assert_limited_to(&self, size: u32, admitted: StatusCode) {
        let refused = self
            .statuses
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count();
        let answered = self.statuses.len() - refused;
        assert!(
            self.statuses
                .iter()
                .all(|s| *s == admitted || *s == StatusCode::TOO_MANY_REQUESTS),
            "{:?}",
            self.statuses
        );
        let refilled = (self.took.as_secs_f64() * f64::from(size) / 60.0).ceil() as usize;
        assert!(refused >= 1, "none refused of {}", self.statuses.len());
        assert!(
            answered <= size as usize + refilled,
            "{answered} answered in {:?} by a bucket of {size}",
            self.took
        );
    }
}

fn json_post(client: &Client, path: &str, body: Value) -> reqwest::RequestBuilder {
    client
        .http
        .post(format!("{}{path}", client.base))
        .json(&body)
}

fn guess(client: &Client, path: &str) -> reqwest::RequestBuilder {
    json_post(
        client,
        path,
        json!({"username": "alice", "password": "wrong-guess"}),
    )
}

#[tokio::test]
async fn a_strangers_wrong_guesses_never_lock_the_owner_out() {
    let app = spawn_with_default_limits(|_| {}).await;
    app.signup("alice").await;
    let stranger = client_from(&app, "127.0.0.2");
    let guesses = (0..36)
        .map(|_| guess(&stranger, "/api/auth/login"))
        .collect();
    let burst = Burst::send(guesses).await;
    burst.assert_limited_to(30, StatusCode::UNAUTHORIZED);
    // The owner, from their own address, logs in and gets tokens at once.
    let owner = client_from(&app, "127.0.0.1");
    let (status, body) = login(&owner, "alice", "password123").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let tokens = json!({"username": "alice", "password": "password123"});
    let (status, body) = owner.post("/api/auth/tokens", tokens.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Token requests have a bucket of their own per (username, address).
    let (status, body) = stranger.post("/api/auth/tokens", tokens).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.stop().await;
}

#[tokio::test]
async fn token_requests_are_limited_per_username_and_address() {
    let app = spawn_with_default_limits(|_| {}).await;
    app.signup("alice").await;
    let stranger = client_from(&app, "127.0.0.4");
    let guesses = (0..36)
        .map(|_| guess(&stranger, "/api/auth/tokens"))
        .collect();
    Burst::send(guesses)
        .await
        .assert_limited_to(30, StatusCode::UNAUTHORIZED);
    let owner = client_from(&app, "127.0.0.5");
    let right = json!({"username": "alice", "password": "password123"});
    let (status, body) = owner.post("/api/auth/tokens", right).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.stop().await;
}

#[tokio::test]
async fn sign_ups_are_limited_per_address() {
    let app = spawn_with_default_limits(|_| {}).await;
    app.signup("alice").await;
    let busy = client_from(&app, "127.0.0.3");
    // A taken name costs no hashing, and counts all the same.
    let taken = json!({"username": "alice", "password": "password123"});
    let signups = (0..66)
        .map(|_| json_post(&busy, "/api/auth/signup", taken.clone()))
        .collect();
    Burst::send(signups)
        .await
        .assert_limited_to(60, StatusCode::CONFLICT);
    // Another address is not affected.
    let other = client_from(&app, "127.0.0.6");
    let signup = json!({"username": "carol", "password": "password123"});
    let (status, body) = other.post("/api/auth/signup", signup).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.stop().await;
}

#[tokio::test]
async fn logins_sign_ups_and_tokens_share_one_bucket_per_address() {
    let app = spawn_with_default_limits(|_| {}).await;
    app.signup("alice").await;
    let busy = client_from(&app, "127.0.0.3");
    let mut requests = Vec::new();
    for i in 0..22 {
        // Different names each time: only the address's bucket is shared.
        let name = format!("nobody{i}");
        let signup = json!({"username": "alice", "password": "password123"});
        requests.push(json_post(&busy, "/api/auth/signup", signup));
        let attempt = json!({"username": name, "password": "password123"});
        requests.push(json_post(&busy, "/api/auth/login", attempt.clone()));
        requests.push(json_post(&busy, "/api/auth/tokens", attempt));
    }
    let burst = Burst::send(requests).await;
    let refused = burst
        .statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    let refilled = burst.took.as_secs() as usize + 1;
    assert!(
        (66 - 60 - refilled..=6).contains(&refused),
        "{refused} of 66 refused in {:?}",
        burst.took
    );
    let other = client_from(&app, "127.0.0.6");
    let (status, body) = login(&other, "alice", "password123").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.stop().await;
}

/// A login for alice from `client`, claiming to be forwarded for `chain`.
fn forwarded(client: &Client, chain: &str, password: &str) -> reqwest::RequestBuilder {
    json_post(
        client,
        "/api/auth/login",
        json!({"username": "alice", "password": password}),
    )
    .header("x-forwarded-for", chain)
}

async fn status_of(request: reqwest::RequestBuilder) -> StatusCode {
    request.send().await.expect("request sent").status()
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_client_is_the_hop_the_proxy_added() {
    let app = spawn_with_default_limits(|c| {
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    app.signup("alice").await;
    let proxy = client_from(&app, "127.0.0.1");
    // A client cannot escape by prepending addresses: the proxy's hop is the rightmost.
    let guesses = (0..36)
        .map(|i| {
            forwarded(
                &proxy,
                &format!("198.51.100.{i}, 203.0.113.5"),
                "wrong-guess",
            )
        })
        .collect();
    Burst::send(guesses)
        .await
        .assert_limited_to(30, StatusCode::UNAUTHORIZED);
    // The owner, behind the same proxy, logs in.
    let status = status_of(forwarded(&proxy, "203.0.113.6", "password123")).await;
    assert_eq!(status, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn bytes_a_client_put_before_the_proxys_hop_do_not_hide_it() {
    let app = spawn_with_default_limits(|c| {
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    app.signup("alice").await;
    let proxy = client_from(&app, "127.0.0.1");
    let guesses = (0..36)
        .map(|_| forwarded(&proxy, "203.0.113.5", "wrong-guess"))
        .collect();
    Burst::send(guesses)
        .await
        .assert_limited_to(30, StatusCode::UNAUTHORIZED);
    // A proxy appends its hop to the header the client sent, on the same line (nginx's
    // `$proxy_add_x_forwarded_for`); bytes there that are not ASCII must not hide the hop and
    // give the same client a fresh bucket.
    let garbled = header::HeaderValue::from_bytes(b"caf\xe9, 203.0.113.5").unwrap();
    let more = (0..20)
        .map(|_| guess(&proxy, "/api/auth/login").header("x-forwarded-for", garbled.clone()))
        .collect();
    let burst = Burst::send(more).await;
    assert!(
        burst.statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "the same client's guesses, counted afresh: {:?}",
        burst.statuses
    );
    app.stop().await;
}

#[tokio::test]
async fn an_untrusted_peer_cannot_pick_its_address() {
    let app = spawn_with_default_limits(|c| {
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    app.signup("alice").await;
    let direct = client_from(&app, "127.0.0.7");
    // Every guess names another client; all come from 127.0.0.7 all the same.
    let guesses = (0..36)
        .map(|i| forwarded(&direct, &format!("192.0.2.{i}"), "wrong-guess"))
        .collect();
    Burst::send(guesses)
        .await
        .assert_limited_to(30, StatusCode::UNAUTHORIZED);
    let status = status_of(login_request(&cookie_http(), &app, "password123")).await;
    assert_eq!(status, StatusCode::OK, "the proxy's own address is another");
    app.stop().await;
}

fn login_request(http: &reqwest::Client, app: &TestApp, password: &str) -> reqwest::RequestBuilder {
    http.post(format!("{}/api/auth/login", app.url))
        .json(&json!({"username": "alice", "password": password}))
}
