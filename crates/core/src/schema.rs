//! Component config schemas: standard JSON Schema (draft 2020-12), checked by the `jsonschema`
//! crate, so the server and the UI's form library read the same schema language.
//!
//! What this module adds to the crate, and why:
//! - **Deferred values.** A config value may be a `{{ expression }}` whose type is only known when
//!   the execution runs (`"batch_size": "{{batch_size}}"` must pass an integer schema). An error
//!   whose value is such a string is dropped, as is a failed `oneOf`/`anyOf` that one of its
//!   branches would pass but for deferred values; the engine checks the rendered config again
//!   against the same schema before the component runs.
//! - **Our paths and words.** Problems carry the definition's dotted paths
//!   (`config.cases[0].when`) and the messages the API has always given (`is required`,
//!   `unknown field`, `must be one of …`), so clients and the designer's field markers keep
//!   working; a missing or unknown property is reported at the property's own path.
//! - **Compiled once.** A [`ConfigSchema`] is compiled when a component is registered and shared
//!   by validation and every attempt.

use std::fmt;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::paths::LocationSegment;
use jsonschema::{Draft, ValidationError, Validator};
use serde_json::Value;

use crate::expr;
use crate::validate::Issue;

/// A config schema document and its compiled validator.
pub struct ConfigSchema {
	document: Value,
	validator: Validator,
}

impl ConfigSchema {
	/// Compiles `document` as a draft 2020-12 schema.
	pub fn compile(document: Value) -> Result<Self, String> {
		let validator = jsonschema::options()
			.with_draft(Draft::Draft202012)
			.build(&document)
			.map_err(|e| format!("invalid config schema: {e}"))?;
		Ok(Self {
			document,
			validator,
		})
	}

	/// The schema as JSON (served to clients at `/components`).
	pub fn document(&self) -> &Value {
		&self.document
	}
}

impl Default for ConfigSchema {
	/// The schema that accepts every value.
	fn default() -> Self {
		Self::compile(Value::Bool(true)).expect("`true` is a schema")
	}
}

impl fmt::Debug for ConfigSchema {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.debug_tuple("ConfigSchema").field(&self.document).finish()
	}
}

/// Appends to `issues` every way `value` breaks `schema`, with paths under `path`.
pub fn check(schema: &ConfigSchema, value: &Value, path: &str, issues: &mut Vec<Issue>) {
	for error in schema.validator.iter_errors(value) {
		if !deferred(&error, value) {
			describe(&error, value, path, issues);
		}
	}
}

/// Whether `error` only says that a deferred value (a template) is not yet of the right kind.
fn deferred(error: &ValidationError<'_>, root: &Value) -> bool {
	if instance(root, error).is_some_and(is_template) {
		return true;
	}
	match error.kind() {
		ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
			context
				.iter()
				.any(|branch| branch.iter().all(|e| deferred(e, root)))
		}
		_ => false,
	}
}

fn is_template(value: &Value) -> bool {
	value.as_str().is_some_and(expr::is_template)
}

/// The value the error is about, found in `root` by the error's location.
fn instance<'v>(root: &'v Value, error: &ValidationError<'_>) -> Option<&'v Value> {
	let mut at = root;
	for segment in error.instance_path().segments() {
		at = match segment {
			LocationSegment::Property(key) => at.get(key.as_ref())?,
			LocationSegment::Index(i) => at.get(i)?,
		};
	}
	Some(at)
}

/// `config.cases[0].when` for the error's location under `path`.
fn dotted(path: &str, error: &ValidationError<'_>) -> String {
	let mut out = path.to_owned();
	for segment in error.instance_path().segments() {
		match segment {
			LocationSegment::Property(key) => push_key(&mut out, &key),
			LocationSegment::Index(i) => out.push_str(&format!("[{i}]")),
		}
	}
	out
}

fn push_key(out: &mut String, key: &str) {
	if !out.is_empty() {
		out.push('.');
	}
	out.push_str(key);
}

fn describe(error: &ValidationError<'_>, root: &Value, path: &str, issues: &mut Vec<Issue>) {
	let at = dotted(path, error);
	let message = match error.kind() {
		ValidationErrorKind::Required { property } => {
			let mut child = at;
			push_key(&mut child, property.as_str().unwrap_or_default());
			issues.push(Issue::new(child, "is required"));
			return;
		}
		ValidationErrorKind::AdditionalProperties { unexpected }
		| ValidationErrorKind::UnevaluatedProperties { unexpected } => {
			for key in unexpected {
				let mut child = at.clone();
				push_key(&mut child, key);
				issues.push(Issue::new(child, "unknown field"));
			}
			return;
		}
		ValidationErrorKind::Type { kind } => format!("must be {}", describe_type(kind)),
		ValidationErrorKind::Enum { options } => {
			let list: Vec<String> = options
				.as_array()
				.map(|o| o.iter().map(Value::to_string).collect())
				.unwrap_or_default();
			format!("must be one of {}", list.join(", "))
		}
		ValidationErrorKind::Constant { expected_value } => format!("must be {expected_value}"),
		ValidationErrorKind::Minimum { limit } => format!("must be at least {}", number(limit)),
		ValidationErrorKind::Maximum { limit } => format!("must be at most {}", number(limit)),
		ValidationErrorKind::ExclusiveMinimum { limit } => {
			format!("must be greater than {}", number(limit))
		}
		ValidationErrorKind::ExclusiveMaximum { limit } => {
			format!("must be less than {}", number(limit))
		}
		ValidationErrorKind::MinLength { limit } => {
			format!("must have at least {limit} characters")
		}
		ValidationErrorKind::MaxLength { limit } => format!("must have at most {limit} characters"),
		ValidationErrorKind::MinItems { limit } => format!("must have at least {limit} items"),
		ValidationErrorKind::MaxItems { limit } => format!("must have at most {limit} items"),
		ValidationErrorKind::Pattern { pattern } => format!("must match the pattern {pattern}"),
		ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } => {
			// The branch that came closest says the most: its problems, at their own paths.
			if let Some(best) = context.iter().min_by_key(|branch| branch.len())
				&& !best.is_empty()
			{
				for e in best.iter().filter(|e| !deferred(e, root)) {
					describe(e, root, path, issues);
				}
				return;
			}
			"matches none of the allowed forms".to_owned()
		}
		ValidationErrorKind::OneOfMultipleValid { .. } => {
			"matches more than one of the allowed forms".to_owned()
		}
		_ => without_value(error),
	};
	issues.push(Issue::new(at, message));
}

/// The crate's message without the offending value it starts with (a value can be long, and a
/// config may hold text the caller should not see echoed at length).
fn without_value(error: &ValidationError<'_>) -> String {
	error.masked_with("the value").to_string()
}

fn number(limit: &Value) -> String {
	match limit.as_f64() {
		Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
		_ => limit.to_string(),
	}
}

fn describe_type(kind: &TypeKind) -> String {
	let article = |t: &str| match t {
		"integer" | "object" | "array" => format!("an {t}"),
		"null" => "null".to_owned(),
		_ => format!("a {t}"),
	};
	match kind {
		TypeKind::Single(t) => article(&t.to_string()),
		TypeKind::Multiple(set) => set
			.iter()
			.map(|t| article(&t.to_string()))
			.collect::<Vec<_>>()
			.join(" or "),
	}
}

#[cfg(test)]
mod tests {
	use serde_json::json;

	use super::*;

	fn problems(schema: Value, value: Value) -> Vec<String> {
		let schema = ConfigSchema::compile(schema).unwrap();
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
		for expected in [
			"config.seconds: is required",
			"config.mode: must be one of \"a\", \"b\"",
			"config.extra: unknown field",
		] {
			assert!(
				found.iter().any(|p| p.starts_with(expected)),
				"{expected}: {found:?}"
			);
		}
	}

	#[test]
	fn a_template_string_is_deferred_where_a_number_is_expected() {
		let schema = json!({"type": "integer", "minimum": 1});
		assert!(problems(schema.clone(), json!("{{batch_size}}")).is_empty());
		assert_eq!(
			problems(schema.clone(), json!("many")),
			["config: must be an integer"]
		);
		assert_eq!(problems(schema, json!(0)), ["config: must be at least 1"]);
	}

	#[test]
	fn nested_paths_use_dots_and_brackets() {
		let schema = json!({"type": "object", "properties": {"cases": {"type": "array",
			"items": {"type": "object", "required": ["name"],
				"properties": {"name": {"type": "string", "minLength": 1}}}}}});
		let found = problems(schema, json!({"cases": [{"name": "a"}, {"name": ""}, {}]}));
		assert_eq!(
			found,
			[
				"config.cases[1].name: must have at least 1 characters",
				"config.cases[2].name: is required"
			]
		);
	}

	#[test]
	fn a_one_of_passes_when_a_branch_fails_only_on_deferred_values() {
		let schema = json!({"oneOf": [
			{"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}},
			{"type": "array"}]});
		assert!(problems(schema.clone(), json!({"n": "{{ params.n }}"})).is_empty());
		let found = problems(schema, json!({"n": "seven"}));
		assert_eq!(
			found,
			["config.n: must be an integer"],
			"the closest branch speaks"
		);
	}

	#[test]
	fn standard_keywords_the_old_subset_lacked_now_work() {
		let schema = json!({"type": "object", "properties": {
			"port": {"type": "integer", "exclusiveMinimum": 0, "maximum": 65535},
			"mode": {"const": "fast"},
			"code": {"type": "string", "pattern": "^[A-Z]+$"}}});
		let found = problems(schema, json!({"port": 0, "mode": "slow", "code": "abc"}));
		assert_eq!(found.len(), 3, "{found:?}");
		assert!(found.contains(&"config.port: must be greater than 0".to_owned()));
		assert!(found.contains(&"config.mode: must be \"fast\"".to_owned()));
		assert!(found.contains(&"config.code: must match the pattern ^[A-Z]+$".to_owned()));
	}

	#[test]
	fn an_invalid_schema_is_refused_at_compile_time() {
		assert!(ConfigSchema::compile(json!({"type": "integr"})).is_err());
	}
}
