//! The rendered config of one attempt parsed into a typed [`Request`]: enums for the operation,
//! the format and the CSV quoting, so `ops` never compares strings. The schema the registry
//! checks lives with the component; this is what the checked, rendered values mean.

use serde_json::{Map, Value};

use crate::FilesError;

/// What to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operation {
	Read,
	Write,
	Append,
	Delete,
	List,
	Convert,
}

impl Operation {
	pub(crate) const NAMES: [&'static str; 6] =
		["read", "write", "append", "delete", "list", "convert"];

	pub(crate) fn parse(name: &str) -> Option<Self> {
		Some(match name {
			"read" => Self::Read,
			"write" => Self::Write,
			"append" => Self::Append,
			"delete" => Self::Delete,
			"list" => Self::List,
			"convert" => Self::Convert,
			_ => return None,
		})
	}
}

/// A file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
	/// One JSON array of records.
	Json,
	/// One JSON record a line.
	Jsonl,
	Csv,
	Parquet,
}

impl Format {
	pub(crate) const NAMES: [&'static str; 4] = ["json", "jsonl", "csv", "parquet"];

	pub(crate) fn parse(name: &str) -> Option<Self> {
		Some(match name {
			"json" => Self::Json,
			"jsonl" | "ndjson" => Self::Jsonl,
			"csv" => Self::Csv,
			"parquet" => Self::Parquet,
			_ => return None,
		})
	}

	/// The format a file's extension names, when `format` is not given.
	pub(crate) fn from_path(path: &str) -> Option<Self> {
		let ext = std::path::Path::new(path).extension()?.to_str()?;
		Self::parse(&ext.to_ascii_lowercase())
	}

	pub(crate) fn name(self) -> &'static str {
		match self {
			Self::Json => "json",
			Self::Jsonl => "jsonl",
			Self::Csv => "csv",
			Self::Parquet => "parquet",
		}
	}
}

/// When CSV fields are quoted on write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Quoting {
	/// Only fields that need it (a delimiter, a quote, a line break).
	Necessary,
	Always,
	/// Every field that is not a number.
	NonNumeric,
	/// Never (a field that needs quoting is then an error).
	Never,
}

/// CSV dialect, for reading and writing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CsvOptions {
	/// Whether the first line names the columns (else they are `column_1`, `column_2`…).
	pub(crate) header: bool,
	pub(crate) delimiter: u8,
	pub(crate) quote: u8,
	pub(crate) quoting: Quoting,
	/// Whether cells that read as integers, floats or booleans become those (and empty cells
	/// null) on read, rather than staying strings.
	pub(crate) infer_types: bool,
}

impl Default for CsvOptions {
	fn default() -> Self {
		Self {
			header: true,
			delimiter: b',',
			quote: b'"',
			quoting: Quoting::Necessary,
			infer_types: true,
		}
	}
}

/// One attempt's request.
#[derive(Clone, Debug)]
pub(crate) struct Request {
	pub(crate) operation: Operation,
	pub(crate) file_path: String,
	pub(crate) format: Option<Format>,
	pub(crate) destination_path: Option<String>,
	pub(crate) destination_format: Option<Format>,
	pub(crate) csv: CsvOptions,
	pub(crate) offset: u64,
	pub(crate) limit: Option<u64>,
	pub(crate) data: Option<Value>,
	pub(crate) missing_ok: bool,
}

fn string<'a>(config: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, FilesError> {
	match config.get(field) {
		None | Some(Value::Null) => Ok(None),
		Some(Value::String(s)) => Ok(Some(s)),
		Some(_) => Err(FilesError::config(field, "must be a string")),
	}
}

fn format(config: &Map<String, Value>, field: &str) -> Result<Option<Format>, FilesError> {
	string(config, field)?
		.map(|name| {
			Format::parse(name).ok_or_else(|| {
				FilesError::config(
					field,
					format!("must be one of {}", Format::NAMES.join(", ")),
				)
			})
		})
		.transpose()
}

fn count(config: &Map<String, Value>, field: &str) -> Result<Option<u64>, FilesError> {
	match config.get(field) {
		None | Some(Value::Null) => Ok(None),
		Some(v) => v
			.as_u64()
			.map(Some)
			.ok_or_else(|| FilesError::config(field, "must be a non-negative integer")),
	}
}

fn single_byte(value: Option<&Value>, field: &str, default: u8) -> Result<u8, FilesError> {
	match value {
		None | Some(Value::Null) => Ok(default),
		Some(Value::String(s)) if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
		Some(Value::String(s)) if s == "\\t" => Ok(b'\t'),
		Some(_) => Err(FilesError::config(field, "must be one ASCII character")),
	}
}

/// The CSV options of `csv` (an object or absent).
pub(crate) fn csv_options(value: Option<&Value>) -> Result<CsvOptions, FilesError> {
	let mut options = CsvOptions::default();
	let map = match value {
		None | Some(Value::Null) => return Ok(options),
		Some(Value::Object(map)) => map,
		Some(_) => return Err(FilesError::config("csv", "must be an object")),
	};
	for (key, value) in map {
		let field = format!("csv.{key}");
		match key.as_str() {
			"header" => {
				options.header = value
					.as_bool()
					.ok_or_else(|| FilesError::config(&field, "must be a boolean"))?;
			}
			"infer_types" => {
				options.infer_types = value
					.as_bool()
					.ok_or_else(|| FilesError::config(&field, "must be a boolean"))?;
			}
			"delimiter" => options.delimiter = single_byte(Some(value), &field, b',')?,
			"quote" => options.quote = single_byte(Some(value), &field, b'"')?,
			"quoting" => {
				options.quoting = match value.as_str() {
					Some("necessary") => Quoting::Necessary,
					Some("always") => Quoting::Always,
					Some("non_numeric") => Quoting::NonNumeric,
					Some("never") => Quoting::Never,
					_ => {
						return Err(FilesError::config(
							&field,
							"must be one of necessary, always, non_numeric, never",
						));
					}
				};
			}
			_ => return Err(FilesError::config(&field, "unknown field")),
		}
	}
	Ok(options)
}

impl Request {
	/// Parses a rendered config.
	pub(crate) fn parse(config: &Value) -> Result<Self, FilesError> {
		let empty = Map::new();
		let config = config.as_object().unwrap_or(&empty);
		let operation = string(config, "operation")?
			.ok_or_else(|| FilesError::config("operation", "is required"))?;
		let operation = Operation::parse(operation).ok_or_else(|| {
			FilesError::config(
				"operation",
				format!("must be one of {}", Operation::NAMES.join(", ")),
			)
		})?;
		let file_path = string(config, "file_path")?
			.ok_or_else(|| FilesError::config("file_path", "is required"))?
			.to_owned();
		let destination_path = string(config, "destination_path")?.map(str::to_owned);
		if operation == Operation::Convert && destination_path.is_none() {
			return Err(FilesError::config(
				"destination_path",
				"is required by convert",
			));
		}
		Ok(Self {
			operation,
			file_path,
			format: format(config, "format")?,
			destination_path,
			destination_format: format(config, "destination_format")?,
			csv: csv_options(config.get("csv"))?,
			offset: count(config, "offset")?.unwrap_or(0),
			limit: count(config, "limit")?,
			data: config.get("data").cloned(),
			missing_ok: config
				.get("missing_ok")
				.and_then(Value::as_bool)
				.unwrap_or(false),
		})
	}

	/// The format of `path`: `given`, else its extension's.
	pub(crate) fn format_of(
		given: Option<Format>,
		path: &str,
		field: &'static str,
	) -> Result<Format, FilesError> {
		given.or_else(|| Format::from_path(path)).ok_or_else(|| {
			FilesError::config(
				field,
				format!(
					"the format of '{path}' is not known from its extension; give one of {}",
					Format::NAMES.join(", ")
				),
			)
		})
	}
}
