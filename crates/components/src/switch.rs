//! `switch`: a many-way branch. It owns `cases` (each a branch `name` and a `when` expression the
//! engine renders before `run`) and `default`. The first case whose rendered `when` is truthy
//! names the branch; otherwise `default` does. The input passes through unchanged.
//!
//! Branch names must be literal and distinct (connections refer to them and validation checks
//! those references before anything is rendered), and a `when` written as a plain string is
//! rejected because it would always be true.

use std::collections::HashSet;

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use apg_core::{Component, ComponentError, Outcome, RunContext};

use crate::{is_template, truthy};

/// Branch taken when no case matches and `default` is not given.
const DEFAULT_BRANCH: &str = "default";

/// The `switch` component.
pub struct Switch;

/// The name of the default branch in `config`.
fn default_name(config: &Map<String, Value>) -> &str {
	config
		.get("default")
		.and_then(Value::as_str)
		.unwrap_or(DEFAULT_BRANCH)
}

/// The cases of `config` that are objects, with their index.
fn cases(config: &Map<String, Value>) -> impl Iterator<Item = (usize, &Map<String, Value>)> {
	config
		.get("cases")
		.and_then(Value::as_array)
		.into_iter()
		.flatten()
		.enumerate()
		.filter_map(|(i, case)| case.as_object().map(|case| (i, case)))
}

#[async_trait]
impl Component for Switch {
	fn kind(&self) -> &'static str {
		"switch"
	}

	fn is_inline(&self) -> bool {
		true
	}

	fn summary(&self) -> &'static str {
		"Takes the branch of the first case whose expression holds, else the default branch"
	}

	fn config_schema(&self) -> Value {
		json!({
			"type": "object",
			"properties": {
				"cases": {
					"type": "array",
					"minItems": 1,
					"description": "Cases tried in order; the first whose 'when' is truthy \
						names the branch",
					"items": {
						"type": "object",
						"properties": {
							"name": {
								"type": "string",
								"minLength": 1,
								"description": "Branch name, used by outgoing connections"
							},
							"when": {
								"description": "A {{ expression }}; the case matches when \
									its value is truthy"
							}
						},
						"required": ["name", "when"],
						"additionalProperties": false
					}
				},
				"default": {
					"type": "string",
					"minLength": 1,
					"default": DEFAULT_BRANCH,
					"description": "Branch taken when no case matches"
				}
			},
			"required": ["cases"]
		})
	}

	fn check_config(&self, config: &Map<String, Value>) -> Vec<(String, String)> {
		let mut issues = Vec::new();
		let literal = "must be a literal name, not an expression".to_owned();
		if config.get("default").is_some_and(is_template) {
			issues.push(("default".to_owned(), literal.clone()));
		}
		let default = default_name(config);
		let mut seen = HashSet::new();
		for (i, case) in cases(config) {
			if let Some(name) = case.get("name") {
				let path = format!("cases[{i}].name");
				match name.as_str() {
					_ if is_template(name) => issues.push((path, literal.clone())),
					Some(name) if name == default => issues.push((
						path,
						format!("'{name}' is also the default branch; give the case another name"),
					)),
					Some(name) if !name.is_empty() && !seen.insert(name) => {
						issues.push((path, format!("duplicate case name '{name}'")));
					}
					_ => {}
				}
			}
			if let Some(when) = case.get("when")
				&& when.is_string()
				&& !is_template(when)
			{
				issues.push((
					format!("cases[{i}].when"),
					"must be a {{ expression }} (a plain string is always true)".to_owned(),
				));
			}
		}
		issues
	}

	fn branches(&self, config: &Map<String, Value>) -> Option<Vec<String>> {
		let mut names: Vec<String> = cases(config)
			.filter_map(|(_, case)| case.get("name").and_then(Value::as_str))
			.map(str::to_owned)
			.collect();
		names.push(default_name(config).to_owned());
		Some(names)
	}

	async fn run(
		&self,
		_ctx: &RunContext,
		config: &Value,
		input: Value,
	) -> Result<Outcome, ComponentError> {
		let empty = Map::new();
		let config = config.as_object().unwrap_or(&empty);
		let matched = cases(config)
			.find(|(_, case)| case.get("when").is_some_and(truthy))
			.map(|(i, case)| {
				case.get("name")
					.and_then(Value::as_str)
					.ok_or_else(|| ComponentError::Fatal(format!("cases[{i}] has no name")))
			})
			.transpose()?;
		let branch = matched.unwrap_or_else(|| default_name(config)).to_owned();
		Ok(Outcome {
			output: input,
			branch: Some(branch),
			..Outcome::default()
		})
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::testing::{ctx, obj};

	#[tokio::test]
	async fn the_first_truthy_case_wins_else_the_default() {
		let config = |a: Value, b: Value| {
			json!({"cases": [{"name": "a", "when": a}, {"name": "b", "when": b}],
				"default": "other"})
		};
		for (a, b, branch) in [
			(json!(true), json!(true), "a"),
			(json!(0), json!("yes"), "b"),
			(json!(false), json!(null), "other"),
		] {
			let out = Switch
				.run(&ctx(), &config(a, b), json!({"x": 1}))
				.await
				.unwrap();
			assert_eq!(out.branch.as_deref(), Some(branch));
			assert_eq!(out.output, json!({"x": 1}));
		}
		let out = Switch
			.run(
				&ctx(),
				&json!({"cases": [{"name": "a", "when": false}]}),
				json!(null),
			)
			.await
			.unwrap();
		assert_eq!(out.branch.as_deref(), Some("default"));
	}

	#[test]
	fn branches_are_the_case_names_and_the_default() {
		let config = obj(json!({"cases": [{"name": "big", "when": "{{ n > 9 }}"},
			{"name": "mid", "when": "{{ n > 3 }}"}]}));
		assert_eq!(Switch.branches(&config).unwrap(), ["big", "mid", "default"]);
	}

	#[test]
	fn case_names_must_be_literal_distinct_and_not_the_default() {
		let config = obj(json!({"default": "big", "cases": [
			{"name": "big", "when": "{{ a }}"},
			{"name": "mid", "when": "{{ b }}"},
			{"name": "mid", "when": "{{ c }}"},
			{"name": "{{ x }}", "when": "{{ d }}"},
			{"name": "ok", "when": "d > 1"}]}));
		let paths: Vec<String> = Switch
			.check_config(&config)
			.into_iter()
			.map(|(path, _)| path)
			.collect();
		assert_eq!(
			paths,
			[
				"cases[0].name",
				"cases[2].name",
				"cases[3].name",
				"cases[4].when"
			]
		);
	}
}
