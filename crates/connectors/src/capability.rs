//! `apg_capability`: calls a capability of a remote APG endpoint (the seed's
//! `APGConnectorBase`): `POST {base_url}/api/v1/capabilities/{capability}/{operation}` with
//! `{"parameters", "context"}`, the server's API key as a bearer token, and the seed's
//! `use_cache` / `cache_ttl_seconds` over the shared cache (Redis when configured, else in
//! process).
//!
//! The base URL is the operator's (`components.apg.base_url` or `APG_BASE_URL`), not the
//! workflow's, so it is trusted as configuration and not put through the SSRF guard; redirects
//! are never followed, so the call cannot be bent elsewhere. Cached answers are keyed by the
//! user as well as the call, so one user's answer is never served to another.

use std::time::Duration;

use apg_core::{Component, ComponentError, Outcome, RunContext};
use async_trait::async_trait;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::acting::{platform, principal, required};
use crate::error::{fatal, retryable};
use crate::platform::Platform;

const KIND: &str = "apg_capability";
/// The largest answer read.
const MAX_RESPONSE_BYTES: usize = 10 * 1024 * 1024;

/// The component.
pub(crate) struct Capability {
	platform: Option<Platform>,
	client: reqwest::Client,
}

impl Capability {
	pub(crate) fn new(platform: Option<Platform>) -> Self {
		let client = reqwest::Client::builder()
			.redirect(reqwest::redirect::Policy::none())
			.build()
			.unwrap_or_default();
		Self { platform, client }
	}
}

/// The seed's `_prepare_parameters`: the configured parameters, the input merged in when it is
/// an object (else as `input`).
fn parameters(config: &Value, input: Value) -> Map<String, Value> {
	let mut params = config
		.get("parameters")
		.and_then(Value::as_object)
		.cloned()
		.unwrap_or_default();
	match input {
		Value::Object(m) => params.extend(m),
		Value::Null => {}
		other => {
			params.insert("input".into(), other);
		}
	}
	params
}

fn segment(text: &str, field: &str) -> Result<(), ComponentError> {
	let ok = !text.is_empty()
		&& text.len() <= 100
		&& text
			.chars()
			.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
	if ok {
		Ok(())
	} else {
		Err(fatal(format!(
			"{field}: letters, digits, '_', '-' and '.' only (at most 100)"
		)))
	}
}

#[async_trait]
impl Component for Capability {
	fn kind(&self) -> &'static str {
		KIND
	}

	fn summary(&self) -> &'static str {
		"Calls a capability of the remote APG endpoint (APG_BASE_URL), with a shared cache"
	}

	fn config_schema(&self) -> Value {
		json!({
			"type": "object",
			"required": ["capability", "operation"],
			"properties": {
				"capability": {"type": "string", "description": "The capability's name"},
				"operation": {"type": "string", "description": "Its operation"},
				"parameters": {"type": "object", "description": "Parameters; an object input is \
					merged in"},
				"use_cache": {"type": "boolean", "default": true},
				"cache_ttl_seconds": {"type": "integer", "minimum": 0, "default": 300},
				"timeout": {"type": "number", "minimum": 1, "maximum": 300, "default": 30}
			}
		})
	}

	async fn run(
		&self,
		ctx: &RunContext,
		config: &Value,
		input: Value,
	) -> Result<Outcome, ComponentError> {
		let p = platform(&self.platform, KIND)?;
		let who = principal(p, ctx).await?;
		let capability = required(config, "capability", "apg_capability")?;
		let operation = required(config, "operation", "apg_capability")?;
		segment(capability, "capability")?;
		segment(operation, "operation")?;
		let base =
			p.settings.base_url.as_deref().ok_or_else(|| {
				fatal("apg_capability: no APG endpoint is configured (APG_BASE_URL)")
			})?;
		let params = Value::Object(parameters(config, input));
		let ttl = config
			.get("cache_ttl_seconds")
			.and_then(Value::as_u64)
			.unwrap_or(300);
		let cache = p
			.cache
			.as_ref()
			.filter(|_| config.get("use_cache").and_then(Value::as_bool) != Some(false))
			.filter(|_| ttl > 0);
		let key = {
			let mut h = Sha256::new();
			h.update(format!(
				"{}\0{capability}\0{operation}\0{params}",
				who.user_id
			));
			let digest: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
			format!("apg:capability:{digest}")
		};
		if let Some(cache) = cache
			&& let Some(hit) = cache.get(&key).await
			&& let Ok(data) = serde_json::from_str::<Value>(&hit)
		{
			return Ok(Outcome::output(json!({"data": data, "cached": true})));
		}
		let url = format!(
			"{}/api/v1/capabilities/{capability}/{operation}",
			base.trim_end_matches('/')
		);
		let timeout = config
			.get("timeout")
			.and_then(Value::as_f64)
			.unwrap_or(30.0)
			.clamp(1.0, 300.0);
		let body = json!({"parameters": params, "context": {
			"execution_id": ctx.execution_id.to_string(),
			"workflow_id": ctx.workflow_id.to_string(),
			"component_id": ctx.component_id,
			"user": who.username,
		}});
		let mut request = self
			.client
			.post(&url)
			.timeout(Duration::from_secs_f64(timeout))
			.json(&body);
		if let Some(key) = &p.settings.api_key {
			request = request.bearer_auth(key);
		}
		let response = tokio::select! {
			r = request.send() => r.map_err(|e| retryable(format!("APG endpoint: {}", e.without_url())))?,
			() = ctx.cancel.cancelled() => return Err(fatal("cancelled")),
		};
		let status = response.status();
		let bytes = response
			.bytes()
			.await
			.map_err(|e| retryable(format!("APG endpoint: {}", e.without_url())))?;
		if bytes.len() > MAX_RESPONSE_BYTES {
			return Err(fatal(format!(
				"APG endpoint: the answer is larger than {MAX_RESPONSE_BYTES} bytes"
			)));
		}
		let answer: Value = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
			Value::String(String::from_utf8_lossy(&bytes[..bytes.len().min(500)]).into_owned())
		});
		let message = answer
			.get("error_message")
			.or_else(|| answer.get("message"))
			.and_then(Value::as_str)
			.map(str::to_owned);
		if status.is_server_error() || status.as_u16() == 429 {
			return Err(retryable(format!(
				"APG endpoint answered {status}{}",
				message.map(|m| format!(": {m}")).unwrap_or_default()
			)));
		}
		if !status.is_success() || answer.get("success") == Some(&Value::Bool(false)) {
			return Err(fatal(format!(
				"capability {capability}.{operation} failed ({status}){}",
				message.map(|m| format!(": {m}")).unwrap_or_default()
			)));
		}
		let data = answer.get("data").cloned().unwrap_or(answer.clone());
		if let Some(cache) = cache {
			cache
				.set(&key, &data.to_string(), Duration::from_secs(ttl))
				.await;
		}
		let mut output = json!({"data": data, "cached": false});
		if let Some(id) = answer.get("id") {
			output["apg_response_id"] = id.clone();
		}
		Ok(Outcome::output(output))
	}
}
