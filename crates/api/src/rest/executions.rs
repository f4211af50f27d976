//! `/executions`: list, detail with components and attempts, logs, cancel, retry, and the
//! server-side debugger (breakpoints, pause state, continue/step, trace download).

use apg_core::{
	ExecutionFilter, ExecutionId, ExecutionStatus, Principal, WorkflowAction, WorkflowId,
};
use axum::extract::{Path, State};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiQuery, JsonBody, parse_id, typed};
use crate::rest::workflows::page;
use crate::state::AppState;
use crate::views::{
	BreakpointsBody, ComponentView, DebugView, Envelope, ExecutionDetailView, ExecutionView,
	LogView, ResumeBody,
};

type ApiResult<T> = Result<Json<Envelope<T>>, ApiError>;

pub(crate) fn router() -> Router<AppState> {
	Router::new()
		.route("/executions", get(list_executions))
		.route("/executions/{id}", get(get_execution))
		.route("/executions/{id}/logs", get(execution_logs))
		.route(
			"/executions/{id}/components/{component}",
			get(execution_component),
		)
		.route("/executions/{id}/cancel", post(cancel_execution))
		.route("/executions/{id}/retry", post(retry_execution))
		.route("/executions/{id}/rerun", post(rerun_execution))
		.route("/executions/{id}/children", get(execution_children))
		.route("/executions/{id}/resume", post(resume_execution))
		.route("/executions/{id}/breakpoints", put(set_breakpoints))
		.route("/executions/{id}/debug", get(debug_execution))
		.route("/executions/{id}/trace", get(execution_trace))
}

/// Filters of the execution list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
	/// Only executions of this workflow.
	workflow_id: Option<String>,
	/// pending, queued, running, paused, completed, failed or cancelled.
	status: Option<String>,
	/// Page size, 1–500 (default 50).
	#[param(minimum = 1, maximum = 500)]
	limit: Option<i64>,
	#[param(minimum = 0)]
	offset: Option<i64>,
}

/// Loads an execution the caller may act on (404 when they may not see its workflow).
async fn load(
	state: &AppState,
	caller: &Principal,
	id: &str,
	action: WorkflowAction,
) -> Result<apg_core::Execution, ApiError> {
	let id: ExecutionId = parse_id(id, "execution")?;
	Ok(state.security.guard.execution(caller, id, action).await?)
}

/// Executions, newest first, as summaries: `results` is null, `parameters` and `variables` empty
/// however large they are; `GET /api/v1/executions/{id}` has them.
#[utoipa::path(get, path = "/api/v1/executions", tag = "executions", params(ListQuery),
	responses((status = 200, body = Envelope<Vec<ExecutionView>>), (status = 400, body = crate::views::ErrorBody)))]
pub(crate) async fn list_executions(
	State(state): State<AppState>,
	Caller(caller): Caller,
	ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Vec<ExecutionView>> {
	let (limit, offset) = page(q.limit, q.offset)?;
	let workflow_id = match q.workflow_id.as_deref() {
		None => None,
		Some(text) => Some(
			text.parse::<WorkflowId>()
				.map_err(|_| ApiError::bad_request("workflow_id", "must be a UUID"))?,
		),
	};
	let status = match q.status.as_deref() {
		None => None,
		Some(text) => Some(ExecutionStatus::parse(text).ok_or_else(|| {
			ApiError::bad_request(
				"status",
				"must be pending, queued, running, paused, completed, failed or cancelled",
			)
		})?),
	};
	let filter = ExecutionFilter {
		workflow_id,
		status,
		visible_to: state.security.guard.visible_to(&caller),
		limit,
		offset,
	};
	let rows = state.engine.store().list_executions(&filter).await?;
	Ok(Json(Envelope::new(
		rows.iter().map(ExecutionView::new).collect(),
		None,
	)))
}

/// One execution with its components and every attempt.
#[utoipa::path(get, path = "/api/v1/executions/{id}", tag = "executions",
	params(("id" = String, Path, description = "Execution id")),
	responses((status = 200, body = Envelope<ExecutionDetailView>), (status = 404, body = crate::views::ErrorBody)))]
pub(crate) async fn get_execution(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(id): Path<String>,
) -> ApiResult<ExecutionDetailView> {
	let exec = load(&state, &caller, &id, WorkflowAction::Read).await?;
	let store = state.engine.store();
	let steps = store.steps(exec.id).await?;
	let attempts = store.attempts(exec.id).await?;
	Ok(Json(Envelope::new(
		ExecutionDetailView::new(&exec, &steps, &attempts),
		None,
	)))
}

/// One component of an execution with its whole input and output, however large (the detail
/// leaves out those over 64 KiB).
#[utoipa::path(get, path = "/api/v1/executions/{id}/components/{component}", tag = "executions",
	params(("id" = String, Path, description = "Execution id"),
		("component" = String, Path, description = "Component id")),
	responses((status = 200, body = Envelope<ComponentView>), (status = 404, body = crate::views::ErrorBody)))]
pub(crate) async fn execution_component(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path((id, component)): Path<(String, String)>,
) -> ApiResult<ComponentView> {
	let exec = load(&state, &caller, &id, WorkflowAction::Read).await?;
	let steps = state.engine.store().steps(exec.id).await?;
	let step = steps
		.iter()
		.find(|s| s.component_id == component)
		.ok_or_else(|| ApiError::NotFound(format!("component '{component}' of execution {id}")))?;
	Ok(Json(Envelope::new(ComponentView::new(step, None), None)))
}

/// The execution's log, oldest first.
#[utoipa::path(get, path = "/api/v1/executions/{id}/logs", tag = "executions",
	params(("id" = String, Path, description = "Execution id")),
	responses((status = 200, body = Envelope<Vec<LogView>>), (status = 404, body = crate::views::ErrorBody)))]
pub(crate) async fn execution_logs(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(id): Path<String>,
) -> ApiResult<Vec<LogView>> {
	let exec = load(&state, &caller, &id, WorkflowAction::Read).await?;
	let logs = state.engine.store().logs(exec.id).await?;
	Ok(Json(Envelope::new(
		logs.iter().map(LogView::new).collect(),
		None,
	)))
}

/// Cancels an execution that has not ended (409 when it has).
#[utoipa::path(post, path = "/api/v1/executions/{id}/cancel", tag = "executions",
	params(("id" = String, Path, description = "Execution id")),
	responses((status = 200, body = Envelope<ExecutionView>), (status = 404, body = crate::views::ErrorBody),
		(status = 409, body = crate::views::ErrorBody)))]
pub(crate) async fn cancel_execution(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(id): Path<String>,
) -> ApiResult<ExecutionView> {
	let exec = load(&state, &caller, &id, WorkflowAction::Execute).await?;
	state.engine.cancel(exec.id).await?;
	let exec = state.engine.wait(exec.id).await?;
	state
		.audit(
			&caller,
			"execution.cancel",
			format!("execution/{}", exec.id),
			Value::Null,
		)
		.await;
	Ok(Json(Envelope::new(
		ExecutionView::new(&exec),
		"Execution cancelled".to_owned(),
	)))
}

/// The child executions of an execution's `sub_workflow` and `for_each` steps (summaries, in
/// creation order; each names its step and item in `parent`).
#[utoipa::path(get, path = "/api/v1/executions/{id}/children", tag = "executions",
	params(("id" = String, Path, description = "Execution id")),
	responses((status = 200, body = Envelope<Vec<ExecutionView>>), (status = 404, body = crate::views::ErrorBody)))]
pub(crate) async fn execution_children(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(id): Path<String>,
) -> ApiResult<Vec<ExecutionView>> {
	let exec = load(&state, &caller, &id, WorkflowAction::Read).await?;
	let all = state
		.engine
		.store()
		.children(exec.id)
		.await
		.map_err(apg_engine::EngineError::from)?;
	// A child running another workflow is listed only to those who may read that workflow.
	let mut readable = std::collections::HashMap::new();
	let mut children = Vec::with_capacity(all.len());
	for mut c in all {
		let allowed = match readable.get(&c.workflow_id) {
			Some(&a) => a,
			None => {
				let a = c.workflow_id == exec.workflow_id
					|| state
						.security
						.guard
						.allows(&caller, c.workflow_id, WorkflowAction::Read)
						.await?;
				readable.insert(c.workflow_id, a);
				a
			}
		};
		if allowed {
			c.parameters.clear();
			c.vars.clear();
			c.results = None;
			children.push(ExecutionView::new(&c));
		}
	}
	let message = format!("{} child execution(s)", children.len());
	Ok(Json(Envelope::new(children, message)))
}

/// Re-runs a failed or cancelled execution from its failed components; completed ones keep
/// their results.
#[utoipa::path(post, path = "/api/v1/executions/{id}/retry", tag = "executions",
	params(("id" = String, Path, description = "Execution id")),
	responses((status = 200, body = Envelope<ExecutionView>), (status = 404, body = crate::views::ErrorBody),
		(status = 409, body = crate::views::ErrorBody)))]
pub(crate) async fn retry_execution(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(id): Path<String>,
) -> ApiResult<ExecutionView> {
	let exec = load(&state, &caller, &id, WorkflowAction::Execute).await?;
	let exec = state.engine.retry(exec.id).await?;
	state
		.audit(
			&caller,
			"execution.retry",
			format!("execution/{}", exec.id),
			Value::Null,
		)
		.await;
	Ok(Json(Envelope::new(
		ExecutionView::new(&exec),
		"Execution retried".to_owned(),
	)))
}

/// What to rerun from.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RerunBody {
	/// The component to run from: everything upstream of it keeps the original's results.
	from: String,
	/// New parameters (default: the original's).
	#[schema(value_type = Option<Object>)]
	parameters: Option<serde_json::Map<String, Value>>,
}

/// Starts a new execution of the same version from one component: the outputs the original
/// recorded upstream of it are reused, and it and everything else runs again. The new
/// execution's log names the original.
#[utoipa::path(post, path = "/api/v1/executions/{id}/rerun", tag = "executions", request_body = RerunBody,
	params(("id" = String, Path, description = "Execution id")),
	responses((status = 201, body = Envelope<ExecutionView>), (status = 400, body = crate::views::ErrorBody),
		(status = 404, body = crate::views::ErrorBody), (status = 409, body = crate::views::ErrorBody),
		(status = 422, body = crate::views::ErrorBody)))]
pub(crate) async fn rerun_execution(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(id): Path<String>,
	JsonBody(body): JsonBody,
) -> Result<(axum::http::StatusCode, Json<Envelope<ExecutionView>>), ApiError> {
	let original = load(&state, &caller, &id, WorkflowAction::Execute).await?;
	let body: RerunBody = typed(body)?;
	let request = apg_engine::RerunRequest {
		of: original.id,
		from: body.from,
		parameters: body.parameters,
		started_by: Some(caller.user_id),
	};
	let exec = state.engine.rerun(request).await?;
	let details = serde_json::json!({"rerun_of": original.id.to_string()});
	state
		.audit(
			&caller,
			"execution.rerun",
			format!("execution/{}", exec.id),
			details,
		)
		.await;
	Ok((
		axum::http::StatusCode::CREATED,
		Json(Envelope::new(
			ExecutionView::new(&exec),
			"Execution rerun".to_owned(),
		)),
	))
}

/// Resumes a paused execution; `{"step": true}` pauses again before the next component.
#[utoipa::path(post, path = "/api/v1/executions/{id}/resume", tag = "executions", request_body = ResumeBody,
	params(("id" = String, Path, description = "Execution id")),
	responses((status = 200, body = Envelope<ExecutionView>), (status = 400, body = crate::views::ErrorBody),
		(status = 404, body = crate::views::ErrorBody), (status = 409, body = crate::views::ErrorBody)))]
pub(crate) async fn resume_execution(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(id): Path<String>,
	JsonBody(body): JsonBody,
) -> ApiResult<ExecutionView> {
	let exec = load(&state, &caller, &id, WorkflowAction::Execute).await?;
	let body: ResumeBody = typed(body)?;
	state.engine.resume(exec.id, body.step).await?;
	let exec = load(&state, &caller, &id, WorkflowAction::Execute).await?;
	state
		.audit(
			&caller,
			"execution.resume",
			format!("execution/{}", exec.id),
			Value::Null,
		)
		.await;
	Ok(Json(Envelope::new(
		ExecutionView::new(&exec),
		"Execution resumed".to_owned(),
	)))
}

/// Replaces the breakpoints of a running execution.
#[utoipa::path(put, path = "/api/v1/executions/{id}/breakpoints", tag = "executions", request_body = BreakpointsBody,
	params(("id" = String, Path, description = "Execution id")),
	responses((status = 200, body = Envelope<Vec<String>>), (status = 400, body = crate::views::ErrorBody),
		(status = 404, body = crate::views::ErrorBody), (status = 409, body = crate::views::ErrorBody),
		(status = 422, body = crate::views::ErrorBody)))]
pub(crate) async fn set_breakpoints(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(id): Path<String>,
	JsonBody(body): JsonBody,
) -> ApiResult<Vec<String>> {
	let exec = load(&state, &caller, &id, WorkflowAction::Execute).await?;
	let body: BreakpointsBody = typed(body)?;
	state
		.engine
		.set_breakpoints(exec.id, body.breakpoints.clone())
		.await?;
	state
		.audit(
			&caller,
			"execution.breakpoints",
			format!("execution/{}", exec.id),
			Value::Null,
		)
		.await;
	Ok(Json(Envelope::new(
		body.breakpoints,
		"Breakpoints set".to_owned(),
	)))
}

/// What the debugger shows: where the execution is paused, the inputs waiting there, the
/// variables and parameters.
#[utoipa::path(get, path = "/api/v1/executions/{id}/debug", tag = "executions",
	params(("id" = String, Path, description = "Execution id")),
	responses((status = 200, body = Envelope<DebugView>), (status = 404, body = crate::views::ErrorBody)))]
pub(crate) async fn debug_execution(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(id): Path<String>,
) -> ApiResult<DebugView> {
	let exec = load(&state, &caller, &id, WorkflowAction::Read).await?;
	let held = state.engine.held(exec.id).await?.unwrap_or_default();
	let steps = state.engine.store().steps(exec.id).await?;
	let mut inputs = Map::new();
	for s in steps.iter().filter(|s| held.contains(&s.component_id)) {
		inputs.insert(
			s.component_id.clone(),
			s.input.clone().unwrap_or(Value::Null),
		);
	}
	let view = DebugView {
		status: exec.status.to_string(),
		paused_at: held,
		inputs: crate::views::masked(Value::Object(inputs)),
		variables: Value::Object(exec.vars.clone()),
		parameters: Value::Object(exec.parameters.clone()),
		breakpoints: exec.breakpoints.clone(),
	};
	Ok(Json(Envelope::new(view, None)))
}

/// The execution trace (the seed's `WorkflowDebugger` trace), one entry per component reached.
#[utoipa::path(get, path = "/api/v1/executions/{id}/trace", tag = "executions",
	params(("id" = String, Path, description = "Execution id")),
	responses((status = 200, body = Envelope<Vec<Object>>), (status = 404, body = crate::views::ErrorBody)))]
pub(crate) async fn execution_trace(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(id): Path<String>,
) -> ApiResult<Value> {
	let exec = load(&state, &caller, &id, WorkflowAction::Read).await?;
	let mut trace = apg_engine::trace::build(&**state.engine.store(), exec.id).await?;
	apg_auth::mask_value(&mut trace);
	Ok(Json(Envelope::new(trace, None)))
}
