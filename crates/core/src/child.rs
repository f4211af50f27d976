//! Child executions: a `sub_workflow` runs one, a `for_each` one per item. A child is an
//! execution like any other (any node may claim it), linked to its parent's step
//! ([`ParentLink`]); the parent's step waits ([`ChildrenWait`]) and ends when its children have.
//!
//! A for_each's children are all created at once, `pending` (holding their item as parameters,
//! so the items are stored once), and released `concurrency` at a time; a pending execution is
//! neither recovered nor claimed. Each child's result is its own row, so after a crash only the
//! children that had not ended run again.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ids::{ExecutionId, WorkflowId};

/// Children nest at most this deep (a run-time guard against cycles between workflows that
/// validation cannot see).
pub const MAX_DEPTH: u32 = 8;

/// The most items one for_each takes.
pub const MAX_ITEMS: usize = 100_000;

/// Where a child execution belongs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParentLink {
	/// The parent execution.
	pub execution_id: ExecutionId,
	/// The parent's `sub_workflow` or `for_each` step.
	pub component_id: String,
	/// The step's round (its attempt when it began waiting): a retried step starts new
	/// children.
	pub round: u32,
	/// The item's position, for a for_each.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub item: Option<u32>,
	/// The child runs the inline body of that step (the parent's own workflow version), not a
	/// workflow of its own.
	#[serde(default, skip_serializing_if = "std::ops::Not::not")]
	pub inline: bool,
	/// How deep it nests (1 for a child of a top-level execution).
	pub depth: u32,
}

/// What a child runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChildTarget {
	/// Another workflow: a pinned version, or its latest when the step begins.
	Workflow {
		/// The workflow.
		workflow_id: WorkflowId,
		/// The version; `None` for the latest.
		#[serde(default, skip_serializing_if = "Option::is_none")]
		version: Option<i64>,
	},
	/// The step's own `components` and `connections`.
	Inline,
}

/// What a rendered `sub_workflow` or `for_each` config asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct ChildSpec {
	/// What each child runs.
	pub target: ChildTarget,
	/// A for_each's items (each child gets `item` and `index`); `None` for a sub_workflow,
	/// whose one child gets `parameters`.
	pub items: Option<Vec<Value>>,
	/// A sub_workflow's parameters.
	pub parameters: Map<String, Value>,
	/// Children running at once.
	pub concurrency: u32,
	/// Whether a failed item lets the others go on (its error in the output) or fails the step.
	pub continue_on_failure: bool,
}

/// What a waiting `sub_workflow` or `for_each` step stores: the rest (which children exist,
/// which ended, their results) is in the children's own rows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildrenWait {
	/// What the children run.
	pub target: ChildTarget,
	/// How many children (items) there are; 0 until they are created.
	pub total: u32,
	/// Children running at once.
	pub concurrency: u32,
	/// Whether a failed item lets the others go on.
	#[serde(default)]
	pub continue_on_failure: bool,
	/// The step's round.
	pub round: u32,
	/// Whether the children were created (when not, a rebuilt step creates them again).
	#[serde(default)]
	pub spawned: bool,
	/// Whether it is a for_each (its output is the list of results).
	#[serde(default)]
	pub each: bool,
}

/// The type of the step whose config may hold an inline body.
pub const FOR_EACH: &str = "for_each";

/// The definition of a for_each's inline body (its `components` and `connections`), if its
/// config has one. The body declares no parameters: its expressions see `item` and `index`.
pub fn inline_body(config: &Map<String, Value>) -> Option<Value> {
	let components = config.get("components")?;
	let connections = config
		.get("connections")
		.cloned()
		.unwrap_or(Value::Array(Vec::new()));
	Some(serde_json::json!({"components": components, "connections": connections}))
}

/// The workflows a definition's steps call by a literal id (`sub_workflow`, `for_each`), with
/// each step's position: what validation follows to refuse a cycle it can see.
pub fn called_workflows(def: &crate::Definition) -> Vec<(usize, WorkflowId)> {
	def.components
		.iter()
		.enumerate()
		.filter(|(_, c)| c.kind == "sub_workflow" || c.kind == FOR_EACH)
		.filter_map(|(i, c)| {
			let id = c.config.get("workflow_id")?.as_str()?.parse().ok()?;
			Some((i, id))
		})
		.collect()
}
