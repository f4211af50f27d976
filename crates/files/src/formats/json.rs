//! JSON: one array of records. Read with a streaming visitor over the array, so even a JSON file
//! larger than memory can be converted or paged; written as `[`, records, `]`.

use std::fmt;
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};

use serde::Deserializer as _;
use serde::de::{self, SeqAccess, Visitor};

use super::{Flow, ReadInfo, Record, RecordWriter, Sink, write_error};
use crate::FilesError;

/// Why the visitor stopped early.
enum Halt {
	Stopped,
	Failed(FilesError),
}

struct Items<'a, 'b> {
	sink: &'a mut Sink<'b>,
	halt: &'a mut Option<Halt>,
}

impl<'de> Visitor<'de> for Items<'_, '_> {
	type Value = ();

	fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.write_str("an array of records (objects)")
	}

	fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
		while let Some(record) = seq.next_element::<Record>()? {
			match (self.sink)(record) {
				Ok(Flow::Continue) => {}
				Ok(Flow::Stop) => {
					*self.halt = Some(Halt::Stopped);
					return Err(de::Error::custom("stopped"));
				}
				Err(e) => {
					*self.halt = Some(Halt::Failed(e));
					return Err(de::Error::custom("failed"));
				}
			}
		}
		Ok(())
	}
}

pub(super) fn read(file: File, shown: &str, sink: &mut Sink<'_>) -> Result<ReadInfo, FilesError> {
	let mut de = serde_json::Deserializer::from_reader(BufReader::new(file));
	let mut halt = None;
	let result = (&mut de).deserialize_seq(Items {
		sink,
		halt: &mut halt,
	});
	match (result, halt) {
		(_, Some(Halt::Stopped)) => Ok(ReadInfo::default()),
		(_, Some(Halt::Failed(e))) => Err(e),
		(Err(e), None) if e.is_io() => Err(FilesError::io("file_path", shown, e.into())),
		(Err(e), None) => Err(FilesError::Data {
			path: shown.to_owned(),
			message: e.to_string(),
		}),
		(Ok(()), None) => de
			.end()
			.map(|()| ReadInfo::default())
			.map_err(|e| FilesError::Data {
				path: shown.to_owned(),
				message: e.to_string(),
			}),
	}
}

/// Writes `[`, the records separated by commas, then `]`.
pub(super) struct Writer {
	out: BufWriter<File>,
	shown: String,
	first: bool,
}

impl Writer {
	pub(super) fn new(file: File, shown: &str) -> Self {
		Self {
			out: BufWriter::new(file),
			shown: shown.to_owned(),
			first: true,
		}
	}
}

impl RecordWriter for Writer {
	fn write(&mut self, record: Record) -> Result<(), FilesError> {
		let separator: &[u8] = if self.first { b"[\n" } else { b",\n" };
		self.first = false;
		self.out
			.write_all(separator)
			.and_then(|()| serde_json::to_writer(&mut self.out, &record).map_err(Into::into))
			.map_err(|e| write_error(&self.shown, e))
	}

	fn finish(mut self: Box<Self>) -> Result<(), FilesError> {
		let end: &[u8] = if self.first { b"[]\n" } else { b"\n]\n" };
		self.out
			.write_all(end)
			.map_err(|e| write_error(&self.shown, e))?;
		let shown = self.shown;
		let file = self
			.out
			.into_inner()
			.map_err(|e| write_error(&shown, e.into_error()))?;
		file.sync_all().map_err(|e| write_error(&shown, e))
	}
}
