//! Decoding PostgreSQL rows into domain records; a row that does not decode is a backend error.

use apg_core::store::{StoreError, StoreResult};
use apg_core::{
	AttemptRecord, ComponentStatus, EventRecord, Execution, ExecutionId, ExecutionStatus, LogLevel,
	LogRecord, Priority, StepRecord, UserId, Workflow, WorkflowId, WorkflowStats, WorkflowStatus,
	WorkflowVersion,
};
use serde::de::DeserializeOwned;
use serde_json::Value;
use sqlx::Row;
use sqlx::postgres::PgRow;
use uuid::Uuid;

pub(super) fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
	StoreError::Backend(format!("corrupt {what}: {detail}"))
}

pub(super) fn get<'r, T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>>(
	row: &'r PgRow,
	column: &str,
) -> StoreResult<T> {
	row.try_get(column).map_err(|e| corrupt(column, e))
}

pub(super) fn json<T: DeserializeOwned>(row: &PgRow, column: &str) -> StoreResult<T> {
	let value: Value = get(row, column)?;
	serde_json::from_value(value).map_err(|e| corrupt(column, e))
}

fn json_opt<T: DeserializeOwned>(row: &PgRow, column: &str) -> StoreResult<Option<T>> {
	let value: Option<Value> = get(row, column)?;
	value
		.map(|v| serde_json::from_value(v).map_err(|e| corrupt(column, e)))
		.transpose()
}

fn priority(row: &PgRow) -> StoreResult<Priority> {
	Priority::new(i64::from(get::<i32>(row, "priority")?)).map_err(|e| corrupt("priority", e))
}

fn int(row: &PgRow, column: &str) -> StoreResult<i64> {
	Ok(i64::from(get::<i32>(row, column)?))
}

pub(super) fn workflow(row: &PgRow) -> StoreResult<Workflow> {
	let status: String = get(row, "status")?;
	Ok(Workflow {
		id: WorkflowId(get::<Uuid>(row, "id")?),
		name: get(row, "name")?,
		description: get(row, "description")?,
		definition: json(row, "definition")?,
		status: WorkflowStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
		category: get(row, "category")?,
		tags: get(row, "tags")?,
		priority: priority(row)?,
		version: int(row, "version")?,
		created_by: get(row, "created_by")?,
		saved_by: get(row, "saved_by")?,
		created_at: get(row, "created_at")?,
		updated_at: get(row, "updated_at")?,
	})
}

pub(super) fn version(row: &PgRow) -> StoreResult<WorkflowVersion> {
	Ok(WorkflowVersion {
		workflow_id: WorkflowId(get::<Uuid>(row, "workflow_id")?),
		version: int(row, "version")?,
		definition: json(row, "definition")?,
		saved_by: get(row, "saved_by")?,
		created_at: get(row, "created_at")?,
	})
}

pub(super) fn execution(row: &PgRow) -> StoreResult<Execution> {
	let status: String = get(row, "status")?;
	Ok(Execution {
		id: ExecutionId(get::<Uuid>(row, "id")?),
		workflow_id: WorkflowId(get::<Uuid>(row, "workflow_id")?),
		workflow_version: int(row, "workflow_version")?,
		status: ExecutionStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
		priority: priority(row)?,
		parameters: json(row, "parameters")?,
		vars: json(row, "vars")?,
		results: get(row, "results")?,
		error_message: get(row, "error_message")?,
		breakpoints: json(row, "breakpoints")?,
		idempotency_key: get(row, "idempotency_key")?,
		created_at: get(row, "created_at")?,
		started_at: get(row, "started_at")?,
		completed_at: get(row, "completed_at")?,
		started_by: get::<Option<Uuid>>(row, "started_by")?.map(UserId),
		rerun_of: get::<Option<Uuid>>(row, "rerun_of")?.map(ExecutionId),
		parent: json_opt(row, "parent")?,
	})
}

fn component_status(row: &PgRow) -> StoreResult<ComponentStatus> {
	let status: String = get(row, "status")?;
	ComponentStatus::parse(&status).ok_or_else(|| corrupt("status", &status))
}

pub(super) fn step(row: &PgRow) -> StoreResult<StepRecord> {
	Ok(StepRecord {
		execution_id: ExecutionId(get::<Uuid>(row, "execution_id")?),
		component_id: get(row, "component_id")?,
		component_type: get(row, "component_type")?,
		status: component_status(row)?,
		attempt: get::<i32>(row, "attempt")? as u32,
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

pub(super) fn attempt(row: &PgRow) -> StoreResult<AttemptRecord> {
	Ok(AttemptRecord {
		execution_id: ExecutionId(get::<Uuid>(row, "execution_id")?),
		component_id: get(row, "component_id")?,
		attempt: get::<i32>(row, "attempt")? as u32,
		status: component_status(row)?,
		error_message: get(row, "error_message")?,
		started_at: get(row, "started_at")?,
		finished_at: get(row, "finished_at")?,
	})
}

pub(super) fn event(row: &PgRow) -> StoreResult<EventRecord> {
	Ok(EventRecord {
		seq: get(row, "seq")?,
		event: json(row, "data")?,
	})
}

pub(super) fn log(row: &PgRow) -> StoreResult<LogRecord> {
	let level: String = get(row, "level")?;
	Ok(LogRecord {
		execution_id: ExecutionId(get::<Uuid>(row, "execution_id")?),
		at: get(row, "at")?,
		level: LogLevel::parse(&level),
		component_id: get(row, "component_id")?,
		message: get(row, "message")?,
	})
}

pub(super) fn stats(row: &PgRow) -> StoreResult<(WorkflowId, WorkflowStats)> {
	Ok((
		WorkflowId(get::<Uuid>(row, "workflow_id")?),
		WorkflowStats {
			total_executions: get(row, "total_executions")?,
			successful_executions: get(row, "successful_executions")?,
			failed_executions: get(row, "failed_executions")?,
			avg_duration_seconds: get(row, "avg_duration_seconds")?,
			last_execution_at: get(row, "last_execution_at")?,
		},
	))
}
