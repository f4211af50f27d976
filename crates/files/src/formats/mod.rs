//! Reading and writing records, one at a time, in each format. A reader pushes records into a
//! sink until the file ends or the sink says stop; a writer takes records one by one. Neither
//! ever holds the whole file, which is what lets `convert` stream a file of any size with
//! bounded memory and `read` stop once its page is full.
//!
//! A record is a JSON object in every format (a CSV row, a parquet row, a JSON array item).

use std::fs::File;

use serde_json::{Map, Value};

use crate::FilesError;
use crate::config::{CsvOptions, Format};

mod csv;
mod json;
mod jsonl;
mod parquet;

pub(crate) use self::csv::existing_columns;

/// One row.
pub(crate) type Record = Map<String, Value>;

/// Whether a reader goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flow {
	Continue,
	Stop,
}

/// Where a reader pushes its records.
pub(crate) type Sink<'a> = dyn FnMut(Record) -> Result<Flow, FilesError> + 'a;

/// What a reader knows beyond its records.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ReadInfo {
	/// The number of records in the file, when the format records it (parquet).
	pub(crate) total: Option<u64>,
}

/// Reads `file` (shown as `shown` in errors) as `format`, pushing each record into `sink`.
pub(crate) fn read(
	format: Format,
	file: File,
	shown: &str,
	csv: &CsvOptions,
	sink: &mut Sink<'_>,
) -> Result<ReadInfo, FilesError> {
	match format {
		Format::Json => json::read(file, shown, sink),
		Format::Jsonl => jsonl::read(file, shown, sink),
		Format::Csv => self::csv::read(file, shown, csv, sink),
		Format::Parquet => parquet::read(file, shown, sink),
	}
}

/// Writes records to a file in one format.
pub(crate) trait RecordWriter {
	/// Adds one record.
	fn write(&mut self, record: Record) -> Result<(), FilesError>;
	/// Writes what is buffered and the format's trailer, and flushes to disk.
	fn finish(self: Box<Self>) -> Result<(), FilesError>;
}

/// How a writer starts.
#[derive(Clone, Debug, Default)]
pub(crate) struct Start {
	/// CSV: the columns of the file being appended to (no header is written then).
	pub(crate) columns: Option<Vec<String>>,
}

/// A writer of `format` into `file`.
pub(crate) fn writer(
	format: Format,
	file: File,
	shown: &str,
	csv: &CsvOptions,
	start: Start,
) -> Result<Box<dyn RecordWriter>, FilesError> {
	Ok(match format {
		Format::Json => Box::new(json::Writer::new(file, shown)),
		Format::Jsonl => Box::new(jsonl::Writer::new(file, shown)),
		Format::Csv => Box::new(self::csv::Writer::new(file, shown, csv, start.columns)),
		Format::Parquet => Box::new(parquet::Writer::new(file, shown)),
	})
}

/// The error of a failed write to `shown`.
pub(crate) fn write_error(shown: &str, source: std::io::Error) -> FilesError {
	FilesError::io("file_path", shown, source)
}

/// The error of a value that is not a record.
pub(crate) fn not_a_record(shown: &str, row: u64) -> FilesError {
	FilesError::Data {
		path: shown.to_owned(),
		message: format!("row {row} is not an object (a record)"),
	}
}
