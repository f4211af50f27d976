//! The errors of this crate: [`FileError`] of the per-user file store, which the API maps to
//! its envelope and the connector to a step error; the connectors themselves fail with
//! [`apg_core::ComponentError`] through the helpers here.

use apg_core::ComponentError;

/// Why a file operation failed.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
	/// The name is not a plain file name.
	#[error("invalid file name '{name}': {why}")]
	InvalidName {
		/// The name given.
		name: String,
		/// What is wrong with it.
		why: &'static str,
	},
	/// No such file in this user's store.
	#[error("file '{0}' not found")]
	NotFound(String),
	/// Larger than the store allows.
	#[error("the file is {size} bytes; at most {max} are stored")]
	TooLarge {
		/// Its size.
		size: u64,
		/// The limit.
		max: u64,
	},
	/// The disk failed.
	#[error("file store: {0}")]
	Io(#[from] std::io::Error),
}

impl From<FileError> for ComponentError {
	fn from(e: FileError) -> Self {
		match e {
			FileError::Io(_) => ComponentError::Retryable(e.to_string()),
			_ => ComponentError::Fatal(e.to_string()),
		}
	}
}

/// A failure another attempt cannot fix.
pub(crate) fn fatal(message: impl Into<String>) -> ComponentError {
	ComponentError::Fatal(message.into())
}

/// A failure of a service (the store, a peer) that may pass.
pub(crate) fn retryable(message: impl std::fmt::Display) -> ComponentError {
	ComponentError::Retryable(message.to_string())
}

/// A security refusal or bad input from apg-auth, with the operation it stopped.
pub(crate) fn refused(operation: &str, e: apg_auth::AuthError) -> ComponentError {
	match e {
		apg_auth::AuthError::Store(s) => retryable(format!("{operation}: {s}")),
		other => fatal(format!("{operation}: {other}")),
	}
}
