//! Creating and changing workflow definitions: validation first (every problem at once), then
//! the store. A change of definition makes a new immutable version; executions already created
//! keep the version they were pinned to.

use apg_core::{
	NewWorkflow, Registry, Store, ValidationReport, Workflow, WorkflowId, WorkflowStatus,
	now_millis, validate,
};

use crate::error::{EngineError, Result};

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
	let now = now_millis();
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
