//! The six operations, each run on a blocking thread (file IO blocks). Every path goes through
//! [`Roots`] first; files are opened with `O_NOFOLLOW`; a written file is built as a temporary
//! file beside its destination and renamed over it, so a reader never sees half a file and a
//! failed write leaves the old one intact.
//!
//! Outputs are small summaries except for `read` and `list`, whose size is counted while they are
//! built and refused past `max_output_bytes` with a pointer to `offset`/`limit`.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::FilesError;
use crate::config::{Format, Operation, Request};
use crate::formats::{self, Flow, Record, Start};
use crate::roots::{Resolved, Roots};

/// How often (in records) a long read or convert checks for cancellation.
const CANCEL_EVERY: u64 = 4096;

/// What an operation may use beyond its request.
pub(crate) struct Env {
	pub(crate) roots: Roots,
	pub(crate) max_output_bytes: usize,
	pub(crate) cancel: CancellationToken,
}

/// Runs `request`; `input` is the step's input, the records to write when `data` is absent.
pub(crate) fn run(request: Request, input: Value, env: &Env) -> Result<Value, FilesError> {
	match request.operation {
		Operation::Read => read(&request, env),
		Operation::Write | Operation::Append => {
			let data = request.data.clone().unwrap_or(input);
			write(&request, records(data)?, env)
		}
		Operation::Delete => delete(&request, env),
		Operation::List => list(&request, env),
		Operation::Convert => convert(&request, env),
	}
}

/// The records of `data`: a list of objects, or one object.
fn records(data: Value) -> Result<Vec<Record>, FilesError> {
	match data {
		Value::Array(items) => items
			.into_iter()
			.enumerate()
			.map(|(i, item)| match item {
				Value::Object(record) => Ok(record),
				_ => Err(FilesError::config(
					format!("data[{i}]"),
					"is not an object (a record)",
				)),
			})
			.collect(),
		Value::Object(record) => Ok(vec![record]),
		Value::String(_) => Err(FilesError::config(
			"data",
			"must be a list of records or one record, not a string (a transform with \
			 output_format csv gives one: use output_format records and let format csv write it)",
		)),
		other => Err(FilesError::config(
			"data",
			format!("must be a list of records or one record, not {other}"),
		)),
	}
}

/// Opens a checked path for reading, refusing a link swapped in since the check.
fn open_read(resolved: &Resolved, field: &'static str) -> Result<File, FilesError> {
	let file = OpenOptions::new()
		.read(true)
		.custom_flags(libc::O_NOFOLLOW)
		.open(&resolved.path)
		.map_err(|e| FilesError::io(field, &resolved.shown, e))?;
	let meta = file
		.metadata()
		.map_err(|e| FilesError::io(field, &resolved.shown, e))?;
	if meta.is_dir() {
		return Err(FilesError::BadPath {
			field,
			path: resolved.shown.clone(),
			reason: "is a directory".to_owned(),
		});
	}
	Ok(file)
}

/// A temporary file beside `resolved` (its directory created), to be renamed over it.
fn temp_beside(
	resolved: &Resolved,
	field: &'static str,
) -> Result<(File, tempfile::TempPath), FilesError> {
	let err = |e| FilesError::io(field, &resolved.shown, e);
	let parent = resolved.path.parent().unwrap_or(Path::new("/"));
	std::fs::create_dir_all(parent).map_err(err)?;
	if resolved.path.is_dir() {
		return Err(FilesError::BadPath {
			field,
			path: resolved.shown.clone(),
			reason: "is a directory".to_owned(),
		});
	}
	let temp = tempfile::Builder::new()
		.prefix(".apg-")
		.suffix(".part")
		.tempfile_in(parent)
		.map_err(err)?;
	Ok(temp.into_parts())
}

fn persist(
	temp: tempfile::TempPath,
	resolved: &Resolved,
	field: &'static str,
) -> Result<u64, FilesError> {
	temp.persist(&resolved.path)
		.map_err(|e| FilesError::io(field, &resolved.shown, e.error))?;
	size(resolved, field)
}

fn size(resolved: &Resolved, field: &'static str) -> Result<u64, FilesError> {
	std::fs::symlink_metadata(&resolved.path)
		.map(|m| m.len())
		.map_err(|e| FilesError::io(field, &resolved.shown, e))
}

fn cancelled(env: &Env, n: u64) -> Result<(), FilesError> {
	if n.is_multiple_of(CANCEL_EVERY) && env.cancel.is_cancelled() {
		return Err(FilesError::Cancelled);
	}
	Ok(())
}

/// Counts the bytes of what is written to it.
struct Counter(usize);

impl Write for Counter {
	fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
		self.0 += buf.len();
		Ok(buf.len())
	}

	fn flush(&mut self) -> io::Result<()> {
		Ok(())
	}
}

/// The serialized size of `value`.
fn json_size(value: &impl serde::Serialize) -> usize {
	let mut counter = Counter(0);
	let _ = serde_json::to_writer(&mut counter, value);
	counter.0
}

fn read(request: &Request, env: &Env) -> Result<Value, FilesError> {
	let resolved = env.roots.resolve("file_path", &request.file_path, true)?;
	let format = Request::format_of(request.format, &request.file_path, "format")?;
	let file = open_read(&resolved, "file_path")?;
	let limit = request.limit.unwrap_or(u64::MAX);
	let offset = request.offset;
	let mut page: Vec<Record> = Vec::new();
	let mut bytes = 256;
	let mut seen = 0u64;
	let mut more = false;
	let info = formats::read(format, file, &resolved.shown, &request.csv, &mut |record| {
		cancelled(env, seen)?;
		if seen < offset {
			seen += 1;
			return Ok(Flow::Continue);
		}
		if page.len() as u64 == limit {
			more = true;
			return Ok(Flow::Stop);
		}
		bytes += json_size(&record) + 1;
		if bytes > env.max_output_bytes {
			return Err(FilesError::OutputTooLarge {
				limit: env.max_output_bytes,
			});
		}
		page.push(record);
		seen += 1;
		Ok(Flow::Continue)
	})?;
	let count = page.len() as u64;
	let total = info.total.or((!more).then_some(seen));
	Ok(json!({
		"path": resolved.shown,
		"format": format.name(),
		"records": page,
		"count": count,
		"offset": offset,
		"next_offset": more.then_some(offset + count),
		"total": total,
	}))
}

fn write(request: &Request, records: Vec<Record>, env: &Env) -> Result<Value, FilesError> {
	let resolved = env.roots.resolve("file_path", &request.file_path, true)?;
	let format = Request::format_of(request.format, &request.file_path, "format")?;
	let count = records.len();
	let append = request.operation == Operation::Append;
	let bytes = match format {
		// Formats that can grow in place do.
		Format::Jsonl | Format::Csv if append => {
			append_in_place(request, format, &resolved, records)?
		}
		_ => {
			let (file, temp) = temp_beside(&resolved, "file_path")?;
			let mut writer = formats::writer(
				format,
				file,
				&resolved.shown,
				&request.csv,
				Start::default(),
			)?;
			if append && resolved.path.exists() {
				// A JSON array or a parquet file cannot grow in place: the old records are
				// streamed into the new file first.
				let old = open_read(&resolved, "file_path")?;
				let mut n = 0;
				formats::read(format, old, &resolved.shown, &request.csv, &mut |record| {
					n += 1;
					cancelled(env, n)?;
					writer.write(record)?;
					Ok(Flow::Continue)
				})?;
			}
			for record in records {
				writer.write(record)?;
			}
			writer.finish()?;
			persist(temp, &resolved, "file_path")?
		}
	};
	Ok(json!({
		"path": resolved.shown,
		"format": format.name(),
		"operation": if append { "append" } else { "write" },
		"records_written": count,
		"bytes": bytes,
	}))
}

fn append_in_place(
	request: &Request,
	format: Format,
	resolved: &Resolved,
	records: Vec<Record>,
) -> Result<u64, FilesError> {
	let err = |e| FilesError::io("file_path", &resolved.shown, e);
	let columns = if format == Format::Csv && resolved.path.exists() {
		let existing = open_read(resolved, "file_path")?;
		formats::existing_columns(existing, &resolved.shown, &request.csv)?
	} else {
		None
	};
	if let Some(parent) = resolved.path.parent() {
		std::fs::create_dir_all(parent).map_err(err)?;
	}
	let file = OpenOptions::new()
		.append(true)
		.create(true)
		.custom_flags(libc::O_NOFOLLOW)
		.open(&resolved.path)
		.map_err(err)?;
	let mut writer = formats::writer(
		format,
		file,
		&resolved.shown,
		&request.csv,
		Start { columns },
	)?;
	for record in records {
		writer.write(record)?;
	}
	writer.finish()?;
	size(resolved, "file_path")
}

fn delete(request: &Request, env: &Env) -> Result<Value, FilesError> {
	let resolved = env.roots.resolve("file_path", &request.file_path, false)?;
	let meta = match std::fs::symlink_metadata(&resolved.path) {
		Ok(meta) => meta,
		Err(e) if e.kind() == io::ErrorKind::NotFound && request.missing_ok => {
			return Ok(json!({"path": resolved.shown, "deleted": false}));
		}
		Err(e) => return Err(FilesError::io("file_path", &resolved.shown, e)),
	};
	if meta.is_dir() {
		return Err(FilesError::BadPath {
			field: "file_path",
			path: resolved.shown,
			reason: "is a directory (only files are deleted)".to_owned(),
		});
	}
	// A link is removed itself, never what it points to.
	std::fs::remove_file(&resolved.path)
		.map_err(|e| FilesError::io("file_path", &resolved.shown, e))?;
	Ok(json!({"path": resolved.shown, "deleted": true}))
}

fn list(request: &Request, env: &Env) -> Result<Value, FilesError> {
	let resolved = env.roots.resolve("file_path", &request.file_path, true)?;
	let err = |e| FilesError::io("file_path", &resolved.shown, e);
	let mut entries: Vec<(String, Value)> = Vec::new();
	for entry in std::fs::read_dir(&resolved.path).map_err(err)? {
		let entry = entry.map_err(err)?;
		let meta = entry.metadata().map_err(err)?;
		let kind = if meta.is_symlink() {
			"symlink"
		} else if meta.is_dir() {
			"directory"
		} else if meta.is_file() {
			"file"
		} else {
			"other"
		};
		let modified = meta
			.modified()
			.ok()
			.and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
			.map(|d| d.as_secs());
		let name = entry.file_name().to_string_lossy().into_owned();
		let value =
			json!({"name": name, "type": kind, "size": meta.len(), "modified_unix": modified});
		entries.push((name, value));
	}
	entries.sort_by(|a, b| a.0.cmp(&b.0));
	let total = entries.len() as u64;
	let offset = request.offset.min(total);
	let limit = request.limit.unwrap_or(u64::MAX);
	let page: Vec<Value> = entries
		.into_iter()
		.skip(offset as usize)
		.take(usize::try_from(limit).unwrap_or(usize::MAX))
		.map(|(_, v)| v)
		.collect();
	if json_size(&page) + 256 > env.max_output_bytes {
		return Err(FilesError::OutputTooLarge {
			limit: env.max_output_bytes,
		});
	}
	let count = page.len() as u64;
	Ok(json!({
		"path": resolved.shown,
		"entries": page,
		"count": count,
		"offset": offset,
		"next_offset": (offset + count < total).then_some(offset + count),
		"total": total,
	}))
}

fn convert(request: &Request, env: &Env) -> Result<Value, FilesError> {
	let source = env.roots.resolve("file_path", &request.file_path, true)?;
	let raw_destination = request.destination_path.as_deref().unwrap_or_default();
	let destination = env
		.roots
		.resolve("destination_path", raw_destination, true)?;
	if source.path == destination.path {
		return Err(FilesError::config(
			"destination_path",
			"is the source file; convert to another file",
		));
	}
	let from = Request::format_of(request.format, &request.file_path, "format")?;
	let to = Request::format_of(
		request.destination_format,
		raw_destination,
		"destination_format",
	)?;
	let input = open_read(&source, "file_path")?;
	let (file, temp) = temp_beside(&destination, "destination_path")?;
	let mut writer = formats::writer(to, file, &destination.shown, &request.csv, Start::default())?;
	let mut n = 0u64;
	formats::read(from, input, &source.shown, &request.csv, &mut |record| {
		n += 1;
		cancelled(env, n)?;
		writer.write(record)?;
		Ok(Flow::Continue)
	})?;
	writer.finish()?;
	let bytes = persist(temp, &destination, "destination_path")?;
	Ok(json!({
		"path": source.shown,
		"format": from.name(),
		"destination_path": destination.shown,
		"destination_format": to.name(),
		"records": n,
		"bytes": bytes,
	}))
}
