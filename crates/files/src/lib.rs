//! The `file_operation` component. A crate of its own because parquet and arrow are heavy: only
//! the binary, which registers it, pays for them, and the engine and API build without them.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use apg_core::Registry;

/// Where files may be read and written (`components.files` in the server's configuration).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
	/// The roots: a relative path is under the first; an absolute one must lie inside one.
	pub roots: Vec<PathBuf>,
}

impl Default for Settings {
	fn default() -> Self {
		Self {
			roots: vec![PathBuf::from("./data/files"), std::env::temp_dir()],
		}
	}
}

/// Adds this crate's components to `registry`.
pub fn register(_registry: &mut Registry, _settings: &Settings) {}
