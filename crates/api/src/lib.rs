//! The HTTP edge: REST under `/api/v1` with the seed's envelope, the WebSocket at `/ws`, the
//! OpenAPI document, `/health` and `/metrics`.
//!
//! Handlers are thin: they parse input into domain values, make one call into the engine (every
//! change of an execution goes through it) or a read of the store, and map the result. Errors are
//! one enum, [`ApiError`], mapped once to DESIGN §5's envelope and status codes; the details of a
//! 5xx are logged, never sent. This crate never names a storage backend.

mod auth;
mod error;
mod extract;
mod metrics;
pub mod openapi;
mod rest;
mod state;
mod views;
mod ws;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

pub use auth::{Caller, ClientTls};
pub use error::ApiError;
pub use metrics::Metrics;
pub use state::{ApiConfig, AppState};

/// The complete router of the REST, WebSocket and operational endpoints. `extra` (GraphQL) is
/// merged under the same limits and layers.
pub fn app(state: AppState, extra: Router) -> Router {
	let max_body = state.config.max_body_bytes;
	let api = rest::router().route("/openapi.json", get(openapi::serve));
	Router::new()
		.nest("/api/v1", api)
		.route("/ws", get(ws::upgrade))
		.route("/health", get(rest::health::health))
		.route("/metrics", get(metrics::serve))
		.fallback(error::not_found)
		.with_state(state.clone())
		.merge(extra)
		.layer(axum::middleware::from_fn_with_state(
			state,
			auth::authenticate,
		))
		.layer(DefaultBodyLimit::max(max_body))
		.layer(RequestBodyLimitLayer::new(max_body))
		.layer(CatchPanicLayer::custom(error::panic_response))
		// Spans name the method and path only: a WebSocket upgrade may carry its token in the
		// query string, which must never reach a log.
		.layer(TraceLayer::new_for_http().make_span_with(
			|request: &axum::http::Request<axum::body::Body>| {
				tracing::debug_span!(
					"request",
					method = %request.method(),
					path = %request.uri().path(),
				)
			},
		))
		.layer(tower_http::timeout::TimeoutLayer::with_status_code(
			axum::http::StatusCode::REQUEST_TIMEOUT,
			Duration::from_secs(error::REQUEST_TIMEOUT_SECONDS),
		))
		.layer(axum::middleware::map_response(error::envelope_layer_errors))
}
