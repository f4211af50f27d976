//! A validated definition compiled for execution: components resolved to their implementations,
//! common options parsed, and connections indexed by node so every transition is O(degree).

use std::collections::HashMap;
use std::sync::Arc;

use apg_core::{Component, ConnectionType, Definition, Registry, StepOptions, expr, validate};
use serde_json::Value;

use crate::error::{EngineError, Result};

/// One component of a compiled workflow.
pub struct Node {
	/// Its id.
	pub id: String,
	/// Its type.
	pub kind: String,
	/// Its implementation.
	pub component: Arc<dyn Component>,
	/// Its config as written (templates unrendered).
	pub config: Value,
	/// Whether any config string needs rendering.
	pub templated: bool,
	/// Engine options (timeout, retries, join).
	pub options: StepOptions,
	/// Its full config schema, to check the rendered config.
	pub schema: Arc<apg_core::schema::ConfigSchema>,
	/// Indices of incoming edges.
	pub incoming: Vec<usize>,
	/// Indices of outgoing edges.
	pub outgoing: Vec<usize>,
	/// The credentials and sealed values its config holds: all that is revealed for it.
	pub secrets: Arc<apg_core::secrets::Needs>,
	/// A durable wait (see [`Component::is_durable`]).
	pub durable: bool,
	/// Its wait ends by a decision, a signal or a child (see [`Component::waits_outside`]).
	pub outside: bool,
	/// An `end` whose config says `status: failure`.
	pub ends_in_failure: bool,
}

/// One connection of a compiled workflow.
pub struct Edge {
	/// Source node index.
	pub source: usize,
	/// Target node index.
	pub target: usize,
	/// When it is taken.
	pub kind: ConnectionType,
	/// For `condition` edges.
	pub condition: Option<String>,
	/// For edges leaving a branching component.
	pub branch: Option<String>,
}

/// A workflow version ready to run.
pub struct Compiled {
	/// Nodes in definition order.
	pub nodes: Vec<Node>,
	/// Edges in definition order.
	pub edges: Vec<Edge>,
	/// Node index by id.
	pub index: HashMap<String, usize>,
	/// The definition it was compiled from.
	pub definition: Definition,
	/// Set when this version may not use its owner's secrets (`apg_core::secrets_allowed`):
	/// why, for the error of every step that needs them.
	pub secrets_refused: Option<String>,
	/// The most a step may output (the engine's `max_output_bytes`): the engine sets it, and a
	/// step whose output the engine builds itself (a for_each's list of results) is held to it.
	pub max_output_bytes: usize,
}

impl Compiled {
	/// Every component `node` depends on, directly or through others (not `node` itself).
	pub fn upstream_of(&self, node: usize) -> std::collections::BTreeSet<usize> {
		let mut seen = std::collections::BTreeSet::new();
		let mut todo = vec![node];
		while let Some(n) = todo.pop() {
			for &e in &self.nodes[n].incoming {
				let source = self.edges[e].source;
				if source != node && seen.insert(source) {
					todo.push(source);
				}
			}
		}
		seen
	}

	/// Validates and compiles a definition.
	pub fn new(definition: &Definition, registry: &Registry) -> Result<Self> {
		let (def, report) = validate(&definition.to_value(), registry);
		if !report.is_valid {
			return Err(EngineError::Invalid(report.errors));
		}
		let mut nodes = Vec::with_capacity(def.components.len());
		let mut index = HashMap::with_capacity(def.components.len());
		for (i, spec) in def.components.iter().enumerate() {
			let component = registry.get(&spec.kind).cloned().ok_or_else(|| {
				EngineError::Invalid(vec![apg_core::Issue::new(
					spec.kind.clone(),
					"unknown type",
				)])
			})?;
			let schema = registry.schema(&spec.kind).cloned().unwrap_or_default();
			let config = Value::Object(spec.config.clone());
			let durable = component.is_durable();
			let outside = component.waits_outside();
			let secrets = Arc::new(apg_core::secrets::needs(&config));
			index.insert(spec.id.clone(), i);
			nodes.push(Node {
				id: spec.id.clone(),
				kind: spec.kind.clone(),
				component,
				templated: expr::contains_template(&config),
				durable,
				outside,
				secrets,
				ends_in_failure: spec.kind == "end"
					&& spec.config.get("status").and_then(Value::as_str) == Some("failure"),
				options: StepOptions::from_config(&spec.id, &spec.config),
				config,
				schema,
				incoming: Vec::new(),
				outgoing: Vec::new(),
			});
		}
		let mut edges = Vec::with_capacity(def.connections.len());
		for conn in &def.connections {
			let (Some(&source), Some(&target)) = (index.get(&conn.source), index.get(&conn.target))
			else {
				continue;
			};
			let e = edges.len();
			nodes[source].outgoing.push(e);
			nodes[target].incoming.push(e);
			edges.push(Edge {
				source,
				target,
				kind: conn.kind,
				condition: conn.condition.clone(),
				branch: conn.branch.clone(),
			});
		}
		Ok(Self {
			nodes,
			edges,
			index,
			definition: def,
			secrets_refused: None,
			max_output_bytes: crate::output_cap::DEFAULT_MAX_OUTPUT_BYTES,
		})
	}

	/// Whether `node` needs secrets revealed before it runs (so it never runs inline, where
	/// nothing could be awaited or masked).
	pub fn needs_secrets(&self, node: usize) -> bool {
		!self.nodes[node].secrets.is_empty()
	}

	/// Whether a failure of `node` is handled by a `failure` or `always` connection.
	pub fn handles_failure(&self, node: usize) -> bool {
		self.nodes[node].outgoing.iter().any(|&e| {
			matches!(
				self.edges[e].kind,
				ConnectionType::Failure | ConnectionType::Always
			)
		})
	}
}
