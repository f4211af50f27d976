//! Queries: workflows (with their statistics, one store call per page), executions with their
//! components and logs, the component catalogue and definition validation.
//!
//! An id that is unknown or not a UUID yields `null`, as a missing resource is an answer to a
//! query, not a failure; so does one the caller may not see (existence does not leak). Lists
//! hold only what the caller may see. A malformed filter (an unknown status, a workflow filter
//! that is not a UUID) is a validation error.

use apg_core::{
	ExecutionFilter, ExecutionId, ExecutionStatus, WorkflowAction, WorkflowFilter, WorkflowId,
	WorkflowStatus,
};
use async_graphql::{Context, ID, Object};

use crate::auth::{principal, security, visible};
use crate::error::{IntoGql, Result, invalid_one};
use crate::types::{
	ComponentType, ValidationResult, Workflow, WorkflowExecution, engine, wants_stats,
};

/// The largest page a list returns.
pub(crate) const MAX_LIMIT: i32 = 500;

/// A requested page size clamped to `1..=MAX_LIMIT`.
pub(crate) fn clamp_limit(limit: i32) -> i64 {
	i64::from(limit.clamp(1, MAX_LIMIT))
}

/// The complexity weight of a page: one per 50 rows, so a full page of 500 weighs ten times the
/// default one (see the crate documentation).
pub(crate) fn pages(limit: i32) -> usize {
	(clamp_limit(limit) as usize).div_ceil(50)
}

/// Parses an id; `None` when it is not a UUID.
pub(crate) fn parse_id<T: std::str::FromStr>(id: &ID) -> Option<T> {
	id.as_str().trim().parse().ok()
}

/// The root of queries.
pub struct QueryRoot;

#[Object(name = "Query")]
impl QueryRoot {
	/// The workflows the caller may see, most recently changed first, each with its execution
	/// statistics.
	#[graphql(complexity = "1 + child_complexity * crate::query::pages(limit)")]
	#[allow(clippy::too_many_arguments)] // One per GraphQL argument.
	async fn workflows(
		&self,
		ctx: &Context<'_>,
		#[graphql(default = 50, desc = "Page size, clamped to 1..=500.")] limit: i32,
		#[graphql(default = 0)] offset: i32,
		category: Option<String>,
		#[graphql(desc = "`draft`, `active`, `inactive` or `archived`.")] status: Option<String>,
		#[graphql(desc = "Name or description contains this text (case-insensitive).")]
		search: Option<String>,
		tag: Option<String>,
	) -> Result<Vec<Workflow>> {
		let status = match status.as_deref() {
			None => None,
			Some(s) => Some(WorkflowStatus::parse(s).ok_or_else(|| {
				invalid_one("status", "must be one of draft, active, inactive, archived")
			})?),
		};
		let caller = &principal(ctx).await?;
		let filter = WorkflowFilter {
			status,
			category,
			search,
			tag,
			visible_to: security(ctx).guard.visible_to(caller),
			limit: clamp_limit(limit),
			offset: i64::from(offset.max(0)),
		};
		let store = engine(ctx).store();
		let workflows = store.list_workflows(&filter).await.gql()?;
		if !wants_stats(ctx) || workflows.is_empty() {
			return Ok(workflows.into_iter().map(Workflow::new).collect());
		}
		let ids: Vec<_> = workflows.iter().map(|w| w.id).collect();
		let mut stats = store.workflow_stats(&ids).await.gql()?;
		Ok(workflows
			.into_iter()
			.map(|w| {
				let s = stats.remove(&w.id).unwrap_or_default();
				Workflow::with_stats(w, s)
			})
			.collect())
	}

	/// One workflow; null when it does not exist or the caller may not see it.
	async fn workflow(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Workflow>> {
		let caller = &principal(ctx).await?;
		let Some(id) = parse_id::<WorkflowId>(&id) else {
			return Ok(None);
		};
		let found = security(ctx)
			.guard
			.workflow(caller, id, WorkflowAction::Read)
			.await;
		Ok(visible(found)?.map(Workflow::new))
	}

	/// Executions of the workflows the caller may see, newest first.
	#[graphql(complexity = "1 + child_complexity * crate::query::pages(limit)")]
	async fn executions(
		&self,
		ctx: &Context<'_>,
		workflow_id: Option<ID>,
		#[graphql(
			desc = "`pending`, `queued`, `running`, `paused`, `completed`, `failed` or `cancelled`."
		)]
		status: Option<String>,
		#[graphql(default = 50, desc = "Page size, clamped to 1..=500.")] limit: i32,
		#[graphql(default = 0)] offset: i32,
	) -> Result<Vec<WorkflowExecution>> {
		let workflow_id = match &workflow_id {
			None => None,
			Some(id) => Some(parse_id(id).ok_or_else(|| invalid_one("workflowId", "not a UUID"))?),
		};
		let status = match status.as_deref() {
			None => None,
			Some(s) => Some(ExecutionStatus::parse(s).ok_or_else(|| {
				invalid_one(
					"status",
					"must be one of pending, queued, running, paused, completed, failed, \
					 cancelled",
				)
			})?),
		};
		let caller = &principal(ctx).await?;
		let filter = ExecutionFilter {
			workflow_id,
			status,
			visible_to: security(ctx).guard.visible_to(caller),
			limit: clamp_limit(limit),
			offset: i64::from(offset.max(0)),
		};
		let executions = engine(ctx).store().list_executions(&filter).await.gql()?;
		Ok(executions.into_iter().map(WorkflowExecution).collect())
	}

	/// One execution; null when it does not exist or the caller may not see its workflow.
	async fn execution(&self, ctx: &Context<'_>, id: ID) -> Result<Option<WorkflowExecution>> {
		let caller = &principal(ctx).await?;
		let Some(id) = parse_id::<ExecutionId>(&id) else {
			return Ok(None);
		};
		let found = security(ctx)
			.guard
			.execution(caller, id, WorkflowAction::Read)
			.await;
		Ok(visible(found)?.map(WorkflowExecution))
	}

	/// Every component type the engine knows, with the JSON schema of its config.
	async fn components(&self, ctx: &Context<'_>) -> Result<Vec<ComponentType>> {
		principal(ctx).await?;
		let registry = engine(ctx).registry();
		Ok(registry
			.iter()
			.map(|(kind, component)| ComponentType {
				kind: kind.to_owned(),
				summary: component.summary().to_owned(),
				config_schema: registry
					.schema(kind)
					.map(|s| s.document().clone())
					.unwrap_or_default(),
			})
			.collect())
	}

	/// Validates a definition (a JSON string, as `createWorkflow` takes it) without storing
	/// anything: every error at once, each with its path, plus the security warnings.
	async fn validate_definition(
		&self,
		ctx: &Context<'_>,
		definition: String,
	) -> Result<ValidationResult> {
		principal(ctx).await?;
		let value = crate::mutation::parse_json("definition", &definition)?;
		let (_, report) = apg_core::validate(&value, engine(ctx).registry());
		Ok(report.into())
	}
}
