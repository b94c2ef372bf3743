//! Prometheus metrics: requests by route and status, messages stored, store latency, the SQLite
//! writer's batches, connections.
//!
//! Every label takes few values whatever clients send: a method is one of HTTP's own or
//! `other`, a route is a route template (or `unmatched`), a status is one the server answered.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: &'static str,
    pub route: String,
    pub status: u16,
}

/// A request method as a label: one of the methods HTTP defines, else `other`.
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    const KNOWN: [(Method, &str); 9] = [
        (Method::GET, "GET"),
        (Method::HEAD, "HEAD"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::PATCH, "PATCH"),
        (Method::DELETE, "DELETE"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::CONNECT, "CONNECT"),
        (Method::TRACE, "TRACE"),
    ];
    KNOWN
        .iter()
        .find(|(known, _)| known == method)
        .map_or("other", |(_, label)| label)
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StoreLabels {
    pub operation: &'static str,
}

fn latency_histogram() -> Histogram {
    // 50 µs … ~1.6 s.
    Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
}

/// What the SQLite writer does, batch by batch: how many jobs each commit holds, how long each
/// batch keeps the writer busy (their sum over a window is its busy time), and how long each job
/// waits from being queued to its commit. Cheap enough to stay on: a clock read and a histogram
/// update a job, two of each a batch.
#[derive(Debug, Clone)]
pub struct WriterMetrics {
    pub batch_jobs: Histogram,
    pub batch_seconds: Histogram,
    pub job_seconds: Histogram,
}

impl Default for WriterMetrics {
    fn default() -> Self {
        WriterMetrics {
            // 1 … 512, the largest batch.
            batch_jobs: Histogram::new(exponential_buckets(1.0, 2.0, 10)),
            batch_seconds: latency_histogram(),
            job_seconds: latency_histogram(),
        }
    }
}

impl WriterMetrics {
    fn register(&self, registry: &mut Registry) {
        let writer = registry.sub_registry_with_prefix("sqlite_writer");
        writer.register(
            "batch_jobs",
            "Jobs committed together by the SQLite writer, per batch",
            self.batch_jobs.clone(),
        );
        writer.register(
            "batch_seconds",
            "Time the SQLite writer spends on a batch, from BEGIN to the end of COMMIT",
            self.batch_seconds.clone(),
        );
        writer.register(
            "job_seconds",
            "Time from a write being queued to the SQLite writer to its commit",
            self.job_seconds.clone(),
        );
    }
}

/// The process's metrics. One per server, so two servers in one test process do not mix.
pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub messages_stored: Counter,
    pub store_latency: Family<StoreLabels, Histogram, fn() -> Histogram>,
    pub events_published: Counter,
    pub open_sockets: Gauge,
    /// TCP connections open now, WebSockets included (the listener's count for its cap).
    pub open_connections: Gauge,
    /// Connections closed at once because `--max-connections` were open.
    pub connections_refused: Counter,
    /// The SQLite writer's batches (unobserved on PostgreSQL).
    pub writer: WriterMetrics,
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
        let open_connections = Gauge::default();
        registry.register(
            "open_connections",
            "TCP connections open now, WebSockets included",
            open_connections.clone(),
        );
        let connections_refused = Counter::default();
        registry.register(
            "connections_refused",
            "Connections closed at once because --max-connections were open",
            connections_refused.clone(),
        );
        let writer = WriterMetrics::default();
        writer.register(&mut registry);
        Metrics {
            registry,
            requests,
            messages_stored,
            store_latency,
            events_published,
            open_sockets,
            open_connections,
            connections_refused,
            writer,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_made_up_method_is_one_label() {
        let made_up = axum::http::Method::from_bytes(b"FROBNICATE").unwrap();
        assert_eq!(method_label(&made_up), "other");
        assert_eq!(method_label(&axum::http::Method::PATCH), "PATCH");
    }
}
