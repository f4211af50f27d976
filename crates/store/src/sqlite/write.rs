//! Writing, on the writer thread. A batch is deduplicated ([`crate::dedup`]) and encoded (JSON
//! and all) on the caller's side, then applied in one transaction of cached single-row
//! statements.

use apg_core::store::{StoreError, StoreResult};
use apg_core::{Batch, Workflow};
use rusqlite::{Connection, params};
use serde::Serialize;

fn to_json<T: Serialize + ?Sized>(value: &T) -> StoreResult<String> {
	serde_json::to_string(value)
		.map_err(|e| StoreError::Backend(format!("cannot encode JSON: {e}")))
}

fn to_json_opt<T: Serialize>(value: Option<&T>) -> StoreResult<Option<String>> {
	value.map(|v| to_json(v)).transpose()
}

/// A workflow's row, encoded.
pub(super) struct WorkflowRow {
	id: String,
	name: String,
	description: Option<String>,
	definition: String,
	status: &'static str,
	category: Option<String>,
	tags: String,
	priority: i64,
	version: i64,
	created_by: String,
	saved_by: String,
	created_at: i64,
	updated_at: i64,
}

impl WorkflowRow {
	pub(super) fn new(w: &Workflow) -> StoreResult<Self> {
		Ok(Self {
			id: w.id.to_string(),
			name: w.name.clone(),
			description: w.description.clone(),
			definition: to_json(&w.definition)?,
			status: w.status.as_str(),
			category: w.category.clone(),
			tags: to_json(&w.tags)?,
			priority: i64::from(w.priority.get()),
			version: w.version,
			created_by: w.created_by.clone(),
			saved_by: w.saved_by.clone(),
			created_at: w.created_at,
			updated_at: w.updated_at,
		})
	}
}

pub(super) fn create_workflow(conn: &mut Connection, w: &WorkflowRow) -> rusqlite::Result<()> {
	let tx = conn.savepoint()?;
	tx.prepare_cached(
		"INSERT INTO wo_workflows (id, name, description, definition, status, category, tags, \
		 priority, version, created_by, saved_by, created_at, updated_at) \
		 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
	)?
	.execute(params![
		w.id,
		w.name,
		w.description,
		w.definition,
		w.status,
		w.category,
		w.tags,
		w.priority,
		w.version,
		w.created_by,
		w.saved_by,
		w.created_at,
		w.updated_at
	])?;
	insert_version(&tx, w)?;
	tx.commit()
}

pub(super) fn update_workflow(conn: &mut Connection, w: &WorkflowRow) -> rusqlite::Result<bool> {
	let tx = conn.savepoint()?;
	let changed = tx
		.prepare_cached(
			"UPDATE wo_workflows SET name = ?1, description = ?2, definition = ?3, status = ?4, \
			 category = ?5, tags = ?6, priority = ?7, version = ?8, updated_at = ?9, \
			 saved_by = ?11 WHERE id = ?10",
		)?
		.execute(params![
			w.name,
			w.description,
			w.definition,
			w.status,
			w.category,
			w.tags,
			w.priority,
			w.version,
			w.updated_at,
			w.id,
			w.saved_by
		])?;
	if changed > 0 {
		insert_version(&tx, w)?;
	}
	tx.commit()?;
	Ok(changed > 0)
}

/// Stores the workflow's current version unless it exists (versions are immutable).
fn insert_version(tx: &Connection, w: &WorkflowRow) -> rusqlite::Result<()> {
	tx.prepare_cached(
		"INSERT INTO wo_workflow_versions (workflow_id, version, definition, created_at, saved_by) \
		 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (workflow_id, version) DO NOTHING",
	)?
	.execute(params![
		w.id,
		w.version,
		w.definition,
		w.updated_at,
		w.saved_by
	])?;
	Ok(())
}

pub(super) fn delete_ended_before(
	conn: &mut Connection,
	cutoff: i64,
	limit: i64,
) -> rusqlite::Result<u64> {
	let deleted = conn
		.prepare_cached(
			"DELETE FROM wo_executions WHERE id IN (SELECT id FROM wo_executions \
			 WHERE status IN ('completed', 'failed', 'cancelled') AND completed_at < ?1 LIMIT ?2)",
		)?
		.execute(params![cutoff, limit])?;
	Ok(deleted as u64)
}

pub(super) fn delete_workflow(conn: &mut Connection, id: &str) -> rusqlite::Result<bool> {
	Ok(conn
		.prepare_cached("DELETE FROM wo_workflows WHERE id = ?1")?
		.execute([id])?
		> 0)
}

struct ExecutionRow {
	id: String,
	workflow_id: String,
	workflow_version: i64,
	status: &'static str,
	priority: i64,
	parameters: String,
	vars: String,
	results: Option<String>,
	error_message: Option<String>,
	breakpoints: String,
	created_at: i64,
	started_at: Option<i64>,
	completed_at: Option<i64>,
	idempotency_key: Option<String>,
	started_by: Option<String>,
	rerun_of: Option<String>,
	parent_id: Option<String>,
	parent: Option<String>,
}

struct StepRow {
	execution_id: String,
	component_id: String,
	component_type: String,
	status: &'static str,
	attempt: i64,
	input: Option<String>,
	output: Option<String>,
	branch: Option<String>,
	error_message: Option<String>,
	run_at: Option<i64>,
	started_at: Option<i64>,
	completed_at: Option<i64>,
	duration_ms: Option<i64>,
	waiting: Option<String>,
}

struct AttemptRow {
	execution_id: String,
	component_id: String,
	attempt: i64,
	status: &'static str,
	error_message: Option<String>,
	started_at: i64,
	finished_at: Option<i64>,
}

struct LogRow {
	execution_id: String,
	at: i64,
	level: &'static str,
	component_id: Option<String>,
	message: String,
}

/// A batch encoded into rows, ready for the writer thread.
#[derive(Default)]
pub(super) struct EncodedBatch {
	executions: Vec<ExecutionRow>,
	steps: Vec<StepRow>,
	attempts: Vec<AttemptRow>,
	events: Vec<(String, i64, String)>,
	logs: Vec<LogRow>,
	/// Signals taken: (signal id, the step).
	taken: Vec<(String, String)>,
}

impl EncodedBatch {
	pub(super) fn new(batch: &Batch) -> StoreResult<Self> {
		let rows = crate::dedup::dedup(batch);
		let mut out = EncodedBatch::default();
		for e in rows.events {
			out.events
				.push((e.execution_id.to_string(), e.at, to_json(e)?));
		}
		for l in rows.logs {
			out.logs.push(LogRow {
				execution_id: l.execution_id.to_string(),
				at: l.at,
				level: l.level.as_str(),
				component_id: l.component_id.clone(),
				message: l.message.clone(),
			});
		}
		for e in rows.executions {
			out.executions.push(ExecutionRow {
				id: e.id.to_string(),
				workflow_id: e.workflow_id.to_string(),
				workflow_version: e.workflow_version,
				status: e.status.as_str(),
				priority: i64::from(e.priority.get()),
				parameters: to_json(&e.parameters)?,
				vars: to_json(&e.vars)?,
				results: to_json_opt(e.results.as_ref())?,
				error_message: e.error_message.clone(),
				breakpoints: to_json(&e.breakpoints)?,
				created_at: e.created_at,
				started_at: e.started_at,
				completed_at: e.completed_at,
				idempotency_key: e.idempotency_key.clone(),
				started_by: e.started_by.map(|u| u.to_string()),
				rerun_of: e.rerun_of.map(|r| r.to_string()),
				parent_id: e.parent.as_ref().map(|p| p.execution_id.to_string()),
				parent: to_json_opt(e.parent.as_ref())?,
			});
		}
		for s in rows.steps {
			out.steps.push(StepRow {
				execution_id: s.execution_id.to_string(),
				component_id: s.component_id.clone(),
				component_type: s.component_type.clone(),
				status: s.status.as_str(),
				attempt: i64::from(s.attempt),
				input: to_json_opt(s.input.as_ref())?,
				output: to_json_opt(s.output.as_ref())?,
				branch: s.branch.clone(),
				error_message: s.error_message.clone(),
				run_at: s.run_at,
				started_at: s.started_at,
				completed_at: s.completed_at,
				duration_ms: s.duration_ms,
				waiting: to_json_opt(s.waiting.as_ref())?,
			});
		}
		out.taken = rows
			.taken
			.iter()
			.map(|(id, step)| (id.to_string(), (*step).to_owned()))
			.collect();
		for a in rows.attempts {
			out.attempts.push(AttemptRow {
				execution_id: a.execution_id.to_string(),
				component_id: a.component_id.clone(),
				attempt: i64::from(a.attempt),
				status: a.status.as_str(),
				error_message: a.error_message.clone(),
				started_at: a.started_at,
				finished_at: a.finished_at,
			});
		}
		Ok(out)
	}

	/// Applies the batch in one transaction.
	pub(super) fn apply(&self, conn: &mut Connection) -> rusqlite::Result<()> {
		let tx = conn.savepoint()?;
		{
			let mut stmt = tx.prepare_cached(
				"INSERT INTO wo_executions (id, workflow_id, workflow_version, status, priority, \
				 parameters, vars, results, error_message, breakpoints, created_at, started_at, \
				 completed_at, idempotency_key, started_by, rerun_of, parent_id, parent) \
				 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, \
				 ?17, ?18) \
				 ON CONFLICT (id) DO UPDATE SET status = excluded.status, \
				 priority = excluded.priority, vars = excluded.vars, results = excluded.results, \
				 error_message = excluded.error_message, breakpoints = excluded.breakpoints, \
				 started_at = excluded.started_at, completed_at = excluded.completed_at",
			)?;
			for e in &self.executions {
				stmt.execute(params![
					e.id,
					e.workflow_id,
					e.workflow_version,
					e.status,
					e.priority,
					e.parameters,
					e.vars,
					e.results,
					e.error_message,
					e.breakpoints,
					e.created_at,
					e.started_at,
					e.completed_at,
					e.idempotency_key,
					e.started_by,
					e.rerun_of,
					e.parent_id,
					e.parent
				])?;
			}
		}
		{
			let mut stmt = tx.prepare_cached(
				"INSERT INTO wo_component_executions (execution_id, component_id, component_type, \
				 status, attempt, input_data, output_data, branch, error_message, run_at, started_at, \
				 completed_at, duration_ms, waiting) \
				 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) \
				 ON CONFLICT (execution_id, component_id) DO UPDATE SET status = excluded.status, \
				 attempt = excluded.attempt, input_data = excluded.input_data, \
				 output_data = excluded.output_data, branch = excluded.branch, \
				 error_message = excluded.error_message, run_at = excluded.run_at, \
				 started_at = excluded.started_at, completed_at = excluded.completed_at, \
				 duration_ms = excluded.duration_ms, waiting = excluded.waiting",
			)?;
			for s in &self.steps {
				stmt.execute(params![
					s.execution_id,
					s.component_id,
					s.component_type,
					s.status,
					s.attempt,
					s.input,
					s.output,
					s.branch,
					s.error_message,
					s.run_at,
					s.started_at,
					s.completed_at,
					s.duration_ms,
					s.waiting
				])?;
			}
		}
		if !self.taken.is_empty() {
			let mut stmt = tx.prepare_cached(
				"UPDATE wo_signals SET taken_by = ?2 WHERE id = ?1 AND taken_by IS NULL",
			)?;
			for (id, step) in &self.taken {
				stmt.execute(params![id, step])?;
			}
		}
		{
			let mut stmt = tx.prepare_cached(
				"INSERT INTO wo_component_attempts (execution_id, component_id, attempt, status, \
				 error_message, started_at, finished_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
				 ON CONFLICT (execution_id, component_id, attempt) DO UPDATE SET \
				 status = excluded.status, error_message = excluded.error_message, \
				 finished_at = excluded.finished_at",
			)?;
			for a in &self.attempts {
				stmt.execute(params![
					a.execution_id,
					a.component_id,
					a.attempt,
					a.status,
					a.error_message,
					a.started_at,
					a.finished_at
				])?;
			}
		}
		{
			let mut stmt = tx.prepare_cached(
				"INSERT INTO wo_execution_events (execution_id, at, data) VALUES (?1, ?2, ?3)",
			)?;
			for (execution_id, at, data) in &self.events {
				stmt.execute(params![execution_id, at, data])?;
			}
		}
		{
			let mut stmt = tx.prepare_cached(
				"INSERT INTO wo_execution_logs (execution_id, at, level, component_id, message) \
				 VALUES (?1, ?2, ?3, ?4, ?5)",
			)?;
			for l in &self.logs {
				stmt.execute(params![
					l.execution_id,
					l.at,
					l.level,
					l.component_id,
					l.message
				])?;
			}
		}
		tx.commit()
	}
}
