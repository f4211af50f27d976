//! The one error type of the domain crate: input that cannot be parsed into a domain value.

use crate::validate::Issue;

/// Errors raised while turning outside input into domain values.
#[derive(Debug, thiserror::Error)]
pub enum Error {
	/// The input breaks one or more rules; every problem is listed with its path.
	#[error("invalid input: {}", summary(.0))]
	Invalid(Vec<Issue>),
	/// An expression could not be compiled or evaluated.
	#[error("expression error: {0}")]
	Expression(String),
	/// A stored value could not be decoded (a bug or a corrupted store).
	#[error("corrupt stored value: {0}")]
	Corrupt(String),
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
	/// A single-problem validation error.
	pub fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
		Self::Invalid(vec![Issue::new(path, message)])
	}
}

fn summary(issues: &[Issue]) -> String {
	issues
		.iter()
		.map(Issue::to_string)
		.collect::<Vec<_>>()
		.join("; ")
}
