//! The size of a value as JSON, measured without building the text: serialization into a
//! counter that gives up at a limit, so checking a 50 MB value against a 4 MiB cap costs 4 MiB of
//! work and no allocation.

use std::io;

/// Whether `value` serializes to at most `limit` bytes of JSON.
pub fn json_fits(value: &impl serde::Serialize, limit: usize) -> bool {
	serde_json::to_writer(&mut Counter { left: limit }, value).is_ok()
}

/// The length of `value` as JSON, if it is at most `limit` bytes.
pub fn json_len(value: &impl serde::Serialize, limit: usize) -> Option<usize> {
	let mut counter = Counter { left: limit };
	serde_json::to_writer(&mut counter, value).ok()?;
	Some(limit - counter.left)
}

/// A writer that only counts, and fails once `left` is used up.
struct Counter {
	left: usize,
}

impl io::Write for Counter {
	fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
		self.left = self
			.left
			.checked_sub(buf.len())
			.ok_or_else(|| io::Error::other("over the limit"))?;
		Ok(buf.len())
	}

	fn flush(&mut self) -> io::Result<()> {
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use serde_json::json;

	use super::*;

	#[test]
	fn sizes_are_measured_up_to_the_limit() {
		let v = json!({"a": "xyz"});
		assert_eq!(json_len(&v, 100), Some(v.to_string().len()));
		assert!(json_fits(&v, v.to_string().len()));
		assert!(!json_fits(&v, v.to_string().len() - 1));
		assert_eq!(json_len(&json!("x".repeat(1000)), 10), None);
	}
}
