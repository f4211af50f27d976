//! [`ScheduleStore`] on SQLite (the tables of migration 0010): writes through the writer thread,
//! reads from the reader pool, as everywhere in this backend. One process holds the database,
//! so the lease only keeps two ticks of this node from handling one schedule at once.

use apg_core::store::StoreResult;
use apg_core::{
	CatchUp, Fire, FireStatus, Millis, Overlap, Schedule, ScheduleId, ScheduleStore, WorkflowId,
};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use sqlx::sqlite::SqliteRow;

use super::read::{corrupt, get, id, id_opt, json};
use super::{SqliteStore, backend};

const COLUMNS: &str = "id, workflow_id, name, cron, timezone, parameters, overlap, catch_up, \
	paused, created_by, created_at, updated_at, next_fire_at";
const FIRE_COLUMNS: &str = "schedule_id, fire_at, status, execution_id, detail, recorded_at";

/// Fires kept per schedule (the newest; queued ones are always kept).
pub(crate) const FIRES_KEPT: i64 = 1000;

fn schedule(row: &SqliteRow) -> StoreResult<Schedule> {
	let overlap: String = get(row, "overlap")?;
	let catch_up: String = get(row, "catch_up")?;
	Ok(Schedule {
		id: id(row, "id")?,
		workflow_id: id(row, "workflow_id")?,
		name: get(row, "name")?,
		cron: get(row, "cron")?,
		timezone: get(row, "timezone")?,
		parameters: json(row, "parameters")?,
		overlap: Overlap::parse(&overlap).ok_or_else(|| corrupt("overlap", &overlap))?,
		catch_up: CatchUp::parse(&catch_up).ok_or_else(|| corrupt("catch_up", &catch_up))?,
		paused: get(row, "paused")?,
		created_by: id(row, "created_by")?,
		created_at: get(row, "created_at")?,
		updated_at: get(row, "updated_at")?,
		next_fire_at: get(row, "next_fire_at")?,
	})
}

/// A schedule read by the writer (the claim's `RETURNING`).
fn schedule_of(row: &rusqlite::Row<'_>) -> rusqlite::Result<Schedule> {
	let text = |i: usize| row.get::<_, String>(i);
	let bad = |i: usize, what: &str| {
		rusqlite::Error::FromSqlConversionFailure(
			i,
			rusqlite::types::Type::Text,
			format!("bad {what}").into(),
		)
	};
	fn uuid<T: std::str::FromStr>(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<T> {
		let text: String = row.get(i)?;
		text.parse().map_err(|_| {
			rusqlite::Error::FromSqlConversionFailure(
				i,
				rusqlite::types::Type::Text,
				"not a UUID".into(),
			)
		})
	}
	Ok(Schedule {
		id: uuid(row, 0)?,
		workflow_id: uuid(row, 1)?,
		name: text(2)?,
		cron: text(3)?,
		timezone: text(4)?,
		parameters: serde_json::from_str(&text(5)?).map_err(|_| bad(5, "parameters"))?,
		overlap: Overlap::parse(&text(6)?).ok_or_else(|| bad(6, "overlap"))?,
		catch_up: CatchUp::parse(&text(7)?).ok_or_else(|| bad(7, "catch_up"))?,
		paused: row.get(8)?,
		created_by: uuid(row, 9)?,
		created_at: row.get(10)?,
		updated_at: row.get(11)?,
		next_fire_at: row.get(12)?,
	})
}

fn fire(row: &SqliteRow) -> StoreResult<Fire> {
	let status: String = get(row, "status")?;
	Ok(Fire {
		schedule_id: id(row, "schedule_id")?,
		fire_at: get(row, "fire_at")?,
		status: FireStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
		execution_id: id_opt(row, "execution_id")?,
		detail: get(row, "detail")?,
		recorded_at: get(row, "recorded_at")?,
	})
}

fn parameters(s: &Schedule) -> StoreResult<String> {
	serde_json::to_string(&s.parameters).map_err(|e| corrupt("parameters", e))
}

#[async_trait]
impl ScheduleStore for SqliteStore {
	async fn create_schedule(&self, s: &Schedule) -> StoreResult<()> {
		let parameters = parameters(s)?;
		let s = s.clone();
		self.writer
			.run(move |conn| {
				conn.prepare_cached(
					"INSERT INTO wo_schedules (id, workflow_id, name, cron, timezone, parameters, \
					 overlap, catch_up, paused, created_by, created_at, updated_at, next_fire_at) \
					 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
				)?
				.execute(params![
					s.id.to_string(),
					s.workflow_id.to_string(),
					s.name,
					s.cron,
					s.timezone,
					parameters,
					s.overlap.as_str(),
					s.catch_up.as_str(),
					s.paused,
					s.created_by.to_string(),
					s.created_at,
					s.updated_at,
					s.next_fire_at
				])?;
				Ok(())
			})
			.await
	}

	async fn get_schedule(&self, id: ScheduleId) -> StoreResult<Option<Schedule>> {
		let sql = format!("SELECT {COLUMNS} FROM wo_schedules WHERE id = ?");
		let row = sqlx::query(&sql)
			.bind(id.to_string())
			.fetch_optional(&self.reader)
			.await
			.map_err(backend)?;
		row.as_ref().map(schedule).transpose()
	}

	async fn list_schedules(&self, workflow: Option<WorkflowId>) -> StoreResult<Vec<Schedule>> {
		let sql = format!(
			"SELECT {COLUMNS} FROM wo_schedules WHERE ?1 IS NULL OR workflow_id = ?1 \
			 ORDER BY created_at, id"
		);
		let rows = sqlx::query(&sql)
			.bind(workflow.map(|w| w.to_string()))
			.fetch_all(&self.reader)
			.await
			.map_err(backend)?;
		rows.iter().map(schedule).collect()
	}

	async fn update_schedule(&self, s: &Schedule) -> StoreResult<bool> {
		let parameters = parameters(s)?;
		let s = s.clone();
		self.writer
			.run(move |conn| {
				// The lease goes too: a tick handling the old settings cannot write over these.
				let changed = conn
					.prepare_cached(
						"UPDATE wo_schedules SET name = ?2, cron = ?3, timezone = ?4, \
						 parameters = ?5, overlap = ?6, catch_up = ?7, paused = ?8, \
						 updated_at = ?9, next_fire_at = ?10, lease_owner = NULL, \
						 lease_until = NULL WHERE id = ?1",
					)?
					.execute(params![
						s.id.to_string(),
						s.name,
						s.cron,
						s.timezone,
						parameters,
						s.overlap.as_str(),
						s.catch_up.as_str(),
						s.paused,
						s.updated_at,
						s.next_fire_at
					])?;
				Ok(changed > 0)
			})
			.await
	}

	async fn delete_schedule(&self, id: ScheduleId) -> StoreResult<bool> {
		let id = id.to_string();
		self.writer
			.run(move |conn| {
				let changed = conn
					.prepare_cached("DELETE FROM wo_schedules WHERE id = ?1")?
					.execute(params![id])?;
				Ok(changed > 0)
			})
			.await
	}

	async fn claim_due_schedules(
		&self,
		node: &str,
		now: Millis,
		until: Millis,
		limit: i64,
	) -> StoreResult<Vec<Schedule>> {
		let node = node.to_owned();
		self.writer
			.run(move |conn| {
				let sql = format!(
					"UPDATE wo_schedules SET lease_owner = ?1, lease_until = ?2 \
					 WHERE id IN (SELECT s.id FROM wo_schedules s WHERE s.paused = 0 \
					   AND (s.lease_owner IS NULL OR s.lease_until < ?3) \
					   AND ((s.next_fire_at IS NOT NULL AND s.next_fire_at <= ?3) \
					     OR EXISTS (SELECT 1 FROM wo_schedule_fires f \
					       WHERE f.schedule_id = s.id AND f.status = 'queued')) \
					   ORDER BY s.next_fire_at LIMIT ?4) \
					 RETURNING {COLUMNS}"
				);
				let mut stmt = conn.prepare_cached(&sql)?;
				let rows = stmt.query_map(params![node, until, now, limit], schedule_of)?;
				rows.collect()
			})
			.await
	}

	async fn advance_schedule(
		&self,
		id: ScheduleId,
		node: &str,
		next_fire_at: Option<Millis>,
	) -> StoreResult<bool> {
		let (id, node) = (id.to_string(), node.to_owned());
		self.writer
			.run(move |conn| {
				let changed = conn
					.prepare_cached(
						"UPDATE wo_schedules SET next_fire_at = ?3, lease_owner = NULL, \
						 lease_until = NULL WHERE id = ?1 AND lease_owner = ?2",
					)?
					.execute(params![id, node, next_fire_at])?;
				// Old fires go, the newest FIRES_KEPT and every queued one stay.
				let cutoff: Option<i64> = conn
					.prepare_cached(
						"SELECT fire_at FROM wo_schedule_fires WHERE schedule_id = ?1 \
						 ORDER BY fire_at DESC LIMIT 1 OFFSET ?2",
					)?
					.query_row(params![id, FIRES_KEPT], |r| r.get(0))
					.optional()?;
				if let Some(cutoff) = cutoff {
					conn.prepare_cached(
						"DELETE FROM wo_schedule_fires WHERE schedule_id = ?1 \
						 AND fire_at <= ?2 AND status <> 'queued'",
					)?
					.execute(params![id, cutoff])?;
				}
				Ok(changed > 0)
			})
			.await
	}

	async fn record_fire(&self, f: &Fire) -> StoreResult<bool> {
		let f = f.clone();
		self.writer
			.run(move |conn| {
				let changed = conn
					.prepare_cached(
						"INSERT INTO wo_schedule_fires (schedule_id, fire_at, status, \
						 execution_id, detail, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
						 ON CONFLICT (schedule_id, fire_at) DO UPDATE SET status = \
						 excluded.status, execution_id = excluded.execution_id, \
						 detail = excluded.detail, recorded_at = excluded.recorded_at \
						 WHERE wo_schedule_fires.status = 'queued'",
					)?
					.execute(params![
						f.schedule_id.to_string(),
						f.fire_at,
						f.status.as_str(),
						f.execution_id.map(|e| e.to_string()),
						f.detail,
						f.recorded_at
					])?;
				Ok(changed > 0)
			})
			.await
	}

	async fn list_fires(&self, schedule: ScheduleId, limit: i64) -> StoreResult<Vec<Fire>> {
		let sql = format!(
			"SELECT {FIRE_COLUMNS} FROM wo_schedule_fires WHERE schedule_id = ? \
			 ORDER BY fire_at DESC LIMIT ?"
		);
		let rows = sqlx::query(&sql)
			.bind(schedule.to_string())
			.bind(if limit <= 0 { -1 } else { limit })
			.fetch_all(&self.reader)
			.await
			.map_err(backend)?;
		rows.iter().map(fire).collect()
	}

	async fn open_fires(&self, schedule: ScheduleId) -> StoreResult<Vec<Fire>> {
		let sql = "SELECT f.schedule_id, f.fire_at, f.status, f.execution_id, f.detail, \
			f.recorded_at FROM wo_schedule_fires f \
			LEFT JOIN wo_executions e ON e.id = f.execution_id \
			WHERE f.schedule_id = ? AND (f.status = 'queued' OR (f.status = 'started' \
			  AND e.status NOT IN ('completed', 'failed', 'cancelled'))) \
			ORDER BY f.fire_at";
		let rows = sqlx::query(sql)
			.bind(schedule.to_string())
			.fetch_all(&self.reader)
			.await
			.map_err(backend)?;
		rows.iter().map(fire).collect()
	}
}
