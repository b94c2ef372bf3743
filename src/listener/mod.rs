//! The listening socket: the connection cap, refusal at once when the process is out of
//! descriptors, and the clock each accepted connection runs under (`watch`: header and
//! keep-alive timeouts; `service`: request-body timeout, `ConnectInfo`).
//!
//! Past `--max-connections` open connections (WebSockets included), a new one is accepted and
//! closed at once, before anything is read from it: slow or idle clients cannot hold more than
//! the cap, and the descriptors above it stay free for the store and for those already in.
//!
//! axum's own accept loop, on `EMFILE`/`ENFILE`, logs and sleeps a second while the waiting
//! connections hang in the backlog. This one keeps a spare descriptor: out of descriptors, it
//! spends the spare to accept the waiting connection and close it straight away (the client
//! sees the connection closed and can retry later), then takes the spare back. Either way the
//! server keeps running and serves everyone already connected.

mod escape;
pub mod service;
pub mod watch;

use std::fs::File;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use crate::metrics::Metrics;
use watch::{Conn, Slot, Timeouts, Watch};

/// How often the "out of descriptors" warning may repeat.
const WARN_EVERY: Duration = Duration::from_secs(10);

pub struct Listener {
    inner: TcpListener,
    /// The most connections open at once.
    max_connections: usize,
    timeouts: Timeouts,
    /// Connections open now (each holds a `Slot`); a metrics gauge.
    open: prometheus_client::metrics::gauge::Gauge,
    /// Connections refused at the cap; a metrics counter.
    over_cap: prometheus_client::metrics::counter::Counter,
    /// Held open so that one descriptor can always be freed to refuse a connection.
    spare: Option<File>,
    /// Connections refused since the last warning.
    refused: u64,
    warned: Option<Instant>,
}

impl Listener {
    pub fn new(
        inner: TcpListener,
        max_connections: usize,
        timeouts: Timeouts,
        metrics: &Metrics,
    ) -> Self {
        Listener {
            inner,
            max_connections: max_connections.max(1),
            timeouts,
            open: metrics.open_connections.clone(),
            over_cap: metrics.connections_refused.clone(),
            spare: spare(),
            refused: 0,
            warned: None,
        }
    }

    /// Accepts the connection waiting in the backlog with the spare descriptor, and closes it.
    async fn refuse_one(&mut self) {
        let had_spare = self.spare.take().is_some();
        if had_spare
            && let Ok(Ok((stream, _))) =
                tokio::time::timeout(Duration::from_millis(50), self.inner.accept()).await
        {
            drop(stream);
            self.refused += 1;
        }
        self.spare = spare();
        if self.warned.is_none_or(|at| at.elapsed() >= WARN_EVERY) {
            tracing::warn!(
                refused = self.refused,
                "out of file descriptors: refusing new connections (raise `ulimit -n`)"
            );
            self.warned = Some(Instant::now());
            self.refused = 0;
        }
        if !had_spare {
            // Nothing to free: wait for a descriptor to come back rather than spin.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl axum::serve::Listener for Listener {
    type Io = Conn;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Conn, SocketAddr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, _)) if self.open.get() >= cap(self.max_connections) => {
                    refuse(stream);
                    self.over_cap.inc();
                }
                Ok((stream, peer)) => {
                    let slot = Slot::take(&self.open);
                    return (Conn::new(stream, Watch::new(self.timeouts), slot), peer);
                }
                Err(err) if out_of_descriptors(&err) => self.refuse_one().await,
                Err(err) if is_connection_error(&err) => continue,
                Err(err) => {
                    tracing::error!("accept failed: {err}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

fn cap(max: usize) -> i64 {
    i64::try_from(max).unwrap_or(i64::MAX)
}

/// Closes a connection over the cap without reading from it.
fn refuse(stream: TcpStream) {
    drop(stream);
}

/// The default `--max-connections`: 90% of the process's open-file limit (as `linkup serve`
/// raised it), the rest left for the store, logs and uploads.
pub fn default_max_connections() -> usize {
    let limit = rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft);
    usize::try_from(limit / 10 * 9).unwrap_or(usize::MAX).max(1)
}

fn spare() -> Option<File> {
    File::open("/dev/null").ok()
}

fn out_of_descriptors(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

fn is_connection_error(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}
