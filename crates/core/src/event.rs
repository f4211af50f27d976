//! Events: every status change of an execution or a component. They are persisted with the
//! checkpoint that causes them, logged, and broadcast to subscribers.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Millis;
use crate::ids::{ExecutionId, WorkflowId};
use crate::status::{ComponentStatus, ExecutionStatus};

/// Something that happened to an execution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
	/// The execution.
	pub execution_id: ExecutionId,
	/// Its workflow (subscribers filter on it).
	pub workflow_id: WorkflowId,
	/// When it happened.
	pub at: Millis,
	/// What happened.
	#[serde(flatten)]
	pub kind: EventKind,
}

/// The kinds of [`Event`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
	/// The execution changed status.
	Execution {
		/// The new status.
		status: ExecutionStatus,
		/// The error, when it failed.
		#[serde(default, skip_serializing_if = "Option::is_none")]
		error: Option<String>,
	},
	/// A component changed status.
	Component {
		/// The component.
		component_id: String,
		/// The new status.
		status: ComponentStatus,
		/// The attempt concerned.
		attempt: u32,
		/// The error of a failed attempt.
		#[serde(default, skip_serializing_if = "Option::is_none")]
		error: Option<String>,
		/// The output of a completed component.
		#[serde(default, skip_serializing_if = "Option::is_none")]
		output: Option<Value>,
		/// Time spent in its attempts, once it ended.
		#[serde(default, skip_serializing_if = "Option::is_none")]
		duration_ms: Option<i64>,
	},
	/// The execution stopped at a breakpoint before `component_id`.
	Paused {
		/// The component about to run.
		component_id: String,
	},
}

impl Event {
	/// Whether this event ends the execution.
	pub fn is_terminal(&self) -> bool {
		matches!(&self.kind, EventKind::Execution { status, .. } if status.is_terminal())
	}
}
