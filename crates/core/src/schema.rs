//! A checker for the subset of JSON Schema that component configs use (`type`, `enum`,
//! `minimum`/`maximum`, `minLength`/`maxLength`, `minItems`/`maxItems`, `properties`, `required`,
//! `additionalProperties`, `items`).
//!
//! Why not a general JSON Schema crate: a config value may be a `{{ expression }}` whose type is
//! only known when the execution runs (`"batch_size": "{{batch_size}}"` must validate against an
//! integer schema). This checker treats such a string as deferred wherever a non-string is
//! expected, reports problems with our dotted paths, and the engine checks the rendered config
//! again against the same schema before the component runs.

use serde_json::{Map, Value};

use crate::expr;
use crate::validate::Issue;

/// Appends to `issues` every way `value` breaks `schema`, with paths under `path`.
pub fn check(schema: &Value, value: &Value, path: &str, issues: &mut Vec<Issue>) {
	let Some(schema) = schema.as_object() else {
		return;
	};
	if let Value::String(s) = value
		&& expr::is_template(s)
	{
		// Deferred: the rendered value is checked when the execution runs.
		return;
	}
	if let Some(types) = schema.get("type")
		&& !type_matches(types, value)
	{
		issues.push(Issue::new(
			path,
			format!("must be {}", describe_type(types)),
		));
		return;
	}
	if let Some(Value::Array(options)) = schema.get("enum")
		&& !options.contains(value)
	{
		let list: Vec<String> = options.iter().map(Value::to_string).collect();
		issues.push(Issue::new(
			path,
			format!("must be one of {}", list.join(", ")),
		));
	}
	match value {
		Value::Number(n) => check_number(schema, n.as_f64().unwrap_or(0.0), path, issues),
		Value::String(s) => check_length(schema, s.chars().count(), "characters", path, issues),
		Value::Array(items) => {
			check_items(schema, items.len(), path, issues);
			if let Some(item_schema) = schema.get("items") {
				for (i, item) in items.iter().enumerate() {
					check(item_schema, item, &format!("{path}[{i}]"), issues);
				}
			}
		}
		Value::Object(map) => check_object(schema, map, path, issues),
		_ => {}
	}
}

fn check_object(
	schema: &Map<String, Value>,
	map: &Map<String, Value>,
	path: &str,
	issues: &mut Vec<Issue>,
) {
	let empty = Map::new();
	let properties = schema
		.get("properties")
		.and_then(Value::as_object)
		.unwrap_or(&empty);
	if let Some(Value::Array(required)) = schema.get("required") {
		for name in required.iter().filter_map(Value::as_str) {
			if !map.contains_key(name) {
				issues.push(Issue::new(join(path, name), "is required"));
			}
		}
	}
	for (key, value) in map {
		let child = join(path, key);
		match properties.get(key) {
			Some(prop) => check(prop, value, &child, issues),
			None => match schema.get("additionalProperties") {
				Some(Value::Bool(false)) => issues.push(Issue::new(child, "unknown field")),
				Some(extra @ Value::Object(_)) => check(extra, value, &child, issues),
				_ => {}
			},
		}
	}
}

fn join(path: &str, key: &str) -> String {
	if path.is_empty() {
		key.to_owned()
	} else {
		format!("{path}.{key}")
	}
}

fn check_number(schema: &Map<String, Value>, n: f64, path: &str, issues: &mut Vec<Issue>) {
	if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
		&& n < min
	{
		issues.push(Issue::new(path, format!("must be at least {min}")));
	}
	if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
		&& n > max
	{
		issues.push(Issue::new(path, format!("must be at most {max}")));
	}
}

fn check_length(
	schema: &Map<String, Value>,
	len: usize,
	unit: &str,
	path: &str,
	issues: &mut Vec<Issue>,
) {
	if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
		&& (len as u64) < min
	{
		issues.push(Issue::new(path, format!("must have at least {min} {unit}")));
	}
	if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
		&& (len as u64) > max
	{
		issues.push(Issue::new(path, format!("must have at most {max} {unit}")));
	}
}

fn check_items(schema: &Map<String, Value>, len: usize, path: &str, issues: &mut Vec<Issue>) {
	if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
		&& (len as u64) < min
	{
		issues.push(Issue::new(path, format!("must have at least {min} items")));
	}
	if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
		&& (len as u64) > max
	{
		issues.push(Issue::new(path, format!("must have at most {max} items")));
	}
}

fn type_matches(types: &Value, value: &Value) -> bool {
	match types {
		Value::String(t) => one_type_matches(t, value),
		Value::Array(ts) => ts
			.iter()
			.filter_map(Value::as_str)
			.any(|t| one_type_matches(t, value)),
		_ => true,
	}
}

fn one_type_matches(t: &str, value: &Value) -> bool {
	match t {
		"string" => value.is_string(),
		"integer" => {
			value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0)
		}
		"number" => value.is_number(),
		"boolean" => value.is_boolean(),
		"object" => value.is_object(),
		"array" => value.is_array(),
		"null" => value.is_null(),
		_ => true,
	}
}

fn describe_type(types: &Value) -> String {
	let article = |t: &str| match t {
		"integer" | "object" | "array" => format!("an {t}"),
		"null" => "null".to_owned(),
		_ => format!("a {t}"),
	};
	match types {
		Value::String(t) => article(t),
		Value::Array(ts) => ts
			.iter()
			.filter_map(Value::as_str)
			.map(article)
			.collect::<Vec<_>>()
			.join(" or "),
		_ => "valid".to_owned(),
	}
}

#[cfg(test)]
mod tests {
	use serde_json::json;

	use super::*;

	fn problems(schema: Value, value: Value) -> Vec<String> {
		let mut issues = Vec::new();
		check(&schema, &value, "config", &mut issues);
		issues.iter().map(ToString::to_string).collect()
	}

	#[test]
	fn every_broken_rule_is_reported_with_its_path() {
		let schema = json!({"type": "object", "additionalProperties": false,
			"required": ["seconds"],
			"properties": {"seconds": {"type": "integer", "minimum": 0},
				"mode": {"type": "string", "enum": ["a", "b"]}}});
		let found = problems(schema, json!({"mode": "c", "extra": 1}));
		assert_eq!(found.len(), 3, "{found:?}");
		assert!(
			found
				.iter()
				.any(|p| p.starts_with("config.seconds: is required"))
		);
		assert!(
			found
				.iter()
				.any(|p| p.starts_with("config.mode: must be one of"))
		);
		assert!(
			found
				.iter()
				.any(|p| p.starts_with("config.extra: unknown field"))
		);
	}

	#[test]
	fn a_template_string_is_deferred_where_a_number_is_expected() {
		let schema = json!({"type": "integer", "minimum": 1});
		assert!(problems(schema.clone(), json!("{{batch_size}}")).is_empty());
		assert_eq!(problems(schema, json!("many")).len(), 1);
	}
}
