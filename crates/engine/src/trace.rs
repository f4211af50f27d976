//! The execution trace (the seed's `WorkflowDebugger.get_execution_trace`), built from the store
//! so it is the same whether the execution ran here or in a server: one entry per component that
//! ran, in start order, with its input, the variables, and its result and attempts.

use apg_core::{ComponentStatus, ExecutionId, Store};
use chrono::{TimeZone, Utc};
use serde_json::{Value, json};

use crate::error::{EngineError, Result};

fn iso(ms: Option<i64>) -> Value {
	ms.and_then(|m| Utc.timestamp_millis_opt(m).single())
		.map(|t| Value::String(t.to_rfc3339()))
		.unwrap_or(Value::Null)
}

/// The trace of execution `id`.
pub async fn build(store: &dyn Store, id: ExecutionId) -> Result<Value> {
	let exec = store
		.get_execution(id)
		.await?
		.ok_or_else(|| EngineError::NotFound(format!("execution {id}")))?;
	let mut steps = store.steps(id).await?;
	steps.sort_by_key(|s| s.started_at.unwrap_or(i64::MAX));
	let attempts = store.attempts(id).await?;
	let entries: Vec<Value> = steps
		.iter()
		.filter(|s| s.status != ComponentStatus::Pending)
		.map(|s| {
			let tries: Vec<Value> = attempts
				.iter()
				.filter(|a| a.component_id == s.component_id)
				.map(|a| {
					json!({"attempt": a.attempt, "status": a.status, "error_message": a.error_message,
					"started_at": iso(Some(a.started_at)), "finished_at": iso(a.finished_at)})
				})
				.collect();
			json!({
				"component_id": s.component_id,
				"component_type": s.component_type,
				"timestamp": iso(s.started_at),
				"input_data": s.input,
				"variables": exec.vars,
				"status": s.status,
				"result": {
					"success": s.status == ComponentStatus::Completed,
					"output_data": s.output,
					"error_message": s.error_message,
					"duration_ms": s.duration_ms,
				},
				"attempts": tries,
			})
		})
		.collect();
	Ok(Value::Array(entries))
}
