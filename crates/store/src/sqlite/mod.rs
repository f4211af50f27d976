//! The embedded SQLite store.

mod accounts;
mod hooks;
mod notices;
mod read;
mod schedules;
mod waits;
mod write;
mod writer;

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use apg_core::store::{StoreError, StoreResult};
use apg_core::{
	AttemptRecord, Batch, EventRecord, Execution, ExecutionFilter, ExecutionId, LogRecord,
	StepRecord, Store, Workflow, WorkflowFilter, WorkflowId, WorkflowStats, WorkflowVersion,
};
use async_trait::async_trait;
use sqlx::sqlite::{
	SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite};

/// How hard SQLite flushes commits to disk (DESIGN §1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Synchronous {
	/// Every acknowledged commit survives a power loss (the default).
	#[default]
	Full,
	/// Commits survive a process crash but the last ones may be lost on power loss; faster.
	Normal,
}

impl FromStr for Synchronous {
	type Err = String;
	fn from_str(s: &str) -> Result<Self, Self::Err> {
		match s.to_ascii_lowercase().as_str() {
			"full" => Ok(Self::Full),
			"normal" => Ok(Self::Normal),
			other => Err(format!("unknown synchronous mode '{other}' (full, normal)")),
		}
	}
}

/// A SQLite database file holding workflows and executions.
pub struct SqliteStore {
	/// sqlx connection for migrations (they are sqlx's embedded migrations).
	migrator: SqlitePool,
	/// sqlx connections for reads; WAL lets them run beside the writer.
	reader: SqlitePool,
	/// The one connection that writes (see [`writer`]).
	writer: writer::Writer,
}

pub(crate) fn backend(e: sqlx::Error) -> StoreError {
	if let sqlx::Error::Database(db) = &e
		&& db.is_unique_violation()
	{
		return StoreError::Conflict(db.message().to_owned());
	}
	StoreError::Backend(e.to_string())
}

impl SqliteStore {
	/// Opens (creating if needed) the database at `path`. Call [`Store::migrate`] before use.
	pub async fn open(path: &Path, sync: Synchronous) -> StoreResult<Self> {
		private_file(path).map_err(|e| StoreError::Backend(format!("{}: {e}", path.display())))?;
		let options = SqliteConnectOptions::new()
			.filename(path)
			.create_if_missing(true)
			.journal_mode(SqliteJournalMode::Wal)
			.synchronous(match sync {
				Synchronous::Full => SqliteSynchronous::Full,
				Synchronous::Normal => SqliteSynchronous::Normal,
			})
			.foreign_keys(true)
			.busy_timeout(Duration::from_secs(10));
		let migrator = SqlitePoolOptions::new()
			.max_connections(1)
			.min_connections(0)
			.connect_with(options.clone())
			.await
			.map_err(backend)?;
		let reader = SqlitePoolOptions::new()
			.max_connections(4)
			.connect_with(options.read_only(true))
			.await
			.map_err(backend)?;
		let writer = writer::Writer::open(path, sync)?;
		Ok(Self {
			migrator,
			reader,
			writer,
		})
	}

	/// Opens `<dir>/apg.db`, creating the directory (readable by this user only) if needed.
	pub async fn open_dir(dir: &Path, sync: Synchronous) -> StoreResult<Self> {
		private_dir(dir).map_err(|e| StoreError::Backend(format!("{}: {e}", dir.display())))?;
		Self::open(&dir.join("apg.db"), sync).await
	}
}

/// Creates the directory with mode 0700 when it does not exist; an existing one is left as its
/// owner set it.
fn private_dir(dir: &Path) -> std::io::Result<()> {
	let mut builder = std::fs::DirBuilder::new();
	builder.recursive(true);
	#[cfg(unix)]
	std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
	builder.create(dir)
}

/// Creates the database file with mode 0600 before SQLite opens it (SQLite gives its `-wal` and
/// `-shm` files the same mode), and takes group and other access away from an existing one: it
/// holds every workflow, execution and sealed secret.
fn private_file(path: &Path) -> std::io::Result<()> {
	#[cfg(unix)]
	{
		use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
		std::fs::OpenOptions::new()
			.create(true)
			.append(true)
			.mode(0o600)
			.open(path)?;
		let mode = std::fs::metadata(path)?.permissions().mode();
		if mode & 0o077 != 0 {
			std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))?;
		}
	}
	Ok(())
}

const WORKFLOW_COLUMNS: &str = "id, name, description, definition, status, category, tags, \
	priority, version, created_by, saved_by, created_at, updated_at";
const EXECUTION_COLUMNS: &str = "id, workflow_id, workflow_version, status, priority, parameters, \
	vars, results, error_message, breakpoints, created_at, started_at, completed_at, idempotency_key, started_by, \
	rerun_of, parent";
/// [`EXECUTION_COLUMNS`] for lists: no parameters, variables or results (see
/// [`Store::list_executions`]).
const EXECUTION_SUMMARY_COLUMNS: &str = "id, workflow_id, workflow_version, status, priority, \
	'{}' AS parameters, '{}' AS vars, NULL AS results, error_message, breakpoints, created_at, started_at, \
	completed_at, idempotency_key, started_by, rerun_of, parent";

/// The condition on a `wo_workflows` row that `user` (as in `created_by`) owns it or has a
/// share of it. Shares are keyed by user id, so only an id in canonical form can match one.
fn visible_to(q: &mut QueryBuilder<'_, Sqlite>, user: &str) {
	q.push("(created_by = ").push_bind(user.to_owned());
	if let Ok(id) = user.parse::<apg_core::UserId>() {
		q.push(" OR id IN (SELECT workflow_id FROM workflow_shares WHERE user_id = ")
			.push_bind(id.to_string())
			.push(")");
	}
	q.push(")");
}

#[async_trait]
impl Store for SqliteStore {
	async fn migrate(&self) -> StoreResult<()> {
		sqlx::migrate!("./migrations/sqlite")
			.run(&self.migrator)
			.await
			.map_err(|e| StoreError::Backend(format!("migration failed: {e}")))
	}

	async fn create_workflow(&self, w: &Workflow) -> StoreResult<()> {
		let row = write::WorkflowRow::new(w)?;
		self.writer
			.run(move |conn| write::create_workflow(conn, &row))
			.await
			.map_err(|e| crate::conflict::workflow_name(e, &w.name))
	}

	async fn get_workflow(&self, id: WorkflowId) -> StoreResult<Option<Workflow>> {
		let sql = format!("SELECT {WORKFLOW_COLUMNS} FROM wo_workflows WHERE id = ?");
		let row = sqlx::query(&sql)
			.bind(id.to_string())
			.fetch_optional(&self.reader)
			.await
			.map_err(backend)?;
		row.map(|r| read::workflow(&r)).transpose()
	}

	async fn list_workflows(&self, f: &WorkflowFilter) -> StoreResult<Vec<Workflow>> {
		let mut q = QueryBuilder::<Sqlite>::new(format!(
			"SELECT {WORKFLOW_COLUMNS} FROM wo_workflows w WHERE 1=1"
		));
		if let Some(status) = f.status {
			q.push(" AND status = ").push_bind(status.as_str());
		}
		if let Some(category) = &f.category {
			q.push(" AND category = ").push_bind(category.clone());
		}
		if let Some(tag) = &f.tag {
			q.push(" AND EXISTS (SELECT 1 FROM json_each(w.tags) WHERE value = ")
				.push_bind(tag.clone())
				.push(")");
		}
		if let Some(search) = &f.search {
			let pattern = format!("%{}%", search.to_lowercase());
			q.push(" AND (lower(name) LIKE ").push_bind(pattern.clone());
			q.push(" OR lower(coalesce(description, '')) LIKE ")
				.push_bind(pattern)
				.push(")");
		}
		if let Some(user) = &f.visible_to {
			q.push(" AND ");
			visible_to(&mut q, user);
		}
		q.push(" ORDER BY updated_at DESC, id DESC LIMIT ")
			.push_bind(if f.limit <= 0 { -1 } else { f.limit });
		q.push(" OFFSET ").push_bind(f.offset.max(0));
		let rows = q.build().fetch_all(&self.reader).await.map_err(backend)?;
		rows.iter().map(read::workflow).collect()
	}

	async fn update_workflow(&self, w: &Workflow) -> StoreResult<bool> {
		let row = write::WorkflowRow::new(w)?;
		self.writer
			.run(move |conn| write::update_workflow(conn, &row))
			.await
			.map_err(|e| crate::conflict::workflow_name(e, &w.name))
	}

	async fn delete_workflow(&self, id: WorkflowId) -> StoreResult<bool> {
		let id = id.to_string();
		self.writer
			.run(move |conn| write::delete_workflow(conn, &id))
			.await
	}

	async fn get_version(
		&self,
		id: WorkflowId,
		version: i64,
	) -> StoreResult<Option<WorkflowVersion>> {
		let row = sqlx::query(
			"SELECT workflow_id, version, definition, saved_by, created_at FROM wo_workflow_versions \
			 WHERE workflow_id = ? AND version = ?",
		)
		.bind(id.to_string())
		.bind(version)
		.fetch_optional(&self.reader)
		.await
		.map_err(backend)?;
		row.map(|r| read::version(&r)).transpose()
	}

	async fn list_versions(&self, id: WorkflowId) -> StoreResult<Vec<WorkflowVersion>> {
		let rows = sqlx::query(
			"SELECT workflow_id, version, definition, saved_by, created_at FROM wo_workflow_versions \
			 WHERE workflow_id = ? ORDER BY version",
		)
		.bind(id.to_string())
		.fetch_all(&self.reader)
		.await
		.map_err(backend)?;
		rows.iter().map(read::version).collect()
	}

	async fn commit(&self, batch: &Batch) -> StoreResult<()> {
		if batch.is_empty() {
			return Ok(());
		}
		let encoded = write::EncodedBatch::new(batch)?;
		self.writer.run(move |conn| encoded.apply(conn)).await
	}

	async fn get_execution(&self, id: ExecutionId) -> StoreResult<Option<Execution>> {
		let sql = format!("SELECT {EXECUTION_COLUMNS} FROM wo_executions WHERE id = ?");
		let row = sqlx::query(&sql)
			.bind(id.to_string())
			.fetch_optional(&self.reader)
			.await
			.map_err(backend)?;
		row.map(|r| read::execution(&r)).transpose()
	}

	async fn list_executions(&self, f: &ExecutionFilter) -> StoreResult<Vec<Execution>> {
		let mut q = QueryBuilder::<Sqlite>::new(format!(
			"SELECT {EXECUTION_SUMMARY_COLUMNS} FROM wo_executions WHERE 1=1"
		));
		if let Some(w) = f.workflow_id {
			q.push(" AND workflow_id = ").push_bind(w.to_string());
		}
		if let Some(status) = f.status {
			q.push(" AND status = ").push_bind(status.as_str());
		}
		if let Some(user) = &f.visible_to {
			q.push(" AND workflow_id IN (SELECT id FROM wo_workflows WHERE ");
			visible_to(&mut q, user);
			q.push(")");
		}
		q.push(" ORDER BY id DESC LIMIT ")
			.push_bind(if f.limit <= 0 { -1 } else { f.limit });
		q.push(" OFFSET ").push_bind(f.offset.max(0));
		let rows = q.build().fetch_all(&self.reader).await.map_err(backend)?;
		rows.iter().map(read::execution).collect()
	}

	async fn find_by_idempotency_key(
		&self,
		workflow: WorkflowId,
		key: &str,
	) -> StoreResult<Option<Execution>> {
		let sql = format!(
			"SELECT {EXECUTION_COLUMNS} FROM wo_executions WHERE workflow_id = ? AND idempotency_key = ? \
			 ORDER BY id LIMIT 1"
		);
		let row = sqlx::query(&sql)
			.bind(workflow.to_string())
			.bind(key)
			.fetch_optional(&self.reader)
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
		// Read through the writer so recovery sees every commit made before it.
		let rows = sqlx::query(&sql)
			.fetch_all(&self.reader)
			.await
			.map_err(backend)?;
		rows.iter().map(read::execution).collect()
	}

	async fn children(&self, parent: ExecutionId) -> StoreResult<Vec<Execution>> {
		let sql = format!(
			"SELECT {EXECUTION_COLUMNS} FROM wo_executions WHERE parent_id = ? ORDER BY id"
		);
		let rows = sqlx::query(&sql)
			.bind(parent.to_string())
			.fetch_all(&self.reader)
			.await
			.map_err(backend)?;
		rows.iter().map(read::execution).collect()
	}

	async fn count_executions(&self) -> StoreResult<i64> {
		sqlx::query_scalar("SELECT count(*) FROM wo_executions")
			.fetch_one(&self.reader)
			.await
			.map_err(backend)
	}

	async fn delete_ended_before(&self, cutoff: apg_core::Millis, limit: i64) -> StoreResult<u64> {
		self.writer
			.run(move |conn| write::delete_ended_before(conn, cutoff, limit))
			.await
	}

	async fn workflow_stats(
		&self,
		ids: &[WorkflowId],
	) -> StoreResult<HashMap<WorkflowId, WorkflowStats>> {
		let mut out = HashMap::new();
		for chunk in ids.chunks(500) {
			// Kept by triggers (migration 0003): one row per workflow.
			let mut q = QueryBuilder::<Sqlite>::new(
				"SELECT workflow_id, total_executions AS total, successful_executions AS successful, \
				 failed_executions AS failed, \
				 CASE WHEN duration_count > 0 THEN duration_sum_ms / 1000.0 / duration_count END \
				 AS avg_duration, last_execution_at AS last_execution \
				 FROM wo_workflow_stats WHERE workflow_id IN (",
			);
			let mut list = q.separated(", ");
			for id in chunk {
				list.push_bind(id.to_string());
			}
			q.push(")");
			for row in q.build().fetch_all(&self.reader).await.map_err(backend)? {
				let (id, stats) = read::stats(&row)?;
				out.insert(id, stats);
			}
		}
		Ok(out)
	}

	async fn steps(&self, id: ExecutionId) -> StoreResult<Vec<StepRecord>> {
		let rows = sqlx::query(
			"SELECT execution_id, component_id, component_type, status, attempt, input_data, \
			 output_data, branch, error_message, run_at, started_at, completed_at, duration_ms, \
			 waiting FROM wo_component_executions WHERE execution_id = ? ORDER BY rowid",
		)
		.bind(id.to_string())
		.fetch_all(&self.reader)
		.await
		.map_err(backend)?;
		rows.iter().map(read::step).collect()
	}

	async fn attempts(&self, id: ExecutionId) -> StoreResult<Vec<AttemptRecord>> {
		let rows = sqlx::query(
			"SELECT execution_id, component_id, attempt, status, error_message, started_at, \
			 finished_at FROM wo_component_attempts WHERE execution_id = ? ORDER BY rowid",
		)
		.bind(id.to_string())
		.fetch_all(&self.reader)
		.await
		.map_err(backend)?;
		rows.iter().map(read::attempt).collect()
	}

	async fn events(&self, id: ExecutionId) -> StoreResult<Vec<EventRecord>> {
		let rows = sqlx::query(
			"SELECT seq, data FROM wo_execution_events WHERE execution_id = ? ORDER BY seq",
		)
		.bind(id.to_string())
		.fetch_all(&self.reader)
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
		let mut q =
			QueryBuilder::<Sqlite>::new("SELECT seq, data FROM wo_execution_events WHERE seq > ");
		q.push_bind(after);
		if !missing.is_empty() {
			q.push(" OR seq IN (");
			let mut list = q.separated(", ");
			for seq in missing {
				list.push_bind(*seq);
			}
			q.push(")");
		}
		q.push(" ORDER BY seq LIMIT ").push_bind(limit);
		let rows = q.build().fetch_all(&self.reader).await.map_err(backend)?;
		rows.iter().map(read::event).collect()
	}

	async fn last_event_seq(&self) -> StoreResult<i64> {
		sqlx::query_scalar("SELECT coalesce(max(seq), 0) FROM wo_execution_events")
			.fetch_one(&self.reader)
			.await
			.map_err(backend)
	}

	async fn logs(&self, id: ExecutionId) -> StoreResult<Vec<LogRecord>> {
		let rows = sqlx::query(
			"SELECT execution_id, at, level, component_id, message FROM wo_execution_logs \
			 WHERE execution_id = ? ORDER BY id",
		)
		.bind(id.to_string())
		.fetch_all(&self.reader)
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
