//! How full the server's SQLite writer was over a run's window and drain, from the writer
//! histograms of its `/metrics` read before and after: the share of the time it was busy,
//! commits a second, jobs a commit, and each job's wait from queued to committed. A writer
//! busy most of the time is what makes queues, and so tails; a PostgreSQL server (its
//! histograms stay empty) or one that does not answer `/metrics` gives no reading.

use serde::Serialize;

use super::target::Target;

const BATCH_JOBS: &str = "linkup_sqlite_writer_batch_jobs";
const BATCH_SECONDS: &str = "linkup_sqlite_writer_batch_seconds";
const JOB_SECONDS: &str = "linkup_sqlite_writer_job_seconds";

/// The writer's histograms at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriterReading {
    batches: f64,
    jobs: f64,
    busy_s: f64,
    /// The job wait histogram's buckets: upper bound in seconds, cumulative count.
    waits: Vec<(f64, f64)>,
}

/// The writer over a window.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct WriterUse {
    /// Share of the window the writer spent in batches (0–1).
    pub busy: f64,
    pub commits_per_s: f64,
    pub jobs_per_commit: f64,
    /// Upper bounds of the buckets holding the median and the 99th percentile of the jobs'
    /// waits from queued to committed, in ms.
    pub job_p50_ms_at_most: f64,
    pub job_p99_ms_at_most: f64,
}

impl WriterReading {
    /// Reads the server's `/metrics`; `None` if it does not answer or has no SQLite writer.
    pub async fn read(target: &Target) -> Option<WriterReading> {
        let response = target
            .http
            .get(format!("{}/metrics", target.base))
            .send()
            .await
            .ok()?;
        WriterReading::parse(&response.text().await.ok()?)
    }

    /// From the Prometheus text exposition.
    fn parse(text: &str) -> Option<WriterReading> {
        let (batches, jobs, busy, waits) = (
            format!("{BATCH_JOBS}_count"),
            format!("{BATCH_JOBS}_sum"),
            format!("{BATCH_SECONDS}_sum"),
            format!("{JOB_SECONDS}_bucket"),
        );
        let mut reading = WriterReading::default();
        let mut seen = false;
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let Some((series, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let Ok(value) = value.parse::<f64>() else {
                continue;
            };
            if series == batches {
                reading.batches = value;
                seen = true;
            } else if series == jobs {
                reading.jobs = value;
            } else if series == busy {
                reading.busy_s = value;
            } else if let Some(labels) = series.strip_prefix(waits.as_str()) {
                let bound = labels
                    .strip_prefix("{le=\"")
                    .and_then(|l| l.strip_suffix("\"}"))?;
                let bound = if bound == "+Inf" {
                    f64::INFINITY
                } else {
                    bound.parse().ok()?
                };
                reading.waits.push((bound, value));
            }
        }
        seen.then_some(reading)
    }

    /// The writer between `self` and `later`, `wall_s` seconds apart; `None` if it committed
    /// nothing meanwhile (a PostgreSQL server).
    pub fn until(&self, later: &WriterReading, wall_s: f64) -> Option<WriterUse> {
        let batches = later.batches - self.batches;
        if batches <= 0.0 || wall_s <= 0.0 {
            return None;
        }
        let jobs = later.jobs - self.jobs;
        let waits: Vec<(f64, f64)> = later
            .waits
            .iter()
            .map(|&(bound, count)| {
                let before = self
                    .waits
                    .iter()
                    .find(|(b, _)| *b == bound)
                    .map_or(0.0, |(_, c)| *c);
                (bound, count - before)
            })
            .collect();
        let at_most = |share: f64| {
            let wanted = jobs * share;
            waits
                .iter()
                .find(|(_, count)| *count >= wanted)
                .map_or(f64::INFINITY, |(bound, _)| bound * 1000.0)
        };
        Some(WriterUse {
            busy: (later.busy_s - self.busy_s) / wall_s,
            commits_per_s: batches / wall_s,
            jobs_per_commit: jobs / batches,
            job_p50_ms_at_most: at_most(0.5),
            job_p99_ms_at_most: at_most(0.99),
        })
    }
}

impl WriterUse {
    /// `busy 91 % · 1350 commits/s · 4.7 jobs a commit · jobs queued→committed p50 ≤ 0.8 ms,
    /// p99 ≤ 6.4 ms`.
    pub fn line(&self) -> String {
        format!(
            "busy {:.0} % · {:.0} commits/s · {:.1} jobs a commit · jobs queued→committed \
             p50 ≤ {:.1} ms, p99 ≤ {:.1} ms",
            self.busy * 100.0,
            self.commits_per_s,
            self.jobs_per_commit,
            self.job_p50_ms_at_most,
            self.job_p99_ms_at_most
        )
    }
}

/// The report line of an optional reading.
pub fn line(writer: &Option<WriterUse>) -> String {
    writer.as_ref().map_or_else(
        || "not measured (PostgreSQL, or no /metrics)".to_owned(),
        WriterUse::line,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exposition(batches: u64, jobs: u64, busy: f64, buckets: [u64; 3]) -> String {
        format!(
            "# HELP {BATCH_JOBS} Jobs.\n\
             {BATCH_JOBS}_sum {jobs}.0\n{BATCH_JOBS}_count {batches}\n\
             {BATCH_JOBS}_bucket{{le=\"1.0\"}} 0\n\
             {BATCH_SECONDS}_sum {busy}\n{BATCH_SECONDS}_count {batches}\n\
             {JOB_SECONDS}_sum 1.0\n{JOB_SECONDS}_count {}\n\
             {JOB_SECONDS}_bucket{{le=\"0.001\"}} {}\n\
             {JOB_SECONDS}_bucket{{le=\"0.004\"}} {}\n\
             {JOB_SECONDS}_bucket{{le=\"+Inf\"}} {}\n\
             linkup_open_sockets 3\n",
            buckets[2], buckets[0], buckets[1], buckets[2]
        )
    }

    #[test]
    fn a_window_is_the_difference_of_two_readings() {
        let before = WriterReading::parse(&exposition(10, 20, 0.5, [20, 20, 20])).unwrap();
        // 100 batches of 400 jobs in 2 s, 1.5 s of it busy; 300 jobs within 1 ms, 396 within 4.
        let after = WriterReading::parse(&exposition(110, 420, 2.0, [320, 416, 420])).unwrap();
        let used = before.until(&after, 2.0).unwrap();
        assert_eq!(used.busy, 0.75);
        assert_eq!(used.commits_per_s, 50.0);
        assert_eq!(used.jobs_per_commit, 4.0);
        assert_eq!(used.job_p50_ms_at_most, 1.0);
        assert_eq!(used.job_p99_ms_at_most, 4.0);
        assert_eq!(
            used.line(),
            "busy 75 % · 50 commits/s · 4.0 jobs a commit · jobs queued→committed \
             p50 ≤ 1.0 ms, p99 ≤ 4.0 ms"
        );
    }

    #[test]
    fn no_writer_or_no_commit_is_no_reading() {
        assert_eq!(WriterReading::parse("linkup_open_sockets 3\n"), None);
        let idle = WriterReading::parse(&exposition(10, 20, 0.5, [20, 20, 20])).unwrap();
        assert!(idle.until(&idle, 2.0).is_none());
        assert_eq!(line(&None), "not measured (PostgreSQL, or no /metrics)");
    }
}
