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

/// Config keys whose values are sealed at rest: a key that, lowercased and without `-` and `_`,
/// contains one of these (`password`, `DB_PASSWORD`, `clientSecret`, `X-API-Key`,
/// `access_token`, `Authorization`). Sealing too much costs only a `***` in responses; sealing
/// too little stores a secret in clear.
pub const SENSITIVE_FIELDS: &[&str] = &[
	"password",
	"passwd",
	"secret",
	"token",
	"apikey",
	"privatekey",
	"authorization",
	"credential",
];

/// Whether a config key names a sensitive field.
pub fn is_sensitive_field(key: &str) -> bool {
	let key: String = key
		.chars()
		.filter(|c| *c != '-' && *c != '_')
		.map(|c| c.to_ascii_lowercase())
		.collect();
	SENSITIVE_FIELDS.iter().any(|f| key.contains(f))
}

const MARK: char = '\u{1d}';

/// A random tag of this process, so a placeholder cannot be forged from outside (typed into a
/// parameter, say); it never leaves the process that renders and runs the step.
static NONCE: std::sync::LazyLock<String> =
	std::sync::LazyLock::new(|| uuid::Uuid::now_v7().simple().to_string());

/// The text a `{{secrets.<name>}}` renders to before the component runs.
pub fn placeholder(name: &str) -> String {
	format!("{MARK}secret:{}:{name}{MARK}", *NONCE)
}

/// What a step must be given before it runs: the credentials its config reads as
/// `secrets.<name>`, and the sealed values written in it. Only these are ever revealed for the
/// step, so a placeholder or a `fernet:` token that reaches it any other way (a parameter, an
/// upstream output, an HTTP response) is never decrypted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Needs {
	/// Credential names.
	pub names: Vec<String>,
	/// Sealed values, as written (`fernet:…`).
	pub sealed: Vec<String>,
}

impl Needs {
	/// Whether the step needs nothing.
	pub fn is_empty(&self) -> bool {
		self.names.is_empty() && self.sealed.is_empty()
	}
}

/// The [`Needs`] of a config.
pub fn needs(config: &serde_json::Value) -> Needs {
	fn walk(v: &serde_json::Value, out: &mut Needs) {
		match v {
			serde_json::Value::String(s) => {
				if s.starts_with(SEALED_PREFIX) && !out.sealed.contains(s) {
					out.sealed.push(s.clone());
				}
				if s.contains("secrets") && crate::expr::is_template(s) {
					for r in crate::expr::references(s).unwrap_or_default() {
						if let Some(name) = r.strip_prefix("secrets.")
							&& !out.names.iter().any(|n| n == name)
						{
							out.names.push(name.to_owned());
						}
					}
				}
			}
			serde_json::Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
			serde_json::Value::Object(map) => map.values().for_each(|i| walk(i, out)),
			_ => {}
		}
	}
	let mut out = Needs::default();
	walk(config, &mut out);
	out
}

/// The credential names placeholders in `text` refer to, in order (forged ones are skipped).
pub fn placeholders(text: &str) -> impl Iterator<Item = &str> {
	text.split(MARK).skip(1).step_by(2).filter_map(|part| {
		part.strip_prefix("secret:")?
			.strip_prefix(NONCE.as_str())?
			.strip_prefix(':')
	})
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
			"clientSecret",
			"api_key",
			"X-API-Key",
			"access_token",
			"Authorization",
			"private_key",
		] {
			assert!(is_sensitive_field(k), "{k}");
		}
		for k in ["key", "url", "headers", "sort_key", "message", "auth"] {
			assert!(!is_sensitive_field(k), "{k}");
		}
		let text = format!("Bearer {} and {}", placeholder("a"), placeholder("b_2"));
		assert_eq!(placeholders(&text).collect::<Vec<_>>(), ["a", "b_2"]);
		assert_eq!(placeholders("none").count(), 0);
		let forged = "\u{1d}secret:aws\u{1d} \u{1d}secret:0000:aws\u{1d}";
		assert_eq!(placeholders(forged).count(), 0);
	}
}
