//! The application context every action runs in: store, bus, hashing, limits, metrics and the
//! settings that shape behaviour. One per server; no globals.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Instant;

use crate::auth::passwords::Hasher;
use crate::bus::Bus;
use crate::delivery::Hub;
use crate::events::UserEvent;
use crate::ids::UserId;
use crate::limits::KeyedLimit;
use crate::metrics::Metrics;
use crate::store::{Store, StoreError};

/// Behaviour settings derived from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub max_body_chars: usize,
    pub max_request_bytes: usize,
    pub session_ttl_secs: i64,
    pub secure_cookies: bool,
    pub allowed_origins: Vec<String>,
}

pub struct App {
    pub store: Arc<dyn Store>,
    pub bus: Arc<dyn Bus>,
    pub hub: Arc<Hub>,
    pub hasher: Hasher,
    pub send_limit: KeyedLimit<UserId>,
    pub login_limit: KeyedLimit<String>,
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
    /// Runs a store call, recording its latency under `operation`.
    pub async fn timed<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let started = Instant::now();
        let result = call.await;
        self.metrics.observe_store(operation, started);
        result
    }

    /// Publishes committed events. Called only after the write that produced them returned.
    pub async fn publish(&self, events: Vec<UserEvent>) {
        if events.is_empty() {
            return;
        }
        self.metrics.events_published.inc_by(events.len() as u64);
        self.bus.publish(events).await;
    }
}
