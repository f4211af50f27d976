//! Who may do what: the roles and permissions of DESIGN §6 and the seed's
//! `check_workflow_permission`, as pure functions so REST, GraphQL and WebSocket decide alike.
//!
//! A decision, since the seed's role check would let every editor read every workflow: a role
//! grants *global* permissions only to `admin` (the seed's "direct permission"). For every other
//! role, the role's permissions are a *ceiling*: they say what the user may ever do, and
//! ownership or a share says on which workflows. So an operator who was shared a workflow with
//! `update` still cannot edit it, and a user with neither ownership nor a share never learns the
//! workflow exists (the caller answers 404, not 403).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ids::UserId;

/// A user's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
	/// Everything, on every resource.
	Admin,
	/// Creates and maintains workflows, templates and credentials.
	Editor,
	/// Runs and watches workflows shared with them.
	Operator,
	/// Reads workflows shared with them.
	Viewer,
}

impl Role {
	/// Every role, most powerful first.
	pub const ALL: [Role; 4] = [Role::Admin, Role::Editor, Role::Operator, Role::Viewer];

	/// The lowercase name.
	pub fn as_str(self) -> &'static str {
		match self {
			Role::Admin => "admin",
			Role::Editor => "editor",
			Role::Operator => "operator",
			Role::Viewer => "viewer",
		}
	}

	/// What the role may do (for `admin` on everything; for the others, at most this).
	pub fn permissions(self) -> &'static [Permission] {
		use Permission::*;
		match self {
			Role::Admin => &Permission::ALL,
			Role::Editor => &[
				WorkflowCreate,
				WorkflowRead,
				WorkflowUpdate,
				WorkflowDelete,
				WorkflowExecute,
				TemplateCreate,
				TemplateRead,
				TemplateUpdate,
				TemplateDelete,
				CredentialCreate,
				CredentialRead,
				CredentialUpdate,
				CredentialDelete,
			],
			Role::Operator => &[WorkflowRead, WorkflowExecute, TemplateRead, CredentialRead],
			Role::Viewer => &[WorkflowRead, TemplateRead],
		}
	}

	/// Whether the role includes `permission`.
	pub fn has(self, permission: Permission) -> bool {
		self.permissions().contains(&permission)
	}
}

impl fmt::Display for Role {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.write_str(self.as_str())
	}
}

impl FromStr for Role {
	type Err = String;
	fn from_str(s: &str) -> Result<Self, Self::Err> {
		Role::ALL
			.into_iter()
			.find(|r| r.as_str() == s)
			.ok_or_else(|| format!("unknown role '{s}' (admin, editor, operator or viewer)"))
	}
}

/// One permission of DESIGN §6.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Permission {
	WorkflowCreate,
	WorkflowRead,
	WorkflowUpdate,
	WorkflowDelete,
	WorkflowExecute,
	TemplateCreate,
	TemplateRead,
	TemplateUpdate,
	TemplateDelete,
	CredentialCreate,
	CredentialRead,
	CredentialUpdate,
	CredentialDelete,
	UserCreate,
	UserRead,
	UserUpdate,
	UserDelete,
	AuditRead,
	/// `GET /metrics`: queue depths and throughput tell an outsider how the system is used.
	MetricsRead,
}

impl Permission {
	/// Every permission.
	pub const ALL: [Permission; 19] = [
		Permission::WorkflowCreate,
		Permission::WorkflowRead,
		Permission::WorkflowUpdate,
		Permission::WorkflowDelete,
		Permission::WorkflowExecute,
		Permission::TemplateCreate,
		Permission::TemplateRead,
		Permission::TemplateUpdate,
		Permission::TemplateDelete,
		Permission::CredentialCreate,
		Permission::CredentialRead,
		Permission::CredentialUpdate,
		Permission::CredentialDelete,
		Permission::UserCreate,
		Permission::UserRead,
		Permission::UserUpdate,
		Permission::UserDelete,
		Permission::AuditRead,
		Permission::MetricsRead,
	];

	/// The dotted name (`workflow.read`).
	pub fn as_str(self) -> &'static str {
		use Permission::*;
		match self {
			WorkflowCreate => "workflow.create",
			WorkflowRead => "workflow.read",
			WorkflowUpdate => "workflow.update",
			WorkflowDelete => "workflow.delete",
			WorkflowExecute => "workflow.execute",
			TemplateCreate => "template.create",
			TemplateRead => "template.read",
			TemplateUpdate => "template.update",
			TemplateDelete => "template.delete",
			CredentialCreate => "credential.create",
			CredentialRead => "credential.read",
			CredentialUpdate => "credential.update",
			CredentialDelete => "credential.delete",
			UserCreate => "user.create",
			UserRead => "user.read",
			UserUpdate => "user.update",
			UserDelete => "user.delete",
			AuditRead => "audit.read",
			MetricsRead => "metrics.read",
		}
	}
}

impl fmt::Display for Permission {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.write_str(self.as_str())
	}
}

/// What one may do to a workflow that exists (what a share grants).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkflowAction {
	/// See it, its versions, stats, executions and logs.
	Read,
	/// Change it.
	Update,
	/// Run it, and cancel, retry or resume its executions.
	Execute,
	/// Delete it (owners and admins only: a share cannot grant it).
	Delete,
}

impl WorkflowAction {
	/// The lowercase name.
	pub fn as_str(self) -> &'static str {
		match self {
			WorkflowAction::Read => "read",
			WorkflowAction::Update => "update",
			WorkflowAction::Execute => "execute",
			WorkflowAction::Delete => "delete",
		}
	}

	/// The permission the action needs.
	pub fn permission(self) -> Permission {
		match self {
			WorkflowAction::Read => Permission::WorkflowRead,
			WorkflowAction::Update => Permission::WorkflowUpdate,
			WorkflowAction::Execute => Permission::WorkflowExecute,
			WorkflowAction::Delete => Permission::WorkflowDelete,
		}
	}
}

/// The authenticated caller of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
	/// The user.
	pub user_id: UserId,
	/// Their login name.
	pub username: String,
	/// Their role.
	pub role: Role,
}

impl Principal {
	/// Whether the caller holds `permission` at all (the ceiling of their role).
	pub fn can(&self, permission: Permission) -> bool {
		self.role.has(permission)
	}

	/// Whether the caller holds `permission` on every resource (the seed's direct permission).
	pub fn can_everywhere(&self, permission: Permission) -> bool {
		self.role == Role::Admin && self.role.has(permission)
	}

	/// The owner string recorded on what this caller creates.
	pub fn owner(&self) -> String {
		self.user_id.to_string()
	}
}

/// The answer to "may this caller do this to that resource?".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
	/// Yes.
	Allowed,
	/// They may see the resource but not do this (403).
	Forbidden,
	/// They may not even see it (404: existence does not leak).
	Hidden,
}

/// The seed's `check_workflow_permission`, in its order: direct permission, ownership, shares,
/// then the role (as a ceiling, see the module comment). `owner` is the workflow's
/// `created_by`; `shared` is what a share grants this caller on it, if any. Any share makes the
/// workflow visible.
pub fn workflow_access(
	principal: &Principal,
	owner: &str,
	shared: Option<&[WorkflowAction]>,
	action: WorkflowAction,
) -> Access {
	let permission = action.permission();
	if principal.can_everywhere(permission) {
		return Access::Allowed;
	}
	let owns = owner == principal.owner();
	if !owns && shared.is_none() {
		return Access::Hidden;
	}
	if !principal.can(permission) {
		return Access::Forbidden;
	}
	if owns {
		return Access::Allowed;
	}
	let granted = shared.unwrap_or_default();
	let ok = match action {
		WorkflowAction::Read => true,
		WorkflowAction::Delete => false,
		other => granted.contains(&other),
	};
	if ok {
		Access::Allowed
	} else {
		Access::Forbidden
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn who(role: Role) -> Principal {
		Principal {
			user_id: UserId::new(),
			username: "u".into(),
			role,
		}
	}

	#[test]
	fn strangers_see_nothing_admins_everything() {
		let admin = who(Role::Admin);
		for role in [Role::Editor, Role::Operator, Role::Viewer] {
			let p = who(role);
			for a in [
				WorkflowAction::Read,
				WorkflowAction::Update,
				WorkflowAction::Delete,
			] {
				assert_eq!(workflow_access(&p, "other", None, a), Access::Hidden);
				assert_eq!(workflow_access(&admin, "other", None, a), Access::Allowed);
			}
		}
	}

	#[test]
	fn roles_cap_ownership_and_shares() {
		let op = who(Role::Operator);
		let all = [
			WorkflowAction::Read,
			WorkflowAction::Update,
			WorkflowAction::Execute,
		];
		let shared = Some(&all[..]);
		assert_eq!(
			workflow_access(&op, "x", shared, WorkflowAction::Execute),
			Access::Allowed
		);
		assert_eq!(
			workflow_access(&op, "x", shared, WorkflowAction::Update),
			Access::Forbidden
		);
		let ed = who(Role::Editor);
		assert_eq!(
			workflow_access(&ed, "x", shared, WorkflowAction::Update),
			Access::Allowed
		);
		assert_eq!(
			workflow_access(&ed, "x", shared, WorkflowAction::Delete),
			Access::Forbidden
		);
		let own = ed.owner();
		assert_eq!(
			workflow_access(&ed, &own, None, WorkflowAction::Delete),
			Access::Allowed
		);
		let view = who(Role::Viewer);
		let read = [WorkflowAction::Read];
		assert_eq!(
			workflow_access(&view, "x", Some(&read), WorkflowAction::Read),
			Access::Allowed
		);
		assert_eq!(
			workflow_access(&view, "x", Some(&read), WorkflowAction::Execute),
			Access::Forbidden
		);
	}
}
