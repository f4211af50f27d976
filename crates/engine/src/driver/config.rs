//! The engine's settings and the requests and snapshots it exchanges with callers.

use std::sync::Arc;
use std::time::Duration;

use apg_core::{Priority, WorkflowId};
use serde_json::{Map, Value};

/// Tuning of the engine.
#[derive(Clone)]
pub struct EngineConfig {
	/// Component attempts running at once in this process (the seed's default: 100).
	pub max_concurrent_tasks: usize,
	/// Waiting time worth one level of priority (aging).
	pub aging: Duration,
	/// Events buffered per subscriber before a slow one starts missing them.
	pub event_buffer: usize,
	/// Run pure, instant components (see `Component::is_inline`) inside the coordinator.
	pub inline: bool,
	/// Many nodes on one database (see [`ClusterMode`]); `None` for a process that owns its store.
	pub cluster: Option<ClusterMode>,
	/// Where workflows are cached (Redis shared by the nodes, or memory); `None`: no cache.
	pub cache: Option<Arc<dyn apg_core::Cache>>,
	/// Where steps get their secrets; `None`: a step that needs one fails.
	pub secrets: Option<Arc<dyn apg_core::SecretSource>>,
	/// The most one attempt may store as its output and variables (JSON bytes); beyond it the
	/// attempt fails.
	pub max_output_bytes: usize,
	/// Whether the user who started an execution may run another workflow as its child
	/// (`sub_workflow`, `for_each`); `None`: anyone may (a process with no users).
	pub run_check: Option<RunCheck>,
}

/// Whether a user may run a workflow (`Err` says why not): the server's permission check,
/// handed to the engine, which knows nothing of accounts.
pub type RunCheck = Arc<
	dyn Fn(
			apg_core::UserId,
			WorkflowId,
		) -> futures_util::future::BoxFuture<'static, Result<(), String>>
		+ Send
		+ Sync,
>;

/// How this node takes part in a cluster (DESIGN §1, `--role`).
#[derive(Clone)]
pub struct ClusterMode {
	/// The shared work: leases on executions (the database).
	pub queue: Arc<dyn apg_core::WorkQueue>,
	/// The wake-ups between nodes (the database's, or Redis in front of it).
	pub bus: Arc<dyn apg_core::WakeBus>,
	/// Whether this node claims and runs executions (`worker` and `all`); an `api` node only
	/// creates them.
	pub runs_work: bool,
	/// How long a claim lasts without renewal.
	pub lease: Duration,
	/// Executions this node holds at most.
	pub max_executions: usize,
}

impl std::fmt::Debug for EngineConfig {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.debug_struct("EngineConfig")
			.field("max_concurrent_tasks", &self.max_concurrent_tasks)
			.field("aging", &self.aging)
			.field("inline", &self.inline)
			.field("cluster", &self.cluster)
			.field("cache", &self.cache.is_some())
			.field("max_output_bytes", &self.max_output_bytes)
			.finish()
	}
}

impl std::fmt::Debug for ClusterMode {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.debug_struct("ClusterMode")
			.field("node", &self.queue.node())
			.field("runs_work", &self.runs_work)
			.field("lease", &self.lease)
			.finish()
	}
}

impl Default for EngineConfig {
	fn default() -> Self {
		Self {
			max_concurrent_tasks: 100,
			aging: Duration::from_secs(2),
			event_buffer: 65_536,
			inline: true,
			cluster: None,
			cache: None,
			secrets: None,
			max_output_bytes: crate::output_cap::DEFAULT_MAX_OUTPUT_BYTES,
			run_check: None,
		}
	}
}

/// A request to rerun an ended execution from one of its components ([`super::Engine::rerun`]).
#[derive(Clone, Debug)]
pub struct RerunRequest {
	/// The execution rerun.
	pub of: apg_core::ExecutionId,
	/// The component it runs from (everything upstream of it is carried over).
	pub from: String,
	/// New parameters; `None` keeps the original's.
	pub parameters: Option<Map<String, Value>>,
	/// Who reruns it.
	pub started_by: Option<apg_core::UserId>,
}

/// A request to execute a workflow.
#[derive(Clone, Debug, Default)]
pub struct ExecuteRequest {
	/// The workflow.
	pub workflow_id: WorkflowId,
	/// Its parameters (checked against the declared ones).
	pub parameters: Map<String, Value>,
	/// Overrides the workflow's priority.
	pub priority: Option<Priority>,
	/// Components to pause before (debugging).
	pub breakpoints: Vec<String>,
	/// A version other than the current one.
	pub version: Option<i64>,
	/// The client's idempotency key: repeating a request with the same key (for the same
	/// workflow) returns the execution the first one created.
	pub idempotency_key: Option<String>,
	/// Who starts it (see [`apg_core::Execution::started_by`]).
	pub started_by: Option<apg_core::UserId>,
}

/// A snapshot of the engine's load, for metrics.
#[derive(Clone, Debug, Default)]
pub struct EngineStats {
	/// Executions in flight in this process.
	pub executions: usize,
	/// Ready attempts waiting for a worker, per priority (index 0 is priority 1).
	pub ready_by_priority: [usize; 10],
	/// Attempts running now.
	pub running: usize,
	/// The concurrency limit.
	pub max_running: usize,
	/// Armed durable timers.
	pub timers: usize,
	/// Checkpoint commits since the engine started (each one transaction).
	pub commits: u64,
	/// Writes in those commits (one per row changed).
	pub writes: u64,
	/// Time spent waiting for those commits: with `commits`, how much of a step is the store.
	pub commit_time: std::time::Duration,
}
