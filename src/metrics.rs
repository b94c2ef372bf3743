//! Prometheus metrics: requests by route and status, messages stored, store latency.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StoreLabels {
    pub operation: &'static str,
}

fn latency_histogram() -> Histogram {
    // 50 µs … ~1.6 s.
    Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
}

/// The process's metrics. One per server, so two servers in one test process do not mix.
pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub messages_stored: Counter,
    pub store_latency: Family<StoreLabels, Histogram, fn() -> Histogram>,
    pub events_published: Counter,
    pub open_sockets: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("linkup");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        let messages_stored = Counter::default();
        registry.register(
            "messages_stored",
            "Messages newly stored",
            messages_stored.clone(),
        );
        let store_latency =
            Family::<StoreLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                latency_histogram,
            );
        registry.register(
            "store_latency_seconds",
            "Latency of store operations",
            store_latency.clone(),
        );
        let events_published = Counter::default();
        registry.register(
            "events_published",
            "Events handed to the bus after commit",
            events_published.clone(),
        );
        let open_sockets = Gauge::default();
        registry.register(
            "open_sockets",
            "WebSocket connections open now",
            open_sockets.clone(),
        );
        Metrics {
            registry,
            requests,
            messages_stored,
            store_latency,
            events_published,
            open_sockets,
        }
    }
}

impl Metrics {
    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
