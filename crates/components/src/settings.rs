//! [`Settings`]: what the server's configuration tells this crate's components
//! (`components.*` in `config.yaml`), so a component reads no environment of its own and a test
//! can build one with exactly the settings it needs.

use serde::{Deserialize, Serialize};

/// Settings of the components in this crate.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
// Flattened into the binary's `components:` beside other crates' sections, so unknown keys are
// not refused here (serde cannot refuse them through `flatten`).
#[serde(default)]
pub struct Settings {
	/// Hosts or IP addresses `http_request` may reach although they are internal (`*`: all);
	/// `APG_HTTP_ALLOW`, comma-separated.
	pub http_allow: Vec<String>,
}

impl Settings {
	/// The settings a process without a configuration file gets: `APG_HTTP_ALLOW`.
	pub fn from_env() -> Self {
		let allow = std::env::var("APG_HTTP_ALLOW").unwrap_or_default();
		Self {
			http_allow: allow.split(',').map(str::to_owned).collect(),
		}
	}
}
