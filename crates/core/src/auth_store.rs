//! The [`AuthStore`] seam: users, API keys, shares, credentials and the audit log. Kept apart
//! from [`crate::Store`] because the engine never needs it; every backend implements both.

use async_trait::async_trait;

use crate::Millis;
use crate::account::{ApiKey, AuditEntry, AuditFilter, Credential, Share, User};
use crate::ids::{ApiKeyId, CredentialId, UserId, WorkflowId};
use crate::store::StoreResult;

/// Persistence of accounts and governance. Implementations: SQLite, PostgreSQL and memory, all
/// held to one contract suite.
#[async_trait]
pub trait AuthStore: Send + Sync {
	/// Adds a user; [`crate::store::StoreError::Conflict`] when the username is taken.
	async fn create_user(&self, user: &User) -> StoreResult<()>;
	/// One user.
	async fn get_user(&self, id: UserId) -> StoreResult<Option<User>>;
	/// The user with this username (exact match).
	async fn find_user(&self, username: &str) -> StoreResult<Option<User>>;
	/// Every user, by username.
	async fn list_users(&self) -> StoreResult<Vec<User>>;
	/// How many users exist.
	async fn count_users(&self) -> StoreResult<i64>;
	/// Replaces a user (username, hash, role, active, updated_at); false when absent; Conflict
	/// when the new username is taken.
	async fn update_user(&self, user: &User) -> StoreResult<bool>;
	/// Deletes a user with their API keys, shares and credentials; false when absent.
	async fn delete_user(&self, id: UserId) -> StoreResult<bool>;

	/// Adds an API key.
	async fn create_api_key(&self, key: &ApiKey) -> StoreResult<()>;
	/// The key with this hash, revoked or not.
	async fn find_api_key(&self, hash: &str) -> StoreResult<Option<ApiKey>>;
	/// The keys of a user, newest first.
	async fn list_api_keys(&self, user: UserId) -> StoreResult<Vec<ApiKey>>;
	/// Marks a key of `user` revoked at `at`; false when no such unrevoked key exists.
	async fn revoke_api_key(&self, user: UserId, id: ApiKeyId, at: Millis) -> StoreResult<bool>;

	/// Replaces every share of a workflow.
	async fn set_shares(&self, workflow: WorkflowId, shares: &[Share]) -> StoreResult<()>;
	/// The shares of a workflow.
	async fn shares(&self, workflow: WorkflowId) -> StoreResult<Vec<Share>>;
	/// What is shared with `user` on `workflow`, if anything.
	async fn share_for(&self, workflow: WorkflowId, user: UserId) -> StoreResult<Option<Share>>;

	/// Adds a credential; Conflict when its owner already has one of that name.
	async fn create_credential(&self, credential: &Credential) -> StoreResult<()>;
	/// One credential.
	async fn get_credential(&self, id: CredentialId) -> StoreResult<Option<Credential>>;
	/// The credential `name` of `owner`.
	async fn find_credential(&self, owner: UserId, name: &str) -> StoreResult<Option<Credential>>;
	/// Credentials of one owner, or of everyone; by name.
	async fn list_credentials(&self, owner: Option<UserId>) -> StoreResult<Vec<Credential>>;
	/// Replaces a credential (description, token, updated_at); false when absent.
	async fn update_credential(&self, credential: &Credential) -> StoreResult<bool>;
	/// Deletes a credential; false when absent.
	async fn delete_credential(&self, id: CredentialId) -> StoreResult<bool>;

	/// Appends an audit entry (its `id` is ignored and assigned).
	async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()>;
	/// Audit entries, newest first.
	async fn list_audit(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditEntry>>;
}
