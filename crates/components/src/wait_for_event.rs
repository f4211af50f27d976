//! `wait_for_event`: waits for a named signal, optionally with a correlation `key` (an
//! expression, so each execution waits for its own order, say). A signal is sent with
//! `POST /api/v1/executions/{id}/signals/{name}` (kept until a step takes it, so one that
//! arrives early is not lost) or `POST /api/v1/signals/{name}` (every execution waiting on that
//! name and key). The signal's payload is the output. With a `timeout`, `on_timeout` `fail`
//! fails the step and `continue` completes it with `null`.

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use apg_core::{Component, ComponentError, DurableWait, Outcome, RunContext, SignalWait};

use crate::approval::timeout;

/// The `wait_for_event` component.
pub struct WaitForEvent;

fn wait(config: &Value) -> Result<SignalWait, String> {
	let name = match config.get("event") {
		Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 200 => s.clone(),
		other => {
			return Err(format!(
				"'event' must name the signal (1 to 200 characters), got {}",
				other.unwrap_or(&Value::Null)
			));
		}
	};
	let key = match config.get("key") {
		None | Some(Value::Null) => None,
		Some(Value::String(s)) => Some(s.clone()),
		Some(v @ (Value::Number(_) | Value::Bool(_))) => Some(v.to_string()),
		Some(v) => return Err(format!("'key' must be a string or number, got {v}")),
	};
	let on_timeout_continue = match config.get("on_timeout").and_then(Value::as_str) {
		None | Some("fail") => false,
		Some("continue") => true,
		Some(other) => {
			return Err(format!(
				"'on_timeout' must be fail or continue, got {other}"
			));
		}
	};
	Ok(SignalWait {
		name,
		key,
		on_timeout_continue,
		deadline: None,
	})
}

#[async_trait]
impl Component for WaitForEvent {
	fn kind(&self) -> &'static str {
		"wait_for_event"
	}

	fn summary(&self) -> &'static str {
		"Waits for a named signal (holds no worker); outputs its payload"
	}

	fn config_schema(&self) -> Value {
		// `key` has no type: it is usually an expression, which may render to a number.
		json!({
			"type": "object",
			"properties": {
				"event": {"type": "string", "minLength": 1, "maxLength": 200,
					"description": "The signal's name"},
				"key": {"description": "A correlation key (often an expression): only a signal \
					with this key ends the wait"},
				"timeout": {"type": "number", "minimum": 0, "maximum": 31_536_000,
					"description": "Seconds to wait"},
				"on_timeout": {"enum": ["fail", "continue"], "default": "fail",
					"description": "On timeout, fail, or continue with null"}
			},
			"required": ["event"]
		})
	}

	fn check_config(&self, config: &Map<String, Value>) -> Vec<(String, String)> {
		match timeout(&Value::Object(config.clone())) {
			Err(e) => vec![("timeout".to_owned(), e)],
			Ok(_) => Vec::new(),
		}
	}

	fn is_durable(&self) -> bool {
		true
	}

	fn waits_outside(&self) -> bool {
		true
	}

	fn durable_wait(&self, config: &Value) -> Result<DurableWait, String> {
		Ok(DurableWait::Signal(wait(config)?, timeout(config)?))
	}

	async fn run(
		&self,
		_ctx: &RunContext,
		_config: &Value,
		_input: Value,
	) -> Result<Outcome, ComponentError> {
		Err(ComponentError::Fatal(
			"a wait_for_event step is ended by a signal, not run".to_owned(),
		))
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_wait_is_read_from_the_config() {
		let Ok(DurableWait::Signal(w, t)) =
			WaitForEvent.durable_wait(&json!({"event": "paid", "key": 42, "timeout": 5}))
		else {
			panic!("not a signal wait");
		};
		assert_eq!(w.name, "paid");
		assert_eq!(w.key.as_deref(), Some("42"));
		assert_eq!(t, Some(std::time::Duration::from_secs(5)));
		for bad in [
			json!({}),
			json!({"event": ""}),
			json!({"event": "x", "key": [1]}),
			json!({"event": "x", "on_timeout": "later"}),
		] {
			assert!(WaitForEvent.durable_wait(&bad).is_err(), "{bad}");
		}
	}
}
