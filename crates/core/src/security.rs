//! Security warnings on a definition: the seed's `validate_workflow_security` rules (a sensitive
//! key holding a literal longer than 8 characters; unsafe operations in scripts) plus the shapes
//! of real credentials anywhere in a config (AWS access keys, GitHub tokens, private-key blocks,
//! passwords in URLs). These are warnings: the definition is still valid.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::definition::Definition;
use crate::validate::Issue;

const SENSITIVE_KEYS: &[&str] = &["password", "secret", "key", "token", "credential"];

const UNSAFE_SCRIPT: &[&str] = &[
	"eval(",
	"exec(",
	"import os",
	"import subprocess",
	"import sys",
	"__import__",
	"open(",
	"file(",
	"input(",
	"raw_input(",
];

static TOKEN_SHAPES: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
	[
		("an AWS access key", r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
		(
			"a GitHub token",
			r"\b(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}\b",
		),
		(
			"a GitHub fine-grained token",
			r"\bgithub_pat_[A-Za-z0-9_]{22,}\b",
		),
		("a private key", r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
		(
			"a password in a URL",
			r"[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@{}]+:[^/\s@{}]+@",
		),
		("a Slack token", r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
	]
	.into_iter()
	.map(|(name, pattern)| (name, Regex::new(pattern).expect("static pattern")))
	.collect()
});

/// Returns the security warnings of a definition, each with a path.
pub fn scan(def: &Definition) -> Vec<Issue> {
	let mut warnings = Vec::new();
	for (i, c) in def.components.iter().enumerate() {
		let path = format!("definition.components[{i}].config");
		for (key, value) in &c.config {
			scan_value(&c.id, key, value, &format!("{path}.{key}"), &mut warnings);
		}
		if c.kind == "script_execution"
			&& let Some(script) = c.config.get("script").and_then(Value::as_str)
		{
			let lower = script.to_lowercase();
			if UNSAFE_SCRIPT.iter().any(|p| lower.contains(p)) {
				warnings.push(Issue::new(
					format!("{path}.script"),
					format!(
						"Component {} contains potentially unsafe script operations",
						c.id
					),
				));
			}
		}
	}
	warnings
}

fn scan_value(component: &str, key: &str, value: &Value, path: &str, out: &mut Vec<Issue>) {
	match value {
		Value::String(s) => {
			if looks_like_secret(key, s) {
				out.push(Issue::new(
					path,
					format!("Component {component} may contain hardcoded secret in '{key}'"),
				));
			} else if let Some((name, _)) = TOKEN_SHAPES.iter().find(|(_, re)| re.is_match(s)) {
				out.push(Issue::new(
					path,
					format!("Component {component} contains what looks like {name}"),
				));
			}
		}
		Value::Array(items) => {
			for (i, item) in items.iter().enumerate() {
				scan_value(component, key, item, &format!("{path}[{i}]"), out);
			}
		}
		Value::Object(map) => {
			for (k, v) in map {
				scan_value(component, k, v, &format!("{path}.{k}"), out);
			}
		}
		_ => {}
	}
}

/// The seed's `_contains_potential_secret`.
fn looks_like_secret(key: &str, value: &str) -> bool {
	let key = key.to_lowercase();
	SENSITIVE_KEYS.iter().any(|s| key.contains(s))
		&& value.len() > 8
		&& !value.starts_with("{{")
		&& !value.starts_with("${")
		&& !value.starts_with(crate::secrets::SEALED_PREFIX)
}

#[cfg(test)]
mod tests {
	use serde_json::json;

	use super::*;

	fn warnings_for(config: Value) -> Vec<Issue> {
		let (def, _) = Definition::parse(
			&json!({"components": [{"id": "c", "type": "task", "config": config}]}),
		);
		scan(&def)
	}

	#[test]
	fn hard_coded_secrets_and_token_shapes_are_flagged() {
		assert_eq!(warnings_for(json!({"api_token": "abcdefghijkl"})).len(), 1);
		assert_eq!(
			warnings_for(json!({"note": "AKIAIOSFODNN7EXAMPLE"})).len(),
			1
		);
		assert_eq!(
			warnings_for(json!({"url": "https://bob:hunter2@example.com/x"})).len(),
			1
		);
		assert_eq!(
			warnings_for(json!({"pem": "-----BEGIN RSA PRIVATE KEY-----\nabc"})).len(),
			1
		);
		assert_eq!(
			warnings_for(json!({"gh": format!("ghp_{}", "a".repeat(36))})).len(),
			1
		);
	}

	#[test]
	fn templated_secrets_are_not_flagged() {
		assert!(
			warnings_for(json!({"password": "{{ secrets.db }}", "url": "https://example.com"}))
				.is_empty()
		);
	}
}
