//! The [`Component`] seam: what one step of a workflow does, and the [`Registry`] of them.
//!
//! Components are trait objects collected in a registry *value* built by the binary (ripgrep's
//! `FLAGS` list), never a global that modules mutate at start-up as the seed's `ComponentFactory`
//! does. A component only computes: it gets its rendered config, its input and a read-only view of
//! the execution, and returns an [`Outcome`]. Retries, timeouts, durability and events are the
//! engine's job, so a component cannot get them wrong.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use crate::execution::LogLevel;
use crate::ids::{ExecutionId, UserId, WorkflowId};
use crate::options::{COMMON_FIELDS, common_schema_properties};
use crate::schema::ConfigSchema;

/// What a component sees of the execution it runs in.
#[derive(Clone, Debug)]
pub struct RunContext {
	/// The execution.
	pub execution_id: ExecutionId,
	/// Its workflow.
	pub workflow_id: WorkflowId,
	/// The component's id in the definition.
	pub component_id: String,
	/// 1 for the first attempt.
	pub attempt: u32,
	/// The execution's parameters.
	pub params: Arc<Map<String, Value>>,
	/// The execution's variables when the attempt started.
	pub vars: Map<String, Value>,
	/// Cancelled when the execution is cancelled or the attempt times out.
	pub cancel: CancellationToken,
	/// The user who started the execution, whose permissions the APG connectors act with.
	pub started_by: Option<UserId>,
}

/// The result of a successful attempt.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
	/// The output passed to successors and stored as the checkpoint.
	pub output: Value,
	/// Variables to set on the execution (`set_variable`).
	pub vars: Map<String, Value>,
	/// Log lines to add to the execution's log.
	pub logs: Vec<(LogLevel, String)>,
	/// For branching components: the branch taken (matches `Connection::branch`).
	pub branch: Option<String>,
}

impl Outcome {
	/// An outcome with just an output.
	pub fn output(output: Value) -> Self {
		Self {
			output,
			..Self::default()
		}
	}
}

/// Why an attempt failed, which decides whether it is retried.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ComponentError {
	/// A transient failure: retried per the component's retry settings.
	#[error("{0}")]
	Retryable(String),
	/// A failure that another attempt cannot fix (bad rules, bad input): not retried.
	#[error("{0}")]
	Fatal(String),
}

impl ComponentError {
	/// Whether another attempt may succeed.
	pub fn is_retryable(&self) -> bool {
		matches!(self, Self::Retryable(_))
	}
}

/// One kind of workflow step.
#[async_trait]
pub trait Component: Send + Sync {
	/// The `type` used in definitions.
	fn kind(&self) -> &'static str;

	/// One line for the component palette and `--help`.
	fn summary(&self) -> &'static str;

	/// JSON schema (an object schema) of the type-specific config fields. The common fields are
	/// added by the registry.
	fn config_schema(&self) -> Value;

	/// Checks the schema cannot express (for example that a `map` has a `mapping`), each as
	/// `(field path under config, message)`. Templates in the config are not yet rendered.
	fn check_config(&self, _config: &Map<String, Value>) -> Vec<(String, String)> {
		Vec::new()
	}

	/// The branches this component may select, for checking `branch` on outgoing connections.
	/// `None` for components that do not branch.
	fn branches(&self, _config: &Map<String, Value>) -> Option<Vec<String>> {
		None
	}

	/// Whether this component is pure and instant (no IO, no waiting, little CPU), so the engine
	/// may run it inside the coordinator, in the same checkpoint as the step that readied it,
	/// without a worker slot. Its effects exist only in that checkpoint, so running it again
	/// after a crash is unobservable. Its `run` must complete on its first poll; one that does
	/// not fails with a fatal error.
	fn is_inline(&self) -> bool {
		false
	}

	/// Config fields the engine leaves unrendered (a for_each's inline body, whose expressions
	/// are its children's to render).
	fn unrendered_fields(&self) -> &'static [&'static str] {
		&[]
	}

	/// Whether this component is a durable wait (`delay`, `approval`, `wait_for_event`): the
	/// engine then asks [`Component::durable_wait`] what for, stores it, holds no worker, and
	/// ends the component itself when the wait ends ([`Component::run`] is not called).
	fn is_durable(&self) -> bool {
		false
	}

	/// Whether its wait ends by something outside the execution (a decision, a signal, a
	/// child): a rebuilt execution then reads what arrived meanwhile.
	fn waits_outside(&self) -> bool {
		false
	}

	/// For durable waits: what the rendered config waits for, or why it cannot wait.
	fn durable_wait(&self, _config: &Value) -> Result<crate::DurableWait, String> {
		Err(format!("'{}' is not a durable wait", self.kind()))
	}

	/// Runs one attempt with the rendered config.
	async fn run(
		&self,
		ctx: &RunContext,
		config: &Value,
		input: Value,
	) -> Result<Outcome, ComponentError>;
}

/// The components a process knows, by type.
#[derive(Clone, Default)]
pub struct Registry {
	components: BTreeMap<&'static str, Arc<dyn Component>>,
	schemas: BTreeMap<&'static str, Arc<ConfigSchema>>,
}

impl Registry {
	/// An empty registry.
	pub fn new() -> Self {
		Self::default()
	}

	/// Adds a component; a later one of the same kind replaces the earlier.
	///
	/// # Panics
	/// When the component's schema is not a valid JSON Schema: a bug in the component, which
	/// `every_builtin_schema_compiles`-style tests catch before it ships.
	pub fn register(&mut self, component: Arc<dyn Component>) {
		let kind = component.kind();
		let schema = ConfigSchema::compile(full_schema(component.as_ref()))
			.unwrap_or_else(|e| panic!("component {kind}: {e}"));
		self.schemas.insert(kind, Arc::new(schema));
		self.components.insert(kind, component);
	}

	/// The component of `kind`.
	pub fn get(&self, kind: &str) -> Option<&Arc<dyn Component>> {
		self.components.get(kind)
	}

	/// The complete config schema of `kind` (its own fields plus the common fields).
	pub fn schema(&self, kind: &str) -> Option<&Arc<ConfigSchema>> {
		self.schemas.get(kind)
	}

	/// Every registered component, by kind.
	pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Arc<dyn Component>)> {
		self.components.iter().map(|(k, v)| (*k, v))
	}

	/// Every kind, sorted.
	pub fn kinds(&self) -> Vec<&'static str> {
		self.components.keys().copied().collect()
	}
}

fn full_schema(component: &dyn Component) -> Value {
	let mut schema = component.config_schema();
	if !schema.is_object() {
		schema = json!({});
	}
	let obj = schema.as_object_mut().expect("checked above");
	obj.insert("type".into(), json!("object"));
	obj.entry("additionalProperties").or_insert(json!(false));
	let props = obj.entry("properties").or_insert_with(|| json!({}));
	if let Some(props) = props.as_object_mut() {
		for (k, v) in common_schema_properties() {
			debug_assert!(COMMON_FIELDS.contains(&k.as_str()));
			props.entry(k).or_insert(v);
		}
	}
	schema
}
