//! `condition`: a two-way branch. It owns `expression`, a `{{ }}` expression that the engine
//! renders before `run` (a whole expression keeps its JSON type, so `"{{ n > 5 }}"` arrives as a
//! boolean); the component takes the branch named by the value's JSON truthiness and passes its
//! input through unchanged.
//!
//! A bare expression (`n > 5`) is rejected when the workflow is validated: the engine renders only
//! templates, so it would arrive as a non-empty string and always be true.

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use apg_core::{Component, ComponentError, Outcome, RunContext};

use crate::{is_template, truthy};

/// The `condition` component: branch `true` or `false`.
pub struct Condition;

#[async_trait]
impl Component for Condition {
	fn kind(&self) -> &'static str {
		"condition"
	}

	fn is_inline(&self) -> bool {
		true
	}

	fn summary(&self) -> &'static str {
		"Takes the 'true' or 'false' branch by an expression; passes its input on"
	}

	fn config_schema(&self) -> Value {
		// No `type`: the engine checks the rendered config too, and a rendered expression may be
		// of any type. `check_config` checks that it is written as a template.
		json!({
			"type": "object",
			"properties": {
				"expression": {
					"description": "A {{ expression }}; the 'true' branch is taken when its value \
						is truthy (not false, null, 0, \"\", [] or {})"
				}
			},
			"required": ["expression"]
		})
	}

	fn check_config(&self, config: &Map<String, Value>) -> Vec<(String, String)> {
		match config.get("expression") {
			Some(expression) if !is_template(expression) => vec![(
				"expression".to_owned(),
				"must be a {{ expression }} string (a bare expression is not evaluated)".to_owned(),
			)],
			_ => Vec::new(),
		}
	}

	fn branches(&self, _config: &Map<String, Value>) -> Option<Vec<String>> {
		Some(vec!["true".to_owned(), "false".to_owned()])
	}

	async fn run(
		&self,
		_ctx: &RunContext,
		config: &Value,
		input: Value,
	) -> Result<Outcome, ComponentError> {
		let taken = config.get("expression").is_some_and(truthy);
		Ok(Outcome {
			output: input,
			branch: Some(taken.to_string()),
			..Outcome::default()
		})
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::testing::{ctx, obj};

	#[tokio::test]
	async fn the_branch_follows_the_rendered_value_and_the_input_passes_through() {
		for (rendered, branch) in [
			(json!(true), "true"),
			(json!(false), "false"),
			(json!(0), "false"),
			(json!([1]), "true"),
			(json!(""), "false"),
			(json!(null), "false"),
		] {
			let out = Condition
				.run(&ctx(), &json!({"expression": rendered}), json!({"n": 1}))
				.await
				.unwrap();
			assert_eq!(out.branch.as_deref(), Some(branch), "{rendered}");
			assert_eq!(out.output, json!({"n": 1}));
		}
	}

	#[test]
	fn the_expression_must_be_a_template() {
		assert!(
			Condition
				.check_config(&obj(json!({"expression": "{{ n > 5 }}"})))
				.is_empty()
		);
		for bad in [json!("n > 5"), json!(true), json!(3)] {
			let issues = Condition.check_config(&obj(json!({ "expression": bad })));
			assert_eq!(issues.len(), 1, "{bad}");
		}
	}
}
