//! The `script_execution` component. A crate of its own because the JavaScript engine is heavy:
//! only the binary, which registers it, pays for it.
//!
//! A step runs user code with limits on wall time, CPU time, memory, output and processes, and no
//! file, network, environment or process access beyond what [`Settings`] grants:
//!
//! - `language: javascript` runs in QuickJS on a blocking thread ([`js`]'s docs give the
//!   protocol and what the engine enforces);
//! - `language: python` runs python3 under bubblewrap with rlimits ([`python`]'s docs).
//!
//! Without the sandbox (no bubblewrap, user namespaces refused, no usable python) a step fails
//! closed with an error naming what is missing; nothing ever runs unsandboxed.

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use apg_core::Registry;

mod component;
mod error;
mod js;
mod limits;
mod logs;
mod python;

pub use component::{Language, ScriptExecution};
pub use error::ScriptError;
pub use limits::Limits;

/// What scripts may do (`components.script` in the server's configuration).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
	/// Let Python scripts open network connections (off: a network namespace of their own, with
	/// no interface but a downed loopback). JavaScript has no network API either way.
	pub allow_network: bool,
	/// Paths Python scripts may read (bound read-only at the same place); none by default. When
	/// the server runs as root they must be readable by the sandbox uids (world-readable).
	pub readable_paths: Vec<PathBuf>,
	/// The Python interpreter; by default `/usr/bin/python3`, else `python3` on `PATH`. Resolved
	/// once, outside the sandbox, to the real binary (past wrappers such as pyenv shims).
	pub python: Option<PathBuf>,
	/// The bubblewrap binary, a path or a name looked up on `PATH`.
	pub bwrap: PathBuf,
	/// The first uid scripts run as when the server runs as root (the kernel does not apply the
	/// process limit to root). Each Python sandbox running at once takes its own uid from
	/// `sandbox_uid .. sandbox_uid + sandbox_uids`, because the process limit counts per uid. The
	/// default range, from 2,000,000,000, belongs to no account on a usual system.
	pub sandbox_uid: u32,
	/// How many uids, and so how many Python sandboxes may run at once (more wait).
	pub sandbox_uids: u32,
	/// The gid of the sandboxes (nogroup by default).
	pub sandbox_gid: u32,
	/// The limits of a step that sets none.
	pub defaults: Limits,
	/// The most a step may ask for.
	pub maximum: Limits,
}

impl Default for Settings {
	fn default() -> Self {
		Self {
			allow_network: false,
			readable_paths: Vec::new(),
			python: None,
			bwrap: PathBuf::from("bwrap"),
			sandbox_uid: 2_000_000_000,
			sandbox_uids: 64,
			sandbox_gid: 65534,
			defaults: Limits::default(),
			maximum: Limits {
				wall_time_seconds: 300,
				cpu_time_seconds: 120,
				memory_mb: 2048,
				max_output_bytes: 16 * 1024 * 1024,
				max_processes: 64,
			},
		}
	}
}

/// Adds this crate's components to `registry`.
pub fn register(registry: &mut Registry, settings: &Settings) {
	registry.register(Arc::new(ScriptExecution::new(settings)));
}
