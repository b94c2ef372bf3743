//! A `linkup serve` child process on a data dir, and sessions that outlive it.
//!
//! Every child is owned by a `Linkup` guard that SIGKILLs and reaps it on drop, so a failing
//! test leaves no process behind. Sessions send their cookie as a plain header, so a client can
//! be pointed at a restarted server (a new port) by changing its `base`.

use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{COOKIE, HeaderMap, HeaderValue, SET_COOKIE};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::backend::TestStore;
use crate::support::Client;

/// How long starting, stopping or a burst of traffic may take before the test fails.
pub const STARTUP: Duration = Duration::from_secs(30);

/// A running `linkup serve` child process; SIGKILLed and reaped on drop.
pub struct Linkup {
    child: Child,
    pub url: String,
    /// Lines of the child's stderr (ANSI codes removed), read by a thread that drains the pipe.
    lines: mpsc::UnboundedReceiver<String>,
}

impl Linkup {
    /// Starts the binary on `store` and port 0; returns once it logs where it listens.
    pub async fn start(store: &TestStore) -> Linkup {
        Self::start_with(store, &[], &[]).await
    }

    /// As `start`, with more flags and environment variables.
    pub async fn start_with(store: &TestStore, args: &[&str], env: &[(&str, &str)]) -> Linkup {
        let mut child = Command::new(env!("CARGO_BIN_EXE_linkup"))
            .args(["serve", "--bind", "127.0.0.1:0"])
            .args(store.flags())
            .args(args)
            .env_remove("LINKUP_DATABASE_URL")
            .env_remove("LINKUP_REDIS_URL")
            .env("LINKUP_SEND_RATE", "0")
            .env("LINKUP_LOGIN_RATE", "1000")
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info")
            // The caller's variables win over the defaults above (e.g. `RUST_LOG`).
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("linkup serve starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, lines) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                let _ = tx.send(strip_ansi(&line));
            }
        });
        let mut linkup = Linkup {
            child,
            url: String::new(),
            lines,
        };
        let line = linkup.wait_for_line("listening on http://").await;
        let at = line.find("http://").expect("an address");
        linkup.url = line[at..]
            .split_whitespace()
            .next()
            .expect("url")
            .to_owned();
        linkup
    }

    /// The stderr lines the child has written so far and not yet read.
    #[allow(dead_code)] // not every binary including this file reads them
    pub fn lines_so_far(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        while let Ok(line) = self.lines.try_recv() {
            lines.push(line);
        }
        lines
    }

    /// Waits (with a deadline) for a stderr line containing `needle`.
    pub async fn wait_for_line(&mut self, needle: &str) -> String {
        let mut seen = Vec::new();
        let deadline = tokio::time::Instant::now() + STARTUP;
        loop {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(line)) if line.contains(needle) => return line,
                Ok(Some(line)) => seen.push(line),
                Ok(None) => panic!("linkup closed stderr before {needle:?}: {seen:#?}"),
                Err(_) => panic!("no {needle:?} from linkup within {STARTUP:?}: {seen:#?}"),
            }
        }
    }

    /// The child's process id (to find its connections, e.g. its Redis subscription).
    #[allow(dead_code)] // only the multi-node tests of the PostgreSQL binary use it
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: the process gets no chance to clean up.
    pub fn kill(&mut self) -> ExitStatus {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped")
    }

    /// SIGTERM, then waits (with a deadline) for the process to exit.
    pub async fn terminate(&mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.expect("kill runs").success(), "SIGTERM to {pid}");
        let deadline = Instant::now() + STARTUP;
        loop {
            if let Some(status) = self.child.try_wait().expect("child status") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "linkup ignored SIGTERM for {STARTUP:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Linkup {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(char::is_ascii_alphabetic);
        } else {
            out.push(c);
        }
    }
    out
}

/// Signs `username` up and returns a client that sends the session cookie as a plain header, so
/// the same session can be pointed at a restarted server by changing `base`.
pub async fn signup(url: &str, username: &str) -> Client {
    let body = json!({"username": username, "password": "password123", "display_name": username});
    let response = reqwest::Client::new()
        .post(format!("{url}/api/auth/signup"))
        .json(&body)
        .send()
        .await
        .expect("signup sent");
    assert_eq!(response.status(), StatusCode::CREATED, "signup {username}");
    let cookie = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("linkup_session="))
        .and_then(|v| v.split(';').next())
        .expect("a linkup_session cookie")
        .to_owned();
    let body: Value = response.json().await.expect("signup body");
    let mut headers = HeaderMap::new();
    headers.insert(
        COOKIE,
        HeaderValue::from_str(&cookie).expect("cookie header"),
    );
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .timeout(Duration::from_secs(20))
        .build()
        .expect("http client");
    Client {
        base: url.to_owned(),
        http,
        csrf: body["csrf_token"].as_str().map(str::to_owned),
        bearer: None,
    }
}

/// Points every client at a restarted server.
pub fn repoint(clients: &mut [Client], linkup: &Linkup) {
    for client in clients {
        client.base = linkup.url.clone();
    }
}
