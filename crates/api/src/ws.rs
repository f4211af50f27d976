//! `/ws`: real-time updates as the seed's `WorkflowWebSocketManager` sends them.
//!
//! The client sends `{"action": "subscribe", "workflow_id": …}` or `{"action": "subscribe",
//! "execution_id": …}` (and `unsubscribe`), and receives `{"type": "workflow_update",
//! "workflow_id", "data", "timestamp"}` for every event of what it follows, in commit order.
//! Subscribing to an execution first replays its stored events, so a client that subscribes
//! after the execution started (or ended) still sees all of them, once.
//!
//! Without subscribing, a connection also receives `{"type": "notification", "data",
//! "timestamp"}` for each in-app notification sent to its own user (`apg_notification`), and
//! never one of anyone else's. A connection too slow for those misses them rather than being
//! closed: every one is stored, at `GET /api/v1/notifications`.
//!
//! Memory is bounded: events come from the engine's fixed-size broadcast buffer; a client that
//! falls that far behind, or does not take a message within the send timeout, is disconnected
//! (close code 1008) instead of being buffered for.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use apg_auth::Connection;
use apg_core::{Event, ExecutionId, Principal, WorkflowAction, WorkflowId};
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use crate::views::iso;

/// How often a connection's access is checked again: a revoked share, a changed role or a
/// disabled user ends what it may follow within this time.
const RECHECK: Duration = Duration::from_secs(5);

/// How long one message may take to reach a client before it is considered too slow.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) async fn upgrade(
	State(state): State<AppState>,
	Caller(caller): Caller,
	ws: WebSocketUpgrade,
) -> Response {
	if state.ws_open.load(Ordering::Relaxed) >= state.config.max_ws_connections {
		return ApiError::TooMany("too many WebSocket connections".to_owned()).into_response();
	}
	let user = match state.security.connections.open(caller.user_id) {
		Ok(slot) => slot,
		Err(e) => {
			state
				.security
				.guard
				.deny(&caller, "ws.connect", "/ws", &e.to_string())
				.await;
			return ApiError::from(e).into_response();
		}
	};
	ws.max_message_size(64 * 1024)
		.on_upgrade(move |socket| session(state, caller, socket, user))
}

struct Counted(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Counted {
	fn drop(&mut self) {
		self.0.fetch_sub(1, Ordering::Relaxed);
	}
}

fn update(event: &Event) -> Message {
	let text = json!({
		"type": "workflow_update",
		"workflow_id": event.workflow_id.to_string(),
		"data": event,
		"timestamp": iso(event.at),
	});
	Message::Text(text.to_string().into())
}

fn notification(n: &apg_core::Notification) -> Message {
	let text = json!({
		"type": "notification",
		"data": crate::rest::notifications::NotificationView::new(n),
		"timestamp": iso(n.created_at),
	});
	Message::Text(text.to_string().into())
}

async fn session(state: AppState, mut caller: Principal, socket: WebSocket, _user: Connection) {
	state.ws_open.fetch_add(1, Ordering::Relaxed);
	let _open = Counted(Arc::clone(&state.ws_open));
	let (mut sink, mut stream) = socket.split();
	let mut events = state.engine.subscribe();
	let mut notices = state.security.notices.subscribe();
	let mut workflows: HashSet<WorkflowId> = HashSet::new();
	let mut executions: HashSet<ExecutionId> = HashSet::new();
	// Events already sent by a replay, so the live stream does not repeat them.
	let mut replayed: Vec<Event> = Vec::new();
	let mut recheck = tokio::time::interval(RECHECK);
	recheck.tick().await;
	loop {
		let outgoing: Vec<Message> = tokio::select! {
			_ = recheck.tick() => {
				match reauthorize(&state, &mut caller, &mut workflows, &mut executions).await {
					Some(messages) => messages,
					None => {
						let frame = CloseFrame { code: 1008, reason: "the user was disabled".into() };
						let _ = tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Close(Some(frame)))).await;
						return;
					}
				}
			}
			incoming = stream.next() => match incoming {
				Some(Ok(Message::Text(text))) => {
					command(&state, &caller, &text, &mut workflows, &mut executions, &mut replayed).await
				}
				Some(Ok(Message::Close(_)) | Err(_)) | None => return,
				Some(Ok(_)) => Vec::new(),
			},
			event = events.recv() => match event {
				Ok(event) => {
					let wanted = executions.contains(&event.execution_id) || workflows.contains(&event.workflow_id);
					if let Some(i) = replayed.iter().position(|r| *r == *event) {
						replayed.swap_remove(i);
						Vec::new()
					} else if wanted {
						vec![update(&event)]
					} else {
						Vec::new()
					}
				}
				Err(RecvError::Lagged(_)) => {
					let frame = CloseFrame { code: 1008, reason: "too slow: events were dropped".into() };
					let _ = tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Close(Some(frame)))).await;
					return;
				}
				Err(RecvError::Closed) => return,
			},
			notice = notices.recv() => match notice {
				Ok(n) if n.user_id == caller.user_id => vec![notification(&n)],
				Ok(_) | Err(RecvError::Lagged(_)) => Vec::new(),
				Err(RecvError::Closed) => return,
			},
		};
		for message in outgoing {
			match tokio::time::timeout(SEND_TIMEOUT, sink.send(message)).await {
				Ok(Ok(())) => {}
				_ => return,
			}
		}
	}
}

async fn command(
	state: &AppState,
	caller: &Principal,
	text: &str,
	workflows: &mut HashSet<WorkflowId>,
	executions: &mut HashSet<ExecutionId>,
	replayed: &mut Vec<Event>,
) -> Vec<Message> {
	let error = |message: &str| {
		vec![Message::Text(
			json!({"type": "error", "error": message})
				.to_string()
				.into(),
		)]
	};
	let Ok(value) = serde_json::from_str::<Value>(text) else {
		return error("messages must be JSON objects");
	};
	let action = value
		.get("action")
		.and_then(Value::as_str)
		.unwrap_or_default();
	let subscribe = match action {
		"subscribe" => true,
		"unsubscribe" => false,
		"ping" => return vec![Message::Text(json!({"type": "pong"}).to_string().into())],
		_ => return error("action must be subscribe, unsubscribe or ping"),
	};
	let store = state.engine.store();
	let guard = &state.security.guard;
	if let Some(id) = value.get("workflow_id").and_then(Value::as_str) {
		let Ok(id) = id.parse::<WorkflowId>() else {
			return error("unknown workflow");
		};
		if subscribe {
			// Hidden and missing look the same: existence does not leak.
			match guard.workflow(caller, id, WorkflowAction::Read).await {
				Ok(_) => workflows.insert(id),
				_ => return error("unknown workflow"),
			};
		} else {
			workflows.remove(&id);
		}
		let reply = json!({"type": if subscribe { "subscribed" } else { "unsubscribed" }, "workflow_id": id.to_string()});
		return vec![Message::Text(reply.to_string().into())];
	}
	if let Some(id) = value.get("execution_id").and_then(Value::as_str) {
		let Ok(id) = id.parse::<ExecutionId>() else {
			return error("unknown execution");
		};
		if !subscribe {
			executions.remove(&id);
			let reply = json!({"type": "unsubscribed", "execution_id": id.to_string()});
			return vec![Message::Text(reply.to_string().into())];
		}
		if guard
			.execution(caller, id, WorkflowAction::Read)
			.await
			.is_err()
		{
			return error("unknown execution");
		}
		executions.insert(id);
		let mut out = vec![Message::Text(
			json!({"type": "subscribed", "execution_id": id.to_string()})
				.to_string()
				.into(),
		)];
		let history = store.events(id).await.unwrap_or_default();
		for record in history {
			out.push(update(&record.event));
			// Bounded: an event replayed here that had already been broadcast never comes again.
			if replayed.len() < 10_000 {
				replayed.push(record.event);
			}
		}
		return out;
	}
	error("subscribe needs a workflow_id or an execution_id")
}

/// Checks the caller and each subscription again. `None` when the user is gone or disabled
/// (the connection closes); otherwise an `unsubscribed` message for each feed they lost.
async fn reauthorize(
	state: &AppState,
	caller: &mut Principal,
	workflows: &mut HashSet<WorkflowId>,
	executions: &mut HashSet<ExecutionId>,
) -> Option<Vec<Message>> {
	*caller = state.security.authn.current(caller.user_id).await.ok()?;
	let guard = &state.security.guard;
	let mut out = Vec::new();
	let revoked = |key: &str, id: String| {
		let reply = json!({"type": "unsubscribed", key: id, "reason": "access revoked"});
		Message::Text(reply.to_string().into())
	};
	for id in workflows.clone() {
		if guard
			.workflow(caller, id, WorkflowAction::Read)
			.await
			.is_err()
		{
			workflows.remove(&id);
			out.push(revoked("workflow_id", id.to_string()));
		}
	}
	for id in executions.clone() {
		if guard
			.execution(caller, id, WorkflowAction::Read)
			.await
			.is_err()
		{
			executions.remove(&id);
			out.push(revoked("execution_id", id.to_string()));
		}
	}
	Some(out)
}
