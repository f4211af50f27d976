//! Which Python runs scripts: resolved once, outside the sandbox, to the real interpreter and its
//! prefix. A pyenv shim (`~/.pyenv/shims/python3`) is a shell script that needs `$HOME` and
//! pyenv, neither of which exists in the sandbox; asking the interpreter for `sys.executable`
//! gets past any such wrapper, and its `sys.base_prefix` is what must be bound read-only.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use crate::error::ScriptError;

/// The interpreter used when none is configured and `/usr/bin/python3` is missing.
const ON_PATH: &str = "python3";

/// The system interpreter, preferred: it lives under `/usr`, which the sandbox binds anyway.
const SYSTEM: &str = "/usr/bin/python3";

/// A resolved interpreter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Interpreter {
	/// The binary to run inside the sandbox.
	pub(crate) executable: PathBuf,
	/// Its installation prefix (the standard library is under it).
	pub(crate) prefix: PathBuf,
}

/// Resolves `configured` (or the default) to the real interpreter.
pub(crate) async fn resolve(configured: Option<&Path>) -> Result<Interpreter, ScriptError> {
	let candidate = match configured {
		Some(path) => path.to_path_buf(),
		None if Path::new(SYSTEM).exists() => PathBuf::from(SYSTEM),
		None => PathBuf::from(ON_PATH),
	};
	let unusable = |why: String| {
		ScriptError::SandboxUnavailable(format!(
			"the Python interpreter `{}` is not usable ({why}); install python3 or set \
			 components.script.python",
			candidate.display()
		))
	};
	// Run with the server's environment: a wrapper such as a pyenv shim needs it, and this
	// runs the operator's configured binary, never user code.
	let probe = Command::new(&candidate)
		.args([
			"-I",
			"-c",
			"import sys; print(sys.executable); print(sys.base_prefix)",
		])
		.stdin(Stdio::null())
		.stderr(Stdio::null())
		.kill_on_drop(true)
		.output();
	let out = tokio::time::timeout(Duration::from_secs(10), probe)
		.await
		.map_err(|_| unusable("it did not answer within 10 s".into()))?
		.map_err(|e| unusable(e.to_string()))?;
	if !out.status.success() {
		return Err(unusable(format!("it exited with {}", out.status)));
	}
	let text = String::from_utf8_lossy(&out.stdout);
	let mut lines = text.lines();
	let (Some(executable), Some(prefix)) = (lines.next(), lines.next()) else {
		return Err(unusable(
			"it did not print its executable and prefix".into(),
		));
	};
	let executable = std::fs::canonicalize(executable).map_err(|e| unusable(e.to_string()))?;
	let prefix = std::fs::canonicalize(prefix).map_err(|e| unusable(e.to_string()))?;
	Ok(Interpreter { executable, prefix })
}
