//! What the API does with secrets in a definition it is given: sealing sensitive fields (after
//! computing the hard-coded-secret warnings on what the user sent, and refusing when the policy
//! says so), and the limits of a sharee's edits, which must never widen their reach to the
//! owner's secrets.

use apg_core::validate;
use serde_json::Value;

use crate::error::ApiError;
use crate::state::AppState;

/// What someone with an update share may not do: a share lets them edit the workflow, not reach
/// its owner's secrets. So they may not make it read credentials it did not read, nor change a
/// component that holds secrets (pointing its URL elsewhere would send them there); they may
/// remove one.
pub(crate) fn sharee_may_save(before: &apg_core::Definition, after: &Value) -> Result<(), String> {
	let known = credentials_named(&before.to_value());
	let added: Vec<String> = credentials_named(after)
		.into_iter()
		.filter(|n| !known.contains(n))
		.collect();
	if !added.is_empty() {
		return Err(format!(
			"only the owner may make this workflow use more credentials ({})",
			added.join(", ")
		));
	}
	let components = after.get("components").and_then(Value::as_array);
	for old in &before.components {
		let config = Value::Object(old.config.clone());
		if apg_core::secrets::needs(&config).is_empty() {
			continue;
		}
		let new = components
			.into_iter()
			.flatten()
			.find(|c| c.get("id").and_then(Value::as_str) == Some(old.id.as_str()));
		if let Some(new) = new
			&& new.get("config") != Some(&config)
		{
			return Err(format!(
				"only the owner may change component '{}': it uses secrets",
				old.id
			));
		}
	}
	Ok(())
}

/// The credentials a definition reads as `{{secrets.<name>}}`.
fn credentials_named(definition: &Value) -> Vec<String> {
	let mut names = Vec::new();
	let components = definition.get("components").and_then(Value::as_array);
	for c in components.into_iter().flatten() {
		if let Some(config) = c.get("config") {
			for n in apg_core::secrets::needs(config).names {
				if !names.contains(&n) {
					names.push(n);
				}
			}
		}
	}
	names
}

/// Seals the sensitive fields of a definition and applies the hard-coded-secret policy: the
/// warnings are computed on what the user sent, before sealing hides it.
pub(crate) fn seal(
	state: &AppState,
	definition: &mut Value,
	previous: Option<&apg_core::Definition>,
) -> Result<Vec<apg_core::Issue>, ApiError> {
	let (_, report) = validate(definition, state.engine.registry());
	if !report.is_valid {
		return Err(ApiError::Unprocessable {
			message: "invalid definition".to_owned(),
			issues: report.errors,
		});
	}
	if state.security.config.reject_hardcoded_secrets && !report.warnings.is_empty() {
		return Err(ApiError::Unprocessable {
			message: "the definition contains hard-coded secrets: store them as credentials \
			          and use {{secrets.<name>}}"
				.to_owned(),
			issues: report.warnings,
		});
	}
	apg_auth::seal_definition(definition, previous, &state.security.keys);
	Ok(report.warnings)
}
