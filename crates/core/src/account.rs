//! The records of who may use the system: users (with an argon2 hash, never the password), API
//! keys (stored as a SHA-256 digest: a key is shown once, at creation), workflow shares,
//! credentials (a Fernet token, never the value) and audit entries.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Millis;
use crate::access::{Role, WorkflowAction};
use crate::ids::{ApiKeyId, CredentialId, UserId, WorkflowId};

/// A user account.
#[derive(Clone, Debug, PartialEq)]
pub struct User {
	/// Id.
	pub id: UserId,
	/// Unique login name (3–64 characters of letters, digits, `.`, `_`, `-`, `@`).
	pub username: String,
	/// The argon2 PHC string.
	pub password_hash: String,
	/// Role.
	pub role: Role,
	/// A disabled user cannot log in, and their tokens and keys stop working at once.
	pub active: bool,
	/// Created.
	pub created_at: Millis,
	/// Last change.
	pub updated_at: Millis,
}

/// An API key for machines: acts as its user.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiKey {
	/// Id.
	pub id: ApiKeyId,
	/// Owner.
	pub user_id: UserId,
	/// What it is for.
	pub name: String,
	/// The first characters of the key, to recognise it in a list.
	pub prefix: String,
	/// Lowercase hex SHA-256 of the whole key.
	pub hash: String,
	/// Created.
	pub created_at: Millis,
	/// Stops working after this, when set.
	pub expires_at: Option<Millis>,
	/// When it was revoked, if it was.
	pub revoked_at: Option<Millis>,
}

/// What a share grants one user on one workflow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Share {
	/// The workflow.
	pub workflow_id: WorkflowId,
	/// The user it is shared with.
	pub user_id: UserId,
	/// What they may do (read is implied by any share).
	pub actions: Vec<WorkflowAction>,
	/// Granted.
	pub created_at: Millis,
}

/// A named secret. Only its Fernet token is stored; the value is decrypted only to run a
/// component and never returned.
#[derive(Clone, Debug, PartialEq)]
pub struct Credential {
	/// Id.
	pub id: CredentialId,
	/// Owner: the workflows of this user may use it as `{{secrets.<name>}}`.
	pub owner: UserId,
	/// Unique per owner; an identifier (`[A-Za-z_][A-Za-z0-9_]*`).
	pub name: String,
	/// Free text.
	pub description: Option<String>,
	/// The value, encrypted.
	pub token: String,
	/// Created.
	pub created_at: Millis,
	/// Last change.
	pub updated_at: Millis,
}

/// One audit entry, as written. Entries are append-only: no API edits or deletes them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditEntry {
	/// Sequence number (assigned by the store; 0 before it is written).
	pub id: i64,
	/// When.
	pub at: Millis,
	/// The user id, when the caller was authenticated.
	pub actor_id: Option<UserId>,
	/// Their username, or `anonymous`.
	pub actor: String,
	/// What was attempted (`workflow.update`, `auth.login`, …).
	pub action: String,
	/// On what (`workflow/<id>`, `user/<id>`, a path for denied requests).
	pub resource: String,
	/// `allowed` or `denied`.
	pub outcome: String,
	/// Anything else worth keeping (never a secret).
	pub details: Value,
}

/// Filters of [`crate::AuthStore::list_audit`].
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
	/// Only this actor (username).
	pub actor: Option<String>,
	/// Only this action.
	pub action: Option<String>,
	/// Only this outcome.
	pub outcome: Option<String>,
	/// Page size.
	pub limit: i64,
	/// Rows to skip (newest first).
	pub offset: i64,
}
