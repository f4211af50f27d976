//! Execution parameters checked against the definition's declared parameters: defaults applied,
//! required ones enforced, strings from a command line or a form converted to the declared type,
//! and the seed's `validation_rules` (`min`, `max`, `min_length`, `max_length`) and `options`
//! enforced. A workflow that declares no parameters accepts any object.

use serde_json::{Map, Value};

use crate::definition::{ParamType, ParameterSpec};
use crate::validate::Issue;

/// Checks one value against its declared parameter, returning why it does not fit.
pub fn check_parameter(spec: &ParameterSpec, value: &Value) -> Result<(), String> {
	let type_ok = match spec.parameter_type {
		ParamType::String => value.is_string(),
		ParamType::Integer => value.is_i64() || value.is_u64(),
		ParamType::Float => value.is_number(),
		ParamType::Boolean => value.is_boolean(),
		ParamType::List => value.is_array(),
		ParamType::Dict => value.is_object(),
	};
	if !type_ok {
		return Err(format!("must be of type {:?}", spec.parameter_type).to_lowercase());
	}
	let rule = |name: &str| spec.validation_rules.get(name).and_then(Value::as_f64);
	if let Some(n) = value.as_f64() {
		if let Some(min) = rule("min")
			&& n < min
		{
			return Err(format!("must be at least {min}"));
		}
		if let Some(max) = rule("max")
			&& n > max
		{
			return Err(format!("must be at most {max}"));
		}
	}
	if let Some(s) = value.as_str() {
		let len = s.chars().count() as f64;
		if let Some(min) = rule("min_length")
			&& len < min
		{
			return Err(format!("must have at least {min} characters"));
		}
		if let Some(max) = rule("max_length")
			&& len > max
		{
			return Err(format!("must have at most {max} characters"));
		}
	}
	if !spec.options.is_empty() && !spec.options.contains(value) {
		let list: Vec<String> = spec.options.iter().map(Value::to_string).collect();
		return Err(format!("must be one of {}", list.join(", ")));
	}
	Ok(())
}

/// Converts a string given for a non-string parameter (`--param batch_size=10`) to its type.
fn coerce(spec: &ParameterSpec, value: Value) -> Value {
	let Value::String(text) = &value else {
		return value;
	};
	let parsed = match spec.parameter_type {
		ParamType::String => None,
		ParamType::Integer => text.trim().parse::<i64>().ok().map(Value::from),
		ParamType::Float => {
			let t = text.trim();
			t.parse::<i64>()
				.ok()
				.map(Value::from)
				.or_else(|| t.parse::<f64>().ok().map(Value::from))
		}
		ParamType::Boolean => match text.trim().to_ascii_lowercase().as_str() {
			"true" | "1" | "yes" => Some(Value::Bool(true)),
			"false" | "0" | "no" => Some(Value::Bool(false)),
			_ => None,
		},
		ParamType::List | ParamType::Dict => serde_json::from_str(text).ok(),
	};
	parsed.unwrap_or(value)
}

/// Resolves the parameters of a new execution. Every problem is returned at once, each with a
/// path `parameters.<name>`.
pub fn resolve(
	specs: &[ParameterSpec],
	given: Map<String, Value>,
) -> Result<Map<String, Value>, Vec<Issue>> {
	if specs.is_empty() {
		return Ok(given);
	}
	let mut issues = Vec::new();
	let mut resolved = given;
	for spec in specs {
		let path = format!("parameters.{}", spec.name);
		match resolved.remove(&spec.name) {
			Some(value) => {
				let value = coerce(spec, value);
				if let Err(message) = check_parameter(spec, &value) {
					issues.push(Issue::new(path, message));
				}
				resolved.insert(spec.name.clone(), value);
			}
			None => match &spec.default_value {
				Some(default) => {
					resolved.insert(spec.name.clone(), default.clone());
				}
				None if spec.required => issues.push(Issue::new(path, "is required")),
				None => {}
			},
		}
	}
	for name in resolved.keys() {
		if !specs.iter().any(|s| &s.name == name) {
			issues.push(Issue::new(
				format!("parameters.{name}"),
				"is not declared by the workflow",
			));
		}
	}
	if issues.is_empty() {
		Ok(resolved)
	} else {
		Err(issues)
	}
}

#[cfg(test)]
mod tests {
	use serde_json::json;

	use super::*;
	use crate::definition::Definition;

	fn specs() -> Vec<ParameterSpec> {
		let (def, issues) = Definition::parse(&json!({"components": [], "parameters": [
			{"name": "source_url", "parameter_type": "string", "required": true},
			{"name": "batch_size", "parameter_type": "integer", "required": false,
				"default_value": 1000, "validation_rules": {"min": 1, "max": 10000}},
			{"name": "output_format", "parameter_type": "string", "options": ["json", "csv"],
				"default_value": "json"}
		]}));
		assert!(issues.is_empty(), "{issues:?}");
		def.parameters
	}

	#[test]
	fn defaults_are_applied_and_strings_converted() {
		let mut given = Map::new();
		given.insert("source_url".into(), json!("http://x"));
		given.insert("batch_size".into(), json!("250"));
		let out = resolve(&specs(), given).unwrap();
		assert_eq!(out["batch_size"], json!(250));
		assert_eq!(out["output_format"], json!("json"));
	}

	#[test]
	fn every_bad_parameter_is_reported() {
		let mut given = Map::new();
		given.insert("batch_size".into(), json!(0));
		given.insert("output_format".into(), json!("xml"));
		given.insert("surprise".into(), json!(1));
		let issues = resolve(&specs(), given).unwrap_err();
		assert_eq!(issues.len(), 4, "{issues:?}");
	}
}
