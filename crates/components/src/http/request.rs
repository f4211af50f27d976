//! What `http_request` sends, built once from the rendered config and replayed on every redirect
//! hop: the URL with its `query`, the method, the headers (the `auth` one among them), and the
//! body encoded per `body_type`. Owns the meaning of those fields, so the send loop only moves
//! bytes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};
use serde_json::Value;

use apg_core::ComponentError;
use apg_core::secrets::is_sensitive_field;

/// The request, ready to send to any hop.
#[derive(Debug)]
pub(super) struct Prepared {
	pub(super) url: Url,
	pub(super) method: Method,
	pub(super) headers: HeaderMap,
	pub(super) body: Option<Vec<u8>>,
	/// Credential values sent outside the headers' usual places (a custom auth header, a
	/// sensitive query parameter), for the redactor.
	pub(super) secrets: Vec<String>,
	/// The header `auth` set, dropped on a redirect to another origin.
	pub(super) auth_header: Option<HeaderName>,
}

fn fatal(message: impl Into<String>) -> ComponentError {
	ComponentError::Fatal(message.into())
}

/// How a body is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BodyType {
	Json,
	Form,
	Raw,
}

/// Builds the request `config` describes.
pub(super) fn prepare(config: &Value) -> Result<Prepared, ComponentError> {
	let url = config
		.get("url")
		.and_then(Value::as_str)
		.ok_or_else(|| fatal("url is required"))?;
	let mut url = Url::parse(url).map_err(|e| fatal(format!("url: not a URL: {e}")))?;
	if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
		return Err(fatal("url: must be an http:// or https:// URL with a host"));
	}
	let mut secrets = Vec::new();
	if let Some(query) = config.get("query") {
		let Value::Object(query) = query else {
			return Err(fatal(
				"query: must be an object of parameter names and values",
			));
		};
		let mut pairs = url.query_pairs_mut();
		for (k, v) in query {
			// A list repeats the parameter (`?tag=a&tag=b`); null leaves it out.
			let values: Vec<&Value> = match v {
				Value::Array(items) => items.iter().collect(),
				Value::Null => Vec::new(),
				other => vec![other],
			};
			for v in values {
				let text = scalar(v).ok_or_else(|| {
					fatal(format!(
						"query.{k}: must be a string, number or boolean (or a list of them)"
					))
				})?;
				if is_sensitive_field(k) {
					secrets.push(text.clone());
				}
				pairs.append_pair(k, &text);
			}
		}
	}
	let method = config
		.get("method")
		.and_then(Value::as_str)
		.unwrap_or("GET")
		.to_ascii_uppercase();
	let method = Method::from_bytes(method.as_bytes()).map_err(|_| fatal("method: invalid"))?;
	let mut headers = HeaderMap::new();
	if let Some(given) = config.get("headers") {
		let Value::Object(given) = given else {
			return Err(fatal(
				"headers: must be an object of header names and values",
			));
		};
		for (k, v) in given {
			let name = HeaderName::from_bytes(k.as_bytes())
				.map_err(|_| fatal(format!("headers.{k}: not a valid header name")))?;
			let text = scalar(v).ok_or_else(|| fatal(format!("headers.{k}: must be a string")))?;
			let value = HeaderValue::from_str(&text)
				.map_err(|_| fatal(format!("headers.{k}: not a valid header value")))?;
			headers.insert(name, value);
		}
	}
	let auth_header = match config.get("auth").filter(|a| !a.is_null()) {
		Some(auth) => Some(auth_header(auth, &mut headers, &mut secrets)?),
		None => None,
	};
	let body = body(config, &mut headers)?;
	Ok(Prepared {
		url,
		method,
		headers,
		body,
		secrets,
		auth_header,
	})
}

/// A query or header value as text.
fn scalar(v: &Value) -> Option<String> {
	match v {
		Value::String(s) => Some(s.clone()),
		Value::Number(n) => Some(n.to_string()),
		Value::Bool(b) => Some(b.to_string()),
		_ => None,
	}
}

/// Adds the header `auth` describes: `{type: basic, username, password}`, `{type: bearer,
/// token}`, or `{type: header, header, token}` (a named header carrying the token). Without
/// `type`, the seed's shape: `token` means bearer, `username` basic.
fn auth_header(
	auth: &Value,
	headers: &mut HeaderMap,
	secrets: &mut Vec<String>,
) -> Result<HeaderName, ComponentError> {
	let text = |k: &str| auth.get(k).and_then(Value::as_str);
	let kind = match text("type") {
		Some(kind) => kind,
		None if text("token").is_some() => "bearer",
		None if text("username").is_some() => "basic",
		None => {
			return Err(fatal(
				"auth: give type (basic, bearer or header) and its fields",
			));
		}
	};
	let required = |k: &str| {
		text(k).ok_or_else(|| fatal(format!("auth.{k}: is required for {kind} authentication")))
	};
	let (name, value) = match kind {
		"basic" => {
			let pair = format!(
				"{}:{}",
				required("username")?,
				text("password").unwrap_or("")
			);
			(AUTHORIZATION, format!("Basic {}", STANDARD.encode(pair)))
		}
		"bearer" => (AUTHORIZATION, format!("Bearer {}", required("token")?)),
		"header" => {
			let name = HeaderName::from_bytes(required("header")?.as_bytes())
				.map_err(|_| fatal("auth.header: not a valid header name"))?;
			let token = required("token")?;
			secrets.push(token.to_owned());
			(name, token.to_owned())
		}
		other => {
			return Err(fatal(format!(
				"auth.type: must be basic, bearer or header, not {other}"
			)));
		}
	};
	let mut value =
		HeaderValue::from_str(&value).map_err(|_| fatal("auth: not a valid header value"))?;
	value.set_sensitive(true);
	headers.insert(name.clone(), value);
	Ok(name)
}

/// The body bytes, with a `Content-Type` unless one was given.
fn body(config: &Value, headers: &mut HeaderMap) -> Result<Option<Vec<u8>>, ComponentError> {
	let body = match config.get("body") {
		None | Some(Value::Null) => return Ok(None),
		Some(body) => body,
	};
	let kind = match config.get("body_type").and_then(Value::as_str) {
		Some("json") => BodyType::Json,
		Some("form") => BodyType::Form,
		Some("raw") => BodyType::Raw,
		Some(other) => {
			return Err(fatal(format!(
				"body_type: must be json, form or raw, not {other}"
			)));
		}
		None if body.is_object() || body.is_array() => BodyType::Json,
		None => BodyType::Raw,
	};
	let (bytes, default_type) = match kind {
		BodyType::Json => (
			serde_json::to_vec(body).map_err(|e| fatal(e.to_string()))?,
			"application/json",
		),
		BodyType::Form => {
			let Value::Object(fields) = body else {
				return Err(fatal(
					"body: a form body must be an object of field names and values",
				));
			};
			let mut form = reqwest::Url::parse("http://form/").expect("a constant URL");
			{
				let mut pairs = form.query_pairs_mut();
				for (k, v) in fields {
					let text = scalar(v).ok_or_else(|| {
						fatal(format!(
							"body.{k}: a form field must be a string, number or boolean"
						))
					})?;
					pairs.append_pair(k, &text);
				}
			}
			(
				form.query().unwrap_or_default().as_bytes().to_vec(),
				"application/x-www-form-urlencoded",
			)
		}
		BodyType::Raw => match body {
			Value::String(text) => (text.as_bytes().to_vec(), "text/plain; charset=utf-8"),
			other => (other.to_string().into_bytes(), "text/plain; charset=utf-8"),
		},
	};
	let content_type = match config.get("content_type").and_then(Value::as_str) {
		Some(given) => HeaderValue::from_str(given)
			.map_err(|_| fatal("content_type: not a valid header value"))?,
		None => HeaderValue::from_static(default_type),
	};
	if config.get("content_type").is_some() || !headers.contains_key(CONTENT_TYPE) {
		headers.insert(CONTENT_TYPE, content_type);
	}
	Ok(Some(bytes))
}
