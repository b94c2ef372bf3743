//! The listening socket, refusing connections at once when the process is out of descriptors.
//!
//! axum's own accept loop, on `EMFILE`/`ENFILE`, logs and sleeps a second while the waiting
//! connections hang in the backlog. This one keeps a spare descriptor: out of descriptors, it
//! spends the spare to accept the waiting connection and close it straight away (the client
//! sees the connection closed and can retry later), then takes the spare back. Either way the
//! server keeps running and serves everyone already connected.

use std::fs::File;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

/// How often the "out of descriptors" warning may repeat.
const WARN_EVERY: Duration = Duration::from_secs(10);

pub struct Listener {
    inner: TcpListener,
    /// Held open so that one descriptor can always be freed to refuse a connection.
    spare: Option<File>,
    /// Connections refused since the last warning.
    refused: u64,
    warned: Option<Instant>,
}

impl Listener {
    pub fn new(inner: TcpListener) -> Self {
        Listener {
            inner,
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
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        loop {
            match self.inner.accept().await {
                Ok(connection) => return connection,
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
