//! CPU time over a run's window and drain: the bench's own (every thread, user and system) and,
//! given `--server-pid`, the server's. It tells whether the load generator could be what limits
//! a figure (on two shared cores, a bench using most of one is), and what each delivery costs
//! either side.

use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

/// CPU time used so far, read when a window starts.
#[derive(Debug, Clone, Copy)]
pub struct CpuClock {
    wall: Instant,
    bench: Duration,
    server: Option<(u32, Duration)>,
}

/// CPU seconds used between a `CpuClock`'s start and `stop`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CpuUse {
    /// Wall-clock seconds measured over.
    pub wall_s: f64,
    /// CPU seconds the bench used.
    pub bench_s: f64,
    /// CPU seconds the server used (with `--server-pid`, on this machine).
    pub server_s: Option<f64>,
}

impl CpuClock {
    pub fn start(server_pid: Option<u32>) -> CpuClock {
        CpuClock {
            wall: Instant::now(),
            bench: own(),
            server: server_pid.and_then(|pid| Some((pid, of_process(pid)?))),
        }
    }

    pub fn stop(&self) -> CpuUse {
        let since = |now: Duration, then: Duration| now.saturating_sub(then).as_secs_f64();
        CpuUse {
            wall_s: self.wall.elapsed().as_secs_f64(),
            bench_s: since(own(), self.bench),
            server_s: self
                .server
                .and_then(|(pid, then)| Some(since(of_process(pid)?, then))),
        }
    }
}

impl CpuUse {
    /// `bench 0.31 cores (12.4 µs a delivery), server 0.96 cores (38.0 µs a delivery)`.
    pub fn line(&self, items: u64, item: &str) -> String {
        let side = |name: &str, secs: f64| {
            let cores = if self.wall_s > 0.0 {
                secs / self.wall_s
            } else {
                0.0
            };
            let each = if items > 0 {
                secs * 1e6 / items as f64
            } else {
                0.0
            };
            format!("{name} {cores:.2} cores ({each:.1} µs a {item})")
        };
        let mut line = side("bench", self.bench_s);
        match self.server_s {
            Some(server) => line += &format!(", {}", side("server", server)),
            None => line += ", server not measured (--server-pid)",
        }
        line
    }
}

/// This process's CPU time, every thread, user and system.
fn own() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage only writes the struct it is given, which is zeroed and large enough.
    let usage = unsafe {
        if libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) != 0 {
            return Duration::ZERO;
        }
        usage.assume_init()
    };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// Another process's CPU time (user and system, every thread), from `/proc/PID/stat`.
fn of_process(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    ticks_of_stat(&stat).map(|t| Duration::from_secs_f64(t as f64 / ticks.max(1) as f64))
}

/// utime + stime, in clock ticks, of a `/proc/PID/stat` line. The command name (field 2) is in
/// parentheses and may itself hold spaces and parentheses: fields are counted after its last `)`.
fn ticks_of_stat(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name come field 3 (state) onwards: utime is field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_name() {
        let stat = "4242 (odd) name (x) S 1 4242 4242 0 -1 4194560 900 0 0 0 \
                    250 75 0 0 20 0 9 0 123 456 789";
        assert_eq!(ticks_of_stat(stat), Some(325));
        assert_eq!(ticks_of_stat("4242 (cut short) S 1 2"), None);
        assert_eq!(ticks_of_stat("no name at all"), None);
    }

    #[test]
    fn busy_work_shows_in_both_readings_of_this_process() {
        let clock = CpuClock::start(Some(std::process::id()));
        let started = std::time::Instant::now();
        let mut x = 0u64;
        while started.elapsed() < Duration::from_millis(150) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        let used = clock.stop();
        assert!(used.bench_s >= 0.1, "{used:?}");
        // /proc counts in clock ticks (usually 10 ms): the two readings agree to a few ticks.
        let server = used.server_s.expect("this process's own /proc entry");
        assert!((server - used.bench_s).abs() < 0.05, "{used:?}");
        let line = used.line(1000, "delivery");
        assert!(
            line.starts_with("bench ") && line.contains("µs a delivery), server "),
            "{line}"
        );
    }
}
