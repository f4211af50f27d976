//! Unique violations of workflow names, given a message for people. The backends' own texts
//! (`UNIQUE constraint failed: wo_workflows.name, …`, `duplicate key value violates unique
//! constraint "wo_workflows_name_key"`) name tables and constraints, which a client should
//! neither see nor depend on. Both name the table, which is what is matched.

use apg_core::store::StoreError;

/// `e`, or the conflict of a second workflow named `name` for the same owner.
pub(crate) fn workflow_name(e: StoreError, name: &str) -> StoreError {
	match e {
		StoreError::Conflict(m) if m.contains("wo_workflows") => {
			StoreError::Conflict(format!("a workflow named '{name}' already exists"))
		}
		other => other,
	}
}
