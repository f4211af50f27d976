//! Errors of the GraphQL API: every failure becomes an [`async_graphql::Error`] whose
//! `extensions` carry the category of the REST envelope (`validation`, `security`, `not_found`,
//! `conflict`, `performance`, `system`) and, where there are any, `details` (for validation, the
//! list of `{path, message}` problems).
//!
//! All engine and store errors go through [`engine_error`], and all security errors through
//! [`auth_error`]: the places that decide what a client may see. A store failure is logged with
//! `tracing::error!` and answered with "internal error", never with the backend's text; a
//! resource the caller may not see is `not_found`, exactly like one that does not exist.
//! `async_graphql::Error` converts from any `Display` type, so `?` on an engine, store or guard
//! result would bypass these rules: resolvers use [`IntoGql::gql`] instead.

use apg_auth::AuthError;
use apg_core::Issue;
use apg_core::store::StoreError;
use apg_engine::EngineError;
use async_graphql::{Error, ErrorExtensions};
use serde_json::{Value, json};

/// The result type of resolvers.
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

/// An error with a category and optional details in its extensions.
pub(crate) fn categorized(message: impl Into<String>, category: &str, details: Value) -> Error {
	let category = category.to_owned();
	let details = async_graphql::Value::from_json(details).unwrap_or(async_graphql::Value::Null);
	Error::new(message).extend_with(move |_, ext| {
		ext.set("category", category.as_str());
		if details != async_graphql::Value::Null {
			ext.set("details", details.clone());
		}
	})
}

/// A validation error listing every problem, each with its path.
pub(crate) fn invalid(issues: &[Issue]) -> Error {
	let message = issues
		.iter()
		.map(ToString::to_string)
		.collect::<Vec<_>>()
		.join("; ");
	rejected(format!("invalid: {message}"), issues)
}

/// A validation error with its own message, listing the problems (each with its path) in
/// `details`.
pub(crate) fn rejected(message: impl Into<String>, issues: &[Issue]) -> Error {
	let details: Vec<Value> = issues
		.iter()
		.map(|i| json!({"path": i.path, "message": i.message}))
		.collect();
	categorized(message, "validation", Value::Array(details))
}

/// A validation error with one problem.
pub(crate) fn invalid_one(path: &str, message: impl Into<String>) -> Error {
	invalid(&[Issue::new(path, message)])
}

/// A not-found error for `what` (for example `workflow 0190…`).
pub(crate) fn not_found(what: impl std::fmt::Display) -> Error {
	categorized(format!("{what} not found"), "not_found", Value::Null)
}

/// Maps an engine error to a GraphQL error. Store failures are logged, not shown.
pub(crate) fn engine_error(e: EngineError) -> Error {
	match e {
		EngineError::Invalid(issues) => invalid(&issues),
		EngineError::NotFound(what) => not_found(what),
		EngineError::Conflict(message) => {
			categorized(format!("conflict: {message}"), "conflict", Value::Null)
		}
		EngineError::Store(e) => {
			tracing::error!(error = %e, "GraphQL request failed in the store");
			categorized("internal error", "system", Value::Null)
		}
		EngineError::Stopped => categorized("the engine has stopped", "system", Value::Null),
	}
}

/// Maps a security error to a GraphQL error, as REST maps it to a status: no credentials, not
/// allowed and undecryptable secrets are `security`; a resource the caller may not see is
/// `not_found` (existence does not leak).
pub(crate) fn auth_error(e: AuthError) -> Error {
	match e {
		AuthError::Unauthenticated(m) | AuthError::Forbidden(m) | AuthError::Crypto(m) => {
			categorized(m, "security", Value::Null)
		}
		AuthError::NotFound(what) => not_found(what),
		AuthError::TooManyAttempts(seconds) => categorized(
			e.to_string(),
			"performance",
			json!({"retry_after_seconds": seconds}),
		),
		AuthError::Limit(m) => categorized(m, "performance", Value::Null),
		AuthError::Invalid { field, message } => invalid_one(&field, message),
		AuthError::Conflict(message) => {
			categorized(format!("conflict: {message}"), "conflict", Value::Null)
		}
		AuthError::Store(e) => engine_error(e.into()),
	}
}

/// Converts engine, store and security results into resolver results through [`engine_error`]
/// and [`auth_error`].
pub(crate) trait IntoGql<T> {
	/// The result with its error mapped.
	fn gql(self) -> Result<T>;
}

impl<T> IntoGql<T> for std::result::Result<T, EngineError> {
	fn gql(self) -> Result<T> {
		self.map_err(engine_error)
	}
}

impl<T> IntoGql<T> for std::result::Result<T, StoreError> {
	fn gql(self) -> Result<T> {
		self.map_err(|e| engine_error(e.into()))
	}
}

impl<T> IntoGql<T> for std::result::Result<T, AuthError> {
	fn gql(self) -> Result<T> {
		self.map_err(auth_error)
	}
}
