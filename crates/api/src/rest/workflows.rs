//! `/workflows`: create, list, read, replace, patch, delete, validate, execute, stats, versions.

use apg_core::{
	NewWorkflow, Permission, Principal, Priority, WorkflowAction, WorkflowFilter, WorkflowId,
	WorkflowStatus, validate,
};
use apg_engine::{ExecuteRequest, workflows};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiQuery, JsonBody, parse_id, typed};
use crate::state::AppState;
use crate::views::{
	Envelope, ExecuteBody, ExecutionView, StatsView, ValidateBody, ValidationView, VersionView,
	WorkflowBody, WorkflowPatch, WorkflowView,
};

type ApiResult<T> = Result<Json<Envelope<T>>, ApiError>;

pub(crate) fn router() -> Router<AppState> {
	Router::new()
		.route("/workflows", get(list_workflows).post(create_workflow))
		.route("/workflows/validate", post(validate_definition))
		.route(
			"/workflows/{id}",
			get(get_workflow)
				.put(replace_workflow)
				.patch(patch_workflow)
				.delete(delete_workflow),
		)
		.route("/workflows/{id}/validate", post(validate_workflow))
		.route("/workflows/{id}/execute", post(execute_workflow))
		.route("/workflows/{id}/stats", get(workflow_stats))
		.route("/workflows/{id}/versions", get(workflow_versions))
}

/// Filters of the workflow list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
	/// Page size, 1–500 (default 50).
	#[param(minimum = 1, maximum = 500)]
	limit: Option<i64>,
	/// Rows to skip.
	#[param(minimum = 0)]
	offset: Option<i64>,
	/// draft, active, inactive or archived.
	status: Option<String>,
	category: Option<String>,
	/// Name or description contains this text.
	search: Option<String>,
	tag: Option<String>,
}

fn status_of(text: &str) -> Result<WorkflowStatus, ApiError> {
	WorkflowStatus::parse(text).ok_or_else(|| {
		ApiError::bad_request("status", "must be draft, active, inactive or archived")
	})
}

pub(crate) fn page(limit: Option<i64>, offset: Option<i64>) -> Result<(i64, i64), ApiError> {
	let limit = limit.unwrap_or(50);
	let offset = offset.unwrap_or(0);
	if !(1..=500).contains(&limit) {
		return Err(ApiError::bad_request("limit", "must be between 1 and 500"));
	}
	if offset < 0 {
		return Err(ApiError::bad_request("offset", "must not be negative"));
	}
	Ok((limit, offset))
}

/// Loads a workflow the caller may act on (404 when they may not see it, 403 when they may
/// see it but not do this).
pub(crate) async fn load(
	state: &AppState,
	caller: &Principal,
	id: &str,
	action: WorkflowAction,
) -> Result<apg_core::Workflow, ApiError> {
	let id: WorkflowId = parse_id(id, "workflow")?;
	Ok(state.security.guard.workflow(caller, id, action).await?)
}

async fn view(state: &AppState, w: &apg_core::Workflow) -> Result<WorkflowView, ApiError> {
	let stats = state.engine.store().workflow_stats(&[w.id]).await?;
	Ok(WorkflowView::new(w, stats.get(&w.id)))
}

/// Workflows, newest change first, each with its execution statistics.
#[utoipa::path(get, path = "/api/v1/workflows", tag = "workflows", params(ListQuery),
	responses((status = 200, body = Envelope<Vec<WorkflowView>>), (status = 400, body = crate::views::ErrorBody)))]
pub(crate) async fn list_workflows(
	State(state): State<AppState>,
	Caller(caller): Caller,
	ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Vec<WorkflowView>> {
	let (limit, offset) = page(q.limit, q.offset)?;
	let filter = WorkflowFilter {
		status: q.status.as_deref().map(status_of).transpose()?,
		category: q.category,
		search: q.search,
		tag: q.tag,
		visible_to: state.security.guard.visible_to(&caller),
		limit,
		offset,
	};
	let store = state.engine.store();
	let rows = store.list_workflows(&filter).await?;
	let ids: Vec<WorkflowId> = rows.iter().map(|w| w.id).collect();
	let stats = store.workflow_stats(&ids).await?;
	let views = rows
		.iter()
		.map(|w| WorkflowView::new(w, stats.get(&w.id)))
		.collect();
	Ok(Json(Envelope::new(views, None)))
}

/// Creates a workflow (201). Every problem of the body or the definition is returned at once.
#[utoipa::path(post, path = "/api/v1/workflows", tag = "workflows", request_body = WorkflowBody,
	responses((status = 201, body = Envelope<WorkflowView>), (status = 400, body = crate::views::ErrorBody),
		(status = 409, body = crate::views::ErrorBody), (status = 413, body = crate::views::ErrorBody),
		(status = 422, body = crate::views::ErrorBody)))]
pub(crate) async fn create_workflow(
	State(state): State<AppState>,
	Caller(caller): Caller,
	JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Envelope<WorkflowView>>), ApiError> {
	state
		.security
		.guard
		.require(&caller, Permission::WorkflowCreate)
		.await?;
	let mut new = NewWorkflow::parse(&body).map_err(|issues| ApiError::BadRequest {
		message: "invalid workflow".to_owned(),
		issues,
	})?;
	let registry = state.engine.registry();
	let warnings = state.security.seal(&mut new.definition, None, registry)?;
	let engine = &state.engine;
	let (workflow, _) =
		workflows::create(&**engine.store(), engine.registry(), new, &caller.owner()).await?;
	let resource = format!("workflow/{}", workflow.id);
	let details = serde_json::json!({"name": workflow.name});
	state
		.audit(&caller, "workflow.create", resource, details)
		.await;
	let report = apg_core::ValidationReport {
		is_valid: true,
		errors: Vec::new(),
		warnings,
	};
	let message = if report.warnings.is_empty() {
		"Workflow created successfully".to_owned()
	} else {
		let list: Vec<String> = report.warnings.iter().map(ToString::to_string).collect();
		format!(
			"Workflow created successfully with security warnings: {}",
			list.join("; ")
		)
	};
	Ok((
		StatusCode::CREATED,
		Json(Envelope::new(WorkflowView::new(&workflow, None), message)),
	))
}

/// One workflow with its statistics.
#[utoipa::path(get, path = "/api/v1/workflows/{id}", tag = "workflows",
	params(("id" = String, Path, description = "Workflow id")),
	responses((status = 200, body = Envelope<WorkflowView>), (status = 404, body = crate::views::ErrorBody)))]
pub(crate) async fn get_workflow(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(id): Path<String>,
) -> ApiResult<WorkflowView> {
	let w = load(&state, &caller, &id, WorkflowAction::Read).await?;
	Ok(Json(Envelope::new(view(&state, &w).await?, None)))
}

/// Applies a change; a new definition becomes a new immutable version.
async fn save(
	state: &AppState,
	caller: &Principal,
	w: apg_core::Workflow,
	patch: WorkflowPatch,
) -> ApiResult<WorkflowView> {
	let mut merged = Map::new();
	merged.insert(
		"name".into(),
		Value::String(patch.name.clone().unwrap_or_else(|| w.name.clone())),
	);
	if let Some(d) = patch.description.clone().or_else(|| w.description.clone()) {
		merged.insert("description".into(), Value::String(d));
	}
	merged.insert(
		"definition".into(),
		patch
			.definition
			.clone()
			.unwrap_or_else(|| w.definition.to_value()),
	);
	if let Some(c) = patch.category.clone().or_else(|| w.category.clone()) {
		merged.insert("category".into(), Value::String(c));
	}
	merged.insert(
		"tags".into(),
		serde_json::json!(patch.tags.clone().unwrap_or_else(|| w.tags.clone())),
	);
	merged.insert(
		"priority".into(),
		Value::from(patch.priority.unwrap_or(i64::from(w.priority.get()))),
	);
	let mut new =
		NewWorkflow::parse(&Value::Object(merged)).map_err(|issues| ApiError::BadRequest {
			message: "invalid workflow".to_owned(),
			issues,
		})?;
	let status = patch.status.as_deref().map(status_of).transpose()?;
	if patch.definition.is_some() {
		let previous = Some(&w.definition);
		state
			.security
			.seal(&mut new.definition, previous, state.engine.registry())?;
	}
	let change = workflows::Change {
		fields: new,
		definition_sent: patch.definition.is_some(),
		status,
	};
	let w = workflows::update(&state.engine, w, change, &caller.owner())
		.await
		.map_err(|e| match e {
			apg_engine::EngineError::Invalid(issues) => ApiError::Unprocessable {
				message: "invalid definition".to_owned(),
				issues,
			},
			other => other.into(),
		})?;
	let details = serde_json::json!({"version": w.version, "status": w.status.as_str(),
		"saved_by": w.saved_by, "secrets_allowed": w.secrets_allowed()});
	state
		.audit(
			caller,
			"workflow.update",
			format!("workflow/{}", w.id),
			details,
		)
		.await;
	let message = if w.secrets_allowed() {
		"Workflow updated successfully"
	} else {
		"Workflow updated successfully; this version runs without the owner's secrets until the \
		 owner saves it"
	};
	Ok(Json(Envelope::new(
		view(state, &w).await?,
		message.to_owned(),
	)))
}

/// Replaces a workflow (all fields of a create).
#[utoipa::path(put, path = "/api/v1/workflows/{id}", tag = "workflows", request_body = WorkflowBody,
	params(("id" = String, Path, description = "Workflow id")),
	responses((status = 200, body = Envelope<WorkflowView>), (status = 400, body = crate::views::ErrorBody),
		(status = 404, body = crate::views::ErrorBody), (status = 409, body = crate::views::ErrorBody),
		(status = 422, body = crate::views::ErrorBody)))]
pub(crate) async fn replace_workflow(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(id): Path<String>,
	JsonBody(body): JsonBody,
) -> ApiResult<WorkflowView> {
	let w = load(&state, &caller, &id, WorkflowAction::Update).await?;
	let new = NewWorkflow::parse(&body).map_err(|issues| ApiError::BadRequest {
		message: "invalid workflow".to_owned(),
		issues,
	})?;
	let patch = WorkflowPatch {
		name: Some(new.name),
		description: new.description,
		definition: Some(new.definition),
		status: None,
		category: new.category,
		tags: Some(new.tags),
		priority: Some(i64::from(new.priority.get())),
	};
	let mut w = w;
	// A replace clears what the body leaves out.
	w.description = None;
	w.category = None;
	save(&state, &caller, w, patch).await
}

/// Changes some fields of a workflow (including `status`).
#[utoipa::path(patch, path = "/api/v1/workflows/{id}", tag = "workflows", request_body = WorkflowPatch,
	params(("id" = String, Path, description = "Workflow id")),
	responses((status = 200, body = Envelope<WorkflowView>), (status = 400, body = crate::views::ErrorBody),
		(status = 404, body = crate::views::ErrorBody), (status = 409, body = crate::views::ErrorBody),
		(status = 422, body = crate::views::ErrorBody)))]
pub(crate) async fn patch_workflow(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(id): Path<String>,
	JsonBody(body): JsonBody,
) -> ApiResult<WorkflowView> {
	let w = load(&state, &caller, &id, WorkflowAction::Update).await?;
	let patch: WorkflowPatch = typed(body)?;
	save(&state, &caller, w, patch).await
}

/// Deletes a workflow with its versions and executions (409 while any execution of it is in
/// flight: cancel them first).
#[utoipa::path(delete, path = "/api/v1/workflows/{id}", tag = "workflows",
	params(("id" = String, Path, description = "Workflow id")),
	responses((status = 200, body = Envelope<Option<String>>), (status = 404, body = crate::views::ErrorBody),
		(status = 409, body = crate::views::ErrorBody)))]
pub(crate) async fn delete_workflow(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(id): Path<String>,
) -> ApiResult<Option<String>> {
	let w = load(&state, &caller, &id, WorkflowAction::Delete).await?;
	if !workflows::delete(&state.engine, w.id).await? {
		return Err(ApiError::NotFound(format!("workflow {}", w.id)));
	}
	let details = serde_json::json!({"name": w.name});
	state
		.audit(
			&caller,
			"workflow.delete",
			format!("workflow/{}", w.id),
			details,
		)
		.await;
	Ok(Json(Envelope::new(
		None,
		"Workflow deleted successfully".to_owned(),
	)))
}

/// Validates the stored definition of a workflow.
#[utoipa::path(post, path = "/api/v1/workflows/{id}/validate", tag = "workflows",
	params(("id" = String, Path, description = "Workflow id")),
	responses((status = 200, body = Envelope<ValidationView>), (status = 404, body = crate::views::ErrorBody)))]
pub(crate) async fn validate_workflow(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(id): Path<String>,
) -> ApiResult<ValidationView> {
	let w = load(&state, &caller, &id, WorkflowAction::Read).await?;
	let (_, report) = validate(&w.definition.to_value(), state.engine.registry());
	Ok(Json(Envelope::new(ValidationView::new(&report), None)))
}

/// Validates a definition without storing it (the designer's check).
#[utoipa::path(post, path = "/api/v1/workflows/validate", tag = "workflows", request_body = ValidateBody,
	responses((status = 200, body = Envelope<ValidationView>), (status = 400, body = crate::views::ErrorBody),
		(status = 413, body = crate::views::ErrorBody)))]
pub(crate) async fn validate_definition(
	State(state): State<AppState>,
	Caller(_caller): Caller,
	JsonBody(body): JsonBody,
) -> ApiResult<ValidationView> {
	let body: ValidateBody = typed(body)?;
	let (_, report) = validate(&body.definition, state.engine.registry());
	Ok(Json(Envelope::new(ValidationView::new(&report), None)))
}

/// Starts an execution. With an `Idempotency-Key` header, repeating the request returns the
/// execution the first one created.
#[utoipa::path(post, path = "/api/v1/workflows/{id}/execute", tag = "workflows", request_body = ExecuteBody,
	params(("id" = String, Path, description = "Workflow id"),
		("Idempotency-Key" = Option<String>, Header, description = "Deduplicates repeated requests")),
	responses((status = 200, body = Envelope<ExecutionView>), (status = 400, body = crate::views::ErrorBody),
		(status = 404, body = crate::views::ErrorBody), (status = 409, body = crate::views::ErrorBody),
		(status = 422, body = crate::views::ErrorBody)))]
pub(crate) async fn execute_workflow(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(id): Path<String>,
	headers: HeaderMap,
	JsonBody(body): JsonBody,
) -> ApiResult<ExecutionView> {
	let workflow_id = load(&state, &caller, &id, WorkflowAction::Execute)
		.await?
		.id;
	let body: ExecuteBody = typed(body)?;
	let parameters = match body.parameters {
		None | Some(Value::Null) => Map::new(),
		Some(Value::Object(m)) => m,
		Some(_) => return Err(ApiError::bad_request("parameters", "must be an object")),
	};
	let priority = body
		.priority
		.map(Priority::new)
		.transpose()
		.map_err(|_| ApiError::bad_request("priority", "must be between 1 and 10"))?;
	let idempotency_key = match headers.get("idempotency-key") {
		None => None,
		Some(v) => match v.to_str() {
			Ok(k) if !k.is_empty() && k.len() <= 255 => Some(k.to_owned()),
			_ => {
				return Err(ApiError::bad_request(
					"Idempotency-Key",
					"must be 1–255 visible ASCII characters",
				));
			}
		},
	};
	let request = ExecuteRequest {
		workflow_id,
		parameters,
		priority,
		breakpoints: body.breakpoints,
		version: None,
		idempotency_key,
		started_by: Some(caller.user_id),
	};
	let exec = state.engine.execute(request).await?;
	let details = serde_json::json!({"execution_id": exec.id.to_string()});
	state
		.audit(
			&caller,
			"workflow.execute",
			format!("workflow/{workflow_id}"),
			details,
		)
		.await;
	Ok(Json(Envelope::new(
		ExecutionView::new(&exec),
		"Execution started".to_owned(),
	)))
}

/// The seed's `get_workflow_with_stats`.
#[utoipa::path(get, path = "/api/v1/workflows/{id}/stats", tag = "workflows",
	params(("id" = String, Path, description = "Workflow id")),
	responses((status = 200, body = Envelope<StatsView>), (status = 404, body = crate::views::ErrorBody)))]
pub(crate) async fn workflow_stats(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(id): Path<String>,
) -> ApiResult<StatsView> {
	let w = load(&state, &caller, &id, WorkflowAction::Read).await?;
	let stats = state.engine.store().workflow_stats(&[w.id]).await?;
	Ok(Json(Envelope::new(
		StatsView::new(&w, stats.get(&w.id)),
		None,
	)))
}

/// Every immutable version of a workflow, oldest first.
#[utoipa::path(get, path = "/api/v1/workflows/{id}/versions", tag = "workflows",
	params(("id" = String, Path, description = "Workflow id")),
	responses((status = 200, body = Envelope<Vec<VersionView>>), (status = 404, body = crate::views::ErrorBody)))]
pub(crate) async fn workflow_versions(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(id): Path<String>,
) -> ApiResult<Vec<VersionView>> {
	let w = load(&state, &caller, &id, WorkflowAction::Read).await?;
	let versions = state.engine.store().list_versions(w.id).await?;
	Ok(Json(Envelope::new(
		versions
			.iter()
			.map(|v| VersionView::new(v, &w.created_by))
			.collect(),
		None,
	)))
}
