//! Latency recording: an HDR histogram in microseconds (1 µs to 10 minutes, 3 significant
//! digits), one per task so recording never contends, merged at the end.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Recorded latencies of one kind (ack, send→deliver, connect, …).
#[derive(Clone)]
pub struct Latencies {
    histogram: Histogram<u64>,
}

impl Default for Latencies {
    fn default() -> Self {
        Latencies {
            histogram: Histogram::new_with_bounds(1, 600_000_000, 3)
                .expect("valid histogram bounds"),
        }
    }
}

impl Latencies {
    /// Records one latency (clamped into the histogram's range).
    pub fn record(&mut self, latency: Duration) {
        self.record_micros(latency.as_micros().min(u128::from(u64::MAX)) as u64);
    }

    pub fn record_micros(&mut self, micros: u64) {
        self.histogram.saturating_record(micros.max(1));
    }

    pub fn merge(&mut self, other: &Latencies) {
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.histogram.add(&other.histogram);
    }

    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    /// Percentiles in milliseconds.
    pub fn summary(&self) -> Summary {
        let h = &self.histogram;
        let ms = |micros: u64| micros as f64 / 1000.0;
        if h.is_empty() {
            return Summary::default();
        }
        Summary {
            count: h.len(),
            mean: h.mean() / 1000.0,
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
        }
    }
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Summary {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    #[serde(rename = "p99.9")]
    pub p999: f64,
    pub max: f64,
}

impl Summary {
    /// `p50 0.41  p90 0.80  p99 1.92  p99.9 4.10  max 9.87 ms`.
    pub fn line(&self) -> String {
        if self.count == 0 {
            return "-".into();
        }
        format!(
            "p50 {}  p90 {}  p99 {}  p99.9 {}  max {} ms",
            short(self.p50),
            short(self.p90),
            short(self.p99),
            short(self.p999),
            short(self.max)
        )
    }
}

/// A millisecond figure with three significant digits.
fn short(ms: f64) -> String {
    if ms >= 100.0 {
        format!("{ms:.0}")
    } else if ms >= 10.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_out_in_milliseconds() {
        let mut a = Latencies::default();
        for micros in 1..=1000 {
            a.record_micros(micros);
        }
        let mut b = Latencies::default();
        b.record(Duration::from_millis(50));
        a.merge(&b);
        let s = a.summary();
        assert_eq!(s.count, 1001);
        assert!((s.p50 - 0.5).abs() < 0.01, "{s:?}");
        assert!((s.max - 50.0).abs() < 0.1, "{s:?}");
        assert!(s.line().starts_with("p50 0.50"), "{}", s.line());
        assert_eq!(Latencies::default().summary().line(), "-");
    }
}
