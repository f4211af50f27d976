//! Stored records of an execution: the execution itself, one step record per component (its
//! checkpoint), one record per attempt, events and log lines.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Millis;
use crate::ids::{ExecutionId, UserId, WorkflowId};
use crate::priority::Priority;
use crate::status::{ComponentStatus, ExecutionStatus};

/// One execution of a pinned workflow version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Execution {
	/// Its id.
	pub id: ExecutionId,
	/// The workflow.
	pub workflow_id: WorkflowId,
	/// The immutable version it runs; later edits do not affect it.
	pub workflow_version: i64,
	/// Where it is in its lifecycle.
	pub status: ExecutionStatus,
	/// Scheduling priority.
	pub priority: Priority,
	/// The resolved parameters.
	pub parameters: Map<String, Value>,
	/// Variables set by components (`set_variable`).
	pub vars: Map<String, Value>,
	/// Final outputs, keyed by the id of each completed sink component.
	pub results: Option<Value>,
	/// Why it failed.
	pub error_message: Option<String>,
	/// Components to pause before (debugging).
	#[serde(default, skip_serializing_if = "Vec::is_empty")]
	pub breakpoints: Vec<String>,
	/// The client's `Idempotency-Key`: a repeated execute with the same key returns this
	/// execution instead of starting another.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub idempotency_key: Option<String>,
	/// The user who started it (REST, GraphQL); `None` when the CLI ran it. The APG connectors
	/// act with this user's permissions, so a workflow cannot do more than whoever started it.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub started_by: Option<UserId>,
	/// The execution this one reruns (`POST /executions/{id}/rerun`), if it is a rerun.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub rerun_of: Option<ExecutionId>,
	/// The step of another execution it is a child of (`sub_workflow`, `for_each`).
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub parent: Option<crate::ParentLink>,
	/// When it was created.
	pub created_at: Millis,
	/// When its first component started.
	pub started_at: Option<Millis>,
	/// When it reached an end state.
	pub completed_at: Option<Millis>,
}

/// The checkpoint of one component within an execution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
	/// The execution.
	pub execution_id: ExecutionId,
	/// The component's id.
	pub component_id: String,
	/// The component's type.
	pub component_type: String,
	/// Where it is.
	pub status: ComponentStatus,
	/// The attempt running or last run (0 before the first).
	pub attempt: u32,
	/// Its input.
	pub input: Option<Value>,
	/// Its output, once completed.
	pub output: Option<Value>,
	/// The branch it selected, for branching components.
	pub branch: Option<String>,
	/// The last error.
	pub error_message: Option<String>,
	/// When its durable timer (delay or retry back-off) fires.
	pub run_at: Option<Millis>,
	/// When its first attempt started.
	pub started_at: Option<Millis>,
	/// When it reached an end state.
	pub completed_at: Option<Millis>,
	/// Time spent in its attempts.
	pub duration_ms: Option<i64>,
	/// What it waits for, while it waits for people or a signal.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub waiting: Option<crate::Waiting>,
}

/// One attempt of one component.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttemptRecord {
	/// The execution.
	pub execution_id: ExecutionId,
	/// The component's id.
	pub component_id: String,
	/// 1 for the first attempt.
	pub attempt: u32,
	/// `running`, `completed` or `failed`.
	pub status: ComponentStatus,
	/// The error of a failed attempt.
	pub error_message: Option<String>,
	/// When it started.
	pub started_at: Millis,
	/// When it ended.
	pub finished_at: Option<Millis>,
}

/// Severity of a log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
	/// Detail for debugging.
	Debug,
	/// Normal progress.
	Info,
	/// Something to look at.
	Warning,
	/// A failure.
	Error,
}

impl LogLevel {
	/// Stored form.
	pub fn as_str(self) -> &'static str {
		match self {
			Self::Debug => "debug",
			Self::Info => "info",
			Self::Warning => "warning",
			Self::Error => "error",
		}
	}

	/// Parses the stored form.
	pub fn parse(text: &str) -> Self {
		match text {
			"debug" => Self::Debug,
			"warning" => Self::Warning,
			"error" => Self::Error,
			_ => Self::Info,
		}
	}
}

/// One line of an execution's log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogRecord {
	/// The execution.
	pub execution_id: ExecutionId,
	/// When it was written.
	pub at: Millis,
	/// Severity.
	pub level: LogLevel,
	/// The component that wrote it, if any.
	pub component_id: Option<String>,
	/// The text.
	pub message: String,
}

/// A persisted event (see [`Event`](crate::Event)), in commit order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
	/// Global, increasing sequence number (0 before it is stored).
	pub seq: i64,
	/// The event.
	pub event: crate::event::Event,
}
