//! The one error type of the edge and its mapping to DESIGN §5's envelope:
//! `{"success": false, "error", "category", "user_message", "details", "recoverable",
//! "retry_suggested"}` (the seed's `WorkflowErrorHandler` categories). A 5xx is logged with its
//! cause and sent without it.

use apg_core::Issue;
use apg_engine::EngineError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
	/// Malformed or ill-typed input (400).
	#[error("{message}")]
	BadRequest {
		/// What is wrong.
		message: String,
		/// Each problem with its path.
		issues: Vec<Issue>,
	},
	/// Well-formed input that breaks the rules, such as an invalid definition (422).
	#[error("{message}")]
	Unprocessable {
		/// What is wrong.
		message: String,
		/// Each problem with its path.
		issues: Vec<Issue>,
	},
	/// No valid credentials (401).
	#[error("{0}")]
	Unauthorized(String),
	/// Authenticated but not allowed (403).
	#[error("{0}")]
	Forbidden(String),
	/// A secret cannot be decrypted: tampered, or sealed with a key we do not hold (422).
	#[error("{0}")]
	Crypto(String),
	/// The resource does not exist (404).
	#[error("{0} not found")]
	NotFound(String),
	/// The request conflicts with the current state (409).
	#[error("{0}")]
	Conflict(String),
	/// The body is larger than allowed (413).
	#[error("the request body is too large")]
	TooLarge,
	/// The request took longer than the server allows (408).
	#[error("the request took longer than {0} s")]
	TimedOut(u64),
	/// Too many requests or connections (429).
	#[error("{0}")]
	TooMany(String),
	/// A failure of ours (500); the cause is logged, not sent.
	#[error("internal error")]
	Internal(String),
}

impl ApiError {
	/// A 400 with one problem.
	pub fn bad_request(path: &str, message: impl Into<String>) -> Self {
		let message = message.into();
		Self::BadRequest {
			issues: vec![Issue::new(path, message.clone())],
			message,
		}
	}

	fn parts(&self) -> (StatusCode, &'static str, &'static str, bool, bool) {
		match self {
			Self::BadRequest { .. } => (
				StatusCode::BAD_REQUEST,
				"validation",
				"The provided data is invalid. Please check your input.",
				true,
				false,
			),
			Self::Unprocessable { .. } => (
				StatusCode::UNPROCESSABLE_ENTITY,
				"validation",
				"The provided data is invalid. Please check your input.",
				true,
				false,
			),
			Self::Unauthorized(_) => (
				StatusCode::UNAUTHORIZED,
				"security",
				"Please sign in: the request carries no valid token or API key.",
				true,
				false,
			),
			Self::Forbidden(_) => (
				StatusCode::FORBIDDEN,
				"security",
				"You do not have permission to do this.",
				false,
				false,
			),
			Self::Crypto(_) => (
				StatusCode::UNPROCESSABLE_ENTITY,
				"security",
				"A stored secret cannot be decrypted with the configured keys.",
				false,
				false,
			),
			Self::NotFound(_) => (
				StatusCode::NOT_FOUND,
				"not_found",
				"The requested resource does not exist.",
				false,
				false,
			),
			Self::Conflict(_) => (
				StatusCode::CONFLICT,
				"conflict",
				"The request conflicts with the current state of the resource.",
				true,
				false,
			),
			Self::TooLarge => (
				StatusCode::PAYLOAD_TOO_LARGE,
				"validation",
				"The request is too large.",
				true,
				false,
			),
			Self::TimedOut(_) => (
				StatusCode::REQUEST_TIMEOUT,
				"performance",
				"The request took too long. Please try again.",
				true,
				true,
			),
			Self::TooMany(_) => (
				StatusCode::TOO_MANY_REQUESTS,
				"performance",
				"Too many requests. Please try again later.",
				true,
				true,
			),
			Self::Internal(_) => (
				StatusCode::INTERNAL_SERVER_ERROR,
				"system",
				"An unexpected error occurred. Please contact support if the problem persists.",
				false,
				false,
			),
		}
	}
}

impl From<EngineError> for ApiError {
	fn from(e: EngineError) -> Self {
		match e {
			EngineError::Invalid(issues) => {
				let message = format!(
					"invalid: {}",
					issues
						.iter()
						.map(ToString::to_string)
						.collect::<Vec<_>>()
						.join("; ")
				);
				Self::Unprocessable { message, issues }
			}
			EngineError::NotFound(what) => Self::NotFound(what),
			EngineError::Conflict(message) => Self::Conflict(message),
			EngineError::Store(e) => Self::Internal(e.to_string()),
			EngineError::Stopped => Self::Internal("the engine has stopped".to_owned()),
		}
	}
}

impl From<apg_auth::AuthError> for ApiError {
	fn from(e: apg_auth::AuthError) -> Self {
		use apg_auth::AuthError as A;
		match e {
			A::Unauthenticated(m) => Self::Unauthorized(m),
			A::Forbidden(m) => Self::Forbidden(m),
			A::NotFound(what) => Self::NotFound(what),
			A::TooManyAttempts(_) => Self::TooMany(e.to_string()),
			A::Limit(m) => Self::TooMany(m),
			A::Invalid { field, message } => Self::bad_request(&field, message),
			A::Conflict(m) => Self::Conflict(m),
			A::Crypto(m) => Self::Crypto(m),
			A::Store(e) => e.into(),
		}
	}
}

impl From<apg_auth::SealRefusal> for ApiError {
	fn from(e: apg_auth::SealRefusal) -> Self {
		Self::Unprocessable {
			message: e.message().to_owned(),
			issues: e.issues(),
		}
	}
}

impl From<apg_core::store::StoreError> for ApiError {
	fn from(e: apg_core::store::StoreError) -> Self {
		EngineError::from(e).into()
	}
}

impl IntoResponse for ApiError {
	fn into_response(self) -> Response {
		let (status, category, user_message, recoverable, retry_suggested) = self.parts();
		let details = match &self {
			Self::BadRequest { issues, .. } | Self::Unprocessable { issues, .. } => json!(issues),
			_ => Value::Null,
		};
		let error = match &self {
			Self::Internal(cause) => {
				tracing::error!(%cause, "internal error");
				"internal error".to_owned()
			}
			other => other.to_string(),
		};
		let body = json!({
			"success": false,
			"error": error,
			"category": category,
			"user_message": user_message,
			"details": details,
			"recoverable": recoverable,
			"retry_suggested": retry_suggested,
		});
		let mut response = (status, Json(body)).into_response();
		if status == StatusCode::UNAUTHORIZED {
			response.headers_mut().insert(
				axum::http::header::WWW_AUTHENTICATE,
				axum::http::HeaderValue::from_static("Bearer"),
			);
		}
		response
	}
}

/// The fallback: unknown paths get the envelope too.
pub(crate) async fn not_found() -> ApiError {
	ApiError::NotFound("route".to_owned())
}

/// Errors answered by layers rather than handlers (the body limit's 413, the timeout's 408)
/// get the envelope too, instead of the layer's plain text or empty body.
pub(crate) async fn envelope_layer_errors(response: Response) -> Response {
	let json = response
		.headers()
		.get(axum::http::header::CONTENT_TYPE)
		.is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
	if json {
		return response;
	}
	match response.status() {
		StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge.into_response(),
		StatusCode::REQUEST_TIMEOUT => ApiError::TimedOut(REQUEST_TIMEOUT_SECONDS).into_response(),
		_ => response,
	}
}

/// How long one request may take (the timeout layer's limit).
pub(crate) const REQUEST_TIMEOUT_SECONDS: u64 = 60;

/// A panicking handler becomes a logged 500 in the envelope; the server keeps running.
pub(crate) fn panic_response(cause: Box<dyn std::any::Any + Send + 'static>) -> Response {
	let text = cause
		.downcast_ref::<String>()
		.cloned()
		.or_else(|| cause.downcast_ref::<&str>().map(|s| (*s).to_owned()))
		.unwrap_or_else(|| "unknown panic".to_owned());
	ApiError::Internal(format!("handler panicked: {text}")).into_response()
}
