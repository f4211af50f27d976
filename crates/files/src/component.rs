//! [`FileOperation`], the seed's `FileOperationComponent`: its config schema (the seed's names,
//! `operation`, `file_path`, `format`), the checks the schema cannot express, and the hand-off of
//! each attempt to a blocking thread.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use apg_core::{Component, ComponentError, Outcome, RunContext, expr};

use crate::config::{Format, Operation, Request, csv_options};
use crate::ops::{self, Env};
use crate::roots::Roots;
use crate::{FilesError, Settings};

/// The `file_operation` component.
pub struct FileOperation {
	roots: Arc<Roots>,
	max_output_bytes: usize,
}

impl FileOperation {
	/// The component confined to `settings.roots`.
	pub fn new(settings: &Settings) -> Self {
		Self {
			roots: Arc::new(Roots::new(&settings.roots)),
			max_output_bytes: settings.max_output_bytes,
		}
	}
}

fn is_template(value: &Value) -> bool {
	value.as_str().is_some_and(expr::is_template)
}

/// Fields that only some operations use, with those operations.
const ONLY_FOR: &[(&str, &[Operation])] = &[
	("destination_path", &[Operation::Convert]),
	("destination_format", &[Operation::Convert]),
	("data", &[Operation::Write, Operation::Append]),
	("offset", &[Operation::Read, Operation::List]),
	("limit", &[Operation::Read, Operation::List]),
	("missing_ok", &[Operation::Delete]),
];

#[async_trait]
impl Component for FileOperation {
	fn kind(&self) -> &'static str {
		"file_operation"
	}

	fn summary(&self) -> &'static str {
		"Reads, writes, appends, deletes, lists or converts json, jsonl, csv and parquet files \
		 inside the configured roots"
	}

	fn config_schema(&self) -> Value {
		json!({
			"type": "object",
			"properties": {
				"operation": {
					"type": "string",
					"enum": Operation::NAMES,
					"description": "read (a page of records), write or append records, delete a \
						file, list a directory, or convert a file to another file and format"
				},
				"file_path": {
					"type": "string",
					"minLength": 1,
					"description": "The file (for list: the directory). Relative paths lie under \
						the first configured root; absolute ones must lie inside a root; '..' \
						and links that lead out are refused"
				},
				"format": {
					"type": "string",
					"enum": Format::NAMES,
					"description": "The file's format; by default from its extension \
						(.json, .jsonl/.ndjson, .csv, .parquet)"
				},
				"data": {
					"description": "write/append: the records (a list of objects, or one \
						object), usually an expression such as {{ steps.transform.output }}; \
						by default the step's input"
				},
				"destination_path": {
					"type": "string",
					"minLength": 1,
					"description": "convert: the file to write, under the same rules as file_path"
				},
				"destination_format": {
					"type": "string",
					"enum": Format::NAMES,
					"description": "convert: the destination's format; by default from its \
						extension"
				},
				"offset": {
					"type": "integer",
					"minimum": 0,
					"default": 0,
					"description": "read/list: records (entries) to skip"
				},
				"limit": {
					"type": "integer",
					"minimum": 0,
					"description": "read/list: the most records (entries) to return; \
						next_offset in the output gives the next page"
				},
				"missing_ok": {
					"type": "boolean",
					"default": false,
					"description": "delete: succeed (deleted: false) when the file does not exist"
				},
				"csv": {
					"type": "object",
					"description": "CSV dialect for reading and writing",
					"additionalProperties": false,
					"properties": {
						"header": {"type": "boolean", "default": true,
							"description": "Whether the first line names the columns \
								(else column_1, column_2…)"},
						"delimiter": {"type": "string", "minLength": 1, "maxLength": 2,
							"default": ",",
							"description": "One ASCII character (\\t for a tab)"},
						"quote": {"type": "string", "minLength": 1, "maxLength": 1,
							"default": "\"", "description": "One ASCII character"},
						"quoting": {"type": "string",
							"enum": ["necessary", "always", "non_numeric", "never"],
							"default": "necessary",
							"description": "When fields are quoted on write"},
						"infer_types": {"type": "boolean", "default": true,
							"description": "Read cells that look like integers, floats or \
								booleans as those, and empty cells as null"}
					}
				}
			},
			"required": ["operation", "file_path"]
		})
	}

	fn check_config(&self, config: &Map<String, Value>) -> Vec<(String, String)> {
		let mut problems = Vec::new();
		let operation = config
			.get("operation")
			.and_then(Value::as_str)
			.and_then(Operation::parse);
		if let Some(operation) = operation {
			for (field, ops) in ONLY_FOR {
				if config.contains_key(*field) && !ops.contains(&operation) {
					let names: Vec<&str> = ops
						.iter()
						.map(|op| Operation::NAMES[*op as usize])
						.collect();
					problems.push((
						(*field).to_owned(),
						format!("is used only by {}", names.join(", ")),
					));
				}
			}
			if operation == Operation::Convert && !config.contains_key("destination_path") {
				problems.push((
					"destination_path".to_owned(),
					"is required by convert".to_owned(),
				));
			}
		}
		if let Some(Value::String(path)) = config.get("file_path")
			&& !expr::is_template(path)
		{
			if std::path::Path::new(path)
				.components()
				.any(|c| c == std::path::Component::ParentDir)
			{
				problems.push(("file_path".to_owned(), "must not contain '..'".to_owned()));
			}
			let needs_format = !matches!(operation, Some(Operation::Delete | Operation::List));
			if needs_format && !config.contains_key("format") && Format::from_path(path).is_none() {
				problems.push((
					"format".to_owned(),
					format!(
						"is required: the extension of '{path}' names no format ({})",
						Format::NAMES.join(", ")
					),
				));
			}
		}
		if let Some(csv) = config.get("csv")
			&& !csv.as_object().is_some_and(|m| m.values().any(is_template))
			&& let Err(FilesError::Config { field, message }) = csv_options(Some(csv))
		{
			problems.push((field, message));
		}
		problems
	}

	async fn run(
		&self,
		ctx: &RunContext,
		config: &Value,
		input: Value,
	) -> Result<Outcome, ComponentError> {
		let request = Request::parse(config)?;
		let env = Env {
			roots: Roots::clone(&self.roots),
			max_output_bytes: self.max_output_bytes,
			cancel: ctx.cancel.clone(),
		};
		let output = tokio::task::spawn_blocking(move || ops::run(request, input, &env))
			.await
			.map_err(|e| ComponentError::Fatal(format!("file operation failed: {e}")))??;
		Ok(Outcome::output(output))
	}
}
