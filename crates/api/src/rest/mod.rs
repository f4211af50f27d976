//! REST resources, one module each, each exporting `router()`.

pub(crate) mod components;
pub(crate) mod executions;
pub(crate) mod health;
pub(crate) mod workflows;

use axum::Router;

use crate::state::AppState;

pub(crate) fn router() -> Router<AppState> {
	Router::new()
		.merge(workflows::router())
		.merge(executions::router())
		.merge(components::router())
}
