//! [`ScriptError`]: every way a script step fails, in one enum, so the messages users read are
//! written once and each maps to the engine's retry decision in one place.

use apg_core::ComponentError;

/// Why a script step failed.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
	/// The sandbox cannot be set up: the step fails closed and never runs unsandboxed.
	#[error("sandbox unavailable: {0}")]
	SandboxUnavailable(String),
	/// The wall-time limit passed.
	#[error("script timed out after {0} s (wall time)")]
	Timeout(u64),
	/// The CPU-time limit passed.
	#[error("script exceeded its CPU time limit of {0} s")]
	CpuTime(u64),
	/// The memory limit was reached.
	#[error("script exceeded its memory limit of {0} MB")]
	Memory(u64),
	/// Too many processes: a fork bomb, or a script that spawns more than allowed.
	#[error("script exceeded its process limit ({0})")]
	Processes(String),
	/// The step was cancelled (the execution was cancelled, or the engine's own timeout).
	#[error("script cancelled")]
	Cancelled,
	/// The result or the logs were larger than allowed.
	#[error("script output exceeds {0} bytes")]
	OutputTooLarge(usize),
	/// The script raised or threw.
	#[error("script error{}: {message}", line.map(|l| format!(" at line {l}")).unwrap_or_default())]
	Exception {
		/// The exception's type and message.
		message: String,
		/// The line in the user's code, when known.
		line: Option<u32>,
	},
	/// The script's result is not JSON.
	#[error("script output is not JSON: {0}")]
	BadOutput(String),
	/// The script ended abnormally (a signal, a crash) without reporting a result.
	#[error("script ended abnormally: {0}")]
	Crashed(String),
	/// The config is unusable (an unknown language, a limit over the server maximum).
	#[error("{0}")]
	Config(String),
}

impl From<ScriptError> for ComponentError {
	fn from(e: ScriptError) -> Self {
		// Nothing a script does gets better by running it again with the same code and input,
		// so every failure is fatal; a missing sandbox needs an operator, not a retry.
		ComponentError::Fatal(e.to_string())
	}
}
