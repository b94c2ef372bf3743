//! The live progress line: a spinner redrawn a few times a second from a closure that reads the
//! scenario's shared counters. Hidden with `--quiet` or when stderr is not a terminal.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A running progress line; `finish` clears it.
pub struct Progress {
    bar: ProgressBar,
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts a spinner whose message is `line()`, refreshed every 200 ms.
    pub fn spinner(quiet: bool, line: impl Fn() -> String + Send + 'static) -> Progress {
        let bar = if quiet {
            ProgressBar::hidden()
        } else {
            ProgressBar::new_spinner()
        };
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        let stop = CancellationToken::new();
        let task = tokio::spawn({
            let (bar, stop) = (bar.clone(), stop.clone());
            async move {
                let mut tick = tokio::time::interval(Duration::from_millis(200));
                loop {
                    tokio::select! {
                        _ = tick.tick() => {
                            bar.set_message(line());
                            bar.tick();
                        }
                        () = stop.cancelled() => return,
                    }
                }
            }
        });
        Progress {
            bar,
            stop,
            task: Some(task),
        }
    }

    /// A bar counting `total` steps of `what` (e.g. creating users).
    pub fn counter(quiet: bool, total: u64, what: &str) -> ProgressBar {
        if quiet {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed:>4} {msg} {pos}/{len} ({per_sec})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(what.to_owned());
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    }

    /// Stops refreshing and clears the line.
    pub async fn finish(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.bar.finish_and_clear();
    }
}
