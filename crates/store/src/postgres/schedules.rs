//! [`ScheduleStore`] on PostgreSQL (the tables of migration 0009), through the one pool. Nodes
//! claim due schedules with `FOR UPDATE SKIP LOCKED` and a lease, as they claim executions, so
//! one node at a time handles a schedule.

use apg_core::store::StoreResult;
use apg_core::{
	CatchUp, ExecutionId, Fire, FireStatus, Millis, Overlap, Schedule, ScheduleId, ScheduleStore,
	UserId, WorkflowId,
};
use async_trait::async_trait;
use serde_json::Value;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use super::read::{corrupt, get, json};
use super::{PgStore, backend};

const COLUMNS: &str = "id, workflow_id, name, cron, timezone, parameters, overlap, catch_up, \
	paused, created_by, created_at, updated_at, next_fire_at";
const FIRE_COLUMNS: &str = "schedule_id, fire_at, status, execution_id, detail, recorded_at";

/// Fires kept per schedule (the newest; queued ones are always kept).
const FIRES_KEPT: i64 = 1000;

fn schedule(row: &PgRow) -> StoreResult<Schedule> {
	let overlap: String = get(row, "overlap")?;
	let catch_up: String = get(row, "catch_up")?;
	Ok(Schedule {
		id: ScheduleId(get::<Uuid>(row, "id")?),
		workflow_id: WorkflowId(get::<Uuid>(row, "workflow_id")?),
		name: get(row, "name")?,
		cron: get(row, "cron")?,
		timezone: get(row, "timezone")?,
		parameters: json(row, "parameters")?,
		overlap: Overlap::parse(&overlap).ok_or_else(|| corrupt("overlap", &overlap))?,
		catch_up: CatchUp::parse(&catch_up).ok_or_else(|| corrupt("catch_up", &catch_up))?,
		paused: get(row, "paused")?,
		created_by: UserId(get::<Uuid>(row, "created_by")?),
		created_at: get(row, "created_at")?,
		updated_at: get(row, "updated_at")?,
		next_fire_at: get(row, "next_fire_at")?,
	})
}

fn fire(row: &PgRow) -> StoreResult<Fire> {
	let status: String = get(row, "status")?;
	Ok(Fire {
		schedule_id: ScheduleId(get::<Uuid>(row, "schedule_id")?),
		fire_at: get(row, "fire_at")?,
		status: FireStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
		execution_id: get::<Option<Uuid>>(row, "execution_id")?.map(ExecutionId),
		detail: get(row, "detail")?,
		recorded_at: get(row, "recorded_at")?,
	})
}

fn parameters(s: &Schedule) -> Value {
	Value::Object(s.parameters.clone())
}

#[async_trait]
impl ScheduleStore for PgStore {
	async fn create_schedule(&self, s: &Schedule) -> StoreResult<()> {
		sqlx::query(
			"INSERT INTO wo_schedules (id, workflow_id, name, cron, timezone, parameters, overlap, \
			 catch_up, paused, created_by, created_at, updated_at, next_fire_at) \
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
		)
		.bind(s.id.0)
		.bind(s.workflow_id.0)
		.bind(&s.name)
		.bind(&s.cron)
		.bind(&s.timezone)
		.bind(parameters(s))
		.bind(s.overlap.as_str())
		.bind(s.catch_up.as_str())
		.bind(s.paused)
		.bind(s.created_by.0)
		.bind(s.created_at)
		.bind(s.updated_at)
		.bind(s.next_fire_at)
		.execute(&self.pool)
		.await
		.map_err(backend)?;
		Ok(())
	}

	async fn get_schedule(&self, id: ScheduleId) -> StoreResult<Option<Schedule>> {
		let sql = format!("SELECT {COLUMNS} FROM wo_schedules WHERE id = $1");
		let row = sqlx::query(&sql)
			.bind(id.0)
			.fetch_optional(&self.pool)
			.await
			.map_err(backend)?;
		row.as_ref().map(schedule).transpose()
	}

	async fn list_schedules(&self, workflow: Option<WorkflowId>) -> StoreResult<Vec<Schedule>> {
		let sql = format!(
			"SELECT {COLUMNS} FROM wo_schedules WHERE $1::uuid IS NULL OR workflow_id = $1 \
			 ORDER BY created_at, id"
		);
		let rows = sqlx::query(&sql)
			.bind(workflow.map(|w| w.0))
			.fetch_all(&self.pool)
			.await
			.map_err(backend)?;
		rows.iter().map(schedule).collect()
	}

	async fn update_schedule(&self, s: &Schedule) -> StoreResult<bool> {
		// The lease goes too: a tick handling the old settings cannot write over these.
		let done = sqlx::query(
			"UPDATE wo_schedules SET name = $2, cron = $3, timezone = $4, parameters = $5, \
			 overlap = $6, catch_up = $7, paused = $8, updated_at = $9, next_fire_at = $10, \
			 lease_owner = NULL, lease_until = NULL WHERE id = $1",
		)
		.bind(s.id.0)
		.bind(&s.name)
		.bind(&s.cron)
		.bind(&s.timezone)
		.bind(parameters(s))
		.bind(s.overlap.as_str())
		.bind(s.catch_up.as_str())
		.bind(s.paused)
		.bind(s.updated_at)
		.bind(s.next_fire_at)
		.execute(&self.pool)
		.await
		.map_err(backend)?;
		Ok(done.rows_affected() > 0)
	}

	async fn delete_schedule(&self, id: ScheduleId) -> StoreResult<bool> {
		let done = sqlx::query("DELETE FROM wo_schedules WHERE id = $1")
			.bind(id.0)
			.execute(&self.pool)
			.await
			.map_err(backend)?;
		Ok(done.rows_affected() > 0)
	}

	async fn claim_due_schedules(
		&self,
		node: &str,
		now: Millis,
		until: Millis,
		limit: i64,
	) -> StoreResult<Vec<Schedule>> {
		let columns = COLUMNS
			.split(", ")
			.map(|c| format!("s.{c}"))
			.collect::<Vec<_>>()
			.join(", ");
		let sql = format!(
			"UPDATE wo_schedules s SET lease_owner = $1, lease_until = $2 \
			 FROM (SELECT id FROM wo_schedules d WHERE NOT d.paused \
			   AND (d.lease_owner IS NULL OR d.lease_until < $3) \
			   AND ((d.next_fire_at IS NOT NULL AND d.next_fire_at <= $3) \
			     OR EXISTS (SELECT 1 FROM wo_schedule_fires f \
			       WHERE f.schedule_id = d.id AND f.status = 'queued')) \
			   ORDER BY d.next_fire_at LIMIT $4 FOR UPDATE SKIP LOCKED) c \
			 WHERE s.id = c.id RETURNING {columns}"
		);
		let rows = sqlx::query(&sql)
			.bind(node)
			.bind(until)
			.bind(now)
			.bind(limit)
			.fetch_all(&self.pool)
			.await
			.map_err(backend)?;
		rows.iter().map(schedule).collect()
	}

	async fn advance_schedule(
		&self,
		id: ScheduleId,
		node: &str,
		next_fire_at: Option<Millis>,
	) -> StoreResult<bool> {
		let done = sqlx::query(
			"UPDATE wo_schedules SET next_fire_at = $3, lease_owner = NULL, lease_until = NULL \
			 WHERE id = $1 AND lease_owner = $2",
		)
		.bind(id.0)
		.bind(node)
		.bind(next_fire_at)
		.execute(&self.pool)
		.await
		.map_err(backend)?;
		// Old fires go, the newest FIRES_KEPT and every queued one stay.
		sqlx::query(
			"DELETE FROM wo_schedule_fires WHERE schedule_id = $1 AND status <> 'queued' \
			 AND fire_at <= (SELECT fire_at FROM wo_schedule_fires WHERE schedule_id = $1 \
			   ORDER BY fire_at DESC LIMIT 1 OFFSET $2)",
		)
		.bind(id.0)
		.bind(FIRES_KEPT)
		.execute(&self.pool)
		.await
		.map_err(backend)?;
		Ok(done.rows_affected() > 0)
	}

	async fn record_fire(&self, f: &Fire) -> StoreResult<bool> {
		let done = sqlx::query(
			"INSERT INTO wo_schedule_fires (schedule_id, fire_at, status, execution_id, detail, \
			 recorded_at) VALUES ($1, $2, $3, $4, $5, $6) \
			 ON CONFLICT (schedule_id, fire_at) DO UPDATE SET status = EXCLUDED.status, \
			 execution_id = EXCLUDED.execution_id, detail = EXCLUDED.detail, \
			 recorded_at = EXCLUDED.recorded_at WHERE wo_schedule_fires.status = 'queued'",
		)
		.bind(f.schedule_id.0)
		.bind(f.fire_at)
		.bind(f.status.as_str())
		.bind(f.execution_id.map(|e| e.0))
		.bind(&f.detail)
		.bind(f.recorded_at)
		.execute(&self.pool)
		.await
		.map_err(backend)?;
		Ok(done.rows_affected() > 0)
	}

	async fn list_fires(&self, schedule: ScheduleId, limit: i64) -> StoreResult<Vec<Fire>> {
		let sql = format!(
			"SELECT {FIRE_COLUMNS} FROM wo_schedule_fires WHERE schedule_id = $1 \
			 ORDER BY fire_at DESC LIMIT $2"
		);
		let rows = sqlx::query(&sql)
			.bind(schedule.0)
			.bind(if limit <= 0 { i64::MAX } else { limit })
			.fetch_all(&self.pool)
			.await
			.map_err(backend)?;
		rows.iter().map(fire).collect()
	}

	async fn open_fires(&self, schedule: ScheduleId) -> StoreResult<Vec<Fire>> {
		let rows = sqlx::query(
			"SELECT f.schedule_id, f.fire_at, f.status, f.execution_id, f.detail, f.recorded_at \
			 FROM wo_schedule_fires f LEFT JOIN wo_executions e ON e.id = f.execution_id \
			 WHERE f.schedule_id = $1 AND (f.status = 'queued' OR (f.status = 'started' \
			   AND e.status NOT IN ('completed', 'failed', 'cancelled'))) \
			 ORDER BY f.fire_at",
		)
		.bind(schedule.0)
		.fetch_all(&self.pool)
		.await
		.map_err(backend)?;
		rows.iter().map(fire).collect()
	}
}
