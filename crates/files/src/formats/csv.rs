//! CSV through the `csv` crate: a header line (or `column_1`, `column_2`… without one), any
//! one-byte delimiter and quote, and the quoting styles the crate offers.
//!
//! On read, with `infer_types` (the default) a cell becomes an integer, a float or a boolean when
//! it reads as one and prints back the same (so `007` and `+5` stay strings: codes must not lose
//! their zeros), and an empty cell becomes null; so a CSV converted to parquet gets typed columns.
//! On write, the columns are the first record's keys; a later record with another key is an
//! error (a CSV has one header), a missing key an empty cell; nested values are written as JSON.

use std::fs::File;
use std::io::BufWriter;

use serde_json::{Number, Value};

use super::{Flow, ReadInfo, Record, RecordWriter, Sink, write_error};
use crate::FilesError;
use crate::config::{CsvOptions, Quoting};

fn data_error(shown: &str, e: &csv::Error) -> FilesError {
	let line = e
		.position()
		.map(|p| format!("line {}: ", p.line()))
		.unwrap_or_default();
	FilesError::Data {
		path: shown.to_owned(),
		message: format!("{line}{}", e.kind_message()),
	}
}

trait KindMessage {
	fn kind_message(&self) -> String;
}

impl KindMessage for csv::Error {
	fn kind_message(&self) -> String {
		match self.kind() {
			csv::ErrorKind::UnequalLengths {
				expected_len, len, ..
			} => format!("{len} fields where the header has {expected_len}"),
			csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".to_owned(),
			_ => self.to_string(),
		}
	}
}

fn from_csv_error(shown: &str, e: csv::Error) -> FilesError {
	if e.is_io_error() {
		match e.into_kind() {
			csv::ErrorKind::Io(io) => FilesError::io("file_path", shown, io),
			_ => unreachable!("is_io_error"),
		}
	} else {
		data_error(shown, &e)
	}
}

/// A cell as a JSON value, typed when `infer` is set.
fn cell(text: &str, infer: bool) -> Value {
	if !infer {
		return Value::String(text.to_owned());
	}
	if text.is_empty() {
		return Value::Null;
	}
	match text {
		"true" => return Value::Bool(true),
		"false" => return Value::Bool(false),
		_ => {}
	}
	if let Ok(i) = text.parse::<i64>()
		&& i.to_string() == text
	{
		return Value::Number(i.into());
	}
	let numeric = text
		.bytes()
		.all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'e' | b'E'));
	let leading_zero = text.trim_start_matches('-').starts_with("0")
		&& text
			.trim_start_matches('-')
			.as_bytes()
			.get(1)
			.is_some_and(u8::is_ascii_digit);
	if numeric
		&& !leading_zero
		&& let Ok(f) = text.parse::<f64>()
		&& let Some(n) = Number::from_f64(f)
	{
		return Value::Number(n);
	}
	Value::String(text.to_owned())
}

fn reader(file: File, options: &CsvOptions) -> csv::Reader<File> {
	csv::ReaderBuilder::new()
		.delimiter(options.delimiter)
		.quote(options.quote)
		.has_headers(options.header)
		.from_reader(file)
}

pub(super) fn read(
	file: File,
	shown: &str,
	options: &CsvOptions,
	sink: &mut Sink<'_>,
) -> Result<ReadInfo, FilesError> {
	let mut reader = reader(file, options);
	let mut columns: Option<Vec<String>> = if options.header {
		Some(
			reader
				.headers()
				.map_err(|e| from_csv_error(shown, e))?
				.iter()
				.map(str::to_owned)
				.collect(),
		)
	} else {
		None
	};
	let mut row = csv::StringRecord::new();
	while reader
		.read_record(&mut row)
		.map_err(|e| from_csv_error(shown, e))?
	{
		let names =
			columns.get_or_insert_with(|| (1..=row.len()).map(|i| format!("column_{i}")).collect());
		let record: Record = names
			.iter()
			.zip(row.iter())
			.map(|(name, text)| (name.clone(), cell(text, options.infer_types)))
			.collect();
		if sink(record)? == Flow::Stop {
			break;
		}
	}
	Ok(ReadInfo::default())
}

/// The header of the CSV file `file`, or `None` when it is empty (an append then writes one).
pub(crate) fn existing_columns(
	file: File,
	shown: &str,
	options: &CsvOptions,
) -> Result<Option<Vec<String>>, FilesError> {
	let empty = file
		.metadata()
		.map_err(|e| FilesError::io("file_path", shown, e))?
		.len() == 0;
	if empty {
		return Ok(None);
	}
	let mut reader = reader(
		file,
		&CsvOptions {
			header: true,
			..options.clone()
		},
	);
	let header = reader.headers().map_err(|e| from_csv_error(shown, e))?;
	if !options.header {
		// Without a header the columns are positional.
		return Ok(Some(
			(1..=header.len()).map(|i| format!("column_{i}")).collect(),
		));
	}
	Ok(Some(header.iter().map(str::to_owned).collect()))
}

/// Writes rows under the columns of the first record (or of the file appended to).
pub(super) struct Writer {
	out: csv::Writer<BufWriter<File>>,
	shown: String,
	header: bool,
	columns: Option<Vec<String>>,
	row: u64,
	cells: Vec<String>,
}

impl Writer {
	pub(super) fn new(
		file: File,
		shown: &str,
		options: &CsvOptions,
		columns: Option<Vec<String>>,
	) -> Self {
		let style = match options.quoting {
			Quoting::Necessary => csv::QuoteStyle::Necessary,
			Quoting::Always => csv::QuoteStyle::Always,
			Quoting::NonNumeric => csv::QuoteStyle::NonNumeric,
			Quoting::Never => csv::QuoteStyle::Never,
		};
		let out = csv::WriterBuilder::new()
			.delimiter(options.delimiter)
			.quote(options.quote)
			.quote_style(style)
			.has_headers(false)
			.from_writer(BufWriter::new(file));
		Self {
			out,
			shown: shown.to_owned(),
			header: options.header,
			columns,
			row: 0,
			cells: Vec::new(),
		}
	}
}

fn text(value: &Value) -> String {
	match value {
		Value::Null => String::new(),
		Value::String(s) => s.clone(),
		other => other.to_string(),
	}
}

impl RecordWriter for Writer {
	fn write(&mut self, record: Record) -> Result<(), FilesError> {
		self.row += 1;
		let shown = self.shown.clone();
		let fail = |e: csv::Error| from_csv_error(&shown, e);
		let columns = match &self.columns {
			Some(columns) => columns,
			None => {
				let columns: Vec<String> = record.keys().cloned().collect();
				if self.header {
					self.out.write_record(&columns).map_err(fail)?;
				}
				self.columns.insert(columns)
			}
		};
		if let Some(extra) = record.keys().find(|k| !columns.contains(k)) {
			return Err(FilesError::Data {
				path: self.shown.clone(),
				message: format!(
					"row {}: field '{extra}' is not a column of the CSV (the columns are the \
					 first record's: {})",
					self.row,
					columns.join(", ")
				),
			});
		}
		self.cells.clear();
		self.cells.extend(
			columns
				.iter()
				.map(|c| record.get(c).map(text).unwrap_or_default()),
		);
		self.out.write_record(&self.cells).map_err(fail)
	}

	fn finish(self: Box<Self>) -> Result<(), FilesError> {
		let shown = self.shown;
		let buffered = self
			.out
			.into_inner()
			.map_err(|e| write_error(&shown, std::io::Error::other(e.to_string())))?;
		let file = buffered
			.into_inner()
			.map_err(|e| write_error(&shown, e.into_error()))?;
		file.sync_all().map_err(|e| write_error(&shown, e))
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn cells_are_typed_only_when_they_print_back_the_same() {
		assert_eq!(cell("42", true), Value::from(42));
		assert_eq!(cell("-1.5", true), Value::from(-1.5));
		assert_eq!(cell("true", true), Value::Bool(true));
		assert_eq!(cell("", true), Value::Null);
		for kept in ["007", "+5", "1e", "abc", "0x10", "NaN", "inf"] {
			assert_eq!(cell(kept, true), Value::from(kept), "{kept}");
		}
		assert_eq!(cell("42", false), Value::from("42"));
	}
}
