//! `http_request`: calls an HTTP(S) endpoint and outputs `{status, headers, body, url}`.
//!
//! Decisions:
//! - **Output**: the response's status, headers and body, and the URL that answered (after
//!   redirects), never the request's headers. A peer can still reflect the request (a
//!   debugging endpoint, a hostile server): whatever was sent that is credential-bearing (the
//!   `Authorization` value, the token or the `user:password` inside it, cookies, API keys, the
//!   `auth.header` token, a sensitive query parameter such as `api_key`) is masked to `***` in
//!   the output and in error text, in derived forms too (`sent`), on top of the engine masking
//!   every secret it revealed.
//! - **Auth** (`request`): `auth.type` basic (`username`, `password`), bearer (`token`) or
//!   header (`header` names it, `token` is its value). `password` and `token` are sealed at rest;
//!   the intended source is a credential, `{{secrets.<name>}}`.
//! - **Bodies**: `body_type` json (the default for objects and arrays), form
//!   (`application/x-www-form-urlencoded` from an object) or raw (the text as given, the default
//!   for strings); `content_type` overrides the type sent.
//! - **SSRF guard** (DESIGN §6, `crate::net`): the host is resolved first, and a host that
//!   resolves to anything but ordinary public unicast is refused unless allow-listed
//!   (`APG_HTTP_ALLOW=host,10.0.0.5,…`, or `*`). The URL parser has already rewritten other
//!   spellings of an address (`2130706433`, `0177.0.0.1`, `127.1`) to the canonical one the
//!   guard checks. The request then goes to exactly the addresses that were checked (no second
//!   lookup, so DNS rebinding cannot slip past).
//! - **Redirects** are not followed unless `follow_redirects` is true, and then by this loop, not
//!   the client's: each hop (at most `max_redirects`, default 5) is resolved and checked by the
//!   guard like the first, so a public host cannot bounce the request to an internal one. 303 (and
//!   301/302 after a POST) turn into a GET without body, as browsers do; a hop to another origin
//!   drops the credential-bearing headers, so a token meant for one host is not handed to the
//!   next.
//! - **Retries**: a connection failure, a timeout, 429 and 5xx are retryable; other 4xx, a
//!   refused address and too many redirects are not.
//! - **Limits**: the seed's `timeout` (seconds, default 30) per hop; the body is read up to
//!   `max_response_bytes`, at most the server's `components.http_max_response_bytes` (10 MiB by
//!   default), and a larger one fails the attempt (fatal: it will not shrink).
//! - **Body format** (`as`, or the seed's `response_format`): auto (JSON when the response says
//!   so, else text), json, text, or base64 (for binary content).

mod request;
mod response;
mod sent;

use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{AUTHORIZATION, COOKIE, LOCATION, PROXY_AUTHORIZATION};
use reqwest::{Method, StatusCode, Url};
use serde_json::{Map, Value, json};

use apg_core::{Component, ComponentError, Outcome, Redactor, RunContext};

use crate::Settings;
use crate::net::{self, AllowList};

/// The most redirects `max_redirects` may allow.
const REDIRECT_CEILING: u64 = 20;

/// The `http_request` component.
pub struct HttpRequest {
	allow: AllowList,
	max_body: u64,
}

impl HttpRequest {
	/// A component with the allow-list and response ceiling of `settings`.
	pub fn new(settings: &Settings) -> Self {
		Self {
			allow: AllowList::new(settings.http_allow.iter().cloned()),
			max_body: settings.http_max_response_bytes,
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
				"method": {"type": "string",
					"enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
					"default": "GET", "description": "HTTP method"},
				"headers": {"type": "object", "additionalProperties": {"type": "string"},
					"description": "Request headers"},
				"query": {"type": "object",
					"description": "Query parameters added to the URL (a list repeats the \
						parameter)"},
				"body": {
					"description": "Request body, encoded per body_type; may be an expression"},
				"body_type": {"type": "string", "enum": ["json", "form", "raw"],
					"description": "json (default for objects and arrays), form \
						(application/x-www-form-urlencoded from an object) or raw (the text as \
						given, default for strings)"},
				"content_type": {"type": "string",
					"description": "The Content-Type sent with the body (default per body_type)"},
				"timeout": {"type": "number", "minimum": 1, "maximum": 300, "default": 30,
					"description": "Seconds before the request fails (retryable)"},
				"expected_status": {"type": "array",
					"items": {"type": "integer", "minimum": 100, "maximum": 599},
					"description": "Statuses that count as success (default: any 2xx)"},
				"as": {"type": "string", "enum": ["auto", "json", "text", "base64"],
					"description": "How to read the body: auto (JSON when the response says so), \
						json, text, or base64 for binary content"},
				"response_format": {"type": "string", "enum": ["auto", "json", "text", "base64"],
					"default": "auto", "description": "The seed's name for `as`"},
				"follow_redirects": {"type": "boolean", "default": false,
					"description": "Follow 3xx responses, each hop checked by the SSRF guard \
						again"},
				"max_redirects": {"type": "integer", "minimum": 0, "maximum": REDIRECT_CEILING,
					"default": 5, "description": "The most redirects followed"},
				"max_response_bytes": {"type": "integer", "minimum": 1,
					"description": "The largest response body read (at most the server's \
						http_max_response_bytes, 10 MiB by default)"},
				"auth": {"type": "object", "additionalProperties": false,
					"description": "Authentication: basic (username, password), bearer (token), or \
						header (a header named by `header` carrying `token`). Secrets are sealed \
						at rest; give them as {{secrets.<name>}}",
					"properties": {
						"type": {"type": "string", "enum": ["basic", "bearer", "header"],
							"description": "The scheme (default: bearer with a token, basic with a \
								username)"},
						"username": {"type": "string", "description": "Basic: the user"},
						"password": {"type": "string", "description": "Basic: the password"},
						"token": {"type": "string",
							"description": "Bearer: the token; header: the header's value"},
						"header": {"type": "string",
							"description": "Header: the header's name (X-API-Key, …)"}
					}}
			},
			"required": ["url"]
		})
	}

	fn check_config(&self, config: &Map<String, Value>) -> Vec<(String, String)> {
		let mut problems = Vec::new();
		match config.get("url").and_then(Value::as_str) {
			Some(url) if apg_core::expr::is_template(url) => {}
			Some(url) => match Url::parse(url) {
				Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
				Ok(_) => problems.push((
					"url".to_owned(),
					"must be an http:// or https:// URL with a host".to_owned(),
				)),
				Err(e) => problems.push(("url".to_owned(), format!("is not a URL: {e}"))),
			},
			None => {}
		}
		if let Some(n) = config.get("max_response_bytes").and_then(Value::as_u64)
			&& n > self.max_body
		{
			problems.push((
				"max_response_bytes".to_owned(),
				format!(
					"must be at most the server's limit ({} bytes)",
					self.max_body
				),
			));
		}
		if let Some(Value::Object(auth)) = config.get("auth") {
			let kind = auth.get("type").and_then(Value::as_str);
			let needs: &[&str] = match kind {
				Some("basic") => &["username"],
				Some("bearer") => &["token"],
				Some("header") => &["header", "token"],
				_ => &[],
			};
			for field in needs {
				if !auth.contains_key(*field) {
					problems.push((
						format!("auth.{field}"),
						format!(
							"is required for {} authentication",
							kind.unwrap_or_default()
						),
					));
				}
			}
		}
		if config.get("body_type").and_then(Value::as_str) == Some("form")
			&& let Some(body) = config.get("body")
			&& !body.is_object()
			&& !crate::is_template(body)
		{
			problems.push((
				"body".to_owned(),
				"a form body must be an object of field names and values".to_owned(),
			));
		}
		problems
	}

	async fn run(
		&self,
		_ctx: &RunContext,
		config: &Value,
		_input: Value,
	) -> Result<Outcome, ComponentError> {
		let prepared = request::prepare(config)?;
		let mut sent = prepared.secrets.clone();
		let result = self.fetch(config, prepared, &mut sent).await;
		let redactor = Redactor::new(sent);
		result
			.map(|mut output| {
				redactor.value(&mut output);
				Outcome::output(output)
			})
			.map_err(|e| match e {
				ComponentError::Retryable(m) => ComponentError::Retryable(redactor.text(&m)),
				ComponentError::Fatal(m) => ComponentError::Fatal(redactor.text(&m)),
			})
	}
}

impl HttpRequest {
	/// Sends `prepared`, following redirects when asked (each hop guarded), and reads the final
	/// response. Every credential-bearing value sent on any hop is added to `sent`.
	async fn fetch(
		&self,
		config: &Value,
		prepared: request::Prepared,
		sent: &mut Vec<String>,
	) -> Result<Value, ComponentError> {
		let timeout = Duration::from_secs_f64(
			config
				.get("timeout")
				.and_then(Value::as_f64)
				.unwrap_or(30.0)
				.clamp(1.0, 300.0),
		);
		let follow = config
			.get("follow_redirects")
			.and_then(Value::as_bool)
			.unwrap_or(false);
		let max_redirects = config
			.get("max_redirects")
			.and_then(Value::as_u64)
			.unwrap_or(5)
			.min(REDIRECT_CEILING);
		let limit = config
			.get("max_response_bytes")
			.and_then(Value::as_u64)
			.unwrap_or(self.max_body)
			.min(self.max_body);
		let request::Prepared {
			mut url,
			mut method,
			mut headers,
			mut body,
			auth_header,
			..
		} = prepared;
		let mut hops = 0;
		loop {
			let host = url
				.host_str()
				.ok_or_else(|| fatal("the url has no host"))?
				.to_owned();
			let port = url.port_or_known_default().unwrap_or(80);
			let addrs = net::resolve_checked(&host, port, &self.allow).await?;
			let client = reqwest::Client::builder()
				.redirect(reqwest::redirect::Policy::none())
				.timeout(timeout)
				.resolve_to_addrs(&host, &addrs)
				.build()
				.map_err(fatal)?;
			let mut builder = client
				.request(method.clone(), url.clone())
				.headers(headers.clone());
			if let Some(bytes) = &body {
				builder = builder.body(bytes.clone());
			}
			let built = builder.build().map_err(fatal)?;
			// Taken from the request as built, so credentials written any way (the `auth`
			// field, a literal header, `user:pass@` in the URL) are covered.
			sent.extend(sent::credentials(built.headers()));
			let response = client
				.execute(built)
				.await
				.map_err(|e| retryable(format!("request to {host} failed: {e}")))?;
			let status = response.status();
			let next = response
				.headers()
				.get(LOCATION)
				.and_then(|v| v.to_str().ok())
				.filter(|_| follow && status.is_redirection());
			let Some(location) = next else {
				return response::read(response, config, limit, url.as_str()).await;
			};
			if hops == max_redirects {
				return Err(fatal(format!(
					"more than max_redirects ({max_redirects}) redirects"
				)));
			}
			hops += 1;
			let target = url
				.join(location)
				.map_err(|e| fatal(format!("redirect to an invalid location: {e}")))?;
			if !matches!(target.scheme(), "http" | "https") {
				return Err(fatal("redirect to a URL that is not http or https"));
			}
			if status == StatusCode::SEE_OTHER
				|| (matches!(status.as_u16(), 301 | 302) && method == Method::POST)
			{
				if method != Method::HEAD {
					method = Method::GET;
				}
				body = None;
				headers.remove(reqwest::header::CONTENT_TYPE);
			}
			if target.origin() != url.origin() {
				for name in [AUTHORIZATION, PROXY_AUTHORIZATION, COOKIE]
					.into_iter()
					.chain(auth_header.clone())
				{
					headers.remove(name);
				}
				let sensitive: Vec<_> = headers
					.keys()
					.filter(|k| apg_core::secrets::is_sensitive_field(k.as_str()))
					.cloned()
					.collect();
				for name in sensitive {
					headers.remove(name);
				}
			}
			url = target;
		}
	}
}

#[cfg(test)]
mod tests;
