//! Sealing sensitive config fields at rest and masking them on the way out.
//!
//! When a definition is saved, every string under a sensitive key (see
//! [`apg_core::secrets::is_sensitive_field`]) that is not a template is replaced by
//! `fernet:<token>`. Responses show `***` instead. A client that reads a definition and writes
//! it back sends `***`: that means "unchanged", and the sealed value of the same component and
//! key in the stored definition is kept.
//!
//! Who may *use* a sealed value is not decided here but by the version's author
//! (`apg_core::secrets_allowed`).

use serde_json::Value;

use apg_core::Definition;
use apg_core::secrets::{MASK, SEALED_PREFIX, is_sensitive_field};

use crate::keyring::Keyring;

/// Seals the sensitive fields of a definition (as JSON, before it is parsed). `previous` is the
/// stored definition when this one replaces it.
pub fn seal_definition(definition: &mut Value, previous: Option<&Definition>, keys: &Keyring) {
	let Some(components) = definition
		.get_mut("components")
		.and_then(Value::as_array_mut)
	else {
		return;
	};
	for component in components {
		let id = component
			.get("id")
			.and_then(Value::as_str)
			.map(str::to_owned);
		let before = id
			.as_deref()
			.and_then(|id| previous.and_then(|p| p.components.iter().find(|c| c.id == id)));
		let before = before.map(|c| Value::Object(c.config.clone()));
		if let Some(config) = component.get_mut("config") {
			seal(config, before.as_ref(), false, keys);
		}
	}
}

fn seal(value: &mut Value, before: Option<&Value>, sensitive: bool, keys: &Keyring) {
	match value {
		Value::String(s) if sensitive => {
			if s == MASK {
				if let Some(Value::String(old)) = before
					&& old.starts_with(SEALED_PREFIX)
				{
					*s = old.clone();
				}
			} else if s.contains("{{") {
				// A template (a credential or a parameter): nothing secret is written here.
			} else if s.starts_with(SEALED_PREFIX)
				&& before.and_then(Value::as_str) == Some(s.as_str())
			{
				// Unchanged from the stored definition.
			} else if !s.is_empty() {
				// Anything else is sealed as written, a `fernet:` token included: a token copied
				// from elsewhere (another user's workflow) must never be decrypted for this one.
				*s = format!("{SEALED_PREFIX}{}", keys.encrypt(s));
			}
		}
		Value::Array(items) => {
			for (i, item) in items.iter_mut().enumerate() {
				seal(item, before.and_then(|b| b.get(i)), sensitive, keys);
			}
		}
		Value::Object(map) => {
			for (k, v) in map.iter_mut() {
				let nested = sensitive || is_sensitive_field(k);
				seal(v, before.and_then(|b| b.get(k)), nested, keys);
			}
		}
		_ => {}
	}
}

/// Replaces every sealed value in `value` with `***`.
pub fn mask_value(value: &mut Value) {
	match value {
		Value::String(s) if s.starts_with(SEALED_PREFIX) => *s = MASK.to_owned(),
		Value::Array(items) => items.iter_mut().for_each(mask_value),
		Value::Object(map) => map.values_mut().for_each(mask_value),
		_ => {}
	}
}

/// Masks the sealed values of a parsed definition.
pub fn mask_definition(definition: &mut Definition) {
	for c in &mut definition.components {
		c.config.values_mut().for_each(mask_value);
	}
}

#[cfg(test)]
mod tests {
	use serde_json::json;

	use super::*;

	#[test]
	fn seals_masks_and_keeps_unchanged_values() {
		let keys = Keyring::from_keys(&Keyring::generate_key()).unwrap();
		let mut def = json!({"components": [{"id": "a", "type": "http_request", "config": {
			"url": "https://x", "password": "hunter22", "auth": {"client_secret": "abc"},
			"token": "{{secrets.api}}", "headers": [{"api_key": "k1"}]}}]});
		seal_definition(&mut def, None, &keys);
		let cfg = &def["components"][0]["config"];
		let sealed = cfg["password"].as_str().unwrap().to_owned();
		assert!(sealed.starts_with(SEALED_PREFIX));
		assert_eq!(
			keys.decrypt(&sealed[SEALED_PREFIX.len()..]).unwrap(),
			"hunter22"
		);
		assert!(
			cfg["auth"]["client_secret"]
				.as_str()
				.unwrap()
				.starts_with(SEALED_PREFIX)
		);
		assert!(
			cfg["headers"][0]["api_key"]
				.as_str()
				.unwrap()
				.starts_with(SEALED_PREFIX)
		);
		assert_eq!(cfg["token"], "{{secrets.api}}");
		assert_eq!(cfg["url"], "https://x");
		assert!(!def.to_string().contains("hunter22"));

		let mut shown = def.clone();
		mask_value(&mut shown);
		assert_eq!(shown["components"][0]["config"]["password"], MASK);
		let previous: Definition = serde_json::from_value(def.clone()).unwrap();
		seal_definition(&mut shown, Some(&previous), &keys);
		assert_eq!(
			shown["components"][0]["config"]["password"],
			sealed.as_str()
		);
	}
}
