//! Configuration of `linkup serve`: flags, each with a `LINKUP_*` environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use crate::auth::address::Cidr;

/// Everything `linkup serve` (and `migrate`, `doctor`) can be told.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to listen on (HTTP, WebSocket and pages share it).
    #[arg(long, env = "LINKUP_BIND", default_value = "127.0.0.1:8000")]
    pub bind: SocketAddr,
    /// Directory for the embedded SQLite database.
    #[arg(long, env = "LINKUP_DATA_DIR", default_value = "./linkup-data")]
    pub data_dir: PathBuf,
    /// `sqlite://PATH` (default: DATA_DIR/linkup.db) or `postgres://…`.
    #[arg(long, env = "LINKUP_DATABASE_URL")]
    pub database_url: Option<String>,
    /// `redis://…` for fan-out between several nodes (default: in-process).
    #[arg(long, env = "LINKUP_REDIS_URL")]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key and channel, so several deployments (or tests) can share one
    /// Redis.
    #[arg(long, env = "LINKUP_REDIS_PREFIX", default_value = "linkup")]
    pub redis_prefix: String,
    /// Origins allowed to open WebSockets with a session cookie (repeatable; default: the
    /// server's own origin).
    #[arg(
        long = "allowed-origin",
        env = "LINKUP_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,
    /// The URL users reach the server at, e.g. `https://chat.example.com` (sets Secure cookies
    /// when https).
    #[arg(long, env = "LINKUP_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Messages a user may send per second on average (0: no limit).
    #[arg(long, env = "LINKUP_SEND_RATE", default_value_t = 50)]
    pub send_rate: u32,
    /// Messages a user may send in a burst above the average rate.
    #[arg(long, env = "LINKUP_SEND_BURST", default_value_t = 200)]
    pub send_burst: u32,
    /// Login attempts, and separately token requests, per username and client address per
    /// minute (0: no limit).
    #[arg(long, env = "LINKUP_LOGIN_RATE", default_value_t = 30)]
    pub login_rate: u32,
    /// The longest message body, in Unicode scalar values.
    #[arg(long, env = "LINKUP_MAX_BODY_CHARS", default_value_t = 4096)]
    pub max_body_chars: usize,
    /// The largest request body, in bytes.
    #[arg(long, env = "LINKUP_MAX_REQUEST_BYTES", default_value_t = 64 * 1024)]
    pub max_request_bytes: usize,
    /// How long a browser session lasts, in days.
    #[arg(long, env = "LINKUP_SESSION_DAYS", default_value_t = 30)]
    pub session_days: u32,
    /// PostgreSQL connections in this node's pool.
    #[arg(long, env = "LINKUP_PG_MAX_CONNECTIONS", default_value_t = 16)]
    pub pg_max_connections: u32,
    /// PostgreSQL statement timeout, in milliseconds.
    #[arg(long, env = "LINKUP_PG_STATEMENT_TIMEOUT_MS", default_value_t = 10_000)]
    pub pg_statement_timeout_ms: u64,
    /// Tasks committing batches of sends and receipts on PostgreSQL, each on a pooled
    /// connection.
    #[arg(long, env = "LINKUP_PG_WRITERS", default_value_t = 2)]
    pub pg_writers: usize,
    /// Seconds between WebSocket pings; a peer silent for two intervals is dropped.
    #[arg(long, env = "LINKUP_WS_PING_SECS", default_value_t = 30)]
    pub ws_ping_secs: u64,
    /// Pushes that may queue for one socket before it is closed as too slow (1013).
    #[arg(long, env = "LINKUP_WS_QUEUE", default_value_t = 1024)]
    pub ws_queue: usize,
    /// Open WebSockets allowed per user.
    #[arg(long, env = "LINKUP_MAX_SOCKETS_PER_USER", default_value_t = 16)]
    pub max_sockets_per_user: usize,
    /// The most members a group may have, its owner included (at most 1024).
    #[arg(long, env = "LINKUP_MAX_GROUP_MEMBERS", default_value_t = 256,
          value_parser = clap::value_parser!(u16).range(2..=1024))]
    pub max_group_members: u16,
    /// Groups a user may create per hour (0: no limit).
    #[arg(long, env = "LINKUP_GROUP_CREATE_RATE", default_value_t = 20)]
    pub group_create_rate: u32,
    /// Groups of at most this many members tell each sender of every member's receipt; in
    /// larger ones a sender hears only when every member has a message delivered or read.
    #[arg(long, env = "LINKUP_LIVE_RECEIPTS_MAX", default_value_t = 32)]
    pub live_receipts_max: usize,
    /// Where upload bytes live when several nodes share them: `s3://bucket/prefix` (credentials,
    /// region and endpoint from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_SESSION_TOKEN`, `AWS_REGION`, `AWS_ENDPOINT_URL`). Default: `uploads/` under the data
    /// directory.
    #[arg(long, env = "LINKUP_OBJECT_STORE_URL")]
    pub object_store_url: Option<String>,
    /// The largest file an upload may be, in bytes.
    #[arg(long, env = "LINKUP_MAX_UPLOAD_BYTES", default_value_t = 25 * 1024 * 1024)]
    pub max_upload_bytes: u64,
    /// Bytes a user may upload in any 24 hours.
    #[arg(long, env = "LINKUP_UPLOAD_QUOTA_BYTES", default_value_t = 1024 * 1024 * 1024)]
    pub upload_quota_bytes: u64,
    /// Images with more pixels than this are never decoded (no dimensions, no thumbnail).
    #[arg(long, env = "LINKUP_MAX_IMAGE_PIXELS", default_value_t = 40_000_000)]
    pub max_image_pixels: u64,
    /// Images decoded at once, off the async threads.
    #[arg(long, env = "LINKUP_IMAGE_WORKERS", default_value_t = 2)]
    pub image_workers: usize,
    /// Seconds after sending during which a sender may edit a message (0: never).
    #[arg(long, env = "LINKUP_EDIT_WINDOW_SECS", default_value_t = 900)]
    pub edit_window_secs: u64,
    /// Seconds after sending during which a sender may delete a message for everyone (0:
    /// never; a group's owner and admins may delete at any time).
    #[arg(long, env = "LINKUP_DELETE_WINDOW_SECS", default_value_t = 172_800)]
    pub delete_window_secs: u64,
    /// WebSocket frames a user may send per second on average (0: no limit; bursts of 4x).
    #[arg(long, env = "LINKUP_FRAME_RATE", default_value_t = 100)]
    pub frame_rate: u32,
    /// Create two demo users (alice, bob) and print their credentials.
    #[arg(long, env = "LINKUP_DEMO")]
    pub demo: bool,
    // Transport hardening: slow and idle connections, the connection cap.
    /// Seconds a client may take to send a request's headers (from its first byte, or from
    /// the connection's accept) before it is cut off.
    #[arg(long, env = "LINKUP_HEADER_TIMEOUT_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout_secs: u64,
    /// Seconds a request body may go without a byte before the connection is cut off.
    #[arg(long, env = "LINKUP_BODY_TIMEOUT_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub body_timeout_secs: u64,
    /// Seconds an idle keep-alive connection stays open waiting for its next request.
    #[arg(long, env = "LINKUP_KEEPALIVE_TIMEOUT_SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub keepalive_timeout_secs: u64,
    /// Open connections (WebSockets included) beyond which new ones are closed at once;
    /// default: 90% of the process's open-file limit.
    #[arg(long, env = "LINKUP_MAX_CONNECTIONS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: Option<u64>,
    // -- Authentication (auth) --
    /// Login, sign-up and token attempts per client address per minute, in bursts of as many
    /// (0: no limit).
    #[arg(long, env = "LINKUP_AUTH_RATE_PER_ADDRESS", default_value_t = 60)]
    pub auth_rate_per_address: u32,
    /// A reverse proxy whose `X-Forwarded-For` names the client (repeatable; CIDR or a single
    /// address). Without one, the client is the TCP peer.
    #[arg(
        long = "trusted-proxy",
        env = "LINKUP_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<Cidr>,
    /// Days a bearer token lasts from its issue (0: until revoked).
    #[arg(long, env = "LINKUP_TOKEN_TTL_DAYS", default_value_t = 0)]
    pub token_ttl_days: u32,
    // Accounts, reports and operators (v2 safety).
    /// Days a report (and the copy of the message it keeps) is kept for operators.
    #[arg(long, env = "LINKUP_REPORT_RETENTION_DAYS", default_value_t = 180)]
    pub report_retention_days: u32,
    // Safety (blocks and message requests).
    /// `on`: a first contact's direct conversation is a message request for its recipient
    /// (3 messages before they accept, read receipts withheld); `off` restores v1 exactly.
    #[arg(long, env = "LINKUP_MESSAGE_REQUESTS", default_value = "on", value_parser = on_off,
          action = clap::ArgAction::Set)]
    pub message_requests: bool,
}

/// `on` or `off` (also `true`/`false`, `1`/`0`).
fn on_off(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "on" | "true" | "1" | "yes" => Ok(true),
        "off" | "false" | "0" | "no" => Ok(false),
        _ => Err(format!("expected on or off, got {value:?}")),
    }
}

/// Which store a configuration selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Config {
    /// A configuration for tests: port 0 on loopback, the given data directory, no send limit,
    /// the default login limit per (username, address), and no limit per address (test
    /// servers sign dozens of people up from one address; `tests/api/login_limits.rs` runs
    /// with every default).
    pub fn for_tests(data_dir: impl Into<PathBuf>) -> Self {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.into(),
            database_url: None,
            redis_url: None,
            redis_prefix: "linkup".to_owned(),
            allowed_origins: Vec::new(),
            public_url: None,
            send_rate: 0,
            send_burst: 100,
            login_rate: 30,
            max_body_chars: 4096,
            max_request_bytes: 64 * 1024,
            session_days: 30,
            demo: false,
            ws_ping_secs: 30,
            ws_queue: 1024,
            max_sockets_per_user: 16,
            live_receipts_max: 32,
            max_group_members: 256,
            edit_window_secs: 900,
            delete_window_secs: 172_800,
            object_store_url: None,
            max_upload_bytes: 25 * 1024 * 1024,
            upload_quota_bytes: 1024 * 1024 * 1024,
            max_image_pixels: 40_000_000,
            image_workers: 2,
            group_create_rate: 0,
            frame_rate: 0,
            pg_max_connections: 8,
            pg_statement_timeout_ms: 10_000,
            pg_writers: 2,
            // Transport hardening.
            header_timeout_secs: 10,
            body_timeout_secs: 30,
            keepalive_timeout_secs: 60,
            max_connections: None,
            // -- Authentication (auth) --
            auth_rate_per_address: 0,
            trusted_proxies: Vec::new(),
            token_ttl_days: 0,
            report_retention_days: 180,
            // Safety: tests that are not about message requests keep v1's behaviour.
            message_requests: false,
        }
    }

    /// Where the data lives, from `--database-url` or `--data-dir`.
    pub fn store_location(&self) -> Result<StoreLocation, String> {
        match self.database_url.as_deref() {
            None => Ok(StoreLocation::Sqlite(self.data_dir.join("linkup.db"))),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(StoreLocation::Postgres(url.to_owned()))
            }
            Some(url) => match url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
            {
                Some(path) if !path.is_empty() => Ok(StoreLocation::Sqlite(PathBuf::from(path))),
                _ => Err(format!(
                    "--database-url {url:?} is not understood: use sqlite://PATH or postgres://USER@HOST/DB"
                )),
            },
        }
    }

    /// Origins allowed to open a cookie-authenticated WebSocket.
    pub fn effective_allowed_origins(&self, local: SocketAddr) -> Vec<String> {
        if !self.allowed_origins.is_empty() {
            return self
                .allowed_origins
                .iter()
                .map(|o| o.trim_end_matches('/').to_owned())
                .collect();
        }
        match &self.public_url {
            Some(url) => vec![origin_of(url)],
            None => {
                let mut origins = vec![format!("http://{local}")];
                if local.ip().is_loopback() {
                    origins.push(format!("http://localhost:{}", local.port()));
                }
                origins
            }
        }
    }

    /// Whether cookies must be marked Secure (served over TLS).
    pub fn secure_cookies(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    }
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let host = rest.split('/').next().unwrap_or(rest);
    format!("{scheme}://{host}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_url_selects_the_store() {
        let mut c = Config::for_tests("/tmp/x");
        assert_eq!(
            c.store_location().unwrap(),
            StoreLocation::Sqlite("/tmp/x/linkup.db".into())
        );
        c.database_url = Some("sqlite:///var/db.sqlite".into());
        assert_eq!(
            c.store_location().unwrap(),
            StoreLocation::Sqlite("/var/db.sqlite".into())
        );
        c.database_url = Some("mysql://x".into());
        assert!(c.store_location().is_err());
    }

    #[test]
    fn origins_default_to_the_server_itself() {
        let mut c = Config::for_tests("/tmp/x");
        let local: SocketAddr = "127.0.0.1:8000".parse().unwrap();
        assert_eq!(
            c.effective_allowed_origins(local),
            ["http://127.0.0.1:8000", "http://localhost:8000"]
        );
        c.public_url = Some("https://chat.example.com/app".into());
        assert_eq!(
            c.effective_allowed_origins(local),
            ["https://chat.example.com"]
        );
        assert!(c.secure_cookies());
    }

    // Safety.
    #[test]
    fn message_requests_read_on_and_off() {
        assert_eq!(on_off("on"), Ok(true));
        assert_eq!(on_off("OFF"), Ok(false));
        assert!(on_off("sometimes").is_err());
        assert!(!Config::for_tests("/tmp/x").message_requests);
    }
}
