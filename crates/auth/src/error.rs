//! The one error of this crate; the HTTP edge maps it to 401/403/404/409/422/429.

use apg_core::store::StoreError;

/// Why a security operation did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
	/// No valid credentials: missing, malformed, expired, revoked or signed by another key.
	#[error("{0}")]
	Unauthenticated(String),
	/// Authenticated, allowed to see the resource, not allowed to do this.
	#[error("{0}")]
	Forbidden(String),
	/// The resource does not exist, or the caller may not know it does.
	#[error("{0} not found")]
	NotFound(String),
	/// Too many login attempts; retry after this many seconds.
	#[error("too many login attempts; try again in {0} s")]
	TooManyAttempts(u64),
	/// A limit was reached (connections per user…).
	#[error("{0}")]
	Limit(String),
	/// Bad input (a weak password, a malformed username, an unknown role…).
	#[error("{field}: {message}")]
	Invalid {
		/// Where.
		field: String,
		/// What is wrong.
		message: String,
	},
	/// A uniqueness rule was broken.
	#[error("{0}")]
	Conflict(String),
	/// A secret could not be decrypted (tampered token, wrong or missing key).
	#[error("{0}")]
	Crypto(String),
	/// The store failed.
	#[error(transparent)]
	Store(StoreError),
}

impl AuthError {
	/// Bad input at `field`.
	pub fn invalid(field: &str, message: impl Into<String>) -> Self {
		Self::Invalid {
			field: field.to_owned(),
			message: message.into(),
		}
	}
}

impl From<StoreError> for AuthError {
	fn from(e: StoreError) -> Self {
		match e {
			StoreError::Conflict(m) => Self::Conflict(m),
			other => Self::Store(other),
		}
	}
}
