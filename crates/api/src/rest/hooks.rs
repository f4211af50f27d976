//! Webhooks: `POST /api/v1/hooks/{token}` starts a workflow from an outside request, and
//! `/workflows/{id}/hooks` manages a workflow's hooks (create, list, rotate the token, delete).
//!
//! The token is the credential of the public route: 32 random bytes shown once at creation
//! or rotation, stored as its SHA-256. What the request carries becomes the execution's
//! parameters: a JSON object body's fields (or a form's; a form-typed or untyped body that
//! starts with `{` or `[` is read as JSON, as `curl -d` sends it), and under `webhook` the query, the
//! chosen headers, the content type and any other body (raw text, or a JSON array or value).
//! A request is refused before anything starts when the token is unknown (404), the hook is
//! over its rate (429), the body is over its limit (413), the signature is missing or wrong
//! (401), the body does not parse as its content type says (400), or the hook's creator may
//! no longer run the workflow (403, audited). Managing hooks needs `update` and `execute` on
//! the workflow, like a schedule; every change and every refused or accepted call is audited.
//!
//! The rate limit is per node (a fixed one-minute window in memory): across N nodes a hook
//! takes up to N times its rate.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use apg_auth::{Delegation, hash_api_key, random_token, verify_signature};
use apg_core::hook::{Algorithm, Respond, Signature};
use apg_core::{Hook, HookId, HookSettings, Principal, WorkflowAction, WorkflowId, now_millis};
use apg_engine::ExecuteRequest;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{JsonBody, parse_id, typed};
use crate::rest::workflows::load;
use crate::state::AppState;
use crate::views::{Envelope, iso};

type ApiResult<T> = Result<Json<Envelope<T>>, ApiError>;

/// What starts every token, so a leaked one is recognisable (secret scanners, logs).
const TOKEN_PREFIX: &str = "apg_hook_";

pub(crate) fn router() -> Router<AppState> {
	Router::new()
		.route("/hooks/{token}", post(receive))
		.route("/workflows/{id}/hooks", get(list_hooks).post(create_hook))
		.route(
			"/workflows/{id}/hooks/{hook}",
			axum::routing::delete(delete_hook),
		)
		.route("/workflows/{id}/hooks/{hook}/rotate", post(rotate_hook))
}

/// Requests taken per hook in the current minute, on this node.
#[derive(Default)]
pub(crate) struct HookLimits {
	windows: Mutex<HashMap<HookId, (Instant, u32)>>,
}

impl HookLimits {
	/// Counts a request of `hook`; false when it is over `per_minute`.
	fn take(&self, hook: HookId, per_minute: u32) -> bool {
		let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
		if windows.len() > 100_000 {
			windows.clear();
		}
		let now = Instant::now();
		let (began, count) = windows.entry(hook).or_insert((now, 0));
		if now.duration_since(*began) >= Duration::from_secs(60) {
			*began = now;
			*count = 0;
		}
		*count += 1;
		*count <= per_minute
	}
}

/// How a sender signs its requests.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignatureBody {
	/// The shared secret (8–1024 characters); stored sealed, never shown again.
	secret: String,
	/// The header that carries the signature (default `X-Hub-Signature-256`).
	header: Option<String>,
	/// sha256 (default) or sha512.
	#[schema(value_type = Option<String>)]
	algorithm: Option<Algorithm>,
}

/// A new hook.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateHookBody {
	/// A name (default "webhook").
	name: Option<String>,
	/// immediately (202 with the execution id, default) or on_completion (its status and
	/// results, waiting up to `timeout_seconds`).
	#[schema(value_type = Option<String>)]
	respond: Option<Respond>,
	/// 1–300 (default 30).
	timeout_seconds: Option<u32>,
	/// 1 byte – 10 MiB (default 1 MiB).
	max_body_bytes: Option<u64>,
	/// 1–100000 requests a minute per node (default 60).
	rate_per_minute: Option<u32>,
	/// Request headers passed to the execution, at most 20.
	headers: Option<Vec<String>>,
	/// Checked on every request when given.
	signature: Option<SignatureBody>,
}

/// A hook (never its token or secret).
#[derive(Serialize, ToSchema)]
pub(crate) struct HookView {
	#[schema(format = Uuid)]
	id: String,
	#[schema(format = Uuid)]
	workflow_id: String,
	name: String,
	/// The token's first characters.
	token_prefix: String,
	respond: String,
	timeout_seconds: u32,
	max_body_bytes: u64,
	rate_per_minute: u32,
	headers: Vec<String>,
	/// The signature's header, when requests must be signed.
	signature_header: Option<String>,
	#[schema(format = DateTime)]
	created_at: String,
	#[schema(format = DateTime)]
	updated_at: String,
}

impl HookView {
	fn new(h: &Hook) -> Self {
		let s = &h.settings;
		Self {
			id: h.id.to_string(),
			workflow_id: h.workflow_id.to_string(),
			name: s.name.clone(),
			token_prefix: s.token_prefix.clone(),
			respond: match s.respond {
				Respond::Immediately => "immediately",
				Respond::OnCompletion => "on_completion",
			}
			.to_owned(),
			timeout_seconds: s.timeout_seconds,
			max_body_bytes: s.max_body_bytes,
			rate_per_minute: s.rate_per_minute,
			headers: s.headers.clone(),
			signature_header: s.signature.as_ref().map(|g| g.header.clone()),
			created_at: iso(h.created_at),
			updated_at: iso(h.updated_at),
		}
	}
}

/// A hook with its token: shown once, at creation and rotation.
#[derive(Serialize, ToSchema)]
pub(crate) struct HookIssued {
	#[serde(flatten)]
	hook: HookView,
	/// The secret of the URL.
	token: String,
	/// The path to post to (`/api/v1/hooks/{token}`).
	path: String,
}

fn issue(hook: &Hook, token: String) -> HookIssued {
	HookIssued {
		hook: HookView::new(hook),
		path: format!("/api/v1/hooks/{token}"),
		token,
	}
}

fn new_token() -> (String, String) {
	let token = format!("{TOKEN_PREFIX}{}", random_token());
	let hash = hash_api_key(&token);
	(token, hash)
}

fn prefix(token: &str) -> String {
	token.chars().take(TOKEN_PREFIX.len() + 4).collect()
}

/// The workflow `id` if the caller may manage its triggers (`update` and `execute`).
async fn manageable(
	state: &AppState,
	caller: &Principal,
	id: &str,
) -> Result<WorkflowId, ApiError> {
	let workflow = load(state, caller, id, WorkflowAction::Update).await?;
	let guard = &state.security.guard;
	guard
		.check(caller, &workflow, WorkflowAction::Execute)
		.await?;
	Ok(workflow.id)
}

fn settings(state: &AppState, body: CreateHookBody) -> Result<HookSettings, ApiError> {
	let name = body.name.unwrap_or_else(|| "webhook".to_owned());
	if name.trim().is_empty() || name.chars().count() > 200 {
		return Err(ApiError::bad_request("name", "1–200 characters"));
	}
	let timeout_seconds = body.timeout_seconds.unwrap_or(30);
	if !(1..=300).contains(&timeout_seconds) {
		return Err(ApiError::bad_request("timeout_seconds", "must be 1–300"));
	}
	let max_body_bytes = body.max_body_bytes.unwrap_or(1 << 20);
	if !(1..=10 << 20).contains(&max_body_bytes) {
		return Err(ApiError::bad_request(
			"max_body_bytes",
			"must be 1–10485760",
		));
	}
	let rate_per_minute = body.rate_per_minute.unwrap_or(60);
	if !(1..=100_000).contains(&rate_per_minute) {
		return Err(ApiError::bad_request("rate_per_minute", "must be 1–100000"));
	}
	let headers: Vec<String> = body
		.headers
		.unwrap_or_default()
		.into_iter()
		.map(|h| h.to_ascii_lowercase())
		.collect();
	let valid_header = |h: &str| {
		!h.is_empty()
			&& h.len() <= 100
			&& h.bytes()
				.all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
	};
	if headers.len() > 20 || !headers.iter().all(|h| valid_header(h)) {
		return Err(ApiError::bad_request("headers", "at most 20 header names"));
	}
	if headers
		.iter()
		.any(|h| h == "authorization" || h == "cookie")
	{
		return Err(ApiError::bad_request(
			"headers",
			"authorization and cookie headers are not passed to executions",
		));
	}
	let signature = match body.signature {
		None => None,
		Some(sig) => {
			if !(8..=1024).contains(&sig.secret.chars().count()) {
				return Err(ApiError::bad_request(
					"signature.secret",
					"8–1024 characters",
				));
			}
			let header = sig
				.header
				.unwrap_or_else(|| "x-hub-signature-256".to_owned())
				.to_ascii_lowercase();
			if !valid_header(&header) {
				return Err(ApiError::bad_request("signature.header", "a header name"));
			}
			Some(Signature {
				header,
				algorithm: sig.algorithm.unwrap_or_default(),
				sealed_secret: state.security.keys.encrypt(&sig.secret),
			})
		}
	};
	Ok(HookSettings {
		name,
		token_prefix: String::new(),
		signature,
		headers,
		respond: body.respond.unwrap_or_default(),
		timeout_seconds,
		max_body_bytes,
		rate_per_minute,
	})
}

/// Creates a hook; its token is in the answer, and only there.
#[utoipa::path(post, path = "/api/v1/workflows/{id}/hooks", tag = "hooks", request_body = CreateHookBody,
	params(("id" = String, Path, description = "Workflow id")),
	responses((status = 201, body = Envelope<HookIssued>), (status = 400, body = crate::views::ErrorBody),
		(status = 404, body = crate::views::ErrorBody)))]
pub(crate) async fn create_hook(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(id): Path<String>,
	JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Envelope<HookIssued>>), ApiError> {
	let workflow_id = manageable(&state, &caller, &id).await?;
	let mut settings = settings(&state, typed(body)?)?;
	let (token, token_hash) = new_token();
	settings.token_prefix = prefix(&token);
	let now = now_millis();
	let hook = Hook {
		id: HookId::new(),
		workflow_id,
		token_hash,
		settings,
		created_by: caller.user_id,
		created_at: now,
		updated_at: now,
	};
	state.hooks.create_hook(&hook).await?;
	let details = json!({"workflow_id": workflow_id.to_string(), "name": hook.settings.name});
	state
		.audit(&caller, "hook.create", format!("hook/{}", hook.id), details)
		.await;
	Ok((
		StatusCode::CREATED,
		Json(Envelope::new(
			issue(&hook, token),
			"Hook created: keep its token".to_owned(),
		)),
	))
}

/// The hooks of a workflow (without their tokens).
#[utoipa::path(get, path = "/api/v1/workflows/{id}/hooks", tag = "hooks",
	params(("id" = String, Path, description = "Workflow id")),
	responses((status = 200, body = Envelope<Vec<HookView>>), (status = 404, body = crate::views::ErrorBody)))]
pub(crate) async fn list_hooks(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(id): Path<String>,
) -> ApiResult<Vec<HookView>> {
	let workflow = load(&state, &caller, &id, WorkflowAction::Read).await?;
	let hooks = state.hooks.list_hooks(workflow.id).await?;
	Ok(Json(Envelope::new(
		hooks.iter().map(HookView::new).collect(),
		None,
	)))
}

/// A hook of the workflow `id` the caller may manage.
async fn owned_hook(
	state: &AppState,
	caller: &Principal,
	id: &str,
	hook: &str,
) -> Result<Hook, ApiError> {
	let workflow = manageable(state, caller, id).await?;
	let hook_id: HookId = parse_id(hook, "hook")?;
	match state.hooks.get_hook(hook_id).await? {
		Some(h) if h.workflow_id == workflow => Ok(h),
		_ => Err(ApiError::NotFound(format!("hook {hook_id}"))),
	}
}

/// A new token for a hook; the old one stops working at once.
#[utoipa::path(post, path = "/api/v1/workflows/{id}/hooks/{hook}/rotate", tag = "hooks",
	params(("id" = String, Path, description = "Workflow id"), ("hook" = String, Path, description = "Hook id")),
	responses((status = 200, body = Envelope<HookIssued>), (status = 404, body = crate::views::ErrorBody)))]
pub(crate) async fn rotate_hook(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path((id, hook)): Path<(String, String)>,
) -> ApiResult<HookIssued> {
	let mut hook = owned_hook(&state, &caller, &id, &hook).await?;
	let (token, token_hash) = new_token();
	hook.token_hash = token_hash;
	hook.settings.token_prefix = prefix(&token);
	hook.updated_at = now_millis();
	if !state.hooks.update_hook(&hook).await? {
		return Err(ApiError::NotFound(format!("hook {}", hook.id)));
	}
	state
		.audit(
			&caller,
			"hook.rotate",
			format!("hook/{}", hook.id),
			json!({}),
		)
		.await;
	Ok(Json(Envelope::new(
		issue(&hook, token),
		"New token issued".to_owned(),
	)))
}

/// Deletes a hook.
#[utoipa::path(delete, path = "/api/v1/workflows/{id}/hooks/{hook}", tag = "hooks",
	params(("id" = String, Path, description = "Workflow id"), ("hook" = String, Path, description = "Hook id")),
	responses((status = 200, body = Envelope<Option<String>>), (status = 404, body = crate::views::ErrorBody)))]
pub(crate) async fn delete_hook(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path((id, hook)): Path<(String, String)>,
) -> ApiResult<Option<String>> {
	let hook = owned_hook(&state, &caller, &id, &hook).await?;
	state.hooks.delete_hook(hook.id).await?;
	state
		.audit(
			&caller,
			"hook.delete",
			format!("hook/{}", hook.id),
			json!({}),
		)
		.await;
	Ok(Json(Envelope::new(None, "Hook deleted".to_owned())))
}

/// What a call of a hook answers.
#[derive(Serialize, ToSchema)]
pub(crate) struct HookCallView {
	#[schema(format = Uuid)]
	execution_id: String,
	/// The execution's status (its end status when the hook waits for completion).
	status: String,
	/// The workflow's results, when it ended in time.
	#[schema(value_type = Option<Object>)]
	results: Option<Value>,
}

/// The pairs of a query string or a form body.
fn pairs(text: &[u8], field: &str) -> Result<Map<String, Value>, ApiError> {
	let list: Vec<(String, String)> = serde_urlencoded::from_bytes(text)
		.map_err(|e| ApiError::bad_request(field, format!("malformed: {e}")))?;
	Ok(list
		.into_iter()
		.map(|(k, v)| (k, Value::String(v)))
		.collect())
}

/// The request as the execution's parameters (see the module comment).
fn parameters(
	hook: &Hook,
	headers: &HeaderMap,
	query: Option<&str>,
	body: &[u8],
) -> Result<Map<String, Value>, ApiError> {
	let content_type = headers
		.get(header::CONTENT_TYPE)
		.and_then(|v| v.to_str().ok())
		.unwrap_or("")
		.to_ascii_lowercase();
	let mut parameters = Map::new();
	let mut raw = Value::Null;
	let declared_json =
		content_type.starts_with("application/json") || content_type.contains("+json");
	// `curl -d '{…}'` says form-urlencoded, and many senders say nothing: a body that starts
	// like a JSON object or array is read as JSON unless the sender declared something else.
	let looks_json = matches!(
		body.iter().find(|b| !b.is_ascii_whitespace()),
		Some(b'{' | b'[')
	) && (content_type.is_empty()
		|| content_type.starts_with("application/x-www-form-urlencoded"));
	if body.iter().all(u8::is_ascii_whitespace) {
		// No body: the query alone.
	} else if declared_json || looks_json {
		match serde_json::from_slice::<Value>(body) {
			Ok(Value::Object(fields)) => parameters = fields,
			Ok(other) => raw = other,
			Err(e) => return Err(ApiError::bad_request("", format!("malformed JSON: {e}"))),
		}
	} else if content_type.starts_with("application/x-www-form-urlencoded") {
		parameters = pairs(body, "")?;
	} else {
		let text = std::str::from_utf8(body)
			.map_err(|_| ApiError::bad_request("", "the body is not UTF-8 text"))?;
		raw = Value::String(text.to_owned());
	}
	let query = pairs(query.unwrap_or("").as_bytes(), "query")?;
	let chosen: Map<String, Value> = hook
		.settings
		.headers
		.iter()
		.filter_map(|name| {
			let value = headers.get(name.as_str())?.to_str().ok()?;
			Some((name.clone(), Value::String(value.to_owned())))
		})
		.collect();
	parameters.insert(
		"webhook".to_owned(),
		json!({
			"query": query,
			"headers": chosen,
			"content_type": content_type,
			"body": raw,
		}),
	);
	Ok(parameters)
}

/// Starts the hook's workflow with the request as its parameters.
#[utoipa::path(post, path = "/api/v1/hooks/{token}", tag = "hooks",
	params(("token" = String, Path, description = "The hook's token")),
	request_body(content = Object, description = "JSON, a form, or any text", content_type = "application/json"),
	responses((status = 202, body = Envelope<HookCallView>), (status = 200, body = Envelope<HookCallView>),
		(status = 400, body = crate::views::ErrorBody), (status = 401, body = crate::views::ErrorBody),
		(status = 403, body = crate::views::ErrorBody), (status = 404, body = crate::views::ErrorBody),
		(status = 413, body = crate::views::ErrorBody), (status = 429, body = crate::views::ErrorBody)),
	security(()))]
pub(crate) async fn receive(
	State(state): State<AppState>,
	Path(token): Path<String>,
	RawQuery(query): RawQuery,
	headers: HeaderMap,
	body: Bytes,
) -> Result<(StatusCode, Json<Envelope<HookCallView>>), ApiError> {
	let unknown = || ApiError::NotFound("no such hook".to_owned());
	if !token.starts_with(TOKEN_PREFIX) || token.len() > 200 {
		return Err(unknown());
	}
	let hook = state
		.hooks
		.find_hook(&hash_api_key(&token))
		.await?
		.ok_or_else(unknown)?;
	let settings = &hook.settings;
	if !state.hook_limits.take(hook.id, settings.rate_per_minute) {
		return Err(ApiError::TooMany(format!(
			"this hook takes {} requests a minute",
			settings.rate_per_minute
		)));
	}
	if body.len() as u64 > settings.max_body_bytes {
		return Err(ApiError::TooLarge);
	}
	let resource = format!("hook/{}", hook.id);
	if let Some(sig) = &settings.signature {
		let presented = headers
			.get(sig.header.as_str())
			.and_then(|v| v.to_str().ok())
			.unwrap_or("");
		let secret = state.security.keys.decrypt(&sig.sealed_secret)?;
		if !verify_signature(sig.algorithm, secret.as_bytes(), &body, presented) {
			let details = json!({"reason": "bad signature"});
			state
				.security
				.audit
				.record(None, "hook.receive", &resource, false, details)
				.await;
			return Err(ApiError::Unauthorized(format!(
				"the {} header does not sign this body",
				sig.header
			)));
		}
	}
	let parameters = parameters(&hook, &headers, query.as_deref(), &body)?;
	let guard = &state.security.guard;
	let principal = match guard
		.delegate(hook.created_by, hook.workflow_id, WorkflowAction::Execute)
		.await?
	{
		Delegation::Allowed(principal) => principal,
		Delegation::Refused(principal, why) => {
			let details = json!({"reason": why});
			state
				.security
				.audit
				.record(
					principal.as_ref(),
					"hook.receive",
					&resource,
					false,
					details,
				)
				.await;
			return Err(ApiError::Forbidden(format!(
				"this hook may not start its workflow: {why}"
			)));
		}
	};
	let request = ExecuteRequest {
		workflow_id: hook.workflow_id,
		parameters,
		started_by: Some(hook.created_by),
		..Default::default()
	};
	let execution = state.engine.execute(request).await?;
	let details = json!({"execution_id": execution.id.to_string()});
	state
		.security
		.audit
		.record(Some(&principal), "hook.receive", &resource, true, details)
		.await;
	let mut view = HookCallView {
		execution_id: execution.id.to_string(),
		status: execution.status.as_str().to_owned(),
		results: None,
	};
	if settings.respond == Respond::OnCompletion {
		let wait = Duration::from_secs(u64::from(settings.timeout_seconds));
		if let Ok(Ok(ended)) = tokio::time::timeout(wait, state.engine.wait(execution.id)).await {
			view.status = ended.status.as_str().to_owned();
			view.results = ended.results;
			return Ok((StatusCode::OK, Json(Envelope::new(view, None))));
		}
	}
	Ok((
		StatusCode::ACCEPTED,
		Json(Envelope::new(view, "Execution started".to_owned())),
	))
}
