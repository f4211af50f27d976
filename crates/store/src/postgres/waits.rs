//! Signals and decisions on PostgreSQL (the tables of migration 0012), and the steps that wait,
//! through the one pool. Taking a signal is part of the checkpoint that ends the wait
//! (`write.rs`), not a call here.

use apg_core::store::StoreResult;
use apg_core::{
	Decision, ExecutionId, SignalId, SignalRecord, StepRecord, UserId, Verdict, WaitKind,
};
use sqlx::postgres::PgRow;
use uuid::Uuid;

use super::read::{self, corrupt, get, json};
use super::{PgStore, backend};

fn signal(row: &PgRow) -> StoreResult<SignalRecord> {
	Ok(SignalRecord {
		id: SignalId(get::<Uuid>(row, "id")?),
		execution_id: ExecutionId(get::<Uuid>(row, "execution_id")?),
		name: get(row, "name")?,
		key: get(row, "key")?,
		payload: json(row, "payload")?,
		sent_by: get::<Option<Uuid>>(row, "sent_by")?.map(UserId),
		created_at: get(row, "created_at")?,
		taken_by: get(row, "taken_by")?,
	})
}

fn decision(row: &PgRow) -> StoreResult<Decision> {
	let verdict: String = get(row, "verdict")?;
	Ok(Decision {
		execution_id: ExecutionId(get::<Uuid>(row, "execution_id")?),
		component_id: get(row, "component_id")?,
		round: get::<i32>(row, "round")? as u32,
		user_id: UserId(get::<Uuid>(row, "user_id")?),
		username: get(row, "username")?,
		verdict: Verdict::parse(&verdict).ok_or_else(|| corrupt("verdict", &verdict))?,
		comment: get(row, "comment")?,
		values: json(row, "form_values")?,
		decided_at: get(row, "decided_at")?,
	})
}

impl PgStore {
	pub(super) async fn insert_signal(&self, s: &SignalRecord) -> StoreResult<()> {
		sqlx::query(
			"INSERT INTO wo_signals (id, execution_id, name, key, payload, sent_by, created_at, \
			 taken_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
		)
		.bind(s.id.0)
		.bind(s.execution_id.0)
		.bind(&s.name)
		.bind(&s.key)
		.bind(&s.payload)
		.bind(s.sent_by.map(|u| u.0))
		.bind(s.created_at)
		.bind(&s.taken_by)
		.execute(&self.pool)
		.await
		.map_err(backend)?;
		Ok(())
	}

	pub(super) async fn select_pending_signals(
		&self,
		id: ExecutionId,
	) -> StoreResult<Vec<SignalRecord>> {
		let rows = sqlx::query(
			"SELECT id, execution_id, name, key, payload, sent_by, created_at, taken_by \
			 FROM wo_signals WHERE execution_id = $1 AND taken_by IS NULL \
			 ORDER BY created_at, id",
		)
		.bind(id.0)
		.fetch_all(&self.pool)
		.await
		.map_err(backend)?;
		rows.iter().map(signal).collect()
	}

	pub(super) async fn insert_decision(&self, d: &Decision) -> StoreResult<()> {
		let values = serde_json::to_value(&d.values).map_err(|e| corrupt("values", e))?;
		sqlx::query(
			"INSERT INTO wo_decisions (execution_id, component_id, round, user_id, username, \
			 verdict, comment, form_values, decided_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
		)
		.bind(d.execution_id.0)
		.bind(&d.component_id)
		.bind(d.round as i32)
		.bind(d.user_id.0)
		.bind(&d.username)
		.bind(d.verdict.as_str())
		.bind(&d.comment)
		.bind(values)
		.bind(d.decided_at)
		.execute(&self.pool)
		.await
		.map_err(backend)?;
		Ok(())
	}

	pub(super) async fn select_decisions(&self, id: ExecutionId) -> StoreResult<Vec<Decision>> {
		let rows = sqlx::query(
			"SELECT execution_id, component_id, round, user_id, username, verdict, comment, \
			 form_values, decided_at FROM wo_decisions WHERE execution_id = $1 \
			 ORDER BY decided_at, user_id",
		)
		.bind(id.0)
		.fetch_all(&self.pool)
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
			 WHERE s.waiting IS NOT NULL AND s.component_type = $1 \
			 AND e.status NOT IN ('completed', 'failed', 'cancelled') \
			 ORDER BY s.started_at, s.execution_id LIMIT $2",
		)
		.bind(kind.component_type())
		.bind(limit)
		.fetch_all(&self.pool)
		.await
		.map_err(backend)?;
		rows.iter().map(read::step).collect()
	}
}
