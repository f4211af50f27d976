//! The cap on what one attempt may store: its output and the variables it sets, as JSON.
//!
//! Everything a component returns is checkpointed, sent to subscribers and shown by the API, so
//! one echo of a 50 MB string would grow the database, every client's feed and the process. The
//! size is measured with `apg_core::size`, so an oversized output costs at most `limit` bytes of
//! work, never a copy. The check runs where the attempt ran (its own task, or the coordinator
//! for inline components) before the result is recorded.

use apg_core::size::json_fits;
use apg_core::{ComponentError, Outcome};

/// The default cap: 4 MiB.
pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 4 << 20;

/// Fails an attempt whose output and variables together serialize to more than `limit` bytes.
pub(crate) fn check(
	result: Result<Outcome, ComponentError>,
	limit: usize,
) -> Result<Outcome, ComponentError> {
	let outcome = result?;
	if json_fits(&(&outcome.output, &outcome.vars), limit) {
		return Ok(outcome);
	}
	Err(ComponentError::Fatal(format!(
		"the output is larger than {}: return less data, or read and write it in pages (for example with \
		 offset/limit)",
		describe_limit(limit)
	)))
}

/// The limit, for errors.
pub(crate) fn describe_limit(limit: usize) -> String {
	format!("the limit of {} (max_output_bytes)", human(limit))
}

fn human(bytes: usize) -> String {
	if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
		format!("{} MiB", bytes >> 20)
	} else if bytes >= 1 << 10 && bytes.is_multiple_of(1 << 10) {
		format!("{} KiB", bytes >> 10)
	} else {
		format!("{bytes} bytes")
	}
}

#[cfg(test)]
mod tests {
	use serde_json::json;

	use super::*;

	#[test]
	fn outputs_and_variables_are_capped_together() {
		let small = Outcome::output(json!({"a": "x".repeat(100)}));
		assert!(check(Ok(small), 1024).is_ok());
		let big = Outcome::output(json!("x".repeat(2000)));
		let error = check(Ok(big), 1024).unwrap_err().to_string();
		assert!(
			error.contains("1 KiB") && error.contains("max_output_bytes"),
			"{error}"
		);
		let mut vars = Outcome::output(json!(1));
		vars.vars.insert("v".into(), json!("y".repeat(2000)));
		assert!(check(Ok(vars), 1024).is_err());
		assert!(matches!(
			check(Err(ComponentError::Retryable("x".into())), 1),
			Err(ComponentError::Retryable(_))
		));
	}
}
