//! One accepted connection's clock: how long it may take to send a request's headers, and how
//! long it may sit idle between requests.
//!
//! The connection's byte stream (`Conn`) and the requests it carries (`service`) share one
//! `Watch`. While no request is being handled, the stream has a deadline: a new connection, or
//! an idle one that has started sending the next request, must finish the headers within the
//! header timeout (from the end of the last answer if the next request began while it was
//! handled); an idle keep-alive connection that sends nothing is closed after the
//! keep-alive timeout. While a request is handled there is none (its body has a timeout of its
//! own, between bytes; see `service`), and an upgraded connection (a WebSocket) has none for
//! good: sockets have their own ping rule. A read that passes the deadline fails with
//! `TimedOut`, and hyper closes the connection. Answers are timed too: a write the client
//! takes no byte of within the body timeout fails the same way, so a client that stops
//! reading (a "slow read") cannot hold its connection while a request of its waits to be
//! answered; a WebSocket's writes have their own timeout.

use std::io;
use std::pin::Pin;
use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::task::AtomicWaker;
use prometheus_client::metrics::gauge::Gauge;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep, sleep_until};

use super::escape::{Line, Preface, escape};

/// How long a client may take, at each step of a request.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// From the first byte of a request (or from the accept) to the end of its headers.
    pub header: Duration,
    /// Between two pieces of a request's body.
    pub body: Duration,
    /// From the end of a response to the first byte of the next request.
    pub keepalive: Duration,
}

/// What a connection is waiting for, shared by its stream and its requests.
pub struct Watch {
    timeouts: Timeouts,
    /// A std mutex: held only to read or update the state, never across an await.
    state: Mutex<State>,
    /// The task reading the stream, woken when the deadline changes or the connection is cut.
    reader: AtomicWaker,
}

struct State {
    /// Requests being handled (0 or 1: HTTP/1 answers one request at a time).
    in_flight: usize,
    /// The request being handled was read to the end of its body: bytes arriving now begin
    /// the next request.
    read_through: bool,
    /// Bytes of the next request arrived while this one was handled.
    next_begun: bool,
    /// No byte of the next request has arrived since the last response.
    between: bool,
    /// A request was answered on this connection already.
    answered: bool,
    /// When the stream's next read fails, if nothing is handled.
    deadline: Option<Instant>,
    /// Handed over to a WebSocket: no deadline any more.
    upgraded: bool,
    /// A body stalled: the connection ends at the next read or write.
    cut: bool,
}

impl Watch {
    /// The watch of a connection accepted now: its first request's headers are due within the
    /// header timeout.
    pub fn new(timeouts: Timeouts) -> Arc<Watch> {
        Arc::new(Watch {
            timeouts,
            state: Mutex::new(State {
                in_flight: 0,
                read_through: false,
                next_begun: false,
                between: true,
                answered: false,
                deadline: Some(Instant::now() + timeouts.header),
                upgraded: false,
                cut: false,
            }),
            reader: AtomicWaker::new(),
        })
    }

    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    fn update(&self, change: impl FnOnce(&mut State, &Timeouts)) {
        if let Ok(mut state) = self.state.lock() {
            change(&mut state, &self.timeouts);
        }
        self.reader.wake();
    }

    /// Bytes arrived: if they begin a request, its headers are now due (and true is returned).
    /// Those of a next request that arrive while one is handled start its clock when that one
    /// is answered (`request_finished`).
    fn bytes_arrived(&self) -> bool {
        let Ok(mut state) = self.state.lock() else {
            return false;
        };
        if state.upgraded {
            return false;
        }
        if state.in_flight > 0 {
            let begins = state.read_through && !state.next_begun;
            state.next_begun |= begins;
            return begins;
        }
        if state.between {
            state.between = false;
            let due = Instant::now() + self.timeouts.header;
            // A new connection's first headers are due within the header timeout of the
            // accept; a kept-alive one's next headers within that of their first byte.
            state.deadline = match state.deadline {
                Some(accepted) if !state.answered => Some(accepted.min(due)),
                _ => Some(due),
            };
            return true;
        }
        false
    }

    /// A request's headers were read and it is being handled.
    pub fn request_started(&self) {
        self.update(|state, _| {
            state.in_flight += 1;
            state.read_through = false;
            state.next_begun = false;
            state.between = false;
            state.deadline = None;
        });
    }

    /// The request being handled was read to the end of its body (or has none).
    pub fn request_read(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.read_through = true;
        }
    }

    /// A request was answered (its response sent, or abandoned).
    pub fn request_finished(&self) {
        self.update(|state, timeouts| {
            state.in_flight = state.in_flight.saturating_sub(1);
            state.answered = true;
            if state.in_flight == 0 && !state.upgraded {
                // A next request begun meanwhile has its headers due within the header
                // timeout; otherwise the connection may idle for the keep-alive timeout.
                state.between = !state.next_begun;
                let wait = if state.next_begun {
                    timeouts.header
                } else {
                    timeouts.keepalive
                };
                state.deadline = Some(Instant::now() + wait);
            }
        });
    }

    /// The connection was switched to another protocol (a WebSocket).
    pub fn upgraded(&self) {
        self.update(|state, _| {
            state.upgraded = true;
            state.deadline = None;
        });
    }

    /// Ends the connection at its next read or write (a request body stalled).
    pub fn cut(&self) {
        self.update(|state, _| state.cut = true);
    }

    /// Whether the connection was handed over to a WebSocket.
    fn is_websocket(&self) -> bool {
        self.state.lock().is_ok_and(|state| state.upgraded)
    }

    /// Whether writes are timed: not once the connection is a WebSocket.
    fn writes_timed(&self) -> bool {
        !self.is_websocket()
    }

    /// The deadline now, or `Err` if the connection was cut.
    fn deadline(&self) -> Result<Option<Instant>, ()> {
        match self.state.lock() {
            Ok(state) if state.cut => Err(()),
            Ok(state) => Ok(state.deadline),
            Err(_) => Ok(None),
        }
    }
}

/// A place among the open connections, given back when the connection's stream is dropped
/// (for a WebSocket, when the socket closes).
pub struct Slot(Gauge<i64, AtomicI64>);

impl Slot {
    pub fn take(open: &Gauge<i64, AtomicI64>) -> Slot {
        open.inc();
        Slot(open.clone())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// An accepted TCP stream that fails its reads once its watch's deadline has passed, and
/// escapes raw non-ASCII bytes in request lines (`escape`). A connection that opens with the
/// HTTP/2 preface fails its read there, and hyper closes it unserved: the server speaks
/// HTTP/1.1 only.
pub struct Conn {
    stream: TcpStream,
    watch: Arc<Watch>,
    /// Allocated the first time a read waits with a deadline, then reset; dropped once the
    /// connection is a WebSocket.
    timer: Option<Pin<Box<Sleep>>>,
    /// Allocated the first time a write waits for the client, then reset.
    write_timer: Option<Pin<Box<Sleep>>>,
    /// A write is waiting for the client to take bytes (its timer runs).
    write_waiting: bool,
    /// Where the next byte read lies, for the escaper.
    line: Line,
    /// Escaped bytes that did not fit the last read's buffer, handed out first.
    pending: Vec<u8>,
    /// How far the connection's first bytes follow the HTTP/2 preface.
    preface: Preface,
    _slot: Slot,
}

impl Conn {
    pub fn new(stream: TcpStream, watch: Arc<Watch>, slot: Slot) -> Conn {
        Conn {
            stream,
            watch,
            timer: None,
            write_timer: None,
            write_waiting: false,
            line: Line::Elsewhere,
            pending: Vec::new(),
            preface: Preface::START,
            _slot: slot,
        }
    }

    pub fn watch(&self) -> Arc<Watch> {
        self.watch.clone()
    }

    /// Bytes were read into `buf` after `before`: tell the watch, and escape a request line.
    /// Fails on the HTTP/2 preface.
    fn arrived(&mut self, buf: &mut ReadBuf<'_>, before: usize) -> io::Result<()> {
        if self.preface.seen(&buf.filled()[before..]) {
            buf.set_filled(before);
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "HTTP/2 is not served (HTTP/1.1 only)",
            ));
        }
        let starts_request = self.watch.bytes_arrived();
        let (line, escaped) = escape(&buf.filled()[before..], self.line, starts_request);
        self.line = line;
        if let Some(bytes) = escaped {
            buf.set_filled(before);
            let fit = bytes.len().min(buf.remaining());
            buf.put_slice(&bytes[..fit]);
            self.pending = bytes[fit..].to_vec();
        }
        Ok(())
    }

    /// The outcome of a write: one that waits for the client starts the body timeout (unless
    /// it runs already); one that goes through stops it. A write still waiting when the
    /// timeout runs out fails, and the connection is cut.
    fn written<T>(
        &mut self,
        cx: &mut Context<'_>,
        outcome: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if outcome.is_ready() {
            self.write_waiting = false;
            return outcome;
        }
        if !self.watch.writes_timed() {
            return Poll::Pending;
        }
        let limit = self.watch.timeouts.body;
        let timer = self
            .write_timer
            .get_or_insert_with(|| Box::pin(sleep_until(Instant::now() + limit)));
        if !self.write_waiting {
            timer.as_mut().reset(Instant::now() + limit);
            self.write_waiting = true;
        }
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.watch.cut();
                Poll::Ready(Err(timed_out()))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "client too slow")
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let Ok(deadline) = this.watch.deadline() else {
            return Poll::Ready(Err(timed_out()));
        };
        if !this.pending.is_empty() {
            let fit = this.pending.len().min(buf.remaining());
            buf.put_slice(&this.pending[..fit]);
            this.pending.drain(..fit);
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) if buf.filled().len() > before => {
                Poll::Ready(this.arrived(buf, before))
            }
            Poll::Ready(Ok(())) => Poll::Ready(Ok(())),
            Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
            Poll::Pending => {
                this.watch.reader.register(cx.waker());
                let Some(deadline) = deadline else {
                    // A WebSocket never has a deadline again: an idle socket holds no timer.
                    if this.watch.is_websocket() {
                        this.timer = None;
                    }
                    return Poll::Pending;
                };
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(sleep_until(deadline)));
                if timer.deadline() != deadline {
                    timer.as_mut().reset(deadline);
                }
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(timed_out())),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.watch.deadline().is_err() {
            return Poll::Ready(Err(timed_out()));
        }
        let outcome = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.written(cx, outcome)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.watch.deadline().is_err() {
            return Poll::Ready(Err(timed_out()));
        }
        let outcome = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.written(cx, outcome)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUTS: Timeouts = Timeouts {
        header: Duration::from_secs(10),
        body: Duration::from_secs(30),
        keepalive: Duration::from_secs(60),
    };

    fn deadline(watch: &Watch) -> Option<Duration> {
        let at = watch.deadline().expect("not cut")?;
        Some(at.saturating_duration_since(Instant::now()))
    }

    #[test]
    fn each_step_of_a_connection_has_its_deadline() {
        let watch = Watch::new(TIMEOUTS);
        assert!(deadline(&watch).is_some_and(|d| d <= TIMEOUTS.header));
        assert!(watch.bytes_arrived(), "the first bytes begin a request");
        assert!(!watch.bytes_arrived(), "more bytes of the same request");
        watch.request_started();
        assert_eq!(
            deadline(&watch),
            None,
            "no deadline while a request is handled"
        );
        watch.request_finished();
        let idle = deadline(&watch).expect("idle keep-alive");
        assert!(idle > TIMEOUTS.header && idle <= TIMEOUTS.keepalive);
        assert!(watch.bytes_arrived(), "the next request begins");
        assert!(deadline(&watch).is_some_and(|d| d <= TIMEOUTS.header));
        watch.request_started();
        watch.upgraded();
        watch.request_finished();
        assert_eq!(deadline(&watch), None, "a WebSocket has no deadline");
        assert!(!watch.bytes_arrived(), "frames begin no request");
        watch.cut();
        assert!(watch.deadline().is_err());
    }

    #[test]
    fn a_next_request_begun_during_an_answer_has_the_header_timeout() {
        let watch = Watch::new(TIMEOUTS);
        assert!(watch.bytes_arrived());
        watch.request_started();
        assert!(
            !watch.bytes_arrived(),
            "bytes before the end of the body are the body"
        );
        watch.request_read();
        assert!(watch.bytes_arrived(), "bytes past the body begin a request");
        assert!(!watch.bytes_arrived(), "more bytes of that request");
        assert_eq!(deadline(&watch), None, "none while the answer is written");
        watch.request_finished();
        assert!(
            deadline(&watch).is_some_and(|d| d <= TIMEOUTS.header),
            "its headers are due within the header timeout, not the keep-alive one"
        );
        assert!(!watch.bytes_arrived(), "its clock runs already");
        watch.request_started();
        watch.request_read();
        watch.request_finished();
        let idle = deadline(&watch).expect("idle keep-alive");
        assert!(
            idle > TIMEOUTS.header,
            "nothing begun: the keep-alive timeout"
        );
    }
}
