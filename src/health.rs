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
        attachments: app.blobs.check().await.is_ok(),
    }
}
