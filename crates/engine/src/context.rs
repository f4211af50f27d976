//! The expression context of DESIGN §3, built only for components (and conditions) that contain
//! templates: parameters at the top level and under `params`, `steps.<id>.output`, `vars`,
//! `execution` and `input`, and `attempt` (the number of the attempt the config is rendered
//! for) in a component's config (plus `output` for a condition, the source's output). Reserved names
//! are inserted after the parameters so a parameter can never shadow them.

use apg_core::{ComponentStatus, expr, schema, secrets};
use serde_json::{Map, Value, json};

use crate::state::ExecutionState;

fn base(st: &ExecutionState) -> Map<String, Value> {
	let mut ctx = st.exec.parameters.clone();
	ctx.insert("params".into(), Value::Object(st.exec.parameters.clone()));
	let mut steps = Map::new();
	for s in &st.steps {
		if s.status != ComponentStatus::Pending {
			steps.insert(
				s.component_id.clone(),
				json!({"output": s.output, "status": s.status.as_str(), "attempt": s.attempt}),
			);
		}
	}
	ctx.insert("steps".into(), Value::Object(steps));
	ctx.insert("vars".into(), Value::Object(st.exec.vars.clone()));
	ctx.insert(
		"execution".into(),
		json!({
			"id": st.exec.id.to_string(),
			"workflow_id": st.exec.workflow_id.to_string(),
			"workflow_version": st.exec.workflow_version,
			"priority": st.exec.priority.get(),
		}),
	);
	ctx
}

/// Renders the config of `node` for its next attempt, checks it against the type's schema, and
/// applies the common `input` field: when present it is removed from the config and becomes the
/// component's input.
pub(crate) fn prepare(st: &mut ExecutionState, node: usize) -> Result<Value, String> {
	let mut config = render_config(st, node)?;
	if let Some(input) = config.as_object_mut().and_then(|c| c.remove("input")) {
		st.steps[node].input = Some(input);
	}
	Ok(config)
}

/// Renders the config of `node` for its next attempt and checks it against the type's schema.
fn render_config(st: &ExecutionState, node: usize) -> Result<Value, String> {
	let n = &st.wf.nodes[node];
	if !n.templated {
		return Ok(n.config.clone());
	}
	let mut ctx = base(st);
	ctx.insert(
		"input".into(),
		st.steps[node].input.clone().unwrap_or(Value::Null),
	);
	// Rendered before the attempt begins: the number it will have (1 for the first).
	ctx.insert("attempt".into(), json!(st.steps[node].attempt + 1));
	// Credentials render to placeholders; the attempt swaps in the values just before the
	// component runs (see `apg_core::secrets`).
	let secrets: Map<String, Value> = n
		.secrets
		.names
		.iter()
		.map(|name| (name.clone(), Value::String(secrets::placeholder(name))))
		.collect();
	ctx.insert("secrets".into(), Value::Object(secrets));
	// Fields left for the children to render are set aside and put back as they are.
	let mut config = n.config.clone();
	let mut kept = Map::new();
	if let Value::Object(fields) = &mut config {
		for name in n.component.unrendered_fields() {
			if let Some(v) = fields.remove(*name) {
				kept.insert((*name).to_owned(), v);
			}
		}
	}
	let mut rendered = expr::render_value(&config, &expr::context(&Value::Object(ctx)))
		.map_err(|e| format!("cannot render config: {e}"))?;
	if let Value::Object(fields) = &mut rendered {
		fields.extend(kept);
	}
	let mut issues = Vec::new();
	schema::check(&n.schema, &rendered, "config", &mut issues);
	if issues.is_empty() {
		Ok(rendered)
	} else {
		let list: Vec<String> = issues.iter().map(ToString::to_string).collect();
		Err(format!("rendered config is invalid: {}", list.join("; ")))
	}
}

/// Evaluates the condition of a connection leaving `source`.
pub(crate) fn condition(st: &ExecutionState, source: usize, text: &str) -> Result<bool, String> {
	let mut ctx = base(st);
	ctx.insert(
		"output".into(),
		st.steps[source].output.clone().unwrap_or(Value::Null),
	);
	ctx.insert(
		"input".into(),
		st.steps[source].input.clone().unwrap_or(Value::Null),
	);
	expr::eval_condition(text, &expr::context(&Value::Object(ctx))).map_err(|e| e.to_string())
}
