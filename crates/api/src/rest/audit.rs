//! `GET /audit`: the audit log, newest first, for `audit.read`. There is no way to change or
//! delete an entry through any API.

use apg_core::{AuditEntry, AuditFilter, Permission};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::rest::workflows::page;
use crate::state::AppState;
use crate::views::{Envelope, iso};

pub(crate) fn router() -> Router<AppState> {
	Router::new().route("/audit", get(list_audit))
}

/// Filters of the audit log.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditQuery {
	/// Only this username (or `anonymous`).
	actor: Option<String>,
	/// Only this action (`workflow.update`, `auth.login`, …).
	action: Option<String>,
	/// `allowed` or `denied`.
	outcome: Option<String>,
	/// Page size, 1–500 (default 50).
	#[param(minimum = 1, maximum = 500)]
	limit: Option<i64>,
	#[param(minimum = 0)]
	offset: Option<i64>,
}

/// One entry.
#[derive(Serialize, ToSchema)]
pub(crate) struct AuditView {
	id: i64,
	at: String,
	actor_id: Option<String>,
	actor: String,
	action: String,
	resource: String,
	/// `allowed` or `denied`.
	outcome: String,
	details: Value,
}

impl AuditView {
	fn new(e: &AuditEntry) -> Self {
		Self {
			id: e.id,
			at: iso(e.at),
			actor_id: e.actor_id.map(|u| u.to_string()),
			actor: e.actor.clone(),
			action: e.action.clone(),
			resource: e.resource.clone(),
			outcome: e.outcome.clone(),
			details: e.details.clone(),
		}
	}
}

/// Audit entries, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "users", params(AuditQuery),
	responses((status = 200, body = Envelope<Vec<AuditView>>), (status = 400, body = crate::views::ErrorBody),
		(status = 403, body = crate::views::ErrorBody)))]
pub(crate) async fn list_audit(
	State(state): State<AppState>,
	Caller(caller): Caller,
	ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<Envelope<Vec<AuditView>>>, ApiError> {
	state
		.security
		.guard
		.require(&caller, Permission::AuditRead)
		.await?;
	let (limit, offset) = page(q.limit, q.offset)?;
	if q.outcome
		.as_deref()
		.is_some_and(|o| o != "allowed" && o != "denied")
	{
		return Err(ApiError::bad_request(
			"outcome",
			"must be allowed or denied",
		));
	}
	let filter = AuditFilter {
		actor: q.actor,
		action: q.action,
		outcome: q.outcome,
		limit,
		offset,
	};
	let rows = state.security.accounts.list_audit(&filter).await?;
	Ok(Json(Envelope::new(
		rows.iter().map(AuditView::new).collect(),
		None,
	)))
}
