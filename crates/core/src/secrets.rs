//! The [`SecretSource`] seam: how the engine gets the plain value of a secret at the moment a
//! component runs, and never earlier. Two kinds of secret exist: a sensitive config field
//! (`password`, `token`, …) sealed at rest as `fernet:<token>`, and a credential referenced as
//! `{{secrets.<name>}}`. The engine renders a credential reference to a [`placeholder`], runs the
//! component with the placeholders and sealed values replaced by plain text, and masks every
//! plain value it revealed in what the component returns, so no secret reaches a checkpoint,
//! event, log or response.

use async_trait::async_trait;

use crate::ids::WorkflowId;

/// The prefix of a sealed (encrypted) config value; the rest is a Fernet token.
pub const SEALED_PREFIX: &str = "fernet:";

/// What a secret is replaced with wherever it would be shown.
pub const MASK: &str = "***";

/// Config keys whose values are sealed at rest: exactly one of these names, or ending in
/// `_<name>` (`db_password`, `client_secret`, `access_token`).
pub const SENSITIVE_FIELDS: &[&str] = &["password", "secret", "token", "api_key", "private_key"];

/// Whether a config key names a sensitive field.
pub fn is_sensitive_field(key: &str) -> bool {
	let key = key.to_ascii_lowercase();
	SENSITIVE_FIELDS
		.iter()
		.any(|f| key == *f || key.strip_suffix(f).is_some_and(|rest| rest.ends_with('_')))
}

const MARK: char = '\u{1d}';

/// The text a `{{secrets.<name>}}` renders to before the component runs.
pub fn placeholder(name: &str) -> String {
	format!("{MARK}secret:{name}{MARK}")
}

/// The credential names a config reads as `secrets.<name>`, and whether it holds sealed values:
/// what a step must be given before it runs.
pub fn needs(config: &serde_json::Value) -> (Vec<String>, bool) {
	fn walk(v: &serde_json::Value, names: &mut Vec<String>, sealed: &mut bool) {
		match v {
			serde_json::Value::String(s) => {
				*sealed |= s.starts_with(SEALED_PREFIX);
				if s.contains("secrets") && crate::expr::is_template(s) {
					for r in crate::expr::references(s).unwrap_or_default() {
						if let Some(name) = r.strip_prefix("secrets.")
							&& !names.iter().any(|n| n == name)
						{
							names.push(name.to_owned());
						}
					}
				}
			}
			serde_json::Value::Array(items) => items.iter().for_each(|i| walk(i, names, sealed)),
			serde_json::Value::Object(map) => map.values().for_each(|i| walk(i, names, sealed)),
			_ => {}
		}
	}
	let (mut names, mut sealed) = (Vec::new(), false);
	walk(config, &mut names, &mut sealed);
	(names, sealed)
}

/// The credential names placeholders in `text` refer to, in order.
pub fn placeholders(text: &str) -> impl Iterator<Item = &str> {
	text.split(MARK)
		.skip(1)
		.step_by(2)
		.filter_map(|part| part.strip_prefix("secret:"))
}

/// Where the engine gets plain secret values. The implementation decrypts with the server's
/// Fernet keys; a run without a server has none, and a step that needs a secret then fails.
#[async_trait]
pub trait SecretSource: Send + Sync {
	/// The plain value of credential `name` usable by `workflow` (one of its owner's).
	async fn credential(&self, workflow: WorkflowId, name: &str) -> Result<String, String>;
	/// The plain value of a sealed config value (`fernet:…`).
	fn unseal(&self, sealed: &str) -> Result<String, String>;
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn sensitive_fields_and_placeholders() {
		for k in [
			"password",
			"DB_PASSWORD",
			"client_secret",
			"api_key",
			"access_token",
		] {
			assert!(is_sensitive_field(k), "{k}");
		}
		for k in ["tokens", "passwordless", "secretary", "key", "url"] {
			assert!(!is_sensitive_field(k), "{k}");
		}
		let text = format!("Bearer {} and {}", placeholder("a"), placeholder("b_2"));
		assert_eq!(placeholders(&text).collect::<Vec<_>>(), ["a", "b_2"]);
		assert_eq!(placeholders("none").count(), 0);
	}
}
