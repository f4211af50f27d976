//! `http_request`: calls an HTTP(S) endpoint and outputs `{status, headers, body}`.
//!
//! Decisions:
//! - **Output**: the response's status, headers and body, never the request's headers. A peer
//!   can still reflect the request (a debugging endpoint, a hostile server): whatever the
//!   credential-bearing headers sent held (the `Authorization` value, the token or the
//!   `user:password` inside it, cookies, API keys) is masked to `***` in the output and in
//!   error text, in their derived forms too (`sent`), on top of the engine masking every secret
//!   it revealed.
//! - **SSRF guard** (DESIGN §6): the host is resolved first, and a host that resolves to
//!   anything but ordinary public unicast (every range of the IANA special-purpose registries,
//!   an IPv6 address as internal as the IPv4 one it embeds: `ranges`) is refused unless
//!   allow-listed (`APG_HTTP_ALLOW=host,10.0.0.5,…`, or `*`). The URL parser has already
//!   rewritten other spellings of an address (`2130706433`, `0177.0.0.1`, `127.1`) to the
//!   canonical one the guard checks. The request then goes to exactly the addresses that were
//!   checked (no second lookup, so DNS rebinding cannot slip past), and redirects are not
//!   followed (a 3xx is the result), so no hop goes unchecked.
//! - **Retries**: a connection failure, a timeout, 429 and 5xx are retryable; other 4xx and a
//!   refused address are not.
//! - **Limits**: the seed's `timeout` (seconds, default 30) per request; responses over 10 MiB
//!   fail the attempt.

mod guard;
mod ranges;
mod sent;

use std::collections::HashSet;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use serde_json::{Map, Value, json};

use apg_core::{Component, ComponentError, Outcome, Redactor, RunContext, redact};

/// The largest response body read.
const MAX_BODY: usize = 10 * 1024 * 1024;

/// The `http_request` component.
pub struct HttpRequest {
	allow: HashSet<String>,
}

impl HttpRequest {
	/// Allows internal addresses for the given hosts or IPs (`*` allows all).
	pub fn new(allow: impl IntoIterator<Item = String>) -> Self {
		Self {
			allow: allow
				.into_iter()
				.map(|h| h.trim().to_lowercase())
				.filter(|h| !h.is_empty())
				.collect(),
		}
	}
}

fn retryable(e: impl std::fmt::Display) -> ComponentError {
	ComponentError::Retryable(e.to_string())
}

fn fatal(e: impl std::fmt::Display) -> ComponentError {
	ComponentError::Fatal(e.to_string())
}

#[async_trait]
impl Component for HttpRequest {
	fn kind(&self) -> &'static str {
		"http_request"
	}

	fn summary(&self) -> &'static str {
		"Calls an HTTP endpoint and outputs its status, headers and body"
	}

	fn config_schema(&self) -> Value {
		json!({
			"type": "object",
			"properties": {
				"url": {"type": "string", "minLength": 1, "description": "http:// or https:// URL"},
				"method": {"type": "string", "enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"],
					"default": "GET", "description": "HTTP method"},
				"headers": {"type": "object", "additionalProperties": {"type": "string"},
					"description": "Request headers"},
				"query": {"type": "object", "description": "Query parameters"},
				"body": {"description": "Request body: objects and arrays are sent as JSON, other values as text"},
				"timeout": {"type": "number", "minimum": 1, "maximum": 300, "default": 30,
					"description": "Seconds before the request fails (retryable)"},
				"expected_status": {"type": "array", "items": {"type": "integer", "minimum": 100, "maximum": 599},
					"description": "Statuses that count as success (default: any 2xx)"},
				"response_format": {"type": "string", "enum": ["auto", "json", "text"], "default": "auto",
					"description": "How to read the body (auto: JSON when the response says so)"},
				"auth": {"type": "object", "additionalProperties": false,
					"description": "Authentication: `token` (Bearer) or `username` and `password` (Basic). \
						Both are sealed at rest; prefer {{secrets.<name>}}",
					"properties": {
						"username": {"type": "string"},
						"password": {"type": "string"},
						"token": {"type": "string"}
					}}
			},
			"required": ["url"]
		})
	}

	fn check_config(&self, config: &Map<String, Value>) -> Vec<(String, String)> {
		match config.get("url").and_then(Value::as_str) {
			Some(url) if apg_core::expr::is_template(url) => Vec::new(),
			Some(url) => match reqwest::Url::parse(url) {
				Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
					Vec::new()
				}
				Ok(_) => vec![(
					"url".to_owned(),
					"must be an http:// or https:// URL with a host".to_owned(),
				)],
				Err(e) => vec![("url".to_owned(), format!("is not a URL: {e}"))],
			},
			None => Vec::new(),
		}
	}

	async fn run(
		&self,
		_ctx: &RunContext,
		config: &Value,
		_input: Value,
	) -> Result<Outcome, ComponentError> {
		let url = config
			.get("url")
			.and_then(Value::as_str)
			.ok_or_else(|| fatal("url is required"))?;
		let mut url = reqwest::Url::parse(url).map_err(|e| fatal(format!("invalid url: {e}")))?;
		if !matches!(url.scheme(), "http" | "https") {
			return Err(fatal("only http and https URLs are allowed"));
		}
		if let Some(Value::Object(query)) = config.get("query") {
			let mut pairs = url.query_pairs_mut();
			for (k, v) in query {
				let v = v
					.as_str()
					.map(str::to_owned)
					.unwrap_or_else(|| v.to_string());
				pairs.append_pair(k, &v);
			}
		}
		let host = url
			.host_str()
			.ok_or_else(|| fatal("the url has no host"))?
			.to_owned();
		let port = url.port_or_known_default().unwrap_or(80);
		let addrs = guard::resolve_checked(&host, port, &self.allow).await?;
		let timeout = Duration::from_secs_f64(
			config
				.get("timeout")
				.and_then(Value::as_f64)
				.unwrap_or(30.0)
				.clamp(1.0, 300.0),
		);
		let client = reqwest::Client::builder()
			.redirect(reqwest::redirect::Policy::none())
			.timeout(timeout)
			.resolve_to_addrs(&host, &addrs)
			.build()
			.map_err(fatal)?;
		let method = config
			.get("method")
			.and_then(Value::as_str)
			.unwrap_or("GET");
		let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(fatal)?;
		let mut request = client.request(method, url);
		if let Some(Value::Object(headers)) = config.get("headers") {
			for (k, v) in headers {
				request = request.header(k.as_str(), v.as_str().unwrap_or_default());
			}
		}
		if let Some(auth) = config.get("auth") {
			let text = |k: &str| auth.get(k).and_then(Value::as_str);
			if let Some(token) = text("token") {
				request = request.bearer_auth(token);
			} else if let Some(user) = text("username") {
				request = request.basic_auth(user, text("password"));
			}
		}
		request = match config.get("body") {
			None | Some(Value::Null) => request,
			Some(body @ (Value::Object(_) | Value::Array(_))) => request.json(body),
			Some(Value::String(text)) => request.body(text.clone()),
			Some(other) => request.body(other.to_string()),
		};
		let request = request.build().map_err(fatal)?;
		// Taken from the request as built, so credentials written any way (the `auth` field, a
		// literal header, `user:pass@` in the URL) are covered.
		let redactor = sent::redactor(request.headers());
		respond(&client, request, config, &redactor)
			.await
			.map(Outcome::output)
			.map_err(|e| match e {
				ComponentError::Retryable(m) => ComponentError::Retryable(redactor.text(&m)),
				ComponentError::Fatal(m) => ComponentError::Fatal(redactor.text(&m)),
			})
	}
}

/// Sends `request` and reads the response into `{status, headers, body}` with what `redactor`
/// knows masked, or the error its status or a failure means.
async fn respond(
	client: &reqwest::Client,
	request: reqwest::Request,
	config: &Value,
	redactor: &Redactor,
) -> Result<Value, ComponentError> {
	let response = client
		.execute(request)
		.await
		.map_err(|e| retryable(format!("request failed: {e}")))?;
	let status = response.status().as_u16();
	let is_json = response
		.headers()
		.get(reqwest::header::CONTENT_TYPE)
		.and_then(|v| v.to_str().ok())
		.is_some_and(|t| t.contains("json"));
	let mut headers = Map::new();
	for (k, v) in response.headers() {
		headers.insert(
			k.as_str().to_owned(),
			Value::String(v.to_str().unwrap_or_default().to_owned()),
		);
	}
	let mut body = Vec::new();
	let mut stream = response.bytes_stream();
	while let Some(chunk) = stream.next().await {
		let chunk = chunk.map_err(|e| retryable(format!("reading the response failed: {e}")))?;
		if body.len() + chunk.len() > MAX_BODY {
			return Err(fatal("the response is larger than 10 MiB"));
		}
		body.extend_from_slice(&chunk);
	}
	let text = String::from_utf8_lossy(&body).into_owned();
	let format = config
		.get("response_format")
		.and_then(Value::as_str)
		.unwrap_or("auto");
	let body = match format {
		"text" => Value::String(text),
		"json" => serde_json::from_str(&text)
			.map_err(|e| fatal(format!("the response is not JSON: {e}")))?,
		_ if is_json => serde_json::from_str(&text).unwrap_or(Value::String(text)),
		_ => Value::String(text),
	};
	let expected = match config.get("expected_status").and_then(Value::as_array) {
		Some(list) => list
			.iter()
			.filter_map(Value::as_u64)
			.any(|s| s == u64::from(status)),
		None => (200..300).contains(&status),
	};
	let mut output = json!({"status": status, "headers": headers, "body": body});
	redactor.value(&mut output);
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

#[cfg(test)]
mod tests;
