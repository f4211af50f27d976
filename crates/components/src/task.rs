//! `task`: the seed's small built-in tasks, chosen by `task_type` — `echo`, `noop`, `log` and
//! `set_variable` — plus `fail`, which fails on purpose (as Step Functions' `Fail` state) so that
//! failure paths and retries can be built and tested without an unreliable service; with
//! `succeed_on_attempt` it fails until that attempt, which shows a retry that recovers. It owns their fields; which field a task type needs cannot be said in the
//! schema subset, so `check_config` says it.
//!
//! A task never writes logs or variables itself: it returns them in the [`Outcome`] and the
//! engine commits them with the step's checkpoint, so a retried attempt cannot apply them twice.

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use apg_core::{Component, ComponentError, LogLevel, Outcome, RunContext};

/// The `task` component.
pub struct Task;

#[async_trait]
impl Component for Task {
	fn kind(&self) -> &'static str {
		"task"
	}

	fn is_inline(&self) -> bool {
		true
	}

	fn summary(&self) -> &'static str {
		"A simple task: echo a message, do nothing, write a log line or set a variable"
	}

	fn config_schema(&self) -> Value {
		json!({
			"type": "object",
			"properties": {
				"task_type": {
					"type": "string",
					"enum": ["echo", "noop", "log", "set_variable", "fail"],
					"description": "What the task does"
				},
				"message": {
					"description": "echo: the value to output as {\"message\": …}; \
						log: the text to log (required)"
				},
				"level": {
					"type": "string",
					"enum": ["debug", "info", "warning", "error"],
					"default": "info",
					"description": "log: the level of the log line"
				},
				"variable": {
					"type": "string",
					"minLength": 1,
					"description": "set_variable: the name of the execution variable (required)"
				},
				"value": {
					"description": "set_variable: the value to set (null when not given)"
				},
				"retryable": {
					"type": "boolean",
					"default": true,
					"description": "fail: whether the failure may be retried"
				},
				"succeed_on_attempt": {
					"type": "integer",
					"minimum": 1,
					"maximum": 11,
					"description": "fail: succeed (as noop) from this attempt on"
				}
			},
			"required": ["task_type"]
		})
	}

	fn check_config(&self, config: &Map<String, Value>) -> Vec<(String, String)> {
		let mut issues = Vec::new();
		let mut need_string = |field: &str, task: &str| match config.get(field) {
			None => issues.push((field.to_owned(), format!("is required for a {task} task"))),
			Some(Value::String(_)) => {}
			Some(_) => issues.push((
				field.to_owned(),
				format!("must be a string for a {task} task"),
			)),
		};
		match config.get("task_type").and_then(Value::as_str) {
			Some("log") => need_string("message", "log"),
			Some("set_variable") => need_string("variable", "set_variable"),
			_ => {}
		}
		issues
	}

	async fn run(
		&self,
		ctx: &RunContext,
		config: &Value,
		input: Value,
	) -> Result<Outcome, ComponentError> {
		match config.get("task_type").and_then(Value::as_str) {
			Some("echo") => Ok(Outcome::output(match config.get("message") {
				Some(message) => json!({"message": message}),
				None => input,
			})),
			Some("noop") => Ok(Outcome::output(input)),
			Some("log") => log(config, input),
			Some("set_variable") => set_variable(config),
			Some("fail") => fail(ctx, config, input),
			other => Err(ComponentError::Fatal(format!(
				"unknown task_type {} (known: echo, noop, log, set_variable, fail)",
				other.map_or_else(|| "(none)".to_owned(), |t| format!("'{t}'"))
			))),
		}
	}
}

fn log(config: &Value, input: Value) -> Result<Outcome, ComponentError> {
	let message = match config.get("message") {
		Some(Value::String(text)) => text.clone(),
		// A whole `{{ expression }}` may render to any type: log its JSON text.
		Some(other) => other.to_string(),
		None => {
			return Err(ComponentError::Fatal(
				"a log task needs a 'message'".to_owned(),
			));
		}
	};
	let level = LogLevel::parse(
		config
			.get("level")
			.and_then(Value::as_str)
			.unwrap_or("info"),
	);
	Ok(Outcome {
		output: input,
		logs: vec![(level, message)],
		..Outcome::default()
	})
}

fn fail(ctx: &RunContext, config: &Value, input: Value) -> Result<Outcome, ComponentError> {
	let succeed_on = config.get("succeed_on_attempt").and_then(Value::as_u64);
	if succeed_on.is_some_and(|n| u64::from(ctx.attempt) >= n) {
		return Ok(Outcome::output(input));
	}
	let message = match config.get("message") {
		Some(Value::String(text)) => text.clone(),
		Some(other) => other.to_string(),
		None => "failed on purpose".to_owned(),
	};
	if config
		.get("retryable")
		.and_then(Value::as_bool)
		.unwrap_or(true)
	{
		Err(ComponentError::Retryable(message))
	} else {
		Err(ComponentError::Fatal(message))
	}
}

fn set_variable(config: &Value) -> Result<Outcome, ComponentError> {
	let Some(name) = config
		.get("variable")
		.and_then(Value::as_str)
		.filter(|name| !name.is_empty())
	else {
		return Err(ComponentError::Fatal(
			"a set_variable task needs a non-empty 'variable' name".to_owned(),
		));
	};
	let value = config.get("value").cloned().unwrap_or(Value::Null);
	let mut vars = Map::new();
	vars.insert(name.to_owned(), value.clone());
	Ok(Outcome {
		output: json!({"variable": name, "value": value}),
		vars,
		..Outcome::default()
	})
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::testing::{ctx, obj};

	async fn run(config: Value, input: Value) -> Result<Outcome, ComponentError> {
		Task.run(&ctx(), &config, input).await
	}

	#[tokio::test]
	async fn echo_wraps_its_message_or_passes_the_input() {
		let out = run(
			json!({"task_type": "echo", "message": "Hello World"}),
			json!(1),
		)
		.await
		.unwrap();
		assert_eq!(out.output, json!({"message": "Hello World"}));
		let out = run(json!({"task_type": "echo"}), json!({"a": 1}))
			.await
			.unwrap();
		assert_eq!(out.output, json!({"a": 1}));
	}

	#[tokio::test]
	async fn fail_fails_retryably_until_its_succeed_on_attempt() {
		let config = json!({"task_type": "fail", "message": "boom", "succeed_on_attempt": 2});
		let err = run(config.clone(), json!(1)).await.unwrap_err();
		assert_eq!(err, ComponentError::Retryable("boom".to_owned()));
		let mut second = ctx();
		second.attempt = 2;
		assert_eq!(
			Task.run(&second, &config, json!(1)).await.unwrap().output,
			json!(1)
		);
		let fatal = run(json!({"task_type": "fail", "retryable": false}), json!(1)).await;
		assert!(matches!(fatal, Err(ComponentError::Fatal(_))));
	}

	#[tokio::test]
	async fn noop_passes_its_input_on() {
		let out = run(json!({"task_type": "noop"}), json!([1])).await.unwrap();
		assert_eq!(out, Outcome::output(json!([1])));
	}

	#[tokio::test]
	async fn log_returns_a_log_line_at_its_level() {
		let config = json!({"task_type": "log", "message": "loaded", "level": "warning"});
		let out = run(config, json!("in")).await.unwrap();
		assert_eq!(out.logs, vec![(LogLevel::Warning, "loaded".to_owned())]);
		assert_eq!(out.output, json!("in"));
		let out = run(json!({"task_type": "log", "message": 42}), json!(null))
			.await
			.unwrap();
		assert_eq!(out.logs, vec![(LogLevel::Info, "42".to_owned())]);
	}

	#[tokio::test]
	async fn set_variable_returns_the_variable_to_set() {
		let config = json!({"task_type": "set_variable", "variable": "count", "value": [1, 2]});
		let out = run(config, json!(null)).await.unwrap();
		assert_eq!(out.vars, obj(json!({"count": [1, 2]})));
		assert_eq!(out.output, json!({"variable": "count", "value": [1, 2]}));
	}

	#[tokio::test]
	async fn an_unknown_task_type_is_fatal() {
		let err = run(json!({"task_type": "dance"}), json!(null))
			.await
			.unwrap_err();
		assert!(!err.is_retryable());
		assert!(err.to_string().contains("'dance'"), "{err}");
	}

	#[test]
	fn log_and_set_variable_name_their_required_fields() {
		let issues = Task.check_config(&obj(json!({"task_type": "log"})));
		assert_eq!(issues[0].0, "message");
		let issues = Task.check_config(&obj(json!({"task_type": "set_variable", "value": 1})));
		assert_eq!(issues[0].0, "variable");
		assert!(
			Task.check_config(&obj(json!({"task_type": "log", "message": "{{ x }}"})))
				.is_empty()
		);
	}
}
