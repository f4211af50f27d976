//! Signals: `POST /executions/{id}/signals/{name}` sends one to an execution (kept until a
//! `wait_for_event` step takes it, so one sent before the wait begins is not lost), and
//! `POST /signals/{name}` to every execution waiting now for that name and key among the
//! workflows the caller may run. Sending needs `execute` on the workflow; each send is audited.

use apg_core::{ExecutionId, WorkflowAction};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{JsonBody, parse_id, typed};
use crate::state::AppState;
use crate::views::Envelope;

pub(crate) fn router() -> Router<AppState> {
	Router::new()
		.route("/executions/{id}/signals/{name}", post(signal_execution))
		.route("/signals/{name}", post(signal_waiting))
}

/// A signal's key and payload.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignalBody {
	/// The correlation key (a string or a number).
	#[serde(default)]
	#[schema(value_type = Option<String>)]
	key: Option<Value>,
	/// What the waiting step outputs.
	#[serde(default)]
	#[schema(value_type = Option<Object>)]
	payload: Option<Value>,
}

impl SignalBody {
	fn key(&self) -> Result<Option<String>, ApiError> {
		match &self.key {
			None | Some(Value::Null) => Ok(None),
			Some(Value::String(s)) => Ok(Some(s.clone())),
			Some(v @ (Value::Number(_) | Value::Bool(_))) => Ok(Some(v.to_string())),
			Some(_) => Err(ApiError::bad_request("key", "must be a string or a number")),
		}
	}
}

/// A signal as sent.
#[derive(Serialize, ToSchema)]
pub(crate) struct SignalView {
	id: String,
	execution_id: String,
	name: String,
	key: Option<String>,
}

/// Where a signal sent by name went.
#[derive(Serialize, ToSchema)]
pub(crate) struct BroadcastView {
	name: String,
	key: Option<String>,
	/// The executions it was sent to.
	executions: Vec<String>,
}

fn body(value: Value) -> Result<SignalBody, ApiError> {
	if value.is_null() {
		return Ok(SignalBody::default());
	}
	typed(value)
}

/// Sends a signal to one execution (202: kept until a step waiting for it takes it).
#[utoipa::path(post, path = "/api/v1/executions/{id}/signals/{name}", tag = "signals",
	request_body = SignalBody,
	params(("id" = String, Path, description = "Execution id"),
		("name" = String, Path, description = "The signal's name")),
	responses((status = 202, body = Envelope<SignalView>), (status = 400, body = crate::views::ErrorBody),
		(status = 403, body = crate::views::ErrorBody), (status = 404, body = crate::views::ErrorBody),
		(status = 409, body = crate::views::ErrorBody), (status = 422, body = crate::views::ErrorBody)))]
pub(crate) async fn signal_execution(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path((id, name)): Path<(String, String)>,
	JsonBody(raw): JsonBody,
) -> Result<(StatusCode, Json<Envelope<SignalView>>), ApiError> {
	let body = body(raw)?;
	let key = body.key()?;
	let id: ExecutionId = parse_id(&id, "execution")?;
	let exec = state
		.security
		.guard
		.execution(&caller, id, WorkflowAction::Execute)
		.await?;
	let payload = body.payload.unwrap_or(Value::Null);
	let signal = state
		.engine
		.signal(exec.id, name, key, payload, Some(caller.user_id))
		.await?;
	let details = json!({"name": signal.name, "key": signal.key});
	state
		.audit(
			&caller,
			"signal.send",
			format!("execution/{}", exec.id),
			details,
		)
		.await;
	let view = SignalView {
		id: signal.id.to_string(),
		execution_id: exec.id.to_string(),
		name: signal.name,
		key: signal.key,
	};
	Ok((
		StatusCode::ACCEPTED,
		Json(Envelope::new(view, "Signal sent".to_owned())),
	))
}

/// Sends a signal to every execution waiting now for that name and key (among the workflows
/// the caller may run). A signal by name is not kept for executions that wait later.
#[utoipa::path(post, path = "/api/v1/signals/{name}", tag = "signals", request_body = SignalBody,
	params(("name" = String, Path, description = "The signal's name")),
	responses((status = 202, body = Envelope<BroadcastView>), (status = 400, body = crate::views::ErrorBody),
		(status = 422, body = crate::views::ErrorBody)))]
pub(crate) async fn signal_waiting(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(name): Path<String>,
	JsonBody(raw): JsonBody,
) -> Result<(StatusCode, Json<Envelope<BroadcastView>>), ApiError> {
	let body = body(raw)?;
	let key = body.key()?;
	if name.trim().is_empty() || name.len() > 200 {
		return Err(ApiError::Unprocessable {
			message: "invalid: name: a signal's name has 1 to 200 characters".to_owned(),
			issues: vec![apg_core::Issue::new(
				"name",
				"a signal's name has 1 to 200 characters",
			)],
		});
	}
	let payload = body.payload.unwrap_or(Value::Null);
	let mut sent = Vec::new();
	for exec in state
		.engine
		.waiting_for_signal(&name, key.as_deref())
		.await?
	{
		let guard = &state.security.guard;
		if !guard
			.allows(&caller, exec.workflow_id, WorkflowAction::Execute)
			.await?
		{
			continue;
		}
		match state
			.engine
			.signal(
				exec.id,
				name.clone(),
				key.clone(),
				payload.clone(),
				Some(caller.user_id),
			)
			.await
		{
			Ok(_) => sent.push(exec.id.to_string()),
			// It ended in between.
			Err(apg_engine::EngineError::Conflict(_)) => {}
			Err(e) => return Err(e.into()),
		}
	}
	let details = json!({"name": name, "key": key, "executions": sent});
	state
		.audit(
			&caller,
			"signal.broadcast",
			format!("signal/{name}"),
			details,
		)
		.await;
	let message = format!("Signal sent to {} execution(s)", sent.len());
	let view = BroadcastView {
		name,
		key,
		executions: sent,
	};
	Ok((StatusCode::ACCEPTED, Json(Envelope::new(view, message))))
}
