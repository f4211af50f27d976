//! The engine's error type.

use apg_core::Issue;
use apg_core::store::StoreError;

/// Why an engine operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
	/// The input is invalid; every problem is listed.
	#[error("invalid: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
	Invalid(Vec<Issue>),
	/// The workflow, version or execution does not exist.
	#[error("{0} not found")]
	NotFound(String),
	/// The request conflicts with the current state (a duplicate name, cancelling a finished
	/// execution, resuming one that is not paused).
	#[error("conflict: {0}")]
	Conflict(String),
	/// The store failed.
	#[error(transparent)]
	Store(StoreError),
	/// The engine has stopped.
	#[error("the engine has stopped")]
	Stopped,
}

impl From<StoreError> for EngineError {
	fn from(e: StoreError) -> Self {
		match e {
			StoreError::Conflict(m) => Self::Conflict(m),
			StoreError::Dangling(m) => Self::NotFound(m),
			other => Self::Store(other),
		}
	}
}

/// Shorthand for engine results.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;
