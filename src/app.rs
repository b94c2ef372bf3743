//! The application context every action runs in: store, bus, hashing, limits, metrics and the
//! settings that shape behaviour. One per server; no globals.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::passwords::Hasher;
use crate::blobs::Blobs;
use crate::bus::Bus;
use crate::delivery::Hub;
use crate::directory::Directory;
use crate::domain::event::UserEvent;
use crate::domain::ids::UserId;
use crate::domain::message_rules::Windows;
use crate::limits::{AuthLimits, KeyedLimit};
use crate::metrics::Metrics;
use crate::store::Store;

/// Behaviour settings derived from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub max_body_chars: usize,
    pub max_request_bytes: usize,
    pub session_ttl_secs: i64,
    pub secure_cookies: bool,
    pub allowed_origins: Vec<String>,
    /// How often sockets are pinged; a peer silent for two intervals is dropped.
    pub ws_ping_interval: Duration,
    /// Pushes that may wait for one socket before it is disconnected as too slow.
    pub ws_queue: usize,
    pub max_sockets_per_user: usize,
    /// Groups of at most this many members tell each sender of every receipt.
    pub live_receipts_max: usize,
    /// The most members a group may have (`--max-group-members`).
    pub max_group_members: usize,
    /// How long a sender may edit or delete for everyone (`--edit-window-secs`,
    /// `--delete-window-secs`).
    pub windows: Windows,
    /// `--max-upload-bytes`, `--upload-quota-bytes`, `--max-image-pixels`.
    pub max_upload_bytes: u64,
    pub upload_quota_bytes: u64,
    pub max_image_pixels: u64,
    /// Where an upload is written while it arrives (under the data directory).
    pub upload_scratch: std::path::PathBuf,
    // -- Authentication (auth) --
    /// Proxies whose `X-Forwarded-For` names the client (`--trusted-proxy`).
    pub trusted_proxies: Vec<crate::auth::address::Cidr>,
    /// How long a bearer token lasts (`--token-ttl-days`); `None`: until revoked.
    pub token_ttl_secs: Option<i64>,
    // Accounts, reports and operators (v2 safety).
    /// How long reports are kept (`--report-retention-days`).
    pub report_retention: Duration,
    /// `--message-requests` (Safety).
    pub message_requests: bool,
}

pub struct App {
    pub store: Arc<dyn Store>,
    /// Upload bytes (the data directory, or object storage).
    pub blobs: Blobs,
    /// Images decoded at once (`--image-workers`).
    pub image_slots: Arc<tokio::sync::Semaphore>,
    /// When the attachment storage last answered a readiness probe, and how.
    pub storage_probe: tokio::sync::Mutex<Option<(std::time::Instant, bool)>>,
    pub bus: Arc<dyn Bus>,
    pub hub: Arc<Hub>,
    /// Users already looked up by name (recipients of sends, chat partners).
    pub directory: Arc<Directory>,
    pub hasher: Hasher,
    pub send_limit: KeyedLimit<UserId>,
    /// Login, sign-up and token attempts per (username, address) and per address.
    pub auth_limits: AuthLimits,
    /// WebSocket frames per user.
    pub frame_limit: KeyedLimit<UserId>,
    /// Typing signals per user.
    pub typing_limit: KeyedLimit<UserId>,
    /// Groups created per user.
    pub group_create_limit: KeyedLimit<UserId>,
    /// Cancelled when the server stops: sockets close with 1001.
    pub shutdown: CancellationToken,
    /// Every socket task, so the server can wait for them to finish.
    pub tasks: TaskTracker,
    pub metrics: Metrics,
    pub settings: Settings,
}

/// The cloneable handle handlers receive.
#[derive(Clone)]
pub struct AppState(pub Arc<App>);

impl Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

impl App {
    /// Publishes committed events. Called only after the write that produced them returned.
    pub async fn publish(&self, events: Vec<UserEvent>) {
        if events.is_empty() {
            return;
        }
        self.metrics.events_published.inc_by(events.len() as u64);
        self.bus.publish(events).await;
    }
}
