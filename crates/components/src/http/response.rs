//! Reading an `http_request` response into `{status, headers, body, url}`: the body read up to
//! the size limit (stopping as soon as it is passed, never buffering more), decoded per `as`,
//! and the status turned into success or a typed error.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use futures_util::StreamExt;
use serde_json::{Map, Value, json};

use apg_core::{ComponentError, redact};

use super::{fatal, retryable};

/// How the body is handed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
	Auto,
	Json,
	Text,
	Base64,
}

fn format(config: &Value) -> Result<Format, ComponentError> {
	let given = config
		.get("as")
		.or_else(|| config.get("response_format"))
		.and_then(Value::as_str);
	match given {
		None | Some("auto") => Ok(Format::Auto),
		Some("json") => Ok(Format::Json),
		Some("text") => Ok(Format::Text),
		Some("base64") => Ok(Format::Base64),
		Some(other) => Err(fatal(format!(
			"as: must be auto, json, text or base64, not {other}"
		))),
	}
}

/// Reads `response` (from `url`) with a body of at most `limit` bytes.
pub(super) async fn read(
	response: reqwest::Response,
	config: &Value,
	limit: u64,
	url: &str,
) -> Result<Value, ComponentError> {
	let format = format(config)?;
	let status = response.status().as_u16();
	let too_large = || {
		fatal(format!(
			"the response is larger than max_response_bytes ({limit} bytes)"
		))
	};
	if response.content_length().is_some_and(|n| n > limit) {
		return Err(too_large());
	}
	let is_json = response
		.headers()
		.get(reqwest::header::CONTENT_TYPE)
		.and_then(|v| v.to_str().ok())
		.is_some_and(|t| t.contains("json"));
	let mut headers = Map::new();
	for (k, v) in response.headers() {
		headers.insert(
			k.as_str().to_owned(),
			Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()),
		);
	}
	let mut body = Vec::new();
	let mut stream = response.bytes_stream();
	while let Some(chunk) = stream.next().await {
		let chunk = chunk.map_err(|e| retryable(format!("reading the response failed: {e}")))?;
		if (body.len() + chunk.len()) as u64 > limit {
			return Err(too_large());
		}
		body.extend_from_slice(&chunk);
	}
	let body = match format {
		Format::Base64 => Value::String(STANDARD.encode(&body)),
		Format::Text => Value::String(String::from_utf8_lossy(&body).into_owned()),
		Format::Json => serde_json::from_slice(&body)
			.map_err(|e| fatal(format!("the response is not JSON: {e}")))?,
		Format::Auto if is_json => serde_json::from_slice(&body)
			.unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned())),
		Format::Auto => Value::String(String::from_utf8_lossy(&body).into_owned()),
	};
	let expected = match config.get("expected_status").and_then(Value::as_array) {
		Some(list) => list
			.iter()
			.filter_map(Value::as_u64)
			.any(|s| s == u64::from(status)),
		None => (200..300).contains(&status),
	};
	let output = json!({"status": status, "headers": headers, "body": body, "url": url});
	if expected {
		return Ok(output);
	}
	// Cut with the shared marker, so the engine also masks a secret the cut split in two.
	let message = format!(
		"unexpected status {status}: {}",
		redact::truncate(&output["body"].to_string(), 500)
	);
	if status == 429 || status >= 500 {
		Err(retryable(message))
	} else {
		Err(fatal(message))
	}
}
