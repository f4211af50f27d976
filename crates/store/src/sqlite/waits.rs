//! Signals and decisions on SQLite (the tables of migration 0013), and the steps that wait:
//! writes through the writer thread, reads from the reader pool. Taking a signal is a write of
//! the checkpoint that ends the wait (`write.rs`), not a call here.

use apg_core::store::StoreResult;
use apg_core::{Decision, ExecutionId, SignalRecord, StepRecord, Verdict, WaitKind};
use rusqlite::params;
use sqlx::sqlite::SqliteRow;

use super::read::{self, corrupt, get, id, id_opt, json};
use super::{SqliteStore, backend};

fn signal(row: &SqliteRow) -> StoreResult<SignalRecord> {
	Ok(SignalRecord {
		id: id(row, "id")?,
		execution_id: id(row, "execution_id")?,
		name: get(row, "name")?,
		key: get(row, "key")?,
		payload: json(row, "payload")?,
		sent_by: id_opt(row, "sent_by")?,
		created_at: get(row, "created_at")?,
		taken_by: get(row, "taken_by")?,
	})
}

fn decision(row: &SqliteRow) -> StoreResult<Decision> {
	let verdict: String = get(row, "verdict")?;
	Ok(Decision {
		execution_id: id(row, "execution_id")?,
		component_id: get(row, "component_id")?,
		round: get::<i64>(row, "round")? as u32,
		user_id: id(row, "user_id")?,
		username: get(row, "username")?,
		verdict: Verdict::parse(&verdict).ok_or_else(|| corrupt("verdict", &verdict))?,
		comment: get(row, "comment")?,
		values: json(row, "form_values")?,
		decided_at: get(row, "decided_at")?,
	})
}

impl SqliteStore {
	pub(super) async fn insert_signal(&self, s: &SignalRecord) -> StoreResult<()> {
		let payload = serde_json::to_string(&s.payload).map_err(|e| corrupt("payload", e))?;
		let s = s.clone();
		self.writer
			.run(move |conn| {
				conn.prepare_cached(
					"INSERT INTO wo_signals (id, execution_id, name, key, payload, sent_by, \
					 created_at, taken_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
				)?
				.execute(params![
					s.id.to_string(),
					s.execution_id.to_string(),
					s.name,
					s.key,
					payload,
					s.sent_by.map(|u| u.to_string()),
					s.created_at,
					s.taken_by
				])?;
				Ok(())
			})
			.await
	}

	pub(super) async fn select_pending_signals(
		&self,
		id: ExecutionId,
	) -> StoreResult<Vec<SignalRecord>> {
		let rows = sqlx::query(
			"SELECT id, execution_id, name, key, payload, sent_by, created_at, taken_by \
			 FROM wo_signals WHERE execution_id = ? AND taken_by IS NULL \
			 ORDER BY created_at, id",
		)
		.bind(id.to_string())
		.fetch_all(&self.reader)
		.await
		.map_err(backend)?;
		rows.iter().map(signal).collect()
	}

	pub(super) async fn insert_decision(&self, d: &Decision) -> StoreResult<()> {
		let values = serde_json::to_string(&d.values).map_err(|e| corrupt("values", e))?;
		let d = d.clone();
		self.writer
			.run(move |conn| {
				conn.prepare_cached(
					"INSERT INTO wo_decisions (execution_id, component_id, round, user_id, \
					 username, verdict, comment, form_values, decided_at) \
					 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
				)?
				.execute(params![
					d.execution_id.to_string(),
					d.component_id,
					i64::from(d.round),
					d.user_id.to_string(),
					d.username,
					d.verdict.as_str(),
					d.comment,
					values,
					d.decided_at
				])?;
				Ok(())
			})
			.await
	}

	pub(super) async fn select_decisions(&self, id: ExecutionId) -> StoreResult<Vec<Decision>> {
		let rows = sqlx::query(
			"SELECT execution_id, component_id, round, user_id, username, verdict, comment, \
			 form_values, decided_at FROM wo_decisions WHERE execution_id = ? \
			 ORDER BY decided_at, user_id",
		)
		.bind(id.to_string())
		.fetch_all(&self.reader)
		.await
		.map_err(backend)?;
		rows.iter().map(decision).collect()
	}

	pub(super) async fn select_waiting_steps(
		&self,
		kind: WaitKind,
		limit: i64,
	) -> StoreResult<Vec<StepRecord>> {
		let rows = sqlx::query(
			"SELECT s.execution_id, s.component_id, s.component_type, s.status, s.attempt, \
			 s.input_data, s.output_data, s.branch, s.error_message, s.run_at, s.started_at, \
			 s.completed_at, s.duration_ms, s.waiting \
			 FROM wo_component_executions s JOIN wo_executions e ON e.id = s.execution_id \
			 WHERE s.waiting IS NOT NULL AND s.component_type = ? \
			 AND e.status NOT IN ('completed', 'failed', 'cancelled') \
			 ORDER BY s.started_at, s.execution_id LIMIT ?",
		)
		.bind(kind.component_type())
		.bind(limit)
		.fetch_all(&self.reader)
		.await
		.map_err(backend)?;
		rows.iter().map(read::step).collect()
	}
}
