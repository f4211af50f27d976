//! Creating, changing and deleting workflows: validation first (every problem at once), then
//! the store. A change of definition makes a new immutable version; executions already created
//! keep the version they were pinned to. The edges (REST, GraphQL, the CLI) parse, check
//! permissions, seal secrets and audit; the rules of what a change does live here.

use apg_core::{
	NewWorkflow, Registry, Store, ValidationReport, Workflow, WorkflowId, WorkflowStatus, validate,
};

use crate::driver::Engine;
use crate::error::{EngineError, Result};

/// What an update asks for.
#[derive(Debug)]
pub struct Change {
	/// Every field as it should be (the stored ones merged with the request's), the definition
	/// already sealed when the request changed it.
	pub fields: NewWorkflow,
	/// Whether the request sent a definition (an owner saving a version someone else saved,
	/// even unchanged, approves it).
	pub definition_sent: bool,
	/// A new status, if the request sets one.
	pub status: Option<WorkflowStatus>,
}

/// Applies `change` to `workflow` as saved by `saver` (as in `created_by`) and stores it. A
/// different definition becomes a new version whose author is `saver`; only the owner's
/// versions run with the owner's secrets (`apg_core::secrets_allowed`), so the owner saving a
/// version someone else saved approves it and makes a version of their own.
pub async fn update(
	engine: &Engine,
	mut workflow: Workflow,
	change: Change,
	saver: &str,
) -> Result<Workflow> {
	let (definition, report) = validate(&change.fields.definition, engine.registry());
	if !report.is_valid {
		return Err(EngineError::Invalid(report.errors));
	}
	refuse_cycles(engine.store().as_ref(), workflow.id, &definition).await?;
	let approves =
		change.definition_sent && !workflow.secrets_allowed() && saver == workflow.created_by;
	if definition != workflow.definition || approves {
		workflow.version += 1;
		workflow.definition = definition;
		workflow.saved_by = saver.to_owned();
	}
	let fields = change.fields;
	workflow.name = fields.name;
	workflow.description = fields.description;
	workflow.category = fields.category;
	workflow.tags = fields.tags;
	workflow.priority = fields.priority;
	workflow.status = change.status.unwrap_or(workflow.status);
	workflow.updated_at = crate::clock::now();
	let updated = engine.store().update_workflow(&workflow).await?;
	engine.invalidate_workflow(workflow.id).await;
	if !updated {
		return Err(EngineError::NotFound(format!("workflow {}", workflow.id)));
	}
	Ok(workflow)
}

/// Refuses a definition of workflow `id` whose steps call, directly or through the workflows
/// they call (as stored now), back into `id`: it could never end. Only literal ids are
/// followed; a cycle through expressions is stopped at run time by the depth limit.
async fn refuse_cycles(
	store: &dyn Store,
	id: WorkflowId,
	definition: &apg_core::Definition,
) -> Result<()> {
	let mut issues = Vec::new();
	for (step, first) in apg_core::child::called_workflows(definition) {
		let mut seen = std::collections::HashSet::new();
		let mut next = vec![first];
		while let Some(called) = next.pop() {
			if called == id {
				let path = format!("definition.components[{step}].config.workflow_id");
				issues.push(apg_core::Issue::new(
					path,
					"calls this workflow back (a cycle that could never end)",
				));
				break;
			}
			if !seen.insert(called) || seen.len() > 200 {
				continue;
			}
			if let Some(w) = store.get_workflow(called).await? {
				next.extend(
					apg_core::child::called_workflows(&w.definition)
						.into_iter()
						.map(|(_, c)| c),
				);
			}
		}
	}
	if issues.is_empty() {
		Ok(())
	} else {
		Err(EngineError::Invalid(issues))
	}
}

/// Deletes a workflow with its versions and ended executions; refused while any of its
/// executions is in flight. False when it did not exist.
pub async fn delete(engine: &Engine, id: WorkflowId) -> Result<bool> {
	engine.delete_workflow(id).await
}

/// Validates and stores a new workflow owned by `owner`. Returns it with its security warnings.
pub async fn create(
	store: &dyn Store,
	registry: &Registry,
	new: NewWorkflow,
	owner: &str,
) -> Result<(Workflow, ValidationReport)> {
	let (definition, report) = validate(&new.definition, registry);
	if !report.is_valid {
		return Err(EngineError::Invalid(report.errors));
	}
	let now = crate::clock::now();
	let workflow = Workflow {
		id: WorkflowId::new(),
		name: new.name,
		description: new.description,
		definition,
		status: WorkflowStatus::Draft,
		category: new.category,
		tags: new.tags,
		priority: new.priority,
		version: 1,
		created_by: owner.to_owned(),
		saved_by: owner.to_owned(),
		created_at: now,
		updated_at: now,
	};
	store.create_workflow(&workflow).await?;
	Ok((workflow, report))
}
