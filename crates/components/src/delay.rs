//! `delay`: a durable wait. It owns `seconds`, says it is a durable wait
//! ([`Component::is_durable`]) and tells the engine how long to wait
//! ([`Component::durable_wait`]); the engine keeps a persisted
//! timer instead of sleeping in a worker (so a one-hour delay holds no worker and survives a
//! restart) and completes the step with its input when the timer fires.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};

use apg_core::{Component, ComponentError, DurableWait, Outcome, RunContext};

/// The longest delay: one year, in seconds.
const MAX_SECONDS: u32 = 31_536_000;

/// The `delay` component: waits `seconds`, then outputs its input.
pub struct Delay;

/// The configured wait, when `seconds` is a number in range.
fn wait(config: &Value) -> Option<Duration> {
	let seconds = config.get("seconds")?.as_f64()?;
	(0.0..=f64::from(MAX_SECONDS))
		.contains(&seconds)
		.then(|| Duration::from_secs_f64(seconds))
}

#[async_trait]
impl Component for Delay {
	fn kind(&self) -> &'static str {
		"delay"
	}

	fn summary(&self) -> &'static str {
		"Waits a number of seconds (a durable timer that holds no worker)"
	}

	fn config_schema(&self) -> Value {
		json!({
			"type": "object",
			"properties": {
				"seconds": {
					"type": "number",
					"minimum": 0,
					"maximum": MAX_SECONDS,
					"description": "How long to wait, in seconds (fractions allowed)"
				}
			},
			"required": ["seconds"]
		})
	}

	fn is_durable(&self) -> bool {
		true
	}

	fn durable_wait(&self, config: &Value) -> Result<DurableWait, String> {
		wait(config)
			.map(DurableWait::Delay)
			.ok_or_else(|| "invalid delay".to_owned())
	}

	async fn run(
		&self,
		_ctx: &RunContext,
		config: &Value,
		input: Value,
	) -> Result<Outcome, ComponentError> {
		// The engine completes a fired timer without calling `run`; if `run` is called anyway
		// (say `durable_wait` declined an unusable `seconds`), fail rather than skip the wait.
		if wait(config).is_none() {
			return Err(ComponentError::Fatal(format!(
				"delay needs 'seconds' to be a number from 0 to {MAX_SECONDS}, got {}",
				config.get("seconds").unwrap_or(&Value::Null)
			)));
		}
		Ok(Outcome::output(input))
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::testing::ctx;

	#[test]
	fn durable_wait_is_the_configured_seconds_when_in_range() {
		assert!(Delay.is_durable());
		let wait = |c: Value| Delay.durable_wait(&c).ok();
		assert_eq!(
			wait(json!({"seconds": 1.5})),
			Some(DurableWait::Delay(Duration::from_millis(1500)))
		);
		assert_eq!(
			wait(json!({"seconds": 0})),
			Some(DurableWait::Delay(Duration::ZERO))
		);
		assert_eq!(wait(json!({"seconds": -1})), None);
		assert_eq!(wait(json!({"seconds": 4e7})), None);
		assert_eq!(wait(json!({"seconds": "1"})), None);
	}

	#[tokio::test]
	async fn run_passes_the_input_on_and_rejects_an_unusable_wait() {
		let out = Delay
			.run(&ctx(), &json!({"seconds": 1}), json!([1, 2]))
			.await
			.unwrap();
		assert_eq!(out.output, json!([1, 2]));
		let bad = Delay
			.run(&ctx(), &json!({"seconds": -1}), json!(null))
			.await;
		assert!(matches!(bad, Err(ComponentError::Fatal(_))));
	}
}
