//! The PostgreSQL store (`--database-url postgres://…`).
//!
//! Statistics use the seed's aggregate query (`get_workflow_with_stats`) over the index on
//! `(workflow_id, created_at)`.

mod accounts;
mod cluster;
mod group;
mod hooks;
mod notices;
mod read;
mod schedules;
mod waits;
mod write;

pub use cluster::PgCluster;

use std::collections::HashMap;
use std::time::Duration;

use apg_core::store::{StoreError, StoreResult};
use apg_core::{
	AttemptRecord, Batch, EventRecord, Execution, ExecutionFilter, ExecutionId, LogRecord,
	StepRecord, Store, Workflow, WorkflowFilter, WorkflowId, WorkflowStats, WorkflowVersion,
};
use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, QueryBuilder};

/// Workflows and executions in a PostgreSQL database.
pub struct PgStore {
	pool: PgPool,
	committer: group::Committer,
}

pub(crate) fn backend(e: sqlx::Error) -> StoreError {
	if let sqlx::Error::Database(db) = &e
		&& db.is_unique_violation()
	{
		return StoreError::Conflict(db.message().to_owned());
	}
	if let sqlx::Error::Database(db) = &e
		&& db.is_foreign_key_violation()
	{
		return StoreError::Dangling(db.message().to_owned());
	}
	StoreError::Backend(e.to_string())
}

const WORKFLOW_COLUMNS: &str = "id, name, description, definition, status, category, tags, \
	priority, version, created_by, saved_by, created_at, updated_at";
pub(crate) const EXECUTION_COLUMNS: &str = "id, workflow_id, workflow_version, status, priority, parameters, \
	vars, results, error_message, breakpoints, idempotency_key, created_at, started_at, completed_at, \
	started_by, rerun_of, parent";
/// [`EXECUTION_COLUMNS`] for lists: no parameters, variables or results (see
/// [`Store::list_executions`]).
const EXECUTION_SUMMARY_COLUMNS: &str = "id, workflow_id, workflow_version, status, priority, \
	'{}'::jsonb AS parameters, '{}'::jsonb AS vars, NULL::jsonb AS results, error_message, breakpoints, \
	idempotency_key, created_at, started_at, completed_at, started_by, rerun_of, parent";

impl PgStore {
	/// The insert behind `create_workflow`.
	async fn insert_workflow(&self, w: &Workflow) -> StoreResult<()> {
		let mut tx = self.pool.begin().await.map_err(backend)?;
		sqlx::query(
			"INSERT INTO wo_workflows (id, name, description, definition, status, category, tags, \
			 priority, version, created_by, created_at, updated_at, saved_by) \
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
		)
		.bind(w.id.0)
		.bind(&w.name)
		.bind(&w.description)
		.bind(w.definition.to_value())
		.bind(w.status.as_str())
		.bind(&w.category)
		.bind(&w.tags)
		.bind(i32::from(w.priority.get()))
		.bind(w.version as i32)
		.bind(&w.created_by)
		.bind(w.created_at)
		.bind(w.updated_at)
		.bind(&w.saved_by)
		.execute(&mut *tx)
		.await
		.map_err(backend)?;
		insert_version(&mut tx, w).await?;
		tx.commit().await.map_err(backend)
	}

	/// The update behind `update_workflow`.
	async fn replace_workflow(&self, w: &Workflow) -> StoreResult<bool> {
		let mut tx = self.pool.begin().await.map_err(backend)?;
		let done = sqlx::query(
			"UPDATE wo_workflows SET name = $1, description = $2, definition = $3, status = $4, \
			 category = $5, tags = $6, priority = $7, version = $8, updated_at = $9, \
			 saved_by = $11 WHERE id = $10",
		)
		.bind(&w.name)
		.bind(&w.description)
		.bind(w.definition.to_value())
		.bind(w.status.as_str())
		.bind(&w.category)
		.bind(&w.tags)
		.bind(i32::from(w.priority.get()))
		.bind(w.version as i32)
		.bind(w.updated_at)
		.bind(w.id.0)
		.bind(&w.saved_by)
		.execute(&mut *tx)
		.await
		.map_err(backend)?;
		if done.rows_affected() > 0 {
			insert_version(&mut tx, w).await?;
		}
		tx.commit().await.map_err(backend)?;
		Ok(done.rows_affected() > 0)
	}

	/// Connects to `url` (`postgres://user@host/db`). Call [`Store::migrate`] before use.
	pub async fn connect(url: &str) -> StoreResult<Self> {
		let options: PgConnectOptions = url.parse().map_err(backend)?;
		Self::connect_with(options).await
	}

	/// Connects with explicit options (tests set a schema through `search_path`).
	pub async fn connect_with(options: PgConnectOptions) -> StoreResult<Self> {
		let pool = PgPoolOptions::new()
			.max_connections(16)
			.acquire_timeout(Duration::from_secs(10))
			.connect_with(options)
			.await
			.map_err(backend)?;
		let committer = group::Committer::start(pool.clone());
		Ok(Self { pool, committer })
	}
}

/// The condition on a `wo_workflows` row that `user` (as in `created_by`) owns it or has a
/// share of it. Shares are keyed by user id (a UUID), so only a user that is an id can have one.
fn visible_to(q: &mut QueryBuilder<'_, Postgres>, user: &str) {
	q.push("(created_by = ").push_bind(user.to_owned());
	if let Ok(id) = user.parse::<uuid::Uuid>() {
		q.push(" OR id IN (SELECT workflow_id FROM workflow_shares WHERE user_id = ")
			.push_bind(id)
			.push(")");
	}
	q.push(")");
}

#[async_trait]
impl Store for PgStore {
	async fn migrate(&self) -> StoreResult<()> {
		sqlx::migrate!("./migrations/postgres")
			.run(&self.pool)
			.await
			.map_err(|e| StoreError::Backend(format!("migration failed: {e}")))
	}

	async fn create_workflow(&self, w: &Workflow) -> StoreResult<()> {
		self.insert_workflow(w)
			.await
			.map_err(|e| crate::conflict::workflow_name(e, &w.name))
	}

	async fn update_workflow(&self, w: &Workflow) -> StoreResult<bool> {
		self.replace_workflow(w)
			.await
			.map_err(|e| crate::conflict::workflow_name(e, &w.name))
	}

	async fn get_workflow(&self, id: WorkflowId) -> StoreResult<Option<Workflow>> {
		let sql = format!("SELECT {WORKFLOW_COLUMNS} FROM wo_workflows WHERE id = $1");
		let row = sqlx::query(&sql)
			.bind(id.0)
			.fetch_optional(&self.pool)
			.await
			.map_err(backend)?;
		row.map(|r| read::workflow(&r)).transpose()
	}

	async fn list_workflows(&self, f: &WorkflowFilter) -> StoreResult<Vec<Workflow>> {
		let mut q = QueryBuilder::<Postgres>::new(format!(
			"SELECT {WORKFLOW_COLUMNS} FROM wo_workflows WHERE TRUE"
		));
		if let Some(status) = f.status {
			q.push(" AND status = ").push_bind(status.as_str());
		}
		if let Some(category) = &f.category {
			q.push(" AND category = ").push_bind(category.clone());
		}
		if let Some(tag) = &f.tag {
			q.push(" AND tags @> ARRAY[")
				.push_bind(tag.clone())
				.push("]::text[]");
		}
		if let Some(search) = &f.search {
			let pattern = format!(
				"%{}%",
				search
					.replace('\\', "\\\\")
					.replace('%', "\\%")
					.replace('_', "\\_")
			);
			q.push(" AND (name ILIKE ").push_bind(pattern.clone());
			q.push(" OR description ILIKE ")
				.push_bind(pattern)
				.push(")");
		}
		if let Some(user) = &f.visible_to {
			q.push(" AND ");
			visible_to(&mut q, user);
		}
		q.push(" ORDER BY updated_at DESC, id DESC");
		if f.limit > 0 {
			q.push(" LIMIT ").push_bind(f.limit);
		}
		q.push(" OFFSET ").push_bind(f.offset.max(0));
		let rows = q.build().fetch_all(&self.pool).await.map_err(backend)?;
		rows.iter().map(read::workflow).collect()
	}

	async fn delete_workflow(&self, id: WorkflowId) -> StoreResult<bool> {
		let done = sqlx::query("DELETE FROM wo_workflows WHERE id = $1")
			.bind(id.0)
			.execute(&self.pool)
			.await
			.map_err(backend)?;
		Ok(done.rows_affected() > 0)
	}

	async fn get_version(
		&self,
		id: WorkflowId,
		version: i64,
	) -> StoreResult<Option<WorkflowVersion>> {
		let row = sqlx::query(
			"SELECT workflow_id, version, definition, saved_by, created_at FROM wo_workflow_versions \
			 WHERE workflow_id = $1 AND version = $2",
		)
		.bind(id.0)
		.bind(version as i32)
		.fetch_optional(&self.pool)
		.await
		.map_err(backend)?;
		row.map(|r| read::version(&r)).transpose()
	}

	async fn list_versions(&self, id: WorkflowId) -> StoreResult<Vec<WorkflowVersion>> {
		let rows = sqlx::query(
			"SELECT workflow_id, version, definition, saved_by, created_at FROM wo_workflow_versions \
			 WHERE workflow_id = $1 ORDER BY version",
		)
		.bind(id.0)
		.fetch_all(&self.pool)
		.await
		.map_err(backend)?;
		rows.iter().map(read::version).collect()
	}

	async fn commit(&self, batch: &Batch) -> StoreResult<()> {
		if batch.is_empty() {
			return Ok(());
		}
		self.committer.commit(batch).await
	}

	async fn get_execution(&self, id: ExecutionId) -> StoreResult<Option<Execution>> {
		let sql = format!("SELECT {EXECUTION_COLUMNS} FROM wo_executions WHERE id = $1");
		let row = sqlx::query(&sql)
			.bind(id.0)
			.fetch_optional(&self.pool)
			.await
			.map_err(backend)?;
		row.map(|r| read::execution(&r)).transpose()
	}

	async fn list_executions(&self, f: &ExecutionFilter) -> StoreResult<Vec<Execution>> {
		let mut q = QueryBuilder::<Postgres>::new(format!(
			"SELECT {EXECUTION_SUMMARY_COLUMNS} FROM wo_executions WHERE TRUE"
		));
		if let Some(w) = f.workflow_id {
			q.push(" AND workflow_id = ").push_bind(w.0);
		}
		if let Some(status) = f.status {
			q.push(" AND status = ").push_bind(status.as_str());
		}
		if let Some(user) = &f.visible_to {
			q.push(" AND workflow_id IN (SELECT id FROM wo_workflows WHERE ");
			visible_to(&mut q, user);
			q.push(")");
		}
		q.push(" ORDER BY id DESC");
		if f.limit > 0 {
			q.push(" LIMIT ").push_bind(f.limit);
		}
		q.push(" OFFSET ").push_bind(f.offset.max(0));
		let rows = q.build().fetch_all(&self.pool).await.map_err(backend)?;
		rows.iter().map(read::execution).collect()
	}

	async fn find_by_idempotency_key(
		&self,
		workflow: WorkflowId,
		key: &str,
	) -> StoreResult<Option<Execution>> {
		let sql = format!(
			"SELECT {EXECUTION_COLUMNS} FROM wo_executions WHERE workflow_id = $1 \
			 AND idempotency_key = $2 ORDER BY id LIMIT 1"
		);
		let row = sqlx::query(&sql)
			.bind(workflow.0)
			.bind(key)
			.fetch_optional(&self.pool)
			.await
			.map_err(backend)?;
		row.map(|r| read::execution(&r)).transpose()
	}

	async fn unfinished_executions(&self) -> StoreResult<Vec<Execution>> {
		let sql = format!(
			"SELECT {EXECUTION_COLUMNS} FROM wo_executions \
			 WHERE status NOT IN ('completed', 'failed', 'cancelled') AND status <> 'pending' \
			 ORDER BY id"
		);
		let rows = sqlx::query(&sql)
			.fetch_all(&self.pool)
			.await
			.map_err(backend)?;
		rows.iter().map(read::execution).collect()
	}

	async fn children(&self, parent: ExecutionId) -> StoreResult<Vec<Execution>> {
		let sql = format!(
			"SELECT {EXECUTION_COLUMNS} FROM wo_executions WHERE parent_id = $1 ORDER BY id"
		);
		let rows = sqlx::query(&sql)
			.bind(parent.0)
			.fetch_all(&self.pool)
			.await
			.map_err(backend)?;
		rows.iter().map(read::execution).collect()
	}

	async fn count_executions(&self) -> StoreResult<i64> {
		sqlx::query_scalar("SELECT count(*) FROM wo_executions")
			.fetch_one(&self.pool)
			.await
			.map_err(backend)
	}

	async fn delete_ended_before(&self, cutoff: apg_core::Millis, limit: i64) -> StoreResult<u64> {
		let done = sqlx::query(
			"DELETE FROM wo_executions WHERE id IN (SELECT id FROM wo_executions \
			 WHERE status IN ('completed', 'failed', 'cancelled') AND completed_at < $1 LIMIT $2 \
			 FOR UPDATE SKIP LOCKED)",
		)
		.bind(cutoff)
		.bind(limit)
		.execute(&self.pool)
		.await
		.map_err(backend)?;
		Ok(done.rows_affected())
	}

	async fn workflow_stats(
		&self,
		ids: &[WorkflowId],
	) -> StoreResult<HashMap<WorkflowId, WorkflowStats>> {
		if ids.is_empty() {
			return Ok(HashMap::new());
		}
		let ids: Vec<uuid::Uuid> = ids.iter().map(|i| i.0).collect();
		// The seed's `get_workflow_with_stats`, for many workflows at once.
		let rows = sqlx::query(
			"SELECT workflow_id, count(*) AS total_executions, \
			 count(*) FILTER (WHERE status = 'completed') AS successful_executions, \
			 count(*) FILTER (WHERE status = 'failed') AS failed_executions, \
			 (avg(completed_at - started_at) FILTER (WHERE status IN ('completed', 'failed', 'cancelled') \
			   AND started_at IS NOT NULL AND completed_at IS NOT NULL) / 1000.0)::float8 AS avg_duration_seconds, \
			 max(created_at) AS last_execution_at \
			 FROM wo_executions WHERE workflow_id = ANY($1) GROUP BY workflow_id",
		)
		.bind(&ids)
		.fetch_all(&self.pool)
		.await
		.map_err(backend)?;
		rows.iter().map(read::stats).collect()
	}

	async fn steps(&self, id: ExecutionId) -> StoreResult<Vec<StepRecord>> {
		let rows = sqlx::query(
			"SELECT execution_id, component_id, component_type, status, attempt, input_data, \
			 output_data, branch, error_message, run_at, started_at, completed_at, duration_ms, \
			 waiting FROM wo_component_executions WHERE execution_id = $1 ORDER BY seq",
		)
		.bind(id.0)
		.fetch_all(&self.pool)
		.await
		.map_err(backend)?;
		rows.iter().map(read::step).collect()
	}

	async fn attempts(&self, id: ExecutionId) -> StoreResult<Vec<AttemptRecord>> {
		let rows = sqlx::query(
			"SELECT execution_id, component_id, attempt, status, error_message, started_at, \
			 finished_at FROM wo_component_attempts WHERE execution_id = $1 ORDER BY seq",
		)
		.bind(id.0)
		.fetch_all(&self.pool)
		.await
		.map_err(backend)?;
		rows.iter().map(read::attempt).collect()
	}

	async fn events(&self, id: ExecutionId) -> StoreResult<Vec<EventRecord>> {
		let rows = sqlx::query(
			"SELECT seq, data FROM wo_execution_events WHERE execution_id = $1 ORDER BY seq",
		)
		.bind(id.0)
		.fetch_all(&self.pool)
		.await
		.map_err(backend)?;
		rows.iter().map(read::event).collect()
	}

	async fn events_after(
		&self,
		after: i64,
		missing: &[i64],
		limit: i64,
	) -> StoreResult<Vec<EventRecord>> {
		let rows = sqlx::query(
			"SELECT seq, data FROM wo_execution_events WHERE seq > $1 OR seq = ANY($2) \
			 ORDER BY seq LIMIT $3",
		)
		.bind(after)
		.bind(missing)
		.bind(limit)
		.fetch_all(&self.pool)
		.await
		.map_err(backend)?;
		rows.iter().map(read::event).collect()
	}

	async fn last_event_seq(&self) -> StoreResult<i64> {
		sqlx::query_scalar("SELECT coalesce(max(seq), 0) FROM wo_execution_events")
			.fetch_one(&self.pool)
			.await
			.map_err(backend)
	}

	async fn logs(&self, id: ExecutionId) -> StoreResult<Vec<LogRecord>> {
		let rows = sqlx::query(
			"SELECT execution_id, at, level, component_id, message FROM wo_execution_logs \
			 WHERE execution_id = $1 ORDER BY id",
		)
		.bind(id.0)
		.fetch_all(&self.pool)
		.await
		.map_err(backend)?;
		rows.iter().map(read::log).collect()
	}

	async fn put_signal(&self, signal: &apg_core::SignalRecord) -> StoreResult<()> {
		self.insert_signal(signal).await
	}

	async fn pending_signals(&self, id: ExecutionId) -> StoreResult<Vec<apg_core::SignalRecord>> {
		self.select_pending_signals(id).await
	}

	async fn put_decision(&self, decision: &apg_core::Decision) -> StoreResult<()> {
		self.insert_decision(decision).await
	}

	async fn decisions(&self, id: ExecutionId) -> StoreResult<Vec<apg_core::Decision>> {
		self.select_decisions(id).await
	}

	async fn waiting_steps(
		&self,
		kind: apg_core::WaitKind,
		limit: i64,
	) -> StoreResult<Vec<StepRecord>> {
		self.select_waiting_steps(kind, limit).await
	}
}

async fn insert_version(tx: &mut sqlx::Transaction<'_, Postgres>, w: &Workflow) -> StoreResult<()> {
	sqlx::query(
		"INSERT INTO wo_workflow_versions (workflow_id, version, definition, created_at, saved_by) \
		 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (workflow_id, version) DO NOTHING",
	)
	.bind(w.id.0)
	.bind(w.version as i32)
	.bind(w.definition.to_value())
	.bind(w.updated_at)
	.bind(&w.saved_by)
	.execute(&mut **tx)
	.await
	.map_err(backend)?;
	Ok(())
}
