//! The `script_execution` component. A crate of its own because the JavaScript engine is heavy:
//! only the binary, which registers it, pays for it.

use serde::{Deserialize, Serialize};

use apg_core::Registry;

/// What scripts may do (`components.script` in the server's configuration).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
	/// Let scripts open network connections (off: no network at all).
	pub allow_network: bool,
}

/// Adds this crate's components to `registry`.
pub fn register(_registry: &mut Registry, _settings: &Settings) {}
