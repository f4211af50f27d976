//! Masks the plain values of secrets a component was given in whatever it returns (output,
//! logs, error text), so a component that prints a secret stores `***` instead.

use serde_json::Value;

use crate::secrets::MASK;

/// The plain values to mask.
#[derive(Clone, Debug, Default)]
pub struct Redactor {
	secrets: Vec<String>,
}

impl Redactor {
	/// Masks these values (empty ones are ignored: they would match everywhere).
	pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
		let mut secrets: Vec<String> = secrets.into_iter().filter(|s| !s.is_empty()).collect();
		// Longest first, so a secret containing another is masked whole.
		secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
		secrets.dedup();
		Self { secrets }
	}

	/// Whether there is nothing to mask.
	pub fn is_empty(&self) -> bool {
		self.secrets.is_empty()
	}

	/// `text` with every secret masked.
	pub fn text(&self, text: &str) -> String {
		let mut out = text.to_owned();
		for s in &self.secrets {
			if out.contains(s.as_str()) {
				out = out.replace(s.as_str(), MASK);
			}
		}
		out
	}

	/// Masks every string (and object key) in `value`.
	pub fn value(&self, value: &mut Value) {
		if self.is_empty() {
			return;
		}
		match value {
			Value::String(s) if self.secrets.iter().any(|x| s.contains(x.as_str())) => {
				*s = self.text(s);
			}
			Value::Array(items) => items.iter_mut().for_each(|v| self.value(v)),
			Value::Object(map) => {
				let old = std::mem::take(map);
				for (k, mut v) in old {
					self.value(&mut v);
					map.insert(self.text(&k), v);
				}
			}
			_ => {}
		}
	}
}

#[cfg(test)]
mod tests {
	use serde_json::json;

	use super::*;

	#[test]
	fn masks_everywhere() {
		let r = Redactor::new(["hunter22".to_owned(), String::new()]);
		let mut v = json!({"a": "pw=hunter22!", "hunter22": [1, "hunter22"]});
		r.value(&mut v);
		assert_eq!(v, json!({"a": "pw=***!", "***": [1, "***"]}));
		assert_eq!(r.text("nothing"), "nothing");
	}
}
