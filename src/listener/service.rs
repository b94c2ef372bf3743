//! The service each connection runs: the router, with the connection's watch told when a
//! request starts and when its response is done (or switched to a WebSocket), the peer's
//! address given to handlers as `ConnectInfo<SocketAddr>`, and the request body timed between
//! its pieces (a body that stalls cuts the connection off).

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::serve::IncomingStream;
use futures_util::future::BoxFuture;
use http_body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep, sleep};
use tower::Service;

use super::Listener;
use super::watch::Watch;

/// Makes each accepted connection's service (what `axum::serve` calls per connection).
#[derive(Clone)]
pub struct Connections {
    pub router: Router,
}

impl<'a> Service<IncomingStream<'a, Listener>> for Connections {
    type Response = Watched;
    type Error = Infallible;
    type Future = Ready<Result<Watched, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, stream: IncomingStream<'a, Listener>) -> Self::Future {
        ready(Ok(Watched {
            router: self.router.clone(),
            watch: stream.io().watch(),
            peer: *stream.remote_addr(),
        }))
    }
}

/// The router as one connection runs it.
#[derive(Clone)]
pub struct Watched {
    router: Router,
    watch: Arc<Watch>,
    peer: SocketAddr,
}

impl Service<Request> for Watched {
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        <Router as Service<Request>>::poll_ready(&mut self.router, cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        self.watch.request_started();
        let handled = Handled(self.watch.clone());
        let (mut parts, body) = request.into_parts();
        parts.extensions.insert(ConnectInfo(self.peer));
        // hyper hands the connection over after a 101 (a WebSocket), or a 2xx to a CONNECT.
        let connect = parts.method == Method::CONNECT;
        let body = Body::new(Timed::new(body, self.watch.clone()));
        let answer = self.router.call(Request::from_parts(parts, body));
        Box::pin(async move {
            let Ok(response) = answer.await;
            let status = response.status();
            if status == StatusCode::SWITCHING_PROTOCOLS || (connect && status.is_success()) {
                handled.0.upgraded();
            }
            Ok(response.map(|body| {
                Body::new(Tracked {
                    body,
                    _handled: handled,
                })
            }))
        })
    }
}

/// Tells the watch the request is finished when dropped: when its response body has been sent,
/// or when the request was abandoned.
struct Handled(Arc<Watch>);

impl Drop for Handled {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// A response body that holds its request's `Handled` until it is sent.
struct Tracked {
    body: Body,
    _handled: Handled,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A request body whose next piece must come within the body timeout of the last one (or of
/// the handler's first wait for it); otherwise reading it fails and the connection is cut.
/// Its end is told to the watch: bytes after it begin the next request.
struct Timed {
    body: Body,
    watch: Arc<Watch>,
    limit: Duration,
    /// Running while the handler waits for the next piece.
    timer: Option<Pin<Box<Sleep>>>,
    waiting: bool,
}

impl Timed {
    fn new(body: Body, watch: Arc<Watch>) -> Timed {
        let limit = watch.timeouts().body;
        if http_body::Body::is_end_stream(&body) {
            watch.request_read();
        }
        Timed {
            body,
            watch,
            limit,
            timer: None,
            waiting: false,
        }
    }
}

impl http_body::Body for Timed {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.waiting = false;
                let last = matches!(frame, Some(Ok(_))) && this.body.is_end_stream();
                if frame.is_none() || last {
                    this.watch.request_read();
                }
                Poll::Ready(frame)
            }
            Poll::Pending => {
                let limit = this.limit;
                let timer = this.timer.get_or_insert_with(|| Box::pin(sleep(limit)));
                if !this.waiting {
                    timer.as_mut().reset(Instant::now() + limit);
                    this.waiting = true;
                }
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        this.watch.cut();
                        let stalled = std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "the request body stalled",
                        );
                        Poll::Ready(Some(Err(axum::Error::new(stalled))))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
