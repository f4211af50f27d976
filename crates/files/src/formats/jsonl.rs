//! JSON Lines: one record a line; blank lines are skipped. The simplest format to stream and to
//! append to.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};

use serde_json::Value;

use super::{Flow, ReadInfo, Record, RecordWriter, Sink, not_a_record, write_error};
use crate::FilesError;

pub(super) fn read(file: File, shown: &str, sink: &mut Sink<'_>) -> Result<ReadInfo, FilesError> {
	let mut reader = BufReader::new(file);
	let mut line = String::new();
	let mut number = 0u64;
	loop {
		line.clear();
		let n = reader
			.read_line(&mut line)
			.map_err(|e| FilesError::io("file_path", shown, e))?;
		if n == 0 {
			return Ok(ReadInfo::default());
		}
		number += 1;
		if line.trim().is_empty() {
			continue;
		}
		let value: Value = serde_json::from_str(&line).map_err(|e| FilesError::Data {
			path: shown.to_owned(),
			message: format!("line {number}: {e}"),
		})?;
		let Value::Object(record) = value else {
			return Err(not_a_record(shown, number));
		};
		if sink(record)? == Flow::Stop {
			return Ok(ReadInfo::default());
		}
	}
}

/// Writes one record a line.
pub(super) struct Writer {
	out: BufWriter<File>,
	shown: String,
}

impl Writer {
	pub(super) fn new(file: File, shown: &str) -> Self {
		Self {
			out: BufWriter::new(file),
			shown: shown.to_owned(),
		}
	}
}

impl RecordWriter for Writer {
	fn write(&mut self, record: Record) -> Result<(), FilesError> {
		serde_json::to_writer(&mut self.out, &record)
			.map_err(std::io::Error::from)
			.and_then(|()| self.out.write_all(b"\n"))
			.map_err(|e| write_error(&self.shown, e))
	}

	fn finish(self: Box<Self>) -> Result<(), FilesError> {
		let shown = self.shown;
		let file = self
			.out
			.into_inner()
			.map_err(|e| write_error(&shown, e.into_error()))?;
		file.sync_all().map_err(|e| write_error(&shown, e))
	}
}
