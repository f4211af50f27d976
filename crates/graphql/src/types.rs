//! The GraphQL object types and their conversions from the core records.
//!
//! Objects wrap the stored records rather than copying them field by field, so a field costs
//! nothing unless it is asked for. Two fields read the store on demand: a workflow's statistics
//! (loaded for a whole page at once by the `workflows` resolver, or on first use for a single
//! workflow) and an execution's `components` and `logs`. Objects are only built from records
//! the caller may see (the resolvers check first), and a definition is always masked.

use apg_core::{self as domain, Millis, WorkflowStats};
use apg_engine::Engine;
use async_graphql::{
	Context, ID, InputValueError, InputValueResult, Object, Scalar, ScalarType, SimpleObject,
	Value as GqlValue,
};
use chrono::{SecondsFormat, Utc};
use serde_json::Value;
use tokio::sync::OnceCell;

use crate::error::{IntoGql, Result};

/// The engine every resolver works through (schema data, always present).
pub(crate) fn engine<'a>(ctx: &Context<'a>) -> &'a Engine {
	ctx.data_unchecked::<Engine>()
}

/// An instant, sent as an RFC 3339 string in UTC with milliseconds
/// (`2024-05-01T12:00:00.123Z`); stored as Unix milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DateTime(pub(crate) Millis);

/// An instant as an RFC 3339 string in UTC (`2024-05-01T12:00:00.123Z`).
#[Scalar(
	name = "DateTime",
	specified_by_url = "https://datatracker.ietf.org/doc/html/rfc3339"
)]
impl ScalarType for DateTime {
	fn parse(value: GqlValue) -> InputValueResult<Self> {
		match &value {
			GqlValue::String(s) => chrono::DateTime::parse_from_rfc3339(s)
				.map(|t| DateTime(t.timestamp_millis()))
				.map_err(|e| InputValueError::custom(format!("not an RFC 3339 date-time: {e}"))),
			_ => Err(InputValueError::expected_type(value)),
		}
	}

	fn to_value(&self) -> GqlValue {
		match chrono::DateTime::<Utc>::from_timestamp_millis(self.0) {
			Some(t) => GqlValue::String(t.to_rfc3339_opts(SecondsFormat::Millis, true)),
			None => GqlValue::Null,
		}
	}
}

fn at(ms: Option<Millis>) -> Option<DateTime> {
	ms.map(DateTime)
}

/// The fields of [`Workflow`] computed from execution statistics.
const STATS_FIELDS: &[&str] = &[
	"executionCount",
	"successfulExecutionCount",
	"failedExecutionCount",
	"successRate",
	"avgDurationSeconds",
	"lastExecution",
];

/// Whether the selection of the current list field asks for any statistics field.
pub(crate) fn wants_stats(ctx: &Context<'_>) -> bool {
	let selection = ctx.look_ahead();
	STATS_FIELDS.iter().any(|f| selection.field(f).exists())
}

/// A workflow and, once loaded, its execution statistics.
pub(crate) struct Workflow {
	inner: domain::Workflow,
	stats: OnceCell<WorkflowStats>,
}

impl Workflow {
	/// A workflow whose statistics are loaded when first asked for.
	pub(crate) fn new(inner: domain::Workflow) -> Self {
		Self {
			inner,
			stats: OnceCell::new(),
		}
	}

	/// A workflow with its statistics already known.
	pub(crate) fn with_stats(inner: domain::Workflow, stats: WorkflowStats) -> Self {
		Self {
			inner,
			stats: OnceCell::new_with(Some(stats)),
		}
	}

	async fn stats(&self, ctx: &Context<'_>) -> Result<&WorkflowStats> {
		self.stats
			.get_or_try_init(|| async {
				let id = self.inner.id;
				let mut all = engine(ctx).store().workflow_stats(&[id]).await.gql()?;
				Ok(all.remove(&id).unwrap_or_default())
			})
			.await
	}
}

/// A workflow definition with its execution statistics.
#[Object]
impl Workflow {
	/// UUIDv7 id.
	async fn id(&self) -> ID {
		ID(self.inner.id.to_string())
	}

	/// Unique per owner.
	async fn name(&self) -> &str {
		&self.inner.name
	}

	/// Free text.
	async fn description(&self) -> Option<&str> {
		self.inner.description.as_deref()
	}

	/// `draft`, `active`, `inactive` or `archived`.
	async fn status(&self) -> &'static str {
		self.inner.status.as_str()
	}

	/// Category.
	async fn category(&self) -> Option<&str> {
		self.inner.category.as_deref()
	}

	/// Tags.
	async fn tags(&self) -> &[String] {
		&self.inner.tags
	}

	/// Default priority of its executions, 1 (lowest) to 10.
	async fn priority(&self) -> i32 {
		i32::from(self.inner.priority.get())
	}

	/// The current version (1 at creation).
	async fn version(&self) -> i64 {
		self.inner.version
	}

	/// How many components the definition has.
	async fn component_count(&self) -> usize {
		self.inner.component_count()
	}

	/// The definition in the seed's JSON shape (`components`, `connections`, …), with every
	/// sealed secret shown as `***` (sent back unchanged, `***` keeps the stored value).
	async fn definition(&self) -> Value {
		let mut definition = self.inner.definition.to_value();
		apg_auth::mask_value(&mut definition);
		definition
	}

	/// The owner.
	async fn created_by(&self) -> &str {
		&self.inner.created_by
	}

	/// Creation time.
	async fn created_at(&self) -> DateTime {
		DateTime(self.inner.created_at)
	}

	/// Last change.
	async fn updated_at(&self) -> DateTime {
		DateTime(self.inner.updated_at)
	}

	/// Executions of any status.
	async fn execution_count(&self, ctx: &Context<'_>) -> Result<i64> {
		Ok(self.stats(ctx).await?.total_executions)
	}

	/// Executions that completed.
	async fn successful_execution_count(&self, ctx: &Context<'_>) -> Result<i64> {
		Ok(self.stats(ctx).await?.successful_executions)
	}

	/// Executions that failed.
	async fn failed_execution_count(&self, ctx: &Context<'_>) -> Result<i64> {
		Ok(self.stats(ctx).await?.failed_executions)
	}

	/// Completed executions over all executions (0 to 1); null before the first execution.
	async fn success_rate(&self, ctx: &Context<'_>) -> Result<Option<f64>> {
		Ok(self.stats(ctx).await?.success_rate())
	}

	/// Mean duration of the ended executions, in seconds.
	async fn avg_duration_seconds(&self, ctx: &Context<'_>) -> Result<Option<f64>> {
		Ok(self.stats(ctx).await?.avg_duration_seconds)
	}

	/// When the newest execution was created.
	async fn last_execution(&self, ctx: &Context<'_>) -> Result<Option<DateTime>> {
		Ok(at(self.stats(ctx).await?.last_execution_at))
	}
}

/// An execution of a workflow version.
pub(crate) struct WorkflowExecution(pub(crate) domain::Execution);

/// One execution of a pinned workflow version.
#[Object]
impl WorkflowExecution {
	/// Its id.
	async fn id(&self) -> ID {
		ID(self.0.id.to_string())
	}

	/// The workflow.
	async fn workflow_id(&self) -> ID {
		ID(self.0.workflow_id.to_string())
	}

	/// The immutable version it runs.
	async fn workflow_version(&self) -> i64 {
		self.0.workflow_version
	}

	/// `pending`, `queued`, `running`, `paused`, `completed`, `failed` or `cancelled`.
	async fn status(&self) -> &'static str {
		self.0.status.as_str()
	}

	/// Scheduling priority, 1 (lowest) to 10.
	async fn priority(&self) -> i32 {
		i32::from(self.0.priority.get())
	}

	/// The resolved parameters (a JSON object). Empty in lists (`executions`).
	async fn parameters(&self) -> Value {
		Value::Object(self.0.parameters.clone())
	}

	/// Final outputs, keyed by the id of each completed sink component. Null in lists
	/// (`executions`), which carry summaries; query `execution(id)` for them.
	async fn results(&self) -> Option<&Value> {
		self.0.results.as_ref()
	}

	/// Why it failed.
	async fn error_message(&self) -> Option<&str> {
		self.0.error_message.as_deref()
	}

	/// When it was created.
	async fn created_at(&self) -> DateTime {
		DateTime(self.0.created_at)
	}

	/// When its first component started.
	async fn started_at(&self) -> Option<DateTime> {
		at(self.0.started_at)
	}

	/// When it reached an end state.
	async fn completed_at(&self) -> Option<DateTime> {
		at(self.0.completed_at)
	}

	/// Milliseconds from start to end; null until both are known.
	async fn duration(&self) -> Option<i64> {
		Some(self.0.completed_at? - self.0.started_at?)
	}

	/// The checkpoint of each component that has started or been decided (one store read).
	#[graphql(complexity = "5 + child_complexity")]
	async fn components(&self, ctx: &Context<'_>) -> Result<Vec<ComponentExecution>> {
		let steps = engine(ctx).store().steps(self.0.id).await.gql()?;
		Ok(steps.into_iter().map(ComponentExecution::from).collect())
	}

	/// The log, in write order (one store read).
	#[graphql(complexity = "5 + child_complexity")]
	async fn logs(&self, ctx: &Context<'_>) -> Result<Vec<LogEntry>> {
		let logs = engine(ctx).store().logs(self.0.id).await.gql()?;
		Ok(logs.into_iter().map(LogEntry::from).collect())
	}
}

/// The checkpoint of one component within an execution.
#[derive(SimpleObject)]
pub(crate) struct ComponentExecution {
	/// The component's id in the definition.
	component_id: String,
	/// The component's type.
	component_type: String,
	/// `pending`, `running`, `retrying`, `completed`, `failed`, `skipped` or `cancelled`.
	status: &'static str,
	/// The attempt running or last run (0 before the first).
	attempt: u32,
	/// Its input.
	input: Option<Value>,
	/// Its output, once completed.
	output: Option<Value>,
	/// The branch it selected, for branching components.
	branch: Option<String>,
	/// The last error.
	error_message: Option<String>,
	/// When its first attempt started.
	started_at: Option<DateTime>,
	/// When it reached an end state.
	completed_at: Option<DateTime>,
	/// Time spent in its attempts, in milliseconds.
	duration_ms: Option<i64>,
}

impl From<domain::StepRecord> for ComponentExecution {
	fn from(s: domain::StepRecord) -> Self {
		Self {
			component_id: s.component_id,
			component_type: s.component_type,
			status: s.status.as_str(),
			attempt: s.attempt,
			input: s.input.map(|mut v| {
				apg_auth::mask_value(&mut v);
				v
			}),
			output: s.output,
			branch: s.branch,
			error_message: s.error_message,
			started_at: at(s.started_at),
			completed_at: at(s.completed_at),
			duration_ms: s.duration_ms,
		}
	}
}

/// One line of an execution's log.
#[derive(SimpleObject)]
pub(crate) struct LogEntry {
	/// When it was written.
	at: DateTime,
	/// `debug`, `info`, `warning` or `error`.
	level: &'static str,
	/// The component that wrote it, if any.
	component_id: Option<String>,
	/// The text.
	message: String,
}

impl From<domain::LogRecord> for LogEntry {
	fn from(l: domain::LogRecord) -> Self {
		Self {
			at: DateTime(l.at),
			level: l.level.as_str(),
			component_id: l.component_id,
			message: l.message,
		}
	}
}

/// A status change of an execution or of one of its components.
#[derive(Clone, Debug, SimpleObject)]
pub(crate) struct ExecutionEvent {
	/// The execution.
	execution_id: ID,
	/// Its workflow.
	workflow_id: ID,
	/// When it happened.
	pub(crate) at: DateTime,
	/// `execution`, `component` or `paused` (stopped at a breakpoint before `componentId`).
	#[graphql(name = "type")]
	kind: &'static str,
	/// The new status of the execution or component; null for `paused`.
	status: Option<&'static str>,
	/// The component, for `component` and `paused` events.
	component_id: Option<String>,
	/// The attempt concerned, for `component` events.
	attempt: Option<u32>,
	/// The error of a failed execution or attempt.
	error: Option<String>,
	/// The output of a completed component.
	output: Option<Value>,
	/// Time a component spent in its attempts, once it ended (milliseconds).
	duration_ms: Option<i64>,
}

impl From<&domain::Event> for ExecutionEvent {
	fn from(e: &domain::Event) -> Self {
		let mut event = Self {
			execution_id: ID(e.execution_id.to_string()),
			workflow_id: ID(e.workflow_id.to_string()),
			at: DateTime(e.at),
			kind: "execution",
			status: None,
			component_id: None,
			attempt: None,
			error: None,
			output: None,
			duration_ms: None,
		};
		match &e.kind {
			domain::EventKind::Execution { status, error } => {
				event.status = Some(status.as_str());
				event.error = error.clone();
			}
			domain::EventKind::Component {
				component_id,
				status,
				attempt,
				error,
				output,
				duration_ms,
			} => {
				event.kind = "component";
				event.status = Some(status.as_str());
				event.component_id = Some(component_id.clone());
				event.attempt = Some(*attempt);
				event.error = error.clone();
				event.output = output.clone();
				event.duration_ms = *duration_ms;
			}
			domain::EventKind::Paused { component_id } => {
				event.kind = "paused";
				event.component_id = Some(component_id.clone());
			}
		}
		event
	}
}

/// A component type the engine knows.
#[derive(SimpleObject)]
pub(crate) struct ComponentType {
	/// The `type` used in definitions.
	pub(crate) kind: String,
	/// One line for the palette.
	pub(crate) summary: String,
	/// JSON schema of its config (its own fields plus the common ones).
	pub(crate) config_schema: Value,
}

/// One problem found in a definition, with where it is.
#[derive(SimpleObject)]
pub(crate) struct ValidationIssue {
	/// Dotted path (`definition.components[3].config.url`).
	path: String,
	/// What is wrong.
	message: String,
}

impl From<domain::Issue> for ValidationIssue {
	fn from(i: domain::Issue) -> Self {
		Self {
			path: i.path,
			message: i.message,
		}
	}
}

/// The result of validating a definition.
#[derive(SimpleObject)]
pub(crate) struct ValidationResult {
	/// Whether there are no errors (warnings do not count).
	is_valid: bool,
	/// Problems that prevent execution.
	errors: Vec<ValidationIssue>,
	/// Security warnings (hard-coded secrets, unsafe script operations).
	warnings: Vec<ValidationIssue>,
}

impl From<domain::ValidationReport> for ValidationResult {
	fn from(r: domain::ValidationReport) -> Self {
		Self {
			is_valid: r.is_valid,
			errors: r.errors.into_iter().map(Into::into).collect(),
			warnings: r.warnings.into_iter().map(Into::into).collect(),
		}
	}
}
