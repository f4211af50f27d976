//! Decoding rows into domain records. A row that does not decode is reported as a backend error
//! (a corrupt or foreign database), never a panic.

use apg_core::store::{StoreError, StoreResult};
use apg_core::{
	AttemptRecord, ComponentStatus, EventRecord, Execution, ExecutionStatus, LogLevel, LogRecord,
	Priority, StepRecord, Workflow, WorkflowId, WorkflowStats, WorkflowStatus, WorkflowVersion,
};
use serde::de::DeserializeOwned;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

pub(super) fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
	StoreError::Backend(format!("corrupt {what}: {detail}"))
}

pub(super) fn get<'r, T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>>(
	row: &'r SqliteRow,
	column: &str,
) -> StoreResult<T> {
	row.try_get(column).map_err(|e| corrupt(column, e))
}

pub(super) fn json<T: DeserializeOwned>(row: &SqliteRow, column: &str) -> StoreResult<T> {
	let text: String = get(row, column)?;
	serde_json::from_str(&text).map_err(|e| corrupt(column, e))
}

fn json_opt<T: DeserializeOwned>(row: &SqliteRow, column: &str) -> StoreResult<Option<T>> {
	let text: Option<String> = get(row, column)?;
	text.map(|t| serde_json::from_str(&t).map_err(|e| corrupt(column, e)))
		.transpose()
}

pub(super) fn id<T: std::str::FromStr>(row: &SqliteRow, column: &str) -> StoreResult<T>
where
	T::Err: std::fmt::Display,
{
	let text: String = get(row, column)?;
	text.parse().map_err(|e| corrupt(column, e))
}

/// An optional id column (`NULL` is `None`).
pub(super) fn id_opt<T: std::str::FromStr>(row: &SqliteRow, column: &str) -> StoreResult<Option<T>>
where
	T::Err: std::fmt::Display,
{
	let text: Option<String> = get(row, column)?;
	text.map(|t| t.parse().map_err(|e| corrupt(column, e)))
		.transpose()
}

fn priority(row: &SqliteRow) -> StoreResult<Priority> {
	Priority::new(get(row, "priority")?).map_err(|e| corrupt("priority", e))
}

pub(super) fn workflow(row: &SqliteRow) -> StoreResult<Workflow> {
	let status: String = get(row, "status")?;
	Ok(Workflow {
		id: id(row, "id")?,
		name: get(row, "name")?,
		description: get(row, "description")?,
		definition: json(row, "definition")?,
		status: WorkflowStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
		category: get(row, "category")?,
		tags: json(row, "tags")?,
		priority: priority(row)?,
		version: get(row, "version")?,
		created_by: get(row, "created_by")?,
		saved_by: get(row, "saved_by")?,
		created_at: get(row, "created_at")?,
		updated_at: get(row, "updated_at")?,
	})
}

pub(super) fn version(row: &SqliteRow) -> StoreResult<WorkflowVersion> {
	Ok(WorkflowVersion {
		workflow_id: id(row, "workflow_id")?,
		version: get(row, "version")?,
		definition: json(row, "definition")?,
		saved_by: get(row, "saved_by")?,
		created_at: get(row, "created_at")?,
	})
}

pub(super) fn execution(row: &SqliteRow) -> StoreResult<Execution> {
	let status: String = get(row, "status")?;
	Ok(Execution {
		id: id(row, "id")?,
		workflow_id: id(row, "workflow_id")?,
		workflow_version: get(row, "workflow_version")?,
		status: ExecutionStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
		priority: priority(row)?,
		parameters: json(row, "parameters")?,
		vars: json(row, "vars")?,
		results: json_opt(row, "results")?,
		error_message: get(row, "error_message")?,
		breakpoints: json(row, "breakpoints")?,
		created_at: get(row, "created_at")?,
		started_at: get(row, "started_at")?,
		completed_at: get(row, "completed_at")?,
		idempotency_key: get(row, "idempotency_key")?,
		started_by: id_opt(row, "started_by")?,
		rerun_of: id_opt(row, "rerun_of")?,
		parent: json_opt(row, "parent")?,
	})
}

fn component_status(row: &SqliteRow) -> StoreResult<ComponentStatus> {
	let status: String = get(row, "status")?;
	ComponentStatus::parse(&status).ok_or_else(|| corrupt("status", &status))
}

pub(super) fn step(row: &SqliteRow) -> StoreResult<StepRecord> {
	Ok(StepRecord {
		execution_id: id(row, "execution_id")?,
		component_id: get(row, "component_id")?,
		component_type: get(row, "component_type")?,
		status: component_status(row)?,
		attempt: get::<i64>(row, "attempt")? as u32,
		input: json_opt(row, "input_data")?,
		output: json_opt(row, "output_data")?,
		branch: get(row, "branch")?,
		error_message: get(row, "error_message")?,
		run_at: get(row, "run_at")?,
		started_at: get(row, "started_at")?,
		completed_at: get(row, "completed_at")?,
		duration_ms: get(row, "duration_ms")?,
		waiting: json_opt(row, "waiting")?,
	})
}

pub(super) fn attempt(row: &SqliteRow) -> StoreResult<AttemptRecord> {
	Ok(AttemptRecord {
		execution_id: id(row, "execution_id")?,
		component_id: get(row, "component_id")?,
		attempt: get::<i64>(row, "attempt")? as u32,
		status: component_status(row)?,
		error_message: get(row, "error_message")?,
		started_at: get(row, "started_at")?,
		finished_at: get(row, "finished_at")?,
	})
}

pub(super) fn event(row: &SqliteRow) -> StoreResult<EventRecord> {
	Ok(EventRecord {
		seq: get(row, "seq")?,
		event: json(row, "data")?,
	})
}

pub(super) fn log(row: &SqliteRow) -> StoreResult<LogRecord> {
	let level: String = get(row, "level")?;
	Ok(LogRecord {
		execution_id: id(row, "execution_id")?,
		at: get(row, "at")?,
		level: LogLevel::parse(&level),
		component_id: get(row, "component_id")?,
		message: get(row, "message")?,
	})
}

pub(super) fn stats(row: &SqliteRow) -> StoreResult<(WorkflowId, WorkflowStats)> {
	Ok((
		id(row, "workflow_id")?,
		WorkflowStats {
			total_executions: get(row, "total")?,
			successful_executions: get::<Option<i64>>(row, "successful")?.unwrap_or(0),
			failed_executions: get::<Option<i64>>(row, "failed")?.unwrap_or(0),
			avg_duration_seconds: get(row, "avg_duration")?,
			last_execution_at: get(row, "last_execution")?,
		},
	))
}
