//! The built-in components of APG Workflow: one file per component, each owning its config schema,
//! collected into a [`Registry`] value by [`builtins`] (the binary builds it once; nothing
//! registers itself at start-up as the seed's `ComponentFactory` did).
//!
//! Decisions every component here shares, which the engine relies on:
//!
//! - **Components only compute.** The engine renders every `{{ }}` template in the config before
//!   [`Component::run`](apg_core::Component::run), so `run` sees plain JSON values; retries,
//!   timeouts, durable waits and the common fields (see `apg_core::options`) are the engine's.
//! - **Schemas are JSON Schema, draft 2020-12**, checked by the `jsonschema` crate
//!   (`apg_core::schema`), the language the UI's form library reads too. A field whose rendered
//!   value may have any type (`task.message`, `task.value`, `end.output`,
//!   `condition.expression`, `switch.cases[].when`) has no `type` in its schema, so the engine's
//!   second check of the rendered config accepts whatever the expression produced; its shape
//!   *before* rendering, and every rule across fields, is checked by `check_config`.
//! - **Branching passes data through.** `condition` and `switch` output their input unchanged and
//!   name the branch taken in [`Outcome::branch`](apg_core::Outcome::branch), so a branch is
//!   invisible to the data flowing past it.

use std::sync::Arc;

use serde_json::Value;

use apg_core::{Registry, expr};

mod approval;
mod children;
mod condition;
mod database;
mod delay;
mod email;
mod end;
mod http;
mod net;
mod settings;
mod start;
mod switch;
mod task;
mod transform;
mod wait_for_event;

pub use approval::Approval;
pub use children::{ForEach, SubWorkflow};
pub use condition::Condition;
pub use database::DatabaseQuery;
pub use delay::Delay;
pub use email::Email;
pub use end::End;
pub use http::HttpRequest;
pub use settings::{DEFAULT_HTTP_MAX_RESPONSE_BYTES, Settings, SmtpSettings};
pub use start::Start;
pub use switch::Switch;
pub use task::Task;
pub use transform::Transform;
pub use wait_for_event::WaitForEvent;

/// A registry holding every built-in component of this crate, configured from the environment
/// (tests and tools that read no configuration file).
pub fn builtins() -> Registry {
	with_settings(&Settings::from_env())
}

/// A registry holding every built-in component of this crate, configured by `settings`.
pub fn with_settings(settings: &Settings) -> Registry {
	let mut registry = Registry::new();
	registry.register(Arc::new(Start));
	registry.register(Arc::new(End));
	registry.register(Arc::new(Task));
	registry.register(Arc::new(Delay));
	registry.register(Arc::new(Approval));
	registry.register(Arc::new(WaitForEvent));
	registry.register(Arc::new(SubWorkflow));
	registry.register(Arc::new(ForEach));
	registry.register(Arc::new(Transform));
	registry.register(Arc::new(Condition));
	registry.register(Arc::new(Switch));
	registry.register(Arc::new(HttpRequest::new(settings)));
	registry.register(Arc::new(DatabaseQuery::new(settings)));
	registry.register(Arc::new(Email::new(settings)));
	registry
}

/// JSON truthiness of a rendered value: `false`, `null`, `0`, `""`, `[]` and `{}` are false.
pub(crate) fn truthy(value: &Value) -> bool {
	match value {
		Value::Null => false,
		Value::Bool(b) => *b,
		Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
		Value::String(s) => !s.is_empty(),
		Value::Array(items) => !items.is_empty(),
		Value::Object(map) => !map.is_empty(),
	}
}

/// Whether `value` is a string the engine will render (a template), so its final value is only
/// known when the execution runs.
pub(crate) fn is_template(value: &Value) -> bool {
	value.as_str().is_some_and(expr::is_template)
}

#[cfg(test)]
pub(crate) mod testing {
	//! Helpers shared by the components' unit tests.

	use std::sync::Arc;

	use serde_json::{Map, Value};

	use apg_core::{ExecutionId, RunContext, WorkflowId};

	/// A context for one first attempt of component `c` in a fresh execution.
	pub(crate) fn ctx() -> RunContext {
		RunContext {
			execution_id: ExecutionId::new(),
			workflow_id: WorkflowId::new(),
			component_id: "c".to_owned(),
			attempt: 1,
			params: Arc::new(Map::new()),
			vars: Map::new(),
			cancel: Default::default(),
			started_by: None,
		}
	}

	/// The object inside `value` (a config written with `json!`).
	pub(crate) fn obj(value: Value) -> Map<String, Value> {
		match value {
			Value::Object(map) => map,
			other => panic!("not an object: {other}"),
		}
	}
}

#[cfg(test)]
mod tests {
	use serde_json::json;

	use apg_core::schema;

	use super::*;
	use crate::testing::obj;

	/// Every problem the registry finds in `config` for `kind`, as `path: message`.
	fn problems(kind: &str, config: Value) -> Vec<String> {
		let registry = builtins();
		let component = registry.get(kind).expect("known kind");
		let full = registry.schema(kind).expect("schema");
		let mut issues = Vec::new();
		schema::check(full, &config, "config", &mut issues);
		let mut found: Vec<String> = issues.iter().map(ToString::to_string).collect();
		for (path, message) in component.check_config(&obj(config)) {
			found.push(format!("config.{path}: {message}"));
		}
		found
	}

	#[test]
	fn builtins_hold_exactly_the_seed_components_and_the_waits() {
		assert_eq!(
			builtins().kinds(),
			[
				"approval",
				"condition",
				"database_query",
				"delay",
				"email",
				"end",
				"for_each",
				"http_request",
				"start",
				"sub_workflow",
				"switch",
				"task",
				"transform",
				"wait_for_event"
			]
		);
	}

	#[test]
	fn the_seed_example_configs_are_valid() {
		let examples = [
			("start", json!({"trigger_type": "manual"})),
			("end", json!({"status": "success"})),
			(
				"task",
				json!({"task_type": "echo", "message": "Hello World"}),
			),
			("task", json!({"task_type": "noop"})),
			("delay", json!({"seconds": 1})),
			(
				"transform",
				json!({"transformation_type": "map",
					"transformation_rules": {"mapping": {"id": "record_id", "name": "record_name",
						"value": "record_value"}},
					"batch_size": "{{batch_size}}"}),
			),
			("condition", json!({"expression": "{{ params.count > 3 }}"})),
			(
				"switch",
				json!({"cases": [{"name": "big", "when": "{{ input.n > 10 }}"}],
					"default": "small"}),
			),
			(
				"task",
				json!({"task_type": "log", "message": "hi", "retry_attempts": 0}),
			),
		];
		for (kind, config) in examples {
			let found = problems(kind, config.clone());
			assert!(found.is_empty(), "{kind} {config}: {found:?}");
		}
	}

	#[test]
	fn invalid_configs_are_rejected_with_paths() {
		let cases = [
			(
				"transform",
				json!({"transformation_type": "map", "transformation_rules": {"x": 1}}),
				"config.transformation_rules: Map transformation requires 'mapping' in rules",
			),
			(
				"task",
				json!({"task_type": "dance"}),
				"config.task_type: must be one of",
			),
			(
				"delay",
				json!({"seconds": -1}),
				"config.seconds: must be at least 0",
			),
			("delay", json!({}), "config.seconds: is required"),
			(
				"task",
				json!({"task_type": "log"}),
				"config.message: is required for a log task",
			),
			(
				"transform",
				json!({"transformation_type": "filter",
					"transformation_rules": {"field": "a", "operator": "like", "value": 1}}),
				"config.transformation_rules.operator: must be one of",
			),
			(
				"start",
				json!({"trigger": "manual"}),
				"config.trigger: unknown field",
			),
			(
				"condition",
				json!({"expression": "x > 5"}),
				"config.expression: must be a {{ expression }}",
			),
		];
		for (kind, config, expected) in cases {
			let found = problems(kind, config.clone());
			assert!(
				found.iter().any(|p| p.starts_with(expected)),
				"{kind} {config}: expected {expected:?}, found {found:?}"
			);
		}
	}

	#[test]
	fn every_schema_property_is_described() {
		let registry = builtins();
		for (kind, component) in registry.iter() {
			let schema = component.config_schema();
			assert_eq!(schema["type"], "object", "{kind}");
			let props = schema["properties"].as_object().expect("properties");
			for (name, prop) in props {
				assert!(prop["description"].is_string(), "{kind}.{name}");
			}
			assert!(!component.summary().is_empty());
		}
	}

	#[test]
	fn truthiness_follows_json() {
		for falsy in [
			json!(null),
			json!(false),
			json!(0),
			json!(0.0),
			json!(""),
			json!([]),
			json!({}),
		] {
			assert!(!truthy(&falsy), "{falsy}");
		}
		for truthy_value in [
			json!(true),
			json!(1),
			json!("false"),
			json!([0]),
			json!({"a": 0}),
		] {
			assert!(truthy(&truthy_value), "{truthy_value}");
		}
	}
}
