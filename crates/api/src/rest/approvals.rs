//! Approvals: `GET /approvals` (what waits for the caller's decision), one approval of an
//! execution with its decisions so far, and `POST /executions/{id}/approvals/{component}` to
//! decide it.
//!
//! Who may decide: someone who may run the workflow (`execute`; a viewer never may), who is
//! one of the approval's approvers (by name, id or role; with none listed, anyone who may run
//! it), and who did not start the execution unless self-approval is allowed. Each user decides a
//! round once; every decision is audited.

use apg_core::{Decision, ExecutionId, Principal, Verdict, WorkflowAction, wait::ApprovalRequest};
use apg_engine::{DecisionRefused, PendingApproval};
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiQuery, JsonBody, parse_id, typed};
use crate::state::AppState;
use crate::views::{Envelope, iso};

type ApiResult<T> = Result<Json<Envelope<T>>, ApiError>;

pub(crate) fn router() -> Router<AppState> {
	Router::new()
		.route("/approvals", get(list_approvals))
		.route(
			"/executions/{id}/approvals/{component}",
			get(get_approval).post(decide_approval),
		)
}

/// One user's decision.
#[derive(Serialize, ToSchema)]
pub(crate) struct DecisionView {
	user_id: String,
	username: String,
	/// approve or reject.
	decision: String,
	comment: Option<String>,
	#[schema(value_type = Object)]
	values: Map<String, Value>,
	#[schema(format = DateTime)]
	decided_at: String,
}

impl DecisionView {
	fn new(d: &Decision) -> Self {
		Self {
			user_id: d.user_id.to_string(),
			username: d.username.clone(),
			decision: d.verdict.as_str().to_owned(),
			comment: d.comment.clone(),
			values: d.values.clone(),
			decided_at: iso(d.decided_at),
		}
	}
}

/// An approval waiting for decisions.
#[derive(Serialize, ToSchema)]
pub(crate) struct ApprovalView {
	execution_id: String,
	workflow_id: String,
	component_id: String,
	/// What the approvers are asked.
	message: Option<String>,
	/// Users (names or ids) who may decide.
	users: Vec<String>,
	/// Roles whose members may decide.
	roles: Vec<String>,
	required: u32,
	approvals: usize,
	allow_self_approval: bool,
	/// A JSON schema of the fields an approver fills in.
	#[schema(value_type = Option<Object>)]
	form: Option<Value>,
	/// approve, reject or fail.
	on_timeout: String,
	#[schema(format = DateTime)]
	deadline: Option<String>,
	#[schema(format = DateTime)]
	waiting_since: Option<String>,
	requested_by: Option<String>,
	round: u32,
	decisions: Vec<DecisionView>,
	/// Whether the caller may decide it now (an approver who has not decided this round).
	can_decide: bool,
}

impl ApprovalView {
	fn new(p: &PendingApproval, caller: &Principal) -> Self {
		let r: &ApprovalRequest = &p.request;
		let decided = p.decisions.iter().any(|d| d.user_id == caller.user_id);
		Self {
			execution_id: p.execution.id.to_string(),
			workflow_id: p.execution.workflow_id.to_string(),
			component_id: p.component_id.clone(),
			message: r.message.clone(),
			users: r.users.clone(),
			roles: r.roles.iter().map(|x| x.as_str().to_owned()).collect(),
			required: r.required,
			approvals: p
				.decisions
				.iter()
				.filter(|d| d.verdict == Verdict::Approve)
				.count(),
			allow_self_approval: r.allow_self_approval,
			form: r.form.clone(),
			on_timeout: serde_json::to_value(r.on_timeout)
				.ok()
				.and_then(|v| v.as_str().map(str::to_owned))
				.unwrap_or_default(),
			deadline: r.deadline.map(iso),
			waiting_since: p.since.map(iso),
			requested_by: r.requested_by.map(|u| u.to_string()),
			round: r.round,
			decisions: p.decisions.iter().map(DecisionView::new).collect(),
			can_decide: !decided && r.may_decide(caller).is_ok(),
		}
	}
}

/// Filters of the approvals inbox.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct InboxQuery {
	/// `true` (the default): only those the caller may decide now; `false`: every waiting
	/// approval of a workflow the caller may run.
	mine: Option<bool>,
}

/// What waits for the caller's decision (approvals of workflows they may run, where they are
/// an approver and have not decided yet), oldest first.
#[utoipa::path(get, path = "/api/v1/approvals", tag = "approvals", params(InboxQuery),
	responses((status = 200, body = Envelope<Vec<ApprovalView>>), (status = 400, body = crate::views::ErrorBody)))]
pub(crate) async fn list_approvals(
	State(state): State<AppState>,
	Caller(caller): Caller,
	ApiQuery(q): ApiQuery<InboxQuery>,
) -> ApiResult<Vec<ApprovalView>> {
	let mine = q.mine.unwrap_or(true);
	let mut out = Vec::new();
	for p in state.engine.pending_approvals(1_000).await? {
		let guard = &state.security.guard;
		if !guard
			.allows(&caller, p.execution.workflow_id, WorkflowAction::Execute)
			.await?
		{
			continue;
		}
		let view = ApprovalView::new(&p, &caller);
		if !mine || view.can_decide {
			out.push(view);
		}
	}
	let message = format!("{} approval(s) waiting", out.len());
	Ok(Json(Envelope::new(out, message)))
}

async fn pending(
	state: &AppState,
	caller: &Principal,
	id: &str,
	component: &str,
) -> Result<PendingApproval, ApiError> {
	let id: ExecutionId = parse_id(id, "execution")?;
	let exec = state
		.security
		.guard
		.execution(caller, id, WorkflowAction::Execute)
		.await?;
	Ok(state.engine.pending_approval(exec.id, component).await?)
}

/// One approval waiting for decisions, with the decisions of its round so far.
#[utoipa::path(get, path = "/api/v1/executions/{id}/approvals/{component}", tag = "approvals",
	params(("id" = String, Path, description = "Execution id"),
		("component" = String, Path, description = "The approval's component id")),
	responses((status = 200, body = Envelope<ApprovalView>), (status = 403, body = crate::views::ErrorBody),
		(status = 404, body = crate::views::ErrorBody), (status = 409, body = crate::views::ErrorBody)))]
pub(crate) async fn get_approval(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path((id, component)): Path<(String, String)>,
) -> ApiResult<ApprovalView> {
	let p = pending(&state, &caller, &id, &component).await?;
	Ok(Json(Envelope::new(
		ApprovalView::new(&p, &caller),
		"Approval".to_owned(),
	)))
}

/// A decision on an approval.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DecideBody {
	/// approve or reject.
	#[schema(value_type = String, pattern = "^(approve|reject)$")]
	decision: Verdict,
	/// Why.
	#[serde(default)]
	comment: Option<String>,
	/// The form's values (checked against its schema when approving).
	#[serde(default)]
	#[schema(value_type = Object)]
	values: Map<String, Value>,
}

/// Approves or rejects an approval waiting in an execution. 403 for someone who is not one of
/// its approvers (or started the execution, unless self-approval is allowed), 422 for values
/// that do not match its form, 409 when it no longer waits or the caller decided already.
#[utoipa::path(post, path = "/api/v1/executions/{id}/approvals/{component}", tag = "approvals",
	request_body = DecideBody,
	params(("id" = String, Path, description = "Execution id"),
		("component" = String, Path, description = "The approval's component id")),
	responses((status = 200, body = Envelope<DecisionView>), (status = 400, body = crate::views::ErrorBody),
		(status = 403, body = crate::views::ErrorBody), (status = 404, body = crate::views::ErrorBody),
		(status = 409, body = crate::views::ErrorBody), (status = 422, body = crate::views::ErrorBody)))]
pub(crate) async fn decide_approval(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path((id, component)): Path<(String, String)>,
	JsonBody(body): JsonBody,
) -> ApiResult<DecisionView> {
	let body: DecideBody = typed(body)?;
	if body.comment.as_ref().is_some_and(|c| c.len() > 2_000) {
		return Err(ApiError::bad_request("comment", "at most 2000 characters"));
	}
	let p = pending(&state, &caller, &id, &component).await?;
	let resource = format!("execution/{}/approval/{component}", p.execution.id);
	let decided = state
		.engine
		.decide(&p, &caller, body.decision, body.comment, body.values)
		.await;
	let decision = match decided {
		Ok(d) => d,
		Err(DecisionRefused::NotApprover(why)) => {
			state
				.security
				.guard
				.deny(&caller, "approval.decide", &resource, &why.to_string())
				.await;
			return Err(ApiError::Forbidden(why.to_string()));
		}
		Err(DecisionRefused::Engine(e)) => return Err(e.into()),
	};
	let details = json!({"decision": decision.verdict, "round": decision.round,
		"comment": decision.comment});
	state
		.audit(&caller, "approval.decide", resource, details)
		.await;
	let message = match decision.verdict {
		Verdict::Approve => "Approved",
		Verdict::Reject => "Rejected",
	};
	Ok(Json(Envelope::new(
		DecisionView::new(&decision),
		message.to_owned(),
	)))
}
