//! [`FilesError`], the crate's one error type, and its mapping to the engine's retry decision:
//! only an interrupted or timed-out IO call is worth another attempt; a missing file, a refused
//! path or bad data stays wrong however often it is retried.

use std::io;

use apg_core::ComponentError;

/// Why a file operation failed. Paths are shown relative to their root (or as the config gave
/// them when they lie outside every root), so errors never reveal the host's layout.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
	/// The config is unusable (a missing field, a bad value).
	#[error("{field}: {message}")]
	Config {
		/// The config field.
		field: String,
		/// What is wrong.
		message: String,
	},
	/// The path does not exist.
	#[error("{field}: '{path}' does not exist")]
	NotFound {
		/// The config field naming the path.
		field: &'static str,
		/// The path.
		path: String,
	},
	/// The operating system refused access.
	#[error("{field}: permission denied on '{path}'")]
	Permission {
		/// The config field naming the path.
		field: &'static str,
		/// The path.
		path: String,
	},
	/// The path (after resolving symbolic links) lies outside every configured root.
	#[error("{field}: '{path}' is outside the allowed file roots")]
	OutsideRoots {
		/// The config field naming the path.
		field: &'static str,
		/// The path.
		path: String,
	},
	/// The path is refused for another reason (`..`, a directory where a file is needed…).
	#[error("{field}: '{path}' {reason}")]
	BadPath {
		/// The config field naming the path.
		field: &'static str,
		/// The path.
		path: String,
		/// Why.
		reason: String,
	},
	/// The file's content (or the records to write) does not fit the format.
	#[error("{path}: {message}")]
	Data {
		/// The file.
		path: String,
		/// What is wrong and where (row, line).
		message: String,
	},
	/// The output would exceed `max_output_bytes`.
	#[error(
		"the output would exceed {limit} bytes (max_output_bytes); read in pages with offset \
		 and limit"
	)]
	OutputTooLarge {
		/// The limit.
		limit: usize,
	},
	/// The execution was cancelled or the attempt timed out while the file was being processed.
	#[error("cancelled")]
	Cancelled,
	/// Any other IO failure.
	#[error("{path}: {source}")]
	Io {
		/// The file.
		path: String,
		/// The cause.
		#[source]
		source: io::Error,
	},
}

impl FilesError {
	/// The error of an IO failure on `path` (named by `field`), typed by its kind.
	pub(crate) fn io(field: &'static str, path: &str, source: io::Error) -> Self {
		let path = path.to_owned();
		match source.kind() {
			io::ErrorKind::NotFound => Self::NotFound { field, path },
			io::ErrorKind::PermissionDenied => Self::Permission { field, path },
			// O_NOFOLLOW met a symbolic link: the path changed after it was checked.
			_ if source.raw_os_error() == Some(libc::ELOOP) => Self::BadPath {
				field,
				path,
				reason: "became a symbolic link after it was checked".to_owned(),
			},
			_ => Self::Io { path, source },
		}
	}

	/// A bad-config error.
	pub(crate) fn config(field: impl Into<String>, message: impl Into<String>) -> Self {
		Self::Config {
			field: field.into(),
			message: message.into(),
		}
	}

	/// Whether another attempt may succeed.
	pub fn is_retryable(&self) -> bool {
		match self {
			Self::Io { source, .. } => matches!(
				source.kind(),
				io::ErrorKind::Interrupted | io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
			),
			_ => false,
		}
	}
}

impl From<FilesError> for ComponentError {
	fn from(error: FilesError) -> Self {
		if error.is_retryable() {
			Self::Retryable(error.to_string())
		} else {
			Self::Fatal(error.to_string())
		}
	}
}
