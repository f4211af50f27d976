//! The one place that answers "may this caller do this to that workflow or execution?" for REST,
//! GraphQL and WebSocket alike: it loads the resource and the caller's share of it and applies
//! [`apg_core::workflow_access`]. A hidden resource is reported as not found, so existence
//! never leaks; an execution is hidden or forbidden exactly as its workflow is. Workflows are
//! read through the engine's cache, the one copy the engine runs from.

use std::sync::Arc;

use apg_core::{
	Access, AuthStore, Cache, Execution, ExecutionId, Permission, Principal, Store, Workflow,
	WorkflowAction, WorkflowId, workflow_access,
};

use crate::audit::Auditor;
use crate::error::AuthError;

/// Whether the creator of a trigger (a schedule, a webhook) may still act on its workflow: the
/// trigger acts as its creator, with the checks a request of theirs would meet.
pub enum Delegation {
	/// They may: their account as a caller.
	Allowed(Principal),
	/// They may not: their account while it exists (for the audit), and why.
	Refused(Option<Principal>, String),
}

/// Authorization checks over the stores.
#[derive(Clone)]
pub struct Guard {
	store: Arc<dyn Store>,
	cache: Option<Arc<dyn Cache>>,
	accounts: Arc<dyn AuthStore>,
	audit: Auditor,
}

impl Guard {
	/// A guard reading `store` (through `cache` when there is one) and `accounts`; every denial
	/// goes to `audit`.
	pub fn new(
		store: Arc<dyn Store>,
		cache: Option<Arc<dyn Cache>>,
		accounts: Arc<dyn AuthStore>,
		audit: Auditor,
	) -> Self {
		Self {
			store,
			cache,
			accounts,
			audit,
		}
	}

	/// Fails with 403 unless the caller's role includes `permission`.
	pub async fn require(
		&self,
		principal: &Principal,
		permission: Permission,
	) -> Result<(), AuthError> {
		if principal.can(permission) {
			return Ok(());
		}
		self.deny(principal, permission.as_str(), "-", "forbidden")
			.await;
		Err(AuthError::Forbidden(format!(
			"the {} role does not have {permission}",
			principal.role
		)))
	}

	/// Records a denial.
	pub async fn deny(&self, principal: &Principal, action: &str, resource: &str, why: &str) {
		self.audit
			.record(
				Some(principal),
				action,
				resource,
				false,
				serde_json::json!({"reason": why}),
			)
			.await;
	}

	/// The `visible_to` filter for listings: `None` for those who may read everything.
	pub fn visible_to(&self, principal: &Principal) -> Option<String> {
		(!principal.can_everywhere(Permission::WorkflowRead)).then(|| principal.owner())
	}

	/// Loads a workflow the caller may act on.
	pub async fn workflow(
		&self,
		principal: &Principal,
		id: WorkflowId,
		action: WorkflowAction,
	) -> Result<Workflow, AuthError> {
		let workflow = apg_core::cache::read_workflow(self.cache.as_deref(), &*self.store, id)
			.await?
			.ok_or_else(|| AuthError::NotFound(format!("workflow {id}")))?;
		self.check(principal, &workflow, action).await?;
		Ok(workflow)
	}

	/// Whether the caller may do `action` to a workflow, without recording a denial: for
	/// listings that leave out what the caller may not act on (the approvals inbox).
	pub async fn allows(
		&self,
		principal: &Principal,
		id: WorkflowId,
		action: WorkflowAction,
	) -> Result<bool, AuthError> {
		let Some(workflow) =
			apg_core::cache::read_workflow(self.cache.as_deref(), &*self.store, id).await?
		else {
			return Ok(false);
		};
		if principal.can_everywhere(action.permission()) || workflow.created_by == principal.owner()
		{
			return Ok(
				workflow_access(principal, &workflow.created_by, None, action) == Access::Allowed,
			);
		}
		let share = self
			.accounts
			.share_for(workflow.id, principal.user_id)
			.await?;
		let granted = share.as_ref().map(|s| s.actions.as_slice());
		Ok(workflow_access(principal, &workflow.created_by, granted, action) == Access::Allowed)
	}

	/// Checks an already loaded workflow.
	pub async fn check(
		&self,
		principal: &Principal,
		workflow: &Workflow,
		action: WorkflowAction,
	) -> Result<(), AuthError> {
		let direct = principal.can_everywhere(action.permission())
			|| workflow.created_by == principal.owner();
		let share = if direct {
			None
		} else {
			self.accounts
				.share_for(workflow.id, principal.user_id)
				.await?
		};
		let granted = share.as_ref().map(|s| s.actions.as_slice());
		let access = workflow_access(principal, &workflow.created_by, granted, action);
		if access == Access::Allowed {
			return Ok(());
		}
		let resource = format!("workflow/{}", workflow.id);
		let name = action.permission().as_str();
		if access == Access::Forbidden {
			self.deny(principal, name, &resource, "forbidden").await;
			Err(AuthError::Forbidden(format!(
				"you may not {} workflow {}",
				action.as_str(),
				workflow.id
			)))
		} else {
			self.deny(principal, name, &resource, "not visible").await;
			Err(AuthError::NotFound(format!("workflow {}", workflow.id)))
		}
	}

	/// Whether `user`, who made a trigger of `workflow`, may still do `action` to it: an active
	/// account whose role and shares allow it now. Errors only when the check cannot be made.
	pub async fn delegate(
		&self,
		user: apg_core::UserId,
		workflow: WorkflowId,
		action: WorkflowAction,
	) -> Result<Delegation, AuthError> {
		let Some(account) = self.accounts.get_user(user).await? else {
			let why = "its creator no longer exists".to_owned();
			return Ok(Delegation::Refused(None, why));
		};
		let active = account.active;
		let principal = Principal {
			user_id: account.id,
			username: account.username,
			role: account.role,
		};
		if !active {
			let why = "its creator is disabled".to_owned();
			return Ok(Delegation::Refused(Some(principal), why));
		}
		match self.workflow(&principal, workflow, action).await {
			Ok(_) => Ok(Delegation::Allowed(principal)),
			Err(AuthError::Forbidden(why) | AuthError::NotFound(why)) => {
				let why = format!("its creator may no longer run the workflow ({why})");
				Ok(Delegation::Refused(Some(principal), why))
			}
			Err(e) => Err(e),
		}
	}

	/// Loads an execution whose workflow the caller may act on.
	pub async fn execution(
		&self,
		principal: &Principal,
		id: ExecutionId,
		action: WorkflowAction,
	) -> Result<Execution, AuthError> {
		let hidden = || AuthError::NotFound(format!("execution {id}"));
		let execution = self.store.get_execution(id).await?.ok_or_else(hidden)?;
		match self
			.workflow(principal, execution.workflow_id, action)
			.await
		{
			Ok(_) => Ok(execution),
			Err(AuthError::NotFound(_)) => Err(hidden()),
			Err(e) => Err(e),
		}
	}
}
