//! The OpenAPI document tells the truth. schemathesis (the version pinned in
//! `tests/tools/requirements.txt`) fuzzes every operation of the served `/api/openapi.json`
//! against a real server and checks that each answer has a documented status, content type and
//! schema, that input the document calls invalid is refused, that no answer is a 5xx, and that
//! operations declared as needing a caller refuse requests without one. It runs as a bearer-token
//! caller, as a cookie-session caller (with its CSRF token) and anonymously, and as a second
//! user: both users share a direct conversation, a group, messages in each and an upload, and
//! the generated requests name them (each user's name, the real message, group and upload ids)
//! most of the time, so that routes naming another user or an id reach real data, not only 404s.
//!
//! The executable is `$LINKUP_SCHEMATHESIS`, else `schemathesis` or `st` on the PATH. Without it
//! the test is skipped, unless `LINKUP_REQUIRE_TOOLS=1` (CI, the test-runner script) makes that a
//! failure.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use futures_util::future::join_all;
use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use tokio::process::Command;

use crate::support::{Client, TestApp, assert_error, id};

/// The checks, by the names of schemathesis 4.32's `--checks`.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_schema_conformance,negative_data_rejection,ignored_auth";
/// Test cases per operation and phase: enough to cover each rule, small enough for seconds.
const EXAMPLES: &str = "10";
const INSTALL: &str = "pip install -r tests/tools/requirements.txt";

/// The schemathesis executable, or `None` (after saying so) when it is not installed.
fn schemathesis() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("LINKUP_SCHEMATHESIS") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = ["schemathesis", "st"].iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| is_schemathesis(candidate))
    });
    if found.is_none() {
        assert!(
            std::env::var("LINKUP_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "schemathesis is not installed and LINKUP_REQUIRE_TOOLS=1: run `{INSTALL}` \
             (in a venv on the PATH) or set LINKUP_SCHEMATHESIS to its executable"
        );
        eprintln!("skipped: schemathesis not installed ({INSTALL})");
    }
    found
}

/// Whether `candidate` runs and calls itself schemathesis (`st` may be another program).
fn is_schemathesis(candidate: &Path) -> bool {
    std::process::Command::new(candidate)
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains("schemathesis"))
}

/// One schemathesis run: who calls, and which operations.
struct Run {
    caller: &'static str,
    headers: Vec<String>,
    selection: &'static [&'static str],
}

/// What the two users of the run share: the ids schemathesis is told to name.
struct Shared {
    people: [&'static str; 2],
    messages: Vec<i64>,
    group: i64,
    upload: String,
}

impl Shared {
    /// carol and dave write to each other, carol creates a group with dave where both write,
    /// and carol uploads a file and sends it to dave in a reply.
    async fn make(app: &TestApp, carol: &Client, dave: &Client) -> Shared {
        // The document's examples: carol (password123) marks message 1, from dave.
        let first = id(&dave.send_created("carol", "hello-1", "hello").await);
        let second = id(&carol.send_created("dave", "hello-2", "hi dave").await);
        let group = carol.create_group_ok("Atlas", &["dave"]).await;
        let third = carol.group_send_ok(group, "group-1").await;
        let fourth = dave.group_send_ok(group, "group-2").await;
        let response = carol
            .http
            .post(format!("{}/api/uploads?filename=notes.txt", app.url))
            .bearer_auth(carol.bearer.as_deref().expect("token"))
            .body("meeting notes")
            .send()
            .await
            .expect("upload sent");
        assert_eq!(response.status(), StatusCode::CREATED);
        let upload: Value = response.json().await.expect("upload body");
        let upload = upload["id"].as_str().expect("upload id").to_owned();
        let send = json!({"client_id": "with-file", "body": "the notes", "reply_to": first,
                          "attachments": [upload]});
        let (status, sent) = carol.post("/api/conversations/dave/messages", send).await;
        assert_eq!(status, StatusCode::CREATED, "{sent}");
        Shared {
            people: ["carol", "dave"],
            messages: vec![first, second, third, fourth, id(&sent)],
            group,
            upload,
        }
    }

    /// The schemathesis.toml of every run: dictionaries of the real names and ids, which the
    /// path parameters and body fields that name a user, a message, a group or an upload take
    /// nine times out of ten (the other time, a generated value).
    fn config(&self) -> String {
        format!(
            r#"[dictionaries.people]
values = {people}
[dictionaries.messages]
values = {messages}
[dictionaries.groups]
values = [{group}]
[dictionaries.uploads]
values = [{upload}]

[parameters]
"path.username" = {{ dictionary = "people", probability = 0.9 }}
"body.members[*]" = {{ dictionary = "people", probability = 0.9 }}
"body.usernames[*]" = {{ dictionary = "people", probability = 0.9 }}
"body.message_ids[*]" = {{ dictionary = "messages", probability = 0.9 }}
"body.up_to_id" = {{ dictionary = "messages", probability = 0.9 }}
"body.reply_to" = {{ dictionary = "messages", probability = 0.9 }}
"body.attachments[*]" = {{ dictionary = "uploads", probability = 0.9 }}

[[operations]]
include-path-regex = '^/api/messages/\{{id\}}'
parameters = {{ "path.id" = {{ dictionary = "messages", probability = 0.9 }} }}

[[operations]]
include-path-regex = '^/api/groups/\{{id\}}'
parameters = {{ "path.id" = {{ dictionary = "groups", probability = 0.9 }} }}

[[operations]]
include-path-regex = '^/api/uploads/\{{id\}}'
parameters = {{ "path.id" = {{ dictionary = "uploads", probability = 0.9 }} }}
"#,
            people = json!(self.people),
            messages = json!(self.messages),
            group = self.group,
            upload = json!(self.upload),
        )
    }
}

impl Run {
    /// Runs schemathesis against `url` with `config` as its schemathesis.toml; returns the
    /// failure report, if any.
    async fn failure(&self, tool: &Path, url: &str, config: &str) -> Option<String> {
        // schemathesis keeps caches (`.hypothesis`, `.schemathesis`) in its working directory,
        // and reads its configuration from there.
        let workdir = tempfile::tempdir().expect("working directory");
        std::fs::write(workdir.path().join("schemathesis.toml"), config).expect("config written");
        let mut command = Command::new(tool);
        command
            .args(["run", &format!("{url}/api/openapi.json")])
            .args(["--checks", CHECKS, "--max-examples", EXAMPLES])
            .args(["--request-timeout", "10", "--no-color"])
            .args(self.selection)
            .current_dir(workdir.path())
            .stdin(Stdio::null())
            .kill_on_drop(true);
        for header in &self.headers {
            command.args(["--header", header]);
        }
        let run = tokio::time::timeout(Duration::from_secs(240), command.output()).await;
        let output = match run {
            Ok(output) => output.unwrap_or_else(|e| panic!("{} cannot run: {e}", tool.display())),
            Err(_) => return Some(format!("{}: no answer within 240 s", self.caller)),
        };
        if output.status.success() {
            return None;
        }
        Some(format!(
            "schemathesis as {} exited with {}:\n{}\n{}",
            self.caller,
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// A fresh cookie session for `username` (password `password123`): the cookie's value and the
/// session's CSRF token.
async fn session(app: &TestApp, username: &str) -> (String, String) {
    let response = reqwest::Client::new()
        .post(format!("{}/api/auth/login", app.url))
        .json(&json!({"username": username, "password": "password123"}))
        .send()
        .await
        .expect("login sent");
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .and_then(|pair| pair.split_once('='))
        .map(|(_, value)| value.to_owned())
        .expect("session cookie");
    let body: Value = response.json().await.expect("login body");
    let csrf = body["csrf_token"].as_str().expect("csrf token").to_owned();
    (cookie, csrf)
}

/// The token of a bearer-token client.
fn bearer(client: &Client) -> String {
    format!(
        "Authorization: Bearer {}",
        client.bearer.as_deref().expect("token")
    )
}

#[tokio::test]
async fn schemathesis_finds_the_server_as_documented() {
    let Some(tool) = schemathesis() else { return };
    let (app, [carol, dave]) = TestApp::with_token_users(["carol", "dave"]).await;
    let shared = Shared::make(&app, &carol, &dave).await;
    let (cookie, csrf) = session(&app, "carol").await;
    let logout = app.token_client("carol").await;
    let runs = [
        Run {
            caller: "a bearer-token caller",
            headers: vec![bearer(&carol)],
            // Logging out would revoke the token the rest of the run uses.
            selection: &["--exclude-path", "/api/auth/logout"],
        },
        Run {
            caller: "the other user, on the routes that name a user or an id",
            headers: vec![bearer(&dave)],
            selection: &["--include-path-regex", r"\{(username|id)\}"],
        },
        Run {
            caller: "a cookie-session caller",
            headers: vec![
                format!("Cookie: linkup_session={cookie}"),
                format!("X-CSRF-Token: {csrf}"),
            ],
            // A login or logout that brings the cookie ends its session; and no made-up bearer
            // token, which would win over the cookie.
            selection: &[
                "--exclude-path-regex",
                "^/api/auth/",
                "--generation-with-security-parameters",
                "false",
            ],
        },
        Run {
            caller: "an anonymous caller",
            headers: Vec::new(),
            selection: &[],
        },
        Run {
            caller: "a caller logging out",
            headers: vec![bearer(&logout)],
            selection: &["--include-path", "/api/auth/logout"],
        },
    ];
    let config = shared.config();
    let failures = join_all(runs.iter().map(|run| run.failure(&tool, &app.url, &config))).await;
    let failures: Vec<String> = failures.into_iter().flatten().collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    app.stop().await;
}

#[tokio::test]
async fn the_document_declares_who_may_call_and_every_error() {
    let app = TestApp::spawn().await;
    let doc = app.anonymous().get_ok("/api/openapi.json").await;
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer", "{schemes}");
    assert_eq!(schemes["session"]["in"], "cookie", "{schemes}");
    assert_eq!(schemes["session"]["name"], "linkup_session", "{schemes}");
    assert_eq!(schemes["csrf"]["in"], "header", "{schemes}");
    let send = &doc["paths"]["/api/conversations/{username}/messages"]["post"];
    assert_eq!(
        send["security"],
        json!([{"bearer": []}, {"session": [], "csrf": []}])
    );
    let signup = &doc["paths"]["/api/auth/signup"]["post"];
    assert_eq!(signup["security"], json!([{}]), "sign-up needs no caller");
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("operations") {
            let responses = operation["responses"].as_object().expect("responses");
            let needs_caller = operation["security"] != json!([{}]);
            assert!(
                !needs_caller || responses.contains_key("401"),
                "{method} {path} needs a caller, so it can answer 401"
            );
            for (status, response) in responses {
                assert!(!response["description"].as_str().unwrap_or("").is_empty());
                if status.starts_with(['4', '5']) && path != "/readyz" {
                    let schema = &response["content"]["application/json"]["schema"];
                    assert_eq!(schema["$ref"], "#/components/schemas/ErrorView", "{path}");
                }
            }
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn a_json_body_that_is_not_an_object_is_refused_and_stores_nothing() {
    let (app, [carol, dave]) = TestApp::with_token_users(["carol", "dave"]).await;
    let send = "/api/conversations/dave/messages";
    let response = carol.post(send, json!(["c1", "sent as an array"])).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_request");
    let signup = json!(["mallory", "password123", null]);
    let response = app.anonymous().post("/api/auth/signup", signup).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_request");
    let response = carol
        .post("/api/messages/status", json!([[1], "read"]))
        .await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(dave.messages("carol").await.is_empty());
    let login = json!({"username": "mallory", "password": "password123"});
    let response = app.anonymous().post("/api/auth/tokens", login).await;
    assert_error(&response, StatusCode::UNAUTHORIZED, "invalid_credentials");
    app.stop().await;
}
