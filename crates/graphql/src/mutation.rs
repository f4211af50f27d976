//! Mutations: create and delete workflows, execute, cancel and resume executions.
//!
//! Every change goes through the same code as REST: `createWorkflow` builds the seed's
//! `WorkflowCreate` object and parses it with [`NewWorkflow::parse`] (same limits, same unknown
//! field rule, same validation with paths), then calls [`workflows::create`]; executions go
//! through the [`Engine`](apg_engine::Engine). An unknown or malformed id is a `not_found` error.

use apg_core::{ExecutionId, NewWorkflow, Priority, WorkflowId};
use apg_engine::{ExecuteRequest, workflows};
use async_graphql::{Context, ID, Object};
use serde_json::{Map, Value};

use crate::Owner;
use crate::error::{IntoGql, Result, invalid, invalid_one, not_found};
use crate::query::parse_id;
use crate::types::{Workflow, WorkflowExecution, engine};

/// Parses a JSON document given as a string argument; a syntax error is a validation error at
/// `path`.
pub(crate) fn parse_json(path: &str, text: &str) -> Result<Value> {
	serde_json::from_str(text).map_err(|e| invalid_one(path, format!("is not valid JSON: {e}")))
}

/// The longest idempotency key accepted.
const MAX_IDEMPOTENCY_KEY: usize = 255;

/// The root of mutations.
pub struct MutationRoot;

#[Object(name = "Mutation")]
impl MutationRoot {
	/// Validates and stores a new workflow (status `draft`, version 1) owned by the caller.
	#[allow(clippy::too_many_arguments)] // One per GraphQL argument.
	async fn create_workflow(
		&self,
		ctx: &Context<'_>,
		#[graphql(desc = "1–255 characters, trimmed; unique per owner.")] name: String,
		description: Option<String>,
		#[graphql(desc = "The definition as a JSON string (the seed's `definition: str`).")]
		definition: String,
		category: Option<String>,
		tags: Option<Vec<String>>,
		#[graphql(desc = "Default priority of its executions, 1 to 10 (5 when absent).")]
		priority: Option<i32>,
	) -> Result<Workflow> {
		let definition = parse_json("definition", &definition)?;
		let mut request = Map::new();
		request.insert("name".to_owned(), Value::String(name));
		if let Some(d) = description {
			request.insert("description".to_owned(), Value::String(d));
		}
		request.insert("definition".to_owned(), definition);
		if let Some(c) = category {
			request.insert("category".to_owned(), Value::String(c));
		}
		if let Some(t) = tags {
			request.insert(
				"tags".to_owned(),
				Value::Array(t.into_iter().map(Value::String).collect()),
			);
		}
		if let Some(p) = priority {
			request.insert("priority".to_owned(), Value::from(p));
		}
		let new = NewWorkflow::parse(&Value::Object(request)).map_err(|issues| invalid(&issues))?;
		let engine = engine(ctx);
		let owner = ctx.data_unchecked::<Owner>();
		let (workflow, report) =
			workflows::create(engine.store().as_ref(), engine.registry(), new, &owner.0)
				.await
				.gql()?;
		for warning in &report.warnings {
			tracing::warn!(workflow_id = %workflow.id, %warning, "security warning in a workflow");
		}
		Ok(Workflow::with_stats(workflow, Default::default()))
	}

	/// Deletes a workflow with its versions and ended executions. Refused (`conflict`) while one
	/// of its executions has not ended: cancel those first.
	async fn delete_workflow(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
		let Some(workflow_id) = parse_id::<WorkflowId>(&id) else {
			return Err(not_found("workflow"));
		};
		// The engine refuses while an execution is in flight and keeps new ones from starting.
		if engine(ctx).delete_workflow(workflow_id).await.gql()? {
			Ok(true)
		} else {
			Err(not_found(format!("workflow {workflow_id}")))
		}
	}

	/// Starts an execution and returns it once it is durably queued.
	async fn execute_workflow(
		&self,
		ctx: &Context<'_>,
		workflow_id: ID,
		#[graphql(desc = "A JSON object, checked against the declared parameters.")]
		parameters: Option<Value>,
		#[graphql(desc = "Overrides the workflow's priority, 1 to 10.")] priority: Option<i32>,
		#[graphql(
			desc = "Repeating a request with the same key (for the same workflow) \
			returns the execution the first one created instead of starting another."
		)]
		idempotency_key: Option<String>,
		#[graphql(desc = "Ids of components to pause before (debugging).")] breakpoints: Option<
			Vec<String>,
		>,
	) -> Result<WorkflowExecution> {
		let Some(workflow_id) = parse_id::<WorkflowId>(&workflow_id) else {
			return Err(not_found("workflow"));
		};
		let parameters = match parameters {
			None | Some(Value::Null) => Map::new(),
			Some(Value::Object(map)) => map,
			Some(_) => return Err(invalid_one("parameters", "must be a JSON object")),
		};
		if let Some(key) = &idempotency_key
			&& (key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY)
		{
			return Err(invalid_one(
				"idempotencyKey",
				format!("must have 1 to {MAX_IDEMPOTENCY_KEY} bytes"),
			));
		}
		let priority = match priority {
			None => None,
			Some(p) => Some(
				Priority::new(i64::from(p))
					.map_err(|_| invalid_one("priority", "must be an integer between 1 and 10"))?,
			),
		};
		let execution = engine(ctx)
			.execute(ExecuteRequest {
				workflow_id,
				parameters,
				priority,
				idempotency_key,
				breakpoints: breakpoints.unwrap_or_default(),
				version: None,
			})
			.await
			.gql()?;
		Ok(WorkflowExecution(execution))
	}

	/// Cancels an execution that has not ended (`conflict` when it has).
	async fn cancel_execution(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
		let id = existing_execution(ctx, &id).await?;
		engine(ctx).cancel(id).await.gql()?;
		Ok(true)
	}

	/// Resumes an execution paused at a breakpoint; with `step`, it pauses again before the next
	/// component (`conflict` when it is not paused).
	async fn resume_execution(
		&self,
		ctx: &Context<'_>,
		id: ID,
		#[graphql(default = false)] step: bool,
	) -> Result<bool> {
		let id = existing_execution(ctx, &id).await?;
		engine(ctx).resume(id, step).await.gql()?;
		Ok(true)
	}
}

/// The id of a stored execution, or a `not_found` error.
async fn existing_execution(ctx: &Context<'_>, id: &ID) -> Result<ExecutionId> {
	let exec_id = parse_id::<ExecutionId>(id).ok_or_else(|| not_found("execution"))?;
	match engine(ctx).store().get_execution(exec_id).await.gql()? {
		Some(_) => Ok(exec_id),
		None => Err(not_found(format!("execution {exec_id}"))),
	}
}
