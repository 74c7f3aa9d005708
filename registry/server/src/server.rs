//! The HTTP server around [`app`](crate::app): how connections are
//! accepted, timed out and capped, and the per-address request rate.
//!
//! A slow client is the cheapest attack on a server: a connection that
//! sends half a request and waits costs its maker one socket and the server
//! one socket, one task and, past the process's file limit, every other
//! client's connection. So [`serve`] runs hyper's HTTP/1 connections itself
//! (axum's `serve` sets no timer, hence no header timeout) with:
//!
//! * a **header timeout** ([`Config::header_timeout`]): hyper's
//!   `header_read_timeout`, started when a connection waits for a request
//!   (on opening, and after each answer), so it also closes idle keep-alive
//!   connections;
//! * a **body timeout** ([`Config::body_timeout`]): a deadline on the whole
//!   request body, from the moment a handler starts reading it ([`guard`]);
//! * an **idle timeout** ([`Config::idle_timeout`]): a read or a write that
//!   moves no byte for that long closes the connection (`tokio-io-timeout`),
//!   for the client that stops reading its answer;
//! * a **per-address connection cap**
//!   ([`Config::connections_per_address`]): a connection from an address
//!   that already holds that many is closed as soon as it is accepted, so
//!   one client cannot take the file descriptors every other client needs;
//! * a **per-address request rate** ([`Config::request_rate`], checked by
//!   [`guard`] before routing): 429 with `Retry-After` past it.
//!
//! The address is the one [`Client`] rule the sign-in limits use too.
//! Behind a proxy ([`Config::behind_proxy`]) every connection comes from
//! the proxy, so the connection cap is not applied (the proxy caps its
//! clients' connections) while the request rate counts the forwarded
//! address.
//!
//! [`Config::header_timeout`]: crate::Config::header_timeout
//! [`Config::body_timeout`]: crate::Config::body_timeout
//! [`Config::idle_timeout`]: crate::Config::idle_timeout
//! [`Config::connections_per_address`]: crate::Config::connections_per_address
//! [`Config::request_rate`]: crate::Config::request_rate
//! [`Config::behind_proxy`]: crate::Config::behind_proxy

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt as _;

use crate::client::{Client, address_of};
use crate::error::AppError;
use crate::store::Registry;

/// Serves [`app`](crate::app) on `listener` until `shutdown` completes,
/// then finishes the requests in flight.
pub(crate) async fn serve(
    listener: TcpListener,
    registry: Registry,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let config = registry.config().clone();
    let router = crate::app(registry);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(config.header_timeout);
    let cap = Some(config.connections_per_address).filter(|&n| n > 0 && !config.behind_proxy);
    let connections = Arc::new(Connections::default());
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let slot = match cap {
            Some(max) => match connections.admit(peer.ip(), max) {
                Some(slot) => Some(slot),
                None => {
                    tracing::debug!(%peer, max, "refused a connection: the address holds its cap");
                    continue;
                }
            },
            None => None,
        };
        let mut stream = tokio_io_timeout::TimeoutStream::new(stream);
        stream.set_read_timeout(Some(config.idle_timeout));
        stream.set_write_timeout(Some(config.idle_timeout));
        let io = TokioIo::new(Box::pin(stream));
        let service = router
            .clone()
            .map_request(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
        let connection =
            graceful.watch(http.serve_connection(io, TowerToHyperService::new(service)));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%peer, "connection closed: {error}");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// After a failed `accept`: connection errors concern one client and are
/// skipped; others (out of file descriptors) are logged, and the loop
/// pauses briefly instead of spinning.
async fn accept_failed(error: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(
        "could not accept a connection: {error} (out of file descriptors? raise the \
         process's limit, `LimitNOFILE=` under systemd)"
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// Open connections per client address.
#[derive(Debug, Default)]
struct Connections {
    open: Mutex<HashMap<IpAddr, u32>>,
}

/// One open connection of an address; dropping it frees the place.
#[derive(Debug)]
struct Slot {
    connections: Arc<Connections>,
    address: IpAddr,
}

impl Connections {
    /// A place for a connection from `peer`, unless its address holds `max`.
    fn admit(self: &Arc<Self>, peer: IpAddr, max: u32) -> Option<Slot> {
        let address = address_of(peer);
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = open.entry(address).or_default();
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(Slot {
            connections: Arc::clone(self),
            address,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self
            .connections
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = open.get_mut(&self.address) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.address);
            }
        }
    }
}

/// The middleware every request passes first: the client address's
/// request rate (429 with `Retry-After` past it), then the body deadline.
pub(crate) async fn guard(
    State(registry): State<Registry>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let client = Client::of_parts(&parts, registry.config().behind_proxy);
    if let Some(address) = client.address()
        && let Err(wait) = registry.request_limiter().check(address)
    {
        let path = parts.uri.path();
        if path.starts_with("/api/") || path.starts_with("/index/") {
            return AppError::too_many_requests(
                format!(
                    "this address sent too many requests; wait {wait} seconds (the \
                     registry allows each address a burst, then a steady rate)"
                ),
                wait,
            )
            .into_response();
        }
        return crate::web::slow_down(wait);
    }
    let timeout = registry.config().body_timeout;
    let body = if http_body::Body::is_end_stream(&body) {
        body
    } else {
        Body::new(Deadline {
            body,
            timeout,
            sleep: None,
        })
    };
    next.run(Request::from_parts(parts, body)).await
}

/// A request body that fails once `timeout` has passed since it was first
/// read.
struct Deadline {
    body: Body,
    timeout: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

/// The error a [`Deadline`] body fails with.
#[derive(Debug, thiserror::Error)]
#[error(
    "the request body did not arrive within {} s; send it faster, or ask the registry's \
     operator to raise `--body-timeout`",
    .0.as_secs()
)]
struct BodyTimedOut(Duration);

impl http_body::Body for Deadline {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let timeout = this.timeout;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        if sleep.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut(timeout)))));
        }
        Pin::new(&mut this.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_are_capped_per_address() {
        let connections = Arc::new(Connections::default());
        let a: IpAddr = [192, 0, 2, 1].into();
        let b: IpAddr = [192, 0, 2, 2].into();
        let first = connections.admit(a, 2).expect("a's first");
        let _second = connections.admit(a, 2).expect("a's second");
        assert!(connections.admit(a, 2).is_none(), "a holds its cap");
        assert!(connections.admit(b, 2).is_some(), "b is another address");
        drop(first);
        assert!(connections.admit(a, 2).is_some(), "a closed one");
        // One IPv6 host: its /64.
        let v6 = |s: &str| s.parse::<IpAddr>().expect("an address");
        let _one = connections.admit(v6("2001:db8::1"), 1).expect("first");
        assert!(connections.admit(v6("2001:db8::2"), 1).is_none());
        assert!(connections.admit(v6("2001:db8:0:1::1"), 1).is_some());
    }
}
