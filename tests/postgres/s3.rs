//! Attachments in S3-compatible object storage, as a cluster keeps them: a real S3 server on
//! loopback (`moto_server`, from PyPI's `moto[server]`), two `linkup serve` processes on one
//! PostgreSQL database sharing a bucket, an upload on one node downloaded from the other, no
//! upload bytes under either node's data directory, and the bytes gone from the bucket once no
//! message carries them.
//!
//! The executable is `$LINKUP_MOTO_SERVER`, else `moto_server` on the PATH. Without it the test
//! is skipped, unless `LINKUP_REQUIRE_TOOLS=1` (CI, the test-runner script) makes that a
//! failure.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use crate::backend::{Backend, TestStore};
use crate::process::Linkup;

const INSTALL: &str = "pip install 'moto[server]'";

/// An S3-compatible server on a loopback port, stopped when dropped.
struct Moto {
    child: Child,
    endpoint: String,
    http: reqwest::Client,
}

impl Moto {
    /// Starts `moto_server`, or `None` (after saying so) when it is not installed.
    async fn start() -> Option<Moto> {
        let program = std::env::var_os("LINKUP_MOTO_SERVER")
            .map(PathBuf::from)
            .or_else(|| {
                let path = std::env::var_os("PATH").unwrap_or_default();
                std::env::split_paths(&path)
                    .map(|dir| dir.join("moto_server"))
                    .find(|candidate| candidate.is_file())
            });
        let Some(program) = program else {
            assert!(
                std::env::var("LINKUP_REQUIRE_TOOLS").as_deref() != Ok("1"),
                "moto_server is not installed and LINKUP_REQUIRE_TOOLS=1: run `{INSTALL}` \
                 (in a venv on the PATH) or set LINKUP_MOTO_SERVER to its executable"
            );
            eprintln!("skipped: moto_server not installed ({INSTALL})");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("moto_server starts");
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        };
        for _ in 0..300 {
            if moto.http.get(&moto.endpoint).send().await.is_ok() {
                return Some(moto);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("moto_server did not answer on {}", moto.endpoint);
    }

    async fn create_bucket(&self, bucket: &str) {
        let response = self
            .http
            .put(format!("{}/{bucket}", self.endpoint))
            .send()
            .await
            .expect("bucket created");
        assert!(response.status().is_success(), "{}", response.status());
    }

    /// Every key in `bucket`.
    async fn keys(&self, bucket: &str) -> Vec<String> {
        let xml = self
            .http
            .get(format!("{}/{bucket}?list-type=2", self.endpoint))
            .send()
            .await
            .expect("listed")
            .text()
            .await
            .expect("a listing");
        xml.split("<Key>")
            .skip(1)
            .filter_map(|part| part.split("</Key>").next())
            .map(str::to_owned)
            .collect()
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
        ]
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// Signs `name` up on `node` and returns a bearer token.
async fn token(http: &reqwest::Client, node: &str, name: &str) -> String {
    let credentials = json!({"username": name, "password": "password123"});
    let response = http
        .post(format!("{node}/api/auth/signup"))
        .json(&credentials)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = http
        .post(format!("{node}/api/auth/tokens"))
        .json(&credentials)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["token"].as_str().expect("a token").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_attachments_through_s3() {
    let Some(moto) = Moto::start().await else {
        return;
    };
    let store = TestStore::new(Backend::Postgres).await;
    let bucket = format!("linkup-{}", std::process::id());
    moto.create_bucket(&bucket).await;
    let url = format!("s3://{bucket}/team-a");
    let env = moto.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let first = Linkup::start_with(&store, &["--object-store-url", &url], &env).await;
    let second = Linkup::start_with(&store, &["--object-store-url", &url], &env).await;
    let http = reqwest::Client::new();
    let alice = token(&http, &first.url, "alice").await;
    let bob = token(&http, &second.url, "bob").await;

    let ready: Value = http
        .get(format!("{}/readyz", first.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["attachments"], "ok");
    let secret = b"%PDF-1.4\nkept-in-the-bucket-5521\n%%EOF\n".to_vec();
    let upload: Value = http
        .post(format!("{}/api/uploads?filename=plan.pdf", first.url))
        .bearer_auth(&alice)
        .body(secret.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = upload["id"].as_str().expect("an upload id").to_owned();
    assert_eq!(moto.keys(&bucket).await, [format!("team-a/{id}")]);
    let sent = http
        .post(format!("{}/api/conversations/bob/messages", first.url))
        .bearer_auth(&alice)
        .json(&json!({"client_id": "m1", "body": "the plan", "attachments": [id]}))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::CREATED);
    let message: Value = sent.json().await.unwrap();

    // Bob downloads from the other node, whole and by range.
    let whole = http
        .get(format!("{}/api/uploads/{id}", second.url))
        .bearer_auth(&bob)
        .send()
        .await
        .unwrap();
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(whole.bytes().await.unwrap().to_vec(), secret);
    let part = http
        .get(format!("{}/api/uploads/{id}", second.url))
        .bearer_auth(&bob)
        .header("range", "bytes=0-3")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.bytes().await.unwrap().as_ref(), b"%PDF");
    let local = store.dir.path().join("uploads");
    assert!(
        std::fs::read_dir(&local).map_or(true, |mut d| d.next().is_none()),
        "no upload bytes under the data directory"
    );

    // Deleted with its message, then gone from the bucket within 30 seconds.
    let deleted = http
        .delete(format!("{}/api/messages/{}", first.url, message["id"]))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::OK);
    let gone = http
        .get(format!("{}/api/uploads/{id}", second.url))
        .bearer_auth(&bob)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !moto.keys(&bucket).await.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the bytes stayed in the bucket"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
