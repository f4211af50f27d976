//! Extractors that turn every kind of bad input into the envelope: a JSON body (malformed,
//! wrong content type, too deep, too large), query strings, and path ids (a malformed id is
//! simply an id that does not exist: 404).

use std::str::FromStr;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;

/// A JSON body as a `Value`, checked for content type and syntax. serde_json's recursion limit
/// (128 levels) rejects absurdly deep documents with a 400 instead of exhausting the stack.
pub(crate) struct JsonBody(pub(crate) Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
	type Rejection = ApiError;

	async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
		let content_type = req
			.headers()
			.get(header::CONTENT_TYPE)
			.and_then(|v| v.to_str().ok())
			.unwrap_or("");
		let is_json = content_type.is_empty()
			|| content_type.starts_with("application/json")
			|| content_type.contains("+json");
		if !is_json {
			return Err(ApiError::bad_request(
				"",
				"the body must be JSON (Content-Type: application/json)",
			));
		}
		let bytes = Bytes::from_request(req, state)
			.await
			.map_err(|e: BytesRejection| {
				if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
					ApiError::TooLarge
				} else {
					ApiError::bad_request("", format!("cannot read the body: {e}"))
				}
			})?;
		if bytes.iter().all(u8::is_ascii_whitespace) {
			return Ok(Self(Value::Object(Default::default())));
		}
		serde_json::from_slice(&bytes)
			.map(Self)
			.map_err(|e| ApiError::bad_request("", format!("malformed JSON: {e}")))
	}
}

/// A typed body: the `Value` deserialized, with serde's message on failure.
pub(crate) fn typed<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
	serde_json::from_value(value).map_err(|e| ApiError::bad_request("", e.to_string()))
}

/// A query string with our error on failure.
pub(crate) struct ApiQuery<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiQuery<T> {
	type Rejection = ApiError;

	async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
		Query::<T>::from_request_parts(parts, state)
			.await
			.map(|Query(q)| Self(q))
			.map_err(|e: QueryRejection| ApiError::bad_request("query", e.body_text()))
	}
}

/// Parses a path id; a malformed one names nothing, so it is a 404.
pub(crate) fn parse_id<T: FromStr>(text: &str, what: &str) -> Result<T, ApiError> {
	text.parse()
		.map_err(|_| ApiError::NotFound(format!("{what} {text}")))
}
