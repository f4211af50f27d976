//! `transform`: the seed's `DataTransformComponent` — `map`, `filter`, `aggregate` or `sort` a
//! list (or, for `map`, one object) by `transformation_rules`, then shape it by `output_format`.
//!
//! The module owns the config schema and the component; `rules` parses the rules (shared by
//! validation and execution), `apply` runs them and `format` shapes the result. The output is the
//! transformed data itself, not wrapped, so successors get the data directly.
//!
//! `batch_size` exists because the seed's ETL template passes it (`"{{batch_size}}"`): items are
//! processed in batches of that size, yielding to the runtime between batches, and the result is
//! identical to an unbatched run.

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use apg_core::{Component, ComponentError, Outcome, RunContext};

use self::format::OutputFormat;
use self::rules::Kind;

mod apply;
mod format;
mod rules;

/// Batch size when `batch_size` is not given (the seed template's default).
const DEFAULT_BATCH: u64 = 1000;
/// The largest `batch_size`.
const MAX_BATCH: u64 = 100_000;

/// The `transform` component.
pub struct Transform;

/// A failure another attempt cannot fix.
fn fatal(message: impl Into<String>) -> ComponentError {
	ComponentError::Fatal(message.into())
}

/// "a string", "an object"…: a value's type for error messages.
fn describe(value: &Value) -> &'static str {
	match value {
		Value::Null => "null",
		Value::Bool(_) => "a boolean",
		Value::Number(_) => "a number",
		Value::String(_) => "a string",
		Value::Array(_) => "a list",
		Value::Object(_) => "an object",
	}
}

#[async_trait]
impl Component for Transform {
	fn kind(&self) -> &'static str {
		"transform"
	}

	fn summary(&self) -> &'static str {
		"Maps, filters, aggregates or sorts data, as JSON, records or CSV"
	}

	fn config_schema(&self) -> Value {
		json!({
			"type": "object",
			"properties": {
				"transformation_type": {
					"type": "string",
					"enum": ["map", "filter", "aggregate", "sort"],
					"description": "The transformation to apply"
				},
				"transformation_rules": {
					"type": "object",
					"description": "map: {\"mapping\": {source: target}}; \
						filter: {\"field\", \"operator\", \"value\"} or \
						{\"conditions\": [...], \"match\": \"all\"|\"any\"}; \
						aggregate: {\"group_by\", \
						\"aggregations\": {name: {\"field\", \"function\"}}}; \
						sort: {\"field\", \"order\"} or {\"keys\": [...]}"
				},
				"output_format": {
					"type": "string",
					"enum": ["json", "csv", "records"],
					"default": "json",
					"description": "json: the data as is; records: always a list; csv: a CSV string"
				},
				"batch_size": {
					"type": "integer",
					"minimum": 1,
					"maximum": MAX_BATCH,
					"default": DEFAULT_BATCH,
					"description": "Items processed between yields to the runtime; \
						never changes the result"
				}
			},
			"required": ["transformation_type", "transformation_rules"]
		})
	}

	fn check_config(&self, config: &Map<String, Value>) -> Vec<(String, String)> {
		// A missing, mistyped or templated `transformation_rules` is the schema's to report.
		let Some(Value::Object(rules)) = config.get("transformation_rules") else {
			return Vec::new();
		};
		if rules.is_empty() {
			return vec![(
				"transformation_rules".to_owned(),
				"Transformation rules cannot be empty".to_owned(),
			)];
		}
		let kind = config
			.get("transformation_type")
			.and_then(Value::as_str)
			.and_then(Kind::parse);
		match kind.map(|kind| rules::parse(kind, rules, true)) {
			Some(Err(problems)) => problems,
			_ => Vec::new(),
		}
	}

	async fn run(
		&self,
		ctx: &RunContext,
		config: &Value,
		input: Value,
	) -> Result<Outcome, ComponentError> {
		let kind = config
			.get("transformation_type")
			.and_then(Value::as_str)
			.and_then(Kind::parse)
			.ok_or_else(|| {
				fatal("transformation_type must be one of map, filter, aggregate, sort")
			})?;
		let rules = match config.get("transformation_rules") {
			Some(Value::Object(rules)) if !rules.is_empty() => rules,
			Some(Value::Object(_)) => return Err(fatal("Transformation rules cannot be empty")),
			_ => return Err(fatal("transformation_rules must be an object")),
		};
		let plan = rules::parse(kind, rules, false).map_err(|problems| {
			let list: Vec<String> = problems.iter().map(|(p, m)| format!("{p}: {m}")).collect();
			fatal(format!("invalid transformation rules: {}", list.join("; ")))
		})?;
		let format = OutputFormat::parse(config.get("output_format"))
			.ok_or_else(|| fatal("output_format must be one of json, csv, records"))?;
		let batch_size = config
			.get("batch_size")
			.and_then(Value::as_u64)
			.unwrap_or(DEFAULT_BATCH)
			.clamp(1, MAX_BATCH);
		if !input.is_array() && !input.is_object() {
			return Err(fatal(format!(
				"Input data must be list or dict, got {}",
				describe(&input)
			)));
		}
		let data = apply::apply(&plan, input, batch_size as usize, ctx).await?;
		Ok(Outcome::output(format.render(data)?))
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::testing::{ctx, obj};

	async fn run(config: Value, input: Value) -> Result<Value, ComponentError> {
		Transform
			.run(&ctx(), &config, input)
			.await
			.map(|out| out.output)
	}

	fn seed_map() -> Value {
		json!({"transformation_type": "map",
			"transformation_rules": {"mapping": {"id": "record_id", "name": "record_name",
				"value": "record_value"}}})
	}

	#[tokio::test]
	async fn map_copies_only_mapped_fields_that_exist() {
		let input = json!([{"id": 1, "name": "a", "value": 10, "extra": true}, {"id": 2}]);
		assert_eq!(
			run(seed_map(), input).await.unwrap(),
			json!([{"record_id": 1, "record_name": "a", "record_value": 10}, {"record_id": 2}])
		);
		assert_eq!(
			run(seed_map(), json!({"name": "one"})).await.unwrap(),
			json!({"record_name": "one"})
		);
	}

	#[tokio::test]
	async fn batching_never_changes_the_result() {
		let input: Vec<Value> = (0..25)
			.map(|i| json!({"id": i, "name": format!("n{i}"), "value": i % 4}))
			.collect();
		let configs = [
			seed_map(),
			json!({"transformation_type": "filter",
				"transformation_rules": {"field": "value", "operator": "gte", "value": 2}}),
			json!({"transformation_type": "aggregate", "transformation_rules": {
				"group_by": "value", "aggregations": {"n": {"function": "count"},
				"ids": {"field": "id", "function": "list"}}}}),
			json!({"transformation_type": "sort",
				"transformation_rules": {"field": "value", "order": "desc"}}),
		];
		for config in configs {
			let whole = run(config.clone(), Value::from(input.clone()))
				.await
				.unwrap();
			for batch_size in [1, 3, 25, 1000] {
				let mut batched = config.clone();
				batched["batch_size"] = json!(batch_size);
				let out = run(batched, Value::from(input.clone())).await.unwrap();
				assert_eq!(out, whole, "{config} with batch_size {batch_size}");
			}
		}
	}

	#[tokio::test]
	async fn input_that_is_not_a_list_or_an_object_is_fatal() {
		let err = run(seed_map(), json!("text")).await.unwrap_err();
		assert_eq!(
			err,
			ComponentError::Fatal("Input data must be list or dict, got a string".to_owned())
		);
	}

	#[tokio::test]
	async fn filter_and_sort_need_a_list() {
		let config = json!({"transformation_type": "filter",
			"transformation_rules": {"field": "a", "operator": "exists"}});
		let err = run(config, json!({"a": 1})).await.unwrap_err();
		assert_eq!(
			err,
			ComponentError::Fatal("filter needs a list input, got an object".to_owned())
		);
		let config = json!({"transformation_type": "sort", "transformation_rules": {"field": "a"}});
		assert!(run(config, json!({"a": 1})).await.is_err());
	}

	#[tokio::test]
	async fn rendered_rules_that_are_wrong_fail_with_their_path() {
		let config = json!({"transformation_type": "filter",
			"transformation_rules": {"field": "a", "operator": "{{ op }}", "value": 1}});
		let err = run(config, json!([])).await.unwrap_err();
		assert!(!err.is_retryable());
		assert!(
			err.to_string()
				.contains("transformation_rules.operator: must be one of"),
			"{err}"
		);
	}

	#[tokio::test]
	async fn output_formats_shape_the_result() {
		let mut config = seed_map();
		config["output_format"] = json!("records");
		assert_eq!(
			run(config.clone(), json!({"id": 7})).await.unwrap(),
			json!([{"record_id": 7}])
		);
		config["output_format"] = json!("csv");
		assert_eq!(
			run(config, json!([{"id": 7, "name": "x"}])).await.unwrap(),
			json!("record_id,record_name\r\n7,x\r\n")
		);
	}

	#[test]
	fn empty_rules_and_a_map_without_mapping_use_the_seed_messages() {
		let empty = obj(json!({"transformation_type": "sort", "transformation_rules": {}}));
		assert_eq!(
			Transform.check_config(&empty),
			[(
				"transformation_rules".to_owned(),
				"Transformation rules cannot be empty".to_owned()
			)]
		);
		let no_mapping = obj(json!({"transformation_type": "map",
			"transformation_rules": {"fields": {"a": "b"}}}));
		let issues = Transform.check_config(&no_mapping);
		assert!(
			issues.contains(&(
				"transformation_rules".to_owned(),
				"Map transformation requires 'mapping' in rules".to_owned()
			)),
			"{issues:?}"
		);
	}

	#[test]
	fn templates_in_rules_are_left_for_the_run() {
		let config = obj(
			json!({"transformation_type": "filter", "transformation_rules": {
			"field": "{{ params.field }}", "operator": "{{ params.op }}",
			"value": "{{ params.limit }}"}}),
		);
		assert!(Transform.check_config(&config).is_empty());
		let config = obj(
			json!({"transformation_type": "filter", "transformation_rules": {
			"field": "amount", "operator": "gt", "value": "{{ params.limit }}"}}),
		);
		assert!(Transform.check_config(&config).is_empty());
	}
}
