//! `end`: the exit of a workflow. It owns `status`, which the engine reads itself to decide
//! whether the execution completed or failed, and `output`, the execution's result. Ending with
//! `failure` is not an error of this component: the step completes and the engine fails the
//! execution, so the result is still recorded.

use async_trait::async_trait;
use serde_json::{Value, json};

use apg_core::{Component, ComponentError, Outcome, RunContext};

/// The `end` component: outputs the rendered `output` when given, else its input.
pub struct End;

#[async_trait]
impl Component for End {
	fn kind(&self) -> &'static str {
		"end"
	}

	fn is_inline(&self) -> bool {
		true
	}

	fn summary(&self) -> &'static str {
		"Exit of a workflow; sets the execution's status and result"
	}

	fn config_schema(&self) -> Value {
		json!({
			"type": "object",
			"properties": {
				"status": {
					"type": "string",
					"enum": ["success", "failure"],
					"default": "success",
					"description": "Status the execution ends with (read by the engine)"
				},
				"output": {
					"description": "Result of the execution, usually a {{ expression }}; \
						the input when not given"
				}
			}
		})
	}

	async fn run(
		&self,
		_ctx: &RunContext,
		config: &Value,
		input: Value,
	) -> Result<Outcome, ComponentError> {
		let output = config.get("output").cloned().unwrap_or(input);
		Ok(Outcome::output(output))
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::testing::ctx;

	#[tokio::test]
	async fn end_outputs_its_input_unless_an_output_is_configured() {
		let input = json!({"rows": 3});
		let plain = End
			.run(&ctx(), &json!({"status": "success"}), input.clone())
			.await
			.unwrap();
		assert_eq!(plain.output, input);
		let configured = End
			.run(
				&ctx(),
				&json!({"status": "failure", "output": "nope"}),
				input,
			)
			.await
			.unwrap();
		assert_eq!(configured.output, json!("nope"));
	}
}
