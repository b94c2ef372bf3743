//! The bench's users: created through the public API (sign-up, then `POST /api/auth/tokens`
//! for a bearer token) under a prefix unique to the run, or read back from a users file that an
//! earlier run against the same server wrote.

use std::path::Path;

use anyhow::{Context, bail};
use futures_util::{StreamExt, TryStreamExt, stream};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Target;
use super::progress::Progress;

/// The password every bench user gets (the bench never logs in as anyone else).
const PASSWORD: &str = "linkup-bench-password";

/// A user the bench acts as.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchUser {
    pub username: String,
    pub token: String,
}

/// What a users file holds: the server it belongs to and its users.
#[derive(Serialize, Deserialize)]
struct UsersFile {
    url: String,
    users: Vec<BenchUser>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    token: String,
}

/// A short random tag, unique enough to tell runs (and their client ids) apart.
pub fn run_tag() -> String {
    use rand::RngExt;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..7)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// `count` users: from the users file when it holds enough for this server, else new ones
/// (written back to the file when there is one).
pub async fn users(target: &Target, count: usize) -> anyhow::Result<Vec<BenchUser>> {
    let file = target.args.users_file.as_deref();
    let mut known = match file {
        Some(path) => read_file(target, path).await?,
        None => Vec::new(),
    };
    if known.len() < count {
        let fresh = create(target, count - known.len()).await?;
        known.extend(fresh);
        if let Some(path) = file {
            write_file(target, path, &known)?;
        }
    }
    known.truncate(count);
    Ok(known)
}

/// Signs `count` new users up and fetches a bearer token for each.
pub async fn create(target: &Target, count: usize) -> anyhow::Result<Vec<BenchUser>> {
    let prefix = format!("b{}_", run_tag());
    let bar = Progress::counter(target.args.quiet, count as u64, "creating users");
    let users = stream::iter(0..count)
        .map(|i| {
            let username = format!("{prefix}{i}");
            let bar = bar.clone();
            async move {
                let user = create_one(target, username).await;
                bar.inc(1);
                user
            }
        })
        .buffered(target.args.setup_concurrency.max(1))
        .try_collect()
        .await;
    bar.finish_and_clear();
    users
}

async fn create_one(target: &Target, username: String) -> anyhow::Result<BenchUser> {
    let credentials = json!({"username": username, "password": PASSWORD});
    let mut signup = credentials.clone();
    signup["display_name"] = json!(format!("Bench {username}"));
    let _: serde_json::Value = target
        .post_json(None, "/api/auth/signup", &signup)
        .await
        .with_context(|| format!("signing {username} up"))?;
    let answer: TokenAnswer = target
        .post_json(None, "/api/auth/tokens", &credentials)
        .await
        .with_context(|| format!("a token for {username}"))?;
    Ok(BenchUser {
        username,
        token: answer.token,
    })
}

/// The users of a file written for this server, if they still work (a server started on a
/// fresh database no longer knows them).
async fn read_file(target: &Target, path: &Path) -> anyhow::Result<Vec<BenchUser>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
    };
    let file: UsersFile =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    if file.url != target.base {
        bail!(
            "{} holds users of {}, not {}: use another --users-file",
            path.display(),
            file.url,
            target.base
        );
    }
    let Some(first) = file.users.first() else {
        return Ok(Vec::new());
    };
    let me: anyhow::Result<serde_json::Value> = target.get_json(&first.token, "/api/me").await;
    if me.is_err() {
        tracing::warn!(
            "the users in {} are unknown to this server; creating new ones",
            path.display()
        );
        return Ok(Vec::new());
    }
    Ok(file.users)
}

fn write_file(target: &Target, path: &Path, users: &[BenchUser]) -> anyhow::Result<()> {
    let file = UsersFile {
        url: target.base.clone(),
        users: users.to_vec(),
    };
    std::fs::write(path, serde_json::to_vec(&file)?)
        .with_context(|| format!("writing {}", path.display()))
}

/// A page of `/api/sync`, decoded as far as the bench needs.
#[derive(Deserialize)]
pub struct SyncPage {
    pub events: Vec<SyncEvent>,
    pub next: i64,
    pub has_more: bool,
}

/// An event of `/api/sync`: its type and, for message events, who sent what where.
#[derive(Deserialize)]
pub struct SyncEvent {
    #[serde(rename = "type")]
    pub kind: String,
    pub cursor: i64,
    #[serde(default)]
    pub message: Option<SyncMessage>,
}

#[derive(Deserialize)]
pub struct SyncMessage {
    pub id: i64,
    pub conversation_id: i64,
    pub sender: String,
    /// The other party of a direct conversation; `null` in a group.
    #[serde(default)]
    pub recipient: Option<String>,
    /// `null` on a group's system messages.
    #[serde(default)]
    pub client_id: Option<String>,
}

/// One page of `GET /api/sync?since=…&limit=1000`.
pub async fn sync_page(target: &Target, token: &str, since: i64) -> anyhow::Result<SyncPage> {
    target
        .get_json(token, &format!("/api/sync?since={since}&limit=1000"))
        .await
}

/// The user's latest cursor, found by paging `/api/sync` to its end.
pub async fn latest_cursor(target: &Target, token: &str) -> anyhow::Result<i64> {
    let mut since = 0;
    loop {
        let page = sync_page(target, token, since).await?;
        since = page.next;
        if !page.has_more {
            return Ok(since);
        }
    }
}

/// `latest_cursor` for many users, a few at a time.
pub async fn latest_cursors(target: &Target, users: &[BenchUser]) -> anyhow::Result<Vec<i64>> {
    stream::iter(users)
        .map(|user| latest_cursor(target, &user.token))
        .buffered(16)
        .try_collect()
        .await
}
