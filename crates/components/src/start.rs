//! `start`: the entry of a workflow. It owns `trigger_type`, which records how the workflow is
//! meant to be started (for the designer and the scheduler); the component itself only hands the
//! execution's parameters, which the engine gives it as input, on to its successors.

use async_trait::async_trait;
use serde_json::{Value, json};

use apg_core::{Component, ComponentError, Outcome, RunContext};

/// The `start` component: outputs its input (the execution's parameters).
pub struct Start;

#[async_trait]
impl Component for Start {
	fn kind(&self) -> &'static str {
		"start"
	}

	fn is_inline(&self) -> bool {
		true
	}

	fn summary(&self) -> &'static str {
		"Entry point of a workflow; passes the execution's parameters on"
	}

	fn config_schema(&self) -> Value {
		json!({
			"type": "object",
			"properties": {
				"trigger_type": {
					"type": "string",
					"enum": ["manual", "schedule", "webhook", "event"],
					"default": "manual",
					"description": "How the workflow is started"
				}
			}
		})
	}

	async fn run(
		&self,
		_ctx: &RunContext,
		_config: &Value,
		input: Value,
	) -> Result<Outcome, ComponentError> {
		Ok(Outcome::output(input))
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::testing::ctx;

	#[tokio::test]
	async fn start_outputs_the_parameters_it_is_given() {
		let params = json!({"source_url": "https://example.com", "batch_size": 10});
		let out = Start
			.run(&ctx(), &json!({"trigger_type": "manual"}), params.clone())
			.await
			.unwrap();
		assert_eq!(out, Outcome::output(params));
	}
}
