//! `GET /health`: the process is up and its store answers.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

/// Health of the node.
#[derive(Serialize, ToSchema)]
pub(crate) struct Health {
	/// `healthy` or `unhealthy`.
	status: String,
	/// `ok` or the store's error.
	store: String,
	/// Executions in flight on this node.
	executions_in_flight: usize,
	version: String,
}

/// 200 when the store answers a query, 503 otherwise.
#[utoipa::path(get, path = "/health", tag = "operations", security(()),
	responses((status = 200, body = Health), (status = 503, body = Health)))]
pub(crate) async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
	let store = state.engine.store().count_executions().await;
	let in_flight = state
		.engine
		.stats()
		.await
		.map(|s| s.executions)
		.unwrap_or(0);
	let (code, status, store) = match store {
		Ok(_) => (StatusCode::OK, "healthy", "ok".to_owned()),
		Err(e) => {
			tracing::error!(error = %e, "health check: store unavailable");
			(
				StatusCode::SERVICE_UNAVAILABLE,
				"unhealthy",
				"unavailable".to_owned(),
			)
		}
	};
	let body = Health {
		status: status.to_owned(),
		store,
		executions_in_flight: in_flight,
		version: env!("CARGO_PKG_VERSION").to_owned(),
	};
	(code, Json(body))
}
