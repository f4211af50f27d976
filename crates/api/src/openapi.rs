//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document, generated from the handlers'
//! annotations and the view types, so it cannot drift from the code.

use std::sync::LazyLock;

use axum::Json;
use utoipa::OpenApi;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::rest::{
	approvals, audit, auth, components, credentials, dashboard, executions, files, health, hooks,
	notifications, schedules, shares, signals, users, workflows,
};
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
		executions::execution_component,
		executions::cancel_execution,
		executions::retry_execution,
		executions::rerun_execution,
		executions::resume_execution,
		executions::set_breakpoints,
		executions::debug_execution,
		executions::execution_trace,
		dashboard::dashboard,
		shares::list_shares,
		shares::set_shares,
		components::list_components,
		auth::login,
		auth::refresh,
		auth::me,
		auth::list_keys,
		auth::create_key,
		auth::revoke_key,
		auth::session::open,
		auth::session::renew,
		auth::session::close,
		users::list_users,
		users::create_user,
		users::get_user,
		users::update_user,
		users::delete_user,
		users::change_own_password,
		users::list_roles,
		audit::list_audit,
		credentials::list_credentials,
		credentials::create_credential,
		credentials::get_credential,
		credentials::update_credential,
		credentials::delete_credential,
		files::list_files,
		files::download_file,
		files::upload_file,
		files::delete_file,
		notifications::list_notifications,
		notifications::mark_read,
		schedules::list_schedules,
		schedules::create_schedule,
		schedules::get_schedule,
		schedules::update_schedule,
		schedules::delete_schedule,
		schedules::pause_schedule,
		schedules::resume_schedule,
		hooks::create_hook,
		hooks::list_hooks,
		hooks::rotate_hook,
		hooks::delete_hook,
		hooks::receive,
		executions::execution_children,
		approvals::list_approvals,
		approvals::get_approval,
		approvals::decide_approval,
		signals::signal_execution,
		signals::signal_waiting,
		health::health,
	),
	modifiers(&Security),
	security(("bearer" = []), ("api_key" = [])),
	components(schemas(views::ErrorBody, views::IssueView)),
	tags(
		(name = "workflows", description = "Workflow definitions, versions, validation and execution"),
		(name = "executions", description = "Executions, their logs, control and debugging"),
		(name = "components", description = "Component types and their config schemas"),
		(name = "auth", description = "Login, tokens and API keys"),
		(name = "users", description = "Users, roles and the audit log"),
		(name = "credentials", description = "Write-only secrets used as {{secrets.<name>}}"),
		(name = "files", description = "Each user's own file store (also apg_file_management)"),
		(name = "notifications", description = "In-app notifications (apg_notification), also pushed over /ws"),
		(name = "schedules", description = "Cron schedules of workflows, with their fires"),
		(name = "hooks", description = "Webhooks: a secret URL that starts a workflow"),
		(name = "approvals", description = "Approvals waiting for people's decisions"),
		(name = "signals", description = "Signals that end wait_for_event steps"),
		(name = "operations", description = "Health"),
	)
)]
pub struct ApiDoc;

/// Declares the two ways to authenticate, and adds the 401 (and, where a role may be refused,
/// 403) every protected operation can answer, so the document stays true for a client that
/// sends no or the wrong credentials.
struct Security;

impl utoipa::Modify for Security {
	fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
		let components = doc.components.get_or_insert_with(Default::default);
		components.add_security_scheme(
			"bearer",
			SecurityScheme::Http(
				HttpBuilder::new()
					.scheme(HttpAuthScheme::Bearer)
					.bearer_format("JWT or apg_ API key")
					.build(),
			),
		);
		components.add_security_scheme(
			"api_key",
			SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
		);
		// A browser session's cookie: a credential for /auth/session/* only (crate::auth).
		components.add_security_scheme(
			"session",
			SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("apg_session"))),
		);
		let error = utoipa::openapi::ResponseBuilder::new()
			.description("Not authenticated, or not allowed")
			.content(
				"application/json",
				utoipa::openapi::ContentBuilder::new()
					.schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody")))
					.build(),
			)
			.build();
		for (path, item) in doc.paths.paths.iter_mut() {
			let open = path == "/health"
				|| path.starts_with("/api/v1/auth/login")
				|| path.starts_with("/api/v1/auth/refresh")
				|| path == "/api/v1/auth/session"
				// Its token is its credential: an unknown one is a 404.
				|| path.starts_with("/api/v1/hooks/");
			for op in [
				&mut item.get,
				&mut item.put,
				&mut item.post,
				&mut item.patch,
				&mut item.delete,
			]
			.into_iter()
			.flatten()
			{
				if open {
					continue;
				}
				for code in ["401", "403"] {
					op.responses
						.responses
						.entry(code.to_owned())
						.or_insert_with(|| error.clone().into());
				}
			}
		}
	}
}

static DOCUMENT: LazyLock<serde_json::Value> =
	LazyLock::new(|| serde_json::to_value(ApiDoc::openapi()).unwrap_or_default());

/// The document as JSON.
pub(crate) async fn serve() -> Json<serde_json::Value> {
	Json(DOCUMENT.clone())
}
