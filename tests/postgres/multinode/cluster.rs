//! The multi-node harness: several `linkup serve` processes on one `TestStore` (one PostgreSQL
//! database, one Redis prefix), people holding bearer tokens, and senders that retry a failed
//! send on another node with the same `client_id` (the sockets are in `follower`).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::follower::Follower;
use crate::backend::{Backend, TestStore};
use crate::process::{Linkup, STARTUP};
use crate::support::Client;

/// Where each node listens and whether it is up; shared with the sender and follower tasks,
/// which avoid dead nodes.
pub struct Nodes {
    up: Vec<AtomicBool>,
    /// A std lock, held only to read or replace an address (a restarted node has a new port).
    urls: RwLock<Vec<String>>,
}

impl Nodes {
    pub fn count(&self) -> usize {
        self.up.len()
    }

    pub fn url(&self, node: usize) -> String {
        self.urls.read().expect("urls")[node].clone()
    }

    pub fn is_up(&self, node: usize) -> bool {
        self.up[node].load(Ordering::Acquire)
    }

    /// `node` if it is up, else the next node (cyclically) that is.
    pub fn pick(&self, node: usize) -> usize {
        let n = self.count();
        (0..n)
            .map(|k| (node + k) % n)
            .find(|&candidate| self.is_up(candidate))
            .expect("at least one node is up")
    }

    /// The next live node after `node` (`node` itself if it is the only one up).
    pub fn after(&self, node: usize) -> usize {
        self.pick(node + 1)
    }
}

/// A person with a bearer token, whose socket lives on `home` first.
pub struct Person {
    pub name: String,
    pub token: String,
    pub home: usize,
}

/// Node processes and their storage. The processes are declared before the store so they are
/// killed before the database is dropped.
pub struct Cluster {
    pub processes: Vec<Linkup>,
    pub nodes: Arc<Nodes>,
    pub http: reqwest::Client,
    pub store: TestStore,
}

impl Cluster {
    /// Starts `count` nodes at once on a fresh database and Redis prefix (they migrate under
    /// PostgreSQL's advisory lock, so starting together is part of the test).
    pub async fn start(count: usize) -> Cluster {
        let store = TestStore::new(Backend::Postgres).await;
        let processes =
            futures_util::future::join_all((0..count).map(|_| Linkup::start(&store))).await;
        let nodes = Arc::new(Nodes {
            up: (0..count).map(|_| AtomicBool::new(true)).collect(),
            urls: RwLock::new(processes.iter().map(|n| n.url.clone()).collect()),
        });
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .expect("http client");
        Cluster {
            processes,
            nodes,
            http,
            store,
        }
    }

    /// The test database's name (also the Redis prefix).
    pub fn database(&self) -> String {
        let flags = self.store.flags();
        let at = flags.iter().position(|f| f == "--redis-prefix");
        flags[at.expect("a PostgreSQL store") + 1].clone()
    }

    /// SIGKILLs `node`; senders and followers stop choosing it first.
    pub fn kill(&mut self, node: usize) {
        self.nodes.up[node].store(false, Ordering::Release);
        assert!(
            !self.processes[node].kill().success(),
            "SIGKILL is not a clean exit"
        );
    }

    /// Starts a new process in place of the dead `node` (on a new port).
    pub async fn restart(&mut self, node: usize) {
        assert!(!self.nodes.is_up(node), "node {node} is still up");
        self.processes[node] = Linkup::start(&self.store).await;
        self.nodes.urls.write().expect("urls")[node] = self.processes[node].url.clone();
        self.nodes.up[node].store(true, Ordering::Release);
    }

    /// Signs each name up on node `i % n`, takes a token on the next node, and makes that node
    /// the person's home.
    pub async fn people(&self, names: &[String]) -> Vec<Person> {
        let n = self.nodes.count();
        let mut people = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let credentials = json!({"username": name, "password": "password123"});
            let signup = json!({"username": name, "password": "password123", "display_name": name});
            let (status, body) = self.post(i % n, "/api/auth/signup", &signup).await;
            assert_eq!(status, StatusCode::CREATED, "signup {name}: {body}");
            let home = (i + 1) % n;
            let (status, body) = self.post(home, "/api/auth/tokens", &credentials).await;
            assert_eq!(status, StatusCode::CREATED, "token for {name}: {body}");
            let token = body["token"].as_str().expect("a token").to_owned();
            people.push(Person {
                name: name.clone(),
                token,
                home,
            });
        }
        people
    }

    /// `person` creates a group of `members` on `node`; returns its id and its `created`
    /// message's id.
    pub async fn group(&self, node: usize, person: &Person, members: &[Person]) -> (i64, i64) {
        let names: Vec<&str> = members.iter().map(|p| p.name.as_str()).collect();
        let body = json!({"client_id": "cluster-group", "title": "Cluster", "members": names});
        let response = self
            .http
            .post(format!("{}/api/groups", self.nodes.url(node)))
            .bearer_auth(&person.token)
            .json(&body)
            .send()
            .await
            .expect("request sent");
        assert_eq!(response.status(), StatusCode::CREATED);
        let group: Value = response.json().await.expect("the group");
        let id = group["id"].as_i64().expect("group id");
        let response = self
            .http
            .get(format!("{}/api/groups/{id}/messages", self.nodes.url(node)))
            .bearer_auth(&person.token)
            .send()
            .await
            .expect("request sent");
        let page: Value = response.json().await.expect("history");
        let created = page["messages"][0]["id"].as_i64().expect("created message");
        (id, created)
    }

    async fn post(&self, node: usize, path: &str, body: &Value) -> (StatusCode, Value) {
        let response = self.http.post(format!("{}{path}", self.nodes.url(node)));
        let response = response.json(body).send().await.expect("request sent");
        let status = response.status();
        (status, response.json().await.expect("a JSON body"))
    }

    /// An API client for `person` on the first live node from `node`.
    pub fn client(&self, person: &Person, node: usize) -> Client {
        let mut client = Client::new(&self.nodes.url(self.nodes.pick(node)));
        client.bearer = Some(person.token.clone());
        client
    }

    /// Senders for these people on these nodes.
    pub fn senders(&self, people: &[Person]) -> Arc<Senders> {
        Arc::new(Senders {
            http: self.http.clone(),
            nodes: self.nodes.clone(),
            names: people.iter().map(|p| p.name.clone()).collect(),
            tokens: people.iter().map(|p| p.token.clone()).collect(),
        })
    }

    /// Opens `person`'s notification socket on their home node, replaying from cursor 0; it
    /// follows them until `stop`.
    pub fn follow(&self, person: &Person, stop: &CancellationToken) -> Follower {
        Follower::start(self.nodes.clone(), person, stop.clone())
    }
}

/// One message a test means to send, and how.
#[derive(Debug, Clone)]
pub struct Planned {
    pub from: usize,
    /// The recipient, in a direct conversation.
    pub to: usize,
    /// The group it goes to instead, if any (`to` is then ignored).
    pub group: Option<i64>,
    pub client_id: String,
    pub body: String,
    /// The node tried first.
    pub node: usize,
    /// Whether the first try goes to two nodes at the same instant.
    pub twice: bool,
}

/// How a planned message ended up.
#[derive(Debug)]
pub struct Outcome {
    pub planned: Planned,
    /// The stored message, as the last successful answer showed it.
    pub message: Value,
    /// How many answers were 201 (at most one may be: later ones must be 200).
    pub created: usize,
    /// Tries that failed (node gone, or a 5xx JSON error).
    pub failures: usize,
}

impl Outcome {
    pub fn id(&self) -> i64 {
        self.message["id"].as_i64().expect("message id")
    }
}

/// The answer to one HTTP send.
pub enum Answer {
    Stored {
        created: bool,
        message: Value,
    },
    /// The node went away, or answered 5xx with a JSON error.
    Failed(String),
}

/// Sends planned messages, retrying each on another node with the same `client_id`.
pub struct Senders {
    http: reqwest::Client,
    nodes: Arc<Nodes>,
    names: Vec<String>,
    tokens: Vec<String>,
}

impl Senders {
    /// One try of `planned` on `node`. A 4xx, or a 5xx that is not a JSON error, fails the test.
    pub async fn send_once(&self, planned: &Planned, node: usize) -> Answer {
        let url = match planned.group {
            Some(group) => format!("{}/api/groups/{group}/messages", self.nodes.url(node)),
            None => format!(
                "{}/api/conversations/{}/messages",
                self.nodes.url(node),
                self.names[planned.to]
            ),
        };
        let body = json!({"client_id": planned.client_id, "body": planned.body});
        let sent = self
            .http
            .post(url)
            .bearer_auth(&self.tokens[planned.from])
            .json(&body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(err) => return Answer::Failed(format!("node {node}: {err}")),
        };
        let status = response.status();
        let text = match response.text().await {
            Ok(text) => text,
            Err(err) => return Answer::Failed(format!("node {node}: {err}")),
        };
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        match status {
            StatusCode::CREATED | StatusCode::OK => Answer::Stored {
                created: status == StatusCode::CREATED,
                message: value,
            },
            s if s.is_server_error() => {
                let code = value["error"]["code"].as_str();
                assert!(
                    code.is_some() && value["error"]["message"].is_string(),
                    "{}: a {s} must be a JSON error: {value}",
                    planned.client_id
                );
                Answer::Failed(format!("node {node}: {s} {}", code.unwrap_or_default()))
            }
            s => panic!("{}: unexpected {s}: {value}", planned.client_id),
        }
    }

    /// Sends `planned` until a node stores it: the first try on `planned.node` (and, if
    /// `twice`, at the same instant on the next live node), then one live node after another.
    pub async fn deliver(&self, planned: Planned) -> Outcome {
        let deadline = tokio::time::Instant::now() + STARTUP;
        let mut node = self.nodes.pick(planned.node);
        let (mut created, mut failures) = (0, 0);
        let mut last_failure = String::new();
        let mut stored: Option<Value> = None;
        let mut attempt = 0u64;
        loop {
            let answers = if attempt == 0 && planned.twice {
                let other = self.nodes.after(node);
                let (a, b) = tokio::join!(
                    self.send_once(&planned, node),
                    self.send_once(&planned, other)
                );
                vec![a, b]
            } else {
                vec![self.send_once(&planned, node).await]
            };
            for answer in answers {
                match answer {
                    Answer::Stored {
                        created: new,
                        message,
                    } => {
                        created += usize::from(new);
                        if let Some(before) = &stored {
                            assert_eq!(
                                before["id"], message["id"],
                                "{}: two answers, two messages",
                                planned.client_id
                            );
                        }
                        stored = Some(message);
                    }
                    Answer::Failed(why) => {
                        failures += 1;
                        last_failure = why;
                    }
                }
            }
            if let Some(message) = stored {
                return Outcome {
                    planned,
                    message,
                    created,
                    failures,
                };
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{}: not stored after {attempt} tries in {STARTUP:?}; last: {last_failure}",
                planned.client_id
            );
            // A client backs off a little before retrying elsewhere.
            attempt += 1;
            tokio::time::sleep(Duration::from_millis(10 * attempt.min(10))).await;
            node = self.nodes.after(node);
        }
    }

    /// Sends every planned message with `workers` concurrent tasks, counting acks in `acks`;
    /// returns the outcomes in plan order.
    pub async fn traffic(
        self: Arc<Self>,
        plan: Vec<Planned>,
        workers: usize,
        acks: Arc<watch::Sender<usize>>,
    ) -> Vec<Outcome> {
        let plan = Arc::new(plan);
        let next = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..workers)
            .map(|_| {
                let (senders, plan, next, acks) =
                    (self.clone(), plan.clone(), next.clone(), acks.clone());
                tokio::spawn(async move {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(planned) = plan.get(i) else {
                            return done;
                        };
                        done.push((i, senders.deliver(planned.clone()).await));
                        acks.send_modify(|n| *n += 1);
                    }
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.extend(task.await.expect("sender task"));
        }
        outcomes.sort_by_key(|(i, _)| *i);
        outcomes.into_iter().map(|(_, outcome)| outcome).collect()
    }
}

/// How long traffic may take to reach a milestone. A debug build sends about 200 messages/s
/// over HTTP on two idle cores, and much less while other tests share them: this only catches
/// traffic that stopped, never a slow machine (what is checked is what arrives, and how often).
const PROGRESS: Duration = Duration::from_secs(120);

/// Waits (up to `PROGRESS`) until `acks` counts at least `count`.
pub async fn acked(acks: &watch::Sender<usize>, count: usize) {
    let mut seen = acks.subscribe();
    // `wait_for` returns a read guard on the value: drop it at once, or senders would block.
    let waited = tokio::time::timeout(PROGRESS, seen.wait_for(|n| *n >= count)).await;
    assert!(
        waited.is_ok_and(|guard| guard.is_ok()),
        "fewer than {count} acks in {PROGRESS:?}"
    );
}
