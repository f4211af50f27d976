//! Writing a batch to PostgreSQL: one multi-row `INSERT … ON CONFLICT DO UPDATE` per table and
//! chunk, in one transaction (each statement is a network round trip, so fewer is faster).

use apg_core::store::StoreResult;
use apg_core::{AttemptRecord, Batch, Event, Execution, LogRecord, StepRecord};
use serde_json::Value;
use sqlx::{Postgres, QueryBuilder, Transaction};

use super::backend;

/// Rows per statement: under PostgreSQL's 65,535 bind parameters for every table.
const CHUNK: usize = 2000;

fn json<T: serde::Serialize>(value: &T) -> Value {
	serde_json::to_value(value).unwrap_or(Value::Null)
}

pub(super) async fn batch(tx: &mut Transaction<'_, Postgres>, batch: &Batch) -> StoreResult<()> {
	let rows = crate::dedup::dedup(batch);
	for chunk in rows.executions.chunks(CHUNK) {
		executions(tx, chunk).await?;
	}
	for chunk in rows.steps.chunks(CHUNK) {
		steps(tx, chunk).await?;
	}
	for chunk in rows.attempts.chunks(CHUNK) {
		attempts(tx, chunk).await?;
	}
	for chunk in rows.events.chunks(CHUNK) {
		events(tx, chunk).await?;
	}
	for chunk in rows.logs.chunks(CHUNK) {
		logs(tx, chunk).await?;
	}
	Ok(())
}

async fn executions(tx: &mut Transaction<'_, Postgres>, rows: &[&Execution]) -> StoreResult<()> {
	let mut q = QueryBuilder::<Postgres>::new(
		"INSERT INTO wo_executions (id, workflow_id, workflow_version, status, priority, parameters, \
		 vars, results, error_message, breakpoints, idempotency_key, created_at, started_at, \
		 completed_at, started_by) ",
	);
	q.push_values(rows, |mut b, e| {
		b.push_bind(e.id.0)
			.push_bind(e.workflow_id.0)
			.push_bind(e.workflow_version as i32)
			.push_bind(e.status.as_str())
			.push_bind(i32::from(e.priority.get()))
			.push_bind(json(&e.parameters))
			.push_bind(json(&e.vars))
			.push_bind(e.results.clone())
			.push_bind(e.error_message.clone())
			.push_bind(json(&e.breakpoints))
			.push_bind(e.idempotency_key.clone())
			.push_bind(e.created_at)
			.push_bind(e.started_at)
			.push_bind(e.completed_at)
			.push_bind(e.started_by.map(|u| u.0));
	});
	q.push(
		" ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, priority = EXCLUDED.priority, \
		 vars = EXCLUDED.vars, results = EXCLUDED.results, error_message = EXCLUDED.error_message, \
		 breakpoints = EXCLUDED.breakpoints, started_at = EXCLUDED.started_at, \
		 completed_at = EXCLUDED.completed_at, \
		 cancel_requested = CASE WHEN wo_executions.status IN ('completed', 'failed', 'cancelled') \
		   THEN FALSE ELSE wo_executions.cancel_requested END, \
		 lease_owner = CASE WHEN wo_executions.status IN ('completed', 'failed', 'cancelled') \
		   THEN NULL ELSE wo_executions.lease_owner END",
	);
	q.build().execute(&mut **tx).await.map_err(backend)?;
	Ok(())
}

async fn steps(tx: &mut Transaction<'_, Postgres>, rows: &[&StepRecord]) -> StoreResult<()> {
	let mut q = QueryBuilder::<Postgres>::new(
		"INSERT INTO wo_component_executions (execution_id, component_id, component_type, status, \
		 attempt, input_data, output_data, branch, error_message, run_at, started_at, completed_at, \
		 duration_ms) ",
	);
	q.push_values(rows, |mut b, s| {
		b.push_bind(s.execution_id.0)
			.push_bind(s.component_id.clone())
			.push_bind(s.component_type.clone())
			.push_bind(s.status.as_str())
			.push_bind(s.attempt as i32)
			.push_bind(s.input.clone())
			.push_bind(s.output.clone())
			.push_bind(s.branch.clone())
			.push_bind(s.error_message.clone())
			.push_bind(s.run_at)
			.push_bind(s.started_at)
			.push_bind(s.completed_at)
			.push_bind(s.duration_ms);
	});
	q.push(
		" ON CONFLICT (execution_id, component_id) DO UPDATE SET status = EXCLUDED.status, \
		 attempt = EXCLUDED.attempt, input_data = EXCLUDED.input_data, \
		 output_data = EXCLUDED.output_data, branch = EXCLUDED.branch, \
		 error_message = EXCLUDED.error_message, run_at = EXCLUDED.run_at, \
		 started_at = EXCLUDED.started_at, completed_at = EXCLUDED.completed_at, \
		 duration_ms = EXCLUDED.duration_ms",
	);
	q.build().execute(&mut **tx).await.map_err(backend)?;
	Ok(())
}

async fn attempts(tx: &mut Transaction<'_, Postgres>, rows: &[&AttemptRecord]) -> StoreResult<()> {
	let mut q = QueryBuilder::<Postgres>::new(
		"INSERT INTO wo_component_attempts (execution_id, component_id, attempt, status, \
		 error_message, started_at, finished_at) ",
	);
	q.push_values(rows, |mut b, a| {
		b.push_bind(a.execution_id.0)
			.push_bind(a.component_id.clone())
			.push_bind(a.attempt as i32)
			.push_bind(a.status.as_str())
			.push_bind(a.error_message.clone())
			.push_bind(a.started_at)
			.push_bind(a.finished_at);
	});
	q.push(
		" ON CONFLICT (execution_id, component_id, attempt) DO UPDATE SET status = EXCLUDED.status, \
		 error_message = EXCLUDED.error_message, finished_at = EXCLUDED.finished_at",
	);
	q.build().execute(&mut **tx).await.map_err(backend)?;
	Ok(())
}

async fn events(tx: &mut Transaction<'_, Postgres>, rows: &[&Event]) -> StoreResult<()> {
	let mut q =
		QueryBuilder::<Postgres>::new("INSERT INTO wo_execution_events (execution_id, at, data) ");
	q.push_values(rows, |mut b, e| {
		b.push_bind(e.execution_id.0)
			.push_bind(e.at)
			.push_bind(json(e));
	});
	q.build().execute(&mut **tx).await.map_err(backend)?;
	Ok(())
}

async fn logs(tx: &mut Transaction<'_, Postgres>, rows: &[&LogRecord]) -> StoreResult<()> {
	let mut q = QueryBuilder::<Postgres>::new(
		"INSERT INTO wo_execution_logs (execution_id, at, level, component_id, message) ",
	);
	q.push_values(rows, |mut b, l| {
		b.push_bind(l.execution_id.0)
			.push_bind(l.at)
			.push_bind(l.level.as_str())
			.push_bind(l.component_id.clone())
			.push_bind(l.message.clone());
	});
	q.build().execute(&mut **tx).await.map_err(backend)?;
	Ok(())
}
