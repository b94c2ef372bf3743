//! Readiness: whether the parts a request needs answer now (the store and the bus).

use crate::app::App;

/// Which dependencies answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readiness {
    pub store: bool,
    pub bus: bool,
    pub attachments: bool,
}

impl Readiness {
    /// Ready when every dependency answered.
    pub fn ready(self) -> bool {
        self.store && self.bus && self.attachments
    }
}

/// Asks the store for a round trip, the bus whether it is connected, and the attachment storage
/// for a small write, read and delete.
pub async fn readiness(app: &App) -> Readiness {
    Readiness {
        store: app.store.ping().await.is_ok(),
        bus: app.bus.ready().await,
        attachments: storage_answers(app).await,
    }
}

/// How long a probe of the attachment storage is trusted: each costs a write, a read and a
/// delete (a request to a paid object store), so a busy load balancer gets the last answer.
const STORAGE_PROBE_TTL: std::time::Duration = std::time::Duration::from_secs(5);

async fn storage_answers(app: &App) -> bool {
    let mut last = app.storage_probe.lock().await;
    if let Some((at, ok)) = *last
        && at.elapsed() < STORAGE_PROBE_TTL
    {
        return ok;
    }
    let ok = app.blobs.check().await.is_ok();
    *last = Some((std::time::Instant::now(), ok));
    ok
}
