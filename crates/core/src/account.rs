//! The records of who may use the system: users (with an argon2 hash, never the password), API
//! keys (stored as a SHA-256 digest: a key is shown once, at creation) and their scopes, the
//! refresh-token families of logins, workflow shares, credentials (a Fernet token, never the
//! value) and audit entries.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::Millis;
use crate::access::{Role, WorkflowAction};
use crate::ids::{ApiKeyId, CredentialId, UserId, WorkflowId};

/// A user account.
#[derive(Clone, Debug, PartialEq)]
pub struct User {
	/// Id.
	pub id: UserId,
	/// Login name (3–64 characters of letters, digits, `.`, `_`, `-`, `@`), unique ignoring
	/// ASCII case: `ADMIN` and `admin` are one account, so no look-alike can be created.
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

/// What an API key may be used for. A scope only narrows: a key never does more than its
/// owner's role allows, whatever its scopes say. A password login (a JWT session) is not
/// scoped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyScope {
	/// The API (REST, GraphQL, `/ws`) as the owner, except creating and revoking API keys.
	Api,
	/// Creating and revoking the owner's API keys (with no more scopes than this key has).
	Keys,
	/// `GET /metrics` (the owner also needs `metrics.read`).
	Metrics,
}

impl KeyScope {
	/// Every scope.
	pub const ALL: [KeyScope; 3] = [KeyScope::Api, KeyScope::Keys, KeyScope::Metrics];

	/// What a key gets when its creator names no scope (and what keys made before scopes
	/// existed have): the API, but not minting more keys.
	pub const DEFAULT: &'static [KeyScope] = &[KeyScope::Api];

	/// The lowercase name.
	pub fn as_str(self) -> &'static str {
		match self {
			KeyScope::Api => "api",
			KeyScope::Keys => "keys",
			KeyScope::Metrics => "metrics",
		}
	}
}

impl fmt::Display for KeyScope {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.write_str(self.as_str())
	}
}

impl FromStr for KeyScope {
	type Err = String;
	fn from_str(s: &str) -> Result<Self, Self::Err> {
		KeyScope::ALL
			.into_iter()
			.find(|k| k.as_str() == s)
			.ok_or_else(|| format!("unknown scope '{s}' (api, keys or metrics)"))
	}
}

/// An API key with its scopes, as stored. (The scopes are beside [`ApiKey`] rather than in it
/// so code that builds an `ApiKey` keeps compiling; such a key gets [`KeyScope::DEFAULT`].)
#[derive(Clone, Debug, PartialEq)]
pub struct ScopedKey {
	/// The key.
	pub key: ApiKey,
	/// What it may be used for, sorted, without duplicates.
	pub scopes: Vec<KeyScope>,
}

/// The refresh tokens descended from one login. Only the newest (`current`) buys new tokens;
/// presenting an older one means a token was copied, so the whole family is revoked.
#[derive(Clone, Debug, PartialEq)]
pub struct RefreshFamily {
	/// Id (the `fam` claim of its refresh tokens).
	pub id: Uuid,
	/// Whose login.
	pub user_id: UserId,
	/// The `jti` of the one refresh token that is still good.
	pub current: Uuid,
	/// The login.
	pub created_at: Millis,
	/// When the current refresh token expires (the family is then forgotten).
	pub expires_at: Millis,
	/// When reuse revoked it, if it did.
	pub revoked_at: Option<Millis>,
}

/// What presenting a refresh token did to its family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rotation {
	/// It was the current token: the family now names the next one.
	Rotated,
	/// It was an older, already used token: the family is revoked (by this call).
	Reused,
	/// The family had been revoked already.
	Revoked,
	/// No such family (expired and forgotten, or never issued).
	Unknown,
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
