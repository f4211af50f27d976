//! The [`Store`] seam: where workflows, executions and their checkpoints live.
//!
//! The trait is shaped by use case, not per table: the engine writes a whole [`Batch`] (the
//! checkpoints of every step that finished, the successors made ready, events and logs) in one
//! transaction, which is what makes a step cost about one commit and lets many steps that finish
//! together share one commit.

use crate::event::Event;
use crate::execution::{AttemptRecord, EventRecord, Execution, LogRecord, StepRecord};
use crate::ids::{ExecutionId, SignalId, WorkflowId};
use crate::status::{ExecutionStatus, WorkflowStatus};
use crate::wait::{Decision, SignalRecord, WaitKind};
use crate::workflow::{Workflow, WorkflowVersion};
use std::collections::HashMap;

use async_trait::async_trait;
use serde::Serialize;

use crate::Millis;

/// Errors of any backend.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
	/// A uniqueness rule was broken (for example a second workflow with the same name and owner).
	#[error("conflict: {0}")]
	Conflict(String),
	/// The backend failed (IO, connection, corrupt data).
	#[error("storage failure: {0}")]
	Backend(String),
	/// A write refers to something that no longer exists (its workflow was deleted meanwhile,
	/// on another node): retrying cannot help.
	#[error("dangling reference: {0}")]
	Dangling(String),
	/// The batch was not committed because this node no longer holds the lease of these
	/// executions (another node took them over): their writes must be dropped.
	#[error("lease lost for {} executions", .0.len())]
	LeaseLost(Vec<ExecutionId>),
}

/// One change inside a [`Batch`]. Executions and steps are written whole (an upsert of the
/// engine's current record), which lets a backend write a batch with a few multi-row statements.
#[derive(Clone, Debug)]
pub enum Write {
	/// Insert or replace an execution.
	Execution(Box<Execution>),
	/// Insert or replace a child execution on behalf of its parent (created `pending`, or
	/// cancelled before it was released): part of the parent's checkpoint, fenced by the
	/// parent's lease and dropped with the parent's writes.
	Child(Box<Execution>),
	/// Insert or replace the checkpoint of one component.
	Step(Box<StepRecord>),
	/// Insert or replace one attempt.
	Attempt(AttemptRecord),
	/// Append an event.
	Event(Event),
	/// Append a log line.
	Log(LogRecord),
	/// Mark a signal taken by the step that it ended (in the step's checkpoint, so a signal is
	/// taken exactly once).
	TakeSignal {
		/// The execution.
		execution_id: ExecutionId,
		/// The signal.
		signal: SignalId,
		/// The step that took it.
		component_id: String,
	},
}

/// Writes committed atomically, in order.
#[derive(Clone, Debug, Default)]
pub struct Batch {
	/// The writes.
	pub writes: Vec<Write>,
	/// Leases the batch may only be committed under (multi-node): if any is no longer held,
	/// nothing is written and the commit fails with [`StoreError::LeaseLost`]. Single-process
	/// stores have no other writer and ignore them.
	pub fences: Vec<Fence>,
}

/// A lease on an execution: the node holding it and the fencing token of its claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fence {
	/// The execution.
	pub execution_id: ExecutionId,
	/// The holding node.
	pub node: String,
	/// Increases with every claim, so a node that lost the lease cannot commit.
	pub token: i64,
}

impl Batch {
	/// Whether there is nothing to write.
	pub fn is_empty(&self) -> bool {
		self.writes.is_empty()
	}
}

/// Filters of [`Store::list_workflows`].
#[derive(Clone, Debug, Default)]
pub struct WorkflowFilter {
	/// Only this status.
	pub status: Option<WorkflowStatus>,
	/// Only this category.
	pub category: Option<String>,
	/// Name or description contains this text (case-insensitive).
	pub search: Option<String>,
	/// Carries this tag.
	pub tag: Option<String>,
	/// Only workflows this user (id as in `created_by`) owns or has a share of; `None` for all.
	pub visible_to: Option<String>,
	/// Page size.
	pub limit: i64,
	/// Rows to skip.
	pub offset: i64,
}

/// Filters of [`Store::list_executions`].
#[derive(Clone, Debug, Default)]
pub struct ExecutionFilter {
	/// Only executions of this workflow.
	pub workflow_id: Option<WorkflowId>,
	/// Only this status.
	pub status: Option<ExecutionStatus>,
	/// Only executions of workflows this user owns or has a share of; `None` for all.
	pub visible_to: Option<String>,
	/// Page size.
	pub limit: i64,
	/// Rows to skip.
	pub offset: i64,
}

/// Execution statistics of one workflow (the seed's `get_workflow_with_stats`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct WorkflowStats {
	/// Executions of any status.
	pub total_executions: i64,
	/// Executions that completed.
	pub successful_executions: i64,
	/// Executions that failed.
	pub failed_executions: i64,
	/// Mean of `completed_at - started_at` over ended executions that started.
	pub avg_duration_seconds: Option<f64>,
	/// When the newest execution was created.
	pub last_execution_at: Option<Millis>,
}

impl WorkflowStats {
	/// Completed executions over all executions; `None` before the first.
	pub fn success_rate(&self) -> Option<f64> {
		(self.total_executions > 0)
			.then(|| self.successful_executions as f64 / self.total_executions as f64)
	}
}

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// Persistence of workflows and executions. Implementations: SQLite (the embedded default) and
/// memory (tests, `run` without `--data-dir`); all pass one contract suite.
#[async_trait]
pub trait Store: Send + Sync {
	/// Brings the schema up to date.
	async fn migrate(&self) -> StoreResult<()>;

	/// Stores a new workflow and its first immutable version.
	async fn create_workflow(&self, workflow: &Workflow) -> StoreResult<()>;
	/// The current state of a workflow.
	async fn get_workflow(&self, id: WorkflowId) -> StoreResult<Option<Workflow>>;
	/// Workflows, newest change first.
	async fn list_workflows(&self, filter: &WorkflowFilter) -> StoreResult<Vec<Workflow>>;
	/// Replaces a workflow; when `workflow.version` is new, its version is stored too.
	/// Returns false when it does not exist.
	async fn update_workflow(&self, workflow: &Workflow) -> StoreResult<bool>;
	/// Deletes a workflow with its versions and executions. Returns false when it does not exist.
	async fn delete_workflow(&self, id: WorkflowId) -> StoreResult<bool>;
	/// One immutable version.
	async fn get_version(
		&self,
		id: WorkflowId,
		version: i64,
	) -> StoreResult<Option<WorkflowVersion>>;
	/// Every version of a workflow, oldest first.
	async fn list_versions(&self, id: WorkflowId) -> StoreResult<Vec<WorkflowVersion>>;

	/// Commits a batch atomically: all of it or none.
	async fn commit(&self, batch: &Batch) -> StoreResult<()>;

	/// One execution.
	async fn get_execution(&self, id: ExecutionId) -> StoreResult<Option<Execution>>;
	/// Executions, newest first, as summaries: without their parameters, variables and results
	/// (empty), so a list of
	/// fifty costs fifty small rows however large the outputs (read one for them).
	async fn list_executions(&self, filter: &ExecutionFilter) -> StoreResult<Vec<Execution>>;
	/// The execution of `workflow` created with the idempotency key `key`, if any.
	async fn find_by_idempotency_key(
		&self,
		workflow: WorkflowId,
		key: &str,
	) -> StoreResult<Option<Execution>>;
	/// Every execution not in an end state (what recovery resumes), but for children still
	/// `pending` (their parent releases them).
	async fn unfinished_executions(&self) -> StoreResult<Vec<Execution>>;
	/// The child executions of `parent` (whole records), in id order.
	async fn children(&self, parent: ExecutionId) -> StoreResult<Vec<Execution>>;
	/// How many executions exist.
	async fn count_executions(&self) -> StoreResult<i64>;
	/// Deletes up to `limit` ended executions (with their checkpoints, attempts, events and logs)
	/// that ended before `cutoff`; returns how many. The retention policy calls it in batches so
	/// no transaction grows large.
	async fn delete_ended_before(&self, cutoff: Millis, limit: i64) -> StoreResult<u64>;
	/// Execution statistics of the given workflows; a workflow without executions is absent.
	async fn workflow_stats(
		&self,
		ids: &[WorkflowId],
	) -> StoreResult<HashMap<WorkflowId, WorkflowStats>>;
	/// The checkpoints of an execution, in definition order of first write.
	async fn steps(&self, id: ExecutionId) -> StoreResult<Vec<StepRecord>>;
	/// The attempts of an execution, in start order.
	async fn attempts(&self, id: ExecutionId) -> StoreResult<Vec<AttemptRecord>>;
	/// The events of an execution, in commit order.
	async fn events(&self, id: ExecutionId) -> StoreResult<Vec<EventRecord>>;
	/// Events of every execution committed after sequence number `after`, plus the ones numbered
	/// `missing` (sequence numbers a reader saw skipped, whose transactions may commit late), in
	/// sequence order, at most `limit`. This is how a node in a cluster delivers every committed
	/// event to its subscribers, whichever node committed it.
	async fn events_after(
		&self,
		after: i64,
		missing: &[i64],
		limit: i64,
	) -> StoreResult<Vec<EventRecord>>;
	/// The highest event sequence number (0 when there are none).
	async fn last_event_seq(&self) -> StoreResult<i64>;
	/// The log of an execution, in write order.
	async fn logs(&self, id: ExecutionId) -> StoreResult<Vec<LogRecord>>;

	/// Keeps a signal for its execution until a step takes it.
	async fn put_signal(&self, signal: &SignalRecord) -> StoreResult<()>;
	/// The signals of an execution that no step has taken, oldest first.
	async fn pending_signals(&self, id: ExecutionId) -> StoreResult<Vec<SignalRecord>>;
	/// Records a decision; Conflict when its user already decided that round.
	async fn put_decision(&self, decision: &Decision) -> StoreResult<()>;
	/// The decisions on an execution's approvals, oldest first.
	async fn decisions(&self, id: ExecutionId) -> StoreResult<Vec<Decision>>;
	/// Steps that wait (for people or a signal), oldest first, at most `limit`.
	async fn waiting_steps(&self, kind: WaitKind, limit: i64) -> StoreResult<Vec<StepRecord>>;
}
