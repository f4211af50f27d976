//! [`Limits`]: what one script may use (wall time, CPU time, memory, output, processes), resolved
//! from the step's config under the server's maxima so a workflow can lower a limit but never
//! raise it past what the operator allows.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::ScriptError;

/// The limits of one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
	/// Wall time, in seconds.
	pub wall_time_seconds: u64,
	/// CPU time, in seconds.
	pub cpu_time_seconds: u64,
	/// Memory (address space for Python, the heap for JavaScript), in MB.
	pub memory_mb: u64,
	/// The result's JSON and the logs, each, in bytes.
	pub max_output_bytes: usize,
	/// Processes (Python only; JavaScript cannot start any).
	pub max_processes: u64,
}

impl Default for Limits {
	fn default() -> Self {
		Self {
			wall_time_seconds: 30,
			cpu_time_seconds: 10,
			memory_mb: 256,
			max_output_bytes: 1024 * 1024,
			max_processes: 16,
		}
	}
}

/// The config fields a step may set, each with its description for the schema.
pub(crate) const FIELDS: &[(&str, &str)] = &[
	(
		"wall_time_seconds",
		"Wall-time limit in seconds; at most the server's maximum.",
	),
	(
		"cpu_time_seconds",
		"CPU-time limit in seconds; at most the server's maximum.",
	),
	(
		"memory_mb",
		"Memory limit in MB (address space for Python, heap for JavaScript); at most the \
		 server's maximum.",
	),
	(
		"max_output_bytes",
		"Largest result (as JSON) and log, each, in bytes; at most the server's maximum.",
	),
	(
		"max_processes",
		"Processes a Python script may run, itself included; at most the server's maximum.",
	),
];

impl Limits {
	fn get(&self, field: &str) -> u64 {
		match field {
			"wall_time_seconds" => self.wall_time_seconds,
			"cpu_time_seconds" => self.cpu_time_seconds,
			"memory_mb" => self.memory_mb,
			"max_output_bytes" => self.max_output_bytes as u64,
			"max_processes" => self.max_processes,
			_ => unreachable!("unknown limit {field}"),
		}
	}

	fn set(&mut self, field: &str, value: u64) {
		match field {
			"wall_time_seconds" => self.wall_time_seconds = value,
			"cpu_time_seconds" => self.cpu_time_seconds = value,
			"memory_mb" => self.memory_mb = value,
			"max_output_bytes" => {
				self.max_output_bytes = usize::try_from(value).unwrap_or(usize::MAX)
			}
			"max_processes" => self.max_processes = value,
			_ => unreachable!("unknown limit {field}"),
		}
	}

	/// Problems with the limits in `config` against `maximum`, as `(field, message)`.
	pub(crate) fn check(config: &Map<String, Value>, maximum: &Self) -> Vec<(String, String)> {
		let mut problems = Vec::new();
		for (field, _) in FIELDS {
			let Some(value) = config.get(*field) else {
				continue;
			};
			// A template is checked once rendered, by `resolve`.
			if value.as_str().is_some_and(|s| s.contains("{{")) {
				continue;
			}
			if let Err(message) = one(value, maximum.get(field)) {
				problems.push(((*field).to_owned(), message));
			}
		}
		problems
	}

	/// The limits of a run: `defaults`, overridden by the fields in `config`, none above
	/// `maximum`.
	pub(crate) fn resolve(
		config: &Map<String, Value>,
		defaults: &Self,
		maximum: &Self,
	) -> Result<Self, ScriptError> {
		let mut limits = *defaults;
		for (field, _) in FIELDS {
			// A default above the maximum is the operator's slip: the maximum wins.
			limits.set(field, limits.get(field).min(maximum.get(field)));
			if let Some(value) = config.get(*field) {
				let v = one(value, maximum.get(field))
					.map_err(|m| ScriptError::Config(format!("{field}: {m}")))?;
				limits.set(field, v);
			}
		}
		Ok(limits)
	}
}

fn one(value: &Value, maximum: u64) -> Result<u64, String> {
	let v = value
		.as_u64()
		.ok_or_else(|| "must be a positive integer".to_owned())?;
	if v == 0 {
		return Err("must be at least 1".into());
	}
	if v > maximum {
		return Err(format!("{v} is above the server's maximum of {maximum}"));
	}
	Ok(v)
}

#[cfg(test)]
mod tests {
	use serde_json::json;

	use super::*;

	fn map(v: Value) -> Map<String, Value> {
		v.as_object().unwrap().clone()
	}

	#[test]
	fn config_lowers_but_never_raises() {
		let max = Limits::default();
		let l = Limits::resolve(&map(json!({"memory_mb": 64})), &max, &max).unwrap();
		assert_eq!(l.memory_mb, 64);
		assert_eq!(l.wall_time_seconds, max.wall_time_seconds);
		let e = Limits::resolve(&map(json!({"memory_mb": 100_000})), &max, &max).unwrap_err();
		assert!(
			e.to_string().contains("above the server's maximum of 256"),
			"{e}"
		);
		let problems = Limits::check(&map(json!({"cpu_time_seconds": 0, "memory_mb": "x"})), &max);
		assert_eq!(problems.len(), 2, "{problems:?}");
	}

	#[test]
	fn a_default_above_the_maximum_is_capped() {
		let max = Limits {
			memory_mb: 32,
			..Limits::default()
		};
		let l = Limits::resolve(&Map::new(), &Limits::default(), &max).unwrap();
		assert_eq!(l.memory_mb, 32);
	}
}
