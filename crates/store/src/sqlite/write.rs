//! Writing: workflows one at a time, execution batches with multi-row statements.
//!
//! A batch is grouped by table, the last write of each execution, step and attempt wins, and each
//! group becomes one `INSERT … ON CONFLICT DO UPDATE` per chunk of rows. This is what keeps the
//! cost of a step near one commit: 10,000 executions finishing together are a few statements,
//! not tens of thousands.

use std::collections::HashMap;

use apg_core::store::{StoreError, StoreResult};
use apg_core::{AttemptRecord, Batch, Event, Execution, LogRecord, StepRecord, Workflow, Write};
use serde::Serialize;
use sqlx::{QueryBuilder, Sqlite, Transaction};

use super::backend;

/// Rows per multi-row statement: well under SQLite's 32,766 bound variables for every table.
const CHUNK: usize = 1000;

fn to_json<T: Serialize + ?Sized>(value: &T) -> StoreResult<String> {
	serde_json::to_string(value)
		.map_err(|e| StoreError::Backend(format!("cannot encode JSON: {e}")))
}

fn to_json_opt<T: Serialize>(value: Option<&T>) -> StoreResult<Option<String>> {
	value.map(|v| to_json(v)).transpose()
}

pub(super) async fn insert_workflow(
	tx: &mut Transaction<'_, Sqlite>,
	w: &Workflow,
) -> StoreResult<()> {
	sqlx::query(
		"INSERT INTO wo_workflows (id, name, description, definition, status, category, tags, \
		 priority, version, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	)
	.bind(w.id.to_string())
	.bind(&w.name)
	.bind(&w.description)
	.bind(to_json(&w.definition)?)
	.bind(w.status.as_str())
	.bind(&w.category)
	.bind(to_json(&w.tags)?)
	.bind(i64::from(w.priority.get()))
	.bind(w.version)
	.bind(&w.created_by)
	.bind(w.created_at)
	.bind(w.updated_at)
	.execute(&mut **tx)
	.await
	.map_err(backend)?;
	Ok(())
}

pub(super) async fn update_workflow(
	tx: &mut Transaction<'_, Sqlite>,
	w: &Workflow,
) -> StoreResult<bool> {
	let done = sqlx::query(
		"UPDATE wo_workflows SET name = ?, description = ?, definition = ?, status = ?, \
		 category = ?, tags = ?, priority = ?, version = ?, updated_at = ? WHERE id = ?",
	)
	.bind(&w.name)
	.bind(&w.description)
	.bind(to_json(&w.definition)?)
	.bind(w.status.as_str())
	.bind(&w.category)
	.bind(to_json(&w.tags)?)
	.bind(i64::from(w.priority.get()))
	.bind(w.version)
	.bind(w.updated_at)
	.bind(w.id.to_string())
	.execute(&mut **tx)
	.await
	.map_err(backend)?;
	Ok(done.rows_affected() > 0)
}

/// Stores the workflow's current version unless it exists (versions are immutable).
pub(super) async fn insert_version(
	tx: &mut Transaction<'_, Sqlite>,
	w: &Workflow,
) -> StoreResult<()> {
	sqlx::query(
		"INSERT INTO wo_workflow_versions (workflow_id, version, definition, created_at) \
		 VALUES (?, ?, ?, ?) ON CONFLICT (workflow_id, version) DO NOTHING",
	)
	.bind(w.id.to_string())
	.bind(w.version)
	.bind(to_json(&w.definition)?)
	.bind(w.updated_at)
	.execute(&mut **tx)
	.await
	.map_err(backend)?;
	Ok(())
}

/// Keeps the last write per key, in first-seen order.
struct LastWins<'a, K, V> {
	index: HashMap<K, usize>,
	rows: Vec<&'a V>,
}

impl<'a, K: std::hash::Hash + Eq, V> LastWins<'a, K, V> {
	fn new() -> Self {
		Self {
			index: HashMap::new(),
			rows: Vec::new(),
		}
	}

	fn put(&mut self, key: K, value: &'a V) {
		match self.index.get(&key) {
			Some(&i) => self.rows[i] = value,
			None => {
				self.index.insert(key, self.rows.len());
				self.rows.push(value);
			}
		}
	}
}

pub(super) async fn batch(tx: &mut Transaction<'_, Sqlite>, batch: &Batch) -> StoreResult<()> {
	let mut executions = LastWins::new();
	let mut steps = LastWins::new();
	let mut attempts = LastWins::new();
	let mut events: Vec<&Event> = Vec::new();
	let mut logs: Vec<&LogRecord> = Vec::new();
	for w in &batch.writes {
		match w {
			Write::Execution(e) => executions.put(e.id, &**e),
			Write::Step(s) => steps.put((s.execution_id, s.component_id.as_str()), &**s),
			Write::Attempt(a) => {
				attempts.put((a.execution_id, a.component_id.as_str(), a.attempt), a)
			}
			Write::Event(e) => events.push(e),
			Write::Log(l) => logs.push(l),
		}
	}
	for chunk in executions.rows.chunks(CHUNK) {
		write_executions(tx, chunk).await?;
	}
	for chunk in steps.rows.chunks(CHUNK) {
		write_steps(tx, chunk).await?;
	}
	for chunk in attempts.rows.chunks(CHUNK) {
		write_attempts(tx, chunk).await?;
	}
	for chunk in events.chunks(CHUNK) {
		write_events(tx, chunk).await?;
	}
	for chunk in logs.chunks(CHUNK) {
		write_logs(tx, chunk).await?;
	}
	Ok(())
}

async fn write_executions(
	tx: &mut Transaction<'_, Sqlite>,
	rows: &[&Execution],
) -> StoreResult<()> {
	let mut encoded = Vec::with_capacity(rows.len());
	for e in rows {
		encoded.push((
			to_json(&e.parameters)?,
			to_json(&e.vars)?,
			to_json_opt(e.results.as_ref())?,
			to_json(&e.breakpoints)?,
		));
	}
	let mut q = QueryBuilder::<Sqlite>::new(
		"INSERT INTO wo_executions (id, workflow_id, workflow_version, status, priority, \
		 parameters, vars, results, error_message, breakpoints, created_at, started_at, completed_at) ",
	);
	q.push_values(
		rows.iter().zip(encoded),
		|mut b, (e, (params, vars, results, bps))| {
			b.push_bind(e.id.to_string())
				.push_bind(e.workflow_id.to_string())
				.push_bind(e.workflow_version)
				.push_bind(e.status.as_str())
				.push_bind(i64::from(e.priority.get()))
				.push_bind(params)
				.push_bind(vars)
				.push_bind(results)
				.push_bind(e.error_message.clone())
				.push_bind(bps)
				.push_bind(e.created_at)
				.push_bind(e.started_at)
				.push_bind(e.completed_at);
		},
	);
	q.push(
		" ON CONFLICT (id) DO UPDATE SET status = excluded.status, priority = excluded.priority, \
		 vars = excluded.vars, results = excluded.results, error_message = excluded.error_message, \
		 breakpoints = excluded.breakpoints, started_at = excluded.started_at, \
		 completed_at = excluded.completed_at",
	);
	q.build()
		.persistent(false)
		.execute(&mut **tx)
		.await
		.map_err(backend)?;
	Ok(())
}

async fn write_steps(tx: &mut Transaction<'_, Sqlite>, rows: &[&StepRecord]) -> StoreResult<()> {
	let mut encoded = Vec::with_capacity(rows.len());
	for s in rows {
		encoded.push((
			to_json_opt(s.input.as_ref())?,
			to_json_opt(s.output.as_ref())?,
		));
	}
	let mut q = QueryBuilder::<Sqlite>::new(
		"INSERT INTO wo_component_executions (execution_id, component_id, component_type, status, \
		 attempt, input_data, output_data, branch, error_message, run_at, started_at, completed_at, \
		 duration_ms) ",
	);
	q.push_values(rows.iter().zip(encoded), |mut b, (s, (input, output))| {
		b.push_bind(s.execution_id.to_string())
			.push_bind(s.component_id.clone())
			.push_bind(s.component_type.clone())
			.push_bind(s.status.as_str())
			.push_bind(i64::from(s.attempt))
			.push_bind(input)
			.push_bind(output)
			.push_bind(s.branch.clone())
			.push_bind(s.error_message.clone())
			.push_bind(s.run_at)
			.push_bind(s.started_at)
			.push_bind(s.completed_at)
			.push_bind(s.duration_ms);
	});
	q.push(
		" ON CONFLICT (execution_id, component_id) DO UPDATE SET status = excluded.status, \
		 attempt = excluded.attempt, input_data = excluded.input_data, \
		 output_data = excluded.output_data, branch = excluded.branch, \
		 error_message = excluded.error_message, run_at = excluded.run_at, \
		 started_at = excluded.started_at, completed_at = excluded.completed_at, \
		 duration_ms = excluded.duration_ms",
	);
	q.build()
		.persistent(false)
		.execute(&mut **tx)
		.await
		.map_err(backend)?;
	Ok(())
}

async fn write_attempts(
	tx: &mut Transaction<'_, Sqlite>,
	rows: &[&AttemptRecord],
) -> StoreResult<()> {
	let mut q = QueryBuilder::<Sqlite>::new(
		"INSERT INTO wo_component_attempts (execution_id, component_id, attempt, status, \
		 error_message, started_at, finished_at) ",
	);
	q.push_values(rows, |mut b, a| {
		b.push_bind(a.execution_id.to_string())
			.push_bind(a.component_id.clone())
			.push_bind(i64::from(a.attempt))
			.push_bind(a.status.as_str())
			.push_bind(a.error_message.clone())
			.push_bind(a.started_at)
			.push_bind(a.finished_at);
	});
	q.push(
		" ON CONFLICT (execution_id, component_id, attempt) DO UPDATE SET status = excluded.status, \
		 error_message = excluded.error_message, finished_at = excluded.finished_at",
	);
	q.build()
		.persistent(false)
		.execute(&mut **tx)
		.await
		.map_err(backend)?;
	Ok(())
}

async fn write_events(tx: &mut Transaction<'_, Sqlite>, rows: &[&Event]) -> StoreResult<()> {
	let mut encoded = Vec::with_capacity(rows.len());
	for e in rows {
		encoded.push(to_json(e)?);
	}
	let mut q =
		QueryBuilder::<Sqlite>::new("INSERT INTO wo_execution_events (execution_id, at, data) ");
	q.push_values(rows.iter().zip(encoded), |mut b, (e, data)| {
		b.push_bind(e.execution_id.to_string())
			.push_bind(e.at)
			.push_bind(data);
	});
	q.build()
		.persistent(false)
		.execute(&mut **tx)
		.await
		.map_err(backend)?;
	Ok(())
}

async fn write_logs(tx: &mut Transaction<'_, Sqlite>, rows: &[&LogRecord]) -> StoreResult<()> {
	let mut q = QueryBuilder::<Sqlite>::new(
		"INSERT INTO wo_execution_logs (execution_id, at, level, component_id, message) ",
	);
	q.push_values(rows, |mut b, l| {
		b.push_bind(l.execution_id.to_string())
			.push_bind(l.at)
			.push_bind(l.level.as_str())
			.push_bind(l.component_id.clone())
			.push_bind(l.message.clone());
	});
	q.build()
		.persistent(false)
		.execute(&mut **tx)
		.await
		.map_err(backend)?;
	Ok(())
}
