//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document, generated from the handlers'
//! annotations and the view types, so it cannot drift from the code.

use std::sync::LazyLock;

use axum::Json;
use utoipa::OpenApi;

use crate::rest::{components, executions, health, workflows};
use crate::views;

/// The API's OpenAPI description.
#[derive(OpenApi)]
#[openapi(
	info(
		title = "APG Workflow Orchestration",
		description = "Durable workflows: REST under /api/v1 with the envelope {success, data, message}; \
			errors as {success: false, error, category, user_message, details, recoverable, retry_suggested}. \
			GraphQL is at /graphql and real-time updates at /ws."
	),
	paths(
		workflows::list_workflows,
		workflows::create_workflow,
		workflows::validate_definition,
		workflows::get_workflow,
		workflows::replace_workflow,
		workflows::patch_workflow,
		workflows::delete_workflow,
		workflows::validate_workflow,
		workflows::execute_workflow,
		workflows::workflow_stats,
		workflows::workflow_versions,
		executions::list_executions,
		executions::get_execution,
		executions::execution_logs,
		executions::cancel_execution,
		executions::retry_execution,
		executions::resume_execution,
		executions::set_breakpoints,
		executions::debug_execution,
		executions::execution_trace,
		components::list_components,
		health::health,
	),
	components(schemas(views::ErrorBody, views::IssueView)),
	tags(
		(name = "workflows", description = "Workflow definitions, versions, validation and execution"),
		(name = "executions", description = "Executions, their logs, control and debugging"),
		(name = "components", description = "Component types and their config schemas"),
		(name = "operations", description = "Health"),
	)
)]
pub struct ApiDoc;

static DOCUMENT: LazyLock<serde_json::Value> =
	LazyLock::new(|| serde_json::to_value(ApiDoc::openapi()).unwrap_or_default());

/// The document as JSON.
pub(crate) async fn serve() -> Json<serde_json::Value> {
	Json(DOCUMENT.clone())
}
