//! `sub_workflow` and `for_each`: steps that run child executions and wait for them (the
//! engine keeps the wait; no worker is held). `sub_workflow` runs another workflow (its latest
//! version, or a pinned one) with `parameters` and outputs that execution's results. `for_each`
//! runs a body once per item of `items`, `concurrency` at a time: another workflow
//! (`workflow_id`) or an inline body (`components` and `connections`, whose expressions see the
//! item as `item` and its position as `index`, and which this step does not render), and
//! outputs the results in input order; with `on_item_failure: continue`, a failed item's place
//! holds `{"error", "status"}` and the others go on.

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use apg_core::child::MAX_ITEMS;
use apg_core::{
	ChildSpec, ChildTarget, Component, ComponentError, DurableWait, Outcome, RunContext, WorkflowId,
};

/// The `sub_workflow` component.
pub struct SubWorkflow;

/// The `for_each` component.
pub struct ForEach;

/// The fields of an inline body, which the step itself does not render.
const BODY: &[&str] = &["components", "connections"];

fn target(config: &Value, inline_allowed: bool) -> Result<ChildTarget, String> {
	let version = match config.get("version") {
		None | Some(Value::Null) => None,
		Some(v) => Some(
			v.as_i64()
				.filter(|n| *n >= 1)
				.ok_or_else(|| format!("'version' must be a version number, got {v}"))?,
		),
	};
	match (config.get("workflow_id"), config.get("components")) {
		(Some(Value::String(id)), None) => Ok(ChildTarget::Workflow {
			workflow_id: id
				.parse::<WorkflowId>()
				.map_err(|_| format!("'workflow_id' must be a workflow id, got '{id}'"))?,
			version,
		}),
		(None, Some(Value::Array(_))) if inline_allowed => Ok(ChildTarget::Inline),
		(Some(_), Some(_)) => Err("give either 'workflow_id' or an inline body, not both".into()),
		(Some(v), None) => Err(format!("'workflow_id' must be a workflow id, got {v}")),
		_ if inline_allowed => {
			Err("give 'workflow_id', or an inline body ('components' and 'connections')".into())
		}
		_ => Err("'workflow_id' names the workflow to run".into()),
	}
}

fn version_schema() -> Value {
	json!({"type": "integer", "minimum": 1,
		"description": "A pinned version (default: the latest when the step begins)"})
}

fn issues(result: Result<(), String>, path: &str) -> Vec<(String, String)> {
	match result {
		Ok(()) => Vec::new(),
		Err(e) => vec![(path.to_owned(), e)],
	}
}

#[async_trait]
impl Component for SubWorkflow {
	fn kind(&self) -> &'static str {
		"sub_workflow"
	}

	fn summary(&self) -> &'static str {
		"Runs another workflow and waits for it (holds no worker); outputs its results"
	}

	fn config_schema(&self) -> Value {
		json!({
			"type": "object",
			"properties": {
				"workflow_id": {"type": "string", "description": "The workflow to run"},
				"version": version_schema(),
				"parameters": {"type": "object",
					"description": "Its parameters (values may be expressions)"}
			},
			"required": ["workflow_id"]
		})
	}

	fn check_config(&self, config: &Map<String, Value>) -> Vec<(String, String)> {
		issues(
			target(&Value::Object(config.clone()), false).map(|_| ()),
			"workflow_id",
		)
	}

	fn is_durable(&self) -> bool {
		true
	}

	fn waits_outside(&self) -> bool {
		true
	}

	fn durable_wait(&self, config: &Value) -> Result<DurableWait, String> {
		let parameters = match config.get("parameters") {
			None | Some(Value::Null) => Map::new(),
			Some(Value::Object(p)) => p.clone(),
			Some(v) => return Err(format!("'parameters' must be an object, got {v}")),
		};
		Ok(DurableWait::Children(ChildSpec {
			target: target(config, false)?,
			items: None,
			parameters,
			concurrency: 1,
			continue_on_failure: false,
		}))
	}

	async fn run(&self, _: &RunContext, _: &Value, _: Value) -> Result<Outcome, ComponentError> {
		Err(ComponentError::Fatal(
			"a sub_workflow step is run by the engine as a child execution".to_owned(),
		))
	}
}

#[async_trait]
impl Component for ForEach {
	fn kind(&self) -> &'static str {
		"for_each"
	}

	fn summary(&self) -> &'static str {
		"Runs a body (a workflow or inline steps) per item, N at a time; outputs the results in order"
	}

	fn config_schema(&self) -> Value {
		// `items` has no type: it is usually an expression, checked once rendered.
		json!({
			"type": "object",
			"properties": {
				"items": {"description": "The list to go over (usually an expression)"},
				"workflow_id": {"type": "string", "description": "A workflow to run per item"},
				"version": version_schema(),
				"components": {"type": "array", "items": {"type": "object"},
					"description": "An inline body's components (they see `item` and `index`)"},
				"connections": {"type": "array", "items": {"type": "object"},
					"description": "An inline body's connections"},
				"concurrency": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 10,
					"description": "Items running at once"},
				"on_item_failure": {"enum": ["fail", "continue"], "default": "fail",
					"description": "A failed item fails the step, or the others go on"}
			},
			"required": ["items"]
		})
	}

	fn check_config(&self, config: &Map<String, Value>) -> Vec<(String, String)> {
		issues(
			target(&Value::Object(config.clone()), true).map(|_| ()),
			"workflow_id",
		)
	}

	fn unrendered_fields(&self) -> &'static [&'static str] {
		BODY
	}

	fn is_durable(&self) -> bool {
		true
	}

	fn waits_outside(&self) -> bool {
		true
	}

	fn durable_wait(&self, config: &Value) -> Result<DurableWait, String> {
		let items = match config.get("items") {
			Some(Value::Array(items)) if items.len() <= MAX_ITEMS => items.clone(),
			Some(Value::Array(items)) => {
				return Err(format!(
					"'items' has {} items; a for_each takes at most {MAX_ITEMS}",
					items.len()
				));
			}
			other => {
				return Err(format!(
					"'items' must be a list, got {}",
					other.unwrap_or(&Value::Null)
				));
			}
		};
		let concurrency = match config.get("concurrency") {
			None | Some(Value::Null) => 10,
			Some(v) => v
				.as_u64()
				.filter(|n| (1..=1000).contains(n))
				.ok_or_else(|| format!("'concurrency' must be from 1 to 1000, got {v}"))?
				as u32,
		};
		let continue_on_failure = match config.get("on_item_failure").and_then(Value::as_str) {
			None | Some("fail") => false,
			Some("continue") => true,
			Some(other) => {
				return Err(format!(
					"'on_item_failure' must be fail or continue, got {other}"
				));
			}
		};
		Ok(DurableWait::Children(ChildSpec {
			target: target(config, true)?,
			items: Some(items),
			parameters: Map::new(),
			concurrency,
			continue_on_failure,
		}))
	}

	async fn run(&self, _: &RunContext, _: &Value, _: Value) -> Result<Outcome, ComponentError> {
		Err(ComponentError::Fatal(
			"a for_each step is run by the engine as child executions".to_owned(),
		))
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn targets_and_items_are_read_from_the_config() {
		let id = WorkflowId::new();
		let Ok(DurableWait::Children(spec)) = ForEach.durable_wait(&json!({
			"items": [1, 2, 3], "workflow_id": id.to_string(), "version": 2, "concurrency": 5,
			"on_item_failure": "continue"
		})) else {
			panic!("not children");
		};
		assert_eq!(
			spec.target,
			ChildTarget::Workflow {
				workflow_id: id,
				version: Some(2)
			}
		);
		assert_eq!(spec.items.unwrap().len(), 3);
		assert_eq!((spec.concurrency, spec.continue_on_failure), (5, true));
		let inline = json!({"items": [], "components": [], "connections": []});
		let Ok(DurableWait::Children(spec)) = ForEach.durable_wait(&inline) else {
			panic!("not children");
		};
		assert_eq!(spec.target, ChildTarget::Inline);
		for bad in [
			json!({"items": 3, "components": []}),
			json!({"items": [], "workflow_id": "x"}),
			json!({"items": [], "workflow_id": id.to_string(), "components": []}),
			json!({"items": [], "components": [], "concurrency": 0}),
			json!({"items": []}),
		] {
			assert!(ForEach.durable_wait(&bad).is_err(), "{bad}");
		}
		assert!(
			SubWorkflow
				.durable_wait(&json!({"components": []}))
				.is_err(),
			"a sub_workflow has no inline body"
		);
	}
}
