//! The `file_operation` component. A crate of its own because parquet and arrow are heavy: only
//! the binary, which registers it, pays for them, and the engine and API build without them.
//!
//! Layout, one concept a file: [`roots`] decides which paths may be touched, `config` parses the
//! rendered config into typed requests, `formats` reads and writes records one at a time (so
//! `convert` streams), `ops` performs the six operations on a blocking thread, `component` is the
//! [`apg_core::Component`] seam with the config schema, and [`FilesError`] is the one error type.

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use apg_core::Registry;

mod component;
mod config;
mod error;
mod formats;
mod ops;
mod roots;

pub use component::FileOperation;
pub use error::FilesError;

/// The default cap on one output (4 MiB), under the engine's own `APG_MAX_OUTPUT_BYTES`.
pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 4 << 20;

/// Where files may be read and written (`components.files` in the server's configuration).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
	/// The roots: a relative path is under the first; an absolute one must lie inside one.
	pub roots: Vec<PathBuf>,
	/// The largest output (serialized JSON) a `read` or `list` may return; beyond it the step
	/// fails and says to read in pages with `offset`/`limit`.
	pub max_output_bytes: usize,
}

impl Default for Settings {
	fn default() -> Self {
		Self {
			roots: vec![PathBuf::from("./data/files"), std::env::temp_dir()],
			max_output_bytes: DEFAULT_MAX_OUTPUT_BYTES,
		}
	}
}

/// Adds this crate's components to `registry`.
pub fn register(registry: &mut Registry, settings: &Settings) {
	registry.register(Arc::new(FileOperation::new(settings)));
}
