//! Parquet through the `parquet` and `arrow` crates, in row batches.
//!
//! **Types, inferred from the first batch** of [`BATCH_ROWS`] records, per column in order of
//! first appearance: integers → int64; numbers with any fraction → float64 (integers in the
//! same column widen); booleans → bool; strings → utf8; objects and lists → utf8 holding their
//! JSON text (a struct would need one shape for every row, which JSON records rarely promise,
//! and every reader can parse JSON text back); a column of mixed kinds → utf8 (non-strings as
//! JSON text); a column null throughout the first batch → utf8. Every column is nullable.
//! Later batches must fit: a key the first batch did not have, or a float in an int64 column,
//! is an error that names the row and the column, never a silent change of schema.
//!
//! **Memory** is bounded by one batch of records plus one row group being encoded (row groups
//! of [`ROW_GROUP_ROWS`] rows, snappy-compressed, pyarrow's default codec).

use std::fs::File;
use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Float64Builder, Int64Builder, StringBuilder};
use arrow_array::{Array, ArrayRef, RecordBatch, cast::AsArray, types};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde_json::{Number, Value};

use super::{Flow, ReadInfo, Record, RecordWriter, Sink};
use crate::FilesError;

/// Records per batch: inferred over, converted together, and read at a time.
pub(crate) const BATCH_ROWS: usize = 8192;
/// Rows per row group (the writer's memory bound).
const ROW_GROUP_ROWS: usize = 65_536;

fn data(shown: &str, message: impl Into<String>) -> FilesError {
	FilesError::Data {
		path: shown.to_owned(),
		message: message.into(),
	}
}

fn parquet_error(shown: &str, e: parquet::errors::ParquetError) -> FilesError {
	match e {
		parquet::errors::ParquetError::External(inner) => {
			match inner.downcast::<std::io::Error>() {
				Ok(io) => FilesError::io("file_path", shown, *io),
				Err(other) => data(shown, other.to_string()),
			}
		}
		other => data(shown, format!("parquet: {other}")),
	}
}

pub(super) fn read(file: File, shown: &str, sink: &mut Sink<'_>) -> Result<ReadInfo, FilesError> {
	let builder =
		ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| parquet_error(shown, e))?;
	let total = u64::try_from(builder.metadata().file_metadata().num_rows()).ok();
	let reader = builder
		.with_batch_size(BATCH_ROWS)
		.build()
		.map_err(|e| parquet_error(shown, e))?;
	for batch in reader {
		let batch = batch.map_err(|e| data(shown, format!("parquet: {e}")))?;
		let schema = batch.schema();
		let columns: Vec<Column<'_>> = batch
			.columns()
			.iter()
			.map(|array| Column::new(array.as_ref(), shown))
			.collect::<Result<_, _>>()?;
		for row in 0..batch.num_rows() {
			let record: Record = schema
				.fields()
				.iter()
				.zip(&columns)
				.map(|(field, column)| (field.name().clone(), column.value(row)))
				.collect();
			if sink(record)? == Flow::Stop {
				return Ok(ReadInfo { total });
			}
		}
	}
	Ok(ReadInfo { total })
}

/// One column of a batch, ready to give JSON values.
enum Column<'a> {
	Int(&'a dyn Array, Box<dyn Fn(usize) -> i64 + 'a>),
	UInt(&'a dyn Array, Box<dyn Fn(usize) -> u64 + 'a>),
	Float(&'a dyn Array, Box<dyn Fn(usize) -> f64 + 'a>),
	Bool(&'a arrow_array::BooleanArray),
	Text(&'a dyn Array, Box<dyn Fn(usize) -> &'a str + 'a>),
	/// Any other type, shown as arrow displays it (dates, timestamps, decimals…).
	Other(&'a dyn Array, arrow_cast::display::ArrayFormatter<'a>),
}

impl<'a> Column<'a> {
	fn new(array: &'a dyn Array, shown: &str) -> Result<Self, FilesError> {
		macro_rules! prim {
			($variant:ident, $t:ty, $to:ty) => {{
				let a = array.as_primitive::<$t>();
				Column::$variant(array, Box::new(move |i| a.value(i) as $to))
			}};
		}
		Ok(match array.data_type() {
			DataType::Int8 => prim!(Int, types::Int8Type, i64),
			DataType::Int16 => prim!(Int, types::Int16Type, i64),
			DataType::Int32 => prim!(Int, types::Int32Type, i64),
			DataType::Int64 => prim!(Int, types::Int64Type, i64),
			DataType::UInt8 => prim!(UInt, types::UInt8Type, u64),
			DataType::UInt16 => prim!(UInt, types::UInt16Type, u64),
			DataType::UInt32 => prim!(UInt, types::UInt32Type, u64),
			DataType::UInt64 => prim!(UInt, types::UInt64Type, u64),
			DataType::Float32 => prim!(Float, types::Float32Type, f64),
			DataType::Float64 => prim!(Float, types::Float64Type, f64),
			DataType::Boolean => Column::Bool(array.as_boolean()),
			DataType::Utf8 => {
				let a = array.as_string::<i32>();
				Column::Text(array, Box::new(move |i| a.value(i)))
			}
			DataType::LargeUtf8 => {
				let a = array.as_string::<i64>();
				Column::Text(array, Box::new(move |i| a.value(i)))
			}
			_ => {
				let options = arrow_cast::display::FormatOptions::default();
				let formatter = arrow_cast::display::ArrayFormatter::try_new(array, &options)
					.map_err(|e| data(shown, format!("parquet: {e}")))?;
				Column::Other(array, formatter)
			}
		})
	}

	fn value(&self, row: usize) -> Value {
		let array: &dyn Array = match self {
			Self::Int(a, _) | Self::UInt(a, _) | Self::Float(a, _) | Self::Text(a, _) => *a,
			Self::Other(a, _) => *a,
			Self::Bool(a) => *a,
		};
		if array.is_null(row) {
			return Value::Null;
		}
		match self {
			Self::Int(_, f) => Value::from(f(row)),
			Self::UInt(_, f) => Value::from(f(row)),
			Self::Float(_, f) => Number::from_f64(f(row)).map_or(Value::Null, Value::Number),
			Self::Bool(a) => Value::Bool(a.value(row)),
			Self::Text(_, f) => Value::String(f(row).to_owned()),
			Self::Other(_, formatter) => Value::String(formatter.value(row).to_string()),
		}
	}
}

/// The kind a column is inferred as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
	Null,
	Int,
	Float,
	Bool,
	Text,
}

impl Kind {
	fn of(value: &Value) -> Self {
		match value {
			Value::Null => Self::Null,
			Value::Bool(_) => Self::Bool,
			Value::Number(n) if n.is_i64() => Self::Int,
			Value::Number(_) => Self::Float,
			_ => Self::Text,
		}
	}

	fn merge(self, other: Self) -> Self {
		match (self, other) {
			(a, b) if a == b => a,
			(Self::Null, b) => b,
			(a, Self::Null) => a,
			(Self::Int, Self::Float) | (Self::Float, Self::Int) => Self::Float,
			_ => Self::Text,
		}
	}

	fn data_type(self) -> DataType {
		match self {
			Self::Int => DataType::Int64,
			Self::Float => DataType::Float64,
			Self::Bool => DataType::Boolean,
			Self::Null | Self::Text => DataType::Utf8,
		}
	}
}

fn infer(records: &[Record]) -> SchemaRef {
	let mut kinds: Vec<(String, Kind)> = Vec::new();
	for record in records {
		for (key, value) in record {
			let kind = Kind::of(value);
			match kinds.iter_mut().find(|(k, _)| k == key) {
				Some((_, known)) => *known = known.merge(kind),
				None => kinds.push((key.clone(), kind)),
			}
		}
	}
	let fields: Vec<Field> = kinds
		.into_iter()
		.map(|(name, kind)| Field::new(name, kind.data_type(), true))
		.collect();
	Arc::new(Schema::new(fields))
}

/// Buffers [`BATCH_ROWS`] records, converts them to an arrow batch and hands it to the parquet
/// writer, which flushes a row group every [`ROW_GROUP_ROWS`] rows.
pub(super) struct Writer {
	file: Option<File>,
	writer: Option<ArrowWriter<File>>,
	schema: Option<SchemaRef>,
	buffer: Vec<Record>,
	shown: String,
	/// Rows written before the buffer's first.
	done: u64,
}

impl Writer {
	pub(super) fn new(file: File, shown: &str) -> Self {
		Self {
			file: Some(file),
			writer: None,
			schema: None,
			buffer: Vec::with_capacity(BATCH_ROWS),
			shown: shown.to_owned(),
			done: 0,
		}
	}

	fn flush_batch(&mut self) -> Result<(), FilesError> {
		if self.buffer.is_empty() {
			return Ok(());
		}
		let schema = self
			.schema
			.get_or_insert_with(|| infer(&self.buffer))
			.clone();
		if self.writer.is_none() {
			let properties = WriterProperties::builder()
				.set_compression(Compression::SNAPPY)
				.set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
				.build();
			let file = self.file.take().expect("the file is taken once");
			let writer = ArrowWriter::try_new(file, schema.clone(), Some(properties))
				.map_err(|e| parquet_error(&self.shown, e))?;
			self.writer = Some(writer);
		}
		let batch = self.to_batch(&schema)?;
		self.writer
			.as_mut()
			.expect("created above")
			.write(&batch)
			.map_err(|e| parquet_error(&self.shown, e))?;
		self.done += self.buffer.len() as u64;
		self.buffer.clear();
		Ok(())
	}

	fn to_batch(&self, schema: &SchemaRef) -> Result<RecordBatch, FilesError> {
		for (i, record) in self.buffer.iter().enumerate() {
			if let Some(extra) = record.keys().find(|k| schema.field_with_name(k).is_err()) {
				return Err(data(
					&self.shown,
					format!(
						"row {}: field '{extra}' is not a column of the parquet schema, which \
						 was inferred from the first {BATCH_ROWS} records",
						self.done + i as u64 + 1
					),
				));
			}
		}
		let columns: Vec<ArrayRef> = schema
			.fields()
			.iter()
			.map(|field| self.column(field))
			.collect::<Result<_, _>>()?;
		RecordBatch::try_new(schema.clone(), columns)
			.map_err(|e| data(&self.shown, format!("parquet: {e}")))
	}

	fn column(&self, field: &Field) -> Result<ArrayRef, FilesError> {
		let name = field.name();
		let values = self
			.buffer
			.iter()
			.map(|r| r.get(name).unwrap_or(&Value::Null));
		let misfit = |row: usize, value: &Value| {
			data(
				&self.shown,
				format!(
					"row {}: column '{name}' is {} (inferred from the first records) but the \
					 value is {value}",
					self.done + row as u64 + 1,
					field.data_type()
				),
			)
		};
		Ok(match field.data_type() {
			DataType::Int64 => {
				let mut b = Int64Builder::with_capacity(self.buffer.len());
				for (row, value) in values.enumerate() {
					match value {
						Value::Null => b.append_null(),
						Value::Number(n) if n.is_i64() => b.append_value(n.as_i64().unwrap_or(0)),
						other => return Err(misfit(row, other)),
					}
				}
				Arc::new(b.finish())
			}
			DataType::Float64 => {
				let mut b = Float64Builder::with_capacity(self.buffer.len());
				for (row, value) in values.enumerate() {
					match value {
						Value::Null => b.append_null(),
						Value::Number(n) => b.append_option(n.as_f64()),
						other => return Err(misfit(row, other)),
					}
				}
				Arc::new(b.finish())
			}
			DataType::Boolean => {
				let mut b = BooleanBuilder::with_capacity(self.buffer.len());
				for (row, value) in values.enumerate() {
					match value {
						Value::Null => b.append_null(),
						Value::Bool(v) => b.append_value(*v),
						other => return Err(misfit(row, other)),
					}
				}
				Arc::new(b.finish())
			}
			_ => {
				let mut b = StringBuilder::with_capacity(self.buffer.len(), 16 * self.buffer.len());
				for value in values {
					match value {
						Value::Null => b.append_null(),
						Value::String(s) => b.append_value(s),
						other => b.append_value(other.to_string()),
					}
				}
				Arc::new(b.finish())
			}
		})
	}
}

impl RecordWriter for Writer {
	fn write(&mut self, record: Record) -> Result<(), FilesError> {
		self.buffer.push(record);
		if self.buffer.len() >= BATCH_ROWS {
			self.flush_batch()?;
		}
		Ok(())
	}

	fn finish(mut self: Box<Self>) -> Result<(), FilesError> {
		self.flush_batch()?;
		let Some(writer) = self.writer.take() else {
			return Err(data(
				&self.shown,
				"parquet needs at least one record to infer its columns from",
			));
		};
		let file = writer
			.into_inner()
			.map_err(|e| parquet_error(&self.shown, e))?;
		file.sync_all()
			.map_err(|e| FilesError::io("file_path", &self.shown, e))
	}
}
