//! REST resources, one module each, each exporting `router()`.

pub(crate) mod approvals;
pub(crate) mod audit;
pub(crate) mod auth;
pub(crate) mod components;
pub(crate) mod credentials;
pub(crate) mod dashboard;
pub(crate) mod executions;
pub(crate) mod files;
pub(crate) mod health;
pub(crate) mod hooks;
pub(crate) mod notifications;
pub(crate) mod schedules;
pub(crate) mod shares;
pub(crate) mod signals;
pub(crate) mod users;
pub(crate) mod workflows;

use axum::Router;

use crate::state::AppState;

pub(crate) fn router() -> Router<AppState> {
	Router::new()
		.merge(workflows::router())
		.merge(executions::router())
		.merge(components::router())
		.merge(auth::router())
		.merge(users::router())
		.merge(audit::router())
		.merge(credentials::router())
		.merge(shares::router())
		.merge(files::router())
		.merge(notifications::router())
		.merge(schedules::router())
		.merge(hooks::router())
		.merge(approvals::router())
		.merge(signals::router())
		.merge(dashboard::router())
}
