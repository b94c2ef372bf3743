//! Just enough of the Chrome DevTools Protocol to drive headless Chromium from a test: launch
//! it with a fresh profile, open isolated browser contexts (each its own cookie jar, i.e. its
//! own person), and call commands. Events are recorded per page: uncaught exceptions, console
//! errors, dialogs (dismissed at once) and requests, so tests can assert a page stayed clean.
//!
//! The DevTools WebSocket carries JSON: `{id, method, params, sessionId}` out, `{id, result}` or
//! `{method, params, sessionId}` back. Commands wait for their answer by id.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

/// How long one DevTools command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// What is installed where Chromium is missing.
const INSTALL_HINT: &str = "headless Chromium is required for the browser tests and was not found \
    (looked for $LINKUP_CHROMIUM, chromium, chromium-browser, google-chrome). Install it with: \
    apt-get update && apt-get install -y chromium chromium-driver";

/// What a page did that a test may want to assert on.
#[derive(Debug, Default)]
pub struct PageLog {
    /// Uncaught exceptions and unhandled rejections.
    pub exceptions: Vec<String>,
    /// `console.error` calls and browser log entries of level error.
    pub errors: Vec<String>,
    /// `alert`, `confirm`, `prompt` dialogs that opened (and were dismissed).
    pub dialogs: Vec<String>,
    /// URLs the page requested.
    pub requests: Vec<String>,
    /// Load events seen, to wait for navigations.
    pub loads: u64,
}

type Waiters = Mutex<HashMap<u64, oneshot::Sender<Result<Value, String>>>>;

struct Inner {
    out: mpsc::UnboundedSender<String>,
    next_id: AtomicU64,
    waiting: Waiters,
    logs: Mutex<HashMap<String, Arc<Mutex<PageLog>>>>,
}

/// A connection to the browser; cheap to clone.
#[derive(Clone)]
pub struct Cdp(Arc<Inner>);

impl Cdp {
    /// Sends `method` (to the page of `session`, or the browser) and waits for its result.
    pub async fn call(&self, session: Option<&str>, method: &str, params: Value) -> Value {
        match self.try_call(session, method, params).await {
            Ok(value) => value,
            Err(err) => panic!("DevTools {method} failed: {err}"),
        }
    }

    /// Like `call`, with the protocol error as `Err` instead of a panic.
    pub async fn try_call(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, String> {
        let id = self.0.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.0.waiting.lock().unwrap().insert(id, tx);
        self.0
            .out
            .send(command(id, session, method, params))
            .map_err(|_| "the browser connection is closed".to_owned())?;
        match tokio::time::timeout(COMMAND_TIMEOUT, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err("the browser connection closed".into()),
            Err(_) => Err(format!("no answer within {COMMAND_TIMEOUT:?}")),
        }
    }

    /// Sends without waiting for the answer.
    fn notify(&self, session: Option<&str>, method: &str, params: Value) {
        let id = self.0.next_id.fetch_add(1, Ordering::Relaxed);
        let _ = self.0.out.send(command(id, session, method, params));
    }

    /// The log of the page attached as `session`.
    pub fn log(&self, session: &str) -> Arc<Mutex<PageLog>> {
        self.0
            .logs
            .lock()
            .unwrap()
            .entry(session.to_owned())
            .or_default()
            .clone()
    }

    fn dispatch(&self, text: &str) {
        let Ok(frame) = serde_json::from_str::<Value>(text) else {
            return;
        };
        if let Some(id) = frame["id"].as_u64() {
            if let Some(waiter) = self.0.waiting.lock().unwrap().remove(&id) {
                let result = match frame.get("error") {
                    Some(error) => Err(error.to_string()),
                    None => Ok(frame["result"].clone()),
                };
                let _ = waiter.send(result);
            }
            return;
        }
        let Some(session) = frame["sessionId"].as_str() else {
            return;
        };
        self.record(session, &frame["method"], &frame["params"]);
    }

    fn record(&self, session: &str, method: &Value, params: &Value) {
        let log = self.log(session);
        let mut log = log.lock().unwrap();
        match method.as_str().unwrap_or("") {
            "Runtime.exceptionThrown" => {
                let details = &params["exceptionDetails"];
                let text = details["exception"]["description"]
                    .as_str()
                    .or(details["text"].as_str())
                    .unwrap_or("exception");
                log.exceptions.push(text.to_owned());
            }
            "Runtime.consoleAPICalled" if params["type"] == "error" => {
                let args: Vec<String> = params["args"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|a| {
                        a["value"]
                            .as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| a["description"].to_string())
                    })
                    .collect();
                log.errors
                    .push(format!("console.error: {}", args.join(" ")));
            }
            "Log.entryAdded" if params["entry"]["level"] == "error" => {
                let entry = &params["entry"];
                log.errors
                    .push(format!("{}: {}", entry["source"], entry["text"]));
            }
            "Page.javascriptDialogOpening" => {
                log.dialogs
                    .push(format!("{}: {}", params["type"], params["message"]));
                self.notify(
                    Some(session),
                    "Page.handleJavaScriptDialog",
                    json!({"accept": false}),
                );
            }
            "Network.requestWillBeSent" => {
                if let Some(url) = params["request"]["url"].as_str() {
                    log.requests.push(url.to_owned());
                }
            }
            "Page.loadEventFired" => log.loads += 1,
            _ => {}
        }
    }
}

fn command(id: u64, session: Option<&str>, method: &str, params: Value) -> String {
    let mut frame = json!({"id": id, "method": method, "params": params});
    if let Some(session) = session {
        frame["sessionId"] = json!(session);
    }
    frame.to_string()
}

/// A headless Chromium with its own fresh profile, killed (with its helpers) on drop.
pub struct Browser {
    pub cdp: Cdp,
    child: Child,
    _profile: TempDir,
}

/// The Chromium binary to run, or a failure that says how to install it.
fn chromium() -> String {
    let candidates = std::env::var("LINKUP_CHROMIUM")
        .into_iter()
        .chain(["chromium", "chromium-browser", "google-chrome"].map(String::from));
    for candidate in candidates {
        let found = Command::new(&candidate)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if found {
            return candidate;
        }
    }
    panic!("{INSTALL_HINT}");
}

impl Browser {
    /// Starts Chromium and connects to it. Panics, saying how to install it, when it is missing.
    pub async fn launch() -> Browser {
        let binary = chromium();
        let profile = tempfile::tempdir().expect("profile dir");
        let mut child = Command::new(&binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-background-timer-throttling",
                "--disable-renderer-backgrounding",
                "--disable-backgrounding-occluded-windows",
                "--lang=en-US",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{INSTALL_HINT} ({binary}: {e})"));
        let url = devtools_url(&mut child);
        let (socket, _) = connect_async(url.as_str())
            .await
            .expect("connect to DevTools");
        let (mut sink, mut stream) = socket.split();
        let (out, mut outgoing) = mpsc::unbounded_channel::<String>();
        let cdp = Cdp(Arc::new(Inner {
            out,
            next_id: AtomicU64::new(1),
            waiting: Mutex::default(),
            logs: Mutex::default(),
        }));
        tokio::spawn(async move {
            while let Some(text) = outgoing.recv().await {
                if sink.send(Message::Text(text.into())).await.is_err() {
                    return;
                }
            }
        });
        let reader = cdp.clone();
        tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                if let Message::Text(text) = message {
                    reader.dispatch(text.as_str());
                }
            }
            // Wake every waiter: the browser is gone.
            reader.0.waiting.lock().unwrap().clear();
        });
        Browser {
            cdp,
            child,
            _profile: profile,
        }
    }
}

/// Reads Chromium's stderr until it says where DevTools listens; keeps draining it after.
fn devtools_url(child: &mut Child) -> String {
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("DevTools listening on ")
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(url.trim().to_owned());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("Chromium did not start DevTools within 30 s")
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The browser and its helpers share the process group it was started in.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
