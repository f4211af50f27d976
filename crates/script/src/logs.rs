//! [`Logs`]: the lines a script logs (`console.log`, `print`), bounded in bytes so a chatty
//! script fails with a clear error instead of filling the execution's log.

use apg_core::LogLevel;

use crate::error::ScriptError;

/// Collected log lines, at most `cap` bytes in all.
#[derive(Debug)]
pub(crate) struct Logs {
	lines: Vec<(LogLevel, String)>,
	bytes: usize,
	cap: usize,
}

impl Logs {
	pub(crate) fn new(cap: usize) -> Self {
		Self {
			lines: Vec::new(),
			bytes: 0,
			cap,
		}
	}

	/// Adds a line; over the cap the script must stop, as it would otherwise keep logging.
	pub(crate) fn push(&mut self, level: LogLevel, line: String) -> Result<(), ScriptError> {
		self.bytes += line.len() + 1;
		if self.bytes > self.cap {
			return Err(ScriptError::OutputTooLarge(self.cap));
		}
		self.lines.push((level, line));
		Ok(())
	}

	pub(crate) fn into_lines(self) -> Vec<(LogLevel, String)> {
		self.lines
	}
}

/// What a successful run produced.
#[derive(Debug)]
pub(crate) struct Run {
	pub(crate) output: serde_json::Value,
	pub(crate) logs: Vec<(LogLevel, String)>,
}

/// The line number after `marker:` in an error message or stack (`script:3:5` → 3).
pub(crate) fn line_after(text: &str, marker: &str) -> Option<u32> {
	let start = text.find(marker)? + marker.len();
	let digits: String = text[start..]
		.chars()
		.take_while(char::is_ascii_digit)
		.collect();
	digits.parse().ok()
}
