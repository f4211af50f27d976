//! The HTTP server loop: the router on hyper with the limits `axum::serve` does not offer.
//!
//! - HTTP/1.1 only (see `serve`), with WebSocket upgrades.
//! - A deadline for a request's headers (`header_timeout`): a client that sends nothing, or its
//!   headers a byte at a time (slowloris), is cut off. hyper starts the same deadline again when
//!   a kept-alive connection waits for its next request, so it is also the idle timeout.
//! - A cap on open connections, in total and per client address, so one client cannot take
//!   every slot: over either, a new connection is closed at once.
//! - Graceful shutdown: stop accepting, let requests in flight finish (for at most
//!   `drain`), then return.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tower::ServiceExt;

use super::client_addr::TrustedProxies;

/// The server's connection limits.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
	/// Time a client has to send a request's headers, and to start its next one.
	pub(crate) header_timeout: Duration,
	/// Connections open at once.
	pub(crate) max_connections: usize,
	/// Connections open at once from one address.
	pub(crate) max_per_address: usize,
	/// How long shutdown waits for requests in flight.
	pub(crate) drain: Duration,
}

/// Serves `app` on `listener` until `shutdown` completes.
pub(crate) async fn serve(
	listener: tokio::net::TcpListener,
	app: Router,
	limits: Limits,
	proxies: TrustedProxies,
	shutdown: impl Future<Output = ()>,
) {
	let open = Arc::new(Open::default());
	let graceful = GracefulShutdown::new();
	// HTTP/1 only: detecting HTTP/2 (cleartext, prior knowledge) means waiting for the first 24
	// bytes with no deadline, which is exactly what a silent client exploits; browsers speak
	// HTTP/2 only over TLS, which a proxy in front of this server terminates.
	let mut builder = auto::Builder::new(TokioExecutor::new()).http1_only();
	builder
		.http1()
		.timer(TokioTimer::new())
		.header_read_timeout(limits.header_timeout);
	tokio::pin!(shutdown);
	loop {
		let (stream, peer) = tokio::select! {
			accepted = listener.accept() => match accepted {
				Ok(accepted) => accepted,
				Err(e) => {
					// Out of file descriptors, or a connection reset before it was accepted:
					// wait a moment instead of spinning.
					tracing::warn!(error = %e, "cannot accept a connection");
					tokio::time::sleep(Duration::from_millis(50)).await;
					continue;
				}
			},
			() = &mut shutdown => break,
		};
		let Some(slot) = Slot::take(&open, peer.ip(), limits) else {
			tracing::debug!(%peer, "connection refused: too many open");
			continue;
		};
		let app = app.clone();
		let proxies = proxies.clone();
		let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
			// What `into_make_service_with_connect_info` would add: the login throttle and the
			// audit read the client from it (the peer, or whom a trusted proxy forwarded).
			let client = proxies.client(peer, request.headers());
			// And whether it came over TLS (a trusted proxy's word): session cookies are
			// `Secure` then.
			let tls = apg_api::ClientTls(proxies.https(peer, request.headers()));
			request.extensions_mut().insert(ConnectInfo(client));
			request.extensions_mut().insert(tls);
			app.clone().oneshot(request)
		});
		let builder = builder.clone();
		let watcher = graceful.watcher();
		let header_timeout = limits.header_timeout;
		tokio::spawn(async move {
			// hyper's header deadline starts with the first byte; a client that sends none is
			// given the same time to start.
			// (`peek`, not `readable`: readiness may be reported before any byte arrived.)
			let mut first = [0u8; 1];
			if tokio::time::timeout(header_timeout, stream.peek(&mut first))
				.await
				.is_err()
			{
				tracing::debug!(%peer, "connection closed: nothing sent");
				return;
			}
			let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
			if let Err(e) = watcher.watch(connection).await {
				tracing::debug!(%peer, error = %e, "connection ended with an error");
			}
			drop(slot);
		});
	}
	drop(listener);
	if tokio::time::timeout(limits.drain, graceful.shutdown())
		.await
		.is_err()
	{
		tracing::warn!("connections still open after the drain period");
	}
}

/// Open connections, in total and per address.
#[derive(Default)]
struct Open {
	counts: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// One admitted connection; gives its place back when dropped.
struct Slot {
	open: Arc<Open>,
	address: IpAddr,
}

impl Slot {
	fn take(open: &Arc<Open>, address: IpAddr, limits: Limits) -> Option<Self> {
		let mut counts = open.counts.lock().unwrap_or_else(|e| e.into_inner());
		let (total, per_address) = &mut *counts;
		let mine = per_address.entry(address).or_insert(0);
		if *total >= limits.max_connections || *mine >= limits.max_per_address {
			return None;
		}
		*total += 1;
		*mine += 1;
		Some(Self {
			open: Arc::clone(open),
			address,
		})
	}
}

impl Drop for Slot {
	fn drop(&mut self) {
		let mut counts = self.open.counts.lock().unwrap_or_else(|e| e.into_inner());
		let (total, per_address) = &mut *counts;
		*total = total.saturating_sub(1);
		if let Some(n) = per_address.get_mut(&self.address) {
			*n = n.saturating_sub(1);
			if *n == 0 {
				per_address.remove(&self.address);
			}
		}
	}
}
