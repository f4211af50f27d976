//! [`Settings`]: `components.connectors` in the server's configuration.

use serde::{Deserialize, Serialize};

/// The largest file of the per-user store by default (10 MiB, the default request body limit).
pub const DEFAULT_MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;

/// Settings of the connectors.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
	/// The remote APG endpoint of `apg_capability` (`https://apg.example.com`); `APG_BASE_URL`
	/// when unset.
	pub base_url: Option<String>,
	/// Sent to it as `Authorization: Bearer …`; `APG_API_KEY` when unset. Never serialized
	/// back out (configuration dumps).
	#[serde(skip_serializing)]
	pub api_key: Option<String>,
	/// The largest file a user may keep in their store (`apg_file_management`, `/files`).
	pub max_file_bytes: u64,
}

impl Default for Settings {
	fn default() -> Self {
		Self {
			base_url: None,
			api_key: None,
			max_file_bytes: DEFAULT_MAX_FILE_BYTES,
		}
	}
}

impl Settings {
	/// These settings with the environment's `APG_BASE_URL` and `APG_API_KEY` where the
	/// configuration gives none (the names the seed's `APGClient` reads).
	pub fn with_env(mut self) -> Self {
		let env = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
		self.base_url = self.base_url.or_else(|| env("APG_BASE_URL"));
		self.api_key = self.api_key.or_else(|| env("APG_API_KEY"));
		self
	}
}
