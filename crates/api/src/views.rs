//! What the API sends and accepts, as documented types (they generate the OpenAPI schemas).
//! Times are RFC 3339 strings; ids are UUID strings; definitions and outputs are free JSON.

use apg_core::{AttemptRecord, Execution, LogRecord, Millis, StepRecord, Workflow, WorkflowStats};
use chrono::{SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// A Unix-milliseconds time as RFC 3339.
pub(crate) fn iso(ms: Millis) -> String {
	Utc.timestamp_millis_opt(ms)
		.single()
		.map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
		.unwrap_or_default()
}

fn iso_opt(ms: Option<Millis>) -> Option<String> {
	ms.map(iso)
}

/// The success envelope of every response.
#[derive(Serialize, ToSchema)]
pub(crate) struct Envelope<T> {
	/// Always true here.
	success: bool,
	/// The payload.
	data: T,
	/// A human-readable summary.
	#[serde(skip_serializing_if = "Option::is_none")]
	message: Option<String>,
}

impl<T> Envelope<T> {
	pub(crate) fn new(data: T, message: impl Into<Option<String>>) -> Self {
		Self {
			success: true,
			data,
			message: message.into(),
		}
	}
}

/// The error envelope (DESIGN §5).
#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorBody {
	/// Always false.
	success: bool,
	/// What went wrong.
	error: String,
	/// validation, security, not_found, conflict, performance, network or system.
	category: String,
	/// A message fit for an end user.
	user_message: String,
	/// Each problem with its path, for validation errors.
	#[schema(value_type = Option<Vec<IssueView>>)]
	details: Value,
	/// Whether the caller can fix the request and try again.
	recoverable: bool,
	/// Whether trying again later may succeed as it is.
	retry_suggested: bool,
}

/// One problem with its path.
#[derive(Serialize, ToSchema)]
pub(crate) struct IssueView {
	/// Where (`definition.components[3].config.url`).
	path: String,
	/// What is wrong.
	message: String,
}

/// A workflow with its execution statistics.
#[derive(Serialize, ToSchema)]
pub(crate) struct WorkflowView {
	#[schema(format = Uuid)]
	id: String,
	name: String,
	description: Option<String>,
	/// `{components, connections, parameters, metadata}`.
	#[schema(value_type = Object)]
	definition: Value,
	/// draft, active, inactive or archived.
	status: String,
	category: Option<String>,
	tags: Vec<String>,
	/// 1 (lowest) to 10.
	priority: u8,
	/// The current immutable version.
	version: i64,
	created_by: String,
	/// Who saved the current version.
	saved_by: String,
	/// Whether the current version runs with the owner's secrets: only when the owner saved it.
	secrets_allowed: bool,
	#[schema(format = DateTime)]
	created_at: String,
	#[schema(format = DateTime)]
	updated_at: String,
	/// Number of components in the definition.
	component_count: usize,
	/// Executions of any status.
	execution_count: i64,
	/// Completed over all executions; null before the first.
	success_rate: Option<f64>,
	/// When the newest execution was created.
	#[schema(format = DateTime)]
	last_execution: Option<String>,
}

impl WorkflowView {
	pub(crate) fn new(w: &Workflow, stats: Option<&WorkflowStats>) -> Self {
		let empty = WorkflowStats::default();
		let stats = stats.unwrap_or(&empty);
		Self {
			id: w.id.to_string(),
			name: w.name.clone(),
			description: w.description.clone(),
			definition: masked(w.definition.to_value()),
			status: w.status.to_string(),
			category: w.category.clone(),
			tags: w.tags.clone(),
			priority: w.priority.get(),
			version: w.version,
			created_by: w.created_by.clone(),
			saved_by: w.saved_by.clone(),
			secrets_allowed: w.secrets_allowed(),
			created_at: iso(w.created_at),
			updated_at: iso(w.updated_at),
			component_count: w.component_count(),
			execution_count: stats.total_executions,
			success_rate: stats.success_rate(),
			last_execution: iso_opt(stats.last_execution_at),
		}
	}
}

/// The seed's `get_workflow_with_stats`.
#[derive(Serialize, ToSchema)]
pub(crate) struct StatsView {
	#[schema(format = Uuid)]
	workflow_id: String,
	total_executions: i64,
	successful_executions: i64,
	failed_executions: i64,
	success_rate: Option<f64>,
	avg_duration_seconds: Option<f64>,
	#[schema(format = DateTime)]
	last_execution_at: Option<String>,
}

impl StatsView {
	pub(crate) fn new(w: &Workflow, s: Option<&WorkflowStats>) -> Self {
		let empty = WorkflowStats::default();
		let s = s.unwrap_or(&empty);
		Self {
			workflow_id: w.id.to_string(),
			total_executions: s.total_executions,
			successful_executions: s.successful_executions,
			failed_executions: s.failed_executions,
			success_rate: s.success_rate(),
			avg_duration_seconds: s.avg_duration_seconds,
			last_execution_at: iso_opt(s.last_execution_at),
		}
	}
}

/// One immutable version of a workflow.
#[derive(Serialize, ToSchema)]
pub(crate) struct VersionView {
	version: i64,
	#[schema(value_type = Object)]
	definition: Value,
	/// Who saved it.
	saved_by: String,
	/// Whether it runs with the owner's secrets: only when the owner saved it.
	secrets_allowed: bool,
	#[schema(format = DateTime)]
	created_at: String,
}

impl VersionView {
	pub(crate) fn new(v: &apg_core::WorkflowVersion, owner: &str) -> Self {
		Self {
			version: v.version,
			definition: masked(v.definition.to_value()),
			saved_by: v.saved_by.clone(),
			secrets_allowed: apg_core::secrets_allowed(owner, &v.saved_by),
			created_at: iso(v.created_at),
		}
	}
}

/// An execution.
#[derive(Serialize, ToSchema)]
pub(crate) struct ExecutionView {
	#[schema(format = Uuid)]
	id: String,
	#[schema(format = Uuid)]
	workflow_id: String,
	/// The immutable version it runs.
	workflow_version: i64,
	/// pending, queued, running, paused, completed, failed or cancelled.
	status: String,
	priority: u8,
	#[schema(value_type = Object)]
	parameters: Value,
	/// Variables set by components.
	#[schema(value_type = Object)]
	variables: Value,
	/// Outputs of the completed components without outgoing connections.
	#[schema(value_type = Option<Object>)]
	results: Option<Value>,
	/// Set when `results` was left out for its size (its JSON bytes, over 64 KiB): each sink's
	/// output is at `GET /api/v1/executions/{id}/components/{component}`.
	results_bytes: Option<usize>,
	error_message: Option<String>,
	breakpoints: Vec<String>,
	/// The user who started it (the APG connectors act as them); null when the CLI ran it.
	#[schema(format = Uuid)]
	started_by: Option<String>,
	/// The execution this one reruns (`POST /executions/{id}/rerun`).
	#[schema(format = Uuid)]
	rerun_of: Option<String>,
	/// The step of another execution this one is a child of (`sub_workflow`, `for_each`):
	/// `{execution_id, component_id, item}`; its children are at `/executions/{id}/children`.
	#[schema(value_type = Option<Object>)]
	parent: Option<Value>,
	#[schema(format = DateTime)]
	created_at: String,
	#[schema(format = DateTime)]
	started_at: Option<String>,
	#[schema(format = DateTime)]
	completed_at: Option<String>,
	/// From start to end, once both are known.
	duration_ms: Option<i64>,
}

impl ExecutionView {
	pub(crate) fn new(e: &Execution) -> Self {
		let (results, results_bytes) = inline(e.results.as_ref(), Some(INLINE_DATA_BYTES));
		Self {
			id: e.id.to_string(),
			workflow_id: e.workflow_id.to_string(),
			workflow_version: e.workflow_version,
			status: e.status.to_string(),
			priority: e.priority.get(),
			parameters: Value::Object(e.parameters.clone()),
			variables: Value::Object(e.vars.clone()),
			results,
			results_bytes,
			error_message: e.error_message.clone(),
			breakpoints: e.breakpoints.clone(),
			started_by: e.started_by.map(|u| u.to_string()),
			rerun_of: e.rerun_of.map(|r| r.to_string()),
			parent: e.parent.as_ref().map(|p| {
				serde_json::json!({"execution_id": p.execution_id, "component_id": p.component_id,
					"item": p.item})
			}),
			created_at: iso(e.created_at),
			started_at: iso_opt(e.started_at),
			completed_at: iso_opt(e.completed_at),
			duration_ms: e.started_at.zip(e.completed_at).map(|(s, c)| c - s),
		}
	}
}

/// An execution with its components and their attempts.
#[derive(Serialize, ToSchema)]
pub(crate) struct ExecutionDetailView {
	#[serde(flatten)]
	execution: ExecutionView,
	/// One entry per component that has been reached.
	components: Vec<ComponentView>,
	/// Every attempt, in start order.
	attempts: Vec<AttemptView>,
}

impl ExecutionDetailView {
	pub(crate) fn new(e: &Execution, steps: &[StepRecord], attempts: &[AttemptRecord]) -> Self {
		Self {
			execution: ExecutionView::new(e),
			components: steps
				.iter()
				.map(|s| ComponentView::new(s, Some(INLINE_DATA_BYTES)))
				.collect(),
			attempts: attempts.iter().map(AttemptView::new).collect(),
		}
	}
}

/// The checkpoint of one component (the seed's `wo_component_executions`).
#[derive(Serialize, ToSchema)]
pub(crate) struct ComponentView {
	component_id: String,
	component_type: String,
	/// pending, running, retrying, completed, failed, skipped or cancelled.
	status: String,
	attempt: u32,
	/// Null when larger than 64 KiB (see `input_bytes`).
	#[schema(value_type = Option<Object>)]
	input_data: Option<Value>,
	/// Null when larger than 64 KiB (see `output_bytes`).
	#[schema(value_type = Option<Object>)]
	output_data: Option<Value>,
	/// Set when the input was left out of an execution's detail for its size (its JSON bytes):
	/// `GET /api/v1/executions/{id}/components/{component}` has it.
	input_bytes: Option<usize>,
	/// Set when the output was left out of an execution's detail for its size (its JSON bytes):
	/// `GET /api/v1/executions/{id}/components/{component}` has it.
	output_bytes: Option<usize>,
	branch: Option<String>,
	error_message: Option<String>,
	/// When its durable timer (delay, retry back-off) fires.
	#[schema(format = DateTime)]
	run_at: Option<String>,
	#[schema(format = DateTime)]
	started_at: Option<String>,
	#[schema(format = DateTime)]
	completed_at: Option<String>,
	duration_ms: Option<i64>,
	/// While it waits for people (`kind: approval`: approvers, required count, form, round) or
	/// a signal (`kind: signal`: name, key): what for.
	#[schema(value_type = Option<Object>)]
	waiting: Option<Value>,
}

/// The largest input or output an execution's detail carries inline; a detail of a thousand
/// components stays small however large their outputs (each up to `max_output_bytes`).
pub(crate) const INLINE_DATA_BYTES: usize = 64 << 10;

/// `value`, or nothing and its size when it is larger than `limit`.
fn inline(value: Option<&Value>, limit: Option<usize>) -> (Option<Value>, Option<usize>) {
	match (value, limit) {
		(None, _) => (None, None),
		(Some(v), None) => (Some(v.clone()), None),
		(Some(v), Some(limit)) => match apg_core::size::json_len(v, limit) {
			Some(_) => (Some(v.clone()), None),
			None => (None, apg_core::size::json_len(v, usize::MAX)),
		},
	}
}

impl ComponentView {
	/// The view of a step; inputs and outputs over `limit` bytes (when given) are left out.
	pub(crate) fn new(s: &StepRecord, limit: Option<usize>) -> Self {
		let (input_data, input_bytes) = inline(s.input.as_ref(), limit);
		let (output_data, output_bytes) = inline(s.output.as_ref(), limit);
		Self {
			component_id: s.component_id.clone(),
			component_type: s.component_type.clone(),
			status: s.status.to_string(),
			attempt: s.attempt,
			input_data: input_data.map(masked),
			output_data,
			input_bytes,
			output_bytes,
			branch: s.branch.clone(),
			error_message: s.error_message.clone(),
			run_at: iso_opt(s.run_at),
			started_at: iso_opt(s.started_at),
			completed_at: iso_opt(s.completed_at),
			duration_ms: s.duration_ms,
			waiting: s
				.waiting
				.as_ref()
				.and_then(|w| serde_json::to_value(w).ok()),
		}
	}
}

/// One attempt of one component.
#[derive(Serialize, ToSchema)]
pub(crate) struct AttemptView {
	component_id: String,
	attempt: u32,
	status: String,
	error_message: Option<String>,
	#[schema(format = DateTime)]
	started_at: String,
	#[schema(format = DateTime)]
	finished_at: Option<String>,
}

impl AttemptView {
	fn new(a: &AttemptRecord) -> Self {
		Self {
			component_id: a.component_id.clone(),
			attempt: a.attempt,
			status: a.status.to_string(),
			error_message: a.error_message.clone(),
			started_at: iso(a.started_at),
			finished_at: iso_opt(a.finished_at),
		}
	}
}

/// One line of an execution's log.
#[derive(Serialize, ToSchema)]
pub(crate) struct LogView {
	#[schema(format = DateTime)]
	timestamp: String,
	/// debug, info, warning or error.
	level: String,
	component_id: Option<String>,
	message: String,
}

impl LogView {
	pub(crate) fn new(l: &LogRecord) -> Self {
		Self {
			timestamp: iso(l.at),
			level: l.level.as_str().to_owned(),
			component_id: l.component_id.clone(),
			message: l.message.clone(),
		}
	}
}

/// A component type with its config schema (the designer builds its forms from it).
#[derive(Serialize, ToSchema)]
pub(crate) struct ComponentTypeView {
	/// The `type` used in definitions.
	pub(crate) kind: String,
	pub(crate) summary: String,
	/// JSON schema of its config, common fields included.
	#[schema(value_type = Object)]
	pub(crate) config_schema: Value,
}

/// The result of validating a definition.
#[derive(Serialize, ToSchema)]
pub(crate) struct ValidationView {
	is_valid: bool,
	errors: Vec<IssueView>,
	/// Security warnings (hard-coded secrets, unsafe script operations).
	warnings: Vec<IssueView>,
}

impl ValidationView {
	pub(crate) fn new(report: &apg_core::ValidationReport) -> Self {
		let issues = |list: &[apg_core::Issue]| {
			list.iter()
				.map(|i| IssueView {
					path: i.path.clone(),
					message: i.message.clone(),
				})
				.collect()
		};
		Self {
			is_valid: report.is_valid,
			errors: issues(&report.errors),
			warnings: issues(&report.warnings),
		}
	}
}

/// Create or replace a workflow (the seed's `WorkflowCreate`; unknown fields are rejected).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
	"name": "Integration Test Workflow",
	"description": "Test workflow for integration testing",
	"category": "test",
	"tags": ["test"],
	"priority": 5,
	"definition": {
		"components": [
			{"id": "start", "type": "start", "config": {"trigger_type": "manual"}},
			{"id": "task", "type": "task", "config": {"task_type": "echo", "message": "Hello World"}},
			{"id": "end", "type": "end", "config": {"status": "success"}}
		],
		"connections": [
			{"source": "start", "target": "task", "type": "success"},
			{"source": "task", "target": "end", "type": "success"}
		]
	}
}))]
#[allow(dead_code)] // Documents the body; it is parsed by `NewWorkflow::parse` to report every problem.
pub(crate) struct WorkflowBody {
	/// 1–255 characters, trimmed.
	#[schema(min_length = 1, max_length = 255)]
	name: String,
	#[schema(max_length = 1000)]
	description: Option<String>,
	/// `{components, connections, parameters, metadata}`.
	#[schema(value_type = Object)]
	definition: Value,
	#[schema(max_length = 100)]
	category: Option<String>,
	tags: Option<Vec<String>>,
	#[schema(minimum = 1, maximum = 10)]
	priority: Option<u8>,
}

/// Change some fields of a workflow.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct WorkflowPatch {
	#[schema(min_length = 1, max_length = 255)]
	pub(crate) name: Option<String>,
	#[schema(max_length = 1000)]
	pub(crate) description: Option<String>,
	#[schema(value_type = Option<Object>)]
	pub(crate) definition: Option<Value>,
	/// draft, active, inactive or archived.
	pub(crate) status: Option<String>,
	#[schema(max_length = 100)]
	pub(crate) category: Option<String>,
	pub(crate) tags: Option<Vec<String>>,
	#[schema(minimum = 1, maximum = 10)]
	pub(crate) priority: Option<i64>,
}

/// Validate a definition that is not stored.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ValidateBody {
	#[schema(value_type = Object)]
	pub(crate) definition: Value,
}

/// Start an execution.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExecuteBody {
	/// Checked against the declared parameters.
	#[serde(default)]
	#[schema(value_type = Option<Object>)]
	pub(crate) parameters: Option<Value>,
	/// Overrides the workflow's priority.
	#[schema(minimum = 1, maximum = 10)]
	pub(crate) priority: Option<i64>,
	/// Components to pause before (server-side debugging).
	#[serde(default)]
	pub(crate) breakpoints: Vec<String>,
}

/// Resume a paused execution.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResumeBody {
	/// Run the held component and pause again before the next one.
	#[serde(default)]
	pub(crate) step: bool,
}

/// Breakpoints of a running execution.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BreakpointsBody {
	pub(crate) breakpoints: Vec<String>,
}

/// What a paused execution shows the debugger.
#[derive(Serialize, ToSchema)]
pub(crate) struct DebugView {
	pub(crate) status: String,
	/// The components held at a breakpoint.
	pub(crate) paused_at: Vec<String>,
	/// Their inputs, by component id.
	#[schema(value_type = Object)]
	pub(crate) inputs: Value,
	#[schema(value_type = Object)]
	pub(crate) variables: Value,
	#[schema(value_type = Object)]
	pub(crate) parameters: Value,
	pub(crate) breakpoints: Vec<String>,
}

/// A definition (or any value) as shown: sealed secrets become `***`.
pub(crate) fn masked(mut definition: Value) -> Value {
	apg_auth::mask_value(&mut definition);
	definition
}
