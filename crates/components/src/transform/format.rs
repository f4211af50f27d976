//! `output_format`: how the transformed data leaves the component. `json` leaves it as is,
//! `records` always gives a list, and `csv` gives one RFC 4180 string (header row, CRLF line
//! ends), for a successor that writes a file or sends a body.

use std::collections::HashSet;

use serde_json::{Map, Value};

use apg_core::ComponentError;

use super::{describe, fatal};

/// The output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OutputFormat {
	Json,
	Records,
	Csv,
}

impl OutputFormat {
	/// The format named by the config's `output_format` (`json` when absent).
	pub(crate) fn parse(value: Option<&Value>) -> Option<Self> {
		match value.map(Value::as_str) {
			None => Some(Self::Json),
			Some(Some("json")) => Some(Self::Json),
			Some(Some("records")) => Some(Self::Records),
			Some(Some("csv")) => Some(Self::Csv),
			Some(_) => None,
		}
	}

	/// `data` in this format.
	pub(crate) fn render(self, data: Value) -> Result<Value, ComponentError> {
		match (self, data) {
			(Self::Json, data) => Ok(data),
			(Self::Records, Value::Object(item)) => Ok(Value::Array(vec![Value::Object(item)])),
			(Self::Records, data) => Ok(data),
			(Self::Csv, Value::Object(item)) => Ok(Value::String(csv(&[Value::Object(item)])?)),
			(Self::Csv, Value::Array(items)) => Ok(Value::String(csv(&items)?)),
			(Self::Csv, data) => Err(fatal(format!(
				"csv output needs a list of objects, got {}",
				describe(&data)
			))),
		}
	}
}

/// A header row of every key (in first-seen order), then one row per object.
fn csv(items: &[Value]) -> Result<String, ComponentError> {
	let mut rows: Vec<&Map<String, Value>> = Vec::with_capacity(items.len());
	for (i, item) in items.iter().enumerate() {
		match item {
			Value::Object(row) => rows.push(row),
			other => {
				let kind = describe(other);
				return Err(fatal(format!(
					"csv output needs objects, but item [{i}] is {kind}"
				)));
			}
		}
	}
	let mut seen = HashSet::new();
	let header: Vec<&str> = rows
		.iter()
		.flat_map(|row| row.keys())
		.map(String::as_str)
		.filter(|key| seen.insert(*key))
		.collect();
	if header.is_empty() {
		return Ok(String::new());
	}
	let mut out = String::new();
	push_row(&mut out, header.iter().map(|key| (*key).to_owned()));
	for row in rows {
		push_row(&mut out, header.iter().map(|key| cell(row.get(*key))));
	}
	Ok(out)
}

/// A cell's text: strings as they are, null or missing empty, anything else as JSON.
fn cell(value: Option<&Value>) -> String {
	match value {
		None | Some(Value::Null) => String::new(),
		Some(Value::String(text)) => text.clone(),
		Some(other) => other.to_string(),
	}
}

fn push_row(out: &mut String, cells: impl Iterator<Item = String>) {
	for (i, text) in cells.enumerate() {
		if i > 0 {
			out.push(',');
		}
		if text.contains([',', '"', '\r', '\n']) {
			out.push('"');
			out.push_str(&text.replace('"', "\"\""));
			out.push('"');
		} else {
			out.push_str(&text);
		}
	}
	out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
	use serde_json::json;

	use super::*;

	#[test]
	fn csv_has_a_header_of_all_keys_and_quotes_per_rfc_4180() {
		let data = json!([
			{"id": 1, "name": "a, b"},
			{"id": 2, "note": "say \"hi\"\nbye", "name": null},
			{"id": 3, "tags": [1, 2]}
		]);
		let text = OutputFormat::Csv.render(data).unwrap();
		assert_eq!(
			text,
			json!(concat!(
				"id,name,note,tags\r\n",
				"1,\"a, b\",,\r\n",
				"2,,\"say \"\"hi\"\"\nbye\",\r\n",
				"3,,,\"[1,2]\"\r\n"
			))
		);
	}

	#[test]
	fn csv_needs_objects() {
		assert!(OutputFormat::Csv.render(json!([1, 2])).is_err());
		assert!(OutputFormat::Csv.render(json!("text")).is_err());
		assert_eq!(
			OutputFormat::Csv.render(json!({"a": 1})).unwrap(),
			json!("a\r\n1\r\n")
		);
		assert_eq!(OutputFormat::Csv.render(json!([])).unwrap(), json!(""));
	}

	#[test]
	fn records_are_always_a_list() {
		assert_eq!(
			OutputFormat::Records.render(json!({"a": 1})).unwrap(),
			json!([{"a": 1}])
		);
		assert_eq!(
			OutputFormat::Records.render(json!([{"a": 1}])).unwrap(),
			json!([{"a": 1}])
		);
	}
}
