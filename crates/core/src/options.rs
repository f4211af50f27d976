//! The common config fields every component takes (the seed's `ComponentConfig`): name,
//! description, timeout, retries and backoff, plus `join` and `input`. They steer the engine, not
//! the component, so they are parsed once here and must be literal values (never `{{ }}`), except
//! `input`, which replaces the component's input with a rendered value (as Step Functions'
//! `InputPath`), so data can be picked from any earlier step, not only the predecessor.

use std::time::Duration;

use serde_json::{Map, Value, json};

/// How the delay between retries grows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backoff {
	/// The same delay before every retry.
	Fixed,
	/// The delay doubles with every attempt (capped at one hour).
	Exponential,
}

/// When a component with several incoming connections may run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Join {
	/// Once every incoming connection is resolved and at least one was taken.
	All,
	/// As soon as the first incoming connection is taken.
	Any,
}

/// The engine-facing options of one component.
#[derive(Clone, Debug, PartialEq)]
pub struct StepOptions {
	/// Display name; the component id when not given.
	pub name: String,
	/// Limit of one attempt.
	pub timeout: Duration,
	/// Retries after the first attempt (0–10).
	pub retry_attempts: u32,
	/// Delay before the first retry.
	pub retry_delay: Duration,
	/// Growth of the retry delay.
	pub backoff: Backoff,
	/// The longest delay between retries, however it grows.
	pub max_delay: Duration,
	/// The share (0–1) of each retry delay taken off at random, so executions that failed
	/// together do not all retry together.
	pub jitter: f64,
	/// Join rule for incoming connections.
	pub join: Join,
}

/// Names of the common fields, which every component schema accepts.
pub const COMMON_FIELDS: &[&str] = &[
	"name",
	"description",
	"timeout_seconds",
	"retry_attempts",
	"retry_delay_seconds",
	"retry_backoff",
	"retry_max_delay_seconds",
	"retry_jitter",
	"join",
	"input",
];

/// Common fields that are meant to hold expressions (the others must be literal).
pub const EXPRESSION_FIELDS: &[&str] = &["input"];

/// JSON-schema properties of the common fields, with the seed's ranges and defaults.
pub fn common_schema_properties() -> Map<String, Value> {
	let value = json!({
		"name": {"type": "string", "minLength": 1, "maxLength": 255,
			"description": "Display name (defaults to the component id)"},
		"description": {"type": ["string", "null"], "maxLength": 1000},
		"timeout_seconds": {"type": "integer", "minimum": 1, "maximum": 3600, "default": 300,
			"description": "Limit of one attempt"},
		"retry_attempts": {"type": "integer", "minimum": 0, "maximum": 10, "default": 3,
			"description": "Retries after the first attempt"},
		"retry_delay_seconds": {"type": "integer", "minimum": 1, "maximum": 300, "default": 60,
			"description": "Delay before the first retry"},
		"retry_backoff": {"type": "string", "enum": ["fixed", "exponential"], "default": "fixed"},
		"retry_max_delay_seconds": {"type": "integer", "minimum": 1, "maximum": 86400,
			"default": 3600, "description": "The longest delay between retries"},
		"retry_jitter": {"type": "number", "minimum": 0, "maximum": 1, "default": 0,
			"description": "The share of each retry delay taken off at random (0.5: between half \
			and all of it), so executions that failed together do not retry together"},
		"join": {"type": "string", "enum": ["all", "any"], "default": "all",
			"description": "Run when all incoming connections are resolved, or on the first taken"},
		"input": {"description": "Replaces the component's input (its predecessor's output) with \
			this value, usually an expression such as {{ steps.load.output.items }}"}
	});
	match value {
		Value::Object(m) => m,
		_ => Map::new(),
	}
}

impl StepOptions {
	/// Reads the common fields of a validated config, falling back to the seed's defaults.
	pub fn from_config(id: &str, config: &Map<String, Value>) -> Self {
		let int =
			|key: &str, default: u64| config.get(key).and_then(Value::as_u64).unwrap_or(default);
		Self {
			name: config
				.get("name")
				.and_then(Value::as_str)
				.unwrap_or(id)
				.to_owned(),
			timeout: Duration::from_secs(int("timeout_seconds", 300).clamp(1, 3600)),
			retry_attempts: int("retry_attempts", 3).min(10) as u32,
			retry_delay: Duration::from_secs(int("retry_delay_seconds", 60).clamp(1, 300)),
			backoff: match config.get("retry_backoff").and_then(Value::as_str) {
				Some("exponential") => Backoff::Exponential,
				_ => Backoff::Fixed,
			},
			max_delay: Duration::from_secs(int("retry_max_delay_seconds", 3600).clamp(1, 86_400)),
			jitter: config
				.get("retry_jitter")
				.and_then(Value::as_f64)
				.unwrap_or(0.0)
				.clamp(0.0, 1.0),
			join: match config.get("join").and_then(Value::as_str) {
				Some("any") => Join::Any,
				_ => Join::All,
			},
		}
	}

	/// The delay before attempt `next_attempt` (2 for the first retry), with `spread` (0–1)
	/// choosing where in the jitter range it falls. The caller derives `spread` from the
	/// execution, component and attempt, so the same retry always gets the same delay (the
	/// engine's rules stay deterministic) while different executions spread out.
	pub fn retry_delay_before(&self, next_attempt: u32, spread: f64) -> Duration {
		let base = match self.backoff {
			Backoff::Fixed => self.retry_delay,
			Backoff::Exponential => {
				let factor = 2u32.saturating_pow(next_attempt.saturating_sub(2));
				self.retry_delay.saturating_mul(factor)
			}
		}
		.min(self.max_delay);
		base.mul_f64(1.0 - self.jitter * spread.clamp(0.0, 1.0))
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn defaults_follow_the_seed() {
		let o = StepOptions::from_config("x", &Map::new());
		assert_eq!(o.name, "x");
		assert_eq!(o.timeout, Duration::from_secs(300));
		assert_eq!(o.retry_attempts, 3);
		assert_eq!(o.retry_delay, Duration::from_secs(60));
		assert_eq!(o.join, Join::All);
	}

	#[test]
	fn exponential_backoff_doubles_per_attempt() {
		let mut cfg = Map::new();
		cfg.insert("retry_delay_seconds".into(), json!(2));
		cfg.insert("retry_backoff".into(), json!("exponential"));
		let o = StepOptions::from_config("x", &cfg);
		assert_eq!(o.retry_delay_before(2, 0.5), Duration::from_secs(2));
		assert_eq!(o.retry_delay_before(3, 0.5), Duration::from_secs(4));
		assert_eq!(o.retry_delay_before(4, 0.5), Duration::from_secs(8));
		assert_eq!(
			o.retry_delay_before(30, 0.5),
			Duration::from_secs(3600),
			"capped"
		);
	}

	#[test]
	fn the_delay_is_capped_and_jittered_within_its_range() {
		let mut cfg = Map::new();
		cfg.insert("retry_delay_seconds".into(), json!(10));
		cfg.insert("retry_backoff".into(), json!("exponential"));
		cfg.insert("retry_max_delay_seconds".into(), json!(30));
		cfg.insert("retry_jitter".into(), json!(0.5));
		let o = StepOptions::from_config("x", &cfg);
		assert_eq!(o.retry_delay_before(2, 0.0), Duration::from_secs(10));
		assert_eq!(o.retry_delay_before(2, 1.0), Duration::from_secs(5));
		assert_eq!(
			o.retry_delay_before(5, 0.0),
			Duration::from_secs(30),
			"80 s capped at 30"
		);
		assert_eq!(o.retry_delay_before(5, 1.0), Duration::from_secs(15));
		assert_eq!(
			o.retry_delay_before(5, 7.0),
			Duration::from_secs(15),
			"spread clamped"
		);
	}
}
