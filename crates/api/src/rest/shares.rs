//! `/workflows/{id}/shares`: who else may read, update or execute a workflow. Only its owner
//! and admins change shares; whoever may read the workflow may list them.

use apg_core::{Permission, Share, UserId, WorkflowAction, now_millis};
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{JsonBody, typed};
use crate::rest::workflows::load;
use crate::state::AppState;
use crate::views::{Envelope, iso};

type ApiResult<T> = Result<Json<Envelope<T>>, ApiError>;

pub(crate) fn router() -> Router<AppState> {
	Router::new().route("/workflows/{id}/shares", get(list_shares).put(set_shares))
}

/// One share, as listed.
#[derive(Serialize, ToSchema)]
pub(crate) struct ShareView {
	/// The user (id).
	user_id: String,
	/// What they may do: read, and maybe update and execute.
	actions: Vec<String>,
	/// When it was granted.
	created_at: String,
}

/// One share, as granted.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ShareGrant {
	/// The user (id).
	user_id: String,
	/// Any of read, update, execute (read is implied).
	actions: Vec<String>,
}

/// Every share of a workflow (replaces the current ones).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SharesBody {
	shares: Vec<ShareGrant>,
}

/// The shares of a workflow.
#[utoipa::path(get, path = "/api/v1/workflows/{id}/shares", tag = "workflows",
	params(("id" = String, Path, description = "Workflow id")),
	responses((status = 200, body = Envelope<Vec<ShareView>>), (status = 404, body = crate::views::ErrorBody)))]
pub(crate) async fn list_shares(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(id): Path<String>,
) -> ApiResult<Vec<ShareView>> {
	let w = load(&state, &caller, &id, WorkflowAction::Read).await?;
	let shares = state.security.accounts.shares(w.id).await?;
	Ok(Json(Envelope::new(shares.iter().map(view).collect(), None)))
}

fn view(s: &Share) -> ShareView {
	ShareView {
		user_id: s.user_id.to_string(),
		actions: s.actions.iter().map(|a| a.as_str().to_owned()).collect(),
		created_at: iso(s.created_at),
	}
}

/// Replaces who a workflow is shared with (owner or admin).
#[utoipa::path(put, path = "/api/v1/workflows/{id}/shares", tag = "workflows", request_body = SharesBody,
	params(("id" = String, Path, description = "Workflow id")),
	responses((status = 200, body = Envelope<Vec<ShareView>>), (status = 400, body = crate::views::ErrorBody),
		(status = 403, body = crate::views::ErrorBody), (status = 404, body = crate::views::ErrorBody)))]
pub(crate) async fn set_shares(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(id): Path<String>,
	JsonBody(body): JsonBody,
) -> ApiResult<Vec<ShareView>> {
	let w = load(&state, &caller, &id, WorkflowAction::Read).await?;
	let resource = format!("workflow/{}", w.id);
	if w.created_by != caller.owner() && !caller.can_everywhere(Permission::WorkflowUpdate) {
		state
			.security
			.guard
			.deny(&caller, "workflow.share", &resource, "not the owner")
			.await;
		return Err(ApiError::Forbidden(
			"only the owner or an admin may share a workflow".into(),
		));
	}
	let body: SharesBody = typed(body)?;
	if body.shares.len() > 1000 {
		return Err(ApiError::bad_request("shares", "at most 1,000"));
	}
	let now = now_millis();
	let mut shares = Vec::with_capacity(body.shares.len());
	for (i, s) in body.shares.iter().enumerate() {
		let path = format!("shares[{i}]");
		let user_id: UserId = s
			.user_id
			.parse()
			.map_err(|_| ApiError::bad_request(&format!("{path}.user_id"), "must be a user id"))?;
		if state.security.accounts.get_user(user_id).await?.is_none() {
			return Err(ApiError::Unprocessable {
				message: format!("{path}.user_id: no such user"),
				issues: vec![apg_core::Issue::new(
					format!("{path}.user_id"),
					"no such user",
				)],
			});
		}
		let mut actions = Vec::new();
		for a in &s.actions {
			let action = match a.as_str() {
				"read" => WorkflowAction::Read,
				"update" => WorkflowAction::Update,
				"execute" => WorkflowAction::Execute,
				_ => {
					return Err(ApiError::bad_request(
						&format!("{path}.actions"),
						"each must be read, update or execute",
					));
				}
			};
			if !actions.contains(&action) {
				actions.push(action);
			}
		}
		if !actions.contains(&WorkflowAction::Read) {
			actions.push(WorkflowAction::Read);
		}
		actions.sort();
		shares.retain(|x: &Share| x.user_id != user_id);
		shares.push(Share {
			workflow_id: w.id,
			user_id,
			actions,
			created_at: now,
		});
	}
	state.security.accounts.set_shares(w.id, &shares).await?;
	let details = json!({"shares": shares.iter().map(|s| json!({"user_id": s.user_id.to_string(),
		"actions": s.actions})).collect::<Vec<_>>()});
	state
		.audit(&caller, "workflow.share", resource, details)
		.await;
	Ok(Json(Envelope::new(
		shares.iter().map(view).collect(),
		"Shares updated".to_owned(),
	)))
}
