//! Mutations: create and delete workflows, execute, cancel and resume executions.
//!
//! Every change goes through the same code and the same checks as REST: `createWorkflow` needs
//! `workflow.create`, builds the seed's `WorkflowCreate` object and parses it with
//! [`NewWorkflow::parse`] (same limits, same unknown field rule, same validation with paths),
//! seals the sensitive config fields, then calls [`workflows::create`] with the caller as owner;
//! the others load their workflow or execution through the [`Guard`](apg_auth::Guard) with the
//! action they need, then go through the [`Engine`](apg_engine::Engine). An unknown or
//! malformed id, or one the caller may not see, is a `not_found` error; a resource the caller
//! may see but not act on is a `security` error. Every change is written to the audit log.

use apg_core::{
	ExecutionId, Issue, NewWorkflow, Permission, Principal, Priority, WorkflowAction, WorkflowId,
};
use apg_engine::{ExecuteRequest, workflows};
use async_graphql::{Context, ID, Object};
use serde_json::{Map, Value, json};

use crate::auth::{audit, principal, security};
use crate::error::{IntoGql, Result, invalid, invalid_one, not_found, rejected};
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
		let caller = &principal(ctx).await?;
		security(ctx)
			.guard
			.require(caller, Permission::WorkflowCreate)
			.await
			.gql()?;
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
		let mut new =
			NewWorkflow::parse(&Value::Object(request)).map_err(|issues| invalid(&issues))?;
		let warnings = seal(ctx, &mut new.definition)?;
		let engine = engine(ctx);
		let (workflow, _) = workflows::create(
			engine.store().as_ref(),
			engine.registry(),
			new,
			&caller.owner(),
		)
		.await
		.gql()?;
		for warning in &warnings {
			tracing::warn!(workflow_id = %workflow.id, %warning, "security warning in a workflow");
		}
		let details = json!({"name": workflow.name});
		audit(
			ctx,
			caller,
			"workflow.create",
			resource(&workflow.id),
			details,
		)
		.await;
		Ok(Workflow::with_stats(workflow, Default::default()))
	}

	/// Deletes a workflow with its versions and ended executions. Refused (`conflict`) while one
	/// of its executions has not ended: cancel those first.
	async fn delete_workflow(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
		let caller = &principal(ctx).await?;
		let workflow = load(ctx, caller, &id, WorkflowAction::Delete).await?;
		// The engine refuses while an execution is in flight and keeps new ones from starting.
		if !apg_engine::workflows::delete(engine(ctx), workflow.id)
			.await
			.gql()?
		{
			return Err(not_found(format!("workflow {}", workflow.id)));
		}
		let details = json!({"name": workflow.name});
		audit(
			ctx,
			caller,
			"workflow.delete",
			resource(&workflow.id),
			details,
		)
		.await;
		Ok(true)
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
		let caller = &principal(ctx).await?;
		let workflow_id = load(ctx, caller, &workflow_id, WorkflowAction::Execute)
			.await?
			.id;
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
				started_by: Some(caller.user_id),
			})
			.await
			.gql()?;
		let details = json!({"execution_id": execution.id.to_string()});
		audit(
			ctx,
			caller,
			"workflow.execute",
			resource(&workflow_id),
			details,
		)
		.await;
		Ok(WorkflowExecution(execution))
	}

	/// Cancels an execution that has not ended (`conflict` when it has).
	async fn cancel_execution(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
		let caller = &principal(ctx).await?;
		let id = executable(ctx, caller, &id).await?;
		engine(ctx).cancel(id).await.gql()?;
		let resource = format!("execution/{id}");
		audit(ctx, caller, "execution.cancel", resource, Value::Null).await;
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
		let caller = &principal(ctx).await?;
		let id = executable(ctx, caller, &id).await?;
		engine(ctx).resume(id, step).await.gql()?;
		let resource = format!("execution/{id}");
		audit(ctx, caller, "execution.resume", resource, Value::Null).await;
		Ok(true)
	}
}

/// The audit resource of a workflow.
fn resource(id: &WorkflowId) -> String {
	format!("workflow/{id}")
}

/// Loads a workflow the caller may act on: `not_found` when the id is malformed, unknown or
/// hidden from the caller, `security` when they may see it but not do this.
async fn load(
	ctx: &Context<'_>,
	caller: &Principal,
	id: &ID,
	action: WorkflowAction,
) -> Result<apg_core::Workflow> {
	let id = parse_id::<WorkflowId>(id).ok_or_else(|| not_found("workflow"))?;
	security(ctx).guard.workflow(caller, id, action).await.gql()
}

/// The id of a stored execution on whose workflow the caller may execute: `not_found` when it
/// is malformed, unknown or hidden from the caller, `security` when they may only read it.
async fn executable(ctx: &Context<'_>, caller: &Principal, id: &ID) -> Result<ExecutionId> {
	let id = parse_id::<ExecutionId>(id).ok_or_else(|| not_found("execution"))?;
	let execution = security(ctx)
		.guard
		.execution(caller, id, WorkflowAction::Execute)
		.await
		.gql()?;
	Ok(execution.id)
}

/// Seals a new definition with the policy REST uses ([`apg_auth::Security::seal`]), mapping a
/// refusal to this API's errors.
fn seal(ctx: &Context<'_>, definition: &mut Value) -> Result<Vec<Issue>> {
	let registry = engine(ctx).registry();
	security(ctx)
		.seal(definition, None, registry)
		.map_err(|refusal| match refusal {
			apg_auth::SealRefusal::Invalid(issues) => invalid(&issues),
			other => {
				let message = other.message();
				rejected(message, &other.issues())
			}
		})
}
